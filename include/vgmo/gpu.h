/*
 * vgmo/gpu.h - what a GPU sample holds, and the injectable clock.
 * Part of the public API: include vgmo/vgmo.h, which includes every part.
 */

#ifndef VGMO_GPU_H
#define VGMO_GPU_H

#include "vgmo/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ GPU samples */

#define VGMO_NAME_MAX 96
#define VGMO_UUID_MAX 96
#define VGMO_BUSID_MAX 32
#define VGMO_REASON_MAX 160
#define VGMO_PROC_NAME_MAX 64
#define VGMO_MAX_PROCS 64

/* Bits of vgmo_gpu_sample.present: which optional fields hold a value
 * ([U:bit], vgmo.h). */
enum {
	VGMO_HAS_MEMORY = 1u << 0,        /* memory_total/used/free */
	VGMO_HAS_RESERVED = 1u << 1,      /* memory_reserved */
	VGMO_HAS_UTILIZATION = 1u << 2,   /* utilization */
	VGMO_HAS_TEMPERATURE = 1u << 3,   /* temperature_c */
	VGMO_HAS_POWER = 1u << 4,         /* power_w */
	VGMO_HAS_ENERGY = 1u << 5,        /* energy_j */
	VGMO_HAS_FRAGMENTATION = 1u << 6, /* fragmentation */
	VGMO_HAS_PROCESSES = 1u << 7,     /* processes / process_count */
	VGMO_HAS_MIG_MODE = 1u << 8,      /* mig_enabled */
	VGMO_HAS_PCI = 1u << 9            /* pci_bus_id */
};

typedef struct vgmo_gpu_process {
	uint32_t pid;        /* [U:zero] (a simulated process has none) */
	uint64_t used_bytes; /* [U:max] when the driver does not say */
	char name[VGMO_PROC_NAME_MAX]; /* from /proc/<pid>/comm; [U:empty] */
} vgmo_gpu_process;

typedef struct vgmo_gpu_sample {
	unsigned index; /* position in the engine's device list */
	int parent;     /* for a MIG device: index of its GPU; else -1 */
	char name[VGMO_NAME_MAX];          /* [U:empty] */
	char uuid[VGMO_UUID_MAX];          /* [U:empty] */
	char pci_bus_id[VGMO_BUSID_MAX];   /* [U:bit] VGMO_HAS_PCI */
	bool up;                           /* false: device is down */
	char down_reason[VGMO_REASON_MAX]; /* why, when !up */
	uint32_t present;                  /* VGMO_HAS_* bits */
	/* The optional fields: each is [U:bit], its bit in the enum above. */
	uint64_t memory_total;
	uint64_t memory_used; /* allocated; excludes reserved when v2 */
	uint64_t memory_free;
	uint64_t memory_reserved;
	int memory_api; /* 2: v2 memory info, 1: v1 (used includes reserved);
	                   [U:zero], and [U:bit] VGMO_HAS_MEMORY */
	double utilization;   /* 0..1 */
	double temperature_c; /* degrees Celsius */
	double power_w;       /* watts */
	double energy_j;      /* joules since driver load */
	double fragmentation; /* 0..1 */
	bool mig_enabled;
	unsigned process_count; /* number of entries in processes[] */
	unsigned process_total; /* processes the driver reported (may exceed) */
	vgmo_gpu_process processes[VGMO_MAX_PROCS];
	double sampled_at;     /* wall-clock seconds since the epoch; [U:zero]
	                          (never sampled) */
	double sample_seconds; /* time the backend spent reading it */
} vgmo_gpu_sample;

/* used/total; [U:neg] when memory is absent or total is 0. */
VGMO_API double vgmo_sample_usage(const vgmo_gpu_sample *s);

/* ------------------------------------------------------------------ clock */

/* An injectable clock. `mono` is monotonic seconds (for intervals); `wall`
 * is seconds since the epoch (for timestamps). A NULL clock in the engine
 * options means the real clocks. */
typedef struct vgmo_clock {
	double (*mono)(void *ctx);
	double (*wall)(void *ctx);
	void *ctx;
} vgmo_clock;

#ifdef __cplusplus
}
#endif

#endif /* VGMO_GPU_H */
