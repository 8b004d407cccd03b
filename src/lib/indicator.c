/*
 * indicator.c - the indicator model (see indicator.h).
 *
 * Parsing runs in three steps: refang the text, decide the type (the hint,
 * or detection in a fixed order from the most to the least distinctive
 * shape), then validate and canonicalise with the rules of that type.  The
 * canonical form is what every other part of csip compares, so each rule
 * here is a promise: same thing in, same bytes out, and canonical in,
 * canonical out.
 */
#include "lib/indicator.h"
#include "util/error.h"

#include <arpa/inet.h>
#include <glib.h>
#include <idn2.h>
#include <libpsl.h>
#include <stdlib.h>
#include <string.h>

#define IND_MAX_INPUT 8192
#define MAX_URL 4096
#define MAX_TEXT 1024
#define MAX_NAME 253

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
	if ((int)t <= 0 || t >= CSIP_IND__COUNT)
		return "unknown";
	return type_names[t];
}

csip_ind_type
csip_ind_type_from_name(const char *name)
{
	for (int t = 1; name && t < CSIP_IND__COUNT; t++)
		if (g_ascii_strcasecmp(name, type_names[t]) == 0)
			return (csip_ind_type)t;
	return CSIP_IND_UNKNOWN;
}

void
csip_indicator_free(csip_indicator *ind)
{
	if (ind == NULL)
		return;
	g_free(ind->value);
	g_free(ind->display);
	g_free(ind->registrable);
	g_free(ind);
}

/* ---- refang / defang ------------------------------------------------- */

/* Defanged spellings, longest first within a family; matched without
 * regard to case. */
static const struct { const char *from, *to; } fangs[] = {
	{ "hxxps", "https" }, { "hxxp", "http" }, { "hXXps", "https" },
	{ "h**ps", "https" }, { "h**p", "http" }, { "h__ps", "https" },
	{ "h__p", "http" }, { "fxp", "ftp" }, { "meow://", "http://" },
	{ "[://]", "://" }, { "[:]//", "://" }, { "(://)", "://" },
	{ "[:]", ":" }, { "[/]", "/" },
	{ "[.]", "." }, { "(.)", "." }, { "{.}", "." }, { "[dot]", "." },
	{ "(dot)", "." }, { "{dot}", "." }, { "\\.", "." },
	{ "[@]", "@" }, { "(@)", "@" }, { "{@}", "@" }, { "[at]", "@" },
	{ "(at)", "@" }, { "{at}", "@" },
};

char *
csip_refang(const char *text, size_t len)
{
	GString *out = g_string_sized_new(len + 1);
	size_t i = 0;

	while (i < len) {
		size_t k;

		for (k = 0; k < G_N_ELEMENTS(fangs); k++) {
			size_t fl = strlen(fangs[k].from);

			if (fl <= len - i &&
			    g_ascii_strncasecmp(text + i, fangs[k].from, fl) ==
			    0) {
				/* "fxp" only as a scheme: fxp:// */
				if (strcmp(fangs[k].from, "fxp") == 0 &&
				    (len - i < 6 ||
				     memcmp(text + i + 3, "://", 3) != 0))
					continue;
				/* Scheme spellings only at a word start:
				 * "%FFxp://" is a percent-escape, not fxp. */
				if (g_ascii_isalpha(fangs[k].from[0]) &&
				    i > 0 && g_ascii_isalnum(text[i - 1]))
					continue;
				g_string_append(out, fangs[k].to);
				i += fl;
				break;
			}
		}
		if (k == G_N_ELEMENTS(fangs))
			g_string_append_c(out, text[i++]);
	}
	return g_string_free(out, FALSE);
}

char *
csip_defang(csip_ind_type t, const char *value)
{
	GString *s;
	const char *p, *host_end = NULL;
	int last_dot_only = 0;

	switch (t) {
	case CSIP_IND_URL:
	case CSIP_IND_DOMAIN:
	case CSIP_IND_HOSTNAME:
	case CSIP_IND_EMAIL:
	case CSIP_IND_IPV4:
	case CSIP_IND_CIDR4:
		break;
	default:
		return g_strdup(value);
	}
	s = g_string_new(NULL);
	p = value;
	if (t == CSIP_IND_URL) {
		const char *sep = strstr(value, "://");

		if (sep) {
			if (g_ascii_strncasecmp(value, "http", 4) == 0) {
				g_string_append(s, "hxxp");
				p = value + 4;
			}
			g_string_append_len(s, p, sep + 3 - p);
			p = sep + 3;
			host_end = p + strcspn(p, "/?#");
		}
	}
	if (t == CSIP_IND_IPV4 || t == CSIP_IND_CIDR4)
		last_dot_only = 1;
	for (const char *last = strrchr(value, '.'); *p; p++) {
		if (host_end && p >= host_end) {
			g_string_append(s, p);
			break;
		}
		if (*p == '.' && (!last_dot_only || p == last))
			g_string_append(s, "[.]");
		else if (*p == '@')
			g_string_append(s, "[@]");
		else
			g_string_append_c(s, *p);
	}
	return g_string_free(s, FALSE);
}

/* ---- helpers --------------------------------------------------------- */

static const psl_ctx_t *
psl(void)
{
	return psl_builtin();
}

static csip_indicator *
ind_new(csip_ind_type t, char *value, char *display, char *reg,
	unsigned flags)
{
	csip_indicator *ind = g_new0(csip_indicator, 1);

	ind->type = t;
	ind->value = value;
	ind->display = display ? display : g_strdup(value);
	ind->registrable = reg;
	ind->flags = flags;
	return ind;
}

static int
all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_isxdigit(s[i]))
			return 0;
	return 1;
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

/* ---- addresses ------------------------------------------------------- */

typedef struct range4 { uint32_t net; int bits; unsigned flag; } range4;

static const range4 ranges4[] = {
	{ 0x00000000, 8, CSIP_IND_F_RESERVED },   /* 0/8 */
	{ 0x0a000000, 8, CSIP_IND_F_PRIVATE },    /* 10/8 */
	{ 0x64400000, 10, CSIP_IND_F_PRIVATE },   /* 100.64/10 CGNAT */
	{ 0x7f000000, 8, CSIP_IND_F_LOOPBACK },   /* 127/8 */
	{ 0xa9fe0000, 16, CSIP_IND_F_LINKLOCAL }, /* 169.254/16 */
	{ 0xac100000, 12, CSIP_IND_F_PRIVATE },   /* 172.16/12 */
	{ 0xc0000000, 24, CSIP_IND_F_RESERVED },  /* 192.0.0/24 */
	{ 0xc0000200, 24, CSIP_IND_F_RESERVED },  /* 192.0.2/24 TEST-NET-1 */
	{ 0xc0a80000, 16, CSIP_IND_F_PRIVATE },   /* 192.168/16 */
	{ 0xc6120000, 15, CSIP_IND_F_RESERVED },  /* 198.18/15 */
	{ 0xc6336400, 24, CSIP_IND_F_RESERVED },  /* 198.51.100/24 */
	{ 0xcb007100, 24, CSIP_IND_F_RESERVED },  /* 203.0.113/24 */
	{ 0xe0000000, 4, CSIP_IND_F_RESERVED },   /* 224/4 multicast */
	{ 0xf0000000, 4, CSIP_IND_F_RESERVED },   /* 240/4, broadcast */
};

static unsigned
flags4(uint32_t a, int bits)
{
	unsigned f = 0;

	for (size_t i = 0; i < G_N_ELEMENTS(ranges4); i++) {
		uint32_t mask = ranges4[i].bits ? 0xffffffffu <<
			(32 - ranges4[i].bits) : 0;

		if (bits >= ranges4[i].bits && (a & mask) == ranges4[i].net)
			f |= ranges4[i].flag;
	}
	return f;
}

typedef struct range6 { uint8_t net[16]; int bits; unsigned flag; } range6;

static const range6 ranges6[] = {
	{ { 0 }, 128, CSIP_IND_F_RESERVED },                   /* :: */
	{ { [15] = 1 }, 128, CSIP_IND_F_LOOPBACK },            /* ::1 */
	{ { 0xfe, 0x80 }, 10, CSIP_IND_F_LINKLOCAL },          /* fe80::/10 */
	{ { 0xfc }, 7, CSIP_IND_F_PRIVATE },                   /* fc00::/7 */
	{ { 0x20, 0x01, 0x0d, 0xb8 }, 32, CSIP_IND_F_RESERVED }, /* doc */
	{ { 0xff }, 8, CSIP_IND_F_RESERVED },                  /* multicast */
	{ { 0x01 }, 64, CSIP_IND_F_RESERVED },                 /* 100::/64 */
};

static int
prefix_match(const uint8_t *a, const uint8_t *net, int bits)
{
	int full = bits / 8, rem = bits % 8;

	if (memcmp(a, net, (size_t)full) != 0)
		return 0;
	if (rem == 0)
		return 1;
	return ((a[full] ^ net[full]) & (0xff << (8 - rem))) == 0;
}

static unsigned
flags6(const uint8_t *a, int bits)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	unsigned f = 0;

	for (size_t i = 0; i < G_N_ELEMENTS(ranges6); i++)
		if (bits >= ranges6[i].bits &&
		    prefix_match(a, ranges6[i].net, ranges6[i].bits))
			f |= ranges6[i].flag;
	/* IPv4-mapped: judge the IPv4 address inside. */
	if (bits >= 96 && memcmp(a, mapped, 12) == 0)
		f |= flags4((uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 |
			    (uint32_t)a[14] << 8 | a[15], bits - 96);
	return f;
}

/* Strict dotted quad: four decimal parts 0-255, no leading zeros (010 is
 * octal to some parsers and decimal to others: refuse to guess).
 * Returns 1 valid, 0 not a quad at all, -1 quad-shaped but invalid. */
static int
parse_quad(const char *s, size_t n, uint32_t *out)
{
	uint32_t a = 0;
	int parts = 0;
	size_t i = 0;

	if (n == 0 || n > 15)
		return 0;
	for (size_t k = 0; k < n; k++)
		if (!g_ascii_isdigit(s[k]) && s[k] != '.')
			return 0;
	while (i <= n && parts < 5) {
		size_t st = i;
		unsigned v = 0;

		while (i < n && g_ascii_isdigit(s[i])) {
			v = v * 10 + (unsigned)(s[i] - '0');
			if (v > 999)
				return -1;
			i++;
		}
		if (i == st)
			return parts == 3 || parts == 0 ? (parts ? -1 : 0) : -1;
		if (v > 255 || (i - st > 1 && s[st] == '0'))
			return -1;
		a = a << 8 | v;
		parts++;
		if (i == n)
			break;
		if (s[i] != '.')
			return -1;
		i++;
		if (i == n)
			return -1;
	}
	if (parts != 4)
		return parts == 3 || parts > 4 ? -1 : 0;
	*out = a;
	return 1;
}

static int
parse_ipv4(const char *s, size_t n, csip_indicator **out)
{
	uint32_t a;
	int q = parse_quad(s, n, &a);
	char buf[16];

	if (q <= 0)
		return csip_error_set(CSIP_EINVAL, "\"%.*s\" is not a valid "
			"IPv4 address (four numbers 0-255, no leading zeros)",
			(int)n, s);
	g_snprintf(buf, sizeof buf, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff,
		   (a >> 8) & 0xff, a & 0xff);
	*out = ind_new(CSIP_IND_IPV4, g_strdup(buf), NULL, NULL, flags4(a, 32));
	return CSIP_OK;
}

static int
parse_ipv6_bytes(const char *s, size_t n, uint8_t a[16])
{
	char buf[64];

	if (n == 0 || n >= sizeof buf)
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (buf[0] == '[' && buf[n - 1] == ']') {
		memmove(buf, buf + 1, n - 2);
		buf[n - 2] = '\0';
	}
	return inet_pton(AF_INET6, buf, a) == 1;
}

static int
parse_ipv6(const char *s, size_t n, csip_indicator **out)
{
	uint8_t a[16];
	char buf[INET6_ADDRSTRLEN];

	if (!parse_ipv6_bytes(s, n, a))
		return csip_error_set(CSIP_EINVAL, "\"%.*s\" is not a valid "
			"IPv6 address", (int)n, s);
	inet_ntop(AF_INET6, a, buf, sizeof buf);
	*out = ind_new(CSIP_IND_IPV6, g_strdup(buf), NULL, NULL,
		       flags6(a, 128));
	return CSIP_OK;
}

/* "addr/bits"; a bare address is a host route when BARE_OK. */
static int
parse_cidr(const char *s, size_t n, int bare_ok, csip_ind_type want,
	   csip_indicator **out)
{
	const char *slash = memchr(s, '/', n);
	size_t alen = slash ? (size_t)(slash - s) : n;
	int bits = -1, v6;
	char buf[64];

	if (slash) {
		size_t bl = n - alen - 1;

		if (!all_digits(slash + 1, bl) || bl > 3)
			goto bad;
		bits = atoi(slash + 1);
		if (bl > 1 && slash[1] == '0')
			goto bad;
	} else if (!bare_ok) {
		goto bad;
	}
	v6 = memchr(s, ':', alen) != NULL;
	if ((want == CSIP_IND_CIDR4 && v6) || (want == CSIP_IND_CIDR6 && !v6))
		goto bad;
	if (!v6) {
		uint32_t a, mask;

		if (parse_quad(s, alen, &a) != 1)
			goto bad;
		if (bits < 0)
			bits = 32;
		if (bits > 32)
			goto bad;
		mask = bits ? 0xffffffffu << (32 - bits) : 0;
		a &= mask;
		g_snprintf(buf, sizeof buf, "%u.%u.%u.%u/%d", a >> 24,
			   (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff, bits);
		*out = ind_new(CSIP_IND_CIDR4, g_strdup(buf), NULL, NULL,
			       flags4(a, bits));
	} else {
		uint8_t a[16];
		char ab[INET6_ADDRSTRLEN];

		if (!parse_ipv6_bytes(s, alen, a))
			goto bad;
		if (bits < 0)
			bits = 128;
		if (bits > 128)
			goto bad;
		for (int i = 0; i < 16; i++) {
			int keep = bits - 8 * i;

			if (keep <= 0)
				a[i] = 0;
			else if (keep < 8)
				a[i] &= (uint8_t)(0xff << (8 - keep));
		}
		inet_ntop(AF_INET6, a, ab, sizeof ab);
		g_snprintf(buf, sizeof buf, "%s/%d", ab, bits);
		*out = ind_new(CSIP_IND_CIDR6, g_strdup(buf), NULL, NULL,
			       flags6(a, bits));
	}
	return CSIP_OK;
bad:
	return csip_error_set(CSIP_EINVAL, "\"%.*s\" is not a valid network: "
		"use ADDRESS/BITS, e.g. 192.0.2.0/24 or 2001:db8::/32",
		(int)n, s);
}

/* ---- host names ------------------------------------------------------ */

/* Lower-case, punycode, no trailing dot, valid labels.  *ascii and
 * *display are new strings.  ALLOW_SINGLE admits a name without a dot. */
static int
canon_name(const char *s, size_t n, int allow_single, char **ascii,
	   char **display, unsigned *flags)
{
	char *in = g_strndup(s, n), *a = NULL, *u = NULL;
	int rc = CSIP_OK, non_ascii = 0;
	size_t len;

	*ascii = *display = NULL;
	len = strlen(in);
	if (len != n)
		goto bad;
	if (len > 0 && in[len - 1] == '.')
		in[--len] = '\0';
	if (len == 0 || len > 1024)
		goto bad;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)in[i] >= 0x80)
			non_ascii = 1;
	if (non_ascii) {
		if (!g_utf8_validate(in, -1, NULL))
			goto bad;
		if (idn2_to_ascii_8z(in, &a, IDN2_NONTRANSITIONAL |
				     IDN2_NFC_INPUT) != IDN2_OK &&
		    idn2_to_ascii_8z(in, &a, IDN2_TRANSITIONAL |
				     IDN2_NFC_INPUT) != IDN2_OK) {
			rc = csip_error_set(CSIP_EINVAL, "\"%s\" is not a valid "
				"internationalised domain name", in);
			goto out;
		}
		*flags |= CSIP_IND_F_IDN;
		{
			char *t = g_ascii_strdown(a, -1);

			free(a);
			a = t;
		}
	} else {
		a = g_ascii_strdown(in, -1);
	}
	/* Validate the ASCII form label by label. */
	len = strlen(a);
	if (len == 0 || len > MAX_NAME || a[len - 1] == '.')
		goto bad_a;
	{
		const char *p = a;
		int labels = 0;

		while (*p) {
			const char *e = strchr(p, '.');
			size_t ll = e ? (size_t)(e - p) : strlen(p);

			if (ll == 0 || ll > 63 || p[0] == '-' || p[ll - 1] == '-')
				goto bad_a;
			for (size_t i = 0; i < ll; i++)
				if (!g_ascii_isalnum(p[i]) && p[i] != '-' &&
				    p[i] != '_')
					goto bad_a;
			if (ll >= 4 && memcmp(p, "xn--", 4) == 0)
				*flags |= CSIP_IND_F_IDN;
			labels++;
			if (!e)
				break;
			p = e + 1;
		}
		if (labels < 2 && !allow_single)
			goto bad_a;
		/* The top label is never all digits: that is an address. */
		{
			const char *tld = strrchr(a, '.');

			tld = tld ? tld + 1 : a;
			if (all_digits(tld, strlen(tld)) || strchr(tld, '_'))
				goto bad_a;
		}
	}
	if (*flags & CSIP_IND_F_IDN) {
		if (idn2_to_unicode_8z8z(a, &u, 0) != IDN2_OK) {
			rc = csip_error_set(CSIP_EINVAL, "\"%s\" has an invalid "
				"punycode label", a);
			goto out;
		}
		*display = g_strdup(u);
		free(u);
	} else {
		*display = g_strdup(a);
	}
	*ascii = a;
	a = NULL;
	goto out;
bad_a:
	rc = csip_error_set(CSIP_EINVAL, "\"%s\" is not a valid host name "
		"(labels of letters, digits and '-', at most 63 characters "
		"each and 253 in all%s)", in, allow_single ? "" :
		", with at least one dot");
	goto out;
bad:
	rc = csip_error_set(CSIP_EINVAL, "\"%.*s\" is not a valid host name",
			    (int)MIN(n, 200), s);
out:
	g_free(a);
	g_free(in);
	return rc;
}

static int
parse_name(const char *s, size_t n, csip_ind_type hint, csip_indicator **out)
{
	char *ascii = NULL, *display = NULL;
	const char *reg;
	unsigned flags = 0;
	csip_ind_type t;
	int rc;

	if ((rc = canon_name(s, n, hint != CSIP_IND_UNKNOWN, &ascii, &display,
			     &flags)) < 0)
		return rc;
	reg = psl_registrable_domain(psl(), ascii);
	if (reg == NULL || psl_is_public_suffix(psl(), ascii)) {
		if (hint == CSIP_IND_UNKNOWN) {
			rc = csip_error_set(CSIP_EINVAL, "\"%s\" is a public "
				"suffix (like com or co.jp), not a name anyone "
				"registered", ascii);
			g_free(ascii);
			g_free(display);
			return rc;
		}
		flags |= CSIP_IND_F_PUBLIC_SUFFIX;
		reg = NULL;
	}
	if (hint == CSIP_IND_DOMAIN || hint == CSIP_IND_HOSTNAME)
		t = hint;
	else
		t = reg && strcmp(reg, ascii) == 0 ? CSIP_IND_DOMAIN
			: CSIP_IND_HOSTNAME;
	*out = ind_new(t, ascii, display, reg ? g_strdup(reg) : NULL, flags);
	return CSIP_OK;
}

int
csip_domain_canonical(const char *text, char **out)
{
	char *display = NULL;
	unsigned flags = 0;
	size_t n = text ? strlen(text) : 0;
	int rc;

	*out = NULL;
	while (n && g_ascii_isspace(text[n - 1]))
		n--;
	while (n && g_ascii_isspace(*text))
		text++, n--;
	rc = canon_name(text ? text : "", n, 0, out, &display, &flags);
	g_free(display);
	return rc;
}

int
csip_cidr_canonical(const char *text, char **out)
{
	csip_indicator *ind = NULL;
	size_t n = text ? strlen(text) : 0;
	int rc;

	*out = NULL;
	rc = parse_cidr(text ? text : "", n, 1, CSIP_IND_UNKNOWN, &ind);
	if (rc < 0)
		return rc;
	*out = ind->value;
	ind->value = NULL;
	csip_indicator_free(ind);
	return CSIP_OK;
}

/* ---- URLs ------------------------------------------------------------ */

static int
unreserved(unsigned char c)
{
	return g_ascii_isalnum(c) || c == '-' || c == '.' || c == '_' ||
		c == '~';
}

/* Characters kept as they are in a path or query (RFC 3986 pchar, '/',
 * '?', and sub-delims). */
static int
keep_char(unsigned char c)
{
	return unreserved(c) || strchr("!$&'()*+,;=:@/?", c) != NULL;
}

static int
keep_userinfo(unsigned char c)
{
	return unreserved(c) || strchr("!$&'()*+,;=:", c) != NULL;
}

/* Percent-encoding normalised: escapes of unreserved characters decoded,
 * other escapes in upper case, and every byte KEEP rejects escaped. */
static void
append_encoded(GString *out, const char *p, size_t n,
	       int (*keep)(unsigned char))
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '%' && i + 2 < n && g_ascii_isxdigit(p[i + 1]) &&
		    g_ascii_isxdigit(p[i + 2])) {
			unsigned char v = (unsigned char)(
				g_ascii_xdigit_value(p[i + 1]) * 16 +
				g_ascii_xdigit_value(p[i + 2]));

			if (unreserved(v)) {
				g_string_append_c(out, (char)v);
			} else {
				g_string_append_c(out, '%');
				g_string_append_c(out, hex[v >> 4]);
				g_string_append_c(out, hex[v & 15]);
			}
			i += 2;
		} else if (c != '%' && keep(c)) {
			g_string_append_c(out, (char)c);
		} else {
			g_string_append_c(out, '%');
			g_string_append_c(out, hex[c >> 4]);
			g_string_append_c(out, hex[c & 15]);
		}
	}
}

static void
append_path(GString *out, const char *p, size_t n)
{
	append_encoded(out, p, n, keep_char);
}

/* RFC 3986 section 5.2.4, on a path that starts with '/'. */
static char *
remove_dots(const char *path)
{
	GPtrArray *segs = g_ptr_array_new();
	gchar **parts = g_strsplit(path, "/", -1);
	GString *out = g_string_new(NULL);
	guint n = g_strv_length(parts);

	/* parts[0] is "" (the leading slash). */
	for (guint i = 1; i < n; i++) {
		int last = i == n - 1;

		if (strcmp(parts[i], ".") == 0) {
			if (last)
				g_ptr_array_add(segs, "");
		} else if (strcmp(parts[i], "..") == 0) {
			if (segs->len)
				g_ptr_array_remove_index(segs, segs->len - 1);
			if (last)
				g_ptr_array_add(segs, "");
		} else {
			g_ptr_array_add(segs, parts[i]);
		}
	}
	for (guint i = 0; i < segs->len; i++) {
		g_string_append_c(out, '/');
		g_string_append(out, segs->pdata[i]);
	}
	if (out->len == 0)
		g_string_append_c(out, '/');
	g_ptr_array_free(segs, TRUE);
	g_strfreev(parts);
	return g_string_free(out, FALSE);
}

static int
default_port(const char *scheme, long port)
{
	return (strcmp(scheme, "http") == 0 && port == 80) ||
		(strcmp(scheme, "https") == 0 && port == 443) ||
		(strcmp(scheme, "ftp") == 0 && port == 21);
}

static int
parse_url(const char *s, size_t n, csip_indicator **out)
{
	const char *sep = g_strstr_len(s, (gssize)n, "://");
	const char *auth, *auth_end, *end = s + n, *hostp, *hend, *at;
	char *scheme = NULL, *host = NULL, *hdisp = NULL, *path = NULL;
	char *reg = NULL;
	GString *v = NULL, *d = NULL, *rest = NULL;
	unsigned flags = 0;
	long port = -1;
	int rc = CSIP_OK, v6 = 0;
	size_t sl;

	if (n > MAX_URL)
		return csip_error_set(CSIP_ETOOBIG, "URL longer than %d bytes",
				      MAX_URL);
	if (sep == NULL || sep == s)
		goto bad;
	sl = (size_t)(sep - s);
	if (!g_ascii_isalpha(s[0]))
		goto bad;
	for (size_t i = 0; i < sl; i++)
		if (!g_ascii_isalnum(s[i]) && s[i] != '+' && s[i] != '-' &&
		    s[i] != '.')
			goto bad;
	scheme = g_ascii_strdown(s, (gssize)sl);
	auth = sep + 3;
	auth_end = auth;
	while (auth_end < end && !strchr("/?#", *auth_end))
		auth_end++;
	/* userinfo@host:port */
	at = NULL;
	for (const char *q = auth; q < auth_end; q++)
		if (*q == '@')
			at = q;
	hostp = at ? at + 1 : auth;
	if (hostp < auth_end && *hostp == '[') {
		const char *rb = memchr(hostp, ']', (size_t)(auth_end - hostp));

		if (rb == NULL)
			goto bad;
		hend = rb + 1;
		v6 = 1;
	} else {
		for (hend = hostp; hend < auth_end && *hend != ':'; hend++)
			;
	}
	if (hend < auth_end) {
		if (*hend != ':')
			goto bad;
		if (hend + 1 < auth_end) {
			if (!all_digits(hend + 1, (size_t)(auth_end - hend - 1))
			    || auth_end - hend - 1 > 5)
				goto bad;
			port = strtol(hend + 1, NULL, 10);
			if (port < 1 || port > 65535)
				goto bad;
		}
	}
	if (hend == hostp)
		goto bad;
	/* The host: an address or a name. */
	if (v6) {
		uint8_t a[16];
		char buf[INET6_ADDRSTRLEN];

		if (!parse_ipv6_bytes(hostp, (size_t)(hend - hostp), a))
			goto bad;
		inet_ntop(AF_INET6, a, buf, sizeof buf);
		host = g_strdup_printf("[%s]", buf);
		flags |= flags6(a, 128);
	} else {
		uint32_t a4;
		int q = parse_quad(hostp, (size_t)(hend - hostp), &a4);

		if (q == 1) {
			host = g_strdup_printf("%u.%u.%u.%u", a4 >> 24,
				(a4 >> 16) & 0xff, (a4 >> 8) & 0xff, a4 & 0xff);
			flags |= flags4(a4, 32);
		} else if (q < 0) {
			goto bad;
		} else {
			unsigned nf = 0;

			if ((rc = canon_name(hostp, (size_t)(hend - hostp), 1,
					     &host, &hdisp, &nf)) < 0)
				goto out;
			flags |= nf & CSIP_IND_F_IDN;
			{
				const char *r = psl_registrable_domain(psl(),
								       host);

				reg = r ? g_strdup(r) : NULL;
			}
		}
	}
	/* Path and query; the fragment never reaches a server. */
	{
		const char *pstart = auth_end, *frag;
		const char *q;
		size_t plen;

		frag = memchr(pstart, '#', (size_t)(end - pstart));
		if (frag == NULL)
			frag = end;
		q = memchr(pstart, '?', (size_t)(frag - pstart));
		if (q == NULL)
			q = frag;
		rest = g_string_new(NULL);
		append_path(rest, pstart, (size_t)(q - pstart));
		plen = rest->len;
		if (plen == 0 || rest->str[0] != '/')
			g_string_prepend_c(rest, '/');
		path = remove_dots(rest->str);
		g_string_truncate(rest, 0);
		if (q < frag)
			append_path(rest, q, (size_t)(frag - q));
	}
	v = g_string_new(scheme);
	g_string_append(v, "://");
	if (at) {
		append_encoded(v, auth, (size_t)(at - auth), keep_userinfo);
		g_string_append_c(v, '@');
	}
	g_string_append(v, host);
	if (port > 0 && !default_port(scheme, port))
		g_string_append_printf(v, ":%ld", port);
	d = g_string_new(v->str);
	if (hdisp && strcmp(hdisp, host) != 0) {
		g_string_replace(d, host, hdisp, 1);
	}
	g_string_append(v, path);
	g_string_append(v, rest->str);
	g_string_append(d, path);
	g_string_append(d, rest->str);
	if (v->len > MAX_URL) {
		rc = csip_error_set(CSIP_ETOOBIG, "URL longer than %d bytes",
				    MAX_URL);
		goto out;
	}
	*out = ind_new(CSIP_IND_URL, g_string_free(v, FALSE),
		       g_string_free(d, FALSE), reg, flags);
	v = d = NULL;
	reg = NULL;
	goto out;
bad:
	rc = csip_error_set(CSIP_EINVAL, "\"%.*s\" is not a valid URL (want "
		"scheme://host[:port]/path)", (int)MIN(n, 200), s);
out:
	if (v)
		g_string_free(v, TRUE);
	if (d)
		g_string_free(d, TRUE);
	if (rest)
		g_string_free(rest, TRUE);
	g_free(scheme);
	g_free(host);
	g_free(hdisp);
	g_free(path);
	g_free(reg);
	return rc;
}

/* ---- e-mail ---------------------------------------------------------- */

static int
parse_email(const char *s, size_t n, csip_indicator **out)
{
	const char *at = NULL;
	char *local = NULL, *ascii = NULL, *display = NULL;
	const char *reg;
	unsigned flags = 0;
	size_t ll;
	int rc;

	for (size_t i = 0; i < n; i++)
		if (s[i] == '@')
			at = s + i;
	if (at == NULL || at == s)
		goto bad;
	ll = (size_t)(at - s);
	if (ll > 64 || s[0] == '.' || at[-1] == '.')
		goto bad;
	for (size_t i = 0; i < ll; i++) {
		if (!g_ascii_isalnum(s[i]) &&
		    !strchr(".!#$%&'*+/=?^_`{|}~-", s[i]))
			goto bad;
		if (s[i] == '.' && i + 1 < ll && s[i + 1] == '.')
			goto bad;
	}
	if ((rc = canon_name(at + 1, n - ll - 1, 0, &ascii, &display,
			     &flags)) < 0) {
		csip_error_prefix(rc, "e-mail address \"%.*s\": ",
				  (int)MIN(n, 200), s);
		return rc;
	}
	local = g_ascii_strdown(s, (gssize)ll);
	reg = psl_registrable_domain(psl(), ascii);
	*out = ind_new(CSIP_IND_EMAIL, g_strconcat(local, "@", ascii, NULL),
		       g_strconcat(local, "@", display, NULL),
		       reg ? g_strdup(reg) : NULL, flags);
	g_free(local);
	g_free(ascii);
	g_free(display);
	return CSIP_OK;
bad:
	return csip_error_set(CSIP_EINVAL, "\"%.*s\" is not a valid e-mail "
		"address", (int)MIN(n, 200), s);
}

/* ---- the rest -------------------------------------------------------- */

static csip_ind_type
hash_type(size_t n)
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
b64ish(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_isalnum(s[i]) && s[i] != '+' && s[i] != '/')
			return 0;
	return n > 0;
}

/* blocksize:hash:hash, optionally followed by ,"filename" as ssdeep
 * prints it (dropped: the name is not part of the hash). */
static int
is_ssdeep(const char *s, size_t n, size_t *len)
{
	const char *c1 = memchr(s, ':', n), *c2, *e;

	if (c1 == NULL || !all_digits(s, (size_t)(c1 - s)) || c1 - s > 10)
		return 0;
	c2 = memchr(c1 + 1, ':', (size_t)(s + n - c1 - 1));
	if (c2 == NULL || !b64ish(c1 + 1, (size_t)(c2 - c1 - 1)))
		return 0;
	e = memchr(c2 + 1, ',', (size_t)(s + n - c2 - 1));
	if (e == NULL)
		e = s + n;
	if (!b64ish(c2 + 1, (size_t)(e - c2 - 1)))
		return 0;
	*len = (size_t)(e - s);
	return 1;
}

static int
parse_asn(const char *s, size_t n, int strict, csip_indicator **out)
{
	size_t i = 0;
	guint64 v;

	if (n >= 2 && g_ascii_strncasecmp(s, "AS", 2) == 0) {
		i = 2;
		if (i < n && (s[i] == 'N' || s[i] == 'n'))
			i++;
		while (i < n && s[i] == ' ')
			i++;
	} else if (strict) {
		return 0;
	}
	if (!all_digits(s + i, n - i) || n - i > 10)
		return strict ? 0 : csip_error_set(CSIP_EINVAL, "\"%.*s\" is "
			"not an AS number (AS64496)", (int)MIN(n, 200), s);
	v = g_ascii_strtoull(s + i, NULL, 10);
	if (v > 4294967295u)
		return strict ? 0 : csip_error_set(CSIP_EINVAL, "AS number %.*s "
			"is out of range", (int)MIN(n, 200), s);
	*out = ind_new(CSIP_IND_ASN, g_strdup_printf("AS%" G_GUINT64_FORMAT,
		       v), NULL, NULL, 0);
	return 1;
}

static const struct { const char *abbr, *full; } hives[] = {
	{ "HKLM", "HKEY_LOCAL_MACHINE" }, { "HKCU", "HKEY_CURRENT_USER" },
	{ "HKCR", "HKEY_CLASSES_ROOT" }, { "HKU", "HKEY_USERS" },
	{ "HKCC", "HKEY_CURRENT_CONFIG" },
	{ "HKEY_LOCAL_MACHINE", "HKEY_LOCAL_MACHINE" },
	{ "HKEY_CURRENT_USER", "HKEY_CURRENT_USER" },
	{ "HKEY_CLASSES_ROOT", "HKEY_CLASSES_ROOT" },
	{ "HKEY_USERS", "HKEY_USERS" },
	{ "HKEY_CURRENT_CONFIG", "HKEY_CURRENT_CONFIG" },
};

/* Returns 1 and *out when S names a registry key, 0 otherwise. */
static int
parse_regkey(const char *s, size_t n, csip_indicator **out)
{
	for (size_t i = 0; i < G_N_ELEMENTS(hives); i++) {
		size_t hl = strlen(hives[i].abbr);
		GString *v;

		if (n < hl || g_ascii_strncasecmp(s, hives[i].abbr, hl) != 0 ||
		    (n > hl && s[hl] != '\\' && s[hl] != '/'))
			continue;
		v = g_string_new(hives[i].full);
		for (size_t k = hl; k < n; k++) {
			char c = s[k] == '/' ? '\\' : s[k];

			if ((unsigned char)c < 0x20 || c == 0x7f) {
				g_string_free(v, TRUE);
				return 0;
			}
			if (c == '\\' && v->str[v->len - 1] == '\\')
				continue;
			g_string_append_c(v, c);
		}
		while (v->len > strlen(hives[i].full) &&
		       (v->str[v->len - 1] == '\\' ||
			g_ascii_isspace(v->str[v->len - 1])))
			g_string_truncate(v, v->len - 1);
		*out = ind_new(CSIP_IND_REGKEY, g_string_free(v, FALSE), NULL,
			       NULL, 0);
		return 1;
	}
	return 0;
}

static int
parse_text(csip_ind_type t, const char *s, size_t n, csip_indicator **out)
{
	if (n > MAX_TEXT)
		return csip_error_set(CSIP_ETOOBIG, "%s longer than %d bytes",
				      csip_ind_type_name(t), MAX_TEXT);
	if (!g_utf8_validate(s, (gssize)n, NULL))
		return csip_error_set(CSIP_EINVAL, "%s is not valid UTF-8",
				      csip_ind_type_name(t));
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return csip_error_set(CSIP_EINVAL, "%s contains a "
				"control character", csip_ind_type_name(t));
	*out = ind_new(t, g_strndup(s, n), NULL, NULL, 0);
	return CSIP_OK;
}

static int
parse_typed(csip_ind_type t, const char *s, size_t n, csip_indicator **out)
{
	size_t sl;

	switch (t) {
	case CSIP_IND_IPV4:
		return parse_ipv4(s, n, out);
	case CSIP_IND_IPV6:
		return parse_ipv6(s, n, out);
	case CSIP_IND_CIDR4:
	case CSIP_IND_CIDR6:
		return parse_cidr(s, n, 1, t, out);
	case CSIP_IND_DOMAIN:
	case CSIP_IND_HOSTNAME:
		return parse_name(s, n, t, out);
	case CSIP_IND_URL:
		return parse_url(s, n, out);
	case CSIP_IND_EMAIL:
		return parse_email(s, n, out);
	case CSIP_IND_MD5:
	case CSIP_IND_SHA1:
	case CSIP_IND_SHA256:
	case CSIP_IND_SHA512:
		if (hash_type(n) != t || !all_hex(s, n))
			return csip_error_set(CSIP_EINVAL, "\"%.*s\" is not a "
				"%s hash (%s hex digits)", (int)MIN(n, 200), s,
				csip_ind_type_name(t), t == CSIP_IND_MD5 ? "32"
				: t == CSIP_IND_SHA1 ? "40" : t ==
				CSIP_IND_SHA256 ? "64" : "128");
		*out = ind_new(t, g_ascii_strdown(s, (gssize)n), NULL, NULL, 0);
		return CSIP_OK;
	case CSIP_IND_SSDEEP:
		if (!is_ssdeep(s, n, &sl))
			return csip_error_set(CSIP_EINVAL, "\"%.*s\" is not an "
				"ssdeep hash (BLOCKSIZE:HASH:HASH)",
				(int)MIN(n, 200), s);
		*out = ind_new(t, g_strndup(s, sl), NULL, NULL, 0);
		return CSIP_OK;
	case CSIP_IND_ASN:
		return parse_asn(s, n, 0, out) < 0 ? CSIP_EINVAL : CSIP_OK;
	case CSIP_IND_REGKEY:
		if (!parse_regkey(s, n, out))
			return csip_error_set(CSIP_EINVAL, "\"%.*s\" is not a "
				"registry key (it must start with a hive such "
				"as HKLM\\ or HKEY_CURRENT_USER\\)",
				(int)MIN(n, 200), s);
		return CSIP_OK;
	case CSIP_IND_FILENAME:
	case CSIP_IND_MUTEX:
	case CSIP_IND_USER_AGENT:
	case CSIP_IND_EMAIL_SUBJECT:
	case CSIP_IND_X_MAILER:
		return parse_text(t, s, n, out);
	default:
		return csip_error_set(CSIP_EINVAL, "unknown indicator type %d",
				      (int)t);
	}
}

/* Detection, from the most to the least distinctive shape. */
static int
detect(const char *s, size_t n, csip_indicator **out)
{
	uint32_t a4;
	uint8_t a6[16];
	size_t sl;
	int q;

	if (g_strstr_len(s, (gssize)n, "://"))
		return parse_url(s, n, out);
	if (memchr(s, '@', n) && !memchr(s, '/', n) && !memchr(s, ' ', n))
		return parse_email(s, n, out);
	if (is_ssdeep(s, n, &sl))
		return parse_typed(CSIP_IND_SSDEEP, s, n, out);
	if (memchr(s, '/', n) && !memchr(s, '\\', n) &&
	    (g_ascii_isdigit(s[0]) || memchr(s, ':', n)))
		return parse_cidr(s, n, 0, CSIP_IND_UNKNOWN, out);
	if ((q = parse_quad(s, n, &a4)) != 0)
		return parse_ipv4(s, n, out);
	if (memchr(s, ':', n) && parse_ipv6_bytes(s, n, a6))
		return parse_ipv6(s, n, out);
	if (hash_type(n) != CSIP_IND_UNKNOWN && all_hex(s, n))
		return parse_typed(hash_type(n), s, n, out);
	if (parse_asn(s, n, 1, out) == 1)
		return CSIP_OK;
	if (parse_regkey(s, n, out))
		return CSIP_OK;
	if (memchr(s, '.', n) && !memchr(s, ' ', n) && !memchr(s, '/', n) &&
	    !memchr(s, '\\', n))
		return parse_name(s, n, CSIP_IND_UNKNOWN, out);
	return csip_error_set(CSIP_EINVAL, "cannot tell what \"%.*s\" is: not "
		"an address, network, host name, URL, e-mail address, hash, "
		"AS number or registry key; give its type to take it as text",
		(int)MIN(n, 200), s);
}

/* Refang a value.  In a URL only the scheme and the authority are
 * refanged: a path or query may hold "(.)" or "(at)" for real, and a
 * canonical URL must parse back to itself. */
static char *
refang_value(const char *s, size_t n)
{
	static const char *const seps[] = { "[://]", "[:]//", "(://)", "://" };
	const char *sep = NULL, *end;
	size_t sl = 0;
	GString *out;
	char *head;

	for (size_t i = 0; i < G_N_ELEMENTS(seps) && sep == NULL; i++) {
		sep = g_strstr_len(s, (gssize)n, seps[i]);
		sl = strlen(seps[i]);
	}
	if (sep == NULL)
		return csip_refang(s, n);
	for (end = sep + sl; end < s + n && !strchr("/?#", *end); end++)
		;
	head = csip_refang(s, (size_t)(end - s));
	out = g_string_new(head);
	g_string_append_len(out, end, s + n - end);
	g_free(head);
	return g_string_free(out, FALSE);
}

int
csip_indicator_parse(const char *text, size_t len, csip_ind_type hint,
		     csip_indicator **out)
{
	char *r = NULL;
	const char *s;
	size_t n;
	int rc, refanged = 0, free_text;

	*out = NULL;
	if (text == NULL)
		return csip_error_set(CSIP_EINVAL, "no value given");
	if (len > IND_MAX_INPUT)
		return csip_error_set(CSIP_ETOOBIG, "value of %zu bytes is "
			"longer than %d", len, IND_MAX_INPUT);
	if ((int)hint < 0 || hint >= CSIP_IND__COUNT)
		return csip_error_set(CSIP_EINVAL, "unknown indicator type %d",
				      (int)hint);
	if (memchr(text, '\0', len))
		return csip_error_set(CSIP_EINVAL, "value contains a NUL byte");
	s = text;
	n = len;
	while (n && g_ascii_isspace(s[n - 1]))
		n--;
	while (n && g_ascii_isspace(*s))
		s++, n--;
	if (n == 0)
		return csip_error_set(CSIP_EINVAL, "empty value");
	free_text = hint == CSIP_IND_FILENAME || hint == CSIP_IND_MUTEX ||
		hint == CSIP_IND_USER_AGENT || hint == CSIP_IND_EMAIL_SUBJECT ||
		hint == CSIP_IND_X_MAILER || hint == CSIP_IND_REGKEY ||
		hint == CSIP_IND_SSDEEP;
	if (!free_text) {
		r = refang_value(s, n);
		refanged = strlen(r) != n || memcmp(r, s, n) != 0;
		s = r;
		n = strlen(r);
		while (n && g_ascii_isspace(s[n - 1]))
			n--;
	}
	rc = hint == CSIP_IND_UNKNOWN ? detect(s, n, out)
		: parse_typed(hint, s, n, out);
	if (rc == CSIP_OK && refanged)
		(*out)->flags |= CSIP_IND_F_REFANGED;
	g_free(r);
	return rc;
}
