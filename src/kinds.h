/*
 * kinds.h: the request kinds hca-exec answers and what their replies are,
 * as one table of data (hca-exec(8), RESULT MAPPING, has it as a table).
 */
#ifndef HCA_KINDS_H
#define HCA_KINDS_H

struct kind {
	const char	*request;	/* AMQP type of the request */
	const char	*reply;		/* AMQP type of the success reply */
	const char	*field;		/* the one field the reply defines */
	const char	*fallback;	/* its value when the hook is silent,
					   or NULL if the hook must give it */
	int		 needs_hook;	/* no hook: UnsupportedMessage */
};

const struct kind	*kind_lookup(const char *);

#define ERROR_REPLY	"ErrorV1"
#define ID_MAX		255		/* bytes of a resource id */

#endif
