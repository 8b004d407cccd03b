/*
 * match.c - the log matcher: indicator set and line tokenizer.
 *
 * The hot path is csip_match_line().  It passes over the parts of a line
 * that can hold no indicator 16 bytes at a time (SSE2), walks the rest
 * with a byte-class table, cuts it into runs of token characters, and
 * classifies each run without allocating: an IPv4/IPv6 address goes to
 * an interval table (longest prefix; for IPv4, after a bitmap of the /16s
 * that some network reaches), a host name has one hash per label suffix computed
 * label by label from the right, a hex run of hash length and an e-mail
 * address are hashed whole.  A host name is first checked against a
 * filter of the last two labels of the host indicators (at most 256 KiB,
 * for the L2 cache), an e-mail address or a URL's host against one of
 * their own (at most 128 KiB), then every hash against a bit filter (2 MiB
 * at a million indicators), so the large open-addressing table (32-bit
 * slots: an entry index and a tag of hash bits above it; strings in one
 * arena) is touched
 * only for tokens that are probably in the set.  URLs are rare and their
 * canonical form is subtle, so a URL is canonicalised with the full
 * csip_indicator_parse() only when its host is the host of some URL
 * indicator.
 */
#include "lib/match.h"
#include "util/error.h"

#include <arpa/inet.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <glib.h>
#include <stdlib.h>
#include <string.h>

/* What a hashed key is: the same bytes mean different things per kind. */
enum { K_NET = 0, K_HOST, K_EMAIL, K_URL, K_HASH, K_URLHOST };

/* Set in an entry's kind when the set holds the value in binary and
 * renders its canonical text on demand: a hash as its bytes in the arena
 * (half the hex), a network as its row of p4 or p6.  Only values whose
 * rendering gives back the very text added are held so; any other stays
 * text. */
#define K_BIN 0x80u
#define KIND(e) ((int)((e)->kind & ~K_BIN))

/* 8 bytes: the set holds one per value, a million and more. */
typedef struct entry {
	uint32_t off;      /* value in the arena, text NUL-terminated; with
			    * K_BIN, a hash's bytes or a network's row */
	uint16_t len;      /* its text's length, LEN_MAX for that or more */
	uint8_t kind;
	uint8_t type;      /* csip_ind_type */
} entry;

#define LEN_MAX 0xFFFFu

__extension__ typedef unsigned __int128 u128;

/* A network, widened from the rows the set keeps (prefix4 and prefix6)
 * one at a time while building. */
typedef struct prefix {
	u128 lo, hi;       /* inclusive range */
	uint32_t ind;
	uint8_t plen;
} prefix;

/* The rows: 12 and 24 bytes.  LO is the address as added (a canonical
 * network has no host bits). */
typedef struct prefix4 {
	uint32_t lo, hi, ind;
} prefix4;

typedef struct prefix6 {
	uint64_t lo_hi, lo_lo;  /* LO's upper and lower 64 bits */
	uint32_t ind;
	uint8_t plen;
} prefix6;

/* A flattened prefix table: disjoint segments, each with the most specific
 * indicator covering it (UINT32_MAX for none). */
typedef struct seg4 {
	uint32_t *start, *ind;
	size_t n;
	uint32_t *index;   /* 65537 entries: first segment of each /16 */
	uint64_t *any16;   /* 65536 bits: some address of the /16 is in a
			    * network (its segment carries one) */
} seg4;

typedef struct seg6 {
	u128 *start;
	uint32_t *ind;
	size_t n;
} seg6;

struct csip_match_set {
	GByteArray *arena;
	GArray *entries;   /* entry */
	uint32_t *slots;   /* tag | (entry index + 1); 0 is empty */
	size_t nslots;     /* after build; 0 before */
	uint32_t tagmask;  /* the bits of a slot above the largest index */
	size_t hashed;     /* entries of hashed kinds, duplicates included */
	size_t urlhosts;   /* of which the hosts of URL indicators */
	uint64_t *filter;  /* bit filter over the hashes, after build */
	size_t fmask;      /* bits - 1 */
	size_t hosts;      /* K_HOST entries, duplicates included */
	uint64_t *kfl;     /* first-level filter of the e-mail addresses and
			    * URL hosts, after build */
	size_t kmask;      /* its bits - 1 */
	size_t firsts;     /* K_EMAIL and K_URLHOST entries, duplicates
			    * included */
	uint64_t *sfx;     /* first-level filter: the last two labels of each
			    * host key, after build */
	size_t smask;      /* its bits - 1 */
	GArray *p4, *p6;   /* prefix4 and prefix6, sorted by the build */
	seg4 t4;
	seg6 t6;
	size_t count;      /* distinct hashed indicators, after build */
	size_t nets;       /* distinct networks, after build */
	int built;
	unsigned kinds;    /* 1 << kind for each kind present */
};

/* ------------------------------------------------------------------ */
/* Byte classes */

enum {
	C_RUN = 1,     /* part of a token run */
	C_ALNUM = 2,
	C_HEX = 4,
	C_DIGIT = 8,
	C_HOST = 16,   /* [A-Za-z0-9._-] */
	C_URLEND = 32, /* ends a URL */
	C_WIDE = 64,   /* lead byte of U+3000 and above: a delimiter */
	C_DOT = 128,
	C_SPLIT = 256, /* ':', '@', '+': the run needs splitting */
	C_NOT6 = 512,  /* a run character no IPv6 address holds */
	C_ALPHA = 1024, /* a run character other than a digit, '.', ':',
			 * '@' and '+': a piece without one is a number */
	C_HIGH = 2048, /* a byte >= 0x80 */
	C_AT = 4096,   /* '@' */
	C_PLUS = 8192, /* '+' */
	C_NL = 16384,  /* '\n': ends a line in csip_match_lines() */
	C_FOREIGN = 32768 /* only in acc_of(): a byte that is no token
			   * character, as a URL's host may hold */
};

static uint32_t cls[256];
static uint16_t ucls[256]; /* acc_of()'s class: a byte that is no token
			    * character adds C_ALPHA | C_FOREIGN */
static int8_t hexv[256];   /* a hex digit's value, else -1 */
static uint8_t lower[256]; /* g_ascii_tolower() */

static void
init_classes(void)
{
	for (int c = 0; c < 256; c++) {
		uint16_t v = 0;

		if (g_ascii_isalnum(c))
			v |= C_RUN | C_ALNUM | C_HOST;
		if (g_ascii_isxdigit(c))
			v |= C_HEX;
		if (g_ascii_isdigit(c))
			v |= C_DIGIT;
		if (c == '.' || c == '-' || c == '_')
			v |= C_RUN | C_HOST;
		if (c == '.')
			v |= C_DOT;
		if (c == ':' || c == '@' || c == '+')
			v |= C_RUN | C_SPLIT;
		/* Latin, Greek, Cyrillic... letters can be part of an IDN
		 * label; CJK text (U+3000 and above) has no spaces, so its
		 * characters separate tokens. */
		if (c >= 0x80 && c < 0xE3)
			v |= C_RUN;
		if (c >= 0xE3)
			v |= C_WIDE;
		if ((v & C_RUN) && !(v & C_HEX) && c != ':' && c != '.')
			v |= C_NOT6;
		if ((v & C_RUN) && !(v & C_DIGIT) && !strchr(".:@+", c))
			v |= C_ALPHA;
		if (c >= 0x80)
			v |= C_HIGH;
		if (c == '@')
			v |= C_AT;
		if (c == '+')
			v |= C_PLUS;
		if (c == '\n')
			v |= C_NL;
		if (c <= 0x20 || c == 0x7F || strchr("\"'<>`\\{}|^", c))
			v |= C_URLEND;
		cls[c] = v;
		ucls[c] = v & C_RUN ? v : v | C_ALPHA | C_FOREIGN;
		hexv[c] = (int8_t)(g_ascii_isxdigit(c) ?
				   g_ascii_xdigit_value((char)c) : -1);
		lower[c] = (uint8_t)g_ascii_tolower((char)c);
	}
}

static GOnce classes_once = G_ONCE_INIT;

static gpointer
classes_init(gpointer unused)
{
	init_classes();
	return NULL;
}

#if defined(__SSE2__)
/* The bytes of V that are A or B. */
static inline __m128i
eq_either(__m128i v, char a, char b)
{
	return _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(a)),
			    _mm_cmpeq_epi8(v, _mm_set1_epi8(b)));
}
#endif

/* ------------------------------------------------------------------ */
/* Hashing: word at a time, case-folded by setting bit 5 of every byte,
 * which lower-cases letters and leaves the other token characters distinct.
 * Equality is checked on the real bytes afterwards. */

#define FOLD 0x2020202020202020ull

static inline uint64_t
fmix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

static inline uint64_t
hash_bytes(const char *p, size_t n)
{
	uint64_t h = 0x9E3779B97F4A7C15ull ^ n, w;

	while (n >= 8) {
		memcpy(&w, p, 8);
		h = (h ^ (w | FOLD)) * 0x100000001b3ull;
		h ^= h >> 29;
		p += 8;
		n -= 8;
	}
	if (n) {
		/* Byte by byte: a variable memcpy() would be a call. */
		w = 0;
		for (size_t i = 0; i < n; i++)
			w |= (uint64_t)(unsigned char)p[i] << (8 * i);
		h = (h ^ (w | FOLD)) * 0x100000001b3ull;
		h ^= h >> 29;
	}
	return h;
}

static inline uint64_t
step(uint64_t s, uint64_t label)
{
	return fmix(s * 0x9E3779B97F4A7C15ull + label);
}

/* A host name hashes label by label from the right, so that one pass over
 * a token yields the hash of every suffix.  A label hashes eight bytes a
 * step (case-folded as hash_bytes() does; a multiply a word instead of a
 * byte), read only inside the name that holds it. */
#define LABEL_SEED 0xcbf29ce484222325ull
#define LABEL_PRIME 0x100000001b3ull

/* The low M bytes of a word set, 1 <= M <= 8. */
#define LOW_BYTES(m) (~0ull >> (64 - 8 * (m)))

/* The hash of the label P[S..E) of the name P[0..N). */
static inline uint64_t
label_hash(const char *p, size_t n, size_t s, size_t e)
{
	size_t m = e - s;
	uint64_t h = LABEL_SEED ^ m, w;

	while (m > 8) {
		memcpy(&w, p + s, 8);
		w = GUINT64_FROM_LE(w);   /* the first byte lowest */
		h = (h ^ (w | FOLD)) * LABEL_PRIME;
		h ^= h >> 29;
		s += 8;
		m -= 8;
	}
	if (m == 0)
		return h;
	/* The last 1 to 8 bytes, from a word of the name that holds them. */
	if (s + 8 <= n) {
		memcpy(&w, p + s, 8);
		w = GUINT64_FROM_LE(w);
	} else if (n >= 8) {
		memcpy(&w, p + n - 8, 8);
		w = GUINT64_FROM_LE(w) >> (8 * (s + 8 - n));
	} else {
		w = 0;
		for (size_t i = 0; i < m; i++)
			w |= (uint64_t)(unsigned char)p[s + i] << (8 * i);
	}
	h = (h ^ ((w | FOLD) & LOW_BYTES(m))) * LABEL_PRIME;
	return h ^ (h >> 29);
}

static uint64_t
hash_host(const char *p, size_t n)
{
	uint64_t s = K_HOST;
	size_t e = n;

	for (size_t i = n; i-- > 0;)
		if (p[i] == '.') {
			s = step(s, label_hash(p, n, i + 1, e));
			e = i;
		}
	return step(s, label_hash(p, n, 0, e));
}

static uint64_t
hash_key(int kind, const char *p, size_t n)
{
	if (kind == K_HOST)
		return hash_host(p, n);
	return step(kind, hash_bytes(p, n));
}

static inline int
eq_fold(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower[(unsigned char)a[i]] != lower[(unsigned char)b[i]])
			return 0;
	return 1;
}

/* Whether the N hex digits at P (either case; N even) are the bytes BIN. */
static inline int
eq_hex(const uint8_t *bin, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i += 2) {
		int hi = hexv[(unsigned char)p[i]];
		int lo = hexv[(unsigned char)p[i + 1]];

		if ((hi | lo) < 0 || (hi << 4 | lo) != bin[i / 2])
			return 0;
	}
	return 1;
}

/* ------------------------------------------------------------------ */
/* The set */

csip_match_set *
csip_match_set_new(void)
{
	csip_match_set *s = g_new0(csip_match_set, 1);

	g_once(&classes_once, classes_init, NULL);
	s->arena = g_byte_array_new();
	s->entries = g_array_new(FALSE, FALSE, sizeof(entry));
	s->p4 = g_array_new(FALSE, FALSE, sizeof(prefix4));
	s->p6 = g_array_new(FALSE, FALSE, sizeof(prefix6));
	return s;
}

static void
free_tables(csip_match_set *s)
{
	g_free(s->filter);
	s->filter = NULL;
	g_free(s->sfx);
	s->sfx = NULL;
	g_free(s->kfl);
	s->kfl = NULL;
	g_free(s->slots);
	s->slots = NULL;
	s->nslots = 0;
	g_free(s->t4.start);
	g_free(s->t4.ind);
	g_free(s->t4.index);
	g_free(s->t4.any16);
	g_free(s->t6.start);
	g_free(s->t6.ind);
	memset(&s->t4, 0, sizeof(s->t4));
	memset(&s->t6, 0, sizeof(s->t6));
}

void
csip_match_set_free(csip_match_set *s)
{
	if (s == NULL)
		return;
	free_tables(s);
	g_byte_array_free(s->arena, TRUE);
	g_array_free(s->entries, TRUE);
	g_array_free(s->p4, TRUE);
	g_array_free(s->p6, TRUE);
	g_free(s);
}

static inline const entry *
entry_at(const csip_match_set *s, uint32_t i)
{
	return &g_array_index(s->entries, entry, i);
}

static size_t
entry_len(const csip_match_set *s, const entry *e)
{
	return e->len < LEN_MAX ? e->len :
		strlen((const char *)s->arena->data + e->off);
}

/* The tag of hash H in a slot. */
static inline uint32_t
tag_of(const csip_match_set *s, uint64_t h)
{
	return (uint32_t)(h >> 32) & s->tagmask;
}

/* The first slot for hash H: the table's size is no power of two (its
 * memory matters), so the low 32 bits of H are scaled to it; the tag
 * takes bits above them. */
static inline size_t
home(const csip_match_set *s, uint64_t h)
{
	return (size_t)(((uint64_t)(uint32_t)h * s->nslots) >> 32);
}

/* Find KIND:P[0..N) with hash H in the table, without the filter; the
 * index of the entry or -1. */
static inline int64_t
probe(const csip_match_set *s, int kind, uint64_t h, const char *p, size_t n)
{
	uint32_t tag = tag_of(s, h);
	size_t n16 = n < LEN_MAX ? n : LEN_MAX;

	for (size_t i = home(s, h);; i = i + 1 < s->nslots ? i + 1 : 0) {
		uint32_t v = s->slots[i];
		const char *a;
		const entry *e;

		if (v == 0)
			return -1;
		if ((v & s->tagmask) != tag)
			continue;
		v = (v & ~s->tagmask) - 1;
		e = entry_at(s, v);
		if (KIND(e) != kind || e->len != n16)
			continue;
		a = (const char *)s->arena->data + e->off;
		/* A value of LEN_MAX bytes or more ends where its NUL is;
		 * a token holds no NUL, so the comparison stops there. */
		if ((e->kind & K_BIN) ? eq_hex((const uint8_t *)a, p, n) :
		    eq_fold(a, p, n) && (n < LEN_MAX || a[n] == '\0'))
			return v;
	}
}

static inline int
filter_has(const csip_match_set *s, uint64_t h)
{
	uint64_t b = (h >> 7) & s->fmask;

	return (s->filter[b >> 6] >> (b & 63)) & 1;
}

/* A first-level filter F of MASK + 1 bits (small enough for the L2
 * cache, in front of the bit filter that it misses): a hash sets two
 * bits of one 64-bit word, taken from bits of H other than the bit
 * filter's, so that a key the filter would pass is still likely to stop
 * here. */
static inline int
first_has(const uint64_t *f, size_t mask, uint64_t h)
{
	uint64_t w = f[((h >> 35) & mask) >> 6];

	return (w >> ((h >> 35) & 63) & w >> (h >> 57 & 63)) & 1;
}

static inline void
first_add(uint64_t *f, size_t mask, uint64_t h)
{
	f[((h >> 35) & mask) >> 6] |= 1ull << ((h >> 35) & 63) |
		1ull << (h >> 57 & 63);
}

/* Whether some host key may end in the two labels hashing to H (the
 * suffix of two labels of a name). */
static inline int
sfx_has(const csip_match_set *s, uint64_t h)
{
	return first_has(s->sfx, s->smask, h);
}

static inline int64_t
lookup(const csip_match_set *s, int kind, uint64_t h, const char *p,
       size_t n)
{
	if (!filter_has(s, h))
		return -1;
	return probe(s, kind, h, p, n);
}

/* lookup() of an e-mail address or a URL's host (KIND), first in their
 * first-level filter. */
static inline int64_t
lookup_first(const csip_match_set *s, int kind, uint64_t h, const char *p,
	     size_t n)
{
	if (!first_has(s->kfl, s->kmask, h))
		return -1;
	return lookup(s, kind, h, p, n);
}

static uint32_t
new_entry(csip_match_set *s, int kind, csip_ind_type type, const char *p,
	  size_t n)
{
	entry e = { (uint32_t)s->arena->len, (uint16_t)(n < LEN_MAX ? n :
		LEN_MAX), (uint8_t)kind, (uint8_t)type };

	g_byte_array_append(s->arena, (const guint8 *)p, (guint)n);
	g_byte_array_append(s->arena, (const guint8 *)"", 1);
	g_array_append_val(s->entries, e);
	return s->entries->len - 1;
}

/* Add a hashed key.  The table is made by csip_match_set_build(), in one
 * pass at its final size: growing it while loading rehashed every key
 * about twice, and duplicates cost only their bytes in the arena. */
static void
count_key(csip_match_set *s, int kind)
{
	s->hashed++;
	s->urlhosts += kind == K_URLHOST;
	s->hosts += kind == K_HOST;
	s->firsts += kind == K_EMAIL || kind == K_URLHOST;
	s->kinds |= 1u << kind;
	s->built = 0;
}

static uint32_t
insert(csip_match_set *s, int kind, csip_ind_type type, const char *p,
       size_t n)
{
	uint32_t e = new_entry(s, kind, type, p, n);

	count_key(s, kind);
	return e;
}

/* Add hash V of N hex digits: as its bytes when it is in canonical form
 * (lower-case hex), else as text. */
static uint32_t
insert_hash(csip_match_set *s, csip_ind_type type, const char *v, size_t n)
{
	uint8_t bin[64];
	size_t i;
	entry e = { (uint32_t)s->arena->len, (uint16_t)n, K_HASH | K_BIN,
		(uint8_t)type };

	for (i = 0; i < n && n <= 2 * sizeof(bin) && n % 2 == 0; i += 2) {
		int hi = hexv[(unsigned char)v[i]];
		int lo = hexv[(unsigned char)v[i + 1]];

		if ((hi | lo) < 0 || g_ascii_isupper(v[i]) ||
		    g_ascii_isupper(v[i + 1]))
			break;
		bin[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	if (n == 0 || i != n)
		return insert(s, K_HASH, type, v, n);
	g_byte_array_append(s->arena, bin, (guint)(n / 2));
	g_array_append_val(s->entries, e);
	count_key(s, K_HASH);
	return s->entries->len - 1;
}

/* Parse an address of FAMILY (4 or 6) in canonical form into *a. */
static int parse_v6(const char *p, size_t n, uint8_t out[16]);
static int parse_v4(const char *p, size_t n, uint32_t *out);

/* The last address of LO/PLEN. */
static inline u128
last6(u128 lo, unsigned plen)
{
	if (plen == 0)
		return ~(u128)0;
	if (plen >= 128)
		return lo;
	return lo | ((((u128)1) << (128 - plen)) - 1);
}

/* Network I of ARR (of prefix4 when V4, else of prefix6), as a prefix. */
static inline prefix
prefix_at(const GArray *arr, int v4, guint i)
{
	prefix4 q;
	const prefix6 *r;
	u128 lo;

	if (!v4) {
		r = &g_array_index(arr, prefix6, i);
		lo = (u128)r->lo_hi << 64 | r->lo_lo;
		return (prefix){ lo, last6(lo, r->plen), r->ind, r->plen };
	}
	q = g_array_index(arr, prefix4, i);
	return (prefix){ q.lo, q.hi, q.ind,
		(uint8_t)(32 - __builtin_popcount(q.hi ^ q.lo)) };
}

static void
prefix_append(GArray *arr, int v4, const prefix *p)
{
	prefix4 q = { (uint32_t)p->lo, (uint32_t)p->hi, p->ind };
	prefix6 r = { (uint64_t)(p->lo >> 64), (uint64_t)p->lo, p->ind,
		p->plen };

	if (v4)
		g_array_append_val(arr, q);
	else
		g_array_append_val(arr, r);
}

/* Write the canonical text of the value of E, held in binary (K_BIN), to
 * BUF; returns its length. */
#define RENDER_MAX 160
static size_t
render(const csip_match_set *s, const entry *e, char buf[RENDER_MAX])
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *b = s->arena->data + e->off;
	size_t n = 0;
	prefix p;
	int v4 = e->type == CSIP_IND_IPV4 || e->type == CSIP_IND_CIDR4;

	if (KIND(e) == K_HASH) {
		for (size_t i = 0; i < e->len / 2u; i++) {
			buf[n++] = hex[b[i] >> 4];
			buf[n++] = hex[b[i] & 15];
		}
		buf[n] = '\0';
		return n;
	}
	p = prefix_at(v4 ? s->p4 : s->p6, v4, e->off);
	if (v4) {
		/* Dotted quad, by hand: a format string costs more than the
		 * rest of adding an address. */
		for (int k = 3; k >= 0; k--) {
			unsigned o = (unsigned)(p.lo >> (8 * k)) & 0xff;

			if (o >= 100)
				buf[n++] = (char)('0' + o / 100);
			if (o >= 10)
				buf[n++] = (char)('0' + o / 10 % 10);
			buf[n++] = (char)('0' + o % 10);
			buf[n++] = k ? '.' : '\0';
		}
		n--;
	} else {
		uint8_t a[16];

		for (int i = 0; i < 16; i++)
			a[i] = (uint8_t)(p.lo >> (8 * (15 - i)));
		/* As indicator.c writes an IPv6 address. */
		inet_ntop(AF_INET6, a, buf, RENDER_MAX);
		n = strlen(buf);
	}
	if (e->type == CSIP_IND_CIDR4 || e->type == CSIP_IND_CIDR6)
		n += (size_t)g_snprintf(buf + n, RENDER_MAX - n, "/%u",
					(unsigned)p.plen);
	return n;
}

static int
add_net(csip_match_set *s, const csip_indicator *ind, uint32_t *at)
{
	const char *v = ind->value, *slash = strchr(v, '/');
	size_t alen = slash ? (size_t)(slash - v) : strlen(v), n = strlen(v);
	int v6 = ind->type == CSIP_IND_IPV6 || ind->type == CSIP_IND_CIDR6;
	unsigned plen = slash ? (unsigned)atoi(slash + 1) : (v6 ? 128 : 32);
	prefix p = { 0 };
	GArray *arr = v6 ? s->p6 : s->p4;
	entry e = { arr->len, (uint16_t)(n < LEN_MAX ? n : LEN_MAX),
		K_NET | K_BIN, (uint8_t)ind->type };
	char buf[RENDER_MAX];

	if (v6) {
		uint8_t a[16];

		if (!parse_v6(v, alen, a) || plen > 128)
			return csip_error_set(CSIP_EINVAL, "%s: not an IPv6 "
					      "network", v);
		for (int i = 0; i < 16; i++)
			p.lo = p.lo << 8 | a[i];
		p.hi = last6(p.lo, plen);
	} else {
		uint32_t a;

		if (!parse_v4(v, alen, &a) || plen > 32)
			return csip_error_set(CSIP_EINVAL, "%s: not an IPv4 "
					      "network", v);
		p.lo = a;
		p.hi = a | (plen == 0 ? 0xffffffffu :
			    (uint32_t)((1ull << (32 - plen)) - 1));
	}
	p.plen = (uint8_t)plen;
	/* Duplicates are dropped (and uncounted) by flatten(). */
	p.ind = s->entries->len;
	prefix_append(arr, !v6, &p);
	/* Held as its row when that gives back V (a canonical network),
	 * else as text as well. */
	if (render(s, &e, buf) == n && memcmp(buf, v, n) == 0)
		g_array_append_val(s->entries, e);
	else
		new_entry(s, K_NET, ind->type, v, n);
	s->built = 0;
	*at = p.ind;
	return CSIP_OK;
}

/* As csip_match_set_add_parsed(); *AT names the value added. */
static int
add_parsed(csip_match_set *s, const csip_indicator *ind, uint32_t *at)
{
	const char *v = ind->value;
	size_t n = strlen(v);

	switch (ind->type) {
	case CSIP_IND_IPV4:
	case CSIP_IND_IPV6:
	case CSIP_IND_CIDR4:
	case CSIP_IND_CIDR6:
		return add_net(s, ind, at);
	case CSIP_IND_DOMAIN:
	case CSIP_IND_HOSTNAME:
		*at = insert(s, K_HOST, ind->type, v, n);
		return CSIP_OK;
	case CSIP_IND_EMAIL:
		*at = insert(s, K_EMAIL, ind->type, v, n);
		return CSIP_OK;
	case CSIP_IND_MD5:
	case CSIP_IND_SHA1:
	case CSIP_IND_SHA256:
	case CSIP_IND_SHA512:
		*at = insert_hash(s, ind->type, v, n);
		return CSIP_OK;
	case CSIP_IND_URL: {
		/* The host as it appears in the canonical form, so that the
		 * scanner can tell cheaply whether a URL may be one of ours. */
		const char *h = strstr(v, "://"), *e;

		if (h == NULL)
			break;
		h += 3;
		e = h + strcspn(h, "/?#");
		for (const char *q = h; q < e; q++)
			if (*q == '@')
				h = q + 1;
		if (*h == '[') {
			const char *rb = memchr(h, ']', e - h);

			if (rb)
				e = rb + 1;
		} else {
			const char *col = memchr(h, ':', e - h);

			if (col)
				e = col;
		}
		*at = insert(s, K_URL, ind->type, v, n);
		if (e - h < (ptrdiff_t)LEN_MAX) {
			/* The host's bytes are those in the URL just added:
			 * no copy (its entry is never read as a string). */
			entry he = { entry_at(s, *at)->off + (uint32_t)(h - v),
				(uint16_t)(e - h), K_URLHOST,
				(uint8_t)ind->type };

			g_array_append_val(s->entries, he);
			count_key(s, K_URLHOST);
		} else {
			insert(s, K_URLHOST, ind->type, h, e - h);
		}
		return CSIP_OK;
	}
	default:
		break;
	}
	return csip_error_set(CSIP_EINVAL, "%s: the matcher does not look "
			      "for %s indicators in logs; remove it from the "
			      "list", v, csip_ind_type_name(ind->type));
}

int
csip_match_set_add_parsed(csip_match_set *s, const csip_indicator *ind)
{
	uint32_t at;

	return add_parsed(s, ind, &at);
}

int
csip_match_set_add(csip_match_set *s, const char *text, size_t len,
		   csip_ind_type hint)
{
	uint32_t at;

	return csip_match_set_add_ind(s, text, len, hint, &at);
}

int
csip_match_set_add_ind(csip_match_set *s, const char *text, size_t len,
		       csip_ind_type hint, uint32_t *at)
{
	csip_indicator *ind = NULL;
	uint32_t a;
	int rc;

	/* Hashes and dotted quads in their canonical form are common in
	 * large lists and unambiguous: they skip the full parser. */
	if (hint == CSIP_IND_UNKNOWN && (len == 32 || len == 40 ||
	    len == 64 || len == 128)) {
		char buf[129];
		size_t i;

		for (i = 0; i < len && g_ascii_isxdigit(text[i]); i++)
			buf[i] = g_ascii_tolower(text[i]);
		if (i == len) {
			*at = insert_hash(s, len == 32 ? CSIP_IND_MD5 :
				len == 40 ? CSIP_IND_SHA1 : len == 64 ?
				CSIP_IND_SHA256 : CSIP_IND_SHA512, buf, len);
			return CSIP_OK;
		}
	}
	if ((hint == CSIP_IND_UNKNOWN || hint == CSIP_IND_IPV4) && len >= 7 &&
	    len <= 15 && parse_v4(text, len, &a)) {
		csip_indicator fast = { CSIP_IND_IPV4, g_strndup(text, len),
			NULL, NULL, 0 };

		rc = add_net(s, &fast, at);
		g_free(fast.value);
		return rc;
	}
	if ((rc = csip_indicator_parse(text, len, hint, &ind)) < 0)
		goto out;
	rc = add_parsed(s, ind, at);
out:
	csip_indicator_free(ind);
	return rc;
}

/* By first address, then the widest first (the highest last address),
 * so that a network comes before the networks it holds; equal ones in
 * the order they were added (their entries'), which flatten() keeps the
 * first of. */
static inline int
cmp_bounds(u128 xlo, u128 xhi, u128 ylo, u128 yhi, uint32_t xi,
	   uint32_t yi)
{
	if (xlo != ylo)
		return xlo < ylo ? -1 : 1;
	if (xhi != yhi)
		return xhi > yhi ? -1 : 1;
	return xi < yi ? -1 : xi > yi;
}

static int
cmp_prefix6(const void *a, const void *b)
{
	const prefix6 *x = a, *y = b;
	u128 xlo = (u128)x->lo_hi << 64 | x->lo_lo;
	u128 ylo = (u128)y->lo_hi << 64 | y->lo_lo;

	return cmp_bounds(xlo, last6(xlo, x->plen), ylo, last6(ylo, y->plen),
			  x->ind, y->ind);
}

static int
cmp_prefix4(const void *a, const void *b)
{
	const prefix4 *x = a, *y = b;

	return cmp_bounds(x->lo, x->hi, y->lo, y->hi, x->ind, y->ind);
}

typedef struct segs {
	int v4;
	GArray *start;  /* uint32_t when V4, else u128 */
	GArray *ind;    /* uint32_t */
} segs;

static void
emit(segs *o, u128 at, uint32_t ind)
{
	guint n = o->start->len;
	uint32_t at4 = (uint32_t)at;

	if (n && (o->v4 ? g_array_index(o->start, uint32_t, n - 1) == at4 :
		  g_array_index(o->start, u128, n - 1) == at)) {
		g_array_index(o->ind, uint32_t, n - 1) = ind;
		return;
	}
	if (n && g_array_index(o->ind, uint32_t, n - 1) == ind)
		return;
	if (o->v4)
		g_array_append_val(o->start, at4);
	else
		g_array_append_val(o->start, at);
	g_array_append_val(o->ind, ind);
}

/* Turn nested prefixes into disjoint segments carrying the most specific
 * prefix, so a lookup is one binary search.  Prefixes nest or are
 * disjoint, so a stack of the open ones is enough. */
static size_t
flatten(GArray *prefixes, int v4, segs *o)
{
	size_t dups = 0;
	u128 max = v4 ? 0xffffffffu : ~(u128)0;
	GArray *stack = g_array_new(FALSE, FALSE, sizeof(prefix));

	o->v4 = v4;
	/* At their largest (a prefix opens a segment and closes one), so
	 * that they never grow by copies; pages never written stay out of
	 * memory. */
	o->start = g_array_sized_new(FALSE, FALSE, v4 ? sizeof(uint32_t) :
				     sizeof(u128), 2 * prefixes->len + 1);
	o->ind = g_array_sized_new(FALSE, FALSE, sizeof(uint32_t),
				   2 * prefixes->len + 1);
	for (guint i = 0; i <= prefixes->len; i++) {
		prefix cur = i < prefixes->len ? prefix_at(prefixes, v4, i) :
			(prefix){ 0 };
		const prefix *p = i < prefixes->len ? &cur : NULL;

		while (stack->len) {
			prefix t = g_array_index(stack, prefix,
						 stack->len - 1);

			if (p && t.hi >= p->lo)
				break;
			g_array_set_size(stack, stack->len - 1);
			if (t.hi != max)
				emit(o, t.hi + 1, stack->len ? g_array_index(
					stack, prefix, stack->len - 1).ind
					: UINT32_MAX);
		}
		if (p == NULL)
			break;
		if (stack->len && g_array_index(stack, prefix,
			stack->len - 1).lo == p->lo && g_array_index(stack,
			prefix, stack->len - 1).hi == p->hi) {
			dups++;
			continue;
		}
		emit(o, p->lo, p->ind);
		g_array_append_val(stack, *p);
	}
	g_array_free(stack, TRUE);
	return dups;
}

/* Sift element I of the heap A[0..N) of SIZE-byte elements down. */
static void
sift(char *a, size_t size, size_t i, size_t n,
     int (*cmp)(const void *, const void *))
{
	char t[sizeof(prefix6)];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			return;
		if (c + 1 < n && cmp(a + c * size, a + (c + 1) * size) < 0)
			c++;
		if (cmp(a + i * size, a + c * size) >= 0)
			return;
		memcpy(t, a + i * size, size);
		memcpy(a + i * size, a + c * size, size);
		memcpy(a + c * size, t, size);
		i = c;
	}
}

/* Sort ARR in place: a heap sort, because g_array_sort()'s merge sort
 * takes a copy of the array, which at the end of a large load is peak
 * memory, and freed it raises malloc's threshold for mapping (the tables
 * made after it then come from the heap, and their growth fragments it).
 * The order is total, so the result is that of any sort. */
static void
sort_in_place(GArray *arr, int (*cmp)(const void *, const void *))
{
	char *a = arr->data, t[sizeof(prefix6)];
	size_t size = g_array_get_element_size(arr), n = arr->len;

	g_assert(size <= sizeof(t));
	for (size_t i = n / 2; i-- > 0;)
		sift(a, size, i, n, cmp);
	for (size_t k = n; k-- > 1;) {
		memcpy(t, a, size);
		memcpy(a, a + k * size, size);
		memcpy(a + k * size, t, size);
		sift(a, size, 0, k, cmp);
	}
}

/* Sort the rows of ARR (for flatten()) and point the entries held as
 * rows at their new places. */
static void
sort_rows(csip_match_set *s, GArray *arr, int v4)
{
	sort_in_place(arr, v4 ? cmp_prefix4 : cmp_prefix6);
	for (guint i = 0; i < arr->len; i++) {
		entry *e = &g_array_index(s->entries, entry,
					  prefix_at(arr, v4, i).ind);

		if (e->kind & K_BIN)
			e->off = i;
	}
}

/* The hash of the last two labels of host key P[0..N) of hash H (H
 * itself when it has fewer), as the scan computes it for a name. */
static uint64_t
last_two(const char *p, size_t n, uint64_t h)
{
	const char *d = memrchr(p, '.', n);

	if (d && (d = memrchr(p, '.', (size_t)(d - p))))
		return hash_host(d + 1, n - (size_t)(d + 1 - p));
	return h;
}

void
csip_match_set_build(csip_match_set *s)
{
	size_t bits = 1u << 12;
	segs o;

	free_tables(s);
	/* About 16 bits per key: a false positive rate near 6%, in a table
	 * small enough to stay in the cache. */
	while (bits < s->hashed * 16)
		bits <<= 1;
	s->fmask = bits - 1;
	s->filter = g_new0(uint64_t, bits / 64);
	/* About 4 bits per host key, at most 256 KiB: small enough to stay
	 * in the L2 cache that the 2 MiB filter misses at a million
	 * indicators, and still stopping about 9 names in 10 of those that
	 * are no indicator's (the suffix look-ups of a name that is no
	 * indicator were the filter's cache misses).  Each key sets two
	 * bits of one 64-bit word (one load a test). */
	for (bits = 1u << 12; bits < s->hosts * 4 && bits < (1u << 21);)
		bits <<= 1;
	s->smask = bits - 1;
	s->sfx = g_new0(uint64_t, bits / 64);
	/* The same for e-mail addresses and URL hosts, about 8 bits a key
	 * and at most 128 KiB (their look-ups were the misses of the bit
	 * filter that most of the rest of the scan's time waited on). */
	for (bits = 1u << 12; bits < s->firsts * 8 && bits < (1u << 20);)
		bits <<= 1;
	s->kmask = bits - 1;
	s->kfl = g_new0(uint64_t, bits / 64);
	/* Up to 7/10 full: the bit filter keeps most misses off the table,
	 * so longer probe chains cost little and the memory matters. */
	s->nslots = MAX(1024, s->hashed * 10 / 7 + 1);
	s->slots = g_new0(uint32_t, s->nslots);
	/* The index needs the bits up to the largest one plus one; the rest
	 * keep most colliding slots off the entries. */
	s->tagmask = UINT32_MAX;
	while (s->tagmask && (~s->tagmask & UINT32_MAX) < s->entries->len)
		s->tagmask <<= 1;
	s->count = 0;
	for (guint k = 0; k < s->entries->len; k++) {
		const entry *e = entry_at(s, k);
		const char *p = (const char *)s->arena->data + e->off;
		char buf[RENDER_MAX];
		size_t i, n;
		uint64_t h, b;

		if (KIND(e) == K_NET)
			continue;
		if (e->kind & K_BIN)
			p = buf, n = render(s, e, buf);
		else
			n = entry_len(s, e);
		h = hash_key(KIND(e), p, n);
		if (probe(s, KIND(e), h, p, n) >= 0)
			continue;
		for (i = home(s, h); s->slots[i]; i = i + 1 < s->nslots ?
		     i + 1 : 0)
			;
		s->slots[i] = tag_of(s, h) | (k + 1);
		s->count += KIND(e) != K_URLHOST;
		b = (h >> 7) & s->fmask;
		s->filter[b >> 6] |= 1ull << (b & 63);
		if (KIND(e) == K_EMAIL || KIND(e) == K_URLHOST)
			first_add(s->kfl, s->kmask, h);
		if (KIND(e) == K_HOST) {
			first_add(s->sfx, s->smask, last_two(p, n, h));
		}
	}

	s->nets = s->p4->len + s->p6->len;
	sort_rows(s, s->p4, 1);
	sort_rows(s, s->p6, 0);
	s->nets -= flatten(s->p4, 1, &o);
	s->t4.n = o.start->len;
	s->t4.start = (uint32_t *)g_array_free(o.start, FALSE);
	s->t4.ind = (uint32_t *)g_array_free(o.ind, FALSE);
	s->t4.index = g_new(uint32_t, 65537);
	for (size_t k = 0, i = 0; k <= 65536; k++) {
		while (i < s->t4.n && (s->t4.start[i] >> 16) < k)
			i++;
		s->t4.index[k] = (uint32_t)i;
	}
	s->t4.any16 = g_new0(uint64_t, 65536 / 64);
	for (size_t k = 0; k < s->t4.n; k++) {
		uint32_t last = k + 1 < s->t4.n ? s->t4.start[k + 1] - 1 :
			UINT32_MAX;

		if (s->t4.ind[k] == UINT32_MAX)
			continue;
		for (uint32_t b = s->t4.start[k] >> 16; b <= last >> 16; b++)
			s->t4.any16[b >> 6] |= 1ull << (b & 63);
	}

	s->nets -= flatten(s->p6, 0, &o);
	s->t6.n = o.start->len;
	s->t6.start = (u128 *)g_array_free(o.start, FALSE);
	s->t6.ind = (uint32_t *)g_array_free(o.ind, FALSE);
	s->built = 1;
}

/* The distinct prefixes of A (sorted by csip_match_set_build()) into D,
 * with new entries. */
static void
copy_prefixes(csip_match_set *d, const csip_match_set *s, const GArray *a,
	      int v4, GArray *to)
{
	for (guint i = 0; i < a->len; i++) {
		prefix p = prefix_at(a, v4, i), q;
		const entry *e = entry_at(s, p.ind);
		entry x = *e;

		if (i > 0 && (q = prefix_at(a, v4, i - 1)).lo == p.lo &&
		    q.hi == p.hi)
			continue;
		if (e->kind & K_BIN) {
			x.off = to->len;
			p.ind = d->entries->len;
			g_array_append_val(d->entries, x);
		} else {
			p.ind = new_entry(d, K_NET, (csip_ind_type)e->type,
				(const char *)s->arena->data + e->off,
				entry_len(s, e));
		}
		prefix_append(to, v4, &p);
	}
}

csip_match_set *
csip_match_set_copy(const csip_match_set *s)
{
	csip_match_set *d = csip_match_set_new();

	uint8_t *keep;

	g_return_val_if_fail(s->built, d);
	/* The table holds each distinct key once (a URL's host too): those
	 * entries are marked, then copied in their order, which reads the
	 * arena once from end to end instead of in the table's order. */
	keep = g_malloc0(s->entries->len / 8 + 1);
	for (size_t i = 0; i < s->nslots; i++) {
		uint32_t k;

		if (s->slots[i] == 0)
			continue;
		k = (s->slots[i] & ~s->tagmask) - 1;
		keep[k >> 3] |= (uint8_t)(1u << (k & 7));
	}
	g_byte_array_set_size(d->arena, (guint)s->arena->len);
	g_byte_array_set_size(d->arena, 0);
	for (guint k = 0; k < s->entries->len; k++) {
		const entry *e = entry_at(s, k);
		entry x = *e;

		if (!(keep[k >> 3] & (1u << (k & 7))))
			continue;
		if (!(e->kind & K_BIN)) {
			insert(d, e->kind, (csip_ind_type)e->type,
			       (const char *)s->arena->data + e->off,
			       entry_len(s, e));
			continue;
		}
		x.off = d->arena->len;
		g_byte_array_append(d->arena, s->arena->data + e->off,
				    e->len / 2u);
		g_array_append_val(d->entries, x);
		count_key(d, KIND(e));
	}
	g_free(keep);
	copy_prefixes(d, s, s->p4, 1, d->p4);
	copy_prefixes(d, s, s->p6, 0, d->p6);
	return d;
}

size_t
csip_match_set_count(const csip_match_set *s)
{
	return s->built ? s->count + s->nets : s->hashed - s->urlhosts +
		s->p4->len + s->p6->len;
}

size_t
csip_match_set_memory(const csip_match_set *s)
{
	return s->arena->len + s->entries->len * sizeof(entry) +
		s->nslots * 4 + (s->fmask + 1) / 8 +
		(s->sfx ? (s->smask + 1) / 8 + (s->kmask + 1) / 8 : 0) +
		s->t4.n * 8 +
		(s->t4.index ? 65537 * 4 + 65536 / 8 : 0) + s->t6.n * 20 +
		s->p4->len * sizeof(prefix4) + s->p6->len * sizeof(prefix6);
}

const char *
csip_match_indicator(const csip_match_set *s, uint32_t ind,
		     csip_ind_type *type)
{
	static _Thread_local char ring[4][RENDER_MAX];
	static _Thread_local unsigned next;
	const entry *e = entry_at(s, ind);
	char *buf;

	if (type)
		*type = (csip_ind_type)e->type;
	if (!(e->kind & K_BIN))
		return (const char *)s->arena->data + e->off;
	buf = ring[next++ % G_N_ELEMENTS(ring)];
	render(s, e, buf);
	return buf;
}

/* ------------------------------------------------------------------ */
/* Addresses */

/* One part of a dotted quad at P[*I]: one to three digits, no leading
 * zero, at most 255; *I moves past it.  0 when there is none. */
static inline int
v4_part(const char *p, size_t n, size_t *pi, unsigned *out)
{
	size_t i = *pi;
	unsigned v;

	if (i >= n || (v = (unsigned)(unsigned char)p[i] - '0') > 9)
		return 0;
	i++;
	if (i < n && (unsigned)(unsigned char)p[i] - '0' <= 9) {
		if (v == 0)
			return 0;
		v = v * 10 + (unsigned)(p[i++] - '0');
		if (i < n && (unsigned)(unsigned char)p[i] - '0' <= 9) {
			v = v * 10 + (unsigned)(p[i++] - '0');
			if (v > 255)
				return 0;
		}
	}
	*pi = i;
	*out = v;
	return 1;
}

/* Dotted quad, decimal, no leading zeros (so that 010.1.1.1 is not
 * silently read as something else).  Part by part with at most three
 * digits each, as every log line has addresses. */
static int
parse_v4(const char *p, size_t n, uint32_t *out)
{
	uint32_t a = 0;
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		unsigned v;

		if (part > 0 && (i >= n || p[i++] != '.'))
			return 0;
		if (!v4_part(p, n, &i, &v))
			return 0;
		a = a << 8 | v;
	}
	if (i != n)
		return 0;
	*out = a;
	return 1;
}

static int
parse_v6(const char *p, size_t n, uint8_t out[16])
{
	uint16_t g[8];
	int ng = 0, gap = -1;
	size_t i = 0;

	if (n < 2 || n > 45)
		return 0;
	/* Without "::" an address has eight groups and seven colons, or six
	 * and a dotted quad: 15 bytes or more.  Times ("00:55:33",
	 * "00:55:33.123") are most of the runs that come here, and fail
	 * here after one pass that only looks for "::". */
	if (n < 15) {
		size_t k = 0;

		while (k + 1 < n && !(p[k] == ':' && p[k + 1] == ':'))
			k++;
		if (k + 1 >= n)
			return 0;
	}
	if (p[0] == ':') {
		if (p[1] != ':')
			return 0;
		gap = 0;
		i = 2;
		if (n == 2)
			goto done;
	}
	for (;;) {
		size_t st = i;
		unsigned v = 0;

		while (i < n && i - st < 5 && hexv[(unsigned char)p[i]] >= 0)
			v = v << 4 | (unsigned)hexv[(unsigned char)p[i++]];
		if (i < n && p[i] == '.') {
			uint32_t a;

			if (ng > 6 || !parse_v4(p + st, n - st, &a))
				return 0;
			g[ng++] = (uint16_t)(a >> 16);
			g[ng++] = (uint16_t)a;
			break;
		}
		if (i == st || i - st > 4 || ng == 8)
			return 0;
		g[ng++] = (uint16_t)v;
		if (i == n)
			break;
		if (p[i] != ':')
			return 0;
		i++;
		if (i < n && p[i] == ':') {
			if (gap >= 0)
				return 0;
			gap = ng;
			i++;
			if (i == n)
				break;
		} else if (i == n) {
			return 0;
		}
	}
done:
	if (gap < 0 ? ng != 8 : ng > 7)
		return 0;
	memset(out, 0, 16);
	for (int k = 0; k < ng; k++) {
		int pos = gap < 0 || k < gap ? k : 8 - (ng - k);

		out[2 * pos] = (uint8_t)(g[k] >> 8);
		out[2 * pos + 1] = (uint8_t)g[k];
	}
	return 1;
}

static uint32_t
find4(const csip_match_set *s, uint32_t a)
{
	const seg4 *t = &s->t4;
	size_t lo, hi;

	/* Most addresses of a log are in no network's /16: 8 KiB that stay
	 * in the cache answer for them instead of the index. */
	if (t->n == 0 || !(t->any16[a >> 22] >> (a >> 16 & 63) & 1))
		return UINT32_MAX;
	/* The last segment starting at or before A: within A's /16 bucket,
	 * or the one just before it. */
	lo = t->index[a >> 16];
	hi = t->index[(a >> 16) + 1];
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (t->start[mid] <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == 0 ? UINT32_MAX : t->ind[lo - 1];
}

static uint32_t
find6(const csip_match_set *s, u128 a)
{
	size_t lo = 0, hi = s->t6.n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (s->t6.start[mid] <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == 0 ? UINT32_MAX : s->t6.ind[lo - 1];
}

/* ------------------------------------------------------------------ */
/* The scanner */

typedef struct scan {
	const csip_match_set *s;
	const char *line;
	csip_match_fn fn;
	void *ud;
	size_t hits;
	csip_match_lines_fn lfn;   /* instead of FN, csip_match_lines() */
	uint64_t no;               /* the line's number there */
} scan;

static inline void
hit(scan *sc, uint32_t ind, const char *p, size_t n)
{
	csip_match_hit h = { ind, (size_t)(p - sc->line), n };

	if (sc->lfn)
		sc->lfn(sc->ud, sc->line, sc->no, &h);
	else
		sc->fn(sc->ud, &h);
	sc->hits++;
}

#define MAX_LABELS 128

/* The suffixes of a name of NL labels, H[K] the hash of the one of K + 1
 * labels starting at P + ST[K]: look up every one of two labels or more,
 * most specific first; a hit is reported at AT, ATLEN. */
static void
lookup_suffixes(scan *sc, const uint64_t *h, const size_t *st, int nl,
		const char *p, size_t n, const char *at, size_t atlen)
{
	/* Every suffix looked up ends in the last two labels (H[1]): when no
	 * host key does, none of them is in the set. */
	if (nl < 2 || !sfx_has(sc->s, h[1]))
		return;
	/* The words of the bit filter that the look-ups test, asked for
	 * at once: at a million indicators it is out of the cache, and
	 * the look-ups one after another waited on each miss in turn. */
	for (int k = nl - 1; k >= 1; k--)
		__builtin_prefetch(&sc->s->filter[((h[k] >> 7) &
						   sc->s->fmask) >> 6]);
	for (int k = nl - 1; k >= 1; k--) {
		int64_t e = lookup(sc->s, K_HOST, h[k], p + st[k], n - st[k]);

		if (e >= 0) {
			hit(sc, (uint32_t)e, at, atlen);
			return;
		}
	}
}

/* A host name of ASCII host characters: look up every suffix of two labels
 * or more, most specific first.  The ASCII name for lookup may differ from
 * the text (IDN), so AT and ATLEN give where the hit is reported. */
static void
match_host_ascii(scan *sc, const char *p, size_t n, const char *at,
		 size_t atlen)
{
	uint64_t h[MAX_LABELS];
	size_t st[MAX_LABELS];
	int nl = 0;
	uint64_t s = K_HOST;
	size_t e = n;

	if (n > 253)
		return;
	/* Hash every suffix, right to left, as hash_host() does. */
	for (size_t i = n; i-- > 0;)
		if (p[i] == '.') {
			s = step(s, label_hash(p, n, i + 1, e));
			e = i;
			h[nl] = s;
			st[nl++] = i + 1;
			if (nl == MAX_LABELS - 1)
				return;
		}
	h[nl] = step(s, label_hash(p, n, 0, e));
	st[nl++] = 0;
	lookup_suffixes(sc, h, st, nl, p, n, at, atlen);
}

static void
match_host(scan *sc, const char *p, size_t n)
{
	int ascii = 1;
	char *a = NULL;

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80) {
			ascii = 0;
			break;
		}
	if (ascii) {
		match_host_ascii(sc, p, n, p, n);
		return;
	}
	/* A Unicode name (rare): the full IDNA conversion. */
	if (n <= 253 && g_utf8_validate(p, (gssize)n, NULL)) {
		char *u = g_strndup(p, n);

		if (csip_domain_canonical(u, &a) == CSIP_OK)
			match_host_ascii(sc, a, strlen(a), p, n);
		else
			csip_error_clear();
		g_free(u);
		g_free(a);
	}
}

/* Hex runs of a hash length bounded by non-alphanumerics inside P. */
static void
match_hashes(scan *sc, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t st = i;
		int hex = 1;

		while (i < n && (cls[(unsigned char)p[i]] & C_ALNUM)) {
			hex &= (cls[(unsigned char)p[i]] & C_HEX) != 0;
			i++;
		}
		if (hex && (i - st == 32 || i - st == 40 || i - st == 64 ||
			    i - st == 128)) {
			int64_t e = lookup(sc->s, K_HASH,
					   hash_key(K_HASH, p + st, i - st),
					   p + st, i - st);

			if (e >= 0)
				hit(sc, (uint32_t)e, p + st, i - st);
		}
		if (i == st)
			i++;
	}
}

static void
match_ip4(scan *sc, const char *p, size_t n)
{
	uint32_t a, e;

	if (sc->s->t4.n && parse_v4(p, n, &a) &&
	    (e = find4(sc->s, a)) != UINT32_MAX)
		hit(sc, e, p, n);
}

/* A piece without ':', '@' or '+': an IPv4 address, a host name,
 * hashes; byte by byte, for what match_piece() leaves: pieces of 32 bytes
 * or more, non-ASCII names, "..", names whose last label is a number. */
static void
piece_slow(scan *sc, const char *p, size_t n)
{
	const char *e = p + n;
	int dots = 0, alpha_last = 0;

	while (p < e && (*p == '.' || *p == '-'))
		p++;
	while (e > p && (e[-1] == '.' || e[-1] == '-'))
		e--;
	n = (size_t)(e - p);
	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '.') {
			if (p[i + 1] == '.') {
				/* Two dots end a name: split (rare). */
				piece_slow(sc, p, i);
				piece_slow(sc, p + i + 1, n - i - 1);
				return;
			}
			dots++;
			alpha_last = 0;
		} else if (!(cls[c] & C_DIGIT)) {
			alpha_last = 1;
		}
	}
	if (n >= 32 && (sc->s->kinds & 1u << K_HASH))
		match_hashes(sc, p, n);
	if (dots == 0)
		return;
	if (!alpha_last) {
		if (dots == 3)
			match_ip4(sc, p, n);
		return;
	}
	if (sc->s->kinds & 1u << K_HOST)
		match_host(sc, p, n);
}

#if defined(__SSE2__)
/* The bits of a mask for the bytes of V that are '.' (*DOTS) and those
 * that are no digit (*ND): the first K bytes of V, at bit SH. */
static inline void
dots_nondigits(__m128i v, unsigned k, unsigned sh, uint32_t *dots,
	       uint32_t *nd)
{
	uint32_t keep = (uint32_t)((1ull << k) - 1);
	/* A digit is min(max(c, '0'), '9') == c. */
	__m128i dig = _mm_cmpeq_epi8(_mm_min_epu8(_mm_max_epu8(v,
		_mm_set1_epi8('0')), _mm_set1_epi8('9')), v);

	*dots |= ((uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v,
		_mm_set1_epi8('.'))) & keep) << sh;
	*nd |= (~(uint32_t)_mm_movemask_epi8(dig) & keep) << sh;
}
#endif

/* The dots of P[0..N), 1 <= N <= 31, as bits of a mask (bit I for P[I]),
 * and in *ND the bytes that are no digit; read in two overlapping words
 * or vectors, none past P + N. */
static inline uint32_t
dots_of(const char *p, size_t n, uint32_t *nd)
{
	uint32_t m = 0;

	*nd = 0;
#if defined(__SSE2__)
	if (n >= 16) {
		dots_nondigits(_mm_loadu_si128((const __m128i *)p), 16, 0,
			       &m, nd);
		dots_nondigits(_mm_loadu_si128((const __m128i *)(p + n - 16)),
			       16, (unsigned)n - 16, &m, nd);
		return m;
	}
	if (n >= 8) {
		dots_nondigits(_mm_loadl_epi64((const __m128i *)p), 8, 0,
			       &m, nd);
		dots_nondigits(_mm_loadl_epi64((const __m128i *)(p + n - 8)),
			       8, (unsigned)n - 8, &m, nd);
		return m;
	}
#endif
	for (size_t i = 0; i < n; i++) {
		m |= (uint32_t)(p[i] == '.') << i;
		*nd |= (uint32_t)((unsigned char)(p[i] - '0') > 9) << i;
	}
	return m;
}

/* A name of ASCII host characters, 1 to 31 bytes, not starting or ending
 * with '.' or '-', with a letter (C_ALPHA) in it.  Its dots and its
 * bytes that are no digit come as masks (dots_of()), which tell whether a
 * label is empty or the last one a number; then every suffix is hashed,
 * label by label from the right (label_hash()); what it cannot decide
 * goes to piece_slow(). */
static void
match_name(scan *sc, const char *p, size_t n)
{
	uint64_t h[32], s = K_HOST;
	size_t st[32], e = n;
	uint32_t nd, dm = dots_of(p, n, &nd);
	int nl = 0;

	if (dm == 0)
		return;
	/* The last label must not be a number; a ".." anywhere (no dot at
	 * either end) cuts the name into pieces.  (A byte of the last
	 * label that is no digit is a letter, '-' or '_', or in a URL's
	 * host a byte that is no token character: piece_slow() would
	 * look such a name up as below.) */
	if (!(nd >> (32 - __builtin_clz(dm))) ||
	    !(sc->s->kinds & 1u << K_HOST) || (dm & dm >> 1)) {
		piece_slow(sc, p, n);
		return;
	}
	do {
		size_t i = 31 - (size_t)__builtin_clz(dm);  /* a dot */

		dm &= ~(1u << i);
		s = step(s, label_hash(p, n, i + 1, e));
		e = i;
		h[nl] = s;
		st[nl++] = i + 1;
		/* H[1], the last two labels, is what lookup_suffixes()
		 * tests first: when no host key ends in them, none of the
		 * name's suffixes is in the set, and the labels left of
		 * them need no hashing. */
		if (nl == 2 && !sfx_has(sc->s, s))
			return;
	} while (dm);
	h[nl] = step(s, label_hash(p, n, 0, e));
	st[nl++] = 0;
	lookup_suffixes(sc, h, st, nl, p, n, p, n);
}

/* A piece without ':', '@' or '+': an IPv4 address, a host name,
 * hashes.  ACC holds at least the classes of its bytes (it may be those
 * of the run it was cut from): the common short pieces are decided from
 * it without another pass, numbers by parse_v4() alone and names by
 * match_name(). */
static void match_number(scan *sc, const char *p, size_t n);

static void
match_piece(scan *sc, const char *p, size_t n, unsigned acc)
{
	const char *e = p + n;

	if (n < 32 && !(acc & C_DOT))
		return;
	while (p < e && (*p == '.' || *p == '-'))
		p++;
	while (e > p && (e[-1] == '.' || e[-1] == '-'))
		e--;
	n = (size_t)(e - p);
	if (n < 32 && !(acc & C_DOT))
		return;
	if (n >= 32 || (acc & C_HIGH)) {
		piece_slow(sc, p, n);
		return;
	}
	if (acc & C_ALPHA)
		match_name(sc, p, n);
	else
		match_number(sc, p, n);
}

/* A piece of digits and dots (match_piece()): an IPv4 address, or
 * nothing unless ".." cuts it (parse_v4() takes no empty part).  A dotted
 * quad has 7 to 15 bytes: times, versions and floats mostly have fewer or
 * more.  Apart from match_piece(), which then only tail-calls. */
static __attribute__((noinline)) void
match_number(scan *sc, const char *p, size_t n)
{
	uint32_t a, ind;

	if (n - 7 <= 15 - 7) {
		const seg4 *t = &sc->s->t4;
		size_t i = 0;
		unsigned x, y;

		/* Its first two parts name its /16: when no network reaches
		 * it, only a ".." after them (no address holds one) could
		 * make a sighting, so the rest is not parsed; and only with
		 * an address of 7 bytes or more after that "..". */
		if (v4_part(p, n, &i, &x) && i < n && p[i++] == '.' &&
		    v4_part(p, n, &i, &y) && (t->n == 0 ||
		    !(t->any16[(x << 8 | y) >> 6] >> (y & 63) & 1))) {
			for (; i + 2 + 7 <= n; i++)
				if (p[i] == '.' && p[i + 1] == '.') {
					piece_slow(sc, p, n);
					return;
				}
			return;
		}
		if (parse_v4(p, n, &a)) {
			if (t->n && (ind = find4(sc->s, a)) != UINT32_MAX)
				hit(sc, ind, p, n);
			return;
		}
	}
	/* Cut by "..", its pieces are digits and dots too: only one of 7
	 * bytes or more, an address, can make a sighting.  (N < 32: longer
	 * pieces go to piece_slow() from match_piece().) */
	if (n >= 2 + 7) {
		uint32_t nd, dm = dots_of(p, n, &nd);

		if (dm & dm >> 1)
			piece_slow(sc, p, n);
	}
}

/* The OR of the classes of P[0..N). */
static unsigned
acc_of(const char *p, size_t n)
{
	unsigned acc = 0;

	/* A URL's host may hold bytes that are no token characters:
	 * match_piece() must not take them for digits (ucls[]). */
	for (size_t i = 0; i < n; i++)
		acc |= ucls[(unsigned char)p[i]];
	return acc;
}

/* Split at '+', which host names cannot contain ("..", neither, is left
 * to match_piece).  ACC holds at least the classes of P's bytes. */
static void
match_pieces(scan *sc, const char *p, size_t n, unsigned acc)
{
	size_t st = 0;

	if (!(acc & C_PLUS)) {
		if (n)
			match_piece(sc, p, n, acc);
		return;
	}
	for (size_t i = 0; i <= n; i++) {
		if (i == n || p[i] == '+') {
			if (i > st)
				match_piece(sc, p + st, i - st, acc);
			st = i + 1;
		}
	}
}

static void
match_email(scan *sc, const char *p, size_t n, size_t at, unsigned acc)
{
	const char *dom = p + at + 1;
	size_t dn = n - at - 1;
	const char *lp = p;

	while (lp < p + at && *lp == '.')
		lp++;
	while (dn > 0 && (dom[dn - 1] == '.' || dom[dn - 1] == '-'))
		dn--;
	if (lp < p + at && dn > 0 && (sc->s->kinds & 1u << K_EMAIL) &&
	    (size_t)(dom + dn - lp) < 320 && memchr(dom, '.', dn) != NULL) {
		size_t len = (size_t)(dom + dn - lp);
		int64_t e;

		/* The hash and the comparison fold case: no lower-cased
		 * copy. */
		e = lookup_first(sc->s, K_EMAIL, hash_key(K_EMAIL, lp, len),
				 lp, len);
		if (e >= 0)
			hit(sc, (uint32_t)e, lp, len);
	}
	match_pieces(sc, dom, n - at - 1, acc);
}

/* A run of token characters with no URL in it; ACC is the OR of the
 * classes of its bytes (exactly: C_NOT6 rules out an IPv6 address), as
 * acc_of() gives it (C_FOREIGN: a byte that is no token character). */
static void
match_run(scan *sc, const char *p, size_t n, unsigned acc)
{
	size_t st;
	unsigned pacc = 0;

	/* Only hex digits, ':' and '.': ACC tells it without a pass over
	 * the bytes (a byte outside the runs, in a URL's brackets, is
	 * C_FOREIGN).  The colons are not counted first: parse_v6() takes
	 * no address with fewer than two. */
	if (!(acc & (C_NOT6 | C_FOREIGN))) {
		uint8_t a[16];
		u128 v = 0;
		uint32_t e;

		if (parse_v6(p, n, a)) {
			for (int i = 0; i < 16; i++)
				v = v << 8 | a[i];
			if (sc->s->t6.n && (e = find6(sc->s, v)) != UINT32_MAX)
				hit(sc, e, p, n);
			return;
		}
	}
	/* Without a dot, only a hash (32 bytes or more) can be in a part. */
	if (n < 32 && !(acc & C_DOT))
		return;
	/* host:port, key:value, user@host: each part on its own, with the
	 * classes of its own bytes. */
	for (size_t i = st = 0; i <= n; i++) {
		const char *q, *at, *last;
		size_t m;

		while (i < n && p[i] != ':')
			pacc |= cls[(unsigned char)p[i++]];
		/* As acc_of() does for such bytes, at once for the part. */
		if (acc & C_FOREIGN)
			pacc |= C_ALPHA;
		q = p + st;
		m = i - st;
		st = i + 1;
		/* The last '@' of the part, if any. */
		last = q;
		if (pacc & C_AT) {
			last = q + m;
			while (last > q && last[-1] != '@')
				last--;
		}
		if (last == q) {
			if (m)
				match_pieces(sc, q, m, pacc);
		} else {
			/* The address is between the last two '@'. */
			at = last - 1;
			while (at > q && at[-1] != '@')
				at--;
			if (at < last - 1)
				match_email(sc, at, (size_t)(q + m - at),
					    (size_t)(last - 1 - at), pacc);
			else
				match_pieces(sc, last,
					     (size_t)(q + m - last), pacc);
		}
		pacc = 0;
	}
}

/* A URL from its scheme to its end.  Its host is a token of its own. */
static void
match_url(scan *sc, const char *p, size_t n)
{
	const char *auth = memchr(p, ':', n) + 3, *end = p + n;
	const char *aend = auth, *host, *hend;

	/* The authority's end and its last '@', in one pass; with SSE2,
	 * 16 bytes a step. */
	host = auth;
#if defined(__SSE2__)
	while (end - aend >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)aend);
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(
			eq_either(v, '/', '?'),
			_mm_cmpeq_epi8(v, _mm_set1_epi8('#'))));
		unsigned a = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v,
			_mm_set1_epi8('@')));

		if (m)
			a &= (1u << __builtin_ctz(m)) - 1;
		if (a)
			host = aend + (31 - __builtin_clz(a)) + 1;
		if (m) {
			aend += __builtin_ctz(m);
			goto auth_end;
		}
		aend += 16;
	}
#endif
	for (; aend < end && *aend != '/' && *aend != '?' && *aend != '#';
	     aend++)
		if (*aend == '@')
			host = aend + 1;
#if defined(__SSE2__)
auth_end:
#endif
	if (host < aend && *host == '[') {
		hend = memchr(host, ']', aend - host);
		if (hend == NULL)
			return;
		host++;
	} else {
		/* host <= aend always; said so for the compiler's bound. */
		hend = host < aend ? memchr(host, ':', (size_t)(aend - host))
			: NULL;
		if (hend == NULL)
			hend = aend;
	}
	if (hend == host)
		return;
	if (sc->s->kinds & 1u << K_URL) {
		size_t hl = (size_t)(hend - host);
		const char *hh = host - (host[-1] == '[');
		size_t hhl = hl + 2 * (host[-1] == '[');
		int64_t e;

		/* Only a URL whose host is that of a URL indicator is worth
		 * its canonical form. */
		if (hl > 0 && hh[hhl - 1] == '.')
			hhl--;
		if (lookup_first(sc->s, K_URLHOST, hash_key(K_URLHOST, hh,
				 hhl), hh, hhl) >= 0) {
			csip_indicator *ind = NULL;

			if (csip_indicator_parse(p, n, CSIP_IND_URL, &ind) ==
			    CSIP_OK) {
				size_t vl = strlen(ind->value);

				e = lookup(sc->s, K_URL, hash_key(K_URL,
					ind->value, vl), ind->value, vl);
				if (e >= 0 && strcmp(ind->value,
				    csip_match_indicator(sc->s, (uint32_t)e,
				    NULL)) == 0)
					hit(sc, (uint32_t)e, p, n);
			} else {
				csip_error_clear();
			}
			csip_indicator_free(ind);
		}
	}
	if (host[-1] == '[')
		match_run(sc, host, (size_t)(hend - host),
			  acc_of(host, (size_t)(hend - host)));
	else
		match_pieces(sc, host, (size_t)(hend - host),
			     acc_of(host, (size_t)(hend - host)));
}

static int
scheme_char(unsigned char c)
{
	return g_ascii_isalnum(c) || c == '+' || c == '-' || c == '.';
}

/* Where the run of token characters from LINE[I] (one, or I == LEN) ends,
 * with the OR of its bytes' classes in *ACC; four bytes a step. */
static inline size_t
run_end(const char *line, size_t len, size_t i, unsigned *acc)
{
	unsigned a = 0, c;

	while (len - i >= 4) {
		if (!((c = cls[(unsigned char)line[i]]) & C_RUN))
			goto out;
		a |= c;
		if (!((c = cls[(unsigned char)line[i + 1]]) & C_RUN)) {
			i += 1;
			goto out;
		}
		a |= c;
		if (!((c = cls[(unsigned char)line[i + 2]]) & C_RUN)) {
			i += 2;
			goto out;
		}
		a |= c;
		if (!((c = cls[(unsigned char)line[i + 3]]) & C_RUN)) {
			i += 3;
			goto out;
		}
		a |= c;
		i += 4;
	}
	while (i < len && ((c = cls[(unsigned char)line[i]]) & C_RUN)) {
		a |= c;
		i++;
	}
out:
	*acc = a;
	return i;
}

/* The first byte at or after LINE[U] that ends a URL (C_URLEND), or LEN;
 * with SSE2, 16 bytes a step (a URL is some 40 bytes). */
static inline size_t
url_end(const char *line, size_t len, size_t u)
{
#if defined(__SSE2__)
	const __m128i sp = _mm_set1_epi8(' '), del = _mm_set1_epi8(0x7F);

	while (len - u >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(line + u)), x;
		unsigned m;

		/* Bytes <= ' ', DEL and "\"'<>`\\{}|^". */
		x = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(v, sp), v),
				 _mm_cmpeq_epi8(v, del));
		x = _mm_or_si128(x, _mm_or_si128(eq_either(v, '"', '\''),
						 eq_either(v, '<', '>')));
		x = _mm_or_si128(x, _mm_or_si128(eq_either(v, '`', '\\'),
						 eq_either(v, '^', '|')));
		x = _mm_or_si128(x, eq_either(v, '{', '}'));
		m = (unsigned)_mm_movemask_epi8(x);
		if (m)
			return u + (unsigned)__builtin_ctz(m);
		u += 16;
	}
#endif
	while (u < len && !(cls[(unsigned char)line[u]] & C_URLEND))
		u++;
	return u;
}

/* The run LINE[ST..END) with ACC the OR of its bytes' classes: what it
 * holds is looked up.  Returns where the tokenizer goes on: END, or the
 * end of a URL that starts in the run. */
static inline size_t
on_run(scan *sc, const char *line, size_t len, size_t st, size_t end,
       unsigned acc)
{
	/* Most runs are words, numbers and times: too short for a hash, no
	 * dot (so no host name, IPv4 or e-mail address), and no colon or
	 * else a character no IPv6 address has. */
	if (!(acc & C_SPLIT)) {
		if ((acc & C_DOT) || end - st >= 32)
			match_piece(sc, line + st, end - st, acc);
		return end;
	}
	if (end > st + 1 && line[end - 1] == ':' && end + 1 < len &&
	    line[end] == '/' && line[end + 1] == '/') {
		/* scheme://: the scheme is the tail of the run. */
		size_t sch = end - 1, u;

		while (sch > st && scheme_char(line[sch - 1]))
			sch--;
		while (sch < end - 1 && !g_ascii_isalpha(line[sch]))
			sch++;
		if (sch < end - 1) {
			if (sch > st)
				match_run(sc, line + st, sch - st,
					  acc_of(line + st, sch - st));
			u = url_end(line, len, end + 2);
			while (u > end + 2 && strchr(".,;:!?)]}", line[u - 1]))
				u--;
			match_url(sc, line + sch, u - sch);
			return u;
		}
	}
	if ((acc & C_DOT) || end - st >= 32 || !(acc & C_NOT6))
		match_run(sc, line + st, end - st, acc);
	return end;
}

/* The tokenizer's byte loop, from LINE[I], a point between two runs, up
 * to LEN or, when STOP is C_NL, the first newline, where it stops and
 * sets *STOPPED; it returns at the first point between runs at or after
 * LIM (the run that holds LIM - 1 is scanned whole).  A byte-class
 * table, a byte at a time. */
static size_t
byte_loop(scan *sc, const char *line, size_t len, size_t i, size_t lim,
	  unsigned stop, int *stopped)
{
	while (i < lim) {
		size_t st;
		unsigned acc, c = 0;

		/* Skip separators; a wide character is skipped whole, so
		 * its continuation bytes cannot start a token. */
		while (i < len && !((c = cls[(unsigned char)line[i]]) &
				    (C_RUN | C_WIDE | stop)))
			i++;
		if (i < len && (c & (C_WIDE | stop))) {
			if (c & stop) {
				*stopped = 1;
				return i;
			}
			i++;
			while (i < len && ((unsigned char)line[i] & 0xC0) ==
			       0x80)
				i++;
			continue;
		}
		st = i;
		i = run_end(line, len, i, &acc);
		if (i > st)
			i = on_run(sc, line, len, st, i, acc);
	}
	return i;
}

#if defined(__SSE2__)
/* The byte loop from LINE[I], a point between runs, to the run that holds
 * LINE[T] (from its start, found backwards; not before I) and on to LIM:
 * everything between I and that start is a run that on_run() would drop
 * (see tokens()), so the byte loop starting there scans what it would
 * have scanned from I. */
static inline size_t
loop_from(scan *sc, const char *line, size_t len, size_t i, size_t t,
	  size_t lim, unsigned stop, int *stopped)
{
	while (t > i && (cls[(unsigned char)line[t - 1]] & C_RUN))
		t--;
	return byte_loop(sc, line, len, t, lim, stop, stopped);
}
#endif

/* The tokenizer, from LINE[0] up to LEN or, when STOP is C_NL, the first
 * newline; returns where it stopped.
 *
 * Most runs of a log can make no sighting: on_run() drops every run that
 * has no '.' and no ':', is no longer than 31 bytes and is all ASCII
 * (words, numbers, hex ids, field names).  With SSE2 (the x86-64
 * baseline), the line is therefore read 16 bytes at a time for the bytes
 * that a run worth a look must hold: '.', ':', a byte >= 0x80 (a wide
 * character, an IDN), a newline; a block without one is passed over,
 * unless no byte of it is a sure separator (a blank, a quote, a comma, a
 * slash, '='), for a run of 32 bytes or more (a hash) holds at least one
 * whole block of the tiling, which then has no separator.  At such a
 * byte, or such a block, the byte loop takes over from the start of the
 * run that holds it, and gives back at the end of that run (or of the
 * block).  The byte loop sees all the runs it sees without the skip, in
 * the same state, so the sightings are the same for every input; the
 * vector part only decides which bytes it need not read.  (Earlier
 * vector tokenizers classified every byte into masks and cost more than
 * they saved; this one tests five bytes' values, and the runs it skips
 * are most of a log's.) */
static size_t
tokens(scan *sc, const char *line, size_t len, unsigned stop)
{
	size_t i = 0;
	int stopped = 0;
#if defined(__SSE2__)
	/* I: a point between runs, up to which everything is scanned; P:
	 * the block being tested, P >= I, the runs before it that start at
	 * or after I being ones on_run() drops. */
	size_t p = 0;
	const __m128i dot = _mm_set1_epi8('.'), colon = _mm_set1_epi8(':');
	const __m128i nl = _mm_set1_epi8('\n'), blank = _mm_set1_epi8(' ');
	const __m128i quote = _mm_set1_epi8('"'), comma = _mm_set1_epi8(',');
	const __m128i slash = _mm_set1_epi8('/'), eq = _mm_set1_epi8('=');

	while (len - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(line + p));
		unsigned m;

		/* '.', ':', '\n' and bytes >= 0x80 (their top bit). */
		m = (unsigned)_mm_movemask_epi8(_mm_or_si128(
			_mm_or_si128(_mm_cmpeq_epi8(v, dot),
				     _mm_cmpeq_epi8(v, colon)),
			_mm_or_si128(_mm_cmpeq_epi8(v, nl), v)));
		if (m) {
			size_t at = p + (unsigned)__builtin_ctz(m), st = at;
			unsigned c = cls[(unsigned char)line[at]], acc, a;

			if (c & C_NL) {
				/* The run before it, if any, is one that
				 * on_run() drops. */
				if (stop)
					return at;
				i = p = at + 1;
				continue;
			}
			if (c & C_HIGH) {
				i = loop_from(sc, line, len, i, at, at + 1,
					      stop, &stopped);
				if (stopped)
					return i;
				p = i;
				continue;
			}
			/* '.' or ':' alone (a JSON key's colon, "]: "):
			 * on_run() finds nothing in it. */
			if ((at == i || !(cls[(unsigned char)line[at - 1]] &
					  C_RUN)) && (at + 1 == len ||
			    !(cls[(unsigned char)line[at + 1]] & C_RUN))) {
				i = p = at + 1;
				continue;
			}
			/* '.' or ':': the run that holds it, from its start
			 * (the bytes before AT are ASCII) to its end. */
			acc = c;
			while (st > i && ((a = cls[(unsigned char)
						  line[st - 1]]) & C_RUN)) {
				acc |= a;
				st--;
			}
			at = run_end(line, len, at + 1, &a);
			i = p = on_run(sc, line, len, st, at, acc | a);
			continue;
		}
		/* Bytes <= ' ' (min(v, ' ') == v) and the common
		 * punctuation: none is a run character. */
		m = (unsigned)_mm_movemask_epi8(_mm_or_si128(
			_mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(v, blank), v),
				     _mm_cmpeq_epi8(v, quote)),
			_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, comma),
						  _mm_cmpeq_epi8(v, slash)),
				     _mm_cmpeq_epi8(v, eq))));
		if (m == 0) {
			i = loop_from(sc, line, len, i, p, p + 16, stop,
				      &stopped);
			if (stopped)
				return i;
			p = i;
			continue;
		}
		p += 16;
	}
	/* The last bytes, from the start of the run that holds P - 1. */
	return loop_from(sc, line, len, i, p, len, stop, &stopped);
#else
	return byte_loop(sc, line, len, i, len, stop, &stopped);
#endif
}

size_t
csip_match_line(const csip_match_set *s, const char *line, size_t len,
		csip_match_fn fn, void *ud)
{
	scan sc = { s, line, fn, ud, 0, NULL, 0 };

	if (len > CSIP_MATCH_MAX_LINE)
		len = CSIP_MATCH_MAX_LINE;
	tokens(&sc, line, len, 0);
	return sc.hits;
}

uint64_t
csip_match_lines(const csip_match_set *s, const char *buf, size_t len,
		 int skip_hash, csip_match_lines_fn fn, void *ud,
		 uint64_t *long_lines)
{
	scan sc = { s, buf, NULL, ud, 0, fn, 0 };
	size_t i = 0;

	while (i < len) {
		size_t lim = len - i > CSIP_MATCH_MAX_LINE ?
			i + CSIP_MATCH_MAX_LINE : len;
		const char *nl;

		if (skip_hash && buf[i] == '#') {
			nl = memchr(buf + i, '\n', len - i);
			i = nl ? (size_t)(nl - buf) + 1 : len;
			sc.no++;
			continue;
		}
		sc.line = buf + i;
		i += tokens(&sc, buf + i, lim - i, C_NL);
		if (i == lim && lim < len && buf[lim] != '\n') {
			/* Scanned up to the limit; the rest of the line
			 * is not. */
			if (long_lines)
				(*long_lines)++;
			nl = memchr(buf + lim, '\n', len - lim);
			i = nl ? (size_t)(nl - buf) : len;
		}
		i++;
		sc.no++;
	}
	return sc.no;
}
