/*
 * api_util.h - helpers shared by the API's handlers (api.c,
 * api_clients.c).
 */
#ifndef VGMO_SRC_API_UTIL_H
#define VGMO_SRC_API_UTIL_H

#include <jansson.h>
#include <stdbool.h>

#include "api_parse.h"
#include "daemon.h"
#include "http.h"
#include "json_values.h"

/* Sends `j` (consumed) with `status`; 500 when `j` is NULL. */
void api_send_json(http_response *res, unsigned status, json_t *j);
/* {"error": {"status", "message", "field"?}} */
void api_send_error(http_response *res, const api_error *e);
void api_fail(http_response *res, vgmo_err rc, const char *field,
              const char *message);
void api_send_bool(http_response *res, const char *key, bool v);
/* "api:<peer>", for the audit log. */
void api_who(const http_request *r, char *who, size_t size);
/* The token for a read, whatever the method (where one is set); 401
 * sent if missing. */
bool api_authorized_read(vgmo_daemon *d, const http_request *r,
                         http_response *res);
/* True when the request may go on; otherwise answers 401. */
bool api_authorized(vgmo_daemon *d, const http_request *r, http_response *res);

#endif
