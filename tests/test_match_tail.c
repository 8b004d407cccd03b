/*
 * test_match_tail.c - following a log: lines as they arrive, a line
 * written in two parts, rotation (rename and a new file; also while the
 * follower was stopped, resumed from its position), truncation, a
 * log that appears later, gzip refused, and standard input to its end.
 */
#include "lib/match.h"
#include "lib/match_tail.h"
#include "util/error.h"
#include "testutil.h"

#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct fixture {
	char *dir;
	char *path;
	csip_match_set *set;
	csip_match_tail *t;
	GString *out;       /* "value:line:offset " per sighting */
} fixture;

static void
on_sighting(void *ud, const csip_sighting *sg)
{
	fixture *f = ud;

	g_string_append_printf(f->out, "%s:%" G_GUINT64_FORMAT ":%"
			       G_GUINT64_FORMAT " ", csip_match_indicator(
			       f->set, sg->ind, NULL), sg->line, sg->offset);
}

static void
setup(fixture *f, const char *name)
{
	static const char *const values[] = { "evil.example", "192.0.2.1",
		NULL };

	f->dir = g_dir_make_tmp("csip-tail-XXXXXX", NULL);
	g_assert_nonnull(f->dir);
	f->path = g_build_filename(f->dir, name, NULL);
	f->set = csip_match_set_new();
	for (int i = 0; values[i]; i++)
		csip_assert_ok(csip_match_set_add(f->set, values[i],
			strlen(values[i]), CSIP_IND_UNKNOWN));
	csip_match_set_build(f->set);
	f->t = csip_match_tail_new(f->path, CSIP_LOG_AUTO, 2);
	f->out = g_string_new(NULL);
}

static void
teardown(fixture *f)
{
	csip_match_tail_free(f->t);
	csip_match_set_free(f->set);
	csip_test_rmtree(f->dir);
	g_free(f->dir);
	g_free(f->path);
	g_string_free(f->out, TRUE);
}

static void
append(const char *path, const char *text)
{
	FILE *fp = fopen(path, "ab");

	g_assert_nonnull(fp);
	g_assert_cmpint(fputs(text, fp), >=, 0);
	g_assert_cmpint(fclose(fp), ==, 0);
}

/* Poll until nothing more is read; the events seen, and the sightings
 * since the last call in f->out (cleared first). */
static unsigned
poll_all(fixture *f)
{
	unsigned all = 0, ev;
	size_t got;

	g_string_truncate(f->out, 0);
	do {
		csip_assert_ok(csip_match_tail_poll(f->t, f->set, on_sighting,
						    f, &ev, &got));
		all |= ev;
	} while (got > 0);
	return all;
}

static void
test_grow(void)
{
	fixture f;
	const csip_match_tail_stats *st;

	setup(&f, "proxy.log");
	/* Not there yet: waited for, said once. */
	g_assert_cmpuint(poll_all(&f), ==, CSIP_TAIL_MISSING);
	g_assert_cmpuint(poll_all(&f), ==, 0);
	append(f.path, "GET http://a.evil.example/ 200\nGET / 200\n");
	g_assert_cmpuint(poll_all(&f), ==, CSIP_TAIL_OPENED);
	g_assert_cmpstr(f.out->str, ==, "evil.example:1:11 ");
	g_assert_cmpuint(poll_all(&f), ==, 0);
	g_assert_cmpstr(f.out->str, ==, "");
	/* A line in two writes is matched once it is whole. */
	append(f.path, "conn 192.0.");
	poll_all(&f);
	g_assert_cmpstr(f.out->str, ==, "");
	append(f.path, "2.1 ok\nq evil.example\n");
	poll_all(&f);
	g_assert_cmpstr(f.out->str, ==, "192.0.2.1:3:46 evil.example:4:61 ");
	st = csip_match_tail_stats_of(f.t);
	g_assert_cmpuint(st->lines, ==, 4);
	g_assert_cmpuint(st->sightings, ==, 3);
	g_assert_cmpuint(st->bytes, ==, 74);
	g_assert_cmpint(st->format, ==, CSIP_LOG_TEXT);
	g_assert_false(csip_match_tail_ended(f.t));
	teardown(&f);
}

static void
test_rotate(void)
{
	fixture f;
	char *old;
	FILE *writer;

	setup(&f, "dns.log");
	old = g_strconcat(f.path, ".1", NULL);
	append(f.path, "q evil.example\n");
	poll_all(&f);
	g_assert_cmpstr(f.out->str, ==, "evil.example:1:2 ");
	/* The writer still holds the old file after the rename: what it
	 * writes there, even a last line without a newline, is read
	 * before the new file. */
	writer = fopen(f.path, "ab");
	g_assert_cmpint(g_rename(f.path, old), ==, 0);
	poll_all(&f);
	g_assert_cmpstr(f.out->str, ==, "");
	fputs("q x.evil.example\nq 192.0.2.1", writer);
	fclose(writer);
	append(f.path, "new 192.0.2.1\n");
	g_assert_cmpuint(poll_all(&f), ==, CSIP_TAIL_ROTATED |
			 CSIP_TAIL_OPENED);
	g_assert_cmpstr(f.out->str, ==, "evil.example:2:17 192.0.2.1:3:34 "
			"192.0.2.1:1:4 ");
	/* Removed without a new file: the old one is kept; a new file
	 * later is read from its start. */
	g_assert_cmpint(g_unlink(f.path), ==, 0);
	g_assert_cmpuint(poll_all(&f), ==, 0);
	append(f.path, "again evil.example\n");
	g_assert_cmpuint(poll_all(&f), ==, CSIP_TAIL_ROTATED |
			 CSIP_TAIL_OPENED);
	g_assert_cmpstr(f.out->str, ==, "evil.example:1:6 ");
	g_free(old);
	teardown(&f);
}

/* A follower stopped, the log rotated, the follower started again on
 * its saved position: PATH's new follower resumed at *POS. */
static void
restart_at(fixture *f, const csip_tail_pos *pos)
{
	csip_match_tail_free(f->t);
	f->t = csip_match_tail_new(f->path, CSIP_LOG_AUTO, 2);
	csip_match_tail_resume(f->t, pos);
}

static void
test_rotated_while_stopped(void)
{
	fixture f;
	csip_tail_pos pos;
	char *old, *gz;

	setup(&f, "mail.log");
	old = g_strconcat(f.path, "-20261129", NULL);
	gz = g_strconcat(old, ".gz", NULL);
	append(f.path, "q evil.example\n");
	poll_all(&f);
	g_assert_true(csip_match_tail_position(f.t, &pos));
	/* Stopped; written on, renamed, and a new log made meanwhile: the
	 * rest of the renamed file first, from the saved line on, then the
	 * new one from its start. */
	append(f.path, "q 192.0.2.1\nq x.evil.example");
	g_assert_cmpint(g_rename(f.path, old), ==, 0);
	append(f.path, "new evil.example\n");
	restart_at(&f, &pos);
	g_assert_cmpuint(poll_all(&f), ==, CSIP_TAIL_OPENED |
			 CSIP_TAIL_PREDECESSOR | CSIP_TAIL_ROTATED);
	g_assert_cmpstr(f.out->str, ==, "192.0.2.1:2:17 evil.example:3:29 "
			"evil.example:1:4 ");
	g_assert_null(csip_match_tail_predecessor(f.t));

	/* Stopped inside the renamed file, no new log yet: on from there,
	 * the name waited for, then read. */
	g_assert_true(csip_match_tail_position(f.t, &pos));
	append(f.path, "q 192.0.2.1\n");
	g_assert_cmpint(g_rename(f.path, old), ==, 0);
	restart_at(&f, &pos);
	g_assert_cmpuint(poll_all(&f), ==, CSIP_TAIL_OPENED |
			 CSIP_TAIL_PREDECESSOR);
	g_assert_cmpstr(f.out->str, ==, "192.0.2.1:2:19 ");
	g_assert_nonnull(strstr(csip_match_tail_predecessor(f.t),
				"-20261129"));
	g_assert_true(csip_match_tail_position(f.t, &pos));
	restart_at(&f, &pos);          /* stopped again, still inside */
	append(old, "q evil.example\n");
	g_assert_cmpuint(poll_all(&f), ==, CSIP_TAIL_OPENED |
			 CSIP_TAIL_PREDECESSOR);
	g_assert_cmpstr(f.out->str, ==, "evil.example:3:31 ");
	append(f.path, "evil.example\n");
	g_assert_cmpuint(poll_all(&f), ==, CSIP_TAIL_ROTATED |
			 CSIP_TAIL_OPENED);
	g_assert_cmpstr(f.out->str, ==, "evil.example:1:0 ");

	/* The renamed file compressed (another file) or rewritten (other
	 * bytes at the position): not taken for the old one; the log is
	 * read from its start. */
	g_assert_true(csip_match_tail_position(f.t, &pos));
	append(f.path, "q 192.0.2.1\n");
	append(gz, "\x1f\x8b\x08 as logrotate's compress leaves it");
	g_assert_cmpint(g_unlink(f.path), ==, 0);
	append(f.path, "fresh evil.example\n");
	restart_at(&f, &pos);
	g_assert_cmpuint(poll_all(&f), ==, CSIP_TAIL_OPENED);
	g_assert_cmpstr(f.out->str, ==, "evil.example:1:6 ");
	g_assert_true(csip_match_tail_position(f.t, &pos));
	g_assert_cmpint(g_rename(f.path, old), ==, 0);
	g_assert_cmpint(truncate(old, 0), ==, 0);
	append(old, "other evil.example\n");   /* as long, other bytes */
	append(f.path, "q 192.0.2.1\n");
	restart_at(&f, &pos);
	g_assert_cmpuint(poll_all(&f), ==, CSIP_TAIL_OPENED);
	g_assert_cmpstr(f.out->str, ==, "192.0.2.1:1:2 ");
	g_free(old);
	g_free(gz);
	teardown(&f);
}

static void
test_truncate(void)
{
	fixture f;

	setup(&f, "app.log");
	append(f.path, "first line, nothing\nsecond evil.example\n");
	poll_all(&f);
	g_assert_cmpstr(f.out->str, ==, "evil.example:2:27 ");
	/* copytruncate: emptied in place, then written again. */
	g_assert_cmpint(truncate(f.path, 0), ==, 0);
	append(f.path, "evil.example\n");
	g_assert_cmpuint(poll_all(&f), ==, CSIP_TAIL_TRUNCATED);
	g_assert_cmpstr(f.out->str, ==, "evil.example:1:0 ");
	teardown(&f);
}

static void
test_gzip(void)
{
	fixture f;
	unsigned ev;
	size_t got;

	setup(&f, "old.log.gz");
	append(f.path, "\x1f\x8b\x08");
	g_assert_cmpint(csip_match_tail_poll(f.t, f.set, on_sighting, &f, &ev,
					     &got), ==, CSIP_EINVAL);
	g_assert_nonnull(strstr(csip_error_last(), "without --follow"));
	teardown(&f);
}

static void
test_stdin(void)
{
	fixture f;
	int p[2], saved = dup(0);
	csip_match_tail *t = csip_match_tail_new("-", CSIP_LOG_TEXT, 1);
	unsigned ev;
	size_t got;

	setup(&f, "unused");
	csip_match_tail_free(f.t);
	f.t = t;
	g_assert_cmpint(pipe(p), ==, 0);
	g_assert_cmpint(dup2(p[0], 0), ==, 0);
	close(p[0]);
	/* Nothing written: the poll does not wait. */
	csip_assert_ok(csip_match_tail_poll(t, f.set, on_sighting, &f, &ev,
					    &got));
	g_assert_cmpuint(got, ==, 0);
	g_assert_cmpint(write(p[1], "a evil.example", 14), ==, 14);
	poll_all(&f);
	g_assert_cmpstr(f.out->str, ==, "");
	close(p[1]);
	/* The end: the last line without its newline counts. */
	g_assert_cmpuint(poll_all(&f), ==, CSIP_TAIL_ENDED);
	g_assert_cmpstr(f.out->str, ==, "evil.example:1:2 ");
	g_assert_true(csip_match_tail_ended(t));
	g_assert_cmpuint(csip_match_tail_stats_of(t)->lines, ==, 1);
	dup2(saved, 0);
	close(saved);
	teardown(&f);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/match-tail/grow", test_grow);
	g_test_add_func("/match-tail/rotate", test_rotate);
	g_test_add_func("/match-tail/rotated-while-stopped",
			test_rotated_while_stopped);
	g_test_add_func("/match-tail/truncate", test_truncate);
	g_test_add_func("/match-tail/gzip", test_gzip);
	g_test_add_func("/match-tail/stdin", test_stdin);
	return g_test_run();
}
