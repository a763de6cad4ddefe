/*
 * timing.h - how long a tokens worker's batch runs, learned online from
 * the seconds it reports (internal):
 *
 *   seconds = tau . t
 *   t = (1, requests, prompt tokens, their square per sequence, steps,
 *        prompt tokens x steps, requests x steps, image tokens, image
 *        tokens squared per request, requests x steps squared)
 *
 * where prompt tokens are laid out as the worker does (a padded worker's
 * are requests x the longest) and steps are the batch's largest
 * max_new_tokens (the decode runs until its longest request stops). The
 * prefill is compute (tokens, and attention over their square); the
 * vision encoder's, over the image tokens (never padded) and attention
 * within each request's images; each decode step reads the weights (the
 * constant per step, shared by the batch), the cache (the prompt's, and
 * the generated tokens', which grows with every step) and computes per
 * request. Weighted least squares, costs kept >= 0, old reports fading,
 * a light ridge toward 0: it has no prior, and decides nothing until it
 * has seen enough reports and explains them: its errors, measured before
 * it learns each report, at most half (in mean square) of those of a
 * constant guess, the mean time (vgmo__timing_ready). A request's
 * generated length varies around its max_new_tokens, so no model of
 * these features predicts a single batch closely; the test is whether
 * it tells long batches from short ones.
 *
 * What it decides: where a padded worker's batches are cut (tokens.c).
 * Padding a short request to a long prompt's length costs the prefill of
 * the long prompt again; a long request run alone costs its whole decode
 * again.
 */
#ifndef VGMO_LIB_TIMING_H
#define VGMO_LIB_TIMING_H

#include <stdbool.h>

#include "solve.h"

#define VGMO__TIME_K 10 /* features, the constant included */

typedef struct vgmo__timing_in {
	double requests, prompt, quad, steps, image, image_quad;
} vgmo__timing_in;

typedef struct vgmo__timing {
	double sxx[VGMO__TIME_K][VGMO__TIME_K], sxy[VGMO__TIME_K], sw;
	double tau[VGMO__TIME_K]; /* the current fit, seconds per unit */
	unsigned n;               /* reports seen */
	/* Out-of-sample relative errors, before each report is learned:
	 * their weighted mean square, the model's and the mean time's. */
	double err_w, err_sq, base_sq;
} vgmo__timing;

/* What a batch's features are made of: `requests` requests, `prompt`
 * prompt tokens laid out, `quad` their square per sequence, `steps` its
 * largest max_new_tokens, `image` its image tokens and `image_quad` the
 * sum of their squares per request. */
void vgmo__timing_features(const vgmo__timing_in *in, double *t);

/* A batch of features t ran for `seconds`. */
void vgmo__timing_add(vgmo__timing *m, const double *t, double seconds);

/* Whether the model explains the times well enough to decide. */
bool vgmo__timing_ready(const vgmo__timing *m);

/* Predicted seconds of a batch of features t. */
double vgmo__timing_seconds(const vgmo__timing *m, const double *t);

#endif
