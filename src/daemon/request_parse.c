/*
 * request_parse.c - request shapes in the worker protocol (request_parse.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request_parse.h"

/* An optional count field of `o` in [0, max]; 0 when absent. */
static vgmo_err count(json_t *o, const char *where, const char *key,
                      json_int_t max, uint32_t *out, bool *present,
                      api_error *e)
{
	json_t *v = json_object_get(o, key);

	*present = v != NULL && !json_is_null(v);
	*out = 0;
	if (!*present)
		return VGMO_OK;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > max)
		return api_error_set(e, 400, key,
		                     "%s: key \"%s\": expected an integer in "
		                     "[0, %lld]",
		                     where, key, (long long)max);
	*out = (uint32_t)json_integer_value(v);
	return VGMO_OK;
}

/* One [width, height] pair. */
static bool size_pair(json_t *p, uint32_t *w, uint32_t *h)
{
	json_t *a = json_array_get(p, 0), *b = json_array_get(p, 1);

	if (!json_is_array(p) || json_array_size(p) != 2 ||
	    !json_is_integer(a) || !json_is_integer(b) ||
	    json_integer_value(a) < 1 ||
	    json_integer_value(a) > REQUEST_MAX_SIDE ||
	    json_integer_value(b) < 1 ||
	    json_integer_value(b) > REQUEST_MAX_SIDE)
		return false;
	*w = (uint32_t)json_integer_value(a);
	*h = (uint32_t)json_integer_value(b);
	return true;
}

/* "images" as a list of sizes: their count and, with a model, tokens. */
static vgmo_err image_sizes(json_t *a, const char *where,
                            const vgmo_vlm_model *model, uint32_t *images,
                            uint64_t *tokens, api_error *e)
{
	size_t n = json_array_size(a);

	if (n > REQUEST_MAX_IMAGES)
		return api_error_set(e, 400, "images",
		                     "%s: key \"images\": at most %d images",
		                     where, REQUEST_MAX_IMAGES);
	*images = (uint32_t)n;
	*tokens = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t w, h;

		if (!size_pair(json_array_get(a, i), &w, &h))
			return api_error_set(
			        e, 400, "images",
			        "%s: key \"images\": item %zu: expected "
			        "[width, height] in pixels, each in [1, %d]",
			        where, i, REQUEST_MAX_SIDE);
		if (model)
			*tokens += vgmo_model_image_tokens(model, w, h);
	}
	return VGMO_OK;
}

vgmo_err request_parse_one(json_t *o, const char *where,
                           const vgmo_vlm_model *model, vgmo_request_shape *out,
                           api_error *e)
{
	static const char *const keys[] = {
	        "images", "image_tokens", "text_tokens", "output_tokens", NULL};
	const char *key;
	json_t *v, *images;
	bool has_tokens, has;
	uint64_t counted = 0;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(o))
		return api_error_set(e, 400, NULL, "%s: expected an object",
		                     where);
	json_object_foreach(o, key, v)
	{
		size_t i = 0;

		while (keys[i] && strcmp(keys[i], key) != 0)
			i++;
		if (keys[i] == NULL)
			return api_error_set(e, 400, key,
			                     "%s: unknown key \"%.64s\"", where,
			                     key);
	}
	if (count(o, where, "image_tokens", REQUEST_MAX_TOKENS,
	          &out->image_tokens, &has_tokens, e) ||
	    count(o, where, "text_tokens", REQUEST_MAX_TOKENS,
	          &out->text_tokens, &has, e) ||
	    count(o, where, "output_tokens", REQUEST_MAX_TOKENS,
	          &out->output_tokens, &has, e))
		return VGMO_ERR_INVALID;
	images = json_object_get(o, "images");
	if (json_is_array(images)) {
		if (image_sizes(images, where, model, &out->images, &counted,
		                e) != VGMO_OK)
			return VGMO_ERR_INVALID;
		if (!has_tokens && out->images > 0) {
			if (model == NULL)
				return api_error_set(
				        e, 400, "image_tokens",
				        "%s: key \"image_tokens\": required: "
				        "this client registered no model to "
				        "count its image sizes with",
				        where);
			if (counted > REQUEST_MAX_TOKENS)
				return api_error_set(
				        e, 400, "images",
				        "%s: key \"images\": more than %d "
				        "tokens",
				        where, REQUEST_MAX_TOKENS);
			out->image_tokens = (uint32_t)counted;
		}
	} else if (count(o, where, "images", REQUEST_MAX_IMAGES, &out->images,
	                 &has, e) != VGMO_OK) {
		return api_error_set(e, 400, "images",
		                     "%s: key \"images\": expected a count in "
		                     "[0, %d] or a list of [width, height]",
		                     where, REQUEST_MAX_IMAGES);
	}
	if (out->image_tokens > 0 && out->images == 0)
		out->images = 1; /* tokens of images imply one */
	if ((uint64_t)out->image_tokens + out->text_tokens == 0)
		return api_error_set(e, 400, "text_tokens",
		                     "%s: an empty prompt: give image_tokens, "
		                     "image sizes or text_tokens",
		                     where);
	return VGMO_OK;
}

vgmo_err request_parse_list(json_t *a, const char *key,
                            const vgmo_vlm_model *model,
                            vgmo_request_shape **out, size_t *n, api_error *e)
{
	vgmo_request_shape *v;
	size_t len;

	*out = NULL;
	*n = 0;
	if (!json_is_array(a) || json_array_size(a) == 0 ||
	    json_array_size(a) > REQUEST_MAX)
		return api_error_set(e, 400, key,
		                     "key \"%s\": expected a list of 1 to %d "
		                     "requests",
		                     key, REQUEST_MAX);
	len = json_array_size(a);
	v = calloc(len, sizeof(*v));
	if (v == NULL)
		return api_error_set(e, 503, key, "out of memory");
	for (size_t i = 0; i < len; i++) {
		char where[48];

		snprintf(where, sizeof(where), "%s[%zu]", key, i);
		if (request_parse_one(json_array_get(a, i), where, model, &v[i],
		                      e) != VGMO_OK) {
			free(v);
			return VGMO_ERR_INVALID;
		}
	}
	*out = v;
	*n = len;
	return VGMO_OK;
}
