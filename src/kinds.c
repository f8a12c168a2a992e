/* kinds.c: the protocol's tables (kinds.h). */
#include <string.h>

#include "kinds.h"

const struct kind kind_table[NKINDS] = {
	{ "PingV1", "PingV1", "message", "still alive", 1, 0, 0 },
	{ "ResourceAllocateV1", "ResourceCreatedV1", "id", NULL, 0, ID_MAX,
	    1 },
	{ "ResourceDeallocateV1", "ResourceDeallocatedV1", "id", NULL, 0,
	    ID_MAX, 1 },
	{ "ResourceUpdateV1", "ResourceUpdatedV1", "id", NULL, 0, ID_MAX, 1 },
};

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

	for (i = 0; name && i < NKINDS; i++)
		if (strcmp(kind_table[i].request, name) == 0)
			break;
	return name ? i : NKINDS;
}

const struct kind *
kind_lookup(const char *name)
{
	size_t	 i = kind_index(name);

	return i < NKINDS ? &kind_table[i] : NULL;
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
