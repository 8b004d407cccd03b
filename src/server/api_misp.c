/*
 * api_misp.c - the MISP feed over HTTP: a MISP instance adds the hub as a
 * feed of format "MISP Feed" with the URL /api/v1/misp and an
 * Authorization header carrying a csip token; it then pulls
 * manifest.json, hashes.csv and {uuid}.json below that URL.
 *
 * What a caller gets is decided by misp.c through the item module (the
 * policy); an event the caller may not read answers 404, exactly as one
 * that does not exist.  The manifest and the hashes are spooled by
 * csip_api_respond_stream(), so memory stays flat however large the feed.
 */
#include "server/api.h"
#include "lib/misp.h"
#include "util/error.h"

typedef struct feed {
	csip_hub *h;
	const csip_reader *r;
} feed;

static int
produce_manifest(void *ud, csip_write_fn w, void *wud)
{
	feed *f = ud;

	return csip_misp_manifest(f->h, f->r, w, wud);
}

static int
produce_hashes(void *ud, csip_write_fn w, void *wud)
{
	feed *f = ud;

	return csip_misp_hashes(f->h, f->r, w, wud);
}

int
csip_api_misp_manifest(csip_req *rq, csip_resp *rs)
{
	feed f = { rq->hub, &rq->reader };

	return csip_api_respond_stream(rs, "application/json",
				       produce_manifest, &f);
}

int
csip_api_misp_hashes(csip_req *rq, csip_resp *rs)
{
	feed f = { rq->hub, &rq->reader };

	return csip_api_respond_stream(rs, "text/csv; charset=utf-8",
				       produce_hashes, &f);
}

int
csip_api_misp_event(csip_req *rq, csip_resp *rs)
{
	json_t *ev = NULL;
	int rc = csip_misp_event(rq->hub, &rq->reader, rq->key, &ev);

	if (rc < 0)
		return rc;
	rs->json = ev;
	return CSIP_OK;
}
