/*
 * util.h: small helpers shared by every module: a growable byte buffer,
 * name and UTF-8 checks, monotonic time.
 */
#ifndef HCA_UTIL_H
#define HCA_UTIL_H

#include <stddef.h>
#include <stdint.h>

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
 * 0 if a JSON string follows a value with no ',' or ':' between them
 * ("[1 \"a\"]"): invalid JSON, on which libjq 1.6 leaks the string.
 * Checked before jv_parse_sized() on untrusted text.
 */
int	 json_strings_placed(const char *, size_t);

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t	 now_ms(void);

/* Parse "12", "0.5" seconds into milliseconds; -1 if malformed. */
int64_t	 parse_seconds(const char *);

#endif
