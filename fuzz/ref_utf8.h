/*
 * ref_utf8.h: a reference UTF-8 decoder for the fuzz targets, written from
 * the Unicode table of well-formed byte sequences (Unicode 15, table 3-7),
 * independently of util.c.
 */
#ifndef FUZZ_REF_UTF8_H
#define FUZZ_REF_UTF8_H

#include <stddef.h>
#include <string.h>

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

/* The code point of the well-formed sequence of len bytes at p. */
static inline unsigned long
ref_utf8_cp(const unsigned char *p, size_t len)
{
	static const unsigned char lead[] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
	unsigned long	 cp = p[0] & lead[len];
	size_t		 i;

	for (i = 1; i < len; i++)
		cp = cp << 6 | (p[i] & 0x3f);
	return cp;
}

/*
 * Not plain text: C0, DEL, C1, U+2028, U+2029, and Unicode's Bidi_Control
 * characters (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069).
 */
static inline int
ref_cp_unsafe(unsigned long cp)
{
	static const unsigned long bidi[] = {
		0x061c, 0x200e, 0x200f, 0x2028, 0x2029, 0x202a, 0x202b,
		0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069
	};
	size_t	 i;

	if (cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f))
		return 1;
	for (i = 0; i < sizeof(bidi) / sizeof(bidi[0]); i++)
		if (cp == bidi[i])
			return 1;
	return 0;
}

/*
 * s without the bytes that are not UTF-8 and the unsafe characters but
 * newline and tab, into out (n bytes at most); its length.
 */
static inline size_t
ref_clean(const void *s, size_t n, char *out)
{
	const unsigned char	*p = s;
	size_t			 i, l, o = 0;
	unsigned long		 cp;

	for (i = 0; i < n; i += l) {
		if ((l = ref_utf8_seq(p + i, n - i)) == 0) {
			l = 1;
			continue;
		}
		cp = ref_utf8_cp(p + i, l);
		if (ref_cp_unsafe(cp) && cp != '\n' && cp != '\t')
			continue;
		memcpy(out + o, p + i, l);
		o += l;
	}
	return o;
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
