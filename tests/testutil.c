/*
 * testutil.c - throwaway hubs and a small HTTP server for the unit tests
 * (see testutil.h).
 */
#include "testutil.h"
#include "util/error.h"

#include <gio/gio.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
csip_test_rmtree(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;

	if (d == NULL)
		return;
	while ((name = g_dir_read_name(d))) {
		char *p = g_build_filename(dir, name, NULL);

		if (g_file_test(p, G_FILE_TEST_IS_DIR) &&
		    !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
			csip_test_rmtree(p);
		else
			g_unlink(p);
		g_free(p);
	}
	g_dir_close(d);
	g_rmdir(dir);
}

const char *
csip_test_pg(void)
{
	const char *v = g_getenv("CSIP_TEST_PG");

	return v && *v ? v : NULL;
}

/* Run SQL on the maintenance database of CSIP_TEST_PG. */
static void
pg_admin(const char *sql)
{
	csip_store *s = NULL;

	csip_assert_ok(csip_store_open(csip_test_pg(), &s));
	csip_assert_ok(csip_store_exec(s, sql));
	csip_store_close(s);
}

char *
csip_test_pg_create(char **name)
{
	static unsigned serial;
	const char *base = csip_test_pg();
	char *sql, *url, *at;

	g_assert_nonnull(base);
	*name = g_strdup_printf("csip_t%d_%u", (int)getpid(), ++serial);
	sql = g_strdup_printf("CREATE DATABASE %s", *name);
	pg_admin(sql);
	g_free(sql);
	at = strstr(base, "/postgres?");
	g_assert_nonnull(at);
	url = g_strdup_printf("%.*s/%s%s", (int)(at - base), base, *name,
		at + strlen("/postgres"));
	return url;
}

void
csip_test_pg_drop(const char *name)
{
	char *sql = g_strdup_printf("DROP DATABASE IF EXISTS %s WITH (FORCE)",
		name);

	pg_admin(sql);
	g_free(sql);
}

csip_test_hub *
csip_test_hub_new(void)
{
	csip_test_hub *t = g_new0(csip_test_hub, 1);
	GError *err = NULL;
	char *ini, *url = NULL;

	t->dir = g_dir_make_tmp("csip-test-XXXXXX", &err);
	g_assert_no_error(err);
	t->conf_path = g_build_filename(t->dir, "csip.conf", NULL);
	if (csip_test_pg())
		url = csip_test_pg_create(&t->pg_name);
	ini = url ? g_strdup_printf("[data]\ndir = %s/data\n[database]\n"
		"url = %s\n", t->dir, url)
		: g_strdup_printf("[data]\ndir = %s/data\n", t->dir);
	g_free(url);
	g_file_set_contents(t->conf_path, ini, -1, &err);
	g_assert_no_error(err);
	g_free(ini);
	csip_assert_ok(csip_config_load(t->conf_path, &t->cfg));
	csip_assert_ok(csip_hub_open(t->cfg, CSIP_HUB_CREATE, &t->hub));
	return t;
}

void
csip_test_hub_reopen(csip_test_hub *t)
{
	csip_hub_free(t->hub);
	t->hub = NULL;
	csip_assert_ok(csip_hub_open(t->cfg, 0, &t->hub));
}

void
csip_test_hub_set(csip_test_hub *t, const char *group, const char *key,
		  const char *value)
{
	GKeyFile *kf = g_key_file_new();
	GError *err = NULL;

	g_key_file_load_from_file(kf, t->conf_path, G_KEY_FILE_NONE, &err);
	g_assert_no_error(err);
	g_key_file_set_string(kf, group, key, value);
	g_key_file_save_to_file(kf, t->conf_path, &err);
	g_assert_no_error(err);
	g_key_file_free(kf);
	/* The hub borrows the configuration: close it before the swap. */
	csip_hub_free(t->hub);
	t->hub = NULL;
	csip_config_free(t->cfg);
	t->cfg = NULL;
	csip_assert_ok(csip_config_load(t->conf_path, &t->cfg));
	csip_assert_ok(csip_hub_open(t->cfg, 0, &t->hub));
}

void
csip_test_hub_free(csip_test_hub *t)
{
	if (t == NULL)
		return;
	csip_hub_free(t->hub);
	csip_config_free(t->cfg);
	if (t->pg_name)
		csip_test_pg_drop(t->pg_name);
	g_free(t->pg_name);
	csip_test_rmtree(t->dir);
	g_free(t->dir);
	g_free(t->conf_path);
	g_free(t);
}

int64_t
csip_test_report_add(csip_test_hub *t, const char *org,
		     const char *permission, const char *attribution,
		     const char *removed)
{
	static unsigned serial;
	csip_store *s = csip_hub_store(t->hub);
	char oid[24], rid[24], now[21], *sha;
	int64_t org_id = 0, id = 0;

	csip_assert_ok(csip_store_query_int64(s, &org_id, "SELECT id FROM org "
		"WHERE name = ?", org, NULL));
	g_snprintf(oid, sizeof oid, "%" G_GINT64_FORMAT, org_id);
	csip_store_now(now);
	sha = g_strdup_printf("%064u", ++serial);
	csip_assert_ok(csip_store_query_int64(s, &id, "INSERT INTO report "
		"(org_id, kind, permission, attribution, tlp, source, "
		"received_at, raw_sha256) VALUES (?, 'indicators', ?, ?, "
		"'amber', 'test', ?, ?) RETURNING id", oid,
		permission ? permission : "sig",
		attribution ? attribution : "none", now, sha, NULL));
	g_snprintf(rid, sizeof rid, "%" G_GINT64_FORMAT, id);
	csip_assert_ok(csip_store_run(s, NULL, "INSERT INTO report_content "
		"(report_id, raw, removed, extraction) VALUES (?, 'raw', ?, "
		"'{}')", rid, removed ? removed : CSIP_SQL_NULL, NULL));
	g_free(sha);
	return id;
}

void
csip_test_observation_add(csip_test_hub *t, int64_t report_id,
			  const char *type, const char *value, int shareable)
{
	char rid[24];

	g_snprintf(rid, sizeof rid, "%" G_GINT64_FORMAT, report_id);
	csip_assert_ok(csip_store_run(csip_hub_store(t->hub), NULL, "INSERT "
		"INTO observation (report_id, type, value, found_in, "
		"shareable) VALUES (?, ?, ?, 'body', ?)", rid, type, value,
		shareable < 0 ? CSIP_SQL_NULL : shareable ? "1" : "0", NULL));
}

struct csip_test_http {
	GSocket *listener;
	GThread *thread;
	csip_test_http_fn fn;
	void *ud;
	char *url;
	volatile gint stop;
};

/* The value of header NAME in the request head HEAD, or NULL (g_free). */
static char *
header_of(const char *head, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = strstr(head, "\r\n"); p; p = strstr(p, "\r\n")) {
		p += 2;
		if (g_ascii_strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1, *e = strstr(v, "\r\n");

			while (*v == ' ')
				v++;
			return g_strndup(v, e ? (size_t)(e - v) : strlen(v));
		}
	}
	return NULL;
}

static void
http_serve(csip_test_http *h, GSocket *c)
{
	GString *in = g_string_new(NULL), *body = g_string_new(NULL), *out;
	char buf[4096], *head_end, *len, *auth, *ikey, **first;
	gssize r;
	size_t want = 0;
	int status = 500;
	csip_test_req rq;

	while ((head_end = strstr(in->str, "\r\n\r\n")) == NULL ||
	       in->len < (size_t)(head_end - in->str) + 4 + want) {
		if (head_end && want == 0) {
			char *head = g_strndup(in->str, (size_t)(head_end -
							      in->str));

			len = header_of(head, "Content-Length");
			want = len ? strtoul(len, NULL, 10) : 0;
			g_free(len);
			g_free(head);
			if (in->len >= (size_t)(head_end - in->str) + 4 + want)
				break;
		}
		r = g_socket_receive(c, buf, sizeof buf, NULL, NULL);
		if (r <= 0)
			goto out;
		g_string_append_len(in, buf, r);
	}
	*head_end = '\0';
	first = g_strsplit(in->str, " ", 3);
	auth = header_of(in->str, "Authorization");
	ikey = header_of(in->str, "Idempotency-Key");
	rq.method = first[0];
	rq.target = first[1] ? first[1] : "";
	rq.authorization = auth;
	rq.idempotency_key = ikey;
	rq.body = head_end + 4;
	h->fn(h->ud, &rq, &status, body);
	out = g_string_new(NULL);
	g_string_printf(out, "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n"
			"Connection: close\r\n\r\n", status, body->len);
	g_string_append_len(out, body->str, (gssize)body->len);
	for (size_t done = 0; done < out->len;) {
		gssize w = g_socket_send(c, out->str + done, out->len - done,
					 NULL, NULL);

		if (w <= 0)
			break;
		done += (size_t)w;
	}
	g_string_free(out, TRUE);
	g_strfreev(first);
	g_free(auth);
	g_free(ikey);
out:
	g_string_free(in, TRUE);
	g_string_free(body, TRUE);
}

static gpointer
http_loop(gpointer data)
{
	csip_test_http *h = data;

	for (;;) {
		GSocket *c = g_socket_accept(h->listener, NULL, NULL);

		if (g_atomic_int_get(&h->stop)) {
			if (c)
				g_object_unref(c);
			break;
		}
		if (c == NULL)
			continue;
		http_serve(h, c);
		g_socket_close(c, NULL);
		g_object_unref(c);
	}
	return NULL;
}

csip_test_http *
csip_test_http_start(csip_test_http_fn fn, void *ud)
{
	csip_test_http *h = g_new0(csip_test_http, 1);
	GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
	GSocketAddress *a = g_inet_socket_address_new(lo, 0), *bound;

	h->fn = fn;
	h->ud = ud;
	h->listener = g_socket_new(G_SOCKET_FAMILY_IPV4,
				   G_SOCKET_TYPE_STREAM,
				   G_SOCKET_PROTOCOL_TCP, NULL);
	g_assert_nonnull(h->listener);
	g_assert_true(g_socket_bind(h->listener, a, TRUE, NULL));
	g_assert_true(g_socket_listen(h->listener, NULL));
	bound = g_socket_get_local_address(h->listener, NULL);
	h->url = g_strdup_printf("http://127.0.0.1:%u",
		g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound)));
	g_object_unref(bound);
	g_object_unref(a);
	g_object_unref(lo);
	h->thread = g_thread_new("test-http", http_loop, h);
	return h;
}

const char *
csip_test_http_url(const csip_test_http *h)
{
	return h->url;
}

void
csip_test_http_stop(csip_test_http *h)
{
	GSocketClient *cl = g_socket_client_new();
	GSocketConnection *conn;
	char *hostport = g_strdup(h->url + 7);

	/* Wake the accept() up with one last connection. */
	g_atomic_int_set(&h->stop, 1);
	conn = g_socket_client_connect_to_host(cl, hostport, 0, NULL, NULL);
	if (conn)
		g_object_unref(conn);
	g_thread_join(h->thread);
	g_object_unref(cl);
	g_socket_close(h->listener, NULL);
	g_object_unref(h->listener);
	g_free(hostport);
	g_free(h->url);
	g_free(h);
}
