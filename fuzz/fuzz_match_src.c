/*
 * fuzz_match_src.c - libFuzzer target for the matcher's indicator sources:
 * lists and CSV, STIX 2.1 bundles and their patterns, MISP events.
 *
 * Any bytes in, as the format the first byte picks (auto, list, stix,
 * misp).  Loading must not crash, must return a csip code, and every value
 * it reports as added must be in the set, which must then build and scan.
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char line[] = "a.evil.example 198.51.100.7 "
		"http://pay.example/login bob@phish.example "
		"d41d8cd98f00b204e9800998ecf8427e 2001:db8::1";
	csip_match_set *s;
	csip_match_src_stats st;
	csip_match_src_format f;
	int rc;

	if (size == 0)
		return 0;
	f = (csip_match_src_format)(data[0] % CSIP_MSRC__COUNT);
	s = csip_match_set_new();
	rc = csip_match_src_add_buffer(s, f, (const char *)data + 1, size - 1,
				       "fuzz", NULL, NULL, &st);
	if (rc > 0 || (rc == CSIP_OK && st.format == CSIP_MSRC_AUTO))
		abort();
	if (csip_match_set_count(s) > st.added)
		abort();
	csip_match_set_build(s);
	csip_match_line(s, line, sizeof(line) - 1, on_hit, NULL);
	csip_match_set_free(s);
	csip_error_clear();
	return 0;
}
