/*
 * http_internal.h - what the HTTP server's files share (http.c,
 * http_request.c, http_response.c; nothing else includes it): the server's
 * context and the libmicrohttpd callbacks that answer requests.
 */
#ifndef VGMO_SRC_HTTP_INTERNAL_H
#define VGMO_SRC_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>

#include "http.h"
#include "http_guard.h"

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

/* ------------------------------------------------------ http_response.c */

/* Queues `res` (its body is freed here) with `allow` as the Allow header
 * (NULL: none). */
enum MHD_Result http__send_response(struct MHD_Connection *c,
                                    http_response *res, const char *allow);
/* The error body of `status` with `message`, marking the connection as
 * answering for the guard. */
enum MHD_Result http__send_error(struct MHD_Connection *c, unsigned status,
                                 const char *message, const char *allow);
/* An error answered with "Connection: close". */
enum MHD_Result http__send_fatal(struct MHD_Connection *c, unsigned status,
                                 const char *message);

/* ------------------------------------------------------- http_request.c */

/* libmicrohttpd's access handler (cls: the http_server), its completion
 * callback, and its URL unescaper. */
enum MHD_Result http__on_request(void *cls, struct MHD_Connection *c,
                                 const char *url, const char *method,
                                 const char *version, const char *upload,
                                 size_t *upload_size, void **state);
void http__on_completed(void *cls, struct MHD_Connection *c, void **state,
                        enum MHD_RequestTerminationCode why);
size_t http__unescape(void *cls, struct MHD_Connection *c, char *s);

#endif
