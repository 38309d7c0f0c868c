/*
 * problem.c - RFC 9457 problem details, the body of every error answer.
 * Owns the status -> title and status -> type tables and the serialiser.
 * Never fails on odd input text: bytes that are not valid UTF-8 become '?'
 * rather than losing the whole answer.
 */
#include "certflow/problem.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define TYPE_PREFIX "urn:certflow:problem:"

static const struct {
	int status;
	const char *title;
	const char *type;
} kinds[] = {
	{ 400, "Bad Request", TYPE_PREFIX "bad-request" },
	{ 401, "Unauthorized", TYPE_PREFIX "unauthorized" },
	{ 403, "Forbidden", TYPE_PREFIX "forbidden" },
	{ 404, "Not Found", TYPE_PREFIX "not-found" },
	{ 405, "Method Not Allowed", TYPE_PREFIX "method-not-allowed" },
	{ 408, "Request Timeout", TYPE_PREFIX "request-timeout" },
	{ 409, "Conflict", TYPE_PREFIX "conflict" },
	{ 412, "Precondition Failed", TYPE_PREFIX "precondition-failed" },
	{ 413, "Content Too Large", TYPE_PREFIX "content-too-large" },
	{ 415, "Unsupported Media Type", TYPE_PREFIX "unsupported-media-type" },
	{ 422, "Unprocessable Content", TYPE_PREFIX "validation-failed" },
	{ 429, "Too Many Requests", TYPE_PREFIX "too-many-requests" },
	{ 500, "Internal Server Error", TYPE_PREFIX "internal-error" },
	{ 503, "Service Unavailable", TYPE_PREFIX "service-unavailable" },
};

#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static int
kind_index(int status)
{
	for (size_t i = 0; i < NKINDS; i++)
		if (kinds[i].status == status)
			return (int)i;
	return -1;
}

const char *
problem_type(int status)
{
	int i = kind_index(status);

	return i < 0 ? TYPE_PREFIX "error" : kinds[i].type;
}

const char *
problem_title(int status)
{
	int i = kind_index(status);

	return i < 0 ? "Error" : kinds[i].title;
}

/* A JSON string for S; bytes that break UTF-8 are replaced by '?'. */
static json_t *
safe_string(const char *s)
{
	json_t *j = json_string(s);
	char *copy;

	if (j != NULL || s == NULL)
		return j;
	if ((copy = strdup(s)) == NULL)
		return NULL;
	for (char *c = copy; *c != '\0'; c++)
		if ((unsigned char)*c >= 0x80)
			*c = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

char *
problem_json(const struct problem *p)
{
	json_t *o = NULL;
	char *out = NULL;
	const char *detail = p->detail != NULL ? p->detail : problem_title(p->status);
	bool ok;

	o = json_pack("{s:s, s:s, s:i, s:o*}", "type", problem_type(p->status),
	    "title", problem_title(p->status), "status", p->status,
	    "detail", safe_string(detail));
	if (o == NULL || json_object_size(o) != 4)
		goto fail;
	ok = true;
	if (p->field != NULL)
		ok &= json_object_set_new(o, "field", safe_string(p->field)) == 0;
	if (p->line > 0) {
		ok &= json_object_set_new(o, "line", json_integer(p->line)) == 0;
		ok &= json_object_set_new(o, "column",
		    json_integer(p->column)) == 0;
	}
	if (p->request_id != NULL)
		ok &= json_object_set_new(o, "request_id",
		    safe_string(p->request_id)) == 0;
	if (ok)
		out = json_dumps(o, JSON_COMPACT);
fail:
	json_decref(o);
	return out;
}
