/*
 * cmd_plan.h - what the `vgmo plan` files share: the size and image
 * parsers of cmd_plan.c, and `vgmo plan --engine` (cmd_plan_engine.c).
 */
#ifndef VGMO_SRC_CMD_PLAN_H
#define VGMO_SRC_CMD_PLAN_H

#include <stdbool.h>
#include <stdint.h>

/* "80GiB", "24GB", "81920MiB", "79.6 GiB", or bytes. */
bool plan_parse_size(const char *s, uint64_t *out);
/* "1024x768": both sides 1..100000. */
bool plan_parse_wxh(const char *s, uint32_t *w, uint32_t *h);

/* `vgmo plan --engine vllm|sglang|tgi|transformers ...`: argv as
 * cmd_plan got it. */
int cmd_plan_engine(int argc, char **argv);

#endif
