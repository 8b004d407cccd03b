/*
 * test_correlate.c - the correlation index: exact values across
 * organisations, addresses in networks and networks around addresses,
 * sub-domains both ways, ssdeep similarity above the threshold, warning
 * lists (shipped and edited) and the per-value cap, the index surviving a
 * new process (file and catch-up), the sweep of reports left
 * uncorrelated, a rebuild equal to the incremental result, disk faults
 * at every write of a correlation leaving nothing half-done, and an
 * index that learnt a correlation the database then lost.
 */
#include "lib/campaign.h"
#include "lib/correlate.h"
#include "lib/org.h"
#include "lib/report.h"
#include "testutil.h"
#include "util/error.h"

#include <fuzzy.h>
#include <glib.h>
#include <string.h>

static int64_t
count(csip_test_hub *t, const char *sql)
{
	int64_t n = -1;

	csip_assert_ok(csip_store_query_int64(csip_hub_store(t->hub), &n, sql,
					      NULL));
	return n;
}

static csip_test_hub *
hub3(void)
{
	csip_test_hub *t;
	char *energy[] = { "energy", NULL }, *finance[] = { "finance", NULL };
	csip_org_spec a = { .name = "acme", .role = "participant",
		.nda_date = "2024-04-01", .sigs = energy };
	csip_org_spec b = { .name = "bolt", .role = "participant",
		.nda_date = "2024-04-01", .sigs = energy };
	csip_org_spec c = { .name = "coin", .role = "participant",
		.nda_date = "2024-04-01", .sigs = finance };
	csip_org_spec hub = { .name = "hubctr", .role = "hub" };
	int64_t sig = 0;

	csip_correlate_forget();
	t = csip_test_hub_new();
	csip_assert_ok(csip_sig_add(t->hub, "test", "energy", "Energy", &sig));
	csip_assert_ok(csip_sig_add(t->hub, "test", "finance", "Finance",
				    &sig));
	csip_assert_ok(csip_org_add(t->hub, "test", &a, &sig));
	csip_assert_ok(csip_org_add(t->hub, "test", &b, &sig));
	csip_assert_ok(csip_org_add(t->hub, "test", &c, &sig));
	csip_assert_ok(csip_org_add(t->hub, "test", &hub, &sig));
	return t;
}

static void
hub_free(csip_test_hub *t)
{
	csip_correlate_forget();
	csip_test_hub_free(t);
}

/* A report of ORG listing the JSON array LIST (strings or objects). */
static int64_t
submit(csip_test_hub *t, const char *org, const char *list)
{
	csip_report_in in = { .org = org };
	csip_ingest_result res;
	json_error_t err;
	json_t *l = json_loads(list, 0, &err);

	if (l == NULL)
		g_error("bad test list %s: %s", list, err.text);
	csip_assert_ok(csip_report_submit_indicators(t->hub, "test", &in, l,
						     &res));
	json_decref(l);
	g_assert_cmpint(res.outcome, ==, CSIP_INGEST_STORED);
	return res.report_id;
}

/* Whether report A links to report B (in either direction). */
static int
linked(csip_test_hub *t, int64_t a, int64_t b)
{
	char *q = g_strdup_printf("SELECT COUNT(*) FROM corr_link WHERE "
		"(report_id = %" G_GINT64_FORMAT " AND other_id = %"
		G_GINT64_FORMAT ") OR (report_id = %" G_GINT64_FORMAT " AND "
		"other_id = %" G_GINT64_FORMAT ")", a, b, b, a);
	int64_t n = count(t, q);

	g_free(q);
	return n > 0;
}

static const char *
link_kind(csip_test_hub *t, int64_t a, int64_t b)
{
	static char kind[32];
	csip_stmt *st = NULL;
	char ab[24], bb[24];

	g_snprintf(ab, sizeof ab, "%" G_GINT64_FORMAT, a);
	g_snprintf(bb, sizeof bb, "%" G_GINT64_FORMAT, b);
	csip_assert_ok(csip_store_prepare_bind(csip_hub_store(t->hub), &st,
		"SELECT kind FROM corr_link WHERE report_id = ? AND other_id = "
		"? ORDER BY kind LIMIT 1", ab, bb, NULL));
	kind[0] = '\0';
	if (csip_stmt_step(st) == CSIP_ROW)
		g_strlcpy(kind, csip_stmt_text(st, 0), sizeof kind);
	csip_stmt_free(st);
	return kind;
}

static void
test_exact(void)
{
	csip_test_hub *t = hub3();
	int64_t a = submit(t, "acme", "[\"evil-lure.example\", "
		"\"198.51.100.7\", "
		"\"d2a84f4b8b650937ec8f73cd8be2c74add5a911ba64df27458ed8229da804a26\"]");
	int64_t b = submit(t, "bolt", "[\"EVIL-lure.example\"]");
	int64_t c = submit(t, "coin", "[\"198.51.100[.]7\"]");
	int64_t d = submit(t, "coin", "[\"unrelated.example\"]");
	int64_t e = submit(t, "bolt", "[\"D2A84F4B8B650937EC8F73CD8BE2C74ADD5A911BA64DF27458ED8229DA804A26\"]");

	g_assert_true(linked(t, b, a));
	g_assert_cmpstr(link_kind(t, b, a), ==, "value");
	g_assert_true(linked(t, c, a));
	g_assert_true(linked(t, e, a));
	g_assert_false(linked(t, d, a));
	g_assert_false(linked(t, c, b));
	g_assert_cmpint(count(t, "SELECT COUNT(*) FROM report WHERE "
		"correlated_at IS NULL"), ==, 0);
	g_assert_cmpint(count(t, "SELECT MAX(corr_seq) FROM report"), ==, 5);
	hub_free(t);
}

static void
test_cidr(void)
{
	csip_test_hub *t = hub3();
	/* A network first, then an address inside it, and the reverse. */
	int64_t net = submit(t, "acme", "[\"203.0.113.0/24\"]");
	int64_t ip = submit(t, "bolt", "[\"203.0.113.77\"]");
	int64_t ip2 = submit(t, "acme", "[\"192.0.2.200\"]");
	int64_t net2 = submit(t, "coin", "[\"192.0.2.128/25\"]");
	int64_t wide = submit(t, "coin", "[\"192.0.0.0/16\"]");
	int64_t out = submit(t, "bolt", "[\"203.0.114.1\"]");
	int64_t v6 = submit(t, "acme", "[\"2001:db8:1:2::/64\"]");
	int64_t v6ip = submit(t, "bolt", "[\"2001:db8:1:2::99\"]");
	int64_t v6b = submit(t, "coin", "[\"2001:db8:7::5\"]");
	int64_t v6net = submit(t, "acme", "[\"2001:db8:7::/48\"]");

	g_assert_true(linked(t, ip, net));
	g_assert_cmpstr(link_kind(t, ip, net), ==, "cidr");
	g_assert_true(linked(t, net2, ip2));
	g_assert_true(linked(t, wide, ip2));
	/* Networks match the addresses inside and the networks holding
	 * them, not the networks inside them. */
	g_assert_false(linked(t, wide, net2));
	g_assert_false(linked(t, out, net));
	g_assert_true(linked(t, v6ip, v6));
	g_assert_true(linked(t, v6net, v6b));
	g_assert_false(linked(t, v6b, v6));
	hub_free(t);
}

static void
test_subdomains(void)
{
	csip_test_hub *t = hub3();
	int64_t dom = submit(t, "acme", "[\"lure-corp.example\"]");
	int64_t sub = submit(t, "bolt", "[\"mail.login.lure-corp.example\"]");
	int64_t url = submit(t, "coin", "[\"x.lure-corp.example\"]");
	int64_t host = submit(t, "acme", "[\"deep.cdn-lure.example\"]");
	int64_t parent = submit(t, "bolt", "[\"cdn-lure.example\"]");
	int64_t sibling = submit(t, "coin", "[\"other.cdn-lure.example\"]");
	int64_t lookalike = submit(t, "coin", "[\"notlure-corp.example\"]");

	g_assert_true(linked(t, sub, dom));
	g_assert_cmpstr(link_kind(t, sub, dom), ==, "domain");
	g_assert_true(linked(t, url, dom));
	/* A parent reported after its sub-domain finds it. */
	g_assert_true(linked(t, parent, host));
	/* Siblings link only through the parent, which links both. */
	g_assert_false(linked(t, sibling, host));
	g_assert_true(linked(t, sibling, parent));
	g_assert_false(linked(t, lookalike, dom));
	hub_free(t);
}

/* Two ssdeep hashes of bodies that differ in a small part. */
static void
similar_hashes(char *a, char *b, char *c)
{
	GRand *r = g_rand_new_with_seed(42);
	size_t n = 64 * 1024;
	unsigned char *buf = g_malloc(n);

	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)g_rand_int_range(r, 0, 256);
	g_assert_cmpint(fuzzy_hash_buf(buf, (uint32_t)n, a), ==, 0);
	for (size_t i = 1000; i < 1400; i++)
		buf[i] ^= 0x5a;
	g_assert_cmpint(fuzzy_hash_buf(buf, (uint32_t)n, b), ==, 0);
	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)g_rand_int_range(r, 0, 256);
	g_assert_cmpint(fuzzy_hash_buf(buf, (uint32_t)n, c), ==, 0);
	g_free(buf);
	g_rand_free(r);
}

static void
test_ssdeep(void)
{
	csip_test_hub *t = hub3();
	char a[FUZZY_MAX_RESULT], b[FUZZY_MAX_RESULT], c[FUZZY_MAX_RESULT];
	char *la, *lb, *lc;
	int64_t ra, rb, rc_;
	int score;

	similar_hashes(a, b, c);
	score = fuzzy_compare(a, b);
	g_assert_cmpint(score, >=, 75);
	g_assert_cmpint(fuzzy_compare(a, c), <, 75);
	la = g_strdup_printf("[{\"value\": \"%s\", \"type\": \"ssdeep\"}]", a);
	lb = g_strdup_printf("[{\"value\": \"%s\", \"type\": \"ssdeep\"}]", b);
	lc = g_strdup_printf("[{\"value\": \"%s\", \"type\": \"ssdeep\"}]", c);
	ra = submit(t, "acme", la);
	rb = submit(t, "bolt", lb);
	rc_ = submit(t, "coin", lc);
	g_assert_true(linked(t, rb, ra));
	g_assert_cmpstr(link_kind(t, rb, ra), ==, "ssdeep");
	g_assert_false(linked(t, rc_, ra));
	g_assert_false(linked(t, rc_, rb));
	g_free(la);
	g_free(lb);
	g_free(lc);

	/* Above the configured threshold only. */
	csip_test_hub_set(t, "correlate", "ssdeep_threshold", "100");
	similar_hashes(a, b, c);
	{
		char *x = g_strdup_printf("[{\"value\": \"%s\", \"type\": "
			"\"ssdeep\"}, \"only-here.example\"]", b);
		int64_t rx = submit(t, "coin", x);

		g_assert_false(linked(t, rx, ra));
		g_assert_true(linked(t, rx, rb));    /* the same hash */
		g_assert_cmpstr(link_kind(t, rx, rb), ==, "value");
		g_free(x);
	}
	hub_free(t);
}

static void
test_warninglists(void)
{
	csip_test_hub *t = hub3();
	json_t *l = NULL;
	int64_t id = 0, a, b, c, d, e, f;
	int found = 0;
	size_t i;
	json_t *v;

	/* Shipped entries are there, and editable. */
	csip_assert_ok(csip_warninglist_list(t->hub, NULL, &l));
	json_array_foreach(l, i, v)
		if (strcmp(json_string_value(json_object_get(v, "value")),
			   "gmail.com") == 0)
			found = 1;
	g_assert_true(found);
	g_assert_cmpint(json_array_size(l), >, 50);
	json_decref(l);
	a = submit(t, "acme", "[\"mail.gmail.com\", \"10.1.2.3\", "
		"\"8.8.8.8\", \"lure-wl.example\"]");
	b = submit(t, "bolt", "[\"gmail.com\", \"10.1.2.3\", \"8.8.8.8\"]");
	g_assert_false(linked(t, b, a));
	/* A local entry: the value stops linking from now on. */
	csip_assert_ok(csip_warninglist_add(t->hub, "test", "mine",
		"lure-wl[.]example", &id));
	g_assert_cmpint(id, >, 0);
	g_assert_cmpint(csip_warninglist_add(t->hub, "test", NULL,
		"lure-wl.example", NULL), ==, CSIP_EEXISTS);
	c = submit(t, "coin", "[\"lure-wl.example\"]");
	g_assert_false(linked(t, c, a));
	/* Removed: it links again; a removed shipped entry stays removed. */
	csip_assert_ok(csip_warninglist_remove(t->hub, "test", id));
	g_assert_cmpint(csip_warninglist_remove(t->hub, "test", id), ==,
			CSIP_ENOTFOUND);
	d = submit(t, "coin", "[\"lure-wl.example\", \"pad-d.example\"]");
	g_assert_true(linked(t, d, a));
	csip_assert_ok(csip_warninglist_list(t->hub, "public-dns", &l));
	json_array_foreach(l, i, v)
		if (strcmp(json_string_value(json_object_get(v, "value")),
			   "8.8.8.8/32") == 0)
			id = json_integer_value(json_object_get(v, "id"));
	json_decref(l);
	csip_assert_ok(csip_warninglist_remove(t->hub, "test", id));
	e = submit(t, "coin", "[\"8.8.8.8\"]");
	g_assert_true(linked(t, e, a));
	g_assert_cmpint(count(t, "SELECT COUNT(*) FROM warninglist WHERE "
		"value = '8.8.8.8/32' AND removed = 1"), ==, 1);
	g_assert_cmpint(csip_warninglist_add(t->hub, "test", "bad list!",
		"x.example", NULL), ==, CSIP_EINVAL);
	g_assert_cmpint(csip_warninglist_add(t->hub, "test", NULL,
		"not a value at all", NULL), ==, CSIP_EINVAL);
	g_assert_cmpint(count(t, "SELECT COUNT(*) FROM audit_log WHERE "
		"action LIKE 'warninglist.%'"), ==, 3);
	f = submit(t, "bolt", "[\"192.168.7.7\", \"www.google.com\"]");
	g_assert_cmpint(count(t, "SELECT COUNT(*) FROM corr_link WHERE "
		"report_id = (SELECT MAX(id) FROM report)"), ==, 0);
	(void)f;
	hub_free(t);
}

static void
test_cap(void)
{
	csip_test_hub *t = hub3();
	int64_t ids[6];

	csip_test_hub_set(t, "correlate", "max_reports_per_value", "3");
	for (int i = 0; i < 6; i++) {
		char *l = g_strdup_printf("[\"popular-cap.example\", "
			"\"%s.example\"]", i == 0 || i == 5 ? "rare-cap"
			: i == 1 ? "pad-1" : i == 2 ? "pad-2" : i == 3 ? "pad-3"
			: "pad-4");

		ids[i] = submit(t, i % 2 ? "acme" : "bolt", l);
		g_free(l);
	}
	/* Reports 2 and 3 link to the ones before; from the fourth the
	 * value carries more than the cap and links nothing more. */
	g_assert_true(linked(t, ids[1], ids[0]));
	g_assert_true(linked(t, ids[2], ids[1]));
	g_assert_false(linked(t, ids[3], ids[0]));
	g_assert_false(linked(t, ids[4], ids[2]));
	/* Another value still links. */
	g_assert_true(linked(t, ids[5], ids[0]));
	g_assert_cmpint(count(t, "SELECT COUNT(*) FROM corr_link WHERE value "
		"= 'popular-cap.example' AND report_id = (SELECT MAX(id) FROM "
		"report)"), ==, 0);
	hub_free(t);
}

/* The whole link graph and partition, for comparisons. */
static char *
graph(csip_test_hub *t)
{
	GString *s = g_string_new(NULL);
	csip_stmt *st = NULL;

	csip_assert_ok(csip_store_prepare(csip_hub_store(t->hub), "SELECT "
		"report_id || '>' || other_id || ':' || kind || ':' || value || "
		"':' || other_value FROM corr_link ORDER BY 1", &st));
	while (csip_stmt_step(st) == CSIP_ROW)
		g_string_append_printf(s, "%s\n", csip_stmt_text(st, 0));
	csip_stmt_free(st);
	/* Campaigns as sets of reports, named by their first report. */
	csip_assert_ok(csip_store_prepare(csip_hub_store(t->hub), "SELECT "
		"(SELECT MIN(report_id) FROM campaign_report x WHERE "
		"x.campaign_id = m.campaign_id) || '<' || m.report_id FROM "
		"campaign_report m ORDER BY 1", &st));
	while (csip_stmt_step(st) == CSIP_ROW)
		g_string_append_printf(s, "%s\n", csip_stmt_text(st, 0));
	csip_stmt_free(st);
	return g_string_free(s, FALSE);
}

static void
test_rebuild_equals_incremental(void)
{
	csip_test_hub *t = hub3();
	GRand *r = g_rand_new_with_seed(7);
	char *before, *after;
	size_t keys = 0, mem = 0;
	int64_t file = 0;

	for (int i = 0; i < 60; i++) {
		GString *l = g_string_new("[");
		static const char *const orgs[] = { "acme", "bolt", "coin" };

		for (int k = 0; k < 5; k++) {
			int v = g_rand_int_range(r, 0, 120);

			if (k)
				g_string_append_c(l, ',');
			switch (v % 4) {
			case 0:
				g_string_append_printf(l, "\"h%d.rb-%d.example"
					"\"", v, v % 9);
				break;
			case 1:
				g_string_append_printf(l, "\"198.51.100.%d\"",
						       v);
				break;
			case 2:
				g_string_append_printf(l, "\"rb-%d.example\"",
						       v % 9);
				break;
			default:
				g_string_append_printf(l, "\"203.0.113.%d/30\"",
						       (v * 4) % 256);
			}
		}
		g_string_append_c(l, ']');
		submit(t, orgs[i % 3], l->str);
		g_string_free(l, TRUE);
	}
	g_rand_free(r);
	before = graph(t);
	g_assert_cmpint(count(t, "SELECT COUNT(*) FROM campaign_report"), >,
			10);
	csip_assert_ok(csip_correlate_rebuild(t->hub, "test", NULL, NULL));
	after = graph(t);
	g_assert_cmpstr(after, ==, before);
	/* A new process: the saved file plus nothing to catch up. */
	csip_correlate_forget();
	csip_test_hub_reopen(t);
	csip_assert_ok(csip_correlate_stats(t->hub, &keys, &mem, &file));
	g_assert_cmpint(keys, >, 0);
	g_assert_cmpint(file, >, 0);
	g_free(after);
	/* Still equal after more reports arrive on the reloaded index. */
	submit(t, "acme", "[\"rb-3.example\", \"198.51.100.9\"]");
	submit(t, "coin", "[\"h5.rb-5.example\"]");
	g_free(before);
	before = graph(t);
	csip_assert_ok(csip_correlate_rebuild(t->hub, "test", NULL, NULL));
	after = graph(t);
	g_assert_cmpstr(after, ==, before);
	g_assert_cmpint(count(t, "SELECT COUNT(*) FROM audit_log WHERE "
		"action = 'correlate.rebuild'"), ==, 2);
	g_free(before);
	g_free(after);
	hub_free(t);
}

/* Another process correlates reports: this one's index catches up, and a
 * lost or damaged index file is rebuilt from the database. */
static void
test_catch_up_and_file(void)
{
	csip_test_hub *t = hub3();
	int64_t a = submit(t, "acme", "[\"catch-up.example\"]");
	int64_t b, c;
	char *path;

	/* Another "process": a second hub on the same database whose index
	 * is the same registry entry would hide the point, so drop ours. */
	csip_correlate_forget();
	b = submit(t, "bolt", "[\"catch-up.example\"]");
	g_assert_true(linked(t, b, a));
	path = g_build_filename(t->dir, "data", "correlate.idx", NULL);
	g_assert_true(g_file_set_contents(path, "CSIPCIX1 garbage", -1, NULL));
	csip_correlate_forget();
	c = submit(t, "coin", "[\"catch-up.example\"]");
	g_assert_true(linked(t, c, a));
	g_assert_true(linked(t, c, b));
	g_free(path);
	hub_free(t);
}

/* A correlation commit is not durable: a crash can take it back after
 * an index learnt it, and another process give its place in the order
 * to another report.  The index, in memory or saved to its file, must
 * find out rather than keep a report the database has not correlated
 * and miss the one it has. */
static void
test_lost_commit(void)
{
	for (int file = 0; file < 2; file++) {
		csip_test_hub *t = hub3();
		csip_store *s;
		int64_t a, b, c;
		char *sql;

		csip_test_hub_set(t, "correlate", "enabled", "false");
		a = submit(t, "acme", "[\"lost-commit.example\"]");
		b = submit(t, "bolt", "[\"lost-commit.example\"]");
		csip_assert_ok(csip_correlate_report(t->hub, a));
		if (file)
			csip_assert_ok(csip_correlate_save(t->hub));
		/* A's commit lost; B correlated first by another process. */
		s = csip_hub_store(t->hub);
		sql = g_strdup_printf("UPDATE report SET corr_seq = NULL, "
			"corr_token = NULL, correlated_at = NULL WHERE id = %"
			G_GINT64_FORMAT, a);
		csip_assert_ok(csip_store_run(s, NULL, sql, NULL));
		g_free(sql);
		sql = g_strdup_printf("UPDATE report SET corr_seq = 1, "
			"corr_token = 12345, correlated_at = "
			"'2026-11-29T00:00:00Z' WHERE id = %" G_GINT64_FORMAT,
			b);
		csip_assert_ok(csip_store_run(s, NULL, sql, NULL));
		g_free(sql);
		g_assert_cmpint(count(t, "SELECT seq FROM corr_state"), ==, 1);
		if (file)
			csip_correlate_forget();
		c = submit(t, "coin", "[\"lost-commit.example\"]");
		csip_assert_ok(csip_correlate_report(t->hub, c));
		g_assert_true(linked(t, c, b));
		g_assert_false(linked(t, c, a));
		/* The sweep correlates A again. */
		csip_assert_ok(csip_correlate_pending(t->hub, 0, NULL));
		g_assert_true(linked(t, a, b));
		g_assert_true(linked(t, a, c));
		hub_free(t);
	}
}

/* Correlation fails on the disk: the report stays, uncorrelated, and the
 * next one sweeps it up. */
static void
test_faults(void)
{
	csip_test_hub *t = hub3();
	int64_t a = submit(t, "acme", "[\"fault-lure.example\", "
		"\"192.0.2.99\"]");
	int64_t rep = csip_test_report_add(t, "bolt", NULL, NULL, NULL);
	int64_t before_links, before_audit, before_camp;
	int done = 0, failed = 0;

	/* Stored without correlation, as a crash would leave it. */
	csip_test_observation_add(t, rep, "domain", "fault-lure.example", -1);
	before_links = count(t, "SELECT COUNT(*) FROM corr_link");
	before_audit = count(t, "SELECT COUNT(*) FROM audit_log");
	before_camp = count(t, "SELECT COUNT(*) FROM campaign_report");
	for (int n = 0; n < 60 && !done; n++) {
		int rc;

		csip_store_fault_after(n);
		rc = csip_correlate_report(t->hub, rep);
		csip_store_fault_clear();
		csip_test_hub_reopen(t);
		if (rc < 0) {
			failed++;
			g_assert_cmpint(count(t, "SELECT COUNT(*) FROM corr_link"),
					==, before_links);
			g_assert_cmpint(count(t, "SELECT COUNT(*) FROM "
				"audit_log"), ==, before_audit);
			g_assert_cmpint(count(t, "SELECT COUNT(*) FROM "
				"campaign_report"), ==, before_camp);
			g_assert_cmpint(count(t, "SELECT COUNT(*) FROM report "
				"WHERE correlated_at IS NULL"), ==, 1);
			g_assert_cmpint(count(t, "SELECT COUNT(*) FROM alert"),
					==, 0);
			g_assert_cmpint(count(t, "SELECT COUNT(*) FROM outbox"),
					==, 0);
		} else {
			done = 1;
			g_assert_true(linked(t, rep, a));
			g_assert_cmpint(count(t, "SELECT COUNT(*) FROM alert"),
					==, 1);
		}
	}
	g_assert_true(done);
	g_assert_cmpint(failed, >, 0);
	/* A submission whose correlation fails is still stored and
	 * acknowledged; the next one sweeps it. */
	{
		csip_report_in in = { .org = "coin" };
		csip_ingest_result res;
		json_t *l = json_loads("[\"fault-lure.example\"]", 0, NULL);
		int64_t stored = 0, ok = 0;

		for (int n = 0; n < 40; n++) {
			int rc;

			csip_store_fault_after(n);
			rc = csip_report_submit_indicators(t->hub, "test", &in,
							   l, &res);
			csip_store_fault_clear();
			if (rc == CSIP_OK && count(t, "SELECT COUNT(*) FROM "
			    "report WHERE correlated_at IS NULL") > 0) {
				stored = res.report_id;
				break;
			}
			if (rc == CSIP_OK)
				csip_assert_ok(csip_store_run(csip_hub_store(
					t->hub), NULL, "DELETE FROM report "
					"WHERE id = (SELECT MAX(id) FROM "
					"report)", NULL));
		}
		g_assert_cmpint(stored, >, 0);
		json_decref(l);
		submit(t, "bolt", "[\"sweep-next.example\"]");
		g_assert_cmpint(count(t, "SELECT COUNT(*) FROM report WHERE "
			"correlated_at IS NULL"), ==, 0);
		g_assert_true(linked(t, stored, a));
		ok = 1;
		g_assert_true(ok);
	}
	hub_free(t);
}

static void
test_preview_and_pending(void)
{
	csip_test_hub *t = hub3();
	int64_t a = submit(t, "acme", "[\"pv.example\"]");
	int64_t b = csip_test_report_add(t, "bolt", NULL, NULL, NULL);
	json_t *links = NULL;
	size_t done = 0;

	csip_test_observation_add(t, b, "hostname", "www.pv.example", -1);
	csip_assert_ok(csip_correlate_preview(t->hub, b, &links));
	g_assert_cmpint(json_array_size(links), ==, 1);
	g_assert_cmpint(json_integer_value(json_object_get(json_array_get(
		links, 0), "report")), ==, a);
	json_decref(links);
	g_assert_false(linked(t, b, a));
	csip_assert_ok(csip_correlate_pending(t->hub, 0, &done));
	g_assert_cmpint(done, ==, 1);
	g_assert_true(linked(t, b, a));
	csip_assert_ok(csip_correlate_pending(t->hub, 0, &done));
	g_assert_cmpint(done, ==, 0);
	g_assert_cmpint(csip_correlate_report(t->hub, 999), ==,
			CSIP_ENOTFOUND);
	hub_free(t);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/correlate/exact", test_exact);
	g_test_add_func("/correlate/cidr", test_cidr);
	g_test_add_func("/correlate/subdomains", test_subdomains);
	g_test_add_func("/correlate/ssdeep", test_ssdeep);
	g_test_add_func("/correlate/warninglists", test_warninglists);
	g_test_add_func("/correlate/cap", test_cap);
	g_test_add_func("/correlate/rebuild", test_rebuild_equals_incremental);
	g_test_add_func("/correlate/catch-up", test_catch_up_and_file);
	g_test_add_func("/correlate/faults", test_faults);
	g_test_add_func("/correlate/lost-commit", test_lost_commit);
	g_test_add_func("/correlate/preview", test_preview_and_pending);
	return g_test_run();
}
