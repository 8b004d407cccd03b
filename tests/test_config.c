/*
 * test_config.c - defaults, files, the environment, and errors.
 */
#include "lib/config.h"
#include "testutil.h"
#include "util/error.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

static char *
write_ini(const char *dir, const char *text)
{
	char *p = g_build_filename(dir, "t.ini", NULL);

	g_assert_true(g_file_set_contents(p, text, -1, NULL));
	return p;
}

static void
test_defaults(void)
{
	csip_config *c = NULL;

	g_unsetenv("CSIP_CONFIG");
	csip_assert_ok(csip_config_load(NULL, &c));
	g_assert_cmpstr(csip_config_source(c), ==, "defaults");
	g_assert_cmpstr(csip_config_data_dir(c), ==, "csip-data");
	g_assert_cmpstr(csip_config_db_url(c), ==, "sqlite:csip-data/csip.db");
	g_assert_cmpstr(csip_config_get(c, "security", "secret_file"), ==,
			"csip-data/secret.key");
	g_assert_cmpstr(csip_config_get(c, "server", "listen"), ==,
			"127.0.0.1:8470");
	g_assert_null(csip_config_get(c, "nope", "nope"));
	csip_config_free(c);
	csip_config_free(NULL);
}

static void
test_file_and_env(void)
{
	char *dir = g_dir_make_tmp("csip-test-XXXXXX", NULL);
	char *p = write_ini(dir, "# comment\n[data]\ndir = /srv/csip\n"
		"[security]\ntoken_days = 7\n");
	csip_config *c = NULL;

	csip_assert_ok(csip_config_load(p, &c));
	g_assert_cmpstr(csip_config_data_dir(c), ==, "/srv/csip");
	/* Defaults relative to the data folder follow it. */
	g_assert_cmpstr(csip_config_db_url(c), ==, "sqlite:/srv/csip/csip.db");
	g_assert_cmpstr(csip_config_get(c, "security", "token_days"), ==, "7");
	csip_config_free(c);

	g_setenv("CSIP_CONFIG", p, TRUE);
	csip_assert_ok(csip_config_load(NULL, &c));
	g_assert_cmpstr(csip_config_source(c), ==, p);
	g_assert_cmpstr(csip_config_data_dir(c), ==, "/srv/csip");
	csip_config_free(c);
	g_unsetenv("CSIP_CONFIG");
	csip_test_rmtree(dir);
	g_free(dir);
	g_free(p);
}

static void
test_errors(void)
{
	char *dir = g_dir_make_tmp("csip-test-XXXXXX", NULL);
	char *p;
	csip_config *c = NULL;

	g_assert_cmpint(csip_config_load("/nonexistent/csip.ini", &c), ==,
			CSIP_ECONFIG);
	g_assert_nonnull(strstr(csip_error_last(), "/nonexistent/csip.ini"));
	g_assert_null(c);

	p = write_ini(dir, "[data]\ndri = typo\n");
	g_assert_cmpint(csip_config_load(p, &c), ==, CSIP_ECONFIG);
	g_assert_nonnull(strstr(csip_error_last(), "[data] dri"));
	g_assert_nonnull(strstr(csip_error_last(), p));
	g_free(p);

	p = write_ini(dir, "this is not an ini file\n");
	g_assert_cmpint(csip_config_load(p, &c), ==, CSIP_ECONFIG);
	g_assert_nonnull(strstr(csip_error_last(), p));
	g_free(p);
	csip_test_rmtree(dir);
	g_free(dir);
}

static void
test_table(void)
{
	int n = 0;

	for (const csip_config_option *o = csip_config_options(); o->group;
	     o++, n++) {
		g_assert_nonnull(o->key);
		g_assert_nonnull(o->def);
		g_assert_cmpuint(strlen(o->help), >, 10);
	}
	g_assert_cmpint(n, >=, 5);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/config/defaults", test_defaults);
	g_test_add_func("/config/file-and-env", test_file_and_env);
	g_test_add_func("/config/errors", test_errors);
	g_test_add_func("/config/table", test_table);
	return g_test_run();
}
