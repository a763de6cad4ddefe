/*
 * history.h - a bounded ring of optimization results (internal).
 */
#ifndef VGMO_LIB_HISTORY_H
#define VGMO_LIB_HISTORY_H

#include <stddef.h>

#include "vgmo/vgmo.h"

typedef struct vgmo__history {
	vgmo_result *items; /* capacity entries, owned */
	size_t capacity;
	size_t start; /* index of the oldest */
	size_t count;
} vgmo__history;

vgmo_err vgmo__history_init(vgmo__history *h, size_t capacity);
void vgmo__history_free(vgmo__history *h);
/* Appends; when full, the oldest entry is dropped. */
void vgmo__history_push(vgmo__history *h, const vgmo_result *r);
/* i-th entry, oldest first (i < count). */
const vgmo_result *vgmo__history_at(const vgmo__history *h, size_t i);

#endif
