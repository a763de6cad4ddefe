/*
 * api_fit.c - a worker's questions before it runs (docs/clients.md):
 * POST /v1/clients/{id}/fit (does this one request fit, and what would)
 * and POST /v1/clients/{id}/plan (how many requests from the head of my
 * queue to run next). Request shapes: request_parse.h.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_util.h"
#include "client_fit.h"
#include "request_parse.h"

/* The worker's model when it registered one (NULL otherwise); false, with
 * 404 sent, when it is no leased client. */
static bool worker_of(vgmo_engine *eng, int id, vgmo_worker_view *w,
                      vgmo_vlm_model *m, const vgmo_vlm_model **model,
                      http_response *res)
{
	if (!api_leased_view(eng, id, w, NULL, res))
		return false;
	*model = vgmo_engine_worker_model(eng, id, m) == VGMO_OK ? m : NULL;
	return true;
}

static json_t *bytes_or_null(bool known, uint64_t v)
{
	return known ? json_integer((json_int_t)v) : json_null();
}

static json_t *api_fit_json(const vgmo_fit *f, const vgmo_worker_view *w)
{
	/* Nothing known against the request: no room to compare with. */
	bool room = f->room_bytes > 0 || f->verdict != VGMO_FIT_OK;
	bool tokens = strcmp(w->unit, "tokens") == 0 && room;
	json_t *o = json_object();

	json_object_set_new(o, "verdict",
	                    json_string(vgmo_fit_verdict_name(f->verdict)));
	json_object_set_new(o, "fits", json_boolean(f->verdict == VGMO_FIT_OK));
	json_object_set_new(o, "need_bytes",
	                    json_integer((json_int_t)f->need_bytes));
	json_object_set_new(o, "room_bytes",
	                    bytes_or_null(room, f->room_bytes));
	json_object_set_new(o, "max_prompt_tokens",
	                    bytes_or_null(tokens, f->max_prompt_tokens));
	json_object_set_new(o, "max_image_tokens",
	                    bytes_or_null(tokens, f->max_image_tokens));
	json_object_set_new(o, "max_pixels",
	                    bytes_or_null(f->max_pixels > 0, f->max_pixels));
	json_object_set_new(o, "reason", vgmo__json_text(f->reason));
	return o;
}

void api_on_client_fit(vgmo_daemon *d, int id, const http_request *req,
                       http_response *res)
{
	vgmo_engine *eng = daemon_engine(d);
	const vgmo_vlm_model *model;
	vgmo_request_shape r;
	vgmo_worker_view w;
	vgmo_vlm_model m;
	vgmo_fit f;
	json_t *o = NULL, *ans;
	api_error e;
	vgmo_err rc;

	if (!worker_of(eng, id, &w, &m, &model, res))
		return;
	if (api_parse_object(req->body, req->body_len, &o, &e) != VGMO_OK ||
	    request_parse_one(o, "request", model, &r, &e) != VGMO_OK) {
		api_send_error(res, &e);
		goto out;
	}
	rc = vgmo_engine_fit(eng, id, &r, &f);
	if (rc != VGMO_OK) {
		api_fail(res, rc, NULL, "cannot judge the request");
		goto out;
	}
	ans = api_fit_json(&f, &w);
	json_object_set_new(ans, "request", vgmo__client_shape_json(&r));
	api_send_json(res, 200, ans);
out:
	json_decref(o);
}

void api_on_client_plan(vgmo_daemon *d, int id, const http_request *req,
                        http_response *res)
{
	static const char *const keys[] = {"requests", NULL};
	vgmo_engine *eng = daemon_engine(d);
	const vgmo_vlm_model *model;
	vgmo_request_shape *q = NULL;
	vgmo_worker_view w;
	vgmo_batch_plan p;
	vgmo_vlm_model m;
	json_t *o = NULL, *ans;
	const char *key;
	json_t *v;
	api_error e;
	size_t n = 0;
	vgmo_err rc;

	if (!worker_of(eng, id, &w, &m, &model, res))
		return;
	if (api_parse_object(req->body, req->body_len, &o, &e) != VGMO_OK)
		goto refuse;
	json_object_foreach(o, key, v)
	{
		(void)v;
		if (strcmp(key, keys[0]) != 0) {
			api_error_set(&e, 400, key, "unknown key \"%.64s\"",
			              key);
			goto refuse;
		}
	}
	if (request_parse_list(json_object_get(o, "requests"), "requests",
	                       model, &q, &n, &e) != VGMO_OK)
		goto refuse;
	rc = vgmo_engine_plan_batch(eng, id, q, n, &p);
	if (rc != VGMO_OK) {
		api_fail(res, rc, NULL, "cannot plan the batch");
		goto out;
	}
	ans = json_object();
	json_object_set_new(ans, "take", json_integer((json_int_t)p.take));
	json_object_set_new(
	        ans, "need_bytes",
	        bytes_or_null(p.take > 0 && p.room_bytes > 0, p.need_bytes));
	json_object_set_new(ans, "room_bytes",
	                    bytes_or_null(p.room_bytes > 0, p.room_bytes));
	json_object_set_new(ans, "cleanup", json_boolean(p.cleanup));
	json_object_set_new(ans, "head", api_fit_json(&p.head, &w));
	api_send_json(res, 200, ans);
	goto out;
refuse:
	api_send_error(res, &e);
out:
	free(q);
	json_decref(o);
}
