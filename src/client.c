/* client.c: what the project's AMQP clients share (client.h). */
#include <sys/time.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>

#include "client.h"

#define CONNECT_MS	10000

int
client_rpc(amqp_rpc_reply_t r, const char *what, char *err, size_t len,
    int *fatal)
{
	amqp_connection_close_t	*cc;
	amqp_channel_close_t	*ch;
	amqp_bytes_t		 text;
	const char		*closed;
	unsigned		 code;

	*fatal = 0;
	switch (r.reply_type) {
	case AMQP_RESPONSE_NORMAL:
		return 0;
	case AMQP_RESPONSE_NONE:
		snprintf(err, len, "%s: no reply from the broker", what);
		return -1;
	case AMQP_RESPONSE_LIBRARY_EXCEPTION:
		snprintf(err, len, "%s: %s", what,
		    amqp_error_string2(r.library_error));
		return -1;
	case AMQP_RESPONSE_SERVER_EXCEPTION:
		if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
			cc = r.reply.decoded;
			closed = "connection";
			code = cc->reply_code;
			text = cc->reply_text;
			*fatal = code == AMQP_ACCESS_REFUSED ||
			    code == AMQP_NOT_ALLOWED;
		} else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
			ch = r.reply.decoded;
			closed = "channel";
			code = ch->reply_code;
			text = ch->reply_text;
			*fatal = code == AMQP_NOT_FOUND ||
			    code == AMQP_ACCESS_REFUSED;
		} else {
			snprintf(err, len, "%s: broker error (method %08x)",
			    what, r.reply.id);
			return -1;
		}
		snprintf(err, len, "%s: broker closed the %s: %u %.*s", what,
		    closed, code, (int)text.len, (const char *)text.bytes);
		return -1;
	}
	snprintf(err, len, "%s: unexpected reply", what);
	return -1;
}

int
client_check(const struct client *cl, const char *what, char *err,
    size_t len, int *fatal)
{
	return client_rpc(amqp_get_rpc_reply(cl->conn), what, err, len, fatal);
}

/*
 * The client key: from memory when it was read before (so that its file
 * can be root's alone).  librabbitmq 0.11 reads only RSA keys from memory,
 * and says 1 where it means success; another kind of key is read from its
 * file, which then must be readable now.
 */
static int
set_key(amqp_socket_t *s, const struct client_conf *cf)
{
	int	 rc;

	if (cf->key_pem == NULL)
		return amqp_ssl_socket_set_key(s, cf->cert, cf->key);
	rc = amqp_ssl_socket_set_key_buffer(s, cf->cert, cf->key_pem,
	    cf->key_len);
	if (rc == 1)
		rc = AMQP_STATUS_OK;
	if (rc != AMQP_STATUS_OK && access(cf->key, R_OK) == 0)
		rc = amqp_ssl_socket_set_key(s, cf->cert, cf->key);
	return rc;
}

static int
open_socket(struct client *cl, const struct client_conf *cf,
    const struct amqp_connection_info *ci, char *err, size_t len, int *fatal)
{
	amqp_socket_t	*s;
	const char	*ca = cf->cacert ? cf->cacert : CLIENT_CA;
	int		 ms = cf->connect_ms ? cf->connect_ms : CONNECT_MS;
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };
	int		 rc;

	if ((cl->tls = ci->ssl)) {
		if ((s = amqp_ssl_socket_new(cl->conn)) == NULL)
			goto nosock;
		amqp_ssl_socket_set_verify_peer(s, !cf->insecure);
		amqp_ssl_socket_set_verify_hostname(s, !cf->insecure);
		*fatal = 1;
		if ((rc = amqp_ssl_socket_set_cacert(s, ca)) != AMQP_STATUS_OK) {
			snprintf(err, len, "CA certificates %s: %s", ca,
			    amqp_error_string2(rc));
			return -1;
		}
		if (cf->cert && (rc = set_key(s, cf)) != AMQP_STATUS_OK) {
			snprintf(err, len, "client certificate %s / key %s: %s",
			    cf->cert, cf->key, amqp_error_string2(rc));
			return -1;
		}
		*fatal = 0;
	} else if ((s = amqp_tcp_socket_new(cl->conn)) == NULL)
		goto nosock;
	if ((rc = amqp_socket_open_noblock(s, ci->host, ci->port, &tv)) < 0) {
		snprintf(err, len, "connecting to %s:%d: %s", ci->host,
		    ci->port, amqp_error_string2(rc));
		/* A certificate that does not verify will not start to. */
		*fatal = rc == AMQP_STATUS_SSL_PEER_VERIFY_FAILED ||
		    rc == AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED;
		return -1;
	}
	return 0;
nosock:
	snprintf(err, len, "cannot create a socket");
	return -1;
}

int
client_open(struct client *cl, const struct client_conf *cf, char *err,
    size_t len, int *fatal)
{
	struct amqp_connection_info	 ci;
	amqp_rpc_reply_t		 r;
	struct timeval			 tmo;
	char				*url;
	size_t				 n;
	int				 rc = -1;

	memset(cl, 0, sizeof(*cl));
	*fatal = 0;
	if ((url = strdup(cf->url)) == NULL) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	n = strlen(url);
	amqp_default_connection_info(&ci);
	if (amqp_parse_url(url, &ci) != AMQP_STATUS_OK) {
		snprintf(err, len, "the broker URL is not an amqp:// or "
		    "amqps:// URL");
		*fatal = 1;
		goto out;
	}
	snprintf(cl->where, sizeof(cl->where), "%s:%d vhost %s", ci.host,
	    ci.port, ci.vhost);
	snprintf(cl->user, sizeof(cl->user), "%s", ci.user);
	if ((cl->conn = amqp_new_connection()) == NULL) {
		snprintf(err, len, "out of memory");
		goto out;
	}
	if (cf->rpc_ms) {
		/* A broker that accepts and then says nothing is given up on. */
		tmo.tv_sec = cf->rpc_ms / 1000;
		tmo.tv_usec = (cf->rpc_ms % 1000) * 1000;
		amqp_set_handshake_timeout(cl->conn, &tmo);
		amqp_set_rpc_timeout(cl->conn, &tmo);
	}
	if (open_socket(cl, cf, &ci, err, len, fatal) == -1)
		goto out;
	r = amqp_login_with_properties(cl->conn, ci.vhost, 0,
	    AMQP_DEFAULT_FRAME_SIZE, cf->heartbeat, cf->props ? cf->props :
	    &amqp_empty_table, AMQP_SASL_METHOD_PLAIN, ci.user, ci.password);
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		char what[400];

		snprintf(what, sizeof(what), "logging in to %s", cl->where);
		client_rpc(r, what, err, len, fatal);
		/* librabbitmq reports a refused login as a closed socket */
		if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
		    r.library_error == AMQP_STATUS_CONNECTION_CLOSED)
			snprintf(err + strlen(err), len - strlen(err),
			    " (wrong user or password, or no access to the "
			    "vhost?)");
		goto out;
	}
	cl->heartbeat = amqp_get_heartbeat(cl->conn);
	rc = 0;
out:
	/* ci points into url: the password is wiped with it. */
	explicit_bzero(url, n);
	free(url);
	if (rc == -1)
		client_close(cl, 0);
	return rc;
}

void
client_close(struct client *cl, int graceful)
{
	if (cl->conn == NULL)
		return;
	if (graceful)
		amqp_connection_close(cl->conn, AMQP_REPLY_SUCCESS);
	amqp_destroy_connection(cl->conn);
	cl->conn = NULL;
}

int
client_service_valid(const char *s)
{
	size_t	 n = strlen(s);

	return n >= 1 && n <= 128 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

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
