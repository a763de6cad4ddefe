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
 *
 * This file is the backend (open, sample, cleanup); sim_worker.c runs the
 * synthetic worker's batches; sim_gpu.h is the state they share.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "sim.h"
#include "sim_gpu.h"
#include "trace.h"
#include "util.h"

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

static uint64_t gpu_used(const sim_gpu *g)
{
	uint64_t used = g->external;

	if (g->worker)
		used += (uint64_t)vgmo__sim_context_of(g) +
		        (uint64_t)g->reserved;
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
		        (uint64_t)(vgmo__sim_context_of(g) + g->reserved);
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
