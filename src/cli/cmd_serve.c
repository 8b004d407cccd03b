/*
 * cmd_serve.c - `csip serve`: run the hub's HTTP server until SIGTERM or
 * SIGINT, then shut down gracefully (server.h).
 */
#include "cli.h"
#include "server/server.h"
#include "util/error.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static gchar *opt_listen, *opt_cert, *opt_key;
static gboolean opt_quiet;

GOptionEntry cmd_serve_options[] = {
	{ "listen", 'l', 0, G_OPTION_ARG_STRING, &opt_listen,
	  "Address and port (default: [server] listen, 127.0.0.1:8470; "
	  "port 0 picks a free one)", "ADDR:PORT" },
	{ "tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &opt_cert,
	  "PEM certificate: serve HTTPS, TLS 1.2 and later", "FILE" },
	{ "tls-key", 0, 0, G_OPTION_ARG_FILENAME, &opt_key,
	  "PEM private key of the certificate", "FILE" },
	{ "quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet,
	  "No access log on standard error", NULL },
	{ NULL, 0, 0, 0, NULL, NULL, NULL }
};

static csip_server *running;

static void
on_signal(int sig)
{
	csip_server_stop(running);
}

static void
on_ready(int port, void *ud)
{
	csip_server_opts *o = ud;
	const char *listen = o->listen;
	const char *colon = strrchr(listen, ':');

	/* Tests and scripts read this line to find the port. */
	printf("csip: serving on %s://%.*s:%d/ (API at /api/v1/, "
	       "health at /healthz)\n", o->tls_cert ? "https" : "http",
	       (int)(colon ? colon - listen : 0), listen, port);
	fflush(stdout);
}

int
cmd_serve(cli_ctx *ctx, int argc, char **argv)
{
	csip_server_opts opts = { 0 };
	csip_server *srv = NULL;
	struct sigaction sa;
	int rc;

	if ((rc = cli_want_args(ctx, argc, argv, 0, "")) != 0)
		goto out;
	if ((rc = cli_open(ctx, 0)) != CLI_OK)
		goto out;
	opts.listen = opt_listen ? opt_listen
		: csip_config_get(ctx->cfg, "server", "listen");
	opts.tls_cert = opt_cert;
	opts.tls_key = opt_key;
	opts.quiet = opt_quiet;
	if (csip_server_new(ctx->cfg, &opts, &srv) < 0) {
		rc = cli_fail(ctx);
		goto out;
	}
	if (opts.tls_cert == NULL) {
		const char *c = csip_config_get(ctx->cfg, "server", "tls_cert");

		opts.tls_cert = c && *c ? c : NULL;
	}
	running = srv;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* The CLI's own hub is not needed while serving: each worker
	 * opens its own. */
	if (csip_server_run(srv, on_ready, &opts) < 0) {
		rc = cli_fail(ctx);
		goto out;
	}
	g_printerr("csip: stopped\n");
	rc = CLI_OK;
out:
	running = NULL;
	csip_server_free(srv);
	g_clear_pointer(&opt_listen, g_free);
	g_clear_pointer(&opt_cert, g_free);
	g_clear_pointer(&opt_key, g_free);
	return rc;
}
