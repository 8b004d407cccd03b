/*
 * api_correlate.c - cross-sectional analysis for the hub's analysts:
 * campaigns (list, read, name, merge, split), exclusions from linking,
 * early-warning alerts and the warning lists.
 *
 * Every route here is the hub's only (the route table says so); the
 * count of related organisations that participants see on an item is
 * added by api_items.c through csip_policy_related_orgs().
 */
#include "server/api.h"
#include "lib/campaign.h"
#include "lib/correlate.h"
#include "util/error.h"

#include <glib.h>
#include <inttypes.h>
#include <string.h>

#define MAX_IDS 10000

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

/* FIELD of the body as an array of positive ids (g_free *out). */
static int
get_ids(json_t *body, const char *field, int64_t **out, size_t *n)
{
	json_t *a = json_object_get(body, field), *e;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!json_is_array(a) || json_array_size(a) == 0 ||
	    json_array_size(a) > MAX_IDS)
		return csip_error_set(CSIP_EINVAL, "field \"%s\" is required: an "
			"array of 1 to %d ids", field, MAX_IDS);
	*out = g_new(int64_t, json_array_size(a));
	json_array_foreach(a, i, e) {
		if (!json_is_integer(e) || json_integer_value(e) < 1) {
			g_clear_pointer(out, g_free);
			return csip_error_set(CSIP_EINVAL, "%s[%zu] must be a "
				"positive id", field, i);
		}
		(*out)[i] = json_integer_value(e);
	}
	*n = json_array_size(a);
	return CSIP_OK;
}

int
csip_api_campaign_list(csip_req *rq, csip_resp *rs)
{
	json_t *arr = NULL;
	int64_t limit, before, next = 0;
	int rc;

	if ((rc = query_int(rq, "limit", 100, 1000, &limit)) < 0 ||
	    (rc = query_int(rq, "before", 0, INT64_MAX, &before)) < 0 ||
	    (rc = csip_campaign_list(rq->hub, before, (int)limit, &arr,
				     &next)) < 0)
		return rc;
	rs->json = json_pack("{so so*}", "campaigns", arr, "next",
			     next ? json_integer(next) : json_null());
	return CSIP_OK;
}

int
csip_api_campaign_get(csip_req *rq, csip_resp *rs)
{
	return csip_campaign_get(rq->hub, rq->ids[0], &rs->json);
}

int
csip_api_campaign_patch(csip_req *rq, csip_resp *rs)
{
	static const char *const fields[] = { "name", NULL };
	json_t *name = json_object_get(rq->json, "name");
	int rc;

	if ((rc = csip_api_known_fields(rq->json, fields)) < 0)
		return rc;
	if (name == NULL || !(json_is_string(name) || json_is_null(name)))
		return csip_error_set(CSIP_EINVAL, "field \"name\" is required: "
			"a string, or null to remove the name");
	rc = csip_campaign_name(rq->hub, rq->actor, rq->ids[0],
				json_string_value(name));
	return rc < 0 ? rc : csip_campaign_get(rq->hub, rq->ids[0],
					       &rs->json);
}

int
csip_api_campaign_merge(csip_req *rq, csip_resp *rs)
{
	static const char *const fields[] = { "campaigns", NULL };
	int64_t *ids = NULL;
	size_t n = 0;
	int rc;

	if ((rc = csip_api_known_fields(rq->json, fields)) < 0 ||
	    (rc = get_ids(rq->json, "campaigns", &ids, &n)) < 0)
		return rc;
	rc = csip_campaign_merge(rq->hub, rq->actor, rq->ids[0], ids, n);
	g_free(ids);
	return rc < 0 ? rc : csip_campaign_get(rq->hub, rq->ids[0],
					       &rs->json);
}

int
csip_api_campaign_split(csip_req *rq, csip_resp *rs)
{
	static const char *const fields[] = { "reports", NULL };
	int64_t *ids = NULL, *made = NULL;
	size_t n = 0, n_made = 0;
	json_t *camp = NULL, *created;
	int rc;

	if ((rc = csip_api_known_fields(rq->json, fields)) < 0 ||
	    (rc = get_ids(rq->json, "reports", &ids, &n)) < 0)
		return rc;
	rc = csip_campaign_split(rq->hub, rq->actor, rq->ids[0], ids, n, &made,
				 &n_made);
	if (rc == CSIP_OK)
		rc = csip_campaign_get(rq->hub, rq->ids[0], &camp);
	if (rc == CSIP_OK) {
		created = json_array();
		for (size_t i = 0; i < n_made; i++)
			json_array_append_new(created, json_integer(made[i]));
		rs->json = json_pack("{so so}", "campaign", camp, "created",
				     created);
	}
	g_free(ids);
	g_free(made);
	return rc;
}

int
csip_api_exclusion_create(csip_req *rq, csip_resp *rs)
{
	static const char *const fields[] = { "value", "reason", NULL };
	const char *value = NULL, *reason = NULL;
	size_t n = 0;
	int rc;

	if ((rc = csip_api_known_fields(rq->json, fields)) < 0 ||
	    (rc = csip_api_get_str(rq->json, "value", &value)) < 0 ||
	    (rc = csip_api_get_str(rq->json, "reason", &reason)) < 0)
		return rc;
	if (value == NULL)
		return csip_error_set(CSIP_EINVAL, "field \"value\" is required: "
			"the indicator to exclude from linking");
	if ((rc = csip_campaign_exclude(rq->hub, rq->actor, value, reason,
					&n)) < 0)
		return rc;
	rs->status = 201;
	rs->json = json_pack("{ss sI}", "value", value, "recomputed",
			     (json_int_t)n);
	return CSIP_OK;
}

int
csip_api_exclusion_list(csip_req *rq, csip_resp *rs)
{
	json_t *arr = NULL;
	int rc = csip_campaign_exclusions(rq->hub, &arr);

	if (rc < 0)
		return rc;
	rs->json = json_pack("{so}", "exclusions", arr);
	return CSIP_OK;
}

int
csip_api_alert_list(csip_req *rq, csip_resp *rs)
{
	json_t *arr = NULL;
	int64_t limit, before, next = 0;
	int rc;

	if ((rc = query_int(rq, "limit", 100, 1000, &limit)) < 0 ||
	    (rc = query_int(rq, "before", 0, INT64_MAX, &before)) < 0 ||
	    (rc = csip_alert_list(rq->hub, before, (int)limit, &arr,
				  &next)) < 0)
		return rc;
	rs->json = json_pack("{so so*}", "alerts", arr, "next",
			     next ? json_integer(next) : json_null());
	return CSIP_OK;
}

int
csip_api_warninglist_list(csip_req *rq, csip_resp *rs)
{
	json_t *arr = NULL;
	int rc = csip_warninglist_list(rq->hub, rq->query(rq, "list"), &arr);

	if (rc < 0)
		return rc;
	rs->json = json_pack("{so}", "entries", arr);
	return CSIP_OK;
}

int
csip_api_warninglist_add(csip_req *rq, csip_resp *rs)
{
	static const char *const fields[] = { "value", "list", NULL };
	const char *value = NULL, *list = NULL;
	json_t *all = NULL, *e;
	int64_t id = 0;
	size_t i;
	int rc;

	if ((rc = csip_api_known_fields(rq->json, fields)) < 0 ||
	    (rc = csip_api_get_str(rq->json, "value", &value)) < 0 ||
	    (rc = csip_api_get_str(rq->json, "list", &list)) < 0)
		return rc;
	if (value == NULL)
		return csip_error_set(CSIP_EINVAL, "field \"value\" is required: "
			"the domain, network or value to keep from linking");
	if ((rc = csip_warninglist_add(rq->hub, rq->actor, list, value,
				       &id)) < 0 ||
	    (rc = csip_warninglist_list(rq->hub, NULL, &all)) < 0)
		return rc;
	json_array_foreach(all, i, e)
		if (json_integer_value(json_object_get(e, "id")) == id)
			rs->json = json_incref(e);
	json_decref(all);
	rs->status = 201;
	g_snprintf(rs->location, sizeof rs->location,
		   "/api/v1/warninglist/%" PRId64, id);
	return CSIP_OK;
}

int
csip_api_warninglist_remove(csip_req *rq, csip_resp *rs)
{
	int rc = csip_warninglist_remove(rq->hub, rq->actor, rq->ids[0]);

	if (rc < 0)
		return rc;
	rs->json = json_pack("{sI}", "removed", (json_int_t)rq->ids[0]);
	return CSIP_OK;
}
