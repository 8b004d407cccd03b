/*
 * test_api.c - the route table of src/server/api.c held to the OpenAPI
 * document it serves: every route is an operation of the document and
 * every operation a route, with the same authentication; and route
 * matching on good and bad paths.
 */
#include "server/api.h"
#include "util/error.h"

#include <glib.h>
#include <jansson.h>
#include <string.h>

static json_t *
load_doc(void)
{
	json_error_t err;
	json_t *doc = json_loads(csip_api_openapi(), JSON_REJECT_DUPLICATES,
				 &err);

	if (doc == NULL)
		g_error("the OpenAPI document is not valid JSON: %s (line %d)",
			err.text, err.line);
	g_assert_true(json_is_object(doc));
	return doc;
}

static json_t *
operation(json_t *doc, const char *method, const char *path)
{
	char *m = g_ascii_strdown(method, -1);
	json_t *op = json_object_get(json_object_get(json_object_get(doc,
		"paths"), path), m);

	g_free(m);
	return op;
}

static void
test_routes_in_document(void)
{
	json_t *doc = load_doc();
	int n = 0;

	g_assert_cmpstr(json_string_value(json_object_get(doc, "openapi")),
			==, "3.1.0");
	for (const csip_route *r = csip_api_routes(); r->method; r++) {
		json_t *op = operation(doc, r->method, r->pattern);
		json_t *sec, *resp;

		n++;
		if (op == NULL)
			g_error("route %s %s is not in the OpenAPI document",
				r->method, r->pattern);
		g_assert_true(json_is_object(op));
		sec = json_object_get(op, "security");
		if (r->auth == CSIP_AUTH_NONE) {
			if (!json_is_array(sec) || json_array_size(sec) != 0)
				g_error("%s %s needs no token: the document "
					"must say \"security\": []", r->method,
					r->pattern);
		} else {
			if (json_is_array(sec) && json_array_size(sec) == 0)
				g_error("%s %s needs a token but the document "
					"says \"security\": []", r->method,
					r->pattern);
			/* Every authenticated operation documents 401. */
			resp = json_object_get(op, "responses");
			if (json_object_get(resp, "401") == NULL)
				g_error("%s %s: no 401 response documented",
					r->method, r->pattern);
			if (r->auth == CSIP_AUTH_HUB &&
			    json_object_get(resp, "403") == NULL)
				g_error("%s %s is for the hub: no 403 response "
					"documented", r->method, r->pattern);
		}
		if (r->body != CSIP_BODY_NONE) {
			json_t *content = json_object_get(json_object_get(op,
				"requestBody"), "content");

			if (json_object_get(content, "application/json") ==
			    NULL)
				g_error("%s %s takes a JSON body the document "
					"does not describe", r->method,
					r->pattern);
			if (json_object_get(json_object_get(op, "responses"),
					    "415") == NULL)
				g_error("%s %s: no 415 response documented",
					r->method, r->pattern);
		}
		if (r->body == CSIP_BODY_REPORT) {
			json_t *content = json_object_get(json_object_get(op,
				"requestBody"), "content");

			g_assert_nonnull(json_object_get(content,
							 "message/rfc822"));
			g_assert_nonnull(json_object_get(content,
							 "text/plain"));
		}
		g_assert_cmpstr(r->summary, !=, NULL);
	}
	g_assert_cmpint(n, >, 10);
	json_decref(doc);
}

static void
test_document_in_routes(void)
{
	json_t *doc = load_doc(), *item, *op;
	const char *path, *method;
	int n = 0;

	json_object_foreach(json_object_get(doc, "paths"), path, item) {
		json_object_foreach(item, method, op) {
			const csip_route *r;

			if (strcmp(method, "parameters") == 0 ||
			    strcmp(method, "summary") == 0 ||
			    strcmp(method, "description") == 0)
				continue;
			for (r = csip_api_routes(); r->method; r++)
				if (g_ascii_strcasecmp(r->method, method) == 0 &&
				    strcmp(r->pattern, path) == 0)
					break;
			if (r->method == NULL)
				g_error("the OpenAPI document has %s %s, which "
					"no route serves", method, path);
			g_assert_nonnull(json_object_get(op, "operationId"));
			g_assert_nonnull(json_object_get(op, "responses"));
			n++;
		}
	}
	g_assert_cmpint(n, >, 10);
	json_decref(doc);
}

/* The document's own references resolve. */
static void
check_refs(json_t *doc, json_t *node)
{
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_array(node)) {
		json_array_foreach(node, i, v)
			check_refs(doc, v);
		return;
	}
	if (!json_is_object(node))
		return;
	json_object_foreach(node, key, v) {
		if (strcmp(key, "$ref") == 0 && json_is_string(v)) {
			const char *ref = json_string_value(v);
			char **parts;
			json_t *at = doc;

			if (strncmp(ref, "#/", 2) != 0)
				g_error("$ref %s is not local", ref);
			parts = g_strsplit(ref + 2, "/", -1);
			for (char **p = parts; *p && at; p++)
				at = json_object_get(at, *p);
			g_strfreev(parts);
			if (at == NULL)
				g_error("$ref %s points nowhere", ref);
		} else {
			check_refs(doc, v);
		}
	}
}

static void
test_document_refs(void)
{
	json_t *doc = load_doc();

	check_refs(doc, doc);
	json_decref(doc);
}

static void
test_match(void)
{
	static const struct {
		const char *method, *path;
		const char *pattern;   /* NULL: no route */
		int known;             /* the path exists under another method */
		int64_t id0, id1;
	} cases[] = {
		{ "GET", "/healthz", "/healthz", 0, 0, 0 },
		{ "GET", "/api/v1/items", "/api/v1/items", 0, 0, 0 },
		{ "POST", "/api/v1/items", "/api/v1/items", 0, 0, 0 },
		{ "GET", "/api/v1/items/1", "/api/v1/items/{id}", 0, 1, 0 },
		{ "PATCH", "/api/v1/items/42", "/api/v1/items/{id}", 0, 42, 0 },
		{ "POST", "/api/v1/items/7/feedback",
		  "/api/v1/items/{id}/feedback", 0, 7, 0 },
		{ "GET", "/api/v1/items/7/feedback",
		  "/api/v1/items/{id}/feedback", 0, 7, 0 },
		{ "GET", "/api/v1/reports/123456789012345678",
		  "/api/v1/reports/{id}", 0, 123456789012345678, 0 },
		{ "GET", "/api/v1/reports/9/anonymised",
		  "/api/v1/reports/{id}/anonymised", 0, 9, 0 },
		/* Bad ids: never a route, and never "method not allowed". */
		{ "GET", "/api/v1/items/0", NULL, 0, 0, 0 },
		{ "GET", "/api/v1/items/00", NULL, 0, 0, 0 },
		{ "GET", "/api/v1/items/-1", NULL, 0, 0, 0 },
		{ "GET", "/api/v1/items/+1", NULL, 0, 0, 0 },
		{ "GET", "/api/v1/items/ 1", NULL, 0, 0, 0 },
		{ "GET", "/api/v1/items/abc", NULL, 0, 0, 0 },
		{ "GET", "/api/v1/items/1a", NULL, 0, 0, 0 },
		{ "GET", "/api/v1/items/0x10", NULL, 0, 0, 0 },
		{ "GET", "/api/v1/items/1.5", NULL, 0, 0, 0 },
		{ "GET", "/api/v1/items/9223372036854775807", NULL, 0, 0, 0 },
		{ "GET", "/api/v1/items/9223372036854775808", NULL, 0, 0, 0 },
		{ "GET", "/api/v1/items/99999999999999999999999999", NULL, 0,
		  0, 0 },
		{ "GET", "/api/v1/items/", NULL, 0, 0, 0 },
		{ "GET", "/api/v1/items/1/", NULL, 0, 0, 0 },
		{ "GET", "/api/v1/items//1", NULL, 0, 0, 0 },
		{ "POST", "/api/v1/items/1/feedback/", NULL, 0, 0, 0 },
		{ "GET", "/api/v1/items/", NULL, 0, 0, 0 },
		{ "GET", "/healthz/", NULL, 0, 0, 0 },
		{ "GET", "/api/v1/items/1/nope", NULL, 0, 0, 0 },
		{ "GET", "/API/v1/items", NULL, 0, 0, 0 },
		{ "GET", "", NULL, 0, 0, 0 },
		{ "GET", "/", NULL, 0, 0, 0 },
		{ "GET", "/api/v1/items/{id}", NULL, 0, 0, 0 },
		/* Good paths under the wrong method. */
		{ "DELETE", "/api/v1/items/1", NULL, 1, 0, 0 },
		{ "PUT", "/healthz", NULL, 1, 0, 0 },
		{ "GET", "/api/v1/items/1/submit", NULL, 1, 0, 0 },
		{ "POST", "/api/v1/reports/3", NULL, 1, 0, 0 },
		{ "get", "/healthz", NULL, 1, 0, 0 },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		csip_req rq;
		const csip_route *r;
		int known = -1;

		memset(&rq, 0, sizeof rq);
		r = csip_api_match(cases[i].method, cases[i].path, &rq, &known);
		if (cases[i].pattern == NULL) {
			if (r != NULL)
				g_error("%s \"%s\" matched %s", cases[i].method,
					cases[i].path, r->pattern);
			if (known != cases[i].known)
				g_error("%s \"%s\": path_known %d, want %d",
					cases[i].method, cases[i].path, known,
					cases[i].known);
			continue;
		}
		if (r == NULL)
			g_error("%s %s matched no route", cases[i].method,
				cases[i].path);
		g_assert_cmpstr(r->pattern, ==, cases[i].pattern);
		g_assert_cmpstr(r->method, ==, cases[i].method);
		g_assert_cmpint(rq.n_ids, ==, cases[i].id0 ? 1 : 0);
		if (cases[i].id0)
			g_assert_cmpint(rq.ids[0], ==, cases[i].id0);
	}
}

/* The error message of RS's body (borrowed). */
static const char *
error_message(json_t *body)
{
	return json_string_value(json_object_get(json_object_get(body,
		"error"), "message"));
}

static void
test_status_and_errors(void)
{
	csip_resp rs;
	json_t *obj;
	char *orig;
	static const char *const allowed[] = { "kind", "count", NULL };

	g_assert_cmpint(csip_api_status(CSIP_OK), ==, 200);
	g_assert_cmpint(csip_api_status(CSIP_EINVAL), ==, 400);
	g_assert_cmpint(csip_api_status(CSIP_EPERM), ==, 403);
	g_assert_cmpint(csip_api_status(CSIP_ENOTFOUND), ==, 404);
	g_assert_cmpint(csip_api_status(CSIP_EBUSY), ==, 409);
	g_assert_cmpint(csip_api_status(CSIP_ETOOBIG), ==, 413);
	g_assert_cmpint(csip_api_status(CSIP_ESTORE), ==, 500);

	memset(&rs, 0, sizeof rs);
	csip_api_error(&rs, 404, "item 3 does not exist");
	g_assert_cmpint(rs.status, ==, 404);
	g_assert_cmpstr(json_string_value(json_object_get(json_object_get(
		rs.json, "error"), "code")), ==, "not_found");
	g_assert_cmpstr(json_string_value(json_object_get(json_object_get(
		rs.json, "error"), "message")), ==, "item 3 does not exist");
	g_assert_cmpint(json_object_size(rs.json), ==, 1);
	json_decref(rs.json);

	/* A failure's own words reach the hub only; others get a
	 * reference to the log, and 4xx answers are left as they are. */
	memset(&rs, 0, sizeof rs);
	csip_api_error(&rs, 500, "database error: could not open "
		       "/srv/hub/hub.db");
	orig = csip_api_hide_internal(&rs, 1, "ab12");
	g_assert_cmpstr(orig, ==, "database error: could not open "
			"/srv/hub/hub.db");
	g_free(orig);
	g_assert_nonnull(strstr(error_message(rs.json), "/srv/hub"));
	orig = csip_api_hide_internal(&rs, 0, "ab12");
	g_assert_cmpstr(orig, ==, "database error: could not open "
			"/srv/hub/hub.db");
	g_free(orig);
	g_assert_cmpint(rs.status, ==, 500);
	g_assert_null(strstr(error_message(rs.json), "/srv/hub"));
	g_assert_nonnull(strstr(error_message(rs.json), "reference ab12"));
	g_assert_cmpstr(json_string_value(json_object_get(json_object_get(
		rs.json, "error"), "code")), ==, "internal");
	json_decref(rs.json);
	memset(&rs, 0, sizeof rs);
	csip_api_error(&rs, 404, "item 3 does not exist");
	g_assert_null(csip_api_hide_internal(&rs, 0, "ab12"));
	g_assert_nonnull(strstr(error_message(rs.json), "item 3"));
	json_decref(rs.json);

	obj = json_pack("{sssi}", "kind", "sighting", "colour", 3);
	g_assert_cmpint(csip_api_known_fields(obj, allowed), ==, CSIP_EINVAL);
	g_assert_nonnull(strstr(csip_error_last(), "colour"));
	json_object_del(obj, "colour");
	g_assert_cmpint(csip_api_known_fields(obj, allowed), ==, CSIP_OK);
	json_decref(obj);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/api/routes_in_document", test_routes_in_document);
	g_test_add_func("/api/document_in_routes", test_document_in_routes);
	g_test_add_func("/api/document_refs", test_document_refs);
	g_test_add_func("/api/match", test_match);
	g_test_add_func("/api/status_and_errors", test_status_and_errors);
	return g_test_run();
}
