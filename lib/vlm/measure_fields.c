/*
 * measure_fields.c - the tables of a measurement file's fields, one per
 * kind of line, and the checker that holds a line to its table: every
 * field there with its type, null only where allowed, nothing else.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "measure_fields.h"
#include "util.h"

const char *const vgmo__measure_kinds[] = {"header", "model", "point", "end",
                                           NULL};
static const char *const model_states[] = {"built", "error", "skipped",
                                           "planned", NULL};
static const char *const point_states[] = {"measured", "oom",     "error",
                                           "skipped",  "planned", NULL};
static const char *const end_states[] = {"done", "budget", "interrupted",
                                         "error", NULL};
static const char *const modes[] = {"generate", "forward", NULL};
static const char *const paddings[] = {"left", "right", NULL};
static const char *const logits[] = {"last", "all", NULL};

#define S(k, n, max) [k] = {#k, T_STR, n, max, NULL, 0}
#define C(k, n, list) [k] = {#k, T_STR, n, 64, list, 0}
#define U32(k, n, lo) [k] = {#k, T_U32, n, 0, NULL, lo}
#define U64(k, n) [k] = {#k, T_U64, n, 0, NULL, 0}
#define NUM(k, n) [k] = {#k, T_NUM, n, 0, NULL, 0}
#define BOOL(k, n) [k] = {#k, T_BOOL, n, 0, NULL, 0}

const vgmo__mfield vgmo__mfields_header[HEADER_N] = {
        C(kind, false, vgmo__measure_kinds),
        S(format, false, 64),
        U32(format_version, false, 1),
        S(script_version, false, 31),
        BOOL(dry_run, false),
        S(started_utc, false, 64),
        S(command, false, VGMO__MEASURE_STR_MAX),
        S(gpu_name, true, 127),
        U64(gpu_total_bytes, true),
        U32(gpu_count, true, 0),
        S(driver_version, true, 63),
        S(cuda_version, true, 63),
        S(torch_version, true, 63),
        S(transformers_version, true, 63),
        S(python_version, false, 63),
        S(nvml_source, true, 63),
        S(dtype, false, 15),
        S(attn_implementation, false, 63),
        NUM(budget_seconds, false),
        [models] = {"models", T_STRS, false, 63, NULL, 0},
        U32(planned_points, false, 0),
        U64(plan_gpu_bytes, false),
        U64(seed, false),
};

const vgmo__mfield vgmo__mfields_model[MODEL_N] = {
        [m_kind] = {"kind", T_STR, false, 64, vgmo__measure_kinds, 0},
        S(model, false, 63),
        S(arch, false, 127),
        S(config_source, false, VGMO__MEASURE_STR_MAX),
        [m_dry_run] = {"dry_run", T_BOOL, false, 0, NULL, 0},
        [m_status] = {"status", T_STR, false, 64, model_states, 0},
        [m_reason] = {"reason", T_STR, true, VGMO__MEASURE_STR_MAX, NULL, 0},
        U64(params, true),
        U64(param_bytes, true),
        U64(weights_allocated_bytes, true),
        U64(reserved_bytes, true),
        U64(nvml_used_bytes, true),
        NUM(build_seconds, true),
};

const vgmo__mfield vgmo__mfields_point[POINT_N] = {
        [p_kind] = {"kind", T_STR, false, 64, vgmo__measure_kinds, 0},
        [p_model] = {"model", T_STR, false, 63, NULL, 0},
        C(mode, false, modes),
        S(sweep, false, 63),
        [p_status] = {"status", T_STR, false, 64, point_states, 0},
        [p_reason] = {"reason", T_STR, true, VGMO__MEASURE_STR_MAX, NULL, 0},
        [p_dry_run] = {"dry_run", T_BOOL, false, 0, NULL, 0},
        U32(batch, false, 1),
        S(image, false, 31),
        U32(image_width, false, 1),
        U32(image_height, false, 1),
        U32(images_per_request, false, 1),
        U32(prompt_tokens, false, 0),
        U32(max_new_tokens, false, 0),
        C(padding, false, paddings),
        U32(image_tokens, false, 1),
        U32(input_tokens, false, 1),
        [logits_key] = {"logits", T_STR, true, 64, logits, 0},
        NUM(est_seconds, false),
        BOOL(oom, true),
        U32(new_tokens, true, 0),
        U64(base_allocated_bytes, true),
        U64(peak_allocated_bytes, true),
        U64(peak_reserved_bytes, true),
        U64(prefill_peak_allocated_bytes, true),
        U64(kv_cache_bytes, true),
        U64(nvml_used_peak_bytes, true),
        U64(alloc_retries, true),
        NUM(prefill_seconds, true),
        NUM(decode_seconds, true),
        NUM(total_seconds, true),
};

const vgmo__mfield vgmo__mfields_end[END_N] = {
        [e_kind] = {"kind", T_STR, false, 64, vgmo__measure_kinds, 0},
        [e_dry_run] = {"dry_run", T_BOOL, false, 0, NULL, 0},
        [e_status] = {"status", T_STR, false, 64, end_states, 0},
        U32(points_measured, false, 0),
        U32(points_oom, false, 0),
        U32(points_error, false, 0),
        U32(points_skipped, false, 0),
        NUM(seconds, false),
        [e_est_seconds] = {"est_seconds", T_NUM, true, 0, NULL, 0},
};

#undef S
#undef C
#undef U32
#undef U64
#undef NUM
#undef BOOL

vgmo_err vgmo__mfield_err(const vgmo__mline *c, const char *key,
                          const char *why)
{
	return vgmo__errf(c->err, c->errlen, VGMO_ERR_PARSE,
	                  "%s:%d: field \"%s\": %s", c->source, c->line, key,
	                  why);
}

bool vgmo__mfield_in_list(const char *const *list, const char *v)
{
	for (; *list; list++)
		if (strcmp(*list, v) == 0)
			return true;
	return false;
}

/* Why `v` does not fit `f`, or NULL. `buf` holds a composed reason. */
static const char *check_value(const vgmo__mfield *f, json_t *v, char *buf,
                               size_t buflen)
{
	json_int_t i;
	size_t k;
	json_t *e;

	if (json_is_null(v))
		return f->null_ok ? NULL : "must not be null";
	switch (f->type) {
	case T_STR:
		if (!json_is_string(v))
			return "must be a string";
		if (f->choices &&
		    !vgmo__mfield_in_list(f->choices, json_string_value(v))) {
			size_t off = (size_t)snprintf(buf, buflen, "must be");

			for (const char *const *c = f->choices;
			     *c && off < buflen; c++)
				off += (size_t)snprintf(
				        buf + off, buflen - off, "%s \"%s\"",
				        c == f->choices ? "" : ",", *c);
			return buf;
		}
		if (json_string_length(v) >
		    (f->max ? f->max : VGMO__MEASURE_STR_MAX))
			return "is too long";
		return NULL;
	case T_U32:
	case T_U64:
		if (!json_is_integer(v))
			return "must be an integer";
		i = json_integer_value(v);
		if (i < 0 || (uint64_t)i < f->min) {
			snprintf(buf, buflen, "must be an integer >= %llu",
			         (unsigned long long)f->min);
			return buf;
		}
		if (f->type == T_U32 && i > (json_int_t)UINT32_MAX)
			return "must be at most 4294967295";
		return NULL;
	case T_NUM:
		if (!json_is_number(v) || !isfinite(json_number_value(v)) ||
		    json_number_value(v) < 0)
			return "must be a number >= 0";
		return NULL;
	case T_BOOL:
		return json_is_boolean(v) ? NULL : "must be true or false";
	case T_STRS:
		if (!json_is_array(v) ||
		    json_array_size(v) > VGMO__MEASURE_MAX_MODELS)
			return "must be an array of at most 64 strings";
		json_array_foreach(v, k, e)
		{
			if (!json_is_string(e) || json_string_length(e) == 0 ||
			    json_string_length(e) > f->max)
				return "must hold strings of 1 to 63 "
				       "characters";
		}
		return NULL;
	}
	return "has an unknown type";
}

/* Every key of `obj` known and every field present and well typed; vals[i]
 * borrows the value of fields[i]. */
vgmo_err vgmo__mfields_check(const vgmo__mline *c, const vgmo__mfield *fields,
                             size_t n, json_t *obj, json_t **vals)
{
	char buf[256];
	const char *key, *why;
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		size_t i = 0;

		while (i < n && strcmp(fields[i].key, key) != 0)
			i++;
		if (i == n)
			return vgmo__mfield_err(c, key, "unknown field");
	}
	for (size_t i = 0; i < n; i++) {
		v = json_object_get(obj, fields[i].key);
		if (v == NULL)
			return vgmo__mfield_err(c, fields[i].key, "missing");
		why = check_value(&fields[i], v, buf, sizeof(buf));
		if (why)
			return vgmo__mfield_err(c, fields[i].key, why);
		vals[i] = v;
	}
	return VGMO_OK;
}

double vgmo__mfield_num(json_t *v)
{
	return json_is_null(v) ? NAN : json_number_value(v);
}

uint32_t vgmo__mfield_u32(json_t *v)
{
	return json_is_integer(v) ? (uint32_t)json_integer_value(v) : 0;
}

void vgmo__mfield_str(char *dst, size_t size, json_t *v)
{
	vgmo__strlcpy(dst, json_is_string(v) ? json_string_value(v) : "", size);
}
