/*
 * policy.h - who may see what: the one place that decides.
 *
 * Every read path (item lists and reads, search, feedback, notifications,
 * exports, TAXII, statistics) asks csip_policy_decide() through the
 * loaders below; nothing else compares audiences, SIGs or NDA dates.  The
 * rules (DESIGN.md, "Who may see what"):
 *
 *   - the hub sees everything;
 *   - a provider sees its own reports, and the items built on them once the
 *     hub has asked for its consent (it must see what recipients will see);
 *     of an item with other providers, only while its audience reaches the
 *     provider too, since the item holds the others' data;
 *   - anyone else sees only published items, and only when
 *       audience public:    any organisation with an NDA date, and partners;
 *       audience partners:  participants with an NDA date, and partners;
 *       audience community: participants with an NDA date;
 *       audience sig:       participants with an NDA date in one of the
 *                           item's SIGs;
 *     a participant without an NDA date receives nothing;
 *   - statistics (csip_policy_stats_scope): the hub sees every count and
 *     breakdown; a participant with an NDA date sees community-wide
 *     totals and its own figures; anyone else only its own figures.
 *
 * Permissions order hub < sig < community < partners < public; an item's
 * audience must lie within the permission of each of its sources, and for
 * a source shared at 'sig', the item's SIGs must be SIGs of that source's
 * provider; and when the sources come from more than one organisation,
 * the audience must reach each of them (csip_policy_check_audience).
 */
#ifndef CSIP_POLICY_H
#define CSIP_POLICY_H

#include "lib/store.h"

#include <stddef.h>
#include <stdint.h>

/* An organisation that reads, with the facts the rules need. */
typedef struct csip_reader {
	int64_t org_id;
	int hub;            /* org role hub */
	int partner;        /* org role partner */
	int nda;            /* has an NDA dated today or earlier */
	int64_t *sigs;      /* SIG ids, sorted; owned */
	size_t n_sigs;
} csip_reader;

/* Load the reader for ORG_ID.  CSIP_ENOTFOUND when there is no such
 * organisation.  Free the contents with csip_reader_clear(). */
int csip_reader_load(csip_store *s, int64_t org_id, csip_reader *out);
void csip_reader_clear(csip_reader *r);

/* What is known of an item for the decision. */
typedef struct csip_item_facts {
	int64_t item_id;
	char status[20];    /* draft, pending, ..., published, withdrawn */
	char audience[12];  /* sig, community, partners, public */
	int64_t *sigs;      /* audience SIGs, sorted; owned */
	size_t n_sigs;
	int64_t *providers; /* organisations whose reports are sources; owned */
	size_t n_providers;
} csip_item_facts;

int csip_item_facts_load(csip_store *s, int64_t item_id,
			 csip_item_facts *out);
void csip_item_facts_clear(csip_item_facts *f);

typedef enum csip_access {
	CSIP_ACCESS_NONE = 0,
	CSIP_ACCESS_RECIPIENT,  /* the shared view of a published item */
	CSIP_ACCESS_PROVIDER,   /* a source's provider: the shared view, and
				 * its approval; its own reports in full */
	CSIP_ACCESS_HUB         /* everything */
} csip_access;

/* The decision.  Pure: no I/O, so every caller gets the same answer for
 * the same facts. */
csip_access csip_policy_decide(const csip_reader *r,
			       const csip_item_facts *f);

/* Access A, decided for R on an item's facts, once the item's status
 * reads STATUS: A when that status still grants it, NONE otherwise.  For
 * a read that finds the status changed (a withdrawal) between the
 * decision and the rows it serves; the same answer as deciding again on
 * the facts with that status (tested so). */
csip_access csip_policy_recheck(const csip_reader *r, csip_access a,
				const char *status);

/* Load the facts of ITEM_ID and decide.  *out is CSIP_ACCESS_NONE for an
 * item that does not exist (callers answer 404 for both, so the existence
 * of an item is not revealed). */
int csip_policy_item_access(csip_store *s, const csip_reader *r,
			    int64_t item_id, csip_access *out);

/* The facts of ITEMS[0..N) into the caller's OUT[0..N), the same as
 * csip_item_facts_load() gives one by one, in three queries for every
 * CSIP_FACTS_BATCH items instead of three per item.  An item that does
 * not exist gets item_id 0, which csip_policy_decide() answers NONE.
 * Each OUT[i] is cleared with csip_item_facts_clear(), also on failure. */
#define CSIP_FACTS_BATCH 256
int csip_item_facts_load_many(csip_store *s, const int64_t *items, size_t n,
			      csip_item_facts *out);

/* csip_policy_item_access() for ITEMS[0..N): OUT[i] for ITEMS[i]. */
int csip_policy_items_access(csip_store *s, const csip_reader *r,
			     const int64_t *items, size_t n,
			     csip_access *out);

/* Reports are read only by the hub and their provider. */
int csip_policy_report_access(csip_store *s, const csip_reader *r,
			      int64_t report_id, csip_access *out);

/* Whether R may learn who provided a report with ATTRIBUTION ("none",
 * "sig", "community") from PROVIDER_ORG: the hub and the provider always;
 * 'sig': participants with an NDA sharing a SIG with the provider;
 * 'community': every participant with an NDA.  Partners never. */
int csip_policy_provider_visible(csip_store *s, const csip_reader *r,
				 int64_t provider_org,
				 const char *attribution, int *visible);

/* Rank of a permission or audience name in hub < sig < community <
 * partners < public; -1 when unknown. */
int csip_policy_rank(const char *scope);

/* Check that an item's audience (AUDIENCE and, for 'sig', SIG_IDS) lies
 * within the permission of each report in REPORT_IDS, and, when the
 * reports come from more than one organisation, that it reaches each of
 * them (a provider reads the whole item: an organisation outside the
 * audience would read the others' data through its own report).
 * CSIP_EPERM with a message naming the report and the fix when it does
 * not. */
int csip_policy_check_audience(csip_store *s, const char *audience,
			       const int64_t *sig_ids, size_t n_sigs,
			       const int64_t *report_ids, size_t n_reports);

/* Recompute item_recipient for ITEM_ID by deciding for every
 * organisation: the rows are the sharing instances, organisations that get
 * CSIP_ACCESS_RECIPIENT on a published item (never the hub, never a
 * provider of the item); unpublished items have none.  Rows that stay keep
 * their shared_at.  Runs inside the caller's
 * transaction.  *added (may be NULL) receives the organisations that were
 * not recipients before, in a new array the caller frees with g_free(),
 * and *n_added their count. */
int csip_policy_refresh_recipients(csip_store *s, int64_t item_id,
				   int64_t **added, size_t *n_added);

/* Recompute item_recipient of every published item for one organisation,
 * after its role, NDA date or SIGs changed. */
int csip_policy_refresh_org(csip_store *s, int64_t org_id);

/* Statistics (stats.c) are a read path too.  What R may see of them:
 *   CSIP_STATS_ALL:        the hub: every count and every breakdown (by
 *                          SIG, attack type, kind);
 *   CSIP_STATS_COMMUNITY:  a participant with an NDA date: community-wide
 *                          totals per quarter (reports received, items
 *                          shared, sharing instances, feedback,
 *                          campaigns), the reports it provided and the
 *                          items shared with it, and those items by attack
 *                          type.  Never a breakdown by SIG or organisation,
 *                          and a count of reports that fewer than
 *                          CSIP_POLICY_STATS_MIN_PROVIDERS organisations
 *                          provided is withheld (csip_policy_stats_count):
 *                          with its own figure beside it, a participant
 *                          could otherwise work out another's; so is a
 *                          year's total that would give away the
 *                          withheld quarters (csip_policy_stats_total);
 *   CSIP_STATS_OWN:        partners (no NDA with the community) and
 *                          participants without an NDA date: only the
 *                          reports they provided and the items shared with
 *                          them;
 *   CSIP_STATS_NONE:       no reader: nothing (CSIP_EPERM). */
typedef enum csip_stats_scope {
	CSIP_STATS_NONE = 0,
	CSIP_STATS_OWN,
	CSIP_STATS_COMMUNITY,
	CSIP_STATS_ALL
} csip_stats_scope;

#define CSIP_POLICY_STATS_MIN_PROVIDERS 3

csip_stats_scope csip_policy_stats_scope(const csip_reader *r);

/* Whether a community-wide count of reports from N_PROVIDERS distinct
 * providers may be shown to a reader of SCOPE.  A count of zero names
 * nobody and is always shown. */
int csip_policy_stats_count(csip_stats_scope scope, int64_t count,
			    int64_t n_providers);

/* Whether a total of COUNT reports from N_PROVIDERS distinct providers
 * (a year) may be shown beside its parts (the quarters), when the parts
 * that csip_policy_stats_count() withholds hold HIDDEN reports from
 * HIDDEN_PROVIDERS distinct providers together: the total less the parts
 * shown is their sum, so the total is shown only when that sum could be
 * shown itself. */
int csip_policy_stats_total(csip_stats_scope scope, int64_t count,
			    int64_t n_providers, int64_t hidden,
			    int64_t hidden_providers);

/* Related organisations: how many organisations other than R's own
 * reported an item's indicators, as R may learn it (shown on item reads).
 * The rule:
 *   - only for an item R may read (csip_policy_decide); otherwise
 *     *shown is 0, as for an item nobody else reported;
 *   - the hub, which reads every report, counts the providers of every
 *     report carrying one of the item's indicators;
 *   - anyone else counts only the providers of the items it may read
 *     that carry one of them (this item included), never a report it may
 *     not read, and of those only the ones their attribution lets R know
 *     (csip_policy_provider_visible): whether two anonymous sources are
 *     one organisation, or an anonymous one is a named one, is not R's to
 *     learn.  R learns the count only when it is at least
 *     CSIP_POLICY_RELATED_MIN_ORGS: a smaller one is withheld (*shown 0)
 *     exactly like none;
 *   - only a count: never an id, a name or which indicator. */
#define CSIP_POLICY_RELATED_MIN_ORGS 2
int csip_policy_related_orgs(csip_store *s, const csip_reader *r,
			     int64_t item_id, int64_t *count, int *shown);

#endif
