/*
 * scan_bench.c - bench/match: the scan alone, without the load.
 *
 * Loads the list FILE (bench/match/gen.py's indicators-N.txt) once, reads
 * each LOG into memory, then scans all of them ROUNDS times on one thread
 * (csip_match_buffer(), each log's format detected from its first line),
 * timing each round by the process's CPU time.  Prints one JSON line: the
 * bytes, the sightings of a round and a checksum over them (indicator,
 * line, offset, so that two builds can be compared), and the median and
 * best round as MB per CPU-second and as wall MB/s.
 *
 * Usage: scan_bench FILE ROUNDS LOG...
 */
#include "lib/match.h"
#include "lib/match_log.h"
#include "lib/match_src.h"
#include "util/error.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct tally {
	uint64_t n, sum;
} tally;

static void
on_sighting(void *ud, const csip_sighting *s)
{
	tally *t = ud;

	t->n++;
	t->sum = (t->sum ^ ((uint64_t)s->ind << 40 ^ s->line << 20 ^
			    s->offset)) * 0x100000001b3ull;
}

/* CPU time of the process, µs: the scan runs on this one thread. */
static gint64
cpu_us(void)
{
	return (gint64)((double)clock() * 1e6 / CLOCKS_PER_SEC);
}

static int
cmp_i64(const void *a, const void *b)
{
	gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	csip_match_set *s = NULL;
	csip_match_src_stats st;
	int rounds, nlogs, rc = 1;
	char **data = NULL;
	gsize *len = NULL;
	csip_log_format *fmt = NULL;
	gint64 *cpu = NULL, *wall = NULL;
	uint64_t bytes = 0;
	tally t = { 0, 0 };

	if (argc < 4) {
		fprintf(stderr, "usage: %s FILE ROUNDS LOG...\n", argv[0]);
		return 2;
	}
	rounds = atoi(argv[2]);
	if (rounds < 1)
		rounds = 1;
	nlogs = argc - 3;
	s = csip_match_set_new();
	memset(&st, 0, sizeof(st));
	if (csip_match_src_load(s, argv[1], CSIP_MSRC_AUTO, NULL, NULL,
				&st) != CSIP_OK) {
		fprintf(stderr, "%s\n", csip_error_last());
		goto out;
	}
	csip_match_set_build(s);
	data = g_new0(char *, nlogs);
	len = g_new0(gsize, nlogs);
	fmt = g_new0(csip_log_format, nlogs);
	for (int k = 0; k < nlogs; k++) {
		const char *nl;

		if (!g_file_get_contents(argv[3 + k], &data[k], &len[k],
					 NULL)) {
			fprintf(stderr, "cannot read %s\n", argv[3 + k]);
			goto out;
		}
		nl = memchr(data[k], '\n', len[k]);
		fmt[k] = csip_log_detect(data[k], nl ? (size_t)(nl - data[k]) :
					 len[k]);
		bytes += len[k];
	}
	cpu = g_new0(gint64, rounds);
	wall = g_new0(gint64, rounds);
	for (int r = 0; r < rounds; r++) {
		gint64 c0 = cpu_us(), w0 = g_get_monotonic_time();

		t.n = t.sum = 0;
		for (int k = 0; k < nlogs; k++)
			csip_match_buffer(s, fmt[k], data[k], len[k], 1, 0, 1,
					  on_sighting, &t);
		cpu[r] = cpu_us() - c0;
		wall[r] = g_get_monotonic_time() - w0;
	}
	qsort(cpu, (size_t)rounds, sizeof(*cpu), cmp_i64);
	qsort(wall, (size_t)rounds, sizeof(*wall), cmp_i64);
	printf("{\"bytes\":%" G_GUINT64_FORMAT ",\"sightings\":%"
	       G_GUINT64_FORMAT ",\"checksum\":\"%016" G_GINT64_MODIFIER
	       "x\",\"rounds\":%d,\"cpu_mbs_median\":%.1f,"
	       "\"cpu_mbs_best\":%.1f,\"wall_mbs_median\":%.1f}\n",
	       bytes, t.n, t.sum, rounds,
	       (double)bytes / (double)cpu[rounds / 2],
	       (double)bytes / (double)cpu[0],
	       (double)bytes / (double)wall[rounds / 2]);
	rc = 0;
out:
	for (int k = 0; data && k < nlogs; k++)
		g_free(data[k]);
	g_free(data);
	g_free(len);
	g_free(fmt);
	g_free(cpu);
	g_free(wall);
	csip_match_set_free(s);
	return rc;
}
