/*
 * fuzz_match_src.c - libFuzzer target for the matcher's indicator sources:
 * lists and CSV, STIX 2.1 bundles and their patterns, MISP events.
 *
 * Any bytes in, as the format the first byte picks (auto, list, stix,
 * misp).  Loading must not crash, must return a csip code, and every value
 * it reports as added must be in the set, which must then build and scan.
 * The rows of a CSV list (the hub's export: item and publication time)
 * must name values of the set, and a copy of the set must hold as many
 * indicators and build too.
 */
#include "lib/match.h"
#include "lib/match_src.h"
#include "util/error.h"

#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
on_hit(void *ud, const csip_match_hit *h)
{
	(void)ud;
	(void)h;
}

static void
on_row(void *ud, const csip_match_src_row *r)
{
	const csip_match_set *s = ud;

	if (csip_match_indicator(s, r->ind, NULL) == NULL || r->item < 0 ||
	    (r->published_at && strlen(r->published_at) != 20))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char line[] = "a.evil.example 198.51.100.7 "
		"http://pay.example/login bob@phish.example "
		"d41d8cd98f00b204e9800998ecf8427e 2001:db8::1";
	csip_match_set *s, *c;
	csip_match_src_cb cb = { NULL, NULL, on_row, NULL };
	csip_match_src_stats st;
	csip_match_src_format f;
	int rc;

	if (size == 0)
		return 0;
	f = (csip_match_src_format)(data[0] % CSIP_MSRC__COUNT);
	s = csip_match_set_new();
	cb.row_ud = s;
	rc = csip_match_src_add_buffer_cb(s, f, (const char *)data + 1,
					  size - 1, "fuzz", &cb, &st);
	if (rc > 0 || (rc == CSIP_OK && st.format == CSIP_MSRC_AUTO))
		abort();
	if (csip_match_set_count(s) > st.added)
		abort();
	csip_match_set_build(s);
	csip_match_line(s, line, sizeof(line) - 1, on_hit, NULL);
	c = csip_match_set_copy(s);
	csip_match_set_build(c);
	if (csip_match_set_count(c) != csip_match_set_count(s))
		abort();
	csip_match_line(c, line, sizeof(line) - 1, on_hit, NULL);
	csip_match_set_free(c);
	csip_match_set_free(s);
	csip_error_clear();
	return 0;
}
