/*
 * match_log.c - log formats for the matcher: names, detection from a first
 * line, header lines, and timestamps.  Only lines with a sighting ask for
 * their timestamp, so none of this is on the hot path.
 */
#include "lib/match_log.h"
#include "util/error.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const names[CSIP_LOG__COUNT] = {
	"auto", "text", "squid", "bind", "zeek-dns", "eve", "postfix", "csv"
};

int
csip_log_format_from_name(const char *name)
{
	for (int i = 0; i < CSIP_LOG__COUNT; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

const char *
csip_log_format_name(csip_log_format f)
{
	return (unsigned)f < CSIP_LOG__COUNT ? names[f] : "unknown";
}

static int
digits(const char *p, size_t len, size_t at, size_t n)
{
	if (at + n > len)
		return 0;
	for (size_t i = at; i < at + n; i++)
		if (!g_ascii_isdigit(p[i]))
			return 0;
	return 1;
}

/* Seconds since the epoch with an optional fraction: its length, or 0. */
static size_t
epoch_len(const char *p, size_t len)
{
	size_t i = 0;

	while (i < len && g_ascii_isdigit(p[i]))
		i++;
	if (i < 9 || i > 11)
		return 0;
	if (i < len && p[i] == '.') {
		i++;
		while (i < len && g_ascii_isdigit(p[i]))
			i++;
	}
	return i;
}

static size_t
from_epoch(const char *p, size_t n, char *out, size_t outsz)
{
	gint64 sec = 0;
	const char *dot = memchr(p, '.', n);
	size_t intlen = dot ? (size_t)(dot - p) : n, fl = 0, o;
	time_t t;
	struct tm tm;

	for (size_t i = 0; i < intlen; i++)
		sec = sec * 10 + (p[i] - '0');
	t = (time_t)sec;
	if (gmtime_r(&t, &tm) == NULL)
		return 0;
	o = strftime(out, outsz, "%Y-%m-%dT%H:%M:%S", &tm);
	if (o == 0)
		return 0;
	if (dot) {
		fl = n - intlen - 1;
		if (fl > 9)
			fl = 9;
		if (fl && o + fl + 2 < outsz) {
			out[o++] = '.';
			memcpy(out + o, dot + 1, fl);
			o += fl;
		}
	}
	if (o + 2 > outsz)
		return 0;
	out[o++] = 'Z';
	out[o] = '\0';
	return o;
}

/* YYYY-MM-DD[T ]HH:MM:SS[.frac][Z|+hh:mm|+hhmm] at P: copied with 'T'. */
static size_t
iso_at(const char *p, size_t len, char *out, size_t outsz)
{
	size_t i = 19, o;

	if (!digits(p, len, 0, 4) || len < 19 || p[4] != '-' ||
	    !digits(p, len, 5, 2) || p[7] != '-' || !digits(p, len, 8, 2) ||
	    (p[10] != 'T' && p[10] != ' ') || !digits(p, len, 11, 2) ||
	    p[13] != ':' || !digits(p, len, 14, 2) || p[16] != ':' ||
	    !digits(p, len, 17, 2))
		return 0;
	if (i < len && (p[i] == '.' || p[i] == ',')) {
		i++;
		while (i < len && g_ascii_isdigit(p[i]) && i < 30)
			i++;
	}
	if (i < len && p[i] == 'Z') {
		i++;
	} else if (i < len && (p[i] == '+' || p[i] == '-')) {
		size_t z = i + 1;

		if (digits(p, len, z, 2) && z + 2 < len && p[z + 2] == ':' &&
		    digits(p, len, z + 3, 2))
			i = z + 5;
		else if (digits(p, len, z, 4))
			i = z + 4;
	}
	if (i + 1 > outsz)
		return 0;
	memcpy(out, p, i);
	out[10] = 'T';
	for (o = 0; o < i; o++)
		if (out[o] == ',')
			out[o] = '.';
	out[i] = '\0';
	return i;
}

static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

static int
month_of(const char *p)
{
	for (int m = 0; m < 12; m++)
		if (memcmp(months + 3 * m, p, 3) == 0)
			return m + 1;
	return 0;
}

/* 15-Jan-2024 10:11:12.123 (BIND) -> 2024-01-15T10:11:12.123 */
static size_t
bind_time(const char *p, size_t len, char *out, size_t outsz)
{
	int m;
	size_t i = 20;

	if (len < 20 || !digits(p, len, 0, 2) || p[2] != '-' ||
	    (m = month_of(p + 3)) == 0 || p[6] != '-' ||
	    !digits(p, len, 7, 4) || p[11] != ' ' || !digits(p, len, 12, 2) ||
	    p[14] != ':' || !digits(p, len, 15, 2) || p[17] != ':' ||
	    !digits(p, len, 18, 2) || outsz < 40)
		return 0;
	i = 20;
	if (i < len && p[i] == '.') {
		i++;
		while (i < len && i < 30 && g_ascii_isdigit(p[i]))
			i++;
	}
	return (size_t)g_snprintf(out, outsz, "%.4s-%02d-%.2sT%.*s",
				  p + 7, m, p, (int)(i - 12), p + 12);
}

/* Jan 15 10:11:12 (syslog, no year): copied. */
static size_t
syslog_time(const char *p, size_t len, char *out, size_t outsz)
{
	if (len < 15 || month_of(p) == 0 || p[3] != ' ' ||
	    !(g_ascii_isdigit(p[4]) || p[4] == ' ') ||
	    !g_ascii_isdigit(p[5]) || p[6] != ' ' || !digits(p, len, 7, 2) ||
	    p[9] != ':' || !digits(p, len, 10, 2) || p[12] != ':' ||
	    !digits(p, len, 13, 2) || outsz < 16)
		return 0;
	memcpy(out, p, 15);
	out[15] = '\0';
	return 15;
}

csip_log_format
csip_log_detect(const char *line, size_t len)
{
	size_t e;

	if (len > 0 && line[0] == '{' &&
	    g_strstr_len(line, (gssize)len, "\"event_type\""))
		return CSIP_LOG_EVE;
	if (len >= 10 && (memcmp(line, "#separator", 10) == 0 ||
			  memcmp(line, "#fields", 7) == 0))
		return CSIP_LOG_ZEEK_DNS;
	if ((e = epoch_len(line, len)) > 0 && e < len) {
		if (line[e] == '\t')
			return CSIP_LOG_ZEEK_DNS;
		if (line[e] == ' ')
			return CSIP_LOG_SQUID;
	}
	{
		char buf[64];

		if (bind_time(line, len, buf, sizeof(buf)))
			return CSIP_LOG_BIND;
	}
	if (g_strstr_len(line, (gssize)(len < 512 ? len : 512), " postfix/"))
		return CSIP_LOG_POSTFIX;
	return CSIP_LOG_TEXT;
}

/* Whether format F has header or comment lines, those starting with '#':
 * csip_log_skip() and the one-pass scan of run_part() both ask here. */
static int
hash_lines(csip_log_format f)
{
	return f == CSIP_LOG_ZEEK_DNS;
}

int
csip_log_skip(csip_log_format f, const char *line, size_t len)
{
	return hash_lines(f) && len > 0 && line[0] == '#';
}

size_t
csip_log_timestamp(csip_log_format f, const char *line, size_t len,
		   char *out, size_t outsz)
{
	size_t n = 0, e;

	if (outsz < 40)
		return 0;
	out[0] = '\0';
	switch (f) {
	case CSIP_LOG_SQUID:
	case CSIP_LOG_ZEEK_DNS:
		if ((e = epoch_len(line, len)) > 0)
			n = from_epoch(line, e, out, outsz);
		break;
	case CSIP_LOG_BIND:
		n = bind_time(line, len, out, outsz);
		break;
	case CSIP_LOG_EVE: {
		const char *k = g_strstr_len(line, (gssize)len,
					     "\"timestamp\":\"");

		if (k) {
			k += 13;
			n = iso_at(k, (size_t)(line + len - k), out, outsz);
		}
		break;
	}
	case CSIP_LOG_CSV: {
		const char *p = line;
		size_t l = len;

		if (l && *p == '"')
			p++, l--;
		n = iso_at(p, l, out, outsz);
		if (n == 0 && (e = epoch_len(p, l)) > 0 &&
		    (e == l || p[e] == ',' || p[e] == '"'))
			n = from_epoch(p, e, out, outsz);
		break;
	}
	case CSIP_LOG_POSTFIX:
	case CSIP_LOG_TEXT:
	default:
		n = iso_at(line, len, out, outsz);
		if (n == 0)
			n = syslog_time(line, len, out, outsz);
		break;
	}
	if (n == 0)
		out[0] = '\0';
	return n;
}

/* ------------------------------------------------------------------ */
/* Matching a buffer of lines, split across threads */

typedef struct part {
	const csip_match_set *set;
	csip_log_format fmt;
	const char *p;
	size_t n;
	uint64_t base;       /* offset of P in the log */
	GArray *hits;        /* csip_sighting, line relative to the part */
	uint64_t lines;
	uint64_t long_lines;
	/* the timestamp of line TS_LINE + 1 (0: none yet) */
	uint64_t ts_line;
	char ts[40];
} part;

static void
on_hit(void *ud, const char *line, uint64_t no, const csip_match_hit *h)
{
	part *pt = ud;
	csip_sighting sg;

	if (pt->ts_line != no + 1) {
		const char *end = pt->p + pt->n;
		const char *nl = memchr(line, '\n', (size_t)(end - line));

		csip_log_timestamp(pt->fmt, line, nl ? (size_t)(nl - line) :
				   (size_t)(end - line), pt->ts, sizeof(pt->ts));
		pt->ts_line = no + 1;
	}
	sg.ind = h->ind;
	sg.line = no;
	sg.offset = pt->base + (uint64_t)(line - pt->p) + h->offset;
	memcpy(sg.ts, pt->ts, sizeof(sg.ts));
	g_array_append_val(pt->hits, sg);
}

static gpointer
run_part(gpointer data)
{
	part *pt = data;

	pt->lines = csip_match_lines(pt->set, pt->p, pt->n,
				     hash_lines(pt->fmt), on_hit, pt,
				     &pt->long_lines);
	return NULL;
}

/* Below this a buffer is not worth a thread. */
#define MIN_PART (256u * 1024)

static uint64_t
match_buffer(const csip_match_set *s, csip_log_format f, const char *buf,
	     size_t len, uint64_t first_line, uint64_t base, int threads,
	     csip_sighting_fn fn, void *ud, uint64_t *long_lines)
{
	part *parts;
	GThread **th;
	size_t np, at = 0;
	uint64_t line = first_line;

	if (threads < 1)
		threads = 1;
	np = (size_t)threads;
	if (len / MIN_PART < np)
		np = len / MIN_PART ? len / MIN_PART : 1;
	parts = g_new0(part, np);
	th = g_new0(GThread *, np);
	/* Cut at newlines, so every line belongs to one part. */
	for (size_t k = 0; k < np; k++) {
		size_t cut = k + 1 == np ? len : len / np * (k + 1);

		if (cut < at)
			cut = at;
		if (k + 1 < np) {
			const char *nl = memchr(buf + cut, '\n', len - cut);

			cut = nl ? (size_t)(nl - buf) + 1 : len;
		}
		parts[k] = (part){ .set = s, .fmt = f, .p = buf + at,
			.n = cut - at, .base = base + at,
			.hits = g_array_new(FALSE, FALSE,
					    sizeof(csip_sighting)) };
		at = cut;
	}
	for (size_t k = 1; k < np; k++)
		if (parts[k].n)
			th[k] = g_thread_new("match", run_part, &parts[k]);
	run_part(&parts[0]);
	for (size_t k = 0; k < np; k++) {
		if (th[k])
			g_thread_join(th[k]);
		for (guint i = 0; i < parts[k].hits->len; i++) {
			csip_sighting *sg = &g_array_index(parts[k].hits,
							   csip_sighting, i);

			sg->line += line;
			fn(ud, sg);
		}
		line += parts[k].lines;
		if (long_lines)
			*long_lines += parts[k].long_lines;
		g_array_free(parts[k].hits, TRUE);
	}
	g_free(parts);
	g_free(th);
	return line - first_line;
}

uint64_t
csip_match_buffer(const csip_match_set *s, csip_log_format f,
		  const char *buf, size_t len, uint64_t first_line,
		  uint64_t base, int threads, csip_sighting_fn fn, void *ud)
{
	return match_buffer(s, f, buf, len, first_line, base, threads, fn, ud,
			    NULL);
}

uint64_t
csip_match_buffer_ex(const csip_match_set *s, csip_log_format f,
		     const char *buf, size_t len, uint64_t first_line,
		     uint64_t base, int threads, csip_sighting_fn fn,
		     void *ud, uint64_t *long_lines)
{
	return match_buffer(s, f, buf, len, first_line, base, threads, fn, ud,
			    long_lines);
}

/* ------------------------------------------------------------------ */
/* Reading a log, gzip or not */

#define ZBUF (256u * 1024)

typedef struct src {
	int fd;
	GConverter *z;     /* gzip, else NULL */
	char *zbuf;        /* read-ahead (raw bytes) */
	size_t zlen, zpos;
	int zeof, finished;
} src;

static gssize
raw_read(int fd, char *p, size_t n)
{
	gssize r;

	do
		r = read(fd, p, n);
	while (r < 0 && errno == EINTR);
	return r;
}

static int
src_fill(src *sr)
{
	gssize r;

	if (sr->zpos > 0 && sr->zpos < sr->zlen)
		memmove(sr->zbuf, sr->zbuf + sr->zpos, sr->zlen - sr->zpos);
	sr->zlen -= sr->zpos;
	sr->zpos = 0;
	r = raw_read(sr->fd, sr->zbuf + sr->zlen, ZBUF - sr->zlen);
	if (r < 0)
		return -1;
	if (r == 0)
		sr->zeof = 1;
	sr->zlen += (size_t)r;
	return 0;
}

static int
src_open(src *sr, int fd)
{
	sr->fd = fd;
	sr->zbuf = g_malloc(ZBUF);
	while (sr->zlen < 2 && !sr->zeof)
		if (src_fill(sr) < 0)
			return -1;
	if (sr->zlen >= 2 && (unsigned char)sr->zbuf[0] == 0x1f &&
	    (unsigned char)sr->zbuf[1] == 0x8b)
		sr->z = G_CONVERTER(g_zlib_decompressor_new(
			G_ZLIB_COMPRESSOR_FORMAT_GZIP));
	return 0;
}

static void
src_close(src *sr)
{
	if (sr->z)
		g_object_unref(sr->z);
	g_free(sr->zbuf);
}

/* Up to N bytes of the log into P: the count, 0 at the end, -1 on error
 * (message set). */
static gssize
src_read(src *sr, const char *name, char *p, size_t n)
{
	if (sr->z == NULL) {
		gssize r;

		if (sr->zpos < sr->zlen) {
			size_t k = MIN(n, sr->zlen - sr->zpos);

			memcpy(p, sr->zbuf + sr->zpos, k);
			sr->zpos += k;
			return (gssize)k;
		}
		r = raw_read(sr->fd, p, n);
		if (r < 0)
			return csip_error_set(CSIP_EIO, "%s: %s", name,
					      g_strerror(errno));
		return r;
	}
	for (;;) {
		GError *err = NULL;
		gsize rd = 0, wr = 0;
		GConverterResult res;

		if (sr->zpos == sr->zlen && !sr->zeof && src_fill(sr) < 0)
			return csip_error_set(CSIP_EIO, "%s: %s", name,
					      g_strerror(errno));
		if (sr->finished) {
			/* Another gzip member follows (cat a.gz b.gz), or
			 * the end; anything else after it is ignored, as
			 * gzip -d does. */
			if (sr->zlen - sr->zpos < 2 && !sr->zeof) {
				if (src_fill(sr) < 0)
					return csip_error_set(CSIP_EIO, "%s: "
						"%s", name, g_strerror(errno));
				continue;
			}
			if (sr->zlen - sr->zpos >= 2 &&
			    (unsigned char)sr->zbuf[sr->zpos] == 0x1f &&
			    (unsigned char)sr->zbuf[sr->zpos + 1] == 0x8b) {
				g_converter_reset(sr->z);
				sr->finished = 0;
				continue;
			}
			return 0;
		}
		res = g_converter_convert(sr->z, sr->zbuf + sr->zpos,
			sr->zlen - sr->zpos, p, n,
			sr->zeof ? G_CONVERTER_INPUT_AT_END : 0, &rd, &wr,
			&err);
		if (res == G_CONVERTER_ERROR) {
			int partial = g_error_matches(err, G_IO_ERROR,
						      G_IO_ERROR_PARTIAL_INPUT);
			int rc;

			if (partial && !sr->zeof) {
				g_error_free(err);
				if (src_fill(sr) < 0)
					return csip_error_set(CSIP_EIO, "%s: "
						"%s", name, g_strerror(errno));
				continue;
			}
			rc = csip_error_set(CSIP_EIO, "%s: %s; the gzip data "
				"is %s", name, err->message, partial ?
				"cut short (an incomplete copy?)" : "corrupt");
			g_error_free(err);
			return rc;
		}
		sr->zpos += rd;
		if (res == G_CONVERTER_FINISHED)
			sr->finished = 1;
		if (wr > 0)
			return (gssize)wr;
		if (sr->zeof && rd == 0 && res != G_CONVERTER_FINISHED)
			return csip_error_set(CSIP_EIO, "%s: the gzip data is "
				"cut short (an incomplete copy?)", name);
	}
}

typedef struct sighting_count {
	csip_sighting_fn fn;
	void *ud;
	uint64_t n;
} sighting_count;

static void
count_hit(void *ud, const csip_sighting *sg)
{
	sighting_count *c = ud;

	c->n++;
	c->fn(c->ud, sg);
}

/* Per thread, the size of the window read at a time. */
#define WINDOW (4u << 20)

int
csip_match_fd(const csip_match_set *s, csip_log_format f, int fd,
	      const char *name, int threads, csip_sighting_fn fn, void *ud,
	      csip_scan_stats *stats)
{
	size_t cap = (size_t)(threads < 1 ? 1 : threads) * WINDOW;
	char *buf = NULL;
	size_t have = 0;
	uint64_t line = 1, base = 0;
	int eof = 0, skipping = 0, rc = CSIP_OK, first = 1;
	src sr = { 0 };
	sighting_count cnt = { fn, ud, 0 };

	memset(stats, 0, sizeof(*stats));
	if (src_open(&sr, fd) < 0) {
		rc = csip_error_set(CSIP_EIO, "%s: %s", name,
				    g_strerror(errno));
		goto out;
	}
	stats->gzip = sr.z != NULL;
	buf = g_malloc(cap);
	while (!eof || have > 0) {
		size_t end;
		const char *nl;

		while (have < cap && !eof) {
			gssize r = src_read(&sr, name, buf + have, cap - have);

			if (r < 0) {
				rc = (int)r;
				eof = 1;
			} else if (r == 0) {
				eof = 1;
			} else {
				have += (size_t)r;
			}
		}
		if (first) {
			if (f == CSIP_LOG_AUTO) {
				nl = memchr(buf, '\n', have);
				f = csip_log_detect(buf, nl ? (size_t)(nl -
					buf) : have);
			}
			first = 0;
		}
		if (have == 0)
			break;
		if (skipping) {
			/* The rest of a line too long to scan. */
			nl = memchr(buf, '\n', have);
			end = nl ? (size_t)(nl - buf) + 1 : have;
			skipping = nl == NULL;
		} else {
			nl = memrchr(buf, '\n', have);
			end = nl ? (size_t)(nl - buf) + 1 : have;
			/* One line filling the window is cut (and counted
			 * as long by match_buffer()). */
			if (nl == NULL && !eof)
				skipping = 1;
			line += match_buffer(s, f, buf, end, line, base,
					     threads, count_hit, &cnt,
					     &stats->long_lines);
		}
		base += end;
		memmove(buf, buf + end, have - end);
		have -= end;
	}
out:
	stats->bytes = base;
	stats->lines = line - 1;
	stats->sightings = cnt.n;
	stats->format = f;
	src_close(&sr);
	g_free(buf);
	return rc;
}
