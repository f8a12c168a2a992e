/*
 * benchlib.c: clocks, taskstats exit records, /proc sampling, percentiles.
 *
 * taskstats: resolve the "TASKSTATS" generic netlink family, register for
 * the exit records of every CPU, then read TASKSTATS_CMD_NEW messages.
 * Each carries, nested in TASKSTATS_TYPE_AGGR_PID, a struct taskstats whose
 * ac_etime is "now - start_time" at exit, in microseconds: the process's
 * whole life from fork to exit.  The first fields of struct taskstats have
 * not moved since version 1, so a newer kernel's longer record is fine.
 */
#include <sys/resource.h>
#include <sys/socket.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/taskstats.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benchlib.h"

#define TS_SLOTS	(1 << 15)	/* pids kept: more than a pass needs */
#define NLA_DATA(na)	((void *)((char *)(na) + NLA_HDRLEN))

struct tslot {
	pid_t		 pid;
	int64_t		 life_ns;
};

struct tstat {
	int		 fd;
	pid_t		 ppid;
	struct tslot	*slot;
	size_t		 used;
	unsigned long	 lost;
};

int64_t
mono_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Send one generic netlink request with one attribute. */
static int
genl_send(int fd, uint16_t family, uint8_t cmd, uint16_t attr,
    const void *data, size_t len)
{
	struct {
		struct nlmsghdr		 n;
		struct genlmsghdr	 g;
		char			 buf[256];
	} req;
	struct nlattr	*na;

	if (NLA_HDRLEN + len > sizeof(req.buf))
		return -1;
	memset(&req, 0, sizeof(req));
	req.n.nlmsg_type = family;
	req.n.nlmsg_flags = NLM_F_REQUEST;
	req.n.nlmsg_pid = 0;
	req.g.cmd = cmd;
	req.g.version = 1;
	na = (struct nlattr *)req.buf;
	na->nla_type = attr;
	na->nla_len = (uint16_t)(NLA_HDRLEN + len);
	memcpy(NLA_DATA(na), data, len);
	req.n.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN) + NLA_ALIGN(na->nla_len);
	return send(fd, &req, req.n.nlmsg_len, 0) == (ssize_t)req.n.nlmsg_len ?
	    0 : -1;
}

static int
taskstats_family(int fd)
{
	char		 buf[8192];
	struct nlmsghdr	*h = (struct nlmsghdr *)buf;
	struct nlattr	*na;
	ssize_t		 n;
	int		 len;
	char		*p;

	if (genl_send(fd, GENL_ID_CTRL, CTRL_CMD_GETFAMILY,
	    CTRL_ATTR_FAMILY_NAME, TASKSTATS_GENL_NAME,
	    sizeof(TASKSTATS_GENL_NAME)) == -1)
		return -1;
	if ((n = recv(fd, buf, sizeof(buf), 0)) < (ssize_t)NLMSG_HDRLEN ||
	    !NLMSG_OK(h, (size_t)n) || h->nlmsg_type == NLMSG_ERROR)
		return -1;
	p = (char *)NLMSG_DATA(h) + GENL_HDRLEN;
	len = (int)h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
	while (len >= NLA_HDRLEN) {
		na = (struct nlattr *)p;
		if (na->nla_len < NLA_HDRLEN || na->nla_len > len)
			break;
		if (na->nla_type == CTRL_ATTR_FAMILY_ID)
			return *(uint16_t *)NLA_DATA(na);
		p += NLA_ALIGN(na->nla_len);
		len -= NLA_ALIGN(na->nla_len);
	}
	return -1;
}

struct tstat *
tstat_open(void)
{
	struct sockaddr_nl	 sa;
	struct tstat		*t;
	char			 mask[32];
	int			 fam, rcvbuf = 8 << 20;
	long			 ncpu = sysconf(_SC_NPROCESSORS_CONF);

	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->slot = calloc(TS_SLOTS, sizeof(*t->slot))) == NULL) {
		free(t);
		return NULL;
	}
	if ((t->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
	    NETLINK_GENERIC)) == -1)
		goto fail;
	/* Room for bursts of other processes' exits; root may go past max. */
	if (setsockopt(t->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
	    sizeof(rcvbuf)) == -1)
		(void)setsockopt(t->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		    sizeof(rcvbuf));
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	if (bind(t->fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		goto fail;
	if ((fam = taskstats_family(t->fd)) == -1)
		goto fail;
	snprintf(mask, sizeof(mask), "0-%ld", ncpu > 0 ? ncpu - 1 : 0);
	if (genl_send(t->fd, (uint16_t)fam, TASKSTATS_CMD_GET,
	    TASKSTATS_CMD_ATTR_REGISTER_CPUMASK, mask, strlen(mask) + 1) == -1)
		goto fail;
	if (fcntl(t->fd, F_SETFL, fcntl(t->fd, F_GETFL) | O_NONBLOCK) == -1)
		goto fail;
	return t;
fail:
	fprintf(stderr, "bench: taskstats not available (%s); hook run "
	    "times and overheads are not measured\n", strerror(errno));
	if (t->fd > 0)
		close(t->fd);
	free(t->slot);
	free(t);
	return NULL;
}

int
tstat_fd(const struct tstat *t)
{
	return t ? t->fd : -1;
}

void
tstat_parent(struct tstat *t, pid_t ppid)
{
	if (t)
		t->ppid = ppid;
}

static struct tslot *
tstat_find(struct tstat *t, pid_t pid)
{
	size_t	 i = ((size_t)pid * 2654435761u) & (TS_SLOTS - 1);

	while (t->slot[i].pid != 0 && t->slot[i].pid != pid)
		i = (i + 1) & (TS_SLOTS - 1);
	return &t->slot[i];
}

static void
tstat_record(struct tstat *t, const struct taskstats *ts)
{
	struct tslot	*s;

	if (t->ppid == 0 || (pid_t)ts->ac_ppid != t->ppid)
		return;
	if (t->used >= TS_SLOTS / 4 * 3)	/* keep probing short */
		tstat_reset(t);
	s = tstat_find(t, (pid_t)ts->ac_pid);
	if (s->pid == 0)
		t->used++;
	s->pid = (pid_t)ts->ac_pid;
	s->life_ns = (int64_t)ts->ac_etime * 1000;
}

static void
tstat_message(struct tstat *t, struct nlmsghdr *h)
{
	struct taskstats ts;
	struct nlattr	*na, *in;
	char		*p, *q;
	size_t		 n;
	int		 len, ilen;

	p = (char *)NLMSG_DATA(h) + GENL_HDRLEN;
	len = (int)h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
	for (; len >= NLA_HDRLEN; p += NLA_ALIGN(na->nla_len),
	    len -= NLA_ALIGN(na->nla_len)) {
		na = (struct nlattr *)p;
		if (na->nla_len < NLA_HDRLEN || na->nla_len > len)
			return;
		if (na->nla_type != TASKSTATS_TYPE_AGGR_PID)
			continue;
		q = NLA_DATA(na);
		ilen = na->nla_len - NLA_HDRLEN;
		for (; ilen >= NLA_HDRLEN; q += NLA_ALIGN(in->nla_len),
		    ilen -= NLA_ALIGN(in->nla_len)) {
			in = (struct nlattr *)q;
			if (in->nla_len < NLA_HDRLEN || in->nla_len > ilen)
				return;
			if (in->nla_type != TASKSTATS_TYPE_STATS)
				continue;
			n = (size_t)(in->nla_len - NLA_HDRLEN);
			memset(&ts, 0, sizeof(ts));
			memcpy(&ts, NLA_DATA(in), n < sizeof(ts) ? n :
			    sizeof(ts));
			tstat_record(t, &ts);
		}
	}
}

int
tstat_read(struct tstat *t)
{
	static char	 buf[65536];
	struct nlmsghdr	*h;
	ssize_t		 n;

	if (t == NULL)
		return 0;
	for (;;) {
		n = recv(t->fd, buf, sizeof(buf), 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == ENOBUFS) {
			t->lost++;
			continue;
		}
		if (n == -1 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		    h = NLMSG_NEXT(h, n))
			if (h->nlmsg_type >= NLMSG_MIN_TYPE)
				tstat_message(t, h);
	}
}

void
tstat_reset(struct tstat *t)
{
	if (t == NULL)
		return;
	memset(t->slot, 0, TS_SLOTS * sizeof(*t->slot));
	t->used = 0;
}

int64_t
tstat_lifetime(struct tstat *t, pid_t pid)
{
	struct tslot	*s;

	if (t == NULL || pid <= 0)
		return -1;
	s = tstat_find(t, pid);
	return s->pid == pid ? s->life_ns : -1;
}

unsigned long
tstat_lost(const struct tstat *t)
{
	return t ? t->lost : 0;
}

void
tstat_close(struct tstat *t)
{
	if (t == NULL)
		return;
	close(t->fd);
	free(t->slot);
	free(t);
}

/* /proc/PID/schedstat: time on a CPU (ns), time waiting, timeslices. */
int64_t
proc_cpu_ns(pid_t pid)
{
	char		 path[64];
	FILE		*f;
	long long	 ns;
	int		 ok;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	ok = fscanf(f, "%lld", &ns) == 1;
	fclose(f);
	return ok ? (int64_t)ns : -1;
}

int64_t
proc_stat_cpu_ns(pid_t pid, int children)
{
	char		 path[64], buf[1024], *p;
	unsigned long long v[4];
	FILE		*f;
	size_t		 n;
	long		 hz = sysconf(_SC_CLK_TCK);

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* After "(comm)": state, then fields 4..13, then utime (14)... */
	if ((p = strrchr(buf, ')')) == NULL || sscanf(p + 1, " %*c %*d %*d "
	    "%*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu", &v[0],
	    &v[1], &v[2], &v[3]) != 4 || hz <= 0)
		return -1;
	return (int64_t)(children ? v[2] + v[3] : v[0] + v[1]) *
	    (1000000000 / hz);
}

int64_t
sys_busy_ns(void)
{
	unsigned long long v[8];
	FILE		*f;
	long		 hz = sysconf(_SC_CLK_TCK);
	int		 ok;

	if ((f = fopen("/proc/stat", "r")) == NULL)
		return -1;
	/* cpu user nice system idle iowait irq softirq steal */
	ok = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
	    &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8;
	fclose(f);
	if (!ok || hz <= 0)
		return -1;
	return (int64_t)(v[0] + v[1] + v[2] + v[5] + v[6]) *
	    (1000000000 / hz);
}

int64_t
self_cpu_ns(void)
{
	struct rusage	 ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return -1;
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) *
	    1000000000 + ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) *
	    1000;
}

long
proc_status_kb(pid_t pid, const char *field)
{
	char	 path[64], line[256];
	FILE	*f;
	size_t	 fl = strlen(field);
	long	 kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
			kb = strtol(line + fl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t	 x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

int64_t
percentile(int64_t *v, size_t n, double p)
{
	size_t	 rank;

	if (n == 0)
		return -1;
	qsort(v, n, sizeof(*v), cmp64);
	rank = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

int
bench_body(char *buf, size_t len, unsigned long seq)
{
	int	 n;

	n = snprintf(buf, len, "{\"type\":\"BenchSpecV1\",\"specification\":"
	    "{\"n\":%lu,\"note\":\"hca-exec benchmark\"},\"target_entity\":"
	    "{\"user_id_target\":\"bench@example.org\",\"group_urn_target\":"
	    "\"urn:geant:helmholtz.de:group:bench\"}}", seq);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

int
bench_id(const char *s, size_t len, unsigned long *seq, pid_t *pid)
{
	const char	*p, *end = s + len;
	unsigned long	 a, b;
	int		 da, db;

	for (p = s; p + 6 <= end; p++) {
		if (memcmp(p, "bench-", 6) != 0)
			continue;
		p += 6;
		for (a = 0, da = 0; p < end && *p >= '0' && *p <= '9'; p++,
		    da++)
			a = a * 10 + (unsigned long)(*p - '0');
		if (da == 0 || p >= end || *p != '-')
			return -1;
		for (p++, b = 0, db = 0; p < end && *p >= '0' && *p <= '9';
		    p++, db++)
			b = b * 10 + (unsigned long)(*p - '0');
		if (db == 0)
			return -1;
		*seq = a;
		*pid = (pid_t)b;
		return 0;
	}
	return -1;
}

void
result_print(struct result *r)
{
	double	 secs = r->elapsed_ns / 1e9;

	printf("label=%s n=%lu secs=%.3f rps=%.1f", r->label, r->n, secs,
	    secs > 0 ? r->n / secs : 0.0);
	printf(" lat_n=%zu lat_p50_us=%lld lat_p99_us=%lld", r->nlat,
	    (long long)(r->nlat ? percentile(r->lat, r->nlat, 50) / 1000 : -1),
	    (long long)(r->nlat ? percentile(r->lat, r->nlat, 99) / 1000 : -1));
	printf(" ovh_n=%zu ovh_p50_us=%lld ovh_p99_us=%lld", r->novh,
	    (long long)(r->novh ? percentile(r->ovh, r->novh, 50) / 1000 : -1),
	    (long long)(r->novh ? percentile(r->ovh, r->novh, 99) / 1000 : -1));
	printf(" rss_idle_kb=%ld rss_peak_kb=%ld anon_idle_kb=%ld "
	    "anon_end_kb=%ld", r->rss_idle_kb, r->rss_peak_kb,
	    r->anon_idle_kb, r->anon_end_kb);
	printf(" cpu_s_per_1k=%.4f", r->n && r->cpu_ns >= 0 ?
	    r->cpu_ns / 1e9 / r->n * 1000 : -1.0);
	printf(" hook_cpu_s_per_1k=%.4f", r->n && r->hook_cpu_ns >= 0 ?
	    r->hook_cpu_ns / 1e9 / r->n * 1000 : -1.0);
	printf(" broker_cpu_s_per_1k=%.4f", r->n && r->broker_cpu_ns >= 0 ?
	    r->broker_cpu_ns / 1e9 / r->n * 1000 : -1.0);
	printf(" other_cpus=%.2f", r->other_cpu_ns >= 0 && secs > 0 ?
	    r->other_cpu_ns / 1e9 / secs : -1.0);
	printf(" errors=%lu\n", r->errors);
	fflush(stdout);
}
