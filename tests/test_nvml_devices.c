/*
 * test_nvml_devices.c - the NVML backend on the fake libnvidia-ml.so.1:
 * eight GPUs, MIG instances, and a process list that grows past its
 * first buffer.
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_eight_gpus, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_mig, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_process_grow, setup,
	                                        teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
