/* kinds.c: the kind/reply table. */
#include <string.h>

#include "kinds.h"

static const struct kind kinds[] = {
	{ "PingV1", "PingV1", "message", "still alive", 0 },
	{ "ResourceAllocateV1", "ResourceCreatedV1", "id", NULL, 1 },
	{ "ResourceDeallocateV1", "ResourceDeallocatedV1", "id", NULL, 1 },
	{ "ResourceUpdateV1", "ResourceUpdatedV1", "id", NULL, 1 },
};

const struct kind *
kind_lookup(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].request, name) == 0)
			return &kinds[i];
	return NULL;
}
