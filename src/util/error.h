/*
 * error.h - the one error convention of csip.
 *
 * Every function that can fail returns an int: CSIP_OK (0) on success or one
 * of the negative codes below.  The failing function also records a message
 * for a human (which input, what is wrong, how to fix it) in a thread-local
 * slot, read with csip_error_last().  The code says what kind of failure it
 * was, so callers can decide (retry, 4xx vs 5xx, exit status); the message is
 * only for people.  Errors are handled once, where something can be done
 * about them: intermediate layers pass the code up unchanged.
 *
 * Out of memory is not an error code: allocation goes through GLib, which
 * aborts on exhaustion (the policy of Redis and GLib alike).  Storage faults,
 * in contrast, are ordinary codes, and tests inject them.
 */
#ifndef CSIP_ERROR_H
#define CSIP_ERROR_H

#include <stdarg.h>

typedef enum {
	CSIP_OK        = 0,
	CSIP_ERR       = -1,  /* generic failure */
	CSIP_EINVAL    = -2,  /* bad input: the caller can fix it */
	CSIP_ENOTFOUND = -3,  /* the named thing does not exist */
	CSIP_EEXISTS   = -4,  /* the thing to create already exists */
	CSIP_EIO       = -5,  /* file or network I/O failed */
	CSIP_ESTORE    = -6,  /* the database failed (disk, corruption) */
	CSIP_EBUSY     = -7,  /* transient: locked, try again later */
	CSIP_EPERM     = -8,  /* the actor may not do this */
	CSIP_ECONFIG   = -9,  /* configuration is wrong */
	CSIP_ETOOBIG   = -10, /* input above a size cap */
	CSIP_ETAMPERED = -11, /* integrity check failed */

	/* Not errors: iteration results (>= 0 never means failure). */
	CSIP_ROW       = 100,
	CSIP_DONE      = 101
} csip_rc;

/* Record the error of the current thread and return CODE, so a failing
 * function can write `return csip_error_set(CSIP_EINVAL, "...")`. */
int csip_error_set(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int csip_error_setv(int code, const char *fmt, va_list ap);

/* Prepend context to the current message ("org acme: " + message). */
int csip_error_prefix(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The message of the last error on this thread; never NULL.  The string
 * belongs to the error slot and is valid until the next csip_error_set(). */
const char *csip_error_last(void);

/* The code passed to the last csip_error_set() on this thread. */
int csip_error_last_code(void);

void csip_error_clear(void);

/* A short, stable name for a code ("invalid", "not-found", ...). */
const char *csip_error_name(int code);

#endif
