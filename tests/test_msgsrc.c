/*
 * test_msgsrc.c - message sources: single files, mboxrd splitting and
 * unquoting, Maildir order, and unreadable paths.
 */
#include "lib/msgsrc.h"
#include "testutil.h"
#include "util/error.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

typedef struct seen {
	GPtrArray *labels;
	GPtrArray *bodies;
	int errors;
} seen;

static int
collect(const char *label, const char *data, size_t len, int err, void *ud)
{
	seen *s = ud;

	g_ptr_array_add(s->labels, g_strdup(label));
	if (err < 0)
		s->errors++;
	else
		g_ptr_array_add(s->bodies, g_strndup(data, len));
	return CSIP_OK;
}

static void
seen_init(seen *s)
{
	s->labels = g_ptr_array_new_with_free_func(g_free);
	s->bodies = g_ptr_array_new_with_free_func(g_free);
	s->errors = 0;
}

static void
seen_clear(seen *s)
{
	g_ptr_array_free(s->labels, TRUE);
	g_ptr_array_free(s->bodies, TRUE);
}

static void
test_mbox(void)
{
	static const char mbox[] =
		"From a@example Mon Jan  1 00:00:00 2024\n"
		"Subject: one\n\nbody one\n>From the start\n>>From two\n\n"
		"From b@example Mon Jan  1 00:00:01 2024\n"
		"Subject: two\n\ntext\nFrom inside a paragraph stays\n\n"
		"From c@example Mon Jan  1 00:00:02 2024\n"
		"Subject: three\n\nlast";
	seen s;

	seen_init(&s);
	g_assert_true(csip_msgsrc_is_mbox(mbox, strlen(mbox)));
	csip_assert_ok(csip_msgsrc_split_mbox("box", mbox, strlen(mbox),
					      collect, &s));
	g_assert_cmpuint(s.bodies->len, ==, 3);
	g_assert_cmpstr(s.labels->pdata[2], ==, "box#3");
	g_assert_cmpstr(s.bodies->pdata[0], ==, "Subject: one\n\nbody one\n"
			"From the start\n>From two\n");
	/* Not after an empty line: not a separator. */
	g_assert_nonnull(strstr(s.bodies->pdata[1], "From inside"));
	g_assert_cmpstr(s.bodies->pdata[2], ==, "Subject: three\n\nlast");
	seen_clear(&s);
}

static void
test_paths(void)
{
	char *dir = g_dir_make_tmp("csip-test-XXXXXX", NULL);
	char *eml = g_build_filename(dir, "one.eml", NULL);
	char *md = g_build_filename(dir, "Maildir", NULL);
	char *cur = g_build_filename(md, "cur", NULL);
	char *m1 = g_build_filename(cur, "1700000001.a", NULL);
	char *m2 = g_build_filename(cur, "1700000000.b", NULL);
	seen s;

	g_assert_true(g_file_set_contents(eml, "Subject: x\n\nhi\n", -1, NULL));
	g_mkdir_with_parents(cur, 0700);
	g_assert_true(g_file_set_contents(m1, "Subject: later\n\n", -1, NULL));
	g_assert_true(g_file_set_contents(m2, "Subject: first\n\n", -1, NULL));

	seen_init(&s);
	csip_assert_ok(csip_msgsrc_walk(eml, collect, &s));
	csip_assert_ok(csip_msgsrc_walk(md, collect, &s));
	g_assert_cmpuint(s.bodies->len, ==, 3);
	g_assert_cmpstr(s.bodies->pdata[1], ==, "Subject: first\n\n");
	g_assert_cmpstr(s.bodies->pdata[2], ==, "Subject: later\n\n");
	g_assert_cmpint(csip_msgsrc_walk("/nonexistent/x.eml", collect, &s),
			==, CSIP_ENOTFOUND);
	g_assert_nonnull(strstr(csip_error_last(), "/nonexistent/x.eml"));
	g_assert_cmpint(csip_msgsrc_walk(dir, collect, &s), ==, CSIP_EINVAL);
	g_assert_nonnull(strstr(csip_error_last(), "not a Maildir"));
	seen_clear(&s);
	csip_test_rmtree(dir);
	g_free(dir);
	g_free(eml);
	g_free(md);
	g_free(cur);
	g_free(m1);
	g_free(m2);
}

static int
stop_at_two(const char *label, const char *data, size_t len, int err,
	    void *ud)
{
	int *n = ud;

	return ++*n == 2 ? CSIP_EBUSY : CSIP_OK;
}

static void
test_stop(void)
{
	static const char mbox[] = "From x\nA: 1\n\nFrom y\nA: 2\n\nFrom z\n"
		"A: 3\n";
	int n = 0;

	g_assert_cmpint(csip_msgsrc_split_mbox("m", mbox, strlen(mbox),
					       stop_at_two, &n), ==, CSIP_EBUSY);
	g_assert_cmpint(n, ==, 2);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/msgsrc/mbox", test_mbox);
	g_test_add_func("/msgsrc/paths", test_paths);
	g_test_add_func("/msgsrc/stop", test_stop);
	return g_test_run();
}
