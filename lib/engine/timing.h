/*
 * timing.h - how long a tokens worker's batch runs, learned online from
 * the seconds it reports (internal):
 *
 *   seconds = tau . t
 *   t = (1, requests, prompt tokens, their square per sequence,
 *        steps, prompt tokens x steps, requests x steps)
 *
 * where prompt tokens are laid out as the worker does (a padded worker's
 * are requests x the longest) and steps are the batch's largest
 * max_new_tokens (the decode runs until its longest request stops). The
 * prefill is compute (tokens, and attention over their square); each
 * decode step reads the weights (the constant per step, shared by the
 * batch), the cache (prompt tokens) and computes per request. Weighted
 * least squares, costs kept >= 0, old reports fading, a light ridge
 * toward 0: it has no prior, and decides nothing until it has seen
 * enough reports and predicts them well (vgmo__timing_ready).
 *
 * What it decides: whether a request joins a padded batch. Padding a
 * short request to a long prompt's length costs the prefill of the long
 * prompt again; running it alone costs its own prefill and decode. When
 * the first is dearer, the batch stops before it (tokens.c).
 */
#ifndef VGMO_LIB_TIMING_H
#define VGMO_LIB_TIMING_H

#include <stdbool.h>

#include "solve.h"

#define VGMO__TIME_K 7 /* features, the constant included */

typedef struct vgmo__timing {
	double sxx[VGMO__TIME_K][VGMO__TIME_K], sxy[VGMO__TIME_K], sw;
	double tau[VGMO__TIME_K]; /* the current fit, seconds per unit */
	unsigned n;               /* reports seen */
	/* Out-of-sample relative errors, before each report is learned:
	 * their weighted mean square. */
	double err_w, err_sq;
} vgmo__timing;

/* The features of a batch of `requests` requests with `prompt` prompt
 * tokens laid out, `quad` their square per sequence, and `steps` its
 * largest max_new_tokens. */
void vgmo__timing_features(double requests, double prompt, double quad,
                           double steps, double *t);

/* A batch of features t ran for `seconds`. */
void vgmo__timing_add(vgmo__timing *m, const double *t, double seconds);

/* Whether the model predicts well enough to decide. */
bool vgmo__timing_ready(const vgmo__timing *m);

/* Predicted seconds of a batch of features t. */
double vgmo__timing_seconds(const vgmo__timing *m, const double *t);

#endif
