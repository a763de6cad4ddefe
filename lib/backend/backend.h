/*
 * backend.h - the one interface every GPU backend fills (internal).
 *
 * Each backend is one file (backend_sim.c, backend_nvml.c) exporting one
 * `static const`-initialised ops table. The engine picks a table through
 * backend.c (by name, or "auto"), asks what it can do through `caps`, and
 * never looks inside a backend's context: only the backend's own typed
 * entry points do (vgmo__sim_of in sim.h).
 */
#ifndef VGMO_LIB_BACKEND_H
#define VGMO_LIB_BACKEND_H

#include "vgmo/vgmo.h"

/* What a backend does beyond the ops every backend fills (`caps`). */
enum {
	/* It runs on a virtual clock that the engine keeps and whoever drives
	 * the backend advances (unless the caller brings a clock). */
	VGMO__BACKEND_VIRTUAL_CLOCK = 1u << 0,
	/* Its samples leave out what registered clients hold (they run on no
	 * device of its): the engine adds their reported memory. */
	VGMO__BACKEND_UNSEEN_CLIENTS = 1u << 1,
};

typedef struct vgmo__backend_ops {
	const char *name;
	const char *about; /* for people: "NVML", "the simulated GPU" */
	unsigned caps;     /* VGMO__BACKEND_* */
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

/* Backend "auto": tries the backends of the auto order (NVML) in turn; the
 * first that opens with a device wins, opened in *ctx. Otherwise returns
 * the fallback (the simulated GPU), not opened (*ctx NULL), and `notice`
 * says in one line why the others were passed over. */
const vgmo__backend_ops *vgmo__backend_auto(const vgmo_engine_options *opts,
                                            void **ctx, char *notice,
                                            size_t len);

#endif
