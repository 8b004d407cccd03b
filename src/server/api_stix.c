/*
 * api_stix.c - shared items as STIX 2.1: one item's objects, and every
 * item the caller may read as one bundle, streamed.
 *
 * What a bundle holds is what csip_item_get/list give the caller (the
 * policy), converted by lib/stix.c; an item the caller may not read is the
 * same 404 as one that does not exist.
 */
#include "server/api.h"
#include "lib/stix.h"
#include "util/error.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#define STIX_TYPE "application/stix+json;version=2.1"

int
csip_api_item_stix(csip_req *rq, csip_resp *rs)
{
	json_t *objects = NULL, *bundle;
	char *uuid, *id, *s;
	int rc;

	if ((rc = csip_stix_item_objects(rq->hub, &rq->reader, rq->ids[0],
					 &objects)) < 0)
		return rc;
	uuid = g_uuid_string_random();
	id = g_strconcat("bundle--", uuid, NULL);
	bundle = json_pack("{ss ss so}", "type", "bundle", "id", id,
			   "objects", objects);
	s = json_dumps(bundle, JSON_COMPACT);
	json_decref(bundle);
	g_free(uuid);
	g_free(id);
	if (s == NULL)
		return csip_error_set(CSIP_ERR, "the STIX bundle of item %"
				      G_GINT64_FORMAT " could not be written",
				      (gint64)rq->ids[0]);
	/* The response frees raw with g_free; jansson's string is malloc'd. */
	rs->raw_len = strlen(s);
	rs->raw = g_memdup2(s, rs->raw_len + 1);
	free(s);
	rs->content_type = STIX_TYPE;
	return CSIP_OK;
}

typedef struct bundle_job {
	csip_req *rq;
	csip_item_query q;
} bundle_job;

static int
produce_bundle(void *ud, csip_write_fn w, void *wud)
{
	bundle_job *j = ud;

	return csip_stix_bundle(j->rq->hub, &j->rq->reader, &j->q, w, wud);
}

int
csip_api_stix_bundle(csip_req *rq, csip_resp *rs)
{
	bundle_job j = { .rq = rq };

	j.q.since = rq->query(rq, "since");
	j.q.limit = 200;
	return csip_api_respond_stream(rs, STIX_TYPE, produce_bundle, &j);
}
