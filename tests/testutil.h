/*
 * testutil.h - helpers shared by the unit tests: a throwaway hub in a
 * temporary folder (and, under scripts/pg-test, a PostgreSQL database of
 * its own), removed afterwards, and a small HTTP server.
 */
#ifndef CSIP_TESTUTIL_H
#define CSIP_TESTUTIL_H

#include "lib/config.h"
#include "lib/hub.h"
#include "lib/store.h"

#include <glib.h>

typedef struct csip_test_hub {
	char *dir;        /* temporary data folder */
	char *conf_path;  /* INI file pointing at it */
	csip_config *cfg;
	csip_hub *hub;
	char *pg_name;    /* its PostgreSQL database, or NULL on SQLite */
} csip_test_hub;

/* The URL of the maintenance database of the throwaway PostgreSQL server
 * (scripts/pg-test sets CSIP_TEST_PG), or NULL: the tests then run on
 * SQLite.  Under it, every hub of csip_test_hub_new() gets a database of
 * its own. */
const char *csip_test_pg(void);

/* A new, empty database on that server: returns its URL (caller frees)
 * and its name in *NAME (caller frees), for csip_test_pg_drop(). */
char *csip_test_pg_create(char **name);
void csip_test_pg_drop(const char *name);

/* A new, initialised hub in a fresh temporary folder; aborts the test on
 * failure.  Free with csip_test_hub_free(), which deletes the folder. */
csip_test_hub *csip_test_hub_new(void);
void csip_test_hub_free(csip_test_hub *t);

/* Close and reopen the hub (as a new process would). */
void csip_test_hub_reopen(csip_test_hub *t);

/* Set [GROUP] KEY = VALUE in the hub's configuration file, then reload
 * the configuration and reopen the hub with it. */
void csip_test_hub_set(csip_test_hub *t, const char *group, const char *key,
		       const char *value);

/* Delete a folder and everything in it. */
void csip_test_rmtree(const char *dir);

/* Assert that a csip call succeeded, printing the error message if not. */
#define csip_assert_ok(expr) do { \
	int csip_assert_rc_ = (expr); \
	if (csip_assert_rc_ < 0) \
		g_error("%s failed: %d %s", #expr, csip_assert_rc_, \
			csip_error_last()); \
} while (0)

/* A report of organisation ORG (by name) stored directly, as intake
 * would have stored it, with the sharing settings given (NULL: "sig",
 * "none") and REMOVED (may be NULL) as its report_content.removed JSON.
 * Returns the report id; aborts the test on failure. */
int64_t csip_test_report_add(csip_test_hub *t, const char *org,
			     const char *permission, const char *attribution,
			     const char *removed);

/* Add an observation (canonical TYPE and VALUE) to report REPORT_ID;
 * SHAREABLE is 1, 0 or -1 for not marked. */
void csip_test_observation_add(csip_test_hub *t, int64_t report_id,
			       const char *type, const char *value,
			       int shareable);

/* A small HTTP server on 127.0.0.1 for the clients of the library (the
 * matcher's feed and reports): one connection at a time, one request per
 * connection.  The handler runs on the server's thread; what it is given
 * is valid during the call. */
typedef struct csip_test_http csip_test_http;

typedef struct csip_test_req {
	const char *method;
	const char *target;        /* path and query */
	const char *authorization; /* the header, or NULL */
	const char *idempotency_key; /* the header, or NULL */
	const char *body;
} csip_test_req;

/* Answer RQ: the status in *status, the body appended to BODY. */
typedef void (*csip_test_http_fn)(void *ud, const csip_test_req *rq,
				  int *status, GString *body);

csip_test_http *csip_test_http_start(csip_test_http_fn fn, void *ud);

/* "http://127.0.0.1:PORT", owned by the server. */
const char *csip_test_http_url(const csip_test_http *h);

/* Stop the server and free it. */
void csip_test_http_stop(csip_test_http *h);

#endif
