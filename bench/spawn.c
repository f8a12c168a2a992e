/*
 * spawn.c: the limit.  Runs a hook N times, J at a time, the way the agent
 * does at its core and nothing else: posix_spawn() (a vfork-style clone in
 * glibc, as amqp-consume uses; -f: fork and execve instead) with a small
 * environment, the request body on stdin, stdout read to EOF, the child
 * reaped.  No broker, no parsing, no reply.
 *
 *	spawn [-f] [-j JOBS] [-n N] [-W WARMUP] [-L LABEL] HOOK
 *
 * Latency of a run: fork to (stdout EOF and reaped).  Its overhead: that
 * minus the hook's own life from fork to exit (taskstats).  Prints one
 * result line (see benchlib.h); exit 1 if a run fails.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchlib.h"

#define JOBS_MAX	64

struct job {
	pid_t		 pid;
	int		 in, out;
	char		 body[512];
	size_t		 len, off;
	char		 outbuf[256];
	size_t		 outlen;
	unsigned long	 seq;
	int64_t		 start;
};

static struct job	 jobs[JOBS_MAX];
static const char	*hook;
static struct tstat	*ts;
static unsigned long	 errors;
static int		 use_fork;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: spawn [-f] [-j JOBS] [-n N] [-W WARMUP] "
	    "[-L LABEL] HOOK\n");
	exit(2);
}

static void __attribute__((noreturn))
fail(const char *what)
{
	fprintf(stderr, "spawn: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
job_start(struct job *j, unsigned long seq)
{
	char	 corr[64];
	char	*argv[] = { (char *)hook, NULL };
	char	*envp[] = { "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/",
		    "LANG=C.UTF-8", "HCA_MESSAGE_TYPE=ResourceAllocateV1",
		    "HCA_RESOURCE_TYPE=BenchSpecV1", "HCA_SERVICE=bench", corr,
		    NULL };
	posix_spawn_file_actions_t fa;
	int	 pin[2], pout[2];
	int	 n;

	j->seq = seq;
	if ((n = bench_body(j->body, sizeof(j->body), seq)) == -1)
		fail("request body");
	j->len = (size_t)n;
	j->off = j->outlen = 0;
	snprintf(corr, sizeof(corr), "HCA_CORRELATION_ID=%lu", seq);
	if (pipe2(pin, O_CLOEXEC) == -1 || pipe2(pout, O_CLOEXEC) == -1)
		fail("pipe2");
	j->start = mono_ns();
	if (use_fork) {
		switch (j->pid = fork()) {
		case -1:
			fail("fork");
		case 0:
			if (dup2(pin[0], 0) == -1 || dup2(pout[1], 1) == -1)
				_exit(127);
			execve(hook, argv, envp);
			_exit(127);
		}
	} else {
		if ((errno = posix_spawn_file_actions_init(&fa)) != 0 ||
		    (errno = posix_spawn_file_actions_adddup2(&fa, pin[0],
		    0)) != 0 ||
		    (errno = posix_spawn_file_actions_adddup2(&fa, pout[1],
		    1)) != 0 ||
		    (errno = posix_spawn(&j->pid, hook, &fa, NULL, argv,
		    envp)) != 0)
			fail("posix_spawn");
		posix_spawn_file_actions_destroy(&fa);
	}
	close(pin[0]);
	close(pout[1]);
	j->in = pin[1];
	j->out = pout[0];
	if (fcntl(j->in, F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(j->out, F_SETFL, O_NONBLOCK) == -1)
		fail("fcntl");
}

/* The run is over: check its output; return its latency. */
static int64_t
job_end(struct job *j, pid_t *pid)
{
	unsigned long	 seq;
	int		 st;
	int64_t		 lat;

	while (waitpid(j->pid, &st, 0) == -1)
		if (errno != EINTR)
			fail("waitpid");
	lat = mono_ns() - j->start;
	close(j->out);
	j->out = -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
	    bench_id(j->outbuf, j->outlen, &seq, pid) == -1 ||
	    seq != j->seq || *pid != j->pid) {
		fprintf(stderr, "spawn: run %lu: status %#x, output %.*s\n",
		    j->seq, st, (int)j->outlen, j->outbuf);
		errors++;
	}
	j->pid = 0;
	return lat;
}

/*
 * Run requests first..first+n-1, njobs at a time; latencies and hook
 * lifetimes (-1: unknown) go to lat[] and life[] if given.
 */
static void
run(unsigned long first, unsigned long n, int njobs, int64_t *lat,
    int64_t *life)
{
	int64_t		 l;
	struct pollfd	 pfd[2 * JOBS_MAX];
	struct job	*j;
	unsigned long	 next = 0, done = 0;
	ssize_t		 r;
	pid_t		 pid;
	int		 i, np, idx[2 * JOBS_MAX];

	while (done < n) {
		for (i = 0; i < njobs && next < n; i++)
			if (jobs[i].pid == 0)
				job_start(&jobs[i], first + next++);
		np = 0;
		for (i = 0; i < njobs; i++) {
			j = &jobs[i];
			if (j->pid == 0)
				continue;
			if (j->in != -1) {
				pfd[np].fd = j->in;
				pfd[np].events = POLLOUT;
				idx[np++] = i;
			}
			pfd[np].fd = j->out;
			pfd[np].events = POLLIN;
			idx[np++] = i;
		}
		if (poll(pfd, (nfds_t)np, -1) == -1) {
			if (errno == EINTR)
				continue;
			fail("poll");
		}
		for (i = 0; i < np; i++) {
			if (pfd[i].revents == 0)
				continue;
			j = &jobs[idx[i]];
			if (j->pid == 0)
				continue;
			if (pfd[i].fd == j->in) {
				r = write(j->in, j->body + j->off,
				    j->len - j->off);
				if (r > 0)
					j->off += (size_t)r;
				if (r == -1 && errno == EAGAIN)
					continue;
				if (r == -1 || j->off == j->len) {
					close(j->in);
					j->in = -1;
				}
				continue;
			}
			r = read(j->out, j->outbuf + j->outlen,
			    sizeof(j->outbuf) - 1 - j->outlen);
			if (r == -1 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r > 0) {
				j->outlen += (size_t)r;
				if (j->outlen < sizeof(j->outbuf) - 1)
					continue;
			}
			if (j->in != -1) {
				close(j->in);
				j->in = -1;
			}
			l = job_end(j, &pid);
			/* Its exit record was sent before it could be reaped. */
			if (tstat_read(ts) == -1)
				fail("reading taskstats");
			if (lat) {
				lat[done] = l;
				life[done] = tstat_lifetime(ts, pid);
			}
			done++;
		}
	}
}

int
main(int argc, char *argv[])
{
	struct result	 r;
	unsigned long	 n = 1000, warm = 20;
	int64_t		*lat, *ovh, *life, cpu0, hcpu0, busy0, t0;
	size_t		 i;
	int		 ch, njobs = 1;

	memset(&r, 0, sizeof(r));
	r.label = "spawn";
	while ((ch = getopt(argc, argv, "fj:n:L:W:")) != -1) {
		switch (ch) {
		case 'f':
			use_fork = 1;
			break;
		case 'j':
			njobs = atoi(optarg);
			if (njobs < 1 || njobs > JOBS_MAX)
				usage();
			break;
		case 'n':
			n = strtoul(optarg, NULL, 10);
			break;
		case 'L':
			r.label = optarg;
			break;
		case 'W':
			warm = strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1 || n == 0)
		usage();
	hook = argv[optind];
	signal(SIGPIPE, SIG_IGN);
	if ((lat = calloc(n, sizeof(*lat))) == NULL ||
	    (ovh = calloc(n, sizeof(*ovh))) == NULL ||
	    (life = calloc(n, sizeof(*life))) == NULL)
		fail("calloc");
	if ((ts = tstat_open()) != NULL)
		tstat_parent(ts, getpid());
	r.rss_idle_kb = proc_status_kb(getpid(), "VmRSS");
	r.anon_idle_kb = proc_status_kb(getpid(), "RssAnon");

	run(0, warm, njobs, NULL, NULL);
	cpu0 = proc_cpu_ns(getpid());
	hcpu0 = proc_stat_cpu_ns(getpid(), 1);
	busy0 = sys_busy_ns();
	t0 = mono_ns();
	run(warm, n, njobs, lat, life);
	r.elapsed_ns = mono_ns() - t0;
	r.cpu_ns = proc_cpu_ns(getpid()) - cpu0;
	r.hook_cpu_ns = hcpu0 < 0 ? -1 : proc_stat_cpu_ns(getpid(), 1) - hcpu0;
	r.broker_cpu_ns = -1;
	r.other_cpu_ns = busy0 < 0 || hcpu0 < 0 ? -1 : sys_busy_ns() - busy0 -
	    r.cpu_ns - r.hook_cpu_ns;
	if (r.other_cpu_ns < -1)
		r.other_cpu_ns = 0;	/* tick rounding */
	r.n = n;
	r.lat = lat;
	r.nlat = n;
	for (i = 0; i < n; i++)
		if (life[i] >= 0)
			ovh[r.novh++] = lat[i] - life[i];
	if (ts && r.novh < n)
		fprintf(stderr, "spawn: %zu of %lu runs have no exit record "
		    "(%lu lost)\n", n - r.novh, n, tstat_lost(ts));
	r.ovh = ovh;
	r.rss_peak_kb = proc_status_kb(getpid(), "VmHWM");
	r.anon_end_kb = proc_status_kb(getpid(), "RssAnon");
	r.errors = errors;
	result_print(&r);
	tstat_close(ts);
	return errors ? 1 : 0;
}
