/*
 * others.c - the rise of the others' memory on a device (others.h).
 */
#include "others.h"

#include <string.h>

#define BUCKET (VGMO__OTHERS_WINDOW / (VGMO__OTHERS_BUCKETS - 4))

void vgmo__others_clear(vgmo__others *o)
{
	memset(o, 0, sizeof(*o));
}

void vgmo__others_add(vgmo__others *o, double now, double bytes)
{
	unsigned last =
	        (o->head + VGMO__OTHERS_BUCKETS - 1) % VGMO__OTHERS_BUCKETS;

	if (!(bytes >= 0))
		return;
	if (o->n > 0 && now >= o->start[last] &&
	    now - o->start[last] < BUCKET) {
		if (bytes < o->low[last])
			o->low[last] = bytes;
		return;
	}
	o->start[o->head] = now;
	o->low[o->head] = bytes;
	o->head = (o->head + 1) % VGMO__OTHERS_BUCKETS;
	if (o->n < VGMO__OTHERS_BUCKETS)
		o->n++;
}

double vgmo__others_rise(const vgmo__others *o, double now, double span)
{
	unsigned first =
	        (o->head + VGMO__OTHERS_BUCKETS - o->n) % VGMO__OTHERS_BUCKETS;
	unsigned idx[VGMO__OTHERS_BUCKETS], m = 0;
	double rise = 0;

	/* The closed buckets within the window, oldest first: a rise must
	 * hold for a whole bucket. */
	for (unsigned k = 0; k < o->n; k++) {
		unsigned i = (first + k) % VGMO__OTHERS_BUCKETS;

		if (o->start[i] >= now - VGMO__OTHERS_WINDOW &&
		    now - o->start[i] >= BUCKET)
			idx[m++] = i;
	}
	/* From each bucket to the next one, and to every later one that
	 * began within `span` of it. */
	for (unsigned a = 0; a < m; a++)
		for (unsigned b = a + 1; b < m; b++) {
			double up = o->low[idx[b]] - o->low[idx[a]];

			if (b > a + 1 &&
			    o->start[idx[b]] - o->start[idx[a]] > span)
				break;
			if (up > rise)
				rise = up;
		}
	return rise;
}
