/*
 * test_tokens.c - a tokens worker on the simulated GPU (lib/engine/tokens.c):
 * the next batch climbs from one request by at most CLIMB times what ran, a
 * request alone is refused only when even its point estimate (no margin)
 * does not fit, and "never" means it would not fit the whole GPU.
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
#include "sim.h"
#include "util.h"
#include "vlm_models.h"

static vgmo_engine *make_with(int *id, const char *model)
{
	return make_tokens_worker(id, model, VGMO_PADDING_PADDED);
}

static vgmo_engine *make_qwen(int *id)
{
	return make_with(id, "qwen2-vl-7b");
}

/* A batch of `n` requests of `r`'s shape, reported at the planner's
 * estimate (what the prior expects: nothing to unlearn). */
static void ran(vgmo_engine *e, int id, const vgmo_request_shape *r, size_t n)
{
	vgmo_request_shape batch[64];
	vgmo__batch_shape shape = {0};
	vgmo_vlm_model m;
	vgmo_report rep = {0};
	double fixed, peak;

	assert_true(n <= 64);
	assert_int_equal(vgmo_engine_worker_model(e, id, &m), VGMO_OK);
	for (size_t i = 0; i < n; i++)
		batch[i] = *r;
	shape.image_tokens = (double)r->image_tokens * n;
	shape.text_tokens = (double)r->text_tokens * n;
	shape.output_tokens = (double)r->output_tokens * n;
	shape.requests = (double)n;
	fixed = vgmo__estimate_fixed(&m, VGMO_DTYPE_BF16);
	peak = fixed + vgmo__estimate_batch(&m, VGMO_DTYPE_BF16, &shape);
	rep.items = (uint32_t)n;
	rep.peak_bytes = (uint64_t)peak;
	rep.allocated_bytes = (uint64_t)fixed;
	rep.reserved_bytes = (uint64_t)peak;
	rep.seconds = 1.0;
	assert_int_equal(vgmo_engine_report_batch(e, id, &rep, batch, n, NULL),
	                 VGMO_OK);
}

/* Small requests, room for far more than max_batch_size of them: the
 * first batch is one request, and each next at most twice what ran. */
static void test_climb_doubles_at_most(void **state)
{
	vgmo_request_shape q[64], r = {.images = 1,
	                               .image_tokens = 256,
	                               .text_tokens = 40,
	                               .output_tokens = 64};
	static const size_t want[] = {1, 2, 4, 8, 16, 32, 64, 64};
	vgmo_batch_plan p;
	vgmo_engine *e;
	int id;

	(void)state;
	e = make_qwen(&id);
	for (size_t i = 0; i < 64; i++)
		q[i] = r;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(vgmo_engine_plan_batch(e, id, q, 64, &p),
		                 VGMO_OK);
		assert_int_equal(p.head.verdict, VGMO_FIT_OK);
		if (p.take != want[i])
			fail_msg("batch %zu: %zu requests, want %zu", i, p.take,
			         want[i]);
		ran(e, id, &r, p.take);
	}
	vgmo_engine_destroy(e);
}

/* The verdict for a text-only request of `text` prompt tokens. */
static vgmo_fit_verdict fit(vgmo_engine *e, int id, uint32_t text,
                            vgmo_fit *out)
{
	vgmo_request_shape r = {.text_tokens = text, .output_tokens = 16};

	assert_int_equal(vgmo_engine_fit(e, id, &r, out), VGMO_OK);
	return out->verdict;
}

/* The largest prompt whose verdict is at most `v` (OK < NOT_NOW <
 * NEVER), by bisection. */
static uint32_t largest(vgmo_engine *e, int id, vgmo_fit_verdict v)
{
	uint32_t lo = 1, hi = 100000000;
	vgmo_fit f;

	assert_true(fit(e, id, lo, &f) <= v);
	assert_true(fit(e, id, hi, &f) > v);
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (fit(e, id, mid, &f) <= v)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* Alone, a request fits with the strategy's margin; past it, while its
 * best guess still fits, it is in doubt: refused ("not now", with what
 * would fit), and a question (fit) changes nothing. Once a worker has had
 * three refused in doubt in its plans since a batch last ran, the next
 * runs, to teach the model rather than starve the worker; a batch that
 * ran starts the count again. */
static void test_alone_in_doubt_refused_then_tried(void **state)
{
	vgmo_request_shape small = {.text_tokens = 100, .output_tokens = 16};
	vgmo_request_shape big = {.output_tokens = 16};
	vgmo_batch_plan p;
	vgmo_engine *e;
	vgmo_fit f;
	uint32_t n;
	int id;

	(void)state;
	e = make_qwen(&id);
	n = largest(e, id, VGMO_FIT_OK);
	assert_int_equal(fit(e, id, n, &f), VGMO_FIT_OK);
	assert_true(f.need_bytes <= f.room_bytes);
	assert_int_equal(f.max_prompt_tokens, n);
	big.text_tokens = n + n / 50;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(fit(e, id, big.text_tokens, &f),
		                 VGMO_FIT_NOT_NOW);
		assert_true(strncmp(f.reason, "in doubt", 8) == 0);
		assert_true(f.need_bytes > f.room_bytes);
	}
	for (int round = 0; round < 2; round++) {
		/* What ran taught the model: in doubt is a little further. */
		big.text_tokens = largest(e, id, VGMO_FIT_OK);
		big.text_tokens += big.text_tokens / 50;
		assert_int_equal(fit(e, id, big.text_tokens, &f),
		                 VGMO_FIT_NOT_NOW);
		for (int i = 0; i < 3; i++) {
			assert_int_equal(
			        vgmo_engine_plan_batch(e, id, &big, 1, &p),
			        VGMO_OK);
			assert_int_equal(p.take, 0);
			assert_int_equal(p.head.verdict, VGMO_FIT_NOT_NOW);
		}
		assert_int_equal(vgmo_engine_plan_batch(e, id, &big, 1, &p),
		                 VGMO_OK);
		assert_int_equal(p.take, 1);
		assert_true(strncmp(p.head.reason, "in doubt, run", 13) == 0);
		ran(e, id, &small, 1);
	}
	vgmo_engine_destroy(e);
}

/* In doubt is a band: a request that fits the model's best guess but
 * not a little above it (at DOUBT_Z of its error band) is at the very
 * edge of the room; it is not now, and never runs to learn, however many
 * are refused before it. */
static void test_the_edge_is_not_in_doubt(void **state)
{
	vgmo_request_shape edge = {.output_tokens = 16};
	vgmo_batch_plan p;
	vgmo_engine *e;
	vgmo_fit f;
	double point, x[VGMO__COST_MAX] = {0};
	vgmo__need_in in;
	uint32_t lo, hi;
	int id;

	(void)state;
	e = make_qwen(&id);
	/* The largest prompt in doubt, then past it while the best guess
	 * still fits. */
	lo = largest(e, id, VGMO_FIT_OK);
	hi = largest(e, id, VGMO_FIT_NOT_NOW);
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		fit(e, id, mid, &f);
		if (strncmp(f.reason, "in doubt", 8) == 0 ||
		    f.verdict == VGMO_FIT_OK)
			lo = mid;
		else
			hi = mid;
	}
	edge.text_tokens = hi;
	assert_int_equal(fit(e, id, hi, &f), VGMO_FIT_NOT_NOW);
	assert_true(strncmp(f.reason, "not now: ", 9) == 0);
	/* Its best guess (a padded request alone: the features by hand). */
	x[VGMO__X_ONE] = x[VGMO__X_REQUESTS] = 1;
	x[VGMO__X_PROMPT] = hi;
	x[VGMO__X_QUAD] = (double)hi * hi;
	x[VGMO__X_OUTPUT] = edge.output_tokens;
	vgmo__worker_need_in(e, vgmo__worker_get(e, id), &in, NULL);
	point = vgmo__need_point(&in, x);
	if (!(point <= (double)f.room_bytes))
		fail_msg("%u tokens: best guess %.0f past the room %llu", hi,
		         point, (unsigned long long)f.room_bytes);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(vgmo_engine_plan_batch(e, id, &edge, 1, &p),
		                 VGMO_OK);
		assert_int_equal(p.take, 0);
	}
	vgmo_engine_destroy(e);
}

/* "Never" is for a request whose point estimate does not fit the whole
 * GPU; one that would fit it, were the other memory free, is "not now",
 * even when its need with the margin is past the GPU's total. */
static void test_never_is_past_the_whole_gpu(void **state)
{
	vgmo_engine *e;
	vgmo_fit f;
	uint32_t now, ever;
	int id;

	(void)state;
	e = make_qwen(&id);
	now = largest(e, id, VGMO_FIT_OK);
	/* Another process takes half the GPU: less fits now, as much ever. */
	vgmo__sim_set_external(vgmo__sim_of(e->ops, e->bctx), 0,
	                       e->samples[0].memory_total / 2);
	assert_int_equal(vgmo_engine_sample(e), VGMO_OK);
	assert_true(largest(e, id, VGMO_FIT_OK) < now * 0.7);
	ever = largest(e, id, VGMO_FIT_NOT_NOW);
	assert_int_equal(fit(e, id, ever, &f), VGMO_FIT_NOT_NOW);
	if (!(f.need_bytes > e->samples[0].memory_total))
		fail_msg("%u tokens: need %llu <= the GPU's %llu", ever,
		         (unsigned long long)f.need_bytes,
		         (unsigned long long)e->samples[0].memory_total);
	assert_int_equal(fit(e, id, ever + 1, &f), VGMO_FIT_NEVER);
	assert_non_null(strstr(f.reason, "never fits"));
	vgmo_engine_destroy(e);
}

/* The pixels per image that give the image tokens that fit, by the
 * model's own rule; none for a model whose image count is fixed. */
static void test_max_pixels_by_the_models_rule(void **state)
{
	vgmo_request_shape r = {.images = 2,
	                        .image_tokens = 2000,
	                        .text_tokens = 100,
	                        .output_tokens = 16};
	vgmo_vlm_model m;
	vgmo_engine *e;
	vgmo_fit f;
	double per, tiles;
	int id;

	(void)state;
	e = make_with(&id, "qwen2-vl-7b");
	assert_int_equal(vgmo_engine_fit(e, id, &r, &f), VGMO_OK);
	assert_int_equal(vgmo_engine_worker_model(e, id, &m), VGMO_OK);
	assert_int_equal(f.max_image_tokens, f.max_prompt_tokens - 100);
	per = floor((double)f.max_image_tokens / 2);
	assert_true(f.max_pixels == (uint64_t)(per * m.factor * m.factor));
	vgmo_engine_destroy(e);

	e = make_with(&id, "internvl2-8b"); /* tiles, a thumbnail past 2 */
	assert_int_equal(vgmo_engine_fit(e, id, &r, &f), VGMO_OK);
	assert_int_equal(vgmo_engine_worker_model(e, id, &m), VGMO_OK);
	tiles = floor(floor((double)f.max_image_tokens / 2) /
	              m.tokens_per_tile);
	assert_true(tiles > 2);
	assert_true(f.max_pixels == (uint64_t)((tiles - 1) * m.tile * m.tile));
	vgmo_engine_destroy(e);

	e = make_with(&id, "llava-1.5-7b"); /* a fixed count */
	assert_int_equal(vgmo_engine_fit(e, id, &r, &f), VGMO_OK);
	assert_true(f.max_prompt_tokens > 0);
	assert_true(f.max_pixels == 0);
	vgmo_engine_destroy(e);
}

/* An items worker is asked the same questions: one item, whatever its
 * shape, and its batch size from the head of the queue. */
static void test_items_worker_and_bad_calls(void **state)
{
	vgmo_request_shape q[8] = {{.text_tokens = 100, .output_tokens = 16}};
	vgmo_report rep = {.items = 2, .peak_bytes = 1};
	vgmo_config c;
	vgmo_engine_options o;
	vgmo_engine *e = NULL;
	vgmo_batch_plan p;
	vgmo_vlm_model m;
	vgmo_fit f;
	int id;

	(void)state;
	vgmo_config_defaults(&c);
	vgmo_engine_options_init(&o);
	o.backend = "sim";
	o.sim.workload = "none";
	assert_int_equal(vgmo_engine_create(&e, &c, &o, NULL, 0), VGMO_OK);
	assert_int_equal(vgmo_engine_worker_add(e, "w", 0, 1.0, &id), VGMO_OK);
	assert_int_equal(vgmo_engine_sample(e), VGMO_OK);
	assert_int_equal(vgmo_engine_fit(e, id, &q[0], &f), VGMO_OK);
	assert_int_equal(f.verdict, VGMO_FIT_OK);
	assert_true(f.max_prompt_tokens == 0); /* it counts items */
	assert_int_equal(vgmo_engine_set_batch_size(e, id, 3, NULL, 0),
	                 VGMO_OK);
	assert_int_equal(vgmo_engine_plan_batch(e, id, q, 8, &p), VGMO_OK);
	assert_int_equal(p.take, 3);
	assert_true(p.need_bytes > 0 && p.need_bytes < p.room_bytes);
	assert_int_equal(vgmo_engine_plan_batch(e, id, q, 2, &p), VGMO_OK);
	assert_int_equal(p.take, 2);
	assert_int_equal(vgmo_engine_plan_batch(e, id, q, 0, &p), VGMO_OK);
	assert_int_equal(p.take, 0);
	/* What an items worker cannot be asked. */
	assert_int_equal(vgmo_engine_worker_model(e, id, &m), VGMO_ERR_STATE);
	assert_int_equal(vgmo_engine_report_batch(e, id, &rep, q, 2, NULL),
	                 VGMO_ERR_STATE);
	/* Calls that are wrong whoever makes them. */
	assert_int_equal(vgmo_engine_fit(e, 99, &q[0], &f), VGMO_ERR_NOT_FOUND);
	assert_int_equal(vgmo_engine_fit(e, id, NULL, &f), VGMO_ERR_INVALID);
	assert_int_equal(vgmo_engine_plan_batch(e, 99, q, 1, &p),
	                 VGMO_ERR_NOT_FOUND);
	assert_int_equal(vgmo_engine_plan_batch(e, id, NULL, 1, &p),
	                 VGMO_ERR_INVALID);
	assert_int_equal(vgmo_engine_worker_model(e, 99, &m),
	                 VGMO_ERR_NOT_FOUND);
	assert_int_equal(vgmo_engine_report_batch(e, id, &rep, q, 3, NULL),
	                 VGMO_ERR_INVALID); /* 2 items, 3 shapes */
	assert_int_equal(vgmo_engine_report_batch(e, 99, &rep, q, 2, NULL),
	                 VGMO_ERR_NOT_FOUND);
	vgmo_engine_destroy(e);
}

/* A request at least as large, feature by feature, as a batch that ran
 * out of memory with as much room as now is refused, whatever the model
 * predicts for it: it would fail too. A smaller one still runs. */
static void test_doomed_by_an_oom(void **state)
{
	vgmo_request_shape small = {.text_tokens = 1000, .output_tokens = 16};
	vgmo_request_shape big = {.text_tokens = 4000, .output_tokens = 16};
	vgmo_request_shape bigger = {.text_tokens = 4100, .output_tokens = 32};
	vgmo_report rep = {0};
	vgmo_engine *e;
	vgmo_fit f;
	int id;

	(void)state;
	e = make_qwen(&id);
	/* Batches of all sizes up to twice the small one: a model that
	 * one OOM does not overturn. */
	for (int i = 0; i < 200; i++) {
		vgmo_request_shape r = small;

		r.text_tokens = 200 + (uint32_t)(i % 10) * 200;
		ran(e, id, &r, 1 + (size_t)(i % 3));
	}
	assert_int_equal(vgmo_engine_fit(e, id, &big, &f), VGMO_OK);
	assert_int_equal(f.verdict, VGMO_FIT_OK);
	/* Another process spiked while it ran: out of memory. */
	rep.items = 1;
	rep.oom = true;
	assert_int_equal(vgmo_engine_report_batch(e, id, &rep, &big, 1, NULL),
	                 VGMO_OK);
	assert_int_equal(vgmo_engine_fit(e, id, &big, &f), VGMO_OK);
	/* It, and anything larger, is not run now. */
	assert_int_equal(f.verdict, VGMO_FIT_NOT_NOW);
	assert_int_equal(vgmo_engine_fit(e, id, &bigger, &f), VGMO_OK);
	assert_int_equal(f.verdict, VGMO_FIT_NOT_NOW);
	assert_int_equal(vgmo_engine_fit(e, id, &small, &f), VGMO_OK);
	assert_int_equal(f.verdict, VGMO_FIT_OK);
	/* Even when the worker has had its tries in doubt: what failed in
	 * this room is not tried again. */
	vgmo__worker_get(e, id)->doubts = 100;
	assert_int_equal(vgmo_engine_fit(e, id, &big, &f), VGMO_OK);
	assert_int_equal(f.verdict, VGMO_FIT_NOT_NOW);
	assert_int_equal(vgmo_engine_fit(e, id, &bigger, &f), VGMO_OK);
	assert_int_equal(f.verdict, VGMO_FIT_NOT_NOW);
	vgmo_engine_destroy(e);
}

/* An OOM of a batch no larger than one that ran in as much room says the
 * room shrank (another process took memory after the sample), not that
 * the batch costs more: the cost model is left as it was. An OOM of a
 * larger batch teaches it. */
static void test_oom_of_a_vouched_batch_teaches_no_cost(void **state)
{
	vgmo_request_shape r = {.text_tokens = 2000, .output_tokens = 16};
	vgmo_request_shape big = {.text_tokens = 8000, .output_tokens = 16};
	vgmo_report rep = {.items = 1, .oom = true};
	vgmo_engine *e;
	vgmo_fit before, after;
	int id;

	(void)state;
	e = make_qwen(&id);
	for (int i = 0; i < 20; i++)
		ran(e, id, &r, 2);
	assert_int_equal(vgmo_engine_fit(e, id, &r, &before), VGMO_OK);
	assert_int_equal(vgmo_engine_report_batch(e, id, &rep, &r, 1, NULL),
	                 VGMO_OK);
	assert_int_equal(vgmo_engine_fit(e, id, &r, &after), VGMO_OK);
	assert_true(after.need_bytes == before.need_bytes);
	assert_int_equal(vgmo_engine_fit(e, id, &big, &before), VGMO_OK);
	assert_int_equal(vgmo_engine_report_batch(e, id, &rep, &big, 1, NULL),
	                 VGMO_OK);
	assert_int_equal(vgmo_engine_fit(e, id, &big, &after), VGMO_OK);
	assert_true(after.need_bytes > before.need_bytes);
	vgmo_engine_destroy(e);
}

/* A batch that ran vouches for any request no larger only while its peak
 * still fits, with 1 % to spare: once another process took the room it had
 * (the worker now holds less, after a small batch), the same request
 * waits. */
static void test_what_ran_vouches_only_in_its_room(void **state)
{
	vgmo_request_shape r = {.text_tokens = 20000, .output_tokens = 16};
	vgmo_request_shape small = {.text_tokens = 100, .output_tokens = 16};
	vgmo_engine *e;
	vgmo_fit f;
	uint64_t peak;
	int id;

	(void)state;
	e = make_qwen(&id);
	ran(e, id, &r, 1);
	peak = e->workers[id]->last_reserved;
	ran(e, id, &small, 1); /* its allocator now holds less */
	assert_true(e->workers[id]->last_reserved < peak);
	assert_int_equal(vgmo_engine_fit(e, id, &r, &f), VGMO_OK);
	assert_int_equal(f.verdict, VGMO_FIT_OK);
	/* Another process leaves less room than the large batch's peak,
	 * more than the worker holds now. */
	vgmo__sim_set_external(vgmo__sim_of(e->ops, e->bctx), 0,
	                       e->samples[0].memory_total -
	                               (peak + e->workers[id]->last_reserved) /
	                                       2);
	assert_int_equal(vgmo_engine_sample(e), VGMO_OK);
	assert_int_equal(vgmo_engine_fit(e, id, &r, &f), VGMO_OK);
	assert_true(f.room_bytes < peak);
	assert_int_equal(f.verdict, VGMO_FIT_NOT_NOW);
	/* Room for the peak with half a per cent to spare: the same request
	 * needs more as the cache fragments, so it is not vouched for. */
	{
		uint64_t total = e->samples[0].memory_total;
		uint64_t other =
		        total - (peak + e->workers[id]->last_reserved) / 2;
		uint64_t lost = total - other - f.room_bytes;

		vgmo__sim_set_external(vgmo__sim_of(e->ops, e->bctx), 0,
		                       total - lost - peak - peak / 200);
	}
	assert_int_equal(vgmo_engine_sample(e), VGMO_OK);
	assert_int_equal(vgmo_engine_fit(e, id, &r, &f), VGMO_OK);
	assert_true(f.room_bytes > peak && f.room_bytes < peak + peak / 100);
	assert_int_equal(f.verdict, VGMO_FIT_NOT_NOW);
	vgmo_engine_destroy(e);
}

/* Once small requests ran, a batch stops before a request that would
 * take its predicted cost past CLIMB_COST (2.5) times the largest that
 * ran, though the memory would hold it: a cost the small ones could not
 * show (a square, a mask) may dominate there. The big one then runs with
 * the head alone, its own step. */
static void test_climb_in_cost(void **state)
{
	vgmo_request_shape small = {.images = 1,
	                            .image_tokens = 256,
	                            .text_tokens = 40,
	                            .output_tokens = 64},
	                   big = {.images = 1,
	                          .image_tokens = 4096,
	                          .text_tokens = 40,
	                          .output_tokens = 64},
	                   q[2];
	vgmo_batch_plan p;
	vgmo_engine *e;
	int id;

	(void)state;
	e = make_qwen(&id);
	for (int i = 0; i < 4; i++)
		ran(e, id, &small, 2);
	q[0] = small;
	q[1] = big;
	assert_int_equal(vgmo_engine_plan_batch(e, id, q, 2, &p), VGMO_OK);
	assert_int_equal(p.head.verdict, VGMO_FIT_OK);
	assert_int_equal(p.take, 1);
	/* Twice the small requests that ran: no more than twice the cost. */
	q[1] = small;
	assert_int_equal(vgmo_engine_plan_batch(e, id, q, 2, &p), VGMO_OK);
	assert_int_equal(p.take, 2);
	vgmo_engine_destroy(e);
}

/* Declared attention prices what it builds over L x L: with an eager
 * decoder a long prompt's heads x L x L scores, with an eager encoder
 * over the whole batch the square of its patches, before any report. The
 * bisection's answer matches the declared square: at most the room over
 * the bytes per pair, for one request alone. */
static void test_declared_attention_prices_the_square(void **state)
{
	vgmo_request_shape photo = {.images = 1,
	                            .image_tokens = 6000,
	                            .text_tokens = 50,
	                            .output_tokens = 16};
	vgmo_vlm_model m;
	vgmo__phase_prior pp;
	vgmo_engine *e;
	vgmo_fit f;
	uint32_t fused, eager;
	double total;
	int id;

	(void)state;
	e = make_qwen(&id);
	total = (double)e->samples[0].memory_total;
	fused = largest(e, id, VGMO_FIT_OK);
	assert_int_equal(vgmo_engine_fit(e, id, &photo, &f), VGMO_OK);
	assert_int_equal(f.verdict, VGMO_FIT_OK);
	assert_int_equal(vgmo_engine_declare_worker(e, id, VGMO_ATTENTION_EAGER,
	                                            VGMO_ATTENTION_UNKNOWN,
	                                            VGMO_LOGITS_UNKNOWN),
	                 VGMO_OK);
	eager = largest(e, id, VGMO_FIT_OK);
	assert_int_equal(vgmo_engine_worker_model(e, id, &m), VGMO_OK);
	vgmo__plan_phase_prior(&m, VGMO_DTYPE_BF16, VGMO_ATTENTION_EAGER,
	                       VGMO_ATTENTION_UNKNOWN, VGMO_LOGITS_LAST, &pp);
	assert_true(pp.prefill_quad == m.heads * 6.0 + 2.0);
	if (!(eager < fused / 3 &&
	      (double)eager * eager * pp.prefill_quad < total))
		fail_msg("eager %u, fused %u tokens", eager, fused);
	/* The encoder is still fused: the photo fits. */
	assert_int_equal(vgmo_engine_fit(e, id, &photo, &f), VGMO_OK);
	assert_int_equal(f.verdict, VGMO_FIT_OK);
	assert_int_equal(vgmo_engine_declare_worker(e, id, VGMO_ATTENTION_FLASH,
	                                            VGMO_ATTENTION_EAGER,
	                                            VGMO_LOGITS_UNKNOWN),
	                 VGMO_OK);
	assert_int_equal(largest(e, id, VGMO_FIT_OK), fused);
	assert_int_equal(vgmo_engine_fit(e, id, &photo, &f), VGMO_OK);
	assert_int_equal(f.verdict, VGMO_FIT_NEVER);
	vgmo__plan_phase_prior(&m, VGMO_DTYPE_BF16, VGMO_ATTENTION_FLASH,
	                       VGMO_ATTENTION_SDPA, VGMO_LOGITS_LAST, &pp);
	assert_true(pp.prefill_quad == 0 && pp.vision_image2 > 0);
	/* A tiled encoder attends within a tile: linear in the image. */
	assert_int_equal(vgmo_model_preset_find("internvl2-8b", &m), VGMO_OK);
	vgmo__plan_phase_prior(&m, VGMO_DTYPE_BF16, VGMO_ATTENTION_SDPA,
	                       VGMO_ATTENTION_EAGER, VGMO_LOGITS_LAST, &pp);
	assert_true(pp.vision_image2 == 0 && pp.prefill_quad == 1.0);
	assert_true(pp.vision_image > vgmo__act_vision_token(&m));
	/* Out of range, or once the worker reported: refused. */
	assert_int_equal(vgmo_engine_declare_worker(e, id, (vgmo_attention)9,
	                                            VGMO_ATTENTION_UNKNOWN,
	                                            VGMO_LOGITS_UNKNOWN),
	                 VGMO_ERR_INVALID);
	ran(e, id, &(vgmo_request_shape){.text_tokens = 100}, 1);
	assert_int_equal(vgmo_engine_declare_worker(e, id, VGMO_ATTENTION_SDPA,
	                                            VGMO_ATTENTION_SDPA,
	                                            VGMO_LOGITS_UNKNOWN),
	                 VGMO_ERR_STATE);
	vgmo_engine_destroy(e);
}

/* transformers' names, each way; the kernels without an L x L tensor
 * are all flash. */
static void test_attention_names(void **state)
{
	static const char *const flash[] = {
	        "flash_attention_2", "flash_attention_3", "flex_attention"};
	vgmo_attention a;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(vgmo_attention_parse(flash[i], &a), VGMO_OK);
		assert_int_equal(a, VGMO_ATTENTION_FLASH);
	}
	for (a = VGMO_ATTENTION_UNKNOWN; a <= VGMO_ATTENTION_EAGER; a++) {
		vgmo_attention b = (vgmo_attention)7;

		assert_int_equal(
		        vgmo_attention_parse(vgmo_attention_name(a), &b),
		        VGMO_OK);
		assert_int_equal(a, b);
	}
	assert_int_equal(vgmo_attention_parse("Eager", &a), VGMO_ERR_INVALID);
	assert_int_equal(vgmo_attention_parse(NULL, &a), VGMO_ERR_INVALID);
}

/* Logits of every prompt position, declared: the prior prices vocab x 6
 * bytes per prompt token (bf16 and the fp32 copy), so the longest prompt
 * that fits shrinks; and that cost is a floor of the fit. */
static void test_declared_logits(void **state)
{
	vgmo_vlm_model m;
	vgmo__phase_prior last, all;
	vgmo_engine *e;
	uint32_t before, after;
	vgmo_logits l;
	int id;

	(void)state;
	e = make_qwen(&id);
	before = largest(e, id, VGMO_FIT_OK);
	assert_int_equal(vgmo_engine_declare_worker(
	                         e, id, VGMO_ATTENTION_UNKNOWN,
	                         VGMO_ATTENTION_UNKNOWN, VGMO_LOGITS_ALL),
	                 VGMO_OK);
	after = largest(e, id, VGMO_FIT_OK);
	assert_int_equal(vgmo_engine_worker_model(e, id, &m), VGMO_OK);
	vgmo__plan_phase_prior(&m, VGMO_DTYPE_BF16, VGMO_ATTENTION_UNKNOWN,
	                       VGMO_ATTENTION_UNKNOWN, VGMO_LOGITS_LAST, &last);
	vgmo__plan_phase_prior(&m, VGMO_DTYPE_BF16, VGMO_ATTENTION_UNKNOWN,
	                       VGMO_ATTENTION_UNKNOWN, VGMO_LOGITS_ALL, &all);
	assert_true(all.prefill_logits == 6.0 * m.vocab);
	assert_true(all.prefill_token == last.prefill_token + 6.0 * m.vocab);
	assert_true(last.prefill_logits == 0);
	/* A prompt token costs the prefill several times more: far fewer
	 * fit (qwen2-vl-7b: 152k vocab, 0.9 MB a token). */
	if (!(after * 3 < before))
		fail_msg("%u tokens fit with every position's logits, %u "
		         "with the last",
		         after, before);
	assert_true(vgmo__worker_get(e, id)
	                    ->cost.floor[VGMO__PH_PREFILL][VGMO__X_PROMPT] ==
	            all.prefill_logits + all.kv_token);
	assert_int_equal(vgmo_engine_declare_worker(
	                         e, id, VGMO_ATTENTION_UNKNOWN,
	                         VGMO_ATTENTION_UNKNOWN, (vgmo_logits)3),
	                 VGMO_ERR_INVALID);
	assert_int_equal(vgmo_logits_parse("all", &l), VGMO_OK);
	assert_int_equal(l, VGMO_LOGITS_ALL);
	assert_string_equal(vgmo_logits_name(VGMO_LOGITS_LAST), "last");
	assert_int_equal(vgmo_logits_parse("every", &l), VGMO_ERR_INVALID);
	vgmo_engine_destroy(e);
}

/* The cache is priced to the byte whatever the reports say: a prompt
 * token's keys and values in the prefill and the decode, and in a padded
 * batch every request's max_new_tokens (the longest of several runs to
 * it); a packed batch's outputs are learned (the sum of stops). */
static void test_cache_floors(void **state)
{
	vgmo_engine *e;
	vgmo_vlm_model m;
	const vgmo__cost *c;
	double kv;
	int id;

	(void)state;
	e = make_qwen(&id);
	assert_int_equal(vgmo_engine_worker_model(e, id, &m), VGMO_OK);
	kv = (double)vgmo_model_kv_bytes_per_token(&m, VGMO_DTYPE_BF16);
	c = &vgmo__worker_get(e, id)->cost;
	assert_true(c->floor[VGMO__PH_DECODE][VGMO__X_PROMPT] == kv);
	assert_true(c->floor[VGMO__PH_DECODE][VGMO__X_OUTPUT] == kv);
	assert_true(c->floor[VGMO__PH_PREFILL][VGMO__X_PROMPT] == kv);
	c = &vgmo__worker_get(e, id)->cost_packed;
	assert_true(c->floor[VGMO__PH_DECODE][VGMO__X_PROMPT] == kv);
	assert_true(c->floor[VGMO__PH_DECODE][VGMO__X_OUTPUT] == 0);
	vgmo_engine_destroy(e);
	e = make_tokens_worker(&id, "qwen2-vl-7b", VGMO_PADDING_PACKED);
	c = &vgmo__worker_get(e, id)->cost;
	assert_true(c->floor[VGMO__PH_DECODE][VGMO__X_OUTPUT] == 0);
	vgmo_engine_destroy(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_climb_doubles_at_most),
	        cmocka_unit_test(test_climb_in_cost),
	        cmocka_unit_test(test_declared_attention_prices_the_square),
	        cmocka_unit_test(test_attention_names),
	        cmocka_unit_test(test_declared_logits),
	        cmocka_unit_test(test_cache_floors),
	        cmocka_unit_test(test_alone_in_doubt_refused_then_tried),
	        cmocka_unit_test(test_the_edge_is_not_in_doubt),
	        cmocka_unit_test(test_never_is_past_the_whole_gpu),
	        cmocka_unit_test(test_max_pixels_by_the_models_rule),
	        cmocka_unit_test(test_items_worker_and_bad_calls),
	        cmocka_unit_test(test_doomed_by_an_oom),
	        cmocka_unit_test(test_what_ran_vouches_only_in_its_room),
	        cmocka_unit_test(test_oom_of_a_vouched_batch_teaches_no_cost),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
