/*
 * cmd_user.c - `csip user ...` and `csip token ...`.
 */
#include "cli.h"
#include "lib/user.h"
#include "util/error.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Read the first line of standard input as a password.  Returns a new
 * string (sodium_memzero + g_free it) or NULL with a message printed. */
static char *
read_password(cli_ctx *ctx)
{
	char buf[1024];
	size_t n;

	if (fgets(buf, sizeof buf, stdin) == NULL) {
		cli_usage(ctx, "--password-stdin: standard input is empty; "
			  "pipe the password in");
		return NULL;
	}
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	{
		char *p = g_strdup(buf);

		sodium_memzero(buf, sizeof buf);
		return p;
	}
}

int
cmd_user_add(cli_ctx *ctx, int argc, char **argv)
{
	char *password = NULL;
	int64_t id;
	int rc;

	if ((rc = cli_want_args(ctx, argc, argv, 1, "user name")) != 0)
		return rc;
	if (cli_opts.org == NULL)
		return cli_usage(ctx, "--org ORG is required: the organisation "
				 "the user belongs to");
	if (cli_opts.password_stdin && (password = read_password(ctx)) == NULL)
		return CLI_USAGE;
	if ((rc = cli_open(ctx, 0)) != CLI_OK)
		goto out;
	if (csip_user_add(ctx->hub, ctx->actor, cli_opts.org, argv[0],
			  cli_opts.email, cli_opts.role, password, &id) < 0) {
		rc = cli_fail(ctx);
		goto out;
	}
	if (ctx->json) {
		json_t *o = json_pack("{ss sI ss}", "name", argv[0], "id",
			(json_int_t)id, "org", cli_opts.org);

		cli_print_json(o);
		json_decref(o);
	} else {
		printf("added user %s of %s\n", argv[0], cli_opts.org);
	}
	rc = CLI_OK;
out:
	if (password) {
		sodium_memzero(password, strlen(password));
		g_free(password);
	}
	return rc;
}

int
cmd_user_list(cli_ctx *ctx, int argc, char **argv)
{
	static const char *const keys[] = { "name", "org", "role", "email",
		"password", "disabled", NULL };
	static const char *const heads[] = { "NAME", "ORG", "ROLE", "EMAIL",
		"PASSWORD", "DISABLED" };
	json_t *rows;
	int rc;

	if ((rc = cli_want_args(ctx, argc, argv, 0, "")) != 0)
		return rc;
	if ((rc = cli_open(ctx, 0)) != CLI_OK)
		return rc;
	if (csip_user_list(ctx->hub, cli_opts.org, &rows) < 0)
		return cli_fail(ctx);
	return cli_print_rows(ctx, rows, keys, heads);
}

int
cmd_user_disable(cli_ctx *ctx, int argc, char **argv)
{
	int rc;

	if ((rc = cli_want_args(ctx, argc, argv, 1, "user name")) != 0)
		return rc;
	if ((rc = cli_open(ctx, 0)) != CLI_OK)
		return rc;
	if (csip_user_disable(ctx->hub, ctx->actor, argv[0]) < 0)
		return cli_fail(ctx);
	if (!ctx->json)
		printf("disabled user %s\n", argv[0]);
	else
		printf("{\"disabled\":true}\n");
	return CLI_OK;
}

int
cmd_token_create(cli_ctx *ctx, int argc, char **argv)
{
	char *token = NULL;
	int64_t id;
	int rc;

	if ((rc = cli_want_args(ctx, argc, argv, 1, "user name")) != 0)
		return rc;
	if (cli_opts.days < -1)
		return cli_usage(ctx, "--days must be 0 or more");
	if ((rc = cli_open(ctx, 0)) != CLI_OK)
		return rc;
	if (csip_token_create(ctx->hub, ctx->actor, argv[0], cli_opts.label,
			      cli_opts.days, cli_opts.read_only, &token,
			      &id) < 0)
		return cli_fail(ctx);
	if (ctx->json) {
		json_t *o = json_pack("{sI ss ss sb}", "id", (json_int_t)id,
			"user", argv[0], "token", token, "read_only",
			cli_opts.read_only);

		cli_print_json(o);
		json_decref(o);
	} else {
		printf("%s\n", token);
		fprintf(stderr, "token %" PRId64 " for %s: store it now, it "
			"is not shown again\n", id, argv[0]);
	}
	sodium_memzero(token, strlen(token));
	g_free(token);
	return CLI_OK;
}

int
cmd_token_list(cli_ctx *ctx, int argc, char **argv)
{
	static const char *const keys[] = { "id", "user", "prefix", "label",
		"read_only", "created_at", "expires_at", "revoked_at", NULL };
	static const char *const heads[] = { "ID", "USER", "PREFIX", "LABEL",
		"READ-ONLY", "CREATED", "EXPIRES", "REVOKED" };
	json_t *rows;
	int rc;

	if ((rc = cli_want_args(ctx, argc, argv, 0, "")) != 0)
		return rc;
	if ((rc = cli_open(ctx, 0)) != CLI_OK)
		return rc;
	if (csip_token_list(ctx->hub, cli_opts.user, &rows) < 0)
		return cli_fail(ctx);
	return cli_print_rows(ctx, rows, keys, heads);
}

int
cmd_token_revoke(cli_ctx *ctx, int argc, char **argv)
{
	long long id;
	int rc;

	if ((rc = cli_want_id(ctx, argc, argv, "token", &id)) != CLI_OK)
		return rc;
	if ((rc = cli_open(ctx, 0)) != CLI_OK)
		return rc;
	if (csip_token_revoke(ctx->hub, ctx->actor, id) < 0)
		return cli_fail(ctx);
	if (ctx->json)
		printf("{\"revoked\":%lld}\n", id);
	else
		printf("revoked token %lld\n", id);
	return CLI_OK;
}
