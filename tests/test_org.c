/*
 * test_org.c - SIGs and organisations: validation, canonical domains and
 * networks, membership, updates, and that a failed change (bad input or a
 * disk fault) leaves nothing behind, audit log included.
 */
#include "lib/audit.h"
#include "lib/org.h"
#include "testutil.h"
#include "util/error.h"

#include <glib.h>
#include <string.h>

static int64_t
count(csip_test_hub *t, const char *sql)
{
	int64_t n = -1;

	csip_assert_ok(csip_store_query_int64(csip_hub_store(t->hub), &n, sql,
					      NULL));
	return n;
}

/* Everything a failed write must not have touched. */
static char *
snapshot(csip_test_hub *t)
{
	return g_strdup_printf("%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT "/%"
		G_GINT64_FORMAT "/%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT "/%"
		G_GINT64_FORMAT,
		count(t, "SELECT COUNT(*) FROM sig"),
		count(t, "SELECT COUNT(*) FROM org"),
		count(t, "SELECT COUNT(*) FROM org_sig"),
		count(t, "SELECT COUNT(*) FROM org_domain"),
		count(t, "SELECT COUNT(*) FROM org_network"),
		count(t, "SELECT COUNT(*) FROM audit_log"));
}

static csip_test_hub *
hub_with_sigs(void)
{
	csip_test_hub *t = csip_test_hub_new();
	int64_t id;

	csip_assert_ok(csip_sig_add(t->hub, "test", "energy", "電力", &id));
	csip_assert_ok(csip_sig_add(t->hub, "test", "gas", NULL, &id));
	return t;
}

static void
test_sigs(void)
{
	csip_test_hub *t = hub_with_sigs();
	json_t *v = NULL;
	int64_t id;

	g_assert_cmpint(csip_sig_add(t->hub, "test", "energy", "x", &id), ==,
			CSIP_EEXISTS);
	g_assert_nonnull(strstr(csip_error_last(), "energy already exists"));
	g_assert_cmpint(csip_sig_add(t->hub, "test", "Bad Code", "x", &id), ==,
			CSIP_EINVAL);
	g_assert_cmpint(csip_sig_add(t->hub, "test", "", "x", &id), ==,
			CSIP_EINVAL);
	csip_assert_ok(csip_sig_list(t->hub, &v));
	g_assert_cmpint(json_array_size(v), ==, 2);
	g_assert_cmpstr(json_string_value(json_object_get(json_array_get(v, 0),
		"name")), ==, "電力");
	g_assert_cmpstr(json_string_value(json_object_get(json_array_get(v, 1),
		"name")), ==, "gas");
	json_decref(v);
	g_assert_cmpint(csip_sig_get(t->hub, "nope", &v), ==, CSIP_ENOTFOUND);
	g_assert_cmpint(count(t, "SELECT COUNT(*) FROM audit_log"), ==, 2);
	csip_test_hub_free(t);
}

static void
test_org_add(void)
{
	csip_test_hub *t = hub_with_sigs();
	char *sigs[] = { "energy", "gas", NULL };
	char *doms[] = { "Kanto-Power.EXAMPLE.", "bücher.example", NULL };
	char *nets[] = { "10.1.2.3/8", "2001:DB8:0:0::1/32", "192.0.2.7",
			 NULL };
	csip_org_spec spec = { .name = "kanto-power", .display_name =
		"関東電力", .role = "participant", .nda_date = "2024-04-01",
		.sigs = sigs, .domains = doms, .networks = nets };
	json_t *o = NULL, *arr;
	int64_t id;

	csip_assert_ok(csip_org_add(t->hub, "test", &spec, &id));
	csip_assert_ok(csip_org_get(t->hub, "kanto-power", &o));
	g_assert_cmpstr(json_string_value(json_object_get(o, "display_name")),
			==, "関東電力");
	g_assert_cmpstr(json_string_value(json_object_get(o, "nda_date")), ==,
			"2024-04-01");
	arr = json_object_get(o, "domains");
	g_assert_cmpint(json_array_size(arr), ==, 2);
	g_assert_cmpstr(json_string_value(json_array_get(arr, 0)), ==,
			"kanto-power.example");
	g_assert_cmpstr(json_string_value(json_array_get(arr, 1)), ==,
			"xn--bcher-kva.example");
	arr = json_object_get(o, "networks");
	g_assert_cmpint(json_array_size(arr), ==, 3);
	g_assert_cmpstr(json_string_value(json_array_get(arr, 0)), ==,
			"10.0.0.0/8");
	g_assert_cmpstr(json_string_value(json_array_get(arr, 1)), ==,
			"192.0.2.7/32");
	g_assert_cmpstr(json_string_value(json_array_get(arr, 2)), ==,
			"2001:db8::/32");
	g_assert_cmpint(json_array_size(json_object_get(o, "sigs")), ==, 2);
	json_decref(o);

	csip_assert_ok(csip_sig_get(t->hub, "gas", &o));
	g_assert_cmpstr(json_string_value(json_array_get(json_object_get(o,
		"members"), 0)), ==, "kanto-power");
	json_decref(o);
	csip_assert_ok(csip_org_list(t->hub, "energy", &o));
	g_assert_cmpint(json_array_size(o), ==, 1);
	json_decref(o);
	g_assert_cmpint(csip_org_list(t->hub, "nope", &o), ==, CSIP_ENOTFOUND);
	csip_test_hub_free(t);
}

/* Each bad input fails with the right code and a message naming it, and
 * changes nothing at all. */
static void
test_org_add_rejects(void)
{
	csip_test_hub *t = hub_with_sigs();
	char *good_sigs[] = { "energy", NULL };
	char *bad_sigs[] = { "energy", "no-such-sig", NULL };
	char *bad_doms[] = { "ok.example", "not a domain", NULL };
	char *bad_nets[] = { "10.0.0.0/8", "10.0.0.0/33", NULL };
	char *dup_doms[] = { "taken.example", NULL };
	struct {
		csip_org_spec spec;
		int code;
		const char *needle;
	} cases[] = {
		{ { .name = "Bad Name" }, CSIP_EINVAL, "Bad Name" },
		{ { .name = "x", .role = "boss" }, CSIP_EINVAL, "boss" },
		{ { .name = "x", .nda_date = "2024-02-30" }, CSIP_EINVAL,
		  "2024-02-30" },
		{ { .name = "x", .nda_date = "1/4/2024" }, CSIP_EINVAL,
		  "YYYY-MM-DD" },
		{ { .name = "x", .sigs = bad_sigs }, CSIP_ENOTFOUND,
		  "no-such-sig" },
		{ { .name = "x", .sigs = good_sigs, .domains = bad_doms },
		  CSIP_EINVAL, "not a domain" },
		{ { .name = "x", .networks = bad_nets }, CSIP_EINVAL,
		  "10.0.0.0/33" },
		{ { .name = "first" }, CSIP_EEXISTS, "already exists" },
		{ { .name = "x", .domains = dup_doms }, CSIP_EEXISTS,
		  "taken.example" },
	};
	csip_org_spec first = { .name = "first", .domains = dup_doms };
	int64_t id;
	char *before;

	csip_assert_ok(csip_org_add(t->hub, "test", &first, &id));
	before = snapshot(t);
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *after;

		g_assert_cmpint(csip_org_add(t->hub, "test", &cases[i].spec,
					     &id), ==, cases[i].code);
		if (strstr(csip_error_last(), cases[i].needle) == NULL)
			g_error("case %zu: \"%s\" not in \"%s\"", i,
				cases[i].needle, csip_error_last());
		after = snapshot(t);
		g_assert_cmpstr(after, ==, before);
		g_free(after);
	}
	g_free(before);
	csip_test_hub_free(t);
}

static void
test_org_update(void)
{
	csip_test_hub *t = hub_with_sigs();
	char *sigs[] = { "energy", NULL }, *gas[] = { "gas", NULL };
	char *doms[] = { "a.example", NULL }, *doms2[] = { "B.example", NULL };
	char *nets[] = { "10.9.9.9/16", NULL };
	csip_org_spec spec = { .name = "org1", .sigs = sigs, .domains = doms };
	csip_org_change none = { 0 };
	csip_org_change c = { .display_name = "Org One", .role = "partner",
		.nda_date = "2025-05-05", .add_sigs = gas, .remove_sigs = sigs,
		.add_domains = doms2, .remove_domains = doms,
		.add_networks = nets };
	csip_org_change bad = { .remove_sigs = sigs };
	csip_org_change clear = { .nda_date = "" };
	json_t *o = NULL;
	int64_t id;
	char *before, *after;

	csip_assert_ok(csip_org_add(t->hub, "test", &spec, &id));
	g_assert_cmpint(csip_org_update(t->hub, "test", "org1", &none), ==,
			CSIP_EINVAL);
	g_assert_cmpint(csip_org_update(t->hub, "test", "nope", &c), ==,
			CSIP_ENOTFOUND);
	csip_assert_ok(csip_org_update(t->hub, "test", "org1", &c));
	csip_assert_ok(csip_org_get(t->hub, "org1", &o));
	g_assert_cmpstr(json_string_value(json_object_get(o, "role")), ==,
			"partner");
	g_assert_cmpstr(json_string_value(json_object_get(o, "display_name")),
			==, "Org One");
	g_assert_cmpstr(json_string_value(json_array_get(json_object_get(o,
		"sigs"), 0)), ==, "gas");
	g_assert_cmpstr(json_string_value(json_array_get(json_object_get(o,
		"domains"), 0)), ==, "b.example");
	g_assert_cmpstr(json_string_value(json_array_get(json_object_get(o,
		"networks"), 0)), ==, "10.9.0.0/16");
	json_decref(o);

	/* Removing a SIG the organisation is not in changes nothing. */
	before = snapshot(t);
	g_assert_cmpint(csip_org_update(t->hub, "test", "org1", &bad), ==,
			CSIP_ENOTFOUND);
	after = snapshot(t);
	g_assert_cmpstr(after, ==, before);
	g_free(before);
	g_free(after);

	csip_assert_ok(csip_org_update(t->hub, "test", "org1", &clear));
	csip_assert_ok(csip_org_get(t->hub, "org1", &o));
	g_assert_true(json_is_null(json_object_get(o, "nda_date")));
	json_decref(o);
	csip_test_hub_free(t);
}

/* A disk that fails at every possible point of an organisation's creation:
 * each attempt either creates the organisation with its audit row, or
 * leaves no trace; the audit chain always verifies. */
static void
test_org_add_disk_faults(void)
{
	csip_test_hub *t = hub_with_sigs();
	char *sigs[] = { "energy", "gas", NULL };
	char *doms[] = { "f.example", "g.example", NULL };
	char *nets[] = { "10.0.0.0/8", "fd00::/8", NULL };
	int failed = 0, done = 0;

	for (int n = 0; n < 60 && !done; n++) {
		csip_org_spec spec = { .name = "faulty", .sigs = sigs,
			.domains = doms, .networks = nets };
		int64_t id, rows;
		char *before = snapshot(t), *after;
		int rc;

		csip_store_fault_after(n);
		rc = csip_org_add(t->hub, "test", &spec, &id);
		csip_store_fault_clear();
		csip_test_hub_reopen(t);
		after = snapshot(t);
		if (rc < 0) {
			failed++;
			g_assert_cmpstr(after, ==, before);
		} else {
			done = 1;
			g_assert_cmpint(count(t, "SELECT COUNT(*) FROM org "
				"WHERE name = 'faulty'"), ==, 1);
			g_assert_cmpint(count(t, "SELECT COUNT(*) FROM "
				"org_domain"), ==, 2);
		}
		csip_assert_ok(csip_audit_verify(t->hub, &rows));
		g_free(before);
		g_free(after);
	}
	g_assert_true(done);
	g_assert_cmpint(failed, >, 0);
	csip_test_hub_free(t);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/org/sigs", test_sigs);
	g_test_add_func("/org/add", test_org_add);
	g_test_add_func("/org/add-rejects", test_org_add_rejects);
	g_test_add_func("/org/update", test_org_update);
	g_test_add_func("/org/add-disk-faults", test_org_add_disk_faults);
	return g_test_run();
}
