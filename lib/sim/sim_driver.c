/*
 * sim_driver.c - vgmo_engine_sim_run: the synthetic workers ask for their
 * batch size, run the batch on the simulated GPU, report it, and the
 * engine's loop ticks, all on the virtual clock. Event-driven: the worker
 * that finishes first runs next, so several GPUs interleave correctly.
 *
 * A client of the engine: it drives it through the public API and
 * engine_hook.h, and reaches the simulated GPU through vgmo__sim_of.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_hook.h"
#include "sim.h"
#include "sim_driver.h"
#include "vlm_feed.h"

/* A built-in VLM workload is generated for this long, then repeats. */
#define FEED_PERIOD 3600.0

/* A device whose worker runs a VLM workload's requests. */
typedef struct vlm_dev {
	vgmo__trace trace;
	vgmo__feed feed;
} vlm_dev;

typedef struct sim_driver {
	vgmo_engine *e;
	vgmo__sim *sim;
	unsigned n;
	int *worker;       /* per device: worker id, -1 none */
	double *next_free; /* per device: when its worker is free again */
	vlm_dev **vlm;     /* per device: its VLM workload, or NULL */
} sim_driver;

static vgmo_err vlm_dev_open(vgmo_engine *e, vgmo__sim *sim, unsigned dev,
                             vlm_dev **out)
{
	const vgmo__vlm_truth *t = vgmo__sim_vlm(sim, dev);
	const char *name = vgmo__sim_workload(sim, dev);
	vlm_dev *v;
	vgmo_err rc;

	*out = NULL;
	/* "requests": someone else (the benchmark) feeds the worker. */
	if (t == NULL || strcmp(name, "requests") == 0)
		return VGMO_OK;
	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return VGMO_ERR_NOMEM;
	rc = vgmo__trace_generate(&v->trace, name, FEED_PERIOD, t->seed, NULL,
	                          0);
	if (rc != VGMO_OK) {
		free(v);
		return rc;
	}
	vgmo__feed_init(&v->feed, &v->trace, &t->model, FEED_PERIOD);
	v->feed.offset = vgmo__engine_now(e);
	*out = v;
	return VGMO_OK;
}

static void vlm_dev_free(vlm_dev *v)
{
	if (v == NULL)
		return;
	vgmo__feed_free(&v->feed);
	vgmo__trace_free(&v->trace);
	free(v);
}

static vgmo_err driver_run(void *ctx, double seconds);

static void driver_free(void *ctx)
{
	sim_driver *d = ctx;

	for (unsigned i = 0; d->vlm && i < d->n; i++)
		vlm_dev_free(d->vlm[i]);
	free(d->vlm);
	free(d->worker);
	free(d->next_free);
	free(d);
}

vgmo_err vgmo__sim_driver_init(vgmo_engine *e, vgmo__sim *sim)
{
	sim_driver *d = calloc(1, sizeof(*d));
	const vgmo__backend_ops *ops;
	void *bctx = vgmo__engine_backend(e, &ops);
	char name[64];

	if (d == NULL)
		return VGMO_ERR_NOMEM;
	d->e = e;
	d->sim = sim;
	d->n = ops->device_count(bctx);
	d->worker = calloc(d->n, sizeof(*d->worker));
	d->next_free = calloc(d->n, sizeof(*d->next_free));
	d->vlm = calloc(d->n, sizeof(*d->vlm));
	vgmo__engine_set_driver(e, &(vgmo__driver){driver_run, driver_free, d});
	if (!d->worker || !d->next_free || !d->vlm)
		return VGMO_ERR_NOMEM;
	for (unsigned i = 0; i < d->n; i++) {
		vgmo_err rc;

		d->worker[i] = -1;
		d->next_free[i] = vgmo__engine_now(e);
		if (!vgmo__sim_has_worker(sim, i))
			continue;
		rc = vlm_dev_open(e, sim, i, &d->vlm[i]);
		if (rc != VGMO_OK)
			return rc;
		if (vgmo__sim_vlm(sim, i) && d->vlm[i] == NULL) {
			/* Fed from outside (the benchmark), through device 0's
			 * default worker, whose memory the simulator counts. */
			if (i == 0)
				vgmo__engine_worker_simulated(
				        e, VGMO_DEFAULT_WORKER);
			continue;
		}
		if (i == 0) {
			d->worker[i] = VGMO_DEFAULT_WORKER;
			continue;
		}
		snprintf(name, sizeof(name), "sim-worker-%u", i);
		if (vgmo_engine_worker_add(e, name, i, 1.0, &d->worker[i]))
			return VGMO_ERR_NOMEM;
	}
	/* The simulator accounts for these workers' memory itself. */
	for (unsigned i = 0; i < d->n; i++)
		if (d->worker[i] >= 0)
			vgmo__engine_worker_simulated(e, d->worker[i]);
	return VGMO_OK;
}

/* The device whose worker is free first, or -1 when none runs. */
static int next_device(const sim_driver *d)
{
	int best = -1;

	for (unsigned i = 0; i < d->n; i++)
		if (d->worker[i] >= 0 &&
		    (best < 0 || d->next_free[i] < d->next_free[best]))
			best = (int)i;
	return best;
}

/* One batch of a VLM workload's queued requests, or, when none is queued,
 * the time the next one arrives. Returns the batch's duration (0: idle
 * until *idle_until). */
static double vlm_step(const sim_driver *d, unsigned dev, vlm_dev *v, int items,
                       vgmo_report *r, double *idle_until)
{
	vgmo__feed *f = &v->feed;
	double now = vgmo__engine_now(d->e);
	size_t n;
	double dur;

	vgmo__sim_set_external(
	        d->sim, dev,
	        (uint64_t)vgmo__feed_external(
	                f, now, (double)vgmo__sim_total(d->sim, dev)));
	if (vgmo__feed_admit(f, now) != VGMO_OK || !f->len) {
		*idle_until = vgmo__feed_next_arrival(f);
		return 0;
	}
	n = (size_t)items < f->len ? (size_t)items : f->len;
	dur = vgmo__sim_run_requests(d->sim, dev, vgmo__feed_queue(f), n, r,
	                             NULL);
	/* A request that does not fit alone is dropped. */
	if (!r->oom || n == 1)
		vgmo__feed_pop(f, n);
	return dur;
}

static vgmo_err driver_run(void *ctx, double seconds)
{
	sim_driver *d = ctx;
	vgmo_engine *e = d->e;
	double end, tick_every, last_tick = -1, base, now;
	vgmo_config c;

	if (!vgmo__engine_virtual(e))
		return VGMO_ERR_STATE;
	if (!(seconds >= 0))
		return VGMO_ERR_INVALID;
	end = vgmo__engine_now(e) + seconds;
	for (;;) {
		int dev = next_device(d);
		double next_tick, t;

		vgmo_engine_get_config(e, &c);
		tick_every = c.monitoring_interval;
		/* A tick that did not sample (monitoring stopped) still
		 * counts: the next is an interval later, not at once. */
		now = vgmo__engine_now(e);
		base = fmax(vgmo__engine_last_sample(e), last_tick);
		next_tick = base < 0 ? now : base + tick_every;
		t = dev >= 0 && d->next_free[dev] < next_tick
		            ? d->next_free[dev]
		            : next_tick;
		if (t > end)
			break;
		vgmo__engine_advance(e, t);
		now = vgmo__engine_now(e);
		if (dev >= 0 && d->next_free[dev] <= now) {
			vgmo_report r;
			vgmo_decision dec;
			int items = vgmo_engine_batch_size(e, d->worker[dev]);
			double dur;

			if (items < 1)
				items = 1;
			if (d->vlm[dev]) {
				double idle = now;

				dur = vlm_step(d, (unsigned)dev, d->vlm[dev],
				               items, &r, &idle);
				if (dur <= 0) {
					/* Nothing queued: wait for the next
					 * arrival (or the next tick). */
					d->next_free[dev] = fmax(idle, now);
					vgmo_engine_tick(e);
					continue;
				}
			} else {
				dur = vgmo__sim_run_batch(d->sim, (unsigned)dev,
				                          (uint32_t)items, now,
				                          &r);
			}
			d->next_free[dev] = now + dur;
			if (vgmo_engine_report(e, d->worker[dev], &r, &dec) ==
			            VGMO_OK &&
			    dec.cleanup)
				vgmo__engine_backend_cleanup(e, (unsigned)dev);
		}
		if (now >= next_tick)
			last_tick = now;
		vgmo_engine_tick(e);
	}
	vgmo__engine_advance(e, end);
	return VGMO_OK;
}

vgmo_err vgmo_engine_sim_run(vgmo_engine *e, double seconds)
{
	sim_driver *d = vgmo__engine_driver(e, driver_run);

	return d ? driver_run(d, seconds) : VGMO_ERR_STATE;
}
