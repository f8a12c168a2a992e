/*
 * log.c: structured logging.
 *
 * key=value:	ts=2026-11-24T10:00:00.123Z level=info corr=42 kind=PingV1 msg="..."
 * json:	{"ts":"...","level":"info","corr":"42","kind":"KIND","msg":"..."}
 *
 * Values are escaped so that a line is always one line, whatever a hook or a
 * sender put into them.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "path.h"
#include "util.h"

static const char *const level_names[] = { "error", "warn", "info", "debug" };

static struct {
	enum loglevel	 level;
	int		 json;
	int		 fd;
	char		*path;
} lg = { LL_INFO, 0, STDERR_FILENO, NULL };

int
log_level_parse(const char *s)
{
	size_t	 i;

	/* "warning" and upper case too: syslog's and Python's spellings. */
	if (strcasecmp(s, "warning") == 0)
		return LL_WARN;
	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return (int)i;
	return -1;
}

void
log_init(enum loglevel level, int json)
{
	lg.level = level;
	lg.json = json;
}

int
log_enabled(enum loglevel level)
{
	return level <= lg.level;
}

/*
 * The descriptor that /dev/stdout, /dev/stderr or /dev/fd/N (or
 * /proc/self/fd/N) names, or -1: these are the agent's own descriptors,
 * and the kernel's links to them cannot be walked as text.
 */
static int
own_fd(const char *path)
{
	const char	*n = NULL;
	char		*end;
	long		 fd;

	if (strcmp(path, "/dev/stdout") == 0)
		return STDOUT_FILENO;
	if (strcmp(path, "/dev/stderr") == 0)
		return STDERR_FILENO;
	if (strncmp(path, "/dev/fd/", 8) == 0)
		n = path + 8;
	else if (strncmp(path, "/proc/self/fd/", 14) == 0)
		n = path + 14;
	if (n == NULL || *n < '0' || *n > '9')
		return -1;
	fd = strtol(n, &end, 10);
	return *end == '\0' && fd <= INT_MAX ? (int)fd : -1;
}

/*
 * Open the log file (absolute) for appending, as whoever we are now (the
 * agent's user, once privileges are dropped).  Its directory is reached by
 * path_open_dir(), through directories and links that only root or we
 * could have made, so that nobody else can point it elsewhere; so is the
 * file if it is a link.  A missing file is made there, never through a
 * link.  It must be ours or root's, whatever its type: a FIFO another user
 * left in /tmp could hold up every write.  Opened without blocking, so that
 * a FIFO without a reader does not hang the start; writes block as they do
 * on stderr.
 */
static int
log_openfd(const char *path, char *why, size_t len)
{
	char		 dir[PATH_MAX];
	const char	*base;
	struct stat	 st;
	int		 dfd, fd;

	if ((fd = own_fd(path)) != -1) {
		/* Inherited: whatever it is (a pipe, journald's socket). */
		if ((fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) == -1)
			snprintf(why, len, "%s", strerror(errno));
		return fd;
	} else {
		if (path_split(path, dir, sizeof(dir), &base) == -1) {
			snprintf(why, len, "not a file name");
			return -1;
		}
		if ((dfd = path_open_dir(dir, geteuid(), NULL, why, len)) == -1)
			return -1;
		fd = openat(dfd, base, O_WRONLY | O_APPEND | O_NONBLOCK |
		    O_NOFOLLOW | O_CLOEXEC);
		if (fd == -1 && errno == ELOOP)	/* a link: ours or root's? */
			fd = path_openat(dfd, dir, base, geteuid(), O_WRONLY |
			    O_APPEND | O_NONBLOCK, NULL, why, len);
		else if (fd == -1 && errno == ENOENT &&
		    (fd = openat(dfd, base, O_WRONLY | O_APPEND | O_CREAT |
		    O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640)) == -1)
			snprintf(why, len, "%s", strerror(errno));
		else if (fd == -1)
			snprintf(why, len, "%s", strerror(errno));
		close(dfd);
		if (fd == -1)
			return -1;
	}
	if (fstat(fd, &st) == -1 || fcntl(fd, F_SETFL, O_APPEND) == -1) {
		snprintf(why, len, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	if ((st.st_uid != 0 && st.st_uid != geteuid()) ||
	    (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode) &&
	    !S_ISFIFO(st.st_mode))) {
		snprintf(why, len, "is not a file of root's or uid %u",
		    (unsigned)geteuid());
		close(fd);
		return -1;
	}
	return fd;
}

int
log_open(const char *path, char *why, size_t len)
{
	char	 abs[PATH_MAX];
	int	 fd;

	if (path == NULL)
		return 0;
	if (path_absolute(path, abs, sizeof(abs)) == -1) {
		snprintf(why, len, "%s", strerror(errno));
		return -1;
	}
	if ((fd = log_openfd(abs, why, len)) == -1)
		return -1;
	if ((lg.path = strdup(abs)) == NULL) {
		snprintf(why, len, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	lg.fd = fd;
	return 0;
}

/* SIGHUP: reopen the log file after rotation. */
int
log_reopen(char *why, size_t len)
{
	int	 fd;

	if (lg.path == NULL)
		return 0;
	if ((fd = log_openfd(lg.path, why, len)) == -1)
		return -1;
	close(lg.fd);
	lg.fd = fd;
	return 0;
}

/*
 * Append s as a value: JSON string, or key=value value (quoted when it holds
 * anything but plain characters).  Control characters (C0, DEL and C1) are
 * escaped; bytes that are not UTF-8 become \xNN (key=value) or U+FFFD
 * (JSON).
 */
static void
put_value(struct buf *b, const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, l;
	int			 quote = lg.json || n == 0;
	char			 tmp[16];

	for (i = 0; i < n && !quote; i++)
		if (p[i] <= ' ' || p[i] == '"' || p[i] == '=' ||
		    p[i] == '\\' || p[i] >= 0x7f)
			quote = 1;
	if (quote)
		buf_append(b, "\"", 1);
	for (i = 0; i < n; i += l) {
		l = 1;
		if (p[i] == '"' || p[i] == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)p[i];
			buf_append(b, tmp, 2);
		} else if (p[i] == '\n') {
			buf_append(b, "\\n", 2);
		} else if (p[i] == '\t') {
			buf_append(b, "\\t", 2);
		} else if (p[i] < 0x20 || p[i] == 0x7f) {
			snprintf(tmp, sizeof(tmp), lg.json ? "\\u%04x" :
			    "\\x%02x", p[i]);
			buf_append(b, tmp, strlen(tmp));
		} else if (p[i] < 0x80) {
			buf_append(b, p + i, 1);
		} else if (p[i] == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 &&
		    p[i + 1] < 0xa0) {
			/* C1 controls, U+0080 to U+009F: NEL breaks lines. */
			l = 2;
			if (lg.json)
				snprintf(tmp, sizeof(tmp), "\\u%04x", p[i + 1]);
			else
				snprintf(tmp, sizeof(tmp), "\\x%02x\\x%02x",
				    p[i], p[i + 1]);
			buf_append(b, tmp, strlen(tmp));
		} else {
			l = utf8_prefix((const char *)p + i, n - i, 1);
			if (utf8_valid(p + i, l)) {
				buf_append(b, p + i, l);
			} else {
				l = 1;
				if (lg.json)
					buf_append(b, "\\ufffd", 6);
				else {
					snprintf(tmp, sizeof(tmp), "\\x%02x",
					    p[i]);
					buf_append(b, tmp, 4);
				}
			}
		}
	}
	if (quote)
		buf_append(b, "\"", 1);
}

static void
put_field(struct buf *b, const char *key, const char *val, size_t n)
{
	if (lg.json) {
		buf_append(b, b->len > 1 ? ",\"" : "\"", b->len > 1 ? 2 : 1);
		buf_append(b, key, strlen(key));
		buf_append(b, "\":", 2);
	} else {
		if (b->len)
			buf_append(b, " ", 1);
		buf_append(b, key, strlen(key));
		buf_append(b, "=", 1);
	}
	put_value(b, val, n);
}

/*
 * Write one line; the bytes it took in the log.  errno is as it was, so
 * that a caller can log a failure and then act on its errno.
 */
static size_t
emit(enum loglevel level, const struct logctx *c, const char *msg, size_t n)
{
	struct buf	 b = { NULL, 0, 0 };
	struct timespec	 ts;
	struct tm	 tm;
	char		 t[40];
	size_t		 off;
	ssize_t		 w;
	int		 saved = errno;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(t + strlen(t), sizeof(t) - strlen(t), ".%03ldZ",
	    ts.tv_nsec / 1000000);

	if (lg.json)
		buf_append(&b, "{", 1);
	put_field(&b, "ts", t, strlen(t));
	put_field(&b, "level", level_names[level], strlen(level_names[level]));
	if (c && c->corr)
		put_field(&b, "corr", c->corr, strlen(c->corr));
	if (c && c->kind)
		put_field(&b, "kind", c->kind, strlen(c->kind));
	put_field(&b, "msg", msg, n);
	if (lg.json)
		buf_append(&b, "}", 1);
	if (buf_append(&b, "\n", 1) == -1) {
		buf_free(&b);
		errno = saved;
		return 0;
	}
	/* One write per line, so that concurrent writers do not interleave. */
	for (off = 0; off < b.len; off += (size_t)w)
		if ((w = write(lg.fd, b.data + off, b.len - off)) <= 0 &&
		    errno != EINTR)
			break;
		else if (w < 0)
			w = 0;
	buf_free(&b);
	errno = saved;
	return off;
}

static void __attribute__((noreturn))
vfatal(int e, const char *fmt, va_list ap)
{
	fputs("hca-exec: ", stderr);
	vfprintf(stderr, fmt, ap);
	if (e)
		fprintf(stderr, ": %s", strerror(e));
	fputc('\n', stderr);
	exit(2);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 e = errno;

	va_start(ap, fmt);
	vfatal(e, fmt, ap);	/* errno 0: the message alone */
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vfatal(0, fmt, ap);
}

/* fmt into msg: its length, cut (not lost) when long, or -1. */
static int
format(char *msg, size_t size, const char *fmt, va_list ap)
{
	int	 n = vsnprintf(msg, size, fmt, ap);

	if (n >= 0 && (size_t)n >= size)
		n = (int)size - 1;
	return n;
}

void
logmsg(enum loglevel level, const struct logctx *c, const char *fmt, ...)
{
	char	 msg[2048];
	va_list	 ap;
	int	 n;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	n = format(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n >= 0)
		emit(level, c, msg, (size_t)n);
}

/* ---- repeated lines ------------------------------------------------ */

#define RATED_SLOTS	32

static struct rated {
	const char	*fmt;		/* the event; NULL: a free slot */
	char		 cause[128];
	int64_t		 since;		/* the window began (now_ms()) */
	unsigned	 held;		/* lines not written in it */
	enum loglevel	 level;
	char		 last[1024];	/* the last one held back */
	char		 corr[160], kind[64];	/* and what it was about */
} rated[RATED_SLOTS];

/* The summary of a window: its last line, and how many were held. */
static void
rated_summary(struct rated *r, int64_t now)
{
	struct logctx	 c = { r->corr[0] ? r->corr : NULL,
			      r->kind[0] ? r->kind : NULL };
	char		 msg[sizeof(r->last) + 80];
	int		 n;

	n = snprintf(msg, sizeof(msg), "%s (%u more time%s in the last "
	    "%lld s)", r->last, r->held, r->held == 1 ? "" : "s",
	    (long long)((now - r->since + 500) / 1000));
	if (n > 0)
		emit(r->level, &c, msg, (size_t)n < sizeof(msg) ? (size_t)n :
		    sizeof(msg) - 1);
	r->held = 0;
	r->since = now;
}

/* A window that is over: its summary, or the slot freed if it held none. */
static void
rated_due(struct rated *r, int64_t now)
{
	if (r->fmt == NULL || now - r->since < LOG_RATE_MS)
		return;
	if (r->held)
		rated_summary(r, now);
	else
		r->fmt = NULL;
}

void
log_rated(enum loglevel level, const struct logctx *c, const char *cause,
    const char *fmt, ...)
{
	struct rated	*r = NULL, *freed = NULL;
	char		 msg[2048];
	int64_t		 now = now_ms();
	va_list		 ap;
	size_t		 i;
	int		 n;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	n = format(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (cause == NULL)
		cause = "";
	for (i = 0; i < RATED_SLOTS && r == NULL; i++) {
		rated_due(&rated[i], now);
		if (rated[i].fmt == fmt &&
		    strncmp(rated[i].cause, cause, sizeof(rated[i].cause) - 1)
		    == 0)
			r = &rated[i];
		else if (rated[i].fmt == NULL && freed == NULL)
			freed = &rated[i];
	}
	if (r && r->fmt) {
		/* Within its window: counted, and kept for the summary. */
		r->held++;
		strlcpy(r->last, msg, sizeof(r->last));
		strlcpy(r->corr, c && c->corr ? c->corr : "", sizeof(r->corr));
		strlcpy(r->kind, c && c->kind ? c->kind : "", sizeof(r->kind));
		return;
	}
	if (r == NULL)
		r = freed;
	emit(level, c, msg, (size_t)n);
	if (r == NULL)
		return;		/* every slot busy: written, not counted */
	r->fmt = fmt;
	strlcpy(r->cause, cause, sizeof(r->cause));
	r->since = now;
	r->held = 0;
	r->level = level;
}

int64_t
log_rated_flush(void)
{
	int64_t		 now = now_ms(), next = -1, d;
	size_t		 i;

	for (i = 0; i < RATED_SLOTS; i++) {
		rated_due(&rated[i], now);
		if (rated[i].fmt == NULL)
			continue;
		d = rated[i].since + LOG_RATE_MS - now;
		if (next == -1 || d < next)
			next = d;
	}
	return next;
}

void
log_rated_end(void)
{
	size_t	 i;

	for (i = 0; i < RATED_SLOTS; i++) {
		if (rated[i].fmt && rated[i].held)
			rated_summary(&rated[i], now_ms());
		rated[i].fmt = NULL;
	}
}

size_t
logbytes(enum loglevel level, const struct logctx *c, const char *prefix,
    const char *s, size_t n)
{
	struct buf	 b = { NULL, 0, 0 };
	size_t		 w = 0;

	if (!log_enabled(level))
		return 0;
	if (buf_append(&b, prefix, strlen(prefix)) == 0 &&
	    buf_append(&b, s, n) == 0)
		w = emit(level, c, b.data, b.len);
	buf_free(&b);
	return w;
}
