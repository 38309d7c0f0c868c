/*
 * reports.c - owns the report sealing keys, the installation secret and the
 * worker pool. Loaded once at start; the secret and keys are wiped on exit.
 * Never logs a receipt, a key or an address.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/util.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <certflow/log.h>
#include <certflow/receipt.h>
#include <certflow/token.h>

#include "reports.h"

#define SECRET_MIN 32
#define SECRET_MAX 4096
#define WORKER_QUEUE_MAX 256

static struct {
	bool enabled;
	struct seal_keyring ring;
	unsigned char secret[SECRET_MAX];
	size_t secret_len;
	int iterations;
	struct worker_pool *workers;
} reports;

/* Reads the secret file: at least 32 bytes once trailing blanks are cut, mode 600. */
static bool
load_secret(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	size_t n;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %m", path);
		return false;
	}
	if (fstat(fileno(f), &st) != 0 || (st.st_mode & 077) != 0) {
		fclose(f);
		snprintf(err, errlen, "%s: must not be readable by others (chmod 600)", path);
		return false;
	}
	n = fread(reports.secret, 1, sizeof(reports.secret), f);
	fclose(f);
	while (n > 0 && strchr(" \t\r\n", reports.secret[n - 1]) != NULL)
		n--;
	if (n < SECRET_MIN) {
		snprintf(err, errlen, "%s: the secret must hold at least %d bytes", path, SECRET_MIN);
		return false;
	}
	reports.secret_len = n;
	return true;
}

bool
reports_init(struct event_base *base, const struct config *cfg, char *err, size_t errlen)
{
	reports.iterations = cfg->receipt_kdf_iterations;
	if (cfg->report_key_file[0] == '\0') {
		log_warn("report_key_file is not set: the whistleblowing routes answer 503");
		return true;
	}
	if (!seal_keyring_load(cfg->report_key_file, &reports.ring, err, errlen) ||
	    !load_secret(cfg->report_secret_file, err, errlen))
		return false;
	reports.workers = worker_pool_new(base, cfg->worker_threads, WORKER_QUEUE_MAX);
	if (reports.workers == NULL) {
		snprintf(err, errlen, "cannot start the worker threads");
		return false;
	}
	reports.enabled = true;
	return true;
}

bool
reports_reload(const struct config *cfg, char *err, size_t errlen)
{
	if (!reports.enabled || cfg->report_key_file[0] == '\0')
		return true;
	/* seal_keyring_load replaces the ring only when the whole file is good. */
	if (!seal_keyring_load(cfg->report_key_file, &reports.ring, err, errlen))
		return false;
	log_info("reloaded %zu report keys; the current one is %s", reports.ring.n,
	    reports.ring.keys[reports.ring.n - 1].id);
	return true;
}

bool
reports_enabled(void)
{
	return reports.enabled;
}

const struct seal_keyring *
reports_keyring(void)
{
	return &reports.ring;
}

struct worker_pool *
reports_workers(void)
{
	return reports.workers;
}

bool
reports_source_key(struct evhttp_request *req, char out[65])
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	const char *host = NULL;
	unsigned char mac[32];
	unsigned int maclen = 0;
	ev_uint16_t port;

	if (conn != NULL)
		evhttp_connection_get_peer(conn, (char **)&host, &port);
	if (host == NULL)
		host = "unknown";
	if (HMAC(EVP_sha256(), reports.secret, (int)reports.secret_len,
	    (const unsigned char *)host, strlen(host), mac, &maclen) == NULL)
		return false;
	hex_encode(mac, sizeof(mac), out);
	return true;
}

bool
reports_receipt_hash(const char *digits, char out[65])
{
	unsigned char hash[RECEIPT_HASH_LEN];

	if (!receipt_hash(digits, reports.secret, reports.secret_len, reports.iterations, hash))
		return false;
	hex_encode(hash, sizeof(hash), out);
	return true;
}

void
reports_free(void)
{
	worker_pool_free(reports.workers);
	reports.workers = NULL;
	if (reports.enabled)
		seal_keyring_free(&reports.ring);
	OPENSSL_cleanse(reports.secret, sizeof(reports.secret));
	reports.enabled = false;
}
