/*
 * portal.c: hca-portal, the Helmholtz Cloud portal's side of the
 * conversation, for development and tests.  It publishes one request to
 * the agent's inbound queue, waits for the reply with the same correlation
 * id and prints it as one JSON line, in the format of "hca-exec -n".
 *
 * The request is published on one channel, which also consumes the
 * private reply queue.  One loop, pump(), reads every frame that arrives:
 * publisher confirms, returned messages, deliveries to the reply queue and
 * close methods.  Waiting in amqp_simple_wait_frame_noblock() services
 * heartbeats.  With -q the outbound queue is read with basic.get on a
 * second channel: librabbitmq 0.11 queues the frames that arrive during
 * an RPC, and amqp_read_message() fails if the next queued frame of its
 * channel is a confirm rather than the message's header.
 */
#include <sys/types.h>
#include <sys/time.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_ssl_socket.h>
#include <jv.h>

#include "client.h"
#include "kinds.h"
#include "util.h"

#define PUB_CH		1		/* publish, confirms, reply queue */
#define GET_CH		2		/* -q: basic.get, outbound queue */
#define HEARTBEAT	60		/* seconds, as the agent's default */
#define CONNECT_MS	10000		/* TCP (and TLS) connect */
#define WAIT_MS		30000		/* -w default */
#define MAX_BODY	(128 * 1024 * 1024)	/* RabbitMQ's own limit */
#define MAX_URL		8192
#define MAX_SHORTSTR	255		/* AMQP short string */
#define POLL_MIN_MS	50		/* -q: first pause between scans */
#define POLL_MAX_MS	500		/* -q: longest pause between scans */
#define DEFAULT_KIND	(KIND_ALLOCATE->request)
#define ERROR_KIND	ERROR_REPLY

struct portal {
	struct client		 cl;		/* its where: for messages */
	char			*queue_in;
	char			*queue_out;
	char			*reply_queue;	/* ours, default mode only */
	const char		*cid;		/* the request's */
	uint64_t		 tag;		/* its publish seq. number */
	int			 confirmed;
	int			 get_open;	/* GET_CH is open */

	struct typefrom		 tf;		/* HCA_TYPE_FROM */

	/* The reply, once found. */
	int			 found;
	int			 has_type;
	struct buf		 type;
	struct buf		 rcid;
	struct buf		 body;
};

static void	 usage(int) __attribute__((noreturn));
static void	 read_fd(int, const char *, struct buf *, size_t);
static void	 read_file(const char *, struct buf *, size_t);
static char	*get_url(void);
static char	*queue_name(const char *, const char *, const char *);
static void	 make_uuid(char [37]);
static void	 check_rpc(struct portal *, amqp_rpc_reply_t, const char *);
static void	 check_status(struct portal *, int, const char *);
static void	 bytes_buf(struct buf *, amqp_bytes_t);
static void	 broker_open(struct portal *, char *);
static void	 broker_close(struct portal *);
static int	 take_message(struct portal *, const amqp_message_t *);
static void	 handle_frame(struct portal *, const amqp_frame_t *);
static int	 pump(struct portal *, int64_t);
static int	 scan_queue(struct portal *);
static int	 print_reply(struct portal *);

static void
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: %s [-hq] [-i correlation_id] [-t kind] [-w seconds] "
	    "[payload.json | ping]\n", getprogname());
	exit(status);
}

/* Read all of fd into b; more than max bytes is an error. */
static void
read_fd(int fd, const char *name, struct buf *b, size_t max)
{
	char	 chunk[65536];
	ssize_t	 n;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			err(2, "read %s", name);
		}
		if (n == 0)
			break;
		if (b->len + (size_t)n > max)
			errx(2, "%s: more than %zu bytes", name, max);
		if (buf_append(b, chunk, (size_t)n) == -1)
			err(2, "read %s", name);
	}
}

static void
read_file(const char *path, struct buf *b, size_t max)
{
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		err(2, "%s", path);
	read_fd(fd, path, b, max);
	close(fd);
}

/*
 * The broker URL from HCA_URL or from the file HCA_URL_FILE names (not
 * both: which one would win is a guess).  The URL is a secret and is never
 * printed.  Returns a malloc'd string the caller wipes.
 */
static char *
get_url(void)
{
	const char	*url, *file;
	struct buf	 b = { 0 };
	char		*s;

	url = getenv("HCA_URL");
	file = getenv("HCA_URL_FILE");
	if (url != NULL && *url == '\0')
		url = NULL;
	if (file != NULL && *file == '\0')
		file = NULL;
	if (url != NULL && file != NULL)
		errx(2, "HCA_URL and HCA_URL_FILE are both set; set one");
	if (url != NULL) {
		if ((s = strdup(url)) == NULL)
			err(2, "strdup");
		return s;
	}
	if (file == NULL)
		errx(2, "HCA_URL (or HCA_URL_FILE) is not set");
	read_file(file, &b, MAX_URL);
	while (b.len > 0 &&
	    (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
		b.data[--b.len] = '\0';
	if (b.len == 0 || memchr(b.data, '\0', b.len) != NULL) {
		freezero(b.data, b.cap);
		errx(2, "%s: does not hold a URL", file);
	}
	return b.data;
}

/* A queue's name: $var, else service + suffix.  Returns a malloc'd copy. */
static char *
queue_name(const char *var, const char *service, const char *suffix)
{
	const char	*q;
	char		*s;

	if ((q = getenv(var)) != NULL && *q != '\0') {
		if (strlen(q) > MAX_SHORTSTR)
			errx(2, "%s: longer than %d bytes", var, MAX_SHORTSTR);
		if ((s = strdup(q)) == NULL)
			err(2, "strdup");
		return s;
	}
	if (service == NULL)
		errx(2, "%s and HCA_SERVICE are not set", var);
	if (asprintf(&s, "%s%s", service, suffix) == -1)
		err(2, "asprintf");
	return s;
}

/* A random (version 4) UUID, as 36 characters and a NUL. */
static void
make_uuid(char out[37])
{
	uint8_t	 u[16];

	arc4random_buf(u, sizeof(u));
	u[6] = (u[6] & 0x0f) | 0x40;
	u[8] = (u[8] & 0x3f) | 0x80;
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5],
	    u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

/* Exit 2 with a message unless an RPC (what) went well. */
static void
check_rpc(struct portal *p, amqp_rpc_reply_t r, const char *what)
{
	char	 err[1024];
	int	 fatal;

	if (client_rpc(r, what, err, sizeof(err), &fatal) == -1)
		errx(2, "%s: %s", p->cl.where, err);
}

/* Exit 2 unless an int-returning call (what) succeeded. */
static void
check_status(struct portal *p, int status, const char *what)
{
	if (status < 0)
		errx(2, "%s: %s: %s", p->cl.where, what,
		    amqp_error_string2(status));
}

/* Copy AMQP bytes (not NUL-terminated) into an empty buffer. */
static void
bytes_buf(struct buf *b, amqp_bytes_t v)
{
	if (buf_append(b, v.bytes, v.len) == -1)
		err(2, "buf_append");
}

/* An unset or empty variable is NULL. */
static const char *
getenv_set(const char *name)
{
	const char	*v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

/*
 * Connect, log in, open the channel.  The url (from get_url()) is wiped
 * and freed.
 */
static void
broker_open(struct portal *p, char *url)
{
	struct client_conf	 cf = {
		.url = url, .cacert = getenv_set("HCA_CACERT"),
		.cert = getenv_set("HCA_CERT"), .key = getenv_set("HCA_KEY"),
		.heartbeat = HEARTBEAT, .connect_ms = CONNECT_MS,
	};
	char			 err[1024];
	int			 fatal, rc;

	if ((cf.cert == NULL) != (cf.key == NULL)) {
		freezero(url, strlen(url) + 1);
		errx(2, "HCA_CERT and HCA_KEY go together");
	}
	rc = client_open(&p->cl, &cf, err, sizeof(err), &fatal);
	freezero(url, strlen(url) + 1);
	if (rc == -1)
		errx(2, "%s", err);
	amqp_channel_open(p->cl.conn, PUB_CH);
	check_rpc(p, amqp_get_rpc_reply(p->cl.conn), "channel.open");
}

/* Close channel and connection; complain about, but survive, failures. */
static void
broker_close(struct portal *p)
{
	amqp_rpc_reply_t	 r;
	int			 s, tls;

	if (p->get_open) {
		r = amqp_channel_close(p->cl.conn, GET_CH, AMQP_REPLY_SUCCESS);
		if (r.reply_type != AMQP_RESPONSE_NORMAL)
			warnx("%s: channel.close failed", p->cl.where);
	}
	r = amqp_channel_close(p->cl.conn, PUB_CH, AMQP_REPLY_SUCCESS);
	if (r.reply_type != AMQP_RESPONSE_NORMAL)
		warnx("%s: channel.close failed", p->cl.where);
	tls = p->cl.tls;
	client_close(&p->cl, 1);
	/* Frees what amqp_ssl_socket_new() set up once per process. */
	if (tls && (s = amqp_uninitialize_ssl_library()) < 0)
		warnx("amqp_uninitialize_ssl_library: %s",
		    amqp_error_string2(s));
}

/*
 * Keep msg as the reply if its correlation id is ours.  Returns 1 if it
 * was kept.
 */
static int
take_message(struct portal *p, const amqp_message_t *msg)
{
	const amqp_basic_properties_t	*pr = &msg->properties;
	size_t				 n;

	n = strlen(p->cid);
	if (!(pr->_flags & AMQP_BASIC_CORRELATION_ID_FLAG) ||
	    pr->correlation_id.len != n ||
	    memcmp(pr->correlation_id.bytes, p->cid, n) != 0)
		return 0;
	if (p->tf.where == TF_PROPERTY) {
		p->has_type = (pr->_flags & AMQP_BASIC_TYPE_FLAG) != 0;
		if (p->has_type)
			bytes_buf(&p->type, pr->type);
	} else if (p->tf.where == TF_HEADER) {
		int	 oom;
		char	*k = client_kind(pr, &p->tf, &oom);

		if (oom)
			errx(2, "out of memory");
		if ((p->has_type = k != NULL))
			bytes_buf(&p->type, amqp_cstring_bytes(k));
		free(k);
	}
	bytes_buf(&p->rcid, pr->correlation_id);
	bytes_buf(&p->body, msg->body);
	p->found = 1;
	return 1;
}

/* Act on one frame from the broker. */
static void
handle_frame(struct portal *p, const amqp_frame_t *f)
{
	amqp_basic_ack_t		*ack;
	amqp_basic_return_t		*ret;
	amqp_connection_close_t		*cc;
	amqp_channel_close_t		*ch;
	amqp_message_t			 msg;
	const amqp_bytes_t		*id;

	if (f->frame_type != AMQP_FRAME_METHOD)
		return;		/* stray content: nothing waits for it */
	switch (f->payload.method.id) {
	case AMQP_BASIC_ACK_METHOD:
		ack = f->payload.method.decoded;
		if (f->channel == PUB_CH && (ack->delivery_tag == p->tag ||
		    (ack->multiple && ack->delivery_tag > p->tag)))
			p->confirmed = 1;
		break;
	case AMQP_BASIC_NACK_METHOD:
		errx(2, "%s: the broker refused the request (basic.nack)",
		    p->cl.where);
	case AMQP_BASIC_RETURN_METHOD:
		/* mandatory was set: nothing is bound to the routing key */
		ret = f->payload.method.decoded;
		errx(2, "%s: the broker returned the request: %u %.*s "
		    "(does queue \"%s\" exist?)", p->cl.where, ret->reply_code,
		    (int)ret->reply_text.len,
		    (const char *)ret->reply_text.bytes, p->queue_in);
	case AMQP_BASIC_DELIVER_METHOD:
		/* Only the private reply queue has a consumer. */
		check_rpc(p, amqp_read_message(p->cl.conn, f->channel, &msg, 0),
		    "reading a reply");
		if (!p->found && !take_message(p, &msg)) {
			id = &msg.properties.correlation_id;
			if (msg.properties._flags &
			    AMQP_BASIC_CORRELATION_ID_FLAG)
				warnx("ignoring a reply for correlation id "
				    "\"%.*s\"", (int)id->len,
				    (const char *)id->bytes);
			else
				warnx("ignoring a reply without a "
				    "correlation id");
		}
		amqp_destroy_message(&msg);
		break;
	case AMQP_CHANNEL_CLOSE_METHOD:
		ch = f->payload.method.decoded;
		errx(2, "%s: the broker closed the channel: %u %.*s",
		    p->cl.where, ch->reply_code, (int)ch->reply_text.len,
		    (const char *)ch->reply_text.bytes);
	case AMQP_CONNECTION_CLOSE_METHOD:
		cc = f->payload.method.decoded;
		errx(2, "%s: the broker closed the connection: %u %.*s",
		    p->cl.where, cc->reply_code, (int)cc->reply_text.len,
		    (const char *)cc->reply_text.bytes);
	default:
		break;
	}
}

/*
 * Wait until the monotonic time until (ms) for one frame and handle it.
 * Returns 1 if a frame came, 0 if the time is up.  The library sends and
 * checks heartbeats inside the wait.
 */
static int
pump(struct portal *p, int64_t until)
{
	amqp_frame_t	 frame;
	struct timeval	 tv;
	int64_t		 left;
	int		 r;

	amqp_maybe_release_buffers(p->cl.conn);
	if ((left = until - now_ms()) < 0)
		left = 0;
	tv.tv_sec = left / 1000;
	tv.tv_usec = (left % 1000) * 1000;
	r = amqp_simple_wait_frame_noblock(p->cl.conn, &frame, &tv);
	if (r == AMQP_STATUS_TIMEOUT)
		return 0;
	check_status(p, r, "waiting for the broker");
	handle_frame(p, &frame);
	return 1;
}

/*
 * -q: look through the outbound queue once for our reply.  basic.get
 * takes the messages one by one; the ones for other correlation ids stay
 * unacknowledged (so the next get moves on to the next message) and are
 * all handed back with one basic.nack(multiple, requeue) at the end of the
 * scan.  They are hidden from other consumers only during the scan, keep
 * their place in the queue, and come back marked redelivered.  Our reply
 * is acked.  Returns 1 if it was found.
 */
static int
scan_queue(struct portal *p)
{
	amqp_rpc_reply_t	 r;
	amqp_message_t		 msg;
	amqp_basic_get_ok_t	*ok;
	uint64_t		 tag, held = 0;
	int			 found = 0;

	while (!found) {
		amqp_maybe_release_buffers(p->cl.conn);
		r = amqp_basic_get(p->cl.conn, GET_CH,
		    amqp_cstring_bytes(p->queue_out), 0);
		check_rpc(p, r, "basic.get");
		if (r.reply.id != AMQP_BASIC_GET_OK_METHOD)
			break;		/* basic.get-empty */
		ok = r.reply.decoded;
		tag = ok->delivery_tag;
		check_rpc(p, amqp_read_message(p->cl.conn, GET_CH, &msg, 0),
		    "reading a reply");
		found = take_message(p, &msg);
		amqp_destroy_message(&msg);
		if (found)
			check_status(p, amqp_basic_ack(p->cl.conn, GET_CH, tag,
			    0), "basic.ack");
		else
			held = tag;
	}
	if (held != 0)
		check_status(p, amqp_basic_nack(p->cl.conn, GET_CH, held, 1, 1),
		    "basic.nack");
	return found;
}

/*
 * Print the reply as {"type":...,"correlation_id":...,"payload":...}.
 * A body that is not JSON becomes a JSON string.  Returns the exit
 * status: 0 for a success reply, 1 for ErrorV1 (or no type at all).
 */
static int
print_reply(struct portal *p)
{
	jv	 payload, doc, s;
	int	 status;

	if (p->body.len > INT_MAX || p->type.len > INT_MAX ||
	    p->rcid.len > INT_MAX)
		errx(2, "reply too large");
	payload = json_parse(p->body.data ? p->body.data : "", p->body.len);
	if (!jv_is_valid(payload)) {
		jv_free(payload);
		payload = jv_string_sized(p->body.data ? p->body.data : "",
		    (int)p->body.len);
	}
	if (p->tf.where == TF_BODY && jv_get_kind(payload) == JV_KIND_OBJECT) {
		jv	 t = jv_object_get(jv_copy(payload),
		    jv_string(p->tf.name));

		if ((p->has_type = jv_get_kind(t) == JV_KIND_STRING) &&
		    buf_append(&p->type, jv_string_value(t),
		    (size_t)jv_string_length_bytes(jv_copy(t))) == -1)
			err(2, "buf_append");
		jv_free(t);
	}
	/* In the format of "hca-exec -n", which shows a header it sets. */
	doc = JV_OBJECT(jv_string("type"), p->has_type ?
	    jv_string_sized(p->type.data, (int)p->type.len) : jv_null(),
	    jv_string("correlation_id"),
	    jv_string_sized(p->rcid.data, (int)p->rcid.len),
	    jv_string("payload"), payload);
	if (p->tf.where == TF_HEADER && p->has_type)
		doc = jv_object_set(doc, jv_string("headers"),
		    JV_OBJECT(jv_string(p->tf.name), jv_string_sized(
		    p->type.data, (int)p->type.len)));
	s = jv_dump_string(doc, 0);
	if (printf("%s\n", jv_string_value(s)) < 0 || fflush(stdout) == EOF)
		err(2, "stdout");
	jv_free(s);

	if (!p->has_type) {
		warnx("the reply carries no kind (HCA_TYPE_FROM=%s)",
		    p->tf.where == TF_PROPERTY ? "property" : p->tf.where ==
		    TF_HEADER ? "header" : "body");
		status = 1;
	} else if (p->type.len == strlen(ERROR_KIND) &&
	    memcmp(p->type.data, ERROR_KIND, p->type.len) == 0)
		status = 1;
	else
		status = 0;
	return status;
}

/* HCA_TYPE_FROM=body:FIELD and -t: the kind goes into the body's FIELD. */
static void
body_kind(struct buf *b, const char *field, const char *kind)
{
	jv	 v = json_parse(b->data ? b->data : "", b->len);

	if (jv_get_kind(v) != JV_KIND_OBJECT)
		errx(2, "-t with HCA_TYPE_FROM=body:%s: the request body must "
		    "be a JSON object", field);
	v = jv_dump_string(jv_object_set(v, jv_string(field),
	    jv_string(kind)), 0);
	b->len = 0;
	if (buf_append(b, jv_string_value(v),
	    (size_t)jv_string_length_bytes(jv_copy(v))) == -1)
		err(2, "buf_append");
	jv_free(v);
}

int
main(int argc, char *argv[])
{
	struct portal		 p = { 0 };
	amqp_basic_properties_t	 props;
	amqp_table_entry_t	 header;
	amqp_queue_declare_ok_t	*dq;
	struct buf		 body = { 0 };
	const char		*kind = NULL, *waitarg = "30", *service;
	const char		*tfs, *why;
	char			 uuid[37], *url;
	int64_t			 wait_ms = WAIT_MS, deadline, until, pause;
	int			 ch, qmode = 0, status;

	while ((ch = getopt(argc, argv, "hi:qt:w:")) != -1) {
		switch (ch) {
		case 'h':
			usage(0);
		case 'i':
			if (*optarg == '\0' || strlen(optarg) > MAX_SHORTSTR)
				errx(2, "-i: must be 1 to %d bytes",
				    MAX_SHORTSTR);
			p.cid = optarg;
			break;
		case 'q':
			qmode = 1;
			break;
		case 't':
			if (*optarg == '\0' || strlen(optarg) > MAX_SHORTSTR)
				errx(2, "-t: must be 1 to %d bytes",
				    MAX_SHORTSTR);
			kind = optarg;
			break;
		case 'w':
			if ((wait_ms = parse_seconds(optarg)) <= 0 ||
			    wait_ms > (int64_t)INT_MAX * 1000)
				errx(2, "-w: not a positive number of "
				    "seconds: %s", optarg);
			waitarg = optarg;
			break;
		default:
			usage(2);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1)
		usage(2);

	if ((service = getenv("HCA_SERVICE")) != NULL && *service == '\0')
		service = NULL;
	if (service != NULL && !client_service_valid(service))
		errx(2, "HCA_SERVICE: not [A-Za-z0-9_.-]{1,128}");
	p.queue_in = queue_name("HCA_QUEUE_IN", service, ".to_hca");
	if (qmode)
		p.queue_out = queue_name("HCA_QUEUE_OUT", service,
		    ".to_portal");
	url = get_url();

	/* The request body, sent byte for byte. */
	if (argc == 1 && strcmp(argv[0], "ping") == 0) {
		if (kind != NULL)
			errx(2, "ping and -t do not go together");
		kind = KIND_PING->request;
		if (buf_append(&body, "{}", 2) == -1)
			err(2, "buf_append");
	} else if (argc == 1)
		read_file(argv[0], &body, MAX_BODY);
	else
		read_fd(STDIN_FILENO, "stdin", &body, MAX_BODY);
	if ((tfs = getenv("HCA_TYPE_FROM")) == NULL || *tfs == '\0')
		tfs = "property";
	if ((why = typefrom_parse(tfs, &p.tf)) != NULL ||
	    (why = typefrom_check(&p.tf)) != NULL)
		errx(2, "HCA_TYPE_FROM=%s: %s", tfs, why);
	if (p.tf.where == TF_BODY && kind != NULL)
		body_kind(&body, p.tf.name, kind);
	if (kind == NULL)
		kind = DEFAULT_KIND;
	if (p.cid == NULL) {
		make_uuid(uuid);
		p.cid = uuid;
	}

	broker_open(&p, url);

	if (qmode) {
		amqp_channel_open(p.cl.conn, GET_CH);
		check_rpc(&p, amqp_get_rpc_reply(p.cl.conn), "channel.open");
		p.get_open = 1;
		/* Fail now, not after the wait, if it is missing. */
		amqp_queue_declare(p.cl.conn, GET_CH,
		    amqp_cstring_bytes(p.queue_out), 1, 0, 0, 0,
		    amqp_empty_table);
		check_rpc(&p, amqp_get_rpc_reply(p.cl.conn),
		    "outbound queue (passive queue.declare)");
	} else {
		/* A private queue: server-named, exclusive, auto-delete. */
		dq = amqp_queue_declare(p.cl.conn, PUB_CH, amqp_empty_bytes,
		    0, 0, 1, 1, amqp_empty_table);
		check_rpc(&p, amqp_get_rpc_reply(p.cl.conn),
		    "declaring the reply queue");
		if ((p.reply_queue = strndup(dq->queue.bytes,
		    dq->queue.len)) == NULL)
			err(2, "strndup");
		/* It is ours alone: no acks needed. */
		amqp_basic_consume(p.cl.conn, PUB_CH,
		    amqp_cstring_bytes(p.reply_queue), amqp_empty_bytes,
		    0, 1, 1, amqp_empty_table);
		check_rpc(&p, amqp_get_rpc_reply(p.cl.conn),
		    "consuming the reply queue");
	}

	amqp_confirm_select(p.cl.conn, PUB_CH);
	check_rpc(&p, amqp_get_rpc_reply(p.cl.conn), "confirm.select");

	memset(&props, 0, sizeof(props));
	props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG |
	    AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CORRELATION_ID_FLAG;
	props.content_type = amqp_cstring_bytes("application/json");
	props.delivery_mode = 2;
	client_set_kind(&props, &p.tf, kind, &header);
	props.correlation_id = amqp_cstring_bytes(p.cid);
	if (!qmode) {
		props._flags |= AMQP_BASIC_REPLY_TO_FLAG;
		props.reply_to = amqp_cstring_bytes(p.reply_queue);
	}
	/* mandatory: an unroutable request comes back instead of vanishing */
	p.tag = 1;
	check_status(&p, amqp_basic_publish(p.cl.conn, PUB_CH, amqp_empty_bytes,
	    amqp_cstring_bytes(p.queue_in), 1, 0, &props,
	    (amqp_bytes_t){ body.len, body.data }), "basic.publish");
	buf_free(&body);

	/*
	 * Wait for the reply.  With -q, scan the outbound queue, then
	 * service the connection for a pause that grows from POLL_MIN_MS to
	 * POLL_MAX_MS; the last scan comes after the deadline.
	 */
	deadline = now_ms() + wait_ms;
	pause = POLL_MIN_MS;
	for (;;) {
		if (qmode && scan_queue(&p))
			break;
		if (p.found || now_ms() >= deadline)
			break;
		if (!qmode) {
			(void)pump(&p, deadline);
			continue;
		}
		until = now_ms() + pause;
		if (until > deadline)
			until = deadline;
		while (pump(&p, until))
			;
		if ((pause *= 2) > POLL_MAX_MS)
			pause = POLL_MAX_MS;
	}

	if (!p.found) {
		if (!p.confirmed)
			warnx("%s: the broker did not confirm the request "
			    "within %s s", p.cl.where, waitarg);
		else
			warnx("no reply for correlation id %s within %s s",
			    p.cid, waitarg);
		status = 2;
	} else
		status = print_reply(&p);

	broker_close(&p);
	buf_free(&p.type);
	buf_free(&p.rcid);
	buf_free(&p.body);
	free(p.reply_queue);
	free(p.queue_in);
	free(p.queue_out);
	return status;
}
