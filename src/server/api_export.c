/* api_export.c - (being written) */
#include "server/api.h"
#include "util/error.h"
int csip_api_export(csip_req *rq, csip_resp *rs) { return csip_error_set(CSIP_ENOTFOUND, "exports are being written"); }
