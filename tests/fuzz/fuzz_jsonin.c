/*
 * fuzz_jsonin.c - lib/jsonin.c on arbitrary request bodies: the strict parse,
 * then validation of every object against every body and query schema of
 * lib/schemas.c, and each string format on the raw text. Invariants: a
 * refusal is a 400 (parse) or a 422 (schema) with a printable ASCII detail,
 * a 422 names its field as valid, NUL-terminated UTF-8, and a format that
 * accepts a string accepts only the lengths that format allows.
 */
#include "fuzz.h"

#include <certflow/jsonin.h>
#include <certflow/schemas.h>

static const struct jf_schema *const schemas[] = {
	&schema_empty, &schema_user_create, &schema_path_create,
	&schema_qualification_create, &schema_conflict_create,
	&schema_enrollment_create, &schema_note_create, &schema_handover,
	&schema_verdict, &schema_review_verdict, &schema_disagreement_resolve,
	&schema_report_submit, &schema_report_follow_up,
	&schema_report_follow_up_message, &schema_report_message,
	&schema_report_link, &schema_report_close, &schema_jury_session_create,
	&schema_jury_case_create, &schema_credential_revoke, &schema_jury_vote,
	&schema_jury_extra_project, &query_mine, &query_disagreements,
	&query_calibration, &query_reports,
};

/* Strict UTF-8 (no overlong forms, no surrogates), as jansson produces. */
static bool
utf8_ok(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s != '\0') {
		unsigned cp, n;

		if (*s < 0x80) {
			s++;
			continue;
		}
		if (*s >= 0xc2 && *s <= 0xdf)
			n = 1, cp = *s & 0x1f;
		else if ((*s & 0xf0) == 0xe0)
			n = 2, cp = *s & 0x0f;
		else if (*s >= 0xf0 && *s <= 0xf4)
			n = 3, cp = *s & 0x07;
		else
			return false;
		for (unsigned i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		s += n + 1;
	}
	return true;
}

static void
check_formats(const char *s)
{
	size_t len = strlen(s);

	FUZZ_ASSERT(jsonin_format_ok(JF_FMT_NONE, s));
	if (jsonin_format_ok(JF_FMT_EMAIL, s))
		FUZZ_ASSERT(len >= 3 && len <= 254 && strchr(s, '@') != NULL);
	if (jsonin_format_ok(JF_FMT_SHA256, s))
		FUZZ_ASSERT(len == 64);
	if (jsonin_format_ok(JF_FMT_ISO_WEEK, s))
		FUZZ_ASSERT(len == 8 && s[5] == 'W');
	if (jsonin_format_ok(JF_FMT_URI, s))
		FUZZ_ASSERT(len >= 3 && len <= 2048 && strchr(s, ':') != NULL &&
		    strpbrk(s, " \t\r\n") == NULL);
	if (jsonin_format_ok(JF_FMT_CODE, s))
		FUZZ_ASSERT(len >= 1 && len <= 64);
	if (jsonin_format_ok(JF_FMT_TIMESTAMP, s))
		FUZZ_ASSERT(len >= 20 && len <= 35);
	if (jsonin_format_ok(JF_FMT_UUID, s))
		FUZZ_ASSERT(len == 36);
	FUZZ_ASSERT(!jsonin_format_ok((enum jf_format)99, s));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jsonin_error err;
	json_t *v;
	char *s;

	v = jsonin_parse((const char *)data, size, &err);
	if (v == NULL) {
		FUZZ_ASSERT(err.status == 400);
		FUZZ_ASSERT(err.detail[0] != '\0' && fuzz_printable(err.detail));
		FUZZ_ASSERT(err.field[0] == '\0');
		FUZZ_ASSERT(err.line >= 0 && err.column >= 0);
	} else {
		FUZZ_ASSERT(json_is_object(v));
		for (size_t i = 0; i < sizeof(schemas) / sizeof(schemas[0]); i++) {
			if (jsonin_validate(v, schemas[i], &err)) {
				FUZZ_ASSERT(err.status == 0);
				continue;
			}
			FUZZ_ASSERT(err.status == 422);
			FUZZ_ASSERT(err.detail[0] != '\0' &&
			    fuzz_printable(err.detail));
			FUZZ_ASSERT(memchr(err.field, '\0', sizeof(err.field)) !=
			    NULL && utf8_ok(err.field));
		}
		json_decref(v);
	}
	s = fuzz_cstr(data, size);
	check_formats(s);
	free(s);
	return 0;
}
