/*
 * strategy_table.c - the strategy table (strategy_table.h).
 */
#include "strategy_table.h"

static const vgmo__strategy_spec table[] = {
        [VGMO_STRATEGY_CONSERVATIVE] = {"conservative", 1e-4,
                                        VGMO__RESERVE_ALWAYS, false},
        [VGMO_STRATEGY_BALANCED] = {"balanced", 1e-3, VGMO__RESERVE_RISE,
                                    false},
        [VGMO_STRATEGY_AGGRESSIVE] = {"aggressive", 1e-3, VGMO__RESERVE_NEVER,
                                      false},
        [VGMO_STRATEGY_ADAPTIVE] = {"adaptive", 1e-3, VGMO__RESERVE_NEVER,
                                    true},
};

const vgmo__strategy_spec *vgmo__strategy(vgmo_strategy s)
{
	if ((unsigned)s >= sizeof(table) / sizeof(table[0]))
		s = VGMO_STRATEGY_BALANCED;
	return &table[s];
}
