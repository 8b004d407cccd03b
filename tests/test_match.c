/*
 * test_match.c - the log matcher: every indicator kind and its traps, the
 * format parsers, bad input, and threads that must not change the output.
 */
#include "lib/match.h"
#include "lib/match_log.h"
#include "lib/match_src.h"
#include "util/error.h"
#include "testutil.h"

#include <fcntl.h>
#include <gio/gio.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static csip_match_set *
make_set(const char *const *values)
{
	csip_match_set *s = csip_match_set_new();

	for (; *values; values++)
		if (csip_match_set_add(s, *values, strlen(*values),
				       CSIP_IND_UNKNOWN) < 0)
			g_error("%s: %s", *values, csip_error_last());
	csip_match_set_build(s);
	return s;
}

typedef struct collect {
	const csip_match_set *s;
	GString *out;
} collect;

static void
on_hit(void *ud, const csip_match_hit *h)
{
	collect *c = ud;

	g_string_append_printf(c->out, "%s%s@%zu", c->out->len ? " " : "",
			       csip_match_indicator(c->s, h->ind, NULL),
			       h->offset);
}

/* As on_hit(), for csip_match_lines(): a sighting after the first line
 * is "value@offset:line". */
static void
on_lines_hit(void *ud, const char *line, uint64_t no,
	     const csip_match_hit *h)
{
	collect *c = ud;

	(void)line;
	on_hit(ud, h);
	if (no)
		g_string_append_printf(c->out, ":%" G_GUINT64_FORMAT, no);
}

/* The sightings of LINE as "value@offset value@offset". */
static char *
scan(const csip_match_set *s, const char *line)
{
	collect c = { s, g_string_new(NULL) };

	csip_match_line(s, line, strlen(line), on_hit, &c);
	return g_string_free(c.out, FALSE);
}

#define assert_scan(s, line, want) do { \
	char *got_ = scan(s, line); \
	g_assert_cmpstr(got_, ==, want); \
	g_free(got_); \
} while (0)

static void
test_domains(void)
{
	static const char *const v[] = { "iovaj.online", "evil.example",
		"login.bad.example", "EVIL.CO.JP", NULL };
	csip_match_set *s = make_set(v);

	assert_scan(s, "iovaj.online", "iovaj.online@0");
	assert_scan(s, "x ur68x4ziovaj.online y", "");
	assert_scan(s, "get a.b.EVIL.Example. now", "evil.example@4");
	assert_scan(s, "notevil.example evil.example.net evil-example.com "
		    "evil.examples xevil.example", "");
	assert_scan(s, "(evil.example),evil.example;\"evil.example\"",
		    "evil.example@1 evil.example@15 evil.example@29");
	assert_scan(s, "host=www.evil.co.jp:443", "evil.co.jp@5");
	assert_scan(s, "login.bad.example bad.example x.login.bad.example",
		    "login.bad.example@0 login.bad.example@30");
	assert_scan(s, "a..evil.example -evil.example- .evil.example.",
		    "evil.example@3 evil.example@17 evil.example@32");
	/* A file name or a key that only starts like one. */
	assert_scan(s, "evil.example_x evil.exampleX", "");
	/* Not a host name inside a URL path. */
	assert_scan(s, "http://ok.example/evil.example", "");
	/* The host of a URL is. */
	assert_scan(s, "http://WWW.evil.example/x", "evil.example@7");
	assert_scan(s, "mail to bob@evil.example", "evil.example@12");
	csip_match_set_free(s);
}

/* Enough host indicators that the first-level filter over their last two
 * labels is sparse: a name is looked up only when its last two labels
 * are some indicator's, so every indicator must still be found under any
 * sub-domain and in any case, and no shorter suffix of it. */
static void
test_many_hosts(void)
{
	enum { N = 6000 };
	csip_match_set *s = csip_match_set_new();
	char v[64], line[96], want[80];

	for (int i = 0; i < N; i++) {
		if (i % 3)
			g_snprintf(v, sizeof(v), "w%d.d%d.Zone%d.test", i,
				   i % 7, i);
		else
			g_snprintf(v, sizeof(v), "k%d.example", i);
		g_assert_cmpint(csip_match_set_add(s, v, strlen(v),
						   CSIP_IND_UNKNOWN), >=, 0);
	}
	csip_match_set_build(s);
	for (int i = 0; i < N; i++) {
		if (i % 3) {
			g_snprintf(v, sizeof(v), "w%d.d%d.zone%d.test", i,
				   i % 7, i);
			g_snprintf(line, sizeof(line), "d%d.zone%d.test "
				   "zone%d.test w%d.d%d.zone%d.testx", i % 7,
				   i, i, i, i % 7, i);
			assert_scan(s, line, "");
		} else {
			g_snprintf(v, sizeof(v), "k%d.example", i);
		}
		g_snprintf(line, sizeof(line), "a X.y.%s %s", v, v);
		g_snprintf(want, sizeof(want), "%s@2 %s@%zu", v, v,
			   strlen(v) + 7);
		assert_scan(s, line, want);
		for (size_t k = 6; k < 6 + strlen(v); k++)
			line[k] = g_ascii_toupper(line[k]);
		assert_scan(s, line, want);
	}
	csip_match_set_free(s);
}

/* Host names whose labels have every length from 1 to 19 bytes, inside
 * names of up to 60 bytes with a sub-domain of 0 to 17 bytes before
 * them: a label is hashed a word at a time from the bytes of the name
 * around it (and the dots found in two overlapping words), so every
 * length and offset is a different case.  The last byte changed, the
 * name cut one byte short on either side, or glued to a letter on both,
 * is no sighting. */
static void
test_label_words(void)
{
	static const char az[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	csip_match_set *s = csip_match_set_new();
	char v[64], line[256], want[96];

	for (int a = 1; a < 20; a++)
		for (int b = 2; b < 10; b += 3) {
			g_snprintf(v, sizeof(v), "%.*s.%.*s", a, az + a % 7, b,
				   az + b);
			g_assert_cmpint(csip_match_set_add(s, v, strlen(v),
					CSIP_IND_UNKNOWN), >=, 0);
		}
	csip_match_set_build(s);
	for (int a = 1; a < 20; a++)
		for (int b = 2; b < 10; b += 3)
			for (int sub = 0; sub < 18; sub++) {
				char *l;
				size_t vl;

				g_snprintf(v, sizeof(v), "%.*s.%.*s", a,
					   az + a % 7, b, az + b);
				vl = strlen(v);
				g_snprintf(line, sizeof(line),
					   "%.*s%s%s x%sx %.*s %.*s %s", sub, az,
					   sub ? "." : "", v, v, (int)vl - 1,
					   v + 1, (int)vl - 1, v, v);
				g_snprintf(want, sizeof(want), "%s@0 %s@%zu",
					   v, v, strlen(line) - vl);
				l = g_strdup(line);
				assert_scan(s, l, want);
				for (char *c = l; *c; c++)
					*c = g_ascii_toupper(*c);
				assert_scan(s, l, want);
				l[strlen(l) - 1] ^= 1;
				g_snprintf(want, sizeof(want), "%s@0", v);
				assert_scan(s, l, want);
				g_free(l);
			}
	csip_match_set_free(s);
}

/* A URL's authority and its end, found 16 bytes at a time: a user part
 * of 0 to 40 bytes before the host, an '@' in the path after it, and
 * each byte that ends a URL at every offset of the path: the host is
 * the one after the last '@' of the authority, and the tokens after the
 * URL's end are scanned. */
static void
test_url_blocks(void)
{
	static const char *const v[] = { "evil.example", "u.test", NULL };
	static const char ends[] = "\"'<>`\\{}|^";   /* and <= ' ', DEL */
	csip_match_set *s = make_set(v);
	char line[160], want[96];

	for (int k = 0; k <= 40; k++) {
		char *l;

		g_snprintf(line, sizeof(line),
			   "http://%.*s%sevil.example/p%.*s@u.test/q", k,
			   "user:pass-user:pass-user:pass-user:pass-u",
			   k ? "@" : "", k, "ppppppppppppppppppppppppppppppppppppppppp");
		g_snprintf(want, sizeof(want), "evil.example@%d",
			   7 + k + (k > 0));
		l = g_strdup(line);
		assert_scan(s, l, want);
		g_free(l);
		/* Every byte but the line's ends: a byte that ends a URL
		 * lets u.test after it be scanned; any other keeps it in
		 * the URL's path, where it is no sighting. */
		for (int c = 1; c < 256; c++) {
			int ends_url = c <= 0x20 || c == 0x7f ||
				       strchr(ends, c) != NULL;

			if (c == '\n' || c == '\r')
				continue;
			g_snprintf(line, sizeof(line),
				   "http://x.test/%.*s%cu.test", k,
				   "ppppppppppppppppppppppppppppppppppppppppp",
				   c);
			if (ends_url)
				g_snprintf(want, sizeof(want), "u.test@%d",
					   15 + k);
			else
				want[0] = '\0';
			l = g_strdup(line);
			assert_scan(s, l, want);
			g_free(l);
		}
	}
	csip_match_set_free(s);
}

/* The short cuts of the scan (a piece decided from its run's classes, a
 * name hashed while it is checked, a part with its own classes) against
 * the traps they skip past. */
static void
test_pieces(void)
{
	static const char *const v[] = { "10.1.2.3", "evil.example",
		"bob@evil.example", "2001:db8::/32", "1.2.3.4",
		"100.101.102.103", NULL };
	csip_match_set *s = make_set(v);

	/* ".." cuts numbers and names; in a number longer than an
	 * address, with no other two dots one byte apart. */
	assert_scan(s, "x 10.1.2.3..10.1.2.3 y", "10.1.2.3@2 10.1.2.3@12");
	assert_scan(s, "100.101.102.103..7 7..100.101.102.103",
		    "100.101.102.103@0 100.101.102.103@22");
	/* After the first two parts of an address in no network's /16,
	 * and in digits and dots that are no address, as long as an
	 * address fits after it. */
	assert_scan(s, "9.9..1.2.3.4 192.168..10.1.2.3 1234..1.2.3.4 "
		    "1..1.2.3.4 9.9..1.2.3. 1..1.2.3", "1.2.3.4@5 10.1.2.3@22 "
		    "1.2.3.4@37 1.2.3.4@48");
	assert_scan(s, "a..evil.example.9 1..evil.example", "evil.example@21");
	/* A name whose last two labels end no indicator is not hashed
	 * further, but a ".." left of them still cuts it, next to them or
	 * labels away. */
	assert_scan(s, "evil.example..nothere.test evil.example..a.nothere.test "
		    "evil.example..a.b.nothere.test",
		    "evil.example@0 evil.example@27 evil.example@56");
	/* Trimmed '-' and '.' leave a number; '_' does not. */
	assert_scan(s, "-10.1.2.3- .10.1.2.3. _10.1.2.3", "10.1.2.3@1 "
		    "10.1.2.3@12");
	/* The last label of a name is no number. */
	assert_scan(s, "v1.evil.example evil.example.2 EVIL.EXAMPLE",
		    "evil.example@0 evil.example@31");
	/* Colons without a dot: an IPv6 address or nothing. */
	assert_scan(s, "06:30:58 2001:db8::1 a:b:c ::", "2001:db8::/32@9");
	/* Each part of a run on its own. */
	assert_scan(s, "10.1.2.3:443:evil.example user:bob@evil.example:"
		    "a+10.1.2.3 x@bob@evil.example+10.1.2.3", "10.1.2.3@0 "
		    "evil.example@13 bob@evil.example@31 evil.example@35 "
		    "10.1.2.3@50 evil.example@65 10.1.2.3@78");
	/* A URL's bracketed host may hold any byte. */
	assert_scan(s, "http://[10.1.2.3]/x http://[2001:db8::5]:80/ "
		    "http://[a%b.evil.example]/ http://[1%10.1.2.3]/ "
		    "http://[10.1.2.3%x]/", "10.1.2.3@8 2001:db8::/32@28 "
		    "evil.example@53");
	csip_match_set_free(s);
}

/* Every kind of token at every offset within the first 48 bytes of a
 * line, after fillers that the vector part of the tokenizer passes over
 * (words and blanks), that it must not (no sure separator in 16 bytes:
 * '!', '*', glued words), or that make it stop (a wide character, a dot,
 * a colon), and before a newline in a buffer of lines: the skip may
 * change which bytes are read, never the sightings. */
static void
test_skips(void)
{
	static const char *const v[] = { "d41d8cd98f00b204e9800998ecf8427e",
		"evil.example", "10.1.2.3", "2001:db8::/32",
		"xn--bcher-kva.example", NULL };
	static const struct {
		const char *token, *want;
	} tok[] = {
		{ "d41d8cd98f00b204e9800998ecf8427e",
		  "d41d8cd98f00b204e9800998ecf8427e" },
		{ "a.EVIL.example", "evil.example" },
		{ "10.1.2.3", "10.1.2.3" },
		{ "2001:db8::7", "2001:db8::/32" },
		{ "b\xc3\xbc" "cher.example", "xn--bcher-kva.example" },
	};
	static const char *const fill[] = { "x", "ab ", "!", "*-", "\xe6\x8e\xa5",
		"\t", "a.b ", "k:v ", "_" };
	csip_match_set *s = make_set(v);

	for (size_t t = 0; t < G_N_ELEMENTS(tok); t++) {
		for (size_t f = 0; f < G_N_ELEMENTS(fill); f++) {
			for (size_t k = 0; k < 48; k++) {
				GString *line = g_string_new(NULL);
				char *want, *got;
				size_t at;
				collect c = { s, g_string_new(NULL) };
				uint64_t n;

				while (line->len < k)
					g_string_append(line, fill[f]);
				g_string_append_c(line, ' ');
				at = line->len;
				g_string_append(line, tok[t].token);
				/* The same token ends the line, glued to
				 * nothing, and heads the next. */
				want = g_strdup_printf("%s@%zu", tok[t].want,
						       at);
				got = scan(s, line->str);
				g_assert_cmpstr(got, ==, want);
				g_free(got);
				g_string_append_c(line, '\n');
				g_string_append(line, tok[t].token);
				g_string_append(line, " !!!!!!!!!!!!!!!!!!");
				n = csip_match_lines(s, line->str, line->len,
						     0, on_lines_hit, &c,
						     NULL);
				g_assert_cmpuint(n, ==, 2);
				g_free(want);
				want = g_strdup_printf("%s@%zu %s@0:1",
						       tok[t].want, at,
						       tok[t].want);
				g_assert_cmpstr(c.out->str, ==, want);
				g_free(want);
				g_string_free(c.out, TRUE);
				g_string_free(line, TRUE);
			}
		}
	}
	/* A lone '.' or ':' is passed over; one that starts or ends a run
	 * is not. */
	assert_scan(s, ": . :10.1.2.3 .evil.example 2001:db8::7 :x 10.1.2.3. "
		    "a:evil.example", "10.1.2.3@5 evil.example@15 "
		    "2001:db8::/32@28 10.1.2.3@43 evil.example@55");
	/* Glued to a word, a hash is no token of its own, whatever the
	 * offset. */
	for (size_t k = 1; k < 48; k++) {
		char *line = g_strdup_printf("%*s" "d41d8cd98f00b204e980099"
					     "8ecf8427e", (int)k, "");

		memset(line, 'x', k);
		assert_scan(s, line, "");
		g_free(line);
	}
	csip_match_set_free(s);
}

static void
test_punycode(void)
{
	static const char *const v[] = { "xn--bcher-kva.example",
		"cher.example", NULL };
	csip_match_set *s = make_set(v);

	assert_scan(s, "q XN--BCHER-KVA.example", "xn--bcher-kva.example@2");
	assert_scan(s, "q b\xc3\xbc" "cher.example!", "xn--bcher-kva.example@2");
	assert_scan(s, "q bcher.example", "");
	/* CJK text glues tokens together; its characters separate them. */
	assert_scan(s, "\xe6\x8e\xa5\xe7\xb6\x9a" "cher.example\xe3\x80\x82",
		    "cher.example@6");
	csip_match_set_free(s);
}

static void
test_ipv4(void)
{
	static const char *const v[] = { "10.0.0.0/8", "10.1.0.0/16",
		"10.1.2.3", "192.0.2.0/24", "203.0.113.255", NULL };
	csip_match_set *s = make_set(v);

	assert_scan(s, "10.9.9.9 10.1.9.9 10.1.2.3 10.1.2.4",
		    "10.0.0.0/8@0 10.1.0.0/16@9 10.1.2.3@18 10.1.0.0/16@27");
	assert_scan(s, "11.0.0.0 9.255.255.255 192.0.3.0 203.0.113.254", "");
	assert_scan(s, "192.0.2.0 192.0.2.255 [203.0.113.255]:80",
		    "192.0.2.0/24@0 192.0.2.0/24@10 203.0.113.255@23");
	assert_scan(s, "src=10.1.2.3:443 1.10.1.2.3 10.1.2.3.4 010.1.2.3 "
		    "10.1.2.300", "10.1.2.3@4");
	assert_scan(s, "from 10.1.2.3.", "10.1.2.3@5");
	/* Each part 0-255, one to three digits, no leading zero. */
	assert_scan(s, "10.01.2.3 10.1.2.256 10.1.2.3000 10.0.0.00 10.1.2.03",
		    "");
	assert_scan(s, "10.0.0.0 10.255.255.255 10.1.2.3",
		    "10.0.0.0/8@0 10.0.0.0/8@9 10.1.2.3@24");
	csip_match_set_free(s);
}

/* The scan asks a bitmap of the /16s that some network reaches before
 * the table: a network over many /16s, one that ends a /16 early, the
 * last address, and their neighbours. */
static void
test_ipv4_slash16(void)
{
	static const char *const v[] = { "172.16.0.0/12", "198.51.100.0/22",
		"255.255.255.255", "0.0.0.0/16", NULL };
	csip_match_set *s = make_set(v);

	assert_scan(s, "172.16.0.0 172.23.4.5 172.31.255.255",
		    "172.16.0.0/12@0 172.16.0.0/12@11 172.16.0.0/12@22");
	assert_scan(s, "172.15.255.255 172.32.0.0 172.255.0.1", "");
	assert_scan(s, "198.51.100.1 198.51.103.255 198.51.104.0 "
		    "198.51.99.255", "198.51.100.0/22@0 198.51.100.0/22@13");
	assert_scan(s, "255.255.255.255 255.255.255.254 255.255.0.0",
		    "255.255.255.255@0");
	assert_scan(s, "0.0.0.0 0.0.255.255 0.1.0.0", "0.0.0.0/16@0 "
		    "0.0.0.0/16@8");
	csip_match_set_free(s);
}

static void
test_ipv6(void)
{
	static const char *const v[] = { "2001:db8::1", "2001:db8::/32",
		"2001:db8:1::/48", "::ffff:192.0.2.1", NULL };
	csip_match_set *s = make_set(v);

	assert_scan(s, "2001:DB8:0:0:0:0:0:1", "2001:db8::1@0");
	assert_scan(s, "[2001:db8:0::1]:443", "2001:db8::1@1");
	assert_scan(s, "2001:db8::2 2001:db8:1:2::3 2001:db9::1",
		    "2001:db8::/32@0 2001:db8:1::/48@12");
	assert_scan(s, "fe80::1%eth0 2001:db8::1%eth0", "2001:db8::1@13");
	assert_scan(s, "::ffff:192.0.2.1", "::ffff:192.0.2.1@0");
	/* Times and MAC addresses are not addresses. */
	assert_scan(s, "10:11:12 00:11:22:33:44:55 2001:db8::1::2", "");
	assert_scan(s, "http://[2001:db8::1]:8080/", "2001:db8::1@8");
	csip_match_set_free(s);
}

/* The shortest addresses: parse_v6() rejects a run of fewer than 15
 * bytes without "::" before parsing it, and must take all of these. */
static void
test_ipv6_short(void)
{
	static const char *const v[] = { "1:2:3:4:5:6:7:8", "::1", "1::",
		"a::b", "1:2:3:4:5:6:102:304", "::1.2.3.4", NULL };
	csip_match_set *s = make_set(v);

	assert_scan(s, "1:2:3:4:5:6:7:8 ::1 1:: a::b",
		    "1:2:3:4:5:6:7:8@0 ::1@16 1::@20 a::b@24");
	assert_scan(s, "1:2:3:4:5:6:1.2.3.4 ::1.2.3.4",
		    "1:2:3:4:5:6:102:304@0 ::1.2.3.4@20");
	/* One group or one colon short, and times. */
	assert_scan(s, "1:2:3:4:5:6:7 1:2:3:4:5:1.2.3.4 12:34:56 1:2", "");
	csip_match_set_free(s);
}

static void
test_urls(void)
{
	static const char *const v[] = { "http://evil.example/a/B?c=1",
		"https://x.example", "hxxp://pay[.]example:8080/", NULL };
	csip_match_set *s = make_set(v);

	assert_scan(s, "GET HTTP://EVIL.example:80/a/B?c=1#top 200",
		    "http://evil.example/a/B?c=1@4");
	assert_scan(s, "GET http://evil.example/a/b?c=1", "");
	assert_scan(s, "GET http://evil.example/a/B?c=12", "");
	assert_scan(s, "see https://x.example.", "https://x.example/@4");
	assert_scan(s, "(https://x.example/)", "https://x.example/@1");
	assert_scan(s, "url=http://pay.example:8080/",
		    "http://pay.example:8080/@4");
	assert_scan(s, "http://pay.example/", "");
	csip_match_set_free(s);
}

static void
test_emails(void)
{
	static const char *const v[] = { "Bob.Smith@Phish.example",
		"phish2.example", NULL };
	csip_match_set *s = make_set(v);

	assert_scan(s, "to=<BOB.smith@phish.EXAMPLE>",
		    "bob.smith@phish.example@4");
	assert_scan(s, "xbob.smith@phish.example bob.smith@phish.example.org "
		    "bob.smith@xphish.example", "");
	assert_scan(s, "from=a+b@phish2.example", "phish2.example@9");
	csip_match_set_free(s);
}

static void
test_hashes(void)
{
	static const char *const v[] = { "d41d8cd98f00b204e9800998ecf8427e",
		"DA39A3EE5E6B4B0D3255BFEF95601890AFD80709",
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		NULL };
	csip_match_set *s = make_set(v);

	assert_scan(s, "md5=D41D8CD98F00B204E9800998ECF8427E",
		    "d41d8cd98f00b204e9800998ecf8427e@4");
	assert_scan(s, "sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709 "
		    "file-d41d8cd98f00b204e9800998ecf8427e.exe",
		    "da39a3ee5e6b4b0d3255bfef95601890afd80709@5 "
		    "d41d8cd98f00b204e9800998ecf8427e@51");
	/* Inside longer hex or words: no. */
	assert_scan(s, "0d41d8cd98f00b204e9800998ecf8427e "
		    "d41d8cd98f00b204e9800998ecf8427e0 "
		    "xd41d8cd98f00b204e9800998ecf8427e", "");
	assert_scan(s, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca4959"
		    "91b7852b855", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4"
		    "649b934ca495991b7852b855@0");
	csip_match_set_free(s);
}

static void
test_set(void)
{
	csip_match_set *s = csip_match_set_new();

	g_assert_cmpint(csip_match_set_add(s, "evil.example", 12, 0), ==, 0);
	g_assert_cmpint(csip_match_set_add(s, "EVIL.example.", 13, 0), ==, 0);
	g_assert_cmpint(csip_match_set_add(s, "10.0.0.0/8", 10, 0), ==, 0);
	g_assert_cmpint(csip_match_set_add(s, "10.1.2.3/8", 10, 0), ==, 0);
	g_assert_cmpint(csip_match_set_add(s, "D41D8CD98F00B204E9800998ECF8427E",
					   32, 0), ==, 0);
	g_assert_cmpint(csip_match_set_add(s, "192.0.2.1", 9, 0), ==, 0);
	g_assert_cmpint(csip_match_set_add(s, "192.0.2.1", 9, 0), ==, 0);
	csip_match_set_build(s);
	g_assert_cmpint(csip_match_set_count(s), ==, 4);
	assert_scan(s, "d41d8cd98f00b204e9800998ecf8427e 192.0.2.1",
		    "d41d8cd98f00b204e9800998ecf8427e@0 192.0.2.1@33");
	g_assert_cmpint(csip_match_set_add(s, "not a thing", 11, 0), ==,
			CSIP_EINVAL);
	g_assert_cmpint(csip_match_set_add(s, "AS64496", 7, 0), ==,
			CSIP_EINVAL);
	g_assert_nonnull(strstr(csip_error_last(), "does not look for asn"));
	/* Many indicators: the table grows, all are found. */
	for (int i = 0; i < 5000; i++) {
		char *d = g_strdup_printf("h%d.example", i);

		csip_assert_ok(csip_match_set_add(s, d, strlen(d), 0));
		g_free(d);
	}
	csip_match_set_build(s);
	assert_scan(s, "a.h4999.example h5000.example h0.example",
		    "h4999.example@0 h0.example@30");
	csip_match_set_free(s);
}

static void
test_formats(void)
{
	static const struct {
		const char *line;
		csip_log_format fmt;
		const char *ts;
	} cases[] = {
		{ "1705313472.123    120 10.1.2.3 TCP_MISS/200 1234 GET "
		  "http://evil.example/ - HIER_DIRECT/192.0.2.1 text/html",
		  CSIP_LOG_SQUID, "2024-01-15T10:11:12.123Z" },
		{ "15-Jan-2024 10:11:12.123 client @0x7f 10.0.0.5#53211 "
		  "(evil.example): query: evil.example IN A +E(0)K (10.0.0.53)",
		  CSIP_LOG_BIND, "2024-01-15T10:11:12.123" },
		{ "1705313472.123456\tCx1\t10.1.0.5\t53211\t10.0.0.53\t53\tudp"
		  "\t1\t-\tevil.example\t1\tC_INTERNET",
		  CSIP_LOG_ZEEK_DNS, "2024-01-15T10:11:12.123456Z" },
		{ "{\"timestamp\":\"2024-01-15T10:11:12.123456+0000\","
		  "\"event_type\":\"dns\",\"dns\":{\"rrname\":\"evil.example\"}}",
		  CSIP_LOG_EVE, "2024-01-15T10:11:12.123456+0000" },
		{ "Jan 15 10:11:12 mx1 postfix/smtpd[123]: NOQUEUE: reject: "
		  "RCPT from evil.example[192.0.2.1]", CSIP_LOG_POSTFIX,
		  "Jan 15 10:11:12" },
		{ "2024-01-15 10:11:12,5 INFO fetched evil.example",
		  CSIP_LOG_TEXT, "2024-01-15T10:11:12.5" },
		{ "just evil.example", CSIP_LOG_TEXT, "" },
	};
	char ts[64];

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		const char *l = cases[i].line;

		g_assert_cmpint(csip_log_detect(l, strlen(l)), ==,
				cases[i].fmt);
		csip_log_timestamp(cases[i].fmt, l, strlen(l), ts, sizeof(ts));
		g_assert_cmpstr(ts, ==, cases[i].ts);
	}
	csip_log_timestamp(CSIP_LOG_CSV, "\"2024-01-15T10:11:12Z\",x", 24, ts,
			   sizeof(ts));
	g_assert_cmpstr(ts, ==, "2024-01-15T10:11:12Z");
	csip_log_timestamp(CSIP_LOG_CSV, "1705313472,x", 12, ts, sizeof(ts));
	g_assert_cmpstr(ts, ==, "2024-01-15T10:11:12Z");
	g_assert_true(csip_log_detect("#separator \\x09", 15) ==
		      CSIP_LOG_ZEEK_DNS);
	g_assert_true(csip_log_skip(CSIP_LOG_ZEEK_DNS, "#fields\tts", 10));
	g_assert_cmpint(csip_log_format_from_name("zeek-dns"), ==,
			CSIP_LOG_ZEEK_DNS);
	g_assert_cmpint(csip_log_format_from_name("nope"), ==, -1);
}

/* Sightings as text lines "line offset value ts". */
static void
on_sighting(void *ud, const csip_sighting *sg)
{
	collect *c = ud;

	g_string_append_printf(c->out, "%" G_GUINT64_FORMAT " %"
		G_GUINT64_FORMAT " %s %s\n", sg->line, sg->offset,
		csip_match_indicator(c->s, sg->ind, NULL), sg->ts);
}

static char *
write_temp(const void *data, size_t len)
{
	char *path = NULL;
	int fd = g_file_open_tmp("csip-match-XXXXXX", &path, NULL);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(write(fd, data, len), ==, (gssize)len);
	close(fd);
	return path;
}

static char *
scan_file(const csip_match_set *s, const char *path, int threads,
	  csip_scan_stats *st, int *rc)
{
	collect c = { s, g_string_new(NULL) };
	int fd = open(path, O_RDONLY);

	g_assert_cmpint(fd, >=, 0);
	*rc = csip_match_fd(s, CSIP_LOG_AUTO, fd, path, threads, on_sighting,
			    &c, st);
	close(fd);
	return g_string_free(c.out, FALSE);
}

static GString *
make_log(size_t bytes)
{
	GString *g = g_string_new(NULL);
	GRand *r = g_rand_new_with_seed(7);

	for (unsigned i = 0; g->len < bytes; i++) {
		unsigned k = (unsigned)g_rand_int_range(r, 0, 1000);

		g_string_append_printf(g, "2024-01-15T10:%02u:%02uZ host%u."
			"ok.example %s 10.%u.0.1 GET /x\n", (i / 60) % 60,
			i % 60, k, k == 7 ? "a.evil.example" :
			k == 8 ? "notevil.example" : "-", k % 3);
	}
	g_rand_free(r);
	return g;
}

static void
test_threads(void)
{
	static const char *const v[] = { "evil.example", "10.2.0.0/16",
		NULL };
	csip_match_set *s = make_set(v);
	GString *log = make_log(6u << 20);
	char *one, *four, *path = write_temp(log->str, log->len);
	csip_scan_stats st;
	int rc;
	collect c = { s, g_string_new(NULL) };

	one = scan_file(s, path, 1, &st, &rc);
	g_assert_cmpint(rc, ==, 0);
	g_assert_cmpint(st.bytes, ==, log->len);
	g_assert_cmpint(st.format, ==, CSIP_LOG_TEXT);
	g_assert_cmpint(st.sightings, >, 1000);
	four = scan_file(s, path, 4, &st, &rc);
	g_assert_cmpstr(one, ==, four);
	/* And the same for the buffer interface. */
	csip_match_buffer(s, CSIP_LOG_TEXT, log->str, log->len, 1, 0, 3,
			  on_sighting, &c);
	g_assert_cmpstr(c.out->str, ==, one);
	/* Offsets point at the token. */
	{
		char **lines = g_strsplit(one, "\n", 3);
		guint64 off = g_ascii_strtoull(strchr(lines[0], ' ') + 1,
					       NULL, 10);

		g_assert_true(strncmp(log->str + off, "a.evil.example", 14) ==
			      0 || strncmp(log->str + off, "10.2.0.1", 8) == 0);
		g_strfreev(lines);
	}
	g_string_free(c.out, TRUE);
	g_unlink(path);
	g_free(path);
	g_free(one);
	g_free(four);
	g_string_free(log, TRUE);
	csip_match_set_free(s);
}

static GBytes *
gzip_bytes(const char *data, size_t len)
{
	GConverter *z = G_CONVERTER(g_zlib_compressor_new(
		G_ZLIB_COMPRESSOR_FORMAT_GZIP, 6));
	GInputStream *mem = g_memory_input_stream_new_from_data(data,
		(gssize)len, NULL);
	GInputStream *in = g_converter_input_stream_new(mem, z);
	GOutputStream *out = g_memory_output_stream_new_resizable();
	GBytes *b;

	g_assert_cmpint(g_output_stream_splice(out, in,
		G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, NULL), >, 0);
	b = g_memory_output_stream_steal_as_bytes(
		G_MEMORY_OUTPUT_STREAM(out));
	g_object_unref(out);
	g_object_unref(in);
	g_object_unref(mem);
	g_object_unref(z);
	return b;
}

static guint
count_lines(const char *s)
{
	guint n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void
test_gzip(void)
{
	static const char *const v[] = { "evil.example", NULL };
	csip_match_set *s = make_set(v);
	GString *log = make_log(1u << 20);
	GBytes *gz = gzip_bytes(log->str, log->len);
	gsize gl;
	const char *gd = g_bytes_get_data(gz, &gl);
	char *plain_path = write_temp(log->str, log->len);
	char *gz_path = write_temp(gd, gl);
	char *cut_path = write_temp(gd, gl / 2);
	GString *two = g_string_new_len(gd, (gssize)gl);
	char *two_path, *a, *b, *cut;
	csip_scan_stats st;
	int rc;

	g_string_append_len(two, gd, (gssize)gl);
	two_path = write_temp(two->str, two->len);
	a = scan_file(s, plain_path, 2, &st, &rc);
	g_assert_cmpint(rc, ==, 0);
	g_assert_false(st.gzip);
	b = scan_file(s, gz_path, 2, &st, &rc);
	g_assert_cmpint(rc, ==, 0);
	g_assert_true(st.gzip);
	g_assert_cmpstr(a, ==, b);
	g_free(b);
	/* Cut short: what was read is reported, then an error. */
	cut = scan_file(s, cut_path, 1, &st, &rc);
	g_assert_cmpint(rc, ==, CSIP_EIO);
	g_assert_nonnull(strstr(csip_error_last(), "cut short"));
	g_assert_true(g_str_has_prefix(a, cut));
	g_assert_cmpint(strlen(cut), >, 0);
	/* Two members, as `cat a.gz b.gz` makes. */
	b = scan_file(s, two_path, 1, &st, &rc);
	g_assert_cmpint(rc, ==, 0);
	g_assert_cmpint(st.bytes, ==, 2 * log->len);
	g_assert_cmpint(st.sightings, ==, 2 * count_lines(a));
	g_free(b);
	for (char **p = (char *[]){ plain_path, gz_path, cut_path, two_path,
	     NULL }; *p; p++) {
		g_unlink(*p);
		g_free(*p);
	}
	g_free(a);
	g_free(cut);
	g_string_free(two, TRUE);
	g_bytes_unref(gz);
	g_string_free(log, TRUE);
	csip_match_set_free(s);
}

static void
test_bad_input(void)
{
	static const char *const v[] = { "evil.example", "10.0.0.0/8",
		"2001:db8::/32", "d41d8cd98f00b204e9800998ecf8427e",
		"http://evil.example/x", "a@evil.example", NULL };
	csip_match_set *s = make_set(v);
	GRand *r = g_rand_new_with_seed(1);
	GString *junk = g_string_new(NULL), *big = g_string_new(NULL);
	char *path, *out;
	csip_scan_stats st;
	int rc;

	/* Binary junk: no crash, whatever it finds is within bounds (the
	 * fuzzer checks the rest). */
	for (int i = 0; i < 1 << 20; i++)
		g_string_append_c(junk, (char)g_rand_int_range(r, 0, 256));
	g_string_append(junk, "\nevil.example\n");
	path = write_temp(junk->str, junk->len);
	out = scan_file(s, path, 2, &st, &rc);
	g_assert_cmpint(rc, ==, 0);
	g_assert_nonnull(strstr(out, "evil.example"));
	g_free(out);
	g_unlink(path);
	g_free(path);

	/* Overlong lines: one of 2 MiB inside a window, one of 20 MiB
	 * longer than it; matching goes on after them. */
	g_string_append(big, "evil.example ");
	for (int i = 0; i < 2 << 20; i++)
		g_string_append_c(big, 'a' + i % 26);
	g_string_append(big, " evil.example\nline2 evil.example\n");
	for (int i = 0; i < 20 << 20; i++)
		g_string_append_c(big, i % 64 ? 'x' : ' ');
	g_string_append(big, "\nline4 evil.example\n");
	path = write_temp(big->str, big->len);
	out = scan_file(s, path, 1, &st, &rc);
	g_assert_cmpint(rc, ==, 0);
	g_assert_cmpint(st.long_lines, ==, 2);
	g_assert_cmpint(st.lines, ==, 4);
	g_assert_true(g_str_has_prefix(out, "1 0 evil.example"));
	g_assert_nonnull(strstr(out, "\n2 "));
	g_assert_nonnull(strstr(out, "\n4 "));
	g_free(out);
	g_unlink(path);
	g_free(path);

	g_rand_free(r);
	g_string_free(junk, TRUE);
	g_string_free(big, TRUE);
	csip_match_set_free(s);
}

static void
count_bad(void *ud, const char *name, uint64_t line, const char *msg)
{
	GString *g = ud;

	g_string_append_printf(g, "%" G_GUINT64_FORMAT ": %s\n", line, msg);
}

/* A copy holds each indicator of the set once, matches as the set does,
 * and grows without touching the set (the update of a followed feed). */
static void
test_copy(void)
{
	static const char *const values[] = { "evil.example", "EVIL.example",
		"10.0.0.0/8", "10.0.0.0/8", "2001:db8::/32", "192.0.2.1",
		"http://pay.example/login", "http://pay.example/other",
		"bob@phish.example", "d41d8cd98f00b204e9800998ecf8427e",
		NULL };
	static const char line[] = "a.evil.example 10.9.8.7 2001:db8::5 "
		"http://pay.example/login bob@phish.example "
		"d41d8cd98f00b204e9800998ecf8427e new.example 192.0.2.1";
	csip_match_set *s = make_set(values), *c, *c2;
	char *want = scan(s, line), *got;
	uint32_t at;
	csip_ind_type t;

	c = csip_match_set_copy(s);
	g_assert_cmpint(csip_match_set_count(c), ==, csip_match_set_count(s));
	csip_match_set_build(c);
	g_assert_cmpint(csip_match_set_count(c), ==, 8);
	got = scan(c, line);
	g_assert_cmpstr(got, ==, want);
	g_free(got);
	/* A copy of the copy is no larger: nothing is carried twice. */
	c2 = csip_match_set_copy(c);
	csip_assert_ok(csip_match_set_add_ind(c2, "NEW.example", 11,
					      CSIP_IND_UNKNOWN, &at));
	g_assert_cmpstr(csip_match_indicator(c2, at, &t), ==, "new.example");
	g_assert_cmpint(t, ==, CSIP_IND_DOMAIN);
	csip_match_set_build(c2);
	g_assert_cmpint(csip_match_set_count(c2), ==, 9);
	g_assert_cmpint(csip_match_set_memory(c2), <=,
			csip_match_set_memory(s) + 64);
	assert_scan(c2, "x.new.example", "new.example@0");
	/* The sets it came from are unchanged. */
	assert_scan(c, "x.new.example", "");
	got = scan(s, line);
	g_assert_cmpstr(got, ==, want);
	g_free(got);
	csip_match_set_free(c2);
	csip_match_set_free(c);
	csip_match_set_free(s);
	g_free(want);
}

/* Hashes and networks are held in binary and their text is rendered when
 * asked for: the text is the one added, canonical or not, before and
 * after the build and in a copy, and matching is unchanged. */
static void
test_binary_values(void)
{
	static const char *const values[] = {
		"D41D8CD98F00B204E9800998ECF8427E",
		"da39a3ee5e6b4b0d3255bfef95601890afd80709",
		"192.0.2.1", "10.0.0.0/8", "2001:db8::5", "2001:db8:1::/48",
		"::ffff:192.0.2.9", NULL };
	/* Given as parsed values, not canonical: kept as text. */
	static const struct {
		csip_ind_type type;
		const char *value;
	} odd[] = {
		{ CSIP_IND_MD5, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" },
		{ CSIP_IND_CIDR4, "172.16.9.9/12" },
		{ CSIP_IND_CIDR6, "2001:DB8:2::/48" },
		{ CSIP_IND_IPV6, "2001:db8:0:0:0:0:0:7" },
	};
	static const char line[] = "D41D8CD98F00B204E9800998ECF8427E "
		"DA39A3EE5E6B4B0D3255BFEF95601890AFD80709 192.0.2.1 10.1.2.3 "
		"2001:db8::5 2001:db8:1:2::1 ::ffff:192.0.2.9 "
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 172.20.0.1 2001:db8:2::3 "
		"2001:db8::7";
	static const char want[] = "d41d8cd98f00b204e9800998ecf8427e@0 "
		"da39a3ee5e6b4b0d3255bfef95601890afd80709@33 192.0.2.1@74 "
		"10.0.0.0/8@84 2001:db8::5@93 2001:db8:1::/48@105 "
		"::ffff:192.0.2.9@121 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA@138 "
		"172.16.9.9/12@171 2001:DB8:2::/48@182 "
		"2001:db8:0:0:0:0:0:7@196";
	csip_match_set *s = csip_match_set_new(), *c;
	uint32_t at[G_N_ELEMENTS(values) - 1];
	const char *a, *b;
	char *got;

	for (size_t i = 0; values[i]; i++)
		csip_assert_ok(csip_match_set_add_ind(s, values[i],
			strlen(values[i]), CSIP_IND_UNKNOWN, &at[i]));
	for (size_t i = 0; i < G_N_ELEMENTS(odd); i++) {
		csip_indicator ind = { odd[i].type, (char *)odd[i].value,
			NULL, NULL, 0 };

		csip_assert_ok(csip_match_set_add_parsed(s, &ind));
	}
	g_assert_cmpstr(csip_match_indicator(s, at[0], NULL), ==,
			"d41d8cd98f00b204e9800998ecf8427e");
	g_assert_cmpstr(csip_match_indicator(s, at[3], NULL), ==,
			"10.0.0.0/8");
	csip_match_set_build(s);
	/* The build sorts the networks; each value still names its own. */
	for (size_t i = 2; values[i]; i++)
		g_assert_cmpstr(csip_match_indicator(s, at[i], NULL), ==,
				values[i]);
	/* Two texts at once stay apart. */
	a = csip_match_indicator(s, at[1], NULL);
	b = csip_match_indicator(s, at[4], NULL);
	g_assert_cmpstr(a, ==, values[1]);
	g_assert_cmpstr(b, ==, values[4]);
	got = scan(s, line);
	g_assert_cmpstr(got, ==, want);
	g_free(got);
	c = csip_match_set_copy(s);
	csip_match_set_build(c);
	g_assert_cmpint(csip_match_set_count(c), ==, csip_match_set_count(s));
	got = scan(c, line);
	g_assert_cmpstr(got, ==, want);
	g_free(got);
	csip_match_set_free(c);
	csip_match_set_free(s);
}

static void
collect_row(void *ud, const csip_match_src_row *r)
{
	GString *g = ud;

	g_string_append_printf(g, "%u:%" G_GINT64_FORMAT ":%s\n", r->ind,
			       r->item, r->published_at ? r->published_at :
			       "-");
}

/* The hub's CSV export: each value with the item that carries it and its
 * publication time; values that are not what the hub writes give 0 and
 * NULL, never a wrong id or time. */
static void
test_rows(void)
{
	static const char csv[] = "type,value,item,tlp,published_at\r\n"
		"domain,Evil.Example,12,AMBER,2025-04-01T09:30:00Z\r\n"
		"ipv4,192.0.2.1,7,GREEN,2025-04-02T10:00:00Z\r\n"
		"domain,bad..example,13,AMBER,2025-04-01T09:30:00Z\r\n"
		"url,http://x.example/a,0,AMBER,2025-04-01\r\n"
		"md5,d41d8cd98f00b204e9800998ecf8427e,-3,AMBER,"
		"2025-04-01T09:30:00+09:00\r\n"
		"sha1,da39a3ee5e6b4b0d3255bfef95601890afd80709,"
		"1234567890123456789,AMBER,2025-04-01T09:30:00Z junk\r\n"
		"domain,short.example\r\n";
	static const char plain[] = "evil.example\n192.0.2.1\n";
	static const char *const want[] = { "12:2025-04-01T09:30:00Z",
		"7:2025-04-02T10:00:00Z", "0:-", "0:-", "0:-", "0:-" };
	csip_match_set *s = csip_match_set_new();
	GString *rows = g_string_new(NULL);
	csip_match_src_cb cb = { NULL, NULL, collect_row, rows };
	csip_match_src_stats st;
	char **lines;
	uint32_t ind;

	csip_assert_ok(csip_match_src_add_buffer_cb(s, CSIP_MSRC_AUTO, csv,
		strlen(csv), "export.csv", &cb, &st));
	g_assert_cmpint(st.added, ==, 6);
	g_assert_cmpint(st.skipped, ==, 1);
	g_assert_true(st.item_column);
	lines = g_strsplit(rows->str, "\n", -1);
	g_assert_cmpint(g_strv_length(lines), ==, 7);
	/* The value as the set holds it, canonical. */
	ind = (uint32_t)strtoul(lines[0], NULL, 10);
	g_assert_cmpstr(csip_match_indicator(s, ind, NULL), ==,
			"evil.example");
	for (int i = 0; i < 6; i++)
		g_assert_cmpstr(strchr(lines[i], ':') + 1, ==, want[i]);
	g_strfreev(lines);
	csip_match_set_free(s);

	/* No CSV, no rows; a CSV without an item column says so. */
	s = csip_match_set_new();
	g_string_truncate(rows, 0);
	csip_assert_ok(csip_match_src_add_buffer_cb(s, CSIP_MSRC_LIST, plain,
		strlen(plain), "plain", &cb, &st));
	g_assert_cmpint(st.added, ==, 2);
	g_assert_false(st.item_column);
	g_assert_cmpstr(rows->str, ==, "");
	csip_assert_ok(csip_match_src_add_buffer_cb(s, CSIP_MSRC_LIST,
		"value\nevil.example\n", 19, "csv", &cb, &st));
	g_assert_false(st.item_column);
	/* Entries 0 and 1 are the plain list's. */
	g_assert_cmpstr(rows->str, ==, "2:0:-\n");
	csip_match_set_free(s);
	g_string_free(rows, TRUE);
}

static void
test_load(void)
{
	static const char list[] = "# a comment\n\nevil.example\n"
		"not an indicator\n10.0.0.0/8\nAS64496\n  EVIL.example  \n"
		"http://x.example/a\n";
	static const char csv[] = "type,value,comment\n"
		"domain,evil.example,\"a, b\"\nipv4,\"192.0.2.1\",x\n"
		"md5,zz,bad\nshort\n";
	csip_match_set *s = csip_match_set_new();
	GString *bad = g_string_new(NULL);
	char *p1 = write_temp(list, strlen(list));
	char *p2 = write_temp(csv, strlen(csv));
	size_t added, skipped;

	csip_assert_ok(csip_match_set_load(s, p1, count_bad, bad, &added,
					    &skipped));
	g_assert_cmpint(added, ==, 4);
	g_assert_cmpint(skipped, ==, 2);
	g_assert_nonnull(strstr(bad->str, "4: "));
	g_assert_nonnull(strstr(bad->str, "6: "));
	csip_match_set_build(s);
	g_assert_cmpint(csip_match_set_count(s), ==, 3);
	csip_match_set_free(s);

	s = csip_match_set_new();
	g_string_truncate(bad, 0);
	csip_assert_ok(csip_match_set_load(s, p2, count_bad, bad, &added,
					    &skipped));
	g_assert_cmpint(added, ==, 2);
	g_assert_cmpint(skipped, ==, 2);
	csip_match_set_build(s);
	assert_scan(s, "192.0.2.1 x.evil.example",
		    "192.0.2.1@0 evil.example@10");
	g_assert_cmpint(csip_match_set_load(s, "/nonexistent/list", NULL,
					    NULL, &added, &skipped), ==,
			CSIP_EIO);
	csip_match_set_free(s);
	g_unlink(p1);
	g_unlink(p2);
	g_free(p1);
	g_free(p2);
	g_string_free(bad, TRUE);
}

/* The fixtures of tests/data/match/. */
static char *
fixture(const char *name)
{
	const char *src = g_getenv("G_TEST_SRCDIR");

	return g_build_filename(src ? src : ".", "data", "match", name, NULL);
}

static csip_match_set *
load_src(const char *where, csip_match_src_format f, GString *bad,
	 csip_match_src_stats *st)
{
	csip_match_set *s = csip_match_set_new();

	csip_assert_ok(csip_match_src_load(s, where, f, count_bad, bad, st));
	csip_match_set_build(s);
	return s;
}

static void
test_stix(void)
{
	char *path = fixture("stix-bundle.json");
	GString *bad = g_string_new(NULL);
	csip_match_src_stats st;
	csip_match_set *s = load_src(path, CSIP_MSRC_AUTO, bad, &st);

	g_assert_cmpint(st.format, ==, CSIP_MSRC_STIX);
	g_assert_cmpint(st.added, ==, 12);
	g_assert_cmpint(st.skipped, ==, 7);
	g_assert_cmpint(csip_match_set_count(s), ==, 12);
	/* OR, AND, FOLLOWEDBY and IN: every value on its own. */
	assert_scan(s, "a.evil.example 198.51.100.9 203.0.113.6 "
		    "2001:db8:1::5", "evil.example@0 198.51.100.0/24@15 "
		    "203.0.113.6@28 2001:db8:1::/48@40");
	assert_scan(s, "GET http://pay.example/login?id=1 bob@phish.example",
		    "http://pay.example/login?id=1@4 "
		    "bob@phish.example@34");
	assert_scan(s, "79054025255fb1a26e4bc422aef54eb4 "
		    "da39a3ee5e6b4b0d3255bfef95601890afd80709",
		    "79054025255fb1a26e4bc422aef54eb4@0 "
		    "da39a3ee5e6b4b0d3255bfef95601890afd80709@33");
	/* SCOs; not the revoked one, not the '!=' one. */
	assert_scan(s, "sco.example 192.0.2.77 revoked.example 192.0.2.2",
		    "sco.example@0 192.0.2.77@12");
	g_assert_nonnull(strstr(bad->str, "file:mime_type"));
	g_assert_nonnull(strstr(bad->str, "snort"));
	g_assert_nonnull(strstr(bad->str, "not a valid STIX pattern"));
	g_assert_nonnull(strstr(bad->str, "which domain-name:value does not "
				"hold"));
	csip_match_set_free(s);
	/* Stated as MISP: refused whole. */
	s = csip_match_set_new();
	g_assert_cmpint(csip_match_src_load(s, path, CSIP_MSRC_MISP, NULL,
					    NULL, &st), ==, CSIP_EINVAL);
	g_assert_nonnull(strstr(csip_error_last(), "not a MISP event"));
	csip_match_set_free(s);
	g_string_free(bad, TRUE);
	g_free(path);
}

static void
test_stix_patterns(void)
{
	static const struct {
		const char *pattern;
		size_t added, skipped;
	} cases[] = {
		{ "[ ipv4-addr:value = '10.0.0.0' ]", 1, 0 },
		{ "[file:hashes.\"SHA-256\" = 'x']", 0, 1 },
		{ "[file:hashes.sha256 = 'aec070645fe53ee3b3763059376134f058cc"
		  "337247c978add178b6ccdfb0019f']", 1, 0 },
		{ "[url:value = 'http://x.example/a\\'b']", 1, 0 },
		{ "[domain-name:value NOT = 'x.example']", 0, 1 },
		{ "EXISTS [domain-name:value]", 0, 1 },
		{ "[network-traffic:dst_ref.value = '192.0.2.1' AND "
		  "network-traffic:dst_port = 443] START t'2024-01-01T00:00:00Z'"
		  " STOP t'2024-02-01T00:00:00Z'", 1, 1 },
		{ "[domain-name:value = 'a.example'] REPEATS 5 TIMES", 1, 0 },
		{ "[[domain-name:value = 'a.example']]", 0, 1 },
		{ "[domain-name:value = 'a.example'", 0, 1 },
		{ "", 0, 1 },
		{ "[x:y = h'ff' OR z:w = b'AA==']", 0, 2 },
		{ "[ipv6-addr:value IN ('2001:db8::1', 'nope', 3)]", 1, 1 },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		json_t *b = json_pack("{s:s, s:[{s:s, s:s, s:s}]}", "type",
			"bundle", "objects", "type", "indicator", "id",
			"indicator--x", "pattern", cases[i].pattern);
		char *text = json_dumps(b, 0);
		csip_match_set *s = csip_match_set_new();
		csip_match_src_stats st;

		csip_assert_ok(csip_match_src_add_buffer(s, CSIP_MSRC_AUTO,
			text, strlen(text), "t", NULL, NULL, &st));
		if (st.added != cases[i].added ||
		    st.skipped != cases[i].skipped)
			g_error("%s: added %zu skipped %zu", cases[i].pattern,
				st.added, st.skipped);
		csip_match_set_free(s);
		free(text);
		json_decref(b);
	}
}

static void
test_misp(void)
{
	char *path = fixture("misp-event.json");
	char *feed = fixture("misp-feed");
	char *manifest = fixture("misp-feed/manifest.json");
	GString *bad = g_string_new(NULL);
	csip_match_src_stats st;
	csip_match_set *s = load_src(path, CSIP_MSRC_AUTO, bad, &st);
	gchar *text;
	gsize len;

	g_assert_cmpint(st.format, ==, CSIP_MSRC_MISP);
	g_assert_cmpint(st.added, ==, 10);
	g_assert_cmpint(st.skipped, ==, 4);
	assert_scan(s, "x.evil.example 198.51.100.7 c2.example 203.0.113.9",
		    "evil.example@0 198.51.100.7@15 c2.example@28 "
		    "203.0.113.9@39");
	assert_scan(s, "http://pay.example/login deleted.example 2001:db8::5",
		    "http://pay.example/login@0 2001:db8::/32@41");
	assert_scan(s, "aec070645fe53ee3b3763059376134f058cc337247c978add178b6"
		    "ccdfb0019f 79054025255fb1a26e4bc422aef54eb4",
		    "aec070645fe53ee3b3763059376134f058cc337247c978add178b6cc"
		    "dfb0019f@0 79054025255fb1a26e4bc422aef54eb4@65");
	g_assert_nonnull(strstr(bad->str, "MISP comment attributes"));
	g_assert_nonnull(strstr(bad->str, "a0000000-0000-4000-8000-"
				"000000000009"));
	csip_match_set_free(s);

	/* A restSearch answer and a bare list of events. */
	g_assert_true(g_file_get_contents(path, &text, &len, NULL));
	for (int k = 0; k < 2; k++) {
		char *doc = g_strdup_printf(k ? "[%s]" : "{\"response\":[%s]}",
					    text);

		s = csip_match_set_new();
		csip_assert_ok(csip_match_src_add_buffer(s, CSIP_MSRC_AUTO,
			doc, strlen(doc), "t", NULL, NULL, &st));
		g_assert_cmpint(st.added, ==, 10);
		csip_match_set_free(s);
		g_free(doc);
	}
	g_free(text);

	/* A feed: the folder, or its manifest (events next to it). */
	for (int k = 0; k < 2; k++) {
		g_string_truncate(bad, 0);
		s = load_src(k ? manifest : feed, CSIP_MSRC_AUTO, bad, &st);
		g_assert_cmpint(st.added, ==, 3);
		g_assert_cmpint(st.skipped, ==, 1);
		g_assert_nonnull(strstr(bad->str, "AS attributes"));
		assert_scan(s, "feed-one.example 192.0.2.44 "
			    "victim-box@feed-two.example", "feed-one.example@0 "
			    "192.0.2.44@17 victim-box@feed-two.example@28");
		csip_match_set_free(s);
	}
	/* A manifest given as a buffer has nowhere to read events from. */
	g_assert_true(g_file_get_contents(manifest, &text, &len, NULL));
	s = csip_match_set_new();
	g_assert_cmpint(csip_match_src_add_buffer(s, CSIP_MSRC_AUTO, text, len,
		"m", NULL, NULL, &st), ==, CSIP_EINVAL);
	g_assert_nonnull(strstr(csip_error_last(), "feed manifest"));
	csip_match_set_free(s);
	g_free(text);
	g_string_free(bad, TRUE);
	g_free(path);
	g_free(feed);
	g_free(manifest);
}

static void
test_src_bad(void)
{
	static const struct {
		const char *doc;
		csip_match_src_format f;
		int rc;
		const char *msg;
	} cases[] = {
		{ "{\"type\": \"bundle\", \"objects\": [", CSIP_MSRC_AUTO,
		  CSIP_EINVAL, "not valid JSON" },
		{ "{\"a\": 1}", CSIP_MSRC_AUTO, CSIP_EINVAL, "is JSON but" },
		{ "{\"Event\": {}}", CSIP_MSRC_STIX, CSIP_EINVAL,
		  "not a STIX 2.1 bundle" },
		{ "evil.example\n", CSIP_MSRC_STIX, CSIP_EINVAL,
		  "not valid JSON" },
		{ "{\"Event\": {\"Attribute\": [1, {\"type\": \"domain\"}, "
		  "{\"type\": \"domain\", \"value\": 5}]}}", CSIP_MSRC_AUTO,
		  CSIP_OK, NULL },
		{ "{\"type\": \"bundle\", \"objects\": [1, {}, {\"type\": "
		  "\"indicator\"}, {\"type\": \"ipv4-addr\"}, {\"type\": "
		  "\"file\", \"hashes\": 3}]}", CSIP_MSRC_AUTO, CSIP_OK, NULL },
		{ "\xef\xbb\xbf  [ ]", CSIP_MSRC_AUTO, CSIP_OK, NULL },
		{ "\xef\xbb\xbf" "evil.example\r\n10.0.0.1", CSIP_MSRC_AUTO,
		  CSIP_OK, NULL },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		csip_match_set *s = csip_match_set_new();
		csip_match_src_stats st;
		int rc = csip_match_src_add_buffer(s, cases[i].f,
			cases[i].doc, strlen(cases[i].doc), "doc", NULL, NULL,
			&st);

		g_assert_cmpint(rc, ==, cases[i].rc);
		if (cases[i].msg)
			g_assert_nonnull(strstr(csip_error_last(),
						cases[i].msg));
		csip_match_set_free(s);
	}
	g_assert_cmpint(csip_match_src_detect("  {\"type\":\"bundle\"}", 19),
			==, CSIP_MSRC_STIX);
	g_assert_cmpint(csip_match_src_detect("{\"Event\":{}}", 12), ==,
			CSIP_MSRC_MISP);
	g_assert_cmpint(csip_match_src_detect("evil.example", 12), ==,
			CSIP_MSRC_LIST);
	g_assert_cmpint(csip_match_src_format_from_name("stix"), ==,
			CSIP_MSRC_STIX);
	g_assert_cmpint(csip_match_src_format_from_name("xml"), ==, -1);
}

/* The STIX examples of the shared test data (../shared/testdata/stix2.1
 * next to the source tree): what each gives. */
static void
test_stix_shared(void)
{
	static const struct {
		const char *file;
		int rc;
		size_t added;
	} cases[] = {
		{ "indicator-for-c2-ip-address.json", CSIP_OK, 1 },
		{ "indicators-for-C2-with-COA.json", CSIP_OK, 2 },
		{ "malicious-email-indicator-with-attachment.json", CSIP_OK,
		  0 },
		{ "interop-objectmarking-test.json", CSIP_OK, 0 },
		{ "threat-reports/apt1.json", CSIP_OK, 10 },
		{ "threat-reports/poisonivy.json", CSIP_OK, 64 },
	};
	const char *src = g_getenv("G_TEST_SRCDIR");
	char *dir = g_build_filename(src ? src : ".", "..", "..", "shared",
				     "testdata", "stix2.1", "examples", NULL);

	if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
		g_test_skip("the shared STIX examples are not next to the "
			    "source tree (../shared/testdata/stix2.1); nothing "
			    "to run");
		g_free(dir);
		return;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *p = g_build_filename(dir, cases[i].file, NULL);
		csip_match_set *s = csip_match_set_new();
		csip_match_src_stats st;

		g_assert_cmpint(csip_match_src_load(s, p, CSIP_MSRC_AUTO,
			NULL, NULL, &st), ==, cases[i].rc);
		if (st.added != cases[i].added)
			g_error("%s: %zu added, %zu skipped", cases[i].file,
				st.added, st.skipped);
		g_assert_cmpint(st.format, ==, CSIP_MSRC_STIX);
		csip_match_set_free(s);
		g_free(p);
	}
	g_free(dir);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/match/domains", test_domains);
	g_test_add_func("/match/pieces", test_pieces);
	g_test_add_func("/match/many-hosts", test_many_hosts);
	g_test_add_func("/match/label-words", test_label_words);
	g_test_add_func("/match/url-blocks", test_url_blocks);
	g_test_add_func("/match/punycode", test_punycode);
	g_test_add_func("/match/skips", test_skips);
	g_test_add_func("/match/ipv4", test_ipv4);
	g_test_add_func("/match/ipv4-slash16", test_ipv4_slash16);
	g_test_add_func("/match/ipv6", test_ipv6);
	g_test_add_func("/match/ipv6-short", test_ipv6_short);
	g_test_add_func("/match/urls", test_urls);
	g_test_add_func("/match/emails", test_emails);
	g_test_add_func("/match/hashes", test_hashes);
	g_test_add_func("/match/set", test_set);
	g_test_add_func("/match/copy", test_copy);
	g_test_add_func("/match/binary-values", test_binary_values);
	g_test_add_func("/match/rows", test_rows);
	g_test_add_func("/match/formats", test_formats);
	g_test_add_func("/match/threads", test_threads);
	g_test_add_func("/match/gzip", test_gzip);
	g_test_add_func("/match/bad-input", test_bad_input);
	g_test_add_func("/match/load", test_load);
	g_test_add_func("/match/stix", test_stix);
	g_test_add_func("/match/stix-patterns", test_stix_patterns);
	g_test_add_func("/match/stix-shared", test_stix_shared);
	g_test_add_func("/match/misp", test_misp);
	g_test_add_func("/match/src-bad", test_src_bad);
	return g_test_run();
}
