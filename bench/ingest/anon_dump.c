/*
 * anon_dump.c - the comparison driver of bench/ingest: anonymise every
 * mail named on the command line and print, one line a mail, its name,
 * the return code, a SHA-256 of the anonymised bytes and the removed list
 * as compact JSON (or the error message).  Two builds' outputs are
 * compared with diff, to show that a change to the anonymiser left its
 * results byte for byte the same.
 *
 * Usage: anon_dump [--domain D]... [--network CIDR]... FILE...
 * With no --domain and no --network the policy is empty.
 */
#include "lib/anon.h"
#include "util/error.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
	GPtrArray *dom = g_ptr_array_new(), *net = g_ptr_array_new();
	GPtrArray *files = g_ptr_array_new();
	csip_anon_policy pol;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--domain") == 0 && i + 1 < argc)
			g_ptr_array_add(dom, argv[++i]);
		else if (strcmp(argv[i], "--network") == 0 && i + 1 < argc)
			g_ptr_array_add(net, argv[++i]);
		else
			g_ptr_array_add(files, argv[i]);
	}
	g_ptr_array_add(dom, NULL);
	g_ptr_array_add(net, NULL);
	pol.domains = (char **)dom->pdata;
	pol.networks = (char **)net->pdata;
	for (guint i = 0; i < files->len; i++) {
		const char *fn = files->pdata[i];
		char *data = NULL, *out = NULL, *sum = NULL, *js = NULL;
		gsize len = 0;
		size_t olen = 0;
		json_t *removed = NULL;
		int rc;

		if (!g_file_get_contents(fn, &data, &len, NULL)) {
			fprintf(stderr, "anon_dump: cannot read %s\n", fn);
			return 1;
		}
		rc = csip_anon_message(data, len, &pol, &out, &olen, &removed);
		if (rc == CSIP_OK) {
			sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256,
				(const guchar *)out, olen);
			js = json_dumps(removed, JSON_COMPACT);
			printf("%s %d %zu %s %s\n", fn, rc, olen, sum, js);
		} else {
			printf("%s %d %s\n", fn, rc, csip_error_last());
		}
		free(js);
		g_free(sum);
		g_free(out);
		g_free(data);
		json_decref(removed);
	}
	g_ptr_array_free(files, TRUE);
	g_ptr_array_free(dom, TRUE);
	g_ptr_array_free(net, TRUE);
	return 0;
}
