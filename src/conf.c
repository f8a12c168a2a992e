/*
 * conf.c: configuration.
 *
 * Every setting is one row of the options table: its HCA_* variable, its
 * command-line flag, its type and range, its default.  The environment is
 * read first, flags override it, and every value goes through the same
 * parser, defaults included.  Any error names the variable or flag and what
 * is wrong with it, and exits 2.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <amqp.h>
#include <jv.h>

#include "conf.h"
#include "kinds.h"
#include "log.h"
#include "path.h"
#include "util.h"

extern char **environ;

enum otype {
	O_STR,		/* any non-empty string */
	O_SERVICE,	/* [A-Za-z0-9_.-]{1,128} */
	O_INT,		/* integer in [min, max] */
	O_SECS,		/* seconds, decimals allowed, into ms */
	O_BYTES,	/* bytes, K or M suffix allowed */
	O_LIMIT,	/* a resource limit: a number (K, M, G) or unlimited */
	O_FLAG,		/* 0 or 1; a flag sets 1 */
	O_LEVEL,	/* error|warn|info|debug */
	O_FORMAT	/* kv|json */
};

struct opt {
	const char	*env;
	const char	*lname;
	int		 sname;
	enum otype	 type;
	size_t		 off;
	int64_t		 min, max;
	const char	*def;
	const char	*help;
};

#define F(x)	offsetof(struct conf, x)
#define KEY_MAX	65536		/* bytes of HCA_KEY */
#define MiB	(1024 * 1024)
/* --health: limits that fit a health check's usual 15 s */
#define HEALTH_HOOK_MS	10000
#define HEALTH_GRACE_MS	2000

static const struct opt opts[] = {
	{ "HCA_HOOKS_DIR", "hooks-dir", 'H', O_STR, F(hooks_dir), 0, 0,
	    "hooks", "directory of hooks" },
	{ "HCA_SERVICE", "service", 's', O_SERVICE, F(service), 0, 0, NULL,
	    "service id" },
	{ "HCA_HOOK_TIMEOUT", "hook-timeout", 't', O_SECS,
	    F(hook_timeout_ms), 1, 86400000, "300", "hook time limit, s" },
	{ "HCA_HOOK_GRACE", "hook-grace", 0, O_SECS, F(hook_grace_ms), 0,
	    3600000, "5", "SIGTERM to SIGKILL, s" },
	{ "HCA_MAX_OUTPUT", "max-output", 0, O_BYTES, F(max_output), 1,
	    64 * MiB, "1M", "hook stdout limit, bytes" },
	{ "HCA_MAX_MESSAGE", "max-message", 0, O_BYTES, F(max_message), 1,
	    64 * MiB, "1M", "request body limit, bytes" },
	{ "HCA_RETRIES", "retries", 0, O_INT, F(retries), 0, 100, "3",
	    "more runs after exit 75" },
	{ "HCA_RETRY_DELAY", "retry-delay", 0, O_SECS, F(retry_delay_ms), 0,
	    3600000, "1", "first retry delay, doubling, s" },
	{ "HCA_USER", "user", 'u', O_STR, F(user), 0, 0, NULL,
	    "run as this user (and its groups) when started as root" },
	{ "HCA_HOOK_RLIMIT_AS", "hook-rlimit-as", 0, O_LIMIT, F(rlimits[0]),
	    0, 0, NULL, "hooks' address space, bytes" },
	{ "HCA_HOOK_RLIMIT_CPU", "hook-rlimit-cpu", 0, O_LIMIT, F(rlimits[1]),
	    0, 0, NULL, "hooks' CPU time, s" },
	{ "HCA_HOOK_RLIMIT_NOFILE", "hook-rlimit-nofile", 0, O_LIMIT,
	    F(rlimits[2]), 0, 0, NULL, "hooks' open files" },
	{ "HCA_HOOK_RLIMIT_NPROC", "hook-rlimit-nproc", 0, O_LIMIT,
	    F(rlimits[3]), 0, 0, NULL, "processes of the hooks' user" },
	{ "HCA_HOOK_RLIMIT_CORE", "hook-rlimit-core", 0, O_LIMIT,
	    F(rlimits[4]), 0, 0, "0", "hooks' core dumps, bytes" },
	{ "HCA_CONCURRENCY", "concurrency", 'c', O_INT, F(concurrency), 1,
	    1024, "4", "hooks at once" },
	{ "HCA_PREFETCH", "prefetch", 0, O_INT, F(prefetch), 1, 65535, NULL,
	    "requests prefetched (default 2 x concurrency)" },
	{ "HCA_QUEUE_IN", "queue-in", 0, O_STR, F(queue_in), 0, 0, NULL,
	    "inbound queue (default SERVICE.to_hca)" },
	{ "HCA_QUEUE_OUT", "queue-out", 0, O_STR, F(queue_out), 0, 0, NULL,
	    "outbound queue (default SERVICE.to_portal)" },
	{ "HCA_CACERT", "cacert", 0, O_STR, F(cacert), 0, 0, NULL,
	    "CA certificates (PEM) for amqps" },
	{ "HCA_CERT", "cert", 0, O_STR, F(cert), 0, 0, NULL,
	    "client certificate (PEM)" },
	{ "HCA_KEY", "key", 0, O_STR, F(key), 0, 0, NULL,
	    "client key (PEM)" },
	{ NULL, "insecure", 0, O_FLAG, F(insecure), 0, 1, "0",
	    "amqps without peer verification" },
	{ NULL, "declare", 'd', O_FLAG, F(declare), 0, 1, "0",
	    "declare both queues (local brokers)" },
	{ "HCA_HEARTBEAT", "heartbeat", 0, O_INT, F(heartbeat), 0, 3600,
	    "60", "AMQP heartbeat, s" },
	{ "HCA_STOP_TIMEOUT", "stop-timeout", 0, O_SECS, F(stop_timeout_ms),
	    0, 86400000, NULL, "shutdown limit, s (default hook limit + grace + 10)" },
	{ "HCA_STATE_DIR", "state-dir", 0, O_STR, F(state_dir), 0, 0, NULL,
	    "journal directory" },
	{ "HCA_JOURNAL_TTL", "journal-ttl", 0, O_SECS, F(journal_ttl_ms), 1000,
	    INT64_C(365) * 86400000, "604800", "journal entries kept, s" },
	{ "HCA_JOURNAL_MAX", "journal-max", 0, O_INT, F(journal_max), 1,
	    10000000, "100000", "journal entries at most" },
	{ "HCA_KINDS_FILE", "kinds-file", 0, O_STR, F(kinds_file), 0, 0,
	    NULL, "more kinds, or kinds changed (hca-exec(8))" },
	{ "HCA_TYPE_FROM", "type-from", 0, O_STR, F(type_from_s), 0, 0,
	    "property", "where a kind travels: property, header:NAME, "
	    "body:FIELD" },
	{ "HCA_METRICS_FILE", "metrics-file", 0, O_STR, F(metrics_file), 0, 0,
	    NULL, "Prometheus textfile to write" },
	{ "HCA_METRICS_INTERVAL", "metrics-interval", 0, O_SECS,
	    F(metrics_interval_ms), 100, 3600000, "5", "how often, s" },
	{ "HCA_STATUS_FILE", "status-file", 0, O_STR, F(status_file), 0, 0,
	    NULL, "the daemon's state, for --health" },
	{ "HCA_HEALTH_GRACE", "health-grace", 0, O_SECS, F(health_grace_ms),
	    0, 86400000, "300", "healthy while reconnecting this long, s" },
	{ "HCA_LOG_LEVEL", "log-level", 'l', O_LEVEL, F(log_level), 0, 0,
	    "info", "error, warn, info or debug" },
	{ "HCA_LOG_FORMAT", "log-format", 0, O_FORMAT, F(log_json), 0, 0,
	    "kv", "kv or json" },
	{ "HCA_LOG_FILE", "log-file", 0, O_STR, F(log_file), 0, 0, NULL,
	    "log to this file (default stderr)" },
	{ NULL, "kind", 'n', O_STR, F(offline_kind), 0, 0, NULL,
	    "offline: dispatch one request of KIND from stdin" },
	{ NULL, "id", 'i', O_STR, F(offline_corr), 0, 0, NULL,
	    "offline: its correlation id (default: a new one)" },
	{ NULL, "health", 0, O_FLAG, F(health), 0, 1, "0",
	    "check the daemon and the PingV1 hook" },
};

#define NOPTS	(sizeof(opts) / sizeof(opts[0]))

/* Set by hca-exec itself: never taken from HCA_PASS_ENV. */
static const char *const own_env[] = {
	"PATH", "HOME", "HCA_MESSAGE_TYPE", "HCA_CORRELATION_ID",
	"HCA_RESOURCE_TYPE", "HCA_TARGET_USER", "HCA_TARGET_GROUP",
	"HCA_SERVICE", "HCA_REDELIVERED", "HCA_ATTEMPT", "HCA_DEADLINE",
};

static void __attribute__((noreturn))
usage(int code)
{
	FILE	*f = code ? stderr : stdout;
	size_t	 i;
	int	 wide;
	char	 flag[40];

	fprintf(f, "usage: hca-exec [options]                    run the agent\n"
	    "       hca-exec -n KIND [-i ID] [-H HOOKS] < BODY  "
	    "dispatch one request offline\n\noptions (flag, variable, "
	    "default):\n");
	for (i = 0; i < NOPTS; i++) {
		snprintf(flag, sizeof(flag), "%s%c%s--%s%s",
		    opts[i].sname ? "-" : "", opts[i].sname ? opts[i].sname : ' ',
		    opts[i].sname ? ", " : "  ", opts[i].lname,
		    opts[i].type == O_FLAG ? "" : " X");
		/* A default too wide for its column goes after the text. */
		wide = opts[i].def && strlen(opts[i].def) > 6;
		fprintf(f, "  %-24s %-22s %-6s %s%s%s%s\n", flag +
		    (opts[i].sname ? 0 : 1), opts[i].env ? opts[i].env : "",
		    opts[i].def && !wide ? opts[i].def : "", opts[i].help,
		    wide ? " (default " : "", wide ? opts[i].def : "",
		    wide ? ")" : "");
	}
	fprintf(f, "  %-24s %-22s %-6s %s\n", "", "HCA_URL", "",
	    "amqp[s]://USER:PASS@HOST[:PORT][/VHOST] (secret)");
	fprintf(f, "  %-24s %-22s %-6s %s\n", "", "HCA_URL_FILE", "",
	    "file holding HCA_URL");
	fprintf(f, "  %-24s %-22s %-6s %s\n", "", "HCA_HOOK_PATH", "",
	    "hooks' PATH (/usr/local/bin:/usr/bin:/bin)");
	fprintf(f, "  %-24s %-22s %-6s %s\n", "", "HCA_PASS_ENV", "",
	    "names of variables passed to hooks");
	fprintf(f, "  %-24s %-22s %-6s %s\n", "-h, --help", "", "",
	    "this text");
	fprintf(f, "  %-24s %-22s %-6s %s\n", "-V, --version", "", "",
	    "print versions");
	exit(code);
}

static int64_t
parse_int(const char *s)
{
	char		*end;
	long long	 v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno || !isdigit((unsigned char)*s))
		return -1;
	return v;
}

static int64_t
parse_bytes(const char *s)
{
	char		*end;
	long long	 v;
	int64_t		 mult = 1;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || errno || v < 0 || !isdigit((unsigned char)*s))
		return -1;
	if (*end == 'K' || *end == 'k')
		mult = 1024, end++;
	else if (*end == 'M' || *end == 'm')
		mult = MiB, end++;
	else if (*end == 'G' || *end == 'g')
		mult = 1024 * MiB, end++;
	if (*end != '\0' || v > INT64_MAX / mult)
		return -1;
	return v * mult;
}

static int
service_valid(const char *s)
{
	size_t	 n = strlen(s), i;

	if (n == 0 || n > 128)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '.' && s[i] != '-')
			return 0;
	return 1;
}

/* Set one option from text; what names the source for messages. */
static void
set(struct conf *c, const struct opt *o, const char *val, const char *what)
{
	void	*p = (char *)c + o->off;
	int64_t	 v = -1;
	char	**sp;

	switch (o->type) {
	case O_STR:
	case O_SERVICE:
		if (*val == '\0')
			fatalx("%s is empty", what);
		if (o->type == O_SERVICE && !service_valid(val))
			fatalx("%s=%s: a service id is 1 to 128 of A-Z a-z 0-9 "
			    "_ . -", what, val);
		sp = p;
		free(*sp);
		if ((*sp = strdup(val)) == NULL)
			fatalx("out of memory");
		return;
	case O_LEVEL:
		if ((v = log_level_parse(val)) < 0)
			fatalx("%s=%s: the level is error, warn, info or debug",
			    what, val);
		*(int *)p = (int)v;
		return;
	case O_FORMAT:
		if (strcmp(val, "kv") && strcmp(val, "json"))
			fatalx("%s=%s: the format is kv or json", what, val);
		*(int *)p = strcmp(val, "json") == 0;
		return;
	case O_FLAG:
		if (strcmp(val, "0") && strcmp(val, "1"))
			fatalx("%s=%s: expected 0 or 1", what, val);
		*(int *)p = *val == '1';
		return;
	case O_INT:
		v = parse_int(val);
		break;
	case O_SECS:
		v = parse_seconds(val);
		break;
	case O_BYTES:
		v = parse_bytes(val);
		break;
	case O_LIMIT:
		v = strcmp(val, "unlimited") == 0 ? INT64_MAX : parse_bytes(val);
		if (v < 0)
			fatalx("%s=%s: not a number (K, M, G allowed) or "
			    "\"unlimited\"", what, val);
		*(int64_t *)p = v;
		return;
	}
	if (v < 0)
		fatalx("%s=%s: not a %s", what, val, o->type == O_SECS ?
		    "number of seconds" : o->type == O_BYTES ?
		    "size in bytes (K and M suffixes allowed)" : "whole number");
	if (v < o->min || v > o->max) {
		if (o->type == O_SECS)
			fatalx("%s=%s: must be %g to %g seconds", what, val,
			    o->min / 1000.0, o->max / 1000.0);
		fatalx("%s=%s: must be %lld to %lld", what, val,
		    (long long)o->min, (long long)o->max);
	}
	switch (o->type) {
	case O_INT:
		*(int *)p = (int)v;
		break;
	case O_SECS:
		*(int64_t *)p = v;
		break;
	default:
		*(size_t *)p = (size_t)v;
		break;
	}
}

static int
name_char(char ch, int first)
{
	return ch == '_' || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')
	    || (!first && ch >= '0' && ch <= '9');
}

/* Why a variable may not be passed to hooks, or NULL if it may. */
static const char *
pass_denied(const char *name)
{
	size_t	 i, n = strlen(name);

	for (i = 0; i < n; i++)
		if (!name_char(name[i], i == 0))
			return "is not a variable name";
	if (strncmp(name, "LD_", 3) == 0)
		return "is read by the dynamic linker";
	if (strcmp(name, "BASH_ENV") == 0 || strcmp(name, "ENV") == 0 ||
	    strcmp(name, "IFS") == 0)
		return "changes how shells run scripts";
	if (n >= 6 && strcasecmp(name + n - 6, "_PROXY") == 0)
		return "redirects network traffic";
	if (strncmp(name, "HCA_URL", 7) == 0)
		return "is a secret of the agent";
	for (i = 0; i < sizeof(own_env) / sizeof(own_env[0]); i++)
		if (strcmp(name, own_env[i]) == 0)
			return "is set by hca-exec itself";
	return NULL;
}

static void
env_add(char ***env, size_t *n, const char *name, const char *val)
{
	char	**e;
	size_t	  i, len = strlen(name);

	for (i = 0; i < *n; i++)
		if (strncmp((*env)[i], name, len) == 0 && (*env)[i][len] == '=')
			return;		/* LANG, LC_*, TZ: there already */

	if ((e = reallocarray(*env, *n + 2, sizeof(char *))) == NULL)
		fatalx("out of memory");
	*env = e;
	if (asprintf(&e[*n], "%s=%s", name, val) == -1)
		fatalx("out of memory");
	e[++*n] = NULL;
}

/* The part of every hook's environment that does not change. */
static void
build_hook_env(struct conf *c)
{
	const char	*v, *pass;
	struct passwd	*pw;
	char		**env = NULL, *list, *name, *save = NULL;
	size_t		 n = 0, i;

	v = getenv("HCA_HOOK_PATH");
	if (v && *v == '\0')
		fatalx("HCA_HOOK_PATH is empty");
	env_add(&env, &n, "PATH", v ? v : "/usr/local/bin:/usr/bin:/bin");
	if (c->user && geteuid() == 0) {
		if ((pw = getpwnam(c->user)) == NULL)
			fatalx("HCA_USER=%s: no such user", c->user);
		v = pw->pw_dir;
	} else if ((v = getenv("HOME")) == NULL || *v == '\0')
		v = (pw = getpwuid(geteuid())) ? pw->pw_dir : "/";
	env_add(&env, &n, "HOME", v);
	for (i = 0; environ[i]; i++)
		if (strncmp(environ[i], "LANG=", 5) == 0 ||
		    strncmp(environ[i], "LC_", 3) == 0 ||
		    strncmp(environ[i], "TZ=", 3) == 0) {
			char *e = reallocarray(env, n + 2, sizeof(char *));
			if (e == NULL || (((char **)e)[n] =
			    strdup(environ[i])) == NULL)
				fatalx("out of memory");
			env = (char **)e;
			env[++n] = NULL;
		}
	if ((pass = getenv("HCA_PASS_ENV")) != NULL) {
		if ((list = strdup(pass)) == NULL)
			fatalx("out of memory");
		for (name = strtok_r(list, ", \t", &save); name;
		    name = strtok_r(NULL, ", \t", &save)) {
			const char *why = pass_denied(name);
			if (why)
				fatalx("HCA_PASS_ENV: %s %s; it is never passed "
				    "to hooks", name, why);
			if ((v = getenv(name)) != NULL)
				env_add(&env, &n, name, v);
		}
		free(list);
	}
	c->hook_env = env;
}

/* The user the agent will run as: HCA_USER's when started as root. */
static void
set_user(struct conf *c)
{
	struct passwd	*pw;

	c->uid = geteuid();
	c->gid = getegid();
	if (c->user == NULL || c->uid != 0)
		return;
	if ((pw = getpwnam(c->user)) == NULL)
		fatalx("HCA_USER=%s: no such user", c->user);
	c->uid = pw->pw_uid;
	c->gid = pw->pw_gid;
}

/*
 * Whoever can write a directory above HOOKS can put another tree in its
 * place: refuse to start.  (HOOKS itself and what is in it are checked at
 * every request, so that a refusal there is an answer, not an exit.)
 */
static void
check_hooks_parent(const struct conf *c)
{
	char		 parent[PATH_MAX], why[PATH_MAX + 200];
	const char	*base;
	int		 fd;

	if (path_split(c->hooks_dir, parent, sizeof(parent), &base) == -1)
		return;		/* "/" itself */
	if ((fd = path_open_dir(parent, c->uid, NULL, why, sizeof(why))) ==
	    -1)
		fatalx("HCA_HOOKS_DIR=%s: %s", c->hooks_dir, why);
	close(fd);
}

static void
check_dir(const char *what, const char *path)
{
	struct stat	 st;

	if (stat(path, &st) == -1)
		fatal("%s=%s", what, path);
	if (!S_ISDIR(st.st_mode))
		fatalx("%s=%s: not a directory", what, path);
}

/* Read the URL from HCA_URL_FILE; the file is a secret, so is its text. */
static char *
read_url_file(const char *path)
{
	FILE	*f;
	char	 buf[4096];
	size_t	 n;

	if ((f = fopen(path, "re")) == NULL)
		fatal("HCA_URL_FILE=%s", path);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
	    buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	if (n == 0 || n == sizeof(buf) - 1) {
		explicit_bzero(buf, sizeof(buf));
		fatalx("HCA_URL_FILE=%s: expected one URL of less than %zu bytes",
		    path, sizeof(buf) - 1);
	}
	char *u = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	if (u == NULL)
		fatalx("out of memory");
	return u;
}

/*
 * The client key, read now (as root, when started so) and kept in memory for
 * every connect, so that the file can be root's alone even with HCA_USER.
 */
static void
read_key(struct conf *c)
{
	size_t	 n = 0;
	ssize_t	 r;
	int	 fd;

	/* Read in place, into room for the largest: no copy left behind. */
	if ((c->key_pem = malloc(KEY_MAX)) == NULL)
		fatalx("out of memory");
	if ((fd = open(c->key, O_RDONLY | O_CLOEXEC)) == -1)
		fatal("HCA_KEY=%s", c->key);
	while (n < KEY_MAX &&
	    (r = read(fd, c->key_pem + n, KEY_MAX - n)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			fatal("HCA_KEY=%s", c->key);
		n += (size_t)r;
	}
	close(fd);
	if (n == 0 || n == KEY_MAX)
		fatalx("HCA_KEY=%s: expected a PEM key of less than %d bytes",
		    c->key, KEY_MAX);
	/* librabbitmq 0.11 aborts the process when it meets a passphrase. */
	if (memmem(c->key_pem, n, "ENCRYPTED", 9) != NULL)
		fatalx("HCA_KEY=%s: the key is encrypted; hca-exec takes "
		    "unencrypted keys only", c->key);
	c->key_len = n;
}

/* Wipe HCA_URL's text from the environment block as well. */
static void
take_url(struct conf *c)
{
	char	*v = getenv("HCA_URL");
	const char *file = getenv("HCA_URL_FILE");

	if (file && *file == '\0')
		file = NULL;	/* set empty: as if unset (clears an image's) */

	if (v && file)
		fatalx("HCA_URL and HCA_URL_FILE are both set; use one");
	if (v) {
		if (*v == '\0')
			fatalx("HCA_URL is empty");
		if ((c->url = strdup(v)) == NULL)
			fatalx("out of memory");
		explicit_bzero(v, strlen(v));
		unsetenv("HCA_URL");
	} else if (file) {
		c->url = read_url_file(file);
		if ((c->url_file = strdup(file)) == NULL)
			fatalx("out of memory");
	}
	if (c->url) {
		char			*copy = strdup(c->url);
		struct amqp_connection_info ci;

		if (copy == NULL)
			fatalx("out of memory");
		if (amqp_parse_url(copy, &ci) != AMQP_STATUS_OK) {
			explicit_bzero(copy, strlen(copy));
			free(copy);
			fatalx("%s: not an amqp:// or amqps:// URL of the form "
			    "amqp://USER:PASS@HOST[:PORT][/VHOST]",
			    file ? "HCA_URL_FILE" : "HCA_URL");
		}
		explicit_bzero(copy, strlen(copy));
		free(copy);
	}
}

/*
 * HCA_KINDS_FILE and HCA_TYPE_FROM.  The kinds file says what is run, so it
 * is opened as the hooks are: on a path that only root or the agent's user
 * could have laid.
 */
static void
set_wire(struct conf *c)
{
	char		 why[PATH_MAX + 300], path[PATH_MAX];
	const char	*bad;
	struct stat	 st;
	FILE		*f;
	int		 fd;

	if (c->kinds_file) {
		if (path_absolute(c->kinds_file, path, sizeof(path)) == -1)
			fatal("HCA_KINDS_FILE=%s", c->kinds_file);
		if ((fd = path_open(path, c->uid, O_RDONLY | O_NONBLOCK, NULL,
		    why, sizeof(why))) == -1)
			fatalx("HCA_KINDS_FILE=%s: %s", c->kinds_file, why);
		if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
			fatalx("HCA_KINDS_FILE=%s: not a regular file",
			    c->kinds_file);
		if (st.st_size > KINDS_FILE_MAX)
			fatalx("HCA_KINDS_FILE=%s: larger than %d bytes",
			    c->kinds_file, KINDS_FILE_MAX);
		if ((st.st_uid != 0 && st.st_uid != c->uid) ||
		    (st.st_mode & (S_IWGRP | S_IWOTH)))
			fatalx("HCA_KINDS_FILE=%s: another user could change it: "
			    "it must be owned by root or uid %u and writable by "
			    "its owner only", c->kinds_file, (unsigned)c->uid);
		if ((f = fdopen(fd, "r")) == NULL)
			fatal("HCA_KINDS_FILE=%s", c->kinds_file);
		if (kinds_read(f, c->kinds_file, why, sizeof(why)) == -1)
			fatalx("HCA_KINDS_FILE: %s", why);
		fclose(f);
	}
	if ((bad = typefrom_parse(c->type_from_s, &c->type_from)) != NULL ||
	    (bad = typefrom_check(&c->type_from)) != NULL)
		fatalx("HCA_TYPE_FROM=%s: %s", c->type_from_s, bad);
	if (c->health || c->offline_kind == NULL)
		return;
	if (c->type_from.where == TF_BODY && strcmp(c->offline_kind, "-"))
		fatalx("HCA_TYPE_FROM=%s: a request's kind is in its body; "
		    "use --kind - to read it from there", c->type_from_s);
	if (c->type_from.where != TF_BODY && strcmp(c->offline_kind, "-") == 0)
		fatalx("--kind -: only with HCA_TYPE_FROM=body:FIELD");
}

/*
 * --health: the PingV1 hook run offline, as the HEALTHCHECK of old did,
 * after the status file's check; kept away from the daemon's log, metrics
 * and journal, quiet unless something is wrong, and quick.
 */
static void
health_mode(struct conf *c)
{
	if (c->offline_kind)
		fatalx("--health and --kind go not together");
	if (c->status_file == NULL)
		fatalx("--health needs HCA_STATUS_FILE, the file the daemon "
		    "writes its state to");
	if ((c->offline_kind = strdup(KIND_PING->request)) == NULL ||
	    (c->offline_corr == NULL &&
	    (c->offline_corr = strdup("healthcheck")) == NULL))
		fatalx("out of memory");
	free(c->log_file);
	free(c->metrics_file);
	free(c->state_dir);
	c->log_file = c->metrics_file = c->state_dir = NULL;
	if (c->log_level > LL_WARN)
		c->log_level = LL_WARN;
	if (c->hook_timeout_ms > HEALTH_HOOK_MS)
		c->hook_timeout_ms = HEALTH_HOOK_MS;
	if (c->hook_grace_ms > HEALTH_GRACE_MS)
		c->hook_grace_ms = HEALTH_GRACE_MS;
	c->retries = 0;
}

void
conf_load(struct conf *c, int argc, char **argv)
{
	struct option	 lopts[NOPTS + 3];
	char		 sopts[3 * NOPTS + 8], what[64], *p;
	const char	*v;
	size_t		 i, ns = 0;
	int		 ch, li;

	memset(c, 0, sizeof(*c));
	c->stop_timeout_ms = -1;
	for (i = 0; i < sizeof(c->rlimits) / sizeof(c->rlimits[0]); i++)
		c->rlimits[i] = -1;
	for (i = 0; i < NOPTS; i++)
		if (opts[i].def)
			set(c, &opts[i], opts[i].def, opts[i].lname);
	for (i = 0; i < NOPTS; i++)
		if (opts[i].env && (v = getenv(opts[i].env)) != NULL)
			set(c, &opts[i], v, opts[i].env);

	memset(lopts, 0, sizeof(lopts));
	sopts[ns++] = ':';
	for (i = 0; i < NOPTS; i++) {
		lopts[i].name = opts[i].lname;
		lopts[i].has_arg = opts[i].type == O_FLAG ? no_argument :
		    required_argument;
		lopts[i].val = opts[i].sname ? opts[i].sname : 256 + (int)i;
		if (opts[i].sname) {
			sopts[ns++] = (char)opts[i].sname;
			if (opts[i].type != O_FLAG)
				sopts[ns++] = ':';
		}
	}
	lopts[NOPTS].name = "help";
	lopts[NOPTS].val = 'h';
	lopts[NOPTS + 1].name = "version";
	lopts[NOPTS + 1].val = 'V';
	memcpy(sopts + ns, "hV", 3);

	while ((ch = getopt_long(argc, argv, sopts, lopts, &li)) != -1) {
		if (ch == 'h')
			usage(0);
		if (ch == 'V') {
			c->show_version = 1;
			return;
		}
		if (ch == '?') {
			fprintf(stderr, "hca-exec: unknown option %s\n",
			    argv[optind - 1]);
			usage(2);
		}
		if (ch == ':') {
			fprintf(stderr, "hca-exec: %s needs a value\n",
			    argv[optind - 1]);
			usage(2);
		}
		for (i = 0; i < NOPTS; i++)
			if (ch == (opts[i].sname ? opts[i].sname :
			    256 + (int)i))
				break;
		if (i == NOPTS)
			usage(2);
		snprintf(what, sizeof(what), "--%s", opts[i].lname);
		set(c, &opts[i], opts[i].type == O_FLAG ? "1" : optarg, what);
	}
	if (optind != argc) {
		fprintf(stderr, "hca-exec: unexpected argument %s\n",
		    argv[optind]);
		usage(2);
	}

	if (c->health)
		health_mode(c);
	set_user(c);
	set_wire(c);
	check_dir("HCA_HOOKS_DIR", c->hooks_dir);
	if ((p = realpath(c->hooks_dir, NULL)) == NULL)
		fatal("HCA_HOOKS_DIR=%s", c->hooks_dir);
	free(c->hooks_dir);
	c->hooks_dir = p;
	check_hooks_parent(c);
	if (c->prefetch == 0)
		c->prefetch = c->concurrency * 2 > 65535 ? 65535 :
		    c->concurrency * 2;
	if (c->stop_timeout_ms < 0)
		c->stop_timeout_ms = c->hook_timeout_ms + c->hook_grace_ms +
		    10000;

	if (c->offline_kind == NULL)
		take_url(c);	/* offline, the broker settings are not used */
	else if ((v = getenv("HCA_URL")) != NULL) {
		/* Unused, but still a secret: not in /proc/PID/environ. */
		explicit_bzero((char *)v, strlen(v));
		unsetenv("HCA_URL");
	}
	if (c->offline_kind == NULL) {
		if (c->url == NULL)
			fatalx("HCA_URL (or HCA_URL_FILE) is not set: the agent "
			    "needs the broker's URL");
		if (c->service == NULL)
			fatalx("HCA_SERVICE is not set: the agent needs its "
			    "service id");
	} else if (c->service == NULL && (c->service = strdup("offline")) ==
	    NULL)
		fatalx("out of memory");
	if (c->queue_in == NULL &&
	    asprintf(&c->queue_in, "%s.to_hca", c->service) == -1)
		fatalx("out of memory");
	if (c->queue_out == NULL &&
	    asprintf(&c->queue_out, "%s.to_portal", c->service) == -1)
		fatalx("out of memory");
	if ((c->cert == NULL) != (c->key == NULL))
		fatalx("HCA_CERT and HCA_KEY go together: set both or neither");
	if (c->key && c->offline_kind == NULL)
		read_key(c);
	build_hook_env(c);
}

void
conf_free(struct conf *c)
{
	size_t	 i;

	for (i = 0; c->hook_env && c->hook_env[i]; i++)
		free(c->hook_env[i]);
	free(c->hook_env);
	for (i = 0; i < NOPTS; i++)
		if (opts[i].type == O_STR || opts[i].type == O_SERVICE)
			free(*(char **)((char *)c + opts[i].off));
	if (c->url) {
		explicit_bzero(c->url, strlen(c->url));
		free(c->url);
	}
	if (c->key_pem) {
		explicit_bzero(c->key_pem, c->key_len);
		free(c->key_pem);
	}
	free(c->url_file);
	memset(c, 0, sizeof(*c));
}
