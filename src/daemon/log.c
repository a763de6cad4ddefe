/*
 * log.c - logfmt lines on stderr, one write per line.
 */
#include <stdarg.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "log.h"

static const char *const names[] = {"debug", "info", "warn", "error"};

bool vgmo_log_parse_level(const char *s, vgmo_log_level *out)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (vgmo_log_level)i;
			return true;
		}
	return false;
}

const char *vgmo_log_quote(const char *s, char *buf, size_t size)
{
	size_t o = 0;

	if (size < 3)
		return "\"\"";
	buf[o++] = '"';
	for (; *s && o + 3 < size; s++) {
		if (*s == '"' || *s == '\\') {
			buf[o++] = '\\';
			buf[o++] = *s;
		} else if (*s == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else {
			buf[o++] = *s;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

void vgmo_log_write(const vgmo_log *l, vgmo_log_level level, const char *msg,
                    const char *fmt, ...)
{
	char line[2048], stamp[40], q[512];
	struct timeval tv;
	struct tm tm;
	size_t n;
	va_list ap;

	if (l == NULL || level < l->level)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	n = (size_t)snprintf(line, sizeof(line), "ts=%s.%03ldZ level=%s msg=%s",
	                     stamp, (long)(tv.tv_usec / 1000), names[level],
	                     vgmo_log_quote(msg, q, sizeof(q)));
	if (fmt && n < sizeof(line) - 2) {
		line[n++] = ' ';
		va_start(ap, fmt);
		n += (size_t)vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
	}
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	fwrite(line, 1, n, l->out ? l->out : stderr);
	fflush(l->out ? l->out : stderr);
}
