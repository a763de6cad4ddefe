/*
 * worker_json.h - a worker (vgmo_worker_view) as JSON (internal). The one
 * rendering of a worker: GET /v1/status's "workers" entries and the client
 * endpoints (/v1/clients, a report's answer) use it, so the keys and the
 * unknown values (null, never 0) exist once.
 */
#ifndef VGMO_LIB_WORKER_JSON_H
#define VGMO_LIB_WORKER_JSON_H

#include <jansson.h>

#include "vgmo/vgmo.h"

/* The worker's fields: id (the engine's worker id), name, gpu, weight,
 * unit, batch_size, optimal_batch_size, manual_batch_size, budget_bytes,
 * share, fragmentation, reports, ooms, throughput_items_per_s,
 * last_report_seconds_ago and model. A value the view marks unknown is
 * null. New reference (the caller owns it and may add keys); NULL on
 * allocation failure. */
json_t *vgmo__worker_json(const vgmo_worker_view *w);

/* Sets "budget_bytes" and "share" of `o` from `w` (null while unknown),
 * as vgmo__worker_json does: for answers that carry only these. 0 on
 * success, -1 on allocation failure. */
int vgmo__worker_budget_json(json_t *o, const vgmo_worker_view *w);

#endif
