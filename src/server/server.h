/*
 * server.h - `csip serve`: the hub's HTTP server on libmicrohttpd.
 *
 * A pool of worker threads answers requests; each thread opens its own
 * hub (store connection) the first time it needs one, because a store
 * connection is never shared between threads.  Two background threads
 * run beside the workers: the auditor, which writes the audit rows of
 * reads in batches, and the notifier, which sends queued notifications.
 *
 * Shutdown (csip_server_stop, safe from a signal handler) stops accepting,
 * lets requests in flight finish, flushes the audit batch and returns from
 * csip_server_run.  A report is acknowledged (201) only after its
 * transaction committed, so nothing acknowledged is lost by a crash.
 */
#ifndef CSIP_SERVER_H
#define CSIP_SERVER_H

#include "lib/config.h"

typedef struct csip_server csip_server;

/* Options from the command line; NULL fields take the configuration's
 * [server] values. */
typedef struct csip_server_opts {
	const char *listen;     /* "ADDR:PORT"; port 0 picks a free one */
	const char *tls_cert;   /* PEM files: HTTPS when both are set */
	const char *tls_key;
	int quiet;              /* no access log on stderr */
} csip_server_opts;

/* Make a server for the hub CFG describes (borrowed; must outlive the
 * server).  Checks the database and the options; listens only in
 * csip_server_run.  *out is freed with csip_server_free(). */
int csip_server_new(csip_config *cfg, const csip_server_opts *opts,
		    csip_server **out);

/* Listen and serve until csip_server_stop().  READY (may be NULL) is
 * called once listening, with the bound port. */
int csip_server_run(csip_server *srv, void (*ready)(int port, void *ud),
		    void *ud);

/* Ask csip_server_run to return.  Async-signal-safe. */
void csip_server_stop(csip_server *srv);

/* Free a server; NULL is accepted. */
void csip_server_free(csip_server *srv);

#endif
