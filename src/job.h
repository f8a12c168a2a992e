/*
 * job.h: one request from arrival to reply: validation, hook resolution,
 * the hook's environment, retries after EX_TEMPFAIL and the result
 * mapping.  The daemon and the offline mode both use this one path.
 */
#ifndef HCA_JOB_H
#define HCA_JOB_H

#include <stddef.h>

#include "conf.h"
#include "request.h"
#include "result.h"

/* The delay before a retry doubles up to this. */
#define RETRY_DELAY_MAX	(15 * 60 * 1000)

struct job;
/*
 * Called once, from the loop, with the reply; the job and the reply are
 * freed when it returns.  A reply may be deferred instead (reply.deferred,
 * only for a deferrable request): a hook could not be started for want of
 * descriptors, processes or memory (EMFILE, ENFILE, EAGAIN, ENOMEM); the
 * caller may start the request again later.
 */
typedef void	 job_done_fn(const struct reply *, void *arg);

/*
 * The request is lent: it belongs to the caller, and must stay as it is
 * until done is called.
 */
struct job	*job_start(const struct conf *, const struct request *,
		    job_done_fn *, void *);
/* Terminate every running hook (shutdown); their jobs still reply. */
void		 jobs_terminate(void);

#endif
