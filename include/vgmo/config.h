/*
 * vgmo/config.h - the configuration: its fields, defaults, ranges and
 * validation, and the status a usage fraction is classified as.
 * Part of the public API: include vgmo/vgmo.h, which includes every part.
 */

#ifndef VGMO_CONFIG_H
#define VGMO_CONFIG_H

#include "vgmo/common.h"
#include "vgmo/error.h"

#ifdef __cplusplus
extern "C" {
#endif

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
	int64_t memory_reserve_mb;        /* 1024 MiB */
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

#ifdef __cplusplus
}
#endif

#endif /* VGMO_CONFIG_H */
