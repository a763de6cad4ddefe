/*
 * policy.h - from a memory model and a budget to a batch size (internal).
 */
#ifndef VGMO_LIB_POLICY_H
#define VGMO_LIB_POLICY_H

#include <stdint.h>

#include "model.h"
#include "vgmo/vgmo.h"

/* Largest batch size tracked for throughput; larger sizes still work. */
#define VGMO__THROUGHPUT_SLOTS 256

typedef struct vgmo__throughput {
	double items_per_s[VGMO__THROUGHPUT_SLOTS + 1]; /* EWMA; 0 unknown */
} vgmo__throughput;

void vgmo__throughput_add(vgmo__throughput *t, uint32_t items, double seconds);

typedef struct vgmo__policy_in {
	const vgmo_config *cfg;
	const vgmo__model *model;
	const vgmo__throughput *throughput; /* may be NULL */
	double budget_critical; /* bytes the worker may use under critical */
	double budget_oom;      /* bytes it may use under the OOM threshold */
	int current;            /* the batch size in force */
} vgmo__policy_in;

/* Largest n in [1, limit] with predict(n) + margin(n) <= budget, 0 if none. */
int vgmo__largest_fit(const vgmo__model *m, double budget, int limit);

/* The strategy's target batch size, clamped to [min, max] and below the
 * model's OOM ceiling. */
int vgmo__policy_target(const vgmo__policy_in *in);

/* Hysteresis: the budget fraction a grown batch size must also fit. */
#define VGMO__GROW_BUDGET 0.97

/* Applies the dead band and cool-down to the targets computed with the full
 * budgets (`target_full`) and with VGMO__GROW_BUDGET of them
 * (`target_low`): returns the batch size to use next. `since_change` counts
 * reports since the last change. A decrease needed for safety is never
 * delayed; growth waits for the cool-down. */
int vgmo__policy_settle(const vgmo__policy_in *in, int target_full,
                        int target_low, unsigned since_change);

#endif
