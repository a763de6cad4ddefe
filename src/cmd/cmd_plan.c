/*
 * cmd_plan.c - `vgmo plan`: a VLM's memory on a GPU (weights, KV cache and
 * activations per request, reserve) and the largest batch that fits at
 * each strategy, from the model's public configuration (vgmo_plan_compute).
 * `--check FILE` compares the estimate with measured batches instead
 * (cmd_plan_check.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_plan.h"
#include "vlm_models.h"

#define GIB ((double)VGMO_GIB)
#define MAX_COUNT 1000000L

enum {
	OPT_MODEL = 1,
	OPT_GPU,
	OPT_GPU_MEMORY,
	OPT_CONFIG,
	OPT_JSON,
	OPT_CHECK,
};

static const cli_option options[] = {
        {"model", "NAME|FILE",
         "model preset or JSON file (required without --check)", OPT_MODEL},
        {"gpu", "PRESET", "GPU preset (default h100-80gb)", OPT_GPU},
        {"gpu-memory", "SIZE", "GPU memory instead, e.g. 80GiB, 24GB",
         OPT_GPU_MEMORY},
        {"image", "WxH", "image size in pixels (default 1024x1024)",
         PLAN_OPT_IMAGE},
        {"images-per-request", "N", "images in one request (default 1)",
         PLAN_OPT_IMAGES},
        {"text-tokens", "N", "prompt text tokens (default 128)", PLAN_OPT_TEXT},
        {"output-tokens", "N", "tokens generated (default 256)",
         PLAN_OPT_OUTPUT},
        {"dtype", "bf16|fp16|fp8", "weights and KV cache (default bf16)",
         PLAN_OPT_DTYPE},
        {"config", "FILE", "memory_reserve_mb and max_batch_size (JSON)",
         OPT_CONFIG},
        {"json", NULL, "print the plan as JSON", OPT_JSON},
        {"check", "FILE",
         "compare with measured batches (scripts/vlm-measure.py)", OPT_CHECK},
        {NULL, NULL, NULL, 0}};

static const cli_group groups[] = {{"Options", options}, {NULL, NULL}};

typedef struct args {
	const char *model, *gpu, *config, *check;
	uint64_t memory;
	vgmo_plan_request req;
	int shape_options; /* options that --check does not take */
	bool json, help;
} args;

static void print_help(void)
{
	cli_print_help(stdout,
	               "plan --model NAME|FILE [options]\n"
	               "       vgmo plan --check FILE [--model NAME|FILE] "
	               "[--json]",
	               "Estimates a vision-language model's memory on one GPU "
	               "from its public\nconfiguration and prints the largest "
	               "batch of requests each strategy allows.\nThe same "
	               "numbers are vgmo's prior for a worker that names its "
	               "model.\nWith --check, prints the estimate next to each "
	               "measured batch of FILE\nand the median and worst "
	               "relative error per model.\nWith --engine "
	               "vllm|sglang|tgi|transformers, prints that engine's "
	               "settings\n(vgmo plan --engine vllm --help).",
	               groups);
	fputs("\nModel presets:", stdout);
	for (const char *const *p = vgmo_model_presets(); *p; p++)
		printf("%s %s", p == vgmo_model_presets() ? "" : ",", *p);
	fputs("\nGPU presets:", stdout);
	for (const char *const *p = vgmo_sim_presets(); *p; p++)
		printf("%s %s", p == vgmo_sim_presets() ? "" : ",", *p);
	fputc('\n', stdout);
}

bool plan_parse_size(const char *s, uint64_t *out)
{
	static const struct {
		const char *unit;
		double mult;
	} units[] = {{"", 1},         {"B", 1},
	             {"KB", 1e3},     {"MB", 1e6},
	             {"GB", 1e9},     {"TB", 1e12},
	             {"KiB", 1024.0}, {"MiB", (double)VGMO_MIB},
	             {"GiB", GIB},    {"TiB", GIB * 1024}};
	char *end;
	double v;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	v = strtod(s, &end);
	while (*end == ' ')
		end++;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) == 0 && isfinite(v) && v > 0 &&
		    v * units[i].mult < 1.8e19) {
			*out = (uint64_t)(v * units[i].mult);
			return *out > 0;
		}
	}
	return false;
}

bool plan_parse_wxh(const char *s, uint32_t *w, uint32_t *h)
{
	char *end;
	unsigned long a, b;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	a = strtoul(s, &end, 10);
	if (*end != 'x' || end[1] < '0' || end[1] > '9')
		return false;
	b = strtoul(end + 1, &end, 10);
	if (*end != '\0' || a == 0 || b == 0 || a > 100000 || b > 100000)
		return false;
	*w = (uint32_t)a;
	*h = (uint32_t)b;
	return true;
}

int plan_count_option(const char *cmd, const char *name, const char *v,
                      long min, uint32_t *out)
{
	long l;

	if (!cli_parse_long(v, min, MAX_COUNT, &l))
		return cli_usage_error(cmd,
		                       "invalid --%s '%s': not an integer in "
		                       "%ld..%ld",
		                       name, v, min, MAX_COUNT);
	*out = (uint32_t)l;
	return CLI_EXIT_OK;
}

bool plan_is_shape_option(int id)
{
	return id >= PLAN_OPT_IMAGE && id <= PLAN_OPT_DTYPE;
}

int plan_shape_option(const char *cmd, const cli_option *o, const char *v,
                      long output_min, vgmo_plan_request *req)
{
	const char *name = o->name;

	switch ((plan_shape_opt)o->id) {
	case PLAN_OPT_IMAGE:
		if (!plan_parse_wxh(v, &req->image_width, &req->image_height))
			return cli_usage_error(
			        cmd,
			        "invalid --%s '%s' (WIDTHxHEIGHT in pixels, "
			        "e.g. 1024x768)",
			        name, v);
		return CLI_EXIT_OK;
	case PLAN_OPT_IMAGES:
		return plan_count_option(cmd, name, v, 0, &req->images);
	case PLAN_OPT_TEXT:
		return plan_count_option(cmd, name, v, 0, &req->text_tokens);
	case PLAN_OPT_OUTPUT:
		return plan_count_option(cmd, name, v, output_min,
		                         &req->output_tokens);
	case PLAN_OPT_DTYPE:
	default:
		if (vgmo_dtype_parse(v, &req->dtype) != VGMO_OK)
			return cli_usage_error(
			        cmd,
			        "invalid --%s '%s' (choose bf16, "
			        "fp16 or fp8)",
			        name, v);
		return CLI_EXIT_OK;
	}
}

int plan_gpu_memory_option(const char *cmd, const char *v, uint64_t *out)
{
	if (!plan_parse_size(v, out))
		return cli_usage_error(cmd,
		                       "invalid --gpu-memory '%s' (e.g. 80GiB, "
		                       "24GB, 81920MiB)",
		                       v);
	return CLI_EXIT_OK;
}

static int set_option(void *ctx, const char *cmd, const cli_option *o,
                      const char *v)
{
	args *a = ctx;

	if (o->id != OPT_MODEL && o->id != OPT_JSON && o->id != OPT_CHECK)
		a->shape_options++;
	if (plan_is_shape_option(o->id))
		return plan_shape_option(cmd, o, v, 0, &a->req);
	switch (o->id) {
	case OPT_MODEL:
		a->model = v;
		break;
	case OPT_GPU:
		if (vgmo_gpu_preset_memory(v, &a->memory) != VGMO_OK) {
			char known[256];

			cli_preset_list(known, sizeof(known));
			return cli_usage_error(cmd,
			                       "unknown --gpu '%s' (choose one "
			                       "of %s; or --gpu-memory SIZE)",
			                       v, known);
		}
		a->gpu = v;
		break;
	case OPT_GPU_MEMORY:
		a->gpu = NULL;
		return plan_gpu_memory_option(cmd, v, &a->memory);
	case OPT_CONFIG:
		a->config = v;
		break;
	case OPT_JSON:
		a->json = true;
		break;
	case OPT_CHECK:
		a->check = v;
		break;
	}
	return CLI_EXIT_OK;
}

static int parse_args(args *a, int argc, char **argv)
{
	int rc;

	memset(a, 0, sizeof(*a));
	vgmo_plan_request_init(&a->req);
	a->gpu = "h100-80gb";
	vgmo_gpu_preset_memory(a->gpu, &a->memory);
	rc = cli_parse_args(argc, argv, groups, set_option, NULL, a, &a->help);
	if (rc != CLI_EXIT_OK || a->help)
		return rc;
	if (a->check && a->shape_options)
		return cli_usage_error(argv[0],
		                       "--check takes only --model and --json "
		                       "(the shapes come from the file)");
	if (a->model == NULL && a->check == NULL)
		return cli_usage_error(argv[0],
		                       "--model NAME|FILE is required");
	return CLI_EXIT_OK;
}

static double gib(uint64_t b)
{
	return (double)b / GIB;
}

static void print_text(const args *a, const vgmo_vlm_model *m,
                       const vgmo_config *c, const vgmo_plan *p)
{
	static const char *const names[] = {"conservative", "balanced",
	                                    "aggressive", "adaptive"};

	printf("%s on %s (%.1f GiB), %s\n", m->name, a->gpu ? a->gpu : "GPU",
	       gib(p->total_bytes), vgmo_dtype_name(a->req.dtype));
	printf("request: %u image%s of %ux%u = %u tokens each, %u text, "
	       "%u output: %u tokens\n\n",
	       a->req.images, a->req.images == 1 ? "" : "s", a->req.image_width,
	       a->req.image_height, p->image_tokens, a->req.text_tokens,
	       a->req.output_tokens, p->request_tokens);
	printf("memory                                  GiB\n"
	       "  weights                         %9.2f\n"
	       "  workspace                       %9.2f\n"
	       "  CUDA context                    %9.2f\n"
	       "  reserve (memory_reserve_mb)     %9.2f\n"
	       "  per request: KV cache           %9.3f  (%.1f KiB/token)\n"
	       "  per request: activations        %9.3f\n"
	       "  per request: total              %9.3f\n"
	       "  room, conservative              %9.2f  (less the reserve)\n"
	       "  room, the others                %9.2f  (all but the "
	       "context)\n\n",
	       gib(p->weights_bytes), gib(p->workspace_bytes),
	       gib(p->context_bytes), gib(p->reserve_bytes), gib(p->kv_bytes),
	       (double)p->kv_bytes_per_token / 1024.0, gib(p->activation_bytes),
	       gib(p->request_bytes),
	       gib(p->room_bytes[VGMO_STRATEGY_CONSERVATIVE]),
	       gib(p->room_bytes[VGMO_STRATEGY_AGGRESSIVE]));
	puts("largest batch at the estimate (requests)");
	for (int s = 0; s < 4; s++)
		printf("  %-13s %7d\n", names[s], p->batch[s]);
	puts("vgmo keeps a margin on top, from the worker's measured errors "
	     "(a few per cent once it\nhas reports), and starts a tokens "
	     "worker at one request.");
	if (p->batch[VGMO_STRATEGY_AGGRESSIVE] > c->max_batch_size)
		printf("max_batch_size is %d: vgmo would not go past it "
		       "(raise it in --config, or with vgmo configure "
		       "--max-batch-size on a daemon).\n",
		       c->max_batch_size);
	if (p->batch[VGMO_STRATEGY_BALANCED] == 0)
		puts("nothing fits: the weights alone exceed the budget.");
}

static void put_int(json_t *o, const char *key, uint64_t v)
{
	json_object_set_new(o, key, json_integer((json_int_t)v));
}

static int print_json(const args *a, const vgmo_vlm_model *m,
                      const vgmo_config *c, const vgmo_plan *p)
{
	static const char *const names[] = {"conservative", "balanced",
	                                    "aggressive", "adaptive"};
	json_t *o = json_object(), *gpu = json_object(), *req = json_object();
	json_t *mem = json_object(), *batch = json_object();
	json_t *room = json_object();
	char *s = NULL;

	if (!o || !gpu || !req || !mem || !batch || !room)
		goto out;
	json_object_set_new(o, "model", vgmo__model_json(m));
	json_object_set_new(gpu, "name",
	                    a->gpu ? json_string(a->gpu) : json_null());
	put_int(gpu, "total_bytes", p->total_bytes);
	json_object_set(o, "gpu", gpu);
	json_object_set_new(o, "dtype",
	                    json_string(vgmo_dtype_name(a->req.dtype)));
	put_int(req, "image_width", a->req.image_width);
	put_int(req, "image_height", a->req.image_height);
	put_int(req, "images", a->req.images);
	put_int(req, "text_tokens", a->req.text_tokens);
	put_int(req, "output_tokens", a->req.output_tokens);
	put_int(req, "image_tokens", p->image_tokens);
	put_int(req, "request_tokens", p->request_tokens);
	json_object_set(o, "request", req);
	put_int(mem, "weights_bytes", p->weights_bytes);
	put_int(mem, "workspace_bytes", p->workspace_bytes);
	put_int(mem, "context_bytes", p->context_bytes);
	put_int(mem, "reserve_bytes", p->reserve_bytes);
	put_int(mem, "fixed_bytes", p->fixed_bytes);
	put_int(mem, "kv_bytes_per_token", p->kv_bytes_per_token);
	put_int(mem, "kv_bytes", p->kv_bytes);
	put_int(mem, "activation_bytes", p->activation_bytes);
	put_int(mem, "request_bytes", p->request_bytes);
	json_object_set_new(mem, "token_bytes", json_real(p->token_bytes));
	json_object_set(o, "memory", mem);
	for (int i = 0; i < 4; i++) {
		json_object_set_new(batch, names[i], json_integer(p->batch[i]));
		json_object_set_new(room, names[i],
		                    json_integer((json_int_t)p->room_bytes[i]));
	}
	json_object_set(o, "batch", batch);
	json_object_set(o, "room_bytes", room);
	json_object_set_new(o, "max_batch_size",
	                    json_integer(c->max_batch_size));
	s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
	                          JSON_REAL_PRECISION(8));
out:
	json_decref(batch);
	json_decref(room);
	json_decref(mem);
	json_decref(req);
	json_decref(gpu);
	json_decref(o);
	return cli_put_json_text(s);
}

int cmd_plan(int argc, char **argv)
{
	char err[1024] = "";
	vgmo_vlm_model m;
	vgmo_config cfg;
	vgmo_plan plan;
	args a;
	int rc;

	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--engine") == 0 ||
		    strncmp(argv[i], "--engine=", 9) == 0)
			return cmd_plan_engine(argc, argv);
	rc = parse_args(&a, argc, argv);

	if (rc != CLI_EXIT_OK)
		return rc;
	if (a.help) {
		print_help();
		return CLI_EXIT_OK;
	}
	if (a.check) {
		if (a.model && vgmo_model_resolve(a.model, &m, err,
		                                  sizeof(err)) != VGMO_OK)
			return cli_fail("%s", err);
		return cmd_plan_check(a.check, a.model ? &m : NULL, a.json);
	}
	vgmo_config_defaults(&cfg);
	if (a.config &&
	    vgmo_config_load_file(&cfg, a.config, err, sizeof(err)) != VGMO_OK)
		return cli_fail("%s", err);
	if (vgmo_model_resolve(a.model, &m, err, sizeof(err)) != VGMO_OK)
		return cli_fail("%s", err);
	if (vgmo_plan_compute(&m, &a.req, a.memory, &cfg, &plan, err,
	                      sizeof(err)) != VGMO_OK)
		return cli_fail("%s", err);
	if (a.json)
		return print_json(&a, &m, &cfg, &plan);
	print_text(&a, &m, &cfg, &plan);
	return CLI_EXIT_OK;
}
