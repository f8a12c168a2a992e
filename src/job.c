/*
 * job.c: a request's way from arrival to reply (the request itself is
 * checked by request.c).
 *
 *	job_start -> check -> resolve -> run hook -+-> map -> reply (done)
 *	                                           +-> exit 75: wait, run again
 *
 * Replies that need no hook (bad requests, a built-in PingV1) are still
 * delivered from the loop, through the job's timer, so that the caller sees
 * one behaviour: done is never called from within job_start().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jv.h>

#include "job.h"
#include "ev.h"
#include "hook.h"
#include "kinds.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#define NJOBENV		9

/*
 * What the job's timer is for, and whether a hook runs: the states of a
 * job between job_start() and done.
 */
enum jstate {
	J_CHECKING,		/* job_start(): no hook, no timer yet */
	J_RUNNING,		/* its hook runs */
	J_RETRY_WAIT,		/* after exit 75, until the timer */
	J_REPLYING		/* reply ready, delivered by the timer */
};

struct job {
	const struct conf	*conf;
	const struct request	*req;		/* the caller's */
	enum jstate		 state;
	const struct kind	*kind;
	struct request_info	 info;		/* from the body */
	struct logctx		 log;
	char			 path[4096];
	int			 attempt;
	int64_t			 started;
	struct hook		*hook;
	char			*envstr[NJOBENV];
	char			**envp;
	struct ev_timer		 timer;	/* J_RETRY_WAIT or J_REPLYING */
	struct reply		 reply;
	job_done_fn		*done;
	void			*arg;
	struct job		*next;
};

static struct job	*jobs;

static void	 job_run(struct job *);

static void
job_free(struct job *j)
{
	struct job	**pp;
	int		  i;

	for (pp = &jobs; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	ev_timer_stop(&j->timer);
	for (i = 0; i < NJOBENV; i++)
		free(j->envstr[i]);
	free(j->envp);
	request_info_free(&j->info);
	reply_free(&j->reply);
	free(j);
}

static void
job_finish(struct job *j)
{
	if (j->reply.deferred) {
		j->done(&j->reply, j->arg);
		job_free(j);
		return;
	}
	log_info(&j->log, "reply %s%s%s after %lld ms", j->reply.type,
	    j->reply.error ? " " : "", j->reply.error ? j->reply.etype : "",
	    (long long)(now_ms() - j->started));
	j->reply.counted = metrics_reply(j->req->kind, &j->reply);
	j->done(&j->reply, j->arg);
	job_free(j);
}

static void
job_on_timer(void *arg)
{
	struct job	*j = arg;

	if (j->state == J_REPLYING)
		job_finish(j);
	else
		job_run(j);
}

/* Reply now (from the loop, on the next round). */
static void
job_reply(struct job *j)
{
	j->state = J_REPLYING;
	ev_timer_at(&j->timer, now_ms());
}

static void
job_error(struct job *j, enum err type, const char *message)
{
	reply_error(&j->reply, type, message, j->req->corr);
	job_reply(j);
}

/* A bad request: say what is wrong, in words the sender can act on. */
static void
job_invalid(struct job *j, const char *message)
{
	log_warn(&j->log, "invalid request: %s", message);
	job_error(j, ERR_INVALID_REQUEST, message);
}

/* The hook's environment: the fixed part plus this request's values. */
static int
job_env(struct job *j, time_t deadline)
{
	const struct conf	*c = j->conf;
	size_t			 nbase = 0, n = 0, i;
	int			 rc = 0;

	for (i = 0; i < NJOBENV; i++) {
		free(j->envstr[i]);
		j->envstr[i] = NULL;
	}
#define ENV(...) do { if (asprintf(&j->envstr[n++], __VA_ARGS__) == -1) { \
	j->envstr[n - 1] = NULL; rc = -1; } } while (0)
	ENV("HCA_MESSAGE_TYPE=%s", j->req->kind);
	ENV("HCA_CORRELATION_ID=%s", j->req->corr);
	ENV("HCA_SERVICE=%s", c->service);
	ENV("HCA_REDELIVERED=%d", j->req->redelivered ? 1 : 0);
	ENV("HCA_ATTEMPT=%d", j->attempt);
	ENV("HCA_DEADLINE=%lld", (long long)deadline);
	if (j->info.rtype)
		ENV("HCA_RESOURCE_TYPE=%s", j->info.rtype);
	if (j->info.target_user)
		ENV("HCA_TARGET_USER=%s", j->info.target_user);
	if (j->info.target_group)
		ENV("HCA_TARGET_GROUP=%s", j->info.target_group);
#undef ENV
	if (rc == -1)
		return -1;
	free(j->envp);
	while (c->hook_env[nbase])
		nbase++;
	if ((j->envp = calloc(nbase + n + 1, sizeof(char *))) == NULL)
		return -1;
	for (i = 0; i < nbase; i++)
		j->envp[i] = c->hook_env[i];
	for (i = 0; i < n; i++)
		j->envp[nbase + i] = j->envstr[i];
	return 0;
}

/* A start that failed for a shortage the agent may wait out. */
static int
shortage(const struct job *j, int e)
{
	return j->req->deferrable &&
	    (e == EMFILE || e == ENFILE || e == EAGAIN || e == ENOMEM);
}

/* No reply now: the caller puts the request back in line. */
static void
job_defer(struct job *j, int e)
{
	log_debug(&j->log, "cannot start a hook now: %s; deferred",
	    strerror(e));
	j->reply.deferred = 1;
	job_reply(j);
}

static void
job_on_hook(const struct hook_result *r, void *arg)
{
	struct job	*j = arg;
	int64_t		 delay;
	enum outcome	 o;
	enum loglevel	 lv;

	j->hook = NULL;
	j->state = J_CHECKING;
	if (r->end == HOOK_EXECFAIL && shortage(j, r->code)) {
		job_defer(j, r->code);
		return;
	}
	metrics_hook(j->req->kind, r);
	o = hook_outcome(r);
	lv = outcome_table[o].level;
	switch (o) {
	case OUT_SUCCESS:
	case OUT_FAILURE:
	case OUT_TEMPFAIL:
		logmsg(lv, &j->log, "hook exited %d after %lld ms, %zu bytes of "
		    "output", r->code, (long long)r->elapsed_ms, r->out_len);
		break;
	case OUT_CRASHED:
		logmsg(lv, &j->log, "hook killed by signal %d after %lld ms",
		    r->code, (long long)r->elapsed_ms);
		break;
	case OUT_TIMEOUT:
		logmsg(lv, &j->log, "hook timed out after %lld ms",
		    (long long)r->elapsed_ms);
		break;
	case OUT_TOOBIG:
		logmsg(lv, &j->log, "hook output too large");
		break;
	case OUT_EXECFAIL:
	case NOUTCOMES:
		if (r->stage == STAGE_EXEC)
			logmsg(lv, &j->log, "cannot execute hook %s: %s",
			    j->path, strerror(r->code));
		else
			logmsg(lv, &j->log, "cannot start hook %s: %s failed: "
			    "%s", j->path, hook_stage_name(r->stage),
			    strerror(r->code));
		break;
	}
	if (r->end == HOOK_EXITED && r->code == EX_TEMPFAIL_CODE &&
	    j->attempt <= j->conf->retries) {
		delay = j->conf->retry_delay_ms;
		for (int i = 1; i < j->attempt && delay < RETRY_DELAY_MAX; i++)
			delay *= 2;
		if (delay > RETRY_DELAY_MAX)
			delay = RETRY_DELAY_MAX;
		log_info(&j->log, "hook asked to retry (exit 75); attempt %d of "
		    "%d in %lld ms", j->attempt + 1, j->conf->retries + 1,
		    (long long)delay);
		j->attempt++;
		metrics_retry(j->req->kind);
		j->state = J_RETRY_WAIT;
		ev_timer_at(&j->timer, now_ms() + delay);
		return;
	}
	result_map(j->kind, r, j->req->corr, &j->log, &j->reply);
	/*
	 * Already in the loop (not in job_start()): reply now, not a round
	 * later; the next request's hook starts that much sooner.
	 */
	job_finish(j);
}

static void
job_run(struct job *j)
{
	struct hook_spec	 s;
	int64_t			 timeout = j->conf->hook_timeout_ms;

	if (job_env(j, time(NULL) + (time_t)((timeout + 999) / 1000)) == -1) {
		log_error(&j->log, "cannot build the hook environment: %s",
		    strerror(errno));
		job_error(j, ERR_HOOK_FAILED, NULL);
		return;
	}
	memset(&s, 0, sizeof(s));
	s.path = j->path;
	s.dir = j->conf->hooks_dir;
	s.envp = j->envp;
	s.in = j->req->body;
	s.in_len = j->req->body_len;
	s.timeout_ms = timeout;
	s.grace_ms = j->conf->hook_grace_ms;
	s.max_output = j->conf->max_output;
	s.rlimits = j->conf->rlimits;
	s.nofile = j->conf->hook_nofile_set ? &j->conf->hook_nofile : NULL;
	s.log = j->log;
	log_info(&j->log, "running %s (attempt %d)", j->path, j->attempt);
	if ((j->hook = hook_start(&s, job_on_hook, j)) != NULL)
		j->state = J_RUNNING;
	else {
		if (shortage(j, errno)) {
			job_defer(j, errno);
			return;
		}
		log_error(&j->log, "cannot start hook %s: %s", j->path,
		    strerror(errno));
		job_error(j, ERR_HOOK_FAILED, NULL);
	}
}

static void
job_begin(struct job *j)
{
	const char	*why;
	char		 msg[256];

	if (j->req->corr == NULL ||
	    !request_corr_ok(j->req->corr, j->req->corr_len)) {
		j->log.corr = NULL;
		job_invalid(j, "The request's correlation id is missing or "
		    "not printable text.");
		return;
	}
	/* The kind of a body too large to be read (body:FIELD) is unknown. */
	if (j->req->kind == NULL && j->req->oversize &&
	    j->conf->type_from.where == TF_BODY) {
		j->log.kind = NULL;
		job_invalid(j, REQUEST_TOO_LARGE);
		return;
	}
	if (j->req->kind == NULL ||
	    !name_valid(j->req->kind, strlen(j->req->kind))) {
		j->log.kind = NULL;
		job_invalid(j, "The request's message type is missing or not "
		    "a valid name.");
		return;
	}
	log_info(&j->log, "request received, %zu bytes%s", j->req->body_len,
	    j->req->redelivered ? ", redelivered" : "");
	if ((j->kind = kind_lookup(j->req->kind)) == NULL) {
		log_warn(&j->log, "unsupported message type");
		snprintf(msg, sizeof(msg), "This service does not handle %s "
		    "requests.", j->req->kind);
		job_error(j, ERR_UNSUPPORTED_MESSAGE, msg);
		return;
	}
	if (j->req->oversize) {
		job_invalid(j, REQUEST_TOO_LARGE);
		return;
	}
	if ((why = request_parse(j->req->body, j->req->body_len,
	    j->conf->max_message, j->kind->empty_ok,
	    &j->info)) != NULL) {
		job_invalid(j, why);
		return;
	}
	switch (hook_resolve(j->conf->hooks_dir, j->req->kind, j->info.rtype,
	    j->path, sizeof(j->path), &j->log)) {
	case HOOK_FOUND:
		job_run(j);
		return;
	case HOOK_REFUSED:
		job_error(j, ERR_CONFIGURATION_ERROR, NULL);
		return;
	case HOOK_NONE:
		break;
	}
	if (!j->kind->needs_hook) {
		reply_success(&j->reply, j->kind,
		    jv_string(j->kind->fallback));
		job_reply(j);
	} else if (j->info.rtype) {
		log_warn(&j->log, "no hook for resource type %s", j->info.rtype);
		snprintf(msg, sizeof(msg), "This service does not offer "
		    "resource type %s.", j->info.rtype);
		job_error(j, ERR_UNSUPPORTED_RESOURCE_TYPE, msg);
	} else {
		log_warn(&j->log, "no hook for %s", j->req->kind);
		snprintf(msg, sizeof(msg), "This service does not handle %s "
		    "requests.", j->req->kind);
		job_error(j, ERR_UNSUPPORTED_MESSAGE, msg);
	}
}

struct job *
job_start(const struct conf *c, const struct request *req, job_done_fn *done,
    void *arg)
{
	struct job	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->conf = c;
	j->req = req;
	j->state = J_CHECKING;
	j->done = done;
	j->arg = arg;
	j->attempt = 1;
	j->started = now_ms();
	j->reply.body = jv_invalid();
	j->log.corr = request_corr_text(req);
	j->log.kind = req->kind;
	ev_timer_init(&j->timer, job_on_timer, j);
	metrics_request(j->req->kind);
	j->next = jobs;
	jobs = j;
	job_begin(j);
	return j;
}

void
jobs_terminate(void)
{
	struct job	*j;

	for (j = jobs; j; j = j->next) {
		if (j->state == J_RUNNING)
			hook_terminate(j->hook);
		else if (j->state == J_RETRY_WAIT) {
			/* Waiting to retry after exit 75: no more runs. */
			log_warn(&j->log, "stopping: no more retries");
			job_error(j, ERR_TEMPORARY_FAILURE, NULL);
		}
	}
}
