/*
 * export.c - blocklists for the tools members already run (see export.h).
 *
 * Items come from csip_item_list() only, page by page, so the policy
 * decides what each reader gets; the hub lists status 'published', so a
 * withdrawn or unpublished item never reaches a blocklist, whoever reads.
 * Nothing is kept per item or per indicator between pages: memory is a
 * page of items plus two fixed bitmaps (below), however many indicators
 * go out.
 *
 * What each format takes:
 *
 *   suricata  Suricata 7 rules: per domain or host name a dns.query, a
 *             tls.sni and an http.host rule (the name and its sub-domains,
 *             dotprefix + endswith); per ipv4, ipv6, cidr4, cidr6 an ip
 *             rule in both directions.
 *   snort     Snort 3 rules, the same four kinds: the name in DNS wire
 *             form (matches its sub-domains too), in a TLS client hello,
 *             in the HTTP Host header; ip rules as above.
 *   zeek      an intel file: Intel::DOMAIN (domain, hostname), ADDR,
 *             SUBNET, URL (http and https, without the scheme, as Zeek
 *             sees URLs), EMAIL, FILE_HASH (md5, sha1, sha256).
 *   rpz       a zone: SOA (serial: the newest publication time as Unix
 *             seconds), NS, and `name CNAME .` plus `*.name CNAME .` per
 *             domain or host name (NXDOMAIN for the name and below it).
 *   csv       every indicator: type,value,item,tlp,published_at (RFC 4180).
 *   text      every value, or those of one type, one a line.
 *
 * Rule messages name the item and its TLP, never a provider.  Sids come
 * from 9000000-25777215: 9000000 plus a 64-bit FNV-1a hash of the rule
 * kind and the value modulo 2^24, moved to the next free sid on a
 * collision within the export (a bitmap of the range, 2 MB).  A sid is
 * therefore the same from one export to the next as long as the value is
 * exported, except for the few values that collided with another.
 *
 * Validity: items published more than [export] validity_days ago (0: no
 * limit) drop out, by moving the 'since' bound of the listing forward.
 *
 * False positives are counted per item: an indicator of item X drops out
 * when at least [export] false_positive_threshold distinct organisations
 * (0: never) gave false_positive feedback on X naming that indicator, or
 * on X without naming one (flagging the whole item flags each of its
 * indicators).  Feedback on other items does not count, even when they
 * carry the same value: what a reader receives never depends on items it
 * may not see.
 *
 * Each value goes out once per export, from the first item (lowest id)
 * that carries it and may go out; in csv, which names the item, once per
 * item that carries it.  Remembering every value written would
 * grow with the export, so a fixed Bloom filter (4 MB) says which values
 * may have been written; only for those is the question asked again of
 * csip_item_list() with the value as filter (the items before this one
 * carrying it, through the policy like everything else).
 *
 * Values a format cannot carry are left out rather than mangled: control
 * characters (text, zeek: lines and tabs would break the file), names
 * that are not valid in DNS (rpz, counted in a comment at the end).
 */
#include "lib/export.h"
#include "lib/indicator.h"
#include "lib/item.h"
#include "util/error.h"
#include "util/timefmt.h"

#include <glib.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#define PAGE 100               /* items per csip_item_list() page */
#define FLUSH_AT 65536         /* bytes buffered before writing */
#define BLOOM_BITS (1u << 25)  /* 4 MB: 1% false hits at 3.5M values */
#define SID_BASE 9000000u
#define SID_SPAN (1u << 24)    /* sids SID_BASE .. SID_BASE+SID_SPAN-1 */
#define RPZ_MAX_NAME 200       /* leaves room for the zone's own name */

typedef enum { F_SURICATA, F_SNORT, F_ZEEK, F_RPZ, F_CSV, F_TEXT,
	F_STIX } fmt;

static const char *const formats[] = { "suricata", "snort", "zeek", "rpz",
	"csv", "text", "stix", NULL };

static const char *const media[] = {
	"text/plain; charset=utf-8",
	"text/plain; charset=utf-8",
	"text/plain; charset=utf-8",
	"text/dns",
	"text/csv; charset=utf-8; header=present",
	"text/plain; charset=utf-8",
	"application/stix+json;version=2.1",
};

/* A false_positive feedback row of one item. */
typedef struct fp_row {
	int64_t org;
	char *type;        /* NULL: about the whole item */
	char *value;
} fp_row;

typedef struct exp {
	csip_hub *h;
	const csip_reader *r;
	fmt f;
	const char *only;       /* text: one type */
	const char *status;     /* "published" for the hub */
	char since[32];         /* effective lower bound, "" for none */
	int64_t threshold;      /* false positives; 0: off */
	csip_write_fn w;
	void *ud;
	GString *out;
	GString *key, *key2, *tmp;
	uint8_t *bloom;
	uint8_t *sids;
	uint32_t n_sids;
	int64_t cur_id;
	const char *tlp;        /* of the current item, upper case */
	char tlp_buf[16];
	GArray *fp, *fp2;       /* fp_row: the current item, a looked-up one */
	int64_t left_out;
} exp;

const char *const *
csip_export_formats(void)
{
	return formats;
}

static int
format_of(const char *name)
{
	for (int i = 0; name && formats[i]; i++)
		if (strcmp(name, formats[i]) == 0)
			return i;
	return -1;
}

const char *
csip_export_media_type(const char *format)
{
	int f = format_of(format);

	return f < 0 ? "text/plain; charset=utf-8" : media[f];
}

/* ---- hashing: stable across runs and machines (sids depend on it) ---- */

static uint64_t
hash2(const char *a, const char *b)
{
	uint64_t h = 0xcbf29ce484222325u;

	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		h = (h ^ *p) * 0x100000001b3u;
	h = (h ^ 0xff) * 0x100000001b3u;     /* separator no text holds */
	for (const unsigned char *p = (const unsigned char *)b; *p; p++)
		h = (h ^ *p) * 0x100000001b3u;
	/* FNV's low bits mix poorly; finish like splitmix64. */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9u;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebu;
	h ^= h >> 31;
	return h;
}

static int
bit_get(const uint8_t *m, uint32_t i)
{
	return (m[i >> 3] >> (i & 7)) & 1;
}

static void
bit_set(uint8_t *m, uint32_t i)
{
	m[i >> 3] |= (uint8_t)(1u << (i & 7));
}

/* Whether KEY may have been added (no: certainly not). */
static int
bloom_maybe(const exp *e, const char *key)
{
	uint64_t h = hash2("bloom", key);
	uint32_t a = (uint32_t)h, b = (uint32_t)(h >> 32) | 1;

	for (uint32_t k = 0; k < 3; k++)
		if (!bit_get(e->bloom, (a + k * b) % BLOOM_BITS))
			return 0;
	return 1;
}

static void
bloom_add(exp *e, const char *key)
{
	uint64_t h = hash2("bloom", key);
	uint32_t a = (uint32_t)h, b = (uint32_t)(h >> 32) | 1;

	for (uint32_t k = 0; k < 3; k++)
		bit_set(e->bloom, (a + k * b) % BLOOM_BITS);
}

static int
sid_for(exp *e, const char *kind, const char *value, uint32_t *sid)
{
	uint32_t slot;

	if (e->n_sids >= SID_SPAN)
		return csip_error_set(CSIP_ETOOBIG, "more than %u rules: the "
			"sid range %u-%u is full; export with --since or by "
			"reader to split the rules", SID_SPAN, SID_BASE,
			SID_BASE + SID_SPAN - 1);
	slot = (uint32_t)(hash2(kind, value) % SID_SPAN);
	while (bit_get(e->sids, slot))
		slot = (slot + 1) % SID_SPAN;
	bit_set(e->sids, slot);
	e->n_sids++;
	*sid = SID_BASE + slot;
	return CSIP_OK;
}

/* ---- output ---------------------------------------------------------- */

static int
flush(exp *e, int all)
{
	int rc;

	if (e->out->len == 0 || (!all && e->out->len < FLUSH_AT))
		return CSIP_OK;
	rc = e->w(e->ud, e->out->str, e->out->len);
	g_string_truncate(e->out, 0);
	return rc;
}

static int
is_name(const char *type)
{
	return strcmp(type, "domain") == 0 || strcmp(type, "hostname") == 0;
}

static int
is_ip(const char *type)
{
	return strcmp(type, "ipv4") == 0 || strcmp(type, "ipv6") == 0 ||
	       strcmp(type, "cidr4") == 0 || strcmp(type, "cidr6") == 0;
}

static int
has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* A name an RPZ zone can hold: labels of letters, digits, '-' and '_'
 * (underscores occur in real host names; the master-file syntax needs
 * nothing escaped for them), 1 to 63 each, at most RPZ_MAX_NAME in all. */
static int
dns_name_ok(const char *v)
{
	size_t n = strlen(v), label = 0;

	if (n == 0 || n > RPZ_MAX_NAME)
		return 0;
	for (const char *p = v; ; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0 || label > 63)
				return 0;
			if (*p == '\0')
				return 1;
			label = 0;
		} else if (g_ascii_isalnum(*p) || *p == '-' || *p == '_') {
			label++;
		} else {
			return 0;
		}
	}
}

/* Zeek matches URLs without their scheme; the rest of the URL is what it
 * compares.  NULL for schemes Zeek does not see as URLs. */
static const char *
zeek_url(const char *v)
{
	if (g_str_has_prefix(v, "http://"))
		return v + 7;
	if (g_str_has_prefix(v, "https://"))
		return v + 8;
	return NULL;
}

static const char *
zeek_type(const char *type)
{
	static const char *const map[][2] = {
		{ "domain", "Intel::DOMAIN" }, { "hostname", "Intel::DOMAIN" },
		{ "ipv4", "Intel::ADDR" }, { "ipv6", "Intel::ADDR" },
		{ "cidr4", "Intel::SUBNET" }, { "cidr6", "Intel::SUBNET" },
		{ "url", "Intel::URL" }, { "email", "Intel::EMAIL" },
		{ "md5", "Intel::FILE_HASH" }, { "sha1", "Intel::FILE_HASH" },
		{ "sha256", "Intel::FILE_HASH" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(map); i++)
		if (strcmp(type, map[i][0]) == 0)
			return map[i][1];
	return NULL;
}

/* The dedup key of (TYPE, VALUE) in this format, in KEY: 1 when the
 * format takes it, 0 when it does not take the type, -1 when it takes the
 * type but cannot carry this value.  Names are one class (an analyst may
 * file a host as a domain); the key is what the output holds. */
static int
key_of(const exp *e, const char *type, const char *value, GString *key)
{
	const char *z;

	g_string_truncate(key, 0);
	switch (e->f) {
	case F_SURICATA:
	case F_SNORT:
		if (is_name(type) && *value)
			g_string_append(key, "n:");
		else if (is_ip(type))
			g_string_append(key, "i:");
		else
			return 0;
		break;
	case F_ZEEK:
		if ((z = zeek_type(type)) == NULL)
			return 0;
		if (strcmp(type, "url") == 0 &&
		    (value = zeek_url(value)) == NULL)
			return 0;
		/* An empty field is "-" or "(empty)" in Zeek's format. */
		if (has_ctl(value) || strcmp(value, "-") == 0 ||
		    strcmp(value, "(empty)") == 0 || *value == '\0')
			return -1;
		g_string_append_printf(key, "%s:", z);
		break;
	case F_RPZ:
		if (!is_name(type))
			return 0;
		if (!dns_name_ok(value))
			return -1;
		g_string_append(key, "n:");
		break;
	case F_CSV:
	case F_TEXT:
		if (e->only && strcmp(type, e->only) != 0)
			return 0;
		if (e->f == F_TEXT && (strchr(value, '\n') ||
				       strchr(value, '\r') || *value == '\0'))
			return -1;
		g_string_append_printf(key, "%s:", is_name(type) ? "name"
				       : type);
		break;
	case F_STIX:        /* streamed by stix.c, never here */
		return -1;
	}
	g_string_append(key, value);
	return 1;
}

/* ---- false positives ------------------------------------------------- */

static void
fp_clear(GArray *a)
{
	for (guint i = 0; i < a->len; i++) {
		fp_row *x = &g_array_index(a, fp_row, i);

		g_free(x->type);
		g_free(x->value);
	}
	g_array_set_size(a, 0);
}

static int
fp_row_cb(csip_stmt *st, void *ud)
{
	fp_row x = { csip_stmt_int64(st, 0), NULL, NULL };

	if (!csip_stmt_is_null(st, 1) && !csip_stmt_is_null(st, 2)) {
		x.type = g_strdup(csip_stmt_text(st, 1));
		x.value = g_strdup(csip_stmt_text(st, 2));
	}
	g_array_append_val((GArray *)ud, x);
	return CSIP_OK;
}

/* The false_positive feedback on ITEM_ID, an item the policy has just
 * let this reader see, into A.  Only who and which indicator: feedback
 * text never goes out. */
static int
fp_load(exp *e, int64_t item_id, GArray *a)
{
	char ib[24];

	fp_clear(a);
	if (e->threshold <= 0)
		return CSIP_OK;
	g_snprintf(ib, sizeof ib, "%" PRId64, item_id);
	return csip_store_each(csip_hub_store(e->h), fp_row_cb, a,
		"SELECT DISTINCT org_id, indicator_type, indicator_value "
		"FROM feedback WHERE item_id = ? AND kind = 'false_positive' "
		"ORDER BY org_id", ib, NULL);
}

/* Whether enough organisations flagged (TYPE, VALUE) in the item of A.
 * Rows are ordered by organisation, so distinct ones are counted by
 * comparing with the last one counted. */
static int
fp_is(const exp *e, const GArray *a, const char *type, const char *value)
{
	int64_t n = 0, last = 0;

	if (e->threshold <= 0)
		return 0;
	for (guint i = 0; i < a->len; i++) {
		const fp_row *x = &g_array_index(a, fp_row, i);

		if (x->type && (strcmp(x->value, value) != 0 ||
		    (strcmp(x->type, type) != 0 &&
		     !(is_name(x->type) && is_name(type)))))
			continue;
		if (n == 0 || x->org != last) {
			n++;
			last = x->org;
		}
	}
	return n >= e->threshold;
}

/* ---- dedup ------------------------------------------------------------ */

/* Whether item ITEM (with its false positives in FP) writes KEY among its
 * indicators [0, upto). */
static int
item_writes(const exp *e, json_t *item, size_t upto, const GArray *fp,
	    const char *key, GString *scratch)
{
	json_t *inds = json_object_get(item, "indicators");

	for (size_t i = 0; i < upto && i < json_array_size(inds); i++) {
		json_t *x = json_array_get(inds, i);
		const char *t = json_string_value(json_object_get(x, "type"));
		const char *v = json_string_value(json_object_get(x, "value"));

		if (t && v && key_of(e, t, v, scratch) == 1 &&
		    strcmp(scratch->str, key) == 0 && !fp_is(e, fp, t, v))
			return 1;
	}
	return 0;
}

/* Whether the items listed before the current one, carrying (TYPE,
 * LOOKUP), wrote KEY.  They are found through csip_item_list() with the
 * value as filter, so the policy decides here too. */
static int
earlier_item_writes(exp *e, const char *type, const char *lookup,
		    const char *key, int *dup)
{
	csip_item_query q = { 0 };
	json_t *arr = NULL, *x;
	int64_t next = 0;
	size_t i;
	int rc = CSIP_OK;

	q.status = e->status;
	q.since = e->since[0] ? e->since : NULL;
	q.ind_type = type;
	q.ind_value = lookup;
	q.limit = PAGE;
	for (;;) {
		rc = csip_item_list(e->h, e->r, &q, &arr, &next);
		if (rc == CSIP_EINVAL) {
			/* A stored value that no longer parses as its type
			 * cannot be looked up; writing it twice is the safe
			 * side for a blocklist. */
			rc = CSIP_OK;
			goto out;
		}
		if (rc < 0)
			goto out;
		json_array_foreach(arr, i, x) {
			int64_t id = json_integer_value(json_object_get(x,
								       "id"));

			if (id >= e->cur_id)
				goto out;
			if ((rc = fp_load(e, id, e->fp2)) < 0)
				goto out;
			if (item_writes(e, x, SIZE_MAX, e->fp2, key, e->key2)) {
				*dup = 1;
				goto out;
			}
		}
		if (next == 0)
			break;
		q.after_id = next;
		json_decref(arr);
		arr = NULL;
	}
out:
	json_decref(arr);
	return rc;
}

/* Whether KEY (of indicator IDX of ITEM) was written before. */
static int
written_before(exp *e, json_t *item, size_t idx, const char *type,
	       const char *value, const char *key, int *dup)
{
	int rc;

	*dup = 0;
	if (!bloom_maybe(e, key))
		return CSIP_OK;
	if (item_writes(e, item, idx, e->fp, key, e->key2)) {
		*dup = 1;
		return CSIP_OK;
	}
	if ((rc = earlier_item_writes(e, type, value, key, dup)) < 0 || *dup)
		return rc;
	/* Zeek writes http and https URLs alike. */
	if (e->f == F_ZEEK && strcmp(type, "url") == 0) {
		char *alt = g_str_has_prefix(value, "http://")
			? g_strconcat("https://", value + 7, NULL)
			: g_strconcat("http://", value + 8, NULL);

		rc = earlier_item_writes(e, type, alt, key, dup);
		g_free(alt);
	}
	return rc;
}

/* ---- the formats ----------------------------------------------------- */

/* VALUE as the inside of a rule's content string: printable ASCII as it
 * is, everything else and the characters the rule languages reserve
 * (" ; : | \) as |hex| runs, which both Suricata and Snort read. */
static void
rule_content(GString *o, const char *v, size_t n)
{
	int hex = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		int plain = c >= 0x20 && c < 0x7f && !strchr("\";:|\\", c);

		if (plain && hex) {
			g_string_append_c(o, '|');
			hex = 0;
		} else if (!plain) {
			g_string_append_printf(o, hex ? " %02X" : "|%02X", c);
			hex = 1;
		}
		if (plain)
			g_string_append_c(o, (char)c);
	}
	if (hex)
		g_string_append_c(o, '|');
}

/* A message names the item and its TLP, and the value with anything
 * either rule language could read as syntax replaced by '?'. */
static void
rule_msg(exp *e, const char *what, const char *value)
{
	g_string_append_printf(e->out, "msg:\"csip item %" PRId64 " TLP:%s "
		"%s ", e->cur_id, e->tlp, what);
	for (const char *p = value; *p; p++)
		g_string_append_c(e->out, g_ascii_isalnum(*p) ||
			strchr(".-_:/", *p) ? *p : '?');
	g_string_append(e->out, "\"; ");
}

static int
suricata_rules(exp *e, const char *type, const char *value)
{
	static const struct { const char *kind, *proto, *buf; } names[] = {
		{ "dns", "dns", "dns.query" },
		{ "tls", "tls", "tls.sni" },
		{ "http", "http", "http.host" },
	};
	uint32_t sid;
	int rc;

	if (is_ip(type)) {
		if ((rc = sid_for(e, "ip", value, &sid)) < 0)
			return rc;
		g_string_append_printf(e->out, "alert ip $HOME_NET any <> %s "
			"any (", value);
		rule_msg(e, type, value);
		g_string_append_printf(e->out, "sid:%" PRIu32 "; rev:1;)\n",
			sid);
		return CSIP_OK;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		char *low = g_ascii_strdown(value, -1);

		if ((rc = sid_for(e, names[i].kind, value, &sid)) < 0) {
			g_free(low);
			return rc;
		}
		g_string_append_printf(e->out, "alert %s $HOME_NET any -> any "
			"any (", names[i].proto);
		rule_msg(e, names[i].buf, value);
		/* http.host is normalised to lower case, and Suricata
		 * refuses upper case content on it; the others are matched
		 * without case. */
		g_string_append_printf(e->out, "%s; dotprefix; content:\".",
			names[i].buf);
		rule_content(e->out, low, strlen(low));
		g_string_append_printf(e->out, "\";%s endswith; sid:%" PRIu32
			"; rev:1;)\n", i == 2 ? "" : " nocase;", sid);
		g_free(low);
	}
	return CSIP_OK;
}

/* NAME in DNS wire form ("|07|example|03|com|00|"); 0 when a label is
 * empty or longer than 63 octets, which no DNS message can carry. */
static int
dns_wire(GString *o, const char *name)
{
	GString *raw = g_string_new(NULL);
	const char *p = name;
	int ok = 1;

	while (ok && *p) {
		size_t n = strcspn(p, ".");

		if (n == 0 || n > 63) {
			ok = 0;
			break;
		}
		g_string_append_c(raw, (char)n);
		g_string_append_len(raw, p, (gssize)n);
		p += n;
		if (*p == '.')
			p++;
	}
	g_string_append_c(raw, '\0');
	if (ok)
		rule_content(o, raw->str, raw->len);
	g_string_free(raw, TRUE);
	return ok;
}

static int
snort_rules(exp *e, const char *type, const char *value)
{
	uint32_t sid;
	int rc;

	if (is_ip(type)) {
		if ((rc = sid_for(e, "ip", value, &sid)) < 0)
			return rc;
		g_string_append_printf(e->out, "alert ip $HOME_NET any <> %s "
			"any ( ", value);
		rule_msg(e, type, value);
		g_string_append_printf(e->out, "sid:%" PRIu32 "; rev:1; )\n",
			sid);
		return CSIP_OK;
	}
	/* Snort 3 has no DNS query buffer: the name is matched in the
	 * query's wire form, which a sub-domain's query contains too. */
	g_string_truncate(e->tmp, 0);
	if (dns_wire(e->tmp, value)) {
		if ((rc = sid_for(e, "dns", value, &sid)) < 0)
			return rc;
		g_string_append(e->out, "alert udp $HOME_NET any -> any 53 ( ");
		rule_msg(e, "dns", value);
		g_string_append_printf(e->out, "content:\"%s\", nocase; sid:%"
			PRIu32 "; rev:1; )\n", e->tmp->str, sid);
	}
	g_string_truncate(e->tmp, 0);
	rule_content(e->tmp, value, strlen(value));
	if ((rc = sid_for(e, "tls", value, &sid)) < 0)
		return rc;
	g_string_append(e->out, "alert tcp $HOME_NET any -> any any ( ");
	rule_msg(e, "tls.sni", value);
	g_string_append_printf(e->out, "flow:to_server,established; "
		"ssl_state:client_hello; content:\"%s\", nocase; sid:%" PRIu32
		"; rev:1; )\n", e->tmp->str, sid);
	if ((rc = sid_for(e, "http", value, &sid)) < 0)
		return rc;
	g_string_append(e->out, "alert http $HOME_NET any -> any any ( ");
	rule_msg(e, "http.host", value);
	g_string_append_printf(e->out, "http_header:field host; content:\"%s\""
		", nocase; sid:%" PRIu32 "; rev:1; )\n", e->tmp->str, sid);
	return CSIP_OK;
}

static void
csv_field(GString *o, const char *v)
{
	if (strpbrk(v, ",\"\r\n") == NULL) {
		g_string_append(o, v);
		return;
	}
	g_string_append_c(o, '"');
	for (; *v; v++) {
		if (*v == '"')
			g_string_append_c(o, '"');
		g_string_append_c(o, *v);
	}
	g_string_append_c(o, '"');
}

/* Write one indicator of the current item (index IDX of ITEM). */
static int
emit(exp *e, json_t *item, size_t idx, const char *type, const char *value)
{
	int rc, dup = 0, k = key_of(e, type, value, e->key);

	if (k <= 0) {
		if (k < 0)
			e->left_out++;
		return CSIP_OK;
	}
	if (fp_is(e, e->fp, type, value))
		return CSIP_OK;
	if (e->f == F_CSV) {
		/* The CSV names the item: a value goes out once for each
		 * item carrying it (csip match reports a sighting to each). */
		if (item_writes(e, item, idx, e->fp, e->key->str, e->key2))
			return CSIP_OK;
	} else {
		if ((rc = written_before(e, item, idx, type, value,
					 e->key->str, &dup)) < 0 || dup)
			return rc;
		bloom_add(e, e->key->str);
	}
	switch (e->f) {
	case F_SURICATA:
		if ((rc = suricata_rules(e, type, value)) < 0)
			return rc;
		break;
	case F_SNORT:
		if ((rc = snort_rules(e, type, value)) < 0)
			return rc;
		break;
	case F_ZEEK:
		g_string_append_printf(e->out, "%s\t%s\tcsip\titem %" PRId64
			" TLP:%s\n", strcmp(type, "url") == 0
			? zeek_url(value) : value, zeek_type(type), e->cur_id,
			e->tlp);
		break;
	case F_RPZ:
		g_string_append_printf(e->out, "%s CNAME .\n*.%s CNAME .\n",
			value, value);
		break;
	case F_CSV:
		g_string_append_printf(e->out, "%s,", type);
		csv_field(e->out, value);
		/* Whole seconds: csip match reads the column into a
		 * second's text and gives it back as since= (inclusive). */
		g_string_append_printf(e->out, ",%" PRId64 ",%s,%.19sZ\r\n",
			e->cur_id, e->tlp, json_string_value(json_object_get(
			item, "published_at")));
		break;
	case F_TEXT:
		g_string_append(e->out, value);
		g_string_append_c(e->out, '\n');
		break;
	case F_STIX:
		break;
	}
	return flush(e, 0);
}

static int
item_emit(exp *e, json_t *item)
{
	json_t *inds = json_object_get(item, "indicators");
	const char *tlp = json_string_value(json_object_get(item, "tlp"));
	size_t i;
	int rc;

	e->cur_id = json_integer_value(json_object_get(item, "id"));
	g_strlcpy(e->tlp_buf, tlp ? tlp : "amber", sizeof e->tlp_buf);
	for (char *p = e->tlp_buf; *p; p++)
		*p = g_ascii_toupper(*p);
	e->tlp = e->tlp_buf;
	if ((rc = fp_load(e, e->cur_id, e->fp)) < 0)
		return rc;
	for (i = 0; i < json_array_size(inds); i++) {
		json_t *x = json_array_get(inds, i);
		const char *t = json_string_value(json_object_get(x, "type"));
		const char *v = json_string_value(json_object_get(x, "value"));

		if (t && v && (rc = emit(e, item, i, t, v)) < 0)
			return rc;
	}
	return CSIP_OK;
}

/* Call FN for every item the export covers, page by page. */
static int
each_item(exp *e, int (*fn)(exp *, json_t *))
{
	csip_item_query q = { 0 };
	json_t *arr = NULL, *x;
	int64_t next = 0;
	size_t i;
	int rc;

	q.status = e->status;
	q.since = e->since[0] ? e->since : NULL;
	q.limit = PAGE;
	for (;;) {
		if ((rc = csip_item_list(e->h, e->r, &q, &arr, &next)) < 0)
			return rc;
		json_array_foreach(arr, i, x) {
			if ((rc = fn(e, x)) < 0) {
				json_decref(arr);
				return rc;
			}
		}
		json_decref(arr);
		arr = NULL;
		if (next == 0)
			return CSIP_OK;
		q.after_id = next;
	}
}

/* The RPZ serial: the newest publication time among the items listed,
 * kept as text in e->tmp. */
static int
newest_cb(exp *e, json_t *item)
{
	const char *p = json_string_value(json_object_get(item,
							  "published_at"));

	if (p && strcmp(p, e->tmp->str) > 0)
		g_string_assign(e->tmp, p);
	return CSIP_OK;
}

static int
rpz_head(exp *e)
{
	GDateTime *dt = NULL;
	int64_t serial = 1;
	int rc;

	/* A first pass over the listing: the SOA comes first in a zone,
	 * and what it says depends on the items that follow. */
	g_string_truncate(e->tmp, 0);
	if ((rc = each_item(e, newest_cb)) < 0)
		return rc;
	if (e->tmp->len &&
	    (dt = g_date_time_new_from_iso8601(e->tmp->str, NULL)) != NULL) {
		serial = g_date_time_to_unix(dt);
		g_date_time_unref(dt);
	}
	g_string_append_printf(e->out,
		"; csip response-policy zone: NXDOMAIN for the listed names "
		"and everything below them.\n"
		"$TTL 300\n"
		"@ IN SOA localhost. hostmaster.localhost. ( %" PRId64
		" 3600 600 86400 300 )\n"
		"@ IN NS localhost.\n", serial);
	return CSIP_OK;
}

static int
config_count(csip_hub *h, const char *key, int64_t *out)
{
	const char *v = csip_config_get(csip_hub_config(h), "export", key);
	char *end = NULL;
	gint64 n;

	n = v ? g_ascii_strtoll(v, &end, 10) : 0;
	if (v == NULL || end == v || *end != '\0' || n < 0 || n > 1000000)
		return csip_error_set(CSIP_EINVAL, "[export] %s = \"%s\" in "
			"the configuration: give a whole number from 0 to "
			"1000000", key, v ? v : "");
	*out = n;
	return CSIP_OK;
}

int
csip_export_write(csip_hub *h, const csip_reader *r,
		  const csip_export_opts *o, csip_write_fn w, void *ud)
{
	exp e = { 0 };
	char since[CSIP_TIME_LEN + 1];
	int64_t days = 0;
	int f, rc;

	if (o == NULL || (f = format_of(o->format)) < 0)
		return csip_error_set(CSIP_EINVAL, "export format \"%s\" is "
			"unknown: use suricata, snort, zeek, rpz, csv, text or "
			"stix", o && o->format ? o->format : "");
	if (r == NULL || r->org_id <= 0)
		return csip_error_set(CSIP_EINVAL, "no reader: the caller must "
			"say who reads the export");
	if (o->type && f != F_TEXT)
		return csip_error_set(CSIP_EINVAL, "type \"%s\": only the text "
			"format takes one type; leave it out for %s", o->type,
			o->format);
	if (o->type && csip_ind_type_from_name(o->type) == CSIP_IND_UNKNOWN)
		return csip_error_set(CSIP_EINVAL, "type \"%s\" is not an "
			"indicator type: use domain, hostname, ipv4, url, "
			"sha256, ...", o->type);
	if (o->since && !csip_time_bound(o->since, since))
		return csip_error_set(CSIP_EINVAL, "since \"%s\": use a date "
			"(2025-04-01) or a UTC time (2025-04-01T09:00:00Z)",
			o->since);
	if (f == F_STIX) {
		/* The whole items, as STIX 2.1: stix.c streams the bundle
		 * through the same item lists (and so the same policy). */
		csip_item_query q = { 0 };

		q.since = o->since;
		q.status = r->hub ? "published" : NULL;
		return csip_stix_bundle(h, r, &q, w, ud);
	}
	if ((rc = config_count(h, "validity_days", &days)) < 0 ||
	    (rc = config_count(h, "false_positive_threshold",
			       &e.threshold)) < 0)
		return rc;

	e.h = h;
	e.r = r;
	e.f = (fmt)f;
	e.only = o->type;
	e.status = r->hub ? "published" : NULL;
	e.w = w;
	e.ud = ud;
	if (o->since)
		g_strlcpy(e.since, since, sizeof e.since);
	if (days > 0) {
		GDateTime *now = g_date_time_new_now_utc();
		GDateTime *cut = g_date_time_add_days(now, -(gint)days);
		char *c = g_date_time_format(cut, "%Y-%m-%dT%H:%M:%S.000000Z");

		/* Bounds in the long form (timefmt.h) compare as text with
		 * published_at in either of its forms. */
		if (strcmp(c, e.since) > 0)
			g_strlcpy(e.since, c, sizeof e.since);
		g_free(c);
		g_date_time_unref(cut);
		g_date_time_unref(now);
	}
	e.out = g_string_sized_new(FLUSH_AT + 4096);
	e.key = g_string_new(NULL);
	e.key2 = g_string_new(NULL);
	e.tmp = g_string_new(NULL);
	e.fp = g_array_new(FALSE, FALSE, sizeof(fp_row));
	e.fp2 = g_array_new(FALSE, FALSE, sizeof(fp_row));
	/* Untouched pages of these cost no memory. */
	e.bloom = g_malloc0(BLOOM_BITS / 8);
	if (e.f == F_SURICATA || e.f == F_SNORT)
		e.sids = g_malloc0(SID_SPAN / 8);

	switch (e.f) {
	case F_SURICATA:
	case F_SNORT:
		g_string_append_printf(e.out, "# csip: %s rules for the "
			"indicators this reader receives; sids %u-%u\n",
			e.f == F_SURICATA ? "Suricata 7" : "Snort 3", SID_BASE,
			SID_BASE + SID_SPAN - 1);
		break;
	case F_ZEEK:
		g_string_append(e.out, "#fields\tindicator\tindicator_type\t"
			"meta.source\tmeta.desc\n");
		break;
	case F_RPZ:
		rc = rpz_head(&e);
		break;
	case F_CSV:
		g_string_append(e.out, "type,value,item,tlp,published_at\r\n");
		break;
	case F_TEXT:
	case F_STIX:
		break;
	}
	if (rc < 0 || (rc = each_item(&e, item_emit)) < 0)
		goto out;
	if (e.f == F_RPZ && e.left_out > 0)
		g_string_append_printf(e.out, "; %" PRId64 " name(s) left out: "
			"not valid in DNS\n", e.left_out);
	rc = flush(&e, 1);
out:
	g_string_free(e.out, TRUE);
	g_string_free(e.key, TRUE);
	g_string_free(e.key2, TRUE);
	g_string_free(e.tmp, TRUE);
	fp_clear(e.fp);
	fp_clear(e.fp2);
	g_array_free(e.fp, TRUE);
	g_array_free(e.fp2, TRUE);
	g_free(e.bloom);
	g_free(e.sids);
	return rc;
}
