/*
 * log.h - structured log lines (logfmt) on stderr.
 *   ts=2026-11-27T07:50:00.123Z level=info msg="sampled" gpus=8
 */
#ifndef VGMO_SRC_LOG_H
#define VGMO_SRC_LOG_H

#include <stdbool.h>
#include <stdio.h>

typedef enum vgmo_log_level {
	VGMO_LOG_DEBUG = 0,
	VGMO_LOG_INFO,
	VGMO_LOG_WARN,
	VGMO_LOG_ERROR
} vgmo_log_level;

typedef struct vgmo_log {
	vgmo_log_level level;
	FILE *out;
} vgmo_log;

bool vgmo_log_parse_level(const char *s, vgmo_log_level *out);

/* `msg` is quoted; `fmt` (may be NULL) appends "key=value ..." pairs, whose
 * string values the caller quotes with %s of vgmo_log_quote's output. */
void vgmo_log_write(const vgmo_log *l, vgmo_log_level level, const char *msg,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Quotes `s` for a logfmt value into buf ("..." with \\ \" \n escaped). */
const char *vgmo_log_quote(const char *s, char *buf, size_t size);

#endif
