/*
 * test_feedback.c - feedback on shared items: only a reader of the
 * published item gives it, each reader sees the rows and names it may,
 * and the counts name no one.
 */
#include "lib/audit.h"
#include "lib/feedback.h"
#include "lib/item.h"
#include "lib/org.h"
#include "testutil.h"
#include "util/error.h"

#include <glib.h>
#include <string.h>

typedef struct world {
	csip_test_hub *t;
	int64_t hub, prov, in_sig, in_sig2, other, partner;
	int64_t item, draft;
} world;

static int64_t
org(world *w, const char *name, const char *role, const char *nda,
    char **sigs)
{
	csip_org_spec spec = { .name = name, .role = role, .nda_date = nda,
		.sigs = sigs };
	int64_t id;

	csip_assert_ok(csip_org_add(w->t->hub, "test", &spec, &id));
	return id;
}

static int64_t
count(world *w, const char *sql)
{
	int64_t n = -1;

	csip_assert_ok(csip_store_query_int64(csip_hub_store(w->t->hub), &n,
					      sql, NULL));
	return n;
}

/* A published 'sig' item for energy from kanto-power, and a draft. */
static void
world_init(world *w)
{
	char *energy[] = { "energy", NULL }, *finance[] = { "finance", NULL };
	csip_item_ind inds[] = { { "domain", "evil.example", NULL } };
	csip_item_spec spec = { .title = "Lure", .audience = "sig",
		.sigs = energy, .n_reports = 1, .indicators = inds,
		.n_indicators = 1 };
	int64_t sig, rep;
	size_t n;

	memset(w, 0, sizeof *w);
	w->t = csip_test_hub_new();
	csip_assert_ok(csip_sig_add(w->t->hub, "test", "energy", NULL, &sig));
	csip_assert_ok(csip_sig_add(w->t->hub, "test", "finance", NULL, &sig));
	w->hub = org(w, "ipa", "hub", NULL, NULL);
	w->prov = org(w, "kanto-power", "participant", "2024-04-01", energy);
	w->in_sig = org(w, "tohoku-power", "participant", "2024-04-01",
			energy);
	w->in_sig2 = org(w, "kyushu-power", "participant", "2024-04-01",
			 energy);
	w->other = org(w, "mizuho-bank", "participant", "2024-04-01",
		       finance);
	w->partner = org(w, "npa", "partner", NULL, NULL);
	rep = csip_test_report_add(w->t, "kanto-power", "sig", "none", NULL);
	spec.report_ids = &rep;
	csip_assert_ok(csip_item_create(w->t->hub, "test", &spec, &w->item));
	csip_assert_ok(csip_item_submit(w->t->hub, "test", w->item));
	csip_assert_ok(csip_item_decide(w->t->hub, "test", w->item, w->prov,
					"approve", NULL));
	csip_assert_ok(csip_item_publish(w->t->hub, "test", w->item, &n));
	csip_assert_ok(csip_item_create(w->t->hub, "test", &spec, &w->draft));
	csip_assert_ok(csip_item_submit(w->t->hub, "test", w->draft));
}

static int
add(world *w, int64_t org_id, int64_t item, const csip_feedback_in *in,
    int64_t *id)
{
	csip_reader r;
	int rc;

	csip_assert_ok(csip_reader_load(csip_hub_store(w->t->hub), org_id,
					&r));
	rc = csip_feedback_add(w->t->hub, "test", &r, 0, item, in, id);
	csip_reader_clear(&r);
	return rc;
}

static void
test_add(void)
{
	world w;
	csip_feedback_in seen = { .kind = "sighting", .count = 3, .seen_at =
		"2025-04-01T09:30:00Z", .indicator_type = "domain",
		.indicator_value = "EVIL[.]example" };
	csip_feedback_in blocked = { .kind = "blocked" };
	csip_feedback_in note = { .kind = "comment", .comment = "Seen at a "
		"subsidiary too." };
	int64_t id = 0;

	world_init(&w);
	csip_assert_ok(add(&w, w.in_sig, w.item, &seen, &id));
	g_assert_cmpint(id, >, 0);
	g_assert_cmpint(count(&w, "SELECT count FROM feedback"), ==, 3);
	g_assert_cmpint(count(&w, "SELECT COUNT(*) FROM feedback WHERE "
		"indicator_value = 'evil.example'"), ==, 1);
	csip_assert_ok(add(&w, w.prov, w.item, &blocked, &id));
	csip_assert_ok(add(&w, w.hub, w.item, &note, &id));
	g_assert_cmpint(count(&w, "SELECT COUNT(*) FROM audit_log WHERE "
		"action = 'feedback.add'"), ==, 3);
	csip_test_hub_free(w.t);
}

/* Under an Idempotency-Key a feedback is recorded once: the same one
 * sent again is answered with the first; another one under the key is a
 * conflict; the key is the giver's organisation's alone. */
static void
test_add_once(void)
{
	world w;
	csip_feedback_in seen = { .kind = "sighting", .count = 3, .seen_at =
		"2025-04-01T09:30:00Z", .indicator_type = "domain",
		.indicator_value = "EVIL[.]example" };
	csip_feedback_in again = seen, more = seen;
	csip_reader r, r2;
	int64_t id = 0, id2 = 0, id3 = 0;
	int replayed = -1;
	const char *key = "6f1c1e4a-0d7b-4a8e-9b8e-2f9f1f0b9a11";

	world_init(&w);
	again.indicator_value = "evil.example";
	more.count = 4;
	csip_assert_ok(csip_reader_load(csip_hub_store(w.t->hub), w.in_sig,
					&r));
	csip_assert_ok(csip_reader_load(csip_hub_store(w.t->hub), w.in_sig2,
					&r2));
	csip_assert_ok(csip_feedback_add_once(w.t->hub, "test", &r, 0, w.item,
					      &seen, key, &id, &replayed));
	g_assert_cmpint(replayed, ==, 0);
	csip_assert_ok(csip_feedback_add_once(w.t->hub, "test", &r, 0, w.item,
					      &again, key, &id2, &replayed));
	g_assert_cmpint(replayed, ==, 1);
	g_assert_cmpint(id2, ==, id);
	g_assert_cmpint(count(&w, "SELECT COUNT(*) FROM feedback"), ==, 1);
	g_assert_cmpint(count(&w, "SELECT COUNT(*) FROM audit_log WHERE "
		"action = 'feedback.add'"), ==, 1);
	g_assert_cmpint(csip_feedback_add_once(w.t->hub, "test", &r, 0,
		w.item, &more, key, &id3, &replayed), ==, CSIP_EEXISTS);
	g_assert_nonnull(strstr(csip_error_last(), "new key"));
	g_assert_cmpint(id3, ==, 0);
	/* Another organisation's key space. */
	csip_assert_ok(csip_feedback_add_once(w.t->hub, "test", &r2, 0,
		w.item, &more, key, &id3, &replayed));
	g_assert_cmpint(replayed, ==, 0);
	g_assert_cmpint(id3, !=, id);
	/* Without a key, as many as are given. */
	csip_assert_ok(csip_feedback_add_once(w.t->hub, "test", &r, 0, w.item,
					      &seen, NULL, &id3, &replayed));
	csip_assert_ok(csip_feedback_add_once(w.t->hub, "test", &r, 0, w.item,
					      &seen, NULL, &id3, &replayed));
	g_assert_cmpint(count(&w, "SELECT COUNT(*) FROM feedback"), ==, 4);
	g_assert_cmpint(csip_feedback_add_once(w.t->hub, "test", &r, 0,
		w.item, &seen, "", &id3, &replayed), ==, CSIP_EINVAL);
	g_assert_cmpint(csip_feedback_add_once(w.t->hub, "test", &r, 0,
		w.item, &seen, "a b", &id3, &replayed), ==, CSIP_EINVAL);
	csip_reader_clear(&r);
	csip_reader_clear(&r2);
	csip_test_hub_free(w.t);
}

/* A sighting counted over a while (csip match --report) keeps its first
 * and last time, and the list gives both back. */
static void
test_add_span(void)
{
	world w;
	csip_feedback_in span = { .kind = "sighting", .count = 7, .seen_at =
		"2025-04-01T09:30:00Z", .last_seen_at =
		"2025-04-01T11:30:00+02:00", .indicator_type = "domain",
		.indicator_value = "evil.example" };
	csip_reader r = { 0 };
	json_t *list = NULL, *row;
	int64_t id = 0;

	world_init(&w);
	csip_assert_ok(add(&w, w.in_sig, w.item, &span, &id));
	g_assert_cmpint(count(&w, "SELECT COUNT(*) FROM feedback WHERE "
		"last_seen_at = '2025-04-01T11:30:00+02:00'"), ==, 1);
	csip_assert_ok(csip_reader_load(csip_hub_store(w.t->hub), w.in_sig,
					&r));
	csip_assert_ok(csip_feedback_list(w.t->hub, &r, w.item, &list));
	row = json_array_get(list, 0);
	g_assert_cmpint(json_integer_value(json_object_get(row, "count")), ==,
			7);
	g_assert_cmpstr(json_string_value(json_object_get(row, "seen_at")),
			==, "2025-04-01T09:30:00Z");
	g_assert_cmpstr(json_string_value(json_object_get(row,
			"last_seen_at")), ==, "2025-04-01T11:30:00+02:00");
	json_decref(list);
	csip_reader_clear(&r);
	csip_test_hub_free(w.t);
}

/* A reader that may not read the published item is told the item does
 * not exist, and nothing is written. */
static void
test_add_refused(void)
{
	world w;
	csip_feedback_in fb = { .kind = "blocked" };
	int64_t id = 5, before;

	world_init(&w);
	before = count(&w, "SELECT COUNT(*) FROM audit_log");
	g_assert_cmpint(add(&w, w.other, w.item, &fb, &id), ==,
			CSIP_ENOTFOUND);
	g_assert_cmpint(id, ==, 0);
	g_assert_cmpint(add(&w, w.partner, w.item, &fb, &id), ==,
			CSIP_ENOTFOUND);
	g_assert_cmpint(add(&w, w.in_sig, 9999, &fb, &id), ==,
			CSIP_ENOTFOUND);
	/* Unpublished: not even its provider, who can read it. */
	g_assert_cmpint(add(&w, w.prov, w.draft, &fb, &id), ==,
			CSIP_ENOTFOUND);
	g_assert_cmpint(add(&w, w.in_sig, w.draft, &fb, &id), ==,
			CSIP_ENOTFOUND);
	/* Withdrawn. */
	csip_assert_ok(csip_item_withdraw(w.t->hub, "test", w.item));
	before = count(&w, "SELECT COUNT(*) FROM audit_log");
	g_assert_cmpint(add(&w, w.in_sig, w.item, &fb, &id), ==,
			CSIP_ENOTFOUND);
	g_assert_cmpint(count(&w, "SELECT COUNT(*) FROM feedback"), ==, 0);
	g_assert_cmpint(count(&w, "SELECT COUNT(*) FROM audit_log"), ==,
			before);
	csip_test_hub_free(w.t);
}

static void
test_add_rejects(void)
{
	world w;
	struct {
		csip_feedback_in in;
		const char *needle;
	} cases[] = {
		{ { .kind = "like" }, "like" },
		{ { .kind = NULL }, "kind" },
		{ { .kind = "sighting", .count = -2 }, "count -2" },
		{ { .kind = "blocked", .count = 4 }, "only a sighting" },
		{ { .kind = "comment" }, "comment" },
		{ { .kind = "sighting", .seen_at = "last week" }, "seen_at" },
		{ { .kind = "blocked", .indicator_type = "domain" },
		  "indicator_value" },
		{ { .kind = "blocked", .indicator_type = "colour",
		    .indicator_value = "red" }, "colour" },
		{ { .kind = "blocked", .indicator_type = "domain",
		    .indicator_value = "other.example" }, "not one of" },
		{ { .kind = "comment", .comment = "\xff\xfe" }, "UTF-8" },
		{ { .kind = "sighting", .last_seen_at =
		    "2025-04-01T09:30:00Z" }, "needs seen_at" },
		{ { .kind = "blocked", .seen_at = "2025-04-01T09:30:00Z",
		    .last_seen_at = "2025-04-01T09:30:00Z" },
		  "only a sighting" },
		{ { .kind = "sighting", .seen_at = "2025-04-01T09:30:00Z",
		    .last_seen_at = "tomorrow" }, "last_seen_at" },
		{ { .kind = "sighting", .seen_at = "2025-04-01T09:30:00Z",
		    .last_seen_at = "2025-04-01T10:30:00+02:00" },
		  "is before seen_at" },
	};
	int64_t id;

	world_init(&w);
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_assert_cmpint(add(&w, w.in_sig, w.item, &cases[i].in, &id),
				==, CSIP_EINVAL);
		if (strstr(csip_error_last(), cases[i].needle) == NULL)
			g_error("case %zu: \"%s\" not in \"%s\"", i,
				cases[i].needle, csip_error_last());
	}
	g_assert_cmpint(count(&w, "SELECT COUNT(*) FROM feedback"), ==, 0);
	csip_test_hub_free(w.t);
}

static const char *
org_of(json_t *row)
{
	json_t *o = json_object_get(row, "org");

	g_assert_nonnull(o);
	return json_is_null(o) ? "(null)" : json_string_value(o);
}

/* The rows and names each reader sees. */
static void
test_list_views(void)
{
	world w;
	csip_feedback_in fb = { .kind = "blocked" };
	csip_feedback_in seen = { .kind = "sighting", .count = 2 };
	static const struct {
		int which;        /* 0 hub, 1 provider, 2 tohoku, 3 kyushu */
		const char *want; /* org of each row, in order */
	} rows[] = {
		{ 0, "tohoku-power,kyushu-power,kanto-power" },
		{ 1, "(null),(null),kanto-power" },
		{ 2, "tohoku-power" },
		{ 3, "kyushu-power" },
	};
	int64_t id, orgs[4];

	world_init(&w);
	orgs[0] = w.hub;
	orgs[1] = w.prov;
	orgs[2] = w.in_sig;
	orgs[3] = w.in_sig2;
	csip_assert_ok(add(&w, w.in_sig, w.item, &fb, &id));
	csip_assert_ok(add(&w, w.in_sig2, w.item, &seen, &id));
	csip_assert_ok(add(&w, w.prov, w.item, &fb, &id));
	for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
		csip_reader r;
		json_t *list = NULL;
		GString *got = g_string_new(NULL);

		csip_assert_ok(csip_reader_load(csip_hub_store(w.t->hub),
						orgs[rows[i].which], &r));
		csip_assert_ok(csip_feedback_list(w.t->hub, &r, w.item,
						  &list));
		for (size_t k = 0; k < json_array_size(list); k++)
			g_string_append_printf(got, "%s%s", k ? "," : "",
				org_of(json_array_get(list, k)));
		g_assert_cmpstr(got->str, ==, rows[i].want);
		g_string_free(got, TRUE);
		json_decref(list);
		csip_reader_clear(&r);
	}
	/* Others: the same answer as for no item. */
	{
		csip_reader r;
		json_t *list = NULL;

		csip_assert_ok(csip_reader_load(csip_hub_store(w.t->hub),
						w.other, &r));
		g_assert_cmpint(csip_feedback_list(w.t->hub, &r, w.item,
						   &list), ==, CSIP_ENOTFOUND);
		g_assert_null(list);
		g_assert_cmpint(csip_feedback_list(w.t->hub, &r, 9999, &list),
				==, CSIP_ENOTFOUND);
		csip_reader_clear(&r);
	}
	csip_test_hub_free(w.t);
}

static void
test_counts(void)
{
	world w;
	csip_feedback_in fb = { .kind = "blocked" };
	csip_feedback_in seen = { .kind = "sighting", .count = 2 };
	csip_reader r;
	json_t *c = NULL, *o = NULL;
	int64_t id;

	world_init(&w);
	csip_assert_ok(add(&w, w.in_sig, w.item, &fb, &id));
	csip_assert_ok(add(&w, w.in_sig2, w.item, &seen, &id));
	csip_assert_ok(add(&w, w.in_sig2, w.item, &fb, &id));
	csip_assert_ok(csip_feedback_counts(w.t->hub, w.item, &c));
	g_assert_cmpint(json_integer_value(json_object_get(c, "blocked")), ==,
			2);
	g_assert_cmpint(json_integer_value(json_object_get(c, "sighting")),
			==, 1);
	g_assert_cmpint(json_integer_value(json_object_get(c,
		"false_positive")), ==, 0);
	g_assert_cmpint(json_integer_value(json_object_get(c, "comment")), ==,
			0);
	/* The item's shared view carries the same counts. */
	csip_assert_ok(csip_reader_load(csip_hub_store(w.t->hub), w.in_sig,
					&r));
	csip_assert_ok(csip_item_get(w.t->hub, &r, w.item, &o));
	g_assert_true(json_equal(json_object_get(o, "feedback"), c));
	json_decref(o);
	json_decref(c);
	csip_reader_clear(&r);
	csip_test_hub_free(w.t);
}

static void
test_faults(void)
{
	world w;
	csip_feedback_in fb = { .kind = "comment", .comment = "x" };
	int done = 0, failed = 0;
	int64_t rows;

	world_init(&w);
	for (int n = 0; n < 40 && !done; n++) {
		int64_t id = -1;
		int64_t nf = count(&w, "SELECT COUNT(*) FROM feedback");
		int64_t na = count(&w, "SELECT COUNT(*) FROM audit_log");
		int rc;

		csip_store_fault_after(n);
		rc = add(&w, w.in_sig, w.item, &fb, &id);
		csip_store_fault_clear();
		csip_test_hub_reopen(w.t);
		if (rc < 0) {
			failed++;
			g_assert_cmpint(count(&w, "SELECT COUNT(*) FROM "
				"feedback"), ==, nf);
			g_assert_cmpint(count(&w, "SELECT COUNT(*) FROM "
				"audit_log"), ==, na);
		} else {
			done = 1;
		}
		csip_assert_ok(csip_audit_verify(w.t->hub, &rows));
	}
	g_assert_true(done);
	g_assert_cmpint(failed, >, 0);
	csip_test_hub_free(w.t);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/feedback/add", test_add);
	g_test_add_func("/feedback/add-span", test_add_span);
	g_test_add_func("/feedback/add-once", test_add_once);
	g_test_add_func("/feedback/add-refused", test_add_refused);
	g_test_add_func("/feedback/add-rejects", test_add_rejects);
	g_test_add_func("/feedback/list-views", test_list_views);
	g_test_add_func("/feedback/counts", test_counts);
	g_test_add_func("/feedback/faults", test_faults);
	return g_test_run();
}
