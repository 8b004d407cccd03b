/*
 * cmd_export.c - `csip export`: a blocklist (Suricata or Snort rules, a
 * Zeek intel file, an RPZ zone, CSV, plain values) of the indicators an
 * organisation receives, as lib/export.c makes it.
 *
 * The command reads as the hub (every published item) unless --as names
 * an organisation: then it gets exactly what that organisation gets over
 * the API.  --output writes a temporary file beside the target and
 * renames it, so a DNS server or IDS reloading the file never reads half
 * of one.
 */
#include "cli.h"
#include "lib/export.h"
#include "lib/org.h"
#include "lib/policy.h"
#include "util/error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The options of this command only, bound by cmd_export_options. */
static struct {
	gchar *format;
	gchar *as;
	gchar *since;
	gchar *type;
	gchar *output;
} opts;

GOptionEntry cmd_export_options[] = {
	{ "format", 'f', 0, G_OPTION_ARG_STRING, &opts.format,
	  "suricata, snort, zeek, rpz, csv, text or stix (required)",
	  "FORMAT" },
	{ "as", 0, 0, G_OPTION_ARG_STRING, &opts.as,
	  "Export what organisation ORG receives (default: the hub, which "
	  "sees every published item)", "ORG" },
	{ "since", 0, 0, G_OPTION_ARG_STRING, &opts.since,
	  "Only items published at or after T (2025-04-01 or "
	  "2025-04-01T09:00:00Z)", "T" },
	{ "type", 't', 0, G_OPTION_ARG_STRING, &opts.type,
	  "With --format text: only indicators of this type (domain, ipv4, "
	  "url, sha256, ...)", "TYPE" },
	{ "output", 'o', 0, G_OPTION_ARG_FILENAME, &opts.output,
	  "Write to FILE (replaced whole, atomically) instead of standard "
	  "output", "FILE" },
	{ NULL, 0, 0, 0, NULL, NULL, NULL }
};

typedef struct sink {
	FILE *f;
	const char *name;     /* for errors */
	guint64 bytes, lines;
	gint64 shown;         /* last progress line, monotonic us */
	int progress;         /* stderr is a terminal */
} sink;

static int
sink_write(void *ud, const char *data, size_t len)
{
	sink *s = ud;
	gint64 now;

	if (fwrite(data, 1, len, s->f) != len)
		return csip_error_set(CSIP_EIO, "cannot write %s: %s; check "
				      "the disk space and the path", s->name,
				      g_strerror(errno));
	s->bytes += len;
	for (const char *p = data; (p = memchr(p, '\n', len - (size_t)(p -
	     data))) != NULL; p++)
		s->lines++;
	/* A long export shows it is alive, four times a second, on a
	 * terminal only: scripts read stderr for errors. */
	if (s->progress && (now = g_get_monotonic_time()) - s->shown >
	    250000) {
		s->shown = now;
		fprintf(stderr, "\rcsip export: %" G_GUINT64_FORMAT " lines, "
			"%.1f MB", s->lines, (double)s->bytes / 1e6);
	}
	return CSIP_OK;
}

/* The reader: --as ORG, else the hub.  The hub is an organisation of
 * role hub when there is one; a hub without one (a fresh `csip init`)
 * still reads as the hub, whose decisions never look at its id. */
static int
load_reader(cli_ctx *ctx, csip_reader *r)
{
	json_t *orgs = NULL, *o;
	int64_t id = 0;
	size_t i;
	int rc;

	memset(r, 0, sizeof *r);
	if (opts.as) {
		if ((rc = csip_org_id(ctx->hub, opts.as, &id)) < 0)
			return rc;
		return csip_reader_load(csip_hub_store(ctx->hub), id, r);
	}
	if ((rc = csip_org_list(ctx->hub, NULL, &orgs)) < 0)
		return rc;
	json_array_foreach(orgs, i, o) {
		if (strcmp(json_string_value(json_object_get(o, "role")),
			   "hub") == 0) {
			rc = csip_org_id(ctx->hub, json_string_value(
				json_object_get(o, "name")), &id);
			break;
		}
	}
	json_decref(orgs);
	if (rc < 0)
		return rc;
	if (id > 0)
		return csip_reader_load(csip_hub_store(ctx->hub), id, r);
	r->org_id = 1;
	r->hub = 1;
	return CSIP_OK;
}

static int
valid_format(const char *f)
{
	for (const char *const *p = csip_export_formats(); *p; p++)
		if (strcmp(*p, f) == 0)
			return 1;
	return 0;
}

static void
clear_opts(void)
{
	g_free(opts.format);
	g_free(opts.as);
	g_free(opts.since);
	g_free(opts.type);
	g_free(opts.output);
	memset(&opts, 0, sizeof(opts));
}

int
cmd_export(cli_ctx *ctx, int argc, char **argv)
{
	csip_export_opts eo = { 0 };
	csip_reader r = { 0 };
	sink s = { 0 };
	char *tmp = NULL;
	int fd = -1, rc = CLI_OK;

	if ((rc = cli_want_args(ctx, argc, argv, 0, "")) != CLI_OK)
		goto out;
	if (opts.format == NULL) {
		rc = cli_usage(ctx, "give the format with --format: suricata, "
			       "snort, zeek, rpz, csv, text or stix");
		goto out;
	}
	if (!valid_format(opts.format)) {
		rc = cli_usage(ctx, "unknown format \"%s\"; the formats are "
			       "suricata, snort, zeek, rpz, csv, text and stix",
			       opts.format);
		goto out;
	}
	if (opts.type && strcmp(opts.format, "text") != 0) {
		rc = cli_usage(ctx, "--type goes with --format text only");
		goto out;
	}
	eo.format = opts.format;
	eo.since = opts.since;
	eo.type = opts.type;
	if ((rc = cli_open(ctx, 0)) != CLI_OK)
		goto out;
	if (load_reader(ctx, &r) < 0) {
		rc = cli_fail(ctx);
		goto out;
	}

	s.name = "standard output";
	s.f = stdout;
	if (opts.output) {
		tmp = g_strdup_printf("%s.XXXXXX", opts.output);
		if ((fd = g_mkstemp(tmp)) < 0 ||
		    (s.f = fdopen(fd, "w")) == NULL) {
			csip_error_set(CSIP_EIO, "cannot create %s: %s; check "
				       "that its folder exists and is "
				       "writable", opts.output,
				       g_strerror(errno));
			rc = cli_fail(ctx);
			goto out;
		}
		fd = -1;
		s.name = opts.output;
	}
	s.progress = isatty(STDERR_FILENO);
	if (csip_export_write(ctx->hub, &r, &eo, sink_write, &s) < 0) {
		if (s.shown)
			fputc('\n', stderr);
		rc = cli_fail(ctx);
		goto out;
	}
	if (s.shown)
		fprintf(stderr, "\rcsip export: %" G_GUINT64_FORMAT " lines, "
			"%.1f MB\n", s.lines, (double)s.bytes / 1e6);
	if (fflush(s.f) != 0 || (opts.output && fsync(fileno(s.f)) != 0)) {
		csip_error_set(CSIP_EIO, "cannot write %s: %s; check the disk "
			       "space", s.name, g_strerror(errno));
		rc = cli_fail(ctx);
		goto out;
	}
	if (opts.output) {
		mode_t mask = umask(0);

		/* mkstemp makes 0600; a blocklist is read by other daemons,
		 * so it gets the mode any new file would. */
		umask(mask);
		if (fchmod(fileno(s.f), 0666 & ~mask) != 0 ||
		    fclose(s.f) != 0) {
			s.f = NULL;
			csip_error_set(CSIP_EIO, "cannot write %s: %s",
				       opts.output, g_strerror(errno));
			rc = cli_fail(ctx);
			goto out;
		}
		s.f = NULL;
		if (rename(tmp, opts.output) != 0) {
			csip_error_set(CSIP_EIO, "cannot replace %s: %s; check "
				       "that it is not a folder", opts.output,
				       g_strerror(errno));
			rc = cli_fail(ctx);
			goto out;
		}
		g_free(tmp);
		tmp = NULL;
	}
out:
	if (s.f && s.f != stdout)
		fclose(s.f);
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		g_free(tmp);
	}
	csip_reader_clear(&r);
	clear_opts();
	return rc;
}
