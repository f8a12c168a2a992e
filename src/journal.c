/*
 * journal.c: one file per reply, named by a hash of the correlation id.
 *
 *	hca-journal 2 LEN SUM\n
 *	{"corr_hex":"...","kind":"...","type":"...","time":N,"body":{...}}
 *
 * LEN and SUM (FNV-1a, 64 bits) cover the JSON line, so that a truncated or
 * damaged entry is recognised and treated as absent; the correlation id is
 * stored (hex, it may hold any byte) and compared, so that a hash collision
 * is never mistaken for a hit.  An entry answers only a request of the kind
 * it was written for, and only with a reply type that kind can have (its
 * success reply or ErrorV1): whatever is in the file, nothing else is sent.
 * Entries of format 1 (no kind) are not used.
 *
 * An entry is written with mode 0600 and made 0400 once the broker has
 * confirmed its reply: a redelivery of the request is then acknowledged
 * without sending the reply again.  The mode change is not synced; a crash
 * that loses it costs one duplicate reply.  An entry is written to a temporary file,
 * fsync'd, renamed into place and the directory fsync'd: a crash at any
 * instant leaves the old state or the new one, plus perhaps a temporary
 * file that the next start removes.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jv.h>

#include "journal.h"
#include "kinds.h"
#include "log.h"
#include "proc.h"
#include "util.h"

#define MAGIC		"hca-journal 2 "
#define MAGIC_ANY	"hca-journal "
#define MODE_PUBLISHED	0600		/* an entry's mode: its reply sent */
#define MODE_CONFIRMED	0400		/* and confirmed by the broker */
#define ENTRY_MAX	(72 * 1024 * 1024)

static struct {
	int	 dirfd;
	char	*dir;
	int64_t	 ttl_ms;
	size_t	 max;
} J = { -1, NULL, 0, 0 };

static uint64_t
fnv1a(const void *p, size_t n)
{
	const unsigned char	*s = p;
	uint64_t		 h = 0xcbf29ce484222325ULL;

	while (n--) {
		h ^= *s++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void
entry_name(const void *corr, size_t n, char name[32])
{
	snprintf(name, 32, "r-%016" PRIx64 ".json", fnv1a(corr, n));
}

static char *
hex(const void *p, size_t n)
{
	static const char	 digits[] = "0123456789abcdef";
	const unsigned char	*s = p;
	char			*h;
	size_t			 i;

	if ((h = malloc(2 * n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		h[2 * i] = digits[s[i] >> 4];
		h[2 * i + 1] = digits[s[i] & 15];
	}
	h[2 * n] = '\0';
	return h;
}

int
journal_open(int dirfd, const char *dir, int64_t ttl_ms, size_t max)
{
	J.dirfd = dirfd;
	if ((J.dir = strdup(dir)) == NULL) {
		close(J.dirfd);
		J.dirfd = -1;
		return -1;
	}
	J.ttl_ms = ttl_ms;
	J.max = max;
	journal_sweep();
	return 0;
}

void
journal_close(void)
{
	if (J.dirfd != -1)
		close(J.dirfd);
	J.dirfd = -1;
	free(J.dir);
	J.dir = NULL;
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t	 w;

	while (n) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
journal_put(const void *corr, size_t corrlen, const char *kind,
    const char *type, const char *body, size_t len)
{
	struct buf	 line = { NULL, 0, 0 };
	char		 name[32], tmp[64], head[96], *h;
	int		 fd = -1, e;

	entry_name(corr, corrlen, name);
	/* A name nobody can guess, made with O_EXCL: never someone's link. */
	snprintf(tmp, sizeof(tmp), ".tmp-%s-%d-%08x", name, (int)getpid(),
	    arc4random());
	if ((h = hex(corr, corrlen)) == NULL)
		return -1;
	/* kind and type are names (name_valid()): nothing to escape. */
	if (buf_append(&line, "{\"corr_hex\":\"", 13) == -1 ||
	    buf_append(&line, h, strlen(h)) == -1 ||
	    buf_append(&line, "\",\"kind\":\"", 10) == -1 ||
	    buf_append(&line, kind, strlen(kind)) == -1 ||
	    buf_append(&line, "\",\"type\":\"", 10) == -1 ||
	    buf_append(&line, type, strlen(type)) == -1)
		goto fail;
	snprintf(head, sizeof(head), "\",\"time\":%lld,\"body\":",
	    (long long)time(NULL));
	if (buf_append(&line, head, strlen(head)) == -1 ||
	    buf_append(&line, body, len) == -1 ||
	    buf_append(&line, "}\n", 2) == -1)
		goto fail;
	snprintf(head, sizeof(head), MAGIC "%zu %016" PRIx64 "\n", line.len,
	    fnv1a(line.data, line.len));

	fd = openat(J.dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, MODE_PUBLISHED);
	/* The mode is the confirmed mark: exact, whatever the umask. */
	if (fd == -1 || fchmod(fd, MODE_PUBLISHED) == -1 ||
	    write_all(fd, head, strlen(head)) == -1 ||
	    write_all(fd, line.data, line.len) == -1 || fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (renameat(J.dirfd, tmp, J.dirfd, name) == -1 || fsync(J.dirfd) == -1)
		goto fail;
	free(h);
	buf_free(&line);
	return 0;
fail:
	e = errno;
	if (fd != -1)
		close(fd);
	unlinkat(J.dirfd, tmp, 0);
	free(h);
	buf_free(&line);
	errno = e;
	return -1;
}

/* ---- claims -------------------------------------------------------- */

static void
claim_name(const void *corr, size_t n, char name[32])
{
	snprintf(name, 32, "c-%016" PRIx64 ".claim", fnv1a(corr, n));
}

/*
 * Is the owner of a claim (its text: "hca-claim 1 " and proc_self()) still
 * there?  Not if it stopped touching it; on this host, not if its process
 * is gone (or its pid is another process's now).
 */
static int
claim_live(const char *text, const struct stat *st)
{
	if (time(NULL) - st->st_mtime > CLAIM_LEASE_MS / 1000)
		return 0;
	if (strncmp(text, "hca-claim 1 ", 12) != 0)
		return 1;		/* unreadable: let the lease decide */
	return proc_alive(text + 12) != 0;	/* elsewhere: the lease */
}

enum claim
journal_claim(const void *corr, size_t corrlen)
{
	struct stat	 st;
	char		 name[32], text[600];
	ssize_t		 n;
	int		 fd, try;

	if (J.dirfd == -1)
		return CLAIM_NONE;
	claim_name(corr, corrlen, name);
	for (try = 0; try < 2; try++) {
		fd = openat(J.dirfd, name, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd != -1) {
			n = snprintf(text, sizeof(text), "hca-claim 1 %s\n",
			    proc_self());
			(void)!write(fd, text, (size_t)n);
			close(fd);
			return CLAIM_TAKEN;
		}
		if (errno != EEXIST)
			break;
		if ((fd = openat(J.dirfd, name, O_RDONLY | O_NOFOLLOW |
		    O_NONBLOCK | O_CLOEXEC)) == -1) {
			if (errno == ENOENT)
				continue;	/* just let go: try again */
			break;
		}
		n = fstat(fd, &st) == 0 ? read(fd, text, sizeof(text) - 1) : -1;
		close(fd);
		if (n < 0)
			break;
		text[n] = '\0';
		/*
		 * Ours already: another copy of the request (a resend) runs
		 * here; this one waits for its reply like any other.
		 */
		if (n >= 12 && strncmp(text, "hca-claim 1 ", 12) == 0 &&
		    strncmp(text + 12, proc_self(), strlen(proc_self())) ==
		    0)
			return CLAIM_HELD;
		if (claim_live(text, &st))
			return CLAIM_HELD;
		log_info(NULL, "journal: the claim %s/%s of an agent that is "
		    "gone is taken over", J.dir, name);
		if (unlinkat(J.dirfd, name, 0) == -1 && errno != ENOENT)
			break;
	}
	log_rated(LL_WARN, NULL, strerror(errno), "journal %s/%s: cannot "
	    "claim the request: %s", J.dir, name, strerror(errno));
	return CLAIM_NONE;
}

void
journal_claim_touch(const void *corr, size_t corrlen)
{
	char	 name[32];

	if (J.dirfd == -1)
		return;
	claim_name(corr, corrlen, name);
	(void)utimensat(J.dirfd, name, NULL, AT_SYMLINK_NOFOLLOW);
}

void
journal_unclaim(const void *corr, size_t corrlen)
{
	char	 name[32];

	if (J.dirfd == -1)
		return;
	claim_name(corr, corrlen, name);
	(void)unlinkat(J.dirfd, name, 0);
}

void
journal_confirmed(const void *corr, size_t corrlen)
{
	char	 name[32];

	if (J.dirfd == -1)
		return;
	entry_name(corr, corrlen, name);
	if (fchmodat(J.dirfd, name, MODE_CONFIRMED, 0) == -1 && errno != ENOENT)
		log_rated(LL_WARN, NULL, strerror(errno), "journal %s/%s: "
		    "marking it confirmed: %s", J.dir, name, strerror(errno));
}

/* Read a whole entry file into b; -1 if it cannot be read. */
static int
read_entry(const char *name, struct buf *b, int *confirmed)
{
	struct stat	 st;
	char		 chunk[8192];
	ssize_t		 r;
	int		 fd;

	/* Not through a link; not a FIFO that would block the loop. */
	if ((fd = openat(J.dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	*confirmed = (st.st_mode & 0777) == MODE_CONFIRMED;
	while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 || b->len > ENTRY_MAX ||
		    buf_append(b, chunk, (size_t)r) == -1) {
			close(fd);
			return -1;
		}
	}
	close(fd);
	return 0;
}

/* The reply type an entry for kind may hold, or NULL if t is none. */
static const char *
reply_type(const struct kind *k, jv t)
{
	if (jv_get_kind(t) != JV_KIND_STRING)
		return NULL;
	if (strcmp(jv_string_value(t), k->reply) == 0)
		return k->reply;
	if (strcmp(jv_string_value(t), ERROR_REPLY) == 0)
		return ERROR_REPLY;
	return NULL;
}

int
journal_get(const void *corr, size_t corrlen, const char *kind,
    const char **type, char **body, size_t *len, int *confirmed)
{
	struct buf		 b = { NULL, 0, 0 };
	const struct kind	*k;
	char			 name[32], *nl, *h = NULL;
	const char		*why = NULL;
	size_t			 n;
	uint64_t		 sum;
	jv			 v = jv_invalid(), t, c, d, ek;
	int			 found = 0;

	if (J.dirfd == -1 || kind == NULL || (k = kind_lookup(kind)) == NULL)
		return 0;
	entry_name(corr, corrlen, name);
	if (read_entry(name, &b, confirmed) == -1) {
		if (errno != ENOENT)
			log_warn(NULL, "journal %s/%s: %s", J.dir, name,
			    strerror(errno));
		buf_free(&b);
		return 0;
	}
	if (b.len >= sizeof(MAGIC) && memcmp(b.data, MAGIC, strlen(MAGIC)) &&
	    memcmp(b.data, MAGIC_ANY, strlen(MAGIC_ANY)) == 0) {
		log_info(NULL, "journal entry %s/%s is of another format "
		    "version; not used", J.dir, name);
		goto out;
	}
	if (b.len < sizeof(MAGIC) || memcmp(b.data, MAGIC, strlen(MAGIC)) ||
	    (nl = memchr(b.data, '\n', b.len)) == NULL ||
	    sscanf(b.data + strlen(MAGIC), "%zu %" SCNx64, &n, &sum) != 2 ||
	    (size_t)(b.data + b.len - (nl + 1)) != n ||
	    fnv1a(nl + 1, n) != sum) {
		why = "truncated or damaged";
		goto out;
	}
	v = json_parse(nl + 1, n);
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		why = "not a JSON object";
		goto out;
	}
	c = jv_object_get(jv_copy(v), jv_string("corr_hex"));
	ek = jv_object_get(jv_copy(v), jv_string("kind"));
	t = jv_object_get(jv_copy(v), jv_string("type"));
	d = jv_object_get(jv_copy(v), jv_string("body"));
	if (jv_get_kind(c) != JV_KIND_STRING ||
	    jv_get_kind(ek) != JV_KIND_STRING ||
	    jv_get_kind(t) != JV_KIND_STRING ||
	    jv_get_kind(d) != JV_KIND_OBJECT)
		why = "missing fields";
	else if ((h = hex(corr, corrlen)) == NULL ||
	    strcmp(jv_string_value(c), h) != 0)
		;	/* another correlation id with the same hash: not ours */
	else if (strcmp(jv_string_value(ek), kind) != 0)
		log_warn(NULL, "journal entry %s/%s is for a %s request, not "
		    "%s; not used", J.dir, name, jv_string_value(ek), kind);
	else if ((*type = reply_type(k, t)) == NULL)
		why = "of a reply type its kind does not have";
	else {
		jv s = jv_dump_string(jv_copy(d), 0);
		*len = (size_t)jv_string_length_bytes(jv_copy(s));
		if ((*body = strdup(jv_string_value(s))) != NULL)
			found = 1;
		jv_free(s);
	}
	jv_free(c);
	jv_free(ek);
	jv_free(t);
	jv_free(d);
out:
	if (why)
		log_error(NULL, "journal entry %s/%s is %s; treated as absent",
		    J.dir, name, why);
	jv_free(v);
	free(h);
	buf_free(&b);
	return found;
}

struct ent {
	char	 name[64];
	time_t	 mtime;
};

static int
by_age(const void *a, const void *b)
{
	const struct ent	*x = a, *y = b;

	return x->mtime < y->mtime ? -1 : x->mtime > y->mtime;
}

#define PROBE_MIN	(64 * 1024)	/* bytes journal_probe() writes */

int
journal_probe(size_t need)
{
	char	 tmp[64], block[4096];
	size_t	 done;
	int	 fd, e;

	snprintf(tmp, sizeof(tmp), ".tmp-probe-%d-%08x", (int)getpid(),
	    arc4random());
	memset(block, '\n', sizeof(block));
	if ((fd = openat(J.dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		return -1;
	/*
	 * Room for some entries, not one: a disk with a block to spare
	 * would let one more request through to fail again, and so on.
	 */
	if (need < PROBE_MIN)
		need = PROBE_MIN;
	for (done = 0, e = 0; done < need && e == 0; done += sizeof(block))
		e = write_all(fd, block, sizeof(block));
	if (e == -1 || fsync(fd) == -1) {
		e = errno;
		close(fd);
		unlinkat(J.dirfd, tmp, 0);
		errno = e;
		return -1;
	}
	close(fd);
	unlinkat(J.dirfd, tmp, 0);
	return 0;
}

void
journal_sweep(void)
{
	struct dirent	*de;
	struct stat	 st;
	struct ent	*ents = NULL, *n;
	size_t		 nents = 0, cap = 0, i, removed = 0;
	time_t		 now = time(NULL);
	DIR		*d;
	int		 fd;

	if (J.dirfd == -1 || (fd = dup(J.dirfd)) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "c-", 2) == 0) {
			/* a claim whose owner left it: long untouched */
			if (fstatat(J.dirfd, de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) == 0 &&
			    (now - st.st_mtime) * 1000 > 10 * CLAIM_LEASE_MS)
				unlinkat(J.dirfd, de->d_name, 0);
			continue;
		}
		if (strncmp(de->d_name, ".tmp-", 5) == 0) {
			/* a write cut short; ours are renamed at once */
			if (fstatat(J.dirfd, de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) == 0 &&
			    now - st.st_mtime > 60)
				unlinkat(J.dirfd, de->d_name, 0);
			continue;
		}
		if (strncmp(de->d_name, "r-", 2) ||
		    strlen(de->d_name) >= sizeof(n->name) ||
		    fstatat(J.dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		    -1)
			continue;
		if ((int64_t)(now - st.st_mtime) * 1000 > J.ttl_ms) {
			unlinkat(J.dirfd, de->d_name, 0);
			removed++;
			continue;
		}
		if (nents == cap) {
			cap = cap ? cap * 2 : 256;
			if ((n = reallocarray(ents, cap, sizeof(*n))) == NULL)
				break;
			ents = n;
		}
		strlcpy(ents[nents].name, de->d_name, sizeof(ents[0].name));
		ents[nents++].mtime = st.st_mtime;
	}
	closedir(d);
	if (nents > J.max) {
		qsort(ents, nents, sizeof(*ents), by_age);
		for (i = 0; i < nents - J.max; i++, removed++)
			unlinkat(J.dirfd, ents[i].name, 0);
	}
	free(ents);
	if (removed)
		log_info(NULL, "journal: %zu old entries removed", removed);
}
