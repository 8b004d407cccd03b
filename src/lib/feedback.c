/*
 * feedback.c - what recipients tell the hub about a shared item (see
 * feedback.h).
 *
 * Whether an organisation may give or read feedback is the policy's
 * decision on the item (csip_policy_decide); this file only decides whose
 * names a reader sees in the rows: all of them for the hub, none for a
 * provider, its own for everyone.
 */
#include "lib/feedback.h"
#include "lib/audit.h"
#include "lib/indicator.h"
#include "util/error.h"

#include <glib.h>
#include <inttypes.h>
#include <string.h>

#define COMMENT_MAX   (16 * 1024)
#define COUNT_MAX     1000000000

static const char *const kinds[] = { "sighting", "false_positive",
	"blocked", "comment", NULL };

static int
is_kind(const char *k)
{
	for (int i = 0; k && kinds[i]; i++)
		if (strcmp(k, kinds[i]) == 0)
			return 1;
	return 0;
}

/* The reader's access to ITEM_ID and whether the item is published.
 * Anything the reader may not read is CSIP_ENOTFOUND, the same as an item
 * that does not exist. */
static int
access_of(csip_store *s, const csip_reader *r, int64_t item_id,
	  csip_access *a, int *published)
{
	csip_item_facts f;
	int rc;

	*a = CSIP_ACCESS_NONE;
	*published = 0;
	if (r == NULL)
		goto none;
	rc = csip_item_facts_load(s, item_id, &f);
	if (rc == CSIP_ENOTFOUND)
		goto none;
	if (rc < 0)
		return rc;
	*a = csip_policy_decide(r, &f);
	*published = strcmp(f.status, "published") == 0;
	csip_item_facts_clear(&f);
	if (*a != CSIP_ACCESS_NONE)
		return CSIP_OK;
none:
	return csip_error_set(CSIP_ENOTFOUND, "item %" PRId64 " does not "
		"exist", item_id);
}

/* Parse field NAME's time V into *out (g_date_time_unref). */
static int
check_time(const char *name, const char *v, GDateTime **out)
{
	GDateTime *dt = g_date_time_new_from_iso8601(v, NULL);

	if (dt == NULL)
		return csip_error_set(CSIP_EINVAL, "%s \"%s\": use ISO 8601 "
			"with a time zone, e.g. 2025-04-01T09:30:00Z", name, v);
	*out = dt;
	return CSIP_OK;
}

/* SEEN and LAST (either may be NULL or empty) of a feedback of KIND. */
static int
check_times(const char *kind, const char *seen, const char *last)
{
	GDateTime *a = NULL, *b = NULL;
	int rc = CSIP_OK;

	if (seen && *seen && (rc = check_time("seen_at", seen, &a)) < 0)
		goto out;
	if (last == NULL || *last == '\0')
		goto out;
	if (strcmp(kind, "sighting") != 0) {
		rc = csip_error_set(CSIP_EINVAL, "last_seen_at: only a "
			"sighting has one; leave it out for %s", kind);
		goto out;
	}
	if (a == NULL) {
		rc = csip_error_set(CSIP_EINVAL, "last_seen_at needs seen_at, "
			"the first time of the sightings counted");
		goto out;
	}
	if ((rc = check_time("last_seen_at", last, &b)) < 0)
		goto out;
	if (g_date_time_compare(b, a) < 0)
		rc = csip_error_set(CSIP_EINVAL, "last_seen_at \"%s\" is "
			"before seen_at \"%s\": seen_at is the first time, "
			"last_seen_at the last", last, seen);
out:
	if (a)
		g_date_time_unref(a);
	if (b)
		g_date_time_unref(b);
	return rc;
}

/* RFC 8941 sf-string characters, as the Idempotency-Key header draft
 * has them, without quotes. */
int
csip_feedback_key_check(const char *key)
{
	size_t n = strlen(key);

	if (n == 0 || n > 255)
		return csip_error_set(CSIP_EINVAL, "Idempotency-Key has %zu "
			"characters: give 1 to 255", n);
	for (size_t i = 0; i < n; i++)
		if (key[i] < 0x21 || key[i] > 0x7e || key[i] == '"' ||
		    key[i] == '\\')
			return csip_error_set(CSIP_EINVAL, "Idempotency-Key "
				"has a character other than visible ASCII "
				"(no quotes or backslashes): use a UUID");
	return CSIP_OK;
}

/* The feedback ORG gave under KEY, if any: *id 0 when none; *same when
 * it is the one described by the other arguments. */
static int
key_lookup(csip_store *s, const char *org, const char *key,
	   const char *const want[8], int64_t *id, int *same)
{
	csip_stmt *st = NULL;
	int rc;

	*id = 0;
	*same = 0;
	rc = csip_store_prepare_bind(s, &st, "SELECT id, item_id, kind, "
		"COALESCE(indicator_type, ''), COALESCE(indicator_value, ''), "
		"count, COALESCE(seen_at, ''), COALESCE(last_seen_at, ''), "
		"COALESCE(comment, '') FROM feedback WHERE org_id = ? AND "
		"client_key = ?", org, key, NULL);
	if (rc == CSIP_OK && (rc = csip_stmt_step(st)) == CSIP_ROW) {
		*id = csip_stmt_int64(st, 0);
		*same = 1;
		for (int c = 0; c < 8; c++)
			if (strcmp(csip_stmt_text(st, c + 1), want[c]) != 0)
				*same = 0;
		rc = CSIP_OK;
	}
	csip_stmt_free(st);
	return rc == CSIP_DONE ? CSIP_OK : rc;
}

int
csip_feedback_add(csip_hub *h, const char *actor, const csip_reader *r,
		  int64_t user_id, int64_t item_id,
		  const csip_feedback_in *in, int64_t *id)
{
	int replayed;

	return csip_feedback_add_once(h, actor, r, user_id, item_id, in, NULL,
				      id, &replayed);
}

int
csip_feedback_add_once(csip_hub *h, const char *actor,
		       const csip_reader *r, int64_t user_id,
		       int64_t item_id, const csip_feedback_in *in,
		       const char *key, int64_t *id, int *replayed)
{
	csip_store *s = csip_hub_store(h);
	csip_indicator *ind = NULL;
	csip_access a;
	char ib[24], ob[24], ub[24], cb[24], now[21], *target = NULL;
	char *seen = NULL, *last = NULL;
	int64_t count, n = 0;
	int rc, published, began = 0, same = 0, racing = 0, retried = 0;

	*id = 0;
	*replayed = 0;
	if (key && (rc = csip_feedback_key_check(key)) < 0)
		goto out;
	if (!is_kind(in->kind)) {
		rc = csip_error_set(CSIP_EINVAL, "kind \"%s\": use sighting, "
			"false_positive, blocked or comment",
			in->kind ? in->kind : "");
		goto out;
	}
	count = in->count == 0 ? 1 : in->count;
	if (count < 1 || count > COUNT_MAX) {
		rc = csip_error_set(CSIP_EINVAL, "count %" PRId64 ": give 1 to "
			"%d (0 means 1)", in->count, COUNT_MAX);
		goto out;
	}
	if (count > 1 && strcmp(in->kind, "sighting") != 0) {
		rc = csip_error_set(CSIP_EINVAL, "count %" PRId64 ": only a "
			"sighting has a count; leave it 0 for %s", in->count,
			in->kind);
		goto out;
	}
	if ((rc = check_times(in->kind, in->seen_at, in->last_seen_at)) < 0)
		goto out;
	if (strcmp(in->kind, "comment") == 0 &&
	    (in->comment == NULL || *in->comment == '\0')) {
		rc = csip_error_set(CSIP_EINVAL, "a comment needs its text: "
			"give comment");
		goto out;
	}
	if (in->comment && !g_utf8_validate(in->comment, -1, NULL)) {
		rc = csip_error_set(CSIP_EINVAL, "comment is not valid UTF-8: "
			"send it as UTF-8");
		goto out;
	}
	if (in->comment && strlen(in->comment) > COMMENT_MAX) {
		rc = csip_error_set(CSIP_ETOOBIG, "comment is %zu bytes: "
			"shorten it to at most %d", strlen(in->comment),
			COMMENT_MAX);
		goto out;
	}
	if ((in->indicator_type == NULL) != (in->indicator_value == NULL)) {
		rc = csip_error_set(CSIP_EINVAL, "feedback about an indicator "
			"needs both indicator_type and indicator_value");
		goto out;
	}
	if (in->indicator_type) {
		csip_ind_type t = csip_ind_type_from_name(in->indicator_type);

		if (t == CSIP_IND_UNKNOWN) {
			rc = csip_error_set(CSIP_EINVAL, "indicator_type \"%s\""
				" is unknown; use the type the item lists",
				in->indicator_type);
			goto out;
		}
		rc = csip_indicator_parse(in->indicator_value,
			strlen(in->indicator_value), t, &ind);
		if (rc < 0) {
			csip_error_prefix(rc, "indicator_value: ");
			goto out;
		}
	}
again:
	if ((rc = csip_store_begin(s)) < 0)
		goto out;
	began = 1;
	if ((rc = access_of(s, r, item_id, &a, &published)) < 0)
		goto out;
	if (!published) {
		rc = csip_error_set(CSIP_ENOTFOUND, "item %" PRId64 " does not "
			"exist", item_id);
		goto out;
	}
	g_snprintf(ib, sizeof ib, "%" PRId64, item_id);
	g_snprintf(ob, sizeof ob, "%" PRId64, r->org_id);
	g_snprintf(ub, sizeof ub, "%" PRId64, user_id);
	g_snprintf(cb, sizeof cb, "%" PRId64, count);
	if (ind) {
		rc = csip_store_query_int64(s, &n, "SELECT COUNT(*) FROM "
			"item_indicator WHERE item_id = ? AND type = ? AND "
			"value = ?", ib, csip_ind_type_name(ind->type),
			ind->value, NULL);
		if (rc < 0)
			goto out;
		if (n == 0) {
			rc = csip_error_set(CSIP_EINVAL, "indicator %s %s is "
				"not one of item %" PRId64 "'s; give one the "
				"item lists", csip_ind_type_name(ind->type),
				ind->value, item_id);
			goto out;
		}
	}
	if (user_id > 0) {
		rc = csip_store_query_int64(s, &n, "SELECT COUNT(*) FROM "
			"app_user"
			" WHERE id = ? AND org_id = ?", ub, ob, NULL);
		if (rc < 0)
			goto out;
		if (n == 0) {
			rc = csip_error_set(CSIP_EINVAL, "user %" PRId64 " is "
				"not a member of the organisation giving the "
				"feedback", user_id);
			goto out;
		}
	}
	if (in->seen_at && *in->seen_at)
		seen = g_strdup(in->seen_at);
	if (in->last_seen_at && *in->last_seen_at)
		last = g_strdup(in->last_seen_at);
	if (key) {
		const char *want[8] = { ib, in->kind, ind ?
			csip_ind_type_name(ind->type) : "", ind ? ind->value :
			"", cb, seen ? seen : "", last ? last : "",
			in->comment ? in->comment : "" };

		if ((rc = key_lookup(s, ob, key, want, id, &same)) < 0)
			goto out;
		if (*id > 0 && !same) {
			rc = csip_error_set(CSIP_EEXISTS, "Idempotency-Key "
				"\"%s\" was given to another feedback (%"
				PRId64 "): give a new key to each new "
				"feedback", key, *id);
			goto out;
		}
		if (*id > 0) {
			*replayed = 1;
			goto out;
		}
	}
	csip_store_now(now);
	racing = key != NULL;
	rc = csip_store_query_int64(s, id, "INSERT INTO feedback (item_id, "
		"org_id, user_id, kind, indicator_type, indicator_value, count,"
		" seen_at, last_seen_at, comment, created_at, client_key) "
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id", ib,
		ob, user_id > 0 ? ub : CSIP_SQL_NULL, in->kind, ind ?
		csip_ind_type_name(ind->type) : CSIP_SQL_NULL,
		ind ? ind->value : CSIP_SQL_NULL, cb,
		seen ? seen : CSIP_SQL_NULL, last ? last : CSIP_SQL_NULL,
		in->comment && *in->comment ? in->comment : CSIP_SQL_NULL, now,
		key ? key : CSIP_SQL_NULL, NULL);
	if (rc < 0)
		goto out;
	target = g_strdup_printf("item:%" PRId64, item_id);
	rc = csip_audit_append(h, actor, "feedback.add", target, json_pack(
		"{sI sI ss sI}", "feedback", (json_int_t)*id, "org",
		(json_int_t)r->org_id, "kind", in->kind, "count",
		(json_int_t)count));
out:
	if (began) {
		if (rc < 0)
			csip_store_rollback(s);
		else
			rc = csip_store_commit(s);
		began = 0;
	}
	if (rc == CSIP_EEXISTS && racing && !retried) {
		/* The key was inserted by another request between the lookup
		 * and the insert (on PostgreSQL reads take no lock): looked up
		 * again, it is answered like any other use of the key. */
		retried = 1;
		racing = 0;
		g_free(seen);
		g_free(last);
		seen = last = NULL;
		csip_error_clear();
		goto again;
	}
	if (rc < 0)
		*id = 0;
	csip_indicator_free(ind);
	g_free(target);
	g_free(seen);
	g_free(last);
	return rc;
}

typedef struct list_ctx {
	const csip_reader *r;
	csip_access a;
	json_t *arr;
} list_ctx;

static int
feedback_row(csip_stmt *st, void *ud)
{
	list_ctx *c = ud;
	int64_t org = csip_stmt_int64(st, 8);
	json_t *ind = json_null(), *name;

	/* Rows of others: the hub sees every one with its giver, a
	 * provider every one without; any other reader none. */
	if (org != c->r->org_id && c->a != CSIP_ACCESS_HUB &&
	    c->a != CSIP_ACCESS_PROVIDER)
		return CSIP_OK;
	if (org == c->r->org_id || c->a == CSIP_ACCESS_HUB)
		name = json_string(csip_stmt_text(st, 9));
	else
		name = json_null();
	if (!csip_stmt_is_null(st, 2))
		ind = json_pack("{ss ss}", "type", csip_stmt_text(st, 2),
				"value", csip_stmt_text(st, 3));
	json_array_append_new(c->arr, json_pack(
		"{sI ss sI s:s? s:s? s:s? so ss so}",
		"id", (json_int_t)csip_stmt_int64(st, 0),
		"kind", csip_stmt_text(st, 1),
		"count", (json_int_t)csip_stmt_int64(st, 4),
		"seen_at", csip_stmt_text(st, 5),
		"last_seen_at", csip_stmt_text(st, 10),
		"comment", csip_stmt_text(st, 6),
		"indicator", ind,
		"created_at", csip_stmt_text(st, 7),
		"org", name));
	return CSIP_OK;
}

int
csip_feedback_list(csip_hub *h, const csip_reader *r, int64_t item_id,
		   json_t **out)
{
	csip_store *s = csip_hub_store(h);
	list_ctx c = { .r = r };
	char ib[24];
	int rc, published;

	*out = NULL;
	if ((rc = access_of(s, r, item_id, &c.a, &published)) < 0)
		return rc;
	c.arr = json_array();
	g_snprintf(ib, sizeof ib, "%" PRId64, item_id);
	rc = csip_store_each(s, feedback_row, &c, "SELECT f.id, f.kind, "
		"f.indicator_type, f.indicator_value, f.count, f.seen_at, "
		"f.comment, f.created_at, f.org_id, o.name, f.last_seen_at "
		"FROM feedback f "
		"JOIN org o ON o.id = f.org_id WHERE f.item_id = ? ORDER BY "
		"f.id", ib, NULL);
	if (rc < 0) {
		json_decref(c.arr);
		return rc;
	}
	*out = c.arr;
	return CSIP_OK;
}

int
csip_feedback_counts(csip_hub *h, int64_t item_id, json_t **out)
{
	return csip_feedback_counts_many(h, &item_id, 1, out);
}

/* The batches of csip_feedback_counts_many(), as policy.c's facts. */
#define COUNTS_BATCH 256

int
csip_feedback_counts_many(csip_hub *h, const int64_t *ids, size_t n,
			  json_t **out)
{
	/* id -> index + 1 of its first place in IDS */
	GHashTable *at = g_hash_table_new(g_int64_hash, g_int64_equal);
	csip_stmt *st = NULL;
	int rc = CSIP_OK, next;

	for (size_t i = 0; i < n; i++) {
		out[i] = json_object();
		for (int k = 0; kinds[k]; k++)
			json_object_set_new(out[i], kinds[k], json_integer(0));
		if (!g_hash_table_contains(at, &ids[i]))
			g_hash_table_insert(at, (gpointer)&ids[i],
					    GSIZE_TO_POINTER(i + 1));
	}
	for (size_t b = 0; rc == CSIP_OK && b < n; b += COUNTS_BATCH) {
		rc = csip_store_prepare_ids(csip_hub_store(h), "SELECT "
			"item_id, kind, COUNT(*) FROM feedback WHERE item_id "
			"IN (@IDS@) GROUP BY item_id, kind", ids + b,
			MIN(n - b, COUNTS_BATCH), &next, &st);
		while (rc == CSIP_OK && (rc = csip_stmt_step(st)) == CSIP_ROW) {
			int64_t id = csip_stmt_int64(st, 0);
			size_t k = GPOINTER_TO_SIZE(g_hash_table_lookup(at,
								       &id));

			rc = CSIP_OK;
			if (k-- > 0)
				json_object_set_new(out[k], csip_stmt_text(st,
					1), json_integer(csip_stmt_int64(st,
					2)));
		}
		if (rc == CSIP_DONE)
			rc = CSIP_OK;
		g_clear_pointer(&st, csip_stmt_free);
	}
	for (size_t i = 0; rc == CSIP_OK && i < n; i++) {
		size_t k = GPOINTER_TO_SIZE(g_hash_table_lookup(at,
							       &ids[i])) - 1;

		if (k != i) {
			json_decref(out[i]);
			out[i] = json_deep_copy(out[k]);
		}
	}
	g_hash_table_destroy(at);
	if (rc < 0)
		for (size_t i = 0; i < n; i++)
			g_clear_pointer(&out[i], json_decref);
	return rc;
}
