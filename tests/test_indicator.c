/*
 * test_indicator.c - the indicator model: detection, canonical forms,
 * refanging, flags, errors, and idempotence (canonical in, canonical out).
 */
#include "lib/indicator.h"
#include "testutil.h"
#include "util/error.h"

#include <glib.h>
#include <string.h>

typedef struct ok_case {
	const char *in;
	csip_ind_type hint;
	csip_ind_type type;
	const char *value;
	const char *registrable;  /* NULL: none expected */
	unsigned flags;           /* flags that must be set */
} ok_case;

#define U CSIP_IND_UNKNOWN
static const ok_case ok_cases[] = {
	/* IPv4 */
	{ "198.51.100.7", U, CSIP_IND_IPV4, "198.51.100.7", NULL,
	  CSIP_IND_F_RESERVED },
	{ " 8.8.8.8\n", U, CSIP_IND_IPV4, "8.8.8.8", NULL, 0 },
	{ "1.2.3[.]4", U, CSIP_IND_IPV4, "1.2.3.4", NULL, CSIP_IND_F_REFANGED },
	{ "10.1.2.3", U, CSIP_IND_IPV4, "10.1.2.3", NULL, CSIP_IND_F_PRIVATE },
	{ "172.31.255.255", U, CSIP_IND_IPV4, "172.31.255.255", NULL,
	  CSIP_IND_F_PRIVATE },
	{ "172.32.0.1", U, CSIP_IND_IPV4, "172.32.0.1", NULL, 0 },
	{ "127.0.0.1", U, CSIP_IND_IPV4, "127.0.0.1", NULL,
	  CSIP_IND_F_LOOPBACK },
	{ "169.254.1.1", U, CSIP_IND_IPV4, "169.254.1.1", NULL,
	  CSIP_IND_F_LINKLOCAL },
	{ "100.64.0.1", U, CSIP_IND_IPV4, "100.64.0.1", NULL,
	  CSIP_IND_F_PRIVATE },
	{ "224.0.0.251", U, CSIP_IND_IPV4, "224.0.0.251", NULL,
	  CSIP_IND_F_RESERVED },
	{ "255.255.255.255", U, CSIP_IND_IPV4, "255.255.255.255", NULL,
	  CSIP_IND_F_RESERVED },
	{ "0.0.0.0", U, CSIP_IND_IPV4, "0.0.0.0", NULL, CSIP_IND_F_RESERVED },
	/* IPv6, RFC 5952 */
	{ "2001:0db8:0000:0000:0000:0000:0000:0001", U, CSIP_IND_IPV6,
	  "2001:db8::1", NULL, CSIP_IND_F_RESERVED },
	{ "2001:db8:0:0:1:0:0:1", U, CSIP_IND_IPV6, "2001:db8::1:0:0:1", NULL,
	  0 },
	{ "2001:DB8::A", U, CSIP_IND_IPV6, "2001:db8::a", NULL, 0 },
	{ "2001:db8:0:1:1:1:1:1", U, CSIP_IND_IPV6, "2001:db8:0:1:1:1:1:1",
	  NULL, 0 },
	{ "[2400:cb00::1]", U, CSIP_IND_IPV6, "2400:cb00::1", NULL, 0 },
	{ "::1", U, CSIP_IND_IPV6, "::1", NULL, CSIP_IND_F_LOOPBACK },
	{ "fe80::1", U, CSIP_IND_IPV6, "fe80::1", NULL, CSIP_IND_F_LINKLOCAL },
	{ "fd12:3456::1", U, CSIP_IND_IPV6, "fd12:3456::1", NULL,
	  CSIP_IND_F_PRIVATE },
	{ "::ffff:10.0.0.1", U, CSIP_IND_IPV6, "::ffff:10.0.0.1", NULL,
	  CSIP_IND_F_PRIVATE },
	/* CIDR */
	{ "192.0.2.77/24", U, CSIP_IND_CIDR4, "192.0.2.0/24", NULL,
	  CSIP_IND_F_RESERVED },
	{ "10.9.8.7/8", U, CSIP_IND_CIDR4, "10.0.0.0/8", NULL,
	  CSIP_IND_F_PRIVATE },
	{ "0.0.0.0/0", U, CSIP_IND_CIDR4, "0.0.0.0/0", NULL, 0 },
	{ "2001:DB8:1234::5/32", U, CSIP_IND_CIDR6, "2001:db8::/32", NULL,
	  CSIP_IND_F_RESERVED },
	{ "203.0.113.9", CSIP_IND_CIDR4, CSIP_IND_CIDR4, "203.0.113.9/32",
	  NULL, 0 },
	/* Names */
	{ "Example.COM.", U, CSIP_IND_DOMAIN, "example.com", "example.com", 0 },
	{ "www.example.co.jp", U, CSIP_IND_HOSTNAME, "www.example.co.jp",
	  "example.co.jp", 0 },
	{ "example.co.jp", U, CSIP_IND_DOMAIN, "example.co.jp",
	  "example.co.jp", 0 },
	{ "evil[.]example[.]com", U, CSIP_IND_HOSTNAME, "evil.example.com",
	  "example.com", CSIP_IND_F_REFANGED },
	{ "example[dot]org", U, CSIP_IND_DOMAIN, "example.org", "example.org",
	  CSIP_IND_F_REFANGED },
	{ "bücher.example", U, CSIP_IND_DOMAIN, "xn--bcher-kva.example",
	  "xn--bcher-kva.example", CSIP_IND_F_IDN },
	{ "例え.jp", U, CSIP_IND_DOMAIN, "xn--r8jz45g.jp", "xn--r8jz45g.jp",
	  CSIP_IND_F_IDN },
	{ "XN--BCHER-KVA.example", U, CSIP_IND_DOMAIN, "xn--bcher-kva.example",
	  "xn--bcher-kva.example", CSIP_IND_F_IDN },
	{ "_dmarc.example.com", U, CSIP_IND_HOSTNAME, "_dmarc.example.com",
	  "example.com", 0 },
	{ "www.example.com", CSIP_IND_DOMAIN, CSIP_IND_DOMAIN,
	  "www.example.com", "example.com", 0 },
	{ "localhost", CSIP_IND_HOSTNAME, CSIP_IND_HOSTNAME, "localhost", NULL,
	  0 },
	{ "co.jp", CSIP_IND_DOMAIN, CSIP_IND_DOMAIN, "co.jp", NULL,
	  CSIP_IND_F_PUBLIC_SUFFIX },
	/* URLs */
	{ "HTTP://WWW.Example.COM:80/a%7eb", U, CSIP_IND_URL,
	  "http://www.example.com/a~b", "example.com", 0 },
	{ "hxxps://evil[.]example[.]com/path?x=1#frag", U, CSIP_IND_URL,
	  "https://evil.example.com/path?x=1", "example.com",
	  CSIP_IND_F_REFANGED },
	{ "https://example.com", U, CSIP_IND_URL, "https://example.com/",
	  "example.com", 0 },
	{ "https://example.com:8443/a/./b/../c", U, CSIP_IND_URL,
	  "https://example.com:8443/a/c", "example.com", 0 },
	{ "http://example.com/a b/%e3%81%82", U, CSIP_IND_URL,
	  "http://example.com/a%20b/%E3%81%82", "example.com", 0 },
	{ "http://user:pw@198.51.100.5:8080/x.exe", U, CSIP_IND_URL,
	  "http://user:pw@198.51.100.5:8080/x.exe", NULL,
	  CSIP_IND_F_RESERVED },
	{ "http://[2001:DB8::1]/", U, CSIP_IND_URL, "http://[2001:db8::1]/",
	  NULL, 0 },
	{ "http://日本語.jp/パス", U, CSIP_IND_URL,
	  "http://xn--wgv71a119e.jp/%E3%83%91%E3%82%B9", "xn--wgv71a119e.jp",
	  CSIP_IND_F_IDN },
	{ "meow://evil.example/x", U, CSIP_IND_URL, "http://evil.example/x",
	  "evil.example", CSIP_IND_F_REFANGED },
	/* E-mail */
	{ "Taro.Yamada@Example.CO.JP", U, CSIP_IND_EMAIL,
	  "taro.yamada@example.co.jp", "example.co.jp", 0 },
	{ "user[@]example[.]com", U, CSIP_IND_EMAIL, "user@example.com",
	  "example.com", CSIP_IND_F_REFANGED },
	{ "a+tag@mail.example.org", U, CSIP_IND_EMAIL, "a+tag@mail.example.org",
	  "example.org", 0 },
	/* Hashes */
	{ "D41D8CD98F00B204E9800998ECF8427E", U, CSIP_IND_MD5,
	  "d41d8cd98f00b204e9800998ecf8427e", NULL, 0 },
	{ "da39a3ee5e6b4b0d3255bfef95601890afd80709", U, CSIP_IND_SHA1,
	  "da39a3ee5e6b4b0d3255bfef95601890afd80709", NULL, 0 },
	{ "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
	  U, CSIP_IND_SHA256,
	  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	  NULL, 0 },
	{ "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
	  "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
	  U, CSIP_IND_SHA512,
	  "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
	  "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
	  NULL, 0 },
	{ "96:s4Ud1Lj96tHHlZDrwciQmA+4uy1I0G4HYuL8N3TzS8QsO/wqWXLcMSx:"
	  "sF1LjEtHHlZDrwciQmBTlGT1Jfm8MmMSx,\"/tmp/x\"", U, CSIP_IND_SSDEEP,
	  "96:s4Ud1Lj96tHHlZDrwciQmA+4uy1I0G4HYuL8N3TzS8QsO/wqWXLcMSx:"
	  "sF1LjEtHHlZDrwciQmBTlGT1Jfm8MmMSx", NULL, 0 },
	/* The rest */
	{ "AS64496", U, CSIP_IND_ASN, "AS64496", NULL, 0 },
	{ "asn 4200000000", U, CSIP_IND_ASN, "AS4200000000", NULL, 0 },
	{ "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\", U,
	  CSIP_IND_REGKEY, "HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Windows\\"
	  "CurrentVersion\\Run", NULL, 0 },
	{ "hkcu/Software//Evil", U, CSIP_IND_REGKEY,
	  "HKEY_CURRENT_USER\\Software\\Evil", NULL, 0 },
	{ " 請求書.pdf.exe ", CSIP_IND_FILENAME, CSIP_IND_FILENAME,
	  "請求書.pdf.exe", NULL, 0 },
	{ "Global\\EvilMutex", CSIP_IND_MUTEX, CSIP_IND_MUTEX,
	  "Global\\EvilMutex", NULL, 0 },
	{ "Mozilla/4.0 (compatible; MSIE 6.0)", CSIP_IND_USER_AGENT,
	  CSIP_IND_USER_AGENT, "Mozilla/4.0 (compatible; MSIE 6.0)", NULL, 0 },
	{ "【至急】請求書の確認", CSIP_IND_EMAIL_SUBJECT, CSIP_IND_EMAIL_SUBJECT,
	  "【至急】請求書の確認", NULL, 0 },
	{ "Microsoft Outlook 16.0", CSIP_IND_X_MAILER, CSIP_IND_X_MAILER,
	  "Microsoft Outlook 16.0", NULL, 0 },
};

static void
test_ok(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(ok_cases); i++) {
		const ok_case *c = &ok_cases[i];
		csip_indicator *ind = NULL, *again = NULL;

		if (csip_indicator_parse(c->in, strlen(c->in), c->hint, &ind)
		    < 0)
			g_error("%s: %s", c->in, csip_error_last());
		if (ind->type != c->type || strcmp(ind->value, c->value) != 0)
			g_error("%s: got %s %s, want %s %s", c->in,
				csip_ind_type_name(ind->type), ind->value,
				csip_ind_type_name(c->type), c->value);
		g_assert_cmpstr(ind->registrable, ==, c->registrable);
		if ((ind->flags & c->flags) != c->flags)
			g_error("%s: flags %#x, want %#x", c->in, ind->flags,
				c->flags);
		/* Idempotence: the canonical value parses to itself. */
		csip_assert_ok(csip_indicator_parse(ind->value,
			strlen(ind->value), ind->type, &again));
		g_assert_cmpstr(again->value, ==, ind->value);
		csip_indicator_free(again);
		csip_indicator_free(ind);
	}
}

static void
test_display(void)
{
	csip_indicator *ind = NULL;

	csip_assert_ok(csip_indicator_parse("xn--r8jz45g.jp", 14, U, &ind));
	g_assert_cmpstr(ind->display, ==, "例え.jp");
	csip_indicator_free(ind);
	csip_assert_ok(csip_indicator_parse("http://bücher.example/a", 24, U,
					    &ind));
	g_assert_cmpstr(ind->value, ==, "http://xn--bcher-kva.example/a");
	g_assert_cmpstr(ind->display, ==, "http://bücher.example/a");
	csip_indicator_free(ind);
	csip_indicator_free(NULL);
}

static const struct { const char *in; csip_ind_type hint; int code;
		      const char *needle; } bad_cases[] = {
	{ "", U, CSIP_EINVAL, "empty" },
	{ "   ", U, CSIP_EINVAL, "empty" },
	{ "999.1.1.1", U, CSIP_EINVAL, "999.1.1.1" },
	{ "010.1.1.1", U, CSIP_EINVAL, "leading zeros" },
	{ "1.2.3", U, CSIP_EINVAL, "1.2.3" },
	{ "1.2.3.4.5", U, CSIP_EINVAL, "1.2.3.4.5" },
	{ "10.0.0.0/33", U, CSIP_EINVAL, "10.0.0.0/33" },
	{ "2001:db8::/129", U, CSIP_EINVAL, "2001:db8::/129" },
	{ "2001:db8:::1", U, CSIP_EINVAL, "2001:db8:::1" },
	{ "co.jp", U, CSIP_EINVAL, "public suffix" },
	{ "com", U, CSIP_EINVAL, "cannot tell" },
	{ "-bad-.example.com", U, CSIP_EINVAL, "not a valid host name" },
	{ "a..example.com", U, CSIP_EINVAL, "not a valid host name" },
	{ "http://", U, CSIP_EINVAL, "not a valid URL" },
	{ "http://example.com:99999/", U, CSIP_EINVAL, "not a valid URL" },
	{ "://example.com", U, CSIP_EINVAL, "not a valid URL" },
	{ "user@@example.com", U, CSIP_EINVAL, "e-mail" },
	{ ".user@example.com", U, CSIP_EINVAL, "e-mail" },
	{ "user@co.jp.", CSIP_IND_EMAIL, CSIP_OK, NULL },
	{ "d41d8cd98f00b204e9800998ecf8427", CSIP_IND_MD5, CSIP_EINVAL,
	  "md5 hash" },
	{ "AS99999999999", CSIP_IND_ASN, CSIP_EINVAL, "AS" },
	{ "just some words", U, CSIP_EINVAL, "give its type" },
	{ "bad\x01name.exe", CSIP_IND_FILENAME, CSIP_EINVAL, "control" },
	{ "\xff\xfe.exe", CSIP_IND_FILENAME, CSIP_EINVAL, "UTF-8" },
	{ "Software\\Run", CSIP_IND_REGKEY, CSIP_EINVAL, "hive" },
};

static void
test_bad(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
		csip_indicator *ind = NULL;
		int rc = csip_indicator_parse(bad_cases[i].in,
			strlen(bad_cases[i].in), bad_cases[i].hint, &ind);

		if (rc != bad_cases[i].code)
			g_error("%s: rc %d, want %d (%s)", bad_cases[i].in, rc,
				bad_cases[i].code, csip_error_last());
		if (rc == CSIP_OK) {
			csip_indicator_free(ind);
			continue;
		}
		g_assert_null(ind);
		if (strstr(csip_error_last(), bad_cases[i].needle) == NULL)
			g_error("%s: \"%s\" not in \"%s\"", bad_cases[i].in,
				bad_cases[i].needle, csip_error_last());
	}
}

static void
test_caps(void)
{
	char *big = g_malloc(10000);
	csip_indicator *ind = NULL;

	memset(big, 'a', 10000);
	g_assert_cmpint(csip_indicator_parse(big, 10000, U, &ind), ==,
			CSIP_ETOOBIG);
	g_assert_cmpint(csip_indicator_parse(big, 2000, CSIP_IND_FILENAME,
					     &ind), ==, CSIP_ETOOBIG);
	g_assert_cmpint(csip_indicator_parse("a\0b", 3, CSIP_IND_FILENAME,
					     &ind), ==, CSIP_EINVAL);
	g_free(big);
}

static void
test_refang_defang(void)
{
	static const struct { const char *in, *out; } r[] = {
		{ "hxxp://a[.]b[.]c/x", "http://a.b.c/x" },
		{ "HXXPS://a(.)b", "https://a.b" },
		{ "fxp://files[.]example", "ftp://files.example" },
		{ "a[dot]b{.}c", "a.b.c" },
		{ "x[at]y(@)z", "x@y@z" },
		{ "meow://q", "http://q" },
		{ "http[://]x", "http://x" },
		{ "report(1).pdf", "report(1).pdf" },
		{ "ahxxp", "ahxxp" },
		{ "plain text", "plain text" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(r); i++) {
		char *o = csip_refang(r[i].in, strlen(r[i].in));

		g_assert_cmpstr(o, ==, r[i].out);
		g_free(o);
	}
	{
		char *d = csip_defang(CSIP_IND_URL, "http://evil.example.com/a.b");

		g_assert_cmpstr(d, ==, "hxxp://evil[.]example[.]com/a.b");
		g_free(d);
		d = csip_defang(CSIP_IND_IPV4, "1.2.3.4");
		g_assert_cmpstr(d, ==, "1.2.3[.]4");
		g_free(d);
		d = csip_defang(CSIP_IND_EMAIL, "a@b.example");
		g_assert_cmpstr(d, ==, "a[@]b[.]example");
		g_free(d);
		d = csip_defang(CSIP_IND_MD5, "d41d8cd98f00b204e9800998ecf8427e");
		g_assert_cmpstr(d, ==, "d41d8cd98f00b204e9800998ecf8427e");
		g_free(d);
	}
}

static void
test_types_and_helpers(void)
{
	char *c = NULL;

	for (int t = 1; t < CSIP_IND__COUNT; t++)
		g_assert_cmpint(csip_ind_type_from_name(csip_ind_type_name(t)),
				==, t);
	g_assert_cmpint(csip_ind_type_from_name("nope"), ==, U);
	g_assert_cmpstr(csip_ind_type_name(99), ==, "unknown");
	csip_assert_ok(csip_cidr_canonical("192.0.2.9", &c));
	g_assert_cmpstr(c, ==, "192.0.2.9/32");
	g_free(c);
	csip_assert_ok(csip_cidr_canonical("2001:db8::9", &c));
	g_assert_cmpstr(c, ==, "2001:db8::9/128");
	g_free(c);
	g_assert_cmpint(csip_cidr_canonical("nope", &c), ==, CSIP_EINVAL);
	csip_assert_ok(csip_domain_canonical(" Mail.Example.JP. ", &c));
	g_assert_cmpstr(c, ==, "mail.example.jp");
	g_free(c);
	g_assert_cmpint(csip_domain_canonical("localhost", &c), ==,
			CSIP_EINVAL);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/indicator/ok", test_ok);
	g_test_add_func("/indicator/display", test_display);
	g_test_add_func("/indicator/bad", test_bad);
	g_test_add_func("/indicator/caps", test_caps);
	g_test_add_func("/indicator/refang-defang", test_refang_defang);
	g_test_add_func("/indicator/types-and-helpers", test_types_and_helpers);
	return g_test_run();
}
