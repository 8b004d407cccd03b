/*
 * api.c - the route table, route matching, errors and JSON field helpers
 * of the API (see api.h), and the handlers that belong to no area.
 */
#include "server/api.h"
#include "server/metrics.h"
#include "util/error.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NONE CSIP_AUTH_NONE
#define USER CSIP_AUTH_USER
#define HUB CSIP_AUTH_HUB
#define NOBODY CSIP_BODY_NONE
#define JSON CSIP_BODY_JSON
#define REPORT CSIP_BODY_REPORT
#define TAXII CSIP_TAXII
#define TAXII_STIX CSIP_TAXII_STIX

static const csip_route routes[] = {
	{ "GET", "/healthz", csip_api_healthz, NONE, NOBODY, 0,
	  "Liveness and database check", 0 },
	/* Counts of the whole hub (reports, items by status, feedback,
	 * requests by route): statistics for the analysts, like the
	 * breakdowns of /api/v1/stats. */
	{ "GET", "/metrics", csip_api_metrics, HUB, NOBODY, 0,
	  "Prometheus metrics (the hub's analysts)", 0 },
	{ "GET", "/api/v1/openapi.json", csip_api_openapi_doc, NONE, NOBODY, 0,
	  "This API's OpenAPI 3 document", 0 },
	{ "GET", "/api/v1/me", csip_api_me, USER, NOBODY, 0,
	  "Who the token belongs to", 0 },
	{ "POST", "/api/v1/reports", csip_api_report_create, USER, REPORT, 1,
	  "Provide a report: a raw e-mail, free text or indicators", 0 },
	{ "GET", "/api/v1/reports", csip_api_report_list, USER, NOBODY, 0,
	  "Reports: a participant's own, or all for the hub", 0 },
	{ "GET", "/api/v1/reports/{id}", csip_api_report_get, USER, NOBODY, 0,
	  "One report with its indicators", 0 },
	{ "PATCH", "/api/v1/reports/{id}", csip_api_report_patch, USER, JSON, 1,
	  "Provider: change sharing; hub: review", 0 },
	{ "GET", "/api/v1/reports/{id}/anonymised", csip_api_report_anonymised,
	  USER, NOBODY, 0, "The anonymised message of a mail report", 0 },
	{ "GET", "/api/v1/triage", csip_api_triage, HUB, NOBODY, 0,
	  "The analysts' queue of new reports", 0 },
	{ "POST", "/api/v1/items", csip_api_item_create, HUB, JSON, 1,
	  "Make a shared item from reports", 0 },
	{ "GET", "/api/v1/items", csip_api_item_list, USER, NOBODY, 0,
	  "Items the caller may read", 0 },
	{ "GET", "/api/v1/items/{id}", csip_api_item_get, USER, NOBODY, 0,
	  "One item as the caller may see it", 0 },
	{ "PATCH", "/api/v1/items/{id}", csip_api_item_patch, HUB, JSON, 1,
	  "Change an unpublished item", 0 },
	{ "POST", "/api/v1/items/{id}/submit", csip_api_item_submit, HUB,
	  NOBODY, 1, "Ask the providers for consent", 0 },
	{ "POST", "/api/v1/items/{id}/approval", csip_api_item_approval, USER,
	  JSON, 1, "A provider approves or asks for changes", 0 },
	{ "POST", "/api/v1/items/{id}/publish", csip_api_item_publish, HUB,
	  NOBODY, 1, "Publish an approved item", 0 },
	{ "POST", "/api/v1/items/{id}/withdraw", csip_api_item_withdraw, HUB,
	  NOBODY, 1, "Withdraw a published item", 0 },
	{ "POST", "/api/v1/items/{id}/feedback", csip_api_feedback_create, USER,
	  JSON, 1, "Give feedback on an item", 0 },
	{ "GET", "/api/v1/items/{id}/feedback", csip_api_feedback_list, USER,
	  NOBODY, 0, "Feedback on an item as the caller may see it", 0 },
	{ "GET", "/api/v1/search", csip_api_search, USER, NOBODY, 0,
	  "Items carrying an indicator", 0 },
	{ "GET", "/api/v1/items/{id}/stix", csip_api_item_stix, USER, NOBODY, 0,
	  "One item as STIX 2.1 objects in a bundle", 0 },
	{ "GET", "/api/v1/stix/bundle", csip_api_stix_bundle, USER, NOBODY, 0,
	  "Every item the caller may read as one STIX 2.1 bundle", 0 },
	{ "GET", "/api/v1/export/suricata", csip_api_export, USER, NOBODY, 0,
	  "Suricata rules of the caller's indicators", 0 },
	{ "GET", "/api/v1/export/snort", csip_api_export, USER, NOBODY, 0,
	  "Snort rules of the caller's indicators", 0 },
	{ "GET", "/api/v1/export/zeek", csip_api_export, USER, NOBODY, 0,
	  "A Zeek intel file of the caller's indicators", 0 },
	{ "GET", "/api/v1/export/rpz", csip_api_export, USER, NOBODY, 0,
	  "A DNS RPZ zone of the caller's domains", 0 },
	{ "GET", "/api/v1/export/csv", csip_api_export, USER, NOBODY, 0,
	  "The caller's indicators as CSV", 0 },
	{ "GET", "/api/v1/export/text", csip_api_export, USER, NOBODY, 0,
	  "The caller's indicators, one value a line", 0 },
	{ "GET", "/api/v1/misp/manifest.json", csip_api_misp_manifest, USER,
	  NOBODY, 0, "The MISP feed's manifest", 0 },
	{ "GET", "/api/v1/misp/hashes.csv", csip_api_misp_hashes, USER, NOBODY,
	  0, "The MISP feed's attribute hashes", 0 },
	{ "GET", "/api/v1/misp/{key}.json", csip_api_misp_event, USER, NOBODY,
	  0, "One event of the MISP feed", 0 },
	/* Statistics (api_stats.c). */
	{ "GET", "/api/v1/stats", csip_api_stats, USER, NOBODY, 0,
	  "Counts per fiscal year and quarter, as JSON or SVG charts", 0 },
		/* TAXII 2.1 (api_taxii.c): one API root, two collections. */
	{ "GET", "/taxii2/", csip_api_taxii_discovery, USER, NOBODY, 0,
	  "TAXII 2.1 discovery", TAXII },
	{ "GET", "/taxii2/api/", csip_api_taxii_root, USER, NOBODY, 0,
	  "The TAXII API root", TAXII },
	{ "GET", "/taxii2/api/status/{key}/", csip_api_taxii_status, USER,
	  NOBODY, 0, "The status of a TAXII POST", TAXII },
	/* The reference client polls without the final slash. */
	{ "GET", "/taxii2/api/status/{key}", csip_api_taxii_status, USER,
	  NOBODY, 0, "The status of a TAXII POST", TAXII },
	{ "GET", "/taxii2/api/collections/", csip_api_taxii_collections, USER,
	  NOBODY, 0, "The TAXII collections the caller may use", TAXII },
	{ "GET", "/taxii2/api/collections/{key}/", csip_api_taxii_collection,
	  USER, NOBODY, 0, "One TAXII collection", TAXII },
	{ "GET", "/taxii2/api/collections/{key}/manifest/",
	  csip_api_taxii_manifest, USER, NOBODY, 0,
	  "The manifest of a TAXII collection", TAXII },
	{ "GET", "/taxii2/api/collections/{key}/objects/",
	  csip_api_taxii_objects, USER, NOBODY, 0,
	  "The objects of a TAXII collection", TAXII_STIX },
	{ "POST", "/taxii2/api/collections/{key}/objects/", csip_api_taxii_add,
	  USER, NOBODY, 1, "Add objects: a report from an envelope",
	  TAXII },
	{ "GET", "/taxii2/api/collections/{key}/objects/{key}/",
	  csip_api_taxii_object, USER, NOBODY, 0,
	  "One object of a TAXII collection", TAXII_STIX },
	{ "DELETE", "/taxii2/api/collections/{key}/objects/{key}/",
	  csip_api_taxii_delete, USER, NOBODY, 1,
	  "Delete an object (refused: see the permissions)", TAXII },
	{ "GET", "/taxii2/api/collections/{key}/objects/{key}/versions/",
	  csip_api_taxii_versions, USER, NOBODY, 0,
	  "The versions of one object of a TAXII collection", TAXII },
	/* Cross-sectional analysis for the hub (api_correlate.c). */
	{ "GET", "/api/v1/campaigns", csip_api_campaign_list, HUB, NOBODY, 0,
	  "Campaigns: reports linked by shared indicators", 0 },
	{ "GET", "/api/v1/campaigns/exclusions", csip_api_exclusion_list, HUB,
	  NOBODY, 0, "Indicator values excluded from linking", 0 },
	{ "POST", "/api/v1/campaigns/exclusions", csip_api_exclusion_create,
	  HUB, JSON, 1, "Exclude an indicator value from linking", 0 },
	{ "GET", "/api/v1/campaigns/{id}", csip_api_campaign_get, HUB, NOBODY,
	  0, "One campaign with its reports and links", 0 },
	{ "PATCH", "/api/v1/campaigns/{id}", csip_api_campaign_patch, HUB,
	  JSON, 1, "Name a campaign", 0 },
	{ "POST", "/api/v1/campaigns/{id}/merge", csip_api_campaign_merge, HUB,
	  JSON, 1, "Merge campaigns into this one", 0 },
	{ "POST", "/api/v1/campaigns/{id}/split", csip_api_campaign_split, HUB,
	  JSON, 1, "Split reports off a campaign", 0 },
	{ "GET", "/api/v1/alerts", csip_api_alert_list, HUB, NOBODY, 0,
	  "Early-warning alerts: reports linked across organisations", 0 },
	{ "GET", "/api/v1/warninglist", csip_api_warninglist_list, HUB, NOBODY,
	  0, "Warning-list entries: values that never link", 0 },
	{ "POST", "/api/v1/warninglist", csip_api_warninglist_add, HUB, JSON, 1,
	  "Add a warning-list entry", 0 },
	{ "DELETE", "/api/v1/warninglist/{id}", csip_api_warninglist_remove,
	  HUB, NOBODY, 1, "Remove a warning-list entry", 0 },
	{ NULL, NULL, NULL, 0, 0, 0, NULL, 0 }
};

const csip_route *
csip_api_routes(void)
{
	return routes;
}

/* Match PATH against PATTERN segment by segment; {id} takes a positive
 * decimal id. */
static int
match_path(const char *pattern, const char *path, csip_req *rq)
{
	int n = 0, nkeys = 0;

	while (*pattern && *path) {
		if (strncmp(pattern, "{key}", 5) == 0) {
			size_t k = 0;

			while (g_ascii_isalnum(path[k]) || path[k] == '-')
				k++;
			if (k == 0 || k >= sizeof rq->key || nkeys == 2)
				return 0;
			if (rq)
				g_strlcpy(nkeys ? rq->key2 : rq->key, path,
					  k + 1);
			nkeys++;
			pattern += 5;
			path += k;
			continue;
		}
		if (strncmp(pattern, "{id}", 4) == 0) {
			char *end;
			gint64 v;

			if (!g_ascii_isdigit(*path))
				return 0;
			v = g_ascii_strtoll(path, &end, 10);
			if (v <= 0 || (*end && *end != '/') ||
			    n == CSIP_API_MAX_PARAMS || end - path > 18)
				return 0;
			if (rq)
				rq->ids[n] = v;
			n++;
			pattern += 4;
			path = end;
			continue;
		}
		if (*pattern != *path)
			return 0;
		pattern++;
		path++;
	}
	if (*pattern || *path)
		return 0;
	if (rq)
		rq->n_ids = n;
	return 1;
}

const csip_route *
csip_api_match(const char *method, const char *path, csip_req *rq,
	       int *path_known)
{
	*path_known = 0;
	for (const csip_route *r = routes; r->method; r++) {
		if (!match_path(r->pattern, path, NULL))
			continue;
		if (strcmp(r->method, method) == 0) {
			match_path(r->pattern, path, rq);
			return r;
		}
		*path_known = 1;
	}
	return NULL;
}

int
csip_api_status(int rc)
{
	switch (rc) {
	case CSIP_OK: return 200;
	case CSIP_EINVAL: return 400;
	case CSIP_EPERM: return 403;
	case CSIP_ENOTFOUND: return 404;
	case CSIP_EEXISTS: return 409;
	case CSIP_EBUSY: return 409;
	case CSIP_ETOOBIG: return 413;
	case CSIP_ECONFIG: return 500;
	default: return 500;
	}
}

static const char *
status_code_name(int status)
{
	switch (status) {
	case 400: return "bad_request";
	case 401: return "unauthorized";
	case 403: return "forbidden";
	case 404: return "not_found";
	case 405: return "method_not_allowed";
	case 409: return "conflict";
	case 413: return "payload_too_large";
	case 415: return "unsupported_media_type";
	case 429: return "too_many_requests";
	case 503: return "unavailable";
	default: return status >= 500 ? "internal" : "error";
	}
}

void
csip_api_error(csip_resp *rs, int status, const char *message)
{
	json_decref(rs->json);
	g_clear_pointer(&rs->raw, g_free);
	if (rs->fd > 0)
		close(rs->fd);
	rs->fd = 0;
	rs->status = status;
	rs->content_type = NULL;
	rs->json = json_pack("{s{ssss}}", "error", "code",
			     status_code_name(status), "message",
			     message && *message ? message : "error");
}

char *
csip_api_hide_internal(csip_resp *rs, int hub, const char *ref)
{
	const char *m;
	char *orig, msg[160];

	if (rs->status < 500 || rs->json == NULL)
		return NULL;
	m = json_string_value(json_object_get(json_object_get(rs->json,
		"error"), "message"));
	if (m == NULL)
		return NULL;
	orig = g_strdup(m);
	if (hub)
		return orig;
	g_snprintf(msg, sizeof msg, "the server could not answer (reference "
		   "%s); its operator finds the cause in the server's log "
		   "under that reference", ref);
	csip_api_error(rs, rs->status, msg);
	return orig;
}

typedef struct spool {
	FILE *f;
	uint64_t n;
} spool;

static int
spool_write(void *ud, const char *data, size_t len)
{
	spool *sp = ud;

	if (len && fwrite(data, 1, len, sp->f) != len)
		return csip_error_set(CSIP_EIO, "cannot spool the answer: %s",
				      g_strerror(errno));
	sp->n += len;
	return CSIP_OK;
}

int
csip_api_respond_stream(csip_resp *rs, const char *content_type,
			csip_api_producer produce, void *ud)
{
	spool sp = { NULL, 0 };
	int fd, rc;

	if ((sp.f = tmpfile()) == NULL)
		return csip_error_set(CSIP_EIO, "cannot make a temporary file: "
				      "%s", g_strerror(errno));
	rc = produce(ud, spool_write, &sp);
	if (rc == CSIP_OK && fflush(sp.f) != 0)
		rc = csip_error_set(CSIP_EIO, "cannot spool the answer: %s",
				    g_strerror(errno));
	if (rc < 0) {
		fclose(sp.f);
		return rc;
	}
	/* MHD reads from the descriptor and closes it when done. */
	fd = dup(fileno(sp.f));
	fclose(sp.f);
	if (fd < 0)
		return csip_error_set(CSIP_EIO, "dup: %s", g_strerror(errno));
	rs->fd = fd;
	rs->fd_size = sp.n;
	rs->content_type = content_type;
	return CSIP_OK;
}

const char *
csip_api_openapi(void)
{
	extern const char csip_openapi_json[];

	return csip_openapi_json;
}

int
csip_api_known_fields(json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		const char *const *a;

		for (a = allowed; *a; a++)
			if (strcmp(*a, key) == 0)
				break;
		if (*a == NULL) {
			GString *list = g_string_new(NULL);
			int rc;

			for (a = allowed; *a; a++)
				g_string_append_printf(list, "%s%s",
					a == allowed ? "" : ", ", *a);
			rc = csip_error_set(CSIP_EINVAL, "unknown field \"%s\": "
				"this request takes %s", key, list->str);
			g_string_free(list, TRUE);
			return rc;
		}
	}
	return CSIP_OK;
}

int
csip_api_get_str(json_t *obj, const char *key, const char **out)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v))
		return CSIP_OK;
	if (!json_is_string(v))
		return csip_error_set(CSIP_EINVAL, "field \"%s\" must be a "
				      "string", key);
	*out = json_string_value(v);
	return CSIP_OK;
}

int
csip_api_get_int(json_t *obj, const char *key, int64_t *out, int *present)
{
	json_t *v = json_object_get(obj, key);

	if (present)
		*present = 0;
	if (v == NULL || json_is_null(v))
		return CSIP_OK;
	if (!json_is_integer(v))
		return csip_error_set(CSIP_EINVAL, "field \"%s\" must be an "
				      "integer", key);
	*out = json_integer_value(v);
	if (present)
		*present = 1;
	return CSIP_OK;
}

int
csip_api_get_strv(json_t *obj, const char *key, const char ***out)
{
	json_t *v = json_object_get(obj, key), *e;
	const char **vec;
	size_t i;

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return CSIP_OK;
	if (!json_is_array(v))
		return csip_error_set(CSIP_EINVAL, "field \"%s\" must be an "
				      "array of strings", key);
	vec = g_new0(const char *, json_array_size(v) + 1);
	json_array_foreach(v, i, e) {
		if (!json_is_string(e)) {
			g_free(vec);
			return csip_error_set(CSIP_EINVAL, "field \"%s\"[%zu] "
				"must be a string", key, i);
		}
		vec[i] = json_string_value(e);
	}
	*out = vec;
	return CSIP_OK;
}

/* ---- handlers of no particular area ----------------------------------- */

int
csip_api_healthz(csip_req *rq, csip_resp *rs)
{
	int64_t one = 0;
	int rc = csip_store_query_int64(csip_hub_store(rq->hub), &one,
					"SELECT 1", NULL);

	if (rc < 0) {
		csip_api_error(rs, 503, csip_error_last());
		return CSIP_OK;
	}
	rs->json = json_pack("{ssss}", "status", "ok", "database",
			     csip_store_backend_name(csip_hub_store(rq->hub)));
	return CSIP_OK;
}

int
csip_api_metrics(csip_req *rq, csip_resp *rs)
{
	rs->raw = csip_metrics_render(rq->metrics, rq->hub);
	rs->raw_len = strlen(rs->raw);
	rs->content_type = "text/plain; version=0.0.4; charset=utf-8";
	return CSIP_OK;
}

int
csip_api_openapi_doc(csip_req *rq, csip_resp *rs)
{
	const char *doc = csip_api_openapi();

	rs->raw = g_strdup(doc);
	rs->raw_len = strlen(doc);
	rs->content_type = "application/json";
	return CSIP_OK;
}

int
csip_api_me(csip_req *rq, csip_resp *rs)
{
	rs->json = json_pack("{ss ss ss ss ss sb}", "user", rq->who.user, "org",
		rq->who.org, "user_role", rq->who.user_role, "org_role",
		rq->who.org_role, "actor", rq->actor, "read_only",
		rq->who.read_only);
	return CSIP_OK;
}
