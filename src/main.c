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
#include "dispatch.h"
#include "ev.h"
#include "log.h"
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
	int	 done;
	int	 status;
	int	 sig;		/* interrupted by this signal */
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

static void
offline_done(const struct request *req, const struct reply *r, void *arg)
{
	struct offline	*o = arg;
	jv		 line;

	o->done = 1;
	if (o->sig) {
		o->status = 128 + o->sig;
		return;
	}
	line = JV_OBJECT(jv_string("type"), jv_string(r->type),
	    jv_string("correlation_id"), jv_string(req->corr ? req->corr : ""),
	    jv_string("payload"), jv_copy(r->body));
	line = jv_dump_string(line, 0);
	printf("%s\n", jv_string_value(line));
	fflush(stdout);
	jv_free(line);
	o->status = strcmp(r->type, "ErrorV1") == 0;
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
offline(const struct conf *c)
{
	struct request	 req;
	struct offline	 o = { 0, 2, 0 };

	memset(&req, 0, sizeof(req));
	if ((req.kind = strdup(c->offline_kind)) == NULL ||
	    (req.corr = c->offline_corr ? strdup(c->offline_corr) :
	    new_uuid()) == NULL) {
		fprintf(stderr, "hca-exec: out of memory\n");
		return 2;
	}
	if (read_body(&req, c->max_message) == -1) {
		fprintf(stderr, "hca-exec: reading the request from stdin: "
		    "%s\n", strerror(errno));
		return 2;
	}
	ev_signal(SIGINT, offline_signal, &o);
	ev_signal(SIGTERM, offline_signal, &o);
	ev_signal(SIGHUP, offline_signal, &o);
	if (job_start(c, &req, offline_done, &o) == NULL) {
		fprintf(stderr, "hca-exec: %s\n", strerror(errno));
		return 2;
	}
	while (!o.done)
		if (ev_run_once(-1) == -1) {
			log_error(NULL, "event loop: %s", strerror(errno));
			return 2;
		}
	return o.status;
}

/*
 * HCA_USER: started as root, become that user and its groups, after the
 * state directory is made its own and before any hook runs.
 */
static void
drop_privileges(const struct conf *c)
{
	struct passwd	*pw;

	if (c->user == NULL)
		return;
	if ((pw = getpwnam(c->user)) == NULL) {
		fprintf(stderr, "hca-exec: HCA_USER=%s: no such user\n",
		    c->user);
		exit(2);
	}
	if (geteuid() != 0) {
		if (pw->pw_uid == geteuid())
			return;
		fprintf(stderr, "hca-exec: HCA_USER=%s: changing the user "
		    "needs root\n", c->user);
		exit(2);
	}
	if (c->state_dir && chown(c->state_dir, pw->pw_uid, pw->pw_gid) == -1) {
		fprintf(stderr, "hca-exec: HCA_STATE_DIR=%s: chown: %s\n",
		    c->state_dir, strerror(errno));
		exit(2);
	}
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
		fprintf(stderr, "hca-exec: HCA_USER=%s: %s\n", c->user,
		    strerror(errno));
		exit(2);
	}
	if (setuid(0) != -1) {
		fprintf(stderr, "hca-exec: HCA_USER=%s: root could be "
		    "regained; stopping\n", c->user);
		exit(2);
	}
	log_info(NULL, "running as user %s (uid %d, gid %d)", pw->pw_name,
	    (int)pw->pw_uid, (int)pw->pw_gid);
}

int
main(int argc, char **argv)
{
	struct conf	 c;
	int		 rc;

	sanitize_fds();
	conf_load(&c, argc, argv);
	if (c.show_version) {
		print_versions();
		conf_free(&c);
		return 0;
	}
	log_init(c.log_level, c.log_json, "hca-exec");
	if (log_open(c.log_file) == -1) {
		fprintf(stderr, "hca-exec: HCA_LOG_FILE=%s: %s\n", c.log_file,
		    strerror(errno));
		conf_free(&c);
		return 2;
	}
	/*
	 * No core dumps of a process that holds the broker's password, and
	 * no ptrace or /proc/PID/mem for hooks running as our user.
	 */
	(void)prctl(PR_SET_DUMPABLE, 0);
	drop_privileges(&c);
	/* Orphaned grandchildren of hooks come to us to be reaped. */
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (ev_init() == -1) {
		fprintf(stderr, "hca-exec: signals: %s\n", strerror(errno));
		conf_free(&c);
		return 2;
	}
	if (c.offline_kind)
		rc = offline(&c);
	else
		rc = agent_run(&c);
	ev_free();
	conf_free(&c);
	return rc;
}
