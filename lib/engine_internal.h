/*
 * engine_internal.h - the engine's context struct, shared by the files
 * that implement it (engine.c, workers.c, optimize.c, snapshot.c,
 * sim_driver.c). Nothing here is public.
 *
 * Threads: one writer (the sampler/optimizer loop, which also drives the
 * simulated workload) calls sample/optimize/cleanup/tick/sim_run; any
 * thread may call report, set_*, and snapshot. `lock` guards every field
 * below it; backend calls are made without it, so a slow driver never
 * blocks a reader.
 */
#ifndef VGMO_LIB_ENGINE_INTERNAL_H
#define VGMO_LIB_ENGINE_INTERNAL_H

#include <pthread.h>

#include "backend.h"
#include "history.h"
#include "model.h"
#include "policy.h"
#include "units.h"
#include "vgmo/vgmo.h"

typedef struct vgmo__worker {
	int id;
	char name[64];
	unsigned gpu;
	double weight;
	int batch_size;
	int optimal;
	int manual; /* 0: none */
	unsigned since_change;
	bool cleanup_wanted;
	uint64_t last_reserved, last_allocated;
	bool has_frag;
	double frag;
	uint64_t reports, ooms;
	double budget; /* bytes under critical, 0 unknown */
	vgmo__model model;
	vgmo__throughput throughput;
	vgmo__units units; /* sizing by cost unit (units.c); zero: unused */
	char unit[12];     /* the client's cost unit label */
	bool leased;
	bool simulated; /* run by the sim driver: the backend counts it */
	bool unhealthy;
	double last_seen; /* engine mono time of the last report */
	double first_seen;
	double share; /* of the device's budget, < 0 unknown */
	bool has_budget;
	double budget_oom; /* bytes under the OOM threshold */
} vgmo__worker;

typedef struct vgmo__cleanup_hook {
	vgmo_cleanup_fn fn;
	void *ctx;
} vgmo__cleanup_hook;

struct vgmo_engine {
	/* Set at creation, read-only afterwards. */
	const vgmo__backend_ops *ops;
	void *bctx;
	char notice[256];
	vgmo_clock clock;
	bool virtual_clock;
	double vmono, vwall0; /* the virtual clock, when in use */
	unsigned ndev;
	double prior_item;
	double lease;     /* seconds */
	void *sim_driver; /* sim_driver.c's state, or NULL */

	pthread_mutex_t lock;
	vgmo_config cfg;
	vgmo_gpu_sample *samples;
	vgmo_status *status;
	bool sampled;
	bool worsened; /* a status got worse since the last optimization */
	bool monitoring;
	double last_sample, last_optimize, last_cleanup; /* mono; < 0 never */
	vgmo__worker **workers; /* slot == id; NULL when removed */
	size_t nworkers;
	vgmo__history history;
	vgmo_counters counters;
	vgmo__cleanup_hook *hooks;
	size_t nhooks;
	uint64_t *leases_expired; /* per device */
	uint64_t *unattributed;   /* per device, bytes; UINT64_MAX unknown */
};

/* Lock held: drops or flags leased workers that stopped reporting. */
void vgmo__workers_expire(vgmo_engine *e, double now);
/* Lock held: splits device `dev`'s memory among its workers, by weight
 * and by demand (shares.c). */
void vgmo__device_budgets(vgmo_engine *e, unsigned dev);
/* Lock held: device-level fragmentation from the workers' reports and the
 * memory no worker explains, folded into the fresh samples. */
void vgmo__workers_fold(vgmo_engine *e);

double vgmo__engine_now(const vgmo_engine *e);
double vgmo__engine_wall(const vgmo_engine *e);

/* Lock held. */
vgmo__worker *vgmo__worker_get(const vgmo_engine *e, int id);
/* Lock held: the worker's budgets on its device under the critical and the
 * OOM thresholds; false when the device's memory is unknown. */
bool vgmo__worker_budgets(const vgmo_engine *e, const vgmo__worker *w,
                          double *critical, double *oom);
/* Lock held: recomputes the worker's optimal size and, unless disabled or
 * overridden, moves its batch size through the dead band. Returns true
 * when the batch size changed. */
bool vgmo__worker_update(vgmo_engine *e, vgmo__worker *w);
/* Lock held: appends to history. */
void vgmo__engine_record(vgmo_engine *e, const vgmo_result *r);

#endif
