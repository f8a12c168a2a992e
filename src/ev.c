/*
 * ev.c: a small poll(2) loop.
 *
 * File descriptors live in a table indexed by fd with a generation count, so
 * that an fd closed and reused by a callback within one round never receives
 * the old fd's events.  Timers are a short array scanned for the earliest;
 * a few hundred at most are armed at once (three per running hook).
 * Signals arrive on a signalfd.  On SIGCHLD, a watched child's status is
 * read with waitid(WNOWAIT) and handed to its watcher, but the child stays a
 * zombie until the watcher releases it: while it is one, its pid cannot be
 * taken by a new process, so its process group's number (the pid of a hook,
 * which leads its own group) still names that group and nobody else's when
 * the watcher signals it after the exit.  (A pidfd would not do: it signals
 * one process, not a group.)  Unwatched children (orphans re-parented to us
 * as PID 1 or subreaper) are reaped and forgotten.
 */
#include <sys/signalfd.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ev.h"
#include "log.h"
#include "util.h"

struct fdent {
	ev_fd_fn	*fn;
	void		*arg;
	int		 events;
	unsigned	 gen;
};

struct child {
	pid_t		 pid;
	ev_child_fn	*fn;
	void		*arg;
	int		 exited;	/* reported; a zombie until released */
};

#define NSIGS	65

static struct {
	struct fdent	 *fds;
	int		  nfds;		/* table size */
	struct pollfd	 *pfd;		/* one round's snapshot */
	unsigned	 *pgen;
	int		  npfd;		/* its capacity */
	unsigned	  round;
	struct ev_timer	**timers;
	int		  ntimers, captimers;
	struct child	 *children;
	int		  nchildren, capchildren;
	ev_signal_fn	 *sigfn[NSIGS];
	void		 *sigarg[NSIGS];
	int		  sigfd;
	sigset_t	  sigmask;
	int		  reap_again;	/* a zombie was released */
} ev;

static void	 ev_on_signalfd(int, int, void *);

int
ev_init(void)
{
	static const int caught[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
	struct sigaction sa;
	size_t		 i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		return -1;

	/*
	 * A signal that is ignored is discarded, blocked or not, so the
	 * signalfd would never see it; an ignored SIGCHLD moreover makes the
	 * kernel reap children itself.  Whoever started us may have left any
	 * of them ignored (nohup, some supervisors): take them back, once they
	 * are blocked, so that none can kill us in between.
	 */
	sigemptyset(&ev.sigmask);
	for (i = 0; i < sizeof(caught) / sizeof(caught[0]); i++)
		sigaddset(&ev.sigmask, caught[i]);
	if (sigprocmask(SIG_BLOCK, &ev.sigmask, NULL) == -1)
		return -1;
	sa.sa_handler = SIG_DFL;
	for (i = 0; i < sizeof(caught) / sizeof(caught[0]); i++)
		if (sigaction(caught[i], &sa, NULL) == -1)
			return -1;
	ev.sigfd = signalfd(-1, &ev.sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (ev.sigfd == -1)
		return -1;
	return ev_fd_add(ev.sigfd, POLLIN, ev_on_signalfd, NULL);
}

void
ev_free(void)
{
	if (ev.sigfd > 0) {
		ev_fd_del(ev.sigfd);
		close(ev.sigfd);
		ev.sigfd = -1;
	}
	free(ev.fds);
	free(ev.pfd);
	free(ev.pgen);
	free(ev.timers);
	free(ev.children);
	memset(&ev, 0, sizeof(ev));
}

int
ev_fd_add(int fd, int events, ev_fd_fn *fn, void *arg)
{
	struct fdent	*t;
	int		 n;

	if (fd < 0)
		return -1;
	if (fd >= ev.nfds) {
		n = fd + 32;
		if ((t = reallocarray(ev.fds, n, sizeof(*t))) == NULL)
			return -1;
		ev.fds = t;
		memset(t + ev.nfds, 0, (n - ev.nfds) * sizeof(*t));
		ev.nfds = n;
	}
	ev.fds[fd].fn = fn;
	ev.fds[fd].arg = arg;
	ev.fds[fd].events = events;
	ev.fds[fd].gen++;
	return 0;
}

void
ev_fd_del(int fd)
{
	if (fd >= 0 && fd < ev.nfds) {
		ev.fds[fd].fn = NULL;
		ev.fds[fd].gen++;
	}
}

void
ev_timer_init(struct ev_timer *t, ev_timer_fn *fn, void *arg)
{
	t->fn = fn;
	t->arg = arg;
	t->when = 0;
	t->slot = -1;
}

int
ev_timer_at(struct ev_timer *t, int64_t when)
{
	struct ev_timer	**n;
	int		  cap;

	t->when = when;
	t->round = ev.round;
	if (t->slot >= 0)
		return 0;
	if (ev.ntimers == ev.captimers) {
		cap = ev.captimers ? ev.captimers * 2 : 16;
		if ((n = reallocarray(ev.timers, cap, sizeof(*n))) == NULL)
			return -1;
		ev.timers = n;
		ev.captimers = cap;
	}
	t->slot = ev.ntimers;
	ev.timers[ev.ntimers++] = t;
	return 0;
}

void
ev_timer_stop(struct ev_timer *t)
{
	struct ev_timer	*last;

	if (t->slot < 0)
		return;
	last = ev.timers[--ev.ntimers];
	ev.timers[t->slot] = last;
	last->slot = t->slot;
	t->slot = -1;
}

void
ev_signal(int sig, ev_signal_fn *fn, void *arg)
{
	if (sig > 0 && sig < NSIGS) {
		ev.sigfn[sig] = fn;
		ev.sigarg[sig] = arg;
	}
}

int
ev_child(pid_t pid, ev_child_fn *fn, void *arg)
{
	struct child	*n;
	int		 cap;

	if (ev.nchildren == ev.capchildren) {
		cap = ev.capchildren ? ev.capchildren * 2 : 16;
		if ((n = reallocarray(ev.children, cap, sizeof(*n))) == NULL)
			return -1;
		ev.children = n;
		ev.capchildren = cap;
	}
	ev.children[ev.nchildren].pid = pid;
	ev.children[ev.nchildren].fn = fn;
	ev.children[ev.nchildren].arg = arg;
	ev.children[ev.nchildren].exited = 0;
	ev.nchildren++;
	return 0;
}

static int
child_find(pid_t pid)
{
	int	 i;

	for (i = 0; i < ev.nchildren; i++)
		if (ev.children[i].pid == pid)
			return i;
	return -1;
}

void
ev_child_release(pid_t pid)
{
	int	 i;

	if ((i = child_find(pid)) == -1)
		return;
	if (ev.children[i].exited) {
		while (waitpid(pid, NULL, WNOHANG) == -1 && errno == EINTR)
			;
		ev.reap_again = 1;	/* orphans may wait behind it */
	}
	/* Not exited: from now on an orphan like any other. */
	ev.children[i] = ev.children[--ev.nchildren];
}

/* The wait status that waitpid() would have given for si. */
static int
wstatus_of(const siginfo_t *si)
{
	switch (si->si_code) {
	case CLD_EXITED:
		return (si->si_status & 0xff) << 8;
	case CLD_DUMPED:
		return (si->si_status & 0x7f) | 0x80;
	default:
		return si->si_status & 0x7f;
	}
}

void
ev_reap(void)
{
	struct child	*c;
	siginfo_t	 si;
	int		 i;

	ev.reap_again = 0;
	/* Watched children: report, keep the zombie (see the top). */
	for (i = 0; i < ev.nchildren; i++) {
		c = &ev.children[i];
		if (c->exited)
			continue;
		si.si_pid = 0;
		if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG |
		    WNOWAIT) == -1 || si.si_pid != c->pid)
			continue;
		c->exited = 1;
		c->fn(c->pid, wstatus_of(&si), c->arg);
		i = -1;		/* the callback may have changed the table */
	}
	/*
	 * Orphans.  waitid() names the first child that has exited; a held
	 * zombie there hides those behind it until it is released.
	 */
	for (;;) {
		si.si_pid = 0;
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1) {
			if (errno == EINTR)
				continue;
			break;		/* ECHILD: no children at all */
		}
		if (si.si_pid == 0 || child_find(si.si_pid) != -1)
			break;
		while (waitpid(si.si_pid, NULL, WNOHANG) == -1 &&
		    errno == EINTR)
			;
		log_debug(NULL, "reaped orphan pid %d", (int)si.si_pid);
	}
}

static void
ev_on_signalfd(int fd, int revents, void *arg)
{
	struct signalfd_siginfo	 si;
	ssize_t			 n;
	int			 child = 0;

	(void)revents;
	(void)arg;
	while ((n = read(fd, &si, sizeof(si))) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			child = 1;
		else if (si.ssi_signo < NSIGS && ev.sigfn[si.ssi_signo])
			ev.sigfn[si.ssi_signo]((int)si.ssi_signo,
			    ev.sigarg[si.ssi_signo]);
	}
	if (child)
		ev_reap();
}

int
ev_run_once(int64_t max_ms)
{
	struct fdent	*e;
	int64_t		 now, wait = max_ms;
	struct pollfd	*p;
	unsigned	*g;
	int		 i, n, np = 0, timeout;

	if (ev.npfd < ev.nfds) {
		if ((p = reallocarray(ev.pfd, ev.nfds, sizeof(*p))) == NULL)
			return -1;
		ev.pfd = p;
		if ((g = reallocarray(ev.pgen, ev.nfds, sizeof(*g))) == NULL)
			return -1;
		ev.pgen = g;
		ev.npfd = ev.nfds;
	}
	ev.round++;
	now = now_ms();
	for (i = 0; i < ev.ntimers; i++) {
		int64_t d = ev.timers[i]->when - now;
		if (d < 0)
			d = 0;
		if (wait < 0 || d < wait)
			wait = d;
	}
	timeout = wait < 0 ? -1 : wait > 86400000 ? 86400000 : (int)wait;

	for (i = 0; i < ev.nfds; i++) {
		if (ev.fds[i].fn == NULL || ev.fds[i].events == 0)
			continue;
		ev.pfd[np].fd = i;
		ev.pfd[np].events = (short)ev.fds[i].events;
		ev.pfd[np].revents = 0;
		ev.pgen[np] = ev.fds[i].gen;
		np++;
	}
	n = poll(ev.pfd, (nfds_t)np, timeout);
	if (n == -1 && errno != EINTR)
		return -1;
	for (i = 0; n > 0 && i < np; i++) {
		if (ev.pfd[i].revents == 0)
			continue;
		e = &ev.fds[ev.pfd[i].fd];
		if (e->fn && e->gen == ev.pgen[i])
			e->fn(ev.pfd[i].fd, ev.pfd[i].revents, e->arg);
	}

	/*
	 * Fire due timers.  A callback may arm or stop others, so rescan after
	 * each; a timer armed during this round waits for the next one.
	 */
	now = now_ms();
	for (i = 0; i < ev.ntimers;) {
		struct ev_timer *t = ev.timers[i];
		if (t->when <= now && t->round != ev.round) {
			ev_timer_stop(t);
			t->fn(t->arg);
			i = 0;		/* the array may have changed */
		} else
			i++;
	}
	if (ev.reap_again)
		ev_reap();
	return 0;
}
