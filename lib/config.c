/*
 * config.c - the one table of certflowd's configuration keys and its parser.
 * A key exists only if it is in keys[] below: type, target field, bounds,
 * default and whether SIGHUP may change it. Parsing works on a private copy,
 * so a bad file never half-applies. Never logs: errors go to the caller.
 */
#include "certflow/config.h"
#include "certflow/log.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CF_SQL_DIR
#define CF_SQL_DIR "/usr/local/share/certflow/sql"
#endif

#define CONFIG_FILE_MAX (1024 * 1024)

enum key_type { KT_STRING, KT_INT, KT_SIZE, KT_ENUM, KT_FRACTION };

enum key_flag {
	KF_REQUIRED	= 1 << 0,	/* must appear in the file (no default) */
	KF_NONEMPTY	= 1 << 1,	/* an empty value is an error */
	KF_RELOAD	= 1 << 2,	/* SIGHUP may change it */
};

struct key {
	const char *name;
	enum key_type type;
	size_t offset;
	long long min, max;
	const char *def;		/* default as config text; NULL = none */
	const char *const *choices;	/* KT_ENUM: NULL-terminated */
	unsigned flags;
};

/* Index of a choice is the stored value: keep in enum tls_verify order. */
static const char *const verify_choices[] = { "none", "optional", "require", NULL };
static const char *const yes_no_choices[] = { "no", "yes", NULL };
/* Keep in enum log_level order. */
static const char *const level_choices[] = { "error", "warn", "info", "debug", NULL };

_Static_assert(TLS_VERIFY_REQUIRE == 2 && LOG_LVL_DEBUG == 3,
    "choice lists must follow the enum order");

#define F(field) offsetof(struct config, field)
#define STR(k, dflt, fl)	{ #k, KT_STRING, F(k), 0, 0, dflt, NULL, fl }
#define INT(k, lo, hi, dflt, fl) { #k, KT_INT, F(k), lo, hi, #dflt, NULL, fl }
#define ENUM(k, ch, dflt, fl)	{ #k, KT_ENUM, F(k), 0, 0, dflt, ch, fl }

static const struct key keys[] = {
	STR(listen_addr, "127.0.0.1", KF_NONEMPTY),
	INT(listen_port, 1, 65535, 8443, 0),
	/* after binding and reading the keys, switch from root to this user ("": stay) */
	STR(user, "", 0),
	STR(tls_cert, NULL, KF_REQUIRED | KF_NONEMPTY | KF_RELOAD),
	STR(tls_key, NULL, KF_REQUIRED | KF_NONEMPTY | KF_RELOAD),
	STR(tls_client_ca, "", KF_RELOAD),
	ENUM(tls_verify_client, verify_choices, "none", KF_RELOAD),
	STR(db_conninfo, NULL, KF_REQUIRED | KF_NONEMPTY),
	INT(db_pool_size, 1, 256, 4, 0),
	/* statements in flight at once on one connection (libpq pipeline mode) */
	INT(db_pipeline_depth, 1, 64, 4, 0),
	INT(db_queue_max, 0, 1000000, 1024, 0),
	INT(db_queue_timeout_ms, 1, 600000, 2000, 0),
	INT(db_statement_timeout_ms, 0, 3600000, 5000, 0),
	INT(db_connect_timeout_s, 1, 600, 5, 0),
	INT(db_reconnect_min_ms, 10, 60000, 100, 0),
	INT(db_reconnect_max_ms, 10, 600000, 5000, 0),
	/* dead peers: keepalives while idle, tcp_user_timeout while sending */
	INT(db_keepalives_idle_s, 1, 7200, 10, 0),
	INT(db_keepalives_interval_s, 1, 600, 5, 0),
	INT(db_keepalives_count, 1, 100, 3, 0),
	INT(db_tcp_user_timeout_ms, 0, 3600000, 10000, 0),
	{ "max_body_size", KT_SIZE, F(max_body_size), 1024, 1073741824LL,
	    "1048576", NULL, 0 },
	INT(max_header_size, 1024, 1048576, 16384, 0),
	INT(http_idle_timeout_s, 1, 3600, 60, 0),
	/* hostile clients: open connections, requests per connection, and the
	 * absolute time a request may take to arrive (evhttp's timeout is idle) */
	INT(max_connections, 1, 1000000, 1024, 0),
	INT(max_requests_per_connection, 1, 1000000, 1000, 0),
	INT(request_deadline_s, 1, 3600, 10, 0),
	INT(shutdown_timeout_s, 0, 3600, 10, 0),
	ENUM(log_level, level_choices, "info", KF_RELOAD),
	STR(sql_dir, CF_SQL_DIR, KF_NONEMPTY),
	/* the validation loop */
	INT(defense_due_days, 1, 365, 14, 0),
	INT(note_gap_days, 1, 365, 14, 0),
	INT(deadline_scan_interval_s, 1, 86400, 60, 0),
	/* double-blind review */
	{ "review_rate", KT_FRACTION, F(review_rate), 0, 1, "0.10", NULL, 0 },
	INT(review_due_days, 1, 365, 7, 0),
	{ "agreement_floor", KT_FRACTION, F(agreement_floor), 0, 1, "0.80", NULL, 0 },
	INT(calibration_min_reviews, 1, 100000, 10, 0),
	/* whistleblowing */
	STR(report_key_file, "", 0),
	STR(report_secret_file, "", 0),
	INT(receipt_kdf_iterations, 1000, 10000000, 100000, 0),
	INT(report_rate_limit, 1, 100000, 10, 0),
	INT(report_followup_rate_limit, 1, 100000, 30, 0),
	INT(report_ack_days, 1, 365, 7, 0),
	INT(report_feedback_months, 1, 24, 3, 0),
	INT(report_reminder_days, 0, 365, 2, 0),
	INT(worker_threads, 1, 64, 2, 0),
	/* the diploma jury: votes needed before pedagogy may close a case (0: every member) */
	INT(jury_quorum, 0, 100, 0, 0),
	/* credentials: the Ed25519 signing keys and the issuer's public URL */
	STR(signing_key_file, "", KF_RELOAD),
	STR(credential_issuer, "", 0),
	INT(credential_sign_interval_s, 1, 3600, 2, 0),
	/* tamper-evident audit: how often audit rows are chained and the head signed */
	INT(audit_seal_interval_s, 0, 3600, 5, 0),	/* 0: this instance does not seal */
	/* Idempotency-Key: how long a kept answer is replayed */
	INT(idempotency_ttl_s, 60, 2592000, 86400, 0),
	/* tests only: moves "now" for report clocks; refused unless enabled */
	ENUM(test_clock_enabled, yes_no_choices, "no", 0),
	INT(test_clock_offset_s, -315360000, 315360000, 0, 0),
};

#undef F
#undef STR
#undef INT
#undef ENUM

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

struct parser {
	const char *name;	/* file name for messages */
	unsigned line;		/* 0 once past the lines */
	char *err;
	size_t errlen;
	bool seen[NKEYS];
};

static bool errorf(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Writes "NAME:LINE: message" (or "NAME: message" past the lines); returns false. */
static bool
errorf(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->errlen == 0)
		return false;
	if (p->line > 0)
		n = snprintf(p->err, p->errlen, "%s:%u: ", p->name, p->line);
	else
		n = snprintf(p->err, p->errlen, "%s: ", p->name);
	if (n < 0 || (size_t)n >= p->errlen)
		return false;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return false;
}

static void *
field_at(struct config *cfg, const struct key *k)
{
	return (char *)cfg + k->offset;
}

static const struct key *
find_key(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* Parses "-?[0-9]+" with strtoll; false on any other text or overflow (*range). */
static bool
parse_decimal(const char *s, size_t len, long long *out, bool *range)
{
	char buf[32];
	char *end;
	size_t i = (len > 0 && s[0] == '-') ? 1 : 0;

	*range = false;
	if (len == i)
		return false;
	for (; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	if (len >= sizeof(buf)) {
		*range = true;
		return false;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	*out = strtoll(buf, &end, 10);
	if (errno == ERANGE || *end != '\0') {
		*range = errno == ERANGE;
		return false;
	}
	return true;
}

static bool
range_error(struct parser *p, const struct key *k, const char *v)
{
	return errorf(p, "%s: '%s' is out of range %lld..%lld", k->name, v,
	    k->min, k->max);
}

static bool
set_int(struct parser *p, struct config *cfg, const struct key *k, const char *v)
{
	long long n;
	bool range;

	if (!parse_decimal(v, strlen(v), &n, &range)) {
		if (range)
			return range_error(p, k, v);
		return errorf(p, "%s: '%s' is not an integer", k->name, v);
	}
	if (n < k->min || n > k->max)
		return range_error(p, k, v);
	*(int *)field_at(cfg, k) = (int)n;
	return true;
}

/* KiB, MiB or GiB for a k/m/g suffix (either case); 0 for any other byte. */
static long long
size_multiplier(char c)
{
	switch (c) {
	case 'k': case 'K': return 1024LL;
	case 'm': case 'M': return 1024LL * 1024;
	case 'g': case 'G': return 1024LL * 1024 * 1024;
	default: return 0;
	}
}

static bool
set_size(struct parser *p, struct config *cfg, const struct key *k, const char *v)
{
	size_t len = strlen(v);
	long long n, mult = 1;
	bool range;

	if (len > 0 && size_multiplier(v[len - 1]) != 0)
		mult = size_multiplier(v[--len]);
	if (!parse_decimal(v, len, &n, &range)) {
		if (range)
			return range_error(p, k, v);
		return errorf(p, "%s: '%s' is not a size (an integer with an "
		    "optional k, m or g suffix)", k->name, v);
	}
	if (n > LLONG_MAX / mult || n < LLONG_MIN / mult)
		return range_error(p, k, v);
	n *= mult;
	if (n < k->min || n > k->max)
		return range_error(p, k, v);
	*(long long *)field_at(cfg, k) = n;
	return true;
}

/* A decimal fraction in [0, 1] ("0.10", "1", ".5"), stored as a double. */
static bool
set_fraction(struct parser *p, struct config *cfg, const struct key *k, const char *v)
{
	size_t digits = strspn(v, "0123456789"), frac = 0;
	double x;

	if (v[digits] == '.')
		frac = strspn(v + digits + 1, "0123456789");
	if ((digits == 0 && frac == 0) ||
	    v[digits + (v[digits] == '.' ? 1 + frac : 0)] != '\0')
		return errorf(p, "%s: '%s' is not a decimal number such as 0.10", k->name, v);
	x = strtod(v, NULL);
	if (x < 0.0 || x > 1.0)
		return errorf(p, "%s: '%s' is out of range 0..1", k->name, v);
	*(double *)field_at(cfg, k) = x;
	return true;
}

static bool
set_enum(struct parser *p, struct config *cfg, const struct key *k, const char *v)
{
	char list[128] = "";
	size_t used = 0;

	for (int i = 0; k->choices[i] != NULL; i++) {
		if (strcmp(v, k->choices[i]) == 0) {
			*(int *)field_at(cfg, k) = i;
			return true;
		}
	}
	for (int i = 0; k->choices[i] != NULL && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used,
		    "%s%s", i > 0 ? ", " : "", k->choices[i]);
	return errorf(p, "%s: '%s' is not one of %s", k->name, v, list);
}

static bool
set_string(struct parser *p, struct config *cfg, const struct key *k, const char *v)
{
	char **slot = field_at(cfg, k);
	char *copy;

	if ((k->flags & KF_NONEMPTY) && v[0] == '\0')
		return errorf(p, "%s: must not be empty", k->name);
	if ((copy = strdup(v)) == NULL)
		return errorf(p, "out of memory");
	free(*slot);
	*slot = copy;
	return true;
}

/* Stores the text V into K's field of CFG; false with the message in P. */
static bool
set_value(struct parser *p, struct config *cfg, const struct key *k, const char *v)
{
	switch (k->type) {
	case KT_STRING: return set_string(p, cfg, k, v);
	case KT_INT: return set_int(p, cfg, k, v);
	case KT_SIZE: return set_size(p, cfg, k, v);
	case KT_ENUM: return set_enum(p, cfg, k, v);
	case KT_FRACTION: return set_fraction(p, cfg, k, v);
	}
	return errorf(p, "%s: unknown key type", k->name);
}

void
config_defaults(struct config *cfg)
{
	char err[256];
	struct parser p = { "defaults", 0, err, sizeof(err), { false } };

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < NKEYS; i++) {
		if (keys[i].def == NULL)
			continue;
		/* The table is static: only out-of-memory can fail here. */
		if (!set_value(&p, cfg, &keys[i], keys[i].def)) {
			fprintf(stderr, "config: %s\n", err);
			abort();
		}
	}
}

void
config_free(struct config *cfg)
{
	for (size_t i = 0; i < NKEYS; i++) {
		if (keys[i].type == KT_STRING) {
			char **slot = field_at(cfg, &keys[i]);

			free(*slot);
		}
	}
	memset(cfg, 0, sizeof(*cfg));
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Narrows [*s, *e) to drop leading and trailing blanks (and a trailing \r). */
static void
trim(const char **s, const char **e)
{
	if (*e > *s && (*e)[-1] == '\r')
		(*e)--;
	while (*s < *e && is_blank(**s))
		(*s)++;
	while (*e > *s && is_blank((*e)[-1]))
		(*e)--;
}

static bool
key_syntax_ok(const char *s, const char *e)
{
	if (s == e)
		return false;
	for (; s < e; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '_'))
			return false;
	return true;
}

/* Returns a malloc'ed copy of the value without one pair of enclosing quotes. */
static char *
unquote(struct parser *p, const char *s, const char *e)
{
	size_t len = (size_t)(e - s);
	char *v;

	if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
		s++;
		len -= 2;
	}
	if ((v = strndup(s, len)) == NULL)
		errorf(p, "out of memory");
	return v;
}

static bool
parse_assignment(struct parser *p, struct config *cfg, const char *s,
    const char *e)
{
	const char *eq = memchr(s, '=', (size_t)(e - s));
	const char *ks = s, *ke = eq, *vs, *ve = e;
	char name[64], *value = NULL;
	const struct key *k;
	bool ok = false;

	if (eq == NULL)
		return errorf(p, "missing '='");
	vs = eq + 1;	/* not before the check: NULL + 1 is undefined */
	trim(&ks, &ke);
	trim(&vs, &ve);
	if (!key_syntax_ok(ks, ke) || (size_t)(ke - ks) >= sizeof(name))
		return errorf(p, "invalid key '%.*s'", (int)(ke - ks), ks);
	memcpy(name, ks, (size_t)(ke - ks));
	name[ke - ks] = '\0';
	if ((k = find_key(name)) == NULL)
		return errorf(p, "unknown key '%s'", name);
	if (p->seen[k - keys])
		return errorf(p, "duplicate key '%s'", name);
	p->seen[k - keys] = true;
	if ((value = unquote(p, vs, ve)) == NULL)
		goto fail;
	ok = set_value(p, cfg, k, value);
fail:
	free(value);
	return ok;
}

static bool
parse_line(struct parser *p, struct config *cfg, const char *s, const char *e)
{
	trim(&s, &e);
	if (s == e || *s == '#')
		return true;
	return parse_assignment(p, cfg, s, e);
}

static bool
check_required(struct parser *p)
{
	for (size_t i = 0; i < NKEYS; i++)
		if ((keys[i].flags & KF_REQUIRED) && !p->seen[i])
			return errorf(p, "missing required key '%s'",
			    keys[i].name);
	return true;
}

/* https://host[:port][/path], printable ASCII, no trailing '/', '?' or '#'. */
static bool
issuer_valid(const char *url)
{
	size_t n = strlen(url);

	if (strncmp(url, "https://", 8) != 0 || n <= 8 || n > 200 || url[n - 1] == '/')
		return false;
	for (const char *c = url; *c != '\0'; c++)
		if (*c <= ' ' || *c >= 0x7f || *c == '?' || *c == '#' || *c == '"' ||
		    *c == '\\')
			return false;
	return true;
}

static bool
check_cross_keys(struct parser *p, const struct config *c)
{
	if (c->db_reconnect_max_ms < c->db_reconnect_min_ms)
		return errorf(p, "db_reconnect_max_ms (%d) must be at least "
		    "db_reconnect_min_ms (%d)", c->db_reconnect_max_ms,
		    c->db_reconnect_min_ms);
	if (c->tls_verify_client != TLS_VERIFY_NONE &&
	    (c->tls_client_ca == NULL || c->tls_client_ca[0] == '\0'))
		return errorf(p, "tls_verify_client '%s' needs tls_client_ca",
		    verify_choices[c->tls_verify_client]);
	if (c->test_clock_offset_s != 0 && !c->test_clock_enabled)
		return errorf(p, "test_clock_offset_s is refused unless test_clock_enabled = yes "
		    "(a test-only setting)");
	if ((c->report_key_file[0] == '\0') != (c->report_secret_file[0] == '\0'))
		return errorf(p, "report_key_file and report_secret_file go together");
	if ((c->signing_key_file[0] == '\0') != (c->credential_issuer[0] == '\0'))
		return errorf(p, "signing_key_file and credential_issuer go together");
	if (c->credential_issuer[0] != '\0' && !issuer_valid(c->credential_issuer))
		return errorf(p, "credential_issuer must be an https:// URL without a "
		    "trailing '/', query or fragment");
	return true;
}

static bool
parse_text(struct parser *p, struct config *cfg, const char *text)
{
	const char *s = text;

	while (*s != '\0') {
		const char *e = strchr(s, '\n');

		if (e == NULL)
			e = s + strlen(s);
		p->line++;
		if (!parse_line(p, cfg, s, e))
			return false;
		s = *e == '\n' ? e + 1 : e;
	}
	p->line = 0;
	return check_required(p) && check_cross_keys(p, cfg);
}

bool
config_parse(const char *text, const char *name, struct config *cfg,
    char *err, size_t errlen)
{
	struct parser p = { name, 0, err, errlen, { false } };
	struct config tmp;

	if (errlen > 0)
		err[0] = '\0';
	config_defaults(&tmp);
	if (!parse_text(&p, &tmp, text)) {
		config_free(&tmp);
		return false;
	}
	config_free(cfg);
	*cfg = tmp;
	return true;
}

/* Reads all of PATH (at most CONFIG_FILE_MAX bytes) into a malloc'ed string. */
static char *
read_file(struct parser *p, const char *path)
{
	FILE *f = NULL;
	char *buf = NULL;
	size_t n;

	if ((f = fopen(path, "r")) == NULL) {
		errorf(p, "%s", strerror(errno));
		goto fail;
	}
	if ((buf = malloc(CONFIG_FILE_MAX + 1)) == NULL) {
		errorf(p, "out of memory");
		goto fail;
	}
	n = fread(buf, 1, CONFIG_FILE_MAX + 1, f);
	if (ferror(f)) {
		errorf(p, "read error: %s", strerror(errno));
		goto fail;
	}
	if (n > CONFIG_FILE_MAX) {
		errorf(p, "larger than %d bytes", CONFIG_FILE_MAX);
		goto fail;
	}
	if (memchr(buf, '\0', n) != NULL) {
		errorf(p, "contains a NUL byte");
		goto fail;
	}
	buf[n] = '\0';
	fclose(f);
	return buf;
fail:
	free(buf);
	if (f != NULL)
		fclose(f);
	return NULL;
}

bool
config_load(const char *path, struct config *cfg, char *err, size_t errlen)
{
	struct parser p = { path, 0, err, errlen, { false } };
	char *text;
	bool ok;

	if ((text = read_file(&p, path)) == NULL)
		return false;
	ok = config_parse(text, path, cfg, err, errlen);
	free(text);
	return ok;
}
