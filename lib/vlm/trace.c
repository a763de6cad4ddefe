/*
 * trace.c - the trace container, its JSON Lines parser and writer, and the
 * memory other processes hold over time.
 */
#include "trace.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util.h"
#include "vlm_truth.h"

void vgmo__trace_init(vgmo__trace *t)
{
	memset(t, 0, sizeof(*t));
}

void vgmo__trace_free(vgmo__trace *t)
{
	free(t->req);
	free(t->img);
	free(t->ev);
	vgmo__trace_init(t);
}

/* Grows *buf to hold one more element of `size` bytes. */
static bool grow(void **buf, size_t *cap, size_t n, size_t size, size_t more)
{
	size_t want = *cap ? *cap : 64;
	void *p;

	while (want < n + more)
		want *= 2;
	if (want == *cap)
		return true;
	p = realloc(*buf, want * size);
	if (p == NULL)
		return false;
	*buf = p;
	*cap = want;
	return true;
}

vgmo_err vgmo__trace_add_request(vgmo__trace *t, double when,
                                 const vgmo__trace_image *images, uint32_t n,
                                 uint32_t text_tokens, uint32_t output_tokens)
{
	vgmo__trace_req *r;

	if (!grow((void **)&t->req, &t->req_cap, t->nreq, sizeof(*t->req), 1) ||
	    !grow((void **)&t->img, &t->img_cap, t->nimg, sizeof(*t->img), n))
		return VGMO_ERR_NOMEM;
	r = &t->req[t->nreq++];
	r->t = when;
	r->first_image = (uint32_t)t->nimg;
	r->nimages = n;
	r->text_tokens = text_tokens;
	r->output_tokens = output_tokens;
	if (n)
		memcpy(t->img + t->nimg, images, n * sizeof(*images));
	t->nimg += n;
	return VGMO_OK;
}

static vgmo_err add_event(vgmo__trace *t, double when, double value,
                          double ramp, bool fraction)
{
	if (!grow((void **)&t->ev, &t->ev_cap, t->nev, sizeof(*t->ev), 1))
		return VGMO_ERR_NOMEM;
	t->ev[t->nev].t = when;
	t->ev[t->nev].bytes = value;
	t->ev[t->nev].ramp = ramp;
	t->ev[t->nev].fraction = fraction;
	t->nev++;
	return VGMO_OK;
}

vgmo_err vgmo__trace_add_event(vgmo__trace *t, double when, double bytes,
                               double ramp)
{
	return add_event(t, when, bytes, ramp, false);
}

vgmo_err vgmo__trace_add_event_fraction(vgmo__trace *t, double when,
                                        double fraction, double ramp)
{
	return add_event(t, when, fraction, ramp, true);
}

vgmo_err vgmo__trace_set_truth(vgmo__trace *t, const char *key, double value,
                               char *err, size_t errlen)
{
	vgmo__truth_params check;
	size_t i;
	vgmo_err rc;

	vgmo__truth_params_defaults(&check);
	rc = vgmo__truth_param_set(&check, key, value, err, errlen);
	if (rc != VGMO_OK)
		return rc;
	for (i = 0; i < t->ntruth; i++)
		if (strcmp(t->truth[i].key, key) == 0)
			break;
	if (i == VGMO__TRACE_MAX_TRUTH)
		return VGMO_ERR_NOMEM;
	vgmo__strlcpy(t->truth[i].key, key, sizeof(t->truth[i].key));
	t->truth[i].value = value;
	if (i == t->ntruth)
		t->ntruth++;
	return VGMO_OK;
}

double vgmo__trace_external(const vgmo__trace *t, double when, double total)
{
	double v = 0; /* the value when the current event starts */

	for (size_t i = 0; i < t->nev; i++) {
		const vgmo__trace_event *e = &t->ev[i];
		double until = i + 1 < t->nev ? t->ev[i + 1].t : INFINITY;
		double at = fmin(when, until);
		double to = e->fraction ? e->bytes * total : e->bytes;

		if (when < e->t)
			break;
		if (e->ramp > 0 && at < e->t + e->ramp)
			v += (to - v) * (at - e->t) / e->ramp;
		else
			v = to;
		if (when < until)
			break;
	}
	return v;
}

/* ------------------------------------------------------------- parsing */

typedef struct line_ctx {
	const char *source;
	size_t line;
	char *err;
	size_t errlen;
} line_ctx;

static vgmo_err bad(const line_ctx *c, const char *field, const char *why)
{
	return vgmo__errf(c->err, c->errlen, VGMO_ERR_PARSE,
	                  "%s:%zu: field \"%s\": %s", c->source, c->line, field,
	                  why);
}

static bool get_count(json_t *v, uint64_t max, uint32_t *out)
{
	json_int_t i;

	if (!json_is_integer(v))
		return false;
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i > max)
		return false;
	*out = (uint32_t)i;
	return true;
}

static vgmo_err parse_images(const line_ctx *c, json_t *a,
                             vgmo__trace_image *img, uint32_t *n)
{
	size_t i;
	json_t *p;

	if (!json_is_array(a))
		return bad(c, "images", "must be an array of [width, height]");
	if (json_array_size(a) > VGMO__TRACE_MAX_IMAGES)
		return bad(c, "images", "more than 64 images in one request");
	json_array_foreach(a, i, p)
	{
		if (!json_is_array(p) || json_array_size(p) != 2 ||
		    !get_count(json_array_get(p, 0), VGMO__TRACE_MAX_EDGE,
		               &img[i].w) ||
		    !get_count(json_array_get(p, 1), VGMO__TRACE_MAX_EDGE,
		               &img[i].h) ||
		    img[i].w == 0 || img[i].h == 0)
			return vgmo__errf(c->err, c->errlen, VGMO_ERR_PARSE,
			                  "%s:%zu: field \"images\": image %zu "
			                  "is not [width, height] in pixels, "
			                  "each 1..%d",
			                  c->source, c->line, i + 1,
			                  VGMO__TRACE_MAX_EDGE);
	}
	*n = (uint32_t)json_array_size(a);
	return VGMO_OK;
}

/* {"truth": {"KEY": VALUE, ...}} */
static vgmo_err parse_truth(vgmo__trace *t, const line_ctx *c, json_t *o)
{
	json_t *tr = json_object_get(o, "truth"), *v;
	const char *key;
	char why[256];

	if (json_object_size(o) != 1)
		return bad(c, "truth", "a truth line holds nothing else");
	if (!json_is_object(tr))
		return bad(c, "truth",
		           "must be an object of truth parameters and "
		           "numbers");
	json_object_foreach(tr, key, v)
	{
		vgmo_err rc;

		if (!json_is_number(v))
			return vgmo__errf(c->err, c->errlen, VGMO_ERR_PARSE,
			                  "%s:%zu: field \"truth\": \"%s\" "
			                  "must be a number",
			                  c->source, c->line, key);
		rc = vgmo__trace_set_truth(t, key, json_number_value(v), why,
		                           sizeof(why));
		if (rc == VGMO_ERR_NOMEM)
			return bad(c, "truth", "too many truth parameters");
		if (rc != VGMO_OK)
			return vgmo__errf(c->err, c->errlen, VGMO_ERR_PARSE,
			                  "%s:%zu: field \"truth\": %s",
			                  c->source, c->line, why);
	}
	return VGMO_OK;
}

static vgmo_err parse_event(vgmo__trace *t, const line_ctx *c, json_t *o,
                            double when)
{
	json_t *b = json_object_get(o, "external_bytes");
	json_t *f = json_object_get(o, "external_fraction");
	json_t *v = json_object_get(o, "ramp");
	double ramp = 0;

	if (json_object_get(o, "images") || json_object_get(o, "text_tokens") ||
	    json_object_get(o, "output_tokens"))
		return bad(c, b ? "external_bytes" : "external_fraction",
		           "a line is either a request or a memory event, not "
		           "both");
	if (b && f)
		return bad(
		        c, "external_fraction",
		        "give external_bytes or external_fraction, not both");
	if (v != NULL) {
		ramp = json_is_number(v) ? json_number_value(v) : -1;
		if (!(ramp >= 0) || !isfinite(ramp))
			return bad(c, "ramp",
			           "must be a number of seconds >= 0");
	}
	if (f != NULL) {
		double x = json_is_number(f) ? json_number_value(f) : -1;

		if (!(x >= 0 && x <= 1))
			return bad(c, "external_fraction",
			           "must be a number in [0, 1] (of the GPU's "
			           "memory)");
		return vgmo__trace_add_event_fraction(t, when, x, ramp);
	} else {
		json_int_t i = json_is_integer(b) ? json_integer_value(b) : -1;

		/* Held as a double: beyond 2^53 bytes it would not be the
		 * number written back (9223372036854775807 became 2^63). */
		if (i < 0 || i > VGMO__TRACE_MAX_BYTES)
			return bad(c, "external_bytes",
			           "must be an integer number of bytes, 0 to "
			           "2^53");
		return vgmo__trace_add_event(t, when, (double)i, ramp);
	}
}

static vgmo_err parse_line(vgmo__trace *t, const line_ctx *c, json_t *o,
                           double *last_t)
{
	static const char *const known[] = {
	        "t",    "images",         "text_tokens",       "output_tokens",
	        "ramp", "external_bytes", "external_fraction", "truth",
	        NULL};
	vgmo__trace_image img[VGMO__TRACE_MAX_IMAGES];
	uint32_t nimg = 0, text = 0, out = VGMO__TRACE_DEFAULT_OUTPUT;
	json_t *v;
	const char *key;
	double when;
	vgmo_err rc;

	if (!json_is_object(o))
		return vgmo__errf(c->err, c->errlen, VGMO_ERR_PARSE,
		                  "%s:%zu: a line is a JSON object", c->source,
		                  c->line);
	json_object_foreach(o, key, v)
	{
		size_t k = 0;

		while (known[k] && strcmp(known[k], key))
			k++;
		if (known[k] == NULL)
			return bad(c, key, "unknown field");
	}
	if (json_object_get(o, "truth"))
		return parse_truth(t, c, o);
	v = json_object_get(o, "t");
	if (v == NULL)
		return bad(c, "t", "missing (arrival time in seconds)");
	when = json_is_number(v) ? json_number_value(v) : -1;
	if (!(when >= 0) || !isfinite(when))
		return bad(c, "t", "must be a number of seconds >= 0");
	if (when < *last_t)
		return bad(c, "t",
		           "goes back in time (lines must be in time "
		           "order)");
	*last_t = when;
	if (json_object_get(o, "external_bytes") ||
	    json_object_get(o, "external_fraction"))
		return parse_event(t, c, o, when);
	if (json_object_get(o, "ramp"))
		return bad(c, "ramp", "only a memory event has a ramp");
	v = json_object_get(o, "images");
	if (v != NULL && (rc = parse_images(c, v, img, &nimg)) != VGMO_OK)
		return rc;
	v = json_object_get(o, "text_tokens");
	if (v != NULL && !get_count(v, VGMO__TRACE_MAX_TOKENS, &text))
		return bad(c, "text_tokens",
		           "must be an integer in 0..1000000");
	v = json_object_get(o, "output_tokens");
	if (v != NULL && !get_count(v, VGMO__TRACE_MAX_TOKENS, &out))
		return bad(c, "output_tokens",
		           "must be an integer in 0..1000000");
	if (nimg == 0 && text == 0)
		return bad(c, "images",
		           "a request needs at least one image or text token");
	return vgmo__trace_add_request(t, when, img, nimg, text, out);
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return s[i] == '#';
	return true;
}

vgmo_err vgmo__trace_parse(vgmo__trace *t, const char *text, size_t len,
                           const char *source, char *err, size_t errlen)
{
	line_ctx c = {source ? source : "trace", 0, err, errlen};
	double last_t = 0;
	size_t pos = 0;
	vgmo_err rc = VGMO_OK;

	vgmo__trace_init(t);
	while (pos < len && rc == VGMO_OK) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		json_error_t je;
		json_t *o;

		c.line++;
		if (!blank(text + pos, n)) {
			o = json_loadb(text + pos, n, JSON_REJECT_DUPLICATES,
			               &je);
			if (o == NULL)
				rc = vgmo__errf(err, errlen, VGMO_ERR_PARSE,
				                "%s:%zu:%d: %s", c.source,
				                c.line, je.column, je.text);
			else
				rc = parse_line(t, &c, o, &last_t);
			json_decref(o);
		}
		pos += n + 1;
	}
	if (rc == VGMO_OK && t->nreq == 0)
		rc = vgmo__errf(err, errlen, VGMO_ERR_PARSE,
		                "%s: the trace has no requests", c.source);
	if (rc != VGMO_OK)
		vgmo__trace_free(t);
	return rc;
}

vgmo_err vgmo__trace_load(vgmo__trace *t, const char *path, char *err,
                          size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	vgmo_err rc;

	vgmo__trace_init(t);
	rc = vgmo__read_file(path, VGMO__TRACE_FILE_MAX, &text, &len, err,
	                     errlen);
	if (rc != VGMO_OK)
		return rc;
	rc = vgmo__trace_parse(t, text, len, path, err, errlen);
	free(text);
	return rc;
}

static void write_request(const vgmo__trace *t, const vgmo__trace_req *r,
                          FILE *f)
{
	fprintf(f, "{\"t\": %.3f, \"images\": [", r->t);
	for (uint32_t i = 0; i < r->nimages; i++) {
		const vgmo__trace_image *im = &t->img[r->first_image + i];

		fprintf(f, "%s[%" PRIu32 ", %" PRIu32 "]", i ? ", " : "", im->w,
		        im->h);
	}
	fprintf(f,
	        "], \"text_tokens\": %" PRIu32 ", \"output_tokens\": %" PRIu32
	        "}\n",
	        r->text_tokens, r->output_tokens);
}

vgmo_err vgmo__trace_write(const vgmo__trace *t, FILE *f)
{
	size_t i = 0, j = 0;

	if (t->ntruth) {
		fputs("{\"truth\": {", f);
		for (size_t k = 0; k < t->ntruth; k++)
			fprintf(f, "%s\"%s\": %.17g", k ? ", " : "",
			        t->truth[k].key, t->truth[k].value);
		fputs("}}\n", f);
	}
	while (i < t->nreq || j < t->nev) {
		if (j < t->nev && (i >= t->nreq || t->ev[j].t <= t->req[i].t)) {
			const vgmo__trace_event *e = &t->ev[j++];

			if (e->fraction)
				fprintf(f,
				        "{\"t\": %.3f, \"external_fraction\": "
				        "%.17g",
				        e->t, e->bytes);
			else
				fprintf(f,
				        "{\"t\": %.3f, \"external_bytes\": "
				        "%.0f",
				        e->t, e->bytes);
			if (e->ramp > 0)
				fprintf(f, ", \"ramp\": %.3f", e->ramp);
			fputs("}\n", f);
		} else {
			write_request(t, &t->req[i++], f);
		}
	}
	return ferror(f) ? VGMO_ERR_IO : VGMO_OK;
}
