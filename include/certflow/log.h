/*
 * log.h - leveled logging to stderr, one line per event.
 * The macros test the level before formatting, so a disabled debug line
 * costs one comparison. Secrets (tokens, receipts, keys) are never passed here.
 */
#ifndef CERTFLOW_LOG_H
#define CERTFLOW_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

extern enum log_level log_threshold;

/* Sets the program name written on every line ("certflowd", "certflow"). */
void log_init(const char *progname, enum log_level threshold);

/* Parses "error", "warn", "info" or "debug". */
bool log_level_parse(const char *name, enum log_level *out);
const char *log_level_name(enum log_level level);

/* Writes "2026-11-22T10:30:00.123Z certflowd[pid] LEVEL message\n" to stderr. */
void log_write(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_at(lvl, ...) \
	do { if (log_threshold >= (lvl)) log_write((lvl), __VA_ARGS__); } while (0)
#define log_error(...) log_at(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_at(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_at(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
