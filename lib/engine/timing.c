/*
 * timing.c - a tokens worker's batch time, learned online (timing.h).
 */
#include <math.h>
#include <string.h>

#include "timing.h"

_Static_assert(VGMO__TIME_K <= VGMO__SOLVE_MAX, "the fit solves for all");

#define DECAY 0.99 /* an older report's weight, per report */
#define RIDGE 1e-4 /* toward 0, per unit of normalised feature */
#define READY_N 20 /* reports before it decides */
/* ... and its mean square error under this share of a constant guess's */
#define READY_SHARE 0.5
#define ERR_KEEP 0.95 /* an older error's weight, per report */

void vgmo__timing_features(const vgmo__timing_in *in, double *t)
{
	t[0] = 1;
	t[1] = in->requests;
	t[2] = in->prompt;
	t[3] = in->quad;
	t[4] = in->steps;
	t[5] = in->prompt * in->steps;
	t[6] = in->requests * in->steps;
	t[7] = in->image;
	t[8] = in->image_quad;
	t[9] = in->requests * in->steps * in->steps;
}

double vgmo__timing_seconds(const vgmo__timing *m, const double *t)
{
	double s = 0;

	for (unsigned j = 0; j < VGMO__TIME_K; j++)
		s += m->tau[j] * t[j];
	return s;
}

bool vgmo__timing_ready(const vgmo__timing *m)
{
	return m->n >= READY_N && m->err_w > 0 &&
	       m->err_sq < READY_SHARE * m->base_sq;
}

/* Non-negative weighted least squares on the sums, each feature scaled
 * to its root mean square (prompt tokens squared and times steps span
 * twelve orders of magnitude). */
static void refit(vgmo__timing *m)
{
	double a[VGMO__SOLVE_MAX][VGMO__SOLVE_MAX], b[VGMO__SOLVE_MAX];
	double x[VGMO__SOLVE_MAX], sc[VGMO__TIME_K];
	bool on[VGMO__SOLVE_MAX];

	for (unsigned i = 0; i < VGMO__TIME_K; i++) {
		double ms = m->sw > 0 ? m->sxx[i][i] / m->sw : 0;

		sc[i] = ms > 0 ? sqrt(ms) : 1;
		on[i] = ms > 0;
	}
	for (unsigned i = 0; i < VGMO__TIME_K; i++) {
		for (unsigned j = 0; j < VGMO__TIME_K; j++)
			a[i][j] = m->sxx[i][j] / (sc[i] * sc[j]);
		a[i][i] += RIDGE * m->sw;
		b[i] = m->sxy[i] / sc[i];
	}
	if (!vgmo__solve_bounded(VGMO__TIME_K, a, b, on, NULL, x))
		return; /* keep the last fit */
	for (unsigned j = 0; j < VGMO__TIME_K; j++)
		m->tau[j] = x[j] / sc[j];
}

void vgmo__timing_add(vgmo__timing *m, const double *t, double seconds)
{
	if (!(seconds > 0) || !isfinite(seconds))
		return;
	for (unsigned j = 0; j < VGMO__TIME_K; j++)
		if (!isfinite(t[j]) || t[j] < 0)
			return;
	/* How well it predicted this one, before learning from it. */
	if (m->n >= VGMO__TIME_K) {
		double e = (seconds - vgmo__timing_seconds(m, t)) / seconds;
		double c = (seconds - m->sxy[0] / m->sw) / seconds; /* mean */

		m->err_sq = (ERR_KEEP * m->err_w * m->err_sq + e * e) /
		            (ERR_KEEP * m->err_w + 1);
		m->base_sq = (ERR_KEEP * m->err_w * m->base_sq + c * c) /
		             (ERR_KEEP * m->err_w + 1);
		m->err_w = ERR_KEEP * m->err_w + 1;
	}
	m->sw = DECAY * m->sw + 1;
	for (unsigned i = 0; i < VGMO__TIME_K; i++) {
		m->sxy[i] = DECAY * m->sxy[i] + t[i] * seconds;
		for (unsigned j = 0; j < VGMO__TIME_K; j++)
			m->sxx[i][j] = DECAY * m->sxx[i][j] + t[i] * t[j];
	}
	m->n++;
	refit(m);
}
