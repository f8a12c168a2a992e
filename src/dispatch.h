/*
 * dispatch.h: one request from arrival to reply: validation, hook
 * resolution, the hook's environment, retries after EX_TEMPFAIL and the
 * result mapping.  The daemon and the offline mode both use this one path.
 */
#ifndef HCA_DISPATCH_H
#define HCA_DISPATCH_H

#include <stddef.h>

#include "conf.h"
#include "result.h"

/* The delay before a retry doubles up to this. */
#define RETRY_DELAY_MAX	(15 * 60 * 1000)

struct request {
	char	*kind;		/* AMQP type property; NULL if absent */
	char	*corr;		/* correlation id; NULL if absent */
	char	*body;
	size_t	 body_len;
	int	 oversize;	/* body over HCA_MAX_MESSAGE, not read */
	int	 redelivered;
	int	 deferrable;	/* a shortage may defer it (the daemon) */
};

/* What hca-exec reads from a request body (all NULL when absent). */
struct request_info {
	char	*rtype;		/* "type": the resource type */
	char	*target_user;	/* target_entity.user_id_target */
	char	*target_group;	/* target_entity.group_urn_target */
};

/*
 * Check a request body: at most max bytes, UTF-8, a JSON object (or empty,
 * if empty_ok), with a valid resource type name and a well-formed
 * target_entity.  NULL and ri filled, or a sentence saying what is wrong.
 */
const char	*request_parse(const char *, size_t, size_t max, int empty_ok,
		    struct request_info *ri);
void		 request_info_free(struct request_info *);

struct job;
/*
 * Called once, from the loop, with the reply.  The job, the request and
 * the reply are freed when it returns.  A reply may be deferred instead
 * (reply.deferred, only for a deferrable request): a hook could not be
 * started for want of descriptors, processes or memory (EMFILE, ENFILE,
 * EAGAIN, ENOMEM); the callback may then take the request back (move its
 * strings out, leaving NULL) to start it again later.
 */
typedef void	 job_done_fn(struct request *, const struct reply *,
		    void *arg);

/* Takes the request's strings over (they are freed with the job). */
struct job	*job_start(const struct conf *, struct request *,
		    job_done_fn *, void *);
/* Hooks started by jobs still running, or jobs waiting to retry. */
int		 jobs_active(void);
/* Terminate every running hook (shutdown); their jobs still reply. */
void		 jobs_terminate(void);

#endif
