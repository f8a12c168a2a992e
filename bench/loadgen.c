/*
 * loadgen.c: drive a consumer of a RabbitMQ queue and time its work.
 *
 *	loadgen -q QUEUE [-u URL] [-n N] [-m M] [-w W] [-W WARMUP] [-o]
 *	    [-B BROKER_PID] [-L LABEL] [-T SECONDS] -- CONSUMER [ARG...]
 *
 * Declares QUEUE (durable, as hca-exec --declare does) and empties it,
 * starts CONSUMER, waits until it consumes QUEUE, then runs three passes of
 * ResourceAllocateV1 requests, each with its sequence number as correlation
 * id and in its body (bench/benchlib.c):
 *
 *	warm-up		WARMUP requests, W in flight; not measured
 *	throughput	N requests published at once; the time from the first
 *			publish to the last completion; in between, the CPU
 *			time of the consumer itself (/proc/PID/schedstat), of
 *			its hooks (reaped children) and of the broker (-B)
 *	latency		M requests, W in flight at any time (a closed loop), so
 *			that a request never waits for a free hook slot: its
 *			latency is service time, not queueing
 *
 * A request is complete when its reply arrives on our own reply_to queue
 * (hca-exec), or, with -o, when the hook's output line "bench-SEQ-PID"
 * arrives on CONSUMER's stdout (amqp-consume, which does not reply; the line
 * is written just before the hook exits, before amqp-consume acks).
 * Overhead is a request's latency minus its hook's life from fork to exit
 * (the kernel's taskstats record for the PID in the hook's output).
 *
 * The consumer's idle RSS is read once it consumes, its peak (VmHWM) at the
 * end; then it gets SIGTERM.  Prints one result line (benchlib.h).  Exits 1
 * if the harness fails: no consumer, a consumer that dies, replies missing
 * after the time limit, wrong or failed replies.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <amqp.h>

#include "benchlib.h"
#include "client.h"

#define CH_PUB		1	/* publishing, queue operations */
#define CH_REPLY	2	/* consuming our reply queue */
#define REPLY_TYPE	"ResourceCreatedV1"
#define READY_MS	30000

struct req {
	int64_t		 sent, done;
	pid_t		 pid;
};

static struct {
	struct client		 cl;
	amqp_bytes_t		 queue, replyq;
	int			 lines;		/* -o */
	int			 outfd;
	char			 lbuf[4096];
	size_t			 llen;
	pid_t			 cpid;
	int			 cstatus, cgone;
	struct tstat		*ts;
	struct req		*req;
	unsigned long		 total, errors;
	int64_t			 limit_ns;
	/* the pass under way */
	unsigned long		 first, count, next, done;
	int			 window;
	int64_t			*lat;
	size_t			 nlat;
} G;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: loadgen -q QUEUE [-u URL] [-n N] [-m M] "
	    "[-w W] [-W WARMUP] [-o] [-B BROKER_PID] [-L LABEL] [-T SECONDS] "
	    "-- CONSUMER [ARG...]\n");
	exit(2);
}

static void
stop_consumer(void)
{
	int	 i, st;

	if (G.cpid <= 0 || G.cgone)
		return;
	kill(G.cpid, SIGTERM);
	for (i = 0; i < 2000; i++) {	/* 20 s */
		if (waitpid(G.cpid, &st, WNOHANG) == G.cpid) {
			G.cstatus = st;
			G.cgone = 1;
			return;
		}
		usleep(10000);
	}
	fprintf(stderr, "loadgen: consumer %d ignores SIGTERM; killing it\n",
	    (int)G.cpid);
	kill(G.cpid, SIGKILL);
	waitpid(G.cpid, &G.cstatus, 0);
	G.cgone = 1;
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "loadgen: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	stop_consumer();
	exit(1);
}

static void
check_rpc(const char *what)
{
	char	 err[1024];
	int	 fatal;

	if (client_check(&G.cl, what, err, sizeof(err), &fatal) == -1)
		die("%s", err);
}

static void
consumer_alive(void)
{
	int	 st;

	if (G.cgone || waitpid(G.cpid, &st, WNOHANG) != G.cpid)
		return;
	G.cgone = 1;
	G.cstatus = st;
	if (WIFEXITED(st))
		die("the consumer exited with status %d", WEXITSTATUS(st));
	die("the consumer was killed by signal %d", WTERMSIG(st));
}

static void
publish(unsigned long seq)
{
	amqp_basic_properties_t	 p;
	char			 corr[32], body[512];
	int			 n;

	if ((n = bench_body(body, sizeof(body), seq)) == -1)
		die("request body too long");
	snprintf(corr, sizeof(corr), "%lu", seq);
	memset(&p, 0, sizeof(p));
	p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG |
	    AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_TYPE_FLAG |
	    AMQP_BASIC_CORRELATION_ID_FLAG | AMQP_BASIC_TIMESTAMP_FLAG;
	p.content_type = amqp_cstring_bytes("application/json");
	p.delivery_mode = 2;
	p.type = amqp_cstring_bytes("ResourceAllocateV1");
	p.correlation_id = amqp_cstring_bytes(corr);
	p.timestamp = (uint64_t)time(NULL);
	if (!G.lines) {
		p._flags |= AMQP_BASIC_REPLY_TO_FLAG;
		p.reply_to = G.replyq;
	}
	G.req[seq].sent = mono_ns();
	if (amqp_basic_publish(G.cl.conn, CH_PUB, amqp_empty_bytes, G.queue, 0,
	    0, &p, (amqp_bytes_t){ (size_t)n, body }) != AMQP_STATUS_OK)
		die("publishing request %lu failed", seq);
}

/* Request seq is complete (ok: its reply or output is right). */
static void
complete(unsigned long seq, pid_t pid, int ok)
{
	struct req	*r;
	int64_t		 now = mono_ns();

	if (seq >= G.total || G.req[seq].sent == 0 || G.req[seq].done) {
		fprintf(stderr, "loadgen: unexpected completion of %lu\n",
		    seq);
		G.errors++;
		return;
	}
	r = &G.req[seq];
	r->done = now;
	r->pid = pid;
	if (!ok)
		G.errors++;
	if (seq < G.first || seq >= G.first + G.count) {
		fprintf(stderr, "loadgen: %lu completed in a later pass\n",
		    seq);
		G.errors++;
		return;
	}
	G.done++;
	if (G.lat)
		G.lat[G.nlat++] = r->done - r->sent;
	if (G.window && G.next < G.first + G.count)
		publish(G.next++);
}

static void
on_reply(const amqp_envelope_t *e)
{
	const amqp_basic_properties_t	*p = &e->message.properties;
	unsigned long			 seq, idseq = 0;
	pid_t				 pid = 0;
	char				 corr[32], *end;
	int				 ok;

	if (!(p->_flags & AMQP_BASIC_CORRELATION_ID_FLAG) ||
	    p->correlation_id.len == 0 ||
	    p->correlation_id.len >= sizeof(corr)) {
		fprintf(stderr, "loadgen: a reply without a usable "
		    "correlation id\n");
		G.errors++;
		return;
	}
	memcpy(corr, p->correlation_id.bytes, p->correlation_id.len);
	corr[p->correlation_id.len] = '\0';
	seq = strtoul(corr, &end, 10);
	if (*end != '\0') {
		fprintf(stderr, "loadgen: a reply to %s\n", corr);
		G.errors++;
		return;
	}
	ok = (p->_flags & AMQP_BASIC_TYPE_FLAG) &&
	    p->type.len == strlen(REPLY_TYPE) &&
	    memcmp(p->type.bytes, REPLY_TYPE, p->type.len) == 0 &&
	    bench_id(e->message.body.bytes, e->message.body.len, &idseq,
	    &pid) == 0 && idseq == seq;
	if (!ok)
		fprintf(stderr, "loadgen: reply to %lu: %.*s %.*s\n", seq,
		    (int)p->type.len, (char *)p->type.bytes,
		    (int)e->message.body.len, (char *)e->message.body.bytes);
	complete(seq, pid, ok);
}

/* Handle replies for at most ms milliseconds (0: only what is there). */
static void
pump_replies(int ms)
{
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };
	amqp_envelope_t	 env;
	amqp_rpc_reply_t r;
	amqp_frame_t	 f;
	int		 rc;

	for (;;) {
		amqp_maybe_release_buffers(G.cl.conn);
		r = amqp_consume_message(G.cl.conn, &env, &tv, 0);
		if (r.reply_type == AMQP_RESPONSE_NORMAL) {
			on_reply(&env);
			amqp_destroy_envelope(&env);
			tv.tv_sec = tv.tv_usec = 0;	/* then drain */
			continue;
		}
		if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
		    r.library_error == AMQP_STATUS_TIMEOUT)
			return;
		if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
		    r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
			tv.tv_sec = tv.tv_usec = 0;
			rc = amqp_simple_wait_frame_noblock(G.cl.conn, &f, &tv);
			if (rc == AMQP_STATUS_TIMEOUT)
				return;
			if (rc != AMQP_STATUS_OK)
				die("reading from the broker: %s",
				    amqp_error_string2(rc));
			if (f.frame_type == AMQP_FRAME_METHOD &&
			    (f.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
			    f.payload.method.id ==
			    AMQP_CONNECTION_CLOSE_METHOD))
				die("the broker closed the channel or "
				    "connection");
			continue;
		}
		die("reading replies: %s", r.reply_type ==
		    AMQP_RESPONSE_LIBRARY_EXCEPTION ?
		    amqp_error_string2(r.library_error) : "broker error");
	}
}

/* -o: handle the consumer's output lines for at most ms milliseconds. */
static void
pump_lines(int ms)
{
	struct pollfd	 pfd = { G.outfd, POLLIN, 0 };
	unsigned long	 seq;
	ssize_t		 n;
	pid_t		 pid;
	char		*nl;
	size_t		 len;

	if (poll(&pfd, 1, ms) <= 0)
		return;
	for (;;) {
		n = read(G.outfd, G.lbuf + G.llen, sizeof(G.lbuf) - G.llen);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n == 0)
			die("the consumer closed its stdout");
		if (n == -1)
			die("reading the consumer's stdout: %s",
			    strerror(errno));
		G.llen += (size_t)n;
		while ((nl = memchr(G.lbuf, '\n', G.llen)) != NULL) {
			len = (size_t)(nl - G.lbuf);
			if (bench_id(G.lbuf, len, &seq, &pid) == 0)
				complete(seq, pid, 1);
			else {
				fprintf(stderr, "loadgen: consumer output: "
				    "%.*s\n", (int)len, G.lbuf);
				G.errors++;
			}
			G.llen -= len + 1;
			memmove(G.lbuf, nl + 1, G.llen);
		}
		if (G.llen == sizeof(G.lbuf))
			die("the consumer writes overlong lines");
	}
}

static void
pump(int ms)
{
	if (G.lines)
		pump_lines(ms);
	else
		pump_replies(ms);
	if (tstat_read(G.ts) == -1)
		die("reading taskstats: %s", strerror(errno));
}

/*
 * One pass over requests first..first+count-1: all published at once
 * (window 0) or window of them in flight.  Latencies go to lat if given.
 */
static void
pass(unsigned long first, unsigned long count, int window, int64_t *lat)
{
	int64_t	 deadline = mono_ns() + G.limit_ns, t;

	G.first = G.next = first;
	G.count = count;
	G.done = 0;
	G.window = window;
	G.lat = lat;
	G.nlat = 0;
	while (G.next < first + count &&
	    (window == 0 || G.next < first + (unsigned long)window)) {
		publish(G.next++);
		if ((G.next - first) % 64 == 0)
			pump(0);	/* never let replies pile up unread */
	}
	while (G.done < count) {
		pump(100);
		consumer_alive();
		if ((t = mono_ns()) > deadline)
			die("%lu of %lu requests not complete after %lld s",
			    count - G.done, count,
			    (long long)(G.limit_ns / 1000000000));
	}
}

static void
connect_broker(const char *url)
{
	struct client_conf		 cf = { .url = url };
	amqp_queue_declare_ok_t		*dq;
	char				 err[1024];
	int				 fatal;

	if (client_open(&G.cl, &cf, err, sizeof(err), &fatal) == -1)
		die("%s", err);
	amqp_channel_open(G.cl.conn, CH_PUB);
	check_rpc("channel.open");
	amqp_queue_declare(G.cl.conn, CH_PUB, G.queue, 0, 1, 0, 0,
	    amqp_empty_table);
	check_rpc("declaring the request queue");
	amqp_queue_purge(G.cl.conn, CH_PUB, G.queue);
	check_rpc("purging the request queue");
	if (G.lines)
		return;
	amqp_channel_open(G.cl.conn, CH_REPLY);
	check_rpc("channel.open");
	dq = amqp_queue_declare(G.cl.conn, CH_REPLY, amqp_empty_bytes, 0, 0, 1, 1,
	    amqp_empty_table);
	check_rpc("declaring the reply queue");
	G.replyq = amqp_bytes_malloc_dup(dq->queue);
	amqp_basic_consume(G.cl.conn, CH_REPLY, G.replyq, amqp_empty_bytes, 0, 1,
	    1, amqp_empty_table);
	check_rpc("consuming the reply queue");
}

static void
start_consumer(char **argv)
{
	int	 p[2] = { -1, -1 }, null;

	if (G.lines && pipe2(p, O_CLOEXEC) == -1)
		die("pipe2: %s", strerror(errno));
	switch (G.cpid = fork()) {
	case -1:
		die("fork: %s", strerror(errno));
	case 0:
		if ((null = open("/dev/null", O_RDONLY)) != -1)
			dup2(null, 0);
		if (G.lines)
			dup2(p[1], 1);
		execvp(argv[0], argv);
		fprintf(stderr, "loadgen: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (G.lines) {
		close(p[1]);
		G.outfd = p[0];
		if (fcntl(G.outfd, F_SETFL, O_NONBLOCK) == -1)
			die("fcntl: %s", strerror(errno));
	}
	tstat_parent(G.ts, G.cpid);
}

/* Wait until the consumer consumes the queue. */
static void
wait_ready(void)
{
	amqp_queue_declare_ok_t	*q;
	int64_t			 deadline = mono_ns() + READY_MS * 1000000LL;

	for (;;) {
		q = amqp_queue_declare(G.cl.conn, CH_PUB, G.queue, 1, 0, 0, 0,
		    amqp_empty_table);
		check_rpc("checking the request queue");
		if (q->consumer_count > 0)
			return;
		consumer_alive();
		if (mono_ns() > deadline)
			die("the consumer did not consume %.*s within %d s",
			    (int)G.queue.len, (char *)G.queue.bytes,
			    READY_MS / 1000);
		usleep(20000);
	}
}

int
main(int argc, char *argv[])
{
	struct result	 res;
	const char	*url = getenv("HCA_URL"), *queue = NULL;
	unsigned long	 n = 1000, m = 200, warm = 0, i;
	int64_t		 cpu0, hcpu0, bcpu0, busy0, self0, t0, tend, life;
	pid_t		 bpid = 0;
	int		 ch, window = 1;

	memset(&res, 0, sizeof(res));
	res.label = "loadgen";
	G.limit_ns = 300 * 1000000000LL;
	while ((ch = getopt(argc, argv, "B:L:m:n:oq:T:u:w:W:")) != -1) {
		switch (ch) {
		case 'B':
			bpid = (pid_t)atoi(optarg);
			break;
		case 'L':
			res.label = optarg;
			break;
		case 'm':
			m = strtoul(optarg, NULL, 10);
			break;
		case 'n':
			n = strtoul(optarg, NULL, 10);
			break;
		case 'o':
			G.lines = 1;
			break;
		case 'q':
			queue = optarg;
			break;
		case 'T':
			G.limit_ns = strtoll(optarg, NULL, 10) * 1000000000LL;
			break;
		case 'u':
			url = optarg;
			break;
		case 'w':
			window = atoi(optarg);
			break;
		case 'W':
			warm = strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || queue == NULL || url == NULL || n == 0 ||
	    window < 1 || G.limit_ns <= 0)
		usage();
	if (warm == 0)
		warm = 2 * (unsigned long)window;
	G.queue = amqp_cstring_bytes(queue);
	G.total = warm + n + m;
	if ((G.req = calloc(G.total, sizeof(*G.req))) == NULL ||
	    (res.lat = calloc(m ? m : 1, sizeof(*res.lat))) == NULL ||
	    (res.ovh = calloc(m ? m : 1, sizeof(*res.ovh))) == NULL)
		die("out of memory");
	signal(SIGPIPE, SIG_IGN);
	G.ts = tstat_open();

	connect_broker(url);
	start_consumer(argv);
	wait_ready();
	usleep(300000);
	res.rss_idle_kb = proc_status_kb(G.cpid, "VmRSS");
	res.anon_idle_kb = proc_status_kb(G.cpid, "RssAnon");

	pass(0, warm, window, NULL);

	cpu0 = proc_cpu_ns(G.cpid);
	hcpu0 = proc_stat_cpu_ns(G.cpid, 1);
	bcpu0 = bpid > 0 ? proc_stat_cpu_ns(bpid, 0) : -1;
	busy0 = sys_busy_ns();
	self0 = self_cpu_ns();
	t0 = mono_ns();
	pass(warm, n, 0, NULL);
	for (tend = t0, i = warm; i < warm + n; i++)
		if (G.req[i].done > tend)
			tend = G.req[i].done;
	res.cpu_ns = cpu0 < 0 ? -1 : proc_cpu_ns(G.cpid) - cpu0;
	res.hook_cpu_ns = hcpu0 < 0 ? -1 : proc_stat_cpu_ns(G.cpid, 1) - hcpu0;
	res.broker_cpu_ns = bcpu0 < 0 ? -1 : proc_stat_cpu_ns(bpid, 0) - bcpu0;
	/* The machine's busy time that was not ours: somebody else's load. */
	res.other_cpu_ns = busy0 < 0 || res.cpu_ns < 0 || res.hook_cpu_ns < 0 ||
	    res.broker_cpu_ns < 0 ? -1 : sys_busy_ns() - busy0 - res.cpu_ns -
	    res.hook_cpu_ns - res.broker_cpu_ns - (self_cpu_ns() - self0);
	if (res.other_cpu_ns < -1)
		res.other_cpu_ns = 0;	/* tick rounding */
	res.elapsed_ns = tend - t0;
	res.n = n;

	if (m) {
		tstat_reset(G.ts);
		pass(warm + n, m, window, res.lat);
		res.nlat = G.nlat;
		/* -o: the last hooks wrote their line just before exiting. */
		usleep(100000);
		pump(0);
		for (i = warm + n; i < G.total; i++)
			if ((life = tstat_lifetime(G.ts, G.req[i].pid)) >= 0)
				res.ovh[res.novh++] = G.req[i].done -
				    G.req[i].sent - life;
		if (G.ts && res.novh < m)
			fprintf(stderr, "loadgen: %lu of %lu hooks have no exit"
			    " record (%lu lost)\n", m - (unsigned long)res.novh,
			    m, tstat_lost(G.ts));
	}
	res.rss_peak_kb = proc_status_kb(G.cpid, "VmHWM");
	res.anon_end_kb = proc_status_kb(G.cpid, "RssAnon");
	res.errors = G.errors;
	stop_consumer();
	if (!G.lines && WIFEXITED(G.cstatus) && WEXITSTATUS(G.cstatus) != 0) {
		fprintf(stderr, "loadgen: the consumer exited with status %d "
		    "after SIGTERM\n", WEXITSTATUS(G.cstatus));
		res.errors++;
	}
	result_print(&res);
	client_close(&G.cl, 1);
	tstat_close(G.ts);
	return res.errors ? 1 : 0;
}
