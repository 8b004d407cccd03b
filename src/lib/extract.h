/*
 * extract.h - find indicators in free text: mail bodies, the visible text
 * of HTML, report descriptions.
 *
 * Text from reports is hostile and messy: defanged on purpose
 * (hxxp://evil[.]example), glued to Japanese prose without spaces, wrapped
 * in brackets and punctuation, or full of names that only look like
 * domains (invoice.pdf, e.g.).  The extractor splits text into candidate
 * tokens, refangs each, and keeps what csip_indicator_parse() accepts, so
 * every value it yields is already canonical.
 *
 * Results collect in a set that removes duplicates by (type, value) and
 * remembers where each value was first seen and how often.
 */
#ifndef CSIP_EXTRACT_H
#define CSIP_EXTRACT_H

#include "lib/indicator.h"

#include <jansson.h>
#include <stddef.h>

/* Caps: text beyond this is not scanned (a warning is recorded), and a set
 * keeps at most this many distinct values. */
#define CSIP_EXTRACT_MAX_TEXT   (16u * 1024 * 1024)
#define CSIP_EXTRACT_MAX_VALUES 20000

typedef struct csip_extract_set csip_extract_set;

/* A new empty set; free with csip_extract_set_free(). */
csip_extract_set *csip_extract_set_new(void);

/* Free a set; NULL is accepted. */
void csip_extract_set_free(csip_extract_set *set);

/* Scan LEN bytes of TEXT (any bytes: invalid UTF-8 is skipped) and add what
 * is found to SET.  WHERE labels the source ("body:text", "subject") and is
 * copied.  Returns CSIP_OK, or CSIP_ETOOBIG when the text or the set hit a
 * cap (what was found before the cap is kept). */
int csip_extract_text(csip_extract_set *set, const char *text, size_t len,
		      const char *where);

/* Add one indicator that was found by other means (a header, an
 * attachment hash).  The set takes IND over (frees it if a duplicate). */
void csip_extract_set_add(csip_extract_set *set, csip_indicator *ind,
			  const char *where);

/* Number of distinct values. */
size_t csip_extract_set_count(const csip_extract_set *set);

/* The Ith value (in the order first seen); WHERE and COUNT may be NULL.
 * Owned by the set. */
const csip_indicator *csip_extract_set_get(const csip_extract_set *set,
					   size_t i, const char **where,
					   unsigned *count);

/* The set as a JSON array of {type, value, where, count[, display]}; a new
 * reference. */
json_t *csip_extract_set_json(const csip_extract_set *set);

#endif
