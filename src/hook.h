/*
 * hook.h: finding and running hook programs.
 *
 * hook_resolve() picks the executable for a request kind and resource type
 * and checks who may have written it.  hook_start() runs it as its own
 * process: stdin fed, stdout captured, stderr logged line by line, under a
 * time limit.  Everything happens from the ev loop; hook_start() never
 * blocks, and any number of hooks may run at once.
 */
#ifndef HCA_HOOK_H
#define HCA_HOOK_H

#include <sys/resource.h>

#include <stddef.h>
#include <stdint.h>

#include "log.h"

enum hook_found {
	HOOK_FOUND,		/* path holds the hook to run */
	HOOK_NONE,		/* no executable candidate */
	HOOK_REFUSED		/* a candidate exists but is unsafe to run */
};

enum hook_found	 hook_resolve(const char *dir, const char *kind,
		    const char *rtype, char *path, size_t pathlen,
		    const struct logctx *);

struct hook_spec {
	const char	*path;		/* absolute */
	const char	*dir;		/* working directory */
	char *const	*envp;
	const char	*in;		/* request body; must outlive the hook */
	size_t		 in_len;
	int64_t		 timeout_ms;
	int64_t		 grace_ms;
	size_t		 max_output;
	/* RLIMIT_AS, _CPU, _NOFILE, _NPROC, _CORE; -1 keeps the agent's,
	   INT64_MAX is unlimited.  NULL: all kept. */
	const int64_t	*rlimits;
	/* RLIMIT_NOFILE when rlimits leaves it as is (NULL: the agent's). */
	const struct rlimit *nofile;
	struct logctx	 log;		/* tags stderr lines; must outlive it */
};

enum hook_end {
	HOOK_EXITED,		/* code: exit status */
	HOOK_SIGNALED,		/* code: signal number */
	HOOK_TIMEOUT,		/* killed after the time limit */
	HOOK_TOOBIG,		/* stdout over max_output; killed */
	HOOK_EXECFAIL		/* code: errno of the failed start, at stage */
};

/* The step of starting a hook that failed, for HOOK_EXECFAIL. */
enum hook_stage {
	STAGE_EXEC = 0,		/* execve() itself */
	STAGE_FDS,		/* stdin, stdout, stderr, the note pipe */
	STAGE_LIMITS,		/* setrlimit() */
	STAGE_CHDIR,		/* into the hook's directory */
	STAGE_PIPE		/* the parent could not read the outcome */
};
/* The step's name for the log: "setting its resource limits" etc. */
const char	*hook_stage_name(enum hook_stage);

struct hook_result {
	enum hook_end	 end;
	int		 code;
	enum hook_stage	 stage;		/* HOOK_EXECFAIL: which step */
	const char	*out;		/* stdout, NUL-terminated */
	size_t		 out_len;
	int64_t		 elapsed_ms;
};

struct hook;
typedef void	 hook_done_fn(const struct hook_result *, void *arg);

/*
 * Start a hook.  done is called exactly once, from the loop, never from
 * within hook_start(); the hook frees itself after done returns.  Returns
 * NULL (errno set) if the process could not be created at all.
 */
struct hook	*hook_start(const struct hook_spec *, hook_done_fn *, void *);
/* Terminate a running hook now (TERM, grace, KILL); done is still called. */
void		 hook_terminate(struct hook *);

#endif
