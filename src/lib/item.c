/*
 * item.c - shared items: their life from draft to publication, the
 * providers' consent, the leak check, and the views each reader gets (see
 * item.h).
 *
 * Who may read an item is never decided here: every read asks
 * csip_policy_item_access()/csip_policy_decide(), and the provider's name
 * goes out only when csip_policy_provider_visible() says so.  This file
 * only decides what the hub may *write*: the leak check before submission
 * and publication refuses an item that would name a source's provider, its
 * domains, its internal networks or anything the anonymiser removed.
 */
#include "lib/item.h"
#include "lib/audit.h"
#include "lib/feedback.h"
#include "lib/indicator.h"
#include "lib/notify.h"
#include "lib/stix.h"
#include "util/error.h"
#include "util/timefmt.h"

#include <arpa/inet.h>
#include <glib.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Size caps: an item is read by people and sent in notifications. */
#define TITLE_MAX     300
#define ANALYSIS_MAX  (64 * 1024)
#define ATTACK_MAX    100
#define TAG_MAX       64
#define TAGS_MAX      50
#define ROLE_MAX      64
#define SOURCES_MAX   100
#define SIGS_MAX      100
#define INDS_MAX      10000
#define LIST_MAX      1000
#define LIST_DEFAULT  100

static const char *const tlps[] = { "clear", "green", "amber",
	"amber+strict", "red", NULL };
static const char *const audiences[] = { "sig", "community", "partners",
	"public", NULL };
static const char *const severities[] = { "low", "medium", "high",
	"critical", NULL };
static const char *const statuses[] = { "draft", "pending",
	"changes_requested", "approved", "published", "withdrawn", NULL };

static int
one_of(const char *v, const char *const *set)
{
	for (; v && *set; set++)
		if (strcmp(v, *set) == 0)
			return 1;
	return 0;
}

static void
i64s(char buf[24], int64_t v)
{
	g_snprintf(buf, 24, "%" PRId64, v);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int
add_i64_row(csip_stmt *st, void *arr)
{
	int64_t v = csip_stmt_int64(st, 0);

	g_array_append_val((GArray *)arr, v);
	return CSIP_OK;
}

/* The first column of a query with one id parameter, as int64s. */
static int
ids_of(csip_store *s, const char *sql, int64_t id, GArray **out)
{
	char buf[24];
	int rc;

	*out = g_array_new(FALSE, FALSE, sizeof(int64_t));
	i64s(buf, id);
	rc = csip_store_each(s, add_i64_row, *out, sql, buf, NULL);
	if (rc < 0)
		g_clear_pointer(out, g_array_unref);
	return rc;
}

static int
check_text(const char *field, const char *v, size_t max, int required)
{
	if (v == NULL || *v == '\0') {
		if (required)
			return csip_error_set(CSIP_EINVAL, "%s is required: "
				"give a non-empty %s", field, field);
		return CSIP_OK;
	}
	if (!g_utf8_validate(v, -1, NULL))
		return csip_error_set(CSIP_EINVAL, "%s is not valid UTF-8: "
			"send it as UTF-8", field);
	if (strlen(v) > max)
		return csip_error_set(CSIP_ETOOBIG, "%s is %zu bytes: shorten "
			"it to at most %zu", field, strlen(v), max);
	return CSIP_OK;
}

/* ---- validation ------------------------------------------------------ */

/* A spec after validation: canonical, deduplicated, with ids resolved.
 * A NULL member means "not given". */
typedef struct vspec {
	GArray *sigs;          /* int64 SIG ids, sorted */
	GArray *reports;       /* int64 report ids, sorted, unique */
	char *tags;            /* JSON text */
	GPtrArray *ind_type;   /* parallel: canonical type, value, role */
	GPtrArray *ind_value;
	GPtrArray *ind_role;   /* "" for none */
} vspec;

static void
vspec_clear(vspec *v)
{
	if (v->sigs)
		g_array_unref(v->sigs);
	if (v->reports)
		g_array_unref(v->reports);
	g_free(v->tags);
	if (v->ind_type)
		g_ptr_array_unref(v->ind_type);
	if (v->ind_value)
		g_ptr_array_unref(v->ind_value);
	if (v->ind_role)
		g_ptr_array_unref(v->ind_role);
	memset(v, 0, sizeof *v);
}

static void
ind_arrays(vspec *v)
{
	v->ind_type = g_ptr_array_new_with_free_func(g_free);
	v->ind_value = g_ptr_array_new_with_free_func(g_free);
	v->ind_role = g_ptr_array_new_with_free_func(g_free);
}

/* Add an indicator unless the same (type, value) is there already. */
static void
ind_push(vspec *v, GHashTable *seen, const char *type, const char *value,
	 const char *role)
{
	char *key = g_strconcat(type, "\t", value, NULL);

	if (g_hash_table_contains(seen, key)) {
		g_free(key);
		return;
	}
	g_hash_table_add(seen, key);
	g_ptr_array_add(v->ind_type, g_strdup(type));
	g_ptr_array_add(v->ind_value, g_strdup(value));
	g_ptr_array_add(v->ind_role, g_strdup(role ? role : ""));
}

static int
check_indicators(const csip_item_ind *inds, size_t n, vspec *v)
{
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, NULL);
	int rc = CSIP_OK;

	if (n > INDS_MAX) {
		rc = csip_error_set(CSIP_ETOOBIG, "%zu indicators: an item "
			"carries at most %d; split it", n, INDS_MAX);
		goto out;
	}
	if (n > 0 && inds == NULL) {
		rc = csip_error_set(CSIP_EINVAL, "n_indicators is %zu but no "
			"indicators were given", n);
		goto out;
	}
	ind_arrays(v);
	for (size_t i = 0; i < n; i++) {
		csip_ind_type hint = CSIP_IND_UNKNOWN;
		csip_indicator *ind = NULL;

		if (inds[i].type && *inds[i].type) {
			hint = csip_ind_type_from_name(inds[i].type);
			if (hint == CSIP_IND_UNKNOWN) {
				rc = csip_error_set(CSIP_EINVAL, "indicator "
					"%zu: type \"%s\" is unknown; use "
					"domain, hostname, url, email, ipv4, "
					"ipv6, md5, sha1, sha256, ...", i,
					inds[i].type);
				goto out;
			}
		}
		if (inds[i].value == NULL || *inds[i].value == '\0') {
			rc = csip_error_set(CSIP_EINVAL, "indicator %zu has no "
				"value: give one", i);
			goto out;
		}
		if ((rc = check_text("indicator role", inds[i].role, ROLE_MAX,
				     0)) < 0)
			goto out;
		rc = csip_indicator_parse(inds[i].value, strlen(inds[i].value),
					  hint, &ind);
		if (rc < 0) {
			csip_error_prefix(rc, "indicator %zu: ", i);
			goto out;
		}
		ind_push(v, seen, csip_ind_type_name(ind->type), ind->value,
			 inds[i].role);
		csip_indicator_free(ind);
	}
out:
	g_hash_table_unref(seen);
	return rc;
}

/* Validate everything in SP that does not depend on the stored item. */
static int
check_spec(csip_store *s, const csip_item_spec *sp, int create, vspec *v)
{
	int rc;

	memset(v, 0, sizeof *v);
	if ((rc = check_text("title", sp->title, TITLE_MAX, create)) < 0 ||
	    (rc = check_text("analysis", sp->analysis, ANALYSIS_MAX, 0)) < 0 ||
	    (rc = check_text("attack_type", sp->attack_type, ATTACK_MAX,
			     0)) < 0)
		return rc;
	if (!create && sp->title && *sp->title == '\0')
		return csip_error_set(CSIP_EINVAL, "title must not be empty: "
			"give a title or leave it unchanged");
	if (sp->tlp && !one_of(sp->tlp, tlps))
		return csip_error_set(CSIP_EINVAL, "tlp \"%s\": use clear, "
			"green, amber, amber+strict or red", sp->tlp);
	if (create && sp->audience == NULL)
		return csip_error_set(CSIP_EINVAL, "audience is required: give "
			"sig, community, partners or public");
	if (sp->audience && !one_of(sp->audience, audiences))
		return csip_error_set(CSIP_EINVAL, "audience \"%s\": use sig, "
			"community, partners or public", sp->audience);
	/* "" clears the severity on update. */
	if (sp->severity && *sp->severity && !one_of(sp->severity, severities))
		return csip_error_set(CSIP_EINVAL, "severity \"%s\": use low, "
			"medium, high or critical", sp->severity);
	if (sp->tags) {
		json_t *arr = json_array();
		size_t n = 0;

		for (char **t = sp->tags; *t; t++, n++) {
			int dup = 0;

			if (n >= TAGS_MAX) {
				json_decref(arr);
				return csip_error_set(CSIP_ETOOBIG, "more than "
					"%d tags: keep the most useful",
					TAGS_MAX);
			}
			if ((rc = check_text("tag", *t, TAG_MAX, 1)) < 0) {
				json_decref(arr);
				return rc;
			}
			for (size_t k = 0; k < json_array_size(arr); k++)
				if (strcmp(json_string_value(json_array_get(
					arr, k)), *t) == 0)
					dup = 1;
			if (!dup)
				json_array_append_new(arr, json_string(*t));
		}
		v->tags = json_dumps(arr, JSON_COMPACT);
		json_decref(arr);
	}
	if (sp->sigs) {
		csip_stmt *st = NULL;
		size_t n = 0;

		v->sigs = g_array_new(FALSE, FALSE, sizeof(int64_t));
		if ((rc = csip_store_prepare(s, "SELECT id FROM sig WHERE code "
					     "= ?", &st)) < 0)
			return rc;
		for (char **c = sp->sigs; rc == CSIP_OK && *c; c++, n++) {
			int64_t id;

			if (n >= SIGS_MAX) {
				rc = csip_error_set(CSIP_ETOOBIG, "more than "
					"%d "
					"SIGs: use audience community instead",
					SIGS_MAX);
				break;
			}
			csip_stmt_reset(st);
			if ((rc = csip_stmt_bind_text(st, 1, *c)) < 0)
				break;
			rc = csip_stmt_step(st);
			if (rc == CSIP_DONE) {
				rc = csip_error_set(CSIP_ENOTFOUND, "SIG %s "
					"does "
					"not exist; see `csip sig list`", *c);
				break;
			}
			if (rc < 0)
				break;
			rc = CSIP_OK;
			id = csip_stmt_int64(st, 0);
			if (v->sigs->len == 0 || bsearch(&id, v->sigs->data,
			    v->sigs->len, sizeof id, cmp_i64) == NULL) {
				g_array_append_val(v->sigs, id);
				g_array_sort(v->sigs, cmp_i64);
			}
		}
		csip_stmt_free(st);
		if (rc < 0)
			return rc;
	}
	if (sp->n_reports > 0 || create) {
		if (sp->n_reports == 0 || sp->report_ids == NULL)
			return csip_error_set(CSIP_EINVAL, "an item needs at "
				"least one source report: give report_ids");
		if (sp->n_reports > SOURCES_MAX)
			return csip_error_set(CSIP_ETOOBIG, "%zu source "
				"reports:"
				" an item has at most %d", sp->n_reports,
				SOURCES_MAX);
		v->reports = g_array_new(FALSE, FALSE, sizeof(int64_t));
		g_array_append_vals(v->reports, sp->report_ids, sp->n_reports);
		g_array_sort(v->reports, cmp_i64);
		for (guint i = 1; i < v->reports->len; )
			if (g_array_index(v->reports, int64_t, i) ==
			    g_array_index(v->reports, int64_t, i - 1))
				g_array_remove_index(v->reports, i);
			else
				i++;
	}
	if ((create && sp->indicators) || (!create && sp->set_indicators))
		if ((rc = check_indicators(sp->indicators, sp->n_indicators,
					   v)) < 0)
			return rc;
	return CSIP_OK;
}

/* The audience after a change, with its SIGs, checked against the
 * sources.  AUDIENCE is the resulting audience; SIGS the resulting SIG ids
 * (v->sigs when given, else CUR_SIGS). */
static int
check_scope(csip_store *s, const char *audience, const vspec *v,
	    GArray *cur_sigs, GArray *reports)
{
	GArray *sigs = v->sigs ? v->sigs : cur_sigs;
	int is_sig = strcmp(audience, "sig") == 0;

	if (!is_sig && v->sigs && v->sigs->len > 0)
		return csip_error_set(CSIP_EINVAL, "sigs apply only to "
			"audience "
			"sig, not \"%s\": drop the SIGs or choose audience sig",
			audience);
	if (is_sig && (sigs == NULL || sigs->len == 0))
		return csip_error_set(CSIP_EINVAL, "audience sig names no SIG: "
			"give at least one in sigs");
	return csip_policy_check_audience(s, audience,
		is_sig ? (const int64_t *)(void *)sigs->data : NULL,
		is_sig ? sigs->len : 0,
		(const int64_t *)(void *)reports->data, reports->len);
}

/* ---- writes ---------------------------------------------------------- */

static int
insert_ids(csip_store *s, const char *sql, int64_t item, GArray *ids)
{
	char ib[24], vb[24];
	int rc = CSIP_OK;

	i64s(ib, item);
	for (guint i = 0; rc == CSIP_OK && i < ids->len; i++) {
		i64s(vb, g_array_index(ids, int64_t, i));
		rc = csip_store_run(s, NULL, sql, ib, vb, NULL);
	}
	return rc;
}

static int
insert_indicators(csip_store *s, int64_t item, const vspec *v)
{
	char ib[24];
	int rc = CSIP_OK;

	i64s(ib, item);
	for (guint i = 0; rc == CSIP_OK && i < v->ind_type->len; i++) {
		const char *role = v->ind_role->pdata[i];

		rc = csip_store_run(s, NULL, "INSERT INTO item_indicator "
			"(item_id, type, value, role) VALUES (?, ?, ?, ?)", ib,
			(const char *)v->ind_type->pdata[i],
			(const char *)v->ind_value->pdata[i],
			*role ? role : CSIP_SQL_NULL, NULL);
	}
	return rc;
}

/* A short role from where extraction found an observation; NULL when
 * the place says nothing a recipient needs (it may name an attachment). */
static const char *
role_of(const char *found_in)
{
	if (found_in == NULL)
		return NULL;
	if (g_str_has_prefix(found_in, "header:from") ||
	    g_str_has_prefix(found_in, "header:reply-to") ||
	    g_str_has_prefix(found_in, "header:return-path") ||
	    g_str_has_prefix(found_in, "header:sender"))
		return "sender";
	if (g_str_has_prefix(found_in, "header:received") ||
	    strstr(found_in, "originating-ip"))
		return "relay";
	if (g_str_has_prefix(found_in, "header:subject"))
		return "subject";
	if (g_str_has_prefix(found_in, "header:x-mailer") ||
	    g_str_has_prefix(found_in, "header:user-agent"))
		return "mailer";
	if (strstr(found_in, "html-href") || strstr(found_in, "html-src"))
		return "link";
	if (g_str_has_prefix(found_in, "attachment"))
		return "attachment";
	return NULL;
}

typedef struct default_ctx {
	vspec *v;
	GHashTable *seen;
} default_ctx;

static int
default_row(csip_stmt *st, void *ud)
{
	default_ctx *c = ud;

	ind_push(c->v, c->seen, csip_stmt_text(st, 0), csip_stmt_text(st, 1),
		 role_of(csip_stmt_text(st, 2)));
	return CSIP_OK;
}

/* The observations of the sources the analyst marked shareable, or left
 * unmarked in a report whose anonymisation succeeded. */
static int
default_indicators(csip_store *s, vspec *v)
{
	default_ctx c = { v, g_hash_table_new_full(g_str_hash, g_str_equal,
						   g_free, NULL) };
	int rc = CSIP_OK;

	ind_arrays(v);
	for (guint i = 0; rc == CSIP_OK && i < v->reports->len; i++) {
		char rb[24];

		i64s(rb, g_array_index(v->reports, int64_t, i));
		rc = csip_store_each(s, default_row, &c, "SELECT o.type, "
			"o.value, o.found_in FROM observation o JOIN report r "
			"ON r.id = o.report_id WHERE o.report_id = ? AND "
			"(o.shareable = 1 OR (o.shareable IS NULL AND "
			"r.shareable = 1)) ORDER BY o.type, o.value", rb, NULL);
	}
	g_hash_table_unref(c.seen);
	return rc;
}

static json_t *
ids_json(GArray *ids)
{
	json_t *a = json_array();

	for (guint i = 0; ids && i < ids->len; i++)
		json_array_append_new(a, json_integer(g_array_index(ids,
			int64_t, i)));
	return a;
}

static char *
target_of(int64_t id)
{
	return g_strdup_printf("item:%" PRId64, id);
}

/* Finish a write: commit on success, roll back on failure. */
static int
finish(csip_store *s, int rc)
{
	if (rc < 0) {
		csip_store_rollback(s);
		return rc;
	}
	return csip_store_commit(s);
}

int
csip_item_create(csip_hub *h, const char *actor, const csip_item_spec *spec,
		 int64_t *id)
{
	csip_store *s = csip_hub_store(h);
	vspec v;
	char now[21], ib[24], *target = NULL;
	int rc;

	*id = 0;
	if ((rc = check_spec(s, spec, 1, &v)) < 0)
		goto out;
	if ((rc = csip_store_begin(s)) < 0)
		goto out;
	if ((rc = check_scope(s, spec->audience, &v, NULL, v.reports)) < 0)
		goto done;
	if (v.ind_type == NULL && (rc = default_indicators(s, &v)) < 0)
		goto done;
	csip_store_now(now);
	rc = csip_store_query_int64(s, id, "INSERT INTO item (title, analysis,"
		" tlp, audience, attack_type, severity, tags, status, revision,"
		" created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?,"
		" ?, 'draft', 1, ?, ?, ?) RETURNING id", spec->title,
		spec->analysis ? spec->analysis : "",
		spec->tlp ? spec->tlp : "amber", spec->audience,
		spec->attack_type && *spec->attack_type ? spec->attack_type
			: CSIP_SQL_NULL,
		spec->severity && *spec->severity ? spec->severity
			: CSIP_SQL_NULL,
		v.tags ? v.tags : "[]", actor, now, now, NULL);
	if (rc < 0)
		goto done;
	i64s(ib, *id);
	if (strcmp(spec->audience, "sig") == 0 &&
	    (rc = insert_ids(s, "INSERT INTO item_sig (item_id, sig_id) VALUES "
			     "(?, ?)", *id, v.sigs)) < 0)
		goto done;
	if ((rc = insert_ids(s, "INSERT INTO item_source (item_id, report_id) "
			     "VALUES (?, ?)", *id, v.reports)) < 0 ||
	    (rc = insert_indicators(s, *id, &v)) < 0)
		goto done;
	target = target_of(*id);
	rc = csip_audit_append(h, actor, "item.create", target, json_pack(
		"{ss ss so sI}", "title", spec->title, "audience",
		spec->audience, "sources", ids_json(v.reports), "indicators",
		(json_int_t)v.ind_type->len));
done:
	rc = finish(s, rc);
	if (rc < 0)
		*id = 0;
out:
	vspec_clear(&v);
	g_free(target);
	return rc;
}

/* Status and revision of an item; CSIP_ENOTFOUND with the usual message. */
static int
load_state(csip_store *s, int64_t id, char status[20], int64_t *revision,
	   char audience[12])
{
	csip_stmt *st = NULL;
	char ib[24];
	int rc;

	i64s(ib, id);
	rc = csip_store_prepare_bind(s, &st, "SELECT status, revision, "
		"audience FROM item WHERE id = ?", ib, NULL);
	if (rc < 0)
		goto out;
	rc = csip_stmt_step(st);
	if (rc == CSIP_DONE) {
		rc = csip_error_set(CSIP_ENOTFOUND, "item %" PRId64 " does not "
			"exist", id);
		goto out;
	}
	if (rc < 0)
		goto out;
	rc = CSIP_OK;
	g_strlcpy(status, csip_stmt_text(st, 0), 20);
	if (revision)
		*revision = csip_stmt_int64(st, 1);
	if (audience)
		g_strlcpy(audience, csip_stmt_text(st, 2), 12);
out:
	csip_stmt_free(st);
	return rc;
}

int
csip_item_update(csip_hub *h, const char *actor, int64_t id,
		 const csip_item_spec *c)
{
	csip_store *s = csip_hub_store(h);
	GArray *cur_sigs = NULL, *cur_reports = NULL;
	json_t *fields = NULL;
	vspec v;
	char now[21], ib[24], status[20], audience[12], *target = NULL;
	const char *aud;
	int64_t rev = 0;
	int rc;

	if ((rc = check_spec(s, c, 0, &v)) < 0)
		goto out;
	if (!c->title && !c->analysis && !c->tlp && !c->audience && !c->sigs &&
	    !c->attack_type && !c->severity && !c->tags && c->n_reports == 0 &&
	    !c->set_indicators) {
		rc = csip_error_set(CSIP_EINVAL, "nothing to change for item %"
			PRId64 ": give at least one field", id);
		goto out;
	}
	if ((rc = csip_store_begin(s)) < 0)
		goto out;
	if ((rc = load_state(s, id, status, &rev, audience)) < 0)
		goto done;
	if (strcmp(status, "published") == 0 ||
	    strcmp(status, "withdrawn") == 0) {
		rc = csip_error_set(CSIP_EBUSY, "item %" PRId64 " is %s and "
			"can "
			"no longer change; make a new item instead", id,
			status);
		goto done;
	}
	aud = c->audience ? c->audience : audience;
	if ((rc = ids_of(s, "SELECT sig_id FROM item_sig WHERE item_id = ? "
			 "ORDER BY sig_id", id, &cur_sigs)) < 0 ||
	    (rc = ids_of(s, "SELECT report_id FROM item_source WHERE item_id "
			 "= ? ORDER BY report_id", id, &cur_reports)) < 0)
		goto done;
	/* SIGs kept from before only while the audience stays 'sig'. */
	if (strcmp(aud, "sig") != 0)
		g_array_set_size(cur_sigs, 0);
	if ((rc = check_scope(s, aud, &v, cur_sigs,
			      v.reports ? v.reports : cur_reports)) < 0)
		goto done;
	csip_store_now(now);
	i64s(ib, id);
	rc = csip_store_run(s, NULL, "UPDATE item SET title = COALESCE(?, "
		"title), analysis = COALESCE(?, analysis), tlp = COALESCE(?, "
		"tlp), audience = ?, attack_type = NULLIF(COALESCE(?, "
		"attack_type), ''), severity = NULLIF(COALESCE(?, severity), "
		"''), tags = COALESCE(?, tags), revision = revision + 1, "
		"status = 'draft', updated_at = ? WHERE id = ?",
		c->title ? c->title : CSIP_SQL_NULL,
		c->analysis ? c->analysis : CSIP_SQL_NULL,
		c->tlp ? c->tlp : CSIP_SQL_NULL, aud,
		c->attack_type ? c->attack_type : CSIP_SQL_NULL,
		c->severity ? c->severity : CSIP_SQL_NULL,
		v.tags ? v.tags : CSIP_SQL_NULL, now, ib, NULL);
	if (rc < 0)
		goto done;
	/* Consent is for one revision: every approval starts again. */
	if ((rc = csip_store_run(s, NULL, "DELETE FROM item_approval WHERE "
				 "item_id = ?", ib, NULL)) < 0)
		goto done;
	if (c->audience || v.sigs) {
		if ((rc = csip_store_run(s, NULL, "DELETE FROM item_sig WHERE "
					 "item_id = ?", ib, NULL)) < 0)
			goto done;
		if (strcmp(aud, "sig") == 0 &&
		    (rc = insert_ids(s, "INSERT INTO item_sig (item_id, "
				     "sig_id) VALUES (?, ?)", id,
				     v.sigs ? v.sigs : cur_sigs)) < 0)
			goto done;
	}
	if (v.reports &&
	    ((rc = csip_store_run(s, NULL, "DELETE FROM item_source WHERE "
				  "item_id = ?", ib, NULL)) < 0 ||
	     (rc = insert_ids(s, "INSERT INTO item_source (item_id, report_id)"
			      " VALUES (?, ?)", id, v.reports)) < 0))
		goto done;
	if (v.ind_type &&
	    ((rc = csip_store_run(s, NULL, "DELETE FROM item_indicator WHERE "
				  "item_id = ?", ib, NULL)) < 0 ||
	     (rc = insert_indicators(s, id, &v)) < 0))
		goto done;
	fields = json_array();
#define FIELD(cond, name) if (cond) json_array_append_new(fields, \
	json_string(name))
	FIELD(c->title, "title");
	FIELD(c->analysis, "analysis");
	FIELD(c->tlp, "tlp");
	FIELD(c->audience, "audience");
	FIELD(c->sigs, "sigs");
	FIELD(c->attack_type, "attack_type");
	FIELD(c->severity, "severity");
	FIELD(c->tags, "tags");
	FIELD(v.reports, "sources");
	FIELD(v.ind_type, "indicators");
#undef FIELD
	target = target_of(id);
	rc = csip_audit_append(h, actor, "item.update", target, json_pack(
		"{sI so}", "revision", (json_int_t)(rev + 1), "fields",
		fields));
	fields = NULL;
done:
	rc = finish(s, rc);
out:
	json_decref(fields);
	if (cur_sigs)
		g_array_unref(cur_sigs);
	if (cur_reports)
		g_array_unref(cur_reports);
	vspec_clear(&v);
	g_free(target);
	return rc;
}

/* ---- the leak check -------------------------------------------------- */

/* One place of an item that recipients will read. */
typedef struct spot {
	char *where;     /* "title", "tags[1]", "indicator domain x.example" */
	char *folded;    /* its text, case-folded */
	char *raw;
} spot;

static void
spot_free(gpointer p)
{
	spot *sp = p;

	g_free(sp->where);
	g_free(sp->folded);
	g_free(sp->raw);
	g_free(sp);
}

static void
spot_add(GPtrArray *spots, char *where, const char *text)
{
	spot *sp;

	if (text == NULL || *text == '\0' || !g_utf8_validate(text, -1, NULL)) {
		g_free(where);
		return;
	}
	sp = g_new0(spot, 1);
	sp->where = where;
	sp->raw = g_strdup(text);
	sp->folded = g_utf8_casefold(text, -1);
	g_ptr_array_add(spots, sp);
}

static int
spot_ind_row(csip_stmt *st, void *ud)
{
	const char *type = csip_stmt_text(st, 0), *value = csip_stmt_text(st,
		1), *role = csip_stmt_text(st, 2);

	spot_add(ud, g_strdup_printf("indicator %s %s", type, value), value);
	if (role)
		spot_add(ud, g_strdup_printf("the role of indicator %s %s",
					     type, value), role);
	return CSIP_OK;
}

/* Everything of item ID that a recipient would read. */
static int
load_spots(csip_store *s, int64_t id, GPtrArray *spots)
{
	csip_stmt *st = NULL;
	json_t *tags = NULL;
	char ib[24];
	int rc;

	i64s(ib, id);
	rc = csip_store_prepare_bind(s, &st, "SELECT title, analysis, "
		"attack_type, tags FROM item WHERE id = ?", ib, NULL);
	if (rc < 0)
		goto out;
	if ((rc = csip_stmt_step(st)) != CSIP_ROW) {
		if (rc == CSIP_DONE)
			rc = csip_error_set(CSIP_ENOTFOUND, "item %" PRId64
				" does not exist", id);
		goto out;
	}
	spot_add(spots, g_strdup("title"), csip_stmt_text(st, 0));
	spot_add(spots, g_strdup("analysis"), csip_stmt_text(st, 1));
	spot_add(spots, g_strdup("attack_type"), csip_stmt_text(st, 2));
	tags = json_loads(csip_stmt_text(st, 3), 0, NULL);
	for (size_t i = 0; i < json_array_size(tags); i++)
		spot_add(spots, g_strdup_printf("tags[%zu]", i),
			 json_string_value(json_array_get(tags, i)));
	rc = csip_store_each(s, spot_ind_row, spots, "SELECT type, value, role "
		"FROM item_indicator WHERE item_id = ? ORDER BY type, value",
		ib, NULL);
out:
	json_decref(tags);
	csip_stmt_free(st);
	return rc < 0 ? rc : CSIP_OK;
}

static int
ascii_word(char c)
{
	return g_ascii_isalnum(c) || c == '_';
}

/* Whether NEEDLE (case-folded) occurs in HAY (case-folded).  Where the
 * needle begins or ends with an ASCII letter or digit, the match must not
 * continue a word there, so the name "ai" does not match "email"; a
 * domain still matches inside a longer host name ("mail.x.example",
 * "x.example.evil.test"), since a look-alike host names its target too. */
static int
occurs(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	const char *p = hay;

	if (n == 0)
		return 0;
	while ((p = strstr(p, needle)) != NULL) {
		int left_ok = !ascii_word(needle[0]) || p == hay ||
			!ascii_word(p[-1]);
		int right_ok = !ascii_word(needle[n - 1]) ||
			!ascii_word(p[n]);

		if (left_ok && right_ok)
			return 1;
		p++;
	}
	return 0;
}

/* Something that must not appear, and how to say so. */
typedef struct needle {
	char *folded;
	char *shown;     /* the value as stored */
	char *what;      /* "the name of provider kanto-power" */
} needle;

static void
needle_free(gpointer p)
{
	needle *nd = p;

	g_free(nd->folded);
	g_free(nd->shown);
	g_free(nd->what);
	g_free(nd);
}

static void
needle_add(GPtrArray *needles, const char *value, const char *what)
{
	needle *nd;

	if (value == NULL || *value == '\0' ||
	    !g_utf8_validate(value, -1, NULL))
		return;
	nd = g_new0(needle, 1);
	nd->folded = g_utf8_casefold(value, -1);
	nd->shown = g_strdup(value);
	nd->what = g_strdup(what);
	g_ptr_array_add(needles, nd);
}

/* An IP network: FAMILY AF_INET or AF_INET6, address bytes, prefix. */
typedef struct net {
	int family;
	unsigned char a[16];
	int prefix;
	char *text;
	char *org;
} net;

static void
net_free(gpointer p)
{
	net *nt = p;

	g_free(nt->text);
	g_free(nt->org);
	g_free(nt);
}

/* Parse "ADDR" or "ADDR/LEN". */
static int
net_parse(const char *text, net *out)
{
	char buf[64];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	char *end;
	long len;

	if (n == 0 || n >= sizeof buf)
		return 0;
	memcpy(buf, text, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, out->a) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, out->a) == 1)
		out->family = AF_INET6;
	else
		return 0;
	out->prefix = out->family == AF_INET ? 32 : 128;
	if (slash) {
		len = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end || len < 0 || len > out->prefix)
			return 0;
		out->prefix = (int)len;
	}
	return 1;
}

/* Whether two networks share an address: they agree on the shorter of
 * their prefixes.  An IPv4-mapped IPv6 address is compared as IPv4. */
static int
net_overlap(const net *x, const net *y)
{
	unsigned char m[16];
	const unsigned char *ya = y->a;
	int yfam = y->family, yp = y->prefix, p;
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff };

	if (yfam == AF_INET6 && x->family == AF_INET && yp >= 96 &&
	    memcmp(ya, mapped, 12) == 0) {
		memcpy(m, ya + 12, 4);
		ya = m;
		yfam = AF_INET;
		yp -= 96;
	}
	if (yfam != x->family)
		return 0;
	p = MIN(x->prefix, yp);
	for (int i = 0; i < p / 8; i++)
		if (x->a[i] != ya[i])
			return 0;
	if (p % 8) {
		unsigned char mask = (unsigned char)(0xff << (8 - p % 8));

		if ((x->a[p / 8] & mask) != (ya[p / 8] & mask))
			return 0;
	}
	return 1;
}

/* The first internal network that an address in TEXT (with an optional
 * "/len") falls into, or NULL.  Addresses are found as maximal runs of
 * the characters they are written with. */
static const net *
find_internal(const char *text, GPtrArray *nets)
{
	static const char *const sets[] = { "0123456789.",
		"0123456789abcdefABCDEF:." };

	for (int k = 0; k < 2; k++) {
		const char *p = text;

		while (*p) {
			size_t n = strspn(p, sets[k]);
			char tok[80];
			net cand;

			if (n == 0) {
				p++;
				continue;
			}
			if (n < 48) {
				size_t m = n;

				memcpy(tok, p, n);
				/* Keep a prefix length written after it. */
				if (p[n] == '/' && g_ascii_isdigit(p[n + 1])) {
					size_t d = strspn(p + n + 1,
							  "0123456789");

					if (d <= 3) {
						memcpy(tok + n, p + n, d + 1);
						m = n + d + 1;
					}
				}
				tok[m] = '\0';
				/* Sentences end with dots. */
				while (m > 0 && tok[m - 1] == '.')
					tok[--m] = '\0';
				if (net_parse(tok, &cand))
					for (guint i = 0; i < nets->len; i++)
						if (net_overlap(nets->pdata[i],
								&cand))
							return nets->pdata[i];
			}
			p += n;
		}
	}
	return NULL;
}

typedef struct prov {
	int64_t org;
	char *name;
	char *display;
	int named_ok;      /* every source of this provider allows naming it
			    * to every reader the audience reaches */
} prov;

static void
prov_free(gpointer p)
{
	prov *pv = p;

	g_free(pv->name);
	g_free(pv->display);
	g_free(pv);
}

/* Whether every reader the published item could ever reach may learn
 * that PROVIDER gave a report with ATTRIBUTION.  Asked of the policy with
 * the least privileged readers of each kind (a partner; a participant
 * with an NDA and no SIG; one in exactly one of the item's SIGs), since a
 * reader with more SIGs sees at least as much; and with each other
 * provider of the item as it is, since a provider reads the item from
 * submission on whether or not the audience includes it. */
static int
named_ok(csip_store *s, const csip_item_facts *f, int64_t provider,
	 const char *attribution, int *ok)
{
	csip_item_facts pub = *f;   /* shallow: the arrays stay F's */
	int rc = CSIP_OK;

	*ok = 1;
	for (size_t i = 0; i < f->n_providers && *ok; i++) {
		csip_reader co;
		int vis = 0;

		if (f->providers[i] == provider)
			continue;
		if ((rc = csip_reader_load(s, f->providers[i], &co)) < 0)
			return rc;
		rc = csip_policy_provider_visible(s, &co, provider,
						  attribution, &vis);
		csip_reader_clear(&co);
		if (rc < 0)
			return rc;
		if (!vis)
			*ok = 0;
	}

	g_strlcpy(pub.status, "published", sizeof pub.status);
	for (int partner = 0; partner < 2; partner++)
		for (int nda = 0; nda < 2; nda++)
			for (size_t k = 0; k <= f->n_sigs; k++) {
				csip_reader probe = { .org_id = INT64_MAX,
					.partner = partner, .nda = nda };
				int vis = 0;

				if (k < f->n_sigs) {
					probe.sigs = &f->sigs[k];
					probe.n_sigs = 1;
				}
				if (csip_policy_decide(&probe, &pub) ==
				    CSIP_ACCESS_NONE)
					continue;
				rc = csip_policy_provider_visible(s, &probe,
					provider, attribution, &vis);
				if (rc < 0)
					return rc;
				if (!vis)
					*ok = 0;
			}
	return CSIP_OK;
}

typedef struct leak_ctx {
	csip_store *s;
	const csip_item_facts *f;
	GPtrArray *provs;
	GPtrArray *needles;
	GPtrArray *nets;
	int rc;
} leak_ctx;

static prov *
prov_get(leak_ctx *c, int64_t org)
{
	for (guint i = 0; i < c->provs->len; i++)
		if (((prov *)c->provs->pdata[i])->org == org)
			return c->provs->pdata[i];
	return NULL;
}

static int
source_row(csip_stmt *st, void *ud)
{
	leak_ctx *c = ud;
	int64_t org = csip_stmt_int64(st, 0);
	prov *pv = prov_get(c, org);
	int ok = 0, rc;

	if (pv == NULL) {
		pv = g_new0(prov, 1);
		pv->org = org;
		pv->name = g_strdup(csip_stmt_text(st, 2));
		pv->display = g_strdup(csip_stmt_text(st, 3));
		pv->named_ok = 1;
		g_ptr_array_add(c->provs, pv);
	}
	rc = named_ok(c->s, c->f, org, csip_stmt_text(st, 1), &ok);
	if (rc < 0)
		return rc;
	if (!ok)
		pv->named_ok = 0;
	return CSIP_OK;
}

static int
domain_row(csip_stmt *st, void *ud)
{
	leak_ctx *c = ud;
	const char *dom = csip_stmt_text(st, 0);
	char *uni = g_hostname_to_unicode(dom);
	char *what = g_strdup_printf("a mail domain of provider %s",
				     csip_stmt_text(st, 1));

	needle_add(c->needles, dom, what);
	if (uni && strcmp(uni, dom) != 0)
		needle_add(c->needles, uni, what);
	g_free(uni);
	g_free(what);
	return CSIP_OK;
}

static int
network_row(csip_stmt *st, void *ud)
{
	leak_ctx *c = ud;
	net *nt = g_new0(net, 1);

	if (!net_parse(csip_stmt_text(st, 0), nt)) {
		g_free(nt);
		return CSIP_OK;
	}
	nt->text = g_strdup(csip_stmt_text(st, 0));
	nt->org = g_strdup(csip_stmt_text(st, 1));
	g_ptr_array_add(c->nets, nt);
	return CSIP_OK;
}

static int
removed_row(csip_stmt *st, void *ud)
{
	leak_ctx *c = ud;
	json_t *arr = csip_stmt_text(st, 1)
		? json_loads(csip_stmt_text(st, 1), 0, NULL) : NULL;
	char *what;

	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *e = json_array_get(arr, i);
		const char *kind = json_string_value(json_object_get(e,
			"kind"));

		what = g_strdup_printf("the %s removed from report %s by the "
			"anonymiser", kind ? kind : "identity",
			csip_stmt_text(st, 0));
		needle_add(c->needles, json_string_value(json_object_get(e,
			"value")), what);
		g_free(what);
	}
	json_decref(arr);
	return CSIP_OK;
}

/* Refuse (CSIP_EPERM) when what recipients would read of item ID names a
 * source's provider (unless its attribution lets every possible
 * recipient know it), one of its mail domains or internal networks, or
 * anything the anonymiser removed from a source. */
static int
leak_check(csip_store *s, int64_t id)
{
	leak_ctx c = { .s = s };
	GPtrArray *spots = g_ptr_array_new_with_free_func(spot_free);
	csip_item_facts f;
	int have_facts = 0, rc;
	char ib[24];

	c.provs = g_ptr_array_new_with_free_func(prov_free);
	c.needles = g_ptr_array_new_with_free_func(needle_free);
	c.nets = g_ptr_array_new_with_free_func(net_free);
	i64s(ib, id);
	if ((rc = csip_item_facts_load(s, id, &f)) < 0)
		goto out;
	have_facts = 1;
	c.f = &f;
	if ((rc = load_spots(s, id, spots)) < 0)
		goto out;
	rc = csip_store_each(s, source_row, &c, "SELECT r.org_id, "
		"r.attribution, o.name, o.display_name FROM item_source i "
		"JOIN report r ON r.id = i.report_id JOIN org o ON o.id = "
		"r.org_id WHERE i.item_id = ? ORDER BY r.id", ib, NULL);
	if (rc < 0)
		goto out;
	for (guint i = 0; i < c.provs->len; i++) {
		prov *pv = c.provs->pdata[i];
		char ob[24], *what;

		if (pv->named_ok)
			continue;
		/* Domains first: they hold the name, and say more. */
		i64s(ob, pv->org);
		rc = csip_store_each(s, domain_row, &c, "SELECT d.domain, "
			"o.name "
			"FROM org_domain d JOIN org o ON o.id = d.org_id WHERE "
			"d.org_id = ?", ob, NULL);
		if (rc < 0)
			goto out;
		what = g_strdup_printf("the name of provider %s (its "
			"attribution does not reach every recipient)",
			pv->name);
		needle_add(c.needles, pv->name, what);
		needle_add(c.needles, pv->display, what);
		g_free(what);
	}
	/* Internal hosts and the recipients are never shared, whatever the
	 * attribution allows. */
	rc = csip_store_each(s, network_row, &c, "SELECT n.cidr, o.name FROM "
		"org_network n JOIN org o ON o.id = n.org_id WHERE n.org_id IN "
		"(SELECT r.org_id FROM item_source i JOIN report r ON r.id = "
		"i.report_id WHERE i.item_id = ?)", ib, NULL);
	if (rc < 0)
		goto out;
	rc = csip_store_each(s, removed_row, &c, "SELECT c.report_id, "
		"c.removed FROM item_source i JOIN report_content c ON "
		"c.report_id = i.report_id WHERE i.item_id = ? ORDER BY "
		"c.report_id", ib, NULL);
	if (rc < 0)
		goto out;
	for (guint i = 0; i < spots->len; i++) {
		spot *sp = spots->pdata[i];
		const net *nt;

		for (guint k = 0; k < c.needles->len; k++) {
			needle *nd = c.needles->pdata[k];

			if (!occurs(sp->folded, nd->folded))
				continue;
			rc = csip_error_set(CSIP_EPERM, "item %" PRId64
				" would leak %s (\"%s\") in its %s: remove "
				"it there", id, nd->what, nd->shown,
				sp->where);
			goto out;
		}
		if ((nt = find_internal(sp->raw, c.nets)) != NULL) {
			rc = csip_error_set(CSIP_EPERM, "item %" PRId64
				" would leak an address in %s, an internal "
				"network of provider %s, in its %s: remove it "
				"there", id,
				nt->text, nt->org, sp->where);
			goto out;
		}
	}
	rc = CSIP_OK;
out:
	if (have_facts)
		csip_item_facts_clear(&f);
	g_ptr_array_unref(spots);
	g_ptr_array_unref(c.provs);
	g_ptr_array_unref(c.needles);
	g_ptr_array_unref(c.nets);
	return rc;
}

/* The item's audience against its sources' permissions, as stored now
 * (a provider may have narrowed a permission since the item was made). */
static int
recheck_scope(csip_store *s, int64_t id, const char *audience)
{
	GArray *sigs = NULL, *reports = NULL;
	int rc;

	if ((rc = ids_of(s, "SELECT sig_id FROM item_sig WHERE item_id = ? "
			 "ORDER BY sig_id", id, &sigs)) < 0 ||
	    (rc = ids_of(s, "SELECT report_id FROM item_source WHERE item_id "
			 "= ? ORDER BY report_id", id, &reports)) < 0)
		goto out;
	rc = csip_policy_check_audience(s, audience,
		(const int64_t *)(void *)sigs->data, sigs->len,
		(const int64_t *)(void *)reports->data, reports->len);
out:
	if (sigs)
		g_array_unref(sigs);
	if (reports)
		g_array_unref(reports);
	return rc;
}

int
csip_item_submit(csip_hub *h, const char *actor, int64_t id)
{
	csip_store *s = csip_hub_store(h);
	char now[21], ib[24], rb[24], status[20], audience[12];
	char *target = NULL;
	int64_t rev = 0;
	int rc, n = 0;

	if ((rc = csip_store_begin(s)) < 0)
		return rc;
	if ((rc = load_state(s, id, status, &rev, audience)) < 0)
		goto done;
	if (strcmp(status, "draft") != 0 &&
	    strcmp(status, "changes_requested") != 0) {
		rc = csip_error_set(CSIP_EBUSY, "item %" PRId64 " is %s: only "
			"a "
			"draft or an item with changes requested is submitted;"
			" update it first to make a new draft", id, status);
		goto done;
	}
	/* Providers see the item from now on, so it must already be fit to
	 * be seen: one provider must not read another one's name. */
	if ((rc = recheck_scope(s, id, audience)) < 0 ||
	    (rc = leak_check(s, id)) < 0)
		goto done;
	csip_store_now(now);
	i64s(ib, id);
	i64s(rb, rev);
	if ((rc = csip_store_run(s, NULL, "DELETE FROM item_approval WHERE "
				 "item_id = ?", ib, NULL)) < 0 ||
	    (rc = csip_store_run(s, &n, "INSERT INTO item_approval (item_id, "
		"org_id, revision, decision) SELECT DISTINCT i.item_id, "
		"r.org_id, CAST(? AS INTEGER), 'pending' FROM item_source i JOIN report r ON "
		"r.id = i.report_id WHERE i.item_id = ?", rb, ib, NULL)) < 0 ||
	    (rc = csip_store_run(s, NULL, "UPDATE item SET status = 'pending', "
		"updated_at = ? WHERE id = ?", now, ib, NULL)) < 0)
		goto done;
	target = target_of(id);
	rc = csip_audit_append(h, actor, "item.submit", target, json_pack(
		"{sI sI}", "revision", (json_int_t)rev, "providers",
		(json_int_t)n));
done:
	g_free(target);
	return finish(s, rc);
}

int
csip_item_decide(csip_hub *h, const char *actor, int64_t id,
		 int64_t provider_org, const char *decision,
		 const char *comment)
{
	csip_store *s = csip_hub_store(h);
	char now[21], ib[24], ob[24], rb[24], status[20], *target = NULL;
	int64_t rev = 0, is_provider = 0, open = 0;
	int approve, rc, n = 0;

	if (decision == NULL || (strcmp(decision, "approve") != 0 &&
				 strcmp(decision, "request_changes") != 0))
		return csip_error_set(CSIP_EINVAL, "decision \"%s\": use "
			"approve or request_changes", decision ? decision : "");
	approve = strcmp(decision, "approve") == 0;
	if ((rc = check_text("comment", comment, ANALYSIS_MAX, !approve)) < 0) {
		if (!approve)
			csip_error_prefix(rc, "request_changes: ");
		return rc;
	}
	if ((rc = csip_store_begin(s)) < 0)
		return rc;
	if ((rc = load_state(s, id, status, &rev, NULL)) < 0)
		goto done;
	i64s(ib, id);
	i64s(ob, provider_org);
	i64s(rb, rev);
	rc = csip_store_query_int64(s, &is_provider, "SELECT COUNT(*) FROM "
		"item_source i JOIN report r ON r.id = i.report_id WHERE "
		"i.item_id = ? AND r.org_id = ?", ib, ob, NULL);
	if (rc < 0)
		goto done;
	/* Not a provider: the same answer as for no item at all. */
	if (is_provider == 0) {
		rc = csip_error_set(CSIP_ENOTFOUND, "item %" PRId64 " does not "
			"exist", id);
		goto done;
	}
	if (strcmp(status, "pending") != 0) {
		rc = csip_error_set(CSIP_EBUSY, "item %" PRId64 " is %s, not "
			"waiting for a decision; the hub submits it again "
			"after a change", id, status);
		goto done;
	}
	csip_store_now(now);
	rc = csip_store_run(s, &n, "UPDATE item_approval SET decision = ?, "
		"comment = ?, decided_by = ?, decided_at = ? WHERE item_id = ? "
		"AND org_id = ? AND revision = ?",
		approve ? "approved" : "changes_requested",
		comment && *comment ? comment : CSIP_SQL_NULL, actor, now, ib,
		ob, rb, NULL);
	if (rc < 0)
		goto done;
	if (n != 1) {
		rc = csip_error_set(CSIP_EBUSY, "item %" PRId64 " has no "
			"pending approval of revision %" PRId64 " for this "
			"organisation; submit it again", id, rev);
		goto done;
	}
	if (!approve) {
		rc = csip_store_run(s, NULL, "UPDATE item SET status = "
			"'changes_requested', updated_at = ? WHERE id = ?", now,
			ib, NULL);
	} else {
		rc = csip_store_query_int64(s, &open, "SELECT COUNT(*) FROM "
			"item_approval WHERE item_id = ? AND (revision <> ? OR "
			"decision <> 'approved')", ib, rb, NULL);
		if (rc == CSIP_OK && open == 0)
			rc = csip_store_run(s, NULL, "UPDATE item SET status = "
				"'approved', updated_at = ? WHERE id = ?", now,
				ib, NULL);
	}
	if (rc < 0)
		goto done;
	target = target_of(id);
	rc = csip_audit_append(h, actor, "item.decide", target, json_pack(
		"{sI ss sI ss?}", "org", (json_int_t)provider_org, "decision",
		decision, "revision", (json_int_t)rev, "comment", comment));
done:
	g_free(target);
	return finish(s, rc);
}

/* The time an item is published at, in OUT: now to the microsecond, or
 * just after the latest publication when the clock reads earlier (it was
 * stepped back).  published_at is TAXII's date_added, and a poller asks
 * for what was added after the last one it saw: with writers serialised
 * (csip_store_begin) publication times then follow the order of commits
 * and never repeat, so nothing is published behind a poller's back. */
static int
publish_time(csip_store *s, char out[static CSIP_TIME_LEN + 1])
{
	csip_stmt *st = NULL;
	int64_t at = g_get_real_time(), last;
	const char *m;
	int rc;

	if ((rc = csip_store_prepare(s, "SELECT MAX(published_at) FROM item",
				     &st)) < 0)
		goto out;
	if ((rc = csip_stmt_step(st)) != CSIP_ROW) {
		if (rc >= 0)
			rc = csip_error_set(CSIP_ESTORE, "no row for MAX");
		goto out;
	}
	rc = CSIP_OK;
	m = csip_stmt_text(st, 0);
	if (m && csip_time_parse_us(m, &last) && last >= at)
		at = last + 1;
	csip_time_format_us(at, out);
out:
	csip_stmt_free(st);
	return rc;
}

int
csip_item_publish(csip_hub *h, const char *actor, int64_t id,
		  size_t *recipients)
{
	csip_store *s = csip_hub_store(h);
	char now[21], pub[CSIP_TIME_LEN + 1], ib[24], rb[24], status[20];
	char audience[12], *target = NULL;
	int64_t *added = NULL, rev = 0, missing = 0, total = 0;
	size_t n_added = 0;
	int rc;

	if (recipients)
		*recipients = 0;
	if ((rc = csip_store_begin(s)) < 0)
		return rc;
	if ((rc = load_state(s, id, status, &rev, audience)) < 0)
		goto done;
	if (strcmp(status, "approved") != 0) {
		rc = csip_error_set(CSIP_EBUSY, "item %" PRId64 " is %s: only "
			"an "
			"item every provider approved is published; submit it "
			"for approval first", id, status);
		goto done;
	}
	i64s(ib, id);
	i64s(rb, rev);
	/* The status says approved; the consent rows must agree, for this
	 * revision and every provider. */
	rc = csip_store_query_int64(s, &missing, "SELECT COUNT(*) FROM (SELECT "
		"DISTINCT r.org_id FROM item_source i JOIN report r ON r.id = "
		"i.report_id WHERE i.item_id = ?) p WHERE NOT EXISTS (SELECT 1 "
		"FROM item_approval a WHERE a.item_id = ? AND a.org_id = "
		"p.org_id AND a.revision = ? AND a.decision = 'approved')", ib,
		ib, rb, NULL);
	if (rc < 0)
		goto done;
	if (missing > 0) {
		rc = csip_error_set(CSIP_EBUSY, "item %" PRId64 ": %" PRId64
			" provider(s) have not approved revision %" PRId64 "; "
			"submit it again", id, missing, rev);
		goto done;
	}
	if ((rc = recheck_scope(s, id, audience)) < 0 ||
	    (rc = leak_check(s, id)) < 0)
		goto done;
	csip_store_now(now);
	if ((rc = publish_time(s, pub)) < 0)
		goto done;
	if ((rc = csip_store_run(s, NULL, "UPDATE item SET status = "
		"'published', published_at = ?, updated_at = ? WHERE id = ?",
		pub, now, ib, NULL)) < 0)
		goto done;
	if ((rc = csip_policy_refresh_recipients(s, id, &added, &n_added)) < 0)
		goto done;
	/* The item's STIX objects are fixed from now on (a published item
	 * is not updated): TAXII finds them by id through this index. */
	if ((rc = csip_stix_index_item(h, id)) < 0)
		goto done;
	/* From now on the providers can no longer change the permission
	 * they gave: it was acted upon. */
	if ((rc = csip_store_run(s, NULL, "UPDATE report SET shared_at = ? "
		"WHERE shared_at IS NULL AND id IN (SELECT report_id FROM "
		"item_source WHERE item_id = ?)", now, ib, NULL)) < 0)
		goto done;
	if (n_added > 0 &&
	    (rc = csip_notify_queue_item(h, id, added, n_added)) < 0)
		goto done;
	if ((rc = csip_store_query_int64(s, &total, "SELECT COUNT(*) FROM "
		"item_recipient WHERE item_id = ?", ib, NULL)) < 0)
		goto done;
	target = target_of(id);
	rc = csip_audit_append(h, actor, "item.publish", target, json_pack(
		"{sI ss sI}", "revision", (json_int_t)rev, "audience",
		audience, "recipients", (json_int_t)total));
done:
	g_free(target);
	g_free(added);
	rc = finish(s, rc);
	if (rc == CSIP_OK && recipients)
		*recipients = (size_t)total;
	return rc;
}

int
csip_item_withdraw(csip_hub *h, const char *actor, int64_t id)
{
	csip_store *s = csip_hub_store(h);
	char now[21], ib[24], status[20], *target = NULL;
	int rc;

	if ((rc = csip_store_begin(s)) < 0)
		return rc;
	if ((rc = load_state(s, id, status, NULL, NULL)) < 0)
		goto done;
	if (strcmp(status, "published") != 0) {
		rc = csip_error_set(CSIP_EBUSY, "item %" PRId64 " is %s: only "
			"a "
			"published item is withdrawn", id, status);
		goto done;
	}
	csip_store_now(now);
	i64s(ib, id);
	if ((rc = csip_store_run(s, NULL, "UPDATE item SET status = "
		"'withdrawn', updated_at = ? WHERE id = ?", now, ib, NULL)) < 0)
		goto done;
	/* Not published any more: the policy leaves it no recipients. */
	if ((rc = csip_policy_refresh_recipients(s, id, NULL, NULL)) < 0)
		goto done;
	target = target_of(id);
	rc = csip_audit_append(h, actor, "item.withdraw", target, NULL);
done:
	g_free(target);
	return finish(s, rc);
}

/* ---- reads ----------------------------------------------------------- */

/* A source of an item as its view shows it. */
typedef struct view_src {
	int64_t report_id, org_id;
	char *name, *attribution, *permission;
} view_src;

static void
view_src_clear(gpointer p)
{
	view_src *v = p;

	g_free(v->name);
	g_free(v->attribution);
	g_free(v->permission);
}

/* The columns of the item row a view reads, in this order. */
enum { V_TITLE, V_ANALYSIS, V_TLP, V_AUDIENCE, V_ATTACK, V_SEVERITY,
       V_TAGS, V_STATUS, V_REVISION, V_CREATED_BY, V_CREATED_AT,
       V_UPDATED_AT, V_PUBLISHED_AT, V_COLS };

/* What the view of one item is made of, read for a batch of items by
 * views_load() and put together by view_build(). */
typedef struct view_parts {
	int64_t id;
	csip_access a;
	int found;
	char *col[V_COLS];
	int64_t revision;
	json_t *sigs, *inds, *fb, *appr;
	GArray *srcs;         /* view_src */
	int64_t recipients;
} view_parts;

static void
view_parts_clear(view_parts *v)
{
	for (int i = 0; i < V_COLS; i++)
		g_free(v->col[i]);
	json_decref(v->sigs);
	json_decref(v->inds);
	json_decref(v->fb);
	json_decref(v->appr);
	if (v->srcs)
		g_array_unref(v->srcs);
	memset(v, 0, sizeof *v);
}

/* The queries of views_load(), each with the item id first; the rows of
 * an item come in the order its view lists them. */
enum { Q_ROW, Q_SIGS, Q_INDS, Q_SRCS, Q_HUB_APPR, Q_RECIPIENTS,
       Q_OWN_APPR, Q_COUNT };

static const char *const view_sql[Q_COUNT] = {
	[Q_ROW] = "SELECT id, title, analysis, tlp, audience, attack_type, "
		"severity, tags, status, revision, created_by, created_at, "
		"updated_at, published_at FROM item WHERE id IN (@IDS@)",
	[Q_SIGS] = "SELECT i.item_id, g.code FROM item_sig i JOIN sig g ON "
		"g.id = i.sig_id WHERE i.item_id IN (@IDS@) ORDER BY "
		"i.item_id, g.code",
	[Q_INDS] = "SELECT item_id, type, value, role FROM item_indicator "
		"WHERE item_id IN (@IDS@) ORDER BY item_id, type, value",
	[Q_SRCS] = "SELECT i.item_id, r.id, r.org_id, o.name, r.attribution, "
		"r.permission FROM item_source i JOIN report r ON r.id = "
		"i.report_id JOIN org o ON o.id = r.org_id WHERE i.item_id IN "
		"(@IDS@) ORDER BY i.item_id, r.id",
	[Q_HUB_APPR] = "SELECT a.item_id, o.name, a.revision, a.decision, "
		"a.comment, a.decided_by, a.decided_at FROM item_approval a "
		"JOIN org o ON o.id = a.org_id WHERE a.item_id IN (@IDS@) "
		"ORDER BY a.item_id, o.name",
	[Q_RECIPIENTS] = "SELECT item_id, COUNT(*) FROM item_recipient WHERE "
		"item_id IN (@IDS@) GROUP BY item_id",
	[Q_OWN_APPR] = "SELECT a.item_id, o.name, a.revision, a.decision, "
		"a.comment, a.decided_by, a.decided_at FROM item_approval a "
		"JOIN org o ON o.id = a.org_id WHERE a.item_id IN (@IDS@) AND "
		"a.org_id = ? ORDER BY a.item_id, o.name",
};

/* One row of query Q into V. */
static void
view_row(int q, csip_stmt *st, view_parts *v)
{
	view_src src;

	switch (q) {
	case Q_ROW:
		v->found = 1;
		for (int i = 0; i < V_COLS; i++)
			v->col[i] = g_strdup(csip_stmt_text(st, i + 1));
		v->revision = csip_stmt_int64(st, V_REVISION + 1);
		break;
	case Q_SIGS:
		json_array_append_new(v->sigs, json_string(csip_stmt_text(st,
			1)));
		break;
	case Q_INDS:
		json_array_append_new(v->inds, json_pack("{ss ss s:s?}",
			"type", csip_stmt_text(st, 1), "value",
			csip_stmt_text(st, 2), "role", csip_stmt_text(st, 3)));
		break;
	case Q_SRCS:
		src.report_id = csip_stmt_int64(st, 1);
		src.org_id = csip_stmt_int64(st, 2);
		src.name = g_strdup(csip_stmt_text(st, 3));
		src.attribution = g_strdup(csip_stmt_text(st, 4));
		src.permission = g_strdup(csip_stmt_text(st, 5));
		g_array_append_val(v->srcs, src);
		break;
	case Q_HUB_APPR:
	case Q_OWN_APPR:
		if ((q == Q_HUB_APPR) != (v->a == CSIP_ACCESS_HUB) ||
		    (q == Q_OWN_APPR) != (v->a == CSIP_ACCESS_PROVIDER))
			break;
		json_array_append_new(v->appr, json_pack(
			"{ss sI ss s:s? s:s? s:s?}", "org", csip_stmt_text(st,
			1), "revision", (json_int_t)csip_stmt_int64(st, 2),
			"decision", csip_stmt_text(st, 3), "comment",
			csip_stmt_text(st, 4), "decided_by", csip_stmt_text(st,
			5), "decided_at", csip_stmt_text(st, 6)));
		break;
	case Q_RECIPIENTS:
		v->recipients = csip_stmt_int64(st, 1);
		break;
	}
}

/* Read the parts of the N <= CSIP_FACTS_BATCH views V (their id and
 * access set, the ids distinct) for reader R: a statement per kind of
 * part for all of them, instead of one per part and item. */
static int
views_load(csip_hub *h, const csip_reader *r, view_parts *v, size_t n)
{
	csip_store *s = csip_hub_store(h);
	GHashTable *at = g_hash_table_new(g_int64_hash, g_int64_equal);
	int64_t *ids = g_new(int64_t, n);
	json_t **fb = g_new0(json_t *, n);
	csip_stmt *st = NULL;
	int rc = CSIP_OK, next, hub = 0, own = 0;

	for (size_t i = 0; i < n; i++) {
		ids[i] = v[i].id;
		g_hash_table_insert(at, &v[i].id, &v[i]);
		v[i].sigs = json_array();
		v[i].inds = json_array();
		v[i].appr = json_array();
		v[i].srcs = g_array_new(FALSE, TRUE, sizeof(view_src));
		g_array_set_clear_func(v[i].srcs, view_src_clear);
		hub |= v[i].a == CSIP_ACCESS_HUB;
		own |= v[i].a == CSIP_ACCESS_PROVIDER;
	}
	for (int q = 0; q < Q_COUNT && rc == CSIP_OK; q++) {
		if ((q == Q_HUB_APPR || q == Q_RECIPIENTS) ? !hub :
		    q == Q_OWN_APPR ? !own : 0)
			continue;
		rc = csip_store_prepare_ids(s, view_sql[q], ids, n, &next,
					    &st);
		if (rc == CSIP_OK && q == Q_OWN_APPR)
			rc = csip_stmt_bind_int64(st, next, r->org_id);
		while (rc == CSIP_OK && (rc = csip_stmt_step(st)) == CSIP_ROW) {
			int64_t id = csip_stmt_int64(st, 0);
			view_parts *p = g_hash_table_lookup(at, &id);

			rc = CSIP_OK;
			if (p)
				view_row(q, st, p);
		}
		if (rc == CSIP_DONE)
			rc = CSIP_OK;
		g_clear_pointer(&st, csip_stmt_free);
	}
	if (rc == CSIP_OK &&
	    (rc = csip_feedback_counts_many(h, ids, n, fb)) == CSIP_OK)
		for (size_t i = 0; i < n; i++)
			v[i].fb = fb[i];
	g_free(fb);
	g_free(ids);
	g_hash_table_destroy(at);
	return rc;
}

/* Whether reader R may see the name of provider ORG for a report of
 * that ATTRIBUTION, asked of the policy once per batch (MEMO). */
static int
provider_visible(csip_store *s, const csip_reader *r, GHashTable *memo,
		 int64_t org, const char *attribution, int *vis)
{
	char *key = g_strdup_printf("%" PRId64 "%c%s", org, attribution ?
				    ':' : '!', attribution ? attribution : "");
	gpointer got;
	int rc = CSIP_OK;

	if (g_hash_table_lookup_extended(memo, key, NULL, &got)) {
		*vis = GPOINTER_TO_INT(got);
		g_free(key);
		return CSIP_OK;
	}
	if ((rc = csip_policy_provider_visible(s, r, org, attribution,
					       vis)) < 0) {
		g_free(key);
		return rc;
	}
	g_hash_table_insert(memo, key, GINT_TO_POINTER(*vis));
	return CSIP_OK;
}

/* The view of the item of V for reader R with access V->a (not NONE),
 * from its parts; *out is a new reference. */
static int
view_build(csip_store *s, const csip_reader *r, view_parts *v,
	   GHashTable *memo, json_t **out)
{
	json_t *o = NULL, *tags = NULL, *providers = json_array();
	json_t *sources = json_array(), *own = json_array();
	int rc = CSIP_OK;

	*out = NULL;
	if (!v->found) {
		rc = csip_error_set(CSIP_ENOTFOUND, "item %" PRId64 " does "
				    "not exist", v->id);
		goto out;
	}
	for (guint i = 0; i < v->srcs->len; i++) {
		const view_src *x = &g_array_index(v->srcs, view_src, i);
		int vis = 0;

		if ((rc = provider_visible(s, r, memo, x->org_id,
					   x->attribution, &vis)) < 0)
			goto out;
		json_array_append_new(providers, vis ? json_string(x->name)
						     : json_null());
		if (v->a == CSIP_ACCESS_HUB)
			json_array_append_new(sources, json_pack(
				"{sI ss ss ss}", "report_id",
				(json_int_t)x->report_id, "org", x->name,
				"permission", x->permission, "attribution",
				x->attribution));
		else if (v->a == CSIP_ACCESS_PROVIDER && x->org_id == r->org_id)
			json_array_append_new(own, json_integer(x->report_id));
	}
	tags = json_loads(v->col[V_TAGS], 0, NULL);
	if (!json_is_array(tags)) {
		json_decref(tags);
		tags = json_array();
	}
	o = json_pack("{sI ss ss ss ss sO s:s? s:s? sO s:s? sO sO sO}",
		"id", (json_int_t)v->id,
		"title", v->col[V_TITLE],
		"analysis", v->col[V_ANALYSIS],
		"tlp", v->col[V_TLP],
		"audience", v->col[V_AUDIENCE],
		"sigs", v->sigs,
		"attack_type", v->col[V_ATTACK],
		"severity", v->col[V_SEVERITY],
		"tags", tags,
		"published_at", v->col[V_PUBLISHED_AT],
		"indicators", v->inds,
		"providers", providers,
		"feedback", v->fb);
	if (o == NULL) {
		rc = csip_error_set(CSIP_ERR, "item %" PRId64 " could not be "
			"rendered as JSON", v->id);
		goto out;
	}
	if (v->a == CSIP_ACCESS_PROVIDER || v->a == CSIP_ACCESS_HUB) {
		json_object_set_new(o, "status", json_string(
			v->col[V_STATUS]));
		json_object_set_new(o, "revision", json_integer(v->revision));
	}
	if (v->a == CSIP_ACCESS_HUB) {
		json_object_set_new(o, "created_by", json_string(
			v->col[V_CREATED_BY]));
		json_object_set_new(o, "created_at", json_string(
			v->col[V_CREATED_AT]));
		json_object_set_new(o, "updated_at", json_string(
			v->col[V_UPDATED_AT]));
		json_object_set(o, "sources", sources);
		json_object_set(o, "approvals", v->appr);
		json_object_set_new(o, "recipients", json_integer(
			v->recipients));
	} else if (v->a == CSIP_ACCESS_PROVIDER) {
		json_object_set(o, "report_ids", own);
		json_object_set(o, "approval", json_array_size(v->appr)
			? json_array_get(v->appr, 0) : json_null());
	}
	*out = o;
	o = NULL;
out:
	json_decref(o);
	json_decref(tags);
	json_decref(providers);
	json_decref(sources);
	json_decref(own);
	return rc;
}

/* The views of the N items IDS (distinct) for reader R, with the access
 * ACC[i] (not NONE) of each, appended to ARR in order; an item whose
 * status no longer grants its access (csip_policy_recheck) is left out. */
static int
item_views(csip_hub *h, const csip_reader *r, const int64_t *ids,
	   const csip_access *acc, size_t n, json_t *arr)
{
	GHashTable *memo = g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, NULL);
	view_parts *v = g_new0(view_parts, MIN(n, CSIP_FACTS_BATCH));
	int rc = CSIP_OK;

	for (size_t b = 0; rc == CSIP_OK && b < n; b += CSIP_FACTS_BATCH) {
		size_t m = MIN(n - b, CSIP_FACTS_BATCH);

		for (size_t i = 0; i < m; i++) {
			v[i].id = ids[b + i];
			v[i].a = acc[b + i];
		}
		rc = views_load(h, r, v, m);
		for (size_t i = 0; i < m; i++) {
			json_t *o = NULL;

			/* The access was decided on facts read before these
			 * rows: an item withdrawn in between is left out. */
			if (rc == CSIP_OK && v[i].found &&
			    csip_policy_recheck(r, v[i].a,
				v[i].col[V_STATUS]) == CSIP_ACCESS_NONE) {
				view_parts_clear(&v[i]);
				continue;
			}
			if (rc == CSIP_OK && (rc = view_build(csip_hub_store(h),
			    r, &v[i], memo, &o)) == CSIP_OK)
				json_array_append_new(arr, o);
			view_parts_clear(&v[i]);
		}
	}
	g_free(v);
	g_hash_table_destroy(memo);
	return rc;
}

/* The view of item ID for reader R with access A (not NONE). */
static int
item_view(csip_hub *h, const csip_reader *r, csip_access a, int64_t id,
	  json_t **out)
{
	json_t *arr = json_array();
	int rc;

	*out = NULL;
	if ((rc = item_views(h, r, &id, &a, 1, arr)) == CSIP_OK &&
	    json_array_size(arr) == 0)
		rc = csip_error_set(CSIP_ENOTFOUND, "item %" PRId64 " does "
				    "not exist", id);
	if (rc == CSIP_OK)
		*out = json_incref(json_array_get(arr, 0));
	json_decref(arr);
	return rc;
}

int
csip_item_get(csip_hub *h, const csip_reader *r, int64_t id, json_t **out)
{
	csip_access a = CSIP_ACCESS_NONE;
	int rc;

	*out = NULL;
	if (r != NULL && (rc = csip_policy_item_access(csip_hub_store(h), r,
						       id, &a)) < 0)
		return rc;
	if (a == CSIP_ACCESS_NONE)
		return csip_error_set(CSIP_ENOTFOUND, "item %" PRId64 " does "
			"not "
			"exist", id);
	return item_view(h, r, a, id, out);
}

/* A query parameter: text, or an integer when TEXT is NULL. */
typedef struct param {
	const char *text;
	int64_t num;
} param;

static int
bind_params(csip_stmt *st, const param *p, size_t n)
{
	int rc = CSIP_OK;

	for (size_t i = 0; rc == CSIP_OK && i < n; i++)
		rc = p[i].text ? csip_stmt_bind_text(st, (int)i + 1, p[i].text)
			       : csip_stmt_bind_int64(st, (int)i + 1, p[i].num);
	return rc;
}

static int
list_ids(csip_store *s, const char *sql, const param *p, size_t n,
	 GArray *ids)
{
	csip_stmt *st = NULL;
	int rc;

	if ((rc = csip_store_prepare(s, sql, &st)) < 0)
		return rc;
	rc = bind_params(st, p, n);
	while (rc == CSIP_OK && (rc = csip_stmt_step(st)) == CSIP_ROW) {
		int64_t v = csip_stmt_int64(st, 0);

		g_array_append_val(ids, v);
		rc = CSIP_OK;
	}
	csip_stmt_free(st);
	return rc == CSIP_DONE ? CSIP_OK : rc;
}

/* Merge the ascending id list B into A, without duplicates, keeping the
 * first MAX. */
static void
merge_ids(GArray *a, const GArray *b, guint max)
{
	GArray *m = g_array_sized_new(FALSE, FALSE, sizeof(int64_t),
				      a->len + b->len);
	guint i = 0, j = 0;

	while ((i < a->len || j < b->len) && m->len < max) {
		int64_t x = i < a->len ? g_array_index(a, int64_t, i)
				       : INT64_MAX;
		int64_t y = j < b->len ? g_array_index(b, int64_t, j)
				       : INT64_MAX;
		int64_t v = x < y ? x : y;

		g_array_append_val(m, v);
		if (x == v)
			i++;
		if (y == v)
			j++;
	}
	g_array_set_size(a, 0);
	g_array_append_vals(a, m->data, m->len);
	g_array_unref(m);
}

/* A since: a date, or a UTC time with any fraction (timefmt.h), in OUT as
 * the lower bound it is; the long form compares right with published_at
 * in either of its forms. */
static int
check_since(const char *v, char out[static CSIP_TIME_LEN + 1])
{
	if (!csip_time_bound(v, out))
		return csip_error_set(CSIP_EINVAL, "since \"%s\": use a date "
			"(2025-04-01) or a UTC time (2025-04-01T09:00:00Z)", v);
	return CSIP_OK;
}

int
csip_item_list(csip_hub *h, const csip_reader *r, const csip_item_query *q,
	       json_t **out, int64_t *next)
{
	static const csip_item_query none = { 0 };
	csip_store *s = csip_hub_store(h);
	csip_indicator *ind = NULL;
	GString *sql = NULL, *sql2 = NULL, *filt = NULL;
	GArray *ids = NULL, *ids2 = NULL, *take = NULL;
	csip_access *acc = NULL;
	json_t *arr = NULL;
	param p[16], p2[16], fp[4];
	size_t np = 0, np2 = 0, nfp = 0, ncur = 0, base = 0, cur[2], cur2 = 0;
	int64_t cursor;
	char since[CSIP_TIME_LEN + 1];
	int limit, rc = CSIP_OK, full = 0, two = 0;

	*out = NULL;
	if (next)
		*next = 0;
	if (q == NULL)
		q = &none;
	if (r == NULL || r->org_id <= 0)
		return csip_error_set(CSIP_EINVAL, "no reader: the caller must "
			"say who reads");
	limit = q->limit <= 0 ? LIST_DEFAULT : q->limit;
	if (limit > LIST_MAX)
		return csip_error_set(CSIP_EINVAL, "limit %d: give 1 to %d and "
			"page with the cursor", q->limit, LIST_MAX);
	if (q->after_id < 0)
		return csip_error_set(CSIP_EINVAL, "after_id %" PRId64 ": give "
			"0 or the cursor of the previous page", q->after_id);
	if (q->status && !one_of(q->status, statuses))
		return csip_error_set(CSIP_EINVAL, "status \"%s\": use draft, "
			"pending, changes_requested, approved, published or "
			"withdrawn", q->status);
	if (q->since && (rc = check_since(q->since, since)) < 0)
		return rc;
	if ((q->ind_type == NULL) != (q->ind_value == NULL))
		return csip_error_set(CSIP_EINVAL, "an indicator filter needs "
			"both ind_type and ind_value");
	if (q->ind_type) {
		csip_ind_type t = csip_ind_type_from_name(q->ind_type);

		if (t == CSIP_IND_UNKNOWN)
			return csip_error_set(CSIP_EINVAL, "ind_type \"%s\" is "
				"unknown; use domain, url, ipv4, sha256, ...",
				q->ind_type);
		if ((rc = csip_indicator_parse(q->ind_value,
			strlen(q->ind_value), t, &ind)) < 0)
			return rc;
	}

	/* The filters on item i, shared by every form of the query. */
	filt = g_string_new(NULL);
	if (q->since) {
		g_string_append(filt, " AND i.published_at >= ?");
		fp[nfp++] = (param){ since, 0 };
	}
	if (ind && (ind->type == CSIP_IND_DOMAIN ||
		    ind->type == CSIP_IND_HOSTNAME)) {
		/* Whether a name is a domain or a host name depends on who
		 * typed it (an analyst may file a host as a domain): the
		 * name is what is searched. */
		g_string_append(filt, " AND EXISTS (SELECT 1 FROM "
			"item_indicator x WHERE x.item_id = i.id AND x.type "
			"IN ('domain', 'hostname') AND x.value = ?)");
		fp[nfp++] = (param){ ind->value, 0 };
	} else if (ind) {
		g_string_append(filt, " AND EXISTS (SELECT 1 FROM "
			"item_indicator "
			"x WHERE x.item_id = i.id AND x.type = ? AND x.value = "
			"?)");
		fp[nfp++] = (param){ csip_ind_type_name(ind->type), 0 };
		fp[nfp++] = (param){ ind->value, 0 };
	}

	sql = g_string_new(NULL);
	if (r->hub || q->status) {
		g_string_append(sql, "SELECT i.id FROM item i WHERE i.id > ?");
		cur[ncur++] = np;
		p[np++] = (param){ NULL, 0 };   /* the cursor, per batch */
		if (r->hub && q->status) {
			g_string_append(sql, " AND i.status = ?");
			p[np++] = (param){ q->status, 0 };
		} else if (q->status) {
			/* A provider's items by status ("pending": waiting
			 * for its consent).  Candidates only, as below. */
			g_string_append(sql, " AND i.status = ? AND i.id IN "
				"(SELECT s.item_id FROM item_source s JOIN "
				"report r ON r.id = s.report_id WHERE r.org_id = "
				"?)");
			p[np++] = (param){ q->status, 0 };
			p[np++] = (param){ NULL, r->org_id };
		}
		g_string_append(sql, filt->str);
		for (size_t k = 0; k < nfp; k++)
			p[np++] = fp[k];
	} else {
		/* Candidates only: the policy decides for each one below.
		 * Two queries, each an ordered index range (the reader's
		 * recipient rows; the items built on its own reports), merged
		 * here: a page then costs the same whether the reader
		 * received a thousand items or a million.  One SQL query
		 * with IN (...) or UNION builds the whole set per page. */
		two = 1;
		/* CROSS JOIN fixes the order of the scans: left alone,
		 * SQLite may walk every published item and probe back.
		 * (The join condition is in WHERE: CROSS JOIN ... ON is
		 * SQLite's alone.) */
		g_string_append_printf(sql, "SELECT c.item_id FROM "
			"item_recipient c CROSS JOIN item i WHERE i.id = "
			"c.item_id AND "
			"c.org_id = ? AND c.item_id > ? AND i.status = "
			"'published'%s ORDER BY c.item_id LIMIT ?", filt->str);
		p[np++] = (param){ NULL, r->org_id };
		cur[ncur++] = np;
		p[np++] = (param){ NULL, 0 };
		for (size_t k = 0; k < nfp; k++)
			p[np++] = fp[k];
		base = np;
		p[np++] = (param){ NULL, limit + 1 };
		sql2 = g_string_new(NULL);
		g_string_append_printf(sql2, "SELECT s.item_id FROM report rp "
			"CROSS JOIN item_source s CROSS JOIN item i WHERE "
			"s.report_id = rp.id AND i.id = s.item_id AND "
			"rp.org_id = ? AND "
			"s.item_id > ? "
			"AND i.status = 'published'%s ORDER BY s.item_id LIMIT ?",
			filt->str);
		p2[np2++] = (param){ NULL, r->org_id };
		cur2 = np2;
		p2[np2++] = (param){ NULL, 0 };
		for (size_t k = 0; k < nfp; k++)
			p2[np2++] = fp[k];
		p2[np2++] = (param){ NULL, limit + 1 };
	}
	if (!two) {
		g_string_append(sql, " ORDER BY i.id LIMIT ?");
		base = np;
		p[np++] = (param){ NULL, limit + 1 };
	}


	arr = json_array();
	ids = g_array_new(FALSE, FALSE, sizeof(int64_t));
	ids2 = g_array_new(FALSE, FALSE, sizeof(int64_t));
	take = g_array_new(FALSE, FALSE, sizeof(int64_t));
	cursor = q->after_id;
	/* Batches until the page is full and one more item is known to
	 * exist (then there is a next page), or the candidates run out. */
	for (;;) {
		guint got;

		int more;

		for (size_t k = 0; k < ncur; k++)
			p[cur[k]].num = cursor;
		g_array_set_size(ids, 0);
		if ((rc = list_ids(s, sql->str, p, np, ids)) < 0)
			goto out;
		more = ids->len == (guint)p[base].num;
		if (two) {
			p2[cur2].num = cursor;
			g_array_set_size(ids2, 0);
			if ((rc = list_ids(s, sql2->str, p2, np2, ids2)) < 0)
				goto out;
			more = more || ids2->len == (guint)p[base].num;
			merge_ids(ids, ids2, (guint)p[base].num);
		}
		got = ids->len;
		g_free(acc);
		acc = g_new(csip_access, MAX(got, 1));
		if ((rc = csip_policy_items_access(s, r, (const int64_t *)(
		    void *)ids->data, got, acc)) < 0)
			goto out;
		/* The readable items that fit on the page, then their views
		 * together. */
		g_array_set_size(take, 0);
		for (guint i = 0; i < got; i++) {
			int64_t id = g_array_index(ids, int64_t, i);

			cursor = id;
			if (acc[i] == CSIP_ACCESS_NONE)
				continue;
			if (json_array_size(arr) + take->len ==
			    (size_t)limit) {
				full = 1;
				break;
			}
			acc[take->len] = acc[i];
			g_array_append_val(take, id);
		}
		if ((rc = item_views(h, r, (const int64_t *)(void *)
				     take->data, acc, take->len, arr)) < 0)
			goto out;
		if (full || !more || got == 0)
			break;
	}
	if (full && next)
		*next = json_integer_value(json_object_get(json_array_get(arr,
			json_array_size(arr) - 1), "id"));
	*out = arr;
	arr = NULL;
out:
	json_decref(arr);
	g_free(acc);
	if (ids)
		g_array_unref(ids);
	if (ids2)
		g_array_unref(ids2);
	if (take)
		g_array_unref(take);
	if (sql)
		g_string_free(sql, TRUE);
	if (sql2)
		g_string_free(sql2, TRUE);
	if (filt)
		g_string_free(filt, TRUE);
	csip_indicator_free(ind);
	return rc;
}

/* One candidate of csip_item_list_published. */
typedef struct pub_row {
	int64_t id;
	char at[CSIP_TIME_LEN + 1];
	int published;  /* still published (not withdrawn since) */
} pub_row;

static int
list_pub_rows(csip_store *s, const char *sql, const param *p, size_t n,
	      GArray *rows)
{
	csip_stmt *st = NULL;
	int rc;

	if ((rc = csip_store_prepare(s, sql, &st)) < 0)
		return rc;
	rc = bind_params(st, p, n);
	while (rc == CSIP_OK && (rc = csip_stmt_step(st)) == CSIP_ROW) {
		pub_row row = { csip_stmt_int64(st, 0), "", 0 };

		g_strlcpy(row.at, csip_stmt_text(st, 1), sizeof row.at);
		row.published = g_strcmp0(csip_stmt_text(st, 2),
					  "published") == 0;
		g_array_append_val(rows, row);
		rc = CSIP_OK;
	}
	csip_stmt_free(st);
	return rc == CSIP_DONE ? CSIP_OK : rc;
}

/* The reader's access to each of ROWS, NONE for those no longer
 * published, into *ACC (resized; g_free). */
static int
rows_access(csip_store *s, const csip_reader *r, const GArray *rows,
	    csip_access **acc)
{
	int64_t *ids = g_new(int64_t, MAX(rows->len, 1));
	guint n = 0;
	int rc;

	*acc = g_renew(csip_access, *acc, MAX(rows->len, 1));
	for (guint i = 0; i < rows->len; i++)
		if (g_array_index(rows, pub_row, i).published)
			ids[n++] = g_array_index(rows, pub_row, i).id;
	rc = csip_policy_items_access(s, r, ids, n, *acc);
	/* Spread over the rows, the unpublished ones NONE. */
	for (guint i = rows->len; rc == CSIP_OK && i-- > 0;)
		(*acc)[i] = g_array_index(rows, pub_row, i).published ?
			(*acc)[--n] : CSIP_ACCESS_NONE;
	g_free(ids);
	return rc;
}

/* Which items a reader other than the hub may find in publication order:
 * those it receives and those of its own reports.  Candidates only: the
 * policy decides for each one, exactly as for csip_item_list.  The
 * provider probe goes from the item's sources to each report by its key:
 * as a join, SQLite starts from the reader's reports (report_campaign)
 * and tries every one of them at every item it walks past.  Two
 * parameters: the reader's organisation, twice. */
#define PUB_CANDIDATE \
	"(EXISTS (SELECT 1 FROM item_recipient c WHERE c.item_id = i.id " \
	"AND c.org_id = ?) OR EXISTS (SELECT 1 FROM item_source s WHERE " \
	"s.item_id = i.id AND (SELECT r.org_id FROM report r WHERE r.id = " \
	"s.report_id) = ?))"

/* csip_item_list_published, of the items marked TLP when it is not
 * NULL. */
static int
list_published(csip_hub *h, const csip_reader *r, const char *tlp,
	       const char *after_at, int64_t after_id, int limit,
	       json_t **out, int *more)
{
	csip_store *s = csip_hub_store(h);
	GArray *rows = NULL;
	csip_access *acc = NULL;
	json_t *arr = NULL;
	char at[CSIP_TIME_LEN + 1];
	param p[6];
	size_t np = 0;
	const char *sql;
	int rc = CSIP_OK, full = 0;

	*out = NULL;
	*more = 0;
	if (r == NULL || r->org_id <= 0)
		return csip_error_set(CSIP_EINVAL, "no reader: the caller must "
			"say who reads");
	if (limit <= 0 || limit > LIST_MAX)
		return csip_error_set(CSIP_EINVAL, "limit %d: give 1 to %d and "
			"page with the position", limit, LIST_MAX);
	if (after_at && (rc = check_since(after_at, at)) < 0)
		return rc;
	/* A bare date is the start of that day; a time is a position, an
	 * item's published_at as stored, and is sought as it is (the long
	 * form of a whole second sorts before that second's short form). */
	if (after_at && strlen(after_at) != 10)
		g_strlcpy(at, after_at, sizeof at);
	else if (after_at == NULL)
		at[0] = '\0';
	/* The walk must follow item_published, in the order asked, and
	 * stop at the page's end.  The status is tested below, not in SQL:
	 * given "status = 'published'", SQLite prefers item_status and
	 * gathers and sorts every published item for every page, and the
	 * SQLite way to forbid that ("+i.status") is not PostgreSQL.  The
	 * position is a row value, which SQLite and PostgreSQL both seek
	 * to in item_published: "published_at > ? OR (published_at = ? AND
	 * id > ?)" gives SQLite no range when the times are parameters,
	 * and it walks the index from the oldest item, so a page's time
	 * grows with how far into the store it starts. */
	/* For a reader other than the hub the walk is in publication
	 * order with a probe per item (cheap for the readers who receive
	 * most items, a longer walk for those who receive few).  With a
	 * TLP it follows item_tlp instead. */
	{
		static const char *const sqls[2][2] = {
			{ "SELECT i.id, i.published_at, i.status FROM item i "
			  "WHERE (i.published_at, i.id) > (?, ?) ORDER BY "
			  "i.published_at, i.id LIMIT ?",
			  "SELECT i.id, i.published_at, i.status FROM item i "
			  "WHERE (i.published_at, i.id) > (?, ?) AND "
			  PUB_CANDIDATE " ORDER BY i.published_at, i.id "
			  "LIMIT ?" },
			{ "SELECT i.id, i.published_at, i.status FROM item i "
			  "WHERE (i.published_at, i.id) > (?, ?) AND i.tlp = ? "
			  "ORDER BY i.published_at, i.id LIMIT ?",
			  "SELECT i.id, i.published_at, i.status FROM item i "
			  "WHERE (i.published_at, i.id) > (?, ?) AND i.tlp = ? "
			  "AND " PUB_CANDIDATE " ORDER BY i.published_at, "
			  "i.id LIMIT ?" },
		};

		sql = sqls[tlp != NULL][!r->hub];
	}
	p[np++] = (param){ at, 0 };
	p[np++] = (param){ NULL, after_id };
	if (tlp)
		p[np++] = (param){ tlp, 0 };
	if (!r->hub) {
		p[np++] = (param){ NULL, r->org_id };
		p[np++] = (param){ NULL, r->org_id };
	}
	p[np++] = (param){ NULL, limit + 1 };

	arr = json_array();
	rows = g_array_new(FALSE, FALSE, sizeof(pub_row));
	for (;;) {
		guint got;

		g_array_set_size(rows, 0);
		if ((rc = list_pub_rows(s, sql, p, np, rows)) < 0)
			goto out;
		got = rows->len;
		if ((rc = rows_access(s, r, rows, &acc)) < 0)
			goto out;
		for (guint i = 0; i < got; i++) {
			pub_row *row = &g_array_index(rows, pub_row, i);

			/* The position moves past every candidate, readable
			 * or not, so the next batch starts after it. */
			g_strlcpy(at, row->at, sizeof at);
			p[1].num = row->id;
			if (!row->published || acc[i] == CSIP_ACCESS_NONE)
				continue;
			if (json_array_size(arr) == (size_t)limit) {
				full = 1;
				break;
			}
			json_array_append_new(arr, json_pack("{sI ss}", "id",
				(json_int_t)row->id, "published_at", row->at));
		}
		if (full || got < (guint)p[np - 1].num)
			break;
	}
	*more = full;
	*out = arr;
	arr = NULL;
out:
	json_decref(arr);
	g_free(acc);
	if (rows)
		g_array_unref(rows);
	return rc;
}

int
csip_item_list_published(csip_hub *h, const csip_reader *r,
			 const char *after_at, int64_t after_id, int limit,
			 json_t **out, int *more)
{
	return list_published(h, r, NULL, after_at, after_id, limit, out,
			      more);
}

int
csip_item_list_published_tlp(csip_hub *h, const csip_reader *r,
			     const char *tlp, const char *after_at,
			     int64_t after_id, int limit, json_t **out,
			     int *more)
{
	return list_published(h, r, tlp, after_at, after_id, limit, out,
			      more);
}

static int
cmp_pub_row(const void *a, const void *b)
{
	const pub_row *x = a, *y = b;
	int c = strcmp(x->at, y->at);

	if (c != 0)
		return c;
	return x->id < y->id ? -1 : x->id > y->id;
}

int
csip_item_pick_published(csip_hub *h, const csip_reader *r,
			 const int64_t *ids, size_t n, json_t **out)
{
	csip_store *s = csip_hub_store(h);
	GArray *rows = NULL;
	const char *sql;
	int rc = CSIP_OK;

	*out = NULL;
	if (r == NULL || r->org_id <= 0)
		return csip_error_set(CSIP_EINVAL, "no reader: the caller must "
			"say who reads");
	/* The candidates and the decision of csip_item_list_published, so
	 * that a lookup finds exactly what the walk would. */
	sql = r->hub ? "SELECT i.id, i.published_at, i.status FROM item i "
		"WHERE i.id = ?" : "SELECT i.id, i.published_at, i.status "
		"FROM item i WHERE i.id = ? AND " PUB_CANDIDATE;
	rows = g_array_new(FALSE, FALSE, sizeof(pub_row));
	for (size_t i = 0; i < n; i++) {
		param p[3] = { { NULL, ids[i] }, { NULL, r->org_id },
			       { NULL, r->org_id } };
		guint at = rows->len;
		csip_access a = CSIP_ACCESS_NONE;
		pub_row *row;

		if ((rc = list_pub_rows(s, sql, p, r->hub ? 1 : 3, rows)) < 0)
			goto out;
		if (rows->len == at)
			continue;
		row = &g_array_index(rows, pub_row, at);
		if (row->published &&
		    (rc = csip_policy_item_access(s, r, row->id, &a)) < 0)
			goto out;
		if (a == CSIP_ACCESS_NONE)
			g_array_set_size(rows, at);
	}
	g_array_sort(rows, cmp_pub_row);
	*out = json_array();
	for (guint i = 0; i < rows->len; i++) {
		pub_row *row = &g_array_index(rows, pub_row, i);

		/* An id given twice is listed once. */
		if (i > 0 && row->id == g_array_index(rows, pub_row, i - 1).id)
			continue;
		json_array_append_new(*out, json_pack("{sI ss}", "id",
			(json_int_t)row->id, "published_at", row->at));
	}
out:
	g_array_unref(rows);
	return rc;
}
