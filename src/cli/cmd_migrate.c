/*
 * cmd_migrate.c - `csip migrate`: move a hub to another database (see
 * lib/dbcopy.h), typically from the embedded SQLite default to PostgreSQL.
 */
#include "cli.h"
#include "lib/dbcopy.h"
#include "lib/store.h"
#include "util/error.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static struct {
	gchar *from;
	gchar *to;
} opts;

GOptionEntry cmd_migrate_options[] = {
	{ "from", 0, 0, G_OPTION_ARG_STRING, &opts.from,
	  "The database to copy (default: [database] url of the "
	  "configuration)", "URL" },
	{ "to", 0, 0, G_OPTION_ARG_STRING, &opts.to,
	  "The empty database to copy into (postgresql://... or "
	  "sqlite:PATH)", "URL" },
	{ NULL, 0, 0, 0, NULL, NULL, NULL }
};

/* Progress on a terminal only: a log or a pipe gets the summary. */
static void
progress(const char *table, int64_t done, int64_t total, void *ud)
{
	(void)ud;
	fprintf(stderr, "\r\033[Kcopying %s: %" PRId64 " of %" PRId64
		" rows (%d%%)", table, done, total,
		total ? (int)(done * 100 / total) : 100);
	if (done == total)
		fputc('\n', stderr);
	fflush(stderr);
}

int
cmd_migrate(cli_ctx *ctx, int argc, char **argv)
{
	const char *from;
	json_t *sum = NULL;
	int rc;

	if ((rc = cli_want_args(ctx, argc, argv, 0, "")) != CLI_OK)
		goto out;
	if (opts.to == NULL || *opts.to == '\0') {
		rc = cli_usage(ctx, "--to is missing: name the empty database "
			       "to copy into, e.g. --to "
			       "postgresql://csip@db.example/csip");
		goto out;
	}
	if (opts.from == NULL &&
	    (rc = csip_config_load(ctx->config_path, &ctx->cfg)) < 0) {
		rc = cli_fail(ctx);
		goto out;
	}
	from = opts.from ? opts.from : csip_config_db_url(ctx->cfg);
	if (strcmp(from, opts.to) == 0) {
		char *shown = csip_store_url_redacted(from);

		rc = cli_usage(ctx, "--from and --to are the same database "
			       "(%s): name another for --to", shown);
		g_free(shown);
		goto out;
	}
	if (csip_dbcopy(from, opts.to, isatty(fileno(stderr)) ? progress
			: NULL, NULL, &sum) < 0) {
		rc = cli_fail(ctx);
		goto out;
	}
	if (ctx->json) {
		cli_print_json(sum);
	} else {
		size_t i;
		json_t *t;

		json_array_foreach(json_object_get(sum, "tables"), i, t)
			printf("%-18s %10" JSON_INTEGER_FORMAT " rows\n",
			       json_string_value(json_object_get(t, "table")),
			       json_integer_value(json_object_get(t, "rows")));
		char *shown = csip_store_url_redacted(opts.to);

		printf("copied %" JSON_INTEGER_FORMAT " rows; the counts of "
		       "every table agree.  Point [database] url at %s and "
		       "give every server the same [security] secret_file.\n",
		       json_integer_value(json_object_get(sum, "rows")),
		       shown);
		g_free(shown);
	}
	rc = CLI_OK;
out:
	json_decref(sum);
	g_clear_pointer(&opts.from, g_free);
	g_clear_pointer(&opts.to, g_free);
	return rc;
}
