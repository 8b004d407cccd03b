/*
 * dbcopy.h - move a whole hub from one database to another (`csip migrate
 * --from --to`): SQLite to PostgreSQL when a centre outgrows the embedded
 * default, or back.
 */
#ifndef CSIP_DBCOPY_H
#define CSIP_DBCOPY_H

#include <jansson.h>
#include <stdint.h>

/* Called as rows are copied: DONE of TOTAL rows of TABLE. */
typedef void (*csip_dbcopy_progress)(const char *table, int64_t done,
				     int64_t total, void *ud);

/* Copy every row of every csip table from the database at FROM to the one
 * at TO (URLs as in [database] url).  FROM must be a csip database at the
 * schema version of this binary; TO must hold no csip schema yet (it is
 * migrated here).  FROM is read in one transaction that also keeps its
 * writers out, so the copy is of one moment; TO is written in one
 * transaction, and the row count of every table is compared on both sides
 * before it commits: on any failure TO is left as it was.  Identity
 * sequences of TO continue after the copied ids.  On success *summary (may
 * be NULL; caller frees) is {"tables": [{"table", "rows"}...], "rows": N}.
 * PROGRESS may be NULL. */
int csip_dbcopy(const char *from, const char *to,
		csip_dbcopy_progress progress, void *ud, json_t **summary);

#endif
