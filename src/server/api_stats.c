/*
 * api_stats.c - GET /api/v1/stats?fy=2016&format=json|svg: the counts of
 * lib/stats.c for the caller, as JSON or as SVG bar charts.
 *
 * What the caller may see is decided in the library by the policy
 * (csip_policy_stats_scope) from the reader the server loaded for the
 * token; this file only reads the query and picks the rendering.
 */
#include "server/api.h"
#include "lib/stats.h"
#include "util/error.h"

#include <string.h>

int
csip_api_stats(csip_req *rq, csip_resp *rs)
{
	const char *fy = rq->query(rq, "fy");
	const char *format = rq->query(rq, "format");
	json_t *stats = NULL;
	int first, last, rc;

	if (format == NULL || *format == '\0')
		format = "json";
	if (strcmp(format, "json") != 0 && strcmp(format, "svg") != 0)
		return csip_error_set(CSIP_EINVAL, "format \"%s\": use json or "
				      "svg", format);
	if (fy == NULL || *fy == '\0')
		first = last = csip_stats_current_fy();
	else if ((rc = csip_stats_parse_fy(fy, &first, &last)) < 0)
		return rc;
	rc = csip_stats_compute(csip_hub_store(rq->hub), &rq->reader, first,
				last, &stats);
	if (rc < 0)
		return rc;
	if (strcmp(format, "svg") == 0) {
		rs->raw = csip_stats_svg(stats);
		rs->raw_len = strlen(rs->raw);
		rs->content_type = "image/svg+xml";
		json_decref(stats);
	} else {
		rs->json = stats;
	}
	return CSIP_OK;
}
