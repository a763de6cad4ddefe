/*
 * api_clients.c - the client protocol (docs/clients.md) under /v1/clients:
 * who may act for a client, batch reports, leases, listing and leaving,
 * and the routes (registration itself is api_clients_register.c).
 */
#define _GNU_SOURCE /* memmem */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_clients.h"
#include "api_clients_parse.h"
#include "api_util.h"
#include "client_secret.h"
#include "worker_json.h"

/* ------------------------------------------------------------- writing */

/* The worker as every renderer has it (worker_json.h), plus what only a
 * client has: its client id (for the engine's), GPU UUID, state and
 * lease. NULL on allocation failure. */
static json_t *client_json(vgmo_daemon *d, const vgmo_snapshot *s,
                           const vgmo_worker_view *w)
{
	const vgmo_gpu_sample *g = vgmo_snapshot_gpu(s, w->gpu);
	json_t *o = vgmo__worker_json(w);
	int rc = 0;

	if (o == NULL)
		return NULL;
	rc |= json_object_set_new(
	        o, "id", json_integer((json_int_t)daemon_client_id(d, w->id)));
	rc |= json_object_set_new(o, "uuid",
	                          g ? vgmo__json_text(g->uuid) : json_null());
	rc |= json_object_set_new(
	        o, "state", json_string(w->healthy ? "healthy" : "unhealthy"));
	rc |= json_object_set_new(o, "lease_seconds",
	                          json_real(daemon_lease(d)));
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The worker's view in a fresh snapshot; NULL (and 404 sent) if gone. */
static const vgmo_worker_view *find_client(const vgmo_snapshot *s, int id)
{
	for (size_t i = 0; i < vgmo_snapshot_worker_count(s); i++) {
		const vgmo_worker_view *w = vgmo_snapshot_worker(s, i);

		if (w->id == id && w->leased)
			return w;
	}
	return NULL;
}

void api_clients_send(vgmo_daemon *d, int id, unsigned status,
                      const char *secret, http_response *res)
{
	vgmo_snapshot *s;
	const vgmo_worker_view *w;
	json_t *o;

	if (vgmo_engine_snapshot_ex(daemon_engine(d), 0, &s) != VGMO_OK) {
		api_fail(res, VGMO_ERR_NOMEM, NULL, NULL);
		return;
	}
	w = find_client(s, id);
	if (w == NULL)
		api_fail(res, VGMO_ERR_NOT_FOUND, NULL, "no such client");
	else if ((o = client_json(d, s, w)) == NULL)
		api_fail(res, VGMO_ERR_NOMEM, NULL, NULL);
	else {
		if (secret != NULL)
			json_object_set_new(o, "secret", json_string(secret));
		api_send_json(res, status, o);
	}
	vgmo_snapshot_free(s);
}

/* ---------------------------------------------------------------- trust */

/* The operator's token, or client `worker`'s own secret; 401 if neither. */
static bool client_authorized(vgmo_daemon *d, const http_request *req,
                              int worker, http_response *res)
{
	api_error e;

	if (daemon_operator_ok(d, http_request_header(req, "Authorization")) ||
	    daemon_client_secret_ok(
	            d, worker, http_request_header(req, CLIENT_SECRET_HEADER)))
		return true;
	api_error_set(&e, 401, NULL,
	              "this call needs the client's secret (header "
	              "'" CLIENT_SECRET_HEADER
	              "', from its registration) or the "
	              "operator's token");
	api_send_error(res, &e);
	return false;
}

static bool live_id(vgmo_daemon *d, int worker)
{
	vgmo_worker_view w;

	return worker >= 0 &&
	       vgmo_engine_worker_view(daemon_engine(d), worker, &w, NULL) ==
	               VGMO_OK &&
	       w.leased;
}

/* -------------------------------------------------------------- report */

/* The client's view when it is a leased worker; false (404 sent) if not. */
bool api_leased_view(vgmo_engine *eng, int id, vgmo_worker_view *w,
                     uint64_t *total, http_response *res)
{
	if (vgmo_engine_worker_view(eng, id, w, total) == VGMO_OK && w->leased)
		return true;
	api_fail(res, VGMO_ERR_NOT_FOUND, NULL,
	         "no such client (its lease may have expired): register "
	         "again");
	return false;
}

/* Answers from the worker's own view, not a whole snapshot: a report is
 * the hot path (ten a second from every client). */
static void on_report(vgmo_daemon *d, int id, const http_request *req,
                      http_response *res)
{
	vgmo_engine *eng = daemon_engine(d);
	vgmo_decision dec = {0};
	vgmo_unit_decision ud = {0};
	vgmo_worker_view w;
	vgmo_vlm_model m;
	const vgmo_vlm_model *model = &m;
	client_report c;
	uint64_t total = 0;
	bool tokens;
	json_t *ans;
	api_error e;
	vgmo_err rc;

	if (!api_leased_view(eng, id, &w, &total, res))
		return;
	/* The model counts the image sizes of "requests"; most reports have
	 * none, and skip the look-up. */
	if (memmem(req->body, req->body_len, "\"requests\"", 10) == NULL ||
	    vgmo_engine_worker_model(eng, id, &m) != VGMO_OK)
		model = NULL;
	if (api_clients_parse_report(req->body, req->body_len, total, model, &c,
	                             &e) != VGMO_OK) {
		api_send_error(res, &e);
		return;
	}
	if (c.requests)
		rc = vgmo_engine_report_batch(eng, id, &c.r, c.requests,
		                              c.r.items, &dec);
	else if (c.has_units)
		rc = vgmo_engine_report_units(eng, id, &c.r, c.units, &ud);
	else
		rc = vgmo_engine_report(eng, id, &c.r, &dec);
	tokens = c.has_units || c.requests != NULL;
	api_clients_report_free(&c);
	if (rc == VGMO_ERR_STATE) {
		api_fail(res, rc, "requests",
		         "key \"requests\": this client counts items; "
		         "register it with \"unit\": \"tokens\" to report "
		         "request shapes");
		return;
	}
	if (rc != VGMO_OK) {
		api_fail(res, rc, NULL, "report refused");
		return;
	}
	if (!api_leased_view(eng, id, &w, NULL, res))
		return;
	if (tokens && !c.has_units &&
	    vgmo_engine_unit_decision(eng, id, &ud) != VGMO_OK)
		tokens = false;
	ans = json_object();
	json_object_set_new(ans, "batch_size", json_integer(w.batch_size));
	json_object_set_new(
	        ans, "cleanup",
	        json_boolean(c.has_units ? ud.cleanup : dec.cleanup));
	vgmo__worker_budget_json(ans, &w);
	json_object_set_new(ans, "lease_seconds", json_real(daemon_lease(d)));
	if (tokens) {
		json_object_set_new(
		        ans, "unit_budget",
		        ud.unit_budget
		                ? json_integer((json_int_t)ud.unit_budget)
		                : json_null());
		json_object_set_new(ans, "max_items",
		                    json_integer(ud.max_items));
	}
	api_send_json(res, 200, ans);
}

/* ----------------------------------------------------------- the routes */

void api_on_clients(void *ctx, const http_request *req, http_response *res)
{
	vgmo_daemon *d = ctx;
	vgmo_snapshot *s;
	json_t *list;

	if (req->method == HTTP_POST) {
		if (api_authorized(d, req, res))
			api_clients_register(d, req, res);
		return;
	}
	/* Who is registered is the operator's to read, where there is one. */
	if (!api_authorized_read(d, req, res))
		return;
	if (vgmo_engine_snapshot_ex(daemon_engine(d), 0, &s) != VGMO_OK) {
		api_fail(res, VGMO_ERR_NOMEM, NULL, NULL);
		return;
	}
	list = json_array();
	for (size_t i = 0; i < vgmo_snapshot_worker_count(s); i++) {
		const vgmo_worker_view *w = vgmo_snapshot_worker(s, i);

		if (w->leased)
			json_array_append_new(list, client_json(d, s, w));
	}
	api_send_json(res, 200, json_pack("{s:o}", "clients", list));
	vgmo_snapshot_free(s);
}

/* "/v1/clients/{id}" or "/v1/clients/{id}/report", "/fit", "/plan". */
void api_on_client(void *ctx, const http_request *req, http_response *res)
{
	vgmo_daemon *d = ctx;
	const char *rest = req->path + strlen("/v1/clients/");
	char *end;
	long long id;
	bool report, fit, plan, post;
	api_error e;
	int worker;

	errno = 0;
	id = strtoll(rest, &end, 10);
	report = strcmp(end, "/report") == 0;
	fit = strcmp(end, "/fit") == 0;
	plan = strcmp(end, "/plan") == 0;
	post = report || fit || plan;
	if (end == rest || id < 0 || errno == ERANGE ||
	    (*end != '\0' && !post) || !isdigit((unsigned char)rest[0])) {
		api_error_set(&e, 404, NULL, "no such path");
		api_send_error(res, &e);
		return;
	}
	if ((post && req->method != HTTP_POST) ||
	    (!post && req->method == HTTP_POST)) {
		res->status = 405;
		api_error_set(&e, 405, NULL, "method not allowed");
		api_send_error(res, &e);
		return;
	}
	worker = daemon_client_worker(d, id);
	/* An id of an earlier run or a client that left: 404 first, so that
	 * the client knows to register again. */
	if (!live_id(d, worker)) {
		api_fail(
		        res, VGMO_ERR_NOT_FOUND, NULL,
		        "no such client (its lease may have expired): register "
		        "again");
		return;
	}
	/* Reading one client is open as the list is; acting for it needs
	 * its secret or the operator's token. */
	if (req->method == HTTP_GET || req->method == HTTP_HEAD) {
		if (!daemon_client_secret_ok(
		            d, worker,
		            http_request_header(req, CLIENT_SECRET_HEADER)) &&
		    !api_authorized_read(d, req, res))
			return;
	} else if (!client_authorized(d, req, worker, res)) {
		return;
	}
	if (report) {
		on_report(d, worker, req, res);
	} else if (fit) {
		api_on_client_fit(d, worker, req, res);
	} else if (plan) {
		api_on_client_plan(d, worker, req, res);
	} else if (req->method == HTTP_DELETE) {
		vgmo_snapshot *s;
		bool known = false;

		if (vgmo_engine_snapshot_ex(daemon_engine(d), 0, &s) ==
		    VGMO_OK) {
			known = find_client(s, worker) != NULL;
			vgmo_snapshot_free(s);
		}
		if (!known || vgmo_engine_worker_remove(daemon_engine(d),
		                                        worker) != VGMO_OK) {
			api_fail(res, VGMO_ERR_NOT_FOUND, NULL,
			         "no such client");
			return;
		}
		daemon_log_info(d, "client left", "id=%lld peer=%s", id,
		                req->peer);
		res->status = 204;
	} else {
		api_clients_send(d, worker, 200, NULL, res);
	}
}
