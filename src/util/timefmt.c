/*
 * timefmt.c - instants as text in the long form; see timefmt.h.
 */
#include "timefmt.h"

#include <glib.h>
#include <string.h>
#include <time.h>

void
csip_time_format_us(int64_t us, char out[static CSIP_TIME_LEN + 1])
{
	int64_t sec = us / G_USEC_PER_SEC, frac = us % G_USEC_PER_SEC;
	time_t t;
	struct tm tm;

	if (frac < 0) {
		frac += G_USEC_PER_SEC;
		sec--;
	}
	t = (time_t)sec;
	gmtime_r(&t, &tm);
	g_snprintf(out, CSIP_TIME_LEN + 1, "%04d-%02d-%02dT%02d:%02d:%02d."
		   "%06dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		   tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
}

void
csip_time_now_us(char out[static CSIP_TIME_LEN + 1])
{
	csip_time_format_us(g_get_real_time(), out);
}

int
csip_time_parse_us(const char *in, int64_t *us)
{
	char norm[CSIP_TIME_LEN + 1];
	GDateTime *dt;

	if (!csip_time_norm(in, norm) ||
	    (dt = g_date_time_new_from_iso8601(norm, NULL)) == NULL)
		return 0;
	/* The fraction from the text: GDateTime keeps microseconds, but
	 * through a double on some releases. */
	*us = (int64_t)g_date_time_to_unix(dt) * G_USEC_PER_SEC +
	      g_ascii_strtoll(norm + 20, NULL, 10);
	g_date_time_unref(dt);
	return 1;
}

int
csip_time_norm(const char *in, char out[static CSIP_TIME_LEN + 1])
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	char frac[7] = "000000", base[21];
	const char *p = in;
	GDateTime *dt;
	size_t n = 0;

	if (in == NULL)
		return 0;
	for (int i = 0; shape[i]; i++, p++) {
		if (shape[i] == 'd' ? !g_ascii_isdigit(*p) : *p != shape[i])
			return 0;
	}
	if (*p == '.') {
		p++;
		while (g_ascii_isdigit(*p)) {
			if (n < 6)
				frac[n] = *p;
			n++;
			p++;
		}
		if (n == 0 || n > 9)
			return 0;
	}
	if (strcmp(p, "Z") != 0)
		return 0;
	g_snprintf(base, sizeof base, "%.19sZ", in);
	/* The shape is right; the calendar decides the rest (no 30 Feb). */
	dt = g_date_time_new_from_iso8601(base, NULL);
	if (dt == NULL)
		return 0;
	g_date_time_unref(dt);
	g_snprintf(out, CSIP_TIME_LEN + 1, "%.19s.%sZ", in, frac);
	return 1;
}

int
csip_time_bound(const char *in, char out[static CSIP_TIME_LEN + 1])
{
	char full[21];

	if (in == NULL)
		return 0;
	if (strlen(in) == 10) {
		g_snprintf(full, sizeof full, "%sT00:00:00Z", in);
		return csip_time_norm(full, out);
	}
	return csip_time_norm(in, out);
}
