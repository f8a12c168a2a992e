/* kinds.c: the protocol's tables (kinds.h), and what may change them. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kinds.h"
#include "util.h"

#define FIELD_NAME_MAX	64		/* bytes of a reply field's name */
#define FALLBACK_MAX	1000		/* bytes of a fallback value */
#define LINE_MAX_KINDS	4096		/* bytes of a kinds file's line */

struct kind kind_table[KINDS_MAX] = {
	{ "PingV1", "PingV1", "message", "still alive", 1, 0, 0 },
	{ "ResourceAllocateV1", "ResourceCreatedV1", "id", NULL, 0, ID_MAX,
	    1 },
	{ "ResourceDeallocateV1", "ResourceDeallocatedV1", "id", NULL, 0,
	    ID_MAX, 1 },
	{ "ResourceUpdateV1", "ResourceUpdatedV1", "id", NULL, 0, ID_MAX, 1 },
};
size_t	 nkinds = 4;

#define COULD_NOT	"The service could not complete this request."

/* Exit statuses from sysexits.h. */
const struct errtype err_table[NERRS] = {
	[ERR_INVALID_REQUEST] =		  { "InvalidRequest", { 0 }, COULD_NOT },
	[ERR_UNSUPPORTED_MESSAGE] =	  { "UnsupportedMessage", { 0 },
					    COULD_NOT },
	[ERR_UNSUPPORTED_RESOURCE_TYPE] = { "UnsupportedResourceType", { 0 },
					    COULD_NOT },
	[ERR_INVALID_SPECIFICATION] =	  { "InvalidSpecification",
					    { 64, 65 }, COULD_NOT },
	[ERR_UNKNOWN_TARGET] =		  { "UnknownTarget", { 67, 68 },
					    COULD_NOT },
	[ERR_SERVICE_UNAVAILABLE] =	  { "ServiceUnavailable", { 69 },
					    COULD_NOT },
	[ERR_RESOURCE_EXISTS] =		  { "ResourceExists", { 73 },
					    COULD_NOT },
	[ERR_TEMPORARY_FAILURE] =	  { "TemporaryFailure", { 75 },
					    COULD_NOT },
	[ERR_PERMISSION_DENIED] =	  { "PermissionDenied", { 77 },
					    COULD_NOT },
	[ERR_CONFIGURATION_ERROR] =	  { "ConfigurationError", { 78 },
					    COULD_NOT },
	[ERR_HOOK_FAILED] =		  { "HookFailed", { 0 }, COULD_NOT },
	[ERR_TIMEOUT] =			  { "Timeout", { 0 },
					    "The service did not complete "
					    "this request in time." },
	[ERR_HOOK_CRASHED] =		  { "HookCrashed", { 0 }, COULD_NOT },
	[ERR_HOOK_PROTOCOL_ERROR] =	  { "HookProtocolError", { 0 },
					    COULD_NOT },
};

const struct outcome_info outcome_table[NOUTCOMES] = {
	[OUT_SUCCESS] =	 { "success", LL_INFO, ERR_OTHER },
	[OUT_FAILURE] =	 { "failure", LL_INFO, ERR_OTHER },
	[OUT_TEMPFAIL] = { "tempfail", LL_INFO, ERR_TEMPORARY_FAILURE },
	[OUT_TIMEOUT] =	 { "timeout", LL_WARN, ERR_TIMEOUT },
	[OUT_CRASHED] =	 { "crashed", LL_WARN, ERR_HOOK_CRASHED },
	[OUT_TOOBIG] =	 { "toobig", LL_WARN, ERR_HOOK_PROTOCOL_ERROR },
	[OUT_EXECFAIL] = { "execfail", LL_ERROR, ERR_HOOK_FAILED },
};

size_t
kind_index(const char *name)
{
	size_t	 i;

	for (i = 0; name && i < nkinds; i++)
		if (strcmp(kind_table[i].request, name) == 0)
			return i;
	return KINDS_MAX;
}

const struct kind *
kind_lookup(const char *name)
{
	size_t	 i = kind_index(name);

	return i < nkinds ? &kind_table[i] : NULL;
}

enum err
err_for_exit(int code)
{
	int	 e, i;

	for (e = 0; e < NERRS; e++)
		for (i = 0; i < 2; i++)
			if (err_table[e].exits[i] == code && code != 0)
				return (enum err)e;
	return ERR_HOOK_FAILED;
}

enum err
err_lookup(const char *name)
{
	int	 e;

	for (e = 0; name && e < NERRS; e++)
		if (strcmp(err_table[e].name, name) == 0)
			return (enum err)e;
	return ERR_OTHER;
}

/* A JSON member name for a reply field or HCA_TYPE_FROM's body:FIELD. */
static int
field_valid(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n == 0 || n > FIELD_NAME_MAX ||
	    !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return 0;
	return 1;
}

/* The next blank-separated word of *p, NUL-terminated in place. */
static char *
word(char **p)
{
	char	*w;

	*p += strspn(*p, " \t");
	if (**p == '\0')
		return NULL;
	w = *p;
	*p += strcspn(*p, " \t");
	if (**p != '\0')
		*(*p)++ = '\0';
	return w;
}

/* One line's row into k (request, reply, field, hook[, fallback]). */
static const char *
kind_line(char *p, struct kind *k, const char **fallback)
{
	char	*req, *rep, *field, *hook;
	size_t	 n;

	req = word(&p);
	rep = word(&p);
	field = word(&p);
	hook = word(&p);
	if (hook == NULL)
		return "expected: REQUEST REPLY FIELD required|optional "
		    "[FALLBACK]";
	if (!name_valid(req, strlen(req)) || !name_valid(rep, strlen(rep)))
		return "a kind's name is a letter, then letters, digits, "
		    "'_', '.' or '-', at most 128 bytes";
	if (strcmp(req, ERROR_REPLY) == 0 || strcmp(rep, ERROR_REPLY) == 0)
		return ERROR_REPLY " is the error reply of every kind";
	if (!field_valid(field))
		return "a field's name is a letter or '_', then letters, "
		    "digits or '_', at most 64 bytes";
	if (strcmp(hook, "required") == 0)
		k->needs_hook = 1;
	else if (strcmp(hook, "optional") == 0)
		k->needs_hook = 0;
	else
		return "the fourth word is required or optional (whether a "
		    "request of the kind needs a hook)";
	p += strspn(p, " \t");
	n = strlen(p);
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		p[--n] = '\0';
	if (n > FALLBACK_MAX || !text_plain(p, n))
		return "the fallback is at most 1000 bytes of printable text";
	*fallback = n ? p : NULL;
	k->request = req;
	k->reply = rep;
	k->field = field;
	return NULL;
}

int
kinds_read(FILE *f, const char *name, char *why, size_t whylen)
{
	char		*line = NULL, *p;
	const char	*bad, *fallback;
	struct kind	 k, *row;
	size_t		 lineno = 0, i, cap = 0, builtin = nkinds;
	size_t		 seen[KINDS_MAX] = { 0 };	/* line of each row */
	ssize_t		 got;
	size_t		 n;

	while ((got = getline(&line, &cap, f)) != -1) {
		lineno++;
		n = (size_t)got;
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		if (memchr(line, '\0', n) != NULL) {
			snprintf(why, whylen, "%s:%zu: holds a NUL byte", name,
			    lineno);
			goto fail;
		}
		if (n > LINE_MAX_KINDS) {
			snprintf(why, whylen, "%s:%zu: longer than %d bytes",
			    name, lineno, LINE_MAX_KINDS);
			goto fail;
		}
		if (n && line[n - 1] == '\r')
			line[--n] = '\0';
		p = line + strspn(line, " \t");
		if (*p == '#' || *p == '\0')
			continue;
		memset(&k, 0, sizeof(k));
		if ((bad = kind_line(p, &k, &fallback)) != NULL) {
			snprintf(why, whylen, "%s:%zu: %s", name, lineno, bad);
			goto fail;
		}
		i = kind_index(k.request);
		if (i < KINDS_MAX && seen[i]) {
			snprintf(why, whylen, "%s:%zu: %s is on line %zu "
			    "already", name, lineno, k.request, seen[i]);
			goto fail;
		}
		if (i == KINDS_MAX && nkinds == KINDS_MAX) {
			snprintf(why, whylen, "%s:%zu: more than %d kinds",
			    name, lineno, KINDS_MAX);
			goto fail;
		}
		row = i < KINDS_MAX ? &kind_table[i] : &kind_table[nkinds];
		/*
		 * A built-in row keeps its empty body and its field's limit
		 * if the field stays, and its fallback unless one is given.
		 */
		if (i >= builtin || strcmp(row->field, k.field) != 0) {
			k.empty_ok = i < builtin ? row->empty_ok : 0;
			k.field_max = 0;
			k.fallback = NULL;
		} else {
			k.empty_ok = row->empty_ok;
			k.field_max = row->field_max;
			k.fallback = row->fallback;
		}
		if (fallback)
			k.fallback = fallback;
		if (!k.needs_hook && k.fallback == NULL) {
			snprintf(why, whylen, "%s:%zu: %s: a kind whose hook is "
			    "optional needs a fallback, its reply when there is "
			    "no hook (the fifth column)", name, lineno,
			    k.request);
			goto fail;
		}
		if ((k.request = strdup(k.request)) == NULL ||
		    (k.reply = strdup(k.reply)) == NULL ||
		    (k.field = strdup(k.field)) == NULL ||
		    (fallback && (k.fallback = strdup(fallback)) == NULL)) {
			snprintf(why, whylen, "%s: out of memory", name);
			goto fail;
		}
		if (i == KINDS_MAX)
			i = nkinds++;
		*row = k;
		seen[i] = lineno;
	}
	if (ferror(f)) {
		snprintf(why, whylen, "%s: %s", name, strerror(errno));
		goto fail;
	}
	free(line);
	return 0;
fail:
	free(line);
	return -1;
}

const char *
typefrom_parse(const char *s, struct typefrom *tf)
{
	memset(tf, 0, sizeof(*tf));
	if (strcmp(s, "property") == 0) {
		tf->where = TF_PROPERTY;
		return NULL;
	}
	if (strncmp(s, "header:", 7) == 0) {
		tf->where = TF_HEADER;
		tf->name = s + 7;
		if (*tf->name == '\0' || strlen(tf->name) > 128 ||
		    !text_plain(tf->name, strlen(tf->name)))
			return "header:NAME takes a header name of 1 to 128 "
			    "printable bytes";
		return NULL;
	}
	if (strncmp(s, "body:", 5) == 0) {
		tf->where = TF_BODY;
		tf->name = s + 5;
		if (!field_valid(tf->name))
			return "body:FIELD takes a field name: a letter or "
			    "'_', then letters, digits or '_', at most 64 "
			    "bytes";
		return NULL;
	}
	return "expected property, header:NAME or body:FIELD";
}

const char *
typefrom_check(const struct typefrom *tf)
{
	static const char *const body[] = {
		"type", "message", "target_entity", "specification"
	};
	size_t	 i;

	if (tf->where != TF_BODY)
		return NULL;
	for (i = 0; i < sizeof(body) / sizeof(body[0]); i++)
		if (strcmp(tf->name, body[i]) == 0)
			return "that field is a request's or an ErrorV1's own";
	for (i = 0; i < nkinds; i++)
		if (strcmp(tf->name, kind_table[i].field) == 0)
			return "that field is a reply's own";
	return NULL;
}
