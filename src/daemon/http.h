/*
 * http.h - a small HTTP/1.1 server over libmicrohttpd (internal to the
 * program). It owns the listening socket, TLS, connection limits, the
 * request-body cap (64 KiB, 413 beyond it), routing by exact path with 404
 * and 405 (+ Allow), and the response. What a path does is the handler's
 * business (api.c).
 *
 * Threads: requests are served by a small pool of libmicrohttpd threads
 * (one per core, at most 4); handlers run on them and must be thread-safe.
 * The context pointer given to http_server_start reaches every handler.
 */
#ifndef VGMO_SRC_HTTP_H
#define VGMO_SRC_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "vgmo/vgmo.h"

/* Largest request body accepted; a larger one gets 413. */
#define HTTP_BODY_MAX (64u * 1024u)

/* Longest "HOST:PORT" / "[V6]:PORT" the server reports as bound. */
#define HTTP_ADDR_MAX 80

/* Methods, as bits so that a route can allow several. */
enum {
	HTTP_GET = 1u << 0,
	HTTP_HEAD = 1u << 1, /* served as GET without the body */
	HTTP_POST = 1u << 2,
	HTTP_PUT = 1u << 3,
	HTTP_DELETE = 1u << 4,
	HTTP_OTHER = 1u << 5
};

/* Methods that change something (need the token). */
#define HTTP_MUTATING (HTTP_POST | HTTP_PUT | HTTP_DELETE | HTTP_OTHER)

typedef struct http_request {
	unsigned method;         /* one HTTP_* bit */
	const char *method_name; /* as sent: "GET" */
	const char *path;        /* without the query string */
	const char *body;        /* NUL-terminated; "" when none */
	size_t body_len;
	const char *peer; /* numeric address of the client, "?" unknown */
	void *conn;       /* the connection, for the two lookups below */
} http_request;

/* A request header (case-insensitive name) or query argument; NULL when
 * absent. Valid until the handler returns. */
const char *http_request_header(const http_request *r, const char *name);
const char *http_request_arg(const http_request *r, const char *name);

typedef struct http_response {
	unsigned status;          /* 200 unless the handler sets it */
	const char *content_type; /* a static string; NULL: application/json */
	char *body; /* malloc'd; the server frees it; may be NULL */
	size_t len;
	const char *www_authenticate; /* static; NULL: no such header */
	const char *csp; /* static Content-Security-Policy; NULL: none */
	bool close;      /* "Connection: close": nothing after it is read */
} http_response;

typedef void (*http_handler_fn)(void *ctx, const http_request *req,
                                http_response *res);

/* One path. A table of routes ends with an entry whose path is NULL. */
typedef struct http_route {
	const char *path;   /* exact match, e.g. "/v1/status", or a prefix
	                       ending in a star, as "/v1/clients/" + "*" */
	unsigned methods;   /* HTTP_* bits; GET implies HEAD */
	http_handler_fn fn; /* called for every allowed method */
} http_route;

typedef struct http_server http_server;

/* A bound, listening socket not served yet. */
typedef struct http_listener {
	int fd; /* -1: none */
	int family;
	char hostport[256]; /* as given, for messages */
	/* Seconds a connection may stay silent; 0: HTTP_IDLE_TIMEOUT_S. The
	 * health listener's is short, so that slow connections cannot hold
	 * its slots for long. */
	unsigned idle_timeout_s;
} http_listener;

#define HTTP_IDLE_TIMEOUT_S 30

/* Binds and listens on `hostport` ("127.0.0.1:8080", "[::1]:0",
 * "[::]:8080" for both IPv6 and IPv4, "localhost:8080"; port 0 picks a
 * free port). Nothing is served until http_server_start; the daemon binds
 * first, so that a second one fails before it touches any state. */
vgmo_err http_listener_open(http_listener *l, const char *hostport, char *err,
                            size_t errlen);
/* Closes a listener that was never started (safe when fd is -1). */
void http_listener_close(http_listener *l);

/* Serves `routes` (which must outlive the server) with `ctx` on the
 * listener, which it takes over (its fd is -1 after, success or not).
 * With `tls_cert` and `tls_key` (PEM file paths, both or neither) it
 * speaks HTTPS. The bound address, with the real port, goes to `bound`
 * ("127.0.0.1:40123"). Returns VGMO_OK with *out set, or an error with the
 * reason in `err` (naming the address or the file). Caller stops with
 * http_server_stop. */
vgmo_err http_server_start(http_server **out, http_listener *l,
                           const char *tls_cert, const char *tls_key,
                           const http_route *routes, void *ctx, char *bound,
                           size_t boundlen, char *err, size_t errlen);

/* Stops accepting, waits for the request threads, frees everything.
 * NULL is ignored. */
void http_server_stop(http_server *s);

/* Builds a response body: printf into a malloc'd buffer placed in `res`
 * with `status` (replacing any earlier body). False when out of memory. */
bool http_respond(http_response *res, unsigned status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#endif
