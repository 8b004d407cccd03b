/*
 * match_feed.c - the matcher's indicators kept up to date (see
 * match_feed.h).
 *
 * An incremental load reads what was published since into a small
 * scratch set first and keeps only the values not seen before: most polls
 * bring nothing new (or only the overlap, read again), and then the large
 * set is neither copied nor built.  When there is something new, the
 * current set is copied, the new values added and the copy built, while
 * the caller goes on matching with the current one.
 */
#include "lib/match_feed.h"
#include "util/error.h"

#include <curl/curl.h>
#include <glib.h>
#include <string.h>

struct csip_match_feed {
	char *where;
	csip_match_src_format format;
	GHashTable *items;      /* "type\tvalue" -> items_of */
	char newest[32];        /* the newest publication time read */
	int has_items;
	int url_ok;             /* WHERE takes since= */
	const csip_match_set *last;  /* the set last made, to copy */
};

typedef struct row {
	char *key;
	int64_t item;
} row;

/* What one load gathers from the rows it reads. */
typedef struct gather {
	csip_match_set *set;
	GHashTable *items;      /* as the feed's, for this load only */
	char newest[32];
} gather;

/* The items that carry one value: ascending, no 0 (N 0 when the feed
 * names the value without an item). */
typedef struct items_of {
	size_t n;
	int64_t id[];
} items_of;

static GHashTable *
items_new(void)
{
	return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

static char *
key_of(csip_ind_type type, const char *value)
{
	return g_strdup_printf("%s\t%s", csip_ind_type_name(type), value);
}

/* Add ITEM (0: none) to the items of KEY in T; steals KEY.  Most values
 * are carried by one item: the list grows one at a time. */
static void
keep_item(GHashTable *t, char *key, int64_t item)
{
	gpointer orig;
	items_of *have, *grown;
	size_t i;

	if (!g_hash_table_lookup_extended(t, key, &orig, (gpointer *)&have)) {
		have = g_malloc(sizeof *have + (item > 0 ? sizeof(int64_t) :
						0));
		have->n = item > 0;
		if (item > 0)
			have->id[0] = item;
		g_hash_table_insert(t, key, have);
		return;
	}
	g_free(key);
	for (i = 0; i < have->n && have->id[i] < item; i++)
		;
	if (item <= 0 || (i < have->n && have->id[i] == item))
		return;
	grown = g_malloc(sizeof *grown + (have->n + 1) * sizeof(int64_t));
	grown->n = have->n + 1;
	memcpy(grown->id, have->id, i * sizeof(int64_t));
	grown->id[i] = item;
	memcpy(grown->id + i + 1, have->id + i, (have->n - i) *
	       sizeof(int64_t));
	/* Replace the value under the same key: steal, then insert. */
	g_hash_table_steal(t, orig);
	g_hash_table_insert(t, orig, grown);
	g_free(have);
}

static void
on_row(void *ud, const csip_match_src_row *r)
{
	gather *g = ud;
	csip_ind_type type;
	const char *v = csip_match_indicator(g->set, r->ind, &type);

	keep_item(g->items, key_of(type, v), r->item);
	/* The hub writes one form, which compares as text. */
	if (r->published_at && strcmp(r->published_at, g->newest) > 0)
		g_strlcpy(g->newest, r->published_at, sizeof(g->newest));
}

csip_match_feed *
csip_match_feed_new(const char *where, csip_match_src_format f)
{
	csip_match_feed *fd = g_new0(csip_match_feed, 1);
	char *probe = csip_match_feed_since_url(where, "2000-01-01");

	fd->where = g_strdup(where);
	fd->format = f;
	fd->items = items_new();
	fd->url_ok = probe != NULL;
	g_free(probe);
	return fd;
}

void
csip_match_feed_free(csip_match_feed *fd)
{
	if (fd == NULL)
		return;
	g_hash_table_destroy(fd->items);
	g_free(fd->where);
	g_free(fd);
}

int
csip_match_feed_has_items(const csip_match_feed *fd)
{
	return fd->has_items;
}

int
csip_match_feed_incremental(const csip_match_feed *fd)
{
	return fd->url_ok && fd->last != NULL && fd->newest[0] != '\0';
}

const int64_t *
csip_match_feed_items(const csip_match_feed *fd, csip_ind_type type,
		      const char *value, size_t *n)
{
	char *key = key_of(type, value);
	const items_of *it = g_hash_table_lookup(fd->items, key);

	g_free(key);
	*n = it ? it->n : 0;
	return it ? it->id : NULL;
}

char *
csip_match_feed_since_url(const char *url, const char *since)
{
	CURLU *u = curl_url();
	char *query = NULL, *out = NULL, *param = NULL, *res = NULL;

	if (u == NULL || (g_ascii_strncasecmp(url, "http://", 7) != 0 &&
	    g_ascii_strncasecmp(url, "https://", 8) != 0) ||
	    curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		goto out;
	/* A since= of the caller's own is theirs to keep. */
	if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK) {
		char *q = g_strconcat("&", query, NULL);
		int has = strstr(q, "&since=") != NULL;

		g_free(q);
		if (has)
			goto out;
	}
	param = g_strconcat("since=", since, NULL);
	if (curl_url_set(u, CURLUPART_QUERY, param, CURLU_APPENDQUERY |
			 CURLU_URLENCODE) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &out, 0) != CURLUE_OK)
		goto out;
	res = g_strdup(out);
out:
	curl_free(query);
	curl_free(out);
	g_free(param);
	curl_url_cleanup(u);
	return res;
}

/* NEWEST less the overlap, as since= takes it. */
static char *
since_of(const char *newest)
{
	GDateTime *t = g_date_time_new_from_iso8601(newest, NULL), *e;
	char *s;

	if (t == NULL)
		return NULL;
	e = g_date_time_add_seconds(t, -(gdouble)CSIP_MATCH_FEED_OVERLAP);
	s = g_date_time_format(e, "%Y-%m-%dT%H:%M:%SZ");
	g_date_time_unref(e);
	g_date_time_unref(t);
	return s;
}

static int
load_full(csip_match_feed *fd, csip_bad_indicator_fn bad, void *ud,
	  csip_match_set **out, csip_match_feed_stats *st)
{
	gather g = { csip_match_set_new(), items_new(), "" };
	csip_match_src_cb cb = { bad, ud, on_row, &g };
	int rc;

	st->full = 1;
	rc = csip_match_src_load_cb(g.set, fd->where, fd->format, &cb,
				    &st->src);
	if (rc < 0) {
		csip_match_set_free(g.set);
		g_hash_table_destroy(g.items);
		return rc;
	}
	csip_match_set_build(g.set);
	g_hash_table_destroy(fd->items);
	fd->items = g.items;
	memcpy(fd->newest, g.newest, sizeof(fd->newest));
	fd->has_items = st->src.item_column;
	fd->last = g.set;
	st->count = csip_match_set_count(g.set);
	*out = g.set;
	return CSIP_OK;
}

static int
load_since(csip_match_feed *fd, csip_bad_indicator_fn bad, void *ud,
	   csip_match_set **out, csip_match_feed_stats *st)
{
	gather g = { csip_match_set_new(), items_new(), "" };
	csip_match_src_cb cb = { bad, ud, on_row, &g };
	csip_match_set *next = NULL;
	GHashTableIter it;
	gpointer k, v;
	char *since = since_of(fd->newest), *url = NULL;
	int rc;

	url = since ? csip_match_feed_since_url(fd->where, since) : NULL;
	if (url == NULL) {
		rc = csip_error_set(CSIP_EINVAL, "%s: no incremental load "
				    "from here", fd->where);
		goto out;
	}
	rc = csip_match_src_load_cb(g.set, url, fd->format, &cb, &st->src);
	if (rc < 0)
		goto out;
	g_hash_table_iter_init(&it, g.items);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		const char *key = k, *tab = strchr(key, '\t');
		char *type;

		if (g_hash_table_contains(fd->items, key))
			continue;
		if (next == NULL)
			next = csip_match_set_copy(fd->last);
		/* The value is the canonical form of its type: read as
		 * that type again, it is the same. */
		type = g_strndup(key, (size_t)(tab - key));
		if (csip_match_set_add(next, tab + 1, strlen(tab + 1),
		    csip_ind_type_from_name(type)) == CSIP_OK)
			st->fresh++;
		csip_error_clear();
		g_free(type);
	}
	g_hash_table_iter_init(&it, g.items);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		const items_of *got = v;

		if (got->n == 0)
			keep_item(fd->items, g_strdup(k), 0);
		for (size_t i = 0; i < got->n; i++)
			keep_item(fd->items, g_strdup(k), got->id[i]);
	}
	if (strcmp(g.newest, fd->newest) > 0)
		memcpy(fd->newest, g.newest, sizeof(fd->newest));
	if (next) {
		csip_match_set_build(next);
		fd->last = next;
		st->count = csip_match_set_count(next);
		*out = next;
	} else {
		st->count = csip_match_set_count(fd->last);
	}
out:
	csip_match_set_free(g.set);
	g_hash_table_destroy(g.items);
	g_free(since);
	g_free(url);
	return rc;
}

int
csip_match_feed_load(csip_match_feed *fd, int full,
		     csip_bad_indicator_fn bad, void *ud,
		     csip_match_set **out, csip_match_feed_stats *st)
{
	memset(st, 0, sizeof(*st));
	*out = NULL;
	if (full || !csip_match_feed_incremental(fd))
		return load_full(fd, bad, ud, out, st);
	return load_since(fd, bad, ud, out, st);
}
