/*
 * util.h: small helpers shared by every module: a growable byte buffer,
 * name and UTF-8 checks, atomic file writes, monotonic time.
 */
#ifndef HCA_UTIL_H
#define HCA_UTIL_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jv.h>

/* A growable byte buffer; always NUL-terminated after its data. */
struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

int	 buf_append(struct buf *, const void *, size_t);
void	 buf_consume(struct buf *, size_t);
void	 buf_free(struct buf *);

/* [A-Za-z][A-Za-z0-9_.-]{0,127}: message kinds, resource types, error types. */
int	 name_valid(const char *, size_t);
/* 1 if the bytes are well-formed UTF-8 with no NUL. */
int	 utf8_valid(const void *, size_t);
/* Length of the longest prefix of at most max code points. */
size_t	 utf8_prefix(const char *, size_t, size_t max);
/*
 * 1 if the bytes are UTF-8 text with no character that can make a line lie
 * about where it ends or which way it reads: C0 controls and DEL, C1
 * controls, U+2028 and U+2029 (line and paragraph separators), and the
 * bidirectional controls (U+061C, U+200E, U+200F, U+202A-U+202E,
 * U+2066-U+2069).  Ids, correlation ids and target values must be such text.
 */
int	 text_plain(const char *, size_t);
/*
 * Drop from s (UTF-8) what text_plain() refuses, but for newline and tab;
 * bytes that are not UTF-8 go too.  Returns the new length.  For messages
 * shown to a user.
 */
size_t	 text_clean(char *, size_t);
/*
 * 1 if s may be handed to libjq 1.6's parser.  0 if it holds a control byte
 * other than JSON's white space (libjq ends a value at 0x1e, the record
 * separator of JSON text sequences, and ignores what follows, where jq(1)
 * reads two documents: what the agent checked would not be what a hook
 * reads), or a JSON string right after a value with no ',' or ':' between
 * them ("[1 \"a\"]": invalid, and libjq leaks the string).  Every parse
 * of untrusted JSON goes through json_parse().
 */
int	 json_text_ok(const char *, size_t);
jv	 json_parse(const char *, size_t);

/*
 * Replace the file at path with what emit() writes, atomically: a new file
 * of an unguessable name beside it (never someone's link), then rename().
 * -1 with errno on failure, the old file untouched.
 */
int	 file_replace(const char *path, mode_t mode,
	    void (*emit)(FILE *, void *), void *arg);

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t	 now_ms(void);

/* Parse "12", "0.5" seconds into milliseconds; -1 if malformed. */
int64_t	 parse_seconds(const char *);

#endif
