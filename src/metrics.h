/*
 * metrics.h: counters and a hook-duration histogram per request kind, in
 * the Prometheus text format, written atomically to a file for
 * node_exporter's textfile collector (HCA_METRICS_FILE).
 */
#ifndef HCA_METRICS_H
#define HCA_METRICS_H

#include <stdint.h>

#include "hook.h"

struct reply;

void	 metrics_request(const char *kind);
/* Returns the row it was counted in, for metrics_unroutable(). */
int	 metrics_reply(const char *kind, const struct reply *);
/* A reply counted in that row came back unroutable: count it apart. */
void	 metrics_unroutable(const char *kind, int row);
void	 metrics_hook(const char *kind, const struct hook_result *);
void	 metrics_retry(const char *kind);
void	 metrics_reconnect(void);
/* The broker refused a reply (nack); its consumer_timeout fired. */
void	 metrics_nack(void);
void	 metrics_consumer_timeout(void);
/* The broker blocks publishing (1) or no longer does (0). */
void	 metrics_blocked(int);
/* A hook could not be started for want of descriptors or memory. */
void	 metrics_deferred(void);
void	 metrics_running(int);
/* A journal write failed; the journal cannot be written (1) or can (0). */
void	 metrics_journal_error(void);
void	 metrics_journal_failing(int);
/* Write the file (tmp + rename); -1 with errno on failure. */
int	 metrics_write(const char *path);

#endif
