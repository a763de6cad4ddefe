/*
 * cli.c - what every command prints and reads the same way: usage errors
 * and failures, strict numbers, a JSON document on stdout. The option
 * parser and help text are cli_parser.c; the engine's options cli_engine.c.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ messages */

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	if (cmd)
		fprintf(stderr, "vgmo %s: ", cmd);
	else
		fputs("vgmo: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, "\ntry 'vgmo %s --help'\n", cmd);
	else
		fputs("\ntry 'vgmo --help'\n", stderr);
	return CLI_EXIT_USAGE;
}

int cli_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("vgmo: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_EXIT_FAILURE;
}

/* ------------------------------------------------------------- numbers */

/* strtod and friends skip leading blanks and accept an empty string as 0. */
static bool starts_like_number(const char *s)
{
	return s != NULL && s[0] != '\0' && !isspace((unsigned char)s[0]);
}

bool cli_parse_double(const char *s, double *out)
{
	char *end;
	double v;

	/* strtod also reads hexadecimal ("0x1p3"): not for people. */
	if (!starts_like_number(s) || strpbrk(s, "xX") != NULL)
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v))
		return false;
	*out = v;
	return true;
}

bool cli_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!starts_like_number(s))
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool cli_is_integer(const char *s)
{
	if (s == NULL)
		return false;
	if (*s == '-' || *s == '+')
		s++;
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s))
			return false;
	}
	return true;
}

bool cli_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	/* strtoull accepts "-1" and wraps it around. */
	if (!starts_like_number(s) || s[0] == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = (uint64_t)v;
	return true;
}

int cli_put_json_text(char *text)
{
	if (text == NULL)
		return cli_fail("out of memory");
	puts(text);
	free(text);
	return CLI_EXIT_OK;
}
