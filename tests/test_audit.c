/*
 * test_audit.c - the audit hash chain: intact chains verify; an edited,
 * deleted, inserted or truncated row is found and named; the table refuses
 * ordinary updates and deletes.
 */
#include "lib/audit.h"
#include "testutil.h"
#include "util/error.h"

#include <glib.h>
#include <sqlite3.h>
#include <string.h>

static char *
db_path(csip_test_hub *t)
{
	return g_build_filename(t->dir, "data", "csip.db", NULL);
}

/* Tamper as an attacker with the database file would: directly, with the
 * append-only triggers dropped. */
static void
tamper(csip_test_hub *t, const char *sql)
{
	char *p = db_path(t);
	sqlite3 *db = NULL;
	char *err = NULL;

	if (t->pg_name) {
		char *all = g_strdup_printf("DROP TRIGGER IF EXISTS "
			"audit_log_no_change ON audit_log; %s", sql);

		csip_assert_ok(csip_store_exec(csip_hub_store(t->hub), all));
		g_free(all);
		g_free(p);
		return;
	}
	g_assert_cmpint(sqlite3_open(p, &db), ==, SQLITE_OK);
	if (sqlite3_exec(db, "DROP TRIGGER IF EXISTS audit_log_no_update;"
		"DROP TRIGGER IF EXISTS audit_log_no_delete;", NULL, NULL, &err)
	    != SQLITE_OK || sqlite3_exec(db, sql, NULL, NULL, &err) !=
	    SQLITE_OK)
		g_error("tamper: %s", err);
	sqlite3_close(db);
	g_free(p);
}

static csip_test_hub *
hub_with_rows(int n)
{
	csip_test_hub *t = csip_test_hub_new();

	for (int i = 0; i < n; i++) {
		char target[32];

		g_snprintf(target, sizeof target, "thing:%d", i + 1);
		csip_assert_ok(csip_audit_append(t->hub, "cli:test", "test.do",
			target, json_pack("{si ss}", "n", i + 1, "note",
					  "日本語")));
	}
	return t;
}

static void
expect_tampered(csip_test_hub *t, const char *needle)
{
	int64_t rows = -1;

	csip_test_hub_reopen(t);
	g_assert_cmpint(csip_audit_verify(t->hub, &rows), ==, CSIP_ETAMPERED);
	if (strstr(csip_error_last(), needle) == NULL)
		g_error("expected \"%s\" in \"%s\"", needle, csip_error_last());
}

static void
test_intact(void)
{
	csip_test_hub *t = hub_with_rows(0);
	int64_t rows = -1;
	json_t *list = NULL;

	csip_assert_ok(csip_audit_verify(t->hub, &rows));
	g_assert_cmpint(rows, ==, 0);
	csip_test_hub_free(t);

	t = hub_with_rows(20);
	csip_assert_ok(csip_audit_verify(t->hub, &rows));
	g_assert_cmpint(rows, ==, 20);
	csip_assert_ok(csip_audit_list(t->hub, 5, &list));
	g_assert_cmpint(json_array_size(list), ==, 5);
	g_assert_cmpint(json_integer_value(json_object_get(
		json_array_get(list, 0), "id")), ==, 16);
	g_assert_cmpint(json_integer_value(json_object_get(json_object_get(
		json_array_get(list, 4), "detail"), "n")), ==, 20);
	json_decref(list);
	csip_test_hub_free(t);
}

static void
test_append_only(void)
{
	csip_test_hub *t = hub_with_rows(3);
	csip_store *s = csip_hub_store(t->hub);

	g_assert_cmpint(csip_store_run(s, NULL, "UPDATE audit_log SET actor = "
		"'x' WHERE id = 2", NULL), <, 0);
	g_assert_nonnull(strstr(csip_error_last(), "append-only"));
	g_assert_cmpint(csip_store_run(s, NULL, "DELETE FROM audit_log",
				       NULL), <, 0);
	csip_test_hub_free(t);
}

static void
test_edited_row(void)
{
	csip_test_hub *t = hub_with_rows(10);

	tamper(t, "UPDATE audit_log SET detail = '{\"n\":99}' WHERE id = 6");
	expect_tampered(t, "row 6 was changed");
	csip_test_hub_free(t);

	t = hub_with_rows(10);
	tamper(t, "UPDATE audit_log SET actor = 'cli:someone-else' "
		  "WHERE id = 1");
	expect_tampered(t, "row 1 was changed");
	csip_test_hub_free(t);

	/* Editing a row and recomputing with a guessed (wrong) key or an
	 * unkeyed hash still fails: rewrite row 3's hash to anything. */
	t = hub_with_rows(5);
	tamper(t, "UPDATE audit_log SET at = '2020-01-01T00:00:00Z', hash = "
		  "(SELECT hash FROM audit_log WHERE id = 2) WHERE id = 3");
	expect_tampered(t, "row 3");
	csip_test_hub_free(t);
}

static void
test_deleted_rows(void)
{
	csip_test_hub *t = hub_with_rows(10);

	tamper(t, "DELETE FROM audit_log WHERE id = 4");
	expect_tampered(t, "row 4 is missing");
	csip_test_hub_free(t);

	/* The last row, leaving the head alone. */
	t = hub_with_rows(10);
	tamper(t, "DELETE FROM audit_log WHERE id = 10");
	expect_tampered(t, "removed from the end");
	csip_test_hub_free(t);

	/* Delete a middle row and renumber the rest so the ids stay
	 * contiguous: the links between rows still break. */
	t = hub_with_rows(10);
	tamper(t, "DELETE FROM audit_log WHERE id = 5;"
		  "UPDATE audit_log SET id = id - 1 WHERE id > 5");
	expect_tampered(t, "row 5");
	csip_test_hub_free(t);

	/* All rows gone but the head remains. */
	t = hub_with_rows(3);
	tamper(t, "DELETE FROM audit_log");
	expect_tampered(t, "removed from the end");
	csip_test_hub_free(t);
}

static void
test_inserted_row(void)
{
	csip_test_hub *t = hub_with_rows(4);

	tamper(t, "INSERT INTO audit_log SELECT 5, at, actor, 'forged', "
		  "target, detail, hash, hash FROM audit_log WHERE id = 4;"
		  "UPDATE audit_head SET last_id = 5, hash = (SELECT hash FROM "
		  "audit_log WHERE id = 5)");
	expect_tampered(t, "row 5 was changed");
	csip_test_hub_free(t);
}

static void
test_wrong_key(void)
{
	csip_test_hub *t = hub_with_rows(3);
	char *key = g_build_filename(t->dir, "data", "secret.key", NULL);
	char junk[CSIP_KEY_BYTES];

	memset(junk, 'k', sizeof junk);
	g_assert_true(g_file_set_contents(key, junk, sizeof junk, NULL));
	expect_tampered(t, "row 1 was changed");
	g_free(key);
	csip_test_hub_free(t);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/audit/intact", test_intact);
	g_test_add_func("/audit/append-only", test_append_only);
	g_test_add_func("/audit/edited-row", test_edited_row);
	g_test_add_func("/audit/deleted-rows", test_deleted_rows);
	g_test_add_func("/audit/inserted-row", test_inserted_row);
	g_test_add_func("/audit/wrong-key", test_wrong_key);
	return g_test_run();
}
