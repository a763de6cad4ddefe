/*
 * strategy.h - what the strategies (config/strategy_table.h: each one's
 * promise and room) decide from a worker's learned cost (cost.h) and the
 * memory it may use (internal).
 *
 * A strategy is a promise about running out of memory, not a fraction of
 * a guess: a batch is chosen only when its predicted need, with the
 * margin the worker's own prediction errors call for, stays within the
 * room the worker has now.
 *
 * "others" is what the device's memory holds that is not this worker's
 * (other processes, CUDA contexts, other workers' shares). The need of a
 * batch is base + factor(z) x predicted variable cost, the variable part
 * grown by the allocator overhead the worker's reports show. Items
 * workers and tokens workers use the same table: an items worker's batch
 * is a count, a tokens worker's the longest prefix of its queue that
 * fits.
 */
#ifndef VGMO_LIB_STRATEGY_H
#define VGMO_LIB_STRATEGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cost.h"
#include "strategy_table.h"
#include "vgmo/vgmo.h"

/* Batches a worker waits after a change before it grows again: climbing,
 * and after having had to shrink (against a margin that wobbles). */
#define VGMO__GROW_COOLDOWN 1
#define VGMO__REGROW_COOLDOWN 64
/* Hysteresis: growth only to what fits this share of the room. */
#define VGMO__GROW_ROOM 0.96

/* Adaptive: the levels it measures, each a share of the room it fills
 * and, for a padded tokens worker, the most padding a batch may carry (a
 * request is not added when the batch's padded prompt tokens would exceed
 * its real ones by more than this share; 0: no limit). From the fullest,
 * it measures each level over VGMO__LEVEL_REPORTS batches, by work done
 * per second, and settles on the fastest: a level must beat the first by
 * VGMO__LEVEL_GAIN, and again once the first and the winner have run a
 * second round each (the rounds add up). */
#define VGMO__LEVELS 3
#define VGMO__LEVEL_REPORTS 10
#define VGMO__LEVEL_GAIN 0.03

typedef struct vgmo__level {
	double fill, waste;
} vgmo__level;

extern const vgmo__level vgmo__level_table[VGMO__LEVELS];

typedef struct vgmo__levels {
	int level; /* in force */
	int best;
	bool settled;
	bool confirming; /* a second round: first level, then the best */
	double items[VGMO__LEVELS], seconds[VGMO__LEVELS];
	unsigned n[VGMO__LEVELS];
	unsigned since_settled;
} vgmo__levels;

/* What a decision needs: the cost, the room, the allocator's overhead. */
typedef struct vgmo__need_in {
	const vgmo__cost *cost;
	double factor; /* the strategy's margin on the variable cost (cost.h's
	                  vgmo__cost_factor at its quantile), once a decision */
	const vgmo__overhead *overhead; /* the allocator's, NULL: none */
} vgmo__need_in;

/* Bytes a batch of features x needs, margin included. */
double vgmo__need(const vgmo__need_in *in, const double *x);

/* ... the same for a batch whose variable cost (no margin) is known. */
double vgmo__need_var(const vgmo__need_in *in, double variable);

/* ... the model's best guess, no margin: a request alone whose best guess
 * fits but whose need does not is in doubt (tokens.c). */
double vgmo__need_point(const vgmo__need_in *in, const double *x);

/* What the allocator reserves for a variable cost (NULL: that cost). */
double vgmo__with_overhead(const vgmo__overhead *o, double variable);

/* The quantile of a strategy's promise. */
double vgmo__strategy_z(vgmo_strategy s);

/* Adaptive: a batch's work (tokens, or items) and seconds at the level
 * in force. */
void vgmo__levels_add(vgmo__levels *l, double work, double seconds);
/* The level in force. */
const vgmo__level *vgmo__levels_now(const vgmo__levels *l);
/* A change of workload: measure again. */
void vgmo__levels_reset(vgmo__levels *l);

#endif
