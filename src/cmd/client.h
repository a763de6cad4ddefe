/*
 * client.h - the commands that talk to `vgmo serve`: a small HTTP JSON
 * client over libcurl, and the options every such command takes.
 *
 * Where the daemon is: --server URL, else $VGMO_SERVER, else
 * http://127.0.0.1:8080. Its token: --token-file FILE, else
 * $VGMO_TOKEN_FILE, sent as "Authorization: Bearer <token>". HTTPS checks
 * the daemon's certificate against the system CAs, or --cacert FILE
 * ($VGMO_CACERT).
 *
 * client.c makes the requests over the library's transport
 * (lib/client_http.h, libcurl loaded at run time: the daemon does not
 * carry it) and words its failures; client_opts.c has the options and the
 * small JSON helpers the commands' printers share.
 */
#ifndef VGMO_SRC_CLIENT_H
#define VGMO_SRC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "cli.h"

#define CLIENT_DEFAULT_SERVER "http://127.0.0.1:8080"
#define CLIENT_CONNECT_TIMEOUT_MS 2000L
#define CLIENT_TOTAL_TIMEOUT_MS 10000L
#define CLIENT_BODY_MAX ((size_t)16 << 20) /* largest answer read */
#define CLIENT_URL_MAX 1024                /* longest --server URL */

/* Option ids of client_options[] (above every other table's ids). */
enum { CLI_ID_SERVER = 400, CLI_ID_TOKEN_FILE, CLI_ID_CACERT };

/* --server, --token-file, --cacert. */
extern const cli_option client_options[];

/* What the user said; strings point into argv. NULL: not given. */
typedef struct client_opts {
	const char *server;
	const char *token_file;
	const char *cacert;
} client_opts;

/* http:// or https://, a host, no blanks or control characters, no query
 * or fragment (paths are appended to it), shorter than CLIENT_URL_MAX. */
bool client_url_ok(const char *url);

/* Writes `url` to out, with "http://" in front when it names no scheme
 * ("127.0.0.1:8080"); true when the result passes client_url_ok. */
bool client_url_complete(const char *url, char *out, size_t size);

void client_opts_init(client_opts *o);
bool client_opts_owns(int id);
/* Records one client option; CLI_EXIT_USAGE after printing why (a URL
 * that is not http:// or https://). */
int client_opts_set(client_opts *o, const char *cmd, const cli_option *opt,
                    const char *value);

/* cli_parse_args for a command whose groups include client_options: records
 * the client options in *o itself and gives the others to `on_option`. */
int client_parse_args(int argc, char **argv, const cli_group *groups,
                      client_opts *o, cli_option_fn on_option,
                      cli_arg_fn on_arg, void *ctx, bool *help);

/* on_option of a command whose one option of its own is --json: ctx is a
 * bool set by it. */
int client_json_only(void *ctx, const char *cmd, const cli_option *opt,
                     const char *value);

/* One connection to the daemon (opaque; reused across calls). */
typedef struct client client;

/* Resolves the URL, token and CA file from `o` and the environment and
 * prepares a handle. CLI_EXIT_OK with *out set (free with client_close),
 * or CLI_EXIT_FAILURE after printing one line (empty or unreadable token
 * file, ...). */
int client_open(client **out, const client_opts *o);
void client_close(client *c);

/* The daemon's base URL, without a trailing '/'. */
const char *client_url(const client *c);

/* An answer with a 2xx status and a JSON body. */
typedef struct client_response {
	long status;
	char *body;   /* the raw body, NUL-terminated; owned */
	size_t len;   /* bytes in body */
	json_t *json; /* the body parsed; owned */
} client_response;

/* Frees what *r owns and zeroes it; safe on a zeroed response. */
void client_response_free(client_response *r);

/* Sends `method` `path` ("/v1/status") with `body` as JSON (NULL: no body)
 * and reads the answer. CLI_EXIT_OK with *resp filled (the caller frees it
 * with client_response_free) when the daemon answered 2xx with JSON.
 * Otherwise prints one line -- the daemon cannot be reached, or the
 * daemon's error.message (with a hint on 401) -- and returns
 * CLI_EXIT_FAILURE with *resp zeroed. */
int client_call(client *c, const char *method, const char *path,
                const json_t *body, client_response *resp);

/* Prints the answer's JSON on stdout, indented by 2 (as the local
 * `status --json` does), reals with 15 significant digits. */
int client_print_body(const client_response *r);

/* ------------------------------------------------------------- JSON bits */

/* obj[key] as a number; false when absent, null or not a number. */
bool client_json_number(const json_t *obj, const char *key, double *out);
/* obj[key] as a string; NULL when absent or not a string. */
/* "<obj[key]> (optimal <obj.optimal_batch_size>)", '-' for either one
 * that is missing or null. */
void client_batch_text(const json_t *obj, const char *key, char *buf,
                       size_t size);
const char *client_json_string(const json_t *obj, const char *key);
/* Formats wall-clock seconds as local "YYYY-MM-DD HH:MM:SS"; "-" when t <=
 * 0. */
void client_format_time(double t, char *buf, size_t size);

#endif
