/*
 * msgsrc.c - message sources: .eml, mbox, Maildir, stdin (see msgsrc.h).
 *
 * mbox is read as mboxrd: a message starts at a line beginning "From "
 * that follows an empty line (or the start of the file), and ">From ",
 * ">>From " ... lines inside a message lose one '>'.  Files are read whole
 * (up to CSIP_MSGSRC_MAX per message, larger mboxes are mapped), which keeps
 * the splitter simple and lets the parser see contiguous bytes.
 */
#include "lib/msgsrc.h"
#include "util/error.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
csip_msgsrc_is_mbox(const char *data, size_t len)
{
	return len >= 5 && memcmp(data, "From ", 5) == 0;
}

/* Undo mboxrd quoting: ">From " -> "From ", ">>From " -> ">From ". */
static char *
unquote(const char *p, size_t n, size_t *out_len)
{
	GString *s = g_string_sized_new(n);
	const char *end = p + n;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl + 1 : end;
		const char *q = p;

		while (q < le && *q == '>')
			q++;
		if (q > p && (size_t)(le - q) >= 5 && memcmp(q, "From ", 5) == 0)
			p++;
		g_string_append_len(s, p, le - p);
		p = le;
	}
	*out_len = s->len;
	return g_string_free(s, FALSE);
}

int
csip_msgsrc_split_mbox(const char *label, const char *data, size_t len,
		       csip_msgsrc_fn fn, void *ud)
{
	const char *p = data, *end = data + len, *msg = NULL;
	int n = 0, rc = CSIP_OK, prev_blank = 1;

	while (p <= end) {
		const char *nl = p < end ? memchr(p, '\n', (size_t)(end - p))
			: NULL;
		const char *le = nl ? nl + 1 : end;
		int sep = p == end || (prev_blank && (size_t)(end - p) >= 5 &&
			memcmp(p, "From ", 5) == 0);

		if (sep && msg) {
			/* The blank line before a separator belongs to the
			 * mbox, not to the message. */
			const char *me = p;
			char *lab, *body;
			size_t blen;

			if (me > msg && me[-1] == '\n')
				me--;
			if (me > msg && me[-1] == '\r')
				me--;
			lab = g_strdup_printf("%s#%d", label, ++n);
			if ((size_t)(me - msg) > CSIP_MSGSRC_MAX) {
				rc = fn(lab, NULL, 0, csip_error_set(
					CSIP_ETOOBIG, "%s: message larger than "
					"%u bytes", lab, CSIP_MSGSRC_MAX), ud);
			} else {
				body = unquote(msg, (size_t)(me - msg), &blen);
				rc = fn(lab, body, blen, CSIP_OK, ud);
				g_free(body);
			}
			g_free(lab);
			msg = NULL;
			if (rc < 0)
				return rc;
		}
		if (p == end)
			break;
		if (sep)
			msg = le;  /* the message starts after "From " */
		prev_blank = (le - p == 1) || (le - p == 2 && p[0] == '\r');
		p = le;
	}
	return CSIP_OK;
}

static int
read_stream(FILE *f, const char *label, GString **out)
{
	GString *s = g_string_new(NULL);
	char buf[65536];
	size_t n;

	while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
		if (s->len + n > (gsize)CSIP_MSGSRC_MAX * 4) {
			g_string_free(s, TRUE);
			return csip_error_set(CSIP_ETOOBIG, "%s: more than %u "
				"bytes", label, CSIP_MSGSRC_MAX * 4);
		}
		g_string_append_len(s, buf, n);
	}
	if (ferror(f)) {
		g_string_free(s, TRUE);
		return csip_error_set(CSIP_EIO, "%s: read error: %s", label,
				      g_strerror(errno));
	}
	*out = s;
	return CSIP_OK;
}

/* One file: an mbox or a single message. */
static int
walk_file(const char *path, csip_msgsrc_fn fn, void *ud)
{
	GMappedFile *mf = NULL;
	GError *err = NULL;
	const char *data;
	size_t len;
	int rc;

	mf = g_mapped_file_new(path, FALSE, &err);
	if (mf == NULL) {
		rc = csip_error_set(err->code == G_FILE_ERROR_NOENT
			? CSIP_ENOTFOUND : CSIP_EIO, "%s: %s", path,
			err->message);
		g_error_free(err);
		return fn(path, NULL, 0, rc, ud);
	}
	data = g_mapped_file_get_contents(mf);
	len = g_mapped_file_get_length(mf);
	if (data == NULL)
		data = "";
	if (csip_msgsrc_is_mbox(data, len))
		rc = csip_msgsrc_split_mbox(path, data, len, fn, ud);
	else if (len > CSIP_MSGSRC_MAX)
		rc = fn(path, NULL, 0, csip_error_set(CSIP_ETOOBIG, "%s: "
			"message larger than %u bytes", path, CSIP_MSGSRC_MAX),
			ud);
	else
		rc = fn(path, data, len, CSIP_OK, ud);
	g_mapped_file_unref(mf);
	return rc;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A Maildir: the files of new/ and cur/, in name order (delivery order
 * for the usual time-based names). */
static int
walk_maildir(const char *path, csip_msgsrc_fn fn, void *ud)
{
	static const char *const subs[] = { "cur", "new" };
	int rc = CSIP_OK;

	for (size_t i = 0; i < G_N_ELEMENTS(subs) && rc >= 0; i++) {
		char *dir = g_build_filename(path, subs[i], NULL);
		GDir *d = g_dir_open(dir, 0, NULL);
		GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
		const char *name;

		while (d && (name = g_dir_read_name(d)))
			if (name[0] != '.')
				g_ptr_array_add(names, g_build_filename(dir,
					name, NULL));
		if (d)
			g_dir_close(d);
		if (names->len > 1)
			qsort(names->pdata, names->len, sizeof(char *),
			      cmp_names);
		for (guint k = 0; k < names->len && rc >= 0; k++)
			if (g_file_test(names->pdata[k], G_FILE_TEST_IS_REGULAR))
				rc = walk_file(names->pdata[k], fn, ud);
		g_ptr_array_free(names, TRUE);
		g_free(dir);
	}
	return rc;
}

int
csip_msgsrc_walk(const char *path, csip_msgsrc_fn fn, void *ud)
{
	if (strcmp(path, "-") == 0) {
		GString *s = NULL;
		int rc = read_stream(stdin, "stdin", &s);

		if (rc < 0)
			return fn("stdin", NULL, 0, rc, ud);
		if (csip_msgsrc_is_mbox(s->str, s->len))
			rc = csip_msgsrc_split_mbox("stdin", s->str, s->len, fn,
						    ud);
		else if (s->len > CSIP_MSGSRC_MAX)
			rc = fn("stdin", NULL, 0, csip_error_set(CSIP_ETOOBIG,
				"stdin: message larger than %u bytes",
				CSIP_MSGSRC_MAX), ud);
		else
			rc = fn("stdin", s->str, s->len, CSIP_OK, ud);
		g_string_free(s, TRUE);
		return rc;
	}
	if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
		char *cur = g_build_filename(path, "cur", NULL);
		char *nw = g_build_filename(path, "new", NULL);
		int md = g_file_test(cur, G_FILE_TEST_IS_DIR) ||
			g_file_test(nw, G_FILE_TEST_IS_DIR);

		g_free(cur);
		g_free(nw);
		if (!md)
			return csip_error_set(CSIP_EINVAL, "%s is a folder but "
				"not a Maildir (no cur/ or new/); give the "
				"files, an mbox or a Maildir", path);
		return walk_maildir(path, fn, ud);
	}
	if (!g_file_test(path, G_FILE_TEST_EXISTS))
		return csip_error_set(CSIP_ENOTFOUND, "%s: no such file",
				      path);
	return walk_file(path, fn, ud);
}
