/*
 * draw.c - the reference implementation of the evaluator draw: lowest load
 * first, then a uniform choice derived from the seed by SHA-256 with
 * rejection sampling (no modulo bias). Pure apart from draw_seed.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <certflow/draw.h>

#define DRAW_BITS 56
#define DRAW_SPACE (UINT64_C(1) << DRAW_BITS)

bool
draw_seed(unsigned char seed[DRAW_SEED_LEN])
{
	return RAND_bytes(seed, DRAW_SEED_LEN) == 1;
}

/* The 56-bit value of round COUNTER. */
static bool
draw_value(const unsigned char seed[DRAW_SEED_LEN], uint32_t counter, uint64_t *x)
{
	unsigned char buf[DRAW_SEED_LEN + 4], md[32];
	unsigned int mdlen = 0;

	memcpy(buf, seed, DRAW_SEED_LEN);
	buf[DRAW_SEED_LEN] = (unsigned char)(counter >> 24);
	buf[DRAW_SEED_LEN + 1] = (unsigned char)(counter >> 16);
	buf[DRAW_SEED_LEN + 2] = (unsigned char)(counter >> 8);
	buf[DRAW_SEED_LEN + 3] = (unsigned char)counter;
	if (EVP_Digest(buf, sizeof(buf), md, &mdlen, EVP_sha256(), NULL) != 1)
		return false;
	*x = 0;
	for (int i = 0; i < DRAW_BITS / 8; i++)
		*x = (*x << 8) | md[i];
	return true;
}

bool
draw_index(const unsigned char seed[DRAW_SEED_LEN], uint32_t n, uint32_t *out)
{
	uint64_t limit, x;

	if (n == 0)
		return false;
	limit = DRAW_SPACE - DRAW_SPACE % n;
	/* Each round is rejected with probability < n / 2^56: this ends. */
	for (uint32_t counter = 0;; counter++) {
		if (!draw_value(seed, counter, &x))
			return false;
		if (x < limit) {
			*out = (uint32_t)(x % n);
			return true;
		}
	}
}

static int
cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

bool
draw_pick(const unsigned char seed[DRAW_SEED_LEN], const int64_t *ids,
    const int32_t *loads, size_t n, int64_t *pick)
{
	int64_t *lowest;
	int32_t min_load;
	size_t m = 0;
	uint32_t index;
	bool ok;

	if (n == 0 || n > UINT32_MAX)
		return false;
	min_load = loads[0];
	for (size_t i = 1; i < n; i++)
		if (loads[i] < min_load)
			min_load = loads[i];
	if ((lowest = malloc(n * sizeof(*lowest))) == NULL)
		return false;
	for (size_t i = 0; i < n; i++)
		if (loads[i] == min_load)
			lowest[m++] = ids[i];
	qsort(lowest, m, sizeof(*lowest), cmp_id);
	ok = draw_index(seed, (uint32_t)m, &index);
	if (ok)
		*pick = lowest[index];
	free(lowest);
	return ok;
}
