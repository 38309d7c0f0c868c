/*
 * fuzz_jsonpeek.c - lib/jsonpeek.c against jansson on arbitrary texts, read
 * from a copy of exactly the input's length (ASan sees any read past it).
 * Invariants, when the text has no NUL byte (PostgreSQL's never has one;
 * jansson reads "12\0}" as 12) and jansson accepts it as an object without
 * duplicate keys: whatever json_peek_int finds is jansson's "version", an integer
 * of the same value; and when the text has no escape (a name spelled with
 * one is not matched, by design), it finds "version" exactly when jansson
 * has it as an integer.
 */
#include "fuzz.h"

#include <jansson.h>

#include <certflow/jsonpeek.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size > 0 ? size : 1);
	json_t *doc, *member;
	int64_t v = 0;
	bool found;

	FUZZ_ASSERT(text != NULL);
	if (size > 0)
		memcpy(text, data, size);
	found = json_peek_int(text, size, "version", &v);
	doc = json_loadb(text, size, JSON_REJECT_DUPLICATES, NULL);
	if (json_is_object(doc) && memchr(text, '\0', size) == NULL) {
		member = json_object_get(doc, "version");
		if (found)
			FUZZ_ASSERT(json_is_integer(member) && v == json_integer_value(member));
		if (memchr(text, '\\', size) == NULL)
			FUZZ_ASSERT(found == json_is_integer(member));
	}
	json_decref(doc);
	free(text);
	return 0;
}
