/*
 * cmd_correlate.c - `csip campaign ...`, `csip warninglist ...` and
 * `csip correlate`: the analysts' cross-sectional analysis from the
 * command line (see lib/campaign.h and lib/correlate.h).
 */
#include "cli.h"
#include "lib/campaign.h"
#include "lib/correlate.h"
#include "util/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
	gchar *list;
	gboolean rebuild;
	gint limit;
} opts;

GOptionEntry cmd_campaign_list_options[] = {
	{ "limit", 'n', 0, G_OPTION_ARG_INT, &opts.limit,
	  "Only the newest N (default 100)", "N" },
	{ NULL, 0, 0, 0, NULL, NULL, NULL }
};

GOptionEntry cmd_warninglist_options[] = {
	{ "list", 'l', 0, G_OPTION_ARG_STRING, &opts.list,
	  "The list (free-mail, cdn, popular, private-ranges, public-dns, "
	  "empty-file; local by default when adding)", "NAME" },
	{ NULL, 0, 0, 0, NULL, NULL, NULL }
};

GOptionEntry cmd_correlate_options[] = {
	{ "rebuild", 0, 0, G_OPTION_ARG_NONE, &opts.rebuild,
	  "Compute every link and campaign again from the reports", NULL },
	{ NULL, 0, 0, 0, NULL, NULL, NULL }
};

/* ARGV[I] as a positive id of WHAT, or a usage error. */
static int
parse_id(cli_ctx *ctx, const char *arg, const char *what, int64_t *id)
{
	char *end = NULL;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (errno || end == arg || *end || v <= 0)
		return cli_usage(ctx, "%s id \"%s\" is not a number; `csip %s "
				 "list` shows the ids", what, arg, what);
	*id = v;
	return CLI_OK;
}

int
cmd_campaign_list(cli_ctx *ctx, int argc, char **argv)
{
	static const char *const keys[] = { "id", "name", "reports", "orgs",
		"updated_at", NULL };
	static const char *const heads[] = { "ID", "NAME", "REPORTS", "ORGS",
		"UPDATED" };
	json_t *rows = NULL;
	int rc;

	if ((rc = cli_want_args(ctx, argc, argv, 0, "")) != CLI_OK)
		return rc;
	if (opts.limit < 0 || opts.limit > 1000)
		return cli_usage(ctx, "--limit %d: give 1 to 1000", opts.limit);
	if ((rc = cli_open(ctx, 0)) != CLI_OK)
		return rc;
	if (csip_campaign_list(ctx->hub, 0, opts.limit, &rows, NULL) < 0)
		return cli_fail(ctx);
	return cli_print_rows(ctx, rows, keys, heads);
}

int
cmd_campaign_show(cli_ctx *ctx, int argc, char **argv)
{
	static const char *const keys[] = { "id", "org", "received_at",
		"subject", NULL };
	static const char *const heads[] = { "REPORT", "ORG", "RECEIVED",
		"SUBJECT" };
	json_t *o = NULL;
	long long id;
	int rc;

	if ((rc = cli_want_id(ctx, argc, argv, "campaign", &id)) != CLI_OK)
		return rc;
	if ((rc = cli_open(ctx, 0)) != CLI_OK)
		return rc;
	if (csip_campaign_get(ctx->hub, id, &o) < 0)
		return cli_fail(ctx);
	if (ctx->json)
		return cli_print_one(ctx, o);
	printf("campaign %lld: %s\n%lld reports from %lld organisations, "
	       "updated %s\n\n", id, json_is_string(json_object_get(o, "name"))
	       ? json_string_value(json_object_get(o, "name")) : "(no name)",
	       (long long)json_integer_value(json_object_get(o, "reports")),
	       (long long)json_integer_value(json_object_get(o, "orgs")),
	       json_string_value(json_object_get(o, "updated_at")));
	rc = cli_print_rows(ctx, json_incref(json_object_get(o, "members")),
			    keys, heads);
	json_decref(o);
	return rc;
}

int
cmd_campaign_name(cli_ctx *ctx, int argc, char **argv)
{
	int64_t id = 0;
	int rc;

	if ((rc = cli_want_args(ctx, argc, argv, 2, "campaign id and name"))
	    != CLI_OK || (rc = parse_id(ctx, argv[0], "campaign", &id)) !=
	    CLI_OK)
		return rc;
	if ((rc = cli_open(ctx, 0)) != CLI_OK)
		return rc;
	if (csip_campaign_name(ctx->hub, ctx->actor, id, argv[1]) < 0)
		return cli_fail(ctx);
	return CLI_OK;
}

/* "ID OTHER..." into *id and a vector of the others (g_free). */
static int
id_and_ids(cli_ctx *ctx, int argc, char **argv, const char *what,
	   const char *others, int64_t *id, int64_t **ids)
{
	int rc;

	*ids = NULL;
	if (argc < 2)
		return cli_usage(ctx, "give the campaign id and at least one %s "
				 "id", others);
	if ((rc = parse_id(ctx, argv[0], what, id)) != CLI_OK)
		return rc;
	*ids = g_new(int64_t, argc - 1);
	for (int i = 1; i < argc; i++)
		if ((rc = parse_id(ctx, argv[i], others, &(*ids)[i - 1])) !=
		    CLI_OK) {
			g_clear_pointer(ids, g_free);
			return rc;
		}
	return CLI_OK;
}

int
cmd_campaign_merge(cli_ctx *ctx, int argc, char **argv)
{
	int64_t id, *ids = NULL;
	int rc;

	if ((rc = id_and_ids(ctx, argc, argv, "campaign", "campaign", &id,
			     &ids)) != CLI_OK)
		return rc;
	if ((rc = cli_open(ctx, 0)) == CLI_OK &&
	    csip_campaign_merge(ctx->hub, ctx->actor, id, ids,
				(size_t)argc - 1) < 0)
		rc = cli_fail(ctx);
	g_free(ids);
	return rc;
}

int
cmd_campaign_split(cli_ctx *ctx, int argc, char **argv)
{
	int64_t id, *ids = NULL, *made = NULL;
	size_t n_made = 0;
	int rc;

	if ((rc = id_and_ids(ctx, argc, argv, "campaign", "report", &id,
			     &ids)) != CLI_OK)
		return rc;
	if ((rc = cli_open(ctx, 0)) == CLI_OK) {
		if (csip_campaign_split(ctx->hub, ctx->actor, id, ids,
					(size_t)argc - 1, &made, &n_made) < 0) {
			rc = cli_fail(ctx);
		} else if (ctx->json) {
			json_t *a = json_array();

			for (size_t i = 0; i < n_made; i++)
				json_array_append_new(a, json_integer(made[i]));
			cli_print_json(a);
			json_decref(a);
		} else {
			for (size_t i = 0; i < n_made; i++)
				printf("new campaign %" G_GINT64_FORMAT "\n",
				       made[i]);
		}
	}
	g_free(ids);
	g_free(made);
	return rc;
}

int
cmd_warninglist_list(cli_ctx *ctx, int argc, char **argv)
{
	static const char *const keys[] = { "id", "list", "type", "value",
		NULL };
	static const char *const heads[] = { "ID", "LIST", "TYPE", "VALUE" };
	json_t *rows = NULL;
	int rc;

	if ((rc = cli_want_args(ctx, argc, argv, 0, "")) != CLI_OK)
		return rc;
	if ((rc = cli_open(ctx, 0)) != CLI_OK)
		return rc;
	if (csip_warninglist_list(ctx->hub, opts.list, &rows) < 0)
		return cli_fail(ctx);
	return cli_print_rows(ctx, rows, keys, heads);
}

int
cmd_warninglist_add(cli_ctx *ctx, int argc, char **argv)
{
	int64_t id = 0;
	int rc;

	if ((rc = cli_want_args(ctx, argc, argv, 1, "value")) != CLI_OK)
		return rc;
	if ((rc = cli_open(ctx, 0)) != CLI_OK)
		return rc;
	if (csip_warninglist_add(ctx->hub, ctx->actor, opts.list, argv[0],
				 &id) < 0)
		return cli_fail(ctx);
	if (ctx->json) {
		json_t *o = json_pack("{sI}", "id", (json_int_t)id);

		cli_print_json(o);
		json_decref(o);
	} else {
		printf("%" G_GINT64_FORMAT "\n", id);
	}
	return CLI_OK;
}

int
cmd_warninglist_remove(cli_ctx *ctx, int argc, char **argv)
{
	long long id;
	int rc;

	if ((rc = cli_want_id(ctx, argc, argv, "warninglist", &id)) != CLI_OK)
		return rc;
	if ((rc = cli_open(ctx, 0)) != CLI_OK)
		return rc;
	if (csip_warninglist_remove(ctx->hub, ctx->actor, id) < 0)
		return cli_fail(ctx);
	return CLI_OK;
}

/* Progress on a terminal only: a log or a pipe gets the summary. */
static void
progress(void *ud, size_t done, size_t total)
{
	(void)ud;
	fprintf(stderr, "\rcorrelating: %zu of %zu reports (%d%%)", done, total,
		total ? (int)(done * 100 / total) : 100);
	if (done == total)
		fputc('\n', stderr);
	fflush(stderr);
}

int
cmd_correlate(cli_ctx *ctx, int argc, char **argv)
{
	size_t keys = 0, mem = 0, done = 0;
	int64_t file = 0;
	int rc;

	if ((rc = cli_want_args(ctx, argc, argv, 0, "")) != CLI_OK)
		return rc;
	if ((rc = cli_open(ctx, 0)) != CLI_OK)
		return rc;
	if (opts.rebuild) {
		if (csip_correlate_rebuild(ctx->hub, ctx->actor,
			isatty(fileno(stderr)) ? progress : NULL, NULL) < 0)
			return cli_fail(ctx);
	} else if (csip_correlate_pending(ctx->hub, 0, &done) < 0 ||
		   csip_correlate_save(ctx->hub) < 0) {
		return cli_fail(ctx);
	}
	if (csip_correlate_stats(ctx->hub, &keys, &mem, &file) < 0)
		return cli_fail(ctx);
	if (ctx->json) {
		json_t *o = json_pack("{sb sI sI sI sI}", "rebuilt",
			opts.rebuild, "correlated", (json_int_t)done, "keys",
			(json_int_t)keys, "memory_bytes", (json_int_t)mem,
			"file_bytes", (json_int_t)file);

		cli_print_json(o);
		json_decref(o);
	} else {
		if (opts.rebuild)
			printf("rebuilt every link and campaign\n");
		else
			printf("correlated %zu waiting report%s\n", done,
			       done == 1 ? "" : "s");
		printf("index: %zu keys, %.1f MiB in memory, %.1f MiB on "
		       "disk\n", keys, mem / 1048576.0, file / 1048576.0);
	}
	return CLI_OK;
}
