/*
 * api_taxii.c - TAXII 2.1 (OASIS, 10 June 2021): a collections server with
 * one API root and two collections.
 *
 *   /taxii2/                         discovery
 *   /taxii2/api/                     the API root
 *   /taxii2/api/status/{id}/         the status of a POST
 *   /taxii2/api/collections/...      collections, manifest, objects,
 *                                    one object, its versions
 *
 * "shared" is every STIX object of every published item the reader may
 * read (csip_item_list_published to find the items, then
 * csip_stix_item_objects for each: both ask the policy, on every page).
 * Organisations that receive anything (the hub, participants with an NDA,
 * partners) may read it; nobody writes to it.  "submissions" takes
 * envelopes from participants and the hub: each POST becomes one report
 * (csip_report_submit_stix), answered 202 with a status resource that only
 * the posting organisation reads; it cannot be read.  DELETE is refused
 * as the standard's table says for each: 403 (can_read without can_write,
 * and can_write without can_read).
 *
 * Objects are dated by their item: date_added is the item's published_at
 * and the collection is sorted by (published_at, item id, object id).  An
 * object that several items carry (the hub's identity, a TLP marking, an
 * observable) is listed once per response, with the date of the first
 * item it comes with; a later page may list it again, unchanged.
 *
 * `next` is opaque and tamper-evident: the position, with a MAC keyed with
 * the hub key over the reader's organisation.  It says only where to
 * resume; every page asks the policy again, so a reader whose rights were
 * revoked between pages gets nothing more, and a cursor of another reader
 * is refused (400).
 */
#include "server/api.h"
#include "lib/item.h"
#include "lib/report.h"
#include "lib/stix.h"
#include "util/error.h"
#include "util/timefmt.h"

#include <glib.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROOT            "/taxii2/api/"
/* Fixed UUIDv4s: a collection's id must not change between releases. */
#define SHARED_ID       "5f7d2c1e-8a43-4b6e-9d2f-3c1a7e9b4d60"
#define SUBMIT_ID       "a3e1f0b2-6c5d-4e7f-8a9b-0c1d2e3f4a5b"
#define STIX_MEDIA      "application/stix+json;version=2.1"
#define PAGE_MAX        1000    /* objects per response; more: next */
#define ITEM_BATCH      50      /* items asked of the policy at a time */
#define LIST_VALUES_MAX 100     /* values in one match[] */
#define NEXT_MAX        2048

/* ---- media types and errors ------------------------------------------ */

static const char *
reason(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	default: return status >= 500 ? "Internal Server Error" : "Error";
	}
}

void
csip_api_taxii_finish(csip_resp *rs)
{
	json_t *err;
	char hs[8];

	if (rs->fd > 0 || rs->raw)
		return;
	if (rs->status >= 400 && (err = json_object_get(rs->json, "error"))) {
		json_t *e;

		g_snprintf(hs, sizeof hs, "%d", rs->status);
		e = json_pack("{ss sO* sO* ss}", "title", reason(rs->status),
			"description", json_object_get(err, "message"),
			"error_code", json_object_get(err, "code"),
			"http_status", hs);
		json_decref(rs->json);
		rs->json = e;
	}
	if (rs->json)
		rs->content_type = CSIP_TAXII_MEDIA;
}

/* One media range of an Accept header: TYPE with an optional version
 * parameter of 2.1 (other parameters such as q are not TAXII's). */
static int
range_ok(const char *range, const char *type)
{
	char **parts = g_strsplit(range, ";", -1);
	char *t = g_ascii_strdown(g_strstrip(parts[0]), -1);
	int ok = strcmp(t, type) == 0;

	for (int i = 1; ok && parts[i]; i++) {
		char *p = g_strstrip(parts[i]);

		if (g_ascii_strncasecmp(p, "version", 7) == 0) {
			const char *v = p + 7;

			while (*v == ' ')
				v++;
			if (*v++ != '=')
				ok = 0;
			while (*v == ' ')
				v++;
			if (ok && strcmp(v, "2.1") != 0 &&
			    strcmp(v, "\"2.1\"") != 0)
				ok = 0;
		} else if (g_ascii_strncasecmp(p, "q=0", 3) == 0 &&
			   strspn(p + 3, ".0") == strlen(p + 3)) {
			ok = 0;        /* "not acceptable" */
		}
	}
	g_free(t);
	g_strfreev(parts);
	return ok;
}

int
csip_api_taxii_acceptable(const char *accept, int stix)
{
	char **ranges;
	int ok = 0;

	if (accept == NULL)
		return 0;
	ranges = g_strsplit(accept, ",", -1);
	for (int i = 0; !ok && ranges[i]; i++)
		ok = range_ok(ranges[i], "application/taxii+json") ||
		     (stix && range_ok(ranges[i], "application/stix+json"));
	g_strfreev(ranges);
	return ok;
}

/* Answer STATUS with MESSAGE; the dispatcher makes it a TAXII error. */
static int
fail(csip_resp *rs, int status, const char *message)
{
	csip_api_error(rs, status, message);
	return CSIP_OK;
}

/* ---- collections ----------------------------------------------------- */

typedef struct coll {
	int shared;          /* "shared", else "submissions" */
	int can_read;
	int can_write;
} coll;

/* What the caller may do with each collection.  Readers of shared items
 * are those the policy can give anything to: the hub, partners and
 * participants with an NDA.  Submissions are for the organisations that
 * provide reports: participants and the hub. */
static void
rights(const csip_req *rq, coll *shared, coll *submit)
{
	const csip_reader *r = &rq->reader;

	shared->shared = 1;
	shared->can_read = r->hub || r->partner || r->nda;
	shared->can_write = 0;
	submit->shared = 0;
	submit->can_read = 0;
	submit->can_write = !r->partner && !rq->who.read_only;
}

static json_t *
coll_json(const coll *c)
{
	json_t *o = json_pack("{ss ss ss ss sb sb s[s]}",
		"id", c->shared ? SHARED_ID : SUBMIT_ID,
		"title", c->shared ? "Shared items" : "Submissions",
		"description", c->shared ? "STIX 2.1 objects of every item "
		"the hub shared with your organisation, oldest first" :
		"Post an envelope of STIX 2.1 objects: it becomes one report "
		"from your organisation (permission sig, attribution none, "
		"TLP amber), for the hub's analysts",
		"alias", c->shared ? "shared" : "submissions",
		"can_read", c->can_read, "can_write", c->can_write,
		"media_types", STIX_MEDIA);

	return o;
}

/* The collection of the path; one the caller may neither read nor write
 * is answered like one that does not exist. */
static int
find_coll(const csip_req *rq, coll *out)
{
	coll shared, submit;

	rights(rq, &shared, &submit);
	if (strcmp(rq->key, SHARED_ID) == 0 &&
	    (shared.can_read || shared.can_write))
		*out = shared;
	else if (strcmp(rq->key, SUBMIT_ID) == 0 &&
		 (submit.can_read || submit.can_write))
		*out = submit;
	else
		return csip_error_set(CSIP_ENOTFOUND, "collection %s does not "
			"exist: the collections are listed at "
			ROOT "collections/", rq->key);
	return CSIP_OK;
}

/* The collection of the path, for reading: CSIP_EPERM (403) when the
 * caller may only write to it, as §5.3/§5.4 allow. */
static int
readable_coll(const csip_req *rq)
{
	coll c = { 0 };
	int rc;

	if ((rc = find_coll(rq, &c)) < 0)
		return rc;
	if (!c.can_read)
		return csip_error_set(CSIP_EPERM, "collection %s cannot be "
			"read (can_read is false): post envelopes to it",
			rq->key);
	return CSIP_OK;
}

/* ---- discovery, API root, collections -------------------------------- */

int
csip_api_taxii_discovery(csip_req *rq, csip_resp *rs)
{
	rs->json = json_pack("{ss ss ss s[s]}", "title", "csip TAXII 2.1",
		"description", "The information-sharing hub's STIX 2.1 "
		"objects over TAXII 2.1", "default", ROOT, "api_roots", ROOT);
	return CSIP_OK;
}

int
csip_api_taxii_root(csip_req *rq, csip_resp *rs)
{
	const char *v = csip_config_get(csip_hub_config(rq->hub), "server",
					"max_body_mb");
	gint64 mb = v ? g_ascii_strtoll(v, NULL, 10) : 0;

	/* The same cap the server applies before reading a body. */
	rs->json = json_pack("{ss ss s[s] sI}", "title", "csip",
		"description", "Shared items out, submissions in",
		"versions", CSIP_TAXII_MEDIA, "max_content_length",
		(json_int_t)(mb > 0 ? mb << 20 : 1));
	return CSIP_OK;
}

int
csip_api_taxii_collections(csip_req *rq, csip_resp *rs)
{
	coll shared, submit;
	json_t *list = json_array();

	rights(rq, &shared, &submit);
	if (shared.can_read || shared.can_write)
		json_array_append_new(list, coll_json(&shared));
	if (submit.can_read || submit.can_write)
		json_array_append_new(list, coll_json(&submit));
	/* §5.1.1: no collections, no key. */
	if (json_array_size(list) == 0) {
		json_decref(list);
		rs->json = json_object();
	} else {
		rs->json = json_pack("{so}", "collections", list);
	}
	return CSIP_OK;
}

int
csip_api_taxii_collection(csip_req *rq, csip_resp *rs)
{
	coll c = { 0 };
	int rc;

	if ((rc = find_coll(rq, &c)) < 0)
		return rc;
	rs->json = coll_json(&c);
	return CSIP_OK;
}

/* ---- filters --------------------------------------------------------- */

typedef struct filt {
	char after[28];      /* added_after, normalised; "" when absent */
	int limit;
	const char *next;
	char **ids;          /* match[id]; NULL: any */
	char **types;        /* match[type] */
	char **specs;        /* match[spec_version] */
	char **versions;     /* exact versions of match[version], normalised */
	int vfirst, vlast, vall;
} filt;

static void
filt_clear(filt *f)
{
	g_strfreev(f->ids);
	g_strfreev(f->types);
	g_strfreev(f->specs);
	g_strfreev(f->versions);
	memset(f, 0, sizeof *f);
}

static int
stix_type_ok(const char *t)
{
	size_t n = strlen(t);

	return n >= 1 && n <= 250 &&
	       strspn(t, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* TYPE--UUID. */
static int
stix_id_ok(const char *id)
{
	const char *sep = strstr(id, "--");
	char *type;
	int ok;

	if (sep == NULL || strlen(sep + 2) != 36)
		return 0;
	type = g_strndup(id, sep - id);
	ok = stix_type_ok(type);
	g_free(type);
	for (int i = 0; ok && i < 36; i++) {
		char c = sep[2 + i];

		ok = (i == 8 || i == 13 || i == 18 || i == 23) ? c == '-'
			: g_ascii_isxdigit(c);
	}
	return ok;
}

static int
spec_ok(const char *v)
{
	const char *dot = strchr(v, '.');

	return dot && dot > v && dot[1] && strspn(v, "0123456789") ==
	       (size_t)(dot - v) && strspn(dot + 1, "0123456789") ==
	       strlen(dot + 1);
}

/* A comma-separated match[] value: no empty values, each one OK.  §3.4:
 * malformed -> 400. */
static int
split_list(const char *name, const char *v, int (*ok)(const char *),
	   char ***out)
{
	char **vals = g_strsplit(v, ",", -1);
	guint n = g_strv_length(vals);

	if (n > LIST_VALUES_MAX) {
		g_strfreev(vals);
		return csip_error_set(CSIP_EINVAL, "%s has %u values: give at "
			"most %d", name, n, LIST_VALUES_MAX);
	}
	for (guint i = 0; i < n; i++) {
		if (vals[i][0] == '\0' || !ok(vals[i])) {
			int rc = csip_error_set(CSIP_EINVAL, "%s value "
				"\"%.80s\" is malformed: give comma-separated "
				"values "
				"without spaces%s", name, vals[i],
				ok == stix_id_ok ? " such as indicator--"
				"<uuid>" : ok == spec_ok ? " such as 2.1" : "");

			g_strfreev(vals);
			return rc;
		}
	}
	*out = vals;
	return CSIP_OK;
}

static int
version_ok(const char *v)
{
	char ts[28];

	return strcmp(v, "first") == 0 || strcmp(v, "last") == 0 ||
	       strcmp(v, "all") == 0 || csip_time_norm(v, ts);
}

static int
parse_filters(csip_req *rq, filt *f)
{
	const char *after = rq->query(rq, "added_after");
	const char *limit = rq->query(rq, "limit");
	const char *ver = rq->query(rq, "match[version]");
	const char *v;
	char **vals = NULL;
	int rc;

	memset(f, 0, sizeof *f);
	f->limit = PAGE_MAX;
	/* TAXII 2.1 §3.4: each filter at most once. */
	for (const char *const *k = (const char *const[]){ "added_after",
	     "limit", "next", "match[id]", "match[type]", "match[version]",
	     "match[spec_version]", NULL }; *k; k++)
		if (rq->query_count && rq->query_count(rq, *k) > 1)
			return csip_error_set(CSIP_EINVAL, "%s is given more "
				"than once: give each filter once, with "
				"comma-separated values", *k);
	if (after && !csip_time_norm(after, f->after))
		return csip_error_set(CSIP_EINVAL, "added_after \"%.80s\" is "
			"not a timestamp: use RFC 3339 in UTC, e.g. "
			"2024-04-01T09:00:00.000000Z", after);
	if (limit) {
		char *end;
		gint64 n;

		n = g_ascii_strtoll(limit, &end, 10);
		if (!g_ascii_isdigit(limit[0]) || *end || n <= 0 ||
		    strlen(limit) > 12)
			return csip_error_set(CSIP_EINVAL, "limit \"%.40s\": "
				"give a positive integer", limit);
		/* Over the server's maximum: clamped, and more/next tell
		 * the client to go on (§3.5). */
		f->limit = (int)MIN(n, PAGE_MAX);
	}
	f->next = rq->query(rq, "next");
	if (f->next && (*f->next == '\0' || strlen(f->next) > NEXT_MAX))
		return csip_error_set(CSIP_EINVAL, "next: give the value of "
			"\"next\" from the previous page, unchanged");
	if ((v = rq->query(rq, "match[id]")) &&
	    (rc = split_list("match[id]", v, stix_id_ok, &f->ids)) < 0)
		return rc;
	if ((v = rq->query(rq, "match[type]")) &&
	    (rc = split_list("match[type]", v, stix_type_ok, &f->types)) < 0)
		return rc;
	if ((v = rq->query(rq, "match[spec_version]")) &&
	    (rc = split_list("match[spec_version]", v, spec_ok,
			     &f->specs)) < 0)
		return rc;
	if (ver == NULL) {
		f->vlast = 1;
		return CSIP_OK;
	}
	if ((rc = split_list("match[version]", ver, version_ok, &vals)) < 0)
		return rc;
	{
		GPtrArray *exact = g_ptr_array_new();

		for (char **p = vals; *p; p++) {
			char ts[28];

			if (strcmp(*p, "first") == 0)
				f->vfirst = 1;
			else if (strcmp(*p, "last") == 0)
				f->vlast = 1;
			else if (strcmp(*p, "all") == 0)
				f->vall = 1;
			else if (csip_time_norm(*p, ts))
				g_ptr_array_add(exact, g_strdup(ts));
		}
		g_ptr_array_add(exact, NULL);
		f->versions = (char **)g_ptr_array_free(exact, FALSE);
	}
	g_strfreev(vals);
	if (f->vall && (f->vfirst || f->vlast || f->versions[0]))
		return csip_error_set(CSIP_EINVAL, "match[version]=all stands "
			"alone: drop the other values");
	return CSIP_OK;
}

static int
in_strv(char **v, const char *s)
{
	for (; v && *v; v++)
		if (strcmp(*v, s) == 0)
			return 1;
	return 0;
}

/* ---- the cursor ------------------------------------------------------ */

static char *
b64url(const guchar *data, gsize len)
{
	char *s = g_base64_encode(data, len);
	size_t n = strlen(s);

	for (char *p = s; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	while (n > 0 && s[n - 1] == '=')
		s[--n] = '\0';
	return s;
}

/* NULL when S is not base64url. */
static guchar *
unb64url(const char *s, gsize *len)
{
	size_t n = strlen(s);
	GString *b;

	if (n == 0 || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
			     "qrstuvwxyz0123456789-_") != n || n % 4 == 1)
		return NULL;
	b = g_string_new(s);
	for (char *p = b->str; *p; p++)
		*p = *p == '-' ? '+' : *p == '_' ? '/' : *p;
	while (b->len % 4)
		g_string_append_c(b, '=');
	{
		guchar *out = g_base64_decode(b->str, len);

		g_string_free(b, TRUE);
		return out;
	}
}

/* The MAC binds the position to the reader's organisation: a cursor
 * shown to one organisation is worthless to another. */
static void
cursor_mac(const csip_req *rq, const char *payload,
	   guchar mac[crypto_generichash_BYTES_MIN])
{
	crypto_generichash_state st;
	char org[24];

	g_snprintf(org, sizeof org, "%" PRId64, rq->reader.org_id);
	crypto_generichash_init(&st, csip_hub_key(rq->hub), CSIP_KEY_BYTES,
				crypto_generichash_BYTES_MIN);
	crypto_generichash_update(&st, (const guchar *)"csip taxii next", 16);
	crypto_generichash_update(&st, (const guchar *)org, strlen(org) + 1);
	crypto_generichash_update(&st, (const guchar *)payload,
				  strlen(payload));
	crypto_generichash_final(&st, mac, crypto_generichash_BYTES_MIN);
}

static char *
cursor_make(const csip_req *rq, const char *payload)
{
	guchar mac[crypto_generichash_BYTES_MIN];
	char *p, *m, *out;

	cursor_mac(rq, payload, mac);
	p = b64url((const guchar *)payload, strlen(payload));
	m = b64url(mac, sizeof mac);
	out = g_strconcat(p, ".", m, NULL);
	g_free(p);
	g_free(m);
	return out;
}

/* The fields of a cursor made for this reader with the first field KIND
 * and NFIELDS fields; CSIP_EINVAL for anything else. */
static int
cursor_read(const csip_req *rq, const char *next, const char *kind,
	    int nfields, char ***out)
{
	guchar want[crypto_generichash_BYTES_MIN], *mac = NULL, *raw = NULL;
	gsize mlen = 0, plen = 0;
	const char *dot = strchr(next, '.');
	char *ptext = NULL, *payload = NULL;
	char **f = NULL;
	int rc = CSIP_OK;

	*out = NULL;
	if (dot == NULL)
		goto bad;
	ptext = g_strndup(next, dot - next);
	if ((raw = unb64url(ptext, &plen)) == NULL ||
	    (mac = unb64url(dot + 1, &mlen)) == NULL || mlen != sizeof want)
		goto bad;
	payload = g_strndup((const char *)raw, plen);
	if (strlen(payload) != plen)
		goto bad;
	cursor_mac(rq, payload, want);
	if (sodium_memcmp(want, mac, sizeof want) != 0)
		goto bad;
	f = g_strsplit(payload, "|", -1);
	if ((int)g_strv_length(f) != nfields || strcmp(f[0], kind) != 0)
		goto bad;
	*out = f;
	f = NULL;
	goto out;
bad:
	rc = csip_error_set(CSIP_EINVAL, "next is not a value this server "
		"gave you for this request: give the \"next\" of the previous "
		"page unchanged, with the same filters");
out:
	g_strfreev(f);
	g_free(ptext);
	g_free(payload);
	g_free(raw);
	g_free(mac);
	return rc;
}

/* ---- objects of the shared collection -------------------------------- */

static int
cmp_obj_id(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;

	return g_strcmp0(json_string_value(json_object_get(x, "id")),
			 json_string_value(json_object_get(y, "id")));
}

/* The objects of item ID for the reader, sorted by id (new array); NULL
 * in *out when the reader may not see it any more. */
static int
item_objects(csip_req *rq, int64_t id, json_t **out)
{
	json_t *arr = NULL, *sorted;
	GPtrArray *v;
	json_t *o;
	size_t i;
	int rc;

	*out = NULL;
	rc = csip_stix_item_objects(rq->hub, &rq->reader, id, &arr);
	if (rc == CSIP_ENOTFOUND) {
		/* Withdrawn or out of scope since it was listed. */
		csip_error_clear();
		return CSIP_OK;
	}
	if (rc < 0)
		return rc;
	v = g_ptr_array_new();
	json_array_foreach(arr, i, o)
		g_ptr_array_add(v, o);
	g_ptr_array_sort(v, cmp_obj_id);
	sorted = json_array();
	for (guint k = 0; k < v->len; k++)
		json_array_append(sorted, v->pdata[k]);
	g_ptr_array_free(v, TRUE);
	json_decref(arr);
	*out = sorted;
	return CSIP_OK;
}

/* The version of O (§3.4.1: modified, else created, else the date it was
 * added), as written in O and normalised for comparison. */
static const char *
version_of(json_t *o, const char *added, char norm[28])
{
	const char *v = json_string_value(json_object_get(o, "modified"));

	if (v == NULL)
		v = json_string_value(json_object_get(o, "created"));
	if (v == NULL || !csip_time_norm(v, norm)) {
		g_strlcpy(norm, added, 28);
		return added;
	}
	return v;
}

static int
spec_matches(const filt *f, json_t *o)
{
	const char *sv = json_string_value(json_object_get(o,
							   "spec_version"));

	/* Objects without spec_version are 2.0 (STIX 2.1 §3.1), but every
	 * object csip makes is 2.1. */
	return f->specs == NULL || in_strv(f->specs, sv ? sv : "2.1");
}

/* One page of objects or manifest records of the shared collection. */
typedef struct page {
	json_t *out;
	GHashTable *seen;       /* ids in this response */
	char first[28], last[28];
	int more;
	char at[CSIP_TIME_LEN + 1]; /* position of the last one listed */
	int64_t item;
	char *obj;
} page;

static void
page_clear(page *pg)
{
	json_decref(pg->out);
	if (pg->seen)
		g_hash_table_destroy(pg->seen);
	g_free(pg->obj);
}

static int
scan(csip_req *rq, const filt *f, int manifest, page *pg)
{
	char at[CSIP_TIME_LEN + 1] = "", skip_at[CSIP_TIME_LEN + 1] = "";
	char **cur = NULL;
	int64_t after_id = 0, skip_item = 0;
	char *skip_obj = NULL;
	json_t *items = NULL, *objs = NULL;
	int rc = CSIP_OK, more_items = 1, full = 0, n = 0;

	pg->out = json_array();
	pg->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					 NULL);
	if (f->next) {
		char *end;

		if ((rc = cursor_read(rq, f->next, manifest ? "m" : "o", 4,
				      &cur)) < 0)
			goto out;
		skip_item = g_ascii_strtoll(cur[2], &end, 10);
		/* The position is the item's published_at as stored (a
		 * row value to seek to), not normalised. */
		if (!csip_time_norm(cur[1], skip_at) || *end ||
		    skip_item <= 0) {
			rc = csip_error_set(CSIP_EINVAL, "next is damaged: "
				"start again without it");
			goto out;
		}
		g_strlcpy(skip_at, cur[1], sizeof skip_at);
		skip_obj = cur[3];
		/* Resume at the item listed last: its remaining objects. */
		g_strlcpy(at, skip_at, sizeof at);
		after_id = skip_item - 1;
	}
	if (f->after[0] && strcmp(f->after, at) >= 0) {
		/* date_added is published_at, to the microsecond: added
		 * after T means published after T. */
		g_strlcpy(at, f->after, sizeof at);
		after_id = INT64_MAX;
	}
	while (more_items && !pg->more) {
		json_t *it;
		size_t i;

		json_decref(items);
		items = NULL;
		if ((rc = csip_item_list_published(rq->hub, &rq->reader,
			at[0] ? at : NULL, after_id, ITEM_BATCH, &items,
			&more_items)) < 0)
			goto out;
		if (json_array_size(items) == 0)
			break;
		json_array_foreach(items, i, it) {
			int64_t id = json_integer_value(json_object_get(it,
								       "id"));
			const char *pub = json_string_value(json_object_get(it,
				"published_at"));
			char added[28];
			json_t *o;
			size_t k;

			g_strlcpy(at, pub, sizeof at);
			after_id = id;
			if (!csip_time_norm(pub, added)) {
				rc = csip_error_set(CSIP_ERR, "item %" PRId64
					" has a bad publication time \"%s\"",
					id, pub);
				goto out;
			}
			json_decref(objs);
			if ((rc = item_objects(rq, id, &objs)) < 0)
				goto out;
			json_array_foreach(objs, k, o) {
				const char *oid = json_string_value(
					json_object_get(o, "id"));
				const char *type = json_string_value(
					json_object_get(o, "type"));
				char vnorm[28];
				const char *ver;

				if (oid == NULL || type == NULL)
					continue;
				if (id == skip_item &&
				    strcmp(pub, skip_at) == 0 &&
				    strcmp(oid, skip_obj) <= 0)
					continue;
				if (full) {
					/* Something follows the page. */
					pg->more = 1;
					break;
				}
				if ((f->ids && !in_strv(f->ids, oid)) ||
				    (f->types && !in_strv(f->types, type)) ||
				    !spec_matches(f, o) ||
				    g_hash_table_contains(pg->seen, oid))
					continue;
				ver = version_of(o, added, vnorm);
				/* One version per listed object: first, last
				 * and all all take it; exact versions must
				 * match. */
				if (!(f->vfirst || f->vlast || f->vall ||
				      in_strv(f->versions, vnorm)))
					continue;
				g_hash_table_add(pg->seen, g_strdup(oid));
				if (manifest)
					o = json_pack("{ss ss ss ss}", "id",
						oid, "date_added", added,
						"version", ver, "media_type",
						STIX_MEDIA);
				else
					json_incref(o);
				json_array_append_new(pg->out, o);
				if (n++ == 0)
					g_strlcpy(pg->first, added, 28);
				g_strlcpy(pg->last, added, 28);
				g_strlcpy(pg->at, pub, sizeof pg->at);
				pg->item = id;
				g_free(pg->obj);
				pg->obj = g_strdup(oid);
				if (n == f->limit)
					full = 1;
			}
			if (pg->more)
				break;
		}
	}
out:
	json_decref(items);
	json_decref(objs);
	g_strfreev(cur);
	return rc;
}

static void
envelope(csip_req *rq, csip_resp *rs, page *pg, const char *kind,
	 const char *key)
{
	if (json_array_size(pg->out) == 0) {
		/* §3.7: an empty envelope is {}. */
		rs->json = json_object();
		return;
	}
	rs->json = json_pack("{sb sO}", "more", pg->more, key, pg->out);
	if (pg->more) {
		char *payload = g_strdup_printf("%s|%s|%" PRId64 "|%s", kind,
						pg->at, pg->item, pg->obj);
		char *next = cursor_make(rq, payload);

		json_object_set_new(rs->json, "next", json_string(next));
		g_free(next);
		g_free(payload);
	}
	g_strlcpy(rs->added_first, pg->first, sizeof rs->added_first);
	g_strlcpy(rs->added_last, pg->last, sizeof rs->added_last);
}

static int
list_page(csip_req *rq, csip_resp *rs, int manifest)
{
	filt f;
	page pg = { 0 };
	int rc;

	if ((rc = readable_coll(rq)) < 0)
		return rc;
	if ((rc = parse_filters(rq, &f)) < 0)
		goto out;
	if ((rc = scan(rq, &f, manifest, &pg)) < 0)
		goto out;
	envelope(rq, rs, &pg, manifest ? "m" : "o", "objects");
out:
	page_clear(&pg);
	filt_clear(&f);
	return rc;
}

int
csip_api_taxii_manifest(csip_req *rq, csip_resp *rs)
{
	return list_page(rq, rs, 1);
}

int
csip_api_taxii_objects(csip_req *rq, csip_resp *rs)
{
	return list_page(rq, rs, 0);
}

/* ---- one object and its versions ------------------------------------- */

typedef struct version {
	json_t *obj;
	char added[28];
	char norm[28];
} version;

static int
cmp_version(const void *a, const void *b)
{
	const version *x = a, *y = b;

	return strcmp(x->norm, y->norm);
}

static void
versions_free(GArray *v)
{
	for (guint i = 0; v && i < v->len; i++)
		json_decref(g_array_index(v, version, i).obj);
	if (v)
		g_array_unref(v);
}

/* Add the versions of object OID that item ID (published at PUB) gives
 * the reader to V, unless SEEN has them: the first item that carries a
 * version dates it. */
static int
collect(csip_req *rq, const char *oid, int64_t id, const char *pub,
	GArray *v, GHashTable *seen)
{
	json_t *objs = NULL, *o;
	size_t k;
	int rc;

	if ((rc = item_objects(rq, id, &objs)) < 0)
		return rc;
	json_array_foreach(objs, k, o) {
		version e;

		if (g_strcmp0(json_string_value(json_object_get(o, "id")),
			      oid) != 0)
			continue;
		memset(&e, 0, sizeof e);
		if (!csip_time_norm(pub, e.added))
			continue;
		version_of(o, e.added, e.norm);
		if (g_hash_table_contains(seen, e.norm))
			continue;
		g_hash_table_add(seen, g_strdup(e.norm));
		e.obj = json_incref(o);
		g_array_append_val(v, e);
	}
	json_decref(objs);
	return CSIP_OK;
}

/* The collection in publication order, items marked TLP only when it is
 * not NULL; with FIRST, up to the first item that carries OID. */
static int
walk(csip_req *rq, const char *oid, const char *tlp, int first, GArray *v,
     GHashTable *seen)
{
	json_t *items = NULL, *it;
	char at[CSIP_TIME_LEN + 1] = "";
	int64_t after_id = 0;
	int more = 1, rc = CSIP_OK;

	while (more && !(first && v->len > 0)) {
		size_t i;

		json_decref(items);
		items = NULL;
		if ((rc = csip_item_list_published_tlp(rq->hub, &rq->reader,
			tlp, at[0] ? at : NULL, after_id, first ? 1 :
			ITEM_BATCH, &items, &more)) < 0)
			goto out;
		json_array_foreach(items, i, it) {
			int64_t id = json_integer_value(json_object_get(it,
								       "id"));
			const char *pub = json_string_value(json_object_get(it,
				"published_at"));

			g_strlcpy(at, pub, sizeof at);
			after_id = id;
			if ((rc = collect(rq, oid, id, pub, v, seen)) < 0)
				goto out;
		}
	}
out:
	json_decref(items);
	return rc;
}

/* Every version of object OID the reader may read, oldest first, one
 * entry per distinct version (the earliest item that carries it dates
 * it).  CSIP_ENOTFOUND when there is none: an object of an item the
 * reader may not read does not exist for it.
 *
 * The cost does not grow with the collection: the hub's identity and a
 * TLP marking, which every item (of that TLP) carries unchanged, are the
 * ones of the first such item the reader may read; any other object is
 * looked up in the object index, and only the items it names are built,
 * each through the policy as the walk would.  Until the index has been
 * backfilled, the walk of the whole collection is the exact answer. */
static int
object_versions(csip_req *rq, const char *oid, GArray **out)
{
	GArray *v = g_array_new(FALSE, TRUE, sizeof(version));
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, NULL);
	GArray *ids = NULL;
	json_t *items = NULL, *it;
	const char *tlp = NULL;
	int complete = 0, rc = CSIP_OK;
	size_t i;

	*out = NULL;
	if (csip_stix_common_object(rq->hub, oid, &tlp)) {
		rc = walk(rq, oid, tlp, 1, v, seen);
		if (rc < 0)
			goto out;
		goto found;
	}
	if ((rc = csip_stix_object_items(rq->hub, oid, &complete, &ids)) < 0)
		goto out;
	if (!complete) {
		if ((rc = walk(rq, oid, NULL, 0, v, seen)) < 0)
			goto out;
		goto found;
	}
	if ((rc = csip_item_pick_published(rq->hub, &rq->reader,
		(const int64_t *)(void *)ids->data, ids->len, &items)) < 0)
		goto out;
	json_array_foreach(items, i, it) {
		if ((rc = collect(rq, oid, json_integer_value(json_object_get(
			it, "id")), json_string_value(json_object_get(it,
			"published_at")), v, seen)) < 0)
			goto out;
	}
found:
	if (v->len == 0) {
		rc = csip_error_set(CSIP_ENOTFOUND, "object %s is not in this "
			"collection", oid);
		goto out;
	}
	g_array_sort(v, cmp_version);
	*out = v;
	v = NULL;
out:
	versions_free(v);
	g_hash_table_destroy(seen);
	if (ids)
		g_array_unref(ids);
	json_decref(items);
	return rc;
}

/* The versions of OID that F selects, as a page from the cursor. */
static int
versions_page(csip_req *rq, csip_resp *rs, int objects)
{
	const char *oid = rq->key2;
	const char *kind = objects ? "O" : "V";
	GArray *all = NULL;
	GPtrArray *sel = g_ptr_array_new();
	json_t *list = NULL;
	char **cur = NULL;
	filt f;
	guint start = 0, end;
	int rc;

	memset(&f, 0, sizeof f);
	if ((rc = readable_coll(rq)) < 0)
		goto out;
	if (!stix_id_ok(oid)) {
		rc = csip_error_set(CSIP_ENOTFOUND, "object %s is not in this "
			"collection: object ids are TYPE--UUID", oid);
		goto out;
	}
	if ((rc = parse_filters(rq, &f)) < 0)
		goto out;
	/* Versions lists every version unless match[version] says
	 * otherwise (§5.8 takes only match[spec_version]; the others are
	 * ignored). */
	if (!objects) {
		f.vfirst = f.vlast = 0;
		f.vall = 1;
	}
	if ((rc = object_versions(rq, oid, &all)) < 0)
		goto out;
	for (guint i = 0; i < all->len; i++) {
		version *e = &g_array_index(all, version, i);

		if (f.after[0] && strcmp(e->added, f.after) <= 0)
			continue;
		if (!spec_matches(&f, e->obj))
			continue;
		if (!(f.vall || (f.vfirst && i == 0) ||
		      (f.vlast && i == all->len - 1) ||
		      in_strv(f.versions, e->norm)))
			continue;
		g_ptr_array_add(sel, e);
	}
	if (f.next) {
		char *endp;
		gint64 off;

		if ((rc = cursor_read(rq, f.next, kind, 3, &cur)) < 0)
			goto out;
		off = g_ascii_strtoll(cur[2], &endp, 10);
		if (strcmp(cur[1], oid) != 0 || *endp || off < 0) {
			rc = csip_error_set(CSIP_EINVAL, "next belongs to "
				"another object: give the \"next\" of the "
				"previous page of this one");
			goto out;
		}
		start = (guint)MIN(off, (gint64)sel->len);
	}
	end = MIN(sel->len, start + (guint)f.limit);
	if (end == start) {
		rs->json = json_object();
		goto out;
	}
	list = json_array();
	for (guint i = start; i < end; i++) {
		version *e = sel->pdata[i];

		if (objects)
			json_array_append(list, e->obj);
		else
			json_array_append_new(list, json_string(
				json_string_value(json_object_get(e->obj,
				"modified")) ? json_string_value(
				json_object_get(e->obj, "modified")) :
				json_string_value(json_object_get(e->obj,
				"created")) ? json_string_value(
				json_object_get(e->obj, "created")) :
				e->added));
	}
	rs->json = json_pack("{sb so}", "more", end < sel->len,
			     objects ? "objects" : "versions", list);
	list = NULL;
	if (end < sel->len) {
		char *payload = g_strdup_printf("%s|%s|%u", kind, oid, end);
		char *next = cursor_make(rq, payload);

		json_object_set_new(rs->json, "next", json_string(next));
		g_free(next);
		g_free(payload);
	}
	g_strlcpy(rs->added_first, ((version *)sel->pdata[start])->added,
		  sizeof rs->added_first);
	g_strlcpy(rs->added_last, ((version *)sel->pdata[end - 1])->added,
		  sizeof rs->added_last);
out:
	json_decref(list);
	g_strfreev(cur);
	g_ptr_array_free(sel, TRUE);
	versions_free(all);
	filt_clear(&f);
	return rc;
}

int
csip_api_taxii_object(csip_req *rq, csip_resp *rs)
{
	return versions_page(rq, rs, 1);
}

int
csip_api_taxii_versions(csip_req *rq, csip_resp *rs)
{
	return versions_page(rq, rs, 0);
}

int
csip_api_taxii_delete(csip_req *rq, csip_resp *rs)
{
	coll c = { 0 };
	int rc;

	if ((rc = find_coll(rq, &c)) < 0)
		return rc;
	/* §5.7: DELETE needs can_read and can_write; no collection here
	 * has both.  Shared items leave a collection by being withdrawn. */
	return csip_error_set(CSIP_EPERM, "objects cannot be deleted from "
		"collection %s (can_read %s, can_write %s): %s", rq->key,
		c.can_read ? "true" : "false", c.can_write ? "true" : "false",
		c.shared ? "the hub withdraws shared items" : "ask the hub's "
		"analysts to dismiss a submitted report");
}

/* ---- submissions and status ------------------------------------------ */

static int
uuid_ok(const char *s)
{
	if (strlen(s) != 36)
		return 0;
	for (int i = 0; i < 36; i++)
		if ((i == 8 || i == 13 || i == 18 || i == 23) ? s[i] != '-'
		    : !g_ascii_isxdigit(s[i]) || g_ascii_isupper(s[i]))
			return 0;
	return 1;
}

static void
uuid_text(const guchar b[16], char out[37])
{
	g_snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		   "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4],
		   b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
		   b[14], b[15]);
}

static void
uuid4(char out[37])
{
	guchar b[16];

	randombytes_buf(b, sizeof b);
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	uuid_text(b, out);
}

/* A name-based bundle id: the same objects give the same bundle, so a
 * repeated POST is found as a duplicate report, not stored twice (§5.5:
 * a duplicate is not an error). */
static void
bundle_uuid(json_t *objects, char out[37])
{
	char *text = json_dumps(objects, JSON_COMPACT | JSON_SORT_KEYS);
	guchar h[32];

	crypto_generichash(h, sizeof h, (const guchar *)(text ? text : ""),
			   text ? strlen(text) : 0, NULL, 0);
	free(text);
	h[6] = (h[6] & 0x0f) | 0x50;
	h[8] = (h[8] & 0x3f) | 0x80;
	uuid_text(h, out);
}

static json_t *
status_json(csip_stmt *st)
{
	json_t *s = json_pack("{ss ss ss sI sI sI sI}",
		"id", csip_stmt_text(st, 0),
		"status", csip_stmt_text(st, 2),
		"request_timestamp", csip_stmt_text(st, 1),
		"total_count", (json_int_t)csip_stmt_int64(st, 3),
		"success_count", (json_int_t)csip_stmt_int64(st, 4),
		"failure_count", (json_int_t)csip_stmt_int64(st, 5),
		"pending_count", (json_int_t)csip_stmt_int64(st, 6));
	static const char *const lists[] = { "successes", "failures",
		"pendings" };

	for (int i = 0; i < 3; i++) {
		json_t *l = json_loads(csip_stmt_text(st, 7 + i), 0, NULL);

		/* §2: a list is never empty; an empty one is left out. */
		if (json_array_size(l) > 0)
			json_object_set_new(s, lists[i], l);
		else
			json_decref(l);
	}
	return s;
}

static int
load_status(csip_req *rq, const char *id, json_t **out)
{
	csip_stmt *st = NULL;
	char org[24];
	int rc;

	*out = NULL;
	g_snprintf(org, sizeof org, "%" PRId64, rq->reader.org_id);
	rc = csip_store_prepare_bind(csip_hub_store(rq->hub), &st, "SELECT "
		"id, request_timestamp, status, total_count, success_count, "
		"failure_count, pending_count, successes, failures, pendings "
		"FROM taxii_status WHERE id = ? AND org_id = ?", id, org,
		NULL);
	if (rc == CSIP_OK && (rc = csip_stmt_step(st)) == CSIP_ROW) {
		*out = status_json(st);
		rc = CSIP_OK;
	} else if (rc == CSIP_DONE) {
		rc = csip_error_set(CSIP_ENOTFOUND, "status %s does not exist",
				    id);
	}
	csip_stmt_free(st);
	return rc;
}

int
csip_api_taxii_status(csip_req *rq, csip_resp *rs)
{
	/* Another organisation's status is answered like a missing one. */
	if (!uuid_ok(rq->key))
		return csip_error_set(CSIP_ENOTFOUND, "status %s does not "
			"exist: status ids are lower-case UUIDs", rq->key);
	return load_status(rq, rq->key, &rs->json);
}

int
csip_api_taxii_add(csip_req *rq, csip_resp *rs)
{
	csip_store *s = csip_hub_store(rq->hub);
	csip_report_in in = { 0 };
	csip_ingest_result res;
	json_t *objects, *bundle = NULL, *ok = NULL, *o;
	const char *key;
	json_t *v;
	char sid[37], bid[37], ts[28], org[24], total[24], *oks = NULL;
	char bundle_id[48];
	size_t i;
	coll c = { 0 };
	int rc;

	if ((rc = find_coll(rq, &c)) < 0)
		return rc;
	if (!c.can_write)
		return csip_error_set(CSIP_EPERM, "collection %s cannot be "
			"written (can_write is false): it is for reading",
			rq->key);
	/* §3.7 envelope: objects, and more/next that a client may copy
	 * from a page it got.  Custom x_ properties are ignored (§7.1.1). */
	if (!json_is_object(rq->json))
		return fail(rs, 422, "the body must be a TAXII envelope: a "
			"JSON object with \"objects\"");
	json_object_foreach(rq->json, key, v) {
		if (strcmp(key, "objects") && strcmp(key, "more") &&
		    strcmp(key, "next") && strncmp(key, "x_", 2)) {
			char msg[200];

			g_snprintf(msg, sizeof msg, "the envelope has an "
				"unknown property \"%.60s\": send objects "
				"only", key);
			return fail(rs, 422, msg);
		}
	}
	objects = json_object_get(rq->json, "objects");
	if (!json_is_array(objects) || json_array_size(objects) == 0)
		return fail(rs, 422, "the envelope has no \"objects\": give a "
			"non-empty array of STIX 2.1 objects");

	bundle_uuid(objects, bid);
	g_snprintf(bundle_id, sizeof bundle_id, "bundle--%s", bid);
	bundle = json_pack("{ss ss sO}", "type", "bundle", "id", bundle_id,
			   "objects", objects);
	in.org = rq->who.org;
	in.source = "taxii";
	csip_time_now_us(ts);
	uuid4(sid);
	/* The report and its status commit together: the 202 is sent
	 * only once both are durable. */
	if ((rc = csip_store_begin(s)) < 0)
		goto out;
	rc = csip_report_submit_stix(rq->hub, rq->actor, &in, bundle, &res);
	if (rc == CSIP_EINVAL) {
		char *msg = g_strdup(csip_error_last());

		/* Valid JSON that is not valid STIX 2.1: 422 (§5.5). */
		csip_store_rollback(s);
		rc = fail(rs, 422, msg);
		g_free(msg);
		goto out;
	}
	if (rc < 0) {
		csip_store_rollback(s);
		goto out;
	}
	ok = json_array();
	json_array_foreach(objects, i, o) {
		const char *ver;

		ver = json_string_value(json_object_get(o, "modified"));
		if (ver == NULL)
			ver = json_string_value(json_object_get(o, "created"));
		json_array_append_new(ok, json_pack("{ss ss ss}", "id",
			json_string_value(json_object_get(o, "id")), "version",
			ver ? ver : ts, "message", res.outcome ==
			CSIP_INGEST_DUPLICATE ? "already received" :
			"received"));
	}
	oks = json_dumps(ok, JSON_COMPACT);
	g_snprintf(org, sizeof org, "%" PRId64, rq->reader.org_id);
	g_snprintf(total, sizeof total, "%zu", json_array_size(objects));
	{
		char rid[24];

		g_snprintf(rid, sizeof rid, "%" PRId64, res.report_id);
		rc = csip_store_run(s, NULL, "INSERT INTO taxii_status (id, "
			"org_id, request_timestamp, status, total_count, "
			"success_count, failure_count, pending_count, "
			"successes, failures, pendings, report_id) VALUES (?, "
			"?, ?, 'complete', ?, ?, 0, 0, ?, '[]', '[]', ?)", sid,
			org, ts, total, total, oks, res.report_id > 0 ? rid :
			CSIP_SQL_NULL, NULL);
	}
	if (rc < 0) {
		csip_store_rollback(s);
		goto out;
	}
	if ((rc = csip_store_commit(s)) < 0)
		goto out;
	if ((rc = load_status(rq, sid, &rs->json)) < 0)
		goto out;
	rs->status = 202;
out:
	free(oks);
	json_decref(ok);
	json_decref(bundle);
	return rc;
}
