/*
 * correlate.c - the correlation index and the correlation of reports (see
 * correlate.h).
 *
 * The table: two parallel arrays, keys (64-bit hashes, 0 = empty) and
 * refs (32 bits), probed linearly from a slot chosen by multiply-shift
 * over any capacity, so the table grows by 1.6x and stays between 50% and
 * 80% full.  A ref with the top bit set is a list of one report id held
 * in place (most values are seen once); otherwise it is the offset of a
 * list {n, room, ids...} in one arena of 32-bit words; REF_FULL marks a
 * value carried by more than the cap, whose ids are dropped.  Grown lists
 * move to the end of the arena; the space they leave is reclaimed when
 * the index is saved.  A key of 12 bytes and an id of 4 make the index
 * far smaller than the observation rows and the SQL index it replaces.
 *
 * Keys are hashes, so two values could in principle share one: with 64
 * bits and ten million keys the chance of any collision is about 3e-6,
 * and a collision can only add a link for the analysts to look at, never
 * show anything to anyone else.
 *
 * Locks: a correlation opens its transaction (the process's writer turn)
 * first and then takes the index's mutex; readers take only the mutex.
 * The index is changed only with data that is committed: catching up
 * reads committed rows, and a new report's keys go in after its commit.
 */
#include "lib/correlate.h"
#include "lib/audit.h"
#include "lib/campaign.h"
#include "lib/indicator.h"
#include "util/error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fuzzy.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REF_INLINE   0x80000000u
#define REF_FULL     0x7fffffffu
#define MAX_REPORT   0x7ffffffeLL   /* ids kept in 31 bits */
#define MIN_SLOTS    1024
#define MAX_CIDR_ENUM 256           /* networks probed for one CIDR */
#define MAX_SSDEEP_CANDIDATES 1000
#define SAVE_AFTER_KEYS 10000       /* catch-ups this large save the file */
#define PROGRESS_EVERY 1000
#define FILE_MAGIC   "CSIPCIX1"
#define FILE_VERSION 3u          /* 3: the reports' organisations */

/* Shipped warning lists: bump SHIPPED_VERSION when they change, and the
 * new entries are added on the next read (removed ones stay removed). */
#define SHIPPED_VERSION 1

typedef struct shipped_entry {
	const char *list;
	const char *value;
} shipped_entry;

static const shipped_entry shipped[] = {
	/* Address space that is never an attacker's alone. */
	{ "private-ranges", "0.0.0.0/8" },
	{ "private-ranges", "10.0.0.0/8" },
	{ "private-ranges", "100.64.0.0/10" },
	{ "private-ranges", "127.0.0.0/8" },
	{ "private-ranges", "169.254.0.0/16" },
	{ "private-ranges", "172.16.0.0/12" },
	{ "private-ranges", "192.168.0.0/16" },
	{ "private-ranges", "224.0.0.0/4" },
	{ "private-ranges", "240.0.0.0/4" },
	{ "private-ranges", "::1/128" },
	{ "private-ranges", "fc00::/7" },
	{ "private-ranges", "fe80::/10" },
	{ "private-ranges", "ff00::/8" },
	/* Public resolvers every network talks to. */
	{ "public-dns", "8.8.8.8" },
	{ "public-dns", "8.8.4.4" },
	{ "public-dns", "1.1.1.1" },
	{ "public-dns", "1.0.0.1" },
	{ "public-dns", "9.9.9.9" },
	{ "public-dns", "208.67.222.222" },
	{ "public-dns", "208.67.220.220" },
	/* Content delivery networks (their published ranges). */
	{ "cdn", "104.16.0.0/13" },
	{ "cdn", "104.24.0.0/14" },
	{ "cdn", "172.64.0.0/13" },
	{ "cdn", "162.158.0.0/15" },
	{ "cdn", "141.101.64.0/18" },
	{ "cdn", "108.162.192.0/18" },
	{ "cdn", "151.101.0.0/16" },
	{ "cdn", "cloudflare.com" },
	{ "cdn", "cloudfront.net" },
	{ "cdn", "akamai.net" },
	{ "cdn", "akamaiedge.net" },
	{ "cdn", "akamaihd.net" },
	{ "cdn", "akamaized.net" },
	{ "cdn", "edgekey.net" },
	{ "cdn", "edgesuite.net" },
	{ "cdn", "fastly.net" },
	{ "cdn", "azureedge.net" },
	{ "cdn", "jsdelivr.net" },
	/* Free mail: the provider links every customer's mail. */
	{ "free-mail", "gmail.com" },
	{ "free-mail", "googlemail.com" },
	{ "free-mail", "yahoo.com" },
	{ "free-mail", "yahoo.co.jp" },
	{ "free-mail", "outlook.com" },
	{ "free-mail", "outlook.jp" },
	{ "free-mail", "hotmail.com" },
	{ "free-mail", "live.com" },
	{ "free-mail", "msn.com" },
	{ "free-mail", "icloud.com" },
	{ "free-mail", "me.com" },
	{ "free-mail", "aol.com" },
	{ "free-mail", "proton.me" },
	{ "free-mail", "protonmail.com" },
	{ "free-mail", "gmx.com" },
	{ "free-mail", "gmx.net" },
	{ "free-mail", "mail.ru" },
	{ "free-mail", "yandex.ru" },
	{ "free-mail", "qq.com" },
	{ "free-mail", "163.com" },
	{ "free-mail", "126.com" },
	{ "free-mail", "naver.com" },
	{ "free-mail", "docomo.ne.jp" },
	{ "free-mail", "ezweb.ne.jp" },
	{ "free-mail", "au.com" },
	{ "free-mail", "softbank.ne.jp" },
	{ "free-mail", "i.softbank.jp" },
	/* Sites in half the mail of the world (links, schemas, trackers). */
	{ "popular", "google.com" },
	{ "popular", "google.co.jp" },
	{ "popular", "googleapis.com" },
	{ "popular", "gstatic.com" },
	{ "popular", "googleusercontent.com" },
	{ "popular", "youtube.com" },
	{ "popular", "microsoft.com" },
	{ "popular", "microsoftonline.com" },
	{ "popular", "office.com" },
	{ "popular", "office365.com" },
	{ "popular", "windows.net" },
	{ "popular", "windowsupdate.com" },
	{ "popular", "live.net" },
	{ "popular", "apple.com" },
	{ "popular", "amazon.com" },
	{ "popular", "amazon.co.jp" },
	{ "popular", "amazonaws.com" },
	{ "popular", "facebook.com" },
	{ "popular", "instagram.com" },
	{ "popular", "twitter.com" },
	{ "popular", "x.com" },
	{ "popular", "linkedin.com" },
	{ "popular", "wikipedia.org" },
	{ "popular", "github.com" },
	{ "popular", "w3.org" },
	{ "popular", "schema.org" },
	{ "popular", "purl.org" },
	{ "popular", "openxmlformats.org" },
	{ "popular", "adobe.com" },
	{ "popular", "yahoo.co.jp" },
	{ "popular", "line.me" },
	/* Hashes of nothing: an empty attachment links every report. */
	{ "empty-file", "d41d8cd98f00b204e9800998ecf8427e" },
	{ "empty-file", "da39a3ee5e6b4b0d3255bfef95601890afd80709" },
	{ "empty-file", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
};

/* ---- hashing ----------------------------------------------------------- */

static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* FNV-1a over the bytes, finished by a 64-bit mixer so the high bits the
 * slot is taken from are well spread.  Never 0 (the empty slot). */
static uint64_t
hash_bytes(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	h = mix64(h);
	return h ? h : 1;
}

/* A key: a tag saying what kind of key it is, then the bytes. */
static uint64_t
key_of(char tag, const char *a, size_t alen, const char *b, size_t blen)
{
	char stack[512];
	char *buf = stack;
	size_t n = 1 + alen + (b ? 1 + blen : 0);
	uint64_t h;

	if (n > sizeof stack)
		buf = g_malloc(n);
	buf[0] = tag;
	memcpy(buf + 1, a, alen);
	if (b) {
		buf[1 + alen] = 0x1f;
		memcpy(buf + 2 + alen, b, blen);
	}
	h = hash_bytes(buf, n);
	if (buf != stack)
		g_free(buf);
	return h;
}

/* ---- the table ----------------------------------------------------------- */

struct csip_corr_index {
	GMutex lock;
	uint32_t cap;             /* longest list kept */
	uint64_t *keys;
	uint32_t *refs;
	size_t slots, n;
	uint32_t *arena;          /* word 0 unused: offset 0 means nothing */
	size_t arena_len, arena_room, garbage;
	/* The organisation of each report added, by report id (0: not
	 * known).  A report's organisation never changes (report.org_id is
	 * written once, and an organisation with reports cannot be
	 * deleted), so a correlation takes the linked reports' from here
	 * instead of a random lookup of each report row. */
	uint32_t *orgs;
	size_t orgs_len;
	/* The campaign of each report (0: none), by report id: all of
	 * campaign_report as it was when corr_state.campaign_epoch was
	 * camp_epoch (0: not known).  Triggers change the epoch with every
	 * write of campaign_report (migration 14), by any process or path,
	 * so while the database's epoch is camp_epoch these are the
	 * memberships, and a correlation takes the linked reports' from here
	 * instead of a random lookup of each.  camp_seen: the epoch at the
	 * end of this process's last correlation; finding it again means
	 * nobody else wrote since, so reloading the memberships is worth it
	 * (csip_correlate_report). */
	uint32_t *camps;
	size_t camps_len;
	int64_t camp_epoch, camp_seen;
	uint64_t lens4;           /* prefix lengths of stored IPv4 CIDRs */
	uint64_t lens6[3];        /* and IPv6 (bits 0..128) */
	/* What the index reflects in the database: the reports correlated
	 * up to seq, the last of them with corr_token token. */
	int64_t epoch, seq, token;
	int loaded;
	/* The lists, as of lists_version. */
	int64_t lists_version;
	GHashTable *wl_domains;   /* name -> 1 */
	GHashTable *wl_exact;     /* "type\x1fvalue" -> 1 */
	GArray *wl_nets;          /* struct net */
	GHashTable *excluded;     /* value -> 1 */
	char *url;                /* the database it belongs to */
};

typedef struct net {
	int family;               /* 4 or 6 */
	int len;
	unsigned char addr[16];   /* masked */
} net;

static size_t
slot_of(uint64_t key, size_t slots)
{
	return (size_t)(((unsigned __int128)key * slots) >> 64);
}

csip_corr_index *
csip_correlate_index_new(uint32_t cap)
{
	csip_corr_index *ix = g_new0(csip_corr_index, 1);

	g_mutex_init(&ix->lock);
	ix->cap = cap ? cap : 1;
	ix->slots = MIN_SLOTS;
	ix->keys = g_new0(uint64_t, ix->slots);
	ix->refs = g_new0(uint32_t, ix->slots);
	ix->arena_room = 1024;
	ix->arena = g_new(uint32_t, ix->arena_room);
	ix->arena_len = 1;
	return ix;
}

static void
lists_clear(csip_corr_index *ix)
{
	g_clear_pointer(&ix->wl_domains, g_hash_table_destroy);
	g_clear_pointer(&ix->wl_exact, g_hash_table_destroy);
	if (ix->wl_nets)
		g_array_free(ix->wl_nets, TRUE);
	ix->wl_nets = NULL;
	g_clear_pointer(&ix->excluded, g_hash_table_destroy);
	ix->lists_version = 0;
}

void
csip_correlate_index_free(csip_corr_index *ix)
{
	if (ix == NULL)
		return;
	lists_clear(ix);
	g_free(ix->keys);
	g_free(ix->refs);
	g_free(ix->arena);
	g_free(ix->orgs);
	g_free(ix->camps);
	g_free(ix->url);
	g_mutex_clear(&ix->lock);
	g_free(ix);
}

size_t
csip_correlate_index_keys(const csip_corr_index *ix)
{
	return ix->n;
}

size_t
csip_correlate_index_bytes(const csip_corr_index *ix)
{
	return ix->slots * (sizeof(uint64_t) + sizeof(uint32_t)) +
	       (ix->arena_len + ix->orgs_len + ix->camps_len) *
	       sizeof(uint32_t);
}

/* Remember that REPORT belongs to ORG.  An id beyond 32 bits is left
 * unknown (read from the database when needed). */
static void
index_set_org(csip_corr_index *ix, int64_t report, int64_t org)
{
	if (report <= 0 || report > MAX_REPORT)
		return;
	if ((size_t)report >= ix->orgs_len) {
		size_t len = MAX((size_t)report + 1, ix->orgs_len + ix->orgs_len
				 / 2);

		ix->orgs = g_renew(uint32_t, ix->orgs, len);
		memset(ix->orgs + ix->orgs_len, 0, (len - ix->orgs_len) *
		       sizeof(uint32_t));
		ix->orgs_len = len;
	}
	ix->orgs[report] = org > 0 && org <= (int64_t)UINT32_MAX
		? (uint32_t)org : 0;
}

/* The organisation of REPORT as the index knows it, 0 when it does not. */
static int64_t
index_org(const csip_corr_index *ix, int64_t report)
{
	return report > 0 && (size_t)report < ix->orgs_len
		? (int64_t)ix->orgs[report] : 0;
}

/* Put REPORT into CAMPAIGN (0: none) in IX's memberships.  Ids beyond 32
 * bits cannot be kept: the memberships are then not known at all. */
static void
camp_set(csip_corr_index *ix, int64_t report, int64_t campaign)
{
	if (report <= 0 || report > MAX_REPORT || campaign < 0 ||
	    campaign > (int64_t)UINT32_MAX) {
		ix->camp_epoch = 0;
		return;
	}
	if ((size_t)report >= ix->camps_len) {
		size_t len = MAX((size_t)report + 1, ix->camps_len +
				 ix->camps_len / 2);

		ix->camps = g_renew(uint32_t, ix->camps, len);
		memset(ix->camps + ix->camps_len, 0, (len - ix->camps_len) *
		       sizeof(uint32_t));
		ix->camps_len = len;
	}
	ix->camps[report] = (uint32_t)campaign;
}

/* The campaign of REPORT in IX's memberships (0: none). */
static int64_t
camp_of(const csip_corr_index *ix, int64_t report)
{
	return report > 0 && (size_t)report < ix->camps_len
		? (int64_t)ix->camps[report] : 0;
}

static int
camp_row(csip_stmt *st, void *ud)
{
	camp_set(ud, csip_stmt_int64(st, 0), csip_stmt_int64(st, 1));
	return CSIP_OK;
}

/* Read all of campaign_report into IX, inside the correlation's
 * transaction (writers locked out), as of EPOCH, the epoch that
 * transaction read. */
static int
camps_reload(csip_hub *h, csip_corr_index *ix, int64_t epoch)
{
	int rc;

	if (ix->camps)
		memset(ix->camps, 0, ix->camps_len * sizeof(uint32_t));
	ix->camp_epoch = epoch;
	rc = csip_store_each(csip_hub_store(h), camp_row, ix, "SELECT "
		"report_id, campaign_id FROM campaign_report", NULL);
	if (rc < 0)
		ix->camp_epoch = 0;
	return rc;
}

/* After a correlation's commit: what csip_campaign_on_links() did to the
 * memberships (campaign.h), given CAMPS, those of REPORT and then of
 * LINKED (N) before it, and INTO, the campaign they went to. */
static void
camps_apply(csip_corr_index *ix, int64_t report, const int64_t *linked,
	    const int64_t *camps, size_t n, int64_t into)
{
	GHashTable *gone = g_hash_table_new(g_int64_hash, g_int64_equal);

	for (size_t i = 0; i < n; i++) {
		if (camps[i + 1] != 0 && camps[i + 1] != into)
			g_hash_table_add(gone, (gpointer)&camps[i + 1]);
	}
	/* Automatic merges are rare: a pass over the array for them. */
	for (size_t r = 1; g_hash_table_size(gone) > 0 && r < ix->camps_len;
	     r++) {
		int64_t c = ix->camps[r];

		if (c != 0 && g_hash_table_contains(gone, &c))
			camp_set(ix, (int64_t)r, into);
	}
	for (size_t i = 0; i < n; i++) {
		if (camps[i + 1] == 0)
			camp_set(ix, linked[i], into);
	}
	if (camp_of(ix, report) == 0)
		camp_set(ix, report, into);
	g_hash_table_destroy(gone);
}

static void
grow_table(csip_corr_index *ix)
{
	size_t slots = ix->slots + ix->slots / 2 + ix->slots / 8;
	uint64_t *keys = g_new0(uint64_t, slots);
	uint32_t *refs = g_new0(uint32_t, slots);

	for (size_t i = 0; i < ix->slots; i++) {
		size_t j;

		if (ix->keys[i] == 0)
			continue;
		for (j = slot_of(ix->keys[i], slots); keys[j];
		     j = j + 1 == slots ? 0 : j + 1)
			;
		keys[j] = ix->keys[i];
		refs[j] = ix->refs[i];
	}
	g_free(ix->keys);
	g_free(ix->refs);
	ix->keys = keys;
	ix->refs = refs;
	ix->slots = slots;
}

/* The slot holding KEY, or the empty slot where it would go. */
static size_t
find_slot(const csip_corr_index *ix, uint64_t key)
{
	size_t i = slot_of(key, ix->slots);

	while (ix->keys[i] && ix->keys[i] != key)
		i = i + 1 == ix->slots ? 0 : i + 1;
	return i;
}

static uint32_t
arena_alloc(csip_corr_index *ix, uint32_t room)
{
	size_t need = ix->arena_len + 2 + room;
	uint32_t off;

	if (need > ix->arena_room) {
		while (ix->arena_room < need)
			ix->arena_room *= 2;
		ix->arena = g_renew(uint32_t, ix->arena, ix->arena_room);
	}
	off = (uint32_t)ix->arena_len;
	ix->arena[off] = 0;
	ix->arena[off + 1] = room;
	ix->arena_len = need;
	return off;
}

/* Add REPORT to the list of KEY (once: reports come in order, so a
 * repeat is the last id). */
static void
index_put(csip_corr_index *ix, uint64_t key, uint32_t report)
{
	size_t i;
	uint32_t ref, off, n;

	if ((ix->n + 1) * 5 > ix->slots * 4)
		grow_table(ix);
	i = find_slot(ix, key);
	if (ix->keys[i] == 0) {
		ix->keys[i] = key;
		ix->refs[i] = ix->cap >= 1 ? (REF_INLINE | report) : REF_FULL;
		ix->n++;
		return;
	}
	ref = ix->refs[i];
	if (ref == REF_FULL)
		return;
	if (ref & REF_INLINE) {
		uint32_t first = ref & ~REF_INLINE;

		if (first == report)
			return;
		if (ix->cap < 2) {
			ix->refs[i] = REF_FULL;
			return;
		}
		off = arena_alloc(ix, 2);
		ix->arena[off] = 2;
		ix->arena[off + 2] = first;
		ix->arena[off + 3] = report;
		ix->refs[i] = off;
		return;
	}
	off = ref;
	n = ix->arena[off];
	if (ix->arena[off + 1 + n] == report)
		return;
	if (n + 1 > ix->cap) {
		/* Too common to link anything: the ids are of no more use. */
		ix->garbage += 2 + ix->arena[off + 1];
		ix->refs[i] = REF_FULL;
		return;
	}
	if (n == ix->arena[off + 1]) {
		uint32_t room = MIN(n * 2, ix->cap);
		uint32_t noff = arena_alloc(ix, room);

		memcpy(&ix->arena[noff + 2], &ix->arena[off + 2],
		       n * sizeof(uint32_t));
		ix->arena[noff] = n;
		ix->garbage += 2 + ix->arena[off + 1];
		off = noff;
		ix->refs[i] = off;
	}
	ix->arena[off + 2 + n] = report;
	ix->arena[off] = n + 1;
}

/* The list of KEY: *ids and *n, or *full when the value is too common.
 * Pointers into the index, valid until it changes. */
static void
index_get(const csip_corr_index *ix, uint64_t key, const uint32_t **ids,
	  uint32_t *n, int *full, uint32_t *one)
{
	size_t i = find_slot(ix, key);
	uint32_t ref = ix->refs[i];

	*ids = NULL;
	*n = 0;
	*full = 0;
	if (ix->keys[i] == 0)
		return;
	if (ref == REF_FULL) {
		*full = 1;
	} else if (ref & REF_INLINE) {
		*one = ref & ~REF_INLINE;
		*ids = one;
		*n = 1;
	} else {
		*n = ix->arena[ref];
		*ids = &ix->arena[ref + 2];
	}
	/* A cap lowered since the list was made applies at once. */
	if (*n > ix->cap) {
		*full = 1;
		*n = 0;
		*ids = NULL;
	}
}

/* ---- keys of values ------------------------------------------------------- */

static int
is_host(const char *type)
{
	return strcmp(type, "domain") == 0 || strcmp(type, "hostname") == 0;
}

/* Parse an address or network ("192.0.2.1", "192.0.2.0/24") into N. */
static int
parse_net(const char *value, net *out)
{
	char buf[64];
	const char *slash = strchr(value, '/');
	size_t alen = slash ? (size_t)(slash - value) : strlen(value);
	int len;

	memset(out, 0, sizeof *out);
	if (alen >= sizeof buf)
		return -1;
	memcpy(buf, value, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, out->addr) == 1)
		out->family = 4;
	else if (inet_pton(AF_INET6, buf, out->addr) == 1)
		out->family = 6;
	else
		return -1;
	len = out->family == 4 ? 32 : 128;
	if (slash) {
		char *end;
		long l = strtol(slash + 1, &end, 10);

		if (*end || l < 0 || l > len)
			return -1;
		len = (int)l;
	}
	out->len = len;
	return 0;
}

static void
mask_to(const net *in, int len, net *out)
{
	int bytes = in->family == 4 ? 4 : 16;

	*out = *in;
	out->len = len;
	for (int i = 0; i < bytes; i++) {
		int bits = len - i * 8;

		if (bits >= 8)
			continue;
		out->addr[i] &= bits <= 0 ? 0 : (unsigned char)(0xff << (8 -
								 bits));
	}
}

/* KEY of a network or address ('N' exact, 'I' an address's /L). */
static uint64_t
net_key(char tag, const net *n)
{
	char b[18];

	b[0] = (char)n->family;
	b[1] = (char)n->len;
	memcpy(b + 2, n->addr, 16);
	return key_of(tag, b, sizeof b, NULL, 0);
}

static void
net_text(const net *n, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(n->family == 4 ? AF_INET : AF_INET6, n->addr, a, sizeof a);
	g_snprintf(buf, size, "%s/%d", a, n->len);
}

static int
net_contains(const net *outer, const net *inner)
{
	net m;

	if (outer->family != inner->family || outer->len > inner->len)
		return 0;
	mask_to(inner, outer->len, &m);
	return memcmp(m.addr, outer->addr, 16) == 0;
}

static void
lens_set(csip_corr_index *ix, const net *n)
{
	if (n->family == 4)
		ix->lens4 |= 1ULL << n->len;
	else
		ix->lens6[n->len / 64] |= 1ULL << (n->len % 64);
}

static int
lens_has(const csip_corr_index *ix, int family, int len)
{
	if (family == 4)
		return (ix->lens4 >> len) & 1;
	return (ix->lens6[len / 64] >> (len % 64)) & 1;
}

/* The prefix lengths under which an address is also filed, so a CIDR
 * finds the addresses inside it with few probes (see net_lookups). */
static const int under4[] = { 16, 24 };
static const int under6[] = { 32, 40, 48, 56, 64 };

/* An ssdeep hash "BS:CHUNK:CHUNK2" with runs of more than three equal
 * characters cut to three, as fuzzy_compare() does before comparing. */
typedef struct ssd {
	unsigned long bs;
	char c1[80], c2[80];
} ssd;

static void
squeeze(const char *s, size_t n, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < size; i++) {
		if (o >= 3 && s[i] == out[o - 1] && s[i] == out[o - 2] &&
		    s[i] == out[o - 3])
			continue;
		out[o++] = s[i];
	}
	out[o] = '\0';
}

static int
parse_ssdeep(const char *v, ssd *out)
{
	char *end;
	const char *c1, *c2, *e2;

	out->bs = strtoul(v, &end, 10);
	if (end == v || *end != ':' || out->bs == 0)
		return -1;
	c1 = end + 1;
	c2 = strchr(c1, ':');
	if (c2 == NULL)
		return -1;
	c2++;
	e2 = strchr(c2, ',');
	squeeze(c1, (size_t)(c2 - 1 - c1), out->c1, sizeof out->c1);
	squeeze(c2, e2 ? (size_t)(e2 - c2) : strlen(c2), out->c2,
		sizeof out->c2);
	return 0;
}

#define GRAM 7

typedef void (*gram_fn)(void *ud, uint64_t key);

static void
each_gram(unsigned long bs, const char *chunk, gram_fn fn, void *ud)
{
	char b[24];
	size_t n = strlen(chunk);
	int bl = g_snprintf(b, sizeof b, "%lu", bs);

	for (size_t i = 0; i + GRAM <= n; i++)
		fn(ud, key_of('S', b, (size_t)bl, chunk + i, GRAM));
}

typedef struct put_ctx {
	csip_corr_index *ix;
	uint32_t report;
} put_ctx;

static void
put_gram(void *ud, uint64_t key)
{
	put_ctx *p = ud;

	index_put(p->ix, key, p->report);
}

void
csip_correlate_index_add(csip_corr_index *ix, const char *type,
			 const char *value, int64_t report)
{
	uint32_t r = (uint32_t)report;
	size_t vlen = strlen(value);

	if (report <= 0 || report > MAX_REPORT)
		return;
	if (is_host(type)) {
		index_put(ix, key_of('H', value, vlen, NULL, 0), r);
		/* Filed under each parent with at least two labels. */
		for (const char *p = strchr(value, '.'); p && strchr(p + 1, '.');
		     p = strchr(p + 1, '.'))
			index_put(ix, key_of('U', p + 1, strlen(p + 1), NULL,
					     0), r);
		return;
	}
	if (strcmp(type, "ipv4") == 0 || strcmp(type, "ipv6") == 0 ||
	    strcmp(type, "cidr4") == 0 || strcmp(type, "cidr6") == 0) {
		net n, m;
		int addr = type[0] == 'i';

		if (parse_net(value, &n) < 0)
			goto plain;
		mask_to(&n, n.len, &m);
		index_put(ix, net_key('N', &m), r);
		if (!addr || n.len != (n.family == 4 ? 32 : 128)) {
			lens_set(ix, &m);
			return;
		}
		if (n.family == 4) {
			for (size_t i = 0; i < G_N_ELEMENTS(under4); i++) {
				mask_to(&n, under4[i], &m);
				index_put(ix, net_key('I', &m), r);
			}
		} else {
			for (size_t i = 0; i < G_N_ELEMENTS(under6); i++) {
				mask_to(&n, under6[i], &m);
				index_put(ix, net_key('I', &m), r);
			}
		}
		return;
	}
	if (strcmp(type, "ssdeep") == 0) {
		ssd s;
		put_ctx p = { ix, r };

		if (parse_ssdeep(value, &s) == 0) {
			each_gram(s.bs, s.c1, put_gram, &p);
			each_gram(s.bs * 2, s.c2, put_gram, &p);
		}
	}
plain:
	index_put(ix, key_of('V', type, strlen(type), value, vlen), r);
}

/* ---- the lists (warning lists and exclusions) -------------------------- */

/* Whether VALUE of TYPE is on a warning list or excluded. */
static int
listed(const csip_corr_index *ix, const char *type, const char *value)
{
	if (ix->excluded && g_hash_table_contains(ix->excluded, value))
		return 1;
	if (is_host(type)) {
		for (const char *p = value; p; p = strchr(p, '.'), p = p ? p + 1
		     : NULL)
			if (ix->wl_domains && g_hash_table_contains(
				ix->wl_domains, p))
				return 1;
		return 0;
	}
	if (strcmp(type, "ipv4") == 0 || strcmp(type, "ipv6") == 0 ||
	    strcmp(type, "cidr4") == 0 || strcmp(type, "cidr6") == 0) {
		net n;

		if (parse_net(value, &n) == 0 && ix->wl_nets) {
			for (guint i = 0; i < ix->wl_nets->len; i++)
				if (net_contains(&g_array_index(ix->wl_nets,
						 net, i), &n))
					return 1;
		}
		return 0;
	}
	if (ix->wl_exact) {
		char *k = g_strconcat(type, "\x1f", value, NULL);
		int hit = g_hash_table_contains(ix->wl_exact, k);

		g_free(k);
		return hit;
	}
	return 0;
}

/* The warning-list form of a value: a host is a domain entry, an address
 * a /32 or /128 network, anything else its own type.  *type is static,
 * *value g_free()d. */
static int
wl_normalise(const char *input, const char **type, char **value)
{
	csip_indicator *ind = NULL;
	int rc;

	*value = NULL;
	rc = csip_indicator_parse(input, strlen(input), CSIP_IND_UNKNOWN,
				  &ind);
	if (rc < 0)
		return csip_error_prefix(rc, "warning list entry \"%s\": ",
					 input);
	switch (ind->type) {
	case CSIP_IND_DOMAIN:
	case CSIP_IND_HOSTNAME:
		*type = "domain";
		*value = g_strdup(ind->value);
		break;
	case CSIP_IND_IPV4:
	case CSIP_IND_CIDR4:
	case CSIP_IND_IPV6:
	case CSIP_IND_CIDR6:
		rc = csip_cidr_canonical(ind->value, value);
		*type = (ind->type == CSIP_IND_IPV4 ||
			 ind->type == CSIP_IND_CIDR4) ? "cidr4" : "cidr6";
		break;
	default:
		*type = csip_ind_type_name(ind->type);
		*value = g_strdup(ind->value);
		break;
	}
	csip_indicator_free(ind);
	return rc;
}

/* Add the shipped entries the table has not seen yet.  Runs in the
 * caller's transaction. */
static int
seed_shipped(csip_hub *h)
{
	csip_store *s = csip_hub_store(h);
	int64_t have = 0;
	char now[21], ver[16];
	int rc;

	rc = csip_store_query_int64(s, &have, "SELECT shipped_version FROM "
		"corr_state WHERE one = 1", NULL);
	if (rc < 0 || have >= SHIPPED_VERSION)
		return rc;
	csip_store_now(now);
	for (size_t i = 0; i < G_N_ELEMENTS(shipped); i++) {
		const char *type;
		char *value = NULL;

		if ((rc = wl_normalise(shipped[i].value, &type, &value)) < 0)
			return rc;
		/* Removed entries keep their row (removed = 1), so the
		 * conflict keeps them out. */
		rc = csip_store_run(s, NULL, "INSERT INTO warninglist (list, "
			"type, value, shipped, added_by, added_at) VALUES (?, ?, "
			"?, 1, 'csip', ?) ON CONFLICT DO NOTHING",
			shipped[i].list, type, value, now, NULL);
		g_free(value);
		if (rc < 0)
			return rc;
	}
	g_snprintf(ver, sizeof ver, "%d", SHIPPED_VERSION);
	rc = csip_store_run(s, NULL, "UPDATE corr_state SET shipped_version = "
		"?, lists_version = lists_version + 1 WHERE one = 1", ver,
		NULL);
	return rc;
}

static int
wl_row(csip_stmt *st, void *ud)
{
	csip_corr_index *ix = ud;
	const char *type = csip_stmt_text(st, 0);
	const char *value = csip_stmt_text(st, 1);

	if (strcmp(type, "domain") == 0) {
		g_hash_table_add(ix->wl_domains, g_strdup(value));
	} else if (strcmp(type, "cidr4") == 0 || strcmp(type, "cidr6") == 0) {
		net n, m;

		if (parse_net(value, &n) == 0) {
			mask_to(&n, n.len, &m);
			g_array_append_val(ix->wl_nets, m);
		}
	} else {
		g_hash_table_add(ix->wl_exact, g_strconcat(type, "\x1f", value,
							   NULL));
	}
	return CSIP_OK;
}

static int
excl_row(csip_stmt *st, void *ud)
{
	g_hash_table_add(ud, g_strdup(csip_stmt_text(st, 0)));
	return CSIP_OK;
}

static int
load_lists(csip_hub *h, csip_corr_index *ix, int64_t version)
{
	csip_store *s = csip_hub_store(h);
	int rc;

	lists_clear(ix);
	ix->wl_domains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					       NULL);
	ix->wl_exact = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					     NULL);
	ix->wl_nets = g_array_new(FALSE, FALSE, sizeof(net));
	ix->excluded = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					     NULL);
	rc = csip_store_each(s, wl_row, ix, "SELECT type, value FROM "
		"warninglist WHERE removed = 0", NULL);
	if (rc == CSIP_OK)
		rc = csip_store_each(s, excl_row, ix->excluded, "SELECT value "
			"FROM corr_exclusion", NULL);
	if (rc < 0) {
		lists_clear(ix);
		return rc;
	}
	ix->lists_version = version;
	return CSIP_OK;
}

/* ---- configuration ------------------------------------------------------- */

static int
cfg_int(csip_hub *h, const char *key, long lo, long hi, long *out)
{
	const char *v = csip_config_get(csip_hub_config(h), "correlate", key);
	char *end = NULL;
	long n = v ? strtol(v, &end, 10) : 0;

	if (v == NULL || end == v || *end != '\0' || n < lo || n > hi)
		return csip_error_set(CSIP_ECONFIG, "[correlate] %s \"%s\": give"
			" a number from %ld to %ld", key, v ? v : "", lo, hi);
	*out = n;
	return CSIP_OK;
}

static int
cfg_enabled(csip_hub *h)
{
	const char *v = csip_config_get(csip_hub_config(h), "correlate",
					"enabled");

	return v == NULL || !(strcmp(v, "false") == 0 || strcmp(v, "0") == 0 ||
			      strcmp(v, "no") == 0);
}

/* ---- saving and loading the index file ----------------------------------- */

typedef struct file_header {
	char magic[8];
	uint32_t version, cap;
	int64_t epoch, seq, token;
	uint64_t slots, n, arena_len, orgs_len;
	uint64_t lens4, lens6[3];
	uint64_t check;
} file_header;

static uint64_t
checksum(const void *p, size_t n, uint64_t h)
{
	const unsigned char *b = p;
	size_t i = 0;

	/* Eight bytes at a time: a mixing sum, fast enough for a few
	 * hundred megabytes at start-up. */
	for (; i + 8 <= n; i += 8) {
		uint64_t w;

		memcpy(&w, b + i, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	for (; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

/* Move every live list to a fresh arena, leaving out what grown and full
 * lists left behind. */
static void
compact(csip_corr_index *ix)
{
	uint32_t *old = ix->arena;
	size_t len = 1;

	if (ix->garbage == 0)
		return;
	ix->arena_room = MAX(ix->arena_len - ix->garbage, 1024);
	ix->arena = g_new(uint32_t, ix->arena_room);
	for (size_t i = 0; i < ix->slots; i++) {
		uint32_t ref = ix->refs[i], n;

		if (ix->keys[i] == 0 || ref == REF_FULL || (ref & REF_INLINE))
			continue;
		n = old[ref];
		if (len + 2 + n > ix->arena_room) {
			ix->arena_room = (len + 2 + n) * 2;
			ix->arena = g_renew(uint32_t, ix->arena,
					    ix->arena_room);
		}
		ix->arena[len] = n;
		ix->arena[len + 1] = n;
		memcpy(&ix->arena[len + 2], &old[ref + 2], n * sizeof(uint32_t));
		ix->refs[i] = (uint32_t)len;
		len += 2 + n;
	}
	g_free(old);
	ix->arena_len = len;
	ix->garbage = 0;
}

static int
write_all(FILE *f, const void *p, size_t n)
{
	return n == 0 || fwrite(p, 1, n, f) == n ? 0 : -1;
}

static int
index_save(csip_corr_index *ix, const char *path)
{
	/* One temporary name per process: two may save at once. */
	char *tmp = g_strdup_printf("%s.%ld.tmp", path, (long)getpid());
	file_header hd = { 0 };
	FILE *f = NULL;
	int rc = CSIP_OK;

	compact(ix);
	memcpy(hd.magic, FILE_MAGIC, 8);
	hd.version = FILE_VERSION;
	hd.cap = ix->cap;
	hd.epoch = ix->epoch;
	hd.seq = ix->seq;
	hd.token = ix->token;
	hd.slots = ix->slots;
	hd.n = ix->n;
	hd.arena_len = ix->arena_len;
	hd.orgs_len = ix->orgs_len;
	hd.lens4 = ix->lens4;
	memcpy(hd.lens6, ix->lens6, sizeof hd.lens6);
	hd.check = checksum(ix->keys, ix->slots * sizeof(uint64_t), 0);
	hd.check = checksum(ix->refs, ix->slots * sizeof(uint32_t), hd.check);
	hd.check = checksum(ix->arena, ix->arena_len * sizeof(uint32_t),
			    hd.check);
	hd.check = checksum(ix->orgs, ix->orgs_len * sizeof(uint32_t),
			    hd.check);
	if ((f = fopen(tmp, "wb")) == NULL ||
	    write_all(f, &hd, sizeof hd) < 0 ||
	    write_all(f, ix->keys, ix->slots * sizeof(uint64_t)) < 0 ||
	    write_all(f, ix->refs, ix->slots * sizeof(uint32_t)) < 0 ||
	    write_all(f, ix->arena, ix->arena_len * sizeof(uint32_t)) < 0 ||
	    write_all(f, ix->orgs, ix->orgs_len * sizeof(uint32_t)) < 0 ||
	    fflush(f) != 0 || fsync(fileno(f)) != 0) {
		rc = csip_error_set(CSIP_EIO, "cannot write the correlation "
			"index %s: %s; check the data folder's space and "
			"permissions", tmp, g_strerror(errno));
		goto out;
	}
	if (fclose(f) != 0) {
		f = NULL;
		rc = csip_error_set(CSIP_EIO, "cannot write the correlation "
			"index %s: %s", tmp, g_strerror(errno));
		goto out;
	}
	f = NULL;
	/* Atomic: a reader sees the old file or the new one. */
	if (g_rename(tmp, path) != 0)
		rc = csip_error_set(CSIP_EIO, "cannot rename %s to %s: %s", tmp,
			path, g_strerror(errno));
out:
	if (f)
		fclose(f);
	if (rc < 0)
		g_unlink(tmp);
	g_free(tmp);
	return rc;
}

static int
read_all(FILE *f, void *p, size_t n)
{
	return n == 0 || fread(p, 1, n, f) == n ? 0 : -1;
}

/* Load PATH into IX when it was saved at EPOCH with the same cap and no
 * later than SEQ; returns 1 when loaded, 0 when the file is missing or
 * unusable (the caller rebuilds from the database). */
static int
index_load(csip_corr_index *ix, const char *path, int64_t epoch, int64_t seq)
{
	file_header hd;
	uint64_t check;
	FILE *f = fopen(path, "rb");
	int ok = 0;

	if (f == NULL)
		return 0;
	if (read_all(f, &hd, sizeof hd) < 0 || memcmp(hd.magic, FILE_MAGIC, 8)
	    || hd.version != FILE_VERSION || hd.cap != ix->cap ||
	    hd.epoch != epoch || hd.seq > seq || hd.slots < MIN_SLOTS ||
	    hd.n >= hd.slots || hd.slots > ((uint64_t)1 << 34) ||
	    hd.arena_len < 1 || hd.arena_len > ((uint64_t)1 << 31) ||
	    hd.orgs_len > (uint64_t)MAX_REPORT + 1)
		goto out;
	g_free(ix->keys);
	g_free(ix->refs);
	g_free(ix->arena);
	g_free(ix->orgs);
	ix->slots = hd.slots;
	ix->n = hd.n;
	ix->keys = g_new(uint64_t, hd.slots);
	ix->refs = g_new(uint32_t, hd.slots);
	ix->arena_room = MAX(hd.arena_len, 1024);
	ix->arena = g_new(uint32_t, ix->arena_room);
	ix->arena_len = hd.arena_len;
	ix->garbage = 0;
	ix->orgs_len = hd.orgs_len;
	ix->orgs = g_new(uint32_t, MAX(hd.orgs_len, 1));
	if (read_all(f, ix->keys, hd.slots * sizeof(uint64_t)) < 0 ||
	    read_all(f, ix->refs, hd.slots * sizeof(uint32_t)) < 0 ||
	    read_all(f, ix->arena, hd.arena_len * sizeof(uint32_t)) < 0 ||
	    read_all(f, ix->orgs, hd.orgs_len * sizeof(uint32_t)) < 0)
		goto bad;
	check = checksum(ix->keys, hd.slots * sizeof(uint64_t), 0);
	check = checksum(ix->refs, hd.slots * sizeof(uint32_t), check);
	check = checksum(ix->arena, hd.arena_len * sizeof(uint32_t), check);
	check = checksum(ix->orgs, hd.orgs_len * sizeof(uint32_t), check);
	if (check != hd.check)
		goto bad;
	ix->lens4 = hd.lens4;
	memcpy(ix->lens6, hd.lens6, sizeof ix->lens6);
	ix->epoch = hd.epoch;
	ix->seq = hd.seq;
	ix->token = hd.token;
	ok = 1;
	goto out;
bad:
	/* Start over empty: the caller fills it from the database. */
	g_free(ix->keys);
	g_free(ix->refs);
	g_free(ix->arena);
	g_clear_pointer(&ix->orgs, g_free);
	ix->orgs_len = 0;
	ix->slots = MIN_SLOTS;
	ix->n = 0;
	ix->keys = g_new0(uint64_t, ix->slots);
	ix->refs = g_new0(uint32_t, ix->slots);
	ix->arena_room = 1024;
	ix->arena = g_new(uint32_t, ix->arena_room);
	ix->arena_len = 1;
out:
	fclose(f);
	return ok;
}

/* ---- the process's index, per database ---------------------------------- */

static GMutex registry_lock;
static GHashTable *registry;   /* database URL -> csip_corr_index */

static csip_corr_index *
process_index(csip_hub *h, uint32_t cap)
{
	const char *url = csip_config_db_url(csip_hub_config(h));
	csip_corr_index *ix;

	g_mutex_lock(&registry_lock);
	if (registry == NULL)
		registry = g_hash_table_new_full(g_str_hash, g_str_equal,
			g_free, (GDestroyNotify)csip_correlate_index_free);
	ix = g_hash_table_lookup(registry, url);
	if (ix == NULL) {
		ix = csip_correlate_index_new(cap);
		ix->url = g_strdup(url);
		g_hash_table_insert(registry, g_strdup(url), ix);
	}
	g_mutex_unlock(&registry_lock);
	return ix;
}

void
csip_correlate_forget(void)
{
	g_mutex_lock(&registry_lock);
	g_clear_pointer(&registry, g_hash_table_destroy);
	g_mutex_unlock(&registry_lock);
}

static const char *
index_path(csip_hub *h)
{
	return csip_config_get(csip_hub_config(h), "correlate", "index_file");
}

typedef struct corr_state {
	int64_t seq, epoch, lists_version, campaign_epoch;
} corr_state;

static int
read_state(csip_store *s, corr_state *st)
{
	csip_stmt *q = NULL;
	int rc;

	memset(st, 0, sizeof *st);
	rc = csip_store_prepare(s, "SELECT seq, epoch, lists_version, "
		"campaign_epoch FROM corr_state WHERE one = 1", &q);
	if (rc < 0)
		return rc;
	rc = csip_stmt_step(q);
	if (rc == CSIP_ROW) {
		st->seq = csip_stmt_int64(q, 0);
		st->epoch = csip_stmt_int64(q, 1);
		st->lists_version = csip_stmt_int64(q, 2);
		st->campaign_epoch = csip_stmt_int64(q, 3);
		rc = CSIP_OK;
	} else if (rc == CSIP_DONE) {
		rc = csip_error_set(CSIP_ESTORE, "the correlation state row is "
			"missing: the database was not migrated by this csip");
	}
	csip_stmt_free(q);
	return rc;
}

/* Add the observations of reports correlated after IX->seq, in their
 * order.  *added (may be NULL) counts the keys' values added. */
static int
catch_up(csip_hub *h, csip_corr_index *ix, int64_t upto, size_t *added)
{
	csip_stmt *st = NULL;
	size_t n = 0;
	int rc;

	rc = csip_store_prepare(csip_hub_store(h), "SELECT r.corr_seq, r.id, "
		"o.type, o.value, r.org_id FROM report r JOIN observation o ON "
		"o.report_id = r.id WHERE r.corr_seq > ? AND r.corr_seq <= ? "
		"ORDER BY r.corr_seq", &st);
	if (rc < 0)
		goto out;
	if ((rc = csip_stmt_bind_int64(st, 1, ix->seq)) < 0 ||
	    (rc = csip_stmt_bind_int64(st, 2, upto)) < 0)
		goto out;
	while ((rc = csip_stmt_step(st)) == CSIP_ROW) {
		csip_correlate_index_add(ix, csip_stmt_text(st, 2),
			csip_stmt_text(st, 3), csip_stmt_int64(st, 1));
		index_set_org(ix, csip_stmt_int64(st, 1), csip_stmt_int64(st,
			      4));
		n++;
	}
	if (rc < 0)
		goto out;
	ix->seq = upto;
	rc = CSIP_OK;
out:
	csip_stmt_free(st);
	if (added)
		*added = n;
	return rc;
}

/* The corr_token of the report correlated at SEQ into *tok: 0 when it
 * has none (correlated before migration 11, or by a rebuild), -1 when no
 * report has that place. */
static int
token_at(csip_store *s, int64_t seq, int64_t *tok)
{
	csip_stmt *st = NULL;
	int rc;

	*tok = -1;
	if ((rc = csip_store_prepare(s, "SELECT corr_token FROM report WHERE "
		"corr_seq = ?", &st)) < 0 ||
	    (rc = csip_stmt_bind_int64(st, 1, seq)) < 0 ||
	    (rc = csip_stmt_step(st)) < 0)
		goto out;
	if (rc == CSIP_ROW)
		*tok = csip_stmt_is_null(st, 0) ? 0 : csip_stmt_int64(st, 0);
	rc = CSIP_OK;
out:
	csip_stmt_free(st);
	return rc;
}

/* Whether IX's reports are the database's: the report at IX->seq is
 * the one IX learnt there.  Correlations commit without waiting for the
 * disk (csip_correlate_report), so a crash can take back the last ones
 * after an index learnt them (the index file saved, or, on PostgreSQL, a
 * process that outlived the server's crash); the database then gives
 * those places to other reports, with other random tokens.  A token that
 * matches is a commit the database kept, and a kept commit keeps every
 * one before it (both logs are sequential), which is what IX learnt
 * before it. */
static int
index_matches(csip_hub *h, const csip_corr_index *ix, int *ok)
{
	int64_t tok = 0;
	int rc = CSIP_OK;

	*ok = 1;
	if (ix->seq > 0 &&
	    (rc = token_at(csip_hub_store(h), ix->seq, &tok)) == CSIP_OK)
		*ok = tok == ix->token;
	return rc;
}

/* Move SRC's table and what it reflects into DST in place (DST's mutex
 * and lists stay); SRC is left without a table. */
static void
table_take(csip_corr_index *dst, csip_corr_index *src)
{
	g_free(dst->keys);
	g_free(dst->refs);
	g_free(dst->arena);
	g_free(dst->orgs);
	g_free(dst->camps);
	dst->keys = src->keys;
	dst->refs = src->refs;
	dst->arena = src->arena;
	dst->orgs = src->orgs;
	dst->orgs_len = src->orgs_len;
	dst->camps = src->camps;
	dst->camps_len = src->camps_len;
	dst->camp_epoch = src->camp_epoch;
	dst->slots = src->slots;
	dst->n = src->n;
	dst->arena_len = src->arena_len;
	dst->arena_room = src->arena_room;
	dst->garbage = src->garbage;
	dst->lens4 = src->lens4;
	memcpy(dst->lens6, src->lens6, sizeof dst->lens6);
	dst->cap = src->cap;
	dst->epoch = src->epoch;
	dst->seq = src->seq;
	dst->token = src->token;
	src->keys = NULL;
	src->refs = NULL;
	src->arena = NULL;
	src->orgs = NULL;
	src->orgs_len = 0;
	src->camps = NULL;
	src->camps_len = 0;
	src->camp_epoch = 0;
}

/* Empty IX in place for EPOCH and CAP. */
static void
index_clear(csip_corr_index *ix, int64_t epoch, uint32_t cap)
{
	csip_corr_index *tmp = csip_correlate_index_new(cap);

	tmp->epoch = epoch;
	table_take(ix, tmp);
	csip_correlate_index_free(tmp);
	ix->loaded = 0;
}

/* Make IX (locked) reflect the database as of STATE: reload on a new
 * epoch or cap, or when IX holds a correlation the database lost (see
 * index_matches), catch up on new reports, reload the lists when they
 * changed.  Saves the file after a large catch-up so the next process
 * starts from it. */
static int
ensure_current(csip_hub *h, csip_corr_index *ix, const corr_state *state,
	       uint32_t cap)
{
	size_t added = 0;
	int rc, fresh = 0, ok = 0;

	if (ix->loaded && ix->epoch == state->epoch && ix->cap == cap &&
	    ix->seq <= state->seq && (rc = index_matches(h, ix, &ok)) < 0)
		return rc;
	if (!ok) {
		index_clear(ix, state->epoch, cap);
		if (!index_load(ix, index_path(h), state->epoch, state->seq))
			fresh = 1;
		else if ((rc = index_matches(h, ix, &ok)) < 0)
			goto fail;
		else if (!ok)
			fresh = 1;
		if (fresh)
			index_clear(ix, state->epoch, cap);
	}
	if (ix->seq < state->seq) {
		if ((rc = catch_up(h, ix, state->seq, &added)) < 0 ||
		    (rc = token_at(csip_hub_store(h), ix->seq,
				   &ix->token)) < 0)
			goto fail;
	}
	ix->loaded = 1;
	if (ix->lists_version != state->lists_version &&
	    (rc = load_lists(h, ix, state->lists_version)) < 0)
		return rc;
	/* The file only saves time; failing to write it is not an error. */
	if ((fresh || added >= SAVE_AFTER_KEYS) && added > 0 &&
	    index_save(ix, index_path(h)) < 0)
		csip_error_clear();
	return CSIP_OK;
fail:
	ix->loaded = 0;
	return rc;
}

/* ---- finding links -------------------------------------------------------- */

typedef struct hit {
	int64_t other;
	const char *kind;      /* value, domain, cidr, ssdeep */
	const char *type;
	const char *value;
	const char *other_value;
	int score;
} hit;

typedef struct obs {
	char *type, *value;
} obs;

typedef struct finder {
	csip_hub *h;
	csip_corr_index *ix;
	int64_t self;
	long ssdeep_threshold;
	GArray *links;          /* link */
	GStringChunk *strings;
	GHashTable *seen;       /* "other\x1ftype\x1fvalue\x1fother_value" */
	csip_stmt *ssd_stmt;    /* ssdeep values of a report */
} finder;

static void
add_link(finder *f, int64_t other, const char *kind, const char *type,
	 const char *value, const char *other_value, int score)
{
	char key[64];
	char *k;
	hit l;

	if (other == f->self)
		return;
	/* A value on a list never links, on either side. */
	if (other_value != value && f->ix->excluded &&
	    g_hash_table_contains(f->ix->excluded, other_value))
		return;
	g_snprintf(key, sizeof key, "%" PRId64 "\x1f", other);
	k = g_strconcat(key, type, "\x1f", value, "\x1f", other_value, NULL);
	if (!g_hash_table_add(f->seen, k))
		return;
	l.other = other;
	l.kind = kind;
	l.type = g_string_chunk_insert_const(f->strings, type);
	l.value = g_string_chunk_insert_const(f->strings, value);
	l.other_value = g_string_chunk_insert_const(f->strings, other_value);
	l.score = score;
	g_array_append_val(f->links, l);
}

/* Link to every report on the list of KEY, unless the value is too
 * common (the list is full). */
static void
probe(finder *f, uint64_t key, const char *kind, const char *type,
      const char *value, const char *other_value)
{
	const uint32_t *ids;
	uint32_t n, one;
	int full;

	index_get(f->ix, key, &ids, &n, &full, &one);
	/* The new report would be carrier number n+1: past the cap the
	 * value links nothing more. */
	if (full || n >= f->ix->cap)
		return;
	for (uint32_t i = 0; i < n; i++)
		add_link(f, ids[i], kind, type, value, other_value, 100);
}

static void
host_lookups(finder *f, const char *type, const char *value)
{
	size_t vlen = strlen(value);

	probe(f, key_of('H', value, vlen, NULL, 0), "value", type, value,
	      value);
	/* Stored hosts below this name. */
	probe(f, key_of('U', value, vlen, NULL, 0), "domain", type, value,
	      value);
	/* Stored names above it. */
	for (const char *p = strchr(value, '.'); p && strchr(p + 1, '.');
	     p = strchr(p + 1, '.')) {
		if (listed(f->ix, "domain", p + 1))
			continue;
		probe(f, key_of('H', p + 1, strlen(p + 1), NULL, 0), "domain",
		      type, value, p + 1);
	}
}

/* A network /N finds the stored addresses inside it through the smallest
 * filing length L >= N with 2^(L-N) probes at most MAX_CIDR_ENUM; wider
 * networks (IPv4 shorter than /8, IPv6 outside /24../64) only match
 * stored networks. */
static void
inside_lookups(finder *f, const net *n, const char *type, const char *value)
{
	const int *lens = n->family == 4 ? under4 : under6;
	size_t nl = n->family == 4 ? G_N_ELEMENTS(under4)
				   : G_N_ELEMENTS(under6);
	int full = n->family == 4 ? 32 : 128;
	int L = -1;
	char tag = 'I';

	for (size_t i = 0; i < nl; i++)
		if (lens[i] >= n->len) {
			L = lens[i];
			break;
		}
	if (L < 0 && n->family == 4) {
		L = full;
		tag = 'N';
	}
	if (L < 0 || L - n->len > 8 || (1 << (L - n->len)) > MAX_CIDR_ENUM)
		return;
	for (uint32_t k = 0; k < (1u << (L - n->len)); k++) {
		net m = *n;
		int bits = L - n->len;

		/* Write K into the bits between N and L. */
		for (int b = 0; b < bits; b++) {
			int pos = n->len + b;   /* bit from the left */

			if ((k >> (bits - 1 - b)) & 1)
				m.addr[pos / 8] |= (unsigned char)(0x80 >>
								   (pos % 8));
		}
		m.len = L;
		probe(f, net_key(tag, &m), "cidr", type, value, value);
	}
}

static void
net_lookups(finder *f, const char *type, const char *value)
{
	net n, m;
	int full;
	char txt[64];

	if (parse_net(value, &n) < 0) {
		probe(f, key_of('V', type, strlen(type), value, strlen(value)),
		      "value", type, value, value);
		return;
	}
	full = n.family == 4 ? 32 : 128;
	mask_to(&n, n.len, &m);
	probe(f, net_key('N', &m), "value", type, value, value);
	/* Stored networks holding it, at each length one is stored. */
	for (int len = 0; len < n.len; len++) {
		if (!lens_has(f->ix, n.family, len))
			continue;
		mask_to(&n, len, &m);
		net_text(&m, txt, sizeof txt);
		if (f->ix->excluded && g_hash_table_contains(f->ix->excluded,
							     txt))
			continue;
		probe(f, net_key('N', &m), "cidr", type, value, txt);
	}
	if (n.len < full)
		inside_lookups(f, &n, type, value);
}

typedef struct cand_ctx {
	finder *f;
	GHashTable *cands;
} cand_ctx;

static void
gram_cands(void *ud, uint64_t key)
{
	cand_ctx *c = ud;
	const uint32_t *ids;
	uint32_t n, one;
	int full;

	index_get(c->f->ix, key, &ids, &n, &full, &one);
	if (full || n >= c->f->ix->cap)
		return;
	for (uint32_t i = 0; i < n; i++)
		if ((int64_t)ids[i] != c->f->self &&
		    g_hash_table_size(c->cands) < MAX_SSDEEP_CANDIDATES)
			g_hash_table_add(c->cands, GINT_TO_POINTER(ids[i]));
}

/* Candidates share a 7-gram at a comparable block size; only they are
 * compared with fuzzy_compare(). */
static int
ssdeep_lookups(finder *f, const char *value)
{
	cand_ctx c = { f, g_hash_table_new(g_direct_hash, g_direct_equal) };
	GHashTableIter it;
	gpointer k;
	ssd s;
	int rc = CSIP_OK;

	probe(f, key_of('V', "ssdeep", 6, value, strlen(value)), "value",
	      "ssdeep", value, value);
	if (parse_ssdeep(value, &s) < 0)
		goto out;
	each_gram(s.bs, s.c1, gram_cands, &c);
	each_gram(s.bs * 2, s.c2, gram_cands, &c);
	if (g_hash_table_size(c.cands) == 0)
		goto out;
	if (f->ssd_stmt == NULL &&
	    (rc = csip_store_prepare(csip_hub_store(f->h), "SELECT value FROM "
		"observation WHERE report_id = ? AND type = 'ssdeep'",
		&f->ssd_stmt)) < 0)
		goto out;
	g_hash_table_iter_init(&it, c.cands);
	while (g_hash_table_iter_next(&it, &k, NULL)) {
		int64_t other = GPOINTER_TO_INT(k);

		csip_stmt_reset(f->ssd_stmt);
		if ((rc = csip_stmt_bind_int64(f->ssd_stmt, 1, other)) < 0)
			goto out;
		while ((rc = csip_stmt_step(f->ssd_stmt)) == CSIP_ROW) {
			const char *ov = csip_stmt_text(f->ssd_stmt, 0);
			int score = fuzzy_compare(value, ov);

			if (score >= f->ssdeep_threshold &&
			    strcmp(ov, value) != 0)
				add_link(f, other, "ssdeep", "ssdeep", value,
					 ov, score);
		}
		if (rc < 0)
			goto out;
	}
	rc = CSIP_OK;
out:
	g_hash_table_destroy(c.cands);
	return rc;
}

/* Every link of the observations OBS (of report SELF) to the reports in
 * the index.  Links go to F->links. */
static int
find_links(finder *f, const obs *o, size_t n)
{
	int rc;

	for (size_t i = 0; i < n; i++) {
		const char *type = o[i].type, *value = o[i].value;

		if (listed(f->ix, type, value))
			continue;
		if (is_host(type)) {
			host_lookups(f, type, value);
		} else if (strcmp(type, "ipv4") == 0 ||
			   strcmp(type, "ipv6") == 0 ||
			   strcmp(type, "cidr4") == 0 ||
			   strcmp(type, "cidr6") == 0) {
			net_lookups(f, type, value);
		} else if (strcmp(type, "ssdeep") == 0) {
			if ((rc = ssdeep_lookups(f, value)) < 0)
				return rc;
		} else {
			probe(f, key_of('V', type, strlen(type), value,
					strlen(value)), "value", type, value,
			      value);
		}
	}
	return CSIP_OK;
}

static void
finder_init(finder *f, csip_hub *h, csip_corr_index *ix, int64_t self,
	    long threshold)
{
	memset(f, 0, sizeof *f);
	f->h = h;
	f->ix = ix;
	f->self = self;
	f->ssdeep_threshold = threshold;
	f->links = g_array_new(FALSE, FALSE, sizeof(hit));
	f->strings = g_string_chunk_new(1024);
	f->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
}

/* Start over for another report, keeping the prepared statement. */
static void
finder_reset(finder *f, int64_t self)
{
	f->self = self;
	g_array_set_size(f->links, 0);
	g_string_chunk_clear(f->strings);
	g_hash_table_remove_all(f->seen);
}

static void
finder_clear(finder *f)
{
	g_array_free(f->links, TRUE);
	g_string_chunk_free(f->strings);
	g_hash_table_destroy(f->seen);
	csip_stmt_free(f->ssd_stmt);
	memset(f, 0, sizeof *f);
}

static void
obs_free(GArray *a)
{
	for (guint i = 0; a && i < a->len; i++) {
		g_free(g_array_index(a, obs, i).type);
		g_free(g_array_index(a, obs, i).value);
	}
	if (a)
		g_array_free(a, TRUE);
}

/* The observations of report ID, with a prepared statement ST (prepared
 * here when *st is NULL; the caller frees it). */
static int
load_obs(csip_store *s, csip_stmt **st, int64_t id, GArray **out)
{
	GArray *a = g_array_new(FALSE, FALSE, sizeof(obs));
	int rc;

	*out = NULL;
	if (*st == NULL && (rc = csip_store_prepare(s, "SELECT type, value "
		"FROM observation WHERE report_id = ?", st)) < 0)
		goto fail;
	csip_stmt_reset(*st);
	if ((rc = csip_stmt_bind_int64(*st, 1, id)) < 0)
		goto fail;
	while ((rc = csip_stmt_step(*st)) == CSIP_ROW) {
		obs o = { g_strdup(csip_stmt_text(*st, 0)),
			  g_strdup(csip_stmt_text(*st, 1)) };

		g_array_append_val(a, o);
	}
	if (rc < 0)
		goto fail;
	*out = a;
	return CSIP_OK;
fail:
	obs_free(a);
	return rc;
}

static gint
cmp_i64(gconstpointer a, gconstpointer b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Distinct linked reports of F->links, sorted. */
static GArray *
linked_reports(const finder *f)
{
	GArray *ids = g_array_new(FALSE, FALSE, sizeof(int64_t));
	GHashTable *seen = g_hash_table_new(g_int64_hash, g_int64_equal);

	for (guint i = 0; i < f->links->len; i++) {
		hit *l = &g_array_index(f->links, hit, i);

		if (g_hash_table_add(seen, &l->other))
			g_array_append_val(ids, l->other);
	}
	g_hash_table_destroy(seen);
	g_array_sort(ids, cmp_i64);
	return ids;
}

static int
write_links(csip_store *s, csip_stmt **st, int64_t self, const finder *f)
{
	int rc = CSIP_OK;

	if (f->links->len == 0)
		return CSIP_OK;
	if (*st == NULL && (rc = csip_store_prepare(s, "INSERT INTO corr_link "
		"(report_id, other_id, kind, type, value, other_value, score) "
		"VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", st)) < 0)
		return rc;
	for (guint i = 0; i < f->links->len; i++) {
		hit *l = &g_array_index(f->links, hit, i);

		csip_stmt_reset(*st);
		if ((rc = csip_stmt_bind_int64(*st, 1, self)) < 0 ||
		    (rc = csip_stmt_bind_int64(*st, 2, l->other)) < 0 ||
		    (rc = csip_stmt_bind_text(*st, 3, l->kind)) < 0 ||
		    (rc = csip_stmt_bind_text(*st, 4, l->type)) < 0 ||
		    (rc = csip_stmt_bind_text(*st, 5, l->value)) < 0 ||
		    (rc = csip_stmt_bind_text(*st, 6, l->other_value)) < 0 ||
		    (rc = csip_stmt_bind_int64(*st, 7, l->score)) < 0)
			return rc;
		if ((rc = csip_stmt_step(*st)) < 0)
			return rc;
	}
	return CSIP_OK;
}

typedef struct settings {
	long cap, threshold;
} settings;

static int
read_settings(csip_hub *h, settings *set)
{
	int rc;

	if ((rc = cfg_int(h, "max_reports_per_value", 1, 1000000,
			  &set->cap)) < 0 ||
	    (rc = cfg_int(h, "ssdeep_threshold", 1, 100, &set->threshold)) < 0)
		return rc;
	return CSIP_OK;
}

/* ---- correlating one report ------------------------------------------- */

int
csip_correlate_report(csip_hub *h, int64_t id)
{
	csip_store *s = csip_hub_store(h);
	csip_corr_index *ix = NULL;
	csip_stmt *st = NULL, *obs_st = NULL, *link_st = NULL;
	GArray *o = NULL, *linked = NULL, *orgs = NULL, *camps = NULL;
	corr_state state;
	settings set = { 0 };
	finder f;
	int64_t campaign = 0, alert = 0, seq = 0, token = 0, org = 0;
	int64_t camp_end = 0;
	char now[21];
	int rc, began = 0, locked = 0, have_finder = 0, known = 0;

	if (id <= 0 || id > MAX_REPORT)
		return csip_error_set(CSIP_EINVAL, "report id %" PRId64 " is "
			"out of range for the correlation index", id);
	if ((rc = read_settings(h, &set)) < 0)
		return rc;
	ix = process_index(h, (uint32_t)set.cap);
	/* Not durable: everything this transaction writes is derived from
	 * the report, which its own transaction stored durably before (the
	 * ingest paths correlate after their commit).  If a power failure
	 * (or, on PostgreSQL, a crash of the server) takes this commit back,
	 * the report is left with correlated_at NULL and the sweep
	 * (csip_correlate_pending) correlates it again: links, campaign,
	 * alert and its outbox row are made again.  An index that learnt the
	 * lost commit finds out by the token (index_matches).  Any later
	 * durable commit makes this one durable too. */
	if ((rc = csip_store_begin_async(s)) < 0)
		goto out;
	began = 1;
	g_mutex_lock(&ix->lock);
	locked = 1;
	rc = csip_store_prepare(s, "SELECT corr_seq, org_id FROM report WHERE "
				"id = ?", &st);
	if (rc < 0 || (rc = csip_stmt_bind_int64(st, 1, id)) < 0 ||
	    (rc = csip_stmt_step(st)) < 0)
		goto out;
	if (rc == CSIP_DONE) {
		rc = csip_error_set(CSIP_ENOTFOUND, "report %" PRId64 " does "
			"not exist; `csip report list` shows the reports", id);
		goto out;
	}
	if (!csip_stmt_is_null(st, 0)) {
		rc = CSIP_OK;       /* done before */
		goto out;
	}
	org = csip_stmt_int64(st, 1);
	g_clear_pointer(&st, csip_stmt_free);
	if ((rc = seed_shipped(h)) < 0 || (rc = read_state(s, &state)) < 0 ||
	    (rc = ensure_current(h, ix, &state, (uint32_t)set.cap)) < 0)
		goto out;
	/* The memberships: the index's while the epoch is theirs; read
	 * anew when this process's own last correlation was the last
	 * writer (another writer since: it may still be at work, so the
	 * lookups of this correlation are cheaper than a reload). */
	if (ix->camp_epoch != state.campaign_epoch &&
	    state.campaign_epoch == ix->camp_seen &&
	    (rc = camps_reload(h, ix, state.campaign_epoch)) < 0)
		goto out;
	known = ix->camp_epoch != 0 && ix->camp_epoch ==
		state.campaign_epoch;
	if ((rc = load_obs(s, &obs_st, id, &o)) < 0)
		goto out;
	finder_init(&f, h, ix, id, set.threshold);
	have_finder = 1;
	if ((rc = find_links(&f, (obs *)(void *)o->data, o->len)) < 0 ||
	    (rc = write_links(s, &link_st, id, &f)) < 0)
		goto out;
	linked = linked_reports(&f);
	orgs = g_array_sized_new(FALSE, FALSE, sizeof(int64_t), linked->len);
	for (guint i = 0; i < linked->len; i++) {
		int64_t lo = index_org(ix, g_array_index(linked, int64_t, i));

		g_array_append_val(orgs, lo);
	}
	if (known) {
		int64_t c = camp_of(ix, id);

		camps = g_array_sized_new(FALSE, FALSE, sizeof(int64_t),
					  linked->len + 1);
		g_array_append_val(camps, c);
		for (guint i = 0; i < linked->len; i++) {
			c = camp_of(ix, g_array_index(linked, int64_t, i));
			g_array_append_val(camps, c);
		}
	}
	if ((rc = csip_campaign_on_links(h, id, org, (int64_t *)(void *)
			linked->data, (int64_t *)(void *)orgs->data, camps ?
			(int64_t *)(void *)camps->data : NULL, linked->len,
			&campaign, &alert)) < 0)
		goto out;
	csip_store_now(now);
	seq = state.seq + 1;
	/* Random, so that a place in the order given again after a lost
	 * commit never carries the token an index learnt (index_matches). */
	token = (int64_t)(((uint64_t)g_random_int() << 31) ^
			  g_random_int()) | 1;
	/* The epoch after this correlation's own memberships: no other
	 * writer can come between it and the one read above (the writers'
	 * lock, which migration 14's trigger takes too on PostgreSQL). */
	rc = csip_store_prepare(s, "UPDATE corr_state SET seq = seq + 1 "
		"WHERE one = 1 RETURNING campaign_epoch", &st);
	if (rc < 0 || (rc = csip_stmt_step(st)) < 0)
		goto out;
	if (rc != CSIP_ROW) {
		rc = csip_error_set(CSIP_ESTORE, "the correlation state row is "
			"missing: the database was not migrated by this csip");
		goto out;
	}
	camp_end = csip_stmt_int64(st, 0);
	g_clear_pointer(&st, csip_stmt_free);
	rc = csip_store_prepare(s, "UPDATE report SET corr_seq = ?, "
		"corr_token = ?, correlated_at = ? WHERE id = ?", &st);
	if (rc < 0 || (rc = csip_stmt_bind_int64(st, 1, seq)) < 0 ||
	    (rc = csip_stmt_bind_int64(st, 2, token)) < 0 ||
	    (rc = csip_stmt_bind_text(st, 3, now)) < 0 ||
	    (rc = csip_stmt_bind_int64(st, 4, id)) < 0 ||
	    (rc = csip_stmt_step(st)) < 0)
		goto out;
	g_clear_pointer(&st, csip_stmt_free);
	csip_stmt_free(obs_st);
	obs_st = NULL;
	csip_stmt_free(link_st);
	link_st = NULL;
	if (have_finder) {
		csip_stmt_free(f.ssd_stmt);
		f.ssd_stmt = NULL;
	}
	began = 0;
	if ((rc = csip_store_commit(s)) < 0)
		goto out;
	/* Committed: now the index may learn the report. */
	if (ix->seq == seq - 1) {
		for (guint i = 0; i < o->len; i++)
			csip_correlate_index_add(ix, g_array_index(o, obs,
				i).type, g_array_index(o, obs, i).value, id);
		index_set_org(ix, id, org);
		ix->seq = seq;
		ix->token = token;
		/* Learnt with the report, so that a commit the database
		 * loses takes them away with it (index_matches). */
		if (known && ix->camp_epoch == state.campaign_epoch) {
			camps_apply(ix, id, (int64_t *)(void *)linked->data,
				    (int64_t *)(void *)camps->data,
				    linked->len, campaign);
			if (ix->camp_epoch != 0)
				ix->camp_epoch = camp_end;
		}
	} else {
		ix->camp_epoch = 0;
	}
	ix->camp_seen = camp_end;
out:
	csip_stmt_free(st);
	csip_stmt_free(obs_st);
	csip_stmt_free(link_st);
	if (have_finder)
		finder_clear(&f);
	if (began) {
		if (rc < 0)
			csip_store_rollback(s);
		else
			rc = csip_store_commit(s);
	}
	if (locked)
		g_mutex_unlock(&ix->lock);
	obs_free(o);
	if (linked)
		g_array_free(linked, TRUE);
	if (orgs)
		g_array_free(orgs, TRUE);
	if (camps)
		g_array_free(camps, TRUE);
	return rc;
}

int
csip_correlate_pending(csip_hub *h, int max, size_t *done)
{
	GArray *ids = g_array_new(FALSE, FALSE, sizeof(int64_t));
	csip_stmt *st = NULL;
	size_t n = 0;
	int rc;

	if (done)
		*done = 0;
	rc = csip_store_prepare(csip_hub_store(h), "SELECT id FROM report "
		"WHERE correlated_at IS NULL ORDER BY id LIMIT ?", &st);
	if (rc < 0 || (rc = csip_stmt_bind_int64(st, 1, max > 0 ? max : G_MAXINT64))
	    < 0)
		goto out;
	while ((rc = csip_stmt_step(st)) == CSIP_ROW) {
		int64_t v = csip_stmt_int64(st, 0);

		g_array_append_val(ids, v);
	}
	g_clear_pointer(&st, csip_stmt_free);
	if (rc < 0)
		goto out;
	for (guint i = 0; i < ids->len; i++) {
		if ((rc = csip_correlate_report(h, g_array_index(ids, int64_t,
							       i))) < 0)
			goto out;
		n++;
	}
	rc = CSIP_OK;
out:
	csip_stmt_free(st);
	g_array_free(ids, TRUE);
	if (done)
		*done = n;
	return rc;
}

void
csip_correlate_after_ingest(csip_hub *h, int64_t id)
{
	long batch = 0;

	if (!cfg_enabled(h))
		return;
	/* The report is durable already: whatever fails here leaves it
	 * with correlated_at NULL for the next sweep. */
	if (csip_correlate_report(h, id) < 0 ||
	    cfg_int(h, "sweep_batch", 0, 100000, &batch) < 0 ||
	    (batch > 0 && csip_correlate_pending(h, (int)batch, NULL) < 0))
		csip_error_clear();
}

int
csip_correlate_preview(csip_hub *h, int64_t id, json_t **out)
{
	csip_store *s = csip_hub_store(h);
	csip_corr_index *ix;
	csip_stmt *obs_st = NULL;
	GArray *o = NULL;
	corr_state state;
	settings set = { 0 };
	finder f;
	json_t *arr = NULL;
	int rc, have_finder = 0;

	*out = NULL;
	if ((rc = read_settings(h, &set)) < 0)
		return rc;
	ix = process_index(h, (uint32_t)set.cap);
	g_mutex_lock(&ix->lock);
	if ((rc = read_state(s, &state)) < 0 ||
	    (rc = ensure_current(h, ix, &state, (uint32_t)set.cap)) < 0 ||
	    (rc = load_obs(s, &obs_st, id, &o)) < 0)
		goto out;
	finder_init(&f, h, ix, id, set.threshold);
	have_finder = 1;
	if ((rc = find_links(&f, (obs *)(void *)o->data, o->len)) < 0)
		goto out;
	arr = json_array();
	for (guint i = 0; i < f.links->len; i++) {
		hit *l = &g_array_index(f.links, hit, i);

		json_array_append_new(arr, json_pack("{sI ss ss ss ss si}",
			"report", (json_int_t)l->other, "kind", l->kind,
			"type", l->type, "value", l->value, "other_value",
			l->other_value, "score", l->score));
	}
	*out = arr;
	rc = CSIP_OK;
out:
	if (have_finder)
		finder_clear(&f);
	g_mutex_unlock(&ix->lock);
	csip_stmt_free(obs_st);
	obs_free(o);
	return rc;
}

/* ---- rebuilding ------------------------------------------------------------ */

/* Union-find over report ids (dense: SQLite row ids). */
typedef struct uf {
	int64_t *parent;
	size_t n;
} uf;

static int64_t
uf_find(uf *u, int64_t x)
{
	while (u->parent[x] != x) {
		u->parent[x] = u->parent[u->parent[x]];
		x = u->parent[x];
	}
	return x;
}

static void
uf_union(uf *u, int64_t a, int64_t b)
{
	a = uf_find(u, a);
	b = uf_find(u, b);
	/* The smaller id is the root: components are named by their first
	 * report. */
	if (a < b)
		u->parent[b] = a;
	else if (b < a)
		u->parent[a] = b;
}

/* A pair of report ids (< 2^31 each) as one hash key. */
static int64_t
pair_key(int64_t a, int64_t b)
{
	return (a << 32) | b;
}

static int
cut_row(csip_stmt *st, void *ud)
{
	int64_t *k = g_new(int64_t, 1);

	*k = pair_key(csip_stmt_int64(st, 0), csip_stmt_int64(st, 1));
	g_hash_table_add(ud, k);
	return CSIP_OK;
}

typedef struct edges {
	uf *u;
	GHashTable *cuts;
} edges;

static int
edge_row(csip_stmt *st, void *ud)
{
	edges *e = ud;
	int64_t a = csip_stmt_int64(st, 0), b = csip_stmt_int64(st, 1);
	int64_t pk = pair_key(a, b);

	if (a > 0 && b > 0 && (size_t)a < e->u->n && (size_t)b < e->u->n &&
	    !g_hash_table_contains(e->cuts, &pk))
		uf_union(e->u, a, b);
	return CSIP_OK;
}

int
csip_correlate_rebuild(csip_hub *h, const char *actor,
		       csip_correlate_progress progress, void *ud)
{
	csip_store *s = csip_hub_store(h);
	csip_corr_index *ix = NULL, *live;
	csip_stmt *st = NULL, *obs_st = NULL, *link_st = NULL, *seq_st = NULL;
	GArray *order = g_array_new(FALSE, FALSE, sizeof(int64_t));
	GArray *order_org = g_array_new(FALSE, FALSE, sizeof(int64_t));
	GArray *members = NULL;
	GHashTable *cuts = g_hash_table_new_full(g_int64_hash, g_int64_equal,
						 g_free, NULL);
	int *count = NULL;
	finder f;
	settings set = { 0 };
	corr_state state;
	uf u = { NULL, 0 };
	int64_t max_id = 0, links = 0;
	char now[21];
	int rc, began = 0, have_finder = 0;

	if ((rc = read_settings(h, &set)) < 0)
		goto out;
	csip_store_now(now);
	if ((rc = csip_store_begin(s)) < 0)
		goto out;
	began = 1;
	if ((rc = seed_shipped(h)) < 0 || (rc = read_state(s, &state)) < 0)
		goto out;
	/* Correlation order first, then what was never correlated. */
	rc = csip_store_prepare(s, "SELECT id, org_id FROM report ORDER BY "
		"corr_seq IS NULL, corr_seq, id", &st);
	if (rc < 0)
		goto out;
	while ((rc = csip_stmt_step(st)) == CSIP_ROW) {
		int64_t v = csip_stmt_int64(st, 0), org = csip_stmt_int64(st, 1);

		g_array_append_val(order, v);
		g_array_append_val(order_org, org);
		max_id = MAX(max_id, v);
	}
	g_clear_pointer(&st, csip_stmt_free);
	if (rc < 0)
		goto out;
	if (max_id > MAX_REPORT) {
		rc = csip_error_set(CSIP_ERR, "report ids above %lld do not fit"
			" the correlation index", (long long)MAX_REPORT);
		goto out;
	}
	if ((rc = csip_store_run(s, NULL, "DELETE FROM corr_link WHERE kind "
		"<> 'manual'", NULL)) < 0 ||
	    (rc = csip_store_run(s, NULL, "UPDATE report SET corr_seq = NULL, "
		"corr_token = NULL WHERE corr_seq IS NOT NULL", NULL)) < 0)
		goto out;
	/* Pairs an analyst cut stay apart (see campaign.h). */
	if ((rc = csip_store_each(s, cut_row, cuts, "SELECT a, b FROM corr_cut",
				  NULL)) < 0)
		goto out;
	ix = csip_correlate_index_new((uint32_t)set.cap);
	ix->epoch = state.epoch + 1;
	if ((rc = load_lists(h, ix, state.lists_version)) < 0)
		goto out;
	u.n = (size_t)max_id + 1;
	u.parent = g_new(int64_t, u.n);
	for (size_t i = 0; i < u.n; i++)
		u.parent[i] = (int64_t)i;
	finder_init(&f, h, ix, 0, set.threshold);
	have_finder = 1;
	if ((rc = csip_store_prepare(s, "UPDATE report SET corr_seq = ?, "
		"correlated_at = COALESCE(correlated_at, ?) WHERE id = ?",
		&seq_st)) < 0)
		goto out;
	for (guint i = 0; i < order->len; i++) {
		int64_t id = g_array_index(order, int64_t, i);
		GArray *o = NULL;

		if ((rc = load_obs(s, &obs_st, id, &o)) < 0)
			goto out;
		finder_reset(&f, id);
		rc = find_links(&f, (obs *)(void *)o->data, o->len);
		if (rc == CSIP_OK)
			rc = write_links(s, &link_st, id, &f);
		for (guint k = 0; rc == CSIP_OK && k < f.links->len; k++) {
			int64_t other = g_array_index(f.links, hit, k).other;
			int64_t pk = pair_key(id, other);

			if (!g_hash_table_contains(cuts, &pk))
				uf_union(&u, id, other);
		}
		links += f.links->len;
		for (guint k = 0; rc == CSIP_OK && k < o->len; k++)
			csip_correlate_index_add(ix, g_array_index(o, obs,
				k).type, g_array_index(o, obs, k).value, id);
		index_set_org(ix, id, g_array_index(order_org, int64_t, i));
		obs_free(o);
		if (rc < 0)
			goto out;
		csip_stmt_reset(seq_st);
		if ((rc = csip_stmt_bind_int64(seq_st, 1, (int64_t)i + 1)) < 0 ||
		    (rc = csip_stmt_bind_text(seq_st, 2, now)) < 0 ||
		    (rc = csip_stmt_bind_int64(seq_st, 3, id)) < 0 ||
		    (rc = csip_stmt_step(seq_st)) < 0)
			goto out;
		if (progress && (i + 1) % PROGRESS_EVERY == 0)
			progress(ud, i + 1, order->len);
	}
	ix->seq = order->len;
	/* The analysts' merges join, their splits cut: a pair they cut
	 * stays apart unless another report links both sides. */
	{
		edges e = { &u, cuts };

		rc = csip_store_each(s, edge_row, &e, "SELECT report_id, "
			"other_id FROM corr_link WHERE kind = 'manual'", NULL);
	}
	if (rc < 0)
		goto out;
	/* Only components of two reports or more are campaigns. */
	members = g_array_new(FALSE, FALSE, sizeof(int64_t) * 2);
	count = g_new0(int, u.n);
	for (guint i = 0; i < order->len; i++)
		count[uf_find(&u, g_array_index(order, int64_t, i))]++;
	for (guint i = 0; i < order->len; i++) {
		int64_t id = g_array_index(order, int64_t, i);
		int64_t pair[2] = { id, uf_find(&u, id) };

		if (count[pair[1]] >= 2)
			g_array_append_val(members, pair);
	}
	if ((rc = csip_campaign_rebuild(h, (const int64_t *)(void *)
					members->data, members->len)) < 0)
		goto out;
	{
		char ebuf[24], sbuf[24];

		g_snprintf(ebuf, sizeof ebuf, "%" PRId64, ix->epoch);
		g_snprintf(sbuf, sizeof sbuf, "%" PRId64, ix->seq);
		rc = csip_store_run(s, NULL, "UPDATE corr_state SET epoch = ?, "
			"seq = ? WHERE one = 1", ebuf, sbuf, NULL);
	}
	if (rc < 0)
		goto out;
	rc = csip_audit_append(h, actor, "correlate.rebuild", "correlation",
		json_pack("{sI sI sI}", "reports", (json_int_t)order->len,
			  "links", (json_int_t)links, "keys",
			  (json_int_t)ix->n));
	if (rc < 0)
		goto out;
	csip_stmt_free(obs_st);
	obs_st = NULL;
	csip_stmt_free(link_st);
	link_st = NULL;
	csip_stmt_free(seq_st);
	seq_st = NULL;
	finder_clear(&f);
	have_finder = 0;
	began = 0;
	if ((rc = csip_store_commit(s)) < 0)
		goto out;
	if (progress)
		progress(ud, order->len, order->len);
	/* Swap the new table into the process's index. */
	live = process_index(h, (uint32_t)set.cap);
	g_mutex_lock(&live->lock);
	table_take(live, ix);
	live->loaded = 1;
	live->lists_version = 0;
	if (index_save(live, index_path(h)) < 0)
		csip_error_clear();
	g_mutex_unlock(&live->lock);
	rc = CSIP_OK;
out:
	csip_stmt_free(st);
	csip_stmt_free(obs_st);
	csip_stmt_free(link_st);
	csip_stmt_free(seq_st);
	if (have_finder)
		finder_clear(&f);
	if (began) {
		if (rc < 0)
			csip_store_rollback(s);
		else
			rc = csip_store_commit(s);
	}
	csip_correlate_index_free(ix);
	g_array_free(order, TRUE);
	g_array_free(order_org, TRUE);
	if (members)
		g_array_free(members, TRUE);
	g_hash_table_destroy(cuts);
	g_free(count);
	g_free(u.parent);
	return rc;
}

int
csip_correlate_stats(csip_hub *h, size_t *keys, size_t *mem_bytes,
		     int64_t *file_bytes)
{
	csip_corr_index *ix;
	corr_state state;
	settings set = { 0 };
	GStatBuf sb;
	int rc;

	*keys = 0;
	*mem_bytes = 0;
	*file_bytes = 0;
	if ((rc = read_settings(h, &set)) < 0)
		return rc;
	ix = process_index(h, (uint32_t)set.cap);
	g_mutex_lock(&ix->lock);
	rc = read_state(csip_hub_store(h), &state);
	if (rc == CSIP_OK)
		rc = ensure_current(h, ix, &state, (uint32_t)set.cap);
	if (rc == CSIP_OK) {
		*keys = ix->n;
		*mem_bytes = csip_correlate_index_bytes(ix);
	}
	g_mutex_unlock(&ix->lock);
	if (rc == CSIP_OK && g_stat(index_path(h), &sb) == 0)
		*file_bytes = sb.st_size;
	return rc;
}

int
csip_correlate_save(csip_hub *h)
{
	csip_corr_index *ix;
	corr_state state;
	settings set = { 0 };
	int rc;

	if ((rc = read_settings(h, &set)) < 0)
		return rc;
	ix = process_index(h, (uint32_t)set.cap);
	g_mutex_lock(&ix->lock);
	rc = read_state(csip_hub_store(h), &state);
	if (rc == CSIP_OK)
		rc = ensure_current(h, ix, &state, (uint32_t)set.cap);
	if (rc == CSIP_OK)
		rc = index_save(ix, index_path(h));
	g_mutex_unlock(&ix->lock);
	return rc;
}

/* ---- warning lists ---------------------------------------------------------- */

static int
wl_json_row(csip_stmt *st, void *arr)
{
	json_array_append_new(arr, json_pack("{sI ss ss ss sb ss ss}",
		"id", (json_int_t)csip_stmt_int64(st, 0),
		"list", csip_stmt_text(st, 1),
		"type", csip_stmt_text(st, 2),
		"value", csip_stmt_text(st, 3),
		"shipped", (int)csip_stmt_int64(st, 4),
		"added_by", csip_stmt_text(st, 5),
		"added_at", csip_stmt_text(st, 6)));
	return CSIP_OK;
}

int
csip_warninglist_list(csip_hub *h, const char *list, json_t **out)
{
	csip_store *s = csip_hub_store(h);
	const char *p = list ? list : CSIP_SQL_NULL;
	json_t *arr = json_array();
	int rc;

	*out = NULL;
	if ((rc = csip_store_begin(s)) < 0)
		goto out;
	rc = seed_shipped(h);
	if (rc == CSIP_OK)
		rc = csip_store_commit(s);
	else
		csip_store_rollback(s);
	if (rc < 0)
		goto out;
	rc = csip_store_each(s, wl_json_row, arr, "SELECT id, list, type, "
		"value, shipped, added_by, added_at FROM warninglist WHERE "
		"removed = 0 AND (CAST(? AS TEXT) IS NULL OR list = ?) ORDER BY "
		"list, type, value", p, p, NULL);
	if (rc < 0)
		goto out;
	*out = arr;
	arr = NULL;
out:
	json_decref(arr);
	return rc;
}

static int
check_list_name(const char *list)
{
	size_t n = strlen(list);

	if (n == 0 || n > 64)
		return csip_error_set(CSIP_EINVAL, "list name \"%s\": give 1 to "
			"64 letters, digits or '-'", list);
	for (const char *p = list; *p; p++)
		if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_')
			return csip_error_set(CSIP_EINVAL, "list name \"%s\": "
				"use letters, digits, '-' or '_'", list);
	return CSIP_OK;
}

int
csip_warninglist_add(csip_hub *h, const char *actor, const char *list,
		     const char *value, int64_t *id)
{
	csip_store *s = csip_hub_store(h);
	const char *type = NULL;
	char *norm = NULL, *target = NULL;
	char now[21];
	int64_t newid = 0, removed = 0;
	int rc, began = 0;

	if (id)
		*id = 0;
	if (list == NULL || *list == '\0')
		list = "local";
	if ((rc = check_list_name(list)) < 0)
		return rc;
	if (value == NULL || *value == '\0')
		return csip_error_set(CSIP_EINVAL, "no value given: name the "
			"domain, network or value to keep from linking");
	if ((rc = wl_normalise(value, &type, &norm)) < 0)
		return rc;
	csip_store_now(now);
	if ((rc = csip_store_begin(s)) < 0)
		goto out;
	began = 1;
	if ((rc = seed_shipped(h)) < 0)
		goto out;
	rc = csip_store_query_int64(s, &removed, "SELECT removed FROM "
		"warninglist WHERE type = ? AND value = ?", type, norm, NULL);
	if (rc == CSIP_OK && removed == 0) {
		rc = csip_error_set(CSIP_EEXISTS, "%s %s is on a warning list "
			"already; `csip warninglist list` shows it", type, norm);
		goto out;
	}
	if (rc == CSIP_OK) {
		/* A removed entry comes back under the new list. */
		rc = csip_store_query_int64(s, &newid, "UPDATE warninglist SET "
			"removed = 0, list = ?, added_by = ?, added_at = ? WHERE "
			"type = ? AND value = ? RETURNING id", list, actor, now,
			type, norm, NULL);
	} else if (rc == CSIP_ENOTFOUND) {
		csip_error_clear();
		rc = csip_store_query_int64(s, &newid, "INSERT INTO warninglist"
			" (list, type, value, shipped, added_by, added_at) "
			"VALUES (?, ?, ?, 0, ?, ?) RETURNING id", list, type,
			norm, actor, now, NULL);
	}
	if (rc < 0)
		goto out;
	if ((rc = csip_store_run(s, NULL, "UPDATE corr_state SET lists_version"
		" = lists_version + 1 WHERE one = 1", NULL)) < 0)
		goto out;
	target = g_strdup_printf("warninglist:%" PRId64, newid);
	rc = csip_audit_append(h, actor, "warninglist.add", target, json_pack(
		"{ss ss ss}", "list", list, "type", type, "value", norm));
	if (rc == CSIP_OK && id)
		*id = newid;
out:
	if (began) {
		if (rc < 0)
			csip_store_rollback(s);
		else
			rc = csip_store_commit(s);
	}
	g_free(norm);
	g_free(target);
	return rc;
}

int
csip_warninglist_remove(csip_hub *h, const char *actor, int64_t id)
{
	csip_store *s = csip_hub_store(h);
	char ibuf[24], *target = NULL;
	int changes = 0, rc, began = 0;

	g_snprintf(ibuf, sizeof ibuf, "%" PRId64, id);
	if ((rc = csip_store_begin(s)) < 0)
		goto out;
	began = 1;
	rc = csip_store_run(s, &changes, "UPDATE warninglist SET removed = 1 "
		"WHERE id = ? AND removed = 0", ibuf, NULL);
	if (rc < 0)
		goto out;
	if (changes == 0) {
		rc = csip_error_set(CSIP_ENOTFOUND, "warning list entry %s does "
			"not exist; `csip warninglist list` shows the entries",
			ibuf);
		goto out;
	}
	if ((rc = csip_store_run(s, NULL, "UPDATE corr_state SET lists_version"
		" = lists_version + 1 WHERE one = 1", NULL)) < 0)
		goto out;
	target = g_strconcat("warninglist:", ibuf, NULL);
	rc = csip_audit_append(h, actor, "warninglist.remove", target,
			       json_object());
out:
	if (began) {
		if (rc < 0)
			csip_store_rollback(s);
		else
			rc = csip_store_commit(s);
	}
	g_free(target);
	return rc;
}
