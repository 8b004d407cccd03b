/*
 * fuzz_stix.c - libFuzzer target for STIX input: the pattern parser and
 * the validation of bundles submitted as reports.
 *
 * Input: one byte choosing what the rest is, 'b' a bundle (JSON), anything
 * else a pattern.  Beyond not crashing:
 *  - a refused pattern or bundle has CSIP_EINVAL/CSIP_ETOOBIG and a
 *    message;
 *  - the pattern csip_stix_pattern() builds from the input as a value of
 *    each indicator type is accepted by the parser (what the hub writes, it
 *    can read);
 *  - a bundle is submitted inside a transaction that is rolled back, so
 *    the database stays as the setup left it.
 * LeakSanitizer checks that everything is freed.
 */
#include "lib/hub.h"
#include "lib/indicator.h"
#include "lib/org.h"
#include "lib/report.h"
#include "lib/stix.h"
#include "util/error.h"

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static csip_config *cfg;
static csip_hub *hub;

static void
die(const char *what)
{
	fprintf(stderr, "fuzz_stix: setup failed at %s: %s\n", what,
		csip_error_last());
	abort();
}

/* A hub in a temporary folder with one organisation to submit as. */
static void
setup(void)
{
	char *dir = g_dir_make_tmp("csip-fuzz-stix-XXXXXX", NULL);
	char *conf = g_build_filename(dir, "csip.ini", NULL);
	char *ini = g_strdup_printf("[data]\ndir = %s\n", dir);
	csip_org_spec org = { .name = "fuzz-org", .role = "participant",
		.nda_date = "2024-04-01" };
	int64_t id;

	if (!g_file_set_contents(conf, ini, -1, NULL))
		abort();
	if (csip_config_load(conf, &cfg) < 0 ||
	    csip_hub_open(cfg, CSIP_HUB_CREATE, &hub) < 0)
		die("hub");
	if (csip_org_add(hub, "fuzz", &org, &id) < 0)
		die("org");
	g_free(dir);
	g_free(conf);
	g_free(ini);
}

static void
check_refusal(int rc)
{
	if (rc == CSIP_OK)
		return;
	if ((rc != CSIP_EINVAL && rc != CSIP_ETOOBIG) ||
	    *csip_error_last() == '\0')
		abort();
}

static void
pattern(const char *text)
{
	check_refusal(csip_stix_pattern_check(text));
	for (int t = CSIP_IND_UNKNOWN + 1; t < CSIP_IND__COUNT; t++) {
		char *p = csip_stix_pattern(csip_ind_type_name(t), text);

		if (p && csip_stix_pattern_check(p) != CSIP_OK) {
			fprintf(stderr, "fuzz_stix: built %s, refused: %s\n", p,
				csip_error_last());
			abort();
		}
		g_free(p);
	}
}

static void
bundle(const char *data, size_t size)
{
	csip_report_in in = { .org = "fuzz-org", .permission = "sig",
		.source = "fuzz" };
	csip_ingest_result res;
	json_t *b = json_loadb(data, size, JSON_REJECT_DUPLICATES, NULL);
	int rc;

	if (b == NULL)
		return;
	if (csip_store_begin(csip_hub_store(hub)) < 0)
		die("begin");
	rc = csip_report_submit_stix(hub, "fuzz", &in, b, &res);
	if (rc < 0 && rc != CSIP_ESTORE)
		check_refusal(rc);
	if (rc == CSIP_OK && res.report_id <= 0)
		abort();
	csip_store_rollback(csip_hub_store(hub));
	json_decref(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size < 1)
		return 0;
	if (data[0] == 'b') {
		if (hub == NULL)
			setup();
		bundle((const char *)data + 1, size - 1);
		return 0;
	}
	text = g_strndup((const char *)data + 1, size - 1);
	pattern(text);
	g_free(text);
	return 0;
}
