/*
 * daemon.h - `vgmo serve`: the node daemon's context and the operations its
 * HTTP API performs (internal to the program).
 *
 * Threads: the loop thread (daemon_loop.c) samples, optimizes and cleans up on
 * the config's intervals, and drives the simulated workload in real time;
 * libmicrohttpd's threads (http.c, api.c) serve requests. Every change an
 * operator makes goes through one of the daemon_* mutators below, which
 * are serialised by the `admin` mutex (daemon_internal.h), persist the new
 * state atomically BEFORE applying it (so a change that cannot be saved is
 * refused and nothing changes), apply it to the engine, and write an audit
 * line.
 */
#ifndef VGMO_SRC_DAEMON_H
#define VGMO_SRC_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vgmo/vgmo.h"

typedef struct vgmo_daemon vgmo_daemon;

/* Who asked, for the audit log: "api:127.0.0.1", "signal:SIGHUP". */
#define DAEMON_WHO_MAX 96

/* Outcome of a mutator, mapped to an HTTP status by the API:
 * OK 200, INVALID/CONFIG/PARSE 400 (field named in err), NOT_FOUND 404,
 * IO 503 (state cannot be saved: nothing changed). */

/* Snapshot plus the daemon's own state, for /v1/status and /metrics.
 * Caller frees with vgmo_snapshot_free(*snap). */
typedef struct daemon_view {
	vgmo_snapshot *snap;
	bool monitoring;
	bool ready;
	char not_ready_reason[160];
	double last_sample_age; /* seconds since the last sample, < 0 never */
	double started_at;      /* wall seconds */
} daemon_view;

/* `flags`: VGMO_SNAPSHOT_* (0: no history). */
vgmo_err daemon_view_take(vgmo_daemon *d, unsigned flags, daemon_view *out);
void daemon_view_release(daemon_view *v);

/* Liveness: the loop thread has beaten within 3 monitoring intervals. */
bool daemon_alive(vgmo_daemon *d);

/* ------------------------------------------------------------ mutators */

/* Replaces the whole config (validated first; every invalid field is
 * named in err). */
vgmo_err daemon_set_config(vgmo_daemon *d, const vgmo_config *cfg,
                           const char *who, char *err, size_t errlen);
/* Manual batch size of worker `id` (VGMO_DEFAULT_WORKER for the seed's
 * single batch size); 0 clears the override; outside [min, max] refused. */
vgmo_err daemon_set_batch_size(vgmo_daemon *d, int id, int size,
                               const char *who, char *err, size_t errlen);
/* The config in force with the keys of JSON object `body` applied
 * (vgmo_config_load_string's rules, `source` naming it in messages), then
 * as daemon_set_config; read and written under one lock. The result goes
 * to *out. */
vgmo_err daemon_patch_config(vgmo_daemon *d, const char *body, size_t len,
                             const char *source, const char *who,
                             vgmo_config *out, char *err, size_t errlen);
vgmo_err daemon_set_enabled(vgmo_daemon *d, bool enabled, const char *who,
                            char *err, size_t errlen);
vgmo_err daemon_set_monitoring(vgmo_daemon *d, bool on, const char *who,
                               char *err, size_t errlen);
/* Runs an optimization pass now (forced) and records it: on the loop
 * thread, the engine's one writer, while the caller waits for it. */
vgmo_err daemon_optimize(vgmo_daemon *d, const char *who, vgmo_result *out);

/* Bearer token check (constant time). True when no token is configured. */
bool daemon_token_ok(vgmo_daemon *d, const char *authorization_header);

/* The operator's token was configured and `authorization_header` holds
 * it: the caller may act for any client. */
bool daemon_operator_ok(vgmo_daemon *d, const char *authorization_header);
/* Client `worker`'s secret (CLIENT_SECRET_LEN + 1 bytes into `out`), and
 * whether `given` (NULL: none) is it. */
void daemon_client_secret(vgmo_daemon *d, int worker, char *out);
bool daemon_client_secret_ok(vgmo_daemon *d, int worker, const char *given);
/* A new client was registered: applies the batch size an operator saved
 * for its name, if any. */
void daemon_client_added(vgmo_daemon *d, int id, const char *name,
                         unsigned gpu);
/* The largest weight a client may register with. */
double daemon_max_client_weight(vgmo_daemon *d);

/* The engine, for read-only helpers (batch size lookups). */
vgmo_engine *daemon_engine(vgmo_daemon *d);

/* Client ids are 64-bit: the start's epoch times 2^31 plus the worker
 * id, which the engine never reuses; so no id names two clients, in one
 * run or across restarts, and a report meant for a client of an earlier
 * run is refused, not misattributed. */
int64_t daemon_client_id(vgmo_daemon *d, int worker);
/* The worker of a client id, or -1. */
int daemon_client_worker(vgmo_daemon *d, int64_t id);

/* Lease length of registered clients, seconds. */
double daemon_lease(vgmo_daemon *d);
/* Logs one line (logfmt; `fmt` adds key=value pairs, may be NULL). */
void daemon_log_info(vgmo_daemon *d, const char *msg, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#endif
