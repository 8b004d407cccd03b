/*
 * correlate_bench.c - bench/correlate: the correlation index against
 * plain indexed SQL on SQLite, at a given number of stored indicators.
 *
 * Fills a fresh hub in DIR with N indicators (reports of 50, written
 * straight into the tables in large transactions), rebuilds every
 * correlation from scratch (timed), then for Q new reports of 50
 * indicators (40 already stored somewhere, 10 new) times:
 *   - index: the lookups of csip_correlate_preview() (exact values,
 *     parent domains and sub-domains, networks around addresses and
 *     addresses inside networks, ssdeep candidates);
 *   - sql:   the same exact, parent-domain and network lookups as
 *     indexed SQL on the observation table (observation_value index);
 *     sub-domains below a new name have no index to use and are left out,
 *     which only flatters SQL;
 *   - full:  csip_correlate_report(), links, campaign and alert written
 *     and committed (SQLite synchronous=FULL, PostgreSQL's defaults: one
 *     durable commit per report).
 * Prints one JSON line: medians and 99th percentiles in microseconds
 * (and the median CPU time of a correlation, which the other programs of
 * a shared machine do not inflate, and on SQLite the median of the pages
 * a correlation's commit writes to the WAL), the index's keys, memory and file
 * size, the bytes of the observation and corr_link tables with their
 * indexes (dbstat) after the rebuild, and the load time of the index
 * file.
 *
 * A DIR that already holds a SQLite hub is kept: the fill and the rebuild
 * are skipped (only the generator's draws are made again, so the new
 * reports are those of a fresh run), their times print as 0 and the
 * table bytes as -1.  Copies
 * of one filled DIR so compare builds or settings on the same database,
 * without filling it for each.
 *
 * (Q = 0 fills and rebuilds only, for such a DIR.)
 *
 * Usage: correlate_bench DIR N [Q [DB-URL]]
 * (DB-URL: another database than SQLite in DIR, e.g. postgresql://...;
 * the table bytes are then pg_total_relation_size.)
 */
#include "lib/config.h"
#include "lib/correlate.h"
#include "lib/hub.h"
#include "lib/org.h"
#include "util/error.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PER_REPORT 50
#define N_ORGS 20
#define CAP 200

static void
die(const char *what, int rc)
{
	fprintf(stderr, "correlate_bench: %s: %d %s\n", what, rc,
		csip_error_last());
	exit(1);
}

#define CHECK(what, expr) do { int rc_ = (expr); \
	if (rc_ < 0) die(what, rc_); } while (0)

/* Value K of the generated space, as (type, canonical value).  Shared
 * values (K below the shared pool) recur across reports; the rest are
 * unique.  The mix follows what reports carry: names, addresses, URLs
 * and hashes. */
static void
value_of(uint64_t k, char *type, size_t tsize, char *value, size_t vsize)
{
	uint64_t h = k * 0x9e3779b97f4a7c15ULL;

	switch (k % 10) {
	case 0: case 1:
		g_strlcpy(type, "domain", tsize);
		g_snprintf(value, vsize, "d%" PRIx64 ".example", h >> 20);
		break;
	case 2:
		g_strlcpy(type, "hostname", tsize);
		g_snprintf(value, vsize, "mail%u.d%" PRIx64 ".example",
			   (unsigned)(k % 7), (h >> 20) ^ 1);
		break;
	case 3: case 4:
		g_strlcpy(type, "ipv4", tsize);
		g_snprintf(value, vsize, "%u.%u.%u.%u",
			   (unsigned)(h >> 56) % 200 + 11,
			   (unsigned)(h >> 48) & 255, (unsigned)(h >> 40) & 255,
			   (unsigned)(h >> 32) & 255);
		break;
	case 5:
		g_strlcpy(type, "url", tsize);
		g_snprintf(value, vsize, "http://u%" PRIx64 ".example/p/%"
			   PRIx64, h >> 24, k);
		break;
	case 6:
		g_strlcpy(type, "cidr4", tsize);
		g_snprintf(value, vsize, "%u.%u.%u.0/24",
			   (unsigned)(h >> 56) % 200 + 11,
			   (unsigned)(h >> 48) & 255, (unsigned)(h >> 40) & 255);
		break;
	case 7:
		g_strlcpy(type, "md5", tsize);
		g_snprintf(value, vsize, "%016" PRIx64 "%016" PRIx64, h,
			   h ^ 0x5555);
		break;
	default:
		g_strlcpy(type, "sha256", tsize);
		g_snprintf(value, vsize, "%016" PRIx64 "%016" PRIx64 "%016"
			   PRIx64 "%016" PRIx64, h, ~h, h ^ 0xabcdef, k);
		break;
	}
}

typedef struct gen {
	csip_store *s;
	csip_stmt *rep, *obs;
	uint64_t shared;        /* size of the shared pool */
	uint64_t next_unique;
	GRand *rnd;
	int dry;                /* draw the values only, write nothing */
} gen;

/* One report of ORG with N_OLD values from the stored space and the rest
 * new; returns its id.  Inside the caller's transaction. */
static int64_t
add_report(gen *g, int org, int n_old)
{
	char type[16], value[160], sha[65], org_s[24];
	int64_t id = 0;
	GHashTable *seen = g_hash_table_new_full(g_int64_hash, g_int64_equal,
		g_free, NULL);
	int64_t keys[PER_REPORT];

	g_snprintf(sha, sizeof sha, "%064" PRIx64, g->next_unique);
	g_snprintf(org_s, sizeof org_s, "%d", org);
	if (g->dry)
		goto draw;
	csip_stmt_reset(g->rep);
	CHECK("bind", csip_stmt_bind_text(g->rep, 1, org_s));
	CHECK("bind", csip_stmt_bind_text(g->rep, 2, sha));
	if (csip_stmt_step(g->rep) != CSIP_ROW)
		die("insert report", CSIP_ESTORE);
	id = csip_stmt_int64(g->rep, 0);
	csip_stmt_reset(g->rep);
draw:
	for (int i = 0; i < PER_REPORT; i++) {
		uint64_t k;

		do {
			/* One in five values comes from the shared pool, so
			 * a value recurs in about twenty reports. */
			if (i < n_old && (n_old < PER_REPORT ||
					  g_rand_int_range(g->rnd, 0, 5) == 0))
				k = (uint64_t)g_rand_double_range(g->rnd, 0,
					(double)(n_old < PER_REPORT
						 ? g->next_unique : g->shared));
			else
				k = g->shared + g->next_unique++;
		} while (!g_hash_table_add(seen, g_memdup2(&k, sizeof k)));
		keys[i] = (int64_t)k;
		if (g->dry)
			continue;
		value_of(k, type, sizeof type, value, sizeof value);
		csip_stmt_reset(g->obs);
		if (csip_stmt_bind_int64(g->obs, 1, id) < 0 ||
		    csip_stmt_bind_text(g->obs, 2, type) < 0 ||
		    csip_stmt_bind_text(g->obs, 3, value) < 0)
			die("bind", CSIP_ESTORE);
		if (csip_stmt_step(g->obs) < 0)
			die("insert observation", CSIP_ESTORE);
	}
	(void)keys;
	g_hash_table_destroy(seen);
	return id;
}

/* The frames in SQLite's WAL (mxFrame of the wal-index header, at byte
 * 16 of the -shm file, SQLite's documented file format), or -1 when
 * there is no such file (PostgreSQL).  Read before and after a
 * correlation: the difference is the pages its commit wrote, unless a
 * checkpoint restarted the WAL in between (the count then falls). */
static int64_t
wal_frames(const char *shm)
{
	FILE *f = shm ? fopen(shm, "rb") : NULL;
	unsigned char b[4];
	int64_t n = -1;

	if (f && fseek(f, 16, SEEK_SET) == 0 && fread(b, 1, 4, f) == 4) {
		uint32_t v;

		memcpy(&v, b, 4);       /* native byte order */
		n = v;
	}
	if (f)
		fclose(f);
	return n;
}

/* CPU seconds of the process: on a shared machine the wall time of a
 * correlation also counts the other programs' turns. */
static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
pct(double *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

/* The SQL side: for each observation of REPORT, the exact value, every
 * parent name of a host (as a domain or host name) and every network
 * around an address, each as one indexed lookup. */
static size_t
sql_lookups(csip_store *s, csip_stmt *obs, csip_stmt *look, int64_t report)
{
	GPtrArray *types = g_ptr_array_new_with_free_func(g_free);
	GPtrArray *values = g_ptr_array_new_with_free_func(g_free);
	GHashTable *hits = g_hash_table_new(g_int64_hash, g_int64_equal);
	GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
	size_t n;

	(void)s;
	csip_stmt_reset(obs);
	csip_stmt_bind_int64(obs, 1, report);
	while (csip_stmt_step(obs) == CSIP_ROW) {
		g_ptr_array_add(types, g_strdup(csip_stmt_text(obs, 0)));
		g_ptr_array_add(values, g_strdup(csip_stmt_text(obs, 1)));
	}
	for (guint i = 0; i < types->len; i++) {
		const char *t = types->pdata[i], *v = values->pdata[i];
		GPtrArray *probe = g_ptr_array_new_with_free_func(g_free);

		g_ptr_array_add(probe, g_strdup(t));
		g_ptr_array_add(probe, g_strdup(v));
		if (strcmp(t, "domain") == 0 || strcmp(t, "hostname") == 0) {
			for (const char *p = strchr(v, '.'); p && strchr(p + 1,
			     '.'); p = strchr(p + 1, '.')) {
				g_ptr_array_add(probe, g_strdup("domain"));
				g_ptr_array_add(probe, g_strdup(p + 1));
				g_ptr_array_add(probe, g_strdup("hostname"));
				g_ptr_array_add(probe, g_strdup(p + 1));
			}
		} else if (strcmp(t, "ipv4") == 0) {
			unsigned a, b, c, d;

			if (sscanf(v, "%u.%u.%u.%u", &a, &b, &c, &d) == 4)
				for (int len = 8; len < 32; len++) {
					uint32_t ip = a << 24 | b << 16 | c << 8
						| d;
					uint32_t m = ip & ~((1u << (32 - len))
							    - 1);

					g_ptr_array_add(probe, g_strdup("cidr4"));
					g_ptr_array_add(probe, g_strdup_printf(
						"%u.%u.%u.%u/%d", m >> 24,
						(m >> 16) & 255, (m >> 8) & 255,
						m & 255, len));
				}
		}
		for (guint k = 0; k + 1 < probe->len; k += 2) {
			int rows = 0;

			csip_stmt_reset(look);
			csip_stmt_bind_text(look, 1, probe->pdata[k]);
			csip_stmt_bind_text(look, 2, probe->pdata[k + 1]);
			csip_stmt_bind_int64(look, 3, CAP + 1);
			while (csip_stmt_step(look) == CSIP_ROW) {
				int64_t *r = g_new(int64_t, 1);

				*r = csip_stmt_int64(look, 0);
				rows++;
				g_ptr_array_add(ids, r);
			}
			/* The same cap as the index: a common value links
			 * nothing. */
			if (rows > CAP)
				g_ptr_array_set_size(ids, ids->len - rows);
		}
		g_ptr_array_free(probe, TRUE);
	}
	for (guint i = 0; i < ids->len; i++)
		if (*(int64_t *)ids->pdata[i] != report)
			g_hash_table_add(hits, ids->pdata[i]);
	n = g_hash_table_size(hits);
	g_hash_table_destroy(hits);
	g_ptr_array_free(ids, TRUE);
	g_ptr_array_free(types, TRUE);
	g_ptr_array_free(values, TRUE);
	return n;
}

/* The bytes of TABLE (a name of ours, not input) and its indexes. */
static int64_t
table_bytes(csip_store *s, const char *table)
{
	int pg = strcmp(csip_store_backend_name(s), "postgresql") == 0;
	char *sql = g_strdup_printf(pg
		? "SELECT pg_total_relation_size('%s')"
		: "SELECT SUM(pgsize) FROM dbstat WHERE name IN (SELECT name "
		"FROM sqlite_master WHERE tbl_name = '%s')", table);
	int64_t n = -1;

	if (csip_store_query_int64(s, &n, sql, NULL) < 0) {
		csip_error_clear();
		n = -1;
	}
	g_free(sql);
	return n;
}

int
main(int argc, char **argv)
{
	const char *dir;
	uint64_t n_ind;
	int q, kept;
	char *conf, *ini, *db;
	csip_config *cfg = NULL;
	csip_hub *h = NULL;
	csip_store *s;
	gen g = { 0 };
	int64_t n_reports, obs_bytes, link_bytes, file_bytes = 0;
	double t0, c0, t_fill, t_rebuild, t_rebuild_cpu, t_load;
	double *ti, *ts, *tf, *tc, *wf;
	size_t n_wf = 0;
	char *shm = NULL;
	size_t keys = 0, mem = 0, hits_i = 0, hits_s = 0;
	csip_stmt *obs_st = NULL, *look = NULL;
	GTimer *timer = g_timer_new();

	if (argc < 3) {
		fprintf(stderr, "usage: correlate_bench DIR N [Q [DB-URL]]\n");
		return 2;
	}
	dir = argv[1];
	n_ind = g_ascii_strtoull(argv[2], NULL, 10);
	q = argc > 3 ? MAX(atoi(argv[3]), 0) : 200;
	db = g_build_filename(dir, "data", "csip.db", NULL);
	kept = argc <= 4 && g_file_test(db, G_FILE_TEST_EXISTS);
	g.dry = kept;
	g_free(db);
	g_mkdir_with_parents(dir, 0700);
	conf = g_build_filename(dir, "bench.conf", NULL);
	ini = g_strdup_printf("[data]\ndir = %s/data\n%s%s%s[correlate]\n"
			      "enabled = false\nmax_reports_per_value = %d\n",
			      dir, argc > 4 ? "[database]\nurl = " : "",
			      argc > 4 ? argv[4] : "", argc > 4 ? "\n" : "",
			      CAP);
	g_file_set_contents(conf, ini, -1, NULL);
	CHECK("config", csip_config_load(conf, &cfg));
	CHECK("hub", csip_hub_open(cfg, CSIP_HUB_CREATE, &h));
	s = csip_hub_store(h);
	for (int i = 0; i < N_ORGS && !g.dry; i++) {
		char name[32];
		csip_org_spec o = { .name = name, .role = "participant",
			.nda_date = "2024-04-01" };
		int64_t id;

		g_snprintf(name, sizeof name, "org-%02d", i);
		CHECK("org", csip_org_add(h, "bench", &o, &id));
	}
	CHECK("prepare", csip_store_prepare(s, "INSERT INTO report (org_id, "
		"kind, permission, attribution, tlp, source, received_at, "
		"raw_sha256) VALUES (?, 'indicators', 'sig', 'none', 'amber', "
		"'bench', '2026-01-01T00:00:00Z', ?) RETURNING id", &g.rep));
	CHECK("prepare", csip_store_prepare(s, "INSERT INTO observation "
		"(report_id, type, value, found_in) VALUES (?, ?, ?, "
		"'submitted')", &g.obs));
	g.s = s;
	g.rnd = g_rand_new_with_seed(2026);
	n_reports = (int64_t)(n_ind / PER_REPORT);
	g.shared = n_ind / 100 + 1;

	/* Fill: big transactions, no correlation. */
	t0 = g_timer_elapsed(timer, NULL);
	for (int64_t r = 0; r < n_reports; r++) {
		if (r % 2000 == 0 && !g.dry)
			CHECK("begin", csip_store_begin(s));
		add_report(&g, 1 + (int)(r % N_ORGS), PER_REPORT);
		if ((r % 2000 == 1999 || r == n_reports - 1) && !g.dry)
			CHECK("commit", csip_store_commit(s));
	}
	t_fill = g_timer_elapsed(timer, NULL) - t0;

	/* Rebuild from scratch (not on a kept hub: its index is built). */
	t0 = g_timer_elapsed(timer, NULL);
	c0 = cpu_now();
	if (!g.dry)
		CHECK("rebuild", csip_correlate_rebuild(h, "bench", NULL,
							NULL));
	t_rebuild = g_timer_elapsed(timer, NULL) - t0;
	t_rebuild_cpu = cpu_now() - c0;
	g.dry = 0;

	/* A new process loading the index file. */
	csip_correlate_forget();
	t0 = g_timer_elapsed(timer, NULL);
	CHECK("stats", csip_correlate_stats(h, &keys, &mem, &file_bytes));
	t_load = g_timer_elapsed(timer, NULL) - t0;
	/* dbstat reads every page of both tables: not again on a kept hub
	 * (the fill's run printed them). */
	obs_bytes = kept ? -1 : table_bytes(s, "observation");
	link_bytes = kept ? -1 : table_bytes(s, "corr_link");

	/* Queries: new reports, 40 of their 50 values stored already. */
	CHECK("prepare", csip_store_prepare(s, "SELECT type, value FROM "
		"observation WHERE report_id = ?", &obs_st));
	CHECK("prepare", csip_store_prepare(s, "SELECT report_id FROM "
		"observation WHERE type = ? AND value = ? LIMIT ?", &look));
	ti = g_new(double, q + 1);	/* q may be 0 */
	ts = g_new(double, q + 1);
	tf = g_new(double, q + 1);
	tc = g_new(double, q + 1);
	wf = g_new(double, q + 1);
	if (argc <= 4)
		shm = g_build_filename(dir, "data", "csip.db-shm", NULL);
	for (int i = 0; i < q; i++) {
		json_t *links = NULL;
		int64_t id, w0, w1;
		double a, c;

		CHECK("begin", csip_store_begin(s));
		id = add_report(&g, 1 + i % N_ORGS, 40);
		CHECK("commit", csip_store_commit(s));
		a = g_timer_elapsed(timer, NULL);
		CHECK("preview", csip_correlate_preview(h, id, &links));
		ti[i] = (g_timer_elapsed(timer, NULL) - a) * 1e6;
		hits_i += json_array_size(links);
		json_decref(links);
		a = g_timer_elapsed(timer, NULL);
		hits_s += sql_lookups(s, obs_st, look, id);
		ts[i] = (g_timer_elapsed(timer, NULL) - a) * 1e6;
		w0 = wal_frames(shm);
		a = g_timer_elapsed(timer, NULL);
		c = cpu_now();
		CHECK("correlate", csip_correlate_report(h, id));
		tf[i] = (g_timer_elapsed(timer, NULL) - a) * 1e6;
		tc[i] = (cpu_now() - c) * 1e6;
		w1 = wal_frames(shm);
		if (w0 >= 0 && w1 >= w0)
			wf[n_wf++] = (double)(w1 - w0);
	}
	qsort(ti, q, sizeof *ti, cmp_double);
	qsort(ts, q, sizeof *ts, cmp_double);
	qsort(tf, q, sizeof *tf, cmp_double);
	qsort(tc, q, sizeof *tc, cmp_double);
	qsort(wf, n_wf, sizeof *wf, cmp_double);
	printf("{\"indicators\": %" PRIu64 ", \"reports\": %" PRId64 ", "
	       "\"fill_s\": %.2f, \"rebuild_s\": %.2f, \"index_load_s\": %.3f, "
	       "\"keys\": %zu, \"index_mem_bytes\": %zu, \"index_file_bytes\": "
	       "%" PRId64 ", \"observation_bytes\": %" PRId64 ", "
	       "\"queries\": %d, \"index_us_median\": %.1f, \"index_us_p99\": "
	       "%.1f, \"sql_us_median\": %.1f, \"sql_us_p99\": %.1f, "
	       "\"full_us_median\": %.1f, \"full_us_p99\": %.1f, "
	       "\"full_cpu_us_median\": %.1f, \"rebuild_cpu_s\": %.2f, "
	       "\"link_bytes\": %" PRId64 ", \"wal_frames_median\": %.0f, "
	       "\"index_links\": %zu, \"sql_reports\": %zu}\n",
	       n_ind, n_reports, t_fill, t_rebuild, t_load, keys, mem,
	       file_bytes, obs_bytes, q, pct(ti, q, 0.5), pct(ti, q, 0.99),
	       pct(ts, q, 0.5), pct(ts, q, 0.99), pct(tf, q, 0.5),
	       pct(tf, q, 0.99), pct(tc, q, 0.5), t_rebuild_cpu, link_bytes,
	       n_wf ? pct(wf, n_wf, 0.5) : -1.0,
	       hits_i, hits_s);
	csip_stmt_free(obs_st);
	csip_stmt_free(look);
	csip_stmt_free(g.rep);
	csip_stmt_free(g.obs);
	g_free(ti);
	g_free(ts);
	g_free(tf);
	g_free(tc);
	g_free(wf);
	g_free(shm);
	g_rand_free(g.rnd);
	csip_hub_free(h);
	csip_config_free(cfg);
	g_free(conf);
	g_free(ini);
	g_timer_destroy(timer);
	return 0;
}
