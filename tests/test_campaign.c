/*
 * test_campaign.c - campaigns and alerts: reports of several
 * organisations joined as they arrive, campaigns merged by a report that
 * links two, an analyst's name, merge, split and exclusion (audited,
 * kept by a rebuild), alerts only for links to another organisation
 * (scope org) or to one outside the provider's SIGs (scope sig), queued
 * to the hub's webhook only; and the count of related organisations on
 * an item, which tells a reader nothing about reports it may not read.
 */
#include "lib/campaign.h"
#include "lib/correlate.h"
#include "lib/item.h"
#include "lib/org.h"
#include "lib/policy.h"
#include "lib/report.h"
#include "testutil.h"
#include "util/error.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int64_t
count(csip_test_hub *t, const char *sql)
{
	int64_t n = -1;

	csip_assert_ok(csip_store_query_int64(csip_hub_store(t->hub), &n, sql,
					      NULL));
	return n;
}

static int64_t org_ids[5];

static csip_test_hub *
world(void)
{
	csip_test_hub *t;
	char *energy[] = { "energy", NULL }, *finance[] = { "finance", NULL };
	char *both[] = { "energy", "finance", NULL };
	csip_org_spec specs[] = {
		{ .name = "acme", .role = "participant",
		  .nda_date = "2024-04-01", .sigs = energy },
		{ .name = "bolt", .role = "participant",
		  .nda_date = "2024-04-01", .sigs = energy },
		{ .name = "coin", .role = "participant",
		  .nda_date = "2024-04-01", .sigs = finance },
		{ .name = "dual", .role = "participant",
		  .nda_date = "2024-04-01", .sigs = both },
		{ .name = "hubctr", .role = "hub" },
	};
	csip_org_change hook = { .webhook_url = "http://127.0.0.1:9/hook" };
	int64_t sig = 0;

	csip_correlate_forget();
	t = csip_test_hub_new();
	csip_assert_ok(csip_sig_add(t->hub, "test", "energy", "Energy", &sig));
	csip_assert_ok(csip_sig_add(t->hub, "test", "finance", "Finance",
				    &sig));
	for (size_t i = 0; i < G_N_ELEMENTS(specs); i++)
		csip_assert_ok(csip_org_add(t->hub, "test", &specs[i],
					    &org_ids[i]));
	csip_assert_ok(csip_org_update(t->hub, "test", "hubctr", &hook));
	return t;
}

static void
world_free(csip_test_hub *t)
{
	csip_correlate_forget();
	csip_test_hub_free(t);
}

/* A report of ORG with the indicators of LIST (JSON), shared at
 * community, its provider named to readers as ATTRIBUTION allows. */
static int64_t
submit_as(csip_test_hub *t, const char *org, const char *list,
	  const char *attribution)
{
	csip_report_in in = { .org = org, .permission = "community",
		.attribution = attribution };
	csip_ingest_result res;
	json_t *l = json_loads(list, 0, NULL);

	g_assert_nonnull(l);
	csip_assert_ok(csip_report_submit_indicators(t->hub, "test", &in, l,
						     &res));
	json_decref(l);
	return res.report_id;
}

static int64_t
submit(csip_test_hub *t, const char *org, const char *list)
{
	return submit_as(t, org, list, NULL);
}

static int64_t
campaign_of(csip_test_hub *t, int64_t report)
{
	int64_t c = -1;

	csip_assert_ok(csip_campaign_of_report(t->hub, report, &c));
	return c;
}

static void
test_join_and_merge_on_arrival(void)
{
	csip_test_hub *t = world();
	int64_t a = submit(t, "acme", "[\"wave-one.example\"]");
	int64_t b = submit(t, "bolt", "[\"wave-one.example\", "
		"\"198.51.100.1\"]");
	int64_t c = submit(t, "coin", "[\"wave-two.example\"]");
	int64_t d = submit(t, "acme", "[\"wave-two.example\"]");
	int64_t alone = submit(t, "coin", "[\"alone.example\"]");
	int64_t bridge, c1, c2;
	json_t *list = NULL, *one = NULL;
	int64_t next = -1;

	c1 = campaign_of(t, a);
	c2 = campaign_of(t, c);
	g_assert_cmpint(c1, >, 0);
	g_assert_cmpint(campaign_of(t, b), ==, c1);
	g_assert_cmpint(c2, >, 0);
	g_assert_cmpint(c2, !=, c1);
	g_assert_cmpint(campaign_of(t, d), ==, c2);
	g_assert_cmpint(campaign_of(t, alone), ==, 0);
	csip_assert_ok(csip_campaign_name(t->hub, "test", c2, "Wave two"));
	/* One report linking both campaigns merges them into the older. */
	bridge = submit(t, "dual", "[\"198.51.100.1\", \"wave-two.example\"]");
	g_assert_cmpint(campaign_of(t, bridge), ==, c1);
	g_assert_cmpint(campaign_of(t, c), ==, c1);
	csip_assert_ok(csip_campaign_list(t->hub, 0, 0, &list, &next));
	g_assert_cmpint(json_array_size(list), ==, 1);
	g_assert_cmpint(next, ==, 0);
	csip_assert_ok(csip_campaign_get(t->hub, c1, &one));
	g_assert_cmpint(json_integer_value(json_object_get(one, "reports")),
			==, 5);
	g_assert_cmpint(json_integer_value(json_object_get(one, "orgs")), ==,
			4);
	/* The older campaign had no name: it takes the merged one's. */
	g_assert_cmpstr(json_string_value(json_object_get(one, "name")), ==,
			"Wave two");
	g_assert_cmpint(json_array_size(json_object_get(one, "links")), >=, 4);
	json_decref(one);
	csip_assert_ok(csip_campaign_get(t->hub, c2, &one));
	g_assert_cmpint(json_integer_value(json_object_get(one, "merged_into")),
			==, c1);
	json_decref(one);
	g_assert_cmpint(csip_campaign_name(t->hub, "test", c2, "x"), ==,
			CSIP_EBUSY);
	g_assert_cmpint(csip_campaign_get(t->hub, 999, &one), ==,
			CSIP_ENOTFOUND);
	g_assert_cmpint(csip_campaign_name(t->hub, "test", c1, "a\nb"), ==,
			CSIP_EINVAL);
	g_assert_cmpint(count(t, "SELECT COUNT(*) FROM audit_log WHERE action "
		"IN ('campaign.create', 'campaign.merge', 'campaign.name')"), ==,
		4);
	json_decref(list);
	world_free(t);
}

static void
test_alerts(void)
{
	csip_test_hub *t = world();
	json_t *alerts = NULL, *a0, *want;
	csip_stmt *st = NULL;
	char *want_text;
	int64_t next = 0, b, c;
	int64_t a = submit(t, "acme", "[\"alert-lure.example\"]");
	int64_t a2 = submit(t, "acme", "[\"alert-lure.example\", \"pad-a2.example\"]");

	/* Same organisation: a campaign, no alert. */
	g_assert_cmpint(campaign_of(t, a2), >, 0);
	g_assert_cmpint(count(t, "SELECT COUNT(*) FROM alert"), ==, 0);
	/* Another organisation in the same SIG: scope org. */
	b = submit(t, "bolt", "[\"alert-lure.example\"]");
	g_assert_cmpint(count(t, "SELECT COUNT(*) FROM alert WHERE scope = "
		"'org'"), ==, 1);
	/* An organisation of another SIG: scope sig. */
	c = submit(t, "coin", "[\"alert-lure.example\"]");
	g_assert_cmpint(count(t, "SELECT COUNT(*) FROM alert WHERE scope = "
		"'sig'"), ==, 1);
	/* dual shares a SIG with everyone: scope org. */
	submit(t, "dual", "[\"alert-lure.example\"]");
	g_assert_cmpint(count(t, "SELECT COUNT(*) FROM alert"), ==, 3);
	g_assert_cmpint(count(t, "SELECT scope = 'org' FROM alert ORDER BY id "
		"DESC LIMIT 1"), ==, 1);
	/* The linked reports and their organisations, in the order of the
	 * reports, written as compact JSON. */
	want = json_pack("[{sIsI}{sIsI}{sIsI}{sIsI}]", "report", (json_int_t)a,
		"org", (json_int_t)org_ids[0], "report", (json_int_t)a2, "org",
		(json_int_t)org_ids[0], "report", (json_int_t)b, "org",
		(json_int_t)org_ids[1], "report", (json_int_t)c, "org",
		(json_int_t)org_ids[2]);
	want_text = json_dumps(want, JSON_COMPACT);
	csip_assert_ok(csip_store_prepare(csip_hub_store(t->hub), "SELECT "
		"linked FROM alert ORDER BY id DESC LIMIT 1", &st));
	g_assert_cmpint(csip_stmt_step(st), ==, CSIP_ROW);
	g_assert_cmpstr(csip_stmt_text(st, 0), ==, want_text);
	csip_stmt_free(st);
	free(want_text);
	json_decref(want);
	/* Each alert went to the hub's webhook, and only there, with ids
	 * and no organisation's name. */
	g_assert_cmpint(count(t, "SELECT COUNT(*) FROM outbox"), ==, 3);
	g_assert_cmpint(count(t, "SELECT COUNT(*) FROM outbox o JOIN org g ON "
		"g.id = o.org_id WHERE g.role = 'hub' AND o.target = "
		"'http://127.0.0.1:9/hook' AND o.item_id IS NULL"), ==, 3);
	g_assert_cmpint(count(t, "SELECT COUNT(*) FROM outbox WHERE payload "
		"LIKE '%acme%' OR payload LIKE '%bolt%' OR payload LIKE "
		"'%coin%'"), ==, 0);
	g_assert_cmpint(count(t, "SELECT COUNT(*) FROM outbox WHERE payload "
		"LIKE '%\"linked_reports\":[%' AND payload LIKE '%/api/v1/alerts"
		"%'"), ==, 3);
	csip_assert_ok(csip_alert_list(t->hub, 0, 2, &alerts, &next));
	g_assert_cmpint(json_array_size(alerts), ==, 2);
	g_assert_cmpint(next, >, 0);
	a0 = json_array_get(alerts, 0);
	g_assert_cmpstr(json_string_value(json_object_get(a0, "scope")), ==,
			"org");
	g_assert_cmpint(json_integer_value(json_object_get(a0, "campaign")),
			==, campaign_of(t, a));
	g_assert_cmpint(json_array_size(json_object_get(a0, "linked")), ==, 4);
	json_decref(alerts);
	csip_assert_ok(csip_alert_list(t->hub, next, 2, &alerts, &next));
	g_assert_cmpint(json_array_size(alerts), ==, 1);
	g_assert_cmpint(next, ==, 0);
	json_decref(alerts);
	world_free(t);
}

static void
test_merge_split_exclude(void)
{
	csip_test_hub *t = world();
	int64_t a = submit(t, "acme", "[\"m-one.example\"]");
	int64_t b = submit(t, "bolt", "[\"m-one.example\"]");
	int64_t c = submit(t, "coin", "[\"m-two.example\"]");
	int64_t d = submit(t, "dual", "[\"m-two.example\", "
		"\"shared-cdn.example\"]");
	int64_t e = submit(t, "acme", "[\"shared-cdn.example\", "
		"\"m-three.example\"]");
	int64_t f = submit(t, "bolt", "[\"m-three.example\"]");
	int64_t c1 = campaign_of(t, a), c2 = campaign_of(t, c), bad = 0;
	int64_t *made = NULL;
	size_t n_made = 0, rec = 0;
	char *before, *after;

	g_assert_cmpint(c1, !=, c2);
	g_assert_cmpint(campaign_of(t, f), ==, c2);
	/* Merge: one campaign, kept through a rebuild. */
	bad = c1;
	g_assert_cmpint(csip_campaign_merge(t->hub, "test", c1, &bad, 1), ==,
			CSIP_EINVAL);
	bad = 999;
	g_assert_cmpint(csip_campaign_merge(t->hub, "test", c1, &bad, 1), ==,
			CSIP_ENOTFOUND);
	csip_assert_ok(csip_campaign_merge(t->hub, "test", c1, &c2, 1));
	g_assert_cmpint(campaign_of(t, d), ==, c1);
	csip_assert_ok(csip_correlate_rebuild(t->hub, "test", NULL, NULL));
	g_assert_cmpint(campaign_of(t, a), ==, campaign_of(t, f));
	c1 = campaign_of(t, a);

	/* Exclude the shared CDN name: d-e was the only link between
	 * {c, d} and {e, f}, so they fall apart; the merge still holds
	 * a-b with c-d. */
	csip_assert_ok(csip_campaign_exclude(t->hub, "test",
		"shared-cdn[.]example", "a CDN", &rec));
	g_assert_cmpint(rec, ==, 1);
	g_assert_cmpint(csip_campaign_exclude(t->hub, "test",
		"shared-cdn.example", NULL, NULL), ==, CSIP_EEXISTS);
	g_assert_cmpint(campaign_of(t, e), ==, campaign_of(t, f));
	g_assert_cmpint(campaign_of(t, e), !=, campaign_of(t, a));
	g_assert_cmpint(campaign_of(t, c), ==, campaign_of(t, a));
	/* It links nothing from now on. */
	submit(t, "coin", "[\"shared-cdn.example\"]");
	g_assert_cmpint(count(t, "SELECT COUNT(*) FROM corr_link WHERE "
		"report_id = (SELECT MAX(id) FROM report)"), ==, 0);

	/* Split b off: a stays (merged with c, d through the manual link),
	 * b is alone and leaves. */
	c1 = campaign_of(t, a);
	g_assert_cmpint(csip_campaign_split(t->hub, "test", c1, &f, 1, NULL,
					    NULL), ==, CSIP_EINVAL);
	csip_assert_ok(csip_campaign_split(t->hub, "test", c1, &b, 1, &made,
					   &n_made));
	g_assert_cmpint(n_made, ==, 0);
	g_free(made);
	g_assert_cmpint(campaign_of(t, b), ==, 0);
	g_assert_cmpint(campaign_of(t, a), ==, c1);
	g_assert_cmpint(campaign_of(t, d), ==, c1);
	/* Splitting {c, d} off: the larger part keeps the campaign, a is
	 * alone and leaves. */
	{
		int64_t cd[2] = { c, d };

		csip_assert_ok(csip_campaign_split(t->hub, "test", c1, cd, 2,
						   &made, &n_made));
		g_assert_cmpint(n_made, ==, 0);
		g_assert_cmpint(campaign_of(t, c), ==, c1);
		g_assert_cmpint(campaign_of(t, a), ==, 0);
		g_free(made);
	}
	/* A rebuild keeps every decision. */
	before = g_strdup_printf("%d %d %d %d", campaign_of(t, a) == 0,
		campaign_of(t, b) == 0, campaign_of(t, c) == campaign_of(t, d),
		campaign_of(t, e) == campaign_of(t, f));
	csip_assert_ok(csip_correlate_rebuild(t->hub, "test", NULL, NULL));
	after = g_strdup_printf("%d %d %d %d", campaign_of(t, a) == 0,
		campaign_of(t, b) == 0, campaign_of(t, c) == campaign_of(t, d),
		campaign_of(t, e) == campaign_of(t, f));
	g_assert_cmpstr(after, ==, before);
	g_assert_cmpstr(after, ==, "1 1 1 1");
	/* A new report linking both sides brings them together again. */
	submit(t, "dual", "[\"m-one.example\", \"m-two.example\"]");
	g_assert_cmpint(campaign_of(t, a), ==, campaign_of(t, c));
	g_assert_cmpint(count(t, "SELECT COUNT(*) FROM audit_log WHERE action "
		"IN ('campaign.merge', 'campaign.split', 'campaign.exclude') "
		"AND actor = 'test'"), ==, 4);
	g_free(before);
	g_free(after);
	world_free(t);
}

/* An exclusion finds the campaigns a value links whichever side of the
 * link carries it: the earlier report's parent domain of the later one's
 * host name, or the later report's domain above the earlier one's. */
static void
test_exclude_either_side(void)
{
	/* Pairs of reports, each linked through the value excluded. */
	static const char *const sent[][3] = {
		{ "acme", "[\"parent-side.example\"]", "parent-side.example" },
		{ "coin", "[\"www.parent-side.example\"]", NULL },
		{ "bolt", "[\"www.child-side.example\"]", "child-side.example" },
		{ "dual", "[\"child-side.example\"]", NULL },
	};
	csip_test_hub *t = world();
	int64_t r[G_N_ELEMENTS(sent)];
	size_t rec = 0;

	for (size_t i = 0; i < G_N_ELEMENTS(sent); i++)
		r[i] = submit(t, sent[i][0], sent[i][1]);
	for (size_t i = 0; i < G_N_ELEMENTS(sent); i += 2) {
		g_assert_cmpint(campaign_of(t, r[i]), !=, 0);
		g_assert_cmpint(campaign_of(t, r[i]), ==, campaign_of(t,
								 r[i + 1]));
		csip_assert_ok(csip_campaign_exclude(t->hub, "test",
						     sent[i][2], NULL, &rec));
		g_assert_cmpint(rec, ==, 1);
		g_assert_cmpint(campaign_of(t, r[i]) + campaign_of(t,
				r[i + 1]), ==, 0);
	}
	/* A value no link went through touches no campaign. */
	submit(t, "acme", "[\"lonely.example\"]");
	csip_assert_ok(csip_campaign_exclude(t->hub, "test", "lonely.example",
					     NULL, &rec));
	g_assert_cmpint(rec, ==, 0);
	world_free(t);
}

/* ---- the count of related organisations ------------------------------ */

static void
approve_publish(csip_test_hub *t, int64_t id)
{
	csip_stmt *st = NULL;
	GArray *orgs = g_array_new(FALSE, FALSE, sizeof(int64_t));
	char ib[24];

	csip_assert_ok(csip_item_submit(t->hub, "test", id));
	g_snprintf(ib, sizeof ib, "%" G_GINT64_FORMAT, id);
	csip_assert_ok(csip_store_prepare_bind(csip_hub_store(t->hub), &st,
		"SELECT org_id FROM item_approval WHERE item_id = ?", ib,
		NULL));
	while (csip_stmt_step(st) == CSIP_ROW) {
		int64_t o = csip_stmt_int64(st, 0);

		g_array_append_val(orgs, o);
	}
	csip_stmt_free(st);
	for (guint i = 0; i < orgs->len; i++)
		csip_assert_ok(csip_item_decide(t->hub, "test", id,
			g_array_index(orgs, int64_t, i), "approve", NULL));
	g_array_unref(orgs);
	csip_assert_ok(csip_item_publish(t->hub, "test", id, NULL));
}

static int64_t
item(csip_test_hub *t, int64_t report, const char *audience, char **sigs)
{
	static const csip_item_ind inds[] = {
		{ "domain", "related-lure.example", NULL },
	};
	csip_item_spec spec = { .title = "Related lure", .audience = audience,
		.sigs = sigs, .report_ids = &report, .n_reports = 1,
		.indicators = inds, .n_indicators = 1 };
	int64_t id = 0;

	csip_assert_ok(csip_item_create(t->hub, "test", &spec, &id));
	approve_publish(t, id);
	return id;
}

static void
related(csip_test_hub *t, int64_t org, int64_t item_id, int64_t *n,
	int *shown)
{
	csip_reader r;

	csip_assert_ok(csip_reader_load(csip_hub_store(t->hub), org, &r));
	csip_assert_ok(csip_policy_related_orgs(csip_hub_store(t->hub), &r,
						item_id, n, shown));
	csip_reader_clear(&r);
}

static void
test_related_orgs_leak_nothing(void)
{
	csip_test_hub *t = world();
	char *energy[] = { "energy", NULL }, *finance[] = { "finance", NULL };
	int64_t ra = submit_as(t, "acme", "[\"related-lure.example\"]",
			       "community");
	int64_t rb, rc_, ran, x, y, z, n;
	int shown;

	/* bolt's and coin's reports carry the value but are in no item a
	 * reader may read: the reader learns nothing of them. */
	rb = submit_as(t, "bolt", "[\"related-lure.example\"]", "community");
	rc_ = submit_as(t, "coin", "[\"related-lure.example\"]",
			"community");
	x = item(t, ra, "sig", energy);
	related(t, org_ids[3], x, &n, &shown);     /* dual reads x */
	g_assert_false(shown);
	g_assert_cmpint(n, ==, 0);
	related(t, org_ids[1], x, &n, &shown);     /* bolt: its own not counted */
	g_assert_false(shown);
	/* coin may not read x at all. */
	related(t, org_ids[2], x, &n, &shown);
	g_assert_false(shown);
	g_assert_cmpint(n, ==, 0);
	/* The hub reads every report: acme, bolt, coin. */
	related(t, org_ids[4], x, &n, &shown);
	g_assert_true(shown);
	g_assert_cmpint(n, ==, 3);

	/* coin's report goes out to finance only: dual reads it, bolt does
	 * not. */
	y = item(t, rc_, "sig", finance);
	related(t, org_ids[3], x, &n, &shown);
	g_assert_true(shown);
	g_assert_cmpint(n, ==, 2);                 /* acme and coin */
	related(t, org_ids[1], x, &n, &shown);
	g_assert_false(shown);                     /* only acme readable */
	g_assert_cmpint(n, ==, 0);
	/* A provider reading its own item: others only. */
	related(t, org_ids[0], x, &n, &shown);
	g_assert_false(shown);                     /* acme cannot read y */
	z = item(t, rb, "community", NULL);
	related(t, org_ids[0], x, &n, &shown);
	g_assert_false(shown);                     /* bolt only: withheld */
	related(t, org_ids[3], x, &n, &shown);
	g_assert_true(shown);
	g_assert_cmpint(n, ==, 3);
	related(t, org_ids[1], x, &n, &shown);     /* reads x, z (its own) */
	g_assert_false(shown);
	/* Withdrawn, y no longer counts. */
	csip_assert_ok(csip_item_withdraw(t->hub, "test", y));
	related(t, org_ids[3], x, &n, &shown);
	g_assert_true(shown);
	g_assert_cmpint(n, ==, 2);
	/* coin reads only z of these: bolt alone, withheld. */
	related(t, org_ids[2], z, &n, &shown);
	g_assert_false(shown);
	/* An item the reader may not read answers nothing at all. */
	related(t, org_ids[2], y, &n, &shown);
	g_assert_false(shown);
	g_assert_cmpint(n, ==, 0);
	/* A source whose attribution hides its provider is not counted:
	 * counting it would tell whether it is an organisation the reader
	 * knows by name.  coin's anonymous item changes nothing for dual,
	 * and bolt learns nothing from it. */
	ran = submit_as(t, "coin", "[\"related-lure.example\", "
			"\"pad-anon.example\"]", "none");
	g_assert_cmpint(ran, !=, rc_);
	item(t, ran, "community", NULL);
	related(t, org_ids[3], x, &n, &shown);
	g_assert_true(shown);
	g_assert_cmpint(n, ==, 2);
	related(t, org_ids[1], z, &n, &shown);
	g_assert_false(shown);                     /* acme only: coin hidden */
	world_free(t);
}

/* The last alert: its scope, campaign and linked text (the caller frees
 * *linked). */
static void
last_alert(csip_test_hub *t, char **scope, int64_t *campaign, char **linked)
{
	csip_stmt *st = NULL;

	csip_assert_ok(csip_store_prepare(csip_hub_store(t->hub), "SELECT "
		"scope, COALESCE(campaign_id, 0), linked FROM alert ORDER BY id "
		"DESC LIMIT 1", &st));
	g_assert_cmpint(csip_stmt_step(st), ==, CSIP_ROW);
	*scope = g_strdup(csip_stmt_text(st, 0));
	*campaign = csip_stmt_int64(st, 1);
	*linked = g_strdup(csip_stmt_text(st, 2));
	csip_stmt_free(st);
}

/* The alert raised by the last report: SCOPE, and LINKED (N pairs of
 * report and index into org_ids) as its text. */
static void
check_alert(csip_test_hub *t, const char *scope, const int64_t *linked,
	    size_t n)
{
	GString *want = g_string_new("[");
	char *got_scope = NULL, *got = NULL;
	int64_t camp = 0;

	for (size_t i = 0; i < n; i++)
		g_string_append_printf(want, "%s{\"report\":%" G_GINT64_FORMAT
			",\"org\":%" G_GINT64_FORMAT "}", i ? "," : "",
			linked[2 * i], org_ids[linked[2 * i + 1]]);
	g_string_append_c(want, ']');
	last_alert(t, &got_scope, &camp, &got);
	g_assert_cmpstr(got_scope, ==, scope);
	g_assert_cmpstr(got, ==, want->str);
	g_string_free(want, TRUE);
	g_free(got_scope);
	g_free(got);
}

/* A correlation takes the linked reports' organisations from the
 * correlation index, which learns them after its own commits, on
 * catching up with other processes, from its saved file and in a
 * rebuild; and their campaigns from campaign_report in its transaction,
 * so that after an analyst's merge or split, or a change of an
 * organisation's SIGs, a new report joins the campaign the database
 * holds and its alert names the right organisations and scope. */
static void
test_index_facts(void)
{
	csip_test_hub *t = world();
	char *energy[] = { "energy", NULL }, *scope = NULL, *text = NULL;
	int64_t a, b, c, d, e, p1, p2, q1, q2, r, s, u, cp, cq, camp = 0;
	int64_t *made = NULL;
	size_t n_made = 0;

	/* Learnt after its commit, in this process. */
	a = submit(t, "acme", "[\"ix-one.example\"]");
	b = submit(t, "bolt", "[\"ix-one.example\"]");
	check_alert(t, "org", (int64_t[]){ a, 0 }, 1);
	/* Caught up by a new process (no file yet). */
	csip_correlate_forget();
	c = submit(t, "coin", "[\"ix-one.example\"]");
	check_alert(t, "sig", (int64_t[]){ a, 0, b, 1 }, 2);
	/* From the file the last catch-up saved, and c caught up. */
	csip_correlate_forget();
	csip_test_hub_reopen(t);
	d = submit(t, "dual", "[\"ix-one.example\"]");
	check_alert(t, "org", (int64_t[]){ a, 0, b, 1, c, 2 }, 3);
	/* From a rebuild, then from the file it saved. */
	csip_assert_ok(csip_correlate_rebuild(t->hub, "test", NULL, NULL));
	e = submit(t, "acme", "[\"ix-one.example\", \"ix-e.example\"]");
	check_alert(t, "sig", (int64_t[]){ a, 0, b, 1, c, 2, d, 3 }, 4);
	csip_correlate_forget();
	csip_test_hub_reopen(t);
	submit(t, "bolt", "[\"ix-one.example\", \"ix-f.example\"]");
	check_alert(t, "sig", (int64_t[]){ a, 0, b, 1, c, 2, d, 3, e, 0 },
		    5);

	/* A merge: the new report joins the campaign merged into. */
	p1 = submit(t, "acme", "[\"ix-p.example\"]");
	p2 = submit(t, "bolt", "[\"ix-p.example\"]");
	q1 = submit(t, "coin", "[\"ix-q.example\"]");
	q2 = submit(t, "dual", "[\"ix-q.example\"]");
	cp = campaign_of(t, p1);
	cq = campaign_of(t, q1);
	g_assert_cmpint(cp, !=, cq);
	csip_assert_ok(csip_campaign_merge(t->hub, "test", cp, &cq, 1));
	r = submit(t, "coin", "[\"ix-q.example\", \"ix-r.example\"]");
	g_assert_cmpint(campaign_of(t, r), ==, cp);
	g_assert_cmpint(campaign_of(t, q2), ==, cp);
	last_alert(t, &scope, &camp, &text);
	g_assert_cmpint(camp, ==, cp);
	g_free(scope);
	g_free(text);
	check_alert(t, "org", (int64_t[]){ q1, 2, q2, 3 }, 2);
	/* A split: the new report joins the campaign split off. */
	{
		int64_t pp[2] = { p1, p2 };

		csip_assert_ok(csip_campaign_split(t->hub, "test", cp, pp, 2,
						   &made, &n_made));
	}
	g_assert_cmpint(n_made, ==, 1);
	g_assert_cmpint(campaign_of(t, p1), ==, made[0]);
	g_assert_cmpint(campaign_of(t, q1), ==, cp);
	s = submit(t, "coin", "[\"ix-p.example\"]");
	g_assert_cmpint(campaign_of(t, s), ==, made[0]);
	last_alert(t, &scope, &camp, &text);
	g_assert_cmpint(camp, ==, made[0]);
	g_free(scope);
	g_free(text);
	/* coin shares no SIG with acme or bolt: scope sig; once it joins
	 * energy, org. */
	check_alert(t, "sig", (int64_t[]){ p1, 0, p2, 1 }, 2);
	{
		csip_org_change ch = { .add_sigs = energy };

		csip_assert_ok(csip_org_update(t->hub, "test", "coin", &ch));
	}
	u = submit(t, "coin", "[\"ix-p.example\", \"ix-u.example\"]");
	g_assert_cmpint(campaign_of(t, u), ==, made[0]);
	check_alert(t, "org", (int64_t[]){ p1, 0, p2, 1, s, 2 }, 3);
	g_free(made);
	world_free(t);
}

/* Correlate enough reports that the index holds the memberships (it
 * reloads them at its second correlation with no other writer between):
 * N reports of ORG on VALUE, a fresh one each. */
static void
settle(csip_test_hub *t, const char *org, const char *tag, int n)
{
	for (int i = 0; i < n; i++) {
		char *list = g_strdup_printf("[\"settle-%s-%d.example\"]", tag,
					     i);

		submit(t, org, list);
		g_free(list);
	}
}

/* Merge campaign OTHER into INTO in a child process, as `csip serve` or
 * another program on the same database would: its own hub, its own
 * index, nothing shared with this process but the database. */
static void
merge_elsewhere(csip_test_hub *t, int64_t into, int64_t other)
{
	int status = 0;
	pid_t pid = fork();

	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		csip_hub *h = NULL;
		int ok;

		csip_correlate_forget();
		ok = csip_hub_open(t->cfg, 0, &h) == CSIP_OK &&
		     csip_campaign_merge(h, "test", into, &other, 1) == CSIP_OK;
		csip_hub_free(h);
		_exit(ok ? 0 : 1);
	}
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

/* The correlation index keeps the memberships while
 * corr_state.campaign_epoch is the one it learnt them at; every write of
 * campaign_report moves the epoch (migration 14's triggers), so a change
 * made outside the correlation -- an analyst's merge, split or exclusion
 * through another hub handle (as another process or the API would), a
 * rebuild, a bare SQL write, a merge in another process -- is seen by
 * the next correlation, which joins the campaign the database holds. */
static void
test_epoch(void)
{
	csip_test_hub *t = world();
	csip_hub *other = NULL;
	int64_t p1, p2, q1, q2, r, s, x1, x2, y, z1, z2, w, cp, cq, cs, cz, c0;
	int64_t f1, g1, cf, cg;
	int64_t e0 = 0, e1 = 0;
	int64_t *made = NULL;
	size_t n_made = 0, recomputed = 0;
	char *sql = NULL;

	csip_assert_ok(csip_hub_open(t->cfg, 0, &other));
	p1 = submit(t, "acme", "[\"ep-p.example\"]");
	e0 = count(t, "SELECT campaign_epoch FROM corr_state");
	p2 = submit(t, "bolt", "[\"ep-p.example\"]");
	e1 = count(t, "SELECT campaign_epoch FROM corr_state");
	q1 = submit(t, "coin", "[\"ep-q.example\"]");
	q2 = submit(t, "dual", "[\"ep-q.example\"]");
	cp = campaign_of(t, p1);
	cq = campaign_of(t, q1);
	g_assert_cmpint(cp, !=, cq);
	g_assert_cmpint(campaign_of(t, p2), ==, cp);
	/* The triggers: a membership written moves the epoch. */
	g_assert_cmpint(e1, >, e0);
	settle(t, "acme", "a", 3);

	/* A merge by another handle: q's reports are in cp now. */
	csip_assert_ok(csip_campaign_merge(other, "test", cp, &cq, 1));
	r = submit(t, "coin", "[\"ep-q.example\", \"ep-r.example\"]");
	g_assert_cmpint(campaign_of(t, r), ==, cp);
	g_assert_cmpint(campaign_of(t, q2), ==, cp);

	/* A split by another handle: p's reports and q's apart. */
	settle(t, "bolt", "b", 3);
	{
		int64_t pp[2] = { p1, p2 };

		csip_assert_ok(csip_campaign_split(other, "test", cp, pp, 2,
						   &made, &n_made));
	}
	g_assert_cmpint(n_made, ==, 1);
	cs = campaign_of(t, q1);
	g_assert_cmpint(campaign_of(t, p1), !=, cs);
	g_assert_cmpint(campaign_of(t, r), ==, cs);
	s = submit(t, "acme", "[\"ep-q.example\", \"ep-s.example\"]");
	g_assert_cmpint(campaign_of(t, s), ==, cs);

	/* An exclusion by another handle: x1 and x2 were one campaign
	 * through the excluded value only (alone, each leaves it); y
	 * links x2 alone. */
	x1 = submit(t, "acme", "[\"ep-x.example\", \"ep-shared.example\"]");
	x2 = submit(t, "bolt", "[\"ep-y.example\", \"ep-shared.example\"]");
	g_assert_cmpint(campaign_of(t, x1), ==, campaign_of(t, x2));
	settle(t, "coin", "c", 3);
	csip_assert_ok(csip_campaign_exclude(other, "test", "ep-shared.example",
					     "shared hosting", &recomputed));
	g_assert_cmpint(campaign_of(t, x1), ==, 0);
	g_assert_cmpint(campaign_of(t, x2), ==, 0);
	y = submit(t, "coin", "[\"ep-y.example\", \"ep-y2.example\"]");
	g_assert_cmpint(campaign_of(t, y), ==, campaign_of(t, x2));
	g_assert_cmpint(campaign_of(t, y), !=, campaign_of(t, x1));

	/* A rebuild through another handle. */
	z1 = submit(t, "acme", "[\"ep-z.example\"]");
	z2 = submit(t, "bolt", "[\"ep-z.example\"]");
	settle(t, "dual", "d", 3);
	csip_assert_ok(csip_correlate_rebuild(other, "test", NULL, NULL));
	cz = campaign_of(t, z1);
	g_assert_cmpint(campaign_of(t, z2), ==, cz);
	w = submit(t, "coin", "[\"ep-z.example\", \"ep-w.example\"]");
	g_assert_cmpint(campaign_of(t, w), ==, cz);

	/* A bare write of campaign_report, as another program would make:
	 * p's reports moved to the campaign of q's. */
	settle(t, "acme", "e", 3);
	c0 = campaign_of(t, q1);
	g_assert_cmpint(campaign_of(t, p1), !=, c0);
	sql = g_strdup_printf("UPDATE campaign_report SET campaign_id = %"
		G_GINT64_FORMAT " WHERE report_id IN (%" G_GINT64_FORMAT ", %"
		G_GINT64_FORMAT ")", c0, p1, p2);
	csip_assert_ok(csip_store_begin(csip_hub_store(other)));
	csip_assert_ok(csip_store_exec(csip_hub_store(other), sql));
	csip_assert_ok(csip_store_commit(csip_hub_store(other)));
	r = submit(t, "coin", "[\"ep-p.example\", \"ep-r2.example\"]");
	g_assert_cmpint(campaign_of(t, r), ==, c0);

	/* A merge by another process, with its own hub and index. */
	f1 = submit(t, "acme", "[\"ep-f.example\"]");
	submit(t, "bolt", "[\"ep-f.example\"]");
	g1 = submit(t, "coin", "[\"ep-g.example\"]");
	submit(t, "dual", "[\"ep-g.example\"]");
	cf = campaign_of(t, f1);
	cg = campaign_of(t, g1);
	g_assert_cmpint(cf, !=, cg);
	settle(t, "bolt", "f", 3);
	merge_elsewhere(t, cf, cg);
	g_assert_cmpint(campaign_of(t, g1), ==, cf);
	r = submit(t, "acme", "[\"ep-g.example\", \"ep-r3.example\"]");
	g_assert_cmpint(campaign_of(t, r), ==, cf);

	g_free(sql);
	g_free(made);
	csip_hub_free(other);
	world_free(t);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/campaign/join", test_join_and_merge_on_arrival);
	g_test_add_func("/campaign/alerts", test_alerts);
	g_test_add_func("/campaign/merge-split-exclude",
			test_merge_split_exclude);
	g_test_add_func("/campaign/exclude-either-side",
			test_exclude_either_side);
	g_test_add_func("/campaign/related-orgs",
			test_related_orgs_leak_nothing);
	g_test_add_func("/campaign/index-facts", test_index_facts);
	g_test_add_func("/campaign/epoch", test_epoch);
	return g_test_run();
}
