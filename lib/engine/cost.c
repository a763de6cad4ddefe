/*
 * cost.c - a worker's memory cost, learned online (cost.h).
 */
#include "cost.h"
#include "solve.h"
#include "vgmo/common.h"

#include <math.h>
#include <string.h>

_Static_assert(VGMO__COST_MAX <= VGMO__SOLVE_MAX,
               "the fits solve for every feature");

#define DECAY 0.98        /* weight a report keeps per later report */
#define PRIOR_SLOPE 0.05  /* the prior, in reports, for each cost */
#define PRIOR_INTERCEPT 2 /* ... and for the intercept (pessimistic) */
#define SIGMA0 0.15       /* log-ratio spread before any report */
#define KAPPA0 0.3        /* ... worth this many reports */
#define LRMAX_FADE 0.006  /* the largest ratio seen fades by this */
#define CUSUM_K 0.5       /* CUSUM slack, in standard deviations */
#define CUSUM_H 8.0       /* ... and alarm */
#define SHIFT_KEEP 0.1    /* weight old reports keep after a shift */
#define SHIFT_MIN 0.02    /* a spread below this is taken as this */
#define LR_FLOOR -0.3     /* log ratios below count as this */
#define OOM_BEYOND 0.05   /* an OOM's cost: this far past its room */
#define SMALL_SHARE 0.25  /* batches below this share of the largest */
#define BIG_FADE 0.995    /* ... which fades by this a report */
#define ALT_ROUNDS 8      /* rounds of assigning reports to phases */
#define SCALE_SWEEPS 2    /* line searches over each phase's scale */
#define PHASE_MIN 8       /* reports before phases are told apart */
#define SURPRISE 0.01     /* a report this far off (log) is refitted */
#define FRESH_EVERY 8     /* ... from the scaled priors, as is every 8th */

/* The features each phase of a tokens worker pays for: the encoder for
 * its image tokens (and their square), the text embeddings it fills and
 * per-request buffers; the prefill for prompt tokens, their square and
 * the logits per request; the decode for the cache of prompt and output
 * tokens and the logits of each step. */
static const bool phase_uses[VGMO__PHASES][VGMO__COST_MAX] = {
        [VGMO__PH_VISION] = {[VGMO__X_ONE] = true,
                             [VGMO__X_PROMPT] = true,
                             [VGMO__X_IMAGE] = true,
                             [VGMO__X_IMAGE2] = true},
        [VGMO__PH_PREFILL] = {[VGMO__X_ONE] = true,
                              [VGMO__X_PROMPT] = true,
                              [VGMO__X_REQUESTS] = true,
                              [VGMO__X_QUAD] = true},
        [VGMO__PH_DECODE] = {[VGMO__X_ONE] = true,
                             [VGMO__X_PROMPT] = true,
                             [VGMO__X_OUTPUT] = true,
                             [VGMO__X_REQUESTS] = true},
};

static void init_common(vgmo__cost *c, unsigned k, unsigned phases,
                        double prior_base)
{
	memset(c, 0, sizeof(*c));
	c->k = k < 1 ? 1 : k > VGMO__COST_MAX ? VGMO__COST_MAX : k;
	c->phases = phases;
	c->prior_base = prior_base > 0 ? prior_base : 0;
	c->lr_max = -INFINITY;
	c->share = true;
	for (unsigned p = 0; p < VGMO__PHASES; p++)
		c->scale[p] = 1;
}

void vgmo__cost_init(vgmo__cost *c, unsigned k, const double *prior,
                     double prior_base)
{
	init_common(c, k, 1, prior_base);
	for (unsigned j = 0; j < c->k; j++) {
		c->uses[0][j] = true;
		c->prior[0][j] = prior && prior[j] > 0 ? prior[j] : 0;
	}
	memcpy(c->theta, c->prior, sizeof(c->theta));
}

void vgmo__cost_init_phases(vgmo__cost *c,
                            const double prior[VGMO__PHASES][VGMO__COST_MAX],
                            double prior_base)
{
	init_common(c, VGMO__COST_MAX, VGMO__PHASES, prior_base);
	for (unsigned p = 0; p < VGMO__PHASES; p++)
		for (unsigned j = 0; j < VGMO__COST_MAX; j++) {
			c->uses[p][j] = phase_uses[p][j];
			c->prior[p][j] =
			        phase_uses[p][j] && prior && prior[p][j] > 0
			                ? prior[p][j]
			                : 0;
		}
	memcpy(c->theta, c->prior, sizeof(c->theta));
}

static double max_over_phases(const vgmo__cost *c,
                              const double (*t)[VGMO__COST_MAX], unsigned j)
{
	double v = 0;

	for (unsigned p = 0; p < c->phases; p++)
		v = fmax(v, t[p][j]);
	return v;
}

void vgmo__cost_floor(vgmo__cost *c, unsigned p, unsigned j, double v)
{
	if (p >= c->phases || j >= c->k || !c->uses[p][j] || !(v > 0))
		return;
	c->floor[p][j] = v;
	c->theta[p][j] = fmax(c->theta[p][j], v);
}

double vgmo__cost_coef(const vgmo__cost *c, unsigned j)
{
	return j < c->k ? max_over_phases(c, c->theta, j) : 0;
}

double vgmo__cost_prior(const vgmo__cost *c, unsigned j)
{
	return j < c->k ? max_over_phases(c, c->prior, j) : 0;
}

bool vgmo__cost_fitted(const vgmo__cost *c)
{
	return c->samples > 0;
}

double vgmo__cost_base(const vgmo__cost *c)
{
	return c->base > 0 ? c->base : c->prior_base;
}

/* A phase's cost of features x under costs t. */
static double dot(const vgmo__cost *c, const double *t, const double *x)
{
	double v = 0;

	for (unsigned j = 0; j < c->k; j++)
		v += t[j] * x[j];
	return v;
}

/* The phase that costs the most under `t`, and what it costs. */
static unsigned argmax_phase(const vgmo__cost *c,
                             const double (*t)[VGMO__COST_MAX], const double *x,
                             double *v)
{
	unsigned best = 0;
	double bv = dot(c, t[0], x);

	for (unsigned p = 1; p < c->phases; p++) {
		double pv = dot(c, t[p], x);

		if (pv > bv) {
			bv = pv;
			best = p;
		}
	}
	if (v)
		*v = bv;
	return best;
}

double vgmo__cost_variable(const vgmo__cost *c, const double *x)
{
	double v;

	argmax_phase(c, (const double(*)[VGMO__COST_MAX])c->theta, x, &v);
	return v > 0 ? v : 0;
}

/* Each feature's ridge: the prior's weight at the feature's typical size
 * over the reports. */
static void ridge(const vgmo__cost *c, double *l)
{
	double sw = 0, sx[VGMO__COST_MAX] = {0};

	for (unsigned p = 0; p < c->phases; p++) {
		sw += c->old[p].sw;
		for (unsigned j = 0; j < c->k; j++)
			sx[j] += c->old[p].sx[j];
	}
	for (unsigned i = 0; i < c->nwin; i++) {
		sw += c->win[i].w;
		for (unsigned j = 0; j < c->k; j++)
			sx[j] += c->win[i].w * c->win[i].x[j];
	}
	for (unsigned j = 0; j < c->k; j++) {
		double s = j == 0 ? 1.0 : sw > 0 ? sx[j] / sw : 0;

		l[j] = (j == 0 ? PRIOR_INTERCEPT : PRIOR_SLOPE) * s * s;
		if (!(l[j] > 0))
			l[j] = 1e-12;
	}
}

/* Adds a report, with its weight, to a phase's sums. */
static void sums_add(vgmo__cost_sums *o, unsigned k, const vgmo__cost_point *q)
{
	o->sw += q->w;
	o->syy += q->w * q->y * q->y;
	for (unsigned i = 0; i < k; i++) {
		double wx = q->w * q->x[i];

		o->sx[i] += wx;
		o->sxy[i] += wx * q->y;
		for (unsigned j = 0; j < k; j++)
			o->sxx[i][j] += wx * q->x[j];
	}
}

typedef double theta_t[VGMO__PHASES][VGMO__COST_MAX];

/* The ridge fit of phase p on its old reports and the window's reports
 * assigned to it (all of them when `assign` is NULL):
 * (Sxx + L) t = Sxy + L target, t >= floor (a cost below its floor is
 * fixed there, 0 for most, and the rest refitted). `t` is kept when the
 * system is singular. */
static void fit_phase(const vgmo__cost *c, unsigned p,
                      const unsigned char *assign, const double *l,
                      const double *target, double *t)
{
	double a[VGMO__SOLVE_MAX][VGMO__SOLVE_MAX], b[VGMO__SOLVE_MAX];
	double th[VGMO__SOLVE_MAX];
	vgmo__cost_sums s = c->old[p];

	for (unsigned n = 0; n < c->nwin; n++)
		if (!assign || assign[n] == p)
			sums_add(&s, c->k, &c->win[n]);
	for (unsigned i = 0; i < c->k; i++) {
		for (unsigned j = 0; j < c->k; j++)
			a[i][j] = s.sxx[i][j];
		a[i][i] += l[i];
		b[i] = s.sxy[i] + l[i] * target[i];
	}
	if (vgmo__solve_bounded(c->k, a, b, c->uses[p], c->floor[p], th))
		memcpy(t, th, c->k * sizeof(*t)); /* else keep the last fit */
}

/* How badly costs t explain the reports: the window's weighted squared
 * errors under the largest phase, the old reports' under their phase,
 * and the ridge. */
static double objective(const vgmo__cost *c, const theta_t t, const double *l,
                        const theta_t target)
{
	double J = 0;

	for (unsigned n = 0; n < c->nwin; n++) {
		double v, e;

		argmax_phase(c, t, c->win[n].x, &v);
		e = c->win[n].y - v;
		J += c->win[n].w * e * e;
	}
	for (unsigned p = 0; p < c->phases; p++) {
		const vgmo__cost_sums *o = &c->old[p];

		J += o->syy;
		for (unsigned i = 0; i < c->k; i++) {
			double d = t[p][i] - target[p][i];

			J -= 2 * t[p][i] * o->sxy[i];
			for (unsigned j = 0; j < c->k; j++)
				J += t[p][i] * o->sxx[i][j] * t[p][j];
			if (c->uses[p][i])
				J += l[i] * d * d;
		}
	}
	return J;
}

/* Alternates from `t`: each report of the window goes to the phase that
 * predicts the most, each phase is refitted on its reports; until no
 * report changes phase. */
static void alternate(const vgmo__cost *c, const double *l,
                      const theta_t target, theta_t t)
{
	unsigned char assign[VGMO__WINDOW], prev[VGMO__WINDOW];

	for (unsigned round = 0; round < ALT_ROUNDS; round++) {
		for (unsigned n = 0; n < c->nwin; n++)
			assign[n] = (unsigned char)argmax_phase(
			        c, t, c->win[n].x, NULL);
		if (round > 0 && memcmp(assign, prev, c->nwin) == 0)
			break;
		memcpy(prev, assign, c->nwin);
		for (unsigned p = 0; p < c->phases; p++)
			fit_phase(c, p, assign, l, target[p], t[p]);
	}
}

/* Weighted squared error of the window under phases scaled by `a`, with
 * pp[n][p] the prior's cost of report n in phase p. */
static double scaled_error(const vgmo__cost *c,
                           const double (*pp)[VGMO__PHASES], const double *a)
{
	double J = 0;

	for (unsigned n = 0; n < c->nwin; n++) {
		double v = 0, e;

		for (unsigned p = 0; p < c->phases; p++)
			if (a[p] * pp[n][p] > v) /* fmax is a call: this is the
			                           inner loop */
				v = a[p] * pp[n][p];
		e = c->win[n].y - v;
		J += c->win[n].w * e * e;
	}
	return J;
}

/* The priors times the scales found last. */
static void scaled(const vgmo__cost *c, theta_t t)
{
	memset(t, 0, sizeof(theta_t));
	for (unsigned p = 0; p < c->phases; p++)
		for (unsigned j = 0; j < VGMO__COST_MAX; j++)
			t[p][j] = c->prior[p][j] * c->scale[p];
}

/* The priors, each phase scaled to the window's reports: a line search
 * on each scale in turn (from 1) over the scales at which that phase
 * would explain one report exactly. A phase whose prior is below the
 * others everywhere gets the reports it explains this way, where
 * alternating from the priors would never give it one. */
static void scaled_priors(vgmo__cost *c, theta_t t)
{
	/* The prefill runs in every batch, the encoder only with images:
	 * where two phases explain the reports alike (prompts of image
	 * tokens), the prefill's scale is searched first and keeps them. */
	static const unsigned search_order[VGMO__PHASES] = {
	        VGMO__PH_PREFILL, VGMO__PH_DECODE, VGMO__PH_VISION};
	double pp[VGMO__WINDOW][VGMO__PHASES], a[VGMO__PHASES];

	memset(t, 0, sizeof(theta_t));
	for (unsigned p = 0; p < c->phases; p++) {
		a[p] = 1;
		for (unsigned n = 0; n < c->nwin; n++)
			pp[n][p] = dot(c, c->prior[p], c->win[n].x);
	}
	for (unsigned sweep = 0; sweep < SCALE_SWEEPS; sweep++)
		for (unsigned i = 0; i < c->phases; i++) {
			unsigned p =
			        c->phases == VGMO__PHASES ? search_order[i] : i;
			double best = a[p], bj = scaled_error(c, pp, a);

			for (unsigned n = 0; n < c->nwin; n++) {
				double j;

				if (!(pp[n][p] > 0))
					continue;
				a[p] = c->win[n].y / pp[n][p];
				j = scaled_error(c, pp, a);
				if (j < bj) {
					bj = j;
					best = a[p];
				}
			}
			a[p] = best;
		}
	for (unsigned p = 0; p < c->phases; p++)
		c->scale[p] = a[p];
	scaled(c, t);
}

/* For one request of image tokens the square of the encoder's tokens and
 * the square of the prompt are nearly the same number: reports of single
 * requests cannot tell which phase pays it, and whichever phase took it
 * predicts it for batches. A batch of several requests makes the two
 * differ: the prefill's square (sum of squares, or the padded longest's
 * times the requests) is the one whose scores eager or masked attention
 * really builds in most models, so the encoder's square is charged to the
 * prefill too; the encoder keeps only its own. */
static void share_squares(vgmo__cost *c)
{
	if (c->phases != VGMO__PHASES || !c->share)
		return;
	c->theta[VGMO__PH_PREFILL][VGMO__X_QUAD] =
	        fmax(c->theta[VGMO__PH_VISION][VGMO__X_IMAGE2],
	             c->theta[VGMO__PH_PREFILL][VGMO__X_QUAD]);
}

/* The fit chosen: costs t, the encoder's square shared. */
static void keep(vgmo__cost *c, const theta_t t)
{
	memcpy(c->theta, t, sizeof(c->theta));
	share_squares(c);
}

/* Refits: one linear cost, or phases while reports are too few to tell
 * them apart, on every report; phases by alternating from the current
 * fit and, when `fresh`, also from the priors scaled anew to the window,
 * the better kept. Either way each phase is pulled toward its scaled
 * prior (a cost the reports do not pin down follows the scale its phase
 * shows, not the planner's). */
static void refit(vgmo__cost *c, bool fresh)
{
	double l[VGMO__COST_MAX];
	theta_t warm, cold, target;
	const double(*tg)[VGMO__COST_MAX] =
	        (const double(*)[VGMO__COST_MAX])target;

	ridge(c, l);
	if (c->phases == 1 || c->samples < PHASE_MIN) {
		/* Each phase fits every report (their largest is then at
		 * least each fit). */
		for (unsigned p = 0; p < c->phases; p++)
			fit_phase(c, p, NULL, l, c->prior[p], c->theta[p]);
		share_squares(c);
		return;
	}
	fresh = fresh || c->samples == PHASE_MIN;
	if (fresh)
		scaled_priors(c, target);
	else
		scaled(c, target);
	memcpy(warm, c->theta, sizeof(warm));
	alternate(c, l, tg, warm);
	if (!fresh) {
		keep(c, (const double(*)[VGMO__COST_MAX])warm);
		return;
	}
	memcpy(cold, target, sizeof(cold));
	alternate(c, l, tg, cold);
	keep(c,
	     objective(c, (const double(*)[VGMO__COST_MAX])cold, l, tg) <=
	                     objective(c, (const double(*)[VGMO__COST_MAX])warm,
	                               l, tg)
	             ? (const double(*)[VGMO__COST_MAX])cold
	             : (const double(*)[VGMO__COST_MAX])warm);
}

static void sums_scale(vgmo__cost_sums *o, unsigned k, double f)
{
	o->sw *= f;
	o->syy *= f;
	for (unsigned i = 0; i < k; i++) {
		o->sx[i] *= f;
		o->sxy[i] *= f;
		for (unsigned j = 0; j < k; j++)
			o->sxx[i][j] *= f;
	}
}

/* Every report's weight times f. */
static void scale_reports(vgmo__cost *c, double f)
{
	for (unsigned p = 0; p < c->phases; p++)
		sums_scale(&c->old[p], c->k, f);
	for (unsigned n = 0; n < c->nwin; n++)
		c->win[n].w *= f;
}

static double sigma(const vgmo__cost *c)
{
	return sqrt((KAPPA0 * SIGMA0 * SIGMA0 + c->lr_w * c->lr_var) /
	            (KAPPA0 + c->lr_w));
}

/* The spread of the errors above the prediction: twice their mean
 * square (a symmetric spread's variance), shrunk toward the prior
 * spread. Costs below the prediction are waste, not risk: they do not
 * widen the margin. */
static double mean(const vgmo__cost *c)
{
	return c->lr_w / (KAPPA0 + c->lr_w) * c->lr_mean;
}

static double sigma_up(const vgmo__cost *c)
{
	return sqrt((KAPPA0 * SIGMA0 * SIGMA0 + c->lr_w * 2 * c->lr_up) /
	            (KAPPA0 + c->lr_w));
}

/* Old reports lose most of their weight: the workload changed. */
static void forget(vgmo__cost *c)
{
	scale_reports(c, SHIFT_KEEP);
	c->lr_w *= SHIFT_KEEP;
	c->cusum = 0;
	c->shifts++;
}

static void add_point(vgmo__cost *c, const double *x, double y, bool fresh);

/* How much an error of a batch whose predicted variable cost is `pred`
 * says about the batches that come near the room: fully for one within
 * SMALL_SHARE of the largest predicted lately, less below, with the
 * square of its size (an error of a few MiB that does not grow with the
 * batch weighs in a small batch's ratio as 1 / size^2). */
static double weight_of(vgmo__cost *c, double pred)
{
	double s;

	c->big = fmax(pred, c->big * BIG_FADE);
	s = c->big > 0 ? fmin(1.0, pred / (SMALL_SHARE * c->big)) : 1.0;
	return s * s;
}

/* One out-of-sample log ratio, of a batch predicted at `pred`. */
static void observe(vgmo__cost *c, double lr, double pred)
{
	double wt = weight_of(c, pred);
	/* Changes of a couple of per cent are not worth forgetting for;
	 * the alarm is for costs above the model's (below it is only
	 * waste, learned away by the fit). */
	double s = fmax(sigma(c), SHIFT_MIN), u = lr / s;
	double delta;

	/* An over-estimate says little about the upper tail: far below,
	 * it counts as LR_FLOOR. */
	lr = fmax(lr, LR_FLOOR);
	c->cusum = fmax(0.0, c->cusum + wt * (u - CUSUM_K));
	c->lr_w = c->lr_w * DECAY + wt;
	delta = lr - c->lr_mean;
	c->lr_mean += wt * delta / c->lr_w;
	c->lr_var =
	        (1 - wt / c->lr_w) * (c->lr_var + wt * delta * delta / c->lr_w);
	c->lr_up += wt * (fmax(lr, 0.0) * fmax(lr, 0.0) - c->lr_up) / c->lr_w;
	c->lr_max = fmax(wt >= 1 ? lr : -INFINITY, c->lr_max - LRMAX_FADE);
	if (c->cusum > CUSUM_H)
		forget(c);
}

void vgmo__cost_add(vgmo__cost *c, const double *x, double peak, double base)
{
	double pred, y, lr;

	if (!(peak > 0) || !isfinite(peak))
		return;
	if (base > 0)
		c->base = base;
	y = peak - vgmo__cost_base(c);
	if (y < 0)
		y = 0;
	pred = vgmo__cost_variable(c, x);
	/* The first report measures the prior, not the model: how far off
	 * a prior can be is SIGMA0's business. */
	lr = pred > 0 && y > 0 ? log(y / pred) : INFINITY;
	if (isfinite(lr) && c->samples > 0)
		observe(c, lr, pred);
	c->samples++;
	/* The fit from the scaled priors is redone when the report
	 * surprised the model (or could not be compared with it), and every
	 * FRESH_EVERY reports. */
	add_point(c, x, y,
	          !(fabs(lr) < SURPRISE) || c->samples % FRESH_EVERY == 0);
}

/* Adds one report to the window (the oldest, when full, joins the sums
 * of the phase that explains it now) and refits. */
static void add_point(vgmo__cost *c, const double *x, double y, bool fresh)
{
	vgmo__cost_point *q = &c->win[c->next];

	scale_reports(c, DECAY);
	if (c->nwin == VGMO__WINDOW) {
		sums_add(&c->old[argmax_phase(c, c->theta, q->x, NULL)], c->k,
		         q);
	} else {
		c->nwin++;
	}
	memset(q, 0, sizeof(*q));
	memcpy(q->x, x, c->k * sizeof(*x));
	q->y = y;
	q->w = 1;
	c->next = (c->next + 1) % VGMO__WINDOW;
	refit(c, fresh);
}

void vgmo__cost_oom(vgmo__cost *c, const double *x, double room)
{
	double pred = vgmo__cost_variable(c, x);
	double over = fmax(1.0, room - vgmo__cost_base(c));

	/* A batch the model said would not fit teaches nothing. */
	if (!(pred > 0) || pred >= over)
		return;
	/* It needed more than `over`: a ratio at least that large, and a
	 * point of the fit that far out, so that the features this batch
	 * was heavy in cost more from now on. Before any report the error
	 * was the prior's, not the model's (as in vgmo__cost_add). */
	if (c->samples > 0)
		observe(c, log(over / pred) + OOM_BEYOND, pred);
	if (over * (1 + OOM_BEYOND) > pred)
		add_point(c, x, over * (1 + OOM_BEYOND), true);
}

double vgmo__cost_factor(const vgmo__cost *c, double z)
{
	/* A spread estimated from a few errors is itself uncertain: the
	 * quantile widens while they are few (as Student's t would). */
	double widen = 1.0 + 1.0 / fmax(1.0, c->lr_w);

	/* A tokens worker's phases predict high where a report's phase
	 * is not yet told apart: its margin counts the errors above only.
	 * An items worker's single cost errs both ways alike. */
	if (c->phases > 1)
		return exp(fmax(z * widen * sigma_up(c), c->lr_max));
	return exp(fmax(mean(c) + z * widen * sigma(c), c->lr_max));
}

/* Acklam's rational approximation of the normal quantile, refined by
 * one Halley step (relative error below 1e-9). */
double vgmo__normal_upper(double p)
{
	static const double a[] = {
	        -3.969683028665376e+01, 2.209460984245205e+02,
	        -2.759285104469687e+02, 1.383577518672690e+02,
	        -3.066479806614716e+01, 2.506628277459239e+00};
	static const double b[] = {
	        -5.447609879822406e+01, 1.615858368580409e+02,
	        -1.556989798598866e+02, 6.680131188771972e+01,
	        -1.328068155288572e+01};
	static const double cc[] = {
	        -7.784894002430293e-03, -3.223964580411365e-01,
	        -2.400758277161838e+00, -2.549732539343734e+00,
	        4.374664141464968e+00,  2.938163982698783e+00};
	static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
	                           2.445134137142996e+00,
	                           3.754408661907416e+00};
	double q, x, e, u;

	if (!(p > 1e-300))
		p = 1e-300;
	if (p >= 0.5)
		return 0;
	/* The lower quantile at p (negative), negated at the end. */
	if (p < 0.02425) {
		q = sqrt(-2 * log(p));
		x = (((((cc[0] * q + cc[1]) * q + cc[2]) * q + cc[3]) * q +
		      cc[4]) *
		             q +
		     cc[5]) /
		    ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
	} else {
		double r;

		q = p - 0.5;
		r = q * q;
		x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) *
		             r +
		     a[5]) *
		    q /
		    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) *
		             r +
		     1);
	}
	e = 0.5 * erfc(-x / sqrt(2.0)) - p;
	u = e * sqrt(2 * M_PI) * exp(x * x / 2);
	x = x - u / (1 + x * u / 2);
	return -x;
}

/* ------------------------------------------------------------ overhead */

#define OVERHEAD_FIXED0 (256.0 * (double)VGMO_MIB) /* the prior: workspaces */
#define OVERHEAD_SHARE0 0.05                       /* ... and fragmentation */
#define OVERHEAD_SHARE_MIN 0.02 /* fragmentation grows: kept at least */

void vgmo__overhead_init(vgmo__overhead *o)
{
	memset(o, 0, sizeof(*o));
	o->fixed = OVERHEAD_FIXED0;
	o->share = OVERHEAD_SHARE0;
	o->low = -1;
}

void vgmo__overhead_add(vgmo__overhead *o, double variable, double extra)
{
	double a[VGMO__SOLVE_MAX][VGMO__SOLVE_MAX] = {{0}}, b[VGMO__SOLVE_MAX];
	double th[VGMO__SOLVE_MAX], s, l0, l1;
	bool on[VGMO__SOLVE_MAX] = {true, true};

	if (!(variable > 0) || !isfinite(extra))
		return;
	extra = fmax(0.0, extra);
	o->low = o->low < 0 ? extra : fmin(extra, o->low * 1.002);
	o->sw = o->sw * DECAY + 1;
	o->sx = o->sx * DECAY + variable;
	o->sxx = o->sxx * DECAY + variable * variable;
	o->sy = o->sy * DECAY + extra;
	o->sxy = o->sxy * DECAY + variable * extra;
	/* Ridge toward the prior, worth one report at the typical size. */
	s = o->sx / o->sw;
	l0 = 1.0;
	l1 = s * s;
	a[0][0] = o->sw + l0;
	a[0][1] = a[1][0] = o->sx;
	a[1][1] = o->sxx + l1;
	b[0] = o->sy + l0 * OVERHEAD_FIXED0;
	b[1] = o->sxy + l1 * OVERHEAD_SHARE0;
	if (!vgmo__solve(2, a, b, on, th))
		return;
	/* The constant part (workspaces) is in every extra seen: the least
	 * of them bounds it from below, whatever the fit says. */
	o->fixed = fmax(fmax(0.0, th[0]), o->low);
	o->share = fmax(OVERHEAD_SHARE_MIN, th[1]);
}
