/*
 * cmd_sample.c - "certflow sample replay DEFENSE_ID": recomputes whether a
 * verdict was sampled for a blind review, with lib/sampling.c, from the
 * stored seed and probability, and says whether the database decided the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <certflow/sampling.h>

#include "cli.h"

static int
replay(const char *id, PGresult *res)
{
	unsigned char seed[SAMPLE_SEED_LEN];
	const char *hex = PQgetvalue(res, 0, 0);
	double probability = strtod(PQgetvalue(res, 0, 1), NULL);
	bool stored = strcmp(PQgetvalue(res, 0, 2), "t") == 0, decided;

	if (!cli_bytea_decode(hex, seed, sizeof(seed))) {
		fprintf(stderr, "certflow: defense %s: unreadable seed\n", id);
		return 1;
	}
	decided = sample_decide(seed, probability);
	printf("defense %s: probability %.6f (factors %s), unit %.6f: stored %s, "
	    "recomputed %s: %s\n", id, probability, PQgetvalue(res, 0, 3),
	    sample_unit(seed), stored ? "sampled" : "not sampled",
	    decided ? "sampled" : "not sampled", decided == stored ? "match" : "MISMATCH");
	return decided == stored ? 0 : 1;
}

int
cmd_sample(int argc, char **argv, const char *config_path)
{
	return cli_replay(argc, argv, config_path,
	    "certflow sample replay DEFENSE_ID",
	    "SELECT seed, probability, sampled, factors FROM review_samples "
	    "WHERE defense_id = $1::bigint",
	    "sampling decision for defense", replay);
}
