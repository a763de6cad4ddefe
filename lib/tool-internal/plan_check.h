/*
 * plan_check.h - measured VLM batches against the planner (internal).
 *
 * A measurement file is JSON Lines as scripts/vlm-measure.py writes it
 * (bench/measurements/README.md lists every field): one "header" line,
 * then "model" lines (a model built on the GPU: its weights) and "point"
 * lines (one batch: its shape and what it cost), and an "end" line when
 * the run was not cut off. Every field of every kind must be present, with
 * its type, and nothing else; measurements are null in a dry run and for
 * skipped points. measure_jsonl.c reads it, plan_check.c compares.
 */
#ifndef VGMO_LIB_PLAN_CHECK_H
#define VGMO_LIB_PLAN_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vgmo/vgmo.h"

#define VGMO__MEASURE_FORMAT "vgmo-vlm-measure"
#define VGMO__MEASURE_VERSION 1
/* Largest measurement file read. */
#define VGMO__MEASURE_FILE_MAX ((size_t)64 << 20)

/* A model built on the GPU. Absent numbers are NAN. */
typedef struct vgmo__mmodel {
	int line;
	char model[64];
	char status[16];      /* built, error, skipped, planned */
	double params;        /* counted parameters */
	double weights_bytes; /* memory_allocated() right after the build */
} vgmo__mmodel;

typedef enum vgmo__mmode {
	VGMO__MODE_GENERATE = 0, /* model.generate, KV cache kept */
	VGMO__MODE_FORWARD       /* one forward pass, no KV cache */
} vgmo__mmode;

/* One batch. Absent numbers are NAN; `oom` is -1 when unknown. */
typedef struct vgmo__mpoint {
	int line;
	char model[64];
	char image[32];  /* the image size's label, e.g. 1024sq */
	char status[16]; /* measured, oom, error, skipped, planned */
	vgmo__mmode mode;
	uint32_t batch, width, height, images, prompt_tokens, max_new_tokens;
	uint32_t image_tokens; /* per image, as fed to the model */
	uint32_t input_tokens; /* per request, padded to the longest */
	bool logits_all; /* every position's logits (else the last only) */
	int oom;
	double new_tokens;
	double base_allocated, peak_allocated, peak_reserved;
	double prefill_peak_allocated, kv_cache, nvml_used_peak;
	double prefill_seconds, decode_seconds;
} vgmo__mpoint;

typedef struct vgmo__mfile {
	char script_version[32];
	char gpu_name[128]; /* "" when absent (a dry run) */
	char driver[64], torch[64], transformers[64];
	double gpu_total_bytes; /* NAN when absent */
	vgmo_dtype dtype;
	bool dry_run;
	bool ended;     /* an "end" line was read */
	bool truncated; /* the last line was cut off and ignored */
	vgmo__mmodel *models;
	size_t nmodels;
	vgmo__mpoint *points;
	size_t npoints;
} vgmo__mfile;

/* Reads `len` bytes of JSON Lines; `source` names it in messages:
 * "source:line: field "key": reason". On error *out is left empty. The
 * caller frees *out with vgmo__mfile_free. */
vgmo_err vgmo__mfile_parse(const char *text, size_t len, const char *source,
                           vgmo__mfile *out, char *err, size_t errlen);
vgmo_err vgmo__mfile_load(const char *path, vgmo__mfile *out, char *err,
                          size_t errlen);
void vgmo__mfile_free(vgmo__mfile *f);

/* The planner's parts next to one measured point. Absent: NAN. */
typedef struct vgmo__check_row {
	const vgmo__mpoint *point;
	char preset[64];            /* the model the prediction came from */
	uint32_t plan_image_tokens; /* per image, by the planner's rule */
	double plan_weights, meas_weights;
	double plan_kv, meas_kv;   /* generate only */
	double plan_act, meas_act; /* forward with last-position logits */
	double plan_peak, meas_peak;
	bool plan_fits; /* predicted peak within the GPU's memory */
} vgmo__check_row;

/* Relative errors (plan - measured) / measured of one part of one model. */
typedef enum vgmo__check_part {
	VGMO__PART_WEIGHTS = 0,
	VGMO__PART_KV,
	VGMO__PART_ACT,
	VGMO__PART_PEAK,
	VGMO__PART_COUNT
} vgmo__check_part;

const char *vgmo__check_part_name(vgmo__check_part p);

typedef struct vgmo__check_stat {
	char model[64];
	vgmo__check_part part;
	size_t n;
	double median, worst; /* worst: the largest |error|, signed */
} vgmo__check_stat;

typedef struct vgmo__check {
	vgmo__check_row *rows; /* measured and oom points, file order */
	size_t nrows;
	vgmo__check_stat *stats; /* per model, per part with n > 0 */
	size_t nstats;
	/* Per model in file order: points without a preset are not rows. */
	char (*unmatched)[64];
	size_t nunmatched;
	size_t ooms, oom_planned_fit; /* OOMs; of them, planned to fit */
	size_t skipped, errors;       /* points not measured */
} vgmo__check;

/* The planner's model for a measurement's model name: its preset, or a
 * known alias of one (e.g. "smolvlm" for smolvlm-instruct). */
vgmo_err vgmo__check_preset(const char *name, vgmo_vlm_model *out);

/* Compares every measured point of `f` with the planner. `override`
 * (NULL: by each point's model name) is used for every point. The rows
 * point into `f`, which must outlive *out; the caller frees *out with
 * vgmo__check_free. */
vgmo_err vgmo__check_compute(const vgmo__mfile *f,
                             const vgmo_vlm_model *override, vgmo__check *out,
                             char *err, size_t errlen);
void vgmo__check_free(vgmo__check *c);

#endif
