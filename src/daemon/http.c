/*
 * http.c - the HTTP server over libmicrohttpd (see http.h).
 *
 * The listening socket is bound by http_listen.c and handed to
 * libmicrohttpd, which serves it from a small thread pool with epoll (one
 * thread per online CPU, at most 4: measured better than a thread per
 * connection, docs/performance.md). A request body is collected into a buffer
 * capped at HTTP_BODY_MAX: a declared Content-Length over the cap is
 * answered 413 before any of the body is read; a chunked body that grows
 * past it is discarded and answered 413 at its end (or, past 1 MiB, the
 * connection is closed).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "http.h"
#include "http_guard.h"
#include "http_listen.h"
#include "util.h"

#define TLS_FILE_MAX (1u << 20)
#define POOL_MAX 4
/* The guard's limits (http_guard.h); libmicrohttpd's own are higher, so
 * that the guard makes room before libmicrohttpd refuses. */
#define CONNECTION_LIMIT 256
#define PER_IP_LIMIT 128
#define MHD_SLACK 64
#define IDLE_TIMEOUT_S HTTP_IDLE_TIMEOUT_S
/* A chunked body over the cap is read and dropped up to this much more. */
#define DISCARD_MAX (16u * HTTP_BODY_MAX)

struct http_server {
	struct MHD_Daemon *mhd;
	http_guard *guard;
	const http_route *routes;
	void *ctx;
	char *cert;
	char *key;
	size_t key_len;
	/* The state of a request without a body, between the call that
	 * brings its headers and the one that answers it (answering at once
	 * would make libmicrohttpd close the connection). */
	char no_body;
};

/* A request whose body is being read. */
struct pending {
	const http_route *route;
	unsigned method;
	bool too_big;
	size_t len;
	size_t discarded; /* bytes thrown away after the cap */
	char body[];      /* HTTP_BODY_MAX + 1 */
};

/* ------------------------------------------------------------ responses */

bool http_respond(http_response *res, unsigned status, const char *fmt, ...)
{
	va_list ap;
	char *buf = NULL;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n >= 0)
		buf = malloc((size_t)n + 1);
	if (buf == NULL)
		return false;
	va_start(ap, fmt);
	vsnprintf(buf, (size_t)n + 1, fmt, ap);
	va_end(ap);
	free(res->body);
	res->body = buf;
	res->len = (size_t)n;
	res->status = status;
	return true;
}

/* Copies `s` into `out` as the inside of a JSON string: quote, backslash
 * and control characters escaped, bytes above 0x7f replaced by '?'. */
static void json_text(char *out, size_t size, const char *s)
{
	size_t o = 0;

	for (; *s != '\0' && o + 7 < size; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			out[o++] = '\\';
			out[o++] = (char)ch;
		} else if (ch < 0x20) {
			o += (size_t)snprintf(out + o, size - o, "\\u%04x", ch);
		} else {
			out[o++] = ch < 0x80 ? (char)ch : '?';
		}
	}
	out[o] = '\0';
}

static void fallback_error(http_response *res, unsigned status,
                           const char *message)
{
	char msg[256];

	json_text(msg, sizeof(msg), message);
	if (!http_respond(res, status,
	                  "{\"error\":{\"status\":%u,\"message\":\"%s\"}}\n",
	                  status, msg))
		res->status = status;
}

static void allow_list(char *out, size_t size, unsigned methods)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {{HTTP_GET, "GET"},
	             {HTTP_HEAD, "HEAD"},
	             {HTTP_POST, "POST"},
	             {HTTP_PUT, "PUT"},
	             {HTTP_DELETE, "DELETE"}};
	size_t o = 0;

	out[0] = '\0';
	if (methods & HTTP_GET)
		methods |= HTTP_HEAD;
	for (size_t i = 0; i < VGMO__ARRAY_LEN(names); i++) {
		if (!(methods & names[i].bit) || o >= size)
			continue;
		o += (size_t)snprintf(out + o, size - o, "%s%s",
		                      o > 0 ? ", " : "", names[i].name);
	}
}

static enum MHD_Result send_response(struct MHD_Connection *c,
                                     http_response *res, const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result rc;

	if (res->body != NULL) {
		r = MHD_create_response_from_buffer(res->len, res->body,
		                                    MHD_RESPMEM_MUST_FREE);
		if (r == NULL)
			free(res->body);
	} else {
		r = MHD_create_response_from_buffer(0, (void *)"",
		                                    MHD_RESPMEM_PERSISTENT);
	}
	res->body = NULL;
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	                        res->content_type ? res->content_type
	                                          : "application/json");
	if (allow != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	if (res->www_authenticate != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		                        res->www_authenticate);
	if (res->csp != NULL)
		MHD_add_response_header(r, "Content-Security-Policy", res->csp);
	if (res->close)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	rc = MHD_queue_response(c, res->status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status,
                                  const char *message, const char *allow)
{
	http_response res = {.status = status};

	fallback_error(&res, status, message);
	http_guard_answering(c, true);
	return send_response(c, &res, allow);
}

/* ------------------------------------------------------------- requests */

const char *http_request_header(const http_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *http_request_arg(const http_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
	                                   name);
}

static unsigned method_bit(const char *m)
{
	if (strcmp(m, "GET") == 0)
		return HTTP_GET;
	if (strcmp(m, "HEAD") == 0)
		return HTTP_HEAD;
	if (strcmp(m, "POST") == 0)
		return HTTP_POST;
	if (strcmp(m, "PUT") == 0)
		return HTTP_PUT;
	if (strcmp(m, "DELETE") == 0)
		return HTTP_DELETE;
	return HTTP_OTHER;
}

/* Exact paths first; a path ending in '*' matches what starts with the
 * rest of it and has at least one more character. */
static const http_route *find_route(const http_route *routes, const char *p)
{
	for (const http_route *r = routes; r->path != NULL; r++)
		if (strcmp(r->path, p) == 0)
			return r;
	for (const http_route *r = routes; r->path != NULL; r++) {
		size_t n = strlen(r->path);

		if (n > 0 && r->path[n - 1] == '*' &&
		    strncmp(r->path, p, n - 1) == 0 && p[n - 1] != '\0')
			return r;
	}
	return NULL;
}

static void peer_text(struct MHD_Connection *c, char *out, size_t size)
{
	const union MHD_ConnectionInfo *ci =
	        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	const char *v4mapped = "::ffff:";

	vgmo__strlcpy(out, "?", size);
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, out, (socklen_t)size);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, out, (socklen_t)size);
		if (strncmp(out, v4mapped, strlen(v4mapped)) == 0 &&
		    strchr(out + strlen(v4mapped), '.') != NULL)
			memmove(out, out + strlen(v4mapped),
			        strlen(out) - strlen(v4mapped) + 1);
	}
}

static enum MHD_Result dispatch(struct http_server *s, struct MHD_Connection *c,
                                const http_route *route, const char *url,
                                const char *method, unsigned bit,
                                const char *body, size_t len)
{
	char peer[INET6_ADDRSTRLEN];
	http_response res = {.status = 200};
	http_request req = {.method = bit,
	                    .method_name = method,
	                    .path = url,
	                    .body = body != NULL ? body : "",
	                    .body_len = len,
	                    .peer = peer,
	                    .conn = c};

	peer_text(c, peer, sizeof(peer));
	http_guard_answering(c, true); /* no deadline while it runs */
	route->fn(s->ctx, &req, &res);
	return send_response(c, &res, NULL);
}

static enum MHD_Result count_length(void *cls, enum MHD_ValueKind kind,
                                    const char *key, const char *value)
{
	unsigned *n = cls;

	(void)kind;
	(void)value;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
		(*n)++;
	return MHD_YES;
}

/* A request this server would frame differently from a proxy in front
 * of it: answered, and the connection closed, so that what follows on it
 * is never read as a request. */
static enum MHD_Result send_fatal(struct MHD_Connection *c, unsigned status,
                                  const char *message)
{
	http_response res = {.status = status, .close = true};

	fallback_error(&res, status, message);
	return send_response(c, &res, NULL);
}

static enum MHD_Result find_bad_name(void *cls, enum MHD_ValueKind kind,
                                     const char *key, const char *value)
{
	bool *bad = cls;

	(void)kind;
	(void)value;
	if (key[0] == '\0' || strpbrk(key, " \t\r\n\v\f") != NULL) {
		*bad = true;
		return MHD_NO;
	}
	return MHD_YES;
}

/* "Content-Length : 5" is no Content-Length (RFC 9112 5.1: no blank
 * before the colon); the body would run as a second request. */
static bool bad_header_name(struct MHD_Connection *c)
{
	bool bad = false;

	MHD_get_connection_values(c, MHD_HEADER_KIND, find_bad_name, &bad);
	return bad;
}

/* Only "chunked" is spoken; any other coding cannot be framed. */
static bool unknown_coding(struct MHD_Connection *c)
{
	const char *te = MHD_lookup_connection_value(
	        c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);

	return te != NULL && strcasecmp(te, "chunked") != 0;
}

/* Percent-decodes in place as libmicrohttpd would, except "%00": a NUL
 * would cut "/v1/status%00/x" to "/v1/status"; it stays as it is, and
 * so matches no route. Returns the new length. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
	char *w = s;

	(void)cls;
	(void)c;
	for (const char *r = s; *r != '\0'; r++) {
		if (r[0] == '%' && isxdigit((unsigned char)r[1]) &&
		    isxdigit((unsigned char)r[2]) &&
		    !(r[1] == '0' && r[2] == '0')) {
			char hex[3] = {r[1], r[2], '\0'};

			*w++ = (char)strtol(hex, NULL, 16);
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

/* Two Content-Length headers, or one beside Transfer-Encoding: a request
 * that a proxy and this server could frame differently (smuggling, RFC
 * 9112 6.3). libmicrohttpd takes one of them silently; refuse it. */
static bool ambiguous_length(struct MHD_Connection *c)
{
	unsigned n = 0;

	MHD_get_connection_values(c, MHD_HEADER_KIND, count_length, &n);
	return n > 1 ||
	       (n == 1 && MHD_lookup_connection_value(
	                          c, MHD_HEADER_KIND,
	                          MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL);
}

/* Declared body length: 0 none, 1 within the cap, -1 over it. */
static int declared_length(struct MHD_Connection *c)
{
	const char *cl = MHD_lookup_connection_value(
	        c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = MHD_lookup_connection_value(
	        c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	unsigned long long n;
	char *end;

	if (te != NULL)
		return 1; /* chunked: counted as it arrives */
	if (cl == NULL)
		return 0;
	errno = 0;
	n = strtoull(cl, &end, 10);
	if (errno != 0 || end == cl || n > HTTP_BODY_MAX)
		return -1;
	return n > 0 ? 1 : 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **state)
{
	struct http_server *s = cls;
	struct pending *p = *state;
	const http_route *route;
	unsigned bit;
	int declared;
	char allow[64];

	(void)version;
	if (*state == &s->no_body) {
		*upload_size = 0;
		route = find_route(s->routes, url);
		return dispatch(s, c, route, url, method, method_bit(method),
		                NULL, 0);
	}
	if (p == NULL) {
		if (bad_header_name(c))
			return send_fatal(c, 400,
			                  "a header name holds a blank (as in "
			                  "'Content-Length : 5')");
		if (unknown_coding(c))
			return send_fatal(c, 501,
			                  "Transfer-Encoding: only chunked is "
			                  "supported");
		if (ambiguous_length(c))
			return send_error(c, 400,
			                  "conflicting Content-Length or "
			                  "Transfer-Encoding headers",
			                  NULL);
		bit = method_bit(method);
		route = find_route(s->routes, url);
		if (route == NULL)
			return send_error(c, 404, "no such path", NULL);
		if (!(route->methods & bit) &&
		    !(bit == HTTP_HEAD && (route->methods & HTTP_GET))) {
			allow_list(allow, sizeof(allow), route->methods);
			return send_error(c, 405, "method not allowed", allow);
		}
		declared = declared_length(c);
		if (declared < 0)
			return send_error(
			        c, 413, "request body larger than 65536 bytes",
			        NULL);
		if (declared == 0) {
			*state = &s->no_body;
			return MHD_YES;
		}
		p = malloc(sizeof(*p) + HTTP_BODY_MAX + 1);
		if (p == NULL)
			return MHD_NO;
		p->route = route;
		p->method = bit;
		p->too_big = false;
		p->len = 0;
		p->discarded = 0;
		*state = p;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (!p->too_big && *upload_size <= HTTP_BODY_MAX - p->len) {
			memcpy(p->body + p->len, upload, *upload_size);
			p->len += *upload_size;
		} else {
			/* Discarded so that the client reads the 413; a body
			 * that goes on and on closes the connection. */
			p->too_big = true;
			p->discarded += *upload_size;
			if (p->discarded > DISCARD_MAX)
				return MHD_NO;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (p->too_big)
		return send_error(c, 413,
		                  "request body larger than 65536 bytes", NULL);
	p->body[p->len] = '\0';
	return dispatch(s, c, p->route, url, method, p->method, p->body,
	                p->len);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **state,
                         enum MHD_RequestTerminationCode why)
{
	struct http_server *s = cls;

	(void)why;
	http_guard_answering(c, false);
	if (*state != &s->no_body)
		free(*state);
	*state = NULL;
}

__attribute__((format(printf, 2, 0))) static void
on_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	fprintf(stderr, "vgmo: http: %s\n", line);
}

static vgmo_err load_tls(struct http_server *s, const char *cert,
                         const char *key, char *err, size_t errlen)
{
	char why[320];
	size_t len;

	if ((cert == NULL) != (key == NULL))
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "TLS needs both a certificate and a key");
	if (cert == NULL)
		return VGMO_OK;
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return vgmo__errf(err, errlen, VGMO_ERR_UNSUPPORTED,
		                  "cannot use TLS certificate %s: this "
		                  "libmicrohttpd was built without TLS support",
		                  cert);
	if (vgmo__read_file_ex(cert, TLS_FILE_MAX, VGMO__READ_REGULAR, &s->cert,
	                       &len, why, sizeof(why)) != VGMO_OK)
		return vgmo__errf(err, errlen, VGMO_ERR_IO,
		                  "cannot read TLS certificate: %s", why);
	if (vgmo__read_file_ex(key, TLS_FILE_MAX, VGMO__READ_REGULAR, &s->key,
	                       &s->key_len, why, sizeof(why)) != VGMO_OK)
		return vgmo__errf(err, errlen, VGMO_ERR_IO,
		                  "cannot read TLS key: %s", why);
	return VGMO_OK;
}

static unsigned pool_size(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > POOL_MAX ? POOL_MAX : (unsigned)n;
}

static void free_server(struct http_server *s)
{
	http_guard_free(s->guard); /* after the daemon stopped */
	if (s->key != NULL) {
		memset(s->key, 0, s->key_len);
		free(s->key);
	}
	free(s->cert);
	free(s);
}

vgmo_err http_listener_open(http_listener *l, const char *hostport, char *err,
                            size_t errlen)
{
	vgmo__strlcpy(l->hostport, hostport, sizeof(l->hostport));
	l->idle_timeout_s = 0;
	l->family = AF_INET;
	l->fd = http_listen_open(hostport, &l->family, err, errlen);
	return l->fd < 0 ? VGMO_ERR_IO : VGMO_OK;
}

void http_listener_close(http_listener *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

vgmo_err http_server_start(http_server **out, http_listener *l,
                           const char *tls_cert, const char *tls_key,
                           const http_route *routes, void *ctx, char *bound,
                           size_t boundlen, char *err, size_t errlen)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
	                 MHD_USE_ERROR_LOG;
	struct MHD_OptionItem tls[3];
	struct http_server *s;
	const char *hostport = l->hostport;
	vgmo_err rc;
	int fd = l->fd, family = l->family;
	unsigned idle = l->idle_timeout_s;

	l->fd = -1; /* ours now */
	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		close(fd);
		return vgmo__errf(err, errlen, VGMO_ERR_NOMEM, "out of memory");
	}
	s->routes = routes;
	s->ctx = ctx;
	rc = load_tls(s, tls_cert, tls_key, err, errlen);
	if (rc != VGMO_OK)
		goto fail;
	if (family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (s->cert != NULL)
		flags |= MHD_USE_TLS;
	tls[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->cert};
	tls[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->key};
	tls[2] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	/* A connection answers within its idle timeout or makes way. */
	s->guard = http_guard_new(idle ? idle : IDLE_TIMEOUT_S, PER_IP_LIMIT,
	                          CONNECTION_LIMIT);
	if (s->guard == NULL) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_NOMEM, "out of memory");
		goto fail;
	}
	s->mhd = MHD_start_daemon(
	        flags, 0, http_guard_accept, s->guard, on_request, s,
	        MHD_OPTION_EXTERNAL_LOGGER, on_log, s, MHD_OPTION_LISTEN_SOCKET,
	        fd, MHD_OPTION_THREAD_POOL_SIZE, pool_size(),
	        MHD_OPTION_CONNECTION_LIMIT,
	        (unsigned)(CONNECTION_LIMIT + MHD_SLACK),
	        MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	        (unsigned)(PER_IP_LIMIT + MHD_SLACK),
	        MHD_OPTION_NOTIFY_CONNECTION, http_guard_notify, s->guard,
	        MHD_OPTION_CONNECTION_TIMEOUT,
	        idle ? idle : (unsigned)IDLE_TIMEOUT_S,
	        MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
	        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_ARRAY,
	        s->cert != NULL ? tls : tls + 2, MHD_OPTION_END);
	if (s->mhd == NULL) {
		/* libmicrohttpd closed the socket on its way out. */
		fd = -1;
		if (s->cert != NULL)
			rc = vgmo__errf(err, errlen, VGMO_ERR_INVALID,
			                "cannot start HTTPS on %s: TLS "
			                "certificate %s or key %s refused",
			                hostport, tls_cert, tls_key);
		else
			rc = vgmo__errf(err, errlen, VGMO_ERR_IO,
			                "cannot start the HTTP server on %s",
			                hostport);
		goto fail;
	}
	http_listen_format(fd, bound, boundlen);
	*out = s;
	return VGMO_OK;
fail:
	if (fd >= 0)
		close(fd);
	free_server(s);
	return rc;
}

void http_server_stop(http_server *s)
{
	if (s == NULL)
		return;
	MHD_stop_daemon(s->mhd);
	free_server(s);
}
