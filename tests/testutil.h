/*
 * testutil.h - helpers shared by the unit tests: a throwaway hub in a
 * temporary folder, removed afterwards.
 */
#ifndef CSIP_TESTUTIL_H
#define CSIP_TESTUTIL_H

#include "lib/config.h"
#include "lib/hub.h"

typedef struct csip_test_hub {
	char *dir;        /* temporary data folder */
	char *conf_path;  /* INI file pointing at it */
	csip_config *cfg;
	csip_hub *hub;
} csip_test_hub;

/* A new, initialised hub in a fresh temporary folder; aborts the test on
 * failure.  Free with csip_test_hub_free(), which deletes the folder. */
csip_test_hub *csip_test_hub_new(void);
void csip_test_hub_free(csip_test_hub *t);

/* Close and reopen the hub (as a new process would). */
void csip_test_hub_reopen(csip_test_hub *t);

/* Delete a folder and everything in it. */
void csip_test_rmtree(const char *dir);

/* Assert that a csip call succeeded, printing the error message if not. */
#define csip_assert_ok(expr) do { \
	int csip_assert_rc_ = (expr); \
	if (csip_assert_rc_ < 0) \
		g_error("%s failed: %d %s", #expr, csip_assert_rc_, \
			csip_error_last()); \
} while (0)

#endif
