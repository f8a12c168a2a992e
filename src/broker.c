/*
 * broker.c: librabbitmq glue.
 *
 * librabbitmq services heartbeats only inside its own wait and publish
 * calls, so the agent calls broker_pump() after every round of its poll
 * loop and caps the poll timeout at half the heartbeat.  broker_pump() reads
 * when the socket was readable, when librabbitmq holds unread frames, or at
 * least every half heartbeat, and handles every frame there with zero
 * timeouts; on plain TCP it stops once librabbitmq's buffer is empty (poll
 * tells when more comes), with TLS only when a read finds nothing (OpenSSL
 * may hold bytes that poll cannot see).  Publisher
 * confirms are read as basic.ack/basic.nack frames on channel 2 (0.11 has
 * no amqp_publisher_confirm_wait()).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <amqp.h>

#include "broker.h"
#include "client.h"
#include "log.h"
#include "util.h"

#define CH_CONSUME	1
#define CH_PUBLISH	2
#define CONNECT_MS	10000		/* TCP (and TLS) connect */
#define SETUP_MS	10000		/* handshake, each RPC */
#define CLOSE_TIMEOUT	2		/* seconds: each RPC of a close */

struct broker {
	struct client		 cl;
	char			 hello[512];	/* "connected to ..." */
	char			 consuming[512];	/* "consuming ..." */
	int			 insecure;
	amqp_bytes_t		 ctag;		/* consumer tag */
	uint64_t		 next_tag;	/* of the next publish */
	int			 heartbeat;
	int			 cancelled;
	int64_t			 next_read;	/* at the latest (ms) */
	uint64_t		 max_message;	/* bytes of a request body */
	char			*queue;		/* consumed */
};

/* A connect in its thread (broker_connect()). */
struct broker_connect {
	pthread_t		 thread;
	struct conf		 conf;		/* its own copy: see conf_copy() */
	int			 pipe[2];	/* [1]: written once, when done */
	_Atomic int		 state;		/* CONN_* */
	struct broker		*b;		/* the result, or NULL and: */
	char			 err[512];
	enum broker_err		 kind;
};

enum { CONN_RUNNING, CONN_DONE, CONN_ABANDONED };

#define RPC_OK(b, what)	do {						\
	int f_;								\
	if (client_check(&(b)->cl, (what), err, errlen, &f_) == -1) {	\
		*kind = f_ ? BROKER_FATAL : BROKER_RETRY;		\
		goto fail;						\
	}								\
} while (0)

static int
check_queue(struct broker *b, const char *q, int declare, char *err,
    size_t errlen, enum broker_err *kind)
{
	char	 what[400];

	amqp_queue_declare(b->cl.conn, CH_CONSUME, amqp_cstring_bytes(q),
	    !declare, 1, 0, 0, amqp_empty_table);
	snprintf(what, sizeof(what), declare ? "declaring queue %s" :
	    "checking queue %s (it must exist; --declare creates it on a "
	    "local broker)", q);
	RPC_OK(b, what);
	return 0;
fail:
	return -1;
}

/*
 * What the agent tells the broker it can do: be told that its consumer was
 * cancelled (a deleted queue), and that the connection is blocked (an
 * alarm).  librabbitmq adds its own capabilities to these.
 */
static amqp_table_t
capabilities(amqp_table_entry_t *caps, amqp_table_entry_t *prop)
{
	amqp_table_t	 t;

	caps[0].key = amqp_cstring_bytes("consumer_cancel_notify");
	caps[0].value.kind = AMQP_FIELD_KIND_BOOLEAN;
	caps[0].value.value.boolean = 1;
	caps[1].key = amqp_cstring_bytes("connection.blocked");
	caps[1].value.kind = AMQP_FIELD_KIND_BOOLEAN;
	caps[1].value.value.boolean = 1;
	prop[0].key = amqp_cstring_bytes("capabilities");
	prop[0].value.kind = AMQP_FIELD_KIND_TABLE;
	prop[0].value.value.table.num_entries = 2;
	prop[0].value.value.table.entries = caps;
	prop[1].key = amqp_cstring_bytes("product");
	prop[1].value.kind = AMQP_FIELD_KIND_UTF8;
	prop[1].value.value.bytes = amqp_cstring_bytes("hca-exec");
	prop[2].key = amqp_cstring_bytes("version");
	prop[2].value.kind = AMQP_FIELD_KIND_UTF8;
	prop[2].value.value.bytes = amqp_cstring_bytes(HCA_VERSION);
	t.num_entries = 3;
	t.entries = prop;
	return t;
}

/*
 * Connect, log in, check the queues, consume: everything that waits for the
 * broker, run by the connecting thread (broker_connect()).  It logs
 * nothing; what it would say goes into the broker's hello and consuming.
 */
static struct broker *
broker_open(const struct conf *c, char *err, size_t errlen,
    enum broker_err *kind)
{
	struct broker			*b;
	amqp_basic_consume_ok_t		*ok;
	amqp_table_entry_t		 caps[2], prop[3];
	amqp_table_t			 props = capabilities(caps, prop);
	struct client_conf		 cf = {
		.url = c->url, .cacert = c->cacert, .cert = c->cert,
		.key = c->key, .key_pem = c->key_pem, .key_len = c->key_len,
		.insecure = c->insecure, .heartbeat = c->heartbeat,
		.connect_ms = CONNECT_MS, .rpc_ms = SETUP_MS, .props = &props,
	};
	struct timeval			 tmo = { CLOSE_TIMEOUT, 0 };
	int				 fatal;

	*kind = BROKER_RETRY;
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (client_open(&b->cl, &cf, err, errlen, &fatal) == -1) {
		*kind = fatal ? BROKER_FATAL : BROKER_RETRY;
		goto fail;
	}
	b->insecure = c->insecure;
	snprintf(b->hello, sizeof(b->hello), "connected to %s as %s, "
	    "heartbeat %d s", b->cl.where, b->cl.user, b->cl.heartbeat);
	b->heartbeat = b->cl.heartbeat;
	b->max_message = c->max_message;

	amqp_channel_open(b->cl.conn, CH_CONSUME);
	RPC_OK(b, "opening the consumer channel");
	if (check_queue(b, c->queue_in, c->declare, err, errlen, kind) == -1 ||
	    check_queue(b, c->queue_out, c->declare, err, errlen, kind) == -1)
		goto fail;
	amqp_basic_qos(b->cl.conn, CH_CONSUME, 0, (uint16_t)c->prefetch, 0);
	RPC_OK(b, "setting the prefetch count");
	amqp_channel_open(b->cl.conn, CH_PUBLISH);
	RPC_OK(b, "opening the publisher channel");
	amqp_confirm_select(b->cl.conn, CH_PUBLISH);
	RPC_OK(b, "enabling publisher confirms");
	b->next_tag = 1;
	ok = amqp_basic_consume(b->cl.conn, CH_CONSUME,
	    amqp_cstring_bytes(c->queue_in), amqp_empty_bytes, 0, 0, 0,
	    amqp_empty_table);
	RPC_OK(b, "consuming the inbound queue");
	b->ctag = amqp_bytes_malloc_dup(ok->consumer_tag);
	snprintf(b->consuming, sizeof(b->consuming), "consuming %s, replies "
	    "to reply_to or %s, prefetch %d", c->queue_in, c->queue_out,
	    c->prefetch);
	if ((b->queue = strdup(c->queue_in)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* From here on the loop never waits for an RPC but in closing. */
	amqp_set_rpc_timeout(b->cl.conn, &tmo);
	return b;

fail:
	broker_close(b, 0);
	return NULL;
}

/*
 * What broker_open() reads of the configuration, copied for the thread: an
 * attempt left to end by itself at exit may outlive the agent's conf.
 */
static int
conf_copy(struct conf *to, const struct conf *c)
{
	memset(to, 0, sizeof(*to));
	to->heartbeat = c->heartbeat;
	to->prefetch = c->prefetch;
	to->declare = c->declare;
	to->insecure = c->insecure;
	to->max_message = c->max_message;
	to->key_len = c->key_len;
	if ((to->url = strdup(c->url)) == NULL ||
	    (to->queue_in = strdup(c->queue_in)) == NULL ||
	    (to->queue_out = strdup(c->queue_out)) == NULL ||
	    (c->cacert && (to->cacert = strdup(c->cacert)) == NULL) ||
	    (c->cert && (to->cert = strdup(c->cert)) == NULL) ||
	    (c->key && (to->key = strdup(c->key)) == NULL) ||
	    (c->key_pem && (to->key_pem = malloc(c->key_len)) == NULL))
		return -1;
	if (c->key_pem)
		memcpy(to->key_pem, c->key_pem, c->key_len);
	return 0;
}

static void
connect_free(struct broker_connect *bc)
{
	struct conf	*c = &bc->conf;

	if (c->url)
		explicit_bzero(c->url, strlen(c->url));
	if (c->key_pem)
		explicit_bzero(c->key_pem, c->key_len);
	free(c->url);
	free(c->key_pem);
	free(c->queue_in);
	free(c->queue_out);
	free(c->cacert);
	free(c->cert);
	free(c->key);
	close(bc->pipe[0]);
	close(bc->pipe[1]);
	explicit_bzero(bc->err, sizeof(bc->err));
	free(bc);
}

static void *
connect_main(void *arg)
{
	struct broker_connect	*bc = arg;
	char			 one = 1;

	bc->b = broker_open(&bc->conf, bc->err, sizeof(bc->err), &bc->kind);
	if (atomic_exchange(&bc->state, CONN_DONE) == CONN_ABANDONED) {
		/* Nobody waits for it any more. */
		broker_close(bc->b, 0);
		connect_free(bc);
		return NULL;
	}
	(void)!write(bc->pipe[1], &one, 1);
	return NULL;
}

struct broker_connect *
broker_connect(const struct conf *c)
{
	struct broker_connect	*bc;
	int			 e;

	if ((bc = calloc(1, sizeof(*bc))) == NULL)
		return NULL;
	bc->pipe[0] = bc->pipe[1] = -1;
	atomic_init(&bc->state, CONN_RUNNING);
	if (conf_copy(&bc->conf, c) == -1 ||
	    pipe2(bc->pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		e = errno;
		connect_free(bc);
		errno = e;
		return NULL;
	}
	/* It inherits the mask: the loop's signals stay the loop's. */
	if ((e = pthread_create(&bc->thread, NULL, connect_main, bc)) != 0) {
		connect_free(bc);
		errno = e;
		return NULL;
	}
	return bc;
}

int
broker_connect_fd(const struct broker_connect *bc)
{
	return bc->pipe[0];
}

struct broker *
broker_connected(struct broker_connect *bc, char *err, size_t errlen,
    enum broker_err *kind)
{
	struct broker	*b;

	pthread_join(bc->thread, NULL);	/* done: its byte came */
	if ((b = bc->b) == NULL) {
		strlcpy(err, bc->err, errlen);
		*kind = bc->kind;
	}
	connect_free(bc);
	if (b != NULL) {
		log_info(NULL, "%s", b->hello);
		if (b->insecure)
			log_warn(NULL, "--insecure: the broker's certificate "
			    "and host name are NOT verified");
		log_info(NULL, "%s", b->consuming);
	}
	return b;
}

void
broker_connect_abandon(struct broker_connect *bc)
{
	pthread_t	 t = bc->thread;	/* bc may be gone after the swap */

	if (atomic_exchange(&bc->state, CONN_ABANDONED) == CONN_DONE) {
		pthread_join(t, NULL);
		broker_close(bc->b, 0);
		connect_free(bc);
	} else
		pthread_detach(t);		/* it frees what it has */
}

int
broker_fd(const struct broker *b)
{
	return amqp_get_sockfd(b->cl.conn);
}

int
broker_buffered(const struct broker *b)
{
	return amqp_frames_enqueued(b->cl.conn) || amqp_data_in_buffer(b->cl.conn);
}

int64_t
broker_due(const struct broker *b)
{
	int64_t	 d;

	if (broker_buffered(b))
		return 0;
	d = b->next_read - now_ms();
	return d < 0 ? 0 : d;
}

/* A method frame that is not a delivery. */
static int
on_frame(struct broker *b, const struct broker_events *ev, amqp_frame_t *f,
    char *err, size_t errlen)
{
	amqp_basic_ack_t	*ack;
	amqp_basic_nack_t	*nack;
	amqp_basic_return_t	*ret;
	amqp_message_t		 msg;
	amqp_rpc_reply_t	 r;
	char			 why[300];

	if (f->frame_type != AMQP_FRAME_METHOD)
		return 0;	/* stray content of something we dropped */
	switch (f->payload.method.id) {
	case AMQP_BASIC_ACK_METHOD:
		ack = f->payload.method.decoded;
		ev->confirm(ev->arg, ack->delivery_tag, ack->multiple, 1);
		return 0;
	case AMQP_BASIC_NACK_METHOD:
		nack = f->payload.method.decoded;
		ev->confirm(ev->arg, nack->delivery_tag, nack->multiple, 0);
		return 0;
	case AMQP_BASIC_RETURN_METHOD:
		ret = f->payload.method.decoded;
		snprintf(why, sizeof(why), "%u %.*s (routing key %.*s)",
		    ret->reply_code, (int)ret->reply_text.len,
		    (char *)ret->reply_text.bytes, (int)ret->routing_key.len,
		    (char *)ret->routing_key.bytes);
		r = amqp_read_message(b->cl.conn, f->channel, &msg, 0);
		if (r.reply_type != AMQP_RESPONSE_NORMAL) {
			snprintf(err, errlen, "reading a returned message");
			return -1;
		}
		ev->returned(ev->arg, &msg.properties, why);
		amqp_destroy_message(&msg);
		return 0;
	case AMQP_BASIC_CANCEL_METHOD:
		snprintf(err, errlen, "the broker cancelled the consumer of "
		    "queue %s (deleted, or moved?); consuming again once it is "
		    "there", b->queue);
		return -1;
	case AMQP_CONNECTION_BLOCKED_METHOD: {
		amqp_connection_blocked_t *bl = f->payload.method.decoded;
		char reason[256];

		snprintf(reason, sizeof(reason), "%.*s", (int)bl->reason.len,
		    (char *)bl->reason.bytes);
		ev->blocked(ev->arg, reason);
		return 0;
	}
	case AMQP_CONNECTION_UNBLOCKED_METHOD:
		ev->blocked(ev->arg, NULL);
		return 0;
	case AMQP_CHANNEL_CLOSE_METHOD: {
		amqp_channel_close_t *cc = f->payload.method.decoded;
		snprintf(err, errlen, "the broker closed channel %u: %u %.*s",
		    f->channel, cc->reply_code, (int)cc->reply_text.len,
		    (char *)cc->reply_text.bytes);
		return -1;
	}
	case AMQP_CONNECTION_CLOSE_METHOD: {
		amqp_connection_close_t *cc = f->payload.method.decoded;
		amqp_connection_close_ok_t cok;
		snprintf(err, errlen, "the broker closed the connection: %u "
		    "%.*s", cc->reply_code, (int)cc->reply_text.len,
		    (char *)cc->reply_text.bytes);
		amqp_send_method(b->cl.conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD,
		    &cok);
		return -1;
	}
	default:
		log_debug(NULL, "ignoring AMQP method %08x on channel %u",
		    f->payload.method.id, f->channel);
		return 0;
	}
}

/*
 * The next frame of a delivery's content on channel ch, of type want;
 * frames of other channels that come between (confirms) are handled on the
 * way.  0; an error status (negative; AMQP_STATUS_BAD_AMQP_DATA: another
 * frame on ch); or 1, err filled, if handling another frame lost the
 * connection.
 */
static int
content_frame(struct broker *b, const struct broker_events *ev,
    amqp_channel_t ch, uint8_t want, amqp_frame_t *f, char *err,
    size_t errlen)
{
	int	 rc;

	for (;;) {
		if ((rc = amqp_simple_wait_frame(b->cl.conn, f)) != AMQP_STATUS_OK)
			return rc;
		if (f->channel == ch)
			return f->frame_type == want ? AMQP_STATUS_OK :
			    AMQP_STATUS_BAD_AMQP_DATA;
		if (on_frame(b, ev, f, err, errlen) == -1)
			return 1;
	}
}

/*
 * A basic.deliver arrived: read its content.  By hand rather than with
 * amqp_read_message(), so that
 * - the size the content header announces is checked before any of the body
 *   is kept: a body over HCA_MAX_MESSAGE reaches the agent as an empty one
 *   with oversize set, and its frames are then read and dropped one by one;
 * - the delivery tag is known when librabbitmq cannot decode the content
 *   (an empty header name, say): the message is then rejected without
 *   requeue, or it would come back forever and block the queue.
 * The properties are those of the decoded header frame: they live in the
 * channel's pool, which is not recycled before the callback has returned.
 */
static int
on_deliver(struct broker *b, const struct broker_events *ev, amqp_frame_t *f,
    char *err, size_t errlen)
{
	amqp_basic_deliver_t	*d = f->payload.method.decoded;
	amqp_channel_t		 ch = f->channel;
	amqp_envelope_t		 env;
	amqp_frame_t		 h, part;
	uint64_t		 size, got = 0;
	int			 rc, oversize;

	memset(&env, 0, sizeof(env));
	env.channel = ch;
	env.delivery_tag = d->delivery_tag;
	env.redelivered = d->redelivered;
	if ((rc = content_frame(b, ev, ch, AMQP_FRAME_HEADER, &h, err,
	    errlen)) != 0)
		goto undecodable;
	env.message.properties = *(amqp_basic_properties_t *)
	    h.payload.properties.decoded;
	size = h.payload.properties.body_size;
	oversize = size > b->max_message;
	if (!oversize && size > 0 &&
	    (env.message.body = amqp_bytes_malloc((size_t)size)).bytes == NULL) {
		snprintf(err, errlen, "out of memory reading a request");
		return -1;
	}
	while (!oversize && got < size) {
		if ((rc = content_frame(b, ev, ch, AMQP_FRAME_BODY, &part, err,
		    errlen)) == 0 && part.payload.body_fragment.len > size - got)
			rc = AMQP_STATUS_BAD_AMQP_DATA;	/* more than announced */
		if (rc != 0) {
			amqp_bytes_free(env.message.body);
			goto undecodable;
		}
		memcpy((char *)env.message.body.bytes + got,
		    part.payload.body_fragment.bytes,
		    part.payload.body_fragment.len);
		got += part.payload.body_fragment.len;
	}
	ev->deliver(ev->arg, &env, oversize);
	amqp_bytes_free(env.message.body);
	/* Too large: drop the body a frame at a time, keeping none of it. */
	while (got < size) {
		amqp_maybe_release_buffers_on_channel(b->cl.conn, ch);
		if ((rc = content_frame(b, ev, ch, AMQP_FRAME_BODY, &part, err,
		    errlen)) != 0) {
			if (rc != 1)
				snprintf(err, errlen, "reading a request body: "
				    "%s", amqp_error_string2(rc));
			return -1;
		}
		got += part.payload.body_fragment.len;
	}
	return 0;

undecodable:
	if (rc == 1)
		return -1;	/* err says why */
	/*
	 * Content librabbitmq cannot read would come back for ever: reject
	 * it.  Any other failure (the socket, a heartbeat) loses the
	 * connection, and the broker requeues the request.
	 */
	if (rc != AMQP_STATUS_BAD_AMQP_DATA && rc != AMQP_STATUS_UNKNOWN_CLASS &&
	    rc != AMQP_STATUS_UNKNOWN_METHOD && rc != AMQP_STATUS_TABLE_TOO_BIG &&
	    rc != AMQP_STATUS_INVALID_PARAMETER) {
		snprintf(err, errlen, "reading a request: %s",
		    amqp_error_string2(rc));
		return -1;
	}
	amqp_basic_reject(b->cl.conn, ch, env.delivery_tag, 0);
	snprintf(err, errlen, "a request that cannot be decoded (%s) was "
	    "rejected without requeue", amqp_error_string2(rc));
	return -1;
}

int
broker_pump(struct broker *b, const struct broker_events *ev, int readable,
    char *err, size_t errlen)
{
	struct timeval	 zero = { 0, 0 };
	amqp_frame_t	 f;
	int64_t		 now = now_ms();
	int		 rc;

	if (!readable && !b->cl.tls && !broker_buffered(b) && now < b->next_read)
		return 0;
	b->next_read = now + (b->heartbeat > 0 ? b->heartbeat * 500 : 30000);
	for (;;) {
		amqp_maybe_release_buffers(b->cl.conn);
		rc = amqp_simple_wait_frame_noblock(b->cl.conn, &f, &zero);
		if (rc == AMQP_STATUS_TIMEOUT)
			return 0;
		if (rc != AMQP_STATUS_OK) {
			snprintf(err, errlen, "connection lost: %s",
			    amqp_error_string2(rc));
			return -1;
		}
		if (f.frame_type == AMQP_FRAME_METHOD &&
		    f.payload.method.id == AMQP_BASIC_DELIVER_METHOD)
			rc = on_deliver(b, ev, &f, err, errlen);
		else
			rc = on_frame(b, ev, &f, err, errlen);
		if (rc == -1)
			return -1;
		if (!b->cl.tls && !broker_buffered(b))
			return 0;
	}
}

int
broker_publish(struct broker *b, amqp_bytes_t rk, amqp_bytes_t corr,
    const struct typefrom *tf, const char *type, const char *body, size_t len,
    uint64_t *tag)
{
	amqp_basic_properties_t	 p;
	amqp_table_entry_t	 h;
	amqp_bytes_t		 data;

	memset(&p, 0, sizeof(p));
	p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG
	    | AMQP_BASIC_CORRELATION_ID_FLAG | AMQP_BASIC_APP_ID_FLAG |
	    AMQP_BASIC_TIMESTAMP_FLAG;
	p.content_type = amqp_cstring_bytes("application/json");
	p.delivery_mode = AMQP_DELIVERY_PERSISTENT;
	p.correlation_id = corr;
	client_set_kind(&p, tf, type, &h);
	p.app_id = amqp_cstring_bytes("hca-exec");
	p.timestamp = (uint64_t)time(NULL);
	data.bytes = (void *)body;
	data.len = len;
	if (amqp_basic_publish(b->cl.conn, CH_PUBLISH, amqp_empty_bytes, rk, 1, 0,
	    &p, data) != AMQP_STATUS_OK)
		return -1;
	*tag = b->next_tag++;
	return 0;
}

int
broker_ack(struct broker *b, uint64_t tag)
{
	return amqp_basic_ack(b->cl.conn, CH_CONSUME, tag, 0) == 0 ? 0 : -1;
}

int
broker_reject(struct broker *b, uint64_t tag, int requeue)
{
	return amqp_basic_reject(b->cl.conn, CH_CONSUME, tag, requeue) == 0 ?
	    0 : -1;
}

int
broker_cancel(struct broker *b)
{
	if (b->cancelled)
		return 0;
	b->cancelled = 1;
	/* Not amqp_basic_cancel(): that waits for cancel-ok in an RPC. */
	amqp_basic_cancel_t	 m;

	memset(&m, 0, sizeof(m));
	m.consumer_tag = b->ctag;
	m.nowait = 1;
	return amqp_send_method(b->cl.conn, CH_CONSUME, AMQP_BASIC_CANCEL_METHOD,
	    &m) == AMQP_STATUS_OK ? 0 : -1;
}

void
broker_close(struct broker *b, int graceful)
{
	if (b == NULL)
		return;
	if (b->cl.conn && graceful) {
		amqp_channel_close(b->cl.conn, CH_PUBLISH, AMQP_REPLY_SUCCESS);
		amqp_channel_close(b->cl.conn, CH_CONSUME, AMQP_REPLY_SUCCESS);
	}
	client_close(&b->cl, graceful);
	amqp_bytes_free(b->ctag);
	free(b->queue);
	free(b);
}
