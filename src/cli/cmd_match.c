/*
 * cmd_match.c - `csip match`: scan logs for the indicators of a list and
 * print one JSON line per sighting; with --follow, keep reading the logs
 * as they grow while the indicators are kept up to date; with --report,
 * send the sightings back to the hub as feedback.
 *
 * The matching itself is in lib/match.c (tokenizer and tables) and
 * lib/match_log.c (formats, reading, threads), the indicator sources in
 * lib/match_src.c (lists, STIX, MISP, URLs) and lib/match_feed.c (loaded
 * again, incrementally from the hub), following in lib/match_tail.c and
 * reporting in lib/match_report.c; this file loads them, opens the logs
 * and writes the sightings, escaping by hand because this is the one
 * output of csip that can be large.
 *
 * Following runs two threads: this one reads and matches the logs; the
 * hub thread polls the feed, builds each new set aside and hands it over
 * whole (one pointer, taken between two reads, so an update never stalls
 * the matching), and sends the reports, backing off while they fail.
 */
#include "cli.h"
#include "lib/match.h"
#include "lib/match_feed.h"
#include "lib/match_log.h"
#include "lib/match_report.h"
#include "lib/match_src.h"
#include "lib/match_tail.h"
#include "util/error.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The options of this command only, bound by cmd_match_options; the
 * intervals are -1 until given, so that their defaults can depend on
 * --follow. */
static struct {
	gchar *indicators;
	gchar *ind_format;
	gchar *format;
	gint threads;
	gboolean quiet;
	gboolean follow;
	gint refresh;
	gint full_refresh;
	gchar *report;
	gint report_interval;
	gchar *state;
} opts = { .refresh = -1, .full_refresh = -1, .report_interval = -1 };

GOptionEntry cmd_match_options[] = {
	{ "indicators", 'i', 0, G_OPTION_ARG_FILENAME, &opts.indicators,
	  "The indicators: a file (one per line, CSV with a \"value\" column, "
	  "a STIX 2.1 bundle, a MISP event), a MISP feed folder, or an "
	  "http(s) URL (a URL ending in / is a MISP feed; the hub's "
	  "/api/v1/export/csv names the items carrying each indicator and is "
	  "updated incrementally); sent with the bearer token in CSIP_TOKEN over "
	  "https", "FILE|DIR|URL" },
	{ "indicators-format", 0, 0, G_OPTION_ARG_STRING, &opts.ind_format,
	  "auto (default: from the content), list (one per line or CSV), "
	  "stix, misp", "FORMAT" },
	{ "format", 'f', 0, G_OPTION_ARG_STRING, &opts.format,
	  "auto (default), text, squid, bind, zeek-dns, eve, postfix, csv",
	  "FORMAT" },
	{ "threads", 't', 0, G_OPTION_ARG_INT, &opts.threads,
	  "Threads per log (default: the number of cores)", "N" },
	{ "follow", 'F', 0, G_OPTION_ARG_NONE, &opts.follow,
	  "Read the logs, then keep reading them as they grow, through "
	  "rotation and truncation, until SIGINT or SIGTERM (as tail -F)",
	  NULL },
	{ "refresh", 0, 0, G_OPTION_ARG_INT, &opts.refresh,
	  "With --follow: read the indicators again every SECONDS (default "
	  "300; 0: never), only what is new from the hub's CSV export",
	  "SECONDS" },
	{ "full-refresh", 0, 0, G_OPTION_ARG_INT, &opts.full_refresh,
	  "With --follow: read them all again every SECONDS (default 3600), "
	  "so that withdrawn and expired ones drop out", "SECONDS" },
	{ "report", 'r', 0, G_OPTION_ARG_STRING, &opts.report,
	  "Send the sightings, counted per indicator, to the hub at URL as "
	  "feedback on the items carrying them, with the token in CSIP_TOKEN "
	  "(https, or http to this machine); needs the hub's CSV export as "
	  "--indicators", "URL" },
	{ "report-interval", 0, 0, G_OPTION_ARG_INT, &opts.report_interval,
	  "With --follow: report every SECONDS (default 60); without "
	  "--follow the report is sent once, at the end", "SECONDS" },
	{ "state", 0, 0, G_OPTION_ARG_FILENAME, &opts.state,
	  "With --follow: keep in FILE where each log was read up to and the "
	  "sightings not reported yet, so that a restart goes on from there "
	  "instead of reading and reporting the logs again", "FILE" },
	{ "quiet", 'q', 0, G_OPTION_ARG_NONE, &opts.quiet,
	  "No summary on stderr", NULL },
	{ NULL, 0, 0, 0, NULL, NULL, NULL }
};

/* At most this many invalid indicators are named one by one. */
#define MAX_WARNINGS 20
/* How often the logs followed are looked at when nothing came. */
#define POLL_MS 250
/* How often --state is written while following. */
#define STATE_EVERY_US (2 * G_USEC_PER_SEC)
/* Reporting without --follow: attempts, the first wait doubling. */
#define FINAL_ATTEMPTS 3
/* While following, a failed report is tried again after 1 s, 2 s, ...
 * up to this. */
#define BACKOFF_MAX 300

typedef struct out_ctx {
	const csip_match_set *set;
	csip_match_report *report;   /* NULL without --report */
	GString *log;        /* the log's name, escaped for JSON */
	GString *buf;
	FILE *f;
} out_ctx;

/* Append S as the inside of a JSON string.  Invalid UTF-8 (a file name can
 * be any bytes) becomes U+FFFD. */
static void
json_escape(GString *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const char *end = s + n;

	while (s < end) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x80) {
			const char *next;

			if (!g_utf8_validate(s, MIN(end - s, 4), &next) &&
			    next == s) {
				g_string_append(o, "\\ufffd");
				s++;
				continue;
			}
			if (next == s)
				next = g_utf8_next_char(s);
			g_string_append_len(o, s, next - s);
			s = next;
			continue;
		}
		if (c == '"' || c == '\\') {
			g_string_append_c(o, '\\');
			g_string_append_c(o, (char)c);
		} else if (c < 0x20) {
			g_string_append(o, "\\u00");
			g_string_append_c(o, hex[c >> 4]);
			g_string_append_c(o, hex[c & 15]);
		} else {
			g_string_append_c(o, (char)c);
		}
		s++;
	}
}

static void
print_sighting(void *ud, const csip_sighting *sg)
{
	out_ctx *o = ud;
	csip_ind_type t;
	const char *v = csip_match_indicator(o->set, sg->ind, &t);

	g_string_truncate(o->buf, 0);
	g_string_append(o->buf, "{\"indicator\":\"");
	json_escape(o->buf, v, strlen(v));
	g_string_append_printf(o->buf, "\",\"type\":\"%s\",\"log\":\"%s\","
		"\"line\":%" G_GUINT64_FORMAT ",\"offset\":%" G_GUINT64_FORMAT
		",\"timestamp\":", csip_ind_type_name(t), o->log->str,
		sg->line, sg->offset);
	if (sg->ts[0])
		g_string_append_printf(o->buf, "\"%s\"}\n", sg->ts);
	else
		g_string_append(o->buf, "null}\n");
	fwrite(o->buf->str, 1, o->buf->len, o->f);
	if (o->report)
		csip_match_report_add(o->report, t, v, sg->ts);
}

static void
warn_bad(void *ud, const char *name, uint64_t line, const char *msg)
{
	size_t *n = ud;

	if ((*n)++ >= MAX_WARNINGS)
		return;
	/* JSON sources name the object in the message instead of a line. */
	if (line)
		fprintf(stderr, "csip match: warning: %s:%" G_GUINT64_FORMAT
			": %s; skipped\n", name, line, msg);
	else
		fprintf(stderr, "csip match: warning: %s: %s; skipped\n",
			name, msg);
}

static void
clear_opts(void)
{
	g_free(opts.indicators);
	g_free(opts.ind_format);
	g_free(opts.format);
	g_free(opts.report);
	g_free(opts.state);
	memset(&opts, 0, sizeof(opts));
	opts.refresh = opts.full_refresh = opts.report_interval = -1;
}

/* ------------------------------------------------------------------ */
/* Reporting */

static const int64_t *
item_of(void *ud, csip_ind_type type, const char *value, size_t *n)
{
	return csip_match_feed_items(ud, type, value, n);
}

/* Set when sightings were dropped: the exit status says so. */
static volatile gint dropped;

/* What was reported over the run, for the summary: added to by the hub
 * thread, then by the last report once that thread is joined. */
static struct {
	uint64_t sightings;
	size_t sent;
} reported;

static void
note_dropped(void *ud, const char *message)
{
	(void)ud;
	g_atomic_int_set(&dropped, 1);
	fprintf(stderr, "csip match: warning: %s\n", message);
}

/* The last report: a few attempts, then what is left is printed, so that
 * it can be sent by hand.  Returns CLI_OK or CLI_FAIL. */
static int
report_final(cli_ctx *ctx, csip_match_report *r, csip_match_feed *feed)
{
	csip_match_report_stats st;
	int rc = CSIP_OK;

	for (int i = 0; i < FINAL_ATTEMPTS; i++) {
		if (i > 0)
			g_usleep((gulong)(1u << (i - 1)) * G_USEC_PER_SEC);
		rc = csip_match_report_send(r, item_of, feed, note_dropped,
					    NULL, &st);
		reported.sent += st.sent;
		reported.sightings += st.sightings;
		if (rc == CSIP_OK)
			break;
	}
	if (rc < 0) {
		GString *left = g_string_new(NULL);
		char **lines;

		cli_fail(ctx);
		csip_match_report_pending(r, left);
		lines = g_strsplit(left->str, "\n", -1);
		for (char **l = lines; *l; l++)
			if (**l)
				fprintf(stderr, "csip match: not reported: "
					"%s\n", *l);
		g_strfreev(lines);
		g_string_free(left, TRUE);
	}
	if (!opts.quiet)
		fprintf(stderr, "csip match: reported %" G_GUINT64_FORMAT
			" sighting%s in %zu feedback%s to %s\n",
			reported.sightings, reported.sightings == 1 ? "" : "s",
			reported.sent, reported.sent == 1 ? "" : "s",
			opts.report);
	return rc < 0 || g_atomic_int_get(&dropped) ? CLI_FAIL : CLI_OK;
}

/* ------------------------------------------------------------------ */
/* Following: the logs in this thread, the hub in another */

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* What the hub thread shares with the matching thread. */
typedef struct hub_ctx {
	csip_match_feed *feed;
	csip_match_report *report;   /* NULL without --report */
	int refresh, full_refresh, report_interval;   /* seconds */
	GMutex lock;
	GCond wake;
	int stop;
	csip_match_set *fresh;       /* built, not picked up yet */
	GMutex send_lock;            /* held while a report is sent */
	int hold;                    /* under send_lock: the last write of
				      * --state failed, so nothing is sent
				      * that the file does not hold */
} hub_ctx;

/* Wait until DEADLINE (monotonic µs) or a stop; returns whether to
 * stop. */
static int
hub_wait(hub_ctx *h, gint64 deadline)
{
	int stop;

	g_mutex_lock(&h->lock);
	while (!h->stop && g_get_monotonic_time() < deadline)
		if (!g_cond_wait_until(&h->wake, &h->lock, deadline))
			break;
	stop = h->stop;
	g_mutex_unlock(&h->lock);
	return stop;
}

static void
hub_refresh(hub_ctx *h, int full)
{
	csip_match_feed_stats st;
	csip_match_set *set = NULL, *old;

	if (csip_match_feed_load(h->feed, full, NULL, NULL, &set, &st) < 0) {
		fprintf(stderr, "csip match: warning: updating the indicators "
			"failed: %s; matching goes on with those loaded\n",
			csip_error_last());
		csip_error_clear();
		return;
	}
	if (set == NULL)
		return;
	/* Built here, handed over whole: the matching thread swaps a
	 * pointer between two reads. */
	g_mutex_lock(&h->lock);
	old = h->fresh;
	h->fresh = set;
	g_mutex_unlock(&h->lock);
	csip_match_set_free(old);
	if (opts.quiet)
		return;
	if (st.full)
		fprintf(stderr, "csip match: indicators read again: %zu\n",
			st.count);
	else
		fprintf(stderr, "csip match: indicators updated: %zu new, %zu "
			"in all\n", st.fresh, st.count);
}

static gpointer
hub_thread(gpointer data)
{
	hub_ctx *h = data;
	gint64 now = g_get_monotonic_time(), s = G_USEC_PER_SEC;
	gint64 next_refresh = h->refresh > 0 ? now + h->refresh * s :
		G_MAXINT64;
	gint64 next_full = now + (gint64)h->full_refresh * s;
	gint64 next_report = h->report ? now + h->report_interval * s :
		G_MAXINT64;
	int backoff = 0;

	while (!hub_wait(h, MIN(next_refresh, next_report))) {
		now = g_get_monotonic_time();
		if (now >= next_refresh) {
			int full = h->full_refresh > 0 && now >= next_full;

			hub_refresh(h, full);
			if (full)
				next_full = now + h->full_refresh * s;
			next_refresh = now + h->refresh * s;
		}
		if (now >= next_report) {
			csip_match_report_stats st;
			int sent;

			g_mutex_lock(&h->send_lock);
			if (h->hold) {
				g_mutex_unlock(&h->send_lock);
				next_report = now + h->report_interval * s;
				continue;
			}
			sent = csip_match_report_send(h->report, item_of,
				h->feed, note_dropped, NULL, &st);
			g_mutex_unlock(&h->send_lock);
			reported.sent += st.sent;
			reported.sightings += st.sightings;
			if (sent == CSIP_OK) {
				backoff = 0;
				next_report = now + h->report_interval * s;
				continue;
			}
			backoff = backoff ? MIN(backoff * 2, BACKOFF_MAX) : 1;
			fprintf(stderr, "csip match: %s; trying again in %d "
				"s\n", csip_error_last(), backoff);
			csip_error_clear();
			next_report = now + backoff * s;
		}
	}
	return NULL;
}

static void
tail_events(const char *name, const csip_match_tail *t, unsigned ev)
{
	if (ev & CSIP_TAIL_MISSING)
		fprintf(stderr, "csip match: warning: %s does not exist (yet);"
			" waiting for it\n", name);
	if (opts.quiet)
		return;
	if (ev & CSIP_TAIL_PREDECESSOR)
		fprintf(stderr, "csip match: %s was rotated while stopped; "
			"reading the rest of %s first\n", name,
			csip_match_tail_predecessor(t));
	if (ev & CSIP_TAIL_ROTATED)
		fprintf(stderr, "csip match: %s was rotated; reading the new "
			"file\n", name);
	if (ev & CSIP_TAIL_TRUNCATED)
		fprintf(stderr, "csip match: %s was truncated; reading it "
			"from its start\n", name);
}

/* ------------------------------------------------------------------ */
/* --state: where each log was read up to, and what is not reported yet */

/* The file is written whole (a new file renamed over the old, synced)
 * by the matching thread between two reads, while no report is being
 * sent: then every line before each position has been counted, and each
 * count is either sent or in "unsent", under its Idempotency-Key.  Only
 * what a written state holds is sent (csip_match_report_sealed_only).  A
 * restart resumes each log there (if it is still the same file, with the
 * same bytes before the position) and sends what is unsent under the
 * same keys: a count the hub recorded after the last write is answered,
 * not recorded again, and the lines read since the last write (two
 * seconds at most) are read again and counted anew.  So across a stop or
 * a crash a line is reported once.
 *
 *   {"version": 1,
 *    "logs": {"NAME": {"dev", "ino", "offset", "line", "tag",
 *                      "skipping"}, ...},
 *    "unsent": [ {as csip_match_report_pending() writes}, ... ]}
 *
 * Logs are keyed by the name given on the command line; dev, ino and
 * tag (csip_tail_pos) are unsigned 64-bit numbers, written as decimal
 * strings since JSON integers are signed. */
typedef struct log_pos {
	int have;
	csip_tail_pos p;
} log_pos;

typedef struct state_ctx {
	const char *path;      /* NULL: no state kept */
	log_pos *pos;          /* one per log, as named */
	gint64 saved_us;
	int failing;           /* the last write failed (said once) */
} state_ctx;

static int
state_fail(cli_ctx *ctx, const char *path, const char *why)
{
	csip_error_set(CSIP_EINVAL, "%s: %s; remove it to read the logs "
		       "from their start", path, why);
	return cli_fail(ctx);
}

/* Read ST->path, if it exists, into ST->pos for LOGS[0..N) and REPORT
 * (may be NULL: unsent sightings are then dropped, said on stderr). */
static int
state_load(cli_ctx *ctx, state_ctx *st, char **logs, int n,
	   csip_match_report *report)
{
	json_t *root = NULL, *ls, *un;
	json_error_t jerr;
	GString *unsent = g_string_new(NULL);
	char *text = NULL;
	gsize len = 0;
	GError *err = NULL;
	int rc = CLI_OK;

	if (!g_file_get_contents(st->path, &text, &len, &err)) {
		if (!g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			rc = state_fail(ctx, st->path, err->message);
		goto out;
	}
	root = json_loadb(text, len, 0, &jerr);
	ls = json_object_get(root, "logs");
	un = json_object_get(root, "unsent");
	if (!json_is_object(root) || json_integer_value(json_object_get(root,
	    "version")) != 1 || !json_is_object(ls) || !json_is_array(un)) {
		rc = state_fail(ctx, st->path, "not a state file of csip "
				"match (version 1)");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		json_t *p = json_object_get(ls, logs[i]);
		const char *dev = NULL, *ino = NULL, *tag = NULL;
		json_int_t off = -1, line = 0;
		int skip = 0;
		log_pos lp = { 1, { 0 } };

		if (p == NULL)
			continue;
		if (json_unpack(p, "{s:s, s:s, s:I, s:I, s:s, s:b}", "dev",
				&dev, "ino", &ino, "offset", &off, "line",
				&line, "tag", &tag, "skipping", &skip) < 0 ||
		    !g_ascii_string_to_unsigned(dev, 10, 0, G_MAXUINT64,
						&lp.p.dev, NULL) ||
		    !g_ascii_string_to_unsigned(ino, 10, 0, G_MAXUINT64,
						&lp.p.ino, NULL) ||
		    !g_ascii_string_to_unsigned(tag, 10, 1, G_MAXUINT64,
						&lp.p.tag, NULL) ||
		    off < 0 || line < 1) {
			rc = state_fail(ctx, st->path, "a log's position is "
					"not {dev, ino, offset, line, tag, "
					"skipping}");
			goto out;
		}
		lp.p.offset = (uint64_t)off;
		lp.p.line = (uint64_t)line;
		lp.p.skipping = skip;
		st->pos[i] = lp;
	}
	for (size_t i = 0; i < json_array_size(un); i++) {
		char *l = json_dumps(json_array_get(un, i), JSON_COMPACT |
				     JSON_ENCODE_ANY);

		g_string_append_printf(unsent, "%s\n", l ? l : "");
		free(l);
	}
	if (json_array_size(un) && report == NULL) {
		/* The next write would drop them. */
		json_int_t total = 0;
		char *why;

		for (size_t i = 0; i < json_array_size(un); i++)
			total += json_integer_value(json_object_get(
				json_array_get(un, i), "count"));
		why = g_strdup_printf("it holds %" JSON_INTEGER_FORMAT
			" sighting%s not reported yet: give --report with the "
			"hub to send them", total, total == 1 ? "" : "s");

		rc = state_fail(ctx, st->path, why);
		g_free(why);
		goto out;
	} else if (report && csip_match_report_restore(report, unsent->str) <
		   0) {
		rc = state_fail(ctx, st->path, csip_error_last());
		goto out;
	}
out:
	if (err)
		g_error_free(err);
	json_decref(root);
	g_free(text);
	g_string_free(unsent, TRUE);
	return rc;
}

/* Where each of TAILS[0..N) stands, into ST->pos. */
static void
state_snapshot(state_ctx *st, csip_match_tail **tails, int n)
{
	for (int i = 0; i < n; i++) {
		log_pos p = { 0 };

		p.have = csip_match_tail_position(tails[i], &p.p);
		if (p.have)
			st->pos[i] = p;
	}
}

/* Write ST->pos and what REPORT (may be NULL) has not sent.  A failure
 * is said once while it lasts: matching goes on. */
static void
state_save(state_ctx *st, char **logs, int n, csip_match_report *report)
{
	json_t *root = json_object(), *ls = json_object(), *un = json_array();
	GString *pend = g_string_new(NULL);
	GError *err = NULL;
	char **lines, *text;

	for (int i = 0; i < n; i++) {
		const csip_tail_pos *p = &st->pos[i].p;
		char dev[24], ino[24], tag[24];

		if (!st->pos[i].have)
			continue;
		g_snprintf(dev, sizeof dev, "%" G_GUINT64_FORMAT, p->dev);
		g_snprintf(ino, sizeof ino, "%" G_GUINT64_FORMAT, p->ino);
		g_snprintf(tag, sizeof tag, "%" G_GUINT64_FORMAT, p->tag);
		json_object_set_new(ls, logs[i], json_pack("{ss ss sI sI ss "
			"sb}", "dev", dev, "ino", ino, "offset",
			(json_int_t)p->offset, "line", (json_int_t)p->line,
			"tag", tag, "skipping", p->skipping));
	}
	if (report)
		csip_match_report_pending(report, pend);
	lines = g_strsplit(pend->str, "\n", -1);
	for (char **l = lines; *l; l++)
		if (**l)
			json_array_append_new(un, json_loads(*l, 0, NULL));
	g_strfreev(lines);
	json_object_set_new(root, "version", json_integer(1));
	json_object_set_new(root, "logs", ls);
	json_object_set_new(root, "unsent", un);
	text = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (!g_file_set_contents_full(st->path, text, -1,
	    G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600,
	    &err)) {
		if (!st->failing)
			fprintf(stderr, "csip match: warning: writing the "
				"state failed: %s; check that its folder is "
				"writable (sightings are kept, not reported, "
				"until it can be written)\n", err->message);
		st->failing = 1;
		g_error_free(err);
	} else {
		st->failing = 0;
	}
	st->saved_us = g_get_monotonic_time();
	free(text);
	json_decref(root);
	g_string_free(pend, TRUE);
}

/* Follow LOGS[0..N) until a signal or the end of standard input, with
 * *SET, which the hub thread may replace.  Returns CLI_OK or CLI_FAIL. */
static int
follow(cli_ctx *ctx, char **logs, int n, int fmt, int threads,
       csip_match_set **set, out_ctx *o, hub_ctx *h, state_ctx *sc)
{
	csip_match_tail **tails = g_new0(csip_match_tail *, n);
	int *gone = g_new0(int, n), *failing = g_new0(int, n);
	int rc = CLI_OK, live = n;
	struct sigaction sa, old_int, old_term;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	for (int i = 0; i < n; i++) {
		tails[i] = csip_match_tail_new(logs[i], (csip_log_format)fmt,
					       threads);
		if (sc->pos[i].have)
			csip_match_tail_resume(tails[i], &sc->pos[i].p);
	}
	while (!stop_requested && live > 0) {
		size_t round = 0;
		csip_match_set *fresh;

		g_mutex_lock(&h->lock);
		fresh = h->fresh;
		h->fresh = NULL;
		g_mutex_unlock(&h->lock);
		if (fresh) {
			csip_match_set_free(*set);
			*set = fresh;
			o->set = fresh;
		}
		for (int i = 0; i < n && !stop_requested; i++) {
			unsigned ev;
			size_t got = 0;

			if (gone[i])
				continue;
			g_string_truncate(o->log, 0);
			json_escape(o->log, logs[i], strlen(logs[i]));
			if (csip_match_tail_poll(tails[i], *set,
			    print_sighting, o, &ev, &got) < 0) {
				/* A read error may pass (said once while it
				 * lasts); a gzip log will not grow. */
				if (!failing[i])
					rc = cli_fail(ctx);
				failing[i] = 1;
				if (csip_error_last_code() == CSIP_EINVAL) {
					gone[i] = 1;
					live--;
				}
				csip_error_clear();
			} else {
				failing[i] = 0;
			}
			tail_events(logs[i], tails[i], ev);
			if (csip_match_tail_ended(tails[i]) && !gone[i]) {
				gone[i] = 1;
				live--;
			}
			round += got;
		}
		if (fflush(stdout) != 0) {
			csip_error_set(CSIP_EIO, "writing the sightings "
				       "failed: %s", g_strerror(errno));
			rc = cli_fail(ctx);
			break;
		}
		/* Between two reads every line read is counted; with no
		 * report on its way, the state is whole. */
		if (sc->path && g_get_monotonic_time() - sc->saved_us >=
		    STATE_EVERY_US && g_mutex_trylock(&h->send_lock)) {
			if (o->report)
				csip_match_report_seal(o->report);
			state_snapshot(sc, tails, n);
			state_save(sc, logs, n, o->report);
			h->hold = sc->failing;
			g_mutex_unlock(&h->send_lock);
		}
		if (round == 0 && live > 0 && !stop_requested) {
			/* A signal cuts the sleep short. */
			struct timespec ts = { 0, POLL_MS * 1000000L };

			nanosleep(&ts, NULL);
		}
	}
	state_snapshot(sc, tails, n);
	for (int i = 0; i < n; i++) {
		const csip_match_tail_stats *st =
			csip_match_tail_stats_of(tails[i]);

		if (!opts.quiet)
			fprintf(stderr, "csip match: %s: %s, %" G_GUINT64_FORMAT
				" lines, %" G_GUINT64_FORMAT " sightings\n",
				logs[i], csip_log_format_name(st->format),
				st->lines, st->sightings);
		if (st->long_lines)
			fprintf(stderr, "csip match: warning: %s: %"
				G_GUINT64_FORMAT " line%s longer than %u "
				"bytes, scanned only up to there\n", logs[i],
				st->long_lines, st->long_lines == 1 ? "" : "s",
				CSIP_MATCH_MAX_LINE);
		csip_match_tail_free(tails[i]);
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	g_free(tails);
	g_free(gone);
	g_free(failing);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Reading each log once */

static int
scan_all(cli_ctx *ctx, char **logs, int n, int named, int fmt, int threads,
	 out_ctx *o)
{
	int rc = CLI_OK;

	for (int i = 0; i < n; i++) {
		const char *name = named ? logs[i] : "-";
		int isstdin = strcmp(logs[i], "-") == 0;
		int fd = isstdin ? 0 : open(logs[i], O_RDONLY | O_CLOEXEC);
		csip_scan_stats st;
		gint64 t0;

		if (fd < 0) {
			csip_error_set(CSIP_EIO, "%s: %s; check the path of "
				       "the log", logs[i], g_strerror(errno));
			rc = cli_fail(ctx);
			continue;
		}
		g_string_truncate(o->log, 0);
		json_escape(o->log, name, strlen(name));
		t0 = g_get_monotonic_time();
		if (csip_match_fd(o->set, (csip_log_format)fmt, fd, name,
				  threads, print_sighting, o, &st) < 0)
			rc = cli_fail(ctx);
		if (st.long_lines)
			fprintf(stderr, "csip match: warning: %s: %"
				G_GUINT64_FORMAT " line%s longer than %u "
				"bytes, scanned only up to there\n", name,
				st.long_lines, st.long_lines == 1 ? "" : "s",
				CSIP_MATCH_MAX_LINE);
		if (!opts.quiet) {
			double s = (double)(g_get_monotonic_time() - t0) / 1e6;

			fprintf(stderr, "csip match: %s: %s%s, %"
				G_GUINT64_FORMAT " lines, %" G_GUINT64_FORMAT
				" sightings, %.1f MB/s\n", name,
				csip_log_format_name(st.format),
				st.gzip ? " (gzip)" : "", st.lines,
				st.sightings, s > 0 ? (double)st.bytes / s /
				1e6 : 0.0);
		}
		if (!isstdin)
			close(fd);
	}
	if (fflush(stdout) != 0) {
		csip_error_set(CSIP_EIO, "writing the sightings failed: %s",
			       g_strerror(errno));
		rc = cli_fail(ctx);
	}
	return rc;
}

/* The options that only make sense together, and their defaults. */
static int
check_intervals(cli_ctx *ctx)
{
	static const struct {
		const char *name;
		gint *v;
		int def;
	} iv[] = {
		{ "--refresh", &opts.refresh, 300 },
		{ "--full-refresh", &opts.full_refresh, 3600 },
		{ "--report-interval", &opts.report_interval, 60 },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(iv); i++) {
		if (*iv[i].v >= 0 && !opts.follow)
			return cli_usage(ctx, "%s only applies with --follow",
					 iv[i].name);
		if (*iv[i].v < -1 || *iv[i].v > 30 * 86400)
			return cli_usage(ctx, "%s must be from 0 to 2592000 "
					 "seconds", iv[i].name);
	}
	if (opts.report_interval >= 0 && opts.report == NULL)
		return cli_usage(ctx, "--report-interval needs --report");
	if (opts.report_interval == 0)
		return cli_usage(ctx, "--report-interval must be at least 1 "
				 "second");
	for (size_t i = 0; i < G_N_ELEMENTS(iv); i++)
		if (*iv[i].v == -1)
			*iv[i].v = iv[i].def;
	return CLI_OK;
}

int
cmd_match(cli_ctx *ctx, int argc, char **argv)
{
	static char *stdin_only[] = { "-", NULL };
	csip_match_set *set = NULL;
	csip_match_feed *feed = NULL;
	csip_match_report *report = NULL;
	csip_match_feed_stats fst;
	out_ctx o = { 0 };
	hub_ctx h = { 0 };
	state_ctx sc = { 0 };
	GThread *hub = NULL;
	size_t added = 0, skipped = 0, warned = 0;
	int ifmt = CSIP_MSRC_AUTO, fmt = CSIP_LOG_AUTO, threads = opts.threads;
	int rc = CLI_OK, named = argc > 0;
	char **logs = argv;
	gint64 t0;

	if (opts.indicators == NULL) {
		rc = cli_usage(ctx, "give the indicators with --indicators "
			       "FILE|DIR|URL");
		goto out;
	}
	if (opts.ind_format && (ifmt = csip_match_src_format_from_name(
	    opts.ind_format)) < 0) {
		rc = cli_usage(ctx, "unknown indicator format \"%s\"; the "
			       "formats are auto, list, stix and misp",
			       opts.ind_format);
		goto out;
	}
	if (opts.format && (fmt = csip_log_format_from_name(opts.format)) <
	    0) {
		rc = cli_usage(ctx, "unknown format \"%s\"; the formats are "
			       "auto, text, squid, bind, zeek-dns, eve, "
			       "postfix and csv", opts.format);
		goto out;
	}
	if (threads < 0 || threads > 256) {
		rc = cli_usage(ctx, "--threads must be from 1 to 256");
		goto out;
	}
	if ((rc = check_intervals(ctx)) != CLI_OK)
		goto out;
	if (opts.state && !opts.follow) {
		rc = cli_usage(ctx, "--state only applies with --follow");
		goto out;
	}
	if (opts.report && csip_match_report_new(opts.report,
	    g_getenv("CSIP_TOKEN"), &report) < 0) {
		rc = cli_usage(ctx, "%s", csip_error_last());
		goto out;
	}
	if (threads == 0)
		threads = (int)g_get_num_processors();
	if (argc == 0) {
		logs = stdin_only;
		argc = 1;
	}

	t0 = g_get_monotonic_time();
	feed = csip_match_feed_new(opts.indicators,
				   (csip_match_src_format)ifmt);
	if (csip_match_feed_load(feed, 1, warn_bad, &warned, &set, &fst) < 0) {
		rc = cli_fail(ctx);
		goto out;
	}
	added = fst.src.added;
	skipped = fst.src.skipped;
	if (skipped)
		fprintf(stderr, "csip match: skipped %zu invalid or unusable "
			"indicator%s of %zu in %s (%s)\n", skipped,
			skipped == 1 ? "" : "s", added + skipped,
			opts.indicators, csip_match_src_format_name(
			fst.src.format));
	/* Following the hub, an empty feed fills later. */
	if (added == 0 && !(opts.follow && opts.refresh > 0)) {
		csip_error_set(CSIP_EINVAL, "%s has no valid indicator the "
			       "matcher can use; give one per line (or CSV "
			       "with a \"value\" column), a STIX 2.1 bundle "
			       "or a MISP event or feed", opts.indicators);
		rc = cli_fail(ctx);
		goto out;
	}
	if (report && !csip_match_feed_has_items(feed)) {
		rc = cli_usage(ctx, "--report needs to know which item carries "
			       "each indicator: give the hub's CSV export "
			       "(HUB/api/v1/export/csv) as --indicators");
		goto out;
	}
	if (!opts.quiet)
		fprintf(stderr, "csip match: %zu indicators loaded in %.2f s "
			"(%.1f MiB)\n", csip_match_set_count(set),
			(double)(g_get_monotonic_time() - t0) / 1e6,
			(double)csip_match_set_memory(set) / 1048576.0);

	o.set = set;
	o.report = report;
	o.log = g_string_new(NULL);
	o.buf = g_string_new(NULL);
	o.f = stdout;
	if (!opts.follow) {
		rc = scan_all(ctx, logs, argc, named, fmt, threads, &o);
		if (report && report_final(ctx, report, feed) != CLI_OK)
			rc = CLI_FAIL;
		goto out;
	}

	sc.path = opts.state;
	sc.pos = g_new0(log_pos, argc);
	/* With a state, only what it holds is sent (see state_save). */
	if (sc.path && report)
		csip_match_report_sealed_only(report);
	if (sc.path && (rc = state_load(ctx, &sc, logs, argc, report)) !=
	    CLI_OK)
		goto out;
	h.feed = feed;
	h.report = report;
	h.refresh = opts.refresh;
	h.full_refresh = opts.full_refresh;
	h.report_interval = opts.report_interval;
	g_mutex_init(&h.lock);
	g_mutex_init(&h.send_lock);
	g_cond_init(&h.wake);
	if (h.refresh > 0 || report)
		hub = g_thread_new("csip-match-hub", hub_thread, &h);
	rc = follow(ctx, logs, argc, fmt, threads, &set,
		    &o, &h, &sc);
	if (hub) {
		g_mutex_lock(&h.lock);
		h.stop = 1;
		g_cond_signal(&h.wake);
		g_mutex_unlock(&h.lock);
		g_thread_join(hub);
	}
	csip_match_set_free(h.fresh);
	g_mutex_clear(&h.lock);
	g_mutex_clear(&h.send_lock);
	g_cond_clear(&h.wake);
	/* Where the logs were left and what is to go, written before the
	 * last report sends it; written again after, without what went. */
	if (sc.path) {
		if (report)
			csip_match_report_seal(report);
		state_save(&sc, logs, argc, report);
	}
	if (report && report_final(ctx, report, feed) != CLI_OK)
		rc = CLI_FAIL;
	if (sc.path)
		state_save(&sc, logs, argc, report);
out:
	g_free(sc.pos);
	if (o.log)
		g_string_free(o.log, TRUE);
	if (o.buf)
		g_string_free(o.buf, TRUE);
	csip_match_report_free(report);
	csip_match_feed_free(feed);
	csip_match_set_free(set);
	stop_requested = 0;
	g_atomic_int_set(&dropped, 0);
	memset(&reported, 0, sizeof(reported));
	clear_opts();
	return rc;
}
