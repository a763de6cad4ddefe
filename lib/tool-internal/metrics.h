/*
 * metrics.h - a snapshot in the Prometheus text exposition format 0.0.4
 * (internal; served by the daemon's /metrics).
 *
 * Rendered from a snapshot, never under the engine's lock. A value a device
 * does not report (its VGMO_HAS_* bit is off) or any value of a device that
 * is down has no series at all; a down device keeps vlm_gpu_up 0.
 */
#ifndef VGMO_LIB_METRICS_H
#define VGMO_LIB_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "vgmo/vgmo.h"

/* What the daemon knows beside the snapshot. */
typedef struct vgmo__metrics_extra {
	bool monitoring;   /* the monitoring loop is on */
	bool ready;        /* /ready would answer 200 */
	double started_at; /* wall seconds the daemon started; <= 0 unknown */
} vgmo__metrics_extra;

/* Content-Type of the rendered text. */
#define VGMO__METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Renders `s` (and `x`, which may be NULL: its families are then left out)
 * into a NUL-terminated buffer the caller frees with free(); its length
 * goes to *len (may be NULL). NULL when out of memory. */
char *vgmo__metrics_render(const vgmo_snapshot *s, const vgmo__metrics_extra *x,
                           size_t *len);

#endif
