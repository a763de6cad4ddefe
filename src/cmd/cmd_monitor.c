/*
 * cmd_monitor.c - `vgmo monitor [--duration S] [--interval S]`: the
 * daemon's status every interval. On a terminal, a live view redrawn in
 * place with plain ANSI (a memory bar per GPU, status words coloured, the
 * batch size, the last actions); otherwise one plain line per sample
 * (--json: one JSON object per line). Ends after --duration, or on Ctrl-C
 * (SIGINT) or SIGTERM, restoring the cursor.
 *
 * The two signals stay blocked while it runs and are taken with
 * sigtimedwait() between samples: no handler, no global flag, and a
 * signal that arrives during a request ends the wait that follows it.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "remote.h"
#include "status_table.h"

#define DEFAULT_INTERVAL 5.0
#define MIN_INTERVAL 0.1
#define MAX_SECONDS 31536000.0 /* a year */
#define RECENT_ACTIONS 5

enum { OPT_JSON = 1, OPT_DURATION, OPT_INTERVAL };

static const cli_option monitor_options[] = {
        {"duration", "S", "stop after S seconds (default: until Ctrl-C)",
         OPT_DURATION},
        {"interval", "S", "seconds between samples (default 5)", OPT_INTERVAL},
        {"json", NULL, "one JSON status object per line", OPT_JSON},
        {NULL, NULL, NULL, 0}};

static const cli_group monitor_groups[] = {
        {"Options", monitor_options}, {"Daemon", remote_options}, {NULL, NULL}};

struct monitor_args {
	remote_opts remote;
	double duration; /* 0: until a signal */
	double interval;
	bool json;
	bool help;
};

struct monitor {
	remote *c;
	const struct monitor_args *a;
	bool live;   /* redraw in place */
	bool colour; /* colour the live view */
	bool drawn;  /* a frame is on the screen (the cursor is hidden) */
	sigset_t signals;
};

static int parse_seconds(const char *cmd, const char *name, const char *value,
                         double *out)
{
	if (!cli_parse_double(value, out) || *out < MIN_INTERVAL ||
	    *out > MAX_SECONDS)
		return cli_usage_error(cmd,
		                       "invalid --%s '%s': not a number of "
		                       "seconds in %.1f..%.0f",
		                       name, value, MIN_INTERVAL, MAX_SECONDS);
	return CLI_EXIT_OK;
}

static int on_option(void *ctx, const char *cmd, const cli_option *opt,
                     const char *value)
{
	struct monitor_args *a = ctx;

	if (opt->id == OPT_JSON)
		a->json = true;
	else if (opt->id == OPT_DURATION)
		return parse_seconds(cmd, opt->name, value, &a->duration);
	else if (opt->id == OPT_INTERVAL)
		return parse_seconds(cmd, opt->name, value, &a->interval);
	return CLI_EXIT_OK;
}

static int parse_args(struct monitor_args *a, int argc, char **argv)
{
	memset(a, 0, sizeof(*a));
	remote_opts_init(&a->remote);
	a->interval = DEFAULT_INTERVAL;
	return remote_parse_args(argc, argv, monitor_groups, &a->remote,
	                         on_option, NULL, a, &a->help);
}

/* --------------------------------------------------------------- timing */

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits until monotonic time `until`; true when SIGINT or SIGTERM came
 * (or was already pending). */
static bool wait_until(const sigset_t *signals, double until)
{
	for (;;) {
		double left = until - now_mono();
		struct timespec ts = {0, 0};

		if (left > 0.0) {
			ts.tv_sec = (time_t)left;
			ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		}
		if (sigtimedwait(signals, NULL, &ts) > 0)
			return true;
		if (errno == EINTR)
			continue;
		if (left <= 0.0 || errno != EAGAIN)
			return false;
	}
}

/* ---------------------------------------------------------- plain lines */

static void print_line(const json_t *st)
{
	double t = 0, usage;
	char when[32], use[16], batch[80];
	const char *status = remote_json_string(st, "status");

	if (!remote_json_number(st, "timestamp", &t))
		t = (double)time(NULL);
	remote_format_time(t, when, sizeof(when));
	if (remote_json_number(st, "memory_usage_percent", &usage))
		snprintf(use, sizeof(use), "%.1f%%", usage * 100.0);
	else
		snprintf(use, sizeof(use), "-");
	remote_batch_text(st, "current_batch_size", batch, sizeof(batch));
	printf("%s  %-8s  usage %6s  batch %s\n", when, status ? status : "-",
	       use, batch);
}

/* ------------------------------------------------------------ live view */

static int term_columns(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/* Ends a line of the live view, clearing what the last frame left. */
static void eol(FILE *f)
{
	fputs("\033[K\n", f);
}

static void draw_bar(FILE *f, double usage, const char *status, int width,
                     bool colour)
{
	const char *c =
	        colour && status ? status_table_colour_of(status) : NULL;
	int fill = (int)(usage * width + 0.5);

	if (fill < 0)
		fill = 0;
	if (fill > width)
		fill = width;
	fputc('[', f);
	if (c != NULL)
		fputs(c, f);
	for (int i = 0; i < fill; i++)
		fputc('#', f);
	if (c != NULL)
		fputs("\033[0m", f);
	for (int i = fill; i < width; i++)
		fputc('.', f);
	fputc(']', f);
}

static void draw_gpu(FILE *f, const json_t *g, int bar, bool colour)
{
	bool up = json_is_true(json_object_get(g, "up"));
	const char *status = up ? remote_json_string(g, "status") : "down";
	const char *name = remote_json_string(g, "name");
	double idx = 0, usage, used, total, v;

	remote_json_number(g, "index", &idx);
	fprintf(f, "GPU %.0f  %s  ", idx, name ? name : "-");
	status_table_word(f, status ? status : "-", 0, colour);
	eol(f);
	if (!up) {
		const char *why = remote_json_string(g, "down_reason");

		fprintf(f, "  down: %s", why ? why : "no reason given");
		eol(f);
		return;
	}
	fputs("  ", f);
	if (remote_json_number(g, "memory_usage_percent", &usage)) {
		draw_bar(f, usage, status, bar, colour);
		fprintf(f, " %5.1f%%", usage * 100.0);
	} else {
		fputs("memory -", f);
	}
	if (remote_json_number(g, "memory_used_bytes", &used) &&
	    remote_json_number(g, "memory_total_bytes", &total))
		fprintf(f, "  %.0f/%.0f MiB", used / (double)VGMO_MIB,
		        total / (double)VGMO_MIB);
	eol(f);
	fputs("  ", f);
	if (remote_json_number(g, "gpu_utilization", &v))
		fprintf(f, "util %.0f%%  ", v * 100.0);
	if (remote_json_number(g, "gpu_temperature", &v))
		fprintf(f, "temp %.0f C  ", v);
	if (remote_json_number(g, "gpu_power_usage", &v))
		fprintf(f, "power %.0f W  ", v);
	if (remote_json_number(g, "memory_fragmentation", &v))
		fprintf(f, "frag %.1f%%", v * 100.0);
	eol(f);
}

static void draw_actions(FILE *f, const json_t *history)
{
	const json_t *r;
	size_t i;

	fputs("recent actions:", f);
	eol(f);
	if (json_array_size(history) == 0) {
		fputs("  none yet", f);
		eol(f);
	}
	json_array_foreach(history, i, r)
	{
		const char *action = remote_json_string(r, "action_taken");
		double t = 0, o, n;
		char when[32];

		remote_json_number(r, "timestamp", &t);
		remote_format_time(t, when, sizeof(when));
		fprintf(f, "  %s  %-33s", when + (when[0] != '-' ? 11 : 0),
		        action ? action : "-");
		if (remote_json_number(r, "new_batch_size", &n) &&
		    remote_json_number(r, "old_batch_size", &o))
			fprintf(f, "  batch %.0f -> %.0f", o, n);
		if (!json_is_true(json_object_get(r, "success")))
			fputs("  FAILED", f);
		eol(f);
	}
}

static void draw_frame(FILE *f, struct monitor *m, const json_t *st,
                       const json_t *history)
{
	const json_t *mon = json_object_get(st, "monitoring");
	const char *strategy = remote_json_string(st, "strategy");
	const char *backend = remote_json_string(st, "backend");
	const char *status = remote_json_string(st, "status");
	int bar = term_columns() - 40;
	char batch[80];
	const json_t *g;
	char when[32];
	size_t i;

	bar = bar < 10 ? 10 : (bar > 60 ? 60 : bar);
	remote_format_time((double)time(NULL), when, sizeof(when));
	if (!m->drawn)
		fputs("\033[?25l\033[2J", f); /* hide the cursor, clear */
	m->drawn = true;
	fputs("\033[H", f);
	fprintf(f, "vgmo monitor  %s  %s  (every %g s, Ctrl-C to quit)",
	        remote_url(m->c), when, m->a->interval);
	eol(f);
	eol(f);
	fputs("status: ", f);
	status_table_word(f, status ? status : "-", 0, m->colour);
	fprintf(f, "   optimization: %s",
	        json_is_true(json_object_get(st, "optimization_enabled"))
	                ? "enabled"
	                : "disabled");
	if (json_is_boolean(mon))
		fprintf(f, "   monitoring: %s",
		        json_is_true(mon) ? "on" : "off");
	eol(f);
	remote_batch_text(st, "current_batch_size", batch, sizeof(batch));
	fprintf(f, "batch size: %s", batch);
	fprintf(f, "   strategy: %s   backend: %s", strategy ? strategy : "-",
	        backend ? backend : "-");
	eol(f);
	eol(f);
	json_array_foreach(json_object_get(st, "gpus"), i, g)
	{
		draw_gpu(f, g, bar, m->colour);
		eol(f);
	}
	draw_actions(f, history);
	fputs("\033[J", f);
	fflush(f);
}

/* ----------------------------------------------------------------- loop */

static int sample(struct monitor *m)
{
	remote_response st = {0}, hist = {0};
	char path[64];
	char *line;
	int rc;

	rc = remote_call(m->c, "GET", "/v1/status", NULL, &st);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (m->a->json) {
		line = json_dumps(st.json,
		                  JSON_COMPACT | JSON_REAL_PRECISION(15));
		if (line == NULL) {
			rc = cli_fail("out of memory");
			goto out;
		}
		puts(line);
		free(line);
	} else if (!m->live) {
		print_line(st.json);
	} else {
		snprintf(path, sizeof(path), "/v1/history?limit=%d",
		         RECENT_ACTIONS);
		rc = remote_call(m->c, "GET", path, NULL, &hist);
		if (rc != CLI_EXIT_OK)
			goto out;
		draw_frame(stdout, m, st.json,
		           json_object_get(hist.json, "history"));
	}
	fflush(stdout);
out:
	remote_response_free(&hist);
	remote_response_free(&st);
	return rc;
}

static int run(struct monitor *m)
{
	double start = now_mono(), next = start;
	double end = start + m->a->duration;
	int rc;

	for (;;) {
		rc = sample(m);
		if (rc != CLI_EXIT_OK)
			return rc;
		next += m->a->interval;
		if (m->a->duration > 0.0 && next >= end) {
			wait_until(&m->signals, end);
			return CLI_EXIT_OK;
		}
		if (wait_until(&m->signals, next))
			return CLI_EXIT_OK;
	}
}

int cmd_monitor(int argc, char **argv)
{
	struct monitor_args a;
	struct monitor m = {0};
	const char *term = getenv("TERM");
	sigset_t old;
	int rc;

	rc = parse_args(&a, argc, argv);
	if (rc != CLI_EXIT_OK || a.help) {
		if (rc == CLI_EXIT_OK)
			cli_print_help(
			        stdout,
			        "monitor [--duration S] [--interval S] "
			        "[options]",
			        "Shows the daemon's status every interval: on "
			        "a "
			        "terminal a live view (memory\nbars, status, "
			        "batch size, recent actions), else one line "
			        "per "
			        "sample. Ends\nafter --duration, or on Ctrl-C.",
			        monitor_groups);
		return rc;
	}
	m.a = &a;
	m.live = !a.json && isatty(STDOUT_FILENO) &&
	         !(term != NULL && strcmp(term, "dumb") == 0);
	m.colour = m.live && status_table_colour();
	rc = remote_open(&m.c, &a.remote);
	if (rc != CLI_EXIT_OK)
		return rc;
	sigemptyset(&m.signals);
	sigaddset(&m.signals, SIGINT);
	sigaddset(&m.signals, SIGTERM);
	sigprocmask(SIG_BLOCK, &m.signals, &old);
	rc = run(&m);
	if (m.drawn)
		fputs("\033[?25h", stdout); /* the cursor again */
	fflush(stdout);
	/* Take a signal still pending, so unblocking does not kill us. */
	while (wait_until(&m.signals, 0.0))
		;
	sigprocmask(SIG_SETMASK, &old, NULL);
	remote_close(m.c);
	return rc;
}
