/*
 * timefmt.h - the one text form of an instant that csip compares as text.
 *
 * Times are stored as ISO 8601 UTC text so that they compare as strings on
 * both backends.  Times that order what readers poll for (an item's
 * publication, which is TAXII's date_added) carry microseconds,
 * "2024-04-01T09:00:00.123456Z" (CSIP_TIME_LEN characters): a poller that
 * asks for what was added after the last time it saw must not lose what
 * was added later in the same second.  Other times keep whole seconds,
 * "2024-04-01T09:00:00Z", as csip_store_now() writes them.
 *
 * The two forms compare correctly against a bound in the long form with a
 * zero fraction: "…:00Z" sorts after "…:00.000000Z" ('Z' > '.') and
 * before "…:01.000000Z", so bounds made by csip_time_bound() select the
 * same rows from either form.
 */
#ifndef CSIP_TIMEFMT_H
#define CSIP_TIMEFMT_H

#include <stdint.h>

#define CSIP_TIME_LEN 27  /* "YYYY-MM-DDTHH:MM:SS.ffffffZ" */

/* Now, to the microsecond, in OUT. */
void csip_time_now_us(char out[static CSIP_TIME_LEN + 1]);

/* US microseconds since the epoch (UTC) in the long form in OUT. */
void csip_time_format_us(int64_t us, char out[static CSIP_TIME_LEN + 1]);

/* The instant of IN (as csip_time_norm takes it) in microseconds since
 * the epoch in *US.  1 when IN is a time, 0 otherwise. */
int csip_time_parse_us(const char *in, int64_t *us);

/* An RFC 3339 UTC time ("2024-04-01T09:00:00Z", any fraction up to nine
 * digits, which is cut to six) in the long form in OUT.  1 when IN is one,
 * 0 otherwise (OUT is then undefined).  Equal instants give equal text. */
int csip_time_norm(const char *in, char out[static CSIP_TIME_LEN + 1]);

/* As csip_time_norm(), and also a bare date ("2024-04-01", the start of
 * that day in UTC): the lower bound of a range in the long form. */
int csip_time_bound(const char *in, char out[static CSIP_TIME_LEN + 1]);

#endif
