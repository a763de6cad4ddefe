/*
 * api_landing.c - GET / on the main port: what a person finds who opens the
 * daemon's address in a browser, as Prometheus exporters have. The
 * version, the backend, links to /metrics, /health, /ready, /v1/status and
 * /v1/history, and a table of the GPUs and workers, rendered here from the
 * status JSON and refreshed by a few lines of script served from its own
 * path (/ui/landing.js): no inline script or style, no external asset, so
 * the page works under the strict Content-Security-Policy it is sent with.
 * Links are relative, so the page works behind a proxy's path prefix too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "api_util.h"
#include "daemon.h"

#define MIB ((double)VGMO_MIB)

static const char csp[] =
        "default-src 'none'; script-src 'self'; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/* Writes `s` with &, <, >, " and ' escaped for HTML text and attributes. */
static void put_html(FILE *f, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

/* One <td>: the number scaled and formatted, or "-" when it is unknown. */
static void put_num(FILE *f, const json_t *o, const char *key, double scale,
                    int digits)
{
	const json_t *v = json_object_get(o, key);

	fputs("<td>", f);
	if (json_is_number(v))
		fprintf(f, "%.*f", digits, json_number_value(v) * scale);
	else
		fputc('-', f);
	fputs("</td>", f);
}

static void put_text(FILE *f, const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	fputs("<td>", f);
	put_html(f, json_is_string(v) ? json_string_value(v) : "-");
	fputs("</td>", f);
}

static void put_gpus(FILE *f, const json_t *gpus)
{
	const json_t *g;
	size_t i;

	fputs("<table id=\"gpus\">\n<thead><tr><th>GPU</th><th>name</th>"
	      "<th>status</th><th>used MiB</th><th>total MiB</th>"
	      "<th>use %</th><th>frag %</th><th>batch</th></tr></thead>\n"
	      "<tbody>\n",
	      f);
	json_array_foreach(gpus, i, g)
	{
		fputs("<tr>", f);
		put_num(f, g, "index", 1.0, 0);
		put_text(f, g, "name");
		if (json_is_true(json_object_get(g, "up")))
			put_text(f, g, "status");
		else
			fputs("<td>down</td>", f);
		put_num(f, g, "memory_used_bytes", 1.0 / MIB, 0);
		put_num(f, g, "memory_total_bytes", 1.0 / MIB, 0);
		put_num(f, g, "memory_usage_percent", 100.0, 1);
		put_num(f, g, "memory_fragmentation", 100.0, 1);
		put_num(f, g, "current_batch_size", 1.0, 0);
		fputs("</tr>\n", f);
	}
	fputs("</tbody>\n</table>\n", f);
}

static void put_workers(FILE *f, const json_t *workers)
{
	const json_t *w;
	size_t i;

	fputs("<table id=\"workers\">\n<thead><tr><th>worker</th>"
	      "<th>name</th><th>GPU</th><th>batch</th><th>optimal</th>"
	      "<th>reports</th><th>OOMs</th></tr></thead>\n<tbody>\n",
	      f);
	json_array_foreach(workers, i, w)
	{
		fputs("<tr>", f);
		put_num(f, w, "id", 1.0, 0);
		put_text(f, w, "name");
		put_num(f, w, "gpu", 1.0, 0);
		put_num(f, w, "batch_size", 1.0, 0);
		put_num(f, w, "optimal_batch_size", 1.0, 0);
		put_num(f, w, "reports", 1.0, 0);
		put_num(f, w, "ooms", 1.0, 0);
		fputs("</tr>\n", f);
	}
	fputs("</tbody>\n</table>\n", f);
}

static void put_page(FILE *f, const json_t *st, bool monitoring)
{
	const char *backend = json_string_value(json_object_get(st, "backend"));
	const char *status = json_string_value(json_object_get(st, "status"));

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	      "<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width\">\n"
	      "<title>vgmo</title>\n</head>\n<body>\n",
	      f);
	fprintf(f, "<h1>vgmo %s</h1>\n", VGMO_VERSION);
	fputs("<p>GPU memory optimizer for vision-language-model inference. "
	      "Backend: <b id=\"backend\">",
	      f);
	put_html(f, backend ? backend : "-");
	if (backend != NULL && strcmp(backend, "sim") == 0)
		fputs(" (simulated GPU)", f);
	fputs("</b>. Status: <b id=\"status\">", f);
	put_html(f, status ? status : "-");
	fprintf(f, "</b>. Monitoring: <b id=\"monitoring\">%s</b>.</p>\n",
	        monitoring ? "on" : "off");
	fputs("<ul>\n"
	      "<li><a href=\"metrics\">/metrics</a>: Prometheus metrics</li>\n"
	      "<li><a href=\"health\">/health</a> and <a href=\"ready\">/ready"
	      "</a>: liveness and readiness</li>\n"
	      "<li><a href=\"v1/status\">/v1/status</a>: the status as JSON"
	      "</li>\n"
	      "<li><a href=\"v1/history\">/v1/history</a>: the optimization "
	      "history</li>\n"
	      "<li><a href=\"v1/config\">/v1/config</a>: the configuration"
	      "</li>\n</ul>\n<h2>GPUs</h2>\n",
	      f);
	put_gpus(f, json_object_get(st, "gpus"));
	fputs("<h2>Workers</h2>\n", f);
	put_workers(f, json_object_get(st, "workers"));
	fputs("<p id=\"updated\">Read when this page was served; "
	      "ui/landing.js refreshes it every 5 s.</p>\n"
	      "<script src=\"ui/landing.js\"></script>\n</body>\n</html>\n",
	      f);
}

void api_on_landing(void *ctx, const http_request *req, http_response *res)
{
	daemon_view v;
	json_t *st = NULL;
	char *text, *page = NULL;
	size_t len = 0;
	bool monitoring;
	FILE *f;

	(void)req;
	if (daemon_view_take(ctx, 0, &v) != VGMO_OK) {
		api_fail(res, VGMO_ERR_NOMEM, NULL,
		         "cannot read the engine's state");
		return;
	}
	text = vgmo_snapshot_status_json(v.snap, 0);
	monitoring = v.monitoring;
	daemon_view_release(&v);
	st = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	f = st ? open_memstream(&page, &len) : NULL;
	if (f == NULL) {
		json_decref(st);
		api_fail(res, VGMO_ERR_NOMEM, NULL, NULL);
		return;
	}
	put_page(f, st, monitoring);
	json_decref(st);
	if (fclose(f) != 0 || page == NULL) {
		free(page);
		api_fail(res, VGMO_ERR_NOMEM, NULL, NULL);
		return;
	}
	free(res->body);
	res->body = page;
	res->len = len;
	res->status = 200;
	res->content_type = "text/html; charset=utf-8";
	res->csp = csp;
}

/* Refreshes the two tables from v1/status every 5 s, with DOM calls only
 * (textContent, never innerHTML: names come from workers). */
static const char landing_js[] =
        "\"use strict\";\n"
        "(function () {\n"
        "  var MIB = 1048576;\n"
        "  function num(v, scale, digits) {\n"
        "    return typeof v === \"number\" ? (v * scale).toFixed(digits) "
        ": \"-\";\n"
        "  }\n"
        "  function text(v) { return typeof v === \"string\" ? v : \"-\"; "
        "}\n"
        "  function fill(id, rows) {\n"
        "    var body = document.querySelector(\"#\" + id + \" tbody\");\n"
        "    while (body.firstChild) body.removeChild(body.firstChild);\n"
        "    rows.forEach(function (cells) {\n"
        "      var tr = document.createElement(\"tr\");\n"
        "      cells.forEach(function (c) {\n"
        "        var td = document.createElement(\"td\");\n"
        "        td.textContent = c;\n"
        "        tr.appendChild(td);\n"
        "      });\n"
        "      body.appendChild(tr);\n"
        "    });\n"
        "  }\n"
        "  function show(s) {\n"
        "    document.getElementById(\"status\").textContent = "
        "text(s.status);\n"
        "    document.getElementById(\"monitoring\").textContent = "
        "s.monitoring ? \"on\" : \"off\";\n"
        "    fill(\"gpus\", (s.gpus || []).map(function (g) {\n"
        "      return [num(g.index, 1, 0), text(g.name),\n"
        "              g.up ? text(g.status) : \"down\",\n"
        "              num(g.memory_used_bytes, 1 / MIB, 0),\n"
        "              num(g.memory_total_bytes, 1 / MIB, 0),\n"
        "              num(g.memory_usage_percent, 100, 1),\n"
        "              num(g.memory_fragmentation, 100, 1),\n"
        "              num(g.current_batch_size, 1, 0)];\n"
        "    }));\n"
        "    fill(\"workers\", (s.workers || []).map(function (w) {\n"
        "      return [num(w.id, 1, 0), text(w.name), num(w.gpu, 1, 0),\n"
        "              num(w.batch_size, 1, 0), "
        "num(w.optimal_batch_size, 1, 0),\n"
        "              num(w.reports, 1, 0), num(w.ooms, 1, 0)];\n"
        "    }));\n"
        "    document.getElementById(\"updated\").textContent =\n"
        "      \"Updated \" + new Date().toLocaleTimeString() +\n"
        "      \"; refreshed every 5 s.\";\n"
        "  }\n"
        "  function tick() {\n"
        "    fetch(\"v1/status\", {cache: \"no-store\"})\n"
        "      .then(function (r) { return r.json(); })\n"
        "      .then(show)\n"
        "      .catch(function (e) {\n"
        "        document.getElementById(\"updated\").textContent =\n"
        "          \"Cannot read v1/status: \" + e + \"; retrying.\";\n"
        "      });\n"
        "  }\n"
        "  setInterval(tick, 5000);\n"
        "})();\n";

void api_on_landing_js(void *ctx, const http_request *req, http_response *res)
{
	(void)ctx;
	(void)req;
	free(res->body);
	res->body = malloc(sizeof(landing_js) - 1);
	if (res->body == NULL) {
		api_fail(res, VGMO_ERR_NOMEM, NULL, NULL);
		return;
	}
	memcpy(res->body, landing_js, sizeof(landing_js) - 1);
	res->len = sizeof(landing_js) - 1;
	res->status = 200;
	res->content_type = "text/javascript; charset=utf-8";
	res->csp = csp;
}
