/*
 * problem.h - RFC 9457 problem details: the body of every error answer.
 * {"type", "title", "status", "detail"} plus the optional extension members
 * "field" (the offending JSON field path), "line"/"column" (JSON syntax
 * errors) and "request_id".
 */
#ifndef CERTFLOW_PROBLEM_H
#define CERTFLOW_PROBLEM_H

/* "urn:certflow:problem:validation-failed" etc., by status; never NULL. */
const char *problem_type(int status);
/* "Unprocessable Content" etc., by status; never NULL. */
const char *problem_title(int status);

struct problem {
	int status;
	const char *detail;	/* required */
	const char *field;	/* NULL when not about one field */
	int line, column;	/* > 0 for JSON syntax errors */
	const char *request_id;	/* may be NULL */
};

/* Serialises P as compact JSON; malloc'ed, the caller frees. NULL on OOM. */
char *problem_json(const struct problem *p);

#endif
