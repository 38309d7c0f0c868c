/*
 * draw.h - the auditable random draw of an evaluator (or a reviewer).
 * The choice is a pure function of a 256-bit seed and the ordered candidate
 * list, so it can be stored and replayed. PostgreSQL's api.draw_index
 * (sql/0002) implements the same derivation; `certflow draw replay`
 * recomputes stored draws with this one and says whether they match.
 */
#ifndef CERTFLOW_DRAW_H
#define CERTFLOW_DRAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DRAW_SEED_LEN 32

/* A fresh seed from RAND_bytes; false if the CSPRNG fails. */
bool draw_seed(unsigned char seed[DRAW_SEED_LEN]) __attribute__((warn_unused_result));

/*
 * A uniform index in [0, N) without modulo bias: for counter c = 0, 1, ...,
 * x = the first 7 bytes (big-endian, 56 bits) of SHA-256(seed || be32(c));
 * the first x below the largest multiple of N under 2^56 gives x mod N.
 * False when N is 0.
 */
bool draw_index(const unsigned char seed[DRAW_SEED_LEN], uint32_t n, uint32_t *out)
	__attribute__((warn_unused_result));

/*
 * Picks among N candidates (IDS with their open LOADS, any order): keeps
 * those of the lowest load, orders them by id, and draws one of them with
 * draw_index. False when N is 0.
 */
bool draw_pick(const unsigned char seed[DRAW_SEED_LEN], const int64_t *ids,
    const int32_t *loads, size_t n, int64_t *pick) __attribute__((warn_unused_result));

#endif
