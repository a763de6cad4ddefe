/*
 * units.c - batch sizing by cost unit: the unit strategy (units.h) and the
 * engine calls vgmo_engine_set_unit_prior, vgmo_engine_report_units and
 * vgmo_engine_unit_decision.
 */
#include "units.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine_internal.h"
#include "policy.h"
#include "util.h"

#define UNIT_LIMIT (1 << 30)   /* largest budget searched, units */
#define COOLDOWN_REPORTS 3     /* reports after a change before growing */
#define UNIT_GROW_BUDGET 0.985 /* growth hysteresis (finer than items) */
#define DEAD_BAND 0.10         /* a shrink smaller than this waits */
#define CEILING_MARGIN 0.95    /* budgets stay this far under an OOM */
#define CEILING_RELAX_REPORTS 32
#define CEILING_RELAX 1.05
#define LEVEL_REPORTS 3       /* adaptive: reports measured per level */
#define LEVEL_TOLERANCE 0.005 /* adaptive: a level may be this much slower */
#define RATE_ALPHA 0.3

void vgmo__units_init(vgmo__units *u, double prior_fixed, double prior_unit)
{
	memset(u, 0, sizeof(*u));
	u->active = true;
	vgmo__model_init(&u->model, prior_unit > 0 ? prior_unit : 0);
	vgmo__model_set_prior_fixed(&u->model, prior_fixed);
	u->model.pin_base = true;
}

static bool knows_cost(const vgmo__units *u)
{
	return u->model.samples > 0 || u->model.prior_item > 0;
}

void vgmo__units_add(vgmo__units *u, double units, double peak, double base,
                     double seconds)
{
	int l = u->level;

	if (!(units >= 1) || !(peak > 0))
		return;
	if (units > UINT32_MAX)
		units = UINT32_MAX;
	vgmo__model_add(&u->model, (uint32_t)units, peak, base);
	u->since_change++;
	if (u->ceiling > 0 && ++u->clean_since_oom >= CEILING_RELAX_REPORTS) {
		u->ceiling *= CEILING_RELAX;
		u->clean_since_oom = 0;
	}
	if (seconds > 0) {
		double v = units / seconds;

		u->rate[l] =
		        u->rate_n[l]
		                ? u->rate[l] + RATE_ALPHA * (v - u->rate[l])
		                : v;
		u->rate_n[l]++;
	}
}

void vgmo__units_oom(vgmo__units *u, double units)
{
	if (!(units >= 1))
		return;
	if (u->ceiling <= 0 || units < u->ceiling)
		u->ceiling = units;
	u->clean_since_oom = 0;
	u->since_change = 0;
	if (u->budget <= 0 || u->budget > units / 2)
		u->budget = floor(units / 2);
	if (u->budget < 1)
		u->budget = 1;
	/* An adaptive climb stops one level lower. */
	if (u->level > 0)
		u->level--;
	u->best = u->level;
	u->settled = true;
}

static double largest(const vgmo__units *u, double budget)
{
	return budget > 0 ? vgmo__largest_fit(&u->model, budget, UNIT_LIMIT)
	                  : 0;
}

double vgmo__units_target(const vgmo__units *u, const vgmo__units_in *in,
                          double scale)
{
	double bal = largest(u, in->budget_critical * scale);
	double cap = fmax(bal, largest(u, in->budget_oom * scale));
	double t;

	switch (in->cfg->strategy) {
	case VGMO_STRATEGY_CONSERVATIVE:
		t = floor(0.7 * bal);
		break;
	case VGMO_STRATEGY_AGGRESSIVE:
		t = fmin(floor(1.2 * bal), cap);
		break;
	case VGMO_STRATEGY_ADAPTIVE:
		t = floor(bal +
		          (cap - bal) * u->level / (VGMO__UNIT_LEVELS - 1));
		break;
	case VGMO_STRATEGY_BALANCED:
	default:
		t = bal;
		break;
	}
	if (u->ceiling > 0 && t >= CEILING_MARGIN * u->ceiling)
		t = floor(CEILING_MARGIN * u->ceiling);
	return t < 1 ? 1 : t;
}

/* Adaptive: once a level has been measured, climb while the units/s holds
 * up; otherwise go back to the best level and stay. */
static void adapt(vgmo__units *u)
{
	int l = u->level;

	if (u->settled || u->rate_n[l] < LEVEL_REPORTS)
		return;
	if (l == 0 || u->rate[l] >= u->rate[u->best] * (1 - LEVEL_TOLERANCE))
		u->best = l;
	if (u->best == l && l + 1 < VGMO__UNIT_LEVELS) {
		u->level = l + 1;
		u->rate_n[l + 1] = 0;
	} else {
		u->level = u->best;
		u->settled = true;
	}
}

bool vgmo__units_update(vgmo__units *u, const vgmo__units_in *in)
{
	const vgmo_config *c = in->cfg;
	double cur = u->budget, full, low, next = cur;

	if (!knows_cost(u))
		return false;
	if (c->strategy == VGMO_STRATEGY_ADAPTIVE)
		adapt(u);
	full = vgmo__units_target(u, in, 1.0);
	low = vgmo__units_target(u, in, UNIT_GROW_BUDGET);
	if (cur <= 0) {
		next = full;
	} else if (cur > full) {
		bool wide = c->strategy == VGMO_STRATEGY_AGGRESSIVE ||
		            c->strategy == VGMO_STRATEGY_ADAPTIVE;
		double limit = wide ? in->budget_oom : in->budget_critical;
		double need = vgmo__model_predict(&u->model, cur) +
		              vgmo__model_margin(&u->model, cur);

		if (need > limit ||
		    (u->ceiling > 0 && cur >= CEILING_MARGIN * u->ceiling) ||
		    cur - full >= DEAD_BAND * cur)
			next = full;
	} else if (cur < low && u->since_change >= COOLDOWN_REPORTS) {
		next = low;
	}
	if (next == cur)
		return false;
	u->budget = next;
	u->since_change = 0;
	return true;
}

/* ----------------------------------------------------------- the engine */

/* Lock held. */
static bool update_worker(vgmo_engine *e, vgmo__worker *w)
{
	vgmo__units_in in = {.cfg = &e->cfg};

	if (!e->cfg.enabled || w->manual)
		return false;
	/* The report just changed what the worker holds: what the others hold
	 * (used minus every worker's reserved bytes) follows from it. */
	vgmo__device_budgets(e, w->gpu);
	if (!vgmo__worker_budgets(e, w, &in.budget_critical, &in.budget_oom))
		return false;
	return vgmo__units_update(&w->units, &in);
}

/* Lock held. */
static void fill(const vgmo_engine *e, const vgmo__worker *w,
                 vgmo_unit_decision *out)
{
	bool unit = w->units.active && w->units.budget > 0 && !w->manual &&
	            e->cfg.enabled;

	out->unit_budget = unit ? (uint64_t)w->units.budget : 0;
	out->max_items = unit ? e->cfg.max_batch_size : w->batch_size;
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
	if (w == NULL) {
		rc = VGMO_ERR_NOT_FOUND;
	} else if (!w->units.active || w->units.model.samples == 0) {
		vgmo__units_init(&w->units, (double)fixed_bytes, unit_bytes);
		update_worker(e, w);
	}
	pthread_mutex_unlock(&e->lock);
	return rc;
}

vgmo_err vgmo_engine_report_units(vgmo_engine *e, int worker,
                                  const vgmo_report *r, uint64_t units,
                                  vgmo_unit_decision *out)
{
	vgmo_decision d;
	vgmo__worker *w;
	vgmo_err rc;
	double old;
	bool changed;

	if (r == NULL || units == 0)
		return VGMO_ERR_INVALID;
	rc = vgmo_engine_report(e, worker, r, &d);
	if (rc != VGMO_OK)
		return rc;
	pthread_mutex_lock(&e->lock);
	w = vgmo__worker_get(e, worker);
	if (w == NULL) {
		rc = VGMO_ERR_NOT_FOUND;
		goto out;
	}
	if (!w->units.active)
		vgmo__units_init(&w->units, 0, 0);
	old = w->units.budget;
	if (r->oom)
		vgmo__units_oom(&w->units, (double)units);
	else
		vgmo__units_add(&w->units, (double)units, (double)r->peak_bytes,
		                (double)r->allocated_bytes, r->seconds);
	update_worker(e, w);
	changed = w->units.budget != old;
	if (changed && old > 0) {
		vgmo_result h = {0};

		h.success = true;
		snprintf(h.action_taken, sizeof(h.action_taken), "%s",
		         r->oom ? VGMO_ACTION_OOM_BACKOFF : VGMO_ACTION_BATCH);
		h.memory_freed_mb = -1;
		h.timestamp = vgmo__engine_wall(e);
		vgmo__strlcpy(h.worker, w->name, sizeof(h.worker));
		snprintf(h.reason, sizeof(h.reason),
		         "%s: budget %.0f -> %.0f units",
		         r->oom ? "out of memory" : "learned model", old,
		         w->units.budget);
		vgmo__engine_record(e, &h);
	}
	if (out) {
		fill(e, w, out);
		out->cleanup = d.cleanup;
		out->changed = changed;
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
