/*
 * store_backend.h - what a storage backend implements (private to the
 * storage layer; callers use store.h).
 *
 * Shaped like sqlite3_io_methods: a table of function pointers per backend,
 * so store.c holds the backend-independent logic (nested transactions,
 * convenience helpers) and each backend only speaks its own dialect.
 */
#ifndef CSIP_STORE_BACKEND_H
#define CSIP_STORE_BACKEND_H

#include "lib/store.h"

typedef struct csip_store_backend {
	const char *name;
	int (*open)(const char *target, void **conn);
	void (*close)(void *conn);
	int (*exec)(void *conn, const char *sql);
	int (*prepare)(void *conn, const char *sql, void **stmt);
	int (*bind_text)(void *stmt, int idx, const char *v);
	int (*bind_int64)(void *stmt, int idx, int64_t v);
	int (*bind_null)(void *stmt, int idx);
	int (*bind_blob)(void *stmt, int idx, const void *v, size_t len);
	int (*step)(void *stmt);
	const char *(*col_text)(void *stmt, int col);
	int64_t (*col_int64)(void *stmt, int col);
	int (*col_is_null)(void *stmt, int col);
	const void *(*col_blob)(void *stmt, int col, size_t *len);
	int (*col_count)(void *stmt);
	const char *(*col_name)(void *stmt, int col);
	int (*reset)(void *stmt);
	void (*finalize)(void *stmt);
	int (*changes)(void *conn);
	/* Opening statement of a write transaction in this dialect. */
	const char *begin_sql;
	/* The database admits one writer at a time (SQLite): writers of
	 * this process queue on a condition variable instead of polling in
	 * the database's busy handler, whose sleeps grow to 100 ms. */
	int one_writer;
	/* Statements freed by callers kept for reuse, at most this many per
	 * connection (store.c); 0: every statement is finalized.  Set where
	 * preparing costs (SQLite compiles each statement; PostgreSQL keeps
	 * its own server-side cache). */
	int stmt_cache;
	/* A transaction whose commit need not survive a power failure
	 * (csip_store_begin_async): called with CSIP_ASYNC_BEFORE before
	 * its BEGIN, CSIP_ASYNC_BEGUN just after, and CSIP_ASYNC_END after
	 * its COMMIT or ROLLBACK to make commits durable again.  NULL: every
	 * commit is durable. */
	int (*async)(void *conn, int phase);
} csip_store_backend;

enum { CSIP_ASYNC_BEFORE, CSIP_ASYNC_BEGUN, CSIP_ASYNC_END };

/* Whether the write about to happen must fail (csip_store_fault_after);
 * counts it down otherwise.  One atomic read when no fault is armed. */
int csip_store_fault_hit(void);

extern const csip_store_backend csip_store_sqlite;
extern const csip_store_backend csip_store_pg;

#endif
