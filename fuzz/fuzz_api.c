/*
 * fuzz_api.c - libFuzzer target for the API's request handling: route
 * matching, query parameters, JSON bodies and every handler behind them,
 * against a real hub in a temporary folder.
 *
 * Input: one byte choosing the caller (the hub's analyst, a member of
 * another organisation, a partner), then "METHOD PATH[?QUERY]\n",
 * "CONTENT-TYPE\n", and the body.  Each request runs inside a transaction
 * that is rolled back, so every input meets the same seeded database.
 *
 * Besides crashes and leaks, the oracle is the design's invariant 3: no
 * answer to anyone but the hub may name the provider of the seeded report
 * (its organisation name or its mail domain), whatever the request.
 */
#include "lib/item.h"
#include "lib/org.h"
#include "lib/report.h"
#include "lib/user.h"
#include "server/api.h"
#include "util/error.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PROVIDER "hidden-provider"
#define PROVIDER_DOMAIN "hidden-provider.example"

static csip_config *cfg;
static csip_hub *hub;
static csip_principal who[3];

static void
die(const char *what)
{
	fprintf(stderr, "fuzz_api: %s: %s\n", what, csip_error_last());
	abort();
}

static void
principal(int i, const char *user, const char *org, const char *urole,
	  const char *orole)
{
	int64_t id;

	memset(&who[i], 0, sizeof who[i]);
	g_strlcpy(who[i].user, user, sizeof who[i].user);
	g_strlcpy(who[i].org, org, sizeof who[i].org);
	g_strlcpy(who[i].user_role, urole, sizeof who[i].user_role);
	g_strlcpy(who[i].org_role, orole, sizeof who[i].org_role);
	if (csip_org_id(hub, org, &id) < 0)
		die("org id");
	who[i].org_id = id;
}

static void
setup(void)
{
	static char *const energy[] = { "energy", NULL };
	static char *const gas[] = { "gas", NULL };
	static char *const pdom[] = { PROVIDER_DOMAIN, NULL };
	csip_org_spec orgs[] = {
		{ "the-hub", NULL, "hub", "2024-04-01", NULL, NULL, NULL },
		{ PROVIDER, NULL, "participant", "2024-04-01",
		  (char **)energy, (char **)pdom, NULL },
		{ "reader", NULL, "participant", "2024-04-01", (char **)gas,
		  NULL, NULL },
		{ "partner", NULL, "partner", "2024-04-01", NULL, NULL, NULL },
	};
	csip_report_in in = { .org = PROVIDER, .permission = "community",
		.attribution = "none", .tlp = "amber", .source = "fuzz" };
	csip_ingest_result res;
	char *dir = g_dir_make_tmp("csip-fuzz-api-XXXXXX", NULL);
	char *conf = g_build_filename(dir, "csip.ini", NULL);
	char *ini = g_strdup_printf("[data]\ndir = %s\n", dir);
	json_t *list = json_pack("[s s]", "evil-lure.example",
				 "203.0.113.9");
	int64_t id, rid, prov;
	csip_item_spec spec = { 0 };

	if (!g_file_set_contents(conf, ini, -1, NULL))
		abort();
	if (csip_config_load(conf, &cfg) < 0 ||
	    csip_hub_open(cfg, CSIP_HUB_CREATE, &hub) < 0)
		die("hub");
	if (csip_sig_add(hub, "fuzz", "energy", "Energy", &id) < 0 ||
	    csip_sig_add(hub, "fuzz", "gas", "Gas", &id) < 0)
		die("sig");
	for (size_t i = 0; i < G_N_ELEMENTS(orgs); i++)
		if (csip_org_add(hub, "fuzz", &orgs[i], &id) < 0)
			die("org");
	if (csip_report_submit_indicators(hub, "fuzz", &in, list, &res) < 0)
		die("report");
	rid = res.report_id;
	spec.title = "Lure campaign";
	spec.analysis = "Block the lure domain.";
	spec.audience = "community";
	spec.report_ids = &rid;
	spec.n_reports = 1;
	if (csip_org_id(hub, PROVIDER, &prov) < 0)
		die("provider");
	principal(0, "analyst", "the-hub", "analyst", "hub");
	principal(1, "member", "reader", "member", "participant");
	principal(2, "agency", "partner", "member", "partner");
	/* The item the member may read (audience community) and the partner
	 * may not; its provider approved it. */
	if (csip_item_create(hub, "fuzz", &spec, &id) < 0 ||
	    csip_item_submit(hub, "fuzz", id) < 0 ||
	    csip_item_decide(hub, "fuzz", id, prov, "approve", NULL) < 0 ||
	    csip_item_publish(hub, "fuzz", id, NULL) < 0)
		die("item");
	csip_error_clear();
	json_decref(list);
	g_free(ini);
	g_free(conf);
	g_free(dir);
}

static GHashTable *query_table;

static const char *
query_get(const csip_req *rq, const char *key)
{
	return query_table ? g_hash_table_lookup(query_table, key) : NULL;
}

static GHashTable *
parse_query(const char *q)
{
	GHashTable *t = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					      g_free);
	char **pairs = g_strsplit(q, "&", 64);

	for (char **p = pairs; *p; p++) {
		char *eq = strchr(*p, '=');

		if (eq)
			g_hash_table_replace(t, g_strndup(*p, eq - *p),
					     g_strdup(eq + 1));
	}
	g_strfreev(pairs);
	return t;
}

static void
check_no_leak(int caller, const char *body)
{
	if (caller == 0 || body == NULL)
		return;
	if (strstr(body, PROVIDER) || strstr(body, PROVIDER_DOMAIN)) {
		fprintf(stderr, "fuzz_api: a %s saw the provider: %s\n",
			caller == 1 ? "member" : "partner", body);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	csip_req rq;
	csip_resp rs;
	const csip_route *route;
	const char *p = (const char *)data, *end = p + size, *nl;
	char *line = NULL, *ctype = NULL, *path, *qm, *method;
	int caller, known, rc;

	if (hub == NULL)
		setup();
	if (size < 2)
		return 0;
	caller = data[0] % 3;
	p++;
	if ((nl = memchr(p, '\n', end - p)) == NULL)
		return 0;
	line = g_strndup(p, nl - p);
	p = nl + 1;
	if ((nl = memchr(p, '\n', end - p)) != NULL) {
		ctype = g_strndup(p, nl - p);
		p = nl + 1;
	}
	method = line;
	if ((path = strchr(line, ' ')) == NULL)
		goto out;
	*path++ = '\0';
	if ((qm = strchr(path, '?')) != NULL) {
		*qm++ = '\0';
		query_table = parse_query(qm);
	}
	memset(&rq, 0, sizeof rq);
	memset(&rs, 0, sizeof rs);
	rs.status = 200;
	route = csip_api_match(method, path, &rq, &known);
	if (route == NULL || route->fn == csip_api_metrics)
		goto out;
	rq.method = method;
	rq.path = path;
	rq.query = query_get;
	rq.hub = hub;
	rq.content_type = ctype;
	rq.body = p;
	rq.body_len = (size_t)(end - p);
	rq.who = who[caller];
	rq.authed = 1;
	g_snprintf(rq.actor, sizeof rq.actor, "user:%s", rq.who.user);
	if (csip_reader_load(csip_hub_store(hub), rq.who.org_id,
			     &rq.reader) < 0)
		die("reader");
	if (route->auth == CSIP_AUTH_HUB && caller != 0)
		goto done;
	if (route->body == CSIP_BODY_JSON || (route->body == CSIP_BODY_REPORT
	    && ctype && strcmp(ctype, "application/json") == 0)) {
		rq.json = json_loadb(rq.body, rq.body_len,
				     JSON_REJECT_DUPLICATES, NULL);
		if (!json_is_object(rq.json))
			goto done;
	} else if (route->body == CSIP_BODY_REPORT && (ctype == NULL ||
		   (strcmp(ctype, "message/rfc822") &&
		    strcmp(ctype, "text/plain")))) {
		goto done;
	}
	if (csip_store_begin(csip_hub_store(hub)) < 0)
		die("begin");
	rc = route->fn(&rq, &rs);
	if (rc < 0 && *csip_error_last() == '\0') {
		fprintf(stderr, "fuzz_api: %s %s failed (%d) without a "
			"message\n", method, path, rc);
		abort();
	}
	if (rs.json) {
		char *s = json_dumps(rs.json, JSON_COMPACT);

		if (s == NULL)
			abort();
		check_no_leak(caller, s);
		free(s);
	}
	if (rs.raw && rs.raw_len) {
		char *s = g_strndup(rs.raw, rs.raw_len);

		check_no_leak(caller, s);
		g_free(s);
	}
	/* Handlers close what they open, so this ends the outermost
	 * transaction and undoes the request. */
	csip_store_rollback(csip_hub_store(hub));
done:
	json_decref(rs.json);
	g_free(rs.raw);
	json_decref(rq.json);
	csip_reader_clear(&rq.reader);
out:
	if (query_table)
		g_hash_table_destroy(query_table);
	query_table = NULL;
	csip_error_clear();
	g_free(line);
	g_free(ctype);
	return 0;
}
