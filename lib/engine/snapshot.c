/*
 * snapshot.c - a consistent copy of the engine's state, taken under its
 * lock and read (formatted, served) outside it.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "util.h"

struct vgmo_snapshot {
	char backend[16];
	double time;
	vgmo_config cfg;
	size_t ngpu;
	vgmo_gpu_sample *gpus;
	vgmo_status *status;
	size_t nworkers;
	vgmo_worker_view *workers;
	size_t nhistory;
	vgmo_result *history;
	vgmo_counters counters;
	uint64_t *leases_expired;
	uint64_t *unattributed;
};

static void view_worker(const vgmo_engine *e, const vgmo__worker *w, double now,
                        vgmo_worker_view *v)
{
	vgmo__need_in in;
	double item;

	memset(v, 0, sizeof(*v));
	v->id = w->id;
	vgmo__strlcpy(v->name, w->name, sizeof(v->name));
	v->gpu = w->gpu;
	v->weight = w->weight;
	v->batch_size = w->batch_size;
	v->optimal_batch_size = w->optimal;
	v->manual_batch_size = w->manual;
	{
		double room;

		v->has_budget = w->has_budget && vgmo__worker_room(e, w, &room);
		v->budget_bytes =
		        v->has_budget && room > 0 ? (uint64_t)room : 0;
	}
	v->has_fragmentation = w->has_frag;
	v->fragmentation = w->frag;
	v->reports = w->reports;
	v->ooms = w->ooms;
	vgmo__worker_need_in(e, w, &in, NULL);
	item = vgmo__cost_coef(in.cost, 1);
	v->model.fitted = vgmo__cost_fitted(in.cost);
	v->model.samples = in.cost->samples;
	v->model.fixed_bytes =
	        vgmo__cost_base(in.cost) + vgmo__cost_coef(in.cost, 0);
	v->model.item_bytes = item;
	v->model.sigma_bytes =
	        item *
	        (vgmo__cost_factor(in.cost,
	                           vgmo__strategy_z(VGMO_STRATEGY_BALANCED)) -
	         1);
	v->model.ceiling = w->ceiling;
	v->throughput = w->items_per_s;
	vgmo__strlcpy(v->unit, w->unit[0] ? w->unit : "items", sizeof(v->unit));
	v->leased = w->leased;
	v->padding = w->padding;
	v->attention = w->attention;
	v->vision_attention = w->vision_attention;
	v->logits = w->logits;
	v->healthy = !w->unhealthy;
	v->last_report_age = w->reports ? now - w->last_seen : -1;
	v->share = v->has_budget ? w->share : -1;
}

vgmo_err vgmo_engine_snapshot(vgmo_engine *e, vgmo_snapshot **out)
{
	return vgmo_engine_snapshot_ex(e, VGMO_SNAPSHOT_HISTORY, out);
}

static int by_id(const void *a, const void *b)
{
	int x = ((const vgmo_worker_view *)a)->id;
	int y = ((const vgmo_worker_view *)b)->id;

	return (x > y) - (x < y);
}

vgmo_err vgmo_engine_snapshot_ex(vgmo_engine *e, unsigned flags,
                                 vgmo_snapshot **out)
{
	bool history = (flags & VGMO_SNAPSHOT_HISTORY) != 0;
	vgmo_snapshot *s = calloc(1, sizeof(*s));
	size_t nw = 0;
	double now = vgmo__engine_now(e);

	*out = NULL;
	if (s == NULL)
		return VGMO_ERR_NOMEM;
	pthread_mutex_lock(&e->lock);
	for (size_t i = 0; i < e->nworkers; i++)
		nw += e->workers[i] != NULL;
	s->gpus = calloc(e->ndev, sizeof(*s->gpus));
	s->status = calloc(e->ndev, sizeof(*s->status));
	s->leases_expired = calloc(e->ndev, sizeof(*s->leases_expired));
	s->unattributed = calloc(e->ndev, sizeof(*s->unattributed));
	s->workers = calloc(nw ? nw : 1, sizeof(*s->workers));
	s->history = calloc(history && e->history.count ? e->history.count : 1,
	                    sizeof(*s->history));
	if (!s->gpus || !s->status || !s->workers || !s->history ||
	    !s->leases_expired || !s->unattributed) {
		pthread_mutex_unlock(&e->lock);
		vgmo_snapshot_free(s);
		return VGMO_ERR_NOMEM;
	}
	vgmo__strlcpy(s->backend, e->ops->name, sizeof(s->backend));
	s->time = vgmo__engine_wall(e);
	s->cfg = e->cfg;
	s->ngpu = e->ndev;
	memcpy(s->gpus, e->samples, e->ndev * sizeof(*s->gpus));
	memcpy(s->status, e->status, e->ndev * sizeof(*s->status));
	memcpy(s->leases_expired, e->leases_expired,
	       e->ndev * sizeof(*s->leases_expired));
	memcpy(s->unattributed, e->unattributed,
	       e->ndev * sizeof(*s->unattributed));
	for (size_t i = 0; i < e->nworkers; i++)
		if (e->workers[i])
			view_worker(e, e->workers[i], now,
			            &s->workers[s->nworkers++]);
	if (history) {
		for (size_t i = 0; i < e->history.count; i++)
			s->history[i] = *vgmo__history_at(&e->history, i);
		s->nhistory = e->history.count;
	}
	s->counters = e->counters;
	pthread_mutex_unlock(&e->lock);
	/* Slots are reused: list in id order, oldest first. */
	qsort(s->workers, s->nworkers, sizeof(*s->workers), by_id);
	*out = s;
	return VGMO_OK;
}

vgmo_err vgmo_engine_worker_view(vgmo_engine *e, int worker,
                                 vgmo_worker_view *out, uint64_t *gpu_total)
{
	const vgmo__worker *w;
	double now;
	vgmo_err rc = VGMO_ERR_NOT_FOUND;

	if (e == NULL || out == NULL)
		return VGMO_ERR_INVALID;
	now = vgmo__engine_now(e);
	pthread_mutex_lock(&e->lock);
	w = vgmo__worker_get(e, worker);
	if (w != NULL) {
		view_worker(e, w, now, out);
		if (gpu_total != NULL)
			*gpu_total = w->gpu < e->ndev
			                     ? e->samples[w->gpu].memory_total
			                     : 0;
		rc = VGMO_OK;
	}
	pthread_mutex_unlock(&e->lock);
	return rc;
}

void vgmo_snapshot_free(vgmo_snapshot *s)
{
	if (s == NULL)
		return;
	free(s->gpus);
	free(s->status);
	free(s->leases_expired);
	free(s->unattributed);
	free(s->workers);
	free(s->history);
	free(s);
}

const char *vgmo_snapshot_backend(const vgmo_snapshot *s)
{
	return s->backend;
}

double vgmo_snapshot_time(const vgmo_snapshot *s)
{
	return s->time;
}

bool vgmo_snapshot_enabled(const vgmo_snapshot *s)
{
	return s->cfg.enabled;
}

const vgmo_config *vgmo_snapshot_config(const vgmo_snapshot *s)
{
	return &s->cfg;
}

size_t vgmo_snapshot_gpu_count(const vgmo_snapshot *s)
{
	return s->ngpu;
}

const vgmo_gpu_sample *vgmo_snapshot_gpu(const vgmo_snapshot *s, size_t i)
{
	return i < s->ngpu ? &s->gpus[i] : NULL;
}

vgmo_status vgmo_snapshot_gpu_status(const vgmo_snapshot *s, size_t i)
{
	return i < s->ngpu ? s->status[i] : VGMO_STATUS_HEALTHY;
}

vgmo_status vgmo_snapshot_status(const vgmo_snapshot *s)
{
	vgmo_status worst = VGMO_STATUS_HEALTHY;

	for (size_t i = 0; i < s->ngpu; i++)
		if (s->gpus[i].up && s->status[i] > worst)
			worst = s->status[i];
	return worst;
}

int vgmo_snapshot_most_loaded(const vgmo_snapshot *s)
{
	int best = -1;
	double best_u = -1;

	for (size_t i = 0; i < s->ngpu; i++) {
		double u = vgmo_sample_usage(&s->gpus[i]);

		if (u >= 0 && u > best_u) {
			best_u = u;
			best = (int)i;
		}
	}
	return best;
}

size_t vgmo_snapshot_worker_count(const vgmo_snapshot *s)
{
	return s->nworkers;
}

const vgmo_worker_view *vgmo_snapshot_worker(const vgmo_snapshot *s, size_t i)
{
	return i < s->nworkers ? &s->workers[i] : NULL;
}

size_t vgmo_snapshot_history_count(const vgmo_snapshot *s)
{
	return s->nhistory;
}

const vgmo_result *vgmo_snapshot_history(const vgmo_snapshot *s, size_t i)
{
	return i < s->nhistory ? &s->history[i] : NULL;
}

const vgmo_counters *vgmo_snapshot_counters(const vgmo_snapshot *s)
{
	return &s->counters;
}

uint64_t vgmo_snapshot_leases_expired(const vgmo_snapshot *s, size_t gpu)
{
	return gpu < s->ngpu ? s->leases_expired[gpu] : 0;
}

bool vgmo_snapshot_unattributed(const vgmo_snapshot *s, size_t gpu,
                                uint64_t *bytes)
{
	if (gpu >= s->ngpu || s->unattributed[gpu] == UINT64_MAX)
		return false;
	*bytes = s->unattributed[gpu];
	return true;
}
