/*
 * client_secret.c - per-client secrets: SipHash-2-4 of the client id under
 * two random keys, written as 32 hex characters.
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "client_secret.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void sipround(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = ROTL(v[1], 13);
	v[1] ^= v[0];
	v[0] = ROTL(v[0], 32);
	v[2] += v[3];
	v[3] = ROTL(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = ROTL(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = ROTL(v[1], 17);
	v[1] ^= v[2];
	v[2] = ROTL(v[2], 32);
}

/* SipHash-2-4 of one 8-byte message (the id, little-endian). */
static uint64_t siphash_u64(uint64_t k0, uint64_t k1, uint64_t m)
{
	uint64_t v[4] = {k0 ^ UINT64_C(0x736f6d6570736575),
	                 k1 ^ UINT64_C(0x646f72616e646f6d),
	                 k0 ^ UINT64_C(0x6c7967656e657261),
	                 k1 ^ UINT64_C(0x7465646279746573)};
	uint64_t last = UINT64_C(8) << 56;

	v[3] ^= m;
	sipround(v);
	sipround(v);
	v[0] ^= m;
	v[3] ^= last;
	sipround(v);
	sipround(v);
	v[0] ^= last;
	v[2] ^= 0xff;
	for (int i = 0; i < 4; i++)
		sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

vgmo_err client_secret_key_init(client_secret_key *key)
{
	unsigned char *p = (unsigned char *)key->k;
	size_t got = 0;

	while (got < sizeof(key->k)) {
		ssize_t n = getrandom(p + got, sizeof(key->k) - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return VGMO_ERR_IO;
		got += (size_t)n;
	}
	return VGMO_OK;
}

void client_secret_make(const client_secret_key *key, int64_t id, char *out)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t h[2] = {siphash_u64(key->k[0], key->k[1], (uint64_t)id),
	                 siphash_u64(key->k[2], key->k[3], (uint64_t)id)};

	for (int i = 0; i < 32; i++)
		out[i] = hex[(h[i / 16] >> (60 - 4 * (i % 16))) & 0xf];
	out[CLIENT_SECRET_LEN] = '\0';
}

bool client_secret_ok(const client_secret_key *key, int64_t id,
                      const char *given)
{
	char want[CLIENT_SECRET_LEN + 1];
	unsigned char diff = 0;
	size_t n;

	if (given == NULL)
		return false;
	n = strlen(given);
	client_secret_make(key, id, want);
	diff = (unsigned char)(n != CLIENT_SECRET_LEN);
	for (size_t i = 0; i < CLIENT_SECRET_LEN; i++)
		diff |= (unsigned char)(want[i] ^ (i < n ? given[i] : 0));
	return diff == 0;
}
