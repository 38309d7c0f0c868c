/*
 * test_draw.c - unit tests for lib/draw.c: draw_index stays in range, is
 * deterministic and agrees with an independent implementation (including a
 * rejected round); draw_pick picks uniformly among the lowest load only,
 * whatever the input order; draw_seed fills exactly 32 fresh bytes.
 * Seeds come from a fixed PRNG so every run draws the same values.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "certflow/draw.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* splitmix64: a fixed, portable stream to derive reproducible seeds. */
static uint64_t
splitmix64(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Seed number I of the test stream: four splitmix64 words from state I. */
static void
test_seed(uint64_t i, unsigned char seed[DRAW_SEED_LEN])
{
	uint64_t state = i;

	for (int w = 0; w < DRAW_SEED_LEN / 8; w++) {
		uint64_t v = splitmix64(&state);

		for (int b = 0; b < 8; b++)
			seed[w * 8 + b] = (unsigned char)(v >> (56 - 8 * b));
	}
}

static void
seed_zero(unsigned char seed[DRAW_SEED_LEN])
{
	memset(seed, 0x00, DRAW_SEED_LEN);
}

static void
seed_ff(unsigned char seed[DRAW_SEED_LEN])
{
	memset(seed, 0xff, DRAW_SEED_LEN);
}

static void
seed_ramp(unsigned char seed[DRAW_SEED_LEN])
{
	for (int i = 0; i < DRAW_SEED_LEN; i++)
		seed[i] = (unsigned char)i;
}

static uint32_t
index_of(const unsigned char seed[DRAW_SEED_LEN], uint32_t n)
{
	uint32_t out = UINT32_MAX;

	if (!draw_index(seed, n, &out))
		fail_msg("draw_index failed for n = %u", n);
	return out;
}

static int64_t
pick_of(const unsigned char seed[DRAW_SEED_LEN], const int64_t *ids,
    const int32_t *loads, size_t n)
{
	int64_t pick = -1;

	if (!draw_pick(seed, ids, loads, n, &pick))
		fail_msg("draw_pick failed for n = %zu", n);
	return pick;
}

static void
test_index_zero_candidates_fails(void **state)
{
	unsigned char seed[DRAW_SEED_LEN];
	uint32_t out = 12345;

	seed_ramp(seed);
	assert_false(draw_index(seed, 0, &out));
	assert_int_equal(out, 12345);
}

static void
test_index_one_candidate_is_zero(void **state)
{
	unsigned char seed[DRAW_SEED_LEN];

	for (uint64_t i = 0; i < 500; i++) {
		test_seed(i, seed);
		assert_int_equal(index_of(seed, 1), 0);
	}
}

static void
test_index_in_range(void **state)
{
	static const uint32_t ns[] = { 1, 2, 3, 5, 7, 10, 1000,
	    UINT32_C(2147483659) /* 2^31 + 11 */, UINT32_MAX };
	unsigned char seed[DRAW_SEED_LEN];

	for (size_t k = 0; k < NELEM(ns); k++)
		for (uint64_t i = 0; i < 2000; i++) {
			test_seed(i, seed);
			if (index_of(seed, ns[k]) >= ns[k])
				fail_msg("seed %llu, n = %u: out of range",
				    (unsigned long long)i, ns[k]);
		}
}

static void
test_index_is_deterministic(void **state)
{
	unsigned char seed[DRAW_SEED_LEN], copy[DRAW_SEED_LEN];

	for (uint64_t i = 0; i < 500; i++) {
		test_seed(i, seed);
		memcpy(copy, seed, sizeof(copy));
		assert_int_equal(index_of(seed, 1000), index_of(seed, 1000));
		assert_int_equal(index_of(seed, 7), index_of(copy, 7));
		/* The seed is read, never written. */
		assert_memory_equal(seed, copy, sizeof(copy));
	}
}

/*
 * Expected values from an independent implementation of the derivation in
 * draw.h:
 *
 * /usr/bin/python3 -c 'import hashlib
 * def idx(s,n):
 *   c=0
 *   while True:
 *     x=int.from_bytes(hashlib.sha256(s+c.to_bytes(4,"big")).digest()[:7],"big")
 *     if x < 2**56-2**56%n: return x%n
 *     c+=1
 * for s in (bytes(32), b"\xff"*32, bytes(range(32))):
 *   print([idx(s,n) for n in (3,7,1000,2**31+11)])'
 */
static void
test_index_known_answers(void **state)
{
	static const uint32_t ns[] = { 3, 7, 1000, UINT32_C(2147483659) };
	static const uint32_t want_zero[] = { 2, 4, 190, UINT32_C(1278355233) };
	static const uint32_t want_ff[] = { 0, 2, 651, UINT32_C(1512367400) };
	static const uint32_t want_ramp[] = { 1, 3, 771, UINT32_C(865976043) };
	unsigned char zero[DRAW_SEED_LEN], ff[DRAW_SEED_LEN], ramp[DRAW_SEED_LEN];

	seed_zero(zero);
	seed_ff(ff);
	seed_ramp(ramp);
	for (size_t k = 0; k < NELEM(ns); k++) {
		assert_int_equal(index_of(zero, ns[k]), want_zero[k]);
		assert_int_equal(index_of(ff, ns[k]), want_ff[k]);
		assert_int_equal(index_of(ramp, ns[k]), want_ramp[k]);
	}
}

/*
 * A seed whose round 0 falls in the rejected tail. n = 4294901761 has
 * 2^56 mod n = 4294901505 (the largest for n in [2^32 - 200000, 2^32)), so
 * a round is rejected with probability 6e-8; the first such seed among the
 * 32-byte big-endian integers is 6189754, found with
 *
 * /usr/bin/python3 -c 'import hashlib
 * n=4294901761; lim=2**56-2**56%n
 * print(next(i for i in range(10**9) if int.from_bytes(hashlib.sha256(
 *   i.to_bytes(32,"big")+bytes(4)).digest()[:7],"big")>=lim))'
 *
 * Round 0 gives x = 72057592506935320 >= limit (plain x mod n would be
 * 2763908889); round 1 is accepted and, by idx() above, gives 1778867300.
 */
static void
test_index_rejects_the_biased_tail(void **state)
{
	unsigned char seed[DRAW_SEED_LEN];

	memset(seed, 0, sizeof(seed));
	seed[29] = 0x5e;
	seed[30] = 0x72;
	seed[31] = 0xba;
	assert_int_equal(index_of(seed, UINT32_C(4294901761)), UINT32_C(1778867300));
}

/* The acceptance test of the issue: 3 equal candidates over 6,000 seeds. */
static void
test_pick_is_uniform_among_equal_loads(void **state)
{
	static const int64_t ids[] = { 101, 202, 303 };
	static const int32_t loads[] = { 4, 4, 4 };
	unsigned char seed[DRAW_SEED_LEN];
	unsigned counts[NELEM(ids)] = { 0 };

	for (uint64_t i = 0; i < 6000; i++) {
		int64_t pick;
		size_t k;

		test_seed(i, seed);
		pick = pick_of(seed, ids, loads, NELEM(ids));
		for (k = 0; k < NELEM(ids) && ids[k] != pick; k++)
			;
		if (k == NELEM(ids))
			fail_msg("picked %lld, not a candidate", (long long)pick);
		counts[k]++;
	}
	for (size_t k = 0; k < NELEM(ids); k++) {
		if (counts[k] < 1850 || counts[k] > 2150)
			fail_msg("candidate %lld picked %u times out of 6000",
			    (long long)ids[k], counts[k]);
	}
}

static void
test_pick_only_lowest_load(void **state)
{
	static const int64_t ids[] = { 10, 20, 30, 40 };
	static const int32_t loads[] = { 2, 1, 1, 3 };
	unsigned char seed[DRAW_SEED_LEN];
	unsigned n20 = 0, n30 = 0;

	for (uint64_t i = 0; i < 2000; i++) {
		int64_t pick;

		test_seed(i, seed);
		pick = pick_of(seed, ids, loads, NELEM(ids));
		if (pick == 20)
			n20++;
		else if (pick == 30)
			n30++;
		else
			fail_msg("seed %llu picked %lld, load not lowest",
			    (unsigned long long)i, (long long)pick);
	}
	assert_true(n20 > 0);
	assert_true(n30 > 0);
}

/* The pick is the lowest-load ids sorted, indexed by draw_index. */
static void
test_pick_is_index_into_sorted_lowest(void **state)
{
	static const int64_t sorted[] = { 3, 8, 15, 16, 23, 42 };
	static const int64_t ids[] = { 42, 99, 8, 23, 3, 7, 16, 15 };
	static const int32_t loads[] = { 0, 1, 0, 0, 0, 5, 0, 0 };
	unsigned char seed[DRAW_SEED_LEN];

	for (uint64_t i = 0; i < 1000; i++) {
		test_seed(i, seed);
		assert_int_equal(pick_of(seed, ids, loads, NELEM(ids)),
		    sorted[index_of(seed, NELEM(sorted))]);
	}
}

static void
test_pick_is_order_independent(void **state)
{
	static const int64_t ids_sorted[] = { 5, 11, 17, 23, 29, 31 };
	static const int32_t loads_sorted[] = { 1, 0, 0, 2, 0, 0 };
	static const int64_t ids_a[] = { 31, 5, 23, 11, 29, 17 };
	static const int32_t loads_a[] = { 0, 1, 2, 0, 0, 0 };
	static const int64_t ids_b[] = { 29, 31, 17, 23, 11, 5 };
	static const int32_t loads_b[] = { 0, 0, 0, 2, 0, 1 };
	unsigned char seed[DRAW_SEED_LEN];

	for (uint64_t i = 0; i < 1000; i++) {
		int64_t want;

		test_seed(i, seed);
		want = pick_of(seed, ids_sorted, loads_sorted, NELEM(ids_sorted));
		assert_int_equal(pick_of(seed, ids_a, loads_a, NELEM(ids_a)), want);
		assert_int_equal(pick_of(seed, ids_b, loads_b, NELEM(ids_b)), want);
	}
}

static void
test_pick_edge_cases(void **state)
{
	static const int64_t one_id[] = { 777 };
	static const int32_t one_load[] = { 9 };
	unsigned char seed[DRAW_SEED_LEN];
	int64_t pick = 12345;

	seed_ramp(seed);
	assert_false(draw_pick(seed, one_id, one_load, 0, &pick));
	assert_int_equal(pick, 12345);
	for (uint64_t i = 0; i < 200; i++) {
		test_seed(i, seed);
		assert_int_equal(pick_of(seed, one_id, one_load, 1), 777);
	}
}

/*
 * Extreme ids sort numerically: with the known answers for n = 3 above
 * (zero -> 2, ramp -> 1, ff -> 0) the picks are max, middle, min.
 */
static void
test_pick_extreme_ids_and_loads(void **state)
{
	static const int64_t ids[] = { INT64_MAX, -5, INT64_MIN, 0 };
	static const int32_t loads[] = { INT32_MIN, INT32_MIN, INT32_MIN, INT32_MAX };
	static const int32_t loads_min_only[] = { 0, 0, -1, 0 };
	unsigned char seed[DRAW_SEED_LEN];

	seed_zero(seed);
	assert_int_equal(pick_of(seed, ids, loads, NELEM(ids)), INT64_MAX);
	seed_ramp(seed);
	assert_int_equal(pick_of(seed, ids, loads, NELEM(ids)), -5);
	seed_ff(seed);
	assert_int_equal(pick_of(seed, ids, loads, NELEM(ids)), INT64_MIN);
	for (uint64_t i = 0; i < 100; i++) {
		test_seed(i, seed);
		assert_int_equal(pick_of(seed, ids, loads_min_only, NELEM(ids)),
		    INT64_MIN);
	}
}

static void
test_seed_is_32_fresh_bytes(void **state)
{
	/* Guard bytes either side show that exactly DRAW_SEED_LEN are written. */
	unsigned char a[DRAW_SEED_LEN + 2], b[DRAW_SEED_LEN + 2];
	unsigned char zero[DRAW_SEED_LEN];

	memset(a, 0xa5, sizeof(a));
	memset(b, 0xa5, sizeof(b));
	memset(zero, 0, sizeof(zero));
	assert_true(draw_seed(a + 1));
	assert_true(draw_seed(b + 1));
	assert_int_equal(a[0], 0xa5);
	assert_int_equal(a[DRAW_SEED_LEN + 1], 0xa5);
	assert_int_equal(b[0], 0xa5);
	assert_int_equal(b[DRAW_SEED_LEN + 1], 0xa5);
	assert_memory_not_equal(a + 1, b + 1, DRAW_SEED_LEN);
	assert_memory_not_equal(a + 1, zero, DRAW_SEED_LEN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index_zero_candidates_fails),
		cmocka_unit_test(test_index_one_candidate_is_zero),
		cmocka_unit_test(test_index_in_range),
		cmocka_unit_test(test_index_is_deterministic),
		cmocka_unit_test(test_index_known_answers),
		cmocka_unit_test(test_index_rejects_the_biased_tail),
		cmocka_unit_test(test_pick_is_uniform_among_equal_loads),
		cmocka_unit_test(test_pick_only_lowest_load),
		cmocka_unit_test(test_pick_is_index_into_sorted_lowest),
		cmocka_unit_test(test_pick_is_order_independent),
		cmocka_unit_test(test_pick_edge_cases),
		cmocka_unit_test(test_pick_extreme_ids_and_loads),
		cmocka_unit_test(test_seed_is_32_fresh_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
