/*
 * match.h - the log matcher: a set of indicators compiled into data
 * structures built for scanning logs at memory speed, and a tokenizer that
 * finds every indicator in a log line on exact token boundaries.
 *
 * Semantics (the bench/match/ref.py reference implements the same rules):
 * - host names and domains match themselves and every sub-domain, on label
 *   boundaries only: evil.example matches a.b.EVIL.example., never
 *   notevil.example or evil.example.net; the most specific indicator wins;
 * - IPv4/IPv6 addresses and CIDR ranges: longest-prefix match (an address
 *   indicator is a /32 or /128);
 * - URLs match on their canonical form (csip_indicator_parse), exactly;
 * - e-mail addresses and MD5/SHA-1/SHA-256/SHA-512 hashes match whole
 *   tokens, case-insensitively.
 * Other indicator types (ssdeep, file names, ...) are refused by
 * csip_match_set_add() with CSIP_EINVAL.
 *
 * A built set is read-only, so any number of threads may match with it.
 */
#ifndef CSIP_MATCH_H
#define CSIP_MATCH_H

#include "lib/indicator.h"

#include <stddef.h>
#include <stdint.h>

typedef struct csip_match_set csip_match_set;

/* One sighting in a line: IND names the indicator (csip_match_indicator),
 * OFFSET and LEN the token in the line. */
typedef struct csip_match_hit {
	uint32_t ind;
	size_t offset;
	size_t len;
} csip_match_hit;

/* Called for each sighting, in order of OFFSET (a URL before its host, an
 * e-mail address before its domain). */
typedef void (*csip_match_fn)(void *ud, const csip_match_hit *hit);

/* A new empty set; free with csip_match_set_free(). */
csip_match_set *csip_match_set_new(void);

/* NULL is accepted. */
void csip_match_set_free(csip_match_set *s);

/* Parse TEXT (type detected unless HINT) and add it.  A value already in
 * the set is accepted and ignored.  Returns CSIP_OK or CSIP_EINVAL (invalid,
 * or a type the matcher does not look for) with a message naming TEXT.
 * Adding after csip_match_set_build() needs another build. */
int csip_match_set_add(csip_match_set *s, const char *text, size_t len,
		       csip_ind_type hint);

/* As csip_match_set_add(); *IND then names the value as the set holds
 * it (csip_match_indicator(), before csip_match_set_build() too). */
int csip_match_set_add_ind(csip_match_set *s, const char *text, size_t len,
			   csip_ind_type hint, uint32_t *ind);

/* Add a parsed indicator; as above. */
int csip_match_set_add_parsed(csip_match_set *s, const csip_indicator *ind);

/* A new set, not built, holding each distinct indicator of the built set
 * S once: add to it and build it while S goes on matching (an update of
 * a followed feed).  Free with csip_match_set_free(). */
csip_match_set *csip_match_set_copy(const csip_match_set *s);

/* Compile the set for matching; call after the last add. */
void csip_match_set_build(csip_match_set *s);

/* The number of distinct indicators in the set after
 * csip_match_set_build(); before it, of the values added (duplicates
 * included). */
size_t csip_match_set_count(const csip_match_set *s);

/* Bytes held by the set (tables and strings), for the benchmark. */
size_t csip_match_set_memory(const csip_match_set *s);

/* The canonical value of indicator IND and its type in *TYPE when TYPE is
 * not NULL.  The text is owned by the set, or, for a value the set holds
 * in binary (a hash, a network), by the calling thread: it stays valid
 * until the thread's fourth next call; copy it to keep it. */
const char *csip_match_indicator(const csip_match_set *s, uint32_t ind,
				 csip_ind_type *type);

/* Scan LINE[0..LEN) (no newline needed; any bytes) and call FN for each
 * sighting.  Returns the number of sightings.  Lines longer than
 * CSIP_MATCH_MAX_LINE are scanned only up to that length. */
#define CSIP_MATCH_MAX_LINE (1u << 20)
size_t csip_match_line(const csip_match_set *s, const char *line,
		       size_t len, csip_match_fn fn, void *ud);

/* Called for each sighting of csip_match_lines(): LINE is the start of
 * the line holding it (HIT's offset is from there), NO its number in the
 * buffer, from 0. */
typedef void (*csip_match_lines_fn)(void *ud, const char *line,
				    uint64_t no, const csip_match_hit *hit);

/* csip_match_line() on every line of BUF[0..LEN) (cut at '\n'; a last
 * line without one counts), in one pass: the same sightings, in order.
 * With SKIP_HASH, a line starting with '#' is not scanned.  A line longer
 * than CSIP_MATCH_MAX_LINE is scanned up to that length and counted in
 * *LONG_LINES when that is not NULL.  Returns the number of lines. */
uint64_t csip_match_lines(const csip_match_set *s, const char *buf,
			  size_t len, int skip_hash, csip_match_lines_fn fn,
			  void *ud, uint64_t *long_lines);

#endif
