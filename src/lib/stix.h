/*
 * stix.h - STIX 2.1 out and in: shared items as STIX objects and bundles,
 * STIX patterns for indicators, and bundles submitted as reports.
 *
 * Ids are deterministic: an SCO's id is the UUIDv5 of its id-contributing
 * properties in the STIX namespace (STIX 2.1 §2.9); every SDO/SRO the hub
 * makes takes a UUIDv5 of a stable name ("item:42", "indicator:42:domain:
 * evil.example") in a namespace derived from the hub key, so the same item
 * gives the same objects on every export and never collides with another
 * hub's.  What an export contains is decided by csip_item_get/list (the
 * policy): the identity is the hub's, never the anonymous provider's.
 */
#ifndef CSIP_STIX_H
#define CSIP_STIX_H

#include "lib/hub.h"
#include "lib/item.h"
#include "lib/policy.h"
#include "lib/report.h"

#include <glib.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* A sink for streamed output: returns CSIP_OK or a negative code that
 * stops the stream. */
typedef int (*csip_write_fn)(void *ud, const char *data, size_t len);

/* The UUIDv5 of NAME (LEN bytes) in namespace NS (RFC 4122 §4.3), as 36
 * characters and a NUL in OUT. */
void csip_stix_uuid5(const uint8_t ns[16], const void *name, size_t len,
		     char out[37]);

/* The STIX pattern of one indicator ("[domain-name:value = 'x']"), or
 * NULL for a type STIX cannot express.  g_free(). */
char *csip_stix_pattern(const char *type, const char *value);

/* Check PATTERN against the STIX 2.1 pattern grammar (§9).  CSIP_OK, or
 * CSIP_EINVAL with a message naming the position and what was expected. */
int csip_stix_pattern_check(const char *pattern);

/* The STIX objects of one item as READER may see it (new JSON array in
 * *out): the report, an indicator per indicator with its pattern, the
 * observables, relationships, sightings from feedback (counts only), the
 * hub's identity and the TLP 2.0 marking definition the item carries.
 * CSIP_ENOTFOUND when the reader may not see the item. */
int csip_stix_item_objects(csip_hub *h, const csip_reader *r, int64_t id,
			   json_t **out);

/* The object index (issue #6): which items' objects may carry an object
 * id, so that TAXII answers GET .../objects/{id}/ by building those items
 * only.  Rows are a superset (an item indexed with its sighting before it
 * has one): the caller still builds each item and keeps the objects with
 * that id.  The hub's identity and the TLP markings, which every item
 * carries, are not indexed (csip_stix_common_object). */

/* Index item ID's objects, inside the caller's transaction (publishing
 * calls it).  Running it again adds nothing. */
int csip_stix_index_item(csip_hub *h, int64_t id);

/* Index up to BATCH more of the items published before the index existed
 * (one transaction); *left is how many item ids are still to look at, 0
 * once the index is complete. */
int csip_stix_index_backfill(csip_hub *h, int batch, int64_t *left);

/* The ids of the items whose objects may carry OID (new GArray of int64_t
 * in *out, any order, unfiltered: the caller asks the policy), and
 * *complete = 1; or *complete = 0 and *out NULL while the backfill has
 * not finished, when only a walk of the items is exact. */
int csip_stix_object_items(csip_hub *h, const char *oid, int *complete,
			   GArray **out);

/* 1 when OID is the hub's identity, 2 when it is the TLP marking
 * definition of *tlp (a static string), 0 otherwise. */
int csip_stix_common_object(csip_hub *h, const char *oid, const char **tlp);

/* Stream a bundle of every item READER may see matching Q (its limit is
 * the page size used internally; the whole result is streamed) to W.
 * Memory stays flat: items are converted page by page. */
int csip_stix_bundle(csip_hub *h, const csip_reader *r,
		     const csip_item_query *q, csip_write_fn w, void *ud);

/* Store a STIX 2.1 bundle from IN->org as a report (kind 'stix'): every
 * indicator's pattern values and every SCO become observations.
 * CSIP_EINVAL naming the first object that is not valid STIX 2.1. */
int csip_report_submit_stix(csip_hub *h, const char *actor,
			    const csip_report_in *in, json_t *bundle,
			    csip_ingest_result *res);

#endif
