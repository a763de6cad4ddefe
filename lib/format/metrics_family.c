/*
 * metrics_family.c - the pieces every family of /metrics is written with:
 * HELP and TYPE (rolled back when a family ends up with no series), each
 * device's escaped labels built once per rendering, and one sample line.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_family.h"
#include "util.h"

/* Writes HELP and TYPE; returns the offset to roll back to when the family
 * ends up with no series. */
size_t vgmo__metrics_family(vgmo__text *b, const char *name, const char *type,
                            const char *help)
{
	size_t mark = b->len;

	vgmo__text_puts(b, "# HELP ");
	vgmo__text_puts(b, name);
	vgmo__text_put(b, " ", 1);
	vgmo__text_puts(b, help);
	vgmo__text_puts(b, "\n# TYPE ");
	vgmo__text_puts(b, name);
	vgmo__text_put(b, " ", 1);
	vgmo__text_puts(b, type);
	vgmo__text_put(b, "\n", 1);
	return mark;
}

void vgmo__metrics_family_end(vgmo__text *b, size_t mark, unsigned series)
{
	if (series == 0 && !b->oom)
		b->len = mark;
}

bool vgmo__metrics_labels_build(vgmo__metrics_labels *l, const vgmo_snapshot *s)
{
	l->n = vgmo_snapshot_gpu_count(s);
	l->end = malloc((l->n ? l->n : 1) * sizeof(*l->end));
	if (l->end == NULL || !vgmo__text_reserve(&l->text, l->n * 64))
		return false;
	for (size_t i = 0; i < l->n; i++) {
		const vgmo_gpu_sample *g = vgmo_snapshot_gpu(s, i);

		vgmo__text_puts(&l->text, "gpu=\"");
		vgmo__text_u64(&l->text, g->index);
		vgmo__text_puts(&l->text, "\",uuid=\"");
		vgmo__text_label(&l->text, g->uuid);
		vgmo__text_put(&l->text, "\"", 1);
		l->end[i] = l->text.len;
	}
	return !l->text.oom;
}

void vgmo__metrics_labels_free(vgmo__metrics_labels *l)
{
	free(l->text.p);
	free(l->end);
}

/* "{" and device i's labels (the caller closes the brace). */
void vgmo__metrics_gpu_labels(vgmo__text *b, const vgmo__metrics_labels *l,
                              size_t i)
{
	size_t start = i > 0 && i <= l->n ? l->end[i - 1] : 0;

	vgmo__text_put(b, "{", 1);
	if (i < l->n) {
		vgmo__text_put(b, l->text.p + start, l->end[i] - start);
		return;
	}
	vgmo__text_puts(b, "gpu=\"");
	vgmo__text_u64(b, i);
	vgmo__text_puts(b, "\",uuid=\"\"");
}

void vgmo__metrics_gauge(vgmo__text *b, const char *name, double v)
{
	vgmo__text_puts(b, name);
	vgmo__text_put(b, " ", 1);
	vgmo__text_double(b, v);
	vgmo__text_put(b, "\n", 1);
}

void vgmo__metrics_u64(vgmo__text *b, const char *name, uint64_t v)
{
	vgmo__text_puts(b, name);
	vgmo__text_put(b, " ", 1);
	vgmo__text_u64(b, v);
	vgmo__text_put(b, "\n", 1);
}

void vgmo__metrics_global_gauge(vgmo__text *b, const char *name,
                                const char *help, double v)
{
	vgmo__metrics_family(b, name, "gauge", help);
	vgmo__metrics_gauge(b, name, v);
}

void vgmo__metrics_counter(vgmo__text *b, const char *name, const char *help,
                           uint64_t v)
{
	vgmo__metrics_family(b, name, "counter", help);
	vgmo__metrics_u64(b, name, v);
}
