/*
 * test_metrics_util.h - a deterministic simulated engine and its rendering
 * for the test_metrics* executables.
 */
#ifndef VGMO_TEST_METRICS_UTIL_H
#define VGMO_TEST_METRICS_UTIL_H

#include "metrics.h"
#include "metrics_text.h"
#include "vgmo/vgmo.h"

#define WALL0 1700000000.25

/* Both clocks stand still (wall: WALL0). */
extern const vgmo_clock fixed_clock;
/* Up since a minute before WALL0, ready, sampled. */
extern const vgmo__metrics_extra extra;

/* A simulated engine whose every number is fixed: GPUs, seed, clock, and
 * the reports fed to it. The caller owns it (vgmo_engine_destroy). */
vgmo_engine *sim_engine(unsigned gpus, unsigned workers);
/* The engine's snapshot rendered; the caller frees the text. */
char *render(vgmo_engine *e, const vgmo__metrics_extra *x);
/* Every family has HELP and TYPE once, before its samples, and every
 * sample belongs to the family declared last. */
void check_structure(const char *text);

#endif
