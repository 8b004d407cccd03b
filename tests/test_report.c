/*
 * test_report.c - reports other than mail and the analyst's review: text
 * and indicator-list submissions (extraction, duplicates, bad input named
 * and leaving nothing behind), the provider's sharing changes and their
 * freeze once shared, reviews that mark observations, paged queries, and
 * disk faults at every write of a submission or review.
 */
#include "lib/audit.h"
#include "lib/extract.h"
#include "lib/org.h"
#include "lib/report.h"
#include "testutil.h"
#include "util/error.h"

#include <glib.h>
#include <string.h>

#define TEXT "Targeted mail reported today\n" \
	"Link: hxxps://evil[.]example[.]com/a and 203.0.113[.]7\n"

static int64_t
count(csip_test_hub *t, const char *sql)
{
	int64_t n = -1;

	csip_assert_ok(csip_store_query_int64(csip_hub_store(t->hub), &n, sql,
					      NULL));
	return n;
}

/* Everything a failed write must not have touched. */
static char *
snapshot(csip_test_hub *t)
{
	return g_strdup_printf("%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT "/%"
		G_GINT64_FORMAT "/%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT,
		count(t, "SELECT COUNT(*) FROM report"),
		count(t, "SELECT COUNT(*) FROM report_content"),
		count(t, "SELECT COUNT(*) FROM observation"),
		count(t, "SELECT COUNT(*) FROM report_copy"),
		count(t, "SELECT COUNT(*) FROM audit_log"));
}

/* The review columns and marks, for checking a failed review changed
 * nothing. */
static char *
review_state(csip_test_hub *t, int64_t id)
{
	csip_stmt *st = NULL;
	GString *out = g_string_new(NULL);
	char rid[24];
	int rc;

	g_snprintf(rid, sizeof rid, "%" G_GINT64_FORMAT, id);
	csip_assert_ok(csip_store_prepare_bind(csip_hub_store(t->hub), &st,
		"SELECT status || '|' || COALESCE(analysis, '-') || '|' || tags"
		" || '|' || COALESCE(attack_type, '-') || '|' || "
		"COALESCE(severity, '-') || '|' || COALESCE(reviewed_at, '-') "
		"|| '|' || (SELECT COUNT(*) FROM audit_log) FROM report r "
		"WHERE id = ?", rid, NULL));
	g_assert_cmpint(csip_stmt_step(st), ==, CSIP_ROW);
	g_string_append(out, csip_stmt_text(st, 0));
	csip_stmt_free(st);
	/* The marks, one a value in a fixed order. */
	csip_assert_ok(csip_store_prepare_bind(csip_hub_store(t->hub), &st,
		"SELECT shareable FROM observation WHERE report_id = ? ORDER "
		"BY type, value", rid, NULL));
	while ((rc = csip_stmt_step(st)) == CSIP_ROW)
		g_string_append(out, csip_stmt_is_null(st, 0) ? "|n"
			: csip_stmt_int64(st, 0) ? "|1" : "|0");
	g_assert_cmpint(rc, ==, CSIP_DONE);
	csip_stmt_free(st);
	return g_string_free(out, FALSE);
}

static csip_test_hub *
hub_with_orgs(int64_t *acme, int64_t *other)
{
	csip_test_hub *t = csip_test_hub_new();
	csip_org_spec a = { .name = "acme", .role = "participant" };
	csip_org_spec b = { .name = "other", .role = "participant" };

	csip_assert_ok(csip_org_add(t->hub, "test", &a, acme));
	csip_assert_ok(csip_org_add(t->hub, "test", &b, other));
	return t;
}

static const char *
sget(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The observation of TYPE VALUE in report JSON R, or NULL. */
static json_t *
find_obs(json_t *r, const char *type, const char *value)
{
	json_t *o;
	size_t i;

	json_array_foreach(json_object_get(r, "observations"), i, o)
		if (strcmp(sget(o, "type"), type) == 0 &&
		    strcmp(sget(o, "value"), value) == 0)
			return o;
	return NULL;
}

static void
test_text(void)
{
	int64_t acme, other;
	csip_test_hub *t = hub_with_orgs(&acme, &other);
	csip_report_in in = { .org = "acme", .permission = "community",
		.tlp = "green", .source = "api" };
	csip_ingest_result res, dup, res2;
	json_t *r = NULL, *audit = NULL;
	char *before, *after;
	char rid[24];
	const void *raw;
	size_t rawlen;
	csip_stmt *st = NULL;

	csip_assert_ok(csip_report_submit_text(t->hub, "user:ann", &in, TEXT,
					       strlen(TEXT), &res));
	g_assert_cmpint(res.outcome, ==, CSIP_INGEST_STORED);
	g_assert_cmpint(res.report_id, >, 0);
	g_assert_cmpuint(res.indicators, ==, 3);
	g_assert_cmpint(res.shareable, ==, 1);

	csip_assert_ok(csip_report_get(t->hub, res.report_id, &r));
	g_assert_cmpstr(sget(r, "kind"), ==, "text");
	g_assert_cmpstr(sget(r, "org"), ==, "acme");
	g_assert_cmpstr(sget(r, "permission"), ==, "community");
	g_assert_cmpstr(sget(r, "attribution"), ==, "none");
	g_assert_cmpstr(sget(r, "tlp"), ==, "green");
	g_assert_cmpstr(sget(r, "status"), ==, "new");
	g_assert_cmpstr(sget(r, "source"), ==, "api");
	g_assert_cmpstr(sget(r, "subject"), ==, "Targeted mail reported today");
	g_assert_true(json_is_null(json_object_get(r, "shared_at")));
	g_assert_true(json_is_null(json_object_get(r, "reviewed_at")));
	g_assert_true(json_is_null(json_object_get(r, "severity")));
	g_assert_cmpuint(json_array_size(json_object_get(r, "tags")), ==, 0);
	g_assert_cmpint(json_integer_value(json_object_get(r, "indicators")),
			==, 3);
	g_assert_cmpuint(json_array_size(json_object_get(r, "observations")),
			 ==, 3);
	g_assert_nonnull(find_obs(r, "url", "https://evil.example.com/a"));
	g_assert_nonnull(find_obs(r, "ipv4", "203.0.113.7"));
	g_assert_cmpstr(sget(find_obs(r, "hostname", "evil.example.com"),
			     "found_in"), ==, "text");
	json_decref(r);

	/* The text is kept byte for byte, for the hub. */
	g_snprintf(rid, sizeof rid, "%" G_GINT64_FORMAT, res.report_id);
	csip_assert_ok(csip_store_prepare_bind(csip_hub_store(t->hub), &st,
		"SELECT raw FROM report_content WHERE report_id = ?", rid,
		NULL));
	g_assert_cmpint(csip_stmt_step(st), ==, CSIP_ROW);
	raw = csip_stmt_blob(st, 0, &rawlen);
	g_assert_cmpmem(raw, rawlen, TEXT, strlen(TEXT));
	csip_stmt_free(st);

	csip_assert_ok(csip_audit_list(t->hub, 1, &audit));
	g_assert_cmpstr(sget(json_array_get(audit, 0), "action"), ==,
			"report.submit");
	json_decref(audit);

	/* The same text again is a duplicate and writes nothing. */
	before = snapshot(t);
	csip_assert_ok(csip_report_submit_text(t->hub, "user:ann", &in, TEXT,
					       strlen(TEXT), &dup));
	g_assert_cmpint(dup.outcome, ==, CSIP_INGEST_DUPLICATE);
	g_assert_cmpint(dup.report_id, ==, res.report_id);
	after = snapshot(t);
	g_assert_cmpstr(after, ==, before);
	g_free(before);
	g_free(after);

	/* Another organisation sending the same words is another report. */
	in.org = "other";
	csip_assert_ok(csip_report_submit_text(t->hub, "user:bob", &in, TEXT,
					       strlen(TEXT), &res2));
	g_assert_cmpint(res2.outcome, ==, CSIP_INGEST_STORED);
	g_assert_cmpint(res2.report_id, !=, res.report_id);

	/* The title is the first line, control characters (a two-byte C1
	 * one here) made spaces, invalid bytes replaced. */
	{
		const char *jp = "\n  請求書\xc2\x85の件\xff\r\n198.51.100.9";

		csip_assert_ok(csip_report_submit_text(t->hub, "test", &in, jp,
						       strlen(jp), &res2));
		csip_assert_ok(csip_report_get(t->hub, res2.report_id, &r));
		g_assert_cmpstr(sget(r, "subject"), ==,
				"請求書 の件\xef\xbf\xbd");
		g_assert_cmpint(json_integer_value(json_object_get(r,
			"indicators")), ==, 1);
		json_decref(r);
	}
	csip_test_hub_free(t);
}

/* Each bad submission fails with a message naming the problem and stores
 * nothing. */
static void
test_text_rejects(void)
{
	int64_t acme, other;
	csip_test_hub *t = hub_with_orgs(&acme, &other);
	struct {
		csip_report_in in;
		const char *text;
		int code;
		const char *needle;
	} cases[] = {
		{ { .org = "acme" }, "", CSIP_EINVAL, "empty" },
		{ { .org = "acme" }, " \r\n\t ", CSIP_EINVAL, "empty" },
		{ { .org = "acme", .permission = "world" }, TEXT, CSIP_EINVAL,
		  "world" },
		{ { .org = "acme", .tlp = "white" }, TEXT, CSIP_EINVAL,
		  "white" },
		{ { .org = "nobody" }, TEXT, CSIP_ENOTFOUND, "nobody" },
		{ { .org = NULL }, TEXT, CSIP_EINVAL, "--org" },
	};
	char *before = snapshot(t);
	csip_ingest_result res;

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *after;

		g_assert_cmpint(csip_report_submit_text(t->hub, "test",
			&cases[i].in, cases[i].text, strlen(cases[i].text),
			&res), ==, cases[i].code);
		if (strstr(csip_error_last(), cases[i].needle) == NULL)
			g_error("case %zu: \"%s\" not in \"%s\"", i,
				cases[i].needle, csip_error_last());
		g_assert_cmpint(res.report_id, ==, 0);
		after = snapshot(t);
		g_assert_cmpstr(after, ==, before);
		g_free(after);
	}
	/* Above the cap: refused before any work. */
	g_assert_cmpint(csip_report_submit_text(t->hub, "test", &cases[0].in,
		TEXT, (size_t)CSIP_EXTRACT_MAX_TEXT + 1, &res), ==,
		CSIP_ETOOBIG);
	g_free(before);
	csip_test_hub_free(t);
}

static void
test_indicators(void)
{
	int64_t acme, other;
	csip_test_hub *t = hub_with_orgs(&acme, &other);
	csip_report_in in = { .org = "acme" };
	json_t *list = json_loads("[\"evil[.]example[.]com\", "
		"{\"value\": \"hxxp://198[.]51[.]100[.]1/x.exe\", "
		"\"role\": \"download\"}, "
		"{\"type\": \"filename\", \"value\": \"請求書.exe\"}, "
		"\"EVIL.example.com\", "
		"{\"value\": \"d41d8cd98f00b204e9800998ecf8427e\"}]", 0, NULL);
	/* The same list with its keys in another order. */
	json_t *same = json_loads("[\"evil[.]example[.]com\", "
		"{\"role\": \"download\", "
		"\"value\": \"hxxp://198[.]51[.]100[.]1/x.exe\"}, "
		"{\"value\": \"請求書.exe\", \"type\": \"filename\"}, "
		"\"EVIL.example.com\", "
		"{\"value\": \"d41d8cd98f00b204e9800998ecf8427e\"}]", 0, NULL);
	csip_ingest_result res, dup;
	json_t *r = NULL, *o, *stored;
	char *before, *after, rid[24], *raw;
	csip_stmt *st = NULL;
	const void *p;
	size_t n;

	g_assert_nonnull(list);
	csip_assert_ok(csip_report_submit_indicators(t->hub, "user:ann", &in,
						     list, &res));
	g_assert_cmpint(res.outcome, ==, CSIP_INGEST_STORED);
	/* The repeated host name counts once. */
	g_assert_cmpuint(res.indicators, ==, 4);
	csip_assert_ok(csip_report_get(t->hub, res.report_id, &r));
	g_assert_cmpstr(sget(r, "kind"), ==, "indicators");
	g_assert_cmpstr(sget(r, "permission"), ==, "sig");
	g_assert_cmpstr(sget(r, "tlp"), ==, "amber");
	o = find_obs(r, "hostname", "evil.example.com");
	g_assert_nonnull(o);
	g_assert_cmpstr(sget(o, "found_in"), ==, "submitted");
	g_assert_cmpint(json_integer_value(json_object_get(o, "count")), ==, 2);
	o = find_obs(r, "url", "http://198.51.100.1/x.exe");
	g_assert_nonnull(o);
	g_assert_cmpstr(sget(o, "found_in"), ==, "download");
	g_assert_nonnull(find_obs(r, "filename", "請求書.exe"));
	g_assert_nonnull(find_obs(r, "md5",
				  "d41d8cd98f00b204e9800998ecf8427e"));
	json_decref(r);

	/* The submitted JSON is the raw content. */
	g_snprintf(rid, sizeof rid, "%" G_GINT64_FORMAT, res.report_id);
	csip_assert_ok(csip_store_prepare_bind(csip_hub_store(t->hub), &st,
		"SELECT raw FROM report_content WHERE report_id = ?", rid,
		NULL));
	g_assert_cmpint(csip_stmt_step(st), ==, CSIP_ROW);
	p = csip_stmt_blob(st, 0, &n);
	raw = g_strndup(p, n);
	csip_stmt_free(st);
	stored = json_loads(raw, 0, NULL);
	g_assert_nonnull(stored);
	g_assert_true(json_equal(stored, list));
	json_decref(stored);
	g_free(raw);

	before = snapshot(t);
	csip_assert_ok(csip_report_submit_indicators(t->hub, "user:ann", &in,
						     same, &dup));
	g_assert_cmpint(dup.outcome, ==, CSIP_INGEST_DUPLICATE);
	g_assert_cmpint(dup.report_id, ==, res.report_id);
	after = snapshot(t);
	g_assert_cmpstr(after, ==, before);
	g_free(before);
	g_free(after);
	json_decref(list);
	json_decref(same);
	csip_test_hub_free(t);
}

static void
test_indicators_rejects(void)
{
	int64_t acme, other;
	csip_test_hub *t = hub_with_orgs(&acme, &other);
	csip_report_in in = { .org = "acme" };
	struct {
		const char *json;
		int code;
		const char *needle;
	} cases[] = {
		{ "[\"evil.example.com\", \"203.0.113.9\", \"no such thing!\"]",
		  CSIP_EINVAL, "element 2" },
		{ "[\"evil.example.com\", 42]", CSIP_EINVAL, "element 1" },
		{ "[{\"value\": \"evil.example.com\", \"kind\": \"x\"}]",
		  CSIP_EINVAL, "\"kind\"" },
		{ "[{\"type\": \"domain\"}]", CSIP_EINVAL, "no \"value\"" },
		{ "[{\"value\": \"x.example.com\", \"type\": \"gadget\"}]",
		  CSIP_EINVAL, "gadget" },
		{ "[{\"value\": \"x.example.com\", \"role\": \"\"}]",
		  CSIP_EINVAL, "role" },
		{ "[{\"value\": \"x.example.com\", \"role\": 7}]",
		  CSIP_EINVAL, "\"role\" must be a string" },
		{ "[\"a.example.com\", {\"value\": \"300.1.1.1\", "
		  "\"type\": \"ipv4\"}]", CSIP_EINVAL, "element 1" },
		{ "[]", CSIP_EINVAL, "empty" },
		{ "{\"value\": \"evil.example.com\"}", CSIP_EINVAL,
		  "JSON array" },
	};
	char *before = snapshot(t);
	csip_ingest_result res;

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		json_t *l = json_loads(cases[i].json, 0, NULL);
		char *after;

		g_assert_nonnull(l);
		g_assert_cmpint(csip_report_submit_indicators(t->hub, "test",
			&in, l, &res), ==, cases[i].code);
		if (strstr(csip_error_last(), cases[i].needle) == NULL)
			g_error("case %zu: \"%s\" not in \"%s\"", i,
				cases[i].needle, csip_error_last());
		after = snapshot(t);
		g_assert_cmpstr(after, ==, before);
		g_free(after);
		json_decref(l);
	}
	g_free(before);
	csip_test_hub_free(t);
}

static void
test_sharing(void)
{
	int64_t acme, other;
	csip_test_hub *t = hub_with_orgs(&acme, &other);
	csip_report_in in = { .org = "acme" };
	csip_ingest_result res;
	json_t *r = NULL, *audit = NULL;
	char *before, *after, rid[24];

	csip_assert_ok(csip_report_submit_text(t->hub, "test", &in, TEXT,
					       strlen(TEXT), &res));
	csip_assert_ok(csip_report_set_sharing(t->hub, "user:ann",
		res.report_id, acme, "partners", NULL, "red"));
	csip_assert_ok(csip_report_get(t->hub, res.report_id, &r));
	g_assert_cmpstr(sget(r, "permission"), ==, "partners");
	g_assert_cmpstr(sget(r, "attribution"), ==, "none");
	g_assert_cmpstr(sget(r, "tlp"), ==, "red");
	json_decref(r);
	csip_assert_ok(csip_audit_list(t->hub, 1, &audit));
	g_assert_cmpstr(sget(json_array_get(audit, 0), "action"), ==,
			"report.sharing");
	json_decref(audit);
	csip_assert_ok(csip_report_set_sharing(t->hub, "user:ann",
		res.report_id, acme, NULL, "sig", NULL));

	before = snapshot(t);
	/* Another organisation cannot tell the report exists. */
	g_assert_cmpint(csip_report_set_sharing(t->hub, "user:bob",
		res.report_id, other, "public", NULL, NULL), ==,
		CSIP_ENOTFOUND);
	g_assert_cmpint(csip_report_set_sharing(t->hub, "user:ann", 9999,
		acme, "public", NULL, NULL), ==, CSIP_ENOTFOUND);
	g_assert_cmpint(csip_report_set_sharing(t->hub, "user:ann",
		res.report_id, acme, NULL, NULL, NULL), ==, CSIP_EINVAL);
	g_assert_cmpint(csip_report_set_sharing(t->hub, "user:ann",
		res.report_id, acme, "everyone", NULL, NULL), ==, CSIP_EINVAL);
	g_assert_nonnull(strstr(csip_error_last(), "everyone"));
	g_assert_cmpint(csip_report_set_sharing(t->hub, "user:ann",
		res.report_id, acme, NULL, "all", NULL), ==, CSIP_EINVAL);
	g_assert_nonnull(strstr(csip_error_last(), "all"));

	/* Once shared, the provider's permission is final. */
	g_snprintf(rid, sizeof rid, "%" G_GINT64_FORMAT, res.report_id);
	csip_assert_ok(csip_store_run(csip_hub_store(t->hub), NULL, "UPDATE "
		"report SET shared_at = '2026-01-01T00:00:00Z' WHERE id = ?",
		rid, NULL));
	g_assert_cmpint(csip_report_set_sharing(t->hub, "user:ann",
		res.report_id, acme, "hub", NULL, NULL), ==, CSIP_EBUSY);
	g_assert_nonnull(strstr(csip_error_last(), "2026-01-01"));
	after = snapshot(t);
	g_assert_cmpstr(after, ==, before);
	csip_assert_ok(csip_report_get(t->hub, res.report_id, &r));
	g_assert_cmpstr(sget(r, "permission"), ==, "partners");
	g_assert_cmpstr(sget(r, "attribution"), ==, "sig");
	g_assert_cmpstr(sget(r, "shared_at"), ==, "2026-01-01T00:00:00Z");
	json_decref(r);
	g_free(before);
	g_free(after);
	csip_test_hub_free(t);
}

static void
test_review(void)
{
	int64_t acme, other;
	csip_test_hub *t = hub_with_orgs(&acme, &other);
	csip_report_in in = { .org = "acme" };
	csip_ingest_result res;
	char *tags[] = { "apt", "phishing", "apt", NULL };
	char *bad_tags[] = { "ok", "", NULL };
	/* Marked in a defanged, upper-case form: found by canonical form. */
	const char *mtypes[] = { "hostname", "ipv4" };
	const char *mvalues[] = { "EVIL[.]example[.]com", "203.0.113.7" };
	const int mshare[] = { 0, 1 };
	const char *ghost_v[] = { "203.0.113.99" };
	const char *ghost_t[] = { "ipv4" };
	const int two[] = { 2 };
	csip_report_review rv = { .status = "reviewed", .analysis =
		"Credential phishing against the sector.", .tags = tags,
		.attack_type = "targeted-mail", .severity = "high",
		.mark_types = mtypes, .mark_values = mvalues,
		.mark_shareable = mshare, .n_marks = 2 };
	csip_report_review none = { 0 };
	csip_report_review clear = { .severity = "" };
	json_t *r = NULL, *o;
	char *state, *after;

	csip_assert_ok(csip_report_submit_text(t->hub, "test", &in, TEXT,
					       strlen(TEXT), &res));
	csip_assert_ok(csip_report_review_apply(t->hub, "user:analyst",
						res.report_id, &rv));
	csip_assert_ok(csip_report_get(t->hub, res.report_id, &r));
	g_assert_cmpstr(sget(r, "status"), ==, "reviewed");
	g_assert_cmpstr(sget(r, "analysis"), ==,
			"Credential phishing against the sector.");
	g_assert_cmpstr(sget(r, "attack_type"), ==, "targeted-mail");
	g_assert_cmpstr(sget(r, "severity"), ==, "high");
	g_assert_nonnull(sget(r, "reviewed_at"));
	o = json_object_get(r, "tags");
	g_assert_cmpuint(json_array_size(o), ==, 2);
	g_assert_cmpstr(json_string_value(json_array_get(o, 0)), ==, "apt");
	g_assert_cmpstr(json_string_value(json_array_get(o, 1)), ==,
			"phishing");
	g_assert_true(json_is_false(json_object_get(find_obs(r, "hostname",
		"evil.example.com"), "shareable")));
	g_assert_true(json_is_true(json_object_get(find_obs(r, "ipv4",
		"203.0.113.7"), "shareable")));
	g_assert_true(json_is_null(json_object_get(find_obs(r, "url",
		"https://evil.example.com/a"), "shareable")));
	json_decref(r);

	/* "" clears; other fields stay. */
	csip_assert_ok(csip_report_review_apply(t->hub, "user:analyst",
						res.report_id, &clear));
	csip_assert_ok(csip_report_get(t->hub, res.report_id, &r));
	g_assert_true(json_is_null(json_object_get(r, "severity")));
	g_assert_cmpstr(sget(r, "attack_type"), ==, "targeted-mail");
	json_decref(r);

	/* Failures change nothing, not even the fields before the bad one. */
	state = review_state(t, res.report_id);
	rv.status = "shared";
	g_assert_cmpint(csip_report_review_apply(t->hub, "a", res.report_id,
						 &rv), ==, CSIP_EINVAL);
	g_assert_nonnull(strstr(csip_error_last(), "shared"));
	rv.status = "dismissed";
	rv.severity = "extreme";
	g_assert_cmpint(csip_report_review_apply(t->hub, "a", res.report_id,
						 &rv), ==, CSIP_EINVAL);
	g_assert_nonnull(strstr(csip_error_last(), "extreme"));
	rv.severity = "low";
	rv.tags = bad_tags;
	g_assert_cmpint(csip_report_review_apply(t->hub, "a", res.report_id,
						 &rv), ==, CSIP_EINVAL);
	g_assert_nonnull(strstr(csip_error_last(), "tag"));
	rv.tags = tags;
	rv.mark_values = ghost_v;
	rv.mark_types = ghost_t;
	rv.n_marks = 1;
	g_assert_cmpint(csip_report_review_apply(t->hub, "a", res.report_id,
						 &rv), ==, CSIP_ENOTFOUND);
	g_assert_nonnull(strstr(csip_error_last(), "203.0.113.99"));
	rv.mark_values = mvalues;
	rv.mark_types = mtypes;
	rv.mark_shareable = two;
	g_assert_cmpint(csip_report_review_apply(t->hub, "a", res.report_id,
						 &rv), ==, CSIP_EINVAL);
	rv.mark_shareable = mshare;
	g_assert_cmpint(csip_report_review_apply(t->hub, "a", res.report_id,
						 &none), ==, CSIP_EINVAL);
	g_assert_cmpint(csip_report_review_apply(t->hub, "a", 9999, &rv), ==,
			CSIP_ENOTFOUND);
	after = review_state(t, res.report_id);
	g_assert_cmpstr(after, ==, state);
	g_free(state);
	g_free(after);
	csip_test_hub_free(t);
}

static void
test_query(void)
{
	int64_t acme, other, ids[5], next = -1;
	csip_test_hub *t = hub_with_orgs(&acme, &other);
	csip_report_review dismiss = { .status = "dismissed" };
	csip_report_query q = { .limit = 2 };
	json_t *page = NULL, *r;
	csip_ingest_result res;

	for (int i = 0; i < 5; i++) {
		csip_report_in in = { .org = i % 2 ? "other" : "acme" };
		char *text = g_strdup_printf("report %d: 198.51.100.%d", i,
					     i + 1);

		csip_assert_ok(csip_report_submit_text(t->hub, "test", &in,
			text, strlen(text), &res));
		ids[i] = res.report_id;
		g_free(text);
	}
	csip_assert_ok(csip_report_review_apply(t->hub, "a", ids[2],
						&dismiss));

	/* Newest first, two at a time, until next is 0. */
	csip_assert_ok(csip_report_query_list(t->hub, &q, &page, &next));
	g_assert_cmpuint(json_array_size(page), ==, 2);
	r = json_array_get(page, 0);
	g_assert_cmpint(json_integer_value(json_object_get(r, "id")), ==,
			ids[4]);
	g_assert_cmpstr(sget(r, "org"), ==, "acme");
	g_assert_cmpint(json_integer_value(json_object_get(r, "indicators")),
			==, 1);
	g_assert_nonnull(json_object_get(r, "tags"));
	g_assert_nonnull(json_object_get(r, "shared_at"));
	g_assert_cmpint(next, ==, ids[3]);
	json_decref(page);
	q.before_id = next;
	csip_assert_ok(csip_report_query_list(t->hub, &q, &page, &next));
	g_assert_cmpint(json_integer_value(json_object_get(json_array_get(page,
		0), "id")), ==, ids[2]);
	g_assert_cmpint(json_integer_value(json_object_get(json_array_get(page,
		1), "id")), ==, ids[1]);
	g_assert_cmpint(next, ==, ids[1]);
	json_decref(page);
	q.before_id = next;
	csip_assert_ok(csip_report_query_list(t->hub, &q, &page, &next));
	g_assert_cmpuint(json_array_size(page), ==, 1);
	g_assert_cmpint(json_integer_value(json_object_get(json_array_get(page,
		0), "id")), ==, ids[0]);
	g_assert_cmpint(next, ==, 0);
	json_decref(page);

	/* An exact page has no next page. */
	q.before_id = 0;
	q.limit = 5;
	csip_assert_ok(csip_report_query_list(t->hub, &q, &page, &next));
	g_assert_cmpuint(json_array_size(page), ==, 5);
	g_assert_cmpint(next, ==, 0);
	json_decref(page);

	/* Filters: one organisation, one status, both. */
	q.limit = 0;
	q.org_id = acme;
	csip_assert_ok(csip_report_query_list(t->hub, &q, &page, NULL));
	g_assert_cmpuint(json_array_size(page), ==, 3);
	json_decref(page);
	q.status = "new";
	csip_assert_ok(csip_report_query_list(t->hub, &q, &page, NULL));
	g_assert_cmpuint(json_array_size(page), ==, 2);
	json_decref(page);
	q.org_id = 0;
	q.status = "dismissed";
	csip_assert_ok(csip_report_query_list(t->hub, &q, &page, NULL));
	g_assert_cmpuint(json_array_size(page), ==, 1);
	g_assert_cmpint(json_integer_value(json_object_get(json_array_get(page,
		0), "id")), ==, ids[2]);
	json_decref(page);

	q.status = "shared";
	g_assert_cmpint(csip_report_query_list(t->hub, &q, &page, NULL), ==,
			CSIP_EINVAL);
	g_assert_null(page);
	q.status = NULL;
	q.limit = 1001;
	g_assert_cmpint(csip_report_query_list(t->hub, &q, &page, NULL), ==,
			CSIP_EINVAL);
	g_assert_nonnull(strstr(csip_error_last(), "1001"));
	csip_test_hub_free(t);
}

/* A disk that fails at every possible point of a submission: each attempt
 * either stores the whole report with its audit row or leaves no trace,
 * and the audit chain always verifies. */
static void
test_submit_disk_faults(void)
{
	int64_t acme, other;
	csip_test_hub *t = hub_with_orgs(&acme, &other);
	csip_report_in in = { .org = "acme" };
	json_t *list = json_loads("[\"a.evil.example.com\", "
		"\"198.51.100.77\", {\"value\": \"hxxp://b.evil.example.com/\","
		" \"role\": \"c2\"}]", 0, NULL);

	for (int kind = 0; kind < 2; kind++) {
		int failed = 0, done = 0;

		for (int n = 0; n < 80 && !done; n++) {
			char *before = snapshot(t), *after;
			csip_ingest_result res;
			int64_t rows;
			int rc;

			csip_store_fault_after(n);
			rc = kind == 0
				? csip_report_submit_text(t->hub, "test", &in,
					TEXT, strlen(TEXT), &res)
				: csip_report_submit_indicators(t->hub, "test",
					&in, list, &res);
			csip_store_fault_clear();
			csip_test_hub_reopen(t);
			after = snapshot(t);
			if (rc < 0) {
				failed++;
				g_assert_cmpstr(after, ==, before);
			} else {
				done = 1;
				g_assert_cmpint(res.outcome, ==,
						CSIP_INGEST_STORED);
				g_assert_cmpstr(after, !=, before);
				g_assert_cmpint(count(t, "SELECT COUNT(*) FROM "
					"observation o JOIN report r ON r.id = "
					"o.report_id WHERE r.id = (SELECT "
					"MAX(id) FROM report)"), ==, 3);
			}
			csip_assert_ok(csip_audit_verify(t->hub, &rows));
			g_free(before);
			g_free(after);
		}
		g_assert_true(done);
		g_assert_cmpint(failed, >, 0);
	}
	json_decref(list);
	csip_test_hub_free(t);
}

/* The same for a review: all of it (fields, marks, audit row) or none. */
static void
test_review_disk_faults(void)
{
	int64_t acme, other;
	csip_test_hub *t = hub_with_orgs(&acme, &other);
	csip_report_in in = { .org = "acme" };
	const char *mtypes[] = { "hostname", "ipv4" };
	const char *mvalues[] = { "evil.example.com", "203.0.113.7" };
	const int mshare[] = { 0, 1 };
	csip_report_review rv = { .status = "reviewed", .severity =
		"critical", .mark_types = mtypes, .mark_values = mvalues,
		.mark_shareable = mshare, .n_marks = 2 };
	csip_ingest_result res;
	int failed = 0, done = 0;

	csip_assert_ok(csip_report_submit_text(t->hub, "test", &in, TEXT,
					       strlen(TEXT), &res));
	for (int n = 0; n < 60 && !done; n++) {
		char *before = review_state(t, res.report_id), *after;
		int64_t rows;
		int rc;

		csip_store_fault_after(n);
		rc = csip_report_review_apply(t->hub, "a", res.report_id, &rv);
		csip_store_fault_clear();
		csip_test_hub_reopen(t);
		after = review_state(t, res.report_id);
		if (rc < 0) {
			failed++;
			g_assert_cmpstr(after, ==, before);
		} else {
			done = 1;
			g_assert_true(g_str_has_prefix(after, "reviewed|"));
			g_assert_nonnull(strstr(after, "|critical|"));
		}
		csip_assert_ok(csip_audit_verify(t->hub, &rows));
		g_free(before);
		g_free(after);
	}
	g_assert_true(done);
	g_assert_cmpint(failed, >, 0);
	csip_test_hub_free(t);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/report/text", test_text);
	g_test_add_func("/report/text-rejects", test_text_rejects);
	g_test_add_func("/report/indicators", test_indicators);
	g_test_add_func("/report/indicators-rejects", test_indicators_rejects);
	g_test_add_func("/report/sharing", test_sharing);
	g_test_add_func("/report/review", test_review);
	g_test_add_func("/report/query", test_query);
	g_test_add_func("/report/submit-disk-faults", test_submit_disk_faults);
	g_test_add_func("/report/review-disk-faults", test_review_disk_faults);
	return g_test_run();
}
