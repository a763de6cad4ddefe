/*
 * cmd_plan_check.c - `vgmo plan --check FILE`: the planner's estimate next
 * to every batch of a measurement file (scripts/vlm-measure.py), as a
 * table or JSON, with the median and worst relative error per model and
 * part (lib/plan_check.c says what is compared with what).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "plan_check.h"

#define GIB ((double)VGMO_GIB)

/* "12.34" GiB, or "-" when absent. */
static const char *gib(char *buf, size_t len, double bytes)
{
	if (isnan(bytes))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.2f", bytes / GIB);
	return buf;
}

static const char *pct(char *buf, size_t len, double plan, double meas)
{
	if (isnan(plan) || isnan(meas) || !(meas > 0))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%+.1f%%", 100.0 * (plan - meas) / meas);
	return buf;
}

/* "plan/meas err" of one part, 22 columns. */
static void print_part(double plan, double meas, const char *meas_text)
{
	char a[32], b[32], e[32], both[72];

	snprintf(both, sizeof(both), "%s/%s", gib(a, sizeof(a), plan),
	         meas_text ? meas_text : gib(b, sizeof(b), meas));
	printf("  %13s %7s", both, pct(e, sizeof(e), plan, meas));
}

static void print_header(const char *path, const vgmo__mfile *f,
                         const vgmo__check *c)
{
	printf("measurements: %s (script %s%s)\n", path, f->script_version,
	       f->dry_run ? ", dry run" : "");
	if (f->gpu_name[0])
		printf("GPU: %s, %.1f GiB, driver %s; torch %s, transformers "
		       "%s\n",
		       f->gpu_name, f->gpu_total_bytes / GIB,
		       f->driver[0] ? f->driver : "-",
		       f->torch[0] ? f->torch : "-",
		       f->transformers[0] ? f->transformers : "-");
	printf("points: %zu measured, %zu out of memory, %zu not run, %zu "
	       "failed\n",
	       c->nrows - c->ooms, c->ooms, c->skipped, c->errors);
	if (!f->ended)
		puts("no \"end\" line: the run was cut off");
	if (f->truncated)
		puts("the last line was cut off mid-line and is left out");
	for (size_t i = 0; i < c->nunmatched; i++)
		printf("no planner preset for \"%s\": its points are left out "
		       "(--model NAME|FILE compares them with one)\n",
		       c->unmatched[i]);
}

#define ROW_HEAD                                                               \
	"%-16s %-8s %5s %-10s %4s %6s %4s %11s  %13s %7s  %13s %7s  %13s "     \
	"%7s\n"

static void print_rows(const vgmo__check *c)
{

	if (c->nrows == 0)
		return;
	putchar('\n');
	printf(ROW_HEAD, "model", "mode", "batch", "image", "imgs", "prompt",
	       "new", "image tok", "peak GiB", "err", "KV GiB", "err",
	       "act GiB", "err");
	printf(ROW_HEAD, "", "", "", "", "", "", "", "plan/fed", "plan/meas",
	       "", "plan/meas", "", "plan/meas", "");
	for (size_t i = 0; i < c->nrows; i++) {
		const vgmo__check_row *r = &c->rows[i];
		const vgmo__mpoint *p = r->point;
		char tok[32];

		snprintf(tok, sizeof(tok), "%u/%u", r->plan_image_tokens,
		         p->image_tokens);
		printf("%-16s %-8s %5u %-10s %4u %6u %4u %11s", p->model,
		       p->mode == VGMO__MODE_FORWARD ? "forward" : "generate",
		       p->batch, p->image, p->images, p->prompt_tokens,
		       p->max_new_tokens, tok);
		print_part(r->plan_peak, r->meas_peak,
		           p->oom == 1 ? "oom" : NULL);
		print_part(r->plan_kv, r->meas_kv, NULL);
		print_part(r->plan_act, r->meas_act, NULL);
		if (p->oom == 1)
			printf("  planner: %s",
			       r->plan_fits ? "fits" : "does not fit");
		putchar('\n');
	}
}

static void print_stats(const vgmo__check *c)
{
	const char *last = "";

	if (c->nstats == 0) {
		puts(c->nrows ? "\nno part could be compared"
		              : "\nno measured points (a dry run, or nothing "
		                "ran)");
		return;
	}
	puts("\nrelative error of the planner, (plan - measured) / measured:");
	printf("%-16s %-12s %6s %8s %8s\n", "model", "part", "points", "median",
	       "worst");
	for (size_t i = 0; i < c->nstats; i++) {
		const vgmo__check_stat *s = &c->stats[i];
		bool same = strcmp(s->model, last) == 0;

		printf("%-16s %-12s %6zu %+7.1f%% %+7.1f%%\n",
		       same ? "" : s->model, vgmo__check_part_name(s->part),
		       s->n, 100 * s->median, 100 * s->worst);
		last = s->model;
	}
	if (c->ooms)
		printf("out of memory: %zu point%s; the planner said %zu of "
		       "them would fit\n",
		       c->ooms, c->ooms == 1 ? "" : "s", c->oom_planned_fit);
}

static json_t *jnum(double v)
{
	return isnan(v) ? json_null() : json_real(v);
}

/* Bytes as an integer; null when absent. */
static json_t *jbytes(double v)
{
	return isnan(v) ? json_null() : json_integer((json_int_t)llround(v));
}

static json_t *jstr(const char *s)
{
	return s && s[0] ? json_string(s) : json_null();
}

static json_t *part_json(double plan, double meas)
{
	double e = isnan(plan) || isnan(meas) || !(meas > 0)
	                   ? NAN
	                   : (plan - meas) / meas;

	return json_pack("{s:o, s:o, s:o}", "plan_bytes", jbytes(plan),
	                 "measured_bytes", jbytes(meas), "error", jnum(e));
}

static json_t *row_json(const vgmo__check_row *r)
{
	const vgmo__mpoint *p = r->point;

	return json_pack(
	        "{s:i, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:I, s:I, s:I, "
	        "s:I, s:I, s:o, s:o, s:o, s:o, s:b}",
	        "line", p->line, "model", p->model, "preset", r->preset, "mode",
	        p->mode == VGMO__MODE_FORWARD ? "forward" : "generate",
	        "status", p->status, "batch", (json_int_t)p->batch, "image",
	        p->image, "image_width", (json_int_t)p->width, "image_height",
	        (json_int_t)p->height, "images_per_request",
	        (json_int_t)p->images, "prompt_tokens",
	        (json_int_t)p->prompt_tokens, "max_new_tokens",
	        (json_int_t)p->max_new_tokens, "image_tokens_plan",
	        (json_int_t)r->plan_image_tokens, "image_tokens_fed",
	        (json_int_t)p->image_tokens, "weights",
	        part_json(r->plan_weights, r->meas_weights), "kv_cache",
	        part_json(r->plan_kv, r->meas_kv), "activations",
	        part_json(r->plan_act, r->meas_act), "peak",
	        part_json(r->plan_peak, r->meas_peak), "plan_fits",
	        r->plan_fits);
}

static int print_json(const char *path, const vgmo__mfile *f,
                      const vgmo__check *c)
{
	json_t *o, *rows = json_array(), *stats = json_array(),
	           *unmatched = json_array();
	char *s = NULL;

	o = json_pack("{s:s, s:s, s:b, s:b, s:b, s:{s:o, s:o, s:o}, s:o, s:o, "
	              "s:{s:I, s:I, s:I, s:I, s:I}}",
	              "file", path, "script_version", f->script_version,
	              "dry_run", f->dry_run, "ended", f->ended, "truncated",
	              f->truncated, "gpu", "name", jstr(f->gpu_name),
	              "total_bytes", jbytes(f->gpu_total_bytes), "driver",
	              jstr(f->driver), "torch", jstr(f->torch), "transformers",
	              jstr(f->transformers), "counts", "measured",
	              (json_int_t)(c->nrows - c->ooms), "oom",
	              (json_int_t)c->ooms, "oom_planned_fit",
	              (json_int_t)c->oom_planned_fit, "not_run",
	              (json_int_t)c->skipped, "failed", (json_int_t)c->errors);
	if (o == NULL || rows == NULL || stats == NULL || unmatched == NULL)
		goto out;
	for (size_t i = 0; i < c->nrows; i++)
		if (json_array_append_new(rows, row_json(&c->rows[i])) != 0)
			goto out;
	for (size_t i = 0; i < c->nstats; i++) {
		const vgmo__check_stat *st = &c->stats[i];

		if (json_array_append_new(
		            stats,
		            json_pack("{s:s, s:s, s:I, s:f, s:f}", "model",
		                      st->model, "part",
		                      vgmo__check_part_name(st->part), "points",
		                      (json_int_t)st->n, "median", st->median,
		                      "worst", st->worst)) != 0)
			goto out;
	}
	for (size_t i = 0; i < c->nunmatched; i++)
		if (json_array_append_new(unmatched,
		                          json_string(c->unmatched[i])) != 0)
			goto out;
	json_object_set(o, "unmatched_models", unmatched);
	json_object_set(o, "points", rows);
	json_object_set(o, "summary", stats);
	s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
	                          JSON_REAL_PRECISION(8));
out:
	json_decref(unmatched);
	json_decref(stats);
	json_decref(rows);
	json_decref(o);
	return cli_put_json_text(s);
}

int cmd_plan_check(const char *path, const vgmo_vlm_model *override, bool json)
{
	char err[1024] = "";
	vgmo__mfile f;
	vgmo__check c;
	int rc;

	if (vgmo__mfile_load(path, &f, err, sizeof(err)) != VGMO_OK)
		return cli_fail("%s", err);
	if (vgmo__check_compute(&f, override, &c, err, sizeof(err)) !=
	    VGMO_OK) {
		vgmo__mfile_free(&f);
		return cli_fail("%s", err);
	}
	rc = CLI_EXIT_OK;
	if (json) {
		rc = print_json(path, &f, &c);
	} else {
		print_header(path, &f, &c);
		print_rows(&c);
		print_stats(&c);
	}
	vgmo__check_free(&c);
	vgmo__mfile_free(&f);
	return rc;
}
