/*
 * api_clients.h - what the client protocol's handlers share (api_clients.c,
 * api_clients_register.c; internal to them).
 */
#ifndef VGMO_SRC_API_CLIENTS_H
#define VGMO_SRC_API_CLIENTS_H

#include "daemon.h"
#include "http.h"

/* Answers `status` with client `id`'s JSON (its `secret` added when not
 * NULL: only at registration); 404 when it holds no lease. */
void api_clients_send(vgmo_daemon *d, int id, unsigned status,
                      const char *secret, http_response *res);

/* POST /v1/clients; the caller checked the method and the token. */
void api_clients_register(vgmo_daemon *d, const http_request *req,
                          http_response *res);

#endif
