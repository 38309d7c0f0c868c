/*
 * jcs.h - the JSON Canonicalization Scheme (RFC 8785) over jansson values:
 * the exact bytes that the Data Integrity cryptosuite eddsa-jcs-2022 hashes
 * and signs. Two equal JSON values always give the same bytes, and those are
 * the bytes any other RFC 8785 implementation produces.
 */
#ifndef CERTFLOW_JCS_H
#define CERTFLOW_JCS_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#define JCS_MAX_DEPTH	256	/* nested arrays and objects; more (or a cycle) is refused */
#define JCS_NUMBER_MAX	32	/* jcs_number's buffer: longest form is 25 bytes */

/*
 * The RFC 8785 canonical form of VALUE: objects' members sorted by their keys
 * compared as UTF-16 code unit sequences, no whitespace, strings escaped as
 * ECMAScript JSON.stringify does (only \" \\ \b \f \n \r \t and \u00XX for
 * other control characters, lower-case hex; everything else as raw UTF-8),
 * numbers as ECMAScript Number.prototype.toString (integers within +-2^53
 * print as integers; -0 prints 0; reals use the shortest round-trip form,
 * exponent rules of ECMA-262 7.1.12.1). Returns malloc'ed NUL-terminated text
 * (the caller frees) and its length in *len (LEN may be NULL), or NULL when
 * VALUE holds a NaN or an infinity, an integer beyond +-2^53 (not exactly
 * representable), a string or key that is not valid UTF-8 (possible only
 * through jansson's _nocheck setters), more than JCS_MAX_DEPTH nested arrays
 * and objects, or on OOM. Strings and keys may hold U+0000 (printed \u0000).
 */
char *jcs_canonical(const json_t *value, size_t *len);

/*
 * Writes the ECMAScript Number.prototype.toString form of V (NUL-terminated)
 * into OUT; false (OUT set to "") when V is a NaN or an infinity, which JSON
 * cannot carry.
 */
bool jcs_number(double v, char out[JCS_NUMBER_MAX])
	__attribute__((warn_unused_result));

#endif
