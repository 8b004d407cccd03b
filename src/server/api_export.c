/*
 * api_export.c - GET /api/v1/export/{suricata,snort,zeek,rpz,csv,text}:
 * the blocklists of lib/export.c for the caller's organisation.
 *
 * The format is the last segment of the path (the route table sends all
 * six here); ?since= and, for text, ?type= pass through.  What the caller
 * receives is decided by the library through the policy, from the reader
 * the server loaded for the token; the answer is spooled by
 * csip_api_respond_stream(), so a failure half-way is a clean JSON error.
 */
#include "server/api.h"
#include "lib/export.h"
#include "util/error.h"

#include <string.h>

typedef struct job {
	csip_req *rq;
	csip_export_opts opts;
} job;

static int
produce(void *ud, csip_write_fn w, void *wud)
{
	job *j = ud;

	return csip_export_write(j->rq->hub, &j->rq->reader, &j->opts, w, wud);
}

int
csip_api_export(csip_req *rq, csip_resp *rs)
{
	const char *slash = strrchr(rq->path, '/');
	job j = { rq, { 0 } };

	j.opts.format = slash ? slash + 1 : rq->path;
	j.opts.since = rq->query(rq, "since");
	j.opts.type = rq->query(rq, "type");
	if (j.opts.since && *j.opts.since == '\0')
		j.opts.since = NULL;
	if (j.opts.type && *j.opts.type == '\0')
		j.opts.type = NULL;
	return csip_api_respond_stream(rs, csip_export_media_type(
		j.opts.format), produce, &j);
}
