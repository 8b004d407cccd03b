/*
 * match_log.h - what the matcher knows about log formats: the name of each
 * format, detection from a file's first line, which lines carry no data
 * (headers), and where a line's timestamp is.
 *
 * Every format is scanned whole by csip_match_line(): the fields of a log
 * only decide the timestamp, so an indicator in an unexpected field is
 * still found.
 */
#ifndef CSIP_MATCH_LOG_H
#define CSIP_MATCH_LOG_H

#include "lib/match.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
	CSIP_LOG_AUTO = 0,
	CSIP_LOG_TEXT,     /* any text; ISO 8601 or syslog time at the start */
	CSIP_LOG_SQUID,    /* native access.log: epoch.millis first */
	CSIP_LOG_BIND,     /* query log: 15-Jan-2024 10:11:12.123 client ... */
	CSIP_LOG_ZEEK_DNS, /* dns.log TSV: epoch first, # header lines */
	CSIP_LOG_EVE,      /* Suricata EVE JSON: "timestamp":"..." */
	CSIP_LOG_POSTFIX,  /* syslog lines of postfix */
	CSIP_LOG_CSV,      /* CSV: a timestamp in the first field if any */
	CSIP_LOG__COUNT
} csip_log_format;

/* The format named NAME ("auto", "text", "squid", "bind", "zeek-dns", "eve",
 * "postfix", "csv"); -1 when unknown. */
int csip_log_format_from_name(const char *name);

/* The name of a format; a static string. */
const char *csip_log_format_name(csip_log_format f);

/* Guess the format from the first line of a log (never AUTO: TEXT when
 * nothing more specific fits). */
csip_log_format csip_log_detect(const char *line, size_t len);

/* Whether LINE is a header or comment of format F, with no data to match. */
int csip_log_skip(csip_log_format f, const char *line, size_t len);

/* Write the line's timestamp to OUT (size OUTSZ, at least 40) as an ISO
 * 8601 text when the format has one: epoch times become UTC
 * (2024-01-15T10:11:12.123Z), the others are normalised where that is
 * unambiguous and otherwise copied.  Returns the length written (0 when the
 * line has no timestamp).  The result only holds [0-9A-Za-z:.+ -], so it
 * can go into JSON unescaped. */
size_t csip_log_timestamp(csip_log_format f, const char *line, size_t len,
			  char *out, size_t outsz);

/* One sighting with its place in the log. */
typedef struct csip_sighting {
	uint32_t ind;       /* csip_match_indicator() */
	uint64_t line;      /* 1-based */
	uint64_t offset;    /* of the token, in bytes from the log's start
			       (after decompression) */
	char ts[40];        /* csip_log_timestamp(), "" when none */
} csip_sighting;

/* Called in input order, from the thread that called the scan. */
typedef void (*csip_sighting_fn)(void *ud, const csip_sighting *s);

/* Match the lines of BUF[0..LEN) (the last one may lack its newline) with
 * up to THREADS threads, numbering lines from FIRST_LINE and offsets from
 * BASE.  Format F must not be AUTO.  Returns the number of lines. */
uint64_t csip_match_buffer(const csip_match_set *s, csip_log_format f,
			   const char *buf, size_t len, uint64_t first_line,
			   uint64_t base, int threads, csip_sighting_fn fn,
			   void *ud);

/* As csip_match_buffer(), adding to *LONG_LINES the lines longer than
 * CSIP_MATCH_MAX_LINE. */
uint64_t csip_match_buffer_ex(const csip_match_set *s, csip_log_format f,
			      const char *buf, size_t len,
			      uint64_t first_line, uint64_t base, int threads,
			      csip_sighting_fn fn, void *ud,
			      uint64_t *long_lines);

typedef struct csip_scan_stats {
	uint64_t bytes;      /* after decompression */
	uint64_t lines;
	uint64_t sightings;
	uint64_t long_lines; /* cut at CSIP_MATCH_MAX_LINE */
	csip_log_format format;
	int gzip;
} csip_scan_stats;

/* Read the log on FD to its end (gzip is detected and decompressed) and
 * report its sightings in input order.  NAME is for messages.  Lines longer
 * than CSIP_MATCH_MAX_LINE are scanned up to that length.  Returns CSIP_OK,
 * or CSIP_EIO (a read error, a truncated or corrupt gzip stream) after the
 * sightings of everything read before the error; *stats is filled in
 * either case. */
int csip_match_fd(const csip_match_set *s, csip_log_format f, int fd,
		  const char *name, int threads, csip_sighting_fn fn,
		  void *ud, csip_scan_stats *stats);

#endif
