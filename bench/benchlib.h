/*
 * benchlib.h: what bench/loadgen.c and bench/spawn.c share.
 *
 * Times are CLOCK_MONOTONIC nanoseconds.  Hook run times come from the
 * kernel's taskstats exit records (netlink, root only): for every process
 * that exits, the kernel sends its pid, its parent's pid and its elapsed
 * time from fork to exit in microseconds, taken on the same monotonic clock.
 * No hook is changed or slowed to measure itself.
 */
#ifndef HCA_BENCHLIB_H
#define HCA_BENCHLIB_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

int64_t		 mono_ns(void);

/* Exit records of one parent's children, kept by pid. */
struct tstat;
/* NULL (with a warning on stderr) when taskstats is not available. */
struct tstat	*tstat_open(void);
int		 tstat_fd(const struct tstat *);
/* Only children of ppid are kept (0: keep none until set). */
void		 tstat_parent(struct tstat *, pid_t ppid);
/* Read what has arrived; -1 on a hard error.  Never blocks. */
int		 tstat_read(struct tstat *);
/* Elapsed fork-to-exit time of pid in ns, or -1 if no record came. */
int64_t		 tstat_lifetime(struct tstat *, pid_t);
/* Forget the records kept so far (they fill up after ~24000 exits). */
void		 tstat_reset(struct tstat *);
/* Records lost to a full socket buffer so far. */
unsigned long	 tstat_lost(const struct tstat *);
void		 tstat_close(struct tstat *);

/* A process's own CPU time (not its children's) in ns; -1 on error. */
int64_t		 proc_cpu_ns(pid_t);
/*
 * CPU time of a whole process (all threads) from /proc/PID/stat, or with
 * children set, of its reaped children; in ns, clock-tick resolution.
 */
int64_t		 proc_stat_cpu_ns(pid_t, int children);
/* CPU time the whole machine spent busy (/proc/stat), in ns. */
int64_t		 sys_busy_ns(void);
/* This process's own CPU time (getrusage), in ns. */
int64_t		 self_cpu_ns(void);
/* A "Vm...:" line of /proc/PID/status in kB; -1 on error. */
long		 proc_status_kb(pid_t, const char *field);

/* The p-th percentile (0..100) of v[0..n-1], nearest rank; sorts v. */
int64_t		 percentile(int64_t *v, size_t n, double p);

/* The request body of request seq (the same for every runner). */
int		 bench_body(char *buf, size_t len, unsigned long seq);
/* Parse "bench-SEQ-PID" anywhere in s; 0 on success. */
int		 bench_id(const char *s, size_t len, unsigned long *seq,
		    pid_t *pid);

/* One result line: key=value pairs on stdout, read by bench/run. */
struct result {
	const char	*label;
	unsigned long	 n;		/* requests in the throughput pass */
	int64_t		 elapsed_ns;	/* first publish to last reply */
	int64_t		 cpu_ns;	/* the runner's own CPU in that pass */
	int64_t		 hook_cpu_ns;	/* its reaped children's, in that pass */
	int64_t		 broker_cpu_ns;	/* the broker's, in that pass */
	int64_t		 other_cpu_ns;	/* everybody else's: other load */
	size_t		 nlat;		/* latency samples */
	int64_t		*lat, *ovh;	/* e2e and e2e minus hook lifetime */
	size_t		 novh;
	long		 rss_idle_kb, rss_peak_kb;	/* VmRSS, VmHWM */
	long		 anon_idle_kb, anon_end_kb;	/* RssAnon */
	unsigned long	 errors;
};
void		 result_print(struct result *);

#endif
