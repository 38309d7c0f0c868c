/*
 * http_guard.h - the checks every request passes before any route sees it,
 * for what evhttp (libevent 2.1) lets through or cuts short. On the raw bytes
 * of the request line and headers, before evhttp parses them: their size, the
 * request line's shape (METHOD SP /path SP HTTP/1.x with a method certflowd
 * serves: evhttp answers anything else with an HTML page of its own),
 * control bytes (evhttp cuts a value at NUL), bare CR, folded lines, names
 * that are not tokens, Transfer-Encoding, repeated Content-Length or Host, a
 * Content-Length that is not a decimal number or announces more than
 * max_body_size, an Expect other than 100-continue (evhttp would answer
 * these three in HTML of its own). On the parsed request: the same
 * framing rules again, and canonical paths without %00. Never answers: the
 * caller does, with a 400 (or the scan's status), and closes the connection.
 */
#ifndef CERTFLOW_HTTP_GUARD_H
#define CERTFLOW_HTTP_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <event2/http.h>

#define HTTP_GUARD_NAME_MAX	48
#define HTTP_GUARD_DETAIL_MAX	160

/* The framing headers of one request. */
struct http_framing {
	int content_length, host, transfer_encoding;
};

/* One request's line and headers, scanned as they arrive. */
struct http_scan {
	bool in_headers;	/* false once the empty line ending the headers is seen */
	bool first_line;	/* still in the request line */
	bool in_name;		/* still in this line's header name */
	bool name_bad;		/* ... which has a byte that is not a token character */
	bool cr;		/* the last byte was a CR */
	size_t bytes, max_bytes;	/* so far, and at most (max_header_size) */
	size_t line_len;	/* bytes of this line so far, without CR and LF */
	size_t name_len;	/* bytes of this line's name so far */
	int line_part;		/* request line: 0 method, 1 target, 2 version */
	size_t part_len;	/* bytes of that part so far */
	char method[12];	/* the request line's method, cut short */
	char target[3];		/* the first bytes of its target */
	char version[12];	/* its version, cut short */
	char name[HTTP_GUARD_NAME_MAX];	/* this line's (or the last) header name, cut short */
	bool in_length;		/* in a Content-Length value */
	bool length_bad;	/* ... which is not digits between optional blanks */
	int length_part;	/* 0 before its digits, 1 in them, 2 after them */
	unsigned long long length;	/* its value, at most max_body + 1 */
	unsigned long long max_body;	/* a larger Content-Length is a 413 */
	bool in_expect;		/* in an Expect value */
	char expect[16];	/* ... without leading blanks, cut short */
	size_t expect_len;	/* ... all its bytes */
	struct http_framing framing;
	int status;		/* the answer to the problem: 400, or 413 for a body too large */
	char why[HTTP_GUARD_DETAIL_MAX];	/* the first problem, naming the header; "" if none */
};

/*
 * Starts scanning a new request whose line and headers may take MAX_BYTES
 * and whose body MAX_BODY.
 */
void http_scan_reset(struct http_scan *s, size_t max_bytes, unsigned long long max_body);

/* Feeds the next N bytes received; stops at the first problem or the end of the headers. */
void http_scan_feed(struct http_scan *s, const unsigned char *p, size_t n);

/* The problem found so far (a 400's detail), or NULL. */
const char *http_scan_problem(const struct http_scan *s);

/*
 * True when the parsed REQ may go on to routing. Otherwise DETAIL (LEN bytes)
 * says why, naming the offending header; the answer is a 400 that closes.
 */
bool http_guard_check(struct evhttp_request *req, char *detail, size_t len)
	__attribute__((warn_unused_result));

#endif
