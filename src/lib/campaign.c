/*
 * campaign.c - campaigns, the analysts' changes to them, and alerts (see
 * campaign.h).
 *
 * Membership is a flat union-find kept in the database: campaign_report
 * maps every member to its campaign, so a find is one row and a union
 * rewrites the rows of the campaigns merged away.  Splits and exclusions
 * compute the component again from the links kept in corr_link, less the
 * cut pairs and excluded values, with a union-find in memory.
 */
#include "lib/campaign.h"
#include "lib/audit.h"
#include "lib/indicator.h"
#include "lib/notify.h"
#include "util/error.h"

#include <glib.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define AUTO_ACTOR  "csip:correlate"
#define MAX_NAME    200
#define MAX_LINKS_SHOWN 1000
#define MAX_SPLIT   10000

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Sort the int64_t of A and drop the repeated ones. */
static void
sort_unique(GArray *a)
{
	guint k = 0;

	g_array_sort(a, cmp_i64);
	for (guint i = 0; i < a->len; i++)
		if (k == 0 || g_array_index(a, int64_t, k - 1) !=
		    g_array_index(a, int64_t, i))
			g_array_index(a, int64_t, k++) = g_array_index(a,
				int64_t, i);
	g_array_set_size(a, k);
}

/* "1,2,3" for an IN list: ids are integers, so inlining them is safe and
 * keeps one statement for any count. */
static char *
id_list(const int64_t *ids, size_t n)
{
	GString *s = g_string_new(NULL);

	for (size_t i = 0; i < n; i++)
		g_string_append_printf(s, "%s%" PRId64, i ? "," : "", ids[i]);
	return g_string_free(s, FALSE);
}

/* Run the query SQL, whose "@IDS@" becomes an IN list of the N ids IDS
 * (csip_store_prepare_ids(): the text recurs, so a correlation's queries
 * come from kept statements instead of being compiled for every report),
 * and call FN for each row as csip_store_each() does. */
static int
each_in(csip_store *s, const char *sql, const int64_t *ids, size_t n,
	csip_row_fn fn, void *ud)
{
	csip_stmt *st = NULL;
	int next, rc;

	if ((rc = csip_store_prepare_ids(s, sql, ids, n, &next, &st)) == 0)
		rc = csip_stmt_each(st, fn, ud);
	csip_stmt_free(st);
	return rc;
}

static int
add_id_row(csip_stmt *st, void *arr)
{
	int64_t v = csip_stmt_int64(st, 0);

	g_array_append_val((GArray *)arr, v);
	return CSIP_OK;
}

/* Ids from SQL with integer parameters already inlined. */
static int
load_ids(csip_store *s, const char *sql, GArray **out)
{
	GArray *a = g_array_new(FALSE, FALSE, sizeof(int64_t));
	int rc = csip_store_each(s, add_id_row, a, sql, NULL);

	if (rc < 0) {
		g_array_free(a, TRUE);
		*out = NULL;
		return rc;
	}
	*out = a;
	return CSIP_OK;
}

static char *
i64s(int64_t v)
{
	return g_strdup_printf("%" PRId64, v);
}

static int
new_campaign(csip_store *s, const char *now, int64_t *id)
{
	return csip_store_query_int64(s, id, "INSERT INTO campaign (created_at,"
		" updated_at) VALUES (?, ?) RETURNING id", now, now, NULL);
}

/* Move the members of the campaigns in OTHERS into INTO, which takes the
 * first name among them when it has none. */
static int
absorb(csip_store *s, int64_t into, const int64_t *others, size_t n,
       const char *now)
{
	char *list = id_list(others, n), *sql = NULL, *ib = i64s(into);
	int rc;

	sql = g_strdup_printf("UPDATE campaign SET name = COALESCE(name, "
		"(SELECT name FROM campaign WHERE id IN (%s) AND name IS NOT "
		"NULL ORDER BY id LIMIT 1)), updated_at = ? WHERE id = ?", list);
	rc = csip_store_run(s, NULL, sql, now, ib, NULL);
	g_free(sql);
	if (rc < 0)
		goto out;
	sql = g_strdup_printf("UPDATE campaign_report SET campaign_id = ? "
		"WHERE campaign_id IN (%s)", list);
	rc = csip_store_run(s, NULL, sql, ib, NULL);
	g_free(sql);
	if (rc < 0)
		goto out;
	sql = g_strdup_printf("UPDATE campaign SET merged_into = ?, "
		"updated_at = ? WHERE id IN (%s)", list);
	rc = csip_store_run(s, NULL, sql, ib, now, NULL);
	g_free(sql);
	if (rc < 0)
		goto out;
	/* Earlier merges into those now point here. */
	sql = g_strdup_printf("UPDATE campaign SET merged_into = ? WHERE "
		"merged_into IN (%s)", list);
	rc = csip_store_run(s, NULL, sql, ib, NULL);
	g_free(sql);
out:
	g_free(list);
	g_free(ib);
	return rc;
}

/* What the correlation reads of the report and the reports it links,
 * once for the campaign and the alert: the organisation of each, and
 * the campaign it is in (0: none). */
typedef struct linked_fact {
	int64_t report, org, campaign;
} linked_fact;

static int
fact_row(csip_stmt *st, void *arr)
{
	linked_fact f = { csip_stmt_int64(st, 0), csip_stmt_int64(st, 1),
			  csip_stmt_is_null(st, 2) ? 0 : csip_stmt_int64(st,
			  2) };

	g_array_append_val((GArray *)arr, f);
	return CSIP_OK;
}

static int
cmp_fact(const void *a, const void *b)
{
	return cmp_i64(&((const linked_fact *)a)->report,
		       &((const linked_fact *)b)->report);
}

/* A membership row: the campaign of the fact of its report. */
static int
membership_row(csip_stmt *st, void *arr)
{
	GArray *facts = arr;
	linked_fact key = { csip_stmt_int64(st, 0), 0, 0 };
	linked_fact *f = bsearch(&key, facts->data, facts->len, sizeof key,
				 cmp_fact);

	if (f)
		f->campaign = csip_stmt_int64(st, 1);
	return CSIP_OK;
}

/* The facts of REPORT and LINKED (N ids), sorted by report id.  ORG and
 * ORGS are their organisations as the caller knows them (0: not known).
 * When all are known only the memberships are read, from campaign_report
 * (small, and its pages stay cached), or taken from CAMPS (N + 1, may be
 * NULL: REPORT's and then LINKED's) when the caller has them; otherwise
 * the report rows too, in one query: a correlation made three, each an
 * IN list SQLite builds a temporary index for. */
static int
load_facts(csip_store *s, int64_t report, int64_t org, const int64_t *linked,
	   const int64_t *orgs, const int64_t *camps, size_t n, GArray **out)
{
	GArray *ids = g_array_sized_new(FALSE, FALSE, sizeof(int64_t),
					(guint)n + 1);
	GArray *facts = g_array_sized_new(FALSE, FALSE, sizeof(linked_fact),
					  (guint)n + 1);
	int rc, known = org > 0;

	g_array_append_val(ids, report);
	g_array_append_vals(ids, linked, (guint)n);
	for (size_t i = 0; known && i < n; i++)
		known = orgs && orgs[i] > 0;
	if (known) {
		linked_fact f = { report, org, camps ? camps[0] : 0 };

		g_array_append_val(facts, f);
		for (size_t i = 0; i < n; i++) {
			linked_fact l = { linked[i], orgs[i], camps ?
					  camps[i + 1] : 0 };

			g_array_append_val(facts, l);
		}
		g_array_sort(facts, cmp_fact);
		rc = camps ? CSIP_OK : each_in(s, "SELECT report_id, "
			"campaign_id FROM campaign_report WHERE report_id IN "
			"(@IDS@)", (int64_t *)(void *)ids->data, ids->len,
			membership_row, facts);
	} else {
		rc = each_in(s, "SELECT r.id, r.org_id, c.campaign_id FROM "
			"report r LEFT JOIN campaign_report c ON c.report_id = "
			"r.id WHERE r.id IN (@IDS@) ORDER BY r.id",
			(int64_t *)(void *)ids->data, ids->len, fact_row, facts);
	}
	g_array_free(ids, TRUE);
	if (rc < 0) {
		g_array_free(facts, TRUE);
		facts = NULL;
	}
	*out = facts;
	return rc;
}

/* Put REPORT into the campaign of the reports in FACTS (REPORT's own
 * fact aside), creating one or merging several. */
static int
join(csip_hub *h, int64_t report, const GArray *facts, int64_t *campaign)
{
	csip_store *s = csip_hub_store(h);
	GArray *camps = g_array_new(FALSE, FALSE, sizeof(int64_t));
	csip_stmt *st = NULL;
	char *target = NULL;
	char now[21];
	int64_t into = 0;
	int rc, created = 0;

	*campaign = 0;
	csip_store_now(now);
	for (guint i = 0; i < facts->len; i++) {
		const linked_fact *f = &g_array_index(facts, linked_fact, i);

		if (f->report != report && f->campaign)
			g_array_append_val(camps, f->campaign);
	}
	sort_unique(camps);
	if (camps->len == 0) {
		if ((rc = new_campaign(s, now, &into)) < 0)
			goto out;
		created = 1;
	} else {
		/* The oldest campaign absorbs the others. */
		into = g_array_index(camps, int64_t, 0);
		if (camps->len > 1 && (rc = absorb(s, into, &g_array_index(
				camps, int64_t, 1), camps->len - 1, now)) < 0)
			goto out;
	}
	/* The reports in a campaign are in INTO now; the others and the
	 * report itself join it. */
	rc = csip_store_prepare(s, "INSERT INTO campaign_report (report_id, "
		"campaign_id, added_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
		&st);
	for (guint i = 0; rc == CSIP_OK && i < facts->len; i++) {
		const linked_fact *f = &g_array_index(facts, linked_fact, i);

		if (f->report != report && f->campaign)
			continue;
		csip_stmt_reset(st);
		if ((rc = csip_stmt_bind_int64(st, 1, f->report)) < 0 ||
		    (rc = csip_stmt_bind_int64(st, 2, into)) < 0 ||
		    (rc = csip_stmt_bind_text(st, 3, now)) < 0)
			break;
		rc = csip_stmt_step(st);
		rc = rc < 0 ? rc : CSIP_OK;
	}
	if (rc < 0)
		goto out;
	if (!created && camps->len == 1) {
		char *ib = i64s(into);

		rc = csip_store_run(s, NULL, "UPDATE campaign SET updated_at = "
			"? WHERE id = ?", now, ib, NULL);
		g_free(ib);
		if (rc < 0)
			goto out;
	}
	/* Births and automatic merges are audited; growth is visible in
	 * the membership rows. */
	if (created || camps->len > 1) {
		json_t *merged = json_array();

		for (guint i = 1; i < camps->len; i++)
			json_array_append_new(merged, json_integer(
				g_array_index(camps, int64_t, i)));
		target = g_strdup_printf("campaign:%" PRId64, into);
		rc = csip_audit_append(h, AUTO_ACTOR, created ? "campaign.create"
			: "campaign.merge", target, json_pack("{sI so}",
			"report", (json_int_t)report, "merged", merged));
		if (rc < 0)
			goto out;
	}
	*campaign = into;
out:
	csip_stmt_free(st);
	g_array_free(camps, TRUE);
	g_free(target);
	return rc;
}

/* ---- alerts -------------------------------------------------------------- */

/* ORG -> its SIG ids, sorted (the query's order). */
static int
org_sig_row(csip_stmt *st, void *map)
{
	int64_t org = csip_stmt_int64(st, 0), sig = csip_stmt_int64(st, 1);
	GArray *a = g_hash_table_lookup(map, &org);

	if (a == NULL) {
		a = g_array_new(FALSE, FALSE, sizeof(int64_t));
		g_hash_table_insert(map, g_memdup2(&org, sizeof org), a);
	}
	g_array_append_val(a, sig);
	return CSIP_OK;
}

/* An organisation in no SIG (NULL) shares none. */
static int
share_a_sig(GArray *a, GArray *b)
{
	for (guint i = 0; a && b && i < a->len; i++)
		if (bsearch(&g_array_index(a, int64_t, i), b->data, b->len,
			    sizeof(int64_t), cmp_i64))
			return 1;
	return 0;
}

/* The distinct organisations of FACTS, sorted. */
static GArray *
orgs_of(const GArray *facts)
{
	GArray *orgs = g_array_sized_new(FALSE, FALSE, sizeof(int64_t),
					 facts->len);

	for (guint i = 0; i < facts->len; i++)
		g_array_append_val(orgs, g_array_index(facts, linked_fact,
						       i).org);
	sort_unique(orgs);
	return orgs;
}

/* V in decimal at the end of T: printf's cost was most of the text's. */
static void
append_i64(GString *t, int64_t v)
{
	char buf[24], *p = buf + sizeof buf;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	g_string_append_len(t, p, buf + sizeof buf - p);
}

/* The alert's "linked" column: [{"report":R,"org":O},...] for the facts
 * other than REPORT's, in their order; what json_dumps(JSON_COMPACT)
 * wrote of the same array, without building it. */
static char *
linked_text(int64_t report, const GArray *facts)
{
	GString *t = g_string_sized_new(32 * facts->len + 2);
	int first = 1;

	g_string_append_c(t, '[');
	for (guint i = 0; i < facts->len; i++) {
		const linked_fact *f = &g_array_index(facts, linked_fact, i);

		if (f->report == report)
			continue;
		g_string_append(t, first ? "{\"report\":" : ",{\"report\":");
		append_i64(t, f->report);
		g_string_append(t, ",\"org\":");
		append_i64(t, f->org);
		g_string_append_c(t, '}');
		first = 0;
	}
	g_string_append_c(t, ']');
	return g_string_free(t, FALSE);
}

/* Raise an alert when FACTS hold reports of another organisation than
 * REPORT's. */
static int
alert(csip_hub *h, int64_t report, int64_t campaign, const GArray *facts,
      int64_t *alert_id)
{
	csip_store *s = csip_hub_store(h);
	GArray *own_sigs, *org_ids = NULL;
	GHashTable *orgs = g_hash_table_new(g_int64_hash, g_int64_equal);
	GHashTable *sigs = g_hash_table_new_full(g_int64_hash, g_int64_equal,
		g_free, (GDestroyNotify)g_array_unref);
	json_t *payload = NULL;
	csip_stmt *st = NULL;
	char *lt = NULL, *name = NULL;
	char now[21];
	const char *scope = NULL;
	int64_t own = 0, id = 0;
	int rc;

	*alert_id = 0;
	/* The SIGs of the organisations, in one query whatever their
	 * number. */
	org_ids = orgs_of(facts);
	if ((rc = each_in(s, "SELECT org_id, sig_id FROM org_sig WHERE org_id "
		"IN (@IDS@) ORDER BY org_id, sig_id", (int64_t *)(void *)
		org_ids->data, org_ids->len, org_sig_row, sigs)) < 0)
		goto out;
	for (guint i = 0; i < facts->len; i++)
		if (g_array_index(facts, linked_fact, i).report == report)
			own = g_array_index(facts, linked_fact, i).org;
	own_sigs = g_hash_table_lookup(sigs, &own);
	for (guint i = 0; i < facts->len; i++) {
		linked_fact *l = &g_array_index(facts, linked_fact, i);

		if (l->report == report || l->org == own ||
		    !g_hash_table_add(orgs, &l->org))
			continue;
		if (scope == NULL)
			scope = "org";
		if (!share_a_sig(own_sigs, g_hash_table_lookup(sigs, &l->org)))
			scope = "sig";
	}
	/* Links within one organisation are its own business. */
	if (scope == NULL) {
		rc = CSIP_OK;
		goto out;
	}
	csip_store_now(now);
	lt = linked_text(report, facts);
	{
		char *rb = i64s(report), *cb = i64s(campaign), *ob =
			g_strdup_printf("%u", g_hash_table_size(orgs));

		rc = csip_store_query_int64(s, &id, "INSERT INTO alert "
			"(report_id, campaign_id, scope, linked, orgs, "
			"created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id", rb,
			campaign ? cb : CSIP_SQL_NULL, scope, lt, ob, now, NULL);
		g_free(rb);
		g_free(cb);
		g_free(ob);
	}
	if (rc < 0)
		goto out;
	if (campaign) {
		char *cb = i64s(campaign);

		rc = csip_store_prepare_bind(s, &st, "SELECT name FROM campaign "
			"WHERE id = ?", cb, NULL);
		g_free(cb);
		if (rc < 0 || (rc = csip_stmt_step(st)) < 0)
			goto out;
		if (rc == CSIP_ROW && !csip_stmt_is_null(st, 0))
			name = g_strdup(csip_stmt_text(st, 0));
	}
	/* What the webhook says: ids to look up in the API, no names of
	 * organisations (the receiving end may log it anywhere). */
	payload = json_pack("{ss sI ss s{sI so?} sI s[]}", "event", "alert",
		"alert", (json_int_t)id, "scope", scope, "campaign", "id",
		(json_int_t)campaign, "name", name ? json_string(name) : NULL,
		"report", (json_int_t)report, "linked_reports");
	for (guint i = 0; i < facts->len; i++)
		if (g_array_index(facts, linked_fact, i).report != report)
			json_array_append_new(json_object_get(payload,
				"linked_reports"), json_integer(g_array_index(
				facts, linked_fact, i).report));
	if ((rc = csip_notify_queue_alert(h, id, payload)) < 0)
		goto out;
	*alert_id = id;
	rc = CSIP_OK;
out:
	csip_stmt_free(st);
	if (org_ids)
		g_array_free(org_ids, TRUE);
	g_hash_table_destroy(orgs);
	g_hash_table_destroy(sigs);
	json_decref(payload);
	g_free(lt);
	g_free(name);
	return rc;
}

int
csip_campaign_on_links(csip_hub *h, int64_t report, int64_t org,
		       const int64_t *linked, const int64_t *orgs,
		       const int64_t *camps, size_t n, int64_t *campaign,
		       int64_t *alert_id)
{
	GArray *facts = NULL;
	int rc;

	*campaign = 0;
	*alert_id = 0;
	if (n == 0)
		return CSIP_OK;
	if ((rc = load_facts(csip_hub_store(h), report, org, linked, orgs,
			     camps, n, &facts)) < 0)
		return rc;
	if ((rc = join(h, report, facts, campaign)) == CSIP_OK)
		rc = alert(h, report, *campaign, facts, alert_id);
	g_array_free(facts, TRUE);
	return rc;
}

/* ---- rebuild ------------------------------------------------------------- */

typedef struct member {
	int64_t report, root;
} member;

static int
cmp_member(const void *a, const void *b)
{
	const member *x = a, *y = b;

	if (x->root != y->root)
		return (x->root > y->root) - (x->root < y->root);
	return (x->report > y->report) - (x->report < y->report);
}

static int
old_row(csip_stmt *st, void *ud)
{
	int64_t *k = g_new(int64_t, 1), *v = g_new(int64_t, 1);

	*k = csip_stmt_int64(st, 0);
	*v = csip_stmt_int64(st, 1);
	g_hash_table_insert(ud, k, v);
	return CSIP_OK;
}

int
csip_campaign_rebuild(csip_hub *h, const int64_t *pairs, size_t n)
{
	csip_store *s = csip_hub_store(h);
	GHashTable *old = g_hash_table_new_full(g_int64_hash, g_int64_equal,
						g_free, g_free);
	GHashTable *taken = g_hash_table_new_full(g_int64_hash, g_int64_equal,
						  g_free, NULL);
	member *m = g_new(member, n ? n : 1);
	csip_stmt *st = NULL;
	char now[21];
	int64_t camp = 0;
	int rc;

	csip_store_now(now);
	for (size_t i = 0; i < n; i++) {
		m[i].report = pairs[2 * i];
		m[i].root = pairs[2 * i + 1];
	}
	/* Roots are the smallest report of each component, so sorting by
	 * root visits components by their first report. */
	qsort(m, n, sizeof *m, cmp_member);
	rc = csip_store_each(s, old_row, old, "SELECT report_id, campaign_id "
		"FROM campaign_report", NULL);
	if (rc < 0 || (rc = csip_store_run(s, NULL, "DELETE FROM "
		"campaign_report", NULL)) < 0)
		goto out;
	if ((rc = csip_store_prepare(s, "INSERT INTO campaign_report "
		"(report_id, campaign_id, added_at) VALUES (?, ?, ?)", &st)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || m[i].root != m[i - 1].root) {
			int64_t *was = g_hash_table_lookup(old, &m[i].root);

			if (was && !g_hash_table_contains(taken, was)) {
				char *cb = i64s(*was);

				camp = *was;
				rc = csip_store_run(s, NULL, "UPDATE campaign SET"
					" merged_into = NULL WHERE id = ?", cb,
					NULL);
				g_free(cb);
			} else {
				rc = new_campaign(s, now, &camp);
			}
			if (rc < 0)
				goto out;
			g_hash_table_add(taken, g_memdup2(&camp, sizeof camp));
		}
		csip_stmt_reset(st);
		if ((rc = csip_stmt_bind_int64(st, 1, m[i].report)) < 0 ||
		    (rc = csip_stmt_bind_int64(st, 2, camp)) < 0 ||
		    (rc = csip_stmt_bind_text(st, 3, now)) < 0 ||
		    (rc = csip_stmt_step(st)) < 0)
			goto out;
	}
	rc = CSIP_OK;
out:
	csip_stmt_free(st);
	g_hash_table_destroy(old);
	g_hash_table_destroy(taken);
	g_free(m);
	return rc;
}

/* ---- computing a component again --------------------------------------- */

typedef struct comp {
	GArray *ids;            /* int64 */
} comp;

static int
cmp_comp(const void *a, const void *b)
{
	const comp *x = a, *y = b;

	/* The largest part keeps the campaign; ties go to the oldest. */
	if (x->ids->len != y->ids->len)
		return x->ids->len < y->ids->len ? 1 : -1;
	return cmp_i64(x->ids->data, y->ids->data);
}

typedef struct recomp {
	GHashTable *pos;        /* report id -> index + 1 */
	int *parent;
} recomp;

static int
find(int *p, int x)
{
	while (p[x] != x) {
		p[x] = p[p[x]];
		x = p[x];
	}
	return x;
}

static int
edge_row(csip_stmt *st, void *ud)
{
	recomp *r = ud;
	int64_t a = csip_stmt_int64(st, 0), b = csip_stmt_int64(st, 1);
	int ia = GPOINTER_TO_INT(g_hash_table_lookup(r->pos, &a)) - 1;
	int ib = GPOINTER_TO_INT(g_hash_table_lookup(r->pos, &b)) - 1;

	if (ia >= 0 && ib >= 0) {
		ia = find(r->parent, ia);
		ib = find(r->parent, ib);
		if (ia != ib)
			r->parent[MAX(ia, ib)] = MIN(ia, ib);
	}
	return CSIP_OK;
}

/* Compute campaign ID again from its links, less cut pairs and excluded
 * values; the largest part keeps ID, other parts of two reports or more
 * become new campaigns (their ids appended to CREATED when not NULL) and
 * single reports leave.  Inside the caller's transaction. */
static int
recompute(csip_hub *h, int64_t id, GArray *created)
{
	csip_store *s = csip_hub_store(h);
	GArray *ids = NULL;
	recomp r = { NULL, NULL };
	comp *parts = NULL;
	guint n_parts = 0;
	char *sql = NULL, now[21];
	csip_stmt *st = NULL;
	int rc;

	csip_store_now(now);
	sql = g_strdup_printf("SELECT report_id FROM campaign_report WHERE "
		"campaign_id = %" PRId64 " ORDER BY report_id", id);
	rc = load_ids(s, sql, &ids);
	g_clear_pointer(&sql, g_free);
	if (rc < 0)
		goto out;
	r.pos = g_hash_table_new(g_int64_hash, g_int64_equal);
	r.parent = g_new(int, ids->len ? ids->len : 1);
	for (guint i = 0; i < ids->len; i++) {
		r.parent[i] = (int)i;
		g_hash_table_insert(r.pos, &g_array_index(ids, int64_t, i),
				    GINT_TO_POINTER(i + 1));
	}
	sql = g_strdup_printf("SELECT l.report_id, l.other_id FROM corr_link l "
		"JOIN campaign_report a ON a.report_id = l.report_id AND "
		"a.campaign_id = %" PRId64 " JOIN campaign_report b ON "
		"b.report_id = l.other_id AND b.campaign_id = %" PRId64 " WHERE "
		"(l.kind = 'manual' OR (l.value NOT IN (SELECT value FROM "
		"corr_exclusion) AND l.other_value NOT IN (SELECT value FROM "
		"corr_exclusion))) AND NOT EXISTS (SELECT 1 FROM corr_cut c "
		"WHERE c.a = l.report_id AND c.b = l.other_id)", id, id);
	rc = csip_store_each(s, edge_row, &r, sql, NULL);
	g_clear_pointer(&sql, g_free);
	if (rc < 0)
		goto out;
	{
		GHashTable *root_part = g_hash_table_new(g_direct_hash,
							 g_direct_equal);

		parts = g_new0(comp, ids->len ? ids->len : 1);
		for (guint i = 0; i < ids->len; i++) {
			int root = find(r.parent, (int)i);
			gpointer p = g_hash_table_lookup(root_part,
				GINT_TO_POINTER(root + 1));
			guint k;

			if (p == NULL) {
				k = n_parts++;
				parts[k].ids = g_array_new(FALSE, FALSE,
							   sizeof(int64_t));
				g_hash_table_insert(root_part, GINT_TO_POINTER(
					root + 1), GUINT_TO_POINTER(k + 1));
			} else {
				k = GPOINTER_TO_UINT(p) - 1;
			}
			g_array_append_val(parts[k].ids, g_array_index(ids,
				int64_t, i));
		}
		g_hash_table_destroy(root_part);
	}
	qsort(parts, n_parts, sizeof *parts, cmp_comp);
	if ((rc = csip_store_prepare(s, "UPDATE campaign_report SET "
		"campaign_id = ? WHERE report_id = ?", &st)) < 0)
		goto out;
	for (guint k = 0; k < n_parts; k++) {
		GArray *p = parts[k].ids;
		int64_t camp = id;
		char *list;

		if (p->len < 2) {
			list = id_list((int64_t *)(void *)p->data, p->len);
			sql = g_strdup_printf("DELETE FROM campaign_report WHERE "
				"report_id IN (%s)", list);
			rc = csip_store_run(s, NULL, sql, NULL);
			g_free(list);
			g_clear_pointer(&sql, g_free);
			if (rc < 0)
				goto out;
			continue;
		}
		if (k == 0)
			continue;
		if ((rc = new_campaign(s, now, &camp)) < 0)
			goto out;
		if (created)
			g_array_append_val(created, camp);
		for (guint i = 0; i < p->len; i++) {
			csip_stmt_reset(st);
			if ((rc = csip_stmt_bind_int64(st, 1, camp)) < 0 ||
			    (rc = csip_stmt_bind_int64(st, 2, g_array_index(p,
					int64_t, i))) < 0 ||
			    (rc = csip_stmt_step(st)) < 0)
				goto out;
		}
	}
	{
		char *ib = i64s(id);

		rc = csip_store_run(s, NULL, "UPDATE campaign SET updated_at = "
			"? WHERE id = ?", now, ib, NULL);
		g_free(ib);
	}
out:
	csip_stmt_free(st);
	for (guint k = 0; parts && k < n_parts; k++)
		g_array_free(parts[k].ids, TRUE);
	g_free(parts);
	if (r.pos)
		g_hash_table_destroy(r.pos);
	g_free(r.parent);
	if (ids)
		g_array_free(ids, TRUE);
	g_free(sql);
	return rc;
}

/* ---- reads ---------------------------------------------------------------- */

#define LIST_COLS "c.id, c.name, c.created_at, c.updated_at, " \
	"(SELECT COUNT(*) FROM campaign_report m WHERE m.campaign_id = c.id), " \
	"(SELECT COUNT(DISTINCT r.org_id) FROM campaign_report m JOIN report " \
	"r ON r.id = m.report_id WHERE m.campaign_id = c.id), c.merged_into"

static json_t *
list_obj(csip_stmt *st)
{
	json_t *o = json_pack("{sI ss ss sI sI}",
		"id", (json_int_t)csip_stmt_int64(st, 0),
		"created_at", csip_stmt_text(st, 2),
		"updated_at", csip_stmt_text(st, 3),
		"reports", (json_int_t)csip_stmt_int64(st, 4),
		"orgs", (json_int_t)csip_stmt_int64(st, 5));

	json_object_set_new(o, "name", csip_stmt_is_null(st, 1) ? json_null()
			    : json_string(csip_stmt_text(st, 1)));
	return o;
}

static int
check_page(int64_t before_id, int *limit)
{
	if (*limit <= 0)
		*limit = 100;
	if (*limit > 1000)
		return csip_error_set(CSIP_EINVAL, "limit %d: ask for 1 to 1000 "
			"and page with before", *limit);
	if (before_id < 0)
		return csip_error_set(CSIP_EINVAL, "before %" PRId64 ": use the "
			"\"next\" value of the previous page", before_id);
	return CSIP_OK;
}

int
csip_campaign_list(csip_hub *h, int64_t before_id, int limit, json_t **out,
		   int64_t *next)
{
	csip_stmt *st = NULL;
	json_t *arr = json_array();
	int rc;

	*out = NULL;
	if (next)
		*next = 0;
	if ((rc = check_page(before_id, &limit)) < 0)
		goto out;
	rc = csip_store_prepare(csip_hub_store(h), "SELECT " LIST_COLS " FROM "
		"campaign c WHERE c.merged_into IS NULL AND EXISTS (SELECT 1 "
		"FROM campaign_report m WHERE m.campaign_id = c.id) AND (? = 0 "
		"OR c.id < ?) ORDER BY c.id DESC LIMIT ?", &st);
	if (rc < 0 || (rc = csip_stmt_bind_int64(st, 1, before_id)) < 0 ||
	    (rc = csip_stmt_bind_int64(st, 2, before_id)) < 0 ||
	    (rc = csip_stmt_bind_int64(st, 3, limit + 1)) < 0)
		goto out;
	while ((rc = csip_stmt_step(st)) == CSIP_ROW) {
		if (json_array_size(arr) == (size_t)limit) {
			if (next)
				*next = json_integer_value(json_object_get(
					json_array_get(arr, limit - 1), "id"));
			break;
		}
		json_array_append_new(arr, list_obj(st));
	}
	if (rc < 0)
		goto out;
	*out = arr;
	arr = NULL;
	rc = CSIP_OK;
out:
	csip_stmt_free(st);
	json_decref(arr);
	return rc;
}

static int
member_row(csip_stmt *st, void *arr)
{
	json_t *o = json_pack("{sI ss ss}", "id",
		(json_int_t)csip_stmt_int64(st, 0), "org",
		csip_stmt_text(st, 1), "received_at", csip_stmt_text(st, 2));

	json_object_set_new(o, "subject", csip_stmt_is_null(st, 3)
		? json_null() : json_string(csip_stmt_text(st, 3)));
	json_array_append_new(arr, o);
	return CSIP_OK;
}

static int
link_row(csip_stmt *st, void *arr)
{
	json_array_append_new(arr, json_pack("{sI sI ss ss ss ss sI}",
		"report", (json_int_t)csip_stmt_int64(st, 0),
		"other", (json_int_t)csip_stmt_int64(st, 1),
		"kind", csip_stmt_text(st, 2),
		"type", csip_stmt_text(st, 3),
		"value", csip_stmt_text(st, 4),
		"other_value", csip_stmt_text(st, 5),
		"score", (json_int_t)csip_stmt_int64(st, 6)));
	return CSIP_OK;
}

static int
int_row(csip_stmt *st, void *arr)
{
	json_array_append_new(arr, json_integer(csip_stmt_int64(st, 0)));
	return CSIP_OK;
}

int
csip_campaign_get(csip_hub *h, int64_t id, json_t **out)
{
	csip_store *s = csip_hub_store(h);
	csip_stmt *st = NULL;
	json_t *o = NULL, *reports = json_array(), *links = json_array();
	json_t *alerts = json_array();
	char ib[24], lim[24];
	int rc;

	*out = NULL;
	g_snprintf(ib, sizeof ib, "%" PRId64, id);
	g_snprintf(lim, sizeof lim, "%d", MAX_LINKS_SHOWN);
	rc = csip_store_prepare_bind(s, &st, "SELECT " LIST_COLS " FROM "
		"campaign c WHERE c.id = ?", ib, NULL);
	if (rc < 0 || (rc = csip_stmt_step(st)) < 0)
		goto out;
	if (rc == CSIP_DONE) {
		rc = csip_error_set(CSIP_ENOTFOUND, "campaign %s does not exist;"
			" `csip campaign list` shows the campaigns", ib);
		goto out;
	}
	o = list_obj(st);
	if (!csip_stmt_is_null(st, 6))
		json_object_set_new(o, "merged_into",
				    json_integer(csip_stmt_int64(st, 6)));
	g_clear_pointer(&st, csip_stmt_free);
	rc = csip_store_each(s, member_row, reports, "SELECT r.id, o.name, "
		"r.received_at, r.subject FROM campaign_report m JOIN report r "
		"ON r.id = m.report_id JOIN org o ON o.id = r.org_id WHERE "
		"m.campaign_id = ? ORDER BY r.id", ib, NULL);
	if (rc < 0)
		goto out;
	rc = csip_store_each(s, link_row, links, "SELECT l.report_id, "
		"l.other_id, l.kind, l.type, l.value, l.other_value, l.score "
		"FROM corr_link l JOIN campaign_report m ON m.report_id = "
		"l.report_id WHERE m.campaign_id = ? ORDER BY l.report_id, "
		"l.other_id, l.type, l.value LIMIT ?", ib, lim, NULL);
	if (rc < 0)
		goto out;
	rc = csip_store_each(s, int_row, alerts, "SELECT id FROM alert WHERE "
		"campaign_id = ? ORDER BY id", ib, NULL);
	if (rc < 0)
		goto out;
	json_object_set(o, "members", reports);
	json_object_set(o, "links", links);
	json_object_set(o, "alerts", alerts);
	*out = o;
	o = NULL;
out:
	csip_stmt_free(st);
	json_decref(o);
	json_decref(reports);
	json_decref(links);
	json_decref(alerts);
	return rc;
}

int
csip_campaign_of_report(csip_hub *h, int64_t report, int64_t *campaign)
{
	char rb[24];
	int rc;

	*campaign = 0;
	g_snprintf(rb, sizeof rb, "%" PRId64, report);
	rc = csip_store_query_int64(csip_hub_store(h), campaign, "SELECT "
		"campaign_id FROM campaign_report WHERE report_id = ?", rb,
		NULL);
	if (rc == CSIP_ENOTFOUND) {
		csip_error_clear();
		*campaign = 0;
		return CSIP_OK;
	}
	return rc;
}

/* ---- the analysts' changes ------------------------------------------------- */

/* Campaign ID exists, was not merged away and has members. */
static int
check_live(csip_store *s, int64_t id)
{
	char ib[24];
	int64_t merged = 0;
	int rc;

	g_snprintf(ib, sizeof ib, "%" PRId64, id);
	rc = csip_store_query_int64(s, &merged, "SELECT COALESCE(merged_into, "
		"0) FROM campaign WHERE id = ? AND EXISTS (SELECT 1 FROM "
		"campaign_report m WHERE m.campaign_id = campaign.id) OR (id = ?"
		" AND merged_into IS NOT NULL)", ib, ib, NULL);
	if (rc == CSIP_ENOTFOUND)
		return csip_error_set(CSIP_ENOTFOUND, "campaign %s does not "
			"exist or has no reports left; `csip campaign list` "
			"shows the campaigns", ib);
	if (rc < 0)
		return rc;
	if (merged)
		return csip_error_set(CSIP_EBUSY, "campaign %s was merged into "
			"campaign %" PRId64 ": change that one", ib, merged);
	return CSIP_OK;
}

static int
check_name(const char *name)
{
	size_t n = strlen(name);

	if (n > MAX_NAME)
		return csip_error_set(CSIP_EINVAL, "the name is %zu bytes: "
			"shorten it to %d", n, MAX_NAME);
	if (!g_utf8_validate(name, (gssize)n, NULL))
		return csip_error_set(CSIP_EINVAL, "the name is not valid "
			"UTF-8");
	for (const char *p = name; *p; p = g_utf8_next_char(p))
		if (g_unichar_iscntrl(g_utf8_get_char(p)))
			return csip_error_set(CSIP_EINVAL, "the name holds a "
				"control character: remove it");
	return CSIP_OK;
}

int
csip_campaign_name(csip_hub *h, const char *actor, int64_t id,
		   const char *name)
{
	csip_store *s = csip_hub_store(h);
	char ib[24], now[21], *target = NULL;
	int rc, began = 0;

	if (name && *name == '\0')
		name = NULL;
	if (name && (rc = check_name(name)) < 0)
		return rc;
	g_snprintf(ib, sizeof ib, "%" PRId64, id);
	csip_store_now(now);
	if ((rc = csip_store_begin(s)) < 0)
		goto out;
	began = 1;
	if ((rc = check_live(s, id)) < 0)
		goto out;
	rc = csip_store_run(s, NULL, "UPDATE campaign SET name = ?, updated_at"
		" = ? WHERE id = ?", name ? name : CSIP_SQL_NULL, now, ib, NULL);
	if (rc < 0)
		goto out;
	target = g_strconcat("campaign:", ib, NULL);
	rc = csip_audit_append(h, actor, "campaign.name", target, json_pack(
		"{so?}", "name", name ? json_string(name) : NULL));
out:
	if (began) {
		if (rc < 0)
			csip_store_rollback(s);
		else
			rc = csip_store_commit(s);
	}
	g_free(target);
	return rc;
}

static int
first_member(csip_store *s, int64_t campaign, int64_t *report)
{
	char cb[24];

	g_snprintf(cb, sizeof cb, "%" PRId64, campaign);
	return csip_store_query_int64(s, report, "SELECT MIN(report_id) FROM "
		"campaign_report WHERE campaign_id = ? HAVING COUNT(*) > 0", cb,
		NULL);
}

int
csip_campaign_merge(csip_hub *h, const char *actor, int64_t into,
		    const int64_t *others, size_t n)
{
	csip_store *s = csip_hub_store(h);
	json_t *merged = NULL;
	char *target = NULL, now[21];
	int rc, began = 0;

	if (n == 0)
		return csip_error_set(CSIP_EINVAL, "no campaign to merge: give "
			"the ids of the campaigns to merge into %" PRId64, into);
	for (size_t i = 0; i < n; i++)
		if (others[i] == into)
			return csip_error_set(CSIP_EINVAL, "campaign %" PRId64
				" cannot be merged into itself", into);
	csip_store_now(now);
	if ((rc = csip_store_begin(s)) < 0)
		goto out;
	began = 1;
	if ((rc = check_live(s, into)) < 0)
		goto out;
	merged = json_array();
	for (size_t i = 0; i < n; i++) {
		int64_t a = 0, b = 0;
		char ab[24], bb[24];

		if ((rc = check_live(s, others[i])) < 0 ||
		    (rc = first_member(s, into, &a)) < 0 ||
		    (rc = first_member(s, others[i], &b)) < 0)
			goto out;
		g_snprintf(ab, sizeof ab, "%" PRId64, MIN(a, b));
		g_snprintf(bb, sizeof bb, "%" PRId64, MAX(a, b));
		/* A manual link keeps them together through rebuilds; a cut
		 * of the same pair would undo it, so it goes. */
		if ((rc = csip_store_run(s, NULL, "INSERT INTO corr_link "
			"(report_id, other_id, kind, type, value, other_value, "
			"score) VALUES (?, ?, 'manual', 'campaign', 'merge', '', "
			"100) ON CONFLICT DO NOTHING", bb, ab, NULL)) < 0 ||
		    (rc = csip_store_run(s, NULL, "DELETE FROM corr_cut WHERE "
			"(a = ? AND b = ?) OR (a = ? AND b = ?)", ab, bb, bb, ab,
			NULL)) < 0 ||
		    (rc = absorb(s, into, &others[i], 1, now)) < 0)
			goto out;
		json_array_append_new(merged, json_integer(others[i]));
	}
	target = g_strdup_printf("campaign:%" PRId64, into);
	rc = csip_audit_append(h, actor, "campaign.merge", target,
		json_pack("{sO}", "merged", merged));
out:
	if (began) {
		if (rc < 0)
			csip_store_rollback(s);
		else
			rc = csip_store_commit(s);
	}
	json_decref(merged);
	g_free(target);
	return rc;
}

int
csip_campaign_split(csip_hub *h, const char *actor, int64_t id,
		    const int64_t *reports, size_t n, int64_t **created,
		    size_t *n_created)
{
	csip_store *s = csip_hub_store(h);
	GArray *made = g_array_new(FALSE, FALSE, sizeof(int64_t));
	GArray *cut = NULL;
	json_t *detail = NULL;
	char *list = NULL, *sql = NULL, *target = NULL, ib[24];
	int64_t members = 0, inside = 0;
	int rc, began = 0;

	if (created)
		*created = NULL;
	if (n_created)
		*n_created = 0;
	g_snprintf(ib, sizeof ib, "%" PRId64, id);
	if (n == 0 || n > MAX_SPLIT) {
		rc = csip_error_set(CSIP_EINVAL, "give 1 to %d report ids to "
			"split off campaign %s", MAX_SPLIT, ib);
		goto out;
	}
	list = id_list(reports, n);
	if ((rc = csip_store_begin(s)) < 0)
		goto out;
	began = 1;
	if ((rc = check_live(s, id)) < 0)
		goto out;
	rc = csip_store_query_int64(s, &members, "SELECT COUNT(*) FROM "
		"campaign_report WHERE campaign_id = ?", ib, NULL);
	if (rc < 0)
		goto out;
	sql = g_strdup_printf("SELECT COUNT(DISTINCT report_id) FROM "
		"campaign_report WHERE campaign_id = ? AND report_id IN (%s)",
		list);
	rc = csip_store_query_int64(s, &inside, sql, ib, NULL);
	g_clear_pointer(&sql, g_free);
	if (rc < 0)
		goto out;
	{
		/* Distinct ids named, to compare with those found inside. */
		GHashTable *d = g_hash_table_new(g_int64_hash, g_int64_equal);

		for (size_t i = 0; i < n; i++)
			g_hash_table_add(d, (gpointer)&reports[i]);
		if ((int64_t)g_hash_table_size(d) != inside) {
			rc = csip_error_set(CSIP_EINVAL, "not every report named"
				" is in campaign %s; `csip campaign show %s` "
				"lists its reports", ib, ib);
		} else if (inside == members) {
			rc = csip_error_set(CSIP_EINVAL, "those are all the "
				"reports of campaign %s: name fewer to split "
				"off", ib);
		}
		g_hash_table_destroy(d);
		if (rc < 0)
			goto out;
	}
	/* Cut every link between the reports named and the rest, in both
	 * orientations so the recomputation checks one row. */
	sql = g_strdup_printf("INSERT INTO corr_cut (a, b) SELECT DISTINCT "
		"l.report_id, l.other_id FROM corr_link l JOIN campaign_report "
		"x ON x.report_id = l.report_id JOIN campaign_report y ON "
		"y.report_id = l.other_id WHERE x.campaign_id = ? AND "
		"y.campaign_id = ? AND ((l.report_id IN (%s)) <> (l.other_id IN "
		"(%s))) ON CONFLICT DO NOTHING", list, list);
	rc = csip_store_run(s, NULL, sql, ib, ib, NULL);
	g_clear_pointer(&sql, g_free);
	if (rc < 0)
		goto out;
	rc = csip_store_run(s, NULL, "INSERT INTO corr_cut (a, b) SELECT b, a "
		"FROM corr_cut WHERE 1 = 1 ON CONFLICT DO NOTHING", NULL);
	if (rc < 0 || (rc = recompute(h, id, made)) < 0)
		goto out;
	detail = json_pack("{s[] s[]}", "reports", "created");
	for (size_t i = 0; i < n; i++)
		json_array_append_new(json_object_get(detail, "reports"),
				      json_integer(reports[i]));
	for (guint i = 0; i < made->len; i++)
		json_array_append_new(json_object_get(detail, "created"),
			json_integer(g_array_index(made, int64_t, i)));
	target = g_strconcat("campaign:", ib, NULL);
	rc = csip_audit_append(h, actor, "campaign.split", target, detail);
	detail = NULL;
out:
	if (began) {
		if (rc < 0)
			csip_store_rollback(s);
		else
			rc = csip_store_commit(s);
	}
	if (rc == CSIP_OK) {
		if (n_created)
			*n_created = made->len;
		if (created)
			*created = (int64_t *)(void *)g_array_free(made, FALSE);
		else
			g_array_free(made, TRUE);
	} else {
		g_array_free(made, TRUE);
	}
	if (cut)
		g_array_free(cut, TRUE);
	json_decref(detail);
	g_free(list);
	g_free(sql);
	g_free(target);
	return rc;
}

/* The campaigns of the links through one value (bound three times).
 * corr_link is keyed by report only: a link's value is an observation of
 * its report, and its other_value one of the other report or the value
 * itself, and both reports of a link stay in one campaign unless an
 * analyst cut the pair (and a cut link counts for nothing).  So the
 * campaigns of the reports carrying the value (found through the
 * observation index, of any type: one name may be stored as a domain or
 * as a host name) are the candidates, and a candidate is kept when one
 * of its links goes through the value. */
static char *
linked_by_sql(void)
{
	GString *types = g_string_new(NULL);
	char *sql;

	for (int t = 0; t < CSIP_IND__COUNT; t++)
		g_string_append_printf(types, "%s'%s'", t ? "," : "",
				       csip_ind_type_name((csip_ind_type)t));
	sql = g_strdup_printf("SELECT DISTINCT m.campaign_id FROM observation "
		"o JOIN campaign_report m ON m.report_id = o.report_id WHERE "
		"o.type IN (%s) AND o.value = ? AND EXISTS (SELECT 1 FROM "
		"campaign_report x JOIN corr_link l ON l.report_id = x.report_id"
		" WHERE x.campaign_id = m.campaign_id AND (l.value = ? OR "
		"l.other_value = ?)) ORDER BY 1", types->str);
	g_string_free(types, TRUE);
	return sql;
}

int
csip_campaign_exclude(csip_hub *h, const char *actor, const char *value,
		      const char *reason, size_t *recomputed)
{
	csip_store *s = csip_hub_store(h);
	csip_indicator *ind = NULL;
	GArray *camps = NULL;
	char *target = NULL, *sql = NULL, *q = NULL, now[21];
	const char *type;
	int rc, began = 0, changes = 0;

	if (recomputed)
		*recomputed = 0;
	if (value == NULL || *value == '\0')
		return csip_error_set(CSIP_EINVAL, "no value given: name the "
			"indicator to exclude from linking");
	if (reason && (rc = check_name(reason)) < 0)
		return csip_error_prefix(rc, "reason: ");
	rc = csip_indicator_parse(value, strlen(value), CSIP_IND_UNKNOWN, &ind);
	if (rc < 0)
		return csip_error_prefix(rc, "value \"%s\": ", value);
	type = csip_ind_type_name(ind->type);
	csip_store_now(now);
	if ((rc = csip_store_begin(s)) < 0)
		goto out;
	began = 1;
	rc = csip_store_run(s, &changes, "INSERT INTO corr_exclusion (value, "
		"type, reason, added_by, added_at) VALUES (?, ?, ?, ?, ?) ON "
		"CONFLICT DO NOTHING", ind->value, type,
		reason ? reason : CSIP_SQL_NULL, actor, now, NULL);
	if (rc < 0)
		goto out;
	if (changes == 0) {
		rc = csip_error_set(CSIP_EEXISTS, "%s %s is excluded from linking"
			" already", type, ind->value);
		goto out;
	}
	if ((rc = csip_store_run(s, NULL, "UPDATE corr_state SET lists_version"
		" = lists_version + 1 WHERE one = 1", NULL)) < 0)
		goto out;
	/* Every campaign the value linked is computed again without it. */
	q = g_strdup(ind->value);
	sql = linked_by_sql();
	{
		GArray *tmp = g_array_new(FALSE, FALSE, sizeof(int64_t));

		rc = csip_store_each(s, add_id_row, tmp, sql, q, q, q, NULL);
		camps = tmp;
	}
	if (rc < 0)
		goto out;
	for (guint i = 0; i < camps->len; i++)
		if ((rc = recompute(h, g_array_index(camps, int64_t, i),
				    NULL)) < 0)
			goto out;
	target = g_strdup_printf("exclusion:%s:%s", type, ind->value);
	rc = csip_audit_append(h, actor, "campaign.exclude", target, json_pack(
		"{ss ss so? sI}", "type", type, "value", ind->value, "reason",
		reason ? json_string(reason) : NULL, "recomputed",
		(json_int_t)camps->len));
	if (rc == CSIP_OK && recomputed)
		*recomputed = camps->len;
out:
	if (began) {
		if (rc < 0)
			csip_store_rollback(s);
		else
			rc = csip_store_commit(s);
	}
	csip_indicator_free(ind);
	if (camps)
		g_array_free(camps, TRUE);
	g_free(target);
	g_free(sql);
	g_free(q);
	return rc;
}

static int
excl_row(csip_stmt *st, void *arr)
{
	json_t *o = json_pack("{ss ss ss ss}", "type", csip_stmt_text(st, 0),
		"value", csip_stmt_text(st, 1), "added_by",
		csip_stmt_text(st, 3), "added_at", csip_stmt_text(st, 4));

	json_object_set_new(o, "reason", csip_stmt_is_null(st, 2)
		? json_null() : json_string(csip_stmt_text(st, 2)));
	json_array_append_new(arr, o);
	return CSIP_OK;
}

int
csip_campaign_exclusions(csip_hub *h, json_t **out)
{
	json_t *arr = json_array();
	int rc = csip_store_each(csip_hub_store(h), excl_row, arr, "SELECT "
		"type, value, reason, added_by, added_at FROM corr_exclusion "
		"ORDER BY added_at, value", NULL);

	*out = NULL;
	if (rc < 0) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return CSIP_OK;
}

static int
alert_row(csip_stmt *st, void *arr)
{
	json_t *linked = json_loads(csip_stmt_text(st, 5), 0, NULL);
	json_t *o = json_pack("{sI sI ss sI ss}",
		"id", (json_int_t)csip_stmt_int64(st, 0),
		"report", (json_int_t)csip_stmt_int64(st, 1),
		"scope", csip_stmt_text(st, 4),
		"orgs", (json_int_t)csip_stmt_int64(st, 6),
		"created_at", csip_stmt_text(st, 7));

	json_object_set_new(o, "campaign", csip_stmt_is_null(st, 2)
		? json_null() : json_integer(csip_stmt_int64(st, 2)));
	json_object_set_new(o, "campaign_name", csip_stmt_is_null(st, 3)
		? json_null() : json_string(csip_stmt_text(st, 3)));
	json_object_set_new(o, "linked", json_is_array(linked) ? linked
			    : json_array());
	if (!json_is_array(linked))
		json_decref(linked);
	json_array_append_new(arr, o);
	return CSIP_OK;
}

int
csip_alert_list(csip_hub *h, int64_t before_id, int limit, json_t **out,
		int64_t *next)
{
	csip_stmt *st = NULL;
	json_t *arr = json_array();
	int rc;

	*out = NULL;
	if (next)
		*next = 0;
	if ((rc = check_page(before_id, &limit)) < 0)
		goto out;
	/* The campaign an alert named may have merged since: name the one
	 * it lives in now. */
	rc = csip_store_prepare(csip_hub_store(h), "SELECT a.id, a.report_id, "
		"COALESCE(c.merged_into, a.campaign_id), COALESCE(m.name, "
		"c.name), a.scope, a.linked, a.orgs, a.created_at FROM alert a "
		"LEFT JOIN campaign c ON c.id = a.campaign_id LEFT JOIN campaign "
		"m ON m.id = c.merged_into WHERE (? = 0 OR a.id < ?) ORDER BY "
		"a.id DESC LIMIT ?", &st);
	if (rc < 0 || (rc = csip_stmt_bind_int64(st, 1, before_id)) < 0 ||
	    (rc = csip_stmt_bind_int64(st, 2, before_id)) < 0 ||
	    (rc = csip_stmt_bind_int64(st, 3, limit + 1)) < 0)
		goto out;
	while ((rc = csip_stmt_step(st)) == CSIP_ROW) {
		if (json_array_size(arr) == (size_t)limit) {
			if (next)
				*next = json_integer_value(json_object_get(
					json_array_get(arr, limit - 1), "id"));
			break;
		}
		alert_row(st, arr);
	}
	if (rc < 0)
		goto out;
	*out = arr;
	arr = NULL;
	rc = CSIP_OK;
out:
	csip_stmt_free(st);
	json_decref(arr);
	return rc;
}
