/*
 * statuslist.h - the encodedList of a W3C Bitstring Status List v1.0: a
 * bitstring (bit 0 is the most significant bit of the first byte), GZIP
 * (RFC 1952) compressed, as multibase base64url: "u" + unpadded base64url.
 * Pure functions: which index means which credential is the caller's.
 */
#ifndef CERTFLOW_STATUSLIST_H
#define CERTFLOW_STATUSLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 16 KiB: the spec's minimum bitstring, for herd privacy. */
#define STATUSLIST_MIN_BITS	131072
/* 8 MiB: our bound on what is encoded or decoded. */
#define STATUSLIST_MAX_BITS	(1u << 26)

/*
 * The encodedList of a bitstring of NBITS bits (a multiple of 8, from
 * STATUSLIST_MIN_BITS to STATUSLIST_MAX_BITS) where the NSET bits at the
 * indexes in SET are 1 (repeats allowed) and all others 0. Returns the
 * malloc'ed, NUL-terminated text (caller frees); NULL when NBITS is out of
 * bounds, an index is not below NBITS, or zlib or memory fails. The same
 * bits always give the same text (zlib's gzip header has no time or name).
 */
char *statuslist_encode(size_t nbits, const uint64_t *set, size_t nset)
	__attribute__((warn_unused_result));

/*
 * Decodes ENCODED (the multibase "u" prefix is optional) and puts bit INDEX
 * in *BIT. False when the text is not canonical unpadded base64url of one
 * complete, intact gzip member (trailing bytes refused), when the bitstring
 * is shorter than STATUSLIST_MIN_BITS or longer than STATUSLIST_MAX_BITS,
 * or when INDEX is beyond its end.
 */
bool statuslist_bit(const char *encoded, uint64_t index, bool *bit)
	__attribute__((warn_unused_result));

#endif
