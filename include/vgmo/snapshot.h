/*
 * vgmo/snapshot.h - a consistent copy of the engine's state, for reading
 * and rendering.
 * Part of the public API: include vgmo/vgmo.h, which includes every part.
 */

#ifndef VGMO_SNAPSHOT_H
#define VGMO_SNAPSHOT_H

#include "vgmo/common.h"
#include "vgmo/error.h"
#include "vgmo/config.h"
#include "vgmo/gpu.h"
#include "vgmo/engine.h"
#include "vgmo/worker.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --------------------------------------------------------------- snapshot */

typedef struct vgmo_model_view {
	bool fitted;        /* false: prior in use */
	unsigned samples;   /* reports fitted */
	double fixed_bytes; /* held between batches, plus the intercept */
	double item_bytes;  /* per item (items workers) or per prompt token */
	/* The margin at the balanced strategy, in bytes per item or prompt
	 * token: item_bytes x (factor - 1), the factor coming from the
	 * model's own out-of-sample errors. */
	double sigma_bytes;
	int ceiling; /* batch size that OOMed; [U:zero] (none yet) */
} vgmo_model_view;

typedef struct vgmo_worker_view {
	int id;
	char name[64];
	unsigned gpu;
	double weight;
	int batch_size;
	int optimal_batch_size; /* [U:zero] until first planned */
	int manual_batch_size;  /* [U:zero]: no override */
	/* false while unknown: before the first sample, while the GPU is
	 * down or its memory unknown, for an idle worker beside busy ones */
	bool has_budget;
	uint64_t budget_bytes; /* memory granted; [U:flag] has_budget */
	bool has_fragmentation;
	double fragmentation; /* 0..1; [U:flag] has_fragmentation */
	uint64_t reports;
	uint64_t ooms;
	vgmo_model_view model;
	double throughput;      /* items/s at the current size; [U:neg] */
	char unit[12];          /* "items", "images", "tokens" */
	bool leased;            /* a registered client */
	bool healthy;           /* reported within its lease */
	double last_report_age; /* seconds; [U:neg]: never reported */
	double share; /* of its GPU's budget, 0..1; [U:flag] has_budget */
	/* A tokens worker's declarations ([U:zero]: UNKNOWN, not declared). */
	vgmo_padding padding;
	vgmo_attention attention, vision_attention;
	vgmo_logits logits;
} vgmo_worker_view;

typedef struct vgmo_snapshot vgmo_snapshot;

/* A consistent copy of the engine's state, taken under its lock. Caller
 * frees with vgmo_snapshot_free. Safe to read from any thread. */
VGMO_API vgmo_err vgmo_engine_snapshot(vgmo_engine *e, vgmo_snapshot **out);
VGMO_API void vgmo_snapshot_free(vgmo_snapshot *s);

/* Flags of vgmo_engine_snapshot_ex. */
enum {
	VGMO_SNAPSHOT_HISTORY = 1u << 0 /* copy the optimization history */
};
/* vgmo_engine_snapshot copies everything; this one only what `flags`
 * ask for beyond the devices, workers, config and counters (a /metrics
 * scrape needs no history). */
VGMO_API vgmo_err vgmo_engine_snapshot_ex(vgmo_engine *e, unsigned flags,
                                          vgmo_snapshot **out);

/* One worker's view, taken under the lock like a snapshot but without
 * copying everything (a snapshot costs O(workers + history); this is what
 * answers a client's report). *gpu_total (may be NULL) gets the memory of
 * the worker's device, 0 when unknown ([U:zero]). VGMO_ERR_NOT_FOUND when
 * there is no such worker. */
VGMO_API vgmo_err vgmo_engine_worker_view(vgmo_engine *e, int worker,
                                          vgmo_worker_view *out,
                                          uint64_t *gpu_total);

VGMO_API const char *vgmo_snapshot_backend(const vgmo_snapshot *s);
VGMO_API double vgmo_snapshot_time(const vgmo_snapshot *s);
VGMO_API bool vgmo_snapshot_enabled(const vgmo_snapshot *s);
VGMO_API const vgmo_config *vgmo_snapshot_config(const vgmo_snapshot *s);
VGMO_API size_t vgmo_snapshot_gpu_count(const vgmo_snapshot *s);
VGMO_API const vgmo_gpu_sample *vgmo_snapshot_gpu(const vgmo_snapshot *s,
                                                  size_t i);
VGMO_API vgmo_status vgmo_snapshot_gpu_status(const vgmo_snapshot *s, size_t i);
/* Overall status: the worst of all devices that are up. */
VGMO_API vgmo_status vgmo_snapshot_status(const vgmo_snapshot *s);
/* Index of the most loaded device that is up (memory known); [U:neg]: -1
 * when none is. */
VGMO_API int vgmo_snapshot_most_loaded(const vgmo_snapshot *s);
VGMO_API size_t vgmo_snapshot_worker_count(const vgmo_snapshot *s);
VGMO_API const vgmo_worker_view *vgmo_snapshot_worker(const vgmo_snapshot *s,
                                                      size_t i);
/* History, oldest first. */
VGMO_API size_t vgmo_snapshot_history_count(const vgmo_snapshot *s);
VGMO_API const vgmo_result *vgmo_snapshot_history(const vgmo_snapshot *s,
                                                  size_t i);
/* Counters since the engine started. */
typedef struct vgmo_counters {
	uint64_t optimizations;
	uint64_t optimizations_success;
	uint64_t optimization_failures;
	uint64_t cleanups;
	uint64_t batch_size_changes;
	uint64_t freed_bytes;
	uint64_t samples;
	uint64_t history_total; /* results ever recorded (restores excluded) */
} vgmo_counters;
VGMO_API const vgmo_counters *vgmo_snapshot_counters(const vgmo_snapshot *s);
/* Leased workers dropped on device `gpu` since the engine started. */
VGMO_API uint64_t vgmo_snapshot_leases_expired(const vgmo_snapshot *s,
                                               size_t gpu);
/* Device memory no worker's reported reserved bytes explain; false when
 * unknown (the device is down or its memory unknown). */
VGMO_API bool vgmo_snapshot_unattributed(const vgmo_snapshot *s, size_t gpu,
                                         uint64_t *bytes);

/* The seed's get_memory_status() as JSON (plus "backend", "gpus",
 * "workers" and "counters"); every unknown value is null (vgmo.h).
 * Caller frees with free(). */
VGMO_API char *vgmo_snapshot_status_json(const vgmo_snapshot *s, int indent);

#ifdef __cplusplus
}
#endif

#endif /* VGMO_SNAPSHOT_H */
