/* api_misp.c - (being written) */
#include "server/api.h"
#include "util/error.h"
int csip_api_misp_manifest(csip_req *rq, csip_resp *rs) { return csip_error_set(CSIP_ENOTFOUND, "MISP is being written"); }
int csip_api_misp_event(csip_req *rq, csip_resp *rs) { return csip_error_set(CSIP_ENOTFOUND, "MISP is being written"); }
int csip_api_misp_hashes(csip_req *rq, csip_resp *rs) { return csip_error_set(CSIP_ENOTFOUND, "MISP is being written"); }
