/*
 * stats.h - calibration statistics: how far an evaluator's verdicts agree
 * with the blind reviewers' verdicts on the same defenses, with a Wilson
 * interval and two chance-corrected coefficients (Cohen's kappa, Gwet's
 * AC1). Pure arithmetic: no I/O, no allocation, no global state.
 * docs/REVIEW.md says what each number is for and how it is read.
 */
#ifndef CERTFLOW_STATS_H
#define CERTFLOW_STATS_H

#include <stdbool.h>

/* The two-sided 95% normal quantile, as used for every stored interval. */
#define STATS_Z95 1.959963984540054

/*
 * Counts of (original verdict, reviewer verdict), V = validated, N = needs
 * improvement. Counts are non-negative; their sum is the number of reviews.
 */
struct agreement_table {
	long long vv;	/* both validated */
	long long vn;	/* original V, reviewer N: leniency */
	long long nv;	/* original N, reviewer V: severity */
	long long nn;	/* both needs improvement */
};

struct agreement_stats {
	long long reviews;	/* n = vv + vn + nv + nn */
	long long agreements;	/* vv + nn */
	double agreement;	/* p_o = agreements / n; NAN when n == 0 */
	double wilson_low;	/* 95% Wilson interval of agreement; */
	double wilson_high;	/* [0, 1] when n == 0 */
	double kappa;		/* Cohen's kappa; NAN when n == 0 */
	double ac1;		/* Gwet's AC1; NAN when n == 0 */
	double leniency;	/* vn / n; NAN when n == 0 */
	double severity;	/* nv / n; NAN when n == 0 */
};

/*
 * Fills OUT from T. With p_o = (vv + nn) / n and the marginals
 * p_orig_V = (vv + vn) / n, p_rev_V = (vv + nv) / n:
 *   kappa = (p_o - p_e) / (1 - p_e),
 *     p_e = p_orig_V p_rev_V + (1 - p_orig_V)(1 - p_rev_V);
 *     when p_e == 1 (both raters gave one and the same verdict every time,
 *     so p_o == 1 too) kappa is 0/0 and is defined here as 1.0;
 *   AC1 = (p_o - p_e) / (1 - p_e),
 *     pi_V = (p_orig_V + p_rev_V) / 2, p_e = 2 pi_V (1 - pi_V) <= 1/2.
 */
void stats_agreement(const struct agreement_table *t, struct agreement_stats *out);

/*
 * The Wilson score interval of SUCCESSES out of N at quantile Z:
 *   center = (p + z^2/(2n)) / (1 + z^2/n),
 *   half = z sqrt(p(1-p)/n + z^2/(4n^2)) / (1 + z^2/n),
 *   [max(0, center - half), min(1, center + half)];
 * [0, 1] when N <= 0. SUCCESSES is clamped to [0, N]. The bound at 0 (no
 * success) and at 1 (all successes) is exact, not left to rounding.
 */
void stats_wilson(long long successes, long long n, double z, double *low,
    double *high);

/*
 * True when S has reviews and even the upper end of its 95% interval is
 * below AGREEMENT_FLOOR: the evaluator agrees with reviewers less often
 * than that beyond reasonable doubt. No reviews is never flagged.
 */
bool stats_flagged(const struct agreement_stats *s, double agreement_floor);

#endif
