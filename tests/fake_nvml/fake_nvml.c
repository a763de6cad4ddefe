/*
 * fake_nvml.c - a fake libnvidia-ml.so.1 for vgmo's tests and benchmark.
 *
 * Same symbol names, calling conventions and struct layouts as NVIDIA's
 * library, and as strict where the real one is strict:
 *  - nvmlDeviceGetMemoryInfo_v2 refuses a struct whose version is not
 *    NVML_STRUCT_VERSION(Memory, 2) = 0x02000028 (ARGUMENT_VERSION_MISMATCH);
 *  - v1 memory info reports `used` INCLUDING reserved memory, v2 reports it
 *    apart (used + reserved + free = total);
 *  - process lists answer INSUFFICIENT_SIZE with the needed count;
 *  - utilisation is NOT_SUPPORTED on a MIG-enabled GPU and on MIG devices;
 *  - every call before nvmlInit (or after the last nvmlShutdown) answers
 *    UNINITIALIZED.
 *
 * Built several times from these sources (tests/CMakeLists.txt; the
 * device queries beyond memory are in fake_nvml_device.c), one
 * directory per variant, so that a "missing symbol" is really missing for
 * dlsym:
 *   full      every symbol
 *   nov3      -DFAKE_NVML_NO_V3: no nvmlDeviceGetPciInfo_v3 and no
 *             nvmlDeviceGetComputeRunningProcesses_v3
 *   legacy    -DFAKE_NVML_NO_V3 -DFAKE_NVML_NO_V2: also no nvmlInit_v2,
 *             nvmlDeviceGetCount_v2, nvmlDeviceGetHandleByIndex_v2,
 *             nvmlDeviceGetPciInfo_v2, nvmlDeviceGetMemoryInfo_v2,
 *             nvmlDeviceGetComputeRunningProcesses_v2
 *   minimal   legacy plus -DFAKE_NVML_MINIMAL: only nvmlInit, nvmlShutdown,
 *             nvmlDeviceGetCount, nvmlDeviceGetHandleByIndex and
 *             nvmlDeviceGetMemoryInfo
 *   broken    -DFAKE_NVML_NO_COUNT: no nvmlDeviceGetCount of any version
 *
 * Scenario: the file named by $VGMO_FAKE_NVML_SCENARIO (format: scenario.c).
 *
 * Test hooks (not NVML): fakeNvmlCallCount(I) is GPU I's call counter,
 * fakeNvmlInitCount() the successful nvmlInit calls since the scenario was
 * loaded, fakeNvmlFailIn(I, AFTER, BACK, CODE) arms a failure window
 * relative to now: GPU I's AFTER-th call from now answers CODE, and so do
 * the calls after it until the BACK-th (0: never back).
 *
 * Unlike vgmo, a fake driver has process-wide state by nature: one struct
 * guarded by one mutex (fake_nvml.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_nvml.h"

/* ------------------------------------------------------------- helpers */

static int failing(const struct fake_gpu *d)
{
	return d->lost_after > 0 && d->calls >= d->lost_after &&
	       (d->back_after == 0 || d->calls < d->back_after);
}

/* Locks, checks initialisation and the handle, counts the call and applies
 * the failure window. On NVML_SUCCESS the lock is held and *dp (and *mp for
 * a MIG handle, else NULL) are set; on anything else it is released. */
nvmlReturn_t fake_enter(nvmlDevice_t h, struct fake_gpu **dp,
                        struct fake_mig **mp)
{
	struct fake_gpu *d = NULL;
	nvmlReturn_t ret = NVML_SUCCESS;

	pthread_mutex_lock(&fake_g.mu);
	if (fake_g.refs == 0) {
		ret = NVML_ERROR_UNINITIALIZED;
		goto out;
	}
	if (h == NULL || h->gpu < 0 || (unsigned)h->gpu >= fake_g.ndev) {
		ret = NVML_ERROR_INVALID_ARGUMENT;
		goto out;
	}
	d = &fake_g.gpu[h->gpu];
	if (h->slot < 0 && h != &d->handle) {
		ret = NVML_ERROR_INVALID_ARGUMENT;
		goto out;
	}
	if (h->slot >= 0 &&
	    (h->slot >= MIG_SLOTS || h != &d->mig[h->slot].handle ||
	     !d->mig[h->slot].present || !d->mig_mode)) {
		ret = NVML_ERROR_INVALID_ARGUMENT;
		goto out;
	}
	if (h->slot < 0)
		d->calls++;
	if (failing(d)) {
		ret = d->fail_code;
		goto out;
	}
	*dp = d;
	if (mp)
		*mp = h->slot >= 0 ? &d->mig[h->slot] : NULL;
	return NVML_SUCCESS;
out:
	pthread_mutex_unlock(&fake_g.mu);
	return ret;
}

nvmlReturn_t fake_leave(nvmlReturn_t ret)
{
	pthread_mutex_unlock(&fake_g.mu);
	return ret;
}

/* One memory call of the GPU (the first, or the one after `hang_after`)
 * may hang: sleeps with the lock released. */
static void maybe_hang(struct fake_gpu *d)
{
	double s = d->hang_seconds;
	struct timespec ts;

	if (s <= 0 || d->hang_done || d->memory_calls++ < d->hang_after)
		return;
	d->hang_done = 1;
	pthread_mutex_unlock(&fake_g.mu);
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0)
		;
	pthread_mutex_lock(&fake_g.mu);
}

/* -------------------------------------------------------- init, count */

static nvmlReturn_t do_init(void)
{
	nvmlReturn_t ret = NVML_SUCCESS;

	pthread_mutex_lock(&fake_g.mu);
	if (fake_g.refs == 0 && fake_load_scenario() != 0)
		ret = NVML_ERROR_UNKNOWN;
	else if (fake_g.init_error != NVML_SUCCESS)
		ret = fake_g.init_error;
	if (ret == NVML_SUCCESS) {
		fake_g.refs++;
		fake_g.inits++;
	}
	pthread_mutex_unlock(&fake_g.mu);
	return ret;
}

EXPORT nvmlReturn_t nvmlInit(void)
{
	return do_init();
}

#ifndef FAKE_NVML_NO_V2
EXPORT nvmlReturn_t nvmlInit_v2(void)
{
	return do_init();
}
#endif

EXPORT nvmlReturn_t nvmlShutdown(void)
{
	nvmlReturn_t ret = NVML_SUCCESS;

	pthread_mutex_lock(&fake_g.mu);
	if (fake_g.refs == 0)
		ret = NVML_ERROR_UNINITIALIZED;
	else
		fake_g.refs--;
	pthread_mutex_unlock(&fake_g.mu);
	return ret;
}

#ifndef FAKE_NVML_NO_COUNT
static nvmlReturn_t do_count(unsigned int *count)
{
	nvmlReturn_t ret = NVML_SUCCESS;

	if (count == NULL)
		return NVML_ERROR_INVALID_ARGUMENT;
	pthread_mutex_lock(&fake_g.mu);
	if (fake_g.refs == 0)
		ret = NVML_ERROR_UNINITIALIZED;
	else if (fake_g.count_error != NVML_SUCCESS)
		ret = fake_g.count_error;
	else
		*count = fake_g.ndev;
	pthread_mutex_unlock(&fake_g.mu);
	return ret;
}

EXPORT nvmlReturn_t nvmlDeviceGetCount(unsigned int *count)
{
	return do_count(count);
}

#ifndef FAKE_NVML_NO_V2
EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count)
{
	return do_count(count);
}
#endif
#endif

static nvmlReturn_t do_handle(unsigned int index, nvmlDevice_t *device)
{
	nvmlReturn_t ret = NVML_SUCCESS;
	struct fake_gpu *d = NULL;

	if (device == NULL)
		return NVML_ERROR_INVALID_ARGUMENT;
	pthread_mutex_lock(&fake_g.mu);
	if (fake_g.refs == 0) {
		ret = NVML_ERROR_UNINITIALIZED;
		goto out;
	}
	if (index >= fake_g.ndev) {
		ret = NVML_ERROR_INVALID_ARGUMENT;
		goto out;
	}
	d = &fake_g.gpu[index];
	d->calls++;
	if (failing(d))
		ret = d->fail_code;
	else
		*device = &d->handle;
out:
	pthread_mutex_unlock(&fake_g.mu);
	return ret;
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index,
                                               nvmlDevice_t *device)
{
	return do_handle(index, device);
}

#ifndef FAKE_NVML_NO_V2
EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index,
                                                  nvmlDevice_t *device)
{
	return do_handle(index, device);
}
#endif

/* -------------------------------------------------------------- memory */

static void memory_of(const struct fake_gpu *d, const struct fake_mig *m,
                      unsigned long long *total, unsigned long long *used,
                      unsigned long long *reserved)
{
	*total = m ? m->total : d->total;
	*used = m ? m->used : d->used;
	*reserved = m ? m->reserved : d->reserved;
}

EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device,
                                            nvmlMemory_t *memory)
{
	struct fake_gpu *d = NULL;
	struct fake_mig *m = NULL;
	unsigned long long total, used, reserved;
	nvmlReturn_t ret = fake_enter(device, &d, &m);

	if (ret != NVML_SUCCESS)
		return ret;
	if (memory == NULL)
		return fake_leave(NVML_ERROR_INVALID_ARGUMENT);
	if (m == NULL && (d->unsupported & F_MEMORY))
		return fake_leave(NVML_ERROR_NOT_SUPPORTED);
	if (m == NULL)
		maybe_hang(d);
	memory_of(d, m, &total, &used, &reserved);
	memory->total = total;
	memory->used = used + reserved; /* v1: used includes reserved */
	memory->free = total - used - reserved;
	return fake_leave(NVML_SUCCESS);
}

#ifndef FAKE_NVML_NO_V2
EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t device,
                                               nvmlMemory_v2_t *memory)
{
	struct fake_gpu *d = NULL;
	struct fake_mig *m = NULL;
	unsigned long long total, used, reserved;
	nvmlReturn_t ret = fake_enter(device, &d, &m);

	if (ret != NVML_SUCCESS)
		return ret;
	if (memory == NULL)
		return fake_leave(NVML_ERROR_INVALID_ARGUMENT);
	if (memory->version != nvmlMemory_v2)
		return fake_leave(NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
	if (fake_g.memory_v2_error != NVML_SUCCESS)
		return fake_leave(fake_g.memory_v2_error);
	if (m == NULL && (d->unsupported & F_MEMORY))
		return fake_leave(NVML_ERROR_NOT_SUPPORTED);
	if (m == NULL)
		maybe_hang(d);
	memory_of(d, m, &total, &used, &reserved);
	memory->total = total;
	memory->reserved = reserved;
	memory->used = used;
	memory->free = total - used - reserved;
	return fake_leave(NVML_SUCCESS);
}
#endif

/* ----------------------------------------------------------- test hooks */

EXPORT unsigned long fakeNvmlCallCount(unsigned int gpu)
{
	unsigned long n = 0;

	pthread_mutex_lock(&fake_g.mu);
	if (gpu < MAX_GPUS)
		n = fake_g.gpu[gpu].calls;
	pthread_mutex_unlock(&fake_g.mu);
	return n;
}

EXPORT unsigned fakeNvmlInitCount(void)
{
	unsigned n;

	pthread_mutex_lock(&fake_g.mu);
	n = fake_g.inits;
	pthread_mutex_unlock(&fake_g.mu);
	return n;
}

EXPORT void fakeNvmlFailIn(unsigned int gpu, unsigned long after,
                           unsigned long back, int code)
{
	pthread_mutex_lock(&fake_g.mu);
	if (gpu < MAX_GPUS) {
		struct fake_gpu *d = &fake_g.gpu[gpu];

		d->lost_after = d->calls + after;
		d->back_after = back ? d->calls + back : 0;
		d->fail_code = (nvmlReturn_t)code;
	}
	pthread_mutex_unlock(&fake_g.mu);
}
