/*
 * policy.c - who may see what (see policy.h for the rules).
 *
 * The decision itself, csip_policy_decide(), is a pure function of two
 * small structs; everything else here loads those structs or applies the
 * decision to many organisations at once.  Keeping the loaders next to the
 * decision means no caller ever reads audience or NDA columns itself.
 */
#include "lib/policy.h"
#include "util/error.h"

#include <glib.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *const ranks[] = { "hub", "sig", "community", "partners",
	"public", NULL };

int
csip_policy_rank(const char *scope)
{
	for (int i = 0; scope && ranks[i]; i++)
		if (strcmp(scope, ranks[i]) == 0)
			return i;
	return -1;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int
has_id(const int64_t *v, size_t n, int64_t id)
{
	return n > 0 && bsearch(&id, v, n, sizeof *v, cmp_i64) != NULL;
}

static int
add_id_row(csip_stmt *st, void *arr)
{
	int64_t v = csip_stmt_int64(st, 0);

	g_array_append_val((GArray *)arr, v);
	return CSIP_OK;
}

/* Run SQL with one id parameter and collect the first column, sorted. */
static int
load_ids(csip_store *s, const char *sql, int64_t id, int64_t **out,
	 size_t *n)
{
	GArray *a = g_array_new(FALSE, FALSE, sizeof(int64_t));
	char buf[24];
	int rc;

	g_snprintf(buf, sizeof buf, "%" PRId64, id);
	rc = csip_store_each(s, add_id_row, a, sql, buf, NULL);
	if (rc < 0) {
		g_array_free(a, TRUE);
		*out = NULL;
		*n = 0;
		return rc;
	}
	g_array_sort(a, cmp_i64);
	*n = a->len;
	*out = (int64_t *)(void *)g_array_free(a, FALSE);
	return CSIP_OK;
}

int
csip_reader_load(csip_store *s, int64_t org_id, csip_reader *out)
{
	csip_stmt *st = NULL;
	char buf[24];
	int rc;

	memset(out, 0, sizeof *out);
	g_snprintf(buf, sizeof buf, "%" PRId64, org_id);
	rc = csip_store_prepare_bind(s, &st, "SELECT role, nda_date FROM org "
		"WHERE id = ?", buf, NULL);
	if (rc < 0)
		goto out;
	rc = csip_stmt_step(st);
	if (rc == CSIP_DONE) {
		rc = csip_error_set(CSIP_ENOTFOUND, "organisation %" PRId64
			" does not exist", org_id);
		goto out;
	}
	if (rc < 0)
		goto out;
	out->org_id = org_id;
	out->hub = strcmp(csip_stmt_text(st, 0), "hub") == 0;
	out->partner = strcmp(csip_stmt_text(st, 0), "partner") == 0;
	/* An NDA counts from its date: one signed for next month shares
	 * nothing yet.  Dates are YYYY-MM-DD and compare as text. */
	if (!csip_stmt_is_null(st, 1) && *csip_stmt_text(st, 1)) {
		char today[21];

		csip_store_now(today);
		today[10] = '\0';
		out->nda = strncmp(csip_stmt_text(st, 1), today, 10) <= 0;
	}
	rc = load_ids(s, "SELECT sig_id FROM org_sig WHERE org_id = ?",
		      org_id, &out->sigs, &out->n_sigs);
out:
	csip_stmt_free(st);
	if (rc < 0)
		csip_reader_clear(out);
	return rc < 0 ? rc : CSIP_OK;
}

void
csip_reader_clear(csip_reader *r)
{
	if (r == NULL)
		return;
	g_free(r->sigs);
	memset(r, 0, sizeof *r);
}

int
csip_item_facts_load(csip_store *s, int64_t item_id, csip_item_facts *out)
{
	csip_stmt *st = NULL;
	char buf[24];
	int rc;

	memset(out, 0, sizeof *out);
	g_snprintf(buf, sizeof buf, "%" PRId64, item_id);
	rc = csip_store_prepare_bind(s, &st, "SELECT status, audience FROM "
		"item WHERE id = ?", buf, NULL);
	if (rc < 0)
		goto out;
	rc = csip_stmt_step(st);
	if (rc == CSIP_DONE) {
		rc = csip_error_set(CSIP_ENOTFOUND, "item %" PRId64
			" does not exist", item_id);
		goto out;
	}
	if (rc < 0)
		goto out;
	out->item_id = item_id;
	g_strlcpy(out->status, csip_stmt_text(st, 0), sizeof out->status);
	g_strlcpy(out->audience, csip_stmt_text(st, 1), sizeof out->audience);
	rc = load_ids(s, "SELECT sig_id FROM item_sig WHERE item_id = ?",
		      item_id, &out->sigs, &out->n_sigs);
	if (rc < 0)
		goto out;
	rc = load_ids(s, "SELECT DISTINCT r.org_id FROM item_source i JOIN "
		"report r ON r.id = i.report_id WHERE i.item_id = ?", item_id,
		&out->providers, &out->n_providers);
out:
	csip_stmt_free(st);
	if (rc < 0)
		csip_item_facts_clear(out);
	return rc < 0 ? rc : CSIP_OK;
}

/* One batch of csip_item_facts_load_many: N <= CSIP_FACTS_BATCH items. */
typedef struct facts_acc {
	GArray *sigs, *provs;
} facts_acc;

static int
facts_batch(csip_store *s, const int64_t *items, size_t n,
	    csip_item_facts *out)
{
	static const char *const sqls[3] = {
		"SELECT id, status, audience FROM item WHERE id IN (@IDS@)",
		"SELECT item_id, sig_id FROM item_sig WHERE item_id IN "
		"(@IDS@)",
		"SELECT DISTINCT i.item_id, r.org_id FROM item_source i JOIN "
		"report r ON r.id = i.report_id WHERE i.item_id IN (@IDS@)" };
	GHashTable *at = g_hash_table_new(g_int64_hash, g_int64_equal);
	facts_acc *acc = g_new0(facts_acc, n);
	csip_stmt *st = NULL;
	int rc = CSIP_OK, next;

	for (size_t i = 0; i < n; i++) {
		/* The first of duplicates collects; the rest copy below. */
		if (!g_hash_table_contains(at, &items[i]))
			g_hash_table_insert(at, (gpointer)&items[i],
					    GSIZE_TO_POINTER(i + 1));
		acc[i].sigs = g_array_new(FALSE, FALSE, sizeof(int64_t));
		acc[i].provs = g_array_new(FALSE, FALSE, sizeof(int64_t));
	}
	for (int q = 0; q < 3 && rc == CSIP_OK; q++) {
		rc = csip_store_prepare_ids(s, sqls[q], items, n, &next, &st);
		while (rc == CSIP_OK && (rc = csip_stmt_step(st)) == CSIP_ROW) {
			int64_t id = csip_stmt_int64(st, 0), v;
			size_t k = GPOINTER_TO_SIZE(g_hash_table_lookup(at,
								       &id));

			rc = CSIP_OK;
			if (k-- == 0)
				continue;
			if (q == 0) {
				out[k].item_id = id;
				g_strlcpy(out[k].status, csip_stmt_text(st, 1),
					  sizeof out[k].status);
				g_strlcpy(out[k].audience, csip_stmt_text(st,
					  2), sizeof out[k].audience);
				continue;
			}
			v = csip_stmt_int64(st, 1);
			g_array_append_val(q == 1 ? acc[k].sigs : acc[k].provs,
					   v);
		}
		if (rc == CSIP_DONE)
			rc = CSIP_OK;
		csip_stmt_free(st);
		st = NULL;
	}
	for (size_t i = 0; i < n; i++) {
		size_t k = GPOINTER_TO_SIZE(g_hash_table_lookup(at,
							       &items[i])) - 1;

		if (k != i) {
			/* A duplicate: its first (k < i) is complete. */
			out[i] = out[k];
			out[i].sigs = g_memdup2(out[k].sigs, out[k].n_sigs *
						sizeof(int64_t));
			out[i].providers = g_memdup2(out[k].providers,
				out[k].n_providers * sizeof(int64_t));
			g_array_free(acc[i].sigs, TRUE);
			g_array_free(acc[i].provs, TRUE);
			continue;
		}
		g_array_sort(acc[i].sigs, cmp_i64);
		g_array_sort(acc[i].provs, cmp_i64);
		out[i].n_sigs = acc[i].sigs->len;
		out[i].sigs = (int64_t *)(void *)g_array_free(acc[i].sigs,
							      FALSE);
		out[i].n_providers = acc[i].provs->len;
		out[i].providers = (int64_t *)(void *)g_array_free(
			acc[i].provs, FALSE);
	}
	g_hash_table_destroy(at);
	g_free(acc);
	return rc;
}

int
csip_item_facts_load_many(csip_store *s, const int64_t *items, size_t n,
			  csip_item_facts *out)
{
	int rc = CSIP_OK;

	memset(out, 0, n * sizeof *out);
	for (size_t i = 0; rc == CSIP_OK && i < n; i += CSIP_FACTS_BATCH)
		rc = facts_batch(s, items + i, MIN(n - i, CSIP_FACTS_BATCH),
				 out + i);
	if (rc < 0)
		for (size_t i = 0; i < n; i++)
			csip_item_facts_clear(&out[i]);
	return rc;
}

void
csip_item_facts_clear(csip_item_facts *f)
{
	if (f == NULL)
		return;
	g_free(f->sigs);
	g_free(f->providers);
	memset(f, 0, sizeof *f);
}

/* Statuses in which a provider has been shown the item for consent. */
static int
shown_to_provider(const char *status)
{
	return strcmp(status, "pending") == 0 ||
	       strcmp(status, "changes_requested") == 0 ||
	       strcmp(status, "approved") == 0 ||
	       strcmp(status, "published") == 0;
}

csip_access
csip_policy_recheck(const csip_reader *r, csip_access a, const char *status)
{
	if (r == NULL || status == NULL)
		return CSIP_ACCESS_NONE;
	switch (a) {
	case CSIP_ACCESS_HUB:
		return r->hub ? a : CSIP_ACCESS_NONE;
	case CSIP_ACCESS_PROVIDER:
		return shown_to_provider(status) ? a : CSIP_ACCESS_NONE;
	case CSIP_ACCESS_RECIPIENT:
		return strcmp(status, "published") == 0 ? a :
			CSIP_ACCESS_NONE;
	case CSIP_ACCESS_NONE:
		break;
	}
	return CSIP_ACCESS_NONE;
}

/* Whether the audience of F reaches R (not the hub), whatever F's
 * status: the recipients' rule alone. */
static int
in_audience(const csip_reader *r, const csip_item_facts *f)
{
	if (r->partner) {
		/* Partners sign no NDA with the hub: what reaches them is
		 * what the provider allowed to leave the community. */
		return strcmp(f->audience, "partners") == 0 ||
		       strcmp(f->audience, "public") == 0;
	}
	if (!r->nda)
		return 0;
	if (strcmp(f->audience, "community") == 0 ||
	    strcmp(f->audience, "partners") == 0 ||
	    strcmp(f->audience, "public") == 0)
		return 1;
	if (strcmp(f->audience, "sig") == 0)
		for (size_t i = 0; i < f->n_sigs; i++)
			if (has_id(r->sigs, r->n_sigs, f->sigs[i]))
				return 1;
	return 0;
}

csip_access
csip_policy_decide(const csip_reader *r, const csip_item_facts *f)
{
	if (r == NULL || f == NULL || r->org_id <= 0 || f->item_id <= 0)
		return CSIP_ACCESS_NONE;
	if (r->hub)
		return CSIP_ACCESS_HUB;
	if (has_id(f->providers, f->n_providers, r->org_id)) {
		if (!shown_to_provider(f->status))
			return CSIP_ACCESS_NONE;
		/* A provider reads the whole item: the other sources'
		 * indicators and the recipients' feedback too.  With another
		 * provider beside it, that is another organisation's data,
		 * so it reads only while the audience reaches it as well
		 * (csip_policy_check_audience refuses such items; this
		 * holds when a SIG or an NDA changes afterwards). */
		if (f->n_providers > 1 && !in_audience(r, f))
			return CSIP_ACCESS_NONE;
		return CSIP_ACCESS_PROVIDER;
	}
	if (strcmp(f->status, "published") != 0)
		return CSIP_ACCESS_NONE;
	return in_audience(r, f) ? CSIP_ACCESS_RECIPIENT : CSIP_ACCESS_NONE;
}

int
csip_policy_item_access(csip_store *s, const csip_reader *r, int64_t item_id,
			csip_access *out)
{
	csip_item_facts f;
	int rc;

	*out = CSIP_ACCESS_NONE;
	rc = csip_item_facts_load(s, item_id, &f);
	if (rc == CSIP_ENOTFOUND) {
		csip_error_clear();
		return CSIP_OK;
	}
	if (rc < 0)
		return rc;
	*out = csip_policy_decide(r, &f);
	csip_item_facts_clear(&f);
	return CSIP_OK;
}

int
csip_policy_items_access(csip_store *s, const csip_reader *r,
			 const int64_t *items, size_t n, csip_access *out)
{
	csip_item_facts *f = g_new0(csip_item_facts, MIN(n,
						 CSIP_FACTS_BATCH));
	int rc = CSIP_OK;

	for (size_t i = 0; i < n; i++)
		out[i] = CSIP_ACCESS_NONE;
	for (size_t i = 0; rc == CSIP_OK && i < n; i += CSIP_FACTS_BATCH) {
		size_t m = MIN(n - i, CSIP_FACTS_BATCH);

		if ((rc = csip_item_facts_load_many(s, items + i, m, f)) < 0)
			break;
		for (size_t k = 0; k < m; k++) {
			out[i + k] = csip_policy_decide(r, &f[k]);
			csip_item_facts_clear(&f[k]);
		}
	}
	g_free(f);
	return rc;
}

int
csip_policy_report_access(csip_store *s, const csip_reader *r,
			  int64_t report_id, csip_access *out)
{
	int64_t org = 0;
	char buf[24];
	int rc;

	*out = CSIP_ACCESS_NONE;
	if (r == NULL || r->org_id <= 0)
		return CSIP_OK;
	g_snprintf(buf, sizeof buf, "%" PRId64, report_id);
	rc = csip_store_query_int64(s, &org, "SELECT org_id FROM report "
		"WHERE id = ?", buf, NULL);
	if (rc == CSIP_ENOTFOUND) {
		csip_error_clear();
		return CSIP_OK;
	}
	if (rc < 0)
		return rc;
	if (r->hub)
		*out = CSIP_ACCESS_HUB;
	else if (org == r->org_id)
		*out = CSIP_ACCESS_PROVIDER;
	return CSIP_OK;
}

int
csip_policy_provider_visible(csip_store *s, const csip_reader *r,
			     int64_t provider_org, const char *attribution,
			     int *visible)
{
	int64_t *psigs = NULL;
	size_t n = 0;
	int rc = CSIP_OK;

	*visible = 0;
	if (r == NULL || r->org_id <= 0)
		goto out;
	if (r->hub || r->org_id == provider_org) {
		*visible = 1;
		goto out;
	}
	if (r->partner || !r->nda || attribution == NULL)
		goto out;
	if (strcmp(attribution, "community") == 0) {
		*visible = 1;
	} else if (strcmp(attribution, "sig") == 0) {
		rc = load_ids(s, "SELECT sig_id FROM org_sig WHERE org_id = ?",
			      provider_org, &psigs, &n);
		for (size_t i = 0; rc == CSIP_OK && i < n; i++)
			if (has_id(r->sigs, r->n_sigs, psigs[i]))
				*visible = 1;
	}
out:
	g_free(psigs);
	return rc;
}

/* Whether V[I] is among V[0..I). */
static int
seen_before(const int64_t *v, size_t i)
{
	for (size_t k = 0; k < i; k++)
		if (v[k] == v[i])
			return 1;
	return 0;
}

/* The second half of csip_policy_check_audience: with sources from more
 * than one organisation, the audience must reach every provider that is
 * not the hub, as csip_policy_decide() asks of a published item.  ORGS[i]
 * is the provider of REPORT_IDS[i]. */
static int
check_co_providers(csip_store *s, const char *audience,
		   const int64_t *sig_ids, size_t n_sigs,
		   const int64_t *report_ids, const int64_t *orgs,
		   size_t n_reports)
{
	csip_item_facts f = { .item_id = 1, .status = "published" };
	size_t n = 1;
	int rc = CSIP_OK;

	for (size_t i = 1; i < n_reports; i++)
		if (orgs[i] != orgs[0])
			n = 2;
	if (n < 2)
		return CSIP_OK;   /* one provider reads only its own */
	g_strlcpy(f.audience, audience, sizeof f.audience);
	f.sigs = (int64_t *)sig_ids;
	f.n_sigs = n_sigs;
	for (size_t i = 0; rc == CSIP_OK && i < n_reports; i++) {
		csip_reader r;

		if (seen_before(orgs, i))
			continue;   /* asked already, for an earlier report */
		if ((rc = csip_reader_load(s, orgs[i], &r)) < 0)
			break;
		if (!r.hub && !in_audience(&r, &f))
			rc = csip_error_set(CSIP_EPERM, "the audience \"%s\" "
				"does not reach the provider of report %"
				PRId64 ", and a provider reads the whole item, "
				"the other organisations' reports included: "
				"choose an audience that reaches every "
				"provider, or share report %" PRId64 " in an "
				"item of its own", audience, report_ids[i],
				report_ids[i]);
		csip_reader_clear(&r);
	}
	return rc;
}

int
csip_policy_check_audience(csip_store *s, const char *audience,
			   const int64_t *sig_ids, size_t n_sigs,
			   const int64_t *report_ids, size_t n_reports)
{
	int want = csip_policy_rank(audience);
	csip_stmt *st = NULL;
	int64_t *psigs = NULL, *orgs = NULL;
	size_t np = 0;
	int rc = CSIP_OK;

	if (want < 1)
		return csip_error_set(CSIP_EINVAL, "audience \"%s\": use sig, "
			"community, partners or public",
			audience ? audience : "");
	if (want == 1 && n_sigs == 0)
		return csip_error_set(CSIP_EINVAL, "audience sig names no SIG: "
			"give at least one");
	if (n_reports == 0)
		return csip_error_set(CSIP_EINVAL, "an item needs at least one "
			"source report");
	orgs = g_new(int64_t, n_reports);
	rc = csip_store_prepare(s, "SELECT permission, org_id FROM report "
				"WHERE id = ?", &st);
	for (size_t i = 0; rc == CSIP_OK && i < n_reports; i++) {
		const char *perm;
		int64_t org;

		csip_stmt_reset(st);
		if ((rc = csip_stmt_bind_int64(st, 1, report_ids[i])) < 0)
			break;
		rc = csip_stmt_step(st);
		if (rc == CSIP_DONE) {
			rc = csip_error_set(CSIP_ENOTFOUND, "report %" PRId64
				" does not exist", report_ids[i]);
			break;
		}
		if (rc < 0)
			break;
		rc = CSIP_OK;
		perm = csip_stmt_text(st, 0);
		org = orgs[i] = csip_stmt_int64(st, 1);
		if (csip_policy_rank(perm) < want) {
			rc = csip_error_set(CSIP_EPERM, "report %" PRId64 " may "
				"be shared only within \"%s\": the audience "
				"\"%s\" is wider; narrow the audience or ask "
				"its provider to widen the permission",
				report_ids[i], perm, audience);
			break;
		}
		if (want > 1 || csip_policy_rank(perm) > 1)
			continue;
		/* Shared at 'sig': only the provider's own SIGs. */
		g_clear_pointer(&psigs, g_free);
		rc = load_ids(s, "SELECT sig_id FROM org_sig WHERE org_id = ?",
			      org, &psigs, &np);
		for (size_t k = 0; rc == CSIP_OK && k < n_sigs; k++)
			if (!has_id(psigs, np, sig_ids[k]))
				rc = csip_error_set(CSIP_EPERM, "report %"
					PRId64 " may be shared only within its "
					"provider's SIGs: remove SIG %" PRId64
					" from the audience", report_ids[i],
					sig_ids[k]);
	}
	csip_stmt_free(st);
	g_free(psigs);
	if (rc == CSIP_OK)
		rc = check_co_providers(s, audience, sig_ids, n_sigs,
					report_ids, orgs, n_reports);
	g_free(orgs);
	return rc;
}

/* A sharing instance for the statistics (migration 8): the first time
 * ITEM reached ORG, kept when the item stops reaching it. */
static int
sharing_record(csip_store *s, const char *item, const char *org,
	       const char *now)
{
	return csip_store_run(s, NULL, "INSERT INTO sharing_instance "
		"(item_id, org_id, shared_at) VALUES (?, ?, ?) ON CONFLICT DO "
		"NOTHING", item, org, now, NULL);
}

static int
collect_org(csip_stmt *st, void *arr)
{
	return add_id_row(st, arr);
}

int
csip_policy_refresh_recipients(csip_store *s, int64_t item_id,
			       int64_t **added, size_t *n_added)
{
	GArray *orgs = g_array_new(FALSE, FALSE, sizeof(int64_t));
	GArray *fresh = g_array_new(FALSE, FALSE, sizeof(int64_t));
	int64_t *before = NULL;
	size_t n_before = 0;
	csip_item_facts f;
	char now[21], ibuf[24];
	int rc, have_facts = 0;

	if (added)
		*added = NULL;
	if (n_added)
		*n_added = 0;
	csip_store_now(now);
	g_snprintf(ibuf, sizeof ibuf, "%" PRId64, item_id);
	if ((rc = csip_store_begin(s)) < 0)
		goto out;
	if ((rc = csip_item_facts_load(s, item_id, &f)) < 0)
		goto fail;
	have_facts = 1;
	rc = load_ids(s, "SELECT org_id FROM item_recipient WHERE item_id = ?",
		      item_id, &before, &n_before);
	if (rc < 0)
		goto fail;
	rc = csip_store_each(s, collect_org, orgs, "SELECT id FROM org ORDER "
			     "BY id", NULL);
	if (rc < 0)
		goto fail;
	for (guint i = 0; i < orgs->len; i++) {
		int64_t org = g_array_index(orgs, int64_t, i);
		csip_reader r;
		csip_access a;
		char obuf[24];
		int chg = 0;

		if ((rc = csip_reader_load(s, org, &r)) < 0)
			goto fail;
		a = csip_policy_decide(&r, &f);
		csip_reader_clear(&r);
		g_snprintf(obuf, sizeof obuf, "%" PRId64, org);
		/* Sharing instances count the organisations an item went out
		 * to: not the hub, which reads everything, nor a provider,
		 * which reads its own items whatever the audience.  A row
		 * that stays keeps its shared_at. */
		if (a != CSIP_ACCESS_RECIPIENT ||
		    strcmp(f.status, "published") != 0) {
			rc = csip_store_run(s, NULL, "DELETE FROM "
				"item_recipient WHERE item_id = ? AND "
				"org_id = ?", ibuf, obuf, NULL);
			if (rc < 0)
				goto fail;
			continue;
		}
		rc = csip_store_run(s, &chg, "INSERT INTO item_recipient "
			"(item_id, org_id, shared_at) VALUES (?, ?, ?) ON "
			"CONFLICT DO NOTHING", ibuf, obuf, now, NULL);
		if (rc == CSIP_OK)
			rc = sharing_record(s, ibuf, obuf, now);
		if (rc < 0)
			goto fail;
		if (chg > 0 && !has_id(before, n_before, org))
			g_array_append_val(fresh, org);
	}
	if ((rc = csip_store_commit(s)) < 0)
		goto out;
	if (n_added)
		*n_added = fresh->len;
	if (added) {
		*added = (int64_t *)(void *)g_array_free(fresh, FALSE);
		fresh = NULL;
	}
	goto out;
fail:
	csip_store_rollback(s);
out:
	if (have_facts)
		csip_item_facts_clear(&f);
	g_free(before);
	g_array_free(orgs, TRUE);
	if (fresh)
		g_array_free(fresh, TRUE);
	return rc;
}

int
csip_policy_refresh_org(csip_store *s, int64_t org_id)
{
	GArray *items = g_array_new(FALSE, FALSE, sizeof(int64_t));
	csip_reader r;
	char now[21], obuf[24];
	int rc, have_reader = 0;

	csip_store_now(now);
	g_snprintf(obuf, sizeof obuf, "%" PRId64, org_id);
	if ((rc = csip_store_begin(s)) < 0)
		goto out;
	if ((rc = csip_reader_load(s, org_id, &r)) < 0)
		goto fail;
	have_reader = 1;
	rc = csip_store_each(s, collect_org, items, "SELECT id FROM item "
		"WHERE status = 'published' ORDER BY id", NULL);
	if (rc < 0)
		goto fail;
	for (guint i = 0; i < items->len; i++) {
		int64_t item = g_array_index(items, int64_t, i);
		csip_item_facts f;
		csip_access a;
		char ibuf[24];

		if ((rc = csip_item_facts_load(s, item, &f)) < 0)
			goto fail;
		a = csip_policy_decide(&r, &f);
		csip_item_facts_clear(&f);
		g_snprintf(ibuf, sizeof ibuf, "%" PRId64, item);
		if (a != CSIP_ACCESS_RECIPIENT)
			rc = csip_store_run(s, NULL, "DELETE FROM "
				"item_recipient WHERE item_id = ? AND "
				"org_id = ?", ibuf, obuf, NULL);
		else
		{
			rc = csip_store_run(s, NULL, "INSERT INTO "
				"item_recipient (item_id, org_id, shared_at) "
				"VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
				ibuf, obuf, now, NULL);
			if (rc == CSIP_OK)
				rc = sharing_record(s, ibuf, obuf, now);
		}
		if (rc < 0)
			goto fail;
	}
	rc = csip_store_commit(s);
	goto out;
fail:
	csip_store_rollback(s);
out:
	if (have_reader)
		csip_reader_clear(&r);
	g_array_free(items, TRUE);
	return rc;
}

csip_stats_scope
csip_policy_stats_scope(const csip_reader *r)
{
	/* As in csip_policy_decide(): a reader without an organisation is
	 * nobody, whatever its flags say. */
	if (r == NULL || r->org_id <= 0)
		return CSIP_STATS_NONE;
	if (r->hub)
		return CSIP_STATS_ALL;
	if (!r->partner && r->nda)
		return CSIP_STATS_COMMUNITY;
	return CSIP_STATS_OWN;
}

int
csip_policy_stats_count(csip_stats_scope scope, int64_t count,
			int64_t n_providers)
{
	if (scope == CSIP_STATS_ALL || count == 0)
		return 1;
	if (scope != CSIP_STATS_COMMUNITY)
		return 0;
	return n_providers >= CSIP_POLICY_STATS_MIN_PROVIDERS;
}

int
csip_policy_stats_total(csip_stats_scope scope, int64_t count,
			int64_t n_providers, int64_t hidden,
			int64_t hidden_providers)
{
	return csip_policy_stats_count(scope, count, n_providers) &&
	       csip_policy_stats_count(scope, hidden, hidden_providers);
}

/* Add to ORGS (int64 ids, owned) the providers of the N items ITEMS,
 * which R may read, that R may also know by name: a source whose
 * attribution hides its provider from R is not counted, since telling
 * whether two such sources are one organisation would name a hidden
 * provider through an item that names it.  NAMED memoizes the answers per
 * provider and attribution. */
static int
count_named_providers(csip_store *s, const csip_reader *r,
		      const int64_t *items, size_t n, GHashTable *orgs,
		      GHashTable *named)
{
	csip_stmt *st = NULL;
	int rc, next;

	if (n == 0)
		return CSIP_OK;
	rc = csip_store_prepare_ids(s, "SELECT DISTINCT p.org_id, "
		"p.attribution FROM item_source i JOIN report p ON p.id = "
		"i.report_id WHERE i.item_id IN (@IDS@)", items, n, &next, &st);
	while (rc == CSIP_OK && (rc = csip_stmt_step(st)) == CSIP_ROW) {
		int64_t org = csip_stmt_int64(st, 0);
		const char *attr = csip_stmt_text(st, 1);
		char *key;
		gpointer got;
		int vis = 0;

		rc = CSIP_OK;
		if (org == r->org_id || g_hash_table_contains(orgs, &org))
			continue;
		key = g_strdup_printf("%" PRId64 "/%s", org, attr ? attr : "");
		if (g_hash_table_lookup_extended(named, key, NULL, &got)) {
			vis = GPOINTER_TO_INT(got);
			g_free(key);
		} else if ((rc = csip_policy_provider_visible(s, r, org, attr,
							      &vis)) < 0) {
			g_free(key);
			break;
		} else {
			g_hash_table_insert(named, key, GINT_TO_POINTER(vis));
		}
		if (vis)
			g_hash_table_add(orgs, g_memdup2(&org, sizeof org));
	}
	if (rc == CSIP_DONE)
		rc = CSIP_OK;
	csip_stmt_free(st);
	return rc;
}

int
csip_policy_related_orgs(csip_store *s, const csip_reader *r,
			 int64_t item_id, int64_t *count, int *shown)
{
	GHashTable *orgs = g_hash_table_new_full(g_int64_hash, g_int64_equal,
						 g_free, NULL);
	GHashTable *named = g_hash_table_new_full(g_str_hash, g_str_equal,
						  g_free, NULL);
	int64_t *items = NULL, *readable = NULL;
	size_t n_items = 0, n_readable = 0;
	csip_item_facts *facts = NULL;
	csip_access a;
	char ib[24];
	int rc;

	*count = 0;
	*shown = 0;
	g_snprintf(ib, sizeof ib, "%" PRId64, item_id);
	if ((rc = csip_policy_item_access(s, r, item_id, &a)) < 0 ||
	    a == CSIP_ACCESS_NONE)
		goto out;
	if (a == CSIP_ACCESS_HUB) {
		rc = csip_store_query_int64(s, count, "SELECT COUNT(DISTINCT "
			"p.org_id) FROM item_indicator i JOIN observation o ON "
			"o.type = i.type AND o.value = i.value JOIN report p ON "
			"p.id = o.report_id WHERE i.item_id = ?", ib, NULL);
		*shown = rc == CSIP_OK;
		goto out;
	}
	/* Every item sharing an indicator, each through the decision: a
	 * popular value may be carried by thousands, so their facts come
	 * in batches. */
	rc = load_ids(s, "SELECT DISTINCT b.item_id FROM item_indicator a JOIN "
		"item_indicator b ON b.type = a.type AND b.value = a.value WHERE "
		"a.item_id = ?", item_id, &items, &n_items);
	facts = g_new0(csip_item_facts, MIN(n_items, CSIP_FACTS_BATCH));
	readable = g_new(int64_t, MIN(n_items, CSIP_FACTS_BATCH));
	for (size_t i = 0; rc == CSIP_OK && i < n_items;
	     i += CSIP_FACTS_BATCH) {
		size_t m = MIN(n_items - i, CSIP_FACTS_BATCH);

		if ((rc = csip_item_facts_load_many(s, items + i, m,
						    facts)) < 0)
			break;
		for (size_t j = 0; j < m; j++) {
			if (csip_policy_decide(r, &facts[j]) !=
			    CSIP_ACCESS_NONE)
				readable[n_readable++] = facts[j].item_id;
			csip_item_facts_clear(&facts[j]);
		}
		rc = count_named_providers(s, r, readable, n_readable, orgs,
					   named);
		n_readable = 0;
	}
	if (rc < 0)
		goto out;
	*count = g_hash_table_size(orgs);
	*shown = *count >= CSIP_POLICY_RELATED_MIN_ORGS;
	if (!*shown)
		*count = 0;
out:
	g_hash_table_destroy(orgs);
	g_hash_table_destroy(named);
	g_free(items);
	g_free(facts);
	g_free(readable);
	return rc;
}
