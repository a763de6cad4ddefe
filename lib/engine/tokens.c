/*
 * tokens.c - a tokens worker's batches: the features of a batch of request
 * shapes, the next batch from the head of a queue, whether one request
 * fits (and what would), and the reports that teach its cost. The older
 * unit calls, on the same model, are in units.c.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine_internal.h"
#include "tokens.h"
#include "util.h"
#include "vlm_models.h"

/* The worker's CUDA context, assumed when judging what would fit on an
 * otherwise empty GPU. */
#define CONTEXT_GUESS VGMO__CONTEXT_BYTES
/* A batch grows at most to this many times the requests that ran. */
#define CLIMB 2
/* ... and to at most this many times the largest cost that ran (above
 * CLIMB: twice the requests of a batch that ran may cost a little more
 * than twice as much). */
#define CLIMB_COST 2.5
/* Lone requests refused in doubt, since a batch last ran, before one in
 * doubt runs anyway. */
#define DOUBT_TRIES 3
/* ... and the quantile of the model's error band at which one in doubt
 * must fit: a little above its best guess (an even chance), so that a
 * request at the very edge of the room waits. */
#define DOUBT_Z 0.5
/* A batch no larger than one that ran is vouched for while that one's
 * memory fits with this much to spare: the same batch needs more as the
 * cache fragments. */
#define VOUCH_SLACK 0.01
#define MAX_TOKENS 0x7fffffffLL

/* Running features of a prefix of requests. */
typedef struct prefix {
	double n, sum_len, max_len, sum_out, max_out, sum_len2, sum_img;
	double sum_img2;
} prefix;

static void prefix_add(prefix *p, const vgmo_request_shape *r)
{
	double len = (double)r->image_tokens + r->text_tokens;

	p->n += 1;
	p->sum_len += len;
	p->max_len = fmax(p->max_len, len);
	p->sum_out += r->output_tokens;
	p->max_out = fmax(p->max_out, r->output_tokens);
	p->sum_len2 += len * len;
	p->sum_img += r->image_tokens;
	p->sum_img2 += (double)r->image_tokens * r->image_tokens;
}

static void prefix_x(const prefix *p, bool packed, double *x)
{
	memset(x, 0, VGMO__COST_MAX * sizeof(*x));
	x[VGMO__X_ONE] = 1;
	x[VGMO__X_REQUESTS] = p->n;
	x[VGMO__X_IMAGE] = p->sum_img; /* the encoder does not pad */
	x[VGMO__X_IMAGE2] = p->sum_img * p->sum_img;
	if (packed) {
		x[VGMO__X_PROMPT] = p->sum_len;
		x[VGMO__X_OUTPUT] = p->sum_out;
		x[VGMO__X_QUAD] = p->sum_len2;
	} else {
		x[VGMO__X_PROMPT] = p->n * p->max_len;
		x[VGMO__X_OUTPUT] = p->n * p->max_out;
		x[VGMO__X_QUAD] = p->n * p->max_len * p->max_len;
	}
}

const char *vgmo_fit_verdict_name(vgmo_fit_verdict v)
{
	switch (v) {
	case VGMO_FIT_OK:
		return "fits";
	case VGMO_FIT_NOT_NOW:
		return "not_now";
	case VGMO_FIT_NEVER:
	default:
		return "never";
	}
}

/* The most requests the next batch may hold: a manual batch size, else
 * max_batch_size; before the first batch ran one request, then at most
 * twice the largest that ran (climbing in safe steps). */
size_t vgmo__tokens_cap(const vgmo_engine *e, const vgmo__worker *w)
{
	int cap = w->manual ? w->manual : e->cfg.max_batch_size;

	if (!w->manual) {
		/* From one request: a first batch teaches what the prior
		 * could not, at the least risk. */
		int climb = w->ran_max > 0 ? w->ran_max * CLIMB : 1;

		if (climb < cap)
			cap = climb;
	}
	return cap > 0 ? (size_t)cap : 1;
}

/* A prefix whose every feature is at most one of a batch that ran, with
 * that batch's peak still in the room: safe whatever the model says. */
bool vgmo__tokens_vouched(const vgmo__worker *w, const double *x, double room)
{
	unsigned kept = w->nran < VGMO__RAN_KEPT ? w->nran : VGMO__RAN_KEPT;

	for (unsigned i = 0; i < kept; i++) {
		const vgmo__ran *r = &w->ran[i];
		bool under = true;

		for (unsigned j = 1; j < VGMO__COST_MAX && under; j++)
			under = x[j] <= r->x[j];
		if (under && r->peak * (1 + VOUCH_SLACK) <= room)
			return true;
	}
	return false;
}

/* A batch whose every feature is at least one that ran out of memory,
 * with no more room than it had: it would fail too. */
static bool doomed(const vgmo__worker *w, const double *x, double room)
{
	unsigned kept = w->noom < VGMO__RAN_KEPT ? w->noom : VGMO__RAN_KEPT;

	for (unsigned i = 0; i < kept; i++) {
		const vgmo__ran *o = &w->oomed[i];
		bool over = room <= o->peak;

		for (unsigned j = 1; j < VGMO__COST_MAX && over; j++)
			over = x[j] >= o->x[j];
		if (over)
			return true;
	}
	return false;
}

/* Largest prompt length (tokens) of one request with `out` output tokens
 * whose need fits `room`. */
uint32_t vgmo__max_prompt(const vgmo__need_in *in, bool packed, double out,
                          double image_share, double room)
{
	long long lo = 0, hi = MAX_TOKENS;

	while (lo < hi) {
		long long mid = lo + (hi - lo + 1) / 2;
		prefix p = {1,
		            (double)mid,
		            (double)mid,
		            out,
		            out,
		            (double)mid * (double)mid,
		            image_share * mid,
		            image_share * mid * image_share * mid};
		double x[VGMO__COST_MAX];

		prefix_x(&p, packed, x);
		if (vgmo__need(in, x) <= room)
			lo = mid;
		else
			hi = mid - 1;
	}
	return (uint32_t)lo;
}

/* Pixels per image that make `tokens` image tokens, for the model. */
static uint64_t pixels_for(const vgmo_vlm_model *m, double tokens)
{
	if (!(tokens >= 1))
		return 0;
	switch (m->image_rule) {
	case VGMO_IMAGE_PIXELS:
		return (uint64_t)(floor(tokens) * m->factor * m->factor);
	case VGMO_IMAGE_TILES: {
		double tiles = floor(tokens / m->tokens_per_tile);

		if (m->thumbnail == VGMO_THUMBNAIL_ALWAYS ||
		    (m->thumbnail == VGMO_THUMBNAIL_MULTI && tiles > 2))
			tiles -= 1;
		return tiles >= 1 ? (uint64_t)(tiles * m->tile * m->tile) : 0;
	}
	case VGMO_IMAGE_FIXED:
	default:
		return 0; /* a fixed count: smaller images do not help */
	}
}

/* Whether a request of features x fits `room` at DOUBT_Z of the model's
 * error band: in doubt rather than not now. */
static bool try_fits(const vgmo__need_in *in, const double *x, double room)
{
	vgmo__need_in at = *in;

	at.factor = vgmo__cost_factor(in->cost, DOUBT_Z);
	return vgmo__need(&at, x) <= room;
}

/* Lock held. `deciding`: the answer decides a batch (plan), so a request
 * refused in doubt counts toward the exploration below; a question (fit)
 * changes nothing. */
static void fit_one(const vgmo_engine *e, vgmo__worker *w,
                    const vgmo_request_shape *r, bool deciding, vgmo_fit *out)
{
	const vgmo_gpu_sample *s = &e->samples[w->gpu];
	vgmo__need_in in;
	double x[VGMO__COST_MAX], need, point, room, empty, crit;
	prefix p = {0};
	bool packed, failed, vouched, doubt;

	memset(out, 0, sizeof(*out));
	vgmo__worker_need_in(e, w, &in, &packed);
	prefix_add(&p, r);
	prefix_x(&p, packed, x);
	if (!w->tokens) /* an items worker: one item, whatever its shape */
		vgmo__items_x(1, x);
	need = vgmo__need(&in, x);
	point = vgmo__need_point(&in, x);
	out->need_bytes = (uint64_t)need;
	if (!vgmo__worker_budgets(e, w, &crit, &room)) {
		out->verdict = VGMO_FIT_OK; /* nothing known against it */
		snprintf(out->reason, sizeof(out->reason),
		         "the GPU's memory is unknown: no answer but to try");
		return;
	}
	out->room_bytes = (uint64_t)room;
	if (w->tokens)
		out->max_prompt_tokens = vgmo__max_prompt(
		        &in, packed, r->output_tokens,
		        p.sum_len > 0 ? r->image_tokens / p.sum_len : 0, room);
	out->max_image_tokens =
	        out->max_prompt_tokens > r->text_tokens
	                ? out->max_prompt_tokens - r->text_tokens
	                : 0;
	if (w->has_model && r->images > 0)
		out->max_pixels = pixels_for(
		        &w->model, (double)out->max_image_tokens / r->images);
	/* Alone, a request runs when it fits with the strategy's margin, or
	 * is no larger than one that ran. One that fits a little above its
	 * best guess (DOUBT_Z) but not with the margin is in doubt: refused
	 * (the worker can shrink it, or try later when the model is surer),
	 * unless the worker has had DOUBT_TRIES refused in doubt since a
	 * batch last ran: then it runs, to teach the model, rather than
	 * starve the worker. */
	failed = doomed(w, x, room);
	vouched = need > room && vgmo__tokens_vouched(w, x, room);
	doubt = !failed && point <= room && try_fits(&in, x, room);
	if (!failed &&
	    (need <= room || vouched || (doubt && w->doubts >= DOUBT_TRIES))) {
		out->verdict = VGMO_FIT_OK;
		snprintf(out->reason, sizeof(out->reason),
		         "%s: %.2f GiB needed of %.2f GiB",
		         need <= room ? "fits"
		         : vouched    ? "fits as one that ran"
		                      : "in doubt, run to learn",
		         need / 1073741824.0, room / 1073741824.0);
		return;
	}
	empty = (double)s->memory_total - CONTEXT_GUESS;
	out->verdict = point <= empty ? VGMO_FIT_NOT_NOW : VGMO_FIT_NEVER;
	if (deciding && doubt)
		w->doubts++;
	snprintf(out->reason, sizeof(out->reason),
	         "%s: %.2f GiB needed, %.2f GiB %s; at most %u prompt tokens "
	         "fit now",
	         out->verdict == VGMO_FIT_NEVER ? "never fits"
	         : failed ? "not now, as one that failed here"
	         : doubt  ? "in doubt"
	                  : "not now",
	         (doubt ? need : point) / 1073741824.0,
	         (out->verdict == VGMO_FIT_NEVER ? empty : room) / 1073741824.0,
	         out->verdict == VGMO_FIT_NEVER ? "on the whole GPU" : "free",
	         out->max_prompt_tokens);
}

vgmo_err vgmo_engine_fit(vgmo_engine *e, int worker,
                         const vgmo_request_shape *r, vgmo_fit *out)
{
	vgmo__worker *w;
	vgmo_err rc = VGMO_OK;

	if (r == NULL || out == NULL)
		return VGMO_ERR_INVALID;
	pthread_mutex_lock(&e->lock);
	w = vgmo__worker_get(e, worker);
	if (w == NULL)
		rc = VGMO_ERR_NOT_FOUND;
	else
		fit_one(e, w, r, false, out);
	pthread_mutex_unlock(&e->lock);
	return rc;
}

vgmo_err vgmo_engine_worker_model(const vgmo_engine *e, int worker,
                                  vgmo_vlm_model *out)
{
	const vgmo__worker *w;
	vgmo_err rc = VGMO_OK;

	if (out == NULL)
		return VGMO_ERR_INVALID;
	pthread_mutex_lock((pthread_mutex_t *)&e->lock);
	w = vgmo__worker_get((vgmo_engine *)e, worker);
	if (w == NULL)
		rc = VGMO_ERR_NOT_FOUND;
	else if (!w->has_model)
		rc = VGMO_ERR_STATE;
	else
		*out = w->model;
	pthread_mutex_unlock((pthread_mutex_t *)&e->lock);
	return rc;
}

/* A batch the model predicts at more than CLIMB_COST times the largest
 * cost that ran: far outside what it has seen, where a cost it could not
 * measure yet (a quadratic term small at the sizes seen) may dominate. A
 * batch grows toward it in steps, as it does in requests. */
static bool beyond(const vgmo__worker *w, double variable)
{
	return w->ran_cost > 0 && variable > CLIMB_COST * w->ran_cost;
}

/* The time features of a prefix laid out as the worker does. */
static void prefix_time(const prefix *p, const double *x, double *t)
{
	vgmo__timing_in in = {p->n,       x[VGMO__X_PROMPT], x[VGMO__X_QUAD],
	                      p->max_out, p->sum_img,        p->sum_img2};

	vgmo__timing_features(&in, t);
}

/* What a batch of a plan is held to. */
typedef struct limits {
	const vgmo__need_in *in;
	double room, waste; /* waste: the padding an adaptive worker accepts */
	size_t cap;
	bool packed;
} limits;

/* Whether a batch of `len` requests, prefix p with features x, may run
 * (a lone request may: fit_one judges it); its need in *need. */
static bool batch_ok(const vgmo__worker *w, const limits *l, const prefix *p,
                     const double *x, size_t len, double *need)
{
	double var = vgmo__cost_variable(l->in->cost, x);

	*need = vgmo__need_var(l->in, var);
	if (len == 1)
		return true;
	if (l->waste > 0 && p->n * p->max_len > (1 + l->waste) * p->sum_len)
		return false; /* padding would cost more than it batches */
	return !((*need > l->room && !vgmo__tokens_vouched(w, x, l->room)) ||
	         doomed(w, x, l->room) || beyond(w, var));
}

/* The requests ahead that the batches are planned over: a first batch
 * that takes them all is not cut by time. */
#define HORIZON 64

/* How many requests the first batch takes when the queue is served in
 * order by the batches of least predicted time in all: the cuts of the
 * queue's head into batches that may run, chosen by dynamic programming
 * over the time model (a short request padded to a long prompt costs
 * that prompt's prefill again; a long request alone costs its whole
 * decode again). */
static size_t first_cut(const vgmo__worker *w, const limits *l,
                        const vgmo_request_shape *q, size_t n)
{
	double best[HORIZON + 1];
	size_t from[HORIZON + 1], h = n < HORIZON ? n : HORIZON, j, end;

	best[0] = 0;
	for (j = 1; j <= h; j++)
		best[j] = INFINITY;
	for (size_t i = 0; i < h; i++) {
		prefix p = {0};

		for (j = i; j < h && j - i < l->cap; j++) {
			double x[VGMO__COST_MAX], t[VGMO__TIME_K], need, s;

			prefix_add(&p, &q[j]);
			prefix_x(&p, l->packed, x);
			if (!batch_ok(w, l, &p, x, j - i + 1, &need))
				break; /* a longer batch needs more still */
			prefix_time(&p, x, t);
			s = best[i] + vgmo__timing_seconds(&w->timing, t);
			if (s < best[j + 1]) {
				best[j + 1] = s;
				from[j + 1] = i;
			}
		}
	}
	/* A queue longer than the horizon goes on: the plan ends where it
	 * serves its requests in least time each, not at the horizon's
	 * end (which would cut a last short batch that later requests
	 * would join). */
	end = h;
	if (n > h)
		for (j = h / 2; j < h; j++)
			if (best[j] / (double)j < best[end] / (double)end)
				end = j;
	for (j = end; from[j] > 0; j = from[j])
		;
	return j == HORIZON ? SIZE_MAX : j;
}

/* Lock held. */
static void plan(const vgmo_engine *e, vgmo__worker *w,
                 const vgmo_request_shape *q, size_t n, vgmo_batch_plan *out)
{
	size_t cap = vgmo__tokens_cap(e, w);
	double room, base, waste = 0, x[VGMO__COST_MAX];
	size_t most = SIZE_MAX;
	vgmo__need_in in;
	prefix p = {0};
	limits lim;
	bool packed;

	memset(out, 0, sizeof(*out));
	out->cleanup = w->cleanup_wanted;
	if (n == 0)
		return;
	fit_one(e, w, &q[0], true, &out->head);
	if (out->head.verdict != VGMO_FIT_OK)
		return; /* refuse the head */
	if (!vgmo__worker_room(e, w, &room)) {
		out->take = n < cap ? n : cap;
		return;
	}
	vgmo__worker_need_in(e, w, &in, &packed);
	if (!w->tokens) { /* an items worker: its batch size, any shapes */
		size_t b = w->batch_size > 0 ? (size_t)w->batch_size : 1;

		out->take = n < b ? n : b;
		vgmo__items_x((double)out->take, x);
		out->need_bytes = (uint64_t)vgmo__need(&in, x);
		out->room_bytes = (uint64_t)room;
		return;
	}
	base = vgmo__cost_base(in.cost);
	if (vgmo__strategy(e->cfg.strategy)->adaptive) {
		const vgmo__level *l = vgmo__levels_now(&w->levels);

		room = base + (room - base) * l->fill;
		waste = packed ? 0 : l->waste;
	}
	out->room_bytes = (uint64_t)room;
	/* A padded worker whose batch time is known: the batch that serves
	 * the queue soonest; otherwise as many as fit. */
	lim = (limits){&in, room, waste, cap, packed};
	if (!packed && vgmo__timing_ready(&w->timing))
		most = first_cut(w, &lim, q, n);
	for (size_t k = 0; k < n && k < cap && k < most; k++) {
		double need;

		prefix_add(&p, &q[k]);
		prefix_x(&p, packed, x);
		if (!batch_ok(w, &lim, &p, x, k + 1, &need))
			break;
		out->take = k + 1;
		out->need_bytes = (uint64_t)need;
	}
}

vgmo_err vgmo_engine_plan_batch(vgmo_engine *e, int worker,
                                const vgmo_request_shape *queue, size_t n,
                                vgmo_batch_plan *out)
{
	vgmo__worker *w;
	vgmo_err rc = VGMO_OK;

	if (out == NULL || (queue == NULL && n > 0))
		return VGMO_ERR_INVALID;
	pthread_mutex_lock(&e->lock);
	w = vgmo__worker_get(e, worker);
	if (w == NULL)
		rc = VGMO_ERR_NOT_FOUND;
	else
		plan(e, w, queue, n, out);
	pthread_mutex_unlock(&e->lock);
	return rc;
}

vgmo_err vgmo_engine_report_batch(vgmo_engine *e, int worker,
                                  const vgmo_report *r,
                                  const vgmo_request_shape *batch, size_t n,
                                  vgmo_decision *out)
{
	double x[VGMO__COST_MAX], xp[VGMO__COST_MAX];
	vgmo__worker *w;
	prefix p = {0};
	vgmo_err rc;

	if (r == NULL || batch == NULL || n == 0 || r->items != n)
		return VGMO_ERR_INVALID;
	for (size_t i = 0; i < n; i++)
		prefix_add(&p, &batch[i]);
	prefix_x(&p, false, x);
	prefix_x(&p, true, xp);
	pthread_mutex_lock(&e->lock);
	w = vgmo__worker_get(e, worker);
	if (w == NULL) {
		rc = VGMO_ERR_NOT_FOUND;
	} else if (!w->tokens) {
		rc = VGMO_ERR_STATE; /* registered as an items worker */
	} else {
		bool only_packed = w->padding == VGMO_PADDING_PACKED;
		double t[VGMO__TIME_K];

		/* Its time, laid out as the plans lay batches out (a packed
		 * worker's batches are not cut by time). */
		if (!r->oom && !only_packed) {
			prefix_time(&p, vgmo__worker_packed(w) ? xp : x, t);
			vgmo__timing_add(&w->timing, t, r->seconds);
		}
		w->batch_work = p.sum_len + p.sum_out;
		rc = vgmo__worker_take(
		        e, w, r, only_packed ? xp : x,
		        w->padding == VGMO_PADDING_UNKNOWN ? xp : NULL, out);
		w->batch_work = 0;
		if (out)
			out->batch_size = (int)vgmo__tokens_cap(e, w);
	}
	pthread_mutex_unlock(&e->lock);
	return rc;
}
