/*
 * test_log.c - unit tests for lib/log.c: level names, the line format, the
 * single-line guarantee (control characters scrubbed, long messages cut) and
 * the macros' level check. Captures stderr in a temporary file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certflow/log.h"

struct capture {
	int saved;	/* the real stderr */
	FILE *file;	/* where stderr goes meanwhile */
};

static void
capture_start(struct capture *c)
{
	fflush(stderr);
	c->file = tmpfile();
	assert_non_null(c->file);
	c->saved = dup(STDERR_FILENO);
	assert_true(c->saved >= 0);
	assert_true(dup2(fileno(c->file), STDERR_FILENO) >= 0);
}

/* Restores stderr; returns what was written (malloc'ed, NUL-terminated). */
static char *
capture_end(struct capture *c)
{
	char *buf = calloc(1, 8192);
	size_t n;

	assert_non_null(buf);
	assert_true(dup2(c->saved, STDERR_FILENO) >= 0);
	close(c->saved);
	rewind(c->file);
	n = fread(buf, 1, 8191, c->file);
	buf[n] = '\0';
	fclose(c->file);
	return buf;
}

static size_t
count_char(const char *s, char ch)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == ch;
	return n;
}

static void
test_level_names_round_trip(void **state)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	enum log_level lvl;

	for (int i = 0; i < 4; i++) {
		assert_true(log_level_parse(names[i], &lvl));
		assert_int_equal(lvl, i);
		assert_string_equal(log_level_name(lvl), names[i]);
	}
	lvl = LOG_LVL_WARN;
	assert_false(log_level_parse("INFO", &lvl));
	assert_false(log_level_parse("warning", &lvl));
	assert_false(log_level_parse("", &lvl));
	assert_false(log_level_parse(NULL, &lvl));
	assert_int_equal(lvl, LOG_LVL_WARN);
	assert_string_equal(log_level_name((enum log_level)42), "unknown");
}

static void
test_default_threshold_is_info(void **state)
{
	assert_int_equal(log_threshold, LOG_LVL_INFO);
}

static void
test_line_format(void **state)
{
	struct capture c;
	regex_t re;
	char *out, expect_pid[32];

	log_init("testprog", LOG_LVL_DEBUG);
	capture_start(&c);
	log_write(LOG_LVL_WARN, "hello %d %s", 42, "world");
	out = capture_end(&c);
	assert_int_equal(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:"
	    "[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z testprog\\[[0-9]+\\] WARN "
	    "hello 42 world\n$", REG_EXTENDED), 0);
	assert_int_equal(regexec(&re, out, 0, NULL, 0), 0);
	snprintf(expect_pid, sizeof(expect_pid), "[%ld]", (long)getpid());
	assert_non_null(strstr(out, expect_pid));
	regfree(&re);
	free(out);
}

static void
test_each_level_tag(void **state)
{
	static const char *const tags[] = { " ERROR x\n", " WARN x\n",
	    " INFO x\n", " DEBUG x\n" };
	struct capture c;
	char *out;

	log_init("p", LOG_LVL_DEBUG);
	for (int i = 0; i < 4; i++) {
		capture_start(&c);
		log_write((enum log_level)i, "x");
		out = capture_end(&c);
		assert_non_null(strstr(out, tags[i]));
		free(out);
	}
}

static void
test_control_characters_cannot_forge_lines(void **state)
{
	struct capture c;
	char *out;

	log_init("p", LOG_LVL_DEBUG);
	capture_start(&c);
	log_info("user %s", "bob\n2026-01-01T00:00:00.000Z p[1] ERROR fake\r\x1b[2J\x7f");
	out = capture_end(&c);
	assert_int_equal(count_char(out, '\n'), 1);
	assert_null(strchr(out, '\r'));
	assert_null(strchr(out, '\x1b'));
	assert_null(strchr(out, '\x7f'));
	assert_non_null(strstr(out, "user bob?2026-01-01T00:00:00.000Z p[1] "
	    "ERROR fake??[2J?\n"));
	free(out);
}

static void
test_utf8_is_kept(void **state)
{
	struct capture c;
	char *out;

	log_init("p", LOG_LVL_DEBUG);
	capture_start(&c);
	log_info("caf\xc3\xa9");
	out = capture_end(&c);
	assert_non_null(strstr(out, " INFO caf\xc3\xa9\n"));
	free(out);
}

static void
test_long_message_is_cut_to_one_line(void **state)
{
	struct capture c;
	char *big = malloc(5000), *out;
	size_t len;

	assert_non_null(big);
	memset(big, 'a', 4999);
	big[4999] = '\0';
	log_init("p", LOG_LVL_DEBUG);
	capture_start(&c);
	log_error("%s", big);
	out = capture_end(&c);
	len = strlen(out);
	assert_true(len <= 2048);
	assert_true(len > 2000);
	assert_int_equal(out[len - 1], '\n');
	assert_int_equal(count_char(out, '\n'), 1);
	free(out);
	free(big);
}

static int side_effects;

static const char *
touch(void)
{
	side_effects++;
	return "x";
}

static void
test_macros_check_level_before_formatting(void **state)
{
	struct capture c;
	char *out;

	log_init("p", LOG_LVL_WARN);
	side_effects = 0;
	capture_start(&c);
	log_debug("%s", touch());
	log_info("%s", touch());
	log_warn("%s", touch());
	out = capture_end(&c);
	assert_int_equal(side_effects, 1);
	assert_int_equal(count_char(out, '\n'), 1);
	assert_non_null(strstr(out, " WARN x\n"));
	free(out);
	log_init("p", LOG_LVL_INFO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_threshold_is_info),
		cmocka_unit_test(test_level_names_round_trip),
		cmocka_unit_test(test_line_format),
		cmocka_unit_test(test_each_level_tag),
		cmocka_unit_test(test_control_characters_cannot_forge_lines),
		cmocka_unit_test(test_utf8_is_kept),
		cmocka_unit_test(test_long_message_is_cut_to_one_line),
		cmocka_unit_test(test_macros_check_level_before_formatting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
