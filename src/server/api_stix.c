/* api_stix.c - (being written) */
#include "server/api.h"
#include "util/error.h"
int csip_api_stix_bundle(csip_req *rq, csip_resp *rs) { return csip_error_set(CSIP_ENOTFOUND, "STIX is being written"); }
int csip_api_item_stix(csip_req *rq, csip_resp *rs) { return csip_error_set(CSIP_ENOTFOUND, "STIX is being written"); }
