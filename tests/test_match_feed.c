/*
 * test_match_feed.c - the matcher's indicators kept up to date: since=
 * added to a URL, full loads from a file, and against a server that
 * answers since= as the hub's CSV export does: incremental loads that add
 * only what is new, keep the lowest item of a value, leave the set alone
 * when nothing is new, and full loads that drop what was withdrawn.
 */
#include "lib/match.h"
#include "lib/match_feed.h"
#include "util/error.h"
#include "testutil.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

static void
test_since_url(void)
{
	char *u;

	u = csip_match_feed_since_url("http://127.0.0.1:8/api/v1/export/csv",
				      "2025-04-01T09:00:00Z");
	g_assert_nonnull(u);
	g_assert_true(g_str_has_prefix(u, "http://127.0.0.1:8/api/v1/export/"
				       "csv?since=2025-04-01T09"));
	g_free(u);
	u = csip_match_feed_since_url("https://hub.example/x?type=domain",
				      "2025-04-01");
	g_assert_cmpstr(u, ==, "https://hub.example/x?type=domain&since="
			"2025-04-01");
	g_free(u);
	/* The caller's own since= stays; files take no query. */
	g_assert_null(csip_match_feed_since_url("https://hub.example/x?a=1&"
						"since=2025-01-01", "2025"));
	g_assert_null(csip_match_feed_since_url("/var/lib/feed.csv", "2025"));
	g_assert_null(csip_match_feed_since_url("ftp://hub.example/x",
						"2025"));
}

static void
on_hit(void *ud, const csip_match_hit *h)
{
	(void)ud;
	(void)h;
}

static int
has(const csip_match_set *s, const char *line)
{
	return csip_match_line(s, line, strlen(line), on_hit, NULL) > 0;
}

/* The items FD names for TYPE VALUE, as "id,id" ("" for none). */
static char *
items(const csip_match_feed *fd, csip_ind_type type, const char *value)
{
	GString *g = g_string_new(NULL);
	size_t n = 0;
	const int64_t *ids = csip_match_feed_items(fd, type, value, &n);

	for (size_t i = 0; i < n; i++)
		g_string_append_printf(g, "%s%" G_GINT64_FORMAT, i ? "," : "",
				       ids[i]);
	return g_string_free(g, FALSE);
}

/* items() is as WANT. */
#define assert_items(fd, type, value, want) do { \
	char *got_ = items(fd, type, value); \
	g_assert_cmpstr(got_, ==, want); \
	g_free(got_); \
} while (0)

static void
test_file(void)
{
	static const char csv[] = "type,value,item,tlp,published_at\r\n"
		"domain,evil.example,4,AMBER,2025-04-01T09:30:00Z\r\n"
		"ipv4,192.0.2.1,2,AMBER,2025-04-01T09:00:00Z\r\n"
		"domain,evil.example,1,AMBER,2025-04-01T09:00:00Z\r\n"
		"ssdeep,3:abc:def,2,AMBER,2025-04-01T09:00:00Z\r\n";
	char *dir = g_dir_make_tmp("csip-feed-XXXXXX", NULL);
	char *path = g_build_filename(dir, "feed.csv", NULL);
	csip_match_feed *fd = csip_match_feed_new(path, CSIP_MSRC_AUTO);
	csip_match_feed_stats st;
	csip_match_set *s = NULL, *s2 = NULL;

	g_assert_true(g_file_set_contents(path, csv, -1, NULL));
	csip_assert_ok(csip_match_feed_load(fd, 0, NULL, NULL, &s, &st));
	g_assert_nonnull(s);
	g_assert_true(st.full);
	g_assert_cmpint(st.count, ==, 2);
	g_assert_cmpint(st.src.skipped, ==, 1);
	g_assert_true(csip_match_feed_has_items(fd));
	assert_items(fd, CSIP_IND_DOMAIN, "evil.example", "1,4");
	assert_items(fd, CSIP_IND_IPV4, "192.0.2.1", "2");
	assert_items(fd, CSIP_IND_HOSTNAME, "evil.example", "");
	/* A file is read whole each time. */
	g_assert_false(csip_match_feed_incremental(fd));
	g_assert_true(g_file_set_contents(path, "new.example\n", -1, NULL));
	csip_assert_ok(csip_match_feed_load(fd, 0, NULL, NULL, &s2, &st));
	g_assert_true(st.full);
	g_assert_true(has(s2, "a.new.example"));
	g_assert_false(has(s2, "evil.example"));
	g_assert_true(has(s, "evil.example"));
	g_assert_false(csip_match_feed_has_items(fd));
	assert_items(fd, CSIP_IND_DOMAIN, "evil.example", "");
	/* A failed load leaves the feed as it was. */
	g_assert_cmpint(g_unlink(path), ==, 0);
	csip_match_set_free(s);
	s = NULL;
	g_assert_cmpint(csip_match_feed_load(fd, 1, NULL, NULL, &s, &st), ==,
			CSIP_EIO);
	g_assert_null(s);
	csip_match_feed_free(fd);
	csip_match_set_free(s2);
	csip_test_rmtree(dir);
	g_free(path);
	g_free(dir);
}

/* The hub's export as a table of rows; since= keeps those published at
 * or after it. */
typedef struct hub {
	GMutex lock;
	GPtrArray *rows;     /* "type,value,item,tlp,published_at" */
	GPtrArray *seen;     /* request targets */
	int status;
} hub;

static void
answer(void *ud, const csip_test_req *rq, int *status, GString *body)
{
	hub *h = ud;
	const char *since = strstr(rq->target, "since=");
	char *s = since ? g_uri_unescape_string(since + 6, NULL) : NULL;

	g_mutex_lock(&h->lock);
	g_ptr_array_add(h->seen, g_strdup(rq->target));
	*status = h->status;
	g_string_append(body, "type,value,item,tlp,published_at\r\n");
	for (guint i = 0; i < h->rows->len; i++) {
		const char *r = g_ptr_array_index(h->rows, i);

		if (s && strcmp(strrchr(r, ',') + 1, s) < 0)
			continue;
		g_string_append_printf(body, "%s\r\n", r);
	}
	g_mutex_unlock(&h->lock);
	g_free(s);
}

static void
rows_set(hub *h, const char *const *rows)
{
	g_mutex_lock(&h->lock);
	g_ptr_array_set_size(h->rows, 0);
	for (; *rows; rows++)
		g_ptr_array_add(h->rows, g_strdup(*rows));
	g_mutex_unlock(&h->lock);
}

static const char *
last_target(hub *h)
{
	return g_ptr_array_index(h->seen, h->seen->len - 1);
}

static void
test_incremental(void)
{
	static const char *const first[] = {
		"domain,evil.example,1,AMBER,2025-04-01T09:00:00Z",
		"ipv4,192.0.2.1,2,AMBER,2025-04-01T10:00:00Z", NULL };
	/* Item 3 is new; item 5 carries evil.example too; item 2 is
	 * withdrawn (gone from the export). */
	static const char *const second[] = {
		"domain,evil.example,1,AMBER,2025-04-01T09:00:00Z",
		"ipv4,192.0.2.1,2,AMBER,2025-04-01T10:00:00Z",
		"url,http://pay.example/login,3,AMBER,2025-04-01T10:00:10Z",
		"domain,evil.example,5,AMBER,2025-04-01T10:00:10Z", NULL };
	static const char *const third[] = {
		"domain,evil.example,1,AMBER,2025-04-01T09:00:00Z",
		"url,http://pay.example/login,3,AMBER,2025-04-01T10:00:10Z",
		"domain,evil.example,5,AMBER,2025-04-01T10:00:10Z", NULL };
	hub h = { .rows = g_ptr_array_new_with_free_func(g_free),
		.seen = g_ptr_array_new_with_free_func(g_free),
		.status = 200 };
	csip_test_http *srv;
	csip_match_feed *fd;
	csip_match_feed_stats st;
	csip_match_set *s1 = NULL, *s2 = NULL, *s3 = NULL, *s4 = NULL;
	char *url, *lower;

	g_mutex_init(&h.lock);
	srv = csip_test_http_start(answer, &h);
	url = g_strconcat(csip_test_http_url(srv), "/api/v1/export/csv",
			  NULL);
	fd = csip_match_feed_new(url, CSIP_MSRC_AUTO);
	rows_set(&h, first);
	csip_assert_ok(csip_match_feed_load(fd, 0, NULL, NULL, &s1, &st));
	g_assert_true(st.full);
	g_assert_cmpint(st.count, ==, 2);
	g_assert_cmpstr(last_target(&h), ==, "/api/v1/export/csv");
	g_assert_true(csip_match_feed_incremental(fd));

	/* What is new since the newest time read, less the overlap. */
	rows_set(&h, second);
	csip_assert_ok(csip_match_feed_load(fd, 0, NULL, NULL, &s2, &st));
	g_assert_false(st.full);
	lower = g_ascii_strdown(last_target(&h), -1);
	g_assert_nonnull(strstr(lower, "?since=2025-04-01t09%3a55%3a00z"));
	g_free(lower);
	g_assert_cmpint(st.fresh, ==, 1);
	g_assert_cmpint(st.count, ==, 3);
	g_assert_nonnull(s2);
	g_assert_true(has(s2, "GET http://pay.example/login"));
	g_assert_true(has(s2, "a.evil.example 192.0.2.1"));
	g_assert_false(has(s1, "GET http://pay.example/login"));
	assert_items(fd, CSIP_IND_URL, "http://pay.example/login", "3");
	assert_items(fd, CSIP_IND_DOMAIN, "evil.example", "1,5");

	/* Nothing new: no set; the withdrawn item stays until a full
	 * load. */
	rows_set(&h, third);
	csip_assert_ok(csip_match_feed_load(fd, 0, NULL, NULL, &s3, &st));
	g_assert_null(s3);
	g_assert_cmpint(st.fresh, ==, 0);
	g_assert_cmpint(st.count, ==, 3);
	assert_items(fd, CSIP_IND_IPV4, "192.0.2.1", "2");
	csip_assert_ok(csip_match_feed_load(fd, 1, NULL, NULL, &s3, &st));
	g_assert_true(st.full);
	g_assert_cmpint(st.count, ==, 2);
	g_assert_false(has(s3, "192.0.2.1"));
	assert_items(fd, CSIP_IND_IPV4, "192.0.2.1", "");

	/* The hub failing: an error, and the feed as it was. */
	h.status = 503;
	g_assert_cmpint(csip_match_feed_load(fd, 0, NULL, NULL, &s4, &st), ==,
			CSIP_EIO);
	g_assert_nonnull(strstr(csip_error_last(), "HTTP 503"));
	g_assert_null(s4);
	assert_items(fd, CSIP_IND_URL, "http://pay.example/login", "3");
	h.status = 200;
	csip_assert_ok(csip_match_feed_load(fd, 0, NULL, NULL, &s4, &st));
	g_assert_null(s4);

	csip_match_feed_free(fd);
	csip_match_set_free(s1);
	csip_match_set_free(s2);
	csip_match_set_free(s3);
	csip_test_http_stop(srv);
	g_ptr_array_free(h.rows, TRUE);
	g_ptr_array_free(h.seen, TRUE);
	g_mutex_clear(&h.lock);
	g_free(url);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/match-feed/since-url", test_since_url);
	g_test_add_func("/match-feed/file", test_file);
	g_test_add_func("/match-feed/incremental", test_incremental);
	return g_test_run();
}
