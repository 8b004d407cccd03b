/*
 * mail_archive.c - archives in attachments, opened from memory with
 * libarchive under a budget (see mail_archive.h).
 *
 * Limits are checked while data is unpacked, 64 KiB at a time, never
 * against sizes the archive declares (a bomb lies about them): the walk
 * stops as soon as one archive has expanded more than max_ratio times its
 * packed size (past a 1 MiB floor, so small archives of text are not
 * bombs), or the whole mail more than max_expanded.
 *
 * Passwords: the first encrypted member is read with each candidate in
 * turn, on its own handle, until one reads to the end with a good CRC.
 * Giving libarchive all candidates at once would not do: a wrong password
 * passes ZipCrypto's one-byte check one time in 256, and libarchive then
 * never tries the right one.
 */
#include "lib/mail_archive.h"
#include "lib/mail_charset.h"

#include <archive.h>
#include <archive_entry.h>
#include <string.h>

#define CHUNK (64u * 1024)
#define BOMB_FLOOR (1024u * 1024)
#define MAX_PASSWORDS 64
#define MAX_WARNINGS 20

/* Decompression filters built into libarchive.  A filter that is not
 * (libarchive answers ARCHIVE_WARN) would run an external program on
 * attacker data, so it is never registered; the set is probed once. */
typedef int (*filter_fn)(struct archive *);
static const filter_fn filters[] = {
	archive_read_support_filter_gzip, archive_read_support_filter_bzip2,
	archive_read_support_filter_xz, archive_read_support_filter_lzma,
	archive_read_support_filter_lzip, archive_read_support_filter_zstd,
	archive_read_support_filter_lz4, archive_read_support_filter_compress,
};

static gsize builtin_filters;

static unsigned
probe_filters(void)
{
	if (g_once_init_enter(&builtin_filters)) {
		struct archive *a = archive_read_new();
		gsize mask = 1u << 31;   /* never 0: g_once needs non-zero */

		for (size_t i = 0; i < G_N_ELEMENTS(filters); i++)
			if (filters[i](a) == ARCHIVE_OK)
				mask |= (gsize)1 << i;
		archive_read_free(a);
		g_once_init_leave(&builtin_filters, mask);
	}
	return (unsigned)builtin_filters;
}

int
csip_mail_archive_is_archive(const char *t)
{
	static const char *const types[] = {
		"application/zip", "application/x-zip-compressed",
		"application/x-rar", "application/x-rar-compressed",
		"application/vnd.rar", "application/x-7z-compressed",
		"application/x-tar", "application/x-gtar", "application/gzip",
		"application/x-gzip", "application/x-bzip2",
		"application/x-xz", "application/zstd", "application/x-lzip",
		"application/x-lzma", "application/x-lz4",
		"application/x-compress", "application/x-lzh-compressed",
		"application/x-lha", "application/vnd.ms-cab-compressed",
		"application/x-iso9660-image", "application/x-cpio",
	};

	if (t == NULL)
		return 0;
	for (size_t i = 0; i < G_N_ELEMENTS(types); i++)
		if (g_ascii_strcasecmp(t, types[i]) == 0)
			return 1;
	return 0;
}

/* How an archive is read: as any container format (zip through its
 * central directory), as a zip read front to back (which survives the
 * damaged central directories that Windows tolerates), or as one
 * compressed file (a .gz, .xz of a single file). */
enum { MODE_ALL, MODE_ZIP_STREAM, MODE_RAW };

static struct archive *
open_mem(const unsigned char *data, size_t len, const char *pw, int mode)
{
	struct archive *a = archive_read_new();
	unsigned mask = probe_filters();

	for (size_t i = 0; i < G_N_ELEMENTS(filters); i++)
		if (mask & (1u << i))
			filters[i](a);
	if (mode == MODE_RAW) {
		archive_read_support_format_raw(a);
	} else if (mode == MODE_ZIP_STREAM) {
		archive_read_support_format_zip_streamable(a);
	} else {
		archive_read_support_format_zip(a);
		archive_read_support_format_7zip(a);
		archive_read_support_format_rar(a);
		archive_read_support_format_rar5(a);
		archive_read_support_format_tar(a);
		archive_read_support_format_cpio(a);
		archive_read_support_format_iso9660(a);
		archive_read_support_format_lha(a);
		archive_read_support_format_cab(a);
	}
	if (pw)
		archive_read_add_passphrase(a, pw);
	if (archive_read_open_memory(a, data, len) != ARCHIVE_OK) {
		archive_read_free(a);
		return NULL;
	}
	return a;
}

static void
warn(csip_mail_archive_result *res, const char *fmt, ...)
	G_GNUC_PRINTF(2, 3);

static void
warn(csip_mail_archive_result *res, const char *fmt, ...)
{
	va_list ap;

	if (res->warnings->len >= MAX_WARNINGS)
		return;
	va_start(ap, fmt);
	g_ptr_array_add(res->warnings, g_strdup_vprintf(fmt, ap));
	va_end(ap);
}

/* The member's name as UTF-8: libarchive's conversion when the archive
 * says UTF-8, else the raw bytes read as Japanese Windows would (CP932 zips
 * from Explorer) or guessed. */
static char *
entry_name(struct archive_entry *e)
{
	const char *u = archive_entry_pathname_utf8(e);
	const char *r;

	if (u && g_utf8_validate(u, -1, NULL))
		return g_strdup(u);
	r = archive_entry_pathname(e);
	if (r == NULL)
		return g_strdup("");
	return csip_mail_charset_decode(NULL, r, strlen(r), NULL, NULL);
}

static const char *
err_text(struct archive *a)
{
	const char *s = archive_error_string(a);

	return s ? s : "unknown error";
}

/* Move A to entry IDX (0-based); 0 when it is there. */
static int
seek_entry(struct archive *a, unsigned idx, struct archive_entry **e)
{
	for (unsigned k = 0; k <= idx; k++) {
		if (archive_read_next_header(a, e) < ARCHIVE_WARN)
			return -1;
		if (k < idx && archive_read_data_skip(a) < ARCHIVE_WARN)
			return -1;
	}
	return 0;
}

/* Does PW read entry IDX to the end without error?  Reading stops early
 * (and counts as success) at CAP bytes. */
static int
password_works(const unsigned char *data, size_t len, int mode, unsigned idx,
	       const char *pw, size_t cap)
{
	struct archive *a = open_mem(data, len, pw, mode);
	struct archive_entry *e;
	char *buf = NULL;
	size_t got = 0;
	int ok = 0;

	if (a == NULL)
		return 0;
	if (seek_entry(a, idx, &e) < 0)
		goto out;
	buf = g_malloc(CHUNK);
	for (;;) {
		la_ssize_t n = archive_read_data(a, buf, CHUNK);

		if (n < 0)
			goto out;
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > cap)
			break;
	}
	ok = 1;
out:
	g_free(buf);
	archive_read_free(a);
	return ok;
}

/* Each try opens the archive again: the budget bounds what a mail full
 * of encrypted archives can cost. */
static const char *
find_password(const unsigned char *data, size_t len, int mode, unsigned idx,
	      char **passwords, size_t cap, unsigned *tries)
{
	for (int k = 0; passwords && passwords[k] && k < MAX_PASSWORDS &&
	     *tries > 0; k++) {
		(*tries)--;
		if (password_works(data, len, mode, idx, passwords[k], cap))
			return passwords[k];
	}
	return NULL;
}

static void
hand_over(csip_mail_archive_fn fn, void *ud, const char *name,
	  const unsigned char *data, size_t size, int enc, int dmg)
{
	csip_mail_archive_member m = { name, data, size, enc, dmg };

	fn(&m, ud);
}

unsigned
csip_mail_archive_walk(const unsigned char *data, size_t len,
		       char **passwords, csip_mail_archive_budget *budget,
		       csip_mail_archive_fn fn, void *ud,
		       csip_mail_archive_result *res)
{
	struct archive *a = NULL;
	struct archive_entry *e;
	GByteArray *buf = g_byte_array_new();
	unsigned char *chunk = g_malloc(CHUNK);
	const char *pw = NULL;
	size_t mine = 0, ratio_cap;
	unsigned idx = 0, skip_until = 0, handed = 0, retries = 0;
	int mode, tried = 0, stop = 0;
	char *why = NULL;

	memset(res, 0, sizeof *res);
	res->warnings = g_ptr_array_new_with_free_func(g_free);
	ratio_cap = MAX((size_t)budget->max_ratio * len, BOMB_FLOOR);

	/* Find the first way of reading whose first header comes out. */
	for (mode = MODE_ALL; mode <= MODE_RAW; mode++) {
		if (mode == MODE_ZIP_STREAM && (len < 4 ||
		    memcmp(data, "PK\x03\x04", 4) != 0))
			continue;
		a = open_mem(data, len, NULL, mode);
		if (a == NULL)
			continue;
		if (mode == MODE_RAW && archive_filter_count(a) < 2) {
			archive_read_free(a);   /* not compressed either */
			a = NULL;
			continue;
		}
		if (archive_read_next_header(a, &e) >= ARCHIVE_WARN ||
		    archive_read_has_encrypted_entries(a) > 0) {
			archive_read_free(a);
			a = open_mem(data, len, NULL, mode);
			break;
		}
		if (why == NULL)
			why = g_strdup(err_text(a));
		archive_read_free(a);
		a = NULL;
	}
	if (a == NULL) {
		if (why)
			warn(res, "archive cannot be read: %s", why);
		goto out;
	}
	res->opened = 1;

	while (!stop) {
		char *name;
		int r = archive_read_next_header(a, &e), enc;

		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_RETRY) {
			if (++retries < 3)
				continue;
			warn(res, "archive cannot be read: %s", err_text(a));
			break;
		}
		if (res->format == NULL && archive_format_name(a))
			res->format = g_strdup(archive_format_name(a));
		if (r < ARCHIVE_WARN) {
			if (archive_read_has_encrypted_entries(a) > 0)
				res->encrypted = 1;
			warn(res, "archive damaged or unsupported: %s",
			     err_text(a));
			break;
		}
		if (archive_entry_filetype(e) != AE_IFREG &&
		    mode != MODE_RAW) {
			archive_read_data_skip(a);
			idx++;
			continue;
		}
		if (budget->members_left == 0) {
			warn(res, "archive has more members than the limit; "
			     "the rest is not listed");
			res->bomb = 1;
			break;
		}
		enc = archive_entry_is_data_encrypted(e) > 0;
		if (enc) {
			res->encrypted = 1;
			if (pw == NULL && !tried && passwords &&
			    passwords[0]) {
				size_t cap = MIN(ratio_cap,
					budget->max_expanded > budget->expanded
					? budget->max_expanded -
					budget->expanded : 0);

				tried = 1;
				pw = find_password(data, len, mode, idx,
						   passwords, cap,
						   &budget->password_tries);
				if (pw) {
					/* Start again with the password;
					 * members before this one were
					 * handed over already. */
					res->password = g_strdup(pw);
					archive_read_free(a);
					a = open_mem(data, len, pw, mode);
					if (a == NULL)
						break;
					skip_until = idx;
					idx = 0;
					continue;
				}
			}
		}
		if (idx < skip_until) {
			archive_read_data_skip(a);
			idx++;
			continue;
		}
		name = entry_name(e);
		res->members++;
		budget->members_left--;
		if (enc && pw == NULL) {
			hand_over(fn, ud, name, NULL,
				  archive_entry_size_is_set(e) ?
				  (size_t)MAX(archive_entry_size(e), 0) : 0,
				  1, 0);
			handed++;
			g_free(name);
			archive_read_data_skip(a);
			idx++;
			continue;
		}
		g_byte_array_set_size(buf, 0);
		for (;;) {
			la_ssize_t n = archive_read_data(a, chunk, CHUNK);

			if (n == 0)
				break;
			if (n < 0) {
				warn(res, "archive member %s: %s", name,
				     err_text(a));
				r = -1;
				break;
			}
			mine += (size_t)n;
			budget->expanded += (size_t)n;
			if (mine > ratio_cap ||
			    budget->expanded > budget->max_expanded) {
				warn(res, "archive expands beyond %s (%zu "
				     "bytes packed): a likely zip bomb, not "
				     "unpacked further", mine > ratio_cap ?
				     "the expansion ratio limit" :
				     "the unpacked-size limit", len);
				res->bomb = 1;
				stop = 1;
				break;
			}
			g_byte_array_append(buf, chunk, (guint)n);
		}
		if (!stop) {
			if (r < 0)
				hand_over(fn, ud, name, NULL, buf->len, enc, 1);
			else
				hand_over(fn, ud, name, buf->data, buf->len,
					  enc, 0);
			handed++;
		}
		g_free(name);
		idx++;
	}
out:
	g_free(why);
	if (a)
		archive_read_free(a);
	g_byte_array_free(buf, TRUE);
	g_free(chunk);
	return handed;
}

void
csip_mail_archive_result_clear(csip_mail_archive_result *res)
{
	if (res == NULL)
		return;
	g_free(res->format);
	g_free(res->password);
	if (res->warnings)
		g_ptr_array_free(res->warnings, TRUE);
	memset(res, 0, sizeof *res);
}
