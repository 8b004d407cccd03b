/*
 * notify.c - the outbox and its delivery by webhook and mail (see
 * notify.h).
 *
 * Sending happens outside any transaction: a row is first claimed with a
 * lease (its next_at moved LEASE_SECONDS ahead, only if nobody moved it
 * first), then sent, then marked sent or rescheduled.  A worker that dies
 * in between leaves the row to be picked up again when the lease runs
 * out, so a notification may in rare cases arrive twice but is never
 * lost; two workers never send the same row at the same time.
 *
 * What goes out is rebuilt from the outbox payload alone (id, title, TLP,
 * URL), which csip_notify_queue_item wrote from the item: nothing about
 * the providers is ever read here.  Before a row about an item is sent,
 * the policy is asked again whether its organisation may read the item.
 */
#include "lib/notify.h"
#include "lib/policy.h"
#include "util/error.h"

#include <curl/curl.h>
#include <glib.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Longer than a send can take (the total curl timeout), so a lease only
 * runs out when its worker is gone. */
#define LEASE_SECONDS   300
#define CONNECT_TIMEOUT 5L
#define TOTAL_TIMEOUT   15L
#define BACKOFF_FIRST   30
#define BACKOFF_MAX     3600
#define DEFAULT_BATCH   100         /* a pass when MAX <= 0 */
/* Where an item lives under the hub's base URL. */
#define ITEM_PATH       "/api/v1/items/"

/* ---- libcurl ---------------------------------------------------------- */

/* curl_global_init is not thread-safe and must run once per process; the
 * notifier thread and the CLI both come through here first. */
static gpointer
curl_init_once(gpointer unused)
{
	(void)unused;
	return GINT_TO_POINTER(curl_global_init(CURL_GLOBAL_DEFAULT) ==
			       CURLE_OK ? 1 : -1);
}

static int
curl_ready(void)
{
	static GOnce once = G_ONCE_INIT;

	if (GPOINTER_TO_INT(g_once(&once, curl_init_once, NULL)) != 1)
		return csip_error_set(CSIP_ERR, "libcurl could not be "
			"initialised: notifications cannot be sent");
	return CSIP_OK;
}

/* ---- time ------------------------------------------------------------- */

/* ISO 8601 UTC with seconds, SECONDS from now, in the form of
 * csip_store_now() so it compares as a string with stored times. */
static void
time_in(int64_t seconds, char buf[static 21])
{
	GDateTime *t = g_date_time_new_now_utc();
	GDateTime *l = g_date_time_add_seconds(t, (gdouble)seconds);
	char *s = g_date_time_format(l, "%Y-%m-%dT%H:%M:%SZ");

	g_strlcpy(buf, s, 21);
	g_free(s);
	g_date_time_unref(l);
	g_date_time_unref(t);
}

/* The wait after ATTEMPTS failed attempts: 30 s, 1 min, 2 min, ... 1 h. */
static int64_t
backoff(int64_t attempts)
{
	int64_t d = BACKOFF_FIRST;

	for (int64_t i = 1; i < attempts && d < BACKOFF_MAX; i++)
		d *= 2;
	return MIN(d, BACKOFF_MAX);
}

/* ---- queueing --------------------------------------------------------- */

/* The hub's base URL without a trailing slash (g_free). */
static char *
base_url(csip_config *cfg)
{
	const char *url = csip_config_get(cfg, "server", "url");
	char *b;

	if (url && *url)
		b = g_strdup(url);
	else
		b = g_strconcat("http://", csip_config_get(cfg, "server",
			"listen"), NULL);
	while (*b && b[strlen(b) - 1] == '/')
		b[strlen(b) - 1] = '\0';
	return b;
}

/* The payload of ITEM_ID: only what any recipient may read. */
static int
item_payload(csip_hub *h, int64_t item_id, char **out)
{
	csip_stmt *st = NULL;
	json_t *p = NULL;
	char id[24], *base = NULL, *url = NULL;
	int rc;

	*out = NULL;
	g_snprintf(id, sizeof id, "%" PRId64, item_id);
	rc = csip_store_prepare_bind(csip_hub_store(h), &st, "SELECT title, "
		"tlp FROM item WHERE id = ?", id, NULL);
	if (rc < 0 || (rc = csip_stmt_step(st)) < 0)
		goto out;
	if (rc == CSIP_DONE) {
		rc = csip_error_set(CSIP_ENOTFOUND, "item %s does not exist: "
			"nothing to notify", id);
		goto out;
	}
	base = base_url(csip_hub_config(h));
	url = g_strconcat(base, ITEM_PATH, id, NULL);
	p = json_pack("{sI ss ss ss}", "id", (json_int_t)item_id,
		"title", csip_stmt_text(st, 0), "tlp", csip_stmt_text(st, 1),
		"url", url);
	*out = p ? json_dumps(p, JSON_COMPACT) : NULL;
	if (*out == NULL) {
		rc = csip_error_set(CSIP_EINVAL, "item %s: its title is not "
			"valid UTF-8 and cannot be sent", id);
		goto out;
	}
	rc = CSIP_OK;
out:
	csip_stmt_free(st);
	json_decref(p);
	g_free(base);
	g_free(url);
	return rc;
}

/* One outbox row, unless one for the same item, organisation, channel
 * and target is waiting or was sent (publishing again, or refreshing the
 * recipients, must not notify twice); one that was given up may be queued
 * anew. */
static int
queue_row(csip_store *s, const char *kind, const char *org,
	  const char *item, const char *target, const char *payload,
	  const char *now)
{
	return csip_store_run(s, NULL, "INSERT INTO outbox (kind, org_id, "
		"item_id, target, payload, next_at, created_at) SELECT ?, "
		"CAST(? AS BIGINT), CAST(? AS BIGINT), ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM outbox WHERE kind = "
		"? AND org_id = ? AND item_id = ? AND target = ? AND "
		"failed_at IS NULL)", kind, org, item, target, payload, now,
		now, kind, org, item, target, NULL);
}

int
csip_notify_queue_item(csip_hub *h, int64_t item_id, const int64_t *org_ids,
		       size_t n_orgs)
{
	csip_store *s = csip_hub_store(h);
	const char *smtp = csip_config_get(csip_hub_config(h), "notify",
					   "smtp_url");
	csip_stmt *st = NULL;
	char *payload = NULL;
	char item[24], org[24], now[21];
	int rc, began = 0;

	if (n_orgs == 0)
		return CSIP_OK;
	if ((rc = item_payload(h, item_id, &payload)) < 0)
		return rc;
	g_snprintf(item, sizeof item, "%" PRId64, item_id);
	csip_store_now(now);
	if ((rc = csip_store_begin(s)) < 0)
		goto out;
	began = 1;
	for (size_t i = 0; i < n_orgs; i++) {
		const char *hook, *mail;

		g_snprintf(org, sizeof org, "%" PRId64, org_ids[i]);
		rc = csip_store_prepare_bind(s, &st, "SELECT webhook_url, "
			"notify_email FROM org WHERE id = ?", org, NULL);
		if (rc < 0 || (rc = csip_stmt_step(st)) < 0)
			goto out;
		if (rc == CSIP_DONE) {
			rc = csip_error_set(CSIP_ENOTFOUND, "organisation %s "
				"does not exist: cannot notify it of item %s",
				org, item);
			goto out;
		}
		hook = csip_stmt_text(st, 0);
		mail = csip_stmt_text(st, 1);
		if (hook && *hook && (rc = queue_row(s, "webhook", org, item,
				hook, payload, now)) < 0)
			goto out;
		/* Without a relay, mail would only pile up as failures. */
		if (mail && *mail && smtp && *smtp &&
		    (rc = queue_row(s, "mail", org, item, mail, payload,
				    now)) < 0)
			goto out;
		g_clear_pointer(&st, csip_stmt_free);
	}
	rc = CSIP_OK;
out:
	csip_stmt_free(st);
	if (began) {
		if (rc < 0)
			csip_store_rollback(s);
		else
			rc = csip_store_commit(s);
	}
	free(payload);
	return rc;
}

/* ---- sending ---------------------------------------------------------- */

typedef struct outrow {
	int64_t id;
	char *kind;
	int64_t org_id;
	int64_t item_id;          /* 0 for none */
	char *target;
	char *payload;
	int64_t attempts;
	char *next_at;
} outrow;

static void
outrow_free(gpointer p)
{
	outrow *r = p;

	g_free(r->kind);
	g_free(r->target);
	g_free(r->payload);
	g_free(r->next_at);
	g_free(r);
}

static int
due_row(csip_stmt *st, void *arr)
{
	outrow *r = g_new0(outrow, 1);

	r->id = csip_stmt_int64(st, 0);
	r->kind = g_strdup(csip_stmt_text(st, 1));
	r->org_id = csip_stmt_int64(st, 2);
	r->target = g_strdup(csip_stmt_text(st, 3));
	r->payload = g_strdup(csip_stmt_text(st, 4));
	r->attempts = csip_stmt_int64(st, 5);
	r->next_at = g_strdup(csip_stmt_text(st, 6));
	r->item_id = csip_stmt_is_null(st, 7) ? 0 : csip_stmt_int64(st, 7);
	g_ptr_array_add(arr, r);
	return CSIP_OK;
}

static size_t
discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

/* Settings every transfer shares: bounded time, no signals (we run in
 * threads), no redirects, only the protocols of the channel. */
static void
curl_common(CURL *c, const char *url, const char *protocols, char *errbuf)
{
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protocols);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, TOTAL_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	errbuf[0] = '\0';
}

/* The error of a failed transfer, for last_error (g_free). */
static char *
curl_failure(CURLcode cc, const char *errbuf)
{
	return g_strdup(errbuf[0] ? errbuf : curl_easy_strerror(cc));
}

void
csip_notify_webhook_key(csip_hub *h, const char *org, char hex[65])
{
	unsigned char key[crypto_auth_hmacsha256_BYTES];
	char *label = g_strconcat("csip webhook key v1:", org, NULL);

	crypto_auth_hmacsha256(key, (const unsigned char *)label,
			       strlen(label), csip_hub_key(h));
	sodium_bin2hex(hex, 65, key, sizeof key);
	sodium_memzero(key, sizeof key);
	g_free(label);
}

/* POST the payload to a webhook.  On failure *err says why (g_free). */
static int
send_webhook(csip_hub *h, const outrow *r, char **err)
{
	char key[65], obuf[24];
	unsigned char kbin[crypto_auth_hmacsha256_KEYBYTES];
	crypto_auth_hmacsha256_state hst;
	csip_stmt *ost = NULL;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char hex[2 * sizeof mac + 1];
	char errbuf[CURL_ERROR_SIZE];
	char *sig = NULL;
	struct curl_slist *hdr = NULL;
	CURL *c = NULL;
	CURLcode cc;
	long status = 0;
	int rc;

	*err = NULL;
	g_snprintf(obuf, sizeof obuf, "%" PRId64, r->org_id);
	if ((rc = csip_store_prepare_bind(csip_hub_store(h), &ost, "SELECT "
		"name FROM org WHERE id = ?", obuf, NULL)) < 0 ||
	    (rc = csip_stmt_step(ost)) != CSIP_ROW) {
		*err = g_strdup("the organisation is gone");
		rc = rc < 0 ? rc : CSIP_ENOTFOUND;
		goto out;
	}
	/* Keyed per organisation: see csip_notify_webhook_key. */
	csip_notify_webhook_key(h, csip_stmt_text(ost, 0), key);
	sodium_hex2bin(kbin, sizeof kbin, key, 64, NULL, NULL, NULL);
	crypto_auth_hmacsha256_init(&hst, kbin, sizeof kbin);
	crypto_auth_hmacsha256_update(&hst, (const unsigned char *)r->payload,
				      strlen(r->payload));
	crypto_auth_hmacsha256_final(&hst, mac);
	sodium_memzero(kbin, sizeof kbin);
	sodium_memzero(key, sizeof key);
	sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
	sig = g_strconcat("X-Csip-Signature: sha256=", hex, NULL);
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	hdr = curl_slist_append(hdr, sig);
	/* A small body needs no 100-continue round trip. */
	hdr = curl_slist_append(hdr, "Expect:");
	if ((c = curl_easy_init()) == NULL) {
		*err = g_strdup("libcurl could not start a transfer");
		rc = CSIP_EIO;
		goto out;
	}
	curl_common(c, r->target, "http,https", errbuf);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "csip/" CSIP_VERSION);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->payload);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(r->payload));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		*err = curl_failure(cc, errbuf);
		rc = CSIP_EIO;
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		*err = g_strdup_printf("the webhook answered HTTP %ld", status);
		rc = CSIP_EIO;
		goto out;
	}
	rc = CSIP_OK;
out:
	csip_stmt_free(ost);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdr);
	g_free(sig);
	return rc;
}

/* An address fit for an SMTP envelope and a header: no spaces, control
 * characters or angle brackets that could smuggle in a second header or
 * recipient, and one '@'. */
static int
plain_address(const char *a)
{
	const char *at = strchr(a, '@');

	if (at == NULL || at == a || at[1] == '\0' || strchr(at + 1, '@'))
		return 0;
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>' ||
		    *p == ',' || *p == '"')
			return 0;
	return 1;
}

/* An unstructured header value: plain when short printable ASCII, else
 * RFC 2047 encoded words of whole UTF-8 characters, folded so no line
 * grows past 78 characters. */
static void
append_header_text(GString *m, const char *name, const char *v)
{
	size_t len = strlen(v);
	int plain = len <= 60;

	for (size_t i = 0; plain && i < len; i++)
		plain = v[i] >= ' ' && v[i] < 0x7f;
	g_string_append_printf(m, "%s: ", name);
	if (plain) {
		g_string_append(m, v);
	} else {
		const char *p = v, *end = v + len;

		while (p < end) {
			const char *q = p;
			char *b64;

			/* 42 bytes of text are 56 of base64: with "Subject: "
			 * and the =?UTF-8?B?...?= frame, 77 characters. */
			while (q < end && g_utf8_next_char(q) - p <= 42)
				q = g_utf8_next_char(q);
			if (q == p)
				q = MIN(end, p + 1);
			b64 = g_base64_encode((const guchar *)p, q - p);
			g_string_append_printf(m, "%s=?UTF-8?B?%s?=",
					       p == v ? "" : "\r\n ", b64);
			g_free(b64);
			p = q;
		}
	}
	g_string_append(m, "\r\n");
}

/* The message for one mail notification (g_free). */
static char *
build_mail(const outrow *r, const char *from, const char *title,
	   const char *tlp, const char *url)
{
	static const char *const days[] = { "Mon", "Tue", "Wed", "Thu", "Fri",
		"Sat", "Sun" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
		"May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	GDateTime *now = g_date_time_new_now_utc();
	GString *m = g_string_new(NULL);
	char *tlp_up = g_ascii_strup(tlp, -1);
	char *subject, *body, *b64, rnd[17];
	unsigned char raw[8];
	size_t blen;

	/* Date in English by hand: strftime's %a and %b follow the locale. */
	g_string_append_printf(m, "Date: %s, %02d %s %04d %02d:%02d:%02d "
		"+0000\r\n", days[g_date_time_get_day_of_week(now) - 1],
		g_date_time_get_day_of_month(now),
		months[g_date_time_get_month(now) - 1],
		g_date_time_get_year(now), g_date_time_get_hour(now),
		g_date_time_get_minute(now), g_date_time_get_second(now));
	g_string_append_printf(m, "From: <%s>\r\nTo: <%s>\r\n", from,
			       r->target);
	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(rnd, sizeof rnd, raw, sizeof raw);
	g_string_append_printf(m, "Message-ID: <outbox-%" PRId64 ".%s@%s>\r\n",
			       r->id, rnd, strchr(from, '@') + 1);
	subject = g_strdup_printf("[TLP:%s] %s", tlp_up, title);
	append_header_text(m, "Subject", subject);
	g_string_append(m, "MIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=UTF-8\r\n"
		"Content-Transfer-Encoding: base64\r\n"
		"Auto-Submitted: auto-generated\r\n\r\n");
	body = g_strdup_printf("A new item was shared with your organisation "
		"on the hub.\r\n\r\nTitle: %s\r\nTLP:   %s\r\nRead it:  %s\r\n"
		"\r\nHandle it according to its TLP marking.\r\n", title,
		tlp_up, url);
	/* Base64 keeps any title safe through relays without 8BITMIME. */
	b64 = g_base64_encode((const guchar *)body, strlen(body));
	blen = strlen(b64);
	for (size_t i = 0; i < blen; i += 76)
		g_string_append_printf(m, "%.*s\r\n", (int)MIN(76, blen - i),
				       b64 + i);
	g_free(b64);
	g_free(body);
	g_free(subject);
	g_free(tlp_up);
	g_date_time_unref(now);
	return g_string_free(m, FALSE);
}

typedef struct reader {
	const char *p;
	size_t left;
} reader;

static size_t
read_msg(char *buf, size_t size, size_t n, void *ud)
{
	reader *rd = ud;
	size_t k = MIN(size * n, rd->left);

	memcpy(buf, rd->p, k);
	rd->p += k;
	rd->left -= k;
	return k;
}

/* Mail the notification through the relay of [notify] smtp_url. */
static int
send_mail(csip_hub *h, const outrow *r, char **err)
{
	csip_config *cfg = csip_hub_config(h);
	const char *smtp = csip_config_get(cfg, "notify", "smtp_url");
	const char *from = csip_config_get(cfg, "notify", "from");
	json_t *p = NULL;
	struct curl_slist *rcpt = NULL;
	char *msg = NULL, *env_from = NULL, *env_to = NULL;
	char errbuf[CURL_ERROR_SIZE];
	const char *title, *tlp, *url;
	reader rd;
	CURL *c = NULL;
	CURLcode cc;
	int rc = CSIP_EIO;

	*err = NULL;
	if (smtp == NULL || *smtp == '\0') {
		*err = g_strdup("no SMTP relay: set [notify] smtp_url");
		goto out;
	}
	if (from == NULL || !plain_address(from)) {
		*err = g_strdup_printf("[notify] from \"%s\" is not a plain "
			"address such as csip@hub.example", from ? from : "");
		goto out;
	}
	if (!plain_address(r->target)) {
		*err = g_strdup_printf("\"%s\" is not a plain e-mail address",
				       r->target);
		goto out;
	}
	p = json_loads(r->payload, 0, NULL);
	title = json_string_value(json_object_get(p, "title"));
	tlp = json_string_value(json_object_get(p, "tlp"));
	url = json_string_value(json_object_get(p, "url"));
	if (title == NULL || tlp == NULL || url == NULL) {
		*err = g_strdup("the outbox payload lacks title, tlp or url");
		goto out;
	}
	msg = build_mail(r, from, title, tlp, url);
	env_from = g_strconcat("<", from, ">", NULL);
	env_to = g_strconcat("<", r->target, ">", NULL);
	rcpt = curl_slist_append(rcpt, env_to);
	if ((c = curl_easy_init()) == NULL) {
		*err = g_strdup("libcurl could not start a transfer");
		goto out;
	}
	rd.p = msg;
	rd.left = strlen(msg);
	curl_common(c, smtp, "smtp,smtps", errbuf);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, env_from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_msg);
	curl_easy_setopt(c, CURLOPT_READDATA, &rd);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)rd.left);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		*err = curl_failure(cc, errbuf);
		goto out;
	}
	rc = CSIP_OK;
out:
	curl_easy_cleanup(c);
	curl_slist_free_all(rcpt);
	json_decref(p);
	g_free(msg);
	g_free(env_from);
	g_free(env_to);
	return rc;
}

/* Whether the row is still to be sent: a changed or removed webhook_url
 * or notify_email means the old target must not get it, an item
 * withdrawn since is not announced, and an organisation the policy no
 * longer lets read the item (an NDA cleared, a SIG left, a role changed
 * since the row was queued) is not told its title.  *why (g_free)
 * explains a refusal. */
static int
still_wanted(csip_store *s, const outrow *r, char **why)
{
	csip_stmt *st = NULL;
	csip_reader rd;
	csip_access a = CSIP_ACCESS_NONE;
	char org[24], item[24];
	const char *now;
	int rc;

	*why = NULL;
	g_snprintf(item, sizeof item, "%" PRId64, r->item_id);
	if (r->item_id) {
		rc = csip_store_prepare_bind(s, &st, "SELECT status FROM item "
			"WHERE id = ?", item, NULL);
		if (rc < 0 || (rc = csip_stmt_step(st)) < 0)
			goto out;
		now = rc == CSIP_ROW ? csip_stmt_text(st, 0) : NULL;
		if (now == NULL || strcmp(now, "published") != 0) {
			*why = g_strdup_printf("item %s is %s, no longer "
				"published", item, now ? now : "gone");
			rc = CSIP_OK;
			goto out;
		}
		g_clear_pointer(&st, csip_stmt_free);
		rc = csip_reader_load(s, r->org_id, &rd);
		if (rc == CSIP_OK) {
			rc = csip_policy_item_access(s, &rd, r->item_id, &a);
			csip_reader_clear(&rd);
		} else if (rc == CSIP_ENOTFOUND) {
			csip_error_clear();
			rc = CSIP_OK;
		}
		if (rc < 0)
			goto out;
		if (a == CSIP_ACCESS_NONE) {
			*why = g_strdup_printf("organisation %" PRId64 " may "
				"no longer read item %s", r->org_id, item);
			goto out;
		}
	}
	g_snprintf(org, sizeof org, "%" PRId64, r->org_id);
	rc = csip_store_prepare_bind(s, &st, strcmp(r->kind, "mail") == 0
		? "SELECT notify_email FROM org WHERE id = ?"
		: "SELECT webhook_url FROM org WHERE id = ?", org, NULL);
	if (rc < 0 || (rc = csip_stmt_step(st)) < 0)
		goto out;
	now = rc == CSIP_ROW ? csip_stmt_text(st, 0) : NULL;
	if (now == NULL || strcmp(now, r->target) != 0)
		*why = g_strdup_printf("organisation %s no longer has %s %s",
			org, strcmp(r->kind, "mail") == 0 ? "notify_email"
			: "webhook_url", r->target);
	rc = CSIP_OK;
out:
	csip_stmt_free(st);
	return rc;
}

/* Record the outcome of one attempt.  ERR NULL: sent. */
static int
finish(csip_store *s, const outrow *r, const char *err,
       int64_t max_attempts, int final)
{
	char id[24], at[24], now[21], next[21];
	int64_t attempts = r->attempts + 1;

	g_snprintf(id, sizeof id, "%" PRId64, r->id);
	g_snprintf(at, sizeof at, "%" PRId64, attempts);
	csip_store_now(now);
	if (err == NULL)
		return csip_store_run(s, NULL, "UPDATE outbox SET sent_at = ?, "
			"attempts = ?, last_error = NULL WHERE id = ?", now, at,
			id, NULL);
	if (final || attempts >= max_attempts)
		return csip_store_run(s, NULL, "UPDATE outbox SET failed_at = "
			"?, attempts = ?, last_error = ? WHERE id = ?", now, at,
			err, id, NULL);
	time_in(backoff(attempts), next);
	return csip_store_run(s, NULL, "UPDATE outbox SET next_at = ?, "
		"attempts = ?, last_error = ? WHERE id = ?", next, at, err, id,
		NULL);
}

/* [notify] max_attempts as a number of at least 1. */
static int
max_attempts(csip_config *cfg, int64_t *out)
{
	const char *v = csip_config_get(cfg, "notify", "max_attempts");
	char *end = NULL;
	gint64 n = v ? g_ascii_strtoll(v, &end, 10) : 0;

	if (v == NULL || end == v || *end != '\0' || n < 1 || n > 1000)
		return csip_error_set(CSIP_ECONFIG, "[notify] max_attempts "
			"\"%s\": give a number from 1 to 1000", v ? v : "");
	*out = n;
	return CSIP_OK;
}

int
csip_notify_run_once(csip_hub *h, int max, size_t *sent, size_t *failed)
{
	csip_store *s = csip_hub_store(h);
	GPtrArray *rows = g_ptr_array_new_with_free_func(outrow_free);
	char now[21], lease[21], lim[24];
	size_t n_sent = 0, n_failed = 0;
	int64_t maxatt = 0;
	int rc;

	if (sent)
		*sent = 0;
	if (failed)
		*failed = 0;
	if ((rc = max_attempts(csip_hub_config(h), &maxatt)) < 0 ||
	    (rc = curl_ready()) < 0)
		goto out;
	csip_store_now(now);
	g_snprintf(lim, sizeof lim, "%d", max > 0 ? max : DEFAULT_BATCH);
	rc = csip_store_each(s, due_row, rows, "SELECT id, kind, org_id, "
		"target, payload, attempts, next_at, item_id FROM outbox WHERE "
		"sent_at "
		"IS NULL AND failed_at IS NULL AND next_at <= ? ORDER BY "
		"next_at, id LIMIT ?", now, lim, NULL);
	if (rc < 0)
		goto out;
	for (guint i = 0; i < rows->len; i++) {
		outrow *r = g_ptr_array_index(rows, i);
		char id[24], *err = NULL;
		int changes = 0, final = 0;

		g_snprintf(id, sizeof id, "%" PRId64, r->id);
		time_in(LEASE_SECONDS, lease);
		/* The claim: only one worker sees its next_at still there. */
		rc = csip_store_run(s, &changes, "UPDATE outbox SET next_at = ? "
			"WHERE id = ? AND next_at = ? AND sent_at IS NULL AND "
			"failed_at IS NULL", lease, id, r->next_at, NULL);
		if (rc < 0)
			goto out;
		if (changes != 1)
			continue;
		if ((rc = still_wanted(s, r, &err)) < 0)
			goto out;
		if (err)
			final = 1;
		else if (strcmp(r->kind, "webhook") == 0)
			send_webhook(h, r, &err);
		else
			send_mail(h, r, &err);
		rc = finish(s, r, err, maxatt, final);
		if (err)
			n_failed++;
		else
			n_sent++;
		g_free(err);
		if (rc < 0)
			goto out;
	}
	rc = CSIP_OK;
out:
	if (sent)
		*sent = n_sent;
	if (failed)
		*failed = n_failed;
	g_ptr_array_free(rows, TRUE);
	return rc;
}

/* ---- alerts (issue #5) -------------------------------------------------- */

#define ALERTS_PATH "/api/v1/alerts"

static int
hub_hook_row(csip_stmt *st, void *arr)
{
	g_ptr_array_add(arr, g_strdup(csip_stmt_text(st, 0)));
	g_ptr_array_add(arr, g_strdup(csip_stmt_text(st, 1)));
	return CSIP_OK;
}

int
csip_notify_queue_alert(csip_hub *h, int64_t alert_id, json_t *payload)
{
	csip_store *s = csip_hub_store(h);
	GPtrArray *hooks = g_ptr_array_new_with_free_func(g_free);
	json_t *p = json_deep_copy(payload);
	char *base = NULL, *url = NULL, *body = NULL, now[21];
	int rc;

	(void)alert_id;
	csip_store_now(now);
	base = base_url(csip_hub_config(h));
	url = g_strconcat(base, ALERTS_PATH, NULL);
	json_object_set_new(p, "url", json_string(url));
	body = json_dumps(p, JSON_COMPACT);
	if (body == NULL) {
		rc = csip_error_set(CSIP_EINVAL, "alert %" PRId64 ": the payload "
			"cannot be written as JSON", alert_id);
		goto out;
	}
	/* Alerts are for the analysts: only hub organisations hear them. */
	rc = csip_store_each(s, hub_hook_row, hooks, "SELECT id, webhook_url "
		"FROM org WHERE role = 'hub' AND webhook_url IS NOT NULL AND "
		"webhook_url <> '' ORDER BY id", NULL);
	for (guint i = 0; rc == CSIP_OK && i + 1 < hooks->len; i += 2)
		rc = csip_store_run(s, NULL, "INSERT INTO outbox (kind, org_id, "
			"item_id, target, payload, next_at, created_at) VALUES "
			"('webhook', ?, NULL, ?, ?, ?, ?)", (char *)
			hooks->pdata[i], (char *)hooks->pdata[i + 1], body, now,
			now, NULL);
out:
	g_ptr_array_free(hooks, TRUE);
	json_decref(p);
	free(body);
	g_free(base);
	g_free(url);
	return rc;
}
