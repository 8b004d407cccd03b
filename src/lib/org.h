/*
 * org.h - sector groups (SIGs) and organisations: their role, NDA date,
 * SIG membership, mail domains and internal networks.
 *
 * The domains and networks say what "the provider" means when a report is
 * anonymised (mail intake) and who a mail came from (the MTA delivery
 * agent).  Every change is written with its audit row in one transaction.
 * Reads return JSON objects (new references; the caller releases them with
 * json_decref()), the shape the CLI prints and the API serves.
 */
#ifndef CSIP_ORG_H
#define CSIP_ORG_H

#include "lib/hub.h"

#include <jansson.h>
#include <stdint.h>

/* ---- SIGs ------------------------------------------------------------ */

/* Add a SIG.  CODE is a short slug ("energy"), NAME its display name. */
int csip_sig_add(csip_hub *h, const char *actor, const char *code,
		 const char *name, int64_t *id);

/* All SIGs: [{code, name, created_at, members}], by code. */
int csip_sig_list(csip_hub *h, json_t **out);

/* One SIG with its member organisations:
 * {code, name, created_at, members: [name, ...]}. */
int csip_sig_get(csip_hub *h, const char *code, json_t **out);

/* ---- organisations --------------------------------------------------- */

/* NULL-terminated string vectors in these structs are borrowed. */
typedef struct csip_org_spec {
	const char *name;          /* slug: "acme-power" */
	const char *display_name;  /* NULL: the name */
	const char *role;          /* participant, partner or hub */
	const char *nda_date;      /* YYYY-MM-DD or NULL (no NDA yet) */
	char **sigs;
	char **domains;
	char **networks;
} csip_org_spec;

int csip_org_add(csip_hub *h, const char *actor, const csip_org_spec *spec,
		 int64_t *id);

/* A change to an organisation: NULL fields are left alone; nda_date ""
 * clears the NDA date. */
typedef struct csip_org_change {
	const char *display_name;
	const char *role;
	const char *nda_date;
	char **add_sigs, **remove_sigs;
	char **add_domains, **remove_domains;
	char **add_networks, **remove_networks;
	const char *webhook_url;   /* http(s) URL notified of new items; ""
				    * clears */
	const char *notify_email;  /* address mailed of new items; "" clears */
} csip_org_change;

int csip_org_update(csip_hub *h, const char *actor, const char *name,
		    const csip_org_change *change);

/* All organisations (summary objects), by name; SIG may be NULL or a SIG
 * code to list only its members. */
int csip_org_list(csip_hub *h, const char *sig, json_t **out);

/* One organisation: {name, display_name, role, nda_date, created_at,
 * updated_at, sigs, domains, networks, users}. */
int csip_org_get(csip_hub *h, const char *name, json_t **out);

/* The id of an organisation by name (CSIP_ENOTFOUND with a message). */
int csip_org_id(csip_hub *h, const char *name, int64_t *id);

/* Check a slug (organisation, SIG or user name): lower-case letters,
 * digits, '-', '_' and '.', starting with a letter or digit, 1-64 bytes.
 * WHAT names the kind of thing in the error message. */
int csip_slug_check(const char *what, const char *s);

#endif
