/*
 * workers.c - the workers that run models on the GPUs: registration, their
 * room, what each batch teaches their cost model (cost.c), and an items
 * worker's batch size. A tokens worker's batches are planned in tokens.c.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "util.h"
#include "vlm_models.h"

#define CEILING_RELAX_REPORTS 64
#define RATE_ALPHA 0.3
#define DEFAULT_TOKEN_PRIOR (256.0 * 1024) /* bytes per prompt token */

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

/* The prior: the planner's estimate for a model, else what the spec
 * says, else the engine's default cost per item (or per token). */
void vgmo__worker_init_cost(const vgmo_engine *e, vgmo__worker *w,
                            const vgmo_worker_spec *sp)
{
	double prior[VGMO__COST_MAX] = {0}, fixed = (double)sp->prior_fixed;

	if (!w->tokens) {
		prior[VGMO__X_ITEMS] = sp->prior_per_item > 0
		                               ? sp->prior_per_item
		                               : e->prior_item;
		vgmo__cost_init(&w->cost, 2, prior, fixed);
		return;
	}
	if (w->has_model) {
		double f;

		vgmo__plan_token_prior(&w->model, VGMO_DTYPE_BF16, &f, prior);
		if (!(fixed > 0))
			fixed = f;
	} else {
		prior[VGMO__X_PROMPT] = sp->prior_per_item > 0
		                                ? sp->prior_per_item
		                                : DEFAULT_TOKEN_PRIOR;
		prior[VGMO__X_OUTPUT] = 0.25 * prior[VGMO__X_PROMPT];
	}
	vgmo__cost_init(&w->cost, VGMO__COST_MAX, prior, fixed);
	w->cost_packed = w->cost;
}

const char *vgmo_padding_name(vgmo_padding p)
{
	switch (p) {
	case VGMO_PADDING_PADDED:
		return "padded";
	case VGMO_PADDING_PACKED:
		return "packed";
	case VGMO_PADDING_UNKNOWN:
	default:
		return "unknown";
	}
}

vgmo_err vgmo_padding_parse(const char *name, vgmo_padding *out)
{
	static const vgmo_padding all[] = {
	        VGMO_PADDING_UNKNOWN, VGMO_PADDING_PADDED, VGMO_PADDING_PACKED};

	for (size_t i = 0; name && i < VGMO__ARRAY_LEN(all); i++)
		if (strcmp(name, vgmo_padding_name(all[i])) == 0) {
			*out = all[i];
			return VGMO_OK;
		}
	return VGMO_ERR_INVALID;
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
	double keep, to_oom;

	if (!vgmo__worker_budgets(e, w, &keep, &to_oom))
		return false;
	switch (vgmo__strategy(e->cfg.strategy)->reserve) {
	case VGMO__RESERVE_ALWAYS:
		*room = keep;
		break;
	case VGMO__RESERVE_SHARED:
		*room = e->unattributed[w->gpu] != UINT64_MAX &&
		                        (double)e->unattributed[w->gpu] >
		                                VGMO__OTHERS_BYTES
		                ? keep
		                : to_oom;
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
	in->z = vgmo__strategy_z(e->cfg.strategy);
	in->overhead = &w->overhead;
	if (packed)
		*packed = w->tokens && (w->padding == VGMO_PADDING_PACKED ||
		                        in->cost == &w->cost_packed);
}

/* ------------------------------------------------------------ learning */

static void forget_floors(vgmo__worker *w)
{
	w->fitted_n = 0;
	w->fitted_peak = 0;
	w->nran = 0;
}

void vgmo__worker_learn(vgmo_engine *e, vgmo__worker *w, const vgmo_report *r,
                        const double *x, const double *xp, double room)
{
	double base, held, peak = (double)r->peak_bytes;
	unsigned shifts = w->cost.shifts;

	(void)e;
	if (r->oom) {
		if (w->tokens) {
			vgmo__ran *o = &w->oomed[w->noom++ % VGMO__RAN_KEPT];

			memcpy(o->x, x, sizeof(o->x));
			o->peak = room;
		}
		vgmo__cost_oom(&w->cost, x, room);
		if (xp)
			vgmo__cost_oom(&w->cost_packed, xp, room);
		/* The allocator emptied its cache to retry. */
		w->peak_since_clean = 0;
		w->ran_max = (int)(r->items / 2);
		/* What ran still ran: a tokens worker keeps that evidence;
		 * an items worker's floor (sizes, not shapes) goes. */
		w->fitted_n = 0;
		w->fitted_peak = 0;
		vgmo__levels_reset(&w->levels);
		return;
	}
	vgmo__cost_add(&w->cost, x, peak, (double)r->allocated_bytes);
	if (xp)
		vgmo__cost_add(&w->cost_packed, xp, peak,
		               (double)r->allocated_bytes);
	base = vgmo__cost_base(&w->cost);
	/* The allocator's overhead: what it reserves beyond the largest peak
	 * since its cache was last emptied (a reserve that shrank says it
	 * was). */
	w->peak_since_clean = fmax(w->peak_since_clean, peak);
	if (r->reserved_bytes && w->peak_since_clean > base)
		vgmo__overhead_add(&w->overhead, w->peak_since_clean - base,
		                   (double)r->reserved_bytes -
		                           w->peak_since_clean);
	if (r->seconds > 0) {
		double v = r->items / r->seconds;

		w->items_per_s =
		        w->items_per_s < 0
		                ? v
		                : w->items_per_s +
		                          RATE_ALPHA * (v - w->items_per_s);
		/* Adaptive compares levels by work done per second (real
		 * tokens for a tokens worker): the requests each level
		 * happened to get differ. */
		vgmo__levels_add(&w->levels,
		                 w->batch_work > 0 ? w->batch_work : r->items,
		                 r->seconds);
	}
	if (w->cost.shifts != shifts) {
		/* The workload changed: earlier batches prove nothing. */
		forget_floors(w);
		vgmo__levels_reset(&w->levels);
		return;
	}
	if ((int)r->items > w->ran_max)
		w->ran_max = (int)r->items;
	/* The floor: the largest size that ran, and the most memory it
	 * held (its reserve when reported: what the allocator really got). */
	held = r->reserved_bytes
	               ? fmax((double)r->reserved_bytes, peak)
	               : base + vgmo__with_overhead(&w->overhead, peak - base);
	if ((int)r->items > w->fitted_n) {
		w->fitted_n = (int)r->items;
		w->fitted_peak = held;
	} else if ((int)r->items == w->fitted_n) {
		w->fitted_peak = fmax(w->fitted_peak, held);
	}
	if (w->tokens) {
		vgmo__ran *k = &w->ran[w->nran % VGMO__RAN_KEPT];

		memcpy(k->x, x, sizeof(k->x));
		k->peak = held;
		w->nran++;
	}
}

/* ------------------------------------------------- an items worker's size */

static double items_x(double n, double *x)
{
	memset(x, 0, VGMO__COST_MAX * sizeof(*x));
	x[0] = 1;
	x[VGMO__X_ITEMS] = n;
	return n;
}

/* Largest n in [1, limit] whose need fits `room`; 0 when none. 64-bit
 * bisection: limit may be INT_MAX. */
static int largest_items(const vgmo__need_in *in, double room, int limit)
{
	long long lo = 0, hi = limit > 0 ? limit : 0;
	double x[VGMO__COST_MAX];

	while (lo < hi) {
		long long mid = lo + (hi - lo + 1) / 2;

		items_x((double)mid, x);
		if (vgmo__need(in, x) <= room)
			lo = mid;
		else
			hi = mid - 1;
	}
	return (int)lo;
}

static int clamp(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* The strategy's target in `room`: never above an OOM ceiling, never
 * below the largest batch that ran while it still fits as it did. */
static int items_target(const vgmo_engine *e, const vgmo__worker *w,
                        double room)
{
	const vgmo_config *c = &e->cfg;
	vgmo__need_in in;
	int t;

	vgmo__worker_need_in(e, w, &in, NULL);
	if (vgmo__strategy(c->strategy)->adaptive)
		room = vgmo__cost_base(in.cost) +
		       (room - vgmo__cost_base(in.cost)) *
		               vgmo__levels_now(&w->levels)->fill;
	t = largest_items(&in, room, c->max_batch_size);
	if (w->fitted_n > t && w->fitted_peak > 0 && w->fitted_peak <= room)
		t = w->fitted_n; /* it ran, and still would */
	if (w->ceiling > 0 && t >= w->ceiling)
		t = w->ceiling - 1;
	/* Climbing in steps: at most half again the largest size that ran
	 * since the last OOM, so that the margin is learned on the way. */
	if (w->ran_max > 0 && t > w->ran_max + (w->ran_max + 1) / 2)
		t = w->ran_max + (w->ran_max + 1) / 2;
	return clamp(t, c->min_batch_size, c->max_batch_size);
}

bool vgmo__worker_update(vgmo_engine *e, vgmo__worker *w)
{
	const vgmo_config *c = &e->cfg;
	vgmo__need_in in;
	double room, x[VGMO__COST_MAX];
	int full, low, next, cur = w->batch_size;

	if (!vgmo__worker_room(e, w, &room))
		return false;
	full = items_target(e, w, room);
	w->optimal = full;
	if (w->manual) {
		next = w->manual;
	} else if (!c->enabled || w->tokens) {
		return false;
	} else if (cur < c->min_batch_size || cur > c->max_batch_size) {
		next = full;
	} else if (cur > full) {
		int band = cur / 10 > 2 ? cur / 10 : 2;

		/* Unsafe now, at the OOM ceiling, or clearly too big: shrink
		 * at once. A one-step wobble is left alone. */
		vgmo__worker_need_in(e, w, &in, NULL);
		items_x(cur, x);
		next = vgmo__need(&in, x) > room ||
		                       (w->ceiling > 0 && cur >= w->ceiling) ||
		                       cur - full >= band
		               ? full
		               : cur;
	} else {
		/* Climbing, it grows to what fits; once it had to shrink, only
		 * to what also fits a slightly smaller room, after the
		 * cool-down: hysteresis against a margin that wobbles. */
		int band;
		unsigned wait;

		/* After a shrink, a small step back up waits out the
		 * cool-down (the margin wobbles); a clearly larger size does
		 * not. */
		low = items_target(e, w,
		                   w->shrank ? room * VGMO__GROW_ROOM : room);
		band = cur / 10 > 2 ? cur / 10 : 2;
		wait = w->shrank && low - cur < band ? VGMO__REGROW_COOLDOWN
		                                     : VGMO__GROW_COOLDOWN;
		next = cur < low && w->since_change >= wait ? low : cur;
	}
	if (next == cur)
		return false;
	w->shrank = next < cur;
	w->batch_size = next;
	w->since_change = 0;
	e->counters.batch_size_changes++;
	return true;
}

/* A client's reports may add at most HISTORY_BURST history entries at
 * once and HISTORY_RATE a second after that (a token bucket): a flood of
 * reports cannot flood the history, nor the disk behind it. Built-in
 * workers are not limited. */
#define HISTORY_BURST 20.0
#define HISTORY_RATE 2.0

static bool history_allowed(vgmo_engine *e, vgmo__worker *w)
{
	double now = vgmo__engine_now(e);

	if (!w->leased)
		return true;
	if (!w->hist_started || now < w->hist_at)
		w->hist_tokens = HISTORY_BURST;
	else
		w->hist_tokens = fmin(HISTORY_BURST,
		                      w->hist_tokens + (now - w->hist_at) *
		                                               HISTORY_RATE);
	w->hist_started = true;
	w->hist_at = now;
	if (w->hist_tokens < 1.0)
		return false;
	w->hist_tokens -= 1.0;
	return true;
}

void vgmo__worker_record(vgmo_engine *e, vgmo__worker *w, int old,
                         const char *action, const char *reason)
{
	vgmo_result r = {0};

	if (!history_allowed(e, w))
		return;
	r.success = true;
	snprintf(r.action_taken, sizeof(r.action_taken), "%s", action);
	r.memory_freed_mb = -1;
	r.new_batch_size = w->batch_size;
	r.old_batch_size = old;
	r.timestamp = vgmo__engine_wall(e);
	vgmo__strlcpy(r.worker, w->name, sizeof(r.worker));
	vgmo__strlcpy(r.reason, reason, sizeof(r.reason));
	vgmo__engine_record(e, &r);
}

/* The cleanup it released, as the worker reports it: counted at once, in
 * the history when the rate allows (what was held back goes with the next
 * entry). */
static void record_freed(vgmo_engine *e, vgmo__worker *w, uint64_t freed)
{
	vgmo_result fr = {0};

	e->counters.freed_bytes += freed;
	w->freed_unrecorded += freed;
	if (!history_allowed(e, w))
		return;
	freed = w->freed_unrecorded;
	w->freed_unrecorded = 0;
	fr.success = true;
	snprintf(fr.action_taken, sizeof(fr.action_taken), "%s",
	         VGMO_ACTION_MEMORY_CLEANUP);
	fr.memory_freed_mb = (double)freed / (double)VGMO__MIB;
	fr.gc_performed = true;
	fr.timestamp = vgmo__engine_wall(e);
	vgmo__strlcpy(fr.worker, w->name, sizeof(fr.worker));
	snprintf(fr.reason, sizeof(fr.reason),
	         "worker cleanup: %.0f MiB freed (reported)",
	         fr.memory_freed_mb);
	vgmo__engine_record(e, &fr);
}

/* Lock held: what every report carries, whatever the worker counts. */
static void take_report(vgmo_engine *e, vgmo__worker *w, const vgmo_report *r)
{
	w->reports++;
	w->last_seen = vgmo__engine_now(e);
	w->unhealthy = false;
	if (r->freed_bytes)
		record_freed(e, w, r->freed_bytes);
	if (r->reserved_bytes) {
		double was = (double)w->last_reserved;

		/* A caching allocator gives memory back only when its cache
		 * is emptied. */
		if (r->reserved_bytes < w->last_reserved)
			w->peak_since_clean = 0;
		w->last_reserved = r->reserved_bytes;
		/* The device was sampled with this worker's cache in it: when
		 * what it holds moved, what is "unattributed" moved too. */
		if (fabs((double)r->reserved_bytes - was) > 0.02 * was)
			vgmo__device_budgets(e, w->gpu);
	}
	if (r->allocated_bytes)
		w->last_allocated = r->allocated_bytes;
	if (r->reserved_bytes && r->allocated_bytes &&
	    r->allocated_bytes <= r->reserved_bytes) {
		/* The share of the reserve that its largest batch since the
		 * cache was emptied did not use: not the cache it keeps for
		 * the next batch, which is no waste. */
		double used =
		        fmax((double)r->allocated_bytes,
		             fmax(w->peak_since_clean, (double)r->peak_bytes));

		w->has_frag = true;
		w->frag = 1.0 - fmin(1.0, used / (double)r->reserved_bytes);
	}
}

vgmo_err vgmo__worker_take(vgmo_engine *e, vgmo__worker *w,
                           const vgmo_report *r, const double *x,
                           const double *xp, vgmo_decision *out)
{
	const vgmo_gpu_sample *s = &e->samples[w->gpu];
	int old = w->batch_size;
	double room = 0;
	char why[VGMO_REASON_MAX];

	vgmo__worker_room(e, w, &room);
	if (r->oom && e->sampled && (s->present & VGMO_HAS_MEMORY))
		/* What it physically had: the device less what others held
		 * (its share is a plan, not a wall). */
		room = fmax(
		        room,
		        (double)s->memory_total -
		                fmax(0.0, (double)s->memory_used -
		                                  (double)w->last_reserved));
	take_report(e, w, r);
	if (r->oom) {
		int half = (int)(r->items / 2);

		w->ooms++;
		w->cleanup_wanted = true;
		w->clean_since_oom = 0;
		if (!w->tokens &&
		    (w->ceiling == 0 || (int)r->items < w->ceiling))
			w->ceiling = (int)r->items;
		if (x)
			vgmo__worker_learn(e, w, r, x, xp, room);
		/* Its demand fell: the others may grow into what it leaves. */
		vgmo__device_budgets(e, w->gpu);
		if (half < e->cfg.min_batch_size)
			half = e->cfg.min_batch_size;
		if (!w->tokens && e->cfg.enabled && !w->manual &&
		    half < w->batch_size) {
			w->batch_size = half;
			w->since_change = 0;
			e->counters.batch_size_changes++;
			snprintf(why, sizeof(why),
			         "out of memory at %u items: halved", r->items);
			vgmo__worker_record(e, w, old, VGMO_ACTION_OOM_BACKOFF,
			                    why);
		}
	} else {
		if (x)
			vgmo__worker_learn(e, w, r, x, xp, room);
		/* What it can use follows from what it just learned. */
		vgmo__device_budgets(e, w->gpu);
		if (w->ceiling > 0 &&
		    ++w->clean_since_oom >= CEILING_RELAX_REPORTS) {
			w->ceiling++;
			w->clean_since_oom = 0;
		}
		w->since_change++;
		if (vgmo__worker_update(e, w)) {
			snprintf(why, sizeof(why),
			         "learned model: %d -> %d items", old,
			         w->batch_size);
			vgmo__worker_record(e, w, old, VGMO_ACTION_BATCH, why);
		}
	}
	if (out) {
		out->batch_size = w->batch_size;
		out->changed = w->batch_size != old;
		out->cleanup = w->cleanup_wanted;
	}
	w->cleanup_wanted = false;
	return VGMO_OK;
}

vgmo_err vgmo_engine_report(vgmo_engine *e, int id, const vgmo_report *r,
                            vgmo_decision *out)
{
	double x[VGMO__COST_MAX];
	vgmo__worker *w;
	vgmo_err rc;

	if (r == NULL || r->items == 0)
		return VGMO_ERR_INVALID;
	pthread_mutex_lock(&e->lock);
	w = vgmo__worker_get(e, id);
	if (w == NULL) {
		rc = VGMO_ERR_NOT_FOUND;
	} else {
		/* An items report of a tokens worker teaches its overhead and
		 * throughput, not its token costs. */
		items_x(r->items, x);
		rc = vgmo__worker_take(e, w, r, w->tokens ? NULL : x, NULL,
		                       out);
	}
	pthread_mutex_unlock(&e->lock);
	return rc;
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
