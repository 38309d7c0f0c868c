/*
 * cmd_signing.c - "certflow keys new-signing ID" and "certflow keys
 * public-signing FILE": the lines of a signing key file (lib/sign.h). A new
 * key is appended to signing_key_file and certflowd reloaded (SIGHUP): the
 * last private key signs. A key is retired by replacing its line with its
 * public form: credentials it signed keep verifying, it signs nothing more.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <certflow/sign.h>
#include <certflow/token.h>

#include "cli.h"

static int
new_signing(const char *id)
{
	char *line = sign_generate_line(id);

	if (line == NULL) {
		fprintf(stderr, "certflow: cannot make a key named '%s' (1 to %d of "
		    "A-Z a-z 0-9 _ . -)\n", id, SIGN_KEY_ID_MAX);
		return 1;
	}
	fputs(line, stdout);
	OPENSSL_cleanse(line, strlen(line));
	free(line);
	return 0;
}

static int
public_signing(const char *path)
{
	struct sign_keyring ring = { NULL, 0 };
	char err[512], hex[2 * SIGN_PUB_LEN + 1];

	if (!sign_keyring_load(path, &ring, err, sizeof(err))) {
		fprintf(stderr, "certflow: %s\n", err);
		return 1;
	}
	for (size_t i = 0; i < ring.n; i++) {
		hex_encode(ring.keys[i].pub, SIGN_PUB_LEN, hex);
		printf("%s public %s\n", ring.keys[i].id, hex);
	}
	sign_keyring_free(&ring);
	return 0;
}

bool
cmd_signing(int argc, char **argv, int *rc)
{
	if (argc == 2 && strcmp(argv[0], "new-signing") == 0)
		*rc = new_signing(argv[1]);
	else if (argc == 2 && strcmp(argv[0], "public-signing") == 0)
		*rc = public_signing(argv[1]);
	else
		return false;
	return true;
}
