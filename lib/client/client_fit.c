/*
 * client_fit.c - request shapes and fit answers in the client protocol
 * (client_fit.h).
 */
#include <string.h>

#include "client_fit.h"
#include "util.h"

json_t *vgmo__client_shape_json(const vgmo_request_shape *r)
{
	return json_pack("{s:I, s:I, s:I, s:I}", "images",
	                 (json_int_t)r->images, "image_tokens",
	                 (json_int_t)r->image_tokens, "text_tokens",
	                 (json_int_t)r->text_tokens, "output_tokens",
	                 (json_int_t)r->output_tokens);
}

json_t *vgmo__client_shapes_json(const vgmo_request_shape *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, vgmo__client_shape_json(&v[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* An optional count: null or absent is 0. */
static bool count(const json_t *o, const char *key, uint64_t max, uint64_t *out)
{
	const json_t *v = json_object_get(o, key);

	*out = 0;
	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

vgmo_err vgmo__client_fit_parse(const json_t *o, vgmo_fit *out)
{
	const char *verdict = json_string_value(json_object_get(o, "verdict"));
	const char *reason = json_string_value(json_object_get(o, "reason"));
	uint64_t prompt, image;

	memset(out, 0, sizeof(*out));
	if (verdict == NULL)
		return VGMO_ERR_PARSE;
	if (strcmp(verdict, "fits") == 0)
		out->verdict = VGMO_FIT_OK;
	else if (strcmp(verdict, "not_now") == 0)
		out->verdict = VGMO_FIT_NOT_NOW;
	else if (strcmp(verdict, "never") == 0)
		out->verdict = VGMO_FIT_NEVER;
	else
		return VGMO_ERR_PARSE;
	if (!count(o, "need_bytes", INT64_MAX, &out->need_bytes) ||
	    !count(o, "room_bytes", INT64_MAX, &out->room_bytes) ||
	    !count(o, "max_prompt_tokens", UINT32_MAX, &prompt) ||
	    !count(o, "max_image_tokens", UINT32_MAX, &image) ||
	    !count(o, "max_pixels", INT64_MAX, &out->max_pixels))
		return VGMO_ERR_PARSE;
	out->max_prompt_tokens = (uint32_t)prompt;
	out->max_image_tokens = (uint32_t)image;
	vgmo__strlcpy(out->reason, reason ? reason : "", sizeof(out->reason));
	return VGMO_OK;
}

vgmo_err vgmo__client_plan_parse(const json_t *o, vgmo_batch_plan *out)
{
	uint64_t take;

	memset(out, 0, sizeof(*out));
	if (!count(o, "take", SIZE_MAX, &take) ||
	    !json_is_integer(json_object_get(o, "take")) ||
	    !count(o, "need_bytes", INT64_MAX, &out->need_bytes) ||
	    !count(o, "room_bytes", INT64_MAX, &out->room_bytes) ||
	    vgmo__client_fit_parse(json_object_get(o, "head"), &out->head) !=
	            VGMO_OK)
		return VGMO_ERR_PARSE;
	out->take = (size_t)take;
	out->cleanup = json_is_true(json_object_get(o, "cleanup"));
	return VGMO_OK;
}
