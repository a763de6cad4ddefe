/*
 * measure_fields.h - the fields of a measurement file's lines and their
 * checker (internal; measure_fields.c, read by measure_jsonl.c).
 *
 * The field names double as indices (enum header_key, ...), so the tables
 * cannot drift from the code that reads them.
 */
#ifndef VGMO_LIB_MEASURE_FIELDS_H
#define VGMO_LIB_MEASURE_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "vgmo/vgmo.h"

#define VGMO__MEASURE_MAX_MODELS 64
#define VGMO__MEASURE_STR_MAX 4096

enum ftype { T_STR, T_U32, T_U64, T_NUM, T_BOOL, T_STRS };

typedef struct vgmo__mfield {
	const char *key;
	unsigned char type;
	bool null_ok;
	size_t max;                 /* T_STR: longest value kept, bytes */
	const char *const *choices; /* T_STR: the values allowed */
	uint64_t min;               /* T_U32, T_U64: smallest value */
} vgmo__mfield;

enum header_key {
	kind,
	format,
	format_version,
	script_version,
	dry_run,
	started_utc,
	command,
	gpu_name,
	gpu_total_bytes,
	gpu_count,
	driver_version,
	cuda_version,
	torch_version,
	transformers_version,
	python_version,
	nvml_source,
	dtype,
	attn_implementation,
	budget_seconds,
	models,
	planned_points,
	plan_gpu_bytes,
	seed,
	HEADER_N
};

enum model_key {
	m_kind,
	model,
	arch,
	config_source,
	m_dry_run,
	m_status,
	m_reason,
	params,
	param_bytes,
	weights_allocated_bytes,
	reserved_bytes,
	nvml_used_bytes,
	build_seconds,
	MODEL_N
};

enum point_key {
	p_kind,
	p_model,
	mode,
	sweep,
	p_status,
	p_reason,
	p_dry_run,
	batch,
	image,
	image_width,
	image_height,
	images_per_request,
	prompt_tokens,
	max_new_tokens,
	padding,
	image_tokens,
	input_tokens,
	logits_key,
	est_seconds,
	oom,
	new_tokens,
	base_allocated_bytes,
	peak_allocated_bytes,
	peak_reserved_bytes,
	prefill_peak_allocated_bytes,
	kv_cache_bytes,
	nvml_used_peak_bytes,
	alloc_retries,
	prefill_seconds,
	decode_seconds,
	total_seconds,
	POINT_N
};

enum end_key {
	e_kind,
	e_dry_run,
	e_status,
	points_measured,
	points_oom,
	points_error,
	points_skipped,
	seconds,
	e_est_seconds,
	END_N
};

extern const vgmo__mfield vgmo__mfields_header[HEADER_N];
extern const vgmo__mfield vgmo__mfields_model[MODEL_N];
extern const vgmo__mfield vgmo__mfields_point[POINT_N];
extern const vgmo__mfield vgmo__mfields_end[END_N];

/* One line being read: where it is, for messages. */
typedef struct vgmo__mline {
	const char *source;
	int line;
	char *err;
	size_t errlen;
} vgmo__mline;

/* The values of "kind", NULL-terminated. */
extern const char *const vgmo__measure_kinds[];

/* "source:line: field "key": why", as VGMO_ERR_PARSE. */
vgmo_err vgmo__mfield_err(const vgmo__mline *c, const char *key,
                          const char *why);
/* Whether `v` is one of the NULL-terminated `list`. */
bool vgmo__mfield_in_list(const char *const *list, const char *v);
/* Every key of `obj` known and every field present and well typed; vals[i]
 * borrows the value of fields[i]. */
vgmo_err vgmo__mfields_check(const vgmo__mline *c, const vgmo__mfield *fields,
                             size_t n, json_t *obj, json_t **vals);
/* A checked field's value: NAN, 0 or "" for null. */
double vgmo__mfield_num(json_t *v);
uint32_t vgmo__mfield_u32(json_t *v);
void vgmo__mfield_str(char *dst, size_t size, json_t *v);

#endif
