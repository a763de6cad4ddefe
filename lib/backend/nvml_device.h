/*
 * nvml_device.h - one NVML device entry (a GPU or a MIG device): its handle,
 * identity, down/back-off state, and the reads that fill a vgmo_gpu_sample
 * (internal).
 *
 * An entry is touched by one thread at a time: the opener while enumerating,
 * then only the worker thread that samples it.
 */
#ifndef VGMO_LIB_NVML_DEVICE_H
#define VGMO_LIB_NVML_DEVICE_H

#include <stdbool.h>

#include "nvml_abi.h"

/* Back-off between retries of a device that is down (seconds). */
#define VGMO__NVML_BACKOFF_FIRST 1.0
#define VGMO__NVML_BACKOFF_MAX 60.0
/* Most process entries ever asked of the driver for one device. */
#define VGMO__NVML_PROCS_LIMIT 4096u
#define VGMO__NVML_PROCS_FIRST 32u
/* A process name read from /proc is reused while its pid stays on the
 * device, for at most this long (seconds). */
#define VGMO__NVML_NAME_TTL 30.0

typedef struct vgmo__nvml_pname {
	unsigned pid;
	double read_at; /* engine-clock seconds */
	char name[VGMO_PROC_NAME_MAX];
} vgmo__nvml_pname;

typedef struct vgmo__nvml_entry {
	unsigned index; /* position in the backend's device list */
	int parent;     /* parent entry index for a MIG device, else -1 */
	unsigned phys;  /* NVML index of the GPU (the parent's for MIG) */
	int mig_slot;   /* MIG device slot on the parent, else -1 */
	vgmo__nvml_device handle; /* NULL while down */

	char name[VGMO_NAME_MAX];
	char uuid[VGMO_UUID_MAX];
	char pci_bus_id[VGMO_BUSID_MAX]; /* "" when unknown */

	int memory_api; /* 0: try v2 first; 1: v2 was refused, use v1 */

	bool down;
	char down_reason[VGMO_REASON_MAX];
	double retry_at; /* engine-clock seconds of the next retry */
	double backoff;  /* seconds until the retry after that */

	/* Process list buffer: procs_cap entries of the widest known stride.
	 * Owned by the entry; freed by vgmo__nvml_entry_free. */
	unsigned char *procs;
	unsigned procs_cap;

	/* Names of the processes of the last sample, to spare /proc reads. */
	vgmo__nvml_pname names[VGMO_MAX_PROCS];
	unsigned nnames;
} vgmo__nvml_entry;

/* Acquires the handle of a GPU (mig_slot < 0) or MIG device and reads its
 * identity. On a failure the entry is marked down with retry at
 * now + VGMO__NVML_BACKOFF_FIRST; returns the NVML code. `pci_parent` (may
 * be NULL) is a bus id to inherit when a MIG device has none of its own. */
vgmo__nvml_ret vgmo__nvml_entry_acquire(vgmo__nvml_lib *lib,
                                        vgmo__nvml_entry *e,
                                        const char *pci_parent, double now);

/* Reads every field of entry `e` into *out at engine-clock time `now`
 * (monotonic seconds, for the back-off). Fields the device does not support
 * are left out of out->present. A device that is down (or goes down now)
 * returns VGMO_ERR_DEVICE_LOST with out->up false and the reason; it is
 * retried with exponential back-off, re-acquiring the handle (and calling
 * nvmlInit again if the driver says it is uninitialised). */
vgmo_err vgmo__nvml_entry_read(vgmo__nvml_lib *lib, vgmo__nvml_entry *e,
                               double now, vgmo_gpu_sample *out);

/* Frees what the entry owns (not the entry itself). */
void vgmo__nvml_entry_free(vgmo__nvml_entry *e);

#endif
