/*
 * status_json.c - a snapshot as the seed's get_memory_status() JSON (its
 * workers by worker_json.c, which the client endpoints use too).
 *
 * Built from the public snapshot accessors only. A value the device does not
 * report (its VGMO_HAS_* bit is absent) or a value of a device that is down
 * is JSON null, never 0.
 *
 * Every builder returns a new reference or NULL on allocation failure;
 * json_object_set_new() consumes its value even when it fails, so a failed
 * put leaks nothing and the builders only OR the results together.
 */
#include <math.h>
#include <stdint.h>

#include <jansson.h>

#include "json_values.h"
#include "util.h"
#include "worker_json.h"

static json_t *mib(uint64_t bytes)
{
	return json_real((double)bytes / (double)VGMO__MIB);
}

/* Does the device report field `bit` now? */
static bool has(const vgmo_gpu_sample *g, uint32_t bit)
{
	return g->up && (g->present & bit) != 0;
}

static json_t *opt_num(const vgmo_gpu_sample *g, uint32_t bit, double v)
{
	return has(g, bit) ? vgmo__json_num(v) : json_null();
}

static json_t *opt_u64(const vgmo_gpu_sample *g, uint32_t bit, uint64_t v)
{
	return has(g, bit) ? vgmo__json_u64(v) : json_null();
}

static json_t *opt_mib(const vgmo_gpu_sample *g, uint32_t bit, uint64_t v)
{
	return has(g, bit) ? mib(v) : json_null();
}

static json_t *usage_fraction(const vgmo_gpu_sample *g)
{
	double u = has(g, VGMO_HAS_MEMORY) ? vgmo_sample_usage(g) : -1.0;

	return u >= 0.0 ? vgmo__json_num(u) : json_null();
}

static json_t *memory_api(const vgmo_gpu_sample *g)
{
	if (!has(g, VGMO_HAS_MEMORY))
		return json_null();
	if (g->memory_api == 2)
		return json_string("v2");
	if (g->memory_api == 1)
		return json_string("v1");
	return json_null();
}

/* The seed's per-device metrics, shared by the top level (most loaded GPU)
 * and each gpus[] entry. */
static int put_metrics(json_t *o, const vgmo_gpu_sample *g)
{
	int rc = 0;

	rc |= json_object_set_new(o, "memory_usage_percent", usage_fraction(g));
	rc |= json_object_set_new(o, "memory_usage_mb",
	                          opt_mib(g, VGMO_HAS_MEMORY, g->memory_used));
	rc |= json_object_set_new(o, "total_memory_mb",
	                          opt_mib(g, VGMO_HAS_MEMORY, g->memory_total));
	rc |= json_object_set_new(o, "free_memory_mb",
	                          opt_mib(g, VGMO_HAS_MEMORY, g->memory_free));
	rc |= json_object_set_new(
	        o, "gpu_utilization",
	        opt_num(g, VGMO_HAS_UTILIZATION, g->utilization));
	rc |= json_object_set_new(
	        o, "gpu_temperature",
	        opt_num(g, VGMO_HAS_TEMPERATURE, g->temperature_c));
	rc |= json_object_set_new(o, "gpu_power_usage",
	                          opt_num(g, VGMO_HAS_POWER, g->power_w));
	rc |= json_object_set_new(
	        o, "memory_fragmentation",
	        opt_num(g, VGMO_HAS_FRAGMENTATION, g->fragmentation));
	return rc;
}

static int put_null_metrics(json_t *o)
{
	static const char *const keys[] = {
	        "memory_usage_percent", "memory_usage_mb",
	        "total_memory_mb",      "free_memory_mb",
	        "gpu_utilization",      "gpu_temperature",
	        "gpu_power_usage",      "memory_fragmentation"};

	int rc = 0;

	for (size_t i = 0; i < VGMO__ARRAY_LEN(keys); i++)
		rc |= json_object_set_new(o, keys[i], json_null());
	return rc;
}

static json_t *process_json(const vgmo_gpu_process *p)
{
	json_t *o = json_object();
	int rc = 0;

	/* 0: unknown (a simulated process has none). */
	rc |= json_object_set_new(o, "pid",
	                          p->pid ? json_integer(p->pid) : json_null());
	rc |= json_object_set_new(o, "name", vgmo__json_str_or_null(p->name));
	rc |= json_object_set_new(o, "used_bytes",
	                          p->used_bytes == UINT64_MAX
	                                  ? json_null()
	                                  : vgmo__json_u64(p->used_bytes));
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *processes_json(const vgmo_gpu_sample *g)
{
	json_t *a;
	unsigned n;

	if (!has(g, VGMO_HAS_PROCESSES))
		return json_null();
	a = json_array();
	if (a == NULL)
		return NULL;
	n = g->process_count < VGMO_MAX_PROCS ? g->process_count
	                                      : VGMO_MAX_PROCS;
	for (unsigned i = 0; i < n; i++) {
		if (json_array_append_new(a, process_json(&g->processes[i]))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* The first worker placed on device `gpu`, or NULL. */
static const vgmo_worker_view *worker_on(const vgmo_snapshot *s, unsigned gpu)
{
	size_t n = vgmo_snapshot_worker_count(s);

	for (size_t i = 0; i < n; i++) {
		const vgmo_worker_view *w = vgmo_snapshot_worker(s, i);

		if (w != NULL && w->gpu == gpu)
			return w;
	}
	return NULL;
}

static const vgmo_worker_view *worker_by_id(const vgmo_snapshot *s, int id)
{
	size_t n = vgmo_snapshot_worker_count(s);

	for (size_t i = 0; i < n; i++) {
		const vgmo_worker_view *w = vgmo_snapshot_worker(s, i);

		if (w != NULL && w->id == id)
			return w;
	}
	return NULL;
}

static int put_batch_sizes(json_t *o, const vgmo_worker_view *w)
{
	int rc = 0;

	rc |= json_object_set_new(
	        o, "current_batch_size",
	        vgmo__json_opt_int(w != NULL, w ? w->batch_size : 0));
	rc |= json_object_set_new(
	        o, "optimal_batch_size",
	        vgmo__json_opt_int(w != NULL && w->optimal_batch_size > 0,
	                           w ? w->optimal_batch_size : 0));
	return rc;
}

static int put_identity(json_t *o, const vgmo_gpu_sample *g)
{
	int rc = 0;

	rc |= json_object_set_new(o, "index", json_integer(g->index));
	rc |= json_object_set_new(
	        o, "parent", vgmo__json_opt_int(g->parent >= 0, g->parent));
	rc |= json_object_set_new(o, "name", vgmo__json_str_or_null(g->name));
	rc |= json_object_set_new(o, "uuid", vgmo__json_str_or_null(g->uuid));
	rc |= json_object_set_new(
	        o, "pci_bus_id",
	        (g->present & VGMO_HAS_PCI)
	                ? vgmo__json_str_or_null(g->pci_bus_id)
	                : json_null());
	rc |= json_object_set_new(o, "up", json_boolean(g->up));
	rc |= json_object_set_new(o, "down_reason",
	                          g->up ? json_null()
	                                : vgmo__json_text(g->down_reason));
	return rc;
}

static int put_memory_detail(json_t *o, const vgmo_gpu_sample *g)
{
	int rc = 0;

	rc |= json_object_set_new(
	        o, "reserved_memory_mb",
	        opt_mib(g, VGMO_HAS_RESERVED, g->memory_reserved));
	rc |= json_object_set_new(o, "memory_total_bytes",
	                          opt_u64(g, VGMO_HAS_MEMORY, g->memory_total));
	rc |= json_object_set_new(o, "memory_used_bytes",
	                          opt_u64(g, VGMO_HAS_MEMORY, g->memory_used));
	rc |= json_object_set_new(o, "memory_free_bytes",
	                          opt_u64(g, VGMO_HAS_MEMORY, g->memory_free));
	rc |= json_object_set_new(
	        o, "memory_reserved_bytes",
	        opt_u64(g, VGMO_HAS_RESERVED, g->memory_reserved));
	rc |= json_object_set_new(o, "memory_api", memory_api(g));
	return rc;
}

static json_t *gpu_json(const vgmo_snapshot *s, size_t i)
{
	const vgmo_gpu_sample *g = vgmo_snapshot_gpu(s, i);
	json_t *o;
	int rc = 0;

	if (g == NULL)
		return NULL;
	o = json_object();
	if (o == NULL)
		return NULL;
	rc |= put_identity(o, g);
	/* Classified from the memory: unknown with it (as in /metrics). */
	rc |= json_object_set_new(
	        o, "status",
	        has(g, VGMO_HAS_MEMORY)
	                ? json_string(vgmo_status_name(
	                          vgmo_snapshot_gpu_status(s, i)))
	                : json_null());
	rc |= put_metrics(o, g);
	rc |= put_memory_detail(o, g);
	rc |= json_object_set_new(o, "energy_joules",
	                          opt_num(g, VGMO_HAS_ENERGY, g->energy_j));
	rc |= json_object_set_new(o, "mig_enabled",
	                          has(g, VGMO_HAS_MIG_MODE)
	                                  ? json_boolean(g->mig_enabled)
	                                  : json_null());
	rc |= json_object_set_new(o, "processes", processes_json(g));
	rc |= json_object_set_new(o, "sampled_at",
	                          g->sampled_at > 0.0
	                                  ? vgmo__json_num(g->sampled_at)
	                                  : json_null());
	rc |= put_batch_sizes(o, worker_on(s, g->index));
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *counters_json(const vgmo_counters *c)
{
	json_t *o;
	int rc = 0;

	if (c == NULL)
		return json_null();
	o = json_object();
	rc |= json_object_set_new(o, "optimizations",
	                          vgmo__json_u64(c->optimizations));
	rc |= json_object_set_new(o, "optimizations_success",
	                          vgmo__json_u64(c->optimizations_success));
	rc |= json_object_set_new(o, "optimization_failures",
	                          vgmo__json_u64(c->optimization_failures));
	rc |= json_object_set_new(o, "cleanups", vgmo__json_u64(c->cleanups));
	rc |= json_object_set_new(o, "batch_size_changes",
	                          vgmo__json_u64(c->batch_size_changes));
	rc |= json_object_set_new(o, "freed_bytes",
	                          vgmo__json_u64(c->freed_bytes));
	rc |= json_object_set_new(o, "samples", vgmo__json_u64(c->samples));
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *gpus_json(const vgmo_snapshot *s)
{
	size_t n = vgmo_snapshot_gpu_count(s);
	json_t *a = json_array();

	if (a == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (json_array_append_new(a, gpu_json(s, i))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *workers_json(const vgmo_snapshot *s)
{
	size_t n = vgmo_snapshot_worker_count(s);
	json_t *a = json_array();

	if (a == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const vgmo_worker_view *w = vgmo_snapshot_worker(s, i);

		if (w == NULL)
			continue;
		if (json_array_append_new(a, vgmo__worker_json(w))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static bool any_gpu_up(const vgmo_snapshot *s)
{
	size_t n = vgmo_snapshot_gpu_count(s);

	for (size_t i = 0; i < n; i++) {
		const vgmo_gpu_sample *g = vgmo_snapshot_gpu(s, i);

		if (g != NULL && g->up)
			return true;
	}
	return false;
}

static json_t *status_json(const vgmo_snapshot *s)
{
	const vgmo_config *cfg = vgmo_snapshot_config(s);
	int hot = vgmo_snapshot_most_loaded(s);
	const vgmo_gpu_sample *g =
	        hot >= 0 ? vgmo_snapshot_gpu(s, (size_t)hot) : NULL;
	json_t *o = json_object();
	int rc = 0;

	if (o == NULL)
		return NULL;
	rc |= json_object_set_new(
	        o, "status",
	        json_string(vgmo_status_name(vgmo_snapshot_status(s))));
	rc |= json_object_set_new(o, "gpu_available",
	                          json_boolean(any_gpu_up(s)));
	rc |= put_batch_sizes(o, worker_by_id(s, VGMO_DEFAULT_WORKER));
	rc |= json_object_set_new(o, "optimization_enabled",
	                          json_boolean(vgmo_snapshot_enabled(s)));
	if (g != NULL)
		rc |= put_metrics(o, g);
	else
		rc |= put_null_metrics(o);
	rc |= json_object_set_new(o, "timestamp",
	                          vgmo__json_num(vgmo_snapshot_time(s)));
	rc |= json_object_set_new(
	        o, "backend", vgmo__json_str_or_null(vgmo_snapshot_backend(s)));
	rc |= json_object_set_new(
	        o, "strategy",
	        cfg ? json_string(vgmo_strategy_name(cfg->strategy))
	            : json_null());
	rc |= json_object_set_new(o, "gpus", gpus_json(s));
	rc |= json_object_set_new(o, "workers", workers_json(s));
	rc |= json_object_set_new(o, "counters",
	                          counters_json(vgmo_snapshot_counters(s)));
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

char *vgmo_snapshot_status_json(const vgmo_snapshot *s, int indent)
{
	size_t flags = JSON_REAL_PRECISION(15);
	json_t *root;
	char *text;

	if (s == NULL)
		return NULL;
	if (indent > 31)
		indent = 31;
	flags |= indent > 0 ? JSON_INDENT(indent) : JSON_COMPACT;
	root = status_json(s);
	if (root == NULL)
		return NULL;
	text = json_dumps(root, flags);
	json_decref(root);
	return text;
}
