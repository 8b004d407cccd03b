/*
 * metrics.c - request counters and the Prometheus exposition (metrics.h).
 */
#include "server/metrics.h"
#include "lib/store.h"
#include "util/error.h"

#include <glib.h>
#include <inttypes.h>
#include <string.h>

/* Upper bounds of the latency buckets, in seconds. */
static const double bounds[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
#define N_BOUNDS G_N_ELEMENTS(bounds)

struct csip_metrics {
	GMutex lock;
	GHashTable *requests;          /* "method\troute\tstatus" -> count */
	uint64_t buckets[N_BOUNDS + 1]; /* last: +Inf */
	double sum;
	uint64_t count;
};

csip_metrics *
csip_metrics_new(void)
{
	csip_metrics *m = g_new0(csip_metrics, 1);

	g_mutex_init(&m->lock);
	m->requests = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					    g_free);
	return m;
}

void
csip_metrics_free(csip_metrics *m)
{
	if (m == NULL)
		return;
	g_hash_table_destroy(m->requests);
	g_mutex_clear(&m->lock);
	g_free(m);
}

void
csip_metrics_observe(csip_metrics *m, const char *method, const char *route,
		     int status, double seconds)
{
	char *key = g_strdup_printf("%s\t%s\t%d", method, route, status);
	uint64_t *n;
	size_t b = 0;

	while (b < N_BOUNDS && seconds > bounds[b])
		b++;
	g_mutex_lock(&m->lock);
	n = g_hash_table_lookup(m->requests, key);
	if (n == NULL) {
		n = g_new0(uint64_t, 1);
		g_hash_table_insert(m->requests, key, n);
		key = NULL;
	}
	(*n)++;
	m->buckets[b]++;
	m->sum += seconds;
	m->count++;
	g_mutex_unlock(&m->lock);
	g_free(key);
}

static int
cmp_str(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Count of rows of a query, or -1 when the database could not say. */
static int64_t
gauge(csip_hub *h, const char *sql)
{
	int64_t v = -1;

	if (csip_store_query_int64(csip_hub_store(h), &v, sql, NULL) < 0) {
		csip_error_clear();
		return -1;
	}
	return v;
}

char *
csip_metrics_render(csip_metrics *m, csip_hub *h)
{
	GString *o = g_string_new(NULL);
	GPtrArray *keys;
	uint64_t cum = 0;
	int64_t v;

	g_string_append(o, "# HELP csip_http_requests_total HTTP requests by "
		"method, route and status.\n"
		"# TYPE csip_http_requests_total counter\n");
	g_mutex_lock(&m->lock);
	keys = g_ptr_array_new();
	{
		GHashTableIter it;
		gpointer k;

		g_hash_table_iter_init(&it, m->requests);
		while (g_hash_table_iter_next(&it, &k, NULL))
			g_ptr_array_add(keys, k);
	}
	g_ptr_array_sort(keys, cmp_str);
	for (guint i = 0; i < keys->len; i++) {
		const char *k = keys->pdata[i];
		char **f = g_strsplit(k, "\t", 3);
		uint64_t *n = g_hash_table_lookup(m->requests, k);

		g_string_append_printf(o, "csip_http_requests_total{method=\"%s"
			"\",route=\"%s\",status=\"%s\"} %" PRIu64 "\n", f[0],
			f[1], f[2], *n);
		g_strfreev(f);
	}
	g_ptr_array_free(keys, TRUE); /* the keys stay in the table */
	g_string_append(o, "# HELP csip_http_request_duration_seconds Time "
		"to answer a request.\n"
		"# TYPE csip_http_request_duration_seconds histogram\n");
	for (size_t b = 0; b < N_BOUNDS; b++) {
		cum += m->buckets[b];
		g_string_append_printf(o, "csip_http_request_duration_seconds_"
			"bucket{le=\"%g\"} %" PRIu64 "\n", bounds[b], cum);
	}
	cum += m->buckets[N_BOUNDS];
	g_string_append_printf(o, "csip_http_request_duration_seconds_bucket"
		"{le=\"+Inf\"} %" PRIu64 "\n"
		"csip_http_request_duration_seconds_sum %.6f\n"
		"csip_http_request_duration_seconds_count %" PRIu64 "\n",
		cum, m->sum, m->count);
	g_mutex_unlock(&m->lock);

	g_string_append(o, "# HELP csip_reports Reports stored.\n"
		"# TYPE csip_reports gauge\n");
	g_string_append_printf(o, "csip_reports %" PRId64 "\n",
		gauge(h, "SELECT COUNT(*) FROM report"));
	g_string_append(o, "# HELP csip_items Shared items by status.\n"
		"# TYPE csip_items gauge\n");
	for (const char *const *st = (const char *const[]){ "draft",
	     "pending", "changes_requested", "approved", "published",
	     "withdrawn", NULL }; *st; st++) {
		char *sql = g_strdup_printf("SELECT COUNT(*) FROM item WHERE "
					    "status = '%s'", *st);

		g_string_append_printf(o, "csip_items{status=\"%s\"} %" PRId64
			"\n", *st, gauge(h, sql));
		g_free(sql);
	}
	g_string_append(o, "# HELP csip_feedback Feedback received.\n"
		"# TYPE csip_feedback gauge\n");
	g_string_append_printf(o, "csip_feedback %" PRId64 "\n",
		gauge(h, "SELECT COUNT(*) FROM feedback"));
	g_string_append(o, "# HELP csip_notifications_pending Notifications "
		"waiting to be sent.\n# TYPE csip_notifications_pending gauge\n");
	g_string_append_printf(o, "csip_notifications_pending %" PRId64 "\n",
		gauge(h, "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL "
		"AND failed_at IS NULL"));
	v = csip_store_size_bytes(csip_hub_store(h));
	g_string_append(o, "# HELP csip_database_bytes Size of the database."
		"\n# TYPE csip_database_bytes gauge\n");
	g_string_append_printf(o, "csip_database_bytes %" PRId64 "\n", v);
	return g_string_free(o, FALSE);
}
