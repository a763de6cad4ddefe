/*
 * strategy.c - the need of a batch and adaptive's levels (strategy.h).
 */
#include "strategy.h"

#include <math.h>
#include <string.h>

#define LEVEL_REVISIT 1000 /* reports before measuring the levels again */

const vgmo__level vgmo__level_table[VGMO__LEVELS] = {
        {1.0, 0}, {1.0, 1.0}, {1.0, 0.4}};

double vgmo__strategy_z(vgmo_strategy s)
{
	return vgmo__normal_upper(vgmo__strategy(s)->p_oom);
}

double vgmo__need_var(const vgmo__need_in *in, double variable)
{
	return vgmo__cost_base(in->cost) +
	       vgmo__with_overhead(in->overhead, variable * in->factor);
}

double vgmo__need(const vgmo__need_in *in, const double *x)
{
	return vgmo__need_var(in, vgmo__cost_variable(in->cost, x));
}

double vgmo__need_point(const vgmo__need_in *in, const double *x)
{
	double v = vgmo__cost_variable(in->cost, x);

	return vgmo__cost_base(in->cost) + vgmo__with_overhead(in->overhead, v);
}

void vgmo__levels_reset(vgmo__levels *l)
{
	memset(l, 0, sizeof(*l));
}

const vgmo__level *vgmo__levels_now(const vgmo__levels *l)
{
	return &vgmo__level_table[l->level];
}

static double rate(const vgmo__levels *l, int k)
{
	return l->seconds[k] > 0 ? l->items[k] / l->seconds[k] : 0;
}

/* Measures a level for another round, adding to what it has. */
static void remeasure(vgmo__levels *l, int k)
{
	l->n[k] = 0;
	l->level = k;
}

void vgmo__levels_add(vgmo__levels *l, double work, double seconds)
{
	int k = l->level;

	if (!(work > 0) || !(seconds > 0))
		return;
	if (l->settled) {
		if (++l->since_settled >= LEVEL_REVISIT)
			vgmo__levels_reset(l);
		return;
	}
	l->items[k] += work;
	l->seconds[k] += seconds;
	if (++l->n[k] < VGMO__LEVEL_REPORTS)
		return;
	if (l->confirming) {
		/* Second round: the first level, then the candidate; it
		 * must win again. */
		if (k == 0) {
			remeasure(l, l->best);
			return;
		}
		if (!(rate(l, k) > rate(l, 0) * (1 + VGMO__LEVEL_GAIN)))
			l->best = 0;
		l->level = l->best;
		l->settled = true;
		l->since_settled = 0;
		return;
	}
	if (k > 0 && rate(l, k) > rate(l, l->best) &&
	    rate(l, k) > rate(l, 0) * (1 + VGMO__LEVEL_GAIN))
		l->best = k;
	if (k + 1 < VGMO__LEVELS) {
		l->level = k + 1;
	} else if (l->best != 0) {
		l->confirming = true;
		remeasure(l, 0);
	} else {
		l->level = 0;
		l->settled = true;
		l->since_settled = 0;
	}
}

double vgmo__with_overhead(const vgmo__overhead *o, double variable)
{
	if (o == NULL)
		return variable;
	return variable * (1.0 + o->share) + o->fixed;
}
