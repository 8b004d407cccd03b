/*
 * cmd_org.c - `csip sig ...` and `csip org ...`.
 */
#include "cli.h"
#include "lib/notify.h"
#include "lib/org.h"
#include "util/error.h"

#include <stdio.h>


int
cmd_sig_add(cli_ctx *ctx, int argc, char **argv)
{
	int64_t id;
	int rc;

	if (argc != 1)
		return argc ? cli_usage(ctx, "give one SIG code")
			    : cli_usage(ctx, "missing the SIG code");
	if ((rc = cli_open(ctx, 0)) != CLI_OK)
		return rc;
	if (csip_sig_add(ctx->hub, ctx->actor, argv[0], cli_opts.name, &id) < 0)
		return cli_fail(ctx);
	if (ctx->json) {
		json_t *o = json_pack("{ss sI}", "code", argv[0], "id",
				      (json_int_t)id);

		cli_print_json(o);
		json_decref(o);
	} else {
		printf("added SIG %s\n", argv[0]);
	}
	return CLI_OK;
}

int
cmd_sig_list(cli_ctx *ctx, int argc, char **argv)
{
	static const char *const keys[] = { "code", "name", "members", NULL };
	static const char *const heads[] = { "CODE", "NAME", "MEMBERS" };
	json_t *rows;
	int rc;

	if (argc > 0)
		return cli_usage(ctx, "unexpected argument \"%s\"", argv[0]);
	if ((rc = cli_open(ctx, 0)) != CLI_OK)
		return rc;
	if (csip_sig_list(ctx->hub, &rows) < 0)
		return cli_fail(ctx);
	return cli_print_rows(ctx, rows, keys, heads);
}

int
cmd_sig_show(cli_ctx *ctx, int argc, char **argv)
{
	json_t *obj;
	int rc;

	if ((rc = cli_want_args(ctx, argc, argv, 1, "SIG code")) != 0)
		return rc;
	if ((rc = cli_open(ctx, 0)) != CLI_OK)
		return rc;
	if (csip_sig_get(ctx->hub, argv[0], &obj) < 0)
		return cli_fail(ctx);
	return cli_print_one(ctx, obj);
}

int
cmd_org_add(cli_ctx *ctx, int argc, char **argv)
{
	csip_org_spec spec = { 0 };
	int64_t id;
	int rc;

	if ((rc = cli_want_args(ctx, argc, argv, 1, "organisation "
			    "name")) != 0)
		return rc;
	if ((rc = cli_open(ctx, 0)) != CLI_OK)
		return rc;
	spec.name = argv[0];
	spec.display_name = cli_opts.display;
	spec.role = cli_opts.role;
	spec.nda_date = cli_opts.nda;
	spec.sigs = cli_opts.sigs;
	spec.domains = cli_opts.domains;
	spec.networks = cli_opts.networks;
	if (csip_org_add(ctx->hub, ctx->actor, &spec, &id) < 0)
		return cli_fail(ctx);
	if (ctx->json) {
		json_t *o = NULL;

		if (csip_org_get(ctx->hub, argv[0], &o) < 0)
			return cli_fail(ctx);
		return cli_print_one(ctx, o);
	}
	printf("added organisation %s\n", argv[0]);
	return CLI_OK;
}

int
cmd_org_list(cli_ctx *ctx, int argc, char **argv)
{
	static const char *const keys[] = { "name", "role", "nda_date",
		"sigs", "domains", "users", "display_name", NULL };
	static const char *const heads[] = { "NAME", "ROLE", "NDA", "SIGS",
		"DOMAINS", "USERS", "DISPLAY NAME" };
	json_t *rows;
	int rc;

	if (argc > 0)
		return cli_usage(ctx, "unexpected argument \"%s\"", argv[0]);
	if ((rc = cli_open(ctx, 0)) != CLI_OK)
		return rc;
	if (csip_org_list(ctx->hub, cli_opts.sig, &rows) < 0)
		return cli_fail(ctx);
	return cli_print_rows(ctx, rows, keys, heads);
}

int
cmd_org_show(cli_ctx *ctx, int argc, char **argv)
{
	json_t *obj;
	int rc;

	if ((rc = cli_want_args(ctx, argc, argv, 1, "organisation "
			    "name")) != 0)
		return rc;
	if ((rc = cli_open(ctx, 0)) != CLI_OK)
		return rc;
	if (csip_org_get(ctx->hub, argv[0], &obj) < 0)
		return cli_fail(ctx);
	/* The organisation needs its key to check the hub's webhooks. */
	if (json_is_string(json_object_get(obj, "webhook_url"))) {
		char key[65];

		csip_notify_webhook_key(ctx->hub, argv[0], key);
		json_object_set_new(obj, "webhook_key", json_string(key));
	}
	return cli_print_one(ctx, obj);
}

int
cmd_org_update(cli_ctx *ctx, int argc, char **argv)
{
	csip_org_change c = { 0 };
	int rc;

	if ((rc = cli_want_args(ctx, argc, argv, 1, "organisation "
			    "name")) != 0)
		return rc;
	if (cli_opts.clear_nda && cli_opts.nda)
		return cli_usage(ctx, "--nda and --clear-nda exclude each "
				 "other");
	if ((rc = cli_open(ctx, 0)) != CLI_OK)
		return rc;
	c.display_name = cli_opts.display;
	c.role = cli_opts.role;
	c.nda_date = cli_opts.clear_nda ? "" : cli_opts.nda;
	c.add_sigs = cli_opts.add_sigs;
	c.remove_sigs = cli_opts.remove_sigs;
	c.add_domains = cli_opts.add_domains;
	c.remove_domains = cli_opts.remove_domains;
	c.add_networks = cli_opts.add_networks;
	c.remove_networks = cli_opts.remove_networks;
	c.webhook_url = cli_opts.webhook;
	c.notify_email = cli_opts.notify_email;
	if (csip_org_update(ctx->hub, ctx->actor, argv[0], &c) < 0)
		return cli_fail(ctx);
	if (ctx->json) {
		json_t *o = NULL;

		if (csip_org_get(ctx->hub, argv[0], &o) < 0)
			return cli_fail(ctx);
		return cli_print_one(ctx, o);
	}
	printf("updated organisation %s\n", argv[0]);
	return CLI_OK;
}
