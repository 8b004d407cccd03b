/*
 * match_tail.h - following a log as it grows, as `tail -F` does, for
 * `csip match --follow`: each call reads what was written since the last
 * one and matches its complete lines.
 *
 * A log is followed by its name: when the name comes to mean another
 * file (the log was rotated: renamed, and a new one made), what is left
 * of the old file is read first, then the new one from its start; when
 * the file shrinks below what was read (truncated, as copytruncate does),
 * it is read again from its start.  Line numbers and offsets are those of
 * the file being read, so they start again at 1 and 0 in either case.  A
 * log that does not exist yet is waited for.  Standard input ("-") is
 * read as a stream until it ends.
 */
#ifndef CSIP_MATCH_TAIL_H
#define CSIP_MATCH_TAIL_H

#include "lib/match.h"
#include "lib/match_log.h"

#include <stddef.h>
#include <stdint.h>

typedef struct csip_match_tail csip_match_tail;

/* What a poll found, besides lines: flags in *events. */
enum {
	CSIP_TAIL_OPENED = 1,     /* the file was opened (first, or after it
				   * appeared) */
	CSIP_TAIL_MISSING = 2,    /* the file does not exist (reported once
				   * until it appears) */
	CSIP_TAIL_ROTATED = 4,    /* the name is another file now */
	CSIP_TAIL_TRUNCATED = 8,  /* the file shrank: read from its start */
	CSIP_TAIL_ENDED = 16,     /* standard input ended */
	CSIP_TAIL_PREDECESSOR = 32  /* resumed in the file the log was
				     * renamed to while not followed
				     * (csip_match_tail_predecessor()) */
};

typedef struct csip_match_tail_stats {
	uint64_t bytes;       /* read, over every file followed */
	uint64_t lines;
	uint64_t sightings;
	uint64_t long_lines;  /* cut at CSIP_MATCH_MAX_LINE */
	csip_log_format format;  /* AUTO until the first line is read */
} csip_match_tail_stats;

/* Follow PATH ("-": standard input) in format F (AUTO: detected from the
 * first line, and kept for the files that follow a rotation), matching
 * with up to THREADS threads.  Nothing is opened before the first poll.
 * Free with csip_match_tail_free(). */
csip_match_tail *csip_match_tail_new(const char *path, csip_log_format f,
				     int threads);

/* NULL is accepted. */
void csip_match_tail_free(csip_match_tail *t);

/* Read what the log holds beyond the last poll (at most a bounded amount,
 * so that other logs get their turn: call again while *got is not 0),
 * match its complete lines with S and call FN for each sighting, in
 * order.  A last line without its newline waits for the rest, unless the
 * file was rotated or standard input ended.  *events receives the
 * CSIP_TAIL_ flags of what happened.  Returns CSIP_OK, CSIP_EIO (a read
 * error; the log is opened again at the next poll) or CSIP_EINVAL (a gzip
 * log, which cannot grow: scan it without following). */
int csip_match_tail_poll(csip_match_tail *t, const csip_match_set *s,
			 csip_sighting_fn fn, void *ud, unsigned *events,
			 size_t *got);

/* Whether there is nothing more to read: standard input has ended. */
int csip_match_tail_ended(const csip_match_tail *t);

/* Where a log was matched up to: every line before OFFSET of the file
 * DEV INO has been matched (its sightings given to the callback), and
 * the next line is number LINE; with SKIPPING, OFFSET is inside a line
 * too long to scan, whose rest is dropped.  TAG is a hash of the bytes
 * just before OFFSET, which tells the same content from a file that was
 * emptied (copytruncate) and written past OFFSET again. */
typedef struct csip_tail_pos {
	uint64_t dev, ino, offset, line, tag;
	int skipping;
} csip_tail_pos;

/* Fill *P; returns 0, filling nothing, for standard input and while the
 * log is not open. */
int csip_match_tail_position(const csip_match_tail *t, csip_tail_pos *p);

/* Before the first poll: go on from *P if the log is then still that
 * file, at least that long, with the same bytes before the offset, as a
 * restarted follower picks up where it stopped.  When the name is
 * another file (or none), the file of *P is looked for beside the log by
 * its inode: found, with those bytes, it is read on to its end first (the
 * log was rotated while stopped), then the log from its start; otherwise
 * the log is read from its start as always. */
void csip_match_tail_resume(csip_match_tail *t, const csip_tail_pos *p);

/* After a poll that reported CSIP_TAIL_PREDECESSOR, and while a resumed
 * log is read on in the file it was renamed to while not followed: that
 * file's path (owned by T, valid until the next poll); otherwise NULL. */
const char *csip_match_tail_predecessor(const csip_match_tail *t);

/* The counts so far. */
const csip_match_tail_stats *csip_match_tail_stats_of(
	const csip_match_tail *t);

#endif
