/*
 * misp.c - the MISP feed (see misp.h): manifest.json, one event per
 * published item, hashes.csv, as MISP's own feed generator lays them out,
 * so that a MISP instance can pull the hub as a "MISP feed".
 *
 * What a reader gets is decided by csip_item_list()/csip_item_get() (the
 * policy); this file only renders the views they return.  It never uses
 * the views' "providers": the author of every event (Orgc) is the hub.
 *
 * Identifiers are UUIDv5 (RFC 4122 §4.3, SHA-1) of stable names ("item:42",
 * "attribute:42:domain:evil.example", "org:hub") in a namespace derived
 * from the hub's secret key, so every export names an item the same way,
 * an event can be found again from its UUID, and two hubs never collide;
 * without the key, nobody can compute which UUID belongs to which item id.
 *
 * Memory: the feed is produced page by page (PAGE items at a time), so it
 * stays flat however many items and indicators there are.
 */
#include "lib/misp.h"
#include "lib/indicator.h"
#include "lib/item.h"
#include "util/error.h"

#include <glib.h>
#include <inttypes.h>
#include <sodium.h>
#include <string.h>

/* Items per page of csip_item_list(): an item may carry 10,000
 * indicators, so a page is kept small to bound the memory of one page. */
#define PAGE 16

/* MISP recommends that info stay within 256 characters, on one line. */
#define INFO_MAX 256

/* The author of every event when the hub has no organisation of role hub
 * yet (a fresh installation). */
#define HUB_FALLBACK_NAME "csip hub"

/* A colour for tags that are not TLP: MISP picks a random one otherwise,
 * and a feed should render the same on every pull. */
#define TAG_COLOUR "#4a6785"

/* ---- identifiers ------------------------------------------------------ */

typedef struct ctx {
	csip_hub *h;
	uint8_t ns[16];     /* the UUID namespace of this hub */
	char org_uuid[37];
	char *org_name;
} ctx;

static void
uuid_format(const uint8_t b[16], char out[37])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[o] = '\0';
}

/* RFC 4122 §4.3: SHA-1 of the namespace and the name, the version (5) in
 * the high nibble of byte 6 and the variant (10x) in byte 8. */
static void
uuid5(const uint8_t ns[16], const char *name, char out[37])
{
	GChecksum *c = g_checksum_new(G_CHECKSUM_SHA1);
	uint8_t d[20];
	gsize n = sizeof d;

	g_checksum_update(c, ns, 16);
	g_checksum_update(c, (const guchar *)name, (gssize)strlen(name));
	g_checksum_get_digest(c, d, &n);
	g_checksum_free(c);
	d[6] = (uint8_t)((d[6] & 0x0f) | 0x50);
	d[8] = (uint8_t)((d[8] & 0x3f) | 0x80);
	uuid_format(d, out);
}

/* An item's event UUID is an RFC 9562 version 8 UUID that carries the
 * item id in its last 62 bits and, before them, 58 bits of a MAC of the
 * id under the hub's namespace key: stable, unforgeable without the key,
 * and resolved back to its item in O(1) (csip_misp_event) instead of by
 * hashing every published item as a name-based UUID would need. */
static void
item_uuid(const ctx *c, int64_t id, char out[37])
{
	uint8_t b[16], mac[16];
	char name[40];
	uint64_t v = (uint64_t)id;

	g_snprintf(name, sizeof name, "item:%" PRId64, id);
	crypto_generichash(mac, sizeof mac, (const unsigned char *)name,
			   strlen(name), c->ns, sizeof c->ns);
	memcpy(b, mac, 8);
	for (int i = 15; i >= 8; i--, v >>= 8)
		b[i] = (uint8_t)(v & 0xff);
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x80);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	uuid_format(b, out);
}

/* The hub's name as its participants know it. */
static int
hub_name(csip_store *s, char **out)
{
	csip_stmt *st = NULL;
	int rc;

	*out = NULL;
	rc = csip_store_prepare_bind(s, &st, "SELECT display_name FROM org "
		"WHERE role = 'hub' ORDER BY id LIMIT 1", NULL);
	if (rc < 0)
		return rc;
	rc = csip_stmt_step(st);
	if (rc == CSIP_ROW && csip_stmt_text(st, 0) && *csip_stmt_text(st, 0))
		*out = g_strdup(csip_stmt_text(st, 0));
	csip_stmt_free(st);
	if (rc != CSIP_ROW && rc != CSIP_DONE)
		return rc;
	if (*out == NULL)
		*out = g_strdup(HUB_FALLBACK_NAME);
	return CSIP_OK;
}

static int
ctx_init(ctx *c, csip_hub *h)
{
	static const char label[] = "csip-uuid-namespace";

	memset(c, 0, sizeof *c);
	c->h = h;
	/* A keyed BLAKE2b of a fixed label: the key itself never shows, and
	 * the label separates this use of the key from the token and audit
	 * hashes. */
	crypto_generichash(c->ns, sizeof c->ns, (const unsigned char *)label,
			   sizeof label - 1, csip_hub_key(h), CSIP_KEY_BYTES);
	uuid5(c->ns, "org:hub", c->org_uuid);
	return hub_name(csip_hub_store(h), &c->org_name);
}

static void
ctx_clear(ctx *c)
{
	g_free(c->org_name);
	c->org_name = NULL;
}

/* ---- the mapping of csip's indicators to MISP attributes ------------- */

/* The first row whose type and role match wins: rows with a role come
 * before the row for any role.  Every (type, category) pair is one of
 * MISP's describeTypes (tests/test_misp.c checks them), and to_ids follows
 * MISP's sane defaults except where noted. */
typedef struct mapping {
	const char *type;       /* csip_ind_type_name() */
	const char *role;       /* NULL: any role */
	const char *misp_type;
	const char *category;
	int to_ids;
} mapping;

static const mapping mappings[] = {
	/* The sender's and relays' addresses are where the mail came from. */
	{ "ipv4", "sender", "ip-src", "Network activity", 1 },
	{ "ipv4", "relay", "ip-src", "Network activity", 1 },
	{ "ipv4", NULL, "ip-dst", "Network activity", 1 },
	{ "ipv6", "sender", "ip-src", "Network activity", 1 },
	{ "ipv6", "relay", "ip-src", "Network activity", 1 },
	{ "ipv6", NULL, "ip-dst", "Network activity", 1 },
	/* MISP's ip-src and ip-dst take CIDR blocks. */
	{ "cidr4", "sender", "ip-src", "Network activity", 1 },
	{ "cidr4", "relay", "ip-src", "Network activity", 1 },
	{ "cidr4", NULL, "ip-dst", "Network activity", 1 },
	{ "cidr6", "sender", "ip-src", "Network activity", 1 },
	{ "cidr6", "relay", "ip-src", "Network activity", 1 },
	{ "cidr6", NULL, "ip-dst", "Network activity", 1 },
	{ "domain", NULL, "domain", "Network activity", 1 },
	{ "hostname", NULL, "hostname", "Network activity", 1 },
	/* A link in a reported mail is how the attack was delivered. */
	{ "url", "link", "url", "Payload delivery", 1 },
	{ "url", NULL, "url", "Network activity", 1 },
	/* No mapping makes email-dst: in MISP it names the recipient of the
	 * mail, and recipients are never shared (design, invariant 4). */
	{ "email", "sender", "email-src", "Payload delivery", 1 },
	{ "email", "reply-to", "email-reply-to", "Payload delivery", 1 },
	{ "email", NULL, "email", "Payload delivery", 1 },
	{ "md5", NULL, "md5", "Payload delivery", 1 },
	{ "sha1", NULL, "sha1", "Payload delivery", 1 },
	{ "sha256", NULL, "sha256", "Payload delivery", 1 },
	{ "sha512", NULL, "sha512", "Payload delivery", 1 },
	{ "ssdeep", NULL, "ssdeep", "Payload delivery", 1 },
	/* A bare file name also matches every harmless file of that name:
	 * context, not a detection rule (MISP's default is to_ids). */
	{ "filename", NULL, "filename", "Payload delivery", 0 },
	{ "asn", NULL, "AS", "Network activity", 0 },
	{ "mutex", NULL, "mutex", "Artifacts dropped", 1 },
	{ "regkey", NULL, "regkey", "Persistence mechanism", 1 },
	{ "user-agent", NULL, "user-agent", "Network activity", 0 },
	{ "email-subject", NULL, "email-subject", "Payload delivery", 0 },
	{ "x-mailer", NULL, "email-x-mailer", "Payload delivery", 0 },
};

/* A type csip learns later than this table still goes out, as text. */
static const mapping fallback = { NULL, NULL, "text", "Other", 0 };

static const mapping *
map_of(const char *type, const char *role)
{
	for (size_t i = 0; i < G_N_ELEMENTS(mappings); i++) {
		const mapping *m = &mappings[i];

		if (strcmp(m->type, type) != 0)
			continue;
		if (m->role == NULL || (role && strcmp(m->role, role) == 0))
			return m;
	}
	return &fallback;
}

/* MISP stores AS numbers without the "AS" that csip's canonical form
 * carries. */
static const char *
misp_value(const char *type, const char *value)
{
	if (strcmp(type, "asn") == 0 && g_ascii_strncasecmp(value, "AS", 2)
	    == 0)
		return value + 2;
	return value;
}

/* ---- events ------------------------------------------------------------ */

/* MISP's threat levels: 1 high, 2 medium, 3 low, 4 undefined. */
static const char *
threat_level(const char *severity)
{
	if (severity == NULL)
		return "4";
	if (strcmp(severity, "critical") == 0 || strcmp(severity, "high") == 0)
		return "1";
	if (strcmp(severity, "medium") == 0)
		return "2";
	if (strcmp(severity, "low") == 0)
		return "3";
	return "4";
}

/* How far the pulling MISP instance may pass the event on (0 your
 * organisation only, 1 this community, 2 connected communities, 3 all).
 * Below 'public', the provider allowed the item to the reading
 * organisation itself, under its NDA or partner agreement, and not to the
 * other organisations that may share its MISP instance: 0.  A public item
 * may go anywhere its TLP allows: TLP:CLEAR 3, TLP:GREEN 1 (the
 * community), anything stricter 0. */
static const char *
distribution(const char *audience, const char *tlp)
{
	int by_audience = audience && strcmp(audience, "public") == 0 ? 3 : 0;
	int by_tlp = 0;

	if (tlp && strcmp(tlp, "clear") == 0)
		by_tlp = 3;
	else if (tlp && strcmp(tlp, "green") == 0)
		by_tlp = 1;
	switch (MIN(by_audience, by_tlp)) {
	case 3: return "3";
	case 1: return "1";
	default: return "0";
	}
}

/* The tag of MISP's tlp taxonomy (TLP 2.0 names) with its colour. */
static json_t *
tlp_tag(const char *tlp)
{
	static const struct { const char *tlp, *colour; } t[] = {
		{ "clear", "#ffffff" },
		{ "green", "#339900" },
		{ "amber", "#ffc000" },
		{ "amber+strict", "#ffc000" },
		{ "red", "#cc0033" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(t); i++)
		if (tlp && strcmp(tlp, t[i].tlp) == 0) {
			char *name = g_strconcat("tlp:", tlp, NULL);
			json_t *o = json_pack("{ss ss}", "name", name,
					      "colour", t[i].colour);

			g_free(name);
			return o;
		}
	/* An unknown marking is treated as the strictest. */
	return json_pack("{ss ss}", "name", "tlp:red", "colour", "#cc0033");
}

static void
tag_add(json_t *tags, GHashTable *seen, json_t *tag)
{
	const char *name = json_string_value(json_object_get(tag, "name"));

	/* MISP's schema wants the tags unique. */
	if (name == NULL || *name == '\0' ||
	    g_hash_table_contains(seen, name)) {
		json_decref(tag);
		return;
	}
	g_hash_table_add(seen, g_strdup(name));
	json_array_append_new(tags, tag);
}

static json_t *
tags_of(json_t *view)
{
	const char *tlp = json_string_value(json_object_get(view, "tlp"));
	const char *attack = json_string_value(json_object_get(view,
		"attack_type"));
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, NULL);
	json_t *tags = json_array(), *t;
	size_t i;

	tag_add(tags, seen, tlp_tag(tlp));
	json_array_foreach(json_object_get(view, "tags"), i, t) {
		const char *name = json_string_value(t);

		/* The item's tlp is the one marking: a second TLP tag would
		 * leave the reader to guess which one holds. */
		if (name == NULL || g_ascii_strncasecmp(name, "tlp:", 4) == 0)
			continue;
		tag_add(tags, seen, json_pack("{ss ss}", "name", name,
					      "colour", TAG_COLOUR));
	}
	if (attack && *attack) {
		char *name = g_strdup_printf("csip:attack-type=\"%s\"", attack);

		tag_add(tags, seen, json_pack("{ss ss}", "name", name,
					      "colour", TAG_COLOUR));
		g_free(name);
	}
	g_hash_table_unref(seen);
	return tags;
}

/* The title on one line, within INFO_MAX characters. */
static char *
info_of(const char *title)
{
	char *s = g_strdup(title ? title : ""), *cut;

	if (!g_utf8_validate(s, -1, NULL)) {
		char *v = g_utf8_make_valid(s, -1);

		g_free(s);
		s = v;
	}
	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	if (g_utf8_strlen(s, -1) <= INFO_MAX)
		return s;
	cut = g_utf8_substring(s, 0, INFO_MAX);
	g_free(s);
	return cut;
}

/* The facts of an item's view that every part of the feed needs. */
typedef struct head {
	int64_t id;
	char uuid[37];
	char date[11];
	char stamp[24];      /* published_at as Unix seconds */
} head;

/* Fill H from VIEW; CSIP_ENOTFOUND when the view is not of a published
 * item (the hub's and providers' views carry the status). */
static int
head_of(const ctx *c, json_t *view, head *h)
{
	const char *status = json_string_value(json_object_get(view,
		"status"));
	const char *at = json_string_value(json_object_get(view,
		"published_at"));
	GDateTime *dt;

	memset(h, 0, sizeof *h);
	h->id = json_integer_value(json_object_get(view, "id"));
	if ((status && strcmp(status, "published") != 0) || at == NULL ||
	    h->id <= 0)
		return csip_error_set(CSIP_ENOTFOUND, "item %" PRId64 " is not "
			"published: only published items are in the MISP feed",
			h->id);
	if ((dt = g_date_time_new_from_iso8601(at, NULL)) == NULL)
		return csip_error_set(CSIP_ERR, "item %" PRId64 ": "
			"published_at \"%s\" is not an ISO 8601 time; the "
			"database was edited by hand", h->id, at);
	g_snprintf(h->stamp, sizeof h->stamp, "%" G_GINT64_FORMAT,
		   g_date_time_to_unix(dt));
	g_snprintf(h->date, sizeof h->date, "%04d-%02d-%02d",
		   g_date_time_get_year(dt), g_date_time_get_month(dt),
		   g_date_time_get_day_of_month(dt));
	g_date_time_unref(dt);
	item_uuid(c, h->id, h->uuid);
	return CSIP_OK;
}

/* The attributes of an item: one per indicator, and the analysis as
 * text.  The comment is the indicator's role, never its provider. */
static json_t *
attributes_of(const ctx *c, json_t *view, const head *h)
{
	const char *analysis = json_string_value(json_object_get(view,
		"analysis"));
	json_t *attrs = json_array(), *ind;
	char uuid[37];
	size_t i;

	json_array_foreach(json_object_get(view, "indicators"), i, ind) {
		const char *type = json_string_value(json_object_get(ind,
			"type"));
		const char *value = json_string_value(json_object_get(ind,
			"value"));
		const char *role = json_string_value(json_object_get(ind,
			"role"));
		const mapping *m;
		char *name;

		if (type == NULL || value == NULL)
			continue;
		m = map_of(type, role);
		name = g_strdup_printf("attribute:%" PRId64 ":%s:%s", h->id,
				       type, value);
		uuid5(c->ns, name, uuid);
		g_free(name);
		json_array_append_new(attrs, json_pack("{ss ss ss ss sb ss "
			"ss ss sb sb}",
			"uuid", uuid,
			"type", m->misp_type,
			"category", m->category,
			"value", misp_value(type, value),
			"to_ids", m->to_ids,
			"comment", role ? role : "",
			"distribution", "5",     /* as the event */
			"timestamp", h->stamp,
			"deleted", 0,
			"disable_correlation", 0));
	}
	if (analysis && *analysis) {
		char name[48];

		g_snprintf(name, sizeof name, "attribute:%" PRId64
			   ":analysis", h->id);
		uuid5(c->ns, name, uuid);
		json_array_append_new(attrs, json_pack("{ss ss ss ss sb ss "
			"ss ss sb sb}",
			"uuid", uuid,
			"type", "text",
			"category", "Other",
			"value", analysis,
			"to_ids", 0,
			"comment", "analysis",
			"distribution", "5",
			"timestamp", h->stamp,
			"deleted", 0,
			"disable_correlation", 1));
	}
	return attrs;
}

/* The summary of an event that manifest.json repeats (misp-core-format
 * §4.1): the same values as the event file. */
static json_t *
summary_of(const ctx *c, json_t *view, const head *h)
{
	char *info = info_of(json_string_value(json_object_get(view,
		"title")));
	json_t *o = json_pack("{ss s{ssss} so ss ss ss ss}",
		"info", info,
		"Orgc", "name", c->org_name, "uuid", c->org_uuid,
		"Tag", tags_of(view),
		"date", h->date,
		/* Published after the analysts' review: complete. */
		"analysis", "2",
		"threat_level_id", threat_level(json_string_value(
			json_object_get(view, "severity"))),
		"timestamp", h->stamp);

	g_free(info);
	return o;
}

static json_t *
event_of(const ctx *c, json_t *view, const head *h)
{
	json_t *ev = summary_of(c, view, h);
	json_t *attrs = attributes_of(c, view, h);
	char n[24];

	g_snprintf(n, sizeof n, "%zu", json_array_size(attrs));
	json_object_set_new(ev, "uuid", json_string(h->uuid));
	json_object_set_new(ev, "published", json_true());
	json_object_set_new(ev, "publish_timestamp", json_string(h->stamp));
	json_object_set_new(ev, "distribution", json_string(distribution(
		json_string_value(json_object_get(view, "audience")),
		json_string_value(json_object_get(view, "tlp")))));
	json_object_set_new(ev, "sharing_group_id", json_string("0"));
	json_object_set_new(ev, "attribute_count", json_string(n));
	json_object_set_new(ev, "Attribute", attrs);
	return ev;
}

/* ---- the feed ------------------------------------------------------------ */

typedef int (*item_fn)(const ctx *c, json_t *view, const head *h,
		       void *ud);

/* Call FN for every published item READER may see, page by page. */
static int
each_item(const ctx *c, const csip_reader *r, item_fn fn, void *ud)
{
	/* The hub asks for published items by status; anyone else's list
	 * without a status is the published items it may read. */
	csip_item_query q = { .status = r && r->hub ? "published" : NULL,
		.limit = PAGE };
	int rc;

	for (;;) {
		json_t *page = NULL, *view;
		int64_t next = 0;
		size_t i;

		if ((rc = csip_item_list(c->h, r, &q, &page, &next)) < 0)
			return rc;
		json_array_foreach(page, i, view) {
			head h;

			/* The lists hold published items only; a view that
			 * says otherwise is left out, never guessed at. */
			if ((rc = head_of(c, view, &h)) == CSIP_ENOTFOUND) {
				rc = CSIP_OK;
				continue;
			}
			if (rc < 0 || (rc = fn(c, view, &h, ud)) < 0)
				break;
		}
		json_decref(page);
		if (rc < 0 || next == 0)
			return rc < 0 ? rc : CSIP_OK;
		q.after_id = next;
	}
}

typedef struct sink {
	csip_write_fn w;
	void *ud;
	size_t n;            /* entries written */
} sink;

static int
put(sink *s, const char *text)
{
	return s->w(s->ud, text, strlen(text));
}

static int
manifest_entry(const ctx *c, json_t *view, const head *h, void *ud)
{
	sink *s = ud;
	json_t *sum = summary_of(c, view, h);
	char *js = json_dumps(sum, JSON_COMPACT);
	int rc;

	json_decref(sum);
	if (js == NULL)
		return csip_error_set(CSIP_ERR, "item %" PRId64 " could not be "
			"rendered as JSON", h->id);
	if ((rc = put(s, s->n ? ",\n\"" : "\n\"")) == CSIP_OK &&
	    (rc = put(s, h->uuid)) == CSIP_OK &&
	    (rc = put(s, "\":")) == CSIP_OK)
		rc = put(s, js);
	free(js);
	s->n++;
	return rc;
}

int
csip_misp_manifest(csip_hub *h, const csip_reader *r, csip_write_fn w,
		   void *ud)
{
	sink s = { w, ud, 0 };
	ctx c;
	int rc;

	if ((rc = ctx_init(&c, h)) < 0)
		goto out;
	if ((rc = put(&s, "{")) < 0 ||
	    (rc = each_item(&c, r, manifest_entry, &s)) < 0)
		goto out;
	rc = put(&s, s.n ? "\n}\n" : "}\n");
out:
	ctx_clear(&c);
	return rc;
}

/* hashes.csv as MISP's feed generator writes it: per attribute value, the
 * MD5 of its UTF-8 bytes in lower-case hex, a comma, the event UUID; no
 * header. */
static int
hash_lines(const ctx *c, json_t *view, const head *h, void *ud)
{
	sink *s = ud;
	json_t *attrs = attributes_of(c, view, h), *a;
	GString *out = g_string_new(NULL);
	size_t i;
	int rc;

	json_array_foreach(attrs, i, a) {
		char *md5 = g_compute_checksum_for_string(G_CHECKSUM_MD5,
			json_string_value(json_object_get(a, "value")), -1);

		g_string_append_printf(out, "%s,%s\n", md5, h->uuid);
		g_free(md5);
	}
	rc = s->w(s->ud, out->str, out->len);
	g_string_free(out, TRUE);
	json_decref(attrs);
	return rc;
}

int
csip_misp_hashes(csip_hub *h, const csip_reader *r, csip_write_fn w,
		 void *ud)
{
	sink s = { w, ud, 0 };
	ctx c;
	int rc;

	if ((rc = ctx_init(&c, h)) == CSIP_OK)
		rc = each_item(&c, r, hash_lines, &s);
	ctx_clear(&c);
	return rc;
}

/* A UUID in its canonical text form, lower-cased into OUT. */
static int
uuid_text(const char *in, char out[37])
{
	if (in == NULL || strlen(in) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (in[i] != '-')
				return 0;
		} else if (!g_ascii_isxdigit(in[i])) {
			return 0;
		}
		out[i] = g_ascii_tolower(in[i]);
	}
	out[36] = '\0';
	return 1;
}

/* The published item whose event UUID is UUID, in *id (0: none): the id
 * read from the UUID, checked by making its UUID again (see item_uuid).
 * No view, no policy: the caller asks the policy about the item found. */
static int
find_item(const ctx *c, const char *uuid, int64_t *id)
{
	char hex[33], again[37];
	uint8_t b[16];
	uint64_t v = 0;
	int64_t found = 0;
	char buf[24];
	size_t o = 0;
	int rc;

	*id = 0;
	for (const char *p = uuid; *p && o < 32; p++)
		if (*p != '-')
			hex[o++] = *p;
	hex[o] = '\0';
	if (o != 32 || sodium_hex2bin(b, sizeof b, hex, 32, NULL, NULL,
				      NULL) != 0)
		return CSIP_OK;
	for (int i = 8; i < 16; i++)
		v = v << 8 | b[i];
	v &= ~((uint64_t)3 << 62);
	if (v == 0 || v > INT64_MAX)
		return CSIP_OK;
	item_uuid(c, (int64_t)v, again);
	if (strcmp(again, uuid) != 0)
		return CSIP_OK;
	g_snprintf(buf, sizeof buf, "%" PRId64, (int64_t)v);
	rc = csip_store_query_int64(csip_hub_store(c->h), &found, "SELECT id "
		"FROM item WHERE id = ? AND status = 'published'", buf, NULL);
	if (rc == CSIP_ENOTFOUND) {
		csip_error_clear();
		return CSIP_OK;
	}
	if (rc < 0)
		return rc;
	*id = found;
	return CSIP_OK;
}

int
csip_misp_event(csip_hub *h, const csip_reader *r, const char *uuid,
		json_t **out)
{
	json_t *view = NULL;
	char want[37];
	int64_t id = 0;
	head hd;
	ctx c;
	int rc;

	*out = NULL;
	if ((rc = ctx_init(&c, h)) < 0)
		goto out;
	if (!uuid_text(uuid, want)) {
		rc = csip_error_set(CSIP_ENOTFOUND, "\"%s\" is not the UUID of "
			"a MISP event: the feed's events are listed in its "
			"manifest.json", uuid ? uuid : "");
		goto out;
	}
	if ((rc = find_item(&c, want, &id)) < 0)
		goto out;
	/* Unknown, or known but not for this reader: the same answer, so
	 * that a UUID does not reveal that an item exists. */
	if (id == 0 || (rc = csip_item_get(h, r, id, &view)) == CSIP_ENOTFOUND
	    || (rc == CSIP_OK && head_of(&c, view, &hd) < 0)) {
		rc = csip_error_set(CSIP_ENOTFOUND, "MISP event %s does not "
			"exist: the feed's events are listed in its "
			"manifest.json", want);
		goto out;
	}
	if (rc < 0)
		goto out;
	*out = json_pack("{so}", "Event", event_of(&c, view, &hd));
	rc = CSIP_OK;
out:
	json_decref(view);
	ctx_clear(&c);
	return rc;
}
