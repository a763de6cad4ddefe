/*
 * measure_jsonl.c - reads measurement files of scripts/vlm-measure.py
 * (plan_check.h; the fields are listed in bench/measurements/README.md,
 * and checked by measure_fields.c).
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
#include "measure_fields.h"
#include "plan_check.h"
#include "util.h"

#define MAX_POINTS 1000000

/* State across the lines of one file. */
typedef struct reader {
	vgmo__mfile *f;
	char names[VGMO__MEASURE_MAX_MODELS][64]; /* the header's "models" */
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

static vgmo_err read_header(reader *r, const vgmo__mline *c, json_t *obj)
{
	json_t *v[HEADER_N], *e;
	vgmo_err rc =
	        vgmo__mfields_check(c, vgmo__mfields_header, HEADER_N, obj, v);
	vgmo__mfile *f = r->f;
	char why[96];
	size_t i;

	if (rc != VGMO_OK)
		return rc;
	if (strcmp(json_string_value(v[format]), VGMO__MEASURE_FORMAT) != 0)
		return vgmo__mfield_err(c, "format",
		                        "not \"" VGMO__MEASURE_FORMAT "\"");
	if (vgmo__mfield_u32(v[format_version]) != VGMO__MEASURE_VERSION) {
		snprintf(why, sizeof(why),
		         "%u is not the version this vgmo reads (%d)",
		         vgmo__mfield_u32(v[format_version]),
		         VGMO__MEASURE_VERSION);
		return vgmo__mfield_err(c, "format_version", why);
	}
	if (vgmo_dtype_parse(json_string_value(v[dtype]), &f->dtype) != VGMO_OK)
		return vgmo__mfield_err(c, "dtype",
		                        "must be bf16, fp16 or fp8");
	vgmo__mfield_str(f->script_version, sizeof(f->script_version),
	                 v[script_version]);
	vgmo__mfield_str(f->gpu_name, sizeof(f->gpu_name), v[gpu_name]);
	vgmo__mfield_str(f->driver, sizeof(f->driver), v[driver_version]);
	vgmo__mfield_str(f->torch, sizeof(f->torch), v[torch_version]);
	vgmo__mfield_str(f->transformers, sizeof(f->transformers),
	                 v[transformers_version]);
	f->gpu_total_bytes = vgmo__mfield_num(v[gpu_total_bytes]);
	f->dry_run = json_is_true(v[dry_run]);
	json_array_foreach(v[models], i, e)
	{
		if (known_model(r, json_string_value(e)))
			return vgmo__mfield_err(c, "models",
			                        "lists a model twice");
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

static vgmo_err read_model(reader *r, const vgmo__mline *c, json_t *obj)
{
	json_t *v[MODEL_N];
	vgmo_err rc =
	        vgmo__mfields_check(c, vgmo__mfields_model, MODEL_N, obj, v);
	vgmo__mfile *f = r->f;
	vgmo__mmodel *m;

	if (rc != VGMO_OK)
		return rc;
	if (!known_model(r, json_string_value(v[model])))
		return vgmo__mfield_err(c, "model",
		                        "not in the header's \"models\"");
	if (json_is_true(v[m_dry_run]) != f->dry_run)
		return vgmo__mfield_err(c, "dry_run",
		                        "differs from the header's");
	if (!grow((void **)&f->models, &r->cap_models, f->nmodels,
	          sizeof(*f->models), VGMO__MEASURE_MAX_MODELS * 4))
		return vgmo__errf(c->err, c->errlen, VGMO_ERR_NOMEM,
		                  "%s:%d: too many model lines", c->source,
		                  c->line);
	m = &f->models[f->nmodels++];
	memset(m, 0, sizeof(*m));
	m->line = c->line;
	vgmo__mfield_str(m->model, sizeof(m->model), v[model]);
	vgmo__mfield_str(m->status, sizeof(m->status), v[m_status]);
	m->params = vgmo__mfield_num(v[params]);
	m->weights_bytes = vgmo__mfield_num(v[weights_allocated_bytes]);
	if (strcmp(m->status, "built") == 0 && isnan(m->weights_bytes))
		return vgmo__mfield_err(c, "weights_allocated_bytes",
		                        "must be a number for a built model");
	return VGMO_OK;
}

/* What a point's status demands of its measurements. */
static vgmo_err point_rules(const vgmo__mline *c, const vgmo__mpoint *p,
                            json_t **v)
{
	bool measured = strcmp(p->status, "measured") == 0;
	bool oomed = strcmp(p->status, "oom") == 0;

	if (p->mode == VGMO__MODE_FORWARD && p->max_new_tokens != 0)
		return vgmo__mfield_err(c, "max_new_tokens",
		                        "must be 0 in forward mode");
	if ((measured || oomed) && json_is_null(v[oom]))
		return vgmo__mfield_err(c, "oom",
		                        "must be true or false for a "
		                        "measured point");
	if (measured && json_is_true(v[oom]))
		return vgmo__mfield_err(c, "oom",
		                        "is true, but status is \"measured\"");
	if (oomed && !json_is_true(v[oom]))
		return vgmo__mfield_err(c, "oom",
		                        "must be true when status is \"oom\"");
	if (measured && (isnan(p->peak_allocated) || isnan(p->base_allocated)))
		return vgmo__mfield_err(
		        c,
		        isnan(p->peak_allocated) ? "peak_allocated_bytes"
		                                 : "base_allocated_bytes",
		        "must be a number for a measured point");
	if (measured && p->peak_allocated < p->base_allocated)
		return vgmo__mfield_err(c, "peak_allocated_bytes",
		                        "is below base_allocated_bytes");
	if (!measured && !oomed && !json_is_null(v[peak_allocated_bytes]))
		return vgmo__mfield_err(
		        c, "peak_allocated_bytes",
		        "must be null for a point that did not run");
	return VGMO_OK;
}

static vgmo_err read_point(reader *r, const vgmo__mline *c, json_t *obj)
{
	json_t *v[POINT_N];
	vgmo_err rc =
	        vgmo__mfields_check(c, vgmo__mfields_point, POINT_N, obj, v);
	vgmo__mfile *f = r->f;
	vgmo__mpoint *p;

	if (rc != VGMO_OK)
		return rc;
	if (!known_model(r, json_string_value(v[p_model])))
		return vgmo__mfield_err(c, "model",
		                        "not in the header's \"models\"");
	if (json_is_true(v[p_dry_run]) != f->dry_run)
		return vgmo__mfield_err(c, "dry_run",
		                        "differs from the header's");
	if (!grow((void **)&f->points, &r->cap_points, f->npoints,
	          sizeof(*f->points), MAX_POINTS))
		return vgmo__errf(c->err, c->errlen, VGMO_ERR_NOMEM,
		                  "%s:%d: too many points", c->source, c->line);
	p = &f->points[f->npoints];
	memset(p, 0, sizeof(*p));
	p->line = c->line;
	vgmo__mfield_str(p->model, sizeof(p->model), v[p_model]);
	vgmo__mfield_str(p->image, sizeof(p->image), v[image]);
	vgmo__mfield_str(p->status, sizeof(p->status), v[p_status]);
	p->mode = strcmp(json_string_value(v[mode]), "forward") == 0
	                  ? VGMO__MODE_FORWARD
	                  : VGMO__MODE_GENERATE;
	p->batch = vgmo__mfield_u32(v[batch]);
	p->width = vgmo__mfield_u32(v[image_width]);
	p->height = vgmo__mfield_u32(v[image_height]);
	p->images = vgmo__mfield_u32(v[images_per_request]);
	p->prompt_tokens = vgmo__mfield_u32(v[prompt_tokens]);
	p->max_new_tokens = vgmo__mfield_u32(v[max_new_tokens]);
	p->image_tokens = vgmo__mfield_u32(v[image_tokens]);
	p->input_tokens = vgmo__mfield_u32(v[input_tokens]);
	p->logits_all = json_is_string(v[logits_key]) &&
	                strcmp(json_string_value(v[logits_key]), "all") == 0;
	p->oom = json_is_null(v[oom]) ? -1 : json_is_true(v[oom]);
	p->new_tokens = vgmo__mfield_num(v[new_tokens]);
	p->base_allocated = vgmo__mfield_num(v[base_allocated_bytes]);
	p->peak_allocated = vgmo__mfield_num(v[peak_allocated_bytes]);
	p->peak_reserved = vgmo__mfield_num(v[peak_reserved_bytes]);
	p->prefill_peak_allocated =
	        vgmo__mfield_num(v[prefill_peak_allocated_bytes]);
	p->kv_cache = vgmo__mfield_num(v[kv_cache_bytes]);
	p->nvml_used_peak = vgmo__mfield_num(v[nvml_used_peak_bytes]);
	p->prefill_seconds = vgmo__mfield_num(v[prefill_seconds]);
	p->decode_seconds = vgmo__mfield_num(v[decode_seconds]);
	rc = point_rules(c, p, v);
	if (rc == VGMO_OK)
		f->npoints++;
	return rc;
}

static vgmo_err read_end(reader *r, const vgmo__mline *c, json_t *obj)
{
	json_t *v[END_N];
	vgmo_err rc = vgmo__mfields_check(c, vgmo__mfields_end, END_N, obj, v);

	if (rc != VGMO_OK)
		return rc;
	if (json_is_true(v[e_dry_run]) != r->f->dry_run)
		return vgmo__mfield_err(c, "dry_run",
		                        "differs from the header's");
	r->f->ended = true;
	return VGMO_OK;
}

/* Parses one line's JSON; messages as "source:line:column: why". */
static vgmo_err load_line(const vgmo__mline *c, const char *s, size_t len,
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

static vgmo_err read_line(reader *r, const vgmo__mline *c, const char *s,
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
	if (kd == NULL || !vgmo__mfield_in_list(vgmo__measure_kinds, kd)) {
		rc = vgmo__mfield_err(
		        c, "kind",
		        k == NULL ? "missing"
		                  : "must be \"header\", \"model\", "
		                    "\"point\" or \"end\"");
	} else if (c->line == 1 && strcmp(kd, "header") != 0) {
		rc = vgmo__mfield_err(c, "kind",
		                      "the first line must be the header");
	} else if (c->line > 1 && strcmp(kd, "header") == 0) {
		rc = vgmo__mfield_err(c, "kind", "a second header");
	} else if (r->f->ended) {
		rc = vgmo__mfield_err(c, "kind",
		                      "a line after the \"end\" line");
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
	vgmo__mline c = {source ? source : "measurements", 0, err, errlen};
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
