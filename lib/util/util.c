/*
 * util.c - error buffers, string copies, clocks and the PRNG.
 */
#include "util.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

vgmo_err vgmo__errf(char *err, size_t errlen, vgmo_err code, const char *fmt,
                    ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return code;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

void vgmo__strlcpy(char *dst, const char *src, size_t size)
{
	size_t n;

	if (size == 0)
		return;
	n = src ? strlen(src) : 0;
	if (n >= size)
		n = size - 1;
	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

bool vgmo__name_ok(const char *s, size_t n)
{
	if (n == 0 || n > VGMO__NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

const char *vgmo__join_names(const char *const *names, char *buf, size_t size)
{
	size_t used = 0;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; names && names[i]; i++) {
		int k = snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
		                 names[i]);

		if (k < 0 || (size_t)k >= size - used)
			break;
		used += (size_t)k;
	}
	return buf;
}

static double timespec_seconds(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double vgmo__mono_now(void)
{
	return timespec_seconds(CLOCK_MONOTONIC);
}

double vgmo__wall_now(void)
{
	return timespec_seconds(CLOCK_REALTIME);
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

void vgmo__rng_seed(vgmo__rng *r, uint64_t seed)
{
	for (size_t i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t vgmo__rng_next(vgmo__rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double vgmo__rng_uniform(vgmo__rng *r)
{
	return (double)(vgmo__rng_next(r) >> 11) * 0x1.0p-53;
}

double vgmo__rng_normal(vgmo__rng *r)
{
	/* Box-Muller; u1 kept away from 0. */
	double u1 = vgmo__rng_uniform(r);
	double u2 = vgmo__rng_uniform(r);

	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}
