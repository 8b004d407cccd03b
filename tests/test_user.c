/*
 * test_user.c - users, Argon2id passwords and API tokens: creation,
 * verification, expiry, revocation, disabling, and that no secret is ever
 * stored in the clear.
 */
#include "lib/org.h"
#include "lib/user.h"
#include "testutil.h"
#include "util/error.h"

#include <glib.h>
#include <string.h>

static csip_test_hub *
hub_with_org(void)
{
	csip_test_hub *t = csip_test_hub_new();
	csip_org_spec spec = { .name = "acme", .role = "participant" };
	int64_t id;

	csip_assert_ok(csip_org_add(t->hub, "test", &spec, &id));
	return t;
}

static void
test_users(void)
{
	csip_test_hub *t = hub_with_org();
	json_t *list = NULL;
	unsigned v0;
	int64_t id;

	csip_assert_ok(csip_user_add(t->hub, "test", "acme", "alice",
		"alice@acme.example", "analyst", "correct horse battery", &id));
	csip_assert_ok(csip_user_add(t->hub, "test", "acme", "bob", NULL, NULL,
		NULL, &id));
	g_assert_cmpint(csip_user_add(t->hub, "test", "acme", "alice", NULL,
		NULL, NULL, &id), ==, CSIP_EEXISTS);
	g_assert_cmpint(csip_user_add(t->hub, "test", "nope", "carol", NULL,
		NULL, NULL, &id), ==, CSIP_ENOTFOUND);
	g_assert_cmpint(csip_user_add(t->hub, "test", "acme", "carol", NULL,
		"god", NULL, &id), ==, CSIP_EINVAL);
	g_assert_cmpint(csip_user_add(t->hub, "test", "acme", "carol", NULL,
		NULL, "short", &id), ==, CSIP_EINVAL);
	g_assert_nonnull(strstr(csip_error_last(), "at least 10"));
	g_assert_cmpint(csip_user_add(t->hub, "test", "acme", "carol",
		"no-at-sign", NULL, NULL, &id), ==, CSIP_EINVAL);

	csip_assert_ok(csip_user_check_password(t->hub, "alice",
						"correct horse battery"));
	g_assert_cmpint(csip_user_check_password(t->hub, "alice", "wrong pw "
		"entirely"), ==, CSIP_EPERM);
	g_assert_cmpint(csip_user_check_password(t->hub, "bob", ""), ==,
			CSIP_EPERM);
	/* An unknown name (and one without a password, bob) costs the
	 * verification a wrong password costs: its refusal must not be
	 * faster, or it would tell which names exist. */
	v0 = csip_user_password_verifications();
	g_assert_cmpint(csip_user_check_password(t->hub, "nobody", "x"), ==,
			CSIP_EPERM);
	g_assert_cmpuint(csip_user_password_verifications(), ==, v0 + 1);
	g_assert_cmpint(csip_user_check_password(t->hub, "alice", "wrong pw "
		"entirely"), ==, CSIP_EPERM);
	g_assert_cmpuint(csip_user_password_verifications(), ==, v0 + 2);
	g_assert_cmpint(csip_user_check_password(t->hub, "bob", "y"), ==,
			CSIP_EPERM);
	g_assert_cmpuint(csip_user_password_verifications(), ==, v0 + 3);
	/* A remembered success is not verified again. */
	csip_assert_ok(csip_user_check_password(t->hub, "alice",
						"correct horse battery"));
	g_assert_cmpuint(csip_user_password_verifications(), ==, v0 + 3);
	/* A remembered success is tied to the stored hash: another password
	 * stored (here dave's) makes the old one wrong at once. */
	csip_assert_ok(csip_user_add(t->hub, "test", "acme", "dave", NULL,
		NULL, "a different secret", &id));
	csip_assert_ok(csip_user_check_password(t->hub, "alice",
						"correct horse battery"));
	csip_assert_ok(csip_store_run(csip_hub_store(t->hub), NULL,
		"UPDATE app_user SET password_hash = (SELECT password_hash "
		"FROM app_user WHERE name = 'dave') WHERE name = 'alice'",
		NULL));
	g_assert_cmpint(csip_user_check_password(t->hub, "alice",
		"correct horse battery"), ==, CSIP_EPERM);
	csip_assert_ok(csip_user_check_password(t->hub, "alice",
						"a different secret"));

	csip_assert_ok(csip_user_list(t->hub, "acme", &list));
	g_assert_cmpint(json_array_size(list), ==, 3);
	g_assert_true(json_is_true(json_object_get(json_array_get(list, 0),
		"password")));
	g_assert_null(json_object_get(json_array_get(list, 0),
				      "password_hash"));
	json_decref(list);

	csip_assert_ok(csip_user_disable(t->hub, "test", "alice"));
	g_assert_cmpint(csip_user_disable(t->hub, "test", "alice"), ==,
			CSIP_EINVAL);
	g_assert_cmpint(csip_user_disable(t->hub, "test", "zed"), ==,
			CSIP_ENOTFOUND);
	g_assert_cmpint(csip_user_check_password(t->hub, "alice",
		"correct horse battery"), ==, CSIP_EPERM);
	csip_test_hub_free(t);
}

static void
test_tokens(void)
{
	csip_test_hub *t = hub_with_org();
	csip_principal p;
	char *tok = NULL, *ro = NULL, *db = NULL, *path;
	gsize len;
	json_t *list = NULL;
	int64_t id, tid, roid;

	csip_assert_ok(csip_user_add(t->hub, "test", "acme", "alice", NULL,
		"analyst", NULL, &id));
	csip_assert_ok(csip_token_create(t->hub, "test", "alice", "laptop", -1,
		0, &tok, &tid));
	g_assert_true(g_str_has_prefix(tok, "csip_"));
	g_assert_cmpuint(strlen(tok), ==, 5 + 43);
	csip_assert_ok(csip_token_verify(t->hub, tok, &p));
	g_assert_cmpstr(p.user, ==, "alice");
	g_assert_cmpstr(p.org, ==, "acme");
	g_assert_cmpstr(p.user_role, ==, "analyst");
	g_assert_cmpint(p.read_only, ==, 0);
	g_assert_cmpint(p.token_id, ==, tid);

	csip_assert_ok(csip_token_create(t->hub, "test", "alice", NULL, 0, 1,
		&ro, &roid));
	csip_assert_ok(csip_token_verify(t->hub, ro, &p));
	g_assert_cmpint(p.read_only, ==, 1);

	/* Wrong, truncated and foreign tokens are refused. */
	g_assert_cmpint(csip_token_verify(t->hub, "csip_nope", &p), ==,
			CSIP_EPERM);
	g_assert_cmpint(csip_token_verify(t->hub, tok + 1, &p), ==, CSIP_EPERM);
	g_assert_cmpint(csip_token_verify(t->hub, NULL, &p), ==, CSIP_EPERM);

	/* The list shows a prefix, never the secret or its hash. */
	csip_assert_ok(csip_token_list(t->hub, "alice", &list));
	g_assert_cmpint(json_array_size(list), ==, 2);
	g_assert_null(json_object_get(json_array_get(list, 0), "token_hash"));
	g_assert_true(g_str_has_prefix(tok, json_string_value(json_object_get(
		json_array_get(list, 1), "prefix"))));
	json_decref(list);

	/* The database holds no token in the clear: on SQLite the whole
	 * file, on PostgreSQL every text column of the token table. */
	csip_test_hub_reopen(t);
	if (t->pg_name) {
		int64_t n = -1;
		char *needle = g_strndup(tok + 5, 20);

		csip_assert_ok(csip_store_query_int64(csip_hub_store(t->hub),
			&n, "SELECT COUNT(*) FROM api_token t WHERE "
			"strpos(CAST(t AS TEXT), ?) > 0", needle, NULL));
		g_assert_cmpint(n, ==, 0);
		g_free(needle);
	} else {
		path = g_build_filename(t->dir, "data", "csip.db", NULL);
		g_assert_true(g_file_get_contents(path, &db, &len, NULL));
		g_assert_null(memmem(db, len, tok + 5, 20));
		g_free(db);
		g_free(path);
	}

	/* Expiry. */
	csip_assert_ok(csip_store_run(csip_hub_store(t->hub), NULL,
		"UPDATE api_token SET expires_at = '2000-01-01T00:00:00Z' "
		"WHERE id = ?", "1", NULL));
	g_assert_cmpint(csip_token_verify(t->hub, tok, &p), ==, CSIP_EPERM);

	/* Revocation. */
	csip_assert_ok(csip_token_revoke(t->hub, "test", roid));
	g_assert_cmpint(csip_token_verify(t->hub, ro, &p), ==, CSIP_EPERM);
	g_assert_cmpint(csip_token_revoke(t->hub, "test", roid), ==,
			CSIP_EINVAL);
	g_assert_cmpint(csip_token_revoke(t->hub, "test", 999), ==,
			CSIP_ENOTFOUND);

	/* Validity limits and unknown users. */
	g_clear_pointer(&ro, g_free);
	g_assert_cmpint(csip_token_create(t->hub, "test", "alice", NULL, 5000,
		0, &ro, &roid), ==, CSIP_EINVAL);
	g_assert_cmpint(csip_token_create(t->hub, "test", "zed", NULL, 1, 0,
		&ro, &roid), ==, CSIP_ENOTFOUND);
	g_free(tok);
	g_free(ro);
	csip_test_hub_free(t);
}

static void
test_disabled_user_tokens(void)
{
	csip_test_hub *t = hub_with_org();
	csip_principal p;
	char *tok = NULL;
	int64_t id;

	csip_assert_ok(csip_user_add(t->hub, "test", "acme", "bob", NULL, NULL,
		NULL, &id));
	csip_assert_ok(csip_token_create(t->hub, "test", "bob", NULL, 1, 0,
		&tok, &id));
	csip_assert_ok(csip_token_verify(t->hub, tok, &p));
	csip_assert_ok(csip_user_disable(t->hub, "test", "bob"));
	g_assert_cmpint(csip_token_verify(t->hub, tok, &p), ==, CSIP_EPERM);
	g_free(tok);
	tok = NULL;
	g_assert_cmpint(csip_token_create(t->hub, "test", "bob", NULL, 1, 0,
		&tok, &id), ==, CSIP_EPERM);
	g_assert_null(tok);
	csip_test_hub_free(t);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/user/users", test_users);
	g_test_add_func("/user/tokens", test_tokens);
	g_test_add_func("/user/disabled-user-tokens", test_disabled_user_tokens);
	return g_test_run();
}
