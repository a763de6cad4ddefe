/*
 * abi_layout.c - prints the size of each public struct that the Python
 * package mirrors with ctypes (python/vgmo/_native.py), and the offset of
 * every field, one "struct field offset" line each ("struct - size" for
 * the size). tests/test_python.py compares them with ctypes'.
 */
#include <stddef.h>
#include <stdio.h>

#include "vgmo/vgmo.h"

#define SIZE(T) printf("%s - %zu\n", #T, sizeof(T))
#define FIELD(T, f) printf("%s %s %zu\n", #T, #f, offsetof(T, f))

int main(void)
{
	SIZE(vgmo_config);
	FIELD(vgmo_config, enabled);
	FIELD(vgmo_config, strategy);
	FIELD(vgmo_config, monitoring_interval);
	FIELD(vgmo_config, memory_threshold_warning);
	FIELD(vgmo_config, memory_threshold_critical);
	FIELD(vgmo_config, memory_threshold_oom);
	FIELD(vgmo_config, temperature_threshold);
	FIELD(vgmo_config, optimization_interval);
	FIELD(vgmo_config, cleanup_interval);
	FIELD(vgmo_config, max_batch_size);
	FIELD(vgmo_config, min_batch_size);
	FIELD(vgmo_config, memory_reserve_mb);
	FIELD(vgmo_config, gc_threshold);
	FIELD(vgmo_config, fragmentation_threshold);

	SIZE(vgmo_result);
	FIELD(vgmo_result, success);
	FIELD(vgmo_result, action_taken);
	FIELD(vgmo_result, memory_freed_mb);
	FIELD(vgmo_result, new_batch_size);
	FIELD(vgmo_result, gc_performed);
	FIELD(vgmo_result, fragmentation_reduced);
	FIELD(vgmo_result, error_message);
	FIELD(vgmo_result, timestamp);
	FIELD(vgmo_result, old_batch_size);
	FIELD(vgmo_result, worker);
	FIELD(vgmo_result, reason);

	SIZE(vgmo_sim_options);
	FIELD(vgmo_sim_options, preset);
	FIELD(vgmo_sim_options, gpus);
	FIELD(vgmo_sim_options, seed);
	FIELD(vgmo_sim_options, workload);

	SIZE(vgmo_engine_options);
	FIELD(vgmo_engine_options, backend);
	FIELD(vgmo_engine_options, sim);
	FIELD(vgmo_engine_options, nvml_library);
	FIELD(vgmo_engine_options, call_timeout);
	FIELD(vgmo_engine_options, clock);
	FIELD(vgmo_engine_options, history_capacity);
	FIELD(vgmo_engine_options, prior_item_bytes);
	FIELD(vgmo_engine_options, lease_seconds);

	SIZE(vgmo_report);
	FIELD(vgmo_report, items);
	FIELD(vgmo_report, peak_bytes);
	FIELD(vgmo_report, allocated_bytes);
	FIELD(vgmo_report, reserved_bytes);
	FIELD(vgmo_report, seconds);
	FIELD(vgmo_report, oom);
	FIELD(vgmo_report, freed_bytes);

	SIZE(vgmo_decision);
	FIELD(vgmo_decision, batch_size);
	FIELD(vgmo_decision, cleanup);
	FIELD(vgmo_decision, changed);

	SIZE(vgmo_counters);
	FIELD(vgmo_counters, optimizations);
	FIELD(vgmo_counters, optimizations_success);
	FIELD(vgmo_counters, optimization_failures);
	FIELD(vgmo_counters, cleanups);
	FIELD(vgmo_counters, batch_size_changes);
	FIELD(vgmo_counters, freed_bytes);
	FIELD(vgmo_counters, samples);
	FIELD(vgmo_counters, history_total);
	return 0;
}
