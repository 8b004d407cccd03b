/*
 * mail_charset.h - turning the bytes of a mail into UTF-8: transfer
 * encodings (base64, quoted-printable), charsets, RFC 2047 encoded words in
 * headers and RFC 2231 parameters.
 *
 * GMime does most of this, but the Debian build loses data in exactly the
 * places Japanese targeted-attack mail lives: Shift_JIS goes through glibc
 * SHIFT_JIS, which rejects the Windows vendor characters (㈱ ① 髙) that
 * only CP932 maps; ISO-2022-JP goes through glibc ISO-2022-JP, which has
 * none of them either; two adjacent base64 encoded words where the first
 * ends in '=' padding lose the second (GMime issue 133); and base64 bodies
 * made of several padded chunks stop at the first padding (issue 150).  So
 * the decoding that decides what an analyst reads is done here, with
 * decoders whose behaviour on bad input we choose: a bad byte becomes
 * U+FFFD and is counted, never a stop.
 *
 * Every function accepts any bytes and never fails; what it returns is
 * always valid, NUL-terminated UTF-8 (g_free()).
 */
#ifndef CSIP_MAIL_CHARSET_H
#define CSIP_MAIL_CHARSET_H

#include <glib.h>
#include <stddef.h>

/* What went wrong in a transfer decoding (all zero for clean input). */
typedef struct csip_mail_charset_damage {
	size_t invalid;   /* bytes outside the alphabet, skipped */
	size_t chunks;    /* base64: padding found before the end */
	int truncated;    /* base64: a dangling 6-bit group at the end */
} csip_mail_charset_damage;

/* Decode base64 (any line length, any garbage) and append to OUT.  Unlike
 * GMime 3.2.13, data after '=' padding is decoded too: "chunked" base64 is
 * an evasion trick whose hashes must be those of the whole file. */
/* A converter from charset FROM to UTF-8 (g_iconv_close() it), or
 * (GIConv)-1 when iconv does not know FROM.  The first converter of each
 * charset stays open for the process's life, so iconv keeps the charset's
 * module loaded instead of loading it again for every text. */
GIConv csip_mail_charset_open(const char *from);

/* g_utf8_validate(S, N, END) for a length: TRUE when S[0..N) is UTF-8
 * without a NUL, else FALSE with *END (may be NULL) at the first byte
 * that is not, as GLib sets it.  Runs of ASCII are passed over a word at
 * a time and only the runs of bytes >= 0x80 go to GLib: no character of
 * valid UTF-8 holds a byte below 0x80 besides a one-byte one, so each
 * such run starts and ends at character boundaries. */
gboolean csip_mail_charset_utf8_valid(const char *s, size_t n,
				      const char **end);

void csip_mail_charset_base64(const char *in, size_t len, GByteArray *out,
			      csip_mail_charset_damage *dmg);

/* Decode quoted-printable; a '=' not followed by two hex digits or a line
 * end is kept literally and counted in dmg->invalid. */
void csip_mail_charset_qp(const char *in, size_t len, GByteArray *out,
			  csip_mail_charset_damage *dmg);

/* Decode LEN bytes declared as charset DECLARED (a MIME name as written in
 * the mail; NULL or "" when none) to UTF-8.  Japanese names go to the
 * decoders that know the vendor characters (Shift_JIS to CP932, EUC-JP to
 * eucJP-ms, ISO-2022-JP to a CP50221-compatible decoder); undeclared or
 * unknown charsets are guessed (ISO-2022-JP by its escape sequences, then
 * UTF-8, CP932, EUC-JP, Windows-1252); a declared charset that the bytes
 * do not fit is replaced by a guess that fits better.  *USED (may be NULL)
 * receives the static name of the decoder that was used, *LOSSY (may be
 * NULL) the number of bytes that became U+FFFD.  NUL bytes become spaces. */
char *csip_mail_charset_decode(const char *declared, const char *in,
			       size_t len, const char **used, size_t *lossy);

/* An unstructured header value (Subject, X-Mailer, a forwarded "件名:" line)
 * as raw bytes, possibly folded, with RFC 2047 encoded words and raw 8-bit
 * text: decoded to one line of UTF-8, control characters turned to spaces,
 * trimmed. */
char *csip_mail_charset_header(const char *raw, size_t len);

/* An address header (From, To, ...) as raw bytes, rewritten so that GMime's
 * address parser decodes it faithfully: every run of encoded words becomes
 * one UTF-8 encoded word, raw 8-bit text becomes UTF-8, folding is
 * removed.  The structure (quotes, commas, angle brackets) is untouched. */
char *csip_mail_charset_address_header(const char *raw, size_t len);

/* The parameter NAME ("filename", "name") of a Content-Disposition or
 * Content-Type raw value, decoded: RFC 2231 (charset'lang'%XX, with
 * continuations), RFC 2047 words inside a quoted value, or raw 8-bit bytes
 * in any Japanese charset.  NULL when the parameter is absent or empty. */
char *csip_mail_charset_param(const char *raw, size_t len, const char *name);

/* Does the text carry ISO-2022-JP escape sequences (ESC $ B, ESC $ @,
 * ESC ( J, ...)? */
int csip_mail_charset_has_jis(const char *in, size_t len);

#endif
