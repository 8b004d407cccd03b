/*
 * extract.c - indicators from free text (see extract.h).
 *
 * The scan is two-level.  First the text is cut into tokens at white space,
 * control bytes, invalid UTF-8 and characters that never occur in an
 * indicator (quotes, angle brackets, CJK punctuation).  Then each token is
 * cut again where Japanese script meets ASCII, since Japanese prose has no
 * spaces: "詳細はhxxp://evil[.]example/です" holds one URL.  Each piece is
 * stripped of surrounding punctuation, refanged, and offered to the
 * indicator parser, which has the last word.
 *
 * Plain-text domain candidates are the weak spot of every extractor
 * ("invoice.pdf", "e.g.", "Mr.Smith").  A name is only taken when its
 * top-level label is a known public suffix and, unless it was defanged
 * (a defanged name is an indicator by intent), when it is not a two-label
 * name ending in a common file extension that happens to be a TLD.
 */
#include "lib/extract.h"
#include "lib/url_unwrap.h"
#include "util/error.h"

#include <glib.h>
#include <libpsl.h>
#include <string.h>

#define MAX_TOKEN 8192

typedef struct entry {
	csip_indicator *ind;
	char *where;
	unsigned count;
} entry;

/* Candidates remembered per set: words recur all through a mail ("the",
 * "your", a zero-width joiner, the same link in every footer), and the
 * parser's answer to them (IDNA, the public suffix list, a refusal)
 * costs far more than a look-up. */
#define MAX_MEMO 65536

struct csip_extract_set {
	GPtrArray *entries;   /* entry *, in the order first seen */
	GHashTable *index;    /* "type\0value" key -> entry * */
	GHashTable *memo;     /* offer()'s answers, keyed "hint defanged
	                         text": the indicator it keeps, or `refused` */
	int full;
	int unwrapping;       /* offering the URLs inside a URL */
};

/* The memo's value for a candidate offer() takes nothing from. */
static char refused;

static void
entry_free(gpointer p)
{
	entry *e = p;

	csip_indicator_free(e->ind);
	g_free(e->where);
	g_free(e);
}

static void
memo_free(gpointer p)
{
	if (p != &refused)
		csip_indicator_free(p);
}

csip_extract_set *
csip_extract_set_new(void)
{
	csip_extract_set *s = g_new0(csip_extract_set, 1);

	s->entries = g_ptr_array_new_with_free_func(entry_free);
	s->index = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					 NULL);
	s->memo = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					memo_free);
	return s;
}

void
csip_extract_set_free(csip_extract_set *s)
{
	if (s == NULL)
		return;
	g_hash_table_destroy(s->index);
	g_hash_table_destroy(s->memo);
	g_ptr_array_free(s->entries, TRUE);
	g_free(s);
}

void
csip_extract_set_add(csip_extract_set *s, csip_indicator *ind,
		     const char *where)
{
	char *key = g_strconcat(csip_ind_type_name(ind->type), " ", ind->value,
				NULL);
	entry *e = g_hash_table_lookup(s->index, key);

	if (e) {
		e->count++;
		g_free(key);
		csip_indicator_free(ind);
		return;
	}
	if (s->entries->len >= CSIP_EXTRACT_MAX_VALUES) {
		s->full = 1;
		g_free(key);
		csip_indicator_free(ind);
		return;
	}
	e = g_new0(entry, 1);
	e->ind = ind;
	e->where = g_strdup(where ? where : "");
	e->count = 1;
	g_ptr_array_add(s->entries, e);
	g_hash_table_insert(s->index, key, e);
}

size_t
csip_extract_set_count(const csip_extract_set *s)
{
	return s->entries->len;
}

const csip_indicator *
csip_extract_set_get(const csip_extract_set *s, size_t i, const char **where,
		     unsigned *count)
{
	entry *e;

	if (i >= s->entries->len)
		return NULL;
	e = g_ptr_array_index(s->entries, i);
	if (where)
		*where = e->where;
	if (count)
		*count = e->count;
	return e->ind;
}

/* What json_pack("{ss ss ss sI}", ...) makes of E (NULL when a string
 * is not UTF-8), without reading a format for every indicator of every
 * mail. */
static json_t *
entry_json(const entry *e)
{
	json_t *t = json_string(csip_ind_type_name(e->ind->type));
	json_t *v = json_string(e->ind->value);
	json_t *w = json_string(e->where);
	json_t *o = NULL;

	if (t && v && w) {
		o = json_object();
		json_object_set_new(o, "type", t);
		json_object_set_new(o, "value", v);
		json_object_set_new(o, "where", w);
		json_object_set_new(o, "count", json_integer(
			(json_int_t)e->count));
		return o;
	}
	json_decref(t);
	json_decref(v);
	json_decref(w);
	return o;
}

json_t *
csip_extract_set_json(const csip_extract_set *s)
{
	json_t *arr = json_array();

	for (guint i = 0; i < s->entries->len; i++) {
		entry *e = g_ptr_array_index(s->entries, i);
		json_t *o = entry_json(e);

		if (strcmp(e->ind->display, e->ind->value) != 0)
			json_object_set_new(o, "display",
					    json_string(e->ind->display));
		json_array_append_new(arr, o);
	}
	return arr;
}

/* ---- candidates ------------------------------------------------------ */

/* File extensions that are also top-level domains: "setup.zip" in prose is
 * a file far more often than a host. */
static const char *const file_tlds[] = {
	"zip", "mov", "py", "sh", "rs", "pl", "md", "ps", "so", "pm", "cc",
	"cs", "js", "ts", "go", "rb", "sc", "ai", "im", "gz", NULL
};

static int
known_tld(const char *name)
{
	const char *dot = strrchr(name, '.');
	const char *tld = dot ? dot + 1 : name;

	if (*tld == '\0')
		return 0;
	return psl_is_public_suffix2(psl_builtin(), tld,
				     PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE);
}

static int
looks_like_file(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (dot == NULL || strchr(name, '.') != dot)
		return 0;  /* only two-label names */
	for (int i = 0; file_tlds[i]; i++)
		if (g_ascii_strcasecmp(dot + 1, file_tlds[i]) == 0)
			return 1;
	return 0;
}

static int
wanted_type(csip_ind_type t)
{
	switch (t) {
	case CSIP_IND_IPV4: case CSIP_IND_IPV6:
	case CSIP_IND_CIDR4: case CSIP_IND_CIDR6:
	case CSIP_IND_DOMAIN: case CSIP_IND_HOSTNAME:
	case CSIP_IND_URL: case CSIP_IND_EMAIL:
	case CSIP_IND_MD5: case CSIP_IND_SHA1:
	case CSIP_IND_SHA256: case CSIP_IND_SHA512:
	case CSIP_IND_SSDEEP:
		return 1;
	default:
		return 0;
	}
}

static int
is_digest(csip_ind_type t)
{
	return t == CSIP_IND_MD5 || t == CSIP_IND_SHA1 ||
		t == CSIP_IND_SHA256 || t == CSIP_IND_SHA512;
}

/* A candidate the parser can only refuse: letters and digits alone (no
 * defanged form, so refanging leaves it as it is), not all hex (a hash),
 * and not starting like an AS number ("AS64500": "as" or "asn" and
 * digits) or a registry hive ("HKLM", "HKU": every hive starts with
 * "hk"), which parse but are not kept.  What is left goes to
 * parse_name(), which refuses a single label without a type.  Most
 * words of a mail's prose end here, and the parser's refusal (IDNA, a
 * formatted message) costs far more than this look.  Only the first two
 * letters are looked at for those two shapes, so "about" and "here" are
 * plain words too.
 *
 * Words with non-ASCII characters ("für", "você", "–") are single labels
 * too, as long as none of those characters is one that host_canon()
 * reads as a dot or the parser trims as a space: for them the refusal
 * costs two IDNA conversions. */
static int
plain_word(const char *c, size_t n, csip_ind_type hint)
{
	int hex = 1;

	if (hint != CSIP_IND_UNKNOWN || (n >= 2 &&
	    ((g_ascii_tolower(c[0]) == 'a' && g_ascii_tolower(c[1]) == 's') ||
	     (g_ascii_tolower(c[0]) == 'h' && g_ascii_tolower(c[1]) == 'k'))))
		return 0;
	for (size_t i = 0; i < n; ) {
		gunichar u;

		if (g_ascii_isalnum(c[i])) {
			if (!g_ascii_isxdigit(c[i]))
				hex = 0;
			i++;
			continue;
		}
		if ((unsigned char)c[i] < 0x80)
			return 0;
		u = g_utf8_get_char_validated(c + i, (gssize)(n - i));
		if (u == (gunichar)-1 || u == (gunichar)-2 ||
		    u == 0x3002 || u == 0xff0e || u == 0xff61 ||
		    g_unichar_isspace(u))
			return 0;
		hex = 0;
		i = (size_t)(g_utf8_next_char(c + i) - c);
	}
	return !hex;
}

/* Decimal V and a space at P; returns the bytes written (at most 12). */
static size_t
put_int(char *p, int v)
{
	char tmp[12];
	unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;
	size_t k = 0, o = 0;

	do {
		tmp[k++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		p[o++] = '-';
	while (k)
		p[o++] = tmp[--k];
	p[o++] = ' ';
	return o;
}

/* The key of offer()'s memo: "HINT DEFANGED CANDIDATE", the candidate up
 * to N bytes or its first NUL.  Built by hand: every candidate of every
 * text makes one, and the printf family costs more than the lookup. */
static char *
memo_key(csip_ind_type hint, int defanged, const char *c, size_t n)
{
	char head[32];
	size_t hl = put_int(head, (int)hint);
	size_t m = strnlen(c, n);
	char *key;

	hl += put_int(head + hl, defanged);
	key = g_malloc(hl + m + 1);
	memcpy(key, head, hl);
	memcpy(key + hl, c, m);
	key[hl + m] = '\0';
	return key;
}

/* What offer() keeps of one refanged candidate: the parsed indicator, or
 * NULL when the parser refuses it or it is not one worth keeping. */
static csip_indicator *
judge(const char *c, size_t n, csip_ind_type hint, int defanged)
{
	csip_indicator *ind = NULL;
	int is_name;

	if (csip_indicator_try(c, n, hint, &ind) < 0)
		return NULL;
	if (!wanted_type(ind->type))
		goto drop;
	/* Times ("05:46:57") have the shape of a tiny ssdeep hash; real
	 * ones carry dozens of characters. */
	if (ind->type == CSIP_IND_SSDEEP && strlen(ind->value) < 24)
		goto drop;
	/* A run of 32, 40 or 64 decimal digits in prose is an order, a
	 * tracking or a card number, not a digest: a real MD5 has no
	 * letter once in three million, a SHA-256 once in 10^13.
	 * Correlating on such a number links unrelated mails.  Digests the
	 * parser computes (attachments) do not come through here. */
	if (is_digest(ind->type) && !defanged &&
	    strspn(ind->value, "0123456789") == strlen(ind->value))
		goto drop;
	is_name = ind->type == CSIP_IND_DOMAIN ||
		ind->type == CSIP_IND_HOSTNAME;
	if (is_name && !(ind->flags & CSIP_IND_F_REFANGED) && !defanged &&
	    (!known_tld(ind->value) || looks_like_file(ind->value)))
		goto drop;
	if (is_name && (ind->flags & CSIP_IND_F_PUBLIC_SUFFIX))
		goto drop;
	if (ind->type == CSIP_IND_EMAIL) {
		const char *at = strrchr(ind->value, '@');

		if (at && !defanged && !(ind->flags & CSIP_IND_F_REFANGED) &&
		    !known_tld(at + 1))
			goto drop;
	}
	return ind;
drop:
	csip_indicator_free(ind);
	return NULL;
}

static int offer(csip_extract_set *s, const char *c, size_t n,
		 csip_ind_type hint, int defanged, const char *where);

/* Offer the URLs INNER found inside a URL, and free them.  They are not
 * looked into again: csip_url_unwrap() returned every level.  Returns
 * whether one was taken. */
static int
offer_inner(csip_extract_set *s, char **inner, const char *where)
{
	int found = 0, was = s->unwrapping;

	s->unwrapping = 1;
	for (size_t i = 0; inner && inner[i]; i++)
		found |= offer(s, inner[i], strlen(inner[i]), CSIP_IND_URL, 0,
			       where);
	s->unwrapping = was;
	g_strfreev(inner);
	return found;
}

/* Try one refanged candidate; returns 1 when something was added.
 *
 * What judge() answers depends on the candidate, the hint and DEFANGED
 * alone (the parser and the public suffix list are fixed), so the answer
 * is remembered, the indicator kept or `refused`; what is done with a
 * kept one (its host offered, the indicator added and counted) is done
 * at every offer, from a copy.  The last error is left cleared after a
 * refusal, as a refused parse leaves it. */
static int
offer(csip_extract_set *s, const char *c, size_t n, csip_ind_type hint,
      int defanged, const char *where)
{
	csip_indicator *ind = NULL;
	gpointer known = NULL;
	char *host, *key, **inner = NULL;

	if (n == 0 || n > MAX_TOKEN)
		return 0;
	if (plain_word(c, n, hint)) {
		csip_error_clear();  /* as the parse that fails does */
		return 0;
	}
	key = memo_key(hint, defanged, c, n);
	if (g_hash_table_lookup_extended(s->memo, key, NULL, &known)) {
		g_free(key);
		if (known == &refused) {
			csip_error_clear();  /* as the refusal did */
			return 0;
		}
		ind = csip_indicator_dup(known);
	} else {
		ind = judge(c, n, hint, defanged);
		if (g_hash_table_size(s->memo) < MAX_MEMO)
			g_hash_table_insert(s->memo, key, ind ?
				(gpointer)csip_indicator_dup(ind) : &refused);
		else
			g_free(key);
		if (ind == NULL)
			return 0;
	}
	/* The URLs a wrapper carries (a gateway's rewrite, a proxy, a
	 * redirector): the wrapper differs at each organisation that
	 * reports the same mail, the URL inside links their reports.  They
	 * are looked for in the candidate as written, since the canonical
	 * form drops the fragment (an image proxy's source).
	 * csip_url_unwrap() opens every level at once.  A mail gateway's
	 * rewrite is the recipient's own infrastructure and carries its
	 * tenant and address: it is never an indicator, at any level and
	 * whether or not its target can be read; only what it wraps is. */
	if (ind->type == CSIP_IND_URL) {
		if (!s->unwrapping)
			inner = csip_url_unwrap(c, n);
		if (csip_url_unwrap_is_gateway(ind->value,
					       strlen(ind->value))) {
			csip_indicator_free(ind);
			return offer_inner(s, inner, where);
		}
	}
	/* A URL's host is an indicator of its own: correlation links a
	 * report naming the host with one naming a URL on it. */
	if (ind->type == CSIP_IND_URL) {
		const char *p = strstr(ind->value, "://");
		size_t hl;

		if (p) {
			p += 3;
			hl = strcspn(p, "/?#");
			host = g_strndup(p, hl);
			if (strchr(host, '@'))
				memmove(host, strrchr(host, '@') + 1,
					strlen(strrchr(host, '@')));
			if (host[0] == '[') {
				char *end = strchr(host, ']');

				if (end)
					*end = '\0';
				memmove(host, host + 1, strlen(host));
			} else if (strchr(host, ':')) {
				*strrchr(host, ':') = '\0';
			}
			offer(s, host, strlen(host), CSIP_IND_UNKNOWN, 1,
			      where);
			g_free(host);
		}
	}
	csip_extract_set_add(s, ind, where);
	offer_inner(s, inner, where);
	return 1;
}

static int
is_trail(char c)
{
	return strchr(".,;:!?'\"*_=-", c) != NULL;
}

/* Strip punctuation around a piece; keep a closing bracket that closes
 * one opened inside (wiki_(page), example[.]com). */
static void
trim(const char **p, size_t *n)
{
	const char *s = *p;
	size_t len = *n;
	int changed = 1;

	while (changed && len > 0) {
		changed = 0;
		if (strchr("([{<", s[0]) && !(len > 2 && s[1] == '.' &&
		    (s[2] == ']' || s[2] == ')' || s[2] == '}'))) {
			s++, len--, changed = 1;
			continue;
		}
		if (is_trail(s[0]) && s[0] != '-' && s[0] != '_') {
			s++, len--, changed = 1;
			continue;
		}
		if (len > 0 && is_trail(s[len - 1])) {
			len--, changed = 1;
			continue;
		}
		if (len > 0 && strchr(")]}>", s[len - 1])) {
			char open = s[len - 1] == ')' ? '(' : s[len - 1] == ']'
				? '[' : s[len - 1] == '}' ? '{' : '<';

			size_t opens = 0, closes = 0;

			for (size_t i = 0; i < len; i++) {
				opens += s[i] == open;
				closes += s[i] == s[len - 1];
			}
			if (closes > opens) {
				len--, changed = 1;
				continue;
			}
		}
	}
	*p = s;
	*n = len;
}

static int
url_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !strchr("\"<>\\^`{|}", c);
}

/* Look at one piece of a token: pure ASCII or a whole token. */
static int
piece(csip_extract_set *s, const char *p, size_t n, const char *where)
{
	char *r = NULL, *nf = NULL;
	const char *c, *mark;
	size_t len;
	int found = 0, defanged;

	trim(&p, &n);
	if (n < 3)
		return 0;
	/* Full-width letters and dots (ｅｖｉｌ．ｅｘａｍｐｌｅ) fold to
	 * ASCII under NFKC. */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80) {
			nf = g_utf8_normalize(p, (gssize)n, G_NORMALIZE_NFKC);
			break;
		}
	r = csip_refang(nf ? nf : p, nf ? strlen(nf) : n);
	defanged = strlen(r) != (nf ? strlen(nf) : n) ||
		memcmp(r, nf ? nf : p, strlen(r)) != 0;
	c = r;
	len = strlen(r);

	/* URLs: a scheme before "://", the URL runs to the first byte that
	 * cannot be in one. */
	while ((mark = strstr(c, "://")) != NULL) {
		const char *st = mark, *en = mark + 3;
		size_t ul;

		while (st > c && (g_ascii_isalnum(st[-1]) || st[-1] == '+' ||
				  st[-1] == '.' || st[-1] == '-'))
			st--;
		while (*en && url_char((unsigned char)*en))
			en++;
		ul = (size_t)(en - st);
		{
			const char *u = st;

			trim(&u, &ul);
			if (mark > st)
				found |= offer(s, u, ul, CSIP_IND_URL, defanged,
					       where);
		}
		c = en;
	}
	if (found)
		goto out;
	c = r;

	/* E-mail addresses: around the last '@'. */
	if ((mark = strrchr(c, '@')) != NULL) {
		const char *st = mark, *en = mark + 1;
		size_t el;

		while (st > c && (g_ascii_isalnum(st[-1]) ||
				  strchr(".!#$%&'*+/=?^_`{|}~-", st[-1])))
			st--;
		while (*en && (g_ascii_isalnum(*en) || *en == '.' ||
			       *en == '-'))
			en++;
		el = (size_t)(en - st);
		trim(&st, &el);
		found = offer(s, st, el, CSIP_IND_EMAIL, defanged, where);
		goto out;
	}

	/* "1.2.3.4:8080" and "[2001:db8::1]:443": drop the port. */
	if (len > 2 && r[0] == '[' && strstr(r, "]:")) {
		found = offer(s, r + 1, (size_t)(strstr(r, "]:") - r - 1),
			      CSIP_IND_UNKNOWN, defanged, where);
		goto out;
	}
	mark = strrchr(r, ':');
	if (mark && strchr(r, ':') == mark && strchr(r, '.')) {
		found = offer(s, r, (size_t)(mark - r), CSIP_IND_UNKNOWN,
			      defanged, where);
		if (found)
			goto out;
	}
	found = offer(s, r, len, CSIP_IND_UNKNOWN, defanged, where);
	/* "www.evil.example/login": a link without its scheme, which mail
	 * readers make clickable.  Its host is an indicator; the path alone
	 * says too little to be one.  (A network, 10.0.0.0/8, parsed
	 * above.) */
	if (!found && (mark = memchr(r, '/', len)) != NULL && mark > r &&
	    memchr(r, '.', (size_t)(mark - r)) != NULL)
		found = offer(s, r, (size_t)(mark - r), CSIP_IND_UNKNOWN,
			      defanged, where);
out:
	g_free(r);
	g_free(nf);
	return found;
}

static int
is_cjk(gunichar u)
{
	switch (g_unichar_get_script(u)) {
	case G_UNICODE_SCRIPT_HAN:
	case G_UNICODE_SCRIPT_HIRAGANA:
	case G_UNICODE_SCRIPT_KATAKANA:
		return 1;
	default:
		/* CJK symbols and punctuation, and the Japanese iteration
		 * marks, belong to no script of their own. */
		return (u >= 0x3000 && u <= 0x303f) || u == 0x30fc;
	}
}

/* A token: cut it where Japanese text meets ASCII and try each piece;
 * when none of them is an indicator, try the whole (a Japanese IDN such
 * as 例え.jp). */
static void
token(csip_extract_set *s, const char *p, size_t n, const char *where)
{
	const char *q = p, *end = p + n, *start = p;
	int cjk = 0, found = 0;

	if (n > MAX_TOKEN)
		return;
	while (q < end) {
		gunichar u = g_utf8_get_char(q);
		const char *next = g_utf8_next_char(q);

		if ((unsigned char)*q >= 0x80 && is_cjk(u)) {
			cjk = 1;
			if (q > start)
				found |= piece(s, start, (size_t)(q - start),
					       where);
			start = next;
		}
		q = next;
	}
	if (!cjk) {
		piece(s, p, n, where);
		return;
	}
	if (end > start)
		found |= piece(s, start, (size_t)(end - start), where);
	if (!found && memchr(p, '.', n))
		piece(s, p, n, where);
}

/* Characters that end a token. */
static int
is_delim(gunichar u)
{
	if (u < 0x21 || u == 0x7f)
		return 1;
	if (u < 0x80)
		return u == '"' || u == '<' || u == '>' || u == '`' ||
		       u == '|' || u == '^';   /* every byte of every text */
	return g_unichar_isspace(u) ||
		u == 0x3001 || u == 0x3002 ||            /* 、。 */
		(u >= 0x300c && u <= 0x300f) ||          /* 「」『』 */
		u == 0xff08 || u == 0xff09 ||            /* （） */
		u == 0xff1a || u == 0x2192 ||            /* ：→ */
		u == 0x201c || u == 0x201d || u == 0x2018 || u == 0x2019 ||
		u == 0xfeff || u == 0x200b;
}

int
csip_extract_text(csip_extract_set *s, const char *text, size_t len,
		  const char *where)
{
	const char *p = text, *end, *tok = NULL;
	int rc = CSIP_OK;

	if (len > CSIP_EXTRACT_MAX_TEXT) {
		len = CSIP_EXTRACT_MAX_TEXT;
		rc = csip_error_set(CSIP_ETOOBIG, "%s: text longer than %u "
			"bytes; only the start was scanned", where ? where :
			"text", CSIP_EXTRACT_MAX_TEXT);
	}
	end = text + len;
	while (p < end) {
		const char *next;
		gunichar u;
		int delim;

		if ((unsigned char)*p < 0x80) {
			u = (unsigned char)*p;
			next = p + 1;
		} else {
			u = g_utf8_get_char_validated(p, end - p);
			if (u == (gunichar)-1 || u == (gunichar)-2) {
				u = 0;  /* invalid: a delimiter */
				next = p + 1;
			} else {
				next = g_utf8_next_char(p);
			}
		}
		delim = is_delim(u);
		if (delim && tok) {
			token(s, tok, (size_t)(p - tok), where);
			tok = NULL;
		} else if (!delim && !tok) {
			tok = p;
		}
		p = next;
	}
	if (tok)
		token(s, tok, (size_t)(end - tok), where);
	if (rc == CSIP_OK && s->full)
		rc = csip_error_set(CSIP_ETOOBIG, "%s: more than %d distinct "
			"indicators; the rest were dropped", where ? where :
			"text", CSIP_EXTRACT_MAX_VALUES);
	return rc;
}
