/*
 * hf_config.c - a vgmo_vlm_model from a Hugging Face config.json read from
 * a local path, so a model without a preset plans as well as one with.
 *
 * The decoder's shape comes from "text_config" (or the top level, as older
 * Qwen2-VL files have it): num_hidden_layers, hidden_size,
 * num_attention_heads, num_key_value_heads (default: the heads), head_dim
 * (default hidden / heads), intermediate_size, vocab_size. The vision
 * encoder from "vision_config". Parameters are counted from the shapes
 * (embeddings, attention, MLPs, patch embedding, projector; norms and
 * biases are left out, well under 1 %). The image rule follows
 * model_type:
 *
 *   qwen2_vl, qwen2_5_vl  pixels: factor patch_size x spatial_merge_size,
 *                         the image processor's default range 3136 to
 *                         12845056 pixels (preprocessor_config.json is
 *                         not read: cap it with --max-pixels)
 *   llava, paligemma      fixed: (image_size / patch_size)^2 tokens
 *   llava_next            tiles of image_size, up to the largest
 *                         image_grid_pinpoints grid, plus a thumbnail
 *   idefics3 (SmolVLM)    tiles of image_size, (image_size / patch)^2 /
 *                         scale_factor^2 tokens each, longest edge 4 tiles
 *
 * The model's name: "_name_or_path" when the file has one, else the
 * folder of a ".../NAME/config.json", else model_type. Errors name the
 * source, the key (with its object) and the reason.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util.h"
#include "vlm_models.h"

typedef struct hf {
	const char *source;
	char *err;
	size_t errlen;
} hf;

static vgmo_err bad(const hf *h, const char *obj, const char *key,
                    const char *why)
{
	return vgmo__errf(h->err, h->errlen, VGMO_ERR_INVALID,
	                  "%s: config.json key \"%s%s%s\": %s", h->source,
	                  obj ? obj : "", obj ? "." : "", key, why);
}

/* obj[key] as a positive integer; `def` when absent (0: required). */
static vgmo_err get_u32(const hf *h, const json_t *o, const char *obj,
                        const char *key, uint32_t def, uint32_t *out)
{
	const json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v)) {
		if (def == 0)
			return bad(h, obj, key, "missing");
		*out = def;
		return VGMO_OK;
	}
	if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
	    json_integer_value(v) > 1000000)
		return bad(h, obj, key, "must be an integer in 1..1000000");
	*out = (uint32_t)json_integer_value(v);
	return VGMO_OK;
}

/* Defaults of transformers' config classes, for the keys a text_config
 * may leave out (llava-1.5-7b-hf's does): LlamaConfig, MistralConfig. */
static const struct text_defaults {
	const char *type;
	uint32_t layers, hidden, heads, kv_heads, intermediate, vocab;
} text_defaults[] = {
        {"llama", 32, 4096, 32, 0, 11008, 32000},
        {"mistral", 32, 4096, 32, 8, 14336, 32000},
};

/* The text model's vocab_size, else the top level's (llava's), else the
 * config class's default. */
static vgmo_err vocab(const hf *h, const json_t *root, const json_t *t,
                      const char *obj, uint32_t def, uint32_t *out)
{
	if (json_object_get(t, "vocab_size") == NULL &&
	    json_object_get(root, "vocab_size") != NULL)
		return get_u32(h, root, NULL, "vocab_size", 0, out);
	return get_u32(h, t, obj, "vocab_size", def, out);
}

static vgmo_err decoder(const hf *h, const json_t *root, vgmo_vlm_model *m,
                        double *params)
{
	static const struct text_defaults none = {NULL, 0, 0, 0, 0, 0, 0};
	const struct text_defaults *d = &none;
	const json_t *t = json_object_get(root, "text_config");
	const char *obj = "text_config";
	const json_t *tie;
	vgmo_err rc;
	double q, kv;

	if (!json_is_object(t)) {
		t = root;
		obj = NULL;
	}
	for (size_t i = 0; obj && i < VGMO__ARRAY_LEN(text_defaults); i++) {
		const char *ty =
		        json_string_value(json_object_get(t, "model_type"));

		if (ty && strcmp(ty, text_defaults[i].type) == 0)
			d = &text_defaults[i];
	}
	if ((rc = get_u32(h, t, obj, "num_hidden_layers", d->layers,
	                  &m->layers)) ||
	    (rc = get_u32(h, t, obj, "hidden_size", d->hidden, &m->hidden)) ||
	    (rc = get_u32(h, t, obj, "num_attention_heads", d->heads,
	                  &m->heads)) ||
	    (rc = get_u32(h, t, obj, "num_key_value_heads",
	                  d->kv_heads ? d->kv_heads : m->heads,
	                  &m->kv_heads)) ||
	    (rc = get_u32(h, t, obj, "head_dim", m->hidden / m->heads,
	                  &m->head_dim)) ||
	    (rc = get_u32(h, t, obj, "intermediate_size", d->intermediate,
	                  &m->intermediate)) ||
	    (rc = vocab(h, root, t, obj, d->vocab, &m->vocab)))
		return rc;
	if (m->head_dim == 0)
		return bad(h, obj, "head_dim", "hidden_size / heads is 0");
	tie = json_object_get(t, "tie_word_embeddings");
	if (tie == NULL)
		tie = json_object_get(root, "tie_word_embeddings");
	q = (double)m->heads * m->head_dim;
	kv = (double)m->kv_heads * m->head_dim;
	*params = (double)m->vocab * m->hidden * (json_is_true(tie) ? 1 : 2) +
	          (double)m->layers *
	                  (2.0 * m->hidden * q + 2.0 * m->hidden * kv +
	                   3.0 * m->hidden * m->intermediate);
	return VGMO_OK;
}

/* The vision tower: width, MLP width, depth, patch and image size. */
typedef struct vision {
	uint32_t width, mlp, depth, patch, image_size, merge;
	bool swiglu;
	uint32_t out; /* the merger's output width (Qwen) */
} vision;

static vgmo_err vision_of(const hf *h, const json_t *root, const char *type,
                          vision *v)
{
	const json_t *o = json_object_get(root, "vision_config");
	const char *obj = "vision_config";
	uint32_t ratio = 0;
	vgmo_err rc;

	memset(v, 0, sizeof(*v));
	if (!json_is_object(o))
		return bad(h, NULL, "vision_config", "missing");
	if (strcmp(type, "qwen2_vl") == 0) {
		if ((rc = get_u32(h, o, obj, "embed_dim", 0, &v->width)) ||
		    (rc = get_u32(h, o, obj, "mlp_ratio", 4, &ratio)) ||
		    (rc = get_u32(h, o, obj, "depth", 0, &v->depth)) ||
		    (rc = get_u32(h, o, obj, "hidden_size", 0, &v->out)))
			return rc;
		v->mlp = v->width * ratio;
	} else if (strcmp(type, "qwen2_5_vl") == 0) {
		if ((rc = get_u32(h, o, obj, "hidden_size", 0, &v->width)) ||
		    (rc = get_u32(h, o, obj, "intermediate_size", 0,
		                  &v->mlp)) ||
		    (rc = get_u32(h, o, obj, "depth", 0, &v->depth)) ||
		    (rc = get_u32(h, o, obj, "out_hidden_size", 0, &v->out)))
			return rc;
		v->swiglu = true;
	} else {
		if ((rc = get_u32(h, o, obj, "hidden_size", 0, &v->width)) ||
		    (rc = get_u32(h, o, obj, "intermediate_size", 0,
		                  &v->mlp)) ||
		    (rc = get_u32(h, o, obj, "num_hidden_layers", 0,
		                  &v->depth)) ||
		    (rc = get_u32(h, o, obj, "image_size", 0, &v->image_size)))
			return rc;
	}
	if ((rc = get_u32(h, o, obj, "patch_size", 14, &v->patch)) ||
	    (rc = get_u32(h, o, obj, "spatial_merge_size", 2, &v->merge)))
		return rc;
	if (v->patch > 1024)
		return bad(h, obj, "patch_size", "more than 1024 pixels");
	if (v->merge > 64)
		return bad(h, obj, "spatial_merge_size", "more than 64");
	if (v->image_size > 100000)
		return bad(h, obj, "image_size", "more than 100000 pixels");
	if (v->image_size && v->image_size < v->patch)
		return bad(h, obj, "image_size", "smaller than patch_size");
	return VGMO_OK;
}

static double vision_params(const vision *v, double proj)
{
	double w = v->width, blocks;

	blocks =
	        v->depth * (4.0 * w * w + (v->swiglu ? 3.0 : 2.0) * w * v->mlp);
	return blocks + 3.0 * v->patch * v->patch * w + proj;
}

/* Largest grid of llava_next's image_grid_pinpoints, in tiles. */
static vgmo_err pinpoints(const hf *h, const json_t *root, uint32_t tile,
                          vgmo_vlm_model *m)
{
	const json_t *pp = json_object_get(root, "image_grid_pinpoints"), *p;
	size_t i;

	if (!json_is_array(pp) || json_array_size(pp) == 0)
		return bad(h, NULL, "image_grid_pinpoints", "missing or empty");
	json_array_foreach(pp, i, p)
	{
		const json_t *a = json_array_get(p, 0),
		             *b = json_array_get(p, 1);
		json_int_t ha, wb;

		if (json_array_size(p) != 2 || !json_is_integer(a) ||
		    !json_is_integer(b) || json_integer_value(a) < tile ||
		    json_integer_value(b) < tile ||
		    json_integer_value(a) > 100000 ||
		    json_integer_value(b) > 100000)
			return bad(h, NULL, "image_grid_pinpoints",
			           "each entry is [height, width], multiples "
			           "of the image size");
		ha = json_integer_value(a);
		wb = json_integer_value(b);
		if ((uint32_t)((ha / tile) * (wb / tile)) > m->max_tiles)
			m->max_tiles = (uint32_t)((ha / tile) * (wb / tile));
		if ((uint32_t)(ha > wb ? ha : wb) > m->max_edge)
			m->max_edge = (uint32_t)(ha > wb ? ha : wb);
	}
	return VGMO_OK;
}

/* ".../Qwen2-VL-7B-Instruct/config.json" names its model by its
 * folder, as a Hugging Face download does. */
static bool dir_name(const char *path, char *out, size_t size)
{
	size_t n = strlen(path), end, start;

	if (n < 12 || strcmp(path + n - 12, "/config.json") != 0)
		return false;
	end = n - 12;
	start = end;
	while (start > 0 && path[start - 1] != '/')
		start--;
	if (end == start || end - start >= size)
		return false;
	memcpy(out, path + start, end - start);
	out[end - start] = '\0';
	return true;
}

static const char *const supported =
        "qwen2_vl, qwen2_5_vl, llava, llava_next, paligemma, idefics3";

vgmo_err vgmo__hf_config_model(const json_t *root, const char *source,
                               vgmo_vlm_model *out, char *err, size_t errlen)
{
	hf h = {source ? source : "config.json", err, errlen};
	const char *type =
	        json_string_value(json_object_get(root, "model_type"));
	const char *name =
	        json_string_value(json_object_get(root, "_name_or_path"));
	vgmo_vlm_model m;
	vision v;
	double dec = 0, proj, grid;
	uint32_t scale = 0;
	vgmo_err rc;

	memset(&m, 0, sizeof(m));
	if (type == NULL)
		return bad(&h, NULL, "model_type", "must be a string");
	if (strcmp(type, "qwen2_vl") && strcmp(type, "qwen2_5_vl") &&
	    strcmp(type, "llava") && strcmp(type, "llava_next") &&
	    strcmp(type, "paligemma") && strcmp(type, "idefics3"))
		return vgmo__errf(err, errlen, VGMO_ERR_UNSUPPORTED,
		                  "%s: config.json model_type \"%s\" is not a "
		                  "supported vision-language architecture "
		                  "(supported: %s)",
		                  h.source, type, supported);
	if ((rc = decoder(&h, root, &m, &dec)) != VGMO_OK ||
	    (rc = vision_of(&h, root, type, &v)) != VGMO_OK)
		return rc;
	m.vision_hidden = v.width;
	m.vision_intermediate = v.mlp;
	if (strncmp(type, "qwen2", 5) == 0) {
		double in = (double)v.width * v.merge * v.merge;

		m.image_rule = VGMO_IMAGE_PIXELS;
		m.factor = v.patch * v.merge;
		m.min_pixels = 3136;
		m.max_pixels = 12845056;
		m.patches_per_token = v.merge * v.merge;
		proj = in * in + in * v.out;
		/* The temporal patch of 2 doubles the patch embedding. */
		proj += 3.0 * v.patch * v.patch * v.width;
	} else {
		grid = floor((double)v.image_size / v.patch);
		if (grid * grid > 1e6)
			return bad(&h, "vision_config", "image_size",
			           "over 1000000 patches per image");
		proj = grid * grid * v.width; /* position embeddings */
		if (strcmp(type, "idefics3") == 0) {
			if ((rc = get_u32(&h, root, NULL, "scale_factor", 0,
			                  &scale)) != VGMO_OK)
				return rc;
			if (scale > 64)
				return bad(&h, NULL, "scale_factor",
				           "more than 64");
			m.image_rule = VGMO_IMAGE_TILES;
			m.tile = v.image_size;
			m.tokens_per_tile =
			        (uint32_t)(grid * grid / (scale * scale));
			m.patches_per_token = scale * scale;
			m.max_edge = 4 * v.image_size;
			m.max_tiles = 16;
			m.upscale = true;
			m.thumbnail = VGMO_THUMBNAIL_MULTI;
			proj += (double)v.width * scale * scale * m.hidden;
		} else {
			m.patches_per_token = 1;
			if (strcmp(type, "llava_next") == 0) {
				m.image_rule = VGMO_IMAGE_TILES;
				m.tile = v.image_size;
				m.tokens_per_tile = (uint32_t)(grid * grid);
				m.thumbnail = VGMO_THUMBNAIL_ALWAYS;
				if ((rc = pinpoints(&h, root, v.image_size,
				                    &m)) != VGMO_OK)
					return rc;
			} else {
				m.image_rule = VGMO_IMAGE_FIXED;
				m.image_tokens = (uint32_t)(grid * grid);
			}
			/* llava: a two-layer MLP; paligemma: one linear. */
			proj += (double)v.width * m.hidden +
			        (strcmp(type, "paligemma") == 0
			                 ? 0.0
			                 : (double)m.hidden * m.hidden);
		}
	}
	m.vision_params = vision_params(&v, proj);
	m.params = dec + m.vision_params;
	if (name && name[0]) {
		const char *slash = strrchr(name, '/');

		vgmo__strlcpy(m.name, slash ? slash + 1 : name, sizeof(m.name));
	} else if (!dir_name(h.source, m.name, sizeof(m.name))) {
		snprintf(m.name, sizeof(m.name), "%s", type);
	}
	rc = vgmo__model_check(&m, err, errlen);
	if (rc != VGMO_OK)
		return rc;
	*out = m;
	return VGMO_OK;
}
