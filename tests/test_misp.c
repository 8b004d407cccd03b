/*
 * test_misp.c - the MISP feed: deterministic UUIDs, the mapping of every
 * indicator type to a MISP (type, category) pair that MISP's describeTypes
 * table allows, who gets which event (hub, provider, recipients,
 * non-recipients, partners), that no provider is named anywhere, that
 * manifest, events and hashes.csv agree, paging past one page, and
 * streams that stop on a failing writer.
 */
#include "lib/indicator.h"
#include "lib/item.h"
#include "lib/misp.h"
#include "lib/org.h"
#include "testutil.h"
#include "util/error.h"

#include <glib.h>
#include <string.h>

typedef struct world {
	csip_test_hub *t;
	int64_t hub, prov, in_sig, other, no_nda, partner;
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
	char *doms[] = { "kanto-power.example", NULL };
	char *nets[] = { "10.20.0.0/16", NULL };

	int64_t sig;

	memset(w, 0, sizeof *w);
	w->t = csip_test_hub_new();
	csip_assert_ok(csip_sig_add(w->t->hub, "test", "energy", NULL, &sig));
	csip_assert_ok(csip_sig_add(w->t->hub, "test", "finance", NULL, &sig));
	w->hub = org(w, "ipa", "IPA Security Center", "hub", NULL, NULL, NULL,
		     NULL);
	w->prov = org(w, "kanto-power", "関東電力", "participant",
		      "2024-04-01", energy, doms, nets);
	w->in_sig = org(w, "tohoku-power", NULL, "participant", "2024-04-01",
			energy, NULL, NULL);
	w->other = org(w, "mizuho-bank", NULL, "participant", "2024-04-01",
		       finance, NULL, NULL);
	w->no_nda = org(w, "new-member", NULL, "participant", NULL, energy,
			NULL, NULL);
	w->partner = org(w, "npa", NULL, "partner", NULL, NULL, NULL, NULL);
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

static const csip_item_ind few[] = {
	{ "domain", "evil-cdn.example", "link" },
	{ "ipv4", "198.51.100.7", "sender" },
	{ "sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
	  "7852b855", "attachment" },
};

typedef struct pub {
	const char *permission, *attribution, *audience, *tlp, *severity;
	char **sigs;
	const csip_item_ind *inds;
	size_t n_inds;
	int publish;            /* 0: leave a draft */
} pub;

/* An item from a new report of kanto-power, published unless asked. */
static int64_t
item(world *w, const char *title, const pub *p)
{
	char *tags[] = { "phishing", "tlp:white", "phishing", NULL };
	int64_t rep = csip_test_report_add(w->t, "kanto-power", p->permission,
					   p->attribution, NULL);
	csip_item_spec spec = { .title = title, .analysis = "Mails with a "
		"fake invoice; the link serves a loader.", .tlp = p->tlp,
		.audience = p->audience, .sigs = p->sigs,
		.attack_type = "targeted-mail", .severity = p->severity,
		.tags = tags, .report_ids = &rep, .n_reports = 1,
		.indicators = p->inds ? p->inds : few,
		.n_indicators = p->inds ? p->n_inds : G_N_ELEMENTS(few) };
	int64_t id = 0;

	csip_assert_ok(csip_item_create(w->t->hub, "test", &spec, &id));
	if (p->publish) {
		approve_all(w, id);
		csip_assert_ok(csip_item_publish(w->t->hub, "test", id, NULL));
	}
	return id;
}

static void
reader(world *w, int64_t org_id, csip_reader *r)
{
	csip_assert_ok(csip_reader_load(csip_hub_store(w->t->hub), org_id, r));
}

static int
gs_write(void *ud, const char *data, size_t len)
{
	g_string_append_len(ud, data, len);
	return CSIP_OK;
}

/* The manifest for ORG_ID, parsed; *text (may be NULL) gets its bytes. */
static json_t *
manifest(world *w, int64_t org_id, char **text)
{
	GString *s = g_string_new(NULL);
	json_error_t err;
	csip_reader r;
	json_t *m;

	reader(w, org_id, &r);
	csip_assert_ok(csip_misp_manifest(w->t->hub, &r, gs_write, s));
	csip_reader_clear(&r);
	m = json_loads(s->str, 0, &err);
	if (m == NULL)
		g_error("manifest is not JSON: %s\n%s", err.text, s->str);
	g_assert_true(json_is_object(m));
	if (text)
		*text = g_strdup(s->str);
	g_string_free(s, TRUE);
	return m;
}

static char *
hashes(world *w, int64_t org_id)
{
	GString *s = g_string_new(NULL);
	csip_reader r;

	reader(w, org_id, &r);
	csip_assert_ok(csip_misp_hashes(w->t->hub, &r, gs_write, s));
	csip_reader_clear(&r);
	return g_string_free(s, FALSE);
}

/* The event UUID for ORG_ID, or NULL with *rc set. */
static json_t *
event(world *w, int64_t org_id, const char *uuid, int *rc)
{
	csip_reader r;
	json_t *e = NULL;
	int code;

	reader(w, org_id, &r);
	code = csip_misp_event(w->t->hub, &r, uuid, &e);
	csip_reader_clear(&r);
	if (rc)
		*rc = code;
	else if (code < 0)
		g_error("event %s: %s", uuid, csip_error_last());
	if (code == CSIP_OK) {
		g_assert_nonnull(e);
		g_assert_nonnull(json_object_get(e, "Event"));
	} else {
		g_assert_null(e);
	}
	return e;
}

/* The manifest key of the only item in a one-item hub, for the hub. */
static char *
only_uuid(world *w)
{
	json_t *m = manifest(w, w->hub, NULL);
	char *u;

	g_assert_cmpint(json_object_size(m), ==, 1);
	u = g_strdup(json_object_iter_key(json_object_iter(m)));
	json_decref(m);
	return u;
}

/* Event UUIDs are version 8 (they carry the item id), attribute and
 * organisation UUIDs version 5. */
static void
assert_uuid5(const char *u)
{
	g_assert_true(g_uuid_string_is_valid(u));
	g_assert_nonnull(strchr("58", u[14]));
	g_assert_nonnull(strchr("89ab", u[19]));
	for (const char *p = u; *p; p++)
		g_assert_false(g_ascii_isupper(*p));
}

/* ---- UUIDs -------------------------------------------------------------- */

static void
test_uuids(void)
{
	pub p = { "sig", "none", "sig", "amber", "high", NULL, NULL, 0, 1 };
	char *energy[] = { "energy", NULL };
	world w, w2;
	json_t *m, *e1, *e2, *e3, *x2;
	GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
	const char *key;
	json_t *v, *a;
	size_t i;
	char *u1;

	p.sigs = energy;
	world_init(&w);
	item(&w, "Fake invoices", &p);
	u1 = only_uuid(&w);
	assert_uuid5(u1);
	item(&w, "Fake invoices, second wave", &p);
	m = manifest(&w, w.hub, NULL);
	g_assert_cmpint(json_object_size(m), ==, 2);
	g_assert_nonnull(json_object_get(m, u1));
	json_object_foreach(m, key, v) {
		json_t *orgc = json_object_get(v, "Orgc");

		assert_uuid5(key);
		g_assert_cmpstr(json_string_value(json_object_get(orgc,
			"name")), ==, "IPA Security Center");
		assert_uuid5(json_string_value(json_object_get(
			json_object_get(v, "Orgc"), "uuid")));
	}

	/* The same event, attribute for attribute, on every export and
	 * after a restart. */
	e1 = event(&w, w.hub, u1, NULL);
	e2 = event(&w, w.hub, u1, NULL);
	g_assert_true(json_equal(e1, e2));
	csip_test_hub_reopen(w.t);
	e3 = event(&w, w.hub, u1, NULL);
	g_assert_true(json_equal(e1, e3));
	g_assert_cmpstr(json_string_value(json_object_get(json_object_get(e1,
		"Event"), "uuid")), ==, u1);
	json_array_foreach(json_object_get(json_object_get(e1, "Event"),
			   "Attribute"), i, a) {
		const char *au = json_string_value(json_object_get(a, "uuid"));

		assert_uuid5(au);
		g_assert_false(g_hash_table_contains(seen, au));
		g_hash_table_add(seen, (gpointer)au);
	}
	g_assert_cmpint(g_hash_table_size(seen), ==, G_N_ELEMENTS(few) + 1);
	/* A UUID in capitals names the same event. */
	{
		char *up = g_ascii_strup(u1, -1);

		x2 = event(&w, w.hub, up, NULL);
		g_assert_true(json_equal(e1, x2));
		json_decref(x2);
		g_free(up);
	}

	/* Another hub (another key) names its item 1 differently. */
	world_init(&w2);
	item(&w2, "Fake invoices", &p);
	{
		char *u2 = only_uuid(&w2);
		json_t *o1 = json_object_get(json_object_get(m, u1), "Orgc");
		json_t *m2 = manifest(&w2, w2.hub, NULL);
		json_t *o2 = json_object_get(json_object_get(m2, u2), "Orgc");

		g_assert_cmpstr(u1, !=, u2);
		g_assert_cmpstr(json_string_value(json_object_get(o1, "uuid")),
			!=, json_string_value(json_object_get(o2, "uuid")));
		json_decref(m2);
		g_free(u2);
	}

	g_hash_table_unref(seen);
	json_decref(e1);
	json_decref(e2);
	json_decref(e3);
	json_decref(m);
	g_free(u1);
	csip_test_hub_free(w.t);
	csip_test_hub_free(w2.t);
}

/* ---- types and categories ----------------------------------------------- */

/* Every indicator type csip has, with the roles that change the
 * mapping, and what MISP should get. */
static const struct {
	csip_item_ind ind;
	const char *type, *category, *value;
	int to_ids;
} every[] = {
	{ { "ipv4", "198.51.100.7", "sender" }, "ip-src", "Network activity",
	  NULL, 1 },
	{ { "ipv4", "198.51.100.8", "relay" }, "ip-src", "Network activity",
	  NULL, 1 },
	{ { "ipv4", "203.0.113.9", "c2" }, "ip-dst", "Network activity", NULL,
	  1 },
	{ { "ipv6", "2001:db8:99::1", "relay" }, "ip-src", "Network activity",
	  NULL, 1 },
	{ { "ipv6", "2001:db8:99::2", NULL }, "ip-dst", "Network activity",
	  NULL, 1 },
	{ { "cidr4", "192.0.2.0/24", NULL }, "ip-dst", "Network activity",
	  NULL, 1 },
	{ { "cidr6", "2001:db8:77::/48", "sender" }, "ip-src",
	  "Network activity", NULL, 1 },
	{ { "domain", "evil-cdn.example", "link" }, "domain",
	  "Network activity", NULL, 1 },
	{ { "hostname", "www.evil-cdn.example", NULL }, "hostname",
	  "Network activity", NULL, 1 },
	{ { "url", "http://evil-cdn.example/login", "link" }, "url",
	  "Payload delivery", NULL, 1 },
	{ { "url", "https://drop.example/x", NULL }, "url",
	  "Network activity", NULL, 1 },
	{ { "email", "attacker@evil-mail.example", "sender" }, "email-src",
	  "Payload delivery", NULL, 1 },
	{ { "email", "answer@evil-mail.example", "reply-to" },
	  "email-reply-to", "Payload delivery", NULL, 1 },
	{ { "email", "drop@evil-mail.example", NULL }, "email",
	  "Payload delivery", NULL, 1 },
	{ { "md5", "d41d8cd98f00b204e9800998ecf8427e", "attachment" }, "md5",
	  "Payload delivery", NULL, 1 },
	{ { "sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709", NULL }, "sha1",
	  "Payload delivery", NULL, 1 },
	{ { "sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991"
	    "b7852b855", NULL }, "sha256", "Payload delivery", NULL, 1 },
	{ { "sha512", "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a92"
	    "1d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a53832"
	    "7af927da3e", NULL }, "sha512", "Payload delivery", NULL, 1 },
	{ { "ssdeep", "96:s4Ud1Lj96tHHlZDrwciQmA+4uy1I0G4HYuL8N3TzS8QsO/wqWXL"
	    "c:sThW5oJkB0tYO", NULL }, "ssdeep", "Payload delivery", NULL, 1 },
	{ { "filename", "invoice.pdf.exe", "attachment" }, "filename",
	  "Payload delivery", NULL, 0 },
	{ { "asn", "AS64496", NULL }, "AS", "Network activity", "64496", 0 },
	{ { "mutex", "Global\\EvilLoaderMutex", NULL }, "mutex",
	  "Artifacts dropped", NULL, 1 },
	{ { "regkey", "HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\"
	    "CurrentVersion\\Run\\evilloader", NULL }, "regkey",
	  "Persistence mechanism", NULL, 1 },
	{ { "user-agent", "Mozilla/4.0 (compatible; EvilBot 1.0)", NULL },
	  "user-agent", "Network activity", NULL, 0 },
	{ { "email-subject", "Invoice overdue", "subject" }, "email-subject",
	  "Payload delivery", NULL, 0 },
	{ { "x-mailer", "EvilMailer 2.1", "mailer" }, "email-x-mailer",
	  "Payload delivery", NULL, 0 },
};

/* MISP's describeTypes.json, from the shared test data beside the source
 * tree; NULL when it is not there. */
static json_t *
describe_types(void)
{
	char *path = g_test_build_filename(G_TEST_DIST, "..", "..", "shared",
		"testdata", "misp", "describeTypes.json", NULL);
	json_t *d = json_load_file(path, 0, NULL);

	g_free(path);
	return json_object_get(d, "result") ? d : (json_decref(d), NULL);
}

static int
allowed(json_t *dt, const char *type, const char *category)
{
	json_t *types = json_object_get(json_object_get(json_object_get(dt,
		"result"), "category_type_mappings"), category), *t;
	size_t i;

	json_array_foreach(types, i, t)
		if (strcmp(json_string_value(t), type) == 0)
			return 1;
	return 0;
}

static void
test_types(void)
{
	csip_item_ind inds[G_N_ELEMENTS(every)];
	pub p = { "public", "none", "public", "clear", NULL, NULL, inds,
		  G_N_ELEMENTS(every), 1 };
	int covered[CSIP_IND__COUNT] = { 0 };
	json_t *dt = describe_types(), *e, *attrs, *a = NULL;
	world w;
	char *u;
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(every); i++) {
		inds[i] = every[i].ind;
		covered[csip_ind_type_from_name(every[i].ind.type)] = 1;
	}
	/* The table above covers every type csip knows. */
	for (int t = 1; t < CSIP_IND__COUNT; t++)
		if (!covered[t])
			g_error("indicator type %s is missing from the test",
				csip_ind_type_name((csip_ind_type)t));
	world_init(&w);
	item(&w, "Every kind of indicator", &p);
	u = only_uuid(&w);
	e = event(&w, w.in_sig, u, NULL);
	attrs = json_object_get(json_object_get(e, "Event"), "Attribute");
	g_assert_cmpint(json_array_size(attrs), ==, G_N_ELEMENTS(every) + 1);
	for (i = 0; i < G_N_ELEMENTS(every); i++) {
		csip_indicator *ind = NULL;
		const char *want;
		size_t k;

		/* The attribute carries the canonical value. */
		csip_assert_ok(csip_indicator_parse(every[i].ind.value,
			strlen(every[i].ind.value), csip_ind_type_from_name(
			every[i].ind.type), &ind));
		want = every[i].value ? every[i].value : ind->value;
		json_array_foreach(attrs, k, a)
			if (strcmp(json_string_value(json_object_get(a,
				   "value")), want) == 0)
				break;
		if (k == json_array_size(attrs))
			g_error("no attribute for %s %s", every[i].ind.type,
				want);
		g_assert_cmpstr(json_string_value(json_object_get(a, "type")),
				==, every[i].type);
		g_assert_cmpstr(json_string_value(json_object_get(a,
				"category")), ==, every[i].category);
		g_assert_cmpint(json_is_true(json_object_get(a, "to_ids")), ==,
				every[i].to_ids);
		g_assert_cmpstr(json_string_value(json_object_get(a,
			"comment")), ==, every[i].ind.role ? every[i].ind.role
			: "");
		csip_indicator_free(ind);
	}
	if (dt == NULL) {
		g_test_skip("describeTypes.json not found in "
			    "../shared/testdata/misp beside the source tree: "
			    "the (type, category) pairs were not checked "
			    "against MISP's table");
	} else {
		json_array_foreach(attrs, i, a) {
			const char *t = json_string_value(json_object_get(a,
				"type"));
			const char *c = json_string_value(json_object_get(a,
				"category"));

			if (!allowed(dt, t, c))
				g_error("MISP does not allow type %s in "
					"category %s", t, c);
		}
		for (i = 0; i < G_N_ELEMENTS(every); i++)
			g_assert_true(allowed(dt, every[i].type,
					      every[i].category));
	}
	json_decref(dt);
	json_decref(e);
	g_free(u);
	csip_test_hub_free(w.t);
}

#define UNKNOWN "5a0c6f2e-0000-5000-8000-000000000000"

/* ---- who gets what ------------------------------------------------------ */

static void
test_policy(void)
{
	char *energy[] = { "energy", NULL };
	pub sig = { "sig", "none", "sig", "amber", "high", energy, NULL, 0,
		    1 };
	pub pubc = { "public", "none", "public", "clear", "low", NULL, NULL,
		     0, 1 };
	pub comm = { "community", "none", "community", "green", "medium",
		     NULL, NULL, 0, 1 };
	pub strict = { "partners", "none", "partners", "amber+strict",
		       "critical", NULL, NULL, 0, 1 };
	pub pubg = { "public", "none", "public", "green", NULL, NULL, NULL, 0,
		     1 };
	pub draft = { "public", "none", "public", "clear", NULL, NULL, NULL, 0,
		      0 };
	struct {
		const char *title;
		pub *p;
		const char *tlp, *distribution, *threat;
		char *uuid;
	} items[] = {
		{ "Energy sector wave", &sig, "tlp:amber", "0", "1", NULL },
		{ "Public wave", &pubc, "tlp:clear", "3", "3", NULL },
		{ "Community wave", &comm, "tlp:green", "0", "2", NULL },
		{ "Partners wave", &strict, "tlp:amber+strict", "0", "1",
		  NULL },
		{ "Public green wave", &pubg, "tlp:green", "1", "4", NULL },
	};
	enum { SIG, PUB, COMM, PART, PUBG, N };
	/* Which of the items above each reader gets. */
	struct {
		int64_t *org;
		int sees[N];
	} readers[] = {
		{ NULL, { 1, 1, 1, 1, 1 } },     /* hub */
		{ NULL, { 1, 1, 1, 1, 1 } },     /* the provider */
		{ NULL, { 1, 1, 1, 1, 1 } },     /* same SIG */
		{ NULL, { 0, 1, 1, 1, 1 } },     /* another SIG */
		{ NULL, { 0, 0, 0, 0, 0 } },     /* no NDA */
		{ NULL, { 0, 1, 0, 1, 1 } },     /* partner */
	};
	int64_t withdrawn, draft_id;
	char *wd_uuid = NULL, *unknown_msg;
	world w;
	json_t *m;
	int rc;

	world_init(&w);
	readers[0].org = &w.hub;
	readers[1].org = &w.prov;
	readers[2].org = &w.in_sig;
	readers[3].org = &w.other;
	readers[4].org = &w.no_nda;
	readers[5].org = &w.partner;

	/* A withdrawn item leaves the feed, for everyone. */
	withdrawn = item(&w, "Withdrawn wave", &pubc);
	wd_uuid = only_uuid(&w);
	csip_assert_ok(csip_item_withdraw(w.t->hub, "test", withdrawn));
	for (size_t i = 0; i < N; i++) {
		item(&w, items[i].title, items[i].p);
		m = manifest(&w, w.hub, NULL);
		/* The new key is the one not seen before. */
		{
			const char *key;
			json_t *v;

			json_object_foreach(m, key, v) {
				int old = 0;

				for (size_t k = 0; k < i; k++)
					old |= strcmp(items[k].uuid, key) == 0;
				if (!old)
					items[i].uuid = g_strdup(key);
			}
		}
		g_assert_nonnull(items[i].uuid);
		json_decref(m);
	}
	draft_id = item(&w, "Draft wave", &draft);
	g_assert_cmpint(draft_id, >, 0);

	g_assert_null(event(&w, w.hub, UNKNOWN, &rc));
	g_assert_cmpint(rc, ==, CSIP_ENOTFOUND);
	unknown_msg = g_strdup(csip_error_last());
	g_assert_null(event(&w, w.hub, wd_uuid, &rc));
	g_assert_cmpint(rc, ==, CSIP_ENOTFOUND);

	for (size_t r = 0; r < G_N_ELEMENTS(readers); r++) {
		char *h = hashes(&w, *readers[r].org);
		size_t want = 0;

		m = manifest(&w, *readers[r].org, NULL);
		for (size_t i = 0; i < N; i++) {
			json_t *e, *ev, *entry = json_object_get(m,
				items[i].uuid);

			want += readers[r].sees[i];
			g_assert_cmpint(entry != NULL, ==, readers[r].sees[i]);
			g_assert_cmpint(strstr(h, items[i].uuid) != NULL, ==,
					readers[r].sees[i]);
			e = event(&w, *readers[r].org, items[i].uuid, &rc);
			if (!readers[r].sees[i]) {
				char **parts = g_strsplit(unknown_msg,
					UNKNOWN, -1);
				char *same = g_strjoinv(items[i].uuid, parts);

				/* Answered exactly as an unknown UUID. */
				g_assert_cmpint(rc, ==, CSIP_ENOTFOUND);
				g_assert_cmpstr(csip_error_last(), ==, same);
				g_strfreev(parts);
				g_free(same);
				continue;
			}
			g_assert_cmpint(rc, ==, CSIP_OK);
			ev = json_object_get(e, "Event");
			g_assert_true(json_is_true(json_object_get(ev,
				"published")));
			g_assert_cmpstr(json_string_value(json_object_get(ev,
				"distribution")), ==, items[i].distribution);
			g_assert_cmpstr(json_string_value(json_object_get(ev,
				"threat_level_id")), ==, items[i].threat);
			g_assert_cmpstr(json_string_value(json_object_get(
				json_array_get(json_object_get(ev, "Tag"), 0),
				"name")), ==, items[i].tlp);
			/* The manifest repeats the event's summary. */
			{
				const char *k;
				json_t *v;

				json_object_foreach(entry, k, v)
					g_assert_true(json_equal(v,
						json_object_get(ev, k)));
			}
			json_decref(e);
		}
		g_assert_cmpint(json_object_size(m), ==, want);
		g_assert_null(strstr(h, wd_uuid));
		g_assert_null(json_object_get(m, wd_uuid));
		json_decref(m);
		g_free(h);
	}
	for (size_t i = 0; i < N; i++)
		g_free(items[i].uuid);
	g_free(unknown_msg);
	g_free(wd_uuid);
	csip_test_hub_free(w.t);
}

/* ---- tags --------------------------------------------------------------- */

static void
test_tags(void)
{
	pub p = { "public", "none", "public", "red", "high", NULL, NULL, 0,
		  1 };
	world w;
	json_t *e, *tags;
	char *u;

	world_init(&w);
	item(&w, "Line one\nline two", &p);
	u = only_uuid(&w);
	e = event(&w, w.partner, u, NULL);
	tags = json_object_get(json_object_get(e, "Event"), "Tag");
	/* The item's TLP, its tags once each (a "tlp:" tag of the analyst
	 * never competes with the item's marking) and its attack type. */
	g_assert_cmpint(json_array_size(tags), ==, 3);
	g_assert_cmpstr(json_string_value(json_object_get(json_array_get(tags,
		0), "name")), ==, "tlp:red");
	g_assert_cmpstr(json_string_value(json_object_get(json_array_get(tags,
		1), "name")), ==, "phishing");
	g_assert_cmpstr(json_string_value(json_object_get(json_array_get(tags,
		2), "name")), ==, "csip:attack-type=\"targeted-mail\"");
	g_assert_cmpstr(json_string_value(json_object_get(json_object_get(e,
		"Event"), "info")), ==, "Line one line two");
	json_decref(e);
	g_free(u);
	csip_test_hub_free(w.t);
}

/* ---- no provider -------------------------------------------------------- */

static void
test_no_provider(void)
{
	/* Attribution 'community' lets recipients' views name the provider:
	 * the feed still never does. */
	pub p = { "public", "community", "public", "green", NULL, NULL, NULL,
		  0, 1 };
	static const char *const secrets[] = { "kanto-power", "関東電力",
		"kanto-power.example", "10.20." };
	int64_t orgs[6];
	world w;

	world_init(&w);
	item(&w, "Fake invoices", &p);
	item(&w, "Fake invoices again", &p);
	orgs[0] = w.hub;
	orgs[1] = w.prov;
	orgs[2] = w.in_sig;
	orgs[3] = w.other;
	orgs[4] = w.no_nda;
	orgs[5] = w.partner;
	for (size_t r = 0; r < G_N_ELEMENTS(orgs); r++) {
		GString *all = g_string_new(NULL);
		char *text, *h = hashes(&w, orgs[r]);
		json_t *m = manifest(&w, orgs[r], &text), *v;
		const char *key;

		g_string_append(all, text);
		g_string_append(all, h);
		json_object_foreach(m, key, v) {
			json_t *e = event(&w, orgs[r], key, NULL);
			char *js = json_dumps(e, 0);

			g_string_append(all, js);
			free(js);
			json_decref(e);
		}
		for (size_t s = 0; s < G_N_ELEMENTS(secrets); s++)
			if (strstr(all->str, secrets[s]))
				g_error("reader %zu got \"%s\" in the feed",
					r, secrets[s]);
		g_string_free(all, TRUE);
		json_decref(m);
		g_free(text);
		g_free(h);
	}
	csip_test_hub_free(w.t);
}

/* ---- hashes.csv --------------------------------------------------------- */

static void
test_hashes(void)
{
	pub p = { "public", "none", "public", "clear", NULL, NULL, NULL, 0, 1 };
	GRegex *line = g_regex_new("^[0-9a-f]{32},[0-9a-f-]{36}$", 0, 0,
				   NULL);
	GHashTable *want = g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, NULL);
	world w;
	json_t *m, *v;
	const char *key;
	char *h, **lines;
	size_t n = 0;

	world_init(&w);
	item(&w, "Fake invoices", &p);
	item(&w, "Fake invoices again", &p);
	m = manifest(&w, w.partner, NULL);
	g_assert_cmpint(json_object_size(m), ==, 2);
	/* Per attribute of every event: the MD5 of its value, the event's
	 * UUID (as MISP's feed generator writes them). */
	json_object_foreach(m, key, v) {
		json_t *e = event(&w, w.partner, key, NULL), *a;
		size_t i;

		json_array_foreach(json_object_get(json_object_get(e, "Event"),
				   "Attribute"), i, a) {
			char *md5 = g_compute_checksum_for_string(
				G_CHECKSUM_MD5, json_string_value(
				json_object_get(a, "value")), -1);

			g_hash_table_add(want, g_strdup_printf("%s,%s", md5,
							       key));
			g_free(md5);
			n++;
		}
		json_decref(e);
	}
	h = hashes(&w, w.partner);
	g_assert_true(g_str_has_suffix(h, "\n"));
	lines = g_strsplit(h, "\n", -1);
	g_assert_cmpint(g_strv_length(lines), ==, n + 1);
	for (size_t i = 0; i < n; i++) {
		g_assert_true(g_regex_match(line, lines[i], 0, NULL));
		g_assert_true(g_hash_table_remove(want, lines[i]));
	}
	g_assert_cmpint(g_hash_table_size(want), ==, 0);
	/* One known value, by hand. */
	{
		char *md5 = g_compute_checksum_for_string(G_CHECKSUM_MD5,
			"evil-cdn.example", -1);

		g_assert_nonnull(strstr(h, md5));
		g_free(md5);
	}
	g_strfreev(lines);
	g_free(h);
	json_decref(m);
	g_hash_table_unref(want);
	g_regex_unref(line);
	csip_test_hub_free(w.t);
}

/* ---- paging and failing writers ----------------------------------------- */

typedef struct failing {
	size_t left;     /* bytes accepted before the failure */
	size_t calls;
} failing;

static int
fail_write(void *ud, const char *data, size_t len)
{
	failing *f = ud;

	f->calls++;
	if (len > f->left)
		return csip_error_set(CSIP_EIO, "the disk is full");
	f->left -= len;
	return CSIP_OK;
}

static void
test_pages(void)
{
	pub p = { "community", "none", "community", "green", NULL, NULL, NULL,
		  0, 1 };
	enum { ITEMS = 37 };    /* more than two pages */
	world w;
	json_t *m;
	char *h, *text;
	csip_reader r;

	world_init(&w);
	for (int i = 0; i < ITEMS; i++) {
		char title[32];

		g_snprintf(title, sizeof title, "Wave %d", i);
		item(&w, title, &p);
	}
	m = manifest(&w, w.in_sig, &text);
	g_assert_cmpint(json_object_size(m), ==, ITEMS);
	h = hashes(&w, w.in_sig);
	{
		char **lines = g_strsplit(h, "\n", -1);

		g_assert_cmpint(g_strv_length(lines), ==,
				ITEMS * (G_N_ELEMENTS(few) + 1) + 1);
		g_strfreev(lines);
	}

	/* A writer that fails stops the stream with its code, at every
	 * point. */
	reader(&w, w.in_sig, &r);
	for (size_t cut = 0; cut < strlen(text); cut += 997) {
		failing f = { cut, 0 };

		g_assert_cmpint(csip_misp_manifest(w.t->hub, &r, fail_write,
						   &f), ==, CSIP_EIO);
	}
	for (size_t cut = 0; cut < strlen(h); cut += 997) {
		failing f = { cut, 0 };

		g_assert_cmpint(csip_misp_hashes(w.t->hub, &r, fail_write, &f),
				==, CSIP_EIO);
	}
	csip_reader_clear(&r);
	json_decref(m);
	g_free(text);
	g_free(h);
	csip_test_hub_free(w.t);
}

static void
test_bad_uuids(void)
{
	static const char *const bad[] = { "", "manifest", "not-a-uuid",
		"5a0c6f2e00005000800000000000000000",
		"5a0c6f2e-0000-5000-8000-00000000000g",
		"5a0c6f2e-0000-5000-8000-0000000000000" };
	pub p = { "public", "none", "public", "clear", NULL, NULL, NULL, 0, 1 };
	world w;
	int rc;

	world_init(&w);
	item(&w, "Fake invoices", &p);
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_assert_null(event(&w, w.hub, bad[i], &rc));
		g_assert_cmpint(rc, ==, CSIP_ENOTFOUND);
		g_assert_nonnull(strstr(csip_error_last(), "manifest.json"));
	}
	g_assert_null(event(&w, w.hub, NULL, &rc));
	g_assert_cmpint(rc, ==, CSIP_ENOTFOUND);
	csip_test_hub_free(w.t);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/misp/uuids", test_uuids);
	g_test_add_func("/misp/types", test_types);
	g_test_add_func("/misp/policy", test_policy);
	g_test_add_func("/misp/tags", test_tags);
	g_test_add_func("/misp/no-provider", test_no_provider);
	g_test_add_func("/misp/hashes", test_hashes);
	g_test_add_func("/misp/pages", test_pages);
	g_test_add_func("/misp/bad-uuids", test_bad_uuids);
	return g_test_run();
}
