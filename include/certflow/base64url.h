/*
 * base64url.h - unpadded base64url (RFC 4648 section 5) in canonical form:
 * no '=' padding, only [A-Za-z0-9-_], and zero unused low bits in the last
 * character, so each byte string has exactly one text form. Pure functions on
 * caller buffers: nothing is allocated, nothing NUL-terminated, nothing logged.
 */
#ifndef CERTFLOW_BASE64URL_H
#define CERTFLOW_BASE64URL_H

#include <stdbool.h>
#include <stddef.h>

/* The number of characters encoding N bytes. */
size_t base64url_len(size_t n);

/* Writes base64url_len(N) chars of IN into OUT (no NUL); returns that count. */
size_t base64url_encode(const unsigned char *in, size_t n, char *out);

/* True when C is one of the 64 characters of the base64url alphabet. */
bool base64url_valid_char(char c);

/*
 * True when S (LEN chars, not necessarily NUL-terminated) is canonical
 * unpadded base64url; then sets *OUTLEN to its decoded length.
 */
bool base64url_check(const char *s, size_t len, size_t *outlen)
	__attribute__((warn_unused_result));

/* Decodes S (LEN chars base64url_check accepted) into OUT (*OUTLEN bytes). */
void base64url_decode(const char *s, size_t len, unsigned char *out);

#endif
