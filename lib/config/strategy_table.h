/*
 * strategy_table.h - the four strategies as one table: the promise each
 * makes about running out of memory, and the room it fills (internal).
 *
 *   strategy      P(OOM) per batch   room
 *   conservative  1e-4               total - others - memory_reserve_mb
 *   balanced      1e-3               total - others, less as much of
 *                                    memory_reserve_mb as the others'
 *                                    memory rose in the last 10 minutes
 *                                    (headroom for their growth; never
 *                                    below what the worker's allocator
 *                                    already holds: engine/others.h)
 *   aggressive    1e-3               total - others (to the OOM line)
 *   adaptive      1e-3               as aggressive; fills it only as far
 *                                    as measured throughput says pays
 *
 * The engine sizes batches from it (engine/strategy.h: the margin, the
 * rooms); `vgmo plan` states each strategy's batch from it (vlm/planner.c).
 */
#ifndef VGMO_LIB_STRATEGY_TABLE_H
#define VGMO_LIB_STRATEGY_TABLE_H

#include <stdbool.h>

#include "vgmo/vgmo.h"

/* When memory_reserve_mb stays free. */
typedef enum vgmo__reserve {
	VGMO__RESERVE_ALWAYS,
	VGMO__RESERVE_RISE, /* as far as other processes' memory rose lately */
	VGMO__RESERVE_NEVER
} vgmo__reserve;

typedef struct vgmo__strategy_spec {
	const char *name;
	double p_oom;          /* per batch, the promise */
	vgmo__reserve reserve; /* memory_reserve_mb kept free */
	bool adaptive;         /* fill levels chosen by throughput */
} vgmo__strategy_spec;

/* The row of a strategy (out of range: balanced's). */
const vgmo__strategy_spec *vgmo__strategy(vgmo_strategy s);

#endif
