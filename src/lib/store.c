/*
 * store.c - the backend-independent half of the storage layer: picks a
 * backend from the URL, keeps nested transactions and, where the backend
 * asks for it, the statements callers freed for reuse, and offers the
 * small conveniences (run, query one value) that keep callers short.
 *
 * The statement cache: csip_stmt_free() resets a statement, clears its
 * bindings and keeps it under its SQL text, and the next
 * csip_store_prepare() of the same text takes it back instead of
 * compiling the SQL again (a correlation prepares about twenty
 * statements, the same ones for every report).  A statement in use is
 * never in the cache, so two users of one SQL text at once get two
 * statements.  The cache is bounded, least recently freed out first.  A
 * schema change needs nothing here: SQLite compiles a kept statement
 * again when the schema it was compiled against changed.  Like the
 * connection, the cache is used by one thread at a time (store.h).
 */
#include "lib/store.h"
#include "lib/store_backend.h"
#include "util/error.h"

#include <glib.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The writer turn of one database file (see one_writer in
 * store_backend.h), shared by every store of this process open on it.
 * Not owned by a thread: a thread waiting on itself (two stores on one
 * file in one thread) gives up after WRITER_WAIT_US and lets the
 * database decide.  Stores on different files never wait for each
 * other (csip migrate copies one SQLite file into another in one
 * thread). */
typedef struct writer_turn {
	char *path;     /* the file's canonical path: the table's key */
	int refs;       /* stores open on it */
	int held;
	GCond cond;
} writer_turn;

struct csip_store {
	const csip_store_backend *be;
	void *conn;
	int depth;      /* nesting of csip_store_begin() */
	int failed;     /* a nested level rolled back */
	int writer;     /* holds its file's writer turn */
	int async;      /* commits are not durable until async_end() */
	writer_turn *turn;  /* NULL: the backend needs none */
	GHashTable *idle;   /* SQL -> csip_stmt kept for reuse; NULL: none */
	GQueue lru;         /* the same statements, least recently freed first */
};

#define WRITER_WAIT_US (5 * G_USEC_PER_SEC)
static GMutex writer_mutex;     /* guards every turn and the table */
static GHashTable *writer_turns; /* path -> writer_turn */

/* The turn of the SQLite file TARGET, made on first use; NULL for an
 * in-memory database, which no other store can reach. */
static writer_turn *
turn_ref(const char *target)
{
	char *path, *real;
	writer_turn *t;

	if (strcmp(target, ":memory:") == 0 || *target == '\0')
		return NULL;
	real = realpath(target, NULL);
	path = real ? g_strdup(real) : g_canonicalize_filename(target, NULL);
	free(real);
	g_mutex_lock(&writer_mutex);
	if (writer_turns == NULL)
		writer_turns = g_hash_table_new(g_str_hash, g_str_equal);
	t = g_hash_table_lookup(writer_turns, path);
	if (t == NULL) {
		t = g_new0(writer_turn, 1);
		t->path = path;
		path = NULL;
		g_cond_init(&t->cond);
		g_hash_table_insert(writer_turns, t->path, t);
	}
	t->refs++;
	g_mutex_unlock(&writer_mutex);
	g_free(path);
	return t;
}

static void
turn_unref(writer_turn *t)
{
	if (t == NULL)
		return;
	g_mutex_lock(&writer_mutex);
	if (--t->refs == 0) {
		g_hash_table_remove(writer_turns, t->path);
		g_cond_clear(&t->cond);
		g_free(t->path);
		g_free(t);
	}
	g_mutex_unlock(&writer_mutex);
}

static int
writer_acquire(writer_turn *t)
{
	gint64 end = g_get_monotonic_time() + WRITER_WAIT_US;
	int got = 0;

	if (t == NULL)
		return 0;
	g_mutex_lock(&writer_mutex);
	while (t->held && g_cond_wait_until(&t->cond, &writer_mutex, end))
		;
	if (!t->held)
		got = t->held = 1;
	g_mutex_unlock(&writer_mutex);
	return got;
}

static void
writer_release(csip_store *s)
{
	if (!s->writer)
		return;
	s->writer = 0;
	g_mutex_lock(&writer_mutex);
	s->turn->held = 0;
	g_cond_signal(&s->turn->cond);
	g_mutex_unlock(&writer_mutex);
}

/* Writes left before the injected failure; -1 = off. */
static gint fault_left = -1;

void
csip_store_fault_after(int n)
{
	g_atomic_int_set(&fault_left, n < 0 ? -1 : n);
}

void
csip_store_fault_clear(void)
{
	g_atomic_int_set(&fault_left, -1);
}

int
csip_store_fault_hit(void)
{
	int left;

	for (;;) {
		left = g_atomic_int_get(&fault_left);
		if (left < 0)
			return 0;
		if (left == 0)
			return 1;
		if (g_atomic_int_compare_and_exchange(&fault_left, left,
						      left - 1))
			return 0;
	}
}

struct csip_stmt {
	csip_store *store;
	void *h;
	char *sql;      /* the key in the cache; NULL: not to be kept */
	GList link;     /* in store->lru while kept */
};

/* Drop a statement for good. */
static void
stmt_destroy(csip_stmt *st)
{
	st->store->be->finalize(st->h);
	g_free(st->sql);
	g_free(st);
}

const char CSIP_SQL_NULL[] = "";

int
csip_store_open(const char *url, csip_store **out)
{
	const csip_store_backend *be = NULL;
	const char *target = url;
	csip_store *s = NULL;
	int rc;

	*out = NULL;
	if (url == NULL || *url == '\0')
		return csip_error_set(CSIP_ECONFIG, "no database given: set "
			"[database] path or url in the configuration");
	if (g_str_has_prefix(url, "postgresql:") ||
	    g_str_has_prefix(url, "postgres:")) {
		be = &csip_store_pg;
	} else {
		if (g_str_has_prefix(url, "sqlite:"))
			target = url + strlen("sqlite:");
		be = &csip_store_sqlite;
	}

	s = g_new0(csip_store, 1);
	s->be = be;
	g_queue_init(&s->lru);
	if (be->stmt_cache > 0)
		s->idle = g_hash_table_new(g_str_hash, g_str_equal);
	if ((rc = be->open(target, &s->conn)) < 0)
		goto out;
	/* After the open, which made the file: its real path is known. */
	if (be->one_writer)
		s->turn = turn_ref(target);
	*out = s;
	s = NULL;
	rc = CSIP_OK;
out:
	g_free(s);
	return rc;
}

char *
csip_store_url_redacted(const char *url)
{
	GString *out = g_string_new(url ? url : "");
	const char *scheme = strstr(out->str, "://");
	char *kw;

	if (scheme) {
		char *auth = (char *)scheme + 3;
		char *at = strchr(auth, '@');
		char *colon = strchr(auth, ':');
		char *slash = strchr(auth, '/');

		if (at && colon && colon < at && (!slash || at < slash)) {
			gssize pos = colon + 1 - out->str;

			g_string_erase(out, pos, at - colon - 1);
			g_string_insert(out, pos, "***");
		}
	}
	kw = strstr(out->str, "password=");
	if (kw) {
		gssize pos = kw + strlen("password=") - out->str;
		gssize end = pos;

		while (out->str[end] && out->str[end] != '&' &&
		       out->str[end] != ' ')
			end++;
		g_string_erase(out, pos, end - pos);
		g_string_insert(out, pos, "***");
	}
	return g_string_free(out, FALSE);
}

void
csip_store_close(csip_store *s)
{
	if (s == NULL)
		return;
	while (!g_queue_is_empty(&s->lru))
		stmt_destroy(g_queue_pop_head_link(&s->lru)->data);
	if (s->idle)
		g_hash_table_destroy(s->idle);
	writer_release(s);
	turn_unref(s->turn);
	s->be->close(s->conn);
	g_free(s);
}

const char *
csip_store_backend_name(const csip_store *s)
{
	return s->be->name;
}

int
csip_store_exec(csip_store *s, const char *sql)
{
	return s->be->exec(s->conn, sql);
}

/* After the outermost transaction of csip_store_begin_async() ended:
 * durable commits again.  Should that fail, s->async stays set and the
 * next begin tries again before anything else (async_end's error). */
static int
async_end(csip_store *s)
{
	int rc;

	if (!s->async)
		return CSIP_OK;
	if ((rc = s->be->async(s->conn, CSIP_ASYNC_END)) == CSIP_OK)
		s->async = 0;
	return rc;
}

static int
begin_tx(csip_store *s)
{
	int rc;

	if (s->depth++ > 0)
		return CSIP_OK;
	s->failed = 0;
	s->writer = writer_acquire(s->turn);
	if ((rc = s->be->exec(s->conn, s->be->begin_sql)) < 0) {
		s->depth = 0;
		writer_release(s);
	}
	return rc;
}

int
csip_store_begin(csip_store *s)
{
	int rc;

	if (s->depth == 0 && (rc = async_end(s)) < 0)
		return rc;
	return begin_tx(s);
}

int
csip_store_begin_async(csip_store *s)
{
	int rc;

	/* Nested: the outermost begin decided. */
	if (s->depth > 0 || s->be->async == NULL)
		return csip_store_begin(s);
	if ((rc = async_end(s)) < 0)
		return rc;
	/* From here every path out ends in async_end(): below, or at the
	 * transaction's commit or rollback. */
	s->async = 1;
	if ((rc = s->be->async(s->conn, CSIP_ASYNC_BEFORE)) < 0 ||
	    (rc = begin_tx(s)) < 0) {
		char *msg = g_strdup(csip_error_last());

		async_end(s);
		csip_error_set(rc, "%s", msg);
		g_free(msg);
		return rc;
	}
	if ((rc = s->be->async(s->conn, CSIP_ASYNC_BEGUN)) < 0)
		csip_store_rollback(s);
	return rc;
}

int
csip_store_commit(csip_store *s)
{
	int rc;

	if (s->depth == 0)
		return csip_error_set(CSIP_ERR, "commit without begin");
	if (--s->depth > 0)
		return CSIP_OK;
	if (s->failed) {
		s->be->exec(s->conn, "ROLLBACK");
		async_end(s);
		writer_release(s);
		return csip_error_set(CSIP_ESTORE,
			"transaction rolled back by an inner failure");
	}
	if ((rc = s->be->exec(s->conn, "COMMIT")) < 0) {
		/* Keep the error of COMMIT, but never leave a transaction
		 * open behind a failed commit. */
		char *msg = g_strdup(csip_error_last());

		s->be->exec(s->conn, "ROLLBACK");
		async_end(s);
		csip_error_set(rc, "%s", msg);
		g_free(msg);
	} else if (async_end(s) < 0) {
		/* Committed; the next begin makes commits durable again. */
		csip_error_clear();
	}
	writer_release(s);
	return rc;
}

void
csip_store_rollback(csip_store *s)
{
	if (s->depth == 0)
		return;
	if (--s->depth > 0) {
		s->failed = 1;
		return;
	}
	/* The error that caused the rollback is what the caller reports;
	 * keep it rather than a possible "no transaction is active". */
	{
		char *msg = g_strdup(csip_error_last());
		int code = csip_error_last_code();

		s->be->exec(s->conn, "ROLLBACK");
		async_end(s);
		writer_release(s);
		csip_error_set(code, "%s", msg);
		g_free(msg);
	}
}

int
csip_store_prepare(csip_store *s, const char *sql, csip_stmt **out)
{
	csip_stmt *st;
	void *h = NULL;
	int rc;

	*out = NULL;
	if (s->idle && (st = g_hash_table_lookup(s->idle, sql)) != NULL) {
		g_hash_table_remove(s->idle, st->sql);
		g_queue_unlink(&s->lru, &st->link);
		*out = st;
		return CSIP_OK;
	}
	if ((rc = s->be->prepare(s->conn, sql, &h)) < 0)
		return rc;
	st = g_new0(csip_stmt, 1);
	st->store = s;
	st->h = h;
	st->link.data = st;
	if (s->idle)
		st->sql = g_strdup(sql);
	*out = st;
	return CSIP_OK;
}

int
csip_store_stmt_cached(const csip_store *s)
{
	return (int)s->lru.length;
}

int
csip_stmt_bind_text(csip_stmt *st, int idx, const char *v)
{
	if (v == NULL)
		return st->store->be->bind_null(st->h, idx);
	return st->store->be->bind_text(st->h, idx, v);
}

int
csip_stmt_bind_int64(csip_stmt *st, int idx, int64_t v)
{
	return st->store->be->bind_int64(st->h, idx, v);
}

int
csip_stmt_bind_null(csip_stmt *st, int idx)
{
	return st->store->be->bind_null(st->h, idx);
}

int
csip_stmt_bind_blob(csip_stmt *st, int idx, const void *v, size_t len)
{
	return st->store->be->bind_blob(st->h, idx, v, len);
}

const void *
csip_stmt_blob(csip_stmt *st, int col, size_t *len)
{
	return st->store->be->col_blob(st->h, col, len);
}

int
csip_stmt_step(csip_stmt *st)
{
	return st->store->be->step(st->h);
}

const char *
csip_stmt_text(csip_stmt *st, int col)
{
	return st->store->be->col_text(st->h, col);
}

int64_t
csip_stmt_int64(csip_stmt *st, int col)
{
	return st->store->be->col_int64(st->h, col);
}

int
csip_stmt_is_null(csip_stmt *st, int col)
{
	return st->store->be->col_is_null(st->h, col);
}

int
csip_stmt_column_count(csip_stmt *st)
{
	return st->store->be->col_count(st->h);
}

const char *
csip_stmt_column_name(csip_stmt *st, int col)
{
	return st->store->be->col_name(st->h, col);
}

int
csip_stmt_reset(csip_stmt *st)
{
	return st->store->be->reset(st->h);
}

void
csip_stmt_free(csip_stmt *st)
{
	csip_store *s;

	if (st == NULL)
		return;
	s = st->store;
	/* One kept statement per SQL text is enough: a second one only
	 * exists while the first was in use. */
	if (st->sql == NULL || g_hash_table_contains(s->idle, st->sql)) {
		stmt_destroy(st);
		return;
	}
	/* Reset ends the statement's read and forgets its last error;
	 * cleared bindings make the next user start from NULLs, as with a
	 * new statement. */
	s->be->reset(st->h);
	g_hash_table_insert(s->idle, st->sql, st);
	g_queue_push_tail_link(&s->lru, &st->link);
	if (s->lru.length > (guint)s->be->stmt_cache) {
		csip_stmt *old = g_queue_pop_head_link(&s->lru)->data;

		g_hash_table_remove(s->idle, old->sql);
		stmt_destroy(old);
	}
}

/* Prepare SQL and bind a NULL-terminated va_list of text values. */
static int
prepare_bound(csip_store *s, const char *sql, va_list ap, csip_stmt **out)
{
	const char *v;
	int rc, idx = 1;

	if ((rc = csip_store_prepare(s, sql, out)) < 0)
		return rc;
	while ((v = va_arg(ap, const char *)) != NULL) {
		rc = v == CSIP_SQL_NULL ? csip_stmt_bind_null(*out, idx)
			: csip_stmt_bind_text(*out, idx, v);
		if (rc < 0) {
			csip_stmt_free(*out);
			*out = NULL;
			return rc;
		}
		idx++;
	}
	return CSIP_OK;
}

int
csip_store_run(csip_store *s, int *changes, const char *sql, ...)
{
	csip_stmt *st = NULL;
	va_list ap;
	int rc;

	va_start(ap, sql);
	rc = prepare_bound(s, sql, ap, &st);
	va_end(ap);
	if (rc < 0)
		goto out;
	while ((rc = csip_stmt_step(st)) == CSIP_ROW)
		;
	if (rc < 0)
		goto out;
	if (changes)
		*changes = s->be->changes(s->conn);
	rc = CSIP_OK;
out:
	csip_stmt_free(st);
	return rc;
}

int
csip_store_prepare_bind(csip_store *s, csip_stmt **out, const char *sql, ...)
{
	va_list ap;
	int rc;

	va_start(ap, sql);
	rc = prepare_bound(s, sql, ap, out);
	va_end(ap);
	return rc;
}

int
csip_store_each(csip_store *s, csip_row_fn fn, void *ud, const char *sql,
		...)
{
	csip_stmt *st = NULL;
	va_list ap;
	int rc;

	va_start(ap, sql);
	rc = prepare_bound(s, sql, ap, &st);
	va_end(ap);
	if (rc == CSIP_OK)
		rc = csip_stmt_each(st, fn, ud);
	csip_stmt_free(st);
	return rc;
}

int
csip_stmt_each(csip_stmt *st, csip_row_fn fn, void *ud)
{
	int rc;

	while ((rc = csip_stmt_step(st)) == CSIP_ROW)
		if ((rc = fn(st, ud)) < 0)
			return rc;
	return rc == CSIP_DONE ? CSIP_OK : rc;
}

int
csip_store_query_int64(csip_store *s, int64_t *out, const char *sql, ...)
{
	csip_stmt *st = NULL;
	va_list ap;
	int rc;

	va_start(ap, sql);
	rc = prepare_bound(s, sql, ap, &st);
	va_end(ap);
	if (rc < 0)
		goto out;
	rc = csip_stmt_step(st);
	if (rc == CSIP_DONE) {
		rc = csip_error_set(CSIP_ENOTFOUND, "no row");
		goto out;
	}
	if (rc < 0)
		goto out;
	*out = csip_stmt_int64(st, 0);
	rc = CSIP_OK;
out:
	csip_stmt_free(st);
	return rc;
}

int
csip_store_changes(csip_store *s)
{
	return s->be->changes(s->conn);
}

void
csip_store_now(char buf[static 21])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t
csip_store_size_bytes(csip_store *s)
{
	int64_t v = -1;
	int pg = strcmp(csip_store_backend_name(s), "postgresql") == 0;

	if (csip_store_query_int64(s, &v, pg
	    ? "SELECT pg_database_size(current_database())"
	    : "SELECT page_count * page_size FROM pragma_page_count(), "
	      "pragma_page_size()", NULL) < 0) {
		csip_error_clear();
		return -1;
	}
	return v;
}

int
csip_store_prepare_ids(csip_store *s, const char *sql, const int64_t *ids,
		       size_t n, int *next, csip_stmt **out)
{
	GString *list = g_string_new(NULL), *text = g_string_new(sql);
	csip_stmt *st = NULL;
	size_t room = n == 1 ? 1 : 8;
	int rc;

	*out = NULL;
	/* One id is the common case (a single item): "IN (?)" is planned
	 * as "= ?" by both backends, where a longer list costs SQLite a
	 * temporary index at every run. */
	while (room < n)
		room *= 2;
	if (n == 0 || room > CSIP_STORE_MAX_BOUND_IN) {
		for (size_t i = 0; i < n; i++)
			g_string_append_printf(list, "%s%" PRId64, i ? "," : "",
					       ids[i]);
		if (n == 0)
			g_string_append(list, "NULL");
		room = 0;
	}
	for (size_t i = 0; i < room; i++)
		g_string_append(list, i ? ",?" : "?");
	g_string_replace(text, "@IDS@", list->str, 1);
	if ((rc = csip_store_prepare(s, text->str, &st)) < 0)
		goto out;
	for (size_t i = 0; i < room; i++)
		if ((rc = csip_stmt_bind_int64(st, (int)i + 1,
					       ids[MIN(i, n - 1)])) < 0)
			goto out;
	*next = (int)room + 1;
	*out = st;
	st = NULL;
out:
	csip_stmt_free(st);
	g_string_free(list, TRUE);
	g_string_free(text, TRUE);
	return rc;
}
