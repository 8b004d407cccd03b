/*
 * test_stix.c - STIX 2.1 out and in: UUIDv5 against known vectors, SCO ids
 * as STIX 2.1 §2.9 computes them, a pattern for each indicator type, the
 * OASIS pattern corpus through the parser, the objects and bundles each
 * kind of reader gets (the recipient never sees the provider; anyone else
 * gets nothing), and bundles imported as reports: the OASIS examples, and
 * bad bundles refused with nothing stored.
 */
#include "lib/feedback.h"
#include "lib/item.h"
#include "lib/org.h"
#include "lib/report.h"
#include "lib/stix.h"
#include "testutil.h"
#include "util/error.h"

#include <glib.h>
#include <string.h>

/* Exported by stix.c for these vectors (not in stix.h yet). */

typedef struct world {
	csip_test_hub *t;
	int64_t energy, finance;
	int64_t hub, prov, in_sig, other, partner;
} world;

static int64_t
org(world *w, const char *name, const char *display, const char *role,
    const char *nda, char **sigs, char **doms)
{
	csip_org_spec spec = { .name = name, .display_name = display,
		.role = role, .nda_date = nda, .sigs = sigs, .domains = doms };
	int64_t id;

	csip_assert_ok(csip_org_add(w->t->hub, "test", &spec, &id));
	return id;
}

static void
world_init(world *w)
{
	char *energy[] = { "energy", NULL }, *finance[] = { "finance", NULL };
	char *doms[] = { "kanto-power.example", NULL };

	memset(w, 0, sizeof *w);
	w->t = csip_test_hub_new();
	csip_assert_ok(csip_sig_add(w->t->hub, "test", "energy", NULL,
				    &w->energy));
	csip_assert_ok(csip_sig_add(w->t->hub, "test", "finance", NULL,
				    &w->finance));
	w->hub = org(w, "ipa", NULL, "hub", NULL, NULL, NULL);
	w->prov = org(w, "kanto-power", "関東電力", "participant",
		      "2024-04-01", energy, doms);
	w->in_sig = org(w, "tohoku-power", NULL, "participant", "2024-04-01",
			energy, NULL);
	w->other = org(w, "mizuho-bank", NULL, "participant", "2024-04-01",
		       finance, NULL);
	w->partner = org(w, "npa", NULL, "partner", NULL, NULL, NULL);
}

static void
reader(world *w, int64_t org_id, csip_reader *r)
{
	csip_assert_ok(csip_reader_load(csip_hub_store(w->t->hub), org_id, r));
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

static const csip_item_ind inds[] = {
	{ "domain", "example.com", "link" },
	{ "ipv4", "198.51.100.3", NULL },
	{ "md5", "d41d8cd98f00b204e9800998ecf8427e", NULL },
	{ "asn", "AS64496", NULL },
	{ "url", "http://evil.example/a'b", NULL },
};

/* A published item of kanto-power for the energy SIG. */
static int64_t
published(world *w, const char *title, const char *tlp)
{
	char *sigs[] = { "energy", NULL };
	char *tags[] = { "phishing", "malware:PlugX", "campaign:Blue Ocean",
			 NULL };
	int64_t rep = csip_test_report_add(w->t, "kanto-power", "sig", "none",
					   NULL);
	csip_item_spec spec = { .title = title, .analysis = "Spear phishing "
		"against the energy sector.", .tlp = tlp, .audience = "sig",
		.sigs = sigs, .tags = tags, .report_ids = &rep,
		.n_reports = 1, .indicators = inds,
		.n_indicators = G_N_ELEMENTS(inds) };
	int64_t id = 0;

	csip_assert_ok(csip_item_create(w->t->hub, "test", &spec, &id));
	approve_all(w, id);
	csip_assert_ok(csip_item_publish(w->t->hub, "test", id, NULL));
	return id;
}

/* The object of OBJS with ID, or NULL. */
static json_t *
find_id(json_t *objs, const char *id)
{
	json_t *o;
	size_t i;

	json_array_foreach(objs, i, o)
		if (g_strcmp0(json_string_value(json_object_get(o, "id")),
			      id) == 0)
			return o;
	return NULL;
}

static size_t
count_type(json_t *objs, const char *type)
{
	json_t *o;
	size_t i, n = 0;

	json_array_foreach(objs, i, o)
		n += g_strcmp0(json_string_value(json_object_get(o, "type")),
			       type) == 0;
	return n;
}

/* The shared test data next to the source tree, or NULL (the test is
 * then skipped with the reason). */
static char *
shared(const char *what)
{
	const char *src = g_getenv("G_TEST_SRCDIR");
	char *p = g_build_filename(src ? src : ".", "..", "..", "shared",
				   "testdata", "stix2.1", what, NULL);

	if (!g_file_test(p, G_FILE_TEST_EXISTS)) {
		g_test_skip("the shared STIX test data is not next to the "
			    "source tree (../shared/testdata/stix2.1); "
			    "nothing to run");
		g_free(p);
		return NULL;
	}
	return p;
}

/* ---- ids ------------------------------------------------------------- */

static void
test_uuid5(void)
{
	/* RFC 4122 Appendix C namespaces; values from Python's uuid.uuid5. */
	static const uint8_t dns[16] = { 0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad,
		0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8 };
	static const uint8_t url[16] = { 0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad,
		0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8 };
	static const uint8_t stix[16] = { 0x00, 0xab, 0xed, 0xb4, 0xaa, 0x42,
		0x46, 0x6c, 0x9c, 0x01, 0xfe, 0xd2, 0x33, 0x15, 0xa9, 0xb7 };
	static const struct {
		const uint8_t *ns;
		const char *name, *uuid;
	} v[] = {
		{ dns, "python.org", "886313e1-3b8a-5372-9b90-0c9aee199e5d" },
		{ dns, "www.example.com",
		  "2ed6657d-e927-568b-95e1-2665a8aea6a2" },
		{ url, "http://example.com/",
		  "0a300ee9-f9e4-5697-a51a-efc7fafaba67" },
		{ stix, "{\"value\":\"example.com\"}",
		  "bedb4899-d24b-5401-bc86-8f6b4cc18ec7" },
		{ stix, "{\"value\":\"テスト.jp\"}",
		  "47a61ebb-3da0-57b6-99e9-e05501c4b6a1" },
	};
	char out[37];

	for (size_t i = 0; i < G_N_ELEMENTS(v); i++) {
		csip_stix_uuid5(v[i].ns, v[i].name, strlen(v[i].name), out);
		g_assert_cmpstr(out, ==, v[i].uuid);
	}
}

/* SCO ids are UUIDv5 of the RFC 8785 form of the id-contributing
 * properties: the same on every export and on every hub. */
static void
test_sco_ids(void)
{
	static const char *const want[] = {
		"domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7",
		"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4",
		"file--02fff920-f614-527c-81d1-6353633a6d21",
		"autonomous-system--9ad79ee3-2fde-5015-b0cc-7a96404effca",
		"url--752b8a4a-14c2-5872-92ed-719fc606556f",
	};
	world w, w2;
	csip_reader hr = { 0 }, hr2 = { 0 };
	json_t *a = NULL, *b = NULL, *c = NULL;
	int64_t id, id2;
	char *sa, *sb;

	world_init(&w);
	id = published(&w, "Phishing wave", "green");
	reader(&w, w.hub, &hr);
	csip_assert_ok(csip_stix_item_objects(w.t->hub, &hr, id, &a));
	csip_assert_ok(csip_stix_item_objects(w.t->hub, &hr, id, &b));
	for (size_t i = 0; i < G_N_ELEMENTS(want); i++)
		if (find_id(a, want[i]) == NULL)
			g_error("%s missing from %s", want[i],
				json_dumps(a, JSON_INDENT(1)));
	/* Stable: the same item gives the same objects. */
	sa = json_dumps(a, JSON_SORT_KEYS);
	sb = json_dumps(b, JSON_SORT_KEYS);
	g_assert_cmpstr(sa, ==, sb);
	free(sa);
	free(sb);

	/* Another hub: the same SCOs, but its own SDO ids. */
	world_init(&w2);
	id2 = published(&w2, "Phishing wave", "green");
	reader(&w2, w2.hub, &hr2);
	csip_assert_ok(csip_stix_item_objects(w2.t->hub, &hr2, id2, &c));
	g_assert_nonnull(find_id(c, want[0]));
	g_assert_cmpint(count_type(c, "report"), ==, 1);
	{
		json_t *o;
		size_t i;

		json_array_foreach(c, i, o) {
			const char *t = json_string_value(json_object_get(o,
								"type"));

			if (strcmp(t, "report") == 0 ||
			    strcmp(t, "indicator") == 0)
				g_assert_null(find_id(a, json_string_value(
					json_object_get(o, "id"))));
		}
	}
	json_decref(a);
	json_decref(b);
	json_decref(c);
	csip_reader_clear(&hr);
	csip_reader_clear(&hr2);
	csip_test_hub_free(w.t);
	csip_test_hub_free(w2.t);
}

/* ---- patterns -------------------------------------------------------- */

static void
test_patterns(void)
{
	static const struct { const char *type, *value, *pattern; } v[] = {
		{ "domain", "evil.example", "[domain-name:value = "
		  "'evil.example']" },
		{ "hostname", "www.evil.example", "[domain-name:value = "
		  "'www.evil.example']" },
		{ "ipv4", "198.51.100.7", "[ipv4-addr:value = "
		  "'198.51.100.7']" },
		{ "ipv6", "2001:db8::1", "[ipv6-addr:value = '2001:db8::1']" },
		{ "cidr4", "198.51.100.0/24", "[ipv4-addr:value = "
		  "'198.51.100.0/24']" },
		{ "cidr6", "2001:db8::/32", "[ipv6-addr:value = "
		  "'2001:db8::/32']" },
		{ "url", "http://evil.example/x?a=1", "[url:value = "
		  "'http://evil.example/x?a=1']" },
		{ "email", "bad@evil.example", "[email-addr:value = "
		  "'bad@evil.example']" },
		{ "md5", "d41d8cd98f00b204e9800998ecf8427e", "[file:hashes.MD5"
		  " = 'd41d8cd98f00b204e9800998ecf8427e']" },
		{ "sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709",
		  "[file:hashes.'SHA-1' = "
		  "'da39a3ee5e6b4b0d3255bfef95601890afd80709']" },
		{ "sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca"
		  "495991b7852b855", "[file:hashes.'SHA-256' = 'e3b0c44298fc1c"
		  "149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']" },
		{ "sha512", "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83"
		  "f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a"
		  "81a538327af927da3e", "[file:hashes.'SHA-512' = 'cf83e1357ee"
		  "fb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13"
		  "c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
		  "']" },
		{ "ssdeep", "3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C",
		  "[file:hashes.SSDEEP = "
		  "'3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C']" },
		{ "filename", "invoice.pdf.exe", "[file:name = "
		  "'invoice.pdf.exe']" },
		{ "asn", "AS64496", "[autonomous-system:number = 64496]" },
		{ "mutex", "Global\\evil", "[mutex:name = 'Global\\\\evil']" },
		{ "regkey", "HKEY_LOCAL_MACHINE\\Software\\Run",
		  "[windows-registry-key:key = "
		  "'HKEY_LOCAL_MACHINE\\\\Software\\\\Run']" },
		{ "user-agent", "Mozilla/4.0 (it's)", "[network-traffic:"
		  "extensions.'http-request-ext'.request_header.'User-Agent' = "
		  "'Mozilla/4.0 (it\\'s)']" },
		{ "email-subject", "請求書の件", "[email-message:subject = "
		  "'請求書の件']" },
		{ "x-mailer", "Evil Mailer 1.0", "[email-message:"
		  "additional_header_fields.'X-Mailer' = 'Evil Mailer 1.0']" },
		{ "filename", "it's \\ odd",
		  "[file:name = 'it\\'s \\\\ odd']" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(v); i++) {
		char *p = csip_stix_pattern(v[i].type, v[i].value);

		g_assert_cmpstr(p, ==, v[i].pattern);
		csip_assert_ok(csip_stix_pattern_check(p));
		g_free(p);
	}
	g_assert_null(csip_stix_pattern("nosuch", "x"));
	g_assert_null(csip_stix_pattern("asn", "ASxyz"));
	g_assert_null(csip_stix_pattern("domain", ""));
}

/* Every valid pattern of the OASIS validator's tests is accepted and
 * every invalid one refused. */
static void
test_corpus(void)
{
	char *path = shared("pattern_corpus.json");
	json_t *doc, *e;
	json_error_t err;
	size_t i;

	if (path == NULL)
		return;
	doc = json_load_file(path, 0, &err);
	if (doc == NULL)
		g_error("%s: %s", path, err.text);
	g_assert_cmpint(json_array_size(json_object_get(doc, "valid")), >, 40);
	json_array_foreach(json_object_get(doc, "valid"), i, e) {
		if (csip_stix_pattern_check(json_string_value(e)) < 0)
			g_error("valid pattern refused: %s\n  %s",
				json_string_value(e), csip_error_last());
	}
	g_assert_cmpint(json_array_size(json_object_get(doc, "invalid")), >,
			10);
	json_array_foreach(json_object_get(doc, "invalid"), i, e) {
		const char *p = json_string_value(json_object_get(e,
								  "pattern"));

		if (csip_stix_pattern_check(p) != CSIP_EINVAL)
			g_error("invalid pattern accepted: %s (OASIS: %s)", p,
				json_string_value(json_object_get(e,
					"expected_error")));
		g_assert_cmpstr(csip_error_last(), !=, "");
	}
	/* A few more of our own, for the corners of the grammar. */
	{
		static const char *const good[] = {
			"[a:b = 'x'] FOLLOWEDBY [c:d = 'y'] OR [e:f = 1]",
			"[a:b[-1].c NOT IN ()]",
			"[EXISTS a:b] /* comment */ // and a line",
			"[a:'quoted key'.x = h'00ff' AND a:c > -1.5]",
			"[a:b = 'it\\'s']\u3000",
			"[a:b = true] START t'2020-01-01T00:00:00Z' STOP "
			"t'2020-12-31T23:59:60.999Z'",
		};
		static const char *const bad[] = {
			"", "[", "[]", "[a:b]", "[a:b = 'x'", "[a:b = 'x\\q']",
			"[a-b:c-d = 1]", "[a:b = 01]", "[a:b = h'abc']",
			"[a:b = b'']", "[a:b = 'x'] WITHIN 0.5",
			"[a:b LIKE 1]", "[a:b = 'x'] AND", "([a:b = 1]",
			"[a:b = 'x'] START t'2020-01-01T00:00:00Z'",
			"[a:b = t'2020-13-01T00:00:00Z']",
			"[a:b = 'x'] and [c:d = 1]",
			"[a:b > true]", "[a:b = 'x'] REPEATS 2 TIMES REPEATS 3 "
			"TIMES", "[a:b = 'x'] \x01",
			"[file:hashes.MD5 = 'abc']",
			"[a:b = 'x']]",
		};
		GString *deep = g_string_new(NULL);

		for (i = 0; i < G_N_ELEMENTS(good); i++)
			if (csip_stix_pattern_check(good[i]) < 0)
				g_error("%s: %s", good[i], csip_error_last());
		for (i = 0; i < G_N_ELEMENTS(bad); i++)
			if (csip_stix_pattern_check(bad[i]) != CSIP_EINVAL)
				g_error("accepted: %s", bad[i]);
		g_assert_cmpint(csip_stix_pattern_check(NULL), ==, CSIP_EINVAL);
		/* Nesting is capped, not a stack overflow. */
		for (i = 0; i < 10000; i++)
			g_string_append_c(deep, '(');
		g_assert_cmpint(csip_stix_pattern_check(deep->str), ==,
				CSIP_EINVAL);
		g_string_free(deep, TRUE);
	}
	json_decref(doc);
	g_free(path);
}

/* ---- what each reader gets ------------------------------------------- */

static void
assert_no_provider(json_t *j)
{
	char *s = json_dumps(j, 0);

	g_assert_null(strstr(s, "kanto-power"));
	g_assert_null(strstr(s, "関東電力"));
	free(s);
}

/* Collect a streamed bundle. */
static int
collect(void *ud, const char *data, size_t len)
{
	g_string_append_len(ud, data, (gssize)len);
	return CSIP_OK;
}

static json_t *
bundle_of(world *w, const csip_reader *r, int page)
{
	csip_item_query q = { .limit = page };
	GString *b = g_string_new(NULL);
	json_error_t err;
	json_t *j;

	csip_assert_ok(csip_stix_bundle(w->t->hub, r, &q, collect, b));
	j = json_loads(b->str, 0, &err);
	if (j == NULL)
		g_error("bundle is not JSON: %s\n%s", err.text, b->str);
	g_string_free(b, TRUE);
	g_assert_cmpstr(json_string_value(json_object_get(j, "type")), ==,
			"bundle");
	g_assert_true(g_str_has_prefix(json_string_value(json_object_get(j,
		"id")), "bundle--"));
	return j;
}

static void
test_readers(void)
{
	world w;
	csip_reader hr = { 0 }, pr = { 0 }, rr = { 0 }, orr = { 0 },
		    par = { 0 };
	json_t *objs = NULL, *b, *o, *rep;
	csip_feedback_in fb = { .kind = "sighting", .count = 3 };
	int64_t id, id2, id3, fid;
	size_t i;

	world_init(&w);
	id = published(&w, "Phishing wave", "amber");
	id2 = published(&w, "Second wave", "green");
	id3 = published(&w, "Third wave", "amber");
	reader(&w, w.hub, &hr);
	reader(&w, w.prov, &pr);
	reader(&w, w.in_sig, &rr);
	reader(&w, w.other, &orr);
	reader(&w, w.partner, &par);

	/* The recipient: the item, by the hub's identity, without the
	 * provider. */
	csip_assert_ok(csip_feedback_add(w.t->hub, "test", &rr, 0, id, &fb,
					 &fid));
	csip_assert_ok(csip_stix_item_objects(w.t->hub, &rr, id, &objs));
	assert_no_provider(objs);
	g_assert_cmpint(count_type(objs, "identity"), ==, 1);
	g_assert_cmpint(count_type(objs, "report"), ==, 1);
	g_assert_cmpint(count_type(objs, "indicator"), ==, G_N_ELEMENTS(inds));
	g_assert_cmpint(count_type(objs, "malware"), ==, 1);
	g_assert_cmpint(count_type(objs, "campaign"), ==, 1);
	g_assert_cmpint(count_type(objs, "sighting"), ==, 1);
	g_assert_nonnull(find_id(objs, "marking-definition--55d920b0-5e8b-"
				 "4f79-9ee9-91f868d9b421"));
	json_array_foreach(objs, i, o) {
		const char *t = json_string_value(json_object_get(o, "type"));
		json_t *ident = json_object_get(o, "created_by_ref");

		if (strcmp(t, "identity") == 0) {
			g_assert_cmpstr(json_string_value(json_object_get(o,
				"name")), !=, "kanto-power");
			continue;
		}
		if (strcmp(t, "marking-definition") == 0)
			continue;
		/* Every object carries the item's TLP. */
		g_assert_cmpstr(json_string_value(json_array_get(
			json_object_get(o, "object_marking_refs"), 0)), ==,
			"marking-definition--55d920b0-5e8b-4f79-9ee9-"
			"91f868d9b421");
		if (ident)
			g_assert_true(g_str_has_prefix(json_string_value(ident),
						       "identity--"));
		if (strcmp(t, "indicator") == 0)
			csip_assert_ok(csip_stix_pattern_check(
				json_string_value(json_object_get(o,
								  "pattern"))));
		if (strcmp(t, "sighting") == 0)
			g_assert_cmpint(json_integer_value(json_object_get(o,
				"count")), ==, 1);
	}
	rep = NULL;
	json_array_foreach(objs, i, o)
		if (strcmp(json_string_value(json_object_get(o, "type")),
			   "report") == 0)
			rep = o;
	g_assert_cmpstr(json_string_value(json_object_get(rep, "name")), ==,
			"Phishing wave");
	g_assert_cmpint(json_array_size(json_object_get(rep, "object_refs")),
			>, G_N_ELEMENTS(inds));
	/* Every reference resolves inside the objects. */
	json_array_foreach(json_object_get(rep, "object_refs"), i, o)
		g_assert_nonnull(find_id(objs, json_string_value(o)));
	g_clear_pointer(&objs, json_decref);

	/* The hub and the provider see the item; anyone else nothing, as
	 * for an item that does not exist. */
	csip_assert_ok(csip_stix_item_objects(w.t->hub, &hr, id, &objs));
	assert_no_provider(objs);
	g_clear_pointer(&objs, json_decref);
	csip_assert_ok(csip_stix_item_objects(w.t->hub, &pr, id, &objs));
	g_clear_pointer(&objs, json_decref);
	g_assert_cmpint(csip_stix_item_objects(w.t->hub, &orr, id, &objs), ==,
			CSIP_ENOTFOUND);
	g_assert_null(objs);
	g_assert_cmpint(csip_stix_item_objects(w.t->hub, &par, id, &objs), ==,
			CSIP_ENOTFOUND);
	g_assert_cmpint(csip_stix_item_objects(w.t->hub, &hr, 9999, &objs), ==,
			CSIP_ENOTFOUND);

	/* Bundles, paged one item at a time: every item once, the identity
	 * and each marking once. */
	b = bundle_of(&w, &rr, 1);
	objs = json_object_get(b, "objects");
	assert_no_provider(b);
	g_assert_cmpint(count_type(objs, "report"), ==, 3);
	g_assert_cmpint(count_type(objs, "identity"), ==, 1);
	g_assert_cmpint(count_type(objs, "marking-definition"), ==, 2);
	(void)id2;
	(void)id3;
	json_decref(b);
	b = bundle_of(&w, &hr, 2);
	g_assert_cmpint(count_type(json_object_get(b, "objects"), "report"), ==,
			3);
	json_decref(b);
	/* Another SIG, a partner: only the hub's identity. */
	b = bundle_of(&w, &orr, 100);
	g_assert_cmpint(json_array_size(json_object_get(b, "objects")), ==, 1);
	g_assert_cmpint(count_type(json_object_get(b, "objects"), "identity"),
			==, 1);
	json_decref(b);
	b = bundle_of(&w, &par, 100);
	g_assert_cmpint(json_array_size(json_object_get(b, "objects")), ==, 1);
	json_decref(b);
	/* The identity is named as the hub's organisation is (as MISP's
	 * Orgc); renamed, it is a new version. */
	{
		json_t *ident;

		b = bundle_of(&w, &par, 100);
		ident = json_array_get(json_object_get(b, "objects"), 0);
		g_assert_cmpstr(json_string_value(json_object_get(ident,
				"name")), ==, "ipa");
		json_decref(b);
		csip_assert_ok(csip_store_exec(csip_hub_store(w.t->hub),
			"UPDATE org SET display_name = 'IPA 情報セキュリティ"
			"センター', updated_at = '2030-01-01T00:00:00Z' WHERE "
			"role = 'hub'"));
		b = bundle_of(&w, &par, 100);
		ident = json_array_get(json_object_get(b, "objects"), 0);
		g_assert_cmpstr(json_string_value(json_object_get(ident,
				"name")), ==, "IPA 情報セキュリティセンター");
		g_assert_cmpstr(json_string_value(json_object_get(ident,
				"modified")), ==, "2030-01-01T00:00:00.000Z");
		json_decref(b);
	}

	csip_reader_clear(&hr);
	csip_reader_clear(&pr);
	csip_reader_clear(&rr);
	csip_reader_clear(&orr);
	csip_reader_clear(&par);
	csip_test_hub_free(w.t);
}

/* A writer that fails stops the stream with its code. */
static int
fail_writer(void *ud, const char *data, size_t len)
{
	(void)data;
	(void)len;
	if (--*(int *)ud <= 0)
		return csip_error_set(CSIP_EIO, "disk full");
	return CSIP_OK;
}

static void
test_bundle_write_error(void)
{
	world w;
	csip_reader hr = { 0 };
	csip_item_query q = { 0 };

	world_init(&w);
	published(&w, "Phishing wave", "green");
	reader(&w, w.hub, &hr);
	for (int n = 1; n < 6; n++) {
		int left = n;

		g_assert_cmpint(csip_stix_bundle(w.t->hub, &hr, &q, fail_writer,
						 &left), ==, CSIP_EIO);
	}
	csip_reader_clear(&hr);
	csip_test_hub_free(w.t);
}

/* ---- import ---------------------------------------------------------- */

static csip_report_in in_of(void)
{
	csip_report_in in = { .org = "kanto-power", .permission = "sig",
		.tlp = "green", .source = "api" };

	return in;
}

static void
test_import_examples(void)
{
	static const struct { const char *file; size_t min; } ex[] = {
		{ "indicator-for-c2-ip-address.json", 1 },
		{ "indicator-to-campaign-relationship.json", 1 },
		{ "indicators-for-C2-with-COA.json", 2 },
		{ "malicious-email-indicator-with-attachment.json", 0 },
		{ "threat-reports/apt1.json", 5 },
		{ "threat-reports/poisonivy.json", 10 },
	};
	char *dir = shared("examples");
	world w;

	if (dir == NULL)
		return;
	world_init(&w);
	for (size_t i = 0; i < G_N_ELEMENTS(ex); i++) {
		char *p = g_build_filename(dir, ex[i].file, NULL);
		csip_report_in in = in_of();
		csip_ingest_result res;
		json_error_t err;
		json_t *b = json_load_file(p, 0, &err), *rep = NULL;

		if (b == NULL)
			g_error("%s: %s", p, err.text);
		if (csip_report_submit_stix(w.t->hub, "test", &in, b, &res) < 0)
			g_error("%s: %s", ex[i].file, csip_error_last());
		g_assert_cmpint(res.outcome, ==, CSIP_INGEST_STORED);
		if (res.indicators < ex[i].min)
			g_error("%s: %zu indicators", ex[i].file,
				res.indicators);
		csip_assert_ok(csip_report_get(w.t->hub, res.report_id, &rep));
		g_assert_cmpstr(json_string_value(json_object_get(rep,
			"kind")), ==, "stix");
		json_decref(rep);
		/* The same bundle again is a duplicate. */
		csip_assert_ok(csip_report_submit_stix(w.t->hub, "test", &in, b,
						       &res));
		g_assert_cmpint(res.outcome, ==, CSIP_INGEST_DUPLICATE);
		json_decref(b);
		g_free(p);
	}
	g_assert_cmpint(count(&w, "SELECT COUNT(*) FROM report WHERE kind = "
			      "'stix'"), ==, G_N_ELEMENTS(ex));
	g_free(dir);
	csip_test_hub_free(w.t);
}

/* What the hub exports, imported by another hub, gives the same values;
 * recipients of a mail in a bundle are never taken. */
static void
test_import_roundtrip(void)
{
	world w, w2;
	csip_reader hr = { 0 };
	csip_report_in in = in_of();
	csip_ingest_result res;
	json_t *objs = NULL, *b, *rep = NULL;
	char *s;
	int64_t id;

	world_init(&w);
	world_init(&w2);
	id = published(&w, "Phishing wave", "green");
	reader(&w, w.hub, &hr);
	csip_assert_ok(csip_stix_item_objects(w.t->hub, &hr, id, &objs));
	b = json_pack("{ss ss so}", "type", "bundle", "id", "bundle--"
		"2f0d4b6e-2b7b-4f8e-9a1c-5a1f2f6f7a10", "objects", objs);
	csip_assert_ok(csip_report_submit_stix(w2.t->hub, "test", &in, b,
					       &res));
	g_assert_cmpint(res.indicators, ==, G_N_ELEMENTS(inds));
	csip_assert_ok(csip_report_get(w2.t->hub, res.report_id, &rep));
	s = json_dumps(rep, 0);
	g_assert_nonnull(strstr(s, "198.51.100.3"));
	g_assert_nonnull(strstr(s, "http://evil.example/a'b"));
	g_assert_nonnull(strstr(s, "Phishing wave"));
	free(s);
	json_decref(rep);
	json_decref(b);

	b = json_loads("{\"type\":\"bundle\",\"id\":\"bundle--2f0d4b6e-2b7b-"
		"4f8e-9a1c-5a1f2f6f7a11\",\"objects\":["
		"{\"type\":\"email-message\",\"spec_version\":\"2.1\",\"id\":"
		"\"email-message--2f0d4b6e-2b7b-4f8e-9a1c-5a1f2f6f7a12\","
		"\"is_multipart\":false,\"from_ref\":\"email-addr--2f0d4b6e-"
		"2b7b-4f8e-9a1c-5a1f2f6f7a13\",\"to_refs\":[\"email-addr--"
		"2f0d4b6e-2b7b-4f8e-9a1c-5a1f2f6f7a14\"]},"
		"{\"type\":\"email-addr\",\"spec_version\":\"2.1\",\"id\":"
		"\"email-addr--2f0d4b6e-2b7b-4f8e-9a1c-5a1f2f6f7a13\","
		"\"value\":\"attacker@evil.example\"},"
		"{\"type\":\"email-addr\",\"spec_version\":\"2.1\",\"id\":"
		"\"email-addr--2f0d4b6e-2b7b-4f8e-9a1c-5a1f2f6f7a14\","
		"\"value\":\"victim@kanto-power.example\"}]}", 0, NULL);
	csip_assert_ok(csip_report_submit_stix(w2.t->hub, "test", &in, b,
					       &res));
	g_assert_cmpint(res.indicators, ==, 1);
	g_assert_cmpint(count(&w2, "SELECT COUNT(*) FROM observation WHERE "
			      "value LIKE '%victim%'"), ==, 0);
	json_decref(b);
	csip_reader_clear(&hr);
	csip_test_hub_free(w.t);
	csip_test_hub_free(w2.t);
}

static void
test_import_bad(void)
{
	static const char *const bad[] = {
		"{\"type\":\"report\"}",
		"{\"type\":\"bundle\",\"id\":\"bundle--x\",\"objects\":[]}",
		"{\"type\":\"bundle\",\"id\":\"bundle--2f0d4b6e-2b7b-4f8e-9a1c-"
		"5a1f2f6f7a10\"}",
		"{\"type\":\"bundle\",\"id\":\"bundle--2f0d4b6e-2b7b-4f8e-9a1c-"
		"5a1f2f6f7a10\",\"objects\":[]}",
		"{\"type\":\"bundle\",\"id\":\"bundle--2f0d4b6e-2b7b-4f8e-9a1c-"
		"5a1f2f6f7a10\",\"objects\":{}}",
		"{\"type\":\"bundle\",\"id\":\"bundle--2f0d4b6e-2b7b-4f8e-9a1c-"
		"5a1f2f6f7a10\",\"objects\":[1]}",
		/* An object without a type, with a bad id, a wrong version. */
		"{\"type\":\"bundle\",\"id\":\"bundle--2f0d4b6e-2b7b-4f8e-9a1c-"
		"5a1f2f6f7a10\",\"objects\":[{\"id\":\"x--1\"}]}",
		"{\"type\":\"bundle\",\"id\":\"bundle--2f0d4b6e-2b7b-4f8e-9a1c-"
		"5a1f2f6f7a10\",\"objects\":[{\"type\":\"domain-name\",\"id\":"
		"\"url--2f0d4b6e-2b7b-4f8e-9a1c-5a1f2f6f7a10\",\"value\":"
		"\"evil.example\"}]}",
		"{\"type\":\"bundle\",\"id\":\"bundle--2f0d4b6e-2b7b-4f8e-9a1c-"
		"5a1f2f6f7a10\",\"objects\":[{\"type\":\"indicator\",\"id\":"
		"\"indicator--2f0d4b6e-2b7b-4f8e-9a1c-5a1f2f6f7a10\","
		"\"spec_version\":\"2.0\",\"created\":\"2020-01-01T00:00:00Z\","
		"\"modified\":\"2020-01-01T00:00:00Z\",\"pattern\":"
		"\"[a:b = 1]\","
		"\"pattern_type\":\"stix\",\"valid_from\":"
		"\"2020-01-01T00:00:00Z\"}]}",
		/* A good indicator, then one whose pattern is not STIX: the
		 * good one must not be stored either. */
		"{\"type\":\"bundle\",\"id\":\"bundle--2f0d4b6e-2b7b-4f8e-9a1c-"
		"5a1f2f6f7a10\",\"objects\":[{\"type\":\"indicator\",\"id\":"
		"\"indicator--2f0d4b6e-2b7b-4f8e-9a1c-5a1f2f6f7a10\","
		"\"spec_version\":\"2.1\",\"created\":\"2020-01-01T00:00:00Z\","
		"\"modified\":\"2020-01-01T00:00:00Z\",\"pattern\":"
		"\"[domain-name:value = 'good.example']\",\"pattern_type\":"
		"\"stix\",\"valid_from\":\"2020-01-01T00:00:00Z\"},"
		"{\"type\":\"indicator\",\"id\":"
		"\"indicator--2f0d4b6e-2b7b-4f8e-9a1c-5a1f2f6f7a11\","
		"\"spec_version\":\"2.1\",\"created\":\"2020-01-01T00:00:00Z\","
		"\"modified\":\"2020-01-01T00:00:00Z\",\"pattern\":"
		"\"[domain-name:value = 'bad.example'\",\"pattern_type\":"
		"\"stix\",\"valid_from\":\"2020-01-01T00:00:00Z\"}]}",
		/* An indicator without valid_from; a bad timestamp. */
		"{\"type\":\"bundle\",\"id\":\"bundle--2f0d4b6e-2b7b-4f8e-9a1c-"
		"5a1f2f6f7a10\",\"objects\":[{\"type\":\"indicator\",\"id\":"
		"\"indicator--2f0d4b6e-2b7b-4f8e-9a1c-5a1f2f6f7a10\","
		"\"spec_version\":\"2.1\",\"created\":\"2020-01-01T00:00:00Z\","
		"\"modified\":\"2020-01-01T00:00:00Z\",\"pattern\":"
		"\"[domain-name:value = 'good.example']\",\"pattern_type\":"
		"\"stix\"}]}",
		"{\"type\":\"bundle\",\"id\":\"bundle--2f0d4b6e-2b7b-4f8e-9a1c-"
		"5a1f2f6f7a10\",\"objects\":[{\"type\":\"campaign\",\"id\":"
		"\"campaign--2f0d4b6e-2b7b-4f8e-9a1c-5a1f2f6f7a10\","
		"\"spec_version\":\"2.1\",\"created\":\"yesterday\","
		"\"modified\":\"2020-01-01T00:00:00Z\",\"name\":\"x\"}]}",
	};
	world w;
	int64_t before;

	world_init(&w);
	before = count(&w, "SELECT COUNT(*) FROM report") +
		count(&w, "SELECT COUNT(*) FROM observation") +
		count(&w, "SELECT COUNT(*) FROM audit_log");
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		csip_report_in in = in_of();
		csip_ingest_result res;
		json_t *b = json_loads(bad[i], 0, NULL);

		g_assert_nonnull(b);
		if (csip_report_submit_stix(w.t->hub, "test", &in, b, &res) !=
		    CSIP_EINVAL)
			g_error("accepted bad bundle %zu: %s", i, bad[i]);
		g_assert_cmpstr(csip_error_last(), !=, "");
		g_assert_cmpint(res.report_id, ==, 0);
		json_decref(b);
	}
	/* A bad sharing setting or an unknown organisation: nothing. */
	{
		csip_report_in in = in_of();
		csip_ingest_result res;
		json_t *b = json_loads("{\"type\":\"bundle\",\"id\":\"bundle--"
			"2f0d4b6e-2b7b-4f8e-9a1c-5a1f2f6f7a10\",\"objects\":["
			"{\"type\":\"domain-name\",\"id\":\"domain-name--"
			"2f0d4b6e-2b7b-4f8e-9a1c-5a1f2f6f7a10\",\"value\":"
			"\"x.example\"}]}",
			0, NULL);

		in.permission = "everyone";
		g_assert_cmpint(csip_report_submit_stix(w.t->hub, "test", &in,
			b, &res), ==, CSIP_EINVAL);
		in = in_of();
		in.org = "nosuch";
		g_assert_cmpint(csip_report_submit_stix(w.t->hub, "test", &in,
			b, &res), ==, CSIP_ENOTFOUND);
		json_decref(b);
	}
	g_assert_cmpint(count(&w, "SELECT COUNT(*) FROM report") +
			count(&w, "SELECT COUNT(*) FROM observation") +
			count(&w, "SELECT COUNT(*) FROM audit_log"), ==,
			before);
	csip_test_hub_free(w.t);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/stix/uuid5", test_uuid5);
	g_test_add_func("/stix/sco-ids", test_sco_ids);
	g_test_add_func("/stix/patterns", test_patterns);
	g_test_add_func("/stix/corpus", test_corpus);
	g_test_add_func("/stix/readers", test_readers);
	g_test_add_func("/stix/bundle-write-error", test_bundle_write_error);
	g_test_add_func("/stix/import-examples", test_import_examples);
	g_test_add_func("/stix/import-roundtrip", test_import_roundtrip);
	g_test_add_func("/stix/import-bad", test_import_bad);
	return g_test_run();
}
