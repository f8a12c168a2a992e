/*
 * fuzz_request.c: libFuzzer target for request_parse(), the check of a
 * request body, and request_body_kind(), the kind read from a body
 * (HCA_TYPE_FROM=body:kind) (request.c, linked alone with util.c).
 *
 * Input: one control byte, then the body.  Control byte: bit 0 is empty_ok;
 * with bit 7 set, max is (byte >> 1) & 0x3f (small limits, to reach the
 * size check), else 1 MiB (the default HCA_MAX_MESSAGE).  So "0{...}" is a
 * body for a request that needs one, "1" an empty PingV1 body.
 *
 * The body is passed as exactly len bytes, not NUL-terminated, so that a
 * read past its end is caught.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jv.h>

#include "request.h"
#include "ref_utf8.h"
#include "util.h"

#define TARGET_MAX	4096		/* as in request.c */

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/*
 * s is what request_parse() copied out of member key of o: NULL when the
 * member is absent or null, else the very same bytes (no NUL cut short),
 * UTF-8 without control, separator or bidirectional characters, at most max
 * bytes.  Consumes o.
 */
static void
check_member(jv o, const char *key, const char *s, size_t max)
{
	jv	 v = jv_invalid();
	size_t	 n, i, l;

	if (jv_get_kind(o) == JV_KIND_OBJECT)
		v = jv_object_get(jv_copy(o), jv_string(key));
	jv_free(o);
	if (jv_get_kind(v) != JV_KIND_STRING) {
		if (s != NULL)
			abort();
		jv_free(v);
		return;
	}
	if (s == NULL)
		abort();
	n = strlen(s);
	for (i = 0; i < n; i += l)
		if ((l = ref_utf8_seq((const unsigned char *)s + i, n - i)) ==
		    0 || ref_cp_unsafe(ref_utf8_cp((const unsigned char *)s + i,
		    l)))
			abort();
	if (n > max || !ref_utf8_valid(s, n, 0) ||
	    n != (size_t)jv_string_length_bytes(jv_copy(v)) ||
	    memcmp(s, jv_string_value(v), n) != 0)
		abort();
	jv_free(v);
}

/*
 * request_body_kind() gives the string member "kind" of a UTF-8 JSON object
 * as libjq reads it, when it is non-empty and holds no NUL; else NULL.
 */
static void
check_kind(const char *body, size_t len)
{
	jv	 v = jv_invalid(), k = jv_invalid();
	char	*kind;
	int	 oom, want;

	kind = request_body_kind(body, len, "kind", &oom);
	if (oom)
		return;
	if (len > 0 && ref_utf8_valid((const unsigned char *)body, len, 0)) {
		/* json_parse(): libjq 1.6 leaks on some bad input. */
		v = json_parse(body, len);
		if (jv_get_kind(v) == JV_KIND_OBJECT)
			k = jv_object_get(jv_copy(v), jv_string("kind"));
	}
	want = jv_get_kind(k) == JV_KIND_STRING &&
	    jv_string_length_bytes(jv_copy(k)) > 0 &&
	    strlen(jv_string_value(k)) ==
	    (size_t)jv_string_length_bytes(jv_copy(k));
	if (want != (kind != NULL) ||
	    (kind && strcmp(kind, jv_string_value(k)) != 0))
		abort();
	free(kind);
	jv_free(k);
	jv_free(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request_info	 ri;
	const char		*why;
	jv			 v, te;
	char			*body;
	size_t			 len, max;
	int			 empty_ok;

	if (size < 1)
		return 0;
	empty_ok = data[0] & 1;
	max = (data[0] & 0x80) ? (size_t)((data[0] >> 1) & 0x3f) : 1 << 20;
	len = size - 1;
	/* A heap copy of exactly len bytes: ASan sees any overread. */
	if ((body = malloc(len ? len : 1)) == NULL)
		return 0;
	memcpy(body, data + 1, len);

	memset(&ri, 0xa5, sizeof(ri));		/* must be overwritten */
	why = request_parse(body, len, max, empty_ok, &ri);
	if (why != NULL) {
		/* A reason, and nothing left to free. */
		if (*why == '\0' || ri.rtype || ri.target_user ||
		    ri.target_group)
			abort();
	} else {
		if (len > max || !ref_utf8_valid(data + 1, len, 0))
			abort();
		if (len == 0 && !empty_ok)
			abort();
		if (ri.rtype && !name_valid(ri.rtype, strlen(ri.rtype)))
			abort();
		if (len == 0) {
			if (ri.rtype || ri.target_user || ri.target_group)
				abort();
		} else {
			/* Compare with what libjq itself reads there. */
			v = jv_parse_sized(body, (int)len);
			if (jv_get_kind(v) != JV_KIND_OBJECT)
				abort();
			check_member(jv_copy(v), "type", ri.rtype, 128);
			te = jv_object_get(v, jv_string("target_entity"));
			check_member(jv_copy(te), "user_id_target",
			    ri.target_user, TARGET_MAX);
			check_member(te, "group_urn_target",
			    ri.target_group, TARGET_MAX);
		}
	}
	request_info_free(&ri);
	check_kind(body, len);
	free(body);
	return 0;
}
