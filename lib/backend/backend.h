/*
 * backend.h - the one interface every GPU backend fills (internal).
 *
 * Each backend is one file (backend_sim.c, backend_nvml.c) exporting one
 * `static const`-initialised ops table. The engine picks a table by name
 * from vgmo__backends[] and never looks inside a backend's context.
 */
#ifndef VGMO_LIB_BACKEND_H
#define VGMO_LIB_BACKEND_H

#include "vgmo/vgmo.h"

typedef struct vgmo__backend_ops {
	const char *name;
	/* Opens the backend; *ctx receives its private context. On failure
	 * `err` says why in one line (library not found, no devices, ...). */
	vgmo_err (*open)(void **ctx, const vgmo_engine_options *opts, char *err,
	                 size_t errlen);
	/* Number of device entries (MIG devices count as their own entries). */
	unsigned (*device_count)(void *ctx);
	/* Fills *out for device `idx`. Fields the device does not support are
	 * left out of out->present. A device that is gone returns
	 * VGMO_ERR_DEVICE_LOST with out->up false and out->down_reason set. */
	vgmo_err (*sample)(void *ctx, unsigned idx, vgmo_gpu_sample *out);
	/* Optional: releases what the backend itself caches on device `idx`
	 * (the simulated allocator's cache). NULL when there is nothing. */
	vgmo_err (*cleanup)(void *ctx, unsigned idx);
	void (*close)(void *ctx);
	/* The last error in one line, owned by the context. */
	const char *(*last_error)(void *ctx);
} vgmo__backend_ops;

extern const vgmo__backend_ops vgmo__backend_sim;
extern const vgmo__backend_ops vgmo__backend_nvml;

/* Looks a backend up by name ("sim", "nvml"); NULL if unknown. */
const vgmo__backend_ops *vgmo__backend_find(const char *name);

#endif
