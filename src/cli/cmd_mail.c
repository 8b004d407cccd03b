/*
 * cmd_mail.c - `csip parse`, `csip ingest` (files, stdin, or as an MTA
 * delivery agent) and `csip report ...`.
 */
#include "cli.h"
#include "lib/anon.h"
#include "lib/extract.h"
#include "lib/indicator.h"
#include "lib/mail.h"
#include "lib/msgsrc.h"
#include "lib/org.h"
#include "lib/report.h"
#include "util/error.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* sysexits.h values, spelled out: the MTA reads them. */
enum {
	EX_DATAERR_ = 65,   /* not a mail: bounce */
	EX_NOUSER_ = 67,    /* unknown provider: bounce */
	EX_SOFTWARE_ = 70,
	EX_TEMPFAIL_ = 75   /* try again later: the MTA keeps the mail */
};

/* ---- parse ----------------------------------------------------------- */

typedef struct parse_ctx {
	cli_ctx *ctx;
	csip_anon_policy pol;
	int failed;
	int messages;
} parse_ctx;

static void
print_text(const char *label, const csip_mail *m)
{
	const csip_extract_set *set = csip_mail_indicators(m);

	printf("%s: %s\n", label, csip_mail_subject(m) ? csip_mail_subject(m)
	       : "(no subject)");
	for (size_t i = 0; i < csip_extract_set_count(set); i++) {
		const char *where;
		const csip_indicator *ind = csip_extract_set_get(set, i, &where,
								 NULL);

		printf("  %-13s %s  [%s]\n", csip_ind_type_name(ind->type),
		       ind->value, where);
	}
}

static int
parse_one(const char *label, const char *data, size_t len, int err, void *ud)
{
	parse_ctx *p = ud;
	csip_mail *m = NULL;
	char *out = NULL;
	size_t out_len = 0;
	json_t *removed = NULL;

	p->messages++;
	if (err < 0) {
		cli_fail(p->ctx);
		p->failed = 1;
		return CSIP_OK;
	}
	if (cli_opts.anonymised) {
		if (csip_anon_message(data, len, &p->pol, &out, &out_len,
				      &removed) < 0) {
			csip_error_prefix(csip_error_last_code(), "%s: ",
					  label);
			cli_fail(p->ctx);
			p->failed = 1;
			return CSIP_OK;
		}
		fwrite(out, 1, out_len, stdout);
		if (out_len && out[out_len - 1] != '\n')
			putchar('\n');
		g_free(out);
		json_decref(removed);
		return CSIP_OK;
	}
	if (csip_mail_parse(data, len, NULL, &m) < 0) {
		csip_error_prefix(csip_error_last_code(), "%s: ", label);
		cli_fail(p->ctx);
		p->failed = 1;
		return CSIP_OK;
	}
	if (p->ctx->json) {
		json_t *j = csip_mail_json(m);

		json_object_set_new(j, "source", json_string(label));
		cli_print_json(j);
		json_decref(j);
	} else {
		print_text(label, m);
	}
	csip_mail_free(m);
	return CSIP_OK;
}

/* Canonicalise --domain and --network values for the anonymiser. */
static int
canon_list(cli_ctx *ctx, char **in, int (*canon)(const char *, char **),
	   char ***out)
{
	GPtrArray *a = g_ptr_array_new_with_free_func(g_free);

	for (; in && *in; in++) {
		char *c = NULL;

		if (canon(*in, &c) < 0) {
			g_ptr_array_free(a, TRUE);
			return cli_usage(ctx, "%s", csip_error_last());
		}
		g_ptr_array_add(a, c);
	}
	g_ptr_array_set_free_func(a, NULL);
	g_ptr_array_add(a, NULL);
	*out = (char **)g_ptr_array_free(a, FALSE);
	return CLI_OK;
}

int
cmd_parse(cli_ctx *ctx, int argc, char **argv)
{
	parse_ctx p = { .ctx = ctx };
	int rc = CLI_OK;

	if (argc == 0)
		return cli_usage(ctx, "give at least one FILE (or - for "
				 "standard input)");
	if (!cli_opts.anonymised && (cli_opts.domains || cli_opts.networks))
		return cli_usage(ctx, "--domain and --network go with "
				 "--anonymised");
	if ((rc = canon_list(ctx, cli_opts.domains, csip_domain_canonical,
			     &p.pol.domains)) != CLI_OK ||
	    (rc = canon_list(ctx, cli_opts.networks, csip_cidr_canonical,
			     &p.pol.networks)) != CLI_OK)
		goto out;
	for (int i = 0; i < argc; i++) {
		if (csip_msgsrc_walk(argv[i], parse_one, &p) < 0) {
			cli_fail(ctx);
			p.failed = 1;
		}
	}
	rc = p.failed ? CLI_FAIL : CLI_OK;
out:
	g_strfreev(p.pol.domains);
	g_strfreev(p.pol.networks);
	return rc;
}

/* ---- ingest ---------------------------------------------------------- */

typedef struct ingest_ctx {
	cli_ctx *ctx;
	csip_report_in in;
	int tty;
	unsigned long seen, stored, dups, copies, rejected;
	unsigned long long bytes;
	GPtrArray *rejects;   /* "label: reason" */
	int fatal;            /* storage failed: stop the batch */
} ingest_ctx;

static void
progress(ingest_ctx *g, int final)
{
	if (!g->tty)
		return;
	fprintf(stderr, "\r%lu messages, %.1f MB: %lu stored, %lu duplicate, "
		"%lu campaign copies, %lu rejected%s", g->seen,
		(double)g->bytes / 1e6, g->stored, g->dups, g->copies,
		g->rejected, final ? "\n" : "");
	fflush(stderr);
}

static int
ingest_one(const char *label, const char *data, size_t len, int err,
	   void *ud)
{
	ingest_ctx *g = ud;
	csip_ingest_result res;
	int rc;

	g->seen++;
	g->bytes += len;
	if (err < 0) {
		g->rejected++;
		g_ptr_array_add(g->rejects, g_strdup(csip_error_last()));
		goto out;
	}
	rc = csip_report_ingest_mail(g->ctx->hub, g->ctx->actor, &g->in, data,
				     len, &res);
	if (rc == CSIP_EINVAL || rc == CSIP_ETOOBIG) {
		g->rejected++;
		g_ptr_array_add(g->rejects, g_strdup_printf("%s: %s", label,
			csip_error_last()));
	} else if (rc < 0) {
		/* The database, not the message: stop, report what is
		 * stored so far. */
		csip_error_prefix(rc, "%s: ", label);
		g->fatal = rc;
		return rc;
	} else if (res.outcome == CSIP_INGEST_DUPLICATE) {
		g->dups++;
	} else if (res.outcome == CSIP_INGEST_CAMPAIGN) {
		g->copies++;
	} else {
		g->stored++;
	}
out:
	if (g->tty && (g->seen % 16 == 0))
		progress(g, 0);
	return CSIP_OK;
}

static int
ingest_mda(cli_ctx *ctx)
{
	GString *buf = g_string_new(NULL);
	csip_report_in in = { .permission = cli_opts.permission,
		.attribution = cli_opts.attribution, .tlp = cli_opts.tlp,
		.source = "mda" };
	csip_ingest_result res;
	csip_mail *m = NULL;
	char *org = NULL, chunk[65536];
	const char *sender = cli_opts.sender;
	size_t n;
	int rc, code = EX_TEMPFAIL_;

	while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0) {
		if (buf->len + n > CSIP_MSGSRC_MAX) {
			fprintf(stderr, "csip ingest: message larger than %u "
				"bytes\n", CSIP_MSGSRC_MAX);
			code = EX_DATAERR_;
			goto out;
		}
		g_string_append_len(buf, chunk, n);
	}
	if (ferror(stdin)) {
		fprintf(stderr, "csip ingest: reading stdin: %s\n",
			g_strerror(errno));
		goto out;
	}
	if (cli_open(ctx, 0) != CLI_OK)
		goto out;  /* tempfail: a missing database may come back */
	/* The provider: the envelope sender, else whoever forwarded the
	 * attack mail, else the message's own From. */
	if (sender == NULL || *sender == '\0') {
		if (csip_mail_parse(buf->str, buf->len, NULL, &m) < 0) {
			cli_fail(ctx);
			code = EX_DATAERR_;
			goto out;
		}
		sender = csip_mail_forwarder_address(m);
		if (sender == NULL)
			sender = csip_mail_from_address(m);
	}
	if (cli_opts.org) {
		org = g_strdup(cli_opts.org);
	} else if ((rc = csip_report_org_for_address(ctx->hub, sender, &org))
		   < 0) {
		cli_fail(ctx);
		code = rc == CSIP_ENOTFOUND || rc == CSIP_EINVAL ? EX_NOUSER_
			: EX_TEMPFAIL_;
		goto out;
	}
	in.org = org;
	rc = csip_report_ingest_mail(ctx->hub, ctx->actor, &in, buf->str,
				     buf->len, &res);
	if (rc < 0) {
		cli_fail(ctx);
		code = rc == CSIP_EINVAL || rc == CSIP_ETOOBIG ? EX_DATAERR_
			: EX_TEMPFAIL_;
		goto out;
	}
	code = 0;
out:
	csip_mail_free(m);
	g_free(org);
	g_string_free(buf, TRUE);
	return code;
}

int
cmd_ingest(cli_ctx *ctx, int argc, char **argv)
{
	ingest_ctx g = { .ctx = ctx };
	int rc = CLI_OK;

	if (cli_opts.mda) {
		if (argc > 0)
			return cli_usage(ctx, "--mda reads one message from "
					 "standard input; no PATH");
		return ingest_mda(ctx);
	}
	if (argc == 0)
		return cli_usage(ctx, "give at least one PATH (.eml, mbox, "
				 "Maildir, or - for standard input)");
	if (cli_opts.org == NULL)
		return cli_usage(ctx, "--org ORG is required: the organisation "
				 "that provided the messages");
	g.in.org = cli_opts.org;
	g.in.permission = cli_opts.permission;
	g.in.attribution = cli_opts.attribution;
	g.in.tlp = cli_opts.tlp;
	g.in.source = "cli";
	if (csip_report_check_in(&g.in) < 0)
		return cli_usage(ctx, "%s", csip_error_last());
	if ((rc = cli_open(ctx, 0)) != CLI_OK)
		return rc;
	{
		int64_t oid;

		if (csip_org_id(ctx->hub, cli_opts.org, &oid) < 0)
			return cli_fail(ctx);
	}
	g.tty = isatty(STDERR_FILENO);
	g.rejects = g_ptr_array_new_with_free_func(g_free);
	for (int i = 0; i < argc && !g.fatal; i++) {
		rc = csip_msgsrc_walk(argv[i], ingest_one, &g);
		if (rc < 0 && !g.fatal) {
			/* The path itself: count it as rejected. */
			g.rejected++;
			g_ptr_array_add(g.rejects, g_strdup(
				csip_error_last()));
		}
	}
	progress(&g, 1);
	if (g.fatal) {
		cli_fail(ctx);
		fprintf(stderr, "csip ingest: stopped; %lu stored before the "
			"failure are kept, the rest was not stored\n",
			g.stored);
	}
	if (ctx->json) {
		json_t *rej = json_array();

		for (guint i = 0; i < g.rejects->len; i++)
			json_array_append_new(rej, json_string(
				g.rejects->pdata[i]));
		json_t *o = json_pack("{sI sI sI sI sI so}",
			"messages", (json_int_t)g.seen,
			"stored", (json_int_t)g.stored,
			"duplicates", (json_int_t)g.dups,
			"campaign_copies", (json_int_t)g.copies,
			"rejected", (json_int_t)g.rejected,
			"rejects", rej);

		cli_print_json(o);
		json_decref(o);
	} else {
		printf("%lu messages: %lu stored, %lu duplicate, %lu campaign "
		       "copies, %lu rejected\n", g.seen, g.stored, g.dups,
		       g.copies, g.rejected);
		for (guint i = 0; i < g.rejects->len; i++)
			printf("  rejected %s\n",
			       (char *)g.rejects->pdata[i]);
	}
	rc = g.fatal || g.rejected ? CLI_FAIL : CLI_OK;
	g_ptr_array_free(g.rejects, TRUE);
	return rc;
}

/* ---- report ---------------------------------------------------------- */

int
cmd_report_list(cli_ctx *ctx, int argc, char **argv)
{
	static const char *const keys[] = { "id", "org", "received_at",
		"permission", "tlp", "copies", "indicators", "shareable",
		"subject", NULL };
	static const char *const heads[] = { "ID", "ORG", "RECEIVED",
		"PERMISSION", "TLP", "COPIES", "INDICATORS", "SHAREABLE",
		"SUBJECT" };
	json_t *rows;
	int rc;

	if ((rc = cli_want_args(ctx, argc, argv, 0, "")) != 0)
		return rc;
	if ((rc = cli_open(ctx, 0)) != CLI_OK)
		return rc;
	if (csip_report_list(ctx->hub, cli_opts.org, cli_opts.limit, &rows) < 0)
		return cli_fail(ctx);
	return cli_print_rows(ctx, rows, keys, heads);
}

int
cmd_report_show(cli_ctx *ctx, int argc, char **argv)
{
	char *anon = NULL;
	long long id;
	size_t len;
	json_t *o;
	int rc;

	if ((rc = cli_want_id(ctx, argc, argv, "report", &id)) != CLI_OK)
		return rc;
	if ((rc = cli_open(ctx, 0)) != CLI_OK)
		return rc;
	if (cli_opts.anonymised) {
		if (csip_report_anonymised(ctx->hub, id, &anon, &len) < 0)
			return cli_fail(ctx);
		fwrite(anon, 1, len, stdout);
		g_free(anon);
		return CLI_OK;
	}
	if (csip_report_get(ctx->hub, id, &o) < 0)
		return cli_fail(ctx);
	if (!ctx->json) {
		json_t *obs = json_incref(json_object_get(o, "observations"));
		static const char *const keys[] = { "type", "value", "found_in",
			"count", NULL };
		static const char *const heads[] = { "TYPE", "VALUE", "FOUND IN",
			"COUNT" };

		json_object_del(o, "observations");
		cli_print_object(o);
		putchar('\n');
		cli_print_table(obs, keys, heads);
		json_decref(obs);
		json_decref(o);
		return CLI_OK;
	}
	return cli_print_one(ctx, o);
}
