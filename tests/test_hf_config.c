/*
 * test_hf_config.c - models read from Hugging Face config.json files
 * (tests/data/hf) match the presets built from the same public facts: the
 * decoder's shape, KV bytes per token, image tokens, and parameters
 * counted from the shapes within 2 % of the model cards' totals. Broken
 * files name the key and the reason.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vgmo/vgmo.h"

static void load(const char *file, vgmo_vlm_model *m)
{
	char path[1024], err[512] = "";
	const char *src = getenv("VGMO_TEST_SRC");

	snprintf(path, sizeof(path), "%s/data/hf/%s", src ? src : "tests",
	         file);
	if (vgmo_model_resolve(path, m, err, sizeof(err)) != VGMO_OK)
		fail_msg("%s", err);
}

static void same_as_preset(const char *file, const char *preset,
                           const char *name)
{
	static const uint32_t sizes[][2] = {
	        {1024, 768}, {2000, 1500}, {640, 480}, {3000, 4000}};
	vgmo_vlm_model m, p;

	load(file, &m);
	assert_int_equal(vgmo_model_preset_find(preset, &p), VGMO_OK);
	assert_string_equal(m.name, name);
	assert_int_equal(m.layers, p.layers);
	assert_int_equal(m.hidden, p.hidden);
	assert_int_equal(m.heads, p.heads);
	assert_int_equal(m.kv_heads, p.kv_heads);
	assert_int_equal(m.head_dim, p.head_dim);
	assert_int_equal(m.intermediate, p.intermediate);
	assert_int_equal(m.vocab, p.vocab);
	assert_int_equal(m.vision_hidden, p.vision_hidden);
	assert_int_equal(m.vision_intermediate, p.vision_intermediate);
	assert_int_equal(m.patches_per_token, p.patches_per_token);
	assert_int_equal(vgmo_model_kv_bytes_per_token(&m, VGMO_DTYPE_BF16),
	                 vgmo_model_kv_bytes_per_token(&p, VGMO_DTYPE_BF16));
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		assert_int_equal(
		        vgmo_model_image_tokens(&m, sizes[i][0], sizes[i][1]),
		        vgmo_model_image_tokens(&p, sizes[i][0], sizes[i][1]));
	if (fabs(m.params / p.params - 1.0) > 0.02)
		fail_msg("%s: %.3f B parameters counted, the card says %.3f B",
		         file, m.params / 1e9, p.params / 1e9);
	if (fabs(m.vision_params / p.vision_params - 1.0) > 0.05)
		fail_msg("%s: %.3f B vision parameters, the card %.3f B", file,
		         m.vision_params / 1e9, p.vision_params / 1e9);
}

static void test_qwen2_vl(void **state)
{
	(void)state;
	same_as_preset("qwen2-vl-7b-instruct.json", "qwen2-vl-7b", "qwen2_vl");
}

/* text_config leaves the Llama shape to LlamaConfig's defaults. */
static void test_llava(void **state)
{
	(void)state;
	same_as_preset("llava-1.5-7b-hf.json", "llava-1.5-7b", "llava");
}

static void test_smolvlm(void **state)
{
	(void)state;
	same_as_preset("smolvlm-instruct.json", "smolvlm-instruct", "idefics3");
}

static void refused(const char *json, const char *want)
{
	vgmo_vlm_model m;
	char err[512] = "";

	assert_int_not_equal(vgmo_model_load_string(json, strlen(json),
	                                            "cfg.json", &m, err,
	                                            sizeof(err)),
	                     VGMO_OK);
	if (strstr(err, want) == NULL)
		fail_msg("error '%s' lacks '%s'", err, want);
	assert_non_null(strstr(err, "cfg.json"));
}

static void test_broken(void **state)
{
	(void)state;
	refused("{\"model_type\": \"mllama\"}", "not a supported");
	refused("{\"model_type\": \"qwen2_vl\", \"hidden_size\": 8}",
	        "\"num_hidden_layers\": missing");
	refused("{\"model_type\": \"llava\", \"text_config\": {\"model_type\":"
	        " \"llama\", \"hidden_size\": -4}}",
	        "\"text_config.hidden_size\": must be an integer in "
	        "1..1000000");
	refused("{\"model_type\": \"llava\", \"text_config\": {\"model_type\":"
	        " \"llama\"}, \"vocab_size\": 32000}",
	        "\"vision_config\": missing");
	refused("{\"model_type\": \"llava\", \"text_config\": {\"model_type\":"
	        " \"llama\"}, \"vocab_size\": 32000, \"vision_config\": "
	        "{\"hidden_size\": 1024, \"intermediate_size\": 4096, "
	        "\"num_hidden_layers\": 24}}",
	        "\"vision_config.image_size\": missing");
	refused("{\"model_type\": 3}", "model_type");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_qwen2_vl),
	        cmocka_unit_test(test_llava),
	        cmocka_unit_test(test_smolvlm),
	        cmocka_unit_test(test_broken),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
