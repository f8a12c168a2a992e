/*
 * agent.h: the daemon: requests from the broker to hooks and replies back,
 * with reconnects and a clean stop.
 */
#ifndef HCA_AGENT_H
#define HCA_AGENT_H

#include "conf.h"

/* Runs until stopped by a signal; returns the exit status. */
/* Run until stopped; state_fd: HCA_STATE_DIR opened (or -1), taken over. */
int	 agent_run(const struct conf *, int state_fd);

#endif
