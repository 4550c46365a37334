/*
 * age.c: age recipients, identities and identity files.
 * See age.h for the contract; headers are in age_header.c, the payload and
 * armor in age_stream.c and age_armor.c.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "age.h"
#include "age_int.h"
#include "bech32.h"
#include "buf.h"
#include "err.h"
#include "file.h"

#define RECIPIENT_HRP "age"
#define IDENTITY_HRP "AGE-SECRET-KEY-"
/* Generous bound on a key string: both encodings are under 80 chars. */
#define KEY_STR_MAX 128

static int
pass_copy(const char *pass, size_t len, char **out)
{
	char *p;

	*out = NULL;
	if (pass == NULL && len != 0)
		return ERR_INVALID;
	if ((p = sodium_malloc(len + 1)) == NULL)
		return ERR_NOMEM;
	if (len > 0)
		memcpy(p, pass, len);
	p[len] = '\0';
	*out = p;
	return 0;
}

int
age_recipient_parse(const char *s, struct age_recipient **out)
{
	struct age_recipient *rc = NULL;
	char hrp[sizeof(RECIPIENT_HRP)];
	uint8_t pk[AGE_X25519_LEN];
	size_t len, n = 0;
	int r = ERR_INTERNAL;

	if (out == NULL || s == NULL)
		return ERR_INVALID;
	*out = NULL;
	if (sodium_init() < 0)
		return ERR_INTERNAL;
	if ((len = strnlen(s, KEY_STR_MAX + 1)) > KEY_STR_MAX) {
		r = ERR_KEY;
		goto out;
	}
	/* Any decoding problem (checksum, case, HRP, size) is a bad key. */
	if (bech32_decode(s, len, hrp, sizeof(hrp), pk, sizeof(pk), &n) != 0 ||
	    strcmp(hrp, RECIPIENT_HRP) != 0 || n != sizeof(pk)) {
		r = ERR_KEY;
		goto out;
	}
	if ((rc = calloc(1, sizeof(*rc))) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	rc->kind = AGE_KIND_X25519;
	memcpy(rc->pk, pk, sizeof(pk));
	*out = rc;
	rc = NULL;
	r = 0;
 out:
	age_recipient_free(rc);
	return r;
}

int
age_recipient_passphrase(const char *pass, size_t len, int log_n,
    struct age_recipient **out)
{
	struct age_recipient *rc = NULL;
	int r = ERR_INTERNAL;

	if (out == NULL)
		return ERR_INVALID;
	*out = NULL;
	if (log_n == 0)
		log_n = AGE_SCRYPT_LOG_N_DEFAULT;
	if (log_n < 1 || log_n > AGE_SCRYPT_LOG_N_LIMIT || len == 0)
		return ERR_INVALID;
	if (sodium_init() < 0)
		return ERR_INTERNAL;
	if ((rc = calloc(1, sizeof(*rc))) == NULL)
		return ERR_NOMEM;
	rc->kind = AGE_KIND_SCRYPT;
	rc->log_n = log_n;
	if ((r = pass_copy(pass, len, &rc->pass)) != 0)
		goto out;
	rc->pass_len = len;
	*out = rc;
	rc = NULL;
	r = 0;
 out:
	age_recipient_free(rc);
	return r;
}

void
age_recipient_free(struct age_recipient *rc)
{
	if (rc == NULL)
		return;
	if (rc->pass != NULL)
		sodium_free(rc->pass);	/* wipes */
	free(rc);
}

static struct age_identity *
identity_alloc(int kind)
{
	struct age_identity *id;

	if (sodium_init() < 0)
		return NULL;
	if ((id = sodium_malloc(sizeof(*id))) == NULL)
		return NULL;
	memset(id, 0, sizeof(*id));
	id->kind = kind;
	return id;
}

static int
identity_from_sk(const uint8_t sk[AGE_X25519_LEN], struct age_identity **out)
{
	struct age_identity *id;

	*out = NULL;
	if ((id = identity_alloc(AGE_KIND_X25519)) == NULL)
		return ERR_NOMEM;
	memcpy(id->sk, sk, AGE_X25519_LEN);
	if (crypto_scalarmult_base(id->pk, id->sk) != 0) {
		age_identity_free(id);
		return ERR_KEY;
	}
	*out = id;
	return 0;
}

int
age_identity_parse(const char *s, struct age_identity **out)
{
	char hrp[sizeof(IDENTITY_HRP)];
	uint8_t *sk = NULL;
	size_t len, n = 0;
	int r = ERR_INTERNAL;

	if (out == NULL || s == NULL)
		return ERR_INVALID;
	*out = NULL;
	if (sodium_init() < 0)
		return ERR_INTERNAL;
	if ((len = strnlen(s, KEY_STR_MAX + 1)) > KEY_STR_MAX)
		return ERR_KEY;
	/* One spare byte so an overlong key is a length error, not ERR_LIMIT. */
	if ((sk = sodium_malloc(AGE_X25519_LEN + 8)) == NULL)
		return ERR_NOMEM;
	if (bech32_decode(s, len, hrp, sizeof(hrp), sk, AGE_X25519_LEN + 8,
	    &n) != 0 || strcmp(hrp, IDENTITY_HRP) != 0 ||
	    n != AGE_X25519_LEN) {
		r = ERR_KEY;
		goto out;
	}
	if ((r = identity_from_sk(sk, out)) != 0)
		goto out;
	r = 0;
 out:
	sodium_free(sk);
	return r;
}

int
age_identity_passphrase(const char *pass, size_t len, int max_log_n,
    struct age_identity **out)
{
	struct age_identity *id = NULL;
	int r = ERR_INTERNAL;

	if (out == NULL)
		return ERR_INVALID;
	*out = NULL;
	if (max_log_n == 0)
		max_log_n = AGE_SCRYPT_MAX_LOG_N_DEFAULT;
	if (max_log_n < 1 || max_log_n > AGE_SCRYPT_LOG_N_LIMIT || len == 0)
		return ERR_INVALID;
	if ((id = identity_alloc(AGE_KIND_SCRYPT)) == NULL)
		return ERR_NOMEM;
	id->max_log_n = max_log_n;
	if ((r = pass_copy(pass, len, &id->pass)) != 0)
		goto out;
	id->pass_len = len;
	*out = id;
	id = NULL;
	r = 0;
 out:
	age_identity_free(id);
	return r;
}

int
age_identity_generate(struct age_identity **out)
{
	struct age_identity *id;

	if (out == NULL)
		return ERR_INVALID;
	*out = NULL;
	if ((id = identity_alloc(AGE_KIND_X25519)) == NULL)
		return ERR_NOMEM;
	randombytes_buf(id->sk, sizeof(id->sk));
	if (crypto_scalarmult_base(id->pk, id->sk) != 0) {
		age_identity_free(id);
		return ERR_INTERNAL;
	}
	*out = id;
	return 0;
}

/* Bech32 text of an X25519 key: the secret half upper case in
 * sodium_malloc'd memory, the public half lower case in malloc'd memory. */
static int
encode_x25519(const struct age_identity *id, int secret, char **out)
{
	const char *hrp = secret ? IDENTITY_HRP : RECIPIENT_HRP;
	size_t cap = bech32_encoded_len(strlen(hrp), AGE_X25519_LEN) + 1;
	char *s;
	int r;

	if (out == NULL)
		return ERR_INVALID;
	*out = NULL;
	if (id == NULL || id->kind != AGE_KIND_X25519)
		return ERR_INVALID;
	if ((s = secret ? sodium_malloc(cap) : malloc(cap)) == NULL)
		return ERR_NOMEM;
	if ((r = bech32_encode(s, cap, hrp, secret ? id->sk : id->pk,
	    AGE_X25519_LEN, secret)) != 0) {
		if (secret)
			sodium_free(s);
		else
			free(s);
		return r;
	}
	*out = s;
	return 0;
}

int
age_identity_encode(const struct age_identity *id, char **secret_out)
{
	return encode_x25519(id, 1, secret_out);
}

int
age_identity_recipient(const struct age_identity *id, char **recipient_out)
{
	return encode_x25519(id, 0, recipient_out);
}

void
age_identity_free(struct age_identity *id)
{
	if (id == NULL)
		return;
	if (id->pass != NULL)
		sodium_free(id->pass);
	sodium_free(id);	/* wipes the secret key */
}

void
age_identities_free(struct age_identity **ids, size_t n)
{
	size_t i;

	if (ids == NULL)
		return;
	for (i = 0; i < n; i++)
		age_identity_free(ids[i]);
	free(ids);
}

int
age_identities_load(const char *path, struct age_identity ***ids, size_t *n)
{
	struct age_identity **v = NULL;
	struct buf *b = NULL;
	const uint8_t *line;
	char *tmp = NULL;
	size_t len, nv = 0;
	int r = ERR_INTERNAL;

	if (ids == NULL || n == NULL || path == NULL)
		return ERR_INVALID;
	*ids = NULL;
	*n = 0;
	if (sodium_init() < 0)
		return ERR_INTERNAL;
	if ((r = file_read_small(AT_FDCWD, path, AGE_IDENTITY_FILE_MAX, 1,
	    &b)) != 0)
		goto out;
	if ((v = calloc(AGE_MAX_IDENTITIES, sizeof(*v))) == NULL ||
	    (tmp = sodium_malloc(KEY_STR_MAX + 1)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	while (buf_len(b) > 0) {
		r = buf_get_line(b, &line, &len, AGE_IDENTITY_FILE_MAX);
		if (r == ERR_TRUNCATED) {
			/* Last line without LF. */
			len = buf_len(b);
			if ((r = buf_get_ptr(b, len, &line)) != 0)
				goto out;
		} else if (r != 0)
			goto out;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len == 0 || line[0] == '#')
			continue;
		if (len > KEY_STR_MAX || memchr(line, '\0', len) != NULL) {
			r = ERR_KEY;
			goto out;
		}
		if (nv == AGE_MAX_IDENTITIES) {
			r = ERR_LIMIT;
			goto out;
		}
		memcpy(tmp, line, len);
		tmp[len] = '\0';
		r = age_identity_parse(tmp, &v[nv]);
		sodium_memzero(tmp, KEY_STR_MAX + 1);
		if (r != 0)
			goto out;
		nv++;
	}
	if (nv == 0) {
		r = ERR_KEY;
		goto out;
	}
	*ids = v;
	*n = nv;
	v = NULL;
	nv = 0;
	r = 0;
 out:
	if (tmp != NULL)
		sodium_free(tmp);
	age_identities_free(v, nv);
	buf_free(b);
	return r;
}

int
age_file_key_generate(uint8_t key[AGE_FILE_KEY_LEN])
{
	if (key == NULL)
		return ERR_INVALID;
	if (sodium_init() < 0)
		return ERR_INTERNAL;
	randombytes_buf(key, AGE_FILE_KEY_LEN);
	return 0;
}
