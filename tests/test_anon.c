/*
 * test_anon.c - the anonymiser (src/lib/anon.c) against invariant 4: a
 * recipient planted in every place a mail can carry it, in every charset
 * and encoding, is gone from the result in every decoding, while the
 * attacker's side survives; and over 827 real phishing mails the honeypot's
 * own address never survives (or the anonymiser fails closed).
 *
 * The result is decoded here with code of this file (GMime's own header
 * and charset decoding, a percent, entity and base64 decoder written for
 * the test), not with anon.c's, so a blind spot shared by the rewrite and
 * its own final check still shows.
 */
#include "lib/anon.h"
#include "testutil.h"
#include "util/error.h"

#include <archive.h>
#include <archive_entry.h>
#include <glib.h>
#include <gmime/gmime.h>
#include <string.h>

#define VICTIM "victim.example.jp"
#define TARO   "taro.yamada@" VICTIM

static char *victim_domains[] = { VICTIM, NULL };
static char *victim_nets[] = { "10.20.0.0/16", NULL };
static const csip_anon_policy victim = { victim_domains, victim_nets };

/* What must not survive planted.eml (with the victim policy). */
static const char *const planted_ids[] = {
	TARO, "taro.yamada", "hanako.suzuki", "security@" VICTIM, VICTIM,
	"mx1.victim", "mbox.victim", "pc-taro", "10.20.30.40", "192.168.5.6",
	"Taro Yamada", "Yamada", "Taro", "Hanako", "山田", "太郎", "鈴木",
	"花子", NULL
};

/* ---- reading the result independently --------------------------------- */

static char *
read_fixture(const char *name, gsize *len)
{
	char *path = g_test_build_filename(G_TEST_DIST, "data", "anon", name,
					   NULL);
	char *buf = NULL;
	GError *err = NULL;

	if (!g_file_get_contents(path, &buf, len, &err))
		g_error("%s: %s", path, err->message);
	g_free(path);
	return buf;
}

static GMimeMessage *
parse(const char *data, size_t len)
{
	GMimeStream *st = g_mime_stream_mem_new_with_buffer(data, len);
	GMimeParser *p = g_mime_parser_new_with_stream(st);
	GMimeMessage *m = g_mime_parser_construct_message(p, NULL);

	g_object_unref(p);
	g_object_unref(st);
	g_assert_nonnull(m);
	return m;
}

static GByteArray *
content_bytes(GMimePart *part)
{
	GMimeDataWrapper *w = g_mime_part_get_content(part);
	GMimeStream *ms = g_mime_stream_mem_new();
	GByteArray *copy = g_byte_array_new();

	if (w)
		g_mime_data_wrapper_write_to_stream(w, ms);
	g_byte_array_append(copy, g_mime_stream_mem_get_byte_array(
		GMIME_STREAM_MEM(ms))->data, g_mime_stream_mem_get_byte_array(
		GMIME_STREAM_MEM(ms))->len);
	g_object_unref(ms);
	return copy;
}

/* Every header (raw, GMime-decoded), parameter, preamble and text of a
 * message, texts decoded by GMime from their charset, other parts as
 * their decoded bytes. */
static void
collect(GMimeObject *obj, GPtrArray *out, int depth)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(obj);

	g_assert_cmpint(depth, <, 40);
	for (int i = 0; hl && i < g_mime_header_list_get_count(hl); i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		const char *raw = g_mime_header_get_raw_value(h);

		g_ptr_array_add(out, g_strdup(g_mime_header_get_name(h)));
		if (raw) {
			g_ptr_array_add(out, g_strdup(raw));
			g_ptr_array_add(out,
				g_mime_utils_header_decode_text(NULL, raw));
		}
		if (g_mime_header_get_value(h))
			g_ptr_array_add(out,
					g_strdup(g_mime_header_get_value(h)));
	}
	if (GMIME_IS_MESSAGE(obj)) {
		GMimeObject *b =
			g_mime_message_get_mime_part(GMIME_MESSAGE(obj));

		if (b)
			collect(b, out, depth + 1);
		return;
	}
	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message(
			GMIME_MESSAGE_PART(obj));

		if (m)
			collect(GMIME_OBJECT(m), out, depth + 1);
		return;
	}
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);

		if (g_mime_multipart_get_prologue(mp))
			g_ptr_array_add(out,
				g_strdup(g_mime_multipart_get_prologue(mp)));
		if (g_mime_multipart_get_epilogue(mp))
			g_ptr_array_add(out,
				g_strdup(g_mime_multipart_get_epilogue(mp)));
		for (int i = 0; i < g_mime_multipart_get_count(mp); i++)
			collect(g_mime_multipart_get_part(mp, i), out,
				depth + 1);
		return;
	}
	if (GMIME_IS_PART(obj)) {
		GMimePart *part = GMIME_PART(obj);
		GByteArray *b;

		if (g_mime_part_get_filename(part))
			g_ptr_array_add(out,
				g_strdup(g_mime_part_get_filename(part)));
		if (GMIME_IS_TEXT_PART(obj)) {
			char *t = g_mime_text_part_get_text(
				GMIME_TEXT_PART(obj));

			if (t)
				g_ptr_array_add(out, t);
		}
		b = content_bytes(part);
		g_byte_array_append(b, (const guint8 *)"", 1);
		/* An attached .eml read as a message too. */
		if (g_mime_part_get_filename(part) &&
		    g_str_has_suffix(g_mime_part_get_filename(part), ".eml")) {
			GMimeMessage *m = parse((const char *)b->data,
						b->len - 1);

			collect(GMIME_OBJECT(m), out, depth + 1);
			g_object_unref(m);
		}
		g_ptr_array_add(out, g_byte_array_free(b, FALSE));
	}
}

static char *
pct_decode(const char *s)
{
	GString *o = g_string_new(NULL);

	for (; *s; s++) {
		if (s[0] == '%' && g_ascii_isxdigit(s[1]) &&
		    g_ascii_isxdigit(s[2])) {
			g_string_append_c(o, (char)(
				g_ascii_xdigit_value(s[1]) * 16 +
				g_ascii_xdigit_value(s[2])));
			s += 2;
		} else {
			g_string_append_c(o, *s);
		}
	}
	return g_string_free(o, FALSE);
}

static char *
entity_decode(const char *s)
{
	GString *o = g_string_new(NULL);

	for (; *s; s++) {
		if (g_str_has_prefix(s, "&#64;") ||
		    g_str_has_prefix(s, "&#x40;") ||
		    g_str_has_prefix(s, "&commat;")) {
			g_string_append_c(o, '@');
			s = strchr(s, ';');
		} else {
			g_string_append_c(o, *s);
		}
	}
	return g_string_free(o, FALSE);
}

static gboolean b64c(char c)
{
	return g_ascii_isalnum(c) || c == '+' || c == '/' || c == '-' ||
	       c == '_';
}

static void
add_b64(GPtrArray *out, const char *s, size_t n)
{
	GString *t = g_string_new_len(s, n);
	guchar *dec;
	gsize dlen;

	for (size_t i = 0; i < t->len; i++) {
		if (t->str[i] == '-')
			t->str[i] = '+';
		else if (t->str[i] == '_')
			t->str[i] = '/';
	}
	while (t->len % 4)
		g_string_append_c(t, '=');
	dec = g_base64_decode(t->str, &dlen);
	g_ptr_array_add(out, g_strndup((char *)dec, dlen));
	g_free(dec);
	g_string_free(t, TRUE);
}

/* Base64-looking tokens of 16+ characters, whole and split at '/'. */
static void
b64_tokens(const char *s, GPtrArray *out)
{
	while (*s) {
		const char *e = s;

		if (!b64c(*s)) {
			s++;
			continue;
		}
		while (b64c(*e))
			e++;
		if (e - s >= 16) {
			int slashes = 0;

			add_b64(out, s, e - s);
			for (const char *p = s; p < e; p++)
				slashes += *p == '/';
			/* A URL path takes its pieces with it: try every
			 * stretch of them (a few slashes), or each piece. */
			for (const char *p = s, *q; p < e; p = q + 1) {
				q = p;
				while (q < e && *q != '/')
					q++;
				for (const char *r = q; r <= e; r++) {
					if ((r == e || *r == '/') &&
					    r - p >= 16)
						add_b64(out, p, r - p);
					if (slashes > 8)
						break;
				}
			}
		}
		s = e;
	}
}

static gboolean
contains_ci(const char *hay, const char *needle)
{
	char *h = g_ascii_strdown(hay, -1), *n = g_ascii_strdown(needle, -1);
	gboolean r = strstr(h, n) != NULL;

	g_free(h);
	g_free(n);
	return r;
}

/* The first text of TEXTS that holds NEEDLE in any decoding: as is,
 * percent-decoded, entity-decoded, base64 tokens (and those decoded once
 * more). */
static const char *
find_anywhere(GPtrArray *texts, const char *needle)
{
	for (guint i = 0; i < texts->len; i++) {
		const char *t = texts->pdata[i];
		GPtrArray *d = g_ptr_array_new_with_free_func(g_free);
		gboolean hit = FALSE;

		g_ptr_array_add(d, g_strdup(t));
		g_ptr_array_add(d, pct_decode(t));
		g_ptr_array_add(d, entity_decode(t));
		for (guint k = 0, n0 = d->len; k < n0; k++)
			b64_tokens(d->pdata[k], d);
		for (guint k = 3, n1 = d->len; k < n1; k++) {
			g_ptr_array_add(d, pct_decode(d->pdata[k]));
			b64_tokens(d->pdata[k], d);
		}
		for (guint k = 0; k < d->len && !hit; k++)
			hit = contains_ci(d->pdata[k], needle);
		g_ptr_array_free(d, TRUE);
		if (hit)
			return t;
	}
	return NULL;
}

/* The final check searches GMime's reading of every header, and takes it
 * without asking GMime where anon.c shows what it is
 * (csip_anon_known_reading()): for each raw value here, parsed by GMime,
 * that must be GMime's own reading, and the values of the shapes anon.c
 * knows must be known. */
static void
test_gmime_reading(void)
{
	static const struct {
		const char *raw;
		gboolean known;
	} cases[] = {
		{ "plain text", TRUE },
		{ " folded\r\n\tover  two\r\n lines  ", TRUE },
		{ "\vstarts with VT", TRUE },
		{ "ends with FF\f", TRUE },
		{ "\f\r\n\t\v", TRUE },
		{ "a=b?c = ?d", TRUE },
		{ "=?utf-8?B?dGFybw==?=", TRUE },
		{ "=?utf-8?B?dGFy?= =?utf-8?B?b0BleGFt?=\r\n"
		  " =?utf-8?B?cGxlLmpw?=", TRUE },
		{ "=?UTF-8?b?5bGx55Sw?=\t=?UTF-8?b?5aSq6YOO?=", TRUE },
		{ "=?utf-8?B?dGFybw==?= =?utf-8?B?QGV4YW1wbGUuanA=?=", FALSE },
		{ "=?utf-8?B?dGFy?= =?UTF-8?B?bw==?=", FALSE },
		{ "=?utf-8?B?dGFy?==?utf-8?B?bw==?=", FALSE },
		{ "=?utf-8?B?dGFy?= tail", FALSE },
		{ "=?utf-8?B?/w==?=", FALSE },
		{ "=?utf-8?B?YQBi?=", FALSE },
		{ "=?utf-8?Q?taro?=", FALSE },
		{ "=?iso-8859-1?B?6Q==?=", FALSE },
		{ "=?utf-8*en?B?dGFy?=", FALSE },
		{ "caf\xc3\xa9", FALSE },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *mail = g_strconcat("From: a@attacker.example\n"
			"X-Test: ", cases[i].raw, "\n\nbody\n", NULL);
		GMimeMessage *m = parse(mail, strlen(mail));
		GMimeHeader *h = g_mime_header_list_get_header(
			g_mime_object_get_header_list(GMIME_OBJECT(m)),
			"X-Test");
		char *known = csip_anon_known_reading(
			g_mime_header_get_raw_value(h));

		if (cases[i].known)
			g_assert_nonnull(known);
		if (known)
			g_assert_cmpstr(known, ==, g_mime_header_get_value(h));
		g_free(known);
		g_object_unref(m);
		g_free(mail);
	}
}

/* Every decoding of an anonymised message, raw bytes included. */
static GPtrArray *
decodings(const char *out, size_t len)
{
	GPtrArray *texts = g_ptr_array_new_with_free_func(g_free);
	GMimeMessage *m = parse(out, len);

	g_ptr_array_add(texts, g_strndup(out, len));
	collect(GMIME_OBJECT(m), texts, 0);
	g_object_unref(m);
	return texts;
}

static void
assert_gone(GPtrArray *texts, const char *needle)
{
	const char *t = find_anywhere(texts, needle);

	if (t)
		g_error("\"%s\" survived in:\n%.400s", needle, t);
}

/* A Japanese needle must not be in the raw bytes in a legacy charset
 * either (a part left unconverted). */
static void
assert_gone_legacy(const char *raw, size_t len, const char *needle)
{
	static const char *const cs[] = { "SHIFT_JIS", "EUC-JP", "ISO-2022-JP",
					  NULL };

	for (int i = 0; cs[i]; i++) {
		gsize n = 0;
		char *enc = g_convert(needle, -1, cs[i], "UTF-8", NULL, &n,
				      NULL);
		const char *core = enc;

		g_assert_nonnull(enc);
		if (enc[0] == 0x1b) {  /* ESC $ B ... ESC ( B */
			core = enc + 3;
			n -= 6;
		}
		if (memmem(raw, len, core, n))
			g_error("\"%s\" survived in %s", needle, cs[i]);
		g_free(enc);
	}
}

static int
anon(const char *data, size_t len, const csip_anon_policy *pol, char **out,
     size_t *out_len, json_t **removed)
{
	int rc = csip_anon_message(data, len, pol, out, out_len, removed);

	if (rc < 0) {
		g_assert_null(*out);
		g_assert_null(*removed);
		g_assert_cmpuint(*out_len, ==, 0);
	}
	return rc;
}

static const json_t *
removed_entry(const json_t *removed, const char *kind, const char *value)
{
	size_t i;
	const json_t *e;

	json_array_foreach(removed, i, e)
		if (g_strcmp0(json_string_value(json_object_get(e, "kind")),
			      kind) == 0 &&
		    g_strcmp0(json_string_value(json_object_get(e, "value")),
			      value) == 0)
			return e;
	return NULL;
}

static int
count_kind(const json_t *removed, const char *kind)
{
	size_t i;
	const json_t *e;
	int n = 0;

	json_array_foreach(removed, i, e)
		n += g_strcmp0(json_string_value(json_object_get(e, "kind")),
			       kind) == 0;
	return n;
}

static GPtrArray *
headers_named(const char *out, size_t len, const char *name)
{
	GMimeMessage *m = parse(out, len);
	GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(m));
	GPtrArray *v = g_ptr_array_new_with_free_func(g_free);

	for (int i = 0; i < g_mime_header_list_get_count(hl); i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);

		if (g_ascii_strcasecmp(g_mime_header_get_name(h), name) == 0) {
			char *u = g_mime_utils_header_unfold(
				g_mime_header_get_raw_value(h));

			g_ptr_array_add(v, g_mime_utils_header_decode_text(NULL,
									   u));
			g_free(u);
		}
	}
	g_object_unref(m);
	return v;
}

/* ---- text in an undeclared or wrong charset ------------------------------ */

/* A greeting with the recipient's name, in a body whose charset is not
 * declared, declared as us-ascii, or unknown.  7-bit ISO-2022-JP is also
 * valid ASCII and UTF-8, and EUC-JP reads as CP932 half-width katakana
 * without an error: the name must be found in the text a reader's client
 * shows, and be gone from the result in every legacy charset. */
static void
test_undeclared_charsets(void)
{
	static const struct {
		const char *cs, *label;
		int bom;    /* UTF-16 with its byte order mark, in base64 */
	} rows[] = {
		{ "ISO-2022-JP", NULL, 0 },
		{ "ISO-2022-JP", "us-ascii", 0 },
		{ "ISO-2022-JP", "iso-8859-1", 0 },
		{ "EUC-JP", NULL, 0 },
		{ "EUC-JP", "x-unknown-charset", 0 },
		{ "SHIFT_JIS", NULL, 0 },
		{ "UTF-16LE", NULL, 1 },
		{ "UTF-16LE", "us-ascii", 1 },
	};
	/* 山田 太郎 and "山田様 お世話になっております。" */
	const char *name = "\xe5\xb1\xb1\xe7\x94\xb0 \xe5\xa4\xaa"
			   "\xe9\x83\x8e";
	const char *greeting = "\xe5\xb1\xb1\xe7\x94\xb0\xe6\xa7\x98\n"
		"\xe3\x81\x8a\xe4\xb8\x96\xe8\xa9\xb1\xe3\x81\xab\xe3\x81"
		"\xaa\xe3\x81\xa3\xe3\x81\xa6\xe3\x81\x8a\xe3\x82\x8a"
		"\xe3\x81\xbe\xe3\x81\x99\xe3\x80\x82\n";

	for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
		char *b64 = g_base64_encode((const guchar *)name, strlen(name));
		gsize n = 0;
		char *body = g_convert(greeting, -1, rows[i].cs, "UTF-8", NULL,
				       &n, NULL);
		GString *mail = g_string_new(NULL);
		char *out = NULL;
		size_t out_len;
		json_t *removed = NULL;
		GPtrArray *texts;

		g_assert_nonnull(body);
		g_string_printf(mail, "From: a@attacker.example\n"
			"To: =?UTF-8?B?%s?= <" TARO ">\n"
			"Subject: invoice\nMIME-Version: 1.0\n", b64);
		if (rows[i].label)
			g_string_append_printf(mail, "Content-Type: text/plain;"
				" charset=%s\n", rows[i].label);
		if (rows[i].bom) {
			GString *u = g_string_new_len("\xff\xfe", 2);
			char *e;

			g_string_append_len(u, body, (gssize)n);
			e = g_base64_encode((const guchar *)u->str, u->len);
			g_string_append_printf(mail, "Content-Transfer-Encoding:"
					       " base64\n\n%s\n", e);
			g_free(e);
			g_string_free(u, TRUE);
		} else {
			g_string_append(mail, "\n");
			g_string_append_len(mail, body, (gssize)n);
		}
		if (anon(mail->str, mail->len, &victim, &out, &out_len,
			 &removed) < 0)
			g_error("%s as %s: %s", rows[i].cs, rows[i].label ?
				rows[i].label : "(none)", csip_error_last());
		texts = decodings(out, out_len);
		assert_gone(texts, "\xe5\xb1\xb1\xe7\x94\xb0");
		assert_gone_legacy(out, out_len,
				   "\xe5\xb1\xb1\xe7\x94\xb0");
		if (rows[i].bom) {
			/* 山田 in UTF-16LE, in the part's decoded bytes */
			GMimeMessage *m = parse(out, out_len);
			GByteArray *b = content_bytes(GMIME_PART(
				g_mime_message_get_mime_part(m)));

			g_assert_null(memmem(b->data, b->len, "\x71\x5c\x30"
					     "\x75", 4));
			g_byte_array_free(b, TRUE);
			g_object_unref(m);
		}
		g_ptr_array_free(texts, TRUE);
		g_free(out);
		json_decref(removed);
		g_string_free(mail, TRUE);
		g_free(body);
		g_free(b64);
	}
}

/* A binary attachment holding the recipient's address in UTF-16 (a text
 * file saved by Notepad, an Outlook .msg): kept byte for byte, so the
 * message fails closed, in either byte order and alignment; so does one
 * holding the recipient's name in UTF-16 or Shift_JIS (a spreadsheet);
 * one holding only other text is shared. */
static void
test_utf16_binary(void)
{
	static const struct {
		const char *text, *cs;
		int pad, ok;
	} rows[] = {
		{ "To: " TARO "\r\n", "UTF-16LE", 0, 0 },
		{ "To: " TARO "\r\n", "UTF-16BE", 0, 0 },
		{ "host mx1." VICTIM " at 10.20.30.40", "UTF-16LE", 1, 0 },
		{ "meeting notes, nothing else", "UTF-16LE", 0, 1 },
		/* the name alone: 宛先: 山田 太郎, in UTF-16LE and in the
		 * Shift_JIS of a spreadsheet's cells */
		{ "\xe5\xae\x9b\xe5\x85\x88: \xe5\xb1\xb1\xe7\x94\xb0 "
		  "\xe5\xa4\xaa\xe9\x83\x8e", "UTF-16LE", 0, 0 },
		{ "\xe5\xae\x9b\xe5\x85\x88: \xe5\xb1\xb1\xe7\x94\xb0 "
		  "\xe5\xa4\xaa\xe9\x83\x8e", "CP932", 1, 0 },
		{ "\xe4\xbc\x9a\xe8\xad\xb0\xe3\x83\xa1\xe3\x83\xa2",
		  "UTF-16LE", 0, 1 },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
		gsize n = 0;
		char *u16 = g_convert(rows[i].text, -1, rows[i].cs, "UTF-8",
				      NULL, &n, NULL);
		GByteArray *file = g_byte_array_new();
		char *b64, *out = NULL;
		GString *mail = g_string_new(NULL);
		size_t out_len;
		json_t *removed = NULL;
		int rc;

		g_assert_nonnull(u16);
		g_byte_array_append(file, (const guint8 *)"\xd0\xcf\x11\xe0"
				    "\x00\x01", 6);
		if (rows[i].pad)
			g_byte_array_append(file, (const guint8 *)"\x07", 1);
		g_byte_array_append(file, (const guint8 *)u16, (guint)n);
		b64 = g_base64_encode(file->data, file->len);
		g_string_printf(mail, "From: a@attacker.example\n"
			"To: =?UTF-8?B?5bGx55SwIOWkqumDjg==?= <" TARO ">\n"
			"Subject: msg\nMIME-Version: 1.0\n"
			"Content-Type: multipart/mixed; boundary=b\n\n"
			"--b\nContent-Type: text/plain\n\nsee attached\n"
			"--b\nContent-Type: application/octet-stream; "
			"name=x.msg\nContent-Transfer-Encoding: base64\n\n"
			"%s\n--b--\n", b64);
		rc = anon(mail->str, mail->len, &victim, &out, &out_len,
			  &removed);
		if (rows[i].ok) {
			csip_assert_ok(rc);
		} else {
			g_assert_cmpint(rc, <, 0);
			g_assert_nonnull(strstr(csip_error_last(), "part 2 "
				"(application/octet-stream)"));
		}
		g_free(out);
		json_decref(removed);
		g_string_free(mail, TRUE);
		g_free(b64);
		g_byte_array_free(file, TRUE);
		g_free(u16);
	}
}

/* Names the headers do not give: a mail forwarded inline lists its
 * recipients in a header block of the body (Outlook: 宛先: 山田 太郎;
 * 鈴木 花子, names alone; Gmail: To: 山田太郎 <address>), and a
 * one-character family or given name is a name where an honorific follows
 * it (林様, 誠さん).  The attacker's From line is kept. */
static void
test_names_in_text(void)
{
	/* 山田 太郎, 鈴木 花子, 林 誠, 様, さん */
#define YAMADA "\xe5\xb1\xb1\xe7\x94\xb0"
#define TARO_J "\xe5\xa4\xaa\xe9\x83\x8e"
#define SUZUKI "\xe9\x88\xb4\xe6\x9c\xa8"
#define HANAKO "\xe8\x8a\xb1\xe5\xad\x90"
#define HAYASHI "\xe6\x9e\x97"
#define MAKOTO "\xe8\xaa\xa0"
#define SAMA "\xe6\xa7\x98"
#define SAN "\xe3\x81\x95\xe3\x82\x93"
	static const char *const mails[] = {
		/* Outlook, forwarded inline by the provider's staff. */
		"From: soc@" VICTIM "\nTo: report@hub.example\n"
		"Subject: FW: invoice\nMIME-Version: 1.0\n"
		"Content-Type: text/plain; charset=utf-8\n\n"
		"FYI\n\n-----Original Message-----\n"
		"\xe5\xb7\xae\xe5\x87\xba\xe4\xba\xba: Evil Sender "
		"<evil@attacker.example>\n"
		"\xe5\xae\x9b\xe5\x85\x88: " YAMADA " " TARO_J "; "
		SUZUKI " " HANAKO "\n"
		"CC: Hanako Suzuki\n"
		"\xe4\xbb\xb6\xe5\x90\x8d: invoice\n\n"
		YAMADA SAMA "\n" SUZUKI SAN ", Suzuki-san\n",
		/* Gmail. */
		"From: soc@" VICTIM "\nTo: report@hub.example\n"
		"Subject: Fwd: invoice\nMIME-Version: 1.0\n"
		"Content-Type: text/plain; charset=utf-8\n\n"
		"---------- Forwarded message ---------\n"
		"From: Evil Sender <evil@attacker.example>\n"
		"Date: Mon, 30 Nov 2026 09:00:00 +0900\n"
		"Subject: invoice\n"
		"To: " YAMADA TARO_J " <" TARO ">, \"" SUZUKI " " HANAKO
		"\" <hanako@" VICTIM ">\n\n" YAMADA SAMA "\n"
		SUZUKI SAN "\n",
		/* One-character names. */
		"From: evil@attacker.example\nTo: =?UTF-8?B?5p6XIOiqoA==?= "
		"<makoto.hayashi@" VICTIM ">\nSubject: =?UTF-8?B?5p6X5qeY?="
		"\nMIME-Version: 1.0\n"
		"Content-Type: text/plain; charset=utf-8\n\n"
		HAYASHI SAMA "\n" MAKOTO SAN ", please see the invoice.\n",
	};
	static const char *const gone[] = { YAMADA, SUZUKI, HANAKO,
		"Hanako", "Suzuki", HAYASHI SAMA, MAKOTO SAN, NULL };

	for (size_t i = 0; i < G_N_ELEMENTS(mails); i++) {
		char *out = NULL;
		size_t out_len;
		json_t *removed = NULL;
		GPtrArray *texts;

		if (anon(mails[i], strlen(mails[i]), &victim, &out, &out_len,
			 &removed) < 0)
			g_error("mail %zu: %s", i, csip_error_last());
		texts = decodings(out, out_len);
		for (int k = 0; gone[k]; k++)
			assert_gone(texts, gone[k]);
		g_assert_nonnull(find_anywhere(texts,
					       "evil@attacker.example"));
		if (i < 2)
			g_assert_nonnull(find_anywhere(texts, "Evil Sender"));
		else
			g_assert_nonnull(find_anywhere(texts, "Recipient-1"
						       SAMA));
		g_ptr_array_free(texts, TRUE);
		g_free(out);
		json_decref(removed);
	}
#undef YAMADA
#undef TARO_J
#undef SUZUKI
#undef HANAKO
#undef HAYASHI
#undef MAKOTO
#undef SAMA
#undef SAN
}

/* An identity a reader sees but the bytes do not spell: the check reads
 * each text as a person or a script would and refuses the message (the
 * hub keeps the original).  The same forms around nothing of the
 * recipient's are shared. */
static void
test_reader_views(void)
{
	static const struct {
		const char *ct, *body;
		int ok;
	} rows[] = {
		/* ｔａｒｏ．ｙａｍａｄａ＠ｖｉｃｔｉｍ．ｅｘａｍｐｌｅ．ｊｐ */
		{ "text/plain", "\xef\xbd\x94\xef\xbd\x81\xef\xbd\x92"
		  "\xef\xbd\x8f\xef\xbc\x8e\xef\xbd\x99\xef\xbd\x81"
		  "\xef\xbd\x8d\xef\xbd\x81\xef\xbd\x84\xef\xbd\x81"
		  "\xef\xbc\xa0\xef\xbd\x96\xef\xbd\x89\xef\xbd\x83"
		  "\xef\xbd\x94\xef\xbd\x89\xef\xbd\x8d\xef\xbc\x8e"
		  "example\xef\xbc\x8ejp\n", 0 },
		/* a zero-width space inside the address's domain */
		{ "text/plain", "write to taro.yamada@vic\xe2\x80\x8b"
		  "tim.example.jp\n", 0 },
		{ "text/plain", "our gateway mx1[.]victim[.]example[.]jp "
		  "flagged it\n", 0 },
		{ "text/plain", "see hxxps://mx1.victim(.)example(.)jp/owa\n",
		  0 },
		{ "text/html", "<script>var u='\\x74aro.yamada\\x40victim"
		  "\\x2eexample\\x2ejp';</script>", 0 },
		{ "text/html", "<p><span>taro.yam</span><b></b>ada@vic<!-- x "
		  "-->tim.example.jp</p>", 0 },
		{ "text/calendar", "BEGIN:VCALENDAR\r\nLOCATION:mx1.victim.ex"
		  "\r\n ample.jp\r\nEND:VCALENDAR\r\n", 0 },
		{ "text/html", "<a href=\"https://t.example/?h=mx1.vic\n"
		  "\ttim.example.jp\">x</a>\n", 0 },

		/* a forwarded mail, uuencoded */
		{ "text/plain", "see below\nbegin 644 fwd.eml\n"
		  "M5&\\Z(\'1A<F\\N>6%M861A0\'9I8W1I;2YE>&%M<&QE+FIP#0I3=6)J96-T"
		  ".B!I\n1;G9O:6-E#0H-\"FAE;&QO#0H \n`\nend\n", 0 },
		/* The same forms around other things: shared. */
		{ "text/html", "<script>var u='\\x65vil';</script><p><span>"
		  "ev</span>il.example [.] \xef\xbc\xa1\xef\xbc\xa2 "
		  "hxxp://evil[.]example/</p>\n", 1 },
		{ "text/plain", "begin 644 notes.txt\n"
		  "4;65E=&EN9R!N;W1E<R!O;FQY#0H \n`\nend\n", 1 },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
		char *mail = g_strdup_printf("From: a@attacker.example\n"
			"To: =?UTF-8?B?5bGx55SwIOWkqumDjg==?= <" TARO ">\n"
			"Subject: hello\nMIME-Version: 1.0\n"
			"Content-Type: %s; charset=utf-8\n\n%s", rows[i].ct,
			rows[i].body);
		char *out = NULL;
		size_t out_len;
		json_t *removed = NULL;
		int rc = anon(mail, strlen(mail), &victim, &out, &out_len,
			      &removed);

		if (rows[i].ok && rc < 0)
			g_error("row %zu refused: %s", i, csip_error_last());
		if (!rows[i].ok && rc == 0)
			g_error("row %zu shared:\n%s", i, out);
		if (!rows[i].ok)
			g_assert_nonnull(strstr(csip_error_last(),
						"must not be shared"));
		g_free(out);
		json_decref(removed);
		g_free(mail);
	}
}

/* The recipient's Exchange tenant id, in the headers its organisation
 * adds (dropped) and wherever else it appears: replaced, with and
 * without dashes. */
static void
test_tenant_id(void)
{
	static const char mail[] = "From: a@attacker.example\n"
		"To: " TARO "\nSubject: x\n"
		"X-MS-Exchange-CrossTenant-Id: 3F2A9C1E-5B7D-4E8A-9C0B-"
		"1D2E3F4A5B6C\n"
		"X-MS-Exchange-ForwardingLoop: " TARO ";3f2a9c1e-5b7d-4e8a-"
		"9c0b-1d2e3f4a5b6c\n"
		"X-Note: tenant 3f2a9c1e5b7d4e8a9c0b1d2e3f4a5b6c\n\n"
		"see https://portal.example/?t=3f2a9c1e-5b7d-4e8a-9c0b-"
		"1d2e3f4a5b6c&x=1\n";
	char *out = NULL;
	size_t out_len;
	json_t *removed = NULL;
	GPtrArray *texts;

	if (anon(mail, strlen(mail), NULL, &out, &out_len, &removed) < 0)
		g_error("anonymise: %s", csip_error_last());
	texts = decodings(out, out_len);
	assert_gone(texts, "3f2a9c1e");
	assert_gone(texts, "1d2e3f4a5b6c");
	g_assert_nonnull(find_anywhere(texts, "https://portal.example/?t="
		"00000000-0000-0000-0000-000000000001&x=1"));
	g_assert_cmpint(count_kind(removed, "provider-id"), ==, 1);
	g_ptr_array_free(texts, TRUE);
	json_decref(removed);
	g_free(out);
}

/* MAIL anonymised under POL keeps none of GONE (NULL-terminated). */
static void
assert_anon_drops(const char *mail, const csip_anon_policy *pol,
		  const char *const *gone)
{
	char *out = NULL;
	size_t out_len;
	json_t *removed = NULL;
	GPtrArray *texts;

	if (anon(mail, strlen(mail), pol, &out, &out_len, &removed) < 0)
		g_error("anonymise: %s", csip_error_last());
	texts = decodings(out, out_len);
	for (int i = 0; gone[i]; i++)
		assert_gone(texts, gone[i]);
	g_ptr_array_free(texts, TRUE);
	json_decref(removed);
	g_free(out);
}

/* A provider domain with an internationalised label, given in punycode,
 * is found in its Unicode form too (例え.jp), raw and percent-encoded. */
static void
test_idn_domain(void)
{
	static char *doms[] = { "xn--r8jz45g.jp", NULL };
	static const csip_anon_policy pol = { doms, NULL };
	static const char *const gone[] = { "\xe4\xbe\x8b\xe3\x81\x88",
		"xn--r8jz45g", NULL };

	assert_anon_drops("From: a@attacker.example\n"
		"To: t@xn--r8jz45g.jp\nSubject: x\nMIME-Version: 1.0\n"
		"Content-Type: text/plain; charset=utf-8\n\n"
		"webmail https://mx1.\xe4\xbe\x8b\xe3\x81\x88.jp/owa and "
		"https://r.example/?h=%E4%BE%8B%E3%81%88.jp\n", &pol, gone);
}

/* An internal address written zero-padded (as logs print it) is an
 * internal address: replaced. */
static void
test_padded_ip(void)
{
	static const char *const gone[] = { "10.020.030.040", "010.20.30.040",
		NULL };

	assert_anon_drops("From: a@attacker.example\n"
		"To: " TARO "\nSubject: x\n\n"
		"our proxy 10.020.030.040 and 010.20.30.040:8080 saw it\n",
		&victim, gone);
}

/* A name in Shift_JIS or EUC-JP, percent-encoded in a link (a Japanese
 * web form's ?n=%8ER%93c...): replaced there too. */
static void
test_legacy_names_in_links(void)
{
	static const char mail[] = "From: a@attacker.example\n"
		"To: =?UTF-8?B?5bGx55SwIOWkqumDjg==?= <" TARO ">\n"
		"Subject: hello\nMIME-Version: 1.0\n"
		"Content-Type: text/plain; charset=utf-8\n\n"
		"https://form.example/?n=%8ER%93c%91%BE%98Y and "
		"https://form.example/?m=%BB%B3%C5%C4\n";
	static const char *const gone[] = { "%8ER%93c", "%BB%B3%C5%C4",
		NULL };
	char *out = NULL;
	size_t out_len;
	json_t *removed = NULL;

	assert_anon_drops(mail, &victim, gone);
	csip_assert_ok(anon(mail, strlen(mail), &victim, &out, &out_len,
			    &removed));
	g_assert_nonnull(strstr(out, "?n=Recipient-1 and "));
	g_assert_nonnull(strstr(out, "?m=Recipient-1\n"));
	g_free(out);
	json_decref(removed);
}

/* ---- the planted recipient ---------------------------------------------- */

static void
test_planted(void)
{
	gsize len;
	char *in = read_fixture("planted.eml", &len), *out = NULL;
	char *want_sha = read_fixture("planted.pdf.sha256", NULL);
	size_t out_len;
	json_t *removed = NULL;
	GPtrArray *texts, *rcv;
	GMimeMessage *m;
	GMimeObject *pdf = NULL;
	GMimePartIter *it;
	const json_t *e;

	if (anon(in, len, &victim, &out, &out_len, &removed) < 0)
		g_error("anonymise planted.eml: %s", csip_error_last());
	g_assert_cmpuint(out_len, ==, strlen(out));
	texts = decodings(out, out_len);
	for (int i = 0; planted_ids[i]; i++) {
		assert_gone(texts, planted_ids[i]);
		if ((unsigned char)planted_ids[i][0] >= 0x80)
			assert_gone_legacy(out, out_len, planted_ids[i]);
	}

	/* The attacker's side survives. */
	g_assert_nonnull(find_anywhere(texts, "evil@attacker.example"));
	g_assert_nonnull(find_anywhere(texts, "evil-reply@attacker.example"));
	g_assert_nonnull(find_anywhere(texts, "https://evil.example/login"));
	g_assert_nonnull(find_anywhere(texts, "https://evil.example/collect"));
	rcv = headers_named(out, out_len, "Received");
	g_assert_cmpuint(rcv->len, ==, 2);  /* the internal hop is gone */
	g_assert_nonnull(strstr(rcv->pdata[0], "203.0.113.9"));
	g_assert_nonnull(strstr(rcv->pdata[0], "from mail.attacker.example"));
	g_assert_nonnull(strstr(rcv->pdata[0], "by host-"));
	g_assert_nonnull(strstr(rcv->pdata[0],
				"for <recipient-1@redacted.invalid>"));
	g_assert_nonnull(strstr(rcv->pdata[1], "198.51.100.23"));
	g_ptr_array_free(rcv, TRUE);

	/* The binary attachment is byte for byte what was sent. */
	m = parse(out, out_len);
	it = g_mime_part_iter_new(GMIME_OBJECT(m));
	do {
		GMimeObject *o = g_mime_part_iter_get_current(it);

		if (o && GMIME_IS_PART(o) && g_mime_content_type_is_type(
			g_mime_object_get_content_type(o), "application",
			"pdf"))
			pdf = o;
	} while (g_mime_part_iter_next(it));
	g_assert_nonnull(pdf);
	{
		GByteArray *b = content_bytes(GMIME_PART(pdf));
		char *sha = g_compute_checksum_for_data(G_CHECKSUM_SHA256,
							b->data, b->len);

		g_assert_cmpstr(g_strstrip(want_sha), ==, sha);
		g_free(sha);
		g_byte_array_unref(b);
	}
	g_mime_part_iter_free(it);
	g_object_unref(m);

	/* One placeholder per value, whatever its case or encoding. */
	rcv = headers_named(out, out_len, "Cc");
	g_assert_cmpuint(rcv->len, ==, 1);
	g_assert_nonnull(strstr(rcv->pdata[0],
				"<recipient-1@redacted.invalid>"));
	g_assert_nonnull(strstr(rcv->pdata[0],
				"<recipient-2@redacted.invalid>"));
	g_ptr_array_free(rcv, TRUE);
	e = removed_entry(removed, "recipient-address", TARO);
	g_assert_nonnull(e);
	g_assert_cmpstr(json_string_value(json_object_get(e, "placeholder")),
			==, "recipient-1@redacted.invalid");
	g_assert_cmpuint(json_array_size(json_object_get(e, "where")), >=, 8);
	e = removed_entry(removed, "recipient-name", "山田 太郎");
	g_assert_nonnull(e);
	g_assert_cmpstr(json_string_value(json_object_get(e, "placeholder")),
			==, "Recipient-1");
	g_assert_nonnull(removed_entry(removed, "recipient-name", "山田"));
	g_assert_nonnull(removed_entry(removed, "recipient-address",
				       "hanako.suzuki@" VICTIM));
	g_assert_nonnull(removed_entry(removed, "provider-host",
				       "mx1." VICTIM));
	g_assert_nonnull(removed_entry(removed, "internal-ip", "10.20.30.40"));
	g_assert_nonnull(removed_entry(removed, "internal-ip", "192.168.5.6"));
	g_assert_nonnull(removed_entry(removed, "provider-domain", VICTIM));
	g_assert_cmpint(count_kind(removed, "internal-received"), ==, 2);
	g_assert_nonnull(strstr(out, "Recipient-1"));

	g_ptr_array_free(texts, TRUE);
	json_decref(removed);
	g_free(out);
	g_free(want_sha);
	g_free(in);
}

/* Without a policy the recipients still go; the provider's hosts stay
 * (nothing says they are the provider's). */
static void
test_planted_no_policy(void)
{
	static const char *const ids[] = { TARO, "taro.yamada",
		"hanako.suzuki", "security@" VICTIM, "Taro Yamada", "山田",
		"太郎", "花子", "192.168.5.6", "10.20.30.40", NULL };
	gsize len;
	char *in = read_fixture("planted.eml", &len), *out = NULL;
	size_t out_len;
	json_t *removed = NULL;
	GPtrArray *texts;

	if (anon(in, len, NULL, &out, &out_len, &removed) < 0)
		g_error("anonymise planted.eml: %s", csip_error_last());
	texts = decodings(out, out_len);
	for (int i = 0; ids[i]; i++)
		assert_gone(texts, ids[i]);
	g_assert_nonnull(find_anywhere(texts, "203.0.113.9"));
	g_assert_nonnull(find_anywhere(texts, "evil@attacker.example"));
	g_assert_null(removed_entry(removed, "provider-domain", VICTIM));
	g_ptr_array_free(texts, TRUE);
	json_decref(removed);
	g_free(out);
	g_free(in);
}

/* A phishing mail spoofing the provider's own address: the provider's
 * domain goes from the sender too. */
static void
test_spoofed_from(void)
{
	gsize len;
	char *in = read_fixture("spoofed-from.eml", &len), *out = NULL;
	size_t out_len;
	json_t *removed = NULL;
	GPtrArray *texts, *from;

	if (anon(in, len, &victim, &out, &out_len, &removed) < 0)
		g_error("anonymise spoofed-from.eml: %s", csip_error_last());
	texts = decodings(out, out_len);
	assert_gone(texts, VICTIM);
	assert_gone(texts, "it-support");
	assert_gone(texts, "hanako.suzuki");
	assert_gone(texts, "gw.victim");
	g_assert_nonnull(find_anywhere(texts, "https://evil.example/reset"));
	g_assert_nonnull(find_anywhere(texts, "203.0.113.9"));
	from = headers_named(out, out_len, "From");
	g_assert_cmpuint(from->len, ==, 1);
	g_assert_nonnull(strstr(from->pdata[0], "@redacted.invalid"));
	g_ptr_array_free(from, TRUE);
	g_assert_nonnull(removed_entry(removed, "recipient-address",
				       "it-support@" VICTIM));
	g_ptr_array_free(texts, TRUE);
	json_decref(removed);
	g_free(out);
	g_free(in);
}

/* Internal hops are dropped, the border hop keeps the attacker's side even
 * when the attacker claims a provider name in HELO, loopback hops of the
 * attacker stay. */
static void
test_received(void)
{
	gsize len;
	char *in = read_fixture("received.eml", &len), *out = NULL;
	size_t out_len;
	json_t *removed = NULL;
	GPtrArray *texts, *rcv;

	if (anon(in, len, &victim, &out, &out_len, &removed) < 0)
		g_error("anonymise received.eml: %s", csip_error_last());
	texts = decodings(out, out_len);
	assert_gone(texts, "10.20.");
	assert_gone(texts, "EXCH0");
	assert_gone(texts, VICTIM);
	assert_gone(texts, "jiro");
	rcv = headers_named(out, out_len, "Received");
	g_assert_cmpuint(rcv->len, ==, 2);
	g_assert_nonnull(strstr(rcv->pdata[0], "[203.0.113.9]"));
	g_assert_nonnull(strstr(rcv->pdata[0], "from host-"));
	g_assert_nonnull(strstr(rcv->pdata[0], "by host-"));
	g_assert_nonnull(strstr(rcv->pdata[1], "smtp.attacker.example"));
	g_ptr_array_free(rcv, TRUE);
	g_assert_cmpint(count_kind(removed, "internal-received"), ==, 3);
	g_assert_nonnull(removed_entry(removed, "internal-ip", "10.20.1.9"));
	g_ptr_array_free(texts, TRUE);
	json_decref(removed);
	g_free(out);
	g_free(in);
}

/* Links the recipient's mail gateway rewrote (Safe Links with the
 * tenant's id in data=, Proofpoint v2 with the customer's in c=, v3 with
 * it after "!!", Proofpoint around Safe Links) are replaced by the links
 * they wrap, in text and HTML, without a policy too; a target that names
 * the recipient has it replaced; a gateway link whose target cannot be
 * read fails closed. */
static void
test_gateway_links(void)
{
	static const char tenant[] = "72f988bf86f141af91ab2d7cd011db47";
	static const char safe[] = "https://nam12.safelinks.protection."
		"outlook.com/?url=https%3A%2F%2Fevil-target.example%2Flogin%3F"
		"u%3D" "taro.yamada%40" VICTIM "&data=05%7C02%7C" "taro.yamada%40"
		VICTIM "%7C3f2a1b0c4d5e6f708192a3b4c5d6e7f8%7C"
		"72f988bf86f141af91ab2d7cd011db47%7C0%7C0%7C638390000000000000"
		"&sdata=c2lnbmF0dXJl%3D&reserved=0";
	GString *mail = g_string_new(NULL);
	char *out = NULL;
	size_t out_len;
	json_t *removed = NULL;
	GPtrArray *texts;
	const char *const gone[] = {
		"safelinks", "urldefense", tenant, "CUSTOMERID7", "CUST3ID",
		"taro.yamada", NULL
	};
	const char *const other_gone[] = {
		"sophos.com", "NWE0ZmUxMjM0NTY3", "SOPHOSHASH", "cudasvc",
		"BARRACUDAID", "trendmicro", "TRENDUMID", "TRENDAUTH", NULL
	};

	g_string_printf(mail, "From: a@attacker.example\n"
		"To: Taro Yamada <" TARO ">\n"
		"Subject: invoice\n"
		"MIME-Version: 1.0\n"
		"Content-Type: multipart/alternative; boundary=\"B\"\n\n"
		"--B\nContent-Type: text/plain\n\n"
		"Pay at https://urldefense.proofpoint.com/v2/url?u=https-3A__"
		"pp-target.example_pay&d=DwMFaQ&c=CUSTOMERID7&r=abc&m=x&s=y&e="
		"\nor https://urldefense.com/v3/__https://v3-target.example/p"
		"__;!!CUST3ID!sig$ .\n"
		"--B\nContent-Type: text/html\n\n"
		"<a href=\"%s\">log in</a> <a href=\"https://urldefense."
		"proofpoint.com/v2/url?u=https-3A__nam12.safelinks.protection."
		"outlook.com_-3Furl-3Dhttps-253A-252F-252Fdouble-target.example"
		"-252F-26data-3D05&d=DwMFaQ&c=CUSTOMERID7&e=\">x</a>\n"
		"--B--\n", safe);
	if (anon(mail->str, mail->len, NULL, &out, &out_len, &removed) < 0)
		g_error("anonymise: %s", csip_error_last());
	texts = decodings(out, out_len);
	for (int i = 0; gone[i]; i++)
		assert_gone(texts, gone[i]);
	g_assert_nonnull(find_anywhere(texts, "https://pp-target.example/pay"));
	g_assert_nonnull(find_anywhere(texts, "https://v3-target.example/p"));
	g_assert_nonnull(find_anywhere(texts, "https://double-target.example/"));
	g_assert_nonnull(find_anywhere(texts, "https://evil-target.example/"
				       "login?u=recipient-1@redacted.invalid"));
	g_assert_cmpint(count_kind(removed, "gateway-link"), ==, 4);
	g_ptr_array_free(texts, TRUE);
	json_decref(removed);
	g_free(out);

	/* Other gateways: Sophos (the customer id in i=), Barracuda (c=),
	 * Trend Micro (umid=, auth=). */
	g_string_printf(mail, "From: a@attacker.example\nTo: " TARO "\n"
		"Subject: x\n\nhttps://eu-central-1.protection.sophos.com?d="
		"evil.example&u=aHR0cHM6Ly9zb3Bob3MtdGFyZ2V0LmV4YW1wbGUvbG9n"
		"aW4=&i=NWE0ZmUxMjM0NTY3&t=dGVuYW50&h=SOPHOSHASH\n"
		"https://linkprotect.cudasvc.com/url?a=https%%3a%%2f%%2fbarra-"
		"target.example%%2fx&c=E,1,BARRACUDAID&typo=1\n"
		"https://imsva91-ctp.trendmicro.com:443/wis/clicktime/v1/query?"
		"url=https%%3a%%2f%%2ftrend-target.example%%2fy&umid=TRENDUMID&"
		"auth=TRENDAUTH\n");
	if (anon(mail->str, mail->len, NULL, &out, &out_len, &removed) < 0)
		g_error("anonymise: %s", csip_error_last());
	texts = decodings(out, out_len);
	for (int i = 0; other_gone[i]; i++)
		assert_gone(texts, other_gone[i]);
	g_assert_nonnull(find_anywhere(texts,
		"https://sophos-target.example/login"));
	g_assert_nonnull(find_anywhere(texts, "https://barra-target.example/x"));
	g_assert_nonnull(find_anywhere(texts, "https://trend-target.example/y"));
	g_ptr_array_free(texts, TRUE);
	json_decref(removed);
	g_free(out);

	/* No target to put in its place: fail closed. */
	g_string_assign(mail, "From: a@attacker.example\nTo: " TARO "\n"
		"Subject: x\n\nhttps://nam12.safelinks.protection.outlook.com/"
		"?data=05%7C02%7C72f988bf86f141af91ab2d7cd011db47\n");
	g_assert_cmpint(anon(mail->str, mail->len, NULL, &out, &out_len,
			     &removed), ==, CSIP_ERR);
	g_assert_null(strstr(csip_error_last(), tenant));
	g_string_free(mail, TRUE);
}

/* An address inside the bytes of a binary attachment cannot be rewritten
 * (the attachment is kept byte for byte): fail closed, and the message
 * names neither the address nor the domain. */
static void
test_fail_closed(void)
{
	gsize len;
	char *in = read_fixture("binary-leak.eml", &len), *out = NULL;
	size_t out_len = 1;
	json_t *removed = NULL;
	int rc = anon(in, len, &victim, &out, &out_len, &removed);

	g_assert_cmpint(rc, ==, CSIP_ERR);
	g_assert_true(g_str_has_prefix(csip_error_last(),
				       "anonymisation incomplete: "));
	g_assert_null(strstr(csip_error_last(), "taro"));
	g_assert_null(strstr(csip_error_last(), "victim"));
	g_free(in);
}

/* The check remembers the strings it found nothing in, keyed by the
 * patterns known at the time: a part the rewrite passed before a later
 * part gave a new recipient (a local part glued to the provider's domain,
 * which discovery does not take) is searched again for it, and the
 * message fails closed instead of sharing the local part.  The first part
 * is long enough to be remembered. */
static void
test_check_memo(void)
{
	GString *mail = g_string_new("From: a@attacker.example\n"
		"To: t@y.example\nMIME-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\n"
		"Content-Type: text/plain; charset=us-ascii\n\n");
	char *out = NULL;
	size_t out_len = 1;
	json_t *removed = NULL;
	int rc;

	for (int i = 0; i < 8; i++)
		g_string_append(mail, "A paragraph long enough to be "
				"remembered by the check. ");
	g_string_append(mail, "\nContact X7jiro.tanaka for details.\n--b\n"
		"Content-Type: text/plain; charset=us-ascii\n\n"
		"https://evil.example/#X7jiro.tanaka@" VICTIM "Q9\n--b--\n");
	rc = anon(mail->str, mail->len, &victim, &out, &out_len, &removed);
	g_assert_cmpint(rc, ==, CSIP_ERR);
	g_assert_null(out);
	g_assert_true(g_str_has_prefix(csip_error_last(),
				       "anonymisation incomplete: "));
	g_assert_null(strstr(csip_error_last(), "jiro"));
	g_string_free(mail, TRUE);
}

/* Smaller shapes, one rule each. */
static void
test_shapes(void)
{
	static const struct {
		const char *mail, *gone[4], *kept;
	} cases[] = {
		/* Glued into a tracking token: the provider's address is
		 * still an address. */
		{ "From: a@attacker.example\nTo: x@y.example\n\n"
		  "https://evil.example/#X7taro.yamada@victim.example.jpQ9\n",
		  { "victim.example.jp", "taro.yamada@", NULL },
		  "https://evil.example/#" },
		/* A name written as HTML character references. */
		{ "From: a@attacker.example\n"
		  "To: =?UTF-8?B?5bGx55SwIOWkqumDjg==?= <t@y.example>\n"
		  "Content-Type: text/html; charset=utf-8\n\n"
		  "<p>&#x5c71;&#x7530;&#27096;</p>\n",
		  { "&#x5c71;&#x7530;", "山田", NULL }, "<p>" },
		/* The family name alone in a greeting, full-width at sign. */
		{ "From: a@attacker.example\n"
		  "To: \"Yamada, Taro\" <t@y.example>\n"
		  "Content-Type: text/plain; charset=utf-8\n\n"
		  "Dear Mr. YAMADA, write to t\xef\xbc\xa0y.example\n",
		  { "yamada", "t\xef\xbc\xa0y.example", NULL }, "Dear Mr." },
		/* An IP of the provider's network outside Received. */
		{ "From: a@attacker.example\nTo: t@y.example\n"
		  "X-Originating-IP: [10.20.9.9]\n\nserver 10.20.9.9:8080\n",
		  { "10.20.9.9", NULL }, "server ip-1.redacted.invalid:8080" },
		/* A provider host in a Message-ID keeps its local part. */
		{ "From: a@attacker.example\nTo: t@y.example\n"
		  "Message-ID: <abc@mail.victim.example.jp>\n\nx\n",
		  { "victim", NULL }, "<abc@host-1.redacted.invalid>" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *out = NULL;
		size_t out_len;
		json_t *removed = NULL;
		GPtrArray *texts;

		if (anon(cases[i].mail, strlen(cases[i].mail), &victim, &out,
			 &out_len, &removed) < 0)
			g_error("case %zu: %s", i, csip_error_last());
		texts = decodings(out, out_len);
		for (int k = 0; cases[i].gone[k]; k++) {
			assert_gone(texts, cases[i].gone[k]);
			g_assert_null(strstr(out, cases[i].gone[k]));
		}
		if (!find_anywhere(texts, cases[i].kept))
			g_error("case %zu: \"%s\" not kept in:\n%s", i,
				cases[i].kept, out);
		g_ptr_array_free(texts, TRUE);
		json_decref(removed);
		g_free(out);
	}
}

/* A rewritten text part is set as GMime's g_mime_text_part_set_text()
 * sets it (anon.c skips GMime's charset scan where it knows the outcome):
 * the charset parameter, the transfer encoding and the decoded text of the
 * result are those of a part built here by GMime itself from the same
 * rewritten text, in each of GMime's three cases (ASCII, Latin-1 only,
 * beyond) and from each starting encoding. */
static void
test_text_charset(void)
{
	/* The last is not UTF-8: its invalid byte is read as U+FFFD (the
	 * valid runs around it are copied, the rest goes to iconv), and the
	 * text stays UTF-8 with one error, fewer than any other charset
	 * gives and few enough to keep. */
	static const char *const texts[] = { "plain ASCII", "caf\xc3\xa9",
		"\xe5\xb1\xb1\xe7\x94\xb0 caf\xc3\xa9 \xf0\x9f\x93\xa7",
		"a line of plain words long enough \xff caf\xc3\xa9 "
		"\xe5\xb1\xb1" };
	static const char *const read_as[] = { NULL, NULL, NULL,
		"a line of plain words long enough \xef\xbf\xbd caf\xc3\xa9 "
		"\xe5\xb1\xb1" };
	static const char *const ctes[] = { NULL, "8bit", "quoted-printable",
		"base64" };

	for (size_t t = 0; t < G_N_ELEMENTS(texts); t++)
	for (size_t c = 0; c < G_N_ELEMENTS(ctes); c++) {
		char *body = g_strdup_printf("Write to %s: %s\n", TARO,
					     texts[t]);
		char *want = g_strdup_printf("Write to recipient-1@"
			"redacted.invalid: %s\n", read_as[t] ? read_as[t] :
			texts[t]);
		GString *mail = g_string_new("From: a@attacker.example\n"
			"To: " TARO "\nMIME-Version: 1.0\n"
			"Content-Type: text/plain; charset=utf-8\n");
		GMimeTextPart *ref = g_mime_text_part_new();
		GMimePart *got;
		GMimeMessage *m;
		GMimeContentEncoding was = GMIME_CONTENT_ENCODING_DEFAULT;
		char *out = NULL, *text;
		size_t out_len;
		json_t *removed = NULL;

		if (ctes[c]) {
			g_string_append_printf(mail,
				"Content-Transfer-Encoding: %s\n", ctes[c]);
			was = g_mime_content_encoding_from_string(ctes[c]);
		}
		g_string_append_c(mail, '\n');
		if (was == GMIME_CONTENT_ENCODING_BASE64) {
			char *b = g_base64_encode((const guchar *)body,
						  strlen(body));

			g_string_append_printf(mail, "%s\n", b);
			g_free(b);
		} else if (was == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE) {
			for (const char *p = body; *p; p++)
				if ((unsigned char)*p >= 0x80 || *p == '=')
					g_string_append_printf(mail, "=%02X",
						(unsigned char)*p);
				else
					g_string_append_c(mail, *p);
		} else {
			g_string_append(mail, body);
		}
		csip_assert_ok(anon(mail->str, mail->len, &victim, &out,
				    &out_len, &removed));
		m = parse(out, out_len);
		got = GMIME_PART(g_mime_message_get_mime_part(m));
		g_assert_true(GMIME_IS_TEXT_PART(got));

		/* What anon.c does to a rewritten text part, with GMime. */
		g_mime_part_set_content_encoding(GMIME_PART(ref), was);
		g_mime_text_part_set_text(ref, want);
		if (was != GMIME_CONTENT_ENCODING_BASE64 &&
		    was != GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE)
			was = g_mime_part_get_best_content_encoding(
				GMIME_PART(ref),
				GMIME_ENCODING_CONSTRAINT_7BIT);
		g_mime_part_set_content_encoding(GMIME_PART(ref), was);

		g_assert_cmpstr(g_mime_text_part_get_charset(
			GMIME_TEXT_PART(got)), ==,
			g_mime_text_part_get_charset(ref));
		g_assert_cmpint(g_mime_part_get_content_encoding(got), ==,
				g_mime_part_get_content_encoding(
					GMIME_PART(ref)));
		text = g_mime_text_part_get_text(GMIME_TEXT_PART(got));
		g_assert_cmpstr(text, ==, want);
		g_free(text);
		text = g_mime_text_part_get_text(ref);
		g_assert_cmpstr(text, ==, want);
		g_free(text);

		g_object_unref(m);
		g_object_unref(ref);
		json_decref(removed);
		g_free(out);
		g_string_free(mail, TRUE);
		g_free(want);
		g_free(body);
	}
}

/* The check leaves a CR before an LF out of its memo's keys, and does not
 * search the raw value of a plain header besides its text, only where that
 * cannot change an answer.  A name that holds a CR LF (from an encoded
 * word) is a pattern with a line break: a text with it after CR LF must
 * not take the answer of the same text with LF alone, remembered from an
 * earlier part.  A lone CR in a header joins its neighbours in the text
 * ("ab" and "taroyamada"): the raw value must still be searched, and the
 * local part found there fails the message closed. */
static void
test_check_breaks(void)
{
	GString *pad = g_string_new(NULL), *mail;
	char *p1, *p2, *b1, *b2, *out = NULL;
	size_t out_len = 0;
	json_t *removed = NULL;
	static const char lone_cr[] = "From: a@attacker.example\n"
		"To: taroyamada@" VICTIM "\nX-Note: ab\rtaroyamada\n\n"
		"hello\n";

	for (int i = 0; i < 8; i++)
		g_string_append(pad, "A paragraph long enough to be "
				"remembered by the check. ");
	p1 = g_strdup_printf("%s\nto Xy\nZw\n", pad->str);
	p2 = g_strdup_printf("%s\nto Xy\r\nZw\n", pad->str);
	b1 = g_base64_encode((const guchar *)p1, strlen(p1));
	b2 = g_base64_encode((const guchar *)p2, strlen(p2));
	mail = g_string_new(NULL);
	g_string_printf(mail, "From: a@attacker.example\n"
		"To: =?UTF-8?B?WHkNClp3?= <t@y.example>\nMIME-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\n"
		"Content-Type: text/plain; charset=us-ascii\n"
		"Content-Transfer-Encoding: base64\n\n%s\n--b\n"
		"Content-Type: text/plain; charset=us-ascii\n"
		"Content-Transfer-Encoding: base64\n\n%s\n--b--\n", b1, b2);
	csip_assert_ok(anon(mail->str, mail->len, &victim, &out, &out_len,
			    &removed));
	g_assert_nonnull(removed_entry(removed, "recipient-name",
				       "Xy\r\nZw"));
	{
		GPtrArray *texts = decodings(out, out_len);

		assert_gone(texts, "Xy\r\nZw");
		g_assert_true(find_anywhere(texts, "to Xy\nZw"));
		g_ptr_array_free(texts, TRUE);
	}
	json_decref(removed);
	g_free(out);
	out = NULL;

	g_assert_cmpint(anon(lone_cr, strlen(lone_cr), &victim, &out,
			     &out_len, &removed), ==, CSIP_ERR);
	g_assert_true(g_str_has_prefix(csip_error_last(),
				       "anonymisation incomplete: "));
	g_assert_nonnull(strstr(csip_error_last(), "header:X-Note"));
	g_assert_null(strstr(csip_error_last(), "taro"));

	g_string_free(mail, TRUE);
	g_string_free(pad, TRUE);
	g_free(b1);
	g_free(b2);
	g_free(p1);
	g_free(p2);
}

/* Running the anonymiser on its own result finds nothing more. */
static void
test_idempotent(void)
{
	gsize len;
	char *in = read_fixture("planted.eml", &len), *out = NULL, *out2 = NULL;
	size_t out_len, out2_len;
	json_t *removed = NULL, *removed2 = NULL;

	csip_assert_ok(anon(in, len, &victim, &out, &out_len, &removed));
	csip_assert_ok(anon(out, out_len, &victim, &out2, &out2_len,
			    &removed2));
	g_assert_cmpuint(json_array_size(removed2), ==, 0);
	json_decref(removed);
	json_decref(removed2);
	g_free(out);
	g_free(out2);
	g_free(in);
}

static void
test_bad_input(void)
{
	static const char garbage[] = "\x00\x01\x02 not a mail \xff";
	char *bad_nets[] = { "10.0.0.0/33", NULL };
	char *bad_doms[] = { "Victim Example", NULL };
	csip_anon_policy p1 = { NULL, bad_nets }, p2 = { bad_doms, NULL };
	const char *mail = "From: a@attacker.example\nTo: b@x.example\n\nhi\n";
	char *out = NULL, *big;
	size_t out_len;
	json_t *removed = NULL;

	g_assert_cmpint(anon("", 0, NULL, &out, &out_len, &removed), ==,
			CSIP_EINVAL);
	g_assert_cmpint(anon(garbage, sizeof garbage - 1, NULL, &out, &out_len,
			     &removed), ==, CSIP_EINVAL);
	g_assert_nonnull(strstr(csip_error_last(), "not a mail"));
	g_assert_cmpint(anon(mail, strlen(mail), &p1, &out, &out_len,
			     &removed), ==, CSIP_EINVAL);
	g_assert_nonnull(strstr(csip_error_last(), "10.0.0.0/33"));
	g_assert_cmpint(anon(mail, strlen(mail), &p2, &out, &out_len,
			     &removed), ==, CSIP_EINVAL);
	g_assert_nonnull(strstr(csip_error_last(), "Victim Example"));
	big = g_malloc0(CSIP_ANON_MAX_MESSAGE + 1);
	g_assert_cmpint(anon(big, CSIP_ANON_MAX_MESSAGE + 1, NULL, &out,
			     &out_len, &removed), ==, CSIP_ETOOBIG);
	g_free(big);

	/* A mail with nothing to remove comes back with an empty list. */
	csip_assert_ok(anon(mail, strlen(mail), NULL, &out, &out_len,
			    &removed));
	g_assert_nonnull(strstr(out, "From: a@attacker.example"));
	g_assert_nonnull(strstr(out, "recipient-1@redacted.invalid"));
	json_decref(removed);
	g_free(out);
}

/* ---- 827 real phishing mails ------------------------------------------ */

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static gint
cmp_str(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The honeypot's address was replaced by phishing@pot everywhere: with
 * "pot" as the provider's domain, no result may hold it in any decoding,
 * or the anonymiser must have failed closed, and rarely. */
static void
test_phishing_pot(void)
{
	static char *pot[] = { "pot", NULL };
	const csip_anon_policy pol = { pot, NULL };
	char *dir = g_test_build_filename(G_TEST_DIST, "..", "..", "shared",
					  "testdata", "mail", "phishing_pot",
					  NULL);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;
	guint step = 1, tried = 0, failed = 0, removed_any = 0;

	if (!d) {
		g_test_skip("the phishing_pot corpus (../shared/testdata/mail/"
			    "phishing_pot) is not there");
		g_free(dir);
		g_ptr_array_free(names, TRUE);
		return;
	}
	while ((name = g_dir_read_name(d)))
		if (g_str_has_suffix(name, ".eml"))
			g_ptr_array_add(names, g_strdup(name));
	g_dir_close(d);
	g_ptr_array_sort(names, cmp_str);
#ifdef UNDER_ASAN
	/* Every third mail keeps the sanitizer run short; CSIP_TEST_FULL=1
	 * runs them all. */
	if (!g_getenv("CSIP_TEST_FULL"))
		step = 3;
#endif
	for (guint i = 0; i < names->len; i += step) {
		char *path = g_build_filename(dir, names->pdata[i], NULL);
		char *in = NULL, *out = NULL;
		gsize len;
		size_t out_len;
		json_t *removed = NULL;
		int rc;

		g_assert_true(g_file_get_contents(path, &in, &len, NULL));
		tried++;
		rc = anon(in, len, &pol, &out, &out_len, &removed);
		if (rc < 0) {
			if (rc != CSIP_ERR)
				g_error("%s: %d %s", path, rc,
					csip_error_last());
			g_assert_null(strstr(csip_error_last(),
					     "phishing@pot"));
			g_test_message("fail closed: %s: %s", path,
				       csip_error_last());
			failed++;
		} else {
			GPtrArray *texts = decodings(out, out_len);
			const char *t = find_anywhere(texts, "phishing@pot");

			if (t)
				g_error("%s: phishing@pot survived in:\n%.400s",
					path, t);
			removed_any += json_array_size(removed) > 0;
			g_ptr_array_free(texts, TRUE);
			json_decref(removed);
			g_free(out);
		}
		g_free(in);
		g_free(path);
	}
	g_test_message("phishing_pot: %u mails, %u failed closed (%.1f%%), "
		       "%u with something removed", tried, failed,
		       100.0 * failed / MAX(tried, 1), removed_any);
	g_assert_cmpuint(tried, >, 0);
	g_assert_cmpuint(failed * 20, <, tried);
	g_ptr_array_free(names, TRUE);
	g_free(dir);
}

/* ---- archives ----------------------------------------------------------- */

typedef struct arch_file {
	const char *name;
	const char *data;
	size_t len;          /* 0: strlen(data) */
} arch_file;

static la_ssize_t
arch_out(struct archive *ar, void *ud, const void *buf, size_t n)
{
	(void)ar;
	g_byte_array_append(ud, buf, (guint)n);
	return (la_ssize_t)n;
}

/* An archive of the N FILES, built with libarchive: a zip (encrypted with
 * ZipCrypto under PASSWORD unless NULL), or with GZIP one gzip'd file. */
static GByteArray *
arch_pack(const arch_file *files, size_t n, gboolean gzip,
	  const char *password)
{
	struct archive *ar = archive_write_new();
	GByteArray *out = g_byte_array_new();

	if (gzip) {
		g_assert_cmpint(archive_write_set_format_raw(ar), ==,
				ARCHIVE_OK);
		g_assert_cmpint(archive_write_add_filter_gzip(ar), ==,
				ARCHIVE_OK);
	} else {
		g_assert_cmpint(archive_write_set_format_zip(ar), ==,
				ARCHIVE_OK);
	}
	if (password) {
		g_assert_cmpint(archive_write_set_options(ar,
			"zip:encryption=zipcrypt"), ==, ARCHIVE_OK);
		g_assert_cmpint(archive_write_set_passphrase(ar, password), ==,
				ARCHIVE_OK);
	}
	archive_write_set_bytes_in_last_block(ar, 1);
	g_assert_cmpint(archive_write_open(ar, out, NULL, arch_out, NULL), ==,
			ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		size_t len = files[i].len ? files[i].len :
			     strlen(files[i].data);

		archive_entry_update_pathname_utf8(e, files[i].name);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)len);
		g_assert_cmpint(archive_write_header(ar, e), ==, ARCHIVE_OK);
		g_assert_cmpint(archive_write_data(ar, files[i].data, len), ==,
				(la_ssize_t)len);
		archive_entry_free(e);
	}
	g_assert_cmpint(archive_write_close(ar), ==, ARCHIVE_OK);
	archive_write_free(ar);
	return out;
}

/* A mail to the recipient with BODY and the attachment NAME of TYPE
 * holding AR. */
static GString *
arch_mail(const char *body, const char *type, const char *name,
	  const GByteArray *ar)
{
	char *b64 = g_base64_encode(ar->data, ar->len);
	GString *m = g_string_new(NULL);

	g_string_printf(m, "From: a@attacker.example\n"
		"To: =?UTF-8?B?5bGx55SwIOWkqumDjg==?= <" TARO ">\n"
		"Subject: invoice\nMIME-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=b\n\n"
		"--b\nContent-Type: text/plain; charset=utf-8\n\n%s\n"
		"--b\nContent-Type: %s; name=%s\n"
		"Content-Transfer-Encoding: base64\n\n%s\n--b--\n",
		body, type, name, b64);
	g_free(b64);
	return m;
}

/* The bytes of the attachment (the last leaf) of the mail OUT. */
static GByteArray *
arch_attachment(const char *out, size_t len)
{
	GMimeMessage *m = parse(out, len);
	GMimeMultipart *mp = GMIME_MULTIPART(g_mime_message_get_mime_part(m));
	GByteArray *b = content_bytes(GMIME_PART(g_mime_multipart_get_part(mp,
		g_mime_multipart_get_count(mp) - 1)));

	g_object_unref(m);
	return b;
}

/* An archive attached as a binary part is kept byte for byte, and its
 * packed bytes hide its members from the raw search: the check opens it,
 * and a recipient or a provider name in a member (a mail walked as one,
 * text searched with names, anything else searched raw, archives inside
 * opened in turn, encrypted ones with the passwords the body gives, the
 * member names searched as text) fails the message, naming the part and
 * the member, also when the archive is declared as text; so does an
 * archive that could not be unpacked whole.  An innocent archive, and an
 * encrypted one that no candidate opens, are shared as they were. */
static void
test_archives(void)
{
	static const char inner_eml[] = "From: a@attacker.example\n"
		"To: " TARO "\nSubject: invoice\n\n"
		"Please open the attachment.\n";
	static const char inner_name[] = "From: =?UTF-8?B?5bGx55SwIOWkqumDjg=="
		"?= <noreply@attacker.example>\n"
		"To: =?UTF-8?B?5bGx55SwIOWkqumDjg==?=\n"
		"Subject: invoice\n\nPlease open the attachment.\n";
	static const char log_text[] = "Jan 12 03:04:05 relay postfix/smtp: "
		"connect to mbox.corp." VICTIM "[10.20.1.2]:25\n";
	const arch_file eml = { "fwd/attack.eml", inner_eml, 0 };
	const arch_file name_eml = { "attack.eml", inner_name, 0 };
	const arch_file innocent = { "readme.txt", "Quarterly figures, see "
		"the table below.\n", 0 };
	const arch_file secret = { "list.txt", "contact " TARO "\n", 0 };
	const arch_file log = { "maillog", log_text, 0 };
	const arch_file jp_name = { "山田様_請求書.txt", "see inside\n",
				    0 };
	char *zeros = g_malloc0(4u << 20);
	const arch_file bomb = { "zeros.bin", zeros, 4u << 20 };
	GByteArray *inner = arch_pack(&eml, 1, FALSE, NULL);
	const arch_file nested = { "inner.zip", (const char *)inner->data,
				   inner->len };
	const struct {
		GByteArray *ar;
		const char *body, *type, *name;
		const char *why;     /* in the message; NULL: shared */
	} rows[] = {
		{ arch_pack(&eml, 1, FALSE, NULL), "see the zip",
		  "application/zip", "fwd.zip",
		  "recipient-address is still in part 2 (application/zip), "
		  "archive member \"fwd/attack.eml\": header:To" },
		{ arch_pack(&name_eml, 1, FALSE, NULL), "see the zip",
		  "application/zip", "fwd.zip",
		  "recipient-name is still in part 2 (application/zip), "
		  "archive member \"attack.eml\": header:From" },
		{ arch_pack(&log, 1, TRUE, NULL), "the log",
		  "application/gzip", "maillog.gz",
		  "provider-domain is still in part 2 (application/gzip), "
		  "archive member" },
		/* The name is in the zip's own bytes (its directory): the
		 * raw search of the part finds it before the archive opens. */
		{ arch_pack(&jp_name, 1, FALSE, NULL), "see the zip",
		  "application/zip", "x.zip",
		  "recipient-name is still in part 2 (application/zip) of" },
		{ arch_pack(&eml, 1, FALSE, NULL), "see the zip",
		  "text/plain", "fwd.txt",
		  "recipient-address is still in part 2 (text/plain), "
		  "archive member \"fwd/attack.eml\": header:To" },
		{ arch_pack(&innocent, 1, FALSE, NULL), "see the zip",
		  "application/zip", "figures.zip", NULL },
		{ arch_pack(&nested, 1, FALSE, NULL), "see the zip",
		  "application/octet-stream", "outer.bin",
		  "part 2 (application/octet-stream), archive member "
		  "\"inner.zip\", archive member \"fwd/attack.eml\": "
		  "header:To" },
		{ arch_pack(&secret, 1, FALSE, "Kx7pQ2wz"),
		  "The password: Kx7pQ2wz", "application/zip", "list.zip",
		  "recipient-address is still in part 2 (application/zip), "
		  "archive member \"list.txt\"" },
		{ arch_pack(&secret, 1, FALSE, "Kx7pQ2wz"),
		  "no password here", "application/zip", "list.zip", NULL },
		{ arch_pack(&bomb, 1, FALSE, NULL), "see the zip",
		  "application/zip", "zeros.zip",
		  "part 2 (application/zip) is an archive that could not be "
		  "checked whole" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
		GString *mail = arch_mail(rows[i].body, rows[i].type,
					  rows[i].name, rows[i].ar);
		char *out = NULL;
		size_t out_len = 0;
		json_t *removed = NULL;
		int rc = anon(mail->str, mail->len, &victim, &out, &out_len,
			      &removed);

		g_test_message("row %zu: %d %s", i, rc,
			       rc < 0 ? csip_error_last() : "");
		if (rows[i].why) {
			g_assert_cmpint(rc, ==, CSIP_ERR);
			g_assert_true(g_str_has_prefix(csip_error_last(),
				"anonymisation incomplete: "));
			g_assert_nonnull(strstr(csip_error_last(),
						rows[i].why));
			g_assert_null(strstr(csip_error_last(), "taro"));
			g_assert_null(strstr(csip_error_last(), "victim"));
			g_assert_null(strstr(csip_error_last(), "山田"));
		} else {
			GByteArray *kept;

			csip_assert_ok(rc);
			kept = arch_attachment(out, out_len);
			g_assert_cmpmem(kept->data, kept->len,
					rows[i].ar->data, rows[i].ar->len);
			g_byte_array_unref(kept);
			json_decref(removed);
			g_free(out);
		}
		g_string_free(mail, TRUE);
		g_byte_array_unref(rows[i].ar);
	}
	g_byte_array_unref(inner);
	g_free(zeros);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_mime_init();
	g_test_add_func("/anon/planted", test_planted);
	g_test_add_func("/anon/planted-no-policy", test_planted_no_policy);
	g_test_add_func("/anon/spoofed-from", test_spoofed_from);
	g_test_add_func("/anon/received", test_received);
	g_test_add_func("/anon/shapes", test_shapes);
	g_test_add_func("/anon/fail-closed", test_fail_closed);
	g_test_add_func("/anon/gateway-links", test_gateway_links);
	g_test_add_func("/anon/check-memo", test_check_memo);
	g_test_add_func("/anon/text-charset", test_text_charset);
	g_test_add_func("/anon/undeclared-charsets", test_undeclared_charsets);
	g_test_add_func("/anon/utf16-binary", test_utf16_binary);
	g_test_add_func("/anon/names-in-text", test_names_in_text);
	g_test_add_func("/anon/reader-views", test_reader_views);
	g_test_add_func("/anon/tenant-id", test_tenant_id);
	g_test_add_func("/anon/legacy-names-in-links",
			test_legacy_names_in_links);
	g_test_add_func("/anon/idn-domain", test_idn_domain);
	g_test_add_func("/anon/padded-ip", test_padded_ip);
	g_test_add_func("/anon/check-breaks", test_check_breaks);
	g_test_add_func("/anon/gmime-reading", test_gmime_reading);
	g_test_add_func("/anon/idempotent", test_idempotent);
	g_test_add_func("/anon/bad-input", test_bad_input);
	g_test_add_func("/anon/phishing-pot", test_phishing_pot);
	g_test_add_func("/anon/archives", test_archives);
	return g_test_run();
}
