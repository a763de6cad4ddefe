/*
 * client_http.h - the HTTP JSON transport that talks to a `vgmo serve`
 * daemon, shared by vgmo_client_* (client.c) and the vgmo client commands
 * (src/client.c): one daemon URL, its bearer token, one libcurl handle kept
 * alive between requests, answers capped at a per-handle size.
 *
 * Two layers: vgmo__http_exchange() sends one request and hands back what
 * came (transfer result, status, body) for the caller to judge;
 * vgmo__http_request() is the library's judgement of it (a vgmo_err and a
 * message). The commands judge it their own way (src/client.c).
 */
#ifndef VGMO_LIB_CLIENT_HTTP_H
#define VGMO_LIB_CLIENT_HTTP_H

#include <stdbool.h>

#include <jansson.h>

#include "curl_dl.h"

#define VGMO__HTTP_URL_MAX 1024
#define VGMO__HTTP_TOKEN_MAX 4096
#define VGMO__HTTP_BODY_MAX ((size_t)1 << 20)

/* How a handle talks; vgmo__http_open() uses vgmo__http_lib_opts. */
typedef struct vgmo__http_opts {
	const char *user_agent;
	const char
	        *cacert; /* NULL: the system's CAs; must outlive the handle */
	long connect_timeout_ms;
	long total_timeout_ms;
	size_t body_max; /* largest answer read */
} vgmo__http_opts;

extern const vgmo__http_opts vgmo__http_lib_opts;

typedef struct vgmo__http {
	vgmo__curl api; /* libcurl, loaded */
	CURL *curl;
	char url[VGMO__HTTP_URL_MAX]; /* base URL, no trailing '/' */
	char *auth;      /* the Authorization header line, or NULL; owned */
	char secret[96]; /* the client secret's header line, or "" */
	vgmo__http_opts opts;
	char errbuf[CURL_ERROR_SIZE];
} vgmo__http;

/* What one exchange brought back. */
typedef struct vgmo__http_answer {
	CURLcode cc;  /* the transfer's result */
	long status;  /* the HTTP status when cc is CURLE_OK */
	char *body;   /* NUL-terminated, or NULL when empty; owned */
	size_t len;   /* bytes in body */
	bool too_big; /* the answer passed opts.body_max */
	bool nomem;   /* out of memory while reading it */
} vgmo__http_answer;

/* Checks `url` (http:// or https://, a host, no blanks, query or
 * fragment) and `token` (NULL: none; one line of printable characters),
 * loads libcurl and prepares a handle with vgmo__http_lib_opts. On error
 * *h is left closed. */
vgmo_err vgmo__http_open(vgmo__http *h, const char *url, const char *token,
                         char *err, size_t errlen);

/* vgmo__http_open() for a `url` the caller has checked (shorter than
 * VGMO__HTTP_URL_MAX), talking as `opts` says. The token is still
 * checked. On error *h is left closed. */
vgmo_err vgmo__http_start(vgmo__http *h, const char *url, const char *token,
                          const vgmo__http_opts *opts, char *err,
                          size_t errlen);

/* Frees what *h holds (the token wiped first); safe on a zeroed one. */
void vgmo__http_close(vgmo__http *h);

/* Sends `method` `path` with `body` as JSON (NULL: none) and fills *a
 * (the caller frees it with vgmo__http_answer_free) whatever the daemon
 * answered. VGMO_OK when the transfer was tried (see a->cc); otherwise
 * VGMO_ERR_NOMEM ("out of memory") or VGMO_ERR_INVALID (the URL is too
 * long) with `err` filled and *a zeroed. */
vgmo_err vgmo__http_exchange(vgmo__http *h, const char *method,
                             const char *path, const json_t *body,
                             vgmo__http_answer *a, char *err, size_t errlen);

/* Frees what *a owns and zeroes it; safe on a zeroed answer. */
void vgmo__http_answer_free(vgmo__http_answer *a);

/* The daemon's error.message in the body of *a, as a copy the caller
 * frees; NULL when there is none. */
char *vgmo__http_error_message(const vgmo__http_answer *a);

/* Sends `method` `path` with `body` as JSON (NULL: none) and reads a 2xx
 * answer that is a JSON object into *out (the caller decrefs it; NULL on
 * error). Errors: VGMO_ERR_IO (no connection, 5xx, 429), VGMO_ERR_TIMEOUT,
 * VGMO_ERR_PARSE (2xx that is not a JSON object), VGMO_ERR_NOT_FOUND
 * (404), VGMO_ERR_PERMISSION (401, 403), VGMO_ERR_INVALID (any other
 * status), VGMO_ERR_NOMEM; `err` says why, with the daemon's message. */
vgmo_err vgmo__http_request(vgmo__http *h, const char *method, const char *path,
                            const json_t *body, json_t **out, char *err,
                            size_t errlen);

#endif
