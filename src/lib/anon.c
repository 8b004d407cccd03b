/*
 * anon.c - anonymise a reported e-mail (see anon.h).
 *
 * One GMime tree, three walks over it:
 *
 *  1. discover: read every header and text and collect the identities
 *     (recipients, provider hosts, internal IP addresses), each with its
 *     placeholder and the literal patterns that find it;
 *  2. rewrite: replace every pattern in every header and text, also inside
 *     percent-encoded, HTML-entity and base64 runs (decoded, rewritten and
 *     encoded again), and drop the internal Received hops;
 *  3. check: serialise, parse the result again and search it the same way;
 *     the raw bytes and the bytes of binary attachments (kept as they
 *     were) are searched for addresses, hosts and IPs too, in 8-bit text
 *     and in UTF-16, and archives (zip, gzip, 7z, rar, tar ...) are
 *     opened and their members searched: a mail as a nested message,
 *     text with names, other bytes raw, archives inside in turn, with
 *     the passwords the bodies give; each text is also read as a person
 *     or a script would see it (escapes decoded, full-width forms,
 *     defanged notation, folded lines, markup removed: check_views()).
 *     Anything left, or an archive that could not be unpacked whole,
 *     fails the call (fail closed).
 *
 * Discovery finishes before any rewriting, so an identity first seen late
 * (an address at a provider domain in the last part) is also replaced where
 * it appears first.  Matching is on literals with ASCII case folding; the
 * boundary rules per kind (word boundaries for names and local parts, digit
 * boundaries for IP addresses) are shared by the rewrite and the check, and
 * the decoders (RFC 2047, charsets, percent, entities, base64) are this
 * file's own so both passes see exactly the same text.  GMime only splits
 * the MIME structure and writes it back.
 */
#include "lib/anon.h"
#include "lib/mail.h"
#include "lib/mail_archive.h"
#include "lib/mail_charset.h"
#include "lib/url_unwrap.h"
#include "util/error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <gmime/gmime.h>
#include <idn2.h>
#include <string.h>
#include <sys/socket.h>

#define REDACTED        "redacted.invalid"
#define MAX_MIME_DEPTH  32   /* nested parts and messages */
#define MAX_CODEC_DEPTH 4    /* percent in base64 in percent ... */
#define MIN_B64         16   /* base64 of "a@b.jp" is shorter: no meaning */
#define MAX_B64_SEGS    12   /* '/'-separated pieces tried per run */
#define MAX_WHERE       32   /* locations kept per identity */
#define SNIFF_BYTES     (1u << 20)
#define MEMO_MIN        256  /* shorter strings are searched again */

enum { M_DISCOVER, M_REWRITE, M_CHECK };

enum {
	K_ADDR, K_LOCAL, K_NAME, K_DOMAIN, K_HOST, K_IP, K_RECEIVED, K_HEADER,
	K_GATEWAY, K_TENANT
};

static const char *const kind_names[] = {
	"recipient-address", "recipient-local-part", "recipient-name",
	"provider-domain", "provider-host", "internal-ip",
	"internal-received", "provider-header", "gateway-link",
	"provider-id"
};

/* Boundary rules of a pattern: where a literal may match. */
enum {
	R_NONE,    /* anywhere (addresses, multi-label domains, hosts) */
	R_WORD,    /* not inside a word where the literal starts/ends with
	              an ASCII letter or digit (names, local parts) */
	R_DOMAIN1, /* a single-label domain ("pot"): only after '@', '.' or
	              '/', and not followed by more of a host name */
	R_IP4,     /* not inside a longer dotted number */
	R_IP6      /* not inside a longer hex/colon run */
};

typedef struct ident {
	int kind;
	char *value;         /* the original, as reported to the analysts */
	char *placeholder;   /* NULL for dropped headers */
	GPtrArray *where;    /* char *, unique */
} ident;

typedef struct pat {
	char *lit;           /* ASCII-lower-cased */
	size_t len;
	char *repl;
	int rule;
	ident *id;
} pat;

typedef struct net {
	int family;
	guint8 addr[16];
	int bits;
} net;

typedef struct anon {
	GPtrArray *domains;      /* char *, lower case */
	GArray *nets;            /* net */
	gboolean nets6;          /* some network is IPv6 */
	GPtrArray *idents;       /* ident *, in the order found */
	GHashTable *by_key;      /* "kind:folded value" -> ident * */
	GHashTable *recips;      /* address -> recipient number */
	GHashTable *lits;        /* literal -> pat *, one pattern each */
	GPtrArray *pats;
	GPtrArray *bucket[256];  /* by first byte, longest first */
	guint8 first[256];       /* 1: some pattern starts with this byte
	                            (either case); 2: the '@' rule */
	guint8 pair[65536 / 8];  /* bit (first << 8 | second byte) is set
	                            when some pattern starts with those two
	                            (folded) bytes: every pattern has two */
	gboolean dirty;
	gboolean pat_ws;         /* some pattern holds a CR or LF, or starts
	                            or ends with ASCII white space (see
	                            search_key() and plain_raw_same()) */
	int n_recip, n_host, n_ip, n_tenant;
	int mode;
	size_t changes;          /* REWRITE: replacements and drops so far */
	gboolean no_addr;        /* reading a Message-ID: not an address */
	gboolean quiet;          /* rewriting a label: record nothing */
	gboolean raw;            /* CHECK of the raw bytes: addresses, hosts
	                            and IPs only (a 3-letter name part is in
	                            any base64 body) */
	char *where;             /* what is being read, for the report */
	const char *where_path;  /* or, while where is NULL, the header */
	const char *where_name;  /* being read (see set_where_header()) */
	GString *via;            /* encodings peeled off on the way */
	GMimeParserOptions *popts;
	GHashTable *decoded;     /* raw header value -> header_decode() */
	GHashTable *received;    /* Received value -> 2: dropped, 1: kept */
	GHashTable *texts;       /* charset and bytes -> memo_text */
	GHashTable *clean;       /* strings the check's search found
	                            nothing in (check_top()) */
	GHashTable *views;       /* GMimeDataWrapper * -> view, from
	                            discovery for the rewrite */
	int transient;           /* inside a message parsed from a part's
	                            bytes: a tree of this walk alone */
	int leak_kind;           /* CHECK: what was found, -1: nothing */
	char *leak_where;
	GMimeObject *checked;    /* CHECK: the result parsed again */
	struct arch_state *arch; /* CHECK: archives (check_archive()) */
} anon;

static gboolean needs_rewrite(anon *a, const char *s, size_t n);
static gboolean engine(anon *a, const char *s, size_t n, int depth,
		       GString *out);
static ident *add_recipient(anon *a, const char *addr, size_t n,
			    const char *name);

/* ---- small helpers --------------------------------------------------- */

static inline int
lc(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static inline gboolean
is_word(int c)
{
	return g_ascii_isalnum(c) || c == '_';
}

static inline gboolean
local_char(int c)
{
	return g_ascii_isalnum(c) || c == '.' || c == '_' || c == '+' ||
	       c == '-';
}

static inline gboolean
host_char(int c)
{
	return g_ascii_isalnum(c) || c == '.' || c == '-' || c == '_';
}

static gboolean
has_suffix_ci(const char *s, size_t n, const char *suf)
{
	size_t m = strlen(suf);

	return n >= m && g_ascii_strncasecmp(s + n - m, suf, m) == 0;
}

/* The decimal digits of N in BUF, what "%u" prints: labels and
 * placeholders are joined with g_strconcat(), without a printf per
 * identity, header and part. */
static const char *
decimal(char buf[static 12], unsigned n)
{
	char *p = buf + 11;

	*p = '\0';
	do
		*--p = (char)('0' + n % 10);
	while ((n /= 10) != 0);
	return p;
}

/* Words that are never taken as a name or a local part on their own:
 * role accounts, titles, company words, and the words of our own
 * placeholders (which would otherwise be found again by the check). */
static const char *const stop_words[] = {
	"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "madam", "dear",
	"san", "sama", "kun", "chan", "the", "and", "for", "with", "from",
	"team", "desk", "dept", "department", "division", "group", "inc",
	"corp", "corporation", "co", "ltd", "llc", "company", "support",
	"service", "services", "center", "centre", "office", "help",
	"helpdesk", "info", "information", "admin", "administrator",
	"customer", "customers", "user", "users", "member", "members",
	"account", "accounts", "manager", "management", "mail", "email",
	"e-mail", "webmail", "mailer-daemon", "postmaster", "webmaster",
	"hostmaster", "abuse", "noreply", "no-reply", "donotreply",
	"do-not-reply", "reply", "sales", "contact", "contacts", "security",
	"system", "root", "test", "hello", "staff", "news", "newsletter",
	"marketing", "billing", "undisclosed", "undisclosed-recipients",
	"recipient", "recipients", "redacted", "invalid", "host", "list",
	"all", "everyone", "you", "your", "unknown", "null", "none",
	"nobody", "anonymous", "guest", "client", "clients", "friend",
	"sender", "japan", "jp", "com", "net", "org", "your", "our", "new",
	"order", "orders", "invoice", "payment", "notice", "alert", "update",
	"message", "notification", "confirm", "confirmation", "verify",
	"verification", "password", "delivery", "package", "shipping",
	"bank", "card", "winner", "prize", "gift", "free", "offer",
	"urgent", "important", "action", "required", "mailbox", "storage",
	"document", "documents", "file", "files", "shared", "meeting",
	"voicemail", "fax", "scan", "scanner", "online", "web", "portal",
	"login", "secure",
	"株式会社", "有限会社", "会社", "部長", "課長", "様",
	"御中", "担当", "担当者", "事務局", "総務部", "営業部",
	"お客様", "各位",
	NULL
};

static gboolean
stop_word(const char *w, size_t n)
{
	for (int i = 0; stop_words[i]; i++)
		if (strlen(stop_words[i]) == n &&
		    g_ascii_strncasecmp(stop_words[i], w, n) == 0)
			return TRUE;
	return FALSE;
}

/* "Recipient-12", "recipient-3": one of our own placeholders. */
static gboolean
placeholder_word(const char *s)
{
	size_t i = 9;

	if (g_ascii_strncasecmp(s, "recipient", 9) != 0)
		return FALSE;
	if (s[i] != '-' || !g_ascii_isdigit(s[i + 1]))
		return FALSE;
	for (i++; g_ascii_isdigit(s[i]); i++)
		;
	return s[i] == '\0';
}

static void
push_via(anon *a, const char *what)
{
	if (a->via->len)
		g_string_append_c(a->via, '+');
	g_string_append(a->via, what);
}

static void
pop_via(anon *a)
{
	char *p = strrchr(a->via->str, '+');

	g_string_truncate(a->via, p ? (gsize)(p - a->via->str) : 0);
}

static char *
header_label(const char *path, const char *name)
{
	return *path ? g_strconcat(path, " header:", name, NULL) :
		       g_strconcat("header:", name, NULL);
}

/* What is being read, the label of a header made now if it was put off
 * (set_where_header()). */
static const char *
where_now(anon *a)
{
	if (!a->where && a->where_name) {
		a->where = header_label(a->where_path, a->where_name);
		a->where_path = a->where_name = NULL;
	}
	return a->where;
}

static char *
where_label(anon *a)
{
	const char *w = where_now(a);

	if (a->via->len)
		return g_strconcat(w ? w : "", " (", a->via->str, ")", NULL);
	return g_strdup(w ? w : "");
}

static void
set_where(anon *a, char *label)
{
	g_free(a->where);
	a->where = label;
	a->where_path = a->where_name = NULL;
}

/* The header NAME of the object at PATH is being read.  Its label is
 * only made when something is recorded or found there (where_now()),
 * which is rare, while every header of every walk comes here.  PATH and
 * NAME are borrowed: do_headers() makes the label before either can go
 * (a header removed, the end of its list). */
static void
set_where_header(anon *a, const char *path, const char *name)
{
	g_clear_pointer(&a->where, g_free);
	a->where_path = path;
	a->where_name = name;
}

static void
record_where(anon *a, ident *id)
{
	char *label;

	if (a->quiet || id->where->len >= MAX_WHERE)
		return;
	label = where_label(a);
	for (guint i = 0; i < id->where->len; i++)
		if (strcmp(id->where->pdata[i], label) == 0) {
			g_free(label);
			return;
		}
	g_ptr_array_add(id->where, label);
}

/* ---- IP addresses and networks --------------------------------------- */

static gboolean
ip_parse(const char *s, size_t n, int *family, guint8 *addr)
{
	char buf[64];

	if (n == 0 || n >= sizeof buf)
		return FALSE;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (memchr(buf, ':', n)) {
		*family = AF_INET6;
		return inet_pton(AF_INET6, buf, addr) == 1;
	}
	*family = AF_INET;
	return inet_pton(AF_INET, buf, addr) == 1;
}

/* A dotted quad whose parts are zero-padded (10.001.002.003, as logs and
 * some tools print addresses), read as a person reads it: in decimal.
 * inet_pton() takes no leading zero. */
static gboolean
quad_padded(const char *s, size_t n, int *family, guint8 *addr)
{
	size_t i = 0;

	for (int k = 0; k < 4; k++) {
		unsigned v = 0, d = 0;

		while (i < n && g_ascii_isdigit(s[i]) && d < 3) {
			v = v * 10 + (unsigned)(s[i++] - '0');
			d++;
		}
		if (d == 0 || v > 255 || (k < 3 && (i >= n || s[i++] != '.')))
			return FALSE;
		addr[k] = (guint8)v;
	}
	*family = AF_INET;
	return i == n;
}

static gboolean
prefix_eq(const guint8 *x, const guint8 *y, int bits)
{
	int bytes = bits / 8, rest = bits % 8;

	if (memcmp(x, y, bytes) != 0)
		return FALSE;
	if (rest == 0)
		return TRUE;
	return ((x[bytes] ^ y[bytes]) & (0xff << (8 - rest))) == 0;
}

static gboolean
net_parse(const char *s, net *out)
{
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	int max;

	memset(out, 0, sizeof *out);
	if (!ip_parse(s, n, &out->family, out->addr))
		return FALSE;
	max = out->family == AF_INET ? 32 : 128;
	out->bits = max;
	if (slash) {
		char *end = NULL;
		long b;

		if (!g_ascii_isdigit(slash[1]))
			return FALSE;
		b = strtol(slash + 1, &end, 10);
		if (*end || b < 0 || b > max)
			return FALSE;
		out->bits = (int)b;
	}
	return TRUE;
}

static gboolean
in_nets(const anon *a, int family, const guint8 *addr)
{
	for (guint i = 0; i < a->nets->len; i++) {
		const net *nt = &g_array_index(a->nets, net, i);

		if (nt->family == family && prefix_eq(nt->addr, addr, nt->bits))
			return TRUE;
	}
	return FALSE;
}

/* The ranges no public host has: RFC 1918, shared (RFC 6598), link-local,
 * unique-local.  Loopback is internal but names nobody (see ip_loopback). */
static gboolean
ip_private(int family, const guint8 *a)
{
	static const guint8 v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					     0xff, 0xff };

	if (family == AF_INET6 && memcmp(a, v4mapped, 12) == 0)
		return ip_private(AF_INET, a + 12);
	if (family == AF_INET)
		return a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
		       (a[0] == 192 && a[1] == 168) ||
		       (a[0] == 100 && (a[1] & 0xc0) == 64) ||
		       (a[0] == 169 && a[1] == 254);
	return (a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80);
}

static gboolean
ip_loopback(int family, const guint8 *a)
{
	static const guint8 one[16] = { [15] = 1 };
	static const guint8 zero[16] = { 0 };

	if (family == AF_INET)
		return a[0] == 127 || memcmp(a, zero, 4) == 0;
	return memcmp(a, one, 16) == 0 || memcmp(a, zero, 16) == 0;
}

/* ---- identities and patterns ----------------------------------------- */

static void
ident_free(gpointer p)
{
	ident *id = p;

	g_free(id->value);
	g_free(id->placeholder);
	g_ptr_array_free(id->where, TRUE);
	g_free(id);
}

static void
pat_free(gpointer p)
{
	pat *pt = p;

	g_free(pt->lit);
	g_free(pt->repl);
	g_free(pt);
}

/* The key of an identity in a->by_key: the kind's digit, ':' and the
 * first N bytes of VALUE in ASCII lower case (what "%d:%s" of
 * g_ascii_strdown() made, without the printf).  A new string. */
G_STATIC_ASSERT(K_TENANT < 10);
static char *
ident_key(int kind, const char *value, size_t n)
{
	char *key = g_malloc(n + 3);

	key[0] = (char)('0' + kind);
	key[1] = ':';
	for (size_t i = 0; i < n; i++)
		key[i + 2] = g_ascii_tolower(value[i]);
	key[n + 2] = '\0';
	return key;
}

/* The identity of KIND with VALUE, made with PLACEHOLDER when new; *fresh
 * says which. */
static ident *
ident_get(anon *a, int kind, const char *value, const char *placeholder,
	  gboolean *fresh)
{
	char *key = ident_key(kind, value, strlen(value));
	ident *id = g_hash_table_lookup(a->by_key, key);

	*fresh = id == NULL;
	if (id) {
		g_free(key);
		return id;
	}
	id = g_new0(ident, 1);
	id->kind = kind;
	id->value = g_utf8_make_valid(value, -1);
	id->placeholder = g_strdup(placeholder);
	id->where = g_ptr_array_new_with_free_func(g_free);
	g_hash_table_insert(a->by_key, key, id);
	g_ptr_array_add(a->idents, id);
	return id;
}

static void
add_pattern(anon *a, const char *lit, const char *repl, int rule, ident *id)
{
	pat *p;

	if (strlen(lit) < 2 || g_hash_table_contains(a->lits, lit))
		return;
	p = g_new0(pat, 1);
	p->lit = g_ascii_strdown(lit, -1);
	p->len = strlen(p->lit);
	if (strpbrk(p->lit, "\r\n") || g_ascii_isspace(p->lit[0]) ||
	    g_ascii_isspace(p->lit[p->len - 1]))
		a->pat_ws = TRUE;
	p->repl = g_strdup(repl);
	p->rule = rule;
	p->id = id;
	g_hash_table_insert(a->lits, p->lit, p);
	g_ptr_array_add(a->pats, p);
	a->dirty = TRUE;
}

static gint
pat_longer(gconstpointer x, gconstpointer y)
{
	const pat *p = *(pat *const *)x, *q = *(pat *const *)y;

	return p->len < q->len ? 1 : p->len > q->len ? -1 : 0;
}

static void
index_build(anon *a)
{
	if (!a->dirty)
		return;
	for (int i = 0; i < 256; i++)
		if (a->bucket[i])
			g_ptr_array_set_size(a->bucket[i], 0);
	memset(a->pair, 0, sizeof a->pair);
	memset(a->first, 0, sizeof a->first);
	if (a->domains->len)
		a->first['@'] = 2;
	g_ptr_array_sort(a->pats, pat_longer);
	for (guint i = 0; i < a->pats->len; i++) {
		pat *p = a->pats->pdata[i];
		unsigned char c = (unsigned char)p->lit[0];
		unsigned k = (unsigned)c << 8 | (unsigned char)p->lit[1];

		if (!a->bucket[c])
			a->bucket[c] = g_ptr_array_new();
		g_ptr_array_add(a->bucket[c], p);
		a->pair[k >> 3] |= (guint8)(1u << (k & 7));
		a->first[c] |= 1;
		a->first[(unsigned char)g_ascii_toupper((gchar)c)] |= 1;
	}
	a->dirty = FALSE;
}

/* Can a pattern start at S[i] (i + 1 < n)?  A necessary condition only,
 * from the first two bytes, so the scan skips most bytes without looking
 * at a bucket; match_at() decides. */
static inline gboolean
pair_at(const anon *a, const char *s, size_t i)
{
	unsigned k = (unsigned)lc((unsigned char)s[i]) << 8 |
		     (unsigned)lc((unsigned char)s[i + 1]);

	return (a->pair[k >> 3] >> (k & 7)) & 1;
}

static gboolean
bounds_ok(const anon *a, const pat *p, const char *s, size_t n, size_t i)
{
	size_t e = i + p->len;
	int prev = i ? (unsigned char)s[i - 1] : 0;
	int next = e < n ? (unsigned char)s[e] : 0;

	switch (p->rule) {
	case R_WORD:
		if (g_ascii_isalnum(p->lit[0]) && is_word(prev))
			return FALSE;
		if (g_ascii_isalnum(p->lit[p->len - 1]) && is_word(next))
			return FALSE;
		return TRUE;
	case R_DOMAIN1:
		if (prev != '@' && prev != '.' && (prev != '/' || a->raw))
			return FALSE;
		if (g_ascii_isalnum(next) || next == '-')
			return FALSE;
		return !(next == '.' && e + 1 < n && g_ascii_isalnum(s[e + 1]));
	case R_IP4:
		if (g_ascii_isdigit(prev) ||
		    (prev == '.' && i >= 2 && g_ascii_isdigit(s[i - 2])))
			return FALSE;
		if (g_ascii_isdigit(next))
			return FALSE;
		return !(next == '.' && e + 1 < n && g_ascii_isdigit(s[e + 1]));
	case R_IP6:
		return !g_ascii_isxdigit(prev) && prev != ':' &&
		       !g_ascii_isxdigit(next) && next != ':';
	default:
		return TRUE;
	}
}

static const pat *
match_at(const anon *a, const char *s, size_t n, size_t i)
{
	const GPtrArray *b = a->bucket[lc((unsigned char)s[i])];

	if (!b)
		return NULL;
	for (guint k = 0; k < b->len; k++) {
		const pat *p = b->pdata[k];
		size_t j;

		/* Raw bytes are searched for names only in other scripts:
		 * four or more bytes no binary noise spells by chance, where
		 * a Latin name of three letters would be. */
		if (p->len > n - i || (a->raw && (p->id->kind == K_LOCAL ||
		    (p->id->kind == K_NAME && !((unsigned char)p->lit[0] &
						0x80)))))
			continue;
		for (j = 1; j < p->len; j++)
			if (lc((unsigned char)s[i + j]) !=
			    (unsigned char)p->lit[j])
				break;
		if (j == p->len && bounds_ok(a, p, s, n, i))
			return p;
	}
	return NULL;
}

/* Length of the provider domain that S starts with, 0 for none. */
static size_t
provider_prefix(const anon *a, const char *s, size_t n)
{
	for (guint k = 0; k < a->domains->len; k++) {
		const char *d = a->domains->pdata[k];
		size_t m = strlen(d);

		if (m <= n && g_ascii_strncasecmp(s, d, m) == 0)
			return m;
	}
	return 0;
}

/* ---- charsets -------------------------------------------------------- */

/* Whether S[0..N) has a byte >= 0x80, read a word at a time: it runs over
 * every header and every text of every walk. */
static gboolean
has_high(const char *s, size_t n)
{
	guint64 acc = 0;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		guint64 w;

		memcpy(&w, s + i, 8);
		acc |= w;
	}
	for (; i < n; i++)
		acc |= (unsigned char)s[i];
	return (acc & G_GUINT64_CONSTANT(0x8080808080808080)) != 0;
}

/* Append S (N bytes in charset FROM) to OUT as UTF-8, each byte iconv
 * cannot take replaced by U+FFFD.  Returns the number of such bytes, or
 * (size_t)-1 when iconv does not know FROM.
 *
 * From UTF-8, what GLib takes for valid UTF-8 is copied as it is and only
 * the rest goes through iconv: glibc's UTF-8 decoder is stateless, and of
 * the 1,112,063 scalar values GLib accepts it converts each to the same
 * bytes (every one was tried against Debian's glibc; it refuses the same
 * ones, surrogates, overlong and out-of-range forms, that GLib does), so
 * iconv would have copied the valid run too and stands where it ends in
 * the same state.  It was a third of decode_text() on invalid UTF-8. */
static size_t
conv_lossy(const char *s, size_t n, const char *from, GString *out)
{
	GIConv cd = csip_mail_charset_open(from);
	char buf[4096];
	gchar *in = (gchar *)s, *op;
	gsize inleft = n, outleft;
	size_t errors = 0;
	gboolean utf8 = strcmp(from, "UTF-8") == 0;

	if (cd == (GIConv)-1)
		return (size_t)-1;
	while (inleft > 0) {
		size_t r;

		if (utf8) {
			const char *e;

			csip_mail_charset_utf8_valid(in, inleft, &e);
			g_string_append_len(out, in, e - in);
			inleft -= (gsize)(e - in);
			in = (gchar *)e;
			if (inleft == 0)
				break;
		}
		op = buf;
		outleft = sizeof buf;
		r = g_iconv(cd, &in, &inleft, &op, &outleft);
		g_string_append_len(out, buf, op - buf);
		if (r != (size_t)-1)
			continue;
		if (errno == E2BIG)
			continue;
		/* EILSEQ, EINVAL (cut sequence): skip one byte. */
		g_string_append(out, "\xef\xbf\xbd");
		errors++;
		in++;
		inleft--;
		g_iconv(cd, NULL, NULL, NULL, NULL);
	}
	op = buf;
	outleft = sizeof buf;
	g_iconv(cd, NULL, NULL, &op, &outleft);
	g_string_append_len(out, buf, op - buf);
	g_iconv_close(cd);
	return errors;
}

/* ISO-2022-JP (and its -MS, -1, -2, -3 cousins) by way of CP932: the JIS
 * rows map to Shift_JIS arithmetically, and CP932 then knows the vendor
 * characters (①, ㈱, 髙) that glibc's ISO-2022-JP rejects. */
static size_t
conv_iso2022jp(const char *s, size_t n, GString *out)
{
	GString *sj = g_string_sized_new(n);
	enum { ASCII, KANA, JIS, OTHER } mode = ASCII;
	size_t errors;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c == 0x1b && i + 2 < n) {
			const char *e = s + i + 1;

			if (e[0] == '(' && (e[1] == 'B' || e[1] == 'J')) {
				mode = ASCII;
				i += 2;
			} else if (e[0] == '(' && e[1] == 'I') {
				mode = KANA;
				i += 2;
			} else if (e[0] == '$' &&
				   (e[1] == '@' || e[1] == 'B')) {
				mode = JIS;
				i += 2;
			} else if (e[0] == '$' && e[1] == '(' && i + 3 < n) {
				mode = (e[2] == 'D') ? OTHER : JIS;
				i += 3;
			} else if (e[0] == '&' && e[1] == '@') {
				i += 2;
			} else {
				g_string_append_c(sj, (char)c);
			}
			continue;
		}
		if (c == 0x0e) {
			mode = KANA;
			continue;
		}
		if (c == 0x0f) {
			mode = ASCII;
			continue;
		}
		if (c == '\n' || c == '\r') {
			g_string_append_c(sj, (char)c);
			continue;
		}
		if (mode == KANA && c >= 0x21 && c <= 0x5f) {
			g_string_append_c(sj, (char)(c + 0x80));
		} else if ((mode == JIS || mode == OTHER) && c >= 0x21 &&
			   c <= 0x7e && i + 1 < n) {
			unsigned char c2 = s[++i];

			if (mode == OTHER || c2 < 0x21 || c2 > 0x7e) {
				g_string_append_c(sj, (char)0xff); /* invalid */
				continue;
			}
			g_string_append_c(sj, (char)(((c + 1) >> 1) +
				(c <= 0x5e ? 0x70 : 0xb0)));
			g_string_append_c(sj, (char)(c2 + ((c & 1) ?
				(c2 >= 0x60 ? 0x20 : 0x1f) : 0x7e)));
		} else {
			g_string_append_c(sj, (char)c);
		}
	}
	errors = conv_lossy(sj->str, sj->len, "CP932", out);
	g_string_free(sj, TRUE);
	return errors;
}

/* The iconv name to use for a declared charset; "ISO-2022-JP" means our
 * own converter above; NULL for none worth trusting (us-ascii). */
static const char *
map_charset(const char *cs)
{
	static const struct { const char *name, *use; } map[] = {
		{ "shift_jis", "CP932" }, { "shift-jis", "CP932" },
		{ "sjis", "CP932" }, { "x-sjis", "CP932" },
		{ "ms_kanji", "CP932" }, { "csshiftjis", "CP932" },
		{ "windows-31j", "CP932" }, { "cp932", "CP932" },
		{ "ms932", "CP932" }, { "x-ms-cp932", "CP932" },
		{ "euc-jp", "EUC-JP-MS" }, { "x-euc-jp", "EUC-JP-MS" },
		{ "eucjp", "EUC-JP-MS" },
		{ "cseucpkdfmtjapanese", "EUC-JP-MS" },
		{ "iso-2022-jp", "ISO-2022-JP" },
		{ "iso-2022-jp-1", "ISO-2022-JP" },
		{ "iso-2022-jp-2", "ISO-2022-JP" },
		{ "iso-2022-jp-3", "ISO-2022-JP" },
		{ "iso-2022-jp-ms", "ISO-2022-JP" },
		{ "csiso2022jp", "ISO-2022-JP" }, { "cp50220", "ISO-2022-JP" },
		{ "cp50221", "ISO-2022-JP" }, { "cp50222", "ISO-2022-JP" },
		{ "utf-8", "UTF-8" }, { "utf8", "UTF-8" },
		{ "iso-8859-1", "WINDOWS-1252" }, { "latin1", "WINDOWS-1252" },
		{ "ks_c_5601-1987", "CP949" }, { "gb2312", "GB18030" },
		{ "gbk", "GB18030" }, { "us-ascii", NULL }, { "ascii", NULL },
		{ "ansi_x3.4-1968", NULL },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(map); i++)
		if (g_ascii_strcasecmp(cs, map[i].name) == 0)
			return map[i].use;
	return cs;
}

static gboolean
single_byte(const char *cs)
{
	return g_ascii_strncasecmp(cs, "WINDOWS-125", 11) == 0 ||
	       g_ascii_strncasecmp(cs, "ISO-8859-", 9) == 0 ||
	       g_ascii_strncasecmp(cs, "KOI8", 4) == 0 ||
	       g_ascii_strncasecmp(cs, "CP125", 5) == 0;
}

static size_t
conv_any(const char *s, size_t n, const char *cs, GString *out)
{
	if (strcmp(cs, "ISO-2022-JP") == 0)
		return conv_iso2022jp(s, n, out);
	if (strcmp(cs, "UTF-8") == 0) {
		const char *end;

		if (csip_mail_charset_utf8_valid(s, n, &end))
			g_string_append_len(out, s, n);
		else
			return conv_lossy(s, n, "UTF-8", out);
		return 0;
	}
	return conv_lossy(s, n, cs, out);
}

/* The UTF-16 that the N bytes S look like, whatever the label says: a
 * byte order mark, or, in the first 256 bytes, NULs in most units at one
 * byte position and almost none at the other (ASCII and Latin text, as
 * Notepad writes it).  NULL for none. */
static const char *
utf16_guess(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t m = MIN(n, 256) & ~(size_t)1, z[2] = { 0, 0 };

	if (n >= 2 && u[0] == 0xff && u[1] == 0xfe)
		return "UTF-16";
	if (n >= 2 && u[0] == 0xfe && u[1] == 0xff)
		return "UTF-16";
	if (m < 8 || !memchr(s, 0, m))
		return NULL;
	for (size_t i = 0; i < m; i++)
		z[i & 1] += u[i] == 0;
	if (z[1] * 10 >= m / 2 * 7 && z[0] * 20 <= m / 2)
		return "UTF-16LE";
	if (z[0] * 10 >= m / 2 * 7 && z[1] * 20 <= m / 2)
		return "UTF-16BE";
	return NULL;
}

/* How many half-width katakana (U+FF61-U+FF9F) the UTF-8 text G holds. */
static size_t
halfwidth_kana(const GString *g)
{
	const unsigned char *p = (const unsigned char *)g->str;
	size_t k = 0;

	for (size_t i = 0; i + 2 < g->len; i++)
		if (p[i] == 0xEF && ((p[i + 1] == 0xBD && p[i + 2] >= 0xA1) ||
				     (p[i + 1] == 0xBE && p[i + 2] <= 0x9F)))
			k++;
	return k;
}

/* Decode text in a declared (or undeclared, or wrongly declared) charset
 * to UTF-8.  Japanese mail is labelled wrong often enough that a label is
 * a first guess, not the truth: the first candidate that decodes without
 * an error wins, else the one with the fewest errors.  *used (may be NULL)
 * gets the charset taken: a static string, or DECLARED itself (a label
 * iconv knows by that name), valid only as long as DECLARED is. */
static GString *
decode_text(const char *s, size_t n, const char *declared, const char **used)
{
	const char *cands[9], *best_cs = NULL, *wide;
	const char *mapped = declared ? map_charset(declared) : NULL;
	gboolean high = FALSE, esc = FALSE;
	GString *best = NULL;
	size_t best_err = (size_t)-1;
	int nc = 0;

	/* Every part and preamble of every walk comes here: the high bit a
	 * word at a time, ESC by memchr(). */
	high = has_high(s, n);
	if ((wide = utf16_guess(s, n)) != NULL &&
	    !(mapped && g_ascii_strncasecmp(mapped, "UTF-16", 6) == 0))
		cands[nc++] = wide;
	for (const char *q = s; n && !esc && q < s + n &&
	     (q = memchr(q, 0x1b, n - (size_t)(q - s))); q++)
		if (q + 1 < s + n && (q[1] == '$' || q[1] == '('))
			esc = TRUE;
	if (!high && !esc && !wide && !(mapped && (g_ascii_strncasecmp(mapped, "UTF-1",
		5) == 0 || g_ascii_strncasecmp(mapped, "UTF-3", 5) == 0 ||
		g_ascii_strncasecmp(mapped, "UTF-7", 5) == 0 ||
		g_ascii_strncasecmp(mapped, "UCS", 3) == 0))) {
		if (used)
			*used = "US-ASCII";
		return g_string_new_len(s, n);
	}
	/* 7-bit text with JIS escapes is valid UTF-8 and ASCII too, but
	 * what a reader's client shows is ISO-2022-JP: unless another
	 * multi-byte charset is declared, that reading comes first, or a
	 * name in it would be searched for in the escapes' bytes. */
	if (esc && !high && (!mapped || single_byte(mapped) ||
			     strcmp(mapped, "UTF-8") == 0))
		cands[nc++] = "ISO-2022-JP";
	if (mapped && !single_byte(mapped))
		cands[nc++] = mapped;
	cands[nc++] = "UTF-8";
	if (mapped && single_byte(mapped))
		cands[nc++] = mapped;
	if (esc && high)
		cands[nc++] = "ISO-2022-JP";
	cands[nc++] = "CP932";
	cands[nc++] = "EUC-JP-MS";
	for (int i = 0; i < nc; i++) {
		GString *g = g_string_sized_new(n + n / 2);
		size_t err = conv_any(s, n, cands[i], g);

		if (err == (size_t)-1) {
			g_string_free(g, TRUE);
			continue;
		}
		if (err < best_err) {
			if (best)
				g_string_free(best, TRUE);
			best = g;
			best_err = err;
			best_cs = cands[i];
			if (err == 0)
				break;
		} else {
			g_string_free(g, TRUE);
		}
	}
	if (best && best_err == 0 && strcmp(best_cs, "CP932") == 0 &&
	    !(mapped && strcmp(mapped, "CP932") == 0)) {
		/* EUC-JP's kanji are byte pairs of 0xA1-0xFE, which CP932
		 * reads without an error as half-width katakana: undeclared,
		 * the reading with fewer of those is the text (a name in
		 * EUC-JP would otherwise be searched for in katakana). */
		GString *g = g_string_sized_new(n + n / 2);

		if (conv_any(s, n, "EUC-JP-MS", g) == 0 &&
		    halfwidth_kana(g) < halfwidth_kana(best)) {
			g_string_free(best, TRUE);
			best = g;
			best_cs = "EUC-JP-MS";
		} else {
			g_string_free(g, TRUE);
		}
	}
	if (best && used)
		*used = best_cs;
	if (!best || best_err > n / 20) {
		if (best)
			g_string_free(best, TRUE);
		best = g_string_sized_new(n + n / 2);
		conv_lossy(s, n, "WINDOWS-1252", best);
		if (used)
			*used = "WINDOWS-1252";
	}
	return best;
}

/* ---- RFC 2047 header decoding ---------------------------------------- */

static int
b64_val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Decode base64 of either alphabet, ignoring characters outside it and
 * stopping at padding.  NULL when the length cannot be base64. */
static GString *
b64_decode(const char *s, size_t n)
{
	static gsize once;
	static gint8 val[256];
	GString *out = g_string_sized_new(n * 3 / 4 + 3);
	guint8 *o = (guint8 *)out->str;
	guint32 acc = 0;
	int bits = 0;
	size_t used = 0;

	/* b64_val() by table, the bytes written straight into OUT, which
	 * holds them all (six bits a character used): every encoded word
	 * of every header of every walk comes here. */
	if (g_once_init_enter(&once)) {
		for (int c = 0; c < 256; c++)
			val[c] = (gint8)b64_val(c);
		g_once_init_leave(&once, 1);
	}
	for (size_t i = 0; i < n && s[i] != '='; i++) {
		int v = val[(unsigned char)s[i]];

		if (v < 0)
			continue;
		used++;
		acc = (acc << 6) | (guint32)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			*o++ = (guint8)(acc >> bits);
		}
	}
	if (used % 4 == 1) {
		g_string_free(out, TRUE);
		return NULL;
	}
	out->len = (gsize)(o - (guint8 *)out->str);
	out->str[out->len] = '\0';
	return out;
}

static void
b64_encode(GString *out, const char *s, size_t n, gboolean url,
	   gboolean pad)
{
	static const char std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"abcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char safe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"abcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *al = url ? safe : std;
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		guint32 v = ((guint32)(guint8)s[i] << 16) |
			    ((guint32)(guint8)s[i + 1] << 8) | (guint8)s[i + 2];

		g_string_append_c(out, al[(v >> 18) & 63]);
		g_string_append_c(out, al[(v >> 12) & 63]);
		g_string_append_c(out, al[(v >> 6) & 63]);
		g_string_append_c(out, al[v & 63]);
	}
	if (i < n) {
		guint32 v = (guint32)(guint8)s[i] << 16;

		if (i + 1 < n)
			v |= (guint32)(guint8)s[i + 1] << 8;
		g_string_append_c(out, al[(v >> 18) & 63]);
		g_string_append_c(out, al[(v >> 12) & 63]);
		if (i + 1 < n)
			g_string_append_c(out, al[(v >> 6) & 63]);
		if (pad)
			g_string_append(out, i + 1 < n ? "=" : "==");
	}
}

/* Parse one encoded word at S[0..N) ("=?cs?B?...?="); on success return
 * its length and give its charset and decoded bytes. */
static size_t
encoded_word(const char *s, size_t n, char **cs, GString **bytes)
{
	const char *q1, *q2, *end;
	size_t i;

	if (n < 8 || s[0] != '=' || s[1] != '?')
		return 0;
	q1 = memchr(s + 2, '?', n - 2);
	if (!q1 || q1 == s + 2 || (size_t)(q1 - s) + 3 >= n || q1[2] != '?')
		return 0;
	q2 = q1 + 2;
	for (end = q2 + 1; end + 1 < s + n; end++)
		if (end[0] == '?' && end[1] == '=')
			break;
	if (end + 1 >= s + n)
		return 0;
	for (const char *p = s + 2; p < q1; p++)
		if (*p <= ' ' || (unsigned char)*p >= 0x7f)
			return 0;
	/* Encoded text holds no space and, in B, only base64: what GMime
	 * does not take as a word is left as text here too (else an
	 * address after a stray "=?cs?B?" would vanish from our reading
	 * and stay in GMime's). */
	for (const char *p = q2 + 1; p < end; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f ||
		    *p == '?' || (lc(q1[1]) == 'b' && b64_val(*p) < 0 &&
				  *p != '='))
			return 0;
	if (lc(q1[1]) == 'b') {
		*bytes = b64_decode(q2 + 1, end - q2 - 1);
		if (!*bytes)
			*bytes = g_string_new(NULL);
	} else if (lc(q1[1]) == 'q') {
		*bytes = g_string_new(NULL);
		for (const char *p = q2 + 1; p < end; p++) {
			if (*p == '_')
				g_string_append_c(*bytes, ' ');
			else if (*p == '=' && p + 2 < end &&
				 g_ascii_isxdigit(p[1]) &&
				 g_ascii_isxdigit(p[2])) {
				g_string_append_c(*bytes, (char)(
					g_ascii_xdigit_value(p[1]) * 16 +
					g_ascii_xdigit_value(p[2])));
				p += 2;
			} else {
				g_string_append_c(*bytes, *p);
			}
		}
	} else {
		return 0;
	}
	*cs = g_strndup(s + 2, q1 - s - 2);
	if ((i = strcspn(*cs, "*")) < strlen(*cs))
		(*cs)[i] = '\0';  /* RFC 2231 language suffix */
	return (size_t)(end + 2 - s);
}

static void
append_decoded(GString *out, const char *s, size_t n, const char *cs)
{
	GString *g = decode_text(s, n, cs, NULL);

	g_string_append_len(out, g->str, g->len);
	g_string_free(g, TRUE);
}

/* A header value as text: encoded words decoded (each on its own, so
 * GMime's loss of a word after '=' padding does not happen here; adjacent
 * words of one charset are joined before decoding so a character split
 * between them survives), raw 8-bit text decoded by guessing.  U is the
 * raw value with every CR and LF removed (unbreak()): the decoding is a
 * function of that alone.  A new UTF-8 string. */
static char *
header_decode(const char *u, size_t ulen)
{
	GString *out = g_string_new(NULL);
	GString *pend = NULL;
	char *pend_cs = NULL;
	size_t i = 0, plain = 0;

	while (i < ulen) {
		char *cs = NULL;
		GString *bytes = NULL;
		size_t w = 0;
		const char *eq = memchr(u + i, '=', ulen - i);

		if (!eq)
			break;  /* the rest is plain text, taken below */
		i = (size_t)(eq - u);
		if (i + 1 < ulen && u[i + 1] == '?')
			w = encoded_word(u + i, ulen - i, &cs, &bytes);
		if (!w) {
			i++;
			continue;
		}
		if (i > plain) {
			/* Whitespace alone between two words is dropped. */
			gboolean ws = TRUE;

			for (size_t k = plain; k < i; k++)
				if (!g_ascii_isspace(u[k]))
					ws = FALSE;
			if (!ws || !pend) {
				if (pend) {
					append_decoded(out, pend->str,
						       pend->len, pend_cs);
					g_string_free(pend, TRUE);
					pend = NULL;
				}
				append_decoded(out, u + plain, i - plain,
					       NULL);
			}
		}
		if (pend && g_ascii_strcasecmp(pend_cs, cs) == 0) {
			g_string_append_len(pend, bytes->str, bytes->len);
			g_string_free(bytes, TRUE);
			g_free(cs);
		} else {
			if (pend) {
				append_decoded(out, pend->str, pend->len,
					       pend_cs);
				g_string_free(pend, TRUE);
			}
			g_free(pend_cs);
			pend = bytes;
			pend_cs = cs;
		}
		i += w;
		plain = i;
	}
	if (pend) {
		append_decoded(out, pend->str, pend->len, pend_cs);
		g_string_free(pend, TRUE);
	}
	if (plain < ulen)
		append_decoded(out, u + plain, ulen - plain, NULL);
	g_free(pend_cs);
	return g_string_free(out, FALSE);
}

/* Whether header_decode() of RAW (N bytes) only removes the line breaks:
 * ASCII, no ISO-2022-JP escape (which needs an ESC) and no "=?" as the
 * decoder sees it, line breaks removed.  Read a word at a time, since
 * it runs over every header of every walk. */
static gboolean
header_plain(const char *raw, size_t n)
{
	if (has_high(raw, n) || memchr(raw, 0x1b, n))
		return FALSE;
	for (const char *q = raw; (q = memchr(q, '?', n - (size_t)(q - raw)));
	     q++) {
		const char *b = q;

		while (b > raw && (b[-1] == '\r' || b[-1] == '\n'))
			b--;
		if (b > raw && b[-1] == '=')
			return FALSE;
	}
	return TRUE;
}

/* Whether the check's search of a header's raw value RAW answers as that
 * of its text, g_strstrip() of unbreak(RAW), which the check searches
 * first: so when RAW is plain (header_plain(): then that is the text),
 * every CR in it is followed by an LF and every LF by a space, a tab or
 * the end (the folds GMime's parser leaves; a lone CR would join the bytes
 * around it), and !a->pat_ws.  Removing the CRs and LFs then leaves a
 * space, a tab or an end next to where each was, and stripping removes
 * white space at the ends: by the argument above search_key(), neither
 * changes a match, a boundary or a run. */
static gboolean
plain_raw_same(const anon *a, const char *raw)
{
	if (a->pat_ws || !header_plain(raw, strlen(raw)))
		return FALSE;
	for (const char *p = raw; (p = strpbrk(p, "\r\n")) != NULL; p++)
		if (*p == '\r' ? p[1] != '\n' :
		    (p[1] && p[1] != ' ' && p[1] != '\t'))
			return FALSE;
	return TRUE;
}

/* g_mime_utils_header_unfold() of RAW: without the space, tab, CR and LF
 * bytes at either end (GMime's "lwsp", gen-table.c), then without every
 * CR and LF.  A new string. */
static char *
gmime_plain_value(const char *raw)
{
	const char *b = raw + strspn(raw, " \t\r\n"), *e = b + strlen(b);
	char *v, *w;

	while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
			 e[-1] == '\n'))
		e--;
	v = w = g_malloc((size_t)(e - b) + 1);
	while (b < e) {
		size_t k = strcspn(b, "\r\n");

		if (k > (size_t)(e - b))
			k = (size_t)(e - b);
		memcpy(w, b, k);
		w += k;
		for (b += k; b < e && (*b == '\r' || *b == '\n'); b++)
			;
	}
	*w = '\0';
	return v;
}

/* Whether GMime's reading of the raw value RAW is the check's text of it,
 * g_strstrip() of unbreak(RAW), without computing either: so when RAW is
 * plain (GMime's reading is then gmime_plain_value(RAW), see
 * gmime_reading()) and the bytes next to where the unfolding cuts are not
 * an FF or a VT (or there are none).  The unfolding cuts the space, tab,
 * CR and LF bytes at the ends and removes the CRs and LFs; the text
 * removes the CRs and LFs and cuts at the ends those same bytes and FF
 * (g_ascii_isspace(); VT is not one, and is excluded here only so that
 * this does not lean on that).  Both remove the same CRs and LFs and keep
 * the bytes from the first to the last that the unfolding keeps, and when
 * those two are not an FF (or a VT), the text cuts no more. */
static gboolean
reading_is_text(const char *raw)
{
	size_t n = strlen(raw), b = strspn(raw, " \t\r\n"), e = n;

	if (!header_plain(raw, n))
		return FALSE;
	while (e > b && (raw[e - 1] == ' ' || raw[e - 1] == '\t' ||
			 raw[e - 1] == '\r' || raw[e - 1] == '\n'))
		e--;
	return b == e || (raw[b] != '\v' && raw[b] != '\f' &&
			  raw[e - 1] != '\v' && raw[e - 1] != '\f');
}

/* Whether S[0..N) is base64 of the standard alphabet in whole groups of
 * four, the last group ending in one or two '=' where LAST.  GMime's
 * decoder (g_mime_encoding_base64_decode_step(), its state carried from
 * one encoded word to the next) then ends each word with no bits pending
 * and gives the bytes b64_decode() gives. */
static gboolean
b64_whole(const char *s, size_t n, gboolean last)
{
	if (n == 0 || n % 4 != 0)
		return FALSE;
	if (last && s[n - 1] == '=')
		n -= s[n - 2] == '=' ? 2 : 1;
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_isalnum(s[i]) && s[i] != '+' && s[i] != '/')
			return FALSE;
	return TRUE;
}

/* The encoded word "=?utf-8?B?...?=" at P (the charset's text as at CS,
 * when CS is not NULL), its payload at *B for *N bytes, followed by
 * spaces or tabs or the end; the length up to that white space, or 0. */
static size_t
utf8_b_word(const char *p, const char *cs, const char **b, size_t *n)
{
	const char *c = p + 2, *q;

	if (p[0] != '=' || p[1] != '?' ||
	    g_ascii_strncasecmp(c, "utf-8?", 6) != 0 ||
	    (cs && strncmp(c, cs, 5) != 0) ||
	    (c[6] != 'B' && c[6] != 'b') || c[7] != '?')
		return 0;
	*b = c + 8;
	if (!(q = strstr(*b, "?=")) || (q[2] && q[2] != ' ' && q[2] != '\t'))
		return 0;
	*n = (size_t)(q - *b);
	return (size_t)(q + 2 - p);
}

/* GMime's reading of the raw value RAW (what g_mime_header_get_value()
 * returns for a header read from a message), made here where it is shown
 * to be that, or NULL (ask GMime).  A new string.
 *
 * GMime's reading is _g_mime_utils_header_decode_text() of
 * g_mime_utils_header_unfold(RAW) (GMime 3.2's gmime-header.c,
 * gmime-utils.c and gmime-encodings.c, read at upstream commit 657458d;
 * the answers below were compared with Debian's 3.2.13 on every header of
 * the corpus, with and without a policy, and of the fuzz corpus, none
 * differing).  The unfolding is gmime_plain_value(); call its result U.
 * The decoder splits U into runs of white space and words that together
 * are U (a word ends at white space, the end or, in the default loose
 * mode, a "=?"); a word is an encoded word only if it starts with "=?";
 * runs of encoded words of one encoding and charset are decoded as one
 * (the base64 state carried over), the white space between encoded words
 * dropped; a plain token is appended as it is unless it has a byte of
 * 0x80 or more.  So:
 *
 * - when RAW is plain (header_plain()), U, a substring of RAW without its
 *   CRs and LFs, has no byte of 0x80 or more and no "=?": the reading is
 *   U;
 * - when U is one or more encoded words "=?utf-8?B?...?=" (the same
 *   charset text in each), each followed by spaces or tabs or the end,
 *   their base64 in whole groups of four and padded in the last one only
 *   (b64_whole(); GMime loses what follows a padded word), the reading is
 *   the decoded bytes of all the words, joined, once they are valid UTF-8
 *   without a NUL (GMime then takes them as they are; else it replaces
 *   bytes with '?', and GMime is asked). */
static char *
gmime_reading(const char *raw)
{
	char *u, *v = NULL;
	const char *p, *b;
	size_t w, n;
	GString *bytes = NULL;

	if (header_plain(raw, strlen(raw)))
		return gmime_plain_value(raw);
	u = gmime_plain_value(raw);
	/* The shape first, then the decoding. */
	for (p = u; *p; p += strspn(p, " \t")) {
		if (!(w = utf8_b_word(p, p == u ? NULL : u + 2, &b, &n)) ||
		    !b64_whole(b, n, p[w] == '\0' ||
			       p[w + strspn(p + w, " \t")] == '\0'))
			goto out;
		p += w;
	}
	if (p == u)
		goto out;
	bytes = g_string_sized_new(strlen(u));
	for (p = u; *p; p += w + strspn(p + w, " \t")) {
		GString *d;

		w = utf8_b_word(p, NULL, &b, &n);
		d = b64_decode(b, n);
		g_string_append_len(bytes, d->str, (gssize)d->len);
		g_string_free(d, TRUE);
	}
	if (g_utf8_validate_len(bytes->str, bytes->len, NULL))
		v = g_string_free(bytes, FALSE);
	else
		g_string_free(bytes, TRUE);
out:
	g_free(u);
	return v;
}

/* RAW (N bytes) with every CR and LF removed, a new string; *len gets
 * its length. */
static char *
unbreak(const char *raw, size_t n, size_t *len)
{
	const char *p = raw, *end = raw + n;
	char *v = g_malloc(n + 1), *w = v;

	while (p < end) {
		size_t k = strcspn(p, "\r\n");

		memcpy(w, p, k);
		w += k;
		for (p += k; *p == '\r' || *p == '\n'; p++)
			;
	}
	*w = '\0';
	*len = (size_t)(w - v);
	return v;
}

/* header_decode() of RAW, remembered: the three walks read the same
 * headers (the check's copy of the message has most of them unchanged),
 * and decoding is a pure function of the raw value without its line
 * breaks, which is the key (so a header of a CRLF mail, written back with
 * LF, is the same key in the check).  The check may use what the other
 * walks put here: an entry holds only what the decoder makes of those
 * bytes, nothing the rewrite decided, so the check reads each header as
 * it would alone.  A new string. */
static char *
header_text(anon *a, const char *raw)
{
	size_t n = strlen(raw), un;
	char *u = unbreak(raw, n, &un), *v;

	/* Most values are plain: without their line breaks they are the
	 * text, and looking them up would cost more. */
	if (header_plain(raw, n))
		return u;
	v = g_hash_table_lookup(a->decoded, u);
	if (!v) {
		v = header_decode(u, un);
		g_hash_table_insert(a->decoded, u, v);
	} else {
		g_free(u);
	}
	return g_strdup(v);
}

/* ---- the passes over one string -------------------------------------- */

static void
note_leak(anon *a, int kind)
{
	if (a->leak_kind >= 0)
		return;
	a->leak_kind = kind;
	a->leak_where = where_label(a);
}

static ident *
domain_ident(anon *a, size_t m, const char *s)
{
	char *key = ident_key(K_DOMAIN, s, strnlen(s, m));
	ident *id = g_hash_table_lookup(a->by_key, key);

	g_free(key);
	return id;
}

/* Replace (REWRITE into OUT) or find (CHECK) every pattern in S.
 *
 * Besides the patterns, an '@' followed by a provider domain is always an
 * address of the provider, even when glued to what surrounds it (a
 * tracking token "...X7taro@victim.example.jpQ9..."): the run of address
 * characters before it goes with the domain, or, in a Message-ID, the
 * domain alone. */
static gboolean
pass_literal(anon *a, const char *s, size_t n, GString *out)
{
	size_t i = 0, copied = 0;
	gboolean hit = FALSE;

	while (i < n) {
		const pat *p;
		size_t m, l, end;
		ident *id = NULL;
		const char *repl;

		/* The index only changes when add_recipient() below adds a
		 * pattern, so it is rebuilt here, not per byte; the skip
		 * stops at every byte where a pattern or the '@' rule could
		 * apply. */
		index_build(a);
		for (;;) {
			const guint8 *f = a->first;
			const unsigned char *u = (const unsigned char *)s;

			/* Four bytes a step while none can start one. */
			while (i + 4 < n && !(f[u[i]] | f[u[i + 1]] |
					      f[u[i + 2]] | f[u[i + 3]]))
				i += 4;
			while (i + 1 < n && !f[u[i]])
				i++;
			if (i + 1 >= n || (a->first[(unsigned char)s[i]] & 2) ||
			    pair_at(a, s, i))
				break;
			i++;
		}
		if (i + 1 >= n)
			break;  /* no pattern is 1 byte, no domain 0 */
		p = match_at(a, s, n, i);
		if (p) {
			id = p->id;
			repl = p->repl;
			l = i;
			end = i + p->len;
		} else if (s[i] == '@' && a->domains->len &&
			   (m = provider_prefix(a, s + i + 1, n - i - 1))) {
			l = i;
			while (l > copied &&
			       local_char((unsigned char)s[l - 1]))
				l--;
			end = i + 1 + m;
			if (l < i && !a->no_addr && a->mode == M_REWRITE &&
			    !a->quiet)
				id = add_recipient(a, s + l, end - l, NULL);
			if (id) {
				repl = id->placeholder;
			} else if (a->mode == M_CHECK && l < i && !a->no_addr) {
				note_leak(a, K_ADDR);
				return TRUE;
			} else {
				l = i + 1;
				id = domain_ident(a, m, s + l);
				if (!id) {
					i++;
					continue;
				}
				repl = id->placeholder;
			}
		} else {
			i++;
			continue;
		}
		hit = TRUE;
		if (a->mode == M_CHECK) {
			note_leak(a, id->kind);
			return TRUE;
		}
		if (out) {
			g_string_append_len(out, s + copied, l - copied);
			/* A gateway's target may name the recipient too; it
			 * is shorter than the link it replaces, so this
			 * ends. */
			if (id->kind == K_GATEWAY)
				pass_literal(a, repl, strlen(repl), out);
			else
				g_string_append(out, repl);
		}
		record_where(a, id);
		if (!a->quiet)
			a->changes++;
		i = copied = end;
	}
	if (out)
		g_string_append_len(out, s + copied, n - copied);
	return hit;
}

/* Add an internal IP address (TEXT as written) to the identities. */
static void
add_ip(anon *a, const char *text, size_t n, int family, const guint8 *addr)
{
	char canon[INET6_ADDRSTRLEN], *lit, *ph, nb[12];
	gboolean fresh;
	ident *id;

	if (!inet_ntop(family, addr, canon, sizeof canon))
		return;
	ph = g_strconcat("ip-", decimal(nb, (unsigned)a->n_ip + 1), ".",
			 REDACTED, NULL);
	id = ident_get(a, K_IP, canon, ph, &fresh);
	g_free(ph);
	if (fresh)
		a->n_ip++;
	lit = g_strndup(text, n);
	add_pattern(a, lit, id->placeholder,
		    family == AF_INET ? R_IP4 : R_IP6, id);
	add_pattern(a, canon, id->placeholder,
		    family == AF_INET ? R_IP4 : R_IP6, id);
	g_free(lit);
}

/* IP addresses in S.  With PRIVATE, private ranges count as internal too
 * (Received headers).  DISCOVER adds them; CHECK reports the first one
 * that is not a placeholder. */
static gboolean
scan_ips(anon *a, const char *s, size_t n, gboolean private)
{
	for (size_t i = 0; i < n; ) {
		size_t b = i, e = i, first_colon = 0;
		int colons = 0, fam;
		gboolean alpha = FALSE;
		guint8 addr[16];

		if ((!g_ascii_isxdigit(s[i]) && s[i] != ':') ||
		    (i > 0 && (g_ascii_isalnum(s[i - 1]) || s[i - 1] == ':' ||
			       s[i - 1] == '.'))) {
			i++;
			continue;
		}
		while (e < n && (g_ascii_isxdigit(s[e]) || s[e] == ':' ||
				 s[e] == '.')) {
			if (s[e] == ':' && colons++ == 0)
				first_colon = e;
			if (g_ascii_isalpha(s[e]) && !colons)
				alpha = TRUE;
			e++;
		}
		i = e;
		if (e < n && g_ascii_isalnum(s[e]))
			continue;  /* glued to a word */
		while (e > b && s[e - 1] == '.')
			e--;
		if (colons >= 2) {
			if (!(a->nets6 || private) || e - b > 45 ||
			    !ip_parse(s + b, e - b, &fam, addr))
				continue;
		} else {
			if (colons == 1)
				e = first_colon;  /* 10.1.2.3:25 */
			if (alpha || e - b < 7 || e - b > 15 ||
			    (!ip_parse(s + b, e - b, &fam, addr) &&
			     !quad_padded(s + b, e - b, &fam, addr)))
				continue;
		}
		if (!in_nets(a, fam, addr) &&
		    !(private && ip_private(fam, addr)))
			continue;
		if (a->mode == M_CHECK) {
			note_leak(a, K_IP);
			return TRUE;
		}
		if (a->mode == M_DISCOVER)
			add_ip(a, s + b, e - b, fam, addr);
	}
	return FALSE;
}

static gboolean
pct_delim(int c)
{
	return c <= ' ' || c >= 0x7f || strchr("\"'<>()[]{}&=?/#;:,\\|^`",
					       c) != NULL;
}

static void
pct_encode(GString *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (g_ascii_isalnum(c) || c == '-' || c == '.' || c == '_' ||
		    c == '~')
			g_string_append_c(out, (char)c);
		else
			g_string_append_printf(out, "%%%02X", c);
	}
}

/* Percent-encoded components (between URL delimiters): decoded, searched
 * or rewritten, and encoded again when changed. */
static gboolean
pass_percent(anon *a, const char *s, size_t n, int depth, GString *out)
{
	size_t i = 0, copied = 0, lo = 0;
	gboolean hit = FALSE;

	while (i + 2 < n) {
		const char *q = memchr(s + i, '%', n - i - 2);
		size_t k, b, e;
		GString *dec, *sub;
		gboolean h;

		if (!q)
			break;
		k = q - s;
		if (!g_ascii_isxdigit(s[k + 1]) ||
		    !g_ascii_isxdigit(s[k + 2])) {
			i = k + 1;
			continue;
		}
		b = k;
		e = k;
		while (b > lo && !pct_delim((unsigned char)s[b - 1]))
			b--;
		while (e < n && !pct_delim((unsigned char)s[e]))
			e++;
		dec = g_string_sized_new(e - b);
		for (size_t j = b; j < e; j++) {
			if (s[j] == '%' && j + 2 < e &&
			    g_ascii_isxdigit(s[j + 1]) &&
			    g_ascii_isxdigit(s[j + 2])) {
				g_string_append_c(dec, (char)(
					g_ascii_xdigit_value(s[j + 1]) * 16 +
					g_ascii_xdigit_value(s[j + 2])));
				j += 2;
			} else {
				g_string_append_c(dec, s[j]);
			}
		}
		sub = out ? g_string_new(NULL) : NULL;
		push_via(a, "percent-encoded");
		h = engine(a, dec->str, dec->len, depth + 1, sub);
		pop_via(a);
		if (h) {
			hit = TRUE;
			if (out) {
				g_string_append_len(out, s + copied,
						    b - copied);
				pct_encode(out, sub->str, sub->len);
				copied = e;
			}
		}
		g_string_free(dec, TRUE);
		if (sub)
			g_string_free(sub, TRUE);
		if (h && a->mode == M_CHECK)
			return TRUE;
		i = lo = e;
	}
	if (out)
		g_string_append_len(out, s + copied, n - copied);
	return hit;
}

/* Length of the HTML character reference at S[0..N), its code point in
 * *cp; 0 when there is none. */
static size_t
entity_at(const char *s, size_t n, gunichar *cp)
{
	static const struct { const char *name; gunichar cp; } named[] = {
		{ "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' },
		{ "quot;", '"' }, { "apos;", '\'' }, { "nbsp;", 0xa0 },
		{ "commat;", '@' }, { "period;", '.' }, { "lowbar;", '_' },
		{ "sol;", '/' }, { "colon;", ':' }, { "equals;", '=' },
		{ "quest;", '?' }, { "num;", '#' }, { "percnt;", '%' },
		{ "hyphen;", '-' }, { "dash;", '-' },
	};
	size_t i = 1;
	gunichar v = 0;
	int digits = 0;

	if (n < 3 || s[0] != '&')
		return 0;
	if (s[1] != '#') {
		for (size_t k = 0; k < G_N_ELEMENTS(named); k++) {
			size_t m = strlen(named[k].name);

			if (m < n && memcmp(s + 1, named[k].name, m) == 0) {
				*cp = named[k].cp;
				return m + 1;
			}
		}
		return 0;
	}
	i = 2;
	if (i < n && lc(s[i]) == 'x') {
		for (i++; i < n && g_ascii_isxdigit(s[i]) && digits < 7;
		     i++, digits++)
			v = v * 16 + (gunichar)g_ascii_xdigit_value(s[i]);
	} else {
		for (; i < n && g_ascii_isdigit(s[i]) && digits < 8;
		     i++, digits++)
			v = v * 10 + (gunichar)(s[i] - '0');
	}
	if (!digits || v == 0 || !g_unichar_validate(v))
		return 0;
	if (i < n && s[i] == ';')
		i++;
	*cp = v;
	return i;
}

static gboolean
ent_delim(int c)
{
	return c <= ' ' || c == '<' || c == '>' || c == '"' || c == '\'';
}

static void
html_escape(GString *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '&': g_string_append(out, "&amp;"); break;
		case '<': g_string_append(out, "&lt;"); break;
		case '>': g_string_append(out, "&gt;"); break;
		case '"': g_string_append(out, "&quot;"); break;
		case '\'': g_string_append(out, "&#39;"); break;
		default: g_string_append_c(out, s[i]);
		}
	}
}

/* Runs holding HTML character references (taro&#64;example.jp). */
static gboolean
pass_entity(anon *a, const char *s, size_t n, int depth, GString *out)
{
	size_t i = 0, copied = 0, lo = 0;
	gboolean hit = FALSE;

	while (i < n) {
		const char *q = memchr(s + i, '&', n - i);
		size_t k, b, e;
		gunichar cp;
		GString *dec, *sub;
		gboolean h;

		if (!q)
			break;
		k = q - s;
		if (!entity_at(s + k, n - k, &cp)) {
			i = k + 1;
			continue;
		}
		b = k;
		e = k;
		while (b > lo && !ent_delim((unsigned char)s[b - 1]))
			b--;
		while (e < n && !ent_delim((unsigned char)s[e]))
			e++;
		dec = g_string_sized_new(e - b);
		for (size_t j = b; j < e; ) {
			size_t m = entity_at(s + j, e - j, &cp);

			if (m) {
				g_string_append_unichar(dec, cp);
				j += m;
			} else {
				g_string_append_c(dec, s[j++]);
			}
		}
		sub = out ? g_string_new(NULL) : NULL;
		push_via(a, "html-entities");
		h = engine(a, dec->str, dec->len, depth + 1, sub);
		pop_via(a);
		if (h) {
			hit = TRUE;
			if (out) {
				g_string_append_len(out, s + copied,
						    b - copied);
				html_escape(out, sub->str, sub->len);
				copied = e;
			}
		}
		g_string_free(dec, TRUE);
		if (sub)
			g_string_free(sub, TRUE);
		if (h && a->mode == M_CHECK)
			return TRUE;
		i = lo = e;
	}
	if (out)
		g_string_append_len(out, s + copied, n - copied);
	return hit;
}

static inline gboolean
b64_char(int c)
{
	/* b64_val() >= 0, by table: this runs over every byte, so a byte a
	 * character (no shift and mask); none at 0x80 and above. */
	static const guint8 set[256] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1,
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
		0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,
		0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
	};

	return set[c];
}

/* Decoded base64 worth searching: text (valid UTF-8 with few controls)
 * or mostly printable ASCII.  Random bytes pass neither.
 *
 * S[0..N) holds base64 characters only (b64_char()), N % 4 != 1.  The
 * decoded bytes are counted as they come, and the decoding stops as soon
 * as neither test can pass any more: every run of letters of 16 or more
 * (tracking tokens, CSS, hashes) comes here in each of the three walks,
 * and almost all of them decode to noise.  NULL when not plausible. */
static GString *
b64_plausible(const char *s, size_t n)
{
	static gsize once;
	static guint8 val[256], cls[256];
	const unsigned char *u = (const unsigned char *)s;
	size_t len = n * 6 / 8, o = 0, print = 0, ctl = 0, i = 0;
	char stack[2048];
	char *buf = len <= sizeof stack ? stack : g_malloc(len);
	GString *out = NULL;
	guint32 acc = 0;
	int bits = 0;

	/* b64_val() by table, and the bytes decoded on the stack: nearly
	 * every run is refused, so neither a call per character nor an
	 * allocation per run is worth it.  cls: 1 for a printable byte, 2
	 * for a control other than tab, CR and LF. */
	if (g_once_init_enter(&once)) {
		for (int c = 0; c < 256; c++) {
			val[c] = (guint8)MAX(b64_val(c), 0);
			cls[c] = c >= 0x20 && c < 0x7f ? 1 :
				 c < 0x20 && c != '\t' && c != '\r' &&
				 c != '\n' ? 2 : 0;
		}
		g_once_init_leave(&once, 1);
	}
	/* Four characters are three bytes, the bytes the loop below makes of
	 * them one at a time.  Mostly printable needs (o - print) * 4 <= len;
	 * few controls needs ctl * 20 <= len; both counts only grow, so once
	 * neither can hold the answer is NULL: tested once per three bytes
	 * here, which only decides how soon the work stops. */
	for (; i + 4 <= n; i += 4) {
		guint32 v = (guint32)val[u[i]] << 18 | (guint32)val[u[i + 1]] <<
			    12 | (guint32)val[u[i + 2]] << 6 | val[u[i + 3]];
		unsigned char c0 = (unsigned char)(v >> 16);
		unsigned char c1 = (unsigned char)(v >> 8);
		unsigned char c2 = (unsigned char)v;

		buf[o] = (char)c0;
		buf[o + 1] = (char)c1;
		buf[o + 2] = (char)c2;
		o += 3;
		print += (cls[c0] == 1) + (cls[c1] == 1) + (cls[c2] == 1);
		ctl += (cls[c0] == 2) + (cls[c1] == 2) + (cls[c2] == 2);
		if ((o - print) * 4 > len && ctl * 20 > len)
			goto out;
	}
	for (; i < n; i++) {
		unsigned char c;

		acc = (acc << 6) | val[u[i]];
		bits += 6;
		if (bits < 8)
			continue;
		bits -= 8;
		c = (unsigned char)(acc >> bits);
		buf[o++] = (char)c;
		print += cls[c] == 1;
		ctl += cls[c] == 2;
	}
	if (print * 4 >= len * 3 ||
	    (ctl * 20 <= len && g_utf8_validate(buf, len, NULL)))
		out = g_string_new_len(buf, (gssize)len);
out:
	if (buf != stack)
		g_free(buf);
	return out;
}

/* Try S[b..e) as base64.  Returns TRUE on a hit; in REWRITE the encoded
 * replacement is appended to REPL. */
static gboolean
try_b64(anon *a, const char *s, size_t b, size_t e, gboolean pad,
	int depth, GString *repl)
{
	GString *dec, *sub;
	gboolean h;

	if ((e - b) % 4 == 1)
		return FALSE;
	dec = b64_plausible(s + b, e - b);
	if (!dec)
		return FALSE;
	sub = repl ? g_string_new(NULL) : NULL;
	push_via(a, "base64");
	h = engine(a, dec->str, dec->len, depth + 1, sub);
	pop_via(a);
	if (h && repl) {
		gboolean url = memchr(s + b, '-', e - b) ||
			       memchr(s + b, '_', e - b);

		b64_encode(repl, sub->str, sub->len, url, pad);
	}
	g_string_free(dec, TRUE);
	if (sub)
		g_string_free(sub, TRUE);
	return h;
}

/* The '/'-separated pieces of the run S[b..e) (padding up to PE): every
 * stretch of them when there are few, each piece alone when there are
 * many.  Rewritten stretches go to OUT, *copied follows. */
static gboolean
pass_b64_pieces(anon *a, const char *s, size_t b, size_t e, size_t pe,
		int depth, GString *out, size_t *copied)
{
	size_t stack[2 * 32], *sb = stack, *se;
	gboolean hit = FALSE;
	int k = 1;

	/* The pieces' bounds, on the stack for the usual few. */
	for (const char *q = s + b; (q = memchr(q, '/', s + e - q)); q++)
		k++;
	if (k > 32)
		sb = g_new(size_t, 2 * (size_t)k);
	se = sb + k;
	k = 0;
	for (size_t j = b; j <= e; ) {
		size_t t = j;

		while (t < e && s[t] != '/')
			t++;
		sb[k] = j;
		se[k++] = t;
		j = t + 1;
	}
	for (int si = 0; si < k; si++) {
		int last = k <= MAX_B64_SEGS ? k - 1 : si;

		for (int sj = last; sj >= si; sj--) {
			size_t cb = sb[si];
			size_t ce = se[sj];
			gboolean at_end = ce == e;
			GString *repl;

			if ((si == 0 && at_end) || ce - cb < MIN_B64)
				continue;
			repl = out ? g_string_new(NULL) : NULL;
			if (!try_b64(a, s, cb, ce, at_end && pe > e, depth,
				     repl)) {
				if (repl)
					g_string_free(repl, TRUE);
				continue;
			}
			hit = TRUE;
			if (out) {
				g_string_append_len(out, s + *copied,
						    cb - *copied);
				g_string_append_len(out, repl->str, repl->len);
				*copied = at_end ? pe : ce;
			}
			if (repl)
				g_string_free(repl, TRUE);
			if (a->mode == M_CHECK)
				goto out;
			si = sj;
			break;
		}
	}
out:
	if (sb != stack)
		g_free(sb);
	return hit;
}

/* Base64-looking runs of MIN_B64 characters or more: the whole run, and,
 * since a run in a URL path takes the path with it ("t/ZXhhbXBsZQ"),
 * every stretch of its '/'-separated pieces. */
static gboolean
pass_b64(anon *a, const char *s, size_t n, int depth, GString *out)
{
	size_t i = 0, copied = 0;
	gboolean hit = FALSE;

	/* I is 0 or follows a byte that is not base64, so a run found from
	 * it is a whole run.  Only runs of MIN_B64 or more count: when the
	 * byte MIN_B64 - 1 ahead is not base64, none starts before it, and
	 * otherwise the run that holds it starts after the last byte before
	 * it that is not.  Prose is passed over a few bytes a word. */
	while (i < n) {
		size_t b, e, pe, j = i + MIN_B64 - 1;
		GString *repl;

		if (j >= n)
			break;
		if (!b64_char((unsigned char)s[j])) {
			i = j + 1;
			continue;
		}
		for (b = j; b > i && b64_char((unsigned char)s[b - 1]); b--)
			;
		for (e = j + 1; e < n && b64_char((unsigned char)s[e]); e++)
			;
		pe = e;
		while (pe < n && s[pe] == '=' && pe - e < 2)
			pe++;
		i = pe;
		if (e - b < MIN_B64)
			continue;
		repl = out ? g_string_new(NULL) : NULL;
		if (try_b64(a, s, b, e, pe > e, depth, repl)) {
			hit = TRUE;
			if (out) {
				g_string_append_len(out, s + copied,
						    b - copied);
				g_string_append_len(out, repl->str, repl->len);
				copied = pe;
			}
			if (repl)
				g_string_free(repl, TRUE);
			if (a->mode == M_CHECK)
				return TRUE;
			continue;
		}
		if (repl)
			g_string_free(repl, TRUE);
		if (!memchr(s + b, '/', e - b))
			continue;
		if (pass_b64_pieces(a, s, b, e, pe, depth, out, &copied)) {
			hit = TRUE;
			if (a->mode == M_CHECK)
				return TRUE;
		}
	}
	if (out)
		g_string_append_len(out, s + copied, n - copied);
	return hit;
}

/* ---- discovery -------------------------------------------------------- */

static gboolean
provider_domain(const anon *a, const char *h, size_t n)
{
	for (guint i = 0; i < a->domains->len; i++) {
		const char *d = a->domains->pdata[i];
		size_t m = strlen(d);

		if (n == m && g_ascii_strncasecmp(h, d, m) == 0)
			return TRUE;
		if (n > m && h[n - m - 1] == '.' &&
		    g_ascii_strncasecmp(h + n - m, d, m) == 0)
			return TRUE;
	}
	return FALSE;
}

static gboolean
is_placeholder_host(const char *h, size_t n)
{
	return (n == strlen(REDACTED) && g_ascii_strncasecmp(h, REDACTED,
							     n) == 0) ||
	       has_suffix_ci(h, n, "." REDACTED);
}

/* A host name of the provider (or of its inside, from a Received hop). */
static void
add_host(anon *a, const char *h, size_t n)
{
	char *lower, *ph, nb[12];
	gboolean fresh;
	ident *id;

	if (n < 3 || !memchr(h, '.', n) || is_placeholder_host(h, n))
		return;
	for (guint i = 0; i < a->domains->len; i++)
		if (strlen(a->domains->pdata[i]) == n &&
		    g_ascii_strncasecmp(h, a->domains->pdata[i], n) == 0)
			return;  /* the domain itself has its pattern */
	lower = g_ascii_strdown(h, n);
	ph = g_strconcat("host-", decimal(nb, (unsigned)a->n_host + 1), ".",
			 REDACTED, NULL);
	id = ident_get(a, K_HOST, lower, ph, &fresh);
	if (fresh)
		a->n_host++;
	add_pattern(a, lower, id->placeholder, R_NONE, id);
	g_free(ph);
	g_free(lower);
}

/* A name in another script is also written in Shift_JIS (CP932) and
 * EUC-JP: in a binary attachment (a spreadsheet, a CSV saved by Excel)
 * the raw search finds it in those bytes.  Such bytes never occur in
 * UTF-8 text, where the rewrite works, so the patterns only find. */
static void
add_legacy_forms(anon *a, const char *lit, const char *ph, ident *id)
{
	static const char *const cs[] = { "CP932", "EUC-JP-MS" };

	for (size_t i = 0; i < G_N_ELEMENTS(cs); i++) {
		gsize n = 0;
		char *e = g_convert(lit, -1, cs[i], "UTF-8", NULL, &n, NULL);

		if (e && n >= 4 && strlen(e) == n && strcmp(e, lit) != 0)
			add_pattern(a, e, ph, R_NONE, id);
		g_free(e);
	}
}

static void
add_name_lit(anon *a, int num, const char *lit)
{
	char nb[12];
	char *ph = g_strconcat("Recipient-", decimal(nb, (unsigned)num), NULL);
	gboolean fresh;
	ident *id = ident_get(a, K_NAME, lit, ph, &fresh);

	add_pattern(a, lit, ph, R_WORD, id);
	if ((unsigned char)lit[0] >= 0x80)
		add_legacy_forms(a, lit, ph, id);
	g_free(ph);
}

static gboolean
name_sep(gunichar c)
{
	return g_unichar_isspace(c) || c == 0x3000 || c == 0xa0 ||
	       c == 0x30fb || c == 0xff0c || c == 0x3001 ||
	       (c < 0x80 && strchr(",.-_()\"'/&+<>[]:;", (int)c));
}

static gboolean
cjk_ideograph(gunichar c)
{
	return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) ||
	       (c >= 0xf900 && c <= 0xfaff) || c == 0x3005;
}

/* A part of a name worth replacing alone: 3+ ASCII letters or 2+
 * characters of another script, and not a common word. */
static gboolean
name_part_ok(const char *p)
{
	size_t n = strlen(p);
	gboolean ascii = TRUE, letter = FALSE;

	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)p[i] >= 0x80)
			ascii = FALSE;
		else if (g_ascii_isalpha(p[i]))
			letter = TRUE;
	}
	if (stop_word(p, n) || placeholder_word(p))
		return FALSE;
	if (ascii)
		return n >= 3 && letter;
	return g_utf8_strlen(p, -1) >= 2;
}

/* Whether P is one CJK ideograph: a family name such as 林 or a given
 * name such as 誠, too common a character to replace alone. */
static gboolean
single_ideograph(const char *p)
{
	return *p && !*g_utf8_next_char(p) &&
	       cjk_ideograph(g_utf8_get_char(p));
}

/* A one-character part of recipient NUM's name, replaced where an
 * honorific follows it (林様, 誠さん), which makes it a name; the
 * honorific stays after the placeholder. */
static void
add_name_honorifics(anon *a, int num, const char *part)
{
	static const char *const hon[] = { "様", "さま", "さん", "殿", "君",
		"氏", "先生", "くん", "ちゃん", NULL };
	char nb[12];

	for (int i = 0; hon[i]; i++) {
		char *lit = g_strconcat(part, hon[i], NULL);
		char *ph = g_strconcat("Recipient-", decimal(nb, (unsigned)num),
				       hon[i], NULL);
		gboolean fresh;
		ident *id = ident_get(a, K_NAME, lit, ph, &fresh);

		add_pattern(a, lit, ph, R_WORD, id);
		g_free(ph);
		g_free(lit);
	}
}

/* Strip honorifics that follow a name in display names and greetings. */
static void
strip_honorific(char *s)
{
	static const char *const hon[] = { "様", "さま", "さん", "殿",
		"御中", "君", " san", " sama", "-san", "-sama", NULL };
	gboolean again = TRUE;

	while (again) {
		size_t n;

		again = FALSE;
		g_strstrip(s);
		n = strlen(s);
		for (int i = 0; hon[i]; i++) {
			size_t m = strlen(hon[i]);

			if (n > m &&
			    g_ascii_strcasecmp(s + n - m, hon[i]) == 0) {
				s[n - m] = '\0';
				again = TRUE;
				break;
			}
		}
	}
}

/* A display name of recipient NUM: the name, its parts (the family name
 * of "山田様"), the parts joined without or with another space, and the
 * two orders of a two-part name. */
static void
add_name(anon *a, int num, const char *name_in)
{
	char *s = g_utf8_make_valid(name_in, -1);
	GPtrArray *parts = g_ptr_array_new_with_free_func(g_free);
	GString *cur = g_string_new(NULL);
	size_t n;

	g_strstrip(s);
	while (*s == '"' || *s == '\'') {
		memmove(s, s + 1, strlen(s));
		g_strstrip(s);
	}
	n = strlen(s);
	while (n && (s[n - 1] == '"' || s[n - 1] == '\'')) {
		s[--n] = '\0';
		g_strstrip(s);
		n = strlen(s);
	}
	strip_honorific(s);
	n = strlen(s);
	if (memchr(s, '@', n)) {
		/* An address as the name: that address is a recipient. */
		for (const char *q = s; (q = strchr(q, '@')); q++) {
			const char *l = q, *r = q + 1;

			while (l > s && local_char((unsigned char)l[-1]))
				l--;
			while (host_char((unsigned char)*r))
				r++;
			if (l < q && r > q + 1)
				add_recipient(a, l, r - l, NULL);
		}
		goto out;
	}
	if (g_utf8_strlen(s, -1) < 2 || placeholder_word(s) ||
	    stop_word(s, n))
		goto out;
	for (const char *p = s; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (name_sep(c)) {
			if (cur->len)
				g_ptr_array_add(parts, g_strdup(cur->str));
			g_string_truncate(cur, 0);
		} else {
			g_string_append_unichar(cur, c);
		}
	}
	if (cur->len)
		g_ptr_array_add(parts, g_strdup(cur->str));
	if (parts->len == 0)
		goto out;
	{
		gboolean all_stop = TRUE;

		for (guint i = 0; i < parts->len; i++) {
			const char *p = parts->pdata[i];

			if (!stop_word(p, strlen(p)))
				all_stop = FALSE;
		}
		if (all_stop)
			goto out;
	}
	add_name_lit(a, num, s);
	if (parts->len >= 2) {
		GString *v1 = g_string_new(NULL), *v2 = g_string_new(NULL),
			*v3 = g_string_new(NULL);

		for (guint i = 0; i < parts->len; i++) {
			g_string_append(v1, parts->pdata[i]);
			if (i)
				g_string_append_c(v2, ' ');
			g_string_append(v2, parts->pdata[i]);
			if (i)
				g_string_append(v3, "\xe3\x80\x80");
			g_string_append(v3, parts->pdata[i]);
		}
		add_name_lit(a, num, v1->str);
		add_name_lit(a, num, v2->str);
		add_name_lit(a, num, v3->str);
		if (parts->len == 2) {
			char *r1 = g_strconcat(parts->pdata[1], " ",
					       parts->pdata[0], NULL);
			char *r2 = g_strconcat(parts->pdata[1],
					       parts->pdata[0], NULL);

			add_name_lit(a, num, r1);
			add_name_lit(a, num, r2);
			g_free(r1);
			g_free(r2);
		}
		g_string_free(v1, TRUE);
		g_string_free(v2, TRUE);
		g_string_free(v3, TRUE);
	}
	for (guint i = 0; i < parts->len; i++)
		if (name_part_ok(parts->pdata[i]))
			add_name_lit(a, num, parts->pdata[i]);
		else if (single_ideograph(parts->pdata[i]))
			add_name_honorifics(a, num, parts->pdata[i]);
	if (parts->len == 1) {
		/* 山田太郎 written without a space: guess the family name
		 * (and, for four characters, the given name). */
		const char *p = parts->pdata[0];
		glong len = g_utf8_strlen(p, -1);
		gboolean cjk = len >= 3 && len <= 6;

		for (const char *q = p; cjk && *q; q = g_utf8_next_char(q))
			if (!cjk_ideograph(g_utf8_get_char(q)))
				cjk = FALSE;
		if (cjk) {
			const char *two = g_utf8_offset_to_pointer(p, 2);
			char *fam = g_strndup(p, two - p);

			add_name_lit(a, num, fam);
			if (len == 4)
				add_name_lit(a, num, two);
			g_free(fam);
		}
	}
out:
	g_string_free(cur, TRUE);
	g_ptr_array_free(parts, TRUE);
	g_free(s);
}

static int
recipient_number(anon *a, const char *addr)
{
	gpointer v = g_hash_table_lookup(a->recips, addr);

	if (v)
		return GPOINTER_TO_INT(v);
	g_hash_table_insert(a->recips, g_strdup(addr),
			    GINT_TO_POINTER(++a->n_recip));
	return a->n_recip;
}

/* A recipient identity: the address (also with '@' percent-encoded, as an
 * HTML entity or full-width), its local part, the names it suggests.
 * Returns the address's identity, NULL when ADDR is not an address. */
static ident *
add_recipient(anon *a, const char *addr_in, size_t n, const char *name)
{
	static const char *const at_forms[] = { "@", "%40", "&#64;", "&#x40;",
		"\xef\xbc\xa0", NULL };
	char *addr, *at, *local, nb[12];
	const char *numstr;
	int num;
	gboolean fresh;
	ident *id;
	size_t ln;

	while (n && (*addr_in == '<' || *addr_in == ' ' || *addr_in == '.')) {
		addr_in++;
		n--;
	}
	while (n && strchr(">. \t", addr_in[n - 1]))
		n--;
	addr = g_ascii_strdown(addr_in, n);
	at = strchr(addr, '@');
	if (n < 3 || n > 254 || !at || at == addr || !at[1] ||
	    strchr(at + 1, '@') || has_suffix_ci(addr, n, "@" REDACTED) ||
	    !g_utf8_validate(addr, -1, NULL)) {
		g_free(addr);
		return NULL;
	}
	for (const char *p = addr; *p; p++)
		if ((unsigned char)*p <= ' ' || strchr("<>,;\"()[]\\", *p)) {
			g_free(addr);
			return NULL;
		}
	num = recipient_number(a, addr);
	numstr = decimal(nb, (unsigned)num);
	{
		char *ph = g_strconcat("recipient-", numstr, "@", REDACTED,
				       NULL);

		id = ident_get(a, K_ADDR, addr, ph, &fresh);
		g_free(ph);
	}
	if (fresh) {
		local = g_strndup(addr, at - addr);
		for (int i = 0; at_forms[i]; i++) {
			char *lit = g_strconcat(local, at_forms[i], at + 1,
						NULL);
			char *ph = g_strconcat("recipient-", numstr,
					       at_forms[i], REDACTED, NULL);

			add_pattern(a, lit, ph, R_NONE, id);
			g_free(lit);
			g_free(ph);
		}
		ln = strlen(local);
		if (g_utf8_strlen(local, -1) >= 4 && !stop_word(local, ln) &&
		    !placeholder_word(local)) {
			char *ph = g_strconcat("recipient-", numstr, NULL);
			ident *lid = ident_get(a, K_LOCAL, local, ph, &fresh);

			add_pattern(a, local, ph, R_WORD, lid);
			g_free(ph);
		}
		{
			/* first.last: the two parts are names too. */
			char **w = g_strsplit_set(local, "._-", -1);

			if (g_strv_length(w) == 2) {
				gboolean alpha = TRUE;

				for (int i = 0; i < 2; i++) {
					if (strlen(w[i]) < 3)
						alpha = FALSE;
					for (const char *p = w[i]; *p; p++)
						if (!g_ascii_isalpha(*p))
							alpha = FALSE;
				}
				for (int i = 0; alpha && i < 2; i++)
					if (name_part_ok(w[i]))
						add_name_lit(a, num, w[i]);
			}
			g_strfreev(w);
		}
		g_free(local);
	}
	if (name && *name)
		add_name(a, num, name);
	g_free(addr);
	return id;
}

/* ---- mail gateways' rewritten links ----------------------------------- */

/* The next link in S from *AT whose host is a mail gateway's
 * (csip_url_unwrap_is_gateway(): Safe Links, Proofpoint URL Defense), as
 * [*B, *E): from its scheme to the first byte that cannot be in a URL.
 * Such a link is the recipient organisation's: it carries the recipient's
 * address, the organisation's tenant or customer id (which public
 * look-ups turn into its name) and a signature. */
static gboolean
next_gateway(const char *s, size_t n, size_t *at, size_t *b, size_t *e)
{
	const char *p;

	while (*at < n && (p = memchr(s + *at, ':', n - *at)) != NULL) {
		size_t c = (size_t)(p - s), st = c, en = c + 3;

		*at = c + 1;
		if (n - c < 4 || p[1] != '/' || p[2] != '/')
			continue;
		while (st > 0 && g_ascii_isalpha(s[st - 1]))
			st--;
		if (st == c)
			continue;
		while (en < n && (unsigned char)s[en] > 0x20 &&
		       (unsigned char)s[en] < 0x7f && !strchr("\"'<>`", s[en]))
			en++;
		if (!csip_url_unwrap_is_gateway(s + st, en - st))
			continue;
		*b = st;
		*e = en;
		*at = en;
		return TRUE;
	}
	return FALSE;
}

/* Discovery: each gateway link in S becomes an identity whose placeholder
 * is the link it wraps, the one the attacker sent (the first level that is
 * no gateway's: Proofpoint may wrap Safe Links).  One whose target cannot
 * be read is left to the check, which fails closed on it. */
static void
scan_gateways(anon *a, const char *s, size_t n)
{
	size_t at = 0, b, e;

	while (next_gateway(s, n, &at, &b, &e)) {
		char **inner = csip_url_unwrap(s + b, e - b), *lit;
		const char *target = NULL;
		gboolean fresh;
		ident *id;

		for (size_t i = 0; inner && inner[i] && !target; i++)
			if (!csip_url_unwrap_is_gateway(inner[i],
							strlen(inner[i])))
				target = inner[i];
		if (target) {
			lit = g_strndup(s + b, e - b);
			id = ident_get(a, K_GATEWAY, lit, target, &fresh);
			add_pattern(a, lit, target, R_NONE, id);
			g_free(lit);
		}
		g_strfreev(inner);
	}
}

/* ---- header blocks of mails forwarded inline --------------------------- */

#define MAX_LABEL_LINES 256  /* labelled lines looked at per text */
#define LABEL_NEAR      8    /* lines between a From line and a To line */
#define MAX_LINE_NAME   96   /* bytes of a bare name taken from a line */

/* The label a line of a forwarded header block starts with, after
 * quote marks and spaces: 1 for the sender's (From:, 差出人:), 2 for the
 * recipients' (To:, Cc:, Bcc:, 宛先:), 0 for none; *val is the value. */
static int
line_label(const char *l, const char *e, const char **val)
{
	static const struct { const char *lab; int kind; } labs[] = {
		{ "from", 1 }, { "差出人", 1 }, { "送信者", 1 },
		{ "to", 2 }, { "cc", 2 }, { "bcc", 2 }, { "宛先", 2 },
		{ "ＣＣ", 2 }, { "ＢＣＣ", 2 },
	};

	while (l < e && (*l == ' ' || *l == '\t' || *l == '>' || *l == '*'))
		l++;
	for (size_t i = 0; i < G_N_ELEMENTS(labs); i++) {
		size_t m = strlen(labs[i].lab);
		const char *q = l + m;

		if ((size_t)(e - l) <= m || g_ascii_strncasecmp(l, labs[i].lab,
								m) != 0)
			continue;
		while (q < e && (*q == ' ' || *q == '*'))
			q++;
		if (q < e && *q == ':')
			q++;
		else if (e - q >= 3 && memcmp(q, "\xef\xbc\x9a", 3) == 0)
			q += 3;   /* a full-width colon */
		else
			continue;
		*val = q;
		return labs[i].kind;
	}
	return 0;
}

/* The value of a labelled line with the entities an HTML text writes
 * around addresses (&lt; &gt; &quot; &amp;, with or without ';') read;
 * a new string. */
static char *
line_unescape(const char *v, size_t n)
{
	static const struct { const char *ent; char c; } ents[] = {
		{ "&lt", '<' }, { "&gt", '>' }, { "&quot", '"' },
		{ "&amp", '&' },
	};
	GString *o = g_string_sized_new(n);
	size_t i = 0;

	while (i < n) {
		size_t k = G_N_ELEMENTS(ents);

		if (v[i] == '&')
			for (k = 0; k < G_N_ELEMENTS(ents); k++)
				if (n - i >= strlen(ents[k].ent) &&
				    g_ascii_strncasecmp(v + i, ents[k].ent,
					strlen(ents[k].ent)) == 0)
					break;
		if (k == G_N_ELEMENTS(ents)) {
			g_string_append_c(o, v[i++]);
			continue;
		}
		g_string_append_c(o, ents[k].c);
		i += strlen(ents[k].ent);
		if (i < n && v[i] == ';')
			i++;
	}
	return g_string_free(o, FALSE);
}

/* Whether X reads as a person's name alone: letters of any script,
 * spaces, and the marks names carry, nothing of an address, a host, a
 * group ("undisclosed-recipients:") or markup. */
static gboolean
bare_name(const char *x)
{
	gboolean letter = FALSE;

	for (const char *p = x; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (g_unichar_isalpha(c))
			letter = TRUE;
		else if (!(g_unichar_isspace(c) || c == 0x3000 || c == '-' ||
			   c == '\'' || c == '"' || c == 0x30fb))
			return FALSE;
	}
	return letter;
}

/* The recipients a To, Cc or 宛先 line of a forwarded block names: with
 * an address, that address (when at a provider domain, already a
 * recipient, or whatever it is without a policy) with its display name;
 * a name alone (Outlook writes 宛先: 山田 太郎; 鈴木 花子) as a recipient
 * name of its own number. */
static void
line_recipients(anon *a, const char *v, size_t n)
{
	char *val = line_unescape(v, n);
	gboolean semi = strchr(val, ';') != NULL;
	char **elems = g_strsplit_set(val, semi ? ";" : ",", 32);

	for (char **e = elems; *e; e++) {
		char *x = g_strstrip(*e);

		if (!*x)
			continue;
		if (strchr(x, '@')) {
			InternetAddressList *l = internet_address_list_parse(
				a->popts, x);

			for (int i = 0; l && i < internet_address_list_length(
			     l); i++) {
				InternetAddress *ia =
					internet_address_list_get_address(l, i);
				const char *addr, *at;
				char *low;

				if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
					continue;
				addr = internet_address_mailbox_get_addr(
					INTERNET_ADDRESS_MAILBOX(ia));
				at = addr ? strrchr(addr, '@') : NULL;
				if (!at)
					continue;
				low = g_ascii_strdown(addr, -1);
				if ((!a->domains->len && !a->nets->len) ||
				    provider_domain(a, at + 1, strlen(at + 1)) ||
				    g_hash_table_contains(a->recips, low))
					add_recipient(a, addr, strlen(addr),
						internet_address_get_name(ia));
				g_free(low);
			}
			if (l)
				g_object_unref(l);
		} else if (strlen(x) <= MAX_LINE_NAME &&
			   g_utf8_validate(x, -1, NULL) && bare_name(x) &&
			   !placeholder_word(x)) {
			char *key = g_strconcat("name:", x, NULL);

			add_name(a, recipient_number(a, key), x);
			g_free(key);
		}
	}
	g_strfreev(elems);
	g_free(val);
}

/* Discovery over a text: the recipients of a mail forwarded inline (or
 * quoted), from its header block: a To, Cc or 宛先 line with a From or
 * 差出人 line near it.  The From line is the attacker's and is left. */
static void
scan_name_lines(anon *a, const char *s, size_t n)
{
	struct { const char *v; size_t len; int kind, line; }
		lab[MAX_LABEL_LINES];
	const char *e = s + n, *l = s;
	int nl = 0, line = 0;

	while (l < e && nl < MAX_LABEL_LINES) {
		const char *eol = memchr(l, '\n', (size_t)(e - l));
		const char *le = eol ? eol : e, *val = NULL;
		int k;

		if (le > l && le[-1] == '\r')
			le--;
		if ((k = line_label(l, le, &val))) {
			lab[nl].v = val;
			lab[nl].len = (size_t)(le - val);
			lab[nl].kind = k;
			lab[nl].line = line;
			nl++;
		}
		line++;
		l = eol ? eol + 1 : e;
	}
	for (int i = 0; i < nl; i++) {
		gboolean near = FALSE;

		if (lab[i].kind != 2)
			continue;
		for (int j = 0; j < nl && !near; j++)
			near = lab[j].kind == 1 &&
			       ABS(lab[j].line - lab[i].line) <= LABEL_NEAR;
		if (near)
			line_recipients(a, lab[i].v, lab[i].len);
	}
}

/* Scan S for addresses and hosts at provider domains and for IPs in
 * provider networks. */
static void
scan_tokens(anon *a, const char *s, size_t n)
{
	if (a->domains->len) {
		for (const char *q = s; q < s + n &&
		     (q = memchr(q, '@', s + n - q)); q++) {
			size_t at = q - s, l = at, r = at + 1;

			while (l > 0 && local_char((unsigned char)s[l - 1]))
				l--;
			while (r < n && host_char((unsigned char)s[r]))
				r++;
			while (r > at + 1 &&
			       (s[r - 1] == '.' || s[r - 1] == '-'))
				r--;
			while (l < at && s[l] == '.')
				l++;
			if (r == at + 1)
				continue;
			if (provider_domain(a, s + at + 1, r - at - 1)) {
				add_host(a, s + at + 1, r - at - 1);
				if (l < at && !a->no_addr)
					add_recipient(a, s + l, r - l, NULL);
				continue;
			}
			/* Glued to what follows ("taro@victim.example.jpX7"):
			 * left to the '@' rule of pass_literal. */
		}
		for (size_t i = 0; i < n; ) {
			size_t b = i, e = i;

			if (!host_char((unsigned char)s[i])) {
				i++;
				continue;
			}
			while (e < n && host_char((unsigned char)s[e]))
				e++;
			i = e;
			if (b >= 1 && s[b - 1] == '%' && e - b > 2 &&
			    g_ascii_isxdigit(s[b]) &&
			    g_ascii_isxdigit(s[b + 1]))
				b += 2;  /* the tail of an escape: %2Fmx1... */
			while (b < e && strchr(".-_", s[b]))
				b++;
			while (e > b && strchr(".-_", s[e - 1]))
				e--;
			if (e - b >= 3 && memchr(s + b, '.', e - b) &&
			    provider_domain(a, s + b, e - b))
				add_host(a, s + b, e - b);
		}
	}
	if (a->nets->len)
		scan_ips(a, s, n, FALSE);
}

/* ---- Received headers ------------------------------------------------- */

enum { C_FROM, C_BY, C_VIA, C_WITH, C_ID, C_FOR, C__N };

typedef struct span {
	size_t b, e;
	gboolean set;
} span;

/* Split a Received value into its clauses (outside comments, before the
 * ';' of the date). */
static void
received_split(const char *s, size_t n, span sp[C__N])
{
	static const char *const kw[C__N] = { "from", "by", "via", "with",
					      "id", "for" };
	int depth = 0, cur = -1;
	size_t i = 0;

	memset(sp, 0, sizeof(span) * C__N);
	while (i < n) {
		unsigned char c = s[i];

		if (c == '(') {
			depth++;
		} else if (c == ')') {
			if (depth)
				depth--;
		} else if (depth == 0 && c == ';') {
			break;
		} else if (depth == 0 && g_ascii_isalpha(c) &&
			   (i == 0 || g_ascii_isspace(s[i - 1]))) {
			size_t e = i;

			while (e < n && g_ascii_isalpha(s[e]))
				e++;
			for (int k = 0; k < C__N; k++) {
				if (e - i != strlen(kw[k]) ||
				    g_ascii_strncasecmp(s + i, kw[k],
							e - i) != 0 ||
				    (e < n && !g_ascii_isspace(s[e]) &&
				     !strchr("<([", s[e])))
					continue;
				if (cur >= 0)
					sp[cur].e = i;
				cur = -1;
				if (!sp[k].set) {
					sp[k].set = TRUE;
					sp[k].b = sp[k].e = e;
					cur = k;
				}
				break;
			}
			i = e;
			continue;
		}
		i++;
	}
	if (cur >= 0)
		sp[cur].e = i;
}

typedef struct rtok {
	size_t b, e;
	int depth;
	gboolean ip, host, helo;
	int fam;
	guint8 addr[16];
} rtok;

typedef struct rpart {
	gboolean present, internal, evidence;
} rpart;

static gboolean
internal_name(const char *h, size_t n)
{
	static const char *const tlds[] = { ".local", ".localdomain", ".lan",
		".internal", ".intranet", ".intra", ".corp", ".home",
		".private", ".localhost", NULL };

	if (!memchr(h, '.', n))
		return TRUE;
	for (int i = 0; tlds[i]; i++)
		if (has_suffix_ci(h, n, tlds[i]))
			return TRUE;
	return FALSE;
}

static void
received_tokens(const char *s, const span *sp, GArray *toks)
{
	int depth = 0;
	size_t i = sp->b;

	g_array_set_size(toks, 0);
	while (i < sp->e) {
		unsigned char c = s[i];
		rtok t = { 0 };
		size_t e;

		if (c == '(') {
			depth++;
			i++;
			continue;
		}
		if (c == ')') {
			if (depth)
				depth--;
			i++;
			continue;
		}
		if (!g_ascii_isalnum(c) && c != ':' && c != '.' && c != '_' &&
		    c != '-') {
			i++;
			continue;
		}
		e = i;
		while (e < sp->e && (g_ascii_isalnum(s[e]) || strchr(":._-",
								      s[e])))
			e++;
		t.b = i;
		t.e = e;
		t.depth = depth;
		/* "helo=name" (Exim), "(HELO name)" (qmail): the sender's
		 * word, not what the receiver looked up. */
		t.helo = i >= 5 && (s[i - 1] == '=' || s[i - 1] == ' ') &&
			 (g_ascii_strncasecmp(s + i - 5, "helo", 4) == 0 ||
			  g_ascii_strncasecmp(s + i - 5, "ehlo", 4) == 0);
		i = e;
		if (t.e - t.b > 5 &&
		    g_ascii_strncasecmp(s + t.b, "IPv6:", 5) == 0)
			t.b += 5;
		while (t.e > t.b && (s[t.e - 1] == '.' || s[t.e - 1] == '-' ||
				     s[t.e - 1] == ':'))
			t.e--;
		if (t.e == t.b)
			continue;
		t.ip = ip_parse(s + t.b, t.e - t.b, &t.fam, t.addr);
		if (!t.ip && !(t.e < sp->e && s[t.e] == '@')) {
			t.host = TRUE;
			for (size_t k = t.b; k < t.e; k++)
				if (s[k] == ':')
					t.host = FALSE;
		}
		g_array_append_val(toks, t);
	}
}

static gboolean
ip_internal(const anon *a, const rtok *t)
{
	return in_nets(a, t->fam, t->addr) || ip_private(t->fam, t->addr) ||
	       ip_loopback(t->fam, t->addr);
}

static gboolean
tok_provider(const anon *a, const char *s, const rtok *t)
{
	return t->host && provider_domain(a, s + t->b, t->e - t->b);
}

/* Is a from/by clause on the provider's side?  For "from", what the
 * receiving MTA saw (the IP and reverse name in the comment) counts, not
 * the HELO name the sender chose: an attacker saying "HELO
 * mx.<provider>" from 203.0.113.9 stays outside. */
static void
received_part(const anon *a, const char *s, GArray *toks, gboolean from,
	      rpart *rp)
{
	gboolean peer_ip = FALSE, peer_int = FALSE, peer_ev = FALSE;
	gboolean helo_ip = FALSE, helo_int = FALSE, helo_ev = FALSE;
	gboolean rdns_prov = FALSE;
	const rtok *name = NULL;

	for (guint i = 0; i < toks->len; i++) {
		const rtok *t = &g_array_index(toks, rtok, i);

		if (t->depth == 0 && !name)
			name = t;
		if (t->ip && (t->depth > 0 || !from)) {
			peer_ip = TRUE;
			peer_int |= ip_internal(a, t);
			peer_ev |= in_nets(a, t->fam, t->addr);
		} else if (t->ip) {
			helo_ip = TRUE;
			helo_int |= ip_internal(a, t);
			helo_ev |= in_nets(a, t->fam, t->addr);
		} else if (t->depth > 0 && !t->helo && tok_provider(a, s, t)) {
			rdns_prov = TRUE;
		}
	}
	rp->present = toks->len > 0;
	if (!from) {
		gboolean nm = name && !name->ip && (tok_provider(a, s, name) ||
			internal_name(s + name->b, name->e - name->b));

		rp->internal = peer_int || helo_int || nm;
		rp->evidence = peer_ev || helo_ev ||
			       (name && tok_provider(a, s, name));
		return;
	}
	if (peer_ip) {
		rp->internal = peer_int || rdns_prov;
		rp->evidence = peer_ev || rdns_prov;
	} else if (helo_ip) {
		rp->internal = helo_int;
		rp->evidence = helo_ev;
	} else {
		gboolean prov = name && tok_provider(a, s, name);

		rp->internal = rdns_prov || prov || (name &&
			internal_name(s + name->b, name->e - name->b));
		rp->evidence = rdns_prov || prov;
	}
}

/* The provider's side of a hop: its IPs and host names are identities. */
static void
received_collect(anon *a, const char *s, GArray *toks, const rpart *rp)
{
	for (guint i = 0; i < toks->len; i++) {
		const rtok *t = &g_array_index(toks, rtok, i);

		if (t->ip && !ip_loopback(t->fam, t->addr) &&
		    (rp->evidence || ip_internal(a, t)))
			add_ip(a, s + t->b, t->e - t->b, t->fam, t->addr);
		else if (t->host && !t->helo && (rp->evidence ||
			 tok_provider(a, s, t) ||
			 internal_name(s + t->b, t->e - t->b)))
			add_host(a, s + t->b, t->e - t->b);
	}
}

/* Classify one Received value; with DISCOVER add its identities.
 * Returns TRUE when the hop is inside the provider (both ends internal,
 * or an internal hop without a "from"): the header is dropped.
 *
 * That answer reads only the value and the policy (the domains and
 * networks; not the identities found so far), so discovery keeps it by
 * the value and the rewrite, which asks again for the same headers, takes
 * it from there. */
static gboolean
received_classify(anon *a, const char *s, gboolean discover)
{
	size_t n = strlen(s);
	span sp[C__N];
	GArray *toks;
	rpart from = { 0 }, by = { 0 };
	gpointer known;
	gboolean drop;

	if (!discover && (known = g_hash_table_lookup(a->received, s)))
		return GPOINTER_TO_INT(known) == 2;
	toks = g_array_new(FALSE, TRUE, sizeof(rtok));
	received_split(s, n, sp);
	if (sp[C_FROM].set) {
		received_tokens(s, &sp[C_FROM], toks);
		received_part(a, s, toks, TRUE, &from);
		if (discover && from.internal)
			received_collect(a, s, toks, &from);
	}
	if (sp[C_BY].set) {
		received_tokens(s, &sp[C_BY], toks);
		received_part(a, s, toks, FALSE, &by);
		if (discover && by.internal)
			received_collect(a, s, toks, &by);
	}
	drop = by.present && by.internal && (!from.present || from.internal);
	if (discover) {
		if (sp[C_FOR].set) {
			const char *f = s + sp[C_FOR].b;
			size_t fn = sp[C_FOR].e - sp[C_FOR].b;

			for (const char *q = f; q < f + fn &&
			     (q = memchr(q, '@', f + fn - q)); q++) {
				const char *l = q, *r = q + 1;

				while (l > f &&
				       local_char((unsigned char)l[-1]))
					l--;
				while (r < f + fn &&
				       host_char((unsigned char)*r))
					r++;
				add_recipient(a, l, r - l, NULL);
			}
		}
		scan_ips(a, s, n, TRUE);
	}
	g_array_free(toks, TRUE);
	if (discover)
		g_hash_table_replace(a->received, g_strdup(s),
				     GINT_TO_POINTER(drop ? 2 : 1));
	return drop;
}

/* ---- headers ---------------------------------------------------------- */

/* g_ascii_strcasecmp(NAME, X) == 0, the first bytes compared here: every
 * header of every walk is looked up in several lists, and most names
 * differ from most entries at once. */
static inline gboolean
name_is(const char *name, const char *x)
{
	return lc((unsigned char)name[0]) == lc((unsigned char)x[0]) &&
	       g_ascii_strcasecmp(name, x) == 0;
}

static gboolean
name_in(const char *name, const char *const *list)
{
	for (int i = 0; list[i]; i++)
		if (name_is(name, list[i]))
			return TRUE;
	return FALSE;
}

static const char *const recipient_headers[] = {
	"To", "Cc", "Bcc", "Delivered-To", "X-Original-To", "Envelope-To",
	"X-Envelope-To", "Resent-To", "Resent-Cc", "Resent-Bcc",
	"X-Original-Recipient", "Original-Recipient", "Final-Recipient",
	"X-Actual-Recipient", "X-Rcpt-To", "X-Forwarded-To", "X-Apparently-To",
	"Apparently-To", "X-Delivered-To", "X-Receiver", "X-Recipient",
	"X-MS-Exchange-Organization-OriginalEnvelopeRecipients", NULL
};

static const char *const address_headers[] = {
	"From", "Sender", "Reply-To", "Return-Path", "Resent-From",
	"Resent-Sender", "Disposition-Notification-To", "Errors-To",
	"Mail-Followup-To", "Mail-Reply-To", "X-Sender", NULL
};

static const char *const msgid_headers[] = {
	"Message-ID", "References", "In-Reply-To", "Content-ID",
	"Resent-Message-ID", NULL
};

static gboolean
is_received(const char *name)
{
	return name_is(name, "Received") || name_is(name, "X-Received");
}

/* Headers the recipient's own Exchange organisation adds: they name its
 * tenant and its users, and say nothing about the attacker. */
static gboolean
provider_header(const char *name)
{
	return g_ascii_strncasecmp(name, "X-MS-Exchange-Organization-",
				   27) == 0 ||
	       g_ascii_strncasecmp(name, "X-MS-Exchange-CrossTenant-",
				   26) == 0;
}

static void
mailboxes(anon *a, InternetAddressList *l, gboolean all, int depth)
{
	for (int i = 0; l && i < internet_address_list_length(l); i++) {
		InternetAddress *ia = internet_address_list_get_address(l, i);

		if (INTERNET_ADDRESS_IS_GROUP(ia) && depth < 4) {
			mailboxes(a, internet_address_group_get_members(
				INTERNET_ADDRESS_GROUP(ia)), all, depth + 1);
		} else if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
			const char *addr = internet_address_mailbox_get_addr(
				INTERNET_ADDRESS_MAILBOX(ia));
			const char *at = addr ? strrchr(addr, '@') : NULL;

			if (!at)
				continue;
			if (all || provider_domain(a, at + 1, strlen(at + 1)))
				add_recipient(a, addr, strlen(addr),
					      internet_address_get_name(ia));
		}
	}
}

/* The addresses in one reading of an address header: as GMime parses
 * them, and, in a recipient header, every address-like token (whatever
 * GMime made of a broken list). */
static void
discover_addresses(anon *a, const char *val, gboolean rcpt)
{
	InternetAddressList *l = internet_address_list_parse(a->popts, val);
	size_t n = strlen(val);

	mailboxes(a, l, rcpt, 0);
	if (l)
		g_object_unref(l);
	for (const char *q = val; rcpt && (q = strchr(q, '@')); q++) {
		const char *b = q, *r = q + 1;

		while (b > val && local_char((unsigned char)b[-1]))
			b--;
		while (r < val + n && host_char((unsigned char)*r))
			r++;
		if (b < q && r > q + 1)
			add_recipient(a, b, r - b, NULL);
	}
}

/* One header for discovery.  VAL is our reading of it; RAW and H (may be
 * NULL) give the raw value and GMime's reading, searched for addresses
 * too, so that a header the two decoders read differently still gives up
 * all its recipients. */
/* The GUIDs in the value of a header the recipient's own Exchange
 * organisation added (its tenant id, the id of the message in its logs):
 * each is an identity ("provider-id"), replaced wherever it appears
 * (X-EOPTenantAttributedMessage and X-MS-Exchange-ForwardingLoop carry
 * the tenant id, a link its 32 hex digits), with and without dashes. */
static void
scan_tenants(anon *a, const char *val)
{
	static const int dash[] = { 8, 13, 18, 23 };

	for (const char *p = val; *p; p++) {
		char guid[37], bare[33], ph[37];
		gboolean fresh;
		ident *id;
		int k = 0, ok = 1;

		if (!g_ascii_isxdigit(*p) || (p > val &&
		    (g_ascii_isalnum(p[-1]) || p[-1] == '-')))
			continue;
		for (int i = 0; i < 36 && ok; i++) {
			if (k < 4 && i == dash[k]) {
				ok = p[i] == '-';
				k++;
			} else {
				ok = g_ascii_isxdigit(p[i]);
			}
		}
		if (!ok || g_ascii_isalnum(p[36]) || p[36] == '-')
			continue;
		for (int i = 0, j = 0; i < 36; i++) {
			guid[i] = g_ascii_tolower(p[i]);
			if (p[i] != '-')
				bare[j++] = guid[i];
		}
		guid[36] = bare[32] = '\0';
		g_snprintf(ph, sizeof ph, "00000000-0000-0000-0000-%012u",
			   (unsigned)a->n_tenant + 1);
		id = ident_get(a, K_TENANT, guid, ph, &fresh);
		if (fresh) {
			a->n_tenant++;
			add_pattern(a, guid, ph, R_WORD, id);
			g_snprintf(ph, sizeof ph, "%032u", (unsigned)a->n_tenant);
			add_pattern(a, bare, ph, R_WORD, id);
		}
		p += 35;
	}
}

static void
discover_header(anon *a, const char *name, const char *val, const char *raw,
		GMimeHeader *h)
{
	gboolean rcpt = name_in(name, recipient_headers);

	if (is_received(name))
		received_classify(a, val, TRUE);
	/* Outside a recipient header an address is only taken at a provider
	 * domain: without any, there is nothing to parse for. */
	if (rcpt || (a->domains->len && name_in(name, address_headers))) {
		/* GMime decodes a value when asked: only here. */
		const char *gval = h ? g_mime_header_get_value(h) : NULL;

		/* A reading equal to one already read finds the same. */
		discover_addresses(a, val, rcpt);
		if (raw && strcmp(raw, val) != 0)
			discover_addresses(a, raw, rcpt);
		if (gval && strcmp(gval, val) != 0 &&
		    (!raw || strcmp(gval, raw) != 0))
			discover_addresses(a, gval, rcpt);
	}
	if (provider_header(name))
		scan_tenants(a, val);
	a->no_addr = name_in(name, msgid_headers);
	engine(a, val, strlen(val), 0, NULL);
	a->no_addr = FALSE;
}

static void
record_drop(anon *a, int kind, const char *value)
{
	char nb[12];
	char *key = g_strconcat(value, " #", decimal(nb, a->idents->len),
				NULL);
	gboolean fresh;
	ident *id = ident_get(a, kind, key, NULL, &fresh);

	g_free(id->value);
	id->value = g_utf8_make_valid(value, -1);
	record_where(a, id);
	a->changes++;
	g_free(key);
}

/* Set a rewritten header value.  GMime's structured formatters re-parse
 * the value, and the one for Received never returns on some malformed
 * values (an unclosed '[' before a '(' in 3.2.13, found by fuzzing): trace
 * and message-id fields are folded as plain text and set raw instead.
 * Address and Content-* fields go through GMime so the objects behind
 * them (address lists, content type) follow. */
static void
header_set(GMimeHeader *h, const char *name, const char *value)
{
	char *enc, *line, *folded;
	gboolean ascii = TRUE;

	if (!is_received(name) && !name_in(name, msgid_headers)) {
		g_mime_header_set_value(h, NULL, value, "utf-8");
		return;
	}
	for (const char *p = value; *p; p++)
		if ((unsigned char)*p >= 0x80 || *p == '\r' || *p == '\n')
			ascii = FALSE;
	enc = ascii ? g_strdup(value) :
		g_mime_utils_header_encode_text(NULL, value, "utf-8");
	for (char *p = enc; *p; p++)
		if (*p == '\t')
			*p = ' ';  /* the unfolded tabs of the old folds */
	line = g_strconcat(name, ": ", enc, NULL);
	folded = g_mime_utils_unstructured_header_fold(NULL, NULL, line);
	g_mime_header_set_raw_value(h, folded + strlen(name) + 1);
	g_free(folded);
	g_free(line);
	g_free(enc);
}

/* One header list, in the current mode.  Returns FALSE on a leak (CHECK).
 *
 * The headers the rewrite drops are removed after the loop, the last
 * first: GMime keeps, per name, the first header of that name, and
 * removing that one makes it look for the next (a scan with a string
 * comparison per header); removed from the back, only the first of a
 * run of Received headers is such a one.  The list that remains, and
 * GMime's "first of each name" over it, are the same in either order,
 * and nothing in the loop reads another header than the current one. */
static gboolean
do_headers(anon *a, GMimeObject *obj, const char *path)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
	GArray *drop = NULL;

	for (int i = 0; hl && i < g_mime_header_list_get_count(hl); ) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		const char *name = g_mime_header_get_name(h);
		const char *raw = g_mime_header_get_raw_value(h);
		char *val;

		if (!name || !raw) {
			i++;
			continue;
		}
		val = header_text(a, raw);
		g_strstrip(val);
		set_where_header(a, path, name);
		a->no_addr = name_in(name, msgid_headers);
		if (a->mode == M_DISCOVER) {
			discover_header(a, name, val, raw, h);
		} else if (a->mode == M_CHECK) {
			char *own = NULL;
			const char *gv = reading_is_text(raw) ? val :
				(own = gmime_reading(raw)) ? own :
				g_mime_header_get_value(h);

			/* The search is a function of the text: a reading
			 * equal to one already searched, or shown to answer
			 * as it (plain_raw_same()), is not searched again. */
			gboolean hit = engine(a, val, strlen(val), 0, NULL) ||
			    (strcmp(raw, val) != 0 &&
			     !plain_raw_same(a, raw) &&
			     engine(a, raw, strlen(raw), 0, NULL)) ||
			    (gv && strcmp(gv, val) != 0 &&
			     strcmp(gv, raw) != 0 &&
			     engine(a, gv, strlen(gv), 0, NULL));

			g_free(own);
			if (hit) {
				g_free(val);
				a->no_addr = FALSE;
				where_now(a);
				return FALSE;
			}
		} else if ((is_received(name) && received_classify(a, val,
								   FALSE)) ||
			   provider_header(name)) {
			char *v = g_strconcat(name, ": ", val, NULL);

			record_drop(a, is_received(name) ? K_RECEIVED :
				    K_HEADER, v);
			g_free(v);
			if (!drop)
				drop = g_array_new(FALSE, FALSE, sizeof(int));
			g_array_append_val(drop, i);
		} else if (needs_rewrite(a, val, strlen(val))) {
			GString *o = g_string_new(NULL);

			if (engine(a, val, strlen(val), 0, o))
				header_set(h, name, o->str);
			g_string_free(o, TRUE);
		}
		g_free(val);
		a->no_addr = FALSE;
		i++;
	}
	where_now(a);  /* PATH and NAME may go with the removals below */
	for (guint k = drop ? drop->len : 0; k > 0; k--)
		g_mime_header_list_remove_at(hl, g_array_index(drop, int,
							       k - 1));
	if (drop)
		g_array_free(drop, TRUE);
	return TRUE;
}

/* Parameters (file names and the like, RFC 2231 continuations joined by
 * GMime) of a part's Content-Type and Content-Disposition. */
static gboolean
do_params(anon *a, GMimeObject *obj, const char *path)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	GMimeContentDisposition *cd =
		g_mime_object_get_content_disposition(obj);

	for (int w = 0; w < 2; w++) {
		GMimeParamList *pl = NULL;

		if (w == 0 && ct)
			pl = g_mime_content_type_get_parameters(ct);
		else if (w == 1 && cd)
			pl = g_mime_content_disposition_get_parameters(cd);
		GPtrArray *set = g_ptr_array_new_with_free_func(g_free);

		for (int i = 0; pl && i < g_mime_param_list_length(pl); i++) {
			GMimeParam *p =
				g_mime_param_list_get_parameter_at(pl, i);
			const char *name = g_mime_param_get_name(p);
			const char *v = g_mime_param_get_value(p);
			GString *o;

			if (!name || !v)
				continue;
			set_where(a, g_strconcat(path, *path ? " " : "",
						 "parameter:", name, NULL));
			if (a->mode != M_REWRITE) {
				if (engine(a, v, strlen(v), 0, NULL) &&
				    a->mode == M_CHECK) {
					g_ptr_array_free(set, TRUE);
					return FALSE;
				}
				continue;
			}
			if (!needs_rewrite(a, v, strlen(v)))
				continue;
			o = g_string_new(NULL);
			if (engine(a, v, strlen(v), 0, o)) {
				g_ptr_array_add(set, g_strdup(name));
				g_ptr_array_add(set, g_string_free(o, FALSE));
			} else {
				g_string_free(o, TRUE);
			}
		}
		/* Set after the loop: setting rebuilds the list. */
		for (guint i = 0; i + 1 < set->len; i += 2) {
			if (w == 0)
				g_mime_content_type_set_parameter(ct,
					set->pdata[i], set->pdata[i + 1]);
			else
				g_mime_content_disposition_set_parameter(cd,
					set->pdata[i], set->pdata[i + 1]);
		}
		g_ptr_array_free(set, TRUE);
	}
	return TRUE;
}

/* ---- parts ------------------------------------------------------------ */

enum { P_BINARY, P_TEXT, P_TEXTISH, P_HEADERS, P_MESSAGE };

static gboolean
ext_in(const char *fn, const char *const *exts)
{
	const char *dot = fn ? strrchr(fn, '.') : NULL;

	return dot && name_in(dot + 1, exts);
}

/* Bytes that read as text: no NUL, few control characters, and no magic
 * number of a binary format. */
static gboolean
looks_text(const GByteArray *b)
{
	static const char *const magic[] = { "%PDF", "PK\x03\x04",
		"\xd0\xcf\x11\xe0", "Rar!", "7z\xbc\xaf", "\x1f\x8b", "MZ",
		"\x89PNG", "GIF8", "\xff\xd8\xff", NULL };
	size_t n = MIN(b->len, SNIFF_BYTES), ctl = 0;

	if (n == 0)
		return FALSE;
	for (int i = 0; magic[i]; i++)
		if (b->len >= strlen(magic[i]) &&
		    memcmp(b->data, magic[i], strlen(magic[i])) == 0)
			return FALSE;
	for (size_t i = 0; i < n; i++) {
		guint8 c = b->data[i];

		if (c == 0)
			return FALSE;
		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' &&
		     c != '\f' && c != 0x1b) || c == 0x7f)
			ctl++;
	}
	return ctl * 200 <= n;
}

static int
part_kind(GMimeObject *obj, const GByteArray *bytes)
{
	static const char *const text_ext[] = { "txt", "text", "htm", "html",
		"shtml", "xhtml", "xml", "svg", "csv", "json", "js", "vbs",
		"hta", "ics", "vcf", "log", "md", "rtf", "ps1", "bat", "cmd",
		"url", "sh", "php", "asp", "aspx", NULL };
	static const char *const msg_ext[] = { "eml", "mht", "mhtml", NULL };
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	const char *type = ct ? g_mime_content_type_get_media_type(ct) : NULL;
	const char *sub = ct ? g_mime_content_type_get_media_subtype(ct) : NULL;
	const char *fn = g_mime_part_get_filename(GMIME_PART(obj));

	type = type ? type : "";
	sub = sub ? sub : "";
	if ((g_ascii_strcasecmp(type, "text") == 0 &&
	     g_ascii_strcasecmp(sub, "rfc822-headers") == 0) ||
	    (g_ascii_strcasecmp(type, "message") == 0 &&
	     (g_ascii_strcasecmp(sub, "delivery-status") == 0 ||
	      g_ascii_strcasecmp(sub, "global-delivery-status") == 0 ||
	      g_ascii_strcasecmp(sub, "disposition-notification") == 0 ||
	      g_ascii_strcasecmp(sub, "global-disposition-notification") == 0 ||
	      g_ascii_strcasecmp(sub, "global-headers") == 0)))
		return P_HEADERS;
	if ((g_ascii_strcasecmp(type, "message") == 0 &&
	     (g_ascii_strcasecmp(sub, "rfc822") == 0 ||
	      g_ascii_strcasecmp(sub, "global") == 0 ||
	      g_ascii_strcasecmp(sub, "news") == 0)) || ext_in(fn, msg_ext))
		return P_MESSAGE;
	if (GMIME_IS_TEXT_PART(obj))
		return P_TEXT;
	if (ext_in(fn, text_ext) || g_ascii_strcasecmp(sub, "xml") == 0 ||
	    g_ascii_strcasecmp(sub, "xhtml+xml") == 0 ||
	    g_ascii_strcasecmp(sub, "svg+xml") == 0 ||
	    g_ascii_strcasecmp(sub, "json") == 0 ||
	    g_ascii_strcasecmp(sub, "javascript") == 0 ||
	    g_ascii_strcasecmp(sub, "x-javascript") == 0)
		return P_TEXTISH;
	return bytes && looks_text(bytes) ? P_TEXTISH : P_BINARY;
}

static GByteArray *
part_bytes(GMimePart *p)
{
	GMimeDataWrapper *w = g_mime_part_get_content(p);
	GMimeStream *ms;
	GByteArray *ba;

	if (!w)
		return g_byte_array_new();
	ms = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(w, ms);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(ms), FALSE);
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(ms));
	g_object_unref(ms);
	return ba;
}

/* An object written out (may hold NUL bytes), or NULL on failure. */
static GByteArray *
object_bytes(GMimeObject *obj)
{
	GMimeStream *ms = g_mime_stream_mem_new();
	GByteArray *ba = NULL;

	if (g_mime_object_write_to_stream(obj, NULL, ms) >= 0) {
		g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(ms), FALSE);
		ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(ms));
	}
	g_object_unref(ms);
	return ba;
}

/* The part's content as it is encoded in the message. */
static GByteArray *
part_raw(GMimePart *p)
{
	GMimeDataWrapper *w = g_mime_part_get_content(p);
	GMimeStream *st = w ? g_mime_data_wrapper_get_stream(w) : NULL;
	GMimeStream *ms;
	GByteArray *ba;

	if (!st)
		return NULL;
	ms = g_mime_stream_mem_new();
	g_mime_stream_reset(st);
	g_mime_stream_write_to_stream(st, ms);
	g_mime_stream_reset(st);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(ms), FALSE);
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(ms));
	g_object_unref(ms);
	return ba;
}

/* After new content: keep base64 or quoted-printable, else pick one that
 * travels in 7 bits. */
static void
fix_encoding(GMimePart *p, GMimeContentEncoding was)
{
	if (was != GMIME_CONTENT_ENCODING_BASE64 &&
	    was != GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE)
		was = g_mime_part_get_best_content_encoding(p,
			GMIME_ENCODING_CONSTRAINT_7BIT);
	g_mime_part_set_content_encoding(p, was);
}

static void
part_set_bytes(GMimePart *p, const char *data, size_t len)
{
	GMimeContentEncoding was = g_mime_part_get_content_encoding(p);
	GMimeStream *ms = g_mime_stream_mem_new_with_buffer(data, len);
	GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(ms,
		GMIME_CONTENT_ENCODING_DEFAULT);

	g_mime_part_set_content(p, w);
	g_object_unref(w);
	g_object_unref(ms);
	fix_encoding(p, was);
}

/* g_mime_text_part_set_text() of TEXT, without GMime's charset scan
 * where its outcome is known: that scan (g_mime_charset_step(), tens of
 * instructions a byte) was two thirds of what the rewrite spent on parts.
 * GMime takes strlen(TEXT) bytes and a "level": 0 when every character is
 * below 128, 1 when the highest is below 256, else 2.  The level alone
 * chooses the charset parameter, whether the bytes go through a charset
 * filter (level 1 only) and the transfer encoding it sets (7bit at 0,
 * 8bit above, none when one above binary is set); the content is then a
 * memory stream of the bytes as they are.  In valid UTF-8 every character
 * of 256 or more has a lead byte of 0xC4 or more, and 128 to 255 have the
 * leads 0xC2 and 0xC3 (which are no continuation bytes), so the bytes
 * give the level.  At levels 0 and 2 GMime is given a string of the same
 * level ("" or U+0100), which sets the parameter and the encoding exactly
 * as for TEXT, and then TEXT's bytes as the content, which is all that
 * differs; any other text (invalid UTF-8, level 1) goes to GMime whole. */
static void
text_part_set(GMimeTextPart *tp, const char *text)
{
	size_t len = strlen(text);
	int level = 0;
	GMimeStream *ms;
	GMimeDataWrapper *w;

	if (has_high(text, len)) {
		if (!csip_mail_charset_utf8_valid(text, len, NULL)) {
			g_mime_text_part_set_text(tp, text);
			return;
		}
		level = 1;
		for (size_t i = 0; i < len && level == 1; i++)
			if ((unsigned char)text[i] >= 0xc4)
				level = 2;
		if (level == 1) {
			g_mime_text_part_set_text(tp, text);
			return;
		}
	}
	g_mime_text_part_set_text(tp, level ? "\xc4\x80" : "");
	ms = g_mime_stream_mem_new_with_buffer(text, len);
	w = g_mime_data_wrapper_new_with_stream(ms,
		GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(GMIME_PART(tp), w);
	g_object_unref(w);
	g_object_unref(ms);
}

/* A header block (text/rfc822-headers, delivery status): each field is
 * read like a header for discovery, then the block is rewritten as text
 * with its encoded words decoded. */
static GString *
header_block_decode(anon *a, const char *s, size_t n)
{
	GString *out = g_string_sized_new(n);
	GString *field = g_string_new(NULL);
	gchar **lines = NULL;
	char *copy = g_strndup(s, n);

	lines = g_strsplit(copy, "\n", -1);
	for (int i = 0; lines[i]; i++) {
		char *line = lines[i], *d;
		size_t m = strlen(line);

		if (m && line[m - 1] == '\r')
			line[--m] = '\0';
		d = header_text(a, line);
		g_string_append(out, d);
		if (lines[i + 1])
			g_string_append_c(out, '\n');
		if (a->mode == M_DISCOVER) {
			if (line[0] == ' ' || line[0] == '\t') {
				g_string_append(field, d);
			} else {
				char *colon = strchr(field->str, ':');

				if (colon) {
					*colon = '\0';
					g_strstrip(field->str);
					discover_header(a, field->str,
							g_strstrip(colon + 1),
							NULL, NULL);
				}
				g_string_assign(field, d);
			}
		}
		g_free(d);
	}
	if (a->mode == M_DISCOVER) {
		char *colon = strchr(field->str, ':');

		if (colon) {
			*colon = '\0';
			g_strstrip(field->str);
			discover_header(a, field->str, g_strstrip(colon + 1),
					NULL, NULL);
		}
	}
	g_strfreev(lines);
	g_free(copy);
	g_string_free(field, TRUE);
	return out;
}

static int walk(anon *a, GMimeObject *obj, const char *path, int depth);

typedef struct memo_text {
	GString *text;
	char *used;          /* owned: decode_text() may give the label of
				the part it read, which lives in one tree */
} memo_text;

static void
memo_text_free(gpointer p)
{
	memo_text *t = p;

	g_string_free(t->text, TRUE);
	g_free(t->used);
	g_free(t);
}

/* A hash of N bytes at P that reads at most about 256 of them: the keys
 * of the memos are whole parts or header values, and equality compares
 * them all, so the hash only has to spread them. */
static guint
sample_hash(const guint8 *p, gsize n)
{
	gsize step = n / 128 + 1;
	guint h = (guint)n;

	for (gsize i = 0; i < n; i += step)
		h = h * 31 + p[i];
	for (gsize i = n > 128 ? n - 128 : 0; i < n; i++)
		h = h * 31 + p[i];
	return h;
}

/* The hash of a memo key (equality: g_bytes_equal). */
static guint
memo_hash(gconstpointer key)
{
	gsize n = 0;
	const guint8 *p = g_bytes_get_data((GBytes *)key, &n);

	return sample_hash(p, n);
}

/* The hash of a raw header value, the key of a->decoded (equality:
 * g_str_equal): g_str_hash() read every byte of values of kilobytes. */
static guint
raw_hash(gconstpointer key)
{
	return sample_hash(key, strlen(key));
}

/* decode_text() of a part's bytes in charset CS (may be NULL), remembered
 * for the next walk: discovery and rewriting decode the same parts, and
 * the charset guessing runs iconv up to six times.  Keyed by the charset
 * and the whole content, so a part that changed is decoded afresh.  A new
 * GString; *used as for decode_text(). */
static GString *
part_text(anon *a, const GByteArray *bytes, const char *cs,
	  const char **used)
{
	size_t cl = cs ? strlen(cs) : 0;
	GByteArray *k = g_byte_array_sized_new((guint)(cl + 2 + bytes->len));
	GBytes *key;
	memo_text *t;

	g_byte_array_append(k, (const guint8 *)(cs ? "1" : "0"), 1);
	g_byte_array_append(k, (const guint8 *)(cs ? cs : ""), (guint)cl);
	g_byte_array_append(k, (const guint8 *)"", 1);
	g_byte_array_append(k, bytes->data, bytes->len);
	key = g_byte_array_free_to_bytes(k);
	t = g_hash_table_lookup(a->texts, key);
	if (t) {
		g_bytes_unref(key);
	} else {
		const char *u = NULL;

		t = g_new0(memo_text, 1);
		t->text = decode_text((const char *)bytes->data, bytes->len,
				      cs, &u);
		t->used = g_strdup(u);
		g_hash_table_insert(a->texts, key, t);
	}
	if (used)
		*used = t->used;
	return g_string_new_len(t->text->str, (gssize)t->text->len);
}

/* A part's decoded content as discovery read it.  The wrapper is held,
 * so no other wrapper can take its address while the entry lives. */
typedef struct view {
	GMimeDataWrapper *w;
	GMimeContentEncoding enc;
	GByteArray *bytes;
} view;

static void
view_free(gpointer p)
{
	view *v = p;

	g_object_unref(v->w);
	g_byte_array_unref(v->bytes);
	g_free(v);
}

/* part_bytes() of PART, decoded once for discovery and the rewrite: the
 * rewrite takes what discovery decoded from the same wrapper (discovery
 * changes nothing, and new content comes with a new wrapper), and the
 * decoding through GMime's filters is a good part of a walk.  The check
 * reads its own tree.  A new reference. */
static GByteArray *
leaf_bytes(anon *a, GMimePart *part)
{
	GMimeDataWrapper *w = g_mime_part_get_content(part);
	GByteArray *ba;
	view *v;

	if (w && a->mode == M_REWRITE &&
	    (v = g_hash_table_lookup(a->views, w)) != NULL &&
	    v->enc == g_mime_data_wrapper_get_encoding(w)) {
		ba = g_byte_array_ref(v->bytes);
		g_hash_table_remove(a->views, w);
		return ba;
	}
	ba = part_bytes(part);
	if (w && a->mode == M_DISCOVER && !a->transient) {
		v = g_new(view, 1);
		v->w = g_object_ref(w);
		v->enc = g_mime_data_wrapper_get_encoding(w);
		v->bytes = g_byte_array_ref(ba);
		g_hash_table_replace(a->views, w, v);
	}
	return ba;
}

static void
borrowed_free(gpointer arr)
{
	g_byte_array_free(arr, FALSE);   /* the bytes are the caller's */
}

/* A memory stream that reads DATA where it is, instead of the copy that
 * g_mime_stream_mem_new_with_buffer() makes (every parse of the
 * original, of the result and of the recipient check's header block made
 * one).  DATA must stay as it is until the stream and everything parsed
 * from it are freed: GMime's parts read their content through
 * sub-streams of it.  The stream reads only; the array around DATA is
 * freed with the stream (qdata goes after GMime's own finalize), the
 * bytes are not. */
static GMimeStream *
stream_borrow(const char *data, size_t len)
{
	GByteArray *arr = g_byte_array_new_take((guint8 *)data, len);
	GMimeStream *st = g_mime_stream_mem_new_with_byte_array(arr);

	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(st), FALSE);
	g_object_set_data_full(G_OBJECT(st), "csip-borrowed", arr,
			       borrowed_free);
	return st;
}

static GMimeMessage *
parse_bytes(anon *a, const char *data, size_t len)
{
	GMimeStream *st = stream_borrow(data, len);
	GMimeParser *ps = g_mime_parser_new_with_stream(st);
	GMimeMessage *m = g_mime_parser_construct_message(ps, a->popts);
	GMimeObject *body = m ? g_mime_message_get_mime_part(m) : NULL;

	g_object_unref(ps);
	g_object_unref(st);
	/* A mail has a header; GMime keeps Content-* ones with the body, so
	 * a message of nothing but "Content-Type: ..." counts too. */
	if (m && g_mime_header_list_get_count(g_mime_object_get_header_list(
		    GMIME_OBJECT(m))) == 0 && (!body ||
		    g_mime_header_list_get_count(
			    g_mime_object_get_header_list(body)) == 0)) {
		g_object_unref(m);
		m = NULL;
	}
	return m;
}

static char *
part_label(GMimeObject *obj, const char *path)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	char *mt = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
	char *label;

	/* The type is the attacker's text: keep it short and plain. */
	if (mt) {
		for (char *p = mt; *p; p++)
			if (!g_ascii_isalnum(*p) && !strchr("/.+-", *p))
				*p = '_';
		if (strlen(mt) > 40)
			mt[40] = '\0';
	}
	if (*path)
		label = g_strconcat("part ", path, " (", mt ? mt : "?", ")",
				    NULL);
	else
		label = g_strconcat("body (", mt ? mt : "?", ")", NULL);
	g_free(mt);
	return label;
}

/* Content is kept byte for byte, but its encoded form can hold what its
 * decoded form does not (an address written into a base64 body, where a
 * decoder skips the '@'): then the same bytes are encoded afresh. */
static void
reencode_if_dirty(anon *a, GMimePart *part, const GByteArray *bytes)
{
	GByteArray *raw = part_raw(part);
	int mode = a->mode;
	gboolean dirty;

	if (!raw)
		return;
	a->mode = M_CHECK;
	a->raw = TRUE;
	dirty = pass_literal(a, (const char *)raw->data, raw->len, NULL);
	a->raw = FALSE;
	a->mode = mode;
	if (dirty) {
		a->leak_kind = -1;
		g_clear_pointer(&a->leak_where, g_free);
		part_set_bytes(part, (const char *)bytes->data, bytes->len);
		g_mime_part_set_content_encoding(part,
			GMIME_CONTENT_ENCODING_BASE64);
		a->changes++;
	}
	g_byte_array_unref(raw);
}

/* Whether the binary bytes B hold an identity written in UTF-16 (a text
 * file saved by Notepad, the strings of an Outlook .msg or a PDF's
 * metadata), as the raw check (a->raw) finds it in 8-bit text: the
 * printable ASCII code units, read at either byte alignment (so in
 * either byte order), each other unit a space.  Only the literals the raw
 * check knows (addresses, hosts, IP addresses) are looked for. */
static gboolean
utf16_holds(anon *a, const guint8 *b, size_t n)
{
	gboolean found = FALSE;
	GString *v;

	if (n < 8 || !memchr(b, 0, n))
		return FALSE;
	v = g_string_new(NULL);
	for (size_t o = 0; o < 2 && !found; o++) {
		size_t run = 0, mark = 0;

		g_string_truncate(v, 0);
		/* Runs of text units only (printable ASCII, and the kana
		 * and ideographs names are written in), four or more, or
		 * two or more when not ASCII: no identity is shorter, and an
		 * image's bytes make a short view. */
		for (size_t i = o; i + 1 < n; i += 2) {
			gunichar c = (gunichar)(b[i] | b[i + 1] << 8);

			if ((c >= 0x20 && c < 0x7f) ||
			    (c >= 0x3040 && c <= 0x30ff) || cjk_ideograph(c)) {
				if (run++ == 0)
					mark = v->len;
				g_string_append_unichar(v, c);
				continue;
			}
			if (run && (run < 2 || (run < 4 &&
			    !((unsigned char)v->str[mark] & 0x80))))
				g_string_truncate(v, mark);
			else if (run)
				g_string_append_c(v, ' ');
			run = 0;
		}
		if (v->len)
			found = pass_literal(a, v->str, v->len, NULL);
	}
	g_string_free(v, TRUE);
	return found;
}

/* ---- archives --------------------------------------------------------- */

/* An archive attached as a binary part is shared byte for byte, and its
 * packed bytes hide what it holds from the raw search: a participant who
 * zips the reported mail, or attaches a gzip'd log, would share the
 * recipient's address and name, the internal host names and the greeting
 * unseen.  So the check opens it (csip_mail_archive_walk(), under the
 * limits mail.c uses) and searches every member as what it is: a mail is
 * walked like a nested message, text is decoded and searched with names,
 * anything else gets the raw and UTF-16 searches of a binary part, and an
 * archive inside is opened in turn.  The member's name is searched as
 * text.  An identity anywhere fails the message; archives are never
 * rewritten.  Only the check opens archives, once. */

#define ARCHIVE_PW_TRIES 512     /* archive opens per mail, as mail.c */
#define MEMBER_SHOWN     80      /* characters of a member name shown */

typedef struct arch_state {
	csip_mail_archive_budget budget;  /* one for the whole check */
	char **passwords;        /* from the bodies, once some archive was
	                            encrypted; NULL before */
	const char *outer;       /* the member whose mail is being walked,
	                            or NULL: labels start with it */
} arch_state;

typedef struct arch_walk {
	anon *a;
	const char *label;       /* the archive, for messages */
	int depth;
	int rc;                  /* the first failure, then members are
	                            skipped */
} arch_walk;

static char *scrub(anon *a, const char *s);
static int check_archive(anon *a, const guint8 *b, size_t n,
			 const char *label, int depth);

static void
arch_free(arch_state *st)
{
	if (!st)
		return;
	g_strfreev(st->passwords);
	g_free(st);
}

/* Whether B starts like a container or a compressed stream that
 * csip_mail_archive_walk() opens (what libmagic tells mail.c; anon.c
 * reads the magic numbers itself).  Office documents are zips too, and
 * are opened: their XML is text. */
static gboolean
archive_magic(const guint8 *b, size_t n)
{
	static const struct {
		const char *m;
		size_t len;
	} magic[] = {
		{ "PK\x03\x04", 4 }, { "PK\x07\x08", 4 }, { "\x1f\x8b", 2 },
		{ "\x1f\x9d", 2 }, { "BZh", 3 }, { "\xfd" "7zXZ\0", 6 },
		{ "\x28\xb5\x2f\xfd", 4 }, { "\x04\x22\x4d\x18", 4 },
		{ "LZIP", 4 }, { "\x5d\0\0", 3 }, { "7z\xbc\xaf\x27\x1c", 6 },
		{ "Rar!\x1a\x07", 6 }, { "MSCF", 4 }, { "070707", 6 },
		{ "070701", 6 }, { "070702", 6 }, { "\xc7\x71", 2 },
		{ "\x71\xc7", 2 },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(magic); i++)
		if (n >= magic[i].len && memcmp(b, magic[i].m, magic[i].len)
		    == 0)
			return TRUE;
	return (n >= 262 && memcmp(b + 257, "ustar", 5) == 0) ||
	       (n >= 0x8006 && memcmp(b + 0x8001, "CD001", 5) == 0) ||
	       (n >= 7 && b[2] == '-' && b[3] == 'l' && b[4] == 'h' &&
		b[6] == '-');
}

/* The texts of the bodies under OBJ (text parts and attachments, and
 * those of the messages inside), into TEXTS: where csip_mail_passwords()
 * looks for the password of an encrypted archive. */
static void
body_texts(anon *a, GMimeObject *obj, GPtrArray *texts, int depth)
{
	if (!obj || depth > MAX_MIME_DEPTH)
		return;
	if (GMIME_IS_MESSAGE(obj)) {
		body_texts(a, g_mime_message_get_mime_part(GMIME_MESSAGE(obj)),
			   texts, depth + 1);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		body_texts(a, GMIME_OBJECT(g_mime_message_part_get_message(
			GMIME_MESSAGE_PART(obj))), texts, depth + 1);
	} else if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);

		for (int i = 0; i < g_mime_multipart_get_count(mp); i++)
			body_texts(a, g_mime_multipart_get_part(mp, i), texts,
				   depth + 1);
	} else if (GMIME_IS_PART(obj)) {
		GByteArray *bytes = part_bytes(GMIME_PART(obj));
		int kind = part_kind(obj, bytes);
		GMimeMessage *m;

		if (kind == P_TEXT || kind == P_TEXTISH) {
			GString *t = part_text(a, bytes,
				g_mime_object_get_content_type_parameter(obj,
					"charset"), NULL);

			g_ptr_array_add(texts, g_string_free(t, FALSE));
		} else if (kind == P_MESSAGE &&
			   (m = parse_bytes(a, (const char *)bytes->data,
					    bytes->len)) != NULL) {
			body_texts(a, GMIME_OBJECT(m), texts, depth + 1);
			g_object_unref(m);
		}
		g_byte_array_unref(bytes);
	}
}

/* A member's name as an error message shows it: valid UTF-8, no control
 * characters or quotes, at most MEMBER_SHOWN characters.  A new string. */
static char *
member_shown(const char *name)
{
	char *s = g_utf8_make_valid(name ? name : "", -1), *t;

	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '"')
			*p = '_';
	if (g_utf8_strlen(s, -1) <= MEMBER_SHOWN)
		return s;
	t = g_utf8_substring(s, 0, MEMBER_SHOWN);
	g_free(s);
	return t;
}

/* Whether a member named NAME holding B (N bytes) is a mail: named as one
 * (the extensions do_leaf() takes), or text that opens with a mail's
 * header fields. */
static gboolean
member_is_mail(const char *name, const GByteArray *b)
{
	static const char *const msg_ext[] = { "eml", "mht", "mhtml", NULL };
	static const char *const fields[] = { "From:", "To:", "Received:",
		"Return-Path:", "Message-ID:", "Delivered-To:", "Subject:",
		"Date:", "MIME-Version:", NULL };

	if (ext_in(name, msg_ext))
		return TRUE;
	for (int i = 0; fields[i]; i++)
		if (b->len > strlen(fields[i]) &&
		    g_ascii_strncasecmp((const char *)b->data, fields[i],
					strlen(fields[i])) == 0)
			return looks_text(b);
	return FALSE;
}

/* Search one member (NAME, B) of the archive labelled PARENT.  CSIP_OK,
 * or CSIP_ERR with the leak noted, or an error set. */
static int
check_member(anon *a, const char *parent, const char *name,
	     const GByteArray *b, int depth)
{
	char *shown = member_shown(name);
	char *label = g_strconcat(parent, ", archive member \"", shown, "\"",
				  NULL);
	GMimeMessage *m;
	int rc = CSIP_OK;

	set_where(a, g_strconcat(label, " (its name)", NULL));
	if (name && engine(a, name, strlen(name), 0, NULL)) {
		rc = CSIP_ERR;
		goto out;
	}
	set_where(a, g_strdup(label));
	if (!b)
		goto out;   /* encrypted (no candidate opened it) or damaged:
			       unread here, and as unreadable to whoever
			       receives the archive */
	if (member_is_mail(name, b) &&
	    (m = parse_bytes(a, (const char *)b->data, b->len)) != NULL) {
		const char *outer = a->arch->outer;

		a->arch->outer = label;
		a->transient++;
		rc = walk(a, GMIME_OBJECT(m), "", depth + 1);
		a->transient--;
		a->arch->outer = outer;
		g_object_unref(m);
		if (rc == CSIP_ERR && a->leak_kind >= 0 &&
		    !g_str_has_prefix(a->leak_where, label)) {
			char *w = a->leak_where;

			a->leak_where = g_strconcat(label, ": ", w, NULL);
			g_free(w);
		}
	} else if (looks_text(b)) {
		GString *t = decode_text((const char *)b->data, b->len, NULL,
					 NULL);

		if (engine(a, t->str, t->len, 0, NULL))
			rc = CSIP_ERR;
		g_string_free(t, TRUE);
	} else {
		a->raw = TRUE;
		if (pass_literal(a, (const char *)b->data, b->len, NULL) ||
		    utf16_holds(a, b->data, b->len))
			rc = CSIP_ERR;
		a->raw = FALSE;
		if (rc == CSIP_OK && archive_magic(b->data, b->len))
			rc = check_archive(a, b->data, b->len, label,
					   depth + 1);
	}
out:
	g_free(label);
	g_free(shown);
	return rc;
}

static void
on_member(const csip_mail_archive_member *mem, void *ud)
{
	arch_walk *x = ud;
	GByteArray b = { (guint8 *)mem->data, (guint)mem->size };

	if (x->rc == CSIP_OK)
		x->rc = check_member(x->a, x->label, mem->name,
				     mem->data ? &b : NULL, x->depth);
}

/* Open the archive B (N bytes, the part or member LABEL) and search
 * every member.  Returns CSIP_OK, or CSIP_ERR with the leak noted, or an
 * error set when the archive could not be searched whole. */
static int
check_archive(anon *a, const guint8 *b, size_t n, const char *label,
	      int depth)
{
	arch_walk x = { a, label, depth, CSIP_OK };
	csip_mail_archive_result res;
	csip_mail_archive_budget before;
	char **given;
	char *shown;

	if (depth > MAX_MIME_DEPTH) {
		shown = scrub(a, label);
		x.rc = csip_error_set(CSIP_ERR, "anonymisation incomplete: "
			"%s nests archives more than %d levels deep and could "
			"not be checked; the message must not be shared (the "
			"hub keeps the original for its analysts)", shown,
			MAX_MIME_DEPTH);
		g_free(shown);
		return x.rc;
	}
	if (!a->arch) {
		csip_mail_limits lim;

		csip_mail_limits_default(&lim);
		a->arch = g_new0(arch_state, 1);
		a->arch->budget.max_expanded = lim.max_expanded;
		a->arch->budget.max_ratio = lim.max_ratio;
		a->arch->budget.members_left = lim.max_parts;
		a->arch->budget.password_tries = ARCHIVE_PW_TRIES;
	}
	before = a->arch->budget;
	given = a->arch->passwords;
	csip_mail_archive_walk(b, n, given, &a->arch->budget, on_member, &x,
			       &res);
	if (x.rc == CSIP_OK && res.encrypted && !res.password && !given) {
		/* Encrypted, and read without passwords: the password may
		 * be in a body, as in the attack mails that mail.c opens.
		 * The candidates are collected once (here, or for an archive
		 * inside this one), and the archive read again with them,
		 * as if for the first time. */
		if (!a->arch->passwords) {
			GPtrArray *texts =
				g_ptr_array_new_with_free_func(g_free);

			body_texts(a, a->checked, texts, 0);
			a->arch->passwords = csip_mail_passwords(
				(const char *const *)texts->pdata, texts->len);
			g_ptr_array_free(texts, TRUE);
		}
		if (a->arch->passwords[0]) {
			csip_mail_archive_result_clear(&res);
			a->arch->budget = before;
			csip_mail_archive_walk(b, n, a->arch->passwords,
					       &a->arch->budget, on_member,
					       &x, &res);
		}
	}
	if (x.rc == CSIP_OK && res.bomb) {
		shown = scrub(a, label);
		x.rc = csip_error_set(CSIP_ERR, "anonymisation incomplete: "
			"%s is an archive that could not be checked whole "
			"(unpacking stopped at a limit: a likely zip bomb, too "
			"many members or too many unpacked bytes); what was "
			"not unpacked could name a recipient or the provider, "
			"so the message must not be shared (the hub keeps the "
			"original for its analysts)", shown);
		g_free(shown);
	}
	csip_mail_archive_result_clear(&res);
	return x.rc;
}

/* The archive check of a binary part (CHECK), its label in a->where (in
 * a mail inside an archive, after the member's). */
static int
check_archive_part(anon *a, const GByteArray *bytes, int depth)
{
	const char *w = a->where ? a->where : "the message";
	char *label;
	int rc;

	if (!archive_magic(bytes->data, bytes->len))
		return CSIP_OK;
	label = a->arch && a->arch->outer ?
		g_strconcat(a->arch->outer, ": ", w, NULL) : g_strdup(w);
	rc = check_archive(a, bytes->data, bytes->len, label, depth);
	g_free(label);
	return rc;
}

/* A leaf part.  Returns CSIP_OK, or CSIP_ERR on a leak (CHECK). */
static int
do_leaf(anon *a, GMimePart *part, const char *path, int depth)
{
	GMimeObject *obj = GMIME_OBJECT(part);
	GByteArray *bytes = leaf_bytes(a, part);
	int kind = part_kind(obj, bytes), rc = CSIP_OK;
	const char *cs = g_mime_object_get_content_type_parameter(obj,
								  "charset");
	const char *used = NULL;
	GString *text = NULL, *o = NULL;

	set_where(a, part_label(obj, path));
	if (kind == P_MESSAGE) {
		GMimeMessage *m = parse_bytes(a, (const char *)bytes->data,
					      bytes->len);
		char *sub;

		if (!m) {
			kind = looks_text(bytes) ? P_TEXTISH : P_BINARY;
		} else {
			size_t before = a->changes;
			gboolean changed;

			sub = g_strconcat(path, ">", NULL);
			a->transient++;
			rc = walk(a, GMIME_OBJECT(m), sub, depth + 1);
			a->transient--;
			g_free(sub);
			changed = a->changes != before;
			if (rc == CSIP_OK && a->mode == M_REWRITE && changed) {
				GByteArray *ba = object_bytes(GMIME_OBJECT(m));

				if (ba) {
					part_set_bytes(part, (const char *)
						       ba->data, ba->len);
					g_byte_array_unref(ba);
				}
			}
			g_object_unref(m);
			goto out;
		}
	}
	if (a->mode == M_CHECK && kind != P_BINARY &&
	    (rc = check_archive_part(a, bytes, depth)) < 0)
		goto out;   /* an archive declared as text */
	if (kind == P_BINARY) {
		/* Kept byte for byte; but an address or a provider name in
		 * the bytes themselves is not shared unseen: the check
		 * fails the message instead. */
		if (a->mode == M_REWRITE)
			reencode_if_dirty(a, part, bytes);
		if (a->mode == M_CHECK) {
			a->raw = TRUE;
			if (pass_literal(a, (const char *)bytes->data,
					 bytes->len, NULL) ||
			    utf16_holds(a, bytes->data, bytes->len))
				rc = CSIP_ERR;
			a->raw = FALSE;
			if (rc == CSIP_OK)
				rc = check_archive_part(a, bytes, depth);
		}
		goto out;
	}
	if (kind == P_HEADERS) {
		GString *raw = part_text(a, bytes, cs, &used);

		text = header_block_decode(a, raw->str, raw->len);
		g_string_free(raw, TRUE);
	} else {
		text = part_text(a, bytes, cs, &used);
	}
	if (a->mode == M_DISCOVER) {
		engine(a, text->str, text->len, 0, NULL);
		goto out;
	}
	if (a->mode == M_CHECK) {
		if (engine(a, text->str, text->len, 0, NULL))
			rc = CSIP_ERR;
		goto out;
	}
	o = needs_rewrite(a, text->str, text->len) ?
		g_string_sized_new(text->len) : NULL;
	if (!o || !engine(a, text->str, text->len, 0, o)) {
		reencode_if_dirty(a, part, bytes);
		goto out;
	}
	if (GMIME_IS_TEXT_PART(obj)) {
		GMimeContentEncoding was =
			g_mime_part_get_content_encoding(part);

		text_part_set(GMIME_TEXT_PART(obj), o->str);
		fix_encoding(part, was);
	} else if (used && strcmp(used, "UTF-8") != 0 &&
		   strcmp(used, "US-ASCII") != 0 &&
		   strcmp(used, "ISO-2022-JP") != 0) {
		/* A text attachment keeps its charset where it can. */
		gsize wlen = 0;
		gchar *back = g_convert(o->str, o->len, used, "UTF-8", NULL,
					&wlen, NULL);

		if (back)
			part_set_bytes(part, back, wlen);
		else
			part_set_bytes(part, o->str, o->len);
		g_free(back);
	} else {
		part_set_bytes(part, o->str, o->len);
	}
out:
	if (text)
		g_string_free(text, TRUE);
	if (o)
		g_string_free(o, TRUE);
	g_byte_array_unref(bytes);
	return rc;
}

/* Multipart prologue and epilogue: free text an attacker (or a
 * forwarder) can fill. */
static int
do_multipart_text(anon *a, GMimeMultipart *mp, const char *path)
{
	for (int w = 0; w < 2; w++) {
		const char *t = w == 0 ? g_mime_multipart_get_prologue(mp) :
					 g_mime_multipart_get_epilogue(mp);
		GString *g, *o;

		if (!t || !*t)
			continue;
		set_where(a, g_strconcat(path, *path ? " " : "",
					 w == 0 ? "prologue" : "epilogue",
					 NULL));
		g = decode_text(t, strlen(t), NULL, NULL);
		if (a->mode != M_REWRITE) {
			gboolean h = engine(a, g->str, g->len, 0, NULL);

			g_string_free(g, TRUE);
			if (h && a->mode == M_CHECK)
				return CSIP_ERR;
			continue;
		}
		o = g_string_new(NULL);
		if (needs_rewrite(a, g->str, g->len) &&
		    engine(a, g->str, g->len, 0, o)) {
			if (w == 0)
				g_mime_multipart_set_prologue(mp, o->str);
			else
				g_mime_multipart_set_epilogue(mp, o->str);
		}
		g_string_free(o, TRUE);
		g_string_free(g, TRUE);
	}
	return CSIP_OK;
}

/* Walk a MIME object in the current mode.  PATH names the part for the
 * report ("" for the top, "2.1", "3>" inside the message of part 3). */
static int
walk(anon *a, GMimeObject *obj, const char *path, int depth)
{
	int rc = CSIP_OK;

	if (depth > MAX_MIME_DEPTH)
		return csip_error_set(CSIP_EINVAL, "the message nests parts "
			"more than %d levels deep; it cannot be anonymised "
			"(flatten it or report it to the hub unshared)",
			MAX_MIME_DEPTH);
	if (!do_headers(a, obj, path))
		return CSIP_ERR;
	if (GMIME_IS_MESSAGE(obj)) {
		GMimeObject *body = g_mime_message_get_mime_part(
			GMIME_MESSAGE(obj));

		return body ? walk(a, body, path, depth + 1) : CSIP_OK;
	}
	if (!GMIME_IS_MESSAGE(obj) && !do_params(a, obj, path))
		return CSIP_ERR;
	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message(
			GMIME_MESSAGE_PART(obj));
		char *sub = g_strconcat(path, ">", NULL);

		if (m)
			rc = walk(a, GMIME_OBJECT(m), sub, depth + 1);
		g_free(sub);
		return rc;
	}
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);

		if ((rc = do_multipart_text(a, mp, path)) < 0)
			return rc;
		for (int i = 0; i < g_mime_multipart_get_count(mp); i++) {
			char nb[12];
			char *sub = g_strconcat(path, *path &&
				path[strlen(path) - 1] != '>' ? "." : "",
				decimal(nb, (unsigned)i + 1), NULL);

			rc = walk(a, g_mime_multipart_get_part(mp, i), sub,
				  depth + 1);
			g_free(sub);
			if (rc < 0)
				return rc;
		}
		return CSIP_OK;
	}
	if (GMIME_IS_PART(obj))
		return do_leaf(a, GMIME_PART(obj), path, depth);
	return CSIP_OK;
}

/* ---- what a reader sees that the bytes do not spell --------------------- */

/* The check also reads each string as a person or a program would see
 * it, where the literal search cannot: script and style escapes decoded
 * (\x74aro, \u5c71, CSS \5c71), full-width forms read as ASCII and
 * invisible characters dropped (ｔａｒｏ＠…, ta<U+200B>ro), defanged
 * notation read (mx1[.]victim[.]jp, hxxps), folded lines joined
 * (iCalendar, vCard) and line breaks dropped inside a link's href or src
 * as a browser does, and, in a second view,
 * markup removed (<span>ta</span>ro@...).  These views only find: an
 * identity in one fails the message (the rewrite does not work on them),
 * so a mail hiding a recipient that way is refused rather than shared. */

/* Escapes of scripts and style sheets decoded into O: \xHH, \uHHHH,
 * \u{H...} and CSS \H (1 to 6 hex digits, one space after them eaten).
 * TRUE when there was one. */
static gboolean
view_unescape(const char *s, size_t n, GString *o)
{
	gboolean any = FALSE;
	size_t i = 0;

	while (i < n) {
		gunichar v = 0;
		size_t j = i + 1, k = 0, max = 6;

		if (s[i] != '\\' || j >= n) {
			g_string_append_c(o, s[i++]);
			continue;
		}
		if (s[j] == 'x' || s[j] == 'u') {
			max = s[j] == 'x' ? 2 : 4;
			j++;
			if (max == 4 && j < n && s[j] == '{') {
				max = 6;
				j++;
			}
		}
		while (k < max && j + k < n && g_ascii_isxdigit(s[j + k]))
			v = v * 16 + (gunichar)g_ascii_xdigit_value(s[j + k++]);
		if (k == 0 || (max == 2 && k != 2) ||
		    (max == 4 && k != 4) || !g_unichar_validate(v) || v == 0) {
			g_string_append_c(o, s[i++]);
			continue;
		}
		i = j + k;
		if (i < n && (s[i] == '}' || s[i] == ' '))
			i++;
		g_string_append_unichar(o, v);
		any = TRUE;
	}
	return any;
}

/* Whether C is a character nobody sees: zero-width, joiners, the byte
 * order mark, the soft hyphen. */
static gboolean
invisible(gunichar c)
{
	return (c >= 0x200b && c <= 0x200f) || (c >= 0x2060 && c <= 0x2064) ||
	       c == 0xfeff || c == 0x00ad || c == 0x180e;
}

/* The ASCII a full-width form, the half-width or ideographic full stop
 * reads as; 0 for none. */
static int
narrow(gunichar c)
{
	if (c >= 0xff01 && c <= 0xff5e)
		return (int)(c - 0xff01 + 0x21);
	if (c == 0x3002 || c == 0xff61)
		return '.';
	return 0;
}

static gboolean
addr_byte(int c)
{
	return g_ascii_isalnum(c) || c == '.' || c == '-' || c == '@' ||
	       c == '_';
}

/* S folded as a reader reads it: full-width forms as ASCII, the
 * ideographic full stop as a dot, invisible characters dropped, defanged
 * notation read, a line break followed by white space removed with one
 * white space character (folding), and CR, LF and tab removed inside a
 * quoted href or src. */
static void
view_fold(const char *s, size_t n, GString *o)
{
	static const struct { const char *from, *to; } fangs[] = {
		{ "[.]", "." }, { "(.)", "." }, { "{.}", "." }, { "[dot]", "." },
		{ "(dot)", "." }, { "[@]", "@" }, { "(@)", "@" }, { "[at]", "@" },
		{ "(at)", "@" }, { "[:]", ":" }, { "hxxp", "http" },
		{ "[://]", "://" },
	};
	char quote = 0;
	size_t i = 0;

	while (i < n) {
		size_t k, j = i;
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x80) {
			const char *nx = g_utf8_find_next_char(s + i, s + n);
			gunichar u = g_utf8_get_char_validated(s + i,
				(gssize)((nx ? nx : s + n) - (s + i)));
			size_t w = (size_t)((nx ? nx : s + n) - (s + i));

			if (u != (gunichar)-1 && u != (gunichar)-2 &&
			    narrow(u))
				g_string_append_c(o, (char)narrow(u));
			else if (u == (gunichar)-1 || u == (gunichar)-2 ||
				 !invisible(u))
				g_string_append_len(o, s + i, w);
			i += w;
			continue;
		}
		if (quote && c == (unsigned char)quote) {
			quote = 0;
		} else if (!quote && (c == '"' || c == '\'') && i >= 4 &&
			   (g_ascii_strncasecmp(s + i - 4, "src=", 4) == 0 ||
			    (i >= 5 && g_ascii_strncasecmp(s + i - 5, "href=",
							   5) == 0))) {
			quote = (char)c;
		} else if (quote && (c == '\r' || c == '\n' || c == '\t')) {
			i++;   /* a browser drops these from a URL */
			continue;
		}
		while (j < n && (s[j] == '\r' || s[j] == '\n'))
			j++;
		if (j > i && j < n && (s[j] == ' ' || s[j] == '\t')) {
			i = j + 1;   /* a folded line, joined */
			continue;
		}
		if (j > i) {
			g_string_append_len(o, s + i, j - i);
			i = j;
			continue;
		}
		k = G_N_ELEMENTS(fangs);
		if (c == '[' || c == '(' || c == '{' || c == 'h' || c == 'H')
			for (k = 0; k < G_N_ELEMENTS(fangs); k++) {
				size_t m = strlen(fangs[k].from);

				if (n - i >= m && g_ascii_strncasecmp(s + i,
				    fangs[k].from, m) == 0)
					break;
			}
		if (k < G_N_ELEMENTS(fangs)) {
			g_string_append(o, fangs[k].to);
			i += strlen(fangs[k].from);
		} else {
			g_string_append_c(o, s[i++]);
		}
	}
}

/* S without its markup: tags and comments removed. */
static void
view_unmark(const char *s, size_t n, GString *o)
{
	size_t i = 0;

	while (i < n) {
		const char *e;

		if (s[i] != '<' || i + 1 >= n ||
		    !(g_ascii_isalpha(s[i + 1]) || s[i + 1] == '/' ||
		      s[i + 1] == '!')) {
			g_string_append_c(o, s[i++]);
			continue;
		}
		if (n - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
			e = g_strstr_len(s + i + 4, (gssize)(n - i - 4), "-->");
			i = e ? (size_t)(e - s) + 3 : n;
		} else {
			e = memchr(s + i, '>', n - i);
			i = e ? (size_t)(e - s) + 1 : n;
		}
	}
}

/* Defanged notation at S[I] ('[', '(' or '{'): [.] (@) [:] [at] (dot). */
static gboolean
at_fang(const char *s, size_t n, size_t i)
{
	const char *q = s + i + 1;
	size_t left = n - i - 1;

	if (left >= 2 && (q[0] == '.' || q[0] == '@' || q[0] == ':'))
		return TRUE;
	if (left >= 3 && g_ascii_strncasecmp(q, "at", 2) == 0 &&
	    (q[2] == ']' || q[2] == ')'))
		return TRUE;
	return left >= 4 && g_ascii_strncasecmp(q, "dot", 3) == 0 &&
	       (q[3] == ']' || q[3] == ')');
}

/* A folded line at S[I] ('\n'): white space next, address characters
 * on both sides. */
static gboolean
at_fold(const char *s, size_t n, size_t i)
{
	size_t b = i > 0 && s[i - 1] == '\r' ? i - 1 : i;

	return i + 2 < n && (s[i + 1] == ' ' || s[i + 1] == '\t') &&
	       addr_byte((unsigned char)s[i + 2]) && b > 0 &&
	       addr_byte((unsigned char)s[b - 1]);
}

/* A script or style escape at S[I] ('\\'). */
static gboolean
at_escape(const char *s, size_t n, size_t i)
{
	return i + 1 < n && (s[i + 1] == 'x' || s[i + 1] == 'u' ||
			     g_ascii_isxdigit(s[i + 1]));
}

/* A character view_fold() reads at S[I], a UTF-8 lead byte: U+FF01-FF5E,
 * U+FF61, U+FEFF, U+200B-200F, U+2060-2064, U+00AD, and U+3002 after an
 * ASCII letter or digit. */
static gboolean
at_wide(const char *s, size_t n, size_t i)
{
	const unsigned char *u = (const unsigned char *)s + i;

	if (i + 1 >= n)
		return FALSE;
	if (u[0] == 0xc2)
		return u[1] == 0xad;
	if (i + 2 >= n)
		return FALSE;
	switch (u[0]) {
	case 0xef:
		return (u[1] == 0xbc && u[2] >= 0x81) ||
		       (u[1] == 0xbd && (u[2] <= 0x9e || u[2] == 0xa1)) ||
		       (u[1] == 0xbb && u[2] == 0xbf);
	case 0xe2:
		return (u[1] == 0x80 && u[2] >= 0x8b && u[2] <= 0x8f) ||
		       (u[1] == 0x81 && u[2] >= 0xa0 && u[2] <= 0xa4);
	case 0xe3:
		return u[1] == 0x80 && u[2] == 0x82 && i > 0 &&
		       g_ascii_isalnum(s[i - 1]);
	default:
		return FALSE;
	}
}

/* A line break, CR or tab inside the quoted value of an href or src
 * starting at S[I] ('='). */
static gboolean
at_broken_link(const char *s, size_t n, size_t i)
{
	char q = i + 1 < n ? s[i + 1] : 0;
	const char *e;

	if ((q != '"' && q != '\'') ||
	    !((i >= 4 && g_ascii_strncasecmp(s + i - 4, "href", 4) == 0) ||
	      (i >= 3 && g_ascii_strncasecmp(s + i - 3, "src", 3) == 0)))
		return FALSE;
	e = memchr(s + i + 2, q, n - i - 2);
	for (const char *p = s + i + 2; p < (e ? e : s + n); p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			return TRUE;
	return FALSE;
}

/* The bytes fold_reads() stops at. */
static const guint8 view_stop[256] = {
	['\\'] = 1, ['['] = 1, ['('] = 1, ['{'] = 1, ['\n'] = 1, ['='] = 1,
	['x'] = 1, ['X'] = 1, [0xc2] = 1, [0xe2] = 1, [0xe3] = 1, [0xef] = 1,
};

/* Whether S has anything view_fold() reads differently (*esc: an
 * escape view_unescape() reads).  One pass, four bytes a step where
 * none of them can start one. */
static gboolean
fold_reads(const char *s, size_t n, gboolean *esc)
{
	const unsigned char *u = (const unsigned char *)s;
	const guint8 *f = view_stop;
	gboolean any = FALSE;
	size_t i = 0;

	*esc = FALSE;
	while (i < n) {
		while (i + 4 <= n && !(f[u[i]] | f[u[i + 1]] | f[u[i + 2]] |
				       f[u[i + 3]]))
			i += 4;
		while (i < n && !f[u[i]])
			i++;
		if (i >= n)
			break;
		switch (u[i]) {
		case '\\':
			any = *esc = at_escape(s, n, i);
			break;
		case '[': case '(': case '{':
			any |= at_fang(s, n, i);
			break;
		case '\n':
			any |= at_fold(s, n, i);
			break;
		case '=':
			any |= at_broken_link(s, n, i);
			break;
		case 'x': case 'X':
			any |= i > 0 && i + 2 < n && (s[i - 1] == 'h' ||
				s[i - 1] == 'H') && (s[i + 1] == 'x' ||
				s[i + 1] == 'X') && (s[i + 2] == 'p' ||
				s[i + 2] == 'P');
			break;
		default:
			any |= at_wide(s, n, i);
			break;
		}
		if (any)
			break;
		i++;
	}
	if (any && !*esc)
		for (const char *p = s; (p = memchr(p, '\\',
		     n - (size_t)(p - s))) != NULL && !*esc; p++)
			*esc = at_escape(s, n, (size_t)(p - s));
	return any;
}

/* Whether S has a tag or comment between two address characters
 * (ta</span>ro), which only view_unmark() joins. */
static gboolean
unmark_joins(const char *s, size_t n)
{
	const char *p = s, *e = s + n;

	while ((p = memchr(p, '<', (size_t)(e - p))) != NULL) {
		const char *gt = memchr(p, '>', (size_t)(e - p));

		if (!gt)
			break;
		if (p > s && addr_byte((unsigned char)p[-1]) && gt + 1 < e &&
		    (addr_byte((unsigned char)gt[1]) || gt[1] == '<'))
			return TRUE;
		p = gt + 1;
	}
	return FALSE;
}

/* Whether a reader's view of S (see above) holds an identity the bytes
 * themselves did not show. */
static gboolean
check_views(anon *a, const char *s, size_t n)
{
	gboolean esc = FALSE, fold = fold_reads(s, n, &esc);
	gboolean mark = memchr(s, '<', n) && unmark_joins(s, n);
	GString *u = NULL, *f = NULL, *m = NULL;
	const char *v = s;
	size_t vn = n;
	gboolean hit = FALSE;

	if (!fold && !mark)
		return FALSE;
	if (esc) {
		u = g_string_sized_new(n);
		view_unescape(s, n, u);
		v = u->str;
		vn = u->len;
	}
	if (fold) {
		f = g_string_sized_new(vn);
		view_fold(v, vn, f);
		v = f->str;
		vn = f->len;
		hit = pass_literal(a, v, vn, NULL) ||
		      (a->nets->len && scan_ips(a, v, vn, FALSE));
	}
	if (!hit && mark) {
		m = g_string_sized_new(vn);
		view_unmark(v, vn, m);
		hit = pass_literal(a, m->str, m->len, NULL) ||
		      (a->nets->len && scan_ips(a, m->str, m->len, FALSE));
	}
	if (u)
		g_string_free(u, TRUE);
	if (f)
		g_string_free(f, TRUE);
	if (m)
		g_string_free(m, TRUE);
	return hit;
}

/* ---- the engine ------------------------------------------------------- */

/* Whether bytes decoded from a percent or base64 run that are not UTF-8
 * hold a name in Shift_JIS or EUC-JP (a link's ?n=%8ER%93c... carries the
 * recipient's name as the provider's web form encoded it).  The rewrite
 * works on UTF-8 only; the check refuses such a message. */
static gboolean
legacy_holds(anon *a, const char *s, size_t n)
{
	static const char *const cs[] = { "CP932", "EUC-JP-MS" };
	gboolean hit = FALSE;

	if (!has_high(s, n) || g_utf8_validate(s, (gssize)n, NULL))
		return FALSE;
	for (size_t i = 0; i < G_N_ELEMENTS(cs) && !hit; i++) {
		GString *g = g_string_sized_new(n * 2);

		conv_lossy(s, n, cs[i], g);
		hit = pass_literal(a, g->str, g->len, NULL);
		g_string_free(g, TRUE);
	}
	return hit;
}

static gboolean check_search(anon *a, const char *s, size_t n, int depth);

/* Whether a uuencoded file in the text S ("begin 644 name" ... "end",
 * what old mailers and some forwarding scripts still write) holds an
 * identity: decoded, searched as text one codec deep and for UTF-16.  A
 * reader's tools decode it; the rewrite does not, so the check refuses. */
static gboolean
uu_holds(anon *a, const char *s, size_t n)
{
	const char *p = s, *e = s + n;
	gboolean hit = FALSE;

	while (!hit && (p = memmem(p, (size_t)(e - p), "begin ", 6)) != NULL) {
		const char *l = memchr(p, '\n', (size_t)(e - p));
		GByteArray *out;

		if ((p > s && p[-1] != '\n') || (size_t)(e - p) < 10 ||
		    !(p[6] >= '0' && p[6] <= '7' && p[7] >= '0' && p[7] <= '7' &&
		      p[8] >= '0' && p[8] <= '7') || !l) {
			p += 6;
			continue;
		}
		out = g_byte_array_new();
		for (l++; l < e;) {
			const char *eol = memchr(l, '\n', (size_t)(e - l));
			const char *le = eol ? eol : e;
			int len = (l[0] - 32) & 63;
			guint8 q[3];

			if (le - l >= 3 && memcmp(l, "end", 3) == 0)
				break;
			for (const char *c = l + 1; len > 0 && c + 3 < le + 1;
			     c += 4) {
				int v[4];

				for (int k = 0; k < 4; k++)
					v[k] = c + k < le ? (c[k] - 32) & 63 : 0;
				q[0] = (guint8)(v[0] << 2 | v[1] >> 4);
				q[1] = (guint8)(v[1] << 4 | v[2] >> 2);
				q[2] = (guint8)(v[2] << 6 | v[3]);
				g_byte_array_append(out, q, len < 3 ? len : 3);
				len -= 3;
			}
			l = eol ? eol + 1 : e;
		}
		if (out->len) {
			push_via(a, "uuencoded");
			hit = check_search(a, (const char *)out->data, out->len,
					   1) || utf16_holds(a, out->data,
							     out->len);
			pop_via(a);
		}
		g_byte_array_free(out, TRUE);
		p = l;
	}
	return hit;
}

/* The check's search of S, DEPTH codecs deep: TRUE when an identity is
 * in it. */
static gboolean
check_search(anon *a, const char *s, size_t n, int depth)
{
	size_t at = 0, b, e;

	/* A gateway link the discovery could not replace. */
	if (next_gateway(s, n, &at, &b, &e)) {
		note_leak(a, K_GATEWAY);
		return TRUE;
	}
	if (pass_literal(a, s, n, NULL) ||
	    (a->nets->len && scan_ips(a, s, n, FALSE)))
		return TRUE;
	if (depth == 0 && !a->raw && check_views(a, s, n))
		return TRUE;
	if (depth > 0 && !a->raw && legacy_holds(a, s, n))
		return TRUE;
	if (depth == 0 && !a->raw && uu_holds(a, s, n))
		return TRUE;
	return depth < MAX_CODEC_DEPTH &&
	       (pass_percent(a, s, n, depth, NULL) ||
		pass_entity(a, s, n, depth, NULL) ||
		pass_b64(a, s, n, depth, NULL));
}

/* Why a CR before an LF may be left out of what the check's search reads
 * (search_key()), and why the raw value of a plain header need not be
 * searched besides its text (plain_raw_same()), while no pattern holds a
 * CR or an LF or starts or ends with ASCII white space (!a->pat_ws):
 *
 * - no match of a pattern spans a CR or an LF, and none starts just after
 *   an LF that is followed by a space or a tab;
 * - every test the search makes of the bytes around a match or a token
 *   (is_word(), letters and digits, '-', '.', ':', the '@' and '/' of
 *   R_DOMAIN1, the address characters before an '@') answers the same for
 *   CR, LF, space, tab, VT, FF and the end of the string: none of them is
 *   any of those;
 * - the percent, entity and base64 runs end at each of those bytes too
 *   (pct_delim() and ent_delim() take every byte up to ' ', b64_char()
 *   none of them), so the runs, and what they decode to, are the same;
 *   an IP address is a run of hex digits, ':' and '.', also ended by them.
 *
 * So removing such bytes where what stays next to them is again one of
 * them or an end changes no match, no boundary and no run. */

/* The key of the check's memo for S (N bytes): the pattern count (they are
 * only ever added, so it names the set), the no_addr and raw flags, and
 * the bytes, without each CR that an LF follows when !a->pat_ws (the
 * pattern set decides that, so one count never mixes the two kinds of
 * key).  A CR before an LF is next to an LF, so by the argument above the
 * search answers the same with it or without it; a mail with CRLF line
 * ends, whose parts GMime writes back with LF, then finds in the check the
 * answers the rewrite left for the same text. */
static GBytes *
search_key(const anon *a, const char *s, size_t n)
{
	guint32 np = a->pats->len;
	guint8 flags[3] = { a->no_addr ? 1 : 0, a->raw ? 1 : 0,
			    a->pat_ws ? 0 : 1 };
	GByteArray *k = g_byte_array_sized_new((guint)(n + 7));
	const char *p = s, *end = s + n, *cr;

	g_byte_array_append(k, (const guint8 *)&np, sizeof np);
	g_byte_array_append(k, flags, sizeof flags);
	while (flags[2] && p < end &&
	       (cr = memchr(p, '\r', (size_t)(end - p))) != NULL) {
		gboolean drop = cr + 1 < end && cr[1] == '\n';

		g_byte_array_append(k, (const guint8 *)p,
				    (guint)(cr - p + (drop ? 0 : 1)));
		p = cr + 1;
	}
	g_byte_array_append(k, (const guint8 *)p, (guint)(end - p));
	return g_byte_array_free_to_bytes(k);
}

/* check_search() of a whole string, remembered when it finds nothing.
 * Its answer is a function of the bytes, of the patterns, of the domains
 * and networks (fixed by the policy) and of the no_addr and raw flags,
 * all in the key (search_key()), so an entry answers only the same
 * question.  A hit is not kept: it ends the check, and says where.
 *
 * The rewrite asks here first (needs_rewrite()), and the check of the
 * result then finds every string the rewrite left as it was. */
static gboolean
check_top(anon *a, const char *s, size_t n)
{
	guint32 np = a->pats->len;
	GBytes *key;
	gboolean hit;

	if (n < MEMO_MIN)
		return check_search(a, s, n, 0);
	key = search_key(a, s, n);
	if (g_hash_table_contains(a->clean, key)) {
		g_bytes_unref(key);
		return FALSE;
	}
	hit = check_search(a, s, n, 0);
	/* The search adds no pattern (only the rewrite does); if one ever
	 * did, the answer would be for another set. */
	if (!hit && a->pats->len == np)
		g_hash_table_add(a->clean, key);
	else
		g_bytes_unref(key);
	return hit;
}

/* REWRITE: does S (a whole string) need rewriting at all?  A string the
 * check's search finds nothing in, the rewrite leaves as it is: each
 * replacement it makes is at a place where that search stops (the same
 * patterns and boundaries, the same '@' rule, the same percent, entity
 * and base64 runs decoded the same way), and the search looks for more
 * (internal IPs).  So the rewrite runs only where the search found
 * something, and the check of the result, reading an untouched string
 * again, takes its answer from check_top(). */
static gboolean
needs_rewrite(anon *a, const char *s, size_t n)
{
	gboolean hit;

	a->mode = M_CHECK;
	hit = check_top(a, s, n);
	a->mode = M_REWRITE;
	if (hit) {
		a->leak_kind = -1;
		g_clear_pointer(&a->leak_where, g_free);
	}
	return hit;
}

/* One string in the current mode.  DISCOVER collects identities; CHECK
 * returns TRUE when an identity is found; REWRITE appends the rewritten
 * string to OUT and returns TRUE when it differs.  Percent, entity and
 * base64 runs are decoded and handed back here, DEPTH levels deep. */
static gboolean
engine(anon *a, const char *s, size_t n, int depth, GString *out)
{
	GString *t1, *t2, *t3;
	gboolean hit = FALSE;

	if (a->mode == M_DISCOVER) {
		scan_gateways(a, s, n);
		if (depth == 0 && (memchr(s, ':', n) || memchr(s, 0xef, n)))
			scan_name_lines(a, s, n);
		/* Inside a string, discovery otherwise only looks for names
		 * at the provider's domains and addresses in its networks
		 * (scan_tokens()): without a policy there is nothing more
		 * to find in it or in what it encodes. */
		if (!a->domains->len && !a->nets->len)
			return FALSE;
		scan_tokens(a, s, n);
		if (depth < MAX_CODEC_DEPTH) {
			pass_percent(a, s, n, depth, NULL);
			pass_entity(a, s, n, depth, NULL);
			pass_b64(a, s, n, depth, NULL);
		}
		return FALSE;
	}
	if (a->mode == M_CHECK)
		return depth == 0 ? check_top(a, s, n) :
				    check_search(a, s, n, depth);
	if (depth >= MAX_CODEC_DEPTH)
		return pass_literal(a, s, n, out);
	t1 = g_string_sized_new(n + 16);
	t2 = g_string_sized_new(n + 16);
	t3 = g_string_sized_new(n + 16);
	hit |= pass_literal(a, s, n, t1);
	hit |= pass_percent(a, t1->str, t1->len, depth, t2);
	hit |= pass_entity(a, t2->str, t2->len, depth, t3);
	hit |= pass_b64(a, t3->str, t3->len, depth, out);
	g_string_free(t1, TRUE);
	g_string_free(t2, TRUE);
	g_string_free(t3, TRUE);
	return hit;
}

/* ---- the whole message ------------------------------------------------ */

static gpointer
init_gmime(gpointer unused)
{
	(void)unused;
	g_mime_init();
	return NULL;
}

static void
anon_init(anon *a)
{
	static const char *fallback[] = { "UTF-8", "CP932", "EUC-JP", NULL };

	memset(a, 0, sizeof *a);
	a->domains = g_ptr_array_new_with_free_func(g_free);
	a->nets = g_array_new(FALSE, TRUE, sizeof(net));
	a->idents = g_ptr_array_new_with_free_func(ident_free);
	a->by_key = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					  NULL);
	a->recips = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					  NULL);
	a->lits = g_hash_table_new(g_str_hash, g_str_equal);
	a->pats = g_ptr_array_new_with_free_func(pat_free);
	a->via = g_string_new(NULL);
	a->decoded = g_hash_table_new_full(raw_hash, g_str_equal, g_free,
					   g_free);
	a->received = g_hash_table_new_full(raw_hash, g_str_equal, g_free,
					    NULL);
	a->texts = g_hash_table_new_full(memo_hash, g_bytes_equal,
		(GDestroyNotify)g_bytes_unref, memo_text_free);
	a->views = g_hash_table_new_full(NULL, NULL, NULL, view_free);
	a->clean = g_hash_table_new_full(memo_hash, g_bytes_equal,
		(GDestroyNotify)g_bytes_unref, NULL);
	a->popts = g_mime_parser_options_new();
	g_mime_parser_options_set_fallback_charsets(a->popts, fallback);
	a->leak_kind = -1;
	a->dirty = TRUE;  /* index_build() also sets the '@' rule */
}

static void
anon_clear(anon *a)
{
	for (int i = 0; i < 256; i++)
		if (a->bucket[i])
			g_ptr_array_free(a->bucket[i], TRUE);
	g_hash_table_destroy(a->lits);
	g_ptr_array_free(a->pats, TRUE);
	g_hash_table_destroy(a->by_key);
	g_hash_table_destroy(a->recips);
	g_ptr_array_free(a->idents, TRUE);
	g_ptr_array_free(a->domains, TRUE);
	g_array_free(a->nets, TRUE);
	g_string_free(a->via, TRUE);
	g_hash_table_destroy(a->decoded);
	g_hash_table_destroy(a->received);
	g_hash_table_destroy(a->texts);
	g_hash_table_destroy(a->views);
	g_hash_table_destroy(a->clean);
	g_mime_parser_options_free(a->popts);
	g_free(a->where);
	g_free(a->leak_where);
	arch_free(a->arch);
}

/* A provider domain with an internationalised label (given in punycode,
 * xn--) is also written in Unicode, in links and text (例え.jp): that form
 * is a pattern of the same identity. */
static void
add_unicode_form(anon *a, const char *domain, ident *id)
{
	char *u = NULL;

	if (!strstr(domain, "xn--") ||
	    idn2_to_unicode_8z8z(domain, &u, 0) != IDN2_OK || !u)
		goto out;
	if (strcmp(u, domain) != 0)
		add_pattern(a, u, REDACTED, strchr(u, '.') ? R_NONE :
			    R_DOMAIN1, id);
out:
	idn2_free(u);
}

static int
load_policy(anon *a, const csip_anon_policy *pol)
{
	for (char **d = pol ? pol->domains : NULL; d && *d; d++) {
		char *s = g_ascii_strdown(*d, -1);
		size_t n = strlen(s);
		gboolean fresh, ok = n > 0;
		ident *id;

		while (n && s[n - 1] == '.')
			s[--n] = '\0';
		for (size_t i = 0; i < n; i++)
			if (!g_ascii_isalnum(s[i]) && s[i] != '.' &&
			    s[i] != '-')
				ok = FALSE;
		if (!ok || n < 2 || s[0] == '.' || is_placeholder_host(s, n)) {
			int rc = csip_error_set(CSIP_EINVAL, "provider domain "
				"\"%s\" is not a canonical host name; give it "
				"in lower case, punycode, without a trailing "
				"dot (e.g. \"victim.example.jp\")", *d);

			g_free(s);
			return rc;
		}
		id = ident_get(a, K_DOMAIN, s, REDACTED, &fresh);
		add_pattern(a, s, REDACTED, strchr(s, '.') ? R_NONE : R_DOMAIN1,
			    id);
		add_unicode_form(a, s, id);
		g_ptr_array_add(a->domains, s);
	}
	for (char **c = pol ? pol->networks : NULL; c && *c; c++) {
		net nt;

		if (!net_parse(*c, &nt))
			return csip_error_set(CSIP_EINVAL, "provider network "
				"\"%s\" is not an address or a CIDR network "
				"(e.g. \"10.20.0.0/16\" or \"2001:db8::/32\")",
				*c);
		g_array_append_val(a->nets, nt);
		if (nt.family == AF_INET6)
			a->nets6 = TRUE;
	}
	return CSIP_OK;
}

/* What json_pack("{s:s, s:s, s:s?, s:o}", "kind", KIND, "value", VALUE,
 * "placeholder", PH, "where", WHERE) makes, without parsing the format
 * for every entry: NULL when KIND or VALUE is NULL or any string is not
 * UTF-8 (the entry is then left out, as appending NULL did), a JSON null
 * for a NULL PH; WHERE is taken over either way. */
static json_t *
removed_entry(const char *kind, const char *value, const char *ph,
	      json_t *where)
{
	json_t *k = kind ? json_string(kind) : NULL;
	json_t *v = value ? json_string(value) : NULL;
	json_t *p = ph ? json_string(ph) : json_null();
	json_t *o;

	if (!k || !v || !p || !where) {
		json_decref(k);
		json_decref(v);
		json_decref(p);
		json_decref(where);
		return NULL;
	}
	o = json_object();
	json_object_set_new(o, "kind", k);
	json_object_set_new(o, "value", v);
	json_object_set_new(o, "placeholder", p);
	json_object_set_new(o, "where", where);
	return o;
}

static json_t *
removed_json(const anon *a)
{
	json_t *arr = json_array();

	for (guint i = 0; i < a->idents->len; i++) {
		const ident *id = a->idents->pdata[i];
		json_t *where;

		if (id->where->len == 0)
			continue;
		where = json_array();
		for (guint k = 0; k < id->where->len; k++) {
			char *w = g_utf8_make_valid(id->where->pdata[k], -1);

			/* Valid for GLib is valid for jansson (see jstr()
			 * in mail.c). */
			json_array_append_new(where, json_string_nocheck(w));
			g_free(w);
		}
		json_array_append_new(arr, removed_entry(kind_names[id->kind],
			id->value, id->placeholder, where));
	}
	return arr;
}

/* A location for an error message, with any identity in it (a header
 * name can carry one) replaced. */
static char *
scrub(anon *a, const char *s)
{
	int mode = a->mode;
	GString *o = g_string_new(NULL);

	a->mode = M_REWRITE;
	a->quiet = TRUE;
	engine(a, s, strlen(s), 0, o);
	a->quiet = FALSE;
	a->mode = mode;
	return g_string_free(o, FALSE);
}

static int
fail_closed(anon *a)
{
	char *where = scrub(a, a->leak_where ? a->leak_where : "the message");
	int rc = csip_error_set(CSIP_ERR, "anonymisation incomplete: a %s "
		"is still in %s of the result; the message must not be "
		"shared (the hub keeps the original for its analysts)",
		a->leak_kind >= 0 ? kind_names[a->leak_kind] : "identity",
		where);

	g_free(where);
	return rc;
}

/* Fail closed: the raw result, and the result parsed again, must not hold
 * any identity. */
static int
final_check(anon *a, const char *buf, size_t len)
{
	GMimeMessage *m;
	int rc;

	a->mode = M_CHECK;
	set_where(a, g_strdup("the raw message"));
	a->raw = TRUE;
	if (pass_literal(a, buf, len, NULL)) {
		a->raw = FALSE;
		return fail_closed(a);
	}
	a->raw = FALSE;
	if (!(m = parse_bytes(a, buf, len))) {
		a->leak_kind = -1;
		set_where(a, NULL);
		return csip_error_set(CSIP_ERR, "anonymisation incomplete: "
			"the result does not parse as a mail again; the "
			"message must not be shared");
	}
	a->checked = GMIME_OBJECT(m);
	rc = walk(a, GMIME_OBJECT(m), "", 0);
	a->checked = NULL;
	g_object_unref(m);
	if (rc == CSIP_ERR && a->leak_kind >= 0)
		return fail_closed(a);
	return rc;
}

/* A last, independent safety net: the recipient addresses that a plain
 * reading of the original finds (GMime's own reading of the To, Cc and
 * Bcc fields, and every address-like token on the raw recipient header
 * lines, encoded words and broken charsets included) must not be in the
 * result.  It shares no code with discovery, so a header discovery could
 * not decode cannot let an address through unseen. */
static void
add_lower(GPtrArray *v, const char *s, size_t n)
{
	static const char ph[] = "redacted.invalid";

	/* Placeholders are what a second pass over a result finds. */
	if (n >= sizeof ph - 1 &&
	    g_ascii_strncasecmp(s + n - (sizeof ph - 1), ph, sizeof ph - 1)
	    == 0)
		return;
	/* recipients_survive() looks for each around an '@'. */
	if (n >= 3 && n < 512 && memchr(s, '@', n))
		g_ptr_array_add(v, g_ascii_strdown(s, (gssize)n));
}

/* The mailboxes of GMime's reading of the address list VALUE, with GMime's
 * default parser options, into V. */
static void
recipients_gmime(GPtrArray *v, const char *value)
{
	InternetAddressList *l = internet_address_list_parse(NULL, value);
	int n = l ? internet_address_list_length(l) : 0;

	for (int i = 0; i < n; i++) {
		InternetAddress *ia = internet_address_list_get_address(l, i);
		const char *ad;

		if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
			continue;
		ad = internet_address_mailbox_get_addr(
			INTERNET_ADDRESS_MAILBOX(ia));
		if (ad && strchr(ad, '@'))
			add_lower(v, ad, strlen(ad));
	}
	if (l)
		g_object_unref(l);
}

/* The recipient addresses of the original (DATA, LEN bytes, and ORIG, its
 * tree as parse_bytes() made it, before any walk), lower case, for
 * recipients_survive().  A new array.
 *
 * GMime's reading: what g_mime_message_get_addresses() gives for To, Cc
 * and Bcc on a message GMime parses from these bytes with its default
 * options, which is, by GMime's message_update_addresses(), the list that
 * internet_address_list_parse() makes of the raw value of each top-level
 * header of that name (compared without case), joined in order.  Those
 * headers and their raw values are ORIG's: its own parse of the same bytes
 * (the parser's options do not take part in splitting the header block),
 * read before the rewrite changes the tree in place, so a rewrite that
 * lost an address cannot have lost it from here.  The check used to parse
 * the header block a second time for this (6% of the anonymiser); the
 * values are read here and handed to the same address parser with the
 * same (default) options, so the same addresses come out. */
static GPtrArray *
recipients_read(GMimeMessage *orig, const char *data, size_t len)
{
	static const char *const hdrs[] = { "to", "cc", "bcc", "delivered-to",
		"x-original-to", "envelope-to", "x-envelope-to", NULL };
	GPtrArray *v = g_ptr_array_new_with_free_func(g_free);
	GMimeHeaderList *hl = g_mime_object_get_header_list(
		GMIME_OBJECT(orig));
	int count = hl ? g_mime_header_list_get_count(hl) : 0;
	const char *q = data, *end = data + len;
	gboolean in_rcpt = FALSE;

	for (int i = 0; i < count; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		const char *name = g_mime_header_get_name(h);
		const char *raw = g_mime_header_get_raw_value(h);

		if (name && raw && (g_ascii_strcasecmp(name, "To") == 0 ||
				    g_ascii_strcasecmp(name, "Cc") == 0 ||
				    g_ascii_strcasecmp(name, "Bcc") == 0))
			recipients_gmime(v, raw);
	}

	/* The raw header block, line by line (continuations belong to the
	 * field above them). */
	while (q < end) {
		const char *nl = memchr(q, '\n', (size_t)(end - q));
		const char *le = nl ? nl : end;

		if (le == q || (le == q + 1 && *q == '\r'))
			break;
		if (*q != ' ' && *q != '\t') {
			const char *colon = memchr(q, ':', (size_t)(le - q));

			in_rcpt = FALSE;
			for (size_t i = 0; colon && hdrs[i]; i++)
				if ((size_t)(colon - q) == strlen(hdrs[i]) &&
				    g_ascii_strncasecmp(q, hdrs[i],
							strlen(hdrs[i])) == 0)
					in_rcpt = TRUE;
		}
		for (const char *at = q; in_rcpt && at < le &&
		     (at = memchr(at, '@', (size_t)(le - at))); at++) {
			const char *l = at, *r = at + 1;

			while (l > q && (g_ascii_isalnum(l[-1]) ||
			       strchr(".!#$%&'*+/=?^_`{|}~-", l[-1])))
				l--;
			while (r < le && (g_ascii_isalnum(*r) || *r == '.' ||
					  *r == '-'))
				r++;
			if (l < at && r > at + 1)
				add_lower(v, l, (size_t)(r - l));
		}
		q = nl ? nl + 1 : end;
	}
	return v;
}

/* Whether one of the addresses V (recipients_read()) is in the result RES
 * (RES_LEN bytes, NUL bytes included), compared without ASCII case: an
 * address A is at P when lc(RES[P + j]) == A[j] for all its bytes (A is
 * in lower case).  Every address holds an '@' (add_lower() is only given
 * such), and lc() maps only 'A' to 'Z', so where A's first '@' is at K,
 * every place it is found has an '@' at P + K: the places tried are those
 * of the '@'s of RES (memchr()), not every byte, and RES is not copied. */
static gboolean
recipients_survive(const GPtrArray *v, const char *res, size_t res_len)
{
	const char *end = res + res_len;
	size_t *len = g_new(size_t, 2 * v->len + 1), *at = len + v->len;
	gboolean found = FALSE;

	for (guint i = 0; i < v->len; i++) {
		const char *x = v->pdata[i];

		len[i] = strlen(x);
		at[i] = (size_t)(strchr(x, '@') - x);
	}
	for (const char *q = res; v->len && !found && q < end &&
	     (q = memchr(q, '@', (size_t)(end - q))); q++)
		for (guint i = 0; i < v->len && !found; i++) {
			const char *x = v->pdata[i], *p;
			size_t j = 0;

			if ((size_t)(q - res) < at[i] ||
			    len[i] - at[i] > (size_t)(end - q))
				continue;
			p = q - at[i];
			while (j < len[i] && lc((unsigned char)p[j]) ==
					     (unsigned char)x[j])
				j++;
			found = j == len[i];
		}
	g_free(len);
	return found;
}

/* What do_headers() takes in the check: the text where reading_is_text(),
 * else gmime_reading(). */
char *
csip_anon_known_reading(const char *raw)
{
	size_t n;

	if (!raw)
		return NULL;
	if (reading_is_text(raw))
		return g_strstrip(unbreak(raw, strlen(raw), &n));
	return gmime_reading(raw);
}

int
csip_anon_message(const char *data, size_t len, const csip_anon_policy *pol,
		  char **out, size_t *out_len, json_t **removed)
{
	static GOnce once = G_ONCE_INIT;
	anon a;
	GMimeMessage *msg = NULL;
	GByteArray *ba = NULL;
	GPtrArray *rcpts = NULL;
	int rc;

	if (!out || !out_len || !removed)
		return csip_error_set(CSIP_EINVAL, "csip_anon_message: out, "
			"out_len and removed must not be NULL");
	*out = NULL;
	*out_len = 0;
	*removed = NULL;
	if (!data && len)
		return csip_error_set(CSIP_EINVAL, "csip_anon_message: no "
			"data but a length of %zu", len);
	if (len > CSIP_ANON_MAX_MESSAGE)
		return csip_error_set(CSIP_ETOOBIG, "the message is %zu bytes, "
			"above the anonymiser's limit of %u; report it "
			"without its largest attachments", len,
			CSIP_ANON_MAX_MESSAGE);
	g_once(&once, init_gmime, NULL);
	anon_init(&a);
	if ((rc = load_policy(&a, pol)) < 0)
		goto out;
	if (!(msg = parse_bytes(&a, data ? data : "", len))) {
		rc = csip_error_set(CSIP_EINVAL, "the input is not a mail: "
			"no header fields were found; give one RFC 5322 "
			"message (an .eml file)");
		goto out;
	}
	rcpts = recipients_read(msg, data ? data : "", len);

	a.mode = M_DISCOVER;
	if ((rc = walk(&a, GMIME_OBJECT(msg), "", 0)) < 0)
		goto out;
	a.mode = M_REWRITE;
	if ((rc = walk(&a, GMIME_OBJECT(msg), "", 0)) < 0)
		goto out;
	g_hash_table_remove_all(a.views);

	if (!(ba = object_bytes(GMIME_OBJECT(msg)))) {
		rc = csip_error_set(CSIP_ERR, "anonymisation failed: the "
			"rewritten message could not be written");
		goto out;
	}
	if ((rc = final_check(&a, (const char *)ba->data, ba->len)) < 0)
		goto out;
	if (recipients_survive(rcpts, (const char *)ba->data, ba->len)) {
		rc = csip_error_set(CSIP_ERR, "anonymisation incomplete: a "
			"recipient address of the original is still in the "
			"result; the report is kept for the hub but cannot be "
			"shared");
		goto out;
	}

	*removed = removed_json(&a);
	*out_len = ba->len;
	g_byte_array_append(ba, (const guint8 *)"", 1);
	*out = (char *)g_byte_array_free(ba, FALSE);
	ba = NULL;
	rc = CSIP_OK;
out:
	if (ba)
		g_byte_array_unref(ba);
	if (msg)
		g_object_unref(msg);
	if (rcpts)
		g_ptr_array_free(rcpts, TRUE);
	anon_clear(&a);
	return rc;
}
