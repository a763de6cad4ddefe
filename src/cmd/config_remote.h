/*
 * config_remote.h - the daemon's configuration as the configure,
 * export-config and import-config commands use it: read it, send some of
 * its keys back, print it and what changed.
 */
#ifndef VGMO_SRC_CONFIG_REMOTE_H
#define VGMO_SRC_CONFIG_REMOTE_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "remote.h"

/* GET /v1/config into *cfg (read strictly, as a file would be). *resp
 * keeps the answer (the caller frees it). CLI_EXIT_OK, or
 * CLI_EXIT_FAILURE after printing why. */
int config_remote_get(remote *c, vgmo_config *cfg, remote_response *resp);

/* PUT /v1/config with the keys of `cfg` named in `keys` (a JSON object's
 * keys; the values there are ignored). *resp receives the whole new
 * config. */
int config_remote_put(remote *c, const vgmo_config *cfg, const json_t *keys,
                      remote_response *resp);

/* Changes the daemon's configuration, as configure and import-config do:
 * GET it, let `edit` change *cfg and set *keys to a JSON object whose keys
 * name the fields to send (freed here), PUT those, then print the daemon's
 * JSON answer (`json`) or the line `done` ("configuration updated:") and
 * what changed. `edit` NULL: print the configuration, or its JSON, instead.
 * `edit` returns CLI_EXIT_OK, or an exit code after printing why (nothing
 * is sent). Returns CLI_EXIT_OK, or the exit code after printing why. */
typedef int (*config_edit_fn)(void *ctx, vgmo_config *cfg, json_t **keys);
int config_remote_change(const remote_opts *ro, bool json, config_edit_fn edit,
                         void *ctx, const char *done);

/* One "key  value" line per key of `cfg`. */
void config_print(FILE *f, const json_t *cfg);

/* "key: old -> new" for every key whose value differs; "no change" when
 * none does. */
void config_print_changes(FILE *f, const json_t *before, const json_t *after);

#endif
