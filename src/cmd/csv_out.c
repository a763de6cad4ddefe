/*
 * csv_out.c - named CSV columns for `vgmo status` and `vgmo history`.
 */
#include "csv_out.h"

#include <string.h>
#include <time.h>

#include "cli.h"
#include "suggest.h"

#define MIB ((double)VGMO_MIB)
#define CELL_MAX 1024

const csv_column csv_gpu_columns[] = {
        {"gpu", "index", CSV_INT, "the GPU's index"},
        {"name", "name", CSV_TEXT, "the device's name"},
        {"uuid", "uuid", CSV_TEXT, "the device's UUID"},
        {"pci_bus_id", "pci_bus_id", CSV_TEXT, "the PCI bus id"},
        {"status", "status", CSV_STATUS,
         "healthy, warning, critical, oom, or down"},
        {"used_mib", "memory_used_bytes", CSV_MIB, "memory used, MiB"},
        {"total_mib", "memory_total_bytes", CSV_MIB, "memory in all, MiB"},
        {"free_mib", "memory_free_bytes", CSV_MIB, "memory free, MiB"},
        {"memory_used_pct", "memory_usage_percent", CSV_PCT,
         "used / total, percent"},
        {"utilization_pct", "gpu_utilization", CSV_PCT,
         "GPU utilisation, percent"},
        {"temperature_c", "gpu_temperature", CSV_REAL, "degrees C"},
        {"power_w", "gpu_power_usage", CSV_REAL, "power draw, W"},
        {"fragmentation_pct", "memory_fragmentation", CSV_PCT,
         "allocator fragmentation, percent"},
        {"batch_size", "current_batch_size", CSV_INT,
         "batch size of the first worker on the GPU"},
        {"optimal_batch_size", "optimal_batch_size", CSV_INT,
         "its optimal batch size"},
        {"sampled_at", "sampled_at", CSV_REAL,
         "when it was read, seconds since the epoch"},
        {NULL, NULL, CSV_INT, NULL}};

const csv_column csv_history_columns[] = {
        {"time", "timestamp", CSV_TIME, "local time, YYYY-MM-DD HH:MM:SS"},
        {"timestamp", "timestamp", CSV_REAL, "seconds since the epoch"},
        {"worker", "worker", CSV_TEXT,
         "the worker (empty for a pass over all of them)"},
        {"action", "action_taken", CSV_TEXT, "what was done"},
        {"success", "success", CSV_BOOL, "true or false"},
        {"old_batch_size", "old_batch_size", CSV_INT,
         "batch size before (empty: unchanged)"},
        {"new_batch_size", "new_batch_size", CSV_INT,
         "batch size after (empty: unchanged)"},
        {"freed_mib", "memory_freed_mb", CSV_REAL,
         "memory freed, measured, MiB (empty: no cleanup)"},
        {"reason", "reason", CSV_TEXT, "why"},
        {"error", "error_message", CSV_TEXT, "what failed"},
        {NULL, NULL, CSV_INT, NULL}};

int csv_opts_format(csv_opts *o, const char *cmd, const char *value)
{
	csv_format f;

	if (strcmp(value, "table") == 0)
		f = CSV_FORMAT_TABLE;
	else if (strcmp(value, "json") == 0)
		f = CSV_FORMAT_JSON;
	else if (strcmp(value, "csv") == 0)
		f = CSV_FORMAT_CSV;
	else
		return cli_usage_error(cmd,
		                       "invalid --format '%s': expected "
		                       "table, json or csv",
		                       value);
	if (o->format_set && o->format != f)
		return cli_usage_error(cmd,
		                       "--format %s and --json (or another "
		                       "--format) disagree",
		                       value);
	o->format = f;
	o->format_set = true;
	return CLI_EXIT_OK;
}

int csv_opts_fields(csv_opts *o, const char *value)
{
	if (strcmp(value, "help") == 0)
		o->list_fields = true;
	else
		o->fields = value;
	return CLI_EXIT_OK;
}

int csv_opts_finish(csv_opts *o, const char *cmd, const csv_column *table,
                    csv_selection *sel)
{
	if (o->list_fields)
		return CLI_EXIT_OK;
	if (o->fields != NULL) {
		if (o->format_set && o->format != CSV_FORMAT_CSV)
			return cli_usage_error(
			        cmd, "--fields goes with --format csv");
		o->format = CSV_FORMAT_CSV;
		o->format_set = true;
	}
	if (o->format != CSV_FORMAT_CSV)
		return CLI_EXIT_OK;
	return csv_select(sel, cmd, table, o->fields);
}

static const csv_column *find_column(const csv_column *table, const char *name,
                                     size_t len)
{
	for (const csv_column *c = table; c->name; c++) {
		if (strlen(c->name) == len && strncmp(c->name, name, len) == 0)
			return c;
	}
	return NULL;
}

static int unknown_column(const char *cmd, const csv_column *table,
                          const char *name, size_t len)
{
	char word[VGMO__SUGGEST_MAX + 1];
	vgmo__suggestion s;

	snprintf(word, sizeof(word), "%.*s", (int)len, name);
	vgmo__suggest_init(&s, len < sizeof(word) ? word : NULL);
	for (const csv_column *c = table; c->name; c++)
		vgmo__suggest_consider(&s, c->name);
	if (s.best != NULL)
		return cli_usage_error(cmd,
		                       "unknown --fields column '%.*s' (did "
		                       "you mean '%s'? --fields help lists "
		                       "them)",
		                       (int)len, name, s.best);
	return cli_usage_error(cmd,
	                       "unknown --fields column '%.*s' (--fields help "
	                       "lists them)",
	                       (int)len, name);
}

int csv_select(csv_selection *sel, const char *cmd, const csv_column *table,
               const char *list)
{
	const char *p = list;

	sel->n = 0;
	if (list == NULL) {
		for (const csv_column *c = table;
		     c->name && sel->n < CSV_MAX_FIELDS; c++)
			sel->cols[sel->n++] = c;
		return CLI_EXIT_OK;
	}
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		const csv_column *c;

		if (len == 0)
			return cli_usage_error(
			        cmd,
			        "invalid --fields '%s': an empty "
			        "column name",
			        list);
		c = find_column(table, p, len);
		if (c == NULL)
			return unknown_column(cmd, table, p, len);
		if (sel->n == CSV_MAX_FIELDS)
			return cli_usage_error(cmd,
			                       "invalid --fields: more than %d "
			                       "columns",
			                       CSV_MAX_FIELDS);
		sel->cols[sel->n++] = c;
		if (comma == NULL)
			return CLI_EXIT_OK;
		p = comma + 1;
	}
}

void csv_print_columns(FILE *f, const csv_column *table)
{
	for (const csv_column *c = table; c->name; c++)
		fprintf(f, "%-20s %s\n", c->name, c->help);
}

/* The cell's text; "" for a value that is missing or null. */
static void cell(const csv_column *c, const json_t *row, char *buf, size_t size)
{
	const json_t *v = json_object_get(row, c->key);
	double x = json_is_number(v) ? json_number_value(v) : 0.0;
	time_t t;
	struct tm tm;

	buf[0] = '\0';
	if (c->kind == CSV_STATUS &&
	    json_is_false(json_object_get(row, "up"))) {
		snprintf(buf, size, "down");
		return;
	}
	switch (c->kind) {
	case CSV_TEXT:
	case CSV_STATUS:
		if (json_is_string(v))
			snprintf(buf, size, "%s", json_string_value(v));
		return;
	case CSV_BOOL:
		if (json_is_boolean(v))
			snprintf(buf, size, "%s",
			         json_is_true(v) ? "true" : "false");
		return;
	default:
		break;
	}
	if (!json_is_number(v))
		return;
	switch (c->kind) {
	case CSV_INT:
		snprintf(buf, size, "%.0f", x);
		break;
	case CSV_MIB:
		snprintf(buf, size, "%.0f", x / MIB);
		break;
	case CSV_PCT:
		snprintf(buf, size, "%.2f", x * 100.0);
		break;
	case CSV_TIME:
		t = (time_t)x;
		if (localtime_r(&t, &tm) != NULL)
			strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
		break;
	default:
		snprintf(buf, size, "%.3f", x);
		break;
	}
}

/* RFC 4180: quoted when it holds a comma, a quote or a line break, with
 * its quotes doubled. */
static void put_cell(FILE *f, const char *text)
{
	if (strpbrk(text, ",\"\r\n") == NULL) {
		fputs(text, f);
		return;
	}
	fputc('"', f);
	for (const char *p = text; *p; p++) {
		if (*p == '"')
			fputc('"', f);
		fputc(*p, f);
	}
	fputc('"', f);
}

void csv_print(FILE *f, const csv_selection *sel, const json_t *rows)
{
	char buf[CELL_MAX];
	const json_t *row;
	size_t i;

	for (size_t k = 0; k < sel->n; k++)
		fprintf(f, "%s%s", k ? "," : "", sel->cols[k]->name);
	fputc('\n', f);
	json_array_foreach(rows, i, row)
	{
		for (size_t k = 0; k < sel->n; k++) {
			if (k)
				fputc(',', f);
			cell(sel->cols[k], row, buf, sizeof(buf));
			put_cell(f, buf);
		}
		fputc('\n', f);
	}
}
