/*
 * match_report.c - the matcher's sightings back to the hub as feedback
 * (see match_report.h).
 *
 * Two tables.  LIVE counts per indicator what the matcher reports, under
 * a lock, since the matching thread adds while another sends.  PENDING,
 * the sender's own, counts per item and indicator what is on its way: a
 * send moves LIVE into it (asking which item carries each indicator at
 * that moment) and removes what the hub recorded.  What a failed send
 * keeps is merged with what comes later, so each feedback carries the
 * whole count and the widest span.
 *
 * Except one whose fate is unknown: a POST that failed on the way back
 * (no answer, a 5xx, a 429) may have been recorded.  Each POST carries an
 * Idempotency-Key, and a failed one is frozen under its key, count and
 * span in PENDING ("item\ttype\tvalue\tKEY"), sent again exactly so
 * until it is answered: the hub records it once, or answers with the one
 * it has.  What is seen meanwhile goes to a new entry.
 */
#include "lib/match_report.h"
#include "lib/feedback.h"
#include "lib/match_src.h"
#include "util/error.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The hub takes at most this count in one feedback; more is sent over
 * several sends. */
#define COUNT_MAX 1000000000ull
/* An answer is read up to here (an error message is short). */
#define ANSWER_MAX (64u * 1024)
#define ITEM_PATH "/api/v1/items/"

typedef struct agg {
	int64_t item;          /* 0 in LIVE */
	csip_ind_type type;
	char *value;
	uint64_t count;
	gint64 first, last;    /* Unix seconds */
	char key[40];          /* the Idempotency-Key of a POST whose fate
				* is unknown; "" when none is */
} agg;

struct csip_match_report {
	char *base;            /* no trailing '/' */
	char *token;
	GMutex lock;           /* LIVE */
	GHashTable *live;      /* "type\tvalue" -> agg */
	GHashTable *pending;   /* "item\ttype\tvalue" -> agg */
	GHashTable *sealed;    /* "type\tvalue" -> agg, keyed, no item yet */
	int sealed_only;       /* a send takes SEALED, never LIVE */
	CURL *h;
};

static void
agg_free(gpointer p)
{
	agg *a = p;

	g_free(a->value);
	g_free(a);
}

static GHashTable *
table_new(void)
{
	return g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
				     agg_free);
}

/* curl_global_init is not thread-safe and must run once per process,
 * before the threads that use libcurl. */
static gpointer
curl_init_once(gpointer unused)
{
	(void)unused;
	return GINT_TO_POINTER(curl_global_init(CURL_GLOBAL_DEFAULT) ==
			       CURLE_OK ? 1 : -1);
}

int
csip_match_report_new(const char *url, const char *token,
		      csip_match_report **out)
{
	static GOnce once = G_ONCE_INIT;
	csip_match_report *r;

	*out = NULL;
	if (g_ascii_strncasecmp(url, "http://", 7) != 0 &&
	    g_ascii_strncasecmp(url, "https://", 8) != 0)
		return csip_error_set(CSIP_EINVAL, "--report %s: give the "
				      "hub's address, https://...", url);
	if (token == NULL || *token == '\0')
		return csip_error_set(CSIP_EINVAL, "--report needs the "
				      "member's API token in CSIP_TOKEN");
	if (!csip_match_src_token_allowed(url))
		return csip_error_set(CSIP_EINVAL, "--report %s: the token "
				      "would cross the network in clear; use "
				      "https (http only to this machine)",
				      url);
	if (GPOINTER_TO_INT(g_once(&once, curl_init_once, NULL)) != 1)
		return csip_error_set(CSIP_ERR, "libcurl could not be "
				      "initialised: sightings cannot be sent");
	r = g_new0(csip_match_report, 1);
	r->base = g_strdup(url);
	while (r->base[0] && r->base[strlen(r->base) - 1] == '/')
		r->base[strlen(r->base) - 1] = '\0';
	r->token = g_strdup(token);
	g_mutex_init(&r->lock);
	r->live = table_new();
	r->pending = table_new();
	r->sealed = table_new();
	*out = r;
	return CSIP_OK;
}

void
csip_match_report_free(csip_match_report *r)
{
	if (r == NULL)
		return;
	if (r->h)
		curl_easy_cleanup(r->h);
	g_hash_table_destroy(r->live);
	g_hash_table_destroy(r->pending);
	g_hash_table_destroy(r->sealed);
	g_mutex_clear(&r->lock);
	if (r->token)
		memset(r->token, 0, strlen(r->token));
	g_free(r->token);
	g_free(r->base);
	g_free(r);
}

gint64
csip_match_report_time(const char *ts, gint64 now)
{
	GTimeZone *local;
	GDateTime *dt;
	gint64 t;

	if (ts == NULL || *ts == '\0')
		return now;
	/* A log without a zone writes the machine's local time. */
	local = g_time_zone_new_local();
	dt = g_date_time_new_from_iso8601(ts, local);
	g_time_zone_unref(local);
	if (dt == NULL)
		return now;
	t = g_date_time_to_unix(dt);
	g_date_time_unref(dt);
	return t;
}

/* Add A's counts to KEY in T (a new entry steals KEY and copies A). */
static void
merge(GHashTable *t, char *key, const agg *a)
{
	agg *have = g_hash_table_lookup(t, key);

	if (have == NULL) {
		have = g_new(agg, 1);
		*have = *a;
		have->value = g_strdup(a->value);
		g_hash_table_insert(t, key, have);
		return;
	}
	g_free(key);
	have->count += a->count;
	have->first = MIN(have->first, a->first);
	have->last = MAX(have->last, a->last);
}

void
csip_match_report_add(csip_match_report *r, csip_ind_type type,
		      const char *value, const char *ts)
{
	gint64 t = csip_match_report_time(ts, g_get_real_time() /
					  G_USEC_PER_SEC);
	agg a = { 0, type, (char *)value, 1, t, t, "" };

	g_mutex_lock(&r->lock);
	merge(r->live, g_strdup_printf("%s\t%s", csip_ind_type_name(type),
				       value), &a);
	g_mutex_unlock(&r->lock);
}

static char *
iso(gint64 t)
{
	GDateTime *d = g_date_time_new_from_unix_utc(t);
	char *s = d ? g_date_time_format(d, "%Y-%m-%dT%H:%M:%SZ") :
		g_strdup("1970-01-01T00:00:00Z");

	if (d)
		g_date_time_unref(d);
	return s;
}

static size_t
on_answer(char *p, size_t size, size_t nmemb, void *ud)
{
	GString *g = ud;
	size_t n = size * nmemb;

	if (g->len < ANSWER_MAX)
		g_string_append_len(g, p, (gssize)MIN(n, ANSWER_MAX - g->len));
	return n;
}

/* The hub's error message in ANSWER, printable, or "". */
static char *
answer_message(const GString *answer)
{
	json_t *j = json_loadb(answer->str, answer->len, 0, NULL);
	const char *m = json_string_value(json_object_get(json_object_get(j,
		"error"), "message"));
	char *s = g_strdup(m ? m : "");

	json_decref(j);
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	return s;
}

/* A fresh Idempotency-Key for A. */
static void
new_key(agg *a)
{
	char *u = g_uuid_string_random();

	g_strlcpy(a->key, u, sizeof a->key);
	g_free(u);
}

/* The Idempotency-Key, in OUT, of the feedback to ITEM of counts sealed
 * under KEY when the value is carried by more than one item: a UUID-shaped
 * digest of both, so that every restore of the same state gives the same
 * keys. */
static void
item_key(const char *key, int64_t item, char out[40])
{
	char *in = g_strdup_printf("%s\t%" PRId64, key, item);
	char *d = g_compute_checksum_for_string(G_CHECKSUM_SHA256, in, -1);

	g_snprintf(out, 40, "%.8s-%.4s-%.4s-%.4s-%.12s", d, d + 8, d + 12,
		   d + 16, d + 20);
	g_free(d);
	g_free(in);
}

/* LIVE, handed over whole; the matching thread goes on in a new one. */
static GHashTable *
take_live(csip_match_report *r)
{
	GHashTable *live;

	g_mutex_lock(&r->lock);
	live = r->live;
	r->live = table_new();
	g_mutex_unlock(&r->lock);
	return live;
}

enum { SENT, DROP, STOP };

/* POST one feedback for A, under A's key (made now if it has none); *N
 * is the count it carried.  On DROP and STOP the error message says
 * why. */
static int
post(csip_match_report *r, agg *a, uint64_t *n)
{
	GString *answer = g_string_new(NULL);
	struct curl_slist *hdr = NULL;
	char errbuf[CURL_ERROR_SIZE] = "", *url, *first = iso(a->first),
	     *last = iso(a->last), *body = NULL, *msg = NULL;
	json_t *j;
	CURLcode cc;
	long status = 0;
	int res = STOP;

	*n = MIN(a->count, COUNT_MAX);
	url = g_strdup_printf("%s" ITEM_PATH "%" PRId64 "/feedback", r->base,
			      a->item);
	j = json_pack("{ss sI ss ss s{ss ss}}", "kind", "sighting", "count",
		      (json_int_t)*n, "seen_at", first, "last_seen_at", last,
		      "indicator", "type", csip_ind_type_name(a->type),
		      "value", a->value);
	body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (r->h == NULL && (r->h = curl_easy_init()) == NULL) {
		csip_error_set(CSIP_EIO, "%s: libcurl could not start", url);
		goto out;
	}
	/* One handle for every feedback: the connection is kept. */
	curl_easy_reset(r->h);
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	if (a->key[0] == '\0')
		new_key(a);
	{
		char h[64];

		g_snprintf(h, sizeof h, "Idempotency-Key: %s", a->key);
		hdr = curl_slist_append(hdr, h);
	}
	curl_easy_setopt(r->h, CURLOPT_URL, url);
	curl_easy_setopt(r->h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(r->h, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(r->h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(r->h, CURLOPT_PROTOCOLS,
			 (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(r->h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(r->h, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(r->h, CURLOPT_USERAGENT, "csip-match");
	curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(r->h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(r->h, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
	curl_easy_setopt(r->h, CURLOPT_XOAUTH2_BEARER, r->token);
	curl_easy_setopt(r->h, CURLOPT_WRITEFUNCTION, on_answer);
	curl_easy_setopt(r->h, CURLOPT_WRITEDATA, answer);
	cc = curl_easy_perform(r->h);
	if (cc != CURLE_OK) {
		csip_error_set(CSIP_EIO, "%s: %s", r->base, errbuf[0] ? errbuf
			       : curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &status);
	if (status == 201 || status == 200) {
		res = SENT;
		goto out;
	}
	msg = answer_message(answer);
	if (status == 401 || status == 403) {
		csip_error_set(CSIP_EIO, "%s refused the token (HTTP %ld%s%s); "
			       "check that CSIP_TOKEN holds a valid API token "
			       "that may write", r->base, status, *msg ? ": " :
			       "", msg);
	} else if (status == 400 || status == 404 || status == 409 ||
		   status == 413 || status == 422) {
		/* Sending it again would be refused again. */
		res = DROP;
		csip_error_set(CSIP_EINVAL, "HTTP %ld%s%s", status,
			       *msg ? ": " : "", msg);
	} else {
		csip_error_set(CSIP_EIO, "%s answered HTTP %ld%s%s", r->base,
			       status, *msg ? ": " : "", msg);
	}
out:
	curl_slist_free_all(hdr);
	if (r->h)
		curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, NULL);
	g_string_free(answer, TRUE);
	free(body);
	g_free(url);
	g_free(first);
	g_free(last);
	g_free(msg);
	return res;
}

static gint
cmp_key(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The key of A in PENDING: frozen under its Idempotency-Key, or open. */
static char *
pending_key(const agg *a)
{
	return a->key[0] ? g_strdup_printf("%" PRId64 "\t%s\t%s\t%s",
		a->item, csip_ind_type_name(a->type), a->value, a->key) :
		g_strdup_printf("%" PRId64 "\t%s\t%s", a->item,
		csip_ind_type_name(a->type), a->value);
}

/* A's POST under KEY failed on the way: keep it apart, as it is, so that
 * it is sent again the same. */
static void
freeze(csip_match_report *r, const char *key, agg *a)
{
	char *now = pending_key(a);
	gpointer old_key, value;

	if (strcmp(now, key) != 0 && g_hash_table_steal_extended(r->pending,
	    key, &old_key, &value)) {
		g_free(old_key);
		g_hash_table_insert(r->pending, now, value);
		now = NULL;
	}
	g_free(now);
}

void
csip_match_report_sealed_only(csip_match_report *r)
{
	r->sealed_only = 1;
}

void
csip_match_report_seal(csip_match_report *r)
{
	GHashTable *live;
	GHashTableIter it;
	gpointer k, v;

	live = take_live(r);
	g_hash_table_iter_init(&it, live);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		agg *a = v, *have = g_hash_table_lookup(r->sealed, k);

		/* Never sent yet: its key may still take more. */
		if (have == NULL)
			new_key(a);
		merge(r->sealed, g_strdup(k), a);
	}
	g_hash_table_destroy(live);
}

/* Move LIVE (or SEALED) into PENDING, each indicator under its item. */
static void
resolve(csip_match_report *r, csip_match_item_fn item, void *item_ud,
	csip_match_note_fn note, void *note_ud, csip_match_report_stats *st)
{
	GHashTable *live;
	GHashTableIter it;
	gpointer k, v;

	if (r->sealed_only) {
		live = r->sealed;
		r->sealed = table_new();
	} else {
		live = take_live(r);
	}
	g_hash_table_iter_init(&it, live);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		agg *a = v;
		char key[sizeof a->key];
		size_t n = 0;
		const int64_t *ids = item(item_ud, a->type, a->value, &n);

		memcpy(key, a->key, sizeof key);
		for (size_t i = 0; i < n; i++) {
			a->item = ids[i];
			/* Sealed ones keep their key, and so their own
			 * entry: the first item the key itself (the one
			 * a single item had), the others one made from it
			 * and the item, the same at every restore. */
			if (key[0] && i > 0)
				item_key(key, a->item, a->key);
			merge(r->pending, pending_key(a), a);
		}
		if (n > 0)
			continue;
		st->dropped += a->count;
		if (note) {
			char *m = g_strdup_printf("%s %s: %" PRIu64
				" sighting%s not reported: no item of the feed "
				"carries it any more (withdrawn or expired)",
				csip_ind_type_name(a->type), a->value, a->count,
				a->count == 1 ? "" : "s");

			note(note_ud, m);
			g_free(m);
		}
	}
	g_hash_table_destroy(live);
}

int
csip_match_report_send(csip_match_report *r, csip_match_item_fn item,
		       void *item_ud, csip_match_note_fn note,
		       void *note_ud, csip_match_report_stats *st)
{
	GPtrArray *keys = NULL;
	GHashTableIter it;
	gpointer k, v;
	char *why;
	int rc = CSIP_OK;

	memset(st, 0, sizeof(*st));
	resolve(r, item, item_ud, note, note_ud, st);
	keys = g_ptr_array_new_with_free_func(g_free);
	g_hash_table_iter_init(&it, r->pending);
	while (g_hash_table_iter_next(&it, &k, &v))
		g_ptr_array_add(keys, g_strdup(k));
	/* In a stable order: a retry resumes where the last one stopped. */
	g_ptr_array_sort(keys, cmp_key);
	for (guint i = 0; i < keys->len; i++) {
		const char *key = g_ptr_array_index(keys, i);
		agg *a = g_hash_table_lookup(r->pending, key);
		uint64_t n = 0;
		int res = post(r, a, &n);

		if (res == STOP) {
			freeze(r, key, a);
			rc = CSIP_EIO;
			break;
		}
		if (res == DROP) {
			st->dropped += a->count;
			if (note) {
				char *m = g_strdup_printf("%s %s: %" PRIu64
					" sighting%s not reported to item %"
					PRId64 ": the hub refused them (%s)",
					csip_ind_type_name(a->type), a->value,
					a->count, a->count == 1 ? "" : "s",
					a->item, csip_error_last());

				note(note_ud, m);
				g_free(m);
			}
			csip_error_clear();
			g_hash_table_remove(r->pending, key);
			continue;
		}
		st->sent++;
		st->sightings += n;
		a->key[0] = '\0';
		a->count -= n;
		if (a->count == 0)
			g_hash_table_remove(r->pending, key);
	}
	g_ptr_array_free(keys, TRUE);
	if (g_hash_table_size(r->pending) > 0) {
		g_hash_table_iter_init(&it, r->pending);
		while (g_hash_table_iter_next(&it, &k, &v))
			st->kept += ((agg *)v)->count;
		st->kept_indicators = g_hash_table_size(r->pending);
		if (rc == CSIP_OK)
			return rc;  /* counts over the hub's maximum, on */
		why = g_strdup(csip_error_last());
		csip_error_set(rc, "reporting to %s; %" PRIu64 " sighting%s "
			       "of %zu indicator%s kept for the next report",
			       why, st->kept, st->kept == 1 ? "" : "s",
			       st->kept_indicators, st->kept_indicators == 1 ?
			       "" : "s");
		g_free(why);
	}
	return rc;
}

static void
pending_line(GString *out, const agg *a)
{
	char *first = iso(a->first), *last = iso(a->last), *s;
	json_t *j = json_pack("{so s{ss ss} sI ss ss}", "item", a->item > 0 ?
		json_integer(a->item) : json_null(), "indicator", "type",
		csip_ind_type_name(a->type), "value", a->value, "count",
		(json_int_t)a->count, "first_seen", first, "last_seen", last);

	if (a->key[0])
		json_object_set_new(j, "key", json_string(a->key));

	s = json_dumps(j, JSON_COMPACT);
	g_string_append_printf(out, "%s\n", s);
	free(s);
	json_decref(j);
	g_free(first);
	g_free(last);
}

void
csip_match_report_pending(csip_match_report *r, GString *out)
{
	GHashTableIter it;
	gpointer k, v;

	g_hash_table_iter_init(&it, r->pending);
	while (g_hash_table_iter_next(&it, &k, &v))
		pending_line(out, v);
	g_hash_table_iter_init(&it, r->sealed);
	while (g_hash_table_iter_next(&it, &k, &v))
		pending_line(out, v);
	g_mutex_lock(&r->lock);
	g_hash_table_iter_init(&it, r->live);
	while (g_hash_table_iter_next(&it, &k, &v))
		pending_line(out, v);
	g_mutex_unlock(&r->lock);
}

/* Unix seconds of an ISO 8601 time in UTC as iso() writes it; -1 when
 * it is not one. */
static gint64
iso_parse(const char *s)
{
	GDateTime *d = s ? g_date_time_new_from_iso8601(s, NULL) : NULL;
	gint64 t = d ? g_date_time_to_unix(d) : -1;

	if (d)
		g_date_time_unref(d);
	return t;
}

int
csip_match_report_restore(csip_match_report *r, const char *pending)
{
	GPtrArray *got = g_ptr_array_new_with_free_func(agg_free);
	char **lines = g_strsplit(pending ? pending : "", "\n", -1);
	int rc = CSIP_OK;

	for (int i = 0; lines[i] && rc == CSIP_OK; i++) {
		json_t *j, *item, *count, *key;
		const char *type = NULL, *value = NULL, *first = NULL,
			   *last = NULL;
		agg a = { 0 };

		if (*g_strstrip(lines[i]) == '\0')
			continue;
		j = json_loads(lines[i], 0, NULL);
		item = json_object_get(j, "item");
		count = json_object_get(j, "count");
		key = json_object_get(j, "key");
		if (json_is_string(key))
			g_strlcpy(a.key, json_string_value(key), sizeof a.key);
		if (json_unpack(j, "{s:{s:s, s:s}, s:s, s:s}", "indicator",
				"type", &type, "value", &value, "first_seen",
				&first, "last_seen", &last) == 0) {
			a.type = csip_ind_type_from_name(type);
			a.first = iso_parse(first);
			a.last = iso_parse(last);
			a.item = json_is_integer(item) ?
				json_integer_value(item) : 0;
		}
		if (value == NULL || a.type == CSIP_IND_UNKNOWN ||
		    a.first < 0 || a.last < a.first ||
		    !(json_is_null(item) || a.item > 0) ||
		    (key && (!json_is_string(key) ||
		     strlen(json_string_value(key)) >= sizeof a.key ||
		     (a.key[0] && csip_feedback_key_check(a.key) < 0))) ||
		    !json_is_integer(count) || json_integer_value(count) < 1) {
			rc = csip_error_set(CSIP_EINVAL, "unsent sighting %d "
				"is not {\"item\", \"indicator\": {\"type\", "
				"\"value\"}, \"count\", \"first_seen\", "
				"\"last_seen\"}", i + 1);
		} else {
			agg *x = g_new(agg, 1);

			*x = a;
			x->value = g_strdup(value);
			x->count = (uint64_t)json_integer_value(count);
			g_ptr_array_add(got, x);
		}
		json_decref(j);
	}
	for (guint i = 0; rc == CSIP_OK && i < got->len; i++) {
		agg *a = g_ptr_array_index(got, i);
		char *key = g_strdup_printf("%s\t%s",
			csip_ind_type_name(a->type), a->value);

		if (a->item > 0) {
			g_free(key);
			merge(r->pending, pending_key(a), a);
		} else if (a->key[0]) {
			/* It may have reached the hub before the earlier
			 * run stopped: apart, under its key, never added to
			 * (csip_match_report_seal() looks for "type\tvalue"). */
			char *k2 = g_strdup_printf("%s\t%s", key, a->key);

			g_free(key);
			merge(r->sealed, k2, a);
		} else {
			g_mutex_lock(&r->lock);
			merge(r->live, key, a);
			g_mutex_unlock(&r->lock);
		}
	}
	g_strfreev(lines);
	g_ptr_array_free(got, TRUE);
	return rc;
}
