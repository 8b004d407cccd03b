/*
 * misp.h - a MISP feed of the items a reader may see: manifest.json, one
 * event file per item (named by the item's event UUID, deterministic), and
 * hashes.csv, in MISP's feed format (a MISP instance can pull it as a
 * "MISP feed"), valid against the MISP core format.  Attribute types and
 * categories follow MISP's describeTypes table.  The Orgc of every event
 * is the hub, never the anonymous provider.
 */
#ifndef CSIP_MISP_H
#define CSIP_MISP_H

#include "lib/hub.h"
#include "lib/policy.h"
#include "lib/stix.h"

/* manifest.json for READER, streamed to W. */
int csip_misp_manifest(csip_hub *h, const csip_reader *r, csip_write_fn w,
		       void *ud);

/* The event of the item whose event UUID is UUID, as {"Event": {...}}
 * (new reference).  CSIP_ENOTFOUND for an unknown UUID or an item the
 * reader may not see (the same answer). */
int csip_misp_event(csip_hub *h, const csip_reader *r, const char *uuid,
		    json_t **out);

/* hashes.csv for READER (attribute value hashes, as MISP feeds publish
 * them), streamed to W. */
int csip_misp_hashes(csip_hub *h, const csip_reader *r, csip_write_fn w,
		     void *ud);

#endif
