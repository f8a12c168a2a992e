/*
 * log.h: one line per event on stderr (or a file), key=value or JSON lines.
 * Every line about a request carries its correlation id and kind.
 */
#ifndef HCA_LOG_H
#define HCA_LOG_H

#include <stdint.h>

enum loglevel { LL_ERROR, LL_WARN, LL_INFO, LL_DEBUG };

/* What a log line is about; either field may be NULL. */
struct logctx {
	const char	*corr;
	const char	*kind;
};

int	 log_level_parse(const char *);		/* -1 if unknown */
void	 log_init(enum loglevel, int json);
/* NULL path: stderr.  -1 with why filled on error (see log.c). */
int	 log_open(const char *path, char *why, size_t whylen);
int	 log_reopen(char *why, size_t whylen);
int	 log_enabled(enum loglevel);

void	 logmsg(enum loglevel, const struct logctx *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
/*
 * Log a byte string that may hold anything, as the message itself; returns
 * the bytes written to the log (0 if the level is off).
 */
size_t	 logbytes(enum loglevel, const struct logctx *, const char *prefix,
	    const char *, size_t);

/*
 * A line that may repeat for as long as its cause lasts (a broker that
 * keeps refusing replies, a full disk, a broker that is down): the first
 * line of an event (its format) with a cause (any text, or NULL) is
 * written, those that follow within LOG_RATE_MS are counted, and one
 * summary line, the last of them with "(N more times in the last S s)",
 * is written when that time is up, and so on while it lasts.  At every
 * level and in both formats.
 */
#define LOG_RATE_MS	10000
void	 log_rated(enum loglevel, const struct logctx *, const char *cause,
	    const char *, ...) __attribute__((format(printf, 4, 5)));
/* Write the summaries that are due; ms until the next one, or -1. */
int64_t	 log_rated_flush(void);
/* Write every summary held (at exit). */
void	 log_rated_end(void);

/*
 * Before the agent runs (configuration, start-up checks): say what is wrong
 * on stderr, "hca-exec: ...", and exit 2; fatal() adds ": " and errno's
 * text.
 */
void	 fatal(const char *, ...)
	    __attribute__((noreturn, format(printf, 1, 2)));
void	 fatalx(const char *, ...)
	    __attribute__((noreturn, format(printf, 1, 2)));

#define log_error(c, ...)	logmsg(LL_ERROR, (c), __VA_ARGS__)
#define log_warn(c, ...)	logmsg(LL_WARN, (c), __VA_ARGS__)
#define log_info(c, ...)	logmsg(LL_INFO, (c), __VA_ARGS__)
#define log_debug(c, ...)	logmsg(LL_DEBUG, (c), __VA_ARGS__)

#endif
