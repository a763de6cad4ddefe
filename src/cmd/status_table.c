/*
 * status_table.c - the status table, from the status JSON. A value that is
 * null or absent (the device does not report it, the device is down) is
 * printed as "-", never 0.
 */
#include "status_table.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vgmo/vgmo.h"

#define MIB ((double)VGMO_MIB)

enum { GPU_COLS = 10, WORKER_COLS = 6, PROCESS_COLS = 4, CELL = 128 };

typedef char cell[CELL];

bool status_table_colour(void)
{
	const char *term = getenv("TERM");

	return isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL &&
	       !(term != NULL && strcmp(term, "dumb") == 0);
}

const char *status_table_colour_of(const char *word)
{
	if (strcmp(word, "healthy") == 0)
		return "\033[32m";
	if (strcmp(word, "warning") == 0)
		return "\033[33m";
	if (strcmp(word, "critical") == 0 || strcmp(word, "down") == 0)
		return "\033[31m";
	if (strcmp(word, "oom") == 0)
		return "\033[1;31m";
	return NULL;
}

void status_table_word(FILE *f, const char *text, int width, bool colour)
{
	const char *c = colour ? status_table_colour_of(text) : NULL;
	int pad = width - (int)strlen(text);

	if (c != NULL)
		fprintf(f, "%s%s\033[0m", c, text);
	else
		fputs(text, f);
	if (pad > 0)
		fprintf(f, "%*s", pad, "");
}

/* ---------------------------------------------------------------- values */

static bool number(const json_t *o, const char *key, double *out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return true;
}

static const char *string_or(const json_t *o, const char *key,
                             const char *absent)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL && s[0] != '\0' ? s : absent;
}

/* o[key] * scale with `decimals` decimals and `unit`, or "-". */
static void cell_num(cell c, const json_t *o, const char *key, double scale,
                     int decimals, const char *unit)
{
	double v;

	if (number(o, key, &v))
		snprintf(c, CELL, "%.*f%s", decimals, v * scale, unit);
	else
		snprintf(c, CELL, "-");
}

/* An integer key as text, or "-". */
static void cell_int(cell c, const json_t *o, const char *key)
{
	double v;

	if (number(o, key, &v))
		snprintf(c, CELL, "%.0f", v);
	else
		snprintf(c, CELL, "-");
}

/* ----------------------------------------------------------------- rows */

static void gpu_cells(const json_t *g, cell cells[GPU_COLS])
{
	bool up = json_is_true(json_object_get(g, "up"));
	double used, total;

	cell_int(cells[0], g, "index");
	snprintf(cells[1], CELL, "%s", string_or(g, "name", "-"));
	snprintf(cells[2], CELL, "%s",
	         up ? string_or(g, "status", "-") : "down");
	if (number(g, "memory_used_bytes", &used) &&
	    number(g, "memory_total_bytes", &total))
		snprintf(cells[3], CELL, "%.0f/%.0f", used / MIB, total / MIB);
	else
		snprintf(cells[3], CELL, "-");
	cell_num(cells[4], g, "memory_usage_percent", 100.0, 1, "%");
	cell_num(cells[5], g, "memory_free_bytes", 1.0 / MIB, 0, "");
	cell_num(cells[6], g, "gpu_utilization", 100.0, 0, "%");
	cell_num(cells[7], g, "gpu_temperature", 1.0, 0, "");
	cell_num(cells[8], g, "gpu_power_usage", 1.0, 0, "");
	cell_num(cells[9], g, "memory_fragmentation", 100.0, 1, "%");
}

static void worker_cells(const json_t *w, cell cells[WORKER_COLS])
{
	const json_t *m = json_object_get(w, "model");
	double item = 0.0, fixed = 0.0, ceiling;
	int n;

	cell_int(cells[0], w, "id");
	snprintf(cells[1], CELL, "%s", string_or(w, "name", "-"));
	cell_int(cells[2], w, "gpu");
	cell_int(cells[3], w, "batch_size");
	if (json_is_number(json_object_get(w, "manual_batch_size")))
		strncat(cells[3], " (manual)", CELL - strlen(cells[3]) - 1);
	cell_int(cells[4], w, "optimal_batch_size");
	if (!json_is_true(json_object_get(m, "fitted"))) {
		snprintf(cells[5], CELL, "prior");
		return;
	}
	number(m, "item_bytes", &item);
	number(m, "fixed_bytes", &fixed);
	n = snprintf(cells[5], CELL, "%.1f MiB/item + %.1f MiB fixed",
	             item / MIB, fixed / MIB);
	if (number(m, "ceiling", &ceiling) && n > 0 && n < CELL)
		snprintf(cells[5] + n, (size_t)(CELL - n), ", OOM at %.0f",
		         ceiling);
}

/* A header row, then the rows; `right` marks right-aligned columns and
 * `status_col` the column whose words are coloured (-1: none). */
struct table {
	size_t cols;
	const char *const *head;
	const bool *right;
	int status_col;
	void (*cells)(const json_t *, cell *);
};

static void print_row(FILE *f, const struct table *t, const int *width,
                      const char *const *text, bool colour)
{
	for (size_t c = 0; c < t->cols; c++) {
		bool last = c + 1 == t->cols;

		if ((int)c == t->status_col)
			status_table_word(f, text[c], last ? 0 : width[c],
			                  colour);
		else if (t->right[c])
			fprintf(f, "%*s", width[c], text[c]);
		else
			fprintf(f, "%-*s", last ? 0 : width[c], text[c]);
		fputs(last ? "\n" : "  ", f);
	}
}

/* Prints the rows of `t` for the array `rows` (at most GPU_COLS columns). */
static void print_table(FILE *f, const struct table *t, const json_t *rows,
                        bool colour)
{
	int width[GPU_COLS] = {0};
	cell cells[GPU_COLS];
	const char *text[GPU_COLS];
	const json_t *row;
	size_t i;

	for (size_t c = 0; c < t->cols; c++)
		width[c] = (int)strlen(t->head[c]);
	json_array_foreach(rows, i, row)
	{
		t->cells(row, cells);
		for (size_t c = 0; c < t->cols; c++) {
			int n = (int)strlen(cells[c]);

			if (n > width[c])
				width[c] = n;
		}
	}
	print_row(f, t, width, t->head, false);
	json_array_foreach(rows, i, row)
	{
		t->cells(row, cells);
		for (size_t c = 0; c < t->cols; c++)
			text[c] = cells[c];
		print_row(f, t, width, text, colour);
	}
}

static void print_gpus(FILE *f, const json_t *gpus, bool colour)
{
	static const char *const head[GPU_COLS] = {
	        "GPU",      "NAME",  "STATUS", "USED/TOTAL MiB", "USE%",
	        "FREE MiB", "UTIL%", "TEMP C", "POWER W",        "FRAG%"};
	static const bool right[GPU_COLS] = {true, false, false, true, true,
	                                     true, true,  true,  true, true};
	const struct table t = {GPU_COLS, head, right, 2, gpu_cells};
	const json_t *g;
	size_t i;

	print_table(f, &t, gpus, colour);
	json_array_foreach(gpus, i, g)
	{
		cell idx;

		if (json_is_true(json_object_get(g, "up")))
			continue;
		cell_int(idx, g, "index");
		fprintf(f, "GPU %s is down: %s\n", idx,
		        string_or(g, "down_reason", "no reason given"));
	}
}

static void print_workers(FILE *f, const json_t *workers)
{
	static const char *const head[WORKER_COLS] = {
	        "WORKER", "NAME", "GPU", "BATCH", "OPTIMAL", "MODEL"};
	static const bool right[WORKER_COLS] = {true, false, true,
	                                        true, true,  false};
	const struct table t = {WORKER_COLS, head, right, -1, worker_cells};

	if (json_array_size(workers) == 0) {
		fputs("no workers\n", f);
		return;
	}
	print_table(f, &t, workers, false);
}

/* One row of the process list: a "processes" entry with its "gpu". */
static void process_cells(const json_t *p, cell cells[PROCESS_COLS])
{
	cell_int(cells[0], p, "gpu");
	cell_int(cells[1], p, "pid");
	snprintf(cells[2], CELL, "%s", string_or(p, "name", "-"));
	cell_num(cells[3], p, "used_bytes", 1.0 / MIB, 0, "");
}

/* The processes of every GPU that lists them (as nvidia-smi does);
 * nothing when none does. */
static void print_processes(FILE *f, const json_t *gpus)
{
	static const char *const head[PROCESS_COLS] = {"GPU", "PID", "PROCESS",
	                                               "USED MiB"};
	static const bool right[PROCESS_COLS] = {true, true, false, true};
	const struct table t = {PROCESS_COLS, head, right, -1, process_cells};
	json_t *rows = json_array();
	const json_t *g, *p;
	size_t i, k;

	json_array_foreach(gpus, i, g)
	{
		json_array_foreach(json_object_get(g, "processes"), k, p)
		{
			json_t *row = json_deep_copy(p);

			if (row == NULL ||
			    json_object_set(row, "gpu",
			                    json_object_get(g, "index")) != 0 ||
			    json_array_append_new(rows, row) != 0) {
				json_decref(row);
				continue;
			}
		}
	}
	if (json_array_size(rows) > 0) {
		fputc('\n', f);
		print_table(f, &t, rows, false);
	}
	json_decref(rows);
}

static void print_header(FILE *f, const json_t *s, const json_t *config,
                         bool colour)
{
	const char *backend = string_or(s, "backend", "-");
	const json_t *monitoring = json_object_get(s, "monitoring");
	double cur, opt, warn, crit, oom;

	if (strcmp(backend, "sim") == 0)
		fprintf(f, "backend:       sim (simulated GPU)\n");
	else
		fprintf(f, "backend:       %s\n", backend);
	fputs("status:        ", f);
	status_table_word(f, string_or(s, "status", "-"), 0, colour);
	fprintf(f, "\nstrategy:      %s\n", string_or(s, "strategy", "-"));
	fprintf(f, "optimization:  %s\n",
	        json_is_true(json_object_get(s, "optimization_enabled"))
	                ? "enabled"
	                : "disabled");
	if (json_is_boolean(monitoring))
		fprintf(f, "monitoring:    %s\n",
		        json_is_true(monitoring) ? "on" : "off");
	fputs("batch size:    ", f);
	if (number(s, "current_batch_size", &cur))
		fprintf(f, "%.0f", cur);
	else
		fputc('-', f);
	if (number(s, "optimal_batch_size", &opt))
		fprintf(f, " (optimal %.0f)\n", opt);
	else
		fputs(" (optimal -)\n", f);
	if (number(config, "memory_threshold_warning", &warn) &&
	    number(config, "memory_threshold_critical", &crit) &&
	    number(config, "memory_threshold_oom", &oom))
		fprintf(f,
		        "thresholds:    warning %.2f, critical %.2f, oom "
		        "%.2f\n",
		        warn, crit, oom);
}

void status_table_print(FILE *f, const json_t *status, const json_t *config,
                        bool colour)
{
	print_header(f, status, config, colour);
	fputc('\n', f);
	print_gpus(f, json_object_get(status, "gpus"), colour);
	print_processes(f, json_object_get(status, "gpus"));
	fputc('\n', f);
	print_workers(f, json_object_get(status, "workers"));
}
