/*
 * mail_charset.c - transfer encodings, charsets, encoded words and
 * parameters of mail, decoded to UTF-8 (see mail_charset.h).
 *
 * Conversions go through glibc iconv with a loop of our own: an invalid
 * byte becomes U+FFFD and is counted, so a single bad byte never hides the
 * rest of a message, and the count tells a wrong charset label from a
 * right one.  ISO-2022-JP has a decoder of its own: it turns JIS X 0208
 * pairs arithmetically into Shift_JIS and hands those to CP932, which is
 * how Windows (CP50221) and every Japanese mail client read it, so the NEC
 * row-13 symbols (①, ㈱) and the NEC-selected IBM kanji (髙 at 0x7C62)
 * decode; glibc has no ISO-2022-JP-MS.
 */
#include "lib/mail_charset.h"

#include <errno.h>
#include <string.h>

/* Header values longer than this are cut before decoding: no honest
 * header is this long, and every step below is linear in it anyway. */
#define MAX_HEADER (64u * 1024)
#define MAX_EW_PAYLOAD 2048   /* longest encoded word we look for */
#define MAX_PARAM_PARTS 64    /* RFC 2231 continuations kept */

/* ---- transfer encodings ---------------------------------------------- */

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

void
csip_mail_charset_base64(const char *in, size_t len, GByteArray *out,
			 csip_mail_charset_damage *dmg)
{
	unsigned char q[4], *o;
	unsigned n = 0;
	int padded = 0;
	guint start = out->len;

	/* Decoded in place: at most 3 bytes for every 4 characters, plus 2
	 * for a last partial quantum; the length is set at the end.  A call
	 * per quantum was most of decoding a part. */
	g_byte_array_set_size(out, (guint)(start + len / 4 * 3 + 3));
	o = out->data + start;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		int v = b64val(c);

		if (v >= 0) {
			if (padded && dmg)
				dmg->chunks++;
			padded = 0;
			q[n++] = (unsigned char)v;
			if (n == 4) {
				*o++ = (unsigned char)(q[0] << 2 | q[1] >> 4);
				*o++ = (unsigned char)(q[1] << 4 | q[2] >> 2);
				*o++ = (unsigned char)(q[2] << 6 | q[3]);
				n = 0;
			}
		} else if (c == '=') {
			/* Padding ends a quantum, not the data: keep going
			 * so that the next chunk is decoded too. */
			if (n == 2 || n == 3) {
				*o++ = (unsigned char)(q[0] << 2 | q[1] >> 4);
				if (n == 3)
					*o++ = (unsigned char)(q[1] << 4 |
							       q[2] >> 2);
			} else if (n == 1 && dmg) {
				dmg->invalid++;
			}
			n = 0;
			padded = 1;
		} else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
			if (dmg)
				dmg->invalid++;
		}
	}
	if (n == 2 || n == 3) {
		*o++ = (unsigned char)(q[0] << 2 | q[1] >> 4);
		if (n == 3)
			*o++ = (unsigned char)(q[1] << 4 | q[2] >> 2);
	} else if (n == 1 && dmg) {
		dmg->truncated = 1;
	}
	g_byte_array_set_size(out, (guint)(o - out->data));
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (unsigned char)g_ascii_toupper(c);
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void
csip_mail_charset_qp(const char *in, size_t len, GByteArray *out,
		     csip_mail_charset_damage *dmg)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)in[i];
		const char *eq;
		size_t j;

		if (c != '=') {
			/* Copy up to the next '=' in one go. */
			eq = memchr(in + i, '=', len - i);
			j = eq ? (size_t)(eq - in) : len;
			g_byte_array_append(out, (const guint8 *)in + i,
					    (guint)(j - i));
			i = j;
			continue;
		}
		if (i + 2 < len && hexval((unsigned char)in[i + 1]) >= 0 &&
		    hexval((unsigned char)in[i + 2]) >= 0) {
			unsigned char b = (unsigned char)(
				hexval((unsigned char)in[i + 1]) << 4 |
				hexval((unsigned char)in[i + 2]));

			g_byte_array_append(out, &b, 1);
			i += 3;
			continue;
		}
		/* A soft line break, possibly with trailing blanks that
		 * a relay added. */
		j = i + 1;
		while (j < len && (in[j] == ' ' || in[j] == '\t'))
			j++;
		if (j < len && in[j] == '\r')
			j++;
		if (j < len && in[j] == '\n') {
			i = j + 1;
			continue;
		}
		if (j >= len) {
			i = len;
			continue;
		}
		if (dmg)
			dmg->invalid++;
		g_byte_array_append(out, &c, 1);
		i++;
	}
}

/* ---- iconv with replacement ------------------------------------------ */

static void
append_fffd(GString *out)
{
	g_string_append(out, "\xef\xbf\xbd");
}

/* iconv loads a charset's module when a descriptor is opened and unloads
 * it (dlclose, munmap) soon after the last one is closed: opened and
 * closed per text, that was a dlopen per text.  The first descriptor of
 * each charset is kept open for the life of the process, which keeps its
 * module loaded.  The names come from mails, so at most PINNED_MAX are
 * kept; past that a charset is only slower. */
#define PINNED_MAX 64

GIConv
csip_mail_charset_open(const char *from)
{
	static GMutex lock;
	static GHashTable *pinned;  /* lower-case name -> GIConv, reachable */
	GIConv cd = g_iconv_open("UTF-8", from);
	char *key;

	if (cd == (GIConv)-1)
		return cd;
	key = g_ascii_strdown(from, -1);
	g_mutex_lock(&lock);
	if (!pinned)
		pinned = g_hash_table_new(g_str_hash, g_str_equal);
	if (g_hash_table_size(pinned) < PINNED_MAX &&
	    !g_hash_table_contains(pinned, key)) {
		GIConv keep = g_iconv_open("UTF-8", from);

		if (keep != (GIConv)-1) {
			g_hash_table_insert(pinned, key, keep);
			key = NULL;
		}
	}
	g_mutex_unlock(&lock);
	g_free(key);
	return cd;
}

gboolean
csip_mail_charset_utf8_valid(const char *s, size_t n, const char **end)
{
	const guint64 ones = G_GUINT64_CONSTANT(0x0101010101010101);
	const guint64 highs = G_GUINT64_CONSTANT(0x8080808080808080);
	size_t i = 0;

	while (i < n) {
		size_t j;
		const char *e;

		/* A word with no byte >= 0x80 has a NUL exactly when
		 * subtracting 1 from each byte sets a high bit. */
		for (; i + 8 <= n; i += 8) {
			guint64 w;

			memcpy(&w, s + i, 8);
			if ((w | (w - ones)) & highs)
				break;
		}
		while (i < n && (unsigned char)s[i] - 1u < 0x7fu)
			i++;
		if (i == n)
			break;
		if (s[i] == '\0') {
			if (end)
				*end = s + i;
			return FALSE;
		}
		for (j = i + 1; j < n && (unsigned char)s[j] >= 0x80; j++)
			;
		if (!g_utf8_validate(s + i, (gssize)(j - i), &e)) {
			if (end)
				*end = e;
			return FALSE;
		}
		i = j;
	}
	if (end)
		*end = n ? s + n : s;   /* no arithmetic on a NULL S */
	return TRUE;
}

/* Convert with FROM into OUT; invalid bytes become U+FFFD.  Returns the
 * number of replacements, or -1 when iconv does not know FROM. */
static long
conv(const char *from, const char *in, size_t len, GString *out)
{
	GIConv cd = csip_mail_charset_open(from);
	char buf[4096];
	gchar *ip = (gchar *)in;
	gsize il = len;
	long bad = 0;

	if (cd == (GIConv)-1)
		return -1;
	while (il > 0) {
		gchar *op = buf;
		gsize ol = sizeof buf;
		gsize r = g_iconv(cd, &ip, &il, &op, &ol);

		g_string_append_len(out, buf, (gssize)(op - buf));
		if (r != (gsize)-1)
			break;
		if (errno == E2BIG)
			continue;
		/* EILSEQ or EINVAL (cut at the end): skip one byte. */
		append_fffd(out);
		bad++;
		ip++;
		il--;
	}
	{
		gchar *op = buf;
		gsize ol = sizeof buf;

		g_iconv(cd, NULL, NULL, &op, &ol);
		g_string_append_len(out, buf, (gssize)(op - buf));
	}
	g_iconv_close(cd);
	return bad;
}

/* ---- ISO-2022-JP ------------------------------------------------------ */

int
csip_mail_charset_has_jis(const char *in, size_t len)
{
	for (size_t i = 0; i + 2 < len; i++)
		if (in[i] == 0x1b && (in[i + 1] == '$' || in[i + 1] == '(') &&
		    strchr("B@JIH(", in[i + 2]) && in[i + 2] != '\0')
			return 1;
	return 0;
}

static int
is7bit(const char *in, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)in[i] >= 0x80)
			return 0;
	return 1;
}

enum { J_ASCII, J_X0208, J_KANA, J_X0212, J_OTHER };

static long
flush_sjis(GByteArray *sj, GString *out)
{
	long bad = 0;

	if (sj->len) {
		bad = conv("CP932", (const char *)sj->data, sj->len, out);
		g_byte_array_set_size(sj, 0);
	}
	return bad < 0 ? 0 : bad;
}

/* Decode ISO-2022-JP and its Microsoft variants (CP50220/1/2: 8-bit or
 * SO/SI half-width katakana, NEC and IBM rows) and JIS X 0212 (through
 * eucJP-ms, which maps the IBM extensions there).  Returns the number of
 * replacements; *OTHER is set when a designation we do not decode (GB2312,
 * KS C 5601 of ISO-2022-JP-2) was met. */
static long
jis_decode(const unsigned char *in, size_t len, GString *out, int *other)
{
	GByteArray *sj = g_byte_array_new();
	int mode = J_ASCII, so = 0;
	long bad = 0;
	size_t i = 0;

	while (i < len) {
		unsigned char c = in[i];

		if (c == 0x1b) {
			const unsigned char *p = in + i + 1;
			size_t left = len - i - 1;
			size_t skip = 0;

			if (left >= 2 && p[0] == '$' &&
			    (p[1] == 'B' || p[1] == '@')) {
				mode = J_X0208;
				skip = 2;
			} else if (left >= 3 && p[0] == '$' && p[1] == '(' &&
				   strchr("BOPQ", p[2]) && p[2]) {
				/* JIS X 0213 plane 1 is a superset of the
				 * JIS X 0208 rows mail uses. */
				mode = p[2] == 'P' ? J_OTHER : J_X0208;
				skip = 3;
			} else if (left >= 3 && p[0] == '$' && p[1] == '(' &&
				   p[2] == 'D') {
				mode = J_X0212;
				skip = 3;
			} else if (left >= 2 && p[0] == '(' &&
				   strchr("BJH", p[1]) && p[1]) {
				mode = J_ASCII;
				skip = 2;
			} else if (left >= 2 && p[0] == '(' && p[1] == 'I') {
				mode = J_KANA;
				skip = 2;
			} else if (left >= 2 && p[0] == '&' && p[1] == '@') {
				skip = 2;   /* JIS X 0208-1990 announcer */
			} else {
				*other = 1;
				if (left >= 1 && (p[0] == '$' || p[0] == '.' ||
						  p[0] == '(')) {
					mode = J_OTHER;
					skip = left >= 2 ? 2 : 1;
					if (p[0] == '$' && left >= 3 &&
					    p[1] == '(')
						skip = 3;
				} else if (left >= 1) {
					skip = 1;
				}
				bad++;
			}
			i += 1 + skip;
			continue;
		}
		if (c == 0x0e) {
			so = 1;
			i++;
			continue;
		}
		if (c == 0x0f) {
			so = 0;
			i++;
			continue;
		}
		if (c < 0x21 || c == 0x7f) {
			/* Controls and line ends pass in every mode. */
			g_byte_array_append(sj, &c, 1);
			i++;
			continue;
		}
		if (c >= 0x80) {
			/* 8-bit half-width katakana (CP50222 style) is
			 * valid Shift_JIS as it is; other 8-bit bytes are
			 * not ISO-2022-JP at all. */
			if (c >= 0xa1 && c <= 0xdf) {
				g_byte_array_append(sj, &c, 1);
			} else {
				bad += flush_sjis(sj, out);
				append_fffd(out);
				bad++;
			}
			i++;
			continue;
		}
		if (so || mode == J_KANA) {
			unsigned char k = (unsigned char)(c | 0x80);

			if (c <= 0x5f) {
				g_byte_array_append(sj, &k, 1);
			} else {
				bad += flush_sjis(sj, out);
				append_fffd(out);
				bad++;
			}
			i++;
			continue;
		}
		if (mode == J_ASCII) {
			g_byte_array_append(sj, &c, 1);
			i++;
			continue;
		}
		/* Two-byte modes. */
		if (i + 1 >= len || in[i + 1] < 0x21 || in[i + 1] > 0x7e) {
			bad += flush_sjis(sj, out);
			append_fffd(out);
			bad++;
			i++;
			continue;
		}
		if (mode == J_X0208) {
			unsigned j1 = c, j2 = in[i + 1];
			unsigned char s[2];

			s[0] = (unsigned char)((j1 + 1) / 2 +
					       (j1 <= 0x5e ? 0x70 : 0xb0));
			s[1] = (unsigned char)(j2 + ((j1 & 1) ?
				(j2 <= 0x5f ? 0x1f : 0x20) : 0x7e));
			g_byte_array_append(sj, s, 2);
		} else if (mode == J_X0212) {
			char e[3] = { (char)0x8f, (char)(c | 0x80),
				      (char)(in[i + 1] | 0x80) };
			long r;

			bad += flush_sjis(sj, out);
			r = conv("EUC-JP-MS", e, 3, out);
			if (r < 0) {
				append_fffd(out);
				r = 1;
			}
			bad += r;
		} else {
			bad += flush_sjis(sj, out);
			append_fffd(out);
			bad++;
		}
		i += 2;
	}
	bad += flush_sjis(sj, out);
	g_byte_array_free(sj, TRUE);
	return bad;
}

/* ---- charset names ---------------------------------------------------- */

#define DEC_JIS   "ISO-2022-JP(CP50221)"
#define DEC_GUESS ""

static const struct {
	const char *mime;
	const char *dec;
} aliases[] = {
	{ "shift_jis", "CP932" }, { "shift-jis", "CP932" },
	{ "sjis", "CP932" }, { "x-sjis", "CP932" }, { "ms_kanji", "CP932" },
	{ "csshiftjis", "CP932" }, { "windows-31j", "CP932" },
	{ "cp932", "CP932" }, { "ms932", "CP932" }, { "x-ms-cp932", "CP932" },
	{ "iso-2022-jp", DEC_JIS }, { "csiso2022jp", DEC_JIS },
	{ "iso-2022-jp-ms", DEC_JIS }, { "iso-2022-jp-1", DEC_JIS },
	{ "cp50220", DEC_JIS }, { "cp50221", DEC_JIS }, { "cp50222", DEC_JIS },
	{ "iso-2022-jp(cp50221)", DEC_JIS },
	{ "iso-2022-jp-2", "ISO-2022-JP-2" },
	{ "iso-2022-jp-3", "ISO-2022-JP-3" },
	{ "euc-jp", "EUC-JP-MS" }, { "x-euc-jp", "EUC-JP-MS" },
	{ "eucjp", "EUC-JP-MS" }, { "euc-jp-ms", "EUC-JP-MS" },
	{ "cseucpkdfmtjapanese", "EUC-JP-MS" },
	{ "utf-8", "UTF-8" }, { "utf8", "UTF-8" },
	{ "iso-8859-1", "WINDOWS-1252" }, { "latin1", "WINDOWS-1252" },
	{ "iso_8859-1", "WINDOWS-1252" }, { "us-ascii", DEC_GUESS },
	{ "ascii", DEC_GUESS }, { "ansi_x3.4-1968", DEC_GUESS },
	{ "ks_c_5601-1987", "CP949" }, { "euc-kr", "CP949" },
	{ "gb2312", "GB18030" }, { "gbk", "GB18030" }, { "x-gbk", "GB18030" },
	{ "big5", "BIG5-HKSCS" }, { "tis-620", "CP874" },
	{ "windows-874", "CP874" }, { "unicode-1-1-utf-7", "UTF-7" },
	{ "unknown-8bit", DEC_GUESS }, { "x-unknown", DEC_GUESS },
	{ "unknown", DEC_GUESS }, { "default", DEC_GUESS },
	{ "x-user-defined", DEC_GUESS }, { "_autodetect_all", DEC_GUESS },
	{ "charset", DEC_GUESS },
};

/* The decoder for a declared name: a static string, DEC_GUESS for "guess",
 * or NULL when the name is unknown to us (then iconv is asked). */
static const char *
decoder_for(const char *name, char *buf, size_t bufsz)
{
	size_t n = 0;

	if (name == NULL)
		return DEC_GUESS;
	while (*name == ' ' || *name == '"' || *name == '\'')
		name++;
	for (; *name && *name != '"' && *name != '\'' && *name != ' ' &&
	     *name != '*' && n + 1 < bufsz; name++)
		buf[n++] = g_ascii_tolower(*name);
	buf[n] = '\0';
	if (n == 0)
		return DEC_GUESS;
	for (size_t i = 0; i < G_N_ELEMENTS(aliases); i++)
		if (strcmp(buf, aliases[i].mime) == 0)
			return aliases[i].dec;
	return NULL;
}

/* How Japanese (or at least how plausible) decoded text looks: kana and
 * kanji score, half-width katakana (what EUC-JP looks like when read as
 * Shift_JIS) and replacement or private-use characters cost. */
static long
score(const char *s, size_t len)
{
	const char *end = s + len;
	long sc = 0;

	while (s < end) {
		gunichar u = g_utf8_get_char_validated(s, end - s);

		if (u == (gunichar)-1 || u == (gunichar)-2)
			return sc - 100;
		if ((u >= 0x3040 && u <= 0x30ff) || (u >= 0x4e00 &&
		    u <= 0x9fff) || (u >= 0x3000 && u <= 0x303f) ||
		    (u >= 0xff01 && u <= 0xff5e))
			sc += 2;
		else if (u >= 0xff61 && u <= 0xff9f)
			sc -= 1;
		else if (u == 0xfffd || (u >= 0xe000 && u <= 0xf8ff) ||
			 (u >= 0x80 && u < 0xa0))
			sc -= 4;
		else if (u >= 0xc0 && u <= 0x24f)
			sc += 1;
		s = g_utf8_next_char(s);
	}
	return sc;
}

/* Decode with one named decoder; -1 when it does not exist. */
static long
decode_with(const char *dec, const char *in, size_t len, GString *out)
{
	if (in == NULL)
		in = "";   /* an empty GByteArray has no data */
	if (strcmp(dec, DEC_JIS) == 0) {
		int other = 0;
		long bad = jis_decode((const unsigned char *)in, len, out,
				      &other);

		if (other) {
			/* ISO-2022-JP-2 designations: let glibc try and
			 * keep whichever lost less. */
			GString *alt = g_string_new(NULL);
			long b2 = conv("ISO-2022-JP-2", in, len, alt);

			if (b2 >= 0 && b2 < bad) {
				g_string_assign(out, alt->str);
				bad = b2;
			}
			g_string_free(alt, TRUE);
		}
		return bad;
	}
	if (strcmp(dec, "UTF-8") == 0) {
		const char *p = in, *end = in + len;
		long bad = 0;

		/* Validate rather than convert: glibc's UTF-8 decoder is
		 * stricter about surrogates than we need. */
		while (p < end) {
			const char *q;

			if (csip_mail_charset_utf8_valid(p, (size_t)(end - p),
							 &q)) {
				g_string_append_len(out, p, end - p);
				break;
			}
			g_string_append_len(out, p, q - p);
			if (*q == '\0') {
				g_string_append_c(out, ' ');
			} else {
				append_fffd(out);
				bad++;
			}
			p = q + 1;
		}
		return bad;
	}
	return conv(dec, in, len, out);
}

static const char *const guesses[] = { "CP932", "EUC-JP-MS", "WINDOWS-1252" };

/* Guess and decode: the candidate with the best score, replacements
 * counting heavily against it. */
static long
guess_decode(const char *in, size_t len, GString *out, const char **used)
{
	GString *best = NULL;
	long best_total = 0, best_bad = 0;

	if (in == NULL)
		in = "";

	if (is7bit(in, len)) {
		if (csip_mail_charset_has_jis(in, len)) {
			*used = DEC_JIS;
			return decode_with(DEC_JIS, in, len, out);
		}
		*used = "UTF-8";
		return decode_with("UTF-8", in, len, out);
	}
	if (csip_mail_charset_utf8_valid(in, len, NULL)) {
		*used = "UTF-8";
		g_string_append_len(out, in, (gssize)len);
		return 0;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(guesses); i++) {
		GString *t = g_string_new(NULL);
		long bad = conv(guesses[i], in, len, t);
		long total;

		if (bad < 0) {
			g_string_free(t, TRUE);
			continue;
		}
		total = score(t->str, t->len) - 8 * bad;
		if (best == NULL || total > best_total) {
			if (best)
				g_string_free(best, TRUE);
			best = t;
			best_total = total;
			best_bad = bad;
			*used = guesses[i];
		} else {
			g_string_free(t, TRUE);
		}
	}
	if (best == NULL) {
		*used = "UTF-8";
		return decode_with("UTF-8", in, len, out);
	}
	g_string_append_len(out, best->str, (gssize)best->len);
	g_string_free(best, TRUE);
	return best_bad;
}

/* NULs inside text would cut every C string made from it. */
static char *
finish(GString *s)
{
	char *z = s->str, *end = s->str + s->len;

	/* NULs are rare: memchr() passes over the rest a word at a time. */
	while ((z = memchr(z, '\0', (size_t)(end - z))) != NULL)
		*z++ = ' ';
	return g_string_free(s, FALSE);
}

char *
csip_mail_charset_decode(const char *declared, const char *in, size_t len,
			 const char **used, size_t *lossy)
{
	char buf[64];
	const char *dec = decoder_for(declared, buf, sizeof buf);
	const char *u = NULL;
	GString *out;
	long bad;

	if (in == NULL) {
		in = "";
		len = 0;
	}
	out = g_string_sized_new(len + 16);

	if (dec != NULL && *dec != '\0' && strcmp(dec, DEC_JIS) != 0 &&
	    strncmp(dec, "ISO-2022", 8) != 0 && is7bit(in, len) &&
	    csip_mail_charset_has_jis(in, len))
		dec = DEC_JIS;   /* mislabelled ISO-2022-JP */
	if (dec == NULL) {
		/* A name we have no alias for: iconv may know it. */
		bad = conv(buf, in, len, out);
		u = "";
		if (bad < 0) {
			g_string_truncate(out, 0);
			bad = guess_decode(in, len, out, &u);
		}
	} else if (*dec == '\0') {
		bad = guess_decode(in, len, out, &u);
	} else {
		u = dec;
		bad = decode_with(dec, in, len, out);
		if (bad > 0) {
			/* The label may be wrong (Shift_JIS sent as
			 * iso-2022-jp, CP932 as utf-8). */
			GString *alt = g_string_new(NULL);
			const char *au = NULL;
			long b2 = guess_decode(in, len, alt, &au);

			if (b2 >= 0 && b2 < bad) {
				g_string_free(out, TRUE);
				out = alt;
				bad = b2;
				u = au;
			} else {
				g_string_free(alt, TRUE);
			}
		}
	}
	if (used)
		*used = (u && *u) ? u : (dec == NULL ? "iconv" : "UTF-8");
	if (lossy)
		*lossy = bad > 0 ? (size_t)bad : 0;
	return finish(out);
}

/* ---- RFC 2047 encoded words ------------------------------------------- */

typedef struct seg {
	int ew;              /* an encoded word, else raw text */
	char cs[64];         /* charset of an encoded word */
	GByteArray *bytes;   /* decoded payload, or raw bytes */
} seg;

/* Parse an encoded word at P (which starts with "=?").  On success fills
 * CS and the decoded payload and returns its length in the input. */
static size_t
parse_ew(const char *p, size_t n, char cs[64], GByteArray *payload)
{
	size_t i = 2, csn = 0, start;
	char enc;

	while (i < n && p[i] != '?' && csn < 63) {
		if ((unsigned char)p[i] <= ' ' || (unsigned char)p[i] >= 0x7f)
			return 0;
		cs[csn++] = p[i++];
	}
	cs[csn] = '\0';
	if (csn == 0 || i + 3 >= n || p[i] != '?')
		return 0;
	enc = g_ascii_toupper(p[i + 1]);
	if ((enc != 'B' && enc != 'Q') || p[i + 2] != '?')
		return 0;
	i += 3;
	start = i;
	/* No valid payload holds a '?' (Q encodes it), so the scan ends at
	 * the first one: scans of successive candidates never overlap, and
	 * a header full of "=?" costs linear time. */
	while (i < n && p[i] != '?') {
		if ((unsigned char)p[i] <= ' ' || i - start > MAX_EW_PAYLOAD)
			return 0;
		i++;
	}
	if (i + 1 >= n || p[i + 1] != '=')
		return 0;
	if (enc == 'B') {
		csip_mail_charset_base64(p + start, i - start, payload, NULL);
	} else {
		for (size_t k = start; k < i; k++) {
			unsigned char c = (unsigned char)p[k];

			if (c == '_') {
				c = ' ';
			} else if (c == '=' && k + 2 < i &&
				   hexval((unsigned char)p[k + 1]) >= 0 &&
				   hexval((unsigned char)p[k + 2]) >= 0) {
				c = (unsigned char)(
					hexval((unsigned char)p[k + 1]) << 4 |
					hexval((unsigned char)p[k + 2]));
				k += 2;
			}
			g_byte_array_append(payload, &c, 1);
		}
	}
	return i + 2;
}

static void
seg_free(gpointer p)
{
	seg *s = p;

	g_byte_array_free(s->bytes, TRUE);
	g_free(s);
}

static int
all_blank(const GByteArray *b)
{
	for (guint i = 0; i < b->len; i++)
		if (b->data[i] != ' ' && b->data[i] != '\t')
			return 0;
	return 1;
}

/* Cut an unfolded header value into raw text and encoded words, drop the
 * blanks between adjacent encoded words (RFC 2047 section 6.2), and merge
 * neighbours: words in one charset decode together, so a character split
 * across two words (and the padding of issue 133) does no harm. */
static GPtrArray *
segments(const char *raw, size_t len)
{
	GPtrArray *v = g_ptr_array_new_with_free_func(seg_free);
	GPtrArray *m;
	seg *cur = NULL;
	char *isew;
	size_t i = 0;

	if (len > MAX_HEADER)
		len = MAX_HEADER;
	while (i < len) {
		if (raw[i] == '\r' || raw[i] == '\n') {
			i++;
			continue;
		}
		if (raw[i] == '=' && i + 1 < len && raw[i + 1] == '?') {
			seg *w = g_new0(seg, 1);
			size_t used;

			w->bytes = g_byte_array_new();
			used = parse_ew(raw + i, len - i, w->cs, w->bytes);
			if (used) {
				w->ew = 1;
				g_ptr_array_add(v, w);
				cur = NULL;
				i += used;
				continue;
			}
			seg_free(w);
		}
		if (cur == NULL) {
			cur = g_new0(seg, 1);
			cur->bytes = g_byte_array_new();
			g_ptr_array_add(v, cur);
		}
		/* The rest of the run in one append: up to the next line
		 * break or "=?" (this byte may be a "=?" that did not
		 * parse). */
		{
			size_t j = i + 1;

			while (j < len && raw[j] != '\r' && raw[j] != '\n' &&
			       !(raw[j] == '=' && j + 1 < len &&
				 raw[j + 1] == '?'))
				j++;
			g_byte_array_append(cur->bytes,
					    (const guint8 *)raw + i, j - i);
			i = j;
		}
	}
	m = g_ptr_array_new_with_free_func(seg_free);
	isew = g_new0(char, v->len + 1);
	for (guint k = 0; k < v->len; k++)
		isew[k] = (char)((seg *)g_ptr_array_index(v, k))->ew;
	for (guint k = 0; k < v->len; k++) {
		seg *s = g_ptr_array_index(v, k);
		seg *last = m->len ? g_ptr_array_index(m, m->len - 1) : NULL;

		if (!s->ew && k > 0 && k + 1 < v->len && all_blank(s->bytes) &&
		    isew[k - 1] && isew[k + 1])
			continue;
		if (last && last->ew && s->ew &&
		    g_ascii_strcasecmp(last->cs, s->cs) == 0) {
			g_byte_array_append(last->bytes, s->bytes->data,
					    s->bytes->len);
			continue;
		}
		g_ptr_array_add(m, s);
		v->pdata[k] = NULL;
	}
	g_free(isew);
	g_ptr_array_set_free_func(v, NULL);
	for (guint k = 0; k < v->len; k++)
		if (v->pdata[k])
			seg_free(v->pdata[k]);
	g_ptr_array_free(v, TRUE);
	return m;
}

/* The charset of the raw 8-bit text of one header, guessed once over all
 * of it so that every piece is read the same way. */
static const char *
raw_charset(GPtrArray *segs)
{
	GByteArray *all = g_byte_array_new();
	const char *used = "UTF-8";
	GString *tmp = g_string_new(NULL);

	for (guint k = 0; k < segs->len; k++) {
		seg *s = g_ptr_array_index(segs, k);

		if (!s->ew)
			g_byte_array_append(all, s->bytes->data, s->bytes->len);
	}
	guess_decode((const char *)all->data, all->len, tmp, &used);
	g_string_free(tmp, TRUE);
	g_byte_array_free(all, TRUE);
	return used;
}

static char *
decode_seg(const seg *s, const char *rawcs)
{
	return csip_mail_charset_decode(s->ew ? s->cs : rawcs,
					(const char *)s->bytes->data,
					s->bytes->len, NULL, NULL);
}

/* Controls to spaces, then trim: a header value is one line. */
static char *
one_line(GString *s)
{
	char *r;

	for (size_t i = 0; i < s->len; i++)
		if ((unsigned char)s->str[i] < 0x20 || s->str[i] == 0x7f)
			s->str[i] = ' ';
	r = g_string_free(s, FALSE);
	return g_strstrip(r);
}

/* The value of a header that is ASCII without an ESC and without "=?",
 * or NULL when it is not.  What segments(), raw_charset() and decode_seg()
 * make of such a value: one raw segment (line breaks dropped), guessed as
 * UTF-8 (7-bit, no ISO-2022-JP escape), which keeps every byte but NUL
 * (made a space, as one_line() would anyway).  Most headers are like this
 * and every Received line of every mail is decoded. */
static char *
plain_header(const char *raw, size_t len)
{
	GString *out;

	if (len > MAX_HEADER)
		len = MAX_HEADER;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)raw[i];

		if (c >= 0x80 || c == 0x1b ||
		    (c == '=' && i + 1 < len && raw[i + 1] == '?'))
			return NULL;
	}
	out = g_string_sized_new(len);
	for (size_t i = 0; i < len; i++)
		if (raw[i] != '\r' && raw[i] != '\n')
			g_string_append_c(out, raw[i]);
	return one_line(out);
}

/* The segments of a header value and the charset of its raw text, or
 * NULL with *plain set when plain_header() reads it alone (the callers'
 * loops would only append its text). */
static GPtrArray *
header_segments(const char *raw, size_t len, char **plain,
		const char **rawcs)
{
	GPtrArray *segs;

	if ((*plain = plain_header(raw, len)) != NULL)
		return NULL;
	segs = segments(raw, len);
	*rawcs = raw_charset(segs);
	return segs;
}

char *
csip_mail_charset_header(const char *raw, size_t len)
{
	const char *rawcs = NULL;
	char *plain;
	GPtrArray *segs = header_segments(raw, len, &plain, &rawcs);
	GString *out;

	if (!segs)
		return plain;
	out = g_string_new(NULL);

	for (guint k = 0; k < segs->len; k++) {
		char *t = decode_seg(g_ptr_array_index(segs, k), rawcs);

		g_string_append(out, t);
		g_free(t);
	}
	g_ptr_array_free(segs, TRUE);
	return one_line(out);
}

static int
starts_atom(const seg *s)
{
	return s->bytes->len > 0 && (g_ascii_isalnum(s->bytes->data[0]) ||
				     s->bytes->data[0] >= 0x80);
}

char *
csip_mail_charset_address_header(const char *raw, size_t len)
{
	const char *rawcs = NULL;
	char *plain;
	GPtrArray *segs = header_segments(raw, len, &plain, &rawcs);
	GString *out;

	if (!segs)
		return plain;
	out = g_string_new(NULL);

	for (guint k = 0; k < segs->len; k++) {
		seg *s = g_ptr_array_index(segs, k);
		char *t = decode_seg(s, rawcs);

		if (s->ew) {
			char *b = g_base64_encode((const guchar *)t,
						  strlen(t));

			/* Separate it from a neighbouring atom, which the
			 * address parser would otherwise glue on. */
			if (out->len && g_ascii_isalnum(out->str[out->len - 1]))
				g_string_append_c(out, ' ');
			g_string_append_printf(out, "=?UTF-8?B?%s?=", b);
			if (k + 1 < segs->len && starts_atom(
				    g_ptr_array_index(segs, k + 1)))
				g_string_append_c(out, ' ');
			g_free(b);
		} else {
			g_string_append(out, t);
		}
		g_free(t);
	}
	g_ptr_array_free(segs, TRUE);
	return one_line(out);
}

/* ---- RFC 2231 parameters ---------------------------------------------- */

typedef struct param_acc {
	char *plain;                      /* name="..." */
	char *star;                       /* name*=cs'lang'%XX */
	char *part[MAX_PARAM_PARTS];      /* name*N or name*N* */
	int part_enc[MAX_PARAM_PARTS];
} param_acc;

static void
pct_decode(const char *s, GByteArray *out)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '%' && hexval((unsigned char)s[1]) >= 0 &&
		    hexval((unsigned char)s[2]) >= 0) {
			c = (unsigned char)(hexval((unsigned char)s[1]) << 4 |
					    hexval((unsigned char)s[2]));
			s += 2;
		}
		g_byte_array_append(out, &c, 1);
	}
}

/* Split "charset'lang'rest": *CS gets the charset (maybe ""), the return
 * value points at rest; without two quotes the whole is the rest. */
static const char *
split_2231(const char *v, char cs[64])
{
	const char *q1 = strchr(v, '\''), *q2;

	cs[0] = '\0';
	if (q1 == NULL || (q2 = strchr(q1 + 1, '\'')) == NULL)
		return v;
	g_strlcpy(cs, v, MIN((size_t)(q1 - v) + 1, 64));
	return q2 + 1;
}

static char *
clean_value(char *s)
{
	GString *g;

	if (s == NULL)
		return NULL;
	g = g_string_new(s);
	g_free(s);
	s = one_line(g);
	if (*s == '\0') {
		g_free(s);
		return NULL;
	}
	return s;
}

static char *
param_result(param_acc *a)
{
	char cs[64];

	if (a->part[0]) {
		GByteArray *b = g_byte_array_new();
		char *r;

		cs[0] = '\0';
		for (int k = 0; k < MAX_PARAM_PARTS && a->part[k]; k++) {
			const char *v = a->part[k];

			if (a->part_enc[k]) {
				if (k == 0)
					v = split_2231(v, cs);
				pct_decode(v, b);
			} else {
				g_byte_array_append(b, (const guint8 *)v,
						    strlen(v));
			}
		}
		if (b->len && memchr(b->data, '=', b->len) &&
		    !a->part_enc[0]) {
			/* RFC 2047 inside continuations (Outlook). */
			r = csip_mail_charset_header((const char *)b->data,
						     b->len);
		} else {
			r = csip_mail_charset_decode(cs, (const char *)b->data,
						     b->len, NULL, NULL);
		}
		g_byte_array_free(b, TRUE);
		return clean_value(r);
	}
	if (a->star) {
		GByteArray *b = g_byte_array_new();
		const char *v = split_2231(a->star, cs);
		char *r;

		pct_decode(v, b);
		r = csip_mail_charset_decode(cs, (const char *)b->data, b->len,
					     NULL, NULL);
		g_byte_array_free(b, TRUE);
		return clean_value(r);
	}
	if (a->plain)
		return clean_value(csip_mail_charset_header(a->plain,
							    strlen(a->plain)));
	return NULL;
}

char *
csip_mail_charset_param(const char *raw, size_t len, const char *name)
{
	param_acc acc;
	size_t nlen = strlen(name), i = 0;
	char *r;
	int nparams = 0;

	memset(&acc, 0, sizeof acc);
	if (len > MAX_HEADER)
		len = MAX_HEADER;
	/* Skip the type: parameters start after the first ';' outside
	 * quotes. */
	for (int q = 0; i < len; i++) {
		if (raw[i] == '"')
			q = !q;
		else if (raw[i] == ';' && !q)
			break;
	}
	while (i < len && nparams++ < 256) {
		GString *an = g_string_new(NULL);
		GString *val = g_string_new(NULL);
		const char *rest;

		while (i < len && (raw[i] == ';' || g_ascii_isspace(raw[i])))
			i++;
		while (i < len && raw[i] != '=' && raw[i] != ';') {
			if (!g_ascii_isspace(raw[i]))
				g_string_append_c(an, g_ascii_tolower(raw[i]));
			i++;
		}
		if (i < len && raw[i] == '=') {
			i++;
			while (i < len && (raw[i] == ' ' || raw[i] == '\t' ||
					   raw[i] == '\r' || raw[i] == '\n'))
				i++;
			if (i < len && raw[i] == '"') {
				for (i++; i < len && raw[i] != '"'; i++) {
					if (raw[i] == '\\' && i + 1 < len)
						i++;
					if (raw[i] != '\r' && raw[i] != '\n')
						g_string_append_c(val, raw[i]);
				}
				i++;
				while (i < len && raw[i] != ';')
					i++;
			} else {
				for (; i < len && raw[i] != ';'; i++)
					if (raw[i] != '\r' && raw[i] != '\n')
						g_string_append_c(val, raw[i]);
				g_strchomp(val->str);
				val->len = strlen(val->str);
			}
		}
		if (strncmp(an->str, name, nlen) == 0) {
			rest = an->str + nlen;
			if (*rest == '\0') {
				if (!acc.plain)
					acc.plain = g_strdup(val->str);
			} else if (strcmp(rest, "*") == 0) {
				if (!acc.star)
					acc.star = g_strdup(val->str);
			} else if (rest[0] == '*' && g_ascii_isdigit(rest[1])) {
				char *end;
				long k = strtol(rest + 1, &end, 10);

				if (k >= 0 && k < MAX_PARAM_PARTS &&
				    (*end == '\0' || strcmp(end, "*") == 0) &&
				    acc.part[k] == NULL) {
					acc.part[k] = g_strdup(val->str);
					acc.part_enc[k] = *end == '*';
				}
			}
		}
		g_string_free(an, TRUE);
		g_string_free(val, TRUE);
	}
	r = param_result(&acc);
	g_free(acc.plain);
	g_free(acc.star);
	for (int k = 0; k < MAX_PARAM_PARTS; k++)
		g_free(acc.part[k]);
	return r;
}
