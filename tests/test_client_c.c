/*
 * test_client_c.c - vgmo_client_* (work in progress).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vgmo/vgmo.h"

static void test_bad_arguments(void **state)
{
	vgmo_client *c = NULL;
	char err[256];

	(void)state;
	assert_int_equal(vgmo_client_open(&c, "ftp://x", "w", 0, 1, NULL, err,
	                                  sizeof(err)),
	                 VGMO_ERR_INVALID);
	assert_null(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
