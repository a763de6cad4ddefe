/*
 * vgmo/client.h - the client of `vgmo serve` for workers written in C or
 * C++.
 * Part of the public API: include vgmo/vgmo.h, which includes every part.
 */

#ifndef VGMO_CLIENT_H
#define VGMO_CLIENT_H

#include "vgmo/common.h"
#include "vgmo/error.h"
#include "vgmo/worker.h"
#include "vgmo/tokens.h"

#ifdef __cplusplus
extern "C" {
#endif

/* =================================================================
 * Workers in the loop: the client of `vgmo serve` (docs/clients.md), for
 * workers written in C or C++. client.c; libcurl is loaded at run time
 * (dlopen) by vgmo_client_open, so libvgmo does not link it.
 * ================================================================= */

/* One worker registered with a daemon. Opaque; one thread at a time. */
typedef struct vgmo_client vgmo_client;

/* Registers `name` (1 to 63 characters [A-Za-z0-9._-], unique per GPU;
 * the same name again resumes what the daemon learned) on device `gpu`
 * with `weight` (<= 0: 1) at `server_url` ("http://HOST:PORT" or https;
 * NULL: $VGMO_SERVER, else http://127.0.0.1:8080), sending `token` as the
 * bearer token (NULL: none). *out receives a handle to free with
 * vgmo_client_close. Errors: VGMO_ERR_INVALID for a bad argument or a
 * request the daemon refused (400), VGMO_ERR_PERMISSION (401, 403),
 * VGMO_ERR_IO when the daemon cannot be reached or fails (5xx),
 * VGMO_ERR_TIMEOUT, VGMO_ERR_PARSE for an answer that is not the
 * protocol's, VGMO_ERR_LIBRARY without libcurl. */
VGMO_API vgmo_err vgmo_client_open(vgmo_client **out, const char *server_url,
                                   const char *name, unsigned gpu,
                                   double weight, const char *token, char *err,
                                   size_t errlen);

/* The batch size to run next: the daemon's last answer (before any, the
 * one registration gave). */
VGMO_API int vgmo_client_batch_size(const vgmo_client *c);

/* The id the daemon gave the client (it changes when the client registers
 * again), or -1 while it is not registered. */
VGMO_API int64_t vgmo_client_id(const vgmo_client *c);

/* Reports one batch: r->items >= 1; r->peak_bytes > 0 unless r->oom;
 * r->allocated_bytes, r->reserved_bytes, r->seconds and r->freed_bytes
 * (what the cleanup the daemon asked for released) when known, 0
 * otherwise. `out` (may be NULL) receives the next batch size and whether
 * the daemon asks for a cleanup.
 *
 * A worker's loop can ignore the result: *out always holds a usable
 * decision. When the daemon forgot the client (it restarted, or the lease
 * ran out) the client registers again and resends. When the daemon cannot
 * be reached (VGMO_ERR_IO, VGMO_ERR_TIMEOUT, VGMO_ERR_PARSE), *out keeps
 * the last batch size (halved for an OOM, as the daemon would), and later
 * reports return VGMO_ERR_IO at once, without a request, until a back-off
 * from 0.25 s doubling to 30 s has passed. */
VGMO_API vgmo_err vgmo_client_report(vgmo_client *c, const vgmo_report *r,
                                     vgmo_decision *out, char *err,
                                     size_t errlen);

/* vgmo_client_open with a whole spec: its unit ("tokens" for the calls
 * below to count tokens), model preset, padding, attention, logits and process
 * id (the spec's leased and prior fields are not sent: a client is always
 * leased, and the daemon takes the prior from the model). */
VGMO_API vgmo_err vgmo_client_open_spec(vgmo_client **out,
                                        const char *server_url,
                                        const vgmo_worker_spec *spec,
                                        const char *token, char *err,
                                        size_t errlen);

/* Asks whether one request fits before it runs (POST .../fit; see
 * vgmo_fit). On any error *out still holds a usable answer: "fits",
 * unjudged, with the reason. */
VGMO_API vgmo_err vgmo_client_fit(vgmo_client *c, const vgmo_request_shape *r,
                                  vgmo_fit *out, char *err, size_t errlen);

/* How many requests from the head of the queue to run next (POST
 * .../plan; see vgmo_batch_plan). On any error *out still holds a usable
 * answer: the client's batch size of them, unjudged. */
VGMO_API vgmo_err vgmo_client_plan(vgmo_client *c,
                                   const vgmo_request_shape *queue, size_t n,
                                   vgmo_batch_plan *out, char *err,
                                   size_t errlen);

/* vgmo_client_report with the batch's `n` request shapes (n == r->items);
 * the client must have registered with unit "tokens". */
VGMO_API vgmo_err vgmo_client_report_batch(vgmo_client *c, const vgmo_report *r,
                                           const vgmo_request_shape *batch,
                                           size_t n, vgmo_decision *out,
                                           char *err, size_t errlen);

/* vgmo_client_report of a batch of `items` that ran out of memory. */
VGMO_API vgmo_err vgmo_client_report_oom(vgmo_client *c, uint32_t items,
                                         vgmo_decision *out, char *err,
                                         size_t errlen);

/* Leaves the daemon (DELETE, best effort) and frees the handle. NULL is
 * a no-op. */
VGMO_API void vgmo_client_close(vgmo_client *c);

#ifdef __cplusplus
}
#endif

#endif /* VGMO_CLIENT_H */
