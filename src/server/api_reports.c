/*
 * api_reports.c - the provide and analyse steps of the cycle: reports
 * submitted over HTTP, a provider's view of its own reports, and the hub's
 * triage queue and review.
 *
 * Who may read a report is decided by csip_policy_report_access(): the
 * hub and the report's provider, nobody else.  Anyone else gets the same
 * 404 as for a report that does not exist.
 */
#include "server/api.h"
#include "lib/org.h"
#include "lib/report.h"
#include "lib/stix.h"
#include "util/error.h"

#include <glib.h>
#include <inttypes.h>
#include <string.h>

static int
is_hub(const csip_req *rq)
{
	return rq->reader.hub;
}

/* A positive integer query parameter, or DEF when absent. */
static int
query_int(csip_req *rq, const char *key, int64_t def, int64_t max,
	  int64_t *out)
{
	const char *v = rq->query(rq, key);
	char *end;
	gint64 n;

	*out = def;
	if (v == NULL)
		return CSIP_OK;
	n = g_ascii_strtoll(v, &end, 10);
	if (*v == '\0' || *end || n < 1 || n > max)
		return csip_error_set(CSIP_EINVAL, "query parameter %s=\"%s\": "
			"use a whole number from 1 to %" PRId64, key, v, max);
	*out = n;
	return CSIP_OK;
}

static void
ingest_reply(csip_resp *rs, const csip_ingest_result *res)
{
	static const char *const outcomes[] = { "", "stored", "duplicate",
		"campaign_copy" };

	rs->status = res->outcome == CSIP_INGEST_STORED ? 201 : 200;
	rs->json = json_pack("{sIsssIsIsb}", "id", (json_int_t)res->report_id,
		"outcome", outcomes[res->outcome], "indicators",
		(json_int_t)res->indicators, "warnings",
		(json_int_t)res->warnings, "shareable", res->shareable);
	g_snprintf(rs->location, sizeof rs->location, "/api/v1/reports/%"
		   PRId64, res->report_id);
}

int
csip_api_report_create(csip_req *rq, csip_resp *rs)
{
	static const char *const fields[] = { "indicators", "text",
		"permission", "attribution", "tlp", NULL };
	csip_report_in in = { 0 };
	csip_ingest_result res = { 0 };
	const char *text = NULL;
	json_t *list;
	int rc;

	in.org = rq->who.org;
	in.source = "api";
	if (rq->json == NULL) {
		/* A raw mail or text: the sharing settings come in the query
		 * string. */
		in.permission = rq->query(rq, "permission");
		in.attribution = rq->query(rq, "attribution");
		in.tlp = rq->query(rq, "tlp");
		if ((rc = csip_report_check_in(&in)) < 0)
			return rc;
		if (rq->body_len == 0)
			return csip_error_set(CSIP_EINVAL, "the body is empty: "
				"send the reported message or text");
		if (strcmp(rq->content_type, "message/rfc822") == 0)
			rc = csip_report_ingest_mail(rq->hub, rq->actor, &in,
				rq->body, rq->body_len, &res);
		else
			rc = csip_report_submit_text(rq->hub, rq->actor, &in,
				rq->body, rq->body_len, &res);
		if (rc < 0)
			return rc;
		ingest_reply(rs, &res);
		return CSIP_OK;
	}
	if (strcmp(rq->content_type, "application/stix+json") == 0) {
		/* A STIX 2.1 bundle: the sharing settings come in the query
		 * string, as for a raw mail. */
		in.permission = rq->query(rq, "permission");
		in.attribution = rq->query(rq, "attribution");
		in.tlp = rq->query(rq, "tlp");
		if ((rc = csip_report_submit_stix(rq->hub, rq->actor, &in,
						  rq->json, &res)) < 0)
			return rc;
		ingest_reply(rs, &res);
		return CSIP_OK;
	}
	if ((rc = csip_api_known_fields(rq->json, fields)) < 0 ||
	    (rc = csip_api_get_str(rq->json, "permission", &in.permission)) < 0
	    || (rc = csip_api_get_str(rq->json, "attribution",
				      &in.attribution)) < 0 ||
	    (rc = csip_api_get_str(rq->json, "tlp", &in.tlp)) < 0 ||
	    (rc = csip_api_get_str(rq->json, "text", &text)) < 0)
		return rc;
	if ((rc = csip_report_check_in(&in)) < 0)
		return rc;
	list = json_object_get(rq->json, "indicators");
	if ((list != NULL) == (text != NULL))
		return csip_error_set(CSIP_EINVAL, "give either \"indicators\" "
			"(an array) or \"text\" (a string)");
	if (list) {
		if (!json_is_array(list) || json_array_size(list) == 0)
			return csip_error_set(CSIP_EINVAL, "field \"indicators\" "
				"must be a non-empty array");
		rc = csip_report_submit_indicators(rq->hub, rq->actor, &in,
						   list, &res);
	} else {
		rc = csip_report_submit_text(rq->hub, rq->actor, &in, text,
					     strlen(text), &res);
	}
	if (rc < 0)
		return rc;
	ingest_reply(rs, &res);
	return CSIP_OK;
}

int
csip_api_report_list(csip_req *rq, csip_resp *rs)
{
	csip_report_query q = { 0 };
	json_t *arr = NULL;
	int64_t next = 0, limit, before;
	const char *org = rq->query(rq, "org");
	int rc;

	if ((rc = query_int(rq, "limit", 100, 1000, &limit)) < 0 ||
	    (rc = query_int(rq, "before", 0, INT64_MAX, &before)) < 0)
		return rc;
	q.limit = (int)limit;
	q.before_id = before;
	q.status = rq->query(rq, "status");
	if (!is_hub(rq))
		q.org_id = rq->reader.org_id;
	else if (org && (rc = csip_org_id(rq->hub, org, &q.org_id)) < 0)
		return rc;
	if ((rc = csip_report_query_list(rq->hub, &q, &arr, &next)) < 0)
		return rc;
	rs->json = json_pack("{so so*}", "reports", arr, "next",
			     next ? json_integer(next) : json_null());
	return CSIP_OK;
}

/* Load a report the caller may read, or the 404 for everyone else. */
static int
readable_report(csip_req *rq, int64_t id, csip_access *access)
{
	int rc = csip_policy_report_access(csip_hub_store(rq->hub),
					   &rq->reader, id, access);

	if (rc < 0)
		return rc;
	if (*access == CSIP_ACCESS_NONE)
		return csip_error_set(CSIP_ENOTFOUND, "report %" PRId64
			" does not exist or is not yours", id);
	return CSIP_OK;
}

int
csip_api_report_get(csip_req *rq, csip_resp *rs)
{
	csip_access access;
	json_t *rep = NULL, *removed = NULL;
	int rc;

	if ((rc = readable_report(rq, rq->ids[0], &access)) < 0)
		return rc;
	if ((rc = csip_report_get(rq->hub, rq->ids[0], &rep)) < 0)
		return rc;
	if ((rc = csip_report_removed(rq->hub, rq->ids[0], &removed)) < 0) {
		json_decref(rep);
		return rc;
	}
	json_object_set_new(rep, "removed", removed);
	rs->json = rep;
	return CSIP_OK;
}

int
csip_api_report_anonymised(csip_req *rq, csip_resp *rs)
{
	csip_access access;
	char *msg = NULL;
	size_t len = 0;
	int rc;

	if ((rc = readable_report(rq, rq->ids[0], &access)) < 0)
		return rc;
	if ((rc = csip_report_anonymised(rq->hub, rq->ids[0], &msg, &len)) < 0)
		return rc;
	rs->raw = msg;
	rs->raw_len = len;
	rs->content_type = "message/rfc822";
	return CSIP_OK;
}

/* The hub's review: {status, analysis, tags, attack_type, severity,
 * indicators: [{type, value, shareable}]}. */
static int
review(csip_req *rq, csip_resp *rs)
{
	static const char *const fields[] = { "status", "analysis", "tags",
		"attack_type", "severity", "indicators", NULL };
	csip_report_review rv = { 0 };
	const char **tags = NULL, **types = NULL, **values = NULL;
	int *share = NULL;
	json_t *inds, *e;
	size_t i;
	int rc;

	if ((rc = csip_api_known_fields(rq->json, fields)) < 0 ||
	    (rc = csip_api_get_str(rq->json, "status", &rv.status)) < 0 ||
	    (rc = csip_api_get_str(rq->json, "analysis", &rv.analysis)) < 0 ||
	    (rc = csip_api_get_str(rq->json, "attack_type",
				   &rv.attack_type)) < 0 ||
	    (rc = csip_api_get_str(rq->json, "severity", &rv.severity)) < 0 ||
	    (rc = csip_api_get_strv(rq->json, "tags", &tags)) < 0)
		goto out;
	rv.tags = (char **)tags;
	inds = json_object_get(rq->json, "indicators");
	if (inds && !json_is_array(inds)) {
		rc = csip_error_set(CSIP_EINVAL, "field \"indicators\" must be "
			"an array of {type, value, shareable}");
		goto out;
	}
	if (inds) {
		size_t n = json_array_size(inds);

		types = g_new0(const char *, n + 1);
		values = g_new0(const char *, n + 1);
		share = g_new0(int, n + 1);
		json_array_foreach(inds, i, e) {
			static const char *const ifields[] = { "type", "value",
				"shareable", NULL };
			json_t *sh = json_object_get(e, "shareable");

			if (!json_is_object(e) ||
			    csip_api_known_fields(e, ifields) < 0 ||
			    !json_is_string(json_object_get(e, "type")) ||
			    !json_is_string(json_object_get(e, "value")) ||
			    !json_is_boolean(sh)) {
				rc = csip_error_set(CSIP_EINVAL, "indicators[%zu]"
					" must be {\"type\": string, \"value\": "
					"string, \"shareable\": true|false}", i);
				goto out;
			}
			types[i] = json_string_value(json_object_get(e,
								     "type"));
			values[i] = json_string_value(json_object_get(e,
								      "value"));
			share[i] = json_is_true(sh);
		}
		rv.mark_types = types;
		rv.mark_values = values;
		rv.mark_shareable = share;
		rv.n_marks = n;
	}
	if ((rc = csip_report_review_apply(rq->hub, rq->actor, rq->ids[0],
					   &rv)) < 0)
		goto out;
	rc = csip_report_get(rq->hub, rq->ids[0], &rs->json);
out:
	g_free(tags);
	g_free(types);
	g_free(values);
	g_free(share);
	return rc;
}

int
csip_api_report_patch(csip_req *rq, csip_resp *rs)
{
	static const char *const fields[] = { "permission", "attribution",
		"tlp", NULL };
	const char *perm = NULL, *attr = NULL, *tlp = NULL;
	csip_access access;
	int rc;

	if ((rc = readable_report(rq, rq->ids[0], &access)) < 0)
		return rc;
	if (access == CSIP_ACCESS_HUB)
		return review(rq, rs);
	/* The provider: only its sharing settings, until shared. */
	if ((rc = csip_api_known_fields(rq->json, fields)) < 0 ||
	    (rc = csip_api_get_str(rq->json, "permission", &perm)) < 0 ||
	    (rc = csip_api_get_str(rq->json, "attribution", &attr)) < 0 ||
	    (rc = csip_api_get_str(rq->json, "tlp", &tlp)) < 0)
		return rc;
	if ((rc = csip_report_set_sharing(rq->hub, rq->actor, rq->ids[0],
					  rq->reader.org_id, perm, attr,
					  tlp)) < 0)
		return rc;
	return csip_report_get(rq->hub, rq->ids[0], &rs->json);
}

int
csip_api_triage(csip_req *rq, csip_resp *rs)
{
	csip_report_query q = { 0 };
	json_t *arr = NULL, *e, *out;
	int64_t next = 0, limit, before;
	size_t i;
	int rc;

	if ((rc = query_int(rq, "limit", 20, 100, &limit)) < 0 ||
	    (rc = query_int(rq, "before", 0, INT64_MAX, &before)) < 0)
		return rc;
	q.limit = (int)limit;
	q.before_id = before;
	q.status = "new";
	if ((rc = csip_report_query_list(rq->hub, &q, &arr, &next)) < 0)
		return rc;
	out = json_array();
	json_array_foreach(arr, i, e) {
		int64_t id = json_integer_value(json_object_get(e, "id"));
		json_t *full = NULL, *removed = NULL;
		char *anon = NULL;
		size_t len = 0;

		if ((rc = csip_report_get(rq->hub, id, &full)) < 0 ||
		    (rc = csip_report_removed(rq->hub, id, &removed)) < 0) {
			json_decref(full);
			break;
		}
		json_object_set_new(full, "removed", removed);
		rc = csip_report_anonymised(rq->hub, id, &anon, &len);
		if (rc == CSIP_OK && g_utf8_validate(anon, (gssize)len, NULL))
			json_object_set_new(full, "anonymised",
					    json_stringn(anon, len));
		else
			json_object_set_new(full, "anonymised", json_null());
		g_free(anon);
		csip_error_clear();
		rc = CSIP_OK;
		json_array_append_new(out, full);
	}
	json_decref(arr);
	if (rc < 0) {
		json_decref(out);
		return rc;
	}
	rs->json = json_pack("{so so*}", "reports", out, "next",
			     next ? json_integer(next) : json_null());
	return CSIP_OK;
}
