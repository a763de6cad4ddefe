/*
 * http_response.c - answers: a handler's response (http_respond) queued
 * with its headers, and the server's own JSON errors (404, 405 with Allow,
 * 413, and the fatal ones that close the connection).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "http_internal.h"
#include "util.h"

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

enum MHD_Result http__send_response(struct MHD_Connection *c,
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

enum MHD_Result http__send_error(struct MHD_Connection *c, unsigned status,
                                 const char *message, const char *allow)
{
	http_response res = {.status = status};

	fallback_error(&res, status, message);
	http_guard_answering(c, true);
	return http__send_response(c, &res, allow);
}

/* A request this server would frame differently from a proxy in front
 * of it: answered, and the connection closed, so that what follows on it
 * is never read as a request. */
enum MHD_Result http__send_fatal(struct MHD_Connection *c, unsigned status,
                                 const char *message)
{
	http_response res = {.status = status, .close = true};

	fallback_error(&res, status, message);
	return http__send_response(c, &res, NULL);
}
