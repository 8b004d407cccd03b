/*
 * export.h - blocklists for the tools members already run: Suricata and
 * Snort rules, Zeek intel files, a DNS RPZ zone, CSV, and plain lists.
 *
 * The indicators are those of the items READER may read (through
 * csip_item_list, so the policy decides), streamed item page by item page
 * so memory stays flat however many there are.  Indicators of withdrawn
 * items, of items past their validity, and those reported as false
 * positives by enough recipients ([export] false_positive_threshold
 * distinct organisations) are left out.
 */
#ifndef CSIP_EXPORT_H
#define CSIP_EXPORT_H

#include "lib/hub.h"
#include "lib/policy.h"
#include "lib/stix.h"

typedef struct csip_export_opts {
	const char *format;   /* suricata, snort, zeek, rpz, csv, text */
	const char *since;    /* ISO 8601: items published since; NULL all */
	const char *type;     /* text format: one indicator type, NULL all */
} csip_export_opts;

/* The formats, NULL-terminated (for help and errors). */
const char *const *csip_export_formats(void);

/* The media type of FORMAT's output ("text/csv; charset=utf-8", ...). */
const char *csip_export_media_type(const char *format);

/* Stream the export to W.  CSIP_EINVAL for an unknown format or a bad
 * option, naming it. */
int csip_export_write(csip_hub *h, const csip_reader *r,
		      const csip_export_opts *o, csip_write_fn w, void *ud);

#endif
