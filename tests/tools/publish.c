/*
 * publish.c (built as build/tools/hca-publish): a small AMQP client for the
 * broker suites (fault.bats, hostile-requests.bats, make memcheck).
 *
 * URL is amqp:// or amqps:// (HCA_CACERT: the CA bundle, as for hca-exec).
 *
 *   hca-publish publish URL QUEUE PREFIX N [BODY [TYPE]]
 *	Publish N persistent requests, correlation ids PREFIX-1..PREFIX-N,
 *	type TYPE (ResourceAllocateV1), body BODY ({"type":"X"}), to QUEUE
 *	through the default exchange, with publisher confirms; exit 0 when
 *	the broker has confirmed them all.
 *   hca-publish collect URL QUEUE
 *	Take every message in QUEUE (basic.get, until it is empty) and print
 *	one line per message: CORR TAB TYPE TAB BODY (bytes that are not
 *	printable ASCII, and backslash, as \xHH).
 *   hca-publish depth URL QUEUE
 *	Print the number of ready messages in QUEUE (passive declare).
 *   hca-publish cases URL INQ OUTQ FILE...
 *	Send each case file (format: tests/hostile-requests/README) to INQ, one at a
 *	time, and check its outcome: print "NAME TAB OUTCOME TAB ok" or
 *	"... TAB FAIL (expected ...)"; exit 1 if any case failed.  A reply
 *	goes to a private reply queue, unless the case sets reply_to itself
 *	(then nothing may come back) or says "reply_to: -" (then the request
 *	has no reply_to and the reply is read from OUTQ).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <amqp.h>
#include <jv.h>

#include "client.h"

#define CH		1
#define REPLY_WAIT_MS	15000

static struct client		 cl;
static uint64_t			 next_tag = 1;

static void
die(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	fprintf(stderr, "hca-publish: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static void
check_rpc(const char *what)
{
	char	 err[1024];
	int	 fatal;

	if (client_check(&cl, what, err, sizeof(err), &fatal) == -1)
		die("%s", err);
}

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
connect_url(const char *url)
{
	struct client_conf	 cf = { .url = url };
	char			 err[1024];
	int			 fatal;

	/* amqps: the CA bundle as for hca-exec and hca-portal. */
	if ((cf.cacert = getenv("HCA_CACERT")) != NULL && *cf.cacert == '\0')
		cf.cacert = NULL;
	if (client_open(&cl, &cf, err, sizeof(err), &fatal) == -1)
		die("%s", err);
	amqp_channel_open(cl.conn, CH);
	check_rpc("channel.open");
}

static void
disconnect(void)
{
	amqp_channel_close(cl.conn, CH, AMQP_REPLY_SUCCESS);
	client_close(&cl, 1);
}

static void
confirm_select(void)
{
	amqp_confirm_select(cl.conn, CH);
	check_rpc("confirm.select");
}

/*
 * Wait until the broker has confirmed every publish up to tag last; -1 if
 * it closed the channel or connection instead.
 */
static int
wait_confirms(uint64_t last)
{
	amqp_frame_t	 f;
	uint64_t	 done = 0;
	int		 r;

	while (done < last) {
		amqp_maybe_release_buffers(cl.conn);
		if ((r = amqp_simple_wait_frame(cl.conn, &f)) != AMQP_STATUS_OK)
			die("waiting for confirms: %s", amqp_error_string2(r));
		if (f.frame_type != AMQP_FRAME_METHOD)
			continue;
		if (f.payload.method.id == AMQP_BASIC_ACK_METHOD) {
			amqp_basic_ack_t *a = f.payload.method.decoded;
			if (a->delivery_tag > done)
				done = a->delivery_tag;
		} else if (f.payload.method.id == AMQP_BASIC_NACK_METHOD)
			die("the broker refused (nack) a message");
		else if (f.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
		    f.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD)
			return -1;
	}
	return 0;
}

static void
put(amqp_bytes_t q, amqp_basic_properties_t *p, amqp_bytes_t body)
{
	if (amqp_basic_publish(cl.conn, CH, amqp_empty_bytes, q, 0, 0, p,
	    body) != AMQP_STATUS_OK)
		die("publish failed");
	next_tag++;
}

static void
print_bytes(amqp_bytes_t b)
{
	const unsigned char	*s = b.bytes;
	size_t			 i;

	for (i = 0; i < b.len; i++)
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\')
			putchar(s[i]);
		else
			printf("\\x%02x", s[i]);
}

/* ---- publish, collect, depth ------------------------------------- */

static int
cmd_publish(int argc, char **argv)
{
	amqp_basic_properties_t	 p;
	const char		*body = "{\"type\":\"X\"}";
	const char		*type = "ResourceAllocateV1";
	char			 corr[256];
	long			 i, n;

	if (argc < 6)
		die("usage: publish URL QUEUE PREFIX N [BODY [TYPE]]");
	n = strtol(argv[5], NULL, 10);
	if (argc > 6)
		body = argv[6];
	if (argc > 7)
		type = argv[7];
	connect_url(argv[2]);
	confirm_select();
	for (i = 1; i <= n; i++) {
		memset(&p, 0, sizeof(p));
		snprintf(corr, sizeof(corr), "%s-%ld", argv[4], i);
		p._flags = AMQP_BASIC_CORRELATION_ID_FLAG |
		    AMQP_BASIC_TYPE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG |
		    AMQP_BASIC_DELIVERY_MODE_FLAG;
		p.correlation_id = amqp_cstring_bytes(corr);
		p.type = amqp_cstring_bytes(type);
		p.content_type = amqp_cstring_bytes("application/json");
		p.delivery_mode = 2;
		put(amqp_cstring_bytes(argv[3]), &p, amqp_cstring_bytes(body));
	}
	if (wait_confirms(next_tag - 1) == -1)
		die("the broker closed the channel or connection");
	disconnect();
	return 0;
}

/* Take one message from q: 1 and the message, 0 if q is empty. */
static int
get_one(amqp_bytes_t q, amqp_message_t *m)
{
	amqp_rpc_reply_t	 r;

	amqp_maybe_release_buffers(cl.conn);
	r = amqp_basic_get(cl.conn, CH, q, 1);
	if (r.reply_type != AMQP_RESPONSE_NORMAL)
		die("basic.get failed");
	if (r.reply.id != AMQP_BASIC_GET_OK_METHOD)
		return 0;
	r = amqp_read_message(cl.conn, CH, m, 0);
	if (r.reply_type != AMQP_RESPONSE_NORMAL)
		die("reading a message failed");
	return 1;
}

static int
cmd_collect(int argc, char **argv)
{
	amqp_message_t	 m;
	amqp_bytes_t	 q;

	if (argc != 4)
		die("usage: collect URL QUEUE");
	connect_url(argv[2]);
	q = amqp_cstring_bytes(argv[3]);
	while (get_one(q, &m)) {
		if (m.properties._flags & AMQP_BASIC_CORRELATION_ID_FLAG)
			print_bytes(m.properties.correlation_id);
		putchar('\t');
		if (m.properties._flags & AMQP_BASIC_TYPE_FLAG)
			print_bytes(m.properties.type);
		putchar('\t');
		print_bytes(m.body);
		putchar('\n');
		amqp_destroy_message(&m);
	}
	disconnect();
	return 0;
}

static long
depth(const char *q)
{
	amqp_queue_declare_ok_t	*ok;

	ok = amqp_queue_declare(cl.conn, CH, amqp_cstring_bytes(q), 1, 0, 0, 0,
	    amqp_empty_table);
	check_rpc("queue.declare (passive)");
	return (long)ok->message_count;
}

static int
cmd_depth(int argc, char **argv)
{
	if (argc != 4)
		die("usage: depth URL QUEUE");
	connect_url(argv[2]);
	printf("%ld\n", depth(argv[3]));
	disconnect();
	return 0;
}

/* ---- cases ------------------------------------------------------- */

struct buf {
	char	*p;
	size_t	 len, cap;
	int	 set;
};

static void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			die("out of memory");
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	b->set = 1;
}

/* Append the value s with its escapes (\\ \n \r \t \0 \xHH) decoded. */
static void
unescape(struct buf *b, const char *s)
{
	char	 c, h[3] = { 0, 0, 0 };

	b->set = 1;
	while ((c = *s++) != '\0') {
		if (c == '\\' && *s) {
			switch ((c = *s++)) {
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case '0': c = '\0'; break;
			case 'x':
				if (!isxdigit((unsigned char)s[0]) ||
				    !isxdigit((unsigned char)s[1]))
					die("bad \\x escape");
				h[0] = s[0];
				h[1] = s[1];
				s += 2;
				c = (char)strtol(h, NULL, 16);
				break;
			default: break;
			}
		}
		buf_add(b, &c, 1);
	}
}

static void
add_hex(struct buf *b, const char *s)
{
	char	 h[3] = { 0, 0, 0 }, c;

	b->set = 1;
	while (*s) {
		if (isspace((unsigned char)*s)) {
			s++;
			continue;
		}
		if (!isxdigit((unsigned char)s[0]) ||
		    !isxdigit((unsigned char)s[1]))
			die("bad hex");
		h[0] = s[0];
		h[1] = s[1];
		s += 2;
		c = (char)strtol(h, NULL, 16);
		buf_add(b, &c, 1);
	}
}

/* "N VALUE": VALUE (escaped) N times. */
static void
add_repeat(struct buf *b, const char *s)
{
	struct buf	 one = { NULL, 0, 0, 0 };
	char		*end;
	long		 n;

	n = strtol(s, &end, 10);
	if (end == s || *end != ' ' || n < 0)
		die("bad repeat: %s", s);
	unescape(&one, end + 1);
	b->set = 1;
	while (n-- > 0)
		buf_add(b, one.p, one.len);
	free(one.p);
}

static void
add_file(struct buf *b, const char *dir, const char *name)
{
	char	 path[4096], chunk[65536];
	size_t	 n;
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL)
		die("%s: %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(b, chunk, n);
	fclose(f);
	b->set = 1;
}

#define MAXHDR	64

struct kase {
	const char		*name;
	struct buf		 expect, type, corr, reply_to, ctype, body;
	amqp_table_entry_t	 hdr[MAXHDR];
	int			 nhdr;
	void			**mem;
	int			 nmem, capmem;
};

static void *
kalloc(struct kase *k, size_t n)
{
	void	*p;

	if (k->nmem == k->capmem) {
		k->capmem = k->capmem ? 2 * k->capmem : 64;
		if ((k->mem = reallocarray(k->mem, k->capmem,
		    sizeof(*k->mem))) == NULL)
			die("out of memory");
	}
	if ((p = calloc(1, n ? n : 1)) == NULL)
		die("out of memory");
	k->mem[k->nmem++] = p;
	return p;
}

static amqp_bytes_t
kbytes(struct kase *k, const char *escaped)
{
	struct buf	 b = { NULL, 0, 0, 0 };
	amqp_bytes_t	 r;

	unescape(&b, escaped);
	r.len = b.len;
	r.bytes = kalloc(k, b.len);
	memcpy(r.bytes, b.p, b.len);
	free(b.p);
	return r;
}

/* A chain of depth tables: {"v": level, "n": {...}}. */
static amqp_field_value_t
nested(struct kase *k, long depth)
{
	amqp_field_value_t	 top, *cur = &top;
	amqp_table_entry_t	*e;
	long			 i;

	e = kalloc(k, (size_t)(depth > 0 ? depth : 1) * 2 * sizeof(*e));
	top.kind = AMQP_FIELD_KIND_TABLE;
	for (i = 0; i < depth; i++) {
		amqp_table_entry_t *lvl = &e[2 * i];
		cur->kind = AMQP_FIELD_KIND_TABLE;
		lvl[0].key = amqp_cstring_bytes("v");
		lvl[0].value.kind = AMQP_FIELD_KIND_I32;
		lvl[0].value.value.i32 = (int32_t)i;
		lvl[1].key = amqp_cstring_bytes("n");
		lvl[1].value.kind = AMQP_FIELD_KIND_VOID;
		cur->value.table.entries = lvl;
		cur->value.table.num_entries = i + 1 < depth ? 2 : 1;
		cur = &lvl[1].value;
	}
	if (depth <= 0) {
		top.value.table.entries = NULL;
		top.value.table.num_entries = 0;
	}
	return top;
}

/* An array of n values of mixed kinds. */
static amqp_field_value_t
array(struct kase *k, long n)
{
	amqp_field_value_t	 v, *e;
	long			 i;

	e = kalloc(k, (size_t)(n > 0 ? n : 1) * sizeof(*e));
	for (i = 0; i < n; i++)
		switch (i % 5) {
		case 0:
			e[i].kind = AMQP_FIELD_KIND_I32;
			e[i].value.i32 = (int32_t)i;
			break;
		case 1:
			e[i].kind = AMQP_FIELD_KIND_UTF8;
			e[i].value.bytes = amqp_cstring_bytes("elem");
			break;
		case 2:
			e[i].kind = AMQP_FIELD_KIND_BOOLEAN;
			e[i].value.boolean = 1;
			break;
		case 3:
			e[i] = nested(k, 2);
			break;
		default:
			e[i].kind = AMQP_FIELD_KIND_VOID;
			break;
		}
	v.kind = AMQP_FIELD_KIND_ARRAY;
	v.value.array.num_entries = (int)n;
	v.value.array.entries = e;
	return v;
}

/* "NAME KIND VALUE" */
static void
add_header(struct kase *k, char *s)
{
	amqp_table_entry_t	*e;
	amqp_field_value_t	*v;
	char			*name, *kind, *val;

	if (k->nhdr == MAXHDR)
		die("too many headers");
	name = strsep(&s, " ");
	kind = strsep(&s, " ");
	val = s ? s : "";
	if (name == NULL || kind == NULL)
		die("bad header line");
	e = &k->hdr[k->nhdr++];
	e->key = kbytes(k, name);
	v = &e->value;
	if (strcmp(kind, "bool") == 0) {
		v->kind = AMQP_FIELD_KIND_BOOLEAN;
		v->value.boolean = strcmp(val, "true") == 0;
	} else if (strcmp(kind, "i8") == 0) {
		v->kind = AMQP_FIELD_KIND_I8;
		v->value.i8 = (int8_t)strtoll(val, NULL, 0);
	} else if (strcmp(kind, "u8") == 0) {
		v->kind = AMQP_FIELD_KIND_U8;
		v->value.u8 = (uint8_t)strtoull(val, NULL, 0);
	} else if (strcmp(kind, "i16") == 0) {
		v->kind = AMQP_FIELD_KIND_I16;
		v->value.i16 = (int16_t)strtoll(val, NULL, 0);
	} else if (strcmp(kind, "u16") == 0) {
		v->kind = AMQP_FIELD_KIND_U16;
		v->value.u16 = (uint16_t)strtoull(val, NULL, 0);
	} else if (strcmp(kind, "i32") == 0) {
		v->kind = AMQP_FIELD_KIND_I32;
		v->value.i32 = (int32_t)strtoll(val, NULL, 0);
	} else if (strcmp(kind, "u32") == 0) {
		v->kind = AMQP_FIELD_KIND_U32;
		v->value.u32 = (uint32_t)strtoull(val, NULL, 0);
	} else if (strcmp(kind, "i64") == 0) {
		v->kind = AMQP_FIELD_KIND_I64;
		v->value.i64 = strtoll(val, NULL, 0);
	} else if (strcmp(kind, "u64") == 0) {
		v->kind = AMQP_FIELD_KIND_U64;
		v->value.u64 = strtoull(val, NULL, 0);
	} else if (strcmp(kind, "f32") == 0) {
		v->kind = AMQP_FIELD_KIND_F32;
		v->value.f32 = strtof(val, NULL);
	} else if (strcmp(kind, "f64") == 0) {
		v->kind = AMQP_FIELD_KIND_F64;
		v->value.f64 = strtod(val, NULL);
	} else if (strcmp(kind, "decimal") == 0) {
		/* "DECIMALS VALUE" */
		char *end;
		v->kind = AMQP_FIELD_KIND_DECIMAL;
		v->value.decimal.decimals = (uint8_t)strtoul(val, &end, 0);
		v->value.decimal.value = (uint32_t)strtoul(end, NULL, 0);
	} else if (strcmp(kind, "string") == 0) {
		v->kind = AMQP_FIELD_KIND_UTF8;
		v->value.bytes = kbytes(k, val);
	} else if (strcmp(kind, "string*") == 0) {
		struct buf b = { NULL, 0, 0, 0 };
		add_repeat(&b, val);
		v->kind = AMQP_FIELD_KIND_UTF8;
		v->value.bytes.len = b.len;
		v->value.bytes.bytes = kalloc(k, b.len);
		memcpy(v->value.bytes.bytes, b.p, b.len);
		free(b.p);
	} else if (strcmp(kind, "bytes") == 0) {
		v->kind = AMQP_FIELD_KIND_BYTES;
		v->value.bytes = kbytes(k, val);
	} else if (strcmp(kind, "timestamp") == 0) {
		v->kind = AMQP_FIELD_KIND_TIMESTAMP;
		v->value.u64 = strtoull(val, NULL, 0);
	} else if (strcmp(kind, "void") == 0) {
		v->kind = AMQP_FIELD_KIND_VOID;
	} else if (strcmp(kind, "table") == 0) {
		*v = nested(k, strtol(val, NULL, 0));
	} else if (strcmp(kind, "array") == 0) {
		*v = array(k, strtol(val, NULL, 0));
	} else
		die("unknown header kind %s", kind);
}

static void
load_case(struct kase *k, const char *path)
{
	char	 line[65536], dir[4096], *v, *nl;
	FILE	*f;

	memset(k, 0, sizeof(*k));
	k->name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	snprintf(dir, sizeof(dir), "%s", path);
	if (strrchr(dir, '/'))
		*strrchr(dir, '/') = '\0';
	else
		strcpy(dir, ".");
	if ((f = fopen(path, "r")) == NULL)
		die("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if ((v = strstr(line, ":")) == NULL)
			die("%s: bad line: %s", path, line);
		*v++ = '\0';
		if (*v == ' ')
			v++;
#define FIELD(n, b)						\
		if (strcmp(line, n) == 0) unescape(b, v);		\
		else if (strcmp(line, n "*") == 0) add_repeat(b, v);	\
		else if (strcmp(line, n "-hex") == 0) add_hex(b, v);	\
		else if (strcmp(line, n "-file") == 0) add_file(b, dir, v)
		FIELD("expect", &k->expect);
		else FIELD("type", &k->type);
		else FIELD("correlation_id", &k->corr);
		else FIELD("reply_to", &k->reply_to);
		else FIELD("content_type", &k->ctype);
		else FIELD("body", &k->body);
		else if (strcmp(line, "header") == 0)
			add_header(k, v);
		else
			die("%s: unknown key %s", path, line);
#undef FIELD
	}
	fclose(f);
	if (!k->expect.set)
		die("%s: no expect line", path);
}

static void
free_case(struct kase *k)
{
	int	 i;

	free(k->expect.p);
	free(k->type.p);
	free(k->corr.p);
	free(k->reply_to.p);
	free(k->ctype.p);
	free(k->body.p);
	for (i = 0; i < k->nmem; i++)
		free(k->mem[i]);
	free(k->mem);
}

static amqp_bytes_t
bb(struct buf *b)
{
	amqp_bytes_t	 r;

	r.len = b->len;
	r.bytes = b->len ? b->p : "";
	return r;
}

/*
 * Wait for a message on q whose correlation id is corr; describe it in
 * out ("TYPE" or "ErrorV1 ERRTYPE").  Anything else that comes is an
 * "unexpected" outcome.  0 if nothing came within ms.
 */
static int
await_reply(amqp_bytes_t q, amqp_bytes_t corr, int64_t ms, char *out,
    size_t outlen)
{
	amqp_message_t	 m;
	int64_t		 end = now_ms() + ms;
	jv		 v, t;
	int		 match;

	while (now_ms() < end) {
		if (!get_one(q, &m)) {
			usleep(2000);
			continue;
		}
		match = (m.properties._flags &
		    AMQP_BASIC_CORRELATION_ID_FLAG) &&
		    m.properties.correlation_id.len == corr.len &&
		    (corr.len == 0 || memcmp(m.properties.correlation_id.bytes,
		    corr.bytes, corr.len) == 0);
		if (!match) {
			snprintf(out, outlen, "unexpected reply (corr %.*s)",
			    (int)m.properties.correlation_id.len,
			    (char *)m.properties.correlation_id.bytes);
			amqp_destroy_message(&m);
			return 1;
		}
		snprintf(out, outlen, "%.*s",
		    (int)m.properties.type.len, (char *)m.properties.type.bytes);
		v = jv_parse_sized(m.body.bytes, (int)m.body.len);
		if (strcmp(out, "ErrorV1") == 0 &&
		    jv_get_kind(v) == JV_KIND_OBJECT) {
			t = jv_object_get(jv_copy(v), jv_string("type"));
			if (jv_get_kind(t) == JV_KIND_STRING)
				snprintf(out, outlen, "ErrorV1 %s",
				    jv_string_value(t));
			jv_free(t);
		}
		jv_free(v);
		amqp_destroy_message(&m);
		return 1;
	}
	return 0;
}

static int
cmd_cases(int argc, char **argv)
{
	amqp_queue_declare_ok_t	*ok;
	amqp_basic_properties_t	 p;
	amqp_bytes_t		 rq, inq, outq, sc;
	struct kase		 k;
	char			 got[512], want[512], sentinel[64];
	int			 i = 5, fails = 0, own, none;
	static int		 nsent;

	if (argc < 6)
		die("usage: cases URL INQ OUTQ FILE...");
	inq = amqp_cstring_bytes(argv[3]);
	outq = amqp_cstring_bytes(argv[4]);
	rq = amqp_empty_bytes;
reopen:
	amqp_bytes_free(rq);
	connect_url(argv[2]);
	next_tag = 1;
	ok = amqp_queue_declare(cl.conn, CH, amqp_empty_bytes, 0, 0, 1, 1,
	    amqp_empty_table);
	check_rpc("queue.declare (reply queue)");
	rq = amqp_bytes_malloc_dup(ok->queue);
	confirm_select();
	for (; i < argc; i++) {
		load_case(&k, argv[i]);
		snprintf(want, sizeof(want), "%s", k.expect.p);
		memset(&p, 0, sizeof(p));
		own = k.reply_to.set && strcmp(k.reply_to.p, "-") != 0;
		none = k.reply_to.set && strcmp(k.reply_to.p, "-") == 0;
		p._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
		p.delivery_mode = 2;
		if (k.type.set) {
			p._flags |= AMQP_BASIC_TYPE_FLAG;
			p.type = bb(&k.type);
		}
		if (k.corr.set) {
			p._flags |= AMQP_BASIC_CORRELATION_ID_FLAG;
			p.correlation_id = bb(&k.corr);
		}
		if (k.ctype.set) {
			p._flags |= AMQP_BASIC_CONTENT_TYPE_FLAG;
			p.content_type = bb(&k.ctype);
		}
		if (!none) {
			p._flags |= AMQP_BASIC_REPLY_TO_FLAG;
			p.reply_to = own ? bb(&k.reply_to) : rq;
		}
		if (k.nhdr) {
			p._flags |= AMQP_BASIC_HEADERS_FLAG;
			p.headers.num_entries = k.nhdr;
			p.headers.entries = k.hdr;
		}
		put(inq, &p, bb(&k.body));
		got[0] = '\0';
		if (wait_confirms(next_tag - 1) == -1) {
			/* RabbitMQ itself refused it: start over after it. */
			if (strcmp(want, "refused-by-broker") == 0)
				printf("%s\trefused-by-broker\tok\n", k.name);
			else {
				printf("%s\trefused-by-broker\tFAIL (expected "
				    "%s)\n", k.name, want);
				fails++;
			}
			fflush(stdout);
			free_case(&k);
			amqp_destroy_connection(cl.conn);
			i++;
			goto reopen;
		} else if (strcmp(want, "rejected") == 0 ||
		    strcmp(want, "unroutable") == 0) {
			/*
			 * Nothing may come back.  A ping sent after it is
			 * answered after the agent has taken it.
			 */
			snprintf(sentinel, sizeof(sentinel), "sentinel-%d",
			    ++nsent);
			memset(&p, 0, sizeof(p));
			p._flags = AMQP_BASIC_TYPE_FLAG |
			    AMQP_BASIC_CORRELATION_ID_FLAG |
			    AMQP_BASIC_REPLY_TO_FLAG;
			p.type = amqp_cstring_bytes("PingV1");
			sc = amqp_cstring_bytes(sentinel);
			p.correlation_id = sc;
			p.reply_to = rq;
			put(inq, &p, amqp_cstring_bytes("{}"));
			if (wait_confirms(next_tag - 1) == -1)
				die("the broker refused a ping");
			if (!await_reply(rq, sc, REPLY_WAIT_MS, got,
			    sizeof(got)))
				snprintf(got, sizeof(got), "no sentinel reply");
			else if (strcmp(got, "PingV1") == 0) {
				amqp_bytes_t c = k.corr.set ? bb(&k.corr) :
				    amqp_empty_bytes;
				usleep(100000);
				if (await_reply(rq, c, 1, got, sizeof(got)) ||
				    await_reply(outq, c, 1, got, sizeof(got)))
					;	/* got says what came */
				else if (depth(argv[3]) != 0)
					snprintf(got, sizeof(got),
					    "left in the queue");
				else
					snprintf(got, sizeof(got), "%s", want);
			}
		} else if (!await_reply(none ? outq : rq, bb(&k.corr),
		    REPLY_WAIT_MS, got, sizeof(got)))
			snprintf(got, sizeof(got), "no reply");
		if (strcmp(got, want) == 0)
			printf("%s\t%s\tok\n", k.name, got);
		else {
			printf("%s\t%s\tFAIL (expected %s)\n", k.name, got,
			    want);
			fails++;
		}
		fflush(stdout);
		free_case(&k);
	}
	amqp_bytes_free(rq);
	disconnect();
	return fails ? 1 : 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		die("usage: publish|collect|depth|cases ...");
	if (strcmp(argv[1], "publish") == 0)
		return cmd_publish(argc, argv);
	if (strcmp(argv[1], "collect") == 0)
		return cmd_collect(argc, argv);
	if (strcmp(argv[1], "depth") == 0)
		return cmd_depth(argc, argv);
	if (strcmp(argv[1], "cases") == 0)
		return cmd_cases(argc, argv);
	die("unknown mode %s", argv[1]);
	return 2;
}
