/*
 * seed.c - fill a hub with N published indicators for bench/export.
 *
 *   export_seed CONFIG N [PER_ITEM]
 *
 * Makes a hub, a provider and a reader in one SIG, one source report, and
 * N / PER_ITEM (default 100) items published to the community, each with
 * PER_ITEM distinct domains and the reader as recipient, written straight
 * into the tables in large transactions (the API would take hours for a
 * million).  Adapted from bench/api/seed.c.
 */
#include "lib/hub.h"
#include "lib/org.h"
#include "lib/report.h"
#include "util/error.h"

#include <glib.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define BATCH 500

static void
check(int rc, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "export_seed: %s: %s\n", what,
			csip_error_last());
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
	char now[21];
	int64_t id, n, per = 100, items, reader_org, v = 0;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: export_seed CONFIG N [PER_ITEM]\n");
		return 2;
	}
	n = g_ascii_strtoll(argv[2], NULL, 10);
	if (argc == 4)
		per = g_ascii_strtoll(argv[3], NULL, 10);
	if (n < 1 || per < 1) {
		fprintf(stderr, "export_seed: N and PER_ITEM must be >= 1\n");
		return 2;
	}
	items = (n + per - 1) / per;
	check(csip_config_load(argv[1], &cfg), argv[1]);
	check(csip_hub_open(cfg, CSIP_HUB_CREATE, &h), "hub");
	s = csip_hub_store(h);
	check(csip_sig_add(h, "bench", "energy", "Energy", &id), "sig");
	for (size_t i = 0; i < G_N_ELEMENTS(orgs); i++)
		check(csip_org_add(h, "bench", &orgs[i], &id), "org");
	check(csip_org_id(h, "bench-reader", &reader_org), "reader");
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
		"type, value, role) VALUES (?, 'domain', ?, 'seeded')", &ind),
	      "prepare");
	check(csip_store_prepare(s, "INSERT INTO item_recipient (item_id, "
		"org_id, shared_at) VALUES (?, ?, ?)", &rcp), "prepare");
	for (int64_t i = 1; i <= items; i++) {
		char title[64], val[64];

		if ((i - 1) % BATCH == 0)
			check(csip_store_begin(s), "begin");
		g_snprintf(title, sizeof title, "Seeded item %" PRId64, i);
		csip_stmt_bind_int64(item, 1, i);
		csip_stmt_bind_text(item, 2, title);
		csip_stmt_bind_text(item, 3, now);
		csip_stmt_bind_text(item, 4, now);
		csip_stmt_bind_text(item, 5, now);
		step(item);
		csip_stmt_bind_int64(src, 1, i);
		csip_stmt_bind_int64(src, 2, res.report_id);
		step(src);
		for (int64_t k = 0; k < per && v < n; k++, v++) {
			g_snprintf(val, sizeof val, "host%" PRId64
				   ".bench-%" PRId64 ".example", v, v % 997);
			csip_stmt_bind_int64(ind, 1, i);
			csip_stmt_bind_text(ind, 2, val);
			step(ind);
		}
		csip_stmt_bind_int64(rcp, 1, i);
		csip_stmt_bind_int64(rcp, 2, reader_org);
		csip_stmt_bind_text(rcp, 3, now);
		step(rcp);
		if (i % BATCH == 0 || i == items)
			check(csip_store_commit(s), "commit");
	}
	csip_stmt_free(item);
	csip_stmt_free(src);
	csip_stmt_free(ind);
	csip_stmt_free(rcp);
	printf("{\"indicators\": %" PRId64 ", \"items\": %" PRId64 "}\n", n,
	       items);
	csip_hub_free(h);
	csip_config_free(cfg);
	return 0;
}
