/*
 * daemon_setup.c - the daemon set up and torn down: the state directory
 * (created, locked, read), the token file, the engine, the saved batch sizes
 * and history restored; the loop stopped and everything freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon_internal.h"
#include "result_json.h"
#include "util.h"

/* A line of history.jsonl back into the engine's history. */
static void restore_one(const json_t *line, void *ctx)
{
	vgmo_daemon *d = ctx;
	vgmo_result r;

	if (vgmo__result_from_json(line, &r, NULL, 0) == VGMO_OK)
		vgmo_engine_history_restore(d->engine, &r);
}

static vgmo_err read_token(const char *path, char **out, char *err,
                           size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	vgmo_err rc = vgmo__read_file_ex(path, 4096, VGMO__READ_REGULAR, &text,
	                                 &len, err, errlen);

	if (rc != VGMO_OK)
		return rc;
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' ||
	                   text[len - 1] == ' '))
		text[--len] = '\0';
	if (len == 0 || strlen(text) != len) {
		free(text);
		return vgmo__errf(err, errlen, VGMO_ERR_CONFIG,
		                  "%s: the token file is empty or holds a NUL "
		                  "byte",
		                  path);
	}
	*out = text;
	return VGMO_OK;
}

/* The saved batch size of a worker; 0 when none. Admin lock held. */
static int saved_batch(const vgmo_daemon *d, const char *name, unsigned gpu)
{
	for (size_t i = 0; i < d->state.nbatch; i++)
		if (d->state.batch[i].gpu == gpu &&
		    strcmp(d->state.batch[i].worker, name) == 0)
			return d->state.batch[i].batch_size;
	return 0;
}

static void apply_saved_batch(vgmo_daemon *d, int id, const char *name,
                              int size)
{
	char err[256], q[300], wq[96];

	if (vgmo_engine_set_batch_size(d->engine, id, size, err, sizeof(err)) !=
	    VGMO_OK)
		vgmo_log_write(d->log, VGMO_LOG_WARN,
		               "saved batch size not restored",
		               "worker=%s error=%s",
		               vgmo_log_quote(name, wq, sizeof(wq)),
		               vgmo_log_quote(err, q, sizeof(q)));
}

/* Saved batch sizes of the workers that exist at start (the built-in
 * ones); a client's is applied when it registers (daemon_client_added).
 * Linear in the saved state, whatever its size. */
static void restore_batch_sizes(vgmo_daemon *d)
{
	vgmo_snapshot *s;

	if (d->state.nbatch == 0 ||
	    vgmo_engine_snapshot_ex(d->engine, 0, &s) != VGMO_OK)
		return;
	for (size_t i = 0; i < vgmo_snapshot_worker_count(s); i++) {
		const vgmo_worker_view *w = vgmo_snapshot_worker(s, i);
		int size = saved_batch(d, w->name, w->gpu);

		if (size)
			apply_saved_batch(d, w->id, w->name, size);
	}
	vgmo_snapshot_free(s);
}

void daemon_client_added(vgmo_daemon *d, int id, const char *name, unsigned gpu)
{
	int size;

	pthread_mutex_lock(&d->admin);
	size = saved_batch(d, name, gpu);
	if (size)
		apply_saved_batch(d, id, name, size);
	pthread_mutex_unlock(&d->admin);
}

vgmo_err daemon_init(vgmo_daemon *d, const cli_engine_opts *opts,
                     const char *state_dir, const char *token_file,
                     vgmo_log *log, char *err, size_t errlen)
{
	vgmo_engine_options eo;
	vgmo_config eff;
	char why[512], q[600];
	size_t skipped = 0, stale = 0;
	vgmo_snapshot *snap;
	vgmo_err rc;

	memset(d, 0, sizeof(*d));
	d->opts = opts;
	d->log = log;
	d->started_at = vgmo__wall_now();
	pthread_mutex_init(&d->admin, NULL);
	pthread_mutex_init(&d->wake_lock, NULL);
	pthread_cond_init(&d->wake, NULL);
	pthread_cond_init(&d->opt_cond, NULL);
	d->lock_fd = -1;
	vgmo__strlcpy(d->state_dir, state_dir, sizeof(d->state_dir));
	if (mkdir(state_dir, 0750) != 0 && errno != EEXIST)
		return vgmo__errf(err, errlen, VGMO_ERR_IO,
		                  "state directory %s: %s (give --state-dir a "
		                  "folder vgmo may create and write)",
		                  state_dir, strerror(errno));
	/* One daemon per state directory, locked before anything in it is
	 * written (the lock goes with the process, however it ends). */
	d->lock_fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->lock_fd < 0)
		return vgmo__errf(err, errlen, VGMO_ERR_IO,
		                  "state directory %s: %s", state_dir,
		                  strerror(errno));
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0)
		return vgmo__errf(err, errlen, VGMO_ERR_STATE,
		                  "state directory %s: %s", state_dir,
		                  errno == EWOULDBLOCK
		                          ? "in use by another vgmo serve"
		                          : strerror(errno));
	if (token_file) {
		struct stat sb;

		rc = read_token(token_file, &d->token, err, errlen);
		if (rc != VGMO_OK)
			return rc;
		if (stat(token_file, &sb) == 0 && (sb.st_mode & 0077))
			vgmo_log_write(log, VGMO_LOG_WARN,
			               "the token file is readable by others: "
			               "chmod 600 it",
			               "file=%s mode=%04o",
			               vgmo_log_quote(token_file, q, sizeof(q)),
			               (unsigned)(sb.st_mode & 07777));
	}
	if (client_secret_key_init(&d->secret_key) != VGMO_OK)
		return vgmo__errf(err, errlen, VGMO_ERR_IO,
		                  "cannot draw the client secret key: %s",
		                  strerror(errno));
	d->max_client_weight = DAEMON_MAX_CLIENT_WEIGHT;
	/* cli_* print their one line: err stays empty. */
	if (cli_build_config(opts, &d->base) != CLI_EXIT_OK)
		return vgmo__errf(err, errlen, VGMO_ERR_CONFIG, "%s", "");
	/* Temp files of a save the last run died in: never the state. */
	if (vgmo__state_clean_temps(state_dir, &stale, why, sizeof(why)) !=
	    VGMO_OK)
		vgmo_log_write(log, VGMO_LOG_WARN, "stale temp file kept",
		               "error=%s", vgmo_log_quote(why, q, sizeof(q)));
	if (stale > 0)
		vgmo_log_write(log, VGMO_LOG_INFO,
		               "removed temp files of an interrupted save",
		               "count=%zu", stale);
	rc = vgmo__state_load(state_dir, &d->state, why, sizeof(why));
	if (rc == VGMO_ERR_PARSE)
		vgmo_log_write(log, VGMO_LOG_ERROR,
		               "STATE FILE CORRUPTED: starting from defaults",
		               "error=%s", vgmo_log_quote(why, q, sizeof(q)));
	else if (rc != VGMO_OK)
		return vgmo__errf(err, errlen, rc, "%s", why);
	/* A saved override that is out of range now (or was saved by a
	 * version without ranges) is dropped with its reason; the next save
	 * forgets it. */
	eff = d->base;
	rc = vgmo__config_apply_overrides(&d->base, d->state.config_overrides,
	                                  &eff, why, sizeof(why));
	if (rc != VGMO_OK)
		return vgmo__errf(err, errlen, rc,
		                  "cannot apply the saved "
		                  "configuration overrides");
	if (why[0] != '\0')
		vgmo_log_write(log, VGMO_LOG_WARN,
		               "saved configuration override dropped",
		               "error=%s", vgmo_log_quote(why, q, sizeof(q)));
	/* A new epoch per start keeps client ids of an earlier run from
	 * landing on a different client of this one. */
	d->state.epoch++;
	if (vgmo__state_save(state_dir, &d->state, why, sizeof(why)) != VGMO_OK)
		vgmo_log_write(log, VGMO_LOG_ERROR,
		               "cannot write the state directory", "error=%s",
		               vgmo_log_quote(why, q, sizeof(q)));
	/* Worker ids are never reused in a run and stay under 2^31. */
	d->id_base = (int64_t)d->state.epoch << 31;
	if (cli_engine_create(opts, &eff, &eo, &d->engine) != CLI_EXIT_OK)
		return vgmo__errf(err, errlen, VGMO_ERR_BACKEND, "%s", "");
	/* Each device's call times out after eo.call_timeout, or the
	 * monitoring interval the engine was created with (engine.c). */
	if (vgmo_engine_snapshot(d->engine, &snap) == VGMO_OK) {
		d->backend_wait =
		        (double)vgmo_snapshot_gpu_count(snap) *
		        (eo.call_timeout > 0 ? eo.call_timeout
		                             : eff.monitoring_interval);
		vgmo_snapshot_free(snap);
	}
	vgmo_engine_set_monitoring(d->engine, d->state.monitoring);
	restore_batch_sizes(d);
	rc = vgmo__journal_read(state_dir, VGMO__HISTORY_FILE, restore_one, d,
	                        &skipped, why, sizeof(why));
	if (rc != VGMO_OK || skipped)
		vgmo_log_write(log, VGMO_LOG_WARN, "history partly unreadable",
		               "skipped_lines=%zu error=%s", skipped,
		               vgmo_log_quote(rc ? why : "", q, sizeof(q)));
	/* What was restored is on disk already. */
	vgmo_engine_history_since(d->engine, UINT64_MAX, NULL, 0,
	                          &d->history_seq);
	return VGMO_OK;
}

void daemon_shutdown(vgmo_daemon *d)
{
	if (d->loop_started) {
		pthread_mutex_lock(&d->wake_lock);
		d->stop = true;
		pthread_cond_broadcast(&d->wake);
		pthread_mutex_unlock(&d->wake_lock);
		pthread_join(d->loop, NULL);
		d->loop_started = false;
	}
	vgmo_engine_destroy(d->engine);
	d->engine = NULL;
	vgmo__state_free(&d->state);
	free(d->token);
	d->token = NULL;
	memset(&d->secret_key, 0, sizeof(d->secret_key));
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	d->lock_fd = -1;
	pthread_cond_destroy(&d->wake);
	pthread_cond_destroy(&d->opt_cond);
	pthread_mutex_destroy(&d->wake_lock);
	pthread_mutex_destroy(&d->admin);
}
