/*
 * worker_json.c - a worker as JSON (worker_json.h): GET /v1/status's
 * "workers" entries and the client endpoints. A value the view marks
 * unknown is null, never 0.
 */
#include <jansson.h>

#include "json_values.h"
#include "worker_json.h"

static json_t *model_json(const vgmo_model_view *m)
{
	json_t *o = json_object();
	int rc = 0;

	rc |= json_object_set_new(o, "fitted", json_boolean(m->fitted));
	rc |= json_object_set_new(o, "samples", json_integer(m->samples));
	rc |= json_object_set_new(o, "fixed_bytes",
	                          vgmo__json_num(m->fixed_bytes));
	rc |= json_object_set_new(o, "item_bytes",
	                          vgmo__json_num(m->item_bytes));
	rc |= json_object_set_new(o, "sigma_bytes",
	                          vgmo__json_num(m->sigma_bytes));
	rc |= json_object_set_new(
	        o, "ceiling", vgmo__json_opt_int(m->ceiling > 0, m->ceiling));
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int vgmo__worker_budget_json(json_t *o, const vgmo_worker_view *w)
{
	int rc = 0;

	rc |= json_object_set_new(
	        o, "budget_bytes",
	        w->has_budget ? vgmo__json_u64(w->budget_bytes) : json_null());
	rc |= json_object_set_new(o, "share",
	                          w->has_budget ? vgmo__json_num(w->share)
	                                        : json_null());
	return rc ? -1 : 0;
}

/* A name a tokens worker declared, or null where it did not (vgmo
 * learns it). */
static json_t *declared(bool known, const char *name)
{
	return known ? json_string(name) : json_null();
}

/* What a tokens worker declared of how it runs its model. */
static int declared_json(json_t *o, const vgmo_worker_view *w)
{
	int rc = 0;

	rc |= json_object_set_new(o, "padding",
	                          declared(w->padding != VGMO_PADDING_UNKNOWN,
	                                   vgmo_padding_name(w->padding)));
	rc |= json_object_set_new(
	        o, "attention",
	        declared(w->attention != VGMO_ATTENTION_UNKNOWN,
	                 vgmo_attention_name(w->attention)));
	rc |= json_object_set_new(
	        o, "vision_attention",
	        declared(w->vision_attention != VGMO_ATTENTION_UNKNOWN,
	                 vgmo_attention_name(w->vision_attention)));
	rc |= json_object_set_new(o, "logits",
	                          declared(w->logits != VGMO_LOGITS_UNKNOWN,
	                                   vgmo_logits_name(w->logits)));
	return rc ? -1 : 0;
}

json_t *vgmo__worker_json(const vgmo_worker_view *w)
{
	json_t *o = json_object();
	int rc = 0;

	if (o == NULL)
		return NULL;
	rc |= json_object_set_new(o, "id", json_integer(w->id));
	rc |= json_object_set_new(o, "name", vgmo__json_text(w->name));
	rc |= json_object_set_new(o, "gpu", json_integer(w->gpu));
	rc |= json_object_set_new(o, "weight", vgmo__json_num(w->weight));
	rc |= json_object_set_new(o, "unit", vgmo__json_text(w->unit));
	rc |= json_object_set_new(o, "batch_size", json_integer(w->batch_size));
	/* 0 until the worker is first planned: unknown, not 0. */
	rc |= json_object_set_new(o, "optimal_batch_size",
	                          vgmo__json_opt_int(w->optimal_batch_size > 0,
	                                             w->optimal_batch_size));
	rc |= json_object_set_new(o, "manual_batch_size",
	                          vgmo__json_opt_int(w->manual_batch_size != 0,
	                                             w->manual_batch_size));
	rc |= vgmo__worker_budget_json(o, w);
	rc |= json_object_set_new(o, "fragmentation",
	                          w->has_fragmentation
	                                  ? vgmo__json_num(w->fragmentation)
	                                  : json_null());
	rc |= json_object_set_new(o, "reports", vgmo__json_u64(w->reports));
	rc |= json_object_set_new(o, "ooms", vgmo__json_u64(w->ooms));
	rc |= json_object_set_new(o, "throughput_items_per_s",
	                          w->throughput >= 0.0
	                                  ? vgmo__json_num(w->throughput)
	                                  : json_null());
	rc |= json_object_set_new(o, "last_report_seconds_ago",
	                          w->last_report_age >= 0.0
	                                  ? vgmo__json_num(w->last_report_age)
	                                  : json_null());
	rc |= json_object_set_new(o, "model", model_json(&w->model));
	rc |= declared_json(o, w);
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}
