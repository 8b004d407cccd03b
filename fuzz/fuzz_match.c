/*
 * fuzz_match.c - libFuzzer target for the log tokenizer and matcher.
 *
 * Any bytes in, as a log of the format the first byte picks, against a
 * fixed set of every indicator kind.  Every sighting must lie inside its
 * line, name an indicator of the set, and carry a timestamp that can go
 * into JSON unescaped; line numbers and offsets must never go backwards.
 * The one-pass scan of the buffer must find exactly what
 * csip_match_line() finds line by line.
 */
#include "lib/match.h"
#include "lib/match_log.h"
#include "util/error.h"

#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const indicators[] = {
	"evil.example", "www.bad.example.co.jp", "iovaj.online",
	"xn--bcher-kva.example", "user@phish.example",
	"http://evil.example/a/b?c=1", "https://x.example/",
	"192.0.2.1", "198.51.100.0/24", "10.0.0.0/8", "10.1.0.0/16",
	"2001:db8::1", "2001:db8:1::/48",
	"d41d8cd98f00b204e9800998ecf8427e",
	"da39a3ee5e6b4b0d3255bfef95601890afd80709",
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
};

static csip_match_set *set;

typedef struct check {
	size_t len;
	uint64_t line, offset;
	GArray *seen;      /* ind, line, offset of each sighting */
	guint at;          /* the next one csip_match_line() must find */
	uint64_t no;       /* the line csip_match_line() scans */
	size_t start;      /* its offset */
} check;

static void
seen_add(GArray *a, uint64_t ind, uint64_t line, uint64_t offset)
{
	g_array_append_val(a, ind);
	g_array_append_val(a, line);
	g_array_append_val(a, offset);
}

/* A sighting of csip_match_line(): the next of the buffer's. */
static void
on_line_hit(void *ud, const csip_match_hit *h)
{
	check *c = ud;
	const uint64_t *w;

	if (c->at + 3 > c->seen->len)
		abort();
	w = &g_array_index(c->seen, uint64_t, c->at);
	if (w[0] != h->ind || w[1] != c->no || w[2] != c->start + h->offset)
		abort();
	c->at += 3;
}

static void
on_sighting(void *ud, const csip_sighting *sg)
{
	check *c = ud;

	if (sg->line < c->line || sg->offset < c->offset ||
	    sg->offset >= c->len ||
	    csip_match_indicator(set, sg->ind, NULL) == NULL)
		abort();
	for (const char *t = sg->ts; *t; t++)
		if (!g_ascii_isalnum(*t) && !strchr(":.+ -", *t))
			abort();
	c->line = sg->line;
	c->offset = sg->offset;
	seen_add(c->seen, sg->ind, sg->line, sg->offset);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check c = { 0 };
	csip_log_format f;

	if (set == NULL) {
		set = csip_match_set_new();
		for (size_t i = 0; i < G_N_ELEMENTS(indicators); i++)
			if (csip_match_set_add(set, indicators[i],
					       strlen(indicators[i]),
					       CSIP_IND_UNKNOWN) < 0)
				abort();
		csip_match_set_build(set);
	}
	if (size == 0)
		return 0;
	f = (csip_log_format)(data[0] % CSIP_LOG__COUNT);
	data++;
	size--;
	if (f == CSIP_LOG_AUTO)
		f = csip_log_detect((const char *)data, size);
	c.len = size;
	c.seen = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	csip_match_buffer(set, f, (const char *)data, size, 1, 0, 1,
			  on_sighting, &c);
	/* Line by line: the same sightings (lines numbered from 1). */
	for (c.no = 1, c.start = 0; c.start < size; c.no++) {
		const char *p = (const char *)data + c.start;
		const char *nl = memchr(p, '\n', size - c.start);
		size_t n = nl ? (size_t)(nl - p) : size - c.start;

		if (!csip_log_skip(f, p, n))
			csip_match_line(set, p, n, on_line_hit, &c);
		c.start += n + 1;
	}
	if (c.at != c.seen->len)
		abort();
	g_array_free(c.seen, TRUE);
	csip_error_clear();
	return 0;
}
