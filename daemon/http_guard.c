/*
 * http_guard.c - owns the request checks evhttp does not make: one framing
 * (no Transfer-Encoding, one Content-Length of digits only, one Host), headers free of
 * control bytes, canonical paths without %00, and a request line of the one
 * shape evhttp and every proxy read alike. Request smuggling and path
 * confusion start where two parsers disagree; we accept only what every
 * parser reads the same way. Pure: no I/O, no logging, no allocation.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <certflow/keyfile.h>

#include "http_guard.h"

static bool
is_ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

static bool
is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Printable ASCII as is, anything else as '?': safe in a log line or JSON. */
static char
printable(unsigned char c)
{
	return c > 0x20 && c < 0x7f ? (char)c : '?';
}

static void
framing_count(struct http_framing *f, const char *name)
{
	f->content_length += strcasecmp(name, "Content-Length") == 0;
	f->host += strcasecmp(name, "Host") == 0;
	f->transfer_encoding += strcasecmp(name, "Transfer-Encoding") == 0;
}

/* NULL when F frames the body one way only (Content-Length, at most once). */
static const char *
framing_problem(const struct http_framing *f)
{
	if (f->transfer_encoding > 0 && f->content_length > 0)
		return "headers Content-Length and Transfer-Encoding must not come together";
	if (f->transfer_encoding > 0)
		return "header Transfer-Encoding is not supported: send Content-Length";
	if (f->content_length > 1)
		return "header Content-Length is given more than once";
	if (f->host > 1)
		return "header Host is given more than once";
	return NULL;
}

/* ---- raw bytes of the request line and headers ---- */

/* The methods server.c lets evhttp accept (evhttp_set_allowed_methods). */
static const char *const served_methods[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", NULL,
};

#define REQUEST_LINE_SHAPE "the request line is not 'METHOD /path HTTP/1.1'"

void
http_scan_reset(struct http_scan *s, size_t max_bytes, unsigned long long max_body)
{
	memset(s, 0, sizeof(*s));
	s->in_headers = true;
	s->first_line = true;
	s->max_bytes = max_bytes;
	s->max_body = max_body;
}

const char *
http_scan_problem(const struct http_scan *s)
{
	return s->why[0] != '\0' ? s->why : NULL;
}

static void scan_fail(struct http_scan *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
scan_fail(struct http_scan *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
	s->status = 400;
}

static void
scan_control_byte(struct http_scan *s)
{
	if (s->first_line)
		scan_fail(s, "the request line contains a control character");
	else
		scan_fail(s, "header %s contains a control character",
		    s->name_len > 0 ? s->name : "?");
}

/* The ':' after a header name. */
static void
scan_name_end(struct http_scan *s)
{
	s->in_name = false;
	if (s->name_len == 0 || s->name_bad) {
		scan_fail(s, "header name '%s' is not a token", s->name);
	} else if (s->name_len < sizeof(s->name) - 1) {
		framing_count(&s->framing, s->name);
		s->in_length = strcasecmp(s->name, "Content-Length") == 0;
		s->in_expect = strcasecmp(s->name, "Expect") == 0;
	}
}

/* A byte of an Expect value: kept, but for leading blanks. */
static void
scan_expect_byte(struct http_scan *s, unsigned char c)
{
	if (s->expect_len == 0 && (c == ' ' || c == '\t'))
		return;
	if (s->expect_len < sizeof(s->expect) - 1) {
		s->expect[s->expect_len] = (char)c;
		s->expect[s->expect_len + 1] = '\0';
	}
	s->expect_len++;
}

/* The end of an Expect line: 100-continue, the one expectation evhttp meets. */
static void
scan_expect_end(struct http_scan *s)
{
	size_t n = s->expect_len;

	s->in_expect = false;
	if (n < sizeof(s->expect))
		while (n > 0 && (s->expect[n - 1] == ' ' || s->expect[n - 1] == '\t'))
			s->expect[--n] = '\0';
	if (n >= sizeof(s->expect) || strcasecmp(s->expect, "100-continue") != 0)
		scan_fail(s, "header Expect is not 100-continue");
}

/*
 * A byte of a Content-Length value. evhttp reads it with strtoll, which takes
 * a sign, and answers a negative or oversized one with an HTML page of its own.
 */
static void
scan_length_byte(struct http_scan *s, unsigned char c)
{
	if (c == ' ' || c == '\t') {
		if (s->length_part == 1)
			s->length_part = 2;
		return;
	}
	if (c < '0' || c > '9' || s->length_part == 2) {
		s->length_bad = true;
		return;
	}
	s->length_part = 1;
	if (s->length <= s->max_body)
		s->length = s->length * 10 + (unsigned)(c - '0');
}

/* The end of a Content-Length line: digits, and no more than max_body. */
static void
scan_length_end(struct http_scan *s)
{
	s->in_length = false;
	if (s->length_bad || s->length_part == 0) {
		scan_fail(s, "header Content-Length is not a decimal number");
	} else if (s->length > s->max_body) {
		scan_fail(s, "header Content-Length: the body is larger than this server "
		    "accepts (%llu bytes)", s->max_body);
		s->status = 413;
	}
}

/* A byte of the request line, neither CR nor LF nor a control byte. */
static void
scan_request_byte(struct http_scan *s, unsigned char c)
{
	char *parts[] = { s->method, s->target, s->version };
	size_t caps[] = { sizeof(s->method), sizeof(s->target), sizeof(s->version) };
	char *part = parts[s->line_part];
	size_t cap = caps[s->line_part];

	if (c == ' ') {
		/* One space between parts, none around them: evhttp reads more, proxies less. */
		if (s->part_len == 0 || s->line_part == 2) {
			scan_fail(s, REQUEST_LINE_SHAPE);
			return;
		}
		s->line_part++;
		s->part_len = 0;
		return;
	}
	if (s->line_part == 0 && !is_tchar(c)) {
		scan_fail(s, REQUEST_LINE_SHAPE);
		return;
	}
	if (s->part_len < cap - 1) {
		part[s->part_len] = (char)c;
		part[s->part_len + 1] = '\0';
	}
	s->part_len++;
}

/* The request line is complete: three parts, a served method, HTTP/1.1 or 1.0. */
static void
scan_request_line_end(struct http_scan *s)
{
	bool served = false;

	if (s->line_part != 2 || s->part_len == 0) {
		scan_fail(s, REQUEST_LINE_SHAPE);
		return;
	}
	for (size_t i = 0; served_methods[i] != NULL; i++)
		served |= strcmp(s->method, served_methods[i]) == 0;
	if (!served) {
		scan_fail(s, "method %s is not supported", s->method);
		return;
	}
	/*
	 * Origin-form only (or "*"): evhttp parses an authority out of an
	 * absolute-form target or one starting "//", and answers a bad one in HTML.
	 */
	if (strcmp(s->target, "*") != 0 && (s->target[0] != '/' || s->target[1] == '/')) {
		scan_fail(s, "the request target is not a path starting with a single '/'");
		return;
	}
	if (strcmp(s->version, "HTTP/1.1") != 0 && strcmp(s->version, "HTTP/1.0") != 0)
		scan_fail(s, "the request line's version is not HTTP/1.1 or HTTP/1.0");
}

/* LF: the end of a line, or of the headers on an empty one. */
static void
scan_line_end(struct http_scan *s)
{
	const char *why;

	/* evhttp takes an empty line for a request line and answers in HTML. */
	if (s->first_line && s->line_len == 0)
		scan_fail(s, "an empty line comes before the request line");
	if (s->first_line && s->line_len > 0)
		scan_request_line_end(s);
	if (s->line_len == 0 && !s->first_line) {
		s->in_headers = false;
		if ((why = framing_problem(&s->framing)) != NULL)
			scan_fail(s, "%s", why);
	} else if (s->in_name && !s->first_line) {
		scan_fail(s, "header line '%s' has no ':'", s->name);
	} else if (s->in_length) {
		scan_length_end(s);
	} else if (s->in_expect) {
		scan_expect_end(s);
	}
	if (s->line_len > 0)
		s->first_line = false;
	s->line_len = 0;
}

/* A byte of a header line, neither CR nor LF. */
static void
scan_header_byte(struct http_scan *s, unsigned char c)
{
	if (s->line_len == 0) {
		if (c == ' ' || c == '\t') {
			scan_fail(s, "header %s continues on a folded line", s->name);
			return;
		}
		s->in_name = true;
		s->name_bad = false;
		s->name_len = 0;
		s->name[0] = '\0';
		s->in_length = false;
		s->length_bad = false;
		s->length_part = 0;
		s->length = 0;
		s->in_expect = false;
		s->expect_len = 0;
		s->expect[0] = '\0';
	}
	if (s->in_length) {
		scan_length_byte(s, c);
		return;
	}
	if (s->in_expect) {
		scan_expect_byte(s, c);
		return;
	}
	if (!s->in_name)
		return;
	if (c == ':') {
		scan_name_end(s);
		return;
	}
	s->name_bad |= !is_tchar(c);
	if (s->name_len < sizeof(s->name) - 1) {
		s->name[s->name_len++] = printable(c);
		s->name[s->name_len] = '\0';
	}
}

/* Counts the bytes as evhttp's max_headers_size does, CR and LF included, so never fewer. */
static void
scan_byte(struct http_scan *s, unsigned char c)
{
	if (++s->bytes > s->max_bytes) {
		scan_fail(s, "the request line and headers are larger than max_header_size "
		    "(%zu bytes)", s->max_bytes);
		return;
	}
	if (c == '\n') {
		s->cr = false;
		scan_line_end(s);
		return;
	}
	if (s->cr || c == '\r') {	/* a CR anywhere but before LF, or CR CR */
		if (c != '\r' || s->cr) {
			scan_control_byte(s);
			return;
		}
		s->cr = true;
		return;
	}
	if (is_ctl(c)) {
		scan_control_byte(s);
		return;
	}
	if (!s->first_line)
		scan_header_byte(s, c);
	else
		scan_request_byte(s, c);
	s->line_len++;
}

void
http_scan_feed(struct http_scan *s, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n && s->in_headers && s->why[0] == '\0'; i++)
		scan_byte(s, p[i]);
}

/* ---- parsed headers ---- */

/* The header's name, printable, for a message. */
static void
safe_name(const char *name, char *out, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len && name[i] != '\0'; i++)
		out[i] = printable((unsigned char)name[i]);
	out[i] = '\0';
}

static bool
name_ok(const char *name)
{
	if (*name == '\0')
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++)
		if (!is_tchar(*p))
			return false;
	return true;
}

static bool
value_ok(const char *value)
{
	for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++)
		if (is_ctl(*p))
			return false;
	return true;
}

/* What evhttp parsed, under the raw scan's rules (for requests it never saw raw). */
static bool
headers_ok(struct evkeyvalq *headers, char *detail, size_t len)
{
	struct http_framing f = { 0, 0, 0 };
	char name[HTTP_GUARD_NAME_MAX];
	struct evkeyval *h;
	const char *why;

	TAILQ_FOREACH(h, headers, next) {
		safe_name(h->key, name, sizeof(name));
		if (!name_ok(h->key)) {
			snprintf(detail, len, "header name '%s' is not a token", name);
			return false;
		}
		if (!value_ok(h->value)) {
			snprintf(detail, len, "header %s contains a control character", name);
			return false;
		}
		framing_count(&f, h->key);
	}
	if ((why = framing_problem(&f)) != NULL)
		snprintf(detail, len, "%s", why);
	return why == NULL;
}

/* ---- the request target ---- */

/* True for the bytes RFC 3986 says must not be percent-encoded, and for '/', '\' and NUL. */
static bool
encoding_forbidden(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '.' || c == '_' || c == '~' || c == '/' || c == '\\' || c == 0;
}

/* NULL when every '%' in the N bytes at PATH starts an encoding that had to be made. */
static const char *
percent_problem(const char *path, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		if (path[i] != '%')
			continue;
		hi = i + 2 < n ? keyfile_hex_value(path[i + 1]) : -1;
		lo = hi < 0 ? -1 : keyfile_hex_value(path[i + 2]);
		if (lo < 0)
			return "the path has a malformed percent-encoding";
		if (encoding_forbidden(hi * 16 + lo))
			return "the path percent-encodes '/', '\\', NUL or a character "
			    "that needs no encoding";
	}
	return NULL;
}

/* NULL when the N bytes at PATH have no empty ("//"), "." or ".." segment; a final "/" is fine. */
static const char *
segment_problem(const char *path, size_t n)
{
	size_t start = n > 0 && path[0] == '/' ? 1 : 0;

	while (start <= n) {
		const char *slash = memchr(path + start, '/', n - start);
		size_t end = slash != NULL ? (size_t)(slash - path) : n;
		size_t len = end - start;

		if (len == 0 && slash != NULL)
			return "the path has an empty segment (\"//\")";
		if ((len == 1 && path[start] == '.') ||
		    (len == 2 && path[start] == '.' && path[start + 1] == '.'))
			return "the path has a \".\" or \"..\" segment";
		start = end + 1;
	}
	return NULL;
}

/*
 * NULL when REQ's target is canonical and free of %00. The path is read as
 * sent: evhttp would take "//host/x" for an authority and a path "/x".
 */
static const char *
target_problem(struct evhttp_request *req)
{
	const char *uri = evhttp_request_get_uri(req);
	const struct evhttp_uri *parsed = evhttp_request_get_evhttp_uri(req);
	const char *path = parsed != NULL ? evhttp_uri_get_path(parsed) : NULL;
	size_t n;
	const char *why;

	if (uri == NULL || path == NULL)
		return "the request target is malformed";
	if (strcasestr(uri, "%00") != NULL)
		return "the path or query contains %00";
	if (uri[0] == '/')
		path = uri;	/* origin-form: the path is what comes before '?' */
	n = strcspn(path, "?#");
	if (memchr(path, '\\', n) != NULL)
		return "the path contains a backslash";
	if ((why = percent_problem(path, n)) != NULL)
		return why;
	return segment_problem(path, n);
}

bool
http_guard_check(struct evhttp_request *req, char *detail, size_t len)
{
	const char *why;

	if (!headers_ok(evhttp_request_get_input_headers(req), detail, len))
		return false;
	if ((why = target_problem(req)) != NULL) {
		snprintf(detail, len, "%s", why);
		return false;
	}
	return true;
}
