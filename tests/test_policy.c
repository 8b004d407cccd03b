/*
 * test_policy.c - who may see what: csip_policy_decide() as a pure
 * function over a table of readers and item facts, the audience check
 * against the sources' permissions, the provider's visibility per
 * attribution, and the materialised recipients after publication and
 * after an organisation's SIGs or NDA change.
 */
#include "lib/org.h"
#include "lib/policy.h"
#include "testutil.h"
#include "util/error.h"

#include <glib.h>
#include <string.h>

/* ---- the decision as a pure function -------------------------------- */

enum { HUB = 1, PROV, IN_SIG, OTHER_SIG, NO_NDA, PARTNER, PARTNER_NDA,
	MULTI, NOBODY };

static int64_t sig10[] = { 10 }, sig20[] = { 20 }, multi_sigs[] = { 5, 20,
	30 };

static const csip_reader readers[] = {
	[HUB] = { .org_id = HUB, .hub = 1 },
	[PROV] = { .org_id = PROV, .nda = 1, .sigs = sig10, .n_sigs = 1 },
	[IN_SIG] = { .org_id = IN_SIG, .nda = 1, .sigs = sig10, .n_sigs = 1 },
	[OTHER_SIG] = { .org_id = OTHER_SIG, .nda = 1, .sigs = sig20,
		.n_sigs = 1 },
	[NO_NDA] = { .org_id = NO_NDA, .sigs = sig10, .n_sigs = 1 },
	[PARTNER] = { .org_id = PARTNER, .partner = 1 },
	[PARTNER_NDA] = { .org_id = PARTNER_NDA, .partner = 1, .nda = 1,
		.sigs = sig10, .n_sigs = 1 },
	[MULTI] = { .org_id = MULTI, .nda = 1, .sigs = multi_sigs,
		.n_sigs = 3 },
	[NOBODY] = { .org_id = 0, .hub = 1 },
};

#define N_ CSIP_ACCESS_NONE
#define R_ CSIP_ACCESS_RECIPIENT
#define P_ CSIP_ACCESS_PROVIDER
#define H_ CSIP_ACCESS_HUB

static void
test_decide_table(void)
{
	static int64_t item_sigs[] = { 10, 30 }, providers[] = { PROV };
	/* Expected access per reader, HUB to NOBODY: h hub, p provider,
	 * r recipient, - none.  Readers: HUB PROV IN_SIG OTHER_SIG NO_NDA
	 * PARTNER PARTNER_NDA MULTI NOBODY. */
	static const struct {
		const char *status, *audience, *want;
	} rows[] = {
		{ "published", "sig",               "hpr----r-" },
		{ "published", "community",         "hprr---r-" },
		{ "published", "partners",          "hprr-rrr-" },
		{ "published", "public",            "hprr-rrr-" },
		{ "draft", "public",                "h--------" },
		{ "pending", "public",              "hp-------" },
		{ "changes_requested", "public",    "hp-------" },
		{ "approved", "sig",                "hp-------" },
		{ "withdrawn", "public",            "h--------" },
		{ "bogus", "public",                "h--------" },
		{ "published", "bogus",             "hp-------" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
		csip_item_facts f = { .item_id = 7, .providers = providers,
			.n_providers = 1 };

		g_strlcpy(f.status, rows[i].status, sizeof f.status);
		g_strlcpy(f.audience, rows[i].audience, sizeof f.audience);
		if (strcmp(rows[i].audience, "sig") == 0) {
			f.sigs = item_sigs;
			f.n_sigs = 2;
		}
		for (int rd = HUB; rd <= NOBODY; rd++) {
			csip_access got = csip_policy_decide(&readers[rd], &f);
			char c = rows[i].want[rd - HUB];
			csip_access want = c == 'h' ? H_ : c == 'p' ? P_
					 : c == 'r' ? R_ : N_;

			if (got != want)
				g_error("row %zu (%s/%s), reader %d: got %d, "
					"want %d", i, rows[i].status,
					rows[i].audience, rd, got, want);
			/* Pure: the same answer twice. */
			g_assert_cmpint(csip_policy_decide(&readers[rd], &f),
					==, got);
		}
	}
}

/* csip_policy_recheck() of an access decided with one status, for every
 * other status, is what deciding again with that status gives, for every
 * reader and audience. */
static void
test_recheck(void)
{
	static int64_t item_sigs[] = { 10, 30 }, providers[] = { PROV };
	static const char *const statuses[] = { "draft", "pending",
		"changes_requested", "approved", "published", "withdrawn",
		"bogus" };
	static const char *const audiences[] = { "sig", "community",
		"partners", "public" };
	size_t checked = 0;

	for (size_t au = 0; au < G_N_ELEMENTS(audiences); au++)
	for (size_t s0 = 0; s0 < G_N_ELEMENTS(statuses); s0++)
	for (size_t s1 = 0; s1 < G_N_ELEMENTS(statuses); s1++)
	for (int rd = HUB; rd <= NOBODY; rd++) {
		csip_item_facts f = { .item_id = 7, .providers = providers,
			.n_providers = 1 };
		csip_access before, again;

		g_strlcpy(f.audience, audiences[au], sizeof f.audience);
		if (au == 0) {
			f.sigs = item_sigs;
			f.n_sigs = 2;
		}
		g_strlcpy(f.status, statuses[s0], sizeof f.status);
		before = csip_policy_decide(&readers[rd], &f);
		if (before == N_)
			continue;
		g_strlcpy(f.status, statuses[s1], sizeof f.status);
		again = csip_policy_decide(&readers[rd], &f);
		if (csip_policy_recheck(&readers[rd], before, statuses[s1]) !=
		    again)
			g_error("%s, %s -> %s, reader %d: recheck %d, decide "
				"%d", audiences[au], statuses[s0], statuses[s1],
				rd, csip_policy_recheck(&readers[rd], before,
				statuses[s1]), again);
		checked++;
	}
	g_assert_cmpuint(checked, >, 100);
	g_assert_cmpint(csip_policy_recheck(NULL, H_, "published"), ==, N_);
	g_assert_cmpint(csip_policy_recheck(&readers[HUB], H_, NULL), ==, N_);
}

/* A 'sig' item with no SIGs reaches no participant, and missing facts
 * or readers decide nothing. */
static void
test_decide_edges(void)
{
	csip_item_facts f = { .item_id = 1 };

	g_strlcpy(f.status, "published", sizeof f.status);
	g_strlcpy(f.audience, "sig", sizeof f.audience);
	g_assert_cmpint(csip_policy_decide(&readers[IN_SIG], &f), ==, N_);
	g_assert_cmpint(csip_policy_decide(&readers[HUB], &f), ==, H_);
	g_assert_cmpint(csip_policy_decide(NULL, &f), ==, N_);
	g_assert_cmpint(csip_policy_decide(&readers[HUB], NULL), ==, N_);
	f.item_id = 0;
	g_assert_cmpint(csip_policy_decide(&readers[HUB], &f), ==, N_);
}

/* A provider of an item with other providers reads it only while the
 * audience reaches it as well: the item holds the others' reports.  Each
 * row: the audience, the providers (PROV and one other), and the access
 * of each of the two, pending and published.  Alone, a provider reads
 * its item whatever the audience. */
static void
test_decide_coproviders(void)
{
	static int64_t item_sigs[] = { 10 };
	static const struct {
		const char *audience;
		int other;
		const char *want;   /* PROV then OTHER; 'p' or '-' */
	} rows[] = {
		{ "sig", IN_SIG, "pp" },
		{ "sig", OTHER_SIG, "p-" },
		{ "sig", PARTNER_NDA, "p-" },
		{ "community", OTHER_SIG, "pp" },
		{ "community", NO_NDA, "p-" },
		{ "community", PARTNER, "p-" },
		{ "partners", PARTNER, "pp" },
		{ "public", NO_NDA, "p-" },
		{ "bogus", IN_SIG, "--" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(rows); i++)
	for (int pub = 0; pub < 2; pub++) {
		int64_t provs[2] = { PROV, rows[i].other };
		csip_item_facts f = { .item_id = 7, .providers = provs,
			.n_providers = 2, .sigs = item_sigs, .n_sigs = 1 };

		if (provs[1] < provs[0]) {
			provs[0] = rows[i].other;
			provs[1] = PROV;
		}
		g_strlcpy(f.status, pub ? "published" : "pending",
			  sizeof f.status);
		g_strlcpy(f.audience, rows[i].audience, sizeof f.audience);
		for (int k = 0; k < 2; k++) {
			int rd = k == 0 ? PROV : rows[i].other;
			csip_access want = rows[i].want[k] == 'p' ? P_ : N_;

			if (csip_policy_decide(&readers[rd], &f) != want)
				g_error("row %zu (%s), %s, reader %d: got %d",
					i, rows[i].audience, f.status, rd,
					csip_policy_decide(&readers[rd], &f));
		}
		/* The other alone reads its item. */
		f.providers = &provs[provs[0] == PROV ? 1 : 0];
		f.n_providers = 1;
		g_assert_cmpint(csip_policy_decide(&readers[rows[i].other],
						   &f), ==, P_);
	}
}

static void
test_rank(void)
{
	g_assert_cmpint(csip_policy_rank("hub"), ==, 0);
	g_assert_cmpint(csip_policy_rank("sig"), ==, 1);
	g_assert_cmpint(csip_policy_rank("community"), ==, 2);
	g_assert_cmpint(csip_policy_rank("partners"), ==, 3);
	g_assert_cmpint(csip_policy_rank("public"), ==, 4);
	g_assert_cmpint(csip_policy_rank("Public"), ==, -1);
	g_assert_cmpint(csip_policy_rank(NULL), ==, -1);
}

/* ---- against a database --------------------------------------------- */

typedef struct world {
	csip_test_hub *t;
	int64_t energy, finance, gas;
	int64_t hub, prov, in_sig, other, no_nda, partner;
} world;

static int64_t
org(csip_test_hub *t, const char *name, const char *role, const char *nda,
    char **sigs)
{
	csip_org_spec spec = { .name = name, .role = role, .nda_date = nda,
		.sigs = sigs };
	int64_t id;

	csip_assert_ok(csip_org_add(t->hub, "test", &spec, &id));
	return id;
}

static void
world_init(world *w)
{
	char *energy[] = { "energy", NULL }, *finance[] = { "finance", NULL };
	char *both[] = { "energy", "gas", NULL };

	memset(w, 0, sizeof *w);
	w->t = csip_test_hub_new();
	csip_assert_ok(csip_sig_add(w->t->hub, "test", "energy", NULL,
				    &w->energy));
	csip_assert_ok(csip_sig_add(w->t->hub, "test", "finance", NULL,
				    &w->finance));
	csip_assert_ok(csip_sig_add(w->t->hub, "test", "gas", NULL, &w->gas));
	w->hub = org(w->t, "ipa", "hub", NULL, NULL);
	w->prov = org(w->t, "kanto-power", "participant", "2024-04-01", both);
	w->in_sig = org(w->t, "tohoku-power", "participant", "2024-04-01",
			energy);
	w->other = org(w->t, "mizuho-bank", "participant", "2024-04-01",
		       finance);
	w->no_nda = org(w->t, "new-member", "participant", NULL, energy);
	w->partner = org(w->t, "npa", "partner", NULL, NULL);
}

static int
visible(world *w, int64_t reader, const char *attribution)
{
	csip_reader r;
	int vis = -1;

	csip_assert_ok(csip_reader_load(csip_hub_store(w->t->hub), reader,
					&r));
	csip_assert_ok(csip_policy_provider_visible(csip_hub_store(w->t->hub),
		&r, w->prov, attribution, &vis));
	csip_reader_clear(&r);
	return vis;
}

static void
test_reader_load(void)
{
	world w;
	csip_reader r;
	char idb[24];

	world_init(&w);
	csip_assert_ok(csip_reader_load(csip_hub_store(w.t->hub), w.prov, &r));
	g_assert_cmpint(r.org_id, ==, w.prov);
	g_assert_true(r.nda && !r.hub && !r.partner);
	g_assert_cmpint(r.n_sigs, ==, 2);
	g_assert_cmpint(r.sigs[0], <, r.sigs[1]);
	csip_reader_clear(&r);
	csip_assert_ok(csip_reader_load(csip_hub_store(w.t->hub), w.hub, &r));
	g_assert_true(r.hub);
	csip_reader_clear(&r);
	/* An NDA counts from its date: signed for the future, not yet. */
	g_snprintf(idb, sizeof idb, "%" G_GINT64_FORMAT, w.prov);
	csip_assert_ok(csip_store_run(csip_hub_store(w.t->hub), NULL, "UPDATE "
		"org SET nda_date = '2999-01-01' WHERE id = ?", idb, NULL));
	csip_assert_ok(csip_reader_load(csip_hub_store(w.t->hub), w.prov, &r));
	g_assert_false(r.nda);
	csip_reader_clear(&r);
	g_assert_cmpint(csip_reader_load(csip_hub_store(w.t->hub), 9999, &r),
			==, CSIP_ENOTFOUND);
	csip_test_hub_free(w.t);
}

static void
test_provider_visible(void)
{
	static const char *const atts[] = { "none", "sig", "community" };
	world w;
	struct {
		int64_t *reader;
		int want[3];  /* none, sig, community */
	} rows[] = {
		{ &w.hub,     { 1, 1, 1 } },
		{ &w.prov,    { 1, 1, 1 } },
		{ &w.in_sig,  { 0, 1, 1 } },
		{ &w.other,   { 0, 0, 1 } },
		{ &w.no_nda,  { 0, 0, 0 } },
		{ &w.partner, { 0, 0, 0 } },
	};

	world_init(&w);
	for (size_t i = 0; i < G_N_ELEMENTS(rows); i++)
		for (int a = 0; a < 3; a++)
			if (visible(&w, *rows[i].reader, atts[a]) !=
			    rows[i].want[a])
				g_error("row %zu, attribution %s: want %d", i,
					atts[a], rows[i].want[a]);
	csip_test_hub_free(w.t);
}

static void
test_check_audience(void)
{
	world w;
	csip_store *s;
	int64_t r_sig, r_comm, r_pub, r_hub, one[1], energy[1], finance[1];
	int64_t two[2];

	world_init(&w);
	s = csip_hub_store(w.t->hub);
	r_sig = csip_test_report_add(w.t, "kanto-power", "sig", NULL, NULL);
	r_comm = csip_test_report_add(w.t, "kanto-power", "community", NULL,
				      NULL);
	r_pub = csip_test_report_add(w.t, "tohoku-power", "public", NULL,
				     NULL);
	r_hub = csip_test_report_add(w.t, "tohoku-power", "hub", NULL, NULL);
	energy[0] = w.energy;
	finance[0] = w.finance;

	one[0] = r_sig;
	csip_assert_ok(csip_policy_check_audience(s, "sig", energy, 1, one,
						  1));
	g_assert_cmpint(csip_policy_check_audience(s, "sig", finance, 1, one,
						   1), ==, CSIP_EPERM);
	g_assert_nonnull(strstr(csip_error_last(), "provider's SIGs"));
	g_assert_cmpint(csip_policy_check_audience(s, "community", NULL, 0,
						   one, 1), ==, CSIP_EPERM);
	g_assert_nonnull(strstr(csip_error_last(), "\"sig\""));
	/* A source shared with the community may go to any SIG. */
	one[0] = r_comm;
	csip_assert_ok(csip_policy_check_audience(s, "sig", finance, 1, one,
						  1));
	csip_assert_ok(csip_policy_check_audience(s, "community", NULL, 0,
						  one, 1));
	g_assert_cmpint(csip_policy_check_audience(s, "partners", NULL, 0,
						   one, 1), ==, CSIP_EPERM);
	/* The narrowest source decides. */
	two[0] = r_pub;
	two[1] = r_comm;
	csip_assert_ok(csip_policy_check_audience(s, "community", NULL, 0,
						  two, 2));
	g_assert_cmpint(csip_policy_check_audience(s, "public", NULL, 0, two,
						   2), ==, CSIP_EPERM);
	one[0] = r_hub;
	g_assert_cmpint(csip_policy_check_audience(s, "sig", energy, 1, one,
						   1), ==, CSIP_EPERM);
	/* Bad input. */
	one[0] = r_pub;
	g_assert_cmpint(csip_policy_check_audience(s, "hub", NULL, 0, one, 1),
			==, CSIP_EINVAL);
	g_assert_cmpint(csip_policy_check_audience(s, "everyone", NULL, 0,
						   one, 1), ==, CSIP_EINVAL);
	g_assert_cmpint(csip_policy_check_audience(s, "sig", NULL, 0, one, 1),
			==, CSIP_EINVAL);
	g_assert_cmpint(csip_policy_check_audience(s, "public", NULL, 0, one,
						   0), ==, CSIP_EINVAL);
	one[0] = 424242;
	g_assert_cmpint(csip_policy_check_audience(s, "public", NULL, 0, one,
						   1), ==, CSIP_ENOTFOUND);
	csip_test_hub_free(w.t);
}

/* An item stored directly: the policy must not depend on item.c. */
static int64_t
item_add(world *w, const char *status, const char *audience, int64_t sig,
	 int64_t report)
{
	csip_store *s = csip_hub_store(w->t->hub);
	char ib[24], vb[24], now[21];
	int64_t id;

	csip_store_now(now);
	csip_assert_ok(csip_store_query_int64(s, &id, "INSERT INTO item (title,"
		" tlp, audience, status, created_by, created_at, updated_at) "
		"VALUES ('t', 'amber', ?, ?, 'test', ?, ?) RETURNING id",
		audience, status, now, now, NULL));
	g_snprintf(ib, sizeof ib, "%" G_GINT64_FORMAT, id);
	if (sig) {
		g_snprintf(vb, sizeof vb, "%" G_GINT64_FORMAT, sig);
		csip_assert_ok(csip_store_run(s, NULL, "INSERT INTO item_sig "
			"VALUES (?, ?)", ib, vb, NULL));
	}
	g_snprintf(vb, sizeof vb, "%" G_GINT64_FORMAT, report);
	csip_assert_ok(csip_store_run(s, NULL, "INSERT INTO item_source "
		"VALUES (?, ?)", ib, vb, NULL));
	return id;
}

/* The recipients of ITEM as "org,org,..." by id. */
static char *
recipients(world *w, int64_t item)
{
	GString *o = g_string_new(NULL);
	csip_stmt *st = NULL;
	char ib[24];

	g_snprintf(ib, sizeof ib, "%" G_GINT64_FORMAT, item);
	csip_assert_ok(csip_store_prepare_bind(csip_hub_store(w->t->hub), &st,
		"SELECT o.name FROM item_recipient r JOIN org o ON o.id = "
		"r.org_id WHERE r.item_id = ? ORDER BY o.name", ib, NULL));
	while (csip_stmt_step(st) == CSIP_ROW)
		g_string_append_printf(o, "%s%s", o->len ? "," : "",
				       csip_stmt_text(st, 0));
	csip_stmt_free(st);
	return g_string_free(o, FALSE);
}

#define assert_recipients(w, item, want) do { \
	char *got_ = recipients(w, item); \
	g_assert_cmpstr(got_, ==, want); \
	g_free(got_); \
} while (0)

static void
test_refresh_recipients(void)
{
	world w;
	csip_store *s;
	int64_t rep, sig_item, comm, part, draft, *added = NULL;
	size_t n = 0;

	world_init(&w);
	s = csip_hub_store(w.t->hub);
	rep = csip_test_report_add(w.t, "kanto-power", "public", NULL, NULL);
	sig_item = item_add(&w, "published", "sig", w.energy, rep);
	comm = item_add(&w, "published", "community", 0, rep);
	part = item_add(&w, "published", "partners", 0, rep);
	draft = item_add(&w, "draft", "public", 0, rep);

	csip_assert_ok(csip_policy_refresh_recipients(s, sig_item, &added,
						      &n));
	/* The provider reads its item but is no sharing instance. */
	g_assert_cmpint(n, ==, 1);
	g_assert_cmpint(added[0], ==, w.in_sig);
	g_free(added);
	assert_recipients(&w, sig_item, "tohoku-power");
	/* A refresh keeps the time an organisation first received it. */
	csip_assert_ok(csip_store_run(s, NULL, "UPDATE item_recipient SET "
		"shared_at = '2020-01-01T00:00:00Z'", NULL));
	/* Again: nothing new. */
	csip_assert_ok(csip_policy_refresh_recipients(s, sig_item, &added,
						      &n));
	g_assert_cmpint(n, ==, 0);
	g_free(added);

	csip_assert_ok(csip_policy_refresh_recipients(s, comm, NULL, NULL));
	{
		int64_t kept = 0;

		csip_assert_ok(csip_store_query_int64(s, &kept, "SELECT "
			"COUNT(*) FROM item_recipient WHERE shared_at = "
			"'2020-01-01T00:00:00Z'", NULL));
		g_assert_cmpint(kept, ==, 1);
	}
	assert_recipients(&w, comm, "mizuho-bank,tohoku-power");
	csip_assert_ok(csip_policy_refresh_recipients(s, part, NULL, NULL));
	assert_recipients(&w, part, "mizuho-bank,npa,tohoku-power");
	csip_assert_ok(csip_policy_refresh_recipients(s, draft, &added, &n));
	g_assert_cmpint(n, ==, 0);
	g_free(added);
	assert_recipients(&w, draft, "");
	g_assert_cmpint(csip_policy_refresh_recipients(s, 9999, NULL, NULL),
			==, CSIP_ENOTFOUND);

	/* Withdrawn: nobody any more. */
	csip_assert_ok(csip_store_run(s, NULL, "UPDATE item SET status = "
		"'withdrawn' WHERE id = ?", "2", NULL));
	csip_assert_ok(csip_policy_refresh_recipients(s, comm, NULL, NULL));
	assert_recipients(&w, comm, "");
	csip_test_hub_free(w.t);
}

/* An organisation's SIGs, NDA or role change: its recipient rows follow,
 * for every published item, through csip_policy_refresh_org. */
static void
test_refresh_org(void)
{
	world w;
	csip_store *s;
	int64_t rep, sig_item, comm, part;
	char *energy[] = { "energy", NULL }, *finance[] = { "finance", NULL };
	csip_org_change join = { .add_sigs = energy, .remove_sigs = finance };
	csip_org_change nda = { .nda_date = "2025-01-01" };
	csip_org_change lose_nda = { .nda_date = "" };
	csip_org_change to_partner = { .role = "partner" };

	world_init(&w);
	s = csip_hub_store(w.t->hub);
	rep = csip_test_report_add(w.t, "kanto-power", "public", NULL, NULL);
	sig_item = item_add(&w, "published", "sig", w.energy, rep);
	comm = item_add(&w, "published", "community", 0, rep);
	part = item_add(&w, "published", "partners", 0, rep);
	csip_assert_ok(csip_policy_refresh_recipients(s, sig_item, NULL, NULL));
	csip_assert_ok(csip_policy_refresh_recipients(s, comm, NULL, NULL));
	csip_assert_ok(csip_policy_refresh_recipients(s, part, NULL, NULL));
	assert_recipients(&w, sig_item, "tohoku-power");

	/* mizuho-bank moves from finance to energy. */
	csip_assert_ok(csip_org_update(w.t->hub, "test", "mizuho-bank", &join));
	csip_assert_ok(csip_policy_refresh_org(s, w.other));
	assert_recipients(&w, sig_item,
			  "mizuho-bank,tohoku-power");

	/* new-member signs the NDA, then loses it again. */
	csip_assert_ok(csip_org_update(w.t->hub, "test", "new-member", &nda));
	csip_assert_ok(csip_policy_refresh_org(s, w.no_nda));
	assert_recipients(&w, sig_item,
		"mizuho-bank,new-member,tohoku-power");
	assert_recipients(&w, comm,
		"mizuho-bank,new-member,tohoku-power");
	csip_assert_ok(csip_org_update(w.t->hub, "test", "new-member",
				       &lose_nda));
	csip_assert_ok(csip_policy_refresh_org(s, w.no_nda));
	assert_recipients(&w, sig_item,
			  "mizuho-bank,tohoku-power");
	assert_recipients(&w, comm, "mizuho-bank,tohoku-power");

	/* tohoku-power becomes a partner: only the partners item is left. */
	csip_assert_ok(csip_org_update(w.t->hub, "test", "tohoku-power",
				       &to_partner));
	csip_assert_ok(csip_policy_refresh_org(s, w.in_sig));
	assert_recipients(&w, sig_item, "mizuho-bank");
	assert_recipients(&w, comm, "mizuho-bank");
	assert_recipients(&w, part, "mizuho-bank,npa,tohoku-power");
	g_assert_cmpint(csip_policy_refresh_org(s, 9999), ==, CSIP_ENOTFOUND);
	csip_test_hub_free(w.t);
}

/* Facts loaded in batches are the facts loaded one by one: for items of
 * every kind, repeated, missing, and across batch boundaries; and so are
 * the decisions on them, for every reader. */
static void
test_facts_many(void)
{
	world w;
	csip_store *s;
	static const char *const st[] = { "published", "draft", "withdrawn",
		"pending" };
	static const char *const aud[] = { "sig", "community", "partners",
		"public" };
	int64_t kinds[24], rep1, rep2, sigs[3];
	size_t n = 3 * CSIP_FACTS_BATCH + 17;
	int64_t *ids = g_new(int64_t, n);
	csip_item_facts *many = g_new(csip_item_facts, n), one;
	csip_access *acc = g_new(csip_access, n);

	world_init(&w);
	s = csip_hub_store(w.t->hub);
	sigs[0] = 0;
	sigs[1] = w.energy;
	sigs[2] = w.finance;
	rep1 = csip_test_report_add(w.t, "kanto-power", "public", NULL, NULL);
	rep2 = csip_test_report_add(w.t, "mizuho-bank", "public", NULL, NULL);
	for (int i = 0; i < 24; i++) {
		char ib[24], vb[24];

		kinds[i] = item_add(&w, st[i % 4], aud[(i / 4) % 4],
				    sigs[i % 3], i % 2 ? rep1 : rep2);
		/* A second SIG and a second provider for some. */
		g_snprintf(ib, sizeof ib, "%" G_GINT64_FORMAT, kinds[i]);
		if (i % 5 == 0) {
			g_snprintf(vb, sizeof vb, "%" G_GINT64_FORMAT, w.gas);
			csip_assert_ok(csip_store_run(s, NULL, "INSERT INTO "
				"item_sig VALUES (?, ?)", ib, vb, NULL));
		}
		if (i % 7 == 0) {
			g_snprintf(vb, sizeof vb, "%" G_GINT64_FORMAT,
				   i % 2 ? rep2 : rep1);
			csip_assert_ok(csip_store_run(s, NULL, "INSERT INTO "
				"item_source VALUES (?, ?)", ib, vb, NULL));
		}
	}
	for (size_t i = 0; i < n; i++)
		ids[i] = i % 11 == 10 ? 100000 + (int64_t)i :
			 kinds[(i * 7) % 24];
	csip_assert_ok(csip_item_facts_load_many(s, ids, n, many));
	for (size_t i = 0; i < n; i++) {
		if (ids[i] >= 100000) {
			g_assert_cmpint(many[i].item_id, ==, 0);
			g_assert_cmpuint(many[i].n_sigs + many[i].n_providers,
					 ==, 0);
			continue;
		}
		csip_assert_ok(csip_item_facts_load(s, ids[i], &one));
		g_assert_cmpint(many[i].item_id, ==, one.item_id);
		g_assert_cmpstr(many[i].status, ==, one.status);
		g_assert_cmpstr(many[i].audience, ==, one.audience);
		g_assert_cmpmem(many[i].sigs, many[i].n_sigs * 8, one.sigs,
				one.n_sigs * 8);
		g_assert_cmpmem(many[i].providers, many[i].n_providers * 8,
				one.providers, one.n_providers * 8);
		csip_item_facts_clear(&one);
	}
	for (size_t i = 0; i < n; i++)
		csip_item_facts_clear(&many[i]);
	{
		int64_t orgs[] = { w.hub, w.prov, w.in_sig, w.other, w.no_nda,
				   w.partner };

		for (size_t k = 0; k < G_N_ELEMENTS(orgs); k++) {
			csip_reader r;

			csip_assert_ok(csip_reader_load(s, orgs[k], &r));
			csip_assert_ok(csip_policy_items_access(s, &r, ids, n,
								acc));
			for (size_t i = 0; i < n; i++) {
				csip_access a;

				csip_assert_ok(csip_policy_item_access(s, &r,
					ids[i], &a));
				g_assert_cmpint(acc[i], ==, a);
			}
			csip_reader_clear(&r);
		}
	}
	g_free(ids);
	g_free(many);
	g_free(acc);
	csip_test_hub_free(w.t);
}

static void
test_report_access(void)
{
	world w;
	csip_reader r;
	csip_access a;
	int64_t rep;

	world_init(&w);
	rep = csip_test_report_add(w.t, "kanto-power", "public", NULL, NULL);
	csip_assert_ok(csip_reader_load(csip_hub_store(w.t->hub), w.prov, &r));
	csip_assert_ok(csip_policy_report_access(csip_hub_store(w.t->hub), &r,
						 rep, &a));
	g_assert_cmpint(a, ==, CSIP_ACCESS_PROVIDER);
	csip_reader_clear(&r);
	csip_assert_ok(csip_reader_load(csip_hub_store(w.t->hub), w.in_sig,
					&r));
	csip_assert_ok(csip_policy_report_access(csip_hub_store(w.t->hub), &r,
						 rep, &a));
	g_assert_cmpint(a, ==, CSIP_ACCESS_NONE);
	csip_reader_clear(&r);
	csip_assert_ok(csip_reader_load(csip_hub_store(w.t->hub), w.hub, &r));
	csip_assert_ok(csip_policy_report_access(csip_hub_store(w.t->hub), &r,
						 rep, &a));
	g_assert_cmpint(a, ==, CSIP_ACCESS_HUB);
	csip_assert_ok(csip_policy_report_access(csip_hub_store(w.t->hub), &r,
						 9999, &a));
	g_assert_cmpint(a, ==, CSIP_ACCESS_NONE);
	csip_reader_clear(&r);
	csip_test_hub_free(w.t);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/policy/decide-table", test_decide_table);
	g_test_add_func("/policy/decide-edges", test_decide_edges);
	g_test_add_func("/policy/decide-coproviders",
			test_decide_coproviders);
	g_test_add_func("/policy/recheck", test_recheck);
	g_test_add_func("/policy/rank", test_rank);
	g_test_add_func("/policy/reader-load", test_reader_load);
	g_test_add_func("/policy/provider-visible", test_provider_visible);
	g_test_add_func("/policy/check-audience", test_check_audience);
	g_test_add_func("/policy/refresh-recipients",
			test_refresh_recipients);
	g_test_add_func("/policy/refresh-org", test_refresh_org);
	g_test_add_func("/policy/report-access", test_report_access);
	g_test_add_func("/policy/facts-many", test_facts_many);
	return g_test_run();
}
