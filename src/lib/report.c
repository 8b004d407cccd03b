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
insert_observations(csip_store *s, const char *rid, const csip_mail *m)
{
	const csip_extract_set *set = csip_mail_indicators(m);
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
	    (rc = insert_observations(s, rid, m)) < 0)
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
	g_snprintf(lim, sizeof lim, "%d", limit > 0 ? limit : -1);
	arr = json_array();
	rc = csip_store_each(csip_hub_store(h), report_row, arr, "SELECT "
		REPORT_COLS " FROM report r JOIN org o ON o.id = r.org_id "
		"WHERE ? IS NULL OR o.name = ? ORDER BY r.id DESC LIMIT ?",
		p, p, lim, NULL);
	if (rc < 0) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
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
	json_array_append_new(arr, o);
	return CSIP_OK;
}

int
csip_report_get(csip_hub *h, int64_t id, json_t **out)
{
	csip_store *s = csip_hub_store(h);
	json_t *arr = json_array(), *obs = json_array(), *o = NULL;
	char rid[24];
	int rc;

	*out = NULL;
	g_snprintf(rid, sizeof rid, "%" PRId64, id);
	rc = csip_store_each(s, report_row, arr, "SELECT " REPORT_COLS
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
		"count, display FROM observation WHERE report_id = ? ORDER BY "
		"type, value", rid, NULL);
	if (rc < 0)
		goto out;
	o = json_incref(json_array_get(arr, 0));
	json_object_set(o, "observations", obs);
	{
		csip_stmt *st = NULL;

		rc = csip_store_prepare_bind(s, &st, "SELECT warnings, "
			"attribution, source FROM report WHERE id = ?", rid,
			NULL);
		if (rc == CSIP_OK && (rc = csip_stmt_step(st)) == CSIP_ROW) {
			json_t *w = json_loads(csip_stmt_text(st, 0), 0, NULL);

			json_object_set_new(o, "warnings", w ? w
					    : json_array());
			json_object_set_new(o, "attribution",
				json_string(csip_stmt_text(st, 1)));
			json_object_set_new(o, "source",
				json_string(csip_stmt_text(st, 2)));
			rc = CSIP_OK;
		}
		csip_stmt_free(st);
		if (rc < 0)
			goto out;
	}
	*out = o;
	o = NULL;
	rc = CSIP_OK;
out:
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
