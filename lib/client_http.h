/*
 * client_http.h - the HTTP JSON transport of vgmo_client_* (client.c):
 * one daemon URL, its bearer token, one libcurl handle kept alive between
 * requests, answers capped at VGMO__HTTP_BODY_MAX.
 */
#ifndef VGMO_LIB_CLIENT_HTTP_H
#define VGMO_LIB_CLIENT_HTTP_H

#include <jansson.h>

#include "curl_dl.h"

#define VGMO__HTTP_URL_MAX 1024
#define VGMO__HTTP_TOKEN_MAX 4096
#define VGMO__HTTP_BODY_MAX ((size_t)1 << 20)

typedef struct vgmo__http {
	vgmo__curl api; /* libcurl, loaded */
	CURL *curl;
	char url[VGMO__HTTP_URL_MAX]; /* base URL, no trailing '/' */
	char *auth; /* the Authorization header line, or NULL; owned */
	char errbuf[CURL_ERROR_SIZE];
} vgmo__http;

/* Checks `url` (http:// or https://, a host, no blanks, query or
 * fragment) and `token` (NULL: none; one line of printable characters),
 * loads libcurl and prepares a handle. On error *h is left closed. */
vgmo_err vgmo__http_open(vgmo__http *h, const char *url, const char *token,
                         char *err, size_t errlen);

/* Frees what *h holds (the token wiped first); safe on a zeroed one. */
void vgmo__http_close(vgmo__http *h);

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
