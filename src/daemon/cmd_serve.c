/*
 * cmd_serve.c - `vgmo serve`: the node daemon. Parses its options, sets up
 * the daemon (daemon_setup.c), starts the loop and the two HTTP listeners
 * (http.c, api.c), prints the bound URLs, then waits for signals:
 * SIGTERM/SIGINT stop cleanly, SIGHUP reloads the configuration.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "cli.h"
#include "daemon_internal.h"
#include "http.h"
#include "http_listen.h"

#define DEFAULT_LISTEN "127.0.0.1:8080"
#define DEFAULT_HEALTH "127.0.0.1:8081"
#define DEFAULT_STATE_DIR "/var/lib/vgmo"
#define HEALTH_IDLE_TIMEOUT_S 5

enum {
	OPT_LISTEN = 1,
	OPT_HEALTH_LISTEN,
	OPT_STATE_DIR,
	OPT_TOKEN_FILE,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_LOG_LEVEL,
	OPT_LEASE,
	OPT_MAX_CLIENTS,
	OPT_MAX_CLIENT_WEIGHT
};

/* The --lease help below writes the default out. */
_Static_assert((int)VGMO_DEFAULT_LEASE_SECONDS == 30,
               "--lease help: update \"(default 30)\"");

static const cli_option serve_options[] = {
        {"listen", "HOST:PORT",
         "metrics and API address (default " DEFAULT_LISTEN ")", OPT_LISTEN},
        {"health-listen", "HOST:PORT",
         "health and readiness address (default " DEFAULT_HEALTH ")",
         OPT_HEALTH_LISTEN},
        {"state-dir", "DIR",
         "lasting state (default $STATE_DIRECTORY or " DEFAULT_STATE_DIR ")",
         OPT_STATE_DIR},
        {"auth-token-file", "FILE",
         "require this bearer token for every change", OPT_TOKEN_FILE},
        {"tls-cert", "FILE", "serve the API over HTTPS with this PEM cert",
         OPT_TLS_CERT},
        {"tls-key", "FILE", "the certificate's PEM private key", OPT_TLS_KEY},
        {"log-level", "LEVEL", "debug, info (default), warn or error",
         OPT_LOG_LEVEL},
        {"lease", "SECONDS",
         "a client silent this long is unhealthy, twice as long dropped "
         "(default 30)",
         OPT_LEASE},
        {"max-clients", "N",
         "registered clients at most; more are refused with 429 "
         "(default 1024)",
         OPT_MAX_CLIENTS},
        {"max-client-weight", "W",
         "the largest weight a client may register with (default 100)",
         OPT_MAX_CLIENT_WEIGHT},
        {NULL, NULL, NULL, 0}};

static const cli_group serve_groups[] = {
        {"Options", serve_options},
        {"Engine options", cli_engine_options},
        {"Configuration (overrides --config and VGMO_* variables)",
         cli_config_options},
        {NULL, NULL}};

struct serve_args {
	cli_engine_opts engine;
	const char *listen, *health, *state_dir, *token_file;
	const char *tls_cert, *tls_key;
	vgmo_log_level level;
	long max_clients;
	double max_client_weight;
	bool help;
};

static int on_option(void *ctx, const char *cmd, const cli_option *opt,
                     const char *value)
{
	struct serve_args *a = ctx;

	switch (opt->id) {
	case OPT_LISTEN:
		a->listen = value;
		break;
	case OPT_HEALTH_LISTEN:
		a->health = value;
		break;
	case OPT_STATE_DIR:
		a->state_dir = value;
		break;
	case OPT_TOKEN_FILE:
		a->token_file = value;
		break;
	case OPT_TLS_CERT:
		a->tls_cert = value;
		break;
	case OPT_TLS_KEY:
		a->tls_key = value;
		break;
	case OPT_LEASE:
		if (!cli_parse_double(value, &a->engine.lease_seconds) ||
		    a->engine.lease_seconds < 0.1 ||
		    a->engine.lease_seconds > 86400)
			return cli_usage_error(cmd,
			                       "invalid --lease '%s': "
			                       "expected seconds "
			                       "between 0.1 and 86400",
			                       value);
		break;
	case OPT_MAX_CLIENTS:
		if (!cli_parse_long(value, 1, 1000000, &a->max_clients))
			return cli_usage_error(cmd,
			                       "invalid --max-clients '%s': "
			                       "expected an integer from 1 to "
			                       "1000000",
			                       value);
		break;
	case OPT_MAX_CLIENT_WEIGHT:
		if (!cli_parse_double(value, &a->max_client_weight) ||
		    !(a->max_client_weight > 0) || a->max_client_weight > 1e6)
			return cli_usage_error(
			        cmd,
			        "invalid --max-client-weight "
			        "'%s': expected a number greater "
			        "than 0, at most 1000000",
			        value);
		break;
	case OPT_LOG_LEVEL:
		if (!vgmo_log_parse_level(value, &a->level))
			return cli_usage_error(
			        cmd,
			        "invalid --log-level '%s': expected "
			        "debug, info, warn or error",
			        value);
		break;
	default:
		return cli_engine_opts_set(&a->engine, cmd, opt, value);
	}
	return CLI_EXIT_OK;
}

static int parse_args(struct serve_args *a, int argc, char **argv)
{
	int rc;

	memset(a, 0, sizeof(*a));
	cli_engine_opts_init(&a->engine);
	a->listen = DEFAULT_LISTEN;
	a->health = DEFAULT_HEALTH;
	a->state_dir = getenv("STATE_DIRECTORY"); /* set by systemd */
	if (a->state_dir == NULL || a->state_dir[0] == '\0')
		a->state_dir = DEFAULT_STATE_DIR;
	a->level = VGMO_LOG_INFO;
	a->max_clients = DAEMON_MAX_CLIENTS;
	a->max_client_weight = DAEMON_MAX_CLIENT_WEIGHT;
	rc = cli_parse_args(argc, argv, serve_groups, on_option, NULL, a,
	                    &a->help);
	if (rc != CLI_EXIT_OK || a->help)
		return rc;
	/* Malformed flags are usage errors, found before any backend
	 * loads. */
	if (!http_listen_check(a->listen))
		return cli_usage_error(argv[0],
		                       "invalid --listen '%s': expected "
		                       "HOST:PORT or [IPV6]:PORT, e.g. "
		                       "127.0.0.1:8080",
		                       a->listen);
	if (!http_listen_check(a->health))
		return cli_usage_error(argv[0],
		                       "invalid --health-listen '%s': "
		                       "expected HOST:PORT or [IPV6]:PORT, "
		                       "e.g. 127.0.0.1:8081",
		                       a->health);
	if ((a->tls_cert == NULL) != (a->tls_key == NULL))
		return cli_usage_error(argv[0], "--tls-cert and --tls-key go "
		                                "together");
	/* Files that cannot be read fail now, not after the backend
	 * loaded (they are read again, for real, when the server starts). */
	if (a->tls_cert && access(a->tls_cert, R_OK) != 0)
		return cli_fail("cannot read --tls-cert %s: %s", a->tls_cert,
		                strerror(errno));
	if (a->tls_key && access(a->tls_key, R_OK) != 0)
		return cli_fail("cannot read --tls-key %s: %s", a->tls_key,
		                strerror(errno));
	return CLI_EXIT_OK;
}

/* A secret that others on the host can read is logged (not refused: a
 * mounted secret may have its own rules). */
static void warn_if_readable(vgmo_log *log, const char *path, const char *what)
{
	struct stat sb;
	char q[600];

	if (path != NULL && stat(path, &sb) == 0 && (sb.st_mode & 0077))
		vgmo_log_write(log, VGMO_LOG_WARN,
		               "a secret file is readable "
		               "by others: chmod 600 it",
		               "what=%s file=%s mode=%04o", what,
		               vgmo_log_quote(path, q, sizeof(q)),
		               (unsigned)(sb.st_mode & 07777));
}

/* Signals go to one thread from the start: a SIGTERM during start-up
 * ends the process at once (every state write is atomic, and the next
 * start removes a temp file a write left); later ones are handed to the
 * main thread, which stops cleanly or reloads. */
typedef struct signals {
	sigset_t set;
	vgmo_log *log;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool ready; /* start-up is over */
	bool stop, reload;
	int stop_sig;
} signals;

static void *signal_main(void *arg)
{
	signals *g = arg;
	int sig;

	for (;;) {
		if (sigwait(&g->set, &sig) != 0)
			continue;
		pthread_mutex_lock(&g->lock);
		if (sig != SIGHUP && !g->ready) {
			pthread_mutex_unlock(&g->lock);
			vgmo_log_write(g->log, VGMO_LOG_INFO,
			               "stopping during start-up", "signal=%s",
			               sig == SIGTERM ? "SIGTERM" : "SIGINT");
			_exit(CLI_EXIT_OK);
		}
		if (sig == SIGHUP) {
			g->reload = true; /* after start-up, if during it */
		} else {
			g->stop = true;
			g->stop_sig = sig;
		}
		pthread_cond_signal(&g->cond);
		pthread_mutex_unlock(&g->lock);
		if (sig != SIGHUP)
			return NULL;
	}
}

/* Returns when asked to stop; reloads on SIGHUP meanwhile. */
static void wait_for_signals(vgmo_daemon *d, signals *g)
{
	pthread_mutex_lock(&g->lock);
	g->ready = true;
	for (;;) {
		while (!g->stop && !g->reload)
			pthread_cond_wait(&g->cond, &g->lock);
		if (g->stop)
			break;
		g->reload = false;
		pthread_mutex_unlock(&g->lock);
		vgmo_log_write(d->log, VGMO_LOG_INFO,
		               "SIGHUP: reloading the configuration", NULL);
		daemon_reload(d);
		pthread_mutex_lock(&g->lock);
	}
	pthread_mutex_unlock(&g->lock);
	vgmo_log_write(d->log, VGMO_LOG_INFO, "stopping", "signal=%s",
	               g->stop_sig == SIGTERM ? "SIGTERM" : "SIGINT");
	pthread_join(g->thread, NULL);
}

int cmd_serve(int argc, char **argv)
{
	struct serve_args a;
	vgmo_daemon *d = NULL;
	http_server *main_srv = NULL, *health_srv = NULL;
	http_listener main_l = {.fd = -1}, health_l = {.fd = -1};
	vgmo_log log = {VGMO_LOG_INFO, stderr};
	char err[512], q[600], bound[HTTP_ADDR_MAX], hbound[HTTP_ADDR_MAX];
	const char *scheme;
	signals g = {.log = &log};
	bool watching = false;
	int rc = parse_args(&a, argc, argv);

	if (rc != CLI_EXIT_OK)
		return rc;
	if (a.help) {
		cli_print_help(stdout, "serve [options]",
		               "Runs the node daemon: samples every GPU, "
		               "optimizes batch sizes, serves\nPrometheus "
		               "/metrics, /health, /ready and the JSON API "
		               "(docs/api.md).",
		               serve_groups);
		return CLI_EXIT_OK;
	}
	log.level = a.level;
	/* Every thread created from here on inherits the blocked set, so
	 * only the signal thread sees these signals. */
	sigemptyset(&g.set);
	sigaddset(&g.set, SIGTERM);
	sigaddset(&g.set, SIGINT);
	sigaddset(&g.set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &g.set, NULL);
	signal(SIGPIPE, SIG_IGN);
	pthread_mutex_init(&g.lock, NULL);
	pthread_cond_init(&g.cond, NULL);
	if (pthread_create(&g.thread, NULL, signal_main, &g) != 0) {
		rc = cli_fail("cannot start the signal thread");
		goto out;
	}
	watching = true;

	/* The addresses first: a daemon that cannot serve touches no
	 * state. */
	if (http_listener_open(&main_l, a.listen, err, sizeof(err)) !=
	            VGMO_OK ||
	    http_listener_open(&health_l, a.health, err, sizeof(err)) !=
	            VGMO_OK) {
		rc = cli_fail("%s", err);
		goto out;
	}
	/* Probes are one short request: a connection silent for 5 s on the
	 * health listener is cut, so slow ones cannot keep liveness out. */
	health_l.idle_timeout_s = HEALTH_IDLE_TIMEOUT_S;
	warn_if_readable(&log, a.tls_key, "the TLS key file");
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		rc = cli_fail("out of memory");
		goto out;
	}
	err[0] = '\0';
	if (daemon_init(d, &a.engine, a.state_dir, a.token_file, &log, err,
	                sizeof(err)) != VGMO_OK) {
		/* An empty err: the reason is on stderr already. */
		rc = err[0] ? cli_fail("%s", err) : CLI_EXIT_FAILURE;
		goto out;
	}
	d->max_client_weight = a.max_client_weight;
	vgmo_engine_set_max_clients(d->engine, (size_t)a.max_clients);
	if (daemon_start_loop(d) != VGMO_OK) {
		rc = cli_fail("cannot start the monitoring loop");
		goto out;
	}
	if (http_server_start(&main_srv, &main_l, a.tls_cert, a.tls_key,
	                      api_main_routes, d, bound, sizeof(bound), err,
	                      sizeof(err)) != VGMO_OK ||
	    http_server_start(&health_srv, &health_l, NULL, NULL,
	                      api_health_routes, d, hbound, sizeof(hbound), err,
	                      sizeof(err)) != VGMO_OK) {
		rc = cli_fail("%s", err);
		goto out;
	}
	scheme = a.tls_cert ? "https" : "http";
	printf("vgmo %s serving (backend %s)\n", VGMO_VERSION,
	       vgmo_engine_backend(d->engine));
	printf("metrics: %s://%s/metrics\n", scheme, bound);
	printf("api:     %s://%s/v1/status\n", scheme, bound);
	printf("health:  http://%s/health\n", hbound);
	printf("ready:   http://%s/ready\n", hbound);
	fflush(stdout);
	vgmo_log_write(&log, VGMO_LOG_INFO, "serving",
	               "backend=%s listen=%s health_listen=%s state_dir=%s "
	               "auth=%s tls=%s",
	               vgmo_engine_backend(d->engine), bound, hbound,
	               vgmo_log_quote(a.state_dir, q, sizeof(q)),
	               d->token ? "token" : "none", a.tls_cert ? "on" : "off");
	wait_for_signals(d, &g);
	watching = false;
	rc = CLI_EXIT_OK;
out:
	if (watching) {
		pthread_cancel(g.thread);
		pthread_join(g.thread, NULL);
	}
	http_server_stop(main_srv);
	http_server_stop(health_srv);
	http_listener_close(&main_l);
	http_listener_close(&health_l);
	if (d != NULL)
		daemon_shutdown(d);
	free(d);
	pthread_cond_destroy(&g.cond);
	pthread_mutex_destroy(&g.lock);
	return rc;
}
