/*
 * api_clients_parse.c - the client protocol's request bodies
 * (api_clients_parse.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api_clients_parse.h"
#include "request_parse.h"

/* An optional integer field in [lo, hi]; *present false when absent or
 * null. */
static vgmo_err get_int(json_t *o, const char *key, json_int_t lo,
                        json_int_t hi, json_int_t *out, bool *present,
                        api_error *e)
{
	json_t *v = json_object_get(o, key);

	*present = v != NULL && !json_is_null(v);
	if (!*present)
		return VGMO_OK;
	if (!json_is_integer(v))
		return api_error_set(e, 400, key,
		                     "key \"%s\": expected an integer", key);
	if (json_integer_value(v) < lo || json_integer_value(v) > hi)
		return api_error_set(e, 400, key,
		                     "key \"%s\": %lld is outside [%lld, %lld]",
		                     key, (long long)json_integer_value(v),
		                     (long long)lo, (long long)hi);
	*out = json_integer_value(v);
	return VGMO_OK;
}

/* Refuses keys not in `allowed` (NULL-terminated). */
static vgmo_err only_keys(json_t *o, const char *const *allowed, api_error *e)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v)
	{
		size_t i = 0;

		(void)v;
		while (allowed[i] && strcmp(allowed[i], key) != 0)
			i++;
		if (allowed[i] == NULL)
			return api_error_set(e, 400, key,
			                     "unknown key \"%.64s\"", key);
	}
	return VGMO_OK;
}

static bool valid_name(const char *s, size_t n)
{
	return vgmo__name_ok(s, n);
}

/* A string field copied into out[size]; false when too long. */
static bool copy_text(json_t *v, char *out, size_t size)
{
	size_t n = json_string_length(v);

	if (n >= size || strlen(json_string_value(v)) != n)
		return false;
	memcpy(out, json_string_value(v), n + 1);
	return true;
}

static vgmo_err parse_gpu(json_t *v, client_registration *out, api_error *e)
{
	if (v == NULL || json_is_null(v))
		return VGMO_OK;
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return api_error_set(e, 400, "gpu",
			                     "key \"gpu\": no GPU %lld",
			                     (long long)json_integer_value(v));
		out->gpu_index = (long long)json_integer_value(v);
		return VGMO_OK;
	}
	if (json_is_string(v)) {
		if (!copy_text(v, out->gpu_uuid, sizeof(out->gpu_uuid)))
			return api_error_set(e, 400, "gpu",
			                     "key \"gpu\": a UUID has at most "
			                     "%d characters",
			                     CLIENT_TEXT_MAX - 1);
		out->gpu_by_uuid = true;
		return VGMO_OK;
	}
	return api_error_set(e, 400, "gpu",
	                     "key \"gpu\": expected an index or a UUID string");
}

/* An optional attention implementation, transformers' name. */
static vgmo_err attention(json_t *o, const char *key, vgmo_attention *out,
                          api_error *e)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return VGMO_OK;
	if (!json_is_string(v) ||
	    strcmp(json_string_value(v), "unknown") == 0 ||
	    vgmo_attention_parse(json_string_value(v), out) != VGMO_OK)
		return api_error_set(e, 400, key,
		                     "key \"%s\": expected \"eager\", "
		                     "\"sdpa\", \"flash_attention_2\", "
		                     "\"flash_attention_3\" or "
		                     "\"flex_attention\" (transformers' "
		                     "attn_implementation)",
		                     key);
	return VGMO_OK;
}

static vgmo_err registration(json_t *o, client_registration *out, api_error *e)
{
	static const char *const keys[] = {
	        "name",   "gpu",       "weight",
	        "model",  "unit",      "padding",
	        "pid",    "attention", "vision_attention",
	        "logits", NULL};
	json_int_t pid = 0;
	bool has_pid;
	json_t *v;

	if (only_keys(o, keys, e) != VGMO_OK)
		return VGMO_ERR_INVALID;
	v = json_object_get(o, "name");
	if (!json_is_string(v) ||
	    !valid_name(json_string_value(v), json_string_length(v)))
		return api_error_set(e, 400, "name",
		                     "key \"name\": expected 1 to 63 "
		                     "characters of A-Z a-z 0-9 . _ -");
	memcpy(out->name, json_string_value(v), json_string_length(v) + 1);
	if (parse_gpu(json_object_get(o, "gpu"), out, e) != VGMO_OK)
		return VGMO_ERR_INVALID;
	v = json_object_get(o, "weight");
	if (v && !json_is_null(v)) {
		if (!json_is_number(v) || !(json_number_value(v) > 0) ||
		    json_number_value(v) > CLIENT_MAX_WEIGHT)
			return api_error_set(
			        e, 400, "weight",
			        "key \"weight\": expected a number "
			        "in (0, 1000000]");
		out->weight = json_number_value(v);
	}
	v = json_object_get(o, "unit");
	snprintf(out->unit, sizeof(out->unit), "items");
	if (v && !json_is_null(v)) {
		if (!json_is_string(v) ||
		    (strcmp(json_string_value(v), "items") != 0 &&
		     strcmp(json_string_value(v), "images") != 0 &&
		     strcmp(json_string_value(v), "tokens") != 0))
			return api_error_set(
			        e, 400, "unit",
			        "key \"unit\": expected \"items\", "
			        "\"images\" or \"tokens\"");
		snprintf(out->unit, sizeof(out->unit), "%s",
		         json_string_value(v));
	}
	v = json_object_get(o, "model");
	if (v && !json_is_null(v)) {
		if (!json_is_string(v))
			return api_error_set(e, 400, "model",
			                     "key \"model\": expected a preset "
			                     "name");
		if (!copy_text(v, out->model, sizeof(out->model)))
			return api_error_set(e, 400, "model",
			                     "key \"model\": unknown preset "
			                     "(vgmo plan --help lists them)");
	}
	v = json_object_get(o, "padding");
	if (v && !json_is_null(v) &&
	    (!json_is_string(v) ||
	     strcmp(json_string_value(v), "unknown") == 0 ||
	     vgmo_padding_parse(json_string_value(v), &out->padding) !=
	             VGMO_OK))
		return api_error_set(
		        e, 400, "padding",
		        "key \"padding\": expected \"padded\" "
		        "(a batch padded to its longest prompt) or "
		        "\"packed\"");
	if (get_int(o, "pid", 1, UINT32_MAX, &pid, &has_pid, e) != VGMO_OK)
		return VGMO_ERR_INVALID;
	out->pid = (uint32_t)pid;
	if (attention(o, "attention", &out->attention, e) != VGMO_OK ||
	    attention(o, "vision_attention", &out->vision_attention, e) !=
	            VGMO_OK)
		return VGMO_ERR_INVALID;
	v = json_object_get(o, "logits");
	if (v && !json_is_null(v) &&
	    (!json_is_string(v) ||
	     strcmp(json_string_value(v), "unknown") == 0 ||
	     vgmo_logits_parse(json_string_value(v), &out->logits) != VGMO_OK))
		return api_error_set(
		        e, 400, "logits",
		        "key \"logits\": expected \"last\" (the "
		        "last position of each request, as generate "
		        "keeps) or \"all\" (every prompt position)");
	return VGMO_OK;
}

vgmo_err api_clients_parse_registration(const char *body, size_t len,
                                        client_registration *out, api_error *e)
{
	json_t *o = NULL;
	vgmo_err rc;

	memset(out, 0, sizeof(*out));
	if (api_parse_object(body, len, &o, e) != VGMO_OK)
		return VGMO_ERR_INVALID;
	rc = registration(o, out, e);
	json_decref(o);
	return rc;
}

static vgmo_err report(json_t *o, uint64_t gpu_total,
                       const vgmo_vlm_model *model, client_report *out,
                       api_error *e)
{
	static const char *const keys[] = {
	        "items",    "peak_bytes", "allocated_bytes", "reserved_bytes",
	        "seconds",  "oom",        "freed_bytes",     "units",
	        "requests", NULL};
	json_int_t items = 0, peak = 0, alloc = 0, resv = 0, freed = 0,
	           units = 0;
	bool has_items, has_peak, has_alloc, has_resv, has_freed;
	json_int_t total = gpu_total == 0 || gpu_total > INT64_MAX
	                           ? INT64_MAX
	                           : (json_int_t)gpu_total;
	json_t *v;

	if (only_keys(o, keys, e) != VGMO_OK)
		return VGMO_ERR_INVALID;
	v = json_object_get(o, "oom");
	if (v && !json_is_boolean(v))
		return api_error_set(e, 400, "oom",
		                     "key \"oom\": expected true or false");
	out->r.oom = v && json_is_true(v);
	if (get_int(o, "items", 1, CLIENT_MAX_ITEMS, &items, &has_items, e) ||
	    get_int(o, "peak_bytes", 1, total, &peak, &has_peak, e) ||
	    get_int(o, "allocated_bytes", 0, total, &alloc, &has_alloc, e) ||
	    get_int(o, "reserved_bytes", 0, total, &resv, &has_resv, e) ||
	    get_int(o, "freed_bytes", 0, total, &freed, &has_freed, e) ||
	    get_int(o, "units", 1, INT64_MAX / 2, &units, &out->has_units, e))
		return VGMO_ERR_INVALID;
	v = json_object_get(o, "requests");
	if (v && !json_is_null(v)) {
		size_t n;

		if (out->has_units)
			return api_error_set(e, 400, "requests",
			                     "key \"requests\": give either "
			                     "\"requests\" or \"units\"");
		if (request_parse_list(v, "requests", model, &out->requests, &n,
		                       e) != VGMO_OK)
			return VGMO_ERR_INVALID;
		if (has_items && (size_t)items != n)
			return api_error_set(e, 400, "items",
			                     "key \"items\": %lld, but "
			                     "\"requests\" lists %zu",
			                     (long long)items, n);
		if (n > CLIENT_MAX_ITEMS)
			return api_error_set(e, 400, "requests",
			                     "key \"requests\": more than %d",
			                     CLIENT_MAX_ITEMS);
		items = (json_int_t)n;
		has_items = true;
	}
	if (!has_items)
		return api_error_set(e, 400, "items",
		                     "key \"items\": required");
	if (!has_peak && !out->r.oom)
		return api_error_set(e, 400, "peak_bytes",
		                     "key \"peak_bytes\": required unless "
		                     "\"oom\" is true");
	if (has_alloc && has_resv && alloc > resv)
		return api_error_set(e, 400, "allocated_bytes",
		                     "key \"allocated_bytes\": more than "
		                     "\"reserved_bytes\"");
	v = json_object_get(o, "seconds");
	if (v && !json_is_null(v)) {
		if (!json_is_number(v) || !(json_number_value(v) >= 0) ||
		    json_number_value(v) > CLIENT_MAX_SECONDS)
			return api_error_set(
			        e, 400, "seconds",
			        "key \"seconds\": expected a number "
			        "in [0, 86400]");
		out->r.seconds = json_number_value(v);
	}
	out->r.items = (uint32_t)items;
	out->r.peak_bytes = (uint64_t)peak;
	out->r.allocated_bytes = (uint64_t)alloc;
	out->r.reserved_bytes = (uint64_t)resv;
	out->r.freed_bytes = (uint64_t)freed;
	out->units = (uint64_t)units;
	return VGMO_OK;
}

vgmo_err api_clients_parse_report(const char *body, size_t len,
                                  uint64_t gpu_total,
                                  const vgmo_vlm_model *model,
                                  client_report *out, api_error *e)
{
	json_t *o = NULL;
	vgmo_err rc;

	memset(out, 0, sizeof(*out));
	if (api_parse_object(body, len, &o, e) != VGMO_OK)
		return VGMO_ERR_INVALID;
	rc = report(o, gpu_total, model, out, e);
	json_decref(o);
	if (rc != VGMO_OK)
		api_clients_report_free(out);
	return rc;
}

void api_clients_report_free(client_report *c)
{
	free(c->requests);
	c->requests = NULL;
}
