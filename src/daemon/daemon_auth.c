/*
 * daemon_auth.c - who may ask: the operator's bearer token (compared in
 * constant time) and the per-client secrets of registered clients.
 */
#include <string.h>

#include "daemon_internal.h"

bool daemon_token_ok(vgmo_daemon *d, const char *header)
{
	const char *prefix = "Bearer ";
	size_t plen = strlen(prefix), tlen, hlen;
	unsigned char diff = 0;

	if (d->token == NULL)
		return true;
	if (header == NULL || strncmp(header, prefix, plen) != 0)
		return false;
	header += plen;
	tlen = strlen(d->token);
	hlen = strlen(header);
	/* Constant time in the token's length. */
	diff = (unsigned char)(hlen != tlen);
	for (size_t i = 0; i < tlen; i++)
		diff |= (unsigned char)(d->token[i] ^
		                        (i < hlen ? header[i] : 0));
	return diff == 0;
}

bool daemon_operator_ok(vgmo_daemon *d, const char *header)
{
	return d->token != NULL && daemon_token_ok(d, header);
}

void daemon_client_secret(vgmo_daemon *d, int worker, char *out)
{
	client_secret_make(&d->secret_key, daemon_client_id(d, worker), out);
}

bool daemon_client_secret_ok(vgmo_daemon *d, int worker, const char *given)
{
	return worker >= 0 &&
	       client_secret_ok(&d->secret_key, daemon_client_id(d, worker),
	                        given);
}
