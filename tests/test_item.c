/*
 * test_item.c - shared items from draft to publication: validation, the
 * providers' consent, the audience and leak checks that refuse to
 * publish, the recipients and views of every kind of reader for every
 * audience, the provider's name per attribution, pagination, the
 * publication order that TAXII walks, and disk faults that must leave
 * nothing half-written.
 */
#include "lib/audit.h"
#include "lib/feedback.h"
#include "lib/item.h"
#include "lib/migrate.h"
#include "lib/org.h"
#include "lib/report.h"
#include "testutil.h"
#include "util/error.h"
#include "util/timefmt.h"

#include <glib.h>
#include <string.h>

typedef struct world {
	csip_test_hub *t;
	int64_t energy, finance;
	int64_t hub, prov, prov2, in_sig, other, no_nda, partner;
} world;

static int64_t
org(world *w, const char *name, const char *display, const char *role,
    const char *nda, char **sigs, char **doms, char **nets)
{
	csip_org_spec spec = { .name = name, .display_name = display,
		.role = role, .nda_date = nda, .sigs = sigs, .domains = doms,
		.networks = nets };
	int64_t id;

	csip_assert_ok(csip_org_add(w->t->hub, "test", &spec, &id));
	return id;
}

static void
world_init(world *w)
{
	char *energy[] = { "energy", NULL }, *finance[] = { "finance", NULL };
	char *doms[] = { "kanto-power.example", "xn--bcher-kva.example",
			 NULL };
	char *nets[] = { "10.20.0.0/16", "2001:db8:20::/48", NULL };
	char *doms2[] = { "chubu-gas.example", NULL };

	memset(w, 0, sizeof *w);
	w->t = csip_test_hub_new();
	csip_assert_ok(csip_sig_add(w->t->hub, "test", "energy", NULL,
				    &w->energy));
	csip_assert_ok(csip_sig_add(w->t->hub, "test", "finance", NULL,
				    &w->finance));
	w->hub = org(w, "ipa", NULL, "hub", NULL, NULL, NULL, NULL);
	w->prov = org(w, "kanto-power", "関東電力", "participant",
		      "2024-04-01", energy, doms, nets);
	w->prov2 = org(w, "chubu-gas", "Chubu Gas", "participant",
		       "2024-04-01", energy, doms2, NULL);
	w->in_sig = org(w, "tohoku-power", NULL, "participant", "2024-04-01",
			energy, NULL, NULL);
	w->other = org(w, "mizuho-bank", NULL, "participant", "2024-04-01",
		       finance, NULL, NULL);
	w->no_nda = org(w, "new-member", NULL, "participant", NULL, energy,
			NULL, NULL);
	w->partner = org(w, "npa", NULL, "partner", NULL, NULL, NULL, NULL);
}

static int64_t
count(world *w, const char *sql)
{
	int64_t n = -1;

	csip_assert_ok(csip_store_query_int64(csip_hub_store(w->t->hub), &n,
					      sql, NULL));
	return n;
}

static void
sql(world *w, const char *q)
{
	csip_assert_ok(csip_store_exec(csip_hub_store(w->t->hub), q));
}

static void
reader(world *w, int64_t org_id, csip_reader *r)
{
	csip_assert_ok(csip_reader_load(csip_hub_store(w->t->hub), org_id, r));
}

/* Everything an item write touches. */
static char *
snapshot(world *w)
{
	static const char *const q[] = {
		"SELECT COUNT(*) FROM item",
		"SELECT COALESCE(SUM(revision), 0) FROM item",
		"SELECT COUNT(*) FROM item WHERE status = 'published'",
		"SELECT COUNT(*) FROM item WHERE published_at IS NOT NULL",
		"SELECT COUNT(*) FROM item_sig",
		"SELECT COUNT(*) FROM item_source",
		"SELECT COUNT(*) FROM item_indicator",
		"SELECT COUNT(*) FROM item_approval",
		"SELECT COUNT(*) FROM item_approval WHERE decision = "
		"'approved'",
		"SELECT COUNT(*) FROM item_recipient",
		"SELECT COUNT(*) FROM report WHERE shared_at IS NOT NULL",
		"SELECT COUNT(*) FROM outbox",
		"SELECT COUNT(*) FROM audit_log",
	};
	GString *s = g_string_new(NULL);

	for (size_t i = 0; i < G_N_ELEMENTS(q); i++)
		g_string_append_printf(s, "%" G_GINT64_FORMAT "/",
				       count(w, q[i]));
	return g_string_free(s, FALSE);
}

static int64_t
create(world *w, const char *title, const char *audience, char **sigs,
       int64_t *reports, size_t n_reports, const csip_item_ind *inds,
       size_t n_inds)
{
	csip_item_spec spec = { .title = title, .audience = audience,
		.sigs = sigs, .report_ids = reports, .n_reports = n_reports,
		.indicators = inds, .n_indicators = n_inds };
	int64_t id = 0;

	csip_assert_ok(csip_item_create(w->t->hub, "test", &spec, &id));
	g_assert_cmpint(id, >, 0);
	return id;
}

static void
approve_all(world *w, int64_t id)
{
	csip_stmt *st = NULL;
	GArray *orgs = g_array_new(FALSE, FALSE, sizeof(int64_t));
	char ib[24];

	csip_assert_ok(csip_item_submit(w->t->hub, "test", id));
	g_snprintf(ib, sizeof ib, "%" G_GINT64_FORMAT, id);
	csip_assert_ok(csip_store_prepare_bind(csip_hub_store(w->t->hub), &st,
		"SELECT org_id FROM item_approval WHERE item_id = ?", ib,
		NULL));
	while (csip_stmt_step(st) == CSIP_ROW) {
		int64_t o = csip_stmt_int64(st, 0);

		g_array_append_val(orgs, o);
	}
	csip_stmt_free(st);
	for (guint i = 0; i < orgs->len; i++)
		csip_assert_ok(csip_item_decide(w->t->hub, "test", id,
			g_array_index(orgs, int64_t, i), "approve", NULL));
	g_array_unref(orgs);
}

static const csip_item_ind evil_inds[] = {
	{ "domain", "EVIL-cdn.example", "link" },
	{ "ipv4", "198.51.100.7", NULL },
};

/* A published item from one new report of kanto-power. */
static int64_t
published(world *w, const char *permission, const char *attribution,
	  const char *audience, char **sigs, size_t *n_recipients)
{
	int64_t rep = csip_test_report_add(w->t, "kanto-power", permission,
					   attribution, NULL);
	int64_t id = create(w, "Phishing wave", audience, sigs, &rep, 1,
			    evil_inds, G_N_ELEMENTS(evil_inds));
	size_t n = 0;

	approve_all(w, id);
	csip_assert_ok(csip_item_publish(w->t->hub, "test", id, &n));
	if (n_recipients)
		*n_recipients = n;
	return id;
}

/* ---- validation ------------------------------------------------------ */

static void
test_create_rejects(void)
{
	world w;
	int64_t rep, rep_sig, nosuch = 9999, id;
	char *energy[] = { "energy", NULL }, *finance[] = { "finance", NULL };
	char *bogus[] = { "no-such-sig", NULL }, *empty_tag[] = { "", NULL };
	csip_item_ind bad_ind[] = { { "domain", "not a domain", NULL } };
	csip_item_ind bad_type[] = { { "colour", "red", NULL } };
	char *before;
	struct {
		csip_item_spec spec;
		int code;
		const char *needle;
	} cases[] = {
		{ { .audience = "public", .n_reports = 1 }, CSIP_EINVAL,
		  "title is required" },
		{ { .title = "t", .n_reports = 1 }, CSIP_EINVAL,
		  "audience is required" },
		{ { .title = "t", .audience = "world", .n_reports = 1 },
		  CSIP_EINVAL, "world" },
		{ { .title = "t", .audience = "public", .tlp = "purple",
		    .n_reports = 1 }, CSIP_EINVAL, "purple" },
		{ { .title = "t", .audience = "public", .severity = "dire",
		    .n_reports = 1 }, CSIP_EINVAL, "dire" },
		{ { .title = "t", .audience = "public", .tags = empty_tag,
		    .n_reports = 1 }, CSIP_EINVAL, "tag" },
		{ { .title = "t", .audience = "public" }, CSIP_EINVAL,
		  "at least one source report" },
		{ { .title = "t", .audience = "sig", .n_reports = 1 },
		  CSIP_EINVAL, "names no SIG" },
		{ { .title = "t", .audience = "public", .sigs = energy,
		    .n_reports = 1 }, CSIP_EINVAL, "only to audience sig" },
		{ { .title = "t", .audience = "sig", .sigs = bogus,
		    .n_reports = 1 }, CSIP_ENOTFOUND, "no-such-sig" },
		{ { .title = "t", .audience = "public", .report_ids = &nosuch,
		    .n_reports = 1 }, CSIP_ENOTFOUND, "report 9999" },
		{ { .title = "t", .audience = "public", .n_reports = 1,
		    .indicators = bad_ind, .n_indicators = 1 }, CSIP_EINVAL,
		  "indicator 0" },
		{ { .title = "t", .audience = "public", .n_reports = 1,
		    .indicators = bad_type, .n_indicators = 1 }, CSIP_EINVAL,
		  "colour" },
		/* Wider than the source allows. */
		{ { .title = "t", .audience = "partners", .n_reports = 1 },
		  CSIP_EPERM, "\"community\"" },
		{ { .title = "t", .audience = "sig", .sigs = finance,
		    .n_reports = 2 }, CSIP_EPERM, "provider's SIGs" },
	};

	world_init(&w);
	rep = csip_test_report_add(w.t, "kanto-power", "community", NULL,
				   NULL);
	rep_sig = csip_test_report_add(w.t, "kanto-power", "sig", NULL, NULL);
	before = snapshot(&w);
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *after;

		if (cases[i].spec.report_ids == NULL &&
		    cases[i].spec.n_reports == 1)
			cases[i].spec.report_ids = &rep;
		if (cases[i].spec.n_reports == 2) {
			cases[i].spec.report_ids = &rep_sig;
			cases[i].spec.n_reports = 1;
		}
		id = 77;
		g_assert_cmpint(csip_item_create(w.t->hub, "test",
			&cases[i].spec, &id), ==, cases[i].code);
		g_assert_cmpint(id, ==, 0);
		if (strstr(csip_error_last(), cases[i].needle) == NULL)
			g_error("case %zu: \"%s\" not in \"%s\"", i,
				cases[i].needle, csip_error_last());
		after = snapshot(&w);
		g_assert_cmpstr(after, ==, before);
		g_free(after);
	}
	g_free(before);
	csip_test_hub_free(w.t);
}

/* Without a list, the shareable observations of the sources are taken. */
static void
test_default_indicators(void)
{
	world w;
	int64_t reps[2], id;
	csip_reader r;
	json_t *o = NULL, *inds;

	world_init(&w);
	reps[0] = csip_test_report_add(w.t, "kanto-power", "public", NULL,
				       NULL);
	reps[1] = csip_test_report_add(w.t, "chubu-gas", "public", NULL,
				       NULL);
	csip_test_observation_add(w.t, reps[0], "domain", "a.example", -1);
	csip_test_observation_add(w.t, reps[0], "domain", "b.example", 0);
	csip_test_observation_add(w.t, reps[0], "domain", "c.example", 1);
	csip_test_observation_add(w.t, reps[1], "domain", "a.example", -1);
	csip_test_observation_add(w.t, reps[1], "domain", "d.example", -1);
	/* Anonymisation failed: only what the analyst marked goes out. */
	sql(&w, "UPDATE report SET shareable = 0 WHERE id = 2");
	csip_test_observation_add(w.t, reps[1], "domain", "e.example", 1);
	id = create(&w, "t", "public", NULL, reps, 2, NULL, 0);
	reader(&w, w.hub, &r);
	csip_assert_ok(csip_item_get(w.t->hub, &r, id, &o));
	inds = json_object_get(o, "indicators");
	g_assert_cmpint(json_array_size(inds), ==, 3);
	g_assert_cmpstr(json_string_value(json_object_get(json_array_get(inds,
		0), "value")), ==, "a.example");
	g_assert_cmpstr(json_string_value(json_object_get(json_array_get(inds,
		1), "value")), ==, "c.example");
	g_assert_cmpstr(json_string_value(json_object_get(json_array_get(inds,
		2), "value")), ==, "e.example");
	json_decref(o);
	csip_reader_clear(&r);
	csip_test_hub_free(w.t);
}

/* ---- the lifecycle --------------------------------------------------- */

static const char *
status_of(world *w, int64_t id)
{
	static char buf[32];
	csip_stmt *st = NULL;
	char ib[24];

	g_snprintf(ib, sizeof ib, "%" G_GINT64_FORMAT, id);
	csip_assert_ok(csip_store_prepare_bind(csip_hub_store(w->t->hub), &st,
		"SELECT status FROM item WHERE id = ?", ib, NULL));
	g_assert_cmpint(csip_stmt_step(st), ==, CSIP_ROW);
	g_strlcpy(buf, csip_stmt_text(st, 0), sizeof buf);
	csip_stmt_free(st);
	return buf;
}

static void
test_lifecycle(void)
{
	world w;
	int64_t reps[2], id;
	char *energy[] = { "energy", NULL }, *tags[] = { "apt", "lnk", NULL };
	csip_item_spec change = { .analysis = "Sent to many.", .tags = tags };
	csip_item_spec change2 = { .severity = "high" };
	csip_item_spec wide = { .audience = "public" };
	csip_item_spec none = { 0 };
	csip_reader rp, rs;
	json_t *o = NULL;
	size_t n = 0;
	int64_t rows, shared;
	char *before;

	world_init(&w);
	reps[0] = csip_test_report_add(w.t, "kanto-power", "community",
				       "none", NULL);
	reps[1] = csip_test_report_add(w.t, "chubu-gas", "sig", "none",
				       NULL);
	id = create(&w, "Invoice lure", "sig", energy, reps, 2, evil_inds,
		    G_N_ELEMENTS(evil_inds));
	g_assert_cmpstr(status_of(&w, id), ==, "draft");
	reader(&w, w.prov, &rp);
	reader(&w, w.in_sig, &rs);
	/* A draft is the hub's alone. */
	g_assert_cmpint(csip_item_get(w.t->hub, &rp, id, &o), ==,
			CSIP_ENOTFOUND);

	g_assert_cmpint(csip_item_update(w.t->hub, "test", id, &none), ==,
			CSIP_EINVAL);
	g_assert_cmpint(csip_item_update(w.t->hub, "test", id, &wide), ==,
			CSIP_EPERM);
	g_assert_cmpint(csip_item_update(w.t->hub, "test", 9999, &change), ==,
			CSIP_ENOTFOUND);
	csip_assert_ok(csip_item_update(w.t->hub, "test", id, &change));
	g_assert_cmpint(count(&w, "SELECT revision FROM item"), ==, 2);
	/* Nothing to decide on before submission; nothing to publish. */
	g_assert_cmpint(csip_item_decide(w.t->hub, "test", id, w.prov,
		"approve", NULL), ==, CSIP_EBUSY);
	g_assert_cmpint(csip_item_publish(w.t->hub, "test", id, &n), ==,
			CSIP_EBUSY);

	csip_assert_ok(csip_item_submit(w.t->hub, "test", id));
	g_assert_cmpstr(status_of(&w, id), ==, "pending");
	g_assert_cmpint(csip_item_submit(w.t->hub, "test", id), ==,
			CSIP_EBUSY);
	g_assert_cmpint(count(&w, "SELECT COUNT(*) FROM item_approval WHERE "
		"decision = 'pending' AND revision = 2"), ==, 2);
	/* The provider now sees it, with its approval. */
	csip_assert_ok(csip_item_get(w.t->hub, &rp, id, &o));
	g_assert_cmpstr(json_string_value(json_object_get(json_object_get(o,
		"approval"), "decision")), ==, "pending");
	g_assert_cmpint(json_integer_value(json_array_get(json_object_get(o,
		"report_ids"), 0)), ==, reps[0]);
	g_assert_cmpint(json_array_size(json_object_get(o, "report_ids")), ==,
			1);
	g_assert_null(json_object_get(o, "sources"));
	json_decref(o);
	/* Not yet to anyone else. */
	g_assert_cmpint(csip_item_get(w.t->hub, &rs, id, &o), ==,
			CSIP_ENOTFOUND);

	/* Decisions: bad input, a stranger, then a request for changes. */
	g_assert_cmpint(csip_item_decide(w.t->hub, "test", id, w.prov, "ok",
		NULL), ==, CSIP_EINVAL);
	g_assert_cmpint(csip_item_decide(w.t->hub, "test", id, w.prov,
		"request_changes", NULL), ==, CSIP_EINVAL);
	g_assert_nonnull(strstr(csip_error_last(), "comment"));
	g_assert_cmpint(csip_item_decide(w.t->hub, "test", id, w.in_sig,
		"approve", NULL), ==, CSIP_ENOTFOUND);
	csip_assert_ok(csip_item_decide(w.t->hub, "test", id, w.prov,
		"approve", NULL));
	g_assert_cmpstr(status_of(&w, id), ==, "pending");
	csip_assert_ok(csip_item_decide(w.t->hub, "test", id, w.prov2,
		"request_changes", "Say high severity"));
	g_assert_cmpstr(status_of(&w, id), ==, "changes_requested");
	g_assert_cmpint(csip_item_publish(w.t->hub, "test", id, &n), ==,
			CSIP_EBUSY);

	/* A change resets every approval. */
	csip_assert_ok(csip_item_update(w.t->hub, "test", id, &change2));
	g_assert_cmpstr(status_of(&w, id), ==, "draft");
	g_assert_cmpint(count(&w, "SELECT COUNT(*) FROM item_approval"), ==,
			0);
	csip_assert_ok(csip_item_submit(w.t->hub, "test", id));
	csip_assert_ok(csip_item_decide(w.t->hub, "test", id, w.prov,
		"approve", NULL));
	g_assert_cmpint(csip_item_publish(w.t->hub, "test", id, &n), ==,
			CSIP_EBUSY);
	csip_assert_ok(csip_item_decide(w.t->hub, "test", id, w.prov2,
		"approve", "fine"));
	g_assert_cmpstr(status_of(&w, id), ==, "approved");
	g_assert_cmpint(csip_item_decide(w.t->hub, "test", id, w.prov2,
		"approve", NULL), ==, CSIP_EBUSY);

	/* tohoku-power wants webhooks. */
	sql(&w, "UPDATE org SET webhook_url = 'https://tohoku.example/hook' "
		"WHERE name = 'tohoku-power'");
	before = snapshot(&w);
	csip_assert_ok(csip_item_publish(w.t->hub, "test", id, &n));
	g_assert_cmpstr(status_of(&w, id), ==, "published");
	/* Energy: tohoku-power; not new-member (no NDA), and not the two
	 * providers, which read their own items but are no sharing
	 * instance. */
	g_assert_cmpint(n, ==, 1);
	g_assert_cmpint(count(&w, "SELECT COUNT(*) FROM item_recipient r JOIN "
		"org o ON o.id = r.org_id WHERE o.name IN ('kanto-power', "
		"'chubu-gas', 'tohoku-power')"), ==, 1);
	g_assert_cmpint(count(&w, "SELECT COUNT(*) FROM item_recipient r JOIN "
		"org o ON o.id = r.org_id WHERE o.name = 'tohoku-power'"), ==,
		1);
	g_assert_cmpint(count(&w, "SELECT COUNT(*) FROM report WHERE "
		"shared_at IS NULL"), ==, 0);
	g_assert_cmpint(count(&w, "SELECT COUNT(*) FROM outbox o JOIN org g "
		"ON g.id = o.org_id WHERE g.name = 'tohoku-power'"), >=, 1);
	g_assert_cmpint(count(&w, "SELECT COUNT(*) FROM audit_log WHERE "
		"action = 'item.publish'"), ==, 1);
	g_free(before);
	g_assert_cmpint(csip_item_publish(w.t->hub, "test", id, &n), ==,
			CSIP_EBUSY);
	g_assert_cmpint(csip_item_update(w.t->hub, "test", id, &change2), ==,
			CSIP_EBUSY);
	csip_assert_ok(csip_item_get(w.t->hub, &rs, id, &o));
	g_assert_cmpstr(json_string_value(json_object_get(o, "severity")), ==,
			"high");
	json_decref(o);

	/* Withdrawn: the hub's alone again.  The statistics keep the
	 * sharing instances (where it went, and when). */
	shared = count(&w, "SELECT COUNT(*) FROM item_recipient");
	g_assert_cmpint(shared, >, 0);
	g_assert_cmpint(count(&w, "SELECT COUNT(*) FROM sharing_instance s "
		"JOIN item_recipient r ON r.item_id = s.item_id AND r.org_id = "
		"s.org_id AND r.shared_at = s.shared_at"), ==, shared);
	g_assert_cmpint(csip_item_withdraw(w.t->hub, "test", 9999), ==,
			CSIP_ENOTFOUND);
	csip_assert_ok(csip_item_withdraw(w.t->hub, "test", id));
	g_assert_cmpint(count(&w, "SELECT COUNT(*) FROM sharing_instance"),
			==, shared);
	g_assert_cmpint(csip_item_withdraw(w.t->hub, "test", id), ==,
			CSIP_EBUSY);
	g_assert_cmpint(count(&w, "SELECT COUNT(*) FROM item_recipient"), ==,
			0);
	g_assert_cmpint(csip_item_get(w.t->hub, &rs, id, &o), ==,
			CSIP_ENOTFOUND);
	g_assert_cmpint(csip_item_get(w.t->hub, &rp, id, &o), ==,
			CSIP_ENOTFOUND);
	csip_assert_ok(csip_audit_verify(w.t->hub, &rows));
	g_assert_cmpint(count(&w, "SELECT COUNT(*) FROM audit_log WHERE "
		"target = 'item:1'"), ==, 11);
	csip_reader_clear(&rp);
	csip_reader_clear(&rs);
	csip_test_hub_free(w.t);
}

/* An item built on a report from real mail intake. */
static void
test_from_mail(void)
{
	static const char mail[] =
		"From: Billing <billing@evil-invoice.example>\r\n"
		"To: Taro Yamada <taro.yamada@kanto-power.example>\r\n"
		"Subject: Invoice overdue\r\n"
		"Message-ID: <1@evil-invoice.example>\r\n"
		"Date: Mon, 1 Apr 2024 09:00:00 +0900\r\n"
		"\r\n"
		"Dear Taro Yamada, pay at "
		"http://pay.evil-invoice.example/x\r\n";
	csip_report_in in = { .org = "kanto-power", .permission = "sig" };
	csip_ingest_result res;
	char *energy[] = { "energy", NULL };
	char *tags[] = { "taro yamada", NULL };
	csip_item_spec leak = { .tags = tags };
	world w;
	int64_t id;
	size_t n;

	world_init(&w);
	csip_assert_ok(csip_report_ingest_mail(w.t->hub, "test", &in, mail,
					       strlen(mail), &res));
	g_assert_cmpint(res.outcome, ==, CSIP_INGEST_STORED);
	id = create(&w, "Invoice lure", "sig", energy, &res.report_id, 1, NULL,
		    0);
	g_assert_cmpint(count(&w, "SELECT COUNT(*) FROM item_indicator WHERE "
		"value LIKE '%evil-invoice.example%'"), >, 0);
	g_assert_cmpint(count(&w, "SELECT COUNT(*) FROM item_indicator WHERE "
		"value LIKE '%kanto-power%'"), ==, 0);
	/* The recipient's name, which the anonymiser removed. */
	csip_assert_ok(csip_item_update(w.t->hub, "test", id, &leak));
	g_assert_cmpint(csip_item_submit(w.t->hub, "test", id), ==,
			CSIP_EPERM);
	g_assert_nonnull(strstr(csip_error_last(), "removed from report"));
	g_assert_nonnull(strstr(csip_error_last(), "tags[0]"));
	tags[0] = "invoice";
	csip_assert_ok(csip_item_update(w.t->hub, "test", id, &leak));
	approve_all(&w, id);
	csip_assert_ok(csip_item_publish(w.t->hub, "test", id, &n));
	/* The energy SIG with an NDA (chubu-gas, tohoku-power), not
	 * counting the provider, kanto-power. */
	g_assert_cmpint(n, ==, 2);
	csip_test_hub_free(w.t);
}

/* ---- refusals at publication ----------------------------------------- */

/* Something that changed after the providers approved must still stop
 * publication, with nothing written. */
static void
test_publish_refusals(void)
{
	static const char removed[] = "[{\"kind\": \"recipient-name\", "
		"\"value\": \"Hanako Suzuki\", \"placeholder\": \"[NAME]\", "
		"\"where\": [\"header:To\"]}, {\"kind\": "
		"\"recipient-address\", \"value\": \"hanako@mail.example\", "
		"\"placeholder\": null, \"where\": [\"header:To\"]}]";
	static const struct {
		const char *attribution, *audience;
		const char *change;   /* SQL run after approval; %s: item id */
		int code;
		const char *needle;
	} cases[] = {
		{ "none", "community", "UPDATE item SET title = 'About "
		  "Kanto-Power staff' WHERE id = %s", CSIP_EPERM,
		  "name of provider kanto-power" },
		{ "none", "community", "UPDATE item SET analysis = '関東電力"
		  "の社員に送付' WHERE id = %s", CSIP_EPERM,
		  "name of provider kanto-power" },
		{ "sig", "community", "UPDATE item SET title = 'kanto-power' "
		  "WHERE id = %s", CSIP_EPERM, "name of provider" },
		{ "community", "partners", "UPDATE item SET title = "
		  "'kanto-power' WHERE id = %s", CSIP_EPERM,
		  "name of provider" },
		{ "none", "community", "INSERT INTO item_indicator VALUES (%s,"
		  " 'hostname', 'mail.kanto-power.example', NULL)", CSIP_EPERM,
		  "mail domain of provider kanto-power" },
		{ "none", "community", "INSERT INTO item_indicator VALUES "
		  "(%s, 'url', 'http://kanto-power.example.evil.test/', NULL)",
		  CSIP_EPERM, "kanto-power" },
		{ "none", "community", "UPDATE item SET analysis = 'see "
		  "bücher.example' WHERE id = %s", CSIP_EPERM,
		  "mail domain" },
		{ "community", "community", "INSERT INTO item_indicator VALUES "
		  "(%s, 'ipv4', '10.20.3.4', NULL)", CSIP_EPERM,
		  "internal network" },
		{ "community", "community", "INSERT INTO item_indicator VALUES "
		  "(%s, 'url', 'http://[2001:db8:20::5]/a', NULL)",
		  CSIP_EPERM, "2001:db8:20::/48" },
		{ "none", "community", "UPDATE item SET analysis = 'relayed by"
		  " 10.20.9.9.' WHERE id = %s", CSIP_EPERM, "analysis" },
		{ "none", "community", "UPDATE item SET tags = '[\"x\", "
		  "\"hanako suzuki\"]' WHERE id = %s", CSIP_EPERM,
		  "tags[1]" },
		{ "none", "community", "INSERT INTO item_indicator VALUES (%s,"
		  " 'email', 'hanako@mail.example', NULL)", CSIP_EPERM,
		  "recipient-address" },
		/* The provider narrowed its permission before publication. */
		{ "none", "community", "UPDATE report SET permission = 'sig' "
		  "WHERE id IN (SELECT report_id FROM item_source WHERE "
		  "item_id = %s)", CSIP_EPERM, "wider" },
		/* A sig source, and an audience SIG the provider left. */
		{ "none", "sig", "DELETE FROM org_sig WHERE org_id = (SELECT id"
		  " FROM org WHERE name = 'kanto-power') AND %s > 0",
		  CSIP_EPERM, "provider's SIGs" },
		/* Allowed: the attribution reaches every recipient. */
		{ "community", "community", "UPDATE item SET title = "
		  "'Kanto-Power reports' WHERE id = %s", CSIP_OK, NULL },
		{ "sig", "sig", "UPDATE item SET title = 'kanto-power reports'"
		  " WHERE id = %s", CSIP_OK, NULL },
		/* Words that only contain a name are not the name. */
		{ "none", "community", "UPDATE item SET title = "
		  "'Xkanto-powerY 10.21.0.1' WHERE id = %s", CSIP_OK, NULL },
	};
	world w;
	char *energy[] = { "energy", NULL };

	world_init(&w);
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		int sig = strcmp(cases[i].audience, "sig") == 0;
		int64_t rep = csip_test_report_add(w.t, "kanto-power",
			sig ? "sig" : "partners", cases[i].attribution,
			removed);
		int64_t id = create(&w, "Phishing wave", cases[i].audience,
			sig ? energy : NULL, &rep, 1, evil_inds, 2);
		char ib[24], *before, *after;
		GString *q;
		size_t n = 99;
		int rc;

		approve_all(&w, id);
		g_snprintf(ib, sizeof ib, "%" G_GINT64_FORMAT, id);
		q = g_string_new(cases[i].change);
		g_string_replace(q, "%s", ib, 0);
		sql(&w, q->str);
		g_string_free(q, TRUE);
		before = snapshot(&w);
		rc = csip_item_publish(w.t->hub, "test", id, &n);
		if (rc != cases[i].code)
			g_error("case %zu: got %d (%s), want %d", i, rc,
				csip_error_last(), cases[i].code);
		if (rc == CSIP_OK) {
			g_free(before);
			csip_assert_ok(csip_item_withdraw(w.t->hub, "test",
							  id));
			continue;
		}
		if (strstr(csip_error_last(), cases[i].needle) == NULL)
			g_error("case %zu: \"%s\" not in \"%s\"", i,
				cases[i].needle, csip_error_last());
		g_assert_cmpint(n, ==, 0);
		g_assert_cmpstr(status_of(&w, id), ==, "approved");
		after = snapshot(&w);
		g_assert_cmpstr(after, ==, before);
		g_free(before);
		g_free(after);
		/* Restore what the case broke in the shared world. */
		sql(&w, "INSERT INTO org_sig SELECT id, 1 FROM org "
			"WHERE name = 'kanto-power' ON CONFLICT DO NOTHING");
	}
	csip_test_hub_free(w.t);
}

/* Submitting draft ITEM is refused for naming provider NAME in its title,
 * and leaves it a draft. */
static void
assert_submit_leaks(world *w, int64_t item, const char *name)
{
	g_assert_cmpint(csip_item_submit(w->t->hub, "test", item), ==,
			CSIP_EPERM);
	g_assert_nonnull(strstr(csip_error_last(), name));
	g_assert_nonnull(strstr(csip_error_last(), "title"));
	g_assert_cmpstr(status_of(w, item), ==, "draft");
}

/* The same checks refuse submission already: a provider sees a pending
 * item, and must not see another provider named in it. */
static void
test_submit_leak(void)
{
	world w;
	int64_t reps[2], id;
	char *energy[] = { "energy", NULL };
	csip_item_spec spec = { .title = "Chubu Gas and others",
		.audience = "sig", .sigs = energy, .report_ids = reps,
		.n_reports = 2, .indicators = evil_inds, .n_indicators = 2 };
	csip_item_spec fix = { .title = "Energy sector wave" };
	csip_reader r;
	json_t *o = NULL;

	world_init(&w);
	reps[0] = csip_test_report_add(w.t, "kanto-power", "sig", "none",
				       NULL);
	reps[1] = csip_test_report_add(w.t, "chubu-gas", "sig", "none", NULL);
	csip_assert_ok(csip_item_create(w.t->hub, "test", &spec, &id));
	assert_submit_leaks(&w, id, "chubu-gas");
	reader(&w, w.prov, &r);
	g_assert_cmpint(csip_item_get(w.t->hub, &r, id, &o), ==,
			CSIP_ENOTFOUND);
	csip_assert_ok(csip_item_update(w.t->hub, "test", id, &fix));
	csip_assert_ok(csip_item_submit(w.t->hub, "test", id));
	csip_assert_ok(csip_item_get(w.t->hub, &r, id, &o));
	/* kanto-power sees its own name, not chubu-gas's. */
	g_assert_cmpstr(json_string_value(json_array_get(json_object_get(o,
		"providers"), 0)), ==, "kanto-power");
	g_assert_true(json_is_null(json_array_get(json_object_get(o,
		"providers"), 1)));
	json_decref(o);
	csip_reader_clear(&r);
	csip_test_hub_free(w.t);
}

/* Every provider of an item reads all of it (pending, and once
 * published): the other sources' indicators and the recipients'
 * feedback.  An item of two providers whose audience does not reach one
 * of them would let that one read the other's report beyond its
 * permission: mizuho-bank (finance) reading kanto-power's energy-only
 * report, a participant without an NDA or a partner reading what is
 * shared within the community.  Such an item is refused, and one whose
 * provider leaves the audience later (its NDA cleared) stops reaching
 * it. */
static void
test_coprovider_audience(void)
{
	static const struct {
		const char *perm, *audience, *coprovider, *coperm;
	} rows[] = {
		{ "sig", "sig", "mizuho-bank", "community" },
		{ "community", "community", "new-member", "community" },
		{ "sig", "sig", "npa", "public" },
		{ "community", "community", "npa", "public" },
	};
	char *energy[] = { "energy", NULL };
	csip_org_change no_nda = { .nda_date = "" };
	world w;
	int64_t reps[2], id = 0;
	csip_reader r;
	json_t *o = NULL;
	char *before, *after;
	size_t n = 0;

	world_init(&w);
	for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
		int sig = strcmp(rows[i].audience, "sig") == 0;
		csip_item_spec spec = { .title = "Energy sector wave",
			.audience = rows[i].audience, .sigs = sig ? energy :
			NULL, .report_ids = reps, .n_reports = 2,
			.indicators = evil_inds, .n_indicators = 2 };
		char want[40];

		reps[0] = csip_test_report_add(w.t, "kanto-power",
					       rows[i].perm, "none", NULL);
		reps[1] = csip_test_report_add(w.t, rows[i].coprovider,
					       rows[i].coperm, "none", NULL);
		before = snapshot(&w);
		g_assert_cmpint(csip_item_create(w.t->hub, "test", &spec,
						 &id), ==, CSIP_EPERM);
		g_snprintf(want, sizeof want, "provider of report %"
			   G_GINT64_FORMAT, reps[1]);
		g_assert_nonnull(strstr(csip_error_last(), want));
		after = snapshot(&w);
		g_assert_cmpstr(after, ==, before);
		g_free(after);
		g_free(before);
		/* Alone, each report may be shared so: a provider reads
		 * only its own. */
		csip_assert_ok(csip_policy_check_audience(csip_hub_store(
			w.t->hub), rows[i].audience, sig ? &w.energy : NULL,
			sig, &reps[1], 1));
	}

	/* Both providers in the audience: each reads the item, until one
	 * leaves it. */
	reps[0] = csip_test_report_add(w.t, "kanto-power", "sig", "none",
				       NULL);
	reps[1] = csip_test_report_add(w.t, "tohoku-power", "community",
				       "none", NULL);
	id = create(&w, "Energy sector wave", "sig", energy, reps, 2,
		    evil_inds, G_N_ELEMENTS(evil_inds));
	approve_all(&w, id);
	csip_assert_ok(csip_item_publish(w.t->hub, "test", id, &n));
	reader(&w, w.in_sig, &r);
	csip_assert_ok(csip_item_get(w.t->hub, &r, id, &o));
	g_assert_nonnull(json_object_get(o, "report_ids"));
	json_decref(o);
	csip_reader_clear(&r);
	csip_assert_ok(csip_org_update(w.t->hub, "test", "tohoku-power",
				       &no_nda));
	reader(&w, w.in_sig, &r);
	g_assert_cmpint(csip_item_get(w.t->hub, &r, id, &o), ==,
			CSIP_ENOTFOUND);
	csip_reader_clear(&r);
	reader(&w, w.prov, &r);
	csip_assert_ok(csip_item_get(w.t->hub, &r, id, &o));
	json_decref(o);
	csip_reader_clear(&r);
	csip_test_hub_free(w.t);
}

/* A provider that changes its report's sharing while an item built on it
 * awaits consent: the item was checked, and shown to the other provider,
 * under the old settings, so it goes back to a draft of a new revision
 * that no provider reads, and submitting it again checks it anew. */
static void
test_sharing_change_resets(void)
{
	world w;
	int64_t reps[2], id, other;
	csip_reader r;
	json_t *o = NULL;

	world_init(&w);
	reps[0] = csip_test_report_add(w.t, "kanto-power", "community",
				       "community", NULL);
	reps[1] = csip_test_report_add(w.t, "chubu-gas", "community", "none",
				       NULL);
	/* A draft on the same report stays as it is. */
	other = create(&w, "Energy sector draft", "community", NULL, reps, 1,
		       evil_inds, G_N_ELEMENTS(evil_inds));
	id = create(&w, "Energy sector wave", "community", NULL, reps, 2,
		    evil_inds, G_N_ELEMENTS(evil_inds));
	csip_assert_ok(csip_item_submit(w.t->hub, "test", id));
	csip_assert_ok(csip_item_decide(w.t->hub, "test", id, w.prov,
					"approve", NULL));
	reader(&w, w.prov2, &r);
	csip_assert_ok(csip_item_get(w.t->hub, &r, id, &o));
	json_decref(o);

	csip_assert_ok(csip_report_set_sharing(w.t->hub, "user:ann", reps[0],
					       w.prov, "sig", "none", NULL));
	g_assert_cmpstr(status_of(&w, id), ==, "draft");
	g_assert_cmpstr(status_of(&w, other), ==, "draft");
	g_assert_cmpint(count(&w, "SELECT COUNT(*) FROM item_approval"), ==,
			0);
	g_assert_cmpint(count(&w, "SELECT revision FROM item WHERE id = (SELECT"
			" MAX(id) FROM item)"), ==, 2);
	g_assert_cmpint(csip_item_get(w.t->hub, &r, id, &o), ==,
			CSIP_ENOTFOUND);
	csip_reader_clear(&r);
	g_assert_cmpint(csip_item_submit(w.t->hub, "test", id), ==,
			CSIP_EPERM);
	g_assert_cmpstr(status_of(&w, id), ==, "draft");
	csip_test_hub_free(w.t);
}

/* ---- who sees what --------------------------------------------------- */

enum { R_HUB, R_PROV, R_IN_SIG, R_OTHER, R_NO_NDA, R_PARTNER, N_READERS };

/* The organisation of each kind of reader, by R_ index. */
static void
reader_orgs(const world *w, int64_t orgs[N_READERS])
{
	orgs[R_HUB] = w->hub;
	orgs[R_PROV] = w->prov;
	orgs[R_IN_SIG] = w->in_sig;
	orgs[R_OTHER] = w->other;
	orgs[R_NO_NDA] = w->no_nda;
	orgs[R_PARTNER] = w->partner;
}

static void
test_matrix(void)
{
	static const struct {
		const char *audience;
		/* 'h' hub view, 'p' provider view, 'r' recipient, '-' none */
		const char want[N_READERS + 1];
		size_t recipients;
	} rows[] = {
		/* chubu-gas (energy, NDA) receives too: not a reader here */
		{ "sig",       "hpr---", 2 },
		{ "community", "hprr--", 3 },
		{ "partners",  "hprr-r", 4 },
		{ "public",    "hprr-r", 4 },
	};
	char *energy[] = { "energy", NULL };
	world w;
	int64_t orgs[N_READERS];

	world_init(&w);
	reader_orgs(&w, orgs);
	for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
		size_t n = 0;
		int sig = strcmp(rows[i].audience, "sig") == 0;
		int64_t id = published(&w, "public", "none", rows[i].audience,
				       sig ? energy : NULL, &n);

		g_assert_cmpint(n, ==, rows[i].recipients);
		for (int k = 0; k < N_READERS; k++) {
			char want = rows[i].want[k];
			csip_reader r;
			json_t *o = NULL, *list = NULL;
			csip_item_query q = { .after_id = id - 1, .limit = 1 };
			char ib[24], ob[24];
			int64_t rec = 0, next = -1;
			int rc;

			reader(&w, orgs[k], &r);
			rc = csip_item_get(w.t->hub, &r, id, &o);
			if ((rc == CSIP_OK) != (want != '-'))
				g_error("%s, reader %d: get gave %d",
					rows[i].audience, k, rc);
			csip_assert_ok(csip_item_list(w.t->hub, &r, &q, &list,
						      &next));
			g_assert_cmpint(json_array_size(list), ==,
					want != '-');
			g_assert_cmpint(next, ==, 0);
			json_decref(list);
			g_snprintf(ib, sizeof ib, "%" G_GINT64_FORMAT, id);
			g_snprintf(ob, sizeof ob, "%" G_GINT64_FORMAT, orgs[k]);
			csip_assert_ok(csip_store_query_int64(csip_hub_store(
				w.t->hub), &rec, "SELECT COUNT(*) FROM "
				"item_recipient WHERE item_id = ? AND org_id = "
				"?", ib, ob, NULL));
			/* Sharing instances: recipients only, not the provider. */
			g_assert_cmpint(rec, ==, want == 'r');
			if (o) {
				char *dump = json_dumps(o, JSON_COMPACT);

				/* Only the hub learns the sources. */
				g_assert_true((json_object_get(o, "sources")
					!= NULL) == (want == 'h'));
				g_assert_true((json_object_get(o, "report_ids")
					!= NULL) == (want == 'p'));
				g_assert_true((json_object_get(o, "recipients")
					!= NULL) == (want == 'h'));
				if (want == 'r') {
					g_assert_null(strstr(dump,
							     "kanto-power"));
					g_assert_null(strstr(dump, "report"));
					g_assert_null(json_object_get(o,
						"status"));
				}
				g_assert_cmpint(json_array_size(json_object_get(
					o, "indicators")), ==, 2);
				free(dump);
				json_decref(o);
			}
			csip_reader_clear(&r);
		}
	}
	csip_test_hub_free(w.t);
}

static void
test_attribution(void)
{
	static const struct {
		const char *attribution, *audience;
		/* expected providers[0] per reader: name or NULL */
		const char *in_sig, *other, *partner;
	} rows[] = {
		{ "none", "public", NULL, NULL, NULL },
		{ "sig", "public", "kanto-power", NULL, NULL },
		{ "community", "public", "kanto-power", "kanto-power", NULL },
	};
	world w;

	world_init(&w);
	for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
		int64_t id = published(&w, "public", rows[i].attribution,
				       rows[i].audience, NULL, NULL);
		struct { int64_t org; const char *want; } rd[] = {
			{ w.in_sig, rows[i].in_sig },
			{ w.other, rows[i].other },
			{ w.partner, rows[i].partner },
			{ w.prov, "kanto-power" },
			{ w.hub, "kanto-power" },
		};

		for (size_t k = 0; k < G_N_ELEMENTS(rd); k++) {
			csip_reader r;
			json_t *o = NULL, *p;

			reader(&w, rd[k].org, &r);
			csip_assert_ok(csip_item_get(w.t->hub, &r, id, &o));
			p = json_array_get(json_object_get(o, "providers"), 0);
			g_assert_nonnull(p);
			if (rd[k].want)
				g_assert_cmpstr(json_string_value(p), ==,
						rd[k].want);
			else
				g_assert_true(json_is_null(p));
			json_decref(o);
			csip_reader_clear(&r);
		}
	}
	csip_test_hub_free(w.t);
}

/* A page of items is read a statement per part for all its items: each
 * item on the page must be exactly its view read alone, for every kind
 * of reader, with items that differ in every part (sources of two
 * providers, SIGs, indicators, approvals, feedback, recipients, status). */
static void
test_list_views(void)
{
	static const csip_item_ind other_inds[] = {
		{ "domain", "login-check.example", "link" },
		{ "url", "http://login-check.example/a", NULL },
		{ "ipv4", "203.0.113.9", NULL },
	};
	char *energy[] = { "energy", NULL };
	csip_feedback_in seen = { .kind = "sighting", .count = 2 };
	csip_feedback_in fp = { .kind = "false_positive" };
	world w;
	int64_t ids[6], reps[2], readers[N_READERS], id, fid = 0;
	int listed[6] = { 0 };
	size_t n = 0;

	world_init(&w);
	reader_orgs(&w, readers);
	ids[n++] = published(&w, "public", "community", "public", NULL, NULL);
	ids[n++] = published(&w, "public", "sig", "sig", energy, NULL);
	reps[0] = csip_test_report_add(w.t, "mizuho-bank", "public",
				       "community", NULL);
	reps[1] = csip_test_report_add(w.t, "kanto-power", "public", "none",
				       NULL);
	id = create(&w, "Two providers", "community", NULL, reps, 2,
		    other_inds, G_N_ELEMENTS(other_inds));
	approve_all(&w, id);
	csip_assert_ok(csip_item_publish(w.t->hub, "test", id, NULL));
	ids[n++] = id;
	ids[n++] = published(&w, "public", "none", "partners", NULL, NULL);
	/* Not published: the hub and the provider see them. */
	ids[n++] = create(&w, "Draft", "public", NULL, &reps[1], 1,
			  other_inds, 1);
	ids[n] = create(&w, "Pending", "community", NULL, &reps[1], 1,
			evil_inds, 1);
	csip_assert_ok(csip_item_submit(w.t->hub, "test", ids[n++]));
	for (size_t i = 0; i < n; i += 2) {
		csip_reader r;

		reader(&w, w.in_sig, &r);
		if (csip_feedback_add(w.t->hub, "test", &r, 0, ids[i], &seen,
				      &fid) < 0)
			csip_error_clear();   /* not readable by in_sig */
		csip_reader_clear(&r);
	}
	{
		csip_reader r;

		reader(&w, w.other, &r);
		csip_assert_ok(csip_feedback_add(w.t->hub, "test", &r, 0,
						 ids[2], &fp, &fid));
		csip_reader_clear(&r);
	}
	for (int k = 0; k < N_READERS; k++) {
		static const char *const statuses[] = { NULL, "draft",
							"pending" };
		csip_reader r;
		json_t *list = json_array(), *o;
		size_t i;

		reader(&w, readers[k], &r);
		for (size_t st = 0; st < G_N_ELEMENTS(statuses); st++) {
			csip_item_query q = { .limit = 100,
					      .status = statuses[st] };
			json_t *page = NULL;
			int64_t next = -1;

			csip_assert_ok(csip_item_list(w.t->hub, &r, &q, &page,
						      &next));
			g_assert_cmpint(next, ==, 0);
			json_array_extend(list, page);
			json_decref(page);
		}
		json_array_foreach(list, i, o) {
			json_t *one = NULL;
			int64_t oid = json_integer_value(json_object_get(o,
								       "id"));

			csip_assert_ok(csip_item_get(w.t->hub, &r, oid, &one));
			if (!json_equal(o, one)) {
				char *a = json_dumps(o, JSON_COMPACT);
				char *b = json_dumps(one, JSON_COMPACT);

				g_error("reader %d, item %" G_GINT64_FORMAT
					": listed %s, alone %s", k, oid, a, b);
			}
			json_decref(one);
			for (size_t j = 0; j < n; j++)
				listed[j] |= ids[j] == oid;
		}
		/* Every item a reader may read is on one of its pages. */
		for (size_t j = 0; j < n; j++) {
			json_t *one = NULL;
			int rc = csip_item_get(w.t->hub, &r, ids[j], &one);

			g_assert_cmpint(rc == CSIP_OK, ==, listed[j]);
			csip_error_clear();
			json_decref(one);
			listed[j] = 0;
		}
		if (k == R_HUB)   /* everything, drafts twice */
			g_assert_cmpuint(json_array_size(list), ==, n + 2);
		json_decref(list);
		csip_reader_clear(&r);
	}
	csip_test_hub_free(w.t);
}

static void
test_pagination(void)
{
	char *energy[] = { "energy", NULL };
	world w;
	csip_reader r, hub;
	int64_t ids[12], next = -1;
	json_t *page = NULL;
	size_t n_comm = 0;

	world_init(&w);
	/* Items mizuho-bank may read, interleaved with ones it may not. */
	for (int i = 0; i < 12; i++) {
		int visible = i % 3 != 1;

		ids[i] = published(&w, "public", "none", visible ? "community"
				   : "sig", visible ? NULL : energy, NULL);
		n_comm += visible;
	}
	g_assert_cmpint(n_comm, ==, 8);
	reader(&w, w.other, &r);
	{
		csip_item_query q = { .limit = 3 };
		int64_t seen[12];
		size_t n_seen = 0;

		do {
			csip_assert_ok(csip_item_list(w.t->hub, &r, &q, &page,
						      &next));
			for (size_t k = 0; k < json_array_size(page); k++)
				seen[n_seen++] = json_integer_value(
					json_object_get(json_array_get(page,
					k), "id"));
			g_assert_cmpint(json_array_size(page), <=, 3);
			if (next)
				g_assert_cmpint(json_array_size(page), ==, 3);
			json_decref(page);
			q.after_id = next;
		} while (next);
		g_assert_cmpint(n_seen, ==, 8);
		for (size_t k = 1; k < n_seen; k++)
			g_assert_cmpint(seen[k], >, seen[k - 1]);
	}
	/* Eight readable, pages of four: no empty page at the end. */
	{
		csip_item_query q = { .limit = 4 };

		csip_assert_ok(csip_item_list(w.t->hub, &r, &q, &page, &next));
		g_assert_cmpint(json_array_size(page), ==, 4);
		json_decref(page);
		q.after_id = next;
		csip_assert_ok(csip_item_list(w.t->hub, &r, &q, &page, &next));
		g_assert_cmpint(json_array_size(page), ==, 4);
		g_assert_cmpint(next, ==, 0);
		json_decref(page);
	}
	/* Filters. */
	{
		csip_item_query q = { .ind_type = "domain", .ind_value =
			"evil-cdn[.]EXAMPLE", .since = "2000-01-01" };
		csip_item_query bad[] = {
			{ .limit = 1001 },
			{ .since = "yesterday" },
			{ .ind_type = "domain" },
			{ .ind_type = "colour", .ind_value = "red" },
			{ .status = "lost" },
		};

		csip_assert_ok(csip_item_list(w.t->hub, &r, &q, &page, &next));
		g_assert_cmpint(json_array_size(page), ==, 8);
		json_decref(page);
		q.since = "2999-01-01T00:00:00Z";
		csip_assert_ok(csip_item_list(w.t->hub, &r, &q, &page, &next));
		g_assert_cmpint(json_array_size(page), ==, 0);
		json_decref(page);
		for (size_t k = 0; k < G_N_ELEMENTS(bad); k++)
			g_assert_cmpint(csip_item_list(w.t->hub, &r, &bad[k],
				&page, &next), ==, CSIP_EINVAL);
	}
	/* The hub sees all, and filters by status. */
	reader(&w, w.hub, &hub);
	{
		csip_item_query q = { .status = "withdrawn" };
		csip_item_query all = { 0 };

		csip_assert_ok(csip_item_withdraw(w.t->hub, "test", ids[0]));
		csip_assert_ok(csip_item_list(w.t->hub, &hub, &q, &page,
					      &next));
		g_assert_cmpint(json_array_size(page), ==, 1);
		json_decref(page);
		csip_assert_ok(csip_item_list(w.t->hub, &hub, &all, &page,
					      &next));
		g_assert_cmpint(json_array_size(page), ==, 12);
		json_decref(page);
		/* For others a status lists the items built on their own
		 * reports; this reader provided none. */
		csip_assert_ok(csip_item_list(w.t->hub, &r, &q, &page, &next));
		g_assert_cmpint(json_array_size(page), ==, 0);
		json_decref(page);
	}
	/* Stale recipient rows are not trusted: the policy decides again. */
	sql(&w, "UPDATE org SET nda_date = NULL WHERE name = 'mizuho-bank'");
	csip_reader_clear(&r);
	reader(&w, w.other, &r);
	{
		csip_item_query q = { 0 };

		g_assert_cmpint(count(&w, "SELECT COUNT(*) FROM item_recipient "
			"WHERE org_id = 5"), ==, 7);
		csip_assert_ok(csip_item_list(w.t->hub, &r, &q, &page, &next));
		g_assert_cmpint(json_array_size(page), ==, 0);
		json_decref(page);
	}
	csip_reader_clear(&r);
	csip_reader_clear(&hub);
	csip_test_hub_free(w.t);
}

/* The ids csip_item_list_published gives R from (AT, ID) on, walked in
 * batches of LIMIT, as "id,id,...". */
static char *
walk_published(world *w, const csip_reader *r, const char *at, int64_t id,
	       int limit)
{
	GString *s = g_string_new(NULL);
	char pos[32];
	int more = 1;

	g_strlcpy(pos, at ? at : "", sizeof pos);
	while (more) {
		json_t *page = NULL, *e;
		size_t i;

		csip_assert_ok(csip_item_list_published(w->t->hub, r,
			pos[0] ? pos : NULL, id, limit, &page, &more));
		g_assert_cmpint(json_array_size(page), <=, limit);
		if (more)
			g_assert_cmpint(json_array_size(page), ==, limit);
		json_array_foreach(page, i, e) {
			id = json_integer_value(json_object_get(e, "id"));
			g_strlcpy(pos, json_string_value(json_object_get(e,
				"published_at")), sizeof pos);
			g_string_append_printf(s, "%s%" G_GINT64_FORMAT,
					       s->len ? "," : "", id);
		}
		json_decref(page);
	}
	return g_string_free(s, FALSE);
}

/* IDS[K] for each K of WHICH, up to -1, as "id,id,...". */
static char *
ids_text(const int64_t *ids, const int *which)
{
	GString *s = g_string_new(NULL);

	for (; *which >= 0; which++)
		g_string_append_printf(s, "%s%" G_GINT64_FORMAT, s->len ? ","
				       : "", ids[*which]);
	return g_string_free(s, FALSE);
}

static void
test_published_order(void)
{
	static const char *const at[] = { "2024-05-01T09:00:00Z",
		"2024-05-01T09:00:00Z", "2024-05-01T09:00:00Z",
		"2024-05-01T09:00:00Z", "2024-05-01T09:00:01Z",
		"2024-05-02T00:00:00Z" };
	char *energy[] = { "energy", NULL };
	world w;
	csip_reader other, prov, hub;
	int64_t ids[6];
	char *got, *want;

	world_init(&w);
	/* Four items in one second (the position breaks ties by id), then
	 * two later ones with smaller ids; one that mizuho-bank does not
	 * receive, one withdrawn. */
	for (int i = 0; i < 6; i++) {
		char q[160];

		ids[i] = published(&w, "public", "none", i == 1 ? "sig" :
				   "community", i == 1 ? energy : NULL, NULL);
		g_snprintf(q, sizeof q, "UPDATE item SET published_at = '%s' "
			"WHERE id = %" G_GINT64_FORMAT, at[5 - i], ids[i]);
		sql(&w, q);
	}
	csip_assert_ok(csip_item_withdraw(w.t->hub, "test", ids[2]));
	reader(&w, w.other, &other);
	reader(&w, w.prov, &prov);
	reader(&w, w.hub, &hub);
	want = ids_text(ids, (const int[]){ 3, 4, 5, 1, 0, -1 });
	for (int limit = 1; limit <= 3; limit++) {
		/* The hub, and the provider through its reports. */
		got = walk_published(&w, &hub, NULL, 0, limit);
		g_assert_cmpstr(got, ==, want);
		g_free(got);
		got = walk_published(&w, &prov, NULL, 0, limit);
		g_assert_cmpstr(got, ==, want);
		g_free(got);
	}
	g_free(want);
	want = ids_text(ids, (const int[]){ 3, 4, 5, 0, -1 });
	got = walk_published(&w, &other, NULL, 0, 1);
	g_assert_cmpstr(got, ==, want);
	g_free(got);
	g_free(want);
	/* From the middle of a second: the rest of it, then what follows. */
	want = ids_text(ids, (const int[]){ 4, 5, 1, 0, -1 });
	got = walk_published(&w, &hub, at[0], ids[3], 2);
	g_assert_cmpstr(got, ==, want);
	g_free(got);
	g_free(want);
	/* After a whole second (TAXII's added_after), after a date, after
	 * the last. */
	want = ids_text(ids, (const int[]){ 1, 0, -1 });
	got = walk_published(&w, &hub, at[0], INT64_MAX, 2);
	g_assert_cmpstr(got, ==, want);
	g_free(got);
	g_free(want);
	want = ids_text(ids, (const int[]){ 0, -1 });
	got = walk_published(&w, &other, "2024-05-02", 0, 2);
	g_assert_cmpstr(got, ==, want);
	g_free(got);
	g_free(want);
	got = walk_published(&w, &hub, at[5], INT64_MAX, 2);
	g_assert_cmpstr(got, ==, "");
	g_free(got);
	csip_reader_clear(&other);
	csip_reader_clear(&prov);
	csip_reader_clear(&hub);
	csip_test_hub_free(w.t);
}

/* The published_at of item ID, in OUT. */
static void
pub_at(world *w, int64_t id, char out[static 64])
{
	csip_stmt *st = NULL;

	csip_assert_ok(csip_store_prepare(csip_hub_store(w->t->hub),
		"SELECT published_at FROM item WHERE id = ?", &st));
	csip_assert_ok(csip_stmt_bind_int64(st, 1, id));
	g_assert_cmpint(csip_stmt_step(st), ==, CSIP_ROW);
	g_strlcpy(out, csip_stmt_text(st, 0), 64);
	csip_stmt_free(st);
}

/* TAXII's date_added is published_at: to the microsecond, so that a
 * poller asking for what came after the last item it saw gets an item
 * published later in the same second; a since of a whole second still
 * takes the items published within it; items published before the
 * upgrade get the same form (migration 13); a clock stepped back does
 * not date an item before the latest. */
static void
test_published_microseconds(void)
{
	world w;
	csip_reader hub;
	csip_item_query q = { 0 };
	int64_t a, b, next;
	char at_a[64], at_b[64], norm[64], since[32], *got;
	json_t *page = NULL;
	int applied = 0, found = 0;
	size_t i;
	json_t *e;

	world_init(&w);
	a = published(&w, "community", "none", "community", NULL, NULL);
	b = published(&w, "community", "none", "community", NULL, NULL);
	pub_at(&w, a, at_a);
	pub_at(&w, b, at_b);
	g_assert_cmpuint(strlen(at_a), ==, CSIP_TIME_LEN);
	g_assert_true(csip_time_norm(at_a, norm));
	g_assert_cmpstr(norm, ==, at_a);
	g_assert_cmpstr(at_a, <, at_b);
	reader(&w, w.hub, &hub);
	/* Strictly after A's time: B only, whatever second each fell in. */
	got = walk_published(&w, &hub, at_a, INT64_MAX, 5);
	{
		char *want = g_strdup_printf("%" G_GINT64_FORMAT, b);

		g_assert_cmpstr(got, ==, want);
		g_free(want);
	}
	g_free(got);
	/* A since of A's whole second takes A. */
	g_snprintf(since, sizeof since, "%.19sZ", at_a);
	q.since = since;
	q.limit = 100;
	csip_assert_ok(csip_item_list(w.t->hub, &hub, &q, &page, &next));
	json_array_foreach(page, i, e)
		found |= json_integer_value(json_object_get(e, "id")) == a;
	g_assert_true(found);
	json_decref(page);
	/* An item published before the upgrade, to the second. */
	{
		char qs[160];

		g_snprintf(qs, sizeof qs, "UPDATE item SET published_at = "
			"'2024-05-01T09:00:00Z' WHERE id = %" G_GINT64_FORMAT, a);
		sql(&w, qs);
	}
	/* Back to version 12, so that 13 runs again: the later migrations
	 * run again too, so what they made is undone first.  A new
	 * migration that cannot run twice must be undone here as well. */
	g_assert_cmpint(csip_migrate_latest(), ==, 14);
	if (strcmp(csip_store_backend_name(csip_hub_store(w.t->hub)),
		   "sqlite") == 0) {
		sql(&w, "DROP TRIGGER campaign_report_ins");
		sql(&w, "DROP TRIGGER campaign_report_upd");
		sql(&w, "DROP TRIGGER campaign_report_del");
	} else {
		sql(&w, "DROP TRIGGER campaign_report_epoch ON "
		    "campaign_report");
		sql(&w, "DROP FUNCTION campaign_epoch_bump()");
	}
	sql(&w, "ALTER TABLE corr_state DROP COLUMN campaign_epoch");
	sql(&w, "DELETE FROM schema_version WHERE version >= 13");
	csip_assert_ok(csip_migrate(csip_hub_store(w.t->hub), &applied));
	g_assert_cmpint(applied, ==, 2);
	pub_at(&w, a, at_a);
	g_assert_cmpstr(at_a, ==, "2024-05-01T09:00:00.000000Z");
	pub_at(&w, b, norm);
	g_assert_cmpstr(norm, ==, at_b);
	/* A clock stepped back: the next publication still comes after the
	 * latest one, never at or before it. */
	{
		char qs[160];
		int64_t c;

		g_snprintf(qs, sizeof qs, "UPDATE item SET published_at = "
			"'2999-12-31T23:59:59.999999Z' WHERE id = %"
			G_GINT64_FORMAT, b);
		sql(&w, qs);
		c = published(&w, "community", "none", "community", NULL,
			      NULL);
		pub_at(&w, c, norm);
		g_assert_cmpstr(norm, ==, "3000-01-01T00:00:00.000000Z");
	}
	csip_reader_clear(&hub);
	csip_test_hub_free(w.t);
}

/* ---- disk faults ----------------------------------------------------- */

static void
test_faults(void)
{
	world w;
	int64_t rep, id = 0, rows;
	int failed = 0, done = 0;

	world_init(&w);
	sql(&w, "UPDATE org SET webhook_url = 'https://h.example/' WHERE "
		"name = 'tohoku-power'");
	rep = csip_test_report_add(w.t, "kanto-power", "public", "none", NULL);
	/* Creation. */
	for (int n = 0; n < 80 && !done; n++) {
		csip_item_spec spec = { .title = "t", .audience = "public",
			.report_ids = &rep, .n_reports = 1, .indicators =
			evil_inds, .n_indicators = 2 };
		char *before = snapshot(&w), *after;
		int rc;

		csip_store_fault_after(n);
		rc = csip_item_create(w.t->hub, "test", &spec, &id);
		csip_store_fault_clear();
		csip_test_hub_reopen(w.t);
		after = snapshot(&w);
		if (rc < 0) {
			failed++;
			g_assert_cmpstr(after, ==, before);
		} else {
			done = 1;
		}
		csip_assert_ok(csip_audit_verify(w.t->hub, &rows));
		g_free(before);
		g_free(after);
	}
	g_assert_true(done);
	g_assert_cmpint(failed, >, 0);

	/* Publication: recipients, shared_at, outbox and audit together or
	 * not at all. */
	approve_all(&w, id);
	done = 0;
	failed = 0;
	for (int n = 0; n < 200 && !done; n++) {
		char *before = snapshot(&w), *after;
		size_t got = 0;
		int rc;

		csip_store_fault_after(n);
		rc = csip_item_publish(w.t->hub, "test", id, &got);
		csip_store_fault_clear();
		csip_test_hub_reopen(w.t);
		after = snapshot(&w);
		if (rc < 0) {
			failed++;
			g_assert_cmpstr(after, ==, before);
			g_assert_cmpstr(status_of(&w, id), ==, "approved");
		} else {
			done = 1;
			g_assert_cmpint(got, ==, 4);
			g_assert_cmpint(count(&w, "SELECT COUNT(*) FROM "
				"item_recipient"), ==, 4);
			g_assert_cmpint(count(&w, "SELECT COUNT(*) FROM "
				"outbox"), >=, 1);
		}
		csip_assert_ok(csip_audit_verify(w.t->hub, &rows));
		g_free(before);
		g_free(after);
	}
	g_assert_true(done);
	g_assert_cmpint(failed, >, 0);
	csip_test_hub_free(w.t);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/item/create-rejects", test_create_rejects);
	g_test_add_func("/item/default-indicators", test_default_indicators);
	g_test_add_func("/item/lifecycle", test_lifecycle);
	g_test_add_func("/item/from-mail", test_from_mail);
	g_test_add_func("/item/publish-refusals", test_publish_refusals);
	g_test_add_func("/item/submit-leak", test_submit_leak);
	g_test_add_func("/item/coprovider-audience",
			test_coprovider_audience);
	g_test_add_func("/item/sharing-change-resets",
			test_sharing_change_resets);
	g_test_add_func("/item/matrix", test_matrix);
	g_test_add_func("/item/attribution", test_attribution);
	g_test_add_func("/item/list-views", test_list_views);
	g_test_add_func("/item/pagination", test_pagination);
	g_test_add_func("/item/published-order", test_published_order);
	g_test_add_func("/item/published-microseconds",
			test_published_microseconds);
	g_test_add_func("/item/faults", test_faults);
	return g_test_run();
}
