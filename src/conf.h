/*
 * conf.h: configuration from HCA_* variables and command-line flags, every
 * value checked at start-up.
 */
#ifndef HCA_CONF_H
#define HCA_CONF_H

#include <sys/resource.h>
#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "kinds.h"

struct conf {
	/* Hooks */
	char		*hooks_dir;	/* absolute */
	char		**hook_env;	/* fixed part of every hook's env */
	int64_t		 hook_timeout_ms;
	int64_t		 hook_grace_ms;
	size_t		 max_output;
	size_t		 max_message;
	int		 retries;
	int64_t		 retry_delay_ms;
	char		*service;
	char		*user;		/* drop to this user when root */
	uid_t		 uid;		/* what the agent runs as (HCA_USER's, */
	gid_t		 gid;		/* or the caller's) */
	int64_t		 rlimits[5];	/* see hook.h; -1: as inherited */
	struct rlimit	 hook_nofile;	/* RLIMIT_NOFILE as the agent got it */
	int		 hook_nofile_set;

	/* Broker */
	char		*url;		/* secret */
	char		*queue_in, *queue_out;
	char		*cacert, *cert, *key;
	char		*key_pem;	/* key's text, read at start (secret) */
	size_t		 key_len;
	char		*url_file;	/* HCA_URL_FILE, if the URL came so */
	int		 insecure;
	int		 declare;
	int		 heartbeat;
	int		 concurrency;
	int		 prefetch;
	int64_t		 stop_timeout_ms;
	char		*state_dir;
	int64_t		 journal_ttl_ms;
	int		 journal_max;

	/* The wire (hca-exec(8), FOLLOWING A DIFFERENT PORTAL) */
	char		*kinds_file;	/* HCA_KINDS_FILE, read at start */
	char		*type_from_s;	/* HCA_TYPE_FROM's text */
	struct typefrom	 type_from;	/* its meaning (name: in the text) */

	/* Metrics */
	char		*metrics_file;
	int64_t		 metrics_interval_ms;

	/* Health */
	char		*status_file;
	int64_t		 health_grace_ms;
	int		 health;	/* --health */

	/* Logging */
	int		 log_level;
	int		 log_json;
	char		*log_file;

	int		 show_version;	/* -V: nothing else is loaded */

	/* Offline dispatch (-n; "-": the body's, for body:FIELD) */
	char		*offline_kind;
	char		*offline_corr;
};

/* Parse; on any error print a message naming what is wrong and exit 2. */
void	 conf_load(struct conf *, int argc, char **argv);
void	 conf_free(struct conf *);

#endif
