/*
 * cmd_match.c - `csip match`: scan logs for the indicators of a list and
 * print one JSON line per sighting.
 *
 * The matching itself is in lib/match.c (tokenizer and tables) and
 * lib/match_log.c (formats, reading, threads), the indicator sources in
 * lib/match_src.c (lists, STIX, MISP, URLs); this file loads them, opens the
 * logs and writes the sightings, escaping by hand because this is
 * the one output of csip that can be large.
 */
#include "cli.h"
#include "lib/match.h"
#include "lib/match_log.h"
#include "lib/match_src.h"
#include "util/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The options of this command only, bound by cmd_match_options. */
static struct {
	gchar *indicators;
	gchar *ind_format;
	gchar *format;
	gint threads;
	gboolean quiet;
} opts;

GOptionEntry cmd_match_options[] = {
	{ "indicators", 'i', 0, G_OPTION_ARG_FILENAME, &opts.indicators,
	  "The indicators: a file (one per line, CSV with a \"value\" column, "
	  "a STIX 2.1 bundle, a MISP event), a MISP feed folder, or an "
	  "http(s) URL (a URL ending in / is a MISP feed); sent with the "
	  "bearer token in CSIP_TOKEN over https", "FILE|DIR|URL" },
	{ "indicators-format", 0, 0, G_OPTION_ARG_STRING, &opts.ind_format,
	  "auto (default: from the content), list (one per line or CSV), "
	  "stix, misp", "FORMAT" },
	{ "format", 'f', 0, G_OPTION_ARG_STRING, &opts.format,
	  "auto (default), text, squid, bind, zeek-dns, eve, postfix, csv",
	  "FORMAT" },
	{ "threads", 't', 0, G_OPTION_ARG_INT, &opts.threads,
	  "Threads per log (default: the number of cores)", "N" },
	{ "quiet", 'q', 0, G_OPTION_ARG_NONE, &opts.quiet,
	  "No summary on stderr", NULL },
	{ NULL, 0, 0, 0, NULL, NULL, NULL }
};

/* At most this many invalid indicators are named one by one. */
#define MAX_WARNINGS 20

typedef struct out_ctx {
	const csip_match_set *set;
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
	memset(&opts, 0, sizeof(opts));
}

int
cmd_match(cli_ctx *ctx, int argc, char **argv)
{
	static char *stdin_only[] = { "-", NULL };
	csip_match_set *set = NULL;
	out_ctx o = { 0 };
	size_t added = 0, skipped = 0, warned = 0;
	csip_match_src_stats sst;
	int ifmt = CSIP_MSRC_AUTO, fmt = CSIP_LOG_AUTO, threads = opts.threads, rc = CLI_OK;
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
	if (threads == 0)
		threads = (int)g_get_num_processors();
	if (argc == 0) {
		logs = stdin_only;
		argc = 1;
	}

	t0 = g_get_monotonic_time();
	set = csip_match_set_new();
	if (csip_match_src_load(set, opts.indicators,
				(csip_match_src_format)ifmt, warn_bad, &warned,
				&sst) < 0) {
		rc = cli_fail(ctx);
		goto out;
	}
	added = sst.added;
	skipped = sst.skipped;
	if (skipped)
		fprintf(stderr, "csip match: skipped %zu invalid or unusable "
			"indicator%s of %zu in %s (%s)\n", skipped,
			skipped == 1 ? "" : "s", added + skipped,
			opts.indicators, csip_match_src_format_name(
			sst.format));
	if (added == 0) {
		csip_error_set(CSIP_EINVAL, "%s has no valid indicator the "
			       "matcher can use; give one per line (or CSV "
			       "with a \"value\" column), a STIX 2.1 bundle "
			       "or a MISP event or feed", opts.indicators);
		rc = cli_fail(ctx);
		goto out;
	}
	csip_match_set_build(set);
	if (!opts.quiet)
		fprintf(stderr, "csip match: %zu indicators loaded in %.2f s "
			"(%.1f MiB)\n", csip_match_set_count(set),
			(double)(g_get_monotonic_time() - t0) / 1e6,
			(double)csip_match_set_memory(set) / 1048576.0);

	o.set = set;
	o.log = g_string_new(NULL);
	o.buf = g_string_new(NULL);
	o.f = stdout;
	for (int i = 0; i < argc; i++) {
		const char *name = argv == logs ? logs[i] : "-";
		int isstdin = strcmp(logs[i], "-") == 0;
		int fd = isstdin ? 0 : open(logs[i], O_RDONLY | O_CLOEXEC);
		csip_scan_stats st;

		if (fd < 0) {
			csip_error_set(CSIP_EIO, "%s: %s; check the path of "
				       "the log", logs[i], g_strerror(errno));
			rc = cli_fail(ctx);
			continue;
		}
		g_string_truncate(o.log, 0);
		json_escape(o.log, name, strlen(name));
		t0 = g_get_monotonic_time();
		if (csip_match_fd(set, (csip_log_format)fmt, fd, name, threads,
				  print_sighting, &o, &st) < 0)
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
out:
	if (o.log)
		g_string_free(o.log, TRUE);
	if (o.buf)
		g_string_free(o.buf, TRUE);
	csip_match_set_free(set);
	clear_opts();
	return rc;
}
