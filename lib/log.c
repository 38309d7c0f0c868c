/*
 * log.c - leveled log lines on stderr.
 * Owns the program name and the threshold. Each line is built in one stack
 * buffer and written with a single write(2) so lines never interleave; control
 * characters in the message become '?' so a client cannot forge log lines.
 */
#include "certflow/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048

enum log_level log_threshold = LOG_LVL_INFO;

static char log_progname[64] = "certflow";

static const char *const level_names[] = { "error", "warn", "info", "debug" };
static const char *const level_tags[] = { "ERROR", "WARN", "INFO", "DEBUG" };

#define NLEVELS (sizeof(level_names) / sizeof(level_names[0]))

void
log_init(const char *progname, enum log_level threshold)
{
	if (progname != NULL)
		snprintf(log_progname, sizeof(log_progname), "%s", progname);
	log_threshold = threshold;
}

bool
log_level_parse(const char *name, enum log_level *out)
{
	if (name == NULL)
		return false;
	for (size_t i = 0; i < NLEVELS; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return true;
		}
	}
	return false;
}

const char *
log_level_name(enum log_level level)
{
	if ((unsigned)level >= NLEVELS)
		return "unknown";
	return level_names[level];
}

/* Writes "2026-11-22T10:30:00.123Z prog[pid] LEVEL " into buf; returns its length. */
static size_t
format_prefix(char *buf, size_t size, enum log_level level)
{
	struct timespec ts;
	struct tm tm;
	char when[32];
	const char *tag = (unsigned)level < NLEVELS ? level_tags[level] : "?";
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(buf, size, "%s.%03ldZ %s[%ld] %s ", when,
	    ts.tv_nsec / 1000000L, log_progname, (long)getpid(), tag);
	if (n < 0)
		return 0;
	return (size_t)n < size ? (size_t)n : size - 1;
}

/* Replaces bytes that could end or rewrite a terminal line. */
static void
scrub_controls(char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			s[i] = '?';
	}
}

static void
write_all(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(STDERR_FILENO, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		buf += w;
		len -= (size_t)w;
	}
}

void
log_write(enum log_level level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	size_t off, room, len;
	va_list ap;
	int n;
	int saved_errno = errno;

	off = format_prefix(line, sizeof(line) - 1, level);
	room = sizeof(line) - 1 - off;	/* one byte kept for '\n' */
	va_start(ap, fmt);
	n = vsnprintf(line + off, room, fmt, ap);
	va_end(ap);
	len = n < 0 ? 0 : ((size_t)n < room ? (size_t)n : room - 1);
	scrub_controls(line + off, len);
	line[off + len] = '\n';
	write_all(line, off + len + 1);
	errno = saved_errno;
}
