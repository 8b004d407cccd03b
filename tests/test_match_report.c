/*
 * test_match_report.c - the matcher's sightings back to the hub: the
 * times taken from log lines, the refusals before anything is sent, one
 * feedback per indicator with its count and first and last time, what the
 * hub refuses dropped with a note, what fails kept and merged for the next
 * send, and a hub that cannot be reached.
 */
#include "lib/match_report.h"
#include "util/error.h"
#include "testutil.h"

#include <glib.h>
#include <jansson.h>
#include <string.h>

static void
test_time(void)
{
	GTimeZone *local = g_time_zone_new_local();
	GDateTime *d = g_date_time_new(local, 2024, 1, 15, 10, 11, 12);

	g_assert_cmpint(csip_match_report_time("2024-01-15T10:11:12.123Z", 7),
			==, 1705313472);
	g_assert_cmpint(csip_match_report_time("2024-01-15T19:11:12+09:00",
					       7), ==, 1705313472);
	/* No zone: the machine's local time, as a log writes it. */
	g_assert_cmpint(csip_match_report_time("2024-01-15T10:11:12.5", 7),
			==, g_date_time_to_unix(d));
	/* Without the day (syslog) or without a time: when it was read. */
	g_assert_cmpint(csip_match_report_time("Jan 15 10:11:12", 7), ==, 7);
	g_assert_cmpint(csip_match_report_time("", 7), ==, 7);
	g_date_time_unref(d);
	g_time_zone_unref(local);
}

static void
test_new(void)
{
	csip_match_report *r = NULL;

	g_assert_cmpint(csip_match_report_new("ftp://hub.example", "t", &r),
			==, CSIP_EINVAL);
	g_assert_cmpint(csip_match_report_new("https://hub.example", "", &r),
			==, CSIP_EINVAL);
	g_assert_nonnull(strstr(csip_error_last(), "CSIP_TOKEN"));
	/* The token never crosses a network in clear. */
	g_assert_cmpint(csip_match_report_new("http://hub.example", "t", &r),
			==, CSIP_EINVAL);
	g_assert_nonnull(strstr(csip_error_last(), "https"));
	g_assert_null(r);
	csip_assert_ok(csip_match_report_new("https://hub.example/", "t", &r));
	csip_match_report_free(r);
	csip_assert_ok(csip_match_report_new("http://127.0.0.1:8080", "t",
					     &r));
	csip_match_report_free(r);
}

/* A hub: 201 for item 1, 404 for item 2, and for item 3 the statuses of
 * item3[] in turn. */
typedef struct hub {
	GMutex lock;
	GPtrArray *posts;    /* "target auth body" */
	GPtrArray *keys;     /* their Idempotency-Keys */
	int item3[4];
	int n3;
} hub;

static void
answer(void *ud, const csip_test_req *rq, int *status, GString *body)
{
	hub *h = ud;

	g_mutex_lock(&h->lock);
	g_ptr_array_add(h->posts, g_strdup_printf("%s %s %s %s", rq->method,
		rq->target, rq->authorization ? rq->authorization : "-",
		rq->body));
	g_ptr_array_add(h->keys, g_strdup(rq->idempotency_key ?
		rq->idempotency_key : "-"));
	if (strcmp(rq->target, "/api/v1/items/1/feedback") == 0) {
		*status = 201;
	} else if (strcmp(rq->target, "/api/v1/items/2/feedback") == 0) {
		*status = 404;
		g_string_append(body, "{\"error\": {\"code\": \"not-found\", "
				"\"message\": \"item 2 does not exist\"}}");
	} else {
		*status = h->item3[h->n3++];
	}
	g_mutex_unlock(&h->lock);
}

/* Serve H (its item3[] set by the caller) on a free port. */
static csip_test_http *
hub_start(hub *h)
{
	h->posts = g_ptr_array_new_with_free_func(g_free);
	h->keys = g_ptr_array_new_with_free_func(g_free);
	g_mutex_init(&h->lock);
	return csip_test_http_start(answer, h);
}

static void
hub_stop(hub *h, csip_test_http *srv)
{
	csip_test_http_stop(srv);
	g_ptr_array_free(h->posts, TRUE);
	g_ptr_array_free(h->keys, TRUE);
	g_mutex_clear(&h->lock);
}

static const int64_t *
item_of(void *ud, csip_ind_type type, const char *value, size_t *n)
{
	static const int64_t one[] = { 1 }, two[] = { 2 }, three[] = { 3 },
		both[] = { 1, 3 };

	(void)ud;
	g_assert_cmpint(type, ==, CSIP_IND_DOMAIN);
	*n = 1;
	if (strcmp(value, "a.example") == 0)
		return one;
	if (strcmp(value, "b.example") == 0)
		return two;
	if (strcmp(value, "d.example") == 0)
		return three;
	if (strcmp(value, "e.example") == 0) {
		*n = 2;
		return both;
	}
	*n = 0;       /* c.example: withdrawn since it was matched */
	return NULL;
}
static void
on_note(void *ud, const char *m)
{
	g_string_append_printf(ud, "%s\n", m);
}

static json_t *
body_of(hub *h, guint i)
{
	const char *p = g_ptr_array_index(h->posts, i);

	return json_loads(strchr(strchr(strchr(p, ' ') + 1, ' ') + 1, '{'),
			  0, NULL);
}

static void
test_send(void)
{
	hub h = { .item3 = { 503, 201, 201 } };
	csip_test_http *srv;
	csip_match_report *r = NULL;
	csip_match_report_stats st;
	GString *notes = g_string_new(NULL), *left = g_string_new(NULL);
	json_t *b;

	srv = hub_start(&h);
	csip_assert_ok(csip_match_report_new(csip_test_http_url(srv), "tok",
					     &r));
	csip_match_report_add(r, CSIP_IND_DOMAIN, "a.example",
			      "2024-01-15T10:00:00Z");
	csip_match_report_add(r, CSIP_IND_DOMAIN, "a.example",
			      "2024-01-15T12:00:00+01:00");
	csip_match_report_add(r, CSIP_IND_DOMAIN, "a.example",
			      "2024-01-15T10:30:00Z");
	csip_match_report_add(r, CSIP_IND_DOMAIN, "b.example", "");
	csip_match_report_add(r, CSIP_IND_DOMAIN, "c.example", "");
	csip_match_report_add(r, CSIP_IND_DOMAIN, "c.example", "");
	csip_match_report_add(r, CSIP_IND_DOMAIN, "d.example",
			      "2024-01-15T09:00:00Z");
	csip_match_report_pending(r, left);
	g_assert_nonnull(strstr(left->str, "\"item\":null"));

	/* a goes, b is refused (404), c has no item any more, d meets a
	 * 503 and stays. */
	g_assert_cmpint(csip_match_report_send(r, item_of, NULL, on_note,
					       notes, &st), ==, CSIP_EIO);
	g_assert_nonnull(strstr(csip_error_last(), "HTTP 503"));
	g_assert_nonnull(strstr(csip_error_last(), "1 sighting of 1 "
				"indicator kept"));
	g_assert_cmpint(st.sent, ==, 1);
	g_assert_cmpint(st.sightings, ==, 3);
	g_assert_cmpint(st.dropped, ==, 3);
	g_assert_cmpint(st.kept, ==, 1);
	g_assert_nonnull(strstr(notes->str, "c.example: 2 sightings not "
				"reported: no item"));
	g_assert_nonnull(strstr(notes->str, "b.example: 1 sighting not "
				"reported to item 2: the hub refused them "
				"(HTTP 404: item 2 does not exist)"));
	g_assert_cmpint(h.posts->len, ==, 3);
	g_assert_true(g_str_has_prefix(g_ptr_array_index(h.posts, 0),
		"POST /api/v1/items/1/feedback Bearer tok {"));
	b = body_of(&h, 0);
	g_assert_cmpstr(json_string_value(json_object_get(b, "kind")), ==,
			"sighting");
	g_assert_cmpint(json_integer_value(json_object_get(b, "count")), ==,
			3);
	g_assert_cmpstr(json_string_value(json_object_get(b, "seen_at")), ==,
			"2024-01-15T10:00:00Z");
	g_assert_cmpstr(json_string_value(json_object_get(b,
			"last_seen_at")), ==, "2024-01-15T11:00:00Z");
	g_assert_cmpstr(json_string_value(json_object_get(json_object_get(b,
			"indicator"), "value")), ==, "a.example");
	json_decref(b);

	/* The 503 may have come after the hub recorded it: d's POST is
	 * kept as it was, under its Idempotency-Key, and sent again so; d
	 * seen again meanwhile goes on its own, under a new key. */
	for (guint i = 0; i < 3; i++)
		g_assert_cmpuint(strlen(g_ptr_array_index(h.keys, i)), ==, 36);
	g_assert_cmpstr(g_ptr_array_index(h.keys, 0), !=,
			g_ptr_array_index(h.keys, 2));
	csip_match_report_add(r, CSIP_IND_DOMAIN, "d.example",
			      "2024-01-15T09:30:00Z");
	g_string_truncate(left, 0);
	csip_match_report_pending(r, left);
	g_assert_nonnull(strstr(left->str, "{\"item\":3,"));
	g_assert_nonnull(strstr(left->str, g_ptr_array_index(h.keys, 2)));
	csip_assert_ok(csip_match_report_send(r, item_of, NULL, on_note,
					      notes, &st));
	g_assert_cmpint(st.sent, ==, 2);
	g_assert_cmpint(st.sightings, ==, 2);
	g_assert_cmpint(st.kept, ==, 0);
	g_assert_cmpint(h.posts->len, ==, 5);
	for (guint i = 3; i < 5; i++) {
		const char *k = g_ptr_array_index(h.keys, i);
		int retry = strcmp(k, g_ptr_array_index(h.keys, 2)) == 0;

		b = body_of(&h, i);
		g_assert_cmpint(json_integer_value(json_object_get(b,
				"count")), ==, 1);
		g_assert_cmpstr(json_string_value(json_object_get(b,
				"seen_at")), ==, retry ? "2024-01-15T09:00:00Z"
				: "2024-01-15T09:30:00Z");
		json_decref(b);
	}
	g_assert_cmpstr(g_ptr_array_index(h.keys, 3), !=,
			g_ptr_array_index(h.keys, 4));
	/* Nothing left, nothing sent. */
	csip_assert_ok(csip_match_report_send(r, item_of, NULL, on_note,
					      notes, &st));
	g_assert_cmpint(h.posts->len, ==, 5);
	g_string_truncate(left, 0);
	csip_match_report_pending(r, left);
	g_assert_cmpstr(left->str, ==, "");

	csip_match_report_free(r);
	hub_stop(&h, srv);
	g_string_free(notes, TRUE);
	g_string_free(left, TRUE);
}

/* Nobody listening: everything kept, and said. */
static void
test_unreachable(void)
{
	csip_test_http *srv = csip_test_http_start(NULL, NULL);
	char *url = g_strdup(csip_test_http_url(srv));
	csip_match_report *r = NULL;
	csip_match_report_stats st;
	GString *left = g_string_new(NULL);

	/* A port that was just free. */
	csip_test_http_stop(srv);
	csip_assert_ok(csip_match_report_new(url, "tok", &r));
	csip_match_report_add(r, CSIP_IND_DOMAIN, "a.example", "");
	csip_match_report_add(r, CSIP_IND_DOMAIN, "d.example", "");
	g_assert_cmpint(csip_match_report_send(r, item_of, NULL, NULL, NULL,
					       &st), ==, CSIP_EIO);
	g_assert_nonnull(strstr(csip_error_last(), "reporting to "));
	g_assert_nonnull(strstr(csip_error_last(), "2 sightings of 2 "
				"indicators kept"));
	g_assert_cmpint(st.sent, ==, 0);
	csip_match_report_pending(r, left);
	g_assert_nonnull(strstr(left->str, "{\"item\":1,\"indicator\":"
				"{\"type\":\"domain\",\"value\":\"a.example\"},"
				"\"count\":1,"));
	g_assert_nonnull(strstr(left->str, "{\"item\":3,"));
	csip_match_report_free(r);
	g_string_free(left, TRUE);
	g_free(url);
}

/* Sealed only (csip match --state): a send takes what was sealed, under
 * the keys it was sealed with; a count restored with its key is sent
 * apart, never added to. */
static void
test_seal(void)
{
	hub h = { 0 };
	csip_test_http *srv;
	csip_match_report *r = NULL;
	csip_match_report_stats st;
	GString *left = g_string_new(NULL);
	json_t *b;
	int seen5 = 0, seen3 = 0;

	srv = hub_start(&h);
	csip_assert_ok(csip_match_report_new(csip_test_http_url(srv), "tok",
					     &r));
	csip_match_report_sealed_only(r);
	csip_match_report_add(r, CSIP_IND_DOMAIN, "a.example", "");
	csip_match_report_add(r, CSIP_IND_DOMAIN, "a.example", "");
	csip_assert_ok(csip_match_report_send(r, item_of, NULL, NULL, NULL,
					      &st));
	g_assert_cmpint(h.posts->len, ==, 0);
	csip_match_report_seal(r);
	csip_match_report_pending(r, left);
	g_assert_nonnull(strstr(left->str, "\"item\":null"));
	g_assert_nonnull(strstr(left->str, "\"count\":2"));
	g_assert_nonnull(strstr(left->str, "\"key\":\""));
	/* A key that could not be sent as a header is a damaged state. */
	g_assert_cmpint(csip_match_report_restore(r, "{\"item\": null, "
		"\"indicator\": {\"type\": \"domain\", \"value\": "
		"\"a.example\"}, \"count\": 5, \"first_seen\": "
		"\"2026-01-01T00:00:00Z\", \"last_seen\": "
		"\"2026-01-01T00:00:00Z\", \"key\": \"K 0\"}\n"), ==,
		CSIP_EINVAL);
	csip_error_clear();
	csip_assert_ok(csip_match_report_restore(r, "{\"item\": null, "
		"\"indicator\": {\"type\": \"domain\", \"value\": "
		"\"a.example\"}, \"count\": 5, \"first_seen\": "
		"\"2026-01-01T00:00:00Z\", \"last_seen\": "
		"\"2026-01-01T00:00:00Z\", \"key\": \"K0\"}\n"));
	csip_match_report_add(r, CSIP_IND_DOMAIN, "a.example", "");
	csip_match_report_seal(r);
	csip_assert_ok(csip_match_report_send(r, item_of, NULL, NULL, NULL,
					      &st));
	g_assert_cmpint(st.sent, ==, 2);
	g_assert_cmpint(st.sightings, ==, 8);
	g_assert_cmpint(h.posts->len, ==, 2);
	for (guint i = 0; i < 2; i++) {
		const char *k = g_ptr_array_index(h.keys, i);

		b = body_of(&h, i);
		if (strcmp(k, "K0") == 0) {
			g_assert_cmpint(json_integer_value(json_object_get(b,
					"count")), ==, 5);
			seen5 = 1;
		} else {
			g_assert_cmpint(json_integer_value(json_object_get(b,
					"count")), ==, 3);
			g_assert_nonnull(strstr(left->str, k));
			seen3 = 1;
		}
		json_decref(b);
	}
	g_assert_true(seen5 && seen3);
	csip_match_report_free(r);
	hub_stop(&h, srv);
	g_string_free(left, TRUE);
}

/* The item a POST went to, from its "target auth body". */
static int64_t
post_item(hub *h, guint i)
{
	const char *p = g_ptr_array_index(h->posts, i);

	return g_ascii_strtoll(strstr(p, "/items/") + 7, NULL, 10);
}

/* A value that several items carry: a feedback to each, with the whole
 * count.  Sealed counts keep their key for the first item and get one
 * made from it for each other, the same at every restore. */
static void
test_several_items(void)
{
	static const char sealed[] = "{\"item\": null, \"indicator\": "
		"{\"type\": \"domain\", \"value\": \"e.example\"}, "
		"\"count\": 5, \"first_seen\": \"2026-01-01T00:00:00Z\", "
		"\"last_seen\": \"2026-01-01T00:00:00Z\", \"key\": \"K0\"}\n";
	hub h = { .item3 = { 201, 201, 201, 201 } };
	csip_test_http *srv;
	csip_match_report *r = NULL;
	csip_match_report_stats st;
	char *made[2] = { NULL, NULL };

	srv = hub_start(&h);
	csip_assert_ok(csip_match_report_new(csip_test_http_url(srv), "tok",
					     &r));
	csip_match_report_add(r, CSIP_IND_DOMAIN, "e.example", "");
	csip_match_report_add(r, CSIP_IND_DOMAIN, "e.example", "");
	csip_assert_ok(csip_match_report_send(r, item_of, NULL, NULL, NULL,
					      &st));
	g_assert_cmpint(st.sent, ==, 2);
	g_assert_cmpint(h.posts->len, ==, 2);
	g_assert_cmpint(post_item(&h, 0) + post_item(&h, 1), ==, 4);
	for (guint i = 0; i < 2; i++) {
		json_t *b = body_of(&h, i);

		g_assert_cmpint(json_integer_value(json_object_get(b,
				"count")), ==, 2);
		json_decref(b);
	}
	csip_match_report_free(r);
	for (int round = 0; round < 2; round++) {
		guint base = h.posts->len;

		csip_assert_ok(csip_match_report_new(csip_test_http_url(srv),
						     "tok", &r));
		csip_match_report_sealed_only(r);
		csip_assert_ok(csip_match_report_restore(r, sealed));
		csip_assert_ok(csip_match_report_send(r, item_of, NULL, NULL,
						      NULL, &st));
		g_assert_cmpint(st.sent, ==, 2);
		g_assert_cmpint(h.posts->len, ==, base + 2);
		for (guint i = base; i < base + 2; i++) {
			const char *k = g_ptr_array_index(h.keys, i);

			if (post_item(&h, i) == 1) {
				g_assert_cmpstr(k, ==, "K0");
				continue;
			}
			g_assert_cmpint(post_item(&h, i), ==, 3);
			g_assert_cmpstr(k, !=, "K0");
			g_assert_cmpuint(strlen(k), ==, 36);
			made[round] = g_strdup(k);
		}
		csip_match_report_free(r);
	}
	g_assert_nonnull(made[0]);
	g_assert_cmpstr(made[0], ==, made[1]);
	g_free(made[0]);
	g_free(made[1]);
	hub_stop(&h, srv);
}

/* What pending() writes, restore() reads back: the same lines; a bad
 * line anywhere restores nothing. */
static void
test_restore(void)
{
	csip_match_report *r = NULL;
	GString *a = g_string_new(NULL), *b = g_string_new(NULL);

	csip_assert_ok(csip_match_report_new("https://hub.example", "t", &r));
	csip_assert_ok(csip_match_report_restore(r, "{\"item\": 7, "
		"\"indicator\": {\"type\": \"domain\", \"value\": "
		"\"evil.example\"}, \"count\": 3, \"first_seen\": "
		"\"2026-01-01T00:00:00Z\", \"last_seen\": "
		"\"2026-01-02T00:00:00Z\"}\n\n{\"item\": null, \"indicator\": "
		"{\"type\": \"ipv4\", \"value\": \"192.0.2.1\"}, \"count\": "
		"1, \"first_seen\": \"2026-01-03T00:00:00Z\", \"last_seen\": "
		"\"2026-01-03T00:00:00Z\"}\n"));
	csip_match_report_pending(r, a);
	g_assert_nonnull(strstr(a->str, "{\"item\":7,\"indicator\":{\"type\":"
		"\"domain\",\"value\":\"evil.example\"},\"count\":3,"
		"\"first_seen\":\"2026-01-01T00:00:00Z\",\"last_seen\":"
		"\"2026-01-02T00:00:00Z\"}\n"));
	g_assert_nonnull(strstr(a->str, "\"item\":null,\"indicator\":{"
		"\"type\":\"ipv4\",\"value\":\"192.0.2.1\"},\"count\":1"));
	/* Restored twice: counts add up, spans widen. */
	csip_assert_ok(csip_match_report_restore(r, a->str));
	csip_match_report_pending(r, b);
	g_assert_nonnull(strstr(b->str, "\"count\":6,"));
	g_assert_nonnull(strstr(b->str, "\"count\":2,"));
	g_string_truncate(a, 0);
	g_assert_cmpint(csip_match_report_restore(r, "{\"item\": null, "
		"\"indicator\": {\"type\": \"ipv4\", \"value\": \"192.0.2.9\"}"
		", \"count\": 1, \"first_seen\": \"2026-01-03T00:00:00Z\", "
		"\"last_seen\": \"2026-01-03T00:00:00Z\"}\n{\"count\": 0}\n"),
		==, CSIP_EINVAL);
	g_assert_nonnull(strstr(csip_error_last(), "sighting 2"));
	csip_match_report_pending(r, a);
	g_assert_cmpstr(a->str, ==, b->str);
	g_string_free(a, TRUE);
	g_string_free(b, TRUE);
	csip_match_report_free(r);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/match-report/time", test_time);
	g_test_add_func("/match-report/new", test_new);
	g_test_add_func("/match-report/send", test_send);
	g_test_add_func("/match-report/unreachable", test_unreachable);
	g_test_add_func("/match-report/restore", test_restore);
	g_test_add_func("/match-report/seal", test_seal);
	g_test_add_func("/match-report/several-items", test_several_items);
	return g_test_run();
}
