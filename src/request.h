/*
 * request.h: a request as it came from the broker (or stdin), and the
 * checks that need nothing but its bytes.
 */
#ifndef HCA_REQUEST_H
#define HCA_REQUEST_H

#include <stddef.h>

#define REQUEST_TOO_LARGE "The request is larger than this service accepts."

/*
 * A request, from its frame to its ack: built by whoever received it (the
 * agent's delivery, the offline mode) and lent to the job.
 */
struct request {
	char	*kind;		/* where HCA_TYPE_FROM says; NULL if absent */
	char	*corr;		/* correlation id, exactly as received (it
				   may hold a NUL); NULL if absent */
	size_t	 corr_len;
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
/* 1 if the correlation id can be echoed into a message and a log. */
int		 request_corr_ok(const char *, size_t);
/* The correlation id as text for the log: "" if it holds a NUL. */
const char	*request_corr_text(const struct request *);
void		 request_free(struct request *);
/*
 * The kind in a body's top-level string member field (HCA_TYPE_FROM=
 * body:FIELD): a copy, or NULL if there is none (a body that is no JSON
 * object has none); NULL with *oom set if out of memory.
 */
char		*request_body_kind(const char *, size_t, const char *field,
		    int *oom);

#endif
