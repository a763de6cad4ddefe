/*
 * bench_svg.c - the benchmark's plot: for each workload, one row per
 * policy with its device memory use (left) and its batch size (right)
 * over time, OOMs marked. Plain SVG 1.1, no script: any browser opens it.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "util.h"

#define W 1040
#define MARGIN 20
#define LABEL_W 210
#define PANEL_W 380
#define GAP 30
#define ROW_H 84
#define PLOT_H 62
#define SECTION_H 46
#define TOP 78
#define AXIS_H 26

typedef struct plot {
	FILE *f;
	const vgmo__bench_opts *o;
	double total; /* GPU bytes */
	double y;     /* top of the current row */
} plot;

static const char *colour(const char *policy)
{
	static const struct {
		const char *name, *rgb;
	} c[] = {
	        {"conservative", "#6baed6"}, {"balanced", "#2171b5"},
	        {"aggressive", "#08306b"},   {"adaptive", "#238b45"},
	        {"best-fixed", "#969696"},   {"best-tokens", "#6a51a3"},
	        {"fixed", "#969696"},        {"tokens", "#6a51a3"},
	        {"seed", "#8c6d31"},         {"accelerate", "#e6550d"},
	        {"lightning", "#a63603"},    {"oracle", "#000000"},
	};

	for (size_t i = 0; i < VGMO__ARRAY_LEN(c); i++)
		if (strcmp(c[i].name, policy) == 0)
			return c[i].rgb;
	return "#555555";
}

static void text_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else if (*s == '&')
			fputs("&amp;", f);
		else
			fputc(*s, f);
	}
}

static double px(const plot *p, double x0, double t)
{
	return x0 + PANEL_W * fmin(1.0, fmax(0.0, t / p->o->duration));
}

/* A step line: each batch's value holds until the next batch starts. One
 * vertex pair per pixel column at most (the column's largest value). */
static void steps(const plot *p, double x0, const vgmo__bench_result *r,
                  double (*value)(const vgmo__bench_point *), double ymax)
{
	FILE *f = p->f;
	double last_x = -1, col_v = -1, base = p->y + PLOT_H;

	if (r->npoints == 0 || !(ymax > 0))
		return;
	fprintf(f,
	        "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.2\" "
	        "points=\"",
	        colour(r->policy));
	for (size_t i = 0; i < r->npoints; i++) {
		double x = floor(px(p, x0, r->points[i].t));
		double v = fmin(1.0, value(&r->points[i]) / ymax);

		if (x == last_x && v <= col_v)
			continue;
		if (x != last_x && last_x >= 0)
			fprintf(f, "%.1f,%.1f ", x, base - PLOT_H * col_v);
		fprintf(f, "%.1f,%.1f ", x, base - PLOT_H * v);
		last_x = x;
		col_v = v;
	}
	fprintf(f, "%.1f,%.1f\"/>\n", x0 + PANEL_W, base - PLOT_H * col_v);
}

static double usage_of(const vgmo__bench_point *pt)
{
	return pt->usage;
}

static double items_of(const vgmo__bench_point *pt)
{
	return pt->items;
}

static void ooms(const plot *p, double x0, const vgmo__bench_result *r)
{
	for (size_t i = 0; i < r->npoints; i++)
		if (r->points[i].oom)
			fprintf(p->f,
			        "<path d=\"M%.1f %.1fl4 4m0 -4l-4 4\" "
			        "stroke=\"#d7301f\" stroke-width=\"1.5\"/>\n",
			        px(p, x0, r->points[i].t) - 2, p->y - 6);
}

/* Other processes' memory, a grey area under the memory panel. */
static void external(const plot *p, double x0)
{
	const vgmo__trace *t = p->o->trace;
	double base = p->y + PLOT_H;

	if (t->nev == 0 || !(p->total > 0))
		return;
	fprintf(p->f, "<polygon fill=\"#d9d9d9\" points=\"%.1f,%.1f ", x0,
	        base);
	for (int i = 0; i <= 200; i++) {
		double when = p->o->duration * i / 200.0;
		double v = fmin(1.0, vgmo__trace_external(t, when, p->total) /
		                             p->total);

		fprintf(p->f, "%.1f,%.1f ", px(p, x0, when), base - PLOT_H * v);
	}
	fprintf(p->f, "%.1f,%.1f\"/>\n", x0 + PANEL_W, base);
}

static void frame(const plot *p, double x0, const char *lo, const char *hi)
{
	fprintf(p->f,
	        "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%d\" "
	        "fill=\"#fafafa\" stroke=\"#bdbdbd\"/>\n"
	        "<text x=\"%.1f\" y=\"%.1f\" class=\"ax\" "
	        "text-anchor=\"end\">%s</text>\n"
	        "<text x=\"%.1f\" y=\"%.1f\" class=\"ax\" "
	        "text-anchor=\"end\">%s</text>\n",
	        (int)x0, p->y, PANEL_W, PLOT_H, x0 - 3, p->y + PLOT_H, lo,
	        x0 - 3, p->y + 8, hi);
}

static void threshold(const plot *p, double x0, double frac, const char *rgb)
{
	double y = p->y + PLOT_H * (1 - frac);

	fprintf(p->f,
	        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
	        "stroke=\"%s\" stroke-dasharray=\"4 3\"/>\n",
	        x0, y, x0 + PANEL_W, y, rgb);
}

static void row(plot *p, const vgmo__bench_result *r, double ymax)
{
	FILE *f = p->f;
	double xm = MARGIN + LABEL_W, xb = xm + PANEL_W + GAP;
	char hi[32];

	fprintf(f,
	        "<text x=\"%d\" y=\"%.1f\" class=\"name\" fill=\"%s\">%s"
	        "</text>\n",
	        MARGIN, p->y + 20, colour(r->policy), r->policy);
	fprintf(f, "<text x=\"%d\" y=\"%.1f\" class=\"ax\">%.3f items/s",
	        MARGIN, p->y + 38, r->items_per_s);
	if (r->ratio_to_oracle >= 0)
		fprintf(f, ", %.3f of oracle", r->ratio_to_oracle);
	fprintf(f,
	        "</text>\n<text x=\"%d\" y=\"%.1f\" class=\"ax\">%llu OOM"
	        "%s, mean batch %.1f</text>\n",
	        MARGIN, p->y + 54, (unsigned long long)r->ooms,
	        r->ooms == 1 ? "" : "s", r->mean_batch_size);
	frame(p, xm, "0%", "100%");
	external(p, xm);
	threshold(p, xm, p->o->cfg.memory_threshold_critical, "#fd8d3c");
	threshold(p, xm, p->o->cfg.memory_threshold_oom, "#d7301f");
	steps(p, xm, r, usage_of, 1.0);
	ooms(p, xm, r);
	snprintf(hi, sizeof(hi), "%.0f", ymax);
	frame(p, xb, "0", hi);
	steps(p, xb, r, items_of, ymax);
	ooms(p, xb, r);
	p->y += ROW_H;
}

static void time_axis(plot *p)
{
	double xs[2] = {MARGIN + LABEL_W, MARGIN + LABEL_W + PANEL_W + GAP};

	for (int k = 0; k < 2; k++)
		for (int i = 0; i <= 6; i++) {
			double t = p->o->duration * i / 6.0;

			fprintf(p->f,
			        "<text x=\"%.1f\" y=\"%.1f\" class=\"ax\" "
			        "text-anchor=\"middle\">%.0f s</text>\n",
			        px(p, xs[k], t), p->y - ROW_H + PLOT_H + 14, t);
		}
	p->y += AXIS_H - (ROW_H - PLOT_H) + 16;
}

/* The batch-size scale: 1.25 x the oracle's largest batch (others above
 * it are clipped), or the largest of all without an oracle. */
static double batch_scale(const vgmo__bench_section *s)
{
	double all = 1, oracle = 0;

	for (size_t i = 0; i < s->n; i++) {
		const vgmo__bench_result *r = &s->results[i];

		for (size_t k = 0; k < r->npoints; k++) {
			all = fmax(all, r->points[k].items);
			if (strcmp(r->policy, "oracle") == 0)
				oracle = fmax(oracle, r->points[k].items);
		}
	}
	return oracle > 0 ? fmin(all, ceil(1.25 * oracle)) : all;
}

static void section(plot *p, const vgmo__bench_section *s)
{
	double ymax = batch_scale(s);

	fprintf(p->f, "<text x=\"%d\" y=\"%.1f\" class=\"sec\">workload ",
	        MARGIN, p->y + 24);
	text_escaped(p->f, s->workload);
	fprintf(p->f,
	        "</text>\n<text x=\"%d\" y=\"%.1f\" class=\"ax\">device "
	        "memory at each batch's peak (grey: other processes)</text>\n"
	        "<text x=\"%d\" y=\"%.1f\" class=\"ax\">batch size, "
	        "requests</text>\n",
	        MARGIN + LABEL_W, p->y + 38, MARGIN + LABEL_W + PANEL_W + GAP,
	        p->y + 38);
	p->y += SECTION_H;
	for (size_t i = 0; i < s->n; i++)
		row(p, &s->results[i], ymax);
	time_axis(p);
}

vgmo_err vgmo__bench_svg(const char *path, const vgmo__bench_section *s,
                         size_t n, char *err, size_t errlen)
{
	const vgmo__bench_opts *o = n ? s[0].opts : NULL;
	plot p = {NULL, o, 0, TOP};
	double h = TOP;
	uint64_t total = 0;
	bool bad;

	if (o == NULL)
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "%s: nothing to plot", path);
	for (size_t i = 0; i < n; i++)
		h += SECTION_H + (double)s[i].n * ROW_H + AXIS_H + 16;
	vgmo_gpu_preset_memory(o->gpu, &total);
	p.total = (double)total;
	p.f = fopen(path, "w");
	if (p.f == NULL)
		return vgmo__errf(err, errlen, VGMO_ERR_IO, "%s: %s", path,
		                  strerror(errno));
	fprintf(p.f,
	        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
	        "height=\"%.0f\" viewBox=\"0 0 %d %.0f\" "
	        "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
	        "<style>.ax{font-size:11px;fill:#444}"
	        ".name{font-size:14px;font-weight:bold}"
	        ".sec{font-size:16px;font-weight:bold}"
	        ".title{font-size:18px;font-weight:bold}</style>\n"
	        "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n"
	        "<text x=\"%d\" y=\"28\" class=\"title\">vgmo benchmark: %s on "
	        "%s, %.0f s, seed %llu, vgmo counting %s</text>\n"
	        "<text x=\"%d\" y=\"50\" class=\"ax\">Dashed: critical "
	        "(%.2f) and OOM (%.2f) thresholds. Red crosses: batches that "
	        "ran out of memory.</text>\n",
	        W, h, W, h, MARGIN, o->model.name, o->gpu, o->duration,
	        (unsigned long long)o->seed, o->unit_items ? "items" : "tokens",
	        MARGIN, o->cfg.memory_threshold_critical,
	        o->cfg.memory_threshold_oom);
	for (size_t i = 0; i < n; i++) {
		p.o = s[i].opts;
		section(&p, &s[i]);
	}
	fputs("</svg>\n", p.f);
	bad = ferror(p.f) != 0;
	if (fclose(p.f) != 0 || bad)
		return vgmo__errf(err, errlen, VGMO_ERR_IO,
		                  "%s: cannot write the plot", path);
	return VGMO_OK;
}

/* ------------------------------------------------------------- sweeps */

#define SW_W 720
#define SW_H 380
#define SW_X0 70
#define SW_Y0 50
#define SW_PW 460
#define SW_PH 260
#define SW_LO 0.5 /* the ratio axis: 0.5 to 1.05 */
#define SW_HI 1.05

static double sweep_y(double ratio)
{
	double f = (fmin(SW_HI, fmax(SW_LO, ratio)) - SW_LO) / (SW_HI - SW_LO);

	return SW_Y0 + SW_PH * (1 - f);
}

vgmo_err vgmo__bench_sweep_svg(const char *path, const char *key,
                               const char *gpu, const double *values, size_t nv,
                               const char *const *policies, size_t np,
                               const double *med, const uint64_t *ooms,
                               char *err, size_t errlen)
{
	FILE *f = fopen(path, "w");
	double lo = nv ? values[0] : 0, hi = nv ? values[nv - 1] : 1;
	bool bad;

	if (f == NULL)
		return vgmo__errf(err, errlen, VGMO_ERR_IO, "%s: %s", path,
		                  strerror(errno));
	if (!(hi > lo))
		hi = lo + 1;
	fprintf(f,
	        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
	        "height=\"%d\" viewBox=\"0 0 %d %d\" "
	        "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
	        "<style>.ax{font-size:11px;fill:#444}"
	        ".title{font-size:15px;font-weight:bold}</style>\n"
	        "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n"
	        "<text x=\"%d\" y=\"26\" class=\"title\">Sweep of ",
	        SW_W, SW_H, SW_W, SW_H, SW_X0);
	text_escaped(f, key);
	fputs(" on ", f);
	text_escaped(f, gpu);
	fprintf(f,
	        ": median ratio to the oracle (red: runs with OOMs)</text>\n"
	        "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
	        "fill=\"#fafafa\" stroke=\"#bdbdbd\"/>\n",
	        SW_X0, SW_Y0, SW_PW, SW_PH);
	for (double r = 0.5; r <= 1.0001; r += 0.1)
		fprintf(f,
		        "<text x=\"%d\" y=\"%.1f\" class=\"ax\" "
		        "text-anchor=\"end\">%.1f</text>\n",
		        SW_X0 - 4, sweep_y(r) + 4, r);
	for (size_t i = 0; i < nv; i++)
		fprintf(f,
		        "<text x=\"%.1f\" y=\"%d\" class=\"ax\" "
		        "text-anchor=\"middle\">%g</text>\n",
		        SW_X0 + SW_PW * (values[i] - lo) / (hi - lo),
		        SW_Y0 + SW_PH + 16, values[i]);
	for (size_t p = 0; p < np; p++) {
		fprintf(f,
		        "<polyline fill=\"none\" stroke=\"%s\" "
		        "stroke-width=\"1.6\" points=\"",
		        colour(policies[p]));
		for (size_t i = 0; i < nv; i++)
			if (med[i * np + p] >= 0)
				fprintf(f, "%.1f,%.1f ",
				        SW_X0 + SW_PW * (values[i] - lo) /
				                        (hi - lo),
				        sweep_y(med[i * np + p]));
		fputs("\"/>\n", f);
		for (size_t i = 0; i < nv; i++)
			if (med[i * np + p] >= 0 && ooms[i * np + p] > 0)
				fprintf(f,
				        "<circle cx=\"%.1f\" cy=\"%.1f\" "
				        "r=\"3.5\" fill=\"#d7301f\"/>\n",
				        SW_X0 + SW_PW * (values[i] - lo) /
				                        (hi - lo),
				        sweep_y(med[i * np + p]));
		fprintf(f,
		        "<text x=\"%d\" y=\"%zu\" class=\"ax\" "
		        "fill=\"%s\">",
		        SW_X0 + SW_PW + 14, (size_t)SW_Y0 + 14 + 16 * p,
		        colour(policies[p]));
		text_escaped(f, policies[p]);
		fputs("</text>\n", f);
	}
	fputs("</svg>\n", f);
	bad = ferror(f) != 0;
	if (fclose(f) != 0 || bad)
		return vgmo__errf(err, errlen, VGMO_ERR_IO,
		                  "%s: cannot write the plot", path);
	return VGMO_OK;
}
