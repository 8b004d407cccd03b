/*
 * match_report.h - the matcher's sightings, counted per indicator and sent
 * back to the hub as feedback (`csip match --report`): how the hub learns
 * that what it shared is being seen.
 *
 * Each indicator seen is one feedback of kind "sighting" on the item that
 * carries it (POST /api/v1/items/{id}/feedback), with the count, the first
 * time as seen_at and the last as last_seen_at, sent with the member's
 * token so the hub credits the member's organisation.  A sighting's time
 * is its line's timestamp when the log has one that says the day (a time
 * without a zone is taken as local time), else the time it was read.
 *
 * What could not be sent stays counted for the next send, merged with what
 * is seen meanwhile, so nothing is sent twice and nothing is dropped
 * unsaid: the hub down, a network failure, HTTP 429 or 5xx, or a refused
 * token keep it; an item that is gone (404) or a feedback the hub refuses
 * (400) cannot succeed later and is dropped with a note to the caller.
 * Each feedback goes with an Idempotency-Key; one whose answer was lost
 * (no answer, 5xx, 429) is sent again as it was, under its key, so the
 * hub records it once even when it had recorded it before the answer
 * was lost.
 */
#ifndef CSIP_MATCH_REPORT_H
#define CSIP_MATCH_REPORT_H

#include "lib/indicator.h"

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

typedef struct csip_match_report csip_match_report;

/* Report to the hub at URL (its address: https://hub.example, or
 * http://127.0.0.1:8080 on the same machine) with the API token TOKEN.
 * CSIP_EINVAL (message set) for a URL that is not http(s), no token, or a
 * token that would cross a network in clear (http to another machine).
 * Free with csip_match_report_free(). */
int csip_match_report_new(const char *url, const char *token,
			  csip_match_report **out);

/* NULL is accepted; what is still counted is lost: send it first. */
void csip_match_report_free(csip_match_report *r);

/* Count one sighting of TYPE VALUE (canonical), whose line had timestamp
 * TS (csip_log_timestamp(); "" when none).  Any thread may call this
 * while another sends. */
void csip_match_report_add(csip_match_report *r, csip_ind_type type,
			   const char *value, const char *ts);

/* The items carrying TYPE VALUE, ascending, their number in *N (0 for
 * none), valid until the next call (csip_match_feed_items()). */
typedef const int64_t *(*csip_match_item_fn)(void *ud, csip_ind_type type,
					     const char *value, size_t *n);

/* Told of each indicator whose sightings are dropped, and why. */
typedef void (*csip_match_note_fn)(void *ud, const char *message);

typedef struct csip_match_report_stats {
	size_t sent;          /* feedbacks the hub recorded */
	uint64_t sightings;   /* the sightings they counted */
	uint64_t dropped;     /* sightings dropped (each one noted) */
	uint64_t kept;        /* sightings kept for the next send */
	size_t kept_indicators;
} csip_match_report_stats;

/* Send what was counted: each indicator to every item ITEM names (as a
 * MISP sighting goes to every attribute with the value: each provider
 * learns that what it reported was seen), so a sighting of a value that
 * several items carry is counted in each feedback.  Stops at
 * the first failure that the next ones would meet too (the hub or the
 * network down, the token refused), keeping the rest.  Returns CSIP_OK
 * when nothing is kept, else CSIP_EIO with a message saying why and how
 * much is kept.  *st is filled in either case. */
int csip_match_report_send(csip_match_report *r, csip_match_item_fn item,
			   void *item_ud, csip_match_note_fn note,
			   void *note_ud, csip_match_report_stats *st);

/* What is counted and not sent, one JSON object a line ({"item" (null
 * before a send), "indicator": {"type", "value"}, "count", "first_seen",
 * "last_seen"}), appended to OUT: for the user, when sending is given
 * up. */
void csip_match_report_pending(csip_match_report *r, GString *out);

/* For a caller that keeps what is not sent in a file (csip match
 * --state): from now on a send takes only what csip_match_report_seal()
 * set aside, never what is counted after.  Each sealed count has its
 * Idempotency-Key from the start, so that once the file holds it, a
 * restart after a crash sends it under that key again (recorded once)
 * rather than under a new one. */
void csip_match_report_sealed_only(csip_match_report *r);

/* Set aside what is counted so far, to be written out, then sent.  A
 * count not sent yet keeps its key and takes in more.  Not while a send
 * runs. */
void csip_match_report_seal(csip_match_report *r);

/* Put back what an earlier run counted and did not send, as
 * csip_match_report_pending() wrote it (one JSON object a line; "item"
 * null before a send).  All or nothing: CSIP_EINVAL, naming the line,
 * when one is not such an object.  Not while a send runs. */
int csip_match_report_restore(csip_match_report *r, const char *pending);

/* The time of a line's timestamp TS as Unix seconds, or NOW when TS does
 * not say the day (empty, or syslog's "Jan 15 10:11:12"). */
gint64 csip_match_report_time(const char *ts, gint64 now);

#endif
