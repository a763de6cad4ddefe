/*
 * workers.c - the workers that run models on the GPUs: registration, ids
 * and slots, their room, and a manual batch size. What each batch teaches
 * them is worker_learn.c; a tokens worker's batches are planned in
 * tokens.c.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "util.h"
#include "vlm_models.h"

#define DEFAULT_TOKEN_PRIOR (256.0 * 1024) /* bytes per prompt token */
/* Without a model: an image token costs the encoder this share of a
 * prompt token's cost, a cached token the decode this share (about the
 * planner's proportions for qwen2-vl-7b: 164 and 57 of 221 KiB). */
#define NO_MODEL_VISION 0.8
#define NO_MODEL_CACHE 0.3
/* Balanced's headroom: the others' rise over this many of the worker's
 * batches (a sample, then the batch that the answer sizes). */
#define RISE_BATCHES 2

/* Worker ids are never reused in an engine's life; slots are. The table
 * has a power-of-two size and a worker sits at slot id % size: doubling
 * the table keeps distinct slots distinct, so a lookup is one probe. */
vgmo__worker *vgmo__worker_get(const vgmo_engine *e, int id)
{
	vgmo__worker *w;

	if (id < 0 || e->nworkers == 0)
		return NULL;
	w = e->workers[(size_t)id & (e->nworkers - 1)];
	return w != NULL && w->id == id ? w : NULL;
}

/* Lock held: room for one more worker (the table at most half full). */
static vgmo_err workers_reserve(vgmo_engine *e)
{
	size_t cap = e->nworkers ? e->nworkers * 2 : 8;
	vgmo__worker **t;

	if (e->nlive + 1 <= e->nworkers / 2)
		return VGMO_OK;
	t = calloc(cap, sizeof(*t));
	if (t == NULL)
		return VGMO_ERR_NOMEM;
	for (size_t i = 0; i < e->nworkers; i++)
		if (e->workers[i])
			t[(size_t)e->workers[i]->id & (cap - 1)] =
			        e->workers[i];
	free(e->workers);
	e->workers = t;
	e->nworkers = cap;
	return VGMO_OK;
}

/* Lock held, table reserved: the next unused id whose slot is free. */
static vgmo_err workers_next_id(vgmo_engine *e, int *id)
{
	int n = e->next_id;

	while (e->workers[(size_t)n & (e->nworkers - 1)] != NULL) {
		if (n == INT_MAX)
			return VGMO_ERR_STATE;
		n++;
	}
	if (n == INT_MAX)
		return VGMO_ERR_STATE; /* 2^31 workers in one life */
	*id = n;
	e->next_id = n + 1;
	return VGMO_OK;
}

void vgmo__worker_free(vgmo_engine *e, vgmo__worker *w)
{
	e->workers[(size_t)w->id & (e->nworkers - 1)] = NULL;
	e->nlive--;
	if (w->leased)
		e->nleased--;
	free(w);
}

/* Initial batch size: the seed's 4, inside the configured bounds. */
static int initial_batch(const vgmo_config *c)
{
	int n = 4;

	if (n > c->max_batch_size)
		n = c->max_batch_size;
	if (n < c->min_batch_size)
		n = c->min_batch_size;
	return n;
}

static bool valid_unit(const char *u)
{
	return strcmp(u, "items") == 0 || strcmp(u, "images") == 0 ||
	       strcmp(u, "tokens") == 0;
}

/* What the fit never prices below, for a worker of a known model: the
 * cache, to the byte (a prompt token's keys and values from the prefill
 * on; in a padded batch every request's cache runs to its longest
 * output, and the longest of several runs to max_new_tokens, which a
 * fit of typical stops would price low), and what the declared kernels
 * must build. Sets the padded-or-learned model and its packed twin. */
static void known_costs(vgmo__worker *w, const vgmo__phase_prior *pp)
{
	vgmo__cost_floor(&w->cost, VGMO__PH_VISION, VGMO__X_IMAGE,
	                 pp->vision_window);
	vgmo__cost_floor(&w->cost, VGMO__PH_VISION, VGMO__X_IMAGE2,
	                 pp->vision_image2);
	vgmo__cost_floor(&w->cost, VGMO__PH_PREFILL, VGMO__X_PROMPT,
	                 pp->prefill_logits + pp->kv_token);
	vgmo__cost_floor(&w->cost, VGMO__PH_DECODE, VGMO__X_PROMPT,
	                 pp->kv_token);
	w->cost_packed = w->cost;
	if (w->padding != VGMO_PADDING_PACKED)
		vgmo__cost_floor(&w->cost, VGMO__PH_DECODE, VGMO__X_OUTPUT,
		                 pp->kv_token);
	/* The decoder's attention over L x L: eager's scores always, sdpa's
	 * mask only where sequences are padded. */
	if (w->attention == VGMO_ATTENTION_EAGER)
		vgmo__cost_floor(&w->cost_packed, VGMO__PH_PREFILL,
		                 VGMO__X_QUAD, pp->prefill_quad);
	if (w->attention == VGMO_ATTENTION_EAGER ||
	    (w->attention == VGMO_ATTENTION_SDPA &&
	     w->padding != VGMO_PADDING_PACKED))
		vgmo__cost_floor(&w->cost, VGMO__PH_PREFILL, VGMO__X_QUAD,
		                 pp->prefill_quad);
}

/* The prior: the planner's estimate for a model, else what the spec
 * says, else the engine's default cost per item (or per token). */
void vgmo__worker_init_cost(const vgmo_engine *e, vgmo__worker *w,
                            const vgmo_worker_spec *sp)
{
	double prior[VGMO__COST_MAX] = {0}, fixed = (double)sp->prior_fixed;
	double ph[VGMO__PHASES][VGMO__COST_MAX] = {{0}};
	vgmo__phase_prior pp = {0};
	bool share = true;

	if (!w->tokens) {
		prior[VGMO__X_ITEMS] = sp->prior_per_item > 0
		                               ? sp->prior_per_item
		                               : e->prior_item;
		vgmo__cost_init(&w->cost, 2, prior, fixed);
		return;
	}
	if (w->has_model) {
		vgmo__plan_phase_prior(&w->model, VGMO_DTYPE_BF16, w->attention,
		                       w->vision_attention, w->logits, &pp);
		if (!(fixed > 0))
			fixed = pp.fixed;
		ph[VGMO__PH_VISION][VGMO__X_IMAGE] = pp.vision_image;
		ph[VGMO__PH_PREFILL][VGMO__X_PROMPT] = pp.prefill_token;
		ph[VGMO__PH_PREFILL][VGMO__X_REQUESTS] = pp.prefill_request;
		ph[VGMO__PH_DECODE][VGMO__X_PROMPT] = pp.decode_token;
		ph[VGMO__PH_DECODE][VGMO__X_OUTPUT] = pp.decode_token;
		ph[VGMO__PH_DECODE][VGMO__X_REQUESTS] = pp.decode_request;
		ph[VGMO__PH_PREFILL][VGMO__X_QUAD] = pp.prefill_quad;
		ph[VGMO__PH_VISION][VGMO__X_IMAGE2] = pp.vision_image2;
		/* A declared encoder tells whose square a report of one
		 * request shows. */
		share = w->vision_attention == VGMO_ATTENTION_UNKNOWN;
	} else {
		/* A prompt token at the spec's cost, in the proportions of
		 * the planner's estimate for a 7B VLM: an image token costs
		 * the encoder NO_MODEL_VISION of it, a cached token the
		 * decode NO_MODEL_CACHE. */
		double tok = sp->prior_per_item > 0 ? sp->prior_per_item
		                                    : DEFAULT_TOKEN_PRIOR;

		ph[VGMO__PH_VISION][VGMO__X_IMAGE] = NO_MODEL_VISION * tok;
		ph[VGMO__PH_PREFILL][VGMO__X_PROMPT] = tok;
		ph[VGMO__PH_DECODE][VGMO__X_PROMPT] = NO_MODEL_CACHE * tok;
		ph[VGMO__PH_DECODE][VGMO__X_OUTPUT] = NO_MODEL_CACHE * tok;
	}
	vgmo__cost_init_phases(&w->cost, (const double(*)[VGMO__COST_MAX])ph,
	                       fixed);
	w->cost.share = share;
	known_costs(w, &pp);
}

static vgmo_err check_spec(const vgmo_worker_spec *sp, vgmo_vlm_model *model,
                           bool *has_model)
{
	const char *unit = sp->unit ? sp->unit : "items";
	double weight = sp->weight == 0 ? 1.0 : sp->weight;

	if (sp->name == NULL || sp->name[0] == '\0' || strlen(sp->name) >= 64 ||
	    !valid_unit(unit))
		return VGMO_ERR_INVALID;
	if (!(weight > 0) || !isfinite(weight) || weight > 1e6)
		return VGMO_ERR_INVALID;
	if (!vgmo__declared_ok(sp->attention, sp->vision_attention, sp->logits))
		return VGMO_ERR_INVALID;
	if ((unsigned)sp->padding > VGMO_PADDING_PACKED)
		return VGMO_ERR_INVALID;
	*has_model = false;
	if (sp->model && sp->model[0]) {
		if (vgmo_model_preset_find(sp->model, model) != VGMO_OK)
			return VGMO_ERR_NOT_FOUND;
		*has_model = true;
	}
	return VGMO_OK;
}

vgmo_err vgmo_engine_worker_register(vgmo_engine *e, const vgmo_worker_spec *sp,
                                     int *id_out, bool *existed)
{
	double weight = sp->weight == 0 ? 1.0 : sp->weight;
	vgmo__worker *w;
	int id = 0;
	vgmo_vlm_model model;
	bool has_model;
	vgmo_err rc;

	if (existed)
		*existed = false;
	rc = check_spec(sp, &model, &has_model);
	if (rc != VGMO_OK)
		return rc;
	pthread_mutex_lock(&e->lock);
	if (sp->gpu >= e->ndev) {
		rc = VGMO_ERR_NOT_FOUND;
		goto out;
	}
	for (size_t i = 0; i < e->nworkers; i++) {
		w = e->workers[i];
		if (w && w->gpu == sp->gpu && strcmp(w->name, sp->name) == 0) {
			/* A client never takes over a built-in worker (the
			 * default one, the simulated ones); it may take the
			 * place a saved batch size keeps for its name. */
			if (sp->leased && !w->leased &&
			    (w->id == VGMO_DEFAULT_WORKER || w->simulated)) {
				rc = VGMO_ERR_PERMISSION;
				goto out;
			}
			if (sp->leased && !w->leased) {
				if (e->max_leased &&
				    e->nleased >= e->max_leased) {
					rc = VGMO_ERR_STATE;
					goto out;
				}
				w->leased = true;
				e->nleased++;
			}
			w->weight = weight;
			w->last_seen = vgmo__engine_now(e);
			w->unhealthy = false;
			if (sp->pid)
				w->pid = sp->pid;
			if (id_out)
				*id_out = w->id;
			if (existed)
				*existed = true;
			vgmo__device_budgets(e, w->gpu);
			goto out;
		}
	}
	if (sp->leased && e->max_leased && e->nleased >= e->max_leased) {
		rc = VGMO_ERR_STATE; /* as many clients as allowed */
		goto out;
	}
	rc = workers_reserve(e);
	if (rc == VGMO_OK)
		rc = workers_next_id(e, &id);
	w = rc == VGMO_OK ? calloc(1, sizeof(*w)) : NULL;
	if (w == NULL) {
		rc = rc ? rc : VGMO_ERR_NOMEM;
		goto out;
	}
	w->id = id;
	vgmo__strlcpy(w->name, sp->name, sizeof(w->name));
	vgmo__strlcpy(w->unit, sp->unit ? sp->unit : "items", sizeof(w->unit));
	w->gpu = sp->gpu;
	w->weight = weight;
	w->leased = sp->leased;
	w->pid = sp->pid;
	w->last_seen = w->first_seen = vgmo__engine_now(e);
	w->share = -1;
	w->items_per_s = -1;
	w->batch_size = initial_batch(&e->cfg);
	w->tokens = strcmp(w->unit, "tokens") == 0;
	w->padding = sp->padding;
	w->attention = sp->attention;
	w->vision_attention = sp->vision_attention;
	w->logits = sp->logits;
	w->has_model = has_model;
	if (has_model)
		w->model = model;
	vgmo__overhead_init(&w->overhead);
	vgmo__worker_init_cost(e, w, sp);
	e->workers[(size_t)id & (e->nworkers - 1)] = w;
	e->nlive++;
	e->nleased += w->leased;
	if (id_out)
		*id_out = w->id;
	/* A newcomer shrinks the others' shares: they hear it in their
	 * next report. */
	vgmo__device_budgets(e, w->gpu);
	vgmo__worker_update(e, w);
out:
	pthread_mutex_unlock(&e->lock);
	return rc;
}

vgmo_err vgmo_engine_worker_add(vgmo_engine *e, const char *name, unsigned gpu,
                                double weight, int *id_out)
{
	vgmo_worker_spec sp = {
	        .name = name,
	        .gpu = gpu,
	        .weight = weight > 0 && isfinite(weight) ? weight : 1.0,
	};

	return vgmo_engine_worker_register(e, &sp, id_out, NULL);
}

vgmo_err vgmo_engine_worker_remove(vgmo_engine *e, int id)
{
	vgmo_err rc = VGMO_OK;

	pthread_mutex_lock(&e->lock);
	if (id == VGMO_DEFAULT_WORKER) {
		rc = VGMO_ERR_INVALID;
	} else if (vgmo__worker_get(e, id) == NULL) {
		rc = VGMO_ERR_NOT_FOUND;
	} else {
		vgmo__worker *w = vgmo__worker_get(e, id);
		unsigned dev = w->gpu;

		vgmo__worker_free(e, w);
		vgmo__device_budgets(e, dev);
	}
	pthread_mutex_unlock(&e->lock);
	return rc;
}

bool vgmo__worker_budgets(const vgmo_engine *e, const vgmo__worker *w,
                          double *critical, double *oom)
{
	(void)e;
	if (!w->has_budget)
		return false;
	*critical = w->budget;
	*oom = w->budget_oom;
	return true;
}

bool vgmo__worker_room(const vgmo_engine *e, const vgmo__worker *w,
                       double *room)
{
	double keep, to_oom, reserve, rise;

	if (!vgmo__worker_budgets(e, w, &keep, &to_oom))
		return false;
	switch (vgmo__strategy(e->cfg.strategy)->reserve) {
	case VGMO__RESERVE_ALWAYS:
		*room = keep;
		break;
	case VGMO__RESERVE_RISE:
		/* The part of the reserve the others' recent rise calls
		 * for (the worker's share of it, as keep has). */
		reserve = (double)e->cfg.memory_reserve_mb * VGMO__MIB;
		rise = vgmo__others_rise(
		        &e->others[w->gpu], vgmo__engine_now(e),
		        w->batch_s > 0 ? RISE_BATCHES * w->batch_s : INFINITY);
		*room = reserve > 0 && rise < reserve
		                ? to_oom - (to_oom - keep) * rise / reserve
		                : keep;
		/* What its allocator already holds no other process can
		 * take: the headroom is for memory it has yet to get. */
		if ((double)w->last_reserved > *room)
			*room = fmin((double)w->last_reserved, to_oom);
		break;
	case VGMO__RESERVE_NEVER:
	default:
		*room = to_oom;
		break;
	}
	return true;
}

/* A tokens worker of unknown padding follows the packed model once that
 * one predicts clearly better (its errors spread less). */
static const vgmo__cost *active_cost(const vgmo__worker *w)
{
	const vgmo__cost *a = &w->cost, *b = &w->cost_packed;

	if (w->tokens && w->padding == VGMO_PADDING_UNKNOWN &&
	    b->samples >= 8 && a->samples >= 8 && b->lr_var < 0.5 * a->lr_var &&
	    b->lr_max < a->lr_max)
		return b;
	return a;
}

void vgmo__worker_need_in(const vgmo_engine *e, const vgmo__worker *w,
                          vgmo__need_in *in, bool *packed)
{
	in->cost = active_cost(w);
	in->factor =
	        vgmo__cost_factor(in->cost, vgmo__strategy_z(e->cfg.strategy));
	in->overhead = &w->overhead;
	if (packed)
		*packed = vgmo__worker_packed(w);
}

bool vgmo__worker_packed(const vgmo__worker *w)
{
	return w->tokens && (w->padding == VGMO_PADDING_PACKED ||
	                     active_cost(w) == &w->cost_packed);
}

int vgmo_engine_batch_size(const vgmo_engine *e, int id)
{
	const vgmo__worker *w;
	int n;

	pthread_mutex_lock((pthread_mutex_t *)&e->lock);
	w = vgmo__worker_get(e, id);
	n = w ? w->batch_size : -1;
	pthread_mutex_unlock((pthread_mutex_t *)&e->lock);
	return n;
}

vgmo_err vgmo_engine_set_batch_size(vgmo_engine *e, int id, int size, char *err,
                                    size_t errlen)
{
	vgmo__worker *w;
	vgmo_err rc = VGMO_OK;
	int old;

	pthread_mutex_lock(&e->lock);
	w = vgmo__worker_get(e, id);
	if (w == NULL) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_NOT_FOUND,
		                "no worker with id %d", id);
		goto out;
	}
	if (size != 0 &&
	    (size < e->cfg.min_batch_size || size > e->cfg.max_batch_size)) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                "batch size %d is outside [%d, %d] "
		                "(min_batch_size, max_batch_size)",
		                size, e->cfg.min_batch_size,
		                e->cfg.max_batch_size);
		goto out;
	}
	old = w->batch_size;
	w->manual = size;
	if (size) {
		w->batch_size = size;
		w->since_change = 0;
	} else if (w->tokens) {
		w->batch_size = initial_batch(&e->cfg);
	} else {
		vgmo__worker_update(e, w);
	}
	if (w->batch_size != old) {
		e->counters.batch_size_changes++;
		vgmo__worker_record(e, w, old, VGMO_ACTION_MANUAL,
		                    size ? "set by an operator"
		                         : "override cleared by an operator");
	}
out:
	pthread_mutex_unlock(&e->lock);
	return rc;
}
