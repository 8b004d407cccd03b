/*
 * fuzz_match_tail.c - libFuzzer target for following a log: the lines of
 * a log written in pieces, and read as they come.
 *
 * The first byte picks the size of the pieces (1 to 64 bytes); the rest
 * is a log, written to a file piece by piece with a poll after each.  The
 * sightings must be exactly those of the log's complete lines matched at
 * once (csip_match_buffer, in the format detected from the first line):
 * no line lost, split, or matched twice, wherever the pieces cut it.  A
 * last line without its newline is waited for, so it is not matched.
 */
#include "lib/match.h"
#include "lib/match_log.h"
#include "lib/match_tail.h"
#include "util/error.h"

#include <fcntl.h>
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const indicators[] = {
	"evil.example", "www.bad.example.co.jp", "user@phish.example",
	"http://evil.example/a/b?c=1", "192.0.2.1", "198.51.100.0/24",
	"2001:db8::1", "d41d8cd98f00b204e9800998ecf8427e",
};

static csip_match_set *set;
static char *path;

static void
collect(void *ud, const csip_sighting *sg)
{
	g_string_append_printf(ud, "%u:%" G_GUINT64_FORMAT ":%"
			       G_GUINT64_FORMAT ":%s\n", sg->ind, sg->line,
			       sg->offset, sg->ts);
}

static void
remove_file(void)
{
	unlink(path);
	g_free(path);
}

static void
setup(void)
{
	int fd;

	set = csip_match_set_new();
	for (size_t i = 0; i < G_N_ELEMENTS(indicators); i++)
		if (csip_match_set_add(set, indicators[i],
				       strlen(indicators[i]),
				       CSIP_IND_UNKNOWN) < 0)
			abort();
	csip_match_set_build(set);
	fd = g_file_open_tmp("csip-fuzz-tail-XXXXXX", &path, NULL);
	if (fd < 0)
		abort();
	close(fd);
	atexit(remove_file);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GString *got = g_string_new(NULL), *want = g_string_new(NULL);
	csip_match_tail *t = NULL;
	const char *log, *nl;
	size_t piece, len;
	int fd;

	if (set == NULL)
		setup();
	if (size == 0)
		goto out;
	piece = (size_t)(data[0] % 64) + 1;
	log = (const char *)data + 1;
	len = size - 1;
	if ((fd = open(path, O_WRONLY | O_TRUNC)) < 0)
		abort();
	t = csip_match_tail_new(path, CSIP_LOG_AUTO, 1);
	for (size_t at = 0; at <= len; at += piece) {
		size_t n = MIN(piece, len - at), got_n;
		unsigned ev;

		if (n && write(fd, log + at, n) != (ssize_t)n)
			abort();
		do {
			if (csip_match_tail_poll(t, set, collect, got, &ev,
						 &got_n) < 0)
				abort();
			if (ev & (CSIP_TAIL_ROTATED | CSIP_TAIL_TRUNCATED))
				abort();
		} while (got_n > 0);
		if (n == 0)
			break;
	}
	close(fd);
	nl = len ? memrchr(log, '\n', len) : NULL;
	if (nl) {
		const char *first = memchr(log, '\n', len);

		csip_match_buffer(set, csip_log_detect(log, (size_t)(first -
			log)), log, (size_t)(nl - log) + 1, 1, 0, 1, collect,
			want);
	}
	if (strcmp(got->str, want->str) != 0)
		abort();
out:
	csip_match_tail_free(t);
	g_string_free(got, TRUE);
	g_string_free(want, TRUE);
	csip_error_clear();
	return 0;
}
