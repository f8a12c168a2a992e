/*
 * status.h: the daemon's state in a small file (HCA_STATUS_FILE) that a
 * health check reads without talking to the broker: what it is doing,
 * since when, the last broker error, who wrote it and when.  Written
 * atomically on every change of state and every STATUS_TOUCH_MS.
 */
#ifndef HCA_STATUS_H
#define HCA_STATUS_H

#include <stddef.h>
#include <stdint.h>

#define STATUS_TOUCH_MS	10000	/* rewritten at least this often */
#define STATUS_STALE_S	30	/* older than this: the daemon is stuck */

enum status_state {
	ST_CONNECTING,		/* not consumed yet since the start */
	ST_CONSUMING,
	ST_RECONNECTING,	/* the connection or the consumer was lost */
	ST_STOPPING,		/* draining after SIGTERM */
	ST_STOPPED
};

/* The daemon's file (NULL: none), and what it names. */
void	 status_init(const char *path, const char *service, const char *queue);
/* A new state (error NULL: keep the last one; consuming clears it). */
void	 status_set(enum status_state, const char *error);
/* The journal cannot be written (why), or can again (NULL). */
void	 status_journal(const char *why);
/* Rewrite the file as it is, so that its age tells the daemon is alive. */
void	 status_touch(void);
/*
 * The health check: 0 if the daemon behind the file at path is consuming,
 * or has been trying to reach the broker for less than grace_ms; 1 if not.
 * Either way a sentence in why says what the file tells.
 */
int	 status_check(const char *path, int64_t grace_ms, char *why,
	    size_t whylen);

#endif
