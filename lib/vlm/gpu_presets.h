/*
 * gpu_presets.h - the GPUs vgmo knows by name (internal): the simulated
 * GPU runs them (lib/backend/backend_sim.c), the planner sizes for them.
 */
#ifndef VGMO_LIB_GPU_PRESETS_H
#define VGMO_LIB_GPU_PRESETS_H

#include <stdint.h>

#include "vgmo/vgmo.h"

typedef struct vgmo__sim_preset {
	const char *name;     /* "h100-80gb" */
	const char *gpu_name; /* what the driver would call it */
	uint64_t total;       /* bytes, as nvidia-smi reports them */
	double idle_w, max_w; /* power range */
	double flops;         /* effective 16-bit FLOP/s for prefill */
	double bandwidth;     /* effective memory bytes/s for decode */
} vgmo__sim_preset;

/* The preset named `name`, or NULL. */
const vgmo__sim_preset *vgmo__sim_preset_find(const char *name);

#endif
