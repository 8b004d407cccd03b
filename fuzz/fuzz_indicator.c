/*
 * fuzz_indicator.c - libFuzzer target for the indicator parser.
 *
 * The first byte picks the type hint (or detection); the rest is the
 * value.  Beyond not crashing, the parser must keep its contract: the
 * canonical value of anything it accepts parses, with its own type, to the
 * same value.
 */
#include "lib/indicator.h"
#include "util/error.h"

#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	csip_indicator *ind = NULL, *again = NULL;
	csip_ind_type hint;
	char *s;

	if (size == 0)
		return 0;
	hint = (csip_ind_type)(data[0] % CSIP_IND__COUNT);
	if (csip_indicator_parse((const char *)data + 1, size - 1, hint,
				 &ind) == CSIP_OK) {
		if (csip_indicator_parse(ind->value, strlen(ind->value),
					 ind->type, &again) != CSIP_OK ||
		    strcmp(again->value, ind->value) != 0 ||
		    again->type != ind->type)
			abort();
		s = csip_defang(ind->type, ind->value);
		g_free(s);
	}
	s = csip_refang((const char *)data + 1, size - 1);
	g_free(s);
	csip_indicator_free(again);
	csip_indicator_free(ind);
	csip_error_clear();
	return 0;
}
