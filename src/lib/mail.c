/*
 * mail.c - parse a reported mail and extract its indicators (see mail.h).
 *
 * The work goes in four steps.
 *
 * 1. GMime parses the bytes into a tree.  Its parser is tolerant and its
 *    nesting is bounded (GMIME_CRIT_NESTING_OVERFLOW), which is what we
 *    need from it; what it reports goes into our warnings.
 *
 * 2. The tree becomes a "view": the top-level headers as raw bytes, the
 *    bodies decoded to UTF-8 (HTML scanned for links and visible text),
 *    the attachments, and the attached messages.  Decoding is ours
 *    (mail_charset.c), because the Debian GMime loses data on Japanese
 *    charsets, adjacent encoded words and chunked base64.  The walk is our
 *    own recursion rather than g_mime_message_foreach, which does not
 *    descend into attached messages, so depth and part counts are ours.
 *
 * 3. Forwards are unwrapped.  A view whose one attachment is a message
 *    (message/rfc822, message/global, text/rfc822-headers), besides
 *    what a client or a bounce adds by itself (signature images, TNEF,
 *    the parts of a multipart/report), is replaced by the view of that
 *    message.  A plain-text body holding a raw header block after a rule
 *    ("------- Returned Message --------": bounces, forwards as text) is
 *    replaced by that message.  A body holding a forward marker and a
 *    block of forward fields ("-----Original Message-----", "転送メッセ
 *    ージ", an Outlook "____" rule, then "差出人:", "件名:") is replaced by
 *    a view of the block, which inherits the outer attachments (Outlook
 *    forwards inline with the original attachments); this last form only
 *    when the subject says it is a forward ("FW:", "Fwd:", "転送"), since
 *    phishing mails carry fake quoted threads.  Up to three levels; the
 *    outermost From is the forwarder.
 *
 * 4. The analysed view yields the JSON and the indicators.  Indicators are
 *    collected into a scratch set and copied into the final one at the
 *    end, when every recipient of every view is known: recipients (To, Cc,
 *    Delivered-To, "for <...>" of Received, the forwarder) and what the
 *    caller names (csip_mail_parse_for: the provider's domains) are the
 *    victims and must never be indicators, so their addresses and domains
 *    are dropped, and a URL, file name or subject that carries one has it
 *    replaced by recipient@redacted.invalid.
 *
 * The originating IP.  Received headers are read from the top (the
 * provider's newest hop) down.  The provider's domains start with the
 * registrable domain of the top "by" host; walking down, a hop belongs to
 * the provider while its client is internal (private, loopback or
 * link-local address, or a local hop without a client: "from localhost",
 * "invoked by uid", LMTP) or its client's name (rDNS or HELO) is in a
 * provider domain, and each such hop adds its "by" domain.  The first hop
 * that is neither is the border: the provider's server received the mail
 * from that client, and border_ip is its address, the one hop nobody
 * outside the provider can forge.  originating_ip is the client IP of the
 * bottom-most external hop at or below the border with a public address:
 * where the mail entered the Internet.  Hops below the border are written
 * by the sending side and can be forged; analysts who need certainty use
 * border_ip.  Only sender-side hops (the border and below) give
 * indicators; the provider's relays would otherwise name the victim.
 */
#include "lib/mail.h"
#include "lib/indicator.h"
#include "lib/mail_archive.h"
#include "lib/mail_charset.h"
#include "util/error.h"

#include <fuzzy.h>
#include <glib.h>
#include <gmime/gmime.h>
#include <magic.h>
#include <string.h>

#define MAX_WARNINGS 100
#define MAX_GMIME_WARNINGS 20
#define MAX_BODY_JSON (64u * 1024)      /* body text kept in the JSON */
#define MAX_LINKS 2000                  /* hrefs or srcs per body */
#define MAX_SCRIPT (1024u * 1024)
#define MAX_RECEIVED 100
#define MAX_ADDRESSES 500
#define MAX_UNWRAP 3
#define MAX_SCAN (8u * 1024 * 1024)     /* attachment text scanned */
#define MAX_INLINE_SCAN (2u * 1024 * 1024)
#define MAX_PASSWORDS 64
#define MAX_BLOCK_LINES 200             /* lines of a quoted header block */
#define MAX_VICTIMS 256
#define MAX_PASSWORD_TRIES 512          /* archive opens per mail */
#define MAX_FORWARD_NOTE (16u * 1024)   /* forwarder's note before a marker */
#define SSDEEP_MIN 4096                 /* below this ssdeep is noise */
#define REDACTED "recipient@redacted.invalid"

struct csip_mail {
	json_t *json;
	csip_extract_set *set;
	char *subject;
	char *from;
	char *forwarder;
	char *message_id;
	GPtrArray *sha256;     /* char * */
	GPtrArray *warnings;   /* char * */
};

/* One parse. */
typedef struct ctx {
	csip_mail_limits lim;
	csip_mail *m;
	GMimeParserOptions *opts;
	csip_extract_set *raw;       /* indicators before the victim filter */
	GHashTable *parsed;          /* parsed()'s answers */
	GHashTable *victims;         /* lower-cased recipient addresses */
	GHashTable *victim_hosts;    /* their domains */
	char **provider;             /* the provider's mail domains */
	char **passwords;            /* candidates from the bodies */
	csip_mail_archive_budget budget;
	unsigned parts;
	unsigned gmime_warnings;
	unsigned dropped_warnings;
	int parts_warned;
	int depth_warned;
	int victims_warned;
} ctx;

typedef struct hlink {
	size_t off;    /* offset in the visible text where it appeared */
	char *url;
} hlink;

typedef struct body {
	int html;
	char *charset;         /* declared */
	const char *decoder;   /* static */
	size_t size;           /* decoded bytes */
	char *text;            /* UTF-8: the text, or HTML's visible text */
	GPtrArray *hrefs;      /* hlink * */
	GPtrArray *srcs;
	GString *script;
	GString *hidden;       /* comments, markup inside a <style> */
} body;

typedef struct hdr {
	char *name;    /* lower-case */
	char *raw;     /* raw value, folded, maybe 8-bit */
} hdr;

typedef struct view {
	GPtrArray *hdrs;         /* hdr *, in order */
	GPtrArray *bodies;       /* body * */
	GPtrArray *attachments;  /* GMimeObject * (a ref each) */
	GPtrArray *messages;     /* GMimeObject *: attached messages */
	unsigned depth;
	int report;              /* the top part is a multipart/report */
} view;

/* ---- small helpers ----------------------------------------------- */

static void
warn(ctx *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void
warn(ctx *c, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (c->m->warnings->len >= MAX_WARNINGS) {
		c->dropped_warnings++;
		return;
	}
	va_start(ap, fmt);
	s = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (!g_utf8_validate(s, -1, NULL)) {
		char *v = g_utf8_make_valid(s, -1);

		g_free(s);
		s = v;
	}
	g_ptr_array_add(c->m->warnings, s);
}

/* A JSON string of S, made valid UTF-8 first.  jansson accepts exactly
 * the UTF-8 GLib does (every scalar value and every malformed form was
 * tried against both), so a string found valid here is not checked by
 * json_string() again. */
static json_t *
jstr(const char *s)
{
	json_t *j;
	char *v;

	if (s == NULL)
		return json_null();
	if (csip_mail_charset_utf8_valid(s, strlen(s), NULL))
		return json_string_nocheck(s);
	v = g_utf8_make_valid(s, -1);
	j = json_string(v);
	g_free(v);
	return j ? j : json_null();
}

static void
jset(json_t *o, const char *k, const char *s)
{
	json_object_set_new(o, k, jstr(s));
}

/* A short, printable, valid form of untrusted text for a warning. */
static char *
shown(const char *s)
{
	char *v = g_utf8_make_valid(s ? s : "", -1);
	GString *g = g_string_new(NULL);
	const char *p = v;

	for (int n = 0; *p && n < 80; n++, p = g_utf8_next_char(p)) {
		gunichar u = g_utf8_get_char(p);

		g_string_append_unichar(g, g_unichar_iscntrl(u) ? ' ' : u);
	}
	if (*p)
		g_string_append(g, "...");
	g_free(v);
	return g_string_free(g, FALSE);
}

static int
has_prefix_ci(const char *s, const char *p)
{
	return g_ascii_strncasecmp(s, p, strlen(p)) == 0;
}

/* Case-insensitive search for ASCII NEEDLE in HAY[0..n).  The folded
 * first byte is compared before the call: a Received line is searched
 * four times at every position. */
static const char *
find_ci(const char *hay, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	char first = k ? g_ascii_tolower(needle[0]) : 0;

	/* Four searches over every Received line: g_ascii_tolower() of each
	 * byte written out, not called. */
	for (size_t i = 0; k && i + k <= n; i++) {
		char ch = hay[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (ch == first && g_ascii_strncasecmp(hay + i, needle, k) == 0)
			return hay + i;
	}
	return NULL;
}

/* ---- process-wide state: GMime, libmagic ------------------------- */

static void
gmime_once(void)
{
	static gsize done;

	if (g_once_init_enter(&done)) {
		g_mime_init();
		g_once_init_leave(&done, 1);
	}
}

/* libmagic handles are not thread-safe and loading the database costs
 * milliseconds, so there is one handle behind a lock. */
static GMutex magic_lock;
static magic_t magic_db;
static int magic_broken;

static char *
detect_type(const unsigned char *data, size_t len)
{
	const char *t = NULL;
	char *r = NULL;

	if (len == 0)
		return g_strdup("application/x-empty");
	g_mutex_lock(&magic_lock);
	if (magic_db == NULL && !magic_broken) {
		magic_db = magic_open(MAGIC_MIME_TYPE |
				      MAGIC_NO_CHECK_COMPRESS);
		if (magic_db && magic_load(magic_db, NULL) != 0) {
			magic_close(magic_db);
			magic_db = NULL;
		}
		magic_broken = magic_db == NULL;
	}
	if (magic_db)
		t = magic_buffer(magic_db, data, len);
	if (t)
		r = g_strdup(t);
	g_mutex_unlock(&magic_lock);
	return r;
}

/* What process_blob() computes of a blob's bytes alone: its digests, its
 * detected type and its fuzzy hash. */
typedef struct facts {
	char *md5, *sha1, *sha256, *detected;
	char ssdeep[FUZZY_MAX_RESULT];
	int has_ssdeep;
} facts;

static void
facts_clear(facts *f)
{
	g_free(f->md5);
	g_free(f->sha1);
	g_free(f->sha256);
	g_free(f->detected);
}

/* The same attachment arrives again and again (a campaign's copies, the
 * logo in every mail of a sender, the empty part): the facts of the blobs
 * seen are kept for the process, keyed by SHA-256 and checked against a
 * copy of the bytes, so an answer is only reused for the very same bytes.
 * libmagic (its database is loaded once), ssdeep and the digests are
 * functions of the bytes.  Bounded: blobs up to FACTS_MAX_BLOB bytes,
 * FACTS_MAX_BYTES in all. */
#define FACTS_MAX_BLOB (1024u * 1024)
#define FACTS_MAX_BYTES (16u * 1024 * 1024)

typedef struct kept_facts {
	GBytes *data;
	facts f;
} kept_facts;

static GMutex facts_lock;
static GHashTable *facts_seen;   /* sha256 -> kept_facts * */
static size_t facts_bytes;

static void
blob_facts(const unsigned char *data, size_t len, facts *f)
{
	kept_facts *k;

	memset(f, 0, sizeof *f);
	f->sha256 = g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, len);
	g_mutex_lock(&facts_lock);
	k = facts_seen ? g_hash_table_lookup(facts_seen, f->sha256) : NULL;
	if (k && g_bytes_get_size(k->data) == len && (len == 0 ||
	    memcmp(g_bytes_get_data(k->data, NULL), data, len) == 0)) {
		f->md5 = g_strdup(k->f.md5);
		f->sha1 = g_strdup(k->f.sha1);
		f->detected = g_strdup(k->f.detected);
		memcpy(f->ssdeep, k->f.ssdeep, sizeof f->ssdeep);
		f->has_ssdeep = k->f.has_ssdeep;
		g_mutex_unlock(&facts_lock);
		return;
	}
	g_mutex_unlock(&facts_lock);
	f->md5 = g_compute_checksum_for_data(G_CHECKSUM_MD5, data, len);
	f->sha1 = g_compute_checksum_for_data(G_CHECKSUM_SHA1, data, len);
	f->detected = detect_type(data, len);
	if (len <= UINT32_MAX && fuzzy_hash_buf(data ? data :
	    (const unsigned char *)"", (uint32_t)len, f->ssdeep) == 0)
		f->has_ssdeep = 1;
	if (len > FACTS_MAX_BLOB)
		return;
	g_mutex_lock(&facts_lock);
	if (facts_seen == NULL)
		facts_seen = g_hash_table_new(g_str_hash, g_str_equal);
	if (facts_bytes + len <= FACTS_MAX_BYTES &&
	    !g_hash_table_contains(facts_seen, f->sha256)) {
		k = g_new0(kept_facts, 1);
		k->data = g_bytes_new(data, len);
		k->f.md5 = g_strdup(f->md5);
		k->f.sha1 = g_strdup(f->sha1);
		k->f.sha256 = g_strdup(f->sha256);
		k->f.detected = g_strdup(f->detected);
		memcpy(k->f.ssdeep, f->ssdeep, sizeof f->ssdeep);
		k->f.has_ssdeep = f->has_ssdeep;
		g_hash_table_insert(facts_seen, k->f.sha256, k);
		facts_bytes += len;
	}
	g_mutex_unlock(&facts_lock);
}

/* ---- indicators -------------------------------------------------- */

/* The memo's value for a value the indicator parser refuses. */
static char refused;

G_STATIC_ASSERT(CSIP_IND__COUNT <= 26);   /* parsed()'s keys */

static void
parsed_free(gpointer p)
{
	if (p != &refused)
		csip_indicator_free(p);
}

/* VALUE parsed as HINT (owned by the parse, NULL when refused).  A mail
 * names the same hosts and addresses again and again (each Received hop
 * gives its "by" host to the next as "from", a host is looked at for its
 * registrable domain, as an address and as an indicator), and the
 * parser's answer depends on the value and the hint alone, so it is
 * remembered for the rest of the parse.  A refusal leaves the last error
 * cleared; csip_mail_parse_for() clears it at the end in any case. */
static const csip_indicator *
parsed(ctx *c, const char *value, csip_ind_type hint)
{
	csip_indicator *ind = NULL;
	gpointer known = NULL;
	size_t n;
	char *key;

	/* The hint as one letter (the types are fewer than 26), a space
	 * and the value: made for every look-up, so not with printf. */
	n = strlen(value);
	key = g_malloc(n + 3);
	key[0] = (char)('a' + (int)hint);
	key[1] = ' ';
	memcpy(key + 2, value, n + 1);
	if (g_hash_table_lookup_extended(c->parsed, key, NULL, &known)) {
		g_free(key);
		if (known == &refused) {
			csip_error_clear();
			return NULL;
		}
		return known;
	}
	if (csip_indicator_try(value, n, hint, &ind) < 0)
		ind = NULL;
	g_hash_table_insert(c->parsed, key, ind ? (gpointer)ind : &refused);
	return ind;
}

/* Add VALUE as an indicator of type HINT (CSIP_IND_UNKNOWN: detect, and
 * keep only network types).  Returns the parsed type or UNKNOWN. */
static csip_ind_type
add_ind(ctx *c, csip_ind_type hint, const char *value, const char *where)
{
	const csip_indicator *ind;

	if (value == NULL || *value == '\0')
		return CSIP_IND_UNKNOWN;
	if ((ind = parsed(c, value, hint)) == NULL)
		return CSIP_IND_UNKNOWN;
	csip_extract_set_add(c->raw, csip_indicator_dup(ind), where);
	return ind->type;
}

static void
add_text(ctx *c, const char *text, size_t len, const char *where)
{
	if (text && len)
		csip_extract_text(c->raw, text, len, where);
}

/* The URLs with a scheme in the LEN bytes of TEXT (see hidden_append),
 * each from its scheme to the first byte that cannot be in a URL. */
static void
hidden_urls(ctx *c, const char *text, size_t len, const char *where)
{
	const char *e = text + len, *p = text;

	while (p < e && (p = g_strstr_len(p, e - p, "://")) != NULL) {
		const char *st = p, *en = p + 3;

		while (st > text && g_ascii_isalpha(st[-1]))
			st--;
		while (en < e && (unsigned char)*en > 0x20 &&
		       !strchr("\"'<>()`", *en))
			en++;
		if (st < p)
			add_text(c, st, (size_t)(en - st), where);
		p = en;
	}
}

/* A host name from a header: kept as whatever the indicator parser calls
 * it (a registrable domain or a host name below one), nothing else. */
static void
add_host(ctx *c, const char *name, const char *where)
{
	const csip_indicator *ind;

	if (name == NULL || strchr(name, '.') == NULL)
		return;
	ind = parsed(c, name, CSIP_IND_UNKNOWN);
	if (ind && (ind->type == CSIP_IND_DOMAIN ||
		    ind->type == CSIP_IND_HOSTNAME))
		csip_extract_set_add(c->raw, csip_indicator_dup(ind), where);
}

static char *
unescape(const char *s, size_t n)
{
	char *raw = g_strndup(s, n);
	char *u = g_uri_unescape_string(raw, NULL);

	if (u == NULL)
		return raw;
	g_free(raw);
	return u;
}

/* A mailto: link: the addresses (before '?', and in to/cc/bcc) are
 * e-mails; subject and body are text. */
static void
add_mailto(ctx *c, const char *url, const char *where)
{
	const char *p = url + 7, *q = strchr(p, '?');
	char *addrs = unescape(p, q ? (size_t)(q - p) : strlen(p));
	char **v = g_strsplit_set(addrs, ",;", 50);

	for (int i = 0; v[i]; i++)
		add_ind(c, CSIP_IND_EMAIL, g_strstrip(v[i]), where);
	g_strfreev(v);
	g_free(addrs);
	if (q == NULL)
		return;
	v = g_strsplit(q + 1, "&", 50);
	for (int i = 0; v[i]; i++) {
		char *eq = strchr(v[i], '='), *val;

		if (eq == NULL)
			continue;
		*eq = '\0';
		val = unescape(eq + 1, strlen(eq + 1));
		if (g_ascii_strcasecmp(v[i], "cc") == 0 ||
		    g_ascii_strcasecmp(v[i], "bcc") == 0 ||
		    g_ascii_strcasecmp(v[i], "to") == 0) {
			char **a = g_strsplit_set(val, ",;", 50);

			for (int k = 0; a[k]; k++)
				add_ind(c, CSIP_IND_EMAIL, g_strstrip(a[k]),
					where);
			g_strfreev(a);
		} else {
			add_text(c, val, strlen(val), where);
		}
		g_free(val);
	}
	g_strfreev(v);
}

/* A link from HTML: mailto: is taken apart, the rest goes to the text
 * extractor (which refangs and validates). */
static void
add_link_ind(ctx *c, const char *url, const char *where)
{
	if (has_prefix_ci(url, "mailto:")) {
		add_mailto(c, url, where);
	} else if (url[0] == '/' && url[1] == '/' && g_ascii_isalnum(url[2])) {
		/* "//host/x" takes the page's scheme; a mail read in a
		 * browser is on https. */
		char *abs = g_strconcat("https:", url, NULL);

		add_text(c, abs, strlen(abs), where);
		g_free(abs);
	} else {
		add_text(c, url, strlen(url), where);
	}
}

static char *
where_of(const char *prefix, const char *role, const char *what)
{
	return g_strdup_printf("%s%s:%s", prefix, role, what);
}

/* ---- headers ----------------------------------------------------- */

static void
hdr_free(gpointer p)
{
	hdr *h = p;

	g_free(h->name);
	g_free(h->raw);
	g_free(h);
}

static void
hdr_add(GPtrArray *v, const char *name, const char *raw)
{
	hdr *h = g_new0(hdr, 1);

	h->name = g_ascii_strdown(name, -1);
	h->raw = g_strdup(raw ? raw : "");
	g_ptr_array_add(v, h);
}

static const char *
hdr_get(const view *v, const char *name)
{
	for (guint i = 0; i < v->hdrs->len; i++) {
		hdr *h = g_ptr_array_index(v->hdrs, i);

		if (strcmp(h->name, name) == 0)
			return h->raw;
	}
	return NULL;
}

/* Unstructured value of the first NAME header, decoded (g_free). */
static char *
hdr_text(const view *v, const char *name)
{
	const char *raw = hdr_get(v, name);
	char *t;

	if (raw == NULL)
		return NULL;
	t = csip_mail_charset_header(raw, strlen(raw));
	if (*t == '\0') {
		g_free(t);
		return NULL;
	}
	return t;
}

/* Raw header value of a MIME object (NULL when absent). */
static const char *
obj_header(GMimeObject *o, const char *name)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(o);
	GMimeHeader *h = hl ? g_mime_header_list_get_header(hl, name) : NULL;

	return h ? g_mime_header_get_raw_value(h) : NULL;
}

/* ---- addresses --------------------------------------------------- */

typedef struct addr {
	char *address;   /* as written, NULL for a name without address */
	char *name;
} addr;

static void
addr_free(gpointer p)
{
	addr *a = p;

	g_free(a->address);
	g_free(a->name);
	g_free(a);
}

static void
collect_addrs(InternetAddressList *l, GPtrArray *out, int depth)
{
	int n = l ? internet_address_list_length(l) : 0;

	for (int i = 0; i < n && out->len < MAX_ADDRESSES; i++) {
		InternetAddress *ia = internet_address_list_get_address(l, i);

		if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
			addr *a = g_new0(addr, 1);
			const char *s = internet_address_mailbox_get_addr(
				INTERNET_ADDRESS_MAILBOX(ia));
			const char *nm = internet_address_get_name(ia);

			a->address = (s && *s) ? g_strdup(s) : NULL;
			a->name = (nm && *nm) ? g_strdup(nm) : NULL;
			g_ptr_array_add(out, a);
		} else if (INTERNET_ADDRESS_IS_GROUP(ia) && depth < 4) {
			collect_addrs(internet_address_group_get_members(
				INTERNET_ADDRESS_GROUP(ia)), out, depth + 1);
		}
	}
}

/* Parse an address header's raw value into addr entries (a new array).
 * Outlook's inline "Name [mailto:a@b]" is read as "Name <a@b>". */
static GPtrArray *
parse_addrs(ctx *c, const char *raw)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(addr_free);
	InternetAddressList *l;
	char *norm, *p;

	if (raw == NULL)
		return out;
	norm = csip_mail_charset_address_header(raw, strlen(raw));
	while ((p = strstr(norm, "[mailto:")) != NULL) {
		char *e = strchr(p, ']');

		if (e == NULL)
			break;
		*p = '<';
		memmove(p + 1, p + 8, strlen(p + 8) + 1);
		e = strchr(p, ']');
		*e = '>';
	}
	l = internet_address_list_parse(c->opts, norm);
	collect_addrs(l, out, 0);
	if (l)
		g_object_unref(l);
	g_free(norm);
	for (guint i = 0; i < out->len; i++) {
		addr *a = g_ptr_array_index(out, i);

		/* Names and addresses reach JSON and C strings. */
		if (a->name && !g_utf8_validate(a->name, -1, NULL)) {
			char *v = g_utf8_make_valid(a->name, -1);

			g_free(a->name);
			a->name = v;
		}
		if (a->address && !g_utf8_validate(a->address, -1, NULL)) {
			g_free(a->address);
			a->address = NULL;
		}
	}
	return out;
}

/* The first entry with an address, else the first entry, else NULL. */
static addr *
first_addr(GPtrArray *v)
{
	for (guint i = 0; i < v->len; i++) {
		addr *a = g_ptr_array_index(v, i);

		if (a->address && strchr(a->address, '@'))
			return a;
	}
	return v->len ? g_ptr_array_index(v, 0) : NULL;
}

static json_t *
addr_json(const addr *a)
{
	json_t *o;

	if (a == NULL)
		return json_null();
	o = json_object();
	jset(o, "address", a->address);
	jset(o, "name", a->name);
	return o;
}

static json_t *
addrs_json(GPtrArray *v)
{
	json_t *arr = json_array();

	for (guint i = 0; i < v->len; i++)
		json_array_append_new(arr, addr_json(g_ptr_array_index(v, i)));
	return arr;
}

/* ---- victims ----------------------------------------------------- */

static void
victim_add(ctx *c, const char *address)
{
	char *low, *at;

	if (address == NULL || (at = strchr(address, '@')) == NULL ||
	    at == address || at[1] == '\0' || strlen(address) > 320)
		return;
	if (g_hash_table_size(c->victims) >= MAX_VICTIMS) {
		if (!c->victims_warned)
			warn(c, "more than %u recipients; the rest are not "
			     "checked against the indicators", MAX_VICTIMS);
		c->victims_warned = 1;
		return;
	}
	low = g_ascii_strdown(address, -1);
	g_strstrip(low);
	at = strchr(low, '@');
	if (at && at[1])
		g_hash_table_add(c->victim_hosts, g_strdup(at + 1));
	g_hash_table_add(c->victims, low);
}

/* Addresses in free text ("rfc822; a@b", "for <a@b>"): every token that
 * holds an '@'. */
static void
victims_from_text(ctx *c, const char *s)
{
	char **tok = g_strsplit_set(s, " \t\r\n<>;,\"()[]", -1);

	for (int i = 0; tok[i] && i < MAX_ADDRESSES; i++)
		if (strchr(tok[i], '@'))
			victim_add(c, tok[i]);
	g_strfreev(tok);
}

static const char *const recipient_headers[] = {
	"to", "cc", "bcc", "delivered-to", "x-original-to", "envelope-to",
	"x-envelope-to", "apparently-to", "resent-to", "resent-cc",
	"x-rcpt-to", "x-forwarded-to", "x-delivered-to", "original-recipient",
	"x-original-recipient", "x-apparently-to",
};

static void
victims_from_view(ctx *c, const view *v)
{
	for (guint i = 0; i < v->hdrs->len; i++) {
		hdr *h = g_ptr_array_index(v->hdrs, i);

		for (size_t k = 0; k < G_N_ELEMENTS(recipient_headers); k++) {
			GPtrArray *a;

			/* The first byte first: every header of the view is
			 * compared with every name. */
			if (h->name[0] != recipient_headers[k][0] ||
			    strcmp(h->name, recipient_headers[k]) != 0)
				continue;
			a = parse_addrs(c, h->raw);
			for (guint j = 0; j < a->len; j++)
				victim_add(c, ((addr *)g_ptr_array_index(a, j))
					   ->address);
			g_ptr_array_free(a, TRUE);
			victims_from_text(c, h->raw);
		}
	}
}

/* ---- bodies: HTML ------------------------------------------------ */

static void
link_free(gpointer p)
{
	hlink *l = p;

	g_free(l->url);
	g_free(l);
}

static void
body_free(gpointer p)
{
	body *b = p;

	g_free(b->charset);
	g_free(b->text);
	if (b->hrefs)
		g_ptr_array_free(b->hrefs, TRUE);
	if (b->srcs)
		g_ptr_array_free(b->srcs, TRUE);
	if (b->script)
		g_string_free(b->script, TRUE);
	if (b->hidden)
		g_string_free(b->hidden, TRUE);
	g_free(b);
}

static body *
body_new(int html)
{
	body *b = g_new0(body, 1);

	b->html = html;
	b->hrefs = g_ptr_array_new_with_free_func(link_free);
	b->srcs = g_ptr_array_new_with_free_func(link_free);
	b->script = g_string_new(NULL);
	b->hidden = g_string_new(NULL);
	return b;
}

/* Keep text a reader does not see for the URLs it holds: a kit's
 * comments, and markup inside a <style> (an unclosed one swallows the
 * rest of the page, hiding its links from scanners that read only what
 * renders).  Only URLs with a scheme are taken from it (hidden_urls()):
 * style rules and comment prose are full of names that look like hosts
 * (table.center, button.no) and hex ids that look like digests. */
static void
hidden_append(body *b, const char *s, size_t n)
{
	if (b->hidden->len >= MAX_SCRIPT)
		return;
	g_string_append_len(b->hidden, s,
			    (gssize)MIN(n, MAX_SCRIPT - b->hidden->len));
	g_string_append_c(b->hidden, '\n');
}

static void add_link(GPtrArray *v, size_t off, char *url);

/* The N bytes of CSS at S: each url(...) and @import "..." loads by
 * itself, like an img src.  OFF is the visible text's length. */
static void
css_links(body *b, const char *s, size_t n, size_t off)
{
	const char *e = s + n, *p = s;

	while (p < e && (p = memchr(p, '(', (size_t)(e - p))) != NULL) {
		const char *v, *ve;

		if (p - s < 3 || g_ascii_strncasecmp(p - 3, "url", 3) != 0) {
			p++;
			continue;
		}
		v = ++p;
		while (v < e && (*v == ' ' || *v == '\t' || *v == '"' ||
				 *v == '\''))
			v++;
		ve = v;
		while (ve < e && *ve != ')' && *ve != '"' && *ve != '\'' &&
		       *ve != ' ' && *ve != '\n')
			ve++;
		if (ve > v)
			add_link(b->srcs, off, g_strndup(v, (size_t)(ve - v)));
		p = ve;
	}
	for (p = s; p < e && (p = g_strstr_len(p, e - p, "@import")) != NULL;) {
		const char *v = p + 7, *ve;

		while (v < e && (*v == ' ' || *v == '\t'))
			v++;
		p = v;
		if (v >= e || (*v != '"' && *v != '\''))
			continue;
		ve = memchr(v + 1, *v, (size_t)(e - v - 1));
		if (ve == NULL)
			break;
		add_link(b->srcs, off, g_strndup(v + 1, (size_t)(ve - v - 1)));
		p = ve + 1;
	}
}

static const struct {
	const char *name;
	const char *utf8;
} entities[] = {
	{ "amp", "&" }, { "lt", "<" }, { "gt", ">" }, { "quot", "\"" },
	{ "apos", "'" }, { "nbsp", " " }, { "copy", "\xc2\xa9" },
	{ "reg", "\xc2\xae" }, { "shy", "" }, { "zwj", "" }, { "zwnj", "" },
	{ "sol", "/" }, { "colon", ":" }, { "period", "." },
	{ "commat", "@" }, { "lsqb", "[" }, { "rsqb", "]" },
	{ "lpar", "(" }, { "rpar", ")" }, { "hellip", "..." },
};

/* Decode the entity at P (which starts with '&') into OUT; returns the
 * bytes consumed, 0 when it is not an entity. */
static size_t
entity(const char *p, size_t n, GString *out)
{
	size_t i = 1;

	if (n > 2 && p[1] == '#') {
		gunichar u = 0;
		int hex = (p[2] == 'x' || p[2] == 'X'), digits = 0;

		i = hex ? 3 : 2;
		for (; i < n && digits < 8; i++, digits++) {
			int d = hex ? g_ascii_xdigit_value(p[i])
				: g_ascii_digit_value(p[i]);

			if (d < 0)
				break;
			u = u * (hex ? 16 : 10) + (gunichar)d;
		}
		if (digits == 0)
			return 0;
		if (i < n && p[i] == ';')
			i++;
		/* Zero-width and control characters hide text from
		 * filters: drop them. */
		if (u == 0 || u == 0x200b || u == 0x200c || u == 0x200d ||
		    u == 0xfeff || u == 0xad)
			return i;
		if (!g_unichar_validate(u) || u < 0x20)
			u = ' ';
		g_string_append_unichar(out, u);
		return i;
	}
	for (size_t k = 0; k < G_N_ELEMENTS(entities); k++) {
		size_t l = strlen(entities[k].name);

		if (l + 1 < n && strncmp(p + 1, entities[k].name, l) == 0 &&
		    p[l + 1] == ';') {
			g_string_append(out, entities[k].utf8);
			return l + 2;
		}
	}
	return 0;
}

static char *
decode_entities(const char *s, size_t n)
{
	GString *g = g_string_sized_new(n);

	for (size_t i = 0; i < n;) {
		size_t k = s[i] == '&' ? entity(s + i, n - i, g) : 0;

		if (k) {
			i += k;
		} else {
			g_string_append_c(g, s[i]);
			i++;
		}
	}
	return g_strstrip(g_string_free(g, FALSE));
}

static int
is_block_tag(const char *t)
{
	static const char *const tags[] = {
		"br", "p", "div", "tr", "td", "th", "li", "table", "h1", "h2",
		"h3", "h4", "h5", "h6", "title", "blockquote", "hr", "ul",
		"ol", "section", "article", "header", "footer", "center",
		"pre", "dd", "dt", "form", "option",
	};

	/* Every tag of every HTML part: the first byte first. */
	for (size_t i = 0; i < G_N_ELEMENTS(tags); i++)
		if (t[0] == tags[i][0] && strcmp(t, tags[i]) == 0)
			return 1;
	return 0;
}

static void
add_link(GPtrArray *v, size_t off, char *url)
{
	hlink *l;

	if (*url == '\0' || v->len >= MAX_LINKS || url[0] == '#') {
		g_free(url);
		return;
	}
	l = g_new0(hlink, 1);
	l->off = off;
	l->url = url;
	g_ptr_array_add(v, l);
}

/* The URL of <meta http-equiv=refresh content="5; url=...">. */
static char *
refresh_url(const char *content)
{
	const char *u = find_ci(content, strlen(content), "url=");
	char *r;

	if (u == NULL)
		return NULL;
	u += 4;
	while (*u == ' ' || *u == '\'' || *u == '"')
		u++;
	r = g_strdup(u);
	g_strdelimit(r, "'\"", ' ');
	return g_strstrip(r);
}

static void
append_text(GString *t, char ch)
{
	/* Collapse white space: HTML renders it as one space. */
	if (ch == '\r' || ch == '\n' || ch == '\t' || ch == '\f')
		ch = ' ';
	if (ch == ' ' && (t->len == 0 || t->str[t->len - 1] == ' ' ||
			  t->str[t->len - 1] == '\n'))
		return;
	g_string_append_c(t, ch);
}

/* Attributes that hold links: where a click goes (href) or what loads by
 * itself (src). */
static const struct {
	const char *name;
	int src;
} link_attrs[] = {
	{ "href", 0 }, { "action", 0 }, { "formaction", 0 },
	{ "xlink:href", 0 }, { "data-href", 0 }, { "src", 1 },
	{ "background", 1 }, { "poster", 1 }, { "data-src", 1 },
	{ "lowsrc", 1 },
};

/* One tag starting at H[i] == '<'.  Returns the index after it. */
static size_t
html_tag(const char *h, size_t n, size_t i, body *b, GString *text,
	 char name[16], int *closing)
{
	size_t j = i + 1, nl = 0;
	char *content = NULL;
	int meta_refresh = 0;

	*closing = 0;
	name[0] = '\0';
	if (j < n && h[j] == '/') {
		*closing = 1;
		j++;
	}
	while (j < n && (g_ascii_isalnum(h[j]) || h[j] == ':' || h[j] == '-')) {
		if (nl < 15)
			name[nl++] = g_ascii_tolower(h[j]);
		j++;
	}
	name[nl] = '\0';
	while (j < n && h[j] != '>') {
		size_t as, ae, vs = 0, ve = 0;

		while (j < n && (g_ascii_isspace(h[j]) || h[j] == '/'))
			j++;
		as = j;
		while (j < n && !g_ascii_isspace(h[j]) && h[j] != '=' &&
		       h[j] != '>' && h[j] != '/')
			j++;
		ae = j;
		while (j < n && g_ascii_isspace(h[j]))
			j++;
		if (j < n && h[j] == '=') {
			j++;
			while (j < n && g_ascii_isspace(h[j]))
				j++;
			if (j < n && (h[j] == '"' || h[j] == '\'')) {
				char q = h[j++];

				vs = j;
				while (j < n && h[j] != q)
					j++;
				ve = j;
				if (j < n)
					j++;
			} else {
				vs = j;
				while (j < n && !g_ascii_isspace(h[j]) &&
				       h[j] != '>')
					j++;
				ve = j;
			}
		}
		if (ae == as) {
			if (j < n && h[j] != '>')
				j++;
			continue;
		}
		if (ve > vs) {
			size_t al = ae - as;
			const char *an = h + as;
			GPtrArray *dst = NULL;

			for (size_t k = 0; k < G_N_ELEMENTS(link_attrs); k++)
				if (strlen(link_attrs[k].name) == al &&
				    g_ascii_strncasecmp(an, link_attrs[k].name,
							al) == 0)
					dst = link_attrs[k].src ? b->srcs
						: b->hrefs;
			if (dst)
				add_link(dst, text->len,
					 decode_entities(h + vs, ve - vs));
			if (al == 5 && g_ascii_strncasecmp(an, "style", 5) == 0) {
				char *css = decode_entities(h + vs, ve - vs);

				css_links(b, css, strlen(css), text->len);
				g_free(css);
			}
			if (strcmp(name, "meta") == 0) {
				if (al == 7 && g_ascii_strncasecmp(an,
						"content", 7) == 0) {
					g_free(content);
					content = decode_entities(h + vs,
								  ve - vs);
				} else if (al == 10 && g_ascii_strncasecmp(an,
						"http-equiv", 10) == 0 &&
					   ve - vs == 7 &&
					   g_ascii_strncasecmp(h + vs,
						"refresh", 7) == 0) {
					meta_refresh = 1;
				}
			}
		}
	}
	if (meta_refresh && content) {
		char *u = refresh_url(content);

		if (u)
			add_link(b->hrefs, text->len, u);
	}
	g_free(content);
	if (is_block_tag(name) && text->len &&
	    text->str[text->len - 1] != '\n') {
		if (text->str[text->len - 1] == ' ')
			g_string_truncate(text, text->len - 1);
		g_string_append_c(text, '\n');
	}
	return j < n ? j + 1 : n;
}

/* Whether the N bytes at S hold a tag: markup where none belongs. */
static int
has_markup(const char *s, size_t n)
{
	for (const char *p = s; (p = memchr(p, '<', n - (size_t)(p - s)));
	     p++)
		if ((size_t)(p - s) + 1 < n && (g_ascii_isalpha(p[1]) ||
						 p[1] == '/'))
			return 1;
	return 0;
}

/* Scan HTML (UTF-8) into B: the visible text, links with where in the
 * text they were, and script content, which holds redirect URLs. */
static void
html_scan(const char *h, size_t n, body *b)
{
	GString *text = g_string_sized_new(n / 2 + 16);
	size_t i = 0;

	while (i < n) {
		if (h[i] == '<') {
			char name[16];
			int closing;

			if (i + 3 < n && strncmp(h + i, "<!--", 4) == 0) {
				size_t k = i + 4;
				const char *e;

				/* "<!-->" and "<!--->" are empty comments
				 * (HTML5), as in "<!--[if !mso]><!-->". */
				if (k < n && h[k] == '>') {
					i = k + 1;
					continue;
				}
				if (k + 1 < n && h[k] == '-' && h[k + 1] == '>') {
					i = k + 2;
					continue;
				}
				/* A conditional comment holds markup that
				 * Outlook renders ("<!--[if mso]>...
				 * <![endif]-->"), often the button that
				 * Outlook users click: read it as markup. */
				if (n - k >= 3 && strncmp(h + k, "[if", 3) == 0) {
					e = memchr(h + k, '>', n - k);
					i = e ? (size_t)(e - h) + 1 : n;
					continue;
				}
				e = g_strstr_len(h + k, (gssize)(n - k), "-->");
				hidden_append(b, h + k,
					      (e ? (size_t)(e - h) : n) - k);
				i = e ? (size_t)(e - h) + 3 : n;
				continue;
			}
			if (i + 1 < n && (h[i + 1] == '!' || h[i + 1] == '?')) {
				const char *e = memchr(h + i, '>', n - i);

				i = e ? (size_t)(e - h) + 1 : n;
				continue;
			}
			if (i + 1 >= n || !(g_ascii_isalpha(h[i + 1]) ||
					    h[i + 1] == '/')) {
				append_text(text, '<');
				i++;
				continue;
			}
			i = html_tag(h, n, i, b, text, name, &closing);
			if (!closing && (strcmp(name, "script") == 0 ||
					 strcmp(name, "style") == 0)) {
				char endtag[16];
				const char *e;

				g_snprintf(endtag, sizeof endtag, "</%s", name);
				e = find_ci(h + i, n - i, endtag);
				if (name[1] == 'c' && b->script->len <
				    MAX_SCRIPT) {
					size_t l = (e ? (size_t)(e - h) : n)
						   - i;

					g_string_append_len(b->script, h + i,
						(gssize)MIN(l, MAX_SCRIPT));
					g_string_append_c(b->script, '\n');
				} else if (name[1] == 't') {
					size_t l = (e ? (size_t)(e - h) : n)
						   - i;

					css_links(b, h + i, l, text->len);
					if (has_markup(h + i, l))
						hidden_append(b, h + i, l);
				}
				i = e ? (size_t)(e - h) : n;
			}
			continue;
		}
		if (h[i] == '&') {
			size_t k = entity(h + i, n - i, text);

			if (k) {
				i += k;
				continue;
			}
		}
		append_text(text, h[i]);
		i++;
	}
	b->text = g_string_free(text, FALSE);
}

/* ---- MIME parts -------------------------------------------------- */

static char *
mime_type(GMimeObject *o)
{
	GMimeContentType *ct = g_mime_object_get_content_type(o);
	char *t = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
	char *low;

	if (t == NULL)
		return g_strdup("text/plain");
	low = g_ascii_strdown(t, -1);
	g_free(t);
	return low;
}

/* The decoded file name of a part: RFC 2231/2047/raw 8-bit in the
 * Content-Disposition filename, else the Content-Type name. */
static char *
part_filename(GMimeObject *o)
{
	const char *cd = obj_header(o, "Content-Disposition");
	const char *ct = obj_header(o, "Content-Type");
	char *n = NULL;

	if (cd)
		n = csip_mail_charset_param(cd, strlen(cd), "filename");
	if (n == NULL && ct)
		n = csip_mail_charset_param(ct, strlen(ct), "name");
	if (n && strlen(n) > 1024) {
		char *e = g_utf8_find_prev_char(n, n + 1024);

		if (e)
			*e = '\0';
	}
	return n;
}

static const char *
encoding_name(GMimeContentEncoding e)
{
	return g_mime_content_encoding_to_string(e) ?
	       g_mime_content_encoding_to_string(e) : "7bit";
}

/* The content of a leaf part with its transfer encoding undone (a new
 * array).  Base64 and quoted-printable are decoded here (see
 * mail_charset.h for why); damage becomes a warning naming the part. */
static GByteArray *
part_bytes(ctx *c, GMimePart *part, const char *label)
{
	GMimeDataWrapper *w = g_mime_part_get_content(part);
	GByteArray *raw = g_byte_array_new(), *out;
	GMimeStream *src, *mem;
	GMimeContentEncoding enc;
	csip_mail_charset_damage dmg = { 0 };

	if (w == NULL)
		return raw;
	enc = g_mime_data_wrapper_get_encoding(w);
	mem = g_mime_stream_mem_new_with_byte_array(raw);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	if (enc == GMIME_CONTENT_ENCODING_UUENCODE) {
		g_mime_data_wrapper_write_to_stream(w, mem);
		g_object_unref(mem);
		return raw;
	}
	src = g_mime_data_wrapper_get_stream(w);
	if (src) {
		g_mime_stream_reset(src);
		g_mime_stream_write_to_stream(src, mem);
	}
	g_object_unref(mem);
	if (enc != GMIME_CONTENT_ENCODING_BASE64 &&
	    enc != GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE)
		return raw;
	out = g_byte_array_sized_new(raw->len);
	if (enc == GMIME_CONTENT_ENCODING_BASE64)
		csip_mail_charset_base64((const char *)raw->data, raw->len, out,
					 &dmg);
	else
		csip_mail_charset_qp((const char *)raw->data, raw->len, out,
				     &dmg);
	g_byte_array_free(raw, TRUE);
	if (dmg.invalid || dmg.truncated)
		warn(c, "%s: broken %s (%zu invalid characters skipped%s); "
		     "decoded what could be", label, encoding_name(enc),
		     dmg.invalid, dmg.truncated ? ", cut short" : "");
	if (dmg.chunks)
		warn(c, "%s: base64 with padding inside the data (\"chunked\" "
		     "base64, an evasion trick); every chunk was decoded",
		     label);
	return out;
}

static body *
make_body(ctx *c, GMimePart *part, int html, const char *label)
{
	GByteArray *bytes = part_bytes(c, part, label);
	const char *cs = g_mime_object_get_content_type_parameter(
		GMIME_OBJECT(part), "charset");
	body *b = body_new(html);
	size_t lossy = 0;
	char *text;

	b->charset = cs ? g_strdup(cs) : NULL;
	b->size = bytes->len;
	text = csip_mail_charset_decode(cs, (const char *)bytes->data,
					bytes->len, &b->decoder, &lossy);
	g_byte_array_free(bytes, TRUE);
	if (lossy)
		warn(c, "%s: %zu bytes could not be decoded as %s", label,
		     lossy, b->decoder);
	if (html) {
		html_scan(text, strlen(text), b);
		g_free(text);
	} else {
		b->text = text;
	}
	return b;
}

/* ---- views ------------------------------------------------------- */

static void
unref_obj(gpointer p)
{
	g_object_unref(p);
}

static view *
view_new(unsigned depth)
{
	view *v = g_new0(view, 1);

	v->hdrs = g_ptr_array_new_with_free_func(hdr_free);
	v->bodies = g_ptr_array_new_with_free_func(body_free);
	v->attachments = g_ptr_array_new_with_free_func(unref_obj);
	v->messages = g_ptr_array_new_with_free_func(unref_obj);
	v->depth = depth;
	return v;
}

static void
view_free(view *v)
{
	if (v == NULL)
		return;
	g_ptr_array_free(v->hdrs, TRUE);
	g_ptr_array_free(v->bodies, TRUE);
	g_ptr_array_free(v->attachments, TRUE);
	g_ptr_array_free(v->messages, TRUE);
	g_free(v);
}

static int
is_message_type(const char *t)
{
	return strcmp(t, "message/rfc822") == 0 ||
	       strcmp(t, "message/global") == 0 ||
	       strcmp(t, "message/news") == 0 ||
	       strcmp(t, "text/rfc822-headers") == 0 ||
	       strcmp(t, "message/global-headers") == 0;
}

/* Parts that carry no content of the attack: bounce reports, signatures. */
static int
is_report_type(const char *t)
{
	return strcmp(t, "message/delivery-status") == 0 ||
	       strcmp(t, "message/global-delivery-status") == 0 ||
	       strcmp(t, "message/disposition-notification") == 0 ||
	       strcmp(t, "message/feedback-report") == 0 ||
	       strcmp(t, "application/pgp-signature") == 0 ||
	       strcmp(t, "application/pkcs7-signature") == 0 ||
	       strcmp(t, "application/x-pkcs7-signature") == 0;
}

static void
walk(ctx *c, view *v, GMimeObject *o, unsigned depth)
{
	char *type;

	if (o == NULL)
		return;
	if (++c->parts > c->lim.max_parts) {
		if (!c->parts_warned)
			warn(c, "more than %u MIME parts; the rest is ignored",
			     c->lim.max_parts);
		c->parts_warned = 1;
		return;
	}
	if (depth > c->lim.max_depth) {
		if (!c->depth_warned)
			warn(c, "MIME parts nested deeper than %u levels are "
			     "not followed", c->lim.max_depth);
		c->depth_warned = 1;
		return;
	}
	if (GMIME_IS_MULTIPART(o)) {
		GMimeMultipart *mp = GMIME_MULTIPART(o);
		int n = g_mime_multipart_get_count(mp);

		if (depth == v->depth) {
			type = mime_type(o);
			v->report = strcmp(type, "multipart/report") == 0;
			g_free(type);
		}
		for (int i = 0; i < n; i++)
			walk(c, v, g_mime_multipart_get_part(mp, i), depth + 1);
		return;
	}
	if (GMIME_IS_MESSAGE_PART(o)) {
		g_ptr_array_add(v->messages, g_object_ref(o));
		return;
	}
	if (!GMIME_IS_PART(o))
		return;
	type = mime_type(o);
	if (is_message_type(type)) {
		g_ptr_array_add(v->messages, g_object_ref(o));
	} else if (is_report_type(type)) {
		/* skipped */
	} else if ((strcmp(type, "text/plain") == 0 ||
		    strcmp(type, "text/html") == 0 ||
		    strcmp(type, "text/enriched") == 0) &&
		   !g_mime_part_is_attachment(GMIME_PART(o))) {
		char *fn = part_filename(o);
		char label[64];

		if (fn) {
			g_ptr_array_add(v->attachments, g_object_ref(o));
		} else {
			g_snprintf(label, sizeof label, "body %u (%s)",
				   v->bodies->len + 1, type);
			g_ptr_array_add(v->bodies, make_body(c, GMIME_PART(o),
				strcmp(type, "text/html") == 0, label));
		}
		g_free(fn);
	} else {
		g_ptr_array_add(v->attachments, g_object_ref(o));
	}
	g_free(type);
}

static view *
view_of_message(ctx *c, GMimeMessage *msg, unsigned depth)
{
	view *v = view_new(depth);
	GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(msg));
	int n = hl ? g_mime_header_list_get_count(hl) : 0;

	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		const char *name = g_mime_header_get_name(h);

		if (name)
			hdr_add(v->hdrs, name, g_mime_header_get_raw_value(h));
	}
	walk(c, v, g_mime_message_get_mime_part(msg), depth);
	return v;
}

/* ---- GMime parsing ----------------------------------------------- */

static const char *
gmime_warning_text(GMimeParserWarning w)
{
	switch (w) {
	case GMIME_WARN_DUPLICATED_HEADER: return "duplicated header";
	case GMIME_WARN_DUPLICATED_PARAMETER: return "duplicated parameter";
	case GMIME_WARN_UNENCODED_8BIT_HEADER: return "unencoded 8-bit header";
	case GMIME_WARN_INVALID_CONTENT_TYPE: return "invalid Content-Type";
	case GMIME_WARN_INVALID_RFC2047_HEADER_VALUE:
		return "invalid RFC 2047 header value";
	case GMIME_WARN_MALFORMED_MULTIPART: return "malformed multipart";
	case GMIME_WARN_TRUNCATED_MESSAGE: return "truncated message";
	case GMIME_WARN_MALFORMED_MESSAGE: return "malformed message";
	case GMIME_CRIT_INVALID_HEADER_NAME: return "invalid header name";
	case GMIME_CRIT_CONFLICTING_HEADER: return "conflicting header";
	case GMIME_CRIT_CONFLICTING_PARAMETER: return "conflicting parameter";
	case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
		return "multipart without boundary";
	case GMIME_WARN_INVALID_PARAMETER: return "invalid parameter";
	case GMIME_WARN_INVALID_ADDRESS_LIST: return "invalid address list";
	case GMIME_CRIT_NESTING_OVERFLOW: return "nesting too deep";
	case GMIME_WARN_PART_WITHOUT_CONTENT: return "part without content";
	case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
		return "part without headers or content";
	}
	return "parser warning";
}

static void
on_gmime_warning(gint64 offset, GMimeParserWarning code, const gchar *item,
		 gpointer ud)
{
	ctx *c = ud;
	char *s;

	if (c == NULL || c->gmime_warnings++ >= MAX_GMIME_WARNINGS)
		return;
	/* An address list is recipients' data: name the problem only. */
	s = item && code != GMIME_WARN_INVALID_ADDRESS_LIST ? shown(item)
		: NULL;
	if (offset >= 0)
		warn(c, "MIME: %s%s%s at byte %" G_GINT64_FORMAT,
		     gmime_warning_text(code), s ? ": " : "", s ? s : "",
		     offset);
	else
		warn(c, "MIME: %s%s%s", gmime_warning_text(code),
		     s ? ": " : "", s ? s : "");
	g_free(s);
}

/* GMime 3.2 decodes every header while it parses, and its RFC 2047
 * tokenizer searches the rest of the value for "?=" after each "=?x?B?"
 * start: a header of many unterminated starts costs quadratic time
 * (a 60 KB line takes 0.2 s, a message of them minutes).  So before GMime
 * sees a message, in each field that has more than a few starts without a
 * "?=" close behind them, those starts lose their '?' ("=_").  No real
 * encoded word is touched: a real one ends within a few dozen bytes.
 *
 * GMime also builds an object for every part before we can count them,
 * about 3 KB each: a 50 MB message of empty parts would take gigabytes.
 * A part needs a boundary line, so the data given to GMime is cut before
 * the line that would exceed four times max_parts lines beginning with
 * "--". */
#define EW_CLOSE_NEAR 256
#define EW_BAD_STARTS 8

/* The first "=?" or "?=" (NEEDLE, two bytes) in S[0..n) before any NUL,
 * or NULL: what g_strstr_len() answers, which reads byte by byte, where
 * this runs over every line of every message. */
static const char *
find_pair(const char *s, size_t n, const char *needle)
{
	const char *end = s + strnlen(s, n), *p = s;

	for (; (p = memchr(p, needle[0], (size_t)(end - p))) != NULL &&
	     p + 1 < end; p++)
		if (p[1] == needle[1])
			return p;
	return NULL;
}

/* The malformed starts in the field F[0..n): "=?" with no "?=" within
 * EW_CLOSE_NEAR bytes.  With FIX (a copy of the same bytes) each of them,
 * when there are more than EW_BAD_STARTS, loses its '?' in FIX, which is
 * then what is read: a '?' made '_' is no longer the start of a "?="
 * that a later start would find.  Without FIX the field is only counted,
 * and reading it is the same as reading an untouched copy. */
static size_t
ew_scan(const char *f, size_t n, char *fix, unsigned *fixed)
{
	const char *r = fix ? fix : f;
	size_t bad = 0, close = 0;

	for (size_t i = 0; i + 1 < n; i++) {
		if (r[i] != '=' || r[i + 1] != '?')
			continue;
		if (close <= i + 1) {
			const char *q = i + 2 < n ? find_pair(
				r + i + 2, n - i - 2, "?=") : NULL;

			close = q ? (size_t)(q - r) : n;
		}
		if (close - i <= EW_CLOSE_NEAR)
			continue;
		bad++;
		if (fix) {
			fix[i + 1] = '_';
			(*fixed)++;
		}
	}
	return bad;
}

/* A copy of DATA for GMime when it needs one of the changes above (else
 * NULL); *LEN may shrink. */
static char *
defuse(ctx *c, const char *data, size_t *len)
{
	char *copy = NULL;
	const char *src = data;
	size_t i = 0, n = *len, dashes = 0, cut = n;
	unsigned fixed = 0, max_dash = c->lim.max_parts * 4 + 16;

	while (i < n) {
		const char *nl = memchr(src + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - src) + 1 : n, fend;

		if (src[i] == '-' && i + 1 < n && src[i + 1] == '-' &&
		    ++dashes > max_dash) {
			cut = i;
			break;
		}
		if (src[i] == ' ' || src[i] == '\t' || src[i] == '\r' ||
		    src[i] == '\n') {
			i = end;
			continue;
		}
		/* A field: this line and its continuation lines. */
		fend = end;
		while (fend < n && (src[fend] == ' ' || src[fend] == '\t')) {
			const char *e = memchr(src + fend, '\n', n - fend);

			fend = e ? (size_t)(e - src) + 1 : n;
		}
		/* Counted where it is, copied only to be changed: the
		 * first of more than EW_BAD_STARTS starts is always fixed,
		 * so a copy made here always differs from the data. */
		if (find_pair(src + i, fend - i, "=?") &&
		    ew_scan(src + i, fend - i, NULL, NULL) > EW_BAD_STARTS) {
			if (copy == NULL) {
				copy = g_memdup2(data, n);
				src = copy;
			}
			ew_scan(src + i, fend - i, copy + i, &fixed);
		}
		i = fend;
	}
	if (fixed)
		warn(c, "%u malformed encoded-word starts (\"=?\" without an "
		     "end) were defused before MIME parsing", fixed);
	if (cut < n) {
		warn(c, "more than %u boundary lines; the message is read up "
		     "to byte %zu only", max_dash, cut);
		if (copy == NULL)
			copy = g_memdup2(data, cut);
		*len = cut;
	}
	return copy;
}

/* GMime's parts read their content through sub-streams of the stream
 * given to the parser, so its bytes must live as long as the message.
 * The defused copy is handed to the stream, which frees it.  With LENT
 * the bytes of DATA are read where they are: the caller keeps them until
 * the message and all parsed from it are freed, then frees *LENT, the
 * array around them (not the bytes).  Otherwise the stream copies them. */
static GMimeMessage *
parse_message(ctx *c, const char *data, size_t len, GByteArray **lent)
{
	char *copy = defuse(c, data, &len);
	GMimeStream *st;
	GMimeParser *p;
	GMimeMessage *msg;

	if (copy) {
		st = g_mime_stream_mem_new_with_byte_array(
			g_byte_array_new_take((guint8 *)copy, len));
	} else if (lent) {
		*lent = g_byte_array_new_take((guint8 *)data, len);
		st = g_mime_stream_mem_new_with_byte_array(*lent);
		g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(st), FALSE);
	} else {
		st = g_mime_stream_mem_new_with_buffer(data, len);
	}
	p = g_mime_parser_new_with_stream(st);
	g_mime_parser_set_format(p, GMIME_FORMAT_MESSAGE);
	msg = g_mime_parser_construct_message(p, c->opts);
	g_object_unref(p);
	g_object_unref(st);
	return msg;
}

/* Where the header block starts, or -1 when DATA does not start with one:
 * an optional BOM, blank lines and mbox "From " line, then a field name
 * (printable ASCII without ':') and a colon. */
static long
header_start(const char *data, size_t len)
{
	size_t i = 0, j;

	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len && (data[i] == '\r' || data[i] == '\n'))
		i++;
	if (len - i >= 5 && memcmp(data + i, "From ", 5) == 0) {
		const char *nl = memchr(data + i, '\n', len - i);

		if (nl == NULL)
			return -1;
		i = (size_t)(nl - data) + 1;
	}
	for (j = i; j < len && j - i < 998; j++) {
		unsigned char ch = (unsigned char)data[j];

		if (ch == ':')
			break;
		if (ch <= ' ' || ch >= 0x7f) {
			/* "Subject :" is seen in the wild. */
			size_t k = j;

			while (k < len && (data[k] == ' ' || data[k] == '\t'))
				k++;
			if (k < len && data[k] == ':' && j > i) {
				j = k;
				break;
			}
			return -1;
		}
	}
	if (j >= len || j == i || data[j] != ':')
		return -1;
	return (long)i;
}

/* ---- forwards ---------------------------------------------------- */

/* The message inside an attached-message part (a new reference). */
static GMimeMessage *
attached_message(ctx *c, GMimeObject *o)
{
	GByteArray *b;
	GMimeMessage *msg = NULL;
	long off;

	if (GMIME_IS_MESSAGE_PART(o)) {
		msg = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
		return msg ? g_object_ref(msg) : NULL;
	}
	if (!GMIME_IS_PART(o))
		return NULL;
	/* text/rfc822-headers, message/global: the content is a message. */
	b = part_bytes(c, GMIME_PART(o), "attached message");
	off = header_start((const char *)b->data, b->len);
	if (off >= 0)
		msg = parse_message(c, (const char *)b->data + off,
				    b->len - (size_t)off, NULL);
	g_byte_array_free(b, TRUE);
	return msg;
}

static const struct {
	const char *key;
	const char *name;
} inline_keys[] = {
	{ "from", "from" }, { "差出人", "from" }, { "送信者", "from" },
	{ "発信者", "from" }, { "送信元", "from" },
	{ "to", "to" }, { "宛先", "to" }, { "受信者", "to" },
	{ "送信先", "to" }, { "cc", "cc" }, { "ｃｃ", "cc" },
	{ "subject", "subject" }, { "件名", "subject" },
	{ "タイトル", "subject" }, { "題名", "subject" },
	{ "date", "date" }, { "sent", "date" }, { "日付", "date" },
	{ "送信日時", "date" }, { "日時", "date" }, { "送信日", "date" },
	{ "reply-to", "reply-to" }, { "返信先", "reply-to" },
};

/* "Key: value" of an inline header line: the canonical name, or NULL.
 * *VAL points at the value. */
static const char *
inline_key(const char *line, const char **val)
{
	const char *p = line, *colon;
	size_t klen;

	while (*p == ' ' || *p == '\t' || *p == '>' || *p == '*')
		p++;
	colon = strchr(p, ':');
	{
		const char *fw = strstr(p, "\xef\xbc\x9a");   /* '：' */

		if (fw && (colon == NULL || fw < colon)) {
			klen = (size_t)(fw - p);
			*val = fw + 3;
			goto have;
		}
	}
	if (colon == NULL)
		return NULL;
	klen = (size_t)(colon - p);
	*val = colon + 1;
have:
	while (klen > 0 && (p[klen - 1] == ' ' || p[klen - 1] == '*'))
		klen--;
	if (klen == 0 || klen > 24)
		return NULL;
	while (**val == ' ' || **val == '\t' || **val == '*')
		(*val)++;
	for (size_t k = 0; k < G_N_ELEMENTS(inline_keys); k++)
		if (strlen(inline_keys[k].key) == klen &&
		    g_ascii_strncasecmp(p, inline_keys[k].key, klen) == 0)
			return inline_keys[k].name;
	return NULL;
}

/* A forward marker line: "---------- Forwarded message ---------",
 * "-----Original Message-----", "Begin forwarded message:",
 * "-------- 転送メッセージ --------", "-----元のメッセージ-----",
 * "転送されたメッセージ:". */
static int
is_marker(const char *line)
{
	size_t n = strlen(line), dashes = 0;

	while (*line == ' ' || *line == '>' || *line == '\t')
		line++;
	if (n > 120)
		return 0;
	for (const char *p = line; *p; p++)
		if (*p == '-' || *p == '=' || *p == '_')
			dashes++;
	if (has_prefix_ci(line, "begin forwarded message") ||
	    has_prefix_ci(line, "転送されたメッセージ"))
		return 1;
	if (dashes < 3)
		return 0;
	return find_ci(line, strlen(line), "forwarded message") != NULL ||
	       find_ci(line, strlen(line), "original message") != NULL ||
	       strstr(line, "転送") != NULL ||
	       strstr(line, "元のメッセージ") != NULL ||
	       strstr(line, "オリジナル メッセージ") != NULL;
}

static int
is_rule(const char *line)
{
	size_t u = 0;

	for (; *line; line++) {
		if (*line == '_')
			u++;
		else if (*line != ' ' && *line != '\t' && *line != '\r')
			return 0;
	}
	return u >= 8;
}

typedef struct inline_fwd {
	size_t start;   /* offset of the marker or rule */
	size_t body;    /* offset of the forwarded body */
	GPtrArray *hdrs;
} inline_fwd;

/* Read a header block starting at line K of LINES (offsets OFFS).  Fills
 * F and returns 1 when it holds a From and one more field. */
static int
inline_block(char **lines, const size_t *offs, int nlines, int k,
	     inline_fwd *f)
{
	int have_from = 0, fields = 0, blank = 0;
	hdr *last = NULL;

	f->hdrs = g_ptr_array_new_with_free_func(hdr_free);
	for (int end = MIN(nlines, k + MAX_BLOCK_LINES); k < end; k++) {
		const char *val, *name;
		char *l = lines[k];

		g_strchomp(l);
		if (*l == '\0' || strcmp(l, ">") == 0) {
			if (fields == 0 && blank++ < 2)
				continue;
			break;
		}
		name = inline_key(l, &val);
		if (name) {
			hdr_add(f->hdrs, name, val);
			last = g_ptr_array_index(f->hdrs, f->hdrs->len - 1);
			fields++;
			have_from |= strcmp(name, "from") == 0;
		} else if (last && (*l == ' ' || *l == '\t')) {
			char *j = g_strconcat(last->raw, " ", l, NULL);

			g_free(last->raw);
			last->raw = j;
		} else {
			break;
		}
	}
	f->body = k < nlines ? offs[k] : (nlines ? offs[nlines - 1] : 0);
	if (have_from && fields >= 2)
		return 1;
	g_ptr_array_free(f->hdrs, TRUE);
	f->hdrs = NULL;
	return 0;
}

/* Is LINE a separator before a copied message: a marker, or a rule of
 * dashes ("------- Returned Message --------", "--- Below this line is a
 * copy of the message.")? */
static int
is_separator(const char *line)
{
	size_t d = 0;

	if (strlen(line) > 120)
		return 0;
	for (const char *p = line; *p; p++)
		if (*p == '-' || *p == '=' || *p == '_')
			d++;
	return d >= 3 || is_marker(line);
}

/* An RFC 5322 field line: "Name: value" with a field name of printable
 * ASCII. */
static int
field_line(const char *l, char name[32])
{
	size_t i = 0;

	while (l[i] && l[i] != ':' && (unsigned char)l[i] > ' ' &&
	       (unsigned char)l[i] < 0x7f && i < 31) {
		name[i] = g_ascii_tolower(l[i]);
		i++;
	}
	name[i] = '\0';
	return i > 0 && l[i] == ':';
}

/* A raw header block (a bounce's "Returned Message", a mail forwarded as
 * text with all its headers) at line K: at least three fields, among
 * them From and a Received or Message-ID that no hand-typed quote has.
 * Returns the line of its first field, or -1. */
static int
raw_block(char **lines, int nlines, int k)
{
	int first, fields = 0, from = 0, strong = 0;
	char name[32];

	while (k < nlines && *lines[k] == '\0' && fields == 0)
		k++;
	first = k;
	for (int end = MIN(nlines, first + MAX_BLOCK_LINES);
	     k < end && *lines[k] != '\0'; k++) {
		if (*lines[k] == ' ' || *lines[k] == '\t') {
			if (fields == 0)
				return -1;
			continue;
		}
		if (!field_line(lines[k], name))
			break;
		fields++;
		from |= strcmp(name, "from") == 0;
		strong |= strcmp(name, "received") == 0 ||
			  strcmp(name, "message-id") == 0;
	}
	return fields >= 3 && from && strong ? first : -1;
}

enum { FWD_NONE, FWD_FIELDS, FWD_RAW };

/* Find a forwarded or returned message in TEXT: a raw header block after
 * a separator (when RAW), or a block of forward fields after a forward
 * marker or an Outlook rule (when FIELDS). */
static int
find_inline(const char *text, int raw, int fields, inline_fwd *f)
{
	size_t n = MIN(strlen(text), MAX_INLINE_SCAN);
	char *copy = g_strndup(text, n);
	char **lines = g_strsplit(copy, "\n", 20000);
	int nl = (int)g_strv_length(lines), found = FWD_NONE;
	size_t *offs = g_new0(size_t, (size_t)nl + 1);
	size_t o = 0;

	for (int k = 0; k < nl; k++) {
		offs[k] = o;
		o += strlen(lines[k]) + 1;
		g_strchomp(lines[k]);
	}
	for (int k = 0; k < nl && !found; k++) {
		const char *val, *key;
		int first;

		if (raw && is_separator(lines[k]) &&
		    (first = raw_block(lines, nl, k + 1)) >= 0) {
			f->start = offs[k];
			f->body = offs[first];
			found = FWD_RAW;
		} else if (fields && is_marker(lines[k])) {
			f->start = offs[k];
			if (inline_block(lines, offs, nl, k + 1, f))
				found = FWD_FIELDS;
		} else if (fields && is_rule(lines[k]) && k + 1 < nl &&
			   (key = inline_key(lines[k + 1], &val)) &&
			   strcmp(key, "from") == 0) {
			f->start = offs[k];
			if (inline_block(lines, offs, nl, k + 1, f))
				found = FWD_FIELDS;
		}
	}
	if (found && f->body > n)
		f->body = n;
	g_free(offs);
	g_strfreev(lines);
	g_free(copy);
	return found;
}

/* The view of an inline forward found in body B of V. */
static view *
view_of_inline(const view *v, const body *b, inline_fwd *f)
{
	view *in = view_new(v->depth + 1);
	body *nb = body_new(b->html);

	g_ptr_array_free(in->hdrs, TRUE);
	in->hdrs = f->hdrs;
	f->hdrs = NULL;
	nb->charset = g_strdup(b->charset);
	nb->decoder = b->decoder;
	nb->text = g_strdup(b->text + f->body);
	nb->size = strlen(nb->text);
	/* Links that appeared after the header block belong to the
	 * forwarded mail; the forwarder's own (signature, disclaimer) do
	 * not. */
	for (guint i = 0; i < b->hrefs->len; i++) {
		hlink *l = g_ptr_array_index(b->hrefs, i);

		if (l->off >= f->body)
			add_link(nb->hrefs, l->off - f->body, g_strdup(l->url));
	}
	for (guint i = 0; i < b->srcs->len; i++) {
		hlink *l = g_ptr_array_index(b->srcs, i);

		if (l->off >= f->body)
			add_link(nb->srcs, l->off - f->body, g_strdup(l->url));
	}
	g_string_assign(nb->script, b->script->str);
	g_string_assign(nb->hidden, b->hidden->str);
	g_ptr_array_add(in->bodies, nb);
	for (guint i = 0; i < v->attachments->len; i++)
		g_ptr_array_add(in->attachments,
				g_object_ref(g_ptr_array_index(v->attachments,
							       i)));
	for (guint i = 0; i < v->messages->len; i++)
		g_ptr_array_add(in->messages, g_object_ref(
			g_ptr_array_index(v->messages, i)));
	return in;
}

/* Was V sent as a forward?  Phishing and BEC mails carry fake quoted
 * threads ("-----Original Message-----" and a made-up header block) to
 * look like a conversation; unwrapping those would analyse the fiction
 * and treat the real sender as a forwarder.  A participant's forward has
 * a forward prefix in its subject. */
static int
forward_subject(const view *v)
{
	static const char *const pre[] = { "fw:", "fwd:", "fw :", "fwd :",
		"fw：", "fwd：", "ＦＷ", "転送" };
	char *subj = hdr_text(v, "subject");
	int yes = 0;

	if (subj == NULL)
		return 0;
	for (size_t k = 0; k < G_N_ELEMENTS(pre) && !yes; k++)
		yes = find_ci(subj, MIN(strlen(subj), 64), pre[k]) != NULL;
	g_free(subj);
	return yes;
}

/* Are V's attachments, apart from its one attached message, only what a
 * forwarding client or a bounce adds by itself: images of an HTML
 * signature, a TNEF wrapper, or the parts of a multipart/report? */
static int
only_incidental(const view *v)
{
	if (v->report)
		return 1;
	for (guint i = 0; i < v->attachments->len; i++) {
		char *t = mime_type(g_ptr_array_index(v->attachments, i));
		int ok = g_str_has_prefix(t, "image/") ||
			 strcmp(t, "application/ms-tnef") == 0;

		g_free(t);
		if (!ok)
			return 0;
	}
	return 1;
}

/* The forward inside V, if any: the view of the forwarded mail. */
static view *
unwrap(ctx *c, const view *v, const char **kind, GMimeMessage **keep)
{
	int fw;

	*keep = NULL;
	if (v->messages->len == 1 && only_incidental(v)) {
		GMimeMessage *msg = attached_message(c,
			g_ptr_array_index(v->messages, 0));

		if (msg) {
			*kind = "attachment";
			*keep = msg;
			return view_of_message(c, msg, v->depth + 1);
		}
	}
	if (v->messages->len > 0)
		return NULL;
	fw = forward_subject(v);
	/* Plain text first: its lines are what the client wrote; raw
	 * header blocks only there, since HTML rendering loses the lines. */
	for (int pass = 0; pass < 2; pass++) {
		for (guint i = 0; i < v->bodies->len; i++) {
			body *b = g_ptr_array_index(v->bodies, i);
			inline_fwd f = { 0 };
			GMimeMessage *msg;
			int k;

			if (b->html != pass)
				continue;
			k = find_inline(b->text, !pass, fw, &f);
			if (k == FWD_NONE || f.start > MAX_FORWARD_NOTE) {
				/* Too far down to be a forward: a quoted
				 * thread. */
				if (f.hdrs)
					g_ptr_array_free(f.hdrs, TRUE);
				continue;
			}
			*kind = "inline";
			if (k == FWD_FIELDS)
				return view_of_inline(v, b, &f);
			msg = parse_message(c, b->text + f.body,
					    strlen(b->text + f.body), NULL);
			if (msg == NULL)
				continue;
			*keep = msg;
			return view_of_message(c, msg, v->depth + 1);
		}
	}
	return NULL;
}

/* ---- Received ---------------------------------------------------- */

typedef struct hop {
	char *from;     /* name the client gave (HELO) or first word */
	char *rdns;     /* name the receiver looked up */
	char *by;
	char *ip;       /* canonical */
	char *date;     /* ISO 8601 */
	int ip_public;
	int local;      /* a hop without a network client */
	int external;
	int provider;
} hop;

static void
hop_free(gpointer p)
{
	hop *h = p;

	g_free(h->from);
	g_free(h->rdns);
	g_free(h->by);
	g_free(h->ip);
	g_free(h->date);
	g_free(h);
}

static char *
iso_date(const char *s)
{
	GDateTime *dt;
	char *r;

	if (s == NULL || *s == '\0')
		return NULL;
	dt = g_mime_utils_header_decode_date(s);
	if (dt == NULL)
		return NULL;
	r = g_date_time_format(dt, g_date_time_get_utc_offset(dt) == 0 ?
			       "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%dT%H:%M:%S%:z");
	g_date_time_unref(dt);
	return r;
}

/* Parse TEXT as an IP address; *FLAGS gets the indicator flags. */
static char *
as_ip(ctx *c, const char *text, unsigned *flags)
{
	const csip_indicator *ind;
	size_t n;

	if (has_prefix_ci(text, "ipv6:"))
		text += 5;
	n = strlen(text);
	if (n < 2 || n > 64 || !(strchr(text, '.') || strchr(text, ':')))
		return NULL;
	ind = parsed(c, text, CSIP_IND_UNKNOWN);
	if (ind == NULL || (ind->type != CSIP_IND_IPV4 &&
			    ind->type != CSIP_IND_IPV6))
		return NULL;
	*flags = ind->flags;
	return g_strdup(ind->value);
}

static int
is_ip(ctx *c, const char *text)
{
	unsigned fl = 0;
	char *r = as_ip(c, text, &fl);

	g_free(r);
	return r != NULL;
}

static char *
registrable(ctx *c, const char *host)
{
	const csip_indicator *ind;

	if (host == NULL || strchr(host, '.') == NULL)
		return NULL;
	ind = parsed(c, host, CSIP_IND_UNKNOWN);
	if (ind && (ind->type == CSIP_IND_HOSTNAME ||
		    ind->type == CSIP_IND_DOMAIN) && ind->registrable)
		return g_ascii_strdown(ind->registrable, -1);
	return NULL;
}

/* Split a Received value into words and (comments) at depth 0. */
static GPtrArray *
received_tokens(const char *s)
{
	GPtrArray *t = g_ptr_array_new_with_free_func(g_free);
	size_t i = 0, n = strlen(s);

	while (i < n && t->len < 200) {
		size_t st;

		while (i < n && g_ascii_isspace(s[i]))
			i++;
		if (i >= n)
			break;
		st = i;
		if (s[i] == '(') {
			int d = 0;

			for (; i < n; i++) {
				if (s[i] == '(')
					d++;
				else if (s[i] == ')' && --d == 0) {
					i++;
					break;
				}
			}
		} else {
			while (i < n && !g_ascii_isspace(s[i]) && s[i] != '(')
				i++;
		}
		g_ptr_array_add(t, g_strndup(s + st, i - st));
	}
	return t;
}

static int
is_clause(const char *w)
{
	static const char *const kw[] = { "from", "by", "via", "with", "id",
					   "for" };

	for (size_t i = 0; i < G_N_ELEMENTS(kw); i++)
		if (g_ascii_strcasecmp(w, kw[i]) == 0)
			return 1;
	return 0;
}

/* An IP literal inside a comment or bracket: "[192.0.2.1]",
 * "(192.0.2.1)", "[IPv6:2001:db8::1]", "(HELO x) (192.0.2.1)". */
static char *
ip_in(ctx *c, const char *s, unsigned *flags)
{
	char **w = g_strsplit_set(s, " ()[]\t,=", -1);
	char *r = NULL;

	for (int i = 0; w[i] && !r && i < 50; i++) {
		size_t l = strlen(w[i]);

		if (l && (w[i][l - 1] == '.' || w[i][l - 1] == ';'))
			w[i][l - 1] = '\0';
		r = as_ip(c, w[i], flags);
	}
	g_strfreev(w);
	return r;
}

static char *
clean_host(const char *w)
{
	char *h = g_strdup(w);
	size_t l;

	g_strdelimit(h, "[]<>;", ' ');
	g_strstrip(h);
	l = strlen(h);
	if (l && h[l - 1] == '.')
		h[l - 1] = '\0';
	if (*h == '\0' || strlen(h) > 255) {
		g_free(h);
		return NULL;
	}
	return h;
}

static hop *
parse_received(ctx *c, const char *raw)
{
	char *line = csip_mail_charset_header(raw, strlen(raw));
	char *semi = strrchr(line, ';');
	hop *h = g_new0(hop, 1);
	GPtrArray *t;
	unsigned flags = 0;
	int have_from = 0;

	if (semi) {
		h->date = iso_date(semi + 1);
		*semi = '\0';
	}
	t = received_tokens(line);
	for (guint i = 0; i < t->len; i++) {
		const char *w = g_ptr_array_index(t, i);

		if (g_ascii_strcasecmp(w, "from") == 0 && !have_from) {
			have_from = 1;
			for (i++; i < t->len; i++) {
				const char *x = g_ptr_array_index(t, i);

				if (is_clause(x)) {
					i--;
					break;
				}
				if (x[0] == '(') {
					char **ws;

					if (h->ip == NULL)
						h->ip = ip_in(c, x, &flags);
					/* "(rdns [ip])": a name before the
					 * address is the looked-up one. */
					ws = g_strsplit_set(x + 1, " )[", 3);
					if (h->rdns == NULL && ws[0] &&
					    strchr(ws[0], '.') &&
					    !is_ip(c, ws[0]) &&
					    !has_prefix_ci(ws[0], "helo"))
						h->rdns = clean_host(ws[0]);
					g_strfreev(ws);
				} else if (h->from == NULL) {
					h->from = clean_host(x);
				} else if (h->ip == NULL) {
					h->ip = ip_in(c, x, &flags);
				}
			}
		} else if (g_ascii_strcasecmp(w, "by") == 0 && h->by == NULL &&
			   i + 1 < t->len) {
			h->by = clean_host(g_ptr_array_index(t, i + 1));
			i++;
		} else if (g_ascii_strcasecmp(w, "for") == 0 &&
			   i + 1 < t->len) {
			victims_from_text(c, g_ptr_array_index(t, i + 1));
			i++;
		}
	}
	g_ptr_array_free(t, TRUE);
	/* "from [192.0.2.1]": the client named itself by address.  Only
	 * when no comment gave the address the receiver saw, since the
	 * HELO literal is the client's claim. */
	if (h->ip == NULL && h->from)
		h->ip = as_ip(c, h->from, &flags);
	/* A rDNS equal to the address is no name. */
	if (h->rdns && h->ip && g_ascii_strcasecmp(h->rdns, h->ip) == 0)
		g_clear_pointer(&h->rdns, g_free);
	h->local = !have_from || (h->from &&
		(g_ascii_strcasecmp(h->from, "localhost") == 0 ||
		 has_prefix_ci(h->from, "localhost."))) ||
		find_ci(line, strlen(line), "invoked by") != NULL ||
		find_ci(line, strlen(line), "from userid") != NULL ||
		find_ci(line, strlen(line), "with local") != NULL ||
		find_ci(line, strlen(line), "with lmtp") != NULL;
	if (h->ip) {
		h->ip_public = !(flags & (CSIP_IND_F_PRIVATE |
					  CSIP_IND_F_LOOPBACK |
					  CSIP_IND_F_LINKLOCAL |
					  CSIP_IND_F_RESERVED));
		h->external = h->ip_public && !h->local;
	} else {
		h->external = !h->local;
	}
	g_free(line);
	return h;
}

/* Is a hop's client (by rDNS or HELO name) in a provider domain? */
static int
client_in(ctx *c, GHashTable *prov, const hop *h)
{
	char *r1 = registrable(c, h->rdns), *r2 = registrable(c, h->from);
	int in = (r1 && g_hash_table_contains(prov, r1)) ||
		 (r2 && g_hash_table_contains(prov, r2));

	g_free(r1);
	g_free(r2);
	return in;
}

/* Mark the provider's hops and find the border and the origin (see the
 * comment at the top of this file).  Returns the border index or -1. */
static int
walk_received(ctx *c, GPtrArray *hops, const char **border_ip,
	      const char **origin)
{
	GHashTable *prov = g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, NULL);
	int border = -1;

	*border_ip = *origin = NULL;
	for (guint k = 0; k < hops->len; k++) {
		hop *h = g_ptr_array_index(hops, k);
		char *r = registrable(c, h->by);

		if (r)
			g_hash_table_add(prov, r);
		if (!h->external || client_in(c, prov, h)) {
			h->provider = 1;
			continue;
		}
		border = (int)k;
		break;
	}
	g_hash_table_destroy(prov);
	if (border < 0)
		return -1;
	if (((hop *)g_ptr_array_index(hops, border))->ip_public)
		*border_ip = ((hop *)g_ptr_array_index(hops, border))->ip;
	for (int k = (int)hops->len - 1; k >= border; k--) {
		hop *h = g_ptr_array_index(hops, k);

		if (h->external && h->ip_public) {
			*origin = h->ip;
			break;
		}
	}
	return border;
}

static json_t *
received_json(ctx *c, const view *v, json_t *root)
{
	GPtrArray *hops = g_ptr_array_new_with_free_func(hop_free);
	json_t *arr = json_array();
	const char *border_ip, *origin;
	int border;

	for (guint i = 0; i < v->hdrs->len && hops->len < MAX_RECEIVED; i++) {
		hdr *h = g_ptr_array_index(v->hdrs, i);

		if (strcmp(h->name, "received") == 0)
			g_ptr_array_add(hops, parse_received(c, h->raw));
	}
	border = walk_received(c, hops, &border_ip, &origin);
	if (origin)
		add_ind(c, CSIP_IND_UNKNOWN, origin, "header:originating-ip");
	for (guint k = 0; k < hops->len; k++) {
		hop *h = g_ptr_array_index(hops, k);
		json_t *o = json_object();

		jset(o, "from", h->from);
		jset(o, "rdns", h->rdns);
		jset(o, "by", h->by);
		jset(o, "ip", h->ip);
		jset(o, "date", h->date);
		json_object_set_new(o, "external", json_boolean(h->external));
		json_object_set_new(o, "provider", json_boolean(h->provider));
		json_array_append_new(arr, o);
		if (border < 0 || (int)k < border || !h->external)
			continue;
		if (h->ip_public)
			add_ind(c, CSIP_IND_UNKNOWN, h->ip, "header:received");
		add_host(c, h->rdns, "header:received");
		if (h->from && !is_ip(c, h->from))
			add_host(c, h->from, "header:received");
		/* Below the border the receivers are the sender's. */
		if ((int)k > border)
			add_host(c, h->by, "header:received");
	}
	jset(root, "originating_ip", origin);
	jset(root, "border_ip", border_ip);
	g_ptr_array_free(hops, TRUE);
	return arr;
}

/* ---- Authentication-Results -------------------------------------- */

static char *
strip_comments(const char *s)
{
	GString *g = g_string_new(NULL);
	int d = 0, q = 0;

	for (; *s; s++) {
		if (*s == '"' && d == 0)
			q = !q;
		if (!q && *s == '(') {
			d++;
			continue;
		}
		if (!q && *s == ')' && d > 0) {
			d--;
			continue;
		}
		if (d == 0)
			g_string_append_c(g, *s);
	}
	return g_string_free(g, FALSE);
}

static void
auth_results(const char *value, char *verdict[3])
{
	static const char *const methods[3] = { "spf", "dkim", "dmarc" };
	char *s = strip_comments(value);
	char **el = g_strsplit(s, ";", 64);

	for (int i = 0; el[i]; i++) {
		char *e = g_strstrip(el[i]);
		char *eq = strchr(e, '=');
		char *m;

		if (eq == NULL)
			continue;
		/* "authserv-id spf=pass": the method is the last word
		 * before '='. */
		*eq = '\0';
		m = strrchr(e, ' ');
		m = m ? m + 1 : e;
		for (int k = 0; k < 3; k++) {
			char *r, *end;

			if (verdict[k] || g_ascii_strcasecmp(m, methods[k]))
				continue;
			r = eq + 1;
			end = r;
			while (*end && !g_ascii_isspace(*end))
				end++;
			if (end > r && end - r < 32)
				verdict[k] = g_ascii_strdown(r, end - r);
		}
	}
	g_strfreev(el);
	g_free(s);
}

static json_t *
auth_json(const view *v)
{
	char *verdict[3] = { NULL, NULL, NULL };
	json_t *o = json_object();
	char *spf;

	/* The topmost header is the provider's own verdict; lower ones may
	 * come from the sender's side, so each method is taken once, from
	 * the highest header that has it. */
	for (guint i = 0; i < v->hdrs->len; i++) {
		hdr *h = g_ptr_array_index(v->hdrs, i);

		if (strcmp(h->name, "authentication-results") == 0) {
			char *t = csip_mail_charset_header(h->raw,
							   strlen(h->raw));

			auth_results(t, verdict);
			g_free(t);
		}
	}
	if (verdict[0] == NULL && (spf = hdr_text(v, "received-spf"))) {
		char *end = spf;

		while (*end && !g_ascii_isspace(*end))
			end++;
		if (end > spf && end - spf < 32)
			verdict[0] = g_ascii_strdown(spf, end - spf);
		g_free(spf);
	}
	jset(o, "spf", verdict[0]);
	jset(o, "dkim", verdict[1]);
	jset(o, "dmarc", verdict[2]);
	for (int k = 0; k < 3; k++)
		g_free(verdict[k]);
	return o;
}

/* ---- passwords --------------------------------------------------- */

static int
is_pw_keyword(const char *t)
{
	static const char *const kw[] = {
		"password", "passwd", "pass", "pw", "pwd", "passcode",
		"passphrase", "kennwort", "mot de passe",
	};

	char f = g_ascii_tolower(t[0]);

	/* Every word of every text comes here: the keywords start with
	 * 'p', 'k' or 'm', so most words end at their first byte. */
	for (size_t i = 0; (f == 'p' || f == 'k' || f == 'm') &&
	     i < G_N_ELEMENTS(kw); i++)
		if (g_ascii_strcasecmp(t, kw[i]) == 0)
			return 1;
	/* The Japanese keywords are all bytes >= 0x80: a word without one
	 * holds none of them (most words, read once here, not four
	 * times). */
	for (const char *p = t;; p++) {
		if (*p == '\0')
			return 0;
		if ((unsigned char)*p >= 0x80)
			break;
	}
	return strstr(t, "パスワード") != NULL || strstr(t, "暗証") != NULL ||
	       strstr(t, "解凍") != NULL || strcmp(t, "パス") == 0;
}

static int
ascii_token(const char *t)
{
	size_t n = strlen(t);

	if (n < 3 || n > 64)
		return 0;
	for (; *t; t++)
		if ((unsigned char)*t <= ' ' || (unsigned char)*t >= 0x7f)
			return 0;
	return 1;
}

/* Split LINE into tokens at blanks and punctuation, and again where
 * Japanese meets ASCII ("パスワードはabc123です"). */
static int
pw_sep(gunichar u)
{
	return u == (gunichar)-1 || u == (gunichar)-2 ||
	       g_unichar_isspace(u) ||
	       (u < 0x80 && strchr(":=\"'()<>[]{},;", (int)u)) ||
	       (u >= 0x3000 && u <= 0x303f) || u == 0xff1a ||
	       u == 0xff1d || u == 0xff08 || u == 0xff09;
}

/* The tokens of one line: each one's bytes and a NUL in BUF, where AT
 * says.  One buffer and one array serve every line of every text (a
 * string and a slot a word was a third of collect_passwords()). */
typedef struct pw_toks {
	GString *buf;
	GArray *at;        /* guint: offsets into buf */
} pw_toks;

static void
pw_tokens(const char *line, pw_toks *t)
{
	static gsize once;
	static guint8 ascii_sep[0x80];
	GString *buf = t->buf;
	gsize start = 0;   /* where the current token starts in buf */
	int cur_ascii = -1;
	const char *next;

	/* Every character of every text comes here: an ASCII byte is its
	 * own character, and pw_sep() of it is read from a table made by
	 * pw_sep() itself. */
	if (g_once_init_enter(&once)) {
		for (gunichar c = 0; c < 0x80; c++)
			ascii_sep[c] = (guint8)pw_sep(c);
		g_once_init_leave(&once, 1);
	}
	g_string_truncate(buf, 0);
	g_array_set_size(t->at, 0);
	for (const char *p = line; *p && t->at->len < 200; p = next) {
		gunichar u;
		int sep, a;

		if ((unsigned char)*p < 0x80) {
			u = (unsigned char)*p;
			sep = ascii_sep[u];
			next = p + 1;
		} else {
			u = g_utf8_get_char_validated(p, -1);
			sep = pw_sep(u);
			next = g_utf8_next_char(p);
		}
		a = u < 0x80;
		if (u == (gunichar)-1 || u == (gunichar)-2)
			break;
		if (sep || (buf->len > start && a != cur_ascii)) {
			if (buf->len > start) {
				guint at = (guint)start;

				g_string_append_c(buf, '\0');
				g_array_append_val(t->at, at);
				start = buf->len;
			}
			if (sep)
				continue;
		}
		if (a)
			g_string_append_c(buf, (char)u);
		else
			g_string_append_unichar(buf, u);
		cur_ascii = a;
	}
	if (buf->len > start) {
		guint at = (guint)start;

		g_string_append_c(buf, '\0');
		g_array_append_val(t->at, at);
	}
}

/* Add T to the candidates C once; SEEN holds C's strings (every word of
 * 4 to 20 characters of every body comes here). */
static void
pw_add(GPtrArray *c, GHashTable *seen, const char *t)
{
	char *d;

	if (c->len >= MAX_PASSWORDS || !ascii_token(t) ||
	    g_hash_table_contains(seen, t))
		return;
	d = g_strdup(t);
	g_ptr_array_add(c, d);
	g_hash_table_add(seen, d);
}

/* Password candidates from the text of every body: first what follows a
 * password keyword (on its line, or the next line), then every short
 * token, since a password is often sent with no label at all. */
static void
collect_passwords(GPtrArray *cands, GPtrArray *texts)
{
	GPtrArray *shorts = g_ptr_array_new_with_free_func(g_free);
	GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
	pw_toks tok = { g_string_new(NULL), g_array_new(FALSE, FALSE,
							 sizeof(guint)) };

	for (guint i = 0; i < cands->len; i++)
		g_hash_table_add(seen, g_ptr_array_index(cands, i));
	for (guint t = 0; t < texts->len; t++) {
		const char *text = g_ptr_array_index(texts, t);
		char *copy = g_strndup(text, MIN(strlen(text), 256 * 1024));
		char *line = copy, *nl;
		int want_next = 0, more = *copy != '\0';

		/* The lines g_strsplit(copy, "\n", 5000) gave: none of an
		 * empty text, and the rest of the text as the 5,000th. */
		for (int k = 0; more; k++, line = nl + 1) {
			int after = -1, took = 0;

			nl = k < 4999 ? strchr(line, '\n') : NULL;
			if (nl)
				*nl = '\0';
			pw_tokens(line, &tok);
			for (guint i = 0; i < tok.at->len; i++) {
				const char *w = tok.buf->str +
					g_array_index(tok.at, guint, i);

				if (want_next && ascii_token(w)) {
					pw_add(cands, seen, w);
					want_next = 0;
				}
				if (is_pw_keyword(w)) {
					after = (int)i;
					continue;
				}
				if (after >= 0 && took < 3 && ascii_token(w) &&
				    !is_pw_keyword(w)) {
					pw_add(cands, seen, w);
					took++;
				}
				if (strlen(w) >= 4 && strlen(w) <= 20 &&
				    shorts->len < 256)
					g_ptr_array_add(shorts, g_strdup(w));
			}
			if (tok.at->len)
				want_next = after >= 0 && took == 0;
			if (!nl)
				break;
		}
		g_free(copy);
	}
	g_string_free(tok.buf, TRUE);
	g_array_free(tok.at, TRUE);
	for (guint i = 0; i < shorts->len; i++)
		pw_add(cands, seen, g_ptr_array_index(shorts, i));
	g_hash_table_destroy(seen);
	g_ptr_array_free(shorts, TRUE);
}

char **
csip_mail_passwords(const char *const *texts, size_t n)
{
	GPtrArray *t = g_ptr_array_sized_new((guint)n);
	GPtrArray *pw = g_ptr_array_new();

	for (size_t i = 0; i < n; i++)
		g_ptr_array_add(t, (gpointer)texts[i]);
	collect_passwords(pw, t);
	g_ptr_array_add(pw, NULL);
	g_ptr_array_free(t, TRUE);
	return (char **)g_ptr_array_free(pw, FALSE);
}

/* ---- attachments ------------------------------------------------- */

static void analyse_nested(ctx *c, GMimeMessage *msg, unsigned depth,
			   json_t *out);

typedef struct blob_ctx {
	ctx *c;
	unsigned depth;
	const char *prefix;
	json_t *members;
} blob_ctx;

static void process_blob(ctx *c, const char *filename, const char *declared,
			 const unsigned char *data, size_t len, unsigned depth,
			 const char *role, const char *prefix, json_t *obj);

static void
on_member(const csip_mail_archive_member *mem, void *ud)
{
	blob_ctx *b = ud;
	json_t *o = json_object();

	b->c->parts++;
	jset(o, "filename", mem->name);
	if (mem->data == NULL) {
		char *w = where_of(b->prefix, "archive-member", "name");

		json_object_set_new(o, "size", json_integer((json_int_t)
							    mem->size));
		json_object_set_new(o, "encrypted",
				    json_boolean(mem->encrypted));
		if (mem->damaged)
			json_object_set_new(o, "damaged", json_true());
		add_ind(b->c, CSIP_IND_FILENAME, mem->name, w);
		g_free(w);
	} else {
		process_blob(b->c, mem->name, NULL, mem->data, mem->size,
			     b->depth, "archive-member", b->prefix, o);
	}
	json_array_append_new(b->members, o);
}

static int
name_ends(const char *name, const char *ext)
{
	size_t n = name ? strlen(name) : 0, e = strlen(ext);

	return n > e && g_ascii_strcasecmp(name + n - e, ext) == 0;
}

static void
open_archive(ctx *c, const char *label, const unsigned char *data,
	     size_t len, unsigned depth, const char *prefix, json_t *obj)
{
	csip_mail_archive_result res;
	blob_ctx b = { c, depth + 1, prefix, json_array() };

	c->budget.members_left = c->parts < c->lim.max_parts ?
				 c->lim.max_parts - c->parts : 0;
	csip_mail_archive_walk(data, len, c->passwords, &c->budget, on_member,
			       &b, &res);
	if (res.opened) {
		jset(obj, "archive_format", res.format);
		json_object_set_new(obj, "encrypted",
				    json_boolean(res.encrypted));
		if (res.password)
			jset(obj, "password", res.password);
		if (res.bomb)
			json_object_set_new(obj, "bomb", json_true());
		json_object_set_new(obj, "members", b.members);
		if (res.encrypted && res.password == NULL)
			warn(c, "%s: encrypted archive; no password found in "
			     "the mail opened it", label);
	} else {
		json_decref(b.members);
	}
	for (guint i = 0; i < res.warnings->len; i++)
		warn(c, "%s: %s", label,
		     (char *)g_ptr_array_index(res.warnings, i));
	csip_mail_archive_result_clear(&res);
}

/* Hash, type, and open one attachment or archive member, into OBJ. */
static void
process_blob(ctx *c, const char *filename, const char *declared,
	     const unsigned char *data, size_t len, unsigned depth,
	     const char *role, const char *prefix, json_t *obj)
{
	facts f;
	const char *md5, *sha1, *sha256, *detected, *ssdeep;
	char *wname = where_of(prefix, role, "name");
	char *whash = where_of(prefix, role, "hash");
	char *label = shown(filename ? filename : role);
	int has_ssdeep;

	blob_facts(data, len, &f);
	md5 = f.md5;
	sha1 = f.sha1;
	sha256 = f.sha256;
	detected = f.detected;
	ssdeep = f.ssdeep;
	has_ssdeep = f.has_ssdeep;
	if (data == NULL)
		data = (const unsigned char *)"";   /* an empty part */
	if (filename) {
		jset(obj, "filename", filename);
		add_ind(c, CSIP_IND_FILENAME, filename, wname);
		add_text(c, filename, strlen(filename), wname);
	}
	if (declared)
		jset(obj, "declared_type", declared);
	jset(obj, "detected_type", detected);
	json_object_set_new(obj, "size", json_integer((json_int_t)len));
	jset(obj, "md5", md5);
	jset(obj, "sha1", sha1);
	jset(obj, "sha256", sha256);
	jset(obj, "ssdeep", has_ssdeep ? ssdeep : NULL);
	add_ind(c, CSIP_IND_MD5, md5, whash);
	add_ind(c, CSIP_IND_SHA1, sha1, whash);
	add_ind(c, CSIP_IND_SHA256, sha256, whash);
	if (has_ssdeep && len >= SSDEEP_MIN)
		add_ind(c, CSIP_IND_SSDEEP, ssdeep, whash);
	g_ptr_array_add(c->m->sha256, g_strdup(sha256));

	if (depth >= c->lim.max_depth &&
	    (csip_mail_archive_is_archive(detected) ||
	     g_strcmp0(detected, "message/rfc822") == 0)) {
		warn(c, "%s: nested deeper than %u levels; not opened", label,
		     c->lim.max_depth);
	} else if (g_strcmp0(detected, "message/rfc822") == 0 ||
		   g_strcmp0(declared, "message/rfc822") == 0 ||
		   name_ends(filename, ".eml")) {
		long off = header_start((const char *)data, len);
		GMimeMessage *msg = off < 0 ? NULL : parse_message(c,
			(const char *)data + off, len - (size_t)off, NULL);

		if (msg) {
			json_t *sum = json_object();

			analyse_nested(c, msg, depth + 1, sum);
			json_object_set_new(obj, "mail", sum);
			g_object_unref(msg);
		}
	} else if (csip_mail_archive_is_archive(detected) ||
		   ((detected == NULL || strcmp(detected,
			"application/octet-stream") == 0) &&
		    csip_mail_archive_is_archive(declared))) {
		open_archive(c, label, data, len, depth, prefix, obj);
	} else if (g_strcmp0(detected, "text/html") == 0 ||
		   g_strcmp0(detected, "image/svg+xml") == 0 ||
		   name_ends(filename, ".html") ||
		   name_ends(filename, ".htm") ||
		   name_ends(filename, ".shtml") ||
		   name_ends(filename, ".svg")) {
		size_t n = MIN(len, MAX_SCAN);
		char *text = csip_mail_charset_decode(NULL, (const char *)data,
						      n, NULL, NULL);
		body *b = body_new(1);
		char *w;

		html_scan(text, strlen(text), b);
		w = where_of(prefix, role, "html-href");
		for (guint i = 0; i < b->hrefs->len; i++) {
			const char *u = ((hlink *)g_ptr_array_index(b->hrefs,
								   i))->url;

			add_link_ind(c, u, w);
		}
		g_free(w);
		w = where_of(prefix, role, "html-src");
		for (guint i = 0; i < b->srcs->len; i++) {
			const char *u = ((hlink *)g_ptr_array_index(b->srcs,
								   i))->url;

			add_link_ind(c, u, w);
		}
		g_free(w);
		w = where_of(prefix, role, "html-script");
		add_text(c, b->script->str, b->script->len, w);
		g_free(w);
		w = where_of(prefix, role, "html-hidden");
		hidden_urls(c, b->hidden->str, b->hidden->len, w);
		g_free(w);
		w = where_of(prefix, role, "html-text");
		add_text(c, b->text, strlen(b->text), w);
		g_free(w);
		body_free(b);
		g_free(text);
	} else if (detected && g_str_has_prefix(detected, "text/")) {
		size_t n = MIN(len, MAX_SCAN);
		char *text = csip_mail_charset_decode(NULL, (const char *)data,
						      n, NULL, NULL);
		char *w = where_of(prefix, role, "text");

		add_text(c, text, strlen(text), w);
		g_free(w);
		g_free(text);
	}
	facts_clear(&f);
	g_free(wname);
	g_free(whash);
	g_free(label);
}

/* An attachment of the analysed (or a nested) mail, into LIST. */
static void
process_attachment(ctx *c, GMimeObject *o, unsigned depth, const char *prefix,
		   json_t *list)
{
	json_t *obj = json_object();
	char *type = mime_type(o);
	char *fn = part_filename(o);
	char *label = shown(fn ? fn : type);

	if (GMIME_IS_MESSAGE_PART(o) || is_message_type(type)) {
		GMimeMessage *msg = attached_message(c, o);

		jset(obj, "filename", fn);
		jset(obj, "declared_type", type);
		if (fn) {
			char *w = where_of(prefix, "attachment", "name");

			add_ind(c, CSIP_IND_FILENAME, fn, w);
			g_free(w);
		}
		if (msg && depth < c->lim.max_depth) {
			json_t *sum = json_object();

			analyse_nested(c, msg, depth + 1, sum);
			json_object_set_new(obj, "mail", sum);
		} else if (msg) {
			warn(c, "%s: nested deeper than %u levels; not opened",
			     label, c->lim.max_depth);
		}
		if (msg)
			g_object_unref(msg);
	} else if (GMIME_IS_PART(o)) {
		GByteArray *b = part_bytes(c, GMIME_PART(o), label);

		json_object_set_new(obj, "transfer_encoding", jstr(
			encoding_name(g_mime_part_get_content_encoding(
				GMIME_PART(o)))));
		process_blob(c, fn, type, b->data, b->len, depth, "attachment",
			     prefix, obj);
		g_byte_array_free(b, TRUE);
	}
	json_array_append_new(list, obj);
	g_free(type);
	g_free(fn);
	g_free(label);
}

/* ---- the analysed mail ------------------------------------------- */

static json_t *
bodies_json(ctx *c, const view *v, const char *prefix)
{
	json_t *arr = json_array();
	char *w;

	for (guint i = 0; i < v->bodies->len; i++) {
		body *b = g_ptr_array_index(v->bodies, i);
		json_t *o = json_object();
		json_t *hrefs = json_array(), *srcs = json_array();
		size_t tl = strlen(b->text);
		char *cut = NULL;

		jset(o, "type", b->html ? "text/html" : "text/plain");
		jset(o, "charset", b->charset);
		jset(o, "decoder", b->decoder);
		json_object_set_new(o, "size",
				    json_integer((json_int_t)b->size));
		if (tl > MAX_BODY_JSON) {
			const char *e = g_utf8_find_prev_char(b->text,
				b->text + MAX_BODY_JSON);

			cut = g_strndup(b->text, e ? (size_t)(e - b->text) : 0);
		}
		jset(o, "text", cut ? cut : b->text);
		json_object_set_new(o, "truncated", json_boolean(cut != NULL));
		g_free(cut);
		w = where_of(prefix, "body", b->html ? "html-text" : "text");
		add_text(c, b->text, tl, w);
		g_free(w);
		w = where_of(prefix, "body", "html-href");
		for (guint k = 0; k < b->hrefs->len; k++) {
			const char *u = ((hlink *)g_ptr_array_index(b->hrefs,
								   k))->url;

			json_array_append_new(hrefs, jstr(u));
			add_link_ind(c, u, w);
		}
		g_free(w);
		w = where_of(prefix, "body", "html-src");
		for (guint k = 0; k < b->srcs->len; k++) {
			const char *u = ((hlink *)g_ptr_array_index(b->srcs,
								   k))->url;

			json_array_append_new(srcs, jstr(u));
			add_link_ind(c, u, w);
		}
		g_free(w);
		w = where_of(prefix, "body", "html-script");
		add_text(c, b->script->str, b->script->len, w);
		g_free(w);
		w = where_of(prefix, "body", "html-hidden");
		hidden_urls(c, b->hidden->str, b->hidden->len, w);
		g_free(w);
		if (b->html) {
			json_object_set_new(o, "hrefs", hrefs);
			json_object_set_new(o, "srcs", srcs);
		} else {
			json_decref(hrefs);
			json_decref(srcs);
		}
		json_array_append_new(arr, o);
	}
	return arr;
}

static void
addr_inds(ctx *c, GPtrArray *v, const char *where)
{
	for (guint i = 0; i < v->len; i++) {
		addr *a = g_ptr_array_index(v, i);

		if (a->address)
			add_ind(c, CSIP_IND_EMAIL, a->address, where);
		/* "PayPal <service@paypal.com>" <evil@x>: the display name
		 * is part of the lure. */
		if (a->name)
			add_text(c, a->name, strlen(a->name), where);
	}
}

static char *
message_id(const view *v)
{
	const char *raw = hdr_get(v, "message-id");
	char *t, *lt, *gt, *r;

	if (raw == NULL)
		return NULL;
	t = csip_mail_charset_header(raw, MIN(strlen(raw), 998));
	lt = strchr(t, '<');
	gt = lt ? strchr(lt, '>') : NULL;
	if (lt && gt)
		r = g_strndup(lt + 1, (size_t)(gt - lt - 1));
	else
		r = g_strdup(g_strstrip(t));
	g_free(t);
	if (*r == '\0' || strchr(r, ' ')) {
		g_free(r);
		return NULL;
	}
	return r;
}

/* Headers of V into a new object; indicators of the sender's side go to
 * the set when INDS.  *FROM gets the From entries (a new array). */
static json_t *
headers_json(ctx *c, const view *v, int inds, GPtrArray **from_out)
{
	static const char *const singles[] = { "sender", "reply-to",
					       "return-path" };
	static const char *const keys[] = { "sender", "reply_to",
					    "return_path" };
	json_t *o = json_object();
	GPtrArray *from = parse_addrs(c, hdr_get(v, "from"));
	GPtrArray *to = parse_addrs(c, hdr_get(v, "to"));
	GPtrArray *cc = parse_addrs(c, hdr_get(v, "cc"));
	char *subject = hdr_text(v, "subject");
	char *date_raw = hdr_text(v, "date");
	char *mid = message_id(v);
	char *xm = hdr_text(v, "x-mailer"), *ua = hdr_text(v, "user-agent");
	char *xoip = hdr_text(v, "x-originating-ip");
	char *ip = NULL;
	unsigned fl = 0;

	json_object_set_new(o, "from", addr_json(first_addr(from)));
	if (inds)
		addr_inds(c, from, "header:from");
	for (size_t k = 0; k < G_N_ELEMENTS(singles); k++) {
		GPtrArray *a = parse_addrs(c, hdr_get(v, singles[k]));
		char *w = g_strconcat("header:", singles[k], NULL);

		json_object_set_new(o, keys[k], addr_json(first_addr(a)));
		if (inds)
			addr_inds(c, a, w);
		g_free(w);
		g_ptr_array_free(a, TRUE);
	}
	json_object_set_new(o, "to", addrs_json(to));
	json_object_set_new(o, "cc", addrs_json(cc));
	jset(o, "subject", subject);
	{
		char *iso = iso_date(date_raw);

		jset(o, "date", iso);
		g_free(iso);
	}
	jset(o, "date_raw", date_raw);
	jset(o, "message_id", mid);
	jset(o, "x_mailer", xm);
	jset(o, "user_agent", ua);
	if (xoip) {
		g_strdelimit(xoip, "[]", ' ');
		g_strstrip(xoip);
		ip = as_ip(c, xoip, &fl);
	}
	jset(o, "x_originating_ip", ip);
	if (inds) {
		if (subject) {
			add_ind(c, CSIP_IND_EMAIL_SUBJECT, subject,
				"header:subject");
			add_text(c, subject, strlen(subject), "header:subject");
		}
		if (xm)
			add_ind(c, CSIP_IND_X_MAILER, xm, "header:x-mailer");
		if (ua)
			add_ind(c, CSIP_IND_X_MAILER, ua, "header:user-agent");
		if (ip && !(fl & (CSIP_IND_F_PRIVATE | CSIP_IND_F_LOOPBACK |
				  CSIP_IND_F_LINKLOCAL | CSIP_IND_F_RESERVED)))
			add_ind(c, CSIP_IND_UNKNOWN, ip,
				"header:x-originating-ip");
	}
	if (from_out)
		*from_out = from;
	else
		g_ptr_array_free(from, TRUE);
	g_ptr_array_free(to, TRUE);
	g_ptr_array_free(cc, TRUE);
	g_free(subject);
	g_free(date_raw);
	g_free(mid);
	g_free(xm);
	g_free(ua);
	g_free(xoip);
	g_free(ip);
	return o;
}

/* A mail inside the analysed one (attached but not a forward, or inside
 * an archive): a summary, its bodies' and attachments' indicators. */
static void
analyse_nested(ctx *c, GMimeMessage *msg, unsigned depth, json_t *out)
{
	view *v = view_of_message(c, msg, depth);
	json_t *hj, *atts = json_array();

	victims_from_view(c, v);
	hj = headers_json(c, v, 0, NULL);
	json_object_set(out, "from", json_object_get(hj, "from"));
	json_object_set(out, "subject", json_object_get(hj, "subject"));
	json_object_set(out, "date", json_object_get(hj, "date"));
	json_object_set(out, "message_id", json_object_get(hj, "message_id"));
	json_decref(hj);
	json_decref(bodies_json(c, v, "nested:"));
	for (guint i = 0; i < v->attachments->len; i++)
		process_attachment(c, g_ptr_array_index(v->attachments, i),
				   depth, "nested:", atts);
	for (guint i = 0; i < v->messages->len; i++)
		process_attachment(c, g_ptr_array_index(v->messages, i), depth,
				   "nested:", atts);
	json_object_set_new(out, "attachments", atts);
	view_free(v);
}

/* ---- the victim filter ------------------------------------------- */

/* Base64 forms of ADDRESS at each of the three alignments, without the
 * characters that depend on neighbouring bytes. */
static void
b64_forms(const char *address, GPtrArray *out)
{
	size_t l = strlen(address);

	for (size_t k = 0; k < 3; k++) {
		char *buf = g_malloc0(l + 3);
		char *enc;
		size_t skip = k == 0 ? 0 : k + 1, full;

		memcpy(buf + k, address, l);
		enc = g_base64_encode((const guchar *)buf, l + k);
		full = (l + k) / 3 * 4;
		if (full > skip + 8) {
			char *core = g_strndup(enc + skip, full - skip);
			char *url = g_strdup(core);

			g_ptr_array_add(out, core);
			g_strdelimit(url, "+", '-');
			g_strdelimit(url, "/", '_');
			g_ptr_array_add(out, url);
		}
		g_free(enc);
		g_free(buf);
	}
}

/* Replace every case-insensitive occurrence of NEEDLE in S by REP. */
static char *
replace_ci(const char *s, const char *needle, const char *rep, int *hit)
{
	GString *g = g_string_new(NULL);
	size_t n = strlen(needle);

	while (*s) {
		if (g_ascii_strncasecmp(s, needle, n) == 0) {
			g_string_append(g, rep);
			s += n;
			*hit = 1;
		} else {
			g_string_append_c(g, *s++);
		}
	}
	return g_string_free(g, FALSE);
}

/* Is HOST (lower-case) one of the provider's domains or below one? */
static int
provider_host(ctx *c, const char *host, size_t n)
{
	for (int k = 0; c->provider && c->provider[k]; k++) {
		size_t d = strlen(c->provider[k]);

		if (n == d && g_ascii_strncasecmp(host, c->provider[k], n) == 0)
			return 1;
		if (n > d && host[n - d - 1] == '.' &&
		    g_ascii_strncasecmp(host + n - d, c->provider[k], d) == 0)
			return 1;
	}
	return 0;
}

static int
host_char(char ch)
{
	return g_ascii_isalnum(ch) || ch == '-' || ch == '.';
}

/* Replace every address at a provider domain inside VAL ("...?u=taro@
 * victim.example.jp&...") by the placeholder. */
static char *
redact_provider(ctx *c, char *val, int *hit)
{
	GString *g = g_string_new(NULL);
	size_t n = strlen(val), i = 0, done = 0;

	for (; i < n; i++) {
		size_t hs, he, ls;

		if (val[i] != '@')
			continue;
		hs = i + 1;
		he = hs;
		while (he < n && host_char(val[he]))
			he++;
		while (he > hs && val[he - 1] == '.')
			he--;
		if (he == hs || !provider_host(c, val + hs, he - hs))
			continue;
		ls = i;
		while (ls > done && (g_ascii_isalnum(val[ls - 1]) ||
				     strchr("._%+-", val[ls - 1])))
			ls--;
		g_string_append_len(g, val + done, (gssize)(ls - done));
		g_string_append(g, REDACTED);
		done = he;
		i = he - 1;
		*hit = 1;
	}
	g_string_append(g, val + done);
	g_free(val);
	return g_string_free(g, FALSE);
}

/* The host of a URL value ("scheme://host[:port]/..."). */
static const char *
url_host(const char *url, size_t *n)
{
	const char *h = strstr(url, "://"), *e;

	if (h == NULL)
		return NULL;
	h += 3;
	e = h;
	while (*e && *e != '/' && *e != ':' && *e != '?' && *e != '#')
		e++;
	if (memchr(h, '@', (size_t)(e - h)))
		h = (const char *)memchr(h, '@', (size_t)(e - h)) + 1;
	*n = (size_t)(e - h);
	return h;
}

/* Is IND the victim itself: a recipient's address or domain, or (with
 * the provider's domains known) any address, host or URL of those? */
static int
victim_itself(ctx *c, const csip_indicator *ind)
{
	const char *v = ind->value, *h;
	size_t n;

	switch (ind->type) {
	case CSIP_IND_EMAIL:
		h = strrchr(v, '@');
		return g_hash_table_contains(c->victims, v) ||
		       (h && provider_host(c, h + 1, strlen(h + 1)));
	case CSIP_IND_DOMAIN:
	case CSIP_IND_HOSTNAME:
		return g_hash_table_contains(c->victim_hosts, v) ||
		       provider_host(c, v, strlen(v));
	case CSIP_IND_URL:
		h = url_host(v, &n);
		return h && provider_host(c, h, n);
	default:
		return 0;
	}
}

/* Copy the scratch set into the final one, keeping the victims out. */
static void
filter_set(ctx *c)
{
	GPtrArray *b64 = g_ptr_array_new_with_free_func(g_free);
	GHashTableIter it;
	gpointer key;
	size_t n = csip_extract_set_count(c->raw);

	g_hash_table_iter_init(&it, c->victims);
	while (g_hash_table_iter_next(&it, &key, NULL))
		b64_forms(key, b64);
	for (size_t i = 0; i < n; i++) {
		const char *where;
		unsigned count;
		const csip_indicator *ind =
			csip_extract_set_get(c->raw, i, &where, &count);
		char *val;
		int hit = 0, drop = victim_itself(c, ind);
		csip_indicator *copy = NULL;

		if (drop)
			continue;
		val = g_strdup(ind->value);
		/* Every victim address holds an '@', raw or as %40. */
		g_hash_table_iter_init(&it, c->victims);
		while ((strchr(val, '@') || strstr(val, "%40")) &&
		       g_hash_table_iter_next(&it, &key, NULL)) {
			char *r, *at = strchr(key, '@');

			r = replace_ci(val, key, REDACTED, &hit);
			g_free(val);
			val = r;
			if (at) {
				char *pct = g_strdup_printf("%.*s%%40%s",
					(int)(at - (char *)key), (char *)key,
					at + 1);

				r = replace_ci(val, pct, "recipient%40redacted"
					       ".invalid", &hit);
				g_free(val);
				val = r;
				g_free(pct);
			}
		}
		if (c->provider)
			val = redact_provider(c, val, &hit);
		/* Base64 of an address hides in URL parameters. */
		for (guint k = 0; !drop && ind->type == CSIP_IND_URL &&
		     k < b64->len; k++)
			if (strstr(val, g_ptr_array_index(b64, k)))
				drop = 1;
		if (!drop && hit) {
			/* Redacted: the new value must be canonical too. */
			if (csip_indicator_parse(val, strlen(val), ind->type,
						 &copy) < 0 ||
			    copy->type != ind->type) {
				csip_indicator_free(copy);
				copy = NULL;
			}
		} else if (!drop) {
			copy = csip_indicator_dup(ind);
		}
		if (copy) {
			/* The set counts by adding: keep the counts. */
			for (unsigned k = 1; k < count && k < 1000; k++)
				csip_extract_set_add(c->m->set,
					csip_indicator_dup(copy), where);
			csip_extract_set_add(c->m->set, copy, where);
		}
		g_free(val);
	}
	g_ptr_array_free(b64, TRUE);
}

/* ---- public ------------------------------------------------------ */

void
csip_mail_limits_default(csip_mail_limits *lim)
{
	lim->max_size = CSIP_MAIL_MAX_SIZE;
	lim->max_depth = 16;
	lim->max_parts = 2000;
	lim->max_expanded = 256u * 1024 * 1024;
	lim->max_ratio = 100;
}

void
csip_mail_free(csip_mail *m)
{
	if (m == NULL)
		return;
	json_decref(m->json);
	csip_extract_set_free(m->set);
	g_free(m->subject);
	g_free(m->from);
	g_free(m->forwarder);
	g_free(m->message_id);
	g_ptr_array_free(m->sha256, TRUE);
	g_ptr_array_free(m->warnings, TRUE);
	g_free(m);
}

static void
body_texts(const view *v, GPtrArray *out)
{
	for (guint i = 0; i < v->bodies->len; i++)
		g_ptr_array_add(out, ((body *)g_ptr_array_index(v->bodies,
								i))->text);
}

int
csip_mail_parse(const char *data, size_t len, const csip_mail_limits *lim,
		csip_mail **out)
{
	return csip_mail_parse_for(data, len, lim, NULL, out);
}

int
csip_mail_parse_for(const char *data, size_t len,
		    const csip_mail_limits *lim, const char *const *provider,
		    csip_mail **out)
{
	static const char *fallback[] = { "UTF-8", "CP932", "EUC-JP", NULL };
	ctx c;
	GMimeMessage *msg = NULL;
	GPtrArray *views = NULL, *keep = NULL, *texts = NULL;
	GPtrArray *pw = NULL, *from = NULL;
	GByteArray *lent = NULL;    /* around DATA, which GMime reads */
	json_t *root = NULL, *atts;
	const char *kind = NULL;
	view *cur;
	long off;
	int rc = CSIP_OK;

	memset(&c, 0, sizeof c);
	*out = NULL;
	if (lim)
		c.lim = *lim;
	else
		csip_mail_limits_default(&c.lim);
	if (data == NULL && len > 0)
		return csip_error_set(CSIP_EINVAL, "mail: no data");
	if (len > c.lim.max_size)
		return csip_error_set(CSIP_ETOOBIG, "mail of %zu bytes is "
			"above the %zu-byte limit; split it or raise the "
			"limit", len, c.lim.max_size);
	off = data ? header_start(data, len) : -1;
	if (off < 0)
		return csip_error_set(CSIP_EINVAL, "not a mail: the data does "
			"not start with a header block (lines such as "
			"\"From: a@example.com\"); give the raw RFC 5322 "
			"message, not a rendering of it");
	gmime_once();

	c.m = g_new0(csip_mail, 1);
	c.m->sha256 = g_ptr_array_new_with_free_func(g_free);
	c.m->warnings = g_ptr_array_new_with_free_func(g_free);
	c.m->set = csip_extract_set_new();
	c.raw = csip_extract_set_new();
	c.parsed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					 parsed_free);
	c.victims = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					  NULL);
	c.victim_hosts = g_hash_table_new_full(g_str_hash, g_str_equal,
					       g_free, NULL);
	c.provider = g_new0(char *, 1);
	for (int k = 0, n = 0; provider && provider[k] && k < 1000; k++) {
		char *p = g_ascii_strdown(provider[k], -1);

		g_strstrip(p);
		if (strchr(p, '@')) {
			victim_add(&c, p);
			g_free(p);
		} else if (*p) {
			c.provider = g_renew(char *, c.provider, n + 2);
			c.provider[n++] = p;
			c.provider[n] = NULL;
		} else {
			g_free(p);
		}
	}
	c.budget.max_expanded = c.lim.max_expanded;
	c.budget.password_tries = MAX_PASSWORD_TRIES;
	c.budget.max_ratio = c.lim.max_ratio;
	c.opts = g_mime_parser_options_new();
	g_mime_parser_options_set_fallback_charsets(c.opts, fallback);
	g_mime_parser_options_set_rfc2047_compliance_mode(c.opts,
		GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_address_compliance_mode(c.opts,
		GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_parameter_compliance_mode(c.opts,
		GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_allow_addresses_without_domain(c.opts, TRUE);
	g_mime_parser_options_set_warning_callback(c.opts, on_gmime_warning,
						   &c);

	msg = parse_message(&c, data + off, len - (size_t)off, &lent);
	if (msg == NULL) {
		rc = csip_error_set(CSIP_EINVAL, "not a mail: no message could "
			"be read from the data");
		goto out;
	}
	views = g_ptr_array_new();
	keep = g_ptr_array_new_with_free_func(unref_obj);
	cur = view_of_message(&c, msg, 0);
	g_ptr_array_add(views, cur);
	for (int k = 0; k < MAX_UNWRAP; k++) {
		GMimeMessage *inner = NULL;
		view *next = unwrap(&c, cur, &kind, &inner);

		if (inner)
			g_ptr_array_add(keep, inner);
		if (next == NULL)
			break;
		g_ptr_array_add(views, next);
		cur = next;
	}
	for (guint i = 0; i < views->len; i++)
		victims_from_view(&c, g_ptr_array_index(views, i));

	root = json_object();
	if (views->len > 1) {
		GPtrArray *fw = parse_addrs(&c, hdr_get(g_ptr_array_index(
			views, 0), "from"));
		addr *a = first_addr(fw);

		json_object_set_new(root, "forwarded_by", addr_json(a));
		jset(root, "forward", kind);
		if (a && a->address) {
			c.m->forwarder = g_ascii_strdown(a->address, -1);
			victim_add(&c, a->address);
		}
		g_ptr_array_free(fw, TRUE);
	}

	/* Passwords may be in any body, the forwarder's note included. */
	texts = g_ptr_array_new();
	for (guint i = views->len; i-- > 0;)
		body_texts(g_ptr_array_index(views, i), texts);
	pw = g_ptr_array_new_with_free_func(g_free);
	collect_passwords(pw, texts);
	g_ptr_array_add(pw, NULL);
	c.passwords = (char **)pw->pdata;

	json_object_set_new(root, "headers", headers_json(&c, cur, 1, &from));
	json_object_set_new(root, "authentication", auth_json(cur));
	json_object_set_new(root, "received", received_json(&c, cur, root));
	json_object_set_new(root, "bodies", bodies_json(&c, cur, ""));
	atts = json_array();
	for (guint i = 0; i < cur->attachments->len; i++)
		process_attachment(&c, g_ptr_array_index(cur->attachments, i),
				   cur->depth, "", atts);
	for (guint i = 0; i < cur->messages->len; i++)
		process_attachment(&c, g_ptr_array_index(cur->messages, i),
				   cur->depth, "", atts);
	json_object_set_new(root, "attachments", atts);

	{
		addr *a = first_addr(from);

		if (a && a->address)
			c.m->from = g_ascii_strdown(a->address, -1);
	}
	c.m->subject = g_strdup(json_string_value(json_object_get(
		json_object_get(root, "headers"), "subject")));
	c.m->message_id = g_strdup(json_string_value(json_object_get(
		json_object_get(root, "headers"), "message_id")));

	filter_set(&c);
	if (c.dropped_warnings)
		g_ptr_array_add(c.m->warnings, g_strdup_printf("%u more "
			"warnings not shown", c.dropped_warnings));
	json_object_set_new(root, "indicators",
			    csip_extract_set_json(c.m->set));
	{
		json_t *w = json_array();

		for (guint i = 0; i < c.m->warnings->len; i++)
			json_array_append_new(w, jstr(g_ptr_array_index(
				c.m->warnings, i)));
		json_object_set_new(root, "warnings", w);
	}
	c.m->json = root;
	root = NULL;
	*out = c.m;
	c.m = NULL;
	csip_error_clear();
out:
	if (views) {
		for (guint i = 0; i < views->len; i++)
			view_free(g_ptr_array_index(views, i));
		g_ptr_array_free(views, TRUE);
	}
	if (keep)
		g_ptr_array_free(keep, TRUE);
	if (texts)
		g_ptr_array_free(texts, TRUE);
	if (pw)
		g_ptr_array_free(pw, TRUE);
	if (from)
		g_ptr_array_free(from, TRUE);
	json_decref(root);
	if (msg)
		g_object_unref(msg);
	if (lent)   /* after every GMime object that can read DATA */
		g_byte_array_free(lent, FALSE);
	csip_mail_free(c.m);
	csip_extract_set_free(c.raw);
	if (c.parsed)
		g_hash_table_destroy(c.parsed);
	if (c.victims)
		g_hash_table_destroy(c.victims);
	if (c.victim_hosts)
		g_hash_table_destroy(c.victim_hosts);
	g_strfreev(c.provider);
	if (c.opts)
		g_mime_parser_options_free(c.opts);
	return rc;
}

json_t *
csip_mail_json(const csip_mail *m)
{
	return json_deep_copy(m->json);
}

const csip_extract_set *
csip_mail_indicators(const csip_mail *m)
{
	return m->set;
}

const char *
csip_mail_subject(const csip_mail *m)
{
	return m->subject;
}

const char *
csip_mail_from_address(const csip_mail *m)
{
	return m->from;
}

const char *
csip_mail_forwarder_address(const csip_mail *m)
{
	return m->forwarder;
}

const char *
csip_mail_message_id(const csip_mail *m)
{
	return m->message_id;
}

size_t
csip_mail_attachment_count(const csip_mail *m)
{
	return m->sha256->len;
}

const char *
csip_mail_attachment_sha256(const csip_mail *m, size_t i)
{
	return i < m->sha256->len ? g_ptr_array_index(m->sha256, i) : NULL;
}

size_t
csip_mail_warning_count(const csip_mail *m)
{
	return m->warnings->len;
}

const char *
csip_mail_warning(const csip_mail *m, size_t i)
{
	return i < m->warnings->len ? g_ptr_array_index(m->warnings, i) : NULL;
}
