/*
 * http_request.c - one request, from its headers to its route: framing a
 * proxy could read differently refused (ambiguous lengths, unknown
 * codings, bad header names), the body collected up to HTTP_BODY_MAX, the
 * route and method matched, and the route's handler called.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "http_internal.h"
#include "util.h"

/* A chunked body over the cap is read and dropped up to this much more. */
#define DISCARD_MAX (16u * HTTP_BODY_MAX)

/* A request whose body is being read. */
struct pending {
	const http_route *route;
	unsigned method;
	bool too_big;
	size_t len;
	size_t discarded; /* bytes thrown away after the cap */
	char body[];      /* HTTP_BODY_MAX + 1 */
};

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
	return http__send_response(c, &res, NULL);
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
size_t http__unescape(void *cls, struct MHD_Connection *c, char *s)
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

enum MHD_Result http__on_request(void *cls, struct MHD_Connection *c,
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
			return http__send_fatal(
			        c, 400,
			        "a header name holds a blank (as in "
			        "'Content-Length : 5')");
		if (unknown_coding(c))
			return http__send_fatal(
			        c, 501,
			        "Transfer-Encoding: only chunked is "
			        "supported");
		if (ambiguous_length(c))
			return http__send_error(c, 400,
			                        "conflicting Content-Length or "
			                        "Transfer-Encoding headers",
			                        NULL);
		bit = method_bit(method);
		route = find_route(s->routes, url);
		if (route == NULL)
			return http__send_error(c, 404, "no such path", NULL);
		if (!(route->methods & bit) &&
		    !(bit == HTTP_HEAD && (route->methods & HTTP_GET))) {
			allow_list(allow, sizeof(allow), route->methods);
			return http__send_error(c, 405, "method not allowed",
			                        allow);
		}
		declared = declared_length(c);
		if (declared < 0)
			return http__send_error(
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
		return http__send_error(
		        c, 413, "request body larger than 65536 bytes", NULL);
	p->body[p->len] = '\0';
	return dispatch(s, c, p->route, url, method, p->method, p->body,
	                p->len);
}

void http__on_completed(void *cls, struct MHD_Connection *c, void **state,
                        enum MHD_RequestTerminationCode why)
{
	struct http_server *s = cls;

	(void)why;
	http_guard_answering(c, false);
	if (*state != &s->no_body)
		free(*state);
	*state = NULL;
}
