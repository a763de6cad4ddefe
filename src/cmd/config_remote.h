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

/* One "key  value" line per key of `cfg`. */
void config_print(FILE *f, const json_t *cfg);

/* "key: old -> new" for every key whose value differs; "no change" when
 * none does. */
void config_print_changes(FILE *f, const json_t *before, const json_t *after);

#endif
