/*
 * user.c - users, passwords and API tokens (see user.h).
 */
#include "lib/user.h"
#include "lib/audit.h"
#include "lib/org.h"
#include "util/error.h"

#include <glib.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOKEN_PREFIX "csip_"
#define TOKEN_BYTES 32
#define PASSWORD_MIN 10

static int
check_user_role(const char *role)
{
	if (strcmp(role, "admin") == 0 || strcmp(role, "analyst") == 0 ||
	    strcmp(role, "member") == 0)
		return CSIP_OK;
	return csip_error_set(CSIP_EINVAL, "user role \"%s\": must be admin, "
		"analyst or member", role);
}

int
csip_user_add(csip_hub *h, const char *actor, const char *org,
	      const char *name, const char *email, const char *role,
	      const char *password, int64_t *id)
{
	csip_store *s = csip_hub_store(h);
	char hash[crypto_pwhash_STRBYTES], now[21], orgid[24], *target = NULL;
	int64_t oid;
	int rc, began = 0;

	if (role == NULL)
		role = "member";
	if ((rc = csip_slug_check("user", name)) < 0 ||
	    (rc = check_user_role(role)) < 0)
		goto out;
	if (email && (strchr(email, '@') == NULL || strlen(email) > 254 ||
		      !g_utf8_validate(email, -1, NULL))) {
		rc = csip_error_set(CSIP_EINVAL, "e-mail \"%s\" is not an "
			"address", email);
		goto out;
	}
	if (password && g_utf8_strlen(password, -1) < PASSWORD_MIN) {
		rc = csip_error_set(CSIP_EINVAL, "the password is too short: "
			"use at least %d characters", PASSWORD_MIN);
		goto out;
	}
	if (password && crypto_pwhash_str(hash, password, strlen(password),
			crypto_pwhash_OPSLIMIT_INTERACTIVE,
			crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		rc = csip_error_set(CSIP_ERR, "cannot hash the password (out of "
			"memory?)");
		goto out;
	}
	if ((rc = csip_store_begin(s)) < 0)
		goto out;
	began = 1;
	if ((rc = csip_org_id(h, org, &oid)) < 0)
		goto out;
	g_snprintf(orgid, sizeof orgid, "%" PRId64, oid);
	csip_store_now(now);
	rc = csip_store_query_int64(s, id, "INSERT INTO app_user (org_id, name,"
		" email, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?, "
		"?) RETURNING id", orgid, name, email ? email : CSIP_SQL_NULL,
		role, password ? hash : CSIP_SQL_NULL, now, NULL);
	if (rc == CSIP_EEXISTS)
		rc = csip_error_set(rc, "user %s already exists", name);
	if (rc < 0)
		goto out;
	target = g_strconcat("user:", name, NULL);
	rc = csip_audit_append(h, actor, "user.add", target, json_pack(
		"{ss ss so? sb}", "org", org, "role", role, "email", email
		? json_string(email) : NULL, "password", password != NULL));
out:
	sodium_memzero(hash, sizeof hash);
	g_free(target);
	if (rc < 0) {
		if (began)
			csip_store_rollback(s);
		return csip_error_prefix(rc, "user %s: ", name ? name : "");
	}
	return csip_store_commit(s);
}

static int
user_row(csip_stmt *st, void *arr)
{
	json_array_append_new(arr, json_pack("{ss ss so? ss sb ss sb}",
		"name", csip_stmt_text(st, 0),
		"org", csip_stmt_text(st, 1),
		"email", csip_stmt_is_null(st, 2) ? NULL
			: json_string(csip_stmt_text(st, 2)),
		"role", csip_stmt_text(st, 3),
		"disabled", (int)csip_stmt_int64(st, 4),
		"created_at", csip_stmt_text(st, 5),
		"password", (int)csip_stmt_int64(st, 6)));
	return CSIP_OK;
}

int
csip_user_list(csip_hub *h, const char *org, json_t **out)
{
	const char *p = org ? org : CSIP_SQL_NULL;
	json_t *arr;
	int64_t oid;
	int rc;

	*out = NULL;
	if (org && (rc = csip_org_id(h, org, &oid)) < 0)
		return rc;
	arr = json_array();
	rc = csip_store_each(csip_hub_store(h), user_row, arr, "SELECT u.name, "
		"o.name, u.email, u.role, u.disabled, u.created_at, "
		"u.password_hash IS NOT NULL FROM app_user u JOIN org o ON "
		"o.id = u.org_id WHERE CAST(? AS TEXT) IS NULL OR o.name = ? "
		"ORDER BY u.name",
		p, p, NULL);
	if (rc < 0) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return CSIP_OK;
}

int
csip_user_disable(csip_hub *h, const char *actor, const char *name)
{
	csip_store *s = csip_hub_store(h);
	char *target = NULL;
	int rc, n;

	if ((rc = csip_store_begin(s)) < 0)
		return rc;
	rc = csip_store_run(s, &n, "UPDATE app_user SET disabled = 1 WHERE "
		"name = ? AND disabled = 0", name, NULL);
	if (rc < 0)
		goto out;
	if (n == 0) {
		int64_t id;

		rc = csip_store_query_int64(s, &id, "SELECT id FROM app_user "
			"WHERE name = ?", name, NULL);
		rc = rc == CSIP_ENOTFOUND
			? csip_error_set(rc, "user %s does not exist; `csip "
				"user list` shows the users", name)
			: rc < 0 ? rc
			: csip_error_set(CSIP_EINVAL, "user %s is already "
				"disabled", name);
		goto out;
	}
	target = g_strconcat("user:", name, NULL);
	rc = csip_audit_append(h, actor, "user.disable", target, NULL);
out:
	g_free(target);
	if (rc < 0) {
		csip_store_rollback(s);
		return rc;
	}
	return csip_store_commit(s);
}

/* ---- verified passwords ---------------------------------------------
 * TAXII clients send Basic credentials with every request, and an
 * Argon2id verification costs about a tenth of a second and 64 MiB by
 * design.  A success is remembered for CRED_TTL seconds under a keyed
 * BLAKE2b of the name and password (the key drawn at random once per
 * process, so nothing in the table outlives it), beside the stored hash
 * it was verified against.  The stored hash is read on every call, of
 * enabled users only, so a changed password or a disabled user misses at
 * once, on every server of a cluster.  Failures are never remembered:
 * the server's brake on guessing applies to them. */
#define CRED_TTL_US (300 * G_USEC_PER_SEC)
#define CRED_MAX 4096

typedef struct cred_entry {
	unsigned char mac[32];
	char hash[crypto_pwhash_STRBYTES];
	gint64 until;
} cred_entry;

static GMutex cred_lock;
static GHashTable *cred_seen;   /* mac -> cred_entry (owns it) */
static unsigned char cred_key[crypto_generichash_KEYBYTES];
/* A hash of a random password, verified when the name is unknown or
 * disabled, so that such a name costs what a wrong password costs: a
 * fast refusal would tell anyone which user names exist (they often
 * carry a participant's domain). */
static char cred_decoy[crypto_pwhash_STRBYTES];
static gint cred_verifications;  /* Argon2id verifications, for tests */

static guint
cred_hash(gconstpointer k)
{
	guint v;

	memcpy(&v, k, sizeof v);
	return v;
}

static gboolean
cred_equal(gconstpointer a, gconstpointer b)
{
	return memcmp(a, b, 32) == 0;
}

static void
cred_mac(const char *name, const char *password, unsigned char mac[32])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, cred_key, sizeof cred_key, 32);
	crypto_generichash_update(&st, (const unsigned char *)name,
				  strlen(name) + 1);
	crypto_generichash_update(&st, (const unsigned char *)password,
				  strlen(password));
	crypto_generichash_final(&st, mac, 32);
}

static gboolean
cred_expired(gpointer k, gpointer v, gpointer now)
{
	(void)k;
	return ((cred_entry *)v)->until <= *(gint64 *)now;
}

static void
cred_init(void)
{
	static gsize once;

	if (g_once_init_enter(&once)) {
		unsigned char pw[32];

		randombytes_buf(cred_key, sizeof cred_key);
		randombytes_buf(pw, sizeof pw);
		/* Fails only out of memory; the decoy is then empty and its
		 * verification fails at once, which is still a refusal. */
		if (crypto_pwhash_str(cred_decoy, (const char *)pw, sizeof pw,
				      crypto_pwhash_OPSLIMIT_INTERACTIVE,
				      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
			cred_decoy[0] = '\0';
		sodium_memzero(pw, sizeof pw);
		cred_seen = g_hash_table_new_full(cred_hash, cred_equal, NULL,
						  g_free);
		g_once_init_leave(&once, 1);
	}
}

/* Whether MAC was verified against STORED less than CRED_TTL ago. */
static int
cred_known(const unsigned char mac[32], const char *stored)
{
	cred_entry *e;
	int hit;

	g_mutex_lock(&cred_lock);
	e = g_hash_table_lookup(cred_seen, mac);
	hit = e != NULL && e->until > g_get_monotonic_time() &&
	      strcmp(e->hash, stored) == 0;
	g_mutex_unlock(&cred_lock);
	return hit;
}

static void
cred_remember(const unsigned char mac[32], const char *stored)
{
	cred_entry *e = g_new0(cred_entry, 1);
	gint64 now = g_get_monotonic_time();

	memcpy(e->mac, mac, 32);
	g_strlcpy(e->hash, stored, sizeof e->hash);
	e->until = now + CRED_TTL_US;
	g_mutex_lock(&cred_lock);
	if (g_hash_table_size(cred_seen) >= CRED_MAX)
		g_hash_table_foreach_remove(cred_seen, cred_expired, &now);
	if (g_hash_table_size(cred_seen) >= CRED_MAX)
		g_hash_table_remove_all(cred_seen);
	g_hash_table_replace(cred_seen, e->mac, e);
	g_mutex_unlock(&cred_lock);
}

int
csip_user_check_password(csip_hub *h, const char *name, const char *password)
{
	csip_stmt *st = NULL;
	unsigned char mac[32] = { 0 };
	const char *stored;
	int rc;

	rc = csip_store_prepare_bind(csip_hub_store(h), &st, "SELECT "
		"password_hash FROM app_user WHERE name = ? AND disabled = 0 "
		"AND password_hash IS NOT NULL", name, NULL);
	if (rc < 0)
		goto out;
	if ((rc = csip_stmt_step(st)) < 0)
		goto out;
	cred_init();
	if (rc == CSIP_ROW) {
		stored = csip_stmt_text(st, 0);
		cred_mac(name, password, mac);
		rc = CSIP_OK;
		if (cred_known(mac, stored))
			goto out;
		g_atomic_int_inc(&cred_verifications);
		if (crypto_pwhash_str_verify(stored, password,
					     strlen(password)) == 0) {
			cred_remember(mac, stored);
			goto out;
		}
	} else {
		int decoy;

		g_atomic_int_inc(&cred_verifications);
		/* Its answer is a refusal either way: nobody knows the
		 * decoy's password. */
		decoy = crypto_pwhash_str_verify(cred_decoy, password,
						 strlen(password));
		(void)decoy;
	}
	rc = csip_error_set(CSIP_EPERM, "wrong user name or password");
out:
	csip_stmt_free(st);
	sodium_memzero(mac, sizeof mac);
	return rc;
}

unsigned
csip_user_password_verifications(void)
{
	return (unsigned)g_atomic_int_get(&cred_verifications);
}

/* The stored form of a token: keyed BLAKE2b, hex.  Domain-separated from
 * the audit chain, which uses the same key. */
static void
token_hash(const uint8_t *key, const char *token, char out[65])
{
	crypto_generichash_state st;
	unsigned char hbin[32];

	crypto_generichash_init(&st, key, CSIP_KEY_BYTES, sizeof hbin);
	crypto_generichash_update(&st, (const unsigned char *)"csip-token\0",
				  11);
	crypto_generichash_update(&st, (const unsigned char *)token,
				  strlen(token));
	crypto_generichash_final(&st, hbin, sizeof hbin);
	sodium_bin2hex(out, 65, hbin, sizeof hbin);
}

static void
iso_in_days(int days, char buf[21])
{
	time_t t = time(NULL) + (time_t)days * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
csip_token_create(csip_hub *h, const char *actor, const char *user,
		  const char *label, int days, int read_only, char **token,
		  int64_t *id)
{
	csip_store *s = csip_hub_store(h);
	unsigned char raw[TOKEN_BYTES];
	char b64[sodium_base64_ENCODED_LEN(TOKEN_BYTES,
		sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	char hash[65], now[21], exp[21], uid[24], ro[2], prefix[16];
	char *tok = NULL, *target = NULL;
	int64_t user_id, disabled;
	int rc, began = 0;

	*token = NULL;
	if (days < 0)
		days = atoi(csip_config_get(csip_hub_config(h), "security",
					    "token_days"));
	if (days < 0 || days > 3650) {
		rc = csip_error_set(CSIP_EINVAL, "token validity %d days: use "
			"0 (no expiry) to 3650", days);
		goto out;
	}
	if (label && (strlen(label) > 200 || !g_utf8_validate(label, -1,
							       NULL))) {
		rc = csip_error_set(CSIP_EINVAL, "token label: at most 200 "
			"bytes of UTF-8");
		goto out;
	}
	if ((rc = csip_store_begin(s)) < 0)
		goto out;
	began = 1;
	rc = csip_store_query_int64(s, &user_id, "SELECT id FROM app_user "
		"WHERE name = ?", user, NULL);
	if (rc == CSIP_ENOTFOUND)
		rc = csip_error_set(rc, "user %s does not exist; add it with "
			"`csip user add`", user);
	if (rc < 0)
		goto out;
	g_snprintf(uid, sizeof uid, "%" PRId64, user_id);
	rc = csip_store_query_int64(s, &disabled, "SELECT disabled FROM "
		"app_user WHERE id = ?", uid, NULL);
	if (rc < 0)
		goto out;
	if (disabled) {
		rc = csip_error_set(CSIP_EPERM, "user %s is disabled", user);
		goto out;
	}
	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(b64, sizeof b64, raw, sizeof raw,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	tok = g_strconcat(TOKEN_PREFIX, b64, NULL);
	token_hash(csip_hub_key(h), tok, hash);
	g_strlcpy(prefix, tok, strlen(TOKEN_PREFIX) + 7);
	csip_store_now(now);
	if (days > 0)
		iso_in_days(days, exp);
	g_snprintf(ro, sizeof ro, "%d", read_only ? 1 : 0);
	rc = csip_store_query_int64(s, id, "INSERT INTO api_token (user_id, "
		"label, prefix, token_hash, read_only, created_at, expires_at) "
		"VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id", uid,
		label ? label : "", prefix, hash, ro, now,
		days > 0 ? exp : CSIP_SQL_NULL, NULL);
	if (rc < 0)
		goto out;
	target = g_strdup_printf("token:%" PRId64, *id);
	rc = csip_audit_append(h, actor, "token.create", target, json_pack(
		"{ss ss sb so?}", "user", user, "prefix", prefix, "read_only",
		read_only, "expires_at", days > 0 ? json_string(exp) : NULL));
out:
	sodium_memzero(raw, sizeof raw);
	sodium_memzero(b64, sizeof b64);
	g_free(target);
	if (rc < 0) {
		if (began)
			csip_store_rollback(s);
		if (tok)
			sodium_memzero(tok, strlen(tok));
		g_free(tok);
		return csip_error_prefix(rc, "token for %s: ", user);
	}
	if ((rc = csip_store_commit(s)) < 0) {
		sodium_memzero(tok, strlen(tok));
		g_free(tok);
		return rc;
	}
	*token = tok;
	return CSIP_OK;
}

static int
token_row(csip_stmt *st, void *arr)
{
	static const char *const opt[] = { "expires_at", "revoked_at",
		"last_used_at" };
	json_t *o = json_pack("{sI ss ss ss sb ss}",
		"id", (json_int_t)csip_stmt_int64(st, 0),
		"user", csip_stmt_text(st, 1),
		"label", csip_stmt_text(st, 2),
		"prefix", csip_stmt_text(st, 3),
		"read_only", (int)csip_stmt_int64(st, 4),
		"created_at", csip_stmt_text(st, 5));

	for (int c = 6; c <= 8; c++)
		json_object_set_new(o, opt[c - 6], csip_stmt_is_null(st, c)
			? json_null() : json_string(csip_stmt_text(st, c)));
	json_array_append_new(arr, o);
	return CSIP_OK;
}

int
csip_token_list(csip_hub *h, const char *user, json_t **out)
{
	const char *p = user ? user : CSIP_SQL_NULL;
	json_t *arr = json_array();
	int rc;

	*out = NULL;
	rc = csip_store_each(csip_hub_store(h), token_row, arr, "SELECT t.id, "
		"u.name, t.label, t.prefix, t.read_only, t.created_at, "
		"t.expires_at, t.revoked_at, t.last_used_at FROM api_token t "
		"JOIN app_user u ON u.id = t.user_id WHERE CAST(? AS TEXT) IS "
		"NULL OR "
		"u.name = ? ORDER BY t.id DESC", p, p, NULL);
	if (rc < 0) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return CSIP_OK;
}

int
csip_token_revoke(csip_hub *h, const char *actor, int64_t id)
{
	csip_store *s = csip_hub_store(h);
	char idbuf[24], now[21], *target = NULL;
	int64_t dummy;
	int rc, n;

	g_snprintf(idbuf, sizeof idbuf, "%" PRId64, id);
	csip_store_now(now);
	if ((rc = csip_store_begin(s)) < 0)
		return rc;
	rc = csip_store_run(s, &n, "UPDATE api_token SET revoked_at = ? WHERE "
		"id = ? AND revoked_at IS NULL", now, idbuf, NULL);
	if (rc < 0)
		goto out;
	if (n == 0) {
		rc = csip_store_query_int64(s, &dummy, "SELECT id FROM "
			"api_token WHERE id = ?", idbuf, NULL);
		rc = rc == CSIP_ENOTFOUND
			? csip_error_set(rc, "token %s does not exist; `csip "
				"token list` shows the tokens", idbuf)
			: rc < 0 ? rc
			: csip_error_set(CSIP_EINVAL, "token %s is already "
				"revoked", idbuf);
		goto out;
	}
	target = g_strconcat("token:", idbuf, NULL);
	rc = csip_audit_append(h, actor, "token.revoke", target, NULL);
out:
	g_free(target);
	if (rc < 0) {
		csip_store_rollback(s);
		return rc;
	}
	return csip_store_commit(s);
}

int
csip_token_verify(csip_hub *h, const char *token, csip_principal *p)
{
	csip_stmt *st = NULL;
	char hash[65], now[21];
	int rc;

	memset(p, 0, sizeof *p);
	if (token == NULL || !g_str_has_prefix(token, TOKEN_PREFIX) ||
	    strlen(token) > 128)
		return csip_error_set(CSIP_EPERM, "invalid or expired token");
	token_hash(csip_hub_key(h), token, hash);
	csip_store_now(now);
	rc = csip_store_prepare_bind(csip_hub_store(h), &st, "SELECT t.id, "
		"u.id, o.id, u.name, o.name, u.role, o.role, t.read_only "
		"FROM api_token t JOIN app_user u ON u.id = t.user_id "
		"JOIN org o ON o.id = u.org_id WHERE t.token_hash = ? AND "
		"t.revoked_at IS NULL AND u.disabled = 0 AND "
		"(t.expires_at IS NULL OR t.expires_at > ?)", hash, now, NULL);
	if (rc < 0)
		goto out;
	if ((rc = csip_stmt_step(st)) < 0)
		goto out;
	if (rc == CSIP_DONE) {
		rc = csip_error_set(CSIP_EPERM, "invalid or expired token");
		goto out;
	}
	p->token_id = csip_stmt_int64(st, 0);
	p->user_id = csip_stmt_int64(st, 1);
	p->org_id = csip_stmt_int64(st, 2);
	g_strlcpy(p->user, csip_stmt_text(st, 3), sizeof p->user);
	g_strlcpy(p->org, csip_stmt_text(st, 4), sizeof p->org);
	g_strlcpy(p->user_role, csip_stmt_text(st, 5), sizeof p->user_role);
	g_strlcpy(p->org_role, csip_stmt_text(st, 6), sizeof p->org_role);
	p->read_only = (int)csip_stmt_int64(st, 7);
	rc = CSIP_OK;
out:
	csip_stmt_free(st);
	return rc;
}
