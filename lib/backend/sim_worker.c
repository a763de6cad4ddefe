/*
 * sim_worker.c - the synthetic worker on the simulated GPU: its batches
 * (items drawn from its hidden truth, or a VLM model's requests), the
 * caching allocator they go through, out of memory exactly when a batch
 * does not fit, and the memory other processes hold beside it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "sim_gpu.h"
#include "trace.h"
#include "util.h"

bool vgmo__sim_has_worker(const vgmo__sim *s, unsigned dev)
{
	return dev < s->n && s->gpu[dev].worker;
}

vgmo__sim_worker_truth *vgmo__sim_truth(vgmo__sim *s, unsigned dev)
{
	return dev < s->n ? &s->gpu[dev].truth : NULL;
}

void vgmo__sim_set_external(vgmo__sim *s, unsigned dev, uint64_t bytes)
{
	sim_gpu *g;
	double room;

	if (dev >= s->n)
		return;
	g = &s->gpu[dev];
	g->want_external = bytes;
	/* Others take free memory only: what the worker's allocator holds,
	 * cached or live, stays the worker's until it empties its cache (as
	 * on a real GPU, where another process cannot take it). */
	room = (double)g->preset->total - vgmo__sim_context_of(g) -
	       (g->worker ? g->reserved : 0);
	g->external =
	        (double)bytes > room ? (room > 0 ? (uint64_t)room : 0) : bytes;
}

double vgmo__sim_run_batch(vgmo__sim *s, unsigned dev, uint32_t items,
                           double now, vgmo_report *out)
{
	sim_gpu *g = &s->gpu[dev];
	const vgmo__sim_worker_truth *t = &g->truth;
	double sig = t->item_spread, peak, need, avail, dur;

	(void)now;
	memset(out, 0, sizeof(*out));
	out->items = items;
	peak = (double)t->weights + (double)t->fixed_act;
	for (uint32_t i = 0; i < items; i++)
		peak += t->item_mean *
		        exp(sig * vgmo__rng_normal(&s->rng) - sig * sig / 2);
	need = peak * (1.0 + t->max_overhead * vgmo__rng_uniform(&s->rng));
	need = ceil(need / ALLOC_GRAIN) * ALLOC_GRAIN;
	avail = (double)g->preset->total - CONTEXT_BYTES - (double)g->external;
	dur = t->t_fixed + t->t_item * pow((double)items, 0.85);
	if (need > avail) {
		/* The allocator frees its cache and retries, then gives up
		 * part way through the batch. */
		out->oom = true;
		g->reserved = fmax(g->allocated, fmin(g->reserved, avail));
		g->peak = 0;
		dur *= 0.5;
	} else {
		if (need > g->reserved)
			g->reserved = need;
		g->peak = fmax(g->peak, peak);
		out->peak_bytes = (uint64_t)peak;
	}
	g->allocated = (double)t->weights;
	out->allocated_bytes = (uint64_t)g->allocated;
	out->reserved_bytes = (uint64_t)g->reserved;
	out->seconds = dur;
	g->busy += dur;
	return dur;
}

const vgmo__vlm_truth *vgmo__sim_vlm(const vgmo__sim *s, unsigned dev)
{
	return dev < s->n && s->gpu[dev].vlm ? &s->gpu[dev].vt : NULL;
}

vgmo__vlm_truth *vgmo__sim_vlm_mut(vgmo__sim *s, unsigned dev)
{
	return dev < s->n && s->gpu[dev].vlm ? &s->gpu[dev].vt : NULL;
}

const char *vgmo__sim_workload(const vgmo__sim *s, unsigned dev)
{
	return dev < s->n && s->gpu[dev].vlm ? s->gpu[dev].workload : NULL;
}

vgmo_err vgmo__sim_set_vlm_model(vgmo__sim *s, unsigned dev,
                                 const vgmo_vlm_model *m, vgmo_dtype d,
                                 const vgmo__truth_params *p, uint64_t seed)
{
	sim_gpu *g;

	if (dev >= s->n || !s->gpu[dev].vlm)
		return VGMO_ERR_STATE;
	g = &s->gpu[dev];
	vgmo__vlm_truth_init(&g->vt, m, d, p, g->preset->flops,
	                     g->preset->bandwidth, seed);
	g->allocated = g->vt.weights;
	g->reserved = g->vt.weights + g->vt.workspace;
	g->since_empty = 0;
	g->peak = 0;
	vgmo__sim_set_external(s, dev, g->want_external);
	return VGMO_OK;
}

uint64_t vgmo__sim_reserved(const vgmo__sim *s, unsigned dev)
{
	return dev < s->n ? (uint64_t)s->gpu[dev].reserved : 0;
}

uint64_t vgmo__sim_total(const vgmo__sim *s, unsigned dev)
{
	return dev < s->n ? s->gpu[dev].preset->total : 0;
}

double vgmo__sim_available(const vgmo__sim *s, unsigned dev)
{
	const sim_gpu *g = &s->gpu[dev];

	return (double)g->preset->total - vgmo__sim_context_of(g) -
	       (double)g->external;
}

double vgmo__sim_fragmentation(const vgmo__sim *s, unsigned dev)
{
	const sim_gpu *g = &s->gpu[dev];

	return g->vlm ? vgmo__vlm_fragmentation(&g->vt, g->since_empty) : 0;
}

double vgmo__sim_run_requests(vgmo__sim *s, unsigned dev,
                              const vgmo__vlm_req *r, size_t n,
                              vgmo_report *out, double *need_out)
{
	sim_gpu *g = &s->gpu[dev];
	const vgmo__vlm_truth *t = &g->vt;
	double frag = vgmo__sim_fragmentation(s, dev);
	double avail = vgmo__sim_available(s, dev), dur, need;
	vgmo__vlm_cost c;

	vgmo__vlm_cost_of(t, r, n, &c);
	need = vgmo__vlm_need(t, c.peak, frag, r, n);
	memset(out, 0, sizeof(*out));
	out->items = (uint32_t)n;
	if (need > avail) {
		/* Released its free cached blocks and retried. */
		double hard =
		        vgmo__vlm_need(t, c.peak, VGMO__FRAG_LIVE * frag, r, n);

		if (hard <= avail) {
			g->reserved = t->weights + t->workspace;
			g->since_empty = 0;
			g->peak = 0;
			need = hard;
		}
	}
	if (need > avail) {
		/* The allocator frees its cached blocks and retries, then
		 * gives up: the cache is empty afterwards. */
		out->oom = true;
		dur = vgmo__vlm_oom_seconds(t, &c, avail, frag);
		g->reserved = t->weights + t->workspace;
		g->since_empty = 0;
		g->peak = 0;
	} else {
		if (need > g->reserved)
			g->reserved = need;
		g->peak = fmax(g->peak, c.peak);
		out->peak_bytes = (uint64_t)c.peak;
		dur = c.seconds;
		g->since_empty += 1;
	}
	g->allocated = t->weights;
	out->allocated_bytes = (uint64_t)g->allocated;
	out->reserved_bytes = (uint64_t)g->reserved;
	out->seconds = dur;
	g->busy += dur;
	/* Memory the cache gave back may go to others now. */
	vgmo__sim_set_external(s, dev, g->want_external);
	if (need_out)
		*need_out = need;
	return dur;
}
