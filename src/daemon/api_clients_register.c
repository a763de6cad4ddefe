/*
 * api_clients_register.c - POST /v1/clients (docs/clients.md): a worker
 * registers, or registers again. Its GPU is found by index or UUID, its
 * model's plan becomes its prior, a live client's name is kept for that
 * client (its secret) or the operator, and the answer carries the client
 * and its secret.
 */
#include <inttypes.h>
#include <string.h>

#include "api.h"
#include "api_clients.h"
#include "api_clients_parse.h"
#include "api_util.h"
#include "client_secret.h"

/* The device a registration names: an index or a UUID. */
static vgmo_err find_gpu(const vgmo_snapshot *s, const client_registration *c,
                         unsigned *gpu, api_error *e)
{
	size_t n = vgmo_snapshot_gpu_count(s);

	if (c->gpu_by_uuid) {
		for (size_t i = 0; i < n; i++)
			if (strcmp(vgmo_snapshot_gpu(s, i)->uuid,
			           c->gpu_uuid) == 0) {
				*gpu = (unsigned)i;
				return VGMO_OK;
			}
		return api_error_set(e, 400, "gpu",
		                     "key \"gpu\": no GPU with UUID \"%s\"",
		                     c->gpu_uuid);
	}
	if (c->gpu_index < 0 || (unsigned long long)c->gpu_index >= n)
		return api_error_set(e, 400, "gpu",
		                     "key \"gpu\": no GPU %lld (this node has "
		                     "%zu)",
		                     c->gpu_index, n);
	*gpu = (unsigned)c->gpu_index;
	return VGMO_OK;
}

/* The client of that name on that GPU that reports within its lease, or
 * -1: a worker that crashed may take its name back after one lease. */
static int live_client(const vgmo_snapshot *s, const char *name, unsigned gpu)
{
	for (size_t i = 0; i < vgmo_snapshot_worker_count(s); i++) {
		const vgmo_worker_view *w = vgmo_snapshot_worker(s, i);

		if (w->leased && w->healthy && w->gpu == gpu &&
		    strcmp(w->name, name) == 0)
			return w->id;
	}
	return -1;
}

/* The preset's plan, as the client's prior. */
static vgmo_err model_prior(vgmo_daemon *d, const char *model, const char *unit,
                            uint64_t total, vgmo_worker_spec *sp,
                            double *token_bytes, api_error *e)
{
	vgmo_vlm_model m;
	vgmo_plan_request req;
	vgmo_plan plan;
	vgmo_config cfg;
	char err[256];

	if (vgmo_model_preset_find(model, &m) != VGMO_OK)
		return api_error_set(e, 400, "model",
		                     "key \"model\": unknown preset \"%s\" "
		                     "(vgmo plan --help lists them)",
		                     model);
	vgmo_engine_get_config(daemon_engine(d), &cfg);
	vgmo_plan_request_init(&req);
	if (vgmo_plan_compute(&m, &req, total, &cfg, &plan, err, sizeof(err)) !=
	    VGMO_OK)
		return api_error_set(e, 400, "model", "key \"model\": %s", err);
	sp->prior_fixed = plan.fixed_bytes;
	*token_bytes = plan.token_bytes;
	sp->prior_per_item = strcmp(unit, "tokens") == 0
	                             ? plan.token_bytes
	                             : (double)plan.request_bytes;
	return VGMO_OK;
}

void api_clients_register(vgmo_daemon *d, const http_request *req,
                          http_response *res)
{
	client_registration c;
	vgmo_worker_spec sp = {0};
	vgmo_snapshot *s = NULL;
	api_error e;
	double token_bytes = 0;
	bool existed = false;
	char secret[CLIENT_SECRET_LEN + 1];
	int id;
	vgmo_err rc;

	if (api_clients_parse_registration(req->body, req->body_len, &c, &e) !=
	    VGMO_OK)
		goto refuse;
	if (vgmo_engine_snapshot_ex(daemon_engine(d), 0, &s) != VGMO_OK) {
		api_fail(res, VGMO_ERR_NOMEM, NULL, NULL);
		goto out;
	}
	sp.name = c.name;
	sp.weight = c.weight;
	sp.unit = c.unit;
	if (find_gpu(s, &c, &sp.gpu, &e) != VGMO_OK)
		goto refuse;
	if (c.model[0] != '\0' &&
	    model_prior(d, c.model, sp.unit,
	                vgmo_snapshot_gpu(s, sp.gpu)->memory_total, &sp,
	                &token_bytes, &e) != VGMO_OK)
		goto refuse;
	if (sp.weight > daemon_max_client_weight(d)) {
		api_error_set(&e, 400, "weight",
		              "key \"weight\": %g is above the daemon's "
		              "max_client_weight (%g)",
		              sp.weight, daemon_max_client_weight(d));
		goto refuse;
	}
	/* A live client's name is taken: only it (its secret) or the
	 * operator may register it again. */
	id = live_client(s, sp.name, sp.gpu);
	if (id >= 0 &&
	    !daemon_operator_ok(d, http_request_header(req, "Authorization")) &&
	    !daemon_client_secret_ok(
	            d, id, http_request_header(req, CLIENT_SECRET_HEADER))) {
		api_error_set(&e, 409, "name",
		              "key \"name\": a live client is registered as "
		              "\"%s\" on GPU %u; registering it again needs "
		              "its secret (header '" CLIENT_SECRET_HEADER "')",
		              sp.name, sp.gpu);
		goto refuse;
	}
	sp.leased = true;
	sp.padding = c.padding;
	sp.attention = c.attention;
	sp.vision_attention = c.vision_attention;
	sp.logits = c.logits;
	sp.pid = c.pid;
	/* A tokens worker of a preset: the engine's own prior for each
	 * token kind, and its image sizes counted with the model. */
	if (strcmp(sp.unit, "tokens") == 0 && c.model[0] != '\0')
		sp.model = c.model;
	rc = vgmo_engine_worker_register(daemon_engine(d), &sp, &id, &existed);
	if (rc == VGMO_ERR_PERMISSION) {
		api_error_set(&e, 409, "name",
		              "key \"name\": \"%s\" is a built-in worker's "
		              "name on GPU %u",
		              sp.name, sp.gpu);
		goto refuse;
	}
	if (rc == VGMO_ERR_STATE) {
		api_error_set(&e, 429, NULL,
		              "too many clients: this daemon takes at most its "
		              "--max-clients; try again when one leaves");
		goto refuse;
	}
	if (rc != VGMO_OK) {
		api_fail(res, rc, NULL, "cannot register the client");
		goto out;
	}
	daemon_client_secret(d, id, secret);
	if (!existed)
		daemon_client_added(d, id, sp.name, sp.gpu);
	if (token_bytes > 0 && strcmp(sp.unit, "tokens") == 0 && !existed &&
	    sp.model == NULL)
		vgmo_engine_set_unit_prior(daemon_engine(d), id, sp.prior_fixed,
		                           token_bytes);
	daemon_log_info(d, existed ? "client resumed" : "client registered",
	                "id=%" PRId64 " gpu=%u peer=%s",
	                daemon_client_id(d, id), sp.gpu, req->peer);
	api_clients_send(d, id, existed ? 200 : 201, secret, res);
	goto out;
refuse:
	api_send_error(res, &e);
out:
	vgmo_snapshot_free(s);
}
