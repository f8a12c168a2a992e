/*
 * hca-exec: a Helmholtz Cloud Agent that answers each request by running an
 * executable hook.  main() sets the process up and picks the mode: offline
 * dispatch of one request (-n), or the agent on the broker.
 */
#include <sys/prctl.h>
#include <link.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <amqp.h>
#include <jv.h>

#include "agent.h"
#include "conf.h"
#include "job.h"
#include "ev.h"
#include "log.h"
#include "path.h"
#include "status.h"
#include "util.h"

/* fds 0, 1 and 2 must exist, or the first pipe would take their place. */
static void
sanitize_fds(void)
{
	struct stat	 st;
	int		 fd;

	for (fd = 0; fd < 3; fd++)
		if (fstat(fd, &st) == -1 && errno == EBADF &&
		    open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
			exit(2);
}

/* A random UUID (version 4) as the correlation id of an offline request. */
static char *
new_uuid(void)
{
	unsigned char	 b[16];
	char		*s;

	arc4random_buf(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	if (asprintf(&s, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
	    b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
	    b[15]) == -1)
		return NULL;
	return s;
}

/* -V: name each library by the file actually loaded; its name holds the
 * version (libjq 1.6 and libbsd have no version call). */
static int
print_lib(struct dl_phdr_info *info, size_t size, void *arg)
{
	static const char *const libs[] = { "librabbitmq", "libjq", "libbsd" };
	const char	*base;
	char		*real;
	size_t		 i;

	(void)size;
	(void)arg;
	base = strrchr(info->dlpi_name, '/');
	base = base ? base + 1 : info->dlpi_name;
	for (i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		if (strncmp(base, libs[i], strlen(libs[i])) ||
		    base[strlen(libs[i])] != '.')
			continue;
		real = realpath(info->dlpi_name, NULL);
		printf("%-12s %s%s%s\n", libs[i], real ? real : info->dlpi_name,
		    i == 0 ? ", version " : "", i == 0 ? amqp_version() : "");
		free(real);
	}
	return 0;
}

static void
print_versions(void)
{
	printf("hca-exec     %s\n", HCA_VERSION);
	dl_iterate_phdr(print_lib, NULL);
}

struct offline {
	int		 done;
	int		 status;
	int		 sig;		/* interrupted by this signal */
	const char	*health;	/* --health: what the status file said */
	struct request	 req;		/* lent to the job */
	const struct typefrom *tf;	/* where the reply's kind goes */
};

/* Ctrl-C: stop the hook (it is in its own session, so the terminal's
 * signal does not reach it), then exit 128 + the signal. */
static void
offline_signal(int sig, void *arg)
{
	struct offline	*o = arg;

	if (sig == SIGHUP)
		return;
	if (o->sig == 0)
		jobs_terminate();
	o->sig = sig;
}

/* --health: one line, of the daemon and of the PingV1 hook's reply. */
static void
health_done(struct offline *o, const struct reply *r)
{
	jv		 msg, type;
	const char	*m;
	int		 failed = r->error;

	/* ErrorV1's message, or the field of PingV1's reply (kinds file). */
	msg = jv_object_get(jv_copy(r->body), jv_string(failed ? "message" :
	    KIND_PING->field));
	type = jv_object_get(jv_copy(r->body), jv_string("type"));
	m = jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) :
	    "(no message)";

	if (failed)
		printf("unhealthy: %s; the PingV1 hook answered ErrorV1 %s: "
		    "%s\n", o->health, jv_get_kind(type) == JV_KIND_STRING ?
		    jv_string_value(type) : "?", m);
	else
		printf("healthy: %s; the PingV1 hook answered: %s\n",
		    o->health, m);
	jv_free(msg);
	jv_free(type);
	o->status = failed;
}

static void
offline_done(const struct reply *r, void *arg)
{
	struct offline	*o = arg;
	const char	*corr = o->req.corr;
	jv		 line;

	o->done = 1;
	if (o->sig) {
		o->status = 128 + o->sig;
		return;
	}
	if (o->health) {
		health_done(o, r);
		return;
	}
	/* As hca-portal prints what it receives: the kind where it travels. */
	line = JV_OBJECT(jv_string("type"), jv_string(r->type),
	    jv_string("correlation_id"), jv_string(corr ? corr : ""),
	    jv_string("payload"), reply_wire_body(jv_copy(r->body), r->type, o->tf));
	if (o->tf->where == TF_HEADER)
		line = jv_object_set(line, jv_string("headers"),
		    JV_OBJECT(jv_string(o->tf->name), jv_string(r->type)));
	line = jv_dump_string(line, 0);
	printf("%s\n", jv_string_value(line));
	fflush(stdout);
	jv_free(line);
	o->status = r->error;
}

/* Read stdin, at most limit + 1 bytes: more than limit is too large. */
static int
read_body(struct request *req, size_t limit)
{
	struct buf	 b = { NULL, 0, 0 };
	char		 chunk[65536];
	ssize_t		 r;

	while (b.len <= limit) {
		r = read(STDIN_FILENO, chunk, sizeof(chunk));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			break;
		if (buf_append(&b, chunk, (size_t)r) == -1)
			return -1;
	}
	req->body = b.data ? b.data : strdup("");
	req->body_len = b.len;
	return req->body ? 0 : -1;
}

static int
offline(const struct conf *c, const char *health)
{
	struct offline	 o = { 0, 2, 0, health, { 0 }, &c->type_from };
	struct request	*req = &o.req;
	int		 oom = 0;

	if ((req->corr = c->offline_corr ? strdup(c->offline_corr) :
	    new_uuid()) == NULL) {
		fatalx("out of memory");
	}
	req->corr_len = strlen(req->corr);
	if (c->health)
		req->body = strdup("");	/* PingV1 takes an empty body */
	if (c->health ? req->body == NULL :
	    read_body(req, c->max_message) == -1) {
		fatal("reading the request from stdin");
	}
	/* --kind -: the body's (HCA_TYPE_FROM=body:FIELD), as the daemon's. */
	if (strcmp(c->offline_kind, "-") == 0)
		req->kind = request_body_kind(req->body, req->body_len,
		    c->type_from.name, &oom);
	else if ((req->kind = strdup(c->offline_kind)) == NULL)
		oom = 1;
	if (oom)
		fatalx("out of memory");
	ev_signal(SIGINT, offline_signal, &o);
	ev_signal(SIGTERM, offline_signal, &o);
	ev_signal(SIGHUP, offline_signal, &o);
	if (job_start(c, req, offline_done, &o) == NULL) {
		fatal("starting the request");
	}
	while (!o.done)
		if (ev_run_once(-1) == -1) {
			log_error(NULL, "event loop: %s", strerror(errno));
			return 2;
		}
	request_free(req);
	return o.status;
}

/*
 * --health: unhealthy (1) at once when the status file says so; then as
 * the PingV1 hook answers.  One line on stdout either way.
 */
static int
health(const struct conf *c)
{
	char	 why[1024];

	if (status_check(c->status_file, c->health_grace_ms, why,
	    sizeof(why)) != 0) {
		printf("unhealthy: %s\n", why);
		return 1;
	}
	return offline(c, why);
}

/*
 * HCA_STATE_DIR, opened once, before the privileges are dropped, and used
 * by that descriptor from then on.  Its parent must be reached through
 * directories that no user but root (or, when the agent was not started as
 * root, the agent's own) can write, and be one itself: whoever can write
 * it could put any directory in the state directory's place, and have it
 * made theirs.  The state directory is made (mode 0700) when it does not
 * exist; it must be a directory, not a link, of root's or the agent's that
 * nobody else can write, and it is given to the agent's user.
 */
static int
open_state_dir(const struct conf *c)
{
	char		 path[PATH_MAX], parent[PATH_MAX], why[PATH_MAX + 200];
	const char	*base, *p;
	struct stat	 st;
	int		 pfd, fd;

	if (path_absolute(c->state_dir, path, sizeof(path)) == -1 ||
	    path_split(path, parent, sizeof(parent), &base) == -1)
		fatal("HCA_STATE_DIR=%s", c->state_dir);
	if ((pfd = path_open_dir(parent, geteuid(), NULL, why,
	    sizeof(why))) == -1)
		fatalx("HCA_STATE_DIR=%s: %s", c->state_dir, why);
	if (mkdirat(pfd, base, 0700) == 0)
		log_info(NULL, "HCA_STATE_DIR %s made", path);
	else if (errno != EEXIST)
		fatal("HCA_STATE_DIR=%s: cannot make it", c->state_dir);
	fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(pfd);
	if (fd == -1 || fstat(fd, &st) == -1)
		fatalx("HCA_STATE_DIR=%s: %s", c->state_dir, errno == ELOOP ?
		    "is a symbolic link" : strerror(errno));
	if ((p = path_dir_ok(&st, c->uid)) != NULL || (st.st_mode & S_ISVTX))
		fatalx("HCA_STATE_DIR=%s %s (uid %u, mode %04o): nobody but "
		    "root or uid %u may own or write it", c->state_dir,
		    p ? p : "is sticky", (unsigned)st.st_uid,
		    (unsigned)(st.st_mode & 07777), (unsigned)c->uid);
	if (geteuid() == 0 && (st.st_uid != c->uid || st.st_gid != c->gid) &&
	    fchown(fd, c->uid, c->gid) == -1)
		fatal("HCA_STATE_DIR=%s: chown", c->state_dir);
	return fd;
}

/*
 * HCA_USER: started as root, become that user and its groups, after the
 * state directory is made its own and before any hook runs.  1 if the user
 * was changed.
 */
static int
drop_privileges(const struct conf *c)
{
	struct passwd	*pw;

	if (c->user == NULL)
		return 0;
	if ((pw = getpwnam(c->user)) == NULL)
		fatalx("HCA_USER=%s: no such user", c->user);
	if (geteuid() != 0) {
		if (pw->pw_uid == geteuid())
			return 0;
		fatalx("HCA_USER=%s: changing the user needs root", c->user);
	}
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		fatal("HCA_USER=%s", c->user);
	if (setuid(0) != -1)
		fatalx("HCA_USER=%s: root could be regained; stopping",
		    c->user);
	return 1;
}

/*
 * A running hook holds three descriptors, and takes four more while it
 * starts: raise the soft limit on open files to the hard one, and warn once
 * if even that cannot cover HCA_CONCURRENCY (hooks then start as
 * descriptors allow).  Hooks keep the limit the agent was started with:
 * many programs are not ready for more than 1024.
 */
static void
raise_nofile(struct conf *c)
{
	struct rlimit	 rl, want;
	rlim_t		 need = 3 * (rlim_t)c->concurrency + 32;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	c->hook_nofile = rl;
	c->hook_nofile_set = 1;
	want = rl;
	want.rlim_cur = rl.rlim_max == RLIM_INFINITY ? 1 << 20 : rl.rlim_max;
	if (want.rlim_cur > rl.rlim_cur && setrlimit(RLIMIT_NOFILE, &want) == 0)
		rl = want;
	if (rl.rlim_cur < need)
		log_warn(NULL, "RLIMIT_NOFILE is %llu, fewer than the %llu "
		    "descriptors that %d hooks at once need: hooks start as "
		    "descriptors allow (raise the hard limit: ulimit -Hn, "
		    "LimitNOFILE=, --ulimit nofile=)", (unsigned long long)
		    rl.rlim_cur, (unsigned long long)need, c->concurrency);
}

/*
 * A secret the agent read as root should stay out of its hooks' reach:
 * they run as the user the agent now is.
 */
static void
warn_readable(const char *what, const char *path)
{
	if (path && access(path, R_OK) == 0)
		log_warn(NULL, "%s=%s can be read by uid %u, which hooks run "
		    "as: make it readable by root only and start hca-exec as "
		    "root with HCA_USER to keep it from hooks", what, path,
		    (unsigned)getuid());
}

int
main(int argc, char **argv)
{
	struct conf	 c;
	char		 why[PATH_MAX + 200];
	int		 rc, state_fd = -1, dropped;

	sanitize_fds();
	conf_load(&c, argc, argv);
	if (c.show_version) {
		print_versions();
		conf_free(&c);
		return 0;
	}
	log_init(c.log_level, c.log_json);
	/*
	 * No core dumps of a process that holds the broker's password, and
	 * no ptrace or /proc/PID/mem for hooks running as our user.
	 */
	(void)prctl(PR_SET_DUMPABLE, 0);
	if (c.state_dir && c.offline_kind == NULL)
		state_fd = open_state_dir(&c);
	dropped = drop_privileges(&c);
	/* As the user it is written as, like every reopen after it. */
	if (log_open(c.log_file, why, sizeof(why)) == -1)
		fatalx("HCA_LOG_FILE=%s: %s", c.log_file, why);
	if (dropped)
		log_info(NULL, "running as user %s (uid %u, gid %u)", c.user,
		    (unsigned)c.uid, (unsigned)c.gid);
	if (c.offline_kind == NULL) {
		warn_readable("HCA_URL_FILE", c.url_file);
		warn_readable("HCA_KEY", c.key);
		raise_nofile(&c);
	}
	/* Orphaned grandchildren of hooks come to us to be reaped. */
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (ev_init() == -1)
		fatal("the event loop's signals");
	if (c.health)
		rc = health(&c);
	else if (c.offline_kind)
		rc = offline(&c, NULL);
	else
		rc = agent_run(&c, state_fd);
	ev_free();
	conf_free(&c);
	return rc;
}
