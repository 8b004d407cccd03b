/*
 * testutil.c - throwaway hubs for the unit tests (see testutil.h).
 */
#include "testutil.h"
#include "util/error.h"

#include <glib.h>
#include <glib/gstdio.h>

void
csip_test_rmtree(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;

	if (d == NULL)
		return;
	while ((name = g_dir_read_name(d))) {
		char *p = g_build_filename(dir, name, NULL);

		if (g_file_test(p, G_FILE_TEST_IS_DIR) &&
		    !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
			csip_test_rmtree(p);
		else
			g_unlink(p);
		g_free(p);
	}
	g_dir_close(d);
	g_rmdir(dir);
}

csip_test_hub *
csip_test_hub_new(void)
{
	csip_test_hub *t = g_new0(csip_test_hub, 1);
	GError *err = NULL;
	char *ini;

	t->dir = g_dir_make_tmp("csip-test-XXXXXX", &err);
	g_assert_no_error(err);
	t->conf_path = g_build_filename(t->dir, "csip.conf", NULL);
	ini = g_strdup_printf("[data]\ndir = %s/data\n", t->dir);
	g_file_set_contents(t->conf_path, ini, -1, &err);
	g_assert_no_error(err);
	g_free(ini);
	csip_assert_ok(csip_config_load(t->conf_path, &t->cfg));
	csip_assert_ok(csip_hub_open(t->cfg, CSIP_HUB_CREATE, &t->hub));
	return t;
}

void
csip_test_hub_reopen(csip_test_hub *t)
{
	csip_hub_free(t->hub);
	t->hub = NULL;
	csip_assert_ok(csip_hub_open(t->cfg, 0, &t->hub));
}

void
csip_test_hub_free(csip_test_hub *t)
{
	if (t == NULL)
		return;
	csip_hub_free(t->hub);
	csip_config_free(t->cfg);
	csip_test_rmtree(t->dir);
	g_free(t->dir);
	g_free(t->conf_path);
	g_free(t);
}
