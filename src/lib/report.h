/*
 * report.h - reports: what a provider sent the hub, stored durably with
 * the indicators extracted from it and its anonymised form.
 *
 * Ingestion is one transaction per message: the report, its content, its
 * observations and the audit row commit together, and the function returns
 * only after the commit, so an acknowledgement (an exit code, a 201) always
 * means the report is on disk (invariant 5 of the design).
 */
#ifndef CSIP_REPORT_H
#define CSIP_REPORT_H

#include "lib/hub.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Sharing settings a provider attaches to a report.  NULL fields take the
 * defaults: permission "sig", attribution "none", TLP "amber". */
typedef struct csip_report_in {
	const char *org;          /* the providing organisation (name) */
	const char *permission;   /* hub < sig < community < partners < public */
	const char *attribution;  /* none, sig or community */
	const char *tlp;          /* clear, green, amber, amber+strict, red */
	const char *source;       /* "cli", "mda", "api" */
} csip_report_in;

typedef enum {
	CSIP_INGEST_STORED = 1,    /* a new report */
	CSIP_INGEST_DUPLICATE,     /* this exact message was stored before */
	CSIP_INGEST_CAMPAIGN       /* a bulk copy, counted on an earlier one */
} csip_ingest_outcome;

typedef struct csip_ingest_result {
	csip_ingest_outcome outcome;
	int64_t report_id;        /* the new or the existing report */
	size_t indicators;
	size_t warnings;
	int shareable;            /* anonymisation succeeded */
} csip_ingest_result;

/* Check the sharing settings (names the bad one in the error). */
int csip_report_check_in(const csip_report_in *in);

/* Parse, extract, anonymise and store one message from IN->org.  Returns
 * CSIP_EINVAL (with the reason) when the bytes are not a mail, and other
 * negative codes when storing failed, in which case nothing was stored. */
int csip_report_ingest_mail(csip_hub *h, const char *actor,
			    const csip_report_in *in, const char *data,
			    size_t len, csip_ingest_result *res);

/* The organisation whose mail domain is ADDRESS's domain or a parent of
 * it (mail.kanto-power.example -> kanto-power).  *org is g_free()d. */
int csip_report_org_for_address(csip_hub *h, const char *address,
				char **org);

/* Reports, newest first; ORG may be NULL for all.  LIMIT <= 0: all. */
int csip_report_list(csip_hub *h, const char *org, int limit, json_t **out);

/* One report with its observations, as the hub sees it. */
int csip_report_get(csip_hub *h, int64_t id, json_t **out);

/* The anonymised message of a report (g_free); CSIP_ENOTFOUND when the
 * report has none (anonymisation failed closed). */
int csip_report_anonymised(csip_hub *h, int64_t id, char **out, size_t *len);

#endif
