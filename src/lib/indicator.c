/*
 * indicator.c - the indicator model: type detection, validation, canonical
 * forms, refanging and defanging (the contract is in indicator.h).
 *
 * Canonical forms, decided once here because every store, index and export
 * compares indicators by their bytes:
 *
 *  ipv4      dotted quad, no leading zeros.  "010.1.1.1" is refused rather
 *            than guessed: inet_aton() reads it as octal, most people as
 *            decimal, and a wrong guess blocks the wrong host.
 *  ipv6      RFC 5952 through inet_ntop(): lower case, longest run of zero
 *            groups as "::", IPv4-mapped addresses as ::ffff:192.0.2.1.  A
 *            mapped address stays an IPv6 indicator but gets the IPv4 flags.
 *  cidr4/6   network address with the host bits cleared and the prefix
 *            length in decimal; a bare address is a /32 or /128 network
 *            when the type is given.
 *  domain,   lower-case A-labels (punycode), no trailing dot; the Unicode
 *  hostname  form is kept in `display`.  Labels are converted one by one
 *            with IDNA2008 non-transitional processing as browsers do,
 *            falling back to transitional for names only it accepts, and an
 *            xn-- label is accepted only when it round-trips, so one name
 *            has one spelling.  A name equal to its eTLD+1 is a domain, a
 *            longer one a host name; a name that is itself a suffix of the
 *            ICANN section (com, co.jp) is refused unless the type is
 *            given; a private-section suffix (github.io) is a domain with
 *            CSIP_IND_F_PUBLIC_SUFFIX, since someone did register it.
 *  url       scheme and host lower case, host canonical as above, default
 *            port dropped, userinfo kept, empty path of http, https, ws,
 *            wss and ftp is "/", dot segments removed, percent-escapes of
 *            unreserved characters decoded and the remaining ones in upper
 *            case, bytes that may not appear raw (space, non-ASCII, "[]{}|\^`
 *            <>") escaped, query kept, fragment dropped (it never reaches a
 *            server, so no log can show it).  A URL needs a scheme.
 *  email     the whole address in lower case: the local part is case
 *            sensitive by RFC 5321 but no real mailbox relies on it and
 *            every threat-intelligence platform matches it that way.  Only
 *            dot-atom local parts (no quoted strings, no address literals).
 *  hashes    lower-case hex, detected by length (32/40/64/128).
 *  ssdeep    blocksize:hash1:hash2 as given, since base64 is case
 *            sensitive; the ,"file name" ssdeep prints after it is dropped.
 *  asn       "AS" and the number in decimal (asdot 1.10 is converted).
 *  regkey    full hive name in upper case, backslashes, no empty component
 *            (so no trailing backslash and no doubled, escaped ones); the
 *            rest of the path keeps the case it was reported in, so
 *            whoever matches keys must compare them as Windows does,
 *            ignoring case.
 *  free text (file name, mutex, user agent, subject, X-Mailer) only when
 *            the type is given: surrounding white space trimmed, otherwise
 *            the bytes as given (a mutex name is case and byte exact).
 *
 * Refanging is applied to the network types only (addresses, names, URLs,
 * e-mail), never to free text or registry keys, where "(1)" or "[dot]" may be
 * genuine.  It is meant for indicator candidates, not whole documents: it
 * rewrites every bracketed dot, at, colon and slash it sees, swallows the
 * spaces around a bracketed dot or at ("user [at] example [dot] com"), and
 * maps a defanged scheme only as a whole word before "://", so "report(1)"
 * and "ahxxp" stay as they are.  A URL whose canonical form would still
 * look defanged (an escape decoding to "hxxp://") is refused, since it could
 * not be parsed back to itself.  Defanging for display brackets every dot of
 * a host name and the last dot of an IPv4 address (evil[.]example[.]com,
 * 192.0.2[.]1, user[@]example[.]com) and writes hxxp, hxxps and fxp;
 * refanging its output gives the canonical value back.
 */
#include "lib/indicator.h"
#include "util/error.h"

#include <arpa/inet.h>
#include <glib.h>
#include <idn2.h>
#include <libpsl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IND_INPUT 8192   /* any input, before anything else */
#define MAX_URL   4096   /* a canonical URL */
#define MAX_TEXT  1024   /* free text and registry keys */
#define MAX_NAME  253    /* a host name without the trailing dot */
#define MAX_LABEL 63
#define MAX_EMAIL 254
#define MAX_SHOWN 80     /* input quoted in a message */

static const char *const type_names[CSIP_IND__COUNT] = {
	[CSIP_IND_UNKNOWN] = "unknown",
	[CSIP_IND_IPV4] = "ipv4",
	[CSIP_IND_IPV6] = "ipv6",
	[CSIP_IND_CIDR4] = "cidr4",
	[CSIP_IND_CIDR6] = "cidr6",
	[CSIP_IND_DOMAIN] = "domain",
	[CSIP_IND_HOSTNAME] = "hostname",
	[CSIP_IND_URL] = "url",
	[CSIP_IND_EMAIL] = "email",
	[CSIP_IND_MD5] = "md5",
	[CSIP_IND_SHA1] = "sha1",
	[CSIP_IND_SHA256] = "sha256",
	[CSIP_IND_SHA512] = "sha512",
	[CSIP_IND_SSDEEP] = "ssdeep",
	[CSIP_IND_FILENAME] = "filename",
	[CSIP_IND_ASN] = "asn",
	[CSIP_IND_MUTEX] = "mutex",
	[CSIP_IND_REGKEY] = "regkey",
	[CSIP_IND_USER_AGENT] = "user-agent",
	[CSIP_IND_EMAIL_SUBJECT] = "email-subject",
	[CSIP_IND_X_MAILER] = "x-mailer",
};

const char *
csip_ind_type_name(csip_ind_type t)
{
	if ((int)t < 0 || t >= CSIP_IND__COUNT)
		return "unknown";
	return type_names[t];
}

csip_ind_type
csip_ind_type_from_name(const char *name)
{
	if (name == NULL)
		return CSIP_IND_UNKNOWN;
	for (int t = 1; t < CSIP_IND__COUNT; t++)
		if (g_ascii_strcasecmp(name, type_names[t]) == 0)
			return (csip_ind_type)t;
	return CSIP_IND_UNKNOWN;
}

/* ------------------------------------------------------------------ */
/* Messages */

/* The input as quoted in a message: printable, short, and safe to show even
 * when it is not UTF-8. */
static char *
shown(const char *s, size_t n)
{
	GString *o = g_string_new(NULL);
	const char *p = s, *end = s + n;
	size_t chars = 0;

	while (p < end) {
		gunichar u = g_utf8_get_char_validated(p, end - p);

		if (chars++ >= MAX_SHOWN) {
			g_string_append(o, "...");
			break;
		}
		if (u == (gunichar)-1 || u == (gunichar)-2) {
			g_string_append_printf(o, "\\x%02X", (unsigned char)*p);
			p++;
		} else if (u == '"' || u == '\\') {
			g_string_append_c(o, '\\');
			g_string_append_c(o, (char)u);
			p++;
		} else if (u < 0x20 || u == 0x7f || (u >= 0x80 && u < 0xa0)) {
			g_string_append_printf(o, "\\x%02X", u);
			p = g_utf8_next_char(p);
		} else {
			const char *q = g_utf8_next_char(p);

			g_string_append_len(o, p, q - p);
			p = q;
		}
	}
	return g_string_free(o, FALSE);
}

/* Parsing state: the input as the user wrote it, for messages.  It is
 * quoted (shown()) only when a message is made: most parses of a mail's
 * candidates succeed or fail once, and quoting it up front, twice, was
 * a good part of a parse. */
typedef struct pctx {
	const char *in;
	size_t in_len;
	int quiet;      /* csip_indicator_try(): no message is made */
} pctx;

static void
pctx_input(pctx *c, const char *s, size_t n)
{
	c->in = s;
	c->in_len = MIN(n, (size_t)MAX_SHOWN * 4);
}

static int fail(const pctx *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Record `"<input>" <reason>` and return CODE (only return it when the
 * caller asked for no message). */
static int
fail(const pctx *c, int code, const char *fmt, ...)
{
	va_list ap;
	char *why, *sh;

	if (c->quiet)
		return code;
	sh = shown(c->in ? c->in : "", c->in_len);
	va_start(ap, fmt);
	why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	csip_error_set(code, "\"%s\" %s", sh, why);
	g_free(why);
	g_free(sh);
	return code;
}

/* ------------------------------------------------------------------ */
/* Public suffix list */

static gpointer
psl_init(gpointer unused)
{
	const psl_ctx_t *p = psl_latest(NULL);

	(void)unused;
	/* psl_latest() picks the newer of the built-in list and the one the
	 * distribution ships; it is kept for the life of the process. */
	if (p == NULL)
		p = psl_builtin();
	return (gpointer)p;
}

static const psl_ctx_t *
psl_ctx(void)
{
	static GOnce once = G_ONCE_INIT;

	return g_once(&once, psl_init, NULL);
}

/* ------------------------------------------------------------------ */
/* Small helpers */

/* Trim white space, Unicode spaces (NBSP, ideographic space) included, from
 * both ends of valid UTF-8. */
static void
trim_utf8(const char **s, size_t *n)
{
	const char *b = *s, *e = *s + *n;

	while (b < e) {
		gunichar u = g_utf8_get_char(b);

		if (!g_unichar_isspace(u))
			break;
		b = g_utf8_next_char(b);
	}
	while (e > b) {
		const char *p = g_utf8_find_prev_char(b, e);

		if (p == NULL)
			p = b;
		if (!g_unichar_isspace(g_utf8_get_char(p)))
			break;
		e = p;
	}
	*s = b;
	*n = (size_t)(e - b);
}

static int
all_digits(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_isdigit(s[i]))
			return 0;
	return 1;
}

static int
all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_isxdigit(s[i]))
			return 0;
	return 1;
}

/* C0 and C1 controls, DEL and the Unicode line and paragraph separators:
 * nothing that breaks a line or a terminal belongs in an indicator. */
static int
has_control(const char *s, size_t n)
{
	const char *p = s, *end = s + n;

	while (p < end) {
		gunichar u = g_utf8_get_char(p);

		if (u < 0x20 || u == 0x7f || (u >= 0x80 && u < 0xa0) ||
		    u == 0x2028 || u == 0x2029)
			return 1;
		p = g_utf8_next_char(p);
	}
	return 0;
}

/* Parse a decimal number of at most 10 digits into *v; 0 on failure. */
static int
parse_u32(const char *s, size_t n, uint32_t *v)
{
	uint64_t x = 0;

	if (!all_digits(s, n) || n > 10)
		return 0;
	for (size_t i = 0; i < n; i++)
		x = x * 10 + (uint64_t)(s[i] - '0');
	if (x > UINT32_MAX)
		return 0;
	*v = (uint32_t)x;
	return 1;
}

/* The length of S[0..n) cut to at most MAX bytes without splitting a
 * UTF-8 sequence, for quoting a piece of input in a message. */
static int
clip(const char *s, size_t n, size_t max)
{
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	return (int)n;
}

/* ------------------------------------------------------------------ */
/* Refanging and defanging */

typedef struct fang {
	const char *from;
	size_t len;        /* of from */
	const char *to;
	int spaced;        /* also swallow spaces around it: "a [at] b" */
} fang;

#define FANG(from, to, spaced) { from, sizeof(from) - 1, to, spaced }

/* Matched case-insensitively against the end of the output as it grows, so
 * nested forms ("([.])") reduce completely and the result is a fixed
 * point: refanging it again changes nothing. */
static const fang fangs[] = {
	FANG("[.]", ".", 1), FANG("(.)", ".", 1), FANG("{.}", ".", 1),
	FANG("[dot]", ".", 1), FANG("(dot)", ".", 1), FANG("{dot}", ".", 1),
	FANG("[@]", "@", 1), FANG("(@)", "@", 1), FANG("{@}", "@", 1),
	FANG("[at]", "@", 1), FANG("(at)", "@", 1), FANG("{at}", "@", 1),
	FANG("[://]", "://", 0), FANG("(://)", "://", 0),
	FANG("{://}", "://", 0),
	FANG("[:]", ":", 0), FANG("[/]", "/", 0), FANG("\\.", ".", 0),
};

/* Defanged schemes, recognised only as a whole word before "://".  "ttp"
 * is the Japanese forum habit of dropping the h. */
static const char *const schemes[][2] = {
	{ "hxxp", "http" }, { "hxxps", "https" }, { "hxtp", "http" },
	{ "hxtps", "https" }, { "htxp", "http" }, { "htxps", "https" },
	{ "h**p", "http" }, { "h**ps", "https" }, { "h__p", "http" },
	{ "h__ps", "https" }, { "ttp", "http" }, { "ttps", "https" },
	{ "meow", "http" }, { "fxp", "ftp" }, { "fxps", "ftps" },
};

static inline int
fold_ascii(char c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Whether O ends with PAT (N bytes, N > 0), ignoring ASCII case.  The
 * last byte is compared first: it rules out nearly every pattern without
 * a call, and this runs for every pattern after every '.' and '/'. */
static int
ends_with_ci(const GString *o, const char *pat, size_t n)
{
	return o->len >= n &&
		fold_ascii(o->str[o->len - 1]) == fold_ascii(pat[n - 1]) &&
		g_ascii_strncasecmp(o->str + o->len - n, pat, n) == 0;
}

static int
scheme_char(char c)
{
	return g_ascii_isalnum(c) || c == '*' || c == '_' || c == '+' ||
		c == '-' || c == '.';
}

/* The defanged scheme (an index of schemes[]) that is the whole word
 * ending at S[END], where "://" follows, or -1.  The word is looked at
 * only as far as the longest defanged scheme needs. */
static int
defanged_scheme(const char *s, size_t end)
{
	size_t st = end;

	while (st > 0 && end - st < 6 && scheme_char(s[st - 1]))
		st--;
	if (st > 0 && scheme_char(s[st - 1]))
		return -1;
	for (size_t i = 0; i < G_N_ELEMENTS(schemes); i++)
		if (strlen(schemes[i][0]) == end - st &&
		    g_ascii_strncasecmp(s + st, schemes[i][0], end - st) == 0)
			return (int)i;
	return -1;
}

/* Reduce the end of O while it matches a defanged form. */
static void
reduce(GString *o, int *skip_space)
{
	int again = 1;

	while (again) {
		again = 0;
		for (size_t i = 0; i < G_N_ELEMENTS(fangs); i++) {
			if (!ends_with_ci(o, fangs[i].from, fangs[i].len))
				continue;
			g_string_truncate(o, o->len - fangs[i].len);
			if (fangs[i].spaced) {
				while (o->len > 0 && o->str[o->len - 1] == ' ')
					g_string_truncate(o, o->len - 1);
				*skip_space = 1;
			}
			g_string_append(o, fangs[i].to);
			again = 1;
			break;
		}
		if (again || !ends_with_ci(o, "://", 3))
			continue;
		{
			size_t end = o->len - 3;
			int k = defanged_scheme(o->str, end);

			if (k < 0)
				continue;
			g_string_truncate(o, end - strlen(schemes[k][0]));
			g_string_append(o, schemes[k][1]);
			g_string_append(o, "://");
			again = 1;
		}
	}
}

char *
csip_refang(const char *text, size_t len)
{
	GString *o = NULL;
	int skip_space = 0;
	size_t i;

	static gsize once;
	static guint8 last[256];

	/* Every defanged form holds one of these bytes or is a defanged
	 * scheme before "://"; without any, the text is its own refanged
	 * form, which is what nearly every value of a large indicator list
	 * is (a URL's "http://" included). */
	for (i = 0; text && i < len; i++) {
		char c = text[i];

		if (c == '[' || c == '(' || c == '{' || c == '\\' ||
		    (c == ':' && i + 2 < len && text[i + 1] == '/' &&
		     text[i + 2] == '/' && defanged_scheme(text, i) >= 0))
			break;
	}
	if (text == NULL || i == len)
		return text ? g_strndup(text, len) : g_strdup("");
	o = g_string_sized_new(len + 1);

	/* A defanged form can only end at its own last character: try to
	 * reduce only after one of those, which skips the table for nearly
	 * every byte of ordinary text (refanging is on the mail hot path). */
	if (g_once_init_enter(&once)) {
		for (size_t k = 0; k < G_N_ELEMENTS(fangs); k++) {
			guint8 c = (guint8)fangs[k].from[fangs[k].len - 1];

			last[(guint8)g_ascii_tolower((gchar)c)] = 1;
			last[(guint8)g_ascii_toupper((gchar)c)] = 1;
		}
		last['/'] = 1;
		g_once_init_leave(&once, 1);
	}
	for (i = 0; i < len; i++) {
		if (skip_space && text[i] == ' ')
			continue;
		skip_space = 0;
		g_string_append_c(o, text[i]);
		if (last[(guint8)text[i]])
			reduce(o, &skip_space);
	}
	return g_string_free(o, FALSE);
}

/* Append the host S[0..n) defanged: every dot of a name (evil[.]example[.]
 * com), only the last one of an IPv4 address (192.0.2[.]1), as analysts
 * write them. */
static void
append_defanged_host(GString *o, const char *s, size_t n)
{
	const char *last = NULL;
	int numeric = 1;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.')
			last = s + i;
		else if (!g_ascii_isdigit(s[i]))
			numeric = 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.' && (!numeric || s + i == last))
			g_string_append(o, "[.]");
		else
			g_string_append_c(o, s[i]);
	}
}

static void
defang_url(GString *o, const char *v)
{
	const char *sep = strstr(v, "://"), *auth, *host, *hend, *aend;
	static const char *const map[][2] = {
		{ "http", "hxxp" }, { "https", "hxxps" }, { "ftp", "fxp" },
		{ "ftps", "fxps" },
	};
	size_t i;

	if (sep == NULL) {
		g_string_append(o, v);
		return;
	}
	for (i = 0; i < G_N_ELEMENTS(map); i++)
		if ((size_t)(sep - v) == strlen(map[i][0]) &&
		    strncmp(v, map[i][0], sep - v) == 0)
			break;
	g_string_append(o, i < G_N_ELEMENTS(map) ? map[i][1] : "");
	if (i == G_N_ELEMENTS(map))
		g_string_append_len(o, v, sep - v);
	g_string_append(o, "://");
	auth = sep + 3;
	aend = auth + strcspn(auth, "/?#");
	host = auth;
	for (const char *p = auth; p < aend; p++)
		if (*p == '@')
			host = p + 1;
	g_string_append_len(o, auth, host - auth);
	if (*host == '[') {
		/* IPv6 literals have no defanged convention. */
		g_string_append(o, host);
		return;
	}
	hend = host;
	while (hend < aend && *hend != ':')
		hend++;
	append_defanged_host(o, host, hend - host);
	g_string_append(o, hend);
}

char *
csip_defang(csip_ind_type t, const char *value)
{
	GString *o = g_string_new(NULL);
	const char *p;

	if (value == NULL)
		return g_string_free(o, FALSE);
	switch (t) {
	case CSIP_IND_IPV4:
	case CSIP_IND_DOMAIN:
	case CSIP_IND_HOSTNAME:
		append_defanged_host(o, value, strlen(value));
		break;
	case CSIP_IND_CIDR4:
		p = strchr(value, '/');
		append_defanged_host(o, value, p ? (size_t)(p - value) :
				     strlen(value));
		if (p)
			g_string_append(o, p);
		break;
	case CSIP_IND_EMAIL:
		p = strrchr(value, '@');
		if (p == NULL) {
			g_string_append(o, value);
			break;
		}
		g_string_append_len(o, value, p - value);
		g_string_append(o, "[@]");
		append_defanged_host(o, p + 1, strlen(p + 1));
		break;
	case CSIP_IND_URL:
		defang_url(o, value);
		break;
	default:
		g_string_append(o, value);
		break;
	}
	return g_string_free(o, FALSE);
}

/* ------------------------------------------------------------------ */
/* Addresses */

typedef struct range4 {
	uint32_t net;
	unsigned len;
	unsigned flag;
} range4;

/* IANA special-purpose registry, the parts that matter for sharing: an
 * indicator in one of these is a mistake or a victim's internal host. */
static const range4 ranges4[] = {
	{ 0x00000000, 8, CSIP_IND_F_RESERVED },   /* "this network" */
	{ 0x0a000000, 8, CSIP_IND_F_PRIVATE },
	{ 0x64400000, 10, CSIP_IND_F_PRIVATE },   /* shared, CGNAT */
	{ 0x7f000000, 8, CSIP_IND_F_LOOPBACK },
	{ 0xa9fe0000, 16, CSIP_IND_F_LINKLOCAL },
	{ 0xac100000, 12, CSIP_IND_F_PRIVATE },
	{ 0xc0000000, 24, CSIP_IND_F_RESERVED },  /* IETF assignments */
	{ 0xc0000200, 24, CSIP_IND_F_RESERVED },  /* TEST-NET-1 */
	{ 0xc0586300, 24, CSIP_IND_F_RESERVED },  /* 6to4 relay, retired */
	{ 0xc0a80000, 16, CSIP_IND_F_PRIVATE },
	{ 0xc6120000, 15, CSIP_IND_F_RESERVED },  /* benchmarking */
	{ 0xc6336400, 24, CSIP_IND_F_RESERVED },  /* TEST-NET-2 */
	{ 0xcb007100, 24, CSIP_IND_F_RESERVED },  /* TEST-NET-3 */
	{ 0xe0000000, 4, CSIP_IND_F_RESERVED },   /* multicast */
	{ 0xf0000000, 4, CSIP_IND_F_RESERVED },   /* future use, broadcast */
};

typedef struct range6 {
	uint8_t net[16];
	unsigned len;
	unsigned flag;
} range6;

static const range6 ranges6[] = {
	{ { 0 }, 128, CSIP_IND_F_RESERVED },                  /* :: */
	{ { [15] = 1 }, 128, CSIP_IND_F_LOOPBACK },           /* ::1 */
	{ { 0, 0x64, 0xff, 0x9b, 0, 1 }, 48, CSIP_IND_F_PRIVATE },
	{ { 0x01, 0x00 }, 64, CSIP_IND_F_RESERVED },          /* discard */
	{ { 0x20, 0x01, 0x00, 0x02, 0, 0 }, 48, CSIP_IND_F_RESERVED },
	{ { 0x20, 0x01, 0x00, 0x10 }, 28, CSIP_IND_F_RESERVED },
	{ { 0x20, 0x01, 0x00, 0x20 }, 28, CSIP_IND_F_RESERVED },
	{ { 0x20, 0x01, 0x0d, 0xb8 }, 32, CSIP_IND_F_RESERVED },
	{ { 0x3f, 0xff }, 20, CSIP_IND_F_RESERVED },          /* doc, 2024 */
	{ { 0xfc }, 7, CSIP_IND_F_PRIVATE },
	{ { 0xfe, 0x80 }, 10, CSIP_IND_F_LINKLOCAL },
	{ { 0xfe, 0xc0 }, 10, CSIP_IND_F_RESERVED },          /* site-local */
	{ { 0xff }, 8, CSIP_IND_F_RESERVED },                 /* multicast */
};

static const uint8_t mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* NAT64's well-known prefix 64:ff9b::/96 (RFC 6052): the last 32 bits
 * are an IPv4 address, which is what the flags describe.  The RFC
 * forbids it for non-global addresses, so 64:ff9b::10.0.0.1 is a
 * victim's private host written for a translator, flagged as such. */
static const uint8_t nat64_prefix[12] = {
	0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0
};

/* Flags of the network ADDR/PLEN: those of every range that contains it. */
static unsigned
flags_v4(uint32_t addr, unsigned plen)
{
	unsigned f = 0;

	for (size_t i = 0; i < G_N_ELEMENTS(ranges4); i++) {
		uint32_t mask = ranges4[i].len ? ~0u << (32 - ranges4[i].len)
			: 0;

		if (plen >= ranges4[i].len && (addr & mask) == ranges4[i].net)
			f |= ranges4[i].flag;
	}
	return f;
}

static int
prefix_equal(const uint8_t *a, const uint8_t *b, unsigned len)
{
	unsigned full = len / 8, rest = len % 8;

	if (memcmp(a, b, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[full] ^ b[full]) & (0xff << (8 - rest))) == 0;
}

static unsigned
flags_v6(const uint8_t *addr, unsigned plen)
{
	unsigned f = 0;

	if (plen >= 96 && (memcmp(addr, mapped_prefix, 12) == 0 ||
			   memcmp(addr, nat64_prefix, 12) == 0)) {
		uint32_t v4 = (uint32_t)addr[12] << 24 |
			(uint32_t)addr[13] << 16 | (uint32_t)addr[14] << 8 |
			addr[15];

		return flags_v4(v4, plen - 96);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(ranges6); i++)
		if (plen >= ranges6[i].len &&
		    prefix_equal(addr, ranges6[i].net, ranges6[i].len))
			f |= ranges6[i].flag;
	return f;
}

/* Strict dotted quad: four decimal parts, no leading zeros, each 0-255. */
static int
parse_v4(const pctx *c, const char *s, size_t n, uint32_t *out)
{
	uint32_t addr = 0;
	size_t i = 0;
	int parts = 0;

	while (i <= n) {
		size_t st = i, len;
		uint32_t v;

		while (i < n && s[i] != '.')
			i++;
		len = i - st;
		if (++parts > 4)
			return fail(c, CSIP_EINVAL, "is not a valid IPv4 "
				    "address: it has more than 4 parts");
		if (len == 0)
			return fail(c, CSIP_EINVAL, "is not a valid IPv4 "
				    "address: part %d is empty", parts);
		if (!all_digits(s + st, len))
			return fail(c, CSIP_EINVAL, "is not a valid IPv4 "
				    "address: part \"%.*s\" is not a decimal "
				    "number", clip(s + st, len, 16), s + st);
		if (len > 1 && s[st] == '0')
			return fail(c, CSIP_EINVAL, "is not a valid IPv4 "
				    "address: part \"%.*s\" has a leading "
				    "zero, which some software reads as octal; "
				    "write it without leading zeros",
				    clip(s + st, len, 16), s + st);
		if (!parse_u32(s + st, len, &v) || v > 255)
			return fail(c, CSIP_EINVAL, "is not a valid IPv4 "
				    "address: part \"%.*s\" is out of range "
				    "(0-255)", clip(s + st, len, 16), s + st);
		addr = addr << 8 | v;
		i++;
	}
	if (parts != 4)
		return fail(c, CSIP_EINVAL, "is not a valid IPv4 address: it "
			    "has %d parts; an address has 4 (a.b.c.d)", parts);
	*out = addr;
	return CSIP_OK;
}

static int
parse_v6(const pctx *c, const char *s, size_t n, uint8_t out[16])
{
	char buf[64];

	if (memchr(s, '%', n))
		return fail(c, CSIP_EINVAL, "is not a shareable IPv6 address: "
			    "drop the zone index after '%%'");
	if (n == 0 || n >= sizeof(buf))
		return fail(c, CSIP_EINVAL, "is not a valid IPv6 address");
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET6, buf, out) != 1)
		return fail(c, CSIP_EINVAL, "is not a valid IPv6 address "
			    "(eight groups of hex digits, \"::\" at most "
			    "once)");
	return CSIP_OK;
}

static char *
format_v4(uint32_t a)
{
	return g_strdup_printf("%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff,
			       (a >> 8) & 0xff, a & 0xff);
}

static char *
format_v6(const uint8_t a[16])
{
	char buf[INET6_ADDRSTRLEN];

	/* glibc's inet_ntop() writes RFC 5952 text. */
	inet_ntop(AF_INET6, a, buf, sizeof(buf));
	return g_strdup(buf);
}

static int
parse_ipv4_ind(const pctx *c, const char *s, size_t n, csip_indicator *ind)
{
	uint32_t a;
	int rc;

	if ((rc = parse_v4(c, s, n, &a)) < 0)
		return rc;
	ind->type = CSIP_IND_IPV4;
	ind->value = format_v4(a);
	ind->flags |= flags_v4(a, 32);
	return CSIP_OK;
}

static int
parse_ipv6_ind(const pctx *c, const char *s, size_t n, csip_indicator *ind)
{
	uint8_t a[16];
	int rc;

	/* "[2001:db8::1]" as copied out of a URL. */
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if ((rc = parse_v6(c, s, n, a)) < 0)
		return rc;
	ind->type = CSIP_IND_IPV6;
	ind->value = format_v6(a);
	ind->flags |= flags_v6(a, 128);
	return CSIP_OK;
}

/* A network in CIDR notation.  FAMILY is 4, 6 or 0 for either; a bare
 * address is a host network. */
static int
parse_cidr(const pctx *c, const char *s, size_t n, int family,
	   csip_indicator *ind)
{
	const char *slash = memchr(s, '/', n);
	size_t alen = slash ? (size_t)(slash - s) : n;
	int v6 = memchr(s, ':', alen) != NULL;
	unsigned max = v6 ? 128 : 32;
	uint32_t plen = max;
	int rc = CSIP_OK;

	if (family == 4 && v6)
		return fail(c, CSIP_EINVAL, "is an IPv6 network; expected an "
			    "IPv4 one (a.b.c.d/len)");
	if (family == 6 && !v6)
		return fail(c, CSIP_EINVAL, "is an IPv4 network; expected an "
			    "IPv6 one (2001:db8::/32)");
	if (slash) {
		size_t pl = n - alen - 1;

		if (!parse_u32(slash + 1, pl, &plen) || pl > 3 || plen > max)
			return fail(c, CSIP_EINVAL, "is not a valid network: "
				    "the prefix length after '/' must be a "
				    "number from 0 to %u", max);
	}
	if (v6) {
		uint8_t a[16];
		char *addr;

		if ((rc = parse_v6(c, s, alen, a)) < 0)
			return rc;
		for (unsigned bit = plen; bit < 128; bit++)
			a[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
		addr = format_v6(a);
		ind->type = CSIP_IND_CIDR6;
		ind->value = g_strdup_printf("%s/%u", addr, plen);
		ind->flags |= flags_v6(a, plen);
		g_free(addr);
	} else {
		uint32_t a, mask;
		char *addr;

		if ((rc = parse_v4(c, s, alen, &a)) < 0)
			return rc;
		mask = plen ? ~0u << (32 - plen) : 0;
		a &= mask;
		addr = format_v4(a);
		ind->type = CSIP_IND_CIDR4;
		ind->value = g_strdup_printf("%s/%u", addr, plen);
		ind->flags |= flags_v4(a, plen);
		g_free(addr);
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* Host names */

enum {
	HOST_UNDERSCORE = 1 << 0  /* _dmarc, SRV names, sloppy CDNs */
};

/* Convert a Unicode label to an A-label the way browsers do. */
static int
to_alabel(const char *u, char **out)
{
	int rc = idn2_to_ascii_8z(u, out, IDN2_NONTRANSITIONAL |
				  IDN2_NFC_INPUT);

	if (rc != IDN2_OK)
		rc = idn2_to_ascii_8z(u, out, IDN2_TRANSITIONAL |
				      IDN2_NFC_INPUT);
	return rc;
}

/* Validate one lower-case ASCII label; for an A-label also decode it into
 * *ulabel (else *ulabel is a copy). */
static int
check_label(const pctx *c, const char *l, unsigned opts, char **ulabel,
	    unsigned *flags)
{
	size_t n = strlen(l);
	char *u = NULL, *back = NULL;
	int rc = CSIP_OK;

	*ulabel = NULL;
	if (n == 0) {
		rc = fail(c, CSIP_EINVAL, "is not a valid host name: it has an "
			  "empty label (a leading dot or two dots in a row)");
		goto out;
	}
	if (n > MAX_LABEL) {
		rc = fail(c, CSIP_EINVAL, "is not a valid host name: it has a "
			  "label longer than %d characters", MAX_LABEL);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char ch = l[i];

		if (g_ascii_isalnum(ch) || ch == '-')
			continue;
		if (ch == '_' && (opts & HOST_UNDERSCORE))
			continue;
		rc = fail(c, CSIP_EINVAL, "is not a valid host name: label "
			  "\"%.*s\" has the character '%c'; labels have "
			  "letters, digits and hyphens", (int)MIN(n, 64), l,
			  ch);
		goto out;
	}
	if (l[0] == '-' || l[n - 1] == '-') {
		rc = fail(c, CSIP_EINVAL, "is not a valid host name: label "
			  "\"%s\" begins or ends with a hyphen", l);
		goto out;
	}
	if (g_str_has_prefix(l, "xn--")) {
		/* Only the A-label IDNA itself would produce is accepted,
		 * so a name cannot have two spellings. */
		if (idn2_to_unicode_8z8z(l, &u, 0) != IDN2_OK ||
		    u == NULL || *u == '\0' || to_alabel(u, &back) != IDN2_OK ||
		    strcmp(back, l) != 0) {
			rc = fail(c, CSIP_EINVAL, "is not a valid host name: "
				  "label \"%s\" is not valid punycode for an "
				  "internationalised label", l);
			goto out;
		}
		*flags |= CSIP_IND_F_IDN;
		*ulabel = g_strdup(u);
	} else {
		*ulabel = g_strdup(l);
	}
out:
	free(u);
	free(back);
	return rc;
}

/* Whether S[0..N) is a host name with nothing for the general path below
 * to convert or check further but the case of its letters: ASCII
 * letters, digits, hyphens (underscores with HOST_UNDERSCORE), labels of
 * 1 to MAX_LABEL characters that neither begin nor end with a hyphen nor
 * begin with "xn--" in any case, no trailing dot, at most MAX_NAME
 * characters, a top-level label with a letter and no underscore.  Such a
 * name in lower case is its own A-label and Unicode form, which is what
 * the general path makes of it (it lowers each ASCII label and checks
 * it); nearly every name of a large list is one, and so are the mixed-case
 * host names of Received headers. */
static int
host_plain(const char *s, size_t n, unsigned opts)
{
	size_t st = 0;
	int alpha = 0, under = 0;

	if (n == 0 || n > MAX_NAME)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		char ch = i < n ? s[i] : '.';

		if (ch == '.') {
			if (i == st || i - st > MAX_LABEL || s[st] == '-' ||
			    s[i - 1] == '-' || (i - st >= 4 &&
			    g_ascii_strncasecmp(s + st, "xn--", 4) == 0))
				return 0;
			if (i < n) {
				alpha = under = 0;
				st = i + 1;
			}
		} else if ((ch >= 'a' && ch <= 'z') ||
			   (ch >= 'A' && ch <= 'Z')) {
			alpha = 1;
		} else if (ch == '_' && (opts & HOST_UNDERSCORE)) {
			under = 1;
		} else if (!(ch >= '0' && ch <= '9') && ch != '-') {
			return 0;
		}
	}
	/* The top-level label: "digits only" refused, as below, and a
	 * hyphen counts as no letter there. */
	return alpha && !under;
}

/* Canonicalise a host name: *ascii gets the lower-case A-label form, *uni
 * the Unicode one.  S is valid UTF-8. */
static int
host_canon(const pctx *c, const char *s, size_t n, unsigned opts,
	   char **ascii, char **uni, unsigned *flags)
{
	GString *in = NULL, *a = NULL, *u = NULL;
	char **labels = NULL;
	const char *p = s, *end = s + n;
	size_t nl;
	int rc = CSIP_OK;

	*ascii = *uni = NULL;
	if (host_plain(s, n, opts)) {
		*ascii = g_ascii_strdown(s, (gssize)n);
		*uni = g_strdup(*ascii);
		goto out;
	}
	in = g_string_sized_new(n);
	a = g_string_new(NULL);
	u = g_string_new(NULL);
	/* The ideographic and full-width full stops separate labels in
	 * Japanese and Chinese text (UTS #46). */
	while (p < end) {
		gunichar ch = g_utf8_get_char(p);

		if (ch == 0x3002 || ch == 0xff0e || ch == 0xff61)
			g_string_append_c(in, '.');
		else
			g_string_append_len(in, p, g_utf8_next_char(p) - p);
		p = g_utf8_next_char(p);
	}
	if (in->len > 0 && in->str[in->len - 1] == '.')
		g_string_truncate(in, in->len - 1);
	if (in->len == 0) {
		rc = fail(c, CSIP_EINVAL, "is not a valid host name: it is "
			  "empty");
		goto out;
	}
	labels = g_strsplit(in->str, ".", -1);
	nl = g_strv_length(labels);
	for (size_t i = 0; i < nl; i++) {
		char *l = labels[i], *conv = NULL, *ul = NULL;
		int ascii_only = 1;

		for (const char *q = l; *q; q++)
			if ((unsigned char)*q >= 0x80)
				ascii_only = 0;
		if (!ascii_only) {
			int r = to_alabel(l, &conv);

			if (r != IDN2_OK) {
				rc = fail(c, CSIP_EINVAL, "is not a valid host "
					  "name: label \"%s\" is not a valid "
					  "internationalised label (%s)", l,
					  idn2_strerror(r));
				free(conv);
				goto out;
			}
			l = conv;
		} else {
			for (char *q = l; *q; q++)
				*q = g_ascii_tolower(*q);
		}
		rc = check_label(c, l, opts, &ul, flags);
		if (rc == CSIP_OK) {
			if (i > 0) {
				g_string_append_c(a, '.');
				g_string_append_c(u, '.');
			}
			g_string_append(a, l);
			g_string_append(u, ul);
		}
		free(conv);
		g_free(ul);
		if (rc < 0)
			goto out;
	}
	if (a->len > MAX_NAME) {
		rc = fail(c, CSIP_EINVAL, "is not a valid host name: it is "
			  "longer than %d characters, the limit of DNS",
			  MAX_NAME);
		goto out;
	}
	{
		const char *tld = strrchr(a->str, '.');

		tld = tld ? tld + 1 : a->str;
		if (all_digits(tld, strlen(tld)) || strchr(tld, '_')) {
			rc = fail(c, CSIP_EINVAL, "is not a valid host name: "
				  "its top-level label \"%s\" must have "
				  "letters and no underscore", tld);
			goto out;
		}
	}
	*ascii = g_string_free(a, FALSE);
	*uni = g_string_free(u, FALSE);
	a = u = NULL;
out:
	if (a)
		g_string_free(a, TRUE);
	if (u)
		g_string_free(u, TRUE);
	if (in)
		g_string_free(in, TRUE);
	g_strfreev(labels);
	return rc;
}

/* psl_registrable_domain() of the A-label name ASCII.  For
 * csip_indicator_try() (C->quiet: a mail's candidates) the answers are
 * remembered per thread, up to REG_MEMO names (then forgotten all at
 * once): a look-up costs ten thousand instructions, and mails name the
 * same hosts again and again.  The list is loaded once per process, so
 * the answer depends on the name alone.  The result is owned by ASCII or
 * by the memo, valid until the next call. */
#define REG_MEMO 4096

static char reg_none;   /* the memo's value for "no registrable domain" */

static void
reg_memo_free(gpointer p)
{
	if (p)
		g_hash_table_destroy(p);
}

static GPrivate reg_memo = G_PRIVATE_INIT(reg_memo_free);

static void
reg_value_free(gpointer p)
{
	if (p != &reg_none)
		g_free(p);
}

static const char *
reg_domain(const pctx *c, const char *ascii)
{
	GHashTable *m;
	const char *r;
	char *known;

	if (!c->quiet)
		return psl_registrable_domain(psl_ctx(), ascii);
	m = g_private_get(&reg_memo);
	if (m == NULL) {
		m = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					  reg_value_free);
		g_private_set(&reg_memo, m);
	}
	known = g_hash_table_lookup(m, ascii);
	if (known)
		return known == &reg_none ? NULL : known;
	r = psl_registrable_domain(psl_ctx(), ascii);
	if (g_hash_table_size(m) >= REG_MEMO)
		g_hash_table_remove_all(m);
	g_hash_table_insert(m, g_strdup(ascii), r ? g_strdup(r) : &reg_none);
	return r;
}

static char *
registrable_of(const pctx *c, const char *ascii)
{
	const char *r = reg_domain(c, ascii);

	return r ? g_strdup(r) : NULL;
}

/* Domain or host name; HINT is CSIP_IND_UNKNOWN, _DOMAIN or _HOSTNAME. */
static int
parse_name(const pctx *c, const char *s, size_t n, csip_ind_type hint,
	   csip_indicator *ind)
{
	const psl_ctx_t *psl = psl_ctx();
	const char *reg;
	char *ascii = NULL, *uni = NULL;
	int rc;

	if ((rc = host_canon(c, s, n, HOST_UNDERSCORE, &ascii, &uni,
			     &ind->flags)) < 0)
		goto out;
	if (hint == CSIP_IND_UNKNOWN && strchr(ascii, '.') == NULL) {
		rc = fail(c, CSIP_EINVAL, "is a single label: cannot tell "
			  "whether it is a name at all; a domain or host name "
			  "needs a dot (give the type domain or hostname to "
			  "accept it)");
		goto out;
	}
	/* A name with a registrable domain is no public suffix of any
	 * kind: psl_registrable_domain() stops at once on a suffix (with
	 * the implicit "*" rule and the private section, which only add
	 * suffixes to the two checks below).  One look-up instead of three
	 * for nearly every name. */
	reg = reg_domain(c, ascii);
	if (reg != NULL) {
		ind->registrable = g_strdup(reg);
		if (hint != CSIP_IND_UNKNOWN)
			ind->type = hint;
		else if (strcmp(reg, ascii) == 0)
			ind->type = CSIP_IND_DOMAIN;
		else
			ind->type = CSIP_IND_HOSTNAME;
	} else if (psl_is_public_suffix2(psl, ascii, PSL_TYPE_ICANN |
					 PSL_TYPE_NO_STAR_RULE)) {
		if (hint == CSIP_IND_UNKNOWN) {
			rc = fail(c, CSIP_EINVAL, "is a public suffix (like "
				  "com or co.jp) that nobody can register; "
				  "name a domain below it");
			goto out;
		}
		ind->flags |= CSIP_IND_F_PUBLIC_SUFFIX;
		ind->type = hint;
	} else if (psl_is_public_suffix2(psl, ascii, PSL_TYPE_ANY |
					 PSL_TYPE_NO_STAR_RULE)) {
		/* github.io, duckdns.org: registered by a company that
		 * hands out names below it. */
		ind->flags |= CSIP_IND_F_PUBLIC_SUFFIX;
		ind->registrable = g_strdup(ascii);
		ind->type = hint ? hint : CSIP_IND_DOMAIN;
	} else {
		/* No suffix, and nothing registrable either. */
		ind->type = hint != CSIP_IND_UNKNOWN ? hint :
			CSIP_IND_HOSTNAME;
	}
	ind->value = ascii;
	ind->display = uni;
	ascii = uni = NULL;
out:
	g_free(ascii);
	g_free(uni);
	return rc;
}

/* ------------------------------------------------------------------ */
/* URLs */

static int
unreserved(unsigned char ch)
{
	return g_ascii_isalnum(ch) || ch == '-' || ch == '.' || ch == '_' ||
		ch == '~';
}

static int
sub_delim(unsigned char ch)
{
	return ch != '\0' && strchr("!$&'()*+,;=", ch) != NULL;
}

static int
hexval(char ch)
{
	return g_ascii_xdigit_value(ch);
}

/* Append S[0..n) with percent-encoding normalised: escapes of unreserved
 * characters decoded, other escapes in upper case, a stray '%' and every
 * byte outside unreserved, sub-delims and EXTRA escaped. */
static void
pct_normalise(GString *o, const char *s, size_t n, const char *extra)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
		    hexval(s[i + 2]) >= 0) {
			unsigned char v = (unsigned char)
				(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));

			if (unreserved(v))
				g_string_append_c(o, (char)v);
			else
				g_string_append_printf(o, "%%%02X", v);
			i += 2;
		} else if (ch != '%' && (unreserved(ch) || sub_delim(ch) ||
			   (ch != '\0' && strchr(extra, ch)))) {
			g_string_append_c(o, (char)ch);
		} else {
			g_string_append_printf(o, "%%%02X", ch);
		}
	}
}

/* RFC 3986 section 5.2.4 on an absolute path: no "." or ".." segments. */
static char *
remove_dot_segments(const char *path)
{
	char **segs = g_strsplit(path + 1, "/", -1);
	GPtrArray *keep = g_ptr_array_new();
	GString *o = g_string_new(NULL);
	size_t n = g_strv_length(segs);

	for (size_t i = 0; i < n; i++) {
		int last = i + 1 == n;

		if (strcmp(segs[i], ".") == 0 || strcmp(segs[i], "..") == 0) {
			if (segs[i][1] == '.' && keep->len > 0)
				g_ptr_array_remove_index(keep, keep->len - 1);
			if (last)
				g_ptr_array_add(keep, "");
		} else {
			g_ptr_array_add(keep, segs[i]);
		}
	}
	for (guint i = 0; i < keep->len; i++) {
		g_string_append_c(o, '/');
		g_string_append(o, g_ptr_array_index(keep, i));
	}
	if (o->len == 0)
		g_string_append_c(o, '/');
	g_ptr_array_free(keep, TRUE);
	g_strfreev(segs);
	return g_string_free(o, FALSE);
}

typedef struct scheme_info {
	const char *name;
	unsigned long port;  /* the default */
} scheme_info;

/* The schemes with a default port and a path that is never empty. */
static const scheme_info special[] = {
	{ "http", 80 }, { "https", 443 }, { "ws", 80 }, { "wss", 443 },
	{ "ftp", 21 },
};

/* Percent-decode a host; 0 when an escape is broken. */
static int
host_unescape(const char *s, size_t n, GString *o)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			g_string_append_c(o, s[i]);
			continue;
		}
		if (i + 2 >= n || hexval(s[i + 1]) < 0 ||
		    hexval(s[i + 2]) < 0)
			return 0;
		g_string_append_c(o, (char)(hexval(s[i + 1]) * 16 +
					    hexval(s[i + 2])));
		i += 2;
	}
	return 1;
}

static int
parse_url(const pctx *c, const char *s, size_t n, csip_indicator *ind)
{
	const char *sep = g_strstr_len(s, (gssize)n, "://");
	const char *end = s + n, *auth, *aend, *host, *hend, *port = NULL;
	const char *path, *pend, *query = NULL, *qend;
	const scheme_info *si = NULL;
	GString *v = g_string_new(NULL), *hostbuf = g_string_new(NULL);
	GString *tail = g_string_new(NULL);
	char *scheme = NULL, *ahost = NULL, *uhost = NULL, *np = NULL;
	unsigned long portnum = 0;
	int rc = CSIP_OK;

	if (sep == NULL || sep == s) {
		char *sh = shown(c->in ? c->in : "", c->in_len);

		rc = fail(c, CSIP_EINVAL, "is not a valid URL: it needs a "
			  "scheme, as in http://%s", sh);
		g_free(sh);
		goto out;
	}
	scheme = g_ascii_strdown(s, sep - s);
	if (!g_ascii_isalpha(scheme[0]) || strlen(scheme) > 32) {
		rc = fail(c, CSIP_EINVAL, "is not a valid URL: the scheme must "
			  "start with a letter (http://, https://, ...)");
		goto out;
	}
	for (const char *q = scheme; *q; q++)
		if (!g_ascii_isalnum(*q) && *q != '+' && *q != '-' &&
		    *q != '.') {
			rc = fail(c, CSIP_EINVAL, "is not a valid URL: the "
				  "scheme \"%s\" has the character '%c'",
				  scheme, *q);
			goto out;
		}
	for (size_t i = 0; i < G_N_ELEMENTS(special); i++)
		if (strcmp(scheme, special[i].name) == 0)
			si = &special[i];

	auth = sep + 3;
	aend = auth;
	while (aend < end && *aend != '/' && *aend != '?' && *aend != '#')
		aend++;
	host = auth;
	for (const char *q = auth; q < aend; q++)
		if (*q == '@')
			host = q + 1;
	if (*host == '[') {
		hend = memchr(host, ']', aend - host);
		if (hend == NULL) {
			rc = fail(c, CSIP_EINVAL, "is not a valid URL: the "
				  "IPv6 address has no closing ']'");
			goto out;
		}
		hend++;
		if (hend < aend && *hend != ':') {
			rc = fail(c, CSIP_EINVAL, "is not a valid URL: "
				  "unexpected text after the IPv6 address");
			goto out;
		}
	} else {
		hend = aend;
		for (const char *q = host; q < aend; q++)
			if (*q == ':') {
				hend = q;
				break;
			}
	}
	if (hend < aend) {
		const char *ps = hend + 1;
		size_t pl = aend - ps;

		while (pl > 1 && *ps == '0')
			ps++, pl--;
		if (pl > 0) {
			uint32_t pv;

			if (!parse_u32(ps, pl, &pv) || pv > 65535) {
				rc = fail(c, CSIP_EINVAL, "is not a valid URL: "
					  "the port must be a number from 0 to "
					  "65535");
				goto out;
			}
			portnum = pv;
			port = ps;
		}
	}
	if (hend == host) {
		rc = fail(c, CSIP_EINVAL, "is not a valid URL: it has no host");
		goto out;
	}

	/* The host. */
	if (*host == '[') {
		uint8_t a[16];

		if ((rc = parse_v6(c, host + 1, hend - host - 2, a)) < 0)
			goto out;
		np = format_v6(a);
		ahost = g_strdup_printf("[%s]", np);
		uhost = g_strdup(ahost);
		ind->flags |= flags_v6(a, 128);
	} else {
		const char *last;
		size_t hl;

		if (!host_unescape(host, hend - host, hostbuf) ||
		    memchr(hostbuf->str, '\0', hostbuf->len) ||
		    !g_utf8_validate(hostbuf->str, hostbuf->len, NULL)) {
			rc = fail(c, CSIP_EINVAL, "is not a valid URL: the "
				  "host has a broken percent-escape");
			goto out;
		}
		hl = hostbuf->len;
		if (hl > 0 && hostbuf->str[hl - 1] == '.')
			hl--;
		last = hostbuf->str + hl;
		while (last > hostbuf->str && last[-1] != '.')
			last--;
		if (all_digits(last, hostbuf->str + hl - last)) {
			uint32_t a;

			if ((rc = parse_v4(c, hostbuf->str, hl, &a)) < 0)
				goto out;
			ahost = format_v4(a);
			uhost = g_strdup(ahost);
			ind->flags |= flags_v4(a, 32);
		} else {
			if ((rc = host_canon(c, hostbuf->str, hostbuf->len,
					     HOST_UNDERSCORE, &ahost, &uhost,
					     &ind->flags)) < 0)
				goto out;
			ind->registrable = registrable_of(c, ahost);
		}
	}

	/* Path, query; the fragment is dropped. */
	path = aend;
	pend = path;
	while (pend < end && *pend != '?' && *pend != '#')
		pend++;
	if (pend < end && *pend == '?') {
		query = pend + 1;
		qend = query;
		while (qend < end && *qend != '#')
			qend++;
	}
	if (path < pend) {
		GString *pn = g_string_new(NULL);
		char *clean;

		pct_normalise(pn, path, pend - path, ":@/");
		clean = remove_dot_segments(pn->str);
		g_string_append(tail, clean);
		g_free(clean);
		g_string_free(pn, TRUE);
	} else if (si) {
		g_string_append_c(tail, '/');
	}
	if (query) {
		g_string_append_c(tail, '?');
		pct_normalise(tail, query, qend - query, ":@/?");
	}

	g_string_append(v, scheme);
	g_string_append(v, "://");
	if (host > auth) {
		pct_normalise(v, auth, host - 1 - auth, ":");
		g_string_append_c(v, '@');
	}
	{
		size_t hpos = v->len;
		char portbuf[16] = "";

		if (port && !(si && portnum == si->port))
			g_snprintf(portbuf, sizeof(portbuf), ":%lu", portnum);
		g_string_append(v, ahost);
		g_string_append(v, portbuf);
		g_string_append(v, tail->str);
		if (v->len > MAX_URL) {
			rc = fail(c, CSIP_ETOOBIG, "is longer than %d bytes in "
				  "canonical form, the limit for a URL",
				  MAX_URL);
			goto out;
		}
		ind->display = g_strdup_printf("%.*s%s%s%s", (int)hpos, v->str,
					       uhost, portbuf, tail->str);
	}
	ind->type = CSIP_IND_URL;
	ind->value = g_string_free(v, FALSE);
	v = NULL;
out:
	if (v)
		g_string_free(v, TRUE);
	g_string_free(hostbuf, TRUE);
	g_string_free(tail, TRUE);
	g_free(scheme);
	g_free(ahost);
	g_free(uhost);
	g_free(np);
	return rc;
}

/* ------------------------------------------------------------------ */
/* E-mail addresses */

static int
atext(unsigned char ch)
{
	return g_ascii_isalnum(ch) ||
		(ch != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL);
}

static int
parse_email(const pctx *c, const char *s, size_t n, csip_indicator *ind)
{
	const char *at;
	char *local = NULL, *ascii = NULL, *uni = NULL;
	size_t ll;
	int rc = CSIP_OK;

	if (n > 7 && g_ascii_strncasecmp(s, "mailto:", 7) == 0)
		s += 7, n -= 7;
	at = NULL;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '@')
			at = s + i;
	if (at == NULL) {
		rc = fail(c, CSIP_EINVAL, "is not an e-mail address: it has no "
			  "'@'");
		goto out;
	}
	ll = at - s;
	if (ll == 0 || ll > 64) {
		rc = fail(c, CSIP_EINVAL, "is not a valid e-mail address: the "
			  "part before '@' must have 1 to 64 characters");
		goto out;
	}
	for (size_t i = 0; i < ll; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (atext(ch) || (ch == '.' && i > 0 && i + 1 < ll &&
				  s[i + 1] != '.'))
			continue;
		rc = fail(c, CSIP_EINVAL, "is not a supported e-mail address: "
			  "the part before '@' may have ASCII letters, digits, "
			  "!#$%%&'*+-/=?^_`{|}~ and single dots between them");
		goto out;
	}
	if (at + 1 < s + n && at[1] == '[') {
		rc = fail(c, CSIP_EINVAL, "is not a supported e-mail address: "
			  "address literals ([192.0.2.1]) are not taken; use "
			  "the IP address as an indicator");
		goto out;
	}
	if ((rc = host_canon(c, at + 1, s + n - at - 1, 0, &ascii, &uni,
			     &ind->flags)) < 0)
		goto out;
	if (strchr(ascii, '.') == NULL) {
		rc = fail(c, CSIP_EINVAL, "is not a valid e-mail address: the "
			  "domain after '@' needs at least one dot");
		goto out;
	}
	local = g_ascii_strdown(s, ll);
	ind->value = g_strconcat(local, "@", ascii, NULL);
	if (strlen(ind->value) > MAX_EMAIL) {
		rc = fail(c, CSIP_EINVAL, "is longer than %d characters, the "
			  "limit of an e-mail address", MAX_EMAIL);
		goto out;
	}
	ind->display = g_strconcat(local, "@", uni, NULL);
	ind->registrable = registrable_of(c, ascii);
	ind->type = CSIP_IND_EMAIL;
out:
	g_free(local);
	g_free(ascii);
	g_free(uni);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Hashes, ssdeep, AS numbers */

static csip_ind_type
hash_type_of_len(size_t n)
{
	switch (n) {
	case 32: return CSIP_IND_MD5;
	case 40: return CSIP_IND_SHA1;
	case 64: return CSIP_IND_SHA256;
	case 128: return CSIP_IND_SHA512;
	default: return CSIP_IND_UNKNOWN;
	}
}

static int
parse_hash(const pctx *c, const char *s, size_t n, csip_ind_type t,
	   csip_indicator *ind)
{
	static const size_t want[] = {
		[CSIP_IND_MD5] = 32, [CSIP_IND_SHA1] = 40,
		[CSIP_IND_SHA256] = 64, [CSIP_IND_SHA512] = 128,
	};

	if (!all_hex(s, n))
		return fail(c, CSIP_EINVAL, "is not a valid %s hash: it must "
			    "be hex digits only", csip_ind_type_name(t));
	if (n != want[t])
		return fail(c, CSIP_EINVAL, "is not a valid %s hash: it has "
			    "%zu hex digits, an %s hash has %zu",
			    csip_ind_type_name(t), n, csip_ind_type_name(t),
			    want[t]);
	ind->type = t;
	ind->value = g_ascii_strdown(s, n);
	return CSIP_OK;
}

static int
b64_char(char ch)
{
	return g_ascii_isalnum(ch) || ch == '+' || ch == '/';
}

/* The length of an ssdeep hash without the ,"file name" that ssdeep
 * prints after it. */
static size_t
ssdeep_len(const char *s, size_t n)
{
	const char *q = memchr(s, ',', n);

	if (q && q + 2 < s + n && q[1] == '"' && s[n - 1] == '"')
		return (size_t)(q - s);
	return n;
}

/* ssdeep: blocksize:hash1:hash2, block size 3 * 2^k, each hash at most 64
 * base64 characters.  DETECT is set when the type was not given: then the
 * hashes must look like hashes, so neither a time such as 12:34:56 nor an
 * IPv6 address such as 3::abcd is taken. */
static int
parse_ssdeep(const pctx *c, const char *s, size_t n, int detect,
	     csip_indicator *ind)
{
	const char *c1, *c2, *end;
	size_t bl, l1, l2;
	uint32_t bs;
	int digits_only = 1;

	n = ssdeep_len(s, n);
	c1 = memchr(s, ':', n);
	c2 = c1 ? memchr(c1 + 1, ':', s + n - c1 - 1) : NULL;
	if (c1 == NULL || c2 == NULL)
		return fail(c, CSIP_EINVAL, "is not an ssdeep hash "
			    "(blocksize:hash:hash)");
	end = s + n;
	bl = c1 - s;
	l1 = c2 - c1 - 1;
	l2 = end - c2 - 1;
	while (bl > 1 && *s == '0')
		s++, bl--;
	if (!parse_u32(s, bl, &bs) || bs < 3 || bs % 3 != 0 ||
	    (bs / 3 & (bs / 3 - 1)) != 0)
		return fail(c, CSIP_EINVAL, "is not a valid ssdeep hash: the "
			    "block size must be 3 times a power of two");
	for (const char *p = c1 + 1; p < end; p++) {
		if (p == c2)
			continue;
		if (!b64_char(*p))
			return fail(c, CSIP_EINVAL, "is not a valid ssdeep "
				    "hash: the hashes are base64 characters");
		if (!g_ascii_isdigit(*p))
			digits_only = 0;
	}
	if (l1 > 64 || l2 > 64)
		return fail(c, CSIP_EINVAL, "is not a valid ssdeep hash: each "
			    "hash has at most 64 characters");
	if (detect && (l1 == 0 || l1 + l2 < 6 || digits_only))
		return fail(c, CSIP_EINVAL, "is too short to be taken for an "
			    "ssdeep hash; give its type");
	ind->type = CSIP_IND_SSDEEP;
	ind->value = g_strdup_printf("%u:%.*s:%.*s", bs, (int)l1, c1 + 1,
				     (int)l2, c2 + 1);
	return CSIP_OK;
}

/* "AS64496", "as 64496", "ASN64496", asdot "AS1.10"; a bare number only
 * when REQUIRE_PREFIX is 0. */
static int
parse_asn(const pctx *c, const char *s, size_t n, int require_prefix,
	  csip_indicator *ind)
{
	const char *dot;
	uint32_t hi, lo, v;

	if (n >= 3 && g_ascii_strncasecmp(s, "asn", 3) == 0)
		s += 3, n -= 3;
	else if (n >= 2 && g_ascii_strncasecmp(s, "as", 2) == 0)
		s += 2, n -= 2;
	else if (require_prefix)
		return fail(c, CSIP_EINVAL, "is not an AS number (AS64496)");
	if (n > 0 && (*s == ' ' || *s == '-'))
		s++, n--;
	dot = memchr(s, '.', n);
	if (dot) {
		if (!parse_u32(s, dot - s, &hi) || hi > 65535 ||
		    !parse_u32(dot + 1, s + n - dot - 1, &lo) || lo > 65535)
			return fail(c, CSIP_EINVAL, "is not a valid AS number: "
				    "asdot notation has two numbers of "
				    "0-65535");
		v = hi << 16 | lo;
	} else if (!parse_u32(s, n, &v)) {
		return fail(c, CSIP_EINVAL, "is not a valid AS number: it must "
			    "be AS followed by a number from 0 to 4294967295");
	}
	ind->type = CSIP_IND_ASN;
	ind->value = g_strdup_printf("AS%u", v);
	return CSIP_OK;
}

static int
looks_like_asn(const char *s, size_t n)
{
	size_t i = 0;

	if (n >= 3 && g_ascii_strncasecmp(s, "asn", 3) == 0)
		i = 3;
	else if (n >= 2 && g_ascii_strncasecmp(s, "as", 2) == 0)
		i = 2;
	else
		return 0;
	if (i < n && (s[i] == ' ' || s[i] == '-'))
		i++;
	if (i >= n || !g_ascii_isdigit(s[i]))
		return 0;
	for (; i < n; i++)
		if (!g_ascii_isdigit(s[i]) && s[i] != '.')
			return 0;
	return 1;
}

static int
looks_like_ssdeep(const char *s, size_t n)
{
	int colons = 0;

	n = ssdeep_len(s, n);
	if (n == 0 || !g_ascii_isdigit(s[0]))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == ':')
			colons++;
		else if (!b64_char(s[i]))
			return 0;
	}
	return colons == 2;
}

/* ------------------------------------------------------------------ */
/* Registry keys and free text */

static const char *const hives[][2] = {
	{ "HKEY_LOCAL_MACHINE", "HKLM" },
	{ "HKEY_CURRENT_USER", "HKCU" },
	{ "HKEY_CLASSES_ROOT", "HKCR" },
	{ "HKEY_USERS", "HKU" },
	{ "HKEY_CURRENT_CONFIG", "HKCC" },
	{ "HKEY_PERFORMANCE_DATA", "HKPD" },
};

/* The hive S starts with: its index, with *skip the bytes of its name. */
static int
hive_of(const char *s, size_t n, size_t *skip)
{
	/* Every hive's name starts with "HK", and almost no indicator does. */
	if (n < 2 || g_ascii_tolower(s[0]) != 'h' ||
	    g_ascii_tolower(s[1]) != 'k')
		return -1;
	for (size_t i = 0; i < G_N_ELEMENTS(hives); i++)
		for (int k = 0; k < 2; k++) {
			size_t l = strlen(hives[i][k]);

			if (n < l || g_ascii_strncasecmp(s, hives[i][k], l))
				continue;
			/* "HKLM:\" is PowerShell; "hku://" is a URL. */
			if (n == l || s[l] == '\\' || s[l] == '/' ||
			    (s[l] == ':' && (n == l + 1 || s[l + 1] == '\\'))) {
				*skip = l;
				return (int)i;
			}
		}
	return -1;
}

static int
parse_regkey(const pctx *c, const char *s, size_t n, csip_indicator *ind)
{
	GString *o;
	size_t skip = 0;
	int h = hive_of(s, n, &skip);
	char sep;

	if (h < 0)
		return fail(c, CSIP_EINVAL, "is not a registry key: it must "
			    "start with a hive (HKEY_LOCAL_MACHINE, HKLM, "
			    "HKCU, ...)");
	if (has_control(s, n))
		return fail(c, CSIP_EINVAL, "is not a valid registry key: it "
			    "contains a control character");
	s += skip;
	n -= skip;
	if (n > 0 && *s == ':')  /* PowerShell: HKLM:\Software */
		s++, n--;
	/* Forward slashes separate only when no backslash does, since '/'
	 * is legal inside a key name. */
	sep = memchr(s, '\\', n) ? '\\' : '/';
	o = g_string_new(hives[h][0]);
	for (size_t i = 0; i < n;) {
		size_t st;

		while (i < n && s[i] == sep)
			i++;
		st = i;
		while (i < n && s[i] != sep)
			i++;
		if (i > st) {
			g_string_append_c(o, '\\');
			g_string_append_len(o, s + st, i - st);
		}
	}
	/* What ends the key is trimmed on the way in, so it must not end
	 * the canonical form either: "HKLM\a\ \" is HKLM\a. */
	for (;;) {
		const char *last = g_utf8_find_prev_char(o->str,
							 o->str + o->len);

		if (last == NULL || (*last != '\\' &&
		    !g_unichar_isspace(g_utf8_get_char(last))))
			break;
		g_string_truncate(o, last - o->str);
	}
	/* Capped in canonical form, which the full hive name lengthens. */
	if (o->len > MAX_TEXT) {
		g_string_free(o, TRUE);
		return fail(c, CSIP_ETOOBIG, "is longer than %d bytes in "
			    "canonical form, the limit for a registry key",
			    MAX_TEXT);
	}
	ind->type = CSIP_IND_REGKEY;
	ind->value = g_string_free(o, FALSE);
	return CSIP_OK;
}

static int
parse_text(const pctx *c, const char *s, size_t n, csip_ind_type t,
	   csip_indicator *ind)
{
	if (n > MAX_TEXT)
		return fail(c, CSIP_ETOOBIG, "is longer than %d bytes, the "
			    "limit for a %s", MAX_TEXT, csip_ind_type_name(t));
	if (has_control(s, n))
		return fail(c, CSIP_EINVAL, "is not a valid %s: it contains a "
			    "control character (tab, line break, ...)",
			    csip_ind_type_name(t));
	ind->type = t;
	ind->value = g_strndup(s, n);
	return CSIP_OK;
}

/* ------------------------------------------------------------------ */
/* Detection and the entry points */

static int
is_free_text(csip_ind_type t)
{
	return t == CSIP_IND_FILENAME || t == CSIP_IND_MUTEX ||
		t == CSIP_IND_USER_AGENT || t == CSIP_IND_EMAIL_SUBJECT ||
		t == CSIP_IND_X_MAILER;
}

static int
parse_as(const pctx *c, const char *s, size_t n, csip_ind_type t,
	 csip_indicator *ind)
{
	switch (t) {
	case CSIP_IND_IPV4:
		return parse_ipv4_ind(c, s, n, ind);
	case CSIP_IND_IPV6:
		return parse_ipv6_ind(c, s, n, ind);
	case CSIP_IND_CIDR4:
		return parse_cidr(c, s, n, 4, ind);
	case CSIP_IND_CIDR6:
		return parse_cidr(c, s, n, 6, ind);
	case CSIP_IND_DOMAIN:
	case CSIP_IND_HOSTNAME:
		return parse_name(c, s, n, t, ind);
	case CSIP_IND_URL:
		return parse_url(c, s, n, ind);
	case CSIP_IND_EMAIL:
		return parse_email(c, s, n, ind);
	case CSIP_IND_MD5:
	case CSIP_IND_SHA1:
	case CSIP_IND_SHA256:
	case CSIP_IND_SHA512:
		return parse_hash(c, s, n, t, ind);
	case CSIP_IND_SSDEEP:
		return parse_ssdeep(c, s, n, 0, ind);
	case CSIP_IND_ASN:
		return parse_asn(c, s, n, 0, ind);
	default:
		return fail(c, CSIP_EINVAL, "cannot be parsed as type %d",
			    (int)t);
	}
}

/* Detection, most specific shape first. */
static int
detect(const pctx *c, const char *s, size_t n, csip_indicator *ind)
{
	const char *last;
	size_t hn = n;

	if (g_strstr_len(s, (gssize)n, "://"))
		return parse_url(c, s, n, ind);
	if (looks_like_asn(s, n))
		return parse_asn(c, s, n, 1, ind);
	if (all_hex(s, n) && hash_type_of_len(n) != CSIP_IND_UNKNOWN)
		return parse_hash(c, s, n, hash_type_of_len(n), ind);
	if (all_hex(s, n) && n >= 24)
		return fail(c, CSIP_EINVAL, "looks like a hash but has %zu hex "
			    "digits; MD5 has 32, SHA-1 40, SHA-256 64, SHA-512 "
			    "128", n);
	if (looks_like_ssdeep(s, n) && parse_ssdeep(c, s, n, 1, ind) == 0)
		return CSIP_OK;
	for (size_t i = 0; i < n; i++)
		if (g_ascii_isspace(s[i]))
			return fail(c, CSIP_EINVAL, "is not a recognised "
				    "indicator; if it is free text (a file "
				    "name, mutex, user agent, subject or "
				    "X-Mailer) give its type");
	if (memchr(s, '@', n))
		return parse_email(c, s, n, ind);
	if (memchr(s, '/', n)) {
		const char *slash = memchr(s, '/', n);
		int ipish = memchr(s, ':', slash - s) != NULL;

		if (!ipish) {
			ipish = slash > s;
			for (const char *p = s; p < slash; p++)
				if (!g_ascii_isdigit(*p) && *p != '.')
					ipish = 0;
		}
		if (ipish)
			return parse_cidr(c, s, n, 0, ind);
		return fail(c, CSIP_EINVAL, "is not a recognised indicator: it "
			    "has a '/' but is neither a network (a.b.c.d/len) "
			    "nor a URL with a scheme (http://...)");
	}
	if (memchr(s, ':', n)) {
		const char *c1 = memchr(s, ':', n);

		if (memchr(s, '.', n) && memchr(c1 + 1, ':', s + n - c1 - 1)
		    == NULL && s[0] != '[')
			return fail(c, CSIP_EINVAL, "is not a recognised "
				    "indicator: an address or name with a port "
				    "is not one; drop the \":port\" or write a "
				    "URL");
		return parse_ipv6_ind(c, s, n, ind);
	}
	/* A name whose last label is numeric is an IPv4 address or nothing:
	 * no top-level domain is all digits. */
	if (hn > 0 && s[hn - 1] == '.')
		hn--;
	last = s + hn;
	while (last > s && last[-1] != '.')
		last--;
	if (all_digits(last, s + hn - last) && memchr(s, '.', n))
		return parse_ipv4_ind(c, s, n, ind);
	return parse_name(c, s, n, CSIP_IND_UNKNOWN, ind);
}

static void
clear_ind(csip_indicator *ind)
{
	g_free(ind->value);
	g_free(ind->display);
	g_free(ind->registrable);
	memset(ind, 0, sizeof(*ind));
}

/* csip_indicator_parse(), and csip_indicator_try() with QUIET.  Only
 * fail() tells the two apart, and it changes nothing but the message. */
static int
parse_indicator(const char *text, size_t len, csip_ind_type hint, int quiet,
		csip_indicator **out)
{
	csip_indicator ind = { 0 };
	pctx c = { 0 };
	const char *s = text;
	size_t n = len, skip;
	char *r = NULL, *again = NULL;
	int rc = CSIP_OK, fanged = 0;

	*out = NULL;
	c.quiet = quiet;
	if (text == NULL)
		s = "", n = 0;
	pctx_input(&c, s, n);
	if (n > MAX_IND_INPUT) {
		rc = fail(&c, CSIP_ETOOBIG, "is longer than %d bytes, the "
			  "limit for an indicator", MAX_IND_INPUT);
		goto out;
	}
	if (memchr(s, '\0', n)) {
		rc = fail(&c, CSIP_EINVAL, "contains a NUL byte");
		goto out;
	}
	if (!g_utf8_validate(s, (gssize)n, NULL)) {
		rc = fail(&c, CSIP_EINVAL, "is not valid UTF-8");
		goto out;
	}
	if ((int)hint < 0 || hint >= CSIP_IND__COUNT) {
		rc = fail(&c, CSIP_EINVAL, "cannot be parsed: unknown "
			  "indicator type %d", (int)hint);
		goto out;
	}
	trim_utf8(&s, &n);
	pctx_input(&c, s, n);
	if (n == 0) {
		rc = fail(&c, CSIP_EINVAL, "is empty; expected an indicator");
		goto out;
	}
	if (is_free_text(hint)) {
		rc = parse_text(&c, s, n, hint, &ind);
		goto out;
	}
	if (hint == CSIP_IND_REGKEY ||
	    (hint == CSIP_IND_UNKNOWN && hive_of(s, n, &skip) >= 0)) {
		rc = parse_regkey(&c, s, n, &ind);
		goto out;
	}
	/* Checked once here, so the parsers may quote pieces of the input
	 * in their messages without escaping them. */
	if (has_control(s, n)) {
		rc = fail(&c, CSIP_EINVAL, "is not a valid indicator: it "
			  "contains a control character");
		goto out;
	}
	r = csip_refang(s, n);
	fanged = strlen(r) != n || memcmp(r, s, n) != 0;
	if (hint == CSIP_IND_UNKNOWN)
		rc = detect(&c, r, strlen(r), &ind);
	else
		rc = parse_as(&c, r, strlen(r), hint, &ind);
	if (rc < 0)
		goto out;
	/* A value that would still look defanged could not be parsed back
	 * to itself (http://x/hxx%70://y decodes to ...hxxp://y). */
	again = csip_refang(ind.value, strlen(ind.value));
	if (strcmp(again, ind.value) != 0) {
		rc = fail(&c, CSIP_EINVAL, "is ambiguous: its canonical form "
			  "\"%s\" still contains a defanged pattern",
			  ind.value);
		goto out;
	}
	if (fanged)
		ind.flags |= CSIP_IND_F_REFANGED;
out:
	if (rc < 0) {
		clear_ind(&ind);
	} else {
		if (ind.display == NULL)
			ind.display = g_strdup(ind.value);
		*out = g_memdup2(&ind, sizeof(ind));
	}
	g_free(r);
	g_free(again);
	return rc;
}

int
csip_indicator_parse(const char *text, size_t len, csip_ind_type hint,
		     csip_indicator **out)
{
	return parse_indicator(text, len, hint, 0, out);
}

int
csip_indicator_try(const char *text, size_t len, csip_ind_type hint,
		   csip_indicator **out)
{
	int rc = parse_indicator(text, len, hint, 1, out);

	if (rc < 0)
		csip_error_clear();
	return rc;
}

void
csip_indicator_free(csip_indicator *ind)
{
	if (ind == NULL)
		return;
	clear_ind(ind);
	g_free(ind);
}

csip_indicator *
csip_indicator_dup(const csip_indicator *ind)
{
	csip_indicator *d = g_new0(csip_indicator, 1);

	d->type = ind->type;
	d->value = g_strdup(ind->value);
	d->display = g_strdup(ind->display);
	d->registrable = g_strdup(ind->registrable);
	d->flags = ind->flags;
	return d;
}

int
csip_cidr_canonical(const char *text, char **out)
{
	csip_indicator ind = { 0 };
	pctx c = { 0 };
	const char *s = text ? text : "";
	size_t n = strlen(s);
	int rc;

	*out = NULL;
	pctx_input(&c, s, n);
	trim_utf8(&s, &n);
	if (n == 0)
		rc = fail(&c, CSIP_EINVAL, "is not a network: it is empty");
	else if (!g_utf8_validate(s, (gssize)n, NULL))
		rc = fail(&c, CSIP_EINVAL, "is not valid UTF-8");
	else if (has_control(s, n))
		rc = fail(&c, CSIP_EINVAL, "is not a network: it contains a "
			  "control character");
	else
		rc = parse_cidr(&c, s, n, 0, &ind);
	if (rc == CSIP_OK) {
		*out = ind.value;
		ind.value = NULL;
	}
	clear_ind(&ind);
	return rc;
}

int
csip_domain_canonical(const char *text, char **out)
{
	pctx c = { 0 };
	const char *s = text ? text : "";
	size_t n = strlen(s);
	char *ascii = NULL, *uni = NULL;
	unsigned flags = 0;
	int rc;

	*out = NULL;
	pctx_input(&c, s, n);
	trim_utf8(&s, &n);
	if (!g_utf8_validate(s, (gssize)n, NULL)) {
		rc = fail(&c, CSIP_EINVAL, "is not valid UTF-8");
		goto out;
	}
	if (has_control(s, n)) {
		rc = fail(&c, CSIP_EINVAL, "is not a valid host name: it "
			  "contains a control character");
		goto out;
	}
	if ((rc = host_canon(&c, s, n, 0, &ascii, &uni, &flags)) < 0)
		goto out;
	if (strchr(ascii, '.') == NULL) {
		rc = fail(&c, CSIP_EINVAL, "is not a mail domain: it needs at "
			  "least one dot (example.co.jp)");
		goto out;
	}
	/* An organisation owning "co.jp" would own every sender below it. */
	if (psl_is_public_suffix2(psl_ctx(), ascii, PSL_TYPE_ICANN |
				  PSL_TYPE_NO_STAR_RULE)) {
		rc = fail(&c, CSIP_EINVAL, "is a public suffix, not an "
			  "organisation's domain; give the registered name "
			  "(example.co.jp)");
		goto out;
	}
	*out = ascii;
	ascii = NULL;
out:
	g_free(ascii);
	g_free(uni);
	return rc;
}
