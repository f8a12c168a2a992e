/* util.c: buffers, name and UTF-8 checks, files, time. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jv.h>

#include "util.h"

int
buf_append(struct buf *b, const void *p, size_t n)
{
	size_t	 need, cap;
	char	*d;

	if (n > SIZE_MAX - b->len - 1)
		return -1;
	need = b->len + n + 1;
	if (need > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < need)
			cap = cap > SIZE_MAX / 2 ? need : cap * 2;
		if ((d = realloc(b->data, cap)) == NULL)
			return -1;
		b->data = d;
		b->cap = cap;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

/* Drop the first n bytes. */
void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
	} else {
		memmove(b->data, b->data + n, b->len - n);
		b->len -= n;
	}
	if (b->data)
		b->data[b->len] = '\0';
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int
name_valid(const char *s, size_t n)
{
	size_t	 i;
	char	 c;

	if (n == 0 || n > 128)
		return 0;
	c = s[0];
	if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
		return 0;
	for (i = 1; i < n; i++) {
		c = s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')
			continue;
		return 0;
	}
	return 1;
}

/*
 * Length of the UTF-8 sequence at p (at most n bytes), 0 if malformed; its
 * code point in *cpp.
 */
static size_t
utf8_seq(const unsigned char *p, size_t n, uint32_t *cpp)
{
	uint32_t	 cp;
	size_t		 len, i;

	*cpp = p[0];
	if (p[0] < 0x80)
		return p[0] != 0;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cpp = cp;
	return len;
}

int
utf8_valid(const void *s, size_t n)
{
	const unsigned char	*p = s;
	size_t			 i, l;
	uint32_t		 cp;

	for (i = 0; i < n; i += l)
		if ((l = utf8_seq(p + i, n - i, &cp)) == 0)
			return 0;
	return 1;
}

/* A character text_plain() refuses. */
static int
cp_unsafe(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) ||
	    cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	    (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

int
text_plain(const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, l;
	uint32_t		 cp;

	for (i = 0; i < n; i += l)
		if ((l = utf8_seq(p + i, n - i, &cp)) == 0 || cp_unsafe(cp))
			return 0;
	return 1;
}

size_t
text_clean(char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, l, o = 0;
	uint32_t		 cp;

	for (i = 0; i < n; i += l) {
		if ((l = utf8_seq(p + i, n - i, &cp)) == 0)
			l = 1;			/* not UTF-8: dropped */
		else if (!cp_unsafe(cp) || cp == '\n' || cp == '\t') {
			memmove(s + o, s + i, l);
			o += l;
		}
	}
	return o;
}

size_t
utf8_prefix(const char *s, size_t n, size_t max)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, l, count = 0;

	uint32_t		 cp;

	while (i < n && count < max) {
		if ((l = utf8_seq(p + i, n - i, &cp)) == 0)
			l = 1;		/* count a stray byte as one */
		i += l;
		count++;
	}
	return i;
}

int
json_text_ok(const char *s, size_t n)
{
	size_t	 i;
	char	 prev = ',';	/* last byte outside strings and space */

	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 && s[i] != '\t' &&
		    s[i] != '\r' && s[i] != '\n')
			return 0;
		if (s[i] == '"') {
			if (prev != '[' && prev != '{' && prev != ',' &&
			    prev != ':')
				return 0;
			for (i++; i < n && s[i] != '"'; i++) {
				if ((unsigned char)s[i] < 0x20)
					return 0;	/* raw, in a string */
				if (s[i] == '\\' && i + 1 < n &&
				    (unsigned char)s[++i] < 0x20)
					return 0;
			}
			prev = '"';
		} else if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' &&
		    s[i] != '\n')
			prev = s[i];
	}
	return 1;
}

jv
json_parse(const char *s, size_t n)
{
	if (n > INT_MAX || !json_text_ok(s, n))
		return jv_invalid_with_msg(jv_string("not JSON text"));
	return jv_parse_sized(s, (int)n);
}

int
file_replace(const char *path, mode_t mode, void (*emit)(FILE *, void *),
    void *arg)
{
	char	 tmp[4096];
	FILE	*f;
	int	 e, fd;

	/* A new file of a name nobody can guess: never someone's link. */
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		return -1;
	if (fchmod(fd, mode) == -1 || (f = fdopen(fd, "w")) == NULL) {
		e = errno;
		close(fd);
		unlink(tmp);
		errno = e;
		return -1;
	}
	emit(f, arg);
	if (fflush(f) == EOF || ferror(f)) {
		e = errno;
		fclose(f);
		unlink(tmp);
		errno = e;
		return -1;
	}
	if (fclose(f) == EOF || rename(tmp, path) == -1) {
		e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	return 0;
}

int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
parse_seconds(const char *s)
{
	int64_t	 ms = 0, scale = 1000;
	int	 digits = 0;

	for (; *s >= '0' && *s <= '9'; s++, digits++) {
		if (ms > (INT64_MAX / 10 - 1000) / 1000)
			return -1;
		ms = ms * 10 + (*s - '0') * 1000;
	}
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++, digits++)
			if ((scale /= 10) > 0)
				ms += (*s - '0') * scale;
	}
	if (*s != '\0' || digits == 0)
		return -1;
	return ms;
}
