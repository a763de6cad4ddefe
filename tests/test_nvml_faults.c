/*
 * test_nvml_faults.c - the NVML backend on the fake libnvidia-ml.so.1:
 * init failures, a GPU lost and back, the back-off's cap, reinit, a GPU
 * lost at open, and calls that hang.
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
	        cmocka_unit_test_setup_teardown(test_init_failures, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_lost_and_recovery, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_backoff_cap, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_reinit, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_lost_at_open, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_hung_call, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_close_while_hung, setup,
	                                        teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
