/*
 * vgmo.h - the public header of libvgmo, the GPU memory optimizer for
 * vision-language-model inference: it includes every part, one header per
 * area (error.h, config.h, gpu.h, engine.h, worker.h, snapshot.h, plan.h,
 * serving.h, tokens.h, client.h, on common.h).
 *
 * Conventions:
 *  - Every fallible call returns vgmo_err (VGMO_OK == 0). Where a person needs
 *    the reason, the call also fills a caller-supplied buffer `err` of `errlen`
 *    bytes (may be NULL / 0).
 *  - Handles (vgmo_engine, vgmo_snapshot) are opaque; plain structs
 *    (vgmo_config, vgmo_gpu_sample, vgmo_result, ...) are values the caller
 * owns.
 *  - Sizes are bytes (uint64_t), times are seconds (double), fractions are
 * 0..1.
 *  - An optional field a device does not report is flagged absent in `present`
 *    bit masks; its value is then meaningless and must not be shown as 0.
 */
#ifndef VGMO_VGMO_H
#define VGMO_VGMO_H

#include "vgmo/common.h"
#include "vgmo/error.h"
#include "vgmo/config.h"
#include "vgmo/gpu.h"
#include "vgmo/engine.h"
#include "vgmo/worker.h"
#include "vgmo/snapshot.h"
#include "vgmo/plan.h"
#include "vgmo/serving.h"
#include "vgmo/tokens.h"
#include "vgmo/client.h"

#endif /* VGMO_VGMO_H */
