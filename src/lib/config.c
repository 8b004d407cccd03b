/*
 * config.c - the option table and the INI loader (see config.h).
 */
#include "lib/config.h"
#include "util/error.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

static const csip_config_option options[] = {
	{ "data", "dir", "csip-data",
	  "folder for the database, the secret key and spooled files" },
	{ "database", "url", "sqlite:@DATA@/csip.db",
	  "database: sqlite:PATH (embedded) or postgresql://..." },
	{ "security", "secret_file", "@DATA@/secret.key",
	  "32-byte key for token and audit-log hashes; made by csip init" },
	{ "security", "token_days", "90",
	  "default validity of new API tokens, in days (0: no expiry)" },
	{ "server", "listen", "127.0.0.1:8470",
	  "address and port the server listens on" },
	{ "server", "url", "",
	  "the hub's public base URL, for links in notifications "
	  "(empty: http://LISTEN)" },
	{ "server", "threads", "4",
	  "worker threads answering requests" },
	{ "server", "tls_cert", "",
	  "PEM certificate: serve HTTPS (TLS 1.2 and later) when set" },
	{ "server", "tls_key", "", "PEM private key of tls_cert" },
	{ "server", "max_body_mb", "60",
	  "largest request body accepted, in MiB (a 50 MB mail fits)" },
	{ "server", "timeout", "30",
	  "seconds an idle connection is kept open" },
	{ "server", "max_connections", "512",
	  "simultaneous connections accepted" },
	{ "server", "shutdown_grace", "60",
	  "seconds a stopping server waits for requests in flight" },
	{ "server", "rate_limit", "50",
	  "requests per second allowed to one token (burst: 4 times as many)" },
	{ "server", "auth_failures", "10",
	  "failed password sign-ins (TAXII Basic) allowed from one address "
	  "and for one user name before 429; as many more each minute "
	  "(0: no limit)" },
	{ "export", "false_positive_threshold", "2",
	  "organisations reporting an indicator as a false positive before "
	  "it leaves the blocklists" },
	{ "export", "validity_days", "180",
	  "days after publication an item's indicators stay in the "
	  "blocklists (0: no limit)" },
	{ "notify", "smtp_url", "",
	  "SMTP relay for notification mail, e.g. smtp://127.0.0.1:25 "
	  "(empty: no mail)" },
	{ "notify", "from", "csip@localhost",
	  "sender address of notification mail" },
	{ "notify", "max_attempts", "8",
	  "attempts before a notification is given up" },
	{ "correlate", "enabled", "true",
	  "correlate each new report with the stored ones (false: only "
	  "`csip correlate` does)" },
	{ "correlate", "max_reports_per_value", "200",
	  "reports one value may link; a value carried by more links nothing "
	  "more (a change applies fully after `csip correlate --rebuild`)" },
	{ "correlate", "ssdeep_threshold", "75",
	  "ssdeep similarity score (1-100) from which two attachments link "
	  "their reports" },
	{ "correlate", "index_file", "@DATA@/correlate.idx",
	  "where the correlation index is saved (rebuilt when missing)" },
	{ "correlate", "sweep_batch", "16",
	  "reports left uncorrelated by a failure that each new report "
	  "correlates too" },
	{ NULL, NULL, NULL, NULL }
};

struct csip_config {
	char *source;
	GHashTable *values;  /* "group.key" -> value, defaults resolved */
};

const csip_config_option *
csip_config_options(void)
{
	return options;
}

static const csip_config_option *
find_option(const char *group, const char *key)
{
	for (const csip_config_option *o = options; o->group; o++)
		if (strcmp(o->group, group) == 0 && strcmp(o->key, key) == 0)
			return o;
	return NULL;
}

/* Check every group and key of the file against the table. */
static int
check_known(GKeyFile *kf, const char *path)
{
	gchar **groups = g_key_file_get_groups(kf, NULL);
	int rc = CSIP_OK;

	for (gchar **g = groups; *g && rc == CSIP_OK; g++) {
		gchar **keys = g_key_file_get_keys(kf, *g, NULL, NULL);

		for (gchar **k = keys; k && *k; k++) {
			if (find_option(*g, *k) == NULL) {
				rc = csip_error_set(CSIP_ECONFIG, "%s: unknown "
					"option [%s] %s; `csip config` lists "
					"the options", path, *g, *k);
				break;
			}
		}
		g_strfreev(keys);
	}
	g_strfreev(groups);
	return rc;
}

int
csip_config_load(const char *path, csip_config **out)
{
	GKeyFile *kf = g_key_file_new();
	GError *err = NULL;
	csip_config *c = NULL;
	const char *data;
	int rc;

	*out = NULL;
	if (path == NULL || *path == '\0')
		path = g_getenv("CSIP_CONFIG");
	if (path && *path == '\0')
		path = NULL;
	if (path) {
		if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE,
					       &err)) {
			rc = csip_error_set(CSIP_ECONFIG, "config %s: %s", path,
				err->message);
			goto out;
		}
		if ((rc = check_known(kf, path)) < 0)
			goto out;
	}

	c = g_new0(csip_config, 1);
	c->source = g_strdup(path ? path : "defaults");
	c->values = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					  g_free);
	/* The data folder first: other defaults are relative to it. */
	for (int pass = 0; pass < 2; pass++) {
		for (const csip_config_option *o = options; o->group; o++) {
			int is_data = strcmp(o->group, "data") == 0 &&
				strcmp(o->key, "dir") == 0;
			char *v;

			if (is_data != (pass == 0))
				continue;
			v = g_key_file_get_string(kf, o->group, o->key, NULL);
			if (v)
				g_strstrip(v);
			if (v == NULL || *v == '\0') {
				GString *s = g_string_new(o->def);

				g_free(v);
				data = g_hash_table_lookup(c->values,
							   "data.dir");
				g_string_replace(s, "@DATA@",
						 data ? data : ".", 0);
				v = g_string_free(s, FALSE);
			}
			g_hash_table_insert(c->values,
				g_strconcat(o->group, ".", o->key, NULL), v);
		}
	}
	*out = c;
	c = NULL;
	rc = CSIP_OK;
out:
	g_clear_error(&err);
	g_key_file_free(kf);
	csip_config_free(c);
	return rc;
}

void
csip_config_free(csip_config *c)
{
	if (c == NULL)
		return;
	g_free(c->source);
	if (c->values)
		g_hash_table_destroy(c->values);
	g_free(c);
}

const char *
csip_config_get(csip_config *c, const char *group, const char *key)
{
	char *k = g_strconcat(group, ".", key, NULL);
	const char *v = g_hash_table_lookup(c->values, k);

	g_free(k);
	return v;
}

const char *
csip_config_source(const csip_config *c)
{
	return c->source;
}

const char *
csip_config_data_dir(csip_config *c)
{
	return csip_config_get(c, "data", "dir");
}

const char *
csip_config_db_url(csip_config *c)
{
	return csip_config_get(c, "database", "url");
}
