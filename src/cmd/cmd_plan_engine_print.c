/*
 * cmd_plan_engine_print.c - what `vgmo plan --engine` prints: the engine's
 * settings as flags to paste (one line of why each) and the memory they
 * take, as text, or as JSON with --json.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cmd_plan.h"

#define GIB ((double)VGMO_GIB)

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

void plan_engine_print_text(const plan_engine_args *a, const vgmo_vlm_model *m,
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

int plan_engine_print_json(const plan_engine_args *a, const vgmo_vlm_model *m,
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
