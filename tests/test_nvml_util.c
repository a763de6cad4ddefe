/*
 * test_nvml_util.c - the fixture of the test_nvml* executables: a scenario
 * for the fake libnvidia-ml.so.1 (fake_nvml/), a fake clock and the NVML
 * backend opened on one of the fake's variants.
 */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_nvml_util.h"

#ifndef VGMO_FAKE_NVML_DIR
#define VGMO_FAKE_NVML_DIR "tests/fake_nvml"
#endif

double fake_mono(void *p)
{
	return ((fx *)p)->now;
}

double fake_wall(void *p)
{
	return WALL0 + ((fx *)p)->now;
}

double real_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sleep_for(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (long)s) * 1e9)};

	while (nanosleep(&ts, &ts) != 0)
		;
}

int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "%s/vgmo-nvml-XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->scenario, sizeof(f->scenario), "%s/scenario", f->dir);
	setenv("VGMO_FAKE_NVML_SCENARIO", f->scenario, 1);
	unsetenv("VGMO_NVML_LIBRARY");
	f->now = 100.0;
	f->clock.mono = fake_mono;
	f->clock.wall = fake_wall;
	f->clock.ctx = f;
	f->opts.backend = "nvml";
	f->opts.clock = &f->clock;
	*state = f;
	return 0;
}

int teardown(void **state)
{
	fx *f = *state;

	if (f->ctx != NULL)
		vgmo__backend_nvml.close(f->ctx);
	if (f->hooks != NULL)
		dlclose(f->hooks);
	unlink(f->scenario);
	rmdir(f->dir);
	unsetenv("VGMO_FAKE_NVML_SCENARIO");
	free(f);
	return 0;
}

void scenario(fx *f, const char *fmt, ...)
{
	va_list ap;
	FILE *out = fopen(f->scenario, "w");

	assert_non_null(out);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	assert_int_equal(fclose(out), 0);
}

void use_variant(fx *f, const char *variant)
{
	const char *dir = getenv("VGMO_FAKE_NVML_DIR");

	snprintf(f->lib, sizeof(f->lib), "%s/%s/libnvidia-ml.so.1",
	         dir ? dir : VGMO_FAKE_NVML_DIR, variant);
	f->opts.nvml_library = f->lib;
}

vgmo_err try_open(fx *f, const char *variant, char *err, size_t n)
{
	use_variant(f, variant);
	return vgmo__backend_nvml.open(&f->ctx, &f->opts, err, n);
}

/* Opens the backend on `variant` and binds the fake's test hooks. */
void open_ok(fx *f, const char *variant)
{
	char err[256] = "";
	vgmo_err rc = try_open(f, variant, err, sizeof(err));

	if (rc != VGMO_OK)
		fail_msg("open: %s (%s)", vgmo_strerror(rc), err);
	assert_non_null(f->ctx);
	f->hooks = dlopen(f->lib, RTLD_NOW | RTLD_NOLOAD);
	assert_non_null(f->hooks);
	f->calls = (call_count_fn)dlsym(f->hooks, "fakeNvmlCallCount");
	f->inits = (init_count_fn)dlsym(f->hooks, "fakeNvmlInitCount");
	f->fail_in = (fail_in_fn)dlsym(f->hooks, "fakeNvmlFailIn");
	assert_non_null(f->calls);
	assert_non_null(f->inits);
	assert_non_null(f->fail_in);
}

vgmo_err sample(fx *f, unsigned idx, vgmo_gpu_sample *s)
{
	return vgmo__backend_nvml.sample(f->ctx, idx, s);
}

void self_comm(char *buf, size_t size)
{
	FILE *in = fopen("/proc/self/comm", "r");

	assert_non_null(in);
	assert_non_null(fgets(buf, (int)size, in));
	fclose(in);
	buf[strcspn(buf, "\n")] = '\0';
}

const uint32_t ALL_FIELDS =
        VGMO_HAS_MEMORY | VGMO_HAS_RESERVED | VGMO_HAS_UTILIZATION |
        VGMO_HAS_TEMPERATURE | VGMO_HAS_POWER | VGMO_HAS_ENERGY |
        VGMO_HAS_PROCESSES | VGMO_HAS_MIG_MODE | VGMO_HAS_PCI;

/* Two GPUs with known values; GPU 0 runs this process and two others. */
void two_gpus(fx *f)
{
	scenario(f,
	         "# two GPUs\n"
	         "devices 2\n"
	         "device 0 name \"NVIDIA H100 80GB HBM3\" uuid GPU-aaaa "
	         "total 85520809984 used 10737418240 reserved 536870912 "
	         "util 37 temp 45 power_mw 250500 energy_mj 1234567\n"
	         "device 1 name \"NVIDIA A100-SXM4-40GB\" uuid GPU-bbbb "
	         "pci 00000000:3B:00.0 total 42949672960 used 1073741824 "
	         "reserved 268435456\n"
	         "proc 0 %u 2147483648\n"
	         "proc 0 4000001 1048576\n"
	         "proc 0 4000002 3145728\n",
	         (unsigned)getpid());
}

void check_processes(const vgmo_gpu_sample *s)
{
	char comm[64];

	self_comm(comm, sizeof(comm));
	assert_true(s->present & VGMO_HAS_PROCESSES);
	assert_int_equal(s->process_total, 3);
	assert_int_equal(s->process_count, 3);
	assert_int_equal(s->processes[0].pid, (unsigned)getpid());
	assert_int_equal(s->processes[0].used_bytes, 2 * GIB);
	assert_string_equal(s->processes[0].name, comm);
	assert_int_equal(s->processes[1].pid, 4000001);
	assert_int_equal(s->processes[1].used_bytes, MIB);
	assert_int_equal(s->processes[2].pid, 4000002);
	assert_int_equal(s->processes[2].used_bytes, 3 * MIB);
}
