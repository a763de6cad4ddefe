/*
 * api.h - the daemon's HTTP endpoints (docs/api.md): the route tables that
 * http_server_start serves with a vgmo_daemon as its context.
 *
 *   main listener (--listen):          /, /metrics, /v1/..., /health, /ready
 *   health listener (--health-listen): /health, /ready
 *
 * Usage in cmd_serve.c (the listeners are bound before the daemon starts):
 *   http_server_start(&srv, &listener, cert, key, api_main_routes, daemon,
 *                     bound, sizeof(bound), err, sizeof(err));
 *   http_server_start(&hsrv, &health_listener, NULL, NULL,
 *                     api_health_routes, daemon, hbound, sizeof(hbound), err,
 *                     sizeof(err));
 */
#ifndef VGMO_SRC_API_H
#define VGMO_SRC_API_H

#include "http.h"

extern const http_route api_main_routes[];

/* /v1/clients and /v1/clients/{id}[/report] (api_clients.c). */
void api_on_clients(void *ctx, const http_request *req, http_response *res);
void api_on_client(void *ctx, const http_request *req, http_response *res);

/* The view of client `id` when it is a leased worker (its GPU's memory in
 * *total when not NULL); false, with 404 sent, when it is not. */
bool api_leased_view(vgmo_engine *eng, int id, vgmo_worker_view *w,
                     uint64_t *total, http_response *res);

/* /v1/clients/{id}/fit and /plan for worker `id` (api_fit.c); the caller
 * checked the method and the token. */
struct vgmo_daemon;
void api_on_client_fit(struct vgmo_daemon *d, int id, const http_request *req,
                       http_response *res);
void api_on_client_plan(struct vgmo_daemon *d, int id, const http_request *req,
                        http_response *res);
/* GET / and its script /ui/landing.js (api_landing.c). */
void api_on_landing(void *ctx, const http_request *req, http_response *res);
void api_on_landing_js(void *ctx, const http_request *req, http_response *res);
extern const http_route api_health_routes[];

#endif
