/*
 * result_json.h - an optimization result (the seed's
 * MemoryOptimizationResult) to and from JSON (internal). Used by the
 * history file, the API and the CLI, so the keys exist once.
 */
#ifndef VGMO_LIB_RESULT_JSON_H
#define VGMO_LIB_RESULT_JSON_H

#include <jansson.h>

#include "vgmo/vgmo.h"

/* New reference; NULL on allocation failure. Unknown values are null:
 * memory_freed_mb < 0, new_batch_size 0, empty error_message. */
json_t *vgmo__result_to_json(const vgmo_result *r);

/* Reads what vgmo__result_to_json wrote. VGMO_ERR_PARSE naming the key when
 * a key has the wrong type; unknown keys are ignored (older or newer
 * files). */
vgmo_err vgmo__result_from_json(const json_t *j, vgmo_result *r, char *err,
                                size_t errlen);

#endif
