/*
 * suggest.c - "did you mean": edit distance and the nearest name.
 */
#include "suggest.h"

#include <ctype.h>
#include <string.h>

#include "config_fields.h"

static size_t min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;

	return m < c ? m : c;
}

static int same(char a, char b)
{
	return tolower((unsigned char)a) == tolower((unsigned char)b);
}

size_t vgmo__edit_distance(const char *a, const char *b)
{
	size_t d[VGMO__SUGGEST_MAX + 1][VGMO__SUGGEST_MAX + 1];
	size_t n = strlen(a), m = strlen(b);

	if (n > VGMO__SUGGEST_MAX || m > VGMO__SUGGEST_MAX)
		return (size_t)-1;
	for (size_t i = 0; i <= n; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= m; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= n; i++) {
		for (size_t j = 1; j <= m; j++) {
			size_t cost = same(a[i - 1], b[j - 1]) ? 0 : 1;

			d[i][j] = min3(d[i - 1][j] + 1, d[i][j - 1] + 1,
			               d[i - 1][j - 1] + cost);
			if (i > 1 && j > 1 && same(a[i - 1], b[j - 2]) &&
			    same(a[i - 2], b[j - 1]) &&
			    d[i - 2][j - 2] + 1 < d[i][j])
				d[i][j] = d[i - 2][j - 2] + 1;
		}
	}
	return d[n][m];
}

void vgmo__suggest_init(vgmo__suggestion *s, const char *word)
{
	s->word = word;
	s->best = NULL;
	s->distance = (size_t)-1;
}

static size_t allowed(const char *word)
{
	size_t n = strlen(word);

	return n <= 4 ? 1 : n <= 8 ? 2 : 3;
}

void vgmo__suggest_consider(vgmo__suggestion *s, const char *candidate)
{
	size_t d;

	if (s->word == NULL || candidate == NULL || s->word[0] == '\0')
		return;
	d = vgmo__edit_distance(s->word, candidate);
	if (d == 0 || d > allowed(s->word) || d >= s->distance)
		return;
	s->best = candidate;
	s->distance = d;
}

const char *vgmo__config_key_suggest(const char *key)
{
	vgmo__suggestion s;

	vgmo__suggest_init(&s, key);
	for (size_t i = 0; i < VGMO_CONFIG_FIELD_COUNT; i++)
		vgmo__suggest_consider(&s, vgmo__config_fields[i].name);
	return s.best;
}
