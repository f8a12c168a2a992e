/*
 * request.c: the checks of a request that need nothing but its bytes: its
 * body (request_parse) and its correlation id.  Pure functions, so that
 * the fuzz target links this file alone (with util.c).
 */
#include <stdlib.h>
#include <string.h>

#include <jv.h>

#include "request.h"
#include "util.h"

#define TARGET_MAX	4096		/* bytes of a target user or group */

/*
 * Copy a string member of o (kind-checked); 0 ok, -1 wrong kind or too long,
 * -2 not plain text (text_plain(): it goes into a hook's environment).
 */
static int
get_string(jv o, const char *key, char **out, size_t max)
{
	jv		 v = jv_object_get(jv_copy(o), jv_string(key));
	const char	*s;
	size_t		 n;
	int		 rc = 0;

	*out = NULL;
	if (jv_get_kind(v) == JV_KIND_STRING) {
		s = jv_string_value(v);
		n = (size_t)jv_string_length_bytes(jv_copy(v));
		if (n > max)
			rc = -1;
		else if (!text_plain(s, n))
			rc = -2;
		else if ((*out = strndup(s, n)) == NULL)
			rc = -1;
	} else if (jv_get_kind(v) != JV_KIND_NULL &&
	    jv_get_kind(v) != JV_KIND_INVALID)
		rc = -1;
	jv_free(v);
	return rc;
}

const char *
request_parse(const char *b, size_t len, size_t max, int empty_ok,
    struct request_info *ri)
{
	jv		 body, te;
	const char	*why = NULL;
	int		 rc;

	memset(ri, 0, sizeof(*ri));
	if (len > max)
		return REQUEST_TOO_LARGE;
	if (!utf8_valid(b, len))
		return "The request body is not UTF-8 text.";
	if (len == 0 && empty_ok)
		return NULL;
	body = json_parse(b, len);
	if (!jv_is_valid(body)) {
		jv_free(body);
		return "The request body is not valid JSON.";
	}
	if (jv_get_kind(body) != JV_KIND_OBJECT) {
		jv_free(body);
		return "The request body is not a JSON object.";
	}
	if (get_string(body, "type", &ri->rtype, 128) != 0 ||
	    (ri->rtype && !name_valid(ri->rtype, strlen(ri->rtype))))
		why = "The request's resource type is not a valid name.";
	te = jv_object_get(jv_copy(body), jv_string("target_entity"));
	if (why == NULL && jv_get_kind(te) == JV_KIND_OBJECT) {
		if ((rc = get_string(te, "user_id_target", &ri->target_user,
		    TARGET_MAX)) == 0)
			rc = get_string(te, "group_urn_target",
			    &ri->target_group, TARGET_MAX);
		if (rc == -1)
			why = "The request's target_entity is malformed.";
		else if (rc == -2)
			why = "The request's target user or group holds "
			    "control, line-separator or bidirectional "
			    "characters.";
	} else if (why == NULL && jv_get_kind(te) != JV_KIND_NULL &&
	    jv_get_kind(te) != JV_KIND_INVALID)
		why = "The request's target_entity is not an object.";
	jv_free(te);
	jv_free(body);
	if (why)
		request_info_free(ri);
	return why;
}

void
request_info_free(struct request_info *ri)
{
	free(ri->rtype);
	free(ri->target_user);
	free(ri->target_group);
	memset(ri, 0, sizeof(*ri));
}

int
request_corr_ok(const char *s, size_t len)
{
	return len > 0 && len <= 255 && strlen(s) == len && text_plain(s, len);
}

const char *
request_corr_text(const struct request *r)
{
	if (r->corr == NULL)
		return NULL;
	return strlen(r->corr) == r->corr_len ? r->corr : "";
}

void
request_free(struct request *r)
{
	free(r->kind);
	free(r->corr);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

char *
request_body_kind(const char *b, size_t len, const char *field, int *oom)
{
	jv	 body, v;
	char	*kind = NULL;

	*oom = 0;
	if (len == 0 || !utf8_valid(b, len))
		return NULL;
	body = json_parse(b, len);
	if (jv_get_kind(body) == JV_KIND_OBJECT) {
		v = jv_object_get(body, jv_string(field));
		if (jv_get_kind(v) == JV_KIND_STRING &&
		    (size_t)jv_string_length_bytes(jv_copy(v)) ==
		    strlen(jv_string_value(v)) && *jv_string_value(v) &&
		    (kind = strdup(jv_string_value(v))) == NULL)
			*oom = 1;
		jv_free(v);
	} else
		jv_free(body);
	return kind;
}
