/*
 * metrics.h - the server's counters, rendered in the Prometheus text
 * format at /metrics: requests by route and status, a latency histogram,
 * and gauges read from the database when scraped.  All of it counts the
 * whole hub, so the route is for the hub's analysts (api.c).
 *
 * Counting is one mutex-protected table update per request: cheap next to
 * the request itself, and exact.
 */
#ifndef CSIP_METRICS_H
#define CSIP_METRICS_H

#include "lib/hub.h"

typedef struct csip_metrics csip_metrics;

/* *out is freed with csip_metrics_free(). */
csip_metrics *csip_metrics_new(void);
void csip_metrics_free(csip_metrics *m);

/* Count one request: ROUTE is the route's pattern (or "unmatched"),
 * SECONDS its duration. */
void csip_metrics_observe(csip_metrics *m, const char *method,
			  const char *route, int status, double seconds);

/* The exposition text (g_free), with gauges read through H. */
char *csip_metrics_render(csip_metrics *m, csip_hub *h);

#endif
