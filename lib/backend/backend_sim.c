/*
 * backend_sim.c - the simulated GPU backend.
 *
 * One or more GPUs with real memory sizes, each optionally running a
 * synthetic VLM worker: weights resident, each batch's peak = fixed
 * activations + the sum of per-item costs drawn from a seeded log-normal
 * distribution (images of varying size), and a caching allocator (reserved
 * memory grows to the largest need and stays until cleanup), so that
 * fragmentation = 1 - allocated/reserved is real and an OOM happens exactly
 * when a batch does not fit. Everything runs on the engine's (virtual) clock
 * and is deterministic for a seed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "sim.h"
#include "trace.h"
#include "util.h"

#define SIM_MAX_GPUS 64
#define CONTEXT_BYTES (512 * VGMO__MIB) /* a CUDA context */
#define ALLOC_GRAIN (2 * VGMO__MIB)     /* allocator block rounding */
#define TEMP_TAU 60.0                   /* seconds, thermal lag */

typedef struct sim_gpu {
	const vgmo__sim_preset *preset;
	char uuid[VGMO_UUID_MAX];
	bool worker;
	vgmo__sim_worker_truth truth;
	bool vlm;                   /* the worker runs a VLM model's requests */
	vgmo__vlm_truth vt;         /* ... and this is what they cost */
	char workload[16];          /* its workload ("docs", "requests", ...) */
	double allocated, reserved; /* the synthetic worker's allocator */
	double since_empty;         /* batches since its cache was emptied */
	double peak;                /* the largest peak since then */
	uint64_t want_external;     /* bytes others would hold */
	uint64_t external;          /* bytes others hold: what fits */
	double busy;                /* busy seconds since the last sample */
	double last_t;              /* time of the last sample, < 0 none */
	double util, temp, energy;
} sim_gpu;

struct vgmo__sim {
	unsigned n;
	sim_gpu gpu[SIM_MAX_GPUS];
	vgmo__rng rng;
	vgmo_clock clock;
	char error[VGMO_REASON_MAX];
};

static double sim_now(const vgmo__sim *s)
{
	return s->clock.mono ? s->clock.mono(s->clock.ctx) : vgmo__mono_now();
}

static double sim_wall(const vgmo__sim *s)
{
	return s->clock.wall ? s->clock.wall(s->clock.ctx) : vgmo__wall_now();
}

/* The default synthetic VLM worker, scaled to the device: weights 20 % of
 * memory, 2 % fixed activations, items 5 % each on average. */
static void default_truth(vgmo__sim_worker_truth *t, uint64_t total)
{
	t->weights = (uint64_t)(0.20 * (double)total);
	t->fixed_act = (uint64_t)(0.02 * (double)total);
	t->item_mean = 0.05 * (double)total;
	t->item_spread = 0.25;
	t->max_overhead = 0.03;
	t->t_fixed = 0.25;
	t->t_item = 0.12;
}

/* "NAME[:MODEL]": a built-in workload, or "requests" for requests that
 * someone else feeds (the benchmark); MODEL a preset or JSON file
 * (default qwen2-vl-7b). */
static vgmo_err parse_vlm_workload(const char *w, char name[16],
                                   vgmo_vlm_model *model, char *err,
                                   size_t errlen)
{
	const char *colon = strchr(w, ':');
	size_t n = colon ? (size_t)(colon - w) : strlen(w);
	char why[512];

	if (n >= 16)
		n = 15;
	memcpy(name, w, n);
	name[n] = '\0';
	if (strcmp(name, "requests") != 0 && vgmo__workload_about(name) == NULL)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "sim: unknown workload \"%s\" (known: vlm, "
		                  "none, docs, photos, mixed, drift, cotenant, "
		                  "requests; NAME:MODEL picks the model)",
		                  w);
	if (vgmo_model_resolve(colon ? colon + 1 : VGMO__SIM_DEFAULT_MODEL,
	                       model, why, sizeof(why)) != VGMO_OK)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID, "sim: %s",
		                  why);
	return VGMO_OK;
}

static vgmo_err sim_open(void **ctx, const vgmo_engine_options *opts, char *err,
                         size_t errlen)
{
	const vgmo_sim_options *so = &opts->sim;
	const char *pname = so->preset ? so->preset : "h100-80gb";
	const char *workload = so->workload ? so->workload : "vlm";
	const vgmo__sim_preset *p = vgmo__sim_preset_find(pname);
	unsigned n = so->gpus ? so->gpus : 1;
	vgmo__sim *s;
	bool worker;

	char known[256];

	if (p == NULL)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "sim: unknown preset \"%s\" (known: %s)",
		                  pname,
		                  vgmo__join_names(vgmo_sim_presets(), known,
		                                   sizeof(known)));
	if (n > SIM_MAX_GPUS)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "sim: %u GPUs requested, at most %d", n,
		                  SIM_MAX_GPUS);
	vgmo_vlm_model model;
	char wname[16];
	bool vlm = false;
	vgmo_err rc;

	if (strcmp(workload, "vlm") == 0)
		worker = true;
	else if (strcmp(workload, "none") == 0)
		worker = false;
	else if ((rc = parse_vlm_workload(workload, wname, &model, err,
	                                  errlen)) != VGMO_OK)
		return rc;
	else
		worker = vlm = true;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return vgmo__errf(err, errlen, VGMO_ERR_NOMEM,
		                  "sim: out of memory");
	s->n = n;
	if (opts->clock)
		s->clock = *opts->clock;
	vgmo__rng_seed(&s->rng, so->seed ? so->seed : 1);
	for (unsigned i = 0; i < n; i++) {
		sim_gpu *g = &s->gpu[i];
		uint64_t a = vgmo__rng_next(&s->rng);
		uint64_t b = vgmo__rng_next(&s->rng);

		g->preset = p;
		snprintf(g->uuid, sizeof(g->uuid),
		         "GPU-%08x-%04x-%04x-%04x-%012llx", (unsigned)(a >> 32),
		         (unsigned)(a >> 16) & 0xffffu, (unsigned)a & 0xffffu,
		         (unsigned)(b >> 48),
		         (unsigned long long)(b & UINT64_C(0xffffffffffff)));
		g->worker = worker;
		default_truth(&g->truth, p->total);
		if (vlm) {
			g->vlm = true;
			vgmo__strlcpy(g->workload, wname, sizeof(g->workload));
			vgmo__vlm_truth_init(&g->vt, &model, VGMO_DTYPE_BF16,
			                     NULL, p->flops, p->bandwidth,
			                     (so->seed ? so->seed : 1) + i);
			g->allocated = g->vt.weights;
			g->reserved = g->vt.weights + g->vt.workspace;
		} else if (worker) {
			g->allocated = (double)g->truth.weights;
			g->reserved = (double)g->truth.weights;
		}
		g->last_t = -1;
		g->temp = 30.0;
	}
	*ctx = s;
	return VGMO_OK;
}

static unsigned sim_count(void *ctx)
{
	return ((vgmo__sim *)ctx)->n;
}

/* The worker's memory outside its allocator (its CUDA context). */
static double context_of(const sim_gpu *g)
{
	if (!g->worker)
		return 0;
	return g->vlm ? g->vt.context : (double)CONTEXT_BYTES;
}

static uint64_t gpu_used(const sim_gpu *g)
{
	uint64_t used = g->external;

	if (g->worker)
		used += (uint64_t)context_of(g) + (uint64_t)g->reserved;
	return used > g->preset->total ? g->preset->total : used;
}

/* What nvidia-smi would list: the synthetic worker (its context and its
 * allocator's reserve) and the memory other processes hold, one entry each.
 * A simulated process has no pid: 0, which reads as unknown. */
static void sim_processes(const sim_gpu *g, vgmo_gpu_sample *out)
{
	unsigned n = 0;

	if (g->worker) {
		out->processes[n].used_bytes =
		        (uint64_t)(context_of(g) + g->reserved);
		snprintf(out->processes[n].name, sizeof(out->processes[n].name),
		         "vlm-worker (sim)");
		n++;
	}
	if (g->external > 0) {
		out->processes[n].used_bytes = g->external;
		snprintf(out->processes[n].name, sizeof(out->processes[n].name),
		         "other processes (sim)");
		n++;
	}
	out->process_count = n;
	out->process_total = n;
}

static vgmo_err sim_sample(void *ctx, unsigned idx, vgmo_gpu_sample *out)
{
	vgmo__sim *s = ctx;
	sim_gpu *g;
	double now, dt, power, target;

	if (idx >= s->n)
		return VGMO_ERR_NOT_FOUND;
	g = &s->gpu[idx];
	now = sim_now(s);
	dt = g->last_t < 0 ? 0 : now - g->last_t;
	if (dt > 0) {
		g->util = fmin(1.0, g->busy / dt);
		g->busy = 0;
	}
	power = g->preset->idle_w +
	        (g->preset->max_w - g->preset->idle_w) * g->util;
	if (dt > 0) {
		target = 30.0 + 45.0 * power / g->preset->max_w;
		g->temp += (target - g->temp) * (1.0 - exp(-dt / TEMP_TAU));
		g->energy += power * dt;
	}
	if (g->last_t < 0 || dt > 0)
		g->last_t = now;

	memset(out, 0, sizeof(*out));
	out->index = idx;
	out->parent = -1;
	snprintf(out->name, sizeof(out->name), "%s (sim)", g->preset->gpu_name);
	vgmo__strlcpy(out->uuid, g->uuid, sizeof(out->uuid));
	snprintf(out->pci_bus_id, sizeof(out->pci_bus_id), "00000000:%02X:00.0",
	         0x18 + idx);
	out->up = true;
	out->present = VGMO_HAS_MEMORY | VGMO_HAS_UTILIZATION |
	               VGMO_HAS_TEMPERATURE | VGMO_HAS_POWER | VGMO_HAS_ENERGY |
	               VGMO_HAS_PCI;
	out->memory_total = g->preset->total;
	out->memory_used = gpu_used(g);
	out->memory_free = out->memory_total - out->memory_used;
	out->memory_api = 2;
	out->utilization = g->util;
	out->temperature_c = g->temp;
	out->power_w = power;
	out->energy_j = g->energy;
	if (g->worker && g->reserved > 0) {
		out->present |= VGMO_HAS_FRAGMENTATION;
		/* The share of the reserve its largest batch since the cache
		 * was emptied did not use: fragmentation and rounding, not
		 * the cache kept for the next batch. */
		out->fragmentation =
		        1.0 -
		        fmin(1.0, fmax(g->peak, g->allocated) / g->reserved);
	}
	out->present |= VGMO_HAS_PROCESSES;
	sim_processes(g, out);
	out->sampled_at = sim_wall(s);
	return VGMO_OK;
}

/* The synthetic worker's empty_cache(): cached blocks go back. */
static vgmo_err sim_cleanup(void *ctx, unsigned idx)
{
	vgmo__sim *s = ctx;
	sim_gpu *g;

	if (idx >= s->n)
		return VGMO_ERR_NOT_FOUND;
	g = &s->gpu[idx];
	if (g->vlm) {
		g->reserved = g->allocated + g->vt.workspace;
		g->since_empty = 0;
		g->peak = 0;
	} else if (g->worker) {
		g->reserved = ceil(g->allocated / ALLOC_GRAIN) * ALLOC_GRAIN;
		g->peak = 0;
	}
	/* What others wanted may now fit. */
	vgmo__sim_set_external(s, idx, g->want_external);
	return VGMO_OK;
}

static void sim_close(void *ctx)
{
	free(ctx);
}

static const char *sim_last_error(void *ctx)
{
	return ((vgmo__sim *)ctx)->error;
}

const vgmo__backend_ops vgmo__backend_sim = {
        .name = "sim",
        .about = "the simulated GPU",
        .caps = VGMO__BACKEND_VIRTUAL_CLOCK | VGMO__BACKEND_UNSEEN_CLIENTS,
        .open = sim_open,
        .device_count = sim_count,
        .sample = sim_sample,
        .cleanup = sim_cleanup,
        .close = sim_close,
        .last_error = sim_last_error,
};

vgmo__sim *vgmo__sim_of(const vgmo__backend_ops *ops, void *ctx)
{
	return ops == &vgmo__backend_sim ? ctx : NULL;
}

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
	room = (double)g->preset->total - context_of(g) -
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

	return (double)g->preset->total - context_of(g) - (double)g->external;
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
