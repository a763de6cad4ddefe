/*
 * measure_jsonl.c - reads measurement files of scripts/vlm-measure.py
 * (plan_check.h; the fields are listed in bench/measurements/README.md).
 *
 * Strict: each line is one JSON object whose "kind" picks a table below;
 * every field of that table must be there with its type (null only where
 * the table allows it), and no other field may be. Errors name the file,
 * the line, the field and the reason. The one leniency: a last line
 * without its newline that does not parse is the tail of a run that was
 * cut off while writing, and is dropped (`truncated`).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json_strict.h"
#include "plan_check.h"
#include "util.h"

#define MAX_MODELS 64
#define MAX_POINTS 1000000
#define STR_MAX 4096

enum ftype { T_STR, T_U32, T_U64, T_NUM, T_BOOL, T_STRS };

typedef struct mfield {
	const char *key;
	unsigned char type;
	bool null_ok;
	size_t max;                 /* T_STR: longest value kept, bytes */
	const char *const *choices; /* T_STR: the values allowed */
	uint64_t min;               /* T_U32, T_U64: smallest value */
} mfield;

static const char *const kinds[] = {"header", "model", "point", "end", NULL};
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

/* The field names double as indices, so the tables cannot drift from the
 * code that reads them. */
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

static const mfield header_fields[HEADER_N] = {
        C(kind, false, kinds),
        S(format, false, 64),
        U32(format_version, false, 1),
        S(script_version, false, 31),
        BOOL(dry_run, false),
        S(started_utc, false, 64),
        S(command, false, STR_MAX),
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

static const mfield model_fields[MODEL_N] = {
        [m_kind] = {"kind", T_STR, false, 64, kinds, 0},
        S(model, false, 63),
        S(arch, false, 127),
        S(config_source, false, STR_MAX),
        [m_dry_run] = {"dry_run", T_BOOL, false, 0, NULL, 0},
        [m_status] = {"status", T_STR, false, 64, model_states, 0},
        [m_reason] = {"reason", T_STR, true, STR_MAX, NULL, 0},
        U64(params, true),
        U64(param_bytes, true),
        U64(weights_allocated_bytes, true),
        U64(reserved_bytes, true),
        U64(nvml_used_bytes, true),
        NUM(build_seconds, true),
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

static const mfield point_fields[POINT_N] = {
        [p_kind] = {"kind", T_STR, false, 64, kinds, 0},
        [p_model] = {"model", T_STR, false, 63, NULL, 0},
        C(mode, false, modes),
        S(sweep, false, 63),
        [p_status] = {"status", T_STR, false, 64, point_states, 0},
        [p_reason] = {"reason", T_STR, true, STR_MAX, NULL, 0},
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

static const mfield end_fields[END_N] = {
        [e_kind] = {"kind", T_STR, false, 64, kinds, 0},
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

/* One line being read: where it is, for messages. */
typedef struct line_ctx {
	const char *source;
	int line;
	char *err;
	size_t errlen;
} line_ctx;

static vgmo_err field_err(const line_ctx *c, const char *key, const char *why)
{
	return vgmo__errf(c->err, c->errlen, VGMO_ERR_PARSE,
	                  "%s:%d: field \"%s\": %s", c->source, c->line, key,
	                  why);
}

static bool in_list(const char *const *list, const char *v)
{
	for (; *list; list++)
		if (strcmp(*list, v) == 0)
			return true;
	return false;
}

/* Why `v` does not fit `f`, or NULL. `buf` holds a composed reason. */
static const char *check_value(const mfield *f, json_t *v, char *buf,
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
		if (f->choices && !in_list(f->choices, json_string_value(v))) {
			size_t off = (size_t)snprintf(buf, buflen, "must be");

			for (const char *const *c = f->choices;
			     *c && off < buflen; c++)
				off += (size_t)snprintf(
				        buf + off, buflen - off, "%s \"%s\"",
				        c == f->choices ? "" : ",", *c);
			return buf;
		}
		if (json_string_length(v) > (f->max ? f->max : STR_MAX))
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
		if (!json_is_array(v) || json_array_size(v) > MAX_MODELS)
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
static vgmo_err check_fields(const line_ctx *c, const mfield *fields, size_t n,
                             json_t *obj, json_t **vals)
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
			return field_err(c, key, "unknown field");
	}
	for (size_t i = 0; i < n; i++) {
		v = json_object_get(obj, fields[i].key);
		if (v == NULL)
			return field_err(c, fields[i].key, "missing");
		why = check_value(&fields[i], v, buf, sizeof(buf));
		if (why)
			return field_err(c, fields[i].key, why);
		vals[i] = v;
	}
	return VGMO_OK;
}

static double num(json_t *v)
{
	return json_is_null(v) ? NAN : json_number_value(v);
}

static uint32_t u32(json_t *v)
{
	return json_is_integer(v) ? (uint32_t)json_integer_value(v) : 0;
}

static void str(char *dst, size_t size, json_t *v)
{
	vgmo__strlcpy(dst, json_is_string(v) ? json_string_value(v) : "", size);
}

/* State across the lines of one file. */
typedef struct reader {
	vgmo__mfile *f;
	char names[MAX_MODELS][64]; /* the header's "models" */
	size_t nnames;
	size_t cap_models, cap_points;
} reader;

static bool known_model(const reader *r, const char *name)
{
	for (size_t i = 0; i < r->nnames; i++)
		if (strcmp(r->names[i], name) == 0)
			return true;
	return false;
}

static vgmo_err read_header(reader *r, const line_ctx *c, json_t *obj)
{
	json_t *v[HEADER_N], *e;
	vgmo_err rc = check_fields(c, header_fields, HEADER_N, obj, v);
	vgmo__mfile *f = r->f;
	char why[96];
	size_t i;

	if (rc != VGMO_OK)
		return rc;
	if (strcmp(json_string_value(v[format]), VGMO__MEASURE_FORMAT) != 0)
		return field_err(c, "format",
		                 "not \"" VGMO__MEASURE_FORMAT "\"");
	if (u32(v[format_version]) != VGMO__MEASURE_VERSION) {
		snprintf(why, sizeof(why),
		         "%u is not the version this vgmo reads (%d)",
		         u32(v[format_version]), VGMO__MEASURE_VERSION);
		return field_err(c, "format_version", why);
	}
	if (vgmo_dtype_parse(json_string_value(v[dtype]), &f->dtype) != VGMO_OK)
		return field_err(c, "dtype", "must be bf16, fp16 or fp8");
	str(f->script_version, sizeof(f->script_version), v[script_version]);
	str(f->gpu_name, sizeof(f->gpu_name), v[gpu_name]);
	str(f->driver, sizeof(f->driver), v[driver_version]);
	str(f->torch, sizeof(f->torch), v[torch_version]);
	str(f->transformers, sizeof(f->transformers), v[transformers_version]);
	f->gpu_total_bytes = num(v[gpu_total_bytes]);
	f->dry_run = json_is_true(v[dry_run]);
	json_array_foreach(v[models], i, e)
	{
		if (known_model(r, json_string_value(e)))
			return field_err(c, "models", "lists a model twice");
		vgmo__strlcpy(r->names[r->nnames++], json_string_value(e),
		              sizeof(r->names[0]));
	}
	return VGMO_OK;
}

static bool grow(void **p, size_t *cap, size_t n, size_t size, size_t max)
{
	size_t want;
	void *np;

	if (n < *cap)
		return true;
	if (n >= max)
		return false;
	want = *cap ? *cap * 2 : 16;
	if (want > max)
		want = max;
	np = realloc(*p, want * size);
	if (np == NULL)
		return false;
	*p = np;
	*cap = want;
	return true;
}

static vgmo_err read_model(reader *r, const line_ctx *c, json_t *obj)
{
	json_t *v[MODEL_N];
	vgmo_err rc = check_fields(c, model_fields, MODEL_N, obj, v);
	vgmo__mfile *f = r->f;
	vgmo__mmodel *m;

	if (rc != VGMO_OK)
		return rc;
	if (!known_model(r, json_string_value(v[model])))
		return field_err(c, "model", "not in the header's \"models\"");
	if (json_is_true(v[m_dry_run]) != f->dry_run)
		return field_err(c, "dry_run", "differs from the header's");
	if (!grow((void **)&f->models, &r->cap_models, f->nmodels,
	          sizeof(*f->models), MAX_MODELS * 4))
		return vgmo__errf(c->err, c->errlen, VGMO_ERR_NOMEM,
		                  "%s:%d: too many model lines", c->source,
		                  c->line);
	m = &f->models[f->nmodels++];
	memset(m, 0, sizeof(*m));
	m->line = c->line;
	str(m->model, sizeof(m->model), v[model]);
	str(m->status, sizeof(m->status), v[m_status]);
	m->params = num(v[params]);
	m->weights_bytes = num(v[weights_allocated_bytes]);
	if (strcmp(m->status, "built") == 0 && isnan(m->weights_bytes))
		return field_err(c, "weights_allocated_bytes",
		                 "must be a number for a built model");
	return VGMO_OK;
}

/* What a point's status demands of its measurements. */
static vgmo_err point_rules(const line_ctx *c, const vgmo__mpoint *p,
                            json_t **v)
{
	bool measured = strcmp(p->status, "measured") == 0;
	bool oomed = strcmp(p->status, "oom") == 0;

	if (p->mode == VGMO__MODE_FORWARD && p->max_new_tokens != 0)
		return field_err(c, "max_new_tokens",
		                 "must be 0 in forward mode");
	if ((measured || oomed) && json_is_null(v[oom]))
		return field_err(c, "oom",
		                 "must be true or false for a "
		                 "measured point");
	if (measured && json_is_true(v[oom]))
		return field_err(c, "oom",
		                 "is true, but status is \"measured\"");
	if (oomed && !json_is_true(v[oom]))
		return field_err(c, "oom",
		                 "must be true when status is \"oom\"");
	if (measured && (isnan(p->peak_allocated) || isnan(p->base_allocated)))
		return field_err(c,
		                 isnan(p->peak_allocated)
		                         ? "peak_allocated_bytes"
		                         : "base_allocated_bytes",
		                 "must be a number for a measured point");
	if (measured && p->peak_allocated < p->base_allocated)
		return field_err(c, "peak_allocated_bytes",
		                 "is below base_allocated_bytes");
	if (!measured && !oomed && !json_is_null(v[peak_allocated_bytes]))
		return field_err(c, "peak_allocated_bytes",
		                 "must be null for a point that did not run");
	return VGMO_OK;
}

static vgmo_err read_point(reader *r, const line_ctx *c, json_t *obj)
{
	json_t *v[POINT_N];
	vgmo_err rc = check_fields(c, point_fields, POINT_N, obj, v);
	vgmo__mfile *f = r->f;
	vgmo__mpoint *p;

	if (rc != VGMO_OK)
		return rc;
	if (!known_model(r, json_string_value(v[p_model])))
		return field_err(c, "model", "not in the header's \"models\"");
	if (json_is_true(v[p_dry_run]) != f->dry_run)
		return field_err(c, "dry_run", "differs from the header's");
	if (!grow((void **)&f->points, &r->cap_points, f->npoints,
	          sizeof(*f->points), MAX_POINTS))
		return vgmo__errf(c->err, c->errlen, VGMO_ERR_NOMEM,
		                  "%s:%d: too many points", c->source, c->line);
	p = &f->points[f->npoints];
	memset(p, 0, sizeof(*p));
	p->line = c->line;
	str(p->model, sizeof(p->model), v[p_model]);
	str(p->image, sizeof(p->image), v[image]);
	str(p->status, sizeof(p->status), v[p_status]);
	p->mode = strcmp(json_string_value(v[mode]), "forward") == 0
	                  ? VGMO__MODE_FORWARD
	                  : VGMO__MODE_GENERATE;
	p->batch = u32(v[batch]);
	p->width = u32(v[image_width]);
	p->height = u32(v[image_height]);
	p->images = u32(v[images_per_request]);
	p->prompt_tokens = u32(v[prompt_tokens]);
	p->max_new_tokens = u32(v[max_new_tokens]);
	p->image_tokens = u32(v[image_tokens]);
	p->input_tokens = u32(v[input_tokens]);
	p->logits_all = json_is_string(v[logits_key]) &&
	                strcmp(json_string_value(v[logits_key]), "all") == 0;
	p->oom = json_is_null(v[oom]) ? -1 : json_is_true(v[oom]);
	p->new_tokens = num(v[new_tokens]);
	p->base_allocated = num(v[base_allocated_bytes]);
	p->peak_allocated = num(v[peak_allocated_bytes]);
	p->peak_reserved = num(v[peak_reserved_bytes]);
	p->prefill_peak_allocated = num(v[prefill_peak_allocated_bytes]);
	p->kv_cache = num(v[kv_cache_bytes]);
	p->nvml_used_peak = num(v[nvml_used_peak_bytes]);
	p->prefill_seconds = num(v[prefill_seconds]);
	p->decode_seconds = num(v[decode_seconds]);
	rc = point_rules(c, p, v);
	if (rc == VGMO_OK)
		f->npoints++;
	return rc;
}

static vgmo_err read_end(reader *r, const line_ctx *c, json_t *obj)
{
	json_t *v[END_N];
	vgmo_err rc = check_fields(c, end_fields, END_N, obj, v);

	if (rc != VGMO_OK)
		return rc;
	if (json_is_true(v[e_dry_run]) != r->f->dry_run)
		return field_err(c, "dry_run", "differs from the header's");
	r->f->ended = true;
	return VGMO_OK;
}

/* Parses one line's JSON; messages as "source:line:column: why". */
static vgmo_err load_line(const line_ctx *c, const char *s, size_t len,
                          json_t **out)
{
	char why[512];
	int col = 1, used = 0;
	vgmo_err rc = vgmo__json_load_object(s, len, "", out, why, sizeof(why));

	if (rc == VGMO_OK)
		return VGMO_OK;
	/* `why` is ":1:COLUMN: reason" for a one-line text. */
	if (sscanf(why, ":%*d:%d: %n", &col, &used) < 1 || used == 0)
		used = 0;
	return vgmo__errf(c->err, c->errlen, VGMO_ERR_PARSE, "%s:%d:%d: %s",
	                  c->source, c->line, col, why + used);
}

static vgmo_err read_line(reader *r, const line_ctx *c, const char *s,
                          size_t len, bool last_open)
{
	json_t *obj = NULL, *k;
	const char *kd;
	vgmo_err rc;

	if (vgmo__json_skip_blank(s, len) == len)
		return vgmo__errf(c->err, c->errlen, VGMO_ERR_PARSE,
		                  "%s:%d: empty line", c->source, c->line);
	rc = load_line(c, s, len, &obj);
	if (rc != VGMO_OK) {
		if (last_open && c->line > 1) {
			r->f->truncated = true;
			return VGMO_OK;
		}
		return rc;
	}
	k = json_object_get(obj, "kind");
	kd = json_is_string(k) ? json_string_value(k) : NULL;
	if (kd == NULL || !in_list(kinds, kd)) {
		rc = field_err(c, "kind",
		               k == NULL ? "missing"
		                         : "must be \"header\", \"model\", "
		                           "\"point\" or \"end\"");
	} else if (c->line == 1 && strcmp(kd, "header") != 0) {
		rc = field_err(c, "kind", "the first line must be the header");
	} else if (c->line > 1 && strcmp(kd, "header") == 0) {
		rc = field_err(c, "kind", "a second header");
	} else if (r->f->ended) {
		rc = field_err(c, "kind", "a line after the \"end\" line");
	} else if (strcmp(kd, "header") == 0) {
		rc = read_header(r, c, obj);
	} else if (strcmp(kd, "model") == 0) {
		rc = read_model(r, c, obj);
	} else if (strcmp(kd, "point") == 0) {
		rc = read_point(r, c, obj);
	} else {
		rc = read_end(r, c, obj);
	}
	json_decref(obj);
	return rc;
}

void vgmo__mfile_free(vgmo__mfile *f)
{
	if (f == NULL)
		return;
	free(f->models);
	free(f->points);
	memset(f, 0, sizeof(*f));
	f->gpu_total_bytes = NAN;
}

vgmo_err vgmo__mfile_parse(const char *text, size_t len, const char *source,
                           vgmo__mfile *out, char *err, size_t errlen)
{
	reader r;
	line_ctx c = {source ? source : "measurements", 0, err, errlen};
	size_t pos = 0;
	vgmo_err rc = VGMO_OK;

	memset(&r, 0, sizeof(r));
	memset(out, 0, sizeof(*out));
	out->gpu_total_bytes = NAN;
	r.f = out;
	while (pos < len && rc == VGMO_OK) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;

		c.line++;
		rc = read_line(&r, &c, text + pos, end - pos, nl == NULL);
		pos = end + 1;
	}
	if (rc == VGMO_OK && c.line == 0)
		rc = vgmo__errf(err, errlen, VGMO_ERR_PARSE,
		                "%s:1: empty file (no header line)", c.source);
	if (rc != VGMO_OK)
		vgmo__mfile_free(out);
	return rc;
}

vgmo_err vgmo__mfile_load(const char *path, vgmo__mfile *out, char *err,
                          size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	vgmo_err rc;

	memset(out, 0, sizeof(*out));
	out->gpu_total_bytes = NAN;
	rc = vgmo__read_file(path, VGMO__MEASURE_FILE_MAX, &text, &len, err,
	                     errlen);
	if (rc != VGMO_OK)
		return rc;
	rc = vgmo__mfile_parse(text, len, path, out, err, errlen);
	free(text);
	return rc;
}
