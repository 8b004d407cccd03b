/*
 * match_tail.c - following a log as it grows (see match_tail.h).
 *
 * Polling, as `tail -F --disable-inotify` does: the caller asks at its own
 * pace, and each poll reads to the end of the file, then compares what it
 * has read with the file's size (truncation) and the name's inode with the
 * open file's (rotation).  No inotify: it would need a loop of its own,
 * misses nothing polling misses, and is not there on every file system a
 * log may be on.  Standard input is read only when poll() says there is
 * something, so a poll never blocks.
 */
#include "lib/match_tail.h"
#include "util/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Per thread, the most read in one poll: a log that grows faster than
 * this is read over several polls, and the other logs keep their turn. */
#define WINDOW (8u << 20)

struct csip_match_tail {
	char *path;
	int is_stdin;
	int fd;              /* -1: not open */
	int known;           /* dev and ino name the file last open */
	dev_t dev;
	ino_t ino;
	uint64_t pos;        /* bytes read from the current file */
	uint64_t line;       /* number of the first line in buf */
	uint64_t base;       /* offset of buf in the current file */
	GString *buf;        /* read, not matched yet: a part of a line */
	int skipping;        /* dropping the rest of an overlong line */
	uint64_t resume_tag; /* csip_match_tail_resume()'s, checked once */
	char *predecessor;   /* the renamed file read to its end, when the
			      * log was rotated while not followed */
	int in_predecessor;  /* still reading it */
	int missing;         /* CSIP_TAIL_MISSING was reported */
	int ended;
	int threads;
	size_t budget;
	csip_match_tail_stats st;
};

typedef struct counter {
	csip_sighting_fn fn;
	void *ud;
	csip_match_tail *t;
} counter;

static void
count_hit(void *ud, const csip_sighting *sg)
{
	counter *c = ud;

	c->t->st.sightings++;
	c->fn(c->ud, sg);
}

csip_match_tail *
csip_match_tail_new(const char *path, csip_log_format f, int threads)
{
	csip_match_tail *t = g_new0(csip_match_tail, 1);

	t->path = g_strdup(path);
	t->is_stdin = strcmp(path, "-") == 0;
	t->fd = -1;
	t->line = 1;
	t->buf = g_string_new(NULL);
	t->threads = threads < 1 ? 1 : threads;
	t->budget = (size_t)t->threads * WINDOW;
	t->st.format = f;
	return t;
}

void
csip_match_tail_free(csip_match_tail *t)
{
	if (t == NULL)
		return;
	if (t->fd >= 0 && !t->is_stdin)
		close(t->fd);
	g_string_free(t->buf, TRUE);
	g_free(t->predecessor);
	g_free(t->path);
	g_free(t);
}

int
csip_match_tail_ended(const csip_match_tail *t)
{
	return t->ended;
}

const csip_match_tail_stats *
csip_match_tail_stats_of(const csip_match_tail *t)
{
	return &t->st;
}

const char *
csip_match_tail_predecessor(const csip_match_tail *t)
{
	return t->predecessor;
}

/* FNV-1a of the (up to) TAG_BYTES bytes of FD before OFF, and OFF;
 * 0 when they cannot be read. */
#define TAG_BYTES 256
static uint64_t
tag_of(int fd, uint64_t off)
{
	unsigned char b[TAG_BYTES];
	size_t want = (size_t)MIN(off, (uint64_t)TAG_BYTES);
	uint64_t h = 14695981039346656037ull ^ off;

	if (want && pread(fd, b, want, (off_t)(off - want)) != (ssize_t)want)
		return 0;
	for (size_t i = 0; i < want; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h ? h : 1;
}

int
csip_match_tail_position(const csip_match_tail *t, csip_tail_pos *p)
{
	uint64_t tag;

	if (t->is_stdin || !t->known || t->fd < 0 ||
	    (tag = tag_of(t->fd, t->base)) == 0)
		return 0;
	p->dev = (uint64_t)t->dev;
	p->ino = (uint64_t)t->ino;
	p->offset = t->base;
	p->line = t->line;
	p->tag = tag;
	p->skipping = t->skipping;
	return 1;
}

void
csip_match_tail_resume(csip_match_tail *t, const csip_tail_pos *p)
{
	if (t->is_stdin || t->fd >= 0 || p->line == 0)
		return;
	/* open_log() goes on from pos when the file is the one known and
	 * the bytes before pos are those tagged. */
	t->known = 1;
	t->dev = (dev_t)p->dev;
	t->ino = (ino_t)p->ino;
	t->pos = t->base = p->offset;
	t->line = p->line;
	t->skipping = p->skipping;
	t->resume_tag = p->tag;
}

/* Start the file anew: its first line at its first byte. */
static void
restart(csip_match_tail *t)
{
	t->pos = 0;
	t->base = 0;
	t->line = 1;
	t->skipping = 0;
	g_string_truncate(t->buf, 0);
}

/* Match the complete lines of t->buf, and with FINAL the last one too. */
static void
consume(csip_match_tail *t, const csip_match_set *s, int final, counter *c)
{
	const char *b = t->buf->str, *nl;
	size_t have = t->buf->len, end;
	uint64_t n;

	if (have == 0)
		return;
	if (t->st.format == CSIP_LOG_AUTO) {
		nl = memchr(b, '\n', have);
		if (nl == NULL && !final && have < CSIP_MATCH_MAX_LINE)
			return;
		t->st.format = csip_log_detect(b, nl ? (size_t)(nl - b) : have);
	}
	if (t->skipping) {
		/* The rest of a line too long to scan. */
		nl = memchr(b, '\n', have);
		end = nl ? (size_t)(nl - b) + 1 : have;
		t->skipping = nl == NULL;
	} else {
		nl = memrchr(b, '\n', have);
		if (nl) {
			end = (size_t)(nl - b) + 1;
		} else if (final || have >= CSIP_MATCH_MAX_LINE) {
			/* One line filling the window is cut, as
			 * csip_match_fd() does. */
			end = have;
			if (!final) {
				t->skipping = 1;
				t->st.long_lines++;
			}
		} else {
			return;
		}
		n = csip_match_buffer_ex(s, t->st.format, b, end, t->line,
			t->base, t->threads, count_hit, c, &t->st.long_lines);
		t->line += n;
		t->st.lines += n;
	}
	t->base += end;
	g_string_erase(t->buf, 0, (gssize)end);
}

/* The log was rotated while nobody followed it: the name is another
 * file now, or none.  The file a resumed position was taken in is looked
 * for beside the log, by its device and inode (logrotate's "name.1",
 * "name-20261129" and the like, whatever the naming), and read on from
 * the position when it still has the bytes tagged there; the poll that
 * reaches its end finds the name is another file and goes on to it, as
 * for a rotation seen while following.  A predecessor compressed
 * meanwhile is another inode and is not found: the log is read from its
 * start, as before.  Returns 1 when open, 0 when not found, or an
 * error. */
static int
open_predecessor(csip_match_tail *t, unsigned *events)
{
	char *dir = g_path_get_dirname(t->path), *name = NULL;
	DIR *d = opendir(dir);
	struct dirent *e;
	struct stat st;
	int fd = -1, rc = 0;

	if (d == NULL)
		goto out;
	while (fd < 0 && (e = readdir(d)) != NULL) {
		if (e->d_ino != t->ino || strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0)
			continue;
		g_free(name);
		name = g_build_filename(dir, e->d_name, NULL);
		fd = open(name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
		    st.st_dev != t->dev || st.st_ino != t->ino ||
		    (uint64_t)st.st_size < t->pos ||
		    tag_of(fd, t->pos) != t->resume_tag)) {
			close(fd);
			fd = -1;
		}
	}
	closedir(d);
	if (fd < 0)
		goto out;
	if (lseek(fd, (off_t)t->pos, SEEK_SET) < 0) {
		rc = csip_error_set(CSIP_EIO, "%s: %s", name,
				    g_strerror(errno));
		close(fd);
		goto out;
	}
	t->resume_tag = 0;
	t->fd = fd;
	t->missing = 0;
	g_free(t->predecessor);
	t->predecessor = g_steal_pointer(&name);
	t->in_predecessor = 1;
	*events |= CSIP_TAIL_OPENED | CSIP_TAIL_PREDECESSOR;
	rc = 1;
out:
	g_free(name);
	g_free(dir);
	return rc;
}

/* Open the file of t->path.  Returns 1 when open, 0 when it does not
 * exist, or an error. */
static int
open_log(csip_match_tail *t, unsigned *events)
{
	struct stat st;
	unsigned char magic[2];
	int fd, rc;

	if (t->is_stdin) {
		t->fd = 0;
		return 1;
	}
	fd = open(t->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if (t->resume_tag != 0 &&
		    (rc = open_predecessor(t, events)) != 0)
			return rc;
		if (!t->missing)
			*events |= CSIP_TAIL_MISSING;
		t->missing = 1;
		return 0;
	}
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = csip_error_set(CSIP_EIO, "%s: %s; check the path of "
					"the log", t->path, g_strerror(errno));

		if (fd >= 0)
			close(fd);
		return rc;
	}
	if (pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f &&
	    magic[1] == 0x8b) {
		close(fd);
		return csip_error_set(CSIP_EINVAL, "%s is compressed with "
				      "gzip: a compressed log does not grow; "
				      "scan it without --follow", t->path);
	}
	t->missing = 0;
	*events |= CSIP_TAIL_OPENED;
	if (t->resume_tag != 0 && (st.st_dev != t->dev || st.st_ino != t->ino)
	    && (rc = open_predecessor(t, events)) != 0) {
		close(fd);
		return rc;
	}
	if (t->known && st.st_dev == t->dev && st.st_ino == t->ino &&
	    (uint64_t)st.st_size >= t->pos &&
	    (t->resume_tag == 0 || tag_of(fd, t->pos) == t->resume_tag)) {
		/* The same file again (after a read error, or renamed
		 * back): on from where it was left. */
		if (lseek(fd, (off_t)t->pos, SEEK_SET) < 0) {
			close(fd);
			return csip_error_set(CSIP_EIO, "%s: %s", t->path,
					      g_strerror(errno));
		}
	} else {
		restart(t);
	}
	t->resume_tag = 0;
	t->fd = fd;
	t->known = 1;
	t->dev = st.st_dev;
	t->ino = st.st_ino;
	return 1;
}

static void
close_log(csip_match_tail *t)
{
	if (t->fd >= 0 && !t->is_stdin)
		close(t->fd);
	t->fd = -1;
}

/* Whether standard input has something to read (or has ended). */
static int
readable(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	int r;

	do
		r = poll(&p, 1, 0);
	while (r < 0 && errno == EINTR);
	return r > 0;
}

/* Read and match up to the budget; *eof when the end was reached (for
 * standard input: nothing to read now, or the end, in *closed). */
static int
read_some(csip_match_tail *t, const csip_match_set *s, counter *c,
	  size_t *got, int *eof, int *closed)
{
	*eof = 0;
	*closed = 0;
	while (*got < t->budget) {
		size_t have = t->buf->len, want = t->budget - *got;
		ssize_t r;

		if (t->is_stdin && !readable(t->fd)) {
			*eof = 1;
			return CSIP_OK;
		}
		/* A large read, matched at once: the threads share a
		 * window, as in csip_match_fd(). */
		g_string_set_size(t->buf, have + want);
		do
			r = read(t->fd, t->buf->str + have, want);
		while (r < 0 && errno == EINTR);
		g_string_set_size(t->buf, have + (r > 0 ? (size_t)r : 0));
		if (r < 0)
			return csip_error_set(CSIP_EIO, "%s: %s", t->path,
					      g_strerror(errno));
		if (r == 0) {
			*eof = 1;
			*closed = t->is_stdin;
			return CSIP_OK;
		}
		t->pos += (uint64_t)r;
		t->st.bytes += (uint64_t)r;
		*got += (size_t)r;
		consume(t, s, 0, c);
	}
	return CSIP_OK;
}

int
csip_match_tail_poll(csip_match_tail *t, const csip_match_set *s,
		     csip_sighting_fn fn, void *ud, unsigned *events,
		     size_t *got)
{
	counter c = { fn, ud, t };
	struct stat st;
	int rc = CSIP_OK, eof, closed;

	*events = 0;
	*got = 0;
	if (!t->in_predecessor)
		g_clear_pointer(&t->predecessor, g_free);
	if (t->ended)
		goto out;
	if (t->fd < 0 && (rc = open_log(t, events)) <= 0)
		goto out;
	if ((rc = read_some(t, s, &c, got, &eof, &closed)) < 0)
		goto fail;
	if (closed) {
		/* The last line of a stream may lack its newline. */
		consume(t, s, 1, &c);
		t->ended = 1;
		*events |= CSIP_TAIL_ENDED;
		goto out;
	}
	if (!eof || t->is_stdin)
		goto out;
	if (fstat(t->fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size < t->pos) {
		/* Truncated: what was read is gone; the file starts
		 * again. */
		if (lseek(t->fd, 0, SEEK_SET) < 0) {
			rc = csip_error_set(CSIP_EIO, "%s: %s", t->path,
					    g_strerror(errno));
			goto fail;
		}
		restart(t);
		*events |= CSIP_TAIL_TRUNCATED;
		if ((rc = read_some(t, s, &c, got, &eof, &closed)) < 0)
			goto fail;
		goto out;
	}
	if (stat(t->path, &st) < 0 || (st.st_dev == t->dev &&
	    st.st_ino == t->ino))
		goto out;
	/* Rotated: what was written to the old file before the new one
	 * appeared is read first, its last line even without a newline. */
	do {
		size_t more = 0;

		if ((rc = read_some(t, s, &c, &more, &eof, &closed)) < 0)
			goto fail;
		*got += more;
	} while (!eof);
	consume(t, s, 1, &c);
	close_log(t);
	t->known = 0;
	t->in_predecessor = 0;
	*events |= CSIP_TAIL_ROTATED;
	if ((rc = open_log(t, events)) <= 0)
		goto out;
	/* The new file's first lines now, not a poll later. */
	if ((rc = read_some(t, s, &c, got, &eof, &closed)) < 0)
		goto fail;
	goto out;
fail:
	close_log(t);
out:
	return rc < 0 ? rc : CSIP_OK;
}
