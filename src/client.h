/*
 * client.h: what every AMQP client of the project does alike: hca-exec
 * (broker.c), hca-portal, bench/loadgen and tests/tools/publish.c.  The
 * connection (URL, socket, TLS, login) and the check of an RPC's reply,
 * and where a message's kind travels (HCA_TYPE_FROM) for the properties.
 * What differs (channels, queues, timeouts, how an error ends the
 * program) stays with each program.  It needs librabbitmq and libc only.
 */
#ifndef HCA_CLIENT_H
#define HCA_CLIENT_H

#include <stddef.h>

#include <amqp.h>

#include "kinds.h"

/* librabbitmq 0.11 loads no default verify paths: this bundle instead. */
#define CLIENT_CA	"/etc/ssl/certs/ca-certificates.crt"

/* What a connection is made with; NULL or 0 is the default. */
struct client_conf {
	const char	*url;		/* amqp[s]://...: copied, the copy wiped */
	const char	*cacert;	/* CA bundle (CLIENT_CA) */
	const char	*cert, *key;	/* client certificate and key files */
	const char	*key_pem;	/* the key, read before (root's), or NULL */
	size_t		 key_len;
	int		 insecure;	/* verify neither certificate nor name */
	int		 heartbeat;	/* seconds to propose; 0: none */
	int		 connect_ms;	/* TCP and TLS connect; 0: 10 s */
	int		 rpc_ms;	/* handshake and each RPC; 0: library's */
	const amqp_table_t *props;	/* client properties, or NULL */
};

struct client {
	amqp_connection_state_t	 conn;
	int			 tls;
	int			 heartbeat;	/* as agreed with the broker */
	char			 where[320];	/* "HOST:PORT vhost VHOST" */
	char			 user[128];	/* logged in as (truncated) */
};

/*
 * Parse the URL, connect (TLS when amqps), log in.  0, or -1 with a message
 * in err (never the URL or the password) and *fatal set when trying again
 * will not help: a bad URL, certificate or key, a certificate that does not
 * verify, a login the broker refused.
 */
int	 client_open(struct client *, const struct client_conf *, char *err,
	    size_t errlen, int *fatal);
/*
 * 0 if an RPC's reply (what: the step, for the message) is normal; else -1
 * with err saying what the broker or the library said, and *fatal set for
 * a refusal (access refused, not allowed, no such queue).
 */
int	 client_rpc(amqp_rpc_reply_t, const char *what, char *err,
	    size_t errlen, int *fatal);
/* client_rpc() of the last RPC's reply. */
int	 client_check(const struct client *, const char *what, char *err,
	    size_t errlen, int *fatal);
/* Close the connection (politely if graceful) and free it. */
void	 client_close(struct client *, int graceful);

/* A service id: [A-Za-z0-9_.-]{1,128} (queue names are made of it). */
int	 client_service_valid(const char *);

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
