/*
 * vlm_feed.h - a trace played on a clock: its requests arrive into a FIFO
 * queue a worker takes batches from, and its memory events say what other
 * processes hold (internal). Used by the simulated GPU's driver and by the
 * benchmark.
 */
#ifndef VGMO_LIB_VLM_FEED_H
#define VGMO_LIB_VLM_FEED_H

#include <stdbool.h>
#include <stddef.h>

#include "vlm_truth.h"
#include "trace.h"

typedef struct vgmo__feed {
	const vgmo__trace *trace; /* borrowed */
	vgmo_vlm_model model;
	double period; /* > 0: the trace repeats every `period` seconds */
	double offset; /* start of the current repetition */
	size_t next;   /* next request of the trace to arrive */
	uint64_t next_id;
	vgmo__vlm_req *q;
	size_t head, len, cap;
	uint64_t dropped; /* arrivals refused because the queue was full */
} vgmo__feed;

/* Requests waiting at most: past this a server sheds load (arrivals are
 * dropped and counted) instead of growing without bound. */
#define VGMO__FEED_MAX_QUEUE 65536

/* `period` 0: play once. */
void vgmo__feed_init(vgmo__feed *f, const vgmo__trace *t,
                     const vgmo_vlm_model *m, double period);
void vgmo__feed_free(vgmo__feed *f);
/* Moves every request that arrived by `now` into the queue. */
vgmo_err vgmo__feed_admit(vgmo__feed *f, double now);
/* When the next request arrives; INFINITY when none will. */
double vgmo__feed_next_arrival(const vgmo__feed *f);
static inline size_t vgmo__feed_queued(const vgmo__feed *f)
{
	return f->len;
}
static inline const vgmo__vlm_req *vgmo__feed_queue(const vgmo__feed *f)
{
	return f->q + f->head;
}
void vgmo__feed_pop(vgmo__feed *f, size_t n);
/* Bytes other processes hold at `now` on a GPU of `total` bytes. */
double vgmo__feed_external(const vgmo__feed *f, double now, double total);

#endif
