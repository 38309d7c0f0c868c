/*
 * sampling.h - which verdicts get a blind review. The probability is a pure
 * function of the configured rule and the risk facts at verdict time, and
 * the decision a pure function of a stored 256-bit seed, so every sampled
 * flag can be recomputed. PostgreSQL implements the same rule inside the
 * verdict's transaction; this is the reference that checks it.
 */
#ifndef CERTFLOW_SAMPLING_H
#define CERTFLOW_SAMPLING_H

#include <stdbool.h>

#define SAMPLE_SEED_LEN 32

/* The factors sample_probability applied, as a bit set. */
enum sample_factor {
	SAMPLE_FEW_REVIEWS = 1,		/* evaluator_reviews < min_reviews */
	SAMPLE_LOW_AGREEMENT = 2,	/* agreement < agreement_floor, enough reviews */
	SAMPLE_AT_RISK = 4,		/* the enrollment's latest weekly note */
	SAMPLE_FRAUD_REPORT = 8,	/* an open fraud report: always reviewed */
};

struct sample_risk {
	long long evaluator_reviews;	/* reviewed defenses of the original evaluator so far */
	double evaluator_agreement;	/* their agreement rate so far (ignored when evaluator_reviews < min_reviews) */
	bool enrollment_at_risk;	/* the enrollment's latest weekly note says at risk */
	bool open_fraud_report;		/* an open fraud report on this project of this enrollment */
};

struct sample_rule {
	double review_rate;		/* review_rate, default 0.10 */
	long long min_reviews;		/* calibration_min_reviews, default 10 */
	double agreement_floor;		/* agreement_floor, default 0.80 */
};

/*
 * The probability of a blind review, computed in this order so that SQL
 * doing the same gets the same double:
 *   p = review_rate;
 *   p *= 2 when evaluator_reviews < min_reviews (SAMPLE_FEW_REVIEWS),
 *     else p *= 2 when evaluator_agreement < agreement_floor
 *     (SAMPLE_LOW_AGREEMENT) - the two exclude each other;
 *   p *= 1.5 when the enrollment is at risk (SAMPLE_AT_RISK);
 *   p = 1 when a fraud report is open (SAMPLE_FRAUD_REPORT);
 *   then clamped to [0, 1] (a NaN rate counts as 0).
 * WHY, unless NULL, receives every factor that held, including those a
 * fraud report or the cap made moot.
 */
double sample_probability(const struct sample_rule *rule,
    const struct sample_risk *risk, unsigned *why);

/*
 * A uniform number in [0, 1): x / 2^56, where x is the first 7 bytes
 * (big-endian, 56 bits) of SHA-256(seed || "sample") ("sample" being the 6
 * ASCII bytes, no NUL), rounded to a double. The 4 values of x so close to
 * 2^56 that the double would round to 1 give the largest double below 1.
 * NAN if the digest fails.
 */
double sample_unit(const unsigned char seed[SAMPLE_SEED_LEN]);

/*
 * True when sample_unit(seed) < PROBABILITY, compared exactly:
 * x < ceil(PROBABILITY * 2^56), which SQL can evaluate in bigint without
 * rounding. Never for PROBABILITY <= 0 (or NaN), always for >= 1. If the
 * digest fails it answers true: a review too many is harmless, a review
 * silently skipped is not.
 */
bool sample_decide(const unsigned char seed[SAMPLE_SEED_LEN], double probability);

#endif
