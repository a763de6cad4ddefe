/*
 * sim_driver.h - drives the simulated GPU's synthetic workers on the
 * engine's virtual clock (internal).
 */
#ifndef VGMO_LIB_SIM_DRIVER_H
#define VGMO_LIB_SIM_DRIVER_H

#include "sim.h"
#include "vgmo/vgmo.h"

/* Adds a worker per simulated GPU of `sim` (the engine's backend) that runs
 * the synthetic workload (device 0's is the default worker), prepares their
 * schedule, and hands the engine the driver (vgmo__engine_set_driver): its
 * vgmo_engine_step runs them, its vgmo_engine_destroy frees them. */
vgmo_err vgmo__sim_driver_init(vgmo_engine *e, vgmo__sim *sim);

#endif
