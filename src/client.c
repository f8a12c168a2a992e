/* client.c: what the project's AMQP clients share (client.h). */
#include <stdlib.h>
#include <string.h>

#include "client.h"

static char *
text_copy(amqp_bytes_t b, int *oom)
{
	char	*s;

	if (b.len == 0 || memchr(b.bytes, '\0', b.len) != NULL)
		return NULL;
	if ((s = malloc(b.len + 1)) == NULL) {
		*oom = 1;
		return NULL;
	}
	memcpy(s, b.bytes, b.len);
	s[b.len] = '\0';
	return s;
}

char *
client_kind(const amqp_basic_properties_t *p, const struct typefrom *tf,
    int *oom)
{
	const amqp_table_entry_t	*e;
	size_t				 n;
	int				 i;

	*oom = 0;
	switch (tf->where) {
	case TF_PROPERTY:
		if (!(p->_flags & AMQP_BASIC_TYPE_FLAG))
			return NULL;
		return text_copy(p->type, oom);
	case TF_HEADER:
		if (!(p->_flags & AMQP_BASIC_HEADERS_FLAG))
			return NULL;
		n = strlen(tf->name);
		for (i = 0; i < p->headers.num_entries; i++) {
			e = &p->headers.entries[i];
			if (e->key.len != n || memcmp(e->key.bytes, tf->name, n))
				continue;
			if (e->value.kind != AMQP_FIELD_KIND_UTF8 &&
			    e->value.kind != AMQP_FIELD_KIND_BYTES)
				return NULL;
			return text_copy(e->value.value.bytes, oom);
		}
		return NULL;
	case TF_BODY:
		break;
	}
	return NULL;
}

void
client_set_kind(amqp_basic_properties_t *p, const struct typefrom *tf,
    const char *kind, amqp_table_entry_t *h)
{
	switch (tf->where) {
	case TF_PROPERTY:
		p->_flags |= AMQP_BASIC_TYPE_FLAG;
		p->type = amqp_cstring_bytes(kind);
		break;
	case TF_HEADER:
		h->key = amqp_cstring_bytes(tf->name);
		h->value.kind = AMQP_FIELD_KIND_UTF8;
		h->value.value.bytes = amqp_cstring_bytes(kind);
		p->_flags |= AMQP_BASIC_HEADERS_FLAG;
		p->headers.num_entries = 1;
		p->headers.entries = h;
		break;
	case TF_BODY:
		break;
	}
}
