/*
 * bench_share.c - two workers share one simulated 80 GB GPU with different
 * per-item costs. vgmo sizes both batches from their reports; the baseline
 * is the best static split (n1, n2) found by brute force over every pair
 * that runs the same batches without an out-of-memory. Prints both and
 * the ratio (docs/benchmarks.md, "Two workers on one GPU").
 *
 *   cmake --build build --target bench_share && build/bench/bench_share
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "vgmo/vgmo.h"

#define GIB ((double)VGMO__GIB)
#define DURATION 600.0 /* virtual seconds */
#define MAX_BATCH 64
#define CONTEXT (0.5 * GIB) /* a CUDA context per worker */

typedef struct worker_truth {
	const char *name;
	double fixed, item, spread; /* bytes; log-normal sigma per item */
	double t_fixed, t_item;     /* seconds */
} worker_truth;

static const worker_truth truth[2] = {
        {"vision-large", 16 * GIB, 2.0 * GIB, 0.25, 0.30, 0.20},
        {"docs-small", 8 * GIB, 0.6 * GIB, 0.25, 0.20, 0.05},
};

typedef struct run_state {
	vgmo__rng rng[2];
	double reserved[2];
	double next[2];
	double items[2];
	unsigned ooms;
} run_state;

/* One batch of n items of worker w: its peak, the allocator's need. */
static double batch_need(run_state *st, int w, int n, double *peak)
{
	const worker_truth *t = &truth[w];
	double p = t->fixed;

	for (int i = 0; i < n; i++)
		p += t->item * exp(t->spread * vgmo__rng_normal(&st->rng[w]) -
		                   t->spread * t->spread / 2);
	*peak = p;
	return ceil(p * 1.02 / (2.0 * 1048576)) * 2.0 * 1048576;
}

/* Runs both workers; size(w) gives worker w's next batch; report() is
 * told each outcome. Returns combined items/s. */
typedef int (*size_fn)(void *ctx, int w);
typedef void (*report_fn)(void *ctx, int w, int n, double peak, bool oom,
                          double reserved, double seconds, double now);

static double run(uint64_t total, size_fn size, report_fn report, void *ctx,
                  unsigned *ooms)
{
	run_state st;
	double now = 0;

	memset(&st, 0, sizeof(st));
	vgmo__rng_seed(&st.rng[0], 11);
	vgmo__rng_seed(&st.rng[1], 22);
	st.reserved[0] = truth[0].fixed;
	st.reserved[1] = truth[1].fixed;
	while (now < DURATION) {
		int w = st.next[0] <= st.next[1] ? 0 : 1, n = size(ctx, w);
		double peak, need = batch_need(&st, w, n, &peak);
		double avail = (double)total - 2 * CONTEXT - st.reserved[1 - w];
		double dur = truth[w].t_fixed + truth[w].t_item * pow(n, 0.85);
		bool oom = need > avail;

		now = st.next[w];
		if (oom) {
			st.ooms++;
			dur *= 0.5;
			st.reserved[w] = fmin(st.reserved[w], avail);
		} else {
			st.reserved[w] = fmax(st.reserved[w], need);
			st.items[w] += n;
		}
		st.next[w] = now + dur;
		if (report)
			report(ctx, w, n, peak, oom, st.reserved[w], dur, now);
	}
	*ooms = st.ooms;
	return (st.items[0] + st.items[1]) / DURATION;
}

/* ------------------------------------------------------------ static */

static int static_size(void *ctx, int w)
{
	return ((int *)ctx)[w];
}

/* -------------------------------------------------------------- vgmo */

typedef struct vgmo_ctx {
	vgmo_engine *e;
	int id[2];
	double clock;
} vgmo_ctx;

static int engine_size(void *ctx, int w)
{
	vgmo_ctx *v = ctx;

	return vgmo_engine_batch_size(v->e, v->id[w]);
}

static void engine_report(void *ctx, int w, int n, double peak, bool oom,
                          double reserved, double seconds, double now)
{
	vgmo_ctx *v = ctx;
	vgmo_report r = {0};

	if (now > v->clock) { /* the engine's loop: sample on its clock */
		vgmo_engine_sim_run(v->e, now - v->clock);
		v->clock = now;
	}
	r.items = (uint32_t)n;
	r.peak_bytes = oom ? 0 : (uint64_t)peak;
	r.allocated_bytes = (uint64_t)truth[w].fixed;
	r.reserved_bytes = (uint64_t)reserved + (uint64_t)CONTEXT;
	r.seconds = seconds;
	r.oom = oom;
	vgmo_engine_report(v->e, v->id[w], &r, NULL);
}

int main(void)
{
	vgmo_config c;
	vgmo_engine_options o;
	vgmo_ctx v = {0};
	uint64_t total = 0;
	double best = 0, got;
	int best_n[2] = {0, 0};
	unsigned ooms;
	char err[256];

	vgmo_config_defaults(&c);
	c.max_batch_size = MAX_BATCH;
	c.monitoring_interval = 1;
	vgmo_engine_options_init(&o);
	o.backend = "sim";
	o.sim.workload = "none";
	if (vgmo_gpu_preset_memory("h100-80gb", &total) != VGMO_OK ||
	    vgmo_engine_create(&v.e, &c, &o, err, sizeof(err)) != VGMO_OK) {
		fprintf(stderr, "bench_share: %s\n", err);
		return 1;
	}
	for (int w = 0; w < 2; w++) {
		vgmo_worker_spec sp = {.name = truth[w].name, .leased = true};

		vgmo_engine_worker_register(v.e, &sp, &v.id[w], NULL);
	}
	got = run(total, engine_size, engine_report, &v, &ooms);
	printf("vgmo (balanced): %.2f items/s, %u OOMs, final batch sizes "
	       "%d and %d\n",
	       got, ooms, vgmo_engine_batch_size(v.e, v.id[0]),
	       vgmo_engine_batch_size(v.e, v.id[1]));
	vgmo_engine_destroy(v.e);

	for (int a = 1; a <= MAX_BATCH; a++)
		for (int b = 1; b <= MAX_BATCH; b++) {
			int n[2] = {a, b};
			unsigned so;
			double tp = run(total, static_size, NULL, n, &so);

			if (so == 0 && tp > best) {
				best = tp;
				best_n[0] = a;
				best_n[1] = b;
			}
		}
	printf("best static split (brute force over %d x %d, no OOM): %d and "
	       "%d, %.2f items/s\n",
	       MAX_BATCH, MAX_BATCH, best_n[0], best_n[1], best);
	printf("vgmo / best static: %.3f, OOMs %u\n", got / best, ooms);
	return ooms == 0 && got >= 0.9 * best ? 0 : 1;
}
