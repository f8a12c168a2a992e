/*
 * hook.c: resolve, check and run hook programs.
 *
 * A run is done when the hook process has exited and its stdout and stderr
 * have reached EOF, in either order.  Whether exec worked is known as soon as
 * vfork() returns (the notification pipe, read once, right then).  A
 * grandchild that keeps the pipes open after the hook has exited gets the
 * grace period, then its process group is killed and the run ends with what
 * was read.  The time limit sends SIGTERM to the whole process group, then
 * SIGKILL after the grace period.  The hook's process stays a zombie until
 * the run is over (ev.c), so that its number names its process group for
 * every signal sent to it, even after it has exited.
 *
 * Whatever a hook writes, a callback reads at most one chunk from one pipe,
 * so the loop keeps its turn: time limits, other hooks, the broker and
 * signals are served between any two reads.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <dirent.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ev.h"
#include "hook.h"
#include "log.h"
#include "path.h"
#include "util.h"

#define STDERR_LINE_MAX		4096		/* longer lines are split */
#define STDERR_LOG_MAX		(1024 * 1024)	/* log bytes a run; see below */
#define IO_CHUNK		65536		/* one read per callback */

enum phase {
	PH_RUN,			/* waiting for the deadline */
	PH_TERM,		/* SIGTERM sent; SIGKILL at the grace timer */
	PH_KILL,		/* SIGKILL sent; waiting for the exit */
	PH_LINGER		/* exited; pipes still open until the timer */
};

struct hook {
	pid_t		 pid;
	int		 fd_in, fd_out, fd_err;
	const char	*in;
	size_t		 in_len, in_off;
	struct buf	 out;
	char		 line[STDERR_LINE_MAX];	/* stderr's unfinished line */
	size_t		 line_len;
	size_t		 err_used;	/* of STDERR_LOG_MAX */
	int		 err_over;	/* used up; said so */
	size_t		 max_output;
	int		 wstatus;
	int		 exited;
	int		 exec_errno;
	enum hook_stage	 exec_stage;	/* where it failed */
	int		 timed_out, too_big;
	enum phase	 phase;
	int64_t		 started, deadline, grace;
	struct ev_timer	 timer;
	struct logctx	 log;
	hook_done_fn	*done;
	void		*arg;
};

static void	 hook_check_done(struct hook *);
static void	 hook_stderr_end(struct hook *);

/* Is st something only root or we could have written? */
static int
safe_owner(const struct stat *st)
{
	return (st->st_uid == 0 || st->st_uid == geteuid()) &&
	    (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

/*
 * HOOKS is reached by path_open() and each candidate from there by
 * path_openat(), which check every directory and link from "/" down, on
 * file descriptors, at every request.  No user but root and us can then
 * change what the candidate's path names, so the hook is executed by that
 * path (its $0 stays the path, and no descriptor of it is left open in the
 * hook, as execveat() on the checked fd would need for a #! script).  An
 * unsafe step refuses a candidate that exists; one that does not is just
 * absent.
 */
enum hook_found
hook_resolve(const char *dir, const char *kind, const char *rtype,
    char *path, size_t len, const struct logctx *lc)
{
	struct stat	 st;
	const char	*cand[3];
	char		 why[PATH_MAX + 200], hwhy[PATH_MAX + 200];
	char		 rel[2 * 129 + 2];
	int		 i, n, nc = 0, hfd, fd, unsafe, hunsafe;

	if (!name_valid(kind, strlen(kind)) ||
	    (rtype && !name_valid(rtype, strlen(rtype))))
		return HOOK_NONE;	/* callers validate; never build paths */
	if (rtype)
		cand[nc++] = rtype;
	cand[nc++] = "default";
	cand[nc++] = NULL;		/* HOOKS/T itself */

	if ((hfd = path_open_dir(dir, geteuid(), &hunsafe, hwhy,
	    sizeof(hwhy))) == -1) {
		log_warn(lc, "cannot reach the hooks directory: %s", hwhy);
		return HOOK_NONE;
	}
	for (i = 0; i < nc; i++) {
		if (cand[i])
			snprintf(rel, sizeof(rel), "%s/%s", kind, cand[i]);
		else
			snprintf(rel, sizeof(rel), "%s", kind);
		n = snprintf(path, len, "%s/%s", dir, rel);
		if (n < 0 || (size_t)n >= len)
			break;
		fd = path_openat(hfd, dir, rel, geteuid(), O_PATH, &unsafe, why,
		    sizeof(why));
		if (fd == -1) {
			if (errno != ENOENT && errno != ENOTDIR)
				log_warn(lc, "cannot check hook %s: %s", path,
				    why);
			continue;
		}
		n = fstat(fd, &st);
		close(fd);
		if (n == -1 || !S_ISREG(st.st_mode))
			continue;
		if ((st.st_mode & 0111) == 0 || access(path, X_OK) == -1) {
			log_warn(lc, "hook %s is not executable; skipped", path);
			continue;
		}
		close(hfd);
		if (!safe_owner(&st)) {
			log_error(lc, "hook %s refused: it must be owned by "
			    "root or uid %d and not group- or world-writable "
			    "(owner %d, mode %04o)", path, (int)geteuid(),
			    (int)st.st_uid, (unsigned)(st.st_mode & 07777));
			return HOOK_REFUSED;
		}
		if (hunsafe || unsafe) {
			log_error(lc, "hook %s refused: %s", path,
			    hunsafe ? hwhy : why);
			return HOOK_REFUSED;
		}
		return HOOK_FOUND;
	}
	close(hfd);
	return HOOK_NONE;
}

static void
close_fd(int *fd)
{
	if (*fd != -1) {
		ev_fd_del(*fd);
		close(*fd);
		*fd = -1;
	}
}

/*
 * Signal the hook's process group.  Its leader is not reaped before the run
 * is over (ev_child_release() in hook_finish()), so the number cannot have
 * been given to anyone else's group meanwhile.
 */
static void
hook_kill(struct hook *h, int sig)
{
	if (killpg(h->pid, sig) == -1 && errno != ESRCH)
		log_warn(&h->log, "killpg %d: %s", (int)h->pid,
		    strerror(errno));
}

/*
 * Log one line of the hook's stderr (not an empty one), and charge it to the
 * run's STDERR_LOG_MAX: what it took in the log, or what it took to read it,
 * newline included, if that is more (an empty line, or the level is off).
 */
static void
log_line(struct hook *h, const char *s, size_t n)
{
	size_t	 w = n ? logbytes(LL_INFO, &h->log, "hook: ", s, n) : 0;

	h->err_used += w > n + 1 ? w : n + 1;
}

static void
hook_finish(struct hook *h)
{
	struct hook_result	 r;

	close_fd(&h->fd_in);
	close_fd(&h->fd_out);
	close_fd(&h->fd_err);
	ev_timer_stop(&h->timer);
	/* No signal is sent after this: the zombie may go. */
	ev_child_release(h->pid);
	hook_stderr_end(h);

	memset(&r, 0, sizeof(r));
	if (h->exec_errno) {
		r.end = HOOK_EXECFAIL;
		r.code = h->exec_errno;
		r.stage = h->exec_stage;
	} else if (h->timed_out) {
		r.end = HOOK_TIMEOUT;
	} else if (h->too_big) {
		r.end = HOOK_TOOBIG;
	} else if (WIFSIGNALED(h->wstatus)) {
		r.end = HOOK_SIGNALED;
		r.code = WTERMSIG(h->wstatus);
	} else {
		r.end = HOOK_EXITED;
		r.code = WEXITSTATUS(h->wstatus);
	}
	r.out = h->out.data ? h->out.data : "";
	r.out_len = h->out.len;
	r.elapsed_ms = now_ms() - h->started;

	h->done(&r, h->arg);
	buf_free(&h->out);
	free(h);
}

static void
hook_check_done(struct hook *h)
{
	if (!h->exited)
		return;
	if (h->fd_out == -1 && h->fd_err == -1) {
		hook_finish(h);
		return;
	}
	/* Exited, but something still holds the pipes. */
	if (h->phase == PH_RUN) {
		h->phase = PH_LINGER;
		ev_timer_at(&h->timer, now_ms() + h->grace);
	} else if (h->phase == PH_KILL) {
		hook_finish(h);
	}
}

static void
hook_on_timer(void *arg)
{
	struct hook	*h = arg;

	switch (h->phase) {
	case PH_RUN:
		log_warn(&h->log, "hook pid %d over its time limit of %lld ms;"
		    " sending SIGTERM", (int)h->pid,
		    (long long)(h->deadline - h->started));
		h->timed_out = 1;
		/* FALLTHROUGH */
	case PH_LINGER:
		if (h->phase == PH_LINGER)
			log_warn(&h->log, "hook pid %d exited but its process "
			    "group keeps stdout or stderr open; killing it",
			    (int)h->pid);
		if (h->phase == PH_LINGER || h->grace == 0) {
			hook_kill(h, SIGKILL);
			h->phase = PH_KILL;
			break;
		}
		hook_kill(h, SIGTERM);
		h->phase = PH_TERM;
		ev_timer_at(&h->timer, now_ms() + h->grace);
		return;
	case PH_TERM:
		log_warn(&h->log, "hook pid %d still running %lld ms after "
		    "SIGTERM; sending SIGKILL", (int)h->pid,
		    (long long)h->grace);
		hook_kill(h, SIGKILL);
		h->phase = PH_KILL;
		break;
	case PH_KILL:
		return;
	}
	hook_check_done(h);
}

/* Stop at once: the output cap was hit, or the agent is shutting down. */
void
hook_terminate(struct hook *h)
{
	if (h->phase == PH_RUN && !h->exited) {
		hook_kill(h, h->grace ? SIGTERM : SIGKILL);
		h->phase = h->grace ? PH_TERM : PH_KILL;
		if (h->grace)
			ev_timer_at(&h->timer, now_ms() + h->grace);
	}
}

static void
hook_on_exit(pid_t pid, int wstatus, void *arg)
{
	struct hook	*h = arg;

	(void)pid;
	h->wstatus = wstatus;
	h->exited = 1;
	if (h->phase == PH_RUN)
		ev_timer_stop(&h->timer);
	hook_check_done(h);
}

static void
hook_on_stdin(int fd, int revents, void *arg)
{
	struct hook	*h = arg;
	size_t		 n;
	ssize_t		 w;

	(void)revents;
	while (h->in_off < h->in_len) {
		n = h->in_len - h->in_off;
		w = write(fd, h->in + h->in_off, n > IO_CHUNK ? IO_CHUNK : n);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			if (errno != EPIPE)
				log_warn(&h->log, "writing hook stdin: %s",
				    strerror(errno));
			else
				log_debug(&h->log, "hook closed stdin after "
				    "%zu of %zu bytes", h->in_off, h->in_len);
			break;
		}
		h->in_off += (size_t)w;
	}
	close_fd(&h->fd_in);
}

/*
 * Log what a hook wrote to stderr, line by line, looking at each byte once:
 * a line is logged from the chunk itself, and only a line cut by the end of
 * a read waits in h->line.  Once a run's lines have taken STDERR_LOG_MAX
 * bytes of log (log_line()), the rest of its stderr is read and dropped.
 */
static void
hook_stderr(struct hook *h, const char *p, size_t n)
{
	const char	*nl;
	size_t		 len, take;

	while (n && h->err_used < STDERR_LOG_MAX) {
		/* Past STDERR_LINE_MAX a line is cut anyway: look no further. */
		take = STDERR_LINE_MAX - h->line_len;
		nl = memchr(p, '\n', n < take ? n : take);
		len = nl ? (size_t)(nl - p) : n;
		if (h->line_len + len >= STDERR_LINE_MAX) {
			/* Too long for one line: log it in pieces. */
			take = STDERR_LINE_MAX - h->line_len;
			memcpy(h->line + h->line_len, p, take);
			log_line(h, h->line, STDERR_LINE_MAX);
			h->line_len = 0;
			p += take;
			n -= take;
			continue;
		}
		if (nl == NULL) {
			memcpy(h->line + h->line_len, p, len);
			h->line_len += len;
			break;
		}
		if (h->line_len) {
			memcpy(h->line + h->line_len, p, len);
			log_line(h, h->line, h->line_len + len);
			h->line_len = 0;
		} else
			log_line(h, p, len);
		p += len + 1;
		n -= len + 1;
	}
	if (n && !h->err_over) {
		h->err_over = 1;
		log_warn(&h->log, "hook stderr reached its limit of %d bytes; "
		    "the rest is not logged", STDERR_LOG_MAX);
	}
}

/* stderr is closed: its last line, if it had no newline. */
static void
hook_stderr_end(struct hook *h)
{
	if (h->err_used < STDERR_LOG_MAX)
		log_line(h, h->line, h->line_len);
	h->line_len = 0;
}

static void
hook_on_output(int fd, int revents, void *arg)
{
	struct hook	*h = arg;
	char		 chunk[IO_CHUNK];
	ssize_t		 r;
	int		 is_out = fd == h->fd_out;

	(void)revents;
	while ((r = read(fd, chunk, sizeof(chunk))) == -1 && errno == EINTR)
		;
	if (r == -1 && errno == EAGAIN)
		return;
	if (r <= 0) {
		if (r == -1)
			log_warn(&h->log, "reading hook %s: %s",
			    is_out ? "stdout" : "stderr", strerror(errno));
		if (is_out)
			close_fd(&h->fd_out);
		else {
			hook_stderr_end(h);
			close_fd(&h->fd_err);
		}
		hook_check_done(h);
		return;
	}
	if (!is_out) {
		hook_stderr(h, chunk, (size_t)r);
		return;
	}
	if (h->out.len + (size_t)r > h->max_output) {
		log_warn(&h->log, "hook stdout over %zu bytes; stopping it",
		    h->max_output);
	} else if (buf_append(&h->out, chunk, (size_t)r) == 0)
		return;
	else
		log_error(&h->log, "out of memory reading hook output");
	h->too_big = 1;
	close_fd(&h->fd_out);
	hook_terminate(h);
	hook_check_done(h);
}

/*
 * glibc keeps signals 32 and 33 for itself and will not change them, but
 * an ignored one is inherited through exec: whoever started hca-exec may
 * have ignored them.  Reset them with the system call itself (SIG_DFL
 * needs no restorer; the mask is the kernel's 8 bytes).
 */
static void
reset_reserved(int sig)
{
	struct {
		void		*handler;
		unsigned long	 flags;
		void		*restorer;
		uint64_t	 mask;
	} k = { SIG_DFL, 0, NULL, 0 };

	(void)syscall(SYS_rt_sigaction, sig, &k, NULL, sizeof(k.mask));
}

#ifndef SYS_close_range
#define SYS_close_range	436	/* the same on every architecture */
#endif

/*
 * What the child needs to know and may not find out itself, learnt once, at
 * the first hook (the agent changes neither after start-up).
 *
 * exec(2) resets caught signals but keeps ignored ones, so a hook needs only
 * those reset that the agent ignores: resetting all NSIG of them in every
 * child cost 4 % of the throughput with a trivial hook (bench/).  glibc will
 * not tell about 32 and 33: those are always reset.
 *
 * Whether close_range(2) works here (kernels before 5.9 lack it, seccomp
 * filters may refuse it): tried on a range that holds no descriptor.
 */
static char	 sig_reset[NSIG];
static int	 has_close_range;
static int	 spawn_known;

static void
spawn_init(void)
{
	struct sigaction sa;
	int		 sig;

	for (sig = 1; sig < NSIG; sig++)
		sig_reset[sig] = sigaction(sig, NULL, &sa) == -1 ||
		    sa.sa_handler == SIG_IGN;
	has_close_range = syscall(SYS_close_range, ~0U, ~0U, 0) == 0;
	spawn_known = 1;
}

/*
 * Without close_range(2): one above the highest descriptor open now, found
 * before vfork() (/proc/self/fd), so that the child closes only that many
 * one by one instead of every number up to RLIMIT_NOFILE (a million in some
 * containers: 250 ms with the agent suspended).
 */
static int
fd_bound(void)
{
	struct dirent	*de;
	DIR		*d;
	struct rlimit	 rl;
	long		 fd;
	int		 top = -1;

	if (has_close_range)
		return 0;
	if ((d = opendir("/proc/self/fd")) != NULL) {
		while ((de = readdir(d)) != NULL)
			if ((fd = strtol(de->d_name, NULL, 10)) > top &&
			    fd < INT_MAX)
				top = (int)fd;
		closedir(d);
		return top + 1;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1 << 20)
		return (int)rl.rlim_cur;
	return 1 << 20;			/* the kernel's default nr_open */
}

/*
 * Close every descriptor from lo up, in the child: close_range(2) itself,
 * not libbsd's closefrom(), which falls back to opendir() and malloc() when
 * the call fails, things a vfork child must not do; else close() each one
 * below bound (fd_bound()).
 */
static void
close_from(int lo, int bound)
{
	int	 fd;

	if (syscall(SYS_close_range, (unsigned)lo, ~0U, 0) == 0)
		return;
	for (fd = lo; fd < bound; fd++)
		(void)close(fd);
}

const char *
hook_stage_name(enum hook_stage st)
{
	switch (st) {
	case STAGE_FDS:
		return "setting up its standard input, output and error";
	case STAGE_LIMITS:
		return "setting its resource limits";
	case STAGE_CHDIR:
		return "changing to its directory";
	case STAGE_PIPE:
		return "learning whether it started";
	case STAGE_EXEC:
		break;
	}
	return "executing it";
}

/*
 * The child, between fork and exec: only async-signal-safe calls, and
 * nothing allocated.  The notification pipe is close-on-exec: EOF tells the
 * parent that exec worked, { stage, errno } which step did not (8 bytes,
 * one write under PIPE_BUF: never split).
 */
static void __attribute__((noreturn))
child(const struct hook_spec *s, int in, int out, int errfd, int note,
    int bound)
{
	struct sigaction sa;
	sigset_t	 none;
	static const int res[] = {
		RLIMIT_AS, RLIMIT_CPU, RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_CORE
	};
	struct rlimit	 rl;
	char *const	 argv[] = { (char *)s->path, NULL };
	int		 report[2], sig;
	size_t		 i;

	setsid();
	report[0] = STAGE_FDS;
	if (dup2(in, 0) == -1 || dup2(out, 1) == -1 || dup2(errfd, 2) == -1)
		goto fail;
	if (note != 3) {
		if (dup3(note, 3, O_CLOEXEC) == -1)
			goto fail;
		note = 3;
	}
	close_from(4, bound);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		if (sig_reset[sig] && sigaction(sig, &sa, NULL) == -1 &&
		    sig < SIGRTMIN)
			reset_reserved(sig);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	report[0] = STAGE_LIMITS;
	if (s->nofile && setrlimit(RLIMIT_NOFILE, s->nofile) == -1)
		goto fail;
	for (i = 0; s->rlimits && i < sizeof(res) / sizeof(res[0]); i++) {
		if (s->rlimits[i] < 0)
			continue;
		rl.rlim_cur = rl.rlim_max = s->rlimits[i] == INT64_MAX ?
		    RLIM_INFINITY : (rlim_t)s->rlimits[i];
		if (setrlimit(res[i], &rl) == -1)
			goto fail;
	}
	report[0] = STAGE_CHDIR;
	if (chdir(s->dir) == -1)
		goto fail;
	report[0] = STAGE_EXEC;
	execve(s->path, argv, s->envp);
fail:
	report[1] = errno;
	(void)!write(note, report, sizeof(report));
	_exit(127);
}

/*
 * vfork(): the child borrows our memory until its execve(), so nothing is
 * copied for it.  With fork(), every hook cost a copy of the agent's page
 * tables and copy-on-write faults in both processes, more CPU than a trivial
 * hook itself (bench/).  child() is fit for vfork(): it makes only
 * async-signal-safe calls, writes nothing but its own stack and errno, and
 * never returns; the agent has no signal handler that could run in the
 * child, and its one other thread (connecting to the broker, broker.c)
 * touches nothing the child uses.  A function of its own, so that no
 * variable of hook_start() lives across vfork().
 */
static pid_t __attribute__((noinline))
spawn(const struct hook_spec *s, int in, int out, int errfd, int note,
    int bound)
{
	pid_t	 pid;

	if ((pid = vfork()) == 0)
		child(s, in, out, errfd, note, bound);
	return pid;
}

/* pipe2() made it O_RDONLY or O_WRONLY and nothing else: no F_GETFL. */
static int
nonblock(int fd)
{
	return fcntl(fd, F_SETFL, O_NONBLOCK);
}

/*
 * Whether exec worked, known as soon as vfork() has returned: the child
 * has either exec'd (the pipe's write end closed on exec: EOF) or written
 * { stage, errno } and exited.  The read blocks only where vfork() is a
 * fork (as under valgrind), until the child gets that far.  0: it worked;
 * an errno: it did not, at *stage; -1 (errno set): the pipe could not be
 * read, so nobody knows.
 */
static int
exec_result(int fd, enum hook_stage *stage)
{
	ssize_t	 r;
	int	 report[2];

	while ((r = read(fd, report, sizeof(report))) == -1 && errno == EINTR)
		;
	if (r == -1) {
		*stage = STAGE_PIPE;
		return -1;
	}
	if (r == (ssize_t)sizeof(report)) {
		*stage = report[0] >= STAGE_EXEC && report[0] <= STAGE_CHDIR ?
		    (enum hook_stage)report[0] : STAGE_EXEC;
		return report[1] ? report[1] : EIO;
	}
	return 0;
}

struct hook *
hook_start(const struct hook_spec *s, hook_done_fn *done, void *arg)
{
	struct hook	*h;
	int		 p_in[2], p_out[2], p_err[2], p_note[2], i, e;
	int		*all[] = { p_in, p_out, p_err, p_note };

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	for (i = 0; i < 4; i++)
		all[i][0] = all[i][1] = -1;
	for (i = 0; i < 4; i++)
		if (pipe2(all[i], O_CLOEXEC) == -1)
			goto fail;
	if (nonblock(p_in[1]) == -1 || nonblock(p_out[0]) == -1 ||
	    nonblock(p_err[0]) == -1)
		goto fail;

	h->started = now_ms();
	h->deadline = h->started + s->timeout_ms;
	h->grace = s->grace_ms;
	h->in = s->in;
	h->in_len = s->in_len;
	h->max_output = s->max_output;
	h->log = s->log;
	h->done = done;
	h->arg = arg;
	h->phase = PH_RUN;
	ev_timer_init(&h->timer, hook_on_timer, h);

	if (!spawn_known)
		spawn_init();
	if ((h->pid = spawn(s, p_in[0], p_out[1], p_err[1], p_note[1],
	    fd_bound())) == -1)
		goto fail;
	close(p_in[0]);
	close(p_out[1]);
	close(p_err[1]);
	close(p_note[1]);
	if ((h->exec_errno = exec_result(p_note[0], &h->exec_stage)) == -1) {
		/* It may be running: stop it rather than answer for it blind. */
		h->exec_errno = errno;
		killpg(h->pid, SIGKILL);
	}
	close(p_note[0]);
	h->fd_in = p_in[1];
	h->fd_out = p_out[0];
	h->fd_err = p_err[0];

	if (ev_child(h->pid, hook_on_exit, h) == -1 ||
	    ev_fd_add(h->fd_out, POLLIN, hook_on_output, h) == -1 ||
	    ev_fd_add(h->fd_err, POLLIN, hook_on_output, h) == -1 ||
	    ev_timer_at(&h->timer, h->deadline) == -1) {
		/* Cannot watch it: do not leave it running unwatched. */
		e = errno;
		killpg(h->pid, SIGKILL);
		ev_child_release(h->pid);
		close_fd(&h->fd_in);
		close_fd(&h->fd_out);
		close_fd(&h->fd_err);
		ev_timer_stop(&h->timer);
		free(h);
		errno = e;
		return NULL;	/* the child is reaped as an orphan */
	}
	if (h->exec_errno)
		close_fd(&h->fd_in);
	else {
		/* Most requests fit the pipe: write now, poll for the rest. */
		hook_on_stdin(h->fd_in, 0, h);
		if (h->fd_in != -1 &&
		    ev_fd_add(h->fd_in, POLLOUT, hook_on_stdin, h) == -1)
			close_fd(&h->fd_in);
	}
	log_debug(&h->log, "hook %s started, pid %d", s->path, (int)h->pid);
	return h;

fail:
	e = errno;
	for (i = 0; i < 4; i++) {
		if (all[i][0] != -1)
			close(all[i][0]);
		if (all[i][1] != -1)
			close(all[i][1]);
	}
	free(h);
	errno = e;
	return NULL;
}

