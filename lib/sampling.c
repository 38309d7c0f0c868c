/*
 * sampling.c - the reference implementation of the blind-review sample:
 * the probability from the rule and the risk facts, and a seeded decision
 * derived by SHA-256 like the evaluator draw (lib/draw.c). Pure: the seed
 * comes from the caller, nothing here reads the clock or the database.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include <certflow/sampling.h>

#define SAMPLE_BITS 56
#define SAMPLE_SPACE 0x1p56	/* 2^56, exact as a double */

/* Domain separation from the draw's SHA-256(seed || be32(counter)). */
static const char sample_tag[] = "sample";
#define SAMPLE_TAG_LEN (sizeof(sample_tag) - 1)

double
sample_probability(const struct sample_rule *rule,
    const struct sample_risk *risk, unsigned *why)
{
	double p = rule->review_rate;
	unsigned factors = 0;

	/* Too few reviews make the agreement rate meaningless: never both. */
	if (risk->evaluator_reviews < rule->min_reviews) {
		factors |= SAMPLE_FEW_REVIEWS;
		p *= 2.0;
	} else if (risk->evaluator_agreement < rule->agreement_floor) {
		factors |= SAMPLE_LOW_AGREEMENT;
		p *= 2.0;
	}
	if (risk->enrollment_at_risk) {
		factors |= SAMPLE_AT_RISK;
		p *= 1.5;
	}
	if (risk->open_fraud_report) {
		factors |= SAMPLE_FRAUD_REPORT;
		p = 1.0;
	}
	if (!(p >= 0.0))
		p = 0.0;
	else if (p > 1.0)
		p = 1.0;
	if (why != NULL)
		*why = factors;
	return p;
}

/* The 56-bit value x of SEED; false if the digest fails. */
static bool
sample_value(const unsigned char seed[SAMPLE_SEED_LEN], uint64_t *x)
{
	unsigned char buf[SAMPLE_SEED_LEN + SAMPLE_TAG_LEN], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	memcpy(buf, seed, SAMPLE_SEED_LEN);
	memcpy(buf + SAMPLE_SEED_LEN, sample_tag, SAMPLE_TAG_LEN);
	if (EVP_Digest(buf, sizeof(buf), md, &mdlen, EVP_sha256(), NULL) != 1)
		return false;
	*x = 0;
	for (int i = 0; i < SAMPLE_BITS / 8; i++)
		*x = (*x << 8) | md[i];
	return true;
}

double
sample_unit(const unsigned char seed[SAMPLE_SEED_LEN])
{
	uint64_t x;
	double u;

	if (!sample_value(seed, &x))
		return NAN;
	u = (double)x / SAMPLE_SPACE;
	/* 56 bits do not fit a 53-bit mantissa: x >= 2^56 - 4 rounds to 1. */
	if (u >= 1.0)
		u = nextafter(1.0, 0.0);
	return u;
}

bool
sample_decide(const unsigned char seed[SAMPLE_SEED_LEN], double probability)
{
	uint64_t x;

	if (!(probability > 0.0))
		return false;
	if (probability >= 1.0)
		return true;
	if (!sample_value(seed, &x))
		return true;
	/*
	 * probability * 2^56 is exact (a power of two) and so is its ceiling,
	 * below 2^56: for an integer x, x < p 2^56 exactly when x < ceil(it).
	 */
	return x < (uint64_t)ceil(probability * SAMPLE_SPACE);
}
