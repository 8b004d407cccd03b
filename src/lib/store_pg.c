/*
 * store_pg.c - the PostgreSQL backend of the storage layer (libpq).
 *
 * Callers write `?` placeholders; prepare turns them into $1, $2, ...
 * outside quotes and comments.  A statement runs at its first step, typed
 * by what was bound (int64 as int8, bytes as bytea in binary, text left
 * for the server to infer from the context, as SQLite's affinity would),
 * and its whole result is kept: callers step through one statement while
 * running others on the same connection, which libpq's single-row mode
 * would not allow.  Each connection keeps the SQL it has run as named
 * server-side prepared statements, so a request's few dozen lookups are
 * parsed and planned once per connection, not once per request.
 *
 * Writers: every write transaction takes one transaction-scoped advisory
 * lock first, so write transactions run one at a time across every
 * process on the database, exactly as SQLite's BEGIN IMMEDIATE runs them.
 * The code above relies on that (the audit chain reads its head and
 * appends; revisions are read and incremented); reads never take it and
 * scale across servers and replicas.  lock_timeout bounds the wait, so a
 * stuck writer gives CSIP_EBUSY rather than a hang.
 */
#include "lib/store.h"
#include "lib/store_backend.h"
#include "util/error.h"

#include <glib.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

/* Type oids of pg_type, stable across versions. */
#define BOOLOID  16
#define BYTEAOID 17
#define INT8OID  20

/* The advisory lock of writers: "csip" in ASCII. */
#define WRITER_LOCK "1668508016"

/* Prepared statements kept per connection; past this, SQL runs unnamed
 * (dynamic SQL of filters could otherwise grow the server's memory). */
#define MAX_PREPARED 1024

typedef struct pg_conn {
	PGconn *c;
	int changes;    /* rows changed by the last statement */
	int in_tx;      /* between a BEGIN and its COMMIT or ROLLBACK */
	GHashTable *prepared;  /* SQL + types -> statement name */
	unsigned named;        /* statements named so far */
} pg_conn;

typedef struct pg_param {
	char *value;    /* NULL: SQL NULL */
	int len;
	int binary;
	Oid type;
} pg_param;

typedef struct pg_stmt {
	pg_conn *conn;
	char *sql;      /* with $n placeholders */
	int nparams;
	pg_param *params;
	PGresult *res;  /* NULL until the first step */
	int row;        /* current row; -1 before the first */
	unsigned char *blob;  /* decoded bytea of the last col_blob */
} pg_stmt;

/* Map a failed result to a csip code, recording the server's message:
 * its primary line only.  The DETAIL of a constraint's failure quotes
 * the row ("Key (name)=(acme) already exists"), which may belong to
 * another organisation than the caller whose request met it. */
static int
pg_err(PGconn *c, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
		: NULL;
	const char *msg = res ? PQresultErrorField(res,
		PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char *m;
	int rc;

	if (msg == NULL || *msg == '\0')
		msg = PQerrorMessage(c);
	m = g_strstrip(g_strdup(msg ? msg : "unknown error"));
	if (state == NULL)
		rc = csip_error_set(CSIP_ESTORE, "database error: %s", m);
	else if (strcmp(state, "23505") == 0)
		rc = csip_error_set(CSIP_EEXISTS, "%s", m);
	else if (strncmp(state, "23", 2) == 0)
		rc = csip_error_set(CSIP_EINVAL, "%s", m);
	else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
		 strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0)
		rc = csip_error_set(CSIP_EBUSY, "database is busy (%s); try "
			"again", m);
	else
		rc = csip_error_set(CSIP_ESTORE, "database error: %s", m);
	g_free(m);
	return rc;
}

/* What every session of csip sets: text in and out is UTF-8 whatever
 * the server's locale; notices (IF NOT EXISTS skipped, ...) are not
 * errors and stay quiet; a writer waits for the lock at most 30 s. */
static int
session_setup(PGconn *c)
{
	PGresult *res = PQexec(c, "SET client_encoding = 'UTF8';"
		"SET client_min_messages = warning;"
		"SET lock_timeout = '30s'");
	int rc = CSIP_OK;

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = pg_err(c, res);
	PQclear(res);
	return rc;
}

/* A connection the server dropped (a restart, a failover, an idle kill)
 * is made again before the next statement, but only between
 * transactions: inside one, what ran before the loss is gone with it, and
 * the caller must see the failure and roll back, never carry on with the
 * rest in a new session. */
static int
reconnect(pg_conn *pc)
{
	char *m;
	int rc;

	if (PQstatus(pc->c) == CONNECTION_OK)
		return CSIP_OK;
	if (pc->in_tx)
		return csip_error_set(CSIP_ESTORE, "the database connection "
			"was lost in a transaction; none of it was kept");
	PQreset(pc->c);
	g_hash_table_remove_all(pc->prepared);
	if (PQstatus(pc->c) == CONNECTION_OK &&
	    (rc = session_setup(pc->c)) == CSIP_OK)
		return CSIP_OK;
	m = g_strstrip(g_strdup(PQerrorMessage(pc->c)));
	rc = csip_error_set(CSIP_ESTORE, "the database connection was lost "
		"and could not be made again (%s); check that the server is "
		"running", m);
	g_free(m);
	return rc;
}

static int
pg_open(const char *target, void **conn)
{
	pg_conn *pc = g_new0(pg_conn, 1);
	char *shown = csip_store_url_redacted(target);
	PGresult *res = NULL;
	int rc;

	pc->c = PQconnectdb(target);
	if (pc->c == NULL || PQstatus(pc->c) != CONNECTION_OK) {
		char *m = g_strstrip(g_strdup(pc->c ? PQerrorMessage(pc->c)
			: "out of memory"));

		rc = csip_error_set(CSIP_ESTORE, "database %s: %s; check "
			"[database] url and that the server is running", shown,
			m);
		g_free(m);
		goto out;
	}
	if ((rc = session_setup(pc->c)) < 0) {
		csip_error_prefix(rc, "database %s: ", shown);
		goto out;
	}
	pc->prepared = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					     g_free);
	*conn = pc;
	pc = NULL;
	rc = CSIP_OK;
out:
	PQclear(res);
	g_free(shown);
	if (pc) {
		PQfinish(pc->c);
		g_free(pc);
	}
	return rc;
}

static void
pg_close(void *conn)
{
	pg_conn *pc = conn;

	if (pc == NULL)
		return;
	PQfinish(pc->c);
	if (pc->prepared)
		g_hash_table_destroy(pc->prepared);
	g_free(pc);
}

/* The rows a command changed, from its tag ("UPDATE 3"). */
static int
tag_changes(PGresult *res)
{
	const char *n = PQcmdTuples(res);

	return n && *n ? atoi(n) : 0;
}

/* Whether SQL changes data (or commits), for fault injection: anything
 * but a query, a BEGIN or a ROLLBACK, which must always work. */
static int
writes(const char *sql)
{
	while (g_ascii_isspace(*sql))
		sql++;
	return g_ascii_strncasecmp(sql, "SELECT", 6) != 0 &&
	       g_ascii_strncasecmp(sql, "BEGIN", 5) != 0 &&
	       g_ascii_strncasecmp(sql, "ROLLBACK", 8) != 0 &&
	       g_ascii_strncasecmp(sql, "SET ", 4) != 0;
}

static int
injected(const char *sql)
{
	if (!writes(sql) || !csip_store_fault_hit())
		return CSIP_OK;
	return csip_error_set(CSIP_ESTORE, "database error: could not write "
		"(injected fault)");
}

static int
pg_exec(void *conn, const char *sql)
{
	pg_conn *pc = conn;
	PGresult *res = NULL;
	ExecStatusType st;
	int rc;

	if ((rc = injected(sql)) < 0)
		return rc;
	if (g_ascii_strncasecmp(sql, "COMMIT", 6) == 0 ||
	    g_ascii_strncasecmp(sql, "ROLLBACK", 8) == 0) {
		/* Over, whatever the server answers. */
		pc->in_tx = 0;
		if (PQstatus(pc->c) != CONNECTION_OK)
			return csip_error_set(CSIP_ESTORE, "the database "
				"connection was lost in a transaction; none of "
				"it was kept");
	} else if ((rc = reconnect(pc)) < 0) {
		return rc;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		PQclear(res);
		res = PQexec(pc->c, sql);
		st = PQresultStatus(res);
		/* A session found dead at a BEGIN or a read outside a
		 * transaction lost nothing: once more on a new one. */
		if (attempt == 0 && PQstatus(pc->c) != CONNECTION_OK &&
		    !pc->in_tx && !writes(sql) && reconnect(pc) == CSIP_OK)
			continue;
		break;
	}
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		rc = pg_err(pc->c, res);
		/* A BEGIN whose lock timed out left a failed transaction
		 * open on the server that the caller believes never began:
		 * end it, or every later statement is refused. */
		if (!pc->in_tx && PQtransactionStatus(pc->c) != PQTRANS_IDLE &&
		    PQstatus(pc->c) == CONNECTION_OK)
			PQclear(PQexec(pc->c, "ROLLBACK"));
	} else {
		pc->changes = tag_changes(res);
		if (g_ascii_strncasecmp(sql, "BEGIN", 5) == 0)
			pc->in_tx = 1;
	}
	PQclear(res);
	return rc;
}

/* SQL with each `?` outside quotes and comments as $1, $2, ...;
 * *n receives the count. */
static char *
number_params(const char *sql, int *n)
{
	GString *out = g_string_sized_new(strlen(sql) + 16);
	int k = 0;

	for (const char *p = sql; *p; p++) {
		char q = *p;

		if (q == '\'' || q == '"') {
			const char *e = strchr(p + 1, q);

			/* '' inside a string ends and reopens it: copying
			 * both halves is the same text. */
			if (e == NULL)
				e = p + strlen(p) - 1;
			g_string_append_len(out, p, e - p + 1);
			p = e;
		} else if (q == '-' && p[1] == '-') {
			const char *e = strchr(p, '\n');

			if (e == NULL)
				e = p + strlen(p) - 1;
			g_string_append_len(out, p, e - p + 1);
			p = e;
		} else if (q == '?') {
			g_string_append_printf(out, "$%d", ++k);
		} else {
			g_string_append_c(out, q);
		}
	}
	*n = k;
	return g_string_free(out, FALSE);
}

static int
pg_prepare(void *conn, const char *sql, void **stmt)
{
	pg_stmt *st = g_new0(pg_stmt, 1);

	st->conn = conn;
	st->sql = number_params(sql, &st->nparams);
	st->params = g_new0(pg_param, st->nparams ? st->nparams : 1);
	st->row = -1;
	*stmt = st;
	return CSIP_OK;
}

static pg_param *
param_at(pg_stmt *st, int idx)
{
	if (idx < 1 || idx > st->nparams) {
		csip_error_set(CSIP_ERR, "parameter %d out of range (statement "
			"has %d): %.80s", idx, st->nparams, st->sql);
		return NULL;
	}
	g_clear_pointer(&st->params[idx - 1].value, g_free);
	return &st->params[idx - 1];
}

static int
pg_bind_text(void *stmt, int idx, const char *v)
{
	pg_param *p = param_at(stmt, idx);

	if (p == NULL)
		return CSIP_ERR;
	p->value = g_strdup(v);
	p->len = 0;
	p->binary = 0;
	p->type = 0;
	return CSIP_OK;
}

static int
pg_bind_int64(void *stmt, int idx, int64_t v)
{
	pg_param *p = param_at(stmt, idx);

	if (p == NULL)
		return CSIP_ERR;
	p->value = g_strdup_printf("%" G_GINT64_FORMAT, (gint64)v);
	p->len = 0;
	p->binary = 0;
	p->type = INT8OID;
	return CSIP_OK;
}

static int
pg_bind_null(void *stmt, int idx)
{
	pg_param *p = param_at(stmt, idx);

	if (p == NULL)
		return CSIP_ERR;
	p->binary = 0;
	p->type = 0;
	return CSIP_OK;
}

static int
pg_bind_blob(void *stmt, int idx, const void *v, size_t len)
{
	pg_param *p = param_at(stmt, idx);

	if (p == NULL)
		return CSIP_ERR;
	if (len > G_MAXINT)
		return csip_error_set(CSIP_ETOOBIG, "a value of %zu bytes is "
			"too large for one parameter", len);
	/* Never NULL, even for zero bytes: NULL would bind SQL NULL. */
	p->value = g_malloc(len ? len : 1);
	memcpy(p->value, v, len);
	p->len = (int)len;
	p->binary = 1;
	p->type = BYTEAOID;
	return CSIP_OK;
}

/* The cache's key of ST's SQL with these parameter types. */
static GString *
statement_key(const pg_stmt *st, const Oid *types)
{
	GString *key = g_string_new(st->sql);

	g_string_append_c(key, '\x1f');
	for (int i = 0; i < st->nparams; i++)
		g_string_append_printf(key, "%u,", (unsigned)types[i]);
	return key;
}

/* The name of ST's SQL prepared on the server with these parameter
 * types, preparing it the first time; *name NULL when the cache is full
 * (run it unnamed).  The name is owned by the cache.  Names are never
 * reused: one forgotten (stale_plan) may still exist on the server. */
static int
statement_name(pg_stmt *st, const Oid *types, const char **name)
{
	pg_conn *pc = st->conn;
	GString *key = statement_key(st, types);
	PGresult *res = NULL;
	char *nm;
	int rc = CSIP_OK;

	*name = NULL;
	nm = g_hash_table_lookup(pc->prepared, key->str);
	if (nm) {
		*name = nm;
		goto out;
	}
	if (g_hash_table_size(pc->prepared) >= MAX_PREPARED)
		goto out;
	nm = g_strdup_printf("csip_%u", ++pc->named);
	res = PQprepare(pc->c, nm, st->sql, st->nparams, types);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		rc = pg_err(pc->c, res);
		g_free(nm);
		goto out;
	}
	g_hash_table_insert(pc->prepared, g_string_free(key, FALSE), nm);
	key = NULL;
	*name = nm;
out:
	PQclear(res);
	if (key)
		g_string_free(key, TRUE);
	return rc;
}

/* Whether RES is PostgreSQL refusing the prepared statement NAME because
 * the shape of its result changed under it ("cached plan must not change
 * result type": a migration in another process altered a table it reads
 * with *).  Then the statement is forgotten, so that it is prepared again
 * from its SQL; outside a transaction it is also deallocated (inside one,
 * the failed transaction would refuse that too; the name is not reused). */
static int
stale_plan(pg_stmt *st, const Oid *types, const char *name,
	   const PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	GString *key;

	if (name == NULL || state == NULL || strcmp(state, "0A000") != 0)
		return 0;
	if (!st->conn->in_tx) {
		char *sql = g_strdup_printf("DEALLOCATE %s", name);

		PQclear(PQexec(st->conn->c, sql));
		g_free(sql);
	}
	key = statement_key(st, types);
	g_hash_table_remove(st->conn->prepared, key->str);
	g_string_free(key, TRUE);
	return 1;
}

static int
run(pg_stmt *st)
{
	int n = st->nparams;
	const char **values = g_new0(const char *, n ? n : 1);
	int *lens = g_new0(int, n ? n : 1);
	int *fmts = g_new0(int, n ? n : 1);
	Oid *types = g_new0(Oid, n ? n : 1);
	const char *name = NULL;
	ExecStatusType es;
	int rc;

	if ((rc = injected(st->sql)) < 0 || (rc = reconnect(st->conn)) < 0)
		goto out;
	for (int i = 0; i < n; i++) {
		values[i] = st->params[i].value;
		lens[i] = st->params[i].len;
		fmts[i] = st->params[i].binary;
		types[i] = st->params[i].type;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		g_clear_pointer(&st->res, PQclear);
		if ((rc = statement_name(st, types, &name)) < 0 &&
		    (PQstatus(st->conn->c) == CONNECTION_OK || attempt > 0))
			goto out;
		if (rc == CSIP_OK)
			st->res = name ? PQexecPrepared(st->conn->c, name, n,
				values, lens, fmts, 0) : PQexecParams(
				st->conn->c, st->sql, n, types, values, lens,
				fmts, 0);
		if (rc == CSIP_OK && stale_plan(st, types, name, st->res)) {
			/* Prepared again at once when nothing was lost;
			 * inside a transaction, which the error aborted,
			 * the caller's next try prepares it. */
			if (attempt == 0 && !st->conn->in_tx)
				continue;
			g_clear_pointer(&st->res, PQclear);
			rc = csip_error_set(CSIP_EBUSY, "a table changed under "
				"a prepared statement (a migration by another "
				"process); try again");
			break;
		}
		/* A session found dead at a read outside a transaction
		 * lost nothing: once more on a new one. */
		if (attempt == 0 && PQstatus(st->conn->c) != CONNECTION_OK &&
		    !st->conn->in_tx && !writes(st->sql) &&
		    reconnect(st->conn) == CSIP_OK)
			continue;
		break;
	}
	if (rc < 0)
		goto out;
	es = PQresultStatus(st->res);
	if (es != PGRES_COMMAND_OK && es != PGRES_TUPLES_OK) {
		rc = pg_err(st->conn->c, st->res);
		g_clear_pointer(&st->res, PQclear);
	} else {
		st->conn->changes = tag_changes(st->res);
	}
out:
	g_free(values);
	g_free(lens);
	g_free(fmts);
	g_free(types);
	return rc;
}

static int
pg_step(void *stmt)
{
	pg_stmt *st = stmt;
	int rc;

	if (st->res == NULL) {
		if ((rc = run(st)) < 0)
			return rc;
		st->row = -1;
	}
	if (st->row + 1 < PQntuples(st->res)) {
		st->row++;
		return CSIP_ROW;
	}
	st->row = PQntuples(st->res);
	return CSIP_DONE;
}

static int
current(pg_stmt *st, int col)
{
	return st->res && st->row >= 0 && st->row < PQntuples(st->res) &&
		col >= 0 && col < PQnfields(st->res);
}

static const char *
pg_col_text(void *stmt, int col)
{
	pg_stmt *st = stmt;

	if (!current(st, col) || PQgetisnull(st->res, st->row, col))
		return NULL;
	return PQgetvalue(st->res, st->row, col);
}

static int64_t
pg_col_int64(void *stmt, int col)
{
	pg_stmt *st = stmt;
	const char *v = pg_col_text(stmt, col);

	if (v == NULL)
		return 0;
	/* SQLite's comparisons are integers; PostgreSQL's are booleans. */
	if (PQftype(st->res, col) == BOOLOID)
		return *v == 't';
	return g_ascii_strtoll(v, NULL, 10);
}

static int
pg_col_is_null(void *stmt, int col)
{
	pg_stmt *st = stmt;

	return !current(st, col) || PQgetisnull(st->res, st->row, col);
}

static const void *
pg_col_blob(void *stmt, int col, size_t *len)
{
	pg_stmt *st = stmt;
	const char *v = pg_col_text(stmt, col);

	*len = 0;
	g_clear_pointer(&st->blob, PQfreemem);
	if (v == NULL)
		return NULL;
	if (PQftype(st->res, col) != BYTEAOID) {
		*len = (size_t)PQgetlength(st->res, st->row, col);
		return v;
	}
	st->blob = PQunescapeBytea((const unsigned char *)v, len);
	return st->blob;
}

static int
pg_col_count(void *stmt)
{
	pg_stmt *st = stmt;

	return st->res ? PQnfields(st->res) : 0;
}

static const char *
pg_col_name(void *stmt, int col)
{
	pg_stmt *st = stmt;

	return st->res && col >= 0 && col < PQnfields(st->res)
		? PQfname(st->res, col) : NULL;
}

static int
pg_reset(void *stmt)
{
	pg_stmt *st = stmt;

	g_clear_pointer(&st->res, PQclear);
	g_clear_pointer(&st->blob, PQfreemem);
	st->row = -1;
	for (int i = 0; i < st->nparams; i++) {
		g_clear_pointer(&st->params[i].value, g_free);
		st->params[i].type = 0;
		st->params[i].binary = 0;
		st->params[i].len = 0;
	}
	return CSIP_OK;
}

static void
pg_finalize(void *stmt)
{
	pg_stmt *st = stmt;

	if (st == NULL)
		return;
	pg_reset(st);
	g_free(st->params);
	g_free(st->sql);
	g_free(st);
}

static int
pg_changes(void *conn)
{
	return ((pg_conn *)conn)->changes;
}

/* A commit that need not survive a crash: the server answers it before
 * its WAL is flushed, which a later synchronous commit or the WAL writer
 * (within three wal_writer_delay) does.  SET LOCAL ends with the
 * transaction, whichever way it ends. */
static int
pg_async(void *conn, int phase)
{
	if (phase != CSIP_ASYNC_BEGUN)
		return CSIP_OK;
	return pg_exec(conn, "SET LOCAL synchronous_commit = off");
}

const csip_store_backend csip_store_pg = {
	.name = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.exec = pg_exec,
	.prepare = pg_prepare,
	.bind_text = pg_bind_text,
	.bind_int64 = pg_bind_int64,
	.bind_null = pg_bind_null,
	.bind_blob = pg_bind_blob,
	.step = pg_step,
	.col_text = pg_col_text,
	.col_int64 = pg_col_int64,
	.col_is_null = pg_col_is_null,
	.col_blob = pg_col_blob,
	.col_count = pg_col_count,
	.col_name = pg_col_name,
	.reset = pg_reset,
	.finalize = pg_finalize,
	.changes = pg_changes,
	.begin_sql = "BEGIN; SELECT pg_advisory_xact_lock(" WRITER_LOCK ")",
	.one_writer = 0,
	.async = pg_async,
};
