/*
 * test_export.c - blocklists: the exact output of every format for a small
 * fixture, who gets what (the policy, through csip_item_list), the
 * provider never named, withdrawn and expired items and false positives
 * dropping out, one line per value, stable unique sids, and hostile values
 * escaped or left out.
 */
#include "lib/export.h"
#include "lib/feedback.h"
#include "lib/item.h"
#include "lib/org.h"
#include "testutil.h"
#include "util/error.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

typedef struct world {
	csip_test_hub *t;
	int64_t hub, prov, in_sig, in_sig2, other, no_nda, partner;
	int64_t a, b, c;      /* sig/energy, partners, withdrawn */
} world;

static int64_t
org(world *w, const char *name, const char *display, const char *role,
    const char *nda, char **sigs)
{
	csip_org_spec spec = { .name = name, .display_name = display,
		.role = role, .nda_date = nda, .sigs = sigs };
	int64_t id;

	csip_assert_ok(csip_org_add(w->t->hub, "test", &spec, &id));
	return id;
}

static void
sql(world *w, const char *q)
{
	csip_assert_ok(csip_store_exec(csip_hub_store(w->t->hub), q));
}

static void
approve_all(world *w, int64_t id)
{
	csip_assert_ok(csip_item_submit(w->t->hub, "test", id));
	csip_assert_ok(csip_item_decide(w->t->hub, "test", id, w->prov,
					"approve", NULL));
}

static int64_t
publish(world *w, const char *permission, const char *audience,
	const char *tlp, const csip_item_ind *inds, size_t n,
	const char *published_at)
{
	char *energy[] = { "energy", NULL };
	int64_t rep = csip_test_report_add(w->t, "kanto-power", permission,
					   "none", NULL);
	csip_item_spec spec = { .title = "Phishing wave", .audience = audience,
		.tlp = tlp, .sigs = strcmp(audience, "sig") == 0 ? energy
		: NULL, .report_ids = &rep, .n_reports = 1,
		.indicators = inds, .n_indicators = n };
	int64_t id = 0;
	char *q;

	csip_assert_ok(csip_item_create(w->t->hub, "test", &spec, &id));
	approve_all(w, id);
	csip_assert_ok(csip_item_publish(w->t->hub, "test", id, NULL));
	/* Fixed times, so that outputs can be compared byte for byte. */
	q = g_strdup_printf("UPDATE item SET published_at = '%s' WHERE id = "
			    "%" G_GINT64_FORMAT, published_at, id);
	sql(w, q);
	g_free(q);
	return id;
}

static const csip_item_ind a_inds[] = {
	{ "domain", "evil-cdn.example", "link" },
	{ "hostname", "mail.bad-host.example", NULL },
	{ "ipv4", "198.51.100.7", NULL },
	{ "cidr6", "2001:db8:66::/48", NULL },
	{ "url", "http://evil-cdn.example/x?a=1", NULL },
	{ "email", "billing@evil-cdn.example", "sender" },
	{ "sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
		    "7852b855", NULL },
};

static const csip_item_ind b_inds[] = {
	{ "domain", "evil-cdn.example", NULL },
	{ "ipv6", "2001:db8::7", NULL },
	{ "url", "https://evil-cdn.example/x?a=1", NULL },
	{ "md5", "d41d8cd98f00b204e9800998ecf8427e", NULL },
};

static const csip_item_ind c_inds[] = {
	{ "domain", "withdrawn-only.example", NULL },
};

static void
world_init(world *w)
{
	char *energy[] = { "energy", NULL }, *finance[] = { "finance", NULL };
	int64_t sig;

	memset(w, 0, sizeof *w);
	w->t = csip_test_hub_new();
	csip_test_hub_set(w->t, "export", "validity_days", "0");
	csip_assert_ok(csip_sig_add(w->t->hub, "test", "energy", NULL, &sig));
	csip_assert_ok(csip_sig_add(w->t->hub, "test", "finance", NULL, &sig));
	w->hub = org(w, "ipa", NULL, "hub", NULL, NULL);
	w->prov = org(w, "kanto-power", "関東電力", "participant",
		      "2024-04-01", energy);
	w->in_sig = org(w, "tohoku-power", NULL, "participant", "2024-04-01",
			energy);
	w->in_sig2 = org(w, "chubu-gas", NULL, "participant", "2024-04-01",
			 energy);
	w->other = org(w, "mizuho-bank", NULL, "participant", "2024-04-01",
		       finance);
	w->no_nda = org(w, "new-member", NULL, "participant", NULL, energy);
	w->partner = org(w, "npa", NULL, "partner", NULL, NULL);
	w->a = publish(w, "sig", "sig", "amber", a_inds,
		       G_N_ELEMENTS(a_inds), "2026-01-10T09:00:00Z");
	w->b = publish(w, "partners", "partners", "green", b_inds,
		       G_N_ELEMENTS(b_inds), "2026-01-12T10:30:00Z");
	w->c = publish(w, "partners", "partners", "clear", c_inds,
		       G_N_ELEMENTS(c_inds), "2026-01-13T00:00:00Z");
	csip_assert_ok(csip_item_withdraw(w->t->hub, "test", w->c));
}

static int
collect(void *ud, const char *data, size_t len)
{
	g_string_append_len(ud, data, (gssize)len);
	return CSIP_OK;
}

/* The export of FORMAT for organisation ORG_ID; aborts on an error. */
static char *
export_as(world *w, int64_t org_id, const char *format, const char *type,
	  const char *since)
{
	csip_export_opts o = { .format = format, .type = type,
			       .since = since };
	GString *s = g_string_new(NULL);
	csip_reader r;

	csip_assert_ok(csip_reader_load(csip_hub_store(w->t->hub), org_id,
					&r));
	csip_assert_ok(csip_export_write(w->t->hub, &r, &o, collect, s));
	csip_reader_clear(&r);
	if (g_getenv("EXPORT_DUMP"))
		g_printerr("---- %s as %" G_GINT64_FORMAT "\n%s", format,
			   org_id, s->str);
	return g_string_free(s, FALSE);
}

static void
feedback(world *w, int64_t org_id, int64_t item, const char *type,
	 const char *value)
{
	csip_feedback_in in = { .kind = "false_positive",
		.indicator_type = type, .indicator_value = value };
	csip_reader r;
	int64_t id;

	csip_assert_ok(csip_reader_load(csip_hub_store(w->t->hub), org_id,
					&r));
	csip_assert_ok(csip_feedback_add(w->t->hub, "test", &r, 0, item, &in,
					 &id));
	csip_reader_clear(&r);
}

/* ---- the formats, exactly -------------------------------------------- */

/* As the hub: items 1 (sig energy, amber) and 2 (partners, green); item 3
 * is withdrawn.  evil-cdn.example is in both and goes out once, from item
 * 1; Zeek sees both URLs as one (it matches URLs without the scheme). */
static const char expect_suricata[] =
	"# csip: Suricata 7 rules for the indicators this reader receives; "
	"sids 9000000-25777215\n"
	"alert ip $HOME_NET any <> 2001:db8:66::/48 any (msg:\"csip item 1 "
	"TLP:AMBER cidr6 2001:db8:66::/48\"; sid:17454247; rev:1;)\n"
	"alert dns $HOME_NET any -> any any (msg:\"csip item 1 TLP:AMBER "
	"dns.query evil-cdn.example\"; dns.query; dotprefix; "
	"content:\".evil-cdn.example\"; nocase; endswith; sid:19750637; "
	"rev:1;)\n"
	"alert tls $HOME_NET any -> any any (msg:\"csip item 1 TLP:AMBER "
	"tls.sni evil-cdn.example\"; tls.sni; dotprefix; "
	"content:\".evil-cdn.example\"; nocase; endswith; sid:25306101; "
	"rev:1;)\n"
	"alert http $HOME_NET any -> any any (msg:\"csip item 1 TLP:AMBER "
	"http.host evil-cdn.example\"; http.host; dotprefix; "
	"content:\".evil-cdn.example\"; endswith; sid:20141766; rev:1;)\n"
	"alert dns $HOME_NET any -> any any (msg:\"csip item 1 TLP:AMBER "
	"dns.query mail.bad-host.example\"; dns.query; dotprefix; "
	"content:\".mail.bad-host.example\"; nocase; endswith; sid:16200730; "
	"rev:1;)\n"
	"alert tls $HOME_NET any -> any any (msg:\"csip item 1 TLP:AMBER "
	"tls.sni mail.bad-host.example\"; tls.sni; dotprefix; "
	"content:\".mail.bad-host.example\"; nocase; endswith; sid:24979067; "
	"rev:1;)\n"
	"alert http $HOME_NET any -> any any (msg:\"csip item 1 TLP:AMBER "
	"http.host mail.bad-host.example\"; http.host; dotprefix; "
	"content:\".mail.bad-host.example\"; endswith; sid:11133371; "
	"rev:1;)\n"
	"alert ip $HOME_NET any <> 198.51.100.7 any (msg:\"csip item 1 "
	"TLP:AMBER ipv4 198.51.100.7\"; sid:23941061; rev:1;)\n"
	"alert ip $HOME_NET any <> 2001:db8::7 any (msg:\"csip item 2 "
	"TLP:GREEN ipv6 2001:db8::7\"; sid:15468465; rev:1;)\n";

static const char expect_snort[] =
	"# csip: Snort 3 rules for the indicators this reader receives; sids "
	"9000000-25777215\n"
	"alert ip $HOME_NET any <> 2001:db8:66::/48 any ( msg:\"csip item 1 "
	"TLP:AMBER cidr6 2001:db8:66::/48\"; sid:17454247; rev:1; )\n"
	"alert udp $HOME_NET any -> any 53 ( msg:\"csip item 1 TLP:AMBER dns "
	"evil-cdn.example\"; content:\"|08|evil-cdn|07|example|00|\", "
	"nocase; sid:19750637; rev:1; )\n"
	"alert tcp $HOME_NET any -> any any ( msg:\"csip item 1 TLP:AMBER "
	"tls.sni evil-cdn.example\"; flow:to_server,established; "
	"ssl_state:client_hello; content:\"evil-cdn.example\", nocase; "
	"sid:25306101; rev:1; )\n"
	"alert http $HOME_NET any -> any any ( msg:\"csip item 1 TLP:AMBER "
	"http.host evil-cdn.example\"; http_header:field host; "
	"content:\"evil-cdn.example\", nocase; sid:20141766; rev:1; )\n"
	"alert udp $HOME_NET any -> any 53 ( msg:\"csip item 1 TLP:AMBER dns "
	"mail.bad-host.example\"; "
	"content:\"|04|mail|08|bad-host|07|example|00|\", nocase; "
	"sid:16200730; rev:1; )\n"
	"alert tcp $HOME_NET any -> any any ( msg:\"csip item 1 TLP:AMBER "
	"tls.sni mail.bad-host.example\"; flow:to_server,established; "
	"ssl_state:client_hello; content:\"mail.bad-host.example\", nocase; "
	"sid:24979067; rev:1; )\n"
	"alert http $HOME_NET any -> any any ( msg:\"csip item 1 TLP:AMBER "
	"http.host mail.bad-host.example\"; http_header:field host; "
	"content:\"mail.bad-host.example\", nocase; sid:11133371; rev:1; )\n"
	"alert ip $HOME_NET any <> 198.51.100.7 any ( msg:\"csip item 1 "
	"TLP:AMBER ipv4 198.51.100.7\"; sid:23941061; rev:1; )\n"
	"alert ip $HOME_NET any <> 2001:db8::7 any ( msg:\"csip item 2 "
	"TLP:GREEN ipv6 2001:db8::7\"; sid:15468465; rev:1; )\n";

static const char expect_zeek[] =
	"#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\n"
	"2001:db8:66::/48\tIntel::SUBNET\tcsip\titem 1 TLP:AMBER\n"
	"evil-cdn.example\tIntel::DOMAIN\tcsip\titem 1 TLP:AMBER\n"
	"billing@evil-cdn.example\tIntel::EMAIL\tcsip\titem 1 TLP:AMBER\n"
	"mail.bad-host.example\tIntel::DOMAIN\tcsip\titem 1 TLP:AMBER\n"
	"198.51.100.7\tIntel::ADDR\tcsip\titem 1 TLP:AMBER\n"
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\tIn"
	"tel::FILE_HASH\tcsip\titem 1 TLP:AMBER\n"
	"evil-cdn.example/x?a=1\tIntel::URL\tcsip\titem 1 TLP:AMBER\n"
	"2001:db8::7\tIntel::ADDR\tcsip\titem 2 TLP:GREEN\n"
	"d41d8cd98f00b204e9800998ecf8427e\tIntel::FILE_HASH\tcsip\titem 2 "
	"TLP:GREEN\n";

static const char expect_rpz[] =
	"; csip response-policy zone: NXDOMAIN for the listed names and "
	"everything below them.\n"
	"$TTL 300\n"
	"@ IN SOA localhost. hostmaster.localhost. ( 1768213800 3600 600 "
	"86400 300 )\n"
	"@ IN NS localhost.\n"
	"evil-cdn.example CNAME .\n"
	"*.evil-cdn.example CNAME .\n"
	"mail.bad-host.example CNAME .\n"
	"*.mail.bad-host.example CNAME .\n";

static const char expect_csv[] =
	"type,value,item,tlp,published_at\r\n"
	"cidr6,2001:db8:66::/48,1,AMBER,2026-01-10T09:00:00Z\r\n"
	"domain,evil-cdn.example,1,AMBER,2026-01-10T09:00:00Z\r\n"
	"email,billing@evil-cdn.example,1,AMBER,2026-01-10T09:00:00Z\r\n"
	"hostname,mail.bad-host.example,1,AMBER,2026-01-10T09:00:00Z\r\n"
	"ipv4,198.51.100.7,1,AMBER,2026-01-10T09:00:00Z\r\n"
	"sha256,e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b"
	"855,1,AMBER,2026-01-10T09:00:00Z\r\n"
	"url,http://evil-cdn.example/x?a=1,1,AMBER,2026-01-10T09:00:00Z\r\n"
	"domain,evil-cdn.example,2,GREEN,2026-01-12T10:30:00Z\r\n"
	"ipv6,2001:db8::7,2,GREEN,2026-01-12T10:30:00Z\r\n"
	"md5,d41d8cd98f00b204e9800998ecf8427e,2,GREEN,2026-01-12T10:30:00Z\r\n"
	"url,https://evil-cdn.example/x?a=1,2,GREEN,2026-01-12T10:30:00Z\r\n";

static const char expect_text[] =
	"2001:db8:66::/48\n"
	"evil-cdn.example\n"
	"billing@evil-cdn.example\n"
	"mail.bad-host.example\n"
	"198.51.100.7\n"
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
	"http://evil-cdn.example/x?a=1\n"
	"2001:db8::7\n"
	"d41d8cd98f00b204e9800998ecf8427e\n"
	"https://evil-cdn.example/x?a=1\n";

static void
test_formats(void)
{
	static const struct { const char *format, *want; } cases[] = {
		{ "suricata", expect_suricata }, { "snort", expect_snort },
		{ "zeek", expect_zeek }, { "rpz", expect_rpz },
		{ "csv", expect_csv }, { "text", expect_text },
	};
	world w;

	world_init(&w);
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *out = export_as(&w, w.hub, cases[i].format, NULL, NULL);

		g_assert_cmpstr(out, ==, cases[i].want);
		g_assert_cmpstr(csip_export_media_type(cases[i].format), !=,
				NULL);
		g_free(out);
	}
	g_assert_cmpstr(csip_export_media_type("rpz"), ==, "text/dns");
	g_assert_true(g_str_has_prefix(csip_export_media_type("csv"),
				       "text/csv"));
	csip_test_hub_free(w.t);
}

static void
test_text_type(void)
{
	world w;
	char *out;

	world_init(&w);
	out = export_as(&w, w.hub, "text", "url", NULL);
	g_assert_cmpstr(out, ==, "http://evil-cdn.example/x?a=1\n"
			"https://evil-cdn.example/x?a=1\n");
	g_free(out);
	/* Names are filed as domain or hostname: each type is its own. */
	out = export_as(&w, w.hub, "text", "hostname", NULL);
	g_assert_cmpstr(out, ==, "mail.bad-host.example\n");
	g_free(out);
	out = export_as(&w, w.hub, "text", "ssdeep", NULL);
	g_assert_cmpstr(out, ==, "");
	g_free(out);
	csip_test_hub_free(w.t);
}

/* ---- who gets what --------------------------------------------------- */

static const char partners_csv[] =
	"type,value,item,tlp,published_at\r\n"
	"domain,evil-cdn.example,2,GREEN,2026-01-12T10:30:00Z\r\n"
	"ipv6,2001:db8::7,2,GREEN,2026-01-12T10:30:00Z\r\n"
	"md5,d41d8cd98f00b204e9800998ecf8427e,2,GREEN,2026-01-12T10:30:00Z\r\n"
	"url,https://evil-cdn.example/x?a=1,2,GREEN,2026-01-12T10:30:00Z\r\n";

static void
test_policy(void)
{
	world w;
	const char *const *f;
	char *out;

	world_init(&w);
	/* A partner and a participant outside the SIG get item 2 only, and
	 * evil-cdn.example from it: the copy in item 1, which they may not
	 * read, neither suppresses nor names it. */
	out = export_as(&w, w.partner, "csv", NULL, NULL);
	g_assert_cmpstr(out, ==, partners_csv);
	g_free(out);
	out = export_as(&w, w.other, "csv", NULL, NULL);
	g_assert_cmpstr(out, ==, partners_csv);
	g_free(out);
	/* In the SIG: what the hub gets. */
	out = export_as(&w, w.in_sig, "suricata", NULL, NULL);
	g_assert_cmpstr(out, ==, expect_suricata);
	g_free(out);
	for (f = csip_export_formats(); *f; f++) {
		const int64_t readers[] = { w.hub, w.prov, w.in_sig, w.other,
					    w.no_nda, w.partner };

		for (size_t i = 0; i < G_N_ELEMENTS(readers); i++) {
			out = export_as(&w, readers[i], *f, NULL, NULL);
			/* The provider, its display name, the withdrawn
			 * item: never. */
			g_assert_null(strstr(out, "kanto"));
			g_assert_null(strstr(out, "関東電力"));
			g_assert_null(strstr(out, "withdrawn-only"));
			if (readers[i] == w.no_nda || readers[i] == w.partner
			    || readers[i] == w.other)
				g_assert_null(strstr(out, "198.51.100.7"));
			/* Outside every audience: nothing but the frame. */
			if (readers[i] == w.no_nda)
				g_assert_null(strstr(out, "example"));
			g_free(out);
		}
	}
	csip_test_hub_free(w.t);
}

/* ---- validity --------------------------------------------------------- */

static void
test_validity(void)
{
	world w;
	GDateTime *now = g_date_time_new_now_utc();
	GDateTime *old = g_date_time_add_days(now, -60);
	GDateTime *recent = g_date_time_add_days(now, -1);
	char *o = g_date_time_format(old, "%Y-%m-%dT%H:%M:%SZ");
	char *r = g_date_time_format(recent, "%Y-%m-%dT%H:%M:%SZ");
	char *q, *out;

	world_init(&w);
	q = g_strdup_printf("UPDATE item SET published_at = '%s' WHERE id = "
			    "%" G_GINT64_FORMAT, o, w.a);
	sql(&w, q);
	g_free(q);
	q = g_strdup_printf("UPDATE item SET published_at = '%s' WHERE id = "
			    "%" G_GINT64_FORMAT, r, w.b);
	sql(&w, q);
	g_free(q);
	/* 0: no limit. */
	out = export_as(&w, w.hub, "text", "ipv4", NULL);
	g_assert_cmpstr(out, ==, "198.51.100.7\n");
	g_free(out);
	/* 30 days: item 1 (60 days old) drops out, evil-cdn.example then
	 * comes from item 2. */
	csip_test_hub_set(w.t, "export", "validity_days", "30");
	out = export_as(&w, w.hub, "text", NULL, NULL);
	g_assert_cmpstr(out, ==, "evil-cdn.example\n2001:db8::7\n"
			"d41d8cd98f00b204e9800998ecf8427e\n"
			"https://evil-cdn.example/x?a=1\n");
	g_free(out);
	out = export_as(&w, w.hub, "rpz", NULL, NULL);
	g_assert_nonnull(strstr(out, "\nevil-cdn.example CNAME .\n"));
	g_assert_null(strstr(out, "mail.bad-host"));
	g_free(out);
	/* since narrows further, never widens. */
	out = export_as(&w, w.hub, "text", "ipv4", "2000-01-01");
	g_assert_cmpstr(out, ==, "");
	g_free(out);
	csip_test_hub_set(w.t, "export", "validity_days", "0");
	out = export_as(&w, w.hub, "text", "ipv4", r);
	g_assert_cmpstr(out, ==, "");
	g_free(out);
	out = export_as(&w, w.hub, "text", "ipv4", "2000-01-01");
	g_assert_cmpstr(out, ==, "198.51.100.7\n");
	g_free(out);
	g_free(o);
	g_free(r);
	g_date_time_unref(old);
	g_date_time_unref(recent);
	g_date_time_unref(now);
	csip_test_hub_free(w.t);
}

/* ---- false positives -------------------------------------------------- */

static void
test_false_positive(void)
{
	world w;
	char *out;

	world_init(&w);
	/* One organisation is not enough (threshold 2). */
	feedback(&w, w.other, w.b, "ipv6", "2001:db8::7");
	out = export_as(&w, w.partner, "text", "ipv6", NULL);
	g_assert_cmpstr(out, ==, "2001:db8::7\n");
	g_free(out);
	/* A second organisation: gone for every reader; the same
	 * organisation twice still counts once. */
	feedback(&w, w.other, w.b, "ipv6", "2001:db8::7");
	out = export_as(&w, w.partner, "text", "ipv6", NULL);
	g_assert_cmpstr(out, ==, "2001:db8::7\n");
	g_free(out);
	feedback(&w, w.partner, w.b, "ipv6", "2001:db8::7");
	out = export_as(&w, w.partner, "text", "ipv6", NULL);
	g_assert_cmpstr(out, ==, "");
	g_free(out);
	out = export_as(&w, w.hub, "csv", NULL, NULL);
	g_assert_null(strstr(out, "2001:db8::7,"));
	g_free(out);
	/* Per item: evil-cdn.example flagged in item 2 drops out of the
	 * partner's export, but not from item 1 for the hub. */
	feedback(&w, w.other, w.b, "domain", "evil-cdn.example");
	feedback(&w, w.partner, w.b, "domain", "evil-cdn.example");
	out = export_as(&w, w.partner, "text", "domain", NULL);
	g_assert_cmpstr(out, ==, "");
	g_free(out);
	out = export_as(&w, w.hub, "text", "domain", NULL);
	g_assert_cmpstr(out, ==, "evil-cdn.example\n");
	g_free(out);
	/* Feedback on the whole item (no indicator) counts for each of its
	 * indicators: item 1 leaves the hub's export entirely, and
	 * evil-cdn.example, flagged in item 2 too, with it. */
	feedback(&w, w.in_sig, w.a, NULL, NULL);
	feedback(&w, w.in_sig2, w.a, NULL, NULL);
	out = export_as(&w, w.hub, "text", NULL, NULL);
	g_assert_cmpstr(out, ==, "d41d8cd98f00b204e9800998ecf8427e\n"
			"https://evil-cdn.example/x?a=1\n");
	g_free(out);
	/* Threshold 0: false positives never remove anything. */
	csip_test_hub_set(w.t, "export", "false_positive_threshold", "0");
	out = export_as(&w, w.hub, "text", NULL, NULL);
	g_assert_cmpstr(out, ==, expect_text);
	g_free(out);
	csip_test_hub_free(w.t);
}

/* An item-level flag in item 1 must not hide item 2's copy of a value:
 * the value then goes out once, from item 2. */
static void
test_dedup_after_fp(void)
{
	world w;
	char *out;

	world_init(&w);
	feedback(&w, w.in_sig, w.a, NULL, NULL);
	feedback(&w, w.in_sig2, w.a, NULL, NULL);
	out = export_as(&w, w.hub, "zeek", NULL, NULL);
	g_assert_cmpstr(out, ==, "#fields\tindicator\tindicator_type\t"
		"meta.source\tmeta.desc\n"
		"evil-cdn.example\tIntel::DOMAIN\tcsip\titem 2 TLP:GREEN\n"
		"2001:db8::7\tIntel::ADDR\tcsip\titem 2 TLP:GREEN\n"
		"d41d8cd98f00b204e9800998ecf8427e\tIntel::FILE_HASH\tcsip\t"
		"item 2 TLP:GREEN\n"
		"evil-cdn.example/x?a=1\tIntel::URL\tcsip\titem 2 "
		"TLP:GREEN\n");
	g_free(out);
	csip_test_hub_free(w.t);
}

/* ---- sids ------------------------------------------------------------- */

static void
sids_of(const char *rules, GHashTable *seen)
{
	for (const char *p = rules; (p = strstr(p, "sid:")) != NULL; p++) {
		long v = strtol(p + 4, NULL, 10);

		g_assert_cmpint(v, >=, 9000000);
		g_assert_cmpint(v, <=, 25777215);
		g_assert_false(g_hash_table_contains(seen,
						     GINT_TO_POINTER(v)));
		g_hash_table_add(seen, GINT_TO_POINTER(v));
	}
}

static void
test_sids(void)
{
	static const csip_item_ind more[] = {
		{ "domain", "later.example", NULL },
		{ "ipv4", "203.0.113.9", NULL },
	};
	world w;
	GHashTable *seen = g_hash_table_new(NULL, NULL);
	char *one, *two, *three;

	world_init(&w);
	one = export_as(&w, w.hub, "suricata", NULL, NULL);
	two = export_as(&w, w.hub, "suricata", NULL, NULL);
	g_assert_cmpstr(one, ==, two);
	sids_of(one, seen);
	g_assert_cmpuint(g_hash_table_size(seen), ==, 9);
	/* A new item adds rules and leaves the others as they were. */
	publish(&w, "partners", "partners", "amber", more, G_N_ELEMENTS(more),
		"2026-01-14T00:00:00Z");
	three = export_as(&w, w.hub, "snort", NULL, NULL);
	g_hash_table_remove_all(seen);
	sids_of(three, seen);
	g_assert_cmpuint(g_hash_table_size(seen), ==, 13);
	g_assert_true(g_str_has_prefix(three, expect_snort));
	g_free(one);
	g_free(two);
	g_free(three);
	g_hash_table_unref(seen);
	csip_test_hub_free(w.t);
}

/* ---- hostile values --------------------------------------------------- */

static void
test_hostile(void)
{
	world w;
	char *q, *out;

	world_init(&w);
	/* Values that got past every parser, put straight in the table. */
	q = g_strdup_printf("UPDATE item_indicator SET value = "
		"'a\"b;c|d\\e:f.example' WHERE item_id = %" G_GINT64_FORMAT
		" AND type = 'hostname'", w.a);
	sql(&w, q);
	g_free(q);
	q = g_strdup_printf("INSERT INTO item_indicator (item_id, type, value) "
		"VALUES (%" G_GINT64_FORMAT ", 'filename', 'x,\"y\"\nz.exe'), "
		"(%" G_GINT64_FORMAT ", 'url', 'http://evil-cdn.example/a\tb')",
		w.a, w.a);
	sql(&w, q);
	g_free(q);

	out = export_as(&w, w.hub, "suricata", NULL, NULL);
	g_assert_nonnull(strstr(out, "msg:\"csip item 1 TLP:AMBER dns.query "
		"a?b?c?d?e:f.example\"; dns.query; dotprefix; "
		"content:\".a|22|b|3B|c|7C|d|5C|e|3A|f.example\"; nocase;"));
	g_assert_nonnull(strstr(out, "http.host; dotprefix; "
		"content:\".a|22|b|3B|c|7C|d|5C|e|3A|f.example\"; endswith;"));
	g_free(out);
	out = export_as(&w, w.hub, "snort", NULL, NULL);
	g_assert_nonnull(strstr(out, "content:\"|0B|a|22|b|3B|c|7C|d|5C|e|3A|f"
		"|07|example|00|\", nocase;"));
	g_free(out);
	/* Not a DNS name: left out of the zone, and counted. */
	out = export_as(&w, w.hub, "rpz", NULL, NULL);
	g_assert_null(strstr(out, "a\"b"));
	g_assert_true(g_str_has_suffix(out, "\n; 1 name(s) left out: not "
				       "valid in DNS\n"));
	g_free(out);
	/* CSV quotes (RFC 4180); a line list cannot hold a line break. */
	out = export_as(&w, w.hub, "csv", NULL, NULL);
	g_assert_nonnull(strstr(out, "\r\nfilename,\"x,\"\"y\"\"\nz.exe\","
				"1,AMBER,2026-01-10T09:00:00Z\r\n"));
	g_assert_nonnull(strstr(out, "\r\nhostname,\"a\"\"b;c|d\\e:"
				"f.example\",1,"));
	g_free(out);
	out = export_as(&w, w.hub, "text", NULL, NULL);
	g_assert_null(strstr(out, "z.exe"));
	g_assert_nonnull(strstr(out, "\na\"b;c|d\\e:f.example\n"));
	g_free(out);
	/* A tab would split a Zeek field. */
	out = export_as(&w, w.hub, "zeek", NULL, NULL);
	g_assert_null(strstr(out, "/a\tb"));
	g_assert_nonnull(strstr(out, "\na\"b;c|d\\e:f.example\tIntel::DOMAIN"));
	g_free(out);
	csip_test_hub_free(w.t);
}

/* ---- errors and streaming --------------------------------------------- */

static int
fail_writer(void *ud, const char *data, size_t len)
{
	(void)ud;
	(void)data;
	(void)len;
	return csip_error_set(CSIP_EIO, "disk full");
}

typedef struct chunks {
	size_t calls, max, total;
} chunks;

static int
count_writer(void *ud, const char *data, size_t len)
{
	chunks *c = ud;

	(void)data;
	c->calls++;
	c->total += len;
	if (len > c->max)
		c->max = len;
	return CSIP_OK;
}

static void
test_errors(void)
{
	static const csip_export_opts bad[] = {
		{ .format = "misp" },
		{ .format = NULL },
		{ .format = "csv", .type = "domain" },
		{ .format = "text", .type = "nosuch" },
		{ .format = "text", .since = "yesterday" },
		{ .format = "text", .since = "2025-13-01" },
	};
	csip_export_opts ok = { .format = "text" };
	world w;
	csip_reader r;
	GString *s = g_string_new(NULL);

	world_init(&w);
	csip_assert_ok(csip_reader_load(csip_hub_store(w.t->hub), w.hub, &r));
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_assert_cmpint(csip_export_write(w.t->hub, &r, &bad[i],
			collect, s), ==, CSIP_EINVAL);
		g_assert_cmpstr(csip_error_last(), !=, "");
	}
	g_assert_cmpuint(s->len, ==, 0);
	g_assert_cmpint(csip_export_write(w.t->hub, NULL, &ok, collect, s), ==,
			CSIP_EINVAL);
	/* The writer's error stops the export and comes back unchanged. */
	g_assert_cmpint(csip_export_write(w.t->hub, &r, &ok, fail_writer,
					  NULL), ==, CSIP_EIO);
	csip_test_hub_set(w.t, "export", "validity_days", "soon");
	g_assert_cmpint(csip_export_write(w.t->hub, &r, &ok, collect, s), ==,
			CSIP_EINVAL);
	g_assert_nonnull(strstr(csip_error_last(), "validity_days"));
	csip_reader_clear(&r);
	g_string_free(s, TRUE);
	csip_test_hub_free(w.t);
}

static void
test_streaming(void)
{
	csip_export_opts o = { .format = "text" };
	chunks c = { 0 };
	world w;
	csip_reader r;
	char *q;

	world_init(&w);
	/* 20,000 values in item 2 (straight into the table: the export is
	 * under test, not item creation). */
	q = g_strdup_printf("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
		"SELECT i + 1 FROM n WHERE i < 20000) INSERT INTO "
		"item_indicator (item_id, type, value) SELECT %" G_GINT64_FORMAT
		", 'domain', 'host-' || i || '.bulk.example' FROM n", w.b);
	sql(&w, q);
	g_free(q);
	csip_assert_ok(csip_reader_load(csip_hub_store(w.t->hub), w.partner,
					&r));
	csip_assert_ok(csip_export_write(w.t->hub, &r, &o, count_writer, &c));
	/* Written in pieces as it goes, never the whole at once. */
	g_assert_cmpuint(c.total, >, 20000 * 20);
	g_assert_cmpuint(c.calls, >, 5);
	g_assert_cmpuint(c.max, <, 2 * 65536);
	csip_reader_clear(&r);
	csip_test_hub_free(w.t);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/export/formats", test_formats);
	g_test_add_func("/export/text-type", test_text_type);
	g_test_add_func("/export/policy", test_policy);
	g_test_add_func("/export/validity", test_validity);
	g_test_add_func("/export/false-positive", test_false_positive);
	g_test_add_func("/export/dedup-after-fp", test_dedup_after_fp);
	g_test_add_func("/export/sids", test_sids);
	g_test_add_func("/export/hostile", test_hostile);
	g_test_add_func("/export/errors", test_errors);
	g_test_add_func("/export/streaming", test_streaming);
	return g_test_run();
}
