/*
 * metrics_text.h - the growing text buffer of the metrics renderer, with
 * the number formats and label escaping of the Prometheus text format
 * (internal; metrics.c).
 */
#ifndef VGMO_LIB_METRICS_TEXT_H
#define VGMO_LIB_METRICS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Text being built. Zero-initialise; free(p) when done. After a failed
 * allocation `oom` is set and every later write is dropped. */
typedef struct vgmo__text {
	char *p;
	size_t len;
	size_t cap;
	bool oom;
} vgmo__text;

/* Makes room for `n` more bytes and a final NUL (slow path of reserve). */
bool vgmo__text_grow(vgmo__text *t, size_t n);

static inline bool vgmo__text_reserve(vgmo__text *t, size_t n)
{
	return t->len + n + 1 <= t->cap || vgmo__text_grow(t, n);
}

static inline void vgmo__text_put(vgmo__text *t, const char *s, size_t n)
{
	if (!vgmo__text_reserve(t, n))
		return;
	memcpy(t->p + t->len, s, n);
	t->len += n;
}

static inline void vgmo__text_puts(vgmo__text *t, const char *s)
{
	vgmo__text_put(t, s, strlen(s));
}

void vgmo__text_u64(vgmo__text *t, uint64_t v);

/* A sample value: integers without a fraction, others with 15 significant
 * digits, NaN, +Inf and -Inf as Prometheus spells them. */
void vgmo__text_double(vgmo__text *t, double v);

/* A label value: backslash, quote and newline escaped; a byte that is not
 * part of valid UTF-8 becomes '?'. */
void vgmo__text_label(vgmo__text *t, const char *v);

#endif
