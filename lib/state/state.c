/*
 * state.c - the daemon's lasting state: load, save (atomically), and the
 * configuration diff that makes operator overrides survive restarts.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "state.h"
#include "util.h"

#define STATE_MAX ((size_t)4 * VGMO_MIB)
#define STATE_VERSION 1

vgmo_err vgmo__state_init(vgmo__state *st)
{
	memset(st, 0, sizeof(*st));
	st->monitoring = true;
	st->config_overrides = json_object();
	return st->config_overrides ? VGMO_OK : VGMO_ERR_NOMEM;
}

void vgmo__state_free(vgmo__state *st)
{
	json_decref(st->config_overrides);
	free(st->batch);
	memset(st, 0, sizeof(*st));
}

vgmo_err vgmo__state_copy(vgmo__state *dst, const vgmo__state *src)
{
	vgmo__state tmp = {0};

	tmp.monitoring = src->monitoring;
	tmp.epoch = src->epoch;
	tmp.config_overrides = json_deep_copy(src->config_overrides);
	if (src->nbatch) {
		tmp.batch = malloc(src->nbatch * sizeof(*tmp.batch));
		if (tmp.batch)
			memcpy(tmp.batch, src->batch,
			       src->nbatch * sizeof(*tmp.batch));
	}
	if (tmp.config_overrides == NULL || (src->nbatch && !tmp.batch)) {
		vgmo__state_free(&tmp);
		return VGMO_ERR_NOMEM;
	}
	tmp.nbatch = src->nbatch;
	vgmo__state_free(dst);
	*dst = tmp;
	return VGMO_OK;
}

vgmo_err vgmo__state_set_batch(vgmo__state *st, const char *worker,
                               unsigned gpu, int size)
{
	vgmo__batch_override *grown;

	for (size_t i = 0; i < st->nbatch; i++) {
		if (st->batch[i].gpu != gpu ||
		    strcmp(st->batch[i].worker, worker) != 0)
			continue;
		if (size) {
			st->batch[i].batch_size = size;
		} else {
			st->batch[i] = st->batch[st->nbatch - 1];
			st->nbatch--;
		}
		return VGMO_OK;
	}
	if (size == 0)
		return VGMO_OK;
	grown = realloc(st->batch, (st->nbatch + 1) * sizeof(*grown));
	if (grown == NULL)
		return VGMO_ERR_NOMEM;
	st->batch = grown;
	vgmo__strlcpy(grown[st->nbatch].worker, worker,
	              sizeof(grown[st->nbatch].worker));
	grown[st->nbatch].gpu = gpu;
	grown[st->nbatch].batch_size = size;
	st->nbatch++;
	return VGMO_OK;
}

json_t *vgmo__config_diff(const vgmo_config *base, const vgmo_config *eff)
{
	char *bt = vgmo_config_to_json(base), *et = vgmo_config_to_json(eff);
	json_t *b = bt ? json_loads(bt, 0, NULL) : NULL;
	json_t *e = et ? json_loads(et, 0, NULL) : NULL;
	json_t *diff = json_object(), *v;
	const char *key;

	free(bt);
	free(et);
	if (b == NULL || e == NULL || diff == NULL)
		goto fail;
	json_object_foreach(e, key, v)
	{
		if (!json_equal(v, json_object_get(b, key)) &&
		    json_object_set(diff, key, v) != 0)
			goto fail;
	}
	json_decref(b);
	json_decref(e);
	return diff;
fail:
	json_decref(b);
	json_decref(e);
	json_decref(diff);
	return NULL;
}

static vgmo_err apply_text(vgmo_config *c, const json_t *obj, char *err,
                           size_t errlen)
{
	char *text = json_dumps(obj, JSON_COMPACT);
	vgmo_err rc;

	if (text == NULL)
		return VGMO_ERR_NOMEM;
	rc = vgmo_config_load_string(c, text, strlen(text),
	                             "saved configuration overrides", err,
	                             errlen);
	free(text);
	return rc;
}

vgmo_err vgmo__config_apply_overrides(const vgmo_config *base,
                                      json_t *overrides, vgmo_config *out,
                                      char *err, size_t errlen)
{
	vgmo_config c = *base;
	json_t *left = NULL, *one = NULL, *v;
	const char *key;
	void *tmp;
	char why[512];
	size_t len = 0;
	bool progress = true;
	vgmo_err rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	rc = apply_text(&c, overrides, why, sizeof(why));
	if (rc != VGMO_ERR_PARSE && rc != VGMO_ERR_CONFIG)
		goto done;
	/* Key by key, again while any key goes in: one may need another
	 * (warning below critical) to be valid. */
	left = json_deep_copy(overrides);
	if (left == NULL)
		return VGMO_ERR_NOMEM;
	while (progress) {
		progress = false;
		json_object_foreach_safe(left, tmp, key, v)
		{
			vgmo_config t = c;

			one = json_object();
			if (one == NULL || json_object_set(one, key, v) != 0) {
				rc = VGMO_ERR_NOMEM;
				goto done;
			}
			if (apply_text(&t, one, why, sizeof(why)) == VGMO_OK) {
				c = t;
				json_object_del(left, key);
				progress = true;
			}
			json_decref(one);
			one = NULL;
		}
	}
	/* What is left is dropped, each with its reason. */
	json_object_foreach(left, key, v)
	{
		vgmo_config t = c;

		one = json_pack("{s:O}", key, v);
		if (one == NULL) {
			rc = VGMO_ERR_NOMEM;
			goto done;
		}
		apply_text(&t, one, why, sizeof(why));
		json_decref(one);
		one = NULL;
		json_object_del(overrides, key);
		if (err != NULL && len + 1 < errlen) {
			int n = snprintf(err + len, errlen - len, "%s%s",
			                 len ? "; " : "", why);

			if (n > 0)
				len += (size_t)n < errlen - len
				               ? (size_t)n
				               : errlen - len - 1;
		}
	}
	rc = VGMO_OK;
done:
	json_decref(one);
	json_decref(left);
	if (rc == VGMO_OK)
		*out = c;
	else if (rc != VGMO_ERR_NOMEM)
		vgmo__errf(err, errlen, rc, "%s", why);
	return rc;
}

typedef struct ordered {
	vgmo__batch_override b;
	size_t at; /* its place in the file */
} ordered;

static int by_worker(const void *x, const void *y)
{
	const ordered *a = x, *b = y;
	int c = a->b.gpu != b->b.gpu ? (a->b.gpu < b->b.gpu ? -1 : 1)
	                             : strcmp(a->b.worker, b->b.worker);

	return c ? c : (a->at > b->at) - (a->at < b->at);
}

/* One entry per worker and GPU, the last one in the file winning, in
 * O(n log n). Left as it is when out of memory (duplicates are harmless:
 * the last one found applies). */
static void dedupe(vgmo__state *st)
{
	ordered *o;
	size_t n = 0;

	if (st->nbatch < 2)
		return;
	o = malloc(st->nbatch * sizeof(*o));
	if (o == NULL)
		return;
	for (size_t i = 0; i < st->nbatch; i++)
		o[i] = (ordered){st->batch[i], i};
	qsort(o, st->nbatch, sizeof(*o), by_worker);
	for (size_t i = 0; i < st->nbatch; i++) {
		bool last = i + 1 == st->nbatch ||
		            o[i + 1].b.gpu != o[i].b.gpu ||
		            strcmp(o[i + 1].b.worker, o[i].b.worker) != 0;

		if (last)
			st->batch[n++] = o[i].b;
	}
	st->nbatch = n;
	free(o);
}

static vgmo_err parse_state(json_t *root, vgmo__state *st, char *err,
                            size_t errlen)
{
	json_t *cfg, *mon, *batch, *item, *ep;
	size_t i;

	if (!json_is_object(root))
		return vgmo__errf(err, errlen, VGMO_ERR_PARSE,
		                  "the top level is not an object");
	cfg = json_object_get(root, "config_overrides");
	mon = json_object_get(root, "monitoring");
	batch = json_object_get(root, "batch_size_overrides");
	if (!json_is_object(cfg))
		return vgmo__errf(err, errlen, VGMO_ERR_PARSE,
		                  "key \"config_overrides\": expected an "
		                  "object");
	if (!json_is_boolean(mon))
		return vgmo__errf(err, errlen, VGMO_ERR_PARSE,
		                  "key \"monitoring\": expected true or false");
	if (!json_is_array(batch))
		return vgmo__errf(err, errlen, VGMO_ERR_PARSE,
		                  "key \"batch_size_overrides\": expected an "
		                  "array");
	json_decref(st->config_overrides);
	st->config_overrides = json_incref(cfg);
	st->monitoring = json_is_true(mon);
	ep = json_object_get(root, "epoch");
	if (ep != NULL && (!json_is_integer(ep) || json_integer_value(ep) < 0 ||
	                   json_integer_value(ep) > UINT32_MAX))
		return vgmo__errf(err, errlen, VGMO_ERR_PARSE,
		                  "key \"epoch\": expected a whole number");
	st->epoch = ep ? (uint32_t)json_integer_value(ep) : 0;
	/* Room for all at once: vgmo__state_set_batch looks for the name
	 * first, which would make a large file quadratic to load. */
	free(st->batch);
	st->batch = NULL;
	st->nbatch = 0;
	if (json_array_size(batch) > 0) {
		st->batch = calloc(json_array_size(batch), sizeof(*st->batch));
		if (st->batch == NULL)
			return VGMO_ERR_NOMEM;
	}
	json_array_foreach(batch, i, item)
	{
		json_t *w = json_object_get(item, "worker");
		json_t *g = json_object_get(item, "gpu");
		json_t *n = json_object_get(item, "batch_size");

		if (!json_is_string(w) || !json_is_integer(g) ||
		    !json_is_integer(n) || json_integer_value(g) < 0 ||
		    json_integer_value(n) < 1 ||
		    json_integer_value(n) > VGMO_BATCH_MAX ||
		    json_string_length(w) >= sizeof(st->batch[0].worker))
			return vgmo__errf(
			        err, errlen, VGMO_ERR_PARSE,
			        "batch_size_overrides[%zu]: expected "
			        "{\"worker\", \"gpu\", \"batch_size\"}",
			        i);
		vgmo__strlcpy(st->batch[st->nbatch].worker,
		              json_string_value(w),
		              sizeof(st->batch[st->nbatch].worker));
		st->batch[st->nbatch].gpu = (unsigned)json_integer_value(g);
		st->batch[st->nbatch].batch_size = (int)json_integer_value(n);
		st->nbatch++;
	}
	dedupe(st);
	return VGMO_OK;
}

vgmo_err vgmo__state_load(const char *dir, vgmo__state *st, char *err,
                          size_t errlen)
{
	char path[4096], copy[4200], why[256] = "";
	char *text = NULL;
	size_t len = 0;
	json_error_t je;
	json_t *root = NULL;
	vgmo_err rc;

	rc = vgmo__state_init(st);
	if (rc != VGMO_OK)
		return rc;
	if (snprintf(path, sizeof(path), "%s/%s", dir, VGMO__STATE_FILE) >=
	    (int)sizeof(path))
		return vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                  "%s: path too long", dir);
	if (access(path, F_OK) != 0 && errno == ENOENT)
		return VGMO_OK; /* first start */
	rc = vgmo__read_file_ex(path, STATE_MAX,
	                        VGMO__READ_REGULAR | VGMO__READ_NOFOLLOW, &text,
	                        &len, why, sizeof(why));
	if (rc != VGMO_OK)
		return vgmo__errf(err, errlen, rc, "%s", why);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL)
		snprintf(why, sizeof(why), "line %d, column %d: %s", je.line,
		         je.column, je.text);
	else
		rc = parse_state(root, st, why, sizeof(why));
	json_decref(root);
	free(text);
	if (root != NULL && rc == VGMO_OK)
		return VGMO_OK;
	/* Keep the bad file for a person to look at; start from defaults. */
	vgmo__state_free(st);
	vgmo__state_init(st);
	if (snprintf(copy, sizeof(copy), "%s.corrupt-%lld", path,
	             (long long)time(NULL)) >= (int)sizeof(copy) ||
	    rename(path, copy) != 0)
		snprintf(copy, sizeof(copy), "(could not keep a copy: %s)",
		         strerror(errno));
	return vgmo__errf(err, errlen, VGMO_ERR_PARSE,
	                  "%s is corrupted (%s); kept it as %s and started "
	                  "from defaults",
	                  path, why, copy);
}

vgmo_err vgmo__state_clean_temps(const char *dir, size_t *removed, char *err,
                                 size_t errlen)
{
	/* vgmo__write_file_atomic's temp files: "<target>.tmp.XXXXXX". */
	static const char prefix[] = VGMO__STATE_FILE ".tmp.";
	const size_t plen = sizeof(prefix) - 1;
	char path[4096];
	struct dirent *de;
	vgmo_err rc = VGMO_OK;
	size_t n = 0;
	DIR *d;

	if (removed != NULL)
		*removed = 0;
	d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT
		               ? VGMO_OK
		               : vgmo__errf(err, errlen, VGMO_ERR_IO, "%s: %s",
		                            dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, plen) != 0 ||
		    strlen(de->d_name) != plen + 6 ||
		    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		            (int)sizeof(path))
			continue;
		if (unlink(path) == 0)
			n++;
		else if (errno != ENOENT)
			rc = vgmo__errf(err, errlen, VGMO_ERR_IO,
			                "cannot remove %s: %s", path,
			                strerror(errno));
	}
	closedir(d);
	if (removed != NULL)
		*removed = n;
	return rc;
}

vgmo_err vgmo__state_save(const char *dir, const vgmo__state *st, char *err,
                          size_t errlen)
{
	char path[4096];
	json_t *root = json_object(), *batch = json_array();
	char *text = NULL;
	vgmo_err rc = VGMO_ERR_NOMEM;

	if (root == NULL || batch == NULL)
		goto out;
	for (size_t i = 0; i < st->nbatch; i++) {
		json_t *o = json_pack("{s:s, s:I, s:i}", "worker",
		                      st->batch[i].worker, "gpu",
		                      (json_int_t)st->batch[i].gpu,
		                      "batch_size", st->batch[i].batch_size);

		if (o == NULL || json_array_append_new(batch, o) != 0)
			goto out;
	}
	if (json_object_set_new(root, "version", json_integer(STATE_VERSION)) ||
	    json_object_set(root, "config_overrides", st->config_overrides) ||
	    json_object_set_new(root, "monitoring",
	                        json_boolean(st->monitoring)) ||
	    json_object_set_new(root, "epoch", json_integer(st->epoch)) ||
	    json_object_set(root, "batch_size_overrides", batch))
		goto out;
	text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (text == NULL)
		goto out;
	if (snprintf(path, sizeof(path), "%s/%s", dir, VGMO__STATE_FILE) >=
	    (int)sizeof(path)) {
		rc = vgmo__errf(err, errlen, VGMO_ERR_INVALID,
		                "%s: path too long", dir);
		goto out;
	}
	rc = vgmo__write_file_atomic(path, text, strlen(text), err, errlen);
out:
	if (rc == VGMO_ERR_NOMEM)
		vgmo__errf(err, errlen, rc, "cannot encode the state");
	free(text);
	json_decref(batch);
	json_decref(root);
	return rc;
}
