/*
 * fuzz_indicator.c - libFuzzer target for the indicator model.
 *
 * Every input is parsed with detection and with each type hint.  Beyond not
 * crashing, the module must keep its contracts, and the target aborts when
 * it does not:
 *  - a canonical value parses, with its own type, to the same value, type,
 *    registrable domain and flags (idempotence);
 *  - a value found by detection is found again, the same, by detection;
 *  - refanging is a fixed point, and refanging a defanged value gives the
 *    value back;
 *  - a failure returns an error code with a message and no indicator;
 *  - csip_cidr_canonical() and csip_domain_canonical() are idempotent.
 * LeakSanitizer checks that everything is freed.
 */
#include "lib/indicator.h"
#include "util/error.h"

#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_same(const csip_indicator *a, const csip_indicator *b)
{
	if (a->type != b->type || strcmp(a->value, b->value) != 0 ||
	    strcmp(a->display, b->display) != 0 ||
	    g_strcmp0(a->registrable, b->registrable) != 0 ||
	    (a->flags & ~CSIP_IND_F_REFANGED) !=
	    (b->flags & ~CSIP_IND_F_REFANGED))
		abort();
}

/* The checks on one successful parse. */
static void
check_ok(const csip_indicator *ind, csip_ind_type hint)
{
	csip_indicator *again = NULL;
	char *def, *back;

	if (ind->value == NULL || ind->display == NULL ||
	    ind->type <= CSIP_IND_UNKNOWN || ind->type >= CSIP_IND__COUNT ||
	    (hint != CSIP_IND_UNKNOWN && ind->type != hint))
		abort();
	if (csip_indicator_parse(ind->value, strlen(ind->value), ind->type,
				 &again) != CSIP_OK)
		abort();
	check_same(ind, again);
	csip_indicator_free(again);
	again = NULL;
	if (hint == CSIP_IND_UNKNOWN) {
		if (csip_indicator_parse(ind->value, strlen(ind->value),
					 CSIP_IND_UNKNOWN, &again) != CSIP_OK)
			abort();
		check_same(ind, again);
		csip_indicator_free(again);
	}
	def = csip_defang(ind->type, ind->value);
	switch (ind->type) {
	case CSIP_IND_IPV4: case CSIP_IND_IPV6:
	case CSIP_IND_CIDR4: case CSIP_IND_CIDR6:
	case CSIP_IND_DOMAIN: case CSIP_IND_HOSTNAME:
	case CSIP_IND_URL: case CSIP_IND_EMAIL:
		back = csip_refang(def, strlen(def));
		if (strcmp(back, ind->value) != 0)
			abort();
		g_free(back);
		break;
	default:
		break;
	}
	g_free(def);
}

static void
check_canonical(int (*canon)(const char *, char **), const char *s)
{
	char *a = NULL, *b = NULL;

	if (canon(s, &a) == CSIP_OK) {
		if (a == NULL || canon(a, &b) != CSIP_OK || strcmp(a, b) != 0)
			abort();
	} else if (a != NULL) {
		abort();
	}
	g_free(a);
	g_free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	char *r, *rr, *z;

	for (int h = 0; h < CSIP_IND__COUNT; h++) {
		csip_indicator *ind = NULL;
		int rc = csip_indicator_parse(text, size, (csip_ind_type)h,
					      &ind);

		if (rc == CSIP_OK)
			check_ok(ind, (csip_ind_type)h);
		else if ((rc != CSIP_EINVAL && rc != CSIP_ETOOBIG) ||
			 ind != NULL || csip_error_last()[0] != '"')
			abort();
		csip_indicator_free(ind);
	}

	r = csip_refang(text, size);
	rr = csip_refang(r, strlen(r));
	if (memchr(text, '\0', size) == NULL && strcmp(r, rr) != 0)
		abort();
	g_free(r);
	g_free(rr);

	z = g_strndup(text, size);
	check_canonical(csip_cidr_canonical, z);
	check_canonical(csip_domain_canonical, z);
	g_free(z);
	csip_error_clear();
	return 0;
}
