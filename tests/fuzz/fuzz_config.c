/*
 * fuzz_config.c - lib/config.c on arbitrary configuration text. Invariants:
 * a refusal names the file and leaves the caller's configuration exactly
 * as it was; an acceptance has the required keys and honours the cross-key
 * rules; a small error buffer is never overrun; nothing leaks.
 */
#include "fuzz.h"

#include <certflow/config.h>

#define NAME	"fuzz.conf"

/* The accepted configuration keeps the rules config_parse promises. */
static void
check_accepted(const struct config *c)
{
	FUZZ_ASSERT(c->tls_cert != NULL && c->tls_cert[0] != '\0');
	FUZZ_ASSERT(c->tls_key != NULL && c->tls_key[0] != '\0');
	FUZZ_ASSERT(c->db_conninfo != NULL && c->db_conninfo[0] != '\0');
	FUZZ_ASSERT(c->listen_addr != NULL && c->listen_addr[0] != '\0');
	FUZZ_ASSERT(c->listen_port >= 1 && c->listen_port <= 65535);
	FUZZ_ASSERT(c->db_reconnect_max_ms >= c->db_reconnect_min_ms);
	FUZZ_ASSERT(c->max_body_size >= 1024);
	FUZZ_ASSERT(c->review_rate >= 0.0 && c->review_rate <= 1.0);
	FUZZ_ASSERT(c->agreement_floor >= 0.0 && c->agreement_floor <= 1.0);
	FUZZ_ASSERT(c->tls_verify_client == 0 ||
	    (c->tls_client_ca != NULL && c->tls_client_ca[0] != '\0'));
	FUZZ_ASSERT((c->report_key_file[0] == '\0') ==
	    (c->report_secret_file[0] == '\0'));
	FUZZ_ASSERT((c->signing_key_file[0] == '\0') ==
	    (c->credential_issuer[0] == '\0'));
	FUZZ_ASSERT(c->test_clock_offset_s == 0 || c->test_clock_enabled);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);
	char err[256], small[24];
	struct config cfg, before;
	bool ok;

	config_defaults(&cfg);
	before = cfg;
	ok = config_parse(text, NAME, &cfg, err, sizeof(err));
	if (ok) {
		FUZZ_ASSERT(err[0] == '\0');
		check_accepted(&cfg);
	} else {
		FUZZ_ASSERT(strncmp(err, NAME ":", strlen(NAME ":")) == 0);
		FUZZ_ASSERT(memcmp(&cfg, &before, sizeof(cfg)) == 0);
	}

	/* Again with a buffer too small for most messages, then with none. */
	memset(small, 0x5a, sizeof(small));
	FUZZ_ASSERT(config_parse(text, NAME, &cfg, small, 16) == ok);
	FUZZ_ASSERT(memchr(small, '\0', 16) != NULL);
	for (size_t i = 16; i < sizeof(small); i++)
		FUZZ_ASSERT(small[i] == 0x5a);
	FUZZ_ASSERT(config_parse(text, NAME, &cfg, NULL, 0) == ok);

	config_free(&cfg);
	free(text);
	return 0;
}
