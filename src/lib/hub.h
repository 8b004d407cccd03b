/*
 * hub.h - the hub context: configuration, an open and migrated store, and
 * the hub's secret key, bundled for the modules that need all three.
 *
 * One hub per thread: the store connection inside is not shared.
 */
#ifndef CSIP_HUB_H
#define CSIP_HUB_H

#include "lib/config.h"
#include "lib/store.h"

#include <stddef.h>
#include <stdint.h>

#define CSIP_KEY_BYTES 32

typedef struct csip_hub csip_hub;

enum {
	/* Create the data folder, the secret key and the database when
	 * missing (csip init); without it they must exist. */
	CSIP_HUB_CREATE = 1 << 0
};

/* Open the hub that CFG describes: the store is opened and migrated to the
 * newest schema.  CFG is borrowed and must outlive the hub.  *out is freed
 * with csip_hub_free(). */
int csip_hub_open(csip_config *cfg, unsigned flags, csip_hub **out);

/* Free a hub; NULL is accepted. */
void csip_hub_free(csip_hub *h);

csip_store *csip_hub_store(csip_hub *h);
csip_config *csip_hub_config(csip_hub *h);

/* The secret key (CSIP_KEY_BYTES), owned by the hub. */
const uint8_t *csip_hub_key(const csip_hub *h);

/* How many migrations csip_hub_open() applied. */
int csip_hub_migrations_applied(const csip_hub *h);

#endif
