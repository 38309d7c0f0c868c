/*
 * statuslist.c - encodedList of a W3C Bitstring Status List: set bits, GZIP,
 * multibase base64url; and reading one bit back. Decoding never trusts the
 * input's size: it inflates in fixed chunks up to STATUSLIST_MAX_BITS and
 * keeps only the byte it was asked for, so a gzip bomb costs time, not
 * memory. Never logs.
 */
#include "certflow/statuslist.h"
#include "certflow/base64url.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#define MIN_BYTES	(STATUSLIST_MIN_BITS / 8)
#define MAX_BYTES	(STATUSLIST_MAX_BITS / 8)
#define GZIP_WINDOW	(15 + 16)	/* zlib: 32 KiB window, gzip wrapper */
#define ANY_WINDOW	(15 + 32)	/* zlib: 32 KiB window, detect the wrapper */
/* Deflate adds at most 5 bytes per stored block and gzip 18: a loose bound. */
#define MAX_COMPRESSED	(MAX_BYTES + MAX_BYTES / 1024 + 1024)

_Static_assert(MAX_COMPRESSED < UINT_MAX, "zlib counts in uInt");

char *
statuslist_encode(size_t nbits, const uint64_t *set, size_t nset)
{
	unsigned char *bits = NULL, *gz = NULL;
	char *out = NULL;
	size_t nbytes, cap, glen, n;
	z_stream zs;
	bool zinit = false;

	if (nbits < STATUSLIST_MIN_BITS || nbits > STATUSLIST_MAX_BITS ||
	    nbits % 8 != 0 || (set == NULL && nset > 0))
		return NULL;
	nbytes = nbits / 8;
	if ((bits = calloc(nbytes, 1)) == NULL)
		goto fail;
	for (size_t i = 0; i < nset; i++) {
		if (set[i] >= nbits)
			goto fail;
		/* Index 0 is the leftmost bit: the MSB of the first byte. */
		bits[set[i] / 8] |= (unsigned char)(0x80u >> (set[i] % 8));
	}
	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, GZIP_WINDOW, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		goto fail;
	zinit = true;
	cap = deflateBound(&zs, (uLong)nbytes);
	if ((gz = malloc(cap)) == NULL)
		goto fail;
	zs.next_in = bits;
	zs.avail_in = (uInt)nbytes;
	zs.next_out = gz;
	zs.avail_out = (uInt)cap;
	/* deflateBound's room lets one Z_FINISH call end the stream. */
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
		goto fail;
	glen = zs.total_out;
	if ((out = malloc(1 + base64url_len(glen) + 1)) == NULL)
		goto fail;
	out[0] = 'u';
	n = base64url_encode(gz, glen, out + 1);
	out[1 + n] = '\0';
fail:
	if (zinit)
		deflateEnd(&zs);
	free(bits);
	free(gz);
	return out;
}

bool
statuslist_bit(const char *encoded, uint64_t index, bool *bit)
{
	unsigned char *gz = NULL, chunk[8192], target = 0;
	uint64_t want = index / 8, total = 0;
	size_t len, glen = 0;
	z_stream zs;
	bool zinit = false, found = false, ok = false;

	if (bit != NULL)
		*bit = false;
	if (encoded == NULL || bit == NULL)
		return false;
	/* A gzip member starts 1f 8b ("H4s"): a bare list never starts with 'u'. */
	if (encoded[0] == 'u')
		encoded++;
	len = strnlen(encoded, 2 * MAX_COMPRESSED);
	if (encoded[len] != '\0' || !base64url_check(encoded, len, &glen) ||
	    glen < 2 || glen > MAX_COMPRESSED)
		return false;
	if ((gz = malloc(glen)) == NULL)
		return false;
	base64url_decode(encoded, len, gz);
	/* The spec says GZIP: the auto-detecting window must not admit zlib. */
	if (gz[0] != 0x1f || gz[1] != 0x8b)
		goto fail;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, ANY_WINDOW) != Z_OK)
		goto fail;
	zinit = true;
	zs.next_in = gz;
	zs.avail_in = (uInt)glen;
	for (;;) {
		size_t got;
		int r;

		zs.next_out = chunk;
		zs.avail_out = sizeof(chunk);
		/* Z_BUF_ERROR: truncated; Z_DATA_ERROR: corrupt, bad CRC or size. */
		if ((r = inflate(&zs, Z_NO_FLUSH)) != Z_OK && r != Z_STREAM_END)
			goto fail;
		got = sizeof(chunk) - zs.avail_out;
		if (!found && want < total + got) {
			target = chunk[want - total];
			found = true;
		}
		total += got;
		if (total > MAX_BYTES)
			goto fail;
		if (r == Z_STREAM_END)
			break;
	}
	/* One member and nothing after it. */
	if (zs.avail_in != 0 || total < MIN_BYTES || !found)
		goto fail;
	*bit = (target >> (7 - index % 8)) & 1;
	ok = true;
fail:
	if (zinit)
		inflateEnd(&zs);
	free(gz);
	return ok;
}
