/*
 * server.c - the HTTP server (see server.h): libmicrohttpd underneath,
 * the route table of api.c on top.
 *
 * Request flow: MHD calls answer() several times per request.  The first
 * call makes the per-request state and rejects a declared body over the
 * cap before reading it; the middle calls append the body (counting what
 * is swallowed past the cap); the last call authenticates, checks the
 * role, the rate and the media type, runs the handler and queues the
 * response.  Everything a handler allocates is freed before the response
 * is queued, except the response body, which MHD frees.
 */
#include "server/server.h"
#include "server/api.h"
#include "server/metrics.h"
#include "lib/audit.h"
#include "lib/correlate.h"
#include "lib/hub.h"
#include "lib/notify.h"
#include "lib/policy.h"
#include "lib/stix.h"
#include "lib/user.h"
#include "util/error.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <glib.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Reads are audited in batches by the auditor thread: one transaction per
 * batch instead of one per GET.  A crash loses at most one batch of read
 * records; writes are audited in their own transaction by the library. */
#define AUDIT_BATCH 256
#define AUDIT_FLUSH_US (200 * 1000)
/* Items the notifier indexes per round of the object-index backfill. */
#define INDEX_BATCH 500

typedef struct read_record {
	char *actor;
	char *target;        /* NULL: no audit row, only the token's use */
	int status;
	int64_t token_id;
} read_record;

typedef struct bucket {
	double tokens;
	gint64 at_us;
} bucket;

struct csip_server {
	csip_config *cfg;
	csip_server_opts opts;
	struct MHD_Daemon *daemon;
	csip_metrics *metrics;
	size_t max_body;
	double rate;            /* requests per second per token, 0: off */
	int stop_pipe[2];
	gint in_flight;

	GMutex rl_lock;
	GHashTable *buckets;    /* token id -> bucket */
	double fail_burst;      /* failed sign-ins per key, 0: no brake */
	GHashTable *fails;      /* "a:ADDRESS" or "u:NAME" -> bucket */
	gint64 fails_pruned_us;
	GHashTable *known;      /* "u:NAME a:ADDRESS" -> gint64, when that
				 * name last signed in from there */
	gint64 known_pruned_us;

	GMutex q_lock;
	GCond q_cond;           /* the auditor's */
	GCond n_cond;           /* the notifier's */
	GPtrArray *reads;       /* read_record *, waiting for the auditor */
	GThread *auditor;
	GThread *notifier;
	int stopping;
	char *tls_cert_pem, *tls_key_pem;
};

typedef struct conn_state {
	GByteArray *body;
	size_t swallowed;       /* bytes past the cap, not kept */
	gint64 start_us;
	int counted;            /* in_flight incremented */
	int answered;           /* a response was queued */
} conn_state;

/* One hub per worker thread, opened on first use. */
static csip_config *hub_cfg;
static void
hub_free_cb(gpointer p)
{
	csip_hub_free(p);
}
static GPrivate thread_hub = G_PRIVATE_INIT(hub_free_cb);

static csip_hub *
thread_hub_get(void)
{
	csip_hub *h = g_private_get(&thread_hub);

	if (h == NULL && csip_hub_open(hub_cfg, 0, &h) == CSIP_OK)
		g_private_set(&thread_hub, h);
	return h;
}

static void
read_record_free(gpointer p)
{
	read_record *r = p;

	g_free(r->actor);
	g_free(r->target);
	g_free(r);
}

/* ---- background threads ----------------------------------------------- */

static void
flush_reads(csip_server *srv, csip_hub *h, GPtrArray *batch)
{
	csip_store *s = csip_hub_store(h);
	int rc;

	if (batch->len == 0)
		return;
	GHashTable *tokens = g_hash_table_new(g_int64_hash, g_int64_equal);
	GHashTableIter it;
	gpointer key;
	char now[21];

	csip_store_now(now);
	rc = csip_store_begin(s);
	for (guint i = 0; rc == CSIP_OK && i < batch->len; i++) {
		read_record *r = batch->pdata[i];

		g_hash_table_add(tokens, &r->token_id);
		if (r->target)
			rc = csip_audit_append(h, r->actor, "api.read",
				r->target, json_pack("{si}", "status",
						     r->status));
	}
	/* Once per token per batch, not per request. */
	g_hash_table_iter_init(&it, tokens);
	while (rc == CSIP_OK && g_hash_table_iter_next(&it, &key, NULL)) {
		char tbuf[24];

		g_snprintf(tbuf, sizeof tbuf, "%" PRId64, *(int64_t *)key);
		rc = csip_store_run(s, NULL, "UPDATE api_token SET "
			"last_used_at = ? WHERE id = ?", now, tbuf, NULL);
	}
	g_hash_table_destroy(tokens);
	if (rc == CSIP_OK)
		rc = csip_store_commit(s);
	else
		csip_store_rollback(s);
	if (rc < 0)
		g_printerr("csip serve: could not write %u audit records: %s\n",
			   batch->len, csip_error_last());
	g_ptr_array_set_size(batch, 0);
}

static gpointer
auditor_main(gpointer p)
{
	csip_server *srv = p;
	csip_hub *h = NULL;
	GPtrArray *batch = g_ptr_array_new_with_free_func(read_record_free);
	int done = 0;

	if (csip_hub_open(srv->cfg, 0, &h) < 0) {
		g_printerr("csip serve: auditor: %s\n", csip_error_last());
		h = NULL;
	}
	while (!done) {
		g_mutex_lock(&srv->q_lock);
		if (srv->reads->len == 0 && !srv->stopping)
			g_cond_wait_until(&srv->q_cond, &srv->q_lock,
				g_get_monotonic_time() + AUDIT_FLUSH_US);
		while (srv->reads->len > 0) {
			g_ptr_array_add(batch, g_ptr_array_steal_index(
				srv->reads, 0));
		}
		done = srv->stopping;
		g_mutex_unlock(&srv->q_lock);
		if (h)
			flush_reads(srv, h, batch);
		else
			g_ptr_array_set_size(batch, 0);
	}
	g_ptr_array_free(batch, TRUE);
	csip_hub_free(h);
	return NULL;
}

static gpointer
notifier_main(gpointer p)
{
	csip_server *srv = p;
	csip_hub *h = NULL;
	int64_t unindexed = 0;
	gint64 backfill_us = 0;
	int rc;

	if (csip_hub_open(srv->cfg, 0, &h) < 0) {
		g_printerr("csip serve: notifier: %s\n", csip_error_last());
		return NULL;
	}

	for (;;) {
		size_t sent = 0, failed = 0, done = 0;
		int stop;
		gint64 t0;

		g_mutex_lock(&srv->q_lock);
		/* While the object index is being backfilled, a pause as long
		 * as the last round took (at least 10 ms): each round is one
		 * write transaction, and back to back they would hold
		 * SQLite's write lock nearly all the time, so a writer in
		 * another process (the command line, a second server), whose
		 * busy handler sleeps and retries, would rarely find it
		 * free. */
		if (!srv->stopping)
			g_cond_wait_until(&srv->n_cond, &srv->q_lock,
				g_get_monotonic_time() + (unindexed == 0 ?
				G_USEC_PER_SEC : CLAMP(backfill_us, 10000,
						       G_USEC_PER_SEC)));
		stop = srv->stopping;
		g_mutex_unlock(&srv->q_lock);
		if (stop)
			break;
		if (csip_notify_run_once(h, 50, &sent, &failed) < 0) {
			g_printerr("csip serve: notifications: %s\n",
				   csip_error_last());
			csip_error_clear();
		}
		/* Reports stored while correlation failed (a locked or full
		 * disk) are correlated here rather than waiting for the next
		 * report to arrive. */
		if (csip_correlate_pending(h, 50, &done) < 0) {
			g_printerr("csip serve: correlation: %s\n",
				   csip_error_last());
			csip_error_clear();
		}
		/* Items published before the TAXII object index existed;
		 * until they are all indexed, object lookups walk. */
		t0 = g_get_monotonic_time();
		rc = csip_stix_index_backfill(h, INDEX_BATCH, &unindexed);
		backfill_us = g_get_monotonic_time() - t0;
		if (rc < 0) {
			g_printerr("csip serve: object index: %s\n",
				   csip_error_last());
			csip_error_clear();
		}
	}
	csip_hub_free(h);
	return NULL;
}

/* Queue the audit record of a read (AUDIT) or only the token's use. */
static void
audit_read(csip_server *srv, const csip_req *rq, int audit, int status)
{
	read_record *r = g_new0(read_record, 1);

	r->actor = g_strdup(rq->actor);
	r->target = audit ? g_strdup_printf("%s %s", rq->method, rq->path)
		: NULL;
	r->status = status;
	r->token_id = rq->who.token_id;
	g_mutex_lock(&srv->q_lock);
	g_ptr_array_add(srv->reads, r);
	if (srv->reads->len >= AUDIT_BATCH)
		g_cond_broadcast(&srv->q_cond);
	g_mutex_unlock(&srv->q_lock);
}

/* ---- rate limit ------------------------------------------------------- */

/* A token bucket per API token: RATE per second, bursts of 4 * RATE.
 * Returns 0 when allowed, or the seconds to wait. */
static int
rate_check(csip_server *srv, int64_t token_id)
{
	gint64 now = g_get_monotonic_time();
	double burst = srv->rate * 4;
	bucket *b;
	int wait = 0;

	if (srv->rate <= 0)
		return 0;
	g_mutex_lock(&srv->rl_lock);
	b = g_hash_table_lookup(srv->buckets, &token_id);
	if (b == NULL) {
		int64_t *k = g_new(int64_t, 1);

		*k = token_id;
		b = g_new(bucket, 1);
		b->tokens = burst;
		b->at_us = now;
		g_hash_table_insert(srv->buckets, k, b);
	}
	b->tokens += (double)(now - b->at_us) / G_USEC_PER_SEC * srv->rate;
	if (b->tokens > burst)
		b->tokens = burst;
	b->at_us = now;
	if (b->tokens >= 1)
		b->tokens -= 1;
	else
		wait = (int)((1 - b->tokens) / srv->rate) + 1;
	g_mutex_unlock(&srv->rl_lock);
	return wait;
}

/* ---- failed sign-ins --------------------------------------------------- */

/* Password guessing over TAXII Basic.  Each try takes one from a bucket
 * of the client's address (of an IPv6 client its /64, which one machine
 * usually holds whole) and one from a bucket of the user name before
 * the password is checked, and a right password gives them back, so
 * only failures count; an empty bucket refuses Basic from that address,
 * or for that name, with 429 before any password hash is computed, until
 * it refills at auth_failures a minute.  Bearer tokens are 256 random bits
 * and cost one keyed hash to check: they need no brake.  The table is
 * capped: past FAIL_KEYS_MAX, buckets that have refilled go, and when
 * none has, Basic from new addresses and names is refused rather than
 * left unbraked.
 *
 * A name's bucket alone would let anyone lock a user out of Basic by
 * failing under its name.  So an address a name signed in from (the
 * same /64) within KNOWN_TTL_US is known for that name, and a try from
 * it takes from the address's bucket only: a user keeps signing in from
 * where it usually does while its name is under attack from elsewhere,
 * and guessing from a known address is braked by that address's bucket.
 * This table is capped the same way; when it is full of recent entries,
 * a new success is not remembered (the name's bucket applies, as
 * before). */
#define FAIL_KEYS_MAX 65536
#define KNOWN_TTL_US (G_GINT64_CONSTANT(30) * 24 * 3600 * G_USEC_PER_SEC)

/* "a:" and the client's address, or its /64 for IPv6. */
static void
client_key(struct MHD_Connection *c, char out[64])
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c,
		MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	char buf[INET6_ADDRSTRLEN] = "?";

	if (sa && sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
			  buf, sizeof buf);
	} else if (sa && sa->sa_family == AF_INET6) {
		struct in6_addr a = ((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(&a))
			inet_ntop(AF_INET, &a.s6_addr[12], buf, sizeof buf);
		else {
			memset(&a.s6_addr[8], 0, 8);
			inet_ntop(AF_INET6, &a, buf, sizeof buf);
		}
	}
	g_snprintf(out, 64, "a:%s", buf);
}

static gboolean
fail_refilled(gpointer k, gpointer v, gpointer srv_)
{
	const csip_server *srv = srv_;
	const bucket *b = v;

	(void)k;
	return b->tokens + (double)(g_get_monotonic_time() - b->at_us) /
	       G_USEC_PER_SEC * srv->fail_burst / 60 >= srv->fail_burst;
}

/* KEY's bucket, refilled to now and made full when new; NULL when the
 * table is full of buckets that have not refilled.  With rl_lock. */
static bucket *
fail_get(csip_server *srv, const char *key)
{
	gint64 now = g_get_monotonic_time();
	bucket *b = g_hash_table_lookup(srv->fails, key);

	if (b == NULL) {
		if (g_hash_table_size(srv->fails) >= FAIL_KEYS_MAX &&
		    now - srv->fails_pruned_us > G_USEC_PER_SEC) {
			g_hash_table_foreach_remove(srv->fails, fail_refilled,
						    srv);
			srv->fails_pruned_us = now;
		}
		if (g_hash_table_size(srv->fails) >= FAIL_KEYS_MAX)
			return NULL;
		b = g_new(bucket, 1);
		b->tokens = srv->fail_burst;
		b->at_us = now;
		g_hash_table_insert(srv->fails, g_strdup(key), b);
	}
	b->tokens += (double)(now - b->at_us) / G_USEC_PER_SEC *
		     srv->fail_burst / 60;
	if (b->tokens > srv->fail_burst)
		b->tokens = srv->fail_burst;
	b->at_us = now;
	return b;
}

/* The keys of this client and of user NAME: the address as in
 * client_key(), the name as a hash (a fixed size, however long). */
static void
fail_keys(struct MHD_Connection *c, const char *name, char ak[64],
	  char uk[40])
{
	char *h = g_compute_checksum_for_string(G_CHECKSUM_SHA256, name, -1);

	client_key(c, ak);
	g_snprintf(uk, 40, "u:%.32s", h);
	g_free(h);
}

static gboolean
known_expired(gpointer k, gpointer v, gpointer now)
{
	(void)k;
	return *(gint64 *)now - *(gint64 *)v >= KNOWN_TTL_US;
}

/* Whether NAME signed in from this client recently (UK and AK as
 * fail_keys() makes them).  With rl_lock. */
static int
known_client(csip_server *srv, const char *uk, const char *ak)
{
	char key[104];
	const gint64 *at;

	g_snprintf(key, sizeof key, "%s %s", uk, ak);
	at = g_hash_table_lookup(srv->known, key);
	return at && g_get_monotonic_time() - *at < KNOWN_TTL_US;
}

/* Remember that the name of UK signed in from AK, now.  With rl_lock. */
static void
known_add(csip_server *srv, const char *uk, const char *ak)
{
	gint64 now = g_get_monotonic_time(), *at;
	char *key = g_strdup_printf("%s %s", uk, ak);

	if ((at = g_hash_table_lookup(srv->known, key)) != NULL) {
		*at = now;
		g_free(key);
		return;
	}
	if (g_hash_table_size(srv->known) >= FAIL_KEYS_MAX &&
	    now - srv->known_pruned_us > G_USEC_PER_SEC) {
		g_hash_table_foreach_remove(srv->known, known_expired, &now);
		srv->known_pruned_us = now;
	}
	if (g_hash_table_size(srv->known) >= FAIL_KEYS_MAX) {
		g_free(key);
		return;
	}
	at = g_new(gint64, 1);
	*at = now;
	g_hash_table_insert(srv->known, key, at);
}

/* A try of a password for NAME from this client: one is taken from the
 * address's bucket and, unless the address is known for NAME, from the
 * name's, before the password is checked, so that requests running side
 * by side cannot all pass one check.  Returns 0, or the seconds to wait
 * when a bucket is empty (nothing taken). */
static int
fail_take(csip_server *srv, struct MHD_Connection *c, const char *name)
{
	char ak[64], uk[40];
	bucket *a, *u = NULL;
	int wait = 0, known;

	if (srv->fail_burst <= 0)
		return 0;
	fail_keys(c, name, ak, uk);
	g_mutex_lock(&srv->rl_lock);
	known = known_client(srv, uk, ak);
	a = fail_get(srv, ak);
	if (a && !known)
		u = fail_get(srv, uk);
	if (a == NULL || (!known && u == NULL)) {
		wait = 60;
	} else if (a->tokens < 1 || (u && u->tokens < 1)) {
		double lack = 1 - MIN(a->tokens, u ? u->tokens : a->tokens);

		wait = (int)(lack * 60 / srv->fail_burst) + 1;
	} else {
		a->tokens -= 1;
		if (u)
			u->tokens -= 1;
	}
	g_mutex_unlock(&srv->rl_lock);
	return wait;
}

/* The password was right: what fail_take() took goes back (from the
 * name's bucket only when the address was not known: a known address
 * took nothing there), and the address is known for NAME from now. */
static void
fail_refund(csip_server *srv, struct MHD_Connection *c, const char *name)
{
	char ak[64], uk[40];
	bucket *b;

	if (srv->fail_burst <= 0)
		return;
	fail_keys(c, name, ak, uk);
	g_mutex_lock(&srv->rl_lock);
	if ((b = g_hash_table_lookup(srv->fails, ak)) != NULL)
		b->tokens = MIN(b->tokens + 1, srv->fail_burst);
	if (!known_client(srv, uk, ak) &&
	    (b = g_hash_table_lookup(srv->fails, uk)) != NULL)
		b->tokens = MIN(b->tokens + 1, srv->fail_burst);
	known_add(srv, uk, ak);
	g_mutex_unlock(&srv->rl_lock);
}

/* ---- one request ------------------------------------------------------ */

static const char *
query_get(const csip_req *rq, const char *key)
{
	return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND,
					   key);
}

typedef struct key_count {
	const char *key;
	int n;
} key_count;

static enum MHD_Result
count_key(void *cls, enum MHD_ValueKind kind, const char *key,
	  const char *value)
{
	key_count *kc = cls;

	if (key && strcmp(key, kc->key) == 0)
		kc->n++;
	return MHD_YES;
}

static int
query_count(const csip_req *rq, const char *key)
{
	key_count kc = { key, 0 };

	MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, count_key,
				  &kc);
	return kc.n;
}

static const char *
header_get(const csip_req *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

/* "Application/JSON; charset=utf-8" -> "application/json" (g_free). */
static char *
media_type(const char *ct)
{
	const char *semi;

	if (ct == NULL)
		return NULL;
	semi = strchr(ct, ';');
	return g_strstrip(g_ascii_strdown(ct, semi ? semi - ct : -1));
}

/* HTTP Basic (RFC 7617), which TAXII 2.1 servers should offer (§8.3):
 * the user's name and password, then the user's organisation.  The
 * principal has no token (token_id 0) and is never read-only. */
static int
basic_auth(csip_server *srv, csip_req *rq, csip_resp *rs, const char *cred)
{
	csip_stmt *st = NULL;
	guchar *raw = NULL;
	gsize len = 0;
	char *text = NULL, *colon;
	int rc, ret = -1, wait;

	while (*cred == ' ')
		cred++;
	/* A password hash per request is slow by design: refuse absurd
	 * sizes before doing one. */
	if (strlen(cred) > 1024 || *cred == '\0')
		goto bad;
	raw = g_base64_decode(cred, &len);
	text = g_strndup((const char *)raw, len);
	if (len == 0 || strlen(text) != len || !g_utf8_validate(text, -1,
	    NULL) || (colon = strchr(text, ':')) == NULL)
		goto bad;
	*colon = '\0';
	if ((wait = fail_take(srv, rq->conn, text)) > 0) {
		csip_api_error(rs, 429, "too many failed sign-ins from this "
			"address or for this user: retry after the Retry-After "
			"seconds, or use `Authorization: Bearer TOKEN`");
		rs->retry_after = wait;
		goto out;
	}
	if ((rc = csip_user_check_password(rq->hub, text, colon + 1)) < 0) {
		if (rc != CSIP_EPERM) {
			csip_api_error(rs, 500, csip_error_last());
			goto out;
		}
		goto bad;
	}
	fail_refund(srv, rq->conn, text);
	rc = csip_store_prepare_bind(csip_hub_store(rq->hub), &st, "SELECT "
		"u.id, o.id, u.name, o.name, u.role, o.role FROM app_user u "
		"JOIN org o ON o.id = u.org_id WHERE u.name = ? AND "
		"u.disabled = 0", text, NULL);
	if (rc == CSIP_OK && (rc = csip_stmt_step(st)) == CSIP_DONE)
		goto bad;
	if (rc < 0) {
		csip_api_error(rs, 500, csip_error_last());
		goto out;
	}
	memset(&rq->who, 0, sizeof rq->who);
	rq->who.user_id = csip_stmt_int64(st, 0);
	rq->who.org_id = csip_stmt_int64(st, 1);
	g_strlcpy(rq->who.user, csip_stmt_text(st, 2), sizeof rq->who.user);
	g_strlcpy(rq->who.org, csip_stmt_text(st, 3), sizeof rq->who.org);
	g_strlcpy(rq->who.user_role, csip_stmt_text(st, 4),
		  sizeof rq->who.user_role);
	g_strlcpy(rq->who.org_role, csip_stmt_text(st, 5),
		  sizeof rq->who.org_role);
	ret = 0;
	goto out;
bad:
	csip_api_error(rs, 401, "the user name or password is wrong, or the "
		"user is disabled: check the credentials, or send an API "
		"token as `Authorization: Bearer TOKEN`");
out:
	csip_stmt_free(st);
	if (text)
		memset(text, 0, len);
	if (raw)
		memset(raw, 0, len);
	g_free(text);
	g_free(raw);
	return ret;
}

/* Whether WHO is an analyst or an administrator of the hub. */
static int
hub_analyst(const csip_principal *who)
{
	return strcmp(who->org_role, "hub") == 0 &&
	       (strcmp(who->user_role, "analyst") == 0 ||
		strcmp(who->user_role, "admin") == 0);
}

static int
authenticate(csip_server *srv, csip_req *rq, csip_resp *rs,
	     const csip_route *route)
{
	const char *auth = MHD_lookup_connection_value(rq->conn,
		MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	int rc;

	if (route->taxii && auth &&
	    g_ascii_strncasecmp(auth, "Basic ", 6) == 0) {
		if (basic_auth(srv, rq, rs, auth + 6) < 0)
			return -1;
	} else if (auth == NULL ||
		   g_ascii_strncasecmp(auth, "Bearer ", 7) != 0) {
		if (route->taxii) {
			csip_api_error(rs, 401, "this request needs "
				"credentials: send `Authorization: Basic` "
				"with a user name and password, or "
				"`Authorization: Bearer TOKEN`");
			return -1;
		}
		csip_api_error(rs, 401, "this request needs an API token: "
			"send `Authorization: Bearer TOKEN` (tokens come from "
			"`csip token create`)");
		return -1;
	} else {
		auth += 7;
		while (*auth == ' ')
			auth++;
		rc = csip_token_verify(rq->hub, auth, &rq->who);
		if (rc < 0) {
			csip_api_error(rs, rc == CSIP_EPERM ? 401 : 500,
				       csip_error_last());
			return -1;
		}
	}
	if ((rc = csip_reader_load(csip_hub_store(rq->hub), rq->who.org_id,
				   &rq->reader)) < 0) {
		csip_api_error(rs, 500, csip_error_last());
		return -1;
	}
	rq->authed = 1;
	g_snprintf(rq->actor, sizeof rq->actor, "user:%s", rq->who.user);
	/* What the hub alone reads (every report, the recipients taken out
	 * of them, who gave feedback) is for its analysts, as the routes
	 * marked HUB are: a member of the hub's organisation reads as any
	 * organisation with its NDA and SIGs would. */
	if (rq->reader.hub && !hub_analyst(&rq->who))
		rq->reader.hub = 0;
	if (route->auth == CSIP_AUTH_HUB && !hub_analyst(&rq->who)) {
		csip_api_error(rs, 403, "only the hub's analysts may do this");
		return -1;
	}
	if (route->write && rq->who.read_only) {
		csip_api_error(rs, 403, "this token is read-only: create a "
			"token without --read-only to change anything");
		return -1;
	}
	return 0;
}

static int
check_body(csip_req *rq, csip_resp *rs, const csip_route *route)
{
	json_error_t jerr;
	char msg[300];

	if (route->body == CSIP_BODY_NONE)
		return 0;
	if (route->body == CSIP_BODY_REPORT && rq->content_type &&
	    (strcmp(rq->content_type, "message/rfc822") == 0 ||
	     strcmp(rq->content_type, "text/plain") == 0))
		return 0;
	/* A STIX bundle is a report too, parsed as JSON like the rest. */
	if (rq->content_type == NULL ||
	    (strcmp(rq->content_type, "application/json") != 0 &&
	     (route->body != CSIP_BODY_REPORT ||
	      strcmp(rq->content_type, "application/stix+json") != 0))) {
		g_snprintf(msg, sizeof msg, "Content-Type %s is not accepted "
			"here: send %s", rq->content_type ? rq->content_type
			: "(none)", route->body == CSIP_BODY_REPORT
			? "message/rfc822, text/plain, application/json or "
			"application/stix+json" : "application/json");
		csip_api_error(rs, 415, msg);
		return -1;
	}
	rq->json = json_loadb(rq->body ? rq->body : "", rq->body_len,
			      JSON_REJECT_DUPLICATES, &jerr);
	if (rq->json == NULL) {
		g_snprintf(msg, sizeof msg, "the body is not valid JSON: %s "
			"(line %d, column %d)", jerr.text, jerr.line,
			jerr.column);
		csip_api_error(rs, 400, msg);
		return -1;
	}
	if (!json_is_object(rq->json)) {
		csip_api_error(rs, 400, "the body must be a JSON object");
		return -1;
	}
	return 0;
}

/* The TAXII checks before a TAXII handler runs (§1.6.8, §3.1): an Accept
 * header naming a TAXII media range (406 otherwise) and, for a POST, the
 * Content-Type application/taxii+json;version=2.1 (415) and a body that
 * is JSON (400), parsed into rq->json. */
static int
taxii_check(csip_req *rq, csip_resp *rs, const csip_route *route)
{
	const char *accept = MHD_lookup_connection_value(rq->conn,
		MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	const char *ct = MHD_lookup_connection_value(rq->conn,
		MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	json_error_t jerr;
	char *norm = NULL, msg[300];
	int ok;

	if (!csip_api_taxii_acceptable(accept, route->taxii ==
				       CSIP_TAXII_STIX)) {
		g_snprintf(msg, sizeof msg, "Accept \"%.100s\" allows no "
			"answer of this endpoint: send Accept: %s%s", accept ?
			accept : "", CSIP_TAXII_MEDIA, route->taxii ==
			CSIP_TAXII_STIX ? " (or application/stix+json;"
			"version=2.1)" : "");
		csip_api_error(rs, 406, msg);
		return -1;
	}
	if (strcmp(rq->method, "POST") != 0)
		return 0;
	/* Spaces and case do not matter in a media type: compare the
	 * normalised text. */
	if (ct) {
		GString *b = g_string_new(NULL);

		for (const char *p = ct; *p; p++)
			if (*p != ' ' && *p != '\t')
				g_string_append_c(b, g_ascii_tolower(*p));
		norm = g_string_free(b, FALSE);
	}
	ok = norm && strcmp(norm, CSIP_TAXII_MEDIA) == 0;
	g_free(norm);
	if (!ok) {
		g_snprintf(msg, sizeof msg, "Content-Type %.100s is not "
			"accepted here: send %s", ct ? ct : "(none)",
			CSIP_TAXII_MEDIA);
		csip_api_error(rs, 415, msg);
		return -1;
	}
	rq->json = json_loadb(rq->body ? rq->body : "", rq->body_len,
			      JSON_REJECT_DUPLICATES, &jerr);
	if (rq->json == NULL) {
		g_snprintf(msg, sizeof msg, "the body is not valid JSON: %s "
			"(line %d, column %d)", jerr.text, jerr.line,
			jerr.column);
		csip_api_error(rs, 400, msg);
		return -1;
	}
	return 0;
}

static enum MHD_Result
send_response(struct MHD_Connection *c, csip_resp *rs, int taxii)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *body;
	size_t len;

	if (rs->fd > 0) {
		/* MHD reads from offset 0 and closes the descriptor. */
		resp = MHD_create_response_from_fd64(rs->fd_size, rs->fd);
		rs->fd = 0;
		if (rs->content_type)
			MHD_add_response_header(resp,
				MHD_HTTP_HEADER_CONTENT_TYPE, rs->content_type);
	} else if (rs->json) {
		body = json_dumps(rs->json, JSON_COMPACT);
		len = body ? strlen(body) : 0;
		/* jansson allocates with malloc: MHD frees it with free(). */
		resp = MHD_create_response_from_buffer(len, body,
			MHD_RESPMEM_MUST_FREE);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
			taxii && rs->content_type ? rs->content_type
			: "application/json");
	} else {
		body = rs->raw ? rs->raw : g_strdup("");
		len = rs->raw ? rs->raw_len : 0;
		rs->raw = NULL;
		resp = MHD_create_response_from_buffer_with_free_callback(len,
			body, g_free);
		if (rs->content_type)
			MHD_add_response_header(resp,
				MHD_HTTP_HEADER_CONTENT_TYPE, rs->content_type);
	}
	if (rs->location[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION,
					rs->location);
	if (rs->retry_after > 0) {
		char buf[16];

		g_snprintf(buf, sizeof buf, "%d", rs->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, buf);
	}
	if (rs->status == 401 && taxii)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
			"Basic realm=\"csip\", charset=\"UTF-8\"");
	if (rs->status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"csip\"");
	if (rs->added_first[0])
		MHD_add_response_header(resp, "X-TAXII-Date-Added-First",
					rs->added_first);
	if (rs->added_last[0])
		MHD_add_response_header(resp, "X-TAXII-Date-Added-Last",
					rs->added_last);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
				"no-store");
	ret = MHD_queue_response(c, (unsigned)rs->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* A failure's own words go to the log under a reference, always (even
 * with quiet set), whoever the caller; callers other than the hub get
 * the reference alone. */
static void
hide_internal(const csip_req *rq, csip_resp *rs, const char *method,
	      const char *url)
{
	char ref[17], *orig;

	if (rs->status < 500)
		return;
	g_snprintf(ref, sizeof ref, "%08x%08x", g_random_int(),
		   g_random_int());
	orig = csip_api_hide_internal(rs, rq->authed && rq->reader.hub, ref);
	if (orig)
		g_printerr("%s %s %d reference %s: %s\n", method, url,
			   rs->status, ref, orig);
	g_free(orig);
}

static void
handle(csip_server *srv, struct MHD_Connection *c, const char *url,
       const char *method, conn_state *cs)
{
	csip_req rq;
	csip_resp rs;
	const csip_route *route = NULL;
	const char *ct;
	char *mt = NULL;
	char msg[200];
	int path_known = 0, rc, wait, taxii;

	memset(&rq, 0, sizeof rq);
	memset(&rs, 0, sizeof rs);
	rs.status = 200;
	rq.method = method;
	rq.path = url;
	rq.conn = c;
	rq.query = query_get;
	rq.query_count = query_count;
	rq.header = header_get;
	rq.metrics = srv->metrics;
	g_strlcpy(rq.actor, "anonymous", sizeof rq.actor);
	csip_error_clear();

	rq.hub = thread_hub_get();
	if (rq.hub == NULL) {
		csip_api_error(&rs, 503, csip_error_last());
		goto out;
	}
	route = csip_api_match(method, url, &rq, &path_known);
	if (route == NULL) {
		g_snprintf(msg, sizeof msg, path_known ? "%s is not allowed on "
			"%s" : "no such endpoint: %s %s; the API is described "
			"at /api/v1/openapi.json", method, url);
		csip_api_error(&rs, path_known ? 405 : 404, msg);
		goto out;
	}
	if (cs->swallowed > 0) {
		g_snprintf(msg, sizeof msg, "the body is larger than the %zu "
			"MiB this server accepts", srv->max_body >> 20);
		csip_api_error(&rs, 413, msg);
		goto out;
	}
	if (route->auth != CSIP_AUTH_NONE && authenticate(srv, &rq, &rs,
							       route) < 0)
		goto out;
	/* Basic sign-ins have no token: their bucket is the user's. */
	if (rq.authed && (wait = rate_check(srv, rq.who.token_id ?
			  rq.who.token_id : -rq.who.user_id)) > 0) {
		csip_api_error(&rs, 429, "too many requests with this token: "
			"slow down and retry after the Retry-After seconds");
		rs.retry_after = wait;
		goto out;
	}
	ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_CONTENT_TYPE);
	mt = media_type(ct);
	rq.content_type = mt;
	rq.body = cs->body ? (const char *)cs->body->data : NULL;
	rq.body_len = cs->body ? cs->body->len : 0;
	if (route->taxii && taxii_check(&rq, &rs, route) < 0)
		goto out;
	if (check_body(&rq, &rs, route) < 0)
		goto out;
	rc = route->fn(&rq, &rs);
	if (rc < 0)
		csip_api_error(&rs, csip_api_status(rc), csip_error_last());
out:
	hide_internal(&rq, &rs, method, url);
	if (rq.authed)
		audit_read(srv, &rq, strcmp(method, "GET") == 0, rs.status);
	csip_metrics_observe(srv->metrics, method, route ? route->pattern
		: "unmatched", rs.status, (double)(g_get_monotonic_time() -
		cs->start_us) / G_USEC_PER_SEC);
	if (!srv->opts.quiet)
		g_printerr("%s %s %d %.1fms %s\n", method, url, rs.status,
			(double)(g_get_monotonic_time() - cs->start_us) / 1000,
			rq.actor);
	/* Under /taxii2/ every answer is TAXII's, even for a path that
	 * matched no route. */
	taxii = route ? route->taxii : g_str_has_prefix(url, "/taxii2/");
	if (taxii)
		csip_api_taxii_finish(&rs);
	send_response(c, &rs, taxii);
	if (rs.fd > 0)
		close(rs.fd);
	json_decref(rs.json);
	g_free(rs.raw);
	json_decref(rq.json);
	csip_reader_clear(&rq.reader);
	g_free(mt);
}

static enum MHD_Result
answer(void *cls, struct MHD_Connection *c, const char *url,
       const char *method, const char *version, const char *upload_data,
       size_t *upload_data_size, void **con_cls)
{
	csip_server *srv = cls;
	conn_state *cs = *con_cls;

	if (cs == NULL) {
		const char *cl = MHD_lookup_connection_value(c,
			MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

		cs = g_new0(conn_state, 1);
		cs->start_us = g_get_monotonic_time();
		cs->counted = 1;
		g_atomic_int_inc(&srv->in_flight);
		*con_cls = cs;
		/* Refuse a declared oversize body before reading any of it. */
		if (cl && g_ascii_strtoull(cl, NULL, 10) > srv->max_body) {
			cs->swallowed = 1;
			cs->answered = 1;
			handle(srv, c, url, method, cs);
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (cs->swallowed == 0 && (cs->body ? cs->body->len : 0) +
		    *upload_data_size <= srv->max_body) {
			if (cs->body == NULL)
				cs->body = g_byte_array_new();
			g_byte_array_append(cs->body,
				(const guint8 *)upload_data,
				(guint)*upload_data_size);
		} else {
			cs->swallowed += *upload_data_size;
			g_clear_pointer(&cs->body, g_byte_array_unref);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	/* A NUL past the end, so text bodies can be used as C strings. */
	if (cs->body) {
		g_byte_array_append(cs->body, (const guint8 *)"", 1);
		g_byte_array_set_size(cs->body, cs->body->len - 1);
	}
	if (!cs->answered) {
		cs->answered = 1;
		handle(srv, c, url, method, cs);
	}
	return MHD_YES;
}

static void
completed(void *cls, struct MHD_Connection *c, void **con_cls,
	  enum MHD_RequestTerminationCode toe)
{
	csip_server *srv = cls;
	conn_state *cs = *con_cls;

	if (cs == NULL)
		return;
	if (cs->body)
		g_byte_array_unref(cs->body);
	if (cs->counted)
		g_atomic_int_dec_and_test(&srv->in_flight);
	g_free(cs);
	*con_cls = NULL;
}

/* ---- lifecycle -------------------------------------------------------- */

static int
parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	const char *colon = strrchr(s ? s : "", ':');
	char *host;
	gint64 port;
	char *end;
	int rc = CSIP_OK;

	memset(ss, 0, sizeof *ss);
	if (colon == NULL)
		return csip_error_set(CSIP_EINVAL, "listen address \"%s\": use "
			"ADDR:PORT, e.g. 127.0.0.1:8470", s ? s : "");
	port = g_ascii_strtoll(colon + 1, &end, 10);
	if (*end || end == colon + 1 || port < 0 || port > 65535)
		return csip_error_set(CSIP_EINVAL, "listen address \"%s\": the "
			"port must be 0 to 65535", s);
	host = g_strndup(s, colon - s);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr)
	    == 1) {
		((struct sockaddr_in *)ss)->sin_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
		*len = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, host,
			     &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
		*len = sizeof(struct sockaddr_in6);
	} else {
		rc = csip_error_set(CSIP_EINVAL, "listen address \"%s\": \"%s\" "
			"is not an IP address", s, host);
	}
	g_free(host);
	return rc;
}

static int
config_int(csip_config *cfg, const char *key, int min, int max, int *out)
{
	const char *v = csip_config_get(cfg, "server", key);
	char *end;
	gint64 n = g_ascii_strtoll(v ? v : "", &end, 10);

	if (v == NULL || *v == '\0' || *end || n < min || n > max)
		return csip_error_set(CSIP_ECONFIG, "[server] %s = \"%s\": use "
			"a number from %d to %d", key, v ? v : "", min, max);
	*out = (int)n;
	return CSIP_OK;
}

int
csip_server_new(csip_config *cfg, const csip_server_opts *opts,
		csip_server **out)
{
	csip_server *srv = g_new0(csip_server, 1);
	csip_hub *h = NULL;
	struct sockaddr_storage ss;
	socklen_t sl;
	int rc, mb = 0, rate = 0, fails = 0;
	GError *err = NULL;

	*out = NULL;
	srv->cfg = cfg;
	srv->opts = *opts;
	srv->stop_pipe[0] = srv->stop_pipe[1] = -1;
	if (srv->opts.listen == NULL || *srv->opts.listen == '\0')
		srv->opts.listen = csip_config_get(cfg, "server", "listen");
	if (srv->opts.tls_cert == NULL || *srv->opts.tls_cert == '\0')
		srv->opts.tls_cert = csip_config_get(cfg, "server", "tls_cert");
	if (srv->opts.tls_key == NULL || *srv->opts.tls_key == '\0')
		srv->opts.tls_key = csip_config_get(cfg, "server", "tls_key");
	if ((rc = parse_listen(srv->opts.listen, &ss, &sl)) < 0)
		goto out;
	if ((rc = config_int(cfg, "max_body_mb", 1, 4096, &mb)) < 0 ||
	    (rc = config_int(cfg, "rate_limit", 0, 1000000, &rate)) < 0 ||
	    (rc = config_int(cfg, "auth_failures", 0, 1000000, &fails)) < 0)
		goto out;
	srv->max_body = (size_t)mb << 20;
	srv->rate = rate;
	srv->fail_burst = fails;
	if ((srv->opts.tls_cert && *srv->opts.tls_cert) !=
	    (srv->opts.tls_key && *srv->opts.tls_key)) {
		rc = csip_error_set(CSIP_ECONFIG, "HTTPS needs both a "
			"certificate and its key: give --tls-cert and "
			"--tls-key");
		goto out;
	}
	if (srv->opts.tls_cert && *srv->opts.tls_cert) {
		if (!g_file_get_contents(srv->opts.tls_cert,
					 &srv->tls_cert_pem, NULL, &err) ||
		    !g_file_get_contents(srv->opts.tls_key,
					 &srv->tls_key_pem, NULL, &err)) {
			rc = csip_error_set(CSIP_ECONFIG, "%s", err->message);
			g_error_free(err);
			goto out;
		}
	}
	/* Open once here so that a broken database or key is reported
	 * before listening, not on the first request. */
	if ((rc = csip_hub_open(cfg, 0, &h)) < 0)
		goto out;
	if (pipe(srv->stop_pipe) < 0) {
		rc = csip_error_set(CSIP_EIO, "pipe: %s", g_strerror(errno));
		goto out;
	}
	srv->metrics = csip_metrics_new();
	srv->buckets = g_hash_table_new_full(g_int64_hash, g_int64_equal,
					     g_free, g_free);
	srv->fails = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					   g_free);
	srv->known = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					   g_free);
	srv->reads = g_ptr_array_new_with_free_func(read_record_free);
	g_mutex_init(&srv->rl_lock);
	g_mutex_init(&srv->q_lock);
	g_cond_init(&srv->q_cond);
	g_cond_init(&srv->n_cond);
	*out = srv;
	srv = NULL;
out:
	csip_hub_free(h);
	if (srv) {
		g_free(srv->tls_cert_pem);
		g_free(srv->tls_key_pem);
		g_free(srv);
	}
	return rc;
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	g_printerr("csip serve: ");
	vfprintf(stderr, fmt, ap);
}

int
csip_server_run(csip_server *srv, void (*ready)(int port, void *ud),
		void *ud)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
		MHD_USE_ITC | MHD_USE_ERROR_LOG;
	int threads = 0, timeout = 0, maxconn = 0, grace = 0, rc;
	const union MHD_DaemonInfo *info;
	struct pollfd pfd;
	gint64 deadline;

	if ((rc = parse_listen(srv->opts.listen, &ss, &sl)) < 0 ||
	    (rc = config_int(srv->cfg, "threads", 1, 256, &threads)) < 0 ||
	    (rc = config_int(srv->cfg, "timeout", 1, 3600, &timeout)) < 0 ||
	    (rc = config_int(srv->cfg, "max_connections", 1, 100000,
			     &maxconn)) < 0 ||
	    (rc = config_int(srv->cfg, "shutdown_grace", 0, 86400,
			     &grace)) < 0)
		return rc;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (srv->tls_cert_pem)
		flags |= MHD_USE_TLS;
	hub_cfg = srv->cfg;
	/* Before any thread exists: curl's global state is not
	 * thread-safe to set up. */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	srv->auditor = g_thread_new("csip-audit", auditor_main, srv);
	srv->notifier = g_thread_new("csip-notify", notifier_main, srv);
	/* The logger goes first: MHD reports problems with the options
	 * after it through whatever logger is set at that point. */
	if (srv->tls_cert_pem)
		srv->daemon = MHD_start_daemon(flags, 0, NULL, NULL, answer,
			srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
			MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
			MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)timeout,
			MHD_OPTION_CONNECTION_LIMIT, (unsigned)maxconn,
			MHD_OPTION_NOTIFY_COMPLETED, completed, srv,
			MHD_OPTION_HTTPS_MEM_CERT, srv->tls_cert_pem,
			MHD_OPTION_HTTPS_MEM_KEY, srv->tls_key_pem,
			MHD_OPTION_HTTPS_PRIORITIES,
			"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
			MHD_OPTION_END);
	else
		srv->daemon = MHD_start_daemon(flags, 0, NULL, NULL, answer,
			srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
			MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
			MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)timeout,
			MHD_OPTION_CONNECTION_LIMIT, (unsigned)maxconn,
			MHD_OPTION_NOTIFY_COMPLETED, completed, srv,
			MHD_OPTION_END);
	if (srv->daemon == NULL) {
		rc = csip_error_set(CSIP_EIO, "cannot listen on %s (in use, or "
			"a bad TLS certificate or key?): choose another "
			"address with --listen", srv->opts.listen);
		goto stop_threads;
	}
	info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
	if (ready)
		ready(info ? info->port : 0, ud);

	pfd.fd = srv->stop_pipe[0];
	pfd.events = POLLIN;
	while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
		;
	/* Stop accepting, let requests in flight finish (up to [server]
	 * shutdown_grace seconds), then close what is left: idle keep-alive
	 * connections. */
	MHD_socket lfd = MHD_quiesce_daemon(srv->daemon);
	if (lfd != MHD_INVALID_SOCKET)
		close(lfd);
	deadline = g_get_monotonic_time() + (gint64)grace * G_USEC_PER_SEC;
	while (g_atomic_int_get(&srv->in_flight) > 0 &&
	       g_get_monotonic_time() < deadline)
		g_usleep(10 * 1000);
	MHD_stop_daemon(srv->daemon);
	srv->daemon = NULL;
	rc = CSIP_OK;
stop_threads:
	g_mutex_lock(&srv->q_lock);
	srv->stopping = 1;
	g_cond_broadcast(&srv->q_cond);
	g_cond_broadcast(&srv->n_cond);
	g_mutex_unlock(&srv->q_lock);
	g_thread_join(srv->auditor);
	g_thread_join(srv->notifier);
	srv->auditor = srv->notifier = NULL;
	return rc;
}

void
csip_server_stop(csip_server *srv)
{
	int saved = errno;

	if (srv && srv->stop_pipe[1] >= 0 &&
	    write(srv->stop_pipe[1], "x", 1) < 0) {
		/* Nothing to do from a signal handler: the pipe is full
		 * only if a stop is already pending. */
	}
	errno = saved;
}

void
csip_server_free(csip_server *srv)
{
	if (srv == NULL)
		return;
	if (srv->stop_pipe[0] >= 0)
		close(srv->stop_pipe[0]);
	if (srv->stop_pipe[1] >= 0)
		close(srv->stop_pipe[1]);
	csip_metrics_free(srv->metrics);
	g_hash_table_destroy(srv->buckets);
	if (srv->fails)
		g_hash_table_destroy(srv->fails);
	if (srv->known)
		g_hash_table_destroy(srv->known);
	g_ptr_array_free(srv->reads, TRUE);
	g_mutex_clear(&srv->rl_lock);
	g_mutex_clear(&srv->q_lock);
	g_cond_clear(&srv->q_cond);
	g_cond_clear(&srv->n_cond);
	g_free(srv->tls_cert_pem);
	g_free(srv->tls_key_pem);
	g_free(srv);
}
