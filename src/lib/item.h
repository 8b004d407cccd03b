/*
 * item.h - shared items: what the hub makes from reports and sends out.
 *
 * The life of an item:
 *
 *   draft --submit--> pending --every provider approves--> approved
 *     ^                  |                                     |
 *     +-- update --------+-- a provider asks for changes       publish
 *         (from any state but published/withdrawn:             |
 *          revision+1, approvals reset, back to draft)         v
 *                                                          published
 *                                                              |
 *                                                       withdraw v
 *                                                          withdrawn
 *
 * J-CSIP asks the provider's consent before sharing: every organisation
 * whose report is a source approves the exact revision that goes out.
 * Publishing refuses an audience wider than a source's permission
 * (csip_policy_check_audience) and any text or indicator that would name a
 * source's provider, its domains, its internal networks or a recipient the
 * anonymiser removed (invariants 2-4 of the design).  It records the
 * recipients (csip_policy_refresh_recipients), marks the sources shared,
 * and queues notifications, all in one transaction.
 *
 * Reads take a csip_reader and go through csip_policy_item_access(): the
 * hub gets the full item, providers and recipients the shared view, and
 * anyone else CSIP_ENOTFOUND, the same as for an item that does not exist.
 */
#ifndef CSIP_ITEM_H
#define CSIP_ITEM_H

#include "lib/hub.h"
#include "lib/policy.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct csip_item_ind {
	const char *type;    /* csip_ind_type_name(): "domain", "url", ... */
	const char *value;   /* canonical or not: it is canonicalised */
	const char *role;    /* optional: "sender", "link", ... */
} csip_item_ind;

/* An item to create, or a change to one (NULL / 0 fields are left alone on
 * update).  Borrowed strings and arrays. */
typedef struct csip_item_spec {
	const char *title;
	const char *analysis;
	const char *tlp;          /* clear, green, amber, amber+strict, red;
				   * create: NULL is amber */
	const char *audience;     /* sig, community, partners, public */
	char **sigs;              /* SIG codes, NULL-terminated, for 'sig' */
	const char *attack_type;  /* free text, e.g. "targeted-mail" */
	const char *severity;     /* low, medium, high, critical */
	char **tags;              /* NULL-terminated */
	const int64_t *report_ids;
	size_t n_reports;
	/* Indicators chosen.  On create, when indicators is NULL, every
	 * observation of the sources that the analyst marked shareable (or
	 * not marked and found in a shareable report) is taken. */
	const csip_item_ind *indicators;
	size_t n_indicators;
	int set_indicators;       /* update: replace the indicator list */
} csip_item_spec;

/* Create a draft.  CSIP_EINVAL naming the bad field; CSIP_ENOTFOUND for
 * an unknown report or SIG; CSIP_EPERM when the audience is wider than a
 * source allows (checked already here, and again on publish). */
int csip_item_create(csip_hub *h, const char *actor,
		     const csip_item_spec *spec, int64_t *id);

/* Change an unpublished item: revision+1, back to draft, approvals reset.
 * CSIP_EBUSY when the item is published or withdrawn. */
int csip_item_update(csip_hub *h, const char *actor, int64_t id,
		     const csip_item_spec *change);

/* Ask the providers for consent: draft or changes_requested -> pending,
 * one pending approval per providing organisation.  The leak check of
 * publishing runs here already (CSIP_EPERM), because every provider sees
 * the pending item: one provider must not learn another's name. */
int csip_item_submit(csip_hub *h, const char *actor, int64_t id);

/* A provider's decision on the current revision: DECISION is "approve" or
 * "request_changes" (COMMENT then required).  PROVIDER_ORG must be a
 * source's provider (CSIP_ENOTFOUND otherwise) and the item pending
 * (CSIP_EBUSY otherwise).  When the last provider approves the item
 * becomes approved; any request for changes makes it changes_requested. */
int csip_item_decide(csip_hub *h, const char *actor, int64_t id,
		     int64_t provider_org, const char *decision,
		     const char *comment);

/* Publish an approved item (CSIP_EBUSY otherwise; CSIP_EPERM for an
 * audience or leak check that fails, with the reason).  *recipients (may
 * be NULL) receives how many organisations it went to. */
int csip_item_publish(csip_hub *h, const char *actor, int64_t id,
		      size_t *recipients);

/* Withdraw a published item: it stays readable to the hub only. */
int csip_item_withdraw(csip_hub *h, const char *actor, int64_t id);

/* One item as READER may see it (new reference in *out).  Hub: every
 * field, sources with report ids and providers, approvals, recipient count.
 * Provider: the shared view plus its own approval and report ids.
 * Recipient: the shared view: id, title, analysis, tlp, audience, sigs
 * (codes), attack_type, severity, tags, published_at, indicators
 * [{type, value, role}], providers [name or null per source, as
 * attribution allows], feedback counts by kind.  CSIP_ENOTFOUND when the
 * reader may not see it. */
int csip_item_get(csip_hub *h, const csip_reader *r, int64_t id,
		  json_t **out);

typedef struct csip_item_query {
	const char *status;       /* the hub: any item in this status; others:
				   * items built on their own reports in this
				   * status (pending: waiting for consent);
				   * NULL: published items they may read */
	int64_t after_id;         /* cursor: items with id > after_id */
	int limit;                /* 1..1000; <= 0: 100 */
	const char *since;        /* published_at >= since (ISO 8601) */
	const char *ind_type;     /* with ind_value: items carrying it */
	const char *ind_value;
} csip_item_query;

/* Items READER may see, oldest first from the cursor, in the view of
 * csip_item_get.  *out is a new JSON array; *next (may be NULL) receives
 * the id to pass as after_id for the next page, or 0 at the end. */
int csip_item_list(csip_hub *h, const csip_reader *r,
		   const csip_item_query *q, json_t **out, int64_t *next);

/* Published items READER may read, in publication order ((published_at,
 * id) ascending), strictly after the position (AFTER_AT, AFTER_ID);
 * AFTER_AT NULL starts from the first.  AFTER_AT is a date (the start
 * of that day) or a time, which is a position: an item's published_at
 * as this function gave it, compared as stored (a bound to normalise
 * first is the caller's: csip_time_norm()).  At most LIMIT (1..1000) entries go to *out, a
 * new JSON array of {"id", "published_at"}; *more is set when another
 * readable item follows.  Every row passes csip_policy_item_access(), as
 * in csip_item_list: the position is only where to start, never a
 * permission. */
int csip_item_list_published(csip_hub *h, const csip_reader *r,
			     const char *after_at, int64_t after_id,
			     int limit, json_t **out, int *more);

/* csip_item_list_published of the items marked TLP (clear, green, ...):
 * the items that carry that TLP marking definition. */
int csip_item_list_published_tlp(csip_hub *h, const csip_reader *r,
				 const char *tlp, const char *after_at,
				 int64_t after_id, int limit, json_t **out,
				 int *more);

/* Of the N items IDS, those csip_item_list_published would give READER
 * (the same candidates, each through csip_policy_item_access()), in
 * publication order, as a new JSON array of {"id", "published_at"} in
 * *out.  Unknown, unpublished and unreadable ids are left out alike. */
int csip_item_pick_published(csip_hub *h, const csip_reader *r,
			     const int64_t *ids, size_t n, json_t **out);

#endif
