/*
 * engine_internal.h - the engine's context struct, shared by the files
 * that implement it, all in lib/engine/: engine.c, workers.c,
 * worker_learn.c, shares.c, optimize.c, snapshot.c, tokens.c and units.c.
 * Nothing here is public, and nothing outside lib/engine/ includes it:
 * what drives the engine from outside (lib/sim/) has engine_hook.h.
 *
 * Threads: one writer (the sampler/optimizer loop, which also drives the
 * simulated workload) calls sample/optimize/cleanup/tick/step; any
 * thread may call report, set_*, and snapshot. `lock` guards every field
 * below it; backend calls are made without it, so a slow driver never
 * blocks a reader.
 */
#ifndef VGMO_LIB_ENGINE_INTERNAL_H
#define VGMO_LIB_ENGINE_INTERNAL_H

#include <pthread.h>

#include "backend.h"
#include "engine_hook.h"
#include "history.h"
#include "others.h"
#include "cost.h"
#include "strategy.h"
#include "timing.h"
#include "vgmo/vgmo.h"

/* A batch that ran: its features and the memory it held, its reserve
 * included (a tokens worker keeps a few, as floors for climbing). */
typedef struct vgmo__ran {
	double x[VGMO__COST_MAX];
	double peak;
} vgmo__ran;

#define VGMO__RAN_KEPT 8

typedef struct vgmo__worker {
	int id;
	char name[64];
	unsigned gpu;
	double weight;
	/* Items workers: the batch size in force. Tokens workers: the most
	 * requests a batch may hold. */
	int batch_size;
	int optimal;
	int manual; /* 0: none */
	unsigned since_change;
	bool shrank; /* the last change was a shrink */
	bool cleanup_wanted;
	uint64_t last_reserved, last_allocated;
	bool has_frag;
	double frag;
	uint64_t reports, ooms;
	/* What it may use (bytes): with memory_reserve_mb kept free, and to
	 * the OOM line; has_budget false when unknown. */
	double budget, budget_oom;
	bool has_budget;
	double share; /* of the device's room, < 0 unknown */
	/* The learned cost: items (intercept, items) or tokens (intercept,
	 * prompt, output, requests, quadratic); cost_packed is the packed
	 * alternative of a tokens worker whose padding is not declared. */
	bool tokens;
	vgmo_padding padding;
	vgmo_attention attention, vision_attention; /* as declared */
	vgmo_logits logits;
	vgmo__cost cost, cost_packed;
	vgmo__overhead overhead; /* the allocator's, measured */
	double peak_since_clean; /* the largest peak since its cache emptied */
	int ceiling;             /* items: a size that ran out of memory */
	unsigned clean_since_oom;
	vgmo__levels levels; /* adaptive */
	vgmo__timing timing; /* a tokens worker's batch seconds */
	double batch_work;   /* the reported batch's tokens (0: count items) */
	double items_per_s;  /* smoothed; < 0 unknown */
	double batch_s;      /* the longest batch lately (seconds); 0 unknown */
	/* Climbing floors: the largest items batch that ran, and its peak;
	 * a tokens worker's last batches. Cleared by an OOM or a shift. */
	int fitted_n;
	double fitted_peak; /* the most it held at that size, reserve included
	                     */
	int ran_max;        /* the most requests that ran since the last OOM */
	double ran_cost;    /* the largest variable peak that ran (bytes) */
	vgmo__ran ran[VGMO__RAN_KEPT];
	unsigned nran, shifts_seen;
	/* A tokens worker's last batches that ran out of memory: their
	 * features and the room they had (in .peak). */
	vgmo__ran oomed[VGMO__RAN_KEPT];
	unsigned noom;
	unsigned doubts; /* lone requests refused in doubt since a batch ran */
	uint32_t pid;    /* 0: unknown */
	bool has_model;  /* its model preset: prior and pixel answers */
	vgmo_vlm_model model;
	char unit[12]; /* the client's cost unit label */
	bool leased;
	bool simulated; /* run by the sim driver: the backend counts it */
	bool unhealthy;
	double last_seen; /* engine mono time of the last report */
	/* History entries its reports may still add (a token bucket), and
	 * freed bytes not in the history yet. */
	double hist_tokens, hist_at;
	bool hist_started;
	uint64_t freed_unrecorded;
	double first_seen;
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
	/* The virtual clock, when in use: advanced by the writer, read by
	 * any thread (vgmo__engine_now), hence atomic. */
	_Atomic double vmono;
	double vwall0;
	unsigned ndev;
	double prior_item;   /* an items worker's prior cost per item */
	double lease;        /* seconds */
	vgmo__driver driver; /* what runs the workload, if anything */

	pthread_mutex_t lock;
	vgmo_config cfg;
	vgmo_gpu_sample *samples;
	vgmo_status *status;
	bool sampled;
	bool worsened; /* a status got worse since the last optimization */
	bool monitoring;
	double last_sample, last_optimize, last_cleanup; /* mono; < 0 never */
	/* Slot id % nworkers (a power of two, at most half full); NULL when
	 * free. Ids are never reused: next_id only grows. */
	vgmo__worker **workers;
	size_t nworkers;
	size_t nlive, nleased;
	size_t max_leased; /* 0: no cap on leased workers */
	int next_id;
	vgmo__history history;
	vgmo_counters counters;
	vgmo__cleanup_hook *hooks;
	size_t nhooks;
	uint64_t *leases_expired; /* per device */
	uint64_t *unattributed;   /* per device, bytes; UINT64_MAX unknown */
	vgmo__others *others;     /* per device: how the unattributed rose */
	bool fresh_sample;        /* budgets computed from a new sample */
};

/* Lock held: drops or flags leased workers that stopped reporting. */
void vgmo__workers_expire(vgmo_engine *e, double now);
/* Lock held: splits device `dev`'s memory among its workers, by weight
 * and by demand (shares.c). */
void vgmo__device_budgets(vgmo_engine *e, unsigned dev);
/* Lock held: device-level fragmentation from the workers' reports and the
 * memory no worker explains, folded into the fresh samples. */
void vgmo__workers_fold(vgmo_engine *e);

/* Lock held. */
vgmo__worker *vgmo__worker_get(const vgmo_engine *e, int id);
/* Lock held: frees the worker and its slot. */
void vgmo__worker_free(vgmo_engine *e, vgmo__worker *w);
/* Lock held: the worker's budgets on its device under the critical and the
 * OOM thresholds; false when the device's memory is unknown. */
bool vgmo__worker_budgets(const vgmo_engine *e, const vgmo__worker *w,
                          double *critical, double *oom);
/* Lock held: the room the strategy in force gives the worker (bytes,
 * its base included); false when unknown. */
bool vgmo__worker_room(const vgmo_engine *e, const vgmo__worker *w,
                       double *room);
/* Lock held: what the worker's decisions need: its cost model (the packed
 * one when its reports follow that better), the strategy's quantile, the
 * allocator overhead. */
void vgmo__worker_need_in(const vgmo_engine *e, const vgmo__worker *w,
                          vgmo__need_in *in, bool *packed);
/* Whether a worker's declarations are values of their enums
 * (worker_names.c). */
bool vgmo__declared_ok(vgmo_attention attention,
                       vgmo_attention vision_attention, vgmo_logits logits);
/* Whether a tokens worker's batches are laid out packed (declared, or
 * learned from its reports) rather than padded. */
bool vgmo__worker_packed(const vgmo__worker *w);
/* The features of an items worker's batch of n items into x; returns n. */
double vgmo__items_x(double n, double *x);
/* Lock held: the cost model's prior from the spec (or the worker's
 * model). */
void vgmo__worker_init_cost(const vgmo_engine *e, vgmo__worker *w,
                            const vgmo_worker_spec *sp);
/* Lock held: a report with its features (NULL: none to learn from):
 * learning, OOM back-off, the next decision in *out (may be NULL). */
vgmo_err vgmo__worker_take(vgmo_engine *e, vgmo__worker *w,
                           const vgmo_report *r, const double *x,
                           const double *xp, vgmo_decision *out);
/* Lock held: learns from a batch that ran (or ran out of memory with
 * `room` bytes to run in): features `x` (and `xp`, the packed layout's,
 * for a tokens worker; may be NULL). */
void vgmo__worker_learn(vgmo_engine *e, vgmo__worker *w, const vgmo_report *r,
                        const double *x, const double *xp, double room);
/* Lock held: recomputes an items worker's optimal size and, unless
 * disabled or overridden, moves its batch size through the dead band.
 * Returns true when the batch size changed. */
bool vgmo__worker_update(vgmo_engine *e, vgmo__worker *w);
/* Lock held: history entry for a batch size change (a client's are
 * rate-limited). */
void vgmo__worker_record(vgmo_engine *e, vgmo__worker *w, int old,
                         const char *action, const char *reason);
/* Cleanup; unless `forced` (an operator asked), only on the devices where
 * emptying caches frees memory someone needs (optimize.c). */
vgmo_err vgmo__engine_cleanup(vgmo_engine *e, bool forced, vgmo_result *out);
/* Lock held: whether an automatic cleanup would do anything useful. */
bool vgmo__cleanup_worthwhile(const vgmo_engine *e);
/* Lock held: appends to history. */
void vgmo__engine_record(vgmo_engine *e, const vgmo_result *r);

#endif
