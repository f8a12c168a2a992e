/*
 * result.c: the result mapping.
 *
 * Exit 0: stdout is a JSON object (the reply body, reduced to the fields the
 * reply defines), a JSON string or one line of printable text (the reply's
 * one field, normally the id), or nothing (the kind's fallback, if it has
 * one).  Anything else is HookProtocolError.
 * Exit not 0: ErrorV1 whose type comes from stdout's JSON "type" or the exit
 * status table, and whose message is stdout's "message", stdout's text, or
 * a generic sentence naming the correlation id.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "result.h"
#include "util.h"

/*
 * ErrorV1 of type name (e: its row, ERR_OTHER for a type a hook named).
 * Types not in the table take HookFailed's generic wording.
 */
static void
reply_named(struct reply *r, enum err e, const char *name,
    const char *message, const char *corr)
{
	char	 generic[512];
	jv	 t;

	if (message == NULL || *message == '\0') {
		snprintf(generic, sizeof(generic), "%s Please contact the "
		    "service's support and quote reference %s.",
		    err_table[e < NERRS ? e : ERR_HOOK_FAILED].generic,
		    corr && *corr ? corr : "(none)");
		message = generic;
	}
	r->type = ERROR_REPLY;
	r->error = 1;
	r->err = e;
	r->body = JV_OBJECT(jv_string("type"), jv_string(name),
	    jv_string("message"), jv_string(message));
	/* The body holds the string: the pointer lives as long as it. */
	t = jv_object_get(jv_copy(r->body), jv_string("type"));
	r->etype = jv_string_value(t);
	jv_free(t);
}

void
reply_error(struct reply *r, enum err e, const char *message,
    const char *corr)
{
	reply_named(r, e, err_table[e].name, message, corr);
}

void
reply_success(struct reply *r, const struct kind *k, jv value)
{
	r->type = k->reply;
	r->error = 0;
	r->etype = NULL;
	r->body = jv_object_set(jv_object(), jv_string(k->field), value);
}

enum outcome
hook_outcome(const struct hook_result *h)
{
	switch (h->end) {
	case HOOK_EXITED:
		return h->code == 0 ? OUT_SUCCESS :
		    h->code == EX_TEMPFAIL_CODE ? OUT_TEMPFAIL : OUT_FAILURE;
	case HOOK_SIGNALED:
		return OUT_CRASHED;
	case HOOK_TIMEOUT:
		return OUT_TIMEOUT;
	case HOOK_TOOBIG:
		return OUT_TOOBIG;
	case HOOK_EXECFAIL:
		break;
	}
	return OUT_EXECFAIL;
}

void
reply_free(struct reply *r)
{
	jv_free(r->body);
	r->body = jv_invalid();
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Trim white space at both ends of [*s, *s + *n). */
static void
trim(const char **s, size_t *n)
{
	while (*n && is_space(**s))
		(*s)++, (*n)--;
	while (*n && is_space((*s)[*n - 1]))
		(*n)--;
}

/* Is v (a string) fit to be the reply's field?  Returns a reason if not. */
static const char *
field_problem(const struct kind *k, jv v, char *buf, size_t len)
{
	const char	*s;
	size_t		 n;

	if (jv_get_kind(v) != JV_KIND_STRING)
		return "is not a string";
	s = jv_string_value(v);
	n = (size_t)jv_string_length_bytes(jv_copy(v));
	if (n == 0)
		return "is empty";
	if (!text_plain(s, n))
		return "holds control, line-separator or bidirectional "
		    "characters";
	if (k->field_max && n > k->field_max) {
		snprintf(buf, len, "is longer than %zu bytes", k->field_max);
		return buf;
	}
	if (n > 4 * MESSAGE_MAX)
		return "is too long";
	return NULL;
}

/* Parse JSON if the text looks like an object or a string; else invalid. */
static jv
parse_json(const char *s, size_t n)
{
	if (n == 0 || (s[0] != '{' && s[0] != '"' && s[0] != '['))
		return jv_invalid();
	return json_parse(s, n);
}

static void
protocol_error(struct reply *r, const char *corr, const struct logctx *lc,
    const char *why)
{
	log_warn(lc, "hook protocol error: %s", why);
	reply_error(r, ERR_HOOK_PROTOCOL_ERROR, NULL, corr);
}

static void
map_success(const struct kind *k, const char *s, size_t n, const char *corr,
    const struct logctx *lc, struct reply *r)
{
	jv		 v, val;
	char		 why[256], limit[64];
	const char	*p;

	trim(&s, &n);
	if (n == 0) {
		if (k->fallback == NULL) {
			protocol_error(r, corr, lc, "exit 0 with empty stdout,"
			    " but the reply needs an id");
			return;
		}
		val = jv_string(k->fallback);
	} else if (s[0] == '{' || s[0] == '"' || s[0] == '[') {
		v = parse_json(s, n);
		if (!jv_is_valid(v)) {
			jv msg = jv_invalid_get_msg(v);
			snprintf(why, sizeof(why), "stdout is not one JSON "
			    "value: %s", jv_get_kind(msg) == JV_KIND_STRING ?
			    jv_string_value(msg) : "parse error");
			jv_free(msg);
			protocol_error(r, corr, lc, why);
			return;
		}
		if (jv_get_kind(v) == JV_KIND_STRING) {
			val = v;
		} else if (jv_get_kind(v) == JV_KIND_OBJECT) {
			val = jv_object_get(jv_copy(v), jv_string(k->field));
			jv_object_foreach(v, key, x) {
				if (strcmp(jv_string_value(key), k->field))
					log_warn(lc, "reply field \"%s\" is not "
					    "part of %s; dropped",
					    jv_string_value(key), k->reply);
				jv_free(key);
				jv_free(x);
			}
			jv_free(v);
			if (!jv_is_valid(val) && k->fallback) {
				jv_free(val);
				val = jv_string(k->fallback);
			}
		} else {
			jv_free(v);
			protocol_error(r, corr, lc, "stdout is JSON but neither"
			    " an object nor a string");
			return;
		}
	} else if (text_plain(s, n)) {
		val = jv_string_sized(s, (int)n);
	} else {
		protocol_error(r, corr, lc, "stdout is neither JSON nor one "
		    "line of printable text");
		return;
	}
	if (!jv_is_valid(val)) {
		jv_free(val);
		snprintf(why, sizeof(why), "the reply has no \"%s\"", k->field);
		protocol_error(r, corr, lc, why);
		return;
	}
	if ((p = field_problem(k, val, limit, sizeof(limit))) != NULL) {
		jv_free(val);
		snprintf(why, sizeof(why), "the reply's \"%s\" %s", k->field, p);
		protocol_error(r, corr, lc, why);
		return;
	}
	reply_success(r, k, val);
}

/*
 * A hook's message as the user will see it: newlines and tabs kept, other
 * control, separator and bidirectional characters dropped, then cut to
 * MESSAGE_MAX characters.
 */
static jv
message_fit(jv m)
{
	size_t	 n = (size_t)jv_string_length_bytes(jv_copy(m));
	char	*s;
	jv	 c;

	if ((s = malloc(n + 1)) == NULL) {
		jv_free(m);
		return jv_string("");
	}
	memcpy(s, jv_string_value(m), n);
	jv_free(m);
	n = text_clean(s, n);
	c = jv_string_sized(s, (int)utf8_prefix(s, n, MESSAGE_MAX));
	free(s);
	return c;
}

static void
map_failure(int code, const char *s, size_t n, const char *corr,
    struct reply *r)
{
	enum err	 type = err_for_exit(code);
	jv		 v, t, m = jv_invalid();

	trim(&s, &n);
	v = parse_json(s, n);
	if (jv_get_kind(v) == JV_KIND_OBJECT) {
		t = jv_object_get(jv_copy(v), jv_string("type"));
		m = jv_object_get(jv_copy(v), jv_string("message"));
		if (jv_get_kind(t) == JV_KIND_STRING &&
		    name_valid(jv_string_value(t),
		    (size_t)jv_string_length_bytes(jv_copy(t)))) {
			reply_named(r, err_lookup(jv_string_value(t)),
			    jv_string_value(t), NULL, corr);
		} else
			reply_error(r, type, NULL, corr);
		jv_free(t);
	} else if (jv_get_kind(v) == JV_KIND_STRING) {
		m = jv_copy(v);
		reply_error(r, type, NULL, corr);
	} else {
		if (n)
			m = jv_string_sized(s, (int)n);	/* mends bad UTF-8 */
		reply_error(r, type, NULL, corr);
	}
	jv_free(v);
	if (jv_get_kind(m) == JV_KIND_STRING)
		m = message_fit(m);
	if (jv_get_kind(m) == JV_KIND_STRING &&
	    jv_string_length_bytes(jv_copy(m)) > 0)
		r->body = jv_object_set(r->body, jv_string("message"), m);
	else
		jv_free(m);
}

void
result_map(const struct kind *k, const struct hook_result *h,
    const char *corr, const struct logctx *lc, struct reply *r)
{
	enum outcome	 o = hook_outcome(h);

	if (o == OUT_SUCCESS)
		map_success(k, h->out, h->out_len, corr, lc, r);
	else if (o == OUT_FAILURE || o == OUT_TEMPFAIL)
		map_failure(h->code, h->out, h->out_len, corr, r);
	else if (o == OUT_TOOBIG)
		protocol_error(r, corr, lc, "stdout over the output limit");
	else
		reply_error(r, outcome_table[o].err, NULL, corr);
}

jv
reply_wire_body(jv body, const char *type, const struct typefrom *tf)
{
	if (tf->where != TF_BODY)
		return body;
	return jv_object_set(body, jv_string(tf->name), jv_string(type));
}
