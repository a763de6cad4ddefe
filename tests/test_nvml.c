/*
 * test_nvml.c - the NVML backend through its ops table and the real dlopen
 * path, against the fake libnvidia-ml.so.1 variants in fake_nvml/: the
 * full interface, the fallbacks of older drivers, absent fields and
 * missing symbols or library (faults: test_nvml_faults.c; many GPUs, MIG
 * and processes: test_nvml_devices.c).
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
