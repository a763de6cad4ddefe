/*
 * json_values.c - the shared JSON values of lib/format/ (json_values.h).
 */
#include "json_values.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

json_t *vgmo__json_num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

json_t *vgmo__json_u64(uint64_t v)
{
	if (v > (uint64_t)INT64_MAX)
		return json_real((double)v);
	return json_integer((json_int_t)v);
}

json_t *vgmo__json_text(const char *s)
{
	json_t *j = json_string(s);
	char *copy;

	if (j != NULL || (copy = strdup(s)) == NULL)
		return j;
	for (char *p = copy; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

json_t *vgmo__json_str_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? vgmo__json_text(s) : json_null();
}

json_t *vgmo__json_opt_int(bool have, long long v)
{
	return have ? json_integer(v) : json_null();
}
