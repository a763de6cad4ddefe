/*
 * engine_settings.h - what engine_settings.c (the shared arithmetic) and
 * engine_rules.c (each engine's allocation rule) share (internal).
 */
#ifndef VGMO_LIB_ENGINE_SETTINGS_H
#define VGMO_LIB_ENGINE_SETTINGS_H

#include "vgmo/vgmo.h"

#define TGI_WIGGLE 0.90 /* TGI_WIGGLE_ROOM, the TGI server's default */

/* What every engine shares: the share, the request's tokens, the
 * activation peak and the cost of one more sequence. */
typedef struct vgmo__serving_common {
	double total, free, margin, share, context, weights, ws;
	double act, per_seq, logits, kv_tok, kv_seq, base;
	double images, image_tokens, prompt, len;
	int n_fit;
} vgmo__serving_common;

/* Bytes in GiB; fractions with two decimals, as users write them. */
double vgmo__serving_gib(double b);
double vgmo__serving_frac_floor(double x);
double vgmo__serving_frac_ceil(double x);
/* Adds a flag to the plan (up to VGMO_SERVING_MAX_FLAGS). */
void vgmo__serving_add_flag(vgmo_serving_plan *p, const char *name,
                            const char *why, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
void vgmo__serving_why_fraction(char *buf, size_t n,
                                const vgmo__serving_common *c,
                                const vgmo_serving_plan *p, const char *rule);
void vgmo__serving_common_tail(vgmo_serving_plan *p,
                               const vgmo__serving_common *c, double instance);
const char *vgmo__serving_seqs_why(const vgmo_serving_request *r,
                                   const vgmo_serving_plan *p, char *buf,
                                   size_t n);
void vgmo__serving_fit_seqs(vgmo_serving_plan *p, double fit);

/* Each engine's rule: fills the plan from what every engine shares. */
void vgmo__serving_vllm(vgmo_serving_plan *p, const vgmo__serving_common *c,
                        const vgmo_serving_request *r, const vgmo_vlm_model *m);
void vgmo__serving_sglang(vgmo_serving_plan *p, const vgmo__serving_common *c,
                          const vgmo_serving_request *r);
void vgmo__serving_tgi(vgmo_serving_plan *p, const vgmo__serving_common *c,
                       const vgmo_serving_request *r);
void vgmo__serving_transformers(vgmo_serving_plan *p,
                                const vgmo__serving_common *c,
                                const vgmo_serving_request *r);

#endif
