/*
 * backend_nvml.c - the NVML backend: every GPU on the node and its MIG
 * devices, read through a libnvidia-ml loaded at run time.
 *
 * Threads: the engine calls the ops from one thread at a time. Each GPU has
 * a worker thread (nvml_worker.c) that does that GPU's NVML calls, so a call
 * that hangs is reported after call_timeout and holds up only its GPU. The
 * context is reference counted: a worker stuck in the driver at close keeps
 * it (and the library) alive until the call returns, then frees it.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "nvml_abi.h"
#include "nvml_device.h"
#include "nvml_worker.h"
#include "util.h"

#define DEFAULT_CALL_TIMEOUT 5.0
/* More GPUs than any node has: a larger count is a broken driver. */
#define MAX_GPUS 1024u

/* One sample handed to a worker. The worker owns `out` and the entry from
 * hand-over until the job ends; the sampler reads them only after that. */
typedef struct nvml_job {
	vgmo__nvml_lib *lib;
	vgmo__nvml_entry *entry;
	double now;
	vgmo_gpu_sample out;
	vgmo_err rc;
} nvml_job;

typedef struct nvml_gpu {
	vgmo__nvml_worker worker;
	nvml_job job;
} nvml_gpu;

/* The sampler's own copy of an entry's identity, to describe a device
 * whose worker is stuck without touching the entry the worker owns. */
typedef struct nvml_seen {
	char name[VGMO_NAME_MAX];
	char uuid[VGMO_UUID_MAX];
	char pci_bus_id[VGMO_BUSID_MAX];
	int parent;
} nvml_seen;

typedef struct nvml_ctx {
	vgmo__nvml_lib lib;
	vgmo_clock clock;
	bool has_clock;
	double call_timeout;
	unsigned count;            /* entries: GPUs, then MIG devices */
	vgmo__nvml_entry *entries; /* count; owned */
	nvml_seen *seen;           /* count; owned */
	unsigned ngpus;            /* physical GPUs (NVML's count) */
	nvml_gpu *gpus;            /* ngpus; owned */
	unsigned workers;          /* gpus[0..workers) have a worker */
	atomic_uint refs;          /* close + each orphaned worker */
	char last_error[VGMO_REASON_MAX + 32];
} nvml_ctx;

static double mono_now(const nvml_ctx *ctx)
{
	return ctx->has_clock ? ctx->clock.mono(ctx->clock.ctx)
	                      : vgmo__mono_now();
}

static double wall_now(const nvml_ctx *ctx)
{
	return ctx->has_clock ? ctx->clock.wall(ctx->clock.ctx)
	                      : vgmo__wall_now();
}

static void destroy(nvml_ctx *ctx)
{
	for (unsigned i = 0; i < ctx->workers; i++)
		vgmo__nvml_worker_destroy(&ctx->gpus[i].worker);
	for (unsigned i = 0; i < ctx->count; i++)
		vgmo__nvml_entry_free(&ctx->entries[i]);
	free(ctx->gpus);
	free(ctx->seen);
	free(ctx->entries);
	vgmo__nvml_unload(&ctx->lib);
	free(ctx);
}

/* Drops one reference; the last one frees the context. Also the orphan
 * callback of the workers. */
static void release(void *p)
{
	nvml_ctx *ctx = p;

	if (atomic_fetch_sub(&ctx->refs, 1) == 1)
		destroy(ctx);
}

static vgmo_err init_error(const vgmo__nvml_lib *lib, vgmo__nvml_ret ret,
                           char *err, size_t errlen)
{
	switch (ret) {
	case VGMO__NVML_ERROR_DRIVER_NOT_LOADED:
		return vgmo__errf(err, errlen, VGMO_ERR_BACKEND,
		                  "NVML: driver not loaded");
	case VGMO__NVML_ERROR_NO_PERMISSION:
		return vgmo__errf(err, errlen, VGMO_ERR_PERMISSION,
		                  "NVML: no permission");
	case VGMO__NVML_ERROR_LIBRARY_NOT_FOUND:
		return vgmo__errf(err, errlen, VGMO_ERR_LIBRARY,
		                  "NVML: %s could not load the driver library",
		                  lib->path);
	case VGMO__NVML_ERROR_LIB_RM_VERSION_MISMATCH:
		return vgmo__errf(err, errlen, VGMO_ERR_BACKEND,
		                  "NVML: driver/library version mismatch");
	default:
		return vgmo__errf(err, errlen, VGMO_ERR_BACKEND,
		                  "NVML: initialisation failed: %s (NVML error "
		                  "%d)",
		                  vgmo__nvml_strerror(lib, ret), ret);
	}
}

/* Appends a zeroed entry; NULL when out of memory. The array may move. */
static vgmo__nvml_entry *add_entry(nvml_ctx *ctx, unsigned *cap)
{
	vgmo__nvml_entry *e;

	if (ctx->count == *cap) {
		unsigned ncap = *cap ? *cap * 2 : 8;

		e = realloc(ctx->entries, ncap * sizeof(*e));
		if (e == NULL)
			return NULL;
		ctx->entries = e;
		*cap = ncap;
	}
	e = &ctx->entries[ctx->count];
	memset(e, 0, sizeof(*e));
	e->index = ctx->count++;
	e->parent = -1;
	e->mig_slot = -1;
	return e;
}

/* Adds the MIG devices of GPU `gpu` (an entry that is up). */
static vgmo_err add_mig_devices(nvml_ctx *ctx, unsigned gpu, unsigned *cap,
                                double now)
{
	vgmo__nvml_lib *lib = &ctx->lib;
	unsigned int current = 0, pending = 0, max = 0;
	vgmo__nvml_device h = ctx->entries[gpu].handle;

	if (lib->mig_mode == NULL || lib->mig_max == NULL ||
	    lib->mig_handle == NULL)
		return VGMO_OK;
	if (lib->mig_mode(h, &current, &pending) != VGMO__NVML_SUCCESS ||
	    current != VGMO__NVML_DEVICE_MIG_ENABLE)
		return VGMO_OK;
	if (lib->mig_max(h, &max) != VGMO__NVML_SUCCESS)
		return VGMO_OK;
	for (unsigned slot = 0; slot < max && slot < 64; slot++) {
		vgmo__nvml_device mig = NULL;
		vgmo__nvml_entry *e;
		char pci[VGMO_BUSID_MAX];

		if (lib->mig_handle(h, slot, &mig) != VGMO__NVML_SUCCESS)
			continue; /* NOT_FOUND: an empty slot */
		vgmo__strlcpy(pci, ctx->entries[gpu].pci_bus_id, sizeof(pci));
		e = add_entry(ctx, cap);
		if (e == NULL)
			return VGMO_ERR_NOMEM;
		e->parent = (int)gpu;
		e->phys = gpu;
		e->mig_slot = (int)slot;
		vgmo__nvml_entry_acquire(lib, e, pci, now);
	}
	return VGMO_OK;
}

/* Builds the entries: GPUs 0..n-1, then each GPU's MIG devices. A GPU that
 * does not answer now is kept, marked down, and retried when sampled. */
static vgmo_err enumerate(nvml_ctx *ctx, unsigned n, char *err, size_t errlen)
{
	unsigned cap = 0;
	double now = mono_now(ctx);
	vgmo_err rc;

	for (unsigned i = 0; i < n; i++) {
		vgmo__nvml_entry *e = add_entry(ctx, &cap);

		if (e == NULL)
			goto nomem;
		e->phys = i;
		vgmo__nvml_entry_acquire(&ctx->lib, e, NULL, now);
	}
	for (unsigned i = 0; i < n; i++) {
		if (ctx->entries[i].down)
			continue;
		rc = add_mig_devices(ctx, i, &cap, now);
		if (rc != VGMO_OK)
			goto nomem;
	}
	ctx->seen = calloc(ctx->count, sizeof(*ctx->seen));
	if (ctx->seen == NULL)
		goto nomem;
	for (unsigned i = 0; i < ctx->count; i++) {
		const vgmo__nvml_entry *e = &ctx->entries[i];
		nvml_seen *s = &ctx->seen[i];

		vgmo__strlcpy(s->name, e->name, sizeof(s->name));
		vgmo__strlcpy(s->uuid, e->uuid, sizeof(s->uuid));
		vgmo__strlcpy(s->pci_bus_id, e->pci_bus_id,
		              sizeof(s->pci_bus_id));
		s->parent = e->parent;
	}
	return VGMO_OK;

nomem:
	return vgmo__errf(err, errlen, VGMO_ERR_NOMEM,
	                  "NVML: out of memory listing devices");
}

static vgmo_err start_workers(nvml_ctx *ctx, char *err, size_t errlen)
{
	ctx->gpus = calloc(ctx->ngpus, sizeof(*ctx->gpus));
	if (ctx->gpus == NULL)
		return vgmo__errf(err, errlen, VGMO_ERR_NOMEM,
		                  "NVML: out of memory");
	for (unsigned i = 0; i < ctx->ngpus; i++) {
		vgmo_err rc = vgmo__nvml_worker_start(&ctx->gpus[i].worker,
		                                      release, ctx);

		if (rc != VGMO_OK)
			return vgmo__errf(err, errlen, rc,
			                  "NVML: cannot start a sampling "
			                  "thread");
		ctx->workers = i + 1;
	}
	return VGMO_OK;
}

static void stop_workers(nvml_ctx *ctx)
{
	for (unsigned i = 0; i < ctx->workers; i++) {
		/* A stuck worker keeps a reference until its call returns. */
		atomic_fetch_add(&ctx->refs, 1);
		if (!vgmo__nvml_worker_stop(&ctx->gpus[i].worker))
			atomic_fetch_sub(&ctx->refs, 1);
	}
}

static vgmo_err nvml_open(void **out, const vgmo_engine_options *opts,
                          char *err, size_t errlen)
{
	nvml_ctx *ctx;
	unsigned int n = 0;
	vgmo__nvml_ret ret;
	vgmo_err rc;

	*out = NULL;
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		return vgmo__errf(err, errlen, VGMO_ERR_NOMEM,
		                  "NVML: out of memory");
	atomic_init(&ctx->refs, 1);
	ctx->call_timeout = DEFAULT_CALL_TIMEOUT;
	if (opts != NULL && opts->call_timeout > 0)
		ctx->call_timeout = opts->call_timeout;
	if (opts != NULL && opts->clock != NULL && opts->clock->mono != NULL &&
	    opts->clock->wall != NULL) {
		ctx->clock = *opts->clock;
		ctx->has_clock = true;
	}
	rc = vgmo__nvml_load(&ctx->lib, opts ? opts->nvml_library : NULL, err,
	                     errlen);
	if (rc != VGMO_OK)
		goto fail_free;
	ret = vgmo__nvml_init(&ctx->lib);
	if (ret != VGMO__NVML_SUCCESS) {
		rc = init_error(&ctx->lib, ret, err, errlen);
		goto fail_unload;
	}
	ret = ctx->lib.device_count(&n);
	if (ret != VGMO__NVML_SUCCESS) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_BACKEND,
		                "NVML: cannot count GPUs: %s (NVML error %d)",
		                vgmo__nvml_strerror(&ctx->lib, ret), ret);
		goto fail_unload;
	}
	if (n == 0) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_NO_DEVICE,
		                "NVML: no GPUs found");
		goto fail_unload;
	}
	if (n > MAX_GPUS) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_BACKEND,
		                "NVML: implausible GPU count %u", n);
		goto fail_unload;
	}
	ctx->ngpus = n;
	rc = enumerate(ctx, n, err, errlen);
	if (rc != VGMO_OK)
		goto fail_entries;
	rc = start_workers(ctx, err, errlen);
	if (rc != VGMO_OK)
		goto fail_workers;
	*out = ctx;
	return VGMO_OK;

fail_workers:
	stop_workers(ctx); /* all idle: joined */
fail_entries:
	release(ctx); /* entries, arrays, library, context */
	return rc;
fail_unload:
	vgmo__nvml_unload(&ctx->lib);
fail_free:
	free(ctx);
	return rc;
}

static unsigned nvml_device_count(void *p)
{
	const nvml_ctx *ctx = p;

	return ctx ? ctx->count : 0;
}

static void run_job(void *arg)
{
	nvml_job *job = arg;

	job->rc = vgmo__nvml_entry_read(job->lib, job->entry, job->now,
	                                &job->out);
}

static void remember(nvml_ctx *ctx, unsigned idx, const vgmo_gpu_sample *s)
{
	nvml_seen *seen = &ctx->seen[idx];

	vgmo__strlcpy(seen->name, s->name, sizeof(seen->name));
	vgmo__strlcpy(seen->uuid, s->uuid, sizeof(seen->uuid));
	vgmo__strlcpy(seen->pci_bus_id, s->pci_bus_id,
	              sizeof(seen->pci_bus_id));
}

/* A device whose worker is stuck in the driver: described from the
 * sampler's copy, nothing asked of NVML. */
static void report_hung(const nvml_ctx *ctx, unsigned idx, vgmo_gpu_sample *out)
{
	const nvml_seen *seen = &ctx->seen[idx];

	memset(out, 0, sizeof(*out));
	out->index = idx;
	out->parent = seen->parent;
	vgmo__strlcpy(out->name, seen->name, sizeof(out->name));
	vgmo__strlcpy(out->uuid, seen->uuid, sizeof(out->uuid));
	vgmo__strlcpy(out->pci_bus_id, seen->pci_bus_id,
	              sizeof(out->pci_bus_id));
	if (out->pci_bus_id[0] != '\0')
		out->present |= VGMO_HAS_PCI;
	out->up = false;
	snprintf(out->down_reason, sizeof(out->down_reason),
	         "NVML call timed out after %g s", ctx->call_timeout);
}

static vgmo_err nvml_sample(void *p, unsigned idx, vgmo_gpu_sample *out)
{
	nvml_ctx *ctx = p;
	vgmo__nvml_entry *e;
	nvml_gpu *g;
	double t0 = vgmo__mono_now();
	vgmo_err rc;

	if (ctx == NULL || out == NULL || idx >= ctx->count)
		return VGMO_ERR_INVALID;
	e = &ctx->entries[idx];
	g = &ctx->gpus[e->phys];
	g->job.lib = &ctx->lib;
	g->job.entry = e;
	g->job.now = mono_now(ctx);
	rc = vgmo__nvml_worker_run(&g->worker, run_job, &g->job,
	                           ctx->call_timeout);
	if (rc == VGMO_OK) {
		*out = g->job.out;
		rc = g->job.rc;
		remember(ctx, idx, out);
	} else {
		/* Timed out now, or still stuck from an earlier sample. */
		report_hung(ctx, idx, out);
		rc = VGMO_ERR_TIMEOUT;
	}
	out->sampled_at = wall_now(ctx);
	out->sample_seconds = vgmo__mono_now() - t0;
	if (rc != VGMO_OK)
		snprintf(ctx->last_error, sizeof(ctx->last_error),
		         "NVML device %u: %s", idx, out->down_reason);
	return rc;
}

static void nvml_close(void *p)
{
	nvml_ctx *ctx = p;

	if (ctx == NULL)
		return;
	stop_workers(ctx);
	release(ctx);
}

static const char *nvml_last_error(void *p)
{
	const nvml_ctx *ctx = p;

	return ctx ? ctx->last_error : "";
}

const vgmo__backend_ops vgmo__backend_nvml = {
        .name = "nvml",
        .about = "NVML",
        .caps = 0,
        .open = nvml_open,
        .device_count = nvml_device_count,
        .sample = nvml_sample,
        .cleanup = NULL,
        .close = nvml_close,
        .last_error = nvml_last_error,
};
