/*
 * others.h - what the processes beside a GPU's workers hold, over time.
 *
 * Balanced keeps memory_reserve_mb free only as far as the others' memory
 * has risen lately within a span as long as a couple of the worker's
 * batches: headroom for a neighbour that grows, not a fixed slice
 * of a card where the weights leave a few GiB (strategy.h). The figure is
 * the device's "unattributed" memory at each sample. A rise counts once it
 * holds for a whole bucket (its lowest figure), so a sample taken while a
 * worker's batch is running past what it last reported does not count.
 */
#ifndef VGMO_LIB_OTHERS_H
#define VGMO_LIB_OTHERS_H

/* How far back a rise is remembered, and in how many buckets. */
#define VGMO__OTHERS_WINDOW 600.0 /* seconds */
#define VGMO__OTHERS_BUCKETS 64

typedef struct vgmo__others {
	double start[VGMO__OTHERS_BUCKETS]; /* mono seconds */
	double low[VGMO__OTHERS_BUCKETS];   /* bytes, the bucket's lowest */
	unsigned head, n;                   /* ring: next slot, filled */
} vgmo__others;

/* A sample's figure (bytes) at `now`. */
void vgmo__others_add(vgmo__others *o, double now, double bytes);

/* The largest rise within the window before `now` (bytes, >= 0) over a
 * span of at most `span` seconds, or between two buckets in a row (a
 * jump between sparse samples): what the others may take while a batch
 * runs. A neighbour that leaks slowly rises little over a batch; one that
 * jumps rises by the jump. INFINITY: the largest rise, the highest bucket
 * less the lowest before it. */
double vgmo__others_rise(const vgmo__others *o, double now, double span);

/* The device went down or came back: what was seen no longer says
 * anything. */
void vgmo__others_clear(vgmo__others *o);

#endif
