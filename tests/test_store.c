/*
 * test_store.c - the storage layer: statements, nested transactions, error
 * mapping, WAL and foreign keys, migrations, injected disk faults, the
 * statements kept for reuse, the CHECKs of listed values, and
 * transactions whose commit need not be
 * durable.
 */
#include "lib/migrate.h"
#include "lib/store.h"
#include "testutil.h"
#include "util/error.h"

#include <glib.h>
#include <string.h>

static void
test_basic(void)
{
	csip_test_hub *t = csip_test_hub_new();
	csip_store *s = csip_hub_store(t->hub);
	csip_stmt *st = NULL;
	int64_t v = 0;
	int changes = 0;

	csip_assert_ok(csip_store_exec(s, "CREATE TABLE kv (k TEXT PRIMARY "
		"KEY, v INTEGER, t TEXT)"));
	csip_assert_ok(csip_store_run(s, &changes, "INSERT INTO kv VALUES "
		"(?, ?, ?)", "a", "1", CSIP_SQL_NULL, NULL));
	g_assert_cmpint(changes, ==, 1);
	g_assert_cmpint(csip_store_run(s, NULL, "INSERT INTO kv VALUES (?, ?,"
		" ?)", "a", "2", "x", NULL), ==, CSIP_EEXISTS);
	g_assert_nonnull(strcasestr(csip_error_last(), "UNIQUE"));
	csip_assert_ok(csip_store_query_int64(s, &v, "SELECT v FROM kv WHERE "
		"k = ?", "a", NULL));
	g_assert_cmpint(v, ==, 1);
	g_assert_cmpint(csip_store_query_int64(s, &v, "SELECT v FROM kv WHERE "
		"k = ?", "zz", NULL), ==, CSIP_ENOTFOUND);

	csip_assert_ok(csip_store_prepare(s, "SELECT k, v, t FROM kv", &st));
	g_assert_cmpint(csip_stmt_step(st), ==, CSIP_ROW);
	g_assert_cmpstr(csip_stmt_text(st, 0), ==, "a");
	g_assert_true(csip_stmt_is_null(st, 2));
	g_assert_cmpint(csip_stmt_step(st), ==, CSIP_DONE);
	csip_stmt_free(st);
	csip_stmt_free(NULL);

	/* A backend reports bad SQL at prepare (SQLite) or at the first
	 * step (PostgreSQL, which prepares on the server when it runs). */
	{
		int rc = csip_store_prepare(s, "SELEKT nonsense", &st);

		if (rc == CSIP_OK) {
			rc = csip_stmt_step(st);
			g_clear_pointer(&st, csip_stmt_free);
		}
		g_assert_cmpint(rc, ==, CSIP_ESTORE);
		g_assert_null(st);
	}
	csip_test_hub_free(t);
}

static void
test_pragmas(void)
{
	csip_test_hub *t = csip_test_hub_new();
	csip_store *s = csip_hub_store(t->hub);
	csip_stmt *st = NULL;

	if (!t->pg_name) {
		csip_assert_ok(csip_store_prepare(s, "PRAGMA journal_mode",
						  &st));
		g_assert_cmpint(csip_stmt_step(st), ==, CSIP_ROW);
		g_assert_cmpstr(csip_stmt_text(st, 0), ==, "wal");
		csip_stmt_free(st);
	}
	/* Foreign keys are enforced. */
	g_assert_cmpint(csip_store_run(s, NULL, "INSERT INTO org_sig (org_id,"
		" sig_id) VALUES (?, ?)", "999", "999", NULL), ==, CSIP_EINVAL);
	g_assert_nonnull(strcasestr(csip_error_last(), "FOREIGN KEY"));
	csip_test_hub_free(t);
}

static void
test_nested_transactions(void)
{
	csip_test_hub *t = csip_test_hub_new();
	csip_store *s = csip_hub_store(t->hub);
	int64_t n = -1;

	csip_assert_ok(csip_store_exec(s, "CREATE TABLE x (v INTEGER)"));
	/* Inner commit, outer commit: kept. */
	csip_assert_ok(csip_store_begin(s));
	csip_assert_ok(csip_store_begin(s));
	csip_assert_ok(csip_store_run(s, NULL, "INSERT INTO x VALUES (1)",
				      NULL));
	csip_assert_ok(csip_store_commit(s));
	csip_assert_ok(csip_store_commit(s));
	/* Inner rollback poisons the outer transaction. */
	csip_assert_ok(csip_store_begin(s));
	csip_assert_ok(csip_store_run(s, NULL, "INSERT INTO x VALUES (2)",
				      NULL));
	csip_assert_ok(csip_store_begin(s));
	csip_store_rollback(s);
	g_assert_cmpint(csip_store_commit(s), ==, CSIP_ESTORE);
	csip_assert_ok(csip_store_query_int64(s, &n, "SELECT COUNT(*) FROM x",
					      NULL));
	g_assert_cmpint(n, ==, 1);
	/* Commit without begin is an error, rollback without begin a no-op. */
	g_assert_cmpint(csip_store_commit(s), <, 0);
	csip_store_rollback(s);
	csip_test_hub_free(t);
}

static void
test_migrations(void)
{
	csip_test_hub *t = csip_test_hub_new();
	csip_store *s = csip_hub_store(t->hub);
	int applied = -1, v = 0;

	g_assert_cmpint(csip_hub_migrations_applied(t->hub), ==,
			csip_migrate_latest());
	csip_assert_ok(csip_migrate(s, &applied));
	g_assert_cmpint(applied, ==, 0);
	csip_assert_ok(csip_migrate_current(s, &v));
	g_assert_cmpint(v, ==, csip_migrate_latest());
	/* The correlation's sweep finds its reports in the partial index
	 * (migration 12). */
	if (!t->pg_name) {
		csip_stmt *st = NULL;
		int used = 0;

		csip_assert_ok(csip_store_prepare(s, "EXPLAIN QUERY PLAN SELECT "
			"id FROM report WHERE correlated_at IS NULL ORDER BY id "
			"LIMIT 10", &st));
		while (csip_stmt_step(st) == CSIP_ROW)
			used |= strstr(csip_stmt_text(st, 3),
				       "report_uncorrelated") != NULL;
		csip_stmt_free(st);
		g_assert_true(used);
	}
	/* A database from a newer csip is refused, not damaged. */
	csip_assert_ok(csip_store_run(s, NULL, "INSERT INTO schema_version "
		"VALUES (999, 'future', 'x')", NULL));
	g_assert_cmpint(csip_migrate(s, &applied), ==, CSIP_ECONFIG);
	g_assert_nonnull(strstr(csip_error_last(), "upgrade csip"));
	csip_test_hub_free(t);
}

/* The CHECKs that list allowed values (migration 12 compares them one by
 * one on SQLite) still refuse every other value, in every column, on both
 * backends; and on SQLite an insert no longer builds a temporary index
 * for a list. */
typedef struct check_case {
	const char *sql;    /* one ? for the value under test */
	const char *good, *bad;
} check_case;

static void
test_checks(void)
{
	csip_test_hub *t = csip_test_hub_new();
	csip_store *s = csip_hub_store(t->hub);
	csip_stmt *st = NULL;
	int64_t org = 0, item = 0, report = 0;
	static const check_case cases[] = {
		{ "INSERT INTO report (org_id, kind, permission, attribution, "
		  "tlp, source, received_at, raw_sha256) VALUES (@ORG@, ?, "
		  "'sig', 'none', 'amber', 's', 't', @N@)", "stix", "pdf" },
		{ "INSERT INTO report (org_id, kind, permission, attribution, "
		  "tlp, source, received_at, raw_sha256) VALUES (@ORG@, 'text', "
		  "?, 'none', 'amber', 's', 't', @N@)", "partners", "world" },
		{ "INSERT INTO report (org_id, kind, permission, attribution, "
		  "tlp, source, received_at, raw_sha256) VALUES (@ORG@, 'text', "
		  "'sig', ?, 'amber', 's', 't', @N@)", "community", "all" },
		{ "INSERT INTO report (org_id, kind, permission, attribution, "
		  "tlp, source, received_at, raw_sha256) VALUES (@ORG@, 'text', "
		  "'sig', 'none', ?, 's', 't', @N@)", "amber+strict", "white" },
		{ "INSERT INTO item (title, tlp, audience, status, created_by, "
		  "created_at, updated_at) VALUES ('t', ?, 'sig', 'draft', 'x', "
		  "'t', 't')", "red", "Red" },
		{ "INSERT INTO item (title, tlp, audience, status, created_by, "
		  "created_at, updated_at) VALUES ('t', 'red', ?, 'draft', 'x', "
		  "'t', 't')", "public", "hub" },
		{ "INSERT INTO item (title, tlp, audience, severity, status, "
		  "created_by, created_at, updated_at) VALUES ('t', 'red', "
		  "'sig', ?, 'draft', 'x', 't', 't')", "critical", "extreme" },
		{ "INSERT INTO item (title, tlp, audience, status, created_by, "
		  "created_at, updated_at) VALUES ('t', 'red', 'sig', ?, 'x', "
		  "'t', 't')", "withdrawn", "deleted" },
		{ "INSERT INTO feedback (item_id, org_id, kind, created_at) "
		  "VALUES (@ITEM@, @ORG@, ?, 't')", "false_positive", "spam" },
		{ "INSERT INTO corr_link (report_id, other_id, kind, type, "
		  "value, other_value, score) VALUES (@REP@, @REP@, ?, 'ip', "
		  "@N@, 'v', 1)", "cidr", "net" },
	};

	csip_assert_ok(csip_store_query_int64(s, &org, "INSERT INTO org (name, "
		"display_name, role, created_at, updated_at) VALUES ('o', 'o', "
		"'participant', 't', 't') RETURNING id", NULL));
	csip_assert_ok(csip_store_query_int64(s, &item, "INSERT INTO item "
		"(title, tlp, audience, status, created_by, created_at, "
		"updated_at) VALUES ('t', 'red', 'sig', 'draft', 'x', 't', 't') "
		"RETURNING id", NULL));
	csip_assert_ok(csip_store_query_int64(s, &report, "INSERT INTO report "
		"(org_id, kind, permission, attribution, tlp, source, "
		"received_at, raw_sha256) SELECT id, 'text', 'sig', 'none', "
		"'red', 's', 't', 'r0' FROM org WHERE name = 'o' RETURNING id",
		NULL));
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		GString *sql = g_string_new(cases[i].sql);
		char *o = g_strdup_printf("%" G_GINT64_FORMAT, org);
		char *it = g_strdup_printf("%" G_GINT64_FORMAT, item);
		char *r = g_strdup_printf("%" G_GINT64_FORMAT, report);
		char *n = g_strdup_printf("'n%zu'", i);
		char *n2 = g_strdup_printf("'m%zu'", i);

		g_string_replace(sql, "@ORG@", o, 0);
		g_string_replace(sql, "@ITEM@", it, 0);
		g_string_replace(sql, "@REP@", r, 0);
		g_string_replace(sql, "@N@", n, 0);
		g_assert_cmpint(csip_store_run(s, NULL, sql->str, cases[i].bad,
					       NULL), ==, CSIP_EINVAL);
		g_assert_nonnull(strcasestr(csip_error_last(), "check"));
		csip_assert_ok(csip_store_run(s, NULL, sql->str, cases[i].good,
					      NULL));
		/* NULL passes a CHECK; where the column may be NULL. */
		if (strstr(sql->str, "severity"))
			csip_assert_ok(csip_store_run(s, NULL, sql->str,
						      CSIP_SQL_NULL, NULL));
		if (!t->pg_name) {
			int ephemeral = 0;

			g_string_replace(sql, n, n2, 0);
			g_string_prepend(sql, "EXPLAIN ");
			csip_assert_ok(csip_store_prepare(s, sql->str, &st));
			csip_assert_ok(csip_stmt_bind_text(st, 1,
							   cases[i].good));
			while (csip_stmt_step(st) == CSIP_ROW)
				ephemeral |= strcmp(csip_stmt_text(st, 1),
						    "OpenEphemeral") == 0;
			g_clear_pointer(&st, csip_stmt_free);
			g_assert_false(ephemeral);
		}
		g_string_free(sql, TRUE);
		g_free(o);
		g_free(it);
		g_free(r);
		g_free(n);
		g_free(n2);
	}
	csip_test_hub_free(t);
}

static void
test_open_errors(void)
{
	csip_store *s = NULL;
	csip_config *cfg = NULL;
	csip_hub *h = NULL;
	char *dir = g_dir_make_tmp("csip-test-XXXXXX", NULL);
	char *ini = g_strdup_printf("[data]\ndir = %s/none\n", dir);
	char *path = g_build_filename(dir, "c.ini", NULL);

	g_assert_cmpint(csip_store_open("/nonexistent/dir/x.db", &s), ==,
			CSIP_ESTORE);
	g_assert_null(s);
	g_assert_nonnull(strstr(csip_error_last(), "/nonexistent/dir/x.db"));
	/* Nothing listens on port 1: refused at once, the URL named. */
	g_assert_cmpint(csip_store_open("postgresql://127.0.0.1:1/y", &s),
			==, CSIP_ESTORE);
	g_assert_null(s);
	g_assert_nonnull(strstr(csip_error_last(), "127.0.0.1:1/y"));
	g_assert_cmpint(csip_store_open("", &s), ==, CSIP_ECONFIG);
	/* A password never reaches a message. */
	g_assert_cmpint(csip_store_open("postgresql://csip:s3cret@127.0.0.1:1"
		"/y", &s), ==, CSIP_ESTORE);
	g_assert_null(strstr(csip_error_last(), "s3cret"));
	g_assert_nonnull(strstr(csip_error_last(), "csip:***@127.0.0.1:1"));
	g_assert_cmpint(csip_store_open("postgresql://127.0.0.1:1/y?password="
		"s3cret&sslmode=disable", &s), ==, CSIP_ESTORE);
	g_assert_null(strstr(csip_error_last(), "s3cret"));
	g_assert_nonnull(strstr(csip_error_last(), "password=***&sslmode"));

	/* Without CSIP_HUB_CREATE a missing database says to run init. */
	g_file_set_contents(path, ini, -1, NULL);
	csip_assert_ok(csip_config_load(path, &cfg));
	g_assert_cmpint(csip_hub_open(cfg, 0, &h), ==, CSIP_ENOTFOUND);
	g_assert_nonnull(strstr(csip_error_last(), "csip init"));
	g_assert_false(g_file_test(csip_config_data_dir(cfg),
				   G_FILE_TEST_EXISTS));
	csip_config_free(cfg);
	csip_test_rmtree(dir);
	g_free(dir);
	g_free(ini);
	g_free(path);
}

/* The writer turn belongs to a file: a transaction on one SQLite file
 * never waits for one open on another (csip migrate copies one file into
 * another in one thread; the turn waits 5 s before giving up), while two
 * stores on one file still take turns. */
static void
test_writer_turn_per_file(void)
{
	char *dir = g_dir_make_tmp("csip-test-XXXXXX", NULL);
	char *a = g_build_filename(dir, "a.db", NULL);
	char *b = g_build_filename(dir, "b.db", NULL);
	csip_store *sa = NULL, *sb = NULL, *sa2 = NULL;
	gint64 t0;

	csip_assert_ok(csip_store_open(a, &sa));
	csip_assert_ok(csip_store_open(b, &sb));
	csip_assert_ok(csip_store_exec(sa, "CREATE TABLE x (v INTEGER)"));
	csip_assert_ok(csip_store_exec(sb, "CREATE TABLE x (v INTEGER)"));
	csip_assert_ok(csip_store_begin(sa));
	csip_assert_ok(csip_store_run(sa, NULL, "INSERT INTO x VALUES (1)",
				      NULL));
	t0 = g_get_monotonic_time();
	csip_assert_ok(csip_store_begin(sb));
	csip_assert_ok(csip_store_run(sb, NULL, "INSERT INTO x VALUES (2)",
				      NULL));
	csip_assert_ok(csip_store_commit(sb));
	g_assert_cmpint(g_get_monotonic_time() - t0, <, 2 * G_USEC_PER_SEC);
	/* The same file by another path and store: its turn is taken, so
	 * after the wait the database itself says busy. */
	{
		char *other = g_build_filename(dir, ".", "a.db", NULL);

		csip_assert_ok(csip_store_open(other, &sa2));
		g_free(other);
	}
	t0 = g_get_monotonic_time();
	g_assert_cmpint(csip_store_begin(sa2), ==, CSIP_EBUSY);
	g_assert_cmpint(g_get_monotonic_time() - t0, >=, 4 * G_USEC_PER_SEC);
	csip_assert_ok(csip_store_commit(sa));
	csip_store_close(sa2);
	csip_store_close(sb);
	csip_store_close(sa);
	csip_test_rmtree(dir);
	g_free(dir);
	g_free(a);
	g_free(b);
}

/* Disk faults: every write from the Nth on fails.  Whatever N is, the
 * database afterwards holds either all of the transaction or none of it,
 * and stays consistent. */
static void
test_fault_injection(void)
{
	csip_test_hub *t = csip_test_hub_new();
	csip_store *s = csip_hub_store(t->hub);
	int failures = 0, successes = 0;
	char *big = g_strnfill(800, 'f');

	csip_assert_ok(csip_store_exec(s, "CREATE TABLE f (v TEXT)"));
	for (int n = 0; n < 60 && successes < 3; n++) {
		int64_t before = 0, after = 0;
		int rc;

		csip_assert_ok(csip_store_query_int64(s, &before,
			"SELECT COUNT(*) FROM f", NULL));
		csip_store_fault_after(n);
		rc = csip_store_begin(s);
		for (int i = 0; rc == CSIP_OK && i < 50; i++)
			rc = csip_store_run(s, NULL, "INSERT INTO f VALUES "
				"(?)", big, NULL);
		if (rc == CSIP_OK)
			rc = csip_store_commit(s);
		else
			csip_store_rollback(s);
		csip_store_fault_clear();
		csip_test_hub_reopen(t);
		s = csip_hub_store(t->hub);
		csip_assert_ok(csip_store_query_int64(s, &after,
			"SELECT COUNT(*) FROM f", NULL));
		if (rc < 0) {
			failures++;
			g_assert_cmpint(after, ==, before);
		} else {
			successes++;
			g_assert_cmpint(after, ==, before + 50);
		}
	}
	g_assert_cmpint(failures, >, 0);
	g_assert_cmpint(successes, >, 0);
	g_free(big);
	if (!t->pg_name) {
		csip_stmt *st = NULL;

		csip_assert_ok(csip_store_prepare(s, "PRAGMA integrity_check",
						  &st));
		g_assert_cmpint(csip_stmt_step(st), ==, CSIP_ROW);
		g_assert_cmpstr(csip_stmt_text(st, 0), ==, "ok");
		csip_stmt_free(st);
	}
	csip_test_hub_free(t);
}

/* Statements kept for reuse (SQLite): a freed statement comes back
 * reset and unbound, never while in use, compiled again after a schema
 * change, and the cache stays within its bound. */
static void
test_stmt_cache(void)
{
	csip_test_hub *t = csip_test_hub_new();
	csip_store *s = csip_hub_store(t->hub);
	csip_stmt *a = NULL, *b = NULL;
	const char *q = "SELECT v FROM c WHERE v >= ? ORDER BY v";
	int64_t v = 0;

	csip_assert_ok(csip_store_exec(s, "CREATE TABLE c (v INTEGER)"));
	csip_assert_ok(csip_store_run(s, NULL, "INSERT INTO c VALUES (1), "
		"(2), (3)", NULL));
	/* Freed in the middle of its rows, with a binding. */
	csip_assert_ok(csip_store_prepare(s, q, &a));
	csip_assert_ok(csip_stmt_bind_int64(a, 1, 2));
	g_assert_cmpint(csip_stmt_step(a), ==, CSIP_ROW);
	g_assert_cmpint(csip_stmt_int64(a, 0), ==, 2);
	csip_stmt_free(a);
	/* Back from the start, with no binding: v >= NULL is no row. */
	csip_assert_ok(csip_store_prepare(s, q, &a));
	g_assert_cmpint(csip_stmt_step(a), ==, CSIP_DONE);
	csip_stmt_reset(a);
	csip_assert_ok(csip_stmt_bind_int64(a, 1, 1));
	g_assert_cmpint(csip_stmt_step(a), ==, CSIP_ROW);
	g_assert_cmpint(csip_stmt_int64(a, 0), ==, 1);
	/* The same SQL while A is in use: another statement, its own
	 * rows. */
	csip_assert_ok(csip_store_prepare(s, q, &b));
	g_assert_true(a != b);
	csip_assert_ok(csip_stmt_bind_int64(b, 1, 3));
	g_assert_cmpint(csip_stmt_step(b), ==, CSIP_ROW);
	g_assert_cmpint(csip_stmt_int64(b, 0), ==, 3);
	g_assert_cmpint(csip_stmt_step(a), ==, CSIP_ROW);
	g_assert_cmpint(csip_stmt_int64(a, 0), ==, 2);
	csip_stmt_free(b);
	csip_stmt_free(a);

	/* A schema change between two uses.  (PostgreSQL's own cache of
	 * server-side statements, store_pg.c, refuses a changed result type
	 * instead: "cached plan must not change result type".) */
	if (!t->pg_name) {
		csip_assert_ok(csip_store_prepare(s, "SELECT * FROM c", &a));
		g_assert_cmpint(csip_stmt_step(a), ==, CSIP_ROW);
		g_assert_cmpint(csip_stmt_column_count(a), ==, 1);
		csip_stmt_free(a);
		csip_assert_ok(csip_store_exec(s, "ALTER TABLE c ADD COLUMN "
			"w TEXT DEFAULT 'x'"));
		csip_assert_ok(csip_store_prepare(s, "SELECT * FROM c", &a));
		g_assert_cmpint(csip_stmt_step(a), ==, CSIP_ROW);
		g_assert_cmpint(csip_stmt_column_count(a), ==, 2);
		g_assert_cmpstr(csip_stmt_text(a, 1), ==, "x");
		csip_stmt_free(a);
		csip_assert_ok(csip_store_exec(s, "DROP TABLE c"));
		a = NULL;
		{
			int rc = csip_store_prepare(s, "SELECT * FROM c",
						    &a);

			if (rc == CSIP_OK)
				rc = csip_stmt_step(a);
			g_assert_cmpint(rc, ==, CSIP_ESTORE);
			csip_stmt_free(a);
		}
		csip_assert_ok(csip_store_exec(s, "CREATE TABLE c (k TEXT, "
			"v INTEGER)"));
		csip_assert_ok(csip_store_run(s, NULL, "INSERT INTO c VALUES "
			"('k', 7)", NULL));
		csip_assert_ok(csip_store_query_int64(s, &v, "SELECT v FROM c "
			"WHERE v >= ? ORDER BY v", "0", NULL));
		g_assert_cmpint(v, ==, 7);
	}
	/* Many distinct statements: each answers its own, and the cache
	 * stays bounded. */
	for (int i = 0; i < 1000; i++) {
		char *sql = g_strdup_printf("SELECT %d + ?", i);

		csip_assert_ok(csip_store_query_int64(s, &v, sql, "1", NULL));
		g_assert_cmpint(v, ==, i + 1);
		g_free(sql);
	}
	csip_assert_ok(csip_store_query_int64(s, &v, "SELECT 0 + ?", "5",
					      NULL));
	g_assert_cmpint(v, ==, 5);
	if (!t->pg_name) {
		g_assert_cmpint(csip_store_stmt_cached(s), >, 0);
		g_assert_cmpint(csip_store_stmt_cached(s), <=, 256);
	} else {
		g_assert_cmpint(csip_store_stmt_cached(s), ==, 0);
	}
	csip_test_hub_free(t);
}

/* 2 when commits are durable now, 1 when not (SQLite's synchronous,
 * PostgreSQL's synchronous_commit). */
static int64_t
durability(csip_test_hub *t)
{
	int64_t v = -1;

	csip_assert_ok(csip_store_query_int64(csip_hub_store(t->hub), &v,
		t->pg_name ? "SELECT CASE WHEN current_setting("
		"'synchronous_commit') = 'off' THEN 1 ELSE 2 END"
		: "PRAGMA synchronous", NULL));
	return v;
}

/* A transaction whose commit need not be durable, and durable commits
 * after it however it ended: commit, rollback, a failed commit. */
static void
test_begin_async(void)
{
	csip_test_hub *t = csip_test_hub_new();
	csip_store *s = csip_hub_store(t->hub);
	int64_t n = 0, durable;
	int rc;

	csip_assert_ok(csip_store_exec(s, "CREATE TABLE a (v TEXT)"));
	/* The test server of scripts/pg-test runs without durable commits
	 * unless asked; what matters is that the session's setting comes
	 * back. */
	durable = durability(t);
	if (!t->pg_name)
		g_assert_cmpint(durable, ==, 2);
	csip_assert_ok(csip_store_begin_async(s));
	g_assert_cmpint(durability(t), ==, 1);
	csip_assert_ok(csip_store_run(s, NULL, "INSERT INTO a VALUES (?)",
				      "1", NULL));
	/* Nested: the outer transaction decides. */
	csip_assert_ok(csip_store_begin_async(s));
	csip_assert_ok(csip_store_commit(s));
	csip_assert_ok(csip_store_commit(s));
	g_assert_cmpint(durability(t), ==, durable);

	csip_assert_ok(csip_store_begin_async(s));
	csip_assert_ok(csip_store_run(s, NULL, "INSERT INTO a VALUES (?)",
				      "2", NULL));
	csip_store_rollback(s);
	g_assert_cmpint(durability(t), ==, durable);

	/* An inner failure, then a commit that fails on the disk. */
	csip_assert_ok(csip_store_begin_async(s));
	csip_assert_ok(csip_store_begin(s));
	csip_store_rollback(s);
	g_assert_cmpint(csip_store_commit(s), ==, CSIP_ESTORE);
	g_assert_cmpint(durability(t), ==, durable);
	csip_assert_ok(csip_store_begin_async(s));
	csip_assert_ok(csip_store_run(s, NULL, "INSERT INTO a VALUES (?)",
				      "3", NULL));
	csip_store_fault_after(0);
	rc = csip_store_commit(s);
	csip_store_fault_clear();
	g_assert_cmpint(rc, <, 0);
	g_assert_cmpint(durability(t), ==, durable);

	/* A durable transaction inside stays durable. */
	csip_assert_ok(csip_store_begin(s));
	g_assert_cmpint(durability(t), ==, durable);
	csip_assert_ok(csip_store_begin_async(s));
	g_assert_cmpint(durability(t), ==, durable);
	csip_assert_ok(csip_store_commit(s));
	csip_assert_ok(csip_store_commit(s));
	csip_assert_ok(csip_store_query_int64(s, &n, "SELECT COUNT(*) FROM a",
					      NULL));
	g_assert_cmpint(n, ==, 1);
	csip_test_hub_free(t);
}

/* PostgreSQL: a session the server drops is made again between
 * transactions (a read just retried), never inside one, whose failure
 * keeps nothing. */
static void
test_pg_reconnect(void)
{
	csip_test_hub *t;
	csip_store *s, *admin = NULL;
	int64_t pid = 0, n = -1;
	char sql[80];

	if (!csip_test_pg()) {
		g_test_skip("PostgreSQL only: run under scripts/pg-test");
		return;
	}
	t = csip_test_hub_new();
	s = csip_hub_store(t->hub);
	csip_assert_ok(csip_store_open(csip_test_pg(), &admin));
	csip_assert_ok(csip_store_exec(s, "CREATE TABLE r (v TEXT)"));

	/* Between transactions: the next read goes through. */
	csip_assert_ok(csip_store_query_int64(s, &pid, "SELECT "
		"pg_backend_pid()", NULL));
	g_snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%"
		   G_GINT64_FORMAT ")", pid);
	csip_assert_ok(csip_store_exec(admin, sql));
	g_usleep(200000);
	csip_assert_ok(csip_store_query_int64(s, &n, "SELECT COUNT(*) FROM r",
		NULL));
	g_assert_cmpint(n, ==, 0);

	/* Inside one: the loss fails it, and nothing of it stays. */
	csip_assert_ok(csip_store_query_int64(s, &pid, "SELECT "
		"pg_backend_pid()", NULL));
	csip_assert_ok(csip_store_begin(s));
	csip_assert_ok(csip_store_run(s, NULL, "INSERT INTO r VALUES (?)",
		"before", NULL));
	g_snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%"
		   G_GINT64_FORMAT ")", pid);
	csip_assert_ok(csip_store_exec(admin, sql));
	g_usleep(200000);
	g_assert_cmpint(csip_store_run(s, NULL, "INSERT INTO r VALUES (?)",
		"after", NULL), ==, CSIP_ESTORE);
	g_assert_cmpint(csip_store_run(s, NULL, "INSERT INTO r VALUES (?)",
		"later", NULL), ==, CSIP_ESTORE);
	csip_store_rollback(s);
	csip_assert_ok(csip_store_query_int64(s, &n, "SELECT COUNT(*) FROM r",
		NULL));
	g_assert_cmpint(n, ==, 0);
	/* And the session works for the next transaction. */
	csip_assert_ok(csip_store_begin(s));
	csip_assert_ok(csip_store_run(s, NULL, "INSERT INTO r VALUES (?)",
		"next", NULL));
	csip_assert_ok(csip_store_commit(s));
	csip_assert_ok(csip_store_query_int64(s, &n, "SELECT COUNT(*) FROM r",
		NULL));
	g_assert_cmpint(n, ==, 1);
	csip_store_close(admin);
	csip_test_hub_free(t);
}

/* PostgreSQL: a table altered by another process under a statement this
 * connection prepared ("cached plan must not change result type"): outside
 * a transaction the read goes through at once, prepared again; inside one
 * it fails busy, and the transaction tried again goes through. */
static void
test_pg_stale_plan(void)
{
	csip_store *s = NULL, *other = NULL;
	csip_stmt *st = NULL;
	char *name = NULL, *url;

	if (!csip_test_pg()) {
		g_test_skip("PostgreSQL only: run under scripts/pg-test");
		return;
	}
	url = csip_test_pg_create(&name);
	csip_assert_ok(csip_store_open(url, &s));
	csip_assert_ok(csip_store_open(url, &other));
	csip_assert_ok(csip_store_exec(s, "CREATE TABLE sp (a TEXT);"
		"INSERT INTO sp VALUES ('x')"));
	for (int round = 0; round < 3; round++) {
		static const char *const alter[] = {
			"ALTER TABLE sp ADD COLUMN b TEXT DEFAULT 'y'",
			"ALTER TABLE sp ADD COLUMN c TEXT DEFAULT 'z'" };

		if (round == 2)
			csip_assert_ok(csip_store_begin(s));
		csip_assert_ok(csip_store_prepare(s, "SELECT * FROM sp", &st));
		if (round == 2) {
			g_assert_cmpint(csip_stmt_step(st), ==, CSIP_EBUSY);
			g_assert_nonnull(strstr(csip_error_last(), "try again"));
			csip_stmt_free(st);
			csip_store_rollback(s);
			csip_assert_ok(csip_store_begin(s));
			csip_assert_ok(csip_store_prepare(s, "SELECT * FROM sp",
							  &st));
		}
		g_assert_cmpint(csip_stmt_step(st), ==, CSIP_ROW);
		g_assert_cmpint(csip_stmt_column_count(st), ==, 1 + round);
		csip_stmt_free(st);
		if (round == 2)
			csip_assert_ok(csip_store_commit(s));
		if (round < 2)
			csip_assert_ok(csip_store_exec(other, alter[round]));
	}
	csip_store_close(s);
	csip_store_close(other);
	csip_test_pg_drop(name);
	g_free(name);
	g_free(url);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/store/basic", test_basic);
	g_test_add_func("/store/pragmas", test_pragmas);
	g_test_add_func("/store/nested-transactions", test_nested_transactions);
	g_test_add_func("/store/migrations", test_migrations);
	g_test_add_func("/store/checks", test_checks);
	g_test_add_func("/store/open-errors", test_open_errors);
	g_test_add_func("/store/fault-injection", test_fault_injection);
	g_test_add_func("/store/writer-turn-per-file",
			test_writer_turn_per_file);
	g_test_add_func("/store/pg-reconnect", test_pg_reconnect);
	g_test_add_func("/store/pg-stale-plan", test_pg_stale_plan);
	g_test_add_func("/store/stmt-cache", test_stmt_cache);
	g_test_add_func("/store/begin-async", test_begin_async);
	return g_test_run();
}
