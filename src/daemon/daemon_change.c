/*
 * daemon_change.c - the operators' changes: each one serialised by the
 * `admin` mutex, persisted before it is applied (a change that cannot be
 * saved is refused and nothing changes), applied to the engine, and
 * audited; and SIGHUP's reload of the configuration.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon_internal.h"
#include "util.h"

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
