/*
 * cmd_draw.c - "certflow draw replay ID": recomputes a stored evaluator draw
 * with lib/draw.c from its seed and candidate list, and says whether the
 * pick the database made is the one the reference implementation makes.
 */
#include <stdio.h>
#include <stdlib.h>

#include <certflow/draw.h>

#include "cli.h"

/* Parses PostgreSQL's "{1,2,3}" into at most MAX integers; returns the count or -1. */
static long
parse_array(const char *text, long long *out, long max)
{
	const char *p = text;
	char *end;
	long n = 0;

	if (*p++ != '{')
		return -1;
	while (*p != '}') {
		if (n == max)
			return -1;
		out[n++] = strtoll(p, &end, 10);
		if (end == p)
			return -1;
		p = *end == ',' ? end + 1 : end;
	}
	return n;
}

/* Recomputes the draw of row RES (seed, candidates, loads, pick); prints the verdict. */
static int
replay(const char *id, PGresult *res)
{
	unsigned char seed[DRAW_SEED_LEN];
	long long ids_ll[4096], loads_ll[4096];
	int64_t ids[4096], pick = 0;
	int32_t loads[4096];
	long n, nl;
	long long stored = strtoll(PQgetvalue(res, 0, 3), NULL, 10);

	n = parse_array(PQgetvalue(res, 0, 1), ids_ll, 4096);
	nl = parse_array(PQgetvalue(res, 0, 2), loads_ll, 4096);
	if (!cli_bytea_decode(PQgetvalue(res, 0, 0), seed, sizeof(seed)) || n <= 0 || n != nl) {
		fprintf(stderr, "certflow: draw %s: unreadable seed or candidate list\n", id);
		return 1;
	}
	for (long i = 0; i < n; i++) {
		ids[i] = ids_ll[i];
		loads[i] = (int32_t)loads_ll[i];
	}
	if (!draw_pick(seed, ids, loads, (size_t)n, &pick)) {
		fprintf(stderr, "certflow: draw %s: cannot recompute\n", id);
		return 1;
	}
	printf("draw %s: %ld candidates, stored pick %lld, recomputed pick %lld: %s\n",
	    id, n, stored, (long long)pick, pick == stored ? "match" : "MISMATCH");
	return pick == stored ? 0 : 1;
}

int
cmd_draw(int argc, char **argv, const char *config_path)
{
	return cli_replay(argc, argv, config_path, "certflow draw replay ID",
	    "SELECT seed, candidates, loads, pick FROM draws "
	    "WHERE id = $1::bigint",
	    "draw", replay);
}
