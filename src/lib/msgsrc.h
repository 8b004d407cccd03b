/*
 * msgsrc.h - where reported messages come from: a single .eml file, an
 * mbox, a Maildir, or standard input, walked one message at a time.
 *
 * The walker hands each message over as raw bytes with a label that names
 * it for people ("mail.mbox#3", "Maildir/cur/1700000000.x:2,S"), so a
 * rejected message can be found again.  It never stops at a bad message:
 * what cannot be read is reported through the same callback with an error.
 */
#ifndef CSIP_MSGSRC_H
#define CSIP_MSGSRC_H

#include <stddef.h>

/* Largest message the walker will hand over; bigger ones are reported as
 * CSIP_ETOOBIG without being read whole. */
#define CSIP_MSGSRC_MAX (64u * 1024 * 1024)

/* Called once per message.  DATA/LEN are valid only during the call; on a
 * read problem DATA is NULL and ERR is the negative code (the message is in
 * csip_error_last()).  A negative return stops the walk and is returned. */
typedef int (*csip_msgsrc_fn)(const char *label, const char *data, size_t len,
			      int err, void *ud);

/* Walk PATH ("-" for standard input).  Returns CSIP_OK when every message
 * was offered, the callback's negative code when it stopped the walk, or
 * CSIP_ENOTFOUND / CSIP_EIO when PATH itself cannot be read. */
int csip_msgsrc_walk(const char *path, csip_msgsrc_fn fn, void *ud);

/* Split an mbox held in memory; exposed for the fuzzer and tests.  LABEL
 * prefixes the per-message labels. */
int csip_msgsrc_split_mbox(const char *label, const char *data, size_t len,
			   csip_msgsrc_fn fn, void *ud);

/* Does DATA look like an mbox (starts with a "From " separator line)? */
int csip_msgsrc_is_mbox(const char *data, size_t len);

#endif
