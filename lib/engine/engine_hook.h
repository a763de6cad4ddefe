/*
 * engine_hook.h - the narrow way in for what drives the engine from
 * outside (internal): lib/sim/'s synthetic workload and benchmark. They
 * use the public API plus these few calls, never the engine's struct
 * (engine_internal.h is the engine's own). The engine calls nothing of
 * theirs: a driver hands it a run/free pair (vgmo__driver).
 *
 * Threads: everything here belongs to the one writer thread, as
 * vgmo_engine_tick does.
 */
#ifndef VGMO_LIB_ENGINE_HOOK_H
#define VGMO_LIB_ENGINE_HOOK_H

#include <stdbool.h>

#include "backend.h"
#include "vgmo/vgmo.h"

/* A workload that runs on the engine's virtual clock. */
typedef struct vgmo__driver {
	/* Runs the workload `seconds` on; VGMO_ERR_STATE when it cannot (the
	 * engine is not on its virtual clock): vgmo_engine_step then ticks. */
	vgmo_err (*run)(void *ctx, double seconds);
	void (*free)(void *ctx);
	void *ctx;
} vgmo__driver;

/* vgmo_engine_create in two halves, a driver started between them: opens
 * the engine, its backend and its default worker; then takes the first
 * sample and starts the intervals. */
vgmo_err vgmo__engine_open(vgmo_engine **out, const vgmo_config *cfg,
                           const vgmo_engine_options *opts, char *err,
                           size_t errlen);
void vgmo__engine_start(vgmo_engine *e);

/* Hands the engine its driver: vgmo_engine_step runs it, and
 * vgmo_engine_destroy frees it. */
void vgmo__engine_set_driver(vgmo_engine *e, const vgmo__driver *d);
/* The context of the engine's driver when its run is `run`, else NULL. */
void *vgmo__engine_driver(const vgmo_engine *e,
                          vgmo_err (*run)(void *ctx, double seconds));

/* The backend in use and its context, for the backend's own typed entry
 * points (vgmo__sim_of). */
void *vgmo__engine_backend(const vgmo_engine *e, const vgmo__backend_ops **ops);
/* Empties what the backend itself caches on device `dev` (nothing when it
 * caches nothing). */
void vgmo__engine_backend_cleanup(vgmo_engine *e, unsigned dev);

/* The engine's clocks (its own, the caller's or the virtual one). */
double vgmo__engine_now(const vgmo_engine *e);
double vgmo__engine_wall(const vgmo_engine *e);
/* Whether the engine runs on its virtual clock, which the driver moves on
 * with vgmo__engine_advance (never back). */
bool vgmo__engine_virtual(const vgmo_engine *e);
void vgmo__engine_advance(vgmo_engine *e, double t);
/* Mono time of the last sample; < 0 before the first. */
double vgmo__engine_last_sample(const vgmo_engine *e);

/* Marks worker `id` as run by the driver: the backend counts its memory,
 * and a client may take it over. */
void vgmo__engine_worker_simulated(vgmo_engine *e, int id);

#endif
