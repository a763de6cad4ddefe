/*
 * result_json.c - vgmo_result <-> JSON.
 */
#include <string.h>

#include "result_json.h"
#include "util.h"

static int set_opt_string(json_t *o, const char *key, const char *s)
{
	return json_object_set_new(o, key, s[0] ? json_string(s) : json_null());
}

json_t *vgmo__result_to_json(const vgmo_result *r)
{
	json_t *o = json_object();
	int bad = 0;

	if (o == NULL)
		return NULL;
	bad |= json_object_set_new(o, "success", json_boolean(r->success));
	bad |= json_object_set_new(o, "action_taken",
	                           json_string(r->action_taken));
	bad |= json_object_set_new(o, "memory_freed_mb",
	                           r->memory_freed_mb >= 0
	                                   ? json_real(r->memory_freed_mb)
	                                   : json_null());
	bad |= json_object_set_new(o, "new_batch_size",
	                           r->new_batch_size
	                                   ? json_integer(r->new_batch_size)
	                                   : json_null());
	bad |= json_object_set_new(o, "old_batch_size",
	                           r->old_batch_size
	                                   ? json_integer(r->old_batch_size)
	                                   : json_null());
	bad |= json_object_set_new(o, "gc_performed",
	                           json_boolean(r->gc_performed));
	bad |= json_object_set_new(o, "fragmentation_reduced",
	                           json_boolean(r->fragmentation_reduced));
	bad |= set_opt_string(o, "error_message", r->error_message);
	bad |= json_object_set_new(o, "timestamp", json_real(r->timestamp));
	bad |= set_opt_string(o, "worker", r->worker);
	bad |= set_opt_string(o, "reason", r->reason);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static vgmo_err get_string(const json_t *j, const char *key, char *dst,
                           size_t size, char *err, size_t errlen)
{
	const json_t *v = json_object_get(j, key);

	if (v == NULL || json_is_null(v)) {
		dst[0] = '\0';
		return VGMO_OK;
	}
	if (!json_is_string(v))
		return vgmo__errf(err, errlen, VGMO_ERR_PARSE,
		                  "key \"%s\": expected a string", key);
	vgmo__strlcpy(dst, json_string_value(v), size);
	return VGMO_OK;
}

static vgmo_err get_number(const json_t *j, const char *key, double *out,
                           double absent, char *err, size_t errlen)
{
	const json_t *v = json_object_get(j, key);

	if (v == NULL || json_is_null(v)) {
		*out = absent;
		return VGMO_OK;
	}
	if (!json_is_number(v))
		return vgmo__errf(err, errlen, VGMO_ERR_PARSE,
		                  "key \"%s\": expected a number", key);
	*out = json_number_value(v);
	return VGMO_OK;
}

static vgmo_err get_bool(const json_t *j, const char *key, bool *out, char *err,
                         size_t errlen)
{
	const json_t *v = json_object_get(j, key);

	if (v == NULL) {
		*out = false;
		return VGMO_OK;
	}
	if (!json_is_boolean(v))
		return vgmo__errf(err, errlen, VGMO_ERR_PARSE,
		                  "key \"%s\": expected true or false", key);
	*out = json_is_true(v);
	return VGMO_OK;
}

vgmo_err vgmo__result_from_json(const json_t *j, vgmo_result *r, char *err,
                                size_t errlen)
{
	double nb = 0, ob = 0;
	vgmo_err rc;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(j))
		return vgmo__errf(err, errlen, VGMO_ERR_PARSE,
		                  "expected an object");
	if ((rc = get_bool(j, "success", &r->success, err, errlen)) ||
	    (rc = get_string(j, "action_taken", r->action_taken,
	                     sizeof(r->action_taken), err, errlen)) ||
	    (rc = get_number(j, "memory_freed_mb", &r->memory_freed_mb, -1, err,
	                     errlen)) ||
	    (rc = get_number(j, "new_batch_size", &nb, 0, err, errlen)) ||
	    (rc = get_number(j, "old_batch_size", &ob, 0, err, errlen)) ||
	    (rc = get_bool(j, "gc_performed", &r->gc_performed, err, errlen)) ||
	    (rc = get_bool(j, "fragmentation_reduced",
	                   &r->fragmentation_reduced, err, errlen)) ||
	    (rc = get_string(j, "error_message", r->error_message,
	                     sizeof(r->error_message), err, errlen)) ||
	    (rc = get_number(j, "timestamp", &r->timestamp, 0, err, errlen)) ||
	    (rc = get_string(j, "worker", r->worker, sizeof(r->worker), err,
	                     errlen)) ||
	    (rc = get_string(j, "reason", r->reason, sizeof(r->reason), err,
	                     errlen)))
		return rc;
	if (r->action_taken[0] == '\0')
		return vgmo__errf(err, errlen, VGMO_ERR_PARSE,
		                  "key \"action_taken\": missing");
	r->new_batch_size = (int)nb;
	r->old_batch_size = (int)ob;
	return VGMO_OK;
}
