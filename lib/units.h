/*
 * units.h - batch sizing by cost unit (tokens): a worker's second memory
 * model, over units instead of items, and the strategy that turns it into
 * a unit budget (internal; the engine calls are in vgmo.h).
 *
 * The strategies mirror the item ones (policy.c): balanced fills the
 * budget under the critical threshold, conservative 0.7 of it, aggressive
 * 1.2 of it capped under the OOM threshold, adaptive climbs from balanced
 * toward that cap while the measured units/s does not fall. The same
 * dead band and cool-down apply; an OOM halves the budget at once and no
 * budget at or above the units that failed is given until the worker has
 * run cleanly for a while.
 */
#ifndef VGMO_LIB_UNITS_H
#define VGMO_LIB_UNITS_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"
#include "vgmo/vgmo.h"

#define VGMO__UNIT_LEVELS 4 /* adaptive: steps from balanced to the cap */

typedef struct vgmo__units {
	bool active; /* a prior was set or units were reported */
	vgmo__model model;
	double budget;  /* units in force; 0: none yet */
	double ceiling; /* units that ran out of memory; 0: none */
	unsigned clean_since_oom;
	unsigned since_change;
	/* adaptive: the level in force, the best one, and units/s by level */
	int level, best;
	bool settled;
	double rate[VGMO__UNIT_LEVELS];
	unsigned rate_n[VGMO__UNIT_LEVELS];
} vgmo__units;

/* What the strategy needs to decide. */
typedef struct vgmo__units_in {
	const vgmo_config *cfg;
	double budget_critical, budget_oom; /* bytes */
} vgmo__units_in;

void vgmo__units_init(vgmo__units *u, double prior_fixed, double prior_unit);
/* A successful batch of `units` with its peak; `base` held between
 * batches (0: unknown); `seconds` it took (<= 0: unknown). */
void vgmo__units_add(vgmo__units *u, double units, double peak, double base,
                     double seconds);
/* A batch of `units` that ran out of memory: the budget halves. */
void vgmo__units_oom(vgmo__units *u, double units);
/* Moves the budget toward the strategy's target through the dead band and
 * cool-down; returns true when it changed. */
bool vgmo__units_update(vgmo__units *u, const vgmo__units_in *in);
/* The strategy's target with the full budgets (no dead band). */
double vgmo__units_target(const vgmo__units *u, const vgmo__units_in *in,
                          double scale);

#endif
