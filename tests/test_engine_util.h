/*
 * test_engine_util.h - engines on the simulated GPU for the test_engine*
 * executables.
 */
#ifndef VGMO_TEST_ENGINE_UTIL_H
#define VGMO_TEST_ENGINE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "engine_internal.h"

/* An engine on the simulated GPU with `workload`, `seed` and `history`
 * snapshots kept; fails the test when it cannot be made. The caller owns
 * it (vgmo_engine_destroy). */
vgmo_engine *make(const vgmo_config *cfg, const char *workload, uint64_t seed,
                  size_t history);
/* make() with the default config, seed 1 and 1000 snapshots. */
vgmo_engine *make_default(const char *workload);
/* An engine on an otherwise idle simulated GPU (max_batch_size 64) with
 * one tokens worker *id of model preset `model`, laid out with `padding`,
 * the device sampled. */
vgmo_engine *make_tokens_worker(int *id, const char *model,
                                vgmo_padding padding);

#endif
