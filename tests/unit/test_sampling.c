/*
 * test_sampling.c - unit tests for lib/sampling.c: every factor of the
 * review probability alone and combined, its boundaries, the cap and the
 * fraud override; sample_unit stays in [0, 1) and agrees with an
 * independent implementation; sample_decide's threshold sits exactly at
 * sample_unit and yields the configured rate over 20,000 seeds.
 * Seeds come from a fixed PRNG so every run decides the same.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "certflow/sampling.h"

#define EXACT 1e-12

/*
 * cmocka 1.1.5's assert_float_equal converts its arguments to float, which
 * cannot hold a 1e-12 tolerance: compare doubles, reporting the caller.
 */
#define assert_near(a, b, tol) \
	near_at((a), (b), (tol), #a, __FILE__, __LINE__)

static void
near_at(double got, double want, double tol, const char *expr,
    const char *file, int line)
{
	if (!(fabs(got - want) <= tol)) {
		print_error("%s = %.17g, want %.17g within %g\n", expr, got,
		    want, tol);
		_fail(file, line);
	}
}

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
test_seed(uint64_t i, unsigned char seed[SAMPLE_SEED_LEN])
{
	uint64_t state = i;

	for (int w = 0; w < SAMPLE_SEED_LEN / 8; w++) {
		uint64_t v = splitmix64(&state);

		for (int b = 0; b < 8; b++)
			seed[w * 8 + b] = (unsigned char)(v >> (56 - 8 * b));
	}
}

/* The configured defaults. */
static const struct sample_rule rule = {
	.review_rate = 0.10, .min_reviews = 10, .agreement_floor = 0.80,
};

/* An evaluator with a good record on an enrollment with no concern. */
static struct sample_risk
calm(void)
{
	struct sample_risk r = {
		.evaluator_reviews = 25, .evaluator_agreement = 0.92,
		.enrollment_at_risk = false, .open_fraud_report = false,
	};

	return r;
}

static double
probability(const struct sample_risk *risk, unsigned want_why)
{
	unsigned why = 0xdead;
	double p = sample_probability(&rule, risk, &why);

	assert_int_equal(why, want_why);
	return p;
}

static void
test_no_factor_is_the_rate(void **state)
{
	struct sample_risk r = calm();

	assert_near(probability(&r, 0), 0.10, EXACT);
}

static void
test_few_reviews_doubles(void **state)
{
	struct sample_risk r = calm();

	r.evaluator_reviews = 3;
	assert_near(probability(&r, SAMPLE_FEW_REVIEWS), 0.20, EXACT);
	r.evaluator_reviews = 0;
	assert_near(probability(&r, SAMPLE_FEW_REVIEWS), 0.20, EXACT);
}

/* Exactly min_reviews reviewed defenses is enough: not "few". */
static void
test_min_reviews_boundary(void **state)
{
	struct sample_risk r = calm();

	r.evaluator_reviews = 9;
	assert_near(probability(&r, SAMPLE_FEW_REVIEWS), 0.20, EXACT);
	r.evaluator_reviews = 10;
	assert_near(probability(&r, 0), 0.10, EXACT);
}

static void
test_low_agreement_doubles(void **state)
{
	struct sample_risk r = calm();

	r.evaluator_agreement = 0.55;
	assert_near(probability(&r, SAMPLE_LOW_AGREEMENT), 0.20, EXACT);
}

/* Agreement exactly at the floor is not low; just below it is. */
static void
test_agreement_floor_boundary(void **state)
{
	struct sample_risk r = calm();

	r.evaluator_agreement = 0.80;
	assert_near(probability(&r, 0), 0.10, EXACT);
	r.evaluator_agreement = nextafter(0.80, 0.0);
	assert_near(probability(&r, SAMPLE_LOW_AGREEMENT), 0.20, EXACT);
}

/*
 * Below min_reviews the agreement rate means nothing and is ignored: an
 * evaluator with 2 reviews and 0% agreement is "few", doubled once.
 */
static void
test_few_reviews_ignores_agreement(void **state)
{
	struct sample_risk r = calm();

	r.evaluator_reviews = 2;
	r.evaluator_agreement = 0.0;
	assert_near(probability(&r, SAMPLE_FEW_REVIEWS), 0.20, EXACT);
	r.evaluator_agreement = NAN;	/* no reviews yet: no rate at all */
	r.evaluator_reviews = 0;
	assert_near(probability(&r, SAMPLE_FEW_REVIEWS), 0.20, EXACT);
}

static void
test_at_risk_times_one_and_a_half(void **state)
{
	struct sample_risk r = calm();

	r.enrollment_at_risk = true;
	assert_near(probability(&r, SAMPLE_AT_RISK), 0.15, EXACT);
}

/*
 * Combined, in the documented order: 0.10 x 2 x 1.5 = 0.30 with either
 * doubling; 0.25 x 2 x 1.5 = 0.75; 0.40 x 2 x 1.5 = 1.2, capped at 1.
 */
static void
test_factors_combine(void **state)
{
	struct sample_rule high = rule;
	struct sample_risk r = calm();
	unsigned why;

	r.enrollment_at_risk = true;
	r.evaluator_reviews = 4;
	assert_near(probability(&r, SAMPLE_FEW_REVIEWS | SAMPLE_AT_RISK), 0.30,
	    EXACT);
	r.evaluator_reviews = 40;
	r.evaluator_agreement = 0.70;
	assert_near(probability(&r, SAMPLE_LOW_AGREEMENT | SAMPLE_AT_RISK),
	    0.30, EXACT);

	high.review_rate = 0.25;
	assert_near(sample_probability(&high, &r, &why), 0.75, EXACT);
	assert_int_equal(why, SAMPLE_LOW_AGREEMENT | SAMPLE_AT_RISK);
	high.review_rate = 0.40;
	assert_true(sample_probability(&high, &r, &why) == 1.0);
	assert_int_equal(why, SAMPLE_LOW_AGREEMENT | SAMPLE_AT_RISK);
}

static void
test_capped_at_one(void **state)
{
	struct sample_rule all = rule;
	struct sample_risk r = calm();

	all.review_rate = 1.0;
	assert_true(sample_probability(&all, &r, NULL) == 1.0);
	r.evaluator_reviews = 0;
	assert_true(sample_probability(&all, &r, NULL) == 1.0);
	all.review_rate = 0.6;
	assert_true(sample_probability(&all, &r, NULL) == 1.0);
}

/* An open fraud report means a review, whatever the rate, even 0. */
static void
test_fraud_report_overrides(void **state)
{
	struct sample_rule none = rule;
	struct sample_risk r = calm();

	r.open_fraud_report = true;
	assert_true(probability(&r, SAMPLE_FRAUD_REPORT) == 1.0);
	none.review_rate = 0.0;
	assert_true(sample_probability(&none, &r, NULL) == 1.0);
	/* Every factor that held is still reported. */
	r.evaluator_reviews = 1;
	r.enrollment_at_risk = true;
	assert_true(probability(&r, SAMPLE_FEW_REVIEWS | SAMPLE_AT_RISK |
	    SAMPLE_FRAUD_REPORT) == 1.0);
}

/* A zero rate stays zero under the multiplying factors; nonsense is 0. */
static void
test_zero_and_invalid_rates(void **state)
{
	struct sample_rule odd = rule;
	struct sample_risk r = calm();

	odd.review_rate = 0.0;
	r.evaluator_reviews = 0;
	r.enrollment_at_risk = true;
	assert_true(sample_probability(&odd, &r, NULL) == 0.0);
	odd.review_rate = -0.5;
	assert_true(sample_probability(&odd, &r, NULL) == 0.0);
	odd.review_rate = NAN;
	assert_true(sample_probability(&odd, &r, NULL) == 0.0);
}

/*
 * Known answers from an independent implementation of sampling.h:
 *
 * /usr/bin/python3 -c 'import hashlib
 * for s in (bytes(32), b"\xff"*32, bytes(range(32))):
 *   h=hashlib.sha256(s+b"sample").digest()[:7]
 *   print(h.hex(), int.from_bytes(h,"big")/2**56)'
 *
 * f86cda7b0272e4 0.9704109716717073
 * 697d2cf99cd412 0.41206627935464746
 * d7e3e372a34ea0 0.8433210520627719
 */
static void
test_unit_known_answers(void **state)
{
	unsigned char seed[SAMPLE_SEED_LEN];

	memset(seed, 0x00, sizeof(seed));
	assert_true(sample_unit(seed) ==
	    (double)UINT64_C(0xf86cda7b0272e4) / 0x1p56);
	assert_near(sample_unit(seed), 0.9704109716717073, 1e-15);
	memset(seed, 0xff, sizeof(seed));
	assert_true(sample_unit(seed) ==
	    (double)UINT64_C(0x697d2cf99cd412) / 0x1p56);
	assert_near(sample_unit(seed), 0.41206627935464746, 1e-15);
	for (int i = 0; i < SAMPLE_SEED_LEN; i++)
		seed[i] = (unsigned char)i;
	assert_true(sample_unit(seed) ==
	    (double)UINT64_C(0xd7e3e372a34ea0) / 0x1p56);
	assert_near(sample_unit(seed), 0.8433210520627719, 1e-15);
}

static void
test_unit_in_range_and_deterministic(void **state)
{
	unsigned char seed[SAMPLE_SEED_LEN], copy[SAMPLE_SEED_LEN];

	for (uint64_t i = 0; i < 20000; i++) {
		double u;

		test_seed(i, seed);
		memcpy(copy, seed, sizeof(copy));
		u = sample_unit(seed);
		if (!(u >= 0.0 && u < 1.0))
			fail_msg("seed %llu: sample_unit = %.17g",
			    (unsigned long long)i, u);
		assert_true(sample_unit(copy) == u);
		assert_memory_equal(seed, copy, sizeof(copy));
	}
}

/*
 * The decision flips exactly at sample_unit: just above it a review, just
 * below it none (the rounded double is within half a step of x / 2^56).
 * For seed 0 of the stream, x = 58823815206389962. Seed 2 has
 * x = 12201891093124056 = 0x2b598e283193d8, a multiple of 8 below 2^54, so
 * x / 2^56 is exact: at p equal to it, u < p is false.
 */
static void
test_decide_threshold_is_the_unit(void **state)
{
	unsigned char seed[SAMPLE_SEED_LEN];

	for (uint64_t i = 0; i < 2000; i++) {
		double u;

		test_seed(i, seed);
		u = sample_unit(seed);
		assert_true(sample_decide(seed, nextafter(u, 2.0)));
		assert_false(sample_decide(seed, nextafter(u, 0.0)));
	}
	test_seed(0, seed);
	assert_true(sample_unit(seed) ==
	    (double)UINT64_C(58823815206389962) / 0x1p56);
	test_seed(2, seed);
	assert_true(sample_unit(seed) ==
	    (double)UINT64_C(12201891093124056) / 0x1p56);
	assert_false(sample_decide(seed, sample_unit(seed)));
	assert_true(sample_decide(seed, nextafter(sample_unit(seed), 2.0)));
}

/*
 * 20,000 seeds at p = 0.10: mean 2000, sd = sqrt(20000 * 0.1 * 0.9) =
 * sqrt(1800) = 42.43; three sd is [1873, 2127]. The exact count, from
 *
 * /usr/bin/python3 -c 'import hashlib
 * M=2**64-1
 * def seed(i):
 *   s=i; b=b""
 *   for w in range(4):
 *     s=(s+0x9e3779b97f4a7c15)&M; z=s
 *     z=((z^(z>>30))*0xbf58476d1ce4e5b9)&M; z=((z^(z>>27))*0x94d049bb133111eb)&M
 *     b+=(z^(z>>31)).to_bytes(8,"big")
 *   return b
 * print(sum(int.from_bytes(hashlib.sha256(seed(i)+b"sample").digest()[:7],
 *   "big") < 0.1*2**56 for i in range(20000)))'
 *
 * is 2043.
 */
static void
test_decide_rate_over_seeds(void **state)
{
	unsigned char seed[SAMPLE_SEED_LEN];
	unsigned hits = 0;

	for (uint64_t i = 0; i < 20000; i++) {
		test_seed(i, seed);
		if (sample_decide(seed, 0.10))
			hits++;
		if (sample_decide(seed, 0.0))
			fail_msg("seed %llu sampled at p = 0", (unsigned long long)i);
		if (!sample_decide(seed, 1.0))
			fail_msg("seed %llu not sampled at p = 1", (unsigned long long)i);
	}
	if (hits < 1873 || hits > 2127)
		fail_msg("%u of 20000 sampled at p = 0.10", hits);
	assert_int_equal(hits, 2043);
}

static void
test_decide_out_of_range_probabilities(void **state)
{
	unsigned char seed[SAMPLE_SEED_LEN];

	memset(seed, 0x00, sizeof(seed));	/* u = 0.97 */
	assert_false(sample_decide(seed, -1.0));
	assert_false(sample_decide(seed, NAN));
	assert_false(sample_decide(seed, 0.97));
	assert_true(sample_decide(seed, 0.98));
	assert_true(sample_decide(seed, 1.5));
	assert_true(sample_decide(seed, INFINITY));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_factor_is_the_rate),
		cmocka_unit_test(test_few_reviews_doubles),
		cmocka_unit_test(test_min_reviews_boundary),
		cmocka_unit_test(test_low_agreement_doubles),
		cmocka_unit_test(test_agreement_floor_boundary),
		cmocka_unit_test(test_few_reviews_ignores_agreement),
		cmocka_unit_test(test_at_risk_times_one_and_a_half),
		cmocka_unit_test(test_factors_combine),
		cmocka_unit_test(test_capped_at_one),
		cmocka_unit_test(test_fraud_report_overrides),
		cmocka_unit_test(test_zero_and_invalid_rates),
		cmocka_unit_test(test_unit_known_answers),
		cmocka_unit_test(test_unit_in_range_and_deterministic),
		cmocka_unit_test(test_decide_threshold_is_the_unit),
		cmocka_unit_test(test_decide_rate_over_seeds),
		cmocka_unit_test(test_decide_out_of_range_probabilities),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
