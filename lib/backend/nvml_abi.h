/*
 * nvml_abi.h - the slice of NVIDIA's NVML C ABI that vgmo uses, declared by
 * hand so that no nvml.h is needed at build time, plus the table of entry
 * points resolved from a dlopen'ed libnvidia-ml (internal).
 *
 * Layouts follow NVIDIA's public nvml.h and NVML API reference (x86-64);
 * each type names the NVML type it mirrors. The traps (versioned structs,
 * _v2 symbols, fallbacks) are handled in nvml_loader.c.
 */
#ifndef VGMO_LIB_NVML_ABI_H
#define VGMO_LIB_NVML_ABI_H

#include <stdatomic.h>
#include <stddef.h>

#include "vgmo/vgmo.h"

/* nvmlReturn_t: an enum, int-sized on every ABI NVML ships for. */
typedef int vgmo__nvml_ret;

enum {
	VGMO__NVML_SUCCESS = 0,
	VGMO__NVML_ERROR_UNINITIALIZED = 1,
	VGMO__NVML_ERROR_INVALID_ARGUMENT = 2,
	VGMO__NVML_ERROR_NOT_SUPPORTED = 3,
	VGMO__NVML_ERROR_NO_PERMISSION = 4,
	VGMO__NVML_ERROR_NOT_FOUND = 6,
	VGMO__NVML_ERROR_INSUFFICIENT_SIZE = 7,
	VGMO__NVML_ERROR_DRIVER_NOT_LOADED = 9,
	VGMO__NVML_ERROR_TIMEOUT = 10,
	VGMO__NVML_ERROR_LIBRARY_NOT_FOUND = 12,
	VGMO__NVML_ERROR_FUNCTION_NOT_FOUND = 13,
	VGMO__NVML_ERROR_GPU_IS_LOST = 15,
	VGMO__NVML_ERROR_RESET_REQUIRED = 16,
	VGMO__NVML_ERROR_OPERATING_SYSTEM = 17,
	VGMO__NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18,
	VGMO__NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25,
	VGMO__NVML_ERROR_GPU_NOT_FOUND = 28,
	VGMO__NVML_ERROR_UNKNOWN = 999
};

/* nvmlDevice_t: an opaque pointer owned by the driver. */
typedef struct vgmo__nvml_device_st *vgmo__nvml_device;

/* nvmlMemory_t (v1): `used` includes driver-reserved memory (R510+). */
typedef struct vgmo__nvml_memory_v1 {
	unsigned long long total;
	unsigned long long free;
	unsigned long long used;
} vgmo__nvml_memory_v1;

/* nvmlMemory_v2_t: `used` excludes `reserved` (what nvidia-smi shows). */
typedef struct vgmo__nvml_memory_v2 {
	unsigned int version;
	unsigned long long total;
	unsigned long long reserved;
	unsigned long long free;
	unsigned long long used;
} vgmo__nvml_memory_v2;

/* NVML_STRUCT_VERSION(data, ver): sizeof | ver << 24. Never plain `ver`. */
#define VGMO__NVML_STRUCT_VERSION(type, ver)                                   \
	((unsigned int)(sizeof(type) | ((unsigned int)(ver) << 24)))
#define VGMO__NVML_MEMORY_V2_VERSION                                           \
	VGMO__NVML_STRUCT_VERSION(vgmo__nvml_memory_v2, 2)

/* nvmlUtilization_t: percent of time busy over the last sample period. */
typedef struct vgmo__nvml_utilization {
	unsigned int gpu;
	unsigned int memory;
} vgmo__nvml_utilization;

/* nvmlProcessInfo_v1_t: what plain nvmlDeviceGetComputeRunningProcesses
 * fills. */
typedef struct vgmo__nvml_process_v1 {
	unsigned int pid;
	unsigned long long used_gpu_memory;
} vgmo__nvml_process_v1;

/* nvmlProcessInfo_v2_t (= nvmlProcessInfo_t): filled by _v2 and _v3. */
typedef struct vgmo__nvml_process_v2 {
	unsigned int pid;
	unsigned long long used_gpu_memory;
	unsigned int gpu_instance_id;     /* 0xFFFFFFFF when MIG is off */
	unsigned int compute_instance_id; /* 0xFFFFFFFF when MIG is off */
} vgmo__nvml_process_v2;

/* The widest process entry any driver is known to have written (some R535
 * builds briefly used 32 bytes for _v3). Buffers are sized with this so a
 * wider-than-declared entry cannot write past them. */
#define VGMO__NVML_PROCESS_MAX_STRIDE 32

/* nvmlPciInfo_t as filled by nvmlDeviceGetPciInfo_v3 (68 bytes). */
typedef struct vgmo__nvml_pci_v3 {
	char bus_id_legacy[16];
	unsigned int domain;
	unsigned int bus;
	unsigned int device;
	unsigned int pci_device_id;
	unsigned int pci_subsystem_id;
	char bus_id[32];
} vgmo__nvml_pci_v3;

/* nvmlPciInfo_t before v3, as filled by _v2 and plain (52 bytes). */
typedef struct vgmo__nvml_pci_v1 {
	char bus_id[16];
	unsigned int domain;
	unsigned int bus;
	unsigned int device;
	unsigned int pci_device_id;
	unsigned int pci_subsystem_id;
	unsigned int reserved[4];
} vgmo__nvml_pci_v1;

/* Big enough for whichever layout the resolved symbol fills. */
typedef union vgmo__nvml_pci {
	vgmo__nvml_pci_v3 v3;
	vgmo__nvml_pci_v1 v1;
} vgmo__nvml_pci;

/* Buffer sizes the NVML documentation calls safe. */
#define VGMO__NVML_NAME_BUFFER 96
#define VGMO__NVML_UUID_BUFFER 96
#define VGMO__NVML_TEMPERATURE_GPU 0
#define VGMO__NVML_DEVICE_MIG_ENABLE 1

/*
 * The entry points of one loaded libnvidia-ml. Required ones are never NULL
 * after vgmo__nvml_load succeeded; an optional one is NULL when the library
 * lacks every version of it (the field it reads is then absent). The `*_api`
 * numbers say which symbol version was resolved: they decide struct layouts.
 * Read-only after loading, so any thread may call through it; `inits` is the
 * one mutable field.
 */
typedef struct vgmo__nvml_lib {
	void *dl; /* dlopen handle; closed by vgmo__nvml_unload */
	char path[256];
	atomic_uint inits; /* successful nvmlInit calls to undo at unload */

	/* required */
	vgmo__nvml_ret (*init)(void); /* nvmlInit_v2, else nvmlInit */
	vgmo__nvml_ret (*shutdown)(void);
	vgmo__nvml_ret (*device_count)(unsigned int *);
	vgmo__nvml_ret (*device_handle)(unsigned int, vgmo__nvml_device *);
	int init_api; /* 2 or 1 */

	/* optional */
	const char *(*error_string)(vgmo__nvml_ret);
	vgmo__nvml_ret (*name)(vgmo__nvml_device, char *, unsigned int);
	vgmo__nvml_ret (*uuid)(vgmo__nvml_device, char *, unsigned int);
	vgmo__nvml_ret (*pci)(vgmo__nvml_device, vgmo__nvml_pci *);
	int pci_api; /* 3, 2 or 1; 0 when missing */
	vgmo__nvml_ret (*memory_v2)(vgmo__nvml_device, vgmo__nvml_memory_v2 *);
	vgmo__nvml_ret (*memory_v1)(vgmo__nvml_device, vgmo__nvml_memory_v1 *);
	vgmo__nvml_ret (*utilization)(vgmo__nvml_device,
	                              vgmo__nvml_utilization *);
	vgmo__nvml_ret (*temperature)(vgmo__nvml_device, int, unsigned int *);
	vgmo__nvml_ret (*power)(vgmo__nvml_device, unsigned int *);
	vgmo__nvml_ret (*energy)(vgmo__nvml_device, unsigned long long *);
	/* Fills `*count` entries of `procs_stride` bytes each. */
	vgmo__nvml_ret (*processes)(vgmo__nvml_device, unsigned int *, void *);
	int procs_api; /* 3, 2 or 1; 0 when missing */
	size_t procs_stride;
	vgmo__nvml_ret (*mig_mode)(vgmo__nvml_device, unsigned int *,
	                           unsigned int *);
	vgmo__nvml_ret (*mig_max)(vgmo__nvml_device, unsigned int *);
	vgmo__nvml_ret (*mig_handle)(vgmo__nvml_device, unsigned int,
	                             vgmo__nvml_device *);
} vgmo__nvml_lib;

/* Loads `path` (NULL: $VGMO_NVML_LIBRARY, then libnvidia-ml.so.1, then
 * libnvidia-ml.so) and resolves the entry points into *lib. Does not call
 * nvmlInit. On failure *lib holds nothing to release and `err` says
 * "NVML: <name> not found" or what is wrong, in one line (VGMO_ERR_LIBRARY).
 * (nvml_loader.c) */
vgmo_err vgmo__nvml_load(vgmo__nvml_lib *lib, const char *path, char *err,
                         size_t errlen);

/* Calls nvmlInit and counts a success for vgmo__nvml_unload to undo. */
vgmo__nvml_ret vgmo__nvml_init(vgmo__nvml_lib *lib);

/* Undoes every counted nvmlInit with nvmlShutdown and closes the library. */
void vgmo__nvml_unload(vgmo__nvml_lib *lib);

/* The driver's text for `ret` (nvmlErrorString), else a built-in one;
 * static, never NULL. */
const char *vgmo__nvml_strerror(const vgmo__nvml_lib *lib, vgmo__nvml_ret ret);

/* True for the codes that mean the device or the driver is gone:
 * UNINITIALIZED, DRIVER_NOT_LOADED, GPU_IS_LOST, RESET_REQUIRED,
 * LIB_RM_VERSION_MISMATCH, GPU_NOT_FOUND. */
int vgmo__nvml_is_lifecycle(vgmo__nvml_ret ret);

#endif
