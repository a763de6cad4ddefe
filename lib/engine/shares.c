/*
 * shares.c - how a GPU's memory is split among the workers on it, how
 * leases expire, and what the workers' reports add to a device sample.
 *
 * The memory a device offers is total - unattributed - reserve, and to
 * the OOM line total - unattributed (unattributed: what no worker holds:
 * other processes, CUDA contexts; a worker holds its process's memory
 * where the backend lists processes, else the reserve it reports, never
 * more than the device shows). The thresholds classify the device's
 * status; they do not size batches. It is split by weight,
 * then by demand (water-filling): a worker that cannot use its weighted
 * share, even at max_batch_size, keeps what it needs and leaves the rest
 * to the others, by weight. The budgets never add up past the total.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "util.h"

/* Bytes a worker could use at most: an items worker's need at
 * max_batch_size (or below its OOM ceiling, or its manual size); a tokens
 * worker fills any room. */
static double demand(const vgmo_engine *e, const vgmo__worker *w)
{
	double x[VGMO__COST_MAX] = {0};
	vgmo__need_in in;
	int n = e->cfg.max_batch_size;

	if (w->tokens && !w->manual)
		return INFINITY;
	if (w->ceiling > 0 && w->ceiling - 1 < n)
		n = w->ceiling - 1 > 0 ? w->ceiling - 1 : 1;
	if (w->manual)
		n = w->manual;
	vgmo__worker_need_in(e, w, &in, NULL);
	x[0] = 1;
	x[VGMO__X_ITEMS] = n;
	return vgmo__need(&in, x);
}

/* The memory a worker holds on its device. */
static double held_by(const vgmo_gpu_sample *s, const vgmo__worker *w)
{
	if (w->pid && (s->present & VGMO_HAS_PROCESSES))
		for (unsigned i = 0; i < s->process_count; i++)
			if (s->processes[i].pid == w->pid &&
			    s->processes[i].used_bytes != UINT64_MAX)
				return (double)s->processes[i].used_bytes;
	/* Before its first report: what its prior says it holds (a model's
	 * weights are on the device before any batch). */
	return w->last_reserved ? (double)w->last_reserved
	                        : vgmo__cost_base(&w->cost);
}

static bool active(const vgmo__worker *w)
{
	return w->leased || w->reports > 0;
}

typedef struct fill_item {
	double ratio; /* need / weight: the level at which it is satisfied */
	size_t i;
} fill_item;

static int by_ratio(const void *pa, const void *pb)
{
	const fill_item *a = pa, *b = pb;
	/* NaN sorts last, as if it needed everything. */
	double x = isnan(a->ratio) ? INFINITY : a->ratio;
	double y = isnan(b->ratio) ? INFINITY : b->ratio;

	return x < y ? -1 : x > y ? 1 : (a->i > b->i) - (a->i < b->i);
}

/* Water-filling of `avail` over the `k` workers in `ws`; writes each
 * worker's part into out[]. The level (memory per unit of weight) only
 * rises as workers that need less than their share are satisfied, so
 * taking them in order of need per weight finds every one in a single
 * pass: O(k log k), under the engine's lock with a thousand clients. */
static void water_fill(vgmo__worker **ws, const double *need, size_t k,
                       double avail, double *out)
{
	fill_item *order = malloc((k ? k : 1) * sizeof(*order));
	double left = avail > 0 ? avail : 0, wsum = 0;
	size_t j;

	for (size_t i = 0; i < k; i++)
		wsum += ws[i]->weight;
	if (order == NULL) { /* fall back to weights alone */
		for (size_t i = 0; i < k; i++)
			out[i] = left * ws[i]->weight / wsum;
		return;
	}
	for (size_t i = 0; i < k; i++) {
		order[i].ratio = need[i] / ws[i]->weight;
		order[i].i = i;
	}
	qsort(order, k, sizeof(*order), by_ratio);
	for (j = 0; j < k && wsum > 0; j++) {
		size_t i = order[j].i;

		if (!(need[i] < left * ws[i]->weight / wsum))
			break;
		out[i] = need[i];
		left -= need[i];
		wsum -= ws[i]->weight;
	}
	for (; j < k; j++) {
		size_t i = order[j].i;

		out[i] = wsum > 0 ? left * ws[i]->weight / wsum : 0;
	}
	free(order);
}

void vgmo__device_budgets(vgmo_engine *e, unsigned dev)
{
	const vgmo_gpu_sample *s = &e->samples[dev];
	vgmo__worker **ws = NULL;
	double *need = NULL, *crit = NULL, *oom = NULL;
	double total, used, held = 0, unattributed, reserve, ac, ao;
	size_t k = 0, busy = 0;

	for (size_t i = 0; i < e->nworkers; i++)
		if (e->workers[i] && e->workers[i]->gpu == dev) {
			k++;
			busy += active(e->workers[i]);
		}
	if (!e->sampled || !s->up || !(s->present & VGMO_HAS_MEMORY) ||
	    s->memory_total == 0) {
		for (size_t i = 0; i < e->nworkers; i++)
			if (e->workers[i] && e->workers[i]->gpu == dev) {
				e->workers[i]->has_budget = false;
				e->workers[i]->share = -1;
			}
		e->unattributed[dev] = UINT64_MAX;
		vgmo__others_clear(&e->others[dev]);
		return;
	}
	ws = calloc(k ? k : 1, sizeof(*ws));
	need = calloc(k ? k : 1, sizeof(*need));
	crit = calloc(k ? k : 1, sizeof(*crit));
	oom = calloc(k ? k : 1, sizeof(*oom));
	if (!ws || !need || !crit || !oom)
		goto out;
	k = 0;
	for (size_t i = 0; i < e->nworkers; i++) {
		vgmo__worker *w = e->workers[i];

		if (w == NULL || w->gpu != dev)
			continue;
		held += held_by(s, w);
		/* A worker nobody runs (the default one, before any report,
		 * on a GPU that registered clients use) takes no share. */
		if (!active(w) && busy > 0)
			continue;
		ws[k] = w;
		need[k] = demand(e, w);
		k++;
	}
	total = (double)s->memory_total;
	used = (double)s->memory_used;
	if (s->present & VGMO_HAS_RESERVED)
		used += (double)s->memory_reserved;
	/* What no worker holds is measured when the device is sampled: a
	 * report between samples changes what its worker holds, not what
	 * the others do (the sample still has the old figure in it). */
	if (e->fresh_sample || e->unattributed[dev] == UINT64_MAX) {
		e->unattributed[dev] =
		        (uint64_t)fmax(0.0, used - fmin(held, used));
		vgmo__others_add(&e->others[dev], vgmo__engine_now(e),
		                 (double)e->unattributed[dev]);
	}
	unattributed = (double)e->unattributed[dev];
	reserve = (double)e->cfg.memory_reserve_mb * (double)VGMO__MIB;
	ac = fmax(0.0, total - reserve - unattributed);
	ao = fmax(0.0, total - unattributed);
	water_fill(ws, need, k, ac, crit);
	/* Under the OOM threshold each keeps its critical budget's
	 * proportion of the larger room. */
	/* Idle workers left out above get no budget (unknown), so the
	 * budgets shown never add up past the device's. */
	for (size_t i = 0; i < e->nworkers; i++) {
		vgmo__worker *w = e->workers[i];

		if (w && w->gpu == dev && !active(w) && busy > 0) {
			w->budget = w->budget_oom = 0;
			w->has_budget = false;
			w->share = 0;
		}
	}
	for (size_t i = 0; i < k; i++) {
		oom[i] = ac > 0 ? crit[i] * ao / ac : 0;
		ws[i]->budget = crit[i];
		ws[i]->budget_oom = oom[i];
		ws[i]->has_budget = true;
		ws[i]->share = ac > 0 ? crit[i] / ac : 0;
	}
out:
	free(ws);
	free(need);
	free(crit);
	free(oom);
}

/* One pass over the workers; each device that lost one has its budgets
 * recomputed once at the end, so mass expiry stays linear. */
void vgmo__workers_expire(vgmo_engine *e, double now)
{
	bool *lost = NULL;
	bool any = false;

	for (size_t i = 0; i < e->nworkers; i++) {
		vgmo__worker *w = e->workers[i];
		double since;

		if (w == NULL || !w->leased)
			continue;
		since = now - w->last_seen;
		if (since > 2 * e->lease) {
			vgmo_result r = {0};
			unsigned dev = w->gpu;

			r.success = true;
			snprintf(r.action_taken, sizeof(r.action_taken),
			         "client_lease_expired");
			r.memory_freed_mb = -1;
			r.timestamp = vgmo__engine_wall(e);
			vgmo__strlcpy(r.worker, w->name, sizeof(r.worker));
			snprintf(r.reason, sizeof(r.reason),
			         "no report for %.0f s: dropped, its share "
			         "released",
			         since);
			vgmo__engine_record(e, &r);
			e->leases_expired[dev]++;
			vgmo__worker_free(e, w);
			if (lost == NULL)
				lost = calloc(e->ndev, sizeof(*lost));
			if (lost != NULL)
				lost[dev] = true;
			any = true;
		} else {
			w->unhealthy = since > e->lease;
		}
	}
	for (unsigned d = 0; any && d < e->ndev; d++)
		if (lost == NULL || lost[d])
			vgmo__device_budgets(e, d);
	free(lost);
}

void vgmo__workers_fold(vgmo_engine *e)
{
	for (unsigned d = 0; d < e->ndev; d++) {
		vgmo_gpu_sample *s = &e->samples[d];
		double fs = 0, fw = 0;
		uint64_t clients = 0;

		for (size_t i = 0; i < e->nworkers; i++) {
			const vgmo__worker *w = e->workers[i];

			if (w == NULL || w->gpu != d || !w->last_reserved)
				continue;
			if (w->simulated &&
			    (s->present & VGMO_HAS_FRAGMENTATION)) {
				/* The simulator's value is fresher than the
				 * last report (a cleanup since, say). */
				fs += s->fragmentation *
				      (double)w->last_reserved;
				fw += (double)w->last_reserved;
			} else if (w->has_frag) {
				fs += w->frag * (double)w->last_reserved;
				fw += (double)w->last_reserved;
			}
			if (!w->simulated)
				clients += w->last_reserved;
		}
		/* On the simulated GPU, what registered clients hold is
		 * device memory, as it would be on a real one. */
		if ((e->ops->caps & VGMO__BACKEND_UNSEEN_CLIENTS) && s->up &&
		    (s->present & VGMO_HAS_MEMORY)) {
			uint64_t room = s->memory_total - s->memory_used;

			if (clients > room)
				clients = room;
			s->memory_used += clients;
			s->memory_free -= clients;
		}
		if (fw > 0) {
			s->present |= VGMO_HAS_FRAGMENTATION;
			s->fragmentation = fs / fw;
		}
		e->fresh_sample = true;
		vgmo__device_budgets(e, d);
		e->fresh_sample = false;
	}
}
