/*
 * suggest.h - "did you mean": the nearest of a set of names to a word that
 * is not one of them (a command, an option, a configuration key, an
 * environment variable), by edit distance (internal).
 *
 * Feed every candidate to vgmo__suggest_consider(); what is left in the
 * vgmo__suggestion afterwards is the nearest name close enough to be a
 * slip of the fingers, or NULL.
 */
#ifndef VGMO_LIB_SUGGEST_H
#define VGMO_LIB_SUGGEST_H

#include <stddef.h>

typedef struct vgmo__suggestion {
	const char *word; /* what was typed */
	const char *best; /* NULL: nothing close enough yet */
	size_t distance;
} vgmo__suggestion;

void vgmo__suggest_init(vgmo__suggestion *s, const char *word);

/* Keeps `candidate` (not copied: it must outlive *s) when it is nearer to
 * the word than the best so far and close enough: at most 1 edit for
 * words of up to 4 characters, 2 up to 8, 3 beyond. An edit is an
 * insertion, deletion, substitution or swap of two neighbours, letters
 * compared without case. */
void vgmo__suggest_consider(vgmo__suggestion *s, const char *candidate);

/* The optimal-string-alignment distance between a and b, case-insensitive;
 * (size_t)-1 when either is longer than VGMO__SUGGEST_MAX. */
#define VGMO__SUGGEST_MAX 64
size_t vgmo__edit_distance(const char *a, const char *b);

/* The configuration key nearest to `key` (a vgmo_config field name), or
 * NULL. */
const char *vgmo__config_key_suggest(const char *key);

#endif
