/*
 * test_engine_settings.c - vgmo_serving_plan_compute against cases worked
 * out by hand (the numbers in the comments), the daemon's status as the
 * live node, and the live answer on the simulated GPU when another process
 * takes memory.
 *
 * The hand model: 1e9 parameters (bf16: 2e9 bytes of weights), 10 layers,
 * 2 KV heads of 64 (KV 2 x 10 x 2 x 64 x 2 = 5120 B/token), hidden 512,
 * MLP 1024 (decoder activations 2 x (4 x 512 + 3 x 1024) = 10240 B/token),
 * vision 256 / 512, one patch per token (2 x (1024 + 1536) = 5120
 * B/token), vocab 1000 (logits 4000 B), 100 tokens per image. A request:
 * one image, 20 text and 80 output tokens; prompt 120, batched tokens 256.
 * A 16 GiB GPU (17179869184 B); margin 0.1 x total = 1717986918.4; share
 * floor(total - margin) = 15461882265; context 536870912, workspaces
 * 268435456.
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

#include "engine_internal.h"
#include "sim.h"
#include "util.h"

#define T16 UINT64_C(17179869184)

static vgmo_vlm_model hand_model(void)
{
	vgmo_vlm_model m;

	memset(&m, 0, sizeof(m));
	snprintf(m.name, sizeof(m.name), "hand");
	m.params = 1e9;
	m.vision_params = 1e8;
	m.layers = 10;
	m.hidden = 512;
	m.heads = 8;
	m.kv_heads = 2;
	m.head_dim = 64;
	m.intermediate = 1024;
	m.vocab = 1000;
	m.vision_hidden = 256;
	m.vision_intermediate = 512;
	m.patches_per_token = 1;
	m.image_rule = VGMO_IMAGE_FIXED;
	m.image_tokens = 100;
	return m;
}

static vgmo_serving_request hand_request(void)
{
	vgmo_serving_request r;

	vgmo_serving_request_init(&r);
	r.shape.images = 1;
	r.shape.text_tokens = 20;
	r.shape.output_tokens = 80;
	r.total_bytes = T16;
	return r;
}

static vgmo_serving_plan plan(vgmo_serving_engine e,
                              const vgmo_serving_request *r)
{
	vgmo_vlm_model m = hand_model();
	vgmo_serving_plan p;
	char err[512] = "";

	if (vgmo_serving_plan_compute(e, &m, r, NULL, &p, err, sizeof(err)) !=
	    VGMO_OK)
		fail_msg("%s", err);
	return p;
}

static const char *flag(const vgmo_serving_plan *p, const char *name)
{
	for (int i = 0; i < p->nflags; i++)
		if (strcmp(p->flags[i].name, name) == 0)
			return p->flags[i].value;
	fail_msg("no flag %s", name);
	return NULL;
}

/* vLLM: max_model_len 200 -> 208 (16-token blocks); per sequence KV
 * 5120 x 208 = 1064960 + logits 4000 = 1068960; base = weights 2e9 +
 * workspaces + activations max(10240 x 256, 5120 x 100) = 2621440 ->
 * 2271056896. u = floor((share - context) / total) = floor(0.86875) =
 * 0.86; sequences (0.86 x total - base) / 1068960 = 11697.0; pool =
 * 0.86 x total - base - 11697 x 4000 = 12456842602; 2432977 tokens;
 * 11697 at 208; the process holds 0.86 x total + context =
 * 15311558410. */
static void test_vllm_fills_the_share(void **state)
{
	vgmo_serving_request r = hand_request();
	vgmo_serving_plan p = plan(VGMO_SERVING_VLLM, &r);

	(void)state;
	assert_int_equal(p.share_bytes, UINT64_C(15461882265));
	assert_int_equal(p.max_model_len, 208);
	assert_int_equal(p.batched_tokens, 256);
	assert_int_equal(p.activation_bytes, 2621440);
	assert_int_equal(p.kv_bytes_per_seq, 1064960);
	assert_true(fabs(p.fraction[0] - 0.86) < 1e-9);
	assert_int_equal(p.max_seqs, 11697);
	assert_int_equal(p.kv_pool_bytes, UINT64_C(12456842602));
	assert_int_equal(p.kv_pool_tokens, 2432977);
	assert_int_equal(p.seqs_at_max_len, 11697);
	assert_int_equal(p.instance_bytes, UINT64_C(15311558410));
	assert_int_equal(p.headroom_bytes, INT64_C(1868310773));
	assert_string_equal(flag(&p, "--gpu-memory-utilization"), "0.86");
	assert_string_equal(flag(&p, "--max-model-len"), "208");
	assert_string_equal(flag(&p, "--max-num-seqs"), "11697");
	assert_string_equal(flag(&p, "--max-num-batched-tokens"), "256");
	assert_string_equal(flag(&p, "--limit-mm-per-prompt"),
	                    "{\"image\": 1}");
	/* A fixed-resolution model has no pixel cap to set. */
	for (int i = 0; i < p.nflags; i++)
		assert_string_not_equal(p.flags[i].name,
		                        "--mm-processor-kwargs");
}

/* --concurrency 100: base + 100 x 1068960 = 2377952896 = 0.1384 of the
 * GPU, rounded up to 0.14; its pool (0.14 x total - base - 100 x 4000 =
 * 133724789) holds 125 sequences. */
static void test_vllm_concurrency_takes_what_it_needs(void **state)
{
	vgmo_serving_request r = hand_request();
	vgmo_serving_plan p;

	(void)state;
	r.concurrency = 100;
	p = plan(VGMO_SERVING_VLLM, &r);
	assert_true(fabs(p.fraction[0] - 0.14) < 1e-9);
	assert_int_equal(p.max_seqs, 100);
	assert_int_equal(p.kv_pool_bytes, 133724789);
	assert_int_equal(p.seqs_at_max_len, 125);
}

/* Two instances: share floor((total - margin) / 2) = 7730941132;
 * u = floor((7730941132 - 536870912) / total) = floor(0.41875) = 0.41,
 * the same for both. */
static void test_vllm_two_instances(void **state)
{
	vgmo_serving_request r = hand_request();
	vgmo_serving_plan p;

	(void)state;
	r.instances = 2;
	p = plan(VGMO_SERVING_VLLM, &r);
	assert_int_equal(p.share_bytes, UINT64_C(7730941132));
	assert_true(fabs(p.fraction[0] - 0.41) < 1e-9);
	assert_true(fabs(p.fraction[1] - 0.41) < 1e-9);
	assert_true(2 * p.instance_bytes + p.margin_bytes <= T16);
}

/* 10 GiB free of 16 (another process holds 6): share 10737418240 -
 * margin = 9019431321; u = floor(8482560409 / total) = floor(0.49375) =
 * 0.49, and vLLM's start-up check (u x total <= free) holds. */
static void test_vllm_beside_another_process(void **state)
{
	vgmo_serving_request r = hand_request();
	vgmo_serving_plan p;

	(void)state;
	r.free_known = true;
	r.free_bytes = UINT64_C(10737418240);
	p = plan(VGMO_SERVING_VLLM, &r);
	assert_int_equal(p.share_bytes, UINT64_C(9019431321));
	assert_true(fabs(p.fraction[0] - 0.49) < 1e-9);
	assert_true(p.fraction[0] * (double)T16 <= (double)r.free_bytes);
}

/* SGLang: length 200, KV 1024000 a sequence, 1028000 with logits; n =
 * floor(12653954457 / 1028000) = 12309. Free at start less its context
 * 16642998272; (2e9 + 12309 x 1024000) / 16642998272 = 0.8775, rounded
 * up to 0.88 since the instance then holds context + weights + pool +
 * workspaces + activations = 15453766287 <= the share; pool 0.88 x
 * 16642998272 - 2e9 = 12645838479, 2469890 tokens, 12349 sequences of
 * 200. */
static void test_sglang(void **state)
{
	vgmo_serving_request r = hand_request();
	vgmo_serving_plan p = plan(VGMO_SERVING_SGLANG, &r);

	(void)state;
	assert_int_equal(p.max_model_len, 200);
	assert_true(fabs(p.fraction[0] - 0.88) < 1e-9);
	assert_int_equal(p.kv_pool_bytes, UINT64_C(12645838479));
	assert_int_equal(p.kv_pool_tokens, 2469890);
	assert_int_equal(p.max_seqs, 12309);
	assert_int_equal(p.seqs_at_max_len, 12349);
	assert_string_equal(flag(&p, "--mem-fraction-static"), "0.88");
	assert_string_equal(flag(&p, "--context-length"), "200");
	assert_string_equal(flag(&p, "--max-running-requests"), "12309");
	assert_string_equal(flag(&p, "--chunked-prefill-size"), "256");
}

/* Two SGLang instances: share 7730941132, n = floor((7730941132 -
 * 536870912 - 2271056896) / 1028000) = 4788; the first: free less context
 * 16642998272, (2e9 + 4788 x 1024000) / 16642998272 = 0.41476; 0.42
 * would hold 7797987082 > the share, so f1 = 0.41, pool 0.41 x 16642998272 -
 * 2e9 = 4823629291.52; it holds 536870912 + 2e9 + 4823629291.52 + 268435456 +
 * 2621440 = 7631557099.52, so the second finds 9011441172.48 free (its context
 * out), 6902912000 / 9011441172.48 = 0.76602; 0.77 would hold
 * 7746737511 > the share, so f2 = 0.76. */
static void test_sglang_second_instance_sees_the_first(void **state)
{
	vgmo_serving_request r = hand_request();
	vgmo_serving_plan p;

	(void)state;
	r.instances = 2;
	p = plan(VGMO_SERVING_SGLANG, &r);
	assert_true(fabs(p.fraction[0] - 0.41) < 1e-9);
	assert_true(fabs(p.fraction[1] - 0.76) < 1e-9);
	assert_int_equal(p.instance_bytes, UINT64_C(7631557099));
}

/* TGI: after warmup T - context - weights - workspaces - activations =
 * 14371941376 free; the pool wanted (12309 x 1024000 = 12604416000)
 * needs f = 1 - (14371941376 - 12604416000 / 0.9) / T = 0.97863, rounded
 * up to 0.98 (the instance then holds 15433437401 <= the share); pool
 * (14371941376 - 0.02 x T) x 0.9 = 12625509593, 2465919 tokens. */
static void test_tgi(void **state)
{
	vgmo_serving_request r = hand_request();
	vgmo_serving_plan p = plan(VGMO_SERVING_TGI, &r);

	(void)state;
	assert_true(fabs(p.fraction[0] - 0.98) < 1e-9);
	assert_int_equal(p.kv_pool_bytes, UINT64_C(12625509593));
	assert_int_equal(p.kv_pool_tokens, 2465919);
	assert_int_equal(p.max_seqs, 12309);
	assert_int_equal(p.instance_bytes, UINT64_C(15433437401));
	assert_string_equal(flag(&p, "--cuda-memory-fraction"), "0.98");
	assert_string_equal(flag(&p, "--max-input-tokens"), "120");
	assert_string_equal(flag(&p, "--max-total-tokens"), "200");
	assert_string_equal(flag(&p, "--max-batch-prefill-tokens"), "256");
	assert_string_equal(flag(&p, "--max-batch-total-tokens"), "2465919");
	assert_string_equal(flag(&p, "--max-batch-size"), "12309");
	assert_string_equal(flag(&p, "--max-concurrent-requests"), "24618");
}

/* transformers: a request costs KV 5120 x 200 = 1024000 + activations
 * max(10240 x 120, 5120 x 100) + 4000 = 1232800, 2256800 in all; batch =
 * floor((15461882265 - 536870912 - 2268435456) / 2256800) = 5608. */
static void test_transformers(void **state)
{
	vgmo_serving_request r = hand_request();
	vgmo_serving_plan p = plan(VGMO_SERVING_TRANSFORMERS, &r);

	(void)state;
	assert_int_equal(p.max_seqs, 5608);
	assert_string_equal(flag(&p, "batch_size"), "5608");
	assert_string_equal(flag(&p, "max_new_tokens"), "80");
}

/* Qwen2-VL's pixel cap: --max-pixels 1003520 is 1280 tokens of 28 x 28
 * (1280 x 784 = 1003520), passed to vLLM as mm_processor_kwargs. */
static void test_pixel_cap(void **state)
{
	vgmo_serving_request r = hand_request();
	vgmo_serving_plan p;
	vgmo_vlm_model m;
	char err[512];

	(void)state;
	assert_int_equal(vgmo_model_preset_find("qwen2-vl-7b", &m), VGMO_OK);
	r.max_pixels = 1003520;
	r.total_bytes = UINT64_C(85520809984);
	assert_int_equal(vgmo_serving_plan_compute(VGMO_SERVING_VLLM, &m, &r,
	                                           NULL, &p, err, sizeof(err)),
	                 VGMO_OK);
	assert_int_equal(p.image_tokens, 1280);
	assert_int_equal(p.max_pixels, 1003520);
	assert_string_equal(flag(&p, "--mm-processor-kwargs"),
	                    "{\"max_pixels\": 1003520}");
}

static void test_refusals(void **state)
{
	vgmo_serving_request r = hand_request();
	vgmo_vlm_model m = hand_model();
	vgmo_serving_plan p;
	char err[512];

	(void)state;
	/* 2 GiB: weights alone (2e9) leave no room after the margin. */
	r.total_bytes = UINT64_C(2147483648);
	assert_int_equal(vgmo_serving_plan_compute(VGMO_SERVING_VLLM, &m, &r,
	                                           NULL, &p, err, sizeof(err)),
	                 VGMO_ERR_INVALID);
	assert_non_null(strstr(err, "does not fit"));
	/* Less free than the margin. */
	r.total_bytes = T16;
	r.free_known = true;
	r.free_bytes = UINT64_C(1000000000);
	assert_int_equal(vgmo_serving_plan_compute(VGMO_SERVING_TGI, &m, &r,
	                                           NULL, &p, err, sizeof(err)),
	                 VGMO_ERR_INVALID);
	assert_non_null(strstr(err, "margin"));
	r.free_bytes = T16 + 1;
	assert_int_equal(vgmo_serving_plan_compute(VGMO_SERVING_TGI, &m, &r,
	                                           NULL, &p, err, sizeof(err)),
	                 VGMO_ERR_INVALID);
	/* A full GPU is a full GPU, not an unknown one. */
	r.free_bytes = 0;
	assert_int_equal(vgmo_serving_plan_compute(VGMO_SERVING_VLLM, &m, &r,
	                                           NULL, &p, err, sizeof(err)),
	                 VGMO_ERR_INVALID);
	assert_non_null(strstr(err, "margin"));
	r.free_known = false;
	r.instances = 0;
	assert_int_equal(vgmo_serving_plan_compute(VGMO_SERVING_SGLANG, &m, &r,
	                                           NULL, &p, err, sizeof(err)),
	                 VGMO_ERR_INVALID);
	assert_non_null(strstr(err, "instances"));
}

static void test_node_from_status(void **state)
{
	static const char ok[] =
	        "{\"gpus\":[{\"index\":0,\"name\":\"X\",\"up\":true,"
	        "\"memory_total_bytes\":1000,\"memory_used_bytes\":400,"
	        "\"memory_free_bytes\":600}],\"workers\":[{\"id\":0,\"gpu\":"
	        "0,\"name\":\"default\",\"budget_bytes\":5},{\"id\":3,\"gpu\":"
	        "0,\"name\":\"docs\",\"budget_bytes\":300},{\"id\":4,\"gpu\":"
	        "1,\"name\":\"other\",\"budget_bytes\":7}]}";
	static const char nofree[] =
	        "{\"gpus\":[{\"index\":0,\"up\":true,\"memory_total_bytes\":"
	        "1000,\"memory_free_bytes\":null}]}";
	static const char procs[] =
	        "{\"gpus\":[{\"index\":0,\"up\":true,\"memory_total_bytes\":"
	        "1000,\"memory_free_bytes\":200,\"processes\":[{\"pid\":7,"
	        "\"used_bytes\":700},{\"pid\":8,\"used_bytes\":null}]}]}";
	vgmo_serving_node n;
	char err[256];

	(void)state;
	assert_int_equal(vgmo_serving_node_from_status(ok, strlen(ok), 0, &n,
	                                               err, sizeof(err)),
	                 VGMO_OK);
	assert_int_equal(n.total_bytes, 1000);
	assert_int_equal(n.free_bytes, 600);
	assert_int_equal(n.clients, 1);
	assert_int_equal(n.client_budget_bytes, 300);
	assert_string_equal(n.client_names, "docs");
	assert_int_equal(n.processes, -1); /* not listed: unknown, not 0 */
	assert_int_equal(vgmo_serving_node_from_status(procs, strlen(procs), 0,
	                                               &n, err, sizeof(err)),
	                 VGMO_OK);
	assert_int_equal(n.processes, 2);
	assert_int_equal(n.process_bytes, 700);
	assert_int_equal(vgmo_serving_node_from_status(ok, strlen(ok), 2, &n,
	                                               err, sizeof(err)),
	                 VGMO_ERR_NOT_FOUND);
	assert_non_null(strstr(err, "--gpu 2"));
	assert_int_equal(vgmo_serving_node_from_status(nofree, strlen(nofree),
	                                               0, &n, err, sizeof(err)),
	                 VGMO_ERR_PARSE);
	assert_non_null(strstr(err, "memory_free_bytes"));
	assert_int_equal(
	        vgmo_serving_node_from_status("[", 1, 0, &n, err, sizeof(err)),
	        VGMO_ERR_PARSE);
}

/* The live path end to end on the simulated GPU: the daemon's status JSON
 * (as GET /v1/status renders it) -> node -> settings. Another process
 * taking 20 GiB lowers vLLM's fraction by 20 GiB of the GPU (to the
 * hundredth), and SGLang's pool by as much. */
static double live_fraction(vgmo_engine *e, vgmo_serving_engine which,
                            uint64_t *pool)
{
	vgmo_vlm_model m;
	vgmo_serving_request r;
	vgmo_serving_plan p;
	vgmo_serving_node n;
	vgmo_snapshot *s;
	char err[512], *json;

	assert_int_equal(vgmo_engine_sample(e), VGMO_OK);
	assert_int_equal(vgmo_engine_snapshot(e, &s), VGMO_OK);
	json = vgmo_snapshot_status_json(s, 0);
	assert_non_null(json);
	assert_int_equal(vgmo_serving_node_from_status(json, strlen(json), 0,
	                                               &n, err, sizeof(err)),
	                 VGMO_OK);
	free(json);
	vgmo_snapshot_free(s);
	assert_int_equal(vgmo_model_preset_find("qwen2-vl-7b", &m), VGMO_OK);
	vgmo_serving_request_init(&r);
	r.total_bytes = n.total_bytes;
	r.free_known = true;
	r.free_bytes = n.free_bytes;
	if (vgmo_serving_plan_compute(which, &m, &r, NULL, &p, err,
	                              sizeof(err)) != VGMO_OK)
		fail_msg("%s", err);
	*pool = p.kv_pool_bytes;
	return p.fraction[0];
}

static void test_live_answer_follows_other_processes(void **state)
{
	vgmo_config c;
	vgmo_engine_options o;
	vgmo_engine *e = NULL;
	uint64_t total, pool_before, pool_after, sg_before, sg_after;
	double before, after, taken = 20.0 * VGMO__GIB;

	(void)state;
	vgmo_config_defaults(&c);
	vgmo_engine_options_init(&o);
	o.backend = "sim";
	o.sim.workload = "none";
	assert_int_equal(vgmo_engine_create(&e, &c, &o, NULL, 0), VGMO_OK);
	total = vgmo__sim_total(vgmo__sim_of(e->ops, e->bctx), 0);
	before = live_fraction(e, VGMO_SERVING_VLLM, &pool_before);
	live_fraction(e, VGMO_SERVING_SGLANG, &sg_before);
	vgmo__sim_set_external(vgmo__sim_of(e->ops, e->bctx), 0,
	                       (uint64_t)taken);
	after = live_fraction(e, VGMO_SERVING_VLLM, &pool_after);
	live_fraction(e, VGMO_SERVING_SGLANG, &sg_after);
	assert_true(after < before);
	assert_true(fabs((before - after) - taken / (double)total) <= 0.011);
	assert_true(fabs((double)pool_before - (double)pool_after - taken) <
	            0.011 * (double)total);
	assert_true(fabs((double)sg_before - (double)sg_after - taken) <
	            0.011 * (double)total);
	/* The instance still fits beside the other process. */
	assert_true(after * (double)total <= (double)total - taken);
	vgmo_engine_destroy(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_vllm_fills_the_share),
	        cmocka_unit_test(test_vllm_concurrency_takes_what_it_needs),
	        cmocka_unit_test(test_vllm_two_instances),
	        cmocka_unit_test(test_vllm_beside_another_process),
	        cmocka_unit_test(test_sglang),
	        cmocka_unit_test(test_sglang_second_instance_sees_the_first),
	        cmocka_unit_test(test_tgi),
	        cmocka_unit_test(test_transformers),
	        cmocka_unit_test(test_pixel_cap),
	        cmocka_unit_test(test_refusals),
	        cmocka_unit_test(test_node_from_status),
	        cmocka_unit_test(test_live_answer_follows_other_processes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
