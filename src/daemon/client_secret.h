/*
 * client_secret.h - per-client secrets (docs/clients.md, "Trust"): a
 * client's secret is a keyed hash of its id under a key drawn at start, so
 * the daemon stores nothing per client, a secret never outlives the run
 * that issued it, and one client's secret says nothing about another's.
 */
#ifndef VGMO_SRC_CLIENT_SECRET_H
#define VGMO_SRC_CLIENT_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vgmo/vgmo.h"

#define CLIENT_SECRET_LEN 32 /* hex characters */
#define CLIENT_SECRET_HEADER "X-Vgmo-Client-Secret"

typedef struct client_secret_key {
	uint64_t k[4]; /* two SipHash-2-4 keys: 128 bits of tag */
} client_secret_key;

/* Fills the key from the kernel's random source; VGMO_ERR_IO if none. */
vgmo_err client_secret_key_init(client_secret_key *key);

/* The secret of client `id`: CLIENT_SECRET_LEN hex characters and a NUL
 * into `out` (at least CLIENT_SECRET_LEN + 1 bytes). */
void client_secret_make(const client_secret_key *key, int64_t id, char *out);

/* Whether `given` (NULL: none) is client `id`'s secret; constant time. */
bool client_secret_ok(const client_secret_key *key, int64_t id,
                      const char *given);

#endif
