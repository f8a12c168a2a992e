/*
 * path.h: opening paths that no other user can redirect.
 *
 * A file that hca-exec opens or runs is reached through directories, and
 * whoever can write one of them can swap what lies below it.  path_open()
 * walks a path from "/" one component at a time, on file descriptors, and
 * says whether every step is one that only root or one trusted user (the
 * agent's) could have made.
 */
#ifndef HCA_PATH_H
#define HCA_PATH_H

#include <sys/stat.h>
#include <sys/types.h>

#include <stddef.h>

/*
 * Open path (absolute).  Each directory on the way must be owned by root or
 * by trusted and not writable by group or others, except that a directory
 * of root's with the sticky bit (such as /tmp) may be passed, since nobody
 * can rename or remove there what is not theirs.  A symbolic link is
 * followed only if root or trusted owns it (it lies in a directory already
 * checked, so nobody else can have put it there), at most 40 of them.  The
 * last component is opened with flags | O_NOFOLLOW | O_CLOEXEC, through a
 * link that passes as above, and is not itself checked: the caller knows
 * what it must be (path_dir_ok(), for instance).
 *
 * Returns the fd, or -1 with errno set and why filled.  *unsafe, if not
 * NULL, is set when the path exists but the walk passed a step that another
 * user could have made: the fd is then returned all the same (so that the
 * caller can tell "refused" from "absent") and why says which step; with
 * unsafe NULL such a path fails with EPERM.
 */
int	 path_open(const char *path, uid_t trusted, int flags, int *unsafe,
	    char *why, size_t whylen);

/*
 * The same, for path relative to the directory dirfd, which the caller has
 * reached (and checked) as dirname (canonical: no links, no dots); links
 * and ".." that lead above it are walked from "/" again.
 */
int	 path_openat(int dirfd, const char *dirname, const char *path,
	    uid_t trusted, int flags, int *unsafe, char *why, size_t whylen);

/*
 * path_open() of a directory (O_PATH) that must itself pass as the ones on
 * the way do; unsafe as for path_open().
 */
int	 path_open_dir(const char *path, uid_t trusted, int *unsafe,
	    char *why, size_t whylen);

/* NULL if st (a directory) may be walked through, as above; else why not. */
const char *path_dir_ok(const struct stat *, uid_t trusted);

/* path made absolute (the working directory before it) into buf; -1 on error. */
int	 path_absolute(const char *path, char *buf, size_t len);

/*
 * The directory part of path ("/" for "/x"), into buf; -1 (ENAMETOOLONG or
 * EINVAL for a path that is not absolute or ends in "/") on error.  *base is
 * set to the last component, within path.
 */
int	 path_split(const char *path, char *buf, size_t len, const char **base);

#endif
