/*
 * cli.h - what the command handlers of the `csip` program share.
 *
 * The command table in main.c is the one source of truth for commands,
 * their options and their help; handlers live in cmd_*.c, one file per
 * area, and only parse what GOption left them, call the library, and print.
 */
#ifndef CSIP_CLI_H
#define CSIP_CLI_H

#include "lib/config.h"
#include "lib/hub.h"

#include <glib.h>
#include <jansson.h>

/* Exit codes. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

typedef struct cli_ctx cli_ctx;

/* A command: "org add" is group "org", name "add".  OPTIONS are GOption
 * entries (the table in main.c).  RUN receives the positional arguments
 * left after option parsing and returns an exit code. */
typedef struct cli_cmd {
	const char *group;     /* NULL for a top-level command */
	const char *name;
	const char *args;      /* positional arguments, for usage */
	const char *summary;
	const char *details;   /* longer help, may be NULL */
	GOptionEntry *options; /* may be NULL */
	int json;              /* accepts --json */
	int (*run)(cli_ctx *ctx, int argc, char **argv);
} cli_cmd;

struct cli_ctx {
	const cli_cmd *cmd;
	const char *config_path;  /* --config, before or after the command */
	gchar *config_opt;        /* --config after the command (owned) */
	gboolean json;            /* --json */
	csip_config *cfg;
	csip_hub *hub;
	char *actor;              /* "cli:USER" for the audit log */
};

/* Load the configuration and open the hub (creating it when CREATE).
 * Prints the error and returns CLI_FAIL on failure. */
int cli_open(cli_ctx *ctx, int create);

/* Free what the context and the option variables hold. */
void cli_ctx_clear(cli_ctx *ctx);

/* Report a library error (the thread's last message) for the current
 * command on stderr; returns CLI_FAIL. */
int cli_fail(cli_ctx *ctx);

/* Report a usage error on stderr with a hint at --help; returns
 * CLI_USAGE. */
int cli_usage(cli_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Check that exactly N positional arguments were given; WHAT names the
 * missing one.  Returns CLI_OK or CLI_USAGE (after printing). */
int cli_want_args(cli_ctx *ctx, int argc, char **argv, int n,
		  const char *what);

/* Take the one positional argument as a positive id of a WHAT ("token",
 * "report"); on a bad one print a usage error naming `csip GROUP list`.
 * Returns CLI_OK or CLI_USAGE. */
int cli_want_id(cli_ctx *ctx, int argc, char **argv, const char *what,
		long long *id);

/* Print a JSON value (compact, one line) on stdout. */
void cli_print_json(json_t *v);

/* Print an array of objects as an aligned text table of the given keys
 * (NULL-terminated); HEADERS names the columns. */
void cli_print_table(json_t *rows, const char *const *keys,
		     const char *const *headers);

/* Print an object as "key: value" lines. */
void cli_print_object(json_t *obj);

/* Print ROWS as JSON (--json) or as a table, then release ROWS; returns
 * CLI_OK.  cli_print_one() does the same for one object. */
int cli_print_rows(cli_ctx *ctx, json_t *rows, const char *const *keys,
		   const char *const *headers);
int cli_print_one(cli_ctx *ctx, json_t *obj);

/* Handlers, by area. */
int cmd_init(cli_ctx *ctx, int argc, char **argv);
int cmd_demo(cli_ctx *ctx, int argc, char **argv);
int cmd_config(cli_ctx *ctx, int argc, char **argv);
int cmd_sig_add(cli_ctx *ctx, int argc, char **argv);
int cmd_sig_list(cli_ctx *ctx, int argc, char **argv);
int cmd_sig_show(cli_ctx *ctx, int argc, char **argv);
int cmd_org_add(cli_ctx *ctx, int argc, char **argv);
int cmd_org_list(cli_ctx *ctx, int argc, char **argv);
int cmd_org_show(cli_ctx *ctx, int argc, char **argv);
int cmd_org_update(cli_ctx *ctx, int argc, char **argv);
int cmd_user_add(cli_ctx *ctx, int argc, char **argv);
int cmd_user_list(cli_ctx *ctx, int argc, char **argv);
int cmd_user_disable(cli_ctx *ctx, int argc, char **argv);
int cmd_token_create(cli_ctx *ctx, int argc, char **argv);
int cmd_token_list(cli_ctx *ctx, int argc, char **argv);
int cmd_token_revoke(cli_ctx *ctx, int argc, char **argv);
int cmd_audit_verify(cli_ctx *ctx, int argc, char **argv);
int cmd_audit_list(cli_ctx *ctx, int argc, char **argv);
int cmd_indicator(cli_ctx *ctx, int argc, char **argv);
int cmd_parse(cli_ctx *ctx, int argc, char **argv);
int cmd_ingest(cli_ctx *ctx, int argc, char **argv);
int cmd_report_list(cli_ctx *ctx, int argc, char **argv);
int cmd_report_show(cli_ctx *ctx, int argc, char **argv);
int cmd_match(cli_ctx *ctx, int argc, char **argv);
int cmd_export(cli_ctx *ctx, int argc, char **argv);
int cmd_stats(cli_ctx *ctx, int argc, char **argv);

int cmd_serve(cli_ctx *ctx, int argc, char **argv);

/* Cross-sectional analysis (cmd_correlate.c), with its options. */
int cmd_campaign_list(cli_ctx *ctx, int argc, char **argv);
int cmd_campaign_show(cli_ctx *ctx, int argc, char **argv);
int cmd_campaign_name(cli_ctx *ctx, int argc, char **argv);
int cmd_campaign_merge(cli_ctx *ctx, int argc, char **argv);
int cmd_campaign_split(cli_ctx *ctx, int argc, char **argv);
int cmd_warninglist_list(cli_ctx *ctx, int argc, char **argv);
int cmd_warninglist_add(cli_ctx *ctx, int argc, char **argv);
int cmd_warninglist_remove(cli_ctx *ctx, int argc, char **argv);
int cmd_correlate(cli_ctx *ctx, int argc, char **argv);
extern GOptionEntry cmd_campaign_list_options[];
extern GOptionEntry cmd_warninglist_options[];
extern GOptionEntry cmd_correlate_options[];

/* Moving a hub to another database (cmd_migrate.c). */
int cmd_migrate(cli_ctx *ctx, int argc, char **argv);
extern GOptionEntry cmd_migrate_options[];

/* Options of `csip match` and `csip serve`, kept with their handlers. */
extern GOptionEntry cmd_match_options[];
extern GOptionEntry cmd_export_options[];
extern GOptionEntry cmd_stats_options[];
extern GOptionEntry cmd_serve_options[];

/* Option variables of the handlers, bound by the table in main.c. */
extern struct cli_opts {
	gchar *name, *display, *role, *nda, *org, *email, *sig, *user;
	gchar *label, *type;
	gchar *permission, *attribution, *tlp, *sender;
	gchar *webhook, *notify_email;
	gchar **sigs, **domains, **networks;
	gchar **add_sigs, **remove_sigs, **add_domains, **remove_domains;
	gchar **add_networks, **remove_networks;
	gboolean password_stdin, read_only, clear_nda, force;
	gboolean mda, anonymised;
	gint days, limit;
} cli_opts;

#endif
