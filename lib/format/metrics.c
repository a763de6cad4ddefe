/*
 * metrics.c - a snapshot in the Prometheus text format 0.0.4 (metrics.h).
 *
 * One pass into one growing buffer: no allocation per line, label values
 * escaped as they are copied. Every family has HELP and TYPE; a family
 * with no series (say, power on a device that does not report it) is left
 * out entirely. Names and meanings follow the seed: vlm_memory_usage_percent
 * is a 0..1 fraction, the utilization and fragmentation "percent" families
 * are 0..100. The pieces each family is written with (HELP and TYPE,
 * labels, one line) are metrics_family.c.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "metrics_family.h"
#include "metrics_text.h"
#include "util.h"

/* What a per-device family reads from a sample. */
enum gpu_value {
	GV_USAGE,
	GV_TOTAL,
	GV_USED,
	GV_FREE,
	GV_RESERVED,
	GV_UTIL,
	GV_TEMP,
	GV_POWER,
	GV_FRAG,
	GV_ENERGY
};

typedef struct gpu_family {
	const char *name;
	const char *type;
	const char *help;
	uint32_t bit;
	enum gpu_value what;
} gpu_family;

static const gpu_family gpu_families[] = {
        {"vlm_memory_usage_percent", "gauge",
         "GPU memory used divided by total, as a 0..1 fraction.",
         VGMO_HAS_MEMORY, GV_USAGE},
        {"vlm_memory_total_bytes", "gauge", "Total GPU memory in bytes.",
         VGMO_HAS_MEMORY, GV_TOTAL},
        {"vlm_memory_used_bytes", "gauge",
         "Used GPU memory in bytes (allocated; with reserved on v1 drivers).",
         VGMO_HAS_MEMORY, GV_USED},
        {"vlm_memory_free_bytes", "gauge", "Free GPU memory in bytes.",
         VGMO_HAS_MEMORY, GV_FREE},
        {"vlm_memory_reserved_bytes", "gauge",
         "GPU memory reserved by the driver in bytes.", VGMO_HAS_RESERVED,
         GV_RESERVED},
        {"vlm_gpu_utilization_percent", "gauge",
         "GPU utilization, 0..100 percent.", VGMO_HAS_UTILIZATION, GV_UTIL},
        {"vlm_gpu_temperature_celsius", "gauge",
         "GPU temperature in degrees Celsius.", VGMO_HAS_TEMPERATURE, GV_TEMP},
        {"vlm_gpu_power_usage_watts", "gauge", "GPU power draw in watts.",
         VGMO_HAS_POWER, GV_POWER},
        {"vlm_memory_fragmentation_percent", "gauge",
         "GPU memory fragmentation, 0..100 percent.", VGMO_HAS_FRAGMENTATION,
         GV_FRAG},
        {"vlm_gpu_energy_joules_total", "counter",
         "Energy the GPU consumed since the driver loaded, in joules.",
         VGMO_HAS_ENERGY, GV_ENERGY},
};

static double gpu_value(const vgmo_gpu_sample *g, enum gpu_value what)
{
	switch (what) {
	case GV_USAGE:
		return vgmo_sample_usage(g);
	case GV_TOTAL:
		return (double)g->memory_total;
	case GV_USED:
		return (double)g->memory_used;
	case GV_FREE:
		return (double)g->memory_free;
	case GV_RESERVED:
		return (double)g->memory_reserved;
	case GV_UTIL:
		return g->utilization * 100.0;
	case GV_TEMP:
		return g->temperature_c;
	case GV_POWER:
		return g->power_w;
	case GV_FRAG:
		return g->fragmentation * 100.0;
	case GV_ENERGY:
		return g->energy_j;
	}
	return NAN;
}

static void gpu_family_series(vgmo__text *b, const vgmo_snapshot *s,
                              const vgmo__metrics_labels *l,
                              const gpu_family *f)
{
	size_t n = vgmo_snapshot_gpu_count(s);
	size_t mark = vgmo__metrics_family(b, f->name, f->type, f->help);
	unsigned series = 0;

	for (size_t i = 0; i < n; i++) {
		const vgmo_gpu_sample *g = vgmo_snapshot_gpu(s, i);
		double v;

		if (!g->up || !(g->present & f->bit))
			continue;
		v = gpu_value(g, f->what);
		if (f->what == GV_USAGE && v < 0)
			continue;
		vgmo__text_puts(b, f->name);
		vgmo__metrics_gpu_labels(b, l, i);
		vgmo__text_puts(b, "} ");
		switch (f->what) {
		case GV_TOTAL:
			vgmo__text_u64(b, g->memory_total);
			break;
		case GV_USED:
			vgmo__text_u64(b, g->memory_used);
			break;
		case GV_FREE:
			vgmo__text_u64(b, g->memory_free);
			break;
		case GV_RESERVED:
			vgmo__text_u64(b, g->memory_reserved);
			break;
		default:
			vgmo__text_double(b, v);
		}
		vgmo__text_put(b, "\n", 1);
		series++;
	}
	vgmo__metrics_family_end(b, mark, series);
}

static void gpu_state(vgmo__text *b, const vgmo_snapshot *s,
                      const vgmo__metrics_labels *l)
{
	size_t n = vgmo_snapshot_gpu_count(s);
	unsigned series = 0;
	size_t mark;

	mark = vgmo__metrics_family(
	        b, "vlm_gpu_up", "gauge",
	        "1 when the GPU answered its last sample, 0 when down.");
	for (size_t i = 0; i < n; i++) {
		const vgmo_gpu_sample *g = vgmo_snapshot_gpu(s, i);

		vgmo__text_puts(b, "vlm_gpu_up");
		vgmo__metrics_gpu_labels(b, l, i);
		vgmo__text_puts(b, g->up ? "} 1\n" : "} 0\n");
		series++;
	}
	vgmo__metrics_family_end(b, mark, series);

	series = 0;
	mark = vgmo__metrics_family(
	        b, "vlm_memory_status", "gauge",
	        "Memory status of the GPU: 0 healthy, 1 warning, "
	        "2 critical, 3 oom.");
	for (size_t i = 0; i < n; i++) {
		const vgmo_gpu_sample *g = vgmo_snapshot_gpu(s, i);

		if (!g->up || !(g->present & VGMO_HAS_MEMORY))
			continue;
		vgmo__text_puts(b, "vlm_memory_status");
		vgmo__metrics_gpu_labels(b, l, i);
		vgmo__text_puts(b, "} ");
		vgmo__text_u64(b, (uint64_t)vgmo_snapshot_gpu_status(s, i));
		vgmo__text_put(b, "\n", 1);
		series++;
	}
	vgmo__metrics_family_end(b, mark, series);
}

/* What a per-client family reads from a worker view. */
enum worker_value {
	WV_BATCH,
	WV_OPTIMAL,
	WV_BUDGET,
	WV_SHARE,
	WV_UP,
	WV_OOMS,
	WV_FRAG
};

typedef struct worker_family {
	const char *name;
	const char *type;
	const char *help;
	enum worker_value what;
} worker_family;

static const worker_family worker_families[] = {
        {"vlm_current_batch_size", "gauge", "Batch size the client uses now.",
         WV_BATCH},
        {"vlm_optimal_batch_size", "gauge",
         "Batch size the optimizer computed for the client.", WV_OPTIMAL},
        {"vlm_client_budget_bytes", "gauge",
         "GPU memory granted to the client, in bytes.", WV_BUDGET},
        {"vlm_client_share_ratio", "gauge",
         "The client's share of its GPU's memory budget, 0..1.", WV_SHARE},
        {"vlm_client_up", "gauge",
         "1 while the client reports within its lease (built-in workers: "
         "always), 0 when unhealthy.",
         WV_UP},
        {"vlm_client_ooms_total", "counter",
         "Batches the client reported as out of memory.", WV_OOMS},
        {"vlm_client_fragmentation_ratio", "gauge",
         "Fragmentation of the client's allocator (1 - allocated/reserved), "
         "0..1.",
         WV_FRAG},
};

/* False when the worker has no such value. */
static bool worker_value(const vgmo_worker_view *w, enum worker_value what,
                         double *v)
{
	switch (what) {
	case WV_BATCH:
		*v = w->batch_size;
		return true;
	case WV_OPTIMAL: /* 0 until the worker is first planned */
		*v = w->optimal_batch_size;
		return w->optimal_batch_size > 0;
	case WV_BUDGET:
		*v = (double)w->budget_bytes;
		return w->has_budget;
	case WV_SHARE:
		*v = w->share;
		return w->has_budget;
	case WV_UP:
		*v = !w->leased || w->healthy;
		return true;
	case WV_OOMS:
		*v = (double)w->ooms;
		return true;
	case WV_FRAG:
		*v = w->fragmentation;
		return w->has_fragmentation;
	}
	return false;
}

static void worker_series(vgmo__text *b, const vgmo_snapshot *s,
                          const vgmo__metrics_labels *l, const worker_family *f)
{
	size_t n = vgmo_snapshot_worker_count(s);
	size_t mark = vgmo__metrics_family(b, f->name, f->type, f->help);
	unsigned series = 0;

	for (size_t i = 0; i < n; i++) {
		const vgmo_worker_view *w = vgmo_snapshot_worker(s, i);
		double v;

		if (!worker_value(w, f->what, &v))
			continue;
		vgmo__text_puts(b, f->name);
		vgmo__metrics_gpu_labels(b, l, w->gpu);
		vgmo__text_puts(b, ",client=\"");
		vgmo__text_label(b, w->name);
		vgmo__text_puts(b, "\"} ");
		if (f->what == WV_OOMS || f->what == WV_BUDGET)
			vgmo__text_u64(b, f->what == WV_OOMS ? w->ooms
			                                     : w->budget_bytes);
		else
			vgmo__text_double(b, v);
		vgmo__text_put(b, "\n", 1);
		series++;
	}
	vgmo__metrics_family_end(b, mark, series);
}

/* Device memory no client explains, and clients dropped per device. */
static void gpu_clients(vgmo__text *b, const vgmo_snapshot *s,
                        const vgmo__metrics_labels *l)
{
	size_t n = vgmo_snapshot_gpu_count(s);
	unsigned series = 0;
	uint64_t bytes;
	size_t mark;

	mark = vgmo__metrics_family(
	        b, "vlm_memory_unattributed_bytes", "gauge",
	        "GPU memory that no client's reported reserved bytes "
	        "explain, in bytes.");
	for (size_t i = 0; i < n; i++) {
		if (!vgmo_snapshot_gpu(s, i)->up ||
		    !vgmo_snapshot_unattributed(s, i, &bytes))
			continue;
		vgmo__text_puts(b, "vlm_memory_unattributed_bytes");
		vgmo__metrics_gpu_labels(b, l, i);
		vgmo__text_puts(b, "} ");
		vgmo__text_u64(b, bytes);
		vgmo__text_put(b, "\n", 1);
		series++;
	}
	vgmo__metrics_family_end(b, mark, series);

	mark = vgmo__metrics_family(
	        b, "vlm_client_leases_expired_total", "counter",
	        "Clients dropped from the GPU after their lease ran out.");
	for (size_t i = 0; i < n; i++) {
		vgmo__text_puts(b, "vlm_client_leases_expired_total");
		vgmo__metrics_gpu_labels(b, l, i);
		vgmo__text_puts(b, "} ");
		vgmo__text_u64(b, vgmo_snapshot_leases_expired(s, i));
		vgmo__text_put(b, "\n", 1);
	}
	vgmo__metrics_family_end(b, mark, (unsigned)n);
}

static void info(vgmo__text *b, const vgmo_snapshot *s,
                 const vgmo__metrics_extra *x)
{
	const vgmo_config *cfg = vgmo_snapshot_config(s);
	static const char *const levels[] = {"warning", "critical", "oom"};
	const double thresholds[] = {cfg->memory_threshold_warning,
	                             cfg->memory_threshold_critical,
	                             cfg->memory_threshold_oom};
	double last = 0;

	vgmo__metrics_family(
	        b, "vgmo_build_info", "gauge",
	        "Always 1; the labels name the vgmo version and GPU backend.");
	vgmo__text_puts(b, "vgmo_build_info{version=\"" VGMO_VERSION
	                   "\",backend=\"");
	vgmo__text_label(b, vgmo_snapshot_backend(s));
	vgmo__text_puts(b, "\"} 1\n");
	vgmo__metrics_global_gauge(
	        b, "vlm_optimization_enabled",
	        "1 when the optimizer may act, 0 when disabled.",
	        vgmo_snapshot_enabled(s) ? 1 : 0);
	if (x != NULL) {
		vgmo__metrics_global_gauge(
		        b, "vlm_monitoring_enabled",
		        "1 when the monitoring loop samples the GPUs.",
		        x->monitoring ? 1 : 0);
		vgmo__metrics_global_gauge(
		        b, "vgmo_ready",
		        "1 when the daemon is ready (/ready answers 200).",
		        x->ready ? 1 : 0);
		if (x->started_at > 0)
			vgmo__metrics_global_gauge(
			        b, "vgmo_start_time_seconds",
			        "When the daemon started, in seconds since "
			        "the epoch.",
			        x->started_at);
	}
	for (size_t i = 0; i < vgmo_snapshot_gpu_count(s); i++) {
		const vgmo_gpu_sample *g = vgmo_snapshot_gpu(s, i);

		if (g->up && g->sampled_at > last)
			last = g->sampled_at;
	}
	if (last > 0)
		vgmo__metrics_global_gauge(
		        b, "vlm_last_sample_timestamp_seconds",
		        "When the GPUs were last read, in seconds since "
		        "the epoch.",
		        last);
	vgmo__metrics_global_gauge(
	        b, "vlm_temperature_threshold_celsius",
	        "Configured temperature threshold (temperature_threshold).",
	        cfg->temperature_threshold);
	vgmo__metrics_family(
	        b, "vlm_memory_usage_threshold", "gauge",
	        "Configured memory usage thresholds as 0..1 fractions "
	        "(memory_threshold_warning, _critical, _oom).");
	for (size_t i = 0; i < VGMO__ARRAY_LEN(levels); i++) {
		vgmo__text_puts(b, "vlm_memory_usage_threshold{level=\"");
		vgmo__text_puts(b, levels[i]);
		vgmo__text_puts(b, "\"} ");
		vgmo__text_double(b, thresholds[i]);
		vgmo__text_put(b, "\n", 1);
	}
}

static void counters(vgmo__text *b, const vgmo_snapshot *s)
{
	const vgmo_counters *c = vgmo_snapshot_counters(s);

	vgmo__metrics_counter(b, "vlm_memory_optimizations_total",
	                      "Optimization passes that ran.",
	                      c->optimizations);
	vgmo__metrics_counter(b, "vlm_memory_optimizations_success_total",
	                      "Optimization passes that succeeded.",
	                      c->optimizations_success);
	vgmo__metrics_counter(b, "vlm_memory_optimization_failures_total",
	                      "Optimization passes that failed.",
	                      c->optimization_failures);
	vgmo__metrics_counter(b, "vlm_memory_cleanups_total",
	                      "Memory cleanups performed.", c->cleanups);
	vgmo__metrics_counter(b, "vlm_batch_size_optimizations_total",
	                      "Batch size changes made by the optimizer.",
	                      c->batch_size_changes);
	vgmo__metrics_counter(
	        b, "vlm_memory_freed_bytes_total",
	        "GPU memory freed by cleanups, in bytes (measured).",
	        c->freed_bytes);
	vgmo__metrics_counter(b, "vlm_gpu_samples_total",
	                      "Samples taken of all GPUs.", c->samples);
}

char *vgmo__metrics_render(const vgmo_snapshot *s, const vgmo__metrics_extra *x,
                           size_t *len)
{
	size_t ngpu = vgmo_snapshot_gpu_count(s);
	size_t nworkers = vgmo_snapshot_worker_count(s);
	vgmo__metrics_labels l = {{0}, NULL, 0};
	vgmo__text b = {0};

	if (len != NULL)
		*len = 0;
	/* About 2 KiB of headers, 1.2 KiB per device, 350 B per worker. */
	if (!vgmo__metrics_labels_build(&l, s) ||
	    !vgmo__text_reserve(&b, 4096 + ngpu * 1280 + nworkers * 384)) {
		vgmo__metrics_labels_free(&l);
		free(b.p);
		return NULL;
	}
	info(&b, s, x);
	gpu_state(&b, s, &l);
	for (size_t i = 0; i < VGMO__ARRAY_LEN(gpu_families); i++)
		gpu_family_series(&b, s, &l, &gpu_families[i]);
	gpu_clients(&b, s, &l);
	for (size_t i = 0; i < VGMO__ARRAY_LEN(worker_families); i++)
		worker_series(&b, s, &l, &worker_families[i]);
	counters(&b, s);
	vgmo__metrics_labels_free(&l);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	b.p[b.len] = '\0';
	if (len != NULL)
		*len = b.len;
	return b.p;
}
