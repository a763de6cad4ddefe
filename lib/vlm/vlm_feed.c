/*
 * vlm_feed.c - a trace played on a clock into a FIFO queue.
 */
#include "vlm_feed.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void vgmo__feed_init(vgmo__feed *f, const vgmo__trace *t,
                     const vgmo_vlm_model *m, double period)
{
	memset(f, 0, sizeof(*f));
	f->trace = t;
	f->model = *m;
	f->period = period;
}

void vgmo__feed_free(vgmo__feed *f)
{
	free(f->q);
	memset(f, 0, sizeof(*f));
}

static bool push(vgmo__feed *f, const vgmo__vlm_req *r)
{
	if (f->len >= VGMO__FEED_MAX_QUEUE) {
		f->dropped++;
		return true;
	}
	if (f->head > 0 && f->head + f->len == f->cap) {
		memmove(f->q, f->q + f->head, f->len * sizeof(*f->q));
		f->head = 0;
	}
	if (f->head + f->len == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 256;
		vgmo__vlm_req *q = realloc(f->q, cap * sizeof(*q));

		if (q == NULL)
			return false;
		f->q = q;
		f->cap = cap;
	}
	f->q[f->head + f->len++] = *r;
	return true;
}

double vgmo__feed_next_arrival(const vgmo__feed *f)
{
	const vgmo__trace *t = f->trace;

	if (f->next < t->nreq)
		return f->offset + t->req[f->next].t;
	if (f->period > 0 && t->nreq > 0)
		return f->offset + f->period + t->req[0].t;
	return INFINITY;
}

vgmo_err vgmo__feed_admit(vgmo__feed *f, double now)
{
	const vgmo__trace *t = f->trace;
	vgmo__vlm_req r;

	while (vgmo__feed_next_arrival(f) <= now) {
		if (f->next >= t->nreq) {
			f->offset += f->period;
			f->next = 0;
		}
		vgmo__vlm_req_from_trace(&f->model, t, f->next, f->next_id,
		                         f->offset + t->req[f->next].t, &r);
		if (!push(f, &r))
			return VGMO_ERR_NOMEM;
		f->next++;
		f->next_id++;
	}
	return VGMO_OK;
}

void vgmo__feed_pop(vgmo__feed *f, size_t n)
{
	if (n > f->len)
		n = f->len;
	f->head += n;
	f->len -= n;
	if (f->len == 0)
		f->head = 0;
}

double vgmo__feed_external(const vgmo__feed *f, double now, double total)
{
	double at = now - f->offset;

	return vgmo__trace_external(f->trace, at < 0 ? 0 : at, total);
}
