/*
 * cmd_plan.h - what the `vgmo plan` files share: the size and image
 * parsers of cmd_plan.c, and `vgmo plan --engine` (cmd_plan_engine.c,
 * cmd_plan_engine_print.c).
 */
#ifndef VGMO_SRC_CMD_PLAN_H
#define VGMO_SRC_CMD_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "remote.h"
#include "vgmo/vgmo.h"

/* "80GiB", "24GB", "81920MiB", "79.6 GiB", or bytes. */
bool plan_parse_size(const char *s, uint64_t *out);
/* "1024x768": both sides 1..100000. */
bool plan_parse_wxh(const char *s, uint32_t *w, uint32_t *h);

/* The request-shape options both plan commands take, and their ids in both
 * commands' option tables (below CLI_ID_SHARED, above each command's own
 * ids). */
typedef enum plan_shape_opt {
	PLAN_OPT_IMAGE = 50, /* --image WxH */
	PLAN_OPT_IMAGES,     /* --images-per-request N */
	PLAN_OPT_TEXT,       /* --text-tokens N */
	PLAN_OPT_OUTPUT, /* --output-tokens / --max-output-tokens N, >= min */
	PLAN_OPT_DTYPE   /* --dtype bf16|fp16|fp8 */
} plan_shape_opt;

/* True when option id `id` is one of the plan_shape_opt. */
bool plan_is_shape_option(int id);
/* Sets shape option `o` (its id a plan_shape_opt) of `req` from `v`;
 * CLI_EXIT_OK or the usage error it printed for command `cmd`. */
int plan_shape_option(const char *cmd, const cli_option *o, const char *v,
                      long output_min, vgmo_plan_request *req);
/* A count option in [min, 1000000] into *out; CLI_EXIT_OK or the usage
 * error. */
int plan_count_option(const char *cmd, const char *name, const char *v,
                      long min, uint32_t *out);
/* --gpu-memory SIZE into *out; CLI_EXIT_OK or the usage error. */
int plan_gpu_memory_option(const char *cmd, const char *v, uint64_t *out);

/* `vgmo plan --engine vllm|sglang|tgi|transformers ...`: argv as
 * cmd_plan got it (cmd_plan_engine.c). */
int cmd_plan_engine(int argc, char **argv);

/* `vgmo plan --engine`'s command line; strings point into argv. */
typedef struct plan_engine_args {
	remote_opts remote;
	vgmo_serving_engine engine;
	const char *engine_name, *model, *gpu, *config;
	uint64_t memory;
	bool memory_given;
	vgmo_serving_request req;
	bool json, help;
} plan_engine_args;

/* Prints the plan `p` of model `m` on `node` (live: read from the daemon
 * at a->remote.server) as text, or as JSON (cmd_plan_engine_print.c). */
void plan_engine_print_text(const plan_engine_args *a, const vgmo_vlm_model *m,
                            const vgmo_serving_node *node, bool live,
                            const vgmo_serving_plan *p);
int plan_engine_print_json(const plan_engine_args *a, const vgmo_vlm_model *m,
                           const vgmo_serving_node *node, bool live,
                           const vgmo_serving_plan *p);

#endif
