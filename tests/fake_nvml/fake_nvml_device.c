/*
 * fake_nvml_device.c - the fake libnvidia-ml.so.1's device queries beyond
 * memory: name and UUID, PCI info, sensors, processes, MIG, and error
 * strings. All of them are left out of the minimal variant
 * (FAKE_NVML_MINIMAL); see fake_nvml.c for the variants and the rules the
 * fake keeps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_nvml.h"

/* ------------------------------------------------------- identity, pci */

#ifndef FAKE_NVML_MINIMAL
static nvmlReturn_t copy_text(char *dst, unsigned len, const char *src)
{
	if (dst == NULL)
		return NVML_ERROR_INVALID_ARGUMENT;
	if (strlen(src) + 1 > len)
		return NVML_ERROR_INSUFFICIENT_SIZE;
	memcpy(dst, src, strlen(src) + 1);
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name,
                                      unsigned int length)
{
	struct fake_gpu *d = NULL;
	struct fake_mig *m = NULL;
	nvmlReturn_t ret = fake_enter(device, &d, &m);

	if (ret != NVML_SUCCESS)
		return ret;
	if (m == NULL && (d->unsupported & F_NAME))
		return fake_leave(NVML_ERROR_NOT_SUPPORTED);
	return fake_leave(copy_text(name, length, m ? m->name : d->name));
}

EXPORT nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid,
                                      unsigned int length)
{
	struct fake_gpu *d = NULL;
	struct fake_mig *m = NULL;
	nvmlReturn_t ret = fake_enter(device, &d, &m);

	if (ret != NVML_SUCCESS)
		return ret;
	if (m == NULL && (d->unsupported & F_UUID))
		return fake_leave(NVML_ERROR_NOT_SUPPORTED);
	return fake_leave(copy_text(uuid, length, m ? m->uuid : d->uuid));
}

/* "00000000:18:00.0" -> "0000:18:00.0", as the legacy field holds it. */
static void legacy_bus_id(const char *full, char *out, size_t size)
{
	const char *colon = strchr(full, ':');

	snprintf(out, size, "0000%s", colon ? colon : "");
}

/* Layout 3: nvmlPciInfo_t; otherwise the older 52-byte one. */
static nvmlReturn_t do_pci(nvmlDevice_t device, void *out, int layout)
{
	struct fake_gpu *d = NULL;
	struct fake_mig *m = NULL;
	nvmlReturn_t ret = fake_enter(device, &d, &m);
	unsigned int bus;

	if (ret != NVML_SUCCESS)
		return ret;
	if (out == NULL)
		return fake_leave(NVML_ERROR_INVALID_ARGUMENT);
	if (m != NULL || (d->unsupported & F_PCI))
		return fake_leave(NVML_ERROR_NOT_SUPPORTED);
	bus = (unsigned)strtoul(
	        strchr(d->pci, ':') ? strchr(d->pci, ':') + 1 : "0", NULL, 16);
	if (layout == 3) {
		nvmlPciInfo_t *p = out;

		memset(p, 0, sizeof(*p));
		legacy_bus_id(d->pci, p->busIdLegacy, sizeof(p->busIdLegacy));
		snprintf(p->busId, sizeof(p->busId), "%s", d->pci);
		p->bus = bus;
		p->pciDeviceId = 0x233010DE;
	} else {
		nvmlPciInfoLegacy_t *p = out;

		memset(p, 0, sizeof(*p));
		legacy_bus_id(d->pci, p->busId, sizeof(p->busId));
		p->bus = bus;
		p->pciDeviceId = 0x233010DE;
	}
	return fake_leave(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetPciInfo(nvmlDevice_t device,
                                         nvmlPciInfoLegacy_t *pci)
{
	return do_pci(device, pci, 1);
}

#ifndef FAKE_NVML_NO_V2
EXPORT nvmlReturn_t nvmlDeviceGetPciInfo_v2(nvmlDevice_t device,
                                            nvmlPciInfoLegacy_t *pci)
{
	return do_pci(device, pci, 2);
}
#endif

#ifndef FAKE_NVML_NO_V3
EXPORT nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device,
                                            nvmlPciInfo_t *pci)
{
	return do_pci(device, pci, 3);
}
#endif

/* ------------------------------------------------------------- sensors */

EXPORT nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device,
                                                  nvmlUtilization_t *u)
{
	struct fake_gpu *d = NULL;
	struct fake_mig *m = NULL;
	nvmlReturn_t ret = fake_enter(device, &d, &m);

	if (ret != NVML_SUCCESS)
		return ret;
	if (u == NULL)
		return fake_leave(NVML_ERROR_INVALID_ARGUMENT);
	if (m != NULL || d->mig_mode || (d->unsupported & F_UTIL))
		return fake_leave(NVML_ERROR_NOT_SUPPORTED);
	u->gpu = d->util;
	u->memory = d->util / 3;
	return fake_leave(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensor,
                                             unsigned int *temp)
{
	struct fake_gpu *d = NULL;
	struct fake_mig *m = NULL;
	nvmlReturn_t ret = fake_enter(device, &d, &m);

	if (ret != NVML_SUCCESS)
		return ret;
	if (temp == NULL || sensor != 0)
		return fake_leave(NVML_ERROR_INVALID_ARGUMENT);
	if (m != NULL || (d->unsupported & F_TEMP))
		return fake_leave(NVML_ERROR_NOT_SUPPORTED);
	*temp = d->temp;
	return fake_leave(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device,
                                            unsigned int *power)
{
	struct fake_gpu *d = NULL;
	struct fake_mig *m = NULL;
	nvmlReturn_t ret = fake_enter(device, &d, &m);

	if (ret != NVML_SUCCESS)
		return ret;
	if (power == NULL)
		return fake_leave(NVML_ERROR_INVALID_ARGUMENT);
	if (m != NULL || (d->unsupported & F_POWER))
		return fake_leave(NVML_ERROR_NOT_SUPPORTED);
	*power = d->power_mw;
	return fake_leave(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(
        nvmlDevice_t device, unsigned long long *energy)
{
	struct fake_gpu *d = NULL;
	struct fake_mig *m = NULL;
	nvmlReturn_t ret = fake_enter(device, &d, &m);

	if (ret != NVML_SUCCESS)
		return ret;
	if (energy == NULL)
		return fake_leave(NVML_ERROR_INVALID_ARGUMENT);
	if (m != NULL || (d->unsupported & F_ENERGY))
		return fake_leave(NVML_ERROR_NOT_SUPPORTED);
	*energy = d->energy_mj;
	return fake_leave(NVML_SUCCESS);
}

/* ----------------------------------------------------------- processes */

/* version 1: nvmlProcessInfo_v1_t entries; 2 and 3: nvmlProcessInfo_t. */
static nvmlReturn_t do_procs(nvmlDevice_t device, unsigned int *count,
                             void *infos, int version)
{
	struct fake_gpu *d = NULL;
	struct fake_mig *m = NULL;
	nvmlReturn_t ret;
	unsigned n;

	if (count == NULL)
		return NVML_ERROR_INVALID_ARGUMENT;
	ret = fake_enter(device, &d, &m);
	if (ret != NVML_SUCCESS)
		return ret;
	if (m == NULL && (d->unsupported & F_PROCESSES))
		return fake_leave(NVML_ERROR_NOT_SUPPORTED);
	n = m ? 0 : d->nprocs;
	if (*count < n) {
		*count = n;
		return fake_leave(NVML_ERROR_INSUFFICIENT_SIZE);
	}
	if (n > 0 && infos == NULL)
		return fake_leave(NVML_ERROR_INVALID_ARGUMENT);
	for (unsigned i = 0; i < n; i++) {
		if (version == 1) {
			nvmlProcessInfo_v1_t *p = infos;

			p[i].pid = d->procs[i].pid;
			p[i].usedGpuMemory = d->procs[i].used;
		} else {
			nvmlProcessInfo_t *p = infos;

			p[i].pid = d->procs[i].pid;
			p[i].usedGpuMemory = d->procs[i].used;
			p[i].gpuInstanceId = 0xFFFFFFFFu;
			p[i].computeInstanceId = 0xFFFFFFFFu;
		}
	}
	*count = n;
	return fake_leave(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses(
        nvmlDevice_t device, unsigned int *infoCount,
        nvmlProcessInfo_v1_t *infos)
{
	return do_procs(device, infoCount, infos, 1);
}

#ifndef FAKE_NVML_NO_V2
EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(
        nvmlDevice_t device, unsigned int *infoCount,
        nvmlProcessInfo_v2_t *infos)
{
	return do_procs(device, infoCount, infos, 2);
}
#endif

#ifndef FAKE_NVML_NO_V3
EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(
        nvmlDevice_t device, unsigned int *infoCount, nvmlProcessInfo_t *infos)
{
	return do_procs(device, infoCount, infos, 3);
}
#endif

/* ----------------------------------------------------------------- MIG */

EXPORT nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device,
                                         unsigned int *currentMode,
                                         unsigned int *pendingMode)
{
	struct fake_gpu *d = NULL;
	struct fake_mig *m = NULL;
	nvmlReturn_t ret = fake_enter(device, &d, &m);

	if (ret != NVML_SUCCESS)
		return ret;
	if (currentMode == NULL || pendingMode == NULL)
		return fake_leave(NVML_ERROR_INVALID_ARGUMENT);
	if (m != NULL || (d->unsupported & F_MIG))
		return fake_leave(NVML_ERROR_NOT_SUPPORTED);
	*currentMode = d->mig_mode;
	*pendingMode = d->mig_mode;
	return fake_leave(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t device,
                                                   unsigned int *count)
{
	struct fake_gpu *d = NULL;
	struct fake_mig *m = NULL;
	nvmlReturn_t ret = fake_enter(device, &d, &m);

	if (ret != NVML_SUCCESS)
		return ret;
	if (count == NULL)
		return fake_leave(NVML_ERROR_INVALID_ARGUMENT);
	if (m != NULL || (d->unsupported & F_MIG))
		return fake_leave(NVML_ERROR_NOT_SUPPORTED);
	*count = MIG_SLOTS;
	return fake_leave(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t device,
                                                        unsigned int index,
                                                        nvmlDevice_t *mig)
{
	struct fake_gpu *d = NULL;
	struct fake_mig *m = NULL;
	nvmlReturn_t ret = fake_enter(device, &d, &m);

	if (ret != NVML_SUCCESS)
		return ret;
	if (mig == NULL || m != NULL || index >= MIG_SLOTS)
		return fake_leave(NVML_ERROR_INVALID_ARGUMENT);
	if (d->unsupported & F_MIG)
		return fake_leave(NVML_ERROR_NOT_SUPPORTED);
	if (!d->mig_mode)
		return fake_leave(NVML_ERROR_INVALID_ARGUMENT);
	if (!d->mig[index].present)
		return fake_leave(NVML_ERROR_NOT_FOUND);
	*mig = &d->mig[index].handle;
	return fake_leave(NVML_SUCCESS);
}

/* -------------------------------------------------------------- errors */

EXPORT const char *nvmlErrorString(nvmlReturn_t result)
{
	switch (result) {
	case NVML_SUCCESS:
		return "Success";
	case NVML_ERROR_UNINITIALIZED:
		return "Uninitialized";
	case NVML_ERROR_INVALID_ARGUMENT:
		return "Invalid Argument";
	case NVML_ERROR_NOT_SUPPORTED:
		return "Not Supported";
	case NVML_ERROR_NO_PERMISSION:
		return "Insufficient Permissions";
	case NVML_ERROR_NOT_FOUND:
		return "Not Found";
	case NVML_ERROR_INSUFFICIENT_SIZE:
		return "Insufficient Size";
	case NVML_ERROR_DRIVER_NOT_LOADED:
		return "Driver Not Loaded";
	case NVML_ERROR_GPU_IS_LOST:
		return "GPU is lost";
	case NVML_ERROR_RESET_REQUIRED:
		return "GPU requires reset";
	case NVML_ERROR_ARGUMENT_VERSION_MISMATCH:
		return "Argument version mismatch";
	case NVML_ERROR_GPU_NOT_FOUND:
		return "GPU not found";
	default:
		return "Unknown Error";
	}
}
#endif /* !FAKE_NVML_MINIMAL */
