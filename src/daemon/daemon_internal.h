/*
 * daemon_internal.h - the daemon's context (daemon*.c, cmd_serve.c only).
 */
#ifndef VGMO_SRC_DAEMON_INTERNAL_H
#define VGMO_SRC_DAEMON_INTERNAL_H

#include "cli.h"
#include "client_secret.h"
#include "daemon.h"
#include "log.h"
#include "state.h"

#define DAEMON_MAX_CLIENTS 1024        /* serve --max-clients */
#define DAEMON_MAX_CLIENT_WEIGHT 100.0 /* serve --max-client-weight */

struct vgmo_daemon {
	vgmo_engine *engine;
	const cli_engine_opts *opts; /* to rebuild the config on SIGHUP */
	vgmo_config base;            /* defaults < file < environment < flags */
	char state_dir[1024];
	int lock_fd; /* the state directory, flock'ed; -1 none */
	char *token; /* NULL: no token configured */
	client_secret_key secret_key; /* per-client secrets, this run's */
	double max_client_weight;     /* serve --max-client-weight */
	vgmo_log *log;
	double started_at;

	pthread_mutex_t admin; /* serialises changes and `state` */
	vgmo__state state;

	pthread_t loop;
	bool loop_started;
	pthread_mutex_t wake_lock;
	pthread_cond_t wake;
	bool stop;
	/* Operators' optimizations, run by the loop (the engine's writer):
	 * asked and done count requests; guarded by wake_lock. */
	pthread_cond_t opt_cond;
	uint64_t opt_asked, opt_done;
	vgmo_result opt_result;
	vgmo_err opt_rc;
	_Atomic uint64_t heartbeat_ms; /* monotonic ms of the last loop pass */
	uint64_t history_seq;          /* results already written */
	bool history_failing;          /* logged once until it recovers */
	int64_t id_base; /* client id = epoch * 2^31 + worker id */
	/* Longest a loop pass may wait on the backend: every device's call
	 * timing out in turn (a driver-wide hang). Liveness allows for it. */
	double backend_wait;
};

/* Sets up everything but the loop and HTTP; `opts` must outlive *d. */
vgmo_err daemon_init(vgmo_daemon *d, const cli_engine_opts *opts,
                     const char *state_dir, const char *token_file,
                     vgmo_log *log, char *err, size_t errlen);
vgmo_err daemon_start_loop(vgmo_daemon *d);
/* Stops the loop, writes what is pending, frees everything. */
void daemon_shutdown(vgmo_daemon *d);
/* SIGHUP: rebuild the config from file, environment and flags; keep the
 * old one if the new one is invalid. */
void daemon_reload(vgmo_daemon *d);

#endif
