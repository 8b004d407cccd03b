/*
 * stats.c - counts per Japanese fiscal year and quarter, and their text
 * and SVG renderings (see stats.h for what is counted and how).
 *
 * Every count is one GROUP BY query over a half-open range of UTC text
 * bounds, with the quarter computed in SQL by comparing against the
 * quarter bounds: portable to both backends and served by the indexes on
 * the time columns.  What a reader may see is asked of the policy module
 * once (csip_policy_stats_scope); the queries a scope may not see are
 * never run, so nothing hidden can leak through a renderer.
 *
 * The renderers work from the JSON result only, so the command line and
 * the API draw exactly what the reader was given.
 */
#include "lib/stats.h"
#include "util/error.h"
#include "util/timefmt.h"

#include <glib.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Japan Standard Time: UTC+9, without daylight saving since 1951. */
#define JST_HOURS 9

/* ---- fiscal-year arithmetic ------------------------------------------- */

/* The UTC instant of 00:00 JST on the first of MONTH (1-13: 13 is January
 * of the next year) of YEAR. */
static void
jst_month_start(int year, int month, char buf[static 21])
{
	GDateTime *d, *u;
	char *s;

	if (month > 12) {
		year++;
		month -= 12;
	}
	d = g_date_time_new_utc(year, month, 1, 0, 0, 0);
	u = g_date_time_add_hours(d, -JST_HOURS);
	s = g_date_time_format(u, "%Y-%m-%dT%H:%M:%SZ");
	g_strlcpy(buf, s, 21);
	g_free(s);
	g_date_time_unref(u);
	g_date_time_unref(d);
}

void
csip_stats_bounds(int fy, int quarter, char start[static 21],
		  char end[static 21])
{
	if (quarter < 1 || quarter > 4) {
		jst_month_start(fy, 4, start);
		jst_month_start(fy, 16, end);
		return;
	}
	jst_month_start(fy, 4 + 3 * (quarter - 1), start);
	jst_month_start(fy, 4 + 3 * quarter, end);
}

static void
fy_of_jst(GDateTime *utc, int *fy, int *quarter)
{
	GDateTime *jst = g_date_time_add_hours(utc, JST_HOURS);
	int y = g_date_time_get_year(jst), m = g_date_time_get_month(jst);

	g_date_time_unref(jst);
	*fy = m >= 4 ? y : y - 1;
	*quarter = m >= 4 ? (m - 4) / 3 + 1 : 4;
}

int
csip_stats_fy_of(const char *utc_ts, int *fy, int *quarter)
{
	GTimeZone *tz = g_time_zone_new_utc();
	GDateTime *d = NULL, *u = NULL;
	int rc = CSIP_OK;

	*fy = 0;
	*quarter = 0;
	if (utc_ts)
		d = g_date_time_new_from_iso8601(utc_ts, tz);
	if (d == NULL) {
		rc = csip_error_set(CSIP_EINVAL, "time \"%s\" is not an ISO "
			"8601 time; use one like 2017-03-31T15:00:00Z",
			utc_ts ? utc_ts : "");
		goto out;
	}
	u = g_date_time_to_utc(d);
	fy_of_jst(u, fy, quarter);
out:
	if (u)
		g_date_time_unref(u);
	if (d)
		g_date_time_unref(d);
	g_time_zone_unref(tz);
	return rc;
}

int
csip_stats_current_fy(void)
{
	GDateTime *now = g_date_time_new_now_utc();
	int fy, q;

	fy_of_jst(now, &fy, &q);
	g_date_time_unref(now);
	return fy;
}

/* A year of exactly four digits at S; returns the end or NULL. */
static const char *
parse_year(const char *s, int *out)
{
	for (int i = 0; i < 4; i++)
		if (!g_ascii_isdigit(s[i]))
			return NULL;
	*out = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
	       (s[3] - '0');
	return s + 4;
}

int
csip_stats_parse_fy(const char *text, int *first, int *last)
{
	const char *p = text ? parse_year(text, first) : NULL;

	if (p && *p == '-')
		p = parse_year(p + 1, last);
	else if (p)
		*last = *first;
	if (p == NULL || *p != '\0')
		return csip_error_set(CSIP_EINVAL, "fiscal year \"%s\": give a "
			"year such as 2016 (FY2016 is 1 April 2016 to 31 March "
			"2017, JST) or a range such as 2014-2016",
			text ? text : "");
	if (*first < CSIP_STATS_FY_MIN || *last > CSIP_STATS_FY_MAX)
		return csip_error_set(CSIP_EINVAL, "fiscal year \"%s\" is out "
			"of range: give years from %d to %d", text,
			CSIP_STATS_FY_MIN, CSIP_STATS_FY_MAX);
	if (*first > *last)
		return csip_error_set(CSIP_EINVAL, "fiscal years \"%s\" run "
			"backwards: give the earlier year first (%d-%d)", text,
			*last, *first);
	if (*last - *first + 1 > CSIP_STATS_MAX_YEARS)
		return csip_error_set(CSIP_EINVAL, "fiscal years \"%s\" span "
			"%d years: give at most %d", text, *last - *first + 1,
			CSIP_STATS_MAX_YEARS);
	return CSIP_OK;
}

/* ---- what is counted -------------------------------------------------- */

typedef struct measure {
	const char *name;      /* JSON key */
	const char *title;     /* in tables and legends */
} measure;

static const measure measures[] = {
	{ "reports", "Reports received" },
	{ "items", "Items shared" },
	{ "sharing_instances", "Sharing instances" },
	{ "feedback", "Feedback" },
	{ "campaigns", "Campaigns" },
	{ "provided", "Reports you provided" },
	{ "received", "Items shared with you" },
};

static const measure breakdowns[] = {
	{ "reports_by_sig", "Reports received by SIG of the provider" },
	{ "reports_by_attack_type", "Reports received by attack type" },
	{ "items_by_attack_type", "Items shared by attack type" },
	{ "sharing_by_sig", "Sharing instances by SIG of the receiving "
	  "organisation" },
	{ "feedback_by_kind", "Feedback by kind" },
	{ "received_by_attack_type", "Items shared with you by attack type" },
};

static const char *const feedback_kinds[] = { "sighting", "false_positive",
	"blocked", "comment", NULL };

static const char *const quarter_names[] = { "Apr-Jun", "Jul-Sep",
	"Oct-Dec", "Jan-Mar" };

/* The campaign table is another module's (correlation, migration 5):
 * where it is missing (an older schema) campaigns count 0 with a note.
 * HOOK: this is the one place that knows its name and columns.  A
 * campaign merged into another is counted once, as the one it went
 * into. */
#define CAMPAIGN_TABLE "campaign"
#define CAMPAIGN_TIME "created_at"
#define CAMPAIGN_MERGED "merged_into"

/* One row of a breakdown (or the single row of a total). */
typedef struct trow {
	char *key;             /* NULL: no SIG, unclassified */
	char *label;
	char *name;            /* SIG display name, may be NULL */
	int64_t q[5];          /* [1..4] quarters, [0] the year */
} trow;

typedef struct tally {
	GPtrArray *rows;       /* trow *, owned */
	GHashTable *by_key;    /* key ("" for NULL) -> trow *, borrowed */
} tally;

static void
trow_free(gpointer p)
{
	trow *r = p;

	g_free(r->key);
	g_free(r->label);
	g_free(r->name);
	g_free(r);
}

static void
tally_init(tally *t)
{
	t->rows = g_ptr_array_new_with_free_func(trow_free);
	t->by_key = g_hash_table_new(g_str_hash, g_str_equal);
}

static void
tally_clear(tally *t)
{
	if (t->by_key)
		g_hash_table_destroy(t->by_key);
	if (t->rows)
		g_ptr_array_unref(t->rows);
	memset(t, 0, sizeof *t);
}

/* Text from the database made fit for JSON and XML: valid UTF-8, no
 * control characters (XML 1.0 cannot carry them even escaped). */
static char *
clean(const char *s)
{
	char *v = g_utf8_make_valid(s ? s : "", -1);

	for (char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return v;
}

static trow *
tally_row(tally *t, const char *key, const char *label, const char *name)
{
	trow *r = g_hash_table_lookup(t->by_key, key ? key : "");

	if (r)
		return r;
	r = g_new0(trow, 1);
	r->key = key ? clean(key) : NULL;
	r->label = clean(label);
	r->name = name ? clean(name) : NULL;
	g_ptr_array_add(t->rows, r);
	/* The hash key is the row's own copy (or a static ""). */
	g_hash_table_insert(t->by_key, r->key ? r->key : "", r);
	return r;
}

/* A counting query: SELECT key, label, quarter, AGG FROM FROM WHERE COL
 * in the year [AND WHERE] GROUP BY the first three. */
typedef struct query {
	const char *key;       /* SQL: the row's key, NULL or '' for none */
	const char *label;     /* SQL: its label */
	const char *agg;       /* COUNT(*), COUNT(DISTINCT ...) */
	const char *from;
	const char *col;       /* the time column */
	const char *where;     /* " AND ...", may use one ? for ORG */
	const char *none;      /* label of rows whose key is NULL or '' */
} query;

typedef struct period {
	int fy;
	char b[5][21];         /* quarter bounds: b[0] start ... b[4] end */
	/* The same in the long form, to compare with: published_at has
	 * microseconds, and a whole second's short form would sort after
	 * the times within it (timefmt.h). */
	char lb[5][CSIP_TIME_LEN + 1];
} period;

static int
run_query(csip_store *s, const period *p, const query *q, const char *org,
	  tally *t)
{
	csip_stmt *st = NULL;
	char *sql;
	int rc, i = 1;

	sql = g_strdup_printf("SELECT %s, %s, CASE WHEN %s < ? THEN 1 WHEN "
		"%s < ? THEN 2 WHEN %s < ? THEN 3 ELSE 4 END, %s FROM %s WHERE "
		"%s >= ? AND %s < ?%s GROUP BY 1, 2, 3", q->key, q->label,
		q->col, q->col, q->col, q->agg, q->from, q->col, q->col,
		q->where ? q->where : "");
	if ((rc = csip_store_prepare(s, sql, &st)) < 0)
		goto out;
	for (int k = 1; k <= 3 && rc == CSIP_OK; k++)
		rc = csip_stmt_bind_text(st, i++, p->lb[k]);
	if (rc == CSIP_OK)
		rc = csip_stmt_bind_text(st, i++, p->lb[0]);
	if (rc == CSIP_OK)
		rc = csip_stmt_bind_text(st, i++, p->lb[4]);
	if (rc == CSIP_OK && q->where && strchr(q->where, '?'))
		rc = csip_stmt_bind_text(st, i++, org);
	while (rc == CSIP_OK && (rc = csip_stmt_step(st)) == CSIP_ROW) {
		const char *key = csip_stmt_text(st, 0);
		int64_t quarter = csip_stmt_int64(st, 2);
		int64_t n = csip_stmt_int64(st, 3);
		trow *r;

		rc = CSIP_OK;
		if (key && *key == '\0')
			key = NULL;
		r = tally_row(t, key, key ? csip_stmt_text(st, 1) : q->none,
			      NULL);
		if (quarter >= 1 && quarter <= 4)
			r->q[quarter] += n;
		r->q[0] += n;
	}
	if (rc == CSIP_DONE)
		rc = CSIP_OK;
out:
	csip_stmt_free(st);
	g_free(sql);
	return rc;
}

/* The single row of a total; an empty tally is all zeros. */
static const int64_t *
total_row(tally *t)
{
	static const int64_t zero[5];

	return t->rows->len ? ((trow *)t->rows->pdata[0])->q : zero;
}

static int
prefill_sigs(csip_store *s, tally *t)
{
	csip_stmt *st = NULL;
	int rc;

	if ((rc = csip_store_prepare(s, "SELECT code, name FROM sig ORDER BY "
				     "code", &st)) < 0)
		return rc;
	while ((rc = csip_stmt_step(st)) == CSIP_ROW)
		tally_row(t, csip_stmt_text(st, 0), csip_stmt_text(st, 0),
			  csip_stmt_text(st, 1));
	csip_stmt_free(st);
	return rc == CSIP_DONE ? CSIP_OK : rc;
}

static int
by_total(gconstpointer a, gconstpointer b)
{
	const trow *x = *(trow *const *)a, *y = *(trow *const *)b;

	if (x->q[0] != y->q[0])
		return x->q[0] > y->q[0] ? -1 : 1;
	/* The unclassified row goes last among equals. */
	if ((x->key == NULL) != (y->key == NULL))
		return x->key == NULL ? 1 : -1;
	return g_strcmp0(x->label, y->label);
}

static json_t *
quarters_json(const int64_t *q)
{
	return json_pack("[IIII]", (json_int_t)q[1], (json_int_t)q[2],
			 (json_int_t)q[3], (json_int_t)q[4]);
}

static json_t *
tally_json(tally *t)
{
	json_t *a = json_array();

	for (guint i = 0; i < t->rows->len; i++) {
		trow *r = t->rows->pdata[i];
		json_t *o = json_pack("{s:s?, s:s, s:o, s:I}", "key", r->key,
			"label", r->label, "quarters", quarters_json(r->q),
			"total", (json_int_t)r->q[0]);

		if (r->name)
			json_object_set_new(o, "name", json_string(r->name));
		json_array_append_new(a, o);
	}
	return a;
}

/* Whether the campaign table exists with the columns counted here. */
static int
have_campaigns(csip_store *s, int *present)
{
	int pg = strcmp(csip_store_backend_name(s), "postgresql") == 0;
	int64_t n = 0;
	int rc;

	*present = 0;
	rc = csip_store_query_int64(s, &n, pg
		? "SELECT COUNT(*) FROM information_schema.columns WHERE "
		  "table_schema = current_schema() AND table_name = ? AND "
		  "column_name IN (?, ?)"
		: "SELECT COUNT(*) FROM sqlite_master m, pragma_table_info("
		  "m.name) c WHERE m.type = 'table' AND m.name = ? AND "
		  "c.name IN (?, ?)", CAMPAIGN_TABLE, CAMPAIGN_TIME,
		  CAMPAIGN_MERGED, NULL);
	if (rc < 0)
		return rc;
	*present = n == 2;
	return CSIP_OK;
}

/* Everything of one fiscal year a reader of SCOPE may see. */
typedef struct year {
	tally t[16];
	/* Community scope: the reports of the quarters whose count is
	 * withheld, and their distinct providers, for the year's total. */
	int64_t hidden, hidden_providers;
} year;

enum {
	T_REPORTS, T_PROVIDERS, T_ITEMS, T_SHARING, T_FEEDBACK, T_CAMPAIGNS,
	T_PROVIDED, T_RECEIVED,
	T_REPORTS_SIG, T_REPORTS_TYPE, T_ITEMS_TYPE, T_SHARING_SIG,
	T_FEEDBACK_KIND, T_RECEIVED_TYPE, T_N
};

static const query queries[T_N] = {
	[T_REPORTS] = { "''", "''", "COUNT(*)", "report r", "r.received_at",
		NULL, "" },
	[T_PROVIDERS] = { "''", "''", "COUNT(DISTINCT r.org_id)", "report r",
		"r.received_at", NULL, "" },
	[T_ITEMS] = { "''", "''", "COUNT(*)", "item i", "i.published_at",
		NULL, "" },
	[T_SHARING] = { "''", "''", "COUNT(*)", "sharing_instance ir",
		"ir.shared_at", NULL, "" },
	[T_FEEDBACK] = { "''", "''", "COUNT(*)", "feedback f", "f.created_at",
		NULL, "" },
	[T_CAMPAIGNS] = { "''", "''", "COUNT(*)", CAMPAIGN_TABLE " c",
		"c." CAMPAIGN_TIME, " AND c." CAMPAIGN_MERGED " IS NULL", "" },
	[T_PROVIDED] = { "''", "''", "COUNT(*)", "report r", "r.received_at",
		" AND r.org_id = ?", "" },
	[T_RECEIVED] = { "''", "''", "COUNT(*)", "sharing_instance ir",
		"ir.shared_at", " AND ir.org_id = ?", "" },
	[T_REPORTS_SIG] = { "s.code", "s.code", "COUNT(*)", "report r JOIN "
		"org_sig os ON os.org_id = r.org_id JOIN sig s ON s.id = "
		"os.sig_id", "r.received_at", NULL, "no SIG" },
	[T_REPORTS_TYPE] = { "r.attack_type", "r.attack_type", "COUNT(*)",
		"report r", "r.received_at", NULL, "unclassified" },
	[T_ITEMS_TYPE] = { "i.attack_type", "i.attack_type", "COUNT(*)",
		"item i", "i.published_at", NULL, "unclassified" },
	[T_SHARING_SIG] = { "s.code", "s.code", "COUNT(*)", "sharing_instance "
		"ir JOIN org_sig os ON os.org_id = ir.org_id JOIN sig s ON "
		"s.id = os.sig_id", "ir.shared_at", NULL, "no SIG" },
	[T_FEEDBACK_KIND] = { "f.kind", "f.kind", "COUNT(*)", "feedback f",
		"f.created_at", NULL, "" },
	[T_RECEIVED_TYPE] = { "i.attack_type", "i.attack_type", "COUNT(*)",
		"sharing_instance ir JOIN item i ON i.id = ir.item_id",
		"ir.shared_at", " AND ir.org_id = ?", "unclassified" },
};

/* Organisations in no SIG still count in the totals; by SIG they form a
 * row of their own when there are any. */
static const query no_sig_reports = { "NULL", "NULL", "COUNT(*)",
	"report r", "r.received_at", " AND NOT EXISTS (SELECT 1 FROM org_sig "
	"os WHERE os.org_id = r.org_id)", "no SIG" };
static const query no_sig_sharing = { "NULL", "NULL", "COUNT(*)",
	"sharing_instance ir", "ir.shared_at", " AND NOT EXISTS (SELECT 1 FROM "
	"org_sig os WHERE os.org_id = ir.org_id)", "no SIG" };

/* Which tallies each scope gets: nothing else is queried. */
static int
wanted(csip_stats_scope scope, int t, int campaigns)
{
	switch (t) {
	case T_PROVIDED: case T_RECEIVED: case T_RECEIVED_TYPE:
		return scope == CSIP_STATS_COMMUNITY ||
		       scope == CSIP_STATS_OWN;
	case T_REPORTS: case T_ITEMS: case T_SHARING: case T_FEEDBACK:
		return scope >= CSIP_STATS_COMMUNITY;
	case T_PROVIDERS:
		return scope == CSIP_STATS_COMMUNITY;
	case T_CAMPAIGNS:
		return scope >= CSIP_STATS_COMMUNITY && campaigns;
	default:
		return scope == CSIP_STATS_ALL;
	}
}

/* Y->hidden and Y->hidden_providers: the reports of the quarters whose
 * count SCOPE withholds, and how many organisations provided them (over
 * those quarters together: not the sum of each one's). */
static int
count_hidden(csip_store *s, csip_stats_scope scope, const period *p, year *y)
{
	const int64_t *n = total_row(&y->t[T_REPORTS]);
	const int64_t *prov = total_row(&y->t[T_PROVIDERS]);
	csip_stmt *st = NULL;
	int64_t quarters[4] = { 0, 0, 0, 0 };
	int rc, i = 1, nq = 0;

	for (int k = 1; k <= 4; k++)
		if (!csip_policy_stats_count(scope, n[k], prov[k])) {
			y->hidden += n[k];
			quarters[nq++] = k;
		}
	if (nq == 0)
		return CSIP_OK;
	rc = csip_store_prepare(s, "SELECT COUNT(DISTINCT org_id) FROM report "
		"WHERE received_at >= ? AND received_at < ? AND CASE WHEN "
		"received_at < ? THEN 1 WHEN received_at < ? THEN 2 WHEN "
		"received_at < ? THEN 3 ELSE 4 END IN (?, ?, ?, ?)", &st);
	if (rc == CSIP_OK)
		rc = csip_stmt_bind_text(st, i++, p->lb[0]);
	if (rc == CSIP_OK)
		rc = csip_stmt_bind_text(st, i++, p->lb[4]);
	for (int k = 1; k <= 3 && rc == CSIP_OK; k++)
		rc = csip_stmt_bind_text(st, i++, p->lb[k]);
	for (int k = 0; k < 4 && rc == CSIP_OK; k++)
		rc = csip_stmt_bind_int64(st, i++, quarters[k]);
	if (rc == CSIP_OK && (rc = csip_stmt_step(st)) == CSIP_ROW) {
		y->hidden_providers = csip_stmt_int64(st, 0);
		rc = CSIP_OK;
	}
	csip_stmt_free(st);
	return rc == CSIP_DONE ? CSIP_OK : rc;
}

static int
count_year(csip_store *s, csip_stats_scope scope, const char *org,
	   int campaigns, const period *p, year *y)
{
	int rc = CSIP_OK;

	y->hidden = y->hidden_providers = 0;
	for (int t = 0; t < T_N; t++)
		tally_init(&y->t[t]);
	if (scope == CSIP_STATS_ALL) {
		if ((rc = prefill_sigs(s, &y->t[T_REPORTS_SIG])) < 0 ||
		    (rc = prefill_sigs(s, &y->t[T_SHARING_SIG])) < 0)
			return rc;
		for (int k = 0; feedback_kinds[k]; k++)
			tally_row(&y->t[T_FEEDBACK_KIND], feedback_kinds[k],
				  feedback_kinds[k], NULL);
	}
	for (int t = 0; t < T_N && rc == CSIP_OK; t++)
		if (wanted(scope, t, campaigns))
			rc = run_query(s, p, &queries[t], org, &y->t[t]);
	if (rc == CSIP_OK && scope == CSIP_STATS_ALL)
		rc = run_query(s, p, &no_sig_reports, org,
			       &y->t[T_REPORTS_SIG]);
	if (rc == CSIP_OK && scope == CSIP_STATS_ALL)
		rc = run_query(s, p, &no_sig_sharing, org,
			       &y->t[T_SHARING_SIG]);
	if (rc < 0)
		return rc;
	g_ptr_array_sort(y->t[T_REPORTS_TYPE].rows, by_total);
	g_ptr_array_sort(y->t[T_ITEMS_TYPE].rows, by_total);
	g_ptr_array_sort(y->t[T_RECEIVED_TYPE].rows, by_total);
	if (scope == CSIP_STATS_COMMUNITY) {
		int64_t n = 0;

		/* Distinct providers over the whole year: not the sum of the
		 * quarters' counts. */
		rc = csip_store_query_int64(s, &n, "SELECT COUNT(DISTINCT "
			"org_id) FROM report WHERE received_at >= ? AND "
			"received_at < ?", p->lb[0], p->lb[4], NULL);
		if (rc < 0)
			return rc;
		if (y->t[T_PROVIDERS].rows->len == 0)
			tally_row(&y->t[T_PROVIDERS], "", "", NULL);
		((trow *)y->t[T_PROVIDERS].rows->pdata[0])->q[0] = n;
		rc = count_hidden(s, scope, p, y);
	}
	return rc;
}

static void
year_clear(year *y)
{
	for (int t = 0; t < T_N; t++)
		tally_clear(&y->t[t]);
}

static const int measure_tally[] = { T_REPORTS, T_ITEMS, T_SHARING,
	T_FEEDBACK, T_CAMPAIGNS, T_PROVIDED, T_RECEIVED };
static const int breakdown_tally[] = { T_REPORTS_SIG, T_REPORTS_TYPE,
	T_ITEMS_TYPE, T_SHARING_SIG, T_FEEDBACK_KIND, T_RECEIVED_TYPE };

/* The counts of period index K (0 the year, 1-4 a quarter). */
static json_t *
counts_json(year *y, csip_stats_scope scope, int campaigns, int k)
{
	json_t *o = json_object();

	for (size_t m = 0; m < G_N_ELEMENTS(measures); m++) {
		int t = measure_tally[m];
		int64_t v;

		if (t == T_CAMPAIGNS) {
			if (scope < CSIP_STATS_COMMUNITY)
				continue;
			/* Absent table: 0, and a note says why. */
			v = campaigns ? total_row(&y->t[t])[k] : 0;
			json_object_set_new(o, measures[m].name,
					    json_integer(v));
			continue;
		}
		if (!wanted(scope, t, campaigns))
			continue;
		v = total_row(&y->t[t])[k];
		if (t == T_REPORTS && !(k == 0 ? csip_policy_stats_total(scope,
		    v, total_row(&y->t[T_PROVIDERS])[0], y->hidden,
		    y->hidden_providers) : csip_policy_stats_count(scope, v,
		    total_row(&y->t[T_PROVIDERS])[k])))
			json_object_set_new(o, measures[m].name, json_null());
		else
			json_object_set_new(o, measures[m].name,
					    json_integer(v));
	}
	return o;
}

static const char *const quarter_last_day[] = { "06-30", "09-30", "12-31",
	"03-31" };

static json_t *
year_json(year *y, const period *p, csip_stats_scope scope, int campaigns)
{
	json_t *quarters = json_array(), *bd = json_object(), *o;
	char label[16], from[16], to[16];

	for (int k = 1; k <= 4; k++) {
		g_snprintf(label, sizeof label, "Q%d", k);
		g_snprintf(from, sizeof from, "%04d-%02d-01", k == 4 ?
			   p->fy + 1 : p->fy, k == 4 ? 1 : 4 + 3 * (k - 1));
		g_snprintf(to, sizeof to, "%04d-%s", k == 4 ? p->fy + 1 :
			   p->fy, quarter_last_day[k - 1]);
		json_array_append_new(quarters, json_pack("{s:i, s:s, s:s, "
			"s:s, s:s, s:s, s:s, s:o}", "quarter", k, "label",
			label, "months", quarter_names[k - 1], "from", from,
			"to", to, "start", p->b[k - 1], "end", p->b[k],
			"counts", counts_json(y, scope, campaigns, k)));
	}
	for (size_t b = 0; b < G_N_ELEMENTS(breakdowns); b++)
		if (wanted(scope, breakdown_tally[b], campaigns))
			json_object_set_new(bd, breakdowns[b].name,
				tally_json(&y->t[breakdown_tally[b]]));
	g_snprintf(label, sizeof label, "FY%d", p->fy);
	g_snprintf(from, sizeof from, "%04d-04-01", p->fy);
	g_snprintf(to, sizeof to, "%04d-03-31", p->fy + 1);
	o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "fy",
		p->fy, "label", label, "from", from, "to", to, "start",
		p->b[0], "end", p->b[4], "totals", counts_json(y, scope,
		campaigns, 0), "quarters", quarters, "breakdowns", bd);
	return o;
}

static const char *
scope_name(csip_stats_scope scope)
{
	switch (scope) {
	case CSIP_STATS_ALL: return "all";
	case CSIP_STATS_COMMUNITY: return "community";
	default: return "own";
	}
}

static json_t *
notes_json(csip_stats_scope scope, int campaigns)
{
	json_t *a = json_array();

	json_array_append_new(a, json_string("Counted by date in Japan "
		"Standard Time (UTC+9): fiscal year N runs from 1 April N "
		"00:00 JST to 31 March N+1 24:00 JST; Q1 is April-June, Q4 "
		"January-March."));
	if (scope >= CSIP_STATS_COMMUNITY)
		json_array_append_new(a, json_string("Sharing instances are "
			"items x receiving organisations, counted when the "
			"item reached the organisation; an item withdrawn or "
			"an organisation leaving its audience later does not "
			"change past counts."));
	if (scope == CSIP_STATS_ALL)
		json_array_append_new(a, json_string("An organisation in "
			"several SIGs counts in each of them, so the rows by "
			"SIG can add up to more than the total, which counts "
			"each report or sharing instance once."));
	if (scope >= CSIP_STATS_COMMUNITY && !campaigns)
		json_array_append_new(a, json_string("Campaigns: this "
			"database has no campaign table (run `csip init` to "
			"migrate it); counted as 0."));
	if (scope == CSIP_STATS_COMMUNITY) {
		char *s = g_strdup_printf("Counts of reports from fewer than "
			"%d providers are withheld (null), so that no "
			"organisation's figure can be worked out, and so is a "
			"year's total when its withheld quarters together "
			"are; breakdowns by SIG are for the hub only.",
			CSIP_POLICY_STATS_MIN_PROVIDERS);

		json_array_append_new(a, json_string(s));
		g_free(s);
	}
	if (scope == CSIP_STATS_OWN)
		json_array_append_new(a, json_string("Only your own figures: "
			"community-wide statistics are for participants with "
			"an NDA."));
	return a;
}

int
csip_stats_compute(csip_store *s, const csip_reader *r, int first, int last,
		   json_t **out)
{
	csip_stats_scope scope = csip_policy_stats_scope(r);
	json_t *years = NULL;
	char org[24] = "";
	int rc = CSIP_OK, campaigns = 0;

	*out = NULL;
	if (scope == CSIP_STATS_NONE)
		return csip_error_set(CSIP_EPERM, "statistics need a reader: "
			"use a token of an organisation");
	if (first < CSIP_STATS_FY_MIN || last > CSIP_STATS_FY_MAX ||
	    first > last || last - first + 1 > CSIP_STATS_MAX_YEARS)
		return csip_error_set(CSIP_EINVAL, "fiscal years %d-%d: give "
			"at most %d years from %d to %d, earlier first", first,
			last, CSIP_STATS_MAX_YEARS, CSIP_STATS_FY_MIN,
			CSIP_STATS_FY_MAX);
	if (scope != CSIP_STATS_ALL)
		g_snprintf(org, sizeof org, "%" PRId64, r->org_id);
	if ((rc = have_campaigns(s, &campaigns)) < 0)
		goto out;
	years = json_array();
	for (int fy = first; fy <= last; fy++) {
		period p = { fy, { "" }, { "" } };
		year y;

		for (int k = 1; k <= 4; k++)
			csip_stats_bounds(fy, k, p.b[k - 1], p.b[k]);
		for (int k = 0; k <= 4; k++)
			csip_time_norm(p.b[k], p.lb[k]);
		rc = count_year(s, scope, org, campaigns, &p, &y);
		if (rc == CSIP_OK)
			json_array_append_new(years, year_json(&y, &p, scope,
							       campaigns));
		year_clear(&y);
		if (rc < 0) {
			csip_error_prefix(rc, "statistics of FY%d: ", fy);
			goto out;
		}
	}
	*out = json_pack("{s:s, s:s, s:i, s:i, s:O, s:o}", "scope",
		scope_name(scope), "timezone", "Asia/Tokyo", "first_fy", first,
		"last_fy", last, "years", years, "notes",
		notes_json(scope, campaigns));
out:
	json_decref(years);
	return rc;
}

/* ---- the text table --------------------------------------------------- */

static void
pad(GString *o, const char *s, int width, int right)
{
	int n = (int)g_utf8_strlen(s, -1);

	if (right)
		for (int i = n; i < width; i++)
			g_string_append_c(o, ' ');
	g_string_append(o, s);
	if (!right)
		for (int i = n; i < width; i++)
			g_string_append_c(o, ' ');
}

static void
cell(GString *o, json_t *v)
{
	char buf[32];

	if (json_is_integer(v))
		g_snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT,
			   json_integer_value(v));
	else
		g_strlcpy(buf, "-", sizeof buf);
	g_string_append_c(o, ' ');
	pad(o, buf, 8, 1);
}

static void
table_row(GString *o, const char *label, int width, json_t *q, json_t *total)
{
	pad(o, label, width, 0);
	for (int k = 0; k < 4; k++)
		cell(o, json_array_get(q, (size_t)k));
	cell(o, total);
	g_string_append_c(o, '\n');
}

static void
table_head(GString *o, const char *title, int width)
{
	pad(o, title, width, 0);
	for (int k = 0; k < 4; k++) {
		char h[8];

		g_snprintf(h, sizeof h, "Q%d", k + 1);
		g_string_append_c(o, ' ');
		pad(o, h, 8, 1);
	}
	g_string_append(o, "    Total\n");
}

char *
csip_stats_text(json_t *stats)
{
	GString *o = g_string_new(NULL);
	json_t *yr, *note;
	size_t i;

	json_array_foreach(json_object_get(stats, "years"), i, yr) {
		json_t *quarters = json_object_get(yr, "quarters");
		json_t *totals = json_object_get(yr, "totals");
		json_t *bd = json_object_get(yr, "breakdowns");
		int width = 24;

		/* One label column for the whole block. */
		for (size_t b = 0; b < G_N_ELEMENTS(breakdowns); b++) {
			json_t *rows = json_object_get(bd, breakdowns[b].name);
			json_t *row;
			size_t j;

			json_array_foreach(rows, j, row) {
				int n = (int)g_utf8_strlen(json_string_value(
					json_object_get(row, "label")), -1);

				width = MAX(width, MIN(n + 2, 48));
			}
		}
		if (i)
			g_string_append_c(o, '\n');
		g_string_append_printf(o, "%s (%s to %s, dates in JST)\n",
			json_string_value(json_object_get(yr, "label")),
			json_string_value(json_object_get(yr, "from")),
			json_string_value(json_object_get(yr, "to")));
		table_head(o, "", width);
		for (size_t m = 0; m < G_N_ELEMENTS(measures); m++) {
			json_t *q = json_array();

			if (!json_object_get(totals, measures[m].name)) {
				json_decref(q);
				continue;
			}
			for (size_t k = 0; k < 4; k++)
				json_array_append(q, json_object_get(
					json_object_get(json_array_get(
					quarters, k), "counts"),
					measures[m].name));
			table_row(o, measures[m].title, width, q,
				  json_object_get(totals, measures[m].name));
			json_decref(q);
		}
		for (size_t b = 0; b < G_N_ELEMENTS(breakdowns); b++) {
			json_t *rows = json_object_get(bd, breakdowns[b].name);
			json_t *row;
			size_t j;

			if (rows == NULL)
				continue;
			g_string_append_printf(o, "\n%s\n",
					       breakdowns[b].title);
			table_head(o, "", width);
			if (json_array_size(rows) == 0)
				g_string_append(o, "  (none)\n");
			json_array_foreach(rows, j, row) {
				char *l = g_strdup_printf("  %s",
					json_string_value(json_object_get(row,
					"label")));

				table_row(o, l, width, json_object_get(row,
					"quarters"), json_object_get(row,
					"total"));
				g_free(l);
			}
		}
	}
	g_string_append(o, "\nNotes:\n");
	json_array_foreach(json_object_get(stats, "notes"), i, note)
		g_string_append_printf(o, "- %s\n", json_string_value(note));
	return g_string_free(o, FALSE);
}

/* ---- SVG -------------------------------------------------------------- */

#define SVG_W 960
#define PLOT_L 72              /* left of the plot area */
#define PLOT_R (SVG_W - 24)    /* right */
#define PLOT_H 200
#define CHAR_W 7.0             /* average width of a 12px character */

/* Okabe-Ito: told apart by readers with colour-vision deficiencies. */
static const char *const colours[] = { "#0072B2", "#E69F00", "#009E73",
	"#D55E00", "#CC79A7", "#56B4E9", "#8C6D1F", "#000000" };

/* One grouped bar chart: groups along the x axis, one bar per series in
 * each group.  A value < 0 is withheld: no bar, a "*" instead. */
typedef struct chart {
	char *title;
	GPtrArray *groups;     /* char * */
	GPtrArray *series;     /* char * */
	GArray *v;             /* int64_t, group-major */
} chart;

static chart *
chart_new(const char *title)
{
	chart *c = g_new0(chart, 1);

	c->title = g_strdup(title);
	c->groups = g_ptr_array_new_with_free_func(g_free);
	c->series = g_ptr_array_new_with_free_func(g_free);
	c->v = g_array_new(FALSE, TRUE, sizeof(int64_t));
	return c;
}

static void
chart_free(gpointer p)
{
	chart *c = p;

	g_free(c->title);
	g_ptr_array_unref(c->groups);
	g_ptr_array_unref(c->series);
	g_array_unref(c->v);
	g_free(c);
}

static int64_t *
chart_at(chart *c, guint g, guint s)
{
	guint need = c->groups->len * c->series->len;

	if (c->v->len < need)
		g_array_set_size(c->v, need);
	return &g_array_index(c->v, int64_t, g * c->series->len + s);
}

static guint
index_of(GPtrArray *a, const char *s)
{
	for (guint i = 0; i < a->len; i++)
		if (strcmp(a->pdata[i], s) == 0)
			return i;
	g_ptr_array_add(a, g_strdup(s));
	return a->len - 1;
}

static int64_t
count_of(json_t *v)
{
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

static void
num(GString *o, double v)
{
	char buf[G_ASCII_DTOSTR_BUF_SIZE];

	/* Never the locale's decimal comma: SVG wants a point. */
	g_string_append(o, g_ascii_formatd(buf, sizeof buf, "%.1f", v));
}

static void
esc(GString *o, const char *s)
{
	char *e = g_markup_escape_text(s, -1);

	g_string_append(o, e);
	g_free(e);
}

/* A label cut to fit WIDTH pixels. */
static char *
fit(const char *s, double width)
{
	long max = (long)(width / CHAR_W);
	long n = g_utf8_strlen(s, -1);
	char *cut, *r;

	if (n <= max || max < 2)
		return max < 2 ? g_strdup("") : g_strdup(s);
	cut = g_utf8_substring(s, 0, max - 1);
	r = g_strconcat(cut, "\xe2\x80\xa6", NULL);
	g_free(cut);
	return r;
}

/* A step of 1, 2 or 5 times a power of ten giving at most 6 ticks. */
static int64_t
tick_step(int64_t max)
{
	int64_t p = 1;

	for (;;) {
		if (max <= p * 5)
			return p;
		if (max <= p * 10)
			return p * 2;
		if (max <= p * 25)
			return p * 5;
		p *= 10;
	}
}

/* Draw chart C at Y; returns its height. */
static int
draw_chart(GString *o, chart *c, int y)
{
	guint ng = c->groups->len, ns = c->series->len;
	double gw, bw, lx = PLOT_L, ly;
	int64_t max = 0, step, top;
	int legend_rows = 1, plot_top, base, h;
	char *t;

	g_string_append(o, "<g class=\"chart\">\n<text class=\"chart-title\" "
		"x=\"24\" y=\"");
	num(o, y + 18);
	g_string_append(o, "\" font-size=\"15\" font-weight=\"bold\">");
	esc(o, c->title);
	g_string_append(o, "</text>\n");
	/* The legend, wrapped over as many rows as it needs. */
	ly = y + 30;
	for (guint s = 0; s < ns; s++) {
		double w = 22 + CHAR_W * (double)g_utf8_strlen(
			c->series->pdata[s], -1) + 18;

		if (lx + w > PLOT_R && lx > PLOT_L) {
			lx = PLOT_L;
			ly += 18;
			legend_rows++;
		}
		g_string_append(o, "<rect class=\"legend-key\" x=\"");
		num(o, lx);
		g_string_append(o, "\" y=\"");
		num(o, ly);
		g_string_append_printf(o, "\" width=\"12\" height=\"12\" "
			"fill=\"%s\"/>\n<text class=\"legend\" x=\"",
			colours[s % G_N_ELEMENTS(colours)]);
		num(o, lx + 18);
		g_string_append(o, "\" y=\"");
		num(o, ly + 11);
		g_string_append(o, "\">");
		esc(o, c->series->pdata[s]);
		g_string_append(o, "</text>\n");
		lx += w;
	}
	plot_top = y + 30 + 18 * legend_rows + 14;
	base = plot_top + PLOT_H;
	h = base - y + 40;
	if (ng == 0 || ns == 0) {
		g_string_append_printf(o, "<text x=\"%d\" y=\"%d\" "
			"fill=\"#555555\">No data.</text>\n</g>\n", PLOT_L,
			plot_top + 20);
		return plot_top + 40 - y;
	}
	for (guint i = 0; i < c->v->len; i++)
		max = MAX(max, g_array_index(c->v, int64_t, i));
	step = tick_step(max);
	top = max <= 0 ? step : (max + step - 1) / step * step;
	/* Grid lines and ticks of the y axis, then the axes. */
	for (int64_t v = 0; v <= top; v += step) {
		double ty = base - (double)v / (double)top * PLOT_H;

		g_string_append_printf(o, "<line class=\"grid\" x1=\"%d\" "
			"x2=\"%d\" y1=\"", PLOT_L, PLOT_R);
		num(o, ty);
		g_string_append(o, "\" y2=\"");
		num(o, ty);
		g_string_append_printf(o, "\" stroke=\"#dddddd\"/>\n<line "
			"class=\"tick\" x1=\"%d\" x2=\"%d\" y1=\"", PLOT_L - 5,
			PLOT_L);
		num(o, ty);
		g_string_append(o, "\" y2=\"");
		num(o, ty);
		g_string_append_printf(o, "\" stroke=\"#333333\"/>\n<text "
			"class=\"tick-label\" x=\"%d\" y=\"", PLOT_L - 8);
		num(o, ty + 4);
		g_string_append_printf(o, "\" text-anchor=\"end\">%" PRId64
			"</text>\n", v);
	}
	g_string_append_printf(o, "<line class=\"axis\" x1=\"%d\" x2=\"%d\" "
		"y1=\"%d\" y2=\"%d\" stroke=\"#333333\"/>\n"
		"<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" "
		"stroke=\"#333333\"/>\n"
		"<text class=\"axis-label\" transform=\"translate(18 %d) "
		"rotate(-90)\" text-anchor=\"middle\">Count</text>\n", PLOT_L,
		PLOT_L, plot_top, base, PLOT_L, PLOT_R, base, base,
		(plot_top + base) / 2);
	gw = (double)(PLOT_R - PLOT_L) / ng;
	bw = gw * 0.8 / ns;
	for (guint g = 0; g < ng; g++) {
		double gx = PLOT_L + g * gw;

		for (guint s = 0; s < ns; s++) {
			int64_t v = *chart_at(c, g, s);
			double bx = gx + gw * 0.1 + s * bw;
			double bh = v > 0 ? (double)v / (double)top * PLOT_H
					  : 0;

			if (v < 0) {
				g_string_append(o, "<text class=\"withheld\" "
					"x=\"");
				num(o, bx + bw / 2);
				g_string_append(o, "\" y=\"");
				num(o, base - 4);
				g_string_append(o, "\" text-anchor=\"middle\">"
					"*</text>\n");
				continue;
			}
			g_string_append(o, "<rect class=\"bar\" x=\"");
			num(o, bx);
			g_string_append(o, "\" y=\"");
			num(o, base - bh);
			g_string_append(o, "\" width=\"");
			num(o, MAX(bw - 1, 1));
			g_string_append(o, "\" height=\"");
			num(o, bh);
			g_string_append_printf(o, "\" fill=\"%s\"><title>",
				colours[s % G_N_ELEMENTS(colours)]);
			esc(o, c->groups->pdata[g]);
			g_string_append(o, ", ");
			esc(o, c->series->pdata[s]);
			g_string_append_printf(o, ": %" PRId64 "</title></rect>"
				"\n", v);
			/* Values over the bars while they fit. */
			if (bw >= 14 && v > 0) {
				g_string_append(o, "<text class=\"value\" "
					"x=\"");
				num(o, bx + bw / 2);
				g_string_append(o, "\" y=\"");
				num(o, base - bh - 3);
				g_string_append_printf(o, "\" font-size=\"10\" "
					"text-anchor=\"middle\">%" PRId64
					"</text>\n", v);
			}
		}
		t = fit(c->groups->pdata[g], gw - 4);
		g_string_append(o, "<text class=\"group-label\" x=\"");
		num(o, gx + gw / 2);
		g_string_append_printf(o, "\" y=\"%d\" text-anchor=\"middle\">",
			base + 18);
		esc(o, t);
		g_string_append(o, "</text>\n");
		g_free(t);
	}
	g_string_append(o, "</g>\n");
	return h;
}

/* The charts of a result: the measures first, then each breakdown. */
static GPtrArray *
charts_of(json_t *stats)
{
	GPtrArray *charts = g_ptr_array_new_with_free_func(chart_free);
	json_t *years = json_object_get(stats, "years");
	size_t ny = json_array_size(years), i;
	int single = ny == 1;
	json_t *yr;
	chart *c;
	char *title;

	/* Activity: quarters of the one year, or the years side by side;
	 * a bar per measure. */
	title = single ? g_strdup_printf("Activity per quarter, %s",
		json_string_value(json_object_get(json_array_get(years, 0),
		"label"))) : g_strdup_printf("Activity per fiscal year, "
		"%s-%s", json_string_value(json_object_get(json_array_get(
		years, 0), "label")), json_string_value(json_object_get(
		json_array_get(years, ny - 1), "label")));
	c = chart_new(title);
	g_free(title);
	g_ptr_array_add(charts, c);
	for (size_t m = 0; ny && m < G_N_ELEMENTS(measures); m++)
		if (json_object_get(json_object_get(json_array_get(years, 0),
				    "totals"), measures[m].name))
			index_of(c->series, measures[m].title);
	json_array_foreach(years, i, yr) {
		if (single) {
			json_t *q;
			size_t k;

			json_array_foreach(json_object_get(yr, "quarters"), k,
					   q) {
				char *g = g_strdup_printf("%s (%s)",
					json_string_value(json_object_get(q,
					"label")), json_string_value(
					json_object_get(q, "months")));

				index_of(c->groups, g);
				g_free(g);
			}
		} else {
			index_of(c->groups, json_string_value(
				json_object_get(yr, "label")));
		}
	}
	json_array_foreach(years, i, yr) {
		guint s = 0;

		for (size_t m = 0; m < G_N_ELEMENTS(measures); m++) {
			json_t *tot = json_object_get(yr, "totals");

			if (!json_object_get(tot, measures[m].name))
				continue;
			if (single)
				for (guint k = 0; k < 4; k++)
					*chart_at(c, k, s) = count_of(
						json_object_get(json_object_get(
						json_array_get(json_object_get(
						yr, "quarters"), k), "counts"),
						measures[m].name));
			else
				*chart_at(c, (guint)i, s) = count_of(
					json_object_get(tot, measures[m].name));
			s++;
		}
	}
	/* Breakdowns: a group per row; a bar per quarter, or per year. */
	for (size_t b = 0; ny && b < G_N_ELEMENTS(breakdowns); b++) {
		json_t *rows = json_object_get(json_object_get(json_array_get(
			years, 0), "breakdowns"), breakdowns[b].name);

		if (rows == NULL)
			continue;
		c = chart_new(breakdowns[b].title);
		g_ptr_array_add(charts, c);
		if (single)
			for (int k = 0; k < 4; k++) {
				char *sname = g_strdup_printf("Q%d", k + 1);

				index_of(c->series, sname);
				g_free(sname);
			}
		else
			json_array_foreach(years, i, yr)
				index_of(c->series, json_string_value(
					json_object_get(yr, "label")));
		json_array_foreach(years, i, yr) {
			json_t *row;
			size_t j;

			rows = json_object_get(json_object_get(yr,
				"breakdowns"), breakdowns[b].name);
			json_array_foreach(rows, j, row) {
				guint g = index_of(c->groups, json_string_value(
					json_object_get(row, "label")));

				if (single)
					for (guint k = 0; k < 4; k++)
						*chart_at(c, g, k) = count_of(
							json_array_get(
							json_object_get(row,
							"quarters"), k));
				else
					*chart_at(c, g, (guint)i) = count_of(
						json_object_get(row, "total"));
			}
		}
		/* Rows seen only in later years leave earlier cells unset:
		 * size the array so they read 0. */
		if (c->groups->len && c->series->len)
			chart_at(c, c->groups->len - 1, c->series->len - 1);
	}
	return charts;
}

/* Split TEXT into lines of at most WIDTH characters, at spaces. */
static void
wrap(GString *o, const char *text, int width, int *y)
{
	char **words = g_strsplit(text, " ", -1);
	GString *line = g_string_new(NULL);

	for (char **w = words; ; w++) {
		if (*w == NULL || (line->len && (long)g_utf8_strlen(line->str,
		    -1) + 1 + g_utf8_strlen(*w, -1) > width)) {
			g_string_append_printf(o, "<text class=\"note\" "
				"x=\"24\" y=\"%d\" font-size=\"11\" "
				"fill=\"#444444\">",
				*y);
			esc(o, line->str);
			g_string_append(o, "</text>\n");
			*y += 15;
			g_string_truncate(line, 0);
			if (*w == NULL)
				break;
		}
		if (line->len)
			g_string_append_c(line, ' ');
		g_string_append(line, *w);
	}
	g_string_free(line, TRUE);
	g_strfreev(words);
}

char *
csip_stats_svg(json_t *stats)
{
	GString *body = g_string_new(NULL), *o = g_string_new(NULL);
	GPtrArray *charts = charts_of(stats);
	json_t *years = json_object_get(stats, "years"), *note;
	size_t ny = json_array_size(years), i;
	char *title, *sub;
	int y = 64;

	title = ny > 1 ? g_strdup_printf("csip statistics, %s to %s",
		json_string_value(json_object_get(json_array_get(years, 0),
		"label")), json_string_value(json_object_get(json_array_get(
		years, ny - 1), "label"))) : g_strdup_printf("csip "
		"statistics, %s", ny ? json_string_value(json_object_get(
		json_array_get(years, 0), "label")) : "");
	/* "from" and "to" are dates: their years are enough here. */
	sub = ny ? g_strdup_printf("1 April %.4s to 31 March %.4s, counted by "
		"date in Japan Standard Time (UTC+9)", json_string_value(
		json_object_get(json_array_get(years, 0), "from")),
		json_string_value(json_object_get(json_array_get(years, ny - 1),
		"to"))) : g_strdup("");
	for (guint k = 0; k < charts->len; k++)
		y += draw_chart(body, charts->pdata[k], y) + 16;
	y += 8;
	json_array_foreach(json_object_get(stats, "notes"), i, note)
		wrap(body, json_string_value(note), 130, &y);
	y += 8;

	g_string_append_printf(o, "<?xml version=\"1.0\" encoding=\"UTF-8\" "
		"standalone=\"no\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
		"width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		"font-family=\"DejaVu Sans, Arial, Helvetica, sans-serif\" "
		"font-size=\"12\">\n<title>", SVG_W, y, SVG_W, y);
	esc(o, title);
	g_string_append(o, "</title>\n<desc>");
	esc(o, sub);
	g_string_append_printf(o, "</desc>\n<rect class=\"background\" x=\"0\" "
		"y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n<text "
		"class=\"title\" x=\"24\" y=\"30\" font-size=\"20\" "
		"font-weight=\"bold\">", SVG_W, y);
	esc(o, title);
	g_string_append(o, "</text>\n<text class=\"subtitle\" x=\"24\" "
		"y=\"50\" fill=\"#444444\">");
	esc(o, sub);
	g_string_append(o, "</text>\n");
	g_string_append_len(o, body->str, (gssize)body->len);
	g_string_append(o, "</svg>\n");
	g_string_free(body, TRUE);
	g_ptr_array_unref(charts);
	g_free(title);
	g_free(sub);
	return g_string_free(o, FALSE);
}
