/*
 * status.c: the daemon's state for health checks (see status.h).  One line
 * of JSON:
 *
 *	{"state":"consuming","since":T,"updated":T,"owner":"HOST/NS PID START",
 *	 "service":"...","queue":"...","error":"..."}
 *
 * T in seconds since the epoch: the check is another process, perhaps in
 * another container of the same host.  "since" is when the daemon entered
 * the state; connecting and reconnecting count as one, so that retries do
 * not restart the grace time.  The error is the broker's or the network's
 * words as the log has them, which never hold the URL or its password.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jv.h>

#include "log.h"
#include "proc.h"
#include "status.h"
#include "util.h"

static const char *const names[] = {
	[ST_CONNECTING] = "connecting",
	[ST_CONSUMING] = "consuming",
	[ST_RECONNECTING] = "reconnecting",
	[ST_STOPPING] = "stopping",
	[ST_STOPPED] = "stopped",
};

static struct {
	const char		*path;
	const char		*service, *queue;
	enum status_state	 state;
	time_t			 since;
	char			 error[512];
	char			 journal[256];	/* why it cannot be written */
	time_t			 journal_since;
	int			 failing;	/* the last write failed */
} S;

static void
emit(FILE *f, void *arg)
{
	jv	 o;

	(void)arg;
	o = JV_OBJECT(jv_string("state"), jv_string(names[S.state]),
	    jv_string("since"), jv_number((double)S.since),
	    jv_string("updated"), jv_number((double)time(NULL)),
	    jv_string("owner"), jv_string(proc_self()),
	    jv_string("service"), jv_string(S.service),
	    jv_string("queue"), jv_string(S.queue),
	    jv_string("error"), jv_string(S.error));
	if (S.journal[0])
		o = jv_object_set(o, jv_string("journal_error"),
		    JV_OBJECT(jv_string("since"),
		    jv_number((double)S.journal_since), jv_string("error"),
		    jv_string(S.journal)));
	o = jv_dump_string(o, 0);
	fprintf(f, "%s\n", jv_string_value(o));
	jv_free(o);
}

/*
 * A full disk (the state directory's, say, when the journal filled it):
 * the file is rewritten where it is, in the blocks it has.  Padded with
 * spaces to its old length rather than cut, so that a reader sees one
 * JSON text either way.  Only a regular file of ours is written.
 */
static int
rewrite_in_place(void)
{
	struct stat	 st;
	char		*buf = NULL;
	size_t		 len = 0;
	FILE		*m;
	int		 fd, e, rc = -1;

	if ((fd = open(S.path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_uid == geteuid() &&
	    (m = open_memstream(&buf, &len)) != NULL) {
		emit(m, NULL);
		while (ftello(m) < st.st_size && fputc(' ', m) != EOF)
			;
		/* Its blocks may hold more than its length: room to grow. */
		if (fclose(m) == 0 && (off_t)len <= (off_t)st.st_blocks * 512 &&
		    pwrite(fd, buf, len, 0) == (ssize_t)len)
			rc = 0;
	}
	e = rc == 0 ? 0 : errno ? errno : ENOSPC;
	free(buf);
	close(fd);
	errno = e;
	return rc;
}

static void
write_status(void)
{
	if (S.path == NULL)
		return;
	if (file_replace(S.path, 0644, emit, NULL) == 0 ||
	    ((errno == ENOSPC || errno == EDQUOT) && rewrite_in_place() == 0)) {
		if (S.failing)
			log_info(NULL, "HCA_STATUS_FILE=%s written again",
			    S.path);
		S.failing = 0;
	} else if (!S.failing) {
		/* Once, not every STATUS_TOUCH_MS: it is said again when
		 * it works again. */
		log_warn(NULL, "HCA_STATUS_FILE=%s: cannot write it: %s; "
		    "health checks will fail", S.path, strerror(errno));
		S.failing = 1;
	}
}

void
status_init(const char *path, const char *service, const char *queue)
{
	S.path = path;
	S.service = service;
	S.queue = queue;
	S.state = ST_CONNECTING;
	S.since = time(NULL);
	write_status();
}

void
status_set(enum status_state st, const char *error)
{
	int	 trying = st == ST_CONNECTING || st == ST_RECONNECTING,
		 was = S.state == ST_CONNECTING || S.state == ST_RECONNECTING;

	if (st != S.state && !(trying && was))
		S.since = time(NULL);
	if (st == ST_RECONNECTING && S.state == ST_CONNECTING)
		st = ST_CONNECTING;	/* never consumed yet */
	S.state = st;
	if (st == ST_CONSUMING)
		S.error[0] = '\0';
	else if (error) {
		strlcpy(S.error, error, sizeof(S.error));
		S.error[text_clean(S.error, strlen(S.error))] = '\0';
	}
	write_status();
}

void
status_journal(const char *why)
{
	if (why) {
		strlcpy(S.journal, why, sizeof(S.journal));
		S.journal_since = time(NULL);
	} else
		S.journal[0] = '\0';
	write_status();
}

void
status_touch(void)
{
	write_status();
}

/* A string member of o, or NULL. */
static const char *
member(jv o, const char *key)
{
	jv	 v = jv_object_get(jv_copy(o), jv_string(key));
	const char *s = NULL;

	if (jv_get_kind(v) == JV_KIND_STRING)
		s = jv_string_value(v);
	jv_free(v);	/* o still holds it: s stays valid */
	return s;
}

static double
number(jv o, const char *key)
{
	jv	 v = jv_object_get(jv_copy(o), jv_string(key));
	double	 d = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : -1;

	jv_free(v);
	return d;
}

int
status_check(const char *path, int64_t grace_ms, char *why, size_t whylen)
{
	char		 text[8192];
	const char	*state, *owner, *queue, *error;
	double		 since, updated;
	long long	 age, quiet;
	ssize_t		 n;
	int		 fd, rc = 1;
	jv		 o, jerr = jv_null();

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1) {
		snprintf(why, whylen, "HCA_STATUS_FILE=%s: %s%s", path,
		    strerror(errno), errno == ENOENT ? " (the daemon has not "
		    "started, or writes another file)" : "");
		return 1;
	}
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0) {
		snprintf(why, whylen, "HCA_STATUS_FILE=%s: %s", path,
		    strerror(errno));
		return 1;
	}
	o = json_parse(text, (size_t)n);
	if (jv_get_kind(o) != JV_KIND_OBJECT ||
	    (state = member(o, "state")) == NULL ||
	    (owner = member(o, "owner")) == NULL ||
	    (since = number(o, "since")) < 0 ||
	    (updated = number(o, "updated")) < 0) {
		snprintf(why, whylen, "HCA_STATUS_FILE=%s is not a status "
		    "file of hca-exec's", path);
		jv_free(o);
		return 1;
	}
	jerr = jv_object_get(jv_copy(o), jv_string("journal_error"));
	queue = member(o, "queue");
	error = member(o, "error");
	if (error == NULL || *error == '\0')
		error = "none";
	age = (long long)(time(NULL) - (time_t)since);
	quiet = (long long)(time(NULL) - (time_t)updated);
	if (strcmp(state, "stopped") == 0 || strcmp(state, "stopping") == 0)
		snprintf(why, whylen, "the daemon is %s (for %lld s)", state,
		    age);
	else if (proc_alive(owner) == 0)
		snprintf(why, whylen, "the daemon is gone: process %s, which "
		    "was %s, has ended", owner, state);
	else if (quiet > STATUS_STALE_S)
		snprintf(why, whylen, "the daemon has not written its status "
		    "for %lld s (it was %s): its event loop is stuck, or it "
		    "is stopped", quiet, state);
	else if (jv_get_kind(jerr) == JV_KIND_OBJECT)
		snprintf(why, whylen, "the journal cannot be written, for %lld "
		    "s (%s): no new request starts", (long long)(time(NULL) -
		    (time_t)number(jerr, "since")), member(jerr, "error") ?
		    member(jerr, "error") : "?");
	else if (strcmp(state, "consuming") == 0) {
		snprintf(why, whylen, "consuming from %s for %lld s",
		    queue ? queue : "its queue", age);
		rc = 0;
	} else if (strcmp(state, "connecting") == 0 ||
	    strcmp(state, "reconnecting") == 0) {
		rc = age * 1000 < grace_ms ? 0 : 1;
		snprintf(why, whylen, "%s to the broker for %lld s, %s "
		    "HCA_HEALTH_GRACE (%lld s); last error: %s", state, age,
		    rc ? "longer than" : "within", (long long)(grace_ms /
		    1000), error);
	} else
		snprintf(why, whylen, "HCA_STATUS_FILE=%s: unknown state %s",
		    path, state);
	jv_free(jerr);
	jv_free(o);
	return rc;
}
