/*
 * model.h - a worker's memory model, learned online (internal).
 *
 * peak(n) = fixed + item * n, fitted by exponentially weighted least squares
 * over the reported (items, peak bytes) pairs, with noise that grows with
 * sqrt(n) (items are independent). Until two distinct batch sizes have been
 * seen the model is deliberately pessimistic: the intercept is the memory
 * the worker holds between batches (or 0) and the whole rest of the peak is
 * charged to the items.
 */
#ifndef VGMO_LIB_MODEL_H
#define VGMO_LIB_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "vgmo/vgmo.h"

typedef struct vgmo__model {
	double decay;       /* weight kept per new report (0.99) */
	double prior_item;  /* per-item bytes before any report */
	double prior_fixed; /* fixed bytes before any report (0) */
	/* Intercept = the reported base; fit the slope alone, and take the
	 * noise from the fit's own residuals. */
	bool pin_base;
	double w, sn, snn, sp, snp; /* weighted sums */
	double noise_w, noise_s;    /* weighted mean of residual^2 / n */
	double spp_n, sp_n, s1_n;   /* sums of p^2/n, p/n, 1/n (pin_base) */
	double base;                /* memory held between batches, 0 unknown */
	double last_n;
	bool distinct; /* two different batch sizes seen */
	unsigned samples;
	int ceiling; /* a batch size that ended in OOM; 0: none */
	unsigned clean_since_oom;
} vgmo__model;

void vgmo__model_init(vgmo__model *m, double prior_item);
/* Prior intercept (bytes held whatever the batch) before any report. */
void vgmo__model_set_prior_fixed(vgmo__model *m, double fixed);
/* Adds one successful batch: `items` >= 1, `peak` bytes, `base` bytes held
 * between batches (0: not reported). */
void vgmo__model_add(vgmo__model *m, uint32_t items, double peak, double base);
/* Records an OOM at `items`: no batch this large is recommended until the
 * worker has run cleanly for a while. */
void vgmo__model_oom(vgmo__model *m, uint32_t items);
/* Predicted peak bytes at n items, and the safety margin to add to it. */
double vgmo__model_predict(const vgmo__model *m, double n);
double vgmo__model_margin(const vgmo__model *m, double n);
/* Current coefficients (prior ones when not fitted). */
void vgmo__model_coefficients(const vgmo__model *m, double *fixed, double *item,
                              double *sigma);
bool vgmo__model_fitted(const vgmo__model *m);

#endif
