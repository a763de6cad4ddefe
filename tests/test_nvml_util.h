/*
 * test_nvml_util.h - the fixture of the test_nvml* executables: a scenario
 * for the fake libnvidia-ml.so.1 (fake_nvml/), a fake clock and the NVML
 * backend opened on one of the fake's variants.
 */
#ifndef VGMO_TEST_NVML_UTIL_H
#define VGMO_TEST_NVML_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "util.h"

#define WALL0 1700000000.0
#define GIB (UINT64_C(1) << 30)
#define MIB (UINT64_C(1) << 20)

typedef unsigned long (*call_count_fn)(unsigned int);
typedef unsigned (*init_count_fn)(void);
typedef void (*fail_in_fn)(unsigned int, unsigned long, unsigned long, int);

/* One test's world: a scenario file, a fake clock, the backend context and
 * a second handle on the fake library for its test hooks. */
typedef struct fx {
	char dir[256];
	char scenario[300];
	char lib[512];
	double now; /* fake monotonic seconds */
	vgmo_clock clock;
	vgmo_engine_options opts;
	void *ctx;
	void *hooks; /* dlopen handle of the same fake; closed at teardown */
	call_count_fn calls;
	init_count_fn inits;
	fail_in_fn fail_in;
} fx;

/* Every field a full GPU has. */
extern const uint32_t ALL_FIELDS;

/* The fake clock's two readings (ctx: the fx). */
double fake_mono(void *p);
double fake_wall(void *p);
/* CLOCK_MONOTONIC in seconds, and a sleep of `s` seconds. */
double real_now(void);
void sleep_for(double s);
/* cmocka's setup and teardown: a fresh fx in *state, freed with what it
 * opened. */
int setup(void **state);
int teardown(void **state);
/* Writes the scenario file (printf format). */
void scenario(fx *f, const char *fmt, ...);
/* Points the backend at the fake's `variant` directory. */
void use_variant(fx *f, const char *variant);
/* Opens the backend on `variant`; the error message goes to err. */
vgmo_err try_open(fx *f, const char *variant, char *err, size_t n);
/* try_open() that must succeed; also opens the fake's test hooks. */
void open_ok(fx *f, const char *variant);
/* One sample of GPU `idx` through the backend. */
vgmo_err sample(fx *f, unsigned idx, vgmo_gpu_sample *s);
/* This process's name as the kernel has it. */
void self_comm(char *buf, size_t size);
/* Two GPUs with known values; GPU 0 runs this process and two others. */
void two_gpus(fx *f);
/* The processes two_gpus() put on GPU 0, as a sample shows them. */
void check_processes(const vgmo_gpu_sample *s);

#endif
