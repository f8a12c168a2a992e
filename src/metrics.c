/*
 * metrics.c: what the agent has done, by request kind.
 *
 * Label values come from fixed lists only (the kinds of the table, the
 * error types hca-exec itself gives, the hook exit classes), anything else
 * counting as "other", so that no sender or hook can grow the file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hook.h"
#include "kinds.h"
#include "metrics.h"
#include "result.h"
#include "util.h"

/*
 * Rows: the kinds of the table, then "other".  Reply rows: each kind's
 * success reply, then ErrorV1 by error type, then ErrorV1 of a type of a
 * hook's own ("other").
 */
#define NKROWS		(KINDS_MAX + 1)
#define NREPLIES	(KINDS_MAX + NERRS + 1)
#define NCLASSES	NOUTCOMES

/* The row after k that is in use: the table's, then "other". */
static size_t
next_row(size_t k)
{
	return k + 1 < nkinds ? k + 1 : k < KINDS_MAX ? KINDS_MAX : NKROWS;
}

static const char *
kind_label(size_t k)
{
	return k < KINDS_MAX ? kind_table[k].request : "other";
}

static const char *
reply_label(size_t r)
{
	return r < KINDS_MAX ? kind_table[r].reply : ERROR_REPLY;
}

static const char *
error_label(size_t r)
{
	return r < KINDS_MAX ? "" : r - KINDS_MAX < NERRS ?
	    err_table[r - KINDS_MAX].name : "other";
}

static const double buckets[] = {
	0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300
};
#define NBUCKETS	(sizeof(buckets) / sizeof(buckets[0]))

static struct {
	uint64_t	 requests[NKROWS];
	uint64_t	 replies[NKROWS][NREPLIES];
	uint64_t	 unroutable[NKROWS];
	uint64_t	 hooks[NKROWS][NCLASSES];
	uint64_t	 retries[NKROWS];
	uint64_t	 hist[NKROWS][NBUCKETS + 1];
	double		 hist_sum[NKROWS];
	uint64_t	 reconnects;
	uint64_t	 nacks;		/* replies the broker refused */
	uint64_t	 ctimeouts;	/* its consumer_timeout fired */
	uint64_t	 blocks;
	int		 blocked;
	uint64_t	 deferred;
	int		 running;
	uint64_t	 jerrors;
	int		 jfailing;
} m;

#define KIND(k)	kind_index(k)

void
metrics_request(const char *kind)
{
	m.requests[KIND(kind)]++;
}

int
metrics_reply(const char *kind, const struct reply *rp)
{
	size_t	 k = KIND(kind), r;

	/* A success reply is its kind's, so that kind is in the table. */
	r = rp->error ? KINDS_MAX + (size_t)rp->err : k;
	if (r >= NREPLIES)
		r = NREPLIES - 1;
	m.replies[k][r]++;
	return (int)r;
}

void
metrics_unroutable(const char *kind, int row)
{
	size_t	 k = KIND(kind);

	if (row >= 0 && (size_t)row < NREPLIES && m.replies[k][row] > 0)
		m.replies[k][row]--;
	m.unroutable[k]++;
}

void
metrics_hook(const char *kind, const struct hook_result *r)
{
	size_t	 k = KIND(kind), c, b;
	double	 s = r->elapsed_ms / 1000.0;

	c = hook_outcome(r);
	m.hooks[k][c]++;
	for (b = 0; b < NBUCKETS && s > buckets[b]; b++)
		;
	m.hist[k][b]++;
	m.hist_sum[k] += s;
}

void
metrics_retry(const char *kind)
{
	m.retries[KIND(kind)]++;
}

void
metrics_reconnect(void)
{
	m.reconnects++;
}

void
metrics_nack(void)
{
	m.nacks++;
}

void
metrics_consumer_timeout(void)
{
	m.ctimeouts++;
}

void
metrics_blocked(int on)
{
	if (on && !m.blocked)
		m.blocks++;
	m.blocked = on;
}

void
metrics_deferred(void)
{
	m.deferred++;
}

void
metrics_running(int n)
{
	m.running = n;
}

void
metrics_journal_error(void)
{
	m.jerrors++;
}

void
metrics_journal_failing(int on)
{
	m.jfailing = on;
}

/* A counter with one row per kind. */
static void
per_kind(FILE *f, const char *name, const char *help, const uint64_t *v)
{
	size_t	 k;

	fprintf(f, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (k = 0; k < NKROWS; k = next_row(k))
		fprintf(f, "%s{kind=\"%s\"} %llu\n", name, kind_label(k),
		    (unsigned long long)v[k]);
}

static void
emit(FILE *f, void *arg)
{
	size_t		 k, i;
	uint64_t	 cum;

	(void)arg;

	per_kind(f, "hca_requests_total", "Requests received.", m.requests);
	fprintf(f, "# HELP hca_replies_total Replies sent, by reply type "
	    "(error type for ErrorV1).\n# TYPE hca_replies_total counter\n");
	for (k = 0; k < NKROWS; k = next_row(k))
		for (i = 0; i < NREPLIES; i++)
			if (m.replies[k][i])
				fprintf(f, "hca_replies_total{kind=\"%s\","
				    "reply=\"%s\",error=\"%s\"} %llu\n",
				    kind_label(k), reply_label(i),
				    error_label(i), (unsigned long long)
				    m.replies[k][i]);
	per_kind(f, "hca_replies_unroutable_total", "Replies the broker could "
	    "not route (basic.return: no such reply_to queue).", m.unroutable);
	fprintf(f, "# HELP hca_hook_exits_total Hook runs by how they ended."
	    "\n# TYPE hca_hook_exits_total counter\n");
	for (k = 0; k < NKROWS; k = next_row(k))
		for (i = 0; i < NCLASSES; i++)
			fprintf(f, "hca_hook_exits_total{kind=\"%s\",class="
			    "\"%s\"} %llu\n", kind_label(k), outcome_table[i].class,
			    (unsigned long long)m.hooks[k][i]);
	per_kind(f, "hca_retries_total", "Hook runs repeated after exit 75.",
	    m.retries);
	fprintf(f, "# HELP hca_reconnects_total Connections to the broker "
	    "after the first.\n# TYPE hca_reconnects_total counter\n"
	    "hca_reconnects_total %llu\n", (unsigned long long)m.reconnects);
	fprintf(f, "# HELP hca_consumer_timeouts_total Connections the "
	    "broker closed for a delivery unacked past its consumer_timeout.\n"
	    "# TYPE hca_consumer_timeouts_total counter\n"
	    "hca_consumer_timeouts_total %llu\n"
	    "# HELP hca_replies_refused_total Replies the broker refused "
	    "(nack), each sent again.\n"
	    "# TYPE hca_replies_refused_total counter\n"
	    "hca_replies_refused_total %llu\n",
	    (unsigned long long)m.ctimeouts, (unsigned long long)m.nacks);
	fprintf(f, "# HELP hca_broker_blocked_total Times the broker blocked "
	    "publishing (connection.blocked).\n"
	    "# TYPE hca_broker_blocked_total counter\n"
	    "hca_broker_blocked_total %llu\n"
	    "# HELP hca_broker_blocked 1 while the broker blocks publishing.\n"
	    "# TYPE hca_broker_blocked gauge\nhca_broker_blocked %d\n",
	    (unsigned long long)m.blocks, m.blocked);
	fprintf(f, "# HELP hca_hook_starts_deferred_total Hook starts put "
	    "off for want of descriptors, processes or memory.\n"
	    "# TYPE hca_hook_starts_deferred_total counter\n"
	    "hca_hook_starts_deferred_total %llu\n",
	    (unsigned long long)m.deferred);
	fprintf(f, "# HELP hca_journal_errors_total Journal writes that "
	    "failed (replies and checks).\n"
	    "# TYPE hca_journal_errors_total counter\n"
	    "hca_journal_errors_total %llu\n"
	    "# HELP hca_journal_failing 1 while the journal cannot be "
	    "written (no new request starts).\n"
	    "# TYPE hca_journal_failing gauge\nhca_journal_failing %d\n",
	    (unsigned long long)m.jerrors, m.jfailing);
	fprintf(f, "# HELP hca_hooks_running Hooks running now.\n"
	    "# TYPE hca_hooks_running gauge\nhca_hooks_running %d\n",
	    m.running);
	fprintf(f, "# HELP hca_hook_duration_seconds Hook run time.\n"
	    "# TYPE hca_hook_duration_seconds histogram\n");
	for (k = 0; k < NKROWS; k = next_row(k)) {
		for (i = 0, cum = 0; i <= NBUCKETS; i++) {
			cum += m.hist[k][i];
			if (i < NBUCKETS)
				fprintf(f, "hca_hook_duration_seconds_bucket"
				    "{kind=\"%s\",le=\"%g\"} %llu\n",
				    kind_label(k), buckets[i],
				    (unsigned long long)cum);
			else
				fprintf(f, "hca_hook_duration_seconds_bucket"
				    "{kind=\"%s\",le=\"+Inf\"} %llu\n",
				    kind_label(k), (unsigned long long)cum);
		}
		fprintf(f, "hca_hook_duration_seconds_sum{kind=\"%s\"} %.3f\n"
		    "hca_hook_duration_seconds_count{kind=\"%s\"} %llu\n",
		    kind_label(k), m.hist_sum[k], kind_label(k),
		    (unsigned long long)cum);
	}
}

int
metrics_write(const char *path)
{
	return file_replace(path, 0644, emit, NULL);
}
