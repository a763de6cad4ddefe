/*
 * sim_driver.h - drives the simulated GPU's synthetic workers on the
 * engine's virtual clock (internal).
 */
#ifndef VGMO_LIB_SIM_DRIVER_H
#define VGMO_LIB_SIM_DRIVER_H

#include "vgmo/vgmo.h"

/* Adds a worker per simulated GPU that runs the synthetic workload (device
 * 0's is the default worker) and prepares their schedule. */
vgmo_err vgmo__sim_driver_init(vgmo_engine *e);
void vgmo__sim_driver_free(vgmo_engine *e);

#endif
