/*
 * test_timing.c - a tokens worker's batch time, learned from the seconds
 * it reports (lib/engine/timing.c), and the decisions it makes: where a
 * padded worker's queue is cut into batches, so that a short request does
 * not join a batch of a long prompt when padding it costs more time than
 * running it alone, unless the batch saves more by holding the long
 * requests after it (lib/engine/tokens.c).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "engine_internal.h"
#include "test_engine_util.h"
#include "timing.h"
#include "vlm_models.h"

/* A GPU's time for a padded batch: a launch, the prefill's compute over
 * the padded tokens and their square, and decode steps that read the
 * weights once for the batch and each sequence's cache. */
static double seconds_of(double n, double longest, double steps)
{
	double prompt = n * longest;

	return 0.05 + 0.005 * n + 6e-5 * prompt +
	       4e-10 * n * longest * longest +
	       steps * (0.015 + 1e-8 * prompt + 1e-4 * n);
}

static uint64_t next(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 33;
}

/* Before it has seen enough batches it does not decide; once it has, it
 * predicts batches it has not seen within a few per cent. */
static void test_learns_and_becomes_ready(void **state)
{
	vgmo__timing m;
	uint64_t s = 3;
	double t[VGMO__TIME_K];

	(void)state;
	memset(&m, 0, sizeof(m));
	for (int i = 0; i < 60; i++) {
		double n = 1 + (double)(next(&s) % 8);
		double len = 200 + (double)(next(&s) % 20000);
		double steps = 32 + (double)(next(&s) % 900);

		if (i == 10)
			assert_false(vgmo__timing_ready(&m));
		vgmo__timing_features(&(vgmo__timing_in){n, n * len,
		                                         n * len * len, steps,
		                                         0, 0},
		                      t);
		vgmo__timing_add(&m, t, seconds_of(n, len, steps));
	}
	assert_true(vgmo__timing_ready(&m));
	for (int i = 0; i < 50; i++) {
		double n = 1 + (double)(next(&s) % 8);
		double len = 200 + (double)(next(&s) % 20000);
		double steps = 32 + (double)(next(&s) % 900);
		double want = seconds_of(n, len, steps), got;

		vgmo__timing_features(&(vgmo__timing_in){n, n * len,
		                                         n * len * len, steps,
		                                         0, 0},
		                      t);
		got = vgmo__timing_seconds(&m, t);
		if (fabs(got / want - 1) > 0.05)
			fail_msg("predicted %.3f s, took %.3f s", got, want);
	}
	/* Nonsense is not learned. */
	t[2] = -1;
	vgmo__timing_add(&m, t, 1.0);
	t[2] = 100;
	vgmo__timing_add(&m, t, NAN);
	assert_int_equal(m.n, 60);
}

/* Times no linear cost explains (each batch a coin toss between 1 s and
 * 30 s) never make it ready: it would decide on noise. */
static void test_noise_is_not_ready(void **state)
{
	vgmo__timing m;
	uint64_t s = 5;
	double t[VGMO__TIME_K];

	(void)state;
	memset(&m, 0, sizeof(m));
	for (int i = 0; i < 200; i++) {
		vgmo__timing_in in = {.requests = 1 + (double)(next(&s) % 8),
		                      .prompt = 1000,
		                      .quad = 1e6,
		                      .steps = 100};

		vgmo__timing_features(&in, t);
		vgmo__timing_add(&m, t, next(&s) % 2 ? 1.0 : 30.0);
	}
	assert_false(vgmo__timing_ready(&m));
}

/* Batches of text requests reported at the planner's estimate of their
 * memory (nothing to unlearn) and at seconds_of's time. */
static void report(vgmo_engine *e, int id, uint64_t *s, bool packed)
{
	vgmo_request_shape b[4];
	vgmo__batch_shape shape = {0};
	vgmo_vlm_model m;
	vgmo_report rep = {0};
	double fixed, longest = 0, steps = 0, sum = 0;
	size_t n = 1 + next(s) % 4;

	assert_int_equal(vgmo_engine_worker_model(e, id, &m), VGMO_OK);
	for (size_t i = 0; i < n; i++) {
		b[i] = (vgmo_request_shape){
		        .text_tokens = 100 + (uint32_t)(next(s) % 12000),
		        .output_tokens = 32 + (uint32_t)(next(s) % 400)};
		longest = fmax(longest, b[i].text_tokens);
		steps = fmax(steps, b[i].output_tokens);
		sum += b[i].text_tokens;
	}
	shape.text_tokens = packed ? sum : longest * (double)n;
	shape.output_tokens = steps * (double)n;
	shape.requests = (double)n;
	fixed = vgmo__estimate_fixed(&m, VGMO_DTYPE_BF16);
	rep.items = (uint32_t)n;
	rep.peak_bytes =
	        (uint64_t)(fixed +
	                   vgmo__estimate_batch(&m, VGMO_DTYPE_BF16, &shape));
	rep.allocated_bytes = (uint64_t)fixed;
	rep.seconds = seconds_of((double)n, longest, steps);
	assert_int_equal(vgmo_engine_report_batch(e, id, &rep, b, n, NULL),
	                 VGMO_OK);
}

/* A padded worker whose time is learned: a short question after a long
 * document waits for its own batch (padding it to the document's length
 * would cost the document's prefill again); two short ones batch; two
 * long ones batch. A packed worker pads nothing: it batches them all. */
static void test_padding_dearer_than_alone(void **state)
{
	vgmo_request_shape longdoc = {.text_tokens = 30000,
	                              .output_tokens = 64};
	vgmo_request_shape shortq = {.text_tokens = 200, .output_tokens = 64};
	vgmo_request_shape q[2];
	vgmo_batch_plan p;
	vgmo_engine *e;
	uint64_t s = 9;
	int id;

	(void)state;
	e = make_tokens_worker(&id, "qwen2-vl-7b", VGMO_PADDING_PADDED);
	for (int i = 0; i < 40; i++)
		report(e, id, &s, false);
	assert_true(vgmo__timing_ready(&vgmo__worker_get(e, id)->timing));
	q[0] = longdoc;
	q[1] = shortq;
	assert_int_equal(vgmo_engine_plan_batch(e, id, q, 2, &p), VGMO_OK);
	assert_int_equal(p.take, 1);
	q[0] = shortq;
	assert_int_equal(vgmo_engine_plan_batch(e, id, q, 2, &p), VGMO_OK);
	assert_int_equal(p.take, 2);
	q[0] = q[1] = longdoc;
	q[1].text_tokens -= 100;
	assert_int_equal(vgmo_engine_plan_batch(e, id, q, 2, &p), VGMO_OK);
	assert_int_equal(p.take, 2);
	vgmo_engine_destroy(e);

	e = make_tokens_worker(&id, "qwen2-vl-7b", VGMO_PADDING_PACKED);
	for (int i = 0; i < 40; i++)
		report(e, id, &s, true);
	q[0] = longdoc;
	q[1] = shortq;
	assert_int_equal(vgmo_engine_plan_batch(e, id, q, 2, &p), VGMO_OK);
	assert_int_equal(p.take, 2);
	vgmo_engine_destroy(e);
}

/* The predicted seconds of n text requests padded to `longest` tokens. */
static double padded_text(const vgmo__timing *m, double n, double longest,
                          double steps)
{
	double t[VGMO__TIME_K];

	vgmo__timing_features(&(vgmo__timing_in){.requests = n,
	                                         .prompt = n * longest,
	                                         .quad = n * longest * longest,
	                                         .steps = steps},
	                      t);
	return vgmo__timing_seconds(m, t);
}

/* Cut where the queue is served soonest, not where the first request
 * would be dearer padded than alone: a short question between two long
 * documents with long answers joins them (the two documents share their
 * decode, which saves more than padding the question costs), although
 * after the first document alone it would wait. */
static void test_cuts_for_the_whole_queue(void **state)
{
	vgmo_request_shape longdoc = {.text_tokens = 30000,
	                              .output_tokens = 400};
	vgmo_request_shape shortq = {.text_tokens = 200, .output_tokens = 64};
	vgmo_request_shape q[3] = {longdoc, shortq, longdoc};
	vgmo__worker *w;
	vgmo_batch_plan p;
	vgmo_engine *e;
	uint64_t s = 11;
	double one, two, three;
	int id;

	(void)state;
	e = make_tokens_worker(&id, "qwen2-vl-7b", VGMO_PADDING_PADDED);
	for (int i = 0; i < 60; i++)
		report(e, id, &s, false);
	w = vgmo__worker_get(e, id);
	assert_true(vgmo__timing_ready(&w->timing));
	/* What the model believes, as seconds_of has it: the question
	 * costs more padded than alone, the three together less than
	 * apart. */
	one = padded_text(&w->timing, 1, 30000, 400);
	two = padded_text(&w->timing, 2, 30000, 400);
	three = padded_text(&w->timing, 3, 30000, 400);
	assert_true(two - one > seconds_of(1, 200, 64));
	assert_true(three < 2 * one + seconds_of(1, 200, 64));
	assert_int_equal(vgmo_engine_plan_batch(e, id, q, 2, &p), VGMO_OK);
	assert_int_equal(p.take, 1);
	assert_int_equal(vgmo_engine_plan_batch(e, id, q, 3, &p), VGMO_OK);
	assert_int_equal(p.take, 3);
	vgmo_engine_destroy(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_learns_and_becomes_ready),
	        cmocka_unit_test(test_noise_is_not_ready),
	        cmocka_unit_test(test_padding_dearer_than_alone),
	        cmocka_unit_test(test_cuts_for_the_whole_queue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
