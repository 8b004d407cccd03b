/*
 * api.h - the JSON API: requests, responses and the route table.
 *
 * The route table in api.c is the single source of truth for what the
 * server answers: dispatch, authentication and role checks, the metrics'
 * route labels, and the check against the OpenAPI document (served at
 * /api/v1/openapi.json and compared with the table by tests/test_api.c)
 * all come from it.
 *
 * Handlers return CSIP_OK after filling the response, or a negative
 * csip_rc with the thread's error message set; the dispatcher turns that
 * into the HTTP status and a JSON error body {"error": {"code", "message"}}
 * in one place.
 */
#ifndef CSIP_API_H
#define CSIP_API_H

#include "lib/hub.h"
#include "lib/policy.h"
#include "lib/stix.h"
#include "lib/user.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct csip_api_ctx csip_api_ctx;

/* Who may call a route. */
typedef enum csip_auth {
	CSIP_AUTH_NONE = 0,   /* anyone (health, metrics, the document) */
	CSIP_AUTH_USER,       /* any valid token */
	CSIP_AUTH_HUB         /* a token of the hub's analysts or admins */
} csip_auth;

/* What a route's body may be. */
typedef enum csip_body {
	CSIP_BODY_NONE = 0,
	CSIP_BODY_JSON,       /* application/json, parsed into req->json */
	CSIP_BODY_REPORT      /* message/rfc822, text/plain or JSON */
} csip_body;

#define CSIP_API_MAX_PARAMS 4

typedef struct csip_req {
	const char *method;
	const char *path;
	const char *content_type;     /* without parameters, lower case */
	const char *body;
	size_t body_len;
	json_t *json;                 /* CSIP_BODY_JSON: the parsed object */
	int64_t ids[CSIP_API_MAX_PARAMS]; /* {id} path parameters in order */
	int n_ids;
	char key[320];                /* the first {key} path parameter:
				       * letters, digits and '-' (room for
				       * a STIX id: a type of up to 250
				       * characters, "--" and a UUID) */
	char key2[320];               /* the second, if any */
	csip_hub *hub;
	csip_principal who;           /* valid when authed */
	csip_reader reader;           /* the principal's organisation */
	int authed;
	char actor[80];               /* "user:NAME" for the audit log */
	/* Query string lookup (NULL when absent; the first of repeated
	 * keys) and how many times a key is given; set by the server. */
	const char *(*query)(const struct csip_req *rq, const char *key);
	int (*query_count)(const struct csip_req *rq, const char *key);
	/* A request header (NULL when absent), set by the server. */
	const char *(*header)(const struct csip_req *rq, const char *name);
	void *conn;
	struct csip_metrics *metrics; /* the server's, for /metrics */
} csip_req;

typedef struct csip_resp {
	int status;                   /* 200 unless set */
	json_t *json;                 /* body, or */
	char *raw;                    /* a raw body (g_free) with */
	size_t raw_len;
	const char *content_type;     /* static string */
	char location[96];            /* Location header when set */
	int fd;                       /* > 0: the body is this file (MHD
				       * closes it), fd_size bytes */
	uint64_t fd_size;
	int retry_after;              /* Retry-After header when > 0 */
	char added_first[32];         /* TAXII: X-TAXII-Date-Added-First */
	char added_last[32];          /* and -Last, when set */
} csip_resp;

typedef int (*csip_handler)(csip_req *rq, csip_resp *rs);

typedef struct csip_route {
	const char *method;
	const char *pattern;          /* "/api/v1/items/{id}/feedback" */
	csip_handler fn;
	csip_auth auth;
	csip_body body;
	int write;                    /* changes state: refused for
				       * read-only tokens */
	const char *summary;
	int taxii;                    /* a TAXII 2.1 endpoint (see
				       * api_taxii.c): TAXII media types and
				       * error bodies, HTTP Basic as well as
				       * tokens; CSIP_TAXII_STIX: it also
				       * answers application/stix+json */
} csip_route;

#define CSIP_TAXII 1
#define CSIP_TAXII_STIX 2

/* The media type of every TAXII 2.1 response. */
#define CSIP_TAXII_MEDIA "application/taxii+json;version=2.1"

/* The table, terminated by an entry with a NULL method. */
const csip_route *csip_api_routes(void);

/* Find the route for METHOD and PATH; fills rq->ids.  Returns NULL and
 * sets *path_known when the path exists under another method (405). */
const csip_route *csip_api_match(const char *method, const char *path,
				 csip_req *rq, int *path_known);

/* The HTTP status for a csip_rc. */
int csip_api_status(int rc);

/* Fill RS with the JSON error body for STATUS and MESSAGE. */
void csip_api_error(csip_resp *rs, int status, const char *message);

/* The message of a failure on the server's side (status 500 and above)
 * can carry what only the operator should read: the database's words, a
 * path, PostgreSQL's detail of a row.  When RS holds such an error (as
 * csip_api_error made it), its message is returned for the server's log
 * (g_free), and for a caller other than the hub (HUB 0) the error in RS
 * is replaced by one that names REF; NULL, RS untouched, otherwise. */
char *csip_api_hide_internal(csip_resp *rs, int hub, const char *ref);

/* Answer with what PRODUCE writes, spooled to an unlinked temporary file
 * first, so that memory stays flat however large the answer (exports of
 * millions of indicators) and an error half-way still gets a clean JSON
 * error instead of a truncated body. */
typedef int (*csip_api_producer)(void *ud, csip_write_fn w, void *wud);
int csip_api_respond_stream(csip_resp *rs, const char *content_type,
			    csip_api_producer produce, void *ud);

/* The OpenAPI document (static, NUL-terminated). */
const char *csip_api_openapi(void);

/* Reject fields of OBJ not in ALLOWED (NULL-terminated): CSIP_EINVAL
 * naming the first unknown one. */
int csip_api_known_fields(json_t *obj, const char *const *allowed);

/* Optional typed fields of OBJ: CSIP_EINVAL naming a field of the wrong
 * type.  A missing or null field leaves *out NULL / untouched. */
int csip_api_get_str(json_t *obj, const char *key, const char **out);
int csip_api_get_int(json_t *obj, const char *key, int64_t *out,
		     int *present);
/* A JSON array of strings as a NULL-terminated vector (g_free the vector
 * only: strings are borrowed from OBJ). */
int csip_api_get_strv(json_t *obj, const char *key, const char ***out);

/* Handlers, one file per area (api.c, api_reports.c, api_items.c). */
int csip_api_healthz(csip_req *rq, csip_resp *rs);
int csip_api_metrics(csip_req *rq, csip_resp *rs);
int csip_api_openapi_doc(csip_req *rq, csip_resp *rs);
int csip_api_me(csip_req *rq, csip_resp *rs);
int csip_api_report_create(csip_req *rq, csip_resp *rs);
int csip_api_report_list(csip_req *rq, csip_resp *rs);
int csip_api_report_get(csip_req *rq, csip_resp *rs);
int csip_api_report_patch(csip_req *rq, csip_resp *rs);
int csip_api_report_anonymised(csip_req *rq, csip_resp *rs);
int csip_api_triage(csip_req *rq, csip_resp *rs);
int csip_api_item_create(csip_req *rq, csip_resp *rs);
int csip_api_item_list(csip_req *rq, csip_resp *rs);
int csip_api_item_get(csip_req *rq, csip_resp *rs);
int csip_api_item_patch(csip_req *rq, csip_resp *rs);
int csip_api_item_submit(csip_req *rq, csip_resp *rs);
int csip_api_item_approval(csip_req *rq, csip_resp *rs);
int csip_api_item_publish(csip_req *rq, csip_resp *rs);
int csip_api_item_withdraw(csip_req *rq, csip_resp *rs);
int csip_api_feedback_create(csip_req *rq, csip_resp *rs);
int csip_api_feedback_list(csip_req *rq, csip_resp *rs);
int csip_api_search(csip_req *rq, csip_resp *rs);
int csip_api_export(csip_req *rq, csip_resp *rs);          /* api_export.c */
int csip_api_stix_bundle(csip_req *rq, csip_resp *rs);     /* api_stix.c */
int csip_api_item_stix(csip_req *rq, csip_resp *rs);
int csip_api_misp_manifest(csip_req *rq, csip_resp *rs);   /* api_misp.c */
int csip_api_misp_event(csip_req *rq, csip_resp *rs);
int csip_api_misp_hashes(csip_req *rq, csip_resp *rs);

/* Statistics per fiscal year (api_stats.c). */
int csip_api_stats(csip_req *rq, csip_resp *rs);

/* TAXII 2.1 (api_taxii.c). */
int csip_api_taxii_discovery(csip_req *rq, csip_resp *rs);
int csip_api_taxii_root(csip_req *rq, csip_resp *rs);
int csip_api_taxii_status(csip_req *rq, csip_resp *rs);
int csip_api_taxii_collections(csip_req *rq, csip_resp *rs);
int csip_api_taxii_collection(csip_req *rq, csip_resp *rs);
int csip_api_taxii_manifest(csip_req *rq, csip_resp *rs);
int csip_api_taxii_objects(csip_req *rq, csip_resp *rs);
int csip_api_taxii_add(csip_req *rq, csip_resp *rs);
int csip_api_taxii_object(csip_req *rq, csip_resp *rs);
int csip_api_taxii_delete(csip_req *rq, csip_resp *rs);
int csip_api_taxii_versions(csip_req *rq, csip_resp *rs);

/* Cross-sectional analysis for the hub (api_correlate.c). */
int csip_api_campaign_list(csip_req *rq, csip_resp *rs);
int csip_api_campaign_get(csip_req *rq, csip_resp *rs);
int csip_api_campaign_patch(csip_req *rq, csip_resp *rs);
int csip_api_campaign_merge(csip_req *rq, csip_resp *rs);
int csip_api_campaign_split(csip_req *rq, csip_resp *rs);
int csip_api_exclusion_list(csip_req *rq, csip_resp *rs);
int csip_api_exclusion_create(csip_req *rq, csip_resp *rs);
int csip_api_alert_list(csip_req *rq, csip_resp *rs);
int csip_api_warninglist_list(csip_req *rq, csip_resp *rs);
int csip_api_warninglist_add(csip_req *rq, csip_resp *rs);
int csip_api_warninglist_remove(csip_req *rq, csip_resp *rs);

/* Turn the error response in RS (as csip_api_error made it) into a TAXII
 * error message (title, description, http_status, ...) with the TAXII
 * media type; a 2xx JSON body just gets the media type. */
void csip_api_taxii_finish(csip_resp *rs);

/* Whether an Accept header value allows a TAXII 2.1 answer; with STIX
 * also application/stix+json (version 2.1 or none). */
int csip_api_taxii_acceptable(const char *accept, int stix);

#endif
