/*
 * ev.h: the one poll loop that owns all waiting: file descriptors, timers on
 * the monotonic clock, signals (through a signalfd) and child processes.
 */
#ifndef HCA_EV_H
#define HCA_EV_H

#include <stdint.h>
#include <sys/types.h>

typedef void	 ev_fd_fn(int fd, int revents, void *arg);
typedef void	 ev_timer_fn(void *arg);
typedef void	 ev_signal_fn(int sig, void *arg);
typedef void	 ev_child_fn(pid_t, int wstatus, void *arg);

struct ev_timer {
	int64_t		 when;		/* CLOCK_MONOTONIC ms */
	ev_timer_fn	*fn;
	void		*arg;
	int		 slot;		/* -1 when not armed */
	unsigned	 round;		/* the loop round that armed it */
};

int	 ev_init(void);
void	 ev_free(void);

int	 ev_fd_add(int fd, int events, ev_fd_fn *, void *);
void	 ev_fd_del(int fd);

void	 ev_timer_init(struct ev_timer *, ev_timer_fn *, void *);
int	 ev_timer_at(struct ev_timer *, int64_t when);
void	 ev_timer_stop(struct ev_timer *);

void	 ev_signal(int sig, ev_signal_fn *, void *);
/*
 * Watch a child: fn gets its status once it has exited, but the child stays
 * a zombie (its pid and process group number not reusable) until
 * ev_child_release().  Released before it exits, it is reaped as an orphan.
 */
int	 ev_child(pid_t, ev_child_fn *, void *);
void	 ev_child_release(pid_t);
/* Report exited children and reap orphans now (also done on SIGCHLD). */
void	 ev_reap(void);

/* One round: wait at most max_ms (-1: until something happens), dispatch. */
int	 ev_run_once(int64_t max_ms);

#endif
