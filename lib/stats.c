/*
 * stats.c - the reference implementation of the calibration statistics in
 * stats.h. Ratios are computed from the integer counts, multiplied through
 * by n^2, so that tables with round answers (kappa 0.4, -1, 1) give them
 * exactly. Pure: never reads the clock, the database or a global.
 */
#include <math.h>

#include <certflow/stats.h>

void
stats_wilson(long long successes, long long n, double z, double *low,
    double *high)
{
	double nd, p, z2, denom, center, half;

	if (n <= 0) {
		*low = 0.0;
		*high = 1.0;
		return;
	}
	if (successes < 0)
		successes = 0;
	if (successes > n)
		successes = n;
	nd = (double)n;
	p = (double)successes / nd;
	z2 = z * z;
	denom = 1.0 + z2 / nd;
	center = (p + z2 / (2.0 * nd)) / denom;
	half = z * sqrt(p * (1.0 - p) / nd + z2 / (4.0 * nd * nd)) / denom;
	/* At p = 0 and p = 1, center -/+ half is 0 or 1 only up to rounding. */
	*low = successes == 0 ? 0.0 : fmax(0.0, center - half);
	*high = successes == n ? 1.0 : fmin(1.0, center + half);
}

void
stats_agreement(const struct agreement_table *t, struct agreement_stats *out)
{
	double n, agree, orig_v, orig_n, rev_v, rev_n, chance, pooled;

	out->reviews = t->vv + t->vn + t->nv + t->nn;
	out->agreements = t->vv + t->nn;
	if (out->reviews <= 0) {
		out->agreement = NAN;
		out->wilson_low = 0.0;
		out->wilson_high = 1.0;
		out->kappa = NAN;
		out->ac1 = NAN;
		out->leniency = NAN;
		out->severity = NAN;
		return;
	}
	n = (double)out->reviews;
	agree = (double)out->agreements;
	orig_v = (double)(t->vv + t->vn);
	orig_n = (double)(t->nv + t->nn);
	rev_v = (double)(t->vv + t->nv);
	rev_n = (double)(t->vn + t->nn);

	out->agreement = agree / n;
	stats_wilson(out->agreements, out->reviews, STATS_Z95, &out->wilson_low,
	    &out->wilson_high);

	/* Kappa times n^2/n^2: chance = n^2 p_e. */
	chance = orig_v * rev_v + orig_n * rev_n;
	if (t->vv == out->reviews || t->nn == out->reviews)
		out->kappa = 1.0;	/* p_e == 1 == p_o: 0/0, see stats.h */
	else
		out->kappa = (n * agree - chance) / (n * n - chance);

	/*
	 * AC1 times 2n^2/2n^2: 2n^2 p_e = (orig_v + rev_v)(orig_n + rev_n),
	 * at most n^2, so the denominator is at least n^2 > 0.
	 */
	pooled = (orig_v + rev_v) * (orig_n + rev_n);
	out->ac1 = (2.0 * n * agree - pooled) / (2.0 * n * n - pooled);

	out->leniency = (double)t->vn / n;
	out->severity = (double)t->nv / n;
}

bool
stats_flagged(const struct agreement_stats *s, double agreement_floor)
{
	return s->reviews > 0 && s->wilson_high < agreement_floor;
}
