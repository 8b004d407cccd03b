/*
 * seed.c - fill a hub with N published items for bench/api.
 *
 *   seed CONFIG N
 *
 * Makes a hub, a provider and a reader in one SIG, one source report, and
 * N items published to the community, each with three indicators and the
 * reader as recipient, written straight into the tables in large
 * transactions (the API would take hours for a million).  Prints the
 * reader's and the provider's API tokens as JSON on standard output.
 *
 * With SHARED=1 in the environment every item also carries one domain,
 * as a popular observable is carried by many items: an item read then
 * counts the related organisations over every item.
 */
#include "lib/hub.h"
#include "lib/org.h"
#include "lib/report.h"
#include "lib/user.h"
#include "util/error.h"

#include <glib.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define BATCH 50000

static void
check(int rc, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "seed: %s: %s\n", what, csip_error_last());
		exit(1);
	}
}

static void
step(csip_stmt *st)
{
	int rc = csip_stmt_step(st);

	if (rc != CSIP_DONE && rc != CSIP_ROW)
		check(rc < 0 ? rc : CSIP_ESTORE, "insert");
	csip_stmt_reset(st);
}

int
main(int argc, char **argv)
{
	static char *const energy[] = { "energy", NULL };
	static char *const pdom[] = { "provider.example", NULL };
	csip_org_spec orgs[] = {
		{ "bench-hub", NULL, "hub", "2024-04-01", NULL, NULL, NULL },
		{ "bench-provider", NULL, "participant", "2024-04-01",
		  (char **)energy, (char **)pdom, NULL },
		{ "bench-reader", NULL, "participant", "2024-04-01",
		  (char **)energy, NULL, NULL },
	};
	csip_report_in in = { .org = "bench-provider", .permission = "public",
		.attribution = "none", .tlp = "green", .source = "bench" };
	csip_config *cfg = NULL;
	csip_hub *h = NULL;
	csip_store *s;
	csip_stmt *item = NULL, *src = NULL, *ind = NULL, *rcp = NULL;
	csip_ingest_result res;
	json_t *list;
	char *reader_tok = NULL, *prov_tok = NULL, now[21];
	int64_t id, n, reader_org;
	int shared = g_strcmp0(g_getenv("SHARED"), "1") == 0;

	if (argc != 3) {
		fprintf(stderr, "usage: seed CONFIG N\n");
		return 2;
	}
	n = g_ascii_strtoll(argv[2], NULL, 10);
	check(csip_config_load(argv[1], &cfg), argv[1]);
	check(csip_hub_open(cfg, CSIP_HUB_CREATE, &h), "hub");
	s = csip_hub_store(h);
	check(csip_sig_add(h, "bench", "energy", "Energy", &id), "sig");
	for (size_t i = 0; i < G_N_ELEMENTS(orgs); i++)
		check(csip_org_add(h, "bench", &orgs[i], &id), "org");
	check(csip_org_id(h, "bench-reader", &reader_org), "reader");
	check(csip_user_add(h, "bench", "bench-reader", "reader", NULL,
			    "member", NULL, &id), "user");
	check(csip_user_add(h, "bench", "bench-provider", "provider", NULL,
			    "member", NULL, &id), "user");
	check(csip_token_create(h, "bench", "reader", "bench", 0, 0,
				&reader_tok, &id), "token");
	check(csip_token_create(h, "bench", "provider", "bench", 0, 0,
				&prov_tok, &id), "token");
	list = json_pack("[s]", "seed.example");
	check(csip_report_submit_indicators(h, "bench", &in, list, &res),
	      "report");
	json_decref(list);

	csip_store_now(now);
	check(csip_store_prepare(s, "INSERT INTO item (id, title, analysis, "
		"tlp, audience, severity, status, created_by, created_at, "
		"updated_at, published_at) VALUES (?, ?, 'Seeded for the "
		"benchmark.', 'green', 'community', 'medium', 'published', "
		"'bench', ?, ?, ?)", &item), "prepare");
	check(csip_store_prepare(s, "INSERT INTO item_source (item_id, "
		"report_id) VALUES (?, ?)", &src), "prepare");
	check(csip_store_prepare(s, "INSERT INTO item_indicator (item_id, "
		"type, value, role) VALUES (?, ?, ?, ?)", &ind), "prepare");
	check(csip_store_prepare(s, "INSERT INTO item_recipient (item_id, "
		"org_id, shared_at) VALUES (?, ?, ?)", &rcp), "prepare");
	for (int64_t i = 1; i <= n; i++) {
		char title[64], v[64], at[32];

		if ((i - 1) % BATCH == 0)
			check(csip_store_begin(s), "begin");
		g_snprintf(title, sizeof title, "Seeded item %" PRId64, i);
		csip_stmt_bind_int64(item, 1, i);
		csip_stmt_bind_text(item, 2, title);
		/* One publication a second from 2020-01-01, so that
		 * TAXII's added_after can start a page anywhere. */
		{
			GDateTime *t = g_date_time_new_from_unix_utc(
				1577836800 + i);
			char *f = g_date_time_format(t, "%Y-%m-%dT%H:%M:%SZ");

			g_strlcpy(at, f, sizeof at);
			g_free(f);
			g_date_time_unref(t);
		}
		csip_stmt_bind_text(item, 3, at);
		csip_stmt_bind_text(item, 4, at);
		csip_stmt_bind_text(item, 5, at);
		step(item);
		csip_stmt_bind_int64(src, 1, i);
		csip_stmt_bind_int64(src, 2, res.report_id);
		step(src);
		for (int k = 0; k < 3; k++) {
			static const char *const types[] = { "domain", "ipv4",
				"sha256" };

			if (k == 0)
				g_snprintf(v, sizeof v, "host%" PRId64
					   ".bench.example", i);
			else if (k == 1)
				g_snprintf(v, sizeof v, "10.%d.%d.%d",
					   (int)(i >> 16) & 255,
					   (int)(i >> 8) & 255, (int)i & 255);
			else
				g_snprintf(v, sizeof v, "%064" PRIx64, i);
			csip_stmt_bind_int64(ind, 1, i);
			csip_stmt_bind_text(ind, 2, types[k]);
			csip_stmt_bind_text(ind, 3, v);
			csip_stmt_bind_text(ind, 4, "seeded");
			step(ind);
		}
		if (shared) {
			csip_stmt_bind_int64(ind, 1, i);
			csip_stmt_bind_text(ind, 2, "domain");
			csip_stmt_bind_text(ind, 3, "popular.bench.example");
			csip_stmt_bind_text(ind, 4, "seeded");
			step(ind);
		}
		csip_stmt_bind_int64(rcp, 1, i);
		csip_stmt_bind_int64(rcp, 2, reader_org);
		csip_stmt_bind_text(rcp, 3, now);
		step(rcp);
		if (i % BATCH == 0 || i == n)
			check(csip_store_commit(s), "commit");
	}
	csip_stmt_free(item);
	csip_stmt_free(src);
	csip_stmt_free(ind);
	csip_stmt_free(rcp);
	printf("{\"reader\": \"%s\", \"provider\": \"%s\", \"items\": %"
	       PRId64 "}\n", reader_tok, prov_tok, n);
	g_free(reader_tok);
	g_free(prov_tok);
	csip_hub_free(h);
	csip_config_free(cfg);
	return 0;
}
