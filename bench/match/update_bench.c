/*
 * update_bench.c - bench/match: what an update of the indicators costs
 * while `csip match --follow` goes on matching.
 *
 * Loads the list FILE (bench/match/gen.py's indicators-N.txt) and builds
 * it, then, as the follow mode does, copies the set, adds K new values and
 * builds the copy in one thread while another matches LOG over and over
 * in chunks of 1 MiB, and finally swaps the sets.  Prints one JSON line:
 * the times of load, copy, add, build and free (wall, and the update
 * thread's CPU time for copy and build); the matching thread's
 * chunk time (median and worst) before and during the update; its MB/s
 * in both; and the size of each set.
 *
 * Usage: update_bench FILE LOG [K]
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

#define CHUNK (1u << 20)

typedef struct matcher {
	const csip_match_set *set;
	const char *log;
	size_t len;
	volatile gint stop;
	volatile gint phase;   /* 0: before the update, 1: during */
	GArray *times[2];      /* chunk times, µs */
	uint64_t bytes[2];
} matcher;

static void
on_sighting(void *ud, const csip_sighting *s)
{
	(void)ud;
	(void)s;
}

static gpointer
match_loop(gpointer data)
{
	matcher *m = data;
	size_t at = 0;

	while (!g_atomic_int_get(&m->stop)) {
		size_t n = MIN(CHUNK, m->len - at);
		const char *nl = memrchr(m->log + at, '\n', n);
		int ph = g_atomic_int_get(&m->phase);
		gint64 t0 = g_get_monotonic_time(), dt;

		if (nl)
			n = (size_t)(nl - (m->log + at)) + 1;
		csip_match_buffer(m->set, CSIP_LOG_TEXT, m->log + at, n, 1, at,
				  1, on_sighting, NULL);
		dt = g_get_monotonic_time() - t0;
		g_array_append_val(m->times[ph], dt);
		m->bytes[ph] += n;
		at = at + n >= m->len ? 0 : at + n;
	}
	return NULL;
}

/* CPU time of this thread, µs: what the update costs, whatever else
 * the machine runs. */
static gint64
cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (gint64)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
cmp64(const void *a, const void *b)
{
	gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;

	return x < y ? -1 : x > y;
}

/* Median and worst of A, and the MB/s of BYTES over the sum. */
static void
summary(GArray *a, uint64_t bytes, gint64 *med, gint64 *worst, double *mbs)
{
	gint64 sum = 0;

	g_array_sort(a, cmp64);
	for (guint i = 0; i < a->len; i++)
		sum += g_array_index(a, gint64, i);
	*med = a->len ? g_array_index(a, gint64, a->len / 2) : 0;
	*worst = a->len ? g_array_index(a, gint64, a->len - 1) : 0;
	*mbs = sum ? (double)bytes / (double)sum : 0;
}

int
main(int argc, char **argv)
{
	csip_match_set *s = NULL, *c = NULL;
	csip_match_src_stats st;
	matcher m = { 0 };
	GThread *th;
	gchar *log = NULL;
	gsize len = 0;
	gint64 t0, c0, t_load, t_copy, t_add, t_build, t_free, med[2],
	       worst[2], cpu_copy, cpu_build;
	double mbs[2], old_mib;
	int k = argc > 3 ? atoi(argv[3]) : 1000;

	if (argc < 3 || k < 1) {
		fprintf(stderr, "usage: update_bench FILE LOG [K]\n");
		return 2;
	}
	if (!g_file_get_contents(argv[2], &log, &len, NULL) || len == 0) {
		fprintf(stderr, "update_bench: cannot read %s\n", argv[2]);
		return 1;
	}
	t0 = g_get_monotonic_time();
	s = csip_match_set_new();
	if (csip_match_src_load(s, argv[1], CSIP_MSRC_AUTO, NULL, NULL,
				&st) < 0) {
		fprintf(stderr, "update_bench: %s\n", csip_error_last());
		return 1;
	}
	csip_match_set_build(s);
	t_load = g_get_monotonic_time() - t0;

	m.set = s;
	m.log = log;
	m.len = len;
	m.times[0] = g_array_new(FALSE, FALSE, sizeof(gint64));
	m.times[1] = g_array_new(FALSE, FALSE, sizeof(gint64));
	th = g_thread_new("match", match_loop, &m);
	g_usleep(2 * G_USEC_PER_SEC);
	g_atomic_int_set(&m.phase, 1);

	t0 = g_get_monotonic_time();
	c0 = cpu_us();
	c = csip_match_set_copy(s);
	t_copy = g_get_monotonic_time() - t0;
	cpu_copy = cpu_us() - c0;
	t0 = g_get_monotonic_time();
	for (int i = 0; i < k; i++) {
		char v[64];
		int n = g_snprintf(v, sizeof v, "update-%d.bench.example", i);

		csip_match_set_add(c, v, (size_t)n, CSIP_IND_UNKNOWN);
	}
	t_add = g_get_monotonic_time() - t0;
	t0 = g_get_monotonic_time();
	c0 = cpu_us();
	csip_match_set_build(c);
	t_build = g_get_monotonic_time() - t0;
	cpu_build = cpu_us() - c0;
	g_atomic_int_set(&m.stop, 1);
	g_thread_join(th);
	/* The swap itself is a pointer; the old set is freed after it. */
	old_mib = (double)csip_match_set_memory(s) / 1048576.0;
	t0 = g_get_monotonic_time();
	csip_match_set_free(s);
	t_free = g_get_monotonic_time() - t0;

	summary(m.times[0], m.bytes[0], &med[0], &worst[0], &mbs[0]);
	summary(m.times[1], m.bytes[1], &med[1], &worst[1], &mbs[1]);
	printf("{\"indicators\":%zu,\"added\":%d,\"set_mib\":%.1f,"
	       "\"copy_mib\":%.1f,\"load_s\":%.3f,\"copy_s\":%.3f,"
	       "\"copy_cpu_s\":%.3f,\"add_s\":%.4f,\"build_s\":%.3f,"
	       "\"build_cpu_s\":%.3f,\"free_old_s\":%.4f,"
	       "\"chunk_us_before\":{\"median\":%" G_GINT64_FORMAT
	       ",\"worst\":%" G_GINT64_FORMAT ",\"mb_s\":%.0f},"
	       "\"chunk_us_during\":{\"median\":%" G_GINT64_FORMAT
	       ",\"worst\":%" G_GINT64_FORMAT ",\"mb_s\":%.0f}}\n",
	       csip_match_set_count(c) - (size_t)k, k, old_mib,
	       (double)csip_match_set_memory(c) / 1048576.0,
	       (double)t_load / 1e6, (double)t_copy / 1e6,
	       (double)cpu_copy / 1e6, (double)t_add / 1e6,
	       (double)t_build / 1e6, (double)cpu_build / 1e6,
	       (double)t_free / 1e6, med[0], worst[0], mbs[0], med[1],
	       worst[1], mbs[1]);
	csip_match_set_free(c);
	g_array_free(m.times[0], TRUE);
	g_array_free(m.times[1], TRUE);
	g_free(log);
	return 0;
}
