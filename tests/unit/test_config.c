/*
 * test_config.c - unit tests for lib/config.c: defaults, the line syntax,
 * every error class with its exact "NAME:LINE:" message, size suffixes,
 * cross-key rules, the all-or-nothing guarantee and config_load's file errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certflow/config.h"
#include "certflow/log.h"

#define REQUIRED "tls_cert = /etc/c.pem\ntls_key = /etc/k.pem\n" \
	"db_conninfo = dbname=certflow\n"
#define NAME "certflowd.conf"

static struct config cfg;
static char err[512];

static int
setup(void **state)
{
	memset(&cfg, 0, sizeof(cfg));
	err[0] = '\0';
	return 0;
}

static int
teardown(void **state)
{
	config_free(&cfg);
	return 0;
}

static bool
parse(const char *text)
{
	return config_parse(text, NAME, &cfg, err, sizeof(err));
}

/* Parses TEXT and expects it to fail with ERROR exactly. */
static void
expect_error(const char *text, const char *error)
{
	bool ok = parse(text);

	if (ok || strcmp(err, error) != 0)
		fail_msg("for %s: ok=%d err='%s', want '%s'", text, ok, err, error);
}

static void
expect_ok(const char *text)
{
	if (!parse(text))
		fail_msg("for %s: %s", text, err);
}

static void
test_defaults(void **state)
{
	config_defaults(&cfg);
	assert_string_equal(cfg.listen_addr, "127.0.0.1");
	assert_int_equal(cfg.listen_port, 8443);
	assert_null(cfg.tls_cert);
	assert_null(cfg.tls_key);
	assert_string_equal(cfg.tls_client_ca, "");
	assert_int_equal(cfg.tls_verify_client, TLS_VERIFY_NONE);
	assert_null(cfg.db_conninfo);
	assert_int_equal(cfg.db_pool_size, 4);
	assert_int_equal(cfg.db_queue_max, 1024);
	assert_int_equal(cfg.db_queue_timeout_ms, 2000);
	assert_int_equal(cfg.db_statement_timeout_ms, 5000);
	assert_int_equal(cfg.db_connect_timeout_s, 5);
	assert_int_equal(cfg.db_reconnect_min_ms, 100);
	assert_int_equal(cfg.db_reconnect_max_ms, 5000);
	assert_true(cfg.max_body_size == 1048576LL);
	assert_int_equal(cfg.max_header_size, 16384);
	assert_int_equal(cfg.http_idle_timeout_s, 60);
	assert_int_equal(cfg.max_connections, 1024);
	assert_int_equal(cfg.max_requests_per_connection, 1000);
	assert_int_equal(cfg.request_deadline_s, 10);
	assert_int_equal(cfg.shutdown_timeout_s, 10);
	assert_int_equal(cfg.log_level, LOG_LVL_INFO);
	assert_string_equal(cfg.sql_dir, CF_SQL_DIR);
}

static void
test_minimal_file_keeps_defaults(void **state)
{
	expect_ok(REQUIRED);
	assert_string_equal(cfg.tls_cert, "/etc/c.pem");
	assert_string_equal(cfg.tls_key, "/etc/k.pem");
	assert_string_equal(cfg.db_conninfo, "dbname=certflow");
	assert_string_equal(cfg.listen_addr, "127.0.0.1");
	assert_int_equal(cfg.listen_port, 8443);
	assert_int_equal(cfg.log_level, LOG_LVL_INFO);
	assert_string_equal(err, "");
}

static void
test_every_key(void **state)
{
	expect_ok(REQUIRED
	    "listen_addr = 0.0.0.0\nlisten_port = 1\n"
	    "tls_client_ca = /etc/ca.pem\ntls_verify_client = require\n"
	    "db_pool_size = 256\ndb_queue_max = 0\ndb_queue_timeout_ms = 600000\n"
	    "db_statement_timeout_ms = 0\ndb_connect_timeout_s = 600\n"
	    "db_reconnect_min_ms = 10\ndb_reconnect_max_ms = 10\n"
	    "max_body_size = 1024\nmax_header_size = 1048576\n"
	    "http_idle_timeout_s = 3600\nshutdown_timeout_s = 0\n"
	    "max_connections = 1000000\nmax_requests_per_connection = 1\n"
	    "request_deadline_s = 3600\n"
	    "log_level = debug\nsql_dir = /srv/sql\n");
	assert_string_equal(cfg.listen_addr, "0.0.0.0");
	assert_int_equal(cfg.listen_port, 1);
	assert_string_equal(cfg.tls_client_ca, "/etc/ca.pem");
	assert_int_equal(cfg.tls_verify_client, TLS_VERIFY_REQUIRE);
	assert_int_equal(cfg.db_pool_size, 256);
	assert_int_equal(cfg.db_queue_max, 0);
	assert_int_equal(cfg.db_queue_timeout_ms, 600000);
	assert_int_equal(cfg.db_statement_timeout_ms, 0);
	assert_int_equal(cfg.db_connect_timeout_s, 600);
	assert_int_equal(cfg.db_reconnect_min_ms, 10);
	assert_int_equal(cfg.db_reconnect_max_ms, 10);
	assert_true(cfg.max_body_size == 1024);
	assert_int_equal(cfg.max_header_size, 1048576);
	assert_int_equal(cfg.http_idle_timeout_s, 3600);
	assert_int_equal(cfg.max_connections, 1000000);
	assert_int_equal(cfg.max_requests_per_connection, 1);
	assert_int_equal(cfg.request_deadline_s, 3600);
	assert_int_equal(cfg.shutdown_timeout_s, 0);
	assert_int_equal(cfg.log_level, LOG_LVL_DEBUG);
	assert_string_equal(cfg.sql_dir, "/srv/sql");
}

static void
test_comments_blanks_and_spacing(void **state)
{
	expect_ok("# a comment\n\n   \t\n   # indented comment = x\n"
	    "\tlisten_port\t=\t9000  \t\n" REQUIRED
	    "listen_addr=::1\n# last line without newline\nlog_level = warn");
	assert_int_equal(cfg.listen_port, 9000);
	assert_string_equal(cfg.listen_addr, "::1");
	assert_int_equal(cfg.log_level, LOG_LVL_WARN);
}

static void
test_value_is_everything_after_first_equals(void **state)
{
	expect_ok("tls_cert = /c\ntls_key = /k\n"
	    "db_conninfo = host=db port=5432 password=a#b=c  \n");
	assert_string_equal(cfg.db_conninfo, "host=db port=5432 password=a#b=c");
}

static void
test_quotes_are_removed(void **state)
{
	expect_ok(REQUIRED "listen_addr = \" 10.0.0.1 # x \"\n"
	    "tls_client_ca = \"\"\nsql_dir = \"/a\"b\"\n");
	assert_string_equal(cfg.listen_addr, " 10.0.0.1 # x ");
	assert_string_equal(cfg.tls_client_ca, "");
	assert_string_equal(cfg.sql_dir, "/a\"b");
	expect_ok(REQUIRED "sql_dir = \"/lonely\n");
	assert_string_equal(cfg.sql_dir, "\"/lonely");
	expect_ok(REQUIRED "listen_port = \"9001\"\n");
	assert_int_equal(cfg.listen_port, 9001);
}

static void
test_crlf_file(void **state)
{
	expect_ok("# windows\r\ntls_cert = /c\r\ntls_key = \"/k\"\r\n\r\n"
	    "db_conninfo = dbname=x\r\nlisten_port = 8080\r\n");
	assert_string_equal(cfg.tls_cert, "/c");
	assert_string_equal(cfg.tls_key, "/k");
	assert_string_equal(cfg.db_conninfo, "dbname=x");
	assert_int_equal(cfg.listen_port, 8080);
	expect_error("tls_cert = /c\r\n\r\nlisten_port = 0\r\n",
	    NAME ":3: listen_port: '0' is out of range 1..65535");
}

static void
test_size_suffixes(void **state)
{
	static const struct { const char *text; long long want; } ok[] = {
		{ "2048", 2048 }, { "2k", 2048 }, { "2K", 2048 },
		{ "1m", 1048576 }, { "3M", 3145728 }, { "1g", 1073741824LL },
		{ "1G", 1073741824LL }, { "1024", 1024 },
	};
	char text[256];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), REQUIRED "max_body_size = %s\n",
		    ok[i].text);
		expect_ok(text);
		assert_true(cfg.max_body_size == ok[i].want);
	}
}

static void
test_size_errors(void **state)
{
	expect_error(REQUIRED "max_body_size = 2g\n",
	    NAME ":4: max_body_size: '2g' is out of range 1024..1073741824");
	expect_error(REQUIRED "max_body_size = 1023\n",
	    NAME ":4: max_body_size: '1023' is out of range 1024..1073741824");
	expect_error(REQUIRED "max_body_size = -1k\n",
	    NAME ":4: max_body_size: '-1k' is out of range 1024..1073741824");
	expect_error(REQUIRED "max_body_size = 99999999999999999999g\n",
	    NAME ":4: max_body_size: '99999999999999999999g' is out of range "
	    "1024..1073741824");
	expect_error(REQUIRED "max_body_size = 9999999999999g\n",
	    NAME ":4: max_body_size: '9999999999999g' is out of range "
	    "1024..1073741824");
	expect_error(REQUIRED "max_body_size = 12x\n",
	    NAME ":4: max_body_size: '12x' is not a size (an integer with an "
	    "optional k, m or g suffix)");
	expect_error(REQUIRED "max_body_size = k\n",
	    NAME ":4: max_body_size: 'k' is not a size (an integer with an "
	    "optional k, m or g suffix)");
	expect_error(REQUIRED "max_body_size = 1kb\n",
	    NAME ":4: max_body_size: '1kb' is not a size (an integer with an "
	    "optional k, m or g suffix)");
	expect_error(REQUIRED "max_body_size = 1 k\n",
	    NAME ":4: max_body_size: '1 k' is not a size (an integer with an "
	    "optional k, m or g suffix)");
}

static void
test_integer_errors(void **state)
{
	static const char *const bad[] = { "abc", "12abc", "+5", "0x10", "1e3",
	    "", "8 443", "-", "١٢" };
	char text[256], want[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), REQUIRED "db_pool_size = %s\n", bad[i]);
		snprintf(want, sizeof(want), NAME ":4: db_pool_size: '%s' is not "
		    "an integer", bad[i]);
		expect_error(text, want);
	}
	expect_error("\n\nlisten_port = 70000\n",
	    NAME ":3: listen_port: '70000' is out of range 1..65535");
	expect_error("listen_port = -1\n",
	    NAME ":1: listen_port: '-1' is out of range 1..65535");
	expect_error("listen_port = 99999999999999999999\n",
	    NAME ":1: listen_port: '99999999999999999999' is out of range 1..65535");
	expect_error("listen_port = 4294975739\n",
	    NAME ":1: listen_port: '4294975739' is out of range 1..65535");
	expect_error("db_pool_size = 0\n",
	    NAME ":1: db_pool_size: '0' is out of range 1..256");
	expect_error("db_pool_size = 257\n",
	    NAME ":1: db_pool_size: '257' is out of range 1..256");
	expect_error("max_connections = 0\n",
	    NAME ":1: max_connections: '0' is out of range 1..1000000");
	expect_error("max_requests_per_connection = 0\n",
	    NAME ":1: max_requests_per_connection: '0' is out of range 1..1000000");
	expect_error("request_deadline_s = 0\n",
	    NAME ":1: request_deadline_s: '0' is out of range 1..3600");
	expect_error("request_deadline_s = 3601\n",
	    NAME ":1: request_deadline_s: '3601' is out of range 1..3600");
	expect_ok(REQUIRED "db_pool_size = 007\n");
	assert_int_equal(cfg.db_pool_size, 7);
}

static void
test_enum_values(void **state)
{
	expect_error("tls_verify_client = maybe\n", NAME ":1: tls_verify_client: "
	    "'maybe' is not one of none, optional, require");
	expect_error("log_level = INFO\n", NAME ":1: log_level: 'INFO' is not "
	    "one of error, warn, info, debug");
	expect_ok(REQUIRED "log_level = error\n");
	assert_int_equal(cfg.log_level, LOG_LVL_ERROR);
	expect_ok(REQUIRED "tls_client_ca = /ca\ntls_verify_client = optional\n");
	assert_int_equal(cfg.tls_verify_client, TLS_VERIFY_OPTIONAL);
}

static void
test_unknown_key_names_its_line(void **state)
{
	expect_error("# c\n\ntls_cert = /c\n\n# x\nlisten_port = 1\n"
	    "listen_prot = 2\n", NAME ":7: unknown key 'listen_prot'");
}

static void
test_missing_equals(void **state)
{
	expect_error(REQUIRED "listen_port 8443\n", NAME ":4: missing '='");
}

static void
test_invalid_key_syntax(void **state)
{
	expect_error("Listen_port = 1\n", NAME ":1: invalid key 'Listen_port'");
	expect_error("listen port = 1\n", NAME ":1: invalid key 'listen port'");
	expect_error("\n = 1\n", NAME ":2: invalid key ''");
	expect_error("listen-port = 1\n", NAME ":1: invalid key 'listen-port'");
}

static void
test_duplicate_key(void **state)
{
	expect_error("db_pool_size = 2\n" REQUIRED "db_pool_size = 3\n",
	    NAME ":5: duplicate key 'db_pool_size'");
}

static void
test_missing_required_keys(void **state)
{
	expect_error("", NAME ": missing required key 'tls_cert'");
	expect_error("tls_cert = /c\ndb_conninfo = x\n",
	    NAME ": missing required key 'tls_key'");
	expect_error("tls_cert = /c\ntls_key = /k\n",
	    NAME ": missing required key 'db_conninfo'");
	expect_error("tls_cert = /c\ntls_key =\n",
	    NAME ":2: tls_key: must not be empty");
	expect_error("tls_cert = \"\"\n", NAME ":1: tls_cert: must not be empty");
}

static void
test_cross_key_rules(void **state)
{
	expect_error(REQUIRED "db_reconnect_min_ms = 200\n"
	    "db_reconnect_max_ms = 100\n", NAME ": db_reconnect_max_ms (100) "
	    "must be at least db_reconnect_min_ms (200)");
	expect_error(REQUIRED "db_reconnect_min_ms = 6000\n",
	    NAME ": db_reconnect_max_ms (5000) must be at least "
	    "db_reconnect_min_ms (6000)");
	expect_error(REQUIRED "tls_verify_client = require\n",
	    NAME ": tls_verify_client 'require' needs tls_client_ca");
	expect_error(REQUIRED "tls_verify_client = optional\ntls_client_ca = \n",
	    NAME ": tls_verify_client 'optional' needs tls_client_ca");
	expect_ok(REQUIRED "tls_verify_client = require\ntls_client_ca = /ca\n");
}

static void
test_failure_leaves_config_untouched(void **state)
{
	struct config before;

	expect_ok(REQUIRED "listen_port = 9000\nlog_level = debug\n");
	before = cfg;
	expect_error(REQUIRED "listen_port = 9001\nlisten_addr = 10.1.1.1\n"
	    "log_level = error\nbogus = 1\n", NAME ":7: unknown key 'bogus'");
	assert_memory_equal(&before, &cfg, sizeof(cfg));
	assert_int_equal(cfg.listen_port, 9000);
	assert_string_equal(cfg.listen_addr, "127.0.0.1");
	assert_string_equal(cfg.tls_cert, "/etc/c.pem");
	assert_int_equal(cfg.log_level, LOG_LVL_DEBUG);
}

static void
test_success_replaces_config(void **state)
{
	expect_ok(REQUIRED "listen_port = 9000\n");
	expect_ok("tls_cert = /c2\ntls_key = /k2\ndb_conninfo = y\n");
	assert_int_equal(cfg.listen_port, 8443);
	assert_string_equal(cfg.tls_cert, "/c2");
}

static void
test_free_zeroes(void **state)
{
	struct config zero;

	expect_ok(REQUIRED);
	config_free(&cfg);
	memset(&zero, 0, sizeof(zero));
	assert_memory_equal(&cfg, &zero, sizeof(cfg));
	config_free(&cfg);	/* twice is harmless */
}

static void
test_error_buffer_is_truncated_safely(void **state)
{
	char small[12];

	assert_false(config_parse("nope = 1\n", NAME, &cfg, small, sizeof(small)));
	assert_string_equal(small, "certflowd.c");
	assert_false(config_parse("nope = 1\n", NAME, &cfg, small, 0));
}

/* Writes LEN bytes of TEXT to a fresh temporary file; returns its path. */
static char *
write_temp(const char *text, size_t len)
{
	char *path = strdup("/tmp/test_config_XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

static void
test_load_reads_file(void **state)
{
	char *path = write_temp(REQUIRED "listen_port = 1234\n",
	    strlen(REQUIRED "listen_port = 1234\n"));

	assert_true(config_load(path, &cfg, err, sizeof(err)));
	assert_int_equal(cfg.listen_port, 1234);
	unlink(path);
	free(path);
}

static void
test_load_uses_path_in_messages(void **state)
{
	static const char text[] = "tls_cert = /c\nport = 1\n";
	char *path = write_temp(text, strlen(text));
	char want[256];

	assert_false(config_load(path, &cfg, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:2: unknown key 'port'", path);
	assert_string_equal(err, want);
	unlink(path);
	free(path);
}

static void
test_load_missing_file(void **state)
{
	assert_false(config_load("/nonexistent/certflowd.conf", &cfg, err,
	    sizeof(err)));
	assert_string_equal(err, "/nonexistent/certflowd.conf: "
	    "No such file or directory");
	assert_null(cfg.tls_cert);
}

static void
test_load_rejects_nul_and_huge_files(void **state)
{
	char *path = write_temp("tls_cert = /c\0x\n", 16);
	char *big, want[256];

	assert_false(config_load(path, &cfg, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: contains a NUL byte", path);
	assert_string_equal(err, want);
	unlink(path);
	free(path);

	big = malloc(1024 * 1024 + 1);
	assert_non_null(big);
	memset(big, '#', 1024 * 1024 + 1);
	path = write_temp(big, 1024 * 1024 + 1);
	assert_false(config_load(path, &cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "larger than 1048576 bytes"));
	unlink(path);
	free(path);
	free(big);
}

static void
test_fractions(void **state)
{
	expect_ok(REQUIRED "review_rate = 0.25\nagreement_floor = 1\n");
	assert_true(cfg.review_rate == 0.25);
	assert_true(cfg.agreement_floor == 1.0);
	expect_ok(REQUIRED "review_rate = .5\n");
	assert_true(cfg.review_rate == 0.5);
	expect_error(REQUIRED "review_rate = 1.5\n",
	    NAME ":4: review_rate: '1.5' is out of range 0..1");
	expect_error(REQUIRED "review_rate = -0.1\n",
	    NAME ":4: review_rate: '-0.1' is not a decimal number such as 0.10");
	expect_error(REQUIRED "review_rate = 10%\n",
	    NAME ":4: review_rate: '10%' is not a decimal number such as 0.10");
	expect_error(REQUIRED "review_rate = .\n",
	    NAME ":4: review_rate: '.' is not a decimal number such as 0.10");
}

static void
test_test_clock_needs_enabling(void **state)
{
	expect_error(REQUIRED "test_clock_offset_s = 3600\n",
	    NAME ": test_clock_offset_s is refused unless test_clock_enabled = yes "
	    "(a test-only setting)");
	expect_ok(REQUIRED "test_clock_enabled = yes\ntest_clock_offset_s = -3600\n");
	assert_int_equal(cfg.test_clock_offset_s, -3600);
	expect_error(REQUIRED "report_key_file = /k\n",
	    NAME ": report_key_file and report_secret_file go together");
}

static void
test_signing_needs_an_https_issuer(void **state)
{
	static const char *const bad[] = { "http://x.example", "https://", "https://x.example/",
	    "https://x.example/a?b", "https://x.example#k", "https://x y.example",
	    "ftp://x.example", "https://x.example/\"q" };
	char text[512];

	expect_error(REQUIRED "signing_key_file = /k\n",
	    NAME ": signing_key_file and credential_issuer go together");
	expect_error(REQUIRED "credential_issuer = https://x.example\n",
	    NAME ": signing_key_file and credential_issuer go together");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), REQUIRED "signing_key_file = /k\n"
		    "credential_issuer = %s\n", bad[i]);
		expect_error(text, NAME ": credential_issuer must be an https:// URL without a "
		    "trailing '/', query or fragment");
	}
	expect_ok(REQUIRED "signing_key_file = /k\ncredential_issuer = https://certs.example:8443/school\n"
	    "credential_sign_interval_s = 30\nidempotency_ttl_s = 3600\n");
	assert_string_equal(cfg.credential_issuer, "https://certs.example:8443/school");
	assert_int_equal(cfg.credential_sign_interval_s, 30);
	assert_int_equal(cfg.idempotency_ttl_s, 3600);
	expect_error(REQUIRED "idempotency_ttl_s = 59\n",
	    NAME ":4: idempotency_ttl_s: '59' is out of range 60..2592000");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		T(test_fractions),
		T(test_test_clock_needs_enabling),
		T(test_signing_needs_an_https_issuer),
		T(test_minimal_file_keeps_defaults),
		T(test_every_key),
		T(test_comments_blanks_and_spacing),
		T(test_value_is_everything_after_first_equals),
		T(test_quotes_are_removed),
		T(test_crlf_file),
		T(test_size_suffixes),
		T(test_size_errors),
		T(test_integer_errors),
		T(test_enum_values),
		T(test_unknown_key_names_its_line),
		T(test_missing_equals),
		T(test_invalid_key_syntax),
		T(test_duplicate_key),
		T(test_missing_required_keys),
		T(test_cross_key_rules),
		T(test_failure_leaves_config_untouched),
		T(test_success_replaces_config),
		T(test_free_zeroes),
		T(test_error_buffer_is_truncated_safely),
		T(test_load_reads_file),
		T(test_load_uses_path_in_messages),
		T(test_load_missing_file),
		T(test_load_rejects_nul_and_huge_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
