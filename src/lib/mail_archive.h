/*
 * mail_archive.h - opening archives found in mail attachments (zip, rar,
 * 7z, tar, cpio, iso, lha, cab, and gzip/bzip2/xz/zstd streams) with
 * libarchive, from memory, under limits.
 *
 * Attackers send archives to get past filters: encrypted zips with the
 * password in the body, archives in archives, and archives that expand to
 * gigabytes (zip bombs).  The walker hands each regular member to a
 * callback as bytes; it never writes anything to disk, never unpacks more
 * than the budget allows, and turns every problem into a warning.
 */
#ifndef CSIP_MAIL_ARCHIVE_H
#define CSIP_MAIL_ARCHIVE_H

#include <glib.h>
#include <stddef.h>

/* Shared across one mail: every archive in it draws on one budget. */
typedef struct csip_mail_archive_budget {
	size_t expanded;       /* bytes unpacked so far */
	size_t max_expanded;   /* total cap */
	unsigned max_ratio;    /* expanded / packed cap, per archive */
	unsigned members_left; /* members that may still be handed over */
	unsigned password_tries; /* archive opens left for guessing */
} csip_mail_archive_budget;

/* One member.  DATA is NULL when it could not be read (encrypted without
 * a working password, damaged); SIZE is then the size the archive
 * declares, or 0. */
typedef struct csip_mail_archive_member {
	const char *name;            /* UTF-8 path inside the archive */
	const unsigned char *data;   /* valid during the call */
	size_t size;
	int encrypted;
	int damaged;
} csip_mail_archive_member;

typedef void (*csip_mail_archive_fn)(const csip_mail_archive_member *mem,
				     void *ud);

typedef struct csip_mail_archive_result {
	char *format;        /* "zip", "7-Zip", "gzip" ... (g_free) */
	int opened;          /* libarchive recognised it */
	int encrypted;       /* some entry (or the index) is encrypted */
	char *password;      /* the candidate that opened it (g_free) */
	int bomb;            /* unpacking stopped at a limit */
	unsigned members;    /* members seen */
	GPtrArray *warnings; /* char *, owned */
} csip_mail_archive_result;

/* Does libmagic's MIME type name an archive or compressed stream that
 * we open?  (Office documents are zips too, but not opened.) */
int csip_mail_archive_is_archive(const char *mime_type);

/* Walk the archive in DATA/LEN, calling FN for each regular member.
 * PASSWORDS (NULL-terminated, may be NULL) are tried on encrypted entries.
 * Fills *RES (free with csip_mail_archive_result_clear()); returns the
 * number of members handed over. */
unsigned csip_mail_archive_walk(const unsigned char *data, size_t len,
				char **passwords,
				csip_mail_archive_budget *budget,
				csip_mail_archive_fn fn, void *ud,
				csip_mail_archive_result *res);

void csip_mail_archive_result_clear(csip_mail_archive_result *res);

#endif
