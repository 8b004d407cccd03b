/*
 * stix.c - STIX 2.1 out and in (see stix.h): deterministic ids (UUIDv5),
 * STIX patterns and a recursive-descent parser of the pattern grammar,
 * shared items as STIX objects and streamed bundles, and bundles submitted
 * as reports.
 *
 * What goes out is built only from the view csip_item_get/list gives the
 * reader, so the policy decides everything an export contains; the
 * provider's name, which that view may carry, is never used: every object
 * is created by the hub's identity.  Malware and campaigns come from the
 * item's tags "malware:NAME" and "campaign:NAME"; sightings are the
 * feedback counts, which name no one.
 */
#include "lib/stix.h"
#include "lib/extract.h"
#include "lib/indicator.h"
#include "util/error.h"

#include <glib.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* STIX 2.1 §2.9: the namespace of SCO ids. */
static const uint8_t sco_ns[16] = {
	0x00, 0xab, 0xed, 0xb4, 0xaa, 0x42, 0x46, 0x6c,
	0x9c, 0x01, 0xfe, 0xd2, 0x33, 0x15, 0xa9, 0xb7
};

/* Caps on what an import accepts, checked before the work. */
#define MAX_OBJECTS      100000
#define MAX_PATTERN      (64 * 1024)
#define MAX_DEPTH        64       /* nesting of parentheses in a pattern */
#define MAX_PATH         16       /* object path components we remember */
#define MAX_SUBJECT      120

/* The identity's fixed timestamps: the hub's identity does not change
 * between exports, so neither may its created/modified. */
#define IDENTITY_TIME    "2020-01-01T00:00:00.000Z"

/* ---- UUIDv5 ---------------------------------------------------------- */

void
csip_stix_uuid5(const uint8_t ns[16], const void *name, size_t len,
		char out[37])
{
	GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA1);
	uint8_t d[20];
	gsize dlen = sizeof d;

	g_checksum_update(ck, ns, 16);
	g_checksum_update(ck, name, (gssize)len);
	g_checksum_get_digest(ck, d, &dlen);
	g_checksum_free(ck);
	d[6] = (uint8_t)((d[6] & 0x0f) | 0x50);     /* version 5 */
	d[8] = (uint8_t)((d[8] & 0x3f) | 0x80);     /* RFC 4122 variant */
	g_snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		   "%02x%02x%02x%02x%02x%02x", d[0], d[1], d[2], d[3], d[4],
		   d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13],
		   d[14], d[15]);
}

/* "TYPE--UUIDv5(NS, NAME)"; g_free(). */
static char *
make_id(const uint8_t ns[16], const char *type, const char *name)
{
	char u[37];

	csip_stix_uuid5(ns, name, strlen(name), u);
	return g_strconcat(type, "--", u, NULL);
}

/* The namespace of the hub's SDO/SRO ids: a keyed hash of the hub key, so
 * ids are stable for one hub, differ between hubs, and reveal nothing of
 * the key. */
static void
hub_ns(csip_hub *h, uint8_t ns[16])
{
	static const char label[] = "csip stix 2.1 object namespace";

	crypto_generichash(ns, 16, (const unsigned char *)label,
			   sizeof label - 1, csip_hub_key(h), CSIP_KEY_BYTES);
}

/* ---- RFC 8785 canonical JSON (for SCO ids) -------------------------- */

static void
jcs_string(GString *b, const char *s)
{
	g_string_append_c(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '"': g_string_append(b, "\\\""); break;
		case '\\': g_string_append(b, "\\\\"); break;
		case '\b': g_string_append(b, "\\b"); break;
		case '\f': g_string_append(b, "\\f"); break;
		case '\n': g_string_append(b, "\\n"); break;
		case '\r': g_string_append(b, "\\r"); break;
		case '\t': g_string_append(b, "\\t"); break;
		default:
			if (c < 0x20)
				g_string_append_printf(b, "\\u%04x", c);
			else
				g_string_append_c(b, (char)c);
		}
	}
	g_string_append_c(b, '"');
}

static int
cmp_key(const void *a, const void *b)
{
	/* UTF-8 byte order equals UTF-16 code unit order for every key
	 * below U+E000, which covers the STIX property names. */
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Strings, integers, booleans, objects and arrays: what id-contributing
 * properties hold. */
static void
jcs(GString *b, json_t *v)
{
	size_t i, n;
	const char *k;
	json_t *e;

	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char **keys = g_new(const char *,
					    json_object_size(v) + 1);

		n = 0;
		json_object_foreach(v, k, e)
			keys[n++] = k;
		qsort(keys, n, sizeof *keys, cmp_key);
		g_string_append_c(b, '{');
		for (i = 0; i < n; i++) {
			if (i)
				g_string_append_c(b, ',');
			jcs_string(b, keys[i]);
			g_string_append_c(b, ':');
			jcs(b, json_object_get(v, keys[i]));
		}
		g_string_append_c(b, '}');
		g_free(keys);
		break;
	}
	case JSON_ARRAY:
		g_string_append_c(b, '[');
		json_array_foreach(v, i, e) {
			if (i)
				g_string_append_c(b, ',');
			jcs(b, e);
		}
		g_string_append_c(b, ']');
		break;
	case JSON_STRING:
		jcs_string(b, json_string_value(v));
		break;
	case JSON_INTEGER:
		g_string_append_printf(b, "%" JSON_INTEGER_FORMAT,
				       json_integer_value(v));
		break;
	case JSON_TRUE:
		g_string_append(b, "true");
		break;
	case JSON_FALSE:
		g_string_append(b, "false");
		break;
	default:
		g_string_append(b, "null");
	}
}

/* The SCO id of TYPE from its id-contributing properties PROPS. */
static char *
sco_id(const char *type, json_t *props)
{
	GString *b = g_string_new(NULL);
	char u[37];

	jcs(b, props);
	csip_stix_uuid5(sco_ns, b->str, b->len, u);
	g_string_free(b, TRUE);
	return g_strconcat(type, "--", u, NULL);
}

/* ---- patterns out ---------------------------------------------------- */

/* 'VALUE' with ' and \ escaped, the only escapes the grammar has. */
static void
quote(GString *b, const char *v)
{
	g_string_append_c(b, '\'');
	for (; *v; v++) {
		if (*v == '\'' || *v == '\\')
			g_string_append_c(b, '\\');
		g_string_append_c(b, *v);
	}
	g_string_append_c(b, '\'');
}

/* How each csip indicator type is written in STIX: the object path of a
 * pattern and the SCO with its property (NULL: no SCO). */
typedef struct stix_map {
	const char *type;       /* csip type name */
	const char *path;       /* object path of the pattern */
	const char *sco;        /* SCO type */
	const char *prop;       /* SCO property; "hashes:NAME" for hashes */
} stix_map;

static const stix_map maps[] = {
	{ "domain", "domain-name:value", "domain-name", "value" },
	{ "hostname", "domain-name:value", "domain-name", "value" },
	{ "ipv4", "ipv4-addr:value", "ipv4-addr", "value" },
	{ "cidr4", "ipv4-addr:value", "ipv4-addr", "value" },
	{ "ipv6", "ipv6-addr:value", "ipv6-addr", "value" },
	{ "cidr6", "ipv6-addr:value", "ipv6-addr", "value" },
	{ "url", "url:value", "url", "value" },
	{ "email", "email-addr:value", "email-addr", "value" },
	{ "md5", "file:hashes.MD5", "file", "hashes:MD5" },
	{ "sha1", "file:hashes.'SHA-1'", "file", "hashes:SHA-1" },
	{ "sha256", "file:hashes.'SHA-256'", "file", "hashes:SHA-256" },
	{ "sha512", "file:hashes.'SHA-512'", "file", "hashes:SHA-512" },
	{ "ssdeep", "file:hashes.SSDEEP", "file", "hashes:SSDEEP" },
	{ "filename", "file:name", "file", "name" },
	{ "asn", "autonomous-system:number", "autonomous-system", "number" },
	{ "mutex", "mutex:name", "mutex", "name" },
	{ "regkey", "windows-registry-key:key", "windows-registry-key", "key" },
	{ "user-agent", "network-traffic:extensions.'http-request-ext'."
	  "request_header.'User-Agent'", NULL, NULL },
	{ "email-subject", "email-message:subject", "email-message",
	  "subject" },
	{ "x-mailer", "email-message:additional_header_fields.'X-Mailer'",
	  NULL, NULL },
	{ NULL, NULL, NULL, NULL }
};

static const stix_map *
map_of(const char *type)
{
	for (const stix_map *m = maps; type && m->type; m++)
		if (strcmp(m->type, type) == 0)
			return m;
	return NULL;
}

/* The number of "AS64496" (or "64496"), or -1. */
static int64_t
asn_number(const char *v)
{
	char *end;
	gint64 n;

	if (g_ascii_strncasecmp(v, "AS", 2) == 0)
		v += 2;
	if (!g_ascii_isdigit(*v))
		return -1;
	n = g_ascii_strtoll(v, &end, 10);
	if (*end || n < 0 || n > 4294967295LL)
		return -1;
	return n;
}

static int hash_ok(const char *name, const char *v);

char *
csip_stix_pattern(const char *type, const char *value)
{
	const stix_map *m = map_of(type);
	GString *b;

	if (m == NULL || value == NULL || *value == '\0' ||
	    !g_utf8_validate(value, -1, NULL))
		return NULL;
	b = g_string_new("[");
	g_string_append(b, m->path);
	g_string_append(b, " = ");
	if (strcmp(m->type, "asn") == 0) {
		int64_t n = asn_number(value);

		if (n < 0) {
			g_string_free(b, TRUE);
			return NULL;
		}
		g_string_append_printf(b, "%" PRId64, n);
	} else if (m->prop && g_str_has_prefix(m->prop, "hashes:") &&
		   !hash_ok(m->prop + 7, value)) {
		/* The grammar's validators check hash values: a pattern with
		 * a malformed one would be refused by every reader. */
		g_string_free(b, TRUE);
		return NULL;
	} else {
		quote(b, value);
	}
	g_string_append_c(b, ']');
	return g_string_free(b, FALSE);
}

/* ---- the pattern grammar (STIX 2.1 §9) ------------------------------- */

typedef enum {
	T_EOF, T_LBRACK, T_RBRACK, T_LPAREN, T_RPAREN, T_COLON, T_DOT,
	T_COMMA, T_STAR, T_EQ, T_NEQ, T_LT, T_LE, T_GT, T_GE,
	T_AND, T_OR, T_NOT, T_FOLLOWEDBY, T_LIKE, T_MATCHES, T_ISSUPERSET,
	T_ISSUBSET, T_EXISTS, T_LAST, T_IN, T_START, T_STOP, T_SECONDS,
	T_WITHIN, T_REPEATS, T_TIMES, T_BOOL,
	T_IDENT,        /* [a-zA-Z_][a-zA-Z0-9_]* */
	T_IDENT_HYPHEN, /* [a-zA-Z_][a-zA-Z0-9_-]* with a hyphen */
	T_STRING, T_INT_POS, T_INT_NEG, T_FLOAT_POS, T_FLOAT_NEG,
	T_HEX, T_BINARY, T_TIMESTAMP,
	T_OTHER         /* + - ^ / and other characters no rule takes */
} tok_kind;

static const struct { const char *word; tok_kind kind; } keywords[] = {
	{ "AND", T_AND }, { "OR", T_OR }, { "NOT", T_NOT },
	{ "FOLLOWEDBY", T_FOLLOWEDBY }, { "LIKE", T_LIKE },
	{ "MATCHES", T_MATCHES }, { "ISSUPERSET", T_ISSUPERSET },
	{ "ISSUBSET", T_ISSUBSET }, { "EXISTS", T_EXISTS }, { "LAST", T_LAST },
	{ "IN", T_IN }, { "START", T_START }, { "STOP", T_STOP },
	{ "SECONDS", T_SECONDS }, { "WITHIN", T_WITHIN },
	{ "REPEATS", T_REPEATS }, { "TIMES", T_TIMES },
	{ "true", T_BOOL }, { "false", T_BOOL }, { NULL, T_EOF }
};

typedef enum { OP_EQ, OP_NEQ, OP_LT, OP_LE, OP_GT, OP_GE, OP_IN, OP_LIKE,
	OP_MATCHES, OP_ISSUBSET, OP_ISSUPERSET, OP_EXISTS } cmp_op;

/* One comparison, reported to the caller of the parser. */
typedef struct pcmp {
	const char *objtype;
	const char *comp[MAX_PATH];   /* keys unquoted, "[*]", "[0]" */
	int ncomp;
	int truncated;                /* the path was longer than MAX_PATH */
	cmp_op op;
	int negated;
	tok_kind lit;                 /* the literal's kind (T_EOF: none) */
	const char *value;            /* strings unescaped; others as
				       * written */
} pcmp;

typedef int (*pcmp_fn)(const pcmp *c, void *ud);

typedef struct parser {
	const char *src;
	size_t pos;                   /* of the next character to lex */
	tok_kind kind;                /* the current token */
	size_t tpos, tlen;            /* where it is */
	char *text;                   /* strings unescaped, else as written */
	GStringChunk *chunk;          /* texts of the current comparison */
	int depth;
	pcmp_fn fn;
	void *ud;
} parser;

static int
perr(parser *p, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
perr(parser *p, size_t at, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	int rc;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	rc = csip_error_set(CSIP_EINVAL, "STIX pattern, character %zu: %s "
			    "(STIX 2.1 section 9 gives the grammar)", at + 1,
			    msg);
	g_free(msg);
	(void)p;
	return rc;
}

/* The grammar's whitespace: ASCII and the Unicode spaces it lists. */
static size_t
space_len(const char *s)
{
	gunichar c;

	if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' ||
	    *s == '\v' || *s == '\f')
		return 1;
	if ((unsigned char)*s < 0x80)
		return 0;
	c = g_utf8_get_char(s);
	if (c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 &&
	    c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
	    c == 0x205f || c == 0x3000)
		return (size_t)(g_utf8_next_char(s) - s);
	return 0;
}

static int
is_b64(char c)
{
	return g_ascii_isalnum(c) || c == '+' || c == '/';
}

static int
digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (!g_ascii_isdigit(s[i]))
			return 0;
	return 1;
}

/* Length of the timestamp literal t'...' at S, or 0 when it is not one:
 * the lexer's rule checks each field's range, not only its digits. */
static size_t
lex_timestamp(const char *s)
{
	const char *q = s + 2;
	int mo, d, hh, mi, se;

	if (!digits(q, 4) || q[4] != '-' || !digits(q + 5, 2) || q[7] != '-'
	    || !digits(q + 8, 2) || q[10] != 'T' || !digits(q + 11, 2) ||
	    q[13] != ':' || !digits(q + 14, 2) || q[16] != ':' ||
	    !digits(q + 17, 2))
		return 0;
	mo = (q[5] - '0') * 10 + q[6] - '0';
	d = (q[8] - '0') * 10 + q[9] - '0';
	hh = (q[11] - '0') * 10 + q[12] - '0';
	mi = (q[14] - '0') * 10 + q[15] - '0';
	se = (q[17] - '0') * 10 + q[18] - '0';
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || hh > 23 || mi > 59 ||
	    se > 60)
		return 0;
	q += 19;
	if (*q == '.') {
		if (!g_ascii_isdigit(q[1]))
			return 0;
		for (q++; g_ascii_isdigit(*q); q++)
			;
	}
	if (q[0] != 'Z' || q[1] != '\'')
		return 0;
	return (size_t)(q + 2 - s);
}

static size_t
lex_hex(const char *s)
{
	const char *q = s + 2;

	while (g_ascii_isxdigit(q[0]) && g_ascii_isxdigit(q[1]))
		q += 2;
	return *q == '\'' ? (size_t)(q + 1 - s) : 0;
}

/* b'...': groups of four base64 characters, the last one possibly padded;
 * at least one group. */
static size_t
lex_binary(const char *s)
{
	const char *q = s + 2;
	size_t n = 0;

	while (is_b64(*q)) {
		q++;
		n++;
	}
	if (*q == '=' && n % 4 == 2 && q[1] == '=')
		q += 2, n += 2;
	else if (*q == '=' && n % 4 == 3)
		q++, n++;
	if (n == 0 || n % 4 || *q != '\'')
		return 0;
	return (size_t)(q + 1 - s);
}

/* Read the next token into P. */
static int
lex(parser *p)
{
	const char *s;
	size_t n;

	g_clear_pointer(&p->text, g_free);
	for (;;) {
		s = p->src + p->pos;
		if ((n = space_len(s)) > 0) {
			p->pos += n;
		} else if (s[0] == '/' && s[1] == '*') {
			const char *e = strstr(s + 2, "*/");

			if (e == NULL)
				return perr(p, p->pos, "a comment /* is never "
					    "closed");
			p->pos = (size_t)(e + 2 - p->src);
		} else if (s[0] == '/' && s[1] == '/') {
			p->pos += strcspn(s, "\r\n");
		} else {
			break;
		}
	}
	p->tpos = p->pos;
	n = 1;
	switch (*s) {
	case '\0': p->kind = T_EOF; n = 0; break;
	case '[': p->kind = T_LBRACK; break;
	case ']': p->kind = T_RBRACK; break;
	case '(': p->kind = T_LPAREN; break;
	case ')': p->kind = T_RPAREN; break;
	case ':': p->kind = T_COLON; break;
	case ',': p->kind = T_COMMA; break;
	case '*': p->kind = T_STAR; break;
	case '=': p->kind = T_EQ; n = s[1] == '=' ? 2 : 1; break;
	case '!':
		if (s[1] != '=')
			return perr(p, p->pos, "'!' must be followed by '=' "
				    "(the != operator)");
		p->kind = T_NEQ;
		n = 2;
		break;
	case '<':
		p->kind = s[1] == '=' ? T_LE : s[1] == '>' ? T_NEQ : T_LT;
		n = s[1] == '=' || s[1] == '>' ? 2 : 1;
		break;
	case '>': p->kind = s[1] == '=' ? T_GE : T_GT; n = s[1] == '=' ? 2
		: 1; break;
	case '\'': {
		GString *b = g_string_new(NULL);
		const char *q = s + 1;

		for (; *q && *q != '\''; q++) {
			if (*q == '\\') {
				if (q[1] != '\'' && q[1] != '\\') {
					g_string_free(b, TRUE);
					return perr(p, (size_t)(q - p->src),
						"in a string only \\' and \\\\ "
						"are escapes: write a "
						"backslash as \\\\");
				}
				q++;
			}
			g_string_append_c(b, *q);
		}
		if (*q != '\'') {
			g_string_free(b, TRUE);
			return perr(p, p->pos, "a string is never closed: end "
				    "it with '");
		}
		p->kind = T_STRING;
		p->text = g_string_free(b, FALSE);
		n = (size_t)(q + 1 - s);
		break;
	}
	default:
		if ((s[0] == 't' || s[0] == 'h' || s[0] == 'b') &&
		    s[1] == '\'') {
			n = s[0] == 't' ? lex_timestamp(s) : s[0] == 'h'
				? lex_hex(s) : lex_binary(s);
			if (n == 0)
				return perr(p, p->pos, "%s", s[0] == 't' ?
					"not a valid timestamp t'YYYY-MM-DDThh:"
					"mm:ss[.s+]Z'" : s[0] == 'h' ? "not a "
					"valid hex literal h'..' (pairs of hex "
					"digits)" : "not a valid base64 "
					"literal b'...'");
			p->kind = s[0] == 't' ? T_TIMESTAMP : s[0] == 'h'
				? T_HEX : T_BINARY;
		} else if (g_ascii_isalpha(*s) || *s == '_') {
			int hyphen = 0;

			for (n = 1; g_ascii_isalnum(s[n]) || s[n] == '_' ||
			     s[n] == '-'; n++)
				hyphen |= s[n] == '-';
			p->kind = hyphen ? T_IDENT_HYPHEN : T_IDENT;
			for (int i = 0; !hyphen && keywords[i].word; i++)
				if (strlen(keywords[i].word) == n &&
				    memcmp(keywords[i].word, s, n) == 0)
					p->kind = keywords[i].kind;
		} else if (g_ascii_isdigit(*s) || *s == '.' || *s == '+' ||
			   *s == '-') {
			const char *q = s;
			int neg = *q == '-', lead;

			if (*q == '+' || *q == '-')
				q++;
			lead = *q == '0';
			while (g_ascii_isdigit(*q))
				q++;
			if (*q == '.' && g_ascii_isdigit(q[1])) {
				for (q++; g_ascii_isdigit(*q); q++)
					;
				p->kind = neg ? T_FLOAT_NEG : T_FLOAT_POS;
			} else if (q > s + (s[0] == '+' || s[0] == '-')) {
				if (lead && q - s > 1 + (s[0] == '+' ||
							 s[0] == '-'))
					return perr(p, p->pos, "an integer may "
						    "not start with 0");
				p->kind = neg ? T_INT_NEG : T_INT_POS;
			} else {
				p->kind = *s == '.' ? T_DOT : T_OTHER;
				q = s + 1;
			}
			n = (size_t)(q - s);
		} else {
			p->kind = T_OTHER;
			n = (size_t)(g_utf8_next_char(s) - s);
		}
	}
	p->tlen = n;
	if (p->text == NULL && p->kind != T_EOF)
		p->text = g_strndup(s, n);
	p->pos += n;
	return CSIP_OK;
}

/* What the current token is, for messages. */
static const char *
found(parser *p)
{
	return p->kind == T_EOF ? "the end of the pattern" : p->text;
}

static int
expect(parser *p, tok_kind k, const char *what)
{
	if (p->kind != k)
		return perr(p, p->tpos, "expected %s, found '%s'", what,
			    found(p));
	return lex(p);
}

static int is_literal(tok_kind k, int orderable)
{
	switch (k) {
	case T_INT_POS: case T_INT_NEG: case T_FLOAT_POS: case T_FLOAT_NEG:
	case T_STRING: case T_BINARY: case T_HEX: case T_TIMESTAMP:
		return 1;
	case T_BOOL:
		return !orderable;
	default:
		return 0;
	}
}

/* The length of a hash by its name, as STIX's validator checks them
 * (name upper-cased, hyphens removed); 0 for an unknown algorithm, -1 for
 * SSDEEP, which has its own form. */
static int
hash_len(const char *name)
{
	static const struct { const char *n; int len; } h[] = {
		{ "MD5", 32 }, { "SHA1", 40 }, { "SHA224", 56 },
		{ "SHA256", 64 }, { "SHA384", 96 }, { "SHA512", 128 },
		{ "SHA3224", 56 }, { "SHA3256", 64 }, { "SHA3384", 96 },
		{ "SHA3512", 128 }, { "RIPEMD160", 40 }, { "WHIRLPOOL", 128 },
		{ "TLSH", 70 }, { "SSDEEP", -1 }, { NULL, 0 }
	};
	char norm[32];
	size_t j = 0;

	for (const char *c = name; *c && j < sizeof norm - 1; c++)
		if (*c != '-')
			norm[j++] = g_ascii_toupper(*c);
	norm[j] = '\0';
	for (int i = 0; h[i].n; i++)
		if (strcmp(h[i].n, norm) == 0)
			return h[i].len;
	return 0;
}

/* [0-9]*:[a-zA-Z0-9/+]*:[a-zA-Z0-9/+]* (the OASIS validator's form). */
static int
ssdeep_ok(const char *v)
{
	v += strspn(v, "0123456789");
	for (int part = 0; part < 2; part++) {
		if (*v++ != ':')
			return 0;
		while (is_b64(*v))
			v++;
	}
	return *v == '\0';
}

/* Whether V is a valid hash of algorithm NAME (any value for an
 * algorithm the validators do not know). */
static int
hash_ok(const char *name, const char *v)
{
	int len = hash_len(name);

	if (len == 0)
		return 1;
	if (len < 0)
		return ssdeep_ok(v);
	return strlen(v) == (size_t)len &&
		strspn(v, "0123456789abcdefABCDEF") == (size_t)len;
}

/* A string compared with a hash must look like that hash. */
static int
check_hash(parser *p, const pcmp *c, const char *v, size_t at)
{
	int in_hashes = 0;
	const char *last;

	if (c->ncomp == 0 || c->truncated)
		return CSIP_OK;
	for (int i = 0; i < c->ncomp; i++)
		in_hashes |= strcmp(c->comp[i], "hashes") == 0;
	last = c->comp[c->ncomp - 1];
	if (!in_hashes || last[0] == '[' || hash_ok(last, v))
		return CSIP_OK;
	return perr(p, at, "'%.80s' is not a valid %s hash", v, last);
}

static int comparison_or(parser *p);

static int
object_path(parser *p, pcmp *c)
{
	int rc;

	if (p->kind != T_IDENT && p->kind != T_IDENT_HYPHEN)
		return perr(p, p->tpos, "expected an object type such as "
			    "file or domain-name, found '%s'", found(p));
	c->objtype = g_string_chunk_insert(p->chunk, p->text);
	if ((rc = lex(p)) < 0 || (rc = expect(p, T_COLON, "':' after the "
					      "object type")) < 0)
		return rc;
	if (p->kind != T_IDENT && p->kind != T_STRING)
		return perr(p, p->tpos, "expected a property name (letters, "
			    "digits and _, or quoted), found '%s'", found(p));
	c->comp[c->ncomp++] = g_string_chunk_insert(p->chunk, p->text);
	if ((rc = lex(p)) < 0)
		return rc;
	for (;;) {
		const char *step;

		if (p->kind == T_DOT) {
			if ((rc = lex(p)) < 0)
				return rc;
			if (p->kind != T_IDENT && p->kind != T_STRING)
				return perr(p, p->tpos, "expected a property "
					    "name after '.', found '%s'",
					    found(p));
			step = g_string_chunk_insert(p->chunk, p->text);
		} else if (p->kind == T_LBRACK) {
			char *idx;

			if ((rc = lex(p)) < 0)
				return rc;
			if (p->kind != T_INT_POS && p->kind != T_INT_NEG &&
			    p->kind != T_STAR)
				return perr(p, p->tpos, "expected a list index "
					    "(an integer or *), found '%s'",
					    found(p));
			idx = g_strconcat("[", p->text, "]", NULL);
			step = g_string_chunk_insert(p->chunk, idx);
			g_free(idx);
			if ((rc = lex(p)) < 0 || (rc = expect(p, T_RBRACK,
					"']' after the list index")) < 0)
				return rc;
			goto add;
		} else {
			return CSIP_OK;
		}
		if ((rc = lex(p)) < 0)
			return rc;
add:
		if (c->ncomp < MAX_PATH)
			c->comp[c->ncomp++] = step;
		else
			c->truncated = 1;
	}
}

/* One literal of KIND allowed by ORDERABLE, reported as one comparison. */
static int
literal(parser *p, pcmp *c, int orderable)
{
	size_t at = p->tpos;
	int rc;

	if (!is_literal(p->kind, orderable))
		return perr(p, p->tpos, "expected %s, found '%s'", orderable ?
			    "a string, number, timestamp, h'hex' or b'base64' "
			    "literal" : "a literal (string, number, true/false,"
			    " timestamp, h'hex' or b'base64')", found(p));
	c->lit = p->kind;
	c->value = g_string_chunk_insert(p->chunk, p->text);
	if (p->kind == T_STRING && (c->op == OP_EQ || c->op == OP_NEQ ||
				    c->op == OP_IN) &&
	    (rc = check_hash(p, c, c->value, at)) < 0)
		return rc;
	if (p->fn && (rc = p->fn(c, p->ud)) < 0)
		return rc;
	return lex(p);
}

static int
prop_test(parser *p)
{
	pcmp c = { 0 };
	int rc;

	if (p->kind == T_LPAREN) {
		if (++p->depth > MAX_DEPTH)
			return perr(p, p->tpos, "parentheses nested deeper "
				    "than %d", MAX_DEPTH);
		if ((rc = lex(p)) < 0 || (rc = comparison_or(p)) < 0)
			return rc;
		p->depth--;
		return expect(p, T_RPAREN, "')' or AND/OR");
	}
	if (p->kind == T_EXISTS) {
		if ((rc = lex(p)) < 0 || (rc = object_path(p, &c)) < 0)
			return rc;
		c.op = OP_EXISTS;
		return p->fn ? p->fn(&c, p->ud) : CSIP_OK;
	}
	if ((rc = object_path(p, &c)) < 0)
		return rc;
	if (p->kind == T_NOT) {
		c.negated = 1;
		if ((rc = lex(p)) < 0)
			return rc;
	}
	switch (p->kind) {
	case T_EQ: case T_NEQ:
		c.op = p->kind == T_EQ ? OP_EQ : OP_NEQ;
		if ((rc = lex(p)) < 0)
			return rc;
		return literal(p, &c, 0);
	case T_LT: case T_LE: case T_GT: case T_GE:
		c.op = p->kind == T_LT ? OP_LT : p->kind == T_LE ? OP_LE :
			p->kind == T_GT ? OP_GT : OP_GE;
		if ((rc = lex(p)) < 0)
			return rc;
		return literal(p, &c, 1);
	case T_IN:
		c.op = OP_IN;
		if ((rc = lex(p)) < 0 || (rc = expect(p, T_LPAREN, "'(' "
						      "opening the set")) < 0)
			return rc;
		if (p->kind == T_RPAREN)
			return lex(p);
		for (;;) {
			if ((rc = literal(p, &c, 0)) < 0)
				return rc;
			if (p->kind != T_COMMA)
				break;
			if ((rc = lex(p)) < 0)
				return rc;
		}
		return expect(p, T_RPAREN, "',' or ')' closing the set");
	case T_LIKE: case T_MATCHES: case T_ISSUBSET: case T_ISSUPERSET:
		c.op = p->kind == T_LIKE ? OP_LIKE : p->kind == T_MATCHES ?
			OP_MATCHES : p->kind == T_ISSUBSET ? OP_ISSUBSET :
			OP_ISSUPERSET;
		if ((rc = lex(p)) < 0)
			return rc;
		if (p->kind != T_STRING)
			return perr(p, p->tpos, "expected a quoted string, "
				    "found '%s'", found(p));
		return literal(p, &c, 1);
	default:
		return perr(p, p->tpos, "expected a comparison operator (=, !=,"
			    " <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, "
			    "ISSUPERSET), found '%s'", found(p));
	}
}

static int
comparison_and(parser *p)
{
	int rc;

	if ((rc = prop_test(p)) < 0)
		return rc;
	while (p->kind == T_AND)
		if ((rc = lex(p)) < 0 || (rc = prop_test(p)) < 0)
			return rc;
	return CSIP_OK;
}

static int
comparison_or(parser *p)
{
	int rc;

	if ((rc = comparison_and(p)) < 0)
		return rc;
	while (p->kind == T_OR)
		if ((rc = lex(p)) < 0 || (rc = comparison_and(p)) < 0)
			return rc;
	return CSIP_OK;
}

static int observations(parser *p);

/* An observation expression and its qualifiers.  A qualifier type may
 * appear once directly on a [..] expression (as the OASIS validator
 * checks); a parenthesised group may take any. */
static int
observation(parser *p)
{
	int simple = p->kind == T_LBRACK, seen = 0, rc;

	if (p->kind == T_LBRACK) {
		if ((rc = lex(p)) < 0 || (rc = comparison_or(p)) < 0 ||
		    (rc = expect(p, T_RBRACK, "']' or AND/OR")) < 0)
			return rc;
	} else if (p->kind == T_LPAREN) {
		if (++p->depth > MAX_DEPTH)
			return perr(p, p->tpos, "parentheses nested deeper "
				    "than %d", MAX_DEPTH);
		if ((rc = lex(p)) < 0 || (rc = observations(p)) < 0)
			return rc;
		p->depth--;
		if ((rc = expect(p, T_RPAREN, "')' or AND/OR/FOLLOWEDBY")) < 0)
			return rc;
	} else {
		return perr(p, p->tpos, "expected '[' starting an observation "
			    "expression (or '('), found '%s'", found(p));
	}
	for (;;) {
		size_t at = p->tpos;
		int bit;

		if (p->kind == T_WITHIN) {
			bit = 1;
			if ((rc = lex(p)) < 0)
				return rc;
			if (p->kind != T_INT_POS && p->kind != T_FLOAT_POS)
				return perr(p, p->tpos, "expected a positive "
					    "number after WITHIN, found '%s'",
					    found(p));
			if ((rc = lex(p)) < 0 || (rc = expect(p, T_SECONDS,
					"SECONDS after WITHIN n")) < 0)
				return rc;
		} else if (p->kind == T_REPEATS) {
			bit = 2;
			if ((rc = lex(p)) < 0)
				return rc;
			if (p->kind != T_INT_POS)
				return perr(p, p->tpos, "expected a positive "
					    "integer after REPEATS, found '%s'",
					    found(p));
			if ((rc = lex(p)) < 0 || (rc = expect(p, T_TIMES,
					"TIMES after REPEATS n")) < 0)
				return rc;
		} else if (p->kind == T_START) {
			bit = 4;
			if ((rc = lex(p)) < 0 || (rc = expect(p, T_TIMESTAMP,
					"a t'...' timestamp after START")) < 0
			    || (rc = expect(p, T_STOP, "STOP after START "
					    "t'...'")) < 0 ||
			    (rc = expect(p, T_TIMESTAMP, "a t'...' timestamp "
					 "after STOP")) < 0)
				return rc;
		} else {
			return CSIP_OK;
		}
		if (simple && (seen & bit))
			return perr(p, at, "a %s qualifier is applied twice to "
				    "one observation expression", bit == 1 ?
				    "WITHIN" : bit == 2 ? "REPEATS" :
				    "START/STOP");
		seen |= bit;
	}
}

static int
observations_and(parser *p)
{
	int rc;

	if ((rc = observation(p)) < 0)
		return rc;
	while (p->kind == T_AND)
		if ((rc = lex(p)) < 0 || (rc = observation(p)) < 0)
			return rc;
	return CSIP_OK;
}

static int
observations_or(parser *p)
{
	int rc;

	if ((rc = observations_and(p)) < 0)
		return rc;
	while (p->kind == T_OR)
		if ((rc = lex(p)) < 0 || (rc = observations_and(p)) < 0)
			return rc;
	return CSIP_OK;
}

static int
observations(parser *p)
{
	int rc;

	if ((rc = observations_or(p)) < 0)
		return rc;
	while (p->kind == T_FOLLOWEDBY)
		if ((rc = lex(p)) < 0 || (rc = observations_or(p)) < 0)
			return rc;
	return CSIP_OK;
}

/* Parse PATTERN, calling FN (may be NULL) for every comparison. */
static int
parse_pattern(const char *pattern, pcmp_fn fn, void *ud)
{
	parser p = { .src = pattern, .fn = fn, .ud = ud };
	size_t len;
	int rc;

	if (pattern == NULL)
		return csip_error_set(CSIP_EINVAL, "the STIX pattern is "
				      "missing: give one such as [domain-name:"
				      "value = 'evil.example']");
	len = strlen(pattern);
	if (len > MAX_PATTERN)
		return csip_error_set(CSIP_ETOOBIG, "the STIX pattern is %zu "
				      "bytes, more than the %d accepted: split "
				      "it into several indicators", len,
				      MAX_PATTERN);
	if (!g_utf8_validate(pattern, (gssize)len, NULL))
		return csip_error_set(CSIP_EINVAL, "the STIX pattern is not "
				      "valid UTF-8");
	p.chunk = g_string_chunk_new(256);
	if ((rc = lex(&p)) < 0 || (rc = observations(&p)) < 0)
		goto out;
	if (p.kind != T_EOF)
		rc = perr(&p, p.tpos, "expected AND, OR, FOLLOWEDBY, a "
			  "qualifier or the end of the pattern, found '%s'",
			  found(&p));
out:
	g_free(p.text);
	g_string_chunk_free(p.chunk);
	return rc;
}

int
csip_stix_pattern_check(const char *pattern)
{
	return parse_pattern(pattern, NULL, NULL);
}

/* ---- items as STIX objects ------------------------------------------- */

/* The TLP 2.0 marking definitions, exactly as OASIS publishes them
 * (cti-stix-common-objects, extension-definition-specifications/tlp-2.0):
 * consumers recognise them by these ids. */
#define TLP2_EXT "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
#define TLP2_CREATED "2022-10-01T00:00:00.000Z"

static const struct tlp_def {
	const char *tlp, *id, *name;
} tlp_defs[] = {
	{ "clear", "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
	  "TLP:CLEAR" },
	{ "green", "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
	  "TLP:GREEN" },
	{ "amber", "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
	  "TLP:AMBER" },
	{ "amber+strict",
	  "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
	  "TLP:AMBER+STRICT" },
	{ "red", "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
	  "TLP:RED" },
	{ NULL, NULL, NULL }
};

/* The definition of TLP; an unknown value is marked red, the narrowest,
 * so a bad row can only make sharing stricter. */
static const struct tlp_def *
tlp_def(const char *tlp)
{
	for (int i = 0; tlp && tlp_defs[i].tlp; i++)
		if (strcmp(tlp_defs[i].tlp, tlp) == 0)
			return &tlp_defs[i];
	return &tlp_defs[4];
}

static json_t *
marking_object(const struct tlp_def *d)
{
	return json_pack("{ss ss ss ss ss s{s{ss ss}}}", "type",
		"marking-definition", "spec_version", "2.1", "id", d->id,
		"created", TLP2_CREATED, "name", d->name, "extensions",
		TLP2_EXT, "extension_type", "property-extension", "tlp_2_0",
		d->tlp);
}

/* A STIX timestamp from csip's ISO 8601 text (whole seconds with ".000"
 * added; a publication time keeps its microseconds), or now when there is
 * none.  g_free(). */
static char *
stix_time(const char *t)
{
	char now[21];

	if (t == NULL || *t == '\0') {
		csip_store_now(now);
		t = now;
	}
	if (strlen(t) == 20 && t[19] == 'Z')
		return g_strdup_printf("%.19s.000Z", t);
	return g_strdup(t);
}

#define HUB_NAME "csip information-sharing hub"

/* The hub's identity ID, named as its participants know it: the display
 * name of the hub's organisation (the name MISP's feed gives as Orgc),
 * HUB_NAME when there is none.  Its modified time is the organisation's
 * last change, so a renamed hub is a new version.  *out is a new
 * reference. */
static int
identity_object(csip_hub *h, const char *id, json_t **out)
{
	csip_stmt *st = NULL;
	const char *name = HUB_NAME;
	char *modified = g_strdup(IDENTITY_TIME);
	int rc;

	*out = NULL;
	rc = csip_store_prepare_bind(csip_hub_store(h), &st, "SELECT "
		"display_name, updated_at FROM org WHERE role = 'hub' ORDER "
		"BY id LIMIT 1", NULL);
	if (rc < 0)
		goto out;
	if ((rc = csip_stmt_step(st)) == CSIP_ROW) {
		const char *n = csip_stmt_text(st, 0);
		char *t = stix_time(csip_stmt_text(st, 1));

		if (n && *n)
			name = n;
		if (strcmp(t, modified) > 0) {
			g_free(modified);
			modified = t;
			t = NULL;
		}
		g_free(t);
	} else if (rc != CSIP_DONE) {
		goto out;
	}
	rc = CSIP_OK;
	*out = json_pack("{ss ss ss ss ss ss ss ss}", "type", "identity",
		"spec_version", "2.1", "id", id, "created", IDENTITY_TIME,
		"modified", modified, "name", name, "identity_class",
		"organization", "description", "The hub that shared these "
		"objects on behalf of its anonymous participants.");
out:
	csip_stmt_free(st);
	g_free(modified);
	return rc;
}


/* What one item's conversion needs. */
typedef struct conv {
	uint8_t ns[16];
	char *identity;           /* the hub's identity id */
	json_t *ident;            /* the identity object, once loaded */
	const struct tlp_def *tlp;
	json_t *marks;            /* [tlp id] */
	json_t *out;              /* the objects */
	json_t *refs;             /* the report's object_refs */
	char *time;               /* created/modified of the item's objects */
} conv;

/* The common properties of an SDO/SRO of the item; steals O. */
static json_t *
sdo(conv *c, json_t *o)
{
	json_object_set_new(o, "spec_version", json_string("2.1"));
	json_object_set_new(o, "created", json_string(c->time));
	json_object_set_new(o, "modified", json_string(c->time));
	json_object_set_new(o, "created_by_ref", json_string(c->identity));
	json_object_set(o, "object_marking_refs", c->marks);
	return o;
}

static void
add(conv *c, json_t *o, int ref)
{
	if (ref)
		json_array_append(c->refs, json_object_get(o, "id"));
	json_array_append_new(c->out, o);
}

static void
relationship(conv *c, const char *src, const char *type, const char *dst)
{
	char *name = g_strconcat("relationship:", src, ":", type, ":", dst,
				 NULL);
	char *id = make_id(c->ns, "relationship", name);

	add(c, sdo(c, json_pack("{ss ss ss ss ss}", "type", "relationship",
		"id", id, "relationship_type", type, "source_ref", src,
		"target_ref", dst)), 1);
	g_free(id);
	g_free(name);
}

/* The SCO of one indicator (new reference), or NULL when STIX has no
 * object for its type. */
static json_t *
sco_object(const stix_map *m, const char *value, conv *c)
{
	json_t *props, *o;
	char *id;

	if (m->sco == NULL)
		return NULL;
	if (strcmp(m->type, "asn") == 0) {
		int64_t n = asn_number(value);

		if (n < 0)
			return NULL;
		props = json_pack("{sI}", "number", (json_int_t)n);
	} else if (g_str_has_prefix(m->prop, "hashes:")) {
		props = json_pack("{s{ss}}", "hashes", m->prop + 7, value);
	} else {
		props = json_pack("{ss}", m->prop, value);
	}
	if (props == NULL)
		return NULL;
	id = sco_id(m->sco, props);
	o = json_pack("{ss ss ss}", "type", m->sco, "spec_version", "2.1",
		      "id", id);
	json_object_update(o, props);
	if (strcmp(m->sco, "email-message") == 0)
		json_object_set_new(o, "is_multipart", json_false());
	json_object_set(o, "object_marking_refs", c->marks);
	json_decref(props);
	g_free(id);
	return o;
}

/* The objects of one item VIEW (as csip_item_get/list gave it) into
 * C->out.  Only the view's shared fields are read: title, analysis, tlp,
 * tags, published_at, indicators, feedback. */
static int
view_objects(conv *c, json_t *view)
{
	int64_t item = json_integer_value(json_object_get(view, "id"));
	json_t *tags = json_object_get(view, "tags");
	json_t *inds = json_object_get(view, "indicators");
	json_t *labels = json_array(), *threats = json_array();
	json_t *report, *e;
	const char *title = json_string_value(json_object_get(view, "title"));
	const char *analysis = json_string_value(json_object_get(view,
								 "analysis"));
	json_int_t sightings;
	char name[64], *rid = NULL, *first_ind = NULL;
	size_t i;

	c->tlp = tlp_def(json_string_value(json_object_get(view, "tlp")));
	c->marks = json_pack("[s]", c->tlp->id);
	c->refs = json_array();
	c->time = stix_time(json_string_value(json_object_get(view,
		"published_at")));
	if (c->ident == NULL)
		return csip_error_set(CSIP_ERR, "the hub's identity was not "
				      "loaded (conv_identity)");
	add(c, json_incref(c->ident), 0);
	add(c, marking_object(c->tlp), 0);

	/* Tags: malware:NAME and campaign:NAME become SDOs, the rest
	 * labels. */
	json_array_foreach(tags, i, e) {
		const char *t = json_string_value(e);
		const char *kind = NULL, *what = NULL;
		char *n, *id;
		json_t *o;

		if (t == NULL || *t == '\0')
			continue;
		if (g_str_has_prefix(t, "malware:") && t[8])
			kind = "malware", what = t + 8;
		else if (g_str_has_prefix(t, "campaign:") && t[9])
			kind = "campaign", what = t + 9;
		if (kind == NULL) {
			json_array_append_new(labels, json_string(t));
			continue;
		}
		n = g_strdup_printf("%s:%" PRId64 ":%s", kind, item, what);
		id = make_id(c->ns, kind, n);
		o = json_pack("{ss ss ss}", "type", kind, "id", id, "name",
			      what);
		if (strcmp(kind, "malware") == 0)
			json_object_set_new(o, "is_family", json_true());
		add(c, sdo(c, o), 1);
		json_array_append_new(threats, json_string(id));
		g_free(n);
		g_free(id);
	}

	json_array_foreach(inds, i, e) {
		const char *type = json_string_value(json_object_get(e,
								     "type"));
		const char *value = json_string_value(json_object_get(e,
								      "value"));
		const stix_map *m = map_of(type);
		char *pattern = csip_stix_pattern(type, value);
		char *n, *id;
		json_t *o, *obs, *t;
		size_t j;

		if (pattern == NULL)
			continue;
		n = g_strdup_printf("indicator:%" PRId64 ":%s:%s", item, type,
				    value);
		id = make_id(c->ns, "indicator", n);
		o = json_pack("{ss ss ss ss ss ss ss s[s]}", "type",
			"indicator", "id", id, "name", value, "pattern",
			pattern, "pattern_type", "stix", "pattern_version",
			"2.1", "valid_from", c->time, "indicator_types",
			"malicious-activity");
		add(c, sdo(c, o), 1);
		if (first_ind == NULL)
			first_ind = g_strdup(id);
		if ((obs = sco_object(m, value, c)) != NULL) {
			char *sid = g_strdup(json_string_value(
				json_object_get(obs, "id")));

			add(c, obs, 1);
			relationship(c, id, "based-on", sid);
			g_free(sid);
		}
		json_array_foreach(threats, j, t)
			relationship(c, id, "indicates", json_string_value(t));
		g_free(pattern);
		g_free(n);
		g_free(id);
	}

	g_snprintf(name, sizeof name, "item:%" PRId64, item);
	rid = make_id(c->ns, "report", name);
	sightings = json_integer_value(json_object_get(json_object_get(view,
		"feedback"), "sighting"));
	if (sightings > 0) {
		char *n = g_strdup_printf("sighting:%" PRId64, item);
		char *id = make_id(c->ns, "sighting", n);

		/* Counts only: who saw it is not shared (the givers are
		 * participants as anonymous as the providers). */
		add(c, sdo(c, json_pack("{ss ss ss sI sb ss}", "type",
			"sighting", "id", id, "sighting_of_ref", first_ind ?
			first_ind : rid, "count", MIN(sightings, 999999999),
			"summary", 1, "description", "Sightings reported by "
			"recipients of this item")), 1);
		g_free(n);
		g_free(id);
	}
	if (json_array_size(c->refs) == 0)
		json_array_append_new(c->refs, json_string(c->identity));
	report = json_pack("{ss ss ss ss s[s] sO}", "type", "report", "id",
		rid, "name", title && *title ? title : name, "published",
		c->time, "report_types", "threat-report", "object_refs",
		c->refs);
	if (analysis && *analysis)
		json_object_set_new(report, "description",
				    json_string(analysis));
	if (json_array_size(labels))
		json_object_set(report, "labels", labels);
	/* The report first after the identity and marking: readers that
	 * stream a bundle meet the container before its contents. */
	json_array_insert_new(c->out, 2, sdo(c, report));
	json_decref(labels);
	json_decref(threats);
	g_clear_pointer(&c->marks, json_decref);
	g_clear_pointer(&c->refs, json_decref);
	g_clear_pointer(&c->time, g_free);
	g_free(rid);
	g_free(first_ind);
	return CSIP_OK;
}

static void
conv_init(conv *c, csip_hub *h)
{
	memset(c, 0, sizeof *c);
	hub_ns(h, c->ns);
	c->identity = make_id(c->ns, "identity", "identity:hub");
}

/* C's identity object, loaded once (view_objects() needs it). */
static int
conv_identity(conv *c, csip_hub *h)
{
	return c->ident ? CSIP_OK : identity_object(h, c->identity,
						    &c->ident);
}

static void
conv_clear(conv *c)
{
	g_free(c->identity);
	json_decref(c->ident);
	json_decref(c->marks);
	json_decref(c->refs);
	json_decref(c->out);
	g_free(c->time);
}

int
csip_stix_item_objects(csip_hub *h, const csip_reader *r, int64_t id,
		       json_t **out)
{
	json_t *view = NULL;
	conv c;
	int rc;

	*out = NULL;
	conv_init(&c, h);
	if ((rc = conv_identity(&c, h)) < 0 ||
	    (rc = csip_item_get(h, r, id, &view)) < 0)
		goto out;
	c.out = json_array();
	if ((rc = view_objects(&c, view)) < 0)
		goto out;
	*out = c.out;
	c.out = NULL;
out:
	json_decref(view);
	conv_clear(&c);
	return rc;
}

/* ---- the object index ------------------------------------------------ */

static int
index_ind_row(csip_stmt *st, void *arr)
{
	json_array_append_new(arr, json_pack("{ss ss}", "type",
		csip_stmt_text(st, 0), "value", csip_stmt_text(st, 1)));
	return CSIP_OK;
}

int
csip_stix_index_item(csip_hub *h, int64_t id)
{
	csip_store *s = csip_hub_store(h);
	csip_stmt *st = NULL;
	json_t *view = NULL, *tags = NULL, *inds = json_array(), *o;
	char ib[24];
	size_t i;
	conv c;
	int rc;

	conv_init(&c, h);
	g_snprintf(ib, sizeof ib, "%" PRId64, id);
	if ((rc = conv_identity(&c, h)) < 0)
		goto out;
	rc = csip_store_prepare_bind(s, &st, "SELECT tlp, tags, published_at "
		"FROM item WHERE id = ?", ib, NULL);
	if (rc < 0)
		goto out;
	if ((rc = csip_stmt_step(st)) != CSIP_ROW) {
		if (rc == CSIP_DONE)
			rc = csip_error_set(CSIP_ENOTFOUND, "item %" PRId64
				" does not exist", id);
		goto out;
	}
	tags = json_loads(csip_stmt_text(st, 1), 0, NULL);
	if (!json_is_array(tags)) {
		json_decref(tags);
		tags = json_array();
	}
	if ((rc = csip_store_each(s, index_ind_row, inds, "SELECT type, value "
		"FROM item_indicator WHERE item_id = ?", ib, NULL)) < 0)
		goto out;
	/* The fields view_objects reads, which are the same for every
	 * reader.  A sighting is assumed: feedback may arrive after
	 * publication, and an indexed id the item does not carry (yet)
	 * only costs the lookup one item's objects, where a missing one
	 * would hide the object. */
	view = json_pack("{sI ss s:s? sO sO s{si}}", "id", (json_int_t)id,
		"tlp", csip_stmt_text(st, 0), "published_at",
		csip_stmt_text(st, 2), "tags", tags, "indicators", inds,
		"feedback", "sighting", 1);
	c.out = json_array();
	if ((rc = view_objects(&c, view)) < 0)
		goto out;
	json_array_foreach(c.out, i, o) {
		const char *type = json_string_value(json_object_get(o,
								     "type"));
		const char *oid = json_string_value(json_object_get(o, "id"));

		/* Every item carries these: answered without the index
		 * (csip_stix_common_object). */
		if (g_strcmp0(type, "identity") == 0 ||
		    g_strcmp0(type, "marking-definition") == 0 || oid == NULL)
			continue;
		if ((rc = csip_store_run(s, NULL, "INSERT INTO "
			"stix_object_item (object_id, item_id) VALUES (?, ?) "
			"ON CONFLICT DO NOTHING", oid, ib, NULL)) < 0)
			goto out;
	}
	rc = CSIP_OK;
out:
	csip_stmt_free(st);
	json_decref(view);
	json_decref(tags);
	json_decref(inds);
	conv_clear(&c);
	return rc;
}

static int
index_state(csip_store *s, int64_t *next, int64_t *last)
{
	int rc;

	if ((rc = csip_store_query_int64(s, next, "SELECT next_id FROM "
		"stix_index_state WHERE one = 1", NULL)) < 0)
		return rc;
	return csip_store_query_int64(s, last, "SELECT last_id FROM "
		"stix_index_state WHERE one = 1", NULL);
}

static int
id_row(csip_stmt *st, void *ud)
{
	int64_t v = csip_stmt_int64(st, 0);

	g_array_append_val((GArray *)ud, v);
	return CSIP_OK;
}

int
csip_stix_index_backfill(csip_hub *h, int batch, int64_t *left)
{
	csip_store *s = csip_hub_store(h);
	GArray *ids = g_array_new(FALSE, FALSE, sizeof(int64_t));
	int64_t next = 0, last = 0, upto;
	char nb[24], ub[24], lb[24];
	int rc;

	*left = 0;
	if (batch <= 0)
		batch = 1;
	/* Read inside the write transaction: another process may be
	 * filling the same range, and the index rows are idempotent. */
	if ((rc = csip_store_begin(s)) < 0)
		goto out;
	if ((rc = index_state(s, &next, &last)) < 0)
		goto done;
	if (next > last)
		goto done;
	upto = MIN(last, next + batch - 1);
	g_snprintf(nb, sizeof nb, "%" PRId64, next);
	g_snprintf(ub, sizeof ub, "%" PRId64, upto);
	/* Withdrawn items are never looked up again; drafts are indexed
	 * when they are published. */
	if ((rc = csip_store_each(s, id_row, ids, "SELECT id FROM item WHERE "
		"id >= ? AND id <= ? AND status = 'published' ORDER BY id", nb,
		ub, NULL)) < 0)
		goto done;
	for (guint i = 0; i < ids->len; i++)
		if ((rc = csip_stix_index_item(h, g_array_index(ids, int64_t,
							       i))) < 0)
			goto done;
	/* Advance only from the state this batch was read from: on
	 * PostgreSQL the transaction does not hold the state row, and a
	 * range reset meanwhile (an operator, another process) must not
	 * be skipped by a batch of the old range. */
	g_snprintf(ub, sizeof ub, "%" PRId64, upto + 1);
	g_snprintf(nb, sizeof nb, "%" PRId64, next);
	g_snprintf(lb, sizeof lb, "%" PRId64, last);
	if ((rc = csip_store_run(s, NULL, "UPDATE stix_index_state SET "
		"next_id = ? WHERE one = 1 AND next_id = ? AND last_id = ?",
		ub, nb, lb, NULL)) < 0)
		goto done;
	*left = last - upto;
done:
	if (rc == CSIP_OK)
		rc = csip_store_commit(s);
	else
		csip_store_rollback(s);
out:
	if (rc < 0)
		*left = 0;
	g_array_unref(ids);
	return rc;
}

int
csip_stix_object_items(csip_hub *h, const char *oid, int *complete,
		       GArray **out)
{
	csip_store *s = csip_hub_store(h);
	GArray *ids = NULL;
	int64_t next = 0, last = 0;
	int rc;

	*out = NULL;
	*complete = 0;
	if ((rc = index_state(s, &next, &last)) < 0)
		return rc;
	if (next <= last)
		return CSIP_OK;
	ids = g_array_new(FALSE, FALSE, sizeof(int64_t));
	if ((rc = csip_store_each(s, id_row, ids, "SELECT item_id FROM "
		"stix_object_item WHERE object_id = ?", oid, NULL)) < 0) {
		g_array_unref(ids);
		return rc;
	}
	*complete = 1;
	*out = ids;
	return CSIP_OK;
}

int
csip_stix_common_object(csip_hub *h, const char *oid, const char **tlp)
{
	conv c;
	int kind = 0;

	*tlp = NULL;
	conv_init(&c, h);
	if (strcmp(oid, c.identity) == 0)
		kind = 1;
	for (int i = 0; kind == 0 && tlp_defs[i].tlp; i++) {
		if (strcmp(oid, tlp_defs[i].id) == 0) {
			*tlp = tlp_defs[i].tlp;
			kind = 2;
		}
	}
	conv_clear(&c);
	return kind;
}

/* ---- bundles --------------------------------------------------------- */

static int
write_str(csip_write_fn w, void *ud, const char *s)
{
	return w(ud, s, strlen(s));
}

/* Write O as one element of the objects array. */
static int
write_object(csip_write_fn w, void *ud, json_t *o, int *first)
{
	char *s = json_dumps(o, JSON_COMPACT);
	int rc;

	if (s == NULL)
		return csip_error_set(CSIP_ERR, "a STIX object could not be "
				      "written as JSON");
	rc = *first ? CSIP_OK : w(ud, ",", 1);
	if (rc == CSIP_OK)
		rc = write_str(w, ud, s);
	*first = 0;
	free(s);
	return rc;
}

int
csip_stix_bundle(csip_hub *h, const csip_reader *r,
		 const csip_item_query *q, csip_write_fn w, void *ud)
{
	csip_item_query page = *q;
	GHashTable *once = g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, NULL);
	json_t *items = NULL, *ident = NULL;
	char *uuid = g_uuid_string_random(), *head;
	int64_t next = 0;
	int first = 1, rc;
	conv c;

	conv_init(&c, h);
	head = g_strconcat("{\"type\":\"bundle\",\"id\":\"bundle--", uuid,
			   "\",\"objects\":[", NULL);
	if ((rc = write_str(w, ud, head)) < 0)
		goto out;
	/* The hub's identity comes first, so even a reader who may see
	 * nothing gets a valid bundle (objects must not be empty). */
	if ((rc = conv_identity(&c, h)) < 0)
		goto out;
	ident = json_incref(c.ident);
	g_hash_table_add(once, g_strdup(c.identity));
	if ((rc = write_object(w, ud, ident, &first)) < 0)
		goto out;
	for (;;) {
		json_t *view;
		size_t i;

		if ((rc = csip_item_list(h, r, &page, &items, &next)) < 0)
			goto out;
		json_array_foreach(items, i, view) {
			json_t *o;
			size_t j;

			c.out = json_array();
			if ((rc = view_objects(&c, view)) < 0)
				goto out;
			json_array_foreach(c.out, j, o) {
				const char *type = json_string_value(
					json_object_get(o, "type"));
				const char *oid = json_string_value(
					json_object_get(o, "id"));

				/* The identity and the markings repeat in
				 * every item: write each once. */
				if (strcmp(type, "identity") == 0 ||
				    strcmp(type, "marking-definition") == 0) {
					if (g_hash_table_contains(once, oid))
						continue;
					g_hash_table_add(once, g_strdup(oid));
				}
				if ((rc = write_object(w, ud, o, &first)) < 0)
					goto out;
			}
			g_clear_pointer(&c.out, json_decref);
		}
		g_clear_pointer(&items, json_decref);
		if (next == 0)
			break;
		page.after_id = next;
	}
	rc = write_str(w, ud, "]}");
out:
	conv_clear(&c);
	json_decref(items);
	json_decref(ident);
	g_hash_table_destroy(once);
	g_free(uuid);
	g_free(head);
	return rc;
}

/* ---- bundles in ------------------------------------------------------ */

/* Types whose objects must carry spec_version (SDOs, SROs, SMOs); SCOs
 * and custom objects may leave it out. */
static const char *const versioned[] = { "attack-pattern", "campaign",
	"course-of-action", "grouping", "identity", "incident", "indicator",
	"infrastructure", "intrusion-set", "location", "malware",
	"malware-analysis", "note", "observed-data", "opinion", "report",
	"threat-actor", "tool", "vulnerability", "relationship", "sighting",
	"marking-definition", "language-content", "extension-definition",
	NULL };

static int
in_list(const char *v, const char *const *list)
{
	for (int i = 0; list[i]; i++)
		if (strcmp(list[i], v) == 0)
			return 1;
	return 0;
}

/* STIX 2.1 §2.9/§3.1: 3 to 250 characters of a-z, 0-9 and single inner
 * hyphens. */
static int
type_ok(const char *t)
{
	size_t n = strlen(t);

	if (n < 3 || n > 250 || t[0] == '-' || t[n - 1] == '-' ||
	    strstr(t, "--"))
		return 0;
	return strspn(t, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* TYPE--UUID with an RFC 4122 version (1-5) and variant, as the OASIS
 * identifier schema requires. */
static int
id_ok(const char *id, const char *type)
{
	size_t tl = strlen(type);
	const char *u;

	if (strncmp(id, type, tl) || strncmp(id + tl, "--", 2))
		return 0;
	u = id + tl + 2;
	if (strlen(u) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (u[i] != '-')
				return 0;
		} else if (!g_ascii_isxdigit(u[i])) {
			return 0;
		}
	}
	return u[14] >= '1' && u[14] <= '5' && strchr("89abAB", u[19]);
}

static int
timestamp_ok(json_t *v)
{
	const char *s = json_string_value(v);
	char *t;
	size_t n;

	if (s == NULL)
		return 0;
	/* The lexer's t'...' rule is the schema's timestamp pattern. */
	t = g_strdup_printf("t'%s'", s);
	n = lex_timestamp(t);
	g_free(t);
	return n == strlen(s) + 3;
}

/* The state of one import. */
typedef struct import {
	csip_extract_set *set;
	json_t *warnings;
	GHashTable *recipients;   /* email-addr ids a mail was sent to */
	const char *where;        /* "stix:indicator", ... */
	size_t index;             /* of the object being read */
	const char *id;
} import;

#define MAX_WARNINGS 100

static void
warn(import *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
warn(import *im, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (json_array_size(im->warnings) >= MAX_WARNINGS)
		return;
	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	json_array_append_new(im->warnings, json_sprintf("objects[%zu] (%s):"
		" %s", im->index, im->id, msg));
	g_free(msg);
}

/* Add VALUE as an observation when it parses as a type in MASK (bits of
 * csip_ind_type); HINT as for csip_indicator_parse. */
static void
take(import *im, const char *value, csip_ind_type hint, unsigned mask)
{
	csip_indicator *ind = NULL;

	if (value == NULL || *value == '\0')
		return;
	if (csip_extract_set_count(im->set) >= CSIP_EXTRACT_MAX_VALUES) {
		warn(im, "more than %u indicators: the rest are not stored",
		     CSIP_EXTRACT_MAX_VALUES);
		return;
	}
	if (csip_indicator_parse(value, strlen(value), hint, &ind) < 0) {
		warn(im, "'%.200s' skipped: %s", value, csip_error_last());
		csip_error_clear();
		return;
	}
	if (!(mask & (1u << ind->type))) {
		warn(im, "'%.200s' skipped: it is a %s here", value,
		     csip_ind_type_name(ind->type));
		csip_indicator_free(ind);
		return;
	}
	csip_extract_set_add(im->set, ind, im->where);
}

#define BIT(t) (1u << (t))
#define HOSTS (BIT(CSIP_IND_DOMAIN) | BIT(CSIP_IND_HOSTNAME))
#define IP4S (BIT(CSIP_IND_IPV4) | BIT(CSIP_IND_CIDR4))
#define IP6S (BIT(CSIP_IND_IPV6) | BIT(CSIP_IND_CIDR6))

/* The csip type of a hash name ("SHA-256", 'SHA256', "md5"). */
static csip_ind_type
hash_type(const char *name)
{
	static const struct { const char *n; csip_ind_type t; } h[] = {
		{ "MD5", CSIP_IND_MD5 }, { "SHA1", CSIP_IND_SHA1 },
		{ "SHA256", CSIP_IND_SHA256 }, { "SHA512", CSIP_IND_SHA512 },
		{ "SSDEEP", CSIP_IND_SSDEEP }, { NULL, CSIP_IND_UNKNOWN }
	};
	char norm[32];
	size_t j = 0;

	for (const char *c = name; *c && j < sizeof norm - 1; c++)
		if (*c != '-')
			norm[j++] = g_ascii_toupper(*c);
	norm[j] = '\0';
	for (int i = 0; h[i].n; i++)
		if (strcmp(h[i].n, norm) == 0)
			return h[i].t;
	return CSIP_IND_UNKNOWN;
}

/* The object path of C joined with '.', e.g. "hashes.SHA-256" or
 * "resolves_to_refs.[*].value". */
static int
path_is(const pcmp *c, const char *type, const char *path)
{
	GString *b;
	int eq;

	if (strcmp(c->objtype, type) || c->truncated)
		return 0;
	b = g_string_new(NULL);
	for (int i = 0; i < c->ncomp; i++) {
		if (i)
			g_string_append_c(b, '.');
		g_string_append(b, c->comp[i]);
	}
	eq = strcmp(b->str, path) == 0;
	g_string_free(b, TRUE);
	return eq;
}

/* A comparison of a pattern: an equality (or set membership) with a
 * known property is an indicator value. */
static int
pattern_value(const pcmp *c, void *ud)
{
	import *im = ud;
	const char *v = c->value;

	if (c->negated || (c->op != OP_EQ && c->op != OP_IN))
		return CSIP_OK;
	if (c->lit == T_INT_POS && path_is(c, "autonomous-system", "number")) {
		char *as = g_strconcat("AS", v[0] == '+' ? v + 1 : v, NULL);

		take(im, as, CSIP_IND_ASN, BIT(CSIP_IND_ASN));
		g_free(as);
		return CSIP_OK;
	}
	if (c->lit != T_STRING)
		return CSIP_OK;
	if (path_is(c, "domain-name", "value"))
		take(im, v, CSIP_IND_UNKNOWN, HOSTS);
	else if (path_is(c, "ipv4-addr", "value") ||
		 path_is(c, "domain-name", "resolves_to_refs.[*].value"))
		take(im, v, CSIP_IND_UNKNOWN, IP4S | IP6S);
	else if (path_is(c, "ipv6-addr", "value"))
		take(im, v, CSIP_IND_UNKNOWN, IP6S);
	else if (path_is(c, "network-traffic", "dst_ref.value") ||
		 path_is(c, "network-traffic", "src_ref.value"))
		take(im, v, CSIP_IND_UNKNOWN, IP4S | IP6S | HOSTS);
	else if (path_is(c, "url", "value"))
		take(im, v, CSIP_IND_URL, BIT(CSIP_IND_URL));
	else if (path_is(c, "email-addr", "value") ||
		 path_is(c, "email-message", "from_ref.value") ||
		 path_is(c, "email-message", "sender_ref.value"))
		/* Never to/cc/bcc: those are the recipients of the reported
		 * mail, which are never shared (invariant 4). */
		take(im, v, CSIP_IND_EMAIL, BIT(CSIP_IND_EMAIL));
	else if (path_is(c, "email-message", "subject"))
		take(im, v, CSIP_IND_EMAIL_SUBJECT,
		     BIT(CSIP_IND_EMAIL_SUBJECT));
	else if (path_is(c, "email-message",
			 "additional_header_fields.X-Mailer"))
		take(im, v, CSIP_IND_X_MAILER, BIT(CSIP_IND_X_MAILER));
	else if (path_is(c, "network-traffic", "extensions.http-request-ext."
			 "request_header.User-Agent"))
		take(im, v, CSIP_IND_USER_AGENT, BIT(CSIP_IND_USER_AGENT));
	else if (path_is(c, "file", "name"))
		take(im, v, CSIP_IND_FILENAME, BIT(CSIP_IND_FILENAME));
	else if (path_is(c, "mutex", "name"))
		take(im, v, CSIP_IND_MUTEX, BIT(CSIP_IND_MUTEX));
	else if (path_is(c, "windows-registry-key", "key"))
		take(im, v, CSIP_IND_REGKEY, BIT(CSIP_IND_REGKEY));
	else if (strcmp(c->objtype, "file") == 0 && c->ncomp == 2 &&
		 strcmp(c->comp[0], "hashes") == 0) {
		csip_ind_type t = hash_type(c->comp[1]);

		if (t != CSIP_IND_UNKNOWN)
			take(im, v, t, BIT(t));
	}
	return CSIP_OK;
}

/* The values of an SCO. */
static void
sco_values(import *im, const char *type, json_t *o)
{
	const char *v = json_string_value(json_object_get(o, "value"));

	if (strcmp(type, "domain-name") == 0)
		take(im, v, CSIP_IND_UNKNOWN, HOSTS);
	else if (strcmp(type, "ipv4-addr") == 0)
		take(im, v, CSIP_IND_UNKNOWN, IP4S);
	else if (strcmp(type, "ipv6-addr") == 0)
		take(im, v, CSIP_IND_UNKNOWN, IP6S);
	else if (strcmp(type, "url") == 0)
		take(im, v, CSIP_IND_URL, BIT(CSIP_IND_URL));
	else if (strcmp(type, "email-addr") == 0 &&
		 !g_hash_table_contains(im->recipients, im->id))
		take(im, v, CSIP_IND_EMAIL, BIT(CSIP_IND_EMAIL));
	else if (strcmp(type, "mutex") == 0)
		take(im, json_string_value(json_object_get(o, "name")),
		     CSIP_IND_MUTEX, BIT(CSIP_IND_MUTEX));
	else if (strcmp(type, "windows-registry-key") == 0)
		take(im, json_string_value(json_object_get(o, "key")),
		     CSIP_IND_REGKEY, BIT(CSIP_IND_REGKEY));
	else if (strcmp(type, "autonomous-system") == 0 &&
		 json_is_integer(json_object_get(o, "number"))) {
		char as[32];

		g_snprintf(as, sizeof as, "AS%" JSON_INTEGER_FORMAT,
			   json_integer_value(json_object_get(o, "number")));
		take(im, as, CSIP_IND_ASN, BIT(CSIP_IND_ASN));
	} else if (strcmp(type, "file") == 0) {
		json_t *hashes = json_object_get(o, "hashes"), *h;
		const char *k;

		take(im, json_string_value(json_object_get(o, "name")),
		     CSIP_IND_FILENAME, BIT(CSIP_IND_FILENAME));
		json_object_foreach(hashes, k, h) {
			csip_ind_type t = hash_type(k);

			if (t != CSIP_IND_UNKNOWN)
				take(im, json_string_value(h), t, BIT(t));
		}
	}
}

/* Remember the email-addr objects a reported mail went to. */
static void
note_recipients(import *im, json_t *o)
{
	static const char *const keys[] = { "to_refs", "cc_refs", "bcc_refs",
		NULL };

	for (int k = 0; keys[k]; k++) {
		json_t *refs = json_object_get(o, keys[k]), *r;
		size_t i;

		json_array_foreach(refs, i, r)
			if (json_is_string(r))
				g_hash_table_add(im->recipients,
						 (char *)json_string_value(r));
	}
}

/* Check object I of the bundle; CSIP_EINVAL naming it and the fault. */
static int
check_object(import *im, json_t *o, size_t i)
{
	const char *type, *id;
	json_t *v;
	int rc;

	im->index = i;
	im->id = "?";
	if (!json_is_object(o))
		return csip_error_set(CSIP_EINVAL, "objects[%zu] is not a JSON "
				      "object: a bundle holds STIX objects", i);
	type = json_string_value(json_object_get(o, "type"));
	id = json_string_value(json_object_get(o, "id"));
	if (type == NULL || !type_ok(type))
		return csip_error_set(CSIP_EINVAL, "objects[%zu]: \"type\" "
			"must be a STIX type such as \"indicator\" (3-250 of "
			"a-z, 0-9 and -)", i);
	if (id == NULL || !id_ok(id, type))
		return csip_error_set(CSIP_EINVAL, "objects[%zu] (%s): \"id\" "
			"must be \"%s--\" and an RFC 4122 UUID", i, type, type);
	im->id = id;
	v = json_object_get(o, "spec_version");
	if (v ? !json_is_string(v) || strcmp(json_string_value(v), "2.1")
	    : in_list(type, versioned))
		return csip_error_set(CSIP_EINVAL, "objects[%zu] (%s): "
			"\"spec_version\" must be \"2.1\": this hub takes STIX "
			"2.1 bundles", i, id);
	/* Marking definitions are never modified: only "created". */
	if (in_list(type, versioned) && (!timestamp_ok(json_object_get(o,
	    "created")) || (strcmp(type, "marking-definition") &&
	    !timestamp_ok(json_object_get(o, "modified")))))
		return csip_error_set(CSIP_EINVAL, "objects[%zu] (%s): "
			"\"created\" and \"modified\" must be STIX "
			"timestamps (2024-04-01T09:00:00.000Z)", i, id);
	if (strcmp(type, "indicator") == 0) {
		const char *pattern = json_string_value(json_object_get(o,
			"pattern"));
		const char *ptype = json_string_value(json_object_get(o,
			"pattern_type"));

		if (pattern == NULL || ptype == NULL ||
		    !timestamp_ok(json_object_get(o, "valid_from")))
			return csip_error_set(CSIP_EINVAL, "objects[%zu] "
				"(%s): an indicator needs \"pattern\", "
				"\"pattern_type\" and \"valid_from\"", i, id);
		if (strcmp(ptype, "stix") == 0) {
			im->where = "stix:indicator";
			rc = parse_pattern(pattern, pattern_value, im);
			if (rc < 0)
				return csip_error_prefix(rc, "objects[%zu] (%s)"
					": ", i, id);
		}
	} else {
		char *where = g_strconcat("stix:", type, NULL);

		im->where = where;
		sco_values(im, type, o);
		im->where = NULL;
		g_free(where);
	}
	return CSIP_OK;
}

/* A short title for report lists: the first report's name, else a
 * count.  g_free(). */
static char *
bundle_subject(json_t *objects)
{
	const char *name = NULL;
	GString *b = g_string_new(NULL);
	json_t *o;
	size_t i;
	char *out;

	json_array_foreach(objects, i, o) {
		if (g_strcmp0(json_string_value(json_object_get(o, "type")),
			      "report") == 0 &&
		    (name = json_string_value(json_object_get(o, "name"))))
			break;
	}
	if (name == NULL) {
		g_string_printf(b, "STIX bundle of %zu objects",
				json_array_size(objects));
		return g_string_free(b, FALSE);
	}
	for (const char *p = name; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (g_unichar_iscntrl(c))
			c = ' ';
		g_string_append_unichar(b, c);
	}
	out = g_utf8_substring(b->str, 0, MIN(g_utf8_strlen(b->str, -1),
					      MAX_SUBJECT));
	g_string_free(b, TRUE);
	return out;
}

int
csip_report_submit_stix(csip_hub *h, const char *actor,
			const csip_report_in *in, json_t *bundle,
			csip_ingest_result *res)
{
	import im = { 0 };
	json_t *objects, *o;
	const char *type, *id;
	char *raw = NULL, *subject = NULL;
	size_t i;
	int rc;

	memset(res, 0, sizeof *res);
	if ((rc = csip_report_check_in(in)) < 0)
		return rc;
	type = json_string_value(json_object_get(bundle, "type"));
	id = json_string_value(json_object_get(bundle, "id"));
	if (!json_is_object(bundle) || g_strcmp0(type, "bundle"))
		return csip_error_set(CSIP_EINVAL, "the body is not a STIX "
			"bundle: it must be an object with \"type\": "
			"\"bundle\"");
	if (id == NULL || !id_ok(id, "bundle"))
		return csip_error_set(CSIP_EINVAL, "the bundle's \"id\" must "
			"be \"bundle--\" and an RFC 4122 UUID");
	objects = json_object_get(bundle, "objects");
	if (!json_is_array(objects) || json_array_size(objects) == 0)
		return csip_error_set(CSIP_EINVAL, "the bundle has no "
			"\"objects\": give an array of STIX objects");
	if (json_array_size(objects) > MAX_OBJECTS)
		return csip_error_set(CSIP_ETOOBIG, "the bundle has %zu "
			"objects, more than the %d accepted in one report: "
			"split it",
			json_array_size(objects), MAX_OBJECTS);

	im.set = csip_extract_set_new();
	im.warnings = json_array();
	im.recipients = g_hash_table_new(g_str_hash, g_str_equal);
	json_array_foreach(objects, i, o)
		if (g_strcmp0(json_string_value(json_object_get(o, "type")),
			      "email-message") == 0)
			note_recipients(&im, o);
	/* Every object is checked before anything is written. */
	json_array_foreach(objects, i, o)
		if ((rc = check_object(&im, o, i)) < 0)
			goto out;
	/* Sorted keys make the same bundle the same bytes, so sending it
	 * again is found as a duplicate. */
	raw = json_dumps(bundle, JSON_COMPACT | JSON_SORT_KEYS);
	if (raw == NULL) {
		rc = csip_error_set(CSIP_EINVAL, "the bundle cannot be written "
				    "as JSON");
		goto out;
	}
	subject = bundle_subject(objects);
	rc = csip_report_store_set(h, actor, in, "stix", raw, strlen(raw),
				   subject, im.set, im.warnings, res);
out:
	if (rc < 0)
		memset(res, 0, sizeof *res);
	csip_extract_set_free(im.set);
	json_decref(im.warnings);
	g_hash_table_destroy(im.recipients);
	free(raw);
	g_free(subject);
	return rc;
}
