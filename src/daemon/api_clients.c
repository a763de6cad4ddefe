/*
 * api_clients.c - the worker protocol (docs/clients.md): registration,
 * batch reports, leases, listing and leaving, under /v1/clients.
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
#include "api_util.h"
#include "api_clients_parse.h"
#include "client_secret.h"

/* ------------------------------------------------------------- reading */

/* The device a registration names: an index or a UUID. */
static vgmo_err find_gpu(const vgmo_snapshot *s, const client_registration *c,
                         unsigned *gpu, api_error *e)
{
	size_t n = vgmo_snapshot_gpu_count(s);

	if (c->gpu_by_uuid) {
		for (size_t i = 0; i < n; i++)
			if (strcmp(vgmo_snapshot_gpu(s, i)->uuid,
			           c->gpu_uuid) == 0) {
				*gpu = (unsigned)i;
				return VGMO_OK;
			}
		return api_error_set(e, 400, "gpu",
		                     "key \"gpu\": no GPU with UUID \"%s\"",
		                     c->gpu_uuid);
	}
	if (c->gpu_index < 0 || (unsigned long long)c->gpu_index >= n)
		return api_error_set(e, 400, "gpu",
		                     "key \"gpu\": no GPU %lld (this node has "
		                     "%zu)",
		                     c->gpu_index, n);
	*gpu = (unsigned)c->gpu_index;
	return VGMO_OK;
}

/* ------------------------------------------------------------- writing */

static json_t *opt_real(bool known, double v)
{
	return known ? json_real(v) : json_null();
}

static json_t *client_json(vgmo_daemon *d, const vgmo_snapshot *s,
                           const vgmo_worker_view *w)
{
	const vgmo_gpu_sample *g = vgmo_snapshot_gpu(s, w->gpu);
	json_t *o = json_object(), *m = json_object();

	json_object_set_new(m, "fitted", json_boolean(w->model.fitted));
	json_object_set_new(m, "samples", json_integer(w->model.samples));
	json_object_set_new(m, "fixed_bytes", json_real(w->model.fixed_bytes));
	json_object_set_new(m, "item_bytes", json_real(w->model.item_bytes));
	json_object_set_new(m, "sigma_bytes", json_real(w->model.sigma_bytes));
	json_object_set_new(m, "ceiling",
	                    w->model.ceiling ? json_integer(w->model.ceiling)
	                                     : json_null());
	json_object_set_new(
	        o, "id", json_integer((json_int_t)daemon_client_id(d, w->id)));
	json_object_set_new(o, "name", api_text(w->name));
	json_object_set_new(o, "gpu", json_integer(w->gpu));
	json_object_set_new(o, "uuid", g ? api_text(g->uuid) : json_null());
	json_object_set_new(o, "weight", json_real(w->weight));
	json_object_set_new(o, "unit", json_string(w->unit));
	json_object_set_new(o, "state",
	                    json_string(w->healthy ? "healthy" : "unhealthy"));
	json_object_set_new(o, "batch_size", json_integer(w->batch_size));
	json_object_set_new(o, "optimal_batch_size",
	                    json_integer(w->optimal_batch_size));
	json_object_set_new(o, "manual_batch_size",
	                    w->manual_batch_size
	                            ? json_integer(w->manual_batch_size)
	                            : json_null());
	json_object_set_new(o, "budget_bytes",
	                    w->has_budget
	                            ? json_integer((json_int_t)w->budget_bytes)
	                            : json_null());
	json_object_set_new(o, "share", opt_real(w->has_budget, w->share));
	json_object_set_new(o, "fragmentation",
	                    opt_real(w->has_fragmentation, w->fragmentation));
	json_object_set_new(o, "reports", json_integer((json_int_t)w->reports));
	json_object_set_new(o, "ooms", json_integer((json_int_t)w->ooms));
	json_object_set_new(o, "throughput_items_per_s",
	                    opt_real(w->throughput >= 0, w->throughput));
	json_object_set_new(
	        o, "last_report_seconds_ago",
	        opt_real(w->last_report_age >= 0, w->last_report_age));
	json_object_set_new(o, "lease_seconds", json_real(daemon_lease(d)));
	json_object_set_new(o, "model", m);
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

static void send_client(vgmo_daemon *d, int id, unsigned status,
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
	else {
		o = client_json(d, s, w);
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

/* The client of that name on that GPU that reports within its lease, or
 * -1: a worker that crashed may take its name back after one lease. */
static int live_client(const vgmo_snapshot *s, const char *name, unsigned gpu)
{
	for (size_t i = 0; i < vgmo_snapshot_worker_count(s); i++) {
		const vgmo_worker_view *w = vgmo_snapshot_worker(s, i);

		if (w->leased && w->healthy && w->gpu == gpu &&
		    strcmp(w->name, name) == 0)
			return w->id;
	}
	return -1;
}

/* ------------------------------------------------------------ register */

/* The preset's plan, as the client's prior. */
static vgmo_err model_prior(vgmo_daemon *d, const char *model, const char *unit,
                            uint64_t total, vgmo_worker_spec *sp,
                            double *token_bytes, api_error *e)
{
	vgmo_vlm_model m;
	vgmo_plan_request req;
	vgmo_plan plan;
	vgmo_config cfg;
	char err[256];

	if (vgmo_model_preset_find(model, &m) != VGMO_OK)
		return api_error_set(e, 400, "model",
		                     "key \"model\": unknown preset \"%s\" "
		                     "(vgmo plan --help lists them)",
		                     model);
	vgmo_engine_get_config(daemon_engine(d), &cfg);
	vgmo_plan_request_init(&req);
	if (vgmo_plan_compute(&m, &req, total, &cfg, &plan, err, sizeof(err)) !=
	    VGMO_OK)
		return api_error_set(e, 400, "model", "key \"model\": %s", err);
	sp->prior_fixed = plan.fixed_bytes;
	*token_bytes = plan.token_bytes;
	sp->prior_per_item = strcmp(unit, "tokens") == 0
	                             ? plan.token_bytes
	                             : (double)plan.request_bytes;
	return VGMO_OK;
}

static void on_register(vgmo_daemon *d, const http_request *req,
                        http_response *res)
{
	client_registration c;
	vgmo_worker_spec sp = {0};
	vgmo_snapshot *s = NULL;
	api_error e;
	double token_bytes = 0;
	bool existed = false;
	char secret[CLIENT_SECRET_LEN + 1];
	int id;
	vgmo_err rc;

	if (api_clients_parse_registration(req->body, req->body_len, &c, &e) !=
	    VGMO_OK)
		goto refuse;
	if (vgmo_engine_snapshot_ex(daemon_engine(d), 0, &s) != VGMO_OK) {
		api_fail(res, VGMO_ERR_NOMEM, NULL, NULL);
		goto out;
	}
	sp.name = c.name;
	sp.weight = c.weight;
	sp.unit = c.unit;
	if (find_gpu(s, &c, &sp.gpu, &e) != VGMO_OK)
		goto refuse;
	if (c.model[0] != '\0' &&
	    model_prior(d, c.model, sp.unit,
	                vgmo_snapshot_gpu(s, sp.gpu)->memory_total, &sp,
	                &token_bytes, &e) != VGMO_OK)
		goto refuse;
	if (sp.weight > daemon_max_client_weight(d)) {
		api_error_set(&e, 400, "weight",
		              "key \"weight\": %g is above the daemon's "
		              "max_client_weight (%g)",
		              sp.weight, daemon_max_client_weight(d));
		goto refuse;
	}
	/* A live client's name is taken: only it (its secret) or the
	 * operator may register it again. */
	id = live_client(s, sp.name, sp.gpu);
	if (id >= 0 &&
	    !daemon_operator_ok(d, http_request_header(req, "Authorization")) &&
	    !daemon_client_secret_ok(
	            d, id, http_request_header(req, CLIENT_SECRET_HEADER))) {
		api_error_set(&e, 409, "name",
		              "key \"name\": a live client is registered as "
		              "\"%s\" on GPU %u; registering it again needs "
		              "its secret (header '" CLIENT_SECRET_HEADER "')",
		              sp.name, sp.gpu);
		goto refuse;
	}
	sp.leased = true;
	sp.padding = c.padding;
	sp.pid = c.pid;
	/* A tokens worker of a preset: the engine's own prior for each
	 * token kind, and its image sizes counted with the model. */
	if (strcmp(sp.unit, "tokens") == 0 && c.model[0] != '\0')
		sp.model = c.model;
	rc = vgmo_engine_worker_register(daemon_engine(d), &sp, &id, &existed);
	if (rc == VGMO_ERR_PERMISSION) {
		api_error_set(&e, 409, "name",
		              "key \"name\": \"%s\" is a built-in worker's "
		              "name on GPU %u",
		              sp.name, sp.gpu);
		goto refuse;
	}
	if (rc == VGMO_ERR_STATE) {
		api_error_set(&e, 429, NULL,
		              "too many clients: this daemon takes at most its "
		              "--max-clients; try again when one leaves");
		goto refuse;
	}
	if (rc != VGMO_OK) {
		api_fail(res, rc, NULL, "cannot register the client");
		goto out;
	}
	daemon_client_secret(d, id, secret);
	if (!existed)
		daemon_client_added(d, id, sp.name, sp.gpu);
	if (token_bytes > 0 && strcmp(sp.unit, "tokens") == 0 && !existed &&
	    sp.model == NULL)
		vgmo_engine_set_unit_prior(daemon_engine(d), id, sp.prior_fixed,
		                           token_bytes);
	daemon_log_info(d, existed ? "client resumed" : "client registered",
	                "id=%" PRId64 " gpu=%u peer=%s",
	                daemon_client_id(d, id), sp.gpu, req->peer);
	send_client(d, id, existed ? 200 : 201, secret, res);
	goto out;
refuse:
	api_send_error(res, &e);
out:
	vgmo_snapshot_free(s);
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
	json_object_set_new(ans, "budget_bytes",
	                    w.has_budget
	                            ? json_integer((json_int_t)w.budget_bytes)
	                            : json_null());
	json_object_set_new(ans, "share", opt_real(w.has_budget, w.share));
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
			on_register(d, req, res);
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
		send_client(d, worker, 200, NULL, res);
	}
}
