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

#include "lib/extract.h"
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

/* What the anonymiser removed from a mail report, as stored (a JSON
 * array, new reference in *out; an empty array when nothing was removed
 * or the report is not a mail).  For the hub's analysts only. */
int csip_report_removed(csip_hub *h, int64_t id, json_t **out);

/* ---- submissions other than mail, and the analyst's review ---------- */

/* Store free text from IN->org (kind 'text'): indicators are extracted
 * from it; the text itself is kept for the hub.  Same contract as
 * csip_report_ingest_mail (one transaction, duplicates by SHA-256). */
int csip_report_submit_text(csip_hub *h, const char *actor,
			    const csip_report_in *in, const char *text,
			    size_t len, csip_ingest_result *res);

/* Store a list of indicators from IN->org (kind 'indicators').  LIST is a
 * JSON array whose elements are strings ("evil.example", defanged forms
 * accepted) or objects {"value": ..., "type": optional, "role": optional}.
 * CSIP_EINVAL naming the first bad element (its index and why); nothing is
 * stored then.  Borrowed. */
int csip_report_submit_indicators(csip_hub *h, const char *actor,
				  const csip_report_in *in, json_t *list,
				  csip_ingest_result *res);

/* Store a submission of KIND (e.g. 'stix', by stix.c) whose observations
 * the caller found, with the contract of csip_report_submit_indicators:
 * one transaction with the audit row, duplicates by the SHA-256 of RAW.
 * SET and WARNINGS (an array) are borrowed. */
int csip_report_store_set(csip_hub *h, const char *actor,
			  const csip_report_in *in, const char *kind,
			  const char *raw, size_t raw_len, const char *subject,
			  const csip_extract_set *set, json_t *warnings,
			  csip_ingest_result *res);

/* The provider changes the sharing settings of its report (NULL fields are
 * left alone).  CSIP_ENOTFOUND unless BY_ORG provided it; CSIP_EBUSY once
 * an item built on it was published (shared_at set).  An item built on it
 * that was submitted for consent goes back to a draft of a new revision in
 * the same transaction: it was checked and shown under the old settings. */
int csip_report_set_sharing(csip_hub *h, const char *actor, int64_t id,
			    int64_t by_org, const char *permission,
			    const char *attribution, const char *tlp);

/* An analyst's review of a report.  NULL fields are left alone. */
typedef struct csip_report_review {
	const char *status;       /* new, reviewed, dismissed */
	const char *analysis;
	char **tags;              /* NULL-terminated; replaces the tags */
	const char *attack_type;
	const char *severity;     /* low, medium, high, critical */
	/* Observations to mark: shareable 1 or 0 (type and value as stored,
	 * or any form csip_ind_parse canonicalises to them). */
	const char *const *mark_types;
	const char *const *mark_values;
	const int *mark_shareable;
	size_t n_marks;
} csip_report_review;

/* Apply a review; CSIP_ENOTFOUND for an unknown report or observation,
 * CSIP_EINVAL naming the bad field.  Sets reviewed_at. */
int csip_report_review_apply(csip_hub *h, const char *actor, int64_t id,
			     const csip_report_review *rv);

typedef struct csip_report_query {
	int64_t org_id;           /* 0: every organisation (the hub) */
	const char *status;       /* NULL: any */
	int64_t before_id;        /* cursor: reports with id < before_id */
	int limit;                /* 1..1000; <= 0: 100 */
} csip_report_query;

/* Reports newest first, one JSON object per report (id, org, kind,
 * permission, attribution, tlp, status, received_at, subject, sender,
 * copies, shareable, indicators (count), shared_at, analysis, tags,
 * attack_type, severity).  *next (may be NULL): the before_id of the next
 * page, 0 at the end. */
int csip_report_query_list(csip_hub *h, const csip_report_query *q,
			   json_t **out, int64_t *next);

#endif
