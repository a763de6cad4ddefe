/*
 * metrics_text.c - the metrics renderer's text buffer, number formats and
 * label escaping (metrics_text.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "metrics_text.h"

bool vgmo__text_grow(vgmo__text *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->oom)
		return false;
	if (b->len + n + 1 <= b->cap)
		return true;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (p == NULL) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void vgmo__text_u64(vgmo__text *b, uint64_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	vgmo__text_put(b, tmp + i, sizeof(tmp) - i);
}

/* Fixed-point text of `v`, for 1e-3 <= |v| < 1e15: 15 digits in all (at
 * least 13 significant), trailing zeros dropped; what "%.15g" prints, give
 * or take the last digit. snprintf's exact conversion costs about a
 * microsecond, and a scrape has hundreds of such values. False when `v` is
 * out of that range. */
static bool fast_double(vgmo__text *b, double v)
{
	static const double pow10[] = {1e0,  1e1,  1e2,  1e3, 1e4,  1e5,
	                               1e6,  1e7,  1e8,  1e9, 1e10, 1e11,
	                               1e12, 1e13, 1e14, 1e15};
	double a = fabs(v), frac;
	uint64_t ip, scaled, limit;
	unsigned digits = 0, f;
	char tmp[24];
	size_t n;

	if (!(a >= 1e-3 && a < 1e15))
		return false;
	ip = (uint64_t)a;
	for (uint64_t x = ip; x != 0; x /= 10)
		digits++;
	f = 15 - digits;
	frac = a - (double)ip;
	scaled = (uint64_t)(frac * pow10[f] + 0.5);
	limit = (uint64_t)pow10[f];
	if (scaled >= limit) {
		ip++;
		scaled -= limit;
	}
	if (v < 0)
		vgmo__text_put(b, "-", 1);
	vgmo__text_u64(b, ip);
	if (scaled == 0)
		return true;
	while (scaled % 10 == 0) {
		scaled /= 10;
		f--;
	}
	for (n = f; n > 0; n--) {
		tmp[n] = (char)('0' + scaled % 10);
		scaled /= 10;
	}
	tmp[0] = '.';
	vgmo__text_put(b, tmp, f + 1);
	return true;
}

void vgmo__text_double(vgmo__text *b, double v)
{
	char tmp[40];
	int n;

	if (isnan(v)) {
		vgmo__text_puts(b, "NaN");
		return;
	}
	if (isinf(v)) {
		vgmo__text_puts(b, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (v == floor(v) && fabs(v) < 1e15) {
		if (v < 0)
			vgmo__text_put(b, "-", 1);
		vgmo__text_u64(b, (uint64_t)fabs(v));
		return;
	}
	if (fast_double(b, v))
		return;
	n = snprintf(tmp, sizeof(tmp), "%.15g", v);
	if (n > 0)
		vgmo__text_put(b, tmp, (size_t)n);
}

/* Length of the valid UTF-8 sequence at `s`, or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		n = 2;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		n = 3;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		n = 4;
	else
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	if ((n == 3 && s[0] == 0xE0 && s[1] < 0xA0) ||
	    (n == 3 && s[0] == 0xED && s[1] >= 0xA0) ||
	    (n == 4 && s[0] == 0xF0 && s[1] < 0x90) ||
	    (n == 4 && s[0] == 0xF4 && s[1] >= 0x90))
		return 0;
	return n;
}

void vgmo__text_label(vgmo__text *b, const char *v)
{
	const unsigned char *s = (const unsigned char *)v;

	if (!vgmo__text_reserve(b, 2 * strlen(v)))
		return;
	while (*s != '\0') {
		size_t n = 0;

		/* A run of plain printable ASCII is copied at once. */
		while (s[n] >= 0x20 && s[n] < 0x7f && s[n] != '\\' &&
		       s[n] != '"')
			n++;
		if (n > 0) {
			memcpy(b->p + b->len, s, n);
			b->len += n;
			s += n;
			continue;
		}
		n = utf8_len(s);

		if (*s == '\\' || *s == '"') {
			b->p[b->len++] = '\\';
			b->p[b->len++] = (char)*s;
		} else if (*s == '\n') {
			b->p[b->len++] = '\\';
			b->p[b->len++] = 'n';
		} else if (n == 0) {
			b->p[b->len++] = '?';
			n = 1;
		} else {
			memcpy(b->p + b->len, s, n);
			b->len += n;
		}
		s += n ? n : 1;
	}
}
