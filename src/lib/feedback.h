/*
 * feedback.h - what recipients tell the hub about a shared item.
 *
 * Kinds: sighting (seen in our environment, with a count and a time, or
 * for a count gathered over a while the first and the last time),
 * false_positive, blocked, comment.  Only an organisation that may read
 * the published item (csip_policy_item_access) may give feedback on it.
 * The hub sees all feedback with the names of those who gave it; a
 * provider sees feedback on items built on its reports without those names;
 * any other recipient sees only its own.
 */
#ifndef CSIP_FEEDBACK_H
#define CSIP_FEEDBACK_H

#include "lib/hub.h"
#include "lib/policy.h"

#include <jansson.h>
#include <stdint.h>

typedef struct csip_feedback_in {
	const char *kind;            /* sighting, false_positive, blocked,
				      * comment */
	int64_t count;               /* sightings: >= 1; 0 means 1 */
	const char *seen_at;         /* ISO 8601, optional */
	const char *last_seen_at;    /* ISO 8601, optional, sightings only:
				      * needs seen_at (then the first time)
				      * and is not before it */
	const char *comment;         /* required for 'comment' */
	const char *indicator_type;  /* optional: the indicator it is about; */
	const char *indicator_value; /* must be one of the item's */
} csip_feedback_in;

/* Record feedback from READER (USER_ID may be 0 for the command line) on a
 * published item.  CSIP_ENOTFOUND when the reader may not read the item or
 * it is not published; CSIP_EINVAL naming the bad field. */
int csip_feedback_add(csip_hub *h, const char *actor, const csip_reader *r,
		      int64_t user_id, int64_t item_id,
		      const csip_feedback_in *in, int64_t *id);

/* Whether KEY can be an Idempotency-Key: 1 to 255 visible ASCII
 * characters, no quote or backslash.  CSIP_OK, or CSIP_EINVAL saying
 * so.  The hub checks what it is given, a sender what it sends. */
int csip_feedback_key_check(const char *key);

/* The same, at most once per KEY (an Idempotency-Key: 1 to 255 visible
 * ASCII characters, the giver's to choose, unique per organisation; NULL:
 * no key).  When READER's organisation already gave a feedback under KEY,
 * nothing is recorded: if it was the same one (item, kind, indicator,
 * count and times), *id is its id and *replayed 1; if not, CSIP_EEXISTS,
 * since a key names one feedback. */
int csip_feedback_add_once(csip_hub *h, const char *actor,
			   const csip_reader *r, int64_t user_id,
			   int64_t item_id, const csip_feedback_in *in,
			   const char *key, int64_t *id, int *replayed);

/* Feedback on ITEM_ID as READER may see it, oldest first (new JSON array
 * in *out): [{id, kind, count, seen_at, last_seen_at, comment, indicator,
 * created_at, org}] where org is the giver's name for the hub, null for a provider,
 * and the reader's own name for its own rows.  CSIP_ENOTFOUND as above. */
int csip_feedback_list(csip_hub *h, const csip_reader *r, int64_t item_id,
		       json_t **out);

/* Counts by kind for an item, {"sighting": n, ...} (new reference): the
 * same for every reader, as it names no one. */
int csip_feedback_counts(csip_hub *h, int64_t item_id, json_t **out);

/* The same for the N items IDS in one query a batch: OUT[i] (new
 * references; all NULL on an error) for IDS[i]. */
int csip_feedback_counts_many(csip_hub *h, const int64_t *ids, size_t n,
			      json_t **out);

#endif
