/*
 * seeds.c - writes the seed corpus of every fuzz target from real inputs:
 * request bodies and paths certflowd serves, the example configuration,
 * key files, and texts that lib/ itself seals, signs and encodes under the
 * keys of fuzz.h. Usage: seeds OUTDIR [EXAMPLE_CONF]; writes
 * OUTDIR/fuzz_TARGET/NAME, replacing what is there. Regression inputs that
 * once crashed a target live in tests/fuzz/corpus/ instead.
 */
#include "fuzz.h"

#include <errno.h>
#include <sys/stat.h>

#include <certflow/multibase.h>
#include <certflow/receipt.h>
#include <certflow/seal.h>
#include <certflow/sign.h>
#include <certflow/statuslist.h>
#include <certflow/token.h>
#include <certflow/vc.h>

static const char *outdir;

/* Writes the LEN bytes of DATA as OUTDIR/TARGET/NAME; exits on failure. */
static void
put(const char *target, const char *name, const void *data, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	if (mkdir(path, 0755) == -1 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	if ((f = fopen(path, "wb")) == NULL ||
	    fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void
put_str(const char *target, const char *name, const char *s)
{
	FUZZ_ASSERT(s != NULL);
	put(target, name, s, strlen(s));
}

/* Writes the NULL-terminated texts of LIST as TARGET/seed-0, seed-1, ... */
static void
put_all(const char *target, const char *const *list)
{
	char name[32];

	for (size_t i = 0; list[i] != NULL; i++) {
		snprintf(name, sizeof(name), "seed-%zu", i);
		put_str(target, name, list[i]);
	}
}

static const char *const bodies[] = {
	"{\"name\":\"Ada Lovelace\",\"email\":\"ada@example.org\","
	"\"roles\":[\"admin\",\"mentor\"],\"jury_category\":null}",
	"{\"code\":\"CS-1\",\"title\":\"Computer science\",\"projects\":[{\"code\":"
	"\"P1\",\"title\":\"Shell\",\"skills\":[{\"code\":\"S.1\",\"title\":"
	"\"Pipes\"},{\"code\":\"S_2\",\"title\":\"Signals \\u00e9\"}]}]}",
	"{\"verdict\":\"validated\",\"skills\":[{\"code\":\"S1\",\"acquired\":true}],"
	"\"recording\":{\"uri\":\"https://rec.example.org/42\",\"sha256\":"
	"\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"},"
	"\"comment\":\"clear defense\"}",
	"{\"week\":\"2026-W07\",\"progress\":40,\"body\":\"steady\",\"at_risk\":false}",
	"{\"subject\":{\"enrollment_id\":7,\"credential_id\":"
	"\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"description\":\"copied\"},"
	"\"project_code\":\"P1\",\"category\":\"plagiarism\",\"body\":\"see the "
	"diff\",\"evidence\":[{\"uri\":\"urn:x:1\",\"sha256\":"
	"\"E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855\"}]}",
	"{\"path_id\":3,\"scheduled_at\":\"2026-06-30T09:30:00.250+02:00\","
	"\"members\":[4,5,6]}",
	"{\"since\":\"2026-01-01T00:00:00Z\",\"state\":\"open\",\"mine\":\"true\"}",
	"{\"student_id\":1,\"path_id\":2,\"mentor_id\":3,\"projects\":[\"P1\",\"P2\"]}",
	"{\"receipt\":\"12345-67890-12345-67890-12345\",\"body\":\"more\"}",
	"{\"title\":\"Extra\",\"skills\":[{\"code\":\"X\",\"title\":\"Y\"}],"
	"\"interview\":true}",
	NULL,
};

static const char *const jcs_texts[] = {
	/* RFC 8785 section 3.2.2 and 3.2.3 */
	"{\"numbers\":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"
	"\"string\":\"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\","
	"\"literals\":[null,true,false]}",
	"{\"\\u20ac\":\"Euro Sign\",\"\\r\":\"Carriage Return\",\"\\ufb33\":"
	"\"Hebrew Letter Dalet With Dagesh\",\"1\":\"One\",\"\\ud83d\\ude00\":"
	"\"Emoji: Grinning Face\",\"\\u0080\":\"Control\",\"\\u00f6\":"
	"\"Latin Small Letter O With Diaeresis\"}",
	"[1e21,1e-7,-0.0,5e-324,1.7976931348623157e308,9007199254740992,"
	"-9007199254740992,0.1,100,123456789012345680000,\"\\u0000\\u001f\\u007f\"]",
	"{\"a\":{\"b\":[[],{}],\"\":\"\"},\"a\\u0000\":1}",
	NULL,
};

/* answers as PostgreSQL writes them: the version after nested ones */
static const char *const peek_texts[] = {
	"{\"id\": 7, \"attempts\": [{\"id\": 1, \"version\": 3}], \"credential\": "
	"{\"state\": \"pending\"}, \"version\": 12}",
	"{\"note\": \"\\\"version\\\": 9\", \"version\": -9223372036854775808}",
	"{\"version\": 1.5}",
	NULL,
};

static const char *const paths[] = {
	"/healthz", "/v1/me", "/v1/users/42/tokens", "/v1/jury-cases/9223372036854775807/dossier",
	"/v1/credentials/0f8fad5b-d9cb-469f-a165-70867728950e/status",
	"/v1/reports/follow-up/messages", "/.well-known/certflow/keys",
	"/x/1/0f8fad5b-d9cb-469f-a165-70867728950e/2", "/v1/users/042", "//v1/me/",
	"GET", "DELETE", NULL,
};

static const char *const configs[] = {
	"tls_cert = /etc/certflow/tls/server.pem\n"
	"tls_key = \"/etc/certflow/tls/server.key\"\n"
	"db_conninfo = \"host=/var/run/postgresql dbname=certflow\"\n",
	"# every kind of value\r\n"
	"tls_cert=a\ntls_key=b\ndb_conninfo=c\nlisten_port = 9443\n"
	"max_body_size = 8m\nreview_rate = .5\nagreement_floor = 1\n"
	"tls_verify_client = require\ntls_client_ca = ca.pem\nlog_level = debug\n"
	"signing_key_file = k\ncredential_issuer = https://x.example.org/a\n"
	"report_key_file = r\nreport_secret_file = s\n"
	"test_clock_enabled = yes\ntest_clock_offset_s = -86400\n",
	NULL,
};

static const char *const base64url_texts[] = {
	"", "AA", "AAE", "YWJj", "_-8", "Zm9vYmFy", NULL,
};

/* SIGNED with its proof wrapped in an array: a proof set, which certflow refuses. */
static void
put_proof_set(const char *name, const char *signed_text)
{
	json_t *doc = json_loads(signed_text, 0, NULL), *set;
	char *s;

	FUZZ_ASSERT(doc != NULL && (set = json_array()) != NULL);
	FUZZ_ASSERT(json_array_append(set, json_object_get(doc, "proof")) == 0);
	FUZZ_ASSERT(json_object_set_new(doc, "proof", set) == 0);
	put_str("fuzz_vc", name, s = json_dumps(doc, JSON_COMPACT));
	free(s);
	json_decref(doc);
}

static void
put_crypto(void)
{
	static const unsigned char zero[40];
	static const uint64_t revoked[] = { 0, 5, 131071 };
	struct sign_keyring sring = { NULL, 0 };
	struct seal_keyring kring = { NULL, 0 };
	const struct sign_key *cur;
	char line[4096], receipt[RECEIPT_TEXT_LEN + 1], token[TOKEN_TEXT_LEN + 1];
	char err[512], *s;
	unsigned char sig[SIGN_SIG_LEN];
	json_t *facts, *doc;

	FUZZ_ASSERT(sign_keyring_parse(FUZZ_SIGN_KEYS, "fuzz", &sring, err,
	    sizeof(err)));
	FUZZ_ASSERT(seal_keyring_parse(FUZZ_SEAL_KEYS, "fuzz", &kring, err,
	    sizeof(err)));
	cur = sign_current(&sring);

	/* multibase: a Multikey, a signature, leading zero bytes */
	put_str("fuzz_multibase", "multikey", s = multikey_ed25519_encode(cur->pub));
	free(s);
	FUZZ_ASSERT(sign_ed25519(cur, zero, sizeof(zero), sig));
	put_str("fuzz_multibase", "signature", s = multibase_base58btc_encode(sig,
	    sizeof(sig)));
	free(s);
	put_str("fuzz_multibase", "zeros", s = multibase_base58btc_encode(zero, 5));
	free(s);

	/* status lists: empty, and three revocations */
	put_str("fuzz_statuslist", "empty", s = statuslist_encode(STATUSLIST_MIN_BITS,
	    NULL, 0));
	free(s);
	put_str("fuzz_statuslist", "revoked", s = statuslist_encode(
	    STATUSLIST_MIN_BITS, revoked, 3));
	put_str("fuzz_statuslist", "bare", s + 1);
	free(s);

	/* receipts and tokens */
	FUZZ_ASSERT(receipt_generate(receipt));
	put_str("fuzz_receipt", "generated", receipt);
	put_str("fuzz_receipt", "typed", "12345 67890.12345\t67890-12345");
	FUZZ_ASSERT(token_generate(token));
	snprintf(line, sizeof(line), "Bearer %s", token);
	put_str("fuzz_token", "bearer", line);
	snprintf(line, sizeof(line), "bearer   %s==", token);
	put_str("fuzz_token", "padded", line);
	put_str("fuzz_token", "raw", token);

	/* sealed texts under both keys */
	put_str("fuzz_seal", "current", s = seal_encrypt(&kring, FUZZ_AAD,
	    (const unsigned char *)"the report body", 15));
	free(s);
	kring.n = 1;	/* k1 alone: a text sealed by the retired key */
	put_str("fuzz_seal", "retired", s = seal_encrypt(&kring, FUZZ_AAD, NULL, 0));
	free(s);
	kring.n = 2;

	/* key files: both kinds, a retired public key, comments and CRLF */
	put_str("fuzz_keyring", "sign", FUZZ_SIGN_KEYS);
	put_str("fuzz_keyring", "seal", FUZZ_SEAL_KEYS);
	hex_encode(sring.keys[0].pub, SIGN_PUB_LEN, line + 2048);
	snprintf(line, 2048, "# rotated\r\nold public %s\r\n\r\n"
	    "cur\t9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\r\n",
	    line + 2048);
	put_str("fuzz_keyring", "public", line);

	/* credentials: facts, a signed diploma, a signed status list, the keys */
	facts = json_pack("{s:s, s:s, s:s, s:{s:s}, s:{s:s, s:s}, "
	    "s:[{s:s, s:s}, {s:s, s:s}], s:[{s:s, s:s, s:s}], "
	    "s:{s:I, s:s}, s:I, s:I}",
	    "id", "0f8fad5b-d9cb-469f-a165-70867728950e", "kind", "diploma",
	    "issued_at", "2026-02-01T10:00:00Z", "student", "name", "Ada Lovelace",
	    "path", "code", "CS", "title", "Computer science",
	    "projects", "code", "P1", "title", "Shell", "code", "P2", "title", "Kernel",
	    "skills", "code", "S1", "title", "Pipes", "project", "P1",
	    "jury", "session_id", (json_int_t)3, "decided_at", "2026-01-30T16:00:00Z",
	    "status_list", (json_int_t)1, "status_index", (json_int_t)5);
	FUZZ_ASSERT(facts != NULL);
	put_str("fuzz_vc", "facts", s = json_dumps(facts, JSON_COMPACT));
	free(s);
	FUZZ_ASSERT((doc = vc_credential_document(FUZZ_ISSUER, facts, err,
	    sizeof(err))) != NULL);
	put_str("fuzz_vc", "unsigned", s = json_dumps(doc, JSON_COMPACT));
	free(s);
	put_str("fuzz_vc", "diploma", s = vc_sign(doc, FUZZ_ISSUER, cur,
	    FUZZ_CREATED, err, sizeof(err)));
	put_str("fuzz_jcs", "diploma", s);
	put_proof_set("proof-set", s);
	free(s);
	put_str("fuzz_vc", "array", "[]");
	json_decref(doc);
	json_decref(facts);
	FUZZ_ASSERT((doc = vc_status_list_document(FUZZ_ISSUER, 1, FUZZ_CREATED,
	    revoked, 3, err, sizeof(err))) != NULL);
	put_str("fuzz_vc", "status-list", s = vc_sign(doc, FUZZ_ISSUER, cur,
	    FUZZ_CREATED, err, sizeof(err)));
	free(s);
	json_decref(doc);
	FUZZ_ASSERT((doc = vc_keys_document(FUZZ_ISSUER, &sring)) != NULL);
	put_str("fuzz_vc", "keys", s = json_dumps(doc, JSON_COMPACT));
	free(s);
	json_decref(doc);

	sign_keyring_free(&sring);
	seal_keyring_free(&kring);
}

/* Copies the example configuration at PATH as a seed. */
static void
put_file(const char *target, const char *name, const char *path)
{
	char buf[65536];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	put(target, name, buf, n);
}

int
main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: seeds OUTDIR [EXAMPLE_CONF]\n");
		return 2;
	}
	outdir = argv[1];
	if (mkdir(outdir, 0755) == -1 && errno != EEXIST) {
		perror(outdir);
		return 1;
	}
	put_all("fuzz_jsonin", bodies);
	put_all("fuzz_jcs", jcs_texts);
	put_all("fuzz_jsonpeek", jcs_texts);
	put_all("fuzz_jsonpeek", peek_texts);
	put_all("fuzz_router", paths);
	put_all("fuzz_config", configs);
	put_all("fuzz_base64url", base64url_texts);
	if (argc == 3)
		put_file("fuzz_config", "example", argv[2]);
	put_crypto();
	return 0;
}

