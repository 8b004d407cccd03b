/*
 * migrate.h - versioned schema migrations, embedded in the binary.
 *
 * Each migration runs in its own transaction together with the row in
 * schema_version that records it, so a crash mid-way leaves the database at
 * the previous version, never between two.
 */
#ifndef CSIP_MIGRATE_H
#define CSIP_MIGRATE_H

#include "lib/store.h"

#include <glib.h>

/* Bring the database up to the newest schema this binary knows.  *applied
 * (may be NULL) receives how many migrations ran.  A database newer than the
 * binary is refused with CSIP_ECONFIG. */
int csip_migrate(csip_store *s, int *applied);

/* The schema version of the database (0 when empty). */
int csip_migrate_current(csip_store *s, int *version);

/* The same, without creating anything: 0 where there is no schema_version
 * table.  Call it outside a transaction. */
int csip_migrate_peek(csip_store *s, int *version);

/* The newest version this binary knows. */
int csip_migrate_latest(void);

/* The names of the tables the migrations create, in the order they create
 * them (an order in which every foreign key points back), schema_version
 * aside.  The caller frees the array. */
GPtrArray *csip_migrate_tables(void);

/* Whether the migrations declare TABLE.COLUMN a byte string (@BLOB@). */
int csip_migrate_is_blob(const char *table, const char *column);

#endif
