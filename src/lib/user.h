/*
 * user.h - users of member organisations, their passwords, and API tokens.
 *
 * Passwords are kept only as Argon2id hashes (libsodium's crypto_pwhash_str).
 * A token is 32 random bytes shown to its owner once, as "csip_" followed by
 * 43 base64url characters; the database keeps only a hash keyed with the
 * hub key, so a copy of the database does not let anyone use or test
 * tokens.  Every change is audited in the same transaction.
 */
#ifndef CSIP_USER_H
#define CSIP_USER_H

#include "lib/hub.h"

#include <jansson.h>
#include <stdint.h>

/* Add a user of organisation ORG.  ROLE is admin, analyst or member (NULL:
 * member); EMAIL and PASSWORD may be NULL (a user without a password signs
 * in with tokens only).  Passwords need at least 10 characters. */
int csip_user_add(csip_hub *h, const char *actor, const char *org,
		  const char *name, const char *email, const char *role,
		  const char *password, int64_t *id);

/* Users, by name; ORG may be NULL for all.  Never includes hashes. */
int csip_user_list(csip_hub *h, const char *org, json_t **out);

/* Disable a user: its tokens stop working at once. */
int csip_user_disable(csip_hub *h, const char *actor, const char *name);

/* CSIP_OK when NAME exists, is enabled and PASSWORD is right; CSIP_EPERM
 * otherwise (the message does not say which).  A success is remembered
 * for five minutes, as long as the stored password stays the same, so
 * that clients signing every request do not pay the password hash each
 * time.  Thread-safe. */
int csip_user_check_password(csip_hub *h, const char *name,
			     const char *password);

/* How many Argon2id verifications csip_user_check_password() has made in
 * this process: one for every call not answered from the remembered
 * successes, whether or not the name exists (tests show with it that an
 * unknown name costs what a wrong password does). */
unsigned csip_user_password_verifications(void);

/* Create a token for USER.  DAYS: validity (<0: the configured default,
 * 0: no expiry).  *token receives the secret (g_free(); shown once). */
int csip_token_create(csip_hub *h, const char *actor, const char *user,
		      const char *label, int days, int read_only,
		      char **token, int64_t *id);

/* Tokens, newest first; USER may be NULL for all.  Shows the prefix, never
 * the secret. */
int csip_token_list(csip_hub *h, const char *user, json_t **out);

/* Revoke a token by id. */
int csip_token_revoke(csip_hub *h, const char *actor, int64_t id);

/* Who a presented token belongs to. */
typedef struct csip_principal {
	int64_t user_id;
	int64_t org_id;
	int64_t token_id;
	char user[65];
	char org[65];
	char user_role[16];
	char org_role[16];
	int read_only;
} csip_principal;

/* Check TOKEN: it must exist, not be revoked or expired, and belong to an
 * enabled user.  CSIP_EPERM (one message for every reason) otherwise. */
int csip_token_verify(csip_hub *h, const char *token, csip_principal *out);

#endif
