/*
 * vgmo/engine.h - the engine: creating it on a backend, its loop, its
 * settings and history, the simulated workload.
 * Part of the public API: include vgmo/vgmo.h, which includes every part.
 */

#ifndef VGMO_ENGINE_H
#define VGMO_ENGINE_H

#include "vgmo/common.h"
#include "vgmo/error.h"
#include "vgmo/config.h"
#include "vgmo/gpu.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- backend */

typedef struct vgmo_sim_options {
	const char *preset; /* "h100-80gb" (default), "a100-40gb", "l4-24gb" */
	unsigned gpus;      /* simulated GPUs, default 1 */
	uint64_t seed;      /* default 1 */
	const char *workload; /* "vlm" (default) or "none" */
} vgmo_sim_options;

typedef struct vgmo_engine_options {
	const char *backend;  /* "auto" (default), "sim", "nvml" */
	vgmo_sim_options sim; /* for the sim backend */
	/* NULL: VGMO_NVML_LIBRARY, then the default library names. */
	const char *nvml_library;
	/* Longest a backend call may block before the device is reported as
	 * hung (seconds); 0: the config's monitoring_interval. */
	double call_timeout;
	const vgmo_clock *clock; /* NULL: real clocks; copied */
	size_t history_capacity; /* optimization history ring, default 1000 */
	/* Prior per-item cost for a worker with no reports yet (bytes);
	 * 0 means the built-in conservative prior (1 GiB). */
	uint64_t prior_item_bytes;
	/* A leased worker (a registered client) that has not reported for
	 * this long is unhealthy; after twice as long it is dropped and its
	 * share released. 0: VGMO_DEFAULT_LEASE_SECONDS. */
	double lease_seconds;
} vgmo_engine_options;

VGMO_API void vgmo_engine_options_init(vgmo_engine_options *opts);

/* Names of the simulated GPU presets, NULL-terminated. */
VGMO_API const char *const *vgmo_sim_presets(void);

/* ----------------------------------------------------------------- engine */

typedef struct vgmo_engine vgmo_engine;

/* Action names, as the seed's optimizer used them. */
#define VGMO_ACTION_MEMORY_CLEANUP "memory_cleanup"
#define VGMO_ACTION_CRITICAL "critical_optimization"
#define VGMO_ACTION_BATCH "batch_size_optimization"
#define VGMO_ACTION_NONE "no_optimization_needed"
#define VGMO_ACTION_DISABLED "optimization_disabled"
#define VGMO_ACTION_INTERVAL "optimization_interval_not_reached"
#define VGMO_ACTION_OOM_BACKOFF "oom_backoff"
#define VGMO_ACTION_MANUAL "manual_batch_size"

/* The seed's MemoryOptimizationResult, plus when and why. */
typedef struct vgmo_result {
	bool success;
	char action_taken[48];
	double memory_freed_mb; /* MiB, measured; [U:neg] (not measured) */
	int new_batch_size;     /* [U:zero]: unchanged / not applicable */
	bool gc_performed;
	bool fragmentation_reduced;
	char error_message[VGMO_REASON_MAX];
	double timestamp;   /* wall seconds */
	int old_batch_size; /* batch size before the action */
	char worker[64];    /* worker whose batch size the action set, or "" */
	char reason[VGMO_REASON_MAX]; /* human explanation */
} vgmo_result;

/* Creates an engine, opens the backend and takes a first sample. For
 * backend "auto", `notice` (if non-NULL) receives a one-line reason when the
 * engine fell back to the simulated GPU. */
VGMO_API vgmo_err vgmo_engine_create(vgmo_engine **out, const vgmo_config *cfg,
                                     const vgmo_engine_options *opts, char *err,
                                     size_t errlen);
VGMO_API void vgmo_engine_destroy(vgmo_engine *e);

/* "sim" or "nvml": the backend actually in use. */
VGMO_API const char *vgmo_engine_backend(const vgmo_engine *e);
/* One-line notice from backend selection ("" when none). */
VGMO_API const char *vgmo_engine_notice(const vgmo_engine *e);

/* Reads every device now and classifies it. A device that fails is marked
 * down; the others are still read. Returns VGMO_ERR_BACKEND only when no
 * device could be read at all. */
VGMO_API vgmo_err vgmo_engine_sample(vgmo_engine *e);

/* Runs one optimization pass. Unless `force`, it only acts when
 * optimization_interval has passed since the last pass or a device's status
 * worsened since then. `out` (may be NULL) receives the result. */
VGMO_API vgmo_err vgmo_engine_optimize(vgmo_engine *e, bool force,
                                       vgmo_result *out);

/* Runs the registered cleanup callbacks and the backend's own cleanup,
 * re-samples, and reports the bytes actually freed. */
VGMO_API vgmo_err vgmo_engine_cleanup(vgmo_engine *e, vgmo_result *out);

/* One step of the background loops at the current clock time: samples when
 * monitoring_interval has passed, optimizes when due (or at once when a
 * status worsened), cleans up when due and usage exceeds gc_threshold or
 * fragmentation exceeds fragmentation_threshold. */
VGMO_API vgmo_err vgmo_engine_tick(vgmo_engine *e);

/* One pass of a background loop that last stepped `elapsed` seconds ago
 * (real time): an engine on a virtual clock (the simulated GPU) advances
 * its workload by that much, at most one second per step (a loop that
 * fell behind lags instead of spiralling), and ticks as it goes; any
 * other engine ticks. What `vgmo serve` and the Python optimizer call. */
VGMO_API vgmo_err vgmo_engine_step(vgmo_engine *e, double elapsed);

/* Cleanup hook: frees what it can and returns the bytes it believes it freed
 * (informational; the engine measures the device before and after). */
typedef uint64_t (*vgmo_cleanup_fn)(void *ctx);
VGMO_API vgmo_err vgmo_engine_add_cleanup(vgmo_engine *e, vgmo_cleanup_fn fn,
                                          void *ctx);

VGMO_API vgmo_err vgmo_engine_get_config(const vgmo_engine *e,
                                         vgmo_config *out);
/* Validates, then replaces the config; nothing changes on error. */
VGMO_API vgmo_err vgmo_engine_set_config(vgmo_engine *e, const vgmo_config *cfg,
                                         char *err, size_t errlen);
VGMO_API void vgmo_engine_set_enabled(vgmo_engine *e, bool enabled);

/* The seed's start_monitoring()/stop_monitoring(): while monitoring is off,
 * vgmo_engine_tick does nothing (no sampling, optimizing or cleanup);
 * worker reports are still learned from. On at creation. */
VGMO_API void vgmo_engine_set_monitoring(vgmo_engine *e, bool on);
VGMO_API bool vgmo_engine_monitoring(const vgmo_engine *e);

/* Copies up to `max` history results recorded since sequence number `seq`
 * (counters.history_total at an earlier call; 0 for all), oldest first, and
 * returns how many; *next receives the sequence number to pass next time.
 * Results that fell out of the ring in between are skipped. */
VGMO_API size_t vgmo_engine_history_since(vgmo_engine *e, uint64_t seq,
                                          vgmo_result *out, size_t max,
                                          uint64_t *next);

/* Puts a result saved earlier (e.g. by a daemon before a restart) back into
 * the history, as the newest entry. Counters are not changed. */
VGMO_API void vgmo_engine_history_restore(vgmo_engine *e, const vgmo_result *r);

/* ------------------------------------------------------------- simulation */

/* Advances a sim-backed engine's synthetic workload on its virtual clock by
 * `seconds`: the simulated worker asks for its batch size, runs the batch,
 * reports it, and the engine ticks. VGMO_ERR_STATE on another backend. */
VGMO_API vgmo_err vgmo_engine_sim_run(vgmo_engine *e, double seconds);

#ifdef __cplusplus
}
#endif

#endif /* VGMO_ENGINE_H */
