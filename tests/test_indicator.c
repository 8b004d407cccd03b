/*
 * test_indicator.c - the indicator model: detection of every type,
 * canonical forms (RFC 5952, CIDR, IDN, URL normalisation), refanging and
 * defanging, flags, errors that name the input, size caps, the helpers for
 * organisation networks and domains, and idempotence over every valid case.
 */
#include "lib/indicator.h"
#include "util/error.h"

#include <glib.h>
#include <string.h>

#define U     CSIP_IND_UNKNOWN
#define F_REF CSIP_IND_F_REFANGED
#define F_IDN CSIP_IND_F_IDN
#define F_PRV CSIP_IND_F_PRIVATE
#define F_RES CSIP_IND_F_RESERVED
#define F_LO  CSIP_IND_F_LOOPBACK
#define F_LL  CSIP_IND_F_LINKLOCAL
#define F_PS  CSIP_IND_F_PUBLIC_SUFFIX

#define assert_ok(expr) do { \
	int rc_ = (expr); \
	if (rc_ < 0) \
		g_error("%s failed: %d %s", #expr, rc_, csip_error_last()); \
} while (0)

typedef struct ok_case {
	const char *in;
	csip_ind_type hint;
	csip_ind_type type;
	const char *value;
	const char *display;      /* NULL: same as value */
	const char *registrable;  /* NULL: none expected */
	unsigned flags;           /* exactly these */
} ok_case;

static const ok_case ok_cases[] = {
	/* IPv4 and its special ranges */
	{ "198.51.100.7", U, CSIP_IND_IPV4, "198.51.100.7", NULL, NULL,
	  F_RES },
	{ " 8.8.8.8\n", U, CSIP_IND_IPV4, "8.8.8.8", NULL, NULL, 0 },
	{ "1.2.3[.]4", U, CSIP_IND_IPV4, "1.2.3.4", NULL, NULL, F_REF },
	{ "1(.)2(.)3(.)4", U, CSIP_IND_IPV4, "1.2.3.4", NULL, NULL, F_REF },
	{ "1.2.3.4", CSIP_IND_IPV4, CSIP_IND_IPV4, "1.2.3.4", NULL, NULL, 0 },
	{ "0.0.0.0", U, CSIP_IND_IPV4, "0.0.0.0", NULL, NULL, F_RES },
	{ "0.1.2.3", U, CSIP_IND_IPV4, "0.1.2.3", NULL, NULL, F_RES },
	{ "10.1.2.3", U, CSIP_IND_IPV4, "10.1.2.3", NULL, NULL, F_PRV },
	{ "100.64.0.1", U, CSIP_IND_IPV4, "100.64.0.1", NULL, NULL, F_PRV },
	{ "100.127.255.254", U, CSIP_IND_IPV4, "100.127.255.254", NULL, NULL,
	  F_PRV },
	{ "100.128.0.1", U, CSIP_IND_IPV4, "100.128.0.1", NULL, NULL, 0 },
	{ "127.0.0.1", U, CSIP_IND_IPV4, "127.0.0.1", NULL, NULL, F_LO },
	{ "169.254.1.1", U, CSIP_IND_IPV4, "169.254.1.1", NULL, NULL, F_LL },
	{ "172.16.0.1", U, CSIP_IND_IPV4, "172.16.0.1", NULL, NULL, F_PRV },
	{ "172.31.255.255", U, CSIP_IND_IPV4, "172.31.255.255", NULL, NULL,
	  F_PRV },
	{ "172.32.0.1", U, CSIP_IND_IPV4, "172.32.0.1", NULL, NULL, 0 },
	{ "192.0.0.9", U, CSIP_IND_IPV4, "192.0.0.9", NULL, NULL, F_RES },
	{ "192.0.2.1", U, CSIP_IND_IPV4, "192.0.2.1", NULL, NULL, F_RES },
	{ "192.168.10.1", U, CSIP_IND_IPV4, "192.168.10.1", NULL, NULL,
	  F_PRV },
	{ "198.18.0.1", U, CSIP_IND_IPV4, "198.18.0.1", NULL, NULL, F_RES },
	{ "198.19.255.255", U, CSIP_IND_IPV4, "198.19.255.255", NULL, NULL,
	  F_RES },
	{ "198.20.0.1", U, CSIP_IND_IPV4, "198.20.0.1", NULL, NULL, 0 },
	{ "203.0.113.5", U, CSIP_IND_IPV4, "203.0.113.5", NULL, NULL, F_RES },
	{ "224.0.0.251", U, CSIP_IND_IPV4, "224.0.0.251", NULL, NULL, F_RES },
	{ "239.255.255.250", U, CSIP_IND_IPV4, "239.255.255.250", NULL, NULL,
	  F_RES },
	{ "240.0.0.1", U, CSIP_IND_IPV4, "240.0.0.1", NULL, NULL, F_RES },
	{ "255.255.255.255", U, CSIP_IND_IPV4, "255.255.255.255", NULL, NULL,
	  F_RES },

	/* IPv6, RFC 5952 */
	{ "2001:0db8:0000:0000:0000:0000:0000:0001", U, CSIP_IND_IPV6,
	  "2001:db8::1", NULL, NULL, F_RES },
	{ "2001:db8:0:0:1:0:0:1", U, CSIP_IND_IPV6, "2001:db8::1:0:0:1", NULL,
	  NULL, F_RES },
	{ "2001:DB8::A", U, CSIP_IND_IPV6, "2001:db8::a", NULL, NULL, F_RES },
	{ "2001:db8:0:1:1:1:1:1", U, CSIP_IND_IPV6, "2001:db8:0:1:1:1:1:1",
	  NULL, NULL, F_RES },
	{ "2001:db8:0:0:1:0:0:0", U, CSIP_IND_IPV6, "2001:db8:0:0:1::", NULL,
	  NULL, F_RES },
	{ "2001:db8:1:0:0:1:0:0", U, CSIP_IND_IPV6, "2001:db8:1::1:0:0", NULL,
	  NULL, F_RES },
	{ "2001:0:0:1:0:0:0:1", U, CSIP_IND_IPV6, "2001:0:0:1::1", NULL, NULL,
	  0 },
	{ "2606:4700:4700:0000:0000:0000:0000:1111", U, CSIP_IND_IPV6,
	  "2606:4700:4700::1111", NULL, NULL, 0 },
	{ "[2400:cb00::1]", U, CSIP_IND_IPV6, "2400:cb00::1", NULL, NULL, 0 },
	{ "::1", U, CSIP_IND_IPV6, "::1", NULL, NULL, F_LO },
	{ "::", U, CSIP_IND_IPV6, "::", NULL, NULL, F_RES },
	{ "FE80::1", U, CSIP_IND_IPV6, "fe80::1", NULL, NULL, F_LL },
	{ "fd12:3456::1", U, CSIP_IND_IPV6, "fd12:3456::1", NULL, NULL,
	  F_PRV },
	{ "fc00::1", U, CSIP_IND_IPV6, "fc00::1", NULL, NULL, F_PRV },
	{ "fec0::1", U, CSIP_IND_IPV6, "fec0::1", NULL, NULL, F_RES },
	{ "ff02::1", U, CSIP_IND_IPV6, "ff02::1", NULL, NULL, F_RES },
	{ "3fff:1::1", U, CSIP_IND_IPV6, "3fff:1::1", NULL, NULL, F_RES },
	{ "::ffff:192.0.2.1", U, CSIP_IND_IPV6, "::ffff:192.0.2.1", NULL, NULL,
	  F_RES },
	{ "::ffff:c000:0201", U, CSIP_IND_IPV6, "::ffff:192.0.2.1", NULL, NULL,
	  F_RES },
	{ "::FFFF:10.0.0.1", U, CSIP_IND_IPV6, "::ffff:10.0.0.1", NULL, NULL,
	  F_PRV },
	{ "::ffff:8.8.8.8", U, CSIP_IND_IPV6, "::ffff:8.8.8.8", NULL, NULL,
	  0 },
	/* NAT64's well-known prefix: the flags of the IPv4 address in it */
	{ "64:ff9b::10.0.0.1", U, CSIP_IND_IPV6, "64:ff9b::a00:1", NULL, NULL,
	  F_PRV },
	{ "64:ff9b::c633:6401", U, CSIP_IND_IPV6, "64:ff9b::c633:6401", NULL,
	  NULL, F_RES },
	{ "64:ff9b::8.8.8.8", U, CSIP_IND_IPV6, "64:ff9b::808:808", NULL, NULL,
	  0 },
	{ "64:ff9b:1::a00:1", U, CSIP_IND_IPV6, "64:ff9b:1::a00:1", NULL, NULL,
	  F_PRV },
	{ "2001:db8::1", CSIP_IND_IPV6, CSIP_IND_IPV6, "2001:db8::1", NULL,
	  NULL, F_RES },

	/* CIDR: host bits cleared; flagged when inside a special range */
	{ "192.0.2.77/24", U, CSIP_IND_CIDR4, "192.0.2.0/24", NULL, NULL,
	  F_RES },
	{ "10.9.8.7/8", U, CSIP_IND_CIDR4, "10.0.0.0/8", NULL, NULL, F_PRV },
	{ "172.16.0.0/12", U, CSIP_IND_CIDR4, "172.16.0.0/12", NULL, NULL,
	  F_PRV },
	{ "172.0.0.0/8", U, CSIP_IND_CIDR4, "172.0.0.0/8", NULL, NULL, 0 },
	{ "192.168.1.255/31", U, CSIP_IND_CIDR4, "192.168.1.254/31", NULL,
	  NULL, F_PRV },
	{ "0.0.0.0/0", U, CSIP_IND_CIDR4, "0.0.0.0/0", NULL, NULL, 0 },
	{ "198.51.100.7/32", U, CSIP_IND_CIDR4, "198.51.100.7/32", NULL, NULL,
	  F_RES },
	{ "203.0.113.9", CSIP_IND_CIDR4, CSIP_IND_CIDR4, "203.0.113.9/32",
	  NULL, NULL, F_RES },
	{ "2001:DB8:1234::5/32", U, CSIP_IND_CIDR6, "2001:db8::/32", NULL,
	  NULL, F_RES },
	{ "2001:db8::/31", U, CSIP_IND_CIDR6, "2001:db8::/31", NULL, NULL, 0 },
	{ "fe80::1234/64", U, CSIP_IND_CIDR6, "fe80::/64", NULL, NULL, F_LL },
	{ "::ffff:10.1.2.3/104", U, CSIP_IND_CIDR6, "::ffff:10.0.0.0/104",
	  NULL, NULL, F_PRV },
	{ "64:ff9b::192.168.0.0/112", U, CSIP_IND_CIDR6, "64:ff9b::c0a8:0/112",
	  NULL, NULL, F_PRV },
	{ "2001:db8::9", CSIP_IND_CIDR6, CSIP_IND_CIDR6, "2001:db8::9/128",
	  NULL, NULL, F_RES },

	/* Domains and host names */
	{ "Example.COM.", U, CSIP_IND_DOMAIN, "example.com", NULL,
	  "example.com", 0 },
	{ "example.co.jp", U, CSIP_IND_DOMAIN, "example.co.jp", NULL,
	  "example.co.jp", 0 },
	{ "www.example.co.jp", U, CSIP_IND_HOSTNAME, "www.example.co.jp", NULL,
	  "example.co.jp", 0 },
	{ "a.b.c.example.co.uk", U, CSIP_IND_HOSTNAME, "a.b.c.example.co.uk",
	  NULL, "example.co.uk", 0 },
	{ "www.city.kawasaki.jp", U, CSIP_IND_HOSTNAME, "www.city.kawasaki.jp",
	  NULL, "city.kawasaki.jp", 0 },
	{ "foo.bar.example", U, CSIP_IND_HOSTNAME, "foo.bar.example", NULL,
	  "bar.example", 0 },
	{ "r3---sn-abc.googlevideo.com", U, CSIP_IND_HOSTNAME,
	  "r3---sn-abc.googlevideo.com", NULL, "googlevideo.com", 0 },
	{ "_dmarc.example.com", U, CSIP_IND_HOSTNAME, "_dmarc.example.com",
	  NULL, "example.com", 0 },
	{ "evil[.]example[.]com", U, CSIP_IND_HOSTNAME, "evil.example.com",
	  NULL, "example.com", F_REF },
	{ "example[dot]org", U, CSIP_IND_DOMAIN, "example.org", NULL,
	  "example.org", F_REF },
	{ "example(dot)net", U, CSIP_IND_DOMAIN, "example.net", NULL,
	  "example.net", F_REF },
	{ "example{.}com", U, CSIP_IND_DOMAIN, "example.com", NULL,
	  "example.com", F_REF },
	{ "example [.] com", U, CSIP_IND_DOMAIN, "example.com", NULL,
	  "example.com", F_REF },
	{ "sub\\.example\\.com", U, CSIP_IND_HOSTNAME, "sub.example.com",
	  NULL, "example.com", F_REF },
	{ "bücher.example", U, CSIP_IND_DOMAIN, "xn--bcher-kva.example",
	  "bücher.example", "xn--bcher-kva.example", F_IDN },
	{ "BÜCHER.example", U, CSIP_IND_DOMAIN, "xn--bcher-kva.example",
	  "bücher.example", "xn--bcher-kva.example", F_IDN },
	{ "XN--BCHER-KVA.example", U, CSIP_IND_DOMAIN, "xn--bcher-kva.example",
	  "bücher.example", "xn--bcher-kva.example", F_IDN },
	/* Mixed-case ASCII names (Received headers) take the fast path;
	 * the answer is that of the general one. */
	{ "Mail.Example.CO.JP", U, CSIP_IND_HOSTNAME, "mail.example.co.jp",
	  NULL, "example.co.jp", 0 },
	{ "BN8NAM12FT066.mail.protection.outlook.com", U, CSIP_IND_HOSTNAME,
	  "bn8nam12ft066.mail.protection.outlook.com", NULL, "outlook.com",
	  0 },
	{ "Xn--Bcher-Kva.Example", U, CSIP_IND_DOMAIN, "xn--bcher-kva.example",
	  "bücher.example", "xn--bcher-kva.example", F_IDN },
	{ "例え.jp", U, CSIP_IND_DOMAIN, "xn--r8jz45g.jp", "例え.jp",
	  "xn--r8jz45g.jp", F_IDN },
	{ "日本語.jp", U, CSIP_IND_DOMAIN, "xn--wgv71a119e.jp", "日本語.jp",
	  "xn--wgv71a119e.jp", F_IDN },
	{ "www。例え。jp", U, CSIP_IND_HOSTNAME, "www.xn--r8jz45g.jp",
	  "www.例え.jp", "xn--r8jz45g.jp", F_IDN },
	{ "ｅｘａｍｐｌｅ．ｃｏｍ", U, CSIP_IND_DOMAIN, "example.com", NULL,
	  "example.com", 0 },
	{ "faß.de", U, CSIP_IND_DOMAIN, "xn--fa-hia.de", "faß.de",
	  "xn--fa-hia.de", F_IDN },
	/* Symbols only transitional processing takes, as old browsers did */
	{ "😀😀.example", U, CSIP_IND_DOMAIN, "xn--e28ha.example",
	  "😀😀.example", "xn--e28ha.example", F_IDN },
	{ "a\u200db.example", U, CSIP_IND_DOMAIN, "ab.example", NULL,
	  "ab.example", 0 },
	{ "www.example.com", CSIP_IND_DOMAIN, CSIP_IND_DOMAIN,
	  "www.example.com", NULL, "example.com", 0 },
	{ "example.com", CSIP_IND_HOSTNAME, CSIP_IND_HOSTNAME, "example.com",
	  NULL, "example.com", 0 },
	{ "localhost", CSIP_IND_HOSTNAME, CSIP_IND_HOSTNAME, "localhost", NULL,
	  NULL, 0 },
	{ "co.jp", CSIP_IND_DOMAIN, CSIP_IND_DOMAIN, "co.jp", NULL, NULL,
	  F_PS },
	{ "COM", CSIP_IND_DOMAIN, CSIP_IND_DOMAIN, "com", NULL, NULL, F_PS },
	{ "github.io", U, CSIP_IND_DOMAIN, "github.io", NULL, "github.io",
	  F_PS },
	{ "evil.duckdns.org", U, CSIP_IND_DOMAIN, "evil.duckdns.org", NULL,
	  "evil.duckdns.org", 0 },

	/* URLs */
	{ "HTTP://WWW.Example.COM:80/a%7eb", U, CSIP_IND_URL,
	  "http://www.example.com/a~b", NULL, "example.com", 0 },
	{ "hxxps://evil[.]example[.]com/path?x=1#frag", U, CSIP_IND_URL,
	  "https://evil.example.com/path?x=1", NULL, "example.com", F_REF },
	{ "https://example.com", U, CSIP_IND_URL, "https://example.com/", NULL,
	  "example.com", 0 },
	{ "https://example.com:443", U, CSIP_IND_URL, "https://example.com/",
	  NULL, "example.com", 0 },
	{ "http://example.com:0080/", U, CSIP_IND_URL, "http://example.com/",
	  NULL, "example.com", 0 },
	{ "ftp://files.example.net:21", U, CSIP_IND_URL,
	  "ftp://files.example.net/", NULL, "example.net", 0 },
	{ "https://example.com:8443/a/./b/../c", U, CSIP_IND_URL,
	  "https://example.com:8443/a/c", NULL, "example.com", 0 },
	{ "http://example.com/a/b/..", U, CSIP_IND_URL,
	  "http://example.com/a/", NULL, "example.com", 0 },
	{ "http://example.com/%2e%2E/x", U, CSIP_IND_URL,
	  "http://example.com/x", NULL, "example.com", 0 },
	{ "http://example.com/a b/%e3%81%82", U, CSIP_IND_URL,
	  "http://example.com/a%20b/%E3%81%82", NULL, "example.com", 0 },
	{ "http://example.com/?q=a%2fb&r=%41", U, CSIP_IND_URL,
	  "http://example.com/?q=a%2Fb&r=A", NULL, "example.com", 0 },
	{ "http://example.com/100%", U, CSIP_IND_URL,
	  "http://example.com/100%25", NULL, "example.com", 0 },
	{ "http://example.com/a%zz", U, CSIP_IND_URL,
	  "http://example.com/a%25zz", NULL, "example.com", 0 },
	{ "http://example.com/{x}|^`[1]", U, CSIP_IND_URL,
	  "http://example.com/%7Bx%7D%7C%5E%60%5B1%5D", NULL, "example.com",
	  0 },
	{ "http://www.example.com/wiki/Foo_(bar)", U, CSIP_IND_URL,
	  "http://www.example.com/wiki/Foo_(bar)", NULL, "example.com", 0 },
	{ "HTTPS://EXAMPLE.COM/PATH?Q=UPPER", U, CSIP_IND_URL,
	  "https://example.com/PATH?Q=UPPER", NULL, "example.com", 0 },
	{ "http://example.com?q", U, CSIP_IND_URL, "http://example.com/?q",
	  NULL, "example.com", 0 },
	{ "http://example.com./x", U, CSIP_IND_URL, "http://example.com/x",
	  NULL, "example.com", 0 },
	{ "http://ex%41mple.com/", U, CSIP_IND_URL, "http://example.com/",
	  NULL, "example.com", 0 },
	{ "http://a@b@example.com/", U, CSIP_IND_URL,
	  "http://a%40b@example.com/", NULL, "example.com", 0 },
	{ "http://user:pw@198.51.100.5:8080/x.exe", U, CSIP_IND_URL,
	  "http://user:pw@198.51.100.5:8080/x.exe", NULL, NULL, F_RES },
	{ "http://10.0.0.1/admin", U, CSIP_IND_URL, "http://10.0.0.1/admin",
	  NULL, NULL, F_PRV },
	{ "http://[2001:DB8::1]/", U, CSIP_IND_URL, "http://[2001:db8::1]/",
	  NULL, NULL, F_RES },
	{ "http://[2001:db8:0:0::1]:8080", U, CSIP_IND_URL,
	  "http://[2001:db8::1]:8080/", NULL, NULL, F_RES },
	{ "http://localhost:8080/x", U, CSIP_IND_URL,
	  "http://localhost:8080/x", NULL, NULL, 0 },
	{ "http://日本語.jp/パス", U, CSIP_IND_URL,
	  "http://xn--wgv71a119e.jp/%E3%83%91%E3%82%B9",
	  "http://日本語.jp/%E3%83%91%E3%82%B9", "xn--wgv71a119e.jp", F_IDN },
	{ "tcp://203.0.113.5:4444", U, CSIP_IND_URL, "tcp://203.0.113.5:4444",
	  NULL, NULL, F_RES },
	{ "meow://evil.example/x", U, CSIP_IND_URL, "http://evil.example/x",
	  NULL, "evil.example", F_REF },
	{ "hXXp[://]evil[.]example/gate.php", U, CSIP_IND_URL,
	  "http://evil.example/gate.php", NULL, "evil.example", F_REF },
	{ "http[:]//198.51.100.9[:]8080/", U, CSIP_IND_URL,
	  "http://198.51.100.9:8080/", NULL, NULL, F_REF | F_RES },
	{ "ttp://example.jp/", U, CSIP_IND_URL, "http://example.jp/", NULL,
	  "example.jp", F_REF },
	{ "h**ps://a.example.com/", U, CSIP_IND_URL, "https://a.example.com/",
	  NULL, "example.com", F_REF },
	{ "fxp://files.example.net/a.zip", U, CSIP_IND_URL,
	  "ftp://files.example.net/a.zip", NULL, "example.net", F_REF },
	{ "hxxp://evil[.]example[/]a(.)php", U, CSIP_IND_URL,
	  "http://evil.example/a.php", NULL, "evil.example", F_REF },

	/* E-mail addresses */
	{ "Taro.Yamada@Example.CO.JP", U, CSIP_IND_EMAIL,
	  "taro.yamada@example.co.jp", NULL, "example.co.jp", 0 },
	{ "user[@]example[.]com", U, CSIP_IND_EMAIL, "user@example.com", NULL,
	  "example.com", F_REF },
	{ "user(at)example(dot)com", U, CSIP_IND_EMAIL, "user@example.com",
	  NULL, "example.com", F_REF },
	{ "info (at) example (dot) co (dot) jp", U, CSIP_IND_EMAIL,
	  "info@example.co.jp", NULL, "example.co.jp", F_REF },
	{ "a+tag@mail.example.org", U, CSIP_IND_EMAIL, "a+tag@mail.example.org",
	  NULL, "example.org", 0 },
	{ "o'brien@example.ie", U, CSIP_IND_EMAIL, "o'brien@example.ie", NULL,
	  "example.ie", 0 },
	{ "user@bücher.example", U, CSIP_IND_EMAIL,
	  "user@xn--bcher-kva.example", "user@bücher.example",
	  "xn--bcher-kva.example", F_IDN },
	{ "mailto:Abuse@Example.net", U, CSIP_IND_EMAIL, "abuse@example.net",
	  NULL, "example.net", 0 },
	{ "user@co.jp.", CSIP_IND_EMAIL, CSIP_IND_EMAIL, "user@co.jp", NULL,
	  NULL, 0 },

	/* Hashes */
	{ "D41D8CD98F00B204E9800998ECF8427E", U, CSIP_IND_MD5,
	  "d41d8cd98f00b204e9800998ecf8427e", NULL, NULL, 0 },
	{ "da39a3ee5e6b4b0d3255bfef95601890afd80709", U, CSIP_IND_SHA1,
	  "da39a3ee5e6b4b0d3255bfef95601890afd80709", NULL, NULL, 0 },
	{ "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
	  U, CSIP_IND_SHA256,
	  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	  NULL, NULL, 0 },
	{ "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
	  "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
	  U, CSIP_IND_SHA512,
	  "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
	  "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
	  NULL, NULL, 0 },
	{ "96:s4Ud1Lj96tHHlZDrwciQmA+4uy1I0G4HYuL8N3TzS8QsO/wqWXLcMSx:"
	  "sF1LjEtHHlZDrwciQmBTlGT1Jfm8MmMSx", U, CSIP_IND_SSDEEP,
	  "96:s4Ud1Lj96tHHlZDrwciQmA+4uy1I0G4HYuL8N3TzS8QsO/wqWXLcMSx:"
	  "sF1LjEtHHlZDrwciQmBTlGT1Jfm8MmMSx", NULL, NULL, 0 },
	{ "96:s4Ud1Lj96tHHlZDrwciQmA+4uy1I0G4HYuL8N3TzS8QsO/wqWXLcMSx:"
	  "sF1LjEtHHlZDrwciQmBTlGT1Jfm8MmMSx,\"/tmp/my file.doc\"", U,
	  CSIP_IND_SSDEEP,
	  "96:s4Ud1Lj96tHHlZDrwciQmA+4uy1I0G4HYuL8N3TzS8QsO/wqWXLcMSx:"
	  "sF1LjEtHHlZDrwciQmBTlGT1Jfm8MmMSx", NULL, NULL, 0 },
	{ "3::", CSIP_IND_SSDEEP, CSIP_IND_SSDEEP, "3::", NULL, NULL, 0 },
	{ "0048:ab:cd", CSIP_IND_SSDEEP, CSIP_IND_SSDEEP, "48:ab:cd", NULL,
	  NULL, 0 },

	/* AS numbers */
	{ "AS64496", U, CSIP_IND_ASN, "AS64496", NULL, NULL, 0 },
	{ "as 64496", U, CSIP_IND_ASN, "AS64496", NULL, NULL, 0 },
	{ "ASN64496", U, CSIP_IND_ASN, "AS64496", NULL, NULL, 0 },
	{ "asn 4200000000", U, CSIP_IND_ASN, "AS4200000000", NULL, NULL, 0 },
	{ "AS4294967295", U, CSIP_IND_ASN, "AS4294967295", NULL, NULL, 0 },
	{ "AS0", U, CSIP_IND_ASN, "AS0", NULL, NULL, 0 },
	{ "AS1.10", U, CSIP_IND_ASN, "AS65546", NULL, NULL, 0 },
	{ "64496", CSIP_IND_ASN, CSIP_IND_ASN, "AS64496", NULL, NULL, 0 },

	/* Registry keys */
	{ "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\", U,
	  CSIP_IND_REGKEY, "HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Windows\\"
	  "CurrentVersion\\Run", NULL, NULL, 0 },
	{ "hkcu\\\\Software\\\\Evil\\\\", U, CSIP_IND_REGKEY,
	  "HKEY_CURRENT_USER\\Software\\Evil", NULL, NULL, 0 },
	{ "hkcu/Software//Evil", U, CSIP_IND_REGKEY,
	  "HKEY_CURRENT_USER\\Software\\Evil", NULL, NULL, 0 },
	{ "HKLM:\\SOFTWARE\\Classes\\CLSID", U, CSIP_IND_REGKEY,
	  "HKEY_LOCAL_MACHINE\\SOFTWARE\\Classes\\CLSID", NULL, NULL, 0 },
	{ "HKEY_CLASSES_ROOT\\exefile\\shell\\open\\command", U,
	  CSIP_IND_REGKEY, "HKEY_CLASSES_ROOT\\exefile\\shell\\open\\command",
	  NULL, NULL, 0 },
	{ "HKU\\S-1-5-21-1004\\Software\\a/b", U, CSIP_IND_REGKEY,
	  "HKEY_USERS\\S-1-5-21-1004\\Software\\a/b", NULL, NULL, 0 },
	{ "hkcc", U, CSIP_IND_REGKEY, "HKEY_CURRENT_CONFIG", NULL, NULL, 0 },
	{ "HKLM\\a\\ b \\ \\", U, CSIP_IND_REGKEY,
	  "HKEY_LOCAL_MACHINE\\a\\ b", NULL, NULL, 0 },
	{ "hku://mirror.example/x", U, CSIP_IND_URL,
	  "hku://mirror.example/x", NULL, "mirror.example", 0 },
	{ "hku.hk", U, CSIP_IND_DOMAIN, "hku.hk", NULL, "hku.hk", 0 },
	{ "HKLM\\Software\\evil[.]example", CSIP_IND_REGKEY, CSIP_IND_REGKEY,
	  "HKEY_LOCAL_MACHINE\\Software\\evil[.]example", NULL, NULL, 0 },

	/* Free text: only when the type is given, never refanged */
	{ " 請求書.pdf.exe ", CSIP_IND_FILENAME, CSIP_IND_FILENAME,
	  "請求書.pdf.exe", NULL, NULL, 0 },
	{ "report(1).pdf", CSIP_IND_FILENAME, CSIP_IND_FILENAME,
	  "report(1).pdf", NULL, NULL, 0 },
	{ "Global\\EvilMutex[dot]", CSIP_IND_MUTEX, CSIP_IND_MUTEX,
	  "Global\\EvilMutex[dot]", NULL, NULL, 0 },
	{ "Mozilla/4.0 (compatible; MSIE 6.0)", CSIP_IND_USER_AGENT,
	  CSIP_IND_USER_AGENT, "Mozilla/4.0 (compatible; MSIE 6.0)", NULL,
	  NULL, 0 },
	{ "\u3000【至急】請求書の確認\u3000", CSIP_IND_EMAIL_SUBJECT,
	  CSIP_IND_EMAIL_SUBJECT, "【至急】請求書の確認", NULL, NULL, 0 },
	{ "Microsoft Outlook 16.0", CSIP_IND_X_MAILER, CSIP_IND_X_MAILER,
	  "Microsoft Outlook 16.0", NULL, NULL, 0 },
	{ "hxxp://not-refanged[.]example", CSIP_IND_X_MAILER,
	  CSIP_IND_X_MAILER, "hxxp://not-refanged[.]example", NULL, NULL, 0 },
};

static int
is_ok_case(const ok_case *c)
{
	return c->value != NULL;
}

static void
test_ok(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(ok_cases); i++) {
		const ok_case *c = &ok_cases[i];
		csip_indicator *ind = NULL;
		int rc;

		if (!is_ok_case(c))
			continue;
		rc = csip_indicator_parse(c->in, strlen(c->in), c->hint, &ind);
		if (rc < 0)
			g_error("%s: %s", c->in, csip_error_last());
		if (ind->type != c->type || strcmp(ind->value, c->value) != 0)
			g_error("%s: got %s %s, want %s %s", c->in,
				csip_ind_type_name(ind->type), ind->value,
				csip_ind_type_name(c->type), c->value);
		if (strcmp(ind->display, c->display ? c->display : c->value))
			g_error("%s: display %s", c->in, ind->display);
		if (g_strcmp0(ind->registrable, c->registrable) != 0)
			g_error("%s: registrable %s, want %s", c->in,
				ind->registrable, c->registrable);
		if (ind->flags != c->flags)
			g_error("%s: flags %#x, want %#x", c->in, ind->flags,
				c->flags);
		csip_indicator_free(ind);
	}
}

/* The contract the whole of csip relies on: canonical in, canonical out,
 * with the same type, display, registrable domain and flags; and what
 * detection found, detection finds again. */
static void
test_idempotence(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(ok_cases); i++) {
		const ok_case *c = &ok_cases[i];
		csip_indicator *ind = NULL, *again = NULL;

		if (!is_ok_case(c))
			continue;
		assert_ok(csip_indicator_parse(c->in, strlen(c->in), c->hint,
					       &ind));
		for (int pass = 0; pass < 2; pass++) {
			csip_ind_type h = pass == 0 ? ind->type : U;

			if (pass == 1 && c->hint != U)
				break;
			assert_ok(csip_indicator_parse(ind->value,
				strlen(ind->value), h, &again));
			if (again->type != ind->type ||
			    strcmp(again->value, ind->value) != 0 ||
			    strcmp(again->display, ind->display) != 0 ||
			    g_strcmp0(again->registrable, ind->registrable) ||
			    again->flags != (ind->flags & ~F_REF))
				g_error("%s: %s parses to %s %s", c->in,
					ind->value,
					csip_ind_type_name(again->type),
					again->value);
			csip_indicator_free(again);
		}
		csip_indicator_free(ind);
	}
}

static void
test_display(void)
{
	csip_indicator *ind = NULL;

	assert_ok(csip_indicator_parse("xn--r8jz45g.jp", 14, U, &ind));
	g_assert_cmpstr(ind->display, ==, "例え.jp");
	g_assert_true(ind->flags & F_IDN);
	csip_indicator_free(ind);
	assert_ok(csip_indicator_parse("http://bücher.example/a",
				       strlen("http://bücher.example/a"), U,
				       &ind));
	g_assert_cmpstr(ind->value, ==, "http://xn--bcher-kva.example/a");
	g_assert_cmpstr(ind->display, ==, "http://bücher.example/a");
	csip_indicator_free(ind);
	/* The length argument is honoured; the text need not end there. */
	assert_ok(csip_indicator_parse("example.com/trailing", 11, U, &ind));
	g_assert_cmpstr(ind->value, ==, "example.com");
	csip_indicator_free(ind);
	csip_indicator_free(NULL);
}

typedef struct bad_case {
	const char *in;
	csip_ind_type hint;
	int code;
	const char *needle;
} bad_case;

static const bad_case bad_cases[] = {
	{ "Mail-.Example.com", U, CSIP_EINVAL, "ends with a hyphen" },
	{ "", U, CSIP_EINVAL, "empty" },
	{ "   ", U, CSIP_EINVAL, "empty" },
	/* IPv4 */
	{ "999.1.1.1", U, CSIP_EINVAL, "out of range" },
	{ "256.0.0.1", CSIP_IND_IPV4, CSIP_EINVAL, "out of range" },
	{ "010.1.1.1", U, CSIP_EINVAL, "leading zero" },
	{ "192.168.01.1", U, CSIP_EINVAL, "leading zero" },
	{ "1.2.3", U, CSIP_EINVAL, "3 parts" },
	{ "1.2.3.4.5", U, CSIP_EINVAL, "more than 4" },
	{ "1..2.3", U, CSIP_EINVAL, "empty" },
	{ "example.123", U, CSIP_EINVAL, "IPv4" },
	{ "::ffff:1.2.3.4", CSIP_IND_IPV4, CSIP_EINVAL, "IPv4" },
	{ "1.2.3.4:80", U, CSIP_EINVAL, "port" },
	/* IPv6 and networks */
	{ "2001:db8:::1", U, CSIP_EINVAL, "IPv6" },
	{ "12:34:56", U, CSIP_EINVAL, "IPv6" },
	{ "fe80::1%eth0", U, CSIP_EINVAL, "zone" },
	{ "1.2.3.4", CSIP_IND_IPV6, CSIP_EINVAL, "IPv6" },
	{ "10.0.0.0/33", U, CSIP_EINVAL, "prefix length" },
	{ "2001:db8::/129", U, CSIP_EINVAL, "prefix length" },
	{ "10.0.0.0/", U, CSIP_EINVAL, "prefix length" },
	{ "10.0.0.0/-1", U, CSIP_EINVAL, "prefix length" },
	{ "2001:db8::/32", CSIP_IND_CIDR4, CSIP_EINVAL, "IPv6 network" },
	{ "10.0.0.0/8", CSIP_IND_CIDR6, CSIP_EINVAL, "IPv4 network" },
	/* Names */
	{ "co.jp", U, CSIP_EINVAL, "public suffix" },
	{ "com", U, CSIP_EINVAL, "cannot tell" },
	{ "-bad-.example.com", U, CSIP_EINVAL, "not a valid host name" },
	{ "a..example.com", U, CSIP_EINVAL, "empty label" },
	{ ".example.com", U, CSIP_EINVAL, "empty label" },
	{ "exa$mple.com", U, CSIP_EINVAL, "'$'" },
	{ "exa mple.com", U, CSIP_EINVAL, "give its type" },
	{ "example.c_m", U, CSIP_EINVAL, "top-level" },
	{ "1.2.3.4", CSIP_IND_DOMAIN, CSIP_EINVAL, "top-level" },
	{ "xn--abc.example", U, CSIP_EINVAL, "punycode" },
	{ "xn--zz.example", U, CSIP_EINVAL, "punycode" },
	{ "a\u2488b.example", U, CSIP_EINVAL, "not a valid host name" },
	{ "a\u3000b.example", U, CSIP_EINVAL, "' '" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  ".example", U, CSIP_EINVAL, "longer than 63" },
	/* URLs */
	{ "http://", U, CSIP_EINVAL, "not a valid URL" },
	{ "://example.com", U, CSIP_EINVAL, "not a valid URL" },
	{ "http:///x", U, CSIP_EINVAL, "no host" },
	{ "http://example.com:99999/", U, CSIP_EINVAL, "port" },
	{ "http://example.com:8o/", U, CSIP_EINVAL, "port" },
	{ "http://[::1/", U, CSIP_EINVAL, "closing" },
	{ "http://[::1]x/", U, CSIP_EINVAL, "after the IPv6" },
	{ "http://[fe80::1%25eth0]/", U, CSIP_EINVAL, "zone" },
	{ "1http://example.com/", U, CSIP_EINVAL, "scheme" },
	{ "ht~tp://example.com/", U, CSIP_EINVAL, "scheme" },
	{ "http://010.1.1.1/", U, CSIP_EINVAL, "leading zero" },
	{ "http://exa%zzmple.com/", U, CSIP_EINVAL, "percent-escape" },
	{ "http://exa_mple.c_m/", U, CSIP_EINVAL, "top-level" },
	{ "http://example.com/?u=hxx%70://y", U, CSIP_EINVAL, "ambiguous" },
	{ "http://example.com/a\tb", U, CSIP_EINVAL, "control" },
	{ "example.com/path", U, CSIP_EINVAL, "scheme" },
	{ "evil.example/x", CSIP_IND_URL, CSIP_EINVAL, "scheme" },
	/* E-mail */
	{ "user@@example.com", U, CSIP_EINVAL, "e-mail" },
	{ ".user@example.com", U, CSIP_EINVAL, "e-mail" },
	{ "us..er@example.com", U, CSIP_EINVAL, "e-mail" },
	{ "@example.com", U, CSIP_EINVAL, "1 to 64" },
	{ "user@localhost", U, CSIP_EINVAL, "dot" },
	{ "user@[192.0.2.1]", U, CSIP_EINVAL, "literal" },
	{ "ユーザー@example.jp", U, CSIP_EINVAL, "e-mail" },
	{ "\"quoted\"@example.com", U, CSIP_EINVAL, "e-mail" },
	{ "user.example.com", CSIP_IND_EMAIL, CSIP_EINVAL, "'@'" },
	/* Hashes, ssdeep, AS numbers */
	{ "d41d8cd98f00b204e9800998ecf8427", CSIP_IND_MD5, CSIP_EINVAL,
	  "md5 hash" },
	{ "d41d8cd98f00b204e9800998ecf8427", U, CSIP_EINVAL,
	  "looks like a hash" },
	{ "da39a3ee5e6b4b0d3255bfef95601890afd8070z", CSIP_IND_SHA1,
	  CSIP_EINVAL, "hex digits" },
	{ "5:abc:def", CSIP_IND_SSDEEP, CSIP_EINVAL, "block size" },
	{ "3:ab!:cd", CSIP_IND_SSDEEP, CSIP_EINVAL, "base64" },
	{ "3:abc", CSIP_IND_SSDEEP, CSIP_EINVAL, "ssdeep" },
	{ "AS99999999999", CSIP_IND_ASN, CSIP_EINVAL, "AS" },
	{ "AS4294967296", U, CSIP_EINVAL, "4294967295" },
	{ "AS65536.1", U, CSIP_EINVAL, "asdot" },
	{ "ASX", CSIP_IND_ASN, CSIP_EINVAL, "AS number" },
	/* Registry keys and free text */
	{ "Software\\Run", CSIP_IND_REGKEY, CSIP_EINVAL, "hive" },
	{ "HKLM\\a\x01b", U, CSIP_EINVAL, "control" },
	{ "just some words", U, CSIP_EINVAL, "give its type" },
	{ "bad\x01name.exe", CSIP_IND_FILENAME, CSIP_EINVAL, "control" },
	{ "Mozilla/5.0\t(X11)", CSIP_IND_USER_AGENT, CSIP_EINVAL, "control" },
	{ "a\xc2\x85z", CSIP_IND_MUTEX, CSIP_EINVAL, "control" },
	{ "\xff\xfe.exe", CSIP_IND_FILENAME, CSIP_EINVAL, "UTF-8" },
	{ "\xe3\x81.example", U, CSIP_EINVAL, "UTF-8" },
};

/* The input as it must appear in the message, when it is printable. */
static int
quotable(const char *s)
{
	if (!g_utf8_validate(s, -1, NULL))
		return 0;
	for (const char *p = s; *p; p = g_utf8_next_char(p)) {
		gunichar u = g_utf8_get_char(p);

		if (u < 0x20 || (u >= 0x7f && u < 0xa0) || u == '\\' ||
		    u == '"')
			return 0;
	}
	return 1;
}

static void
test_bad(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
		const bad_case *b = &bad_cases[i];
		csip_indicator *ind = (csip_indicator *)&ind;
		int rc = csip_indicator_parse(b->in, strlen(b->in), b->hint,
					      &ind);
		char *trimmed;

		if (rc != b->code)
			g_error("%s: rc %d, want %d (%s)", b->in, rc, b->code,
				rc < 0 ? csip_error_last() : ind->value);
		g_assert_null(ind);
		g_assert_cmpint(csip_error_last_code(), ==, b->code);
		if (strstr(csip_error_last(), b->needle) == NULL)
			g_error("%s: \"%s\" not in \"%s\"", b->in, b->needle,
				csip_error_last());
		/* Every message names the input. */
		trimmed = g_strstrip(g_strdup(b->in));
		if (quotable(trimmed) &&
		    strstr(csip_error_last(), trimmed) == NULL)
			g_error("%s: message \"%s\" does not name it", b->in,
				csip_error_last());
		g_free(trimmed);
	}
}

/* csip_indicator_try() answers as csip_indicator_parse() does, with the
 * same indicator, and leaves no message after a refusal. */
static void
test_try(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(ok_cases); i++) {
		const ok_case *c = &ok_cases[i];
		csip_indicator *a = NULL, *b = NULL;
		int ra = csip_indicator_parse(c->in, strlen(c->in), c->hint, &a);
		int rb = csip_indicator_try(c->in, strlen(c->in), c->hint, &b);

		g_assert_cmpint(ra, ==, rb);
		if (ra < 0) {
			g_assert_null(b);
			g_assert_cmpint(csip_error_last_code(), ==, CSIP_OK);
			continue;
		}
		g_assert_cmpint(a->type, ==, b->type);
		g_assert_cmpstr(a->value, ==, b->value);
		g_assert_cmpstr(a->display, ==, b->display);
		g_assert_cmpstr(a->registrable, ==, b->registrable);
		g_assert_cmpuint(a->flags, ==, b->flags);
		csip_indicator_free(b);
		/* Asked again: the thread's memo of registrable domains. */
		g_assert_cmpint(csip_indicator_try(c->in, strlen(c->in),
						   c->hint, &b), ==, rb);
		g_assert_cmpstr(a->registrable, ==, b->registrable);
		csip_indicator_free(a);
		csip_indicator_free(b);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
		const bad_case *c = &bad_cases[i];
		csip_indicator *ind = (csip_indicator *)&ind;

		csip_error_set(CSIP_EIO, "left over");
		g_assert_cmpint(csip_indicator_try(c->in, strlen(c->in),
						   c->hint, &ind), ==, c->code);
		g_assert_null(ind);
		g_assert_cmpint(csip_error_last_code(), ==, CSIP_OK);
		g_assert_cmpstr(csip_error_last(), ==, "no error");
	}
}

static void
test_hint_range(void)
{
	csip_indicator *ind = NULL;

	g_assert_cmpint(csip_indicator_parse("1.2.3.4", 7, CSIP_IND__COUNT,
					     &ind), ==, CSIP_EINVAL);
	g_assert_null(ind);
	g_assert_cmpint(csip_indicator_parse("1.2.3.4", 7, (csip_ind_type)-1,
					     &ind), ==, CSIP_EINVAL);
	g_assert_cmpint(csip_indicator_parse(NULL, 0, U, &ind), ==,
			CSIP_EINVAL);
	g_assert_null(ind);
}

static void
test_caps(void)
{
	char *big = g_malloc(10000);
	char *url;
	csip_indicator *ind = NULL;

	memset(big, 'a', 10000);
	g_assert_cmpint(csip_indicator_parse(big, 10000, U, &ind), ==,
			CSIP_ETOOBIG);
	g_assert_null(ind);
	g_assert_nonnull(strstr(csip_error_last(), "8192"));
	g_assert_cmpint(csip_indicator_parse(big, 2000, CSIP_IND_FILENAME,
					     &ind), ==, CSIP_ETOOBIG);
	g_assert_cmpint(csip_indicator_parse(big, 1024, CSIP_IND_MUTEX,
					     &ind), ==, CSIP_OK);
	csip_indicator_free(ind);
	g_assert_cmpint(csip_indicator_parse("a\0b", 3, CSIP_IND_FILENAME,
					     &ind), ==, CSIP_EINVAL);
	g_assert_nonnull(strstr(csip_error_last(), "NUL"));
	memcpy(big, "HKLM\\", 5);
	g_assert_cmpint(csip_indicator_parse(big, 2000, U, &ind), ==,
			CSIP_ETOOBIG);
	/* Registry keys are capped in canonical form, which the full hive
	 * name makes longer than the input. */
	g_assert_cmpint(csip_indicator_parse(big, 1020, U, &ind), ==,
			CSIP_ETOOBIG);
	assert_ok(csip_indicator_parse(big, 1010, U, &ind));
	g_assert_cmpuint(strlen(ind->value), ==, 1024);
	csip_indicator_free(ind);
	/* A URL is capped in canonical form: 1500 spaces become 4500
	 * bytes of escapes. */
	url = g_strdup_printf("http://example.com/%1500sx", "");
	g_assert_cmpint(csip_indicator_parse(url, strlen(url), U, &ind), ==,
			CSIP_ETOOBIG);
	g_free(url);
	/* A name of 253 characters is fine, 254 is not. */
	memset(big, 'a', 300);
	for (int i = 63; i < 253; i += 64)
		big[i] = '.';
	memcpy(big + 250, "com", 3);
	assert_ok(csip_indicator_parse(big, 253, U, &ind));
	csip_indicator_free(ind);
	memcpy(big + 250, "comx", 4);
	g_assert_cmpint(csip_indicator_parse(big, 254, U, &ind), ==,
			CSIP_EINVAL);
	g_assert_nonnull(strstr(csip_error_last(), "253"));
	g_free(big);
}

static void
test_refang(void)
{
	static const struct { const char *in, *out; } r[] = {
		{ "hxxp://a[.]b[.]c/x", "http://a.b.c/x" },
		{ "HXXPS://a(.)b", "https://a.b" },
		{ "hXXp://x", "http://x" },
		{ "hxxp[:]//evil[.]example[/]a", "http://evil.example/a" },
		{ "fxp://files[.]example", "ftp://files.example" },
		{ "a[dot]b{.}c", "a.b.c" },
		{ "a(DOT)b[Dot]c{dot}d", "a.b.c.d" },
		{ "x[at]y(@)z{at}w[@]v", "x@y@z@w@v" },
		{ "meow://q", "http://q" },
		{ "http[://]x", "http://x" },
		{ "http(://)x", "http://x" },
		{ "http[:]//x", "http://x" },
		{ "h**p://x", "http://x" },
		{ "ttps://x", "https://x" },
		{ "1.2.3[.]4", "1.2.3.4" },
		{ "1.2.3.4[:]8080", "1.2.3.4:8080" },
		{ "a\\.b", "a.b" },
		{ "user [at] example [dot] com", "user@example.com" },
		{ "([.])", "." },
		{ "evil([.])example[[.]]com", "evil.example.com" },
		{ "x[/]y", "x/y" },
		/* Left alone */
		{ "report(1).pdf", "report(1).pdf" },
		{ "plain text", "plain text" },
		{ "ahxxp", "ahxxp" },
		{ "ahxxp://x", "ahxxp://x" },
		{ "hxxp", "hxxp" },
		{ "http://[2001:db8::1]/", "http://[2001:db8::1]/" },
		{ "[::]", "[::]" },
		{ "example.com", "example.com" },
		{ "wiki_(page)", "wiki_(page)" },
		{ "", "" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(r); i++) {
		char *o = csip_refang(r[i].in, strlen(r[i].in));
		char *oo = csip_refang(o, strlen(o));

		if (strcmp(o, r[i].out) != 0)
			g_error("refang(%s) = %s, want %s", r[i].in, o,
				r[i].out);
		g_assert_cmpstr(oo, ==, o);
		g_free(o);
		g_free(oo);
	}
	/* Only LEN bytes are read. */
	{
		char *o = csip_refang("a[.]bXXXX", 5);

		g_assert_cmpstr(o, ==, "a.b");
		g_free(o);
		o = csip_refang(NULL, 0);
		g_assert_cmpstr(o, ==, "");
		g_free(o);
	}
}

static void
test_defang(void)
{
	static const struct { csip_ind_type t; const char *in, *out; } d[] = {
		{ CSIP_IND_URL, "http://evil.example.com/a.b",
		  "hxxp://evil[.]example[.]com/a.b" },
		{ CSIP_IND_URL, "https://user@example.com:8443/x?y=a.b",
		  "hxxps://user@example[.]com:8443/x?y=a.b" },
		{ CSIP_IND_URL, "http://198.51.100.5/x",
		  "hxxp://198.51.100[.]5/x" },
		{ CSIP_IND_URL, "http://[2001:db8::1]/",
		  "hxxp://[2001:db8::1]/" },
		{ CSIP_IND_URL, "ftp://f.example/", "fxp://f[.]example/" },
		{ CSIP_IND_URL, "tcp://203.0.113.5:4444",
		  "tcp://203.0.113[.]5:4444" },
		{ CSIP_IND_IPV4, "1.2.3.4", "1.2.3[.]4" },
		{ CSIP_IND_CIDR4, "192.0.2.0/24", "192.0.2[.]0/24" },
		{ CSIP_IND_IPV6, "2001:db8::1", "2001:db8::1" },
		{ CSIP_IND_DOMAIN, "example.com", "example[.]com" },
		{ CSIP_IND_HOSTNAME, "www.example.co.jp",
		  "www[.]example[.]co[.]jp" },
		{ CSIP_IND_DOMAIN, "localhost", "localhost" },
		{ CSIP_IND_EMAIL, "a@b.example", "a[@]b[.]example" },
		{ CSIP_IND_MD5, "d41d8cd98f00b204e9800998ecf8427e",
		  "d41d8cd98f00b204e9800998ecf8427e" },
		{ CSIP_IND_FILENAME, "a.b.exe", "a.b.exe" },
	};
	char *s;

	for (size_t i = 0; i < G_N_ELEMENTS(d); i++) {
		s = csip_defang(d[i].t, d[i].in);
		g_assert_cmpstr(s, ==, d[i].out);
		g_free(s);
	}
	s = csip_defang(CSIP_IND_URL, NULL);
	g_assert_cmpstr(s, ==, "");
	g_free(s);
}

/* Defanging a canonical value and parsing it back gives the value. */
static void
test_defang_round_trip(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(ok_cases); i++) {
		const ok_case *c = &ok_cases[i];
		csip_indicator *ind = NULL;
		char *def, *back;

		if (!is_ok_case(c) || c->type > CSIP_IND_EMAIL)
			continue;
		assert_ok(csip_indicator_parse(c->value, strlen(c->value),
					       c->type, &ind));
		def = csip_defang(c->type, c->value);
		back = csip_refang(def, strlen(def));
		g_assert_cmpstr(back, ==, c->value);
		csip_indicator_free(ind);
		assert_ok(csip_indicator_parse(def, strlen(def), c->type,
					       &ind));
		g_assert_cmpstr(ind->value, ==, c->value);
		csip_indicator_free(ind);
		g_free(def);
		g_free(back);
	}
}

static void
test_types(void)
{
	static const char *const names[] = {
		"unknown", "ipv4", "ipv6", "cidr4", "cidr6", "domain",
		"hostname", "url", "email", "md5", "sha1", "sha256", "sha512",
		"ssdeep", "filename", "asn", "mutex", "regkey", "user-agent",
		"email-subject", "x-mailer",
	};

	G_STATIC_ASSERT(G_N_ELEMENTS(names) == CSIP_IND__COUNT);
	for (int t = 0; t < CSIP_IND__COUNT; t++) {
		g_assert_cmpstr(csip_ind_type_name(t), ==, names[t]);
		g_assert_cmpint(csip_ind_type_from_name(names[t]), ==, t);
	}
	g_assert_cmpint(csip_ind_type_from_name("URL"), ==, CSIP_IND_URL);
	g_assert_cmpint(csip_ind_type_from_name("nope"), ==, U);
	g_assert_cmpint(csip_ind_type_from_name(""), ==, U);
	g_assert_cmpint(csip_ind_type_from_name(NULL), ==, U);
	g_assert_cmpstr(csip_ind_type_name(99), ==, "unknown");
	g_assert_cmpstr(csip_ind_type_name(CSIP_IND__COUNT), ==, "unknown");
	g_assert_cmpstr(csip_ind_type_name((csip_ind_type)-1), ==, "unknown");
}

static void
test_cidr_canonical(void)
{
	static const struct { const char *in, *out; } ok[] = {
		{ "192.0.2.9", "192.0.2.9/32" },
		{ "2001:db8::9", "2001:db8::9/128" },
		{ "10.1.2.3/16", "10.1.0.0/16" },
		{ " 2001:DB8:0:0::/48 ", "2001:db8::/48" },
		{ "0.0.0.0/0", "0.0.0.0/0" },
	};
	static const char *const bad[] = {
		"nope", "300.1.1.1/8", "10.0.0.0/33", "", "10.0.0.0/8/8",
		"010.0.0.0/8", "fe80::1%eth0/64",
	};
	char *c = NULL;

	for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
		char *again = NULL;

		assert_ok(csip_cidr_canonical(ok[i].in, &c));
		g_assert_cmpstr(c, ==, ok[i].out);
		assert_ok(csip_cidr_canonical(c, &again));
		g_assert_cmpstr(again, ==, c);
		g_free(again);
		g_free(c);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		c = (char *)&c;
		g_assert_cmpint(csip_cidr_canonical(bad[i], &c), ==,
				CSIP_EINVAL);
		g_assert_null(c);
		g_assert_nonnull(strstr(csip_error_last(), bad[i]));
	}
	g_assert_cmpint(csip_cidr_canonical(NULL, &c), ==, CSIP_EINVAL);
}

static void
test_domain_canonical(void)
{
	static const struct { const char *in, *out; } ok[] = {
		{ " Mail.Example.JP. ", "mail.example.jp" },
		{ "ACME.Example.JP.", "acme.example.jp" },
		{ "acme.example", "acme.example" },
		{ "bücher.example", "xn--bcher-kva.example" },
		{ "例え.jp", "xn--r8jz45g.jp" },
		{ "github.io", "github.io" },
	};
	static const struct { const char *in, *needle; } bad[] = {
		{ "localhost", "dot" },
		{ "bad domain!", "not a valid host name" },
		{ "co.jp", "public suffix" },
		{ "_x.example.com", "'_'" },
		{ "1.2.3.4", "top-level" },
		{ "", "empty" },
		{ "a..b.example", "empty label" },
	};
	char *c = NULL;

	for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
		char *again = NULL;

		assert_ok(csip_domain_canonical(ok[i].in, &c));
		g_assert_cmpstr(c, ==, ok[i].out);
		assert_ok(csip_domain_canonical(c, &again));
		g_assert_cmpstr(again, ==, c);
		g_free(again);
		g_free(c);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		c = (char *)&c;
		g_assert_cmpint(csip_domain_canonical(bad[i].in, &c), ==,
				CSIP_EINVAL);
		g_assert_null(c);
		if (strstr(csip_error_last(), bad[i].needle) == NULL ||
		    strstr(csip_error_last(), bad[i].in) == NULL)
			g_error("%s: %s", bad[i].in, csip_error_last());
	}
}

/* The public suffix list is loaded once, lazily, whichever thread asks
 * first. */
static gpointer
parse_many(gpointer unused)
{
	static const char *const in[] = {
		"www.example.co.jp", "bücher.example", "http://例え.jp/",
		"user@example.com", "192.0.2.1",
	};

	(void)unused;
	for (int round = 0; round < 200; round++)
		for (size_t i = 0; i < G_N_ELEMENTS(in); i++) {
			csip_indicator *ind = NULL;

			if (csip_indicator_parse(in[i], strlen(in[i]), U,
						 &ind) < 0)
				return GINT_TO_POINTER(1);
			csip_indicator_free(ind);
		}
	return NULL;
}

static void
test_threads(void)
{
	GThread *t[4];

	for (int i = 0; i < 4; i++)
		t[i] = g_thread_new("parse", parse_many, NULL);
	for (int i = 0; i < 4; i++)
		g_assert_null(g_thread_join(t[i]));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/indicator/threads", test_threads);
	g_test_add_func("/indicator/ok", test_ok);
	g_test_add_func("/indicator/try", test_try);
	g_test_add_func("/indicator/idempotence", test_idempotence);
	g_test_add_func("/indicator/display", test_display);
	g_test_add_func("/indicator/bad", test_bad);
	g_test_add_func("/indicator/hint-range", test_hint_range);
	g_test_add_func("/indicator/caps", test_caps);
	g_test_add_func("/indicator/refang", test_refang);
	g_test_add_func("/indicator/defang", test_defang);
	g_test_add_func("/indicator/defang-round-trip",
			test_defang_round_trip);
	g_test_add_func("/indicator/types", test_types);
	g_test_add_func("/indicator/cidr-canonical", test_cidr_canonical);
	g_test_add_func("/indicator/domain-canonical", test_domain_canonical);
	return g_test_run();
}
