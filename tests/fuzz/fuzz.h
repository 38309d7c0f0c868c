/*
 * fuzz.h - what the libFuzzer targets of tests/fuzz/ share: the fixed keys
 * and issuer of the crypto targets (the committed seeds in corpus/ were
 * signed and sealed under them: change them and those seeds stop verifying),
 * a NUL-terminated copy of the input, and FUZZ_ASSERT, which aborts so that
 * libFuzzer records the input as a crash. Test code only: the keys below
 * are public and protect nothing.
 */
#ifndef CERTFLOW_FUZZ_H
#define CERTFLOW_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ISSUER	"https://certflow.example.org"
#define FUZZ_CREATED	"2026-03-01T12:00:00Z"
#define FUZZ_AAD	"report.body"

/* Two signing keys: "old" retired (it still verifies), "cur" signs. */
#define FUZZ_SIGN_KEYS \
	"# fuzzing only\n" \
	"old 4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb\n" \
	"cur 9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\n"

/* Two sealing keys: "k1" retired, "k2" current. */
#define FUZZ_SEAL_KEYS \
	"k1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n" \
	"k2 202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f\n"

/* Aborts (a crash libFuzzer keeps) when COND is false, saying where. */
#define FUZZ_ASSERT(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, \
		    __LINE__, #cond); \
		abort(); \
	} \
} while (0)

/* The SIZE bytes of DATA as a malloc'ed C string (cut at a NUL byte). */
static inline char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	FUZZ_ASSERT(s != NULL);
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* True when S is printable ASCII (what messages about input may hold). */
static inline bool
fuzz_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
