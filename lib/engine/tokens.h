/*
 * tokens.h - what tokens.c shares with units.c and worker_learn.c
 * (internal).
 */
#ifndef VGMO_LIB_TOKENS_H
#define VGMO_LIB_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine_internal.h"

/* Most requests a tokens worker's next batch may have (lock held). */
size_t vgmo__tokens_cap(const vgmo_engine *e, const vgmo__worker *w);

/* Whether a batch that ran vouches for features `x` in `room`: every
 * feature at most its, its peak within the room (lock held). */
bool vgmo__tokens_vouched(const vgmo__worker *w, const double *x, double room);

/* Largest prompt length (tokens) of one request with `out` output tokens,
 * `image_share` of its prompt image tokens, whose need fits `room`. */
uint32_t vgmo__max_prompt(const vgmo__need_in *in, bool packed, double out,
                          double image_share, double room);

#endif
