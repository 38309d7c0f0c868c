/*
 * jsonpeek.h - one integer member of a JSON object's top level, read from
 * the text without building a tree (lib/jsonpeek.c).
 */
#ifndef CERTFLOW_JSONPEEK_H
#define CERTFLOW_JSONPEEK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The integer value of member KEY at the top level of the JSON object TEXT
 * (LEN bytes, no NUL needed) in *OUT. False when TEXT is not an object,
 * has no such member before its end, or the member's value is not an
 * integer in int64 range (a string, a fraction, an exponent, null). Members
 * of nested objects and text inside strings never match; the first member
 * with that name wins. KEY is compared byte for byte with the member's
 * name as written, so a name spelled with escapes does not match.
 */
bool json_peek_int(const char *text, size_t len, const char *key, int64_t *out);

#endif
