/*
 * cmd_plan_engine.c - `vgmo plan --engine vllm|sglang|tgi|transformers`:
 * the settings of a serving engine (or a transformers loop) for a model
 * and request shape, as flags to paste, each with one line of why
 * (vgmo_serving_plan_compute), and the memory that engine's rule then
 * takes. With --server URL --gpu N the GPU is the live one: the daemon's
 * free memory (other processes and instances already out of it) and the
 * clients registered on it. docs/engines.md has the rules and examples.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "remote.h"
#include "cmd_plan.h"

enum {
	OPT_ENGINE = 1,
	OPT_MODEL,
	OPT_GPU,
	OPT_GPU_MEMORY,
	OPT_INSTANCES,
	OPT_MAX_PIXELS,
	OPT_CONCURRENCY,
	OPT_CONFIG,
	OPT_JSON,
};

static const cli_option options[] = {
        {"engine", "NAME", "vllm, sglang, tgi or transformers (required)",
         OPT_ENGINE},
        {"model", "NAME|FILE",
         "model preset, vgmo model JSON, or a Hugging Face config.json "
         "(required)",
         OPT_MODEL},
        {"gpu", "PRESET|N",
         "GPU preset (default h100-80gb); with --server, the device index",
         OPT_GPU},
        {"gpu-memory", "SIZE", "GPU memory instead of a preset, e.g. 24GB",
         OPT_GPU_MEMORY},
        {"instances", "K", "instances sharing the GPU equally (default 1)",
         OPT_INSTANCES},
        {"image", "WxH", "largest image in pixels (default 1024x1024)",
         PLAN_OPT_IMAGE},
        {"max-pixels", "N", "pixel cap per image instead of --image",
         OPT_MAX_PIXELS},
        {"images-per-request", "N", "images in one request (default 1)",
         PLAN_OPT_IMAGES},
        {"text-tokens", "N", "prompt text tokens (default 128)", PLAN_OPT_TEXT},
        {"max-output-tokens", "N", "tokens generated per request (default 256)",
         PLAN_OPT_OUTPUT},
        {"concurrency", "N",
         "requests in flight wanted per instance (default: all that fit)",
         OPT_CONCURRENCY},
        {"dtype", "bf16|fp16|fp8", "weights and KV cache (default bf16)",
         PLAN_OPT_DTYPE},
        {"config", "FILE", "memory_threshold_critical sets the margin (JSON)",
         OPT_CONFIG},
        {"json", NULL, "print the settings as JSON", OPT_JSON},
        {NULL, NULL, NULL, 0}};

static const cli_group groups[] = {{"Options", options},
                                   {"Live node (optional)", remote_options},
                                   {NULL, NULL}};

static int set_option(void *ctx, const char *cmd, const cli_option *o,
                      const char *v)
{
	plan_engine_args *a = ctx;
	long l;

	if (plan_is_shape_option(o->id))
		return plan_shape_option(cmd, o, v, 1, &a->req.shape);
	switch (o->id) {
	case OPT_ENGINE:
		if (vgmo_serving_engine_parse(v, &a->engine) != VGMO_OK)
			return cli_usage_error(cmd,
			                       "invalid --engine '%s' (choose "
			                       "vllm, sglang, tgi or "
			                       "transformers)",
			                       v);
		a->engine_name = v;
		break;
	case OPT_MODEL:
		a->model = v;
		break;
	case OPT_GPU:
		a->gpu = v;
		break;
	case OPT_GPU_MEMORY:
		a->memory_given = true;
		return plan_gpu_memory_option(cmd, v, &a->memory);
	case OPT_INSTANCES:
		if (!cli_parse_long(v, 1, VGMO_SERVING_MAX_INSTANCES, &l))
			return cli_usage_error(
			        cmd,
			        "invalid --instances '%s': not an "
			        "integer in 1..%d",
			        v, VGMO_SERVING_MAX_INSTANCES);
		a->req.instances = (uint32_t)l;
		break;
	case OPT_MAX_PIXELS:
		if (!cli_parse_long(v, 1, 1000000000L, &l))
			return cli_usage_error(
			        cmd,
			        "invalid --max-pixels '%s': not an "
			        "integer in 1..1000000000",
			        v);
		a->req.max_pixels = (uint64_t)l;
		break;
	case OPT_CONCURRENCY:
		return plan_count_option(cmd, o->name, v, 1,
		                         &a->req.concurrency);
	case OPT_CONFIG:
		a->config = v;
		break;
	case OPT_JSON:
		a->json = true;
		break;
	}
	return CLI_EXIT_OK;
}

static int parse_args(plan_engine_args *a, int argc, char **argv)
{
	int rc;

	memset(a, 0, sizeof(*a));
	remote_opts_init(&a->remote);
	vgmo_serving_request_init(&a->req);
	rc = remote_parse_args(argc, argv, groups, &a->remote, set_option, NULL,
	                       a, &a->help);
	if (rc != CLI_EXIT_OK || a->help)
		return rc;
	if (a->engine_name == NULL)
		return cli_usage_error(argv[0], "--engine NAME is required");
	if (a->model == NULL)
		return cli_usage_error(argv[0],
		                       "--model NAME|FILE is required");
	if (a->remote.server && a->memory_given)
		return cli_usage_error(argv[0],
		                       "--gpu-memory: with --server the GPU's "
		                       "memory comes from the daemon");
	return CLI_EXIT_OK;
}

static void print_help(void)
{
	cli_print_help(stdout, "plan --engine NAME --model NAME|FILE [options]",
	               "Prints the settings of a serving engine for a vision-"
	               "language model on one GPU,\nas flags to paste, each "
	               "with the reason, and the memory that engine's own\n"
	               "allocation rule then takes. With --server URL --gpu N "
	               "the GPU is the live\none: the daemon's free memory, "
	               "other processes and registered clients.\nOnly an "
	               "explicit --server makes the answer live ($VGMO_SERVER "
	               "alone does not).\ndocs/engines.md states each "
	               "engine's rule and the versions it applies to.",
	               groups);
}

/* The GPU: a preset or a size offline; the daemon's device live. */
static int resolve_gpu(plan_engine_args *a, vgmo_serving_node *node, bool *live)
{
	remote_response resp = {0};
	char err[512];
	remote *c = NULL;
	long idx = 0;
	int rc;

	*live = a->remote.server != NULL;
	if (!*live) {
		const char *preset = a->gpu ? a->gpu : "h100-80gb";

		if (a->memory_given) {
			if (a->gpu)
				return cli_usage_error(
				        "plan",
				        "give --gpu PRESET or --gpu-memory "
				        "SIZE, not both");
			a->req.total_bytes = a->memory;
			return CLI_EXIT_OK;
		}
		if (vgmo_gpu_preset_memory(preset, &a->req.total_bytes) !=
		    VGMO_OK)
			return cli_usage_error(
			        "plan",
			        "unknown --gpu '%s' (a GPU preset such as "
			        "h100-80gb or l4-24gb; a device index needs "
			        "--server URL)",
			        preset);
		a->gpu = preset;
		return CLI_EXIT_OK;
	}
	if (a->gpu && !cli_parse_long(a->gpu, 0, 63, &idx))
		return cli_usage_error(
		        "plan",
		        "invalid --gpu '%s': with --server it is "
		        "the device index, 0..63",
		        a->gpu);
	rc = remote_open(&c, &a->remote);
	if (rc != CLI_EXIT_OK)
		return rc;
	rc = remote_call(c, "GET", "/v1/status", NULL, &resp);
	if (rc != CLI_EXIT_OK)
		goto out;
	if (vgmo_serving_node_from_status(resp.body, resp.len, (int)idx, node,
	                                  err, sizeof(err)) != VGMO_OK) {
		rc = cli_fail("%s: %s", remote_url(c), err);
		goto out;
	}
	a->req.total_bytes = node->total_bytes;
	a->req.free_bytes = node->free_bytes;
	a->req.free_known = true;
	if (a->gpu == NULL)
		a->gpu = "0";
	rc = CLI_EXIT_OK;
out:
	remote_response_free(&resp);
	remote_close(c);
	return rc;
}

int cmd_plan_engine(int argc, char **argv)
{
	char err[1024] = "";
	vgmo_serving_node node;
	vgmo_serving_plan plan;
	vgmo_vlm_model m;
	vgmo_config cfg;
	bool live = false;
	plan_engine_args a;
	int rc = parse_args(&a, argc, argv);

	if (rc != CLI_EXIT_OK)
		return rc;
	if (a.help) {
		print_help();
		return CLI_EXIT_OK;
	}
	memset(&node, 0, sizeof(node));
	vgmo_config_defaults(&cfg);
	if (a.config &&
	    vgmo_config_load_file(&cfg, a.config, err, sizeof(err)) != VGMO_OK)
		return cli_fail("%s", err);
	if (vgmo_model_resolve(a.model, &m, err, sizeof(err)) != VGMO_OK)
		return cli_fail("%s", err);
	rc = resolve_gpu(&a, &node, &live);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (vgmo_serving_plan_compute(a.engine, &m, &a.req, &cfg, &plan, err,
	                              sizeof(err)) != VGMO_OK)
		return cli_fail("%s", err);
	if (a.json)
		return plan_engine_print_json(&a, &m, &node, live, &plan);
	plan_engine_print_text(&a, &m, &node, live, &plan);
	return CLI_EXIT_OK;
}
