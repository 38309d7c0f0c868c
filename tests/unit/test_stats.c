/*
 * test_stats.c - unit tests for lib/stats.c against values worked out by
 * hand (the arithmetic is in the comments) and cross-checked with an
 * independent Python computation: the Wilson interval, Cohen's kappa and
 * Gwet's AC1 on known tables (including the high-prevalence paradox and the
 * degenerate constant raters), leniency, severity and the calibration flag.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>

#include "certflow/stats.h"

#define EXACT 1e-12	/* ratios of small integers */
#define CLOSE 1e-9	/* square roots, compared with Python's doubles */

/*
 * cmocka 1.1.5's assert_float_equal converts its arguments to float, which
 * cannot hold a 1e-9 tolerance: compare doubles, reporting the caller.
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

static struct agreement_stats
stats_of(long long vv, long long vn, long long nv, long long nn)
{
	struct agreement_table t = { .vv = vv, .vn = vn, .nv = nv, .nn = nn };
	struct agreement_stats s;

	stats_agreement(&t, &s);
	return s;
}

/*
 * Independent values of every interval below:
 *
 * /usr/bin/python3 -c 'import math
 * z=1.959963984540054
 * def w(k,n):
 *   p=k/n; d=1+z*z/n; c=(p+z*z/(2*n))/d; h=z*math.sqrt(p*(1-p)/n+z*z/(4*n*n))/d
 *   return max(0,c-h),min(1,c+h)
 * for k,n in ((0,10),(10,10),(5,10),(9,10),(35,50),(90,100)): print(k,n,w(k,n))'
 *
 * 0 10 (0, 0.2775327998628892)
 * 10 10 (0.7224672001371107, 0.9999999999999999)
 * 5 10 (0.236593090512564, 0.7634069094874361)
 * 9 10 (0.5958499732047615, 0.9821237869049271)
 * 35 50 (0.562496495355466, 0.8089644649911906)
 * 90 100 (0.8256343384950865, 0.9447708629393249)
 */

/*
 * p = 0: center = (z^2/20) / (1 + z^2/10) and half = z sqrt(z^2/400) /
 * (1 + z^2/10) = the same, so low = 0 and high = 2 center = z^2/(10 + z^2)
 * = 3.841458820694124 / 13.841458820694124 = 0.27753280.
 */
static void
test_wilson_none_of_ten(void **state)
{
	double low = -1, high = -1;

	stats_wilson(0, 10, STATS_Z95, &low, &high);
	assert_true(low == 0.0);
	assert_near(high, 0.2775327998628892, CLOSE);
	assert_near(high, STATS_Z95 * STATS_Z95 /
	    (10 + STATS_Z95 * STATS_Z95), EXACT);
}

/* p = 1 mirrors p = 0: low = 10/(10 + z^2) = 0.72246720, high = 1. */
static void
test_wilson_all_of_ten(void **state)
{
	double low = -1, high = -1;

	stats_wilson(10, 10, STATS_Z95, &low, &high);
	assert_near(low, 0.7224672001371107, CLOSE);
	assert_near(low, 10 / (10 + STATS_Z95 * STATS_Z95), EXACT);
	assert_true(high == 1.0);
}

/*
 * p = 1/2: center = (0.5 + z^2/20) / (1 + z^2/10) = 0.5 exactly;
 * z^2 = 3.841458820694124, p(1-p)/n = 0.025, z^2/400 = 0.00960365,
 * sqrt(0.03460365) = 0.18602056, times z = 0.36459359, over
 * 1 + z^2/10 = 1.38414588 gives half = 0.26340691:
 * [0.5 - 0.26340691, 0.5 + 0.26340691] = [0.23659309, 0.76340691].
 */
static void
test_wilson_half_of_ten(void **state)
{
	double low = -1, high = -1;

	stats_wilson(5, 10, STATS_Z95, &low, &high);
	assert_near(low, 0.236593090512564, CLOSE);
	assert_near(high, 0.7634069094874361, CLOSE);
	assert_near(low + high, 1.0, EXACT);
	stats_wilson(9, 10, STATS_Z95, &low, &high);
	assert_near(low, 0.5958499732047615, CLOSE);
	assert_near(high, 0.9821237869049271, CLOSE);
}

static void
test_wilson_no_trials_is_everything(void **state)
{
	double low = -1, high = -1;

	stats_wilson(0, 0, STATS_Z95, &low, &high);
	assert_true(low == 0.0);
	assert_true(high == 1.0);
	low = high = -1;
	stats_wilson(3, -4, STATS_Z95, &low, &high);
	assert_true(low == 0.0);
	assert_true(high == 1.0);
}

/* Successes outside [0, n] are clamped rather than producing NaN. */
static void
test_wilson_clamps_successes(void **state)
{
	double low, high;

	stats_wilson(12, 10, STATS_Z95, &low, &high);
	assert_near(low, 0.7224672001371107, CLOSE);
	assert_true(high == 1.0);
	stats_wilson(-1, 10, STATS_Z95, &low, &high);
	assert_true(low == 0.0);
	assert_near(high, 0.2775327998628892, CLOSE);
}

/*
 * {vv=5, vn=0, nv=0, nn=5}: p_o = 1; marginals 1/2 and 1/2, so
 * p_e = 1/4 + 1/4 = 1/2, kappa = (1 - 1/2)/(1 - 1/2) = 1; pi_V = 1/2,
 * p_e(AC1) = 2 (1/2)(1/2) = 1/2, AC1 = 1.
 */
static void
test_all_agree_balanced(void **state)
{
	struct agreement_stats s = stats_of(5, 0, 0, 5);

	assert_int_equal(s.reviews, 10);
	assert_int_equal(s.agreements, 10);
	assert_near(s.agreement, 1.0, EXACT);
	assert_near(s.kappa, 1.0, EXACT);
	assert_near(s.ac1, 1.0, EXACT);
	assert_near(s.leniency, 0.0, EXACT);
	assert_near(s.severity, 0.0, EXACT);
	assert_near(s.wilson_low, 0.7224672001371107, CLOSE);
	assert_true(s.wilson_high == 1.0);
}

/*
 * {vv=10, 0, 0, 0}: both raters always said validated, p_o = 1 and
 * p_e = 1 * 1 + 0 * 0 = 1: kappa = 0/0, defined as 1 (stats.h).
 * AC1: pi_V = 1, p_e = 2 * 1 * 0 = 0, AC1 = (1 - 0)/(1 - 0) = 1.
 * The same with both always saying needs improvement.
 */
static void
test_all_agree_constant_raters(void **state)
{
	struct agreement_stats s = stats_of(10, 0, 0, 0);

	assert_near(s.agreement, 1.0, EXACT);
	assert_false(isnan(s.kappa));
	assert_near(s.kappa, 1.0, EXACT);
	assert_near(s.ac1, 1.0, EXACT);

	s = stats_of(0, 0, 0, 7);
	assert_near(s.kappa, 1.0, EXACT);
	assert_near(s.ac1, 1.0, EXACT);
}

/*
 * The high-prevalence paradox, {vv=90, vn=5, nv=5, nn=0}, n = 100:
 * p_o = 90/100 = 0.90; p_orig_V = p_rev_V = 95/100;
 * kappa: p_e = 0.95^2 + 0.05^2 = 0.9025 + 0.0025 = 0.905,
 *   kappa = (0.90 - 0.905)/(1 - 0.905) = -0.005/0.095 = -1/19 = -0.0526316;
 * AC1: pi_V = 0.95, p_e = 2 * 0.95 * 0.05 = 0.095,
 *   AC1 = (0.90 - 0.095)/(1 - 0.095) = 0.805/0.905 = 161/181 = 0.8895028.
 * Ninety agreements in a hundred, yet kappa says worse than chance.
 */
static void
test_high_prevalence_paradox(void **state)
{
	struct agreement_stats s = stats_of(90, 5, 5, 0);

	assert_int_equal(s.reviews, 100);
	assert_int_equal(s.agreements, 90);
	assert_near(s.agreement, 0.90, EXACT);
	assert_near(s.kappa, -1.0 / 19.0, EXACT);
	assert_true(s.kappa < 0);
	assert_near(s.ac1, 161.0 / 181.0, EXACT);
	assert_near(s.ac1, 0.8895027624309393, CLOSE);
	assert_near(s.leniency, 0.05, EXACT);
	assert_near(s.severity, 0.05, EXACT);
	assert_near(s.wilson_low, 0.8256343384950865, CLOSE);
	assert_near(s.wilson_high, 0.9447708629393249, CLOSE);
}

/*
 * {vv=20, vn=5, nv=10, nn=15}, n = 50: p_o = 35/50 = 0.7;
 * p_orig_V = 25/50 = 0.5, p_rev_V = 30/50 = 0.6;
 * kappa: p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5, kappa = 0.2/0.5 = 0.4;
 * AC1: pi_V = 0.55, p_e = 2 * 0.55 * 0.45 = 0.495,
 *   AC1 = (0.7 - 0.495)/(1 - 0.495) = 0.205/0.505 = 41/101 = 0.4059406.
 * leniency = 5/50 = 0.1, severity = 10/50 = 0.2.
 */
static void
test_textbook_table(void **state)
{
	struct agreement_stats s = stats_of(20, 5, 10, 15);

	assert_int_equal(s.reviews, 50);
	assert_int_equal(s.agreements, 35);
	assert_near(s.agreement, 0.7, EXACT);
	assert_near(s.kappa, 0.4, EXACT);
	assert_near(s.ac1, 41.0 / 101.0, EXACT);
	assert_near(s.leniency, 0.1, EXACT);
	assert_near(s.severity, 0.2, EXACT);
	assert_near(s.wilson_low, 0.562496495355466, CLOSE);
	assert_near(s.wilson_high, 0.8089644649911906, CLOSE);
}

/*
 * {0, vn=5, nv=5, 0}: p_o = 0; marginals 1/2 and 1/2, p_e = 1/2,
 * kappa = (0 - 1/2)/(1/2) = -1; pi_V = 1/2, p_e = 1/2, AC1 = -1.
 */
static void
test_perfect_disagreement(void **state)
{
	struct agreement_stats s = stats_of(0, 5, 5, 0);

	assert_int_equal(s.agreements, 0);
	assert_near(s.agreement, 0.0, EXACT);
	assert_near(s.kappa, -1.0, EXACT);
	assert_near(s.ac1, -1.0, EXACT);
	assert_near(s.leniency, 0.5, EXACT);
	assert_near(s.severity, 0.5, EXACT);
	assert_true(s.wilson_low == 0.0);
	assert_near(s.wilson_high, 0.2775327998628892, CLOSE);
}

/*
 * Leniency and severity are separate: an evaluator who validates what
 * reviewers reject. {vv=6, vn=3, nv=1, nn=0}, n = 10: leniency 3/10,
 * severity 1/10, agreement 6/10.
 */
static void
test_leniency_and_severity(void **state)
{
	struct agreement_stats s = stats_of(6, 3, 1, 0);

	assert_near(s.leniency, 0.3, EXACT);
	assert_near(s.severity, 0.1, EXACT);
	assert_near(s.agreement, 0.6, EXACT);
	s = stats_of(6, 1, 3, 0);
	assert_near(s.leniency, 0.1, EXACT);
	assert_near(s.severity, 0.3, EXACT);
}

static void
test_no_reviews_is_nan(void **state)
{
	struct agreement_stats s = stats_of(0, 0, 0, 0);

	assert_int_equal(s.reviews, 0);
	assert_int_equal(s.agreements, 0);
	assert_true(isnan(s.agreement));
	assert_true(isnan(s.kappa));
	assert_true(isnan(s.ac1));
	assert_true(isnan(s.leniency));
	assert_true(isnan(s.severity));
	assert_true(s.wilson_low == 0.0);
	assert_true(s.wilson_high == 1.0);
}

/* The interval stored with the statistics is stats_wilson at z = 1.96. */
static void
test_agreement_interval_is_wilson(void **state)
{
	struct agreement_stats s = stats_of(7, 2, 1, 3);
	double low, high;

	stats_wilson(10, 13, STATS_Z95, &low, &high);
	assert_true(s.wilson_low == low);
	assert_true(s.wilson_high == high);
}

/*
 * Floor 0.8: 5 agreements in 10 have high = 0.7634 < 0.8, flagged;
 * 10 in 10 have high = 1, not flagged; no reviews is never flagged; 35 in
 * 50 (high 0.8090) is not flagged yet although the agreement is 0.7.
 */
static void
test_flagged(void **state)
{
	struct agreement_stats s;

	s = stats_of(3, 3, 2, 2);
	assert_int_equal(s.agreements, 5);
	assert_true(stats_flagged(&s, 0.80));
	s = stats_of(4, 0, 0, 6);
	assert_false(stats_flagged(&s, 0.80));
	s = stats_of(0, 0, 0, 0);
	assert_false(stats_flagged(&s, 0.80));
	assert_false(stats_flagged(&s, 2.0));
	s = stats_of(20, 5, 10, 15);
	assert_false(stats_flagged(&s, 0.80));
	assert_true(stats_flagged(&s, 0.81));
	/* Strictly below: an upper bound equal to the floor is not flagged. */
	assert_false(stats_flagged(&s, s.wilson_high));
	assert_true(stats_flagged(&s, nextafter(s.wilson_high, 1.0)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wilson_none_of_ten),
		cmocka_unit_test(test_wilson_all_of_ten),
		cmocka_unit_test(test_wilson_half_of_ten),
		cmocka_unit_test(test_wilson_no_trials_is_everything),
		cmocka_unit_test(test_wilson_clamps_successes),
		cmocka_unit_test(test_all_agree_balanced),
		cmocka_unit_test(test_all_agree_constant_raters),
		cmocka_unit_test(test_high_prevalence_paradox),
		cmocka_unit_test(test_textbook_table),
		cmocka_unit_test(test_perfect_disagreement),
		cmocka_unit_test(test_leniency_and_severity),
		cmocka_unit_test(test_no_reviews_is_nan),
		cmocka_unit_test(test_agreement_interval_is_wilson),
		cmocka_unit_test(test_flagged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
