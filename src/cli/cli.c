/*
 * cli.c - helpers every command handler uses: opening the hub, reporting
 * errors, printing tables and JSON.
 */
#include "cli.h"
#include "util/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
cli_open(cli_ctx *ctx, int create)
{
	int rc;

	if ((rc = csip_config_load(ctx->config_path, &ctx->cfg)) < 0)
		return cli_fail(ctx);
	if ((rc = csip_hub_open(ctx->cfg, create ? CSIP_HUB_CREATE : 0,
				&ctx->hub)) < 0)
		return cli_fail(ctx);
	ctx->actor = g_strconcat("cli:", g_get_user_name(), NULL);
	return CLI_OK;
}

void
cli_ctx_clear(cli_ctx *ctx)
{
	gchar **vecs[] = { cli_opts.sigs, cli_opts.domains, cli_opts.networks,
		cli_opts.add_sigs, cli_opts.remove_sigs, cli_opts.add_domains,
		cli_opts.remove_domains, cli_opts.add_networks,
		cli_opts.remove_networks };
	gchar *strs[] = { cli_opts.name, cli_opts.display, cli_opts.role,
		cli_opts.nda, cli_opts.org, cli_opts.email, cli_opts.sig,
		cli_opts.user, cli_opts.label, cli_opts.type,
		cli_opts.permission, cli_opts.attribution, cli_opts.tlp,
		cli_opts.sender, cli_opts.webhook, cli_opts.notify_email };

	for (size_t i = 0; i < G_N_ELEMENTS(vecs); i++)
		g_strfreev(vecs[i]);
	for (size_t i = 0; i < G_N_ELEMENTS(strs); i++)
		g_free(strs[i]);
	memset(&cli_opts, 0, sizeof cli_opts);
	csip_hub_free(ctx->hub);
	csip_config_free(ctx->cfg);
	g_free(ctx->actor);
	g_free(ctx->config_opt);
	memset(ctx, 0, sizeof *ctx);
}

static char *
cmd_title(const cli_ctx *ctx)
{
	if (ctx->cmd == NULL)
		return g_strdup("csip");
	return ctx->cmd->group
		? g_strdup_printf("csip %s %s", ctx->cmd->group, ctx->cmd->name)
		: g_strdup_printf("csip %s", ctx->cmd->name);
}

int
cli_fail(cli_ctx *ctx)
{
	char *t = cmd_title(ctx);

	fprintf(stderr, "%s: %s\n", t, csip_error_last());
	g_free(t);
	return CLI_FAIL;
}

int
cli_usage(cli_ctx *ctx, const char *fmt, ...)
{
	char *t = cmd_title(ctx), *msg;
	va_list ap;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\nTry `%s --help`.\n", t, msg, t);
	g_free(msg);
	g_free(t);
	return CLI_USAGE;
}

int
cli_want_args(cli_ctx *ctx, int argc, char **argv, int n, const char *what)
{
	if (argc < n)
		return cli_usage(ctx, "missing the %s", what);
	if (argc > n)
		return cli_usage(ctx, "unexpected argument \"%s\"", argv[n]);
	return CLI_OK;
}

int
cli_want_id(cli_ctx *ctx, int argc, char **argv, const char *what,
	    long long *id)
{
	char *end = NULL, *label = g_strdup_printf("%s id", what);
	int rc = cli_want_args(ctx, argc, argv, 1, label);

	g_free(label);
	if (rc != CLI_OK)
		return rc;
	errno = 0;
	*id = strtoll(argv[0], &end, 10);
	if (errno || end == argv[0] || *end || *id <= 0)
		return cli_usage(ctx, "%s id \"%s\" is not a number; `csip %s "
				 "list` shows the ids", what, argv[0], what);
	return CLI_OK;
}

void
cli_print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		free(s);
	}
}

/* A value as table text: strings as they are, arrays joined by ",". */
static char *
cell(json_t *v)
{
	if (v == NULL || json_is_null(v))
		return g_strdup("-");
	if (json_is_string(v))
		return g_strdup(json_string_value(v));
	if (json_is_integer(v))
		return g_strdup_printf("%" JSON_INTEGER_FORMAT,
				       json_integer_value(v));
	if (json_is_boolean(v))
		return g_strdup(json_is_true(v) ? "yes" : "no");
	if (json_is_array(v)) {
		GString *s = g_string_new(NULL);
		size_t i;
		json_t *e;

		json_array_foreach(v, i, e) {
			char *c = cell(e);

			if (i)
				g_string_append_c(s, ',');
			g_string_append(s, c);
			g_free(c);
		}
		if (s->len == 0)
			g_string_append_c(s, '-');
		return g_string_free(s, FALSE);
	}
	{
		char *d = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		char *r = g_strdup(d ? d : "?");

		free(d);
		return r;
	}
}

void
cli_print_table(json_t *rows, const char *const *keys,
		const char *const *headers)
{
	size_t ncol = 0, nrow = json_array_size(rows);
	size_t *w;
	char ***cells;

	while (keys[ncol])
		ncol++;
	w = g_new0(size_t, ncol);
	cells = g_new0(char **, nrow);
	for (size_t c = 0; c < ncol; c++)
		w[c] = g_utf8_strlen(headers[c], -1);
	for (size_t r = 0; r < nrow; r++) {
		cells[r] = g_new0(char *, ncol);
		for (size_t c = 0; c < ncol; c++) {
			size_t l;

			cells[r][c] = cell(json_object_get(
				json_array_get(rows, r), keys[c]));
			l = g_utf8_strlen(cells[r][c], -1);
			if (l > w[c])
				w[c] = l;
		}
	}
	for (size_t r = 0; r <= nrow; r++) {
		for (size_t c = 0; c < ncol; c++) {
			const char *t = r == 0 ? headers[c] : cells[r - 1][c];
			size_t pad = w[c] - g_utf8_strlen(t, -1);

			fputs(t, stdout);
			if (c + 1 < ncol)
				printf("%*s  ", (int)pad, "");
		}
		fputc('\n', stdout);
	}
	for (size_t r = 0; r < nrow; r++) {
		for (size_t c = 0; c < ncol; c++)
			g_free(cells[r][c]);
		g_free(cells[r]);
	}
	g_free(cells);
	g_free(w);
}

void
cli_print_object(json_t *obj)
{
	const char *k;
	json_t *v;
	size_t w = 0;

	json_object_foreach(obj, k, v)
		if (strlen(k) > w)
			w = strlen(k);
	json_object_foreach(obj, k, v) {
		char *c = cell(v);

		printf("%-*s  %s\n", (int)w + 1, k, c);
		g_free(c);
	}
}

int
cli_print_rows(cli_ctx *ctx, json_t *rows, const char *const *keys,
	       const char *const *headers)
{
	if (ctx->json)
		cli_print_json(rows);
	else
		cli_print_table(rows, keys, headers);
	json_decref(rows);
	return CLI_OK;
}

int
cli_print_one(cli_ctx *ctx, json_t *obj)
{
	if (ctx->json)
		cli_print_json(obj);
	else
		cli_print_object(obj);
	json_decref(obj);
	return CLI_OK;
}
