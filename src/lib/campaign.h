/*
 * campaign.h - campaigns: reports linked through shared indicators or
 * similar attachments, kept as clusters while reports arrive, and the
 * early-warning alerts for the hub's analysts.
 *
 * A campaign is a connected component of the link graph (correlate.h)
 * with two reports or more.  Arrival is a union: the new report joins the
 * campaigns of the reports it links to, which merge into the oldest.  The
 * analysts shape the graph and every change is audited:
 *
 *   - name a campaign;
 *   - merge campaigns: a manual link joins them, kept by rebuilds;
 *   - split a campaign: the links between the reports named and the
 *     others are cut, and the component is computed again without them;
 *   - exclude an indicator value from linking: the campaigns it links are
 *     computed again without its links, and it links nothing from now on.
 *
 * A new report whose links reach reports of another organisation raises
 * an alert (scope "org"), or of an organisation sharing no SIG with the
 * provider (scope "sig"), naming the campaign and the linked reports; the
 * alert is queued to the hub's webhook.  Campaigns and alerts are for the
 * hub only: the API's route table lets nobody else call them.
 */
#ifndef CSIP_CAMPAIGN_H
#define CSIP_CAMPAIGN_H

#include "lib/hub.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* For the correlation, inside its transaction, with LINKED the N
 * distinct reports REPORT links to, sorted (N may be 0: nothing to do):
 * put REPORT into the campaign of LINKED, creating one or merging several
 * (*campaign receives its id, or 0), and raise an alert when LINKED
 * holds reports of another organisation than REPORT's (*alert receives
 * its id, or 0).  ORG is REPORT's organisation and ORGS (N, may be NULL)
 * those of LINKED as the caller knows them, 0 where it does not: the
 * unknown are read from the report rows.  A report's organisation never
 * changes, so the correlation index keeps it.  CAMPS (N + 1, may be NULL:
 * then read from campaign_report in this transaction) are the campaigns
 * of REPORT and then of LINKED (0: none), exactly as campaign_report holds
 * them in this transaction: the correlation index keeps them while
 * corr_state.campaign_epoch shows that nobody else changed a membership
 * (correlate.c).  Only the memberships of REPORT, of LINKED and of the
 * campaigns of LINKED change: all go to *campaign, REPORT's own kept when
 * it had one. */
int csip_campaign_on_links(csip_hub *h, int64_t report, int64_t org,
			   const int64_t *linked, const int64_t *orgs,
			   const int64_t *camps, size_t n, int64_t *campaign,
			   int64_t *alert);

/* For a rebuild, inside its transaction: replace every membership with
 * PAIRS (N pairs of report id and component root).  Each component keeps
 * the campaign (and name) its first report had when that campaign is not
 * taken by another component yet; the others get new campaigns. */
int csip_campaign_rebuild(csip_hub *h, const int64_t *pairs, size_t n);

/* Campaigns with members, newest first: {id, name, reports, orgs,
 * created_at, updated_at}.  BEFORE_ID: a cursor (0: from the newest);
 * LIMIT 1..1000 (<= 0: 100).  *next (may be NULL): the cursor of the next
 * page or 0. */
int csip_campaign_list(csip_hub *h, int64_t before_id, int limit,
		       json_t **out, int64_t *next);

/* One campaign: the list's fields, reports [{id, org, received_at,
 * subject}], links [{report, other, kind, type, value, other_value,
 * score}] (the first 1000), alerts [ids]; merged_into when it was merged
 * into another.  CSIP_ENOTFOUND for an unknown id. */
int csip_campaign_get(csip_hub *h, int64_t id, json_t **out);

/* The campaign of REPORT, 0 when it is in none. */
int csip_campaign_of_report(csip_hub *h, int64_t report, int64_t *campaign);

/* Name a campaign (NULL or "" removes the name). */
int csip_campaign_name(csip_hub *h, const char *actor, int64_t id,
		       const char *name);

/* Merge the N campaigns OTHERS into INTO. */
int csip_campaign_merge(csip_hub *h, const char *actor, int64_t into,
			const int64_t *others, size_t n);

/* Split the N reports REPORTS off campaign ID; *created (may be NULL)
 * receives the new campaigns' ids (g_free) and *n_created their count. */
int csip_campaign_split(csip_hub *h, const char *actor, int64_t id,
			const int64_t *reports, size_t n, int64_t **created,
			size_t *n_created);

/* Exclude VALUE (any form csip_indicator_parse accepts) from linking.
 * CSIP_EEXISTS when it is excluded already.  *recomputed (may be NULL):
 * how many campaigns were computed again. */
int csip_campaign_exclude(csip_hub *h, const char *actor, const char *value,
			  const char *reason, size_t *recomputed);

/* Exclusions: [{type, value, reason, added_by, added_at}]. */
int csip_campaign_exclusions(csip_hub *h, json_t **out);

/* Alerts, newest first: {id, report, campaign, campaign_name, scope,
 * linked: [{report, org}], orgs, created_at}; cursor as for campaigns. */
int csip_alert_list(csip_hub *h, int64_t before_id, int limit, json_t **out,
		    int64_t *next);

#endif
