/*
 * api.c - the daemon's endpoints (docs/api.md): probes, /metrics and the
 * JSON API under /v1. Every handler reads through a snapshot (formatted
 * outside the engine's lock) and changes things only through the daemon_*
 * mutators, which persist, apply and audit. Mutating methods need the
 * bearer token when one is configured.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "api_parse.h"
#include "api_util.h"
#include "daemon.h"
#include "metrics.h"
#include "result_json.h"

#define HISTORY_DEFAULT 100
#define HISTORY_MAX 10000

static bool take_view(vgmo_daemon *d, unsigned flags, daemon_view *v,
                      http_response *res)
{
	vgmo_err rc = daemon_view_take(d, flags, v);

	if (rc == VGMO_OK)
		return true;
	api_fail(res, rc, NULL, "cannot read the engine's state");
	return false;
}

/* --------------------------------------------------------------- probes */

static void on_health(void *ctx, const http_request *req, http_response *res)
{
	(void)req;
	if (daemon_alive(ctx))
		api_send_json(res, 200, json_pack("{s:s}", "status", "alive"));
	else
		api_send_json(res, 503,
		              json_pack("{s:s,s:s}", "status", "dead", "reason",
		                        "the daemon's loop has not run for 3 "
		                        "monitoring intervals"));
}

static void on_ready(void *ctx, const http_request *req, http_response *res)
{
	daemon_view v;

	(void)req;
	if (daemon_view_take(ctx, 0, &v) != VGMO_OK) {
		api_send_json(res, 503,
		              json_pack("{s:s,s:s}", "status", "not ready",
		                        "reason",
		                        "cannot read the engine's state"));
		return;
	}
	if (v.ready)
		api_send_json(res, 200, json_pack("{s:s}", "status", "ready"));
	else
		api_send_json(
		        res, 503,
		        json_pack("{s:s,s:s}", "status", "not ready", "reason",
		                  v.not_ready_reason[0] ? v.not_ready_reason
		                                        : "not ready"));
	daemon_view_release(&v);
}

static void on_metrics(void *ctx, const http_request *req, http_response *res)
{
	vgmo__metrics_extra x;
	daemon_view v;

	(void)req;
	if (!take_view(ctx, 0, &v, res))
		return;
	x.monitoring = v.monitoring;
	x.ready = v.ready;
	x.started_at = v.started_at;
	free(res->body);
	res->body = vgmo__metrics_render(v.snap, &x, &res->len);
	daemon_view_release(&v);
	if (res->body == NULL) {
		api_fail(res, VGMO_ERR_NOMEM, NULL, NULL);
		return;
	}
	res->status = 200;
	res->content_type = VGMO__METRICS_CONTENT_TYPE;
}

/* ------------------------------------------------------------------ /v1 */

static void on_status(void *ctx, const http_request *req, http_response *res)
{
	const char *tail;
	daemon_view v;
	char *text;
	size_t n;

	(void)req;
	if (!take_view(ctx, 0, &v, res))
		return;
	text = vgmo_snapshot_status_json(v.snap, 0);
	tail = v.monitoring ? ",\"monitoring\":true}\n"
	                    : ",\"monitoring\":false}\n";
	daemon_view_release(&v);
	n = text ? strlen(text) : 0;
	/* An object always ends in '}': open it again for one more key. */
	if (n < 2 || text[n - 1] != '}' ||
	    !http_respond(res, 200, "%.*s%s", (int)(n - 1), text, tail))
		api_fail(res, VGMO_ERR_NOMEM, NULL, NULL);
	free(text);
}

static void on_optimize(void *ctx, const http_request *req, http_response *res)
{
	char who[DAEMON_WHO_MAX];
	vgmo_result r;
	api_error e;
	vgmo_err rc;

	if (!api_authorized(ctx, req, res))
		return;
	if (api_parse_no_body(req->body, req->body_len, &e) != VGMO_OK) {
		api_send_error(res, &e);
		return;
	}
	api_who(req, who, sizeof(who));
	memset(&r, 0, sizeof(r));
	rc = daemon_optimize(ctx, who, &r);
	if (rc != VGMO_OK) {
		api_fail(res, rc, NULL, r.error_message);
		return;
	}
	api_send_json(res, 200, vgmo__result_to_json(&r));
}

static const vgmo_worker_view *default_worker(const vgmo_snapshot *s)
{
	for (size_t i = 0; i < vgmo_snapshot_worker_count(s); i++) {
		const vgmo_worker_view *w = vgmo_snapshot_worker(s, i);

		if (w->id == VGMO_DEFAULT_WORKER)
			return w;
	}
	return NULL;
}

static void send_batch_size(vgmo_daemon *d, http_response *res)
{
	const vgmo_worker_view *w;
	daemon_view v;

	if (!take_view(d, 0, &v, res))
		return;
	w = default_worker(v.snap);
	if (w == NULL)
		api_fail(res, VGMO_ERR_NOT_FOUND, NULL, "no default worker");
	else
		api_send_json(
		        res, 200,
		        json_pack("{s:i,s:o,s:o}", "batch_size", w->batch_size,
		                  "optimal_batch_size",
		                  w->optimal_batch_size > 0
		                          ? json_integer(w->optimal_batch_size)
		                          : json_null(),
		                  "manual_batch_size",
		                  w->manual_batch_size
		                          ? json_integer(w->manual_batch_size)
		                          : json_null()));
	daemon_view_release(&v);
}

static void on_batch_size(void *ctx, const http_request *req,
                          http_response *res)
{
	char who[DAEMON_WHO_MAX], err[512] = "";
	vgmo_config cfg;
	api_error e;
	vgmo_err rc;
	int size;

	if (!api_authorized(ctx, req, res))
		return;
	if (req->method == HTTP_PUT) {
		rc = vgmo_engine_get_config(daemon_engine(ctx), &cfg);
		if (rc != VGMO_OK) {
			api_fail(res, rc, NULL, NULL);
			return;
		}
		if (api_parse_batch_size(req->body, req->body_len,
		                         cfg.min_batch_size, cfg.max_batch_size,
		                         &size, &e) != VGMO_OK) {
			api_send_error(res, &e);
			return;
		}
		api_who(req, who, sizeof(who));
		rc = daemon_set_batch_size(ctx, VGMO_DEFAULT_WORKER, size, who,
		                           err, sizeof(err));
		if (rc != VGMO_OK) {
			api_fail(res, rc,
			         rc == VGMO_ERR_INVALID ? "batch_size" : NULL,
			         err);
			return;
		}
	}
	send_batch_size(ctx, res);
}

typedef vgmo_err (*flag_setter)(vgmo_daemon *d, bool on, const char *who,
                                char *err, size_t errlen);

static void set_flag(vgmo_daemon *d, const http_request *req,
                     http_response *res, flag_setter set, bool on,
                     const char *key)
{
	char who[DAEMON_WHO_MAX], err[512] = "";
	api_error e;
	vgmo_err rc;

	if (!api_authorized(d, req, res))
		return;
	if (api_parse_no_body(req->body, req->body_len, &e) != VGMO_OK) {
		api_send_error(res, &e);
		return;
	}
	api_who(req, who, sizeof(who));
	rc = set(d, on, who, err, sizeof(err));
	if (rc != VGMO_OK)
		api_fail(res, rc, NULL, err);
	else
		api_send_bool(res, key, on);
}

static void on_enable(void *ctx, const http_request *req, http_response *res)
{
	set_flag(ctx, req, res, daemon_set_enabled, true,
	         "optimization_enabled");
}

static void on_disable(void *ctx, const http_request *req, http_response *res)
{
	set_flag(ctx, req, res, daemon_set_enabled, false,
	         "optimization_enabled");
}

static void on_monitoring_start(void *ctx, const http_request *req,
                                http_response *res)
{
	set_flag(ctx, req, res, daemon_set_monitoring, true, "monitoring");
}

static void on_monitoring_stop(void *ctx, const http_request *req,
                               http_response *res)
{
	set_flag(ctx, req, res, daemon_set_monitoring, false, "monitoring");
}

static void send_config(http_response *res, const vgmo_config *cfg)
{
	char *text = vgmo_config_to_json(cfg);

	if (text == NULL || !http_respond(res, 200, "%s\n", text))
		api_fail(res, VGMO_ERR_NOMEM, NULL, NULL);
	free(text);
}

static void on_config(void *ctx, const http_request *req, http_response *res)
{
	char who[DAEMON_WHO_MAX], err[1024] = "";
	vgmo_config cfg;
	api_error e;
	vgmo_err rc;

	if (!api_authorized(ctx, req, res))
		return;
	rc = vgmo_engine_get_config(daemon_engine(ctx), &cfg);
	if (rc != VGMO_OK) {
		api_fail(res, rc, NULL, NULL);
		return;
	}
	if (req->method == HTTP_PUT) {
		if (api_parse_precheck(req->body, req->body_len, &e) !=
		    VGMO_OK) {
			api_send_error(res, &e);
			return;
		}
		/* Keys not given keep their values; all or nothing; read,
		 * merged and saved under one lock, so that two PUTs at once
		 * both count. */
		api_who(req, who, sizeof(who));
		rc = daemon_patch_config(ctx, req->body, req->body_len,
		                         API_SOURCE, who, &cfg, err,
		                         sizeof(err));
		if (rc != VGMO_OK) {
			api_error_from_config(&e, rc, err);
			api_send_error(res, &e);
			return;
		}
	}
	send_config(res, &cfg);
}

static void on_history(void *ctx, const http_request *req, http_response *res)
{
	json_t *list;
	daemon_view v;
	api_error e;
	size_t n, from;
	int limit;

	if (api_parse_limit(http_request_arg(req, "limit"), HISTORY_DEFAULT,
	                    HISTORY_MAX, &limit, &e) != VGMO_OK) {
		api_send_error(res, &e);
		return;
	}
	if (!take_view(ctx, VGMO_SNAPSHOT_HISTORY, &v, res))
		return;
	n = vgmo_snapshot_history_count(v.snap);
	from = n > (size_t)limit ? n - (size_t)limit : 0;
	list = json_array();
	for (size_t i = from; i < n; i++)
		json_array_append_new(
		        list,
		        vgmo__result_to_json(vgmo_snapshot_history(v.snap, i)));
	daemon_view_release(&v);
	api_send_json(res, 200, json_pack("{s:o}", "history", list));
}

/* --------------------------------------------------------------- tables */

const http_route api_main_routes[] = {
        {"/", HTTP_GET, api_on_landing},
        {"/ui/landing.js", HTTP_GET, api_on_landing_js},
        {"/metrics", HTTP_GET, on_metrics},
        {"/health", HTTP_GET, on_health},
        {"/ready", HTTP_GET, on_ready},
        {"/v1/status", HTTP_GET, on_status},
        {"/v1/optimize", HTTP_POST, on_optimize},
        {"/v1/batch-size", HTTP_GET | HTTP_PUT, on_batch_size},
        {"/v1/enable", HTTP_POST, on_enable},
        {"/v1/disable", HTTP_POST, on_disable},
        {"/v1/monitoring/start", HTTP_POST, on_monitoring_start},
        {"/v1/monitoring/stop", HTTP_POST, on_monitoring_stop},
        {"/v1/config", HTTP_GET | HTTP_PUT, on_config},
        {"/v1/history", HTTP_GET, on_history},
        {"/v1/clients", HTTP_GET | HTTP_POST, api_on_clients},
        {"/v1/clients/*", HTTP_GET | HTTP_POST | HTTP_DELETE, api_on_client},
        {NULL, 0, NULL},
};

const http_route api_health_routes[] = {
        {"/health", HTTP_GET, on_health},
        {"/ready", HTTP_GET, on_ready},
        {NULL, 0, NULL},
};
