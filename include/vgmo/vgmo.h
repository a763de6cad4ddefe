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
 *  - Unknown values. A field that may be unknown says in its comment which
 *    of these marks it (tagged [U:...]); while unknown its value is
 *    meaningless and never shown as a number. Every renderer shows it the
 *    same way: JSON null, no Prometheus series in /metrics, "-" in tables
 *    (`vgmo status`, `vgmo history`), an empty cell in CSV.
 *      [U:bit]   a VGMO_HAS_* bit of vgmo_gpu_sample.present is off, or the
 *                device is down (`up` false): then every optional field of
 *                the sample is unknown, whatever its bit says;
 *      [U:flag]  a bool beside it is false (has_budget, has_fragmentation);
 *      [U:neg]   the value is negative (< 0);
 *      [U:zero]  the value is 0 (a count, an id or a size that is never 0
 *                when known);
 *      [U:max]   the value is UINT64_MAX;
 *      [U:empty] the string is "".
 *    A value derived from an unknown one is unknown too: a worker's budget
 *    and share while its GPU is down or its memory unknown, a GPU's memory
 *    status while its memory is unknown.
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
