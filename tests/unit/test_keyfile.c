/*
 * test_keyfile.c - unit tests for lib/keyfile.c: the reader refuses a
 * missing file, a directory, a denied mode, a NUL byte and an oversize file
 * with "PATH: reason", and returns the content and mode of a good one; the
 * line walk skips comments and blank lines and counts every line; messages
 * carry the line when there is one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certflow/keyfile.h"

#define MAX	64

/* Writes N bytes of DATA to a new temporary file with MODE; returns its
 * path (static). */
static const char *
temp_file(const char *data, size_t n, mode_t mode)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/certflow-keyfile-XXXXXX");
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
	return path;
}

/* Asserts that reading PATH fails with "PATH: REASON" and returns no text. */
static void
expect_read_error(const char *path, mode_t deny, const char *reason)
{
	char err[512], want[512];
	char *text = (char *)"untouched";
	size_t len = 1;

	assert_false(keyfile_read(path, MAX, deny, "denied", &text, &len, NULL,
	    err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: %s", path, reason);
	assert_string_equal(err, want);
	assert_null(text);
	assert_int_equal(len, 0);
}

static void
test_read_returns_content_and_mode(void **state)
{
	const char *path = temp_file("k1 abc\n", 7, 0640);
	char err[512];
	char *text = NULL;
	size_t len = 0;
	mode_t mode = 0;

	if (!keyfile_read(path, MAX, 0, "denied", &text, &len, &mode, err,
	    sizeof(err)))
		fail_msg("read failed: %s", err);
	assert_int_equal(len, 7);
	assert_string_equal(text, "k1 abc\n");
	assert_true(S_ISREG(mode));
	assert_int_equal(mode & 0777, 0640);
	free(text);
	assert_int_equal(unlink(path), 0);
}

static void
test_read_empty_file(void **state)
{
	const char *path = temp_file("", 0, 0600);
	char *text = NULL;
	size_t len = 1;

	assert_true(keyfile_read(path, MAX, 077, "denied", &text, &len, NULL,
	    NULL, 0));
	assert_int_equal(len, 0);
	assert_string_equal(text, "");
	free(text);
	assert_int_equal(unlink(path), 0);
}

static void
test_read_refuses_missing_file(void **state)
{
	const char *path = temp_file("", 0, 0600);

	assert_int_equal(unlink(path), 0);
	expect_read_error(path, 0, "No such file or directory");
}

static void
test_read_refuses_directory(void **state)
{
	expect_read_error("/tmp", 0, "not a regular file");
}

static void
test_read_refuses_denied_mode(void **state)
{
	const char *path = temp_file("k1 abc\n", 7, 0644);
	char *text = NULL;
	size_t len = 0;

	expect_read_error(path, 077, "denied");
	expect_read_error(path, 004, "denied");
	/* 0644 has no bit of 022. */
	assert_true(keyfile_read(path, MAX, 022, "denied", &text, &len, NULL,
	    NULL, 0));
	free(text);
	assert_int_equal(unlink(path), 0);
}

static void
test_read_refuses_nul_byte(void **state)
{
	const char *path = temp_file("k1\0abc\n", 7, 0600);

	expect_read_error(path, 0, "contains a NUL byte");
	assert_int_equal(unlink(path), 0);
}

static void
test_read_size_limit(void **state)
{
	char data[MAX + 1];
	const char *path;
	char *text = NULL;
	size_t len = 0;

	memset(data, 'x', sizeof(data));
	path = temp_file(data, MAX + 1, 0600);
	expect_read_error(path, 0, "larger than 64 bytes");
	assert_int_equal(unlink(path), 0);
	/* Exactly MAX bytes is still a key file. */
	path = temp_file(data, MAX, 0600);
	assert_true(keyfile_read(path, MAX, 0, "denied", &text, &len, NULL,
	    NULL, 0));
	assert_int_equal(len, MAX);
	assert_int_equal(strlen(text), MAX);
	free(text);
	assert_int_equal(unlink(path), 0);
}

static void
test_next_key_skips_comments_and_blanks(void **state)
{
	const char *text = "# head\n\n  \t\r\nk1 a\r\n  # indented\nk2 b";
	const char *cursor = text, *s, *e;
	unsigned line = 0;

	assert_true(keyfile_next_key(&cursor, &line, &s, &e));
	assert_int_equal(line, 4);
	assert_int_equal(e - s, 5);
	assert_memory_equal(s, "k1 a\r", 5);
	assert_true(keyfile_next_key(&cursor, &line, &s, &e));
	assert_int_equal(line, 6);
	assert_int_equal(e - s, 4);
	assert_memory_equal(s, "k2 b", 4);
	assert_false(keyfile_next_key(&cursor, &line, &s, &e));
	assert_int_equal(line, 6);
	/* Without a line counter, and on a text with no key. */
	cursor = "# only\n\n";
	assert_false(keyfile_next_key(&cursor, NULL, &s, &e));
	cursor = "";
	assert_false(keyfile_next_key(&cursor, NULL, &s, &e));
}

static void
test_errorf_names_file_and_line(void **state)
{
	char err[64];
	struct keyfile_parser p = { "keys", 0, err, sizeof(err) };

	assert_false(keyfile_errorf(&p, "no key"));
	assert_string_equal(err, "keys: no key");
	p.line = 3;
	assert_false(keyfile_errorf(&p, "bad %s", "id"));
	assert_string_equal(err, "keys:3: bad id");
	p.err = NULL;
	assert_false(keyfile_errorf(&p, "ignored"));
}

static void
test_ids_and_hex(void **state)
{
	assert_true(keyfile_id_valid("k-1_a.B", 7, 7));
	assert_false(keyfile_id_valid("k-1_a.B", 7, 6));
	assert_false(keyfile_id_valid("", 0, 8));
	assert_false(keyfile_id_valid("k=1", 3, 8));
	assert_int_equal(keyfile_hex_value('0'), 0);
	assert_int_equal(keyfile_hex_value('f'), 15);
	assert_int_equal(keyfile_hex_value('A'), 10);
	assert_int_equal(keyfile_hex_value('g'), -1);
	assert_true(keyfile_is_blank('\r'));
	assert_false(keyfile_is_blank('#'));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_returns_content_and_mode),
		cmocka_unit_test(test_read_empty_file),
		cmocka_unit_test(test_read_refuses_missing_file),
		cmocka_unit_test(test_read_refuses_directory),
		cmocka_unit_test(test_read_refuses_denied_mode),
		cmocka_unit_test(test_read_refuses_nul_byte),
		cmocka_unit_test(test_read_size_limit),
		cmocka_unit_test(test_next_key_skips_comments_and_blanks),
		cmocka_unit_test(test_errorf_names_file_and_line),
		cmocka_unit_test(test_ids_and_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
