/*
 * fake_nvml.h - types and state shared by the fake libnvidia-ml's files:
 * NVML's public types as nvml.h declares them, and the fake driver's one
 * state struct (see fake_nvml.c for what the fake is and scenario.c for
 * the scenario format).
 */
#ifndef VGMO_TESTS_FAKE_NVML_H
#define VGMO_TESTS_FAKE_NVML_H

#include <pthread.h>

#define EXPORT __attribute__((visibility("default")))

typedef enum nvmlReturn_enum {
	NVML_SUCCESS = 0,
	NVML_ERROR_UNINITIALIZED = 1,
	NVML_ERROR_INVALID_ARGUMENT = 2,
	NVML_ERROR_NOT_SUPPORTED = 3,
	NVML_ERROR_NO_PERMISSION = 4,
	NVML_ERROR_NOT_FOUND = 6,
	NVML_ERROR_INSUFFICIENT_SIZE = 7,
	NVML_ERROR_DRIVER_NOT_LOADED = 9,
	NVML_ERROR_FUNCTION_NOT_FOUND = 13,
	NVML_ERROR_GPU_IS_LOST = 15,
	NVML_ERROR_RESET_REQUIRED = 16,
	NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18,
	NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25,
	NVML_ERROR_GPU_NOT_FOUND = 28,
	NVML_ERROR_UNKNOWN = 999
} nvmlReturn_t;

typedef struct nvmlDevice_st *nvmlDevice_t;

typedef struct nvmlMemory_st {
	unsigned long long total;
	unsigned long long free;
	unsigned long long used;
} nvmlMemory_t;

typedef struct nvmlMemory_v2_st {
	unsigned int version;
	unsigned long long total;
	unsigned long long reserved;
	unsigned long long free;
	unsigned long long used;
} nvmlMemory_v2_t;

#define NVML_STRUCT_VERSION(data, ver)                                         \
	(unsigned int)(sizeof(nvml##data##_v##ver##_t) | (ver << 24U))
#define nvmlMemory_v2 NVML_STRUCT_VERSION(Memory, 2)

typedef struct nvmlUtilization_st {
	unsigned int gpu;
	unsigned int memory;
} nvmlUtilization_t;

typedef struct nvmlProcessInfo_v1_st {
	unsigned int pid;
	unsigned long long usedGpuMemory;
} nvmlProcessInfo_v1_t;

typedef struct nvmlProcessInfo_v2_st {
	unsigned int pid;
	unsigned long long usedGpuMemory;
	unsigned int gpuInstanceId;
	unsigned int computeInstanceId;
} nvmlProcessInfo_v2_t, nvmlProcessInfo_t;

/* nvmlPciInfo_t since _v3. */
typedef struct nvmlPciInfo_st {
	char busIdLegacy[16];
	unsigned int domain;
	unsigned int bus;
	unsigned int device;
	unsigned int pciDeviceId;
	unsigned int pciSubSystemId;
	char busId[32];
} nvmlPciInfo_t;

/* nvmlPciInfo_t as _v2 and the plain call knew it. */
typedef struct nvmlPciInfoLegacy_st {
	char busId[16];
	unsigned int domain;
	unsigned int bus;
	unsigned int device;
	unsigned int pciDeviceId;
	unsigned int pciSubSystemId;
	unsigned int reserved0, reserved1, reserved2, reserved3;
} nvmlPciInfoLegacy_t;

_Static_assert(sizeof(nvmlMemory_v2_t) == 40, "nvmlMemory_v2_t");
_Static_assert(nvmlMemory_v2 == 0x02000028u, "nvmlMemory_v2");
_Static_assert(sizeof(nvmlPciInfo_t) == 68, "nvmlPciInfo_t");
_Static_assert(sizeof(nvmlPciInfoLegacy_t) == 52, "legacy nvmlPciInfo_t");
_Static_assert(sizeof(nvmlProcessInfo_v2_t) == 24, "nvmlProcessInfo_v2_t");

#define MAX_GPUS 64
#define MIG_SLOTS 7
#define TEXT 96

enum field {
	F_NAME = 1 << 0,
	F_UUID = 1 << 1,
	F_PCI = 1 << 2,
	F_MEMORY = 1 << 3,
	F_UTIL = 1 << 4,
	F_TEMP = 1 << 5,
	F_POWER = 1 << 6,
	F_ENERGY = 1 << 7,
	F_PROCESSES = 1 << 8,
	F_MIG = 1 << 9
};

struct nvmlDevice_st {
	int gpu;
	int slot; /* -1: the GPU itself */
};

struct fake_proc {
	unsigned int pid;
	unsigned long long used;
};

struct fake_mig {
	int present;
	char name[TEXT];
	char uuid[TEXT];
	unsigned long long total, used, reserved;
	struct nvmlDevice_st handle;
};

struct fake_gpu {
	struct nvmlDevice_st handle;
	char name[TEXT];
	char uuid[TEXT];
	char pci[32];
	unsigned long long total, used, reserved;
	unsigned util, temp, power_mw;
	unsigned long long energy_mj;
	unsigned unsupported; /* enum field bits */
	unsigned mig_mode;
	struct fake_mig mig[MIG_SLOTS];
	struct fake_proc *procs; /* malloc'ed; freed at reset */
	unsigned nprocs, procs_cap;
	unsigned long calls;
	unsigned long lost_after, back_after;
	nvmlReturn_t fail_code;
	double hang_seconds;
	unsigned long hang_after; /* memory calls that answer before it */
	unsigned long memory_calls;
	int hang_done;
};

/* A fake driver has process-wide state by nature: one struct, one mutex. */
struct fake_state {
	pthread_mutex_t mu;
	int refs;
	unsigned inits;
	unsigned ndev;
	nvmlReturn_t init_error, count_error, memory_v2_error;
	struct fake_gpu gpu[MAX_GPUS];
};

extern struct fake_state fake_g;

/* Resets the state and reads $VGMO_FAKE_NVML_SCENARIO; 0, or -1 with a
 * message on stderr. Called with fake_g.mu held. (scenario.c) */
int fake_load_scenario(void);

/* Locks, checks initialisation and the handle, counts the call and applies
 * the failure window. On NVML_SUCCESS the lock is held and *dp (and *mp for
 * a MIG handle, else NULL) are set; on anything else it is released.
 * (fake_nvml.c) */
nvmlReturn_t fake_enter(nvmlDevice_t h, struct fake_gpu **dp,
                        struct fake_mig **mp);
/* Releases the lock fake_enter() took and answers `ret`. (fake_nvml.c) */
nvmlReturn_t fake_leave(nvmlReturn_t ret);

#endif
