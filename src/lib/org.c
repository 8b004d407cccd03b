/*
 * org.c - SIGs and organisations (see org.h).
 *
 * Every write validates all of its input first, then changes the database
 * and appends the audit row inside one transaction: a bad domain in the
 * middle of a list leaves nothing behind.
 */
#include "lib/org.h"
#include "lib/audit.h"
#include "lib/policy.h"
#include "lib/indicator.h"
#include "util/error.h"

#include <glib.h>
#include <inttypes.h>
#include <string.h>

static const char *const roles[] = { "participant", "partner", "hub", NULL };

int
csip_slug_check(const char *what, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 64)
		return csip_error_set(CSIP_EINVAL, "%s name \"%s\" must be 1 to "
			"64 characters", what, s ? s : "");
	if (!g_ascii_islower(s[0]) && !g_ascii_isdigit(s[0]))
		goto bad;
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_islower(s[i]) && !g_ascii_isdigit(s[i]) &&
		    s[i] != '-' && s[i] != '_' && s[i] != '.')
			goto bad;
	return CSIP_OK;
bad:
	return csip_error_set(CSIP_EINVAL, "%s name \"%s\": use lower-case "
		"letters, digits, '-', '_' and '.', starting with a letter "
		"or digit (e.g. \"acme-power\")", what, s);
}

static int
check_role(const char *role)
{
	for (int i = 0; roles[i]; i++)
		if (strcmp(role, roles[i]) == 0)
			return CSIP_OK;
	return csip_error_set(CSIP_EINVAL, "role \"%s\": must be participant, "
		"partner or hub", role);
}

static int
check_date(const char *d)
{
	unsigned y, m, day;
	char end;

	if (sscanf(d, "%4u-%2u-%2u%c", &y, &m, &day, &end) != 3 ||
	    strlen(d) != 10 || !g_date_valid_dmy(day, m, y))
		return csip_error_set(CSIP_EINVAL, "NDA date \"%s\": use "
			"YYYY-MM-DD, e.g. 2025-04-01", d);
	return CSIP_OK;
}

static int
add_text_row(csip_stmt *st, void *arr)
{
	json_array_append_new(arr, json_string(csip_stmt_text(st, 0)));
	return CSIP_OK;
}

/* Run a one-column query and collect the text values into a new array. */
/* Hand a new array to *OUT on success, drop it on failure. */
static int
give(int rc, json_t *arr, json_t **out)
{
	if (rc < 0) {
		json_decref(arr);
		arr = NULL;
	}
	*out = arr;
	return rc;
}

static int
collect(csip_store *s, json_t **out, const char *sql, const char *arg)
{
	json_t *arr = json_array();

	return give(csip_store_each(s, add_text_row, arr, sql, arg, NULL), arr,
		    out);
}

static json_t *
strv_json(char **v)
{
	json_t *a = json_array();

	for (; v && *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

/* ---- SIGs ------------------------------------------------------------ */

int
csip_sig_add(csip_hub *h, const char *actor, const char *code,
	     const char *name, int64_t *id)
{
	csip_store *s = csip_hub_store(h);
	char now[21], *target = NULL;
	int rc;

	if ((rc = csip_slug_check("SIG", code)) < 0)
		return rc;
	if (name == NULL || *name == '\0')
		name = code;
	if (!g_utf8_validate(name, -1, NULL))
		return csip_error_set(CSIP_EINVAL, "SIG %s: the name is not "
			"valid UTF-8", code);
	csip_store_now(now);
	if ((rc = csip_store_begin(s)) < 0)
		return rc;
	rc = csip_store_query_int64(s, id, "INSERT INTO sig (code, name, "
		"created_at) VALUES (?, ?, ?) RETURNING id", code, name, now,
		NULL);
	if (rc == CSIP_EEXISTS)
		rc = csip_error_set(rc, "SIG %s already exists; see `csip sig "
			"show %s`", code, code);
	if (rc < 0)
		goto out;
	target = g_strconcat("sig:", code, NULL);
	rc = csip_audit_append(h, actor, "sig.add", target,
			       json_pack("{ss}", "name", name));
out:
	g_free(target);
	if (rc < 0) {
		csip_store_rollback(s);
		return rc;
	}
	return csip_store_commit(s);
}

static int
sig_row(csip_stmt *st, void *arr)
{
	json_array_append_new(arr, json_pack("{ss ss ss sI}",
		"code", csip_stmt_text(st, 0),
		"name", csip_stmt_text(st, 1),
		"created_at", csip_stmt_text(st, 2),
		"members", (json_int_t)csip_stmt_int64(st, 3)));
	return CSIP_OK;
}

int
csip_sig_list(csip_hub *h, json_t **out)
{
	json_t *arr = json_array();

	return give(csip_store_each(csip_hub_store(h), sig_row, arr,
		"SELECT s.code, s.name, s.created_at, (SELECT COUNT(*) FROM "
		"org_sig m WHERE m.sig_id = s.id) FROM sig s ORDER BY s.code",
		NULL), arr, out);
}

int
csip_sig_get(csip_hub *h, const char *code, json_t **out)
{
	csip_store *s = csip_hub_store(h);
	csip_stmt *st = NULL;
	json_t *obj = NULL, *members = NULL;
	int rc;

	*out = NULL;
	rc = csip_store_prepare_bind(s, &st, "SELECT code, name, created_at "
		"FROM sig WHERE code = ?", code, NULL);
	if (rc < 0)
		goto out;
	if ((rc = csip_stmt_step(st)) < 0)
		goto out;
	if (rc == CSIP_DONE) {
		rc = csip_error_set(CSIP_ENOTFOUND, "SIG %s does not exist; "
			"`csip sig list` shows the SIGs", code);
		goto out;
	}
	obj = json_pack("{ss ss ss}", "code", csip_stmt_text(st, 0),
		"name", csip_stmt_text(st, 1),
		"created_at", csip_stmt_text(st, 2));
	rc = collect(s, &members, "SELECT o.name FROM org o JOIN org_sig m "
		"ON m.org_id = o.id JOIN sig g ON g.id = m.sig_id "
		"WHERE g.code = ? ORDER BY o.name", code);
	if (rc < 0)
		goto out;
	json_object_set_new(obj, "members", members);
	*out = obj;
	obj = NULL;
	rc = CSIP_OK;
out:
	csip_stmt_free(st);
	json_decref(obj);
	return rc;
}

/* ---- organisations --------------------------------------------------- */

int
csip_org_id(csip_hub *h, const char *name, int64_t *id)
{
	int rc = csip_store_query_int64(csip_hub_store(h), id,
		"SELECT id FROM org WHERE name = ?", name, NULL);

	if (rc == CSIP_ENOTFOUND)
		rc = csip_error_set(rc, "organisation %s does not exist; `csip "
			"org list` shows the organisations", name);
	return rc;
}

/* Canonicalise a vector of domains or networks; returns a new vector. */
static int
canon_all(char **in, int (*canon)(const char *, char **), char ***out)
{
	GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
	int rc = CSIP_OK;

	for (; in && *in; in++) {
		char *c = NULL;

		if ((rc = canon(*in, &c)) < 0)
			break;
		g_ptr_array_add(a, c);
	}
	if (rc < 0) {
		g_ptr_array_free(a, TRUE);
		*out = NULL;
		return rc;
	}
	g_ptr_array_set_free_func(a, NULL);
	g_ptr_array_add(a, NULL);
	*out = (char **)g_ptr_array_free(a, FALSE);
	return CSIP_OK;
}

/* Link ORG to each SIG; every SIG must exist. */
static int
add_sigs(csip_store *s, const char *org_id, char **sigs)
{
	int rc, n;

	for (; sigs && *sigs; sigs++) {
		rc = csip_store_run(s, &n, "INSERT INTO org_sig (org_id, sig_id)"
			" SELECT CAST(? AS BIGINT), id FROM sig WHERE code = ?", org_id, *sigs,
			NULL);
		if (rc == CSIP_EEXISTS)
			return csip_error_set(rc, "already a member of SIG %s",
					      *sigs);
		if (rc < 0)
			return rc;
		if (n == 0)
			return csip_error_set(CSIP_ENOTFOUND, "SIG %s does not "
				"exist; create it first with `csip sig add %s`",
				*sigs, *sigs);
	}
	return CSIP_OK;
}

static int
add_domains(csip_store *s, const char *org_id, char **domains)
{
	int64_t owner;
	int rc;

	for (; domains && *domains; domains++) {
		rc = csip_store_run(s, NULL, "INSERT INTO org_domain (org_id, "
			"domain) VALUES (?, ?)", org_id, *domains, NULL);
		if (rc == CSIP_EEXISTS) {
			csip_store_query_int64(s, &owner, "SELECT org_id FROM "
				"org_domain WHERE domain = ?", *domains, NULL);
			return csip_error_set(rc, "mail domain %s already "
				"belongs to %s organisation", *domains,
				g_ascii_strtoll(org_id, NULL, 10) == owner
				? "this" : "another");
		}
		if (rc < 0)
			return rc;
	}
	return CSIP_OK;
}

static int
add_networks(csip_store *s, const char *org_id, char **nets)
{
	int rc;

	for (; nets && *nets; nets++) {
		rc = csip_store_run(s, NULL, "INSERT INTO org_network (org_id, "
			"cidr) VALUES (?, ?)", org_id, *nets, NULL);
		if (rc == CSIP_EEXISTS)
			return csip_error_set(rc, "network %s is already listed",
					      *nets);
		if (rc < 0)
			return rc;
	}
	return CSIP_OK;
}

/* Delete one link row per value; each must exist. */
static int
remove_each(csip_store *s, const char *org_id, char **vals, const char *sql,
	    const char *what)
{
	int rc, n;

	for (; vals && *vals; vals++) {
		if ((rc = csip_store_run(s, &n, sql, org_id, *vals, NULL)) < 0)
			return rc;
		if (n == 0)
			return csip_error_set(CSIP_ENOTFOUND, "%s %s is not set "
				"on this organisation", what, *vals);
	}
	return CSIP_OK;
}

int
csip_org_add(csip_hub *h, const char *actor, const csip_org_spec *spec,
	     int64_t *id)
{
	csip_store *s = csip_hub_store(h);
	char **domains = NULL, **nets = NULL, *target = NULL;
	char now[21], idbuf[24];
	const char *role = spec->role ? spec->role : "participant";
	const char *display = spec->display_name && *spec->display_name
		? spec->display_name : spec->name;
	int rc, began = 0;

	if ((rc = csip_slug_check("organisation", spec->name)) < 0 ||
	    (rc = check_role(role)) < 0)
		goto out;
	if (spec->nda_date && (rc = check_date(spec->nda_date)) < 0)
		goto out;
	if (!g_utf8_validate(display, -1, NULL)) {
		rc = csip_error_set(CSIP_EINVAL, "organisation %s: the display "
			"name is not valid UTF-8", spec->name);
		goto out;
	}
	if ((rc = canon_all(spec->domains, csip_domain_canonical, &domains)) < 0
	    || (rc = canon_all(spec->networks, csip_cidr_canonical, &nets)) < 0)
		goto out;

	csip_store_now(now);
	if ((rc = csip_store_begin(s)) < 0)
		goto out;
	began = 1;
	rc = csip_store_query_int64(s, id, "INSERT INTO org (name, "
		"display_name, role, nda_date, created_at, updated_at) "
		"VALUES (?, ?, ?, ?, ?, ?) RETURNING id", spec->name, display,
		role, spec->nda_date ? spec->nda_date : CSIP_SQL_NULL, now, now,
		NULL);
	if (rc == CSIP_EEXISTS)
		rc = csip_error_set(rc, "organisation %s already exists; change "
			"it with `csip org update %s`", spec->name, spec->name);
	if (rc < 0)
		goto out;
	g_snprintf(idbuf, sizeof idbuf, "%" PRId64, *id);
	if ((rc = add_sigs(s, idbuf, spec->sigs)) < 0 ||
	    (rc = add_domains(s, idbuf, domains)) < 0 ||
	    (rc = add_networks(s, idbuf, nets)) < 0)
		goto out;
	/* A member that joins receives what is already published to it. */
	if ((rc = csip_policy_refresh_org(s, *id)) < 0)
		goto out;
	target = g_strconcat("org:", spec->name, NULL);
	rc = csip_audit_append(h, actor, "org.add", target,
		json_pack("{ss ss ss? so so so}", "display_name", display,
			"role", role, "nda_date", spec->nda_date,
			"sigs", strv_json(spec->sigs),
			"domains", strv_json(domains),
			"networks", strv_json(nets)));
out:
	if (rc < 0) {
		if (began)
			csip_store_rollback(s);
		if (spec->name)
			csip_error_prefix(rc, "organisation %s: ", spec->name);
	} else {
		rc = csip_store_commit(s);
	}
	g_strfreev(domains);
	g_strfreev(nets);
	g_free(target);
	return rc;
}

int
csip_org_update(csip_hub *h, const char *actor, const char *name,
		const csip_org_change *c)
{
	csip_store *s = csip_hub_store(h);
	char **add_dom = NULL, **rm_dom = NULL, **add_net = NULL;
	char **rm_net = NULL, *target = NULL;
	char now[21], idbuf[24];
	json_t *detail = json_object();
	int64_t id;
	int rc, began = 0;

	if (!c->display_name && !c->role && !c->nda_date && !c->add_sigs &&
	    !c->remove_sigs && !c->add_domains && !c->remove_domains &&
	    !c->add_networks && !c->remove_networks && !c->webhook_url &&
	    !c->notify_email) {
		rc = csip_error_set(CSIP_EINVAL, "nothing to change: give at "
			"least one option (see `csip org update --help`)");
		goto out;
	}
	if ((c->role && (rc = check_role(c->role)) < 0) ||
	    (c->nda_date && *c->nda_date && (rc = check_date(c->nda_date)) < 0))
		goto out;
	if (c->webhook_url && *c->webhook_url &&
	    !g_str_has_prefix(c->webhook_url, "https://") &&
	    !g_str_has_prefix(c->webhook_url, "http://")) {
		rc = csip_error_set(CSIP_EINVAL, "webhook \"%s\": give an "
			"http:// or https:// URL", c->webhook_url);
		goto out;
	}
	if (c->notify_email && *c->notify_email &&
	    (strchr(c->notify_email, '@') == NULL ||
	     strpbrk(c->notify_email, " \t\r\n<>,;") != NULL)) {
		rc = csip_error_set(CSIP_EINVAL, "notification address \"%s\":"
			" give one address such as soc@example.jp",
			c->notify_email);
		goto out;
	}
	if (c->display_name && (*c->display_name == '\0' ||
	    !g_utf8_validate(c->display_name, -1, NULL))) {
		rc = csip_error_set(CSIP_EINVAL, "the display name must be "
			"non-empty UTF-8");
		goto out;
	}
	if ((rc = canon_all(c->add_domains, csip_domain_canonical, &add_dom)) < 0
	    || (rc = canon_all(c->remove_domains, csip_domain_canonical,
			       &rm_dom)) < 0
	    || (rc = canon_all(c->add_networks, csip_cidr_canonical,
			       &add_net)) < 0
	    || (rc = canon_all(c->remove_networks, csip_cidr_canonical,
			       &rm_net)) < 0)
		goto out;

	if ((rc = csip_store_begin(s)) < 0)
		goto out;
	began = 1;
	if ((rc = csip_org_id(h, name, &id)) < 0)
		goto out;
	g_snprintf(idbuf, sizeof idbuf, "%" PRId64, id);
	csip_store_now(now);
	if (c->display_name) {
		rc = csip_store_run(s, NULL, "UPDATE org SET display_name = ? "
			"WHERE id = ?", c->display_name, idbuf, NULL);
		json_object_set_new(detail, "display_name",
				    json_string(c->display_name));
	}
	if (rc == CSIP_OK && c->role) {
		rc = csip_store_run(s, NULL, "UPDATE org SET role = ? WHERE "
			"id = ?", c->role, idbuf, NULL);
		json_object_set_new(detail, "role", json_string(c->role));
	}
	if (rc == CSIP_OK && c->nda_date) {
		rc = csip_store_run(s, NULL, "UPDATE org SET nda_date = ? WHERE "
			"id = ?", *c->nda_date ? c->nda_date : CSIP_SQL_NULL,
			idbuf, NULL);
		json_object_set_new(detail, "nda_date", *c->nda_date
			? json_string(c->nda_date) : json_null());
	}
	if (rc == CSIP_OK && c->webhook_url) {
		rc = csip_store_run(s, NULL, "UPDATE org SET webhook_url = ? "
			"WHERE id = ?", *c->webhook_url ? c->webhook_url
			: CSIP_SQL_NULL, idbuf, NULL);
		json_object_set_new(detail, "webhook_url", *c->webhook_url
			? json_string(c->webhook_url) : json_null());
	}
	if (rc == CSIP_OK && c->notify_email) {
		rc = csip_store_run(s, NULL, "UPDATE org SET notify_email = ? "
			"WHERE id = ?", *c->notify_email ? c->notify_email
			: CSIP_SQL_NULL, idbuf, NULL);
		json_object_set_new(detail, "notify_email", *c->notify_email
			? json_string(c->notify_email) : json_null());
	}
	if (rc < 0)
		goto out;
	if ((rc = remove_each(s, idbuf, c->remove_sigs, "DELETE FROM org_sig "
		"WHERE org_id = ? AND sig_id = (SELECT id FROM sig WHERE "
		"code = ?)", "SIG")) < 0 ||
	    (rc = remove_each(s, idbuf, rm_dom, "DELETE FROM org_domain WHERE "
		"org_id = ? AND domain = ?", "mail domain")) < 0 ||
	    (rc = remove_each(s, idbuf, rm_net, "DELETE FROM org_network WHERE "
		"org_id = ? AND cidr = ?", "network")) < 0 ||
	    (rc = add_sigs(s, idbuf, c->add_sigs)) < 0 ||
	    (rc = add_domains(s, idbuf, add_dom)) < 0 ||
	    (rc = add_networks(s, idbuf, add_net)) < 0)
		goto out;
	rc = csip_store_run(s, NULL, "UPDATE org SET updated_at = ? WHERE "
		"id = ?", now, idbuf, NULL);
	if (rc < 0)
		goto out;
	if (c->add_sigs)
		json_object_set_new(detail, "add_sigs", strv_json(c->add_sigs));
	if (c->remove_sigs)
		json_object_set_new(detail, "remove_sigs",
				    strv_json(c->remove_sigs));
	if (add_dom)
		json_object_set_new(detail, "add_domains", strv_json(add_dom));
	if (rm_dom)
		json_object_set_new(detail, "remove_domains", strv_json(rm_dom));
	if (add_net)
		json_object_set_new(detail, "add_networks", strv_json(add_net));
	if (rm_net)
		json_object_set_new(detail, "remove_networks",
				    strv_json(rm_net));
	/* Who receives which published items depends on the role, the NDA
	 * date and the SIGs: the sharing instances follow in this same
	 * transaction. */
	if ((c->role || c->nda_date || c->add_sigs || c->remove_sigs) &&
	    (rc = csip_policy_refresh_org(s, id)) < 0)
		goto out;
	target = g_strconcat("org:", name, NULL);
	rc = csip_audit_append(h, actor, "org.update", target, detail);
	detail = NULL;
out:
	if (rc < 0) {
		if (began)
			csip_store_rollback(s);
		csip_error_prefix(rc, "organisation %s: ", name);
	} else {
		rc = csip_store_commit(s);
	}
	json_decref(detail);
	g_strfreev(add_dom);
	g_strfreev(rm_dom);
	g_strfreev(add_net);
	g_strfreev(rm_net);
	g_free(target);
	return rc;
}

static int
org_row(csip_stmt *st, void *arr)
{
	json_array_append_new(arr, json_pack("{ss ss ss so? sI sI sI}",
		"name", csip_stmt_text(st, 0),
		"display_name", csip_stmt_text(st, 1),
		"role", csip_stmt_text(st, 2),
		"nda_date", csip_stmt_is_null(st, 3) ? NULL
			: json_string(csip_stmt_text(st, 3)),
		"sigs", (json_int_t)csip_stmt_int64(st, 4),
		"domains", (json_int_t)csip_stmt_int64(st, 5),
		"users", (json_int_t)csip_stmt_int64(st, 6)));
	return CSIP_OK;
}

int
csip_org_list(csip_hub *h, const char *sig, json_t **out)
{
	const char *p = sig ? sig : CSIP_SQL_NULL;
	json_t *arr;
	int64_t sid;
	int rc;

	*out = NULL;
	if (sig) {
		rc = csip_store_query_int64(csip_hub_store(h), &sid,
			"SELECT id FROM sig WHERE code = ?", sig, NULL);
		if (rc == CSIP_ENOTFOUND)
			rc = csip_error_set(rc, "SIG %s does not exist; `csip "
				"sig list` shows the SIGs", sig);
		if (rc < 0)
			return rc;
	}
	arr = json_array();
	return give(csip_store_each(csip_hub_store(h), org_row, arr,
		"SELECT o.name, o.display_name, o.role, o.nda_date, "
		"(SELECT COUNT(*) FROM org_sig m WHERE m.org_id = o.id), "
		"(SELECT COUNT(*) FROM org_domain d WHERE d.org_id = o.id), "
		"(SELECT COUNT(*) FROM app_user u WHERE u.org_id = o.id) "
		"FROM org o WHERE CAST(? AS TEXT) IS NULL OR o.id IN (SELECT "
		"m.org_id FROM "
		"org_sig m JOIN sig g ON g.id = m.sig_id WHERE g.code = ?) "
		"ORDER BY o.name", p, p, NULL), arr, out);
}

int
csip_org_get(csip_hub *h, const char *name, json_t **out)
{
	csip_store *s = csip_hub_store(h);
	csip_stmt *st = NULL;
	json_t *obj = NULL, *v = NULL;
	char idbuf[24];
	int rc;

	*out = NULL;
	rc = csip_store_prepare_bind(s, &st, "SELECT id, name, display_name, "
		"role, nda_date, created_at, updated_at, webhook_url, "
		"notify_email FROM org WHERE name = ?", name, NULL);
	if (rc < 0)
		goto out;
	if ((rc = csip_stmt_step(st)) < 0)
		goto out;
	if (rc == CSIP_DONE) {
		rc = csip_error_set(CSIP_ENOTFOUND, "organisation %s does not "
			"exist; `csip org list` shows the organisations", name);
		goto out;
	}
	g_snprintf(idbuf, sizeof idbuf, "%" PRId64, csip_stmt_int64(st, 0));
	obj = json_pack("{ss ss ss so? ss ss so? so?}",
		"name", csip_stmt_text(st, 1),
		"display_name", csip_stmt_text(st, 2),
		"role", csip_stmt_text(st, 3),
		"nda_date", csip_stmt_is_null(st, 4) ? NULL
			: json_string(csip_stmt_text(st, 4)),
		"created_at", csip_stmt_text(st, 5),
		"updated_at", csip_stmt_text(st, 6),
		"webhook_url", csip_stmt_is_null(st, 7) ? NULL
			: json_string(csip_stmt_text(st, 7)),
		"notify_email", csip_stmt_is_null(st, 8) ? NULL
			: json_string(csip_stmt_text(st, 8)));
	if ((rc = collect(s, &v, "SELECT g.code FROM sig g JOIN org_sig m ON "
		"m.sig_id = g.id WHERE m.org_id = ? ORDER BY g.code", idbuf)) < 0)
		goto out;
	json_object_set_new(obj, "sigs", v);
	if ((rc = collect(s, &v, "SELECT domain FROM org_domain WHERE "
		"org_id = ? ORDER BY domain", idbuf)) < 0)
		goto out;
	json_object_set_new(obj, "domains", v);
	if ((rc = collect(s, &v, "SELECT cidr FROM org_network WHERE "
		"org_id = ? ORDER BY cidr", idbuf)) < 0)
		goto out;
	json_object_set_new(obj, "networks", v);
	if ((rc = collect(s, &v, "SELECT name FROM app_user WHERE "
		"org_id = ? ORDER BY name", idbuf)) < 0)
		goto out;
	json_object_set_new(obj, "users", v);
	*out = obj;
	obj = NULL;
	rc = CSIP_OK;
out:
	csip_stmt_free(st);
	json_decref(obj);
	return rc;
}
