/*
 * match_src.h - where the matcher's indicators come from: a list (one per
 * line, or CSV with a "value" column), a STIX 2.1 bundle, or a MISP event or
 * feed; read from a file, a MISP feed folder or an http(s) URL, the format
 * detected from the content unless given.
 *
 * What is taken:
 * - STIX 2.1: every indicator with pattern_type stix (or none, as in 2.0)
 *   that is not revoked: the values compared with '=' or IN in its pattern
 *   on domain-name, ipv4-addr, ipv6-addr (CIDR too), url, email-addr,
 *   file:hashes (MD5, SHA-1, SHA-256, SHA-512) and the address references
 *   of network-traffic and email-message, whatever joins them (OR, AND,
 *   FOLLOWEDBY: each value is looked for on its own); and the plain SCOs of
 *   those types in the bundle.  Other comparisons are skipped and counted.
 * - MISP: the attributes (also inside objects) of an event, of a list of
 *   events, of a restSearch response, or of every event of a feed manifest,
 *   except deleted ones, of the types domain, hostname, ip-src, ip-dst, url,
 *   email(-src, -dst, -reply-to), md5, sha1, sha256, sha512, and the
 *   composite ones (ip-dst|port, hostname|port, domain|ip, filename|md5,
 *   malware-sample, ...).  Other types are skipped and counted.
 */
#ifndef CSIP_MATCH_SRC_H
#define CSIP_MATCH_SRC_H

#include "lib/match.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
	CSIP_MSRC_AUTO = 0,
	CSIP_MSRC_LIST,    /* one per line, or CSV with a header */
	CSIP_MSRC_STIX,    /* a STIX 2.1 bundle */
	CSIP_MSRC_MISP,    /* a MISP event, events, or feed manifest */
	CSIP_MSRC__COUNT
} csip_match_src_format;

/* The format named NAME ("auto", "list", "stix", "misp"); -1 when
 * unknown. */
int csip_match_src_format_from_name(const char *name);

/* The name of a format; a static string. */
const char *csip_match_src_format_name(csip_match_src_format f);

/* Guess the format from the first bytes of a source (never AUTO): JSON is
 * told apart by its keys, anything else is a list. */
csip_match_src_format csip_match_src_detect(const char *data, size_t len);

/* Caps, checked before the work: a list file, and one JSON document (a
 * bundle, an event, a manifest) or one download. */
#define CSIP_MSRC_MAX_LIST (1ull << 30)
#define CSIP_MSRC_MAX_JSON (256ull << 20)

/* Called for each indicator that is skipped: in which source, where (the
 * line of a list; 0 for JSON, whose message names the object), and why. */
typedef void (*csip_bad_indicator_fn)(void *ud, const char *name,
				      uint64_t line, const char *message);

typedef struct csip_match_src_stats {
	size_t added;              /* values added (duplicates included) */
	size_t skipped;            /* invalid or unusable, each reported */
	csip_match_src_format format;  /* as detected (of the first document
				      for a feed) */
	int item_column;           /* a CSV list with an "item" column */
} csip_match_src_stats;

/* One indicator added from a CSV list, with the columns the hub's CSV
 * export (type,value,item,tlp,published_at) adds to the value: which
 * shared item carries it, and when that item was published.  Strings are
 * valid during the call only. */
typedef struct csip_match_src_row {
	uint32_t ind;              /* in the set: csip_match_indicator() */
	int64_t item;              /* the "item" column: 0 when there is none
				    * or it is not an id */
	const char *published_at;  /* the "published_at" column when it is a
				    * UTC time as the hub writes it
				    * (2025-04-01T09:30:00Z), else NULL */
} csip_match_src_row;

typedef void (*csip_match_src_row_fn)(void *ud,
				      const csip_match_src_row *row);

/* What a load calls back: each indicator skipped, each CSV record added
 * (either may be NULL). */
typedef struct csip_match_src_cb {
	csip_bad_indicator_fn bad;
	void *bad_ud;
	csip_match_src_row_fn row;
	void *row_ud;
} csip_match_src_cb;

/* Add the indicators of DATA[0..LEN) in format F (AUTO: detected).  NAME is
 * for messages.  A MISP feed manifest needs its events, which a buffer
 * cannot give: it is an error here.  Returns CSIP_OK, CSIP_EINVAL (not
 * JSON where JSON was expected, or not the format F), or CSIP_ETOOBIG.
 * *stats is filled in either case.  Build the set afterwards. */
int csip_match_src_add_buffer(csip_match_set *s, csip_match_src_format f,
			      const char *data, size_t len, const char *name,
			      csip_bad_indicator_fn bad, void *ud,
			      csip_match_src_stats *stats);

/* As csip_match_src_add_buffer(), with the callbacks of CB. */
int csip_match_src_add_buffer_cb(csip_match_set *s, csip_match_src_format f,
				 const char *data, size_t len,
				 const char *name, const csip_match_src_cb *cb,
				 csip_match_src_stats *stats);

/* Add the indicators of WHERE: an http:// or https:// URL (sent with
 * "Authorization: Bearer $CSIP_TOKEN" when that is set, over https or to
 * this machine only; a URL ending in '/' is a MISP feed and its
 * manifest.json is read), a folder holding a MISP feed (manifest.json and
 * <uuid>.json), or a file.  A feed's events are read from next to its
 * manifest.  Returns CSIP_OK, CSIP_EIO (unreadable, a network failure or
 * an HTTP error), CSIP_EINVAL, or CSIP_ETOOBIG; *stats is filled in either
 * case.  Build the set afterwards. */
int csip_match_src_load(csip_match_set *s, const char *where,
			csip_match_src_format f, csip_bad_indicator_fn bad,
			void *ud, csip_match_src_stats *stats);

/* As csip_match_src_load(), with the callbacks of CB. */
int csip_match_src_load_cb(csip_match_set *s, const char *where,
			   csip_match_src_format f,
			   const csip_match_src_cb *cb,
			   csip_match_src_stats *stats);

/* Whether the bearer token may go to URL: over https, or over http to
 * this machine only, so that it never crosses a network in clear. */
int csip_match_src_token_allowed(const char *url);

/* The list of file PATH, or any source as above, format detected: the
 * counts go to *added and *skipped. */
int csip_match_set_load(csip_match_set *s, const char *path,
			csip_bad_indicator_fn bad, void *ud, size_t *added,
			size_t *skipped);

#endif
