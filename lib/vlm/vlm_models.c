/*
 * vlm_models.c - vision-language model presets from public configuration
 * facts, the image-token rules, weights and KV-cache sizes.
 *
 * Sources: each model's config.json and model card (layers, widths, heads,
 * vocabulary, vision encoder, image processor), summarised in
 * docs/benchmarks.md. Where a processor is more intricate than the three
 * rules below (LLaVA-NeXT's grid pinpoints, InternVL's aspect-ratio
 * search), the rule is an approximation within one tile.
 */
#include <math.h>
#include <string.h>

#include "util.h"
#include "vlm_models.h"

#define B 1e9
#define M 1e6

static const vgmo_vlm_model presets[] = {
        {.name = "llava-1.5-7b",
         .params = 7.06 * B,
         .vision_params = 0.32 * B,
         .layers = 32,
         .hidden = 4096,
         .heads = 32,
         .kv_heads = 32,
         .head_dim = 128,
         .intermediate = 11008,
         .vocab = 32064,
         .vision_hidden = 1024,
         .vision_intermediate = 4096,
         .patches_per_token = 1,
         .image_rule = VGMO_IMAGE_FIXED,
         .image_tokens = 576},
        {.name = "llava-next-mistral-7b",
         .params = 7.57 * B,
         .vision_params = 0.32 * B,
         .layers = 32,
         .hidden = 4096,
         .heads = 32,
         .kv_heads = 8,
         .head_dim = 128,
         .intermediate = 14336,
         .vocab = 32064,
         .vision_hidden = 1024,
         .vision_intermediate = 4096,
         .patches_per_token = 1,
         .image_rule = VGMO_IMAGE_TILES,
         .tile = 336,
         .tokens_per_tile = 576,
         .max_tiles = 4,
         .max_edge = 672,
         .thumbnail = VGMO_THUMBNAIL_ALWAYS},
        {.name = "qwen2-vl-7b",
         .params = 8.29 * B,
         .vision_params = 0.675 * B,
         .layers = 28,
         .hidden = 3584,
         .heads = 28,
         .kv_heads = 4,
         .head_dim = 128,
         .intermediate = 18944,
         .vocab = 152064,
         .vision_hidden = 1280,
         .vision_intermediate = 5120,
         .patches_per_token = 4,
         .image_rule = VGMO_IMAGE_PIXELS,
         .factor = 28,
         .min_pixels = 3136,
         .max_pixels = 12845056},
        /* Qwen/Qwen2-VL-2B-Instruct config.json: hidden_size 1536,
         * intermediate_size 8960, 28 layers, 12 heads, 2 KV heads,
         * vocab_size 151936, tie_word_embeddings true; vision_config:
         * depth 32, embed_dim 1280, mlp_ratio 4, spatial_merge_size 2;
         * preprocessor_config.json: min_pixels 3136, max_pixels
         * 12845056. 2.21 B parameters (0.665 B in the vision tower and
         * merger), as the model card lists and the shapes add up to. */
        {.name = "qwen2-vl-2b",
         .params = 2.21 * B,
         .vision_params = 0.665 * B,
         .layers = 28,
         .hidden = 1536,
         .heads = 12,
         .kv_heads = 2,
         .head_dim = 128,
         .intermediate = 8960,
         .vocab = 151936,
         .vision_hidden = 1280,
         .vision_intermediate = 5120,
         .patches_per_token = 4,
         .image_rule = VGMO_IMAGE_PIXELS,
         .factor = 28,
         .min_pixels = 3136,
         .max_pixels = 12845056},
        /* Qwen/Qwen2.5-VL-7B-Instruct config.json: the decoder of
         * Qwen2-VL-7B (3584 / 18944 / 28 layers / 28 heads / 4 KV heads,
         * vocab_size 152064); vision_config: depth 32, hidden_size 1280,
         * intermediate_size 3420 (SwiGLU), window_size 112 with full
         * attention in blocks 7, 15, 23, 31, spatial_merge_size 2; the
         * same image processor limits as Qwen2-VL. 8.29 B parameters
         * (0.677 B vision). */
        {.name = "qwen2.5-vl-7b",
         .params = 8.29 * B,
         .vision_params = 0.677 * B,
         .layers = 28,
         .hidden = 3584,
         .heads = 28,
         .kv_heads = 4,
         .head_dim = 128,
         .intermediate = 18944,
         .vocab = 152064,
         .vision_hidden = 1280,
         .vision_intermediate = 3420,
         .patches_per_token = 4,
         .image_rule = VGMO_IMAGE_PIXELS,
         .factor = 28,
         .min_pixels = 3136,
         .max_pixels = 12845056},
        {.name = "internvl2-8b",
         .params = 8.08 * B,
         .vision_params = 0.34 * B,
         .layers = 32,
         .hidden = 4096,
         .heads = 32,
         .kv_heads = 8,
         .head_dim = 128,
         .intermediate = 14336,
         .vocab = 92553,
         .vision_hidden = 1024,
         .vision_intermediate = 4096,
         .patches_per_token = 4,
         .image_rule = VGMO_IMAGE_TILES,
         .tile = 448,
         .tokens_per_tile = 256,
         .max_tiles = 12,
         .thumbnail = VGMO_THUMBNAIL_MULTI},
        {.name = "idefics3-8b",
         .params = 8.46 * B,
         .vision_params = 0.43 * B,
         .layers = 32,
         .hidden = 4096,
         .heads = 32,
         .kv_heads = 8,
         .head_dim = 128,
         .intermediate = 14336,
         .vocab = 128259,
         .vision_hidden = 1152,
         .vision_intermediate = 4304,
         .patches_per_token = 4,
         .image_rule = VGMO_IMAGE_TILES,
         .tile = 364,
         .tokens_per_tile = 169,
         .max_tiles = 16,
         .max_edge = 1456,
         .upscale = true,
         .thumbnail = VGMO_THUMBNAIL_MULTI},
        {.name = "paligemma-3b",
         .params = 2.92 * B,
         .vision_params = 0.43 * B,
         .layers = 18,
         .hidden = 2048,
         .heads = 8,
         .kv_heads = 1,
         .head_dim = 256,
         .intermediate = 16384,
         .vocab = 257216,
         .vision_hidden = 1152,
         .vision_intermediate = 4304,
         .patches_per_token = 1,
         .image_rule = VGMO_IMAGE_FIXED,
         .image_tokens = 256},
        {.name = "paligemma-3b-448",
         .params = 2.92 * B,
         .vision_params = 0.43 * B,
         .layers = 18,
         .hidden = 2048,
         .heads = 8,
         .kv_heads = 1,
         .head_dim = 256,
         .intermediate = 16384,
         .vocab = 257216,
         .vision_hidden = 1152,
         .vision_intermediate = 4304,
         .patches_per_token = 1,
         .image_rule = VGMO_IMAGE_FIXED,
         .image_tokens = 1024},
        {.name = "paligemma-3b-896",
         .params = 2.92 * B,
         .vision_params = 0.43 * B,
         .layers = 18,
         .hidden = 2048,
         .heads = 8,
         .kv_heads = 1,
         .head_dim = 256,
         .intermediate = 16384,
         .vocab = 257216,
         .vision_hidden = 1152,
         .vision_intermediate = 4304,
         .patches_per_token = 1,
         .image_rule = VGMO_IMAGE_FIXED,
         .image_tokens = 4096},
        {.name = "smolvlm-instruct",
         .params = 2.25 * B,
         .vision_params = 0.43 * B,
         .layers = 24,
         .hidden = 2048,
         .heads = 32,
         .kv_heads = 32,
         .head_dim = 64,
         .intermediate = 8192,
         .vocab = 49155,
         .vision_hidden = 1152,
         .vision_intermediate = 4304,
         .patches_per_token = 9,
         .image_rule = VGMO_IMAGE_TILES,
         .tile = 384,
         .tokens_per_tile = 81,
         .max_tiles = 16,
         .max_edge = 1536,
         .upscale = true,
         .thumbnail = VGMO_THUMBNAIL_MULTI},
        {.name = "granite-docling-258m",
         .params = 258 * M,
         .vision_params = 93 * M,
         .layers = 30,
         .hidden = 576,
         .heads = 9,
         .kv_heads = 3,
         .head_dim = 64,
         .intermediate = 1536,
         .vocab = 100352,
         .vision_hidden = 768,
         .vision_intermediate = 3072,
         .patches_per_token = 16,
         .image_rule = VGMO_IMAGE_TILES,
         .tile = 512,
         .tokens_per_tile = 64,
         .max_tiles = 16,
         .max_edge = 2048,
         .upscale = true,
         .thumbnail = VGMO_THUMBNAIL_MULTI},
};

static const char *const preset_names[] = {"llava-1.5-7b",
                                           "llava-next-mistral-7b",
                                           "qwen2-vl-7b",
                                           "qwen2-vl-2b",
                                           "qwen2.5-vl-7b",
                                           "internvl2-8b",
                                           "idefics3-8b",
                                           "paligemma-3b",
                                           "paligemma-3b-448",
                                           "paligemma-3b-896",
                                           "smolvlm-instruct",
                                           "granite-docling-258m",
                                           NULL};

const char *const *vgmo_model_presets(void)
{
	return preset_names;
}

vgmo_err vgmo_model_preset_find(const char *name, vgmo_vlm_model *out)
{
	if (name == NULL)
		return VGMO_ERR_INVALID;
	for (size_t i = 0; i < VGMO__ARRAY_LEN(presets); i++) {
		if (strcmp(presets[i].name, name) == 0) {
			if (out)
				*out = presets[i];
			return VGMO_OK;
		}
	}
	return VGMO_ERR_NOT_FOUND;
}

const char *vgmo_dtype_name(vgmo_dtype d)
{
	switch (d) {
	case VGMO_DTYPE_FP16:
		return "fp16";
	case VGMO_DTYPE_FP8:
		return "fp8";
	case VGMO_DTYPE_BF16:
	default:
		return "bf16";
	}
}

vgmo_err vgmo_dtype_parse(const char *name, vgmo_dtype *out)
{
	static const vgmo_dtype all[] = {VGMO_DTYPE_BF16, VGMO_DTYPE_FP16,
	                                 VGMO_DTYPE_FP8};

	for (size_t i = 0; name && i < VGMO__ARRAY_LEN(all); i++) {
		if (strcmp(name, vgmo_dtype_name(all[i])) == 0) {
			*out = all[i];
			return VGMO_OK;
		}
	}
	return VGMO_ERR_INVALID;
}

double vgmo__dtype_bytes(vgmo_dtype d)
{
	return d == VGMO_DTYPE_FP8 ? 1.0 : 2.0;
}

uint64_t vgmo_model_weights_bytes(const vgmo_vlm_model *m, vgmo_dtype d)
{
	return (uint64_t)llround(m->params * vgmo__dtype_bytes(d));
}

uint64_t vgmo_model_kv_bytes_per_token(const vgmo_vlm_model *m, vgmo_dtype d)
{
	return (uint64_t)(2.0 * m->layers * m->kv_heads * m->head_dim *
	                  vgmo__dtype_bytes(d));
}

/* Tiles: scale, cut, cap the grid, add the thumbnail. */
static uint32_t tiles_tokens(const vgmo_vlm_model *m, double w, double h)
{
	double edge = fmax(w, h);
	uint64_t cols, rows, tiles, thumb;

	if (m->max_edge && (edge > m->max_edge || m->upscale)) {
		w *= m->max_edge / edge;
		h *= m->max_edge / edge;
	}
	cols = (uint64_t)fmax(1.0, ceil(w / m->tile - 1e-9));
	rows = (uint64_t)fmax(1.0, ceil(h / m->tile - 1e-9));
	/* Shrinking the image keeps its aspect ratio: drop a tile from the
	 * longer side first. */
	while (cols * rows > m->max_tiles && cols * rows > 1) {
		if (cols >= rows)
			cols--;
		else
			rows--;
	}
	tiles = cols * rows;
	thumb = m->thumbnail == VGMO_THUMBNAIL_ALWAYS ||
	                        (m->thumbnail == VGMO_THUMBNAIL_MULTI &&
	                         tiles > 1)
	                ? 1
	                : 0;
	return (uint32_t)((tiles + thumb) * m->tokens_per_tile);
}

/* Qwen2-VL's smart_resize (Python's round: half to even, as rint). */
static uint32_t pixels_tokens(const vgmo_vlm_model *m, double w, double h)
{
	double f = m->factor;
	double hb = fmax(f, rint(h / f) * f), wb = fmax(f, rint(w / f) * f);

	if (hb * wb > (double)m->max_pixels) {
		double beta = sqrt(h * w / (double)m->max_pixels);

		hb = fmax(f, floor(h / beta / f) * f);
		wb = fmax(f, floor(w / beta / f) * f);
	} else if (hb * wb < (double)m->min_pixels) {
		double beta = sqrt((double)m->min_pixels / (h * w));

		hb = ceil(h * beta / f) * f;
		wb = ceil(w * beta / f) * f;
	}
	return (uint32_t)((hb / f) * (wb / f));
}

uint32_t vgmo_model_image_tokens(const vgmo_vlm_model *m, uint32_t width,
                                 uint32_t height)
{
	if (width == 0 || height == 0)
		return 0;
	switch (m->image_rule) {
	case VGMO_IMAGE_TILES:
		return tiles_tokens(m, width, height);
	case VGMO_IMAGE_PIXELS:
		return pixels_tokens(m, width, height);
	case VGMO_IMAGE_FIXED:
	default:
		return m->image_tokens;
	}
}

vgmo_err vgmo__model_check(const vgmo_vlm_model *m, char *err, size_t errlen)
{
	const struct {
		const char *key;
		uint32_t v;
	} shape[] = {
	        {"layers", m->layers},     {"hidden", m->hidden},
	        {"heads", m->heads},       {"kv_heads", m->kv_heads},
	        {"head_dim", m->head_dim}, {"intermediate", m->intermediate},
	        {"vocab", m->vocab}};

	if (!(m->params > 0) || !isfinite(m->params))
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "params: must be a positive number");
	if (!(m->vision_params >= 0) || m->vision_params >= m->params)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "vision_params: must be in [0, params)");
	for (size_t i = 0; i < VGMO__ARRAY_LEN(shape); i++)
		if (shape[i].v == 0)
			return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
			                  "%s: must be > 0", shape[i].key);
	if (m->kv_heads > m->heads)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "kv_heads: must not exceed heads");
	switch (m->image_rule) {
	case VGMO_IMAGE_FIXED:
		return VGMO_OK;
	case VGMO_IMAGE_TILES:
		if (!m->tile)
			return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
			                  "tile: must be > 0 for tiles");
		if (!m->tokens_per_tile)
			return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
			                  "tokens_per_tile: must be > 0 for "
			                  "tiles");
		if (!m->max_tiles)
			return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
			                  "max_tiles: must be > 0 for tiles");
		if (m->upscale && !m->max_edge)
			return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
			                  "upscale: needs max_edge > 0");
		return VGMO_OK;
	case VGMO_IMAGE_PIXELS:
		if (!m->factor)
			return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
			                  "factor: must be > 0 for pixels");
		if (!m->min_pixels)
			return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
			                  "min_pixels: must be > 0 for pixels");
		if (m->max_pixels < m->min_pixels)
			return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
			                  "max_pixels: must be >= min_pixels");
		return VGMO_OK;
	default:
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "image_rule: unknown rule");
	}
}
