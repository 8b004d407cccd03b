/*
 * test_notify.c - the outbox against real receivers: an HTTP server and an
 * SMTP server on 127.0.0.1, run in threads of the test.  Checks what goes
 * out (only id, title, TLP and URL; a signature that verifies with the hub
 * key; a well-formed mail), retries with backoff until max_attempts, that
 * two workers never send the same row, and that a changed target, a
 * withdrawn item or a reader that lost access stops a notification.
 */
#include "lib/notify.h"
#include "testutil.h"
#include "util/error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gmime/gmime.h>
#include <glib.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- receivers -------------------------------------------------------- */

typedef struct receiver {
	int fd;               /* listening socket */
	int port;
	int smtp;             /* speak SMTP, else HTTP */
	int status;           /* HTTP status to answer */
	int delay_ms;         /* before answering a request */
	gint stop;
	GThread *thread;
	GMutex lock;
	GPtrArray *got;       /* requests or mails as received, char * */
} receiver;

/* Read up to a CRLF; the line without it goes to LINE.  0 at EOF. */
static int
read_line(int fd, GString *buf, GString *line)
{
	for (;;) {
		char *eol = g_strstr_len(buf->str, (gssize)buf->len, "\r\n");
		char tmp[4096];
		ssize_t n;

		if (eol) {
			g_string_assign(line, "");
			g_string_append_len(line, buf->str, eol - buf->str);
			g_string_erase(buf, 0, eol - buf->str + 2);
			return 1;
		}
		n = recv(fd, tmp, sizeof tmp, 0);
		if (n <= 0)
			return 0;
		g_string_append_len(buf, tmp, n);
	}
}

static void
say(int fd, const char *s)
{
	ssize_t n = send(fd, s, strlen(s), MSG_NOSIGNAL);

	(void)n;
}

static char *
serve_http(receiver *rv, int fd)
{
	GString *req = g_string_new(NULL);
	char tmp[4096], resp[128];
	const char *end, *cl;
	size_t want = 0;
	ssize_t n;

	while ((end = strstr(req->str, "\r\n\r\n")) == NULL) {
		if ((n = recv(fd, tmp, sizeof tmp, 0)) <= 0)
			goto out;
		g_string_append_len(req, tmp, n);
	}
	cl = strcasestr(req->str, "\r\nContent-Length:");
	if (cl && cl < end)
		want = strtoul(cl + 17, NULL, 10);
	while (req->len < (size_t)(end - req->str) + 4 + want) {
		if ((n = recv(fd, tmp, sizeof tmp, 0)) <= 0)
			goto out;
		g_string_append_len(req, tmp, n);
		end = strstr(req->str, "\r\n\r\n");
	}
	if (rv->delay_ms)
		g_usleep(rv->delay_ms * 1000);
	g_snprintf(resp, sizeof resp, "HTTP/1.1 %d Test\r\nContent-Length: 0"
		   "\r\nConnection: close\r\n\r\n", rv->status);
	say(fd, resp);
out:
	return g_string_free(req, FALSE);
}

/* Just enough SMTP for libcurl; the result is the envelope, a blank line
 * and the message as sent (dot-stuffing undone). */
static char *
serve_smtp(int fd)
{
	GString *buf = g_string_new(NULL), *line = g_string_new(NULL);
	GString *out = g_string_new(NULL);

	say(fd, "220 test ESMTP\r\n");
	while (read_line(fd, buf, line)) {
		if (g_ascii_strncasecmp(line->str, "EHLO", 4) == 0 ||
		    g_ascii_strncasecmp(line->str, "HELO", 4) == 0) {
			say(fd, "250 test\r\n");
		} else if (g_ascii_strncasecmp(line->str, "MAIL", 4) == 0 ||
			   g_ascii_strncasecmp(line->str, "RCPT", 4) == 0) {
			g_string_append_printf(out, "%s\n", line->str);
			say(fd, "250 ok\r\n");
		} else if (g_ascii_strncasecmp(line->str, "DATA", 4) == 0) {
			say(fd, "354 go on\r\n");
			g_string_append(out, "\n");
			while (read_line(fd, buf, line) &&
			       strcmp(line->str, ".") != 0)
				g_string_append_printf(out, "%s\r\n",
					line->str[0] == '.' ? line->str + 1
					: line->str);
			say(fd, "250 queued\r\n");
		} else if (g_ascii_strncasecmp(line->str, "QUIT", 4) == 0) {
			say(fd, "221 bye\r\n");
			break;
		} else {
			say(fd, "250 ok\r\n");
		}
	}
	g_string_free(buf, TRUE);
	g_string_free(line, TRUE);
	return g_string_free(out, FALSE);
}

static gpointer
receiver_main(gpointer p)
{
	receiver *rv = p;

	while (!g_atomic_int_get(&rv->stop)) {
		struct pollfd pfd = { .fd = rv->fd, .events = POLLIN };
		struct timeval tv = { .tv_sec = 5 };
		char *got;
		int c;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		if ((c = accept(rv->fd, NULL, NULL)) < 0)
			continue;
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		got = rv->smtp ? serve_smtp(c) : serve_http(rv, c);
		close(c);
		g_mutex_lock(&rv->lock);
		g_ptr_array_add(rv->got, got);
		g_mutex_unlock(&rv->lock);
	}
	return NULL;
}

/* A listening socket on an ephemeral port of 127.0.0.1. */
static int
listen_local(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	g_assert_cmpint(fd, >=, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&a, sizeof a), ==, 0);
	g_assert_cmpint(listen(fd, 16), ==, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&a, &len), ==, 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static receiver *
receiver_start(int smtp, int status)
{
	receiver *rv = g_new0(receiver, 1);

	rv->fd = listen_local(&rv->port);
	rv->smtp = smtp;
	rv->status = status;
	rv->got = g_ptr_array_new_with_free_func(g_free);
	g_mutex_init(&rv->lock);
	rv->thread = g_thread_new("receiver", receiver_main, rv);
	return rv;
}

static void
receiver_stop(receiver *rv)
{
	g_atomic_int_set(&rv->stop, 1);
	g_thread_join(rv->thread);
	close(rv->fd);
	g_ptr_array_free(rv->got, TRUE);
	g_mutex_clear(&rv->lock);
	g_free(rv);
}

static guint
received(receiver *rv)
{
	guint n;

	g_mutex_lock(&rv->lock);
	n = rv->got->len;
	g_mutex_unlock(&rv->lock);
	return n;
}

/* What the receiver holds once it holds N requests, or after 5 s: it
 * records a request after answering it, so the sender can be back before
 * the record is made. */
static guint
received_n(receiver *rv, guint n)
{
	gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

	while (received(rv) < n && g_get_monotonic_time() < end)
		g_usleep(10000);
	return received(rv);
}

/* ---- fixtures --------------------------------------------------------- */

#define NOW "2026-01-01T00:00:00Z"
#define TITLE "請求書を装った標的型メールの波 (wave of invoice phishing " \
	"against the energy sector)"

static int64_t
add_org(csip_test_hub *t, const char *name, const char *hook,
	const char *mail)
{
	int64_t id;

	csip_assert_ok(csip_store_query_int64(csip_hub_store(t->hub), &id,
		"INSERT INTO org (name, display_name, role, nda_date, "
		"created_at, updated_at, webhook_url, notify_email) VALUES (?, "
		"?, 'participant', '2020-01-01', ?, ?, ?, ?) RETURNING id", name,
		name, NOW, NOW,
		hook ? hook : CSIP_SQL_NULL, mail ? mail : CSIP_SQL_NULL,
		NULL));
	return id;
}

static int64_t
add_item(csip_test_hub *t, const char *title)
{
	int64_t id;

	csip_assert_ok(csip_store_query_int64(csip_hub_store(t->hub), &id,
		"INSERT INTO item (title, tlp, audience, status, created_by, "
		"created_at, updated_at, published_at) VALUES (?, 'amber', "
		"'community', 'published', 'test', ?, ?, ?) RETURNING id", title,
		NOW, NOW, NOW, NULL));
	return id;
}

static int64_t
count(csip_test_hub *t, const char *sql)
{
	int64_t n = -1;

	csip_assert_ok(csip_store_query_int64(csip_hub_store(t->hub), &n, sql,
					      NULL));
	return n;
}

/* A text column of the only outbox row, or NULL (g_free). */
static char *
outbox_text(csip_test_hub *t, const char *col)
{
	char *sql = g_strdup_printf("SELECT %s FROM outbox", col);
	csip_stmt *st = NULL;
	char *v = NULL;

	csip_assert_ok(csip_store_prepare(csip_hub_store(t->hub), sql, &st));
	g_assert_cmpint(csip_stmt_step(st), ==, CSIP_ROW);
	v = g_strdup(csip_stmt_text(st, 0));
	g_assert_cmpint(csip_stmt_step(st), ==, CSIP_DONE);
	csip_stmt_free(st);
	g_free(sql);
	return v;
}

static void
iso_in(int seconds, char buf[static 21])
{
	GDateTime *n = g_date_time_new_now_utc();
	GDateTime *l = g_date_time_add_seconds(n, seconds);
	char *s = g_date_time_format(l, "%Y-%m-%dT%H:%M:%SZ");

	g_strlcpy(buf, s, 21);
	g_free(s);
	g_date_time_unref(l);
	g_date_time_unref(n);
}

static void
make_due(csip_test_hub *t)
{
	csip_assert_ok(csip_store_run(csip_hub_store(t->hub), NULL,
		"UPDATE outbox SET next_at = '2000-01-01T00:00:00Z'", NULL));
}

/* The value of header NAME in an HTTP request (g_free), or NULL. */
static char *
http_header(const char *req, const char *name)
{
	char *needle = g_strconcat("\r\n", name, ":", NULL);
	const char *p = strcasestr(req, needle), *e;
	char *v = NULL;

	if (p) {
		p += strlen(needle);
		e = strstr(p, "\r\n");
		v = g_strstrip(g_strndup(p, e - p));
	}
	g_free(needle);
	return v;
}

/* ---- tests ------------------------------------------------------------ */

static void
test_webhook(void)
{
	receiver *rv = receiver_start(0, 200);
	csip_test_hub *t = csip_test_hub_new();
	char *hook = g_strdup_printf("http://127.0.0.1:%d/hook", rv->port);
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char hex[2 * sizeof mac + 1], *sig, *ctype, *want_url, *v;
	const char *req, *body;
	int64_t org, item, orgs[1];
	size_t sent, failed;
	json_t *j;

	csip_test_hub_set(t, "server", "url", "https://hub.example/");
	/* A notify_email without an SMTP relay queues no mail. */
	org = add_org(t, "acme", hook, "soc@acme.example");
	item = add_item(t, TITLE);
	orgs[0] = org;
	csip_assert_ok(csip_notify_queue_item(t->hub, item, orgs, 1));
	/* Queueing twice, as publishing again would, notifies once. */
	csip_assert_ok(csip_notify_queue_item(t->hub, item, orgs, 1));
	g_assert_cmpint(count(t, "SELECT COUNT(*) FROM outbox"), ==, 1);
	v = outbox_text(t, "kind");
	g_assert_cmpstr(v, ==, "webhook");
	g_free(v);

	csip_assert_ok(csip_notify_run_once(t->hub, 10, &sent, &failed));
	g_assert_cmpuint(sent, ==, 1);
	g_assert_cmpuint(failed, ==, 0);
	g_assert_cmpuint(received_n(rv, 1), ==, 1);
	req = g_ptr_array_index(rv->got, 0);
	g_assert_true(g_str_has_prefix(req, "POST /hook HTTP/1.1\r\n"));
	ctype = http_header(req, "Content-Type");
	g_assert_cmpstr(ctype, ==, "application/json");
	body = strstr(req, "\r\n\r\n") + 4;

	/* The signature is HMAC-SHA256 of the exact body, keyed with the
	 * organisation's webhook key: HMAC-SHA256 of a label and its name
	 * under the hub key, computed here independently. */
	{
		static const char label[] = "csip webhook key v1:acme";
		unsigned char okey[crypto_auth_hmacsha256_BYTES];
		char shown[65], okey_hex[65];

		crypto_auth_hmacsha256(okey, (const unsigned char *)label,
			sizeof label - 1, csip_hub_key(t->hub));
		sodium_bin2hex(okey_hex, sizeof okey_hex, okey, sizeof okey);
		csip_notify_webhook_key(t->hub, "acme", shown);
		g_assert_cmpstr(shown, ==, okey_hex);
		csip_notify_webhook_key(t->hub, "other", shown);
		g_assert_cmpstr(shown, !=, okey_hex);
		crypto_auth_hmacsha256(mac, (const unsigned char *)body,
				       strlen(body), okey);
		sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
		sig = http_header(req, "X-Csip-Signature");
		g_assert_nonnull(sig);
		g_assert_true(g_str_has_prefix(sig, "sha256="));
		g_assert_cmpstr(sig + 7, ==, hex);
		/* Not the hub key itself. */
		crypto_auth_hmacsha256(mac, (const unsigned char *)body,
				       strlen(body), csip_hub_key(t->hub));
		sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
		g_assert_cmpstr(sig + 7, !=, hex);
	}

	/* Only the id, title, TLP and URL, nothing about a provider. */
	j = json_loads(body, 0, NULL);
	g_assert_nonnull(j);
	g_assert_cmpuint(json_object_size(j), ==, 4);
	g_assert_cmpint(json_integer_value(json_object_get(j, "id")), ==, item);
	g_assert_cmpstr(json_string_value(json_object_get(j, "title")), ==,
			TITLE);
	g_assert_cmpstr(json_string_value(json_object_get(j, "tlp")), ==,
			"amber");
	want_url = g_strdup_printf("https://hub.example/api/v1/items/%" G_GINT64_FORMAT,
				   item);
	g_assert_cmpstr(json_string_value(json_object_get(j, "url")), ==,
			want_url);
	json_decref(j);

	g_assert_cmpint(count(t, "SELECT COUNT(*) FROM outbox WHERE sent_at "
		"IS NOT NULL AND attempts = 1 AND failed_at IS NULL"), ==, 1);
	/* Sent is done: nothing more to send, and queueing again after the
	 * send does not repeat it. */
	csip_assert_ok(csip_notify_run_once(t->hub, 10, &sent, &failed));
	g_assert_cmpuint(sent + failed, ==, 0);
	csip_assert_ok(csip_notify_queue_item(t->hub, item, orgs, 1));
	g_assert_cmpint(count(t, "SELECT COUNT(*) FROM outbox"), ==, 1);
	g_assert_cmpuint(received_n(rv, 1), ==, 1);

	g_free(sig);
	g_free(ctype);
	g_free(want_url);
	g_free(hook);
	csip_test_hub_free(t);
	receiver_stop(rv);
}

/* Without [server] url, links point at http:// plus the listen address. */
static void
test_default_url(void)
{
	csip_test_hub *t = csip_test_hub_new();
	int64_t org = add_org(t, "acme", "http://127.0.0.1:9/x", NULL);
	int64_t item = add_item(t, "t");
	char *payload, *want;
	json_t *j;

	csip_test_hub_set(t, "server", "listen", "127.0.0.1:9999");
	csip_assert_ok(csip_notify_queue_item(t->hub, item, &org, 1));
	payload = outbox_text(t, "payload");
	j = json_loads(payload, 0, NULL);
	want = g_strdup_printf("http://127.0.0.1:9999/api/v1/items/%" G_GINT64_FORMAT,
			       item);
	g_assert_cmpstr(json_string_value(json_object_get(j, "url")), ==,
			want);
	json_decref(j);
	g_free(want);
	g_free(payload);
	csip_test_hub_free(t);
}

static void
test_mail(void)
{
	receiver *rv = receiver_start(1, 0);
	csip_test_hub *t = csip_test_hub_new();
	char *smtp = g_strdup_printf("smtp://127.0.0.1:%d", rv->port);
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *msg;
	GMimeObject *part;
	GMimeContentType *ct;
	const char *got, *data;
	char *text, *url, *v;
	int64_t org, item;
	size_t sent, failed;

	csip_test_hub_set(t, "server", "url", "https://hub.example");
	csip_test_hub_set(t, "notify", "smtp_url", smtp);
	csip_test_hub_set(t, "notify", "from", "csip@hub.example");
	org = add_org(t, "acme", NULL, "soc@acme.example");
	item = add_item(t, TITLE);
	csip_assert_ok(csip_notify_queue_item(t->hub, item, &org, 1));
	v = outbox_text(t, "kind");
	g_assert_cmpstr(v, ==, "mail");
	g_free(v);
	csip_assert_ok(csip_notify_run_once(t->hub, 10, &sent, &failed));
	g_assert_cmpuint(sent, ==, 1);
	g_assert_cmpuint(failed, ==, 0);
	g_assert_cmpuint(received_n(rv, 1), ==, 1);
	got = g_ptr_array_index(rv->got, 0);
	g_assert_true(g_str_has_prefix(got, "MAIL FROM:<csip@hub.example>"));
	g_assert_nonnull(strstr(got, "\nRCPT TO:<soc@acme.example>\n"));
	data = strstr(got, "\n\n") + 2;
	/* The raw headers, as a relay sees them. */
	g_assert_true(g_str_has_prefix(data, "Date: "));
	g_assert_nonnull(strstr(data, "\r\nMIME-Version: 1.0\r\n"));
	g_assert_nonnull(strstr(data, "\r\nMessage-ID: <"));
	g_assert_nonnull(strstr(data, "@hub.example>\r\n"));
	g_assert_nonnull(strstr(data, "\r\nSubject: =?UTF-8?B?"));
	for (const char *l = data; *l; l = strstr(l, "\r\n") + 2)
		g_assert_cmpint(strstr(l, "\r\n") - l, <=, 78);

	/* And as a mail reader sees them. */
	stream = g_mime_stream_mem_new_with_buffer(data, strlen(data));
	parser = g_mime_parser_new_with_stream(stream);
	msg = g_mime_parser_construct_message(parser, NULL);
	g_assert_nonnull(msg);
	g_assert_cmpstr(g_mime_message_get_subject(msg), ==,
			"[TLP:AMBER] " TITLE);
	g_assert_nonnull(g_mime_message_get_date(msg));
	g_assert_nonnull(g_mime_message_get_message_id(msg));
	g_assert_cmpstr(internet_address_mailbox_get_addr(
		INTERNET_ADDRESS_MAILBOX(internet_address_list_get_address(
		g_mime_message_get_to(msg), 0))), ==, "soc@acme.example");
	part = g_mime_message_get_body(msg);
	g_assert_true(GMIME_IS_TEXT_PART(part));
	ct = g_mime_object_get_content_type(part);
	g_assert_cmpstr(g_mime_content_type_get_parameter(ct, "charset"), ==,
			"UTF-8");
	text = g_mime_text_part_get_text(GMIME_TEXT_PART(part));
	url = g_strdup_printf("https://hub.example/api/v1/items/%" G_GINT64_FORMAT,
			      item);
	g_assert_nonnull(strstr(text, TITLE));
	g_assert_nonnull(strstr(text, url));
	g_assert_nonnull(strstr(text, "AMBER"));
	g_free(text);
	g_free(url);
	g_object_unref(msg);
	g_object_unref(parser);
	g_object_unref(stream);
	g_assert_cmpint(count(t, "SELECT COUNT(*) FROM outbox WHERE sent_at "
		"IS NOT NULL"), ==, 1);
	g_free(smtp);
	csip_test_hub_free(t);
	receiver_stop(rv);
}

/* Failed attempts back off 30 s, 1 min, ... and the row is given up
 * after max_attempts with the last error kept. */
static void
check_retries(csip_test_hub *t, receiver *rv, const char *errneedle)
{
	size_t sent, failed;
	char lo[21], hi[21], *v;
	int64_t waits[] = { 30, 60 };

	for (int a = 1; a <= 3; a++) {
		make_due(t);
		csip_assert_ok(csip_notify_run_once(t->hub, 10, &sent,
						    &failed));
		g_assert_cmpuint(sent, ==, 0);
		g_assert_cmpuint(failed, ==, 1);
		g_assert_cmpint(count(t, "SELECT attempts FROM outbox"), ==, a);
		v = outbox_text(t, "last_error");
		if (strstr(v, errneedle) == NULL)
			g_error("\"%s\" not in last_error \"%s\"", errneedle,
				v);
		g_free(v);
		g_assert_cmpint(count(t, "SELECT COUNT(*) FROM outbox WHERE "
			"sent_at IS NULL"), ==, 1);
		if (a < 3) {
			g_assert_cmpint(count(t, "SELECT COUNT(*) FROM outbox "
				"WHERE failed_at IS NULL"), ==, 1);
			iso_in((int)waits[a - 1] - 3, lo);
			iso_in((int)waits[a - 1] + 3, hi);
			v = outbox_text(t, "next_at");
			g_assert_cmpstr(v, >=, lo);
			g_assert_cmpstr(v, <=, hi);
			g_free(v);
			/* Not due yet: this pass sends nothing. */
			csip_assert_ok(csip_notify_run_once(t->hub, 10, &sent,
							    &failed));
			g_assert_cmpuint(sent + failed, ==, 0);
		}
	}
	g_assert_cmpint(count(t, "SELECT COUNT(*) FROM outbox WHERE "
		"failed_at IS NOT NULL"), ==, 1);
	/* Given up: never tried again. */
	make_due(t);
	csip_assert_ok(csip_notify_run_once(t->hub, 10, &sent, &failed));
	g_assert_cmpuint(sent + failed, ==, 0);
	if (rv)
		g_assert_cmpuint(received_n(rv, 3), ==, 3);
}

static void
test_retry_http_error(void)
{
	receiver *rv = receiver_start(0, 500);
	csip_test_hub *t = csip_test_hub_new();
	char *hook = g_strdup_printf("http://127.0.0.1:%d/h", rv->port);
	int64_t org, item;

	csip_test_hub_set(t, "notify", "max_attempts", "3");
	org = add_org(t, "acme", hook, NULL);
	item = add_item(t, "x");
	csip_assert_ok(csip_notify_queue_item(t->hub, item, &org, 1));
	check_retries(t, rv, "500");
	g_free(hook);
	csip_test_hub_free(t);
	receiver_stop(rv);
}

static void
test_retry_refused(void)
{
	csip_test_hub *t = csip_test_hub_new();
	int port, fd = listen_local(&port);
	char *hook, *smtp;
	int64_t org, item;

	/* A port that was just free: nothing listens there now. */
	close(fd);
	hook = g_strdup_printf("http://127.0.0.1:%d/h", port);
	smtp = g_strdup_printf("smtp://127.0.0.1:%d", port);
	csip_test_hub_set(t, "notify", "max_attempts", "3");
	org = add_org(t, "acme", hook, NULL);
	item = add_item(t, "x");
	csip_assert_ok(csip_notify_queue_item(t->hub, item, &org, 1));
	check_retries(t, NULL, "onnect");

	/* The same for mail through a relay that is down. */
	csip_assert_ok(csip_store_run(csip_hub_store(t->hub), NULL, "DELETE "
		"FROM outbox", NULL));
	csip_test_hub_set(t, "notify", "smtp_url", smtp);
	org = add_org(t, "beta", NULL, "soc@beta.example");
	csip_assert_ok(csip_notify_queue_item(t->hub, item, &org, 1));
	check_retries(t, NULL, "onnect");
	g_free(hook);
	g_free(smtp);
	csip_test_hub_free(t);
}

typedef struct worker {
	csip_config *cfg;
	gint *ready;          /* workers ready; all start together */
	size_t sent;
	int rc;
} worker;

static gpointer
worker_main(gpointer p)
{
	worker *w = p;
	csip_hub *h = NULL;
	size_t failed;

	csip_assert_ok(csip_hub_open(w->cfg, 0, &h));
	g_atomic_int_inc(w->ready);
	while (g_atomic_int_get(w->ready) < 2)
		g_usleep(100);
	w->rc = csip_notify_run_once(h, 100, &w->sent, &failed);
	csip_hub_free(h);
	return NULL;
}

/* Two workers started together over the same due rows: each row is sent
 * once. */
static void
test_two_workers(void)
{
	receiver *rv = receiver_start(0, 200);
	csip_test_hub *t = csip_test_hub_new();
	int64_t orgs[6], item = add_item(t, "x");
	gint ready = 0;
	worker w[2] = { { t->cfg, &ready, 0, 0 }, { t->cfg, &ready, 0, 0 } };
	GThread *th[2];
	GHashTable *paths = g_hash_table_new_full(g_str_hash, g_str_equal,
						  g_free, NULL);

	rv->delay_ms = 20;
	for (int i = 0; i < 6; i++) {
		char *name = g_strdup_printf("org%d", i);
		char *hook = g_strdup_printf("http://127.0.0.1:%d/org%d",
					     rv->port, i);

		orgs[i] = add_org(t, name, hook, NULL);
		g_free(name);
		g_free(hook);
	}
	csip_assert_ok(csip_notify_queue_item(t->hub, item, orgs, 6));
	for (int i = 0; i < 2; i++)
		th[i] = g_thread_new("worker", worker_main, &w[i]);
	for (int i = 0; i < 2; i++)
		g_thread_join(th[i]);
	csip_assert_ok(w[0].rc);
	csip_assert_ok(w[1].rc);
	g_assert_cmpuint(w[0].sent + w[1].sent, ==, 6);
	g_assert_cmpuint(received_n(rv, 6), ==, 6);
	for (guint i = 0; i < rv->got->len; i++) {
		const char *req = g_ptr_array_index(rv->got, i);
		char *path = g_strndup(req, strcspn(req, "\r"));

		g_assert_false(g_hash_table_contains(paths, path));
		g_hash_table_add(paths, path);
	}
	g_assert_cmpint(count(t, "SELECT COUNT(*) FROM outbox WHERE sent_at "
		"IS NOT NULL AND attempts = 1"), ==, 6);
	g_hash_table_destroy(paths);
	csip_test_hub_free(t);
	receiver_stop(rv);
}

/* Queue item ITEM for ORG, make CHANGE (SQL), and check that the pass
 * gives the row up for good with an error naming WHY; the outbox is
 * emptied again for the next case. */
static void
stale_case(csip_test_hub *t, int64_t item, int64_t org, const char *change,
	   const char *why)
{
	size_t sent, failed;
	char *v;

	csip_assert_ok(csip_notify_queue_item(t->hub, item, &org, 1));
	csip_assert_ok(csip_store_exec(csip_hub_store(t->hub), change));
	csip_assert_ok(csip_notify_run_once(t->hub, 10, &sent, &failed));
	g_assert_cmpuint(sent, ==, 0);
	g_assert_cmpuint(failed, ==, 1);
	v = outbox_text(t, "last_error");
	if (strstr(v, why) == NULL)
		g_error("after %s: last_error \"%s\", want \"%s\"", change, v,
			why);
	g_free(v);
	g_assert_cmpint(count(t, "SELECT COUNT(*) FROM outbox WHERE "
		"failed_at IS NOT NULL AND attempts = 1"), ==, 1);
	csip_assert_ok(csip_store_exec(csip_hub_store(t->hub), "DELETE FROM "
		"outbox"));
}

/* A changed webhook_url, a withdrawn item or an organisation that may no
 * longer read the item when its turn comes (its NDA cleared, here; a SIG
 * left or a role changed alike: the payload carries the item's title)
 * stops a queued notification for good; nothing reaches the address. */
static void
test_stale(void)
{
	receiver *rv = receiver_start(0, 200);
	csip_test_hub *t = csip_test_hub_new();
	char *hook = g_strdup_printf("http://127.0.0.1:%d/h", rv->port);
	char *back = g_strdup_printf("UPDATE org SET webhook_url = '%s'", hook);
	int64_t org = add_org(t, "acme", hook, NULL), item = add_item(t, "x");

	stale_case(t, item, org, "UPDATE org SET webhook_url = "
		   "'http://127.0.0.1:9/new'", "webhook_url");
	csip_assert_ok(csip_store_exec(csip_hub_store(t->hub), back));
	stale_case(t, item, org, "UPDATE org SET nda_date = NULL",
		   "may no longer read");
	csip_assert_ok(csip_store_exec(csip_hub_store(t->hub), "UPDATE org "
		"SET nda_date = '2020-01-01'"));
	stale_case(t, item, org, "UPDATE item SET status = 'withdrawn'",
		   "withdrawn");
	g_assert_cmpuint(received_n(rv, 0), ==, 0);
	g_free(back);
	g_free(hook);
	csip_test_hub_free(t);
	receiver_stop(rv);
}

/* Queueing for an unknown item or organisation fails and queues nothing
 * for anyone; a bad max_attempts is a configuration error. */
static void
test_queue_rejects(void)
{
	csip_test_hub *t = csip_test_hub_new();
	int64_t orgs[2], item = add_item(t, "x");
	size_t sent, failed;

	orgs[0] = add_org(t, "acme", "http://127.0.0.1:9/x", NULL);
	orgs[1] = 9999;
	g_assert_cmpint(csip_notify_queue_item(t->hub, 9999, orgs, 1), ==,
			CSIP_ENOTFOUND);
	g_assert_nonnull(strstr(csip_error_last(), "item 9999"));
	g_assert_cmpint(csip_notify_queue_item(t->hub, item, orgs, 2), ==,
			CSIP_ENOTFOUND);
	g_assert_nonnull(strstr(csip_error_last(), "organisation 9999"));
	g_assert_cmpint(count(t, "SELECT COUNT(*) FROM outbox"), ==, 0);
	csip_test_hub_set(t, "notify", "max_attempts", "zero");
	g_assert_cmpint(csip_notify_run_once(t->hub, 10, &sent, &failed), ==,
			CSIP_ECONFIG);
	g_assert_nonnull(strstr(csip_error_last(), "max_attempts"));
	csip_test_hub_free(t);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_mime_init();
	/* The receivers are local: no proxy from the environment. */
	g_setenv("no_proxy", "127.0.0.1", TRUE);
	g_setenv("NO_PROXY", "127.0.0.1", TRUE);
	g_test_add_func("/notify/webhook", test_webhook);
	g_test_add_func("/notify/default-url", test_default_url);
	g_test_add_func("/notify/mail", test_mail);
	g_test_add_func("/notify/retry-http-error", test_retry_http_error);
	g_test_add_func("/notify/retry-refused", test_retry_refused);
	g_test_add_func("/notify/two-workers", test_two_workers);
	g_test_add_func("/notify/stale", test_stale);
	g_test_add_func("/notify/queue-rejects", test_queue_rejects);
	return g_test_run();
}
