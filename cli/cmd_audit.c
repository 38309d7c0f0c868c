/*
 * cmd_audit.c - "certflow audit verify": reads the audit chain from
 * PostgreSQL as raw columns (binary cursors, in seal order, a chunk at a
 * time, in one read-only snapshot), recomputes every link with
 * lib/auditchain.c, and checks each stored head and its Ed25519 signature
 * against the keys of signing_key_file or of a keys document. Never trusts
 * a hash that SQL computed, and stops at the first altered, inserted or
 * deleted row. Exit: 0 intact, 1 tampered, 2 usage, keys or database error.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <certflow/auditchain.h>
#include <certflow/config.h>
#include <certflow/multibase.h>
#include <certflow/sign.h>

#include "cli.h"

#define USAGE		"certflow [-c FILE] audit verify [--keys FILE]"
#define CHUNK		"1000"

enum { AUDIT_OK = 0, AUDIT_TAMPERED = 1, AUDIT_ERROR = 2 };

/* The columns of the rows cursor, in this order. */
enum { C_SEQ, C_HASH, C_ID, C_AT, C_ACTOR, C_ACTION, C_ETYPE, C_EID, C_DETAILS, C_RID, C_N };

#define ROWS_CURSOR "DECLARE audit_rows BINARY NO SCROLL CURSOR FOR " \
	"SELECT seal_seq, row_hash, id, at, actor_id, action, entity_type, entity_id, " \
	"details, request_id FROM audit_log WHERE seal_seq IS NOT NULL ORDER BY seal_seq"
#define HEADS_CURSOR "DECLARE audit_heads BINARY NO SCROLL CURSOR FOR " \
	"SELECT seq, hash, key_id, signature FROM audit_heads ORDER BY seq"

/* The two cursors, and the statement that reads the next chunk of each. */
enum cursor_id { CURSOR_ROWS, CURSOR_HEADS };
static const char *const cursor_fetch[] = {
	[CURSOR_ROWS] = "FETCH " CHUNK " FROM audit_rows",
	[CURSOR_HEADS] = "FETCH " CHUNK " FROM audit_heads",
};

struct vkey {
	char *id;
	unsigned char pub[SIGN_PUB_LEN];
};

struct vkeys {
	struct vkey *k;
	size_t n;
	const char *source;	/* for messages */
};

/* A binary cursor read a chunk at a time. */
struct cursor {
	PGconn *pg;
	enum cursor_id id;
	PGresult *res;
	int i, n;
	bool end;
};

struct head {
	int64_t seq;
	unsigned char hash[AUDITCHAIN_HASH_LEN];
	char *key_id;			/* NULL: unsigned */
	unsigned char sig[SIGN_SIG_LEN];
};

struct verify {
	const struct vkeys *keys;
	struct cursor heads;
	struct head head;		/* the next head not yet reached */
	bool have_head;
	unsigned char h[AUDITCHAIN_HASH_LEN];	/* the chain after the last good row */
	unsigned char h_prev[AUDITCHAIN_HASH_LEN];	/* ... and before it */
	int64_t last_seq, last_id;	/* the last good row (seq 0: none) */
	int64_t bad_seq, bad_id;	/* a row that does not match its seal (seq 0: none) */
	int64_t matched_head;		/* the last head the chain matched (0: none) */
	int64_t signed_head;		/* the last signed head (0: none) */
	char *signed_key;
	int64_t nheads;			/* heads seen */
	char problem[512];		/* the first tampering found */
	bool error;			/* could not check (a message was printed) */
};

static uint64_t
be64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* ---- keys ---- */

static void
keys_free(struct vkeys *keys)
{
	for (size_t i = 0; i < keys->n; i++)
		free(keys->k[i].id);
	free(keys->k);
	keys->k = NULL;
	keys->n = 0;
}

static bool
keys_add(struct vkeys *keys, const char *id, size_t id_len, const unsigned char pub[SIGN_PUB_LEN])
{
	struct vkey *k = realloc(keys->k, (keys->n + 1) * sizeof(*k));

	if (k == NULL)
		return false;
	keys->k = k;
	if ((k[keys->n].id = strndup(id, id_len)) == NULL)
		return false;
	memcpy(k[keys->n].pub, pub, SIGN_PUB_LEN);
	keys->n++;
	return true;
}

static const struct vkey *
keys_find(const struct vkeys *keys, const char *id)
{
	for (size_t i = 0; i < keys->n; i++)
		if (strcmp(keys->k[i].id, id) == 0)
			return &keys->k[i];
	return NULL;
}

/*
 * The keys of a keys document (GET /.well-known/certflow/keys): each
 * verificationMethod's id fragment and publicKeyMultibase. False, with a
 * message, when the file cannot be read or a method is malformed.
 */
static bool
keys_from_document(const char *path, struct vkeys *keys)
{
	json_error_t je;
	json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je), *methods, *m;
	size_t i;
	bool ok = false;

	if (doc == NULL) {
		fprintf(stderr, "certflow audit: %s: %s\n", path, je.text);
		return false;
	}
	methods = json_object_get(doc, "verificationMethod");
	if (!json_is_array(methods) || json_array_size(methods) == 0) {
		fprintf(stderr, "certflow audit: %s: no verificationMethod list\n", path);
		goto done;
	}
	json_array_foreach(methods, i, m) {
		const char *id = json_string_value(json_object_get(m, "id"));
		const char *mk = json_string_value(json_object_get(m, "publicKeyMultibase"));
		const char *frag = id != NULL ? strrchr(id, '#') : NULL;
		unsigned char pub[SIGN_PUB_LEN];

		if (frag == NULL || frag[1] == '\0' || mk == NULL ||
		    !multikey_ed25519_decode(mk, pub)) {
			fprintf(stderr, "certflow audit: %s: verificationMethod %zu is not an "
			    "Ed25519 Multikey with an id#KEY\n", path, i);
			goto done;
		}
		if (!keys_add(keys, frag + 1, strlen(frag + 1), pub)) {
			fprintf(stderr, "certflow audit: out of memory\n");
			goto done;
		}
	}
	ok = true;
done:
	json_decref(doc);
	return ok;
}

/* The keys of the configuration's signing_key_file; none when it is not set. */
static bool
keys_from_config(const char *config_path, struct vkeys *keys)
{
	struct config cfg = { 0 };
	struct sign_keyring ring = { NULL, 0 };
	char err[512];
	bool ok = false;

	if (config_path == NULL)
		return true;
	if (!config_load(config_path, &cfg, err, sizeof(err))) {
		fprintf(stderr, "certflow audit: %s\n", err);
		return false;
	}
	if (cfg.signing_key_file[0] == '\0') {
		ok = true;
		goto done;
	}
	if (!sign_keyring_load(cfg.signing_key_file, &ring, err, sizeof(err))) {
		fprintf(stderr, "certflow audit: %s\n", err);
		goto done;
	}
	ok = true;
	for (size_t i = 0; ok && i < ring.n; i++)
		ok = keys_add(keys, ring.keys[i].id, strlen(ring.keys[i].id), ring.keys[i].pub);
	if (!ok)
		fprintf(stderr, "certflow audit: out of memory\n");
	sign_keyring_free(&ring);
done:
	config_free(&cfg);
	return ok;
}

/* ---- reading ---- */

static bool
exec_command(PGconn *pg, const char *sql)
{
	PGresult *res = PQexec(pg, sql);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		fprintf(stderr, "certflow audit: %s", PQresultErrorMessage(res));
	PQclear(res);
	return ok;
}

/* Moves C to its next row (fetching a chunk when needed): 1, 0 at the end, -1 on error. */
static int
cursor_next(struct cursor *c)
{
	if (c->res != NULL && ++c->i < c->n)
		return 1;
	if (c->end)
		return 0;
	PQclear(c->res);
	c->res = PQexec(c->pg, cursor_fetch[c->id]);
	if (PQresultStatus(c->res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "certflow audit: %s", PQresultErrorMessage(c->res));
		return -1;
	}
	c->i = 0;
	c->n = PQntuples(c->res);
	c->end = c->n < atoi(CHUNK);
	return c->n > 0 ? 1 : 0;
}

static void
cursor_close(struct cursor *c)
{
	PQclear(c->res);
	c->res = NULL;
}

/* The 8-byte value of column COL of the current row; false unless it has 8 bytes. */
static bool
get_i64(const struct cursor *c, int col, int64_t *v)
{
	if (PQgetisnull(c->res, c->i, col) || PQgetlength(c->res, c->i, col) != 8)
		return false;
	*v = (int64_t)be64((const unsigned char *)PQgetvalue(c->res, c->i, col));
	return true;
}

static bool
get_opt_i64(const struct cursor *c, int col, bool *present, int64_t *v)
{
	*present = !PQgetisnull(c->res, c->i, col);
	*v = 0;
	return !*present || get_i64(c, col, v);
}

static void
get_text(const struct cursor *c, int col, struct auditchain_text *t)
{
	t->s = PQgetisnull(c->res, c->i, col) ? NULL : PQgetvalue(c->res, c->i, col);
	t->len = t->s == NULL ? 0 : (size_t)PQgetlength(c->res, c->i, col);
}

static bool
get_bytes(const struct cursor *c, int col, unsigned char *out, size_t n)
{
	if (PQgetisnull(c->res, c->i, col) || PQgetlength(c->res, c->i, col) != (int)n)
		return false;
	memcpy(out, PQgetvalue(c->res, c->i, col), n);
	return true;
}

/*
 * The current row of C: its seq, id, stored hash and canonical bytes
 * (*CANON malloc'ed). False, with a message, when a column is not what
 * audit_log holds.
 */
static bool
read_row(const struct cursor *c, int64_t *seq, int64_t *id,
    unsigned char stored[AUDITCHAIN_HASH_LEN], unsigned char **canon, size_t *canon_len)
{
	struct auditchain_row row = { 0 };
	const char *details;

	*canon = NULL;
	if (PQnfields(c->res) != C_N || !get_i64(c, C_SEQ, seq) || !get_i64(c, C_ID, id) ||
	    !get_bytes(c, C_HASH, stored, AUDITCHAIN_HASH_LEN) || !get_i64(c, C_AT, &row.at) ||
	    !get_opt_i64(c, C_ACTOR, &row.has_actor, &row.actor_id) ||
	    !get_opt_i64(c, C_EID, &row.has_entity, &row.entity_id) ||
	    PQgetisnull(c->res, c->i, C_DETAILS) || PQgetlength(c->res, c->i, C_DETAILS) < 1) {
		fprintf(stderr, "certflow audit: an audit_log row has unexpected columns\n");
		return false;
	}
	row.id = *id;
	get_text(c, C_ACTION, &row.action);
	get_text(c, C_ETYPE, &row.entity_type);
	get_text(c, C_RID, &row.request_id);
	/* jsonb's binary form: a version byte (1), then its text form */
	details = PQgetvalue(c->res, c->i, C_DETAILS);
	if (details[0] != 1) {
		fprintf(stderr, "certflow audit: row id %" PRId64 ": unknown jsonb format %d\n",
		    *id, details[0]);
		return false;
	}
	row.details.s = details + 1;
	row.details.len = (size_t)PQgetlength(c->res, c->i, C_DETAILS) - 1;
	if (!auditchain_row_bytes(&row, canon, canon_len)) {
		fprintf(stderr, "certflow audit: out of memory\n");
		return false;
	}
	return true;
}

/* Reads the next head into V->head; false after a message on error. */
static bool
next_head(struct verify *v)
{
	struct cursor *c = &v->heads;
	struct head *h = &v->head;
	int r;

	free(h->key_id);
	h->key_id = NULL;
	v->have_head = false;
	if ((r = cursor_next(c)) <= 0)
		return r == 0;
	if (PQnfields(c->res) != 4 || !get_i64(c, 0, &h->seq) ||
	    !get_bytes(c, 1, h->hash, AUDITCHAIN_HASH_LEN) ||
	    PQgetisnull(c->res, c->i, 2) != PQgetisnull(c->res, c->i, 3) ||
	    (!PQgetisnull(c->res, c->i, 3) && !get_bytes(c, 3, h->sig, SIGN_SIG_LEN))) {
		fprintf(stderr, "certflow audit: an audit_heads row has unexpected columns\n");
		return false;
	}
	if (!PQgetisnull(c->res, c->i, 2) &&
	    (h->key_id = strndup(PQgetvalue(c->res, c->i, 2),
	    (size_t)PQgetlength(c->res, c->i, 2))) == NULL) {
		fprintf(stderr, "certflow audit: out of memory\n");
		return false;
	}
	/* printed later, and the database is not trusted: no control characters */
	for (char *p = h->key_id; p != NULL && *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	v->have_head = true;
	v->nheads++;
	return true;
}

/* ---- checking ---- */

static void
found(struct verify *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Records the first tampering found. */
static void
found(struct verify *v, const char *fmt, ...)
{
	va_list ap;

	if (v->problem[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(v->problem, sizeof(v->problem), fmt, ap);
	va_end(ap);
}

/* Checks head V->head, which the chain has reached at its seq: its signature, then its hash. */
static void
check_head(struct verify *v)
{
	const struct head *h = &v->head;
	unsigned char msg[AUDITCHAIN_HEAD_MSG_LEN];
	const struct vkey *k;

	if (h->key_id == NULL) {
		if (v->signed_head > 0 && v->keys->n > 0)
			found(v, "head seq %" PRId64 " is unsigned although head seq %" PRId64
			    " before it is signed: its signature was stripped, or certflowd "
			    "lost its signing_key_file", h->seq, v->signed_head);
	} else if (v->keys->n == 0) {
		fprintf(stderr, "certflow audit: head seq %" PRId64 " is signed by %s, but no "
		    "keys were given to check it: use --keys FILE, or -c with the "
		    "signing_key_file\n", h->seq, h->key_id);
		v->error = true;
		return;
	} else if ((k = keys_find(v->keys, h->key_id)) == NULL) {
		found(v, "head seq %" PRId64 " claims key %s, which is not among the keys of %s",
		    h->seq, h->key_id, v->keys->source);
	} else {
		auditchain_head_message(h->seq, h->hash, msg);
		if (!sign_verify_ed25519(k->pub, msg, sizeof(msg), h->sig))
			found(v, "the signature of head seq %" PRId64 " by %s does not verify: "
			    "the head was forged or signed by another key", h->seq, h->key_id);
	}
	if (memcmp(h->hash, v->h, AUDITCHAIN_HASH_LEN) != 0)
		found(v, "the rows between seq %" PRId64 " and %" PRId64 " were rewritten: "
		    "their chain no longer matches head seq %" PRId64 " (%s%s)",
		    v->matched_head + 1, h->seq, h->seq, h->key_id != NULL ? "signed by " : "unsigned",
		    h->key_id != NULL ? h->key_id : "");
	if (v->problem[0] != '\0')
		return;
	v->matched_head = h->seq;
	if (h->key_id != NULL) {
		v->signed_head = h->seq;
		free(v->signed_key);
		if ((v->signed_key = strdup(h->key_id)) == NULL) {
			fprintf(stderr, "certflow audit: out of memory\n");
			v->error = true;
		}
	}
}

/* Checks the heads up to SEQ, the chain's last good row. */
static bool
heads_up_to(struct verify *v, int64_t seq)
{
	while (v->have_head && v->head.seq <= seq && v->problem[0] == '\0' && !v->error) {
		if (v->head.seq == seq)
			check_head(v);
		if (!next_head(v))
			return false;
	}
	return !v->error;
}

/*
 * One sealed row, in seal order. A row that does not match its seal is
 * judged with the row after it: if that one chains from the row before,
 * the bad row was inserted; otherwise it was altered.
 */
static bool
check_row(struct verify *v, int64_t seq, int64_t id, const unsigned char stored[AUDITCHAIN_HASH_LEN],
    const unsigned char *canon, size_t canon_len)
{
	unsigned char got[AUDITCHAIN_HASH_LEN];

	if (v->bad_seq != 0) {
		if (!auditchain_link(v->h, canon, canon_len, got))
			goto hash_failed;
		if (memcmp(got, stored, sizeof(got)) == 0)
			found(v, "row id %" PRId64 " (seq %" PRId64 ") was inserted: the chain "
			    "goes from the row before it to the row after it", v->bad_id, v->bad_seq);
		else
			found(v, "row id %" PRId64 " (seq %" PRId64 ") was altered: it no longer "
			    "matches its seal", v->bad_id, v->bad_seq);
		return true;
	}
	if (seq != v->last_seq + 1) {
		found(v, "row at seq %" PRId64 " was deleted", v->last_seq + 1);
		return true;
	}
	if (!auditchain_link(v->h, canon, canon_len, got))
		goto hash_failed;
	if (memcmp(got, stored, sizeof(got)) != 0) {
		/* chains from the row before the last one: the last one was inserted */
		if (v->last_seq > 0) {
			if (!auditchain_link(v->h_prev, canon, canon_len, got))
				goto hash_failed;
			if (memcmp(got, stored, sizeof(got)) == 0) {
				found(v, "row id %" PRId64 " (seq %" PRId64 ") was inserted: the "
				    "chain goes from the row before it to the row after it",
				    v->last_id, v->last_seq);
				return true;
			}
		}
		v->bad_seq = seq;
		v->bad_id = id;
		return true;
	}
	memcpy(v->h_prev, v->h, sizeof(v->h));
	memcpy(v->h, got, sizeof(v->h));
	v->last_seq = seq;
	v->last_id = id;
	return heads_up_to(v, seq);
hash_failed:
	fprintf(stderr, "certflow audit: SHA-256 failed\n");
	return false;
}

/* Walks the chain in V's transaction; false on a reading error (after a message). */
static bool
walk(PGconn *pg, struct verify *v, int64_t *sealed)
{
	struct cursor rows = { pg, CURSOR_ROWS, NULL, 0, 0, false };
	unsigned char stored[AUDITCHAIN_HASH_LEN], *canon = NULL;
	size_t canon_len = 0;
	int64_t seq, id;
	bool ok = false;
	int r;

	if (!exec_command(pg, ROWS_CURSOR) || !exec_command(pg, HEADS_CURSOR) || !next_head(v))
		goto done;
	*sealed = 0;
	while (v->problem[0] == '\0' && (r = cursor_next(&rows)) != 0) {
		if (r < 0 || !read_row(&rows, &seq, &id, stored, &canon, &canon_len) ||
		    !check_row(v, seq, id, stored, canon, canon_len))
			goto done;
		free(canon);
		canon = NULL;
		(*sealed)++;
	}
	if (v->bad_seq != 0)
		found(v, "row id %" PRId64 " (seq %" PRId64 ") was altered: it no longer "
		    "matches its seal", v->bad_id, v->bad_seq);
	if (v->have_head && v->problem[0] == '\0')
		found(v, "row at seq %" PRId64 " was deleted: head seq %" PRId64 " covers it",
		    v->last_seq + 1, v->head.seq);
	ok = true;
done:
	free(canon);
	cursor_close(&rows);
	return ok;
}

static int64_t
count_unsealed(PGconn *pg)
{
	PGresult *res = PQexec(pg, "SELECT count(*) FROM audit_log WHERE seal_seq IS NULL");
	int64_t n = -1;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	else
		fprintf(stderr, "certflow audit: %s", PQresultErrorMessage(res));
	PQclear(res);
	return n;
}

/* Prints the verdict of a chain walked without tampering. */
static int
report_intact(const struct verify *v, int64_t sealed, int64_t unsealed)
{
	printf("audit chain: %" PRId64 " rows sealed, %" PRId64 " unsealed yet", sealed, unsealed);
	if (sealed == 0) {
		printf(": OK (nothing sealed yet)\n");
		return AUDIT_OK;
	}
	if (v->signed_head > 0) {
		printf(", head seq %" PRId64 " signed by %s: OK", v->signed_head, v->signed_key);
		if (v->last_seq > v->signed_head)
			printf(" (%" PRId64 " rows sealed after it, not signed yet)",
			    v->last_seq - v->signed_head);
		putchar('\n');
		return AUDIT_OK;
	}
	if (v->nheads > 0)
		printf(", head seq %" PRId64 " NOT SIGNED (certflowd has no signing_key_file): "
		    "the chain is consistent, but nothing protects it from a rewrite\n",
		    v->matched_head);
	else
		printf(", no head stored yet: the chain is consistent, but not signed\n");
	return AUDIT_OK;
}

static int
verify_chain(PGconn *pg, const struct vkeys *keys)
{
	struct verify v = { .keys = keys, .heads = { pg, CURSOR_HEADS, NULL, 0, 0, false } };
	int64_t sealed = 0, unsealed;
	int rc = AUDIT_ERROR;

	memcpy(v.h, auditchain_genesis, sizeof(v.h));
	memcpy(v.h_prev, auditchain_genesis, sizeof(v.h_prev));
	if (PQsetClientEncoding(pg, "UTF8") != 0) {
		fprintf(stderr, "certflow audit: cannot use UTF-8: %s", PQerrorMessage(pg));
		return AUDIT_ERROR;
	}
	if (!exec_command(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
		return AUDIT_ERROR;
	if ((unsealed = count_unsealed(pg)) < 0 || !walk(pg, &v, &sealed) || v.error)
		goto done;
	if (v.nheads > 0 && v.signed_head == 0 && keys->n > 0)
		found(&v, "no head is signed although signing keys are configured: their "
		    "signatures were stripped, or certflowd runs without its signing_key_file");
	if (v.problem[0] != '\0') {
		printf("audit chain: TAMPERED: %s\n", v.problem);
		rc = AUDIT_TAMPERED;
	} else {
		rc = report_intact(&v, sealed, unsealed);
	}
done:
	exec_command(pg, "ROLLBACK");
	cursor_close(&v.heads);
	free(v.head.key_id);
	free(v.signed_key);
	return rc;
}

int
cmd_audit(int argc, char **argv, const char *config_path)
{
	struct vkeys keys = { NULL, 0, NULL };
	const char *keys_file = NULL;
	PGconn *pg = NULL;
	int rc = AUDIT_ERROR;

	if (argc == 3 && strcmp(argv[1], "--keys") == 0)
		keys_file = argv[2];
	if (argc < 1 || strcmp(argv[0], "verify") != 0 || (argc != 1 && keys_file == NULL)) {
		fprintf(stderr, "usage: %s\n", USAGE);
		return AUDIT_ERROR;
	}
	if (keys_file != NULL) {
		keys.source = keys_file;
		if (!keys_from_document(keys_file, &keys))
			goto done;
	} else {
		keys.source = config_path;
		if (!keys_from_config(config_path, &keys))
			goto done;
	}
	if ((pg = cli_connect(config_path)) == NULL)
		goto done;
	rc = verify_chain(pg, &keys);
done:
	PQfinish(pg);
	keys_free(&keys);
	return rc;
}
