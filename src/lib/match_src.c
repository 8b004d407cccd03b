/*
 * match_src.c - the matcher's indicator sources: lists and CSV (streamed, so
 * a large list is never held whole next to the set made from it), STIX 2.1
 * bundles and MISP events and feeds (JSON, read whole under a cap), from
 * files, feed folders and http(s) URLs (libcurl).
 *
 * Everything a source holds that the matcher cannot use is skipped, counted
 * and reported to the caller with where it was, the same way for every
 * format: one bad value never costs the rest of the list.
 */
#include "lib/match_src.h"
#include "util/error.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <jansson.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const names[CSIP_MSRC__COUNT] = {
	"auto", "list", "stix", "misp"
};

int
csip_match_src_format_from_name(const char *name)
{
	for (int i = 0; i < CSIP_MSRC__COUNT; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

const char *
csip_match_src_format_name(csip_match_src_format f)
{
	return (unsigned)f < CSIP_MSRC__COUNT ? names[f] : "unknown";
}

/* Where JSON starts, past a UTF-8 byte order mark and white space; NULL
 * when the data does not start like a JSON object or array. */
static const char *
json_start(const char *p, size_t len)
{
	const char *e = p + len;

	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < e && g_ascii_isspace(*p))
		p++;
	return p < e && (*p == '{' || *p == '[') ? p : NULL;
}

csip_match_src_format
csip_match_src_detect(const char *data, size_t len)
{
	if (json_start(data, len) == NULL)
		return CSIP_MSRC_LIST;
	/* "type": "bundle" is near the top of a bundle; the full decision
	 * is made on the parsed document (kind_of()). */
	if (g_strstr_len(data, (gssize)MIN(len, 65536u), "\"bundle\""))
		return CSIP_MSRC_STIX;
	return CSIP_MSRC_MISP;
}

/* ------------------------------------------------------------------ */
/* Loading context and reporting */

typedef struct lctx {
	csip_match_set *s;
	const char *name;          /* the document, for messages */
	csip_bad_indicator_fn bad;
	void *ud;
	csip_match_src_stats *st;
	csip_match_src_row_fn row;
	void *row_ud;
	/* list state */
	int vcol, tcol, header;
	int icol, pcol;            /* "item", "published_at" */
	uint64_t lineno;
} lctx;

static void G_GNUC_PRINTF(3, 4)
skip(lctx *c, uint64_t line, const char *fmt, ...)
{
	va_list ap;
	char *m;

	c->st->skipped++;
	if (c->bad == NULL)
		return;
	va_start(ap, fmt);
	m = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	c->bad(c->ud, c->name, line, m);
	g_free(m);
}

#define M(t) (1u << (t))
#define A_HOST (M(CSIP_IND_DOMAIN) | M(CSIP_IND_HOSTNAME))
#define A_NET4 (M(CSIP_IND_IPV4) | M(CSIP_IND_CIDR4))
#define A_NET6 (M(CSIP_IND_IPV6) | M(CSIP_IND_CIDR6))
#define A_NET (A_NET4 | A_NET6)
#define A_URL M(CSIP_IND_URL)
#define A_EMAIL M(CSIP_IND_EMAIL)
#define A_HASH (M(CSIP_IND_MD5) | M(CSIP_IND_SHA1) | M(CSIP_IND_SHA256) | \
		M(CSIP_IND_SHA512))

/* Add V[0..N) from WHERE (an object, for messages) when it parses as one
 * of the types in ACCEPT; WHAT says what held it. */
static void
add_value(lctx *c, const char *where, const char *what, const char *v,
	  size_t n, unsigned accept)
{
	csip_indicator *ind = NULL;
	/* A hash of a stated kind is parsed as one, for a message that
	 * says what is wrong with it. */
	csip_ind_type hint = (accept & A_HASH) == accept &&
		(accept & (accept - 1)) == 0 ?
		(csip_ind_type)__builtin_ctz(accept) : CSIP_IND_UNKNOWN;

	if (csip_indicator_parse(v, n, hint, &ind) < 0) {
		skip(c, 0, "%s: %s: %s", where, what, csip_error_last());
		goto out;
	}
	if (!(accept & M(ind->type))) {
		skip(c, 0, "%s: %s: \"%s\" is a%s %s value, which %s does not "
		     "hold", where, what, ind->value,
		     strchr("aeiou", csip_ind_type_name(ind->type)[0]) ? "n" :
		     "", csip_ind_type_name(ind->type), what);
		goto out;
	}
	if (csip_match_set_add_parsed(c->s, ind) < 0) {
		skip(c, 0, "%s: %s", where, csip_error_last());
		goto out;
	}
	c->st->added++;
out:
	csip_error_clear();
	csip_indicator_free(ind);
}

/* ------------------------------------------------------------------ */
/* Lists: one per line, or CSV */

/* Split one CSV record (RFC 4180 quoting, within one line) into fields. */
static GPtrArray *
csv_fields(const char *p, size_t n)
{
	GPtrArray *f = g_ptr_array_new_with_free_func(g_free);
	size_t i = 0;

	for (;;) {
		GString *v = g_string_new(NULL);

		if (i < n && p[i] == '"') {
			for (i++; i < n; i++) {
				if (p[i] == '"' && i + 1 < n && p[i + 1] == '"')
					g_string_append_c(v, p[i++]);
				else if (p[i] == '"')
					break;
				else
					g_string_append_c(v, p[i]);
			}
			while (i < n && p[i] != ',')
				i++;
		} else {
			while (i < n && p[i] != ',')
				g_string_append_c(v, p[i++]);
		}
		g_ptr_array_add(f, g_strstrip(g_string_free(v, FALSE)));
		if (i >= n)
			break;
		i++;
	}
	return f;
}

/* An item id as the hub writes it: 1 to 18 digits, not 0. */
static int64_t
item_id(const char *v)
{
	int64_t n = 0;
	size_t i;

	for (i = 0; g_ascii_isdigit(v[i]) && i < 18; i++)
		n = n * 10 + (v[i] - '0');
	return i > 0 && v[i] == '\0' ? n : 0;
}

/* A time as the hub writes published_at, 2025-04-01T09:30:00Z, which
 * compares as text and can be sent back as since=. */
static int
hub_time(const char *v)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";

	for (size_t i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == 'd' ? !g_ascii_isdigit(v[i]) : v[i] != shape[i])
			return 0;
	return v[sizeof(shape) - 1] == '\0';
}

/* Tell the caller about indicator AT of CSV record F. */
static void
row_of(lctx *c, GPtrArray *f, uint32_t at)
{
	csip_match_src_row r = { at, 0, NULL };

	if (c->icol >= 0 && (guint)c->icol < f->len)
		r.item = item_id(g_ptr_array_index(f, c->icol));
	if (c->pcol >= 0 && (guint)c->pcol < f->len &&
	    hub_time(g_ptr_array_index(f, c->pcol)))
		r.published_at = g_ptr_array_index(f, c->pcol);
	c->row(c->row_ud, &r);
}

static void
list_line(lctx *c, const char *v, const char *e)
{
	csip_ind_type hint = CSIP_IND_UNKNOWN;
	GPtrArray *f = NULL;
	uint32_t at;

	c->lineno++;
	while (v < e && g_ascii_isspace(*v))
		v++;
	while (e > v && g_ascii_isspace(e[-1]))
		e--;
	if (c->lineno == 1 && e - v >= 3 && memcmp(v, "\xef\xbb\xbf", 3) == 0)
		v += 3;
	if (v == e || *v == '#')
		return;
	if (c->header) {
		/* A CSV list names its columns on its first line. */
		c->header = 0;
		f = csv_fields(v, (size_t)(e - v));
		for (guint i = 0; i < f->len; i++) {
			const char *h = g_ptr_array_index(f, i);

			if (g_ascii_strcasecmp(h, "value") == 0 ||
			    g_ascii_strcasecmp(h, "indicator") == 0)
				c->vcol = (int)i;
			else if (g_ascii_strcasecmp(h, "type") == 0)
				c->tcol = (int)i;
			else if (g_ascii_strcasecmp(h, "item") == 0)
				c->icol = (int)i;
			else if (g_ascii_strcasecmp(h, "published_at") == 0)
				c->pcol = (int)i;
		}
		g_ptr_array_free(f, TRUE);
		f = NULL;
		if (c->vcol >= 0) {
			c->st->item_column = c->icol >= 0;
			return;
		}
		c->icol = c->pcol = -1;
	}
	if (c->vcol >= 0) {
		f = csv_fields(v, (size_t)(e - v));
		if ((guint)c->vcol >= f->len) {
			skip(c, c->lineno, "the CSV record has no value "
			     "column");
			goto out;
		}
		if (c->tcol >= 0 && (guint)c->tcol < f->len)
			hint = csip_ind_type_from_name(g_ptr_array_index(
				f, c->tcol));
		v = g_ptr_array_index(f, c->vcol);
		e = v + strlen(v);
	}
	if (csip_match_set_add_ind(c->s, v, (size_t)(e - v), hint, &at) ==
	    CSIP_OK) {
		c->st->added++;
		if (c->row && f)
			row_of(c, f, at);
	} else {
		skip(c, c->lineno, "%s", csip_error_last());
	}
	csip_error_clear();
out:
	if (f)
		g_ptr_array_free(f, TRUE);
}

/* The complete lines of P[0..N) (all of it when FINAL); returns the bytes
 * used. */
static size_t
list_lines(lctx *c, const char *p, size_t n, int final)
{
	const char *q = p, *e = p + n;

	while (q < e) {
		const char *nl = memchr(q, '\n', (size_t)(e - q));

		if (nl == NULL) {
			if (!final)
				break;
			nl = e;
		}
		list_line(c, q, nl);
		q = nl < e ? nl + 1 : e;
	}
	return (size_t)(q - p);
}

/* ------------------------------------------------------------------ */
/* STIX 2.1 patterns */

enum { T_END, T_LBRACK, T_RBRACK, T_LPAREN, T_RPAREN, T_COMMA, T_STR,
	T_LIT, T_OP, T_WORD, T_PATH, T_BAD };

typedef struct tok {
	int kind;
	const char *p;     /* T_STR: inside the quotes, escapes kept */
	size_t n;
} tok;

/* A quoted literal from P (at the quote): its end after the closing
 * quote, or NULL when it is not closed. */
static const char *
quoted(const char *p, const char *e)
{
	for (p++; p < e; p++) {
		if (*p == '\\' && p + 1 < e)
			p++;
		else if (*p == '\'')
			return p + 1;
	}
	return NULL;
}

static int
word_char(char ch)
{
	return g_ascii_isalnum(ch) || ch == '_' || ch == '-' || ch == ':' ||
		ch == '.' || ch == '*';
}

static tok
lex(const char **pp, const char *e)
{
	const char *p = *pp, *q;
	tok t = { T_BAD, p, 0 };

	while (p < e && g_ascii_isspace(*p))
		p++;
	t.p = p;
	if (p == e) {
		t.kind = T_END;
		goto out;
	}
	switch (*p) {
	case '[': t.kind = T_LBRACK; p++; goto out;
	case ']': t.kind = T_RBRACK; p++; goto out;
	case '(': t.kind = T_LPAREN; p++; goto out;
	case ')': t.kind = T_RPAREN; p++; goto out;
	case ',': t.kind = T_COMMA; p++; goto out;
	case '\'':
		if ((q = quoted(p, e)) == NULL)
			goto out;
		t.kind = T_STR;
		t.p = p + 1;
		t.n = (size_t)(q - p - 2);
		p = q;
		goto out;
	case '=':
		t.kind = T_OP;
		p++;
		goto out;
	case '!': case '<': case '>':
		t.kind = T_OP;
		p++;
		if (p < e && *p == '=')
			p++;
		else if (p[-1] == '!')
			t.kind = T_BAD;
		goto out;
	default:
		break;
	}
	if ((*p == 't' || *p == 'h' || *p == 'b') && p + 1 < e &&
	    p[1] == '\'') {
		if ((q = quoted(p + 1, e)) == NULL)
			goto out;
		t.kind = T_LIT;
		p = q;
		goto out;
	}
	if (!word_char(*p))
		goto out;
	t.kind = T_WORD;
	while (p < e) {
		if (word_char(*p)) {
			if (*p == ':')
				t.kind = T_PATH;
			p++;
		} else if (*p == '\'' && p[-1] == '.' && t.kind == T_PATH) {
			/* file:hashes.'SHA-256' */
			if ((q = quoted(p, e)) == NULL) {
				t.kind = T_BAD;
				goto out;
			}
			p = q;
		} else if (*p == '[' && t.kind == T_PATH && p + 1 < e &&
			   (q = memchr(p, ']', (size_t)(e - p))) != NULL) {
			/* A list index: body_multipart[*].name */
			p = q + 1;
		} else {
			break;
		}
	}
out:
	if (t.kind != T_STR)
		t.n = (size_t)(p - t.p);
	*pp = p;
	return t;
}

/* The object paths whose values the matcher looks for, lower case,
 * without the quotes of quoted steps. */
static const struct {
	const char *path;
	unsigned accept;
} stix_paths[] = {
	{ "domain-name:value", A_HOST },
	{ "ipv4-addr:value", A_NET4 },
	{ "ipv6-addr:value", A_NET6 },
	{ "url:value", A_URL },
	{ "email-addr:value", A_EMAIL },
	{ "file:hashes.md5", M(CSIP_IND_MD5) },
	{ "file:hashes.sha-1", M(CSIP_IND_SHA1) },
	{ "file:hashes.sha1", M(CSIP_IND_SHA1) },
	{ "file:hashes.sha-256", M(CSIP_IND_SHA256) },
	{ "file:hashes.sha256", M(CSIP_IND_SHA256) },
	{ "file:hashes.sha-512", M(CSIP_IND_SHA512) },
	{ "file:hashes.sha512", M(CSIP_IND_SHA512) },
	{ "network-traffic:dst_ref.value", A_NET | A_HOST },
	{ "network-traffic:src_ref.value", A_NET | A_HOST },
	{ "email-message:from_ref.value", A_EMAIL },
	{ "email-message:sender_ref.value", A_EMAIL },
};

/* The accepted types of path T, or 0. */
static unsigned
path_accept(const tok *t)
{
	char buf[64];
	size_t n = 0;

	for (size_t i = 0; i < t->n; i++) {
		if (t->p[i] == '\'')
			continue;
		if (n + 1 >= sizeof(buf))
			return 0;
		buf[n++] = g_ascii_tolower(t->p[i]);
	}
	buf[n] = '\0';
	for (size_t i = 0; i < G_N_ELEMENTS(stix_paths); i++)
		if (strcmp(buf, stix_paths[i].path) == 0)
			return stix_paths[i].accept;
	return 0;
}

/* A string literal's value: the escapes \' and \\ undone. */
static char *
unquote(const tok *t)
{
	char *o = g_malloc(t->n + 1);
	size_t n = 0;

	for (size_t i = 0; i < t->n; i++) {
		if (t->p[i] == '\\' && i + 1 < t->n)
			i++;
		o[n++] = t->p[i];
	}
	o[n] = '\0';
	return o;
}

static void
use_value(lctx *c, const char *id, const tok *path, const tok *v,
	  unsigned accept)
{
	char *what = g_strndup(path->p, path->n);
	char *val = unquote(v);

	add_value(c, id, what, val, strlen(val), accept);
	g_free(what);
	g_free(val);
}

/* Patterns are short; this bounds the work on a hostile one. */
#define MAX_PATTERN (1u << 20)

static void
stix_pattern(lctx *c, const char *id, const char *pat, size_t len)
{
	const char *p = pat, *e = pat + len;
	GArray *toks = g_array_new(FALSE, FALSE, sizeof(tok));
	int brack = 0, paren = 0, comparisons = 0;
	size_t before = c->st->added + c->st->skipped;
	const char *shown = len > 200 ? "the pattern" : pat;

	if (len > MAX_PATTERN) {
		skip(c, 0, "%s: the pattern is longer than %u bytes; skipped",
		     id, MAX_PATTERN);
		goto out;
	}
	for (;;) {
		tok t = lex(&p, e);

		if (t.kind == T_BAD) {
			skip(c, 0, "%s: %s is not a valid STIX pattern (at "
			     "byte %zu)", id, shown, (size_t)(t.p - pat));
			goto out;
		}
		if (t.kind == T_LBRACK && ++brack > 1)
			break;
		if ((t.kind == T_RBRACK && --brack < 0) ||
		    (t.kind == T_LPAREN && ++paren < 0) ||
		    (t.kind == T_RPAREN && --paren < 0))
			break;
		g_array_append_val(toks, t);
		if (t.kind == T_END)
			break;
	}
	if (brack || paren) {
		skip(c, 0, "%s: %s is not a valid STIX pattern (unbalanced "
		     "brackets)", id, shown);
		goto out;
	}
	for (guint i = 0; i < toks->len; i++) {
		const tok *t = &g_array_index(toks, tok, i), *op, *v;
		guint j = i + 1;
		unsigned accept;
		int neg = 0;

		if (t->kind != T_PATH)
			continue;
		comparisons++;
		accept = path_accept(t);
		if (i > 0 && g_array_index(toks, tok, i - 1).kind == T_WORD &&
		    g_ascii_strncasecmp(g_array_index(toks, tok, i - 1).p,
					"EXISTS", 6) == 0)
			accept = 0;
		op = &g_array_index(toks, tok, j);
		if (op->kind == T_WORD && op->n == 3 &&
		    g_ascii_strncasecmp(op->p, "NOT", 3) == 0) {
			neg = 1;
			op = &g_array_index(toks, tok, ++j);
		}
		v = j + 1 < toks->len ? &g_array_index(toks, tok, j + 1) : NULL;
		if (accept && !neg && op->kind == T_OP && op->n == 1 &&
		    v && v->kind == T_STR) {
			use_value(c, id, t, v, accept);
			continue;
		}
		if (accept && !neg && op->kind == T_WORD && op->n == 2 &&
		    g_ascii_strncasecmp(op->p, "IN", 2) == 0 && v &&
		    v->kind == T_LPAREN) {
			for (guint k = j + 2; k < toks->len; k++) {
				const tok *w = &g_array_index(toks, tok, k);

				if (w->kind == T_STR)
					use_value(c, id, t, w, accept);
				else if (w->kind != T_COMMA)
					break;
			}
			continue;
		}
		skip(c, 0, "%s: the comparison on %.*s: the matcher takes "
		     "only '=' and IN on the values of domain-name, "
		     "ipv4-addr, ipv6-addr, url, email-addr and file:hashes",
		     id, (int)t->n, t->p);
	}
	if (comparisons == 0 && c->st->added + c->st->skipped == before)
		skip(c, 0, "%s: %s is not a valid STIX pattern (no "
		     "comparison)", id, shown);
out:
	g_array_free(toks, TRUE);
}

/* ------------------------------------------------------------------ */
/* STIX 2.1 bundles */

static const char *
jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static const struct {
	const char *name;
	unsigned accept;
} hash_names[] = {
	{ "md5", M(CSIP_IND_MD5) }, { "sha-1", M(CSIP_IND_SHA1) },
	{ "sha1", M(CSIP_IND_SHA1) }, { "sha-256", M(CSIP_IND_SHA256) },
	{ "sha256", M(CSIP_IND_SHA256) }, { "sha-512", M(CSIP_IND_SHA512) },
	{ "sha512", M(CSIP_IND_SHA512) },
};

static void
stix_object(lctx *c, json_t *o, size_t index)
{
	const char *type = jstr(o, "type"), *id = jstr(o, "id");
	char *where = id ? g_strdup(id) : g_strdup_printf("objects[%zu]",
							  index);
	static const struct {
		const char *type;
		unsigned accept;
	} scos[] = {
		{ "domain-name", A_HOST }, { "ipv4-addr", A_NET4 },
		{ "ipv6-addr", A_NET6 }, { "url", A_URL },
		{ "email-addr", A_EMAIL },
	};

	if (type == NULL)
		goto out;
	if (strcmp(type, "indicator") == 0) {
		const char *pt = jstr(o, "pattern_type");
		json_t *pat = json_object_get(o, "pattern");

		/* A revoked indicator is withdrawn by its producer. */
		if (json_is_true(json_object_get(o, "revoked")))
			goto out;
		if (pt && strcmp(pt, "stix") != 0) {
			skip(c, 0, "%s: a %s pattern; the matcher reads STIX "
			     "patterns only", where, pt);
			goto out;
		}
		if (!json_is_string(pat)) {
			skip(c, 0, "%s: the indicator has no pattern", where);
			goto out;
		}
		stix_pattern(c, where, json_string_value(pat),
			     json_string_length(pat));
		goto out;
	}
	if (strcmp(type, "file") == 0) {
		json_t *hashes = json_object_get(o, "hashes"), *v;
		const char *k;

		json_object_foreach(hashes, k, v) {
			unsigned accept = 0;
			char *what;

			for (size_t i = 0; i < G_N_ELEMENTS(hash_names); i++)
				if (g_ascii_strcasecmp(k, hash_names[i].name)
				    == 0)
					accept = hash_names[i].accept;
			if (accept == 0 || !json_is_string(v))
				continue;
			what = g_strdup_printf("file:hashes.%s", k);
			add_value(c, where, what, json_string_value(v),
				  json_string_length(v), accept);
			g_free(what);
		}
		goto out;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(scos); i++) {
		json_t *v = json_object_get(o, "value");

		if (strcmp(type, scos[i].type) != 0)
			continue;
		if (json_is_string(v)) {
			char *what = g_strdup_printf("%s:value", type);

			add_value(c, where, what, json_string_value(v),
				  json_string_length(v), scos[i].accept);
			g_free(what);
		} else {
			skip(c, 0, "%s: the %s has no value", where, type);
		}
	}
out:
	g_free(where);
}

/* ------------------------------------------------------------------ */
/* MISP */

/* Attribute types and what each part of the value (composite types are
 * "a|b") holds; 0 is a part that is not looked for. */
static const struct {
	const char *type;
	unsigned first, second;
} misp_types[] = {
	{ "domain", A_HOST, 0 }, { "hostname", A_HOST, 0 },
	{ "ip-src", A_NET, 0 }, { "ip-dst", A_NET, 0 },
	{ "ip-src|port", A_NET, 0 }, { "ip-dst|port", A_NET, 0 },
	{ "hostname|port", A_HOST, 0 }, { "domain|ip", A_HOST, A_NET },
	{ "url", A_URL, 0 },
	{ "email", A_EMAIL, 0 }, { "email-src", A_EMAIL, 0 },
	{ "email-dst", A_EMAIL, 0 }, { "email-reply-to", A_EMAIL, 0 },
	{ "md5", M(CSIP_IND_MD5), 0 }, { "sha1", M(CSIP_IND_SHA1), 0 },
	{ "sha256", M(CSIP_IND_SHA256), 0 },
	{ "sha512", M(CSIP_IND_SHA512), 0 },
	{ "filename|md5", 0, M(CSIP_IND_MD5) },
	{ "filename|sha1", 0, M(CSIP_IND_SHA1) },
	{ "filename|sha256", 0, M(CSIP_IND_SHA256) },
	{ "filename|sha512", 0, M(CSIP_IND_SHA512) },
	{ "malware-sample", 0, M(CSIP_IND_MD5) },
};

static void
misp_attribute(lctx *c, json_t *a, const char *event)
{
	const char *type = jstr(a, "type"), *uuid = jstr(a, "uuid");
	json_t *jv = json_object_get(a, "value");
	const char *v = json_string_value(jv), *bar;
	size_t n = json_string_length(jv);
	char *where;
	size_t i;

	if (!json_is_object(a) ||
	    json_is_true(json_object_get(a, "deleted")) ||
	    (json_is_string(json_object_get(a, "deleted")) &&
	     strcmp(jstr(a, "deleted"), "1") == 0))
		return;
	where = g_strdup_printf("event %s, attribute %s", event,
				uuid ? uuid : "(no uuid)");
	if (type == NULL || v == NULL) {
		skip(c, 0, "%s: the attribute has no type or value", where);
		goto out;
	}
	for (i = 0; i < G_N_ELEMENTS(misp_types); i++)
		if (strcmp(type, misp_types[i].type) == 0)
			break;
	if (i == G_N_ELEMENTS(misp_types)) {
		skip(c, 0, "%s: the matcher does not look for MISP %s "
		     "attributes in logs", where, type);
		goto out;
	}
	bar = strchr(type, '|') || strcmp(type, "malware-sample") == 0
		? memchr(v, '|', n) : NULL;
	if ((strchr(type, '|') || strcmp(type, "malware-sample") == 0) &&
	    bar == NULL) {
		skip(c, 0, "%s: a %s value needs the form a|b", where, type);
		goto out;
	}
	if (bar == NULL) {
		add_value(c, where, type, v, n, misp_types[i].first);
		goto out;
	}
	if (misp_types[i].first)
		add_value(c, where, type, v, (size_t)(bar - v),
			  misp_types[i].first);
	if (misp_types[i].second)
		add_value(c, where, type, bar + 1, (size_t)(v + n - bar - 1),
			  misp_types[i].second);
out:
	g_free(where);
}

static void
misp_event(lctx *c, json_t *ev)
{
	const char *uuid = jstr(ev, "uuid");
	char *event = g_strdup(uuid ? uuid : jstr(ev, "info") ?
			       jstr(ev, "info") : "(no uuid)");
	json_t *a, *o;
	size_t i, j;

	json_array_foreach(json_object_get(ev, "Attribute"), i, a)
		misp_attribute(c, a, event);
	json_array_foreach(json_object_get(ev, "Object"), i, o) {
		if (json_is_true(json_object_get(o, "deleted")))
			continue;
		json_array_foreach(json_object_get(o, "Attribute"), j, a)
			misp_attribute(c, a, event);
	}
	g_free(event);
}

/* ------------------------------------------------------------------ */
/* JSON documents */

enum { J_UNKNOWN, J_BUNDLE, J_OBJECT, J_EVENT, J_EVENTS, J_RESPONSE, J_MANIFEST };

static int
is_uuid(const char *k)
{
	if (strlen(k) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (k[i] != '-')
				return 0;
		} else if (!g_ascii_isxdigit(k[i])) {
			return 0;
		}
	}
	return 1;
}

static int
kind_of(json_t *root)
{
	const char *type = jstr(root, "type");
	json_t *v;
	const char *k;

	if (json_is_array(root))
		return json_array_size(root) == 0 ||
			json_is_object(json_object_get(json_array_get(root, 0),
						       "Event"))
			? J_EVENTS : J_UNKNOWN;
	if (!json_is_object(root))
		return J_UNKNOWN;
	if (type && strcmp(type, "bundle") == 0)
		return J_BUNDLE;
	/* One STIX object on its own, as some exports give. */
	if (type && jstr(root, "id") && strstr(jstr(root, "id"), "--"))
		return J_OBJECT;
	if (json_is_object(json_object_get(root, "Event")))
		return J_EVENT;
	if (json_is_array(json_object_get(root, "response")))
		return J_RESPONSE;
	if (json_object_size(root) == 0)
		return J_UNKNOWN;
	json_object_foreach(root, k, v)
		if (!is_uuid(k) || !json_is_object(v))
			return J_UNKNOWN;
	return J_MANIFEST;
}

static int read_source(lctx *c, const char *where, csip_match_src_format f,
		       int depth);

/* The events of a feed manifest, next to it: BASE ends in '/'. */
static int
misp_manifest(lctx *c, json_t *root, const char *base, int depth)
{
	const char *k;
	json_t *v;
	int rc = CSIP_OK;

	json_object_foreach(root, k, v) {
		/* The keys were checked by is_uuid(): no path tricks. */
		char *where = g_strdup_printf("%s%s.json", base, k);
		const char *saved = c->name;

		rc = read_source(c, where, CSIP_MSRC_MISP, depth + 1);
		c->name = saved;
		g_free(where);
		if (rc < 0)
			break;
	}
	return rc;
}

/* BASE: where a manifest's events are ("dir/" or "https://x/feed/"), or
 * NULL when there is no place to read them from. */
static int
load_json(lctx *c, const char *data, size_t len, csip_match_src_format f,
	  const char *base, int depth)
{
	json_error_t err;
	json_t *root = NULL, *o;
	int rc = CSIP_OK, kind;
	size_t i;

	/* AUTO: the document decides; a stated format must fit it. */
	if (len > CSIP_MSRC_MAX_JSON) {
		rc = csip_error_set(CSIP_ETOOBIG, "%s: the document is larger "
				    "than %llu MiB; split it", c->name,
				    CSIP_MSRC_MAX_JSON >> 20);
		goto out;
	}
	/* Past a byte order mark, which jansson does not take. */
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
		data += 3;
		len -= 3;
	}
	root = json_loadb(data, len, 0, &err);
	if (root == NULL) {
		rc = csip_error_set(CSIP_EINVAL, "%s:%d: not valid JSON (%s); "
				    "give a STIX 2.1 bundle, a MISP event or "
				    "feed, or a list", c->name, err.line,
				    err.text);
		goto out;
	}
	kind = kind_of(root);
	if (f == CSIP_MSRC_STIX && kind != J_BUNDLE && kind != J_OBJECT) {
		rc = csip_error_set(CSIP_EINVAL, "%s is not a STIX 2.1 bundle "
				    "(no \"type\": \"bundle\"); check the "
				    "source or drop --indicators-format",
				    c->name);
		goto out;
	}
	if ((f == CSIP_MSRC_MISP && (kind == J_BUNDLE || kind == J_OBJECT)) ||
	    kind == J_UNKNOWN) {
		rc = csip_error_set(CSIP_EINVAL, "%s is JSON but not %s; give "
				    "a STIX 2.1 bundle, a MISP event or feed, "
				    "or a list", c->name, f == CSIP_MSRC_MISP ?
				    "a MISP event, event list or feed "
				    "manifest" : "a STIX 2.1 bundle or a MISP "
				    "event or feed");
		goto out;
	}
	if (depth == 0)
		c->st->format = kind == J_BUNDLE || kind == J_OBJECT ?
			CSIP_MSRC_STIX : CSIP_MSRC_MISP;
	switch (kind) {
	case J_BUNDLE:
		json_array_foreach(json_object_get(root, "objects"), i, o)
			if (json_is_object(o))
				stix_object(c, o, i);
		break;
	case J_OBJECT:
		stix_object(c, root, 0);
		break;
	case J_EVENT:
		misp_event(c, json_object_get(root, "Event"));
		break;
	case J_EVENTS:
	case J_RESPONSE:
		json_array_foreach(kind == J_EVENTS ? root :
				   json_object_get(root, "response"), i, o) {
			json_t *ev = json_object_get(o, "Event");

			if (json_is_object(ev))
				misp_event(c, ev);
		}
		break;
	case J_MANIFEST:
		if (base == NULL || depth > 0) {
			rc = csip_error_set(CSIP_EINVAL, "%s is a MISP feed "
				"manifest; give the feed's folder or URL so "
				"that its events can be read", c->name);
			goto out;
		}
		rc = misp_manifest(c, root, base, depth);
		break;
	default:
		break;
	}
out:
	json_decref(root);
	return rc;
}

int
csip_match_src_add_buffer(csip_match_set *s, csip_match_src_format f,
			  const char *data, size_t len, const char *name,
			  csip_bad_indicator_fn bad, void *ud,
			  csip_match_src_stats *stats)
{
	csip_match_src_cb cb = { bad, ud, NULL, NULL };

	return csip_match_src_add_buffer_cb(s, f, data, len, name, &cb,
					    stats);
}

/* The loading context of S for callbacks CB. */
static lctx
context(csip_match_set *s, const char *name, const csip_match_src_cb *cb,
	csip_match_src_stats *stats)
{
	lctx c = { .s = s, .name = name, .bad = cb->bad, .ud = cb->bad_ud,
		.st = stats, .row = cb->row, .row_ud = cb->row_ud, .vcol = -1,
		.tcol = -1, .header = 1, .icol = -1, .pcol = -1 };

	return c;
}

int
csip_match_src_add_buffer_cb(csip_match_set *s, csip_match_src_format f,
			     const char *data, size_t len, const char *name,
			     const csip_match_src_cb *cb,
			     csip_match_src_stats *stats)
{
	lctx c = context(s, name, cb, stats);

	memset(stats, 0, sizeof(*stats));
	stats->format = f == CSIP_MSRC_AUTO ? csip_match_src_detect(data, len)
		: f;
	if (stats->format != CSIP_MSRC_LIST)
		return load_json(&c, data, len, f, NULL, 0);
	if (len > CSIP_MSRC_MAX_LIST)
		return csip_error_set(CSIP_ETOOBIG, "%s: the indicator list "
				      "is larger than 1 GiB; split it", name);
	list_lines(&c, data, len, 1);
	return CSIP_OK;
}

/* ------------------------------------------------------------------ */
/* Reading: files, folders, URLs */

static int
is_url(const char *w)
{
	return g_ascii_strncasecmp(w, "http://", 7) == 0 ||
		g_ascii_strncasecmp(w, "https://", 8) == 0;
}

typedef struct dl {
	GString *body;
	size_t cap;
	int toobig;
} dl;

static size_t
on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	dl *d = ud;
	size_t n = size * nmemb;

	if (d->body->len + n > d->cap) {
		d->toobig = 1;
		return 0;
	}
	g_string_append_len(d->body, p, (gssize)n);
	return n;
}

/* Whether the bearer token may go to URL: over https, or over http to
 * this machine only, so that it never crosses a network in clear. */
int
csip_match_src_token_allowed(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	int ok = 0;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
		ok = g_ascii_strcasecmp(scheme, "https") == 0 ||
			strcmp(host, "127.0.0.1") == 0 ||
			strcmp(host, "[::1]") == 0 ||
			g_ascii_strcasecmp(host, "localhost") == 0;
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

/* GET URL into *out (g_string_free()), at most CAP bytes. */
static int
fetch(const char *url, size_t cap, GString **out)
{
	CURL *h = NULL;
	CURLcode cc;
	char errbuf[CURL_ERROR_SIZE] = "";
	const char *token = g_getenv("CSIP_TOKEN");
	int https = g_ascii_strncasecmp(url, "https://", 8) == 0;
	int sent_token = 0, rc = CSIP_OK;
	long status = 0;
	dl d = { g_string_new(NULL), cap, 0 };

	*out = NULL;
	if ((h = curl_easy_init()) == NULL) {
		rc = csip_error_set(CSIP_EIO, "%s: libcurl could not start",
				    url);
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	/* Never from https down to http. */
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR,
			 https ? "https" : "http,https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS,
			 (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, https ?
			 (long)CURLPROTO_HTTPS :
			 (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
	/* A stalled transfer fails instead of hanging a scan job. */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cap);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "csip-match");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &d);
	if (token && *token && csip_match_src_token_allowed(url)) {
		/* As HTTP auth, libcurl does not send it on to another
		 * host after a redirect. */
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
		curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, token);
		sent_token = 1;
	}
	cc = curl_easy_perform(h);
	if (d.toobig || cc == CURLE_FILESIZE_EXCEEDED) {
		rc = csip_error_set(CSIP_ETOOBIG, "%s: the answer is larger "
				    "than %zu MiB; export a smaller list",
				    url, cap >> 20);
		goto out;
	}
	if (cc != CURLE_OK) {
		rc = csip_error_set(CSIP_EIO, "%s: %s; check the URL and the "
				    "network", url, errbuf[0] ? errbuf :
				    curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status == 401 || status == 403) {
		rc = csip_error_set(CSIP_EIO, "%s: the server refused the "
			"request (HTTP %ld); %s", url, status, sent_token ?
			"check that CSIP_TOKEN holds a valid API token" :
			token && *token ? "CSIP_TOKEN is only sent over https "
			"(or to this machine)" : "set CSIP_TOKEN to an API "
			"token");
		goto out;
	}
	if (status >= 400 || status < 200) {
		rc = csip_error_set(CSIP_EIO, "%s: the server answered HTTP "
				    "%ld; check the URL", url, status);
		goto out;
	}
	*out = d.body;
	d.body = NULL;
out:
	if (d.body)
		g_string_free(d.body, TRUE);
	if (h)
		curl_easy_cleanup(h);
	return rc;
}

/* Read from FD onto BUF until N bytes are there or the end; returns 0 or
 * -1 (errno). */
static int
read_more(int fd, GString *buf, size_t n, int *eof)
{
	while (buf->len < n && !*eof) {
		size_t have = buf->len, want = n - have;
		ssize_t r;

		if (want > (4u << 20))
			want = 4u << 20;
		g_string_set_size(buf, have + want);
		do
			r = read(fd, buf->str + have, want);
		while (r < 0 && errno == EINTR);
		g_string_set_size(buf, have + (r > 0 ? (size_t)r : 0));
		if (r < 0)
			return -1;
		if (r == 0)
			*eof = 1;
	}
	return 0;
}

#define CHUNK (1u << 20)

static int
read_file(lctx *c, const char *path, csip_match_src_format f, int depth)
{
	GString *buf = g_string_new(NULL);
	char *dir = NULL, *base = NULL;
	const char *open_path = path;
	struct stat st;
	int fd = -1, eof = 0, rc = CSIP_OK;
	uint64_t total = 0;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		/* A MISP feed folder. */
		dir = g_build_filename(path, "manifest.json", NULL);
		open_path = dir;
		c->name = dir;
	}
	if ((fd = open(open_path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(fd, &st) < 0) {
		rc = csip_error_set(CSIP_EIO, "%s: %s; give a readable "
				    "indicator list with --indicators",
				    open_path, g_strerror(errno));
		goto out;
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > CSIP_MSRC_MAX_LIST) {
		rc = csip_error_set(CSIP_ETOOBIG, "%s: the indicator list is "
				    "larger than 1 GiB; split it", open_path);
		goto out;
	}
	if (read_more(fd, buf, CHUNK, &eof) < 0)
		goto io;
	if ((f == CSIP_MSRC_AUTO ? csip_match_src_detect(buf->str, buf->len)
	     : f) != CSIP_MSRC_LIST) {
		char *d = g_path_get_dirname(open_path);

		if (S_ISREG(st.st_mode) &&
		    (uint64_t)st.st_size > CSIP_MSRC_MAX_JSON) {
			g_free(d);
			rc = csip_error_set(CSIP_ETOOBIG, "%s: the document is "
				"larger than %llu MiB; split it", open_path,
				CSIP_MSRC_MAX_JSON >> 20);
			goto out;
		}
		base = g_strconcat(d, G_DIR_SEPARATOR_S, NULL);
		g_free(d);
		if (read_more(fd, buf, CSIP_MSRC_MAX_JSON + 1, &eof) < 0)
			goto io;
		rc = load_json(c, buf->str, buf->len, f, base, depth);
		goto out;
	}
	if (depth == 0)
		c->st->format = CSIP_MSRC_LIST;
	/* Line by line. */
	for (;;) {
		size_t used = list_lines(c, buf->str, buf->len, eof);

		total += used;
		g_string_erase(buf, 0, (gssize)used);
		if (eof)
			break;
		if (total + buf->len > CSIP_MSRC_MAX_LIST) {
			rc = csip_error_set(CSIP_ETOOBIG, "%s: the indicator "
				"list is larger than 1 GiB; split it",
				open_path);
			goto out;
		}
		if (read_more(fd, buf, buf->len + CHUNK, &eof) < 0)
			goto io;
	}
	goto out;
io:
	rc = csip_error_set(CSIP_EIO, "%s: %s", open_path, g_strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	g_string_free(buf, TRUE);
	g_free(dir);
	g_free(base);
	return rc;
}

static int
read_url(lctx *c, const char *url, csip_match_src_format f, int depth)
{
	GString *body = NULL;
	char *u = NULL, *base = NULL;
	const char *slash;
	int rc;

	/* A folder URL is a MISP feed: its manifest says what to read. */
	if (g_str_has_suffix(url, "/"))
		url = u = g_strconcat(url, "manifest.json", NULL);
	c->name = url;
	if ((rc = fetch(url, CSIP_MSRC_MAX_JSON, &body)) < 0)
		goto out;
	if ((f == CSIP_MSRC_AUTO ? csip_match_src_detect(body->str,
	     body->len) : f) == CSIP_MSRC_LIST) {
		if (depth == 0)
			c->st->format = CSIP_MSRC_LIST;
		list_lines(c, body->str, body->len, 1);
		goto out;
	}
	slash = strrchr(url, '/');
	base = g_strndup(url, (size_t)(slash - url) + 1);
	rc = load_json(c, body->str, body->len, f, base, depth);
out:
	if (body)
		g_string_free(body, TRUE);
	g_free(u);
	g_free(base);
	return rc;
}

static int
read_source(lctx *c, const char *where, csip_match_src_format f, int depth)
{
	c->name = where;
	c->vcol = c->tcol = c->icol = c->pcol = -1;
	c->header = 1;
	c->lineno = 0;
	return is_url(where) ? read_url(c, where, f, depth) :
		read_file(c, where, f, depth);
}

int
csip_match_src_load(csip_match_set *s, const char *where,
		    csip_match_src_format f, csip_bad_indicator_fn bad,
		    void *ud, csip_match_src_stats *stats)
{
	csip_match_src_cb cb = { bad, ud, NULL, NULL };

	return csip_match_src_load_cb(s, where, f, &cb, stats);
}

int
csip_match_src_load_cb(csip_match_set *s, const char *where,
		       csip_match_src_format f, const csip_match_src_cb *cb,
		       csip_match_src_stats *stats)
{
	lctx c = context(s, where, cb, stats);

	memset(stats, 0, sizeof(*stats));
	stats->format = f;
	return read_source(&c, where, f, 0);
}

int
csip_match_set_load(csip_match_set *s, const char *path,
		    csip_bad_indicator_fn bad, void *ud, size_t *added,
		    size_t *skipped)
{
	csip_match_src_stats st;
	int rc = csip_match_src_load(s, path, CSIP_MSRC_AUTO, bad, ud, &st);

	*added = st.added;
	*skipped = st.skipped;
	return rc;
}
