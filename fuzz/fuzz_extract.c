/*
 * fuzz_extract.c - libFuzzer target for the free-text extractor.
 *
 * Any bytes in; every value out must be canonical: re-parsing it with its
 * own type gives the same value.
 */
#include "lib/extract.h"
#include "util/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	csip_extract_set *s = csip_extract_set_new();
	json_t *j;

	csip_extract_text(s, (const char *)data, size, "fuzz");
	for (size_t i = 0; i < csip_extract_set_count(s); i++) {
		const csip_indicator *ind = csip_extract_set_get(s, i, NULL,
								 NULL);
		csip_indicator *again = NULL;

		if (csip_indicator_parse(ind->value, strlen(ind->value),
					 ind->type, &again) < 0 ||
		    strcmp(again->value, ind->value) != 0)
			abort();
		csip_indicator_free(again);
	}
	j = csip_extract_set_json(s);
	json_decref(j);
	csip_extract_set_free(s);
	csip_error_clear();
	return 0;
}
