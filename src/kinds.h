/*
 * kinds.h: the protocol as tables of data (hca-exec(8), RESULT MAPPING, has
 * them as tables): the request kinds and their replies, the error types of
 * ErrorV1 with the exit statuses that give them and their generic wording,
 * and the ways a hook run ends.  No other file spells a kind's or an error
 * type's name (tests/docs.bats checks); they index these tables.
 */
#ifndef HCA_KINDS_H
#define HCA_KINDS_H

#include <stdio.h>
#include <stddef.h>

#include "log.h"

struct kind {
	const char	*request;	/* AMQP type of the request */
	const char	*reply;		/* AMQP type of the success reply */
	const char	*field;		/* the one field the reply defines */
	const char	*fallback;	/* its value when the hook is silent,
					   or NULL if the hook must give it */
	int		 empty_ok;	/* an empty body is a request */
	size_t		 field_max;	/* bytes of the field; 0: no limit
					   but the message's */
	int		 needs_hook;	/* no hook: UnsupportedMessage */
};

/*
 * The rows, in order: PingV1 first (the health check sends it), then
 * ResourceAllocateV1 (what hca-portal sends unless told), then the rest of
 * the built-in ones, then the kinds that HCA_KINDS_FILE adds.  A line of
 * that file for a kind already there replaces its row in place.
 */
#define KINDS_MAX	32
extern struct kind	 kind_table[KINDS_MAX];
extern size_t		 nkinds;
#define KIND_PING	(&kind_table[0])
#define KIND_ALLOCATE	(&kind_table[1])

const struct kind	*kind_lookup(const char *);
/* The row of a kind, or KINDS_MAX (counted as "other"). */
size_t			 kind_index(const char *);

/*
 * Read a kinds file (hca-exec(8), FOLLOWING A DIFFERENT PORTAL) into the
 * table; name is the file's name for the messages.  0, or -1 with why
 * naming the file and the line.
 */
int	 kinds_read(FILE *, const char *name, char *why, size_t whylen);
#define KINDS_FILE_MAX	(1024 * 1024)	/* bytes of a kinds file */

/* Where a message's kind travels (HCA_TYPE_FROM). */
enum tf_where {
	TF_PROPERTY,		/* the AMQP type property */
	TF_HEADER,		/* a string header, name */
	TF_BODY			/* a top-level string field of the body */
};

struct typefrom {
	enum tf_where	 where;
	const char	*name;		/* of the header or the field */
};

/* Parse HCA_TYPE_FROM's value: NULL, or a sentence saying what is wrong. */
const char	*typefrom_parse(const char *, struct typefrom *);
/* NULL if the body field tf names cannot clash with a body's own fields. */
const char	*typefrom_check(const struct typefrom *);

#define ERROR_REPLY	"ErrorV1"

/* The error types hca-exec gives itself, the rows of err_table. */
enum err {
	ERR_INVALID_REQUEST,
	ERR_UNSUPPORTED_MESSAGE,
	ERR_UNSUPPORTED_RESOURCE_TYPE,
	ERR_INVALID_SPECIFICATION,
	ERR_UNKNOWN_TARGET,
	ERR_SERVICE_UNAVAILABLE,
	ERR_RESOURCE_EXISTS,
	ERR_TEMPORARY_FAILURE,
	ERR_PERMISSION_DENIED,
	ERR_CONFIGURATION_ERROR,
	ERR_HOOK_FAILED,
	ERR_TIMEOUT,
	ERR_HOOK_CRASHED,
	ERR_HOOK_PROTOCOL_ERROR,
	NERRS,
	ERR_OTHER = NERRS	/* a type a hook named that is not listed */
};

struct errtype {
	const char	*name;
	int		 exits[2];	/* exit statuses that give it; 0: none */
	const char	*generic;	/* the message when there is no other,
					   before "Please contact ..." */
};

extern const struct errtype	 err_table[NERRS];

/* The error type of a non-zero exit status: HookFailed if none is listed. */
enum err	 err_for_exit(int);
/* The row of an error type's name, or ERR_OTHER. */
enum err	 err_lookup(const char *);

/* The ways a hook run ends, as the reply, the log and the metrics see them. */
enum outcome {
	OUT_SUCCESS,		/* exit 0 */
	OUT_FAILURE,		/* another exit status */
	OUT_TEMPFAIL,		/* exit 75 */
	OUT_TIMEOUT,
	OUT_CRASHED,		/* a signal */
	OUT_TOOBIG,		/* stdout over the limit */
	OUT_EXECFAIL,		/* it could not be started */
	NOUTCOMES
};

struct outcome_info {
	const char	*class;		/* hca_hook_exits_total's label */
	enum loglevel	 level;		/* of the line that says how it ended */
	enum err	 err;		/* the reply's error type, if fixed */
};

extern const struct outcome_info outcome_table[NOUTCOMES];

#define ID_MAX		255		/* bytes of a resource id */

#endif
