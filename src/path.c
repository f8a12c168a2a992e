/*
 * path.c: walking a path from "/" on file descriptors.
 *
 * Each step is openat(O_PATH | O_NOFOLLOW) relative to the directory the
 * last step opened, and fstat() of what that gave: what is checked is the
 * very directory the next step goes through, so a rename between the check
 * and the use changes nothing.  OpenSSH's safe_path() checks the same
 * owners and modes with stat() on names.  A ".." goes back by walking the
 * part already done once more from "/" (it holds no links by then).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "path.h"

#define LINKS_MAX	40

const char *
path_dir_ok(const struct stat *st, uid_t trusted)
{
	if (st->st_uid != 0 && st->st_uid != trusted)
		return "is owned by another user";
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) &&
	    !(st->st_uid == 0 && (st->st_mode & S_ISVTX)))
		return "is writable by group or others";
	return NULL;
}

/* Say why the step to name (a directory, or a link if is_link) is unsafe. */
static int
step_unsafe(const struct stat *st, uid_t trusted, int is_link,
    const char *dir, const char *name, char *why, size_t len)
{
	const char	*p;

	if (is_link)
		p = st->st_uid == 0 || st->st_uid == trusted ? NULL :
		    "is a symbolic link owned by another user";
	else
		p = path_dir_ok(st, trusted);
	if (p == NULL)
		return 0;
	snprintf(why, len, "%s%s%s %s (uid %u, mode %04o; only root or uid "
	    "%u may own it, and nobody else write to it)", dir,
	    *dir && strcmp(dir, "/") ? "/" : "", name, p, (unsigned)st->st_uid,
	    (unsigned)(st->st_mode & 07777), (unsigned)trusted);
	return 1;
}

static int
fail(int fd, int e, char *why, size_t len, const char *fmt, const char *a,
    const char *b)
{
	if (fd != -1)
		close(fd);
	snprintf(why, len, fmt, a, b, strerror(e));
	errno = e;
	return -1;
}

/*
 * The walk of path_open() and path_openat(): from dirfd, which is the
 * directory dirname (canonical: no links, no dots), or from "/" when dirfd
 * is -1 or path is absolute.
 */
static int
walk(int dirfd, const char *dirname, const char *path, uid_t trusted,
    int flags, int *unsafe, char *why, size_t len)
{
	char		 todo[2 * PATH_MAX], done[PATH_MAX], link[PATH_MAX];
	char		 name[NAME_MAX + 1];
	const char	*comp, *rest;
	struct stat	 st, st2;
	size_t		 n;
	ssize_t		 r;
	int		 fd = -1, nfd, links = 0, bad = 0, last;

	if (unsafe)
		*unsafe = 0;
	if (path[0] != '/' && dirfd == -1)
		return fail(-1, EINVAL, why, len, "%s%s: not an absolute path",
		    path, "");
	if (strlcpy(todo, path, sizeof(todo)) >= sizeof(todo))
		return fail(-1, ENAMETOOLONG, why, len, "%s%s: %s", path, "");
	if (path[0] != '/') {
		if (strlcpy(done, dirname, sizeof(done)) >= sizeof(done))
			return fail(-1, ENAMETOOLONG, why, len, "%s%s: %s",
			    dirname, "");
		if ((fd = openat(dirfd, ".", O_PATH | O_DIRECTORY |
		    O_CLOEXEC)) == -1)
			return fail(-1, errno, why, len, "%s%s: %s", dirname,
			    "");
		if (strcmp(done, "/") == 0)
			done[0] = '\0';
		goto steps;
	}
restart:
	if (fd != -1)
		close(fd);
	if ((fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1)
		return fail(fd, errno, why, len, "%s%s: %s", "/", "");
	done[0] = '\0';
	if (!bad && step_unsafe(&st, trusted, 0, "", "/", why, len))
		bad = 1;
steps:
	for (;;) {
		if (bad && unsafe == NULL) {
			close(fd);
			errno = EPERM;
			return -1;
		}
		comp = todo + strspn(todo, "/");
		n = strcspn(comp, "/");
		rest = comp + n;
		last = rest[strspn(rest, "/")] == '\0';
		if (n == 0) {
			/* The path ends at a directory ("/", or "dir/"). */
			nfd = openat(fd, ".", flags | O_CLOEXEC);
			if (nfd == -1)
				return fail(fd, errno, why, len, "%s%s: %s",
				    path, "");
			break;
		}
		if (n > NAME_MAX)
			return fail(fd, ENAMETOOLONG, why, len, "%s%s: %s",
			    path, "");
		memcpy(name, comp, n);
		name[n] = '\0';
		memmove(todo, rest, strlen(rest) + 1);
		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			/* Back to done's parent: walk it again, then on. */
			*(strrchr(done, '/') ? strrchr(done, '/') : done) = '\0';
			if (strlen(done) + strlen(todo) + 2 > sizeof(todo))
				return fail(fd, ENAMETOOLONG, why, len,
				    "%s%s: %s", path, "");
			memmove(todo + strlen(done) + 1, todo,
			    strlen(todo) + 1);
			memcpy(todo, done, strlen(done));
			todo[strlen(done)] = '/';
			goto restart;
		}
		if ((nfd = openat(fd, name, O_PATH | O_NOFOLLOW |
		    O_CLOEXEC)) == -1 || fstat(nfd, &st) == -1) {
			if (nfd != -1)
				close(nfd);
			return fail(fd, errno, why, len, "%s/%s: %s", done,
			    name);
		}
		if (S_ISLNK(st.st_mode)) {
			if (!bad && step_unsafe(&st, trusted, 1, done, name,
			    why, len))
				bad = 1;
			r = readlinkat(nfd, "", link, sizeof(link) - 1);
			close(nfd);
			if (++links > LINKS_MAX || r <= 0)
				return fail(fd, r <= 0 ? errno : ELOOP, why,
				    len, "%s/%s: %s", done, name);
			link[r] = '\0';
			if ((size_t)r + strlen(todo) + 2 > sizeof(todo))
				return fail(fd, ENAMETOOLONG, why, len,
				    "%s%s: %s", path, "");
			/* The link's text takes the place of its name. */
			memmove(todo + r + 1, todo, strlen(todo) + 1);
			memcpy(todo, link, (size_t)r);
			todo[r] = '/';
			if (link[0] == '/')
				goto restart;
			continue;
		}
		if (last) {
			if (flags == O_PATH ||
			    (flags == (O_PATH | O_DIRECTORY) && S_ISDIR(st.st_mode)))
				break;
			close(nfd);
			nfd = openat(fd, name, flags | O_NOFOLLOW | O_CLOEXEC);
			if (nfd == -1 || fstat(nfd, &st2) == -1) {
				if (nfd != -1)
					close(nfd);
				return fail(fd, errno, why, len, "%s/%s: %s",
				    done, name);
			}
			if (st2.st_dev != st.st_dev || st2.st_ino != st.st_ino) {
				close(nfd);
				return fail(fd, EAGAIN, why, len, "%s/%s: "
				    "changed while it was opened (%s)", done,
				    name);
			}
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			close(nfd);
			return fail(fd, ENOTDIR, why, len, "%s/%s: %s", done,
			    name);
		}
		if (!bad && step_unsafe(&st, trusted, 0, done, name, why, len))
			bad = 1;
		if (strlen(done) + n + 2 > sizeof(done)) {
			close(nfd);
			return fail(fd, ENAMETOOLONG, why, len, "%s%s: %s",
			    path, "");
		}
		strlcat(done, "/", sizeof(done));
		strlcat(done, name, sizeof(done));
		close(fd);
		fd = nfd;
	}
	close(fd);
	if (bad && unsafe == NULL) {
		close(nfd);
		errno = EPERM;
		return -1;
	}
	if (unsafe)
		*unsafe = bad;
	return nfd;
}

int
path_open(const char *path, uid_t trusted, int flags, int *unsafe,
    char *why, size_t len)
{
	return walk(-1, "", path, trusted, flags, unsafe, why, len);
}

int
path_openat(int dirfd, const char *dirname, const char *path, uid_t trusted,
    int flags, int *unsafe, char *why, size_t len)
{
	return walk(dirfd, dirname, path, trusted, flags, unsafe, why, len);
}

int
path_open_dir(const char *path, uid_t trusted, int *unsafe, char *why,
    size_t len)
{
	struct stat	 st;
	int		 fd;

	if ((fd = path_open(path, trusted, O_PATH | O_DIRECTORY, unsafe, why,
	    len)) == -1)
		return -1;
	if (unsafe && *unsafe)
		return fd;
	if (fstat(fd, &st) == -1)
		return fail(fd, errno, why, len, "%s%s: %s", path, "");
	if (step_unsafe(&st, trusted, 0, "", path, why, len)) {
		if (unsafe) {
			*unsafe = 1;
			return fd;
		}
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

int
path_absolute(const char *path, char *buf, size_t len)
{
	char	 cwd[PATH_MAX];
	int	 n;

	if (path[0] == '/')
		n = snprintf(buf, len, "%s", path);
	else if (getcwd(cwd, sizeof(cwd)) == NULL)
		return -1;
	else
		n = snprintf(buf, len, "%s/%s", strcmp(cwd, "/") ? cwd : "",
		    path);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
path_split(const char *path, char *buf, size_t len, const char **base)
{
	const char	*slash = strrchr(path, '/');
	size_t		 n;

	if (path[0] != '/' || slash[1] == '\0') {
		errno = EINVAL;
		return -1;
	}
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, n);
	buf[n] = '\0';
	*base = slash + 1;
	return 0;
}
