/*
 * worker_learn.c - what each batch teaches a worker: its cost model
 * (cost.c), its throughput, its ceiling after an OOM, the history line of
 * a change, and an items worker's next batch size. Registration and the
 * room a worker has are workers.c; a tokens worker's batches tokens.c.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "tokens.h"
#include "util.h"

#define CEILING_RELAX_REPORTS 64
#define RATE_ALPHA 0.3
#define BATCH_S_FADE 0.95 /* the longest batch lately fades by this */
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
	w->doubts = 0;
	if (r->oom) {
		/* A batch no larger than one that ran in as much room says
		 * the room shrank (another process took memory after the
		 * sample), not that the batch costs more: the cost model is
		 * left alone. */
		bool vouched = w->tokens && vgmo__tokens_vouched(w, x, room);

		if (w->tokens) {
			vgmo__ran *o = &w->oomed[w->noom++ % VGMO__RAN_KEPT];

			memcpy(o->x, x, sizeof(o->x));
			o->peak = room;
		}
		if (!vouched) {
			vgmo__cost_oom(&w->cost, x, room);
			if (xp)
				vgmo__cost_oom(&w->cost_packed, xp, room);
		}
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
	w->ran_cost = fmax(w->ran_cost, peak - base);
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

		/* How long a batch runs lately: the longest, fading. */
		w->batch_s = fmax(r->seconds, w->batch_s * BATCH_S_FADE);

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

double vgmo__items_x(double n, double *x)
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

		vgmo__items_x((double)mid, x);
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
		vgmo__items_x(cur, x);
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
		vgmo__items_x(r->items, x);
		rc = vgmo__worker_take(e, w, r, w->tokens ? NULL : x, NULL,
		                       out);
	}
	pthread_mutex_unlock(&e->lock);
	return rc;
}
