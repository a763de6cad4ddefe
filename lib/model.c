/*
 * model.c - online fit of a worker's peak memory per batch.
 */
#include "model.h"

#include <math.h>
#include <string.h>

/* Reports at the ceiling's size minus one before it is relaxed by one. */
#define CEILING_RELAX_REPORTS 64
/* Floor on the noise estimate, as a fraction of the per-item cost. */
#define MIN_RELATIVE_NOISE 0.02

void vgmo__model_init(vgmo__model *m, double prior_item)
{
	memset(m, 0, sizeof(*m));
	m->decay = 0.99;
	m->prior_item = prior_item;
}

void vgmo__model_set_prior_fixed(vgmo__model *m, double fixed)
{
	m->prior_fixed = fixed > 0 ? fixed : 0;
}

bool vgmo__model_fitted(const vgmo__model *m)
{
	return m->samples > 0;
}

/* Weighted least squares over the decayed sums. Returns false when the
 * batch sizes seen so far do not determine a slope. */
static bool fit(const vgmo__model *m, double *a, double *b)
{
	double det = m->w * m->snn - m->sn * m->sn;

	if (!m->distinct || m->w <= 0 || det <= 1e-9 * m->w * m->snn)
		return false;
	*b = (m->w * m->snp - m->sn * m->sp) / det;
	*a = (m->sp - *b * m->sn) / m->w;
	return true;
}

void vgmo__model_coefficients(const vgmo__model *m, double *fixed, double *item,
                              double *sigma)
{
	double a = m->prior_fixed, b = m->prior_item;

	if (m->samples > 0 && m->pin_base && m->base > 0 && m->snn > 0) {
		/* Costs per unit vary little around the batches seen, so a free
		 * intercept is ill-determined: pin it at the memory the worker
		 * holds between batches and fit the slope alone. */
		a = m->base;
		b = fmax(0.0, (m->snp - m->base * m->sn) / m->snn);
	} else if (m->samples > 0 && !fit(m, &a, &b)) {
		/* One batch size only: pessimistic split of the mean peak. */
		double mean_p = m->sp / m->w, n = m->sn / m->w;

		a = m->base > 0 && m->base < mean_p ? m->base : 0;
		b = (mean_p - a) / n;
	} else if (m->samples > 0) {
		/* A slope below zero or an intercept below what the worker
		 * holds anyway is noise; keep the estimate pessimistic. */
		double mean_p = m->sp / m->w, n = m->sn / m->w;

		if (b < 0)
			b = 0;
		/* The intercept cannot be below what the worker holds between
		 * batches: refit the slope through the weighted mean. */
		if (m->base > 0 && a < m->base && m->base < mean_p) {
			a = m->base;
			b = (mean_p - a) / n;
		}
	}
	if (fixed)
		*fixed = a;
	if (item)
		*item = b;
	if (sigma && m->pin_base && m->samples >= 2 && m->w > 1) {
		/* In-sample residuals of the pinned fit, per unit. */
		double ss = m->spp_n - 2 * a * m->sp_n + a * a * m->s1_n -
		            2 * b * (m->sp - a * m->w) + b * b * m->sn;

		*sigma = fmax(sqrt(fmax(0.0, ss) / (m->w - 1)),
		              MIN_RELATIVE_NOISE * b);
	} else if (sigma) {
		double s = m->noise_w > 0 ? sqrt(m->noise_s / m->noise_w) : 0;

		*sigma = fmax(s, MIN_RELATIVE_NOISE * b);
	}
}

double vgmo__model_predict(const vgmo__model *m, double n)
{
	double a, b;

	vgmo__model_coefficients(m, &a, &b, NULL);
	return a + b * n;
}

double vgmo__model_margin(const vgmo__model *m, double n)
{
	double b, sigma, z;

	vgmo__model_coefficients(m, NULL, &b, &sigma);
	if (m->samples == 0)
		return 0.25 * b * n; /* the prior is a guess: 25 % on top */
	/* About 2.5 standard deviations, wider while data is thin. */
	z = 2.5 + 4.0 / sqrt((double)m->samples);
	return z * sigma * sqrt(n);
}

void vgmo__model_add(vgmo__model *m, uint32_t items, double peak, double base)
{
	double n = items;

	if (items == 0 || !(peak > 0) || !isfinite(peak))
		return;
	if (m->samples > 0) {
		/* Noise from the prediction error before this point is added,
		 * so the estimate is honest out of sample. */
		double r = peak - vgmo__model_predict(m, n);

		m->noise_s = m->noise_s * m->decay + r * r / n;
		m->noise_w = m->noise_w * m->decay + 1;
		if (n != m->last_n)
			m->distinct = true;
	}
	m->w = m->w * m->decay + 1;
	m->sn = m->sn * m->decay + n;
	m->snn = m->snn * m->decay + n * n;
	m->sp = m->sp * m->decay + peak;
	m->snp = m->snp * m->decay + n * peak;
	m->spp_n = m->spp_n * m->decay + peak * peak / n;
	m->sp_n = m->sp_n * m->decay + peak / n;
	m->s1_n = m->s1_n * m->decay + 1 / n;
	if (base > 0)
		m->base = base;
	m->last_n = n;
	m->samples++;
	if (m->ceiling > 0 && ++m->clean_since_oom >= CEILING_RELAX_REPORTS) {
		m->ceiling++;
		m->clean_since_oom = 0;
	}
}

void vgmo__model_oom(vgmo__model *m, uint32_t items)
{
	if (items == 0)
		return;
	if (m->ceiling == 0 || (int)items < m->ceiling)
		m->ceiling = (int)items;
	m->clean_since_oom = 0;
}
