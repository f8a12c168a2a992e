/*
 * fuzz_util.c: libFuzzer target for the parsers in util.c: parse_seconds(),
 * utf8_valid(), utf8_prefix(), name_valid(), text_plain() and text_clean(),
 * each against a reference written here from its specification;
 * json_text_ok() against libjq (it must pass whatever libjq parses that
 * holds no control byte but white space, and what it passes must not make
 * libjq leak).
 *
 * Input: one byte that picks the max of utf8_prefix(), then the text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jv.h>
#include <sanitizer/lsan_interface.h>

#include "ref_utf8.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * "12", "0.5", ".5", "5.": decimal seconds, digits only, in whole
 * milliseconds (further decimals dropped); -1 if malformed.  Values past
 * 2^100 are capped there.
 */
static __int128
ref_seconds(const char *s)
{
	__int128	 ms = 0, cap = (__int128)1 << 100;
	int		 digits = 0, dec = 0;

	for (; *s >= '0' && *s <= '9'; s++, digits++)
		if ((ms = ms * 10 + (*s - '0') * 1000) > cap)
			ms = cap;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++, digits++)
			if (++dec <= 3 && ms < cap)
				ms += (*s - '0') * (dec == 1 ? 100 :
				    dec == 2 ? 10 : 1);
	if (*s != '\0' || digits == 0)
		return -1;
	return ms;
}

static int
ref_name(const char *s, size_t n)
{
	static const char alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	size_t	 i;

	if (n < 1 || n > 128 || s[0] == '\0' || strchr(alpha, s[0]) == NULL)
		return 0;
	for (i = 1; i < n; i++)
		if (s[i] == '\0' || (strchr(alpha, s[i]) == NULL &&
		    strchr("0123456789_.-", s[i]) == NULL))
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char	*p;
	char			*s;
	size_t			 n, max, i, l, count, cut, cn;
	char			*c, *c2;
	int			 plain, controls;
	int64_t			 got;
	__int128		 want;
	jv			 v;

	if (size < 1)
		return 0;
	max = data[0];
	n = size - 1;
	if ((s = malloc(n + 1)) == NULL)
		return 0;
	memcpy(s, data + 1, n);
	s[n] = '\0';
	p = (const unsigned char *)s;

	/* utf8_valid: well-formed, no NUL; read within [s, s + n). */
	if (utf8_valid(s, n) != ref_utf8_valid(s, n, 0))
		abort();

	/* utf8_prefix: max code points, a stray byte counting as one. */
	cut = utf8_prefix(s, n, max);
	for (i = 0, count = 0; i < n && count < max; i += l, count++)
		if ((l = ref_utf8_seq(p + i, n - i)) == 0 || p[i] == 0)
			l = 1;
	if (cut != i || cut > n)
		abort();
	if (utf8_valid(s, n) && !utf8_valid(s, cut))
		abort();

	/* name_valid */
	if (name_valid(s, n) != ref_name(s, n))
		abort();

	/*
	 * parse_seconds, on the text up to its first NUL: the exact value,
	 * or -1 if malformed; it may refuse values over 10^14 ms (3000
	 * years) as too large.
	 */
	got = parse_seconds(s);
	want = ref_seconds(s);
	if (got != want && !(got == -1 && want > 100000000000000LL))
		abort();

	/* text_plain: UTF-8 without NUL or an unsafe character. */
	for (i = 0, plain = 1; i < n && plain; i += l)
		plain = (l = ref_utf8_seq(p + i, n - i)) != 0 &&
		    !ref_cp_unsafe(ref_utf8_cp(p + i, l));
	if (text_plain(s, n) != plain)
		abort();

	/* text_clean: the same bytes as the reference's, in place. */
	if ((c = malloc(n + 1)) == NULL || (c2 = malloc(n + 1)) == NULL)
		abort();
	memcpy(c, s, n);
	cn = text_clean(c, n);
	if (cn != ref_clean(s, n, c2) || memcmp(c, c2, cn) != 0)
		abort();
	free(c);
	free(c2);

	/*
	 * json_text_ok: never refuses one JSON value without a control byte
	 * but white space; what it passes, libjq parses without leaking
	 * (LeakSanitizer).
	 */
	for (i = 0, controls = 0; i < n; i++)
		if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
			controls = 1;
	if (json_text_ok(s, n)) {
		v = jv_parse_sized(s, (int)n);
		jv_free(v);
	} else if (!controls) {
		__lsan_disable();	/* libjq leaks on just these */
		v = jv_parse_sized(s, (int)n);
		__lsan_enable();
		if (jv_is_valid(v))
			abort();
		jv_free(v);
	}

	free(s);
	return 0;
}
