/*
 * cost.h - a worker's memory cost, learned online (internal).
 *
 *   peak = base + theta . x
 *
 * `base` is the memory the worker holds between batches (what it reports
 * as allocated; pinned, not fitted, when known), x the batch's features,
 * led by a constant 1 (an intercept: batch-size independent activations).
 * For a worker that counts items, x = (1, items) and one linear cost. For
 * one that counts tokens, x = (1, prompt tokens, output tokens, requests,
 * prompt tokens squared per sequence, image tokens, image tokens squared),
 * where a padded worker's tokens are requests x the batch's longest (its
 * processor pads to it) and a packed worker's are sums; its batch runs
 * in three phases whose peaks do not add up, and its cost is the largest:
 *
 *   peak = base + max(vision . x, prefill . x, decode . x)
 *
 * the vision encoder (image tokens, their square for an encoder that
 * attends over the whole batch), the prefill (prompt tokens, their square
 * per sequence for attention that builds scores, logits per request) and
 * the decode (the cache of prompt and output tokens). Each phase is fitted
 * by exponentially weighted least squares on the reports it explains (the
 * phase that predicts the most), pulled toward a prior (the planner's
 * estimate of that phase) worth a couple of reports, and kept >= 0. The
 * recent reports are kept, and each fit starts both from the last one and
 * from the priors scaled to the reports (the scale of each phase found by
 * a line search), the better kept: a phase whose prior is below the
 * others everywhere still gets the reports it explains. With reports at
 * one batch size only, intercept and slope are not told apart: the
 * prior's zero intercept then charges everything to the items, an upper
 * bound, and the worker climbs from there.
 *
 * How far off a prediction can be comes from the model's own out-of-sample
 * errors: for every report, before it is learned from, the log of the
 * ratio of the batch's real variable cost to the predicted one. The margin
 * a strategy keeps is a high quantile of it (a normal fit shrunk toward a
 * prior spread while reports are few, never below the largest ratio seen
 * lately). A batch far smaller than the largest predicted lately weighs
 * less in it (its ratio is mostly a few MiB of noise). A run of large errors
 * (outputs grew, the model got costlier) is detected with a CUSUM on the
 * standardised errors; old reports then lose most of their weight. A batch that
 * ran out of memory teaches a lower bound: its cost exceeded the room it had.
 */
#ifndef VGMO_LIB_COST_H
#define VGMO_LIB_COST_H

#include <stdbool.h>
#include <stdint.h>

#define VGMO__COST_MAX 7 /* features, the intercept included */
#define VGMO__PHASES 3   /* a tokens worker's phases */
#define VGMO__WINDOW 48  /* reports kept to refit the phases */

/* Features of a tokens worker (index 0 is the intercept). */
enum {
	VGMO__X_ONE = 0,
	VGMO__X_PROMPT,
	VGMO__X_OUTPUT,
	VGMO__X_REQUESTS,
	VGMO__X_QUAD,     /* sum over sequences of prompt length^2 */
	VGMO__X_IMAGE,    /* image tokens (the vision encoder's work) */
	VGMO__X_IMAGE2,   /* their square (an encoder attending over every
	                     patch of the batch at once) */
	VGMO__X_ITEMS = 1 /* an items worker's one feature */
};

/* A tokens worker's phases. */
enum { VGMO__PH_VISION = 0, VGMO__PH_PREFILL, VGMO__PH_DECODE };

/* A report kept for refitting: its features, its variable cost, its
 * weight (it decays). */
typedef struct vgmo__cost_point {
	double x[VGMO__COST_MAX];
	double y, w;
} vgmo__cost_point;

/* A phase's reports that left the window, as weighted sums. */
typedef struct vgmo__cost_sums {
	double sw, syy;
	double sx[VGMO__COST_MAX];
	double sxx[VGMO__COST_MAX][VGMO__COST_MAX];
	double sxy[VGMO__COST_MAX];
} vgmo__cost_sums;

typedef struct vgmo__cost {
	unsigned k;      /* features in use, intercept included */
	unsigned phases; /* 1, or VGMO__PHASES for a tokens worker */
	bool uses[VGMO__PHASES][VGMO__COST_MAX]; /* each phase's features */
	double prior[VGMO__PHASES][VGMO__COST_MAX];
	double prior_base; /* base before any report; 0 unknown */
	double theta[VGMO__PHASES][VGMO__COST_MAX]; /* the current fit */
	double scale[VGMO__PHASES]; /* the priors' scales found last */
	vgmo__cost_sums old[VGMO__PHASES];
	vgmo__cost_point win[VGMO__WINDOW]; /* the latest reports */
	unsigned nwin, next;
	double base; /* bytes held between batches, reported; 0 unknown */
	/* Out-of-sample log ratios, real / predicted variable cost. */
	double lr_w, lr_mean, lr_var;
	double lr_up;  /* mean square of the ratios above 0 */
	double lr_max; /* the largest lately (it decays) */
	double big;    /* the largest predicted variable cost lately */
	double cusum;
	unsigned samples, shifts;
	bool share; /* share_squares applies */
	/* Costs no fit goes below: what a declared kernel must build. */
	double floor[VGMO__PHASES][VGMO__COST_MAX];
} vgmo__cost;

/* One linear cost of `k` features (intercept included: x[0] is always 1)
 * with their prior costs (bytes per unit of each), and the bytes held
 * between batches before any report (0: unknown). */
void vgmo__cost_init(vgmo__cost *c, unsigned k, const double *prior,
                     double prior_base);

/* A tokens worker's three phases (all VGMO__COST_MAX features), each
 * with its prior costs (a feature a phase does not use is ignored). */
void vgmo__cost_init_phases(vgmo__cost *c,
                            const double prior[VGMO__PHASES][VGMO__COST_MAX],
                            double prior_base);

/* Feature j of phase p costs at least `v` bytes per unit whatever the
 * reports say (the scores or mask a declared attention must build), and
 * the current fit is raised to it. */
void vgmo__cost_floor(vgmo__cost *c, unsigned p, unsigned j, double v);

/* The largest cost per unit of feature j over the phases: the fit's, or
 * the prior's. */
double vgmo__cost_coef(const vgmo__cost *c, unsigned j);
double vgmo__cost_prior(const vgmo__cost *c, unsigned j);

/* Adds a batch that ran: features `x`, its peak, the bytes held between
 * batches (0: not reported). */
void vgmo__cost_add(vgmo__cost *c, const double *x, double peak, double base);

/* A batch with features `x` ran out of memory with `room` bytes (base
 * included) to run in: its real cost was more than that. */
void vgmo__cost_oom(vgmo__cost *c, const double *x, double room);

/* Predicted variable cost (bytes over the base) of a batch. */
double vgmo__cost_variable(const vgmo__cost *c, const double *x);
/* The base in use: reported, else the prior's. */
double vgmo__cost_base(const vgmo__cost *c);

/* The factor the predicted variable cost is multiplied by so that it is
 * exceeded with one-sided probability p, z = the normal quantile of 1-p:
 * the margin of a strategy. */
double vgmo__cost_factor(const vgmo__cost *c, double z);

/* true once a report was learned from. */
bool vgmo__cost_fitted(const vgmo__cost *c);

/* The caching allocator's overhead: what it reserves beyond a batch's
 * peak, fitted as a constant (workspaces) plus a share of the variable
 * part (fragmentation, rounding): extra = fixed + share x variable. */
typedef struct vgmo__overhead {
	double sw, sx, sxx, sy, sxy; /* decayed sums */
	double fixed, share;         /* the fit */
	double low; /* the least extra seen lately: at least the constant
	               part (it creeps up slowly) */
} vgmo__overhead;

void vgmo__overhead_init(vgmo__overhead *o);
/* The largest variable peak since the cache was emptied, and the extra
 * reserved over it. */
void vgmo__overhead_add(vgmo__overhead *o, double variable, double extra);

/* The standard normal quantile of 1 - p, for 1e-9 <= p <= 0.5. */
double vgmo__normal_upper(double p);

#endif
