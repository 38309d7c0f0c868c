/*
 * fuzz_statuslist.c - lib/statuslist.c: the encodedList of a Bitstring
 * Status List, read from a credential anyone may hand in. Invariants: a
 * list that yields one bit yields every bit below STATUSLIST_MIN_BITS and
 * the same bit with or without the multibase 'u'; a gzip bomb costs time,
 * never memory (ASan's RSS limit); and a list encoded from indexes taken
 * from the input has exactly those bits set.
 */
#include "fuzz.h"

#include <certflow/statuslist.h>

#define MAX_SET	16

static void
check_decode(const char *text)
{
	static const uint64_t probes[] = {
		0, 9, STATUSLIST_MIN_BITS - 1, STATUSLIST_MIN_BITS,
		STATUSLIST_MAX_BITS - 1,
	};
	bool bit = true, ok0, other;
	char *bare;

	ok0 = statuslist_bit(text, 0, &bit);
	FUZZ_ASSERT(ok0 || !bit);
	if (!ok0)
		return;
	FUZZ_ASSERT(statuslist_bit(text, STATUSLIST_MIN_BITS - 1, &bit));
	FUZZ_ASSERT(!statuslist_bit(text, STATUSLIST_MAX_BITS, &bit) && !bit);
	FUZZ_ASSERT(!statuslist_bit(text, UINT64_MAX, &bit) && !bit);
	/* The same list with the 'u' prefix added or taken away. */
	if (text[0] == 'u') {
		bare = strdup(text + 1);
	} else if ((bare = malloc(strlen(text) + 2)) != NULL) {
		bare[0] = 'u';
		strcpy(bare + 1, text);
	}
	FUZZ_ASSERT(bare != NULL);
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		bool a = statuslist_bit(text, probes[i], &bit);
		bool b = statuslist_bit(bare, probes[i], &other);

		FUZZ_ASSERT(a == b && bit == other);
	}
	free(bare);
}

/* A list of STATUSLIST_MIN_BITS with bits set at indexes read from DATA. */
static void
check_round_trip(const uint8_t *data, size_t size)
{
	uint64_t set[MAX_SET];
	size_t nset = 0;
	char *text;
	bool bit;

	for (size_t i = 0; i + 3 <= size && nset < MAX_SET; i += 3)
		set[nset++] = ((uint64_t)data[i] << 16 | (uint64_t)data[i + 1] << 8 |
		    data[i + 2]) % STATUSLIST_MIN_BITS;
	FUZZ_ASSERT((text = statuslist_encode(STATUSLIST_MIN_BITS, set, nset)) !=
	    NULL);
	FUZZ_ASSERT(text[0] == 'u');
	for (size_t i = 0; i < nset; i++) {
		/* A neighbour is set only if it was asked for. */
		uint64_t next = (set[i] + 1) % STATUSLIST_MIN_BITS;
		bool wanted = false;

		FUZZ_ASSERT(statuslist_bit(text, set[i], &bit) && bit);
		for (size_t j = 0; j < nset; j++)
			wanted = wanted || set[j] == next;
		FUZZ_ASSERT(statuslist_bit(text, next, &bit) && bit == wanted);
	}
	FUZZ_ASSERT(!statuslist_bit(text, STATUSLIST_MIN_BITS, &bit));
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);

	check_decode(text);
	free(text);
	/* Encoding costs a deflate of 16 KiB: only for short inputs. */
	if (size <= 3 * MAX_SET)
		check_round_trip(data, size);
	return 0;
}
