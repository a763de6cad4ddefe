/*
 * history.c - the optimization history ring.
 */
#include "history.h"

#include <stdlib.h>

vgmo_err vgmo__history_init(vgmo__history *h, size_t capacity)
{
	h->items = calloc(capacity ? capacity : 1, sizeof(*h->items));
	if (h->items == NULL)
		return VGMO_ERR_NOMEM;
	h->capacity = capacity ? capacity : 1;
	h->start = 0;
	h->count = 0;
	return VGMO_OK;
}

void vgmo__history_free(vgmo__history *h)
{
	free(h->items);
	h->items = NULL;
	h->capacity = h->count = h->start = 0;
}

void vgmo__history_push(vgmo__history *h, const vgmo_result *r)
{
	if (h->count < h->capacity) {
		h->items[(h->start + h->count) % h->capacity] = *r;
		h->count++;
		return;
	}
	h->items[h->start] = *r;
	h->start = (h->start + 1) % h->capacity;
}

const vgmo_result *vgmo__history_at(const vgmo__history *h, size_t i)
{
	if (i >= h->count)
		return NULL;
	return &h->items[(h->start + i) % h->capacity];
}
