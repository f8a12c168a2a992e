/*
 * ref_utf8.h: a reference UTF-8 decoder for the fuzz targets, written from
 * the Unicode table of well-formed byte sequences (Unicode 15, table 3-7),
 * independently of util.c.
 */
#ifndef FUZZ_REF_UTF8_H
#define FUZZ_REF_UTF8_H

#include <stddef.h>

/* Bytes in the well-formed sequence at p, 0 if there is none. */
static inline size_t
ref_utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char	 lo = 0x80, hi = 0xbf;
	size_t		 len, i;

	if (n == 0)
		return 0;
	if (p[0] <= 0x7f)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] == 0xe0)
		len = 3, lo = 0xa0;
	else if (p[0] == 0xed)
		len = 3, hi = 0x9f;
	else if (p[0] >= 0xe1 && p[0] <= 0xef)
		len = 3;
	else if (p[0] == 0xf0)
		len = 4, lo = 0x90;
	else if (p[0] == 0xf4)
		len = 4, hi = 0x8f;
	else if (p[0] >= 0xf1 && p[0] <= 0xf3)
		len = 4;
	else
		return 0;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/* Well-formed UTF-8; NUL allowed only if nul_ok. */
static inline int
ref_utf8_valid(const void *s, size_t n, int nul_ok)
{
	const unsigned char	*p = s;
	size_t			 i, l;

	for (i = 0; i < n; i += l) {
		if ((l = ref_utf8_seq(p + i, n - i)) == 0)
			return 0;
		if (p[i] == 0 && !nul_ok)
			return 0;
	}
	return 1;
}

/* Code points in well-formed UTF-8. */
static inline size_t
ref_utf8_count(const void *s, size_t n)
{
	const unsigned char	*p = s;
	size_t			 i, c = 0;

	for (i = 0; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			c++;
	return c;
}

#endif
