/*
 * policy.c - the four strategies, the dead band and the cool-down.
 */
#include "policy.h"

#include <math.h>

#define THROUGHPUT_ALPHA 0.3
/* Reports to wait after a change before growing again. */
#define COOLDOWN_REPORTS 4
/* An adaptive climb must beat the best smaller size by this much. */
#define ADAPTIVE_GAIN 0.02

void vgmo__throughput_add(vgmo__throughput *t, uint32_t items, double seconds)
{
	double v;

	if (items == 0 || items > VGMO__THROUGHPUT_SLOTS || !(seconds > 0))
		return;
	v = items / seconds;
	if (t->items_per_s[items] <= 0)
		t->items_per_s[items] = v;
	else
		t->items_per_s[items] +=
		        THROUGHPUT_ALPHA * (v - t->items_per_s[items]);
}

int vgmo__largest_fit(const vgmo__model *m, double budget, int limit)
{
	int lo = 0, hi = limit;

	/* predict + margin grows with n, so bisect. */
	while (lo < hi) {
		int mid = lo + (hi - lo + 1) / 2;
		double need = vgmo__model_predict(m, mid) +
		              vgmo__model_margin(m, mid);

		if (need <= budget)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

static int clamp(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Adaptive: from the balanced size, climb one step at a time while the
 * measured throughput keeps improving and the next size is OOM-safe; settle
 * on the best measured size once it stops improving. */
static int adaptive_target(const vgmo__policy_in *in, int balanced, int cap)
{
	const vgmo__throughput *t = in->throughput;
	int best = 0, cur = in->current;
	double best_v = 0;

	if (t == NULL)
		return balanced;
	for (int n = 1; n <= cap && n <= VGMO__THROUGHPUT_SLOTS; n++) {
		if (t->items_per_s[n] > best_v * (1 + ADAPTIVE_GAIN)) {
			best_v = t->items_per_s[n];
			best = n;
		}
	}
	if (best == 0)
		return balanced;
	if (best == cur && cur >= balanced && cur + 1 <= cap &&
	    (cur + 1 > VGMO__THROUGHPUT_SLOTS || t->items_per_s[cur + 1] <= 0))
		return cur + 1; /* still improving: explore one step up */
	return best > balanced ? best : balanced;
}

int vgmo__policy_target(const vgmo__policy_in *in)
{
	const vgmo_config *c = in->cfg;
	int limit = c->max_batch_size;
	int balanced, cap, target;

	balanced = vgmo__largest_fit(in->model, in->budget_critical, limit);
	cap = vgmo__largest_fit(in->model, in->budget_oom, limit);
	switch (c->strategy) {
	case VGMO_STRATEGY_CONSERVATIVE:
		target = (int)floor(0.7 * balanced);
		break;
	case VGMO_STRATEGY_AGGRESSIVE:
		target = (int)floor(1.2 * balanced);
		if (target > cap)
			target = cap > balanced ? cap : balanced;
		break;
	case VGMO_STRATEGY_ADAPTIVE:
		target = adaptive_target(in, balanced, cap);
		break;
	case VGMO_STRATEGY_BALANCED:
	default:
		target = balanced;
		break;
	}
	if (in->model->ceiling > 0 && target >= in->model->ceiling)
		target = in->model->ceiling - 1;
	return clamp(target, c->min_batch_size, c->max_batch_size);
}

int vgmo__policy_settle(const vgmo__policy_in *in, int target_full,
                        int target_low, unsigned since_change)
{
	const vgmo_config *c = in->cfg;
	int cur = in->current;
	int band = cur / 10 > 2 ? cur / 10 : 2;
	double limit, need;

	if (cur < c->min_batch_size || cur > c->max_batch_size)
		return target_full;
	if (cur > target_full) {
		limit = c->strategy == VGMO_STRATEGY_AGGRESSIVE ||
		                        c->strategy == VGMO_STRATEGY_ADAPTIVE
		                ? in->budget_oom
		                : in->budget_critical;
		need = vgmo__model_predict(in->model, cur) +
		       vgmo__model_margin(in->model, cur);
		/* Unsafe now, at the OOM ceiling, or clearly too big: shrink
		 * at once. A one-step wobble is left alone. */
		if (need > limit ||
		    (in->model->ceiling > 0 && cur >= in->model->ceiling) ||
		    cur - target_full >= band)
			return target_full;
		return cur;
	}
	/* Grow only to what also fits a slightly smaller budget, and only
	 * after the cool-down: hysteresis against a noisy model. */
	if (cur < target_low && since_change >= COOLDOWN_REPORTS)
		return target_low;
	return cur;
}
