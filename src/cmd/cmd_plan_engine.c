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

#define GIB 1073741824.0

enum {
	OPT_ENGINE = 1,
	OPT_MODEL,
	OPT_GPU,
	OPT_GPU_MEMORY,
	OPT_INSTANCES,
	OPT_IMAGE,
	OPT_MAX_PIXELS,
	OPT_IMAGES,
	OPT_TEXT,
	OPT_OUTPUT,
	OPT_CONCURRENCY,
	OPT_DTYPE,
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
         OPT_IMAGE},
        {"max-pixels", "N", "pixel cap per image instead of --image",
         OPT_MAX_PIXELS},
        {"images-per-request", "N", "images in one request (default 1)",
         OPT_IMAGES},
        {"text-tokens", "N", "prompt text tokens (default 128)", OPT_TEXT},
        {"max-output-tokens", "N", "tokens generated per request (default 256)",
         OPT_OUTPUT},
        {"concurrency", "N",
         "requests in flight wanted per instance (default: all that fit)",
         OPT_CONCURRENCY},
        {"dtype", "bf16|fp16|fp8", "weights and KV cache (default bf16)",
         OPT_DTYPE},
        {"config", "FILE", "memory_threshold_critical sets the margin (JSON)",
         OPT_CONFIG},
        {"json", NULL, "print the settings as JSON", OPT_JSON},
        {NULL, NULL, NULL, 0}};

static const cli_group groups[] = {{"Options", options},
                                   {"Live node (optional)", remote_options},
                                   {NULL, NULL}};

typedef struct args {
	remote_opts remote;
	vgmo_serving_engine engine;
	const char *engine_name, *model, *gpu, *config;
	uint64_t memory;
	bool memory_given;
	vgmo_serving_request req;
	bool json, help;
} args;

static int set_option(void *ctx, const char *cmd, const cli_option *o,
                      const char *v)
{
	args *a = ctx;
	long l;

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
	case OPT_IMAGE:
		return plan_shape_option(cmd, o->name, PLAN_OPT_IMAGE, v, 1,
		                         &a->req.shape);
	case OPT_MAX_PIXELS:
		if (!cli_parse_long(v, 1, 1000000000L, &l))
			return cli_usage_error(
			        cmd,
			        "invalid --max-pixels '%s': not an "
			        "integer in 1..1000000000",
			        v);
		a->req.max_pixels = (uint64_t)l;
		break;
	case OPT_IMAGES:
		return plan_shape_option(cmd, o->name, PLAN_OPT_IMAGES, v, 1,
		                         &a->req.shape);
	case OPT_TEXT:
		return plan_shape_option(cmd, o->name, PLAN_OPT_TEXT, v, 1,
		                         &a->req.shape);
	case OPT_OUTPUT:
		return plan_shape_option(cmd, o->name, PLAN_OPT_OUTPUT, v, 1,
		                         &a->req.shape);
	case OPT_CONCURRENCY:
		return plan_count_option(cmd, o->name, v, 1,
		                         &a->req.concurrency);
	case OPT_DTYPE:
		return plan_shape_option(cmd, o->name, PLAN_OPT_DTYPE, v, 1,
		                         &a->req.shape);
	case OPT_CONFIG:
		a->config = v;
		break;
	case OPT_JSON:
		a->json = true;
		break;
	}
	return CLI_EXIT_OK;
}

static int parse_args(args *a, int argc, char **argv)
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
static int resolve_gpu(args *a, vgmo_serving_node *node, bool *live)
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

static double gib(uint64_t b)
{
	return (double)b / GIB;
}

static const char *launcher(vgmo_serving_engine e)
{
	switch (e) {
	case VGMO_SERVING_VLLM:
		return "vllm serve \"$MODEL\"";
	case VGMO_SERVING_SGLANG:
		return "python -m sglang.launch_server --model-path \"$MODEL\"";
	case VGMO_SERVING_TGI:
		return "text-generation-launcher --model-id \"$MODEL\"";
	case VGMO_SERVING_TRANSFORMERS:
	default:
		return NULL;
	}
}

static void print_paste(const vgmo_serving_plan *p, unsigned instance)
{
	printf("  %s", launcher(p->engine));
	for (int i = 0; i < p->nflags; i++) {
		const char *v = p->flags[i].value;
		bool fraction = i == 0 && p->engine != VGMO_SERVING_VLLM;

		if (fraction)
			printf(" %s %.2f", p->flags[i].name,
			       p->fraction[instance]);
		else
			printf(v[0] == '{' ? " %s '%s'" : " %s %s",
			       p->flags[i].name, v);
	}
	putchar('\n');
}

static void print_text(const args *a, const vgmo_vlm_model *m,
                       const vgmo_serving_node *node, bool live,
                       const vgmo_serving_plan *p)
{
	const vgmo_plan_request *s = &a->req.shape;

	printf("%s settings for %s (%s) on ",
	       vgmo_serving_engine_name(p->engine), m->name,
	       vgmo_dtype_name(s->dtype));
	if (live)
		printf("GPU %s \"%s\" at %s: %.1f GiB, %.1f GiB free now\n",
		       a->gpu ? a->gpu : "0", node->gpu_name, a->remote.server,
		       gib(p->total_bytes), gib(p->free_bytes));
	else
		printf("%s (%.1f GiB)\n", a->gpu ? a->gpu : "GPU",
		       gib(p->total_bytes));
	printf("request: %u image(s) of %u tokens", s->images, p->image_tokens);
	if (p->max_pixels)
		printf(" (max_pixels %llu)", (unsigned long long)p->max_pixels);
	printf(", %u text, %u output tokens; %u instance(s), %.1f GiB each "
	       "(margin %.1f GiB)\n\n",
	       s->text_tokens, s->output_tokens, p->instances,
	       gib(p->share_bytes), gib(p->margin_bytes));
	for (int i = 0; i < p->nflags; i++)
		printf("  %-28s %s\n      %s\n", p->flags[i].name,
		       p->flags[i].value, p->flags[i].why);
	if (p->engine == VGMO_SERVING_TRANSFORMERS) {
		printf("\npaste:\n  processor = AutoProcessor.from_pretrained("
		       "MODEL%s%s)\n  batch_size = %s\n  out = model.generate("
		       "**inputs, max_new_tokens=%u)\n",
		       p->max_pixels ? ", max_pixels=" : "",
		       p->max_pixels ? p->flags[1].value : "",
		       p->flags[0].value, s->output_tokens);
	} else {
		puts("\npaste:");
		for (unsigned j = 0; j < p->instances; j++) {
			if (p->instances > 1 &&
			    (p->engine != VGMO_SERVING_VLLM || j == 0))
				printf("  # instance %u%s\n", j + 1,
				       p->engine == VGMO_SERVING_VLLM
				               ? " (every instance alike)"
				       : j == 0 ? ", started first"
				                : ", started after the ones "
				                  "above");
			if (p->engine != VGMO_SERVING_VLLM || j == 0)
				print_paste(p, j);
		}
	}
	printf("\n%s with these settings, per instance: %.2f GiB in "
	       "all (context included), KV cache %.2f GiB = %llu tokens = "
	       "%u sequences at full length; free once %u run: %.2f GiB\n",
	       p->engine == VGMO_SERVING_TRANSFORMERS
	               ? "vgmo's estimate of the loop"
	       : p->engine == VGMO_SERVING_VLLM   ? "vLLM's allocation rule"
	       : p->engine == VGMO_SERVING_SGLANG ? "SGLang's allocation rule"
	                                          : "TGI's allocation rule",
	       gib(p->instance_bytes), gib(p->kv_pool_bytes),
	       (unsigned long long)p->kv_pool_tokens, p->seqs_at_max_len,
	       p->instances, (double)p->headroom_bytes / GIB);
	if (live && node->processes >= 0)
		printf("processes on this GPU: %d, holding %.1f GiB (their "
		       "memory is out of the free figure)\n",
		       node->processes, gib(node->process_bytes));
	if (live && node->clients)
		printf("vgmo clients on this GPU: %s (budgets %.1f GiB); their "
		       "budgets shrink once this memory shows as used\n",
		       node->client_names, gib(node->client_budget_bytes));
}

static void put_u64(json_t *o, const char *k, uint64_t v)
{
	json_object_set_new(o, k, json_integer((json_int_t)v));
}

/* The settings as the engine's Python keyword arguments
 * (vllm.LLM(**kwargs), ray.data.llm's engine_kwargs): "--max-num-seqs"
 * -> "max_num_seqs", values typed. */
static json_t *kwargs_json(const vgmo_serving_plan *p)
{
	json_t *o = json_object();

	for (int i = 0; o && i < p->nflags; i++) {
		const char *v = p->flags[i].value, *n = p->flags[i].name;
		char key[sizeof(p->flags[i].name)];
		json_t *jv;
		size_t k = 0;

		while (*n == '-')
			n++;
		for (; *n && k + 1 < sizeof(key); n++)
			key[k++] = *n == '-' ? '_' : *n;
		key[k] = '\0';
		if (v[0] == '{')
			jv = json_loads(v, 0, NULL);
		else if (strchr(v, '.'))
			jv = json_real(atof(v));
		else
			jv = json_integer((json_int_t)strtoll(v, NULL, 10));
		json_object_set_new(o, key, jv ? jv : json_string(v));
	}
	return o;
}

static int print_json(const args *a, const vgmo_vlm_model *m,
                      const vgmo_serving_node *node, bool live,
                      const vgmo_serving_plan *p)
{
	json_t *o = json_object(), *gpu = json_object(), *req = json_object();
	json_t *mem = json_object(), *set = json_object(), *why = json_object();
	json_t *fr = json_array(), *pred = json_object(), *cl = NULL;
	char *s = NULL;

	if (!o || !gpu || !req || !mem || !set || !why || !fr || !pred)
		goto out;
	json_object_set_new(o, "engine",
	                    json_string(vgmo_serving_engine_name(p->engine)));
	json_object_set_new(o, "model", json_string(m->name));
	json_object_set_new(gpu, "preset",
	                    a->gpu && !live ? json_string(a->gpu)
	                                    : json_null());
	json_object_set_new(gpu, "server",
	                    live ? json_string(a->remote.server) : json_null());
	json_object_set_new(gpu, "index",
	                    live ? json_integer(a->gpu ? atoi(a->gpu) : 0)
	                         : json_null());
	put_u64(gpu, "total_bytes", p->total_bytes);
	json_object_set_new(gpu, "free_bytes",
	                    live ? json_integer((json_int_t)p->free_bytes)
	                         : json_null());
	json_object_set(o, "gpu", gpu);
	json_object_set_new(req, "dtype",
	                    json_string(vgmo_dtype_name(a->req.shape.dtype)));
	put_u64(req, "images", a->req.shape.images);
	put_u64(req, "image_tokens", p->image_tokens);
	json_object_set_new(req, "max_pixels",
	                    p->max_pixels
	                            ? json_integer((json_int_t)p->max_pixels)
	                            : json_null());
	put_u64(req, "text_tokens", a->req.shape.text_tokens);
	put_u64(req, "output_tokens", a->req.shape.output_tokens);
	put_u64(req, "prompt_tokens", p->prompt_tokens);
	json_object_set_new(req, "concurrency",
	                    a->req.concurrency
	                            ? json_integer(a->req.concurrency)
	                            : json_null());
	put_u64(req, "instances", p->instances);
	json_object_set(o, "request", req);
	put_u64(mem, "margin_bytes", p->margin_bytes);
	put_u64(mem, "share_bytes", p->share_bytes);
	put_u64(mem, "context_bytes", p->context_bytes);
	put_u64(mem, "weights_bytes", p->weights_bytes);
	put_u64(mem, "workspace_bytes", p->workspace_bytes);
	put_u64(mem, "activation_bytes", p->activation_bytes);
	put_u64(mem, "kv_bytes_per_token", p->kv_bytes_per_token);
	put_u64(mem, "kv_bytes_per_sequence", p->kv_bytes_per_seq);
	json_object_set(o, "memory", mem);
	for (int i = 0; i < p->nflags; i++) {
		json_object_set_new(set, p->flags[i].name,
		                    json_string(p->flags[i].value));
		json_object_set_new(why, p->flags[i].name,
		                    json_string(p->flags[i].why));
	}
	json_object_set(o, "settings", set);
	json_object_set_new(o, "kwargs", kwargs_json(p));
	json_object_set(o, "why", why);
	for (unsigned j = 0; j < p->instances; j++)
		json_array_append_new(fr, p->engine == VGMO_SERVING_TRANSFORMERS
		                                  ? json_null()
		                                  : json_real(p->fraction[j]));
	json_object_set(o, "fractions", fr);
	put_u64(pred, "instance_bytes", p->instance_bytes);
	put_u64(pred, "kv_pool_bytes", p->kv_pool_bytes);
	put_u64(pred, "kv_pool_tokens", p->kv_pool_tokens);
	put_u64(pred, "sequences_at_max_len", p->seqs_at_max_len);
	json_object_set_new(pred, "headroom_bytes",
	                    json_integer((json_int_t)p->headroom_bytes));
	json_object_set(o, "predicted", pred);
	if (live) {
		cl = json_object();
		if (cl == NULL)
			goto out;
		put_u64(cl, "count", node->clients);
		put_u64(cl, "budget_bytes", node->client_budget_bytes);
		json_object_set_new(cl, "names",
		                    json_string(node->client_names));
	}
	json_object_set(o, "clients", cl ? cl : json_null());
	json_object_set_new(o, "processes",
	                    live && node->processes >= 0
	                            ? json_pack("{s:i, s:I}", "count",
	                                        node->processes, "used_bytes",
	                                        (json_int_t)node->process_bytes)
	                            : json_null());
	s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
	                          JSON_REAL_PRECISION(6));
out:
	json_decref(cl);
	json_decref(pred);
	json_decref(fr);
	json_decref(why);
	json_decref(set);
	json_decref(mem);
	json_decref(req);
	json_decref(gpu);
	json_decref(o);
	return cli_put_json_text(s);
}

int cmd_plan_engine(int argc, char **argv)
{
	char err[1024] = "";
	vgmo_serving_node node;
	vgmo_serving_plan plan;
	vgmo_vlm_model m;
	vgmo_config cfg;
	bool live = false;
	args a;
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
		return print_json(&a, &m, &node, live, &plan);
	print_text(&a, &m, &node, live, &plan);
	return CLI_EXIT_OK;
}
