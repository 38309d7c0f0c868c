/*
 * keyfile.h - what the key files of seal.c and sign.c share: reading one
 * (bounded, regular file, no NUL byte, a permission mask), walking its key
 * lines ('#' comments and blank lines skipped, a trailing '\r' is a blank),
 * key ids, hex digits and "PATH:LINE: reason" messages. It knows no key
 * format, and never logs or puts file contents in a message.
 */
#ifndef CERTFLOW_KEYFILE_H
#define CERTFLOW_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Where messages go and what they name. */
struct keyfile_parser {
	const char *name;	/* file name for messages */
	unsigned line;		/* 0 outside the lines */
	char *err;		/* may be NULL */
	size_t errlen;
};

/* Writes "NAME:LINE: message" (or "NAME: message" outside lines); returns false. */
bool keyfile_errorf(struct keyfile_parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Reads the file PATH (at most MAX bytes). Refuses a file that is not
 * regular, whose mode has a bit of DENY (reason DENY_WHY; checked before any
 * byte is read), that is larger than MAX or that holds a NUL byte, with
 * "PATH: reason" in ERR. On success *TEXT is a malloc'ed, NUL-terminated
 * copy of *LEN bytes (the caller wipes it with OPENSSL_cleanse and frees it)
 * and *MODE (if not NULL) the file's mode. On failure *TEXT is NULL and
 * whatever was read has been wiped.
 */
bool keyfile_read(const char *path, size_t max, mode_t deny,
    const char *deny_why, char **text, size_t *len, mode_t *mode, char *err,
    size_t errlen) __attribute__((warn_unused_result));

/*
 * The next key line at *CURSOR (in a NUL-terminated text): sets [*S, *E) to
 * it without its '\n', adds to *LINE (if not NULL) every line passed, blank
 * and '#' lines included, and moves *CURSOR past it. False at the end.
 */
bool keyfile_next_key(const char **cursor, unsigned *line, const char **s,
    const char **e);

/* True for the blanks that separate fields: space, tab and '\r'. */
bool keyfile_is_blank(char c);

/* The value of the hex digit C, or -1. */
int keyfile_hex_value(char c);

/* True when the LEN chars at S are a key id: 1 to MAX of [A-Za-z0-9_.-]. */
bool keyfile_id_valid(const char *s, size_t len, size_t max);

#endif
