/*
 * main.c - the `csip` program: the command table and its dispatcher.
 *
 * The table below is the single source of truth for commands: the
 * dispatcher, `csip --help`, each command's --help and the command list in
 * the README all come from it.  Exit codes: 0 ok, 1 failure, 2 usage.
 */
#include "cli.h"
#include "util/error.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cli_opts cli_opts;

#define O(long_, short_, arg, var, desc, argdesc) \
	{ long_, short_, 0, arg, var, desc, argdesc }
#define END { NULL, 0, 0, 0, NULL, NULL, NULL }
#define S G_OPTION_ARG_STRING
#define SV G_OPTION_ARG_STRING_ARRAY
#define B G_OPTION_ARG_NONE
#define I G_OPTION_ARG_INT

static GOptionEntry no_options[] = { END };

static GOptionEntry sig_add_options[] = {
	O("name", 'n', S, &cli_opts.name, "Display name of the SIG", "NAME"),
	END
};

static GOptionEntry org_add_options[] = {
	O("display", 'd', S, &cli_opts.display, "Display name", "TEXT"),
	O("role", 'r', S, &cli_opts.role,
	  "participant (default), partner or hub", "ROLE"),
	O("nda", 0, S, &cli_opts.nda, "Date the NDA was signed", "YYYY-MM-DD"),
	O("sig", 's', SV, &cli_opts.sigs, "Member of SIG (repeatable)", "SIG"),
	O("domain", 0, SV, &cli_opts.domains,
	  "The organisation's mail domain (repeatable)", "DOMAIN"),
	O("network", 0, SV, &cli_opts.networks,
	  "An internal network (repeatable)", "CIDR"),
	END
};

static GOptionEntry org_list_options[] = {
	O("sig", 's', S, &cli_opts.sig, "Only members of SIG", "SIG"),
	END
};

static GOptionEntry org_update_options[] = {
	O("display", 'd', S, &cli_opts.display, "New display name", "TEXT"),
	O("role", 'r', S, &cli_opts.role, "participant, partner or hub",
	  "ROLE"),
	O("nda", 0, S, &cli_opts.nda, "Date the NDA was signed", "YYYY-MM-DD"),
	O("clear-nda", 0, B, &cli_opts.clear_nda, "Remove the NDA date", NULL),
	O("add-sig", 0, SV, &cli_opts.add_sigs, "Join SIG", "SIG"),
	O("remove-sig", 0, SV, &cli_opts.remove_sigs, "Leave SIG", "SIG"),
	O("add-domain", 0, SV, &cli_opts.add_domains, "Add a mail domain",
	  "DOMAIN"),
	O("remove-domain", 0, SV, &cli_opts.remove_domains,
	  "Remove a mail domain", "DOMAIN"),
	O("add-network", 0, SV, &cli_opts.add_networks,
	  "Add an internal network", "CIDR"),
	O("remove-network", 0, SV, &cli_opts.remove_networks,
	  "Remove an internal network", "CIDR"),
	O("webhook", 0, S, &cli_opts.webhook,
	  "URL notified (POST) of each new item it receives; \"\" clears",
	  "URL"),
	O("notify-email", 0, S, &cli_opts.notify_email,
	  "Address mailed of each new item it receives; \"\" clears",
	  "ADDRESS"),
	END
};

static GOptionEntry user_add_options[] = {
	O("org", 'o', S, &cli_opts.org, "Organisation of the user (required)",
	  "ORG"),
	O("role", 'r', S, &cli_opts.role, "admin, analyst or member (default)",
	  "ROLE"),
	O("email", 'e', S, &cli_opts.email, "E-mail address", "ADDRESS"),
	O("password-stdin", 0, B, &cli_opts.password_stdin,
	  "Read a password (first line) from standard input", NULL),
	END
};

static GOptionEntry user_list_options[] = {
	O("org", 'o', S, &cli_opts.org, "Only users of ORG", "ORG"),
	END
};

static GOptionEntry token_create_options[] = {
	O("label", 'l', S, &cli_opts.label, "What the token is for", "TEXT"),
	O("days", 0, I, &cli_opts.days,
	  "Valid for N days (0: no expiry; default from [security] "
	  "token_days)", "N"),
	O("read-only", 0, B, &cli_opts.read_only, "Only read, never write",
	  NULL),
	END
};

static GOptionEntry token_list_options[] = {
	O("user", 'u', S, &cli_opts.user, "Only tokens of USER", "USER"),
	END
};

static GOptionEntry audit_list_options[] = {
	O("limit", 'n', I, &cli_opts.limit, "Only the newest N rows", "N"),
	END
};

static GOptionEntry indicator_options[] = {
	O("type", 't', S, &cli_opts.type,
	  "Parse as this type instead of detecting it", "TYPE"),
	END
};

static GOptionEntry parse_options[] = {
	O("anonymised", 'a', B, &cli_opts.anonymised,
	  "Print the anonymised message instead of the indicators", NULL),
	O("domain", 0, SV, &cli_opts.domains,
	  "A mail domain of the provider, to anonymise (repeatable)",
	  "DOMAIN"),
	O("network", 0, SV, &cli_opts.networks,
	  "An internal network of the provider (repeatable)", "CIDR"),
	END
};

static GOptionEntry ingest_options[] = {
	O("org", 'o', S, &cli_opts.org, "The providing organisation", "ORG"),
	O("permission", 'p', S, &cli_opts.permission,
	  "Widest audience allowed: hub, sig (default), community, partners "
	  "or public", "SCOPE"),
	O("attribution", 0, S, &cli_opts.attribution,
	  "Who may learn the provider: none (default), sig or community",
	  "SCOPE"),
	O("tlp", 0, S, &cli_opts.tlp,
	  "TLP 2.0: clear, green, amber (default), amber+strict, red", "TLP"),
	O("mda", 0, B, &cli_opts.mda,
	  "Act as an MTA delivery agent: one message on stdin, sysexits codes",
	  NULL),
	O("sender", 0, S, &cli_opts.sender,
	  "With --mda: the envelope sender (Postfix ${sender})", "ADDRESS"),
	END
};

static GOptionEntry report_list_options[] = {
	O("org", 'o', S, &cli_opts.org, "Only reports of ORG", "ORG"),
	O("limit", 'n', I, &cli_opts.limit, "Only the newest N", "N"),
	END
};

static GOptionEntry report_show_options[] = {
	O("anonymised", 'a', B, &cli_opts.anonymised,
	  "Print the anonymised message", NULL),
	END
};

static const cli_cmd commands[] = {
	{ NULL, "init", "", "Create the data folder, key and database",
	  "Creates the data folder ([data] dir, default ./csip-data), the "
	  "secret key and the database, and applies the schema migrations. "
	  "Safe to run again: it only migrates.", no_options, 1, cmd_init },
	{ NULL, "demo", "", "Seed demo SIGs, organisations and users",
	  "Initialises the hub if needed and seeds fictitious SIGs, "
	  "organisations and users, then prints a fresh token for the demo "
	  "analyst.  Running it again keeps the data and prints a new token.",
	  no_options, 1, cmd_demo },
	{ NULL, "migrate", "", "Copy the hub into another database (SQLite to "
	  "PostgreSQL)", "Copies every table of the hub at --from (default: "
	  "the configured [database] url) into the empty database at --to, "
	  "creating its schema, in one transaction on each side: the source "
	  "is read at one moment with its writers held off, and the row "
	  "counts of every table are compared before the copy commits, so a "
	  "failure leaves --to as it was.  Progress is shown on a terminal.  "
	  "Stop the servers first; afterwards point [database] url at --to "
	  "and give every server the same [security] secret_file.",
	  cmd_migrate_options, 1, cmd_migrate },
	{ NULL, "config", "", "Show the configuration options and values",
	  "Lists every option of the INI file with its value here and what "
	  "it does.  The file comes from --config, else $CSIP_CONFIG, else "
	  "none (defaults).", no_options, 1, cmd_config },
	{ NULL, "indicator", "VALUE...", "Parse indicators and show their "
	  "canonical form", "Detects the type of each VALUE (defanged forms "
	  "are accepted), validates it and prints its canonical form, "
	  "registrable domain and flags.  Types: ipv4 ipv6 cidr4 cidr6 domain "
	  "hostname url email md5 sha1 sha256 sha512 ssdeep filename asn "
	  "mutex regkey user-agent email-subject x-mailer.",
	  indicator_options, 1, cmd_indicator },
	{ NULL, "parse", "FILE...", "Extract indicators from mails (no "
	  "database)", "Each FILE is a .eml file, an mbox, a Maildir or - "
	  "for standard input.  Prints each message's indicators, as text or "
	  "with --json one JSON object per message per line.  With "
	  "--anonymised, prints the message as the hub would share it.",
	  parse_options, 1, cmd_parse },
	{ NULL, "ingest", "PATH...", "Store reported mails as reports",
	  "Stores one report per message of each PATH (.eml, mbox, Maildir, "
	  "- for stdin), extracting indicators and anonymising the provider "
	  "and the recipients.  Ends with a summary; exits 1 if any message "
	  "was rejected.  With --mda, acts as a Postfix pipe delivery agent: "
	  "one message on stdin, the provider found from the envelope "
	  "sender's domain, exit 0 only once the report is durable, 75 "
	  "(EX_TEMPFAIL) on any transient failure so the MTA retries.",
	  ingest_options, 1, cmd_ingest },
	{ NULL, "match", "[LOG...]", "Find indicators in logs (proxy, DNS, "
	  "mail, EVE, Zeek)", "Reads each LOG (a file, gzip, or standard "
	  "input when none or -) and prints one JSON line per sighting: the "
	  "indicator, its type, the log, line number, byte offset and the "
	  "line's timestamp.  Domains match their sub-domains, CIDRs by longest "
	  "prefix, every value as a whole token.  Large inputs are split over "
	  "threads; the output stays in input order.  With --follow, keeps "
	  "reading the logs as they grow (rotated or truncated logs are read "
	  "from their start again) and keeps the indicators up to date; "
	  "--report sends the sightings, counted per indicator, to the hub as "
	  "feedback.  Exits 1 when a log cannot be read or sightings could "
	  "not be reported (they are printed on stderr).", cmd_match_options,
	  0, cmd_match },
	{ NULL, "export", "", "Export blocklists (Suricata, Snort, Zeek, RPZ, "
	  "CSV, text)", "Writes the indicators of the published items an "
	  "organisation receives, filtered by the same policy as the API: "
	  "Suricata 7 or Snort 3 rules (sids 9000000-25777215, stable per "
	  "indicator), a Zeek intel file, a DNS RPZ zone, CSV, or one value a "
	  "line, or the whole items as a STIX 2.1 bundle (--format stix).  "
	  "Reads as the hub, which sees every published item, unless "
	  "--as names an organisation.  Indicators of withdrawn items, of "
	  "items older than [export] validity_days and those flagged as "
	  "false positives by [export] false_positive_threshold "
	  "organisations are left out; each value appears once.",
	  cmd_export_options, 0, cmd_export },
	{ NULL, "stats", "", "Counts per fiscal year (table, JSON or SVG "
	  "charts)", "Counts per Japanese fiscal year (1 April to 31 March) "
	  "and quarter, by date in JST: reports received (by SIG of the "
	  "provider and by attack type), items shared, sharing instances "
	  "(item x receiving organisation, by SIG), feedback (by kind) and "
	  "campaigns.  A text table, --json, or --svg: grouped bar charts as "
	  "a standalone SVG document a browser shows as it is.  An "
	  "organisation in two SIGs counts in each; totals count once.  "
	  "Reads as the hub unless --as names an organisation.",
	  cmd_stats_options, 1, cmd_stats },
	{ NULL, "serve", "", "Run the hub's HTTP server (REST API)",
	  "Serves the JSON API under /api/v1/ (described at "
	  "/api/v1/openapi.json), /healthz and /metrics, until SIGTERM or "
	  "SIGINT; then stops accepting, lets requests in flight finish and "
	  "exits.  HTTPS with --tls-cert and --tls-key.  Prints the address "
	  "once listening.", cmd_serve_options, 0, cmd_serve },
	{ "report", "list", "", "List reports", NULL, report_list_options, 1,
	  cmd_report_list },
	{ "report", "show", "ID", "Show a report and its indicators", NULL,
	  report_show_options, 1, cmd_report_show },
	{ "sig", "add", "CODE", "Add a sector group (SIG)", NULL,
	  sig_add_options, 1, cmd_sig_add },
	{ "sig", "list", "", "List the SIGs", NULL, no_options, 1,
	  cmd_sig_list },
	{ "sig", "show", "CODE", "Show a SIG and its members", NULL,
	  no_options, 1, cmd_sig_show },
	{ "org", "add", "NAME", "Add an organisation",
	  "NAME is a short slug (acme-power).  Mail domains and internal "
	  "networks tell the hub what to anonymise in this organisation's "
	  "reports and who sent a forwarded mail.", org_add_options, 1,
	  cmd_org_add },
	{ "org", "list", "", "List the organisations", NULL, org_list_options,
	  1, cmd_org_list },
	{ "org", "show", "NAME", "Show an organisation", NULL, no_options, 1,
	  cmd_org_show },
	{ "org", "update", "NAME", "Change an organisation", NULL,
	  org_update_options, 1, cmd_org_update },
	{ "user", "add", "NAME", "Add a user of an organisation", NULL,
	  user_add_options, 1, cmd_user_add },
	{ "user", "list", "", "List users", NULL, user_list_options, 1,
	  cmd_user_list },
	{ "user", "disable", "NAME", "Disable a user and its tokens", NULL,
	  no_options, 1, cmd_user_disable },
	{ "token", "create", "USER", "Create an API token (shown once)",
	  "Prints the new token on standard output, once: only a keyed hash "
	  "is stored.", token_create_options, 1, cmd_token_create },
	{ "token", "list", "", "List API tokens (never the secrets)", NULL,
	  token_list_options, 1, cmd_token_list },
	{ "token", "revoke", "ID", "Revoke an API token", NULL, no_options, 1,
	  cmd_token_revoke },
	{ "audit", "verify", "", "Check the audit log's hash chain",
	  "Exits 0 when every row is intact, 1 naming the first edited, "
	  "deleted or inserted row otherwise.", no_options, 1,
	  cmd_audit_verify },
	{ "audit", "list", "", "Show the audit log", NULL, audit_list_options,
	  1, cmd_audit_list },
	/* Cross-sectional analysis (cmd_correlate.c). */
	{ "campaign", "list", "", "List campaigns of linked reports", NULL,
	  cmd_campaign_list_options, 1, cmd_campaign_list },
	{ "campaign", "show", "ID", "Show a campaign and its reports", NULL,
	  no_options, 1, cmd_campaign_show },
	{ "campaign", "name", "ID NAME", "Name a campaign (\"\" removes it)",
	  NULL, no_options, 0, cmd_campaign_name },
	{ "campaign", "merge", "ID OTHER...", "Merge campaigns into one",
	  "Merges each OTHER campaign into campaign ID.  The merge is kept "
	  "when links are computed again (csip correlate --rebuild).",
	  no_options, 0, cmd_campaign_merge },
	{ "campaign", "split", "ID REPORTS", "Split reports off a campaign",
	  "Cuts the links between the REPORTS named and the other reports of "
	  "campaign ID and computes the campaign again: the larger part keeps "
	  "the campaign, other parts of two reports or more become new "
	  "campaigns, single reports leave.  A later report linking both "
	  "sides joins them again.", no_options, 1, cmd_campaign_split },
	{ "warninglist", "list", "", "List values that never link reports",
	  "Warning lists keep values that would link unrelated reports "
	  "(free-mail and popular domains, CDNs, private ranges, public "
	  "resolvers) out of the correlation.  A domain covers its "
	  "sub-domains, a network the addresses inside.",
	  cmd_warninglist_options, 1, cmd_warninglist_list },
	{ "warninglist", "add", "VALUE", "Keep a value from linking reports",
	  "Adds VALUE (a domain, an address or network, or any other "
	  "indicator) to --list (default local); prints the entry's id.  "
	  "Applies to reports correlated from now on; csip correlate "
	  "--rebuild applies it to all.", cmd_warninglist_options, 1,
	  cmd_warninglist_add },
	{ "warninglist", "remove", "ID", "Remove a warning-list entry", NULL,
	  no_options, 0, cmd_warninglist_remove },
	{ NULL, "correlate", "", "Correlate waiting reports, or all again",
	  "Correlates the reports stored but not correlated yet (a failure "
	  "after storing leaves them so) and saves the index to [correlate] "
	  "index_file.  With --rebuild, drops every computed link and "
	  "campaign membership and correlates all reports again in their "
	  "order, keeping the analysts' merges, splits, exclusions and names; "
	  "progress is shown on a terminal.", cmd_correlate_options, 1,
	  cmd_correlate },
	{ NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL }
};

static void
print_commands(FILE *f)
{
	fprintf(f, "Usage: csip [--config PATH] COMMAND [ARGS...]\n\n"
		"csip: the information-sharing hub of a national security "
		"centre.\n\nCommands:\n");
	for (const cli_cmd *c = commands; c->name; c++) {
		char *full = c->group ? g_strdup_printf("%s %s", c->group,
			c->name) : g_strdup(c->name);
		char *sig = g_strdup_printf("%s %s", full, c->args);

		fprintf(f, "  %-26s %s\n", sig, c->summary);
		g_free(sig);
		g_free(full);
	}
	fprintf(f, "\nGlobal options:\n"
		"  --config PATH              configuration file (else "
		"$CSIP_CONFIG, else defaults)\n"
		"  --version                  print the version\n"
		"  --help                     this help\n\n"
		"`csip COMMAND --help` explains a command.\n");
}

static const cli_cmd *
find_command(const char *group, const char *name)
{
	for (const cli_cmd *c = commands; c->name; c++) {
		if (group == NULL && c->group == NULL &&
		    strcmp(c->name, name) == 0)
			return c;
		if (group && c->group && strcmp(c->group, group) == 0 &&
		    name && strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

static int
is_group(const char *word)
{
	for (const cli_cmd *c = commands; c->name; c++)
		if (c->group && strcmp(c->group, word) == 0)
			return 1;
	return 0;
}

static void
print_group(FILE *f, const char *group)
{
	fprintf(f, "Usage: csip %s SUBCOMMAND [ARGS...]\n\nSubcommands:\n",
		group);
	for (const cli_cmd *c = commands; c->name; c++)
		if (c->group && strcmp(c->group, group) == 0)
			fprintf(f, "  %-8s %-10s %s\n", c->name, c->args,
				c->summary);
	fprintf(f, "\n`csip %s SUBCOMMAND --help` explains one.\n", group);
}

static int
run_command(const cli_cmd *cmd, cli_ctx *ctx, int argc, char **argv)
{
	GOptionEntry common[] = {
		O("config", 'c', S, &ctx->config_opt,
		  "Configuration file", "PATH"),
		O("json", 'j', B, &ctx->json, "Machine-readable JSON output",
		  NULL),
		END
	};
	char *title = cmd->group
		? g_strdup_printf("%s %s", cmd->group, cmd->name)
		: g_strdup(cmd->name);
	char *prg = g_strdup_printf("csip %s", title);
	GOptionContext *oc = g_option_context_new(cmd->args);
	GError *err = NULL;
	int rc;

	if (!cmd->json)
		common[1] = (GOptionEntry)END;
	g_set_prgname(prg);
	g_option_context_set_summary(oc, cmd->summary);
	if (cmd->details)
		g_option_context_set_description(oc, cmd->details);
	g_option_context_add_main_entries(oc, cmd->options, NULL);
	g_option_context_add_main_entries(oc, common, NULL);
	ctx->cmd = cmd;
	cli_opts.days = -1;
	if (!g_option_context_parse(oc, &argc, &argv, &err)) {
		rc = cli_usage(ctx, "%s", err->message);
		goto out;
	}
	/* GOption leaves "--" in place; positional arguments follow it. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			memmove(&argv[i], &argv[i + 1],
				(size_t)(argc - i) * sizeof *argv);
			argc--;
			break;
		}
	}
	if (ctx->config_opt)
		ctx->config_path = ctx->config_opt;
	rc = cmd->run(ctx, argc - 1, argv + 1);
out:
	g_clear_error(&err);
	g_option_context_free(oc);
	g_free(title);
	g_free(prg);
	return rc;
}

int
main(int argc, char **argv)
{
	cli_ctx ctx = { 0 };
	const cli_cmd *cmd = NULL;
	int i = 1, rc;

	setlocale(LC_ALL, "");
	/* Global options before the command. */
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "--version") == 0) {
			printf("csip %s\n", CSIP_VERSION);
			return CLI_OK;
		} else if (strcmp(argv[i], "--help") == 0 ||
			   strcmp(argv[i], "-h") == 0) {
			print_commands(stdout);
			return CLI_OK;
		} else if ((strcmp(argv[i], "--config") == 0 ||
			    strcmp(argv[i], "-c") == 0) && i + 1 < argc) {
			ctx.config_path = argv[i + 1];
			i += 2;
		} else if (g_str_has_prefix(argv[i], "--config=")) {
			ctx.config_path = argv[i] + strlen("--config=");
			i++;
		} else {
			fprintf(stderr, "csip: unknown option %s; see `csip "
				"--help`\n", argv[i]);
			return CLI_USAGE;
		}
	}
	if (i >= argc) {
		print_commands(stderr);
		return CLI_USAGE;
	}
	if (is_group(argv[i])) {
		if (i + 1 >= argc || strcmp(argv[i + 1], "--help") == 0 ||
		    strcmp(argv[i + 1], "-h") == 0) {
			int help = i + 1 < argc;

			print_group(help ? stdout : stderr, argv[i]);
			return help ? CLI_OK : CLI_USAGE;
		}
		cmd = find_command(argv[i], argv[i + 1]);
		if (cmd == NULL) {
			fprintf(stderr, "csip: %s has no subcommand \"%s\"\n\n",
				argv[i], argv[i + 1]);
			print_group(stderr, argv[i]);
			return CLI_USAGE;
		}
		i++;
	} else {
		cmd = find_command(NULL, argv[i]);
		if (cmd == NULL) {
			fprintf(stderr, "csip: unknown command \"%s\"; see "
				"`csip --help`\n", argv[i]);
			return CLI_USAGE;
		}
	}
	/* The handler sees its own name as argv[0]. */
	rc = run_command(cmd, &ctx, argc - i, argv + i);
	cli_ctx_clear(&ctx);
	return rc;
}
