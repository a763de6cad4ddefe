/*
 * state.h - what `vgmo serve` keeps in its state directory (internal):
 *
 *   state.json     configuration overrides, manual batch sizes, monitoring
 *                  on/off; replaced atomically on every change
 *   history.jsonl  the optimization history, one result per line, rotated
 *                  to history.jsonl.1 past a size
 *   audit.log      one JSON line per change: time, who, what, old, new
 *
 * Configuration overrides are the keys an operator changed through the API,
 * stored as a diff against the configuration built from defaults, the
 * --config file, the environment and flags; so an edited config file still
 * takes effect for the keys nobody overrode.
 */
#ifndef VGMO_LIB_STATE_H
#define VGMO_LIB_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vgmo/vgmo.h"

#define VGMO__STATE_FILE "state.json"
#define VGMO__HISTORY_FILE "history.jsonl"
#define VGMO__AUDIT_FILE "audit.log"

typedef struct vgmo__batch_override {
	char worker[64];
	unsigned gpu;
	int batch_size;
} vgmo__batch_override;

typedef struct vgmo__state {
	json_t *config_overrides; /* object of config keys, owned; never NULL */
	bool monitoring;
	vgmo__batch_override *batch; /* owned */
	size_t nbatch;
	uint32_t epoch; /* daemon starts so far: makes client ids unique */
} vgmo__state;

/* An empty state: no overrides, monitoring on. */
vgmo_err vgmo__state_init(vgmo__state *st);
void vgmo__state_free(vgmo__state *st);
/* Deep copy into an initialised-or-zeroed *dst (freed first). */
vgmo_err vgmo__state_copy(vgmo__state *dst, const vgmo__state *src);

/* Reads DIR/state.json. A missing file is an empty state (VGMO_OK). A file
 * that cannot be parsed is renamed to state.json.corrupt-<unix time>, *st
 * is left empty, and VGMO_ERR_PARSE says what was wrong and where the copy
 * went; the caller logs it loudly and carries on with defaults. */
vgmo_err vgmo__state_load(const char *dir, vgmo__state *st, char *err,
                          size_t errlen);
/* Removes DIR/state.json.tmp.XXXXXX files: what a save left behind when
 * the process died between creating its temp file and renaming it. Call
 * at start, before anything saves; *removed (may be NULL) counts them. A
 * file that cannot be removed is an error naming it (the rest are still
 * tried). */
vgmo_err vgmo__state_clean_temps(const char *dir, size_t *removed, char *err,
                                 size_t errlen);
/* Writes DIR/state.json atomically. */
vgmo_err vgmo__state_save(const char *dir, const vgmo__state *st, char *err,
                          size_t errlen);

/* Sets or clears (size 0) the manual batch size of a worker. */
vgmo_err vgmo__state_set_batch(vgmo__state *st, const char *worker,
                               unsigned gpu, int size);

/* The keys of `eff` whose values differ from `base`, as a new object. */
json_t *vgmo__config_diff(const vgmo_config *base, const vgmo_config *eff);
/* base + overrides, validated. A key that cannot be applied (out of range
 * now, unknown, invalid with the others) is removed from `overrides` and
 * its reason appended to `err` ("" when none was dropped); the rest still
 * apply. VGMO_OK unless out of memory (then *out is unchanged). */
vgmo_err vgmo__config_apply_overrides(const vgmo_config *base,
                                      json_t *overrides, vgmo_config *out,
                                      char *err, size_t errlen);

/* Appends one line to a JSON Lines file in `dir` and fsyncs it. When the
 * file is over `rotate_bytes` (0: never), it first becomes NAME.1 (the
 * previous NAME.1 is dropped). */
vgmo_err vgmo__journal_append(const char *dir, const char *name,
                              const json_t *line, size_t rotate_bytes,
                              char *err, size_t errlen);

/* The same for `nlines` lines at once: one write, one fsync. The file is
 * opened without following a link or blocking on a FIFO, and must be a
 * regular file. */
vgmo_err vgmo__journal_append_lines(const char *dir, const char *name,
                                    json_t *const *lines, size_t nlines,
                                    size_t rotate_bytes, char *err,
                                    size_t errlen);

/* Calls `fn` for each parsable line of NAME.1 then NAME, oldest first;
 * returns how many lines were skipped as unparsable in *skipped. */
vgmo_err vgmo__journal_read(const char *dir, const char *name,
                            void (*fn)(const json_t *line, void *ctx),
                            void *ctx, size_t *skipped, char *err,
                            size_t errlen);

/* One audit line: {"time", "who", "what", "old", "new"}. `old` and `new`
 * are borrowed (may be NULL: null). */
vgmo_err vgmo__audit(const char *dir, double wall_time, const char *who,
                     const char *what, const json_t *old_value,
                     const json_t *new_value, char *err, size_t errlen);

#endif
