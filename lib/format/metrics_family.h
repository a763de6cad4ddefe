/*
 * metrics_family.h - the pieces every family of /metrics is written with:
 * HELP and TYPE, a device's labels, one line (internal; metrics_family.c,
 * used by metrics.c).
 */
#ifndef VGMO_LIB_METRICS_FAMILY_H
#define VGMO_LIB_METRICS_FAMILY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics_text.h"
#include "vgmo/vgmo.h"

/* Every device's escaped labels, gpu="I",uuid="U", built once per
 * rendering and copied into each of its series. */
typedef struct vgmo__metrics_labels {
	vgmo__text text;
	size_t *end; /* device i's labels end at text.p + end[i] */
	size_t n;
} vgmo__metrics_labels;

/* Writes HELP and TYPE; returns the offset to roll back to when the family
 * ends up with no series. */
size_t vgmo__metrics_family(vgmo__text *b, const char *name, const char *type,
                            const char *help);
void vgmo__metrics_family_end(vgmo__text *b, size_t mark, unsigned series);
bool vgmo__metrics_labels_build(vgmo__metrics_labels *l,
                                const vgmo_snapshot *s);
void vgmo__metrics_labels_free(vgmo__metrics_labels *l);
/* "{" and device i's labels (the caller closes the brace). */
void vgmo__metrics_gpu_labels(vgmo__text *b, const vgmo__metrics_labels *l,
                              size_t i);
void vgmo__metrics_gauge(vgmo__text *b, const char *name, double v);
void vgmo__metrics_u64(vgmo__text *b, const char *name, uint64_t v);
void vgmo__metrics_global_gauge(vgmo__text *b, const char *name,
                                const char *help, double v);
void vgmo__metrics_counter(vgmo__text *b, const char *name, const char *help,
                           uint64_t v);

#endif
