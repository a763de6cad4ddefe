/*
 * fuzz.h - what the fuzz harnesses share (tests/fuzz/). Each harness is one
 * LLVMFuzzerTestOneInput; it is linked either with libFuzzer (clang
 * -fsanitize=fuzzer, cmake -DVGMO_FUZZ=ON) or with standalone.c, a driver
 * that replays a corpus plus random mutations of it (any compiler).
 *
 * A harness checks more than "no crash": what each parser promises (all or
 * nothing, ranges, round trips) is asserted with FUZZ_CHECK, which aborts
 * so that either driver reports the input.
 */
#ifndef VGMO_TESTS_FUZZ_H
#define VGMO_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
			        __LINE__, #cond);                              \
			abort();                                               \
		}                                                              \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A copy of the input in a buffer of exactly `size` bytes (no terminator:
 * a parser that reads past its length trips AddressSanitizer). Caller
 * frees. */
static inline char *fuzz_copy(const uint8_t *data, size_t size)
{
	char *p = malloc(size ? size : 1);

	if (p == NULL)
		abort();
	if (size)
		memcpy(p, data, size);
	return p;
}

#endif
