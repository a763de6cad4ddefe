/*
 * status_table.h - the status table of `vgmo status`, printed from the
 * status JSON (vgmo_snapshot_status_json, or the daemon's GET /v1/status),
 * so the one-shot local read and the daemon print the same table.
 */
#ifndef VGMO_SRC_STATUS_TABLE_H
#define VGMO_SRC_STATUS_TABLE_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

/* True when stdout is a terminal, NO_COLOR is unset and TERM is not dumb. */
bool status_table_colour(void);

/* The ANSI colour of a status word ("healthy", "warning", "critical",
 * "oom", "down"), or NULL. */
const char *status_table_colour_of(const char *word);

/* Prints `text` left-aligned in `width` columns, coloured by
 * status_table_colour_of when `colour`. */
void status_table_word(FILE *f, const char *text, int width, bool colour);

/* Prints the header, one row per GPU and one per worker. `config` (the 14
 * configuration keys; may be NULL) gives the thresholds line; a
 * "monitoring" boolean in `status` (the daemon's) adds a monitoring line. */
void status_table_print(FILE *f, const json_t *status, const json_t *config,
                        bool colour);

#endif
