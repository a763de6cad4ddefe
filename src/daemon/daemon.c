/*
 * daemon.c - the node daemon's context: its loop thread, the operator's
 * changes (persisted before they are applied, then audited), readiness
 * and liveness.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon_internal.h"
#include "result_json.h"
#include "util.h"

#define HISTORY_ROTATE (1024 * 1024) /* bytes per history file */
#define LOOP_STEP 0.2                /* seconds between loop passes */
#define HISTORY_BATCH 64

static uint64_t mono_ms(void)
{
	return (uint64_t)(vgmo__mono_now() * 1000.0);
}

vgmo_engine *daemon_engine(vgmo_daemon *d)
{
	return d->engine;
}

int64_t daemon_client_id(vgmo_daemon *d, int worker)
{
	return d->id_base + worker;
}

int daemon_client_worker(vgmo_daemon *d, int64_t id)
{
	return id > d->id_base && id - d->id_base <= INT32_MAX
	               ? (int)(id - d->id_base)
	               : -1;
}

double daemon_lease(vgmo_daemon *d)
{
	return d->opts->lease_seconds > 0 ? d->opts->lease_seconds
	                                  : VGMO_DEFAULT_LEASE_SECONDS;
}

void daemon_log_info(vgmo_daemon *d, const char *msg, const char *fmt, ...)
{
	char pairs[1024] = "";
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(pairs, sizeof(pairs), fmt, ap);
		va_end(ap);
	}
	vgmo_log_write(d->log, VGMO_LOG_INFO, msg, "%s", pairs);
}

/* ------------------------------------------------------------- history */

/* Writes results recorded since the last call to history.jsonl, a batch
 * at a time (one write, one fsync each); the loop is alive after each. */
static void flush_history(vgmo_daemon *d)
{
	vgmo_result buf[HISTORY_BATCH];
	json_t *lines[HISTORY_BATCH];
	uint64_t next;
	size_t n, k;
	char err[256];
	vgmo_err rc;

	while ((n = vgmo_engine_history_since(d->engine, d->history_seq, buf,
	                                      HISTORY_BATCH, &next)) > 0) {
		rc = VGMO_OK;
		for (k = 0; k < n; k++) {
			lines[k] = vgmo__result_to_json(&buf[k]);
			if (lines[k] == NULL) {
				rc = VGMO_ERR_NOMEM;
				snprintf(err, sizeof(err), "out of memory");
				break;
			}
		}
		if (rc == VGMO_OK)
			rc = vgmo__journal_append_lines(
			        d->state_dir, VGMO__HISTORY_FILE, lines, n,
			        HISTORY_ROTATE, err, sizeof(err));
		for (size_t i = 0; i < k; i++)
			json_decref(lines[i]);
		atomic_store(&d->heartbeat_ms, mono_ms());
		if (rc != VGMO_OK) {
			/* Keep serving; say it once until it mends. */
			if (!d->history_failing) {
				char q[300];

				vgmo_log_write(
				        d->log, VGMO_LOG_ERROR,
				        "cannot write history", "error=%s",
				        vgmo_log_quote(err, q, sizeof(q)));
			}
			d->history_failing = true;
			return;
		}
		if (d->history_failing)
			vgmo_log_write(d->log, VGMO_LOG_INFO,
			               "history writable again", NULL);
		d->history_failing = false;
		d->history_seq = next;
	}
}

static void restore_one(const json_t *line, void *ctx)
{
	vgmo_daemon *d = ctx;
	vgmo_result r;

	if (vgmo__result_from_json(line, &r, NULL, 0) == VGMO_OK)
		vgmo_engine_history_restore(d->engine, &r);
}

/* Loop thread: runs the optimizations operators asked for since the last
 * pass, once for all of them. */
static void serve_optimize(vgmo_daemon *d)
{
	vgmo_result r;
	uint64_t upto;
	vgmo_err rc;

	pthread_mutex_lock(&d->wake_lock);
	upto = d->opt_asked;
	pthread_mutex_unlock(&d->wake_lock);
	if (upto == d->opt_done)
		return;
	memset(&r, 0, sizeof(r));
	rc = vgmo_engine_optimize(d->engine, true, &r);
	pthread_mutex_lock(&d->wake_lock);
	d->opt_result = r;
	d->opt_rc = rc;
	d->opt_done = upto;
	pthread_cond_broadcast(&d->opt_cond);
	pthread_mutex_unlock(&d->wake_lock);
}

/* ---------------------------------------------------------------- loop */

static void *loop_main(void *arg)
{
	vgmo_daemon *d = arg;
	double last = vgmo__mono_now();
	struct timespec until;

	for (;;) {
		double now = vgmo__mono_now();
		bool stop;

		vgmo_engine_step(d->engine, now - last);
		last = now;
		serve_optimize(d);
		flush_history(d);
		atomic_store(&d->heartbeat_ms, mono_ms());

		pthread_mutex_lock(&d->wake_lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (long)(LOOP_STEP * 1e9);
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (!d->stop && d->opt_asked == d->opt_done)
			pthread_cond_timedwait(&d->wake, &d->wake_lock, &until);
		stop = d->stop;
		pthread_mutex_unlock(&d->wake_lock);
		if (stop)
			break;
	}
	flush_history(d);
	/* Whoever still waits for an optimization hears that it stopped. */
	pthread_mutex_lock(&d->wake_lock);
	pthread_cond_broadcast(&d->opt_cond);
	pthread_mutex_unlock(&d->wake_lock);
	return NULL;
}

vgmo_err daemon_start_loop(vgmo_daemon *d)
{
	atomic_store(&d->heartbeat_ms, mono_ms());
	if (pthread_create(&d->loop, NULL, loop_main, d) != 0)
		return VGMO_ERR_NOMEM;
	d->loop_started = true;
	return VGMO_OK;
}

bool daemon_alive(vgmo_daemon *d)
{
	vgmo_config c;
	double age;

	vgmo_engine_get_config(d->engine, &c);
	age = (double)(mono_ms() - atomic_load(&d->heartbeat_ms)) / 1000.0;
	/* A pass that waits out hung NVML calls is slow, not dead. */
	return d->loop_started &&
	       age < fmax(3 * c.monitoring_interval, 2.0) + d->backend_wait;
}

vgmo_err daemon_view_take(vgmo_daemon *d, unsigned flags, daemon_view *out)
{
	const vgmo_config *c;
	const vgmo_gpu_sample *down = NULL;
	double newest = -1;
	vgmo_err rc;

	memset(out, 0, sizeof(*out));
	rc = vgmo_engine_snapshot_ex(d->engine, flags, &out->snap);
	if (rc != VGMO_OK)
		return rc;
	c = vgmo_snapshot_config(out->snap);
	out->monitoring = vgmo_engine_monitoring(d->engine);
	out->started_at = d->started_at;
	for (size_t i = 0; i < vgmo_snapshot_gpu_count(out->snap); i++) {
		const vgmo_gpu_sample *g = vgmo_snapshot_gpu(out->snap, i);

		if (g->up && g->sampled_at > newest)
			newest = g->sampled_at;
		else if (!g->up && g->sampled_at > 0 && down == NULL)
			down = g;
	}
	out->last_sample_age =
	        newest < 0 ? -1 : vgmo_snapshot_time(out->snap) - newest;
	if (!out->monitoring)
		snprintf(out->not_ready_reason, sizeof(out->not_ready_reason),
		         "monitoring is stopped");
	else if (newest < 0 && down != NULL)
		/* Read, but down now: say why rather than "never read". */
		snprintf(out->not_ready_reason, sizeof(out->not_ready_reason),
		         "no GPU is up (GPU %u: %.100s)", down->index,
		         down->down_reason[0] ? down->down_reason : "down");
	else if (newest < 0)
		snprintf(out->not_ready_reason, sizeof(out->not_ready_reason),
		         "no GPU has been read successfully");
	else if (out->last_sample_age > 3 * c->monitoring_interval)
		snprintf(out->not_ready_reason, sizeof(out->not_ready_reason),
		         "last sample is %.1f s old (limit %.1f s)",
		         out->last_sample_age, 3 * c->monitoring_interval);
	out->ready = out->not_ready_reason[0] == '\0';
	return VGMO_OK;
}

void daemon_view_release(daemon_view *v)
{
	vgmo_snapshot_free(v->snap);
	v->snap = NULL;
}

/* ------------------------------------------------------------ changes */

static json_t *config_json(const vgmo_config *c)
{
	char *t = vgmo_config_to_json(c);
	json_t *j = t ? json_loads(t, 0, NULL) : NULL;

	free(t);
	return j;
}

/* One audit line per changed key. */
static void audit_config(vgmo_daemon *d, const char *who,
                         const vgmo_config *old, const vgmo_config *new)
{
	json_t *a = config_json(old), *b = config_json(new), *v;
	const char *key;
	char what[96], err[256];

	if (a && b) {
		json_object_foreach(b, key, v)
		{
			if (json_equal(v, json_object_get(a, key)))
				continue;
			snprintf(what, sizeof(what), "config.%s", key);
			if (vgmo__audit(d->state_dir, vgmo__wall_now(), who,
			                what, json_object_get(a, key), v, err,
			                sizeof(err)) != VGMO_OK)
				vgmo_log_write(d->log, VGMO_LOG_ERROR,
				               "cannot write the audit log",
				               "what=%s", what);
		}
	}
	json_decref(a);
	json_decref(b);
}

/* Saves `next` as the lasting state; on success it becomes d->state.
 * Admin lock held. */
static vgmo_err commit_state(vgmo_daemon *d, vgmo__state *next, char *err,
                             size_t errlen)
{
	char why[300];
	vgmo_err rc = vgmo__state_save(d->state_dir, next, why, sizeof(why));

	if (rc != VGMO_OK) {
		char q[400];

		/* The caller gets a 503; the operator needs to hear it too. */
		vgmo_log_write(d->log, VGMO_LOG_ERROR,
		               "cannot save the state: change refused",
		               "error=%s", vgmo_log_quote(why, q, sizeof(q)));
		vgmo__state_free(next);
		return vgmo__errf(err, errlen, VGMO_ERR_IO,
		                  "the change was not applied: cannot save "
		                  "the state (%s)",
		                  why);
	}
	vgmo__state_free(&d->state);
	d->state = *next;
	return VGMO_OK;
}

/* Admin lock held. */
static vgmo_err set_config_locked(vgmo_daemon *d, const vgmo_config *cfg,
                                  const char *who, char *err, size_t errlen)
{
	vgmo__state next = {0};
	vgmo_config old;
	json_t *diff;
	vgmo_err rc;

	rc = vgmo_config_validate(cfg, err, errlen);
	if (rc != VGMO_OK)
		return rc;
	vgmo_engine_get_config(d->engine, &old);
	if (vgmo__state_copy(&next, &d->state) != VGMO_OK)
		return VGMO_ERR_NOMEM;
	diff = vgmo__config_diff(&d->base, cfg);
	if (diff == NULL) {
		vgmo__state_free(&next);
		return VGMO_ERR_NOMEM;
	}
	json_decref(next.config_overrides);
	next.config_overrides = diff;
	rc = commit_state(d, &next, err, errlen);
	if (rc != VGMO_OK)
		return rc;
	rc = vgmo_engine_set_config(d->engine, cfg, err, errlen);
	if (rc == VGMO_OK)
		audit_config(d, who, &old, cfg);
	return rc;
}

vgmo_err daemon_set_config(vgmo_daemon *d, const vgmo_config *cfg,
                           const char *who, char *err, size_t errlen)
{
	vgmo_err rc;

	pthread_mutex_lock(&d->admin);
	rc = set_config_locked(d, cfg, who, err, errlen);
	pthread_mutex_unlock(&d->admin);
	return rc;
}

vgmo_err daemon_patch_config(vgmo_daemon *d, const char *body, size_t len,
                             const char *source, const char *who,
                             vgmo_config *out, char *err, size_t errlen)
{
	vgmo_config c;
	vgmo_err rc;

	pthread_mutex_lock(&d->admin);
	vgmo_engine_get_config(d->engine, &c);
	rc = vgmo_config_load_string(&c, body, len, source, err, errlen);
	if (rc == VGMO_OK)
		rc = set_config_locked(d, &c, who, err, errlen);
	if (rc == VGMO_OK)
		*out = c;
	pthread_mutex_unlock(&d->admin);
	return rc;
}

vgmo_err daemon_set_enabled(vgmo_daemon *d, bool enabled, const char *who,
                            char *err, size_t errlen)
{
	vgmo_config c;
	vgmo_err rc;

	pthread_mutex_lock(&d->admin);
	vgmo_engine_get_config(d->engine, &c);
	c.enabled = enabled;
	rc = set_config_locked(d, &c, who, err, errlen);
	pthread_mutex_unlock(&d->admin);
	return rc;
}

/* The worker's name and device, from a snapshot. */
static bool worker_identity(vgmo_daemon *d, int id, char *name, size_t size,
                            unsigned *gpu)
{
	vgmo_snapshot *s;
	bool found = false;

	if (vgmo_engine_snapshot_ex(d->engine, 0, &s) != VGMO_OK)
		return false;
	for (size_t i = 0; i < vgmo_snapshot_worker_count(s); i++) {
		const vgmo_worker_view *w = vgmo_snapshot_worker(s, i);

		if (w->id == id) {
			vgmo__strlcpy(name, w->name, size);
			*gpu = w->gpu;
			found = true;
		}
	}
	vgmo_snapshot_free(s);
	return found;
}

vgmo_err daemon_set_batch_size(vgmo_daemon *d, int id, int size,
                               const char *who, char *err, size_t errlen)
{
	vgmo__state next = {0};
	vgmo_config c;
	char name[64], what[96], aerr[256];
	unsigned gpu;
	int old;
	json_t *a, *b;
	vgmo_err rc;

	pthread_mutex_lock(&d->admin);
	vgmo_engine_get_config(d->engine, &c);
	if (!worker_identity(d, id, name, sizeof(name), &gpu)) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_NOT_FOUND,
		                "no worker with id %d", id);
		goto out;
	}
	if (size != 0 && (size < c.min_batch_size || size > c.max_batch_size)) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                "batch_size: %d is outside [%d, %d] "
		                "(min_batch_size, max_batch_size)",
		                size, c.min_batch_size, c.max_batch_size);
		goto out;
	}
	old = vgmo_engine_batch_size(d->engine, id);
	rc = vgmo__state_copy(&next, &d->state);
	if (rc == VGMO_OK)
		rc = vgmo__state_set_batch(&next, name, gpu, size);
	if (rc != VGMO_OK) {
		vgmo__state_free(&next);
		goto out;
	}
	rc = commit_state(d, &next, err, errlen);
	if (rc != VGMO_OK)
		goto out;
	rc = vgmo_engine_set_batch_size(d->engine, id, size, err, errlen);
	if (rc != VGMO_OK)
		goto out;
	snprintf(what, sizeof(what), "batch_size.%s", name);
	a = json_integer(old);
	b = size ? json_integer(size) : json_null();
	if (vgmo__audit(d->state_dir, vgmo__wall_now(), who, what, a, b, aerr,
	                sizeof(aerr)) != VGMO_OK)
		vgmo_log_write(d->log, VGMO_LOG_ERROR,
		               "cannot write the audit log", "what=%s", what);
	json_decref(a);
	json_decref(b);
out:
	pthread_mutex_unlock(&d->admin);
	return rc;
}

vgmo_err daemon_set_monitoring(vgmo_daemon *d, bool on, const char *who,
                               char *err, size_t errlen)
{
	vgmo__state next = {0};
	bool old;
	char aerr[256];
	vgmo_err rc;

	pthread_mutex_lock(&d->admin);
	old = d->state.monitoring;
	rc = vgmo__state_copy(&next, &d->state);
	if (rc != VGMO_OK)
		goto out;
	next.monitoring = on;
	rc = commit_state(d, &next, err, errlen);
	if (rc != VGMO_OK)
		goto out;
	vgmo_engine_set_monitoring(d->engine, on);
	if (vgmo__audit(d->state_dir, vgmo__wall_now(), who, "monitoring",
	                json_boolean(old), json_boolean(on), aerr,
	                sizeof(aerr)) != VGMO_OK)
		vgmo_log_write(d->log, VGMO_LOG_ERROR,
		               "cannot write the audit log", "what=monitoring");
out:
	pthread_mutex_unlock(&d->admin);
	return rc;
}

vgmo_err daemon_optimize(vgmo_daemon *d, const char *who, vgmo_result *out)
{
	char q[128], aq[64];
	uint64_t ticket;
	vgmo_err rc;

	pthread_mutex_lock(&d->wake_lock);
	ticket = ++d->opt_asked;
	pthread_cond_broadcast(&d->wake);
	while (d->opt_done < ticket && d->loop_started && !d->stop)
		pthread_cond_wait(&d->opt_cond, &d->wake_lock);
	if (d->opt_done >= ticket) {
		*out = d->opt_result;
		rc = d->opt_rc;
	} else {
		rc = VGMO_ERR_STATE; /* stopping */
	}
	pthread_mutex_unlock(&d->wake_lock);
	vgmo_log_write(d->log, VGMO_LOG_INFO, "optimization requested",
	               "who=%s action=%s", vgmo_log_quote(who, q, sizeof(q)),
	               vgmo_log_quote(out->action_taken, aq, sizeof(aq)));
	return rc;
}

bool daemon_token_ok(vgmo_daemon *d, const char *header)
{
	const char *prefix = "Bearer ";
	size_t plen = strlen(prefix), tlen, hlen;
	unsigned char diff = 0;

	if (d->token == NULL)
		return true;
	if (header == NULL || strncmp(header, prefix, plen) != 0)
		return false;
	header += plen;
	tlen = strlen(d->token);
	hlen = strlen(header);
	/* Constant time in the token's length. */
	diff = (unsigned char)(hlen != tlen);
	for (size_t i = 0; i < tlen; i++)
		diff |= (unsigned char)(d->token[i] ^
		                        (i < hlen ? header[i] : 0));
	return diff == 0;
}

bool daemon_operator_ok(vgmo_daemon *d, const char *header)
{
	return d->token != NULL && daemon_token_ok(d, header);
}

void daemon_client_secret(vgmo_daemon *d, int worker, char *out)
{
	client_secret_make(&d->secret_key, daemon_client_id(d, worker), out);
}

bool daemon_client_secret_ok(vgmo_daemon *d, int worker, const char *given)
{
	return worker >= 0 &&
	       client_secret_ok(&d->secret_key, daemon_client_id(d, worker),
	                        given);
}

double daemon_max_client_weight(vgmo_daemon *d)
{
	return d->max_client_weight;
}

/* -------------------------------------------------------- set up, down */

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

void daemon_reload(vgmo_daemon *d)
{
	vgmo_config base, eff, old;
	char why[512], q[600];

	if (cli_build_config(d->opts, &base) != CLI_EXIT_OK) {
		vgmo_log_write(d->log, VGMO_LOG_ERROR,
		               "reload failed: keeping the old configuration",
		               NULL);
		return;
	}
	pthread_mutex_lock(&d->admin);
	eff = base;
	if (vgmo__config_apply_overrides(&base, d->state.config_overrides, &eff,
	                                 why, sizeof(why)) != VGMO_OK) {
		pthread_mutex_unlock(&d->admin);
		vgmo_log_write(d->log, VGMO_LOG_ERROR,
		               "reload failed: keeping the old configuration",
		               "error=out of memory");
		return;
	}
	if (why[0] != '\0')
		vgmo_log_write(d->log, VGMO_LOG_WARN,
		               "saved configuration override dropped",
		               "error=%s", vgmo_log_quote(why, q, sizeof(q)));
	vgmo_engine_get_config(d->engine, &old);
	d->base = base;
	if (vgmo_engine_set_config(d->engine, &eff, why, sizeof(why)) ==
	    VGMO_OK)
		audit_config(d, "signal:SIGHUP", &old, &eff);
	pthread_mutex_unlock(&d->admin);
	vgmo_log_write(d->log, VGMO_LOG_INFO, "configuration reloaded", NULL);
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
