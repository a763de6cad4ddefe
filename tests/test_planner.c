/*
 * test_planner.c - model presets, image-token rules at their edges, custom
 * models from JSON, and memory plans checked by hand arithmetic.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "util.h"
#include "vlm_models.h"

#define MIB 1048576.0

static vgmo_vlm_model preset(const char *name)
{
	vgmo_vlm_model m;

	assert_int_equal(vgmo_model_preset_find(name, &m), VGMO_OK);
	return m;
}

static void test_presets_and_kv(void **state)
{
	/* KV bytes per token = 2 x layers x kv_heads x head_dim x 2 (bf16),
	 * as the reference table lists them. */
	static const struct {
		const char *name;
		uint64_t kv;
	} want[] = {
	        {"llava-1.5-7b", 512 * 1024},
	        {"llava-next-mistral-7b", 128 * 1024},
	        {"qwen2-vl-7b", 56 * 1024},
	        {"qwen2-vl-2b", 28 * 1024},
	        {"qwen2.5-vl-7b", 56 * 1024},
	        {"internvl2-8b", 128 * 1024},
	        {"idefics3-8b", 128 * 1024},
	        {"paligemma-3b", 18 * 1024},
	        {"smolvlm-instruct", 192 * 1024},
	        {"granite-docling-258m", 22 * 1024 + 512},
	};
	size_t n = 0;

	(void)state;
	for (size_t i = 0; i < VGMO__ARRAY_LEN(want); i++) {
		vgmo_vlm_model m = preset(want[i].name);

		assert_true(vgmo_model_kv_bytes_per_token(
		                    &m, VGMO_DTYPE_BF16) == want[i].kv);
		/* fp8 halves weights and KV cache. */
		assert_true(vgmo_model_kv_bytes_per_token(&m, VGMO_DTYPE_FP8) ==
		            want[i].kv / 2);
		assert_true(vgmo_model_weights_bytes(&m, VGMO_DTYPE_FP8) * 2 ==
		            vgmo_model_weights_bytes(&m, VGMO_DTYPE_BF16));
		assert_int_equal(vgmo__model_check(&m, NULL, 0), VGMO_OK);
	}
	for (const char *const *p = vgmo_model_presets(); *p; p++, n++)
		assert_int_equal(vgmo_model_preset_find(*p, NULL), VGMO_OK);
	assert_true(n >= 7);
	assert_int_equal(vgmo_model_preset_find("gpt-5", NULL),
	                 VGMO_ERR_NOT_FOUND);
}

static void test_pixels_rule_edges(void **state)
{
	vgmo_vlm_model m = preset("qwen2-vl-7b");

	(void)state;
	/* Below min_pixels (3136 = 56 x 56): scaled up to 2 x 2 tokens. */
	assert_int_equal(vgmo_model_image_tokens(&m, 1, 1), 4);
	assert_int_equal(vgmo_model_image_tokens(&m, 28, 28), 4);
	assert_int_equal(vgmo_model_image_tokens(&m, 56, 56), 4);
	/* Rounding is Python's (half to even): 70 / 28 = 2.5 -> 2, 98 / 28
	 * = 3.5 -> 4. */
	assert_int_equal(vgmo_model_image_tokens(&m, 70, 70), 4);
	assert_int_equal(vgmo_model_image_tokens(&m, 98, 98), 16);
	/* 448 / 28 = 16 per side. */
	assert_int_equal(vgmo_model_image_tokens(&m, 448, 448), 256);
	/* 1024 / 28 = 36.6 -> 37 per side. */
	assert_int_equal(vgmo_model_image_tokens(&m, 1024, 1024), 37 * 37);
	/* A 12 MP photo: 144 x 108 = 15552 tokens, under max_pixels. */
	assert_int_equal(vgmo_model_image_tokens(&m, 4032, 3024), 15552);
	/* Above max_pixels (16384 tokens): scaled down, floor per side:
	 * 10000 / sqrt(1e8 / 12845056) / 28 = 127.99 -> 127. */
	assert_int_equal(vgmo_model_image_tokens(&m, 10000, 10000), 127 * 127);
	assert_true(vgmo_model_image_tokens(&m, 100000, 100000) <= 16384);
	assert_int_equal(vgmo_model_image_tokens(&m, 0, 100), 0);
}

static void test_tiles_rule_edges(void **state)
{
	vgmo_vlm_model iv = preset("internvl2-8b");
	vgmo_vlm_model nx = preset("llava-next-mistral-7b");
	vgmo_vlm_model id = preset("idefics3-8b");
	vgmo_vlm_model ll = preset("llava-1.5-7b");

	(void)state;
	/* InternVL2: one tile needs no thumbnail; one pixel more, two tiles
	 * and a thumbnail; a 4:3 photo caps at 12 tiles (4 x 3). */
	assert_int_equal(vgmo_model_image_tokens(&iv, 448, 448), 256);
	assert_int_equal(vgmo_model_image_tokens(&iv, 449, 448), 3 * 256);
	assert_int_equal(vgmo_model_image_tokens(&iv, 4032, 3024), 13 * 256);
	assert_int_equal(vgmo_model_image_tokens(&iv, 1, 1), 256);
	/* LLaVA-NeXT: the base image always comes along; at most 2 x 2. */
	assert_int_equal(vgmo_model_image_tokens(&nx, 336, 336), 2 * 576);
	assert_int_equal(vgmo_model_image_tokens(&nx, 337, 336), 3 * 576);
	assert_int_equal(vgmo_model_image_tokens(&nx, 1024, 1024), 5 * 576);
	assert_int_equal(vgmo_model_image_tokens(&nx, 5000, 5000), 5 * 576);
	/* Idefics3 scales the longest edge to 1456 = 4 tiles of 364, up or
	 * down, then adds the global image. */
	assert_int_equal(vgmo_model_image_tokens(&id, 100, 100), 17 * 169);
	assert_int_equal(vgmo_model_image_tokens(&id, 1456, 364), 5 * 169);
	assert_int_equal(vgmo_model_image_tokens(&id, 2000, 10), 5 * 169);
	/* Fixed: the size does not matter. */
	assert_int_equal(vgmo_model_image_tokens(&ll, 1, 1), 576);
	assert_int_equal(vgmo_model_image_tokens(&ll, 9000, 100), 576);
}

/* LLaVA-1.5-7B on an H100 80 GB (81559 MiB), bf16, one 576-token image,
 * 128 text and 256 output tokens per request. */
static void test_plan_llava_by_hand(void **state)
{
	vgmo_vlm_model m = preset("llava-1.5-7b");
	vgmo_plan_request r;
	vgmo_plan p;
	uint64_t total;

	(void)state;
	vgmo_plan_request_init(&r);
	assert_int_equal(vgmo_gpu_preset_memory("h100-80gb", &total), VGMO_OK);
	assert_int_equal(vgmo_plan_compute(&m, &r, total, NULL, &p, NULL, 0),
	                 VGMO_OK);
	/* weights: 7.06e9 parameters x 2 bytes */
	assert_true(p.weights_bytes == UINT64_C(14120000000));
	/* fixed: + 256 MiB workspace */
	assert_true(p.fixed_bytes == UINT64_C(14120000000) + 268435456);
	assert_int_equal(p.image_tokens, 576);
	/* 576 + 128 + 256 */
	assert_int_equal(p.request_tokens, 960);
	/* KV: 2 x 32 layers x 32 heads x 128 x 2 bytes = 524288 per token,
	 * x 960 tokens */
	assert_true(p.kv_bytes == UINT64_C(503316480));
	/* activations: decoder 2 x (4 x 4096 + 3 x 11008) = 98816 bytes per
	 * token x (576 + 128) = 69566464, larger than the vision side
	 * 2 x (4 x 1024 + 3 x 4096) x 576 = 18874368; + logits 4 x 32064 */
	assert_true(p.activation_bytes == UINT64_C(69566464) + 128256);
	assert_true(p.request_bytes == UINT64_C(573011200));
	/* rooms: 85520809984 - 512 MiB context = 84983939072, and for
	 * conservative - 1024 MiB reserve = 83910197248;
	 * (84983939072 - 14388435456) / 573011200 = 123.2,
	 * (83910197248 - 14388435456) / 573011200 = 121.3 */
	assert_true(p.room_bytes[VGMO_STRATEGY_BALANCED] ==
	            UINT64_C(84983939072));
	assert_true(p.room_bytes[VGMO_STRATEGY_CONSERVATIVE] ==
	            UINT64_C(83910197248));
	assert_int_equal(p.batch[VGMO_STRATEGY_BALANCED], 123);
	assert_int_equal(p.batch[VGMO_STRATEGY_CONSERVATIVE], 121);
	assert_int_equal(p.batch[VGMO_STRATEGY_AGGRESSIVE], 123);
	assert_int_equal(p.batch[VGMO_STRATEGY_ADAPTIVE], 123);
}

/* Qwen2-VL-7B, same GPU, one 1024 x 1024 image: 37 x 37 = 1369 tokens. */
static void test_plan_qwen_by_hand(void **state)
{
	vgmo_vlm_model m = preset("qwen2-vl-7b");
	vgmo_plan_request r;
	vgmo_plan p;
	uint64_t total;

	(void)state;
	vgmo_plan_request_init(&r);
	vgmo_gpu_preset_memory("h100-80gb", &total);
	assert_int_equal(vgmo_plan_compute(&m, &r, total, NULL, &p, NULL, 0),
	                 VGMO_OK);
	assert_true(p.weights_bytes == UINT64_C(16580000000));
	assert_int_equal(p.request_tokens, 1369 + 128 + 256);
	/* KV: 2 x 28 x 4 x 128 x 2 = 57344 per token x 1753 */
	assert_true(p.kv_bytes == UINT64_C(100524032));
	/* vision: 2 x 4 patches x (4 x 1280 + 3 x 5120) = 163840 per image
	 * token x 1369 = 224296960 beats the decoder's 2 x (4 x 3584 + 3 x
	 * 18944) x 1497 = 213076992; + logits 4 x 152064 */
	assert_true(p.activation_bytes == UINT64_C(224296960) + 608256);
	/* (84983939072 - 16848435456) / 325429248 = 209.4, conservative
	 * (83910197248 - 16848435456) / 325429248 = 206.1 */
	assert_int_equal(p.batch[VGMO_STRATEGY_BALANCED], 209);
	assert_int_equal(p.batch[VGMO_STRATEGY_CONSERVATIVE], 206);
	assert_int_equal(p.batch[VGMO_STRATEGY_AGGRESSIVE], 209);
	/* fp8 halves weights and KV: more fits. */
	r.dtype = VGMO_DTYPE_FP8;
	assert_int_equal(vgmo_plan_compute(&m, &r, total, NULL, &p, NULL, 0),
	                 VGMO_OK);
	assert_true(p.batch[VGMO_STRATEGY_BALANCED] > 209);
	/* A GPU smaller than the weights: nothing fits. */
	r.dtype = VGMO_DTYPE_BF16;
	assert_int_equal(
	        vgmo_plan_compute(&m, &r, UINT64_C(8) << 30, NULL, &p, NULL, 0),
	        VGMO_OK);
	assert_int_equal(p.batch[VGMO_STRATEGY_BALANCED], 0);
	assert_int_equal(p.batch[VGMO_STRATEGY_AGGRESSIVE], 0);
}

static void expect_error(const char *json, const char *want1, const char *want2)
{
	vgmo_vlm_model m;
	char err[256] = "";

	assert_int_not_equal(vgmo_model_load_string(json, strlen(json),
	                                            "my.json", &m, err,
	                                            sizeof(err)),
	                     VGMO_OK);
	if (strstr(err, want1) == NULL || strstr(err, want2) == NULL)
		fail_msg("\"%s\" lacks \"%s\" or \"%s\"", err, want1, want2);
}

static void test_custom_models(void **state)
{
	const char *ok = "{\n  \"base\": \"qwen2-vl-7b\",\n"
	                 "  \"name\": \"qwen-small-images\",\n"
	                 "  \"max_pixels\": 1003520\n}\n";
	const char *full =
	        "{\"name\": \"mine\", \"params\": 2e9, \"layers\": 24, "
	        "\"hidden\": 2048, \"heads\": 16, \"kv_heads\": 4, "
	        "\"head_dim\": 128, \"intermediate\": 8192, \"vocab\": 32000, "
	        "\"image_rule\": \"tiles\", \"tile\": 384, "
	        "\"tokens_per_tile\": 81, \"max_tiles\": 9, "
	        "\"thumbnail\": \"always\"}";
	vgmo_vlm_model m;

	(void)state;
	assert_int_equal(
	        vgmo_model_load_string(ok, strlen(ok), "ok.json", &m, NULL, 0),
	        VGMO_OK);
	assert_string_equal(m.name, "qwen-small-images");
	assert_int_equal(m.layers, 28);
	assert_int_equal(vgmo_model_image_tokens(&m, 4032, 3024) <= 1280, 1);
	assert_int_equal(vgmo_model_load_string(full, strlen(full), "f.json",
	                                        &m, NULL, 0),
	                 VGMO_OK);
	/* 1000 x 1000: 3 x 3 tiles + thumbnail, 81 each. */
	assert_int_equal(vgmo_model_image_tokens(&m, 1000, 1000), 10 * 81);
	/* Errors name the source, the line of the key, the field. */
	expect_error("{\n\"name\": \"x\",\n\"colour\": 1}", "my.json:3",
	             "\"colour\": unknown field");
	expect_error("{\"base\": \"qwen2-vl-7b\",\n\"layers\": \"many\"}",
	             "my.json:2", "\"layers\": must be an integer");
	expect_error("{\"base\": \"qwen2-vl-7b\", \"image_rule\": \"hex\"}",
	             "my.json:1", "\"image_rule\"");
	expect_error("{\"base\": \"qwen2-vl-7b\",\n\"name\": \"q\",\n"
	             "\"kv_heads\": 64}",
	             "my.json:3", "\"kv_heads\": must not exceed heads");
	expect_error("{\"params\": 1e9}", "my.json:1", "\"name\": missing");
	expect_error("{\"base\": \"nope\", \"name\": \"x\"}", "my.json:1",
	             "\"base\"");
	expect_error("{\"name\": \"x\",\n\"params\": 1e9,,}", "my.json:2", "");
	expect_error("{\"base\": \"qwen2-vl-7b\", \"name\": \"x\", "
	             "\"name\": \"y\"}",
	             "my.json", "duplicate");
}

/* The presets added for the measurements (scripts/vlm-measure.py): the
 * Qwen2-VL family shares one image rule; the parameter counts are the
 * shapes of their config.json files added up (2.21 B and 8.29 B). */
static void test_qwen_family_presets(void **state)
{
	vgmo_vlm_model q2 = preset("qwen2-vl-2b"), q7 = preset("qwen2-vl-7b");
	vgmo_vlm_model q25 = preset("qwen2.5-vl-7b");
	static const uint32_t sizes[][2] = {{448, 448},
	                                    {1024, 1024},
	                                    {1240, 1754},
	                                    {2048, 2048},
	                                    {4032, 3024}};

	(void)state;
	for (size_t i = 0; i < VGMO__ARRAY_LEN(sizes); i++) {
		uint32_t t =
		        vgmo_model_image_tokens(&q7, sizes[i][0], sizes[i][1]);

		assert_int_equal(
		        vgmo_model_image_tokens(&q2, sizes[i][0], sizes[i][1]),
		        t);
		assert_int_equal(
		        vgmo_model_image_tokens(&q25, sizes[i][0], sizes[i][1]),
		        t);
	}
	/* 1240 x 1754 (A4 at 150 dpi): 44 x 63 blocks of 28 px. */
	assert_int_equal(vgmo_model_image_tokens(&q2, 1240, 1754), 44 * 63);
	assert_true(vgmo_model_weights_bytes(&q2, VGMO_DTYPE_BF16) ==
	            UINT64_C(4420000000));
	assert_true(q25.params == q7.params && q25.layers == q7.layers &&
	            q25.vision_intermediate == 3420);
	assert_true(q2.vision_params < q2.params);
}

static void test_resolve(void **state)
{
	vgmo_vlm_model m;
	char err[512];

	(void)state;
	assert_int_equal(
	        vgmo_model_resolve("paligemma-3b", &m, err, sizeof(err)),
	        VGMO_OK);
	assert_int_equal(vgmo_model_image_tokens(&m, 640, 480), 256);
	assert_int_equal(vgmo_model_resolve("gpt-9", &m, err, sizeof(err)),
	                 VGMO_ERR_NOT_FOUND);
	assert_non_null(strstr(err, "qwen2-vl-7b"));
	assert_int_not_equal(
	        vgmo_model_resolve("/nonexistent/m.json", &m, err, sizeof(err)),
	        VGMO_OK);
	assert_non_null(strstr(err, "/nonexistent/m.json"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_presets_and_kv),
	        cmocka_unit_test(test_pixels_rule_edges),
	        cmocka_unit_test(test_tiles_rule_edges),
	        cmocka_unit_test(test_plan_llava_by_hand),
	        cmocka_unit_test(test_plan_qwen_by_hand),
	        cmocka_unit_test(test_custom_models),
	        cmocka_unit_test(test_qwen_family_presets),
	        cmocka_unit_test(test_resolve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
