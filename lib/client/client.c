/*
 * client.c - vgmo_client_*: a worker's side of the client protocol
 * (docs/clients.md): registration, reports, registering again when the
 * daemon forgot the client, and backing off while it cannot be reached.
 * The HTTP transport (libcurl loaded at run time) is client_http.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client_fit.h"
#include "client_http.h"
#include "util.h"

#define BACKOFF_FIRST 0.25 /* seconds before the first retry */
#define BACKOFF_MAX 30.0
#define DEFAULT_SERVER "http://127.0.0.1:8080"

struct vgmo_client {
	vgmo__http http; /* the daemon */
	char name[64];
	unsigned gpu;
	double weight;
	char unit[8];   /* "items", "images", "tokens" */
	char model[64]; /* a preset, "" for none */
	vgmo_padding padding;
	vgmo_attention attention, vision_attention; /* UNKNOWN: not sent */
	vgmo_logits logits;
	uint32_t pid; /* 0: not sent */
	int64_t id;   /* -1: not registered */
	int batch_size;
	bool cleanup;           /* the daemon's last answer asked for one */
	uint64_t freed_pending; /* freed bytes not delivered yet */
	bool away;              /* the daemon could not be reached */
	double backoff;         /* seconds; 0 while the daemon answers */
	double next_try;        /* monotonic; no request before it */
};

/* ------------------------------------------------------------- checks */

static bool name_ok(const char *s)
{
	return vgmo__name_ok(s, strlen(s));
}

/* ----------------------------------------------------------- protocol */

static bool transient(vgmo_err rc)
{
	return rc == VGMO_ERR_IO || rc == VGMO_ERR_TIMEOUT ||
	       rc == VGMO_ERR_PARSE;
}

static void failed(vgmo_client *c)
{
	c->away = true;
	c->backoff =
	        c->backoff * 2 < BACKOFF_FIRST ? BACKOFF_FIRST : c->backoff * 2;
	if (c->backoff > BACKOFF_MAX)
		c->backoff = BACKOFF_MAX;
	c->next_try = vgmo__mono_now() + c->backoff;
}

static void recovered(vgmo_client *c)
{
	c->away = false;
	c->backoff = 0;
	c->next_try = 0;
}

/* Takes the next batch size and cleanup request from an answer. */
static void apply(vgmo_client *c, const json_t *ans)
{
	const json_t *n = json_object_get(ans, "batch_size");

	if (json_is_integer(n) && json_integer_value(n) >= 1 &&
	    json_integer_value(n) <= INT32_MAX)
		c->batch_size = (int)json_integer_value(n);
	c->cleanup = json_is_true(json_object_get(ans, "cleanup"));
}

static vgmo_err do_register(vgmo_client *c, char *err, size_t errlen)
{
	json_t *body, *ans = NULL;
	const json_t *id, *secret;
	vgmo_err rc;

	body = json_pack("{s:s, s:I, s:f, s:s}", "name", c->name, "gpu",
	                 (json_int_t)c->gpu, "weight", c->weight, "unit",
	                 c->unit);
	if (body == NULL)
		return vgmo__errf(err, errlen, VGMO_ERR_NOMEM, "out of memory");
	if ((c->model[0] &&
	     json_object_set_new(body, "model", json_string(c->model))) ||
	    (c->padding != VGMO_PADDING_UNKNOWN &&
	     json_object_set_new(body, "padding",
	                         json_string(vgmo_padding_name(c->padding)))) ||
	    (c->attention != VGMO_ATTENTION_UNKNOWN &&
	     json_object_set_new(
	             body, "attention",
	             json_string(vgmo_attention_name(c->attention)))) ||
	    (c->vision_attention != VGMO_ATTENTION_UNKNOWN &&
	     json_object_set_new(
	             body, "vision_attention",
	             json_string(vgmo_attention_name(c->vision_attention)))) ||
	    (c->logits != VGMO_LOGITS_UNKNOWN &&
	     json_object_set_new(body, "logits",
	                         json_string(vgmo_logits_name(c->logits)))) ||
	    (c->pid &&
	     json_object_set_new(body, "pid", json_integer(c->pid)))) {
		json_decref(body);
		return vgmo__errf(err, errlen, VGMO_ERR_NOMEM, "out of memory");
	}
	rc = vgmo__http_request(&c->http, "POST", "/v1/clients", body, &ans,
	                        err, errlen);
	if (rc != VGMO_OK)
		goto out;
	id = json_object_get(ans, "id");
	if (!json_is_integer(id) || json_integer_value(id) < 0) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_PARSE,
		                "the daemon's registration answer has no id");
		goto out;
	}
	c->id = (int64_t)json_integer_value(id);
	/* Sent with every request for this client from now on. */
	secret = json_object_get(ans, "secret");
	if (json_is_string(secret) && json_string_length(secret) < 64 &&
	    strspn(json_string_value(secret), "0123456789abcdef") ==
	            json_string_length(secret))
		snprintf(c->http.secret, sizeof(c->http.secret),
		         "X-Vgmo-Client-Secret: %s", json_string_value(secret));
	apply(c, ans);
out:
	json_decref(ans);
	json_decref(body);
	return rc;
}

/* The report's JSON, optional fields only when given. */
static json_t *report_json(const vgmo_report *r, uint64_t freed)
{
	json_t *o = json_object();
	int bad = 0;

	if (o == NULL)
		return NULL;
	bad |= json_object_set_new(o, "items", json_integer(r->items));
	if (r->peak_bytes)
		bad |= json_object_set_new(
		        o, "peak_bytes",
		        json_integer((json_int_t)r->peak_bytes));
	if (r->allocated_bytes)
		bad |= json_object_set_new(
		        o, "allocated_bytes",
		        json_integer((json_int_t)r->allocated_bytes));
	if (r->reserved_bytes)
		bad |= json_object_set_new(
		        o, "reserved_bytes",
		        json_integer((json_int_t)r->reserved_bytes));
	if (r->seconds > 0)
		bad |= json_object_set_new(o, "seconds", json_real(r->seconds));
	if (r->oom)
		bad |= json_object_set_new(o, "oom", json_true());
	if (freed)
		bad |= json_object_set_new(o, "freed_bytes",
		                           json_integer((json_int_t)freed));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* POSTs `body` to /v1/clients/{id}/{what}, registering first (again when
 * the daemon forgot the client); *ans (to json_decref) the answer. */
static vgmo_err post_client(vgmo_client *c, const char *what,
                            const json_t *body, json_t **ans, char *err,
                            size_t errlen)
{
	char path[64];
	vgmo_err rc = VGMO_OK;

	*ans = NULL;
	if (c->id < 0)
		rc = do_register(c, err, errlen);
	if (rc != VGMO_OK)
		return rc;
	snprintf(path, sizeof(path), "/v1/clients/%" PRId64 "/%s", c->id, what);
	rc = vgmo__http_request(&c->http, "POST", path, body, ans, err, errlen);
	if (rc == VGMO_ERR_NOT_FOUND) {
		/* The daemon forgot us (restart, lease): register again. */
		json_decref(*ans);
		*ans = NULL;
		c->id = -1;
		rc = do_register(c, err, errlen);
		if (rc != VGMO_OK)
			return rc;
		snprintf(path, sizeof(path), "/v1/clients/%" PRId64 "/%s",
		         c->id, what);
		rc = vgmo__http_request(&c->http, "POST", path, body, ans, err,
		                        errlen);
	}
	return rc;
}

static vgmo_err post_report(vgmo_client *c, const json_t *body, char *err,
                            size_t errlen)
{
	json_t *ans = NULL;
	vgmo_err rc = post_client(c, "report", body, &ans, err, errlen);

	if (rc == VGMO_OK)
		apply(c, ans);
	json_decref(ans);
	return rc;
}

static void decide(const vgmo_client *c, vgmo_decision *out, int before)
{
	if (out == NULL || c == NULL)
		return;
	out->batch_size = c->batch_size;
	out->cleanup = c->cleanup;
	out->changed = c->batch_size != before;
}

/* ---------------------------------------------------------------- API */

static vgmo_err report(vgmo_client *c, const vgmo_report *r,
                       const vgmo_request_shape *shapes, vgmo_decision *out,
                       char *err, size_t errlen)
{
	int before = c ? c->batch_size : 0;
	json_t *body;
	vgmo_err rc;

	if (c == NULL || r == NULL || r->items == 0 ||
	    (!r->oom && r->peak_bytes == 0) || r->peak_bytes > INT64_MAX ||
	    r->allocated_bytes > INT64_MAX || r->reserved_bytes > INT64_MAX ||
	    r->freed_bytes > INT64_MAX - c->freed_pending) {
		decide(c, out, before);
		return vgmo__errf(
		        err, errlen, VGMO_ERR_INVALID,
		        "a report needs items >= 1 and peak_bytes > 0 "
		        "(unless oom), every size < 2^63");
	}
	c->freed_pending += r->freed_bytes;
	c->cleanup = false;
	if (r->oom && (int)(r->items / 2) < c->batch_size)
		/* What the daemon does too; kept if the report is lost. */
		c->batch_size = r->items / 2 > 0 ? (int)(r->items / 2) : 1;
	if (c->away && vgmo__mono_now() < c->next_try) {
		decide(c, out, before);
		return vgmo__errf(
		        err, errlen, VGMO_ERR_IO,
		        "the daemon at %s is unreachable; retrying in "
		        "%.1f s",
		        c->http.url, c->next_try - vgmo__mono_now());
	}
	body = report_json(r, c->freed_pending);
	if (body && shapes &&
	    json_object_set_new(body, "requests",
	                        vgmo__client_shapes_json(shapes, r->items))) {
		json_decref(body);
		body = NULL;
	}
	if (body == NULL) {
		decide(c, out, before);
		return vgmo__errf(err, errlen, VGMO_ERR_NOMEM, "out of memory");
	}
	rc = post_report(c, body, err, errlen);
	json_decref(body);
	if (transient(rc)) {
		failed(c);
	} else {
		/* Delivered, or refused: either way not to be sent again. */
		c->freed_pending = 0;
		if (rc == VGMO_OK)
			recovered(c);
	}
	decide(c, out, before);
	return rc;
}

vgmo_err vgmo_client_report(vgmo_client *c, const vgmo_report *r,
                            vgmo_decision *out, char *err, size_t errlen)
{
	return report(c, r, NULL, out, err, errlen);
}

vgmo_err vgmo_client_report_batch(vgmo_client *c, const vgmo_report *r,
                                  const vgmo_request_shape *batch, size_t n,
                                  vgmo_decision *out, char *err, size_t errlen)
{
	if (batch == NULL || r == NULL || n != r->items) {
		decide(c, out, c ? c->batch_size : 0);
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "a batch report lists one shape per item");
	}
	return report(c, r, batch, out, err, errlen);
}

vgmo_err vgmo_client_report_oom(vgmo_client *c, uint32_t items,
                                vgmo_decision *out, char *err, size_t errlen)
{
	vgmo_report r = {.items = items, .oom = true};

	return vgmo_client_report(c, &r, out, err, errlen);
}

int vgmo_client_batch_size(const vgmo_client *c)
{
	return c ? c->batch_size : -1;
}

int64_t vgmo_client_id(const vgmo_client *c)
{
	return c ? c->id : -1;
}

vgmo_err vgmo_client_open(vgmo_client **out, const char *server_url,
                          const char *name, unsigned gpu, double weight,
                          const char *token, char *err, size_t errlen)
{
	vgmo_worker_spec sp = {
	        .name = name, .gpu = gpu, .weight = weight, .leased = true};

	return vgmo_client_open_spec(out, server_url, &sp, token, err, errlen);
}

vgmo_err vgmo_client_open_spec(vgmo_client **out, const char *server_url,
                               const vgmo_worker_spec *sp, const char *token,
                               char *err, size_t errlen)
{
	const char *url = server_url;
	const char *unit = sp && sp->unit ? sp->unit : "items";
	vgmo_client *c;
	vgmo_err rc;

	if (out == NULL || sp == NULL)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "out or spec is NULL");
	*out = NULL;
	if (url == NULL)
		url = getenv("VGMO_SERVER");
	if (url == NULL || url[0] == '\0')
		url = DEFAULT_SERVER;
	if (sp->name == NULL || !name_ok(sp->name))
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "the name must be 1 to 63 characters "
		                  "[A-Za-z0-9._-]");
	if (strcmp(unit, "items") != 0 && strcmp(unit, "images") != 0 &&
	    strcmp(unit, "tokens") != 0)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "unit \"%.16s\": expected items, images or "
		                  "tokens",
		                  unit);
	if (sp->model && strlen(sp->model) >= 64)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "model: a preset name has at most 63 "
		                  "characters");
	if ((unsigned)sp->padding > VGMO_PADDING_PACKED)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "padding: not a vgmo_padding");
	if ((unsigned)sp->attention > VGMO_ATTENTION_EAGER ||
	    (unsigned)sp->vision_attention > VGMO_ATTENTION_EAGER)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "%s: not a vgmo_attention",
		                  (unsigned)sp->attention > VGMO_ATTENTION_EAGER
		                          ? "attention"
		                          : "vision_attention");
	if ((unsigned)sp->logits > VGMO_LOGITS_ALL)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "logits: not a vgmo_logits");
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return vgmo__errf(err, errlen, VGMO_ERR_NOMEM, "out of memory");
	vgmo__strlcpy(c->name, sp->name, sizeof(c->name));
	vgmo__strlcpy(c->unit, unit, sizeof(c->unit));
	if (sp->model)
		vgmo__strlcpy(c->model, sp->model, sizeof(c->model));
	c->padding = sp->padding;
	c->attention = sp->attention;
	c->vision_attention = sp->vision_attention;
	c->logits = sp->logits;
	c->pid = sp->pid;
	c->gpu = sp->gpu;
	c->weight = sp->weight > 0 ? sp->weight : 1.0;
	c->id = -1;
	c->batch_size = 1;
	rc = vgmo__http_open(&c->http, url, token, err, errlen);
	if (rc != VGMO_OK)
		goto fail;
	rc = do_register(c, err, errlen);
	if (rc != VGMO_OK)
		goto fail;
	*out = c;
	return VGMO_OK;
fail:
	vgmo_client_close(c);
	return rc;
}

void vgmo_client_close(vgmo_client *c)
{
	char path[48];
	json_t *ans = NULL;

	if (c == NULL)
		return;
	if (c->http.curl != NULL && c->id >= 0 && !c->away) {
		snprintf(path, sizeof(path), "/v1/clients/%" PRId64, c->id);
		vgmo__http_request(&c->http, "DELETE", path, NULL, &ans, NULL,
		                   0);
		json_decref(ans);
	}
	vgmo__http_close(&c->http);
	free(c);
}

/* ------------------------------------------------- before a batch runs */

/* While the daemon is away: run what the batch size allows, unjudged. */
static void unjudged(vgmo_fit *f)
{
	memset(f, 0, sizeof(*f));
	f->verdict = VGMO_FIT_OK;
	snprintf(f->reason, sizeof(f->reason),
	         "not judged: no answer from the daemon");
}

/* POSTs a question; transient failures start the back-off. */
static vgmo_err ask(vgmo_client *c, const char *what, json_t *body,
                    json_t **ans, char *err, size_t errlen)
{
	vgmo_err rc;

	*ans = NULL;
	if (body == NULL)
		return vgmo__errf(err, errlen, VGMO_ERR_NOMEM, "out of memory");
	if (c->away && vgmo__mono_now() < c->next_try) {
		json_decref(body);
		return vgmo__errf(err, errlen, VGMO_ERR_IO,
		                  "the daemon at %s is unreachable; retrying "
		                  "in %.1f s",
		                  c->http.url, c->next_try - vgmo__mono_now());
	}
	rc = post_client(c, what, body, ans, err, errlen);
	json_decref(body);
	if (transient(rc))
		failed(c);
	else if (rc == VGMO_OK)
		recovered(c);
	return rc;
}

vgmo_err vgmo_client_fit(vgmo_client *c, const vgmo_request_shape *r,
                         vgmo_fit *out, char *err, size_t errlen)
{
	json_t *ans = NULL;
	vgmo_err rc;

	if (c == NULL || r == NULL || out == NULL)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "client, request and out are required");
	unjudged(out);
	rc = ask(c, "fit", vgmo__client_shape_json(r), &ans, err, errlen);
	if (rc == VGMO_OK && vgmo__client_fit_parse(ans, out) != VGMO_OK) {
		unjudged(out);
		rc = vgmo__errf(err, errlen, VGMO_ERR_PARSE,
		                "the daemon's fit answer is not the "
		                "protocol's");
	}
	json_decref(ans);
	return rc;
}

vgmo_err vgmo_client_plan(vgmo_client *c, const vgmo_request_shape *queue,
                          size_t n, vgmo_batch_plan *out, char *err,
                          size_t errlen)
{
	json_t *ans = NULL, *body;
	vgmo_err rc;

	if (c == NULL || out == NULL || queue == NULL || n == 0)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "a plan needs a client, out and 1 or more "
		                  "requests");
	memset(out, 0, sizeof(*out));
	body = json_object();
	if (body && json_object_set_new(body, "requests",
	                                vgmo__client_shapes_json(queue, n))) {
		json_decref(body);
		body = NULL;
	}
	rc = ask(c, "plan", body, &ans, err, errlen);
	if (rc == VGMO_OK && vgmo__client_plan_parse(ans, out) != VGMO_OK)
		rc = vgmo__errf(err, errlen, VGMO_ERR_PARSE,
		                "the daemon's plan answer is not the "
		                "protocol's");
	if (rc == VGMO_OK && out->take > n)
		out->take = n;
	if (rc != VGMO_OK) {
		/* Usable whatever happened: the batch size, unjudged. */
		memset(out, 0, sizeof(*out));
		unjudged(&out->head);
		out->take =
		        n < (size_t)c->batch_size ? n : (size_t)c->batch_size;
	}
	json_decref(ans);
	return rc;
}
