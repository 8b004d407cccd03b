/*
 * ingest_bench.c - the C side of bench/ingest: parse + extract + anonymise
 * every mail named on the command line, in process, and print one JSON
 * line with the counts and the wall time.  With --gmime-only it measures
 * the ceiling instead: GMime parsing the message and decoding every part,
 * nothing else.  Files are read into memory first, so only the work is
 * timed.
 *
 * --parse-only and --anon-only time one half of the work each, to see
 * where the time goes.
 *
 * Usage: ingest_bench [--gmime-only | --parse-only | --anon-only]
 *                     [--repeat N] FILE...
 */
#include "lib/anon.h"
#include "lib/mail.h"
#include "util/error.h"

#include <glib.h>
#include <gmime/gmime.h>
#include <stdio.h>
#include <string.h>

typedef struct blob {
	char *data;
	gsize len;
} blob;

static void
decode_all(GMimeObject *parent, GMimeObject *part, gpointer ud)
{
	gsize *bytes = ud;

	if (GMIME_IS_PART(part)) {
		GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(part));
		GMimeStream *out = g_mime_stream_null_new();

		if (w)
			g_mime_data_wrapper_write_to_stream(w, out);
		*bytes += GMIME_STREAM_NULL(out)->written;
		g_object_unref(out);
	}
}

static void
gmime_only(const blob *b, gsize *bytes)
{
	GMimeStream *st = g_mime_stream_mem_new_with_buffer(b->data, b->len);
	GMimeParser *p = g_mime_parser_new_with_stream(st);
	GMimeMessage *m = g_mime_parser_construct_message(p, NULL);

	if (m) {
		g_mime_message_foreach(m, decode_all, bytes);
		g_object_unref(m);
	}
	g_object_unref(p);
	g_object_unref(st);
}

enum { DO_PARSE = 1, DO_ANON = 2 };

static void
full(const blob *b, int what, gsize *indicators, gsize *failed)
{
	csip_mail *m = NULL;
	char *anon = NULL;
	size_t alen = 0;
	json_t *removed = NULL;
	csip_anon_policy pol = { 0 };

	if (!(what & DO_PARSE))
		;
	else if (csip_mail_parse(b->data, b->len, NULL, &m) == CSIP_OK)
		*indicators += csip_extract_set_count(csip_mail_indicators(m));
	else
		(*failed)++;
	if ((what & DO_ANON) && csip_anon_message(b->data, b->len, &pol, &anon,
						  &alen, &removed) < 0)
		(*failed)++;
	g_free(anon);
	json_decref(removed);
	csip_mail_free(m);
}

int
main(int argc, char **argv)
{
	GArray *blobs = g_array_new(FALSE, FALSE, sizeof(blob));
	gsize bytes = 0, indicators = 0, failed = 0, decoded = 0;
	int gm = 0, repeat = 1, what = DO_PARSE | DO_ANON;
	const char *tool = "csip";
	gint64 t0, t1;

	for (int i = 1; i < argc; i++) {
		blob b;

		if (strcmp(argv[i], "--gmime-only") == 0) {
			gm = 1;
			continue;
		}
		if (strcmp(argv[i], "--parse-only") == 0) {
			what = DO_PARSE;
			tool = "csip-parse";
			continue;
		}
		if (strcmp(argv[i], "--anon-only") == 0) {
			what = DO_ANON;
			tool = "csip-anon";
			continue;
		}
		if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
			repeat = atoi(argv[++i]);
			continue;
		}
		if (!g_file_get_contents(argv[i], &b.data, &b.len, NULL)) {
			fprintf(stderr, "ingest_bench: cannot read %s\n",
				argv[i]);
			return 1;
		}
		g_array_append_val(blobs, b);
	}
	g_mime_init();
	t0 = g_get_monotonic_time();
	for (int r = 0; r < repeat; r++) {
		for (guint i = 0; i < blobs->len; i++) {
			blob *b = &g_array_index(blobs, blob, i);

			bytes += b->len;
			if (gm)
				gmime_only(b, &decoded);
			else
				full(b, what, &indicators, &failed);
		}
	}
	t1 = g_get_monotonic_time();
	printf("{\"tool\":\"%s\",\"messages\":%u,\"bytes\":%zu,"
	       "\"seconds\":%.6f,\"indicators\":%zu,\"failed\":%zu}\n",
	       gm ? "gmime" : tool, blobs->len * (guint)repeat, bytes,
	       (double)(t1 - t0) / 1e6, indicators, failed);
	for (guint i = 0; i < blobs->len; i++)
		g_free(g_array_index(blobs, blob, i).data);
	g_array_free(blobs, TRUE);
	return 0;
}
