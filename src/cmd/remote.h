/*
 * remote.h - the commands that talk to a daemon (`vgmo serve`): their calls
 * to it, HTTP with JSON over libcurl, and the options every such command
 * takes. (Not lib/client.c, the C library a worker registers with.)
 *
 * Where the daemon is: --server URL, else $VGMO_SERVER, else
 * http://127.0.0.1:8080. Its token: --token-file FILE, else
 * $VGMO_TOKEN_FILE, sent as "Authorization: Bearer <token>". HTTPS checks
 * the daemon's certificate against the system CAs, or --cacert FILE
 * ($VGMO_CACERT).
 *
 * remote.c makes the requests over the library's transport
 * (lib/client_http.h, libcurl loaded at run time: the daemon does not
 * carry it) and words its failures; remote_opts.c has the options and the
 * small JSON helpers the commands' printers share.
 */
#ifndef VGMO_SRC_REMOTE_H
#define VGMO_SRC_REMOTE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "cli.h"

#define REMOTE_DEFAULT_SERVER "http://127.0.0.1:8080"
#define REMOTE_CONNECT_TIMEOUT_MS 2000L
#define REMOTE_TOTAL_TIMEOUT_MS 10000L
#define REMOTE_BODY_MAX ((size_t)16 << 20) /* largest answer read */
#define REMOTE_URL_MAX 1024                /* longest --server URL */

/* Option ids of remote_options[] (above every other table's ids). */
enum { CLI_ID_SERVER = 400, CLI_ID_TOKEN_FILE, CLI_ID_CACERT };

/* --server, --token-file, --cacert. */
extern const cli_option remote_options[];

/* What the user said; strings point into argv. NULL: not given. */
typedef struct remote_opts {
	const char *server;
	const char *token_file;
	const char *cacert;
} remote_opts;

/* http:// or https://, a host, no blanks or control characters, no query
 * or fragment (paths are appended to it), shorter than REMOTE_URL_MAX. */
bool remote_url_ok(const char *url);

/* Writes `url` to out, with "http://" in front when it names no scheme
 * ("127.0.0.1:8080"); true when the result passes remote_url_ok. */
bool remote_url_complete(const char *url, char *out, size_t size);

void remote_opts_init(remote_opts *o);
bool remote_opts_owns(int id);
/* Records one remote option; CLI_EXIT_USAGE after printing why (a URL
 * that is not http:// or https://). */
int remote_opts_set(remote_opts *o, const char *cmd, const cli_option *opt,
                    const char *value);

/* cli_parse_args for a command whose groups include remote_options: records
 * the remote options in *o itself and gives the others to `on_option`. */
int remote_parse_args(int argc, char **argv, const cli_group *groups,
                      remote_opts *o, cli_option_fn on_option,
                      cli_arg_fn on_arg, void *ctx, bool *help);

/* on_option of a command whose one option of its own is --json: ctx is a
 * bool set by it. */
int remote_json_only(void *ctx, const char *cmd, const cli_option *opt,
                     const char *value);

/* One connection to the daemon (opaque; reused across calls). */
typedef struct remote remote;

/* Resolves the URL, token and CA file from `o` and the environment and
 * prepares a handle. CLI_EXIT_OK with *out set (free with remote_close),
 * or CLI_EXIT_FAILURE after printing one line (empty or unreadable token
 * file, ...). */
int remote_open(remote **out, const remote_opts *o);
void remote_close(remote *c);

/* The daemon's base URL, without a trailing '/'. */
const char *remote_url(const remote *c);

/* An answer with a 2xx status and a JSON body. */
typedef struct remote_response {
	long status;
	char *body;   /* the raw body, NUL-terminated; owned */
	size_t len;   /* bytes in body */
	json_t *json; /* the body parsed; owned */
} remote_response;

/* Frees what *r owns and zeroes it; safe on a zeroed response. */
void remote_response_free(remote_response *r);

/* Sends `method` `path` ("/v1/status") with `body` as JSON (NULL: no body)
 * and reads the answer. CLI_EXIT_OK with *resp filled (the caller frees it
 * with remote_response_free) when the daemon answered 2xx with JSON.
 * Otherwise prints one line -- the daemon cannot be reached, or the
 * daemon's error.message (with a hint on 401) -- and returns
 * CLI_EXIT_FAILURE with *resp zeroed. */
int remote_call(remote *c, const char *method, const char *path,
                const json_t *body, remote_response *resp);

/* Prints the answer's JSON on stdout, indented by 2 (as the local
 * `status --json` does), reals with 15 significant digits. */
int remote_print_body(const remote_response *r);

/* ------------------------------------------------------------- JSON bits */

/* obj[key] as a number; false when absent, null or not a number. */
bool remote_json_number(const json_t *obj, const char *key, double *out);
/* obj[key] as a string; NULL when absent or not a string. */
/* "<obj[key]> (optimal <obj.optimal_batch_size>)", '-' for either one
 * that is missing or null. */
void remote_batch_text(const json_t *obj, const char *key, char *buf,
                       size_t size);
const char *remote_json_string(const json_t *obj, const char *key);
/* Formats wall-clock seconds as local "YYYY-MM-DD HH:MM:SS"; "-" when t <=
 * 0. */
void remote_format_time(double t, char *buf, size_t size);

#endif
