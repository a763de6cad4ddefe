/*
 * test_shares_util.h - engines and clients on the simulated GPU for the
 * test_shares and test_leases executables.
 */
#ifndef VGMO_TEST_SHARES_UTIL_H
#define VGMO_TEST_SHARES_UTIL_H

#include <stdint.h>

#include "engine_internal.h"
#include "util.h"

#define GIB ((double)VGMO__GIB)

/* An engine on an idle simulated GPU, max_batch_size 64, leases of
 * `lease` seconds (0: the default). */
vgmo_engine *make(double lease);
/* A leased client named `name` of `weight`; its id. */
int client(vgmo_engine *e, const char *name, double weight);
/* One batch: fixed + n x item bytes, allocator holding the peak. */
vgmo_decision report(vgmo_engine *e, int id, uint32_t n, double fixed,
                     double item);
/* The worker with `id` (NULL: none). */
const vgmo__worker *W(vgmo_engine *e, int id);
/* The device's room under the reserve: total - unattributed - reserve. */
double device_budget(vgmo_engine *e);

#endif
