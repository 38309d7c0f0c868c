/*
 * cmd_verify.c - "certflow verify FILE": checks a signed diploma or
 * certificate with lib/vc.c against its issuer's published keys and,
 * optionally, its status list, then says what it certifies. Needs no
 * configuration and no database; it fetches only over verified HTTPS, and
 * prints text from the credential with control characters replaced.
 * Exit: 0 valid, 1 not valid, 2 usage or unreadable input, 3 revoked.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <certflow/vc.h>

#include "cli.h"

#define USAGE	"certflow verify FILE|- [--keys FILE|URL] [--status FILE|URL] " \
	"[--ca FILE]"
#define KEYS_PATH	"/.well-known/certflow/keys"

enum { VERIFY_VALID = 0, VERIFY_INVALID = 1, VERIFY_ERROR = 2,
    VERIFY_REVOKED = 3 };

/* Reads F to its end, at most HTTPS_BODY_MAX bytes, into *TEXT (malloc'ed). */
static bool
read_stream(FILE *f, const char *name, char **text, size_t *len)
{
	size_t cap = 65536, n = 0, r;
	char *b = malloc(cap + 1), *nb;

	if (b == NULL)
		goto oom;
	while ((r = fread(b + n, 1, cap - n, f)) > 0) {
		if ((n += r) > HTTPS_BODY_MAX) {
			fprintf(stderr, "certflow verify: %s: larger than %d "
			    "bytes\n", name, HTTPS_BODY_MAX);
			free(b);
			return false;
		}
		if (n < cap)
			continue;
		/* One byte beyond the limit is enough to refuse. */
		cap = 2 * cap < HTTPS_BODY_MAX + 1 ? 2 * cap : HTTPS_BODY_MAX + 1;
		if ((nb = realloc(b, cap + 1)) == NULL)
			goto oom;
		b = nb;
	}
	if (ferror(f)) {
		fprintf(stderr, "certflow verify: %s: %s\n", name,
		    strerror(errno));
		free(b);
		return false;
	}
	b[n] = '\0';
	*text = b;
	*len = n;
	return true;
oom:
	free(b);
	fprintf(stderr, "certflow verify: out of memory\n");
	return false;
}

/*
 * The document WHAT (a label for messages) from SRC: an https URL, "-" for
 * standard input, or a file. False, with a message, when it cannot be read.
 */
static bool
load(const char *src, const char *what, const char *ca, char **text,
    size_t *len)
{
	char err[512];
	FILE *f;
	bool ok;

	*text = NULL;
	*len = 0;
	if (strncmp(src, "https://", 8) == 0) {
		if (https_get(src, ca, text, len, err, sizeof(err)))
			return true;
		fprintf(stderr, "certflow verify: cannot fetch %s %s: %s\n",
		    what, src, err);
		return false;
	}
	if (strncmp(src, "http://", 7) == 0) {
		fprintf(stderr, "certflow verify: %s: only https URLs are "
		    "fetched\n", src);
		return false;
	}
	if (strcmp(src, "-") == 0)
		return read_stream(stdin, "standard input", text, len);
	if ((f = fopen(src, "rb")) == NULL) {
		fprintf(stderr, "certflow verify: %s: %s\n", src, strerror(errno));
		return false;
	}
	ok = read_stream(f, src, text, len);
	fclose(f);
	return ok;
}

/*
 * The URL of the keys document of TEXT's issuer (malloc'ed), or NULL. Not
 * yet verified: control characters become '?', so that messages quoting it
 * stay plain text (and such a URL fails to fetch).
 */
static char *
keys_url_of(const char *text, size_t len)
{
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	const char *issuer = json_string_value(json_object_get(doc, "issuer"));
	char *url = NULL;
	size_t n;

	if (issuer != NULL && *issuer != '\0' &&
	    (url = malloc(n = strlen(issuer) + sizeof(KEYS_PATH))) != NULL) {
		snprintf(url, n, "%s" KEYS_PATH, issuer);
		for (char *c = url; *c != '\0'; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
	}
	json_decref(doc);
	return url;
}

/* Prints S with control characters as '?' (the credential is not ours). */
static void
put_clean(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

/* Prints LABEL, A and B (when not NULL) cleaned, a space apart, then SUFFIX. */
static void
print_line(const char *label, const char *a, const char *b,
    const char *suffix)
{
	fputs(label, stdout);
	put_clean(a);
	if (b != NULL) {
		putchar(' ');
		put_clean(b);
	}
	fputs(suffix, stdout);
}

static void
print_credential(const struct vc_verified *v, const char *status)
{
	const json_t *skill;
	size_t i;

	print_line("valid: ", v->kind, v->id, "\n");
	print_line("issuer: ", v->issuer, NULL, "\n");
	print_line("issued: ", v->valid_from, NULL, "\n");
	print_line("key: ", v->key_id, NULL, "\n");
	print_line("holder: ", v->holder, NULL, "\n");
	print_line("path: ", v->path_code, v->path_title, "\n");
	fputs("skills:\n", stdout);
	json_array_foreach(v->skills, i, skill) {
		print_line("  ", json_string_value(json_object_get(skill, "code")),
		    json_string_value(json_object_get(skill, "title")),
		    " (project ");
		print_line("", json_string_value(json_object_get(skill,
		    "project")), NULL, ")\n");
	}
	if (status != NULL)
		printf("status: %s\n", status);
}

/*
 * Checks the status list at SRC for V's entry; VERIFY_VALID or
 * VERIFY_REVOKED, or an error code after a message.
 */
static int
check_status(const char *src, const char *ca, const json_t *keys,
    const struct vc_verified *v)
{
	char err[512], *text = NULL;
	bool revoked = false;
	size_t len = 0;
	int rc;

	if (v->status_list == NULL) {
		fprintf(stderr, "certflow verify: the credential has no "
		    "credentialStatus to check\n");
		return VERIFY_INVALID;
	}
	if (!load(src, "the status list", ca, &text, &len))
		return VERIFY_ERROR;
	if (!vc_status_check(text, len, keys, v->status_list, v->status_index,
	    &revoked, err, sizeof(err))) {
		fprintf(stderr, "certflow verify: status list: %s\n", err);
		rc = VERIFY_INVALID;
	} else {
		rc = revoked ? VERIFY_REVOKED : VERIFY_VALID;
	}
	free(text);
	return rc;
}

/* Parses the command line; false (after the usage line) when it is wrong. */
static bool
parse_args(int argc, char **argv, const char **file, const char **keys,
    const char **status, const char **ca)
{
	for (int i = 0; i < argc; i++) {
		const char **opt = NULL;

		if (strcmp(argv[i], "--keys") == 0)
			opt = keys;
		else if (strcmp(argv[i], "--status") == 0)
			opt = status;
		else if (strcmp(argv[i], "--ca") == 0)
			opt = ca;
		if (opt != NULL && i + 1 < argc && strcmp(argv[i + 1], "-") != 0)
			*opt = argv[++i];
		else if (opt == NULL && *file == NULL &&
		    (argv[i][0] != '-' || strcmp(argv[i], "-") == 0))
			*file = argv[i];
		else
			goto usage;
	}
	if (*file != NULL)
		return true;
usage:
	fprintf(stderr, "usage: %s\n", USAGE);
	return false;
}

int
cmd_verify(int argc, char **argv, const char *config_path)
{
	const char *file = NULL, *keys_src = NULL, *status_src = NULL;
	const char *ca = getenv("CERTFLOW_CA");
	char err[512], *text = NULL, *keys_text = NULL, *keys_url = NULL;
	struct vc_verified v = { 0 };
	size_t len = 0, keys_len = 0;
	json_t *keys = NULL;
	json_error_t je;
	int rc = VERIFY_ERROR;

	if (ca != NULL && *ca == '\0')
		ca = NULL;
	if (!parse_args(argc, argv, &file, &keys_src, &status_src, &ca))
		return VERIFY_ERROR;
	if (!load(file, "the credential", ca, &text, &len))
		goto done;
	if (keys_src == NULL &&
	    (keys_src = keys_url = keys_url_of(text, len)) == NULL) {
		/* No issuer to ask: let vc_verify say what is wrong. */
		keys = json_object();
		if (keys != NULL && !vc_verify(text, len, keys, NULL, err,
		    sizeof(err))) {
			fprintf(stderr, "certflow verify: %s\n", err);
			rc = VERIFY_INVALID;
		}
		goto done;
	}
	if (!load(keys_src, "the keys document", ca, &keys_text, &keys_len))
		goto done;
	if ((keys = json_loadb(keys_text, keys_len, JSON_REJECT_DUPLICATES,
	    &je)) == NULL || !json_is_object(keys)) {
		fprintf(stderr, "certflow verify: the keys document %s is not a "
		    "JSON object%s%s\n", keys_src, keys == NULL ? ": " : "",
		    keys == NULL ? je.text : "");
		goto done;
	}
	if (!vc_verify(text, len, keys, &v, err, sizeof(err))) {
		fprintf(stderr, "certflow verify: %s\n", err);
		rc = VERIFY_INVALID;
		goto done;
	}
	rc = status_src != NULL ? check_status(status_src, ca, keys, &v) :
	    VERIFY_VALID;
	if (rc == VERIFY_VALID || rc == VERIFY_REVOKED)
		print_credential(&v, status_src == NULL ? NULL :
		    rc == VERIFY_REVOKED ? "REVOKED" : "not revoked");
done:
	vc_verified_free(&v);
	json_decref(keys);
	free(keys_url);
	free(keys_text);
	free(text);
	return rc;
}
