/*
 * csv_out.h - `--format csv --fields LIST` of `vgmo status` (one row per
 * GPU) and `vgmo history` (one row per entry): named columns taken from
 * the same JSON the tables print, like nvidia-smi's --query-gpu.
 *
 * The column names are an interface: scripts select them, so a name, once
 * published in docs/cli.md, keeps its meaning. An unknown value is an
 * empty cell, never 0. Cells are quoted as RFC 4180 says when they hold a
 * comma, a quote or a line break.
 */
#ifndef VGMO_SRC_CSV_OUT_H
#define VGMO_SRC_CSV_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

typedef enum csv_kind {
	CSV_INT,    /* a whole number */
	CSV_REAL,   /* a number, up to 3 decimals */
	CSV_TEXT,   /* a string */
	CSV_BOOL,   /* true or false */
	CSV_MIB,    /* bytes written as MiB, whole */
	CSV_PCT,    /* a 0..1 fraction written as percent, 2 decimals */
	CSV_STATUS, /* the GPU's status word, "down" when it is not up */
	CSV_TIME    /* seconds since the epoch written as local time */
} csv_kind;

typedef struct csv_column {
	const char *name; /* the column's stable name */
	const char *key;  /* the JSON key it comes from */
	csv_kind kind;
	const char *help; /* one line for --fields help */
} csv_column;

/* The columns of `vgmo status` and `vgmo history`; each table ends with
 * an entry whose name is NULL. */
extern const csv_column csv_gpu_columns[];
extern const csv_column csv_history_columns[];

/* --format of `vgmo status` and `vgmo history`. */
typedef enum csv_format {
	CSV_FORMAT_TABLE,
	CSV_FORMAT_JSON,
	CSV_FORMAT_CSV
} csv_format;

/* What the two commands share: --format, --fields and --json (the same as
 * --format json). */
typedef struct csv_opts {
	csv_format format;
	bool format_set;
	const char *fields; /* NULL: not given */
	bool list_fields;   /* --fields help */
} csv_opts;

/* The --format and --fields rows of both commands' option tables. */
#define CSV_OPTS_ROWS(format_id, fields_id)                                    \
	{"format", "table|json|csv", "how to print it (default table)",        \
	 (format_id)},                                                         \
	{                                                                      \
		"fields", "LIST",                                              \
		        "CSV columns, comma-separated (implies --format csv; " \
		        "--fields help lists them)",                           \
		        (fields_id)                                            \
	}

/* Records --format VALUE (`json` true: it was --json). CLI_EXIT_OK, or
 * CLI_EXIT_USAGE after printing why. */
int csv_opts_format(csv_opts *o, const char *cmd, const char *value);

/* Records --fields VALUE ("help": list the columns). Always CLI_EXIT_OK. */
int csv_opts_fields(csv_opts *o, const char *value);

#define CSV_MAX_FIELDS 32

typedef struct csv_selection {
	const csv_column *cols[CSV_MAX_FIELDS];
	size_t n;
} csv_selection;

/* After parsing (nothing to do after --fields help): --fields alone means
 * --format csv; --fields with another --format is a usage error; with
 * --format csv, *sel receives the columns of `table` that --fields names
 * (csv_select). CLI_EXIT_OK, or CLI_EXIT_USAGE after printing why. */
int csv_opts_finish(csv_opts *o, const char *cmd, const csv_column *table,
                    csv_selection *sel);

/* Fills *sel from `list` ("gpu,name,used_mib"; NULL: every column, in
 * table order). Returns CLI_EXIT_OK, or CLI_EXIT_USAGE after printing why
 * (an unknown name, with the nearest one; an empty name; too many). */
int csv_select(csv_selection *sel, const char *cmd, const csv_column *table,
               const char *list);

/* Prints the columns of `table` with their help, for `--fields help`. */
void csv_print_columns(FILE *f, const csv_column *table);

/* Prints the header and one line per element of the array `rows`. */
void csv_print(FILE *f, const csv_selection *sel, const json_t *rows);

#endif
