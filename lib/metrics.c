/*
 * metrics.c - a snapshot in the Prometheus text format 0.0.4 (metrics.h).
 *
 * One pass into one growing buffer: no allocation per line, label values
 * escaped as they are copied. Every family has HELP and TYPE; a family
 * with no series (say, power on a device that does not report it) is left
 * out entirely. Names and meanings follow the seed: vlm_memory_usage_percent
 * is a 0..1 fraction, the utilization and fragmentation "percent" families
 * are 0..100.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "util.h"

typedef struct buf {
	char *p;
	size_t len;
	size_t cap;
	bool oom;
} buf;

/* Makes room for `n` more bytes (and the final NUL). */
static bool reserve(buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->oom)
		return false;
	if (b->len + n + 1 <= b->cap)
		return true;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (p == NULL) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static void put(buf *b, const char *s, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void puts_(buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void put_u64(buf *b, uint64_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	put(b, tmp + i, sizeof(tmp) - i);
}

static void put_double(buf *b, double v)
{
	char tmp[40];
	int n;

	if (isnan(v)) {
		puts_(b, "NaN");
		return;
	}
	if (isinf(v)) {
		puts_(b, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (v == floor(v) && fabs(v) < 1e15) {
		if (v < 0)
			put(b, "-", 1);
		put_u64(b, (uint64_t)fabs(v));
		return;
	}
	n = snprintf(tmp, sizeof(tmp), "%.15g", v);
	if (n > 0)
		put(b, tmp, (size_t)n);
}

/* Length of the valid UTF-8 sequence at `s`, or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		n = 2;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		n = 3;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		n = 4;
	else
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	if ((n == 3 && s[0] == 0xE0 && s[1] < 0xA0) ||
	    (n == 3 && s[0] == 0xED && s[1] >= 0xA0) ||
	    (n == 4 && s[0] == 0xF0 && s[1] < 0x90) ||
	    (n == 4 && s[0] == 0xF4 && s[1] >= 0x90))
		return 0;
	return n;
}

/* A label value: backslash, quote and newline escaped; a byte that is not
 * part of valid UTF-8 becomes '?'. */
static void put_label_value(buf *b, const char *v)
{
	const unsigned char *s = (const unsigned char *)v;

	if (!reserve(b, 2 * strlen(v)))
		return;
	while (*s != '\0') {
		size_t n = utf8_len(s);

		if (*s == '\\' || *s == '"') {
			b->p[b->len++] = '\\';
			b->p[b->len++] = (char)*s;
		} else if (*s == '\n') {
			b->p[b->len++] = '\\';
			b->p[b->len++] = 'n';
		} else if (n == 0) {
			b->p[b->len++] = '?';
			n = 1;
		} else {
			memcpy(b->p + b->len, s, n);
			b->len += n;
		}
		s += n ? n : 1;
	}
}

/* ------------------------------------------------------------ families */

/* Writes HELP and TYPE; returns the offset to roll back to when the family
 * ends up with no series. */
static size_t family(buf *b, const char *name, const char *type,
                     const char *help)
{
	size_t mark = b->len;

	puts_(b, "# HELP ");
	puts_(b, name);
	put(b, " ", 1);
	puts_(b, help);
	puts_(b, "\n# TYPE ");
	puts_(b, name);
	put(b, " ", 1);
	puts_(b, type);
	put(b, "\n", 1);
	return mark;
}

static void end_family(buf *b, size_t mark, unsigned series)
{
	if (series == 0 && !b->oom)
		b->len = mark;
}

static void gpu_labels(buf *b, const vgmo_gpu_sample *g)
{
	puts_(b, "{gpu=\"");
	put_u64(b, g->index);
	puts_(b, "\",uuid=\"");
	put_label_value(b, g->uuid);
	put(b, "\"", 1);
}

static void gauge_line(buf *b, const char *name, double v)
{
	puts_(b, name);
	put(b, " ", 1);
	put_double(b, v);
	put(b, "\n", 1);
}

static void u64_line(buf *b, const char *name, uint64_t v)
{
	puts_(b, name);
	put(b, " ", 1);
	put_u64(b, v);
	put(b, "\n", 1);
}

static void global_gauge(buf *b, const char *name, const char *help, double v)
{
	family(b, name, "gauge", help);
	gauge_line(b, name, v);
}

static void counter(buf *b, const char *name, const char *help, uint64_t v)
{
	family(b, name, "counter", help);
	u64_line(b, name, v);
}

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

static void gpu_family_series(buf *b, const vgmo_snapshot *s,
                              const gpu_family *f)
{
	size_t n = vgmo_snapshot_gpu_count(s);
	size_t mark = family(b, f->name, f->type, f->help);
	unsigned series = 0;

	for (size_t i = 0; i < n; i++) {
		const vgmo_gpu_sample *g = vgmo_snapshot_gpu(s, i);
		double v;

		if (!g->up || !(g->present & f->bit))
			continue;
		v = gpu_value(g, f->what);
		if (f->what == GV_USAGE && v < 0)
			continue;
		puts_(b, f->name);
		gpu_labels(b, g);
		puts_(b, "} ");
		switch (f->what) {
		case GV_TOTAL:
			put_u64(b, g->memory_total);
			break;
		case GV_USED:
			put_u64(b, g->memory_used);
			break;
		case GV_FREE:
			put_u64(b, g->memory_free);
			break;
		case GV_RESERVED:
			put_u64(b, g->memory_reserved);
			break;
		default:
			put_double(b, v);
		}
		put(b, "\n", 1);
		series++;
	}
	end_family(b, mark, series);
}

static void gpu_state(buf *b, const vgmo_snapshot *s)
{
	size_t n = vgmo_snapshot_gpu_count(s);
	unsigned series = 0;
	size_t mark;

	mark = family(b, "vlm_gpu_up", "gauge",
	              "1 when the GPU answered its last sample, 0 when down.");
	for (size_t i = 0; i < n; i++) {
		const vgmo_gpu_sample *g = vgmo_snapshot_gpu(s, i);

		puts_(b, "vlm_gpu_up");
		gpu_labels(b, g);
		puts_(b, g->up ? "} 1\n" : "} 0\n");
		series++;
	}
	end_family(b, mark, series);

	series = 0;
	mark = family(b, "vlm_memory_status", "gauge",
	              "Memory status of the GPU: 0 healthy, 1 warning, "
	              "2 critical, 3 oom.");
	for (size_t i = 0; i < n; i++) {
		const vgmo_gpu_sample *g = vgmo_snapshot_gpu(s, i);

		if (!g->up || !(g->present & VGMO_HAS_MEMORY))
			continue;
		puts_(b, "vlm_memory_status");
		gpu_labels(b, g);
		puts_(b, "} ");
		put_u64(b, (uint64_t)vgmo_snapshot_gpu_status(s, i));
		put(b, "\n", 1);
		series++;
	}
	end_family(b, mark, series);
}

static void worker_family(buf *b, const vgmo_snapshot *s, const char *name,
                          const char *help, bool optimal)
{
	size_t n = vgmo_snapshot_worker_count(s);
	size_t mark = family(b, name, "gauge", help);
	unsigned series = 0;

	for (size_t i = 0; i < n; i++) {
		const vgmo_worker_view *w = vgmo_snapshot_worker(s, i);
		const vgmo_gpu_sample *g = vgmo_snapshot_gpu(s, w->gpu);

		puts_(b, name);
		puts_(b, "{gpu=\"");
		put_u64(b, w->gpu);
		puts_(b, "\",uuid=\"");
		put_label_value(b, g ? g->uuid : "");
		puts_(b, "\",client=\"");
		put_label_value(b, w->name);
		puts_(b, "\"} ");
		put_double(b, optimal ? w->optimal_batch_size : w->batch_size);
		put(b, "\n", 1);
		series++;
	}
	end_family(b, mark, series);
}

static void info(buf *b, const vgmo_snapshot *s, const vgmo__metrics_extra *x)
{
	const vgmo_config *cfg = vgmo_snapshot_config(s);
	static const char *const levels[] = {"warning", "critical", "oom"};
	const double thresholds[] = {cfg->memory_threshold_warning,
	                             cfg->memory_threshold_critical,
	                             cfg->memory_threshold_oom};
	double last = 0;

	family(b, "vgmo_build_info", "gauge",
	       "Always 1; the labels name the vgmo version and GPU backend.");
	puts_(b, "vgmo_build_info{version=\"" VGMO_VERSION "\",backend=\"");
	put_label_value(b, vgmo_snapshot_backend(s));
	puts_(b, "\"} 1\n");
	global_gauge(b, "vlm_optimization_enabled",
	             "1 when the optimizer may act, 0 when disabled.",
	             vgmo_snapshot_enabled(s) ? 1 : 0);
	if (x != NULL) {
		global_gauge(b, "vlm_monitoring_enabled",
		             "1 when the monitoring loop samples the GPUs.",
		             x->monitoring ? 1 : 0);
		global_gauge(b, "vgmo_ready",
		             "1 when the daemon is ready (/ready answers 200).",
		             x->ready ? 1 : 0);
		if (x->started_at > 0)
			global_gauge(
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
		global_gauge(b, "vlm_last_sample_timestamp_seconds",
		             "When the GPUs were last read, in seconds since "
		             "the epoch.",
		             last);
	global_gauge(
	        b, "vlm_temperature_threshold_celsius",
	        "Configured temperature threshold (temperature_threshold).",
	        cfg->temperature_threshold);
	family(b, "vlm_memory_usage_threshold", "gauge",
	       "Configured memory usage thresholds as 0..1 fractions "
	       "(memory_threshold_warning, _critical, _oom).");
	for (size_t i = 0; i < VGMO__ARRAY_LEN(levels); i++) {
		puts_(b, "vlm_memory_usage_threshold{level=\"");
		puts_(b, levels[i]);
		puts_(b, "\"} ");
		put_double(b, thresholds[i]);
		put(b, "\n", 1);
	}
}

static void counters(buf *b, const vgmo_snapshot *s)
{
	const vgmo_counters *c = vgmo_snapshot_counters(s);

	counter(b, "vlm_memory_optimizations_total",
	        "Optimization passes that ran.", c->optimizations);
	counter(b, "vlm_memory_optimizations_success_total",
	        "Optimization passes that succeeded.",
	        c->optimizations_success);
	counter(b, "vlm_memory_optimization_failures_total",
	        "Optimization passes that failed.", c->optimization_failures);
	counter(b, "vlm_memory_cleanups_total", "Memory cleanups performed.",
	        c->cleanups);
	counter(b, "vlm_batch_size_optimizations_total",
	        "Batch size changes made by the optimizer.",
	        c->batch_size_changes);
	counter(b, "vlm_memory_freed_bytes_total",
	        "GPU memory freed by cleanups, in bytes (measured).",
	        c->freed_bytes);
	counter(b, "vlm_gpu_samples_total", "Samples taken of all GPUs.",
	        c->samples);
}

char *vgmo__metrics_render(const vgmo_snapshot *s, const vgmo__metrics_extra *x,
                           size_t *len)
{
	size_t ngpu = vgmo_snapshot_gpu_count(s);
	size_t nworkers = vgmo_snapshot_worker_count(s);
	buf b = {0};

	if (len != NULL)
		*len = 0;
	/* About 2 KiB of headers, 1.2 KiB per device, 350 B per worker. */
	if (!reserve(&b, 4096 + ngpu * 1280 + nworkers * 384))
		return NULL;
	info(&b, s, x);
	gpu_state(&b, s);
	for (size_t i = 0; i < VGMO__ARRAY_LEN(gpu_families); i++)
		gpu_family_series(&b, s, &gpu_families[i]);
	worker_family(&b, s, "vlm_current_batch_size",
	              "Batch size the client uses now.", false);
	worker_family(&b, s, "vlm_optimal_batch_size",
	              "Batch size the optimizer computed for the client.",
	              true);
	counters(&b, s);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	b.p[b.len] = '\0';
	if (len != NULL)
		*len = b.len;
	return b.p;
}
