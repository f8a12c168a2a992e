/*
 * broker.h: the AMQP connection (librabbitmq 0.11), reduced to what the
 * agent needs.  Channel 1 consumes requests with manual acks; channel 2
 * publishes replies in confirm mode, so that an error on a publish never
 * closes the consumer.  Nothing here blocks for long: broker_pump() reads
 * only what has arrived (and services heartbeats), publishes are written
 * and not waited for.
 */
#ifndef HCA_BROKER_H
#define HCA_BROKER_H

#include <stddef.h>
#include <stdint.h>

#include <amqp.h>

#include "conf.h"

struct broker;

struct broker_events {
	/*
	 * A request; the envelope is valid during the call only.  oversize:
	 * its body is larger than HCA_MAX_MESSAGE and was not read (the
	 * envelope's body is empty).
	 */
	void	(*deliver)(void *, const amqp_envelope_t *, int oversize);
	/* The broker took (ok) or refused a publish up to tag. */
	void	(*confirm)(void *, uint64_t tag, int multiple, int ok);
	/* A reply was unroutable (its reply_to queue is gone). */
	void	(*returned)(void *, const amqp_basic_properties_t *,
		    const char *why);
	/*
	 * The broker blocks publishing (an alarm), reason saying why, or
	 * unblocks it (reason NULL).
	 */
	void	(*blocked)(void *, const char *reason);
	void	 *arg;
};

enum broker_err {
	BROKER_RETRY,		/* try again later */
	BROKER_FATAL		/* will not work without a change: exit */
};

/*
 * Connect, log in, check (or declare) both queues and consume, in a thread
 * of its own: a broker that accepts and then says nothing, or answers
 * slowly, holds up nothing else.  broker_connect() starts it (NULL, errno
 * set, if it cannot); broker_connect_fd() becomes readable when it is done;
 * broker_connected() then gives the connection, or NULL with err and the
 * kind of error, and frees the attempt.  broker_connect_abandon() leaves an
 * attempt to end by itself (at exit).
 */
struct broker_connect;
struct broker_connect *broker_connect(const struct conf *);
int		 broker_connect_fd(const struct broker_connect *);
struct broker	*broker_connected(struct broker_connect *, char *err,
		    size_t errlen, enum broker_err *);
void		 broker_connect_abandon(struct broker_connect *);
int		 broker_fd(const struct broker *);
/* Milliseconds until broker_pump() must read even if poll saw nothing. */
int64_t		 broker_due(const struct broker *);
/* Frames already read from the socket and not yet handled? */
int		 broker_buffered(const struct broker *);
/*
 * Handle what has arrived; readable: poll said the socket is.  Call it after
 * every round.  -1 (err filled) if the connection is lost.
 */
int		 broker_pump(struct broker *, const struct broker_events *,
		    int readable, char *err, size_t errlen);
/*
 * Publish a reply, its kind where tf says (the body carries it already for
 * TF_BODY); *tag is its confirm tag.  -1 if the connection failed.
 */
int		 broker_publish(struct broker *, amqp_bytes_t routing_key,
		    amqp_bytes_t corr, const struct typefrom *tf,
		    const char *type, const char *body, size_t len,
		    uint64_t *tag);
int		 broker_ack(struct broker *, uint64_t delivery_tag);
int		 broker_reject(struct broker *, uint64_t delivery_tag,
		    int requeue);
/* Stop the consumer (shutdown): no new deliveries. */
int		 broker_cancel(struct broker *);
void		 broker_close(struct broker *, int graceful);

#endif
