/*
 * hub.c - opening the hub: data folder, secret key, store, migrations.
 *
 * The secret key keys the hashes of API tokens and of the audit chain: with
 * the database alone (a stolen backup, a curious operator) one can neither
 * test a guessed token nor re-forge the audit chain after an edit.  It lives
 * in its own file, mode 0600, next to but apart from the database.
 */
#include "lib/hub.h"
#include "lib/migrate.h"
#include "util/error.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct csip_hub {
	csip_config *cfg;
	csip_store *store;
	uint8_t key[CSIP_KEY_BYTES];
	int applied;
};

static int
write_new_key(const char *path, uint8_t key[CSIP_KEY_BYTES])
{
	char *tmp = g_strconcat(path, ".tmp", NULL);
	int fd = -1, rc;
	ssize_t n;

	randombytes_buf(key, CSIP_KEY_BYTES);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = csip_error_set(CSIP_EIO, "secret key %s: %s", tmp,
				    g_strerror(errno));
		goto out;
	}
	n = write(fd, key, CSIP_KEY_BYTES);
	if (n != CSIP_KEY_BYTES || fsync(fd) != 0) {
		rc = csip_error_set(CSIP_EIO, "secret key %s: cannot write: %s",
				    tmp, g_strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	/* Rename so a crash never leaves a short key file behind. */
	if (rename(tmp, path) != 0) {
		rc = csip_error_set(CSIP_EIO, "secret key %s: %s", path,
				    g_strerror(errno));
		goto out;
	}
	rc = CSIP_OK;
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		g_unlink(tmp);
	g_free(tmp);
	return rc;
}

static int
load_key(const char *path, int create, uint8_t key[CSIP_KEY_BYTES])
{
	gchar *buf = NULL;
	gsize len = 0;
	GError *err = NULL;
	int rc;

	if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
		if (create)
			return write_new_key(path, key);
		return csip_error_set(CSIP_ECONFIG, "secret key %s is missing: "
			"run `csip init` (or restore the key from backup)",
			path);
	}
	if (!g_file_get_contents(path, &buf, &len, &err)) {
		rc = csip_error_set(CSIP_EIO, "secret key %s: %s", path,
				    err->message);
		goto out;
	}
	if (len != CSIP_KEY_BYTES) {
		rc = csip_error_set(CSIP_ECONFIG, "secret key %s: %zu bytes, "
			"expected %d; restore it from backup", path,
			(size_t)len, CSIP_KEY_BYTES);
		goto out;
	}
	memcpy(key, buf, CSIP_KEY_BYTES);
	rc = CSIP_OK;
out:
	g_clear_error(&err);
	if (buf)
		sodium_memzero(buf, len);
	g_free(buf);
	return rc;
}

int
csip_hub_open(csip_config *cfg, unsigned flags, csip_hub **out)
{
	int create = (flags & CSIP_HUB_CREATE) != 0;
	const char *data = csip_config_data_dir(cfg);
	const char *url = csip_config_db_url(cfg);
	const char *sq = NULL;
	csip_hub *h = NULL;
	int rc;

	*out = NULL;
	if (sodium_init() < 0)
		return csip_error_set(CSIP_ERR, "libsodium failed to start");
	if (create && g_mkdir_with_parents(data, 0700) != 0)
		return csip_error_set(CSIP_EIO, "data folder %s: %s; check "
			"[data] dir and permissions", data, g_strerror(errno));

	if (g_str_has_prefix(url, "sqlite:"))
		sq = url + strlen("sqlite:");
	else if (!strstr(url, "://"))
		sq = url;
	if (sq && !create && !g_file_test(sq, G_FILE_TEST_EXISTS))
		return csip_error_set(CSIP_ENOTFOUND, "no database at %s: run "
			"`csip init` first (or `csip demo`), or point "
			"--config at your configuration", sq);

	h = g_new0(csip_hub, 1);
	h->cfg = cfg;
	if ((rc = load_key(csip_config_get(cfg, "security", "secret_file"),
			   create, h->key)) < 0)
		goto out;
	if ((rc = csip_store_open(url, &h->store)) < 0)
		goto out;
	/* A server database exists before csip does: without CREATE, one
	 * with no csip schema is a mistake to report, not one to fill. */
	if (sq == NULL && !create) {
		int v = 0;

		if ((rc = csip_migrate_peek(h->store, &v)) < 0)
			goto out;
		if (v == 0) {
			char *shown = csip_store_url_redacted(url);

			rc = csip_error_set(CSIP_ENOTFOUND, "no csip database "
				"at %s: run `csip init` first (or `csip "
				"demo`), or point --config at your "
				"configuration", shown);
			g_free(shown);
			goto out;
		}
	}
	if ((rc = csip_migrate(h->store, &h->applied)) < 0)
		goto out;
	*out = h;
	h = NULL;
	rc = CSIP_OK;
out:
	csip_hub_free(h);
	return rc;
}

void
csip_hub_free(csip_hub *h)
{
	if (h == NULL)
		return;
	csip_store_close(h->store);
	sodium_memzero(h->key, sizeof h->key);
	g_free(h);
}

csip_store *
csip_hub_store(csip_hub *h)
{
	return h->store;
}

csip_config *
csip_hub_config(csip_hub *h)
{
	return h->cfg;
}

const uint8_t *
csip_hub_key(const csip_hub *h)
{
	return h->key;
}

int
csip_hub_migrations_applied(const csip_hub *h)
{
	return h->applied;
}
