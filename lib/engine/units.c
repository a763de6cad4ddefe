/*
 * units.c - the unit calls: a tokens worker that reports a batch's prompt
 * tokens as one number (vgmo_engine_report_units), its budget in tokens,
 * and a worker made a tokens worker of a model before it reports. On the
 * same cost model as tokens.c.
 */
#include <math.h>
#include <string.h>

#include "engine_internal.h"
#include "tokens.h"
#include "util.h"
#include "vlm_models.h"

/* Lock held: a worker that reports units is a packed tokens worker whose
 * output tokens are not told apart. */
static void make_units(vgmo_engine *e, vgmo__worker *w, double fixed,
                       double unit)
{
	double prior[VGMO__COST_MAX] = {0};

	(void)e;
	prior[VGMO__X_PROMPT] = unit;
	w->tokens = true;
	w->padding = VGMO_PADDING_PACKED;
	vgmo__cost_init(&w->cost, VGMO__COST_MAX, prior, fixed);
	w->cost_packed = w->cost;
	vgmo__strlcpy(w->unit, "tokens", sizeof(w->unit));
}

static uint64_t unit_budget(const vgmo_engine *e, const vgmo__worker *w)
{
	vgmo__need_in in;
	double room;
	bool packed;

	if (!w->cost.samples &&
	    !(vgmo__cost_prior(&w->cost, VGMO__X_PROMPT) > 0))
		return 0;
	if (!vgmo__worker_room(e, w, &room))
		return 0;
	vgmo__worker_need_in(e, w, &in, &packed);
	return vgmo__max_prompt(&in, true, 0, 0, room);
}

static void fill(const vgmo_engine *e, const vgmo__worker *w,
                 vgmo_unit_decision *out)
{
	bool unit = w->tokens && !w->manual && e->cfg.enabled;

	out->unit_budget = unit ? unit_budget(e, w) : 0;
	out->max_items = unit && out->unit_budget ? (int)vgmo__tokens_cap(e, w)
	                                          : w->batch_size;
}

vgmo_err vgmo_engine_set_unit_prior(vgmo_engine *e, int worker,
                                    uint64_t fixed_bytes, double unit_bytes)
{
	vgmo__worker *w;
	vgmo_err rc = VGMO_OK;

	if (!(unit_bytes > 0) || !isfinite(unit_bytes))
		return VGMO_ERR_INVALID;
	pthread_mutex_lock(&e->lock);
	w = vgmo__worker_get(e, worker);
	if (w == NULL)
		rc = VGMO_ERR_NOT_FOUND;
	else if (w->cost.samples == 0)
		make_units(e, w, (double)fixed_bytes, unit_bytes);
	pthread_mutex_unlock(&e->lock);
	return rc;
}

vgmo_err vgmo_engine_report_units(vgmo_engine *e, int worker,
                                  const vgmo_report *r, uint64_t units,
                                  vgmo_unit_decision *out)
{
	double x[VGMO__COST_MAX] = {0};
	vgmo_decision d;
	vgmo__worker *w;
	uint64_t before;
	vgmo_err rc;

	if (r == NULL || units == 0 || r->items == 0)
		return VGMO_ERR_INVALID;
	x[VGMO__X_ONE] = 1;
	x[VGMO__X_PROMPT] = (double)units;
	x[VGMO__X_REQUESTS] = r->items;
	pthread_mutex_lock(&e->lock);
	w = vgmo__worker_get(e, worker);
	if (w == NULL) {
		rc = VGMO_ERR_NOT_FOUND;
		goto out;
	}
	if (!w->tokens)
		make_units(e, w, 0, 0);
	before = unit_budget(e, w);
	rc = vgmo__worker_take(e, w, r, x, NULL, &d);
	if (out) {
		fill(e, w, out);
		out->cleanup = d.cleanup;
		out->changed = out->unit_budget != before;
	}
out:
	pthread_mutex_unlock(&e->lock);
	return rc;
}

vgmo_err vgmo_engine_unit_decision(vgmo_engine *e, int worker,
                                   vgmo_unit_decision *out)
{
	const vgmo__worker *w;
	vgmo_err rc = VGMO_OK;

	pthread_mutex_lock(&e->lock);
	w = vgmo__worker_get(e, worker);
	if (w == NULL) {
		rc = VGMO_ERR_NOT_FOUND;
	} else if (out) {
		fill(e, w, out);
		out->cleanup = false;
		out->changed = false;
	}
	pthread_mutex_unlock(&e->lock);
	return rc;
}

vgmo_err vgmo_engine_set_worker_model(vgmo_engine *e, int worker,
                                      const vgmo_vlm_model *m,
                                      vgmo_padding padding)
{
	vgmo_worker_spec sp = {.unit = "tokens", .padding = padding};
	vgmo__worker *w;
	vgmo_err rc = VGMO_OK;

	if ((unsigned)padding > VGMO_PADDING_PACKED ||
	    (m && vgmo__model_check(m, NULL, 0) != VGMO_OK))
		return VGMO_ERR_INVALID;
	pthread_mutex_lock(&e->lock);
	w = vgmo__worker_get(e, worker);
	if (w == NULL) {
		rc = VGMO_ERR_NOT_FOUND;
	} else if (w->cost.samples > 0) {
		rc = VGMO_ERR_STATE; /* it learned already */
	} else {
		w->tokens = true;
		w->padding = padding;
		w->has_model = m != NULL;
		if (m)
			w->model = *m;
		vgmo__strlcpy(w->unit, "tokens", sizeof(w->unit));
		vgmo__worker_init_cost(e, w, &sp);
	}
	pthread_mutex_unlock(&e->lock);
	return rc;
}

vgmo_err vgmo_engine_declare_worker(vgmo_engine *e, int worker,
                                    vgmo_attention attention,
                                    vgmo_attention vision_attention,
                                    vgmo_logits logits)
{
	vgmo_worker_spec sp = {.unit = "tokens"};
	vgmo__worker *w;
	vgmo_err rc = VGMO_OK;

	if (!vgmo__declared_ok(attention, vision_attention, logits))
		return VGMO_ERR_INVALID;
	pthread_mutex_lock(&e->lock);
	w = vgmo__worker_get(e, worker);
	if (w == NULL) {
		rc = VGMO_ERR_NOT_FOUND;
	} else if (!w->tokens || w->cost.samples > 0) {
		rc = VGMO_ERR_STATE; /* counts items, or learned already */
	} else {
		sp.padding = w->padding;
		w->attention = attention;
		w->vision_attention = vision_attention;
		w->logits = logits;
		if (w->has_model) /* the prior is the model's */
			vgmo__worker_init_cost(e, w, &sp);
	}
	pthread_mutex_unlock(&e->lock);
	return rc;
}
