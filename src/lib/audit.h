/*
 * audit.h - the append-only audit log, a hash chain.
 *
 * Each row carries the hash of the row before it, and its own hash is keyed
 * with the hub's secret key, so editing, deleting or inserting a row breaks
 * the chain in a way csip_audit_verify() finds, and nobody without the key
 * can rebuild the chain to hide it.  A separate head row records the last id
 * and hash, so rows cut from the end are found too.
 *
 * Append inside the caller's transaction: the change and its audit row
 * commit together or not at all.
 */
#ifndef CSIP_AUDIT_H
#define CSIP_AUDIT_H

#include "lib/hub.h"

#include <jansson.h>

/* Append one row.  ACTOR is who ("cli:alice", "user:bob"), ACTION what
 * ("org.add"), TARGET the object ("org:acme"), DETAIL an optional JSON
 * object, whose reference the call takes over (may be NULL), so callers
 * can pass json_pack() straight in. */
int csip_audit_append(csip_hub *h, const char *actor, const char *action,
		      const char *target, json_t *detail);

/* Walk the whole chain.  *rows receives the number of rows checked.
 * Returns CSIP_OK when intact, CSIP_ETAMPERED with a message naming the
 * first broken row otherwise. */
int csip_audit_verify(csip_hub *h, int64_t *rows);

/* The newest LIMIT rows (all when LIMIT <= 0), oldest first, as a JSON
 * array of objects; a new reference the caller releases with
 * json_decref(). */
int csip_audit_list(csip_hub *h, int limit, json_t **out);

#endif
