/*
 * match_feed.h - the matcher's indicators kept up to date while it follows
 * logs, and which shared item carries each of them.
 *
 * A feed is a source of match_src.h read again and again.  A full load
 * reads it whole into a new set.  An incremental load asks only for what
 * was published since the newest item already read, and adds it to a
 * copy of the current set; the hub's CSV export
 * (/api/v1/export/csv, type,value,item,tlp,published_at) is the feed
 * that allows this: its rows carry their item's publication time, and the
 * export takes since=.  An incremental load only ever adds: indicators of
 * items withdrawn or past their validity drop out at the next full load.
 * Every other source is loaded in full each time.
 *
 * The items come from the "item" column of that export, which lists each
 * value once, under the first item (lowest id) that carries it; an
 * incremental load lists it again under a later item that carries it
 * too, and the lowest id is kept, so a value is credited to the same item
 * whichever load brought it.
 *
 * A feed is used by one thread at a time; the sets it makes are
 * independent of it.
 */
#ifndef CSIP_MATCH_FEED_H
#define CSIP_MATCH_FEED_H

#include "lib/match.h"
#include "lib/match_src.h"

#include <stddef.h>
#include <stdint.h>

typedef struct csip_match_feed csip_match_feed;

/* How far back an incremental load asks, before the newest publication
 * time read: an item published a little earlier may become readable a
 * little later (its transaction commits after the next one's). */
#define CSIP_MATCH_FEED_OVERLAP 300

typedef struct csip_match_feed_stats {
	csip_match_src_stats src;  /* of the source read this time */
	int full;                  /* a full load, else incremental */
	size_t fresh;              /* incremental: values not there before */
	size_t count;              /* distinct indicators in the new set */
} csip_match_feed_stats;

/* The feed of WHERE (a file, folder or URL as for csip_match_src_load())
 * in format F.  Nothing is read before the first load.  Free with
 * csip_match_feed_free(). */
csip_match_feed *csip_match_feed_new(const char *where,
				     csip_match_src_format f);

/* NULL is accepted.  The sets the feed made are not freed. */
void csip_match_feed_free(csip_match_feed *fd);

/* Load the feed: in full when FULL, or when it cannot be loaded
 * incrementally (the first load, a source other than a URL giving
 * publication times).  *out receives a new built set (the caller's, freed
 * with csip_match_set_free()), or NULL when an incremental load brought
 * no new value.  The set last given must stay alive until the next load
 * returns: an incremental load copies it.  On failure the feed is as it
 * was.  Returns what csip_match_src_load() returns; *st is filled in
 * either case. */
int csip_match_feed_load(csip_match_feed *fd, int full,
			 csip_bad_indicator_fn bad, void *ud,
			 csip_match_set **out, csip_match_feed_stats *st);

/* Whether the source names the item of its indicators (a CSV list with an
 * "item" column), as of the last full load. */
int csip_match_feed_has_items(const csip_match_feed *fd);

/* Whether the next load without FULL will be incremental. */
int csip_match_feed_incremental(const csip_match_feed *fd);

/* The ids of the items carrying TYPE VALUE (canonical, as the set holds
 * it), ascending, their number in *N (0, and NULL returned, when the feed
 * names none).  Owned by FD, valid until its next load. */
const int64_t *csip_match_feed_items(const csip_match_feed *fd,
				     csip_ind_type type, const char *value,
				     size_t *n);

/* URL with since=SINCE added to its query (g_free()), or NULL when URL
 * cannot take it: not http(s), or a since= already there. */
char *csip_match_feed_since_url(const char *url, const char *since);

#endif
