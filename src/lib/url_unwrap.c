/*
 * url_unwrap.c - find the URLs inside a URL (see url_unwrap.h).
 *
 * Each level looks at three places of the URL it is given, in order: the
 * path after the authority (a URL written whole into it, raw or encoded),
 * every query parameter's value, and the fragment.  A value is a candidate
 * when, after the decoding its shape asks for, it starts with "http://" or
 * "https://"; the candidate then runs to the first byte that cannot be in
 * a URL.  Shapes are tried from the cheapest: raw, percent-encoded (twice
 * when the first decoding still holds a '%'), Proofpoint v2
 * ("https-3A__host_path"), then base64 or base64url of either of the
 * first two.
 *
 * Every loop is bounded by the input's length, every result is a new
 * string no longer than its input, and the recursion by
 * CSIP_URL_UNWRAP_DEPTH and CSIP_URL_UNWRAP_MAX: hostile input costs at
 * most a few passes over 16 KiB.
 */
#include "lib/url_unwrap.h"

#include <glib.h>
#include <string.h>

/* Base64 shorter than this is a word or an id, not a URL ("http://a.bc"
 * is 11 bytes, 16 in base64). */
#define MIN_B64 16

typedef struct found {
	GPtrArray *v;   /* char *, outermost first */
} found;

static void level(found *f, const char *u, size_t n, unsigned depth);

static int
prefix_ci(const char *s, size_t n, const char *p)
{
	size_t pl = strlen(p);

	return n >= pl && g_ascii_strncasecmp(s, p, pl) == 0;
}

/* "http://" or "https://" and at least one byte of host after it. */
static int
has_scheme(const char *s, size_t n)
{
	return (prefix_ci(s, n, "http://") && n > 7) ||
	       (prefix_ci(s, n, "https://") && n > 8);
}

/* Bytes that end a URL written in text: white space, controls, quotes
 * and brackets that delimit one.  Bytes >= 0x80 stay (an IDN host
 * percent-decoded to UTF-8). */
static size_t
url_run(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c == 0x7f || strchr("\"<>\\^`{|}'", c))
			break;
		i++;
	}
	return i;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* S with every "ESC" XX (two hex digits) made the byte it names: '%' for
 * percent-encoding, '-' for Proofpoint v2 (which also writes '/' as '_',
 * SLASH_US).  A decoded NUL ends the result.  g_free(); *OUT_N is set. */
static char *
unescape(const char *s, size_t n, char esc, int slash_us, size_t *out_n)
{
	char *d = g_malloc(n + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		if (s[i] == esc && i + 2 < n &&
		    (hi = hexval(s[i + 1])) >= 0 &&
		    (lo = hexval(s[i + 2])) >= 0) {
			char c = (char)(hi << 4 | lo);

			if (c == '\0')
				break;
			d[o++] = c;
			i += 2;
		} else if (slash_us && s[i] == '_') {
			d[o++] = '/';
		} else {
			d[o++] = s[i];
		}
	}
	d[o] = '\0';
	*out_n = o;
	return d;
}

/* S as base64 or base64url (padding optional), when every byte is of
 * that alphabet and it decodes to text without controls; NULL otherwise.
 * g_free(); *OUT_N is set. */
static char *
unbase64(const char *s, size_t n, size_t *out_n)
{
	char *t, *d = NULL;
	size_t pad = 0;
	gsize dn = 0;

	while (pad < n && pad < 2 && s[n - 1 - pad] == '=')
		pad++;
	if (n - pad < MIN_B64)
		return NULL;
	for (size_t i = 0; i < n - pad; i++)
		if (!g_ascii_isalnum(s[i]) && !strchr("+/-_", s[i]))
			return NULL;
	t = g_malloc(n - pad + 4);
	for (size_t i = 0; i < n - pad; i++)
		t[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	n -= pad;
	while (n % 4)
		t[n++] = '=';
	t[n] = '\0';
	d = (char *)g_base64_decode(t, &dn);
	for (gsize i = 0; d && i < dn; i++)
		if ((unsigned char)d[i] < 0x20 || (unsigned char)d[i] == 0x7f) {
			g_free(d);
			d = NULL;
		}
	g_free(t);
	if (d == NULL)
		return NULL;
	d = g_realloc(d, dn + 1);
	d[dn] = '\0';
	*out_n = dn;
	return d;
}

/* Keep the URL at the start of the N bytes of S, and look inside it. */
static void
take(found *f, const char *s, size_t n, unsigned depth)
{
	char *u;

	n = url_run(s, n);
	if (!has_scheme(s, n) || f->v->len >= CSIP_URL_UNWRAP_MAX)
		return;
	u = g_strndup(s, n);
	for (guint i = 0; i < f->v->len; i++)
		if (strcmp(g_ptr_array_index(f->v, i), u) == 0) {
			g_free(u);
			return;
		}
	g_ptr_array_add(f->v, u);
	if (depth + 1 < CSIP_URL_UNWRAP_DEPTH)
		level(f, u, n, depth + 1);
}

/* A URL raw, or percent-encoded once or twice (the scheme's letters too:
 * "h%74%74p%3A%2F%2F" hides it from a search for "http"): taken if so.
 * Returns whether one was. */
static int
plain_or_pct(found *f, const char *s, size_t n, unsigned depth)
{
	char *d, *d2;
	size_t dn, d2n;
	unsigned before = f->v->len;

	if (has_scheme(s, n)) {
		take(f, s, n, depth);
		return f->v->len > before;
	}
	if (memchr(s, '%', n) == NULL)
		return 0;
	d = unescape(s, n, '%', 0, &dn);
	if (!has_scheme(d, dn) && memchr(d, '%', dn)) {
		d2 = unescape(d, dn, '%', 0, &d2n);
		g_free(d);
		d = d2;
		dn = d2n;
	}
	take(f, d, dn, depth);
	g_free(d);
	return f->v->len > before;
}

/* One value (a parameter's, the fragment, a path's rest). */
static void
consider(found *f, const char *s, size_t n, unsigned depth)
{
	char *d;
	size_t dn;

	if (n < 8 || f->v->len >= CSIP_URL_UNWRAP_MAX)
		return;
	if (plain_or_pct(f, s, n, depth))
		return;
	if (prefix_ci(s, n, "http-3A__") || prefix_ci(s, n, "https-3A__")) {
		d = unescape(s, n, '-', 1, &dn);
		take(f, d, dn, depth);
		g_free(d);
		return;
	}
	/* Base64 runs to the end of the value ('=' padding included). */
	if ((d = unbase64(s, n, &dn)) != NULL) {
		plain_or_pct(f, d, dn, depth);
		g_free(d);
	}
}

/* The path of U after its authority, [P, E): a URL written whole into it
 * ("/https://evil.example/x", Proofpoint v3's "/v3/__https://...__;"),
 * or one segment percent-encoded or base64.  Returns whether the rest of
 * U was taken as the inner URL's (its query is then the inner one's). */
static int
in_path(found *f, const char *p, const char *e, const char *end,
	unsigned depth)
{
	while (p < e) {
		const char *seg = p + 1, *se;

		se = memchr(seg, '/', (size_t)(e - seg));
		if (se == NULL)
			se = e;
		if (prefix_ci(seg, (size_t)(end - seg), "__http")) {
			const char *in = seg + 2;
			const char *stop = g_strstr_len(in, end - in, "__;");

			take(f, in, (size_t)((stop ? stop : end) - in),
			     depth);
			return 1;
		}
		if (has_scheme(seg, (size_t)(end - seg))) {
			take(f, seg, (size_t)(end - seg), depth);
			return 1;
		}
		consider(f, seg, (size_t)(se - seg), depth);
		p = se;
	}
	return 0;
}

static void
level(found *f, const char *u, size_t n, unsigned depth)
{
	const char *end = u + n, *p, *path, *qs, *frag;

	if (n > CSIP_URL_UNWRAP_MAX_LEN)
		return;
	p = g_strstr_len(u, (gssize)n, "://");
	if (p == NULL)
		return;
	path = p + 3;
	while (path < end && *path != '/' && *path != '?' && *path != '#')
		path++;
	frag = memchr(path, '#', (size_t)(end - path));
	qs = memchr(path, '?', (size_t)((frag ? frag : end) - path));
	if (in_path(f, path, qs ? qs : frag ? frag : end, end, depth))
		return;
	if (qs) {
		const char *q = qs + 1, *qe = frag ? frag : end;

		while (q < qe) {
			const char *a = q, *eq;

			while (q < qe && *q != '&' && *q != ';')
				q++;
			eq = memchr(a, '=', (size_t)(q - a));
			if (eq)
				consider(f, eq + 1, (size_t)(q - eq - 1),
					 depth);
			if (q < qe)
				q++;
		}
	}
	if (frag)
		consider(f, frag + 1, (size_t)(end - frag - 1), depth);
}

char **
csip_url_unwrap(const char *url, size_t len)
{
	found f = { g_ptr_array_new() };

	if (url && len)
		level(&f, url, len, 0);
	if (f.v->len == 0) {
		g_ptr_array_free(f.v, TRUE);
		return NULL;
	}
	g_ptr_array_add(f.v, NULL);
	return (char **)g_ptr_array_free(f.v, FALSE);
}

/* Whether the host H (HL bytes) ends with "." SUFFIX. */
static int
host_below(const char *h, size_t hl, const char *suffix)
{
	size_t sl = strlen(suffix);

	return hl > sl && h[hl - sl - 1] == '.' &&
	       g_ascii_strncasecmp(h + hl - sl, suffix, sl) == 0;
}

int
csip_url_unwrap_is_gateway(const char *url, size_t len)
{
	/* Each gateway by the host its rewrites use: the host itself, or
	 * (below) hosts under it, or both; and, where the host serves more
	 * than the rewrites, the path they start with. */
	static const struct {
		const char *host, *path;
		int itself, below;
	} gw[] = {
		{ "urldefense.proofpoint.com", NULL, 1, 0 },
		{ "urldefense.com", NULL, 1, 0 },
		{ "safelinks.protection.outlook.com", NULL, 0, 1 },
		{ "protection.sophos.com", NULL, 1, 1 },
		{ "linkprotect.cudasvc.com", NULL, 1, 0 },
		{ "trendmicro.com", "/wis/clicktime/", 0, 1 },
		{ "secure-web.cisco.com", NULL, 1, 0 },
		{ "protect2.fireeye.com", NULL, 1, 0 },
		{ "clicktime.symantec.com", NULL, 1, 0 },
	};
	const char *h, *e, *p, *end = url + len;
	size_t hl;

	if (url == NULL || (h = g_strstr_len(url, (gssize)len, "://")) ==
	    NULL)
		return 0;
	h += 3;
	e = h;
	while (e < end && *e != '/' && *e != '?' && *e != '#' && *e != ':')
		e++;
	hl = (size_t)(e - h);
	p = e;   /* the path, after any port */
	while (p < end && *p != '/' && *p != '?' && *p != '#')
		p++;
	for (size_t i = 0; i < G_N_ELEMENTS(gw); i++) {
		size_t pl = gw[i].path ? strlen(gw[i].path) : 0;

		if (!(gw[i].itself && hl == strlen(gw[i].host) &&
		      g_ascii_strncasecmp(h, gw[i].host, hl) == 0) &&
		    !(gw[i].below && host_below(h, hl, gw[i].host)))
			continue;
		if (pl == 0 || ((size_t)(end - p) >= pl &&
				g_ascii_strncasecmp(p, gw[i].path, pl) == 0))
			return 1;
	}
	return 0;
}
