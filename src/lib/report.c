/*
 * report.c - storing reports (see report.h).
 *
 * The expensive work (parsing, extraction, anonymisation) happens before
 * the transaction opens, so the write lock is held only for the inserts.
 * Anonymisation that fails closed does not reject the report: the hub
 * still needs it, but it is stored as not shareable, with the reason.
 */
#include "lib/report.h"
#include "lib/anon.h"
#include "lib/audit.h"
#include "lib/correlate.h"
#include "lib/extract.h"
#include "lib/mail.h"
#include "lib/org.h"
#include "util/error.h"

#include <glib.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *const permissions[] = { "hub", "sig", "community",
	"partners", "public", NULL };
static const char *const attributions[] = { "none", "sig", "community",
	NULL };
static const char *const tlps[] = { "clear", "green", "amber",
	"amber+strict", "red", NULL };

static int
one_of(const char *v, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(v, *set) == 0)
			return 1;
	return 0;
}

int
csip_report_check_in(const csip_report_in *in)
{
	if (in->org == NULL || *in->org == '\0')
		return csip_error_set(CSIP_EINVAL, "no providing organisation: "
			"give --org ORG");
	if (in->permission && !one_of(in->permission, permissions))
		return csip_error_set(CSIP_EINVAL, "permission \"%s\": use hub, "
			"sig, community, partners or public", in->permission);
	if (in->attribution && !one_of(in->attribution, attributions))
		return csip_error_set(CSIP_EINVAL, "attribution \"%s\": use "
			"none, sig or community", in->attribution);
	if (in->tlp && !one_of(in->tlp, tlps))
		return csip_error_set(CSIP_EINVAL, "TLP \"%s\": use clear, "
			"green, amber, amber+strict or red", in->tlp);
	return CSIP_OK;
}

static int
add_str_row(csip_stmt *st, void *arr)
{
	g_ptr_array_add(arr, g_strdup(csip_stmt_text(st, 0)));
	return CSIP_OK;
}

/* The provider's domains and networks, NULL-terminated (g_strfreev). */
static int
load_strv(csip_store *s, const char *sql, const char *org_id, char ***out)
{
	GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
	int rc = csip_store_each(s, add_str_row, a, sql, org_id, NULL);

	if (rc < 0) {
		g_ptr_array_free(a, TRUE);
		*out = NULL;
		return rc;
	}
	g_ptr_array_set_free_func(a, NULL);
	g_ptr_array_add(a, NULL);
	*out = (char **)g_ptr_array_free(a, FALSE);
	return CSIP_OK;
}

static char *
sha256_hex(const char *data, size_t len)
{
	return g_compute_checksum_for_data(G_CHECKSUM_SHA256,
					   (const guchar *)data, len);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Bulk mails of one campaign share sender, subject and attachments; the
 * key is NULL when a mail has too little to group on. */
static char *
campaign_key(const csip_mail *m)
{
	const char *from = csip_mail_from_address(m);
	const char *subj = csip_mail_subject(m);
	size_t n = csip_mail_attachment_count(m);
	GString *k;
	const char **hashes;
	char *out;

	if (from == NULL && subj == NULL)
		return NULL;
	k = g_string_new(NULL);
	g_string_append_printf(k, "%s\n%s\n", from ? from : "",
			       subj ? subj : "");
	hashes = g_new0(const char *, n + 1);
	for (size_t i = 0; i < n; i++)
		hashes[i] = csip_mail_attachment_sha256(m, i);
	if (n > 1)
		qsort(hashes, n, sizeof *hashes, cmp_str);
	for (size_t i = 0; i < n; i++)
		g_string_append_printf(k, "%s\n", hashes[i] ? hashes[i] : "");
	out = sha256_hex(k->str, k->len);
	g_free(hashes);
	g_string_free(k, TRUE);
	return out;
}

/* Existing report of this organisation holding this exact message. */
static int
find_duplicate(csip_store *s, const char *org_id, const char *sha,
	       int64_t *id)
{
	return csip_store_query_int64(s, id, "SELECT id FROM report WHERE "
		"org_id = ? AND raw_sha256 = ? UNION SELECT r.id FROM "
		"report_copy c JOIN report r ON r.id = c.report_id WHERE "
		"r.org_id = ? AND c.raw_sha256 = ?", org_id, sha, org_id, sha,
		NULL);
}

static int
insert_observations(csip_store *s, const char *rid,
		    const csip_extract_set *set)
{
	csip_stmt *st = NULL;
	int rc;

	rc = csip_store_prepare(s, "INSERT INTO observation (report_id, type, "
		"value, display, found_in, count) VALUES (?, ?, ?, ?, ?, ?)",
		&st);
	for (size_t i = 0; rc == CSIP_OK && i < csip_extract_set_count(set);
	     i++) {
		const char *where;
		unsigned count;
		const csip_indicator *ind = csip_extract_set_get(set, i, &where,
								 &count);

		csip_stmt_reset(st);
		if ((rc = csip_stmt_bind_text(st, 1, rid)) < 0 ||
		    (rc = csip_stmt_bind_text(st, 2,
				csip_ind_type_name(ind->type))) < 0 ||
		    (rc = csip_stmt_bind_text(st, 3, ind->value)) < 0 ||
		    (rc = csip_stmt_bind_text(st, 4,
				strcmp(ind->display, ind->value) ? ind->display
				: NULL)) < 0 ||
		    (rc = csip_stmt_bind_text(st, 5, where)) < 0 ||
		    (rc = csip_stmt_bind_int64(st, 6, count)) < 0)
			break;
		rc = csip_stmt_step(st);
		if (rc == CSIP_DONE)
			rc = CSIP_OK;
	}
	csip_stmt_free(st);
	return rc;
}

static int
insert_content(csip_store *s, const char *rid, const char *raw, size_t len,
	       const char *anon, size_t anon_len, json_t *removed,
	       json_t *extraction)
{
	char *rj = removed ? json_dumps(removed, JSON_COMPACT) : NULL;
	char *ej = json_dumps(extraction, JSON_COMPACT);
	csip_stmt *st = NULL;
	int rc;

	rc = csip_store_prepare(s, "INSERT INTO report_content (report_id, raw,"
		" anonymised, removed, extraction) VALUES (?, ?, ?, ?, ?)", &st);
	if (rc < 0)
		goto out;
	if ((rc = csip_stmt_bind_text(st, 1, rid)) < 0 ||
	    (rc = csip_stmt_bind_blob(st, 2, raw, len)) < 0 ||
	    (rc = anon ? csip_stmt_bind_blob(st, 3, anon, anon_len)
		: csip_stmt_bind_null(st, 3)) < 0 ||
	    (rc = csip_stmt_bind_text(st, 4, rj)) < 0 ||
	    (rc = csip_stmt_bind_text(st, 5, ej ? ej : "{}")) < 0)
		goto out;
	rc = csip_stmt_step(st);
	if (rc == CSIP_DONE)
		rc = CSIP_OK;
out:
	csip_stmt_free(st);
	free(rj);
	free(ej);
	return rc;
}

int
csip_report_ingest_mail(csip_hub *h, const char *actor,
			const csip_report_in *in, const char *data, size_t len,
			csip_ingest_result *res)
{
	csip_store *s = csip_hub_store(h);
	csip_mail *m = NULL;
	csip_anon_policy pol = { 0 };
	char **domains = NULL, **networks = NULL;
	char *sha = NULL, *ckey = NULL, *anon = NULL, *warn_json = NULL;
	char *target = NULL;
	json_t *removed = NULL, *extraction = NULL, *warnings = NULL;
	char org_id[24], rid[24], now[21];
	size_t anon_len = 0;
	int64_t oid, existing;
	int rc, began = 0;

	memset(res, 0, sizeof *res);
	if ((rc = csip_report_check_in(in)) < 0)
		goto out;
	if ((rc = csip_org_id(h, in->org, &oid)) < 0)
		goto out;
	g_snprintf(org_id, sizeof org_id, "%" PRId64, oid);

	/* The provider's domains first: the parser must know them to keep
	 * victims hidden behind "undisclosed-recipients" out of the
	 * indicators. */
	if ((rc = load_strv(s, "SELECT domain FROM org_domain WHERE org_id = ?"
			    " ORDER BY domain", org_id, &domains)) < 0 ||
	    (rc = load_strv(s, "SELECT cidr FROM org_network WHERE org_id = ?"
			    " ORDER BY cidr", org_id, &networks)) < 0)
		goto out;
	if ((rc = csip_mail_parse_for(data, len, NULL,
				      (const char *const *)domains, &m)) < 0)
		goto out;
	extraction = csip_mail_json(m);
	warnings = json_deep_copy(json_object_get(extraction, "warnings"));
	if (!json_is_array(warnings)) {
		json_decref(warnings);
		warnings = json_array();
	}
	pol.domains = domains;
	pol.networks = networks;
	if (csip_anon_message(data, len, &pol, &anon, &anon_len, &removed)
	    < 0) {
		/* Fail closed: keep the report for the hub, never share it. */
		json_array_append_new(warnings, json_pack("s++",
			"not shareable: ", csip_error_last(), ""));
		g_clear_pointer(&anon, g_free);
		res->shareable = 0;
	} else {
		res->shareable = 1;
	}
	sha = sha256_hex(data, len);
	ckey = campaign_key(m);
	warn_json = json_dumps(warnings, JSON_COMPACT);
	res->indicators = csip_extract_set_count(csip_mail_indicators(m));
	res->warnings = json_array_size(warnings);
	csip_store_now(now);

	if ((rc = csip_store_begin(s)) < 0)
		goto out;
	began = 1;
	rc = find_duplicate(s, org_id, sha, &existing);
	if (rc == CSIP_OK) {
		res->outcome = CSIP_INGEST_DUPLICATE;
		res->report_id = existing;
		goto out;
	}
	if (rc != CSIP_ENOTFOUND)
		goto out;
	if (ckey) {
		rc = csip_store_query_int64(s, &existing, "SELECT id FROM report"
			" WHERE org_id = ? AND campaign_key = ? ORDER BY id "
			"LIMIT 1", org_id, ckey, NULL);
		if (rc == CSIP_OK) {
			g_snprintf(rid, sizeof rid, "%" PRId64, existing);
			if ((rc = csip_store_run(s, NULL, "UPDATE report SET "
				"copies = copies + 1 WHERE id = ?", rid,
				NULL)) < 0 ||
			    (rc = csip_store_run(s, NULL, "INSERT INTO "
				"report_copy (report_id, raw_sha256, "
				"received_at) VALUES (?, ?, ?)", rid, sha, now,
				NULL)) < 0)
				goto out;
			target = g_strconcat("report:", rid, NULL);
			rc = csip_audit_append(h, actor, "report.copy", target,
				json_pack("{ss ss}", "org", in->org,
					  "sha256", sha));
			res->outcome = CSIP_INGEST_CAMPAIGN;
			res->report_id = existing;
			goto out;
		}
		if (rc != CSIP_ENOTFOUND)
			goto out;
	}
	rc = csip_store_query_int64(s, &res->report_id, "INSERT INTO report "
		"(org_id, kind, permission, attribution, tlp, source, "
		"received_at, subject, sender, message_id, raw_sha256, "
		"campaign_key, shareable, warnings) VALUES (?, 'mail', ?, ?, ?, "
		"?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id", org_id,
		in->permission ? in->permission : "sig",
		in->attribution ? in->attribution : "none",
		in->tlp ? in->tlp : "amber",
		in->source ? in->source : "cli", now,
		csip_mail_subject(m) ? csip_mail_subject(m) : CSIP_SQL_NULL,
		csip_mail_from_address(m) ? csip_mail_from_address(m)
			: CSIP_SQL_NULL,
		csip_mail_message_id(m) ? csip_mail_message_id(m)
			: CSIP_SQL_NULL,
		sha, ckey ? ckey : CSIP_SQL_NULL, res->shareable ? "1" : "0",
		warn_json ? warn_json : "[]", NULL);
	if (rc < 0)
		goto out;
	g_snprintf(rid, sizeof rid, "%" PRId64, res->report_id);
	if ((rc = insert_content(s, rid, data, len, anon, anon_len, removed,
				 extraction)) < 0 ||
	    (rc = insert_observations(s, rid, csip_mail_indicators(m))) < 0)
		goto out;
	target = g_strconcat("report:", rid, NULL);
	rc = csip_audit_append(h, actor, "report.ingest", target, json_pack(
		"{ss ss sI sb}", "org", in->org, "sha256", sha, "indicators",
		(json_int_t)res->indicators, "shareable", res->shareable));
	res->outcome = CSIP_INGEST_STORED;
out:
	if (began) {
		if (rc < 0)
			csip_store_rollback(s);
		else
			rc = csip_store_commit(s);
	}
	if (rc < 0)
		memset(res, 0, sizeof *res);
	/* After the commit: correlation never costs a stored report. */
	else if (res->outcome == CSIP_INGEST_STORED)
		csip_correlate_after_ingest(h, res->report_id);
	csip_mail_free(m);
	g_strfreev(domains);
	g_strfreev(networks);
	g_free(sha);
	g_free(ckey);
	g_free(anon);
	g_free(target);
	free(warn_json);
	json_decref(removed);
	json_decref(extraction);
	json_decref(warnings);
	return rc;
}

int
csip_report_org_for_address(csip_hub *h, const char *address, char **org)
{
	const char *at = address ? strrchr(address, '@') : NULL;
	char *dom = NULL;
	const char *d;
	csip_stmt *st = NULL;
	int rc;

	*org = NULL;
	if (at == NULL || at[1] == '\0')
		return csip_error_set(CSIP_EINVAL, "sender \"%s\" is not an "
			"e-mail address", address ? address : "");
	if ((rc = csip_domain_canonical(at + 1, &dom)) < 0)
		return rc;
	/* The domain itself, then each parent. */
	for (d = dom; d; d = strchr(d, '.') ? strchr(d, '.') + 1 : NULL) {
		rc = csip_store_prepare_bind(csip_hub_store(h), &st, "SELECT "
			"o.name FROM org_domain d JOIN org o ON o.id = d.org_id "
			"WHERE d.domain = ?", d, NULL);
		if (rc < 0)
			goto out;
		rc = csip_stmt_step(st);
		if (rc == CSIP_ROW) {
			*org = g_strdup(csip_stmt_text(st, 0));
			rc = CSIP_OK;
			goto out;
		}
		g_clear_pointer(&st, csip_stmt_free);
		if (rc < 0)
			goto out;
	}
	rc = csip_error_set(CSIP_ENOTFOUND, "no organisation has the mail "
		"domain of %s; add it with `csip org update ORG --add-domain "
		"%s`", address, dom);
out:
	csip_stmt_free(st);
	g_free(dom);
	return rc;
}

static int
report_row(csip_stmt *st, void *arr)
{
	json_array_append_new(arr, json_pack(
		"{sI ss ss ss ss ss ss so? so? sI sb sI}",
		"id", (json_int_t)csip_stmt_int64(st, 0),
		"org", csip_stmt_text(st, 1),
		"kind", csip_stmt_text(st, 2),
		"permission", csip_stmt_text(st, 3),
		"tlp", csip_stmt_text(st, 4),
		"status", csip_stmt_text(st, 5),
		"received_at", csip_stmt_text(st, 6),
		"subject", csip_stmt_is_null(st, 7) ? NULL
			: json_string(csip_stmt_text(st, 7)),
		"sender", csip_stmt_is_null(st, 8) ? NULL
			: json_string(csip_stmt_text(st, 8)),
		"copies", (json_int_t)csip_stmt_int64(st, 9),
		"shareable", (int)csip_stmt_int64(st, 10),
		"indicators", (json_int_t)csip_stmt_int64(st, 11)));
	return CSIP_OK;
}

#define REPORT_COLS "r.id, o.name, r.kind, r.permission, r.tlp, r.status, " \
	"r.received_at, r.subject, r.sender, r.copies, r.shareable, " \
	"(SELECT COUNT(*) FROM observation b WHERE b.report_id = r.id)"

int
csip_report_list(csip_hub *h, const char *org, int limit, json_t **out)
{
	const char *p = org ? org : CSIP_SQL_NULL;
	json_t *arr;
	char lim[24];
	int64_t oid;
	int rc;

	*out = NULL;
	if (org && (rc = csip_org_id(h, org, &oid)) < 0)
		return rc;
	g_snprintf(lim, sizeof lim, "%" G_GINT64_FORMAT,
		   limit > 0 ? (gint64)limit : G_MAXINT64);
	arr = json_array();
	rc = csip_store_each(csip_hub_store(h), report_row, arr, "SELECT "
		REPORT_COLS " FROM report r JOIN org o ON o.id = r.org_id "
		"WHERE CAST(? AS TEXT) IS NULL OR o.name = ? ORDER BY r.id "
		"DESC LIMIT ?",
		p, p, lim, NULL);
	if (rc < 0) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return CSIP_OK;
}

/* A text column as JSON: a string, or null for SQL NULL. */
static json_t *
jtext(csip_stmt *st, int col)
{
	return csip_stmt_is_null(st, col) ? json_null()
		: json_string(csip_stmt_text(st, col));
}

/* The columns of full_row, in its order. */
#define FULL_COLS "r.id, o.name, r.kind, r.permission, r.attribution, " \
	"r.tlp, r.status, r.received_at, r.subject, r.sender, r.copies, " \
	"r.shareable, (SELECT COUNT(*) FROM observation b WHERE " \
	"b.report_id = r.id), r.shared_at, r.analysis, r.tags, " \
	"r.attack_type, r.severity, r.reviewed_at, r.source"

/* One report with the analyst's review, as the hub and its provider see
 * it.  Null columns stay in the object as null, so readers can rely on
 * every key being there. */
static int
full_row(csip_stmt *st, void *arr)
{
	json_t *tags = json_loads(csip_stmt_text(st, 15), 0, NULL);
	json_t *o = json_object();

	if (!json_is_array(tags)) {
		json_decref(tags);
		tags = json_array();
	}
	json_object_set_new(o, "id", json_integer(csip_stmt_int64(st, 0)));
	json_object_set_new(o, "org", jtext(st, 1));
	json_object_set_new(o, "kind", jtext(st, 2));
	json_object_set_new(o, "permission", jtext(st, 3));
	json_object_set_new(o, "attribution", jtext(st, 4));
	json_object_set_new(o, "tlp", jtext(st, 5));
	json_object_set_new(o, "status", jtext(st, 6));
	json_object_set_new(o, "received_at", jtext(st, 7));
	json_object_set_new(o, "subject", jtext(st, 8));
	json_object_set_new(o, "sender", jtext(st, 9));
	json_object_set_new(o, "copies", json_integer(csip_stmt_int64(st, 10)));
	json_object_set_new(o, "shareable",
			    json_boolean(csip_stmt_int64(st, 11)));
	json_object_set_new(o, "indicators",
			    json_integer(csip_stmt_int64(st, 12)));
	json_object_set_new(o, "shared_at", jtext(st, 13));
	json_object_set_new(o, "analysis", jtext(st, 14));
	json_object_set_new(o, "tags", tags);
	json_object_set_new(o, "attack_type", jtext(st, 16));
	json_object_set_new(o, "severity", jtext(st, 17));
	json_object_set_new(o, "reviewed_at", jtext(st, 18));
	json_object_set_new(o, "source", jtext(st, 19));
	json_array_append_new(arr, o);
	return CSIP_OK;
}

static int
obs_row(csip_stmt *st, void *arr)
{
	json_t *o = json_pack("{ss ss ss sI}",
		"type", csip_stmt_text(st, 0),
		"value", csip_stmt_text(st, 1),
		"found_in", csip_stmt_text(st, 2),
		"count", (json_int_t)csip_stmt_int64(st, 3));

	if (!csip_stmt_is_null(st, 4))
		json_object_set_new(o, "display",
				    json_string(csip_stmt_text(st, 4)));
	/* null: the analyst has not decided; the item takes the report's
	 * shareable flag then. */
	json_object_set_new(o, "shareable", csip_stmt_is_null(st, 5)
		? json_null() : json_boolean(csip_stmt_int64(st, 5)));
	json_array_append_new(arr, o);
	return CSIP_OK;
}

int
csip_report_get(csip_hub *h, int64_t id, json_t **out)
{
	csip_store *s = csip_hub_store(h);
	json_t *arr = json_array(), *obs = json_array(), *o = NULL, *w;
	csip_stmt *st = NULL;
	char rid[24];
	int rc;

	*out = NULL;
	g_snprintf(rid, sizeof rid, "%" PRId64, id);
	rc = csip_store_each(s, full_row, arr, "SELECT " FULL_COLS
		" FROM report r JOIN org o ON o.id = r.org_id WHERE r.id = ?",
		rid, NULL);
	if (rc < 0)
		goto out;
	if (json_array_size(arr) == 0) {
		rc = csip_error_set(CSIP_ENOTFOUND, "report %s does not exist; "
			"`csip report list` shows the reports", rid);
		goto out;
	}
	rc = csip_store_each(s, obs_row, obs, "SELECT type, value, found_in, "
		"count, display, shareable FROM observation WHERE report_id = ? "
		"ORDER BY type, value", rid, NULL);
	if (rc < 0)
		goto out;
	o = json_incref(json_array_get(arr, 0));
	json_object_set(o, "observations", obs);
	rc = csip_store_prepare_bind(s, &st, "SELECT warnings FROM report "
		"WHERE id = ?", rid, NULL);
	if (rc < 0 || (rc = csip_stmt_step(st)) < 0)
		goto out;
	w = rc == CSIP_ROW ? json_loads(csip_stmt_text(st, 0), 0, NULL) : NULL;
	json_object_set_new(o, "warnings", w ? w : json_array());
	*out = o;
	o = NULL;
	rc = CSIP_OK;
out:
	csip_stmt_free(st);
	json_decref(o);
	json_decref(arr);
	json_decref(obs);
	return rc;
}

int
csip_report_anonymised(csip_hub *h, int64_t id, char **out, size_t *len)
{
	csip_stmt *st = NULL;
	char rid[24];
	const void *p;
	int rc;

	*out = NULL;
	*len = 0;
	g_snprintf(rid, sizeof rid, "%" PRId64, id);
	rc = csip_store_prepare_bind(csip_hub_store(h), &st, "SELECT "
		"anonymised FROM report_content WHERE report_id = ?", rid,
		NULL);
	if (rc < 0)
		goto out;
	if ((rc = csip_stmt_step(st)) < 0)
		goto out;
	if (rc == CSIP_DONE || csip_stmt_is_null(st, 0)) {
		rc = csip_error_set(CSIP_ENOTFOUND, "report %s has no "
			"anonymised form (it does not exist, or anonymisation "
			"failed closed)", rid);
		goto out;
	}
	p = csip_stmt_blob(st, 0, len);
	*out = g_malloc(*len + 1);
	memcpy(*out, p, *len);
	(*out)[*len] = '\0';
	rc = CSIP_OK;
out:
	csip_stmt_free(st);
	return rc;
}

/* ---- submissions other than mail, and the analyst's review ---------- */

/* Caps on the short fields a provider or an analyst writes.  A report's
 * text is capped by the extractor's limit; an indicator list by the
 * number of distinct values a set keeps. */
#define MAX_LABEL     64          /* a role, a tag */
#define MAX_TAGS      64
#define MAX_ATTACK    200         /* bytes of attack_type */
#define MAX_ANALYSIS  (256 * 1024)
#define MAX_SUBJECT   120         /* characters of a text report's title */

static const char *const statuses[] = { "new", "reviewed", "dismissed",
	NULL };
static const char *const severities[] = { "low", "medium", "high",
	"critical", NULL };

/* Short free text (a role, a tag, an attack type): valid UTF-8 without
 * control characters, so it prints safely in lists, logs and mail, and at
 * most MAX bytes.  WHAT names the field in the error. */
static int
check_label(const char *what, const char *v, size_t max)
{
	size_t len = strlen(v);

	if (len == 0)
		return csip_error_set(CSIP_EINVAL, "%s is empty: give a short "
			"name", what);
	if (len > max)
		return csip_error_set(CSIP_EINVAL, "%s \"%.40s...\" is %zu "
			"bytes: shorten it to %zu", what, v, len, max);
	if (!g_utf8_validate(v, (gssize)len, NULL))
		return csip_error_set(CSIP_EINVAL, "%s is not valid UTF-8",
			what);
	for (const char *p = v; *p; p = g_utf8_next_char(p))
		if (g_unichar_iscntrl(g_utf8_get_char(p)))
			return csip_error_set(CSIP_EINVAL, "%s \"%s\" holds a "
				"control character: remove it", what, v);
	return CSIP_OK;
}

/* What a text or indicator-list submission stores. */
typedef struct submission {
	const char *kind;              /* "text" or "indicators" */
	const char *raw;               /* kept in report_content.raw */
	size_t raw_len;
	const char *subject;           /* may be NULL */
	const csip_extract_set *set;
	json_t *extraction;            /* borrowed */
	json_t *warnings;              /* borrowed, an array */
} submission;

/* Store SUB with its observations and audit row in one transaction, or
 * find the report of ORG_ID that holds the same bytes (the contract of
 * mail intake). */
static int
store_submission(csip_hub *h, const char *actor, const csip_report_in *in,
		 const char *org_id, const submission *sub,
		 csip_ingest_result *res)
{
	csip_store *s = csip_hub_store(h);
	char *sha = sha256_hex(sub->raw, sub->raw_len);
	char *warn_json = json_dumps(sub->warnings, JSON_COMPACT);
	char *target = NULL;
	char rid[24], now[21];
	int64_t existing;
	int rc, began = 0;

	res->indicators = csip_extract_set_count(sub->set);
	res->warnings = json_array_size(sub->warnings);
	/* Nothing here needs anonymising before it may be shared: the text
	 * and the list stay with the hub, and only the indicators an analyst
	 * chooses go out, through the leak checks of publishing. */
	res->shareable = 1;
	csip_store_now(now);
	if ((rc = csip_store_begin(s)) < 0)
		goto out;
	began = 1;
	rc = find_duplicate(s, org_id, sha, &existing);
	if (rc == CSIP_OK) {
		res->outcome = CSIP_INGEST_DUPLICATE;
		res->report_id = existing;
		goto out;
	}
	if (rc != CSIP_ENOTFOUND)
		goto out;
	rc = csip_store_query_int64(s, &res->report_id, "INSERT INTO report "
		"(org_id, kind, permission, attribution, tlp, source, "
		"received_at, subject, raw_sha256, shareable, warnings) VALUES "
		"(?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?) RETURNING id", org_id,
		sub->kind, in->permission ? in->permission : "sig",
		in->attribution ? in->attribution : "none",
		in->tlp ? in->tlp : "amber",
		in->source ? in->source : "cli", now,
		sub->subject ? sub->subject : CSIP_SQL_NULL, sha,
		warn_json ? warn_json : "[]", NULL);
	if (rc < 0)
		goto out;
	g_snprintf(rid, sizeof rid, "%" PRId64, res->report_id);
	if ((rc = insert_content(s, rid, sub->raw, sub->raw_len, NULL, 0, NULL,
				 sub->extraction)) < 0 ||
	    (rc = insert_observations(s, rid, sub->set)) < 0)
		goto out;
	target = g_strconcat("report:", rid, NULL);
	rc = csip_audit_append(h, actor, "report.submit", target, json_pack(
		"{ss ss ss sI}", "org", in->org, "kind", sub->kind, "sha256",
		sha, "indicators", (json_int_t)res->indicators));
	res->outcome = CSIP_INGEST_STORED;
out:
	if (began) {
		if (rc < 0)
			csip_store_rollback(s);
		else
			rc = csip_store_commit(s);
	}
	/* After the commit: correlation never costs a stored report. */
	if (rc == CSIP_OK && res->outcome == CSIP_INGEST_STORED)
		csip_correlate_after_ingest(h, res->report_id);
	g_free(sha);
	g_free(target);
	free(warn_json);
	return rc;
}

/* The first non-blank line of a text, as valid UTF-8 without control
 * characters and at most MAX_SUBJECT characters, for report lists; NULL
 * when there is none.  g_free(). */
static char *
first_line(const char *text, size_t len)
{
	const char *p = text, *end = text + len, *eol;
	char *line, *out;
	GString *clean;

	while (p < end && g_ascii_isspace(*p))
		p++;
	if (p == end)
		return NULL;
	for (eol = p; eol < end && *eol != '\n' && *eol != '\r'; eol++)
		;
	line = g_utf8_make_valid(p, eol - p);
	clean = g_string_new(NULL);
	for (const char *q = line; *q; q = g_utf8_next_char(q)) {
		gunichar c = g_utf8_get_char(q);

		if (g_unichar_iscntrl(c))
			g_string_append_c(clean, ' ');
		else
			g_string_append_unichar(clean, c);
	}
	out = g_utf8_substring(clean->str, 0, MIN(g_utf8_strlen(clean->str,
		-1), MAX_SUBJECT));
	g_string_free(clean, TRUE);
	g_free(line);
	g_strstrip(out);
	if (*out == '\0')
		g_clear_pointer(&out, g_free);
	return out;
}

int
csip_report_submit_text(csip_hub *h, const char *actor,
			const csip_report_in *in, const char *text,
			size_t len, csip_ingest_result *res)
{
	csip_extract_set *set = NULL;
	json_t *warnings = NULL, *extraction = NULL;
	char *subject = NULL;
	submission sub = { 0 };
	char org_id[24];
	size_t i;
	int64_t oid;
	int rc;

	memset(res, 0, sizeof *res);
	if ((rc = csip_report_check_in(in)) < 0)
		goto out;
	if (text == NULL)
		len = 0;
	if (len > CSIP_EXTRACT_MAX_TEXT) {
		rc = csip_error_set(CSIP_ETOOBIG, "the text is %zu bytes, more "
			"than the %u the hub accepts: split it into several "
			"reports", len, CSIP_EXTRACT_MAX_TEXT);
		goto out;
	}
	for (i = 0; i < len && g_ascii_isspace(text[i]); i++)
		;
	if (i == len) {
		rc = csip_error_set(CSIP_EINVAL, "the text of the report is "
			"empty: give the text that describes the attack");
		goto out;
	}
	if ((rc = csip_org_id(h, in->org, &oid)) < 0)
		goto out;
	g_snprintf(org_id, sizeof org_id, "%" PRId64, oid);

	set = csip_extract_set_new();
	warnings = json_array();
	rc = csip_extract_text(set, text, len, "text");
	if (rc == CSIP_ETOOBIG)
		/* The set is full: keep what was found, and say so. */
		json_array_append_new(warnings,
				      json_string(csip_error_last()));
	else if (rc < 0)
		goto out;
	subject = first_line(text, len);
	extraction = json_pack("{so sO}", "indicators",
			       csip_extract_set_json(set), "warnings",
			       warnings);
	sub.kind = "text";
	sub.raw = text;
	sub.raw_len = len;
	sub.subject = subject;
	sub.set = set;
	sub.extraction = extraction;
	sub.warnings = warnings;
	rc = store_submission(h, actor, in, org_id, &sub, res);
out:
	if (rc < 0)
		memset(res, 0, sizeof *res);
	csip_extract_set_free(set);
	json_decref(warnings);
	json_decref(extraction);
	g_free(subject);
	return rc;
}

/* Parse element I of an indicator list: a string, or an object with
 * "value" and optional "type" and "role".  *role is owned by EL. */
static int
parse_element(json_t *el, size_t i, csip_indicator **ind, const char **role)
{
	csip_ind_type hint = CSIP_IND_UNKNOWN;
	json_t *v = el, *val;
	const char *key;
	int rc;

	*ind = NULL;
	*role = NULL;
	if (json_is_object(el)) {
		json_object_foreach(el, key, val) {
			if (strcmp(key, "value") && strcmp(key, "type") &&
			    strcmp(key, "role"))
				return csip_error_set(CSIP_EINVAL, "element %zu:"
					" unknown key \"%s\"; an element has "
					"\"value\", \"type\" and \"role\"", i,
					key);
			if (!json_is_string(val))
				return csip_error_set(CSIP_EINVAL, "element %zu:"
					" \"%s\" must be a string", i, key);
		}
		v = json_object_get(el, "value");
		if (v == NULL)
			return csip_error_set(CSIP_EINVAL, "element %zu has no "
				"\"value\": give the indicator as "
				"{\"value\": \"evil.example\"}", i);
		if ((val = json_object_get(el, "type"))) {
			hint = csip_ind_type_from_name(json_string_value(val));
			if (hint == CSIP_IND_UNKNOWN)
				return csip_error_set(CSIP_EINVAL, "element %zu:"
					" type \"%s\" is not an indicator type "
					"(ipv4, domain, url, sha256, filename, "
					"...); leave it out to detect the type",
					i, json_string_value(val));
		}
		if ((val = json_object_get(el, "role"))) {
			*role = json_string_value(val);
			if ((rc = check_label("role", *role, MAX_LABEL)) < 0)
				return csip_error_prefix(rc, "element %zu: ",
							 i);
		}
	} else if (!json_is_string(el)) {
		return csip_error_set(CSIP_EINVAL, "element %zu is not a string "
			"or an object: give \"evil.example\" or {\"value\": "
			"\"evil.example\", \"type\": \"domain\"}", i);
	}
	rc = csip_indicator_parse(json_string_value(v), json_string_length(v),
				  hint, ind);
	if (rc < 0)
		return csip_error_prefix(rc, "element %zu: ", i);
	return CSIP_OK;
}

int
csip_report_submit_indicators(csip_hub *h, const char *actor,
			      const csip_report_in *in, json_t *list,
			      csip_ingest_result *res)
{
	csip_extract_set *set = NULL;
	json_t *warnings = json_array(), *extraction = NULL, *el;
	char *raw = NULL;
	submission sub = { 0 };
	char org_id[24];
	int64_t oid;
	size_t i;
	int rc;

	memset(res, 0, sizeof *res);
	if ((rc = csip_report_check_in(in)) < 0)
		goto out;
	if (!json_is_array(list)) {
		rc = csip_error_set(CSIP_EINVAL, "the indicators must be a JSON "
			"array of strings or {\"value\": ...} objects");
		goto out;
	}
	if (json_array_size(list) == 0) {
		rc = csip_error_set(CSIP_EINVAL, "the indicator list is empty: "
			"give at least one indicator");
		goto out;
	}
	if (json_array_size(list) > CSIP_EXTRACT_MAX_VALUES) {
		rc = csip_error_set(CSIP_ETOOBIG, "the list has %zu indicators, "
			"more than the %u the hub accepts in one report: split "
			"it", json_array_size(list), CSIP_EXTRACT_MAX_VALUES);
		goto out;
	}
	if ((rc = csip_org_id(h, in->org, &oid)) < 0)
		goto out;
	g_snprintf(org_id, sizeof org_id, "%" PRId64, oid);

	/* Every element is checked before anything is written. */
	set = csip_extract_set_new();
	json_array_foreach(list, i, el) {
		csip_indicator *ind;
		const char *role;

		if ((rc = parse_element(el, i, &ind, &role)) < 0)
			goto out;
		/* A repeated value counts once more, keeping the first role. */
		csip_extract_set_add(set, ind, role ? role : "submitted");
	}
	/* Sorted keys make the same list the same bytes, so sending it again
	 * is found as a duplicate. */
	raw = json_dumps(list, JSON_COMPACT | JSON_SORT_KEYS);
	if (raw == NULL) {
		rc = csip_error_set(CSIP_EINVAL, "the indicator list cannot be "
			"written as JSON");
		goto out;
	}
	extraction = json_pack("{so}", "indicators",
			       csip_extract_set_json(set));
	sub.kind = "indicators";
	sub.raw = raw;
	sub.raw_len = strlen(raw);
	sub.set = set;
	sub.extraction = extraction;
	sub.warnings = warnings;
	rc = store_submission(h, actor, in, org_id, &sub, res);
out:
	if (rc < 0)
		memset(res, 0, sizeof *res);
	csip_extract_set_free(set);
	json_decref(warnings);
	json_decref(extraction);
	free(raw);
	return rc;
}

int
csip_report_set_sharing(csip_hub *h, const char *actor, int64_t id,
			int64_t by_org, const char *permission,
			const char *attribution, const char *tlp)
{
	csip_store *s = csip_hub_store(h);
	csip_report_in chk = { .org = "-", .permission = permission,
		.attribution = attribution, .tlp = tlp };
	csip_stmt *st = NULL;
	char *target = NULL, *old_perm = NULL, *old_attr = NULL;
	char *old_tlp = NULL;
	char rid[24], now[21];
	int reset = 0;
	int rc, began = 0;

	g_snprintf(rid, sizeof rid, "%" PRId64, id);
	if (permission == NULL && attribution == NULL && tlp == NULL)
		return csip_error_set(CSIP_EINVAL, "nothing to change: give a "
			"permission, an attribution or a TLP");
	if ((rc = csip_report_check_in(&chk)) < 0)
		return rc;
	if ((rc = csip_store_begin(s)) < 0)
		goto out;
	began = 1;
	rc = csip_store_prepare_bind(s, &st, "SELECT org_id, shared_at, "
		"permission, attribution, tlp FROM report WHERE id = ?", rid,
		NULL);
	if (rc < 0 || (rc = csip_stmt_step(st)) < 0)
		goto out;
	/* Another organisation's report looks the same as a missing one, so
	 * the answer tells nothing about reports one did not send. */
	if (rc == CSIP_DONE || csip_stmt_int64(st, 0) != by_org) {
		rc = csip_error_set(CSIP_ENOTFOUND, "report %s does not exist or"
			" was not sent by your organisation", rid);
		goto out;
	}
	if (!csip_stmt_is_null(st, 1)) {
		rc = csip_error_set(CSIP_EBUSY, "report %s was shared in an item"
			" on %s: its sharing settings can no longer change; ask"
			" the hub to withdraw the item", rid,
			csip_stmt_text(st, 1));
		goto out;
	}
	old_perm = g_strdup(csip_stmt_text(st, 2));
	old_attr = g_strdup(csip_stmt_text(st, 3));
	old_tlp = g_strdup(csip_stmt_text(st, 4));
	g_clear_pointer(&st, csip_stmt_free);
	rc = csip_store_run(s, NULL, "UPDATE report SET permission = "
		"COALESCE(?, permission), attribution = COALESCE(?, "
		"attribution), tlp = COALESCE(?, tlp) WHERE id = ? AND "
		"shared_at IS NULL", permission ? permission : CSIP_SQL_NULL,
		attribution ? attribution : CSIP_SQL_NULL,
		tlp ? tlp : CSIP_SQL_NULL, rid, NULL);
	if (rc < 0)
		goto out;
	/* The items built on the report were checked, and shown to their
	 * providers for consent, under the old settings: a co-provider goes
	 * on reading a pending item, and its title was checked against the
	 * old attribution.  Each goes back to a draft of a new revision,
	 * which its providers no longer read; submitting it again checks
	 * the audience and the names anew. */
	csip_store_now(now);
	if ((rc = csip_store_run(s, NULL, "DELETE FROM item_approval WHERE "
		"item_id IN (SELECT i.id FROM item i JOIN item_source x ON "
		"x.item_id = i.id WHERE x.report_id = ? AND i.status IN "
		"('pending', 'changes_requested', 'approved'))", rid,
		NULL)) < 0 ||
	    (rc = csip_store_run(s, &reset, "UPDATE item SET status = "
		"'draft', revision = revision + 1, updated_at = ? WHERE id IN "
		"(SELECT item_id FROM item_source WHERE report_id = ?) AND "
		"status IN ('pending', 'changes_requested', 'approved')", now,
		rid, NULL)) < 0)
		goto out;
	target = g_strconcat("report:", rid, NULL);
	rc = csip_audit_append(h, actor, "report.sharing", target, json_pack(
		"{s{ss ss ss} s{ss ss ss} sI}",
		"from", "permission", old_perm, "attribution", old_attr,
		"tlp", old_tlp,
		"to", "permission", permission ? permission : old_perm,
		"attribution", attribution ? attribution : old_attr,
		"tlp", tlp ? tlp : old_tlp,
		"items_back_to_draft", (json_int_t)reset));
out:
	csip_stmt_free(st);
	if (began) {
		if (rc < 0)
			csip_store_rollback(s);
		else
			rc = csip_store_commit(s);
	}
	g_free(target);
	g_free(old_perm);
	g_free(old_attr);
	g_free(old_tlp);
	return rc;
}

/* Check a review before anything is written; *tags_json receives the new
 * tags (duplicates dropped, order kept) or NULL when they stay. */
static int
check_review(const csip_report_review *rv, char **tags_json)
{
	json_t *tags = NULL;
	int rc;

	*tags_json = NULL;
	if (rv->status && !one_of(rv->status, statuses))
		return csip_error_set(CSIP_EINVAL, "status \"%s\": use new, "
			"reviewed or dismissed (a report counts as shared once "
			"an item built on it is published)", rv->status);
	if (rv->severity && *rv->severity && !one_of(rv->severity, severities))
		return csip_error_set(CSIP_EINVAL, "severity \"%s\": use low, "
			"medium, high or critical", rv->severity);
	if (rv->attack_type && *rv->attack_type &&
	    (rc = check_label("attack type", rv->attack_type, MAX_ATTACK)) < 0)
		return rc;
	if (rv->analysis) {
		size_t n = strlen(rv->analysis);

		if (n > MAX_ANALYSIS)
			return csip_error_set(CSIP_ETOOBIG, "the analysis is %zu"
				" bytes, more than %d: shorten it", n,
				MAX_ANALYSIS);
		if (!g_utf8_validate(rv->analysis, (gssize)n, NULL))
			return csip_error_set(CSIP_EINVAL, "the analysis is not "
				"valid UTF-8");
	}
	if (rv->n_marks && (rv->mark_types == NULL ||
	    rv->mark_values == NULL || rv->mark_shareable == NULL))
		return csip_error_set(CSIP_EINVAL, "%zu observations to mark "
			"but no types, values or decisions", rv->n_marks);
	for (size_t i = 0; i < rv->n_marks; i++) {
		const char *t = rv->mark_types[i], *v = rv->mark_values[i];

		if (t == NULL || csip_ind_type_from_name(t) == CSIP_IND_UNKNOWN)
			return csip_error_set(CSIP_EINVAL, "mark %zu: type "
				"\"%s\" is not an indicator type (ipv4, domain,"
				" url, ...)", i, t ? t : "");
		if (v == NULL || *v == '\0')
			return csip_error_set(CSIP_EINVAL, "mark %zu: no value "
				"given for the %s to mark", i, t);
		if (rv->mark_shareable[i] != 0 && rv->mark_shareable[i] != 1)
			return csip_error_set(CSIP_EINVAL, "mark %zu (%s %s): "
				"shareable is %d; use 1 (share) or 0 (keep "
				"back)", i, t, v, rv->mark_shareable[i]);
	}
	if (rv->tags) {
		tags = json_array();
		for (char **t = rv->tags; *t; t++) {
			int dup = 0;
			size_t j;
			json_t *x;

			if ((rc = check_label("tag", *t, MAX_LABEL)) < 0)
				goto fail;
			json_array_foreach(tags, j, x)
				dup |= strcmp(json_string_value(x), *t) == 0;
			if (!dup)
				json_array_append_new(tags, json_string(*t));
		}
		if (json_array_size(tags) > MAX_TAGS) {
			rc = csip_error_set(CSIP_EINVAL, "%zu tags: a report "
				"takes at most %d", json_array_size(tags),
				MAX_TAGS);
			goto fail;
		}
		*tags_json = json_dumps(tags, JSON_COMPACT);
		json_decref(tags);
	}
	if (rv->status == NULL && rv->analysis == NULL && rv->tags == NULL &&
	    rv->attack_type == NULL && rv->severity == NULL &&
	    rv->n_marks == 0)
		return csip_error_set(CSIP_EINVAL, "the review changes nothing: "
			"give a status, an analysis, tags, an attack type, a "
			"severity or observations to mark");
	return CSIP_OK;
fail:
	json_decref(tags);
	return rc;
}

/* Mark one observation of report RID; CSIP_ENOTFOUND when the report has
 * no such observation under the value as given nor under its canonical
 * form. */
static int
mark_observation(csip_store *s, const char *rid, const char *type,
		 const char *value, int shareable)
{
	csip_indicator *ind = NULL;
	const char *flag = shareable ? "1" : "0";
	int rc, changes = 0;

	rc = csip_store_run(s, &changes, "UPDATE observation SET shareable = ?"
		" WHERE report_id = ? AND type = ? AND value = ?", flag, rid,
		type, value, NULL);
	if (rc < 0 || changes > 0)
		goto out;
	if (csip_indicator_parse(value, strlen(value),
			csip_ind_type_from_name(type), &ind) == CSIP_OK) {
		rc = csip_store_run(s, &changes, "UPDATE observation SET "
			"shareable = ? WHERE report_id = ? AND type = ? AND "
			"value = ?", flag, rid, csip_ind_type_name(ind->type),
			ind->value, NULL);
		if (rc < 0 || changes > 0)
			goto out;
	}
	rc = csip_error_set(CSIP_ENOTFOUND, "report %s has no observation %s "
		"%s; `csip report show %s` lists them", rid, type, value, rid);
out:
	csip_indicator_free(ind);
	return rc;
}

int
csip_report_review_apply(csip_hub *h, const char *actor, int64_t id,
			 const csip_report_review *rv)
{
	csip_store *s = csip_hub_store(h);
	GString *sql = NULL;
	GPtrArray *vals = NULL;
	csip_stmt *st = NULL;
	json_t *detail = NULL;
	char *tags_json = NULL, *target = NULL;
	char rid[24], now[21];
	int64_t exists;
	int rc, began = 0;

	g_snprintf(rid, sizeof rid, "%" PRId64, id);
	if (rv == NULL)
		return csip_error_set(CSIP_EINVAL, "no review given");
	if ((rc = check_review(rv, &tags_json)) < 0)
		return rc;
	csip_store_now(now);

	/* "" clears analysis, attack type and severity; NULL leaves them. */
	sql = g_string_new("UPDATE report SET reviewed_at = ?");
	vals = g_ptr_array_new();
	g_ptr_array_add(vals, now);
	detail = json_object();
#define REVIEW_SET(col, v) do { \
	g_string_append(sql, ", " col " = ?"); \
	g_ptr_array_add(vals, (void *)(*(v) ? (v) : NULL)); \
	json_object_set_new(detail, col, *(v) ? json_string(v) \
			    : json_null()); \
} while (0)
	if (rv->status)
		REVIEW_SET("status", rv->status);
	if (rv->attack_type)
		REVIEW_SET("attack_type", rv->attack_type);
	if (rv->severity)
		REVIEW_SET("severity", rv->severity);
	if (tags_json)
		REVIEW_SET("tags", tags_json);
#undef REVIEW_SET
	if (rv->analysis) {
		g_string_append(sql, ", analysis = ?");
		g_ptr_array_add(vals, (void *)(*rv->analysis ? rv->analysis
					       : NULL));
		/* The text itself is in the report; the log says it changed. */
		json_object_set_new(detail, "analysis", json_true());
	}
	g_string_append(sql, " WHERE id = ?");
	g_ptr_array_add(vals, rid);

	if ((rc = csip_store_begin(s)) < 0)
		goto out;
	began = 1;
	rc = csip_store_query_int64(s, &exists, "SELECT id FROM report WHERE "
		"id = ?", rid, NULL);
	if (rc == CSIP_ENOTFOUND)
		rc = csip_error_set(CSIP_ENOTFOUND, "report %s does not exist; "
			"`csip report list` shows the reports", rid);
	if (rc < 0)
		goto out;
	if ((rc = csip_store_prepare(s, sql->str, &st)) < 0)
		goto out;
	for (guint i = 0; i < vals->len; i++)
		if ((rc = csip_stmt_bind_text(st, (int)i + 1,
					      vals->pdata[i])) < 0)
			goto out;
	if ((rc = csip_stmt_step(st)) < 0)
		goto out;
	if (rv->n_marks) {
		json_t *marks = json_array();

		json_object_set_new(detail, "marks", marks);
		for (size_t i = 0; i < rv->n_marks; i++) {
			rc = mark_observation(s, rid, rv->mark_types[i],
				rv->mark_values[i], rv->mark_shareable[i]);
			if (rc < 0)
				goto out;
			json_array_append_new(marks, json_pack("{ss ss sb}",
				"type", rv->mark_types[i], "value",
				rv->mark_values[i], "shareable",
				rv->mark_shareable[i]));
		}
	}
	target = g_strconcat("report:", rid, NULL);
	rc = csip_audit_append(h, actor, "report.review", target, detail);
	detail = NULL;
out:
	csip_stmt_free(st);
	if (began) {
		if (rc < 0)
			csip_store_rollback(s);
		else
			rc = csip_store_commit(s);
	}
	if (sql)
		g_string_free(sql, TRUE);
	if (vals)
		g_ptr_array_free(vals, TRUE);
	json_decref(detail);
	free(tags_json);
	g_free(target);
	return rc;
}

int
csip_report_query_list(csip_hub *h, const csip_report_query *q,
		       json_t **out, int64_t *next)
{
	csip_stmt *st = NULL;
	json_t *arr = json_array();
	int limit = q->limit <= 0 ? 100 : q->limit;
	int rc;

	*out = NULL;
	if (next)
		*next = 0;
	if (limit > 1000) {
		rc = csip_error_set(CSIP_EINVAL, "limit %d: ask for 1 to 1000 "
			"reports and page with before_id", q->limit);
		goto out;
	}
	if (q->status && !one_of(q->status, statuses)) {
		rc = csip_error_set(CSIP_EINVAL, "status \"%s\": use new, "
			"reviewed or dismissed (shared reports have shared_at "
			"set)", q->status);
		goto out;
	}
	if (q->before_id < 0 || q->org_id < 0) {
		rc = csip_error_set(CSIP_EINVAL, "negative %s: ids start at 1",
			q->before_id < 0 ? "before_id" : "org_id");
		goto out;
	}
	/* One row more than asked tells whether another page follows. */
	rc = csip_store_prepare(csip_hub_store(h), "SELECT " FULL_COLS
		" FROM report r JOIN org o ON o.id = r.org_id WHERE (? = 0 OR "
		"r.org_id = ?) AND (CAST(? AS TEXT) IS NULL OR r.status = ?) AND "
		"(? = 0 OR "
		"r.id < ?) ORDER BY r.id DESC LIMIT ?", &st);
	if (rc < 0)
		goto out;
	if ((rc = csip_stmt_bind_int64(st, 1, q->org_id)) < 0 ||
	    (rc = csip_stmt_bind_int64(st, 2, q->org_id)) < 0 ||
	    (rc = csip_stmt_bind_text(st, 3, q->status)) < 0 ||
	    (rc = csip_stmt_bind_text(st, 4, q->status)) < 0 ||
	    (rc = csip_stmt_bind_int64(st, 5, q->before_id)) < 0 ||
	    (rc = csip_stmt_bind_int64(st, 6, q->before_id)) < 0 ||
	    (rc = csip_stmt_bind_int64(st, 7, limit + 1)) < 0)
		goto out;
	while ((rc = csip_stmt_step(st)) == CSIP_ROW) {
		if (json_array_size(arr) == (size_t)limit) {
			if (next)
				*next = json_integer_value(json_object_get(
					json_array_get(arr, limit - 1), "id"));
			break;
		}
		full_row(st, arr);
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

int
csip_report_removed(csip_hub *h, int64_t id, json_t **out)
{
	csip_stmt *st = NULL;
	char rid[24];
	int rc;

	*out = NULL;
	g_snprintf(rid, sizeof rid, "%" PRId64, id);
	rc = csip_store_prepare_bind(csip_hub_store(h), &st, "SELECT removed "
		"FROM report_content WHERE report_id = ?", rid, NULL);
	if (rc < 0)
		goto out;
	rc = csip_stmt_step(st);
	if (rc == CSIP_ROW && !csip_stmt_is_null(st, 0))
		*out = json_loads(csip_stmt_text(st, 0), 0, NULL);
	rc = rc < 0 ? rc : CSIP_OK;
out:
	csip_stmt_free(st);
	if (rc == CSIP_OK && *out == NULL)
		*out = json_array();
	return rc;
}

/* ---- submissions parsed elsewhere ------------------------------------ */

int
csip_report_store_set(csip_hub *h, const char *actor,
		      const csip_report_in *in, const char *kind,
		      const char *raw, size_t raw_len, const char *subject,
		      const csip_extract_set *set, json_t *warnings,
		      csip_ingest_result *res)
{
	json_t *extraction = NULL;
	submission sub = { 0 };
	char org_id[24];
	int64_t oid;
	int rc;

	memset(res, 0, sizeof *res);
	if ((rc = csip_report_check_in(in)) < 0 ||
	    (rc = csip_org_id(h, in->org, &oid)) < 0)
		goto out;
	g_snprintf(org_id, sizeof org_id, "%" PRId64, oid);
	extraction = json_pack("{so sO}", "indicators",
			       csip_extract_set_json(set), "warnings",
			       warnings);
	sub.kind = kind;
	sub.raw = raw;
	sub.raw_len = raw_len;
	sub.subject = subject;
	sub.set = set;
	sub.extraction = extraction;
	sub.warnings = warnings;
	rc = store_submission(h, actor, in, org_id, &sub, res);
out:
	if (rc < 0)
		memset(res, 0, sizeof *res);
	json_decref(extraction);
	return rc;
}
