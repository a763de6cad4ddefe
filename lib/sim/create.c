/*
 * create.c - vgmo_engine_create: the engine (lib/engine/) and, when its
 * backend is the simulated GPU, the synthetic workload that runs on it
 * (sim_driver.c). It lives here, above the engine, because the engine
 * knows no workload: it runs whatever driver it is handed.
 */
#include "engine_hook.h"
#include "sim.h"
#include "sim_driver.h"
#include "util.h"

vgmo_err vgmo_engine_create(vgmo_engine **out, const vgmo_config *cfg,
                            const vgmo_engine_options *opts, char *err,
                            size_t errlen)
{
	const vgmo__backend_ops *ops;
	vgmo_engine *e;
	vgmo__sim *sim;
	void *bctx;
	vgmo_err rc;

	*out = NULL;
	rc = vgmo__engine_open(&e, cfg, opts, err, errlen);
	if (rc != VGMO_OK)
		return rc;
	bctx = vgmo__engine_backend(e, &ops);
	sim = vgmo__sim_of(ops, bctx);
	if (sim) {
		rc = vgmo__sim_driver_init(e, sim);
		if (rc != VGMO_OK) {
			vgmo__errf(err, errlen, rc,
			           "cannot start the simulated workload");
			goto fail;
		}
	}
	vgmo__engine_start(e);
	*out = e;
	return VGMO_OK;
fail:
	vgmo_engine_destroy(e);
	return rc;
}
