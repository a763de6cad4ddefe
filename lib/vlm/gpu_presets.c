/*
 * gpu_presets.c - the GPUs vgmo knows by name: memory as the driver
 * reports it, power and effective rates. The simulated GPU runs them and
 * the planner sizes for them.
 */
#include <string.h>

#include "gpu_presets.h"
#include "util.h"

/* Memory as the driver reports it (nvidia-smi's total, MiB) for the
 * vendors' data-sheet capacities; effective rates about 45 % of the dense
 * 16-bit tensor peak for prefill and 75 % of the memory bandwidth for
 * decode; board power from idle to the data sheet's maximum. */
static const vgmo__sim_preset presets[] = {
        {"l4-24gb", "NVIDIA L4", UINT64_C(23034) * VGMO__MIB, 16.0, 72.0,
         0.45 * 121e12, 0.75 * 300e9},
        {"a10-24gb", "NVIDIA A10", UINT64_C(23028) * VGMO__MIB, 20.0, 150.0,
         0.45 * 125e12, 0.75 * 600e9},
        {"rtx4090-24gb", "NVIDIA GeForce RTX 4090", UINT64_C(24564) * VGMO__MIB,
         20.0, 450.0, 0.45 * 165e12, 0.75 * 1008e9},
        {"l40s-48gb", "NVIDIA L40S", UINT64_C(46068) * VGMO__MIB, 35.0, 350.0,
         0.45 * 362e12, 0.75 * 864e9},
        {"a100-40gb", "NVIDIA A100-SXM4-40GB", UINT64_C(40960) * VGMO__MIB,
         55.0, 400.0, 0.45 * 312e12, 0.75 * 1555e9},
        {"a100-80gb", "NVIDIA A100-SXM4-80GB", UINT64_C(81920) * VGMO__MIB,
         60.0, 400.0, 0.45 * 312e12, 0.75 * 2039e9},
        {"h100-80gb", "NVIDIA H100 80GB HBM3", UINT64_C(81559) * VGMO__MIB,
         70.0, 700.0, 0.45 * 989e12, 0.75 * 3350e9},
        {"h200-141gb", "NVIDIA H200", UINT64_C(143771) * VGMO__MIB, 75.0, 700.0,
         0.45 * 989e12, 0.75 * 4800e9},
};

static const char *const preset_names[] = {
        "l4-24gb",   "a10-24gb",  "rtx4090-24gb", "l40s-48gb", "a100-40gb",
        "a100-80gb", "h100-80gb", "h200-141gb",   NULL};

const char *const *vgmo_sim_presets(void)
{
	return preset_names;
}

const vgmo__sim_preset *vgmo__sim_preset_find(const char *name)
{
	for (size_t i = 0; i < VGMO__ARRAY_LEN(presets); i++)
		if (strcmp(presets[i].name, name) == 0)
			return &presets[i];
	return NULL;
}

vgmo_err vgmo_gpu_preset_memory(const char *name, uint64_t *out)
{
	const vgmo__sim_preset *p = name ? vgmo__sim_preset_find(name) : NULL;

	if (p == NULL)
		return VGMO_ERR_NOT_FOUND;
	*out = p->total;
	return VGMO_OK;
}
