/*
 * client.h: what every AMQP client of the project does alike: hca-exec
 * (broker.c), hca-portal, bench/loadgen and tests/tools/publish.c.  The
 * connection (URL, socket, TLS, login) and the check of an RPC's reply,
 * and where a message's kind travels (HCA_TYPE_FROM) for the properties.
 */
#ifndef HCA_CLIENT_H
#define HCA_CLIENT_H

#include <stddef.h>

#include <amqp.h>

#include "kinds.h"

/*
 * The kind a message carries in its properties, where tf says (for
 * TF_BODY the body holds it: NULL).  A copy, or NULL if it is absent, empty,
 * not a string or holds a NUL; NULL with *oom set if out of memory.
 */
char	*client_kind(const amqp_basic_properties_t *, const struct typefrom *,
	    int *oom);

/*
 * Put kind where tf says into p: the type property, or a header table of
 * one entry (held in *h, which must live as long as p); for TF_BODY
 * nothing (the body carries it).
 */
void	 client_set_kind(amqp_basic_properties_t *, const struct typefrom *,
	    const char *kind, amqp_table_entry_t *h);

#endif
