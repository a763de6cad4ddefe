/*
 * api_clients.c - the worker protocol (docs/clients.md): registration,
 * batch reports, leases, listing and leaving, under /v1/clients.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_util.h"

#define MAX_ITEMS 1000000
#define MAX_SECONDS 86400.0

/* ------------------------------------------------------------- reading */

/* An optional integer field in [lo, hi]; *present false when absent. */
static vgmo_err get_int(json_t *o, const char *key, json_int_t lo,
                        json_int_t hi, json_int_t *out, bool *present,
                        api_error *e)
{
	json_t *v = json_object_get(o, key);

	*present = v != NULL && !json_is_null(v);
	if (!*present)
		return VGMO_OK;
	if (!json_is_integer(v))
		return api_error_set(e, 400, key,
		                     "key \"%s\": expected an integer", key);
	if (json_integer_value(v) < lo || json_integer_value(v) > hi)
		return api_error_set(e, 400, key,
		                     "key \"%s\": %lld is outside [%lld, %lld]",
		                     key, (long long)json_integer_value(v),
		                     (long long)lo, (long long)hi);
	*out = json_integer_value(v);
	return VGMO_OK;
}

/* Refuses keys not in `allowed` (NULL-terminated). */
static vgmo_err only_keys(json_t *o, const char *const *allowed, api_error *e)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v)
	{
		size_t i = 0;

		(void)v;
		while (allowed[i] && strcmp(allowed[i], key) != 0)
			i++;
		if (allowed[i] == NULL)
			return api_error_set(e, 400, key, "unknown key \"%s\"",
			                     key);
	}
	return VGMO_OK;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '_' &&
		    *s != '-')
			return false;
	return true;
}

/* The device a registration names: an index or a UUID. */
static vgmo_err find_gpu(const vgmo_snapshot *s, json_t *v, unsigned *gpu,
                         api_error *e)
{
	size_t n = vgmo_snapshot_gpu_count(s);

	if (v == NULL || json_is_null(v)) {
		*gpu = 0;
		return VGMO_OK;
	}
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0 ||
		    (size_t)json_integer_value(v) >= n)
			return api_error_set(e, 400, "gpu",
			                     "key \"gpu\": no GPU %lld (this "
			                     "node has %zu)",
			                     (long long)json_integer_value(v),
			                     n);
		*gpu = (unsigned)json_integer_value(v);
		return VGMO_OK;
	}
	if (json_is_string(v)) {
		for (size_t i = 0; i < n; i++)
			if (strcmp(vgmo_snapshot_gpu(s, i)->uuid,
			           json_string_value(v)) == 0) {
				*gpu = (unsigned)i;
				return VGMO_OK;
			}
		return api_error_set(e, 400, "gpu",
		                     "key \"gpu\": no GPU with UUID \"%s\"",
		                     json_string_value(v));
	}
	return api_error_set(e, 400, "gpu",
	                     "key \"gpu\": expected an index or a UUID string");
}

/* ------------------------------------------------------------- writing */

static json_t *opt_real(bool known, double v)
{
	return known ? json_real(v) : json_null();
}

static json_t *client_json(const vgmo_snapshot *s, const vgmo_worker_view *w,
                           double lease)
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
	json_object_set_new(o, "id", json_integer(w->id));
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
	                    w->share >= 0
	                            ? json_integer((json_int_t)w->budget_bytes)
	                            : json_null());
	json_object_set_new(o, "share", opt_real(w->share >= 0, w->share));
	json_object_set_new(o, "fragmentation",
	                    opt_real(w->has_fragmentation, w->fragmentation));
	json_object_set_new(o, "reports", json_integer((json_int_t)w->reports));
	json_object_set_new(o, "ooms", json_integer((json_int_t)w->ooms));
	json_object_set_new(o, "throughput_items_per_s",
	                    opt_real(w->throughput >= 0, w->throughput));
	json_object_set_new(
	        o, "last_report_seconds_ago",
	        opt_real(w->last_report_age >= 0, w->last_report_age));
	json_object_set_new(o, "lease_seconds", json_real(lease));
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
                        http_response *res)
{
	vgmo_snapshot *s;
	const vgmo_worker_view *w;

	if (vgmo_engine_snapshot(daemon_engine(d), &s) != VGMO_OK) {
		api_fail(res, VGMO_ERR_NOMEM, NULL, NULL);
		return;
	}
	w = find_client(s, id);
	if (w == NULL)
		api_fail(res, VGMO_ERR_NOT_FOUND, NULL, "no such client");
	else
		api_send_json(res, status, client_json(s, w, daemon_lease(d)));
	vgmo_snapshot_free(s);
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
	static const char *const keys[] = {"name",  "gpu",  "weight",
	                                   "model", "unit", NULL};
	vgmo_worker_spec sp = {0};
	vgmo_snapshot *s = NULL;
	json_t *o = NULL, *v;
	api_error e;
	double token_bytes = 0;
	bool existed = false;
	int id;
	vgmo_err rc;

	if (api_parse_object(req->body, req->body_len, &o, &e) != VGMO_OK ||
	    only_keys(o, keys, &e) != VGMO_OK)
		goto refuse;
	if (vgmo_engine_snapshot(daemon_engine(d), &s) != VGMO_OK) {
		api_fail(res, VGMO_ERR_NOMEM, NULL, NULL);
		goto out;
	}
	v = json_object_get(o, "name");
	if (!json_is_string(v) || !valid_name(json_string_value(v))) {
		api_error_set(&e, 400, "name",
		              "key \"name\": expected 1 to 63 characters of "
		              "A-Z a-z 0-9 . _ -");
		goto refuse;
	}
	sp.name = json_string_value(v);
	if (find_gpu(s, json_object_get(o, "gpu"), &sp.gpu, &e) != VGMO_OK)
		goto refuse;
	v = json_object_get(o, "weight");
	if (v && !json_is_null(v)) {
		if (!json_is_number(v) || !(json_number_value(v) > 0) ||
		    json_number_value(v) > 1e6) {
			api_error_set(&e, 400, "weight",
			              "key \"weight\": expected a number in "
			              "(0, 1000000]");
			goto refuse;
		}
		sp.weight = json_number_value(v);
	}
	v = json_object_get(o, "unit");
	sp.unit = "items";
	if (v && !json_is_null(v)) {
		if (!json_is_string(v) ||
		    (strcmp(json_string_value(v), "items") != 0 &&
		     strcmp(json_string_value(v), "images") != 0 &&
		     strcmp(json_string_value(v), "tokens") != 0)) {
			api_error_set(&e, 400, "unit",
			              "key \"unit\": expected \"items\", "
			              "\"images\" or \"tokens\"");
			goto refuse;
		}
		sp.unit = json_string_value(v);
	}
	v = json_object_get(o, "model");
	if (v && !json_is_null(v)) {
		if (!json_is_string(v)) {
			api_error_set(&e, 400, "model",
			              "key \"model\": expected a preset name");
			goto refuse;
		}
		if (model_prior(d, json_string_value(v), sp.unit,
		                vgmo_snapshot_gpu(s, sp.gpu)->memory_total, &sp,
		                &token_bytes, &e) != VGMO_OK)
			goto refuse;
	}
	sp.leased = true;
	rc = vgmo_engine_worker_register(daemon_engine(d), &sp, &id, &existed);
	if (rc != VGMO_OK) {
		api_fail(res, rc, NULL, "cannot register the client");
		goto out;
	}
	if (token_bytes > 0 && strcmp(sp.unit, "tokens") == 0 && !existed)
		vgmo_engine_set_unit_prior(daemon_engine(d), id, sp.prior_fixed,
		                           token_bytes);
	daemon_log_info(d, existed ? "client resumed" : "client registered",
	                "id=%d gpu=%u peer=%s", id, sp.gpu, req->peer);
	send_client(d, id, existed ? 200 : 201, res);
	goto out;
refuse:
	api_send_error(res, &e);
out:
	vgmo_snapshot_free(s);
	json_decref(o);
}

/* -------------------------------------------------------------- report */

static void on_report(vgmo_daemon *d, int id, const http_request *req,
                      http_response *res)
{
	static const char *const keys[] = {
	        "items",          "peak_bytes", "allocated_bytes",
	        "reserved_bytes", "seconds",    "oom",
	        "freed_bytes",    "units",      NULL};
	vgmo_engine *eng = daemon_engine(d);
	vgmo_report r = {0};
	vgmo_decision dec = {0};
	vgmo_unit_decision ud = {0};
	vgmo_snapshot *s = NULL;
	const vgmo_worker_view *w;
	json_int_t items = 0, peak = 0, alloc = 0, resv = 0, freed = 0,
	           units = 0;
	bool has_items, has_peak, has_alloc, has_resv, has_freed, has_units;
	json_t *o = NULL, *v, *ans;
	json_int_t total;
	api_error e;
	vgmo_err rc;

	if (api_parse_object(req->body, req->body_len, &o, &e) != VGMO_OK ||
	    only_keys(o, keys, &e) != VGMO_OK)
		goto refuse;
	if (vgmo_engine_snapshot(eng, &s) != VGMO_OK) {
		api_fail(res, VGMO_ERR_NOMEM, NULL, NULL);
		goto out;
	}
	w = find_client(s, id);
	if (w == NULL) {
		api_fail(res, VGMO_ERR_NOT_FOUND, NULL,
		         "no such client (its lease may have expired): "
		         "register again");
		goto out;
	}
	/* Nothing a GPU could not hold is believed. */
	total = (json_int_t)vgmo_snapshot_gpu(s, w->gpu)->memory_total;
	if (total <= 0)
		total = INT64_MAX;
	v = json_object_get(o, "oom");
	if (v && !json_is_boolean(v)) {
		api_error_set(&e, 400, "oom",
		              "key \"oom\": expected true or "
		              "false");
		goto refuse;
	}
	r.oom = v && json_is_true(v);
	if (get_int(o, "items", 1, MAX_ITEMS, &items, &has_items, &e) ||
	    get_int(o, "peak_bytes", 1, total, &peak, &has_peak, &e) ||
	    get_int(o, "allocated_bytes", 0, total, &alloc, &has_alloc, &e) ||
	    get_int(o, "reserved_bytes", 0, total, &resv, &has_resv, &e) ||
	    get_int(o, "freed_bytes", 0, total, &freed, &has_freed, &e) ||
	    get_int(o, "units", 1, INT64_MAX / 2, &units, &has_units, &e))
		goto refuse;
	if (!has_items) {
		api_error_set(&e, 400, "items", "key \"items\": required");
		goto refuse;
	}
	if (!has_peak && !r.oom) {
		api_error_set(&e, 400, "peak_bytes",
		              "key \"peak_bytes\": required unless \"oom\" is "
		              "true");
		goto refuse;
	}
	if (has_alloc && has_resv && alloc > resv) {
		api_error_set(&e, 400, "allocated_bytes",
		              "key \"allocated_bytes\": more than "
		              "\"reserved_bytes\"");
		goto refuse;
	}
	v = json_object_get(o, "seconds");
	if (v && !json_is_null(v)) {
		if (!json_is_number(v) || !(json_number_value(v) >= 0) ||
		    json_number_value(v) > MAX_SECONDS) {
			api_error_set(&e, 400, "seconds",
			              "key \"seconds\": expected a number in "
			              "[0, 86400]");
			goto refuse;
		}
		r.seconds = json_number_value(v);
	}
	r.items = (uint32_t)items;
	r.peak_bytes = (uint64_t)peak;
	r.allocated_bytes = (uint64_t)alloc;
	r.reserved_bytes = (uint64_t)resv;
	r.freed_bytes = (uint64_t)freed;
	if (has_units)
		rc = vgmo_engine_report_units(eng, id, &r, (uint64_t)units,
		                              &ud);
	else
		rc = vgmo_engine_report(eng, id, &r, &dec);
	if (rc != VGMO_OK) {
		api_fail(res, rc, NULL, "report refused");
		goto out;
	}
	vgmo_snapshot_free(s);
	s = NULL;
	if (vgmo_engine_snapshot(eng, &s) != VGMO_OK ||
	    (w = find_client(s, id)) == NULL) {
		api_fail(res, VGMO_ERR_NOT_FOUND, NULL, "no such client");
		goto out;
	}
	ans = json_object();
	json_object_set_new(ans, "batch_size", json_integer(w->batch_size));
	json_object_set_new(ans, "cleanup",
	                    json_boolean(has_units ? ud.cleanup : dec.cleanup));
	json_object_set_new(ans, "budget_bytes",
	                    w->share >= 0
	                            ? json_integer((json_int_t)w->budget_bytes)
	                            : json_null());
	json_object_set_new(ans, "share", opt_real(w->share >= 0, w->share));
	json_object_set_new(ans, "lease_seconds", json_real(daemon_lease(d)));
	if (has_units) {
		json_object_set_new(
		        ans, "unit_budget",
		        ud.unit_budget
		                ? json_integer((json_int_t)ud.unit_budget)
		                : json_null());
		json_object_set_new(ans, "max_items",
		                    json_integer(ud.max_items));
	}
	api_send_json(res, 200, ans);
	goto out;
refuse:
	api_send_error(res, &e);
out:
	vgmo_snapshot_free(s);
	json_decref(o);
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
	if (vgmo_engine_snapshot(daemon_engine(d), &s) != VGMO_OK) {
		api_fail(res, VGMO_ERR_NOMEM, NULL, NULL);
		return;
	}
	list = json_array();
	for (size_t i = 0; i < vgmo_snapshot_worker_count(s); i++) {
		const vgmo_worker_view *w = vgmo_snapshot_worker(s, i);

		if (w->leased)
			json_array_append_new(
			        list, client_json(s, w, daemon_lease(d)));
	}
	api_send_json(res, 200, json_pack("{s:o}", "clients", list));
	vgmo_snapshot_free(s);
}

/* "/v1/clients/{id}" or "/v1/clients/{id}/report". */
void api_on_client(void *ctx, const http_request *req, http_response *res)
{
	vgmo_daemon *d = ctx;
	const char *rest = req->path + strlen("/v1/clients/");
	char *end;
	long id = strtol(rest, &end, 10);
	bool report = strcmp(end, "/report") == 0;
	api_error e;

	if (end == rest || id < 0 || id > 1000000000L ||
	    (*end != '\0' && !report) || !isdigit((unsigned char)rest[0])) {
		api_error_set(&e, 404, NULL, "no such path");
		api_send_error(res, &e);
		return;
	}
	if ((report && req->method != HTTP_POST) ||
	    (!report && req->method == HTTP_POST)) {
		res->status = 405;
		api_error_set(&e, 405, NULL, "method not allowed");
		api_send_error(res, &e);
		return;
	}
	if (!api_authorized(d, req, res))
		return;
	if (report) {
		on_report(d, (int)id, req, res);
	} else if (req->method == HTTP_DELETE) {
		vgmo_snapshot *s;
		bool known = false;

		if (vgmo_engine_snapshot(daemon_engine(d), &s) == VGMO_OK) {
			known = find_client(s, (int)id) != NULL;
			vgmo_snapshot_free(s);
		}
		if (!known || vgmo_engine_worker_remove(daemon_engine(d),
		                                        (int)id) != VGMO_OK) {
			api_fail(res, VGMO_ERR_NOT_FOUND, NULL,
			         "no such client");
			return;
		}
		daemon_log_info(d, "client left", "id=%ld peer=%s", id,
		                req->peer);
		res->status = 204;
	} else {
		send_client(d, (int)id, 200, res);
	}
}
