/*
 * api_items.c - the share and feedback steps of the cycle: items made by
 * the hub, the providers' consent, publishing, reads, search, feedback.
 *
 * Every read goes through the item and feedback modules, which ask
 * csip_policy_item_access(); this file never decides who sees what.  An
 * item a caller may not read answers 404, exactly as one that does not
 * exist.
 */
#include "server/api.h"
#include "lib/feedback.h"
#include "lib/indicator.h"
#include "lib/item.h"
#include "util/error.h"

#include <glib.h>
#include <inttypes.h>
#include <string.h>

static const char *const item_fields[] = { "title", "analysis", "tlp",
	"audience", "sigs", "attack_type", "severity", "tags", "reports",
	"indicators", NULL };

/* Fill SPEC from the request's JSON.  Arrays are allocated into the
 * out-parameters, which the caller g_free()s. */
static int
item_spec(json_t *j, csip_item_spec *spec, const char ***sigs,
	  const char ***tags, int64_t **reports, csip_item_ind **inds)
{
	json_t *a, *e;
	size_t i;
	int rc;

	memset(spec, 0, sizeof *spec);
	if ((rc = csip_api_known_fields(j, item_fields)) < 0 ||
	    (rc = csip_api_get_str(j, "title", &spec->title)) < 0 ||
	    (rc = csip_api_get_str(j, "analysis", &spec->analysis)) < 0 ||
	    (rc = csip_api_get_str(j, "tlp", &spec->tlp)) < 0 ||
	    (rc = csip_api_get_str(j, "audience", &spec->audience)) < 0 ||
	    (rc = csip_api_get_str(j, "attack_type", &spec->attack_type)) < 0
	    || (rc = csip_api_get_str(j, "severity", &spec->severity)) < 0 ||
	    (rc = csip_api_get_strv(j, "sigs", sigs)) < 0 ||
	    (rc = csip_api_get_strv(j, "tags", tags)) < 0)
		return rc;
	spec->sigs = (char **)*sigs;
	spec->tags = (char **)*tags;
	if ((a = json_object_get(j, "reports")) != NULL) {
		if (!json_is_array(a))
			return csip_error_set(CSIP_EINVAL, "field \"reports\" "
				"must be an array of report ids");
		*reports = g_new0(int64_t, json_array_size(a) + 1);
		json_array_foreach(a, i, e) {
			if (!json_is_integer(e) || json_integer_value(e) < 1)
				return csip_error_set(CSIP_EINVAL, "reports[%zu]"
					" must be a report id", i);
			(*reports)[i] = json_integer_value(e);
		}
		spec->report_ids = *reports;
		spec->n_reports = json_array_size(a);
	}
	if ((a = json_object_get(j, "indicators")) != NULL) {
		if (!json_is_array(a))
			return csip_error_set(CSIP_EINVAL, "field \"indicators\""
				" must be an array of {type, value, role}");
		*inds = g_new0(csip_item_ind, json_array_size(a) + 1);
		json_array_foreach(a, i, e) {
			static const char *const f[] = { "type", "value",
				"role", NULL };
			json_t *role = json_object_get(e, "role");

			if (!json_is_object(e) || csip_api_known_fields(e, f)
			    < 0 || !json_is_string(json_object_get(e, "type"))
			    || !json_is_string(json_object_get(e, "value")) ||
			    (role && !json_is_string(role)))
				return csip_error_set(CSIP_EINVAL,
					"indicators[%zu] must be {\"type\": "
					"string, \"value\": string, \"role\": "
					"optional string}", i);
			(*inds)[i].type = json_string_value(json_object_get(e,
				"type"));
			(*inds)[i].value = json_string_value(json_object_get(e,
				"value"));
			(*inds)[i].role = role ? json_string_value(role) : NULL;
		}
		spec->indicators = *inds;
		spec->n_indicators = json_array_size(a);
		spec->set_indicators = 1;
	}
	return CSIP_OK;
}

static int
item_reply(csip_req *rq, csip_resp *rs, int64_t id, int status)
{
	int rc = csip_item_get(rq->hub, &rq->reader, id, &rs->json);

	if (rc == CSIP_OK)
		rs->status = status;
	return rc;
}

int
csip_api_item_create(csip_req *rq, csip_resp *rs)
{
	csip_item_spec spec;
	const char **sigs = NULL, **tags = NULL;
	int64_t *reports = NULL, id = 0;
	csip_item_ind *inds = NULL;
	int rc;

	rc = item_spec(rq->json, &spec, &sigs, &tags, &reports, &inds);
	if (rc == CSIP_OK && spec.title == NULL)
		rc = csip_error_set(CSIP_EINVAL, "field \"title\" is required");
	if (rc == CSIP_OK && spec.audience == NULL)
		rc = csip_error_set(CSIP_EINVAL, "field \"audience\" is "
			"required: sig, community, partners or public");
	if (rc == CSIP_OK && spec.n_reports == 0)
		rc = csip_error_set(CSIP_EINVAL, "field \"reports\" is required:"
			" the ids of the reports the item is made from");
	if (rc == CSIP_OK && !spec.set_indicators)
		spec.indicators = NULL;
	if (rc == CSIP_OK)
		rc = csip_item_create(rq->hub, rq->actor, &spec, &id);
	if (rc == CSIP_OK) {
		g_snprintf(rs->location, sizeof rs->location,
			   "/api/v1/items/%" PRId64, id);
		rc = item_reply(rq, rs, id, 201);
	}
	g_free(sigs);
	g_free(tags);
	g_free(reports);
	g_free(inds);
	return rc;
}

int
csip_api_item_patch(csip_req *rq, csip_resp *rs)
{
	csip_item_spec spec;
	const char **sigs = NULL, **tags = NULL;
	int64_t *reports = NULL;
	csip_item_ind *inds = NULL;
	int rc;

	rc = item_spec(rq->json, &spec, &sigs, &tags, &reports, &inds);
	if (rc == CSIP_OK)
		rc = csip_item_update(rq->hub, rq->actor, rq->ids[0], &spec);
	if (rc == CSIP_OK)
		rc = item_reply(rq, rs, rq->ids[0], 200);
	g_free(sigs);
	g_free(tags);
	g_free(reports);
	g_free(inds);
	return rc;
}

/* Query parameters of item lists and search. */
static int
list_query(csip_req *rq, csip_item_query *q)
{
	const char *v;
	char *end;

	memset(q, 0, sizeof *q);
	q->limit = 100;
	if ((v = rq->query(rq, "limit")) != NULL) {
		gint64 n = g_ascii_strtoll(v, &end, 10);

		if (*v == '\0' || *end || n < 1 || n > 1000)
			return csip_error_set(CSIP_EINVAL, "limit=\"%s\": use "
				"1 to 1000", v);
		q->limit = (int)n;
	}
	if ((v = rq->query(rq, "after")) != NULL) {
		gint64 n = g_ascii_strtoll(v, &end, 10);

		if (*v == '\0' || *end || n < 0)
			return csip_error_set(CSIP_EINVAL, "after=\"%s\": use "
				"the \"next\" value of the previous page", v);
		q->after_id = n;
	}
	if ((v = rq->query(rq, "since")) != NULL) {
		GDateTime *dt = g_date_time_new_from_iso8601(v, NULL);

		if (dt == NULL)
			return csip_error_set(CSIP_EINVAL, "since=\"%s\": use "
				"an ISO 8601 time such as 2026-04-01T00:00:00Z",
				v);
		g_date_time_unref(dt);
		q->since = v;
	}
	/* For providers, a status lists the items built on their reports
	 * (status=pending: waiting for their consent). */
	q->status = rq->query(rq, "status");
	return CSIP_OK;
}

static int
list_reply(csip_req *rq, csip_resp *rs, const csip_item_query *q)
{
	json_t *arr = NULL;
	int64_t next = 0;
	int rc = csip_item_list(rq->hub, &rq->reader, q, &arr, &next);

	if (rc < 0)
		return rc;
	rs->json = json_pack("{so so*}", "items", arr, "next",
			     next ? json_integer(next) : json_null());
	return CSIP_OK;
}

int
csip_api_item_list(csip_req *rq, csip_resp *rs)
{
	csip_item_query q;
	int rc = list_query(rq, &q);

	return rc < 0 ? rc : list_reply(rq, rs, &q);
}

int
csip_api_search(csip_req *rq, csip_resp *rs)
{
	csip_item_query q;
	const char *value = rq->query(rq, "value");
	const char *type = rq->query(rq, "type");
	csip_ind_type hint = CSIP_IND_UNKNOWN;
	csip_indicator *ind = NULL;
	int rc = list_query(rq, &q);

	if (rc < 0)
		return rc;
	if (value == NULL || *value == '\0')
		return csip_error_set(CSIP_EINVAL, "search needs value=: the "
			"indicator to look for (a domain, IP, URL, hash ...)");
	if (type && (hint = csip_ind_type_from_name(type)) == CSIP_IND_UNKNOWN)
		return csip_error_set(CSIP_EINVAL, "type=\"%s\" is not an "
			"indicator type: use domain, ipv4, url, sha256 ...",
			type);
	/* Canonicalise as stored, so that a defanged or mixed-case value
	 * finds the same items. */
	if ((rc = csip_indicator_parse(value, strlen(value), hint, &ind)) < 0)
		return csip_error_prefix(rc, "value=\"%s\": ", value);
	q.ind_type = csip_ind_type_name(ind->type);
	q.ind_value = ind->value;
	rc = list_reply(rq, rs, &q);
	csip_indicator_free(ind);
	return rc;
}

int
csip_api_item_get(csip_req *rq, csip_resp *rs)
{
	int64_t related = 0;
	int shown = 0;
	int rc = item_reply(rq, rs, rq->ids[0], 200);

	/* How many other organisations reported its indicators: the policy
	 * decides whether and what this reader may learn (issue #5). */
	if (rc == CSIP_OK)
		rc = csip_policy_related_orgs(csip_hub_store(rq->hub),
			&rq->reader, rq->ids[0], &related, &shown);
	if (rc == CSIP_OK && shown)
		json_object_set_new(rs->json, "related_orgs",
				    json_integer(related));
	return rc;
}

int
csip_api_item_submit(csip_req *rq, csip_resp *rs)
{
	int rc = csip_item_submit(rq->hub, rq->actor, rq->ids[0]);

	return rc < 0 ? rc : item_reply(rq, rs, rq->ids[0], 200);
}

int
csip_api_item_approval(csip_req *rq, csip_resp *rs)
{
	static const char *const fields[] = { "decision", "comment", NULL };
	const char *decision = NULL, *comment = NULL;
	csip_access access;
	int rc;

	if ((rc = csip_api_known_fields(rq->json, fields)) < 0 ||
	    (rc = csip_api_get_str(rq->json, "decision", &decision)) < 0 ||
	    (rc = csip_api_get_str(rq->json, "comment", &comment)) < 0)
		return rc;
	if (decision == NULL)
		return csip_error_set(CSIP_EINVAL, "field \"decision\" is "
			"required: approve or request_changes");
	rc = csip_policy_item_access(csip_hub_store(rq->hub), &rq->reader,
				     rq->ids[0], &access);
	if (rc < 0)
		return rc;
	if (access == CSIP_ACCESS_NONE)
		return csip_error_set(CSIP_ENOTFOUND, "item %" PRId64 " does "
			"not exist", rq->ids[0]);
	if (access != CSIP_ACCESS_PROVIDER)
		return csip_error_set(CSIP_EPERM, "only the providers of an "
			"item's reports approve it");
	rc = csip_item_decide(rq->hub, rq->actor, rq->ids[0],
			      rq->reader.org_id, decision, comment);
	return rc < 0 ? rc : item_reply(rq, rs, rq->ids[0], 200);
}

int
csip_api_item_publish(csip_req *rq, csip_resp *rs)
{
	size_t n = 0;
	int rc = csip_item_publish(rq->hub, rq->actor, rq->ids[0], &n);

	if (rc < 0)
		return rc;
	if ((rc = item_reply(rq, rs, rq->ids[0], 200)) < 0)
		return rc;
	json_object_set_new(rs->json, "recipients", json_integer((json_int_t)n));
	return CSIP_OK;
}

int
csip_api_item_withdraw(csip_req *rq, csip_resp *rs)
{
	int rc = csip_item_withdraw(rq->hub, rq->actor, rq->ids[0]);

	return rc < 0 ? rc : item_reply(rq, rs, rq->ids[0], 200);
}

int
csip_api_feedback_create(csip_req *rq, csip_resp *rs)
{
	static const char *const fields[] = { "kind", "count", "seen_at",
		"last_seen_at", "comment", "indicator", NULL };
	csip_feedback_in in = { 0 };
	json_t *ind;
	int64_t id = 0;
	int rc, replayed = 0;

	if ((rc = csip_api_known_fields(rq->json, fields)) < 0 ||
	    (rc = csip_api_get_str(rq->json, "kind", &in.kind)) < 0 ||
	    (rc = csip_api_get_int(rq->json, "count", &in.count, NULL)) < 0 ||
	    (rc = csip_api_get_str(rq->json, "seen_at", &in.seen_at)) < 0 ||
	    (rc = csip_api_get_str(rq->json, "last_seen_at",
				   &in.last_seen_at)) < 0 ||
	    (rc = csip_api_get_str(rq->json, "comment", &in.comment)) < 0)
		return rc;
	if ((ind = json_object_get(rq->json, "indicator")) != NULL) {
		static const char *const f[] = { "type", "value", NULL };

		if (!json_is_object(ind) || csip_api_known_fields(ind, f) < 0
		    || !json_is_string(json_object_get(ind, "type")) ||
		    !json_is_string(json_object_get(ind, "value")))
			return csip_error_set(CSIP_EINVAL, "field \"indicator\" "
				"must be {\"type\": string, \"value\": string}");
		in.indicator_type = json_string_value(json_object_get(ind,
							"type"));
		in.indicator_value = json_string_value(json_object_get(ind,
							"value"));
	}
	if (in.kind == NULL)
		return csip_error_set(CSIP_EINVAL, "field \"kind\" is required: "
			"sighting, false_positive, blocked or comment");
	/* Idempotency-Key (the IETF httpapi draft): a feedback sent again
	 * because its answer was lost is answered, not recorded again. */
	rc = csip_feedback_add_once(rq->hub, rq->actor, &rq->reader,
		rq->who.user_id, rq->ids[0], &in, rq->header ? rq->header(rq,
		"Idempotency-Key") : NULL, &id, &replayed);
	if (rc < 0)
		return rc;
	rs->status = replayed ? 200 : 201;
	rs->json = json_pack("{sIsIss}", "id", (json_int_t)id, "item",
			     (json_int_t)rq->ids[0], "kind", in.kind);
	return CSIP_OK;
}

int
csip_api_feedback_list(csip_req *rq, csip_resp *rs)
{
	json_t *arr = NULL;
	int rc = csip_feedback_list(rq->hub, &rq->reader, rq->ids[0], &arr);

	if (rc < 0)
		return rc;
	rs->json = json_pack("{so}", "feedback", arr);
	return CSIP_OK;
}
