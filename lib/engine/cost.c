/*
 * cost.c - a worker's memory cost, learned online (cost.h).
 */
#include "cost.h"
#include "vgmo/common.h"

#include <math.h>
#include <string.h>

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

void vgmo__cost_init(vgmo__cost *c, unsigned k, const double *prior,
                     double prior_base)
{
	memset(c, 0, sizeof(*c));
	c->k = k < 1 ? 1 : k > VGMO__COST_MAX ? VGMO__COST_MAX : k;
	for (unsigned j = 0; j < c->k; j++)
		c->prior[j] = prior && prior[j] > 0 ? prior[j] : 0;
	memcpy(c->theta, c->prior, sizeof(c->theta));
	c->prior_base = prior_base > 0 ? prior_base : 0;
	c->lr_max = -INFINITY;
}

bool vgmo__cost_fitted(const vgmo__cost *c)
{
	return c->samples > 0;
}

double vgmo__cost_base(const vgmo__cost *c)
{
	return c->base > 0 ? c->base : c->prior_base;
}

double vgmo__cost_variable(const vgmo__cost *c, const double *x)
{
	double v = 0;

	for (unsigned j = 0; j < c->k; j++)
		v += c->theta[j] * x[j];
	return v > 0 ? v : 0;
}

/* Solves a x = b for the features marked in `on` (the others are 0), by
 * Gaussian elimination with partial pivoting. False when singular. */
static bool solve(unsigned k, double a[VGMO__COST_MAX][VGMO__COST_MAX],
                  double *b, const bool *on, double *x)
{
	double m[VGMO__COST_MAX][VGMO__COST_MAX + 1];
	unsigned idx[VGMO__COST_MAX], n = 0;

	for (unsigned j = 0; j < k; j++)
		if (on[j])
			idx[n++] = j;
	for (unsigned r = 0; r < n; r++) {
		for (unsigned s = 0; s < n; s++)
			m[r][s] = a[idx[r]][idx[s]];
		m[r][n] = b[idx[r]];
	}
	for (unsigned col = 0; col < n; col++) {
		unsigned piv = col;

		for (unsigned r = col + 1; r < n; r++)
			if (fabs(m[r][col]) > fabs(m[piv][col]))
				piv = r;
		if (!(fabs(m[piv][col]) > 1e-300))
			return false;
		if (piv != col)
			for (unsigned s = 0; s <= n; s++) {
				double t = m[col][s];

				m[col][s] = m[piv][s];
				m[piv][s] = t;
			}
		for (unsigned r = 0; r < n; r++) {
			double f;

			if (r == col)
				continue;
			f = m[r][col] / m[col][col];
			for (unsigned s = col; s <= n; s++)
				m[r][s] -= f * m[col][s];
		}
	}
	for (unsigned j = 0; j < k; j++)
		x[j] = 0;
	for (unsigned r = 0; r < n; r++)
		x[idx[r]] = m[r][n] / m[r][r];
	return true;
}

/* The ridge fit: (Sxx + L) theta = Sxy + L prior, with L the prior's
 * weight at the features' typical size, theta >= 0 (a negative cost is
 * fixed at 0 and the rest refitted). */
static void refit(vgmo__cost *c)
{
	double a[VGMO__COST_MAX][VGMO__COST_MAX], b[VGMO__COST_MAX];
	double th[VGMO__COST_MAX];
	bool on[VGMO__COST_MAX];

	if (!(c->sw > 0))
		return;
	for (unsigned i = 0; i < c->k; i++) {
		double s = i == 0 ? 1.0 : c->sx[i] / c->sw;
		double l = (i == 0 ? PRIOR_INTERCEPT : PRIOR_SLOPE) * s * s;

		if (!(l > 0))
			l = 1e-12;
		for (unsigned j = 0; j < c->k; j++)
			a[i][j] = c->sxx[i][j];
		a[i][i] += l;
		b[i] = c->sxy[i] + l * c->prior[i];
		on[i] = true;
	}
	for (unsigned round = 0; round < c->k; round++) {
		unsigned worst = c->k;

		if (!solve(c->k, a, b, on, th))
			return; /* keep the previous fit */
		for (unsigned j = 0; j < c->k; j++)
			if (on[j] && th[j] < 0 &&
			    (worst == c->k || th[j] < th[worst]))
				worst = j;
		if (worst == c->k)
			break;
		on[worst] = false;
	}
	for (unsigned j = 0; j < c->k; j++)
		c->theta[j] = th[j] > 0 ? th[j] : 0;
}

static double sigma(const vgmo__cost *c)
{
	return sqrt((KAPPA0 * SIGMA0 * SIGMA0 + c->lr_w * c->lr_var) /
	            (KAPPA0 + c->lr_w));
}

static double mean(const vgmo__cost *c)
{
	return c->lr_w / (KAPPA0 + c->lr_w) * c->lr_mean;
}

/* Old reports lose most of their weight: the workload changed. */
static void forget(vgmo__cost *c)
{
	c->sw *= SHIFT_KEEP;
	for (unsigned i = 0; i < c->k; i++) {
		c->sx[i] *= SHIFT_KEEP;
		c->sxy[i] *= SHIFT_KEEP;
		for (unsigned j = 0; j < c->k; j++)
			c->sxx[i][j] *= SHIFT_KEEP;
	}
	c->lr_w *= SHIFT_KEEP;
	c->cusum = 0;
	c->shifts++;
}

static void add_point(vgmo__cost *c, const double *x, double y);

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
	c->lr_max = fmax(wt >= 1 ? lr : -INFINITY, c->lr_max - LRMAX_FADE);
	if (c->cusum > CUSUM_H)
		forget(c);
}

void vgmo__cost_add(vgmo__cost *c, const double *x, double peak, double base)
{
	double pred, y;

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
	if (pred > 0 && y > 0 && c->samples > 0)
		observe(c, log(y / pred), pred);
	c->samples++;
	add_point(c, x, y);
}

/* Adds one point to the regression's sums. */
static void add_point(vgmo__cost *c, const double *x, double y)
{
	c->sw = c->sw * DECAY + 1;
	for (unsigned i = 0; i < c->k; i++) {
		c->sx[i] = c->sx[i] * DECAY + x[i];
		c->sxy[i] = c->sxy[i] * DECAY + x[i] * y;
		for (unsigned j = 0; j < c->k; j++)
			c->sxx[i][j] = c->sxx[i][j] * DECAY + x[i] * x[j];
	}
	refit(c);
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
		add_point(c, x, over * (1 + OOM_BEYOND));
}

double vgmo__cost_factor(const vgmo__cost *c, double z)
{
	/* A spread estimated from a few errors is itself uncertain: the
	 * quantile widens while they are few (as Student's t would). */
	double widen = 1.0 + 1.0 / fmax(1.0, c->lr_w);

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
	double a[VGMO__COST_MAX][VGMO__COST_MAX] = {{0}}, b[VGMO__COST_MAX];
	double th[VGMO__COST_MAX], s, l0, l1;
	bool on[VGMO__COST_MAX] = {true, true};

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
	if (!solve(2, a, b, on, th))
		return;
	/* The constant part (workspaces) is in every extra seen: the least
	 * of them bounds it from below, whatever the fit says. */
	o->fixed = fmax(fmax(0.0, th[0]), o->low);
	o->share = fmax(OVERHEAD_SHARE_MIN, th[1]);
}
