/*
 * audit.c - the audit hash chain (see audit.h).
 *
 * hash(n) = BLAKE2b-256 keyed with the hub key over the length-prefixed
 * fields id, at, actor, action, target, detail, prev_hash; prev_hash of the
 * first row is 64 zeros.  Length prefixes make the encoding unambiguous:
 * moving bytes from one field to the next changes the hash.
 */
#include "lib/audit.h"
#include "util/error.h"

#include <glib.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define HASH_BYTES 32
#define HASH_HEX (HASH_BYTES * 2 + 1)

static const char genesis[] =
	"0000000000000000000000000000000000000000000000000000000000000000";

static void
absorb(crypto_generichash_state *st, const char *s)
{
	char len[24];

	if (s == NULL)
		s = "";
	g_snprintf(len, sizeof len, "%zu:", strlen(s));
	crypto_generichash_update(st, (const unsigned char *)len, strlen(len));
	crypto_generichash_update(st, (const unsigned char *)s, strlen(s));
}

static void
row_hash(const uint8_t *key, int64_t id, const char *at, const char *actor,
	 const char *action, const char *target, const char *detail,
	 const char *prev, char out[HASH_HEX])
{
	crypto_generichash_state st;
	unsigned char h[HASH_BYTES];
	char idbuf[24];

	g_snprintf(idbuf, sizeof idbuf, "%" PRId64, id);
	crypto_generichash_init(&st, key, CSIP_KEY_BYTES, sizeof h);
	absorb(&st, idbuf);
	absorb(&st, at);
	absorb(&st, actor);
	absorb(&st, action);
	absorb(&st, target);
	absorb(&st, detail);
	absorb(&st, prev);
	crypto_generichash_final(&st, h, sizeof h);
	sodium_bin2hex(out, HASH_HEX, h, sizeof h);
}

int
csip_audit_append(csip_hub *h, const char *actor, const char *action,
		  const char *target, json_t *detail)
{
	csip_store *s = csip_hub_store(h);
	csip_stmt *st = NULL;
	char *dj = NULL, *prev = NULL;
	char now[21], hash[HASH_HEX], idbuf[24];
	int64_t id = 1;
	int rc;

	if ((rc = csip_store_begin(s)) < 0) {
		json_decref(detail);
		return rc;
	}
	dj = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS)
		: strdup("{}");
	if (dj == NULL) {
		rc = csip_error_set(CSIP_EINVAL, "audit detail is not JSON");
		goto out;
	}
	if ((rc = csip_store_prepare(s, "SELECT last_id, hash FROM audit_head"
				     " WHERE one = 1", &st)) < 0)
		goto out;
	rc = csip_stmt_step(st);
	if (rc < 0)
		goto out;
	if (rc == CSIP_ROW) {
		id = csip_stmt_int64(st, 0) + 1;
		prev = g_strdup(csip_stmt_text(st, 1));
	} else {
		prev = g_strdup(genesis);
	}
	g_clear_pointer(&st, csip_stmt_free);

	csip_store_now(now);
	row_hash(csip_hub_key(h), id, now, actor, action, target, dj, prev,
		 hash);
	g_snprintf(idbuf, sizeof idbuf, "%" PRId64, id);
	rc = csip_store_run(s, NULL, "INSERT INTO audit_log (id, at, actor, "
		"action, target, detail, prev_hash, hash) "
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?)", idbuf, now, actor, action,
		target, dj, prev, hash, NULL);
	if (rc < 0)
		goto out;
	rc = csip_store_run(s, NULL, id == 1
		? "INSERT INTO audit_head (one, last_id, hash) VALUES (1, ?, ?)"
		: "UPDATE audit_head SET last_id = ?, hash = ? WHERE one = 1",
		idbuf, hash, NULL);
out:
	csip_stmt_free(st);
	free(dj);  /* json_dumps() allocates with malloc */
	json_decref(detail);
	g_free(prev);
	if (rc < 0) {
		csip_store_rollback(s);
		return rc;
	}
	return csip_store_commit(s);
}

int
csip_audit_verify(csip_hub *h, int64_t *rows)
{
	csip_store *s = csip_hub_store(h);
	csip_stmt *st = NULL;
	char prev[HASH_HEX], want[HASH_HEX];
	int64_t expect = 1, n = 0, head_id = 0;
	char *head_hash = NULL;
	int rc;

	*rows = 0;
	g_strlcpy(prev, genesis, sizeof prev);
	rc = csip_store_prepare(s, "SELECT id, at, actor, action, target, "
		"detail, prev_hash, hash FROM audit_log ORDER BY id", &st);
	if (rc < 0)
		goto out;
	while ((rc = csip_stmt_step(st)) == CSIP_ROW) {
		int64_t id = csip_stmt_int64(st, 0);
		const char *stored_prev = csip_stmt_text(st, 6);
		const char *stored = csip_stmt_text(st, 7);

		if (id != expect) {
			rc = csip_error_set(CSIP_ETAMPERED, id > expect
				? "audit log tampered: row %" PRId64 " is "
				  "missing (the chain jumps to row %" PRId64
				  "): a row was deleted"
				: "audit log tampered: row %" PRId64 " appears "
				  "out of order (found %" PRId64 ")",
				expect, id);
			goto out;
		}
		if (g_strcmp0(stored_prev, prev) != 0) {
			rc = csip_error_set(CSIP_ETAMPERED, "audit log tampered:"
				" row %" PRId64 " does not follow row %" PRId64
				": the chain was cut or rows were replaced",
				id, id - 1);
			goto out;
		}
		row_hash(csip_hub_key(h), id, csip_stmt_text(st, 1),
			 csip_stmt_text(st, 2), csip_stmt_text(st, 3),
			 csip_stmt_text(st, 4), csip_stmt_text(st, 5),
			 stored_prev, want);
		if (g_strcmp0(stored, want) != 0) {
			rc = csip_error_set(CSIP_ETAMPERED, "audit log tampered:"
				" row %" PRId64 " was changed after it was "
				"written (its hash does not match)", id);
			goto out;
		}
		g_strlcpy(prev, stored, sizeof prev);
		expect++;
		n++;
	}
	if (rc < 0)
		goto out;
	g_clear_pointer(&st, csip_stmt_free);

	rc = csip_store_prepare(s, "SELECT last_id, hash FROM audit_head "
				"WHERE one = 1", &st);
	if (rc < 0)
		goto out;
	rc = csip_stmt_step(st);
	if (rc < 0)
		goto out;
	if (rc == CSIP_ROW) {
		head_id = csip_stmt_int64(st, 0);
		head_hash = g_strdup(csip_stmt_text(st, 1));
	}
	if (head_id != n || (n > 0 && g_strcmp0(head_hash, prev) != 0)) {
		rc = csip_error_set(CSIP_ETAMPERED, "audit log tampered: the "
			"chain ends at row %" PRId64 " but the head records row "
			"%" PRId64 ": rows were removed from the end", n,
			head_id);
		goto out;
	}
	*rows = n;
	rc = CSIP_OK;
out:
	csip_stmt_free(st);
	g_free(head_hash);
	return rc;
}

int
csip_audit_list(csip_hub *h, int limit, json_t **out)
{
	csip_store *s = csip_hub_store(h);
	csip_stmt *st = NULL;
	json_t *arr = json_array();
	int rc;

	*out = NULL;
	rc = csip_store_prepare(s, "SELECT id, at, actor, action, target, "
		"detail, hash FROM (SELECT * FROM audit_log ORDER BY id DESC "
		"LIMIT ?) AS recent ORDER BY id", &st);
	if (rc < 0)
		goto out;
	if ((rc = csip_stmt_bind_int64(st, 1, limit > 0 ? limit : INT64_MAX))
	    < 0)
		goto out;
	while ((rc = csip_stmt_step(st)) == CSIP_ROW) {
		json_t *detail = json_loads(csip_stmt_text(st, 5), 0, NULL);

		json_array_append_new(arr, json_pack("{sI ss ss ss ss so ss}",
			"id", (json_int_t)csip_stmt_int64(st, 0),
			"at", csip_stmt_text(st, 1),
			"actor", csip_stmt_text(st, 2),
			"action", csip_stmt_text(st, 3),
			"target", csip_stmt_text(st, 4),
			"detail", detail ? detail : json_object(),
			"hash", csip_stmt_text(st, 6)));
	}
	if (rc < 0)
		goto out;
	*out = arr;
	arr = NULL;
	rc = CSIP_OK;
out:
	csip_stmt_free(st);
	json_decref(arr);
	return rc;
}
