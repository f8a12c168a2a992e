/*
 * agent.c: the daemon's bookkeeping.
 *
 * A delivery moves through three lists:
 *
 *	waiting --(a hook slot is free)--> running --(hook done)--> publishing
 *	    --(broker confirms the reply)--> acked and freed
 *
 * Delivery tags die with the connection, so every delivery remembers the
 * connection generation it came on.  After a reconnect, running hooks keep
 * running; the broker redelivers their requests, and a redelivery is
 * matched by correlation id to the delivery already in hand, which then
 * takes over the new tag instead of running the hook again.  A reply that
 * was confirmed but could not be acked (its tag was dead) leaves its
 * correlation id in the "answered" list, so that its redelivery is acked
 * without running the hook again.
 *
 * With a state directory, the hook of a request runs under its claim
 * (journal.h), so that agents sharing the directory never run one request's
 * hook at once: a redelivery that another live agent has claimed is "held"
 * until that agent's reply is in the journal (or its claim lapses).
 */
#include <sys/queue.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "broker.h"
#include "job.h"
#include "ev.h"
#include "journal.h"
#include "client.h"
#include "kinds.h"
#include "log.h"
#include "metrics.h"
#include "status.h"
#include "util.h"

#define BACKOFF_MIN	1000
#define BACKOFF_MAX	60000
/* RabbitMQ's default consumer_timeout (30 min) */
#define CONSUMER_TIMEOUT_MS	1800000
#define STABLE_MS	30000		/* up this long: backoff resets */
#define ANSWERED_TTL	(3600 * 1000)
#define ANSWERED_MAX	10000
#define RENACK_MS	1000		/* republish after a broker nack */
#define RESTART_MS	1000		/* try a hook again after a shortage */
#define JPROBE_MS	5000		/* an unwritable journal tried again */
#define PROBE_SLACK	(64 * 1024)	/* room beyond the entry that failed */
#define CLAIMS_MS	1000		/* held requests looked at, claims
					   touched every 10th time */

/*
 * Where a delivery is: each state but D_NONE is a list of A's, and a
 * delivery moves between them only through dput() and dtake().
 */
enum dstate {
	D_NONE,			/* in no list: new, or about to be freed */
	D_WAITING,		/* for a hook slot (or the journal) */
	D_HELD,			/* another agent runs its hook */
	D_RUNNING,		/* its job runs */
	D_PUBLISHING		/* its reply goes out, until confirmed */
};

enum stop { STOP_NONE, STOP_DRAIN, STOP_FORCE };

struct delivery {
	TAILQ_ENTRY(delivery)	 entry;
	enum dstate		 state;
	uint64_t		 tag;		/* on the consumer channel */
	unsigned		 gen;		/* connection it came on */
	struct request		 req;		/* lent to its job */
	amqp_bytes_t		 corr;		/* req's correlation id */
	amqp_bytes_t		 reply_to;	/* empty: outbound queue */
	struct logctx		 log;		/* req's corr and kind */
	const char		*rtype;		/* reply type (kinds table) */
	char			*out;		/* reply body, as journaled */
	size_t			 outlen;
	char			*wire;		/* as sent, if not out (below) */
	size_t			 wirelen;
	uint64_t		 ptag;		/* publish tag, 0: not sent */
	unsigned		 pgen;
	int			 abandon;	/* forced stop: no reply */
	int			 claimed;	/* holds its claim (journal.h) */
	int			 journaled;	/* its reply is in the journal */
	int			 counted;	/* its reply's metrics row */
	int			 unroutable;	/* the broker returned it */
	int64_t			 deferred_at;	/* first deferred start, or 0 */
};
TAILQ_HEAD(dlist, delivery);

struct answered {
	TAILQ_ENTRY(answered)	 entry;
	amqp_bytes_t		 corr;
	int64_t			 when;
};

static struct {
	const struct conf	*conf;
	struct broker		*b;
	unsigned		 gen;
	struct dlist		 waiting, held, running, publishing;
	int			 nrunning;	/* the running list's length */
	TAILQ_HEAD(, answered)	 answered;
	int			 nanswered;
	struct ev_timer		 reconnect, stop, republish, metrics, sweep;
	int64_t			 backoff, connected_at;
	int64_t			 blocked_at;	/* 0: publishing not blocked */
	int			 limit;		/* hooks started at most */
	int			 deferred;	/* starts put off, this spell */
	struct ev_timer		 restart;	/* tries one after a shortage */
	struct ev_timer		 claims;	/* touches ours, looks at held */
	struct ev_timer		 status_timer;	/* HCA_STATUS_FILE's age */
	struct ev_timer		 jprobe;	/* tries the journal again */
	int64_t			 jdown_at;	/* 0: the journal can be written */
	int			 unjournaled;	/* replies sent without, meanwhile */
	size_t			 jneed;		/* bytes the probe must write */
	int			 attempts;
	struct broker_connect	*connecting;	/* an attempt under way */
	int			 fd;		/* the socket in the poll set */
	int			 readable;	/* in this round's poll */
	char			 broken[512];	/* why the connection failed */
	enum stop		 stopping;
	int			 done;
	int			 status;
} A;

static void	 publish_pending(void);

static int
bytes_eq(amqp_bytes_t a, amqp_bytes_t b)
{
	return a.len == b.len && (a.len == 0 ||
	    memcmp(a.bytes, b.bytes, a.len) == 0);
}

/* The request is no longer ours to run: let another agent have it. */
static void
unclaim(struct delivery *d)
{
	if (d->claimed)
		journal_unclaim(d->corr.bytes, d->corr.len);
	d->claimed = 0;
}

static struct dlist *
list_of(enum dstate s)
{
	switch (s) {
	case D_WAITING:
		return &A.waiting;
	case D_HELD:
		return &A.held;
	case D_RUNNING:
		return &A.running;
	case D_PUBLISHING:
		return &A.publishing;
	case D_NONE:
		break;
	}
	return NULL;
}

/* d (in no list) joins the list of state s, at its head or its tail. */
static void
dput(struct delivery *d, enum dstate s, int head)
{
	d->state = s;
	if (head)
		TAILQ_INSERT_HEAD(list_of(s), d, entry);
	else
		TAILQ_INSERT_TAIL(list_of(s), d, entry);
	A.nrunning += s == D_RUNNING;
}

static void
dtake(struct delivery *d)
{
	if (d->state == D_NONE)
		return;
	TAILQ_REMOVE(list_of(d->state), d, entry);
	A.nrunning -= d->state == D_RUNNING;
	d->state = D_NONE;
}

static void
delivery_free(struct delivery *d)
{
	dtake(d);
	unclaim(d);
	amqp_bytes_free(d->reply_to);
	request_free(&d->req);
	free(d->out);
	free(d->wire);
	free(d);
}

static char *
bytes_str(amqp_bytes_t b)
{
	return b.len ? strndup(b.bytes, b.len) : NULL;
}

/* ---- answered but not acked ---------------------------------------- */

static void
answered_add(amqp_bytes_t corr)
{
	struct answered	*a;

	while (A.nanswered >= ANSWERED_MAX) {
		a = TAILQ_FIRST(&A.answered);
		TAILQ_REMOVE(&A.answered, a, entry);
		amqp_bytes_free(a->corr);
		free(a);
		A.nanswered--;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return;
	a->corr = amqp_bytes_malloc_dup(corr);
	a->when = now_ms();
	TAILQ_INSERT_TAIL(&A.answered, a, entry);
	A.nanswered++;
}

/* Was a reply for corr already confirmed?  Forgets it if so. */
static int
answered_take(amqp_bytes_t corr)
{
	struct answered	*a, *t;
	int64_t		 now = now_ms();

	TAILQ_FOREACH_SAFE(a, &A.answered, entry, t) {
		if (now - a->when > ANSWERED_TTL || bytes_eq(a->corr, corr)) {
			int hit = bytes_eq(a->corr, corr);
			TAILQ_REMOVE(&A.answered, a, entry);
			amqp_bytes_free(a->corr);
			free(a);
			A.nanswered--;
			if (hit)
				return 1;
		}
	}
	return 0;
}

/* ---- connection ---------------------------------------------------- */

/*
 * The connection failed.  Callbacks run inside broker_pump(), so they only
 * record it; lost() tears the connection down once the pump has returned.
 */
static void
fail(const char *why)
{
	if (A.broken[0] == '\0')
		strlcpy(A.broken, why, sizeof(A.broken));
}

static int
usable(void)
{
	return A.b != NULL && A.broken[0] == '\0';
}

/* Replies wait while the broker blocks publishing. */
static int
can_publish(void)
{
	return usable() && A.blocked_at == 0;
}

/*
 * The longest one request can hold its delivery unacked: every run to its
 * time limit and grace, and the doubling delays between the retries.
 */
static int64_t
worst_case_ms(const struct conf *c)
{
	int64_t	 t = 0, delay = c->retry_delay_ms;
	int	 i;

	for (i = 0; i <= c->retries; i++) {
		t += c->hook_timeout_ms + c->hook_grace_ms;
		if (i < c->retries) {
			t += delay < RETRY_DELAY_MAX ? delay : RETRY_DELAY_MAX;
			if (delay < RETRY_DELAY_MAX)
				delay *= 2;
		}
	}
	return t;
}

/* RabbitMQ's consumer_timeout, when the broker's reason says it fired. */
static int
consumer_timed_out(const char *why)
{
	return strstr(why, "PRECONDITION_FAILED") != NULL &&
	    strstr(why, "acknowledgement") != NULL &&
	    strstr(why, "timed out") != NULL;
}

static void
lost(void)
{
	struct delivery	*d, *t;
	int64_t		 delay = 0;

	log_error(NULL, "broker connection lost: %s", A.broken);
	if (consumer_timed_out(A.broken)) {
		metrics_consumer_timeout();
		if (A.jdown_at)
			log_error(NULL, "the broker's consumer_timeout passed "
			    "while requests waited, unacknowledged, for the "
			    "journal %s to be writable again (for %lld s): the "
			    "broker requeues them; free space there",
			    A.conf->state_dir,
			    (long long)((now_ms() - A.jdown_at) / 1000));
		else
			log_error(NULL, "the broker's consumer_timeout passed "
			    "while a request was unacknowledged: the broker "
			    "requeues what this connection held, and another "
			    "agent on the queue may run it again (agents that "
			    "share HCA_STATE_DIR do not); raise consumer_timeout "
			    "(rabbitmq.conf, or the queue's x-consumer-timeout) "
			    "above the %lld s one request can take here, or "
			    "lower HCA_HOOK_TIMEOUT, HCA_RETRIES or "
			    "HCA_RETRY_DELAY", (long long)(worst_case_ms(A.conf) /
			    1000));
	}
	status_set(A.stopping != STOP_NONE ? ST_STOPPING : ST_RECONNECTING,
	    A.broken);
	A.broken[0] = '\0';
	A.blocked_at = 0;	/* a new connection starts unblocked */
	metrics_blocked(0);
	/* The library may have closed the socket already: use our copy. */
	ev_fd_del(A.fd);
	A.fd = -1;
	broker_close(A.b, 0);
	A.b = NULL;
	A.gen++;
	/* Not started yet: the broker will deliver them again. */
	TAILQ_FOREACH_SAFE(d, &A.waiting, entry, t) {
		dtake(d);
		delivery_free(d);
	}
	TAILQ_FOREACH_SAFE(d, &A.held, entry, t) {
		dtake(d);
		delivery_free(d);
	}
	/* Sent but unconfirmed: send again after the reconnect. */
	TAILQ_FOREACH(d, &A.publishing, entry)
		d->ptag = 0;
	if (now_ms() - A.connected_at >= STABLE_MS)
		A.backoff = 0;
	else {
		/*
		 * Lost again soon after connecting (e.g. a delivery that
		 * librabbitmq cannot decode kills every connection): back
		 * off instead of reconnecting in a busy loop.
		 */
		delay = A.backoff;
		A.backoff = A.backoff ? A.backoff * 2 : BACKOFF_MIN;
		if (A.backoff > BACKOFF_MAX)
			A.backoff = BACKOFF_MAX;
	}
	if (A.stopping == STOP_NONE || A.nrunning ||
	    !TAILQ_EMPTY(&A.publishing))
		ev_timer_at(&A.reconnect, now_ms() + delay);
}

static void
on_broker_fd(int fd, int revents, void *arg)
{
	(void)fd;
	(void)revents;
	(void)arg;
	A.readable = 1;		/* broker_pump() runs after the round */
}

static void	 on_connected(int, int, void *);

/* Try to connect, in a thread of its own (broker_connect()). */
static void
on_reconnect(void *arg)
{
	(void)arg;
	A.attempts++;
	log_info(NULL, "connecting to the broker (attempt %d)", A.attempts);
	if ((A.connecting = broker_connect(A.conf)) == NULL ||
	    ev_fd_add(broker_connect_fd(A.connecting), POLLIN, on_connected,
	    NULL) == -1) {
		log_error(NULL, "cannot start connecting: %s", strerror(errno));
		if (A.connecting) {
			broker_connect_abandon(A.connecting);
			A.connecting = NULL;
		}
		ev_timer_at(&A.reconnect, now_ms() + BACKOFF_MAX);
	}
}

/* The connecting thread is done. */
static void
on_connected(int fd, int revents, void *arg)
{
	char		 err[512];
	enum broker_err	 kind;
	int64_t		 delay;

	(void)revents;
	(void)arg;
	ev_fd_del(fd);
	A.b = broker_connected(A.connecting, err, sizeof(err), &kind);
	A.connecting = NULL;
	if (A.b == NULL) {
		if (kind == BROKER_FATAL && A.connected_at == 0) {
			log_error(NULL, "cannot start: %s", err);
			status_set(ST_STOPPED, err);
			A.status = 1;
			A.done = 1;
			return;
		}
		A.backoff = A.backoff ? A.backoff * 2 : BACKOFF_MIN;
		if (A.backoff > BACKOFF_MAX)
			A.backoff = BACKOFF_MAX;
		/* Jitter of up to a quarter, so that agents do not march. */
		delay = A.backoff - (int64_t)arc4random_uniform(
		    (uint32_t)(A.backoff / 4 + 1));
		log_warn(NULL, "%s; retrying in %.1f s", err, delay / 1000.0);
		if (A.stopping == STOP_NONE)
			status_set(ST_RECONNECTING, err);
		ev_timer_at(&A.reconnect, now_ms() + delay);
		return;
	}
	if (A.connected_at)
		metrics_reconnect();
	A.attempts = 0;
	A.connected_at = now_ms();
	A.fd = broker_fd(A.b);
	if (ev_fd_add(A.fd, POLLIN, on_broker_fd, NULL) == -1) {
		/* Unwatched, it would be read only every half heartbeat. */
		fail("cannot watch the broker connection");
		return;
	}
	if (A.stopping != STOP_NONE && broker_cancel(A.b) == -1)
		fail("cancelling the consumer failed");
	if (A.stopping == STOP_NONE)
		status_set(ST_CONSUMING, NULL);
	publish_pending();
}

/* ---- replies ------------------------------------------------------- */

/* A copy of a jv string's bytes, NUL-terminated; NULL if out of memory. */
static char *
jv_text(jv s, size_t *len)
{
	char	*t;

	*len = (size_t)jv_string_length_bytes(jv_copy(s));
	if ((t = malloc(*len + 1)) != NULL)
		memcpy(t, jv_string_value(s), *len + 1);
	jv_free(s);
	return t;
}

/*
 * HCA_TYPE_FROM=body:FIELD: the reply as it goes out, with its kind in
 * FIELD.  The journal keeps it without (d->out), so that a reply sent again
 * after a restart under another HCA_TYPE_FROM goes out in that one's form.
 * -1 if out of memory.
 */
static int
set_wire(struct delivery *d)
{
	jv	 body;

	if (A.conf->type_from.where != TF_BODY)
		return 0;
	body = json_parse(d->out, d->outlen);
	if (jv_get_kind(body) != JV_KIND_OBJECT)	/* it is ours */
		body = (jv_free(body), jv_object());
	body = reply_wire_body(body, d->rtype, &A.conf->type_from);
	d->wire = jv_text(jv_dump_string(body, 0), &d->wirelen);
	return d->wire ? 0 : -1;
}

static void
publish_one(struct delivery *d)
{
	amqp_bytes_t	 rk;

	rk = d->reply_to.len ? d->reply_to :
	    amqp_cstring_bytes(A.conf->queue_out);
	if (broker_publish(A.b, rk, d->corr, &A.conf->type_from, d->rtype,
	    d->wire ? d->wire : d->out, d->wire ? d->wirelen : d->outlen,
	    &d->ptag) == -1) {
		d->ptag = 0;
		fail("publishing a reply failed");
		return;
	}
	d->pgen = A.gen;
	log_debug(&d->log, "reply published to %.*s, confirm tag %llu",
	    (int)rk.len, (char *)rk.bytes, (unsigned long long)d->ptag);
}

/*
 * Its reply is ready and joins the line to be published.  Its claim goes
 * now if the reply is journaled (an agent holding a redelivery finds it
 * there); else it is kept, and touched, until the delivery is freed.
 */
static void
to_publish(struct delivery *d)
{
	if (d->journaled)
		unclaim(d);
	dput(d, D_PUBLISHING, 0);
	if (can_publish())
		publish_one(d);
}

static void
publish_pending(void)
{
	struct delivery	*d;

	TAILQ_FOREACH(d, &A.publishing, entry) {
		if (!can_publish())
			return;
		if (d->ptag == 0)
			publish_one(d);
	}
}

static void
on_republish(void *arg)
{
	(void)arg;
	publish_pending();
}

static void schedule(void);
static int journal_answer(struct delivery *);

/*
 * A hook could not be started for a shortage of descriptors, processes or
 * memory (an agent's problem, not the user's): the request goes back to the
 * head of the line, unanswered, and no more hooks are started than run now
 * until one of them ends; with none running, one is tried again a second
 * later.  Said once for each such spell.
 */
static void
defer(struct delivery *d)
{
	if (A.stopping != STOP_NONE || d->gen != A.gen) {
		/*
		 * Its connection is gone (the broker delivers it again, and
		 * that redelivery is in hand already) or we are stopping.
		 */
		if (usable() && d->gen == A.gen)
			broker_reject(A.b, d->tag, 1);
		delivery_free(d);
		return;
	}
	/* Past a hook's time limit of waiting, it is answered HookFailed. */
	if (d->deferred_at == 0)
		d->deferred_at = now_ms();
	else if (now_ms() - d->deferred_at > A.conf->hook_timeout_ms) {
		log_error(&d->log, "a hook could not be started for %lld ms; "
		    "answering HookFailed", (long long)(now_ms() -
		    d->deferred_at));
		d->req.deferrable = 0;
	}
	dput(d, D_WAITING, 1);
	metrics_deferred();
	if (A.deferred++ == 0)
		log_rated(LL_WARN, &d->log, NULL, "cannot start a hook for "
		    "want of descriptors, processes or memory; the request "
		    "waits, and no more than %d hook(s) run until one ends",
		    A.nrunning);
	A.limit = A.nrunning;
	if (A.limit == 0)
		ev_timer_at(&A.restart, now_ms() + RESTART_MS);
}

/*
 * A hook ended: what it held is free, so one more than before may start,
 * until HCA_CONCURRENCY is reached again (a shortage that lasts costs a
 * failed start now and then, not one per free slot).
 */
static void
undefer(void)
{
	if (A.limit >= A.conf->concurrency)
		return;
	ev_timer_stop(&A.restart);
	if (++A.limit < A.conf->concurrency)
		return;
	log_info(NULL, "hooks start again up to %d at once; %d start(s) had to "
	    "wait", A.conf->concurrency, A.deferred);
	A.deferred = 0;
}

static void
on_restart(void *arg)
{
	(void)arg;
	A.limit = 1;		/* one try; more as hooks end */
	schedule();
}

/*
 * The journal cannot be written (a full disk, a read-only filesystem): the
 * reply in hand is published all the same (its hook has run), but no new
 * request starts until the journal can be written again, so that the
 * promise that a reply is on disk before it is published holds for them.
 * They wait, unacked, in line and in the queue.  Tried every JPROBE_MS.
 */
static void
journal_down(struct delivery *d, const char *why)
{
	metrics_journal_error();
	A.unjournaled++;
	log_debug(&d->log, "reply published without the journal: %s", why);
	/* The probe must find room for more than this entry. */
	if (d->outlen + PROBE_SLACK > A.jneed)
		A.jneed = d->outlen + PROBE_SLACK;
	if (A.jdown_at)
		return;
	if (ev_timer_at(&A.jprobe, now_ms() + JPROBE_MS) == -1) {
		/* No way to notice its return: do not stop for it. */
		log_error(&d->log, "journal %s cannot be written (%s); "
		    "publishing without it", A.conf->state_dir, why);
		return;
	}
	A.jdown_at = now_ms();
	metrics_journal_failing(1);
	status_journal(why);
	log_error(&d->log, "journal %s cannot be written (%s): replies in "
	    "hand are published without it, and no new request starts until "
	    "it can be written again (tried every %d s)", A.conf->state_dir,
	    why, JPROBE_MS / 1000);
}

static void
on_jprobe(void *arg)
{
	(void)arg;
	if (journal_probe(A.jneed) == -1) {
		metrics_journal_error();
		if (ev_timer_at(&A.jprobe, now_ms() + JPROBE_MS) != -1)
			return;
		log_error(NULL, "journal %s: cannot wait to try it again; "
		    "going on without it", A.conf->state_dir);
	} else
		log_info(NULL, "journal %s can be written again after %.1f "
		    "s; %d repl%s went out without it meanwhile",
		    A.conf->state_dir, (now_ms() - A.jdown_at) / 1000.0,
		    A.unjournaled, A.unjournaled == 1 ? "y" : "ies");
	A.jdown_at = 0;
	A.unjournaled = 0;
	A.jneed = 0;
	metrics_journal_failing(0);
	status_journal(NULL);
	schedule();
}

static void
on_job_done(const struct reply *r, void *arg)
{
	struct delivery	*d = arg;

	dtake(d);
	if (r->deferred && !d->abandon) {
		unclaim(d);
		defer(d);
		return;
	}
	undefer();
	if (d->abandon) {
		log_warn(&d->log, "stopping: reply dropped, the request goes "
		    "back to the queue");
		delivery_free(d);
		schedule();
		return;
	}
	d->rtype = r->type;
	d->out = jv_text(jv_dump_string(jv_copy(r->body), 0), &d->outlen);
	if (d->out == NULL || set_wire(d) == -1) {
		log_error(&d->log, "out of memory keeping the reply; the "
		    "request goes back to the queue");
		if (usable() && d->gen == A.gen)
			broker_reject(A.b, d->tag, 1);
		delivery_free(d);
		schedule();
		return;
	}
	d->counted = r->counted;
	/* A kind not in the table is answered the same without a hook. */
	if (A.conf->state_dir && d->req.kind && kind_lookup(d->req.kind)) {
		if (journal_put(d->corr.bytes, d->corr.len, d->req.kind, d->rtype,
		    d->out, d->outlen) == -1)
			journal_down(d, strerror(errno));
		else
			d->journaled = 1;
	}
	to_publish(d);
	schedule();
}

static void
on_confirm(void *arg, uint64_t tag, int multiple, int ok)
{
	struct delivery	*d, *t;

	(void)arg;
	TAILQ_FOREACH_SAFE(d, &A.publishing, entry, t) {
		if (d->ptag == 0 || d->pgen != A.gen ||
		    !(d->ptag == tag || (multiple && d->ptag < tag)))
			continue;
		if (!ok) {
			metrics_nack();
			log_rated(LL_WARN, &d->log, NULL, "the broker "
			    "refused the reply (nack); sending it again");
			d->ptag = 0;
			ev_timer_at(&A.republish, now_ms() + RENACK_MS);
			continue;
		}
		dtake(d);
		if (d->journaled)
			journal_confirmed(d->corr.bytes, d->corr.len);
		if (d->gen == A.gen) {
			if (broker_ack(A.b, d->tag) == -1)
				fail("acking a request failed");
			else
				log_debug(&d->log, "request acked");
		} else {
			log_info(&d->log, "reply confirmed; the request came "
			    "on an earlier connection and is acked when it "
			    "is redelivered");
			answered_add(d->corr);
		}
		delivery_free(d);
	}
}

static void
on_returned(void *arg, const amqp_basic_properties_t *p, const char *why)
{
	struct logctx	 lc = { NULL, NULL };
	struct delivery	*d;
	char		*corr = NULL;

	(void)arg;
	if (p->_flags & AMQP_BASIC_CORRELATION_ID_FLAG)
		corr = bytes_str(p->correlation_id);
	lc.corr = corr;
	log_error(&lc, "reply could not be routed and is dropped: %s", why);
	free(corr);
	/* Counted as sent when it was made: count it apart, once. */
	if (p->_flags & AMQP_BASIC_CORRELATION_ID_FLAG)
		TAILQ_FOREACH(d, &A.publishing, entry)
			if (d->ptag && !d->unroutable &&
			    bytes_eq(d->corr, p->correlation_id)) {
				d->unroutable = 1;
				if (d->counted >= 0)
					metrics_unroutable(d->req.kind, d->counted);
				break;
			}
}

/*
 * connection.blocked: the broker (a memory or disk alarm) will not read
 * what a publisher sends, and a publish would wait in the socket's buffer
 * and then hold up the loop.  Replies are kept, in order, until it lifts.
 */
static void
on_blocked(void *arg, const char *reason)
{
	struct delivery	*d;
	int		 n = 0;

	(void)arg;
	TAILQ_FOREACH(d, &A.publishing, entry)
		n += d->ptag == 0;
	if (reason && A.blocked_at == 0) {
		A.blocked_at = now_ms();
		log_warn(NULL, "the broker blocks publishing (%s): replies wait "
		    "until it unblocks", reason);
	} else if (reason == NULL && A.blocked_at) {
		log_info(NULL, "the broker unblocked publishing after %.1f s; "
		    "%d waiting replies go out", (now_ms() - A.blocked_at) /
		    1000.0, n);
		A.blocked_at = 0;
		publish_pending();
	}
	metrics_blocked(A.blocked_at != 0);
}

/* ---- requests ------------------------------------------------------ */

static void
schedule(void)
{
	struct delivery	*d;

	while (A.stopping == STOP_NONE && A.nrunning < A.limit &&
	    A.jdown_at == 0 && (d = TAILQ_FIRST(&A.waiting)) != NULL) {
		dtake(d);
		if (A.conf->state_dir && !d->claimed) {
			if (journal_claim(d->corr.bytes, d->corr.len) ==
			    CLAIM_HELD) {
				log_info(&d->log, "another agent runs this "
				    "request's hook (its claim in the "
				    "journal); waiting for its reply");
				dput(d, D_HELD, 0);
				continue;
			}
			d->claimed = 1;
			/*
			 * Another agent may have answered it while it waited
			 * here: its reply is journaled before its claim goes.
			 */
			if (d->req.redelivered && journal_answer(d))
				continue;
		}
		dput(d, D_RUNNING, 0);
		if (job_start(A.conf, &d->req, on_job_done, d) == NULL) {
			log_error(&d->log, "cannot start the request: %s; it "
			    "goes back to the queue", strerror(errno));
			if (usable() && d->gen == A.gen)
				broker_reject(A.b, d->tag, 1);
			delivery_free(d);
			return;
		}
	}
}

/* A redelivery of something already in hand takes over its new tag. */
static int
adopt(const amqp_envelope_t *e)
{
	struct dlist	*lists[] = { &A.running, &A.publishing };
	struct delivery	*d;
	size_t		 i;

	for (i = 0; i < 2; i++)
		TAILQ_FOREACH(d, lists[i], entry)
			if (d->gen != A.gen && bytes_eq(d->corr,
			    e->message.properties.correlation_id)) {
				d->tag = e->delivery_tag;
				d->gen = A.gen;
				log_info(&d->log, "redelivered while its hook "
				    "%s; not run again", d->state == D_RUNNING
				    ? "is still running" : "reply is on its "
				    "way");
				return 1;
			}
	return 0;
}

/*
 * A reply to d's request in the journal: send it again, or, if the broker
 * confirmed it already, only acknowledge the request.  1 if d is answered
 * so (and gone: freed, or on its way), 0 if there is none.
 */
static int
journal_answer(struct delivery *d)
{
	const char	*type = NULL;
	char		*body = NULL;
	size_t		 len = 0;
	int		 confirmed = 0;

	if (d->req.kind == NULL || !journal_get(d->corr.bytes, d->corr.len,
	    d->req.kind, &type, &body, &len, &confirmed))
		return 0;
	if (confirmed) {
		log_info(&d->log, "redelivered request's reply was confirmed "
		    "already (journal); acked without sending it again");
		if (usable() && d->gen == A.gen)
			broker_ack(A.b, d->tag);
		free(body);
		delivery_free(d);
		return 1;
	}
	log_info(&d->log, "redelivered request answered from the journal "
	    "(%s); hook not run", type);
	d->rtype = type;
	d->out = body;
	d->outlen = len;
	if (set_wire(d) == -1) {
		/* Kept in the journal: a later redelivery finds it. */
		log_error(&d->log, "out of memory sending the journaled reply; "
		    "the request goes back to the queue");
		if (usable() && d->gen == A.gen)
			broker_reject(A.b, d->tag, 1);
		delivery_free(d);
		return 1;
	}
	d->journaled = 1;
	to_publish(d);
	return 1;
}

/*
 * Every second: the held requests, each answered from the journal once
 * its reply is there, or taken on when its claim lapses; every tenth, a
 * touch of the claims of the requests in hand, so that they do not lapse.
 */
static void
touch_claims(struct dlist *list)
{
	struct delivery	*d;

	TAILQ_FOREACH(d, list, entry)
		if (d->claimed)
			journal_claim_touch(d->corr.bytes, d->corr.len);
}

static int
count(const struct dlist *list)
{
	const struct delivery	*d;
	int			 n = 0;

	TAILQ_FOREACH(d, list, entry)
		n++;
	return n;
}

static void
on_claims(void *arg)
{
	struct delivery	*d;
	static int	 round;
	int		 n;

	(void)arg;
	/* Each once: one still held goes back to the tail, behind the rest. */
	for (n = count(&A.held); n > 0 && (d = TAILQ_FIRST(&A.held)); n--) {
		dtake(d);
		if (journal_answer(d))
			continue;
		if (journal_claim(d->corr.bytes, d->corr.len) == CLAIM_HELD) {
			dput(d, D_HELD, 0);
			continue;
		}
		d->claimed = 1;
		log_info(&d->log, "the other agent's claim lapsed without a "
		    "reply; running the hook here");
		dput(d, D_WAITING, 1);
	}
	/*
	 * Every claim we hold stays fresh: of requests running, of those
	 * waiting to start again (after a lapsed claim, or while the journal
	 * cannot be written), and of replies going out unjournaled.
	 */
	if (++round % 10 == 0) {
		touch_claims(&A.running);
		touch_claims(&A.waiting);
		touch_claims(&A.publishing);
	}
	schedule();
	ev_timer_at(&A.claims, now_ms() + CLAIMS_MS);
}

/*
 * The delivery of a request, with the request as it came: every copy of
 * its bytes is made here, once.  NULL if out of memory.
 */
static struct delivery *
delivery_new(const amqp_envelope_t *e, int oversize)
{
	const amqp_basic_properties_t	*p = &e->message.properties;
	struct delivery			*d;
	struct request			*r;
	int				 oom;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	r = &d->req;
	d->tag = e->delivery_tag;
	d->counted = -1;	/* until a job counts its reply */
	d->gen = A.gen;
	r->redelivered = e->redelivered;
	r->oversize = oversize;
	r->deferrable = 1;
	r->corr_len = p->correlation_id.len;
	r->corr = malloc(r->corr_len + 1);
	r->body_len = e->message.body.len;
	r->body = malloc(r->body_len + 1);
	if ((p->_flags & AMQP_BASIC_REPLY_TO_FLAG) && p->reply_to.len &&
	    (d->reply_to = amqp_bytes_malloc_dup(p->reply_to)).bytes == NULL)
		goto fail;
	if (r->corr == NULL || r->body == NULL)
		goto fail;
	memcpy(r->corr, p->correlation_id.bytes, r->corr_len);
	r->corr[r->corr_len] = '\0';
	if (r->body_len)	/* an empty body may have no buffer at all */
		memcpy(r->body, e->message.body.bytes, r->body_len);
	r->body[r->body_len] = '\0';
	/* Where HCA_TYPE_FROM says: a property, a header or the body. */
	r->kind = A.conf->type_from.where == TF_BODY ?
	    request_body_kind(r->body, r->body_len, A.conf->type_from.name,
	    &oom) : client_kind(p, &A.conf->type_from, &oom);
	if (oom)
		goto fail;
	d->corr.bytes = r->corr;
	d->corr.len = r->corr_len;
	/* A correlation id with a NUL inside is answered, not trusted. */
	d->log.corr = request_corr_text(r);
	d->log.kind = r->kind;
	return d;
fail:
	delivery_free(d);
	return NULL;
}

static void
on_deliver(void *arg, const amqp_envelope_t *e, int oversize)
{
	const amqp_basic_properties_t	*p = &e->message.properties;
	struct delivery			*d;
	struct logctx			 lc = { NULL, NULL };

	(void)arg;
	if (A.stopping != STOP_NONE) {
		/* Arrived before the broker saw our cancel: for another agent. */
		broker_reject(A.b, e->delivery_tag, 1);
		return;
	}
	if (!(p->_flags & AMQP_BASIC_CORRELATION_ID_FLAG) ||
	    p->correlation_id.len == 0) {
		log_error(NULL, "request without correlation_id cannot be "
		    "answered; rejected (to the dead-letter exchange, if any)");
		broker_reject(A.b, e->delivery_tag, 0);
		return;
	}
	if (e->redelivered) {
		if (adopt(e))
			return;
		if (answered_take(p->correlation_id)) {
			char *c = bytes_str(p->correlation_id);
			lc.corr = c;
			log_info(&lc, "redelivered request was answered "
			    "already; acked without running the hook");
			free(c);
			broker_ack(A.b, e->delivery_tag);
			return;
		}
	}
	if ((d = delivery_new(e, oversize)) == NULL)
		goto nomem;
	if (e->redelivered && A.conf->state_dir && journal_answer(d))
		return;
	dput(d, D_WAITING, 0);
	schedule();
	return;
nomem:
	log_error(NULL, "out of memory taking a request; it goes back to the "
	    "queue");
	broker_reject(A.b, e->delivery_tag, 1);
}

/* ---- stopping ------------------------------------------------------ */

static void
force_stop(void)
{
	struct delivery	*d;

	if (A.stopping == STOP_FORCE)
		return;
	A.stopping = STOP_FORCE;
	log_warn(NULL, "stopping now: terminating %d running hook(s); their "
	    "requests go back to the queue", A.nrunning);
	TAILQ_FOREACH(d, &A.running, entry)
		d->abandon = 1;
	jobs_terminate();
}

static void
on_stop_timer(void *arg)
{
	(void)arg;
	log_warn(NULL, "HCA_STOP_TIMEOUT reached");
	force_stop();
}

static void
on_signal(int sig, void *arg)
{
	struct delivery	*d, *t;

	(void)arg;
	if (sig == SIGHUP) {
		char why[PATH_MAX + 200];

		if (log_reopen(why, sizeof(why)) == -1)
			log_error(NULL, "reopening the log: %s", why);
		return;
	}
	if (A.stopping != STOP_NONE) {
		force_stop();
		return;
	}
	A.stopping = STOP_DRAIN;
	status_set(ST_STOPPING, NULL);
	log_info(NULL, "%s: stopping; waiting for %d running hook(s)",
	    strsignal(sig), A.nrunning);
	if (usable() && broker_cancel(A.b) == -1)
		fail("cancelling the consumer failed");
	TAILQ_FOREACH_SAFE(d, &A.waiting, entry, t) {
		dtake(d);
		if (usable() && d->gen == A.gen)
			broker_reject(A.b, d->tag, 1);
		delivery_free(d);
	}
	TAILQ_FOREACH_SAFE(d, &A.held, entry, t) {
		dtake(d);
		if (usable() && d->gen == A.gen)
			broker_reject(A.b, d->tag, 1);
		delivery_free(d);
	}
	ev_timer_at(&A.stop, now_ms() + A.conf->stop_timeout_ms);
}

static void
write_metrics(void)
{
	metrics_running(A.nrunning);
	if (metrics_write(A.conf->metrics_file) == -1)
		log_warn(NULL, "writing %s: %s", A.conf->metrics_file,
		    strerror(errno));
}

static void
on_metrics(void *arg)
{
	(void)arg;
	write_metrics();
	ev_timer_at(&A.metrics, now_ms() + A.conf->metrics_interval_ms);
}

static void
on_status(void *arg)
{
	(void)arg;
	status_touch();
	ev_timer_at(&A.status_timer, now_ms() + STATUS_TOUCH_MS);
}

static void
on_sweep(void *arg)
{
	(void)arg;
	journal_sweep();
	ev_timer_at(&A.sweep, now_ms() + 3600 * 1000);
}

static int
drained(void)
{
	return A.stopping != STOP_NONE && A.nrunning == 0 &&
	    (TAILQ_EMPTY(&A.publishing) || A.stopping == STOP_FORCE);
}

static void
free_list(struct dlist *list)
{
	struct delivery	*d;

	while ((d = TAILQ_FIRST(list)) != NULL)
		delivery_free(d);	/* it dtakes */
}

int
agent_run(const struct conf *c, int state_fd)
{
	static const struct broker_events evs = {
		on_deliver, on_confirm, on_returned, on_blocked, NULL
	};
	char		 err[512];
	int64_t		 tick, due;

	memset(&A, 0, sizeof(A));
	A.conf = c;
	A.fd = -1;
	TAILQ_INIT(&A.waiting);
	TAILQ_INIT(&A.held);
	TAILQ_INIT(&A.running);
	TAILQ_INIT(&A.publishing);
	TAILQ_INIT(&A.answered);
	ev_timer_init(&A.reconnect, on_reconnect, NULL);
	ev_timer_init(&A.stop, on_stop_timer, NULL);
	ev_timer_init(&A.republish, on_republish, NULL);
	ev_timer_init(&A.metrics, on_metrics, NULL);
	ev_timer_init(&A.sweep, on_sweep, NULL);
	ev_timer_init(&A.restart, on_restart, NULL);
	ev_timer_init(&A.claims, on_claims, NULL);
	ev_timer_init(&A.status_timer, on_status, NULL);
	ev_timer_init(&A.jprobe, on_jprobe, NULL);
	A.limit = c->concurrency;
	if (state_fd != -1) {
		if (journal_open(state_fd, c->state_dir, c->journal_ttl_ms,
		    (size_t)c->journal_max) == -1) {
			log_error(NULL, "journal %s: %s", c->state_dir,
			    strerror(errno));
			return 1;
		}
		ev_timer_at(&A.sweep, now_ms() + 3600 * 1000);
		ev_timer_at(&A.claims, now_ms() + CLAIMS_MS);
	}
	if (c->metrics_file)
		ev_timer_at(&A.metrics, now_ms());
	ev_signal(SIGTERM, on_signal, NULL);
	ev_signal(SIGINT, on_signal, NULL);
	ev_signal(SIGHUP, on_signal, NULL);
	if (getuid() == 0 || geteuid() == 0)
		log_warn(NULL, "running as root: hooks run as root too (set "
		    "HCA_USER to run as another user)");
	if (worst_case_ms(c) > CONSUMER_TIMEOUT_MS)
		log_warn(NULL, "one request can take up to %lld s (%d run(s) of "
		    "HCA_HOOK_TIMEOUT + HCA_HOOK_GRACE and the delays of "
		    "HCA_RETRIES), more than RabbitMQ's default consumer_timeout "
		    "of %d s: unless the broker's is higher, it closes the "
		    "channel and requeues such a request", (long long)(
		    worst_case_ms(c) / 1000), c->retries + 1,
		    CONSUMER_TIMEOUT_MS / 1000);
	log_info(NULL, "hca-exec %s starting: service %s, hooks %s, "
	    "concurrency %d", HCA_VERSION, c->service, c->hooks_dir,
	    c->concurrency);

	status_init(c->status_file, c->service, c->queue_in);
	if (c->status_file)
		ev_timer_at(&A.status_timer, now_ms() + STATUS_TOUCH_MS);
	on_reconnect(NULL);
	while (!A.done) {
		/*
		 * librabbitmq reads ahead (during RPCs too): handle every
		 * frame it holds before sleeping, or poll would not wake.
		 */
		if (usable() && broker_pump(A.b, &evs, A.readable, err,
		    sizeof(err)) == -1)
			fail(err);
		A.readable = 0;
		if (A.b && A.broken[0])
			lost();
		if (drained() || A.done)
			break;
		tick = usable() ? broker_due(A.b) : 30000;
		if ((due = log_rated_flush()) >= 0 && due < tick)
			tick = due;
		if (ev_run_once(tick) == -1) {
			log_error(NULL, "poll: %s", strerror(errno));
			A.status = 1;
			break;
		}
	}
	if (A.b) {
		ev_fd_del(A.fd);
		broker_close(A.b, A.broken[0] == '\0');
		A.b = NULL;
	}
	if (A.connecting) {
		/* It may wait for a silent broker for a while yet: no more. */
		ev_fd_del(broker_connect_fd(A.connecting));
		broker_connect_abandon(A.connecting);
		A.connecting = NULL;
	}
	log_rated_end();
	if (A.stopping != STOP_NONE)
		log_info(NULL, "stopped");
	/*
	 * What is left when the loop ends early (poll failed, a fatal
	 * error): their claims go now, not when they lapse.  A running
	 * request's job still holds its request.
	 */
	free_list(&A.waiting);
	free_list(&A.held);
	free_list(&A.publishing);
	while (!TAILQ_EMPTY(&A.answered)) {
		struct answered *a = TAILQ_FIRST(&A.answered);
		TAILQ_REMOVE(&A.answered, a, entry);
		amqp_bytes_free(a->corr);
		free(a);
	}
	ev_timer_stop(&A.reconnect);
	ev_timer_stop(&A.stop);
	ev_timer_stop(&A.republish);
	ev_timer_stop(&A.metrics);
	ev_timer_stop(&A.sweep);
	ev_timer_stop(&A.restart);
	ev_timer_stop(&A.claims);
	ev_timer_stop(&A.status_timer);
	ev_timer_stop(&A.jprobe);
	status_set(ST_STOPPED, NULL);
	journal_close();
	if (c->metrics_file)
		write_metrics();
	return A.status;
}
