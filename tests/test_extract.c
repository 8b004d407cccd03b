/*
 * test_extract.c - indicators from free text: defanged forms, Japanese
 * prose without spaces, punctuation, ports, and the false positives a good
 * extractor must not produce.
 */
#include "lib/extract.h"
#include "testutil.h"
#include "util/error.h"

#include <glib.h>
#include <string.h>

static gint
cmp_lines(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Extract from TEXT and return "type value" lines, sorted, joined by
 * '\n'. */
static char *
run(const char *text)
{
	csip_extract_set *s = csip_extract_set_new();
	GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
	char *out;

	csip_extract_text(s, text, strlen(text), "test");
	for (size_t i = 0; i < csip_extract_set_count(s); i++) {
		const csip_indicator *ind = csip_extract_set_get(s, i, NULL,
								 NULL);

		g_ptr_array_add(lines, g_strdup_printf("%s %s",
			csip_ind_type_name(ind->type), ind->value));
	}
	g_ptr_array_sort(lines, cmp_lines);
	g_ptr_array_add(lines, NULL);
	out = g_strjoinv("\n", (char **)lines->pdata);
	g_ptr_array_free(lines, TRUE);
	csip_extract_set_free(s);
	return out;
}

static void
expect(const char *text, const char *want)
{
	char *got = run(text);

	if (g_strcmp0(got, want) != 0)
		g_error("extract(%s):\n got: [%s]\nwant: [%s]", text, got, want);
	g_free(got);
}

static void
test_plain(void)
{
	expect("Please visit http://evil.example.com/login?id=1 now.",
	       "hostname evil.example.com\n"
	       "url http://evil.example.com/login?id=1");
	expect("C2 at 198.51.100.23:8080, fallback 2001:db8::5.",
	       "ipv4 198.51.100.23\nipv6 2001:db8::5");
	expect("hash d41d8cd98f00b204e9800998ecf8427e and "
	       "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
	       "md5 d41d8cd98f00b204e9800998ecf8427e\n"
	       "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
	       "7852b855");
	expect("Reply to <attacker@evil-mail.com>.",
	       "email attacker@evil-mail.com");
	expect("(see https://example.org/wiki/Foo_(bar)).",
	       "domain example.org\nurl https://example.org/wiki/Foo_(bar)");
	expect("\"https://login.example.net/\"",
	       "hostname login.example.net\nurl https://login.example.net/");
}

/* A wrapped link gives the URL inside too; a gateway's rewrite gives only
 * that. */
static void
test_wrapped(void)
{
	expect("Go to https://www.google.com/url?q=https://evil.example/x&"
	       "sa=D today",
	       "domain evil.example\n"
	       "hostname www.google.com\n"
	       "url https://evil.example/x\n"
	       "url https://www.google.com/url?q=https://evil.example/x&sa=D");
	expect("https://jpn01.safelinks.protection.outlook.com/?url=https%3A"
	       "%2F%2Fevil.example%2Fx&data=05%7C01%7Ctaro%40victim.example"
	       "&reserved=0",
	       "domain evil.example\n"
	       "url https://evil.example/x");
	/* A gateway's rewrite is no indicator, at any level, even when
	 * what it wraps cannot be read: it carries the recipient's tenant. */
	expect("https://jpn01.safelinks.protection.outlook.com/?data=05%7C01"
	       "%7C72f988bf86f141af91ab2d7cd011db47&reserved=0", "");
	expect("https://urldefense.proofpoint.com/v2/url?u=https-3A__nam12."
	       "safelinks.protection.outlook.com_-3Furl-3Dhttps-253A-252F-252F"
	       "evil.example-252Fx-26data-3D05&d=DwMFaQ&c=CUST&e=",
	       "domain evil.example\n"
	       "url https://evil.example/x");
	/* A link written without its scheme: its host. */
	expect("Terms at www.evil-terms.example.com/legal. See "
	       "shop.evil-cookies.com/cookies, node.js/docs and 10.0.0.0/8.",
	       "cidr4 10.0.0.0/8\n"
	       "hostname shop.evil-cookies.com\n"
	       "hostname www.evil-terms.example.com");
	/* Defanged, as analysts paste it. */
	expect("hxxps://urldefense[.]com/v3/__https://evil.example/p__;!!x$",
	       "domain evil.example\n"
	       "url https://evil.example/p");
}

static void
test_defanged(void)
{
	expect("hxxps://evil[.]example[.]com/a and 203.0.113[.]7",
	       "hostname evil.example.com\nipv4 203.0.113.7\n"
	       "url https://evil.example.com/a");
	expect("mail from bad[@]phish[.]example", "email bad@phish.example");
	expect("domain: update-check[.]zip", "domain update-check.zip");
	expect("hxxp://198[.]51[.]100[.]1/x.exe",
	       "ipv4 198.51.100.1\nurl http://198.51.100.1/x.exe");
}

static void
test_japanese(void)
{
	expect("詳細はhttp://evil.example.jp/info.htmlをご覧ください。",
	       "hostname evil.example.jp\nurl http://evil.example.jp/info.html");
	expect("送信元：attacker@evil.example.co.jp（至急）",
	       "email attacker@evil.example.co.jp");
	expect("「hxxp://malware[.]example/payload」にアクセス",
	       "domain malware.example\nurl http://malware.example/payload");
	/* Full-width letters and dot. */
	expect("ｅｖｉｌ．ｅｘａｍｐｌｅ．ｃｏｍ へ接続",
	       "hostname evil.example.com");
}

static void
test_false_positives(void)
{
	expect("Open invoice.pdf, setup.exe and archive.zip e.g. today.", "");
	expect("Version 1.2.3 released; see section 4.1.", "");
	expect("Mr.Smith said hi. End.", "");
	expect("just words and numbers 12345 here", "");
	expect("not a hash: d41d8cd98f00b204e9800998ecf8427", "");
	expect("x@y", "");
	/* Order and tracking numbers of digest length go; a digest with
	 * letters among its digits stays. */
	expect("Order 18707403192919298138554428187074 shipped, tracking "
	       "1870740319291929813855442818707403192981385544281870740318707403",
	       "");
	expect("id 187074031929192981385544281870740319d2ab",
	       "sha1 187074031929192981385544281870740319d2ab");
}

static void
test_dedup_and_where(void)
{
	csip_extract_set *s = csip_extract_set_new();
	const char *t = "http://a.example/ http://a.example/ 192.0.2.1";
	const char *where;
	unsigned count;
	json_t *j;

	csip_assert_ok(csip_extract_text(s, t, strlen(t), "body:text"));
	g_assert_cmpuint(csip_extract_set_count(s), ==, 3);
	g_assert_nonnull(csip_extract_set_get(s, 1, &where, &count));
	g_assert_cmpstr(where, ==, "body:text");
	g_assert_cmpuint(count, ==, 2);
	g_assert_null(csip_extract_set_get(s, 3, NULL, NULL));
	j = csip_extract_set_json(s);
	g_assert_cmpuint(json_array_size(j), ==, 3);
	json_decref(j);
	csip_extract_set_free(s);
	csip_extract_set_free(NULL);
}

static void
test_binary_junk(void)
{
	csip_extract_set *s = csip_extract_set_new();
	char junk[4096];

	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (char)(i * 131 + 7);
	memcpy(junk + 100, " 198.51.100.9 ", 14);
	csip_assert_ok(csip_extract_text(s, junk, sizeof junk, "junk"));
	g_assert_cmpuint(csip_extract_set_count(s), >=, 1);
	csip_extract_set_free(s);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/extract/plain", test_plain);
	g_test_add_func("/extract/defanged", test_defanged);
	g_test_add_func("/extract/wrapped", test_wrapped);
	g_test_add_func("/extract/japanese", test_japanese);
	g_test_add_func("/extract/false-positives", test_false_positives);
	g_test_add_func("/extract/dedup-and-where", test_dedup_and_where);
	g_test_add_func("/extract/binary-junk", test_binary_junk);
	return g_test_run();
}
