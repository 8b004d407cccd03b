/*
 * test_stats.c - statistics per Japanese fiscal year: the fiscal-year and
 * quarter arithmetic in JST at its boundaries, the counts over a fixture
 * of reports, items, recipients and feedback across two fiscal years and
 * two SIGs, the scope each kind of reader gets, the campaign hook, and
 * the SVG parsed as XML (well-formed, bars, labels, escaping).
 */
#include "lib/policy.h"
#include "lib/stats.h"
#include "testutil.h"
#include "util/error.h"

#include <glib.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- fiscal-year arithmetic ------------------------------------------- */

static void
assert_fy(const char *ts, int want_fy, int want_q)
{
	int fy = -1, q = -1;

	csip_assert_ok(csip_stats_fy_of(ts, &fy, &q));
	if (fy != want_fy || q != want_q)
		g_error("%s: FY%d Q%d, want FY%d Q%d", ts, fy, q, want_fy,
			want_q);
}

static void
test_fiscal_year(void)
{
	int fy, q;

	/* 31 March 23:59:59 JST is still the old year; 1 April 00:00 JST
	 * (15:00 UTC the day before) the new one. */
	assert_fy("2017-03-31T14:59:59Z", 2016, 4);
	assert_fy("2017-03-31T15:00:00Z", 2017, 1);
	assert_fy("2016-03-31T14:59:59Z", 2015, 4);
	assert_fy("2016-03-31T15:00:00Z", 2016, 1);
	/* Quarter boundaries: 1 July, 1 October, 1 January JST. */
	assert_fy("2016-06-30T14:59:59Z", 2016, 1);
	assert_fy("2016-06-30T15:00:00Z", 2016, 2);
	assert_fy("2016-09-30T14:59:59Z", 2016, 2);
	assert_fy("2016-09-30T15:00:00Z", 2016, 3);
	assert_fy("2016-12-31T14:59:59Z", 2016, 3);
	assert_fy("2016-12-31T15:00:00Z", 2016, 4);
	/* A UTC date of 1 April that is still... 1 April in Japan. */
	assert_fy("2016-04-01T00:00:00Z", 2016, 1);
	/* Offsets are honoured. */
	assert_fy("2017-04-01T00:00:00+09:00", 2017, 1);
	assert_fy("2017-03-31T23:59:59+09:00", 2016, 4);
	g_assert_cmpint(csip_stats_fy_of("yesterday", &fy, &q), ==,
			CSIP_EINVAL);
	g_assert_nonnull(strstr(csip_error_last(), "\"yesterday\""));
	g_assert_cmpint(csip_stats_current_fy(), >=, 2024);
}

static void
test_bounds(void)
{
	char s[21], e[21];

	csip_stats_bounds(2016, 0, s, e);
	g_assert_cmpstr(s, ==, "2016-03-31T15:00:00Z");
	g_assert_cmpstr(e, ==, "2017-03-31T15:00:00Z");
	csip_stats_bounds(2016, 1, s, e);
	g_assert_cmpstr(s, ==, "2016-03-31T15:00:00Z");
	g_assert_cmpstr(e, ==, "2016-06-30T15:00:00Z");
	csip_stats_bounds(2016, 2, s, e);
	g_assert_cmpstr(s, ==, "2016-06-30T15:00:00Z");
	g_assert_cmpstr(e, ==, "2016-09-30T15:00:00Z");
	csip_stats_bounds(2016, 3, s, e);
	g_assert_cmpstr(s, ==, "2016-09-30T15:00:00Z");
	g_assert_cmpstr(e, ==, "2016-12-31T15:00:00Z");
	csip_stats_bounds(2016, 4, s, e);
	g_assert_cmpstr(s, ==, "2016-12-31T15:00:00Z");
	g_assert_cmpstr(e, ==, "2017-03-31T15:00:00Z");
	/* A leap year changes nothing: the bounds are month starts. */
	csip_stats_bounds(2019, 4, s, e);
	g_assert_cmpstr(s, ==, "2019-12-31T15:00:00Z");
	g_assert_cmpstr(e, ==, "2020-03-31T15:00:00Z");
}

static void
test_parse_fy(void)
{
	static const char *const bad[] = { "", "16", "20161", "2016-",
		"-2016", "abcd", "2016 ", " 2016", "2016-17", "2017-2016",
		"1969", "9999", "2000-2030", "２０１６", NULL };
	int a = 0, b = 0;

	csip_assert_ok(csip_stats_parse_fy("2016", &a, &b));
	g_assert_cmpint(a, ==, 2016);
	g_assert_cmpint(b, ==, 2016);
	csip_assert_ok(csip_stats_parse_fy("2014-2016", &a, &b));
	g_assert_cmpint(a, ==, 2014);
	g_assert_cmpint(b, ==, 2016);
	for (int i = 0; bad[i]; i++) {
		if (csip_stats_parse_fy(bad[i], &a, &b) != CSIP_EINVAL)
			g_error("fiscal year \"%s\" was accepted", bad[i]);
		g_assert_nonnull(strstr(csip_error_last(), "fiscal year"));
	}
	csip_stats_parse_fy("abcd", &a, &b);
	g_assert_nonnull(strstr(csip_error_last(), "such as 2016"));
}

/* ---- the fixture ------------------------------------------------------ */

typedef struct fixture {
	csip_test_hub *t;
	int64_t hub, p1, p2, p3, p4, partner;
	int64_t i1, i2, i4;
} fixture;

static int64_t
insert(csip_test_hub *t, const char *sql, ...) G_GNUC_NULL_TERMINATED;

/* Run an INSERT ... RETURNING id with up to eight text parameters. */
static int64_t
insert(csip_test_hub *t, const char *sql, ...)
{
	const char *p[8] = { NULL };
	int64_t id = 0;
	va_list ap;
	int n = 0;

	va_start(ap, sql);
	while (n < 8 && (p[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	csip_assert_ok(csip_store_query_int64(csip_hub_store(t->hub), &id,
		sql, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], NULL));
	return id;
}

static char *
id_text(int64_t id)
{
	return g_strdup_printf("%" G_GINT64_FORMAT, id);
}

static int64_t
add_org(csip_test_hub *t, const char *name, const char *role,
	const char *nda, const char *sig1, const char *sig2)
{
	int64_t id = insert(t, "INSERT INTO org (name, display_name, role, "
		"nda_date, created_at, updated_at) VALUES (?, ?, ?, ?, "
		"'2010-01-01T00:00:00Z', '2010-01-01T00:00:00Z') RETURNING id",
		name, name, role, nda ? nda : CSIP_SQL_NULL, NULL);
	const char *sigs[] = { sig1, sig2 };
	char *ids = id_text(id);

	for (int i = 0; i < 2; i++)
		if (sigs[i])
			csip_assert_ok(csip_store_run(csip_hub_store(t->hub),
				NULL, "INSERT INTO org_sig (org_id, sig_id) "
				"SELECT ?, id FROM sig WHERE code = ?", ids,
				sigs[i], NULL));
	g_free(ids);
	return id;
}

static void
add_report(csip_test_hub *t, int64_t org, const char *at,
	   const char *attack_type)
{
	static unsigned serial;
	char *o = id_text(org), *sha = g_strdup_printf("%064u", ++serial);

	insert(t, "INSERT INTO report (org_id, kind, permission, attribution, "
		"tlp, source, received_at, raw_sha256, attack_type) VALUES (?, "
		"'indicators', 'community', 'none', 'amber', 'test', ?, ?, ?) "
		"RETURNING id", o, at, sha, attack_type ? attack_type :
		CSIP_SQL_NULL, NULL);
	g_free(o);
	g_free(sha);
}

static int64_t
add_item(csip_test_hub *t, const char *status, const char *published_at,
	 const char *attack_type)
{
	return insert(t, "INSERT INTO item (title, tlp, audience, status, "
		"created_by, created_at, updated_at, published_at, "
		"attack_type) VALUES ('t', 'amber', 'community', ?, 'test', "
		"'2010-01-01T00:00:00Z', '2010-01-01T00:00:00Z', ?, ?) "
		"RETURNING id", status, published_at ? published_at :
		CSIP_SQL_NULL, attack_type ? attack_type : CSIP_SQL_NULL,
		NULL);
}

static void
add_recipient(csip_test_hub *t, int64_t item, int64_t org, const char *at)
{
	char *i = id_text(item), *o = id_text(org);

	/* As the hub does: the item reaches the organisation, and the
	 * statistics keep the instance. */
	csip_assert_ok(csip_store_run(csip_hub_store(t->hub), NULL, "INSERT "
		"INTO item_recipient (item_id, org_id, shared_at) VALUES (?, "
		"?, ?)", i, o, at, NULL));
	csip_assert_ok(csip_store_run(csip_hub_store(t->hub), NULL, "INSERT "
		"INTO sharing_instance (item_id, org_id, shared_at) VALUES (?, "
		"?, ?)", i, o, at, NULL));
	g_free(i);
	g_free(o);
}

static void
add_feedback(csip_test_hub *t, int64_t item, int64_t org, const char *kind,
	     const char *at)
{
	char *i = id_text(item), *o = id_text(org);

	insert(t, "INSERT INTO feedback (item_id, org_id, kind, created_at) "
		"VALUES (?, ?, ?, ?) RETURNING id", i, o, kind, at, NULL);
	g_free(i);
	g_free(o);
}

/* FY2016 (2016-03-31T15:00Z .. 2017-03-31T15:00Z):
 *   reports  Q1: p2, p3   Q2: p2   Q3: -   Q4: p1 (energy+gas), p3
 *            by SIG: energy 1,1,0,1 = 3; gas 1,0,0,2 = 3; total 5
 *            by type: unclassified 3, targeted-mail 1, watering-hole 1
 *   items    Q2: i1 (targeted-mail)   Q4: i2 (withdrawn, unclassified)
 *   sharing  Q2: i1 -> p2, p3, partner   Q4: i2 -> p1
 *            by SIG: energy 0,1,0,1; gas 0,1,0,1; no SIG 0,1,0,0
 *   feedback Q2: sighting   Q3: false_positive
 * FY2017 and FY2015 get one of each on the far side of a boundary. */
static fixture *
fixture_new(void)
{
	fixture *f = g_new0(fixture, 1);
	csip_test_hub *t = f->t = csip_test_hub_new();
	int64_t i3;

	insert(t, "INSERT INTO sig (code, name, created_at) VALUES ('energy', "
	       "'Electric power', '2010-01-01T00:00:00Z') RETURNING id", NULL);
	insert(t, "INSERT INTO sig (code, name, created_at) VALUES ('gas', "
	       "'Gas', '2010-01-01T00:00:00Z') RETURNING id", NULL);
	f->hub = add_org(t, "the-hub", "hub", "2010-01-01", NULL, NULL);
	f->p1 = add_org(t, "p1", "participant", "2010-01-01", "energy", "gas");
	f->p2 = add_org(t, "p2", "participant", "2010-01-01", "energy", NULL);
	f->p3 = add_org(t, "p3", "participant", "2010-01-01", "gas", NULL);
	f->p4 = add_org(t, "p4", "participant", NULL, "gas", NULL);
	f->partner = add_org(t, "partner", "partner", "2010-01-01", NULL,
			     NULL);

	add_report(t, f->p1, "2017-03-31T14:59:59Z", "targeted-mail");
	add_report(t, f->p1, "2017-03-31T15:00:00Z", "targeted-mail");
	add_report(t, f->p2, "2016-04-01T00:00:00Z", NULL);
	add_report(t, f->p3, "2016-03-31T15:00:00Z", "watering-hole");
	add_report(t, f->p3, "2016-03-31T14:59:59Z", NULL);
	add_report(t, f->p2, "2016-09-30T14:59:59Z", NULL);
	add_report(t, f->p3, "2016-12-31T15:00:00Z", NULL);

	/* Published in the first second of Q2 with microseconds, as items
	 * are (timefmt.h); i4 to the second, as before migration 13. */
	f->i1 = add_item(t, "published", "2016-06-30T15:00:00.250000Z",
			 "targeted-mail");
	f->i2 = add_item(t, "withdrawn", "2017-01-15T00:00:00Z", NULL);
	i3 = add_item(t, "draft", NULL, "targeted-mail");
	f->i4 = add_item(t, "published", "2017-03-31T15:00:00Z", NULL);
	(void)i3;
	add_recipient(t, f->i1, f->p2, "2016-07-01T00:00:00Z");
	add_recipient(t, f->i1, f->p3, "2016-07-01T00:00:00Z");
	add_recipient(t, f->i1, f->partner, "2016-07-01T00:00:00Z");
	add_recipient(t, f->i2, f->p1, "2017-03-31T14:59:59Z");
	add_recipient(t, f->i4, f->p2, "2017-03-31T15:00:00Z");
	/* i2 was withdrawn: the hub no longer lists it for p1, and the
	 * statistics still count the instance (sharing_instance). */
	{
		char *i = id_text(f->i2);

		csip_assert_ok(csip_store_run(csip_hub_store(t->hub), NULL,
			"DELETE FROM item_recipient WHERE item_id = ?", i,
			NULL));
		g_free(i);
	}

	add_feedback(t, f->i1, f->p2, "sighting", "2016-07-02T00:00:00Z");
	add_feedback(t, f->i1, f->p3, "false_positive",
		     "2016-12-31T14:59:59Z");
	add_feedback(t, f->i4, f->p2, "blocked", "2017-03-31T15:00:00Z");
	return f;
}

static void
fixture_free(fixture *f)
{
	csip_test_hub_free(f->t);
	g_free(f);
}

static json_t *
stats_as(fixture *f, int64_t org, int first, int last)
{
	csip_reader r;
	json_t *out = NULL;

	csip_assert_ok(csip_reader_load(csip_hub_store(f->t->hub), org, &r));
	csip_assert_ok(csip_stats_compute(csip_hub_store(f->t->hub), &r,
					  first, last, &out));
	csip_reader_clear(&r);
	return out;
}

/* "[a,b,c,d]" of a JSON array of four integers or nulls. */
static char *
quarters_of(json_t *a)
{
	char *s = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY);
	char *r = g_strdup(s);

	free(s);
	return r;
}

/* The four quarter counts of MEASURE in year Y, as "[a,b,c,d]". */
static char *
measure_quarters(json_t *y, const char *measure)
{
	json_t *a = json_array(), *q;
	size_t i;
	char *s;

	json_array_foreach(json_object_get(y, "quarters"), i, q) {
		json_t *v = json_object_get(json_object_get(q, "counts"),
					    measure);

		json_array_append(a, v ? v : json_string("absent"));
	}
	s = quarters_of(a);
	json_decref(a);
	return s;
}

static void
assert_measure(json_t *y, const char *measure, const char *quarters,
	       json_int_t total)
{
	char *q = measure_quarters(y, measure);
	json_t *t = json_object_get(json_object_get(y, "totals"), measure);

	if (strcmp(q, quarters) != 0)
		g_error("%s per quarter: %s, want %s", measure, q, quarters);
	g_free(q);
	if (total < 0)
		g_assert_true(json_is_null(t));
	else
		g_assert_cmpint(json_integer_value(t), ==, total);
}

/* The breakdown row labelled LABEL of NAME, as "[a,b,c,d]=total". */
static char *
breakdown_row(json_t *y, const char *name, const char *label)
{
	json_t *rows = json_object_get(json_object_get(y, "breakdowns"), name);
	json_t *row;
	size_t i;

	json_array_foreach(rows, i, row) {
		if (strcmp(json_string_value(json_object_get(row, "label")),
			   label) == 0) {
			char *q = quarters_of(json_object_get(row,
							      "quarters"));
			char *s = g_strdup_printf("%s=%" JSON_INTEGER_FORMAT,
				q, json_integer_value(json_object_get(row,
				"total")));

			g_free(q);
			return s;
		}
	}
	return g_strdup("missing");
}

#define assert_row(y, name, label, want) do { \
	char *got_ = breakdown_row(y, name, label); \
	if (strcmp(got_, want) != 0) \
		g_error("%s %s: %s, want %s", name, label, got_, want); \
	g_free(got_); \
} while (0)

static void
test_counts_hub(void)
{
	fixture *f = fixture_new();
	json_t *st = stats_as(f, f->hub, 2015, 2017), *y;

	g_assert_cmpstr(json_string_value(json_object_get(st, "scope")), ==,
			"all");
	g_assert_cmpint(json_array_size(json_object_get(st, "years")), ==, 3);

	y = json_array_get(json_object_get(st, "years"), 0);
	g_assert_cmpint(json_integer_value(json_object_get(y, "fy")), ==, 2015);
	assert_measure(y, "reports", "[0,0,0,1]", 1);

	y = json_array_get(json_object_get(st, "years"), 1);
	g_assert_cmpstr(json_string_value(json_object_get(y, "label")), ==,
			"FY2016");
	g_assert_cmpstr(json_string_value(json_object_get(y, "from")), ==,
			"2016-04-01");
	g_assert_cmpstr(json_string_value(json_object_get(y, "to")), ==,
			"2017-03-31");
	g_assert_cmpstr(json_string_value(json_object_get(y, "start")), ==,
			"2016-03-31T15:00:00Z");
	assert_measure(y, "reports", "[2,1,0,2]", 5);
	assert_measure(y, "items", "[0,1,0,1]", 2);
	assert_measure(y, "sharing_instances", "[0,3,0,1]", 4);
	assert_measure(y, "feedback", "[0,1,1,0]", 2);
	assert_measure(y, "campaigns", "[0,0,0,0]", 0);
	g_assert_null(json_object_get(json_object_get(y, "totals"),
				      "provided"));
	/* p1 is in both SIGs: its report counts in each, once in total. */
	assert_row(y, "reports_by_sig", "energy", "[1,1,0,1]=3");
	assert_row(y, "reports_by_sig", "gas", "[1,0,0,2]=3");
	assert_row(y, "reports_by_sig", "no SIG", "missing");
	assert_row(y, "reports_by_attack_type", "unclassified", "[1,1,0,1]=3");
	assert_row(y, "reports_by_attack_type", "targeted-mail", "[0,0,0,1]=1");
	assert_row(y, "reports_by_attack_type", "watering-hole", "[1,0,0,0]=1");
	/* Sorted by total: unclassified first. */
	g_assert_cmpstr(json_string_value(json_object_get(json_array_get(
		json_object_get(json_object_get(y, "breakdowns"),
		"reports_by_attack_type"), 0), "label")), ==, "unclassified");
	g_assert_true(json_is_null(json_object_get(json_array_get(
		json_object_get(json_object_get(y, "breakdowns"),
		"reports_by_attack_type"), 0), "key")));
	assert_row(y, "items_by_attack_type", "targeted-mail", "[0,1,0,0]=1");
	assert_row(y, "items_by_attack_type", "unclassified", "[0,0,0,1]=1");
	assert_row(y, "sharing_by_sig", "energy", "[0,1,0,1]=2");
	assert_row(y, "sharing_by_sig", "gas", "[0,1,0,1]=2");
	assert_row(y, "sharing_by_sig", "no SIG", "[0,1,0,0]=1");
	assert_row(y, "feedback_by_kind", "sighting", "[0,1,0,0]=1");
	assert_row(y, "feedback_by_kind", "false_positive", "[0,0,1,0]=1");
	assert_row(y, "feedback_by_kind", "blocked", "[0,0,0,0]=0");

	y = json_array_get(json_object_get(st, "years"), 2);
	assert_measure(y, "reports", "[1,0,0,0]", 1);
	assert_measure(y, "items", "[1,0,0,0]", 1);
	assert_measure(y, "sharing_instances", "[1,0,0,0]", 1);
	assert_measure(y, "feedback", "[1,0,0,0]", 1);
	json_decref(st);
	fixture_free(f);
}

static void
test_text(void)
{
	fixture *f = fixture_new();
	json_t *st = stats_as(f, f->hub, 2016, 2016);
	char *text = csip_stats_text(st);

	g_assert_nonnull(strstr(text, "FY2016 (2016-04-01 to 2017-03-31, "
				"dates in JST)\n"));
	g_assert_nonnull(strstr(text, "Reports received                2  "
				"      1        0        2        5\n"));
	g_assert_nonnull(strstr(text, "Reports received by SIG of the "
				"provider\n"));
	g_assert_nonnull(strstr(text, "  energy                        1  "
				"      1        0        1        3\n"));
	g_free(text);
	json_decref(st);
	fixture_free(f);
}

/* ---- who sees what ---------------------------------------------------- */

static void
test_scope_rule(void)
{
	csip_reader hub = { .org_id = 1, .hub = 1 };
	csip_reader member = { .org_id = 2, .nda = 1 };
	csip_reader no_nda = { .org_id = 3 };
	csip_reader partner = { .org_id = 4, .partner = 1, .nda = 1 };
	csip_reader nobody = { .org_id = 0, .hub = 1 };

	g_assert_cmpint(csip_policy_stats_scope(&hub), ==, CSIP_STATS_ALL);
	g_assert_cmpint(csip_policy_stats_scope(&member), ==,
			CSIP_STATS_COMMUNITY);
	g_assert_cmpint(csip_policy_stats_scope(&no_nda), ==, CSIP_STATS_OWN);
	g_assert_cmpint(csip_policy_stats_scope(&partner), ==,
			CSIP_STATS_OWN);
	g_assert_cmpint(csip_policy_stats_scope(&nobody), ==,
			CSIP_STATS_NONE);
	g_assert_cmpint(csip_policy_stats_scope(NULL), ==, CSIP_STATS_NONE);
	g_assert_true(csip_policy_stats_count(CSIP_STATS_ALL, 5, 1));
	g_assert_true(csip_policy_stats_count(CSIP_STATS_COMMUNITY, 0, 0));
	g_assert_false(csip_policy_stats_count(CSIP_STATS_COMMUNITY, 4, 2));
	g_assert_true(csip_policy_stats_count(CSIP_STATS_COMMUNITY, 4,
		CSIP_POLICY_STATS_MIN_PROVIDERS));
	g_assert_false(csip_policy_stats_count(CSIP_STATS_OWN, 4, 9));
	/* A total beside withheld parts: shown when they are none, or could
	 * be shown together. */
	g_assert_true(csip_policy_stats_total(CSIP_STATS_COMMUNITY, 5, 3, 0,
					      0));
	g_assert_false(csip_policy_stats_total(CSIP_STATS_COMMUNITY, 5, 3, 2,
					       1));
	g_assert_true(csip_policy_stats_total(CSIP_STATS_COMMUNITY, 5, 3, 4,
					      3));
	g_assert_false(csip_policy_stats_total(CSIP_STATS_COMMUNITY, 5, 2, 0,
					       0));
	g_assert_true(csip_policy_stats_total(CSIP_STATS_ALL, 5, 1, 2, 1));
}

static void
assert_no_key(json_t *st, const char *needle)
{
	char *s = json_dumps(st, JSON_COMPACT);

	if (strstr(s, needle))
		g_error("\"%s\" in a non-hub reader's statistics: %s", needle,
			s);
	free(s);
}

static void
test_scope_participant(void)
{
	fixture *f = fixture_new();
	json_t *st = stats_as(f, f->p2, 2016, 2016), *y, *bd;
	csip_reader nobody = { 0 };
	json_t *none = NULL;

	g_assert_cmpstr(json_string_value(json_object_get(st, "scope")), ==,
			"community");
	y = json_array_get(json_object_get(st, "years"), 0);
	/* Quarters with fewer than three providers are withheld; the year
	 * had three. */
	assert_measure(y, "reports", "[null,null,0,null]", 5);
	assert_measure(y, "items", "[0,1,0,1]", 2);
	assert_measure(y, "sharing_instances", "[0,3,0,1]", 4);
	assert_measure(y, "feedback", "[0,1,1,0]", 2);
	assert_measure(y, "provided", "[1,1,0,0]", 2);
	assert_measure(y, "received", "[0,1,0,0]", 1);
	bd = json_object_get(y, "breakdowns");
	g_assert_cmpint(json_object_size(bd), ==, 1);
	assert_row(y, "received_by_attack_type", "targeted-mail",
		   "[0,1,0,0]=1");
	/* No breakdown by SIG, and no SIG named anywhere. */
	assert_no_key(st, "energy");
	assert_no_key(st, "\"gas\"");
	assert_no_key(st, "by_sig");
	assert_no_key(st, "watering-hole");
	json_decref(st);

	/* In FY2017 only p1 reported: the total is withheld too. */
	st = stats_as(f, f->p2, 2017, 2017);
	y = json_array_get(json_object_get(st, "years"), 0);
	assert_measure(y, "reports", "[null,0,0,0]", -1);
	assert_measure(y, "provided", "[0,0,0,0]", 0);
	assert_measure(y, "received", "[1,0,0,0]", 1);
	json_decref(st);

	g_assert_cmpint(csip_stats_compute(csip_hub_store(f->t->hub),
		&nobody, 2016, 2016, &none), ==, CSIP_EPERM);
	g_assert_null(none);
	fixture_free(f);
}

/* The reports of FY as ORG sees them: QUARTERS and TOTAL as in
 * assert_measure. */
static void
assert_reports(fixture *f, int64_t org, int fy, const char *quarters,
	       json_int_t total)
{
	json_t *st = stats_as(f, org, fy, fy);

	assert_measure(json_array_get(json_object_get(st, "years"), 0),
		       "reports", quarters, total);
	json_decref(st);
}

/* A year's total beside its quarters gives away the withheld ones: their
 * sum is the total less the quarters shown.  So the total is shown only
 * when the withheld quarters together could be (three providers). */
static void
test_withheld_complement(void)
{
	fixture *f = fixture_new();

	/* FY2018: Q1 p1, p2, p3; Q2 p1 alone, twice.  FY2019: Q1 p1, p2,
	 * p3; Q3 and Q4 p1 alone.  FY2020: Q1 p1 and p2; Q2 p3 alone:
	 * together three. */
	static const struct { int by; const char *at; } reps[] = {
		{ 1, "2018-05-01T00:00:00Z" }, { 2, "2018-05-01T00:00:00Z" },
		{ 3, "2018-05-01T00:00:00Z" }, { 1, "2018-08-01T00:00:00Z" },
		{ 1, "2018-08-02T00:00:00Z" },
		{ 1, "2019-05-01T00:00:00Z" }, { 2, "2019-05-01T00:00:00Z" },
		{ 3, "2019-05-01T00:00:00Z" }, { 1, "2019-11-01T00:00:00Z" },
		{ 1, "2020-02-01T00:00:00Z" },
		{ 1, "2020-05-01T00:00:00Z" }, { 2, "2020-05-01T00:00:00Z" },
		{ 3, "2020-08-01T00:00:00Z" },
	};
	const int64_t by[] = { 0, f->p1, f->p2, f->p3 };

	for (size_t i = 0; i < G_N_ELEMENTS(reps); i++)
		add_report(f->t, by[reps[i].by], reps[i].at, NULL);
	assert_reports(f, f->p2, 2018, "[3,null,0,0]", -1);
	assert_reports(f, f->p2, 2019, "[3,0,null,null]", -1);
	assert_reports(f, f->p2, 2020, "[null,null,0,0]", 3);
	/* The hub sees every count. */
	assert_reports(f, f->hub, 2018, "[3,2,0,0]", 5);
	fixture_free(f);
}

static void
test_scope_own(void)
{
	fixture *f = fixture_new();
	int64_t readers[] = { f->partner, f->p4 };

	for (size_t i = 0; i < G_N_ELEMENTS(readers); i++) {
		json_t *st = stats_as(f, readers[i], 2016, 2016), *y;
		json_t *totals;

		g_assert_cmpstr(json_string_value(json_object_get(st,
				"scope")), ==, "own");
		y = json_array_get(json_object_get(st, "years"), 0);
		totals = json_object_get(y, "totals");
		g_assert_cmpint(json_object_size(totals), ==, 2);
		g_assert_null(json_object_get(totals, "reports"));
		g_assert_null(json_object_get(totals, "sharing_instances"));
		g_assert_null(json_object_get(totals, "campaigns"));
		assert_measure(y, "provided", "[0,0,0,0]", 0);
		assert_measure(y, "received", readers[i] == f->partner ?
			       "[0,1,0,0]" : "[0,0,0,0]",
			       readers[i] == f->partner ? 1 : 0);
		assert_no_key(st, "energy");
		json_decref(st);
	}
	fixture_free(f);
}

static void
test_campaigns_hook(void)
{
	fixture *f = fixture_new();
	json_t *st, *y;

	/* The correlation module owns the campaign table: test against
	 * a minimal one of the columns counted, so that its schema can
	 * grow.  Without it (an older schema), 0 and a note. */
	csip_assert_ok(csip_store_exec(csip_hub_store(f->t->hub), "DROP TABLE "
		"IF EXISTS alert; DROP TABLE IF EXISTS campaign_report; DROP "
		"TABLE IF EXISTS campaign"));
	st = stats_as(f, f->hub, 2016, 2016);
	y = json_array_get(json_object_get(st, "years"), 0);
	assert_measure(y, "campaigns", "[0,0,0,0]", 0);
	{
		char *notes = json_dumps(json_object_get(st, "notes"), 0);

		g_assert_nonnull(strstr(notes, "no campaign table"));
		free(notes);
	}
	json_decref(st);
	/* With the table, campaigns count by their creation time, a merged
	 * one not again, and the note goes. */
	csip_assert_ok(csip_store_exec(csip_hub_store(f->t->hub), "CREATE "
		"TABLE campaign (id INTEGER PRIMARY KEY, created_at TEXT NOT "
		"NULL, merged_into BIGINT); INSERT INTO campaign (id, created_at, "
		"merged_into) VALUES (1, '2016-10-01T00:00:00Z', NULL), "
		"(2, '2016-10-02T00:00:00Z', 1), (3, '2017-03-31T15:00:00Z', "
		"NULL)"));
	st = stats_as(f, f->hub, 2016, 2016);
	y = json_array_get(json_object_get(st, "years"), 0);
	assert_measure(y, "campaigns", "[0,0,1,0]", 1);
	{
		char *notes = json_dumps(json_object_get(st, "notes"), 0);

		g_assert_null(strstr(notes, "campaign table"));
		free(notes);
	}
	json_decref(st);
	st = stats_as(f, f->p2, 2016, 2016);
	y = json_array_get(json_object_get(st, "years"), 0);
	assert_measure(y, "campaigns", "[0,0,1,0]", 1);
	json_decref(st);
	fixture_free(f);
}

/* ---- SVG -------------------------------------------------------------- */

typedef struct svg_doc {
	int depth;
	int root_ok;
	int bars;
	int withheld;
	int in_text;
	GString *text;          /* every text element's content, "|"-joined */
	GString *bar_titles;    /* every bar's title, "|"-joined */
	int in_bar_title;
	int in_bar;
} svg_doc;

static const char *
attr(const char **names, const char **values, const char *name)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], name) == 0)
			return values[i];
	return NULL;
}

static void
on_start(GMarkupParseContext *ctx, const char *el, const char **names,
	 const char **values, gpointer ud, GError **err)
{
	svg_doc *d = ud;
	const char *cls = attr(names, values, "class");

	if (d->depth++ == 0) {
		g_assert_cmpstr(el, ==, "svg");
		g_assert_cmpstr(attr(names, values, "xmlns"), ==,
				"http://www.w3.org/2000/svg");
		g_assert_cmpstr(attr(names, values, "version"), ==, "1.1");
		g_assert_nonnull(attr(names, values, "viewBox"));
		g_assert_cmpstr(attr(names, values, "width"), ==, "960");
		g_assert_nonnull(attr(names, values, "height"));
		d->root_ok = 1;
	}
	if (strcmp(el, "rect") == 0 && g_strcmp0(cls, "bar") == 0) {
		d->bars++;
		d->in_bar = 1;
		g_assert_cmpfloat(g_ascii_strtod(attr(names, values, "height"),
				  NULL), >=, 0);
	}
	if (strcmp(el, "title") == 0 && d->in_bar)
		d->in_bar_title = 1;
	if (strcmp(el, "text") == 0) {
		d->in_text = 1;
		if (g_strcmp0(cls, "withheld") == 0)
			d->withheld++;
	}
}

static void
on_end(GMarkupParseContext *ctx, const char *el, gpointer ud, GError **err)
{
	svg_doc *d = ud;

	d->depth--;
	if (strcmp(el, "text") == 0) {
		d->in_text = 0;
		g_string_append_c(d->text, '|');
	}
	if (strcmp(el, "title") == 0 && d->in_bar_title) {
		d->in_bar_title = 0;
		g_string_append_c(d->bar_titles, '|');
	}
	if (strcmp(el, "rect") == 0)
		d->in_bar = 0;
}

static void
on_text(GMarkupParseContext *ctx, const char *text, gsize len, gpointer ud,
	GError **err)
{
	svg_doc *d = ud;

	if (d->in_text)
		g_string_append_len(d->text, text, (gssize)len);
	if (d->in_bar_title)
		g_string_append_len(d->bar_titles, text, (gssize)len);
}

static void
parse_svg(const char *svg, svg_doc *d)
{
	static const GMarkupParser parser = { on_start, on_end, on_text, NULL,
		NULL };
	GMarkupParseContext *ctx;
	GError *err = NULL;

	memset(d, 0, sizeof *d);
	d->text = g_string_new("|");
	d->bar_titles = g_string_new("|");
	g_assert_true(g_str_has_prefix(svg, "<?xml version=\"1.0\" "
		      "encoding=\"UTF-8\""));
	ctx = g_markup_parse_context_new(&parser, 0, d, NULL);
	if (!g_markup_parse_context_parse(ctx, svg, -1, &err) ||
	    !g_markup_parse_context_end_parse(ctx, &err))
		g_error("the SVG is not well-formed XML: %s\n%s", err->message,
			svg);
	g_markup_parse_context_free(ctx);
	g_assert_true(d->root_ok);
	g_assert_cmpint(d->depth, ==, 0);
}

static void
svg_doc_clear(svg_doc *d)
{
	g_string_free(d->text, TRUE);
	g_string_free(d->bar_titles, TRUE);
}

static void
test_svg(void)
{
	fixture *f = fixture_new();
	json_t *st = stats_as(f, f->hub, 2016, 2016);
	char *svg = csip_stats_svg(st);
	svg_doc d;

	parse_svg(svg, &d);
	/* Activity: 4 quarters x 5 measures; by SIG 2 x 4; by attack type
	 * 3 x 4; items by type 2 x 4; sharing by SIG 3 x 4; feedback 4 x 4. */
	g_assert_cmpint(d.bars, ==, 20 + 8 + 12 + 8 + 12 + 16);
	g_assert_cmpint(d.withheld, ==, 0);
	for (const char *const *n = (const char *const[]){
		"|csip statistics, FY2016|", "|Activity per quarter, FY2016|",
		"|Q1 (Apr-Jun)|", "|Q4 (Jan-Mar)|", "|Reports received|",
		"|Sharing instances|", "|Campaigns|",
		"|Reports received by SIG of the provider|", "|energy|",
		"|gas|", "|unclassified|", "|watering-hole|", "|no SIG|",
		"|Feedback by kind|", "|false_positive|", "|Count|", "|0|",
		NULL }; *n; n++)
		if (strstr(d.text->str, *n) == NULL)
			g_error("no text %s in the SVG: %s", *n, d.text->str);
	for (const char *const *n = (const char *const[]){
		"|Q1 (Apr-Jun), Reports received: 2|",
		"|Q4 (Jan-Mar), Reports received: 2|",
		"|Q2 (Jul-Sep), Sharing instances: 3|",
		"|gas, Q4: 2|", "|energy, Q2: 1|", NULL }; *n; n++)
		if (strstr(d.bar_titles->str, *n) == NULL)
			g_error("no bar %s in the SVG: %s", *n,
				d.bar_titles->str);
	svg_doc_clear(&d);
	g_free(svg);
	json_decref(st);

	/* Fiscal years side by side. */
	st = stats_as(f, f->hub, 2015, 2017);
	svg = csip_stats_svg(st);
	parse_svg(svg, &d);
	g_assert_nonnull(strstr(d.text->str, "|Activity per fiscal year, "
				"FY2015-FY2017|"));
	g_assert_nonnull(strstr(d.text->str, "|FY2016|"));
	g_assert_nonnull(strstr(d.bar_titles->str, "|FY2016, Reports "
				"received: 5|"));
	g_assert_nonnull(strstr(d.bar_titles->str, "|energy, FY2017: 1|"));
	svg_doc_clear(&d);
	g_free(svg);
	json_decref(st);

	/* A participant: withheld counts have no bar, a "*" instead. */
	st = stats_as(f, f->p2, 2016, 2016);
	svg = csip_stats_svg(st);
	parse_svg(svg, &d);
	g_assert_cmpint(d.withheld, ==, 3);
	g_assert_null(strstr(svg, "energy"));
	g_assert_nonnull(strstr(d.text->str, "|Items shared with you|"));
	svg_doc_clear(&d);
	g_free(svg);
	json_decref(st);
	fixture_free(f);
}

static void
test_svg_escaping(void)
{
	fixture *f = fixture_new();
	json_t *st;
	char *svg, *text;
	svg_doc d;

	/* Labels come from the database: markup, quotes, control
	 * characters and invalid UTF-8 must not break the document. */
	/* (PostgreSQL refuses invalid UTF-8 before it is stored.) */
	add_report(f->t, f->p1, "2016-05-01T00:00:00Z", f->t->pg_name
		   ? "<script>alert(\"x\")</script> & \x01 end"
		   : "<script>alert(\"x\")</script> & \x01 \xff end");
	st = stats_as(f, f->hub, 2016, 2016);
	svg = csip_stats_svg(st);
	parse_svg(svg, &d);
	g_assert_null(strstr(svg, "<script>"));
	g_assert_nonnull(strstr(d.bar_titles->str, "<script>alert(\"x\")"
				"</script> &"));
	svg_doc_clear(&d);
	text = csip_stats_text(st);
	g_assert_true(g_utf8_validate(text, -1, NULL));
	g_free(text);
	g_free(svg);
	json_decref(st);
	fixture_free(f);
}

static void
test_empty(void)
{
	csip_test_hub *t = csip_test_hub_new();
	csip_reader r = { .org_id = 1, .hub = 1 };
	json_t *st = NULL;
	char *svg;
	svg_doc d;

	csip_assert_ok(csip_stats_compute(csip_hub_store(t->hub), &r, 2016,
					  2016, &st));
	svg = csip_stats_svg(st);
	parse_svg(svg, &d);
	/* Zero bars are still drawn (height 0), with an axis up to 1. */
	g_assert_cmpint(d.bars, ==, 20 + 16);
	g_assert_nonnull(strstr(d.text->str, "|No data.|"));
	svg_doc_clear(&d);
	g_free(svg);
	json_decref(st);
	g_assert_cmpint(csip_stats_compute(csip_hub_store(t->hub), &r, 2016,
					   2015, &st), ==, CSIP_EINVAL);
	g_assert_null(st);
	csip_test_hub_free(t);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/stats/fiscal-year", test_fiscal_year);
	g_test_add_func("/stats/bounds", test_bounds);
	g_test_add_func("/stats/parse-fy", test_parse_fy);
	g_test_add_func("/stats/counts-hub", test_counts_hub);
	g_test_add_func("/stats/text", test_text);
	g_test_add_func("/stats/scope-rule", test_scope_rule);
	g_test_add_func("/stats/scope-participant", test_scope_participant);
	g_test_add_func("/stats/withheld-complement",
			test_withheld_complement);
	g_test_add_func("/stats/scope-own", test_scope_own);
	g_test_add_func("/stats/campaigns-hook", test_campaigns_hook);
	g_test_add_func("/stats/svg", test_svg);
	g_test_add_func("/stats/svg-escaping", test_svg_escaping);
	g_test_add_func("/stats/empty", test_empty);
	return g_test_run();
}
