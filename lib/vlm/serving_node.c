/*
 * serving_node.c - what `vgmo plan --engine ... --server URL --gpu N`
 * needs from a daemon's GET /v1/status: the GPU's total and free memory
 * (other processes and instances already out of it) and the clients
 * registered on it. Absent or malformed keys are errors that name the key:
 * a settings answer from a guessed free figure would be worse than none.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "util.h"
#include "vgmo/vgmo.h"

static vgmo_err bytes_of(const json_t *gpu, const char *key, int idx,
                         uint64_t *out, char *err, size_t errlen)
{
	const json_t *v = json_object_get(gpu, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return vgmo__errf(err, errlen, VGMO_ERR_PARSE,
		                  "status: gpus[%d].%s: %s", idx, key,
		                  v == NULL || json_is_null(v)
		                          ? "not reported by the daemon"
		                          : "not a byte count");
	*out = (uint64_t)json_integer_value(v);
	return VGMO_OK;
}

static void add_client(vgmo_serving_node *n, const json_t *w)
{
	const json_t *b = json_object_get(w, "budget_bytes");
	const char *name = json_string_value(json_object_get(w, "name"));
	size_t used = strlen(n->client_names);

	n->clients++;
	if (json_is_integer(b) && json_integer_value(b) > 0)
		n->client_budget_bytes += (uint64_t)json_integer_value(b);
	if (name && used + strlen(name) + 3 < sizeof(n->client_names))
		snprintf(n->client_names + used, sizeof(n->client_names) - used,
		         "%s%s", used ? ", " : "", name);
}

vgmo_err vgmo_serving_node_from_status(const char *text, size_t len, int gpu,
                                       vgmo_serving_node *out, char *err,
                                       size_t errlen)
{
	json_error_t je;
	json_t *root = json_loadb(text, len, 0, &je);
	const json_t *gpus, *g = NULL, *workers, *procs, *w;
	vgmo_serving_node n;
	const char *name;
	vgmo_err rc = VGMO_ERR_PARSE;
	size_t i;

	memset(&n, 0, sizeof(n));
	if (root == NULL)
		return vgmo__errf(err, errlen, VGMO_ERR_PARSE,
		                  "status: not JSON (%d:%d: %s)", je.line,
		                  je.column, je.text);
	gpus = json_object_get(root, "gpus");
	if (!json_is_array(gpus)) {
		vgmo__errf(err, errlen, rc, "status: \"gpus\": missing");
		goto out;
	}
	json_array_foreach(gpus, i, w)
	{
		const json_t *ix = json_object_get(w, "index");

		if (json_is_integer(ix) && json_integer_value(ix) == gpu)
			g = w;
	}
	if (g == NULL) {
		rc = VGMO_ERR_NOT_FOUND;
		vgmo__errf(err, errlen, rc,
		           "--gpu %d: the daemon has %zu GPU(s) (0..%zu)", gpu,
		           json_array_size(gpus),
		           json_array_size(gpus) ? json_array_size(gpus) - 1
		                                 : 0);
		goto out;
	}
	if (json_is_false(json_object_get(g, "up"))) {
		rc = VGMO_ERR_DEVICE_LOST;
		const char *why =
		        json_string_value(json_object_get(g, "down_reason"));

		vgmo__errf(err, errlen, rc, "--gpu %d: down (%s)", gpu,
		           why ? why : "no reason given");
		goto out;
	}
	if ((rc = bytes_of(g, "memory_total_bytes", gpu, &n.total_bytes, err,
	                   errlen)) != VGMO_OK ||
	    (rc = bytes_of(g, "memory_free_bytes", gpu, &n.free_bytes, err,
	                   errlen)) != VGMO_OK)
		goto out;
	if (bytes_of(g, "memory_used_bytes", gpu, &n.used_bytes, NULL, 0) !=
	    VGMO_OK)
		n.used_bytes = n.total_bytes - n.free_bytes;
	rc = VGMO_ERR_PARSE;
	if (n.total_bytes == 0 || n.free_bytes > n.total_bytes) {
		vgmo__errf(err, errlen, rc,
		           "status: gpus[%d]: free memory exceeds total", gpu);
		goto out;
	}
	name = json_string_value(json_object_get(g, "name"));
	vgmo__strlcpy(n.gpu_name, name ? name : "GPU", sizeof(n.gpu_name));
	n.processes = -1;
	procs = json_object_get(g, "processes");
	if (json_is_array(procs)) {
		n.processes = (int)json_array_size(procs);
		json_array_foreach(procs, i, w)
		{
			const json_t *b = json_object_get(w, "used_bytes");

			if (json_is_integer(b) && json_integer_value(b) > 0)
				n.process_bytes +=
				        (uint64_t)json_integer_value(b);
		}
	}
	/* Worker 0 is the daemon's built-in one; the others registered. */
	workers = json_object_get(root, "workers");
	json_array_foreach(workers, i, w)
	{
		const json_t *id = json_object_get(w, "id");
		const json_t *wg = json_object_get(w, "gpu");

		if (json_is_integer(id) && json_integer_value(id) > 0 &&
		    json_is_integer(wg) && json_integer_value(wg) == gpu)
			add_client(&n, w);
	}
	*out = n;
	rc = VGMO_OK;
out:
	json_decref(root);
	return rc;
}
