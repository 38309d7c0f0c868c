/*
 * keyfile.c - reading a key file and walking its lines, for seal.c and
 * sign.c. Owns the read buffer until it hands it over, and wipes it on every
 * failure; never parses keys, never logs, and never puts file contents in
 * an error message.
 */
#include "certflow/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

bool
keyfile_errorf(struct keyfile_parser *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->err == NULL || p->errlen == 0)
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

bool
keyfile_read(const char *path, size_t max, mode_t deny, const char *deny_why,
    char **text, size_t *len, mode_t *mode, char *err, size_t errlen)
{
	struct keyfile_parser p = { path, 0, err, errlen };
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	int fd = -1;

	*text = NULL;
	*len = 0;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		keyfile_errorf(&p, "%s", strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) == -1) {
		keyfile_errorf(&p, "%s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		keyfile_errorf(&p, "not a regular file");
		goto fail;
	}
	if ((st.st_mode & deny) != 0) {
		keyfile_errorf(&p, "%s", deny_why);
		goto fail;
	}
	/* read(2) rather than stdio: no buffer we cannot wipe. */
	if ((buf = malloc(max + 1)) == NULL) {
		keyfile_errorf(&p, "out of memory");
		goto fail;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, max + 1 - n);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			keyfile_errorf(&p, "read error: %s", strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			keyfile_errorf(&p, "larger than %zu bytes", max);
			goto fail;
		}
	}
	if (memchr(buf, '\0', n) != NULL) {
		keyfile_errorf(&p, "contains a NUL byte");
		goto fail;
	}
	buf[n] = '\0';
	close(fd);
	*text = buf;
	*len = n;
	if (mode != NULL)
		*mode = st.st_mode;
	return true;
fail:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, max + 1);
		free(buf);
	}
	if (fd != -1)
		close(fd);
	return false;
}

/* Skips blanks; true when the line [S, E) holds a key line (not blank, not #). */
static bool
line_has_key(const char *s, const char *e)
{
	while (s < e && keyfile_is_blank(*s))
		s++;
	return s < e && *s != '#';
}

bool
keyfile_next_key(const char **cursor, unsigned *line, const char **s,
    const char **e)
{
	const char *c = *cursor;

	while (*c != '\0') {
		const char *end = strchr(c, '\n');

		if (end == NULL)
			end = c + strlen(c);
		if (line != NULL)
			(*line)++;
		*s = c;
		*e = end;
		c = *end == '\n' ? end + 1 : end;
		if (line_has_key(*s, *e)) {
			*cursor = c;
			return true;
		}
	}
	*cursor = c;
	return false;
}

bool
keyfile_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

int
keyfile_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool
is_id_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

bool
keyfile_id_valid(const char *s, size_t len, size_t max)
{
	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_id_char(s[i]))
			return false;
	return true;
}
