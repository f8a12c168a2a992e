/*
 * result.h: turning a hook's exit status and stdout into the reply
 * (hca-exec(8), RESULT MAPPING).
 */
#ifndef HCA_RESULT_H
#define HCA_RESULT_H

#include <jv.h>

#include "hook.h"
#include "kinds.h"
#include "log.h"

#define EX_TEMPFAIL_CODE	75
#define MESSAGE_MAX		1000	/* characters of an error message */

struct reply {
	const char	*type;		/* AMQP type: kind->reply or ErrorV1 */
	int		 error;		/* type is ErrorV1 */
	enum err	 err;		/* and its error type's row */
	const char	*etype;		/* and its name (body holds it) */
	jv		 body;		/* a JSON object */
	int		 deferred;	/* no reply: the hook could not start
					   for a shortage; try again later */
	int		 counted;	/* its row in the metrics */
};

/* ErrorV1 with this type and message (message NULL: the generic one). */
void	 reply_error(struct reply *, enum err, const char *message,
	    const char *corr);
/* A success reply of kind k with its field's value. */
void	 reply_success(struct reply *, const struct kind *k, jv value);
/* How a hook run ended, in the protocol's terms. */
enum outcome	 hook_outcome(const struct hook_result *);
/* The reply a finished hook run gives. */
void	 result_map(const struct kind *, const struct hook_result *,
	    const char *corr, const struct logctx *, struct reply *);
void	 reply_free(struct reply *);
/*
 * A reply body (consumed) as it goes out: for HCA_TYPE_FROM=body:FIELD with
 * its kind in FIELD (typefrom_check() keeps FIELD apart from the reply's own).
 */
jv	 reply_wire_body(jv body, const char *type, const struct typefrom *);

#endif
