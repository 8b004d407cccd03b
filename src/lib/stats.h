/*
 * stats.h - the hub's statistics per Japanese fiscal year and quarter:
 * reports received, items shared, sharing instances, feedback and
 * campaigns, as JSON, as a text table and as SVG bar charts.
 *
 * Fiscal years.  FY N runs from 1 April N to 31 March N+1; Q1 is April to
 * June, Q2 July to September, Q3 October to December, Q4 January to
 * March.  The database keeps times as ISO 8601 UTC text, but the centre
 * and its published figures (J-CSIP's quarterly reports) go by the
 * calendar in Japan, so every count here is by the date in Japan Standard
 * Time (UTC+9, no daylight saving): a report received at 2017-03-31T14:59Z
 * (23:59 JST on 31 March) is FY2016 Q4, one at 2017-03-31T15:00Z (00:00
 * JST on 1 April) is FY2017 Q1.  Periods are half-open ranges of UTC text
 * [start, end), which compare as strings on every backend.
 *
 * What is counted (per quarter and per fiscal year):
 *   reports            reports received (report.received_at); bulk copies
 *                      folded into one report count once;
 *   items              items shared: published (item.published_at), still
 *                      counted after a withdrawal;
 *   sharing_instances  item x receiving organisation (item_recipient rows
 *                      by shared_at, as they stand: the recipients of a
 *                      withdrawn item are gone from that table);
 *   feedback           feedback given (feedback.created_at);
 *   campaigns          campaigns identified, when the database has a
 *                      campaign table; 0 with a note otherwise.
 * Breakdowns: reports by the SIG of the provider and by attack type, items
 * by attack type, sharing instances by the SIG of the receiving
 * organisation, feedback by kind.  An organisation in two SIGs counts in
 * each of them, so a breakdown by SIG can add up to more than the total,
 * which counts each report (or sharing instance) once.
 *
 * Who sees what is csip_policy_stats_scope()'s decision (policy.h): the
 * hub everything; others community-wide totals and their own figures,
 * never a breakdown that could point at an organisation.
 */
#ifndef CSIP_STATS_H
#define CSIP_STATS_H

#include "lib/policy.h"
#include "lib/store.h"

#include <jansson.h>

/* The first and last fiscal years accepted: four-digit years whose end
 * (31 March of the next year) is still a four-digit year. */
#define CSIP_STATS_FY_MIN 1970
#define CSIP_STATS_FY_MAX 9998
/* At most this many fiscal years in one request (a chart stays legible). */
#define CSIP_STATS_MAX_YEARS 20

/* The fiscal year and quarter (1-4) of UTC_TS, ISO 8601 text ("Z" or an
 * offset), by its date in Japan.  CSIP_EINVAL naming the text when it is
 * not a time. */
int csip_stats_fy_of(const char *utc_ts, int *fy, int *quarter);

/* The UTC bounds [start, end) of quarter QUARTER (1-4) of FY, or of the
 * whole year when QUARTER is 0, as "YYYY-MM-DDTHH:MM:SSZ" in buffers of at
 * least 21 bytes. */
void csip_stats_bounds(int fy, int quarter, char start[static 21],
		       char end[static 21]);

/* The fiscal year of the current time in Japan. */
int csip_stats_current_fy(void);

/* Parse a fiscal year ("2016") or an inclusive range ("2014-2016") into
 * *first and *last.  CSIP_EINVAL with a message naming TEXT and what to
 * give otherwise. */
int csip_stats_parse_fy(const char *text, int *first, int *last);

/* Count fiscal years FIRST to LAST (inclusive) as reader R may see them
 * (csip_policy_stats_scope).  CSIP_EPERM when R may see no statistics.
 * *out is a new reference (json_decref):
 *   { "scope": "all"|"community"|"own", "timezone": "Asia/Tokyo",
 *     "first_fy", "last_fy",
 *     "years": [ { "fy", "label": "FY2016", "from": "2016-04-01",
 *                  "to": "2017-03-31", "start", "end" (UTC bounds),
 *                  "totals": { MEASURE: n, ... },
 *                  "quarters": [ { "quarter": 1, "label": "Q1", "from",
 *                                  "to", "start", "end",
 *                                  "counts": { MEASURE: n, ... } } x4 ],
 *                  "breakdowns": { NAME: [ { "key", "label",
 *                                  "quarters": [n, n, n, n], "total" } ] }
 *               } ],
 *     "notes": [ "...", ... ] }
 * MEASUREs are those of the scope: reports, items, sharing_instances,
 * feedback, campaigns (all, community); provided (the reader's own
 * reports) and received (items shared with it) (community, own).  A count
 * is null where the scope hides it (too few providers). */
int csip_stats_compute(csip_store *s, const csip_reader *r, int first,
		       int last, json_t **out);

/* Render a result of csip_stats_compute() as a plain-text table (one
 * block per fiscal year) or as a standalone SVG 1.1 document of grouped
 * bar charts: quarters per fiscal year for one year, fiscal years side by
 * side for a range.  The strings are new (g_free). */
char *csip_stats_text(json_t *stats);
char *csip_stats_svg(json_t *stats);

#endif
