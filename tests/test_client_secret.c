/*
 * test_client_secret.c - per-client secrets (src/daemon/client_secret.c): the
 * SipHash-2-4 reference vector, one secret per id, the constant-time check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "client_secret.h"

/* SipHash-2-4 of the 8 bytes 00..07 under the key 00..0f is, as bytes,
 * 62 24 93 9a 79 f5 f5 93 (the reference implementation's vectors.h,
 * entry 8): the little-endian value 0x93f5f5799a932462. */
static void test_reference_vector(void **state)
{
	client_secret_key k = {
	        {UINT64_C(0x0706050403020100), UINT64_C(0x0f0e0d0c0b0a0908),
	         UINT64_C(0x0706050403020100), UINT64_C(0x0f0e0d0c0b0a0908)}};
	char s[CLIENT_SECRET_LEN + 1];

	(void)state;
	client_secret_make(&k, INT64_C(0x0706050403020100), s);
	assert_string_equal(s, "93f5f5799a932462"
	                       "93f5f5799a932462");
}

static void test_one_secret_per_id(void **state)
{
	client_secret_key k;
	char a[CLIENT_SECRET_LEN + 1], b[CLIENT_SECRET_LEN + 1];

	(void)state;
	assert_int_equal(client_secret_key_init(&k), VGMO_OK);
	client_secret_make(&k, (INT64_C(7) << 31) + 1, a);
	client_secret_make(&k, (INT64_C(7) << 31) + 2, b);
	assert_int_equal(strlen(a), CLIENT_SECRET_LEN);
	assert_string_not_equal(a, b);
	assert_true(client_secret_ok(&k, (INT64_C(7) << 31) + 1, a));
	assert_false(client_secret_ok(&k, (INT64_C(7) << 31) + 2, a));
	assert_false(client_secret_ok(&k, (INT64_C(7) << 31) + 1, NULL));
	assert_false(client_secret_ok(&k, (INT64_C(7) << 31) + 1, ""));
	/* A prefix, or one character more, is not it. */
	memcpy(b, a, CLIENT_SECRET_LEN - 1);
	b[CLIENT_SECRET_LEN - 1] = '\0';
	assert_false(client_secret_ok(&k, (INT64_C(7) << 31) + 1, b));
	memcpy(b, a, sizeof(a));
	b[0] = b[0] == '0' ? '1' : '0';
	assert_false(client_secret_ok(&k, (INT64_C(7) << 31) + 1, b));
	/* Another run's key gives another secret. */
	{
		client_secret_key k2;
		char c[CLIENT_SECRET_LEN + 1];

		assert_int_equal(client_secret_key_init(&k2), VGMO_OK);
		client_secret_make(&k2, (INT64_C(7) << 31) + 1, c);
		assert_string_not_equal(a, c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_reference_vector),
	        cmocka_unit_test(test_one_secret_per_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
