/*
 * cmd_admin.c - `csip init`, `csip demo`, `csip config`, `csip audit ...`
 * and `csip indicator`.
 */
#include "cli.h"
#include "lib/audit.h"
#include "lib/indicator.h"
#include "lib/item.h"
#include "lib/migrate.h"
#include "lib/org.h"
#include "lib/report.h"
#include "lib/store.h"
#include "lib/user.h"
#include "util/error.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

int
cmd_init(cli_ctx *ctx, int argc, char **argv)
{
	char *db = NULL;
	int rc, applied;

	if ((rc = cli_want_args(ctx, argc, argv, 0, "")) != 0)
		return rc;
	if ((rc = cli_open(ctx, 1)) != CLI_OK)
		return rc;
	applied = csip_hub_migrations_applied(ctx->hub);
	db = csip_store_url_redacted(csip_config_db_url(ctx->cfg));
	if (ctx->json) {
		json_t *o = json_pack("{ss ss si si}",
			"data_dir", csip_config_data_dir(ctx->cfg),
			"database", db,
			"schema_version", csip_migrate_latest(),
			"migrations_applied", applied);

		cli_print_json(o);
		json_decref(o);
	} else if (applied) {
		printf("initialised %s (schema version %d, %d migration%s)\n",
		       db, csip_migrate_latest(), applied,
		       applied == 1 ? "" : "s");
	} else {
		printf("%s is up to date (schema version %d)\n", db,
		       csip_migrate_latest());
	}
	g_free(db);
	return CLI_OK;
}

/* ---- demo ------------------------------------------------------------ */

static const struct { const char *code, *name; } demo_sigs[] = {
	{ "energy", "Electric power (電力)" },
	{ "gas", "Gas (ガス)" },
	{ "chemical", "Chemical (化学)" },
	{ "oil", "Petroleum (石油)" },
	{ "heavy-industry", "Heavy industry (重工)" },
	{ "automotive", "Automotive (自動車)" },
	{ "aviation", "Aviation (航空)" },
	{ "logistics", "Logistics (物流)" },
};

typedef struct demo_org {
	const char *name, *display, *role, *nda;
	const char *sigs[3], *domains[3], *networks[3];
} demo_org;

/* Fictitious organisations under the reserved .example TLD. */
static const demo_org demo_orgs[] = {
	{ "csip-hub", "Information-sharing hub (demo)", "hub", "2024-04-01",
	  { NULL }, { "hub.example", NULL }, { "10.0.0.0/16", NULL } },
	{ "kanto-power", "Kanto Electric Power (関東電力)", "participant",
	  "2024-04-01", { "energy", NULL },
	  { "kanto-power.example", "kanto-denryoku.example", NULL },
	  { "10.10.0.0/16", "192.0.2.0/28", NULL } },
	{ "nihon-gas", "Nihon Gas (日本ガス)", "participant", "2024-06-15",
	  { "gas", "energy", NULL }, { "nihon-gas.example", NULL },
	  { "172.20.0.0/16", NULL } },
	{ "sakura-chem", "Sakura Chemical (さくら化学)", "participant",
	  "2025-01-10", { "chemical", "oil", NULL },
	  { "sakura-chem.example", NULL }, { "10.30.0.0/16", NULL } },
	{ "fuji-heavy", "Fuji Heavy Machinery (富士重機)", "participant", NULL,
	  { "heavy-industry", NULL }, { "fuji-heavy.example", NULL },
	  { NULL } },
	{ "national-cert", "National CERT (partner)", "partner", "2024-04-01",
	  { NULL }, { "cert.example", NULL }, { NULL } },
};

static const struct { const char *name, *org, *role, *email; } demo_users[] = {
	{ "analyst", "csip-hub", "analyst", "analyst@hub.example" },
	{ "admin", "csip-hub", "admin", "admin@hub.example" },
	{ "alice", "kanto-power", "member", "alice@kanto-power.example" },
	{ "bob", "nihon-gas", "member", "bob@nihon-gas.example" },
	{ "carol", "sakura-chem", "member", "carol@sakura-chem.example" },
	{ "dave", "national-cert", "member", "dave@cert.example" },
};

static int
demo_seed(cli_ctx *ctx)
{
	csip_store *s = csip_hub_store(ctx->hub);
	int64_t id;
	int rc;

	if ((rc = csip_store_begin(s)) < 0)
		return rc;
	for (size_t i = 0; i < G_N_ELEMENTS(demo_sigs); i++)
		if ((rc = csip_sig_add(ctx->hub, ctx->actor, demo_sigs[i].code,
				       demo_sigs[i].name, &id)) < 0)
			goto out;
	for (size_t i = 0; i < G_N_ELEMENTS(demo_orgs); i++) {
		const demo_org *o = &demo_orgs[i];
		csip_org_spec spec = {
			.name = o->name, .display_name = o->display,
			.role = o->role, .nda_date = o->nda,
			.sigs = (char **)o->sigs,
			.domains = (char **)o->domains,
			.networks = (char **)o->networks,
		};

		if ((rc = csip_org_add(ctx->hub, ctx->actor, &spec, &id)) < 0)
			goto out;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(demo_users); i++)
		if ((rc = csip_user_add(ctx->hub, ctx->actor, demo_users[i].org,
				demo_users[i].name, demo_users[i].email,
				demo_users[i].role, NULL, &id)) < 0)
			goto out;
out:
	if (rc < 0) {
		csip_store_rollback(s);
		return rc;
	}
	return csip_store_commit(s);
}

/* A targeted-attack mail as a participant forwards it: the attack mail is
 * attached, the forward comes from the provider's own domain. */
static const char demo_mail[] =
	"From: Alice Sato <alice@kanto-power.example>\r\n"
	"To: report@hub.example\r\n"
	"Subject: Fwd: suspicious invoice\r\n"
	"Date: Mon, 16 Nov 2026 09:12:00 +0900\r\n"
	"Message-ID: <fwd-1@kanto-power.example>\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"fw\"\r\n"
	"\r\n"
	"--fw\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"\r\n"
	"Received by our accounting team this morning.\r\n"
	"--fw\r\n"
	"Content-Type: message/rfc822\r\n"
	"\r\n"
	"Received: from mx1.kanto-power.example (mx1.kanto-power.example "
	"[10.10.0.5])\r\n"
	"\tby mail.kanto-power.example; Mon, 16 Nov 2026 08:59:01 +0900\r\n"
	"Received: from sender.invoice-portal.example (unknown "
	"[203.0.113.77])\r\n"
	"\tby mx1.kanto-power.example; Mon, 16 Nov 2026 08:59:00 +0900\r\n"
	"From: \"Billing\" <billing@invoice-portal.example>\r\n"
	"Reply-To: pay@invoice-help.example\r\n"
	"To: Taro Yamada <taro.yamada@kanto-power.example>\r\n"
	"Subject: =?UTF-8?B?44CQ6KuL5rGC5pu444CR44GU56K66KqN44GP44Gg44GV44GE?=\r\n"
	"Date: Mon, 16 Nov 2026 08:58:40 +0900\r\n"
	"Message-ID: <a1b2c3@invoice-portal.example>\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"\r\n"
	"Dear Taro Yamada,\r\n"
	"Please review the invoice at hxxps://invoice-portal[.]example/"
	"view?id=8812&email=taro.yamada@kanto-power.example\r\n"
	"or download it from http://198.51.100.23/inv/8812.zip\r\n"
	"--fw--\r\n";

/* A little history for the demo: three reports from two organisations,
 * one item made from two of them, approved by both providers and
 * published to the energy SIG. */
static int
demo_story(cli_ctx *ctx)
{
	csip_report_in mail_in = { .org = "kanto-power", .permission = "sig",
		.attribution = "none", .tlp = "amber", .source = "demo" };
	csip_report_in list_in = { .org = "nihon-gas", .permission =
		"community", .attribution = "sig", .tlp = "green", .source =
		"demo" };
	csip_ingest_result r1 = { 0 }, r2 = { 0 }, r3 = { 0 };
	json_t *list = json_pack("[s s {ss ss}]", "invoice-help[.]example",
		"198.51.100.23", "value", "invoice-portal.example", "role",
		"sender");
	static const char *const energy[] = { "energy", NULL };
	static const char text[] = "Phone call pretending to be our IT desk, "
		"asking staff to install a remote tool from "
		"hxxp://it-support-desk[.]example/agent.exe";
	int64_t reports[2], item = 0, kanto = 0, nihon = 0;
	csip_item_spec spec = { 0 };
	int rc;

	/* All of the story or none of it. */
	if ((rc = csip_store_begin(csip_hub_store(ctx->hub))) < 0)
		return rc;
	if ((rc = csip_report_ingest_mail(ctx->hub, ctx->actor, &mail_in,
			demo_mail, sizeof demo_mail - 1, &r1)) < 0 ||
	    (rc = csip_report_submit_indicators(ctx->hub, ctx->actor, &list_in,
			list, &r2)) < 0 ||
	    (rc = csip_report_submit_text(ctx->hub, ctx->actor, &list_in, text,
			sizeof text - 1, &r3)) < 0)
		goto out;
	reports[0] = r1.report_id;
	reports[1] = r2.report_id;
	spec.title = "Invoice-themed spear phishing against the energy sector";
	spec.analysis = "Two members received invoice lures from the same "
		"infrastructure within a day.  Block the sender domain, the "
		"reply-to domain and the download host.";
	spec.tlp = "amber";
	spec.audience = "sig";
	spec.sigs = (char **)energy;
	spec.attack_type = "targeted-mail";
	spec.severity = "high";
	spec.report_ids = reports;
	spec.n_reports = 2;
	if ((rc = csip_org_id(ctx->hub, "kanto-power", &kanto)) < 0 ||
	    (rc = csip_org_id(ctx->hub, "nihon-gas", &nihon)) < 0 ||
	    (rc = csip_item_create(ctx->hub, ctx->actor, &spec, &item)) < 0 ||
	    (rc = csip_item_submit(ctx->hub, ctx->actor, item)) < 0 ||
	    (rc = csip_item_decide(ctx->hub, ctx->actor, item, kanto,
				   "approve", NULL)) < 0 ||
	    (rc = csip_item_decide(ctx->hub, ctx->actor, item, nihon,
				   "approve", NULL)) < 0)
		goto out;
	rc = csip_item_publish(ctx->hub, ctx->actor, item, NULL);
out:
	json_decref(list);
	if (rc < 0) {
		csip_store_rollback(csip_hub_store(ctx->hub));
		return csip_error_prefix(rc, "demo data: ");
	}
	return csip_store_commit(csip_hub_store(ctx->hub));
}

int
cmd_demo(cli_ctx *ctx, int argc, char **argv)
{
	char *analyst = NULL, *member = NULL;
	json_t *orgs = NULL, *sigs = NULL;
	int64_t n = 0, id;
	int rc, seeded = 0;

	if ((rc = cli_want_args(ctx, argc, argv, 0, "")) != 0)
		return rc;
	if ((rc = cli_open(ctx, 1)) != CLI_OK)
		return rc;
	if (csip_store_query_int64(csip_hub_store(ctx->hub), &n,
				   "SELECT COUNT(*) FROM org", NULL) < 0)
		return cli_fail(ctx);
	if (n == 0) {
		if (demo_seed(ctx) < 0 || demo_story(ctx) < 0)
			return cli_fail(ctx);
		seeded = 1;
	}
	if (csip_token_create(ctx->hub, ctx->actor, "analyst", "demo", 30, 0,
			      &analyst, &id) < 0 ||
	    csip_token_create(ctx->hub, ctx->actor, "alice", "demo", 30, 0,
			      &member, &id) < 0 ||
	    csip_org_list(ctx->hub, NULL, &orgs) < 0 ||
	    csip_sig_list(ctx->hub, &sigs) < 0) {
		rc = cli_fail(ctx);
		goto out;
	}
	if (ctx->json) {
		json_t *o = json_pack("{ss sb sO sO s{ss ss}}",
			"database", csip_config_db_url(ctx->cfg),
			"seeded", seeded, "sigs", sigs, "orgs", orgs,
			"tokens", "analyst", analyst, "alice", member);

		cli_print_json(o);
		json_decref(o);
	} else {
		static const char *const ok[] = { "name", "role", "nda_date",
			"display_name", NULL };
		static const char *const oh[] = { "NAME", "ROLE", "NDA",
			"DISPLAY NAME" };

		printf("%s demo hub in %s: %zu SIGs, %zu organisations, %zu "
		       "users\n\n", seeded ? "Seeded a" : "Kept the existing",
		       csip_config_data_dir(ctx->cfg), json_array_size(sigs),
		       json_array_size(orgs), G_N_ELEMENTS(demo_users));
		cli_print_table(orgs, ok, oh);
		printf("\nDemo tokens (valid 30 days, shown once):\n"
		       "  analyst (hub analyst):      %s\n"
		       "  alice (kanto-power member): %s\n\n"
		       "Look around: build/csip org list, build/csip report "
		       "list, build/csip audit verify\n"
		       "Over HTTP, once `build/csip serve` runs (make run "
		       "starts it):\n"
		       "  curl -H 'Authorization: Bearer %s' "
		       "http://%s/api/v1/items\n"
		       "  curl http://%s/api/v1/openapi.json\n", analyst,
		       member, member, csip_config_get(ctx->cfg, "server",
		       "listen"), csip_config_get(ctx->cfg, "server",
		       "listen"));
	}
	rc = CLI_OK;
out:
	json_decref(orgs);
	json_decref(sigs);
	if (analyst)
		sodium_memzero(analyst, strlen(analyst));
	if (member)
		sodium_memzero(member, strlen(member));
	g_free(analyst);
	g_free(member);
	return rc;
}

/* ---- config ---------------------------------------------------------- */

int
cmd_config(cli_ctx *ctx, int argc, char **argv)
{
	json_t *arr;
	int rc;

	if ((rc = cli_want_args(ctx, argc, argv, 0, "")) != 0)
		return rc;
	if (csip_config_load(ctx->config_path, &ctx->cfg) < 0)
		return cli_fail(ctx);
	arr = json_array();
	for (const csip_config_option *o = csip_config_options(); o->group;
	     o++)
		json_array_append_new(arr, json_pack("{ss ss ss ss}",
			"group", o->group, "key", o->key,
			"value", csip_config_get(ctx->cfg, o->group, o->key),
			"help", o->help));
	if (ctx->json) {
		cli_print_json(arr);
	} else {
		size_t i;
		json_t *e;

		printf("# configuration: %s\n", csip_config_source(ctx->cfg));
		json_array_foreach(arr, i, e) {
			const char *g = json_string_value(json_object_get(e,
								"group"));

			if (i == 0 || strcmp(g, json_string_value(
			    json_object_get(json_array_get(arr, i - 1),
					    "group"))) != 0)
				printf("%s[%s]\n", i ? "\n" : "", g);
			printf("# %s\n%s = %s\n",
			       json_string_value(json_object_get(e, "help")),
			       json_string_value(json_object_get(e, "key")),
			       json_string_value(json_object_get(e, "value")));
		}
	}
	json_decref(arr);
	return CLI_OK;
}

/* ---- audit ----------------------------------------------------------- */

int
cmd_audit_verify(cli_ctx *ctx, int argc, char **argv)
{
	int64_t rows = 0;
	int rc;

	if ((rc = cli_want_args(ctx, argc, argv, 0, "")) != 0)
		return rc;
	if ((rc = cli_open(ctx, 0)) != CLI_OK)
		return rc;
	rc = csip_audit_verify(ctx->hub, &rows);
	if (ctx->json) {
		json_t *o = json_pack("{sb sI so?}", "intact", rc == CSIP_OK,
			"rows", (json_int_t)rows, "problem", rc == CSIP_OK
			? NULL : json_string(csip_error_last()));

		cli_print_json(o);
		json_decref(o);
	}
	if (rc < 0)
		return cli_fail(ctx);
	if (!ctx->json)
		printf("audit log intact: %" PRId64 " rows\n", rows);
	return CLI_OK;
}

int
cmd_audit_list(cli_ctx *ctx, int argc, char **argv)
{
	static const char *const keys[] = { "id", "at", "actor", "action",
		"target", NULL };
	static const char *const heads[] = { "ID", "AT", "ACTOR", "ACTION",
		"TARGET" };
	json_t *rows;
	int rc;

	if ((rc = cli_want_args(ctx, argc, argv, 0, "")) != 0)
		return rc;
	if (cli_opts.limit < 0)
		return cli_usage(ctx, "--limit must be 0 or more");
	if ((rc = cli_open(ctx, 0)) != CLI_OK)
		return rc;
	if (csip_audit_list(ctx->hub, cli_opts.limit, &rows) < 0)
		return cli_fail(ctx);
	return cli_print_rows(ctx, rows, keys, heads);
}

/* ---- indicator ------------------------------------------------------- */

static json_t *
flags_json(unsigned f)
{
	static const struct { unsigned bit; const char *name; } names[] = {
		{ CSIP_IND_F_REFANGED, "refanged" },
		{ CSIP_IND_F_IDN, "idn" },
		{ CSIP_IND_F_PRIVATE, "private" },
		{ CSIP_IND_F_RESERVED, "reserved" },
		{ CSIP_IND_F_LOOPBACK, "loopback" },
		{ CSIP_IND_F_LINKLOCAL, "link-local" },
		{ CSIP_IND_F_PUBLIC_SUFFIX, "public-suffix" },
	};
	json_t *a = json_array();

	for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
		if (f & names[i].bit)
			json_array_append_new(a, json_string(names[i].name));
	return a;
}

int
cmd_indicator(cli_ctx *ctx, int argc, char **argv)
{
	csip_ind_type hint = CSIP_IND_UNKNOWN;
	int failed = 0;

	if (argc == 0)
		return cli_usage(ctx, "give at least one VALUE");
	if (cli_opts.type) {
		hint = csip_ind_type_from_name(cli_opts.type);
		if (hint == CSIP_IND_UNKNOWN)
			return cli_usage(ctx, "unknown type \"%s\"; the types "
				"are listed in `csip indicator --help`",
				cli_opts.type);
	}
	for (int i = 0; i < argc; i++) {
		csip_indicator *ind = NULL;
		json_t *o;
		char *def;

		if (csip_indicator_parse(argv[i], strlen(argv[i]), hint,
					 &ind) < 0) {
			cli_fail(ctx);
			failed = 1;
			continue;
		}
		def = csip_defang(ind->type, ind->value);
		o = json_pack("{ss ss ss ss so? so}",
			"input", argv[i],
			"type", csip_ind_type_name(ind->type),
			"value", ind->value,
			"defanged", def,
			"registrable", ind->registrable
				? json_string(ind->registrable) : NULL,
			"flags", flags_json(ind->flags));
		if (strcmp(ind->display, ind->value) != 0)
			json_object_set_new(o, "display",
					    json_string(ind->display));
		if (ctx->json) {
			cli_print_json(o);
		} else {
			json_t *fl = json_object_get(o, "flags");
			size_t k;
			json_t *e;

			printf("%-13s %s", csip_ind_type_name(ind->type),
			       ind->value);
			if (strcmp(ind->display, ind->value) != 0)
				printf("  (%s)", ind->display);
			if (ind->registrable)
				printf("  registrable=%s", ind->registrable);
			json_array_foreach(fl, k, e)
				printf("  %s", json_string_value(e));
			putchar('\n');
		}
		json_decref(o);
		g_free(def);
		csip_indicator_free(ind);
	}
	return failed ? CLI_FAIL : CLI_OK;
}
