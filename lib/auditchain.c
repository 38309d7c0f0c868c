/*
 * auditchain.c - the audit chain's canonical row bytes, SHA-256 links and
 * head messages (auditchain.h defines the format). Must stay byte for byte
 * what api.audit_row_bytes computes in sql/0007_audit_chain.sql: a change
 * here is a new format, and every sealed row would stop verifying.
 */
#include "certflow/auditchain.h"
#include "certflow/keyfile.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define INT_FIELD_LEN	(1 + 4 + 8)	/* tag, length, value */

const unsigned char auditchain_genesis[AUDITCHAIN_HASH_LEN];

static unsigned char *
put_be(unsigned char *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--) {
		p[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
	return p + bytes;
}

static unsigned char *
put_int(unsigned char *p, bool present, int64_t v)
{
	if (!present) {
		*p = 0x00;
		return p + 1;
	}
	*p++ = 0x01;
	p = put_be(p, 8, 4);
	return put_be(p, (uint64_t)v, 8);
}

static unsigned char *
put_text(unsigned char *p, const struct auditchain_text *t)
{
	if (t->s == NULL) {
		*p = 0x00;
		return p + 1;
	}
	*p++ = 0x01;
	p = put_be(p, t->len, 4);
	if (t->len > 0)
		memcpy(p, t->s, t->len);
	return p + t->len;
}

/* Adds the encoded size of T to *TOTAL; false when T cannot be encoded. */
static bool
text_size(const struct auditchain_text *t, size_t *total)
{
	if (t->s == NULL) {
		*total += 1;
		return true;
	}
	if (t->len > UINT32_MAX || t->len > SIZE_MAX - *total - 5)
		return false;
	*total += 5 + t->len;
	return true;
}

bool
auditchain_row_bytes(const struct auditchain_row *row, unsigned char **out, size_t *len)
{
	const struct auditchain_text *texts[] = { &row->action, &row->entity_type,
	    &row->details, &row->request_id };
	size_t total = 4 * INT_FIELD_LEN;
	unsigned char *buf, *p;

	*out = NULL;
	*len = 0;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (!text_size(texts[i], &total))
			return false;
	if ((buf = malloc(total)) == NULL)
		return false;
	p = put_int(buf, true, row->id);
	p = put_int(p, true, row->at);
	p = put_int(p, row->has_actor, row->actor_id);
	p = put_text(p, &row->action);
	p = put_text(p, &row->entity_type);
	p = put_int(p, row->has_entity, row->entity_id);
	p = put_text(p, &row->details);
	p = put_text(p, &row->request_id);
	*out = buf;
	*len = (size_t)(p - buf);
	return true;
}

bool
auditchain_link(const unsigned char prev[AUDITCHAIN_HASH_LEN], const unsigned char *row,
    size_t n, unsigned char out[AUDITCHAIN_HASH_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int mdlen = 0;
	bool ok;

	ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, prev, AUDITCHAIN_HASH_LEN) == 1 &&
	    (n == 0 || EVP_DigestUpdate(ctx, row, n) == 1) &&
	    EVP_DigestFinal_ex(ctx, out, &mdlen) == 1 && mdlen == AUDITCHAIN_HASH_LEN;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		memset(out, 0, AUDITCHAIN_HASH_LEN);
	return ok;
}

void
auditchain_head_message(int64_t seq, const unsigned char hash[AUDITCHAIN_HASH_LEN],
    unsigned char out[AUDITCHAIN_HEAD_MSG_LEN])
{
	const size_t tag = sizeof(AUDITCHAIN_HEAD_TAG) - 1;

	memcpy(out, AUDITCHAIN_HEAD_TAG, tag);
	put_be(out + tag, (uint64_t)seq, 8);
	memcpy(out + tag + 8, hash, AUDITCHAIN_HASH_LEN);
}

bool
auditchain_hex_decode(const char *hex, unsigned char *out, size_t n)
{
	if (hex == NULL || strlen(hex) != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = keyfile_hex_value(hex[2 * i]), lo = keyfile_hex_value(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}
