/*
 * vlm_model_json.c - custom VLM models from JSON, with the preset fields:
 *
 *   {"base": "qwen2-vl-7b", "name": "my-vlm", "max_pixels": 1003520}
 *
 * "base" (optional) starts from a preset; every other key is a field of
 * vgmo_vlm_model by the same name ("image_rule": "fixed" | "tiles" |
 * "pixels", "thumbnail": "never" | "multi" | "always"). Errors name the
 * source, the line of the key, the field and the reason.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util.h"
#include "vlm_models.h"

#define MODEL_FILE_MAX VGMO__MIB

enum kind { K_U32, K_U64, K_NUM, K_BOOL, K_RULE, K_THUMB, K_NAME };

static const struct field {
	const char *key;
	enum kind kind;
	size_t off;
} fields[] = {
#define F(k, kind)                                                             \
	{                                                                      \
#k, kind, offsetof(vgmo_vlm_model, k)                          \
	}
        F(name, K_NAME),
        F(params, K_NUM),
        F(vision_params, K_NUM),
        F(layers, K_U32),
        F(hidden, K_U32),
        F(heads, K_U32),
        F(kv_heads, K_U32),
        F(head_dim, K_U32),
        F(intermediate, K_U32),
        F(vocab, K_U32),
        F(vision_hidden, K_U32),
        F(vision_intermediate, K_U32),
        F(patches_per_token, K_U32),
        F(image_rule, K_RULE),
        F(image_tokens, K_U32),
        F(tile, K_U32),
        F(tokens_per_tile, K_U32),
        F(max_tiles, K_U32),
        F(max_edge, K_U32),
        F(upscale, K_BOOL),
        F(thumbnail, K_THUMB),
        F(factor, K_U32),
        F(min_pixels, K_U64),
        F(max_pixels, K_U64),
#undef F
};

static const char *const rules[] = {"fixed", "tiles", "pixels"};
static const char *const thumbs[] = {"never", "multi", "always"};

/* Line of the first `"key"` followed by ':' in the text; 1 if absent. */
static int key_line(const char *s, size_t len, const char *key)
{
	size_t klen = strlen(key);
	int line = 1;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n')
			line++;
		if (s[i] != '"' || i + klen + 2 > len ||
		    strncmp(s + i + 1, key, klen) != 0 ||
		    s[i + 1 + klen] != '"')
			continue;
		for (size_t j = i + klen + 2; j < len; j++) {
			if (s[j] == ':')
				return line;
			if (s[j] != ' ' && s[j] != '\t' && s[j] != '\n' &&
			    s[j] != '\r')
				break;
		}
	}
	return 1;
}

static int pick(const char *const *names, size_t n, const char *v)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], v) == 0)
			return (int)i;
	return -1;
}

/* Sets one field; returns a reason, or NULL. */
static const char *set_field(vgmo_vlm_model *m, const struct field *f,
                             json_t *v)
{
	char *p = (char *)m + f->off;
	json_int_t i;
	int k;

	switch (f->kind) {
	case K_NAME:
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) >= sizeof(m->name))
			return "must be a string of 1 to 63 characters";
		vgmo__strlcpy(m->name, json_string_value(v), sizeof(m->name));
		return NULL;
	case K_NUM:
		if (!json_is_number(v) || !(json_number_value(v) >= 0) ||
		    !isfinite(json_number_value(v)))
			return "must be a number >= 0";
		*(double *)(void *)p = json_number_value(v);
		return NULL;
	case K_U32:
	case K_U64:
		if (!json_is_integer(v))
			return "must be an integer";
		i = json_integer_value(v);
		if (i < 0 || (f->kind == K_U32 && i > (json_int_t)UINT32_MAX))
			return f->kind == K_U32
			               ? "must be an integer in 0..4294967295"
			               : "must be an integer >= 0";
		if (f->kind == K_U32)
			*(uint32_t *)(void *)p = (uint32_t)i;
		else
			*(uint64_t *)(void *)p = (uint64_t)i;
		return NULL;
	case K_BOOL:
		if (!json_is_boolean(v))
			return "must be true or false";
		*(bool *)(void *)p = json_is_true(v);
		return NULL;
	case K_RULE:
		k = json_is_string(v) ? pick(rules, 3, json_string_value(v))
		                      : -1;
		if (k < 0)
			return "must be \"fixed\", \"tiles\" or \"pixels\"";
		m->image_rule = (vgmo_image_rule)k;
		return NULL;
	case K_THUMB:
		k = json_is_string(v) ? pick(thumbs, 3, json_string_value(v))
		                      : -1;
		if (k < 0)
			return "must be \"never\", \"multi\" or \"always\"";
		m->thumbnail = (vgmo_thumbnail)k;
		return NULL;
	}
	return "unsupported";
}

static const struct field *find_field(const char *key)
{
	for (size_t i = 0; i < VGMO__ARRAY_LEN(fields); i++)
		if (strcmp(fields[i].key, key) == 0)
			return &fields[i];
	return NULL;
}

vgmo_err vgmo_model_load_string(const char *s, size_t len, const char *source,
                                vgmo_vlm_model *out, char *err, size_t errlen)
{
	vgmo_vlm_model m;
	json_error_t je;
	json_t *root, *v;
	const char *key, *why;
	char reason[192];
	vgmo_err rc = VGMO_ERR_PARSE;

	if (source == NULL)
		source = "model";
	memset(&m, 0, sizeof(m));
	root = json_loadb(s, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL)
		return vgmo__errf(err, errlen, VGMO_ERR_PARSE, "%s:%d:%d: %s",
		                  source, je.line, je.column, je.text);
	if (!json_is_object(root)) {
		vgmo__errf(err, errlen, rc, "%s:1: a model is a JSON object",
		           source);
		goto out;
	}
	if (json_object_get(root, "model_type") != NULL) {
		/* A Hugging Face config.json (hf_config.c). */
		rc = vgmo__hf_config_model(root, source, out, err, errlen);
		goto out;
	}
	v = json_object_get(root, "base");
	if (v != NULL &&
	    (!json_is_string(v) ||
	     vgmo_model_preset_find(json_string_value(v), &m) != VGMO_OK)) {
		vgmo__errf(err, errlen, rc,
		           "%s:%d: field \"base\": not a model preset name",
		           source, key_line(s, len, "base"));
		goto out;
	}
	json_object_foreach(root, key, v)
	{
		const struct field *f = find_field(key);

		if (strcmp(key, "base") == 0)
			continue;
		why = f ? set_field(&m, f, v) : "unknown field";
		if (why != NULL) {
			vgmo__errf(err, errlen, rc, "%s:%d: field \"%s\": %s",
			           source, key_line(s, len, key), key, why);
			goto out;
		}
	}
	if (m.name[0] == '\0') {
		vgmo__errf(err, errlen, rc, "%s:1: field \"name\": missing",
		           source);
		goto out;
	}
	if (vgmo__model_check(&m, reason, sizeof(reason)) != VGMO_OK) {
		/* The check names the field first ("params: ..."). */
		size_t n = strcspn(reason, ":");
		char field[64];

		vgmo__strlcpy(field, reason,
		              n + 1 < sizeof(field) ? n + 1 : 64);
		rc = VGMO_ERR_INVALID;
		vgmo__errf(err, errlen, rc, "%s:%d: field \"%s\"%s", source,
		           key_line(s, len, field), field, reason + n);
		goto out;
	}
	*out = m;
	rc = VGMO_OK;
out:
	json_decref(root);
	return rc;
}

vgmo_err vgmo_model_load_file(const char *path, vgmo_vlm_model *out, char *err,
                              size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	vgmo_err rc;

	rc = vgmo__read_file(path, MODEL_FILE_MAX, &text, &len, err, errlen);
	if (rc != VGMO_OK)
		return rc;
	rc = vgmo_model_load_string(text, len, path, out, err, errlen);
	free(text);
	return rc;
}

vgmo_err vgmo_model_resolve(const char *name, vgmo_vlm_model *out, char *err,
                            size_t errlen)
{
	const char *const *p;
	char list[512] = "";
	size_t used = 0;

	if (name == NULL || name[0] == '\0')
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "empty model name");
	if (vgmo_model_preset_find(name, out) == VGMO_OK)
		return VGMO_OK;
	if (strchr(name, '/') || strchr(name, '.'))
		return vgmo_model_load_file(name, out, err, errlen);
	for (p = vgmo_model_presets(); *p; p++) {
		int n = snprintf(list + used, sizeof(list) - used, "%s%s",
		                 used ? ", " : "", *p);

		if (n < 0 || (size_t)n >= sizeof(list) - used)
			break;
		used += (size_t)n;
	}
	return vgmo__errf(err, errlen, VGMO_ERR_NOT_FOUND,
	                  "unknown model \"%s\" (presets: %s; or a JSON file "
	                  "path)",
	                  name, list);
}

json_t *vgmo__model_json(const vgmo_vlm_model *m)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	for (size_t i = 0; i < VGMO__ARRAY_LEN(fields); i++) {
		const struct field *f = &fields[i];
		const char *p = (const char *)m + f->off;
		json_t *v = NULL;

		switch (f->kind) {
		case K_NAME:
			v = json_string(m->name);
			break;
		case K_NUM:
			v = json_real(*(const double *)(const void *)p);
			break;
		case K_U32:
			v = json_integer(*(const uint32_t *)(const void *)p);
			break;
		case K_U64:
			v = json_integer((json_int_t) *
			                 (const uint64_t *)(const void *)p);
			break;
		case K_BOOL:
			v = json_boolean(*(const bool *)(const void *)p);
			break;
		case K_RULE:
			v = json_string(rules[m->image_rule]);
			break;
		case K_THUMB:
			v = json_string(thumbs[m->thumbnail]);
			break;
		}
		json_object_set_new(o, f->key, v);
	}
	return o;
}
