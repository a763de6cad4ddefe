/*
 * test_nvml.c - the NVML backend through its ops table and the real dlopen
 * path, against the fake libnvidia-ml.so.1 variants in fake_nvml/.
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

#include "backend.h"
#include "util.h"

#ifndef VGMO_FAKE_NVML_DIR
#define VGMO_FAKE_NVML_DIR "tests/fake_nvml"
#endif

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

static double fake_mono(void *p)
{
	return ((fx *)p)->now;
}

static double fake_wall(void *p)
{
	return WALL0 + ((fx *)p)->now;
}

static double real_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_for(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (long)s) * 1e9)};

	while (nanosleep(&ts, &ts) != 0)
		;
}

static int setup(void **state)
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

static int teardown(void **state)
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

static void scenario(fx *f, const char *fmt, ...)
{
	va_list ap;
	FILE *out = fopen(f->scenario, "w");

	assert_non_null(out);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	assert_int_equal(fclose(out), 0);
}

static void use_variant(fx *f, const char *variant)
{
	const char *dir = getenv("VGMO_FAKE_NVML_DIR");

	snprintf(f->lib, sizeof(f->lib), "%s/%s/libnvidia-ml.so.1",
	         dir ? dir : VGMO_FAKE_NVML_DIR, variant);
	f->opts.nvml_library = f->lib;
}

static vgmo_err try_open(fx *f, const char *variant, char *err, size_t n)
{
	use_variant(f, variant);
	return vgmo__backend_nvml.open(&f->ctx, &f->opts, err, n);
}

/* Opens the backend on `variant` and binds the fake's test hooks. */
static void open_ok(fx *f, const char *variant)
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

static vgmo_err sample(fx *f, unsigned idx, vgmo_gpu_sample *s)
{
	return vgmo__backend_nvml.sample(f->ctx, idx, s);
}

static void self_comm(char *buf, size_t size)
{
	FILE *in = fopen("/proc/self/comm", "r");

	assert_non_null(in);
	assert_non_null(fgets(buf, (int)size, in));
	fclose(in);
	buf[strcspn(buf, "\n")] = '\0';
}

static const uint32_t ALL_FIELDS =
        VGMO_HAS_MEMORY | VGMO_HAS_RESERVED | VGMO_HAS_UTILIZATION |
        VGMO_HAS_TEMPERATURE | VGMO_HAS_POWER | VGMO_HAS_ENERGY |
        VGMO_HAS_PROCESSES | VGMO_HAS_MIG_MODE | VGMO_HAS_PCI;

/* Two GPUs with known values; GPU 0 runs this process and two others. */
static void two_gpus(fx *f)
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

static void check_processes(const vgmo_gpu_sample *s)
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

/* ------------------------------------------------------------- tests */

static void test_full_v2(void **state)
{
	fx *f = *state;
	vgmo_gpu_sample s;

	two_gpus(f);
	open_ok(f, "full");
	assert_int_equal(vgmo__backend_nvml.device_count(f->ctx), 2);

	assert_int_equal(sample(f, 0, &s), VGMO_OK);
	assert_true(s.up);
	assert_int_equal(s.index, 0);
	assert_int_equal(s.parent, -1);
	assert_string_equal(s.name, "NVIDIA H100 80GB HBM3");
	assert_string_equal(s.uuid, "GPU-aaaa");
	assert_string_equal(s.pci_bus_id, "00000000:18:00.0");
	assert_int_equal(s.present, ALL_FIELDS);
	/* v2: used excludes reserved, as nvidia-smi shows it */
	assert_int_equal(s.memory_api, 2);
	assert_int_equal(s.memory_total, UINT64_C(85520809984));
	assert_int_equal(s.memory_used, 10 * GIB);
	assert_int_equal(s.memory_reserved, 512 * MIB);
	assert_int_equal(s.memory_free,
	                 UINT64_C(85520809984) - 10 * GIB - 512 * MIB);
	assert_float_equal(s.utilization, 0.37, 1e-9);
	assert_float_equal(s.temperature_c, 45.0, 1e-9);
	assert_float_equal(s.power_w, 250.5, 1e-9);
	assert_float_equal(s.energy_j, 1234.567, 1e-9);
	assert_false(s.mig_enabled);
	check_processes(&s);
	assert_float_equal(s.sampled_at, WALL0 + 100.0, 1e-9);
	assert_true(s.sample_seconds >= 0 && s.sample_seconds < 5);

	assert_int_equal(sample(f, 1, &s), VGMO_OK);
	assert_string_equal(s.name, "NVIDIA A100-SXM4-40GB");
	assert_string_equal(s.pci_bus_id, "00000000:3B:00.0");
	assert_int_equal(s.memory_used, GIB);
	assert_int_equal(s.process_count, 0);
	assert_true(s.present & VGMO_HAS_PROCESSES);

	assert_int_equal(sample(f, 2, &s), VGMO_ERR_INVALID);
}

/* No _v2/_v3 symbols: nvmlInit, plain memory (used includes reserved),
 * the legacy PCI layout and 16-byte process entries. */
static void test_legacy_fallbacks(void **state)
{
	fx *f = *state;
	vgmo_gpu_sample s;

	two_gpus(f);
	open_ok(f, "legacy");
	assert_int_equal(sample(f, 0, &s), VGMO_OK);
	assert_int_equal(s.memory_api, 1);
	assert_true(s.present & VGMO_HAS_MEMORY);
	assert_false(s.present & VGMO_HAS_RESERVED);
	assert_int_equal(s.memory_used, 10 * GIB + 512 * MIB);
	assert_int_equal(s.memory_free,
	                 UINT64_C(85520809984) - 10 * GIB - 512 * MIB);
	assert_string_equal(s.pci_bus_id, "0000:18:00.0");
	check_processes(&s);
	assert_int_equal(sample(f, 1, &s), VGMO_OK);
	assert_string_equal(s.pci_bus_id, "0000:3B:00.0");
}

/* _v2 but no _v3: PCI _v2 (legacy layout), processes _v2 (24 bytes). */
static void test_v2_fallbacks(void **state)
{
	fx *f = *state;
	vgmo_gpu_sample s;

	two_gpus(f);
	open_ok(f, "nov3");
	assert_int_equal(sample(f, 0, &s), VGMO_OK);
	assert_int_equal(s.memory_api, 2);
	assert_int_equal(s.memory_used, 10 * GIB);
	assert_string_equal(s.pci_bus_id, "0000:18:00.0");
	check_processes(&s);
}

/* A driver that exports _v2 but refuses it: v1, and it says so. */
static void test_memory_v2_refused(void **state)
{
	static const int codes[] = {13, 25, 3};
	fx *f = *state;

	use_variant(f, "full");
	for (size_t i = 0; i < VGMO__ARRAY_LEN(codes); i++) {
		vgmo_gpu_sample s;
		char err[256];

		scenario(f,
		         "device 0 used 1073741824 reserved 1048576\n"
		         "memory_v2_error %d\n",
		         codes[i]);
		assert_int_equal(vgmo__backend_nvml.open(&f->ctx, &f->opts, err,
		                                         sizeof(err)),
		                 VGMO_OK);
		assert_int_equal(sample(f, 0, &s), VGMO_OK);
		assert_int_equal(s.memory_api, 1);
		assert_int_equal(s.memory_used, GIB + MIB);
		assert_false(s.present & VGMO_HAS_RESERVED);
		/* and again: the choice is remembered */
		assert_int_equal(sample(f, 0, &s), VGMO_OK);
		assert_int_equal(s.memory_api, 1);
		vgmo__backend_nvml.close(f->ctx);
		f->ctx = NULL;
	}
}

static void test_unsupported_absent(void **state)
{
	fx *f = *state;
	vgmo_gpu_sample s;

	scenario(f, "devices 2\n"
	            "unsupported 0 util temp power energy processes mig pci\n"
	            "unsupported 1 memory name uuid\n");
	open_ok(f, "full");
	assert_int_equal(sample(f, 0, &s), VGMO_OK);
	assert_true(s.up);
	assert_int_equal(s.present, VGMO_HAS_MEMORY | VGMO_HAS_RESERVED);
	assert_string_equal(s.pci_bus_id, "");
	assert_int_equal(sample(f, 1, &s), VGMO_OK);
	assert_true(s.up);
	assert_int_equal(s.present,
	                 ALL_FIELDS & ~(VGMO_HAS_MEMORY | VGMO_HAS_RESERVED));
	assert_int_equal(s.memory_api, 0);
	assert_string_equal(s.name, "");
	assert_string_equal(s.uuid, "");
}

/* Only the required symbols and plain memory info: everything else absent;
 * without nvmlErrorString the reason uses the built-in text. */
static void test_minimal_symbols(void **state)
{
	fx *f = *state;
	vgmo_gpu_sample s;

	scenario(f, "devices 1\n");
	open_ok(f, "minimal");
	assert_int_equal(sample(f, 0, &s), VGMO_OK);
	assert_int_equal(s.present, VGMO_HAS_MEMORY);
	assert_int_equal(s.memory_api, 1);
	assert_string_equal(s.name, "");
	f->fail_in(0, 1, 0, 15);
	assert_int_equal(sample(f, 0, &s), VGMO_ERR_DEVICE_LOST);
	assert_false(s.up);
	assert_string_equal(s.down_reason, "GPU is lost (NVML error 15)");
}

static void test_required_symbol_missing(void **state)
{
	fx *f = *state;
	char err[256] = "";

	scenario(f, "devices 1\n");
	assert_int_equal(try_open(f, "broken", err, sizeof(err)),
	                 VGMO_ERR_LIBRARY);
	assert_null(f->ctx);
	assert_non_null(strstr(err, "NVML: "));
	assert_non_null(strstr(err, "lacks nvmlDeviceGetCount"));
}

static void test_library_missing(void **state)
{
	fx *f = *state;
	char err[256] = "";
	void *real;

	f->opts.nvml_library = "/nonexistent/dir/libnvidia-ml.so.1";
	assert_int_equal(
	        vgmo__backend_nvml.open(&f->ctx, &f->opts, err, sizeof(err)),
	        VGMO_ERR_LIBRARY);
	assert_null(f->ctx);
	assert_string_equal(
	        err, "NVML: /nonexistent/dir/libnvidia-ml.so.1 not found");

	/* $VGMO_NVML_LIBRARY when the options name none */
	f->opts.nvml_library = NULL;
	setenv("VGMO_NVML_LIBRARY", "/nonexistent/libfoo.so", 1);
	assert_int_equal(
	        vgmo__backend_nvml.open(&f->ctx, &f->opts, err, sizeof(err)),
	        VGMO_ERR_LIBRARY);
	assert_string_equal(err, "NVML: /nonexistent/libfoo.so not found");

	/* a file that is not a library: one line, saying why */
	scenario(f, "devices 1\n");
	setenv("VGMO_NVML_LIBRARY", f->scenario, 1);
	assert_int_equal(
	        vgmo__backend_nvml.open(&f->ctx, &f->opts, err, sizeof(err)),
	        VGMO_ERR_LIBRARY);
	assert_non_null(strstr(err, "NVML: cannot load "));
	assert_null(strchr(err, '\n'));
	unsetenv("VGMO_NVML_LIBRARY");

	/* the default names, where this machine has no driver */
	real = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
	if (real == NULL) {
		assert_int_equal(vgmo__backend_nvml.open(&f->ctx, &f->opts, err,
		                                         sizeof(err)),
		                 VGMO_ERR_LIBRARY);
		assert_string_equal(err, "NVML: libnvidia-ml.so.1 not found");
	} else {
		dlclose(real);
	}
}

static void test_init_failures(void **state)
{
	static const struct {
		const char *line;
		vgmo_err rc;
		const char *text;
	} cases[] = {
	        {"init_error 9", VGMO_ERR_BACKEND, "NVML: driver not loaded"},
	        {"init_error 4", VGMO_ERR_PERMISSION, "NVML: no permission"},
	        {"init_error 18", VGMO_ERR_BACKEND, "version mismatch"},
	        {"init_error 12", VGMO_ERR_LIBRARY, "driver library"},
	        {"init_error 999", VGMO_ERR_BACKEND, "NVML error 999"},
	        {"devices 0", VGMO_ERR_NO_DEVICE, "NVML: no GPUs found"},
	        {"count_error 15", VGMO_ERR_BACKEND, "cannot count GPUs"},
	};
	fx *f = *state;

	for (size_t i = 0; i < VGMO__ARRAY_LEN(cases); i++) {
		char err[256] = "";

		scenario(f, "%s\n", cases[i].line);
		assert_int_equal(try_open(f, "full", err, sizeof(err)),
		                 cases[i].rc);
		assert_null(f->ctx);
		if (strstr(err, cases[i].text) == NULL)
			fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].line, err,
			         cases[i].text);
		assert_null(strchr(err, '\n'));
	}
}

/* GPU 1 falls off the bus: GPU 0 keeps reporting; GPU 1 is retried after
 * 1, 2, 4 s with no NVML call in between, and comes back. */
static void test_lost_and_recovery(void **state)
{
	fx *f = *state;
	vgmo_gpu_sample s;
	unsigned long c;

	two_gpus(f);
	open_ok(f, "full");
	assert_int_equal(sample(f, 1, &s), VGMO_OK);
	/* next call fails, and the two after it; the 4th answers */
	f->fail_in(1, 1, 4, 15);
	assert_int_equal(sample(f, 1, &s), VGMO_ERR_DEVICE_LOST);
	assert_false(s.up);
	assert_string_equal(s.down_reason, "GPU is lost (NVML error 15)");
	assert_string_equal(s.uuid, "GPU-bbbb"); /* still identifiable */
	assert_false(s.present & VGMO_HAS_MEMORY);
	assert_non_null(
	        strstr(vgmo__backend_nvml.last_error(f->ctx), "GPU is lost"));
	assert_int_equal(sample(f, 0, &s), VGMO_OK);
	assert_true(s.up);

	c = f->calls(1);
	f->now += 0.75; /* inside the first 1 s back-off: no calls */
	assert_int_equal(sample(f, 1, &s), VGMO_ERR_DEVICE_LOST);
	assert_int_equal(f->calls(1), c);
	f->now += 0.25; /* retry 1 fails */
	assert_int_equal(sample(f, 1, &s), VGMO_ERR_DEVICE_LOST);
	assert_int_equal(f->calls(1), c + 1);
	f->now += 1.75; /* back-off is now 2 s */
	assert_int_equal(sample(f, 1, &s), VGMO_ERR_DEVICE_LOST);
	assert_int_equal(f->calls(1), c + 1);
	f->now += 0.25; /* retry 2 fails */
	assert_int_equal(sample(f, 1, &s), VGMO_ERR_DEVICE_LOST);
	assert_int_equal(f->calls(1), c + 2);
	assert_int_equal(sample(f, 0, &s), VGMO_OK);
	f->now += 3.75; /* back-off is now 4 s */
	assert_int_equal(sample(f, 1, &s), VGMO_ERR_DEVICE_LOST);
	assert_int_equal(f->calls(1), c + 2);
	f->now += 0.25; /* retry 3: back */
	assert_int_equal(sample(f, 1, &s), VGMO_OK);
	assert_true(s.up);
	assert_string_equal(s.down_reason, "");
	assert_string_equal(s.uuid, "GPU-bbbb");
	assert_int_equal(s.memory_used, GIB);
	assert_int_equal(s.memory_api, 2);
	/* and it stays up */
	f->now += 5;
	assert_int_equal(sample(f, 1, &s), VGMO_OK);
}

/* The back-off stops doubling at 60 s. */
static void test_backoff_cap(void **state)
{
	fx *f = *state;
	vgmo_gpu_sample s;
	unsigned long c;

	scenario(f, "devices 1\n");
	open_ok(f, "full");
	f->fail_in(0, 1, 0, 28);
	assert_int_equal(sample(f, 0, &s), VGMO_ERR_DEVICE_LOST);
	assert_string_equal(s.down_reason, "GPU not found (NVML error 28)");
	for (double wait = 1; wait < 60; wait *= 2) {
		f->now += wait;
		assert_int_equal(sample(f, 0, &s), VGMO_ERR_DEVICE_LOST);
	}
	c = f->calls(0);
	f->now += 59.5;
	assert_int_equal(sample(f, 0, &s), VGMO_ERR_DEVICE_LOST);
	assert_int_equal(f->calls(0), c);
	f->now += 0.5;
	assert_int_equal(sample(f, 0, &s), VGMO_ERR_DEVICE_LOST);
	assert_int_equal(f->calls(0), c + 1);
	f->now += 60;
	assert_int_equal(sample(f, 0, &s), VGMO_ERR_DEVICE_LOST);
	assert_int_equal(f->calls(0), c + 2);
}

/* UNINITIALIZED: the retry initialises NVML again. */
static void test_reinit(void **state)
{
	fx *f = *state;
	vgmo_gpu_sample s;

	scenario(f, "devices 1\n");
	open_ok(f, "full");
	assert_int_equal(f->inits(), 1);
	f->fail_in(0, 1, 3, 1);
	assert_int_equal(sample(f, 0, &s), VGMO_ERR_DEVICE_LOST);
	assert_string_equal(s.down_reason, "Uninitialized (NVML error 1)");
	f->now += 1;
	assert_int_equal(sample(f, 0, &s), VGMO_OK);
	assert_true(s.up);
	assert_int_equal(f->inits(), 2);
}

/* A GPU that does not answer at start is listed, down, and retried. */
static void test_lost_at_open(void **state)
{
	fx *f = *state;
	vgmo_gpu_sample s;

	scenario(f, "devices 2\n"
	            "device 1 name \"NVIDIA L4\" uuid GPU-cccc\n"
	            "fail 1 lost_after 1 back_after 3 code 15\n");
	open_ok(f, "full");
	assert_int_equal(vgmo__backend_nvml.device_count(f->ctx), 2);
	assert_int_equal(sample(f, 1, &s), VGMO_ERR_DEVICE_LOST);
	assert_false(s.up);
	assert_string_equal(s.down_reason, "GPU is lost (NVML error 15)");
	assert_int_equal(sample(f, 0, &s), VGMO_OK);
	f->now += 1; /* call 2 still fails */
	assert_int_equal(sample(f, 1, &s), VGMO_ERR_DEVICE_LOST);
	f->now += 2; /* call 3 answers */
	assert_int_equal(sample(f, 1, &s), VGMO_OK);
	assert_string_equal(s.name, "NVIDIA L4");
	assert_string_equal(s.uuid, "GPU-cccc");
}

static void test_eight_gpus(void **state)
{
	fx *f = *state;
	vgmo_gpu_sample s[8];

	scenario(f, "devices 8\n"
	            "device 7 used 21474836480\n");
	open_ok(f, "full");
	assert_int_equal(vgmo__backend_nvml.device_count(f->ctx), 8);
	for (unsigned i = 0; i < 8; i++) {
		assert_int_equal(sample(f, i, &s[i]), VGMO_OK);
		assert_int_equal(s[i].index, i);
		assert_true(s[i].up);
		assert_int_equal(s[i].present, ALL_FIELDS);
		for (unsigned j = 0; j < i; j++) {
			assert_string_not_equal(s[i].uuid, s[j].uuid);
			assert_string_not_equal(s[i].pci_bus_id,
			                        s[j].pci_bus_id);
		}
	}
	assert_int_equal(s[0].memory_used, 4 * GIB);
	assert_int_equal(s[7].memory_used, 20 * GIB);
}

static void test_mig(void **state)
{
	fx *f = *state;
	vgmo_gpu_sample s;

	scenario(f, "devices 2\n"
	            "mig 0 0 name \"NVIDIA H100 80GB HBM3 MIG 3g.40gb\" "
	            "uuid MIG-aaaa total 42949672960 used 1073741824\n"
	            "mig 0 2 uuid MIG-cccc total 21474836480 used 2147483648 "
	            "reserved 1048576\n");
	open_ok(f, "full");
	assert_int_equal(vgmo__backend_nvml.device_count(f->ctx), 4);

	assert_int_equal(sample(f, 0, &s), VGMO_OK);
	assert_true(s.present & VGMO_HAS_MIG_MODE);
	assert_true(s.mig_enabled);
	assert_false(s.present & VGMO_HAS_UTILIZATION); /* MIG on: none */
	assert_int_equal(sample(f, 1, &s), VGMO_OK);
	assert_false(s.mig_enabled);
	assert_true(s.present & VGMO_HAS_UTILIZATION);

	assert_int_equal(sample(f, 2, &s), VGMO_OK);
	assert_int_equal(s.index, 2);
	assert_int_equal(s.parent, 0);
	assert_string_equal(s.name, "NVIDIA H100 80GB HBM3 MIG 3g.40gb");
	assert_string_equal(s.uuid, "MIG-aaaa");
	assert_string_equal(s.pci_bus_id, "00000000:18:00.0"); /* its GPU's */
	assert_int_equal(s.memory_total, 40 * GIB);
	assert_int_equal(s.memory_used, GIB);
	assert_int_equal(s.memory_api, 2);
	assert_false(s.present & VGMO_HAS_MIG_MODE);
	assert_false(s.present & VGMO_HAS_UTILIZATION);

	assert_int_equal(sample(f, 3, &s), VGMO_OK);
	assert_int_equal(s.parent, 0);
	assert_string_equal(s.uuid, "MIG-cccc");
	assert_int_equal(s.memory_total, 20 * GIB);
	assert_int_equal(s.memory_used, 2 * GIB);
	assert_int_equal(s.memory_reserved, MIB);

	/* the GPU goes: its MIG devices go with it, the other GPU stays */
	f->fail_in(0, 1, 0, 15);
	assert_int_equal(sample(f, 0, &s), VGMO_ERR_DEVICE_LOST);
	assert_int_equal(sample(f, 2, &s), VGMO_ERR_DEVICE_LOST);
	assert_false(s.up);
	assert_string_equal(s.uuid, "MIG-aaaa");
	assert_int_equal(sample(f, 1, &s), VGMO_OK);
}

/* 101 processes: more than the first buffer holds and than a sample
 * keeps; this process is first and its name comes from /proc. */
static void test_process_grow(void **state)
{
	fx *f = *state;
	vgmo_gpu_sample s;
	char comm[64];

	self_comm(comm, sizeof(comm));
	scenario(f,
	         "devices 1\n"
	         "proc 0 %u 3145728\n"
	         "procs 0 100 4000000 1048576\n",
	         (unsigned)getpid());
	open_ok(f, "full");
	for (int round = 0; round < 2; round++) {
		assert_int_equal(sample(f, 0, &s), VGMO_OK);
		assert_true(s.present & VGMO_HAS_PROCESSES);
		assert_int_equal(s.process_total, 101);
		assert_int_equal(s.process_count, VGMO_MAX_PROCS);
		assert_int_equal(s.processes[0].pid, (unsigned)getpid());
		assert_int_equal(s.processes[0].used_bytes, 3 * MIB);
		assert_string_equal(s.processes[0].name, comm);
		assert_int_equal(s.processes[63].pid, 4000062);
		assert_int_equal(s.processes[63].used_bytes, MIB);
	}
}

/* A call that hangs is reported within the timeout; the other GPU keeps
 * reporting; nothing more is asked of the hung GPU until it returns. */
static void test_hung_call(void **state)
{
	fx *f = *state;
	vgmo_gpu_sample s;
	unsigned long c;
	double t;

	scenario(f, "devices 2\n"
	            "device 1 uuid GPU-hung\n"
	            "hang 1 seconds 1.5\n");
	f->opts.call_timeout = 0.3;
	open_ok(f, "full");
	assert_int_equal(sample(f, 0, &s), VGMO_OK);

	t = real_now();
	assert_int_equal(sample(f, 1, &s), VGMO_ERR_TIMEOUT);
	t = real_now() - t;
	assert_true(t >= 0.29 && t < 1.0);
	assert_false(s.up);
	assert_string_equal(s.down_reason, "NVML call timed out after 0.3 s");
	assert_string_equal(s.uuid, "GPU-hung");

	assert_int_equal(sample(f, 0, &s), VGMO_OK);
	assert_true(s.up);

	c = f->calls(1);
	t = real_now();
	assert_int_equal(sample(f, 1, &s), VGMO_ERR_TIMEOUT);
	assert_true(real_now() - t < 0.2); /* no new wait */
	assert_int_equal(f->calls(1), c);  /* no new call */
	assert_string_equal(s.down_reason, "NVML call timed out after 0.3 s");

	sleep_for(1.5);
	assert_int_equal(sample(f, 1, &s), VGMO_OK);
	assert_true(s.up);
	assert_string_equal(s.uuid, "GPU-hung");
}

/* Closing while a call hangs returns at once; the stuck worker frees the
 * context when the call returns (the leak checker would see otherwise). */
static void test_close_while_hung(void **state)
{
	fx *f = *state;
	vgmo_gpu_sample s;
	double t;

	scenario(f, "devices 1\n"
	            "hang 0 seconds 0.8\n");
	f->opts.call_timeout = 0.2;
	use_variant(f, "full");
	{
		char err[256];

		assert_int_equal(vgmo__backend_nvml.open(&f->ctx, &f->opts, err,
		                                         sizeof(err)),
		                 VGMO_OK);
	}
	assert_int_equal(sample(f, 0, &s), VGMO_ERR_TIMEOUT);
	t = real_now();
	vgmo__backend_nvml.close(f->ctx);
	f->ctx = NULL;
	assert_true(real_now() - t < 0.2);
	sleep_for(1.0); /* let the stuck call return and clean up */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_full_v2, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_legacy_fallbacks, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_v2_fallbacks, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_memory_v2_refused, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_unsupported_absent, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_minimal_symbols, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_required_symbol_missing,
	                                        setup, teardown),
	        cmocka_unit_test_setup_teardown(test_library_missing, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_init_failures, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_lost_and_recovery, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_backoff_cap, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_reinit, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_lost_at_open, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_eight_gpus, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_mig, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_process_grow, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_hung_call, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_close_while_hung, setup,
	                                        teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
