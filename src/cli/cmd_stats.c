/*
 * cmd_stats.c - `csip stats`: counts per Japanese fiscal year and quarter
 * (lib/stats.c) as a text table, JSON, or SVG bar charts.
 *
 * The command runs beside the database, so it reads as the hub and sees
 * every count; --as ORG shows what that organisation gets over the API,
 * decided by the same policy.  --output writes a temporary file beside
 * the target and renames it, so a web server publishing the chart never
 * serves half of one.
 */
#include "cli.h"
#include "lib/org.h"
#include "lib/policy.h"
#include "lib/stats.h"
#include "util/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The options of this command only, bound by cmd_stats_options. */
static struct {
	gchar *fy;
	gchar *as;
	gchar *output;
	gboolean svg;
} opts;

GOptionEntry cmd_stats_options[] = {
	{ "fy", 0, 0, G_OPTION_ARG_STRING, &opts.fy,
	  "Fiscal year (FY2016 is 1 April 2016 to 31 March 2017, JST), or a "
	  "range such as 2014-2016 (default: the current one)", "YEAR" },
	{ "svg", 0, 0, G_OPTION_ARG_NONE, &opts.svg,
	  "Bar charts as a standalone SVG document", NULL },
	{ "as", 0, 0, G_OPTION_ARG_STRING, &opts.as,
	  "Show what organisation ORG may see (default: the hub, which sees "
	  "every count)", "ORG" },
	{ "output", 'o', 0, G_OPTION_ARG_FILENAME, &opts.output,
	  "Write to FILE (replaced whole) instead of standard output",
	  "FILE" },
	{ NULL, 0, 0, 0, NULL, NULL, NULL }
};

static void
clear_opts(void)
{
	g_free(opts.fy);
	g_free(opts.as);
	g_free(opts.output);
	memset(&opts, 0, sizeof(opts));
}

int
cmd_stats(cli_ctx *ctx, int argc, char **argv)
{
	csip_reader r = { 0 };
	json_t *stats = NULL;
	GError *err = NULL;
	char *text = NULL;
	int first, last, rc;

	if ((rc = cli_want_args(ctx, argc, argv, 0, "")) != CLI_OK)
		goto out;
	if (opts.svg && ctx->json) {
		rc = cli_usage(ctx, "--json and --svg are two formats: give "
			       "one of them");
		goto out;
	}
	if (opts.fy == NULL) {
		first = last = csip_stats_current_fy();
	} else if (csip_stats_parse_fy(opts.fy, &first, &last) < 0) {
		rc = cli_usage(ctx, "%s", csip_error_last());
		goto out;
	}
	if ((rc = cli_open(ctx, 0)) != CLI_OK)
		goto out;
	if (opts.as) {
		int64_t id = 0;

		if (csip_org_id(ctx->hub, opts.as, &id) < 0 ||
		    csip_reader_load(csip_hub_store(ctx->hub), id, &r) < 0) {
			rc = cli_fail(ctx);
			goto out;
		}
	} else {
		/* The hub's view.  A fresh `csip init` has no organisation
		 * of role hub yet, and the hub's scope never looks at the
		 * id, so any positive one does. */
		r.org_id = 1;
		r.hub = 1;
	}
	if (csip_stats_compute(csip_hub_store(ctx->hub), &r, first, last,
			       &stats) < 0) {
		rc = cli_fail(ctx);
		goto out;
	}
	if (ctx->json) {
		char *s = json_dumps(stats, JSON_COMPACT);

		text = g_strconcat(s, "\n", NULL);
		free(s);
	} else if (opts.svg) {
		text = csip_stats_svg(stats);
	} else {
		text = csip_stats_text(stats);
	}
	if (opts.output) {
		/* Writes a temporary file and renames it over the target. */
		if (!g_file_set_contents(opts.output, text, -1, &err)) {
			csip_error_set(CSIP_EIO, "cannot write %s: %s; check "
				       "that its folder exists and is "
				       "writable", opts.output, err->message);
			rc = cli_fail(ctx);
			goto out;
		}
	} else if (fputs(text, stdout) == EOF || fflush(stdout) != 0) {
		csip_error_set(CSIP_EIO, "cannot write to standard output");
		rc = cli_fail(ctx);
		goto out;
	}
	rc = CLI_OK;
out:
	g_clear_error(&err);
	g_free(text);
	json_decref(stats);
	csip_reader_clear(&r);
	clear_opts();
	return rc;
}
