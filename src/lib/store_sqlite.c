/*
 * store_sqlite.c - the SQLite backend of the storage layer, and a thin VFS
 * shim that lets tests make the disk fail.
 *
 * Every connection is opened through the "csip" VFS, which forwards to the
 * platform VFS and counts writes.  Tests call csip_store_fault_after(N) so
 * that the (N+1)th write of any file fails with SQLITE_IOERR_WRITE; that is
 * how they prove a failed operation leaves nothing half-written.  With no
 * fault armed the shim costs one atomic read per write.
 */
#include "lib/store.h"
#include "lib/store_backend.h"
#include "util/error.h"

#include <glib.h>
#include <sqlite3.h>
#include <string.h>

/* ---- fault-injecting VFS -------------------------------------------- */

typedef struct fault_file {
	sqlite3_file base;
	sqlite3_file *real;   /* points just past this struct */
} fault_file;

static sqlite3_vfs fault_vfs;
static sqlite3_vfs *real_vfs;

#define REAL(f) (((fault_file *)(f))->real)

static int
ff_close(sqlite3_file *f)
{
	return REAL(f)->pMethods->xClose(REAL(f));
}

static int
ff_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xRead(REAL(f), buf, n, off);
}

static int
ff_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
	if (csip_store_fault_hit())
		return SQLITE_IOERR_WRITE;
	return REAL(f)->pMethods->xWrite(REAL(f), buf, n, off);
}

static int
ff_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int
ff_sync(sqlite3_file *f, int flags)
{
	if (csip_store_fault_hit())
		return SQLITE_IOERR_FSYNC;
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int
ff_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int
ff_lock(sqlite3_file *f, int lock)
{
	return REAL(f)->pMethods->xLock(REAL(f), lock);
}

static int
ff_unlock(sqlite3_file *f, int lock)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), lock);
}

static int
ff_check_reserved(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int
ff_file_control(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int
ff_sector_size(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int
ff_device_chars(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int
ff_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), pg, pgsz, extend, pp);
}

static int
ff_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}

static void
ff_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int
ff_shm_unmap(sqlite3_file *f, int del)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static int
ff_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **pp)
{
	return REAL(f)->pMethods->xFetch(REAL(f), off, amt, pp);
}

static int
ff_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods fault_methods = {
	3, ff_close, ff_read, ff_write, ff_truncate, ff_sync, ff_file_size,
	ff_lock, ff_unlock, ff_check_reserved, ff_file_control,
	ff_sector_size, ff_device_chars, ff_shm_map, ff_shm_lock,
	ff_shm_barrier, ff_shm_unmap, ff_fetch, ff_unfetch
};

static int
fault_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
	   int *out_flags)
{
	fault_file *ff = (fault_file *)f;
	int rc;

	(void)vfs;
	ff->real = (sqlite3_file *)(ff + 1);
	rc = real_vfs->xOpen(real_vfs, name, ff->real, flags, out_flags);
	/* SQLite calls xClose only when pMethods is set, so mirror the real
	 * file: set ours exactly when it set its own. */
	ff->base.pMethods = ff->real->pMethods ? &fault_methods : NULL;
	return rc;
}

static int
fault_delete(sqlite3_vfs *v, const char *name, int sync)
{
	return real_vfs->xDelete(real_vfs, name, sync);
}

static int
fault_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int
fault_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out)
{
	return real_vfs->xFullPathname(real_vfs, name, n, out);
}

static void *
fault_dlopen(sqlite3_vfs *v, const char *name)
{
	return real_vfs->xDlOpen(real_vfs, name);
}

static void
fault_dlerror(sqlite3_vfs *v, int n, char *msg)
{
	real_vfs->xDlError(real_vfs, n, msg);
}

static void (*fault_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
	return real_vfs->xDlSym(real_vfs, h, sym);
}

static void
fault_dlclose(sqlite3_vfs *v, void *h)
{
	real_vfs->xDlClose(real_vfs, h);
}

static int
fault_randomness(sqlite3_vfs *v, int n, char *out)
{
	return real_vfs->xRandomness(real_vfs, n, out);
}

static int
fault_sleep(sqlite3_vfs *v, int us)
{
	return real_vfs->xSleep(real_vfs, us);
}

static int
fault_current_time(sqlite3_vfs *v, double *out)
{
	return real_vfs->xCurrentTime(real_vfs, out);
}

static int
fault_last_error(sqlite3_vfs *v, int n, char *out)
{
	return real_vfs->xGetLastError(real_vfs, n, out);
}

static int
fault_current_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
	return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

static gpointer
register_vfs(gpointer unused)
{
	(void)unused;
	real_vfs = sqlite3_vfs_find(NULL);
	fault_vfs = (sqlite3_vfs){
		.iVersion = 2,
		.szOsFile = (int)sizeof(fault_file) + real_vfs->szOsFile,
		.mxPathname = real_vfs->mxPathname,
		.zName = "csip",
		.xOpen = fault_open,
		.xDelete = fault_delete,
		.xAccess = fault_access,
		.xFullPathname = fault_full_pathname,
		.xDlOpen = fault_dlopen,
		.xDlError = fault_dlerror,
		.xDlSym = fault_dlsym,
		.xDlClose = fault_dlclose,
		.xRandomness = fault_randomness,
		.xSleep = fault_sleep,
		.xCurrentTime = fault_current_time,
		.xGetLastError = fault_last_error,
		.xCurrentTimeInt64 = fault_current_time64,
	};
	sqlite3_vfs_register(&fault_vfs, 0);
	return NULL;
}

/* ---- backend --------------------------------------------------------- */

/* Statements callers freed, kept per connection (store.c); a server
 * worker's requests and a correlation use a few dozen. */
#define STMT_CACHE 256

typedef struct sq_conn {
	sqlite3 *db;
	int wal;        /* the database is in WAL mode */
} sq_conn;

/* Map a SQLite result to a csip code, recording the database's message. */
static int
sq_err(sqlite3 *db, int rc)
{
	int ext = sqlite3_extended_errcode(db);
	const char *msg = sqlite3_errmsg(db);

	switch (rc & 0xff) {
	case SQLITE_OK:
		return CSIP_OK;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return csip_error_set(CSIP_EBUSY, "database is busy (%s); "
			"try again", msg);
	case SQLITE_CONSTRAINT:
		if (ext == SQLITE_CONSTRAINT_UNIQUE ||
		    ext == SQLITE_CONSTRAINT_PRIMARYKEY)
			return csip_error_set(CSIP_EEXISTS, "%s", msg);
		return csip_error_set(CSIP_EINVAL, "%s", msg);
	default:
		return csip_error_set(CSIP_ESTORE, "database error: %s", msg);
	}
}

/* Whether DB's journal is a WAL ("PRAGMA journal_mode=WAL" keeps the
 * old mode where the WAL cannot be used, e.g. in memory). */
static int
is_wal(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int wal = 0;

	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		wal = g_ascii_strcasecmp((const char *)sqlite3_column_text(st,
			0), "wal") == 0;
	sqlite3_finalize(st);
	return wal;
}

static int
sq_open(const char *target, void **conn)
{
	static GOnce once = G_ONCE_INIT;
	sqlite3 *db = NULL;
	sq_conn *c;
	int rc;

	g_once(&once, register_vfs, NULL);
	rc = sqlite3_open_v2(target, &db, SQLITE_OPEN_READWRITE |
		SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, "csip");
	if (rc != SQLITE_OK) {
		rc = csip_error_set(CSIP_ESTORE, "database %s: %s; check that "
			"the folder exists and is writable", target,
			db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, 5000);
	/* Reads of a large hub are random B-tree lookups: a 16 MiB page
	 * cache per connection keeps the upper levels parsed.  (Mapping the
	 * file instead made the resident size grow with the database, which
	 * the flat-memory exports must not.) */
	rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL;"
		"PRAGMA foreign_keys=ON;"
		"PRAGMA synchronous=FULL;"
		"PRAGMA cache_size=-16384;", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		rc = csip_error_prefix(sq_err(db, rc), "database %s: ", target);
		goto fail;
	}
	c = g_new0(sq_conn, 1);
	c->db = db;
	c->wal = is_wal(db);
	*conn = c;
	return CSIP_OK;
fail:
	sqlite3_close(db);
	return rc;
}

static void
sq_close(void *conn)
{
	sq_conn *c = conn;

	if (c == NULL)
		return;
	sqlite3_close_v2(c->db);
	g_free(c);
}

static int
sq_exec(void *conn, const char *sql)
{
	sqlite3 *db = ((sq_conn *)conn)->db;
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? CSIP_OK : sq_err(db, rc);
}

static int
sq_prepare(void *conn, const char *sql, void **stmt)
{
	sqlite3 *db = ((sq_conn *)conn)->db;
	sqlite3_stmt *st = NULL;
	/* Persistent: the statement may live on in the cache (store.c). */
	int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT,
				    &st, NULL);

	if (rc != SQLITE_OK)
		return sq_err(db, rc);
	*stmt = st;
	return CSIP_OK;
}

static int
sq_bind_text(void *stmt, int idx, const char *v)
{
	int rc = sqlite3_bind_text(stmt, idx, v, -1, SQLITE_TRANSIENT);

	return rc == SQLITE_OK ? CSIP_OK : sq_err(sqlite3_db_handle(stmt), rc);
}

static int
sq_bind_int64(void *stmt, int idx, int64_t v)
{
	int rc = sqlite3_bind_int64(stmt, idx, v);

	return rc == SQLITE_OK ? CSIP_OK : sq_err(sqlite3_db_handle(stmt), rc);
}

static int
sq_bind_null(void *stmt, int idx)
{
	int rc = sqlite3_bind_null(stmt, idx);

	return rc == SQLITE_OK ? CSIP_OK : sq_err(sqlite3_db_handle(stmt), rc);
}

static int
sq_bind_blob(void *stmt, int idx, const void *v, size_t len)
{
	int rc = sqlite3_bind_blob64(stmt, idx, v, len, SQLITE_TRANSIENT);

	return rc == SQLITE_OK ? CSIP_OK : sq_err(sqlite3_db_handle(stmt), rc);
}

static const void *
sq_col_blob(void *stmt, int col, size_t *len)
{
	const void *p = sqlite3_column_blob(stmt, col);

	*len = (size_t)sqlite3_column_bytes(stmt, col);
	return p;
}

static int
sq_step(void *stmt)
{
	int rc = sqlite3_step(stmt);

	if (rc == SQLITE_ROW)
		return CSIP_ROW;
	if (rc == SQLITE_DONE)
		return CSIP_DONE;
	return sq_err(sqlite3_db_handle(stmt), rc);
}

static const char *
sq_col_text(void *stmt, int col)
{
	return (const char *)sqlite3_column_text(stmt, col);
}

static int64_t
sq_col_int64(void *stmt, int col)
{
	return sqlite3_column_int64(stmt, col);
}

static int
sq_col_is_null(void *stmt, int col)
{
	return sqlite3_column_type(stmt, col) == SQLITE_NULL;
}

static int
sq_col_count(void *stmt)
{
	return sqlite3_column_count(stmt);
}

static const char *
sq_col_name(void *stmt, int col)
{
	return sqlite3_column_name(stmt, col);
}

static int
sq_reset(void *stmt)
{
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return CSIP_OK;
}

static void
sq_finalize(void *stmt)
{
	sqlite3_finalize(stmt);
}

static int
sq_changes(void *conn)
{
	return sqlite3_changes(((sq_conn *)conn)->db);
}

/* A commit that need not survive a power failure: synchronous=NORMAL,
 * under which a WAL commit is not synced (the WAL is, at the next
 * checkpoint and with the next FULL commit, which covers every frame
 * before it), yet stays atomic and the database uncorrupted.  Outside
 * WAL mode NORMAL risks more than the last commit, so the commit stays
 * durable there.  The setting cannot change inside a transaction, hence
 * before BEGIN and after COMMIT or ROLLBACK. */
static int
sq_async(void *conn, int phase)
{
	sq_conn *c = conn;

	if (!c->wal)
		return CSIP_OK;
	if (phase == CSIP_ASYNC_BEFORE)
		return sq_exec(c, "PRAGMA synchronous=NORMAL");
	if (phase == CSIP_ASYNC_END)
		return sq_exec(c, "PRAGMA synchronous=FULL");
	return CSIP_OK;
}

const csip_store_backend csip_store_sqlite = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.exec = sq_exec,
	.prepare = sq_prepare,
	.bind_text = sq_bind_text,
	.bind_int64 = sq_bind_int64,
	.bind_null = sq_bind_null,
	.bind_blob = sq_bind_blob,
	.step = sq_step,
	.col_text = sq_col_text,
	.col_int64 = sq_col_int64,
	.col_is_null = sq_col_is_null,
	.col_blob = sq_col_blob,
	.col_count = sq_col_count,
	.col_name = sq_col_name,
	.reset = sq_reset,
	.finalize = sq_finalize,
	.changes = sq_changes,
	/* IMMEDIATE takes the write lock up front, so two writers never
	 * deadlock upgrading from a read lock. */
	.begin_sql = "BEGIN IMMEDIATE",
	.one_writer = 1,
	.stmt_cache = STMT_CACHE,
	.async = sq_async,
};
