/*
 * test_url_unwrap.c - the URLs inside wrapped links: the mail gateways'
 * rewrites (Safe Links, Proofpoint v2 and v3), image proxies, redirectors
 * (raw, percent-encoded once and twice, base64), archives; the ordinary
 * URLs that carry none; and the caps on hostile input.
 */
#include "lib/url_unwrap.h"
#include "testutil.h"

#include <glib.h>
#include <string.h>

/* The URLs inside URL joined by '\n' ("" for none); g_free(). */
static char *
unwrap(const char *url)
{
	char **v = csip_url_unwrap(url, strlen(url));
	char *s = v ? g_strjoinv("\n", v) : g_strdup("");

	g_strfreev(v);
	return s;
}

static void
expect(const char *url, const char *want)
{
	char *got = unwrap(url);

	if (strcmp(got, want) != 0)
		g_error("unwrap(%s):\n got: [%s]\nwant: [%s]", url, got, want);
	g_free(got);
}

static void
test_gateways(void)
{
	/* Microsoft Safe Links: the recipient's address is in data=, the
	 * target in url=; only the target comes out. */
	expect("https://nam12.safelinks.protection.outlook.com/?url=https%3A"
	       "%2F%2Fevil.example%2Flogin%3Fid%3D7&data=05%7C01%7Ctaro%40"
	       "victim.example.jp%7Cabc&sdata=xyz%3D&reserved=0",
	       "https://evil.example/login?id=7");
	/* Proofpoint URL Defense v2: '-XX' for bytes, '_' for '/'. */
	expect("https://urldefense.proofpoint.com/v2/url?u=https-3A__evil."
	       "example_login-3Fid-3D7&d=DwMFaQ&c=abc&r=def&m=ghi&s=jkl&e=",
	       "https://evil.example/login?id=7");
	/* Proofpoint v3: the URL whole in the path, up to "__;". */
	expect("https://urldefense.com/v3/__https://evil.example/login?id=7"
	       "__;!!ABC!xyz-123$",
	       "https://evil.example/login?id=7");
}

static void
test_proxies_and_redirectors(void)
{
	expect("https://www.google.com/url?q=https://evil.example/x&sa=D&"
	       "ust=1", "https://evil.example/x");
	/* Outlook's image proxy, percent-encoded. */
	expect("https://imgproxy-prod.services.web.outlook.com/proxy/?u=http"
	       "%3A%2F%2Fmyhealthyliving.life%2FdUw1WHBL&d=1",
	       "http://myhealthyliving.life/dUw1WHBL");
	/* Google's image proxy: the source after '#'. */
	expect("https://ci6.googleusercontent.com/proxy/c0nkIpyAU=s0-d-e1-ft"
	       "#https://cases.example/wp-content/img.png",
	       "https://cases.example/wp-content/img.png");
	/* Base64 of a percent-encoded URL (a mailing tool's tracker). */
	expect("https://t.lt.acemlnd.example/Prod/link-tracker?redirectUrl="
	       "aHR0cHMlM0ElMkYlMkZldmlsLmV4YW1wbGUlMkZsZWFkcyUyRng=&sig=1",
	       "https://evil.example/leads/x");
	/* Base64url without padding. */
	expect("https://r.example/go?to=aHR0cHM6Ly9ldmlsLmV4YW1wbGUvYT9iPWMm"
	       "ZD1l", "https://evil.example/a?b=c&d=e");
	/* The scheme's letters encoded too, to hide it from a search. */
	expect("https://www.google.com/url?q=h%74%74p%3A%2F%2Fbe%73t-pharma."
	       "%7a%6f%6e%65%2F%3Fcp%3Dx&sa=D",
	       "http://best-pharma.zone/?cp=x");
	/* Percent-encoded twice. */
	expect("https://r.example/?u=https%253A%252F%252Fevil.example%252Fx",
	       "https://evil.example/x");
	/* An archive's copy: the rest of the URL is the inner one's. */
	expect("https://web.archive.org/web/2020/https://evil.example/x?y=1",
	       "https://evil.example/x?y=1");
	/* A percent-encoded URL as a path segment. */
	expect("https://r.example/out/https%3A%2F%2Fevil.example%2Fp/track",
	       "https://evil.example/p");
}

static void
test_nested(void)
{
	/* A redirector around Safe Links around the target: outermost
	 * first, each once. */
	expect("https://www.google.com/url?q=https%3A%2F%2Fnam12.safelinks."
	       "protection.outlook.com%2F%3Furl%3Dhttps%253A%252F%252Fevil."
	       "example%252Fx%26data%3D05&sa=D",
	       "https://nam12.safelinks.protection.outlook.com/?url=https%3A"
	       "%2F%2Fevil.example%2Fx&data=05\n"
	       "https://evil.example/x");
	/* The same target twice is given once. */
	expect("https://r.example/?a=https://evil.example/x&b=https://evil."
	       "example/x", "https://evil.example/x");
}

static void
test_none(void)
{
	expect("https://example.com/path?a=b&c=https", "");
	expect("https://example.com/?next=/account/login", "");
	/* Base64 that is not a URL. */
	expect("https://example.com/?q=aGVsbG8gd29ybGQgaGVsbG8=", "");
	/* Too short to be a host after the scheme. */
	expect("https://example.com/?u=https://", "");
	expect("mailto:someone@example.com?subject=https", "");
	expect("", "");
	expect("not a url at all", "");
}

static void
test_gateway(void)
{
	static const char *const yes[] = {
		"https://nam12.safelinks.protection.outlook.com/?url=x",
		"https://JPN01.SafeLinks.Protection.Outlook.com/?url=x",
		"https://urldefense.proofpoint.com/v2/url?u=x",
		"https://urldefense.com/v3/__https://a.example__;!!x$",
		"https://urldefense.com:443/v3/",
		"https://eu-central-1.protection.sophos.com?d=evil.example&u="
		"aHR0cHM6Ly9ldmlsLmV4YW1wbGUv&i=NWE0ZmU&t=x&h=y",
		"https://protection.sophos.com?d=a&u=aHR0cHM6Ly9hLmV4YW1wbGU=",
		"https://linkprotect.cudasvc.com/url?a=https%3a%2f%2fevil.example"
		"&c=E,1,abc&typo=1",
		"https://imsva91-ctp.trendmicro.com:443/wis/clicktime/v1/query?"
		"url=https%3a%2f%2fevil.example&umid=1&auth=2",
		"https://secure-web.cisco.com/1abc/https%3A%2F%2Fevil.example",
		"https://protect2.fireeye.com/v1/url?k=1&u=https%3A%2F%2Fa.example",
		"https://clicktime.symantec.com/3abc?u=https%3A%2F%2Fa.example",
	};
	static const char *const no[] = {
		"https://safelinks.protection.outlook.com.evil.example/?url=x",
		"https://evilsafelinks.protection.outlook.com/?url=x",
		"https://urldefense.com.evil.example/v3/__x",
		"https://www.google.com/url?q=https://a.example",
		"https://evil.example/safelinks.protection.outlook.com",
		"urldefense.com",
		"",
		"https://evilprotection.sophos.com/?u=x",
		"https://www.trendmicro.com/en_us/business.html",
		"https://trendmicro.com/wis/clicktime/v1/query?url=x",
		"https://linkprotect.cudasvc.com.evil.example/url?a=x",
		"https://protect-eu.mimecast.com/s/abc?domain=evil.example",
	};

	for (size_t i = 0; i < G_N_ELEMENTS(yes); i++)
		if (!csip_url_unwrap_is_gateway(yes[i], strlen(yes[i])))
			g_error("%s: not taken for a gateway", yes[i]);
	for (size_t i = 0; i < G_N_ELEMENTS(no); i++)
		if (csip_url_unwrap_is_gateway(no[i], strlen(no[i])))
			g_error("%s: taken for a gateway", no[i]);
}

static void
test_hostile(void)
{
	GString *u = g_string_new("https://r.example/?");
	char **v;

	/* %00 ends a decoded value. */
	expect("https://r.example/?u=https%3A%2F%2Fevil.example%00%2Fx",
	       "https://evil.example");
	/* Quotes, brackets and white space end the inner URL. */
	expect("https://r.example/?u=https://evil.example/x%22%3E%3Cb",
	       "https://evil.example/x%22%3E%3Cb");
	expect("https://r.example/?u=https%3A%2F%2Fevil.example%2Fx%22%3E",
	       "https://evil.example/x");
	/* Forty targets: sixteen come out. */
	for (int i = 0; i < 40; i++)
		g_string_append_printf(u, "u%d=https://e%d.example/&", i, i);
	v = csip_url_unwrap(u->str, u->len);
	g_assert_nonnull(v);
	g_assert_cmpuint(g_strv_length(v), ==, CSIP_URL_UNWRAP_MAX);
	g_assert_cmpstr(v[0], ==, "https://e0.example/");
	g_strfreev(v);
	/* Ten levels of wrapping: opened CSIP_URL_UNWRAP_DEPTH deep. */
	g_string_assign(u, "https://evil.example/end");
	for (int i = 0; i < 10; i++) {
		char *esc = g_uri_escape_string(u->str, NULL, FALSE);

		g_string_printf(u, "https://r%d.example/?u=%s", i, esc);
		g_free(esc);
	}
	v = csip_url_unwrap(u->str, u->len);
	g_assert_nonnull(v);
	g_assert_cmpuint(g_strv_length(v), ==, CSIP_URL_UNWRAP_DEPTH);
	g_assert_true(g_str_has_prefix(v[0], "https://r8.example/?u="));
	g_strfreev(v);
	/* Longer than the cap: not looked into. */
	g_string_assign(u, "https://r.example/?u=https://evil.example/&p=");
	while (u->len <= CSIP_URL_UNWRAP_MAX_LEN)
		g_string_append_c(u, 'a');
	g_assert_null(csip_url_unwrap(u->str, u->len));
	g_assert_null(csip_url_unwrap(NULL, 0));
	g_string_free(u, TRUE);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/url_unwrap/gateways", test_gateways);
	g_test_add_func("/url_unwrap/proxies-and-redirectors",
			test_proxies_and_redirectors);
	g_test_add_func("/url_unwrap/nested", test_nested);
	g_test_add_func("/url_unwrap/none", test_none);
	g_test_add_func("/url_unwrap/gateway", test_gateway);
	g_test_add_func("/url_unwrap/hostile", test_hostile);
	return g_test_run();
}
