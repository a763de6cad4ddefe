/*
 * vgmo.h - the one public header of libvgmo, the GPU memory optimizer for
 * vision-language-model inference.
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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define VGMO_API __attribute__((visibility("default")))
#else
#define VGMO_API
#endif

#define VGMO_VERSION "0.1.0"

/* Sizes are bytes everywhere; the seed's *_mb fields and JSON keys hold
 * MiB (of VGMO_MIB bytes). */
#define VGMO_MIB (UINT64_C(1) << 20)
#define VGMO_GIB (UINT64_C(1) << 30)

/* A client that has not reported for this long is unhealthy, and dropped
 * after twice as long (vgmo_engine_options.lease_seconds 0). */
#define VGMO_DEFAULT_LEASE_SECONDS 30.0

/* ---------------------------------------------------------------- errors */

typedef enum vgmo_err {
	VGMO_OK = 0,
	VGMO_ERR_INVALID,     /* an argument or value is out of range */
	VGMO_ERR_NOMEM,       /* out of memory */
	VGMO_ERR_IO,          /* file or socket error */
	VGMO_ERR_PARSE,       /* malformed input (JSON, number, ...) */
	VGMO_ERR_CONFIG,      /* configuration rejected by validation */
	VGMO_ERR_BACKEND,     /* the GPU backend failed */
	VGMO_ERR_NOT_FOUND,   /* no such device, worker or entry */
	VGMO_ERR_UNSUPPORTED, /* the device or backend does not support it */
	VGMO_ERR_DEVICE_LOST, /* the device stopped answering */
	VGMO_ERR_LIBRARY,     /* a shared library could not be loaded */
	VGMO_ERR_NO_DEVICE,   /* the backend reports no device */
	VGMO_ERR_PERMISSION,  /* permission denied */
	VGMO_ERR_STATE,       /* not allowed in the current state */
	VGMO_ERR_TIMEOUT,     /* a call took too long */
	VGMO_ERR__COUNT
} vgmo_err;

/* A static, never-NULL English description of `e`. */
VGMO_API const char *vgmo_strerror(vgmo_err e);

/* ---------------------------------------------------------- configuration */

typedef enum vgmo_strategy {
	VGMO_STRATEGY_CONSERVATIVE = 0,
	VGMO_STRATEGY_BALANCED,
	VGMO_STRATEGY_AGGRESSIVE,
	VGMO_STRATEGY_ADAPTIVE
} vgmo_strategy;

/* The seed guide's MemoryConfig: exactly its 14 fields, same names. */
typedef struct vgmo_config {
	bool enabled;                     /* true */
	vgmo_strategy strategy;           /* balanced */
	double monitoring_interval;       /* 5 s */
	double memory_threshold_warning;  /* 0.80 */
	double memory_threshold_critical; /* 0.90 */
	double memory_threshold_oom;      /* 0.95 */
	double temperature_threshold;     /* 80.0 degrees C */
	double optimization_interval;     /* 60 s */
	double cleanup_interval;          /* 300 s */
	int max_batch_size;               /* 16 */
	int min_batch_size;               /* 1 */
	int64_t memory_reserve_mb;        /* 1024 */
	double gc_threshold;              /* 0.85 */
	double fragmentation_threshold;   /* 0.30 */
} vgmo_config;

#define VGMO_CONFIG_FIELD_COUNT 14

/* The range of every numeric field, applied by vgmo_config_validate and so
 * to flags, environment, files, the API and saved state alike. The
 * thresholds, gc_threshold and fragmentation_threshold are fractions in
 * [0, 1]; the rest: */
#define VGMO_CONFIG_INTERVAL_MIN 0.1      /* s, the three intervals */
#define VGMO_CONFIG_MONITORING_MAX 3600.0 /* s, monitoring_interval */
#define VGMO_CONFIG_INTERVAL_MAX 1e7      /* s, optimization, cleanup */
#define VGMO_CONFIG_TEMPERATURE_MIN 1.0   /* degrees C */
#define VGMO_CONFIG_TEMPERATURE_MAX 200.0
#define VGMO_BATCH_MAX 1000000              /* min_batch_size, max_batch_size */
#define VGMO_CONFIG_RESERVE_MB_MAX 16777216 /* memory_reserve_mb: 16 TiB */

VGMO_API void vgmo_config_defaults(vgmo_config *cfg);

/* Checks every rule and reports every violation at once in `err`
 * ("field: reason; field: reason"). */
VGMO_API vgmo_err vgmo_config_validate(const vgmo_config *cfg, char *err,
                                       size_t errlen);

/* Overlays the keys present in a JSON object onto *cfg. All or nothing: on
 * any error (syntax, unknown or duplicate key, wrong type, trailing data,
 * failed validation of the merged result) *cfg is unchanged and `err` names
 * the source, line, column, key and reason. `source` names the input in
 * messages (a file name, "request body"). */
VGMO_API vgmo_err vgmo_config_load_string(vgmo_config *cfg, const char *json,
                                          size_t len, const char *source,
                                          char *err, size_t errlen);
VGMO_API vgmo_err vgmo_config_load_file(vgmo_config *cfg, const char *path,
                                        char *err, size_t errlen);

/* Serialises all 14 fields as a JSON object. Caller frees with free(). */
VGMO_API char *vgmo_config_to_json(const vgmo_config *cfg);

/* Writes the JSON atomically: temp file, fsync, rename, fsync directory. */
VGMO_API vgmo_err vgmo_config_save_file(const vgmo_config *cfg,
                                        const char *path, char *err,
                                        size_t errlen);

/* Applies VGMO_<KEY IN CAPITALS> variables from `envp` (NULL-terminated
 * "NAME=value" strings; NULL means the process environment). All or nothing;
 * a malformed value is an error naming the variable. */
VGMO_API vgmo_err vgmo_config_apply_env(vgmo_config *cfg,
                                        const char *const *envp, char *err,
                                        size_t errlen);

/* Sets one field from its text form ("memory_threshold_warning", "0.75").
 * Does not validate cross-field rules; call vgmo_config_validate after. */
VGMO_API vgmo_err vgmo_config_set_field(vgmo_config *cfg, const char *key,
                                        const char *value, char *err,
                                        size_t errlen);

VGMO_API const char *vgmo_strategy_name(vgmo_strategy s);
VGMO_API vgmo_err vgmo_strategy_parse(const char *name, vgmo_strategy *out);

/* ----------------------------------------------------------------- status */

typedef enum vgmo_status {
	VGMO_STATUS_HEALTHY = 0,
	VGMO_STATUS_WARNING,
	VGMO_STATUS_CRITICAL,
	VGMO_STATUS_OOM
} vgmo_status;

VGMO_API const char *vgmo_status_name(vgmo_status s);

/* Classifies a used/total fraction by the config's three thresholds
 * (a fraction equal to a threshold belongs to the worse class). */
VGMO_API vgmo_status vgmo_classify(const vgmo_config *cfg, double usage);

/* ------------------------------------------------------------ GPU samples */

#define VGMO_NAME_MAX 96
#define VGMO_UUID_MAX 96
#define VGMO_BUSID_MAX 32
#define VGMO_REASON_MAX 160
#define VGMO_PROC_NAME_MAX 64
#define VGMO_MAX_PROCS 64

/* Bits of vgmo_gpu_sample.present: which optional fields hold a value. */
enum {
	VGMO_HAS_MEMORY = 1u << 0,        /* memory_total/used/free */
	VGMO_HAS_RESERVED = 1u << 1,      /* memory_reserved */
	VGMO_HAS_UTILIZATION = 1u << 2,   /* utilization */
	VGMO_HAS_TEMPERATURE = 1u << 3,   /* temperature_c */
	VGMO_HAS_POWER = 1u << 4,         /* power_w */
	VGMO_HAS_ENERGY = 1u << 5,        /* energy_j */
	VGMO_HAS_FRAGMENTATION = 1u << 6, /* fragmentation */
	VGMO_HAS_PROCESSES = 1u << 7,     /* processes / process_count */
	VGMO_HAS_MIG_MODE = 1u << 8,      /* mig_enabled */
	VGMO_HAS_PCI = 1u << 9            /* pci_bus_id */
};

typedef struct vgmo_gpu_process {
	uint32_t pid;
	uint64_t used_bytes; /* UINT64_MAX when the driver does not say */
	char name[VGMO_PROC_NAME_MAX]; /* from /proc/<pid>/comm; "" if unknown
	                                */
} vgmo_gpu_process;

typedef struct vgmo_gpu_sample {
	unsigned index; /* position in the engine's device list */
	int parent;     /* for a MIG device: index of its GPU; else -1 */
	char name[VGMO_NAME_MAX];
	char uuid[VGMO_UUID_MAX];
	char pci_bus_id[VGMO_BUSID_MAX];
	bool up;                           /* false: device is down */
	char down_reason[VGMO_REASON_MAX]; /* why, when !up */
	uint32_t present;                  /* VGMO_HAS_* bits */
	uint64_t memory_total;
	uint64_t memory_used; /* allocated; excludes reserved when v2 */
	uint64_t memory_free;
	uint64_t memory_reserved;
	int memory_api; /* 2: v2 memory info, 1: v1 (used includes reserved), 0
	                 */
	double utilization;   /* 0..1 */
	double temperature_c; /* degrees Celsius */
	double power_w;       /* watts */
	double energy_j;      /* joules since driver load */
	double fragmentation; /* 0..1 */
	bool mig_enabled;
	unsigned process_count; /* number of entries in processes[] */
	unsigned process_total; /* processes the driver reported (may exceed) */
	vgmo_gpu_process processes[VGMO_MAX_PROCS];
	double sampled_at;     /* wall-clock seconds since the epoch */
	double sample_seconds; /* time the backend spent reading it */
} vgmo_gpu_sample;

/* used/total, or a negative number when memory is absent or total is 0. */
VGMO_API double vgmo_sample_usage(const vgmo_gpu_sample *s);

/* ------------------------------------------------------------------ clock */

/* An injectable clock. `mono` is monotonic seconds (for intervals); `wall`
 * is seconds since the epoch (for timestamps). A NULL clock in the engine
 * options means the real clocks. */
typedef struct vgmo_clock {
	double (*mono)(void *ctx);
	double (*wall)(void *ctx);
	void *ctx;
} vgmo_clock;

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
	double memory_freed_mb; /* measured; negative when unknown */
	int new_batch_size;     /* 0 when unchanged / not applicable */
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

/* ---------------------------------------------------------------- workers */

/* A worker runs a model on one GPU in batches. Worker 0, "default", always
 * exists on device 0: its batch size is the seed's single batch size. */
#define VGMO_DEFAULT_WORKER 0

typedef struct vgmo_report {
	uint32_t items;           /* items in the batch (>= 1) */
	uint64_t peak_bytes;      /* peak allocated during the batch */
	uint64_t allocated_bytes; /* allocated now; 0 = not reported */
	uint64_t reserved_bytes;  /* reserved by the allocator now; 0 = n/r */
	double seconds;           /* time the batch took; <= 0 = not reported */
	bool oom;                 /* the batch ended in out-of-memory */
	uint64_t freed_bytes;     /* released by the cleanup asked for */
} vgmo_report;

typedef struct vgmo_decision {
	int batch_size; /* the next batch size */
	bool cleanup;   /* the worker should release cached memory */
	bool changed;   /* batch size differs from the last one */
} vgmo_decision;

/* Adds a worker on device `gpu` (or finds the one of that name there).
 * `weight` > 0 (1 by default). */
VGMO_API vgmo_err vgmo_engine_worker_add(vgmo_engine *e, const char *name,
                                         unsigned gpu, double weight,
                                         int *id_out);
VGMO_API vgmo_err vgmo_engine_worker_remove(vgmo_engine *e, int id);

/* How a tokens worker lays a batch out: padded to its longest prompt (a
 * Hugging Face processor with padding=True: the batch costs requests x
 * the longest), or packed (varlen kernels: the sum). Unknown: vgmo learns
 * which one its reports follow, assuming padded meanwhile. */
typedef enum vgmo_padding {
	VGMO_PADDING_UNKNOWN = 0,
	VGMO_PADDING_PADDED,
	VGMO_PADDING_PACKED
} vgmo_padding;

VGMO_API const char *vgmo_padding_name(vgmo_padding p);
VGMO_API vgmo_err vgmo_padding_parse(const char *name, vgmo_padding *out);

/* A registered client: a worker with a lease, a cost unit and a prior. */
typedef struct vgmo_worker_spec {
	const char *name; /* 1..63 characters */
	unsigned gpu;
	double weight;         /* > 0; 0 means 1 */
	bool leased;           /* dropped when it stops reporting */
	const char *unit;      /* "items" (NULL), "images" or "tokens" */
	uint64_t prior_fixed;  /* bytes before any report; 0: unknown */
	double prior_per_item; /* bytes per unit before any report; 0: the
	                          engine's default prior */
	/* Tokens workers: the model preset it runs (NULL: none; then
	 * prior_fixed and prior_per_item, or the default prior), which also
	 * turns token answers into pixels; and its padding. */
	const char *model;
	vgmo_padding padding;
	/* Its process id (0: unknown): where the backend lists processes
	 * (NVML), the memory the worker holds is its process's figure, not
	 * what it reports. */
	uint32_t pid;
} vgmo_worker_spec;

/* Adds the worker, or finds the one of that name on that GPU (then its
 * learned model is kept, its weight and lease renewed, *existed true).
 * Worker ids are never reused in the engine's life. A leased spec never
 * takes over a built-in worker ("default", the simulated ones):
 * VGMO_ERR_PERMISSION; past vgmo_engine_set_max_clients: VGMO_ERR_STATE. */
VGMO_API vgmo_err vgmo_engine_worker_register(vgmo_engine *e,
                                              const vgmo_worker_spec *spec,
                                              int *id_out, bool *existed);

/* At most `max` leased workers (clients) at once; 0: no cap. A
 * registration past the cap is refused with VGMO_ERR_STATE. */
VGMO_API void vgmo_engine_set_max_clients(vgmo_engine *e, size_t max);

/* Feeds one batch's report into the worker's model; an OOM halves the batch
 * size at once. `out` receives the next batch size. */
VGMO_API vgmo_err vgmo_engine_report(vgmo_engine *e, int worker,
                                     const vgmo_report *r, vgmo_decision *out);

VGMO_API int vgmo_engine_batch_size(const vgmo_engine *e, int worker);

/* Manual override of a worker's batch size; outside [min, max] is refused
 * with VGMO_ERR_INVALID. 0 clears the override. */
VGMO_API vgmo_err vgmo_engine_set_batch_size(vgmo_engine *e, int worker,
                                             int size, char *err,
                                             size_t errlen);

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
	int ceiling; /* batch size that OOMed, 0 when none */
} vgmo_model_view;

typedef struct vgmo_worker_view {
	int id;
	char name[64];
	unsigned gpu;
	double weight;
	int batch_size;
	int optimal_batch_size;
	int manual_batch_size; /* 0 when none */
	bool has_budget;       /* budget_bytes and share are known */
	uint64_t budget_bytes; /* memory granted to the worker (has_budget) */
	bool has_fragmentation;
	double fragmentation;
	uint64_t reports;
	uint64_t ooms;
	vgmo_model_view model;
	double throughput;      /* items/s at the current size, < 0 unknown */
	char unit[12];          /* "items", "images", "tokens" */
	bool leased;            /* a registered client */
	bool healthy;           /* reported within its lease */
	double last_report_age; /* seconds, < 0 never reported */
	double share;           /* of its GPU's budget, 0..1 (has_budget) */
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
 * the worker's device, 0 when unknown. VGMO_ERR_NOT_FOUND when there is
 * no such worker. */
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
/* Index of the most loaded device that is up, or -1. */
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
 * the device's memory is unknown. */
VGMO_API bool vgmo_snapshot_unattributed(const vgmo_snapshot *s, size_t gpu,
                                         uint64_t *bytes);

/* The seed's get_memory_status() as JSON (plus "backend" and "gpus").
 * Caller frees with free(). */
VGMO_API char *vgmo_snapshot_status_json(const vgmo_snapshot *s, int indent);

/* ------------------------------------------------------------- simulation */

/* Advances a sim-backed engine's synthetic workload on its virtual clock by
 * `seconds`: the simulated worker asks for its batch size, runs the batch,
 * reports it, and the engine ticks. VGMO_ERR_STATE on another backend. */
VGMO_API vgmo_err vgmo_engine_sim_run(vgmo_engine *e, double seconds);

/* =================================================================
 * VLM memory planning: model presets, image tokens, memory plans, and
 * batch sizing by cost unit (tokens). vlm_models.c, planner.c, units.c.
 * ================================================================= */

typedef enum vgmo_dtype {
	VGMO_DTYPE_BF16 = 0, /* 2 bytes per weight and per KV element */
	VGMO_DTYPE_FP16,     /* 2 bytes */
	VGMO_DTYPE_FP8       /* 1 byte for weights and KV cache; activations
	                        stay in 16-bit */
} vgmo_dtype;

VGMO_API const char *vgmo_dtype_name(vgmo_dtype d);
VGMO_API vgmo_err vgmo_dtype_parse(const char *name, vgmo_dtype *out);

/* How a model turns an image of W x H pixels into tokens. */
typedef enum vgmo_image_rule {
	/* Resized to one fixed resolution: `image_tokens` per image. */
	VGMO_IMAGE_FIXED = 0,
	/* Scaled down (up too when `upscale`) so the longest edge is at most
	 * `max_edge` (0: no limit), cut into tiles of `tile` pixels (a grid of
	 * ceil(w/tile) x ceil(h/tile), shrunk keeping the aspect ratio until
	 * it has at most `max_tiles` tiles), `tokens_per_tile` each, plus
	 * one thumbnail tile per `thumbnail`. */
	VGMO_IMAGE_TILES,
	/* Dynamic resolution (Qwen2-VL's smart_resize): each side rounded to
	 * a multiple of `factor` pixels, the area then scaled into
	 * [min_pixels, max_pixels]; one token per factor x factor pixels. */
	VGMO_IMAGE_PIXELS
} vgmo_image_rule;

typedef enum vgmo_thumbnail {
	VGMO_THUMBNAIL_NEVER = 0,
	VGMO_THUMBNAIL_MULTI, /* one global tile when there are 2+ tiles */
	VGMO_THUMBNAIL_ALWAYS /* one global tile always (LLaVA-NeXT) */
} vgmo_thumbnail;

/* A vision-language model's public configuration facts. Counts, not
 * bytes: bytes follow from the dtype. */
typedef struct vgmo_vlm_model {
	char name[64];
	double params;        /* all parameters, language + vision */
	double vision_params; /* the vision encoder's (and projector's) */
	/* Language decoder shape. */
	uint32_t layers, hidden, heads, kv_heads, head_dim, intermediate, vocab;
	/* Vision encoder: width, MLP width, and encoder patches merged into
	 * one language token (4 for a 2x2 merge or pixel shuffle 2). */
	uint32_t vision_hidden, vision_intermediate, patches_per_token;
	vgmo_image_rule image_rule;
	uint32_t image_tokens;                               /* FIXED */
	uint32_t tile, tokens_per_tile, max_tiles, max_edge; /* TILES */
	bool upscale; /* TILES: scale the longest edge to max_edge always */
	vgmo_thumbnail thumbnail;        /* TILES */
	uint32_t factor;                 /* PIXELS */
	uint64_t min_pixels, max_pixels; /* PIXELS */
} vgmo_vlm_model;

/* Names of the built-in model presets, NULL-terminated. */
VGMO_API const char *const *vgmo_model_presets(void);
/* Copies preset `name` into *out; VGMO_ERR_NOT_FOUND if unknown. */
VGMO_API vgmo_err vgmo_model_preset_find(const char *name, vgmo_vlm_model *out);
/* A custom model from a JSON object with the same fields (see
 * docs/benchmarks.md). Unknown or duplicate keys, wrong types and values
 * out of range are errors naming the source, line, field and reason. */
VGMO_API vgmo_err vgmo_model_load_string(const char *json, size_t len,
                                         const char *source,
                                         vgmo_vlm_model *out, char *err,
                                         size_t errlen);
VGMO_API vgmo_err vgmo_model_load_file(const char *path, vgmo_vlm_model *out,
                                       char *err, size_t errlen);
/* A preset name, or else a JSON file of that path. */
VGMO_API vgmo_err vgmo_model_resolve(const char *name_or_path,
                                     vgmo_vlm_model *out, char *err,
                                     size_t errlen);

/* Tokens one image of width x height pixels becomes (0 when either side
 * is 0). */
VGMO_API uint32_t vgmo_model_image_tokens(const vgmo_vlm_model *m,
                                          uint32_t width, uint32_t height);
VGMO_API uint64_t vgmo_model_weights_bytes(const vgmo_vlm_model *m,
                                           vgmo_dtype d);
/* 2 x layers x kv_heads x head_dim x bytes per element. */
VGMO_API uint64_t vgmo_model_kv_bytes_per_token(const vgmo_vlm_model *m,
                                                vgmo_dtype d);

/* The simulated GPU runs any preset: vgmo_sim_options.workload may also
 * be a built-in workload with an optional model, "NAME[:MODEL]" (NAME one
 * of docs, photos, mixed, drift, cotenant; MODEL a preset or a JSON file,
 * default qwen2-vl-7b; docs/traces.md), or "requests[:MODEL]" for a worker
 * that the caller feeds. */

/* Total memory of a simulated GPU preset (see vgmo_sim_presets). */
VGMO_API vgmo_err vgmo_gpu_preset_memory(const char *name, uint64_t *out);

/* The request shape a plan is made for. */
typedef struct vgmo_plan_request {
	uint32_t image_width, image_height; /* 1024 x 1024 */
	uint32_t images;                    /* per request, 1 */
	uint32_t text_tokens;               /* prompt text, 128 */
	uint32_t output_tokens;             /* generated, 256 */
	vgmo_dtype dtype;                   /* bf16 */
} vgmo_plan_request;

VGMO_API void vgmo_plan_request_init(vgmo_plan_request *r);

/* Memory breakdown and largest batches, in bytes and requests. The
 * worker's peak for a batch of n requests is estimated as
 * fixed_bytes + n x request_bytes; a strategy's batch is the largest n
 * whose peak fits its budget:
 *   budget_critical = critical x total - reserve - context
 *   budget_oom      = oom x total - reserve - context
 *   balanced = n within budget_critical, conservative = floor(0.7 x
 *   balanced), aggressive = min(floor(1.2 x balanced), n within
 *   budget_oom), adaptive = balanced (it climbs from there by measuring).
 * No max_batch_size clamp is applied; the engine applies it. */
typedef struct vgmo_plan {
	uint64_t total_bytes;     /* the GPU */
	uint64_t context_bytes;   /* the CUDA context */
	uint64_t reserve_bytes;   /* memory_reserve_mb */
	uint64_t weights_bytes;   /* parameters x dtype size */
	uint64_t workspace_bytes; /* library workspaces, fixed */
	uint64_t fixed_bytes;     /* weights + workspace */
	uint64_t budget_critical; /* bytes the worker may peak at */
	uint64_t budget_oom;      /* ... under the OOM threshold */
	uint32_t image_tokens;    /* per image */
	uint32_t request_tokens;  /* images + text + output, per request */
	uint64_t kv_bytes_per_token;
	uint64_t kv_bytes;         /* per request */
	uint64_t activation_bytes; /* per request, at the prefill peak */
	uint64_t request_bytes;    /* kv + activations */
	double token_bytes;        /* request_bytes / request_tokens */
	int batch[4];              /* by vgmo_strategy; 0: nothing fits */
} vgmo_plan;

/* `cfg` NULL: the defaults. */
VGMO_API vgmo_err vgmo_plan_compute(const vgmo_vlm_model *m,
                                    const vgmo_plan_request *req,
                                    uint64_t gpu_total_bytes,
                                    const vgmo_config *cfg, vgmo_plan *out,
                                    char *err, size_t errlen);

/* ------------------------------------------- settings for serving engines
 *
 * The flags of a serving engine (vLLM, SGLang, TGI) or a transformers loop
 * for one model and request shape on one GPU, each with the reason, and
 * the memory that engine's own allocation rule would then take
 * (engine_settings.c; docs/engines.md states each rule and the engine
 * versions it applies to). */

typedef enum vgmo_serving_engine {
	VGMO_SERVING_VLLM = 0,
	VGMO_SERVING_SGLANG,
	VGMO_SERVING_TGI,
	VGMO_SERVING_TRANSFORMERS
} vgmo_serving_engine;

#define VGMO_SERVING_MAX_INSTANCES 16
#define VGMO_SERVING_MAX_FLAGS 10

VGMO_API const char *vgmo_serving_engine_name(vgmo_serving_engine e);
VGMO_API vgmo_err vgmo_serving_engine_parse(const char *name,
                                            vgmo_serving_engine *out);

/* What is asked, and what the GPU holds. */
typedef struct vgmo_serving_request {
	vgmo_plan_request shape; /* image, images, text, output, dtype */
	uint64_t max_pixels;     /* per image; 0: from shape's image size */
	uint32_t concurrency;    /* sequences wanted in flight; 0: all fit */
	uint32_t instances;      /* instances sharing the GPU equally, >= 1 */
	uint64_t total_bytes;    /* the GPU's memory */
	/* Memory free now on a live node (free_known); otherwise the GPU
	 * is taken as empty. */
	bool free_known;
	uint64_t free_bytes;
} vgmo_serving_request;

VGMO_API void vgmo_serving_request_init(vgmo_serving_request *r);

typedef struct vgmo_serving_flag {
	char name[40];  /* "--gpu-memory-utilization", "batch_size" */
	char value[96]; /* as pasted */
	char why[224];  /* one line */
} vgmo_serving_flag;

typedef struct vgmo_serving_plan {
	vgmo_serving_engine engine;
	uint64_t total_bytes, free_bytes; /* free: the GPU's, or total */
	uint64_t
	        margin_bytes; /* kept free on the GPU: (1 - critical) x total */
	uint64_t share_bytes; /* one instance's part of free - margin */
	uint64_t context_bytes; /* one process's CUDA context */
	uint64_t weights_bytes, workspace_bytes;
	uint64_t activation_bytes; /* the prefill step's peak, one instance */
	uint32_t image_tokens;     /* per image at the pixel cap */
	uint64_t max_pixels;     /* per image; 0: the model has no pixel cap */
	uint32_t prompt_tokens;  /* images + text of one request */
	uint32_t max_model_len;  /* prompt + output (vLLM: block multiple) */
	uint32_t batched_tokens; /* tokens of one prefill step */
	uint64_t kv_bytes_per_token, kv_bytes_per_seq;
	uint32_t max_seqs; /* sequences (or batch) per instance */
	unsigned instances;
	/* Per instance in start order: the engine's memory fraction (vLLM's
	 * is the same for all; SGLang's and TGI's depend on what is free when
	 * each starts). transformers: 0. */
	double fraction[VGMO_SERVING_MAX_INSTANCES];
	/* The engine's rule applied to those settings, one instance. */
	uint64_t instance_bytes; /* all it holds, context included */
	uint64_t kv_pool_bytes;  /* its KV cache */
	uint64_t kv_pool_tokens;
	uint32_t seqs_at_max_len; /* KV pool / max_model_len */
	int64_t headroom_bytes;   /* free left once all instances run */
	int nflags;
	vgmo_serving_flag flags[VGMO_SERVING_MAX_FLAGS];
} vgmo_serving_plan;

/* Fills *out for engine `e`. `cfg` NULL: the defaults (its
 * memory_threshold_critical sets the margin). VGMO_ERR_INVALID with `err`
 * saying why when nothing fits (the weights and one sequence exceed an
 * instance's share) or the request is out of range. */
VGMO_API vgmo_err vgmo_serving_plan_compute(vgmo_serving_engine e,
                                            const vgmo_vlm_model *m,
                                            const vgmo_serving_request *req,
                                            const vgmo_config *cfg,
                                            vgmo_serving_plan *out, char *err,
                                            size_t errlen);

/* What a daemon's GET /v1/status says about GPU `gpu` (the text of the
 * answer): total and free memory, and the clients registered on it.
 * Errors name the key that is missing or malformed. */
typedef struct vgmo_serving_node {
	uint64_t total_bytes, free_bytes, used_bytes;
	char gpu_name[96];
	/* Processes the device lists (NVML), -1 when it lists none (the
	 * simulated GPU, drivers without the call); their memory where
	 * reported. */
	int processes;
	uint64_t process_bytes;
	unsigned clients;             /* registered clients on that GPU */
	uint64_t client_budget_bytes; /* the sum of their budgets */
	char client_names[256];       /* "a, b", cut to fit */
} vgmo_serving_node;

VGMO_API vgmo_err vgmo_serving_node_from_status(const char *json, size_t len,
                                                int gpu, vgmo_serving_node *out,
                                                char *err, size_t errlen);

/* ------------------------------------------------- batch sizing by unit
 *
 * Items of one batch may differ in cost: an image of 4032x3024 pixels
 * costs thirty times one of 640x480. A worker that can count each item's
 * cost before it runs it (the tokens its processor produces, as vLLM's
 * max_num_batched_tokens does) reports the batch's total `units` with
 * each report. vgmo then fits peak = fixed + unit_cost x units, and
 * answers with a budget in units: the worker fills its next batch with
 * items, in order, while their units stay within the budget and their
 * count within max_items (at least one item). The item batch size of
 * vgmo_engine_report keeps working alongside. */

typedef struct vgmo_unit_decision {
	uint64_t unit_budget; /* most units in the next batch; 0: none yet,
	                         run max_items items */
	int max_items;        /* most items in the next batch */
	bool cleanup;         /* the worker should release cached memory */
	bool changed;         /* unit_budget differs from the last one */
} vgmo_unit_decision;

/* The worker's prior before its first unit report (e.g. from
 * vgmo_plan_compute: fixed_bytes and token_bytes). Without it the first
 * batch runs the item batch size and the budget follows from its
 * report. */
VGMO_API vgmo_err vgmo_engine_set_unit_prior(vgmo_engine *e, int worker,
                                             uint64_t fixed_bytes,
                                             double unit_bytes);

/* Like vgmo_engine_report (which it calls), plus the batch's `units`
 * (>= 1); `out` receives the next unit budget. */
VGMO_API vgmo_err vgmo_engine_report_units(vgmo_engine *e, int worker,
                                           const vgmo_report *r, uint64_t units,
                                           vgmo_unit_decision *out);

/* The current decision without reporting. VGMO_ERR_NOT_FOUND for an
 * unknown worker. */
VGMO_API vgmo_err vgmo_engine_unit_decision(vgmo_engine *e, int worker,
                                            vgmo_unit_decision *out);

/* ---------------------------------------------- batches of requests
 *
 * A tokens worker that can tell vgmo each request's shape before it runs
 * (its processor counts the tokens) gets the most exact answers: vgmo
 * learns the cost of prompt tokens and of generated tokens apart, follows
 * the worker's padding, and answers with how many requests from the head
 * of its queue to run next, refusing up front a request that cannot fit
 * (docs/clients.md). */

typedef struct vgmo_request_shape {
	uint32_t images;       /* images in the request */
	uint32_t image_tokens; /* its images' tokens, as the processor counts */
	uint32_t text_tokens;  /* prompt text */
	uint32_t output_tokens; /* max_new_tokens: it may stop earlier */
} vgmo_request_shape;

typedef enum vgmo_fit_verdict {
	VGMO_FIT_OK = 0,  /* it fits now */
	VGMO_FIT_NOT_NOW, /* not in what the worker has now; it would with
	                     the GPU's other memory free */
	VGMO_FIT_NEVER    /* not even alone on the GPU: downscale or split */
} vgmo_fit_verdict;

VGMO_API const char *vgmo_fit_verdict_name(vgmo_fit_verdict v);

/* Whether one request fits, alone, and what would. */
typedef struct vgmo_fit {
	vgmo_fit_verdict verdict;
	uint64_t need_bytes; /* predicted, with the strategy's margin */
	uint64_t room_bytes; /* what the worker may use now, to the OOM line */
	/* The largest prompt (image + text tokens) that fits now with the
	 * same output tokens, and of it what its images may take at the
	 * same text; 0 when nothing fits. */
	uint32_t max_prompt_tokens;
	uint32_t max_image_tokens;
	/* Pixels per image that give max_image_tokens, for the worker's
	 * model (registered with a preset); 0 when unknown. */
	uint64_t max_pixels;
	char reason[VGMO_REASON_MAX];
} vgmo_fit;

/* The next batch. */
typedef struct vgmo_batch_plan {
	size_t take;         /* requests from the head to run; 0: refuse the
	                        head (head says why) */
	vgmo_fit head;       /* the head request's answer */
	uint64_t need_bytes; /* predicted for the batch, margin included */
	uint64_t room_bytes; /* what the worker may use now */
	bool cleanup;        /* release cached memory first */
} vgmo_batch_plan;

/* Plans the next batch from the first `n` requests of a worker's queue
 * (oldest first): the longest prefix whose predicted need fits, at most
 * max_batch_size requests (a manual batch size caps it too). */
VGMO_API vgmo_err vgmo_engine_plan_batch(vgmo_engine *e, int worker,
                                         const vgmo_request_shape *queue,
                                         size_t n, vgmo_batch_plan *out);

/* One request's fit (see vgmo_fit). */
VGMO_API vgmo_err vgmo_engine_fit(vgmo_engine *e, int worker,
                                  const vgmo_request_shape *r, vgmo_fit *out);

/* The model preset `worker` registered with: VGMO_ERR_NOT_FOUND for an
 * unknown worker, VGMO_ERR_STATE for one without a model (then image
 * sizes cannot be turned into tokens: the worker counts them). */
VGMO_API vgmo_err vgmo_engine_worker_model(const vgmo_engine *e, int worker,
                                           vgmo_vlm_model *out);

/* Makes `worker` a tokens worker of model `m` (NULL: none; the default
 * prior) laid out with `padding`, before it reported anything
 * (VGMO_ERR_STATE after). */
VGMO_API vgmo_err vgmo_engine_set_worker_model(vgmo_engine *e, int worker,
                                               const vgmo_vlm_model *m,
                                               vgmo_padding padding);

/* Reports a batch of `n` requests with their shapes (r->items == n);
 * `out` may be NULL. */
VGMO_API vgmo_err vgmo_engine_report_batch(vgmo_engine *e, int worker,
                                           const vgmo_report *r,
                                           const vgmo_request_shape *batch,
                                           size_t n, vgmo_decision *out);

/* =================================================================
 * Workers in the loop: the client of `vgmo serve` (docs/clients.md), for
 * workers written in C or C++. client.c; libcurl is loaded at run time
 * (dlopen) by vgmo_client_open, so libvgmo does not link it.
 * ================================================================= */

/* One worker registered with a daemon. Opaque; one thread at a time. */
typedef struct vgmo_client vgmo_client;

/* Registers `name` (1 to 63 characters [A-Za-z0-9._-], unique per GPU;
 * the same name again resumes what the daemon learned) on device `gpu`
 * with `weight` (<= 0: 1) at `server_url` ("http://HOST:PORT" or https;
 * NULL: $VGMO_SERVER, else http://127.0.0.1:8080), sending `token` as the
 * bearer token (NULL: none). *out receives a handle to free with
 * vgmo_client_close. Errors: VGMO_ERR_INVALID for a bad argument or a
 * request the daemon refused (400), VGMO_ERR_PERMISSION (401, 403),
 * VGMO_ERR_IO when the daemon cannot be reached or fails (5xx),
 * VGMO_ERR_TIMEOUT, VGMO_ERR_PARSE for an answer that is not the
 * protocol's, VGMO_ERR_LIBRARY without libcurl. */
VGMO_API vgmo_err vgmo_client_open(vgmo_client **out, const char *server_url,
                                   const char *name, unsigned gpu,
                                   double weight, const char *token, char *err,
                                   size_t errlen);

/* The batch size to run next: the daemon's last answer (before any, the
 * one registration gave). */
VGMO_API int vgmo_client_batch_size(const vgmo_client *c);

/* The id the daemon gave the client (it changes when the client registers
 * again), or -1 while it is not registered. */
VGMO_API int64_t vgmo_client_id(const vgmo_client *c);

/* Reports one batch: r->items >= 1; r->peak_bytes > 0 unless r->oom;
 * r->allocated_bytes, r->reserved_bytes, r->seconds and r->freed_bytes
 * (what the cleanup the daemon asked for released) when known, 0
 * otherwise. `out` (may be NULL) receives the next batch size and whether
 * the daemon asks for a cleanup.
 *
 * A worker's loop can ignore the result: *out always holds a usable
 * decision. When the daemon forgot the client (it restarted, or the lease
 * ran out) the client registers again and resends. When the daemon cannot
 * be reached (VGMO_ERR_IO, VGMO_ERR_TIMEOUT, VGMO_ERR_PARSE), *out keeps
 * the last batch size (halved for an OOM, as the daemon would), and later
 * reports return VGMO_ERR_IO at once, without a request, until a back-off
 * from 0.25 s doubling to 30 s has passed. */
VGMO_API vgmo_err vgmo_client_report(vgmo_client *c, const vgmo_report *r,
                                     vgmo_decision *out, char *err,
                                     size_t errlen);

/* vgmo_client_open with a whole spec: its unit ("tokens" for the calls
 * below to count tokens), model preset, padding and process id (the
 * spec's leased and prior fields are not sent: a client is always
 * leased, and the daemon takes the prior from the model). */
VGMO_API vgmo_err vgmo_client_open_spec(vgmo_client **out,
                                        const char *server_url,
                                        const vgmo_worker_spec *spec,
                                        const char *token, char *err,
                                        size_t errlen);

/* Asks whether one request fits before it runs (POST .../fit; see
 * vgmo_fit). On any error *out still holds a usable answer: "fits",
 * unjudged, with the reason. */
VGMO_API vgmo_err vgmo_client_fit(vgmo_client *c, const vgmo_request_shape *r,
                                  vgmo_fit *out, char *err, size_t errlen);

/* How many requests from the head of the queue to run next (POST
 * .../plan; see vgmo_batch_plan). On any error *out still holds a usable
 * answer: the client's batch size of them, unjudged. */
VGMO_API vgmo_err vgmo_client_plan(vgmo_client *c,
                                   const vgmo_request_shape *queue, size_t n,
                                   vgmo_batch_plan *out, char *err,
                                   size_t errlen);

/* vgmo_client_report with the batch's `n` request shapes (n == r->items);
 * the client must have registered with unit "tokens". */
VGMO_API vgmo_err vgmo_client_report_batch(vgmo_client *c, const vgmo_report *r,
                                           const vgmo_request_shape *batch,
                                           size_t n, vgmo_decision *out,
                                           char *err, size_t errlen);

/* vgmo_client_report of a batch of `items` that ran out of memory. */
VGMO_API vgmo_err vgmo_client_report_oom(vgmo_client *c, uint32_t items,
                                         vgmo_decision *out, char *err,
                                         size_t errlen);

/* Leaves the daemon (DELETE, best effort) and frees the handle. NULL is
 * a no-op. */
VGMO_API void vgmo_client_close(vgmo_client *c);

#ifdef __cplusplus
}
#endif

#endif /* VGMO_VGMO_H */
