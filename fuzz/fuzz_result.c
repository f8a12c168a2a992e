/*
 * fuzz_result.c: libFuzzer target for result_map(), a hook's end, exit
 * status and stdout turned into the reply (result.c).
 *
 * Input: two control bytes, then the hook's stdout.
 *   byte 0, bits 0-1: the kind (PingV1, ResourceAllocateV1,
 *           ResourceDeallocateV1, ResourceUpdateV1)
 *           bits 2-4: the end (0 exited, 1 signaled, 2 timeout, 3 too big,
 *           4 exec failed, 5-7 exited)
 *           bit 5: no correlation id
 *           bit 6: log at debug level (to /dev/null), else errors only
 *   byte 1: the exit status (or signal number, or errno)
 * So "\0\0" + text is a PingV1 hook that exited 0 with that text.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jv.h>

#include "kinds.h"
#include "ref_utf8.h"
#include "log.h"
#include "result.h"
#include "util.h"

#define CORR	"corr-7f3a"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const kind_names[] = {
	"PingV1", "ResourceAllocateV1", "ResourceDeallocateV1",
	"ResourceUpdateV1"
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	 why[256];

	(void)argc;
	(void)argv;
	log_init(LL_ERROR, 0);

	if (log_open("/dev/null", why, sizeof(why)) == -1)
		abort();
	return 0;
}

/* The ErrorV1 type the exit status table gives (hca-exec(8), RESULT MAPPING). */
static const char *
table_type(int code)
{
	switch (code) {
	case 64: case 65:	return "InvalidSpecification";
	case 67: case 68:	return "UnknownTarget";
	case 69:		return "ServiceUnavailable";
	case 73:		return "ResourceExists";
	case 75:		return "TemporaryFailure";
	case 77:		return "PermissionDenied";
	case 78:		return "ConfigurationError";
	default:		return "HookFailed";
	}
}

/* Member key of o, a string, or abort; returns its bytes and length. */
static const char *
member(jv o, const char *key, jv *hold, size_t *n)
{
	*hold = jv_object_get(jv_copy(o), jv_string(key));
	if (jv_get_kind(*hold) != JV_KIND_STRING)
		abort();
	*n = (size_t)jv_string_length_bytes(jv_copy(*hold));
	return jv_string_value(*hold);
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct kind	*k;
	struct hook_result	 h;
	struct logctx		 lc;
	struct reply		 r;
	const char		*corr, *s, *t;
	char			*out, *clean;
	size_t			 n, tn, i, j, l, q, cn;
	unsigned long		 cp;
	jv			 hs, ht, d;
	int			 end;

	if (size < 2)
		return 0;
	k = kind_lookup(kind_names[data[0] & 3]);
	if (k == NULL)
		abort();
	end = (data[0] >> 2) & 7;
	if (end > HOOK_EXECFAIL)
		end = HOOK_EXITED;
	corr = (data[0] & 0x20) ? NULL : CORR;
	log_init((data[0] & 0x40) ? LL_DEBUG : LL_ERROR, 0);

	/* stdout as hook.c hands it over: NUL-terminated. */
	n = size - 2;
	if ((out = malloc(n + 1)) == NULL || (clean = malloc(n + 1)) == NULL)
		return 0;
	memcpy(out, data + 2, n);
	out[n] = '\0';

	memset(&h, 0, sizeof(h));
	h.end = end;
	h.code = data[1];
	h.out = out;
	h.out_len = n;
	lc.corr = corr;
	lc.kind = k->request;
	memset(&r, 0, sizeof(r));
	r.body = jv_invalid();
	result_map(k, &h, corr, &lc, &r);

	if (r.type == NULL || jv_get_kind(r.body) != JV_KIND_OBJECT)
		abort();
	/* stdout's text, trimmed as result.c does. */
	for (i = 0; i < n && is_space(out[i]); i++)
		;
	for (j = n; j > i && is_space(out[j - 1]); j--)
		;

	if (strcmp(r.type, ERROR_REPLY) == 0) {
		t = member(r.body, "type", &ht, &tn);
		s = member(r.body, "message", &hs, &n);
		if (!name_valid(t, tn) || n == 0 || !ref_utf8_valid(s, n, 1) ||
		    ref_utf8_count(s, n) > MESSAGE_MAX)
			abort();
		/* No unsafe character in a message but newline and tab. */
		for (q = 0; q < n; q += l) {
			l = ref_utf8_seq((const unsigned char *)s + q, n - q);
			cp = ref_utf8_cp((const unsigned char *)s + q, l);
			if (ref_cp_unsafe(cp) && cp != '\n' && cp != '\t')
				abort();
		}
		if (jv_object_length(jv_copy(r.body)) != 2)
			abort();
		switch (end) {
		case HOOK_SIGNALED:
			if (strcmp(t, "HookCrashed"))
				abort();
			break;
		case HOOK_TIMEOUT:
			if (strcmp(t, "Timeout"))
				abort();
			break;
		case HOOK_TOOBIG:
			if (strcmp(t, "HookProtocolError"))
				abort();
			break;
		case HOOK_EXECFAIL:
			if (strcmp(t, "HookFailed"))
				abort();
			break;
		case HOOK_EXITED:
			if (h.code == 0) {
				if (strcmp(t, "HookProtocolError"))
					abort();
				break;
			}
			/* Only stdout's JSON object can change the type. */
			if ((i == j || out[i] != '{') &&
			    strcmp(t, table_type(h.code)))
				abort();
			/* Empty stdout: the generic sentence, naming corr. */
			if (i == j && strstr(s, corr ? corr : "(none)") == NULL)
				abort();
			/*
			 * Text that is not a JSON object or string, if UTF-8:
			 * the message is the text without unsafe characters
			 * (newline and tab kept), cut to MESSAGE_MAX.
			 */
			if (i < j && out[i] != '{' && out[i] != '"' &&
			    ref_utf8_valid(out + i, j - i, 1) &&
			    (cn = ref_clean(out + i, j - i, clean)) > 0 &&
			    (n > cn || memcmp(s, clean, n) != 0 ||
			    (n < cn && ref_utf8_count(s, n) != MESSAGE_MAX)))
				abort();
			break;
		}
		jv_free(ht);
		jv_free(hs);
	} else {
		if (strcmp(r.type, k->reply) || end != HOOK_EXITED ||
		    h.code != 0)
			abort();
		if (jv_object_length(jv_copy(r.body)) != 1)
			abort();
		s = member(r.body, k->field, &hs, &n);
		if (n == 0 || !ref_utf8_valid(s, n, 0))
			abort();
		/* No control, separator or bidirectional character. */
		for (q = 0; q < n; q += l) {
			l = ref_utf8_seq((const unsigned char *)s + q, n - q);
			if (ref_cp_unsafe(ref_utf8_cp(
			    (const unsigned char *)s + q, l)))
				abort();
		}
		if (strcmp(k->field, "id") == 0 && n > ID_MAX)
			abort();
		jv_free(hs);
	}

	/* What agent.c publishes: the body dumped; it must read back. */
	d = jv_dump_string(jv_copy(r.body), 0);
	if (jv_get_kind(d) != JV_KIND_STRING)
		abort();
	n = (size_t)jv_string_length_bytes(jv_copy(d));
	if (!utf8_valid(jv_string_value(d), n))
		abort();
	ht = jv_parse_sized(jv_string_value(d), (int)n);
	if (!jv_equal(ht, jv_copy(r.body)))
		abort();
	jv_free(d);

	reply_free(&r);
	free(out);
	free(clean);
	return 0;
}
