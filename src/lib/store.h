/*
 * store.h - the storage interface: one API over SQLite (the embedded
 * default) and, later, PostgreSQL.
 *
 * Callers write portable SQL with `?` placeholders; a backend translates
 * what its dialect needs (PostgreSQL wants $1, $2, ...).  Ids come back with
 * `INSERT ... RETURNING id`, which both dialects support.  Timestamps are
 * ISO 8601 UTC text made by csip_store_now(), so they compare as strings and
 * read the same on both backends.
 *
 * A csip_store is an opaque handle for one connection; it is not shared
 * between threads.  Statements belong to the store they were prepared on and
 * must be freed before it.
 */
#ifndef CSIP_STORE_H
#define CSIP_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct csip_store csip_store;
typedef struct csip_stmt csip_stmt;

/* Open the database named by URL: "sqlite:PATH", a plain PATH (SQLite), or
 * later "postgresql://...".  The SQLite backend turns on WAL, foreign keys
 * and a busy timeout.  Does not migrate: see csip_migrate().  On success *out
 * is a new handle the caller closes with csip_store_close(). */
int csip_store_open(const char *url, csip_store **out);

/* URL as it may be shown in a message or a log: a password in it (in
 * "scheme://user:password@host" or a "password=" keyword) replaced by
 * "***".  The caller frees the result. */
char *csip_store_url_redacted(const char *url);

/* Close a store; NULL is accepted. */
void csip_store_close(csip_store *s);

/* "sqlite" or "postgresql". */
const char *csip_store_backend_name(const csip_store *s);

/* Run one or more statements without results (DDL, migrations). */
int csip_store_exec(csip_store *s, const char *sql);

/* Transactions.  begin/commit nest: only the outermost pair touches the
 * database, so a function can wrap its work in a transaction whether or not
 * its caller already opened one.  A rollback at any depth marks the whole
 * transaction failed; the outermost commit then rolls back and returns
 * CSIP_ESTORE. */
int csip_store_begin(csip_store *s);
int csip_store_commit(csip_store *s);
void csip_store_rollback(csip_store *s);

/* Begin a transaction whose commit may be lost in a power failure (and,
 * on PostgreSQL, in a crash of the database server), for data that is
 * made again when lost.  The commit is still atomic, the database stays
 * consistent, and any later durable commit makes this one durable too
 * (SQLite in WAL mode with synchronous=NORMAL for this transaction only;
 * PostgreSQL's SET LOCAL synchronous_commit = off).  Durable commits
 * come back when the transaction ends, whichever way.  Nested in another
 * transaction it is csip_store_begin(): the outermost one decides. */
int csip_store_begin_async(csip_store *s);

/* Prepare SQL; *out is freed with csip_stmt_free().  An error in the SQL
 * shows here (SQLite) or at the first step (PostgreSQL, which parses it
 * when the statement runs with its parameters).  On SQLite a statement
 * freed earlier with the same text is reused, reset and with no
 * bindings (store.c). */
int csip_store_prepare(csip_store *s, const char *sql, csip_stmt **out);

/* Statements kept for reuse on S (for tests). */
int csip_store_stmt_cached(const csip_store *s);

/* Bind parameters, 1-based like SQL.  Text is copied. */
int csip_stmt_bind_text(csip_stmt *st, int idx, const char *v);
int csip_stmt_bind_int64(csip_stmt *st, int idx, int64_t v);
int csip_stmt_bind_null(csip_stmt *st, int idx);
int csip_stmt_bind_blob(csip_stmt *st, int idx, const void *v, size_t len);

/* Run or advance: CSIP_ROW when a row is ready, CSIP_DONE at the end, or a
 * negative error (CSIP_EEXISTS for a unique-constraint violation, CSIP_EBUSY
 * when the database stays locked, CSIP_ESTORE otherwise). */
int csip_stmt_step(csip_stmt *st);

/* Column values of the current row, 0-based.  Text is owned by the
 * statement and valid until the next step; NULL for SQL NULL. */
const char *csip_stmt_text(csip_stmt *st, int col);
int64_t csip_stmt_int64(csip_stmt *st, int col);
int csip_stmt_is_null(csip_stmt *st, int col);
/* Bytes of a BLOB column; *len receives the size.  Owned by the
 * statement, valid until the next step. */
const void *csip_stmt_blob(csip_stmt *st, int col, size_t *len);

/* The number of result columns and the name of one, valid after the
 * first step returned CSIP_ROW (PostgreSQL knows them only then).  The
 * name is owned by the statement. */
int csip_stmt_column_count(csip_stmt *st);
const char *csip_stmt_column_name(csip_stmt *st, int col);

/* Reset to run again with new bindings. */
int csip_stmt_reset(csip_stmt *st);

/* Free a statement, or keep it for the next csip_store_prepare() of
 * its SQL (store.c); NULL is accepted. */
void csip_stmt_free(csip_stmt *st);

/* Convenience: prepare SQL, bind the NULL-terminated list of text values (a
 * value of CSIP_SQL_NULL binds NULL), step once, free.  For INSERT/UPDATE/
 * DELETE.  *changes (may be NULL) receives the number of rows changed. */
extern const char CSIP_SQL_NULL[];
int csip_store_run(csip_store *s, int *changes, const char *sql, ...)
	__attribute__((sentinel));

/* Convenience: prepare SQL and bind text parameters as above; *out is
 * freed with csip_stmt_free(). */
int csip_store_prepare_bind(csip_store *s, csip_stmt **out,
			    const char *sql, ...) __attribute__((sentinel));

/* Convenience: run a query with text parameters as above and call FN for
 * each row; a negative return from FN stops and is returned. */
typedef int (*csip_row_fn)(csip_stmt *st, void *ud);
int csip_store_each(csip_store *s, csip_row_fn fn, void *ud,
		    const char *sql, ...) __attribute__((sentinel));
/* The same over a statement prepared and bound by the caller. */
int csip_stmt_each(csip_stmt *st, csip_row_fn fn, void *ud);

/* Prepare SQL, whose one "@IDS@" becomes an IN list of the N ids IDS
 * ("... WHERE id IN (@IDS@) ..."), bound as parameters 1 and up, and set
 * *next to the index of the first parameter after them.  The list is N
 * placeholders rounded up to a power of two (one for one id, else at
 * least 8), the last id
 * repeating, so that the SQL text recurs and its statement is kept
 * (SQLite, store.c) or prepared once on the server (PostgreSQL) instead
 * of compiled for every N; an id twice in an IN list matches its rows
 * once.  No ids: "NULL", which matches nothing; more than
 * CSIP_STORE_MAX_BOUND_IN: the ids are written into the SQL.  *out is
 * freed with csip_stmt_free(). */
#define CSIP_STORE_MAX_BOUND_IN 4096
int csip_store_prepare_ids(csip_store *s, const char *sql,
			   const int64_t *ids, size_t n, int *next,
			   csip_stmt **out);

/* Convenience: run a query returning one int64 (first column of the first
 * row) with text parameters as above.  CSIP_ENOTFOUND when no row. */
int csip_store_query_int64(csip_store *s, int64_t *out, const char *sql, ...)
	__attribute__((sentinel));

/* Size of the database in bytes, or -1 when it cannot be read. */
int64_t csip_store_size_bytes(csip_store *s);

/* Rows changed by the last statement. */
int csip_store_changes(csip_store *s);

/* The current time as ISO 8601 UTC with seconds ("2026-11-29T02:46:29Z"),
 * in a caller-provided buffer of at least 21 bytes. */
void csip_store_now(char buf[static 21]);

/* Fault injection for tests: after N more successful writes, every write
 * fails until csip_store_fault_clear().  On SQLite a write is one to the
 * database or journal files (an I/O error); on PostgreSQL one statement
 * that changes data, or a COMMIT (refused before it reaches the server, as
 * a lost connection would be).  N < 0 disables. */
void csip_store_fault_after(int n);
void csip_store_fault_clear(void);

#endif
