/*
 * minisig.c: minisign-compatible keys and signatures (see minisig.h for
 * the byte layouts).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "b2b.h"
#include "buf.h"
#include "err.h"
#include "file.h"
#include "minisig.h"

#define PREFIX_UNTRUSTED	"untrusted comment: "
#define PREFIX_TRUSTED		"trusted comment: "
#define ALG_ED			"Ed"	/* key algorithm; legacy signatures */
#define ALG_ED_PREHASHED	"ED"
#define KDF_SCRYPT		"Sc"
#define CHK_BLAKE2B		"B2"

#define SIGALG_LEN	2
#define SALT_LEN	crypto_pwhash_scryptsalsa208sha256_SALTBYTES
#define PK_LEN		crypto_sign_PUBLICKEYBYTES
#define SK_LEN		crypto_sign_SECRETKEYBYTES
#define SIG_LEN		crypto_sign_BYTES
#define CHK_LEN		32	/* BLAKE2b-256 */
#define KEYNUM_SK_LEN	(MINISIG_KEYID_LEN + SK_LEN + CHK_LEN)

#define PK_BIN_LEN	(SIGALG_LEN + MINISIG_KEYID_LEN + PK_LEN)
#define SK_BIN_LEN	(3 * SIGALG_LEN + SALT_LEN + 8 + 8 + KEYNUM_SK_LEN)
#define SIG_BIN_LEN	(SIGALG_LEN + MINISIG_KEYID_LEN + SIG_LEN)

#define B64_LEN(n)	(sodium_base64_ENCODED_LEN((n), \
			    sodium_base64_VARIANT_ORIGINAL) - 1)

#define KEYFILE_MAX	4096
#define DEFAULT_SIG_COMMENT	"signature from tenant-export secret key"

struct minisig_pubkey {
	uint8_t keyid[MINISIG_KEYID_LEN];
	uint8_t pk[PK_LEN];
};

/* Allocated with sodium_malloc as a whole: guarded and wiped on free. */
struct minisig_seckey {
	uint8_t keyid[MINISIG_KEYID_LEN];
	uint8_t sk[SK_LEN];
	uint64_t opslimit;
	uint64_t memlimit;
	char *pass;		/* sodium_malloc'd, or NULL: unencrypted */
	size_t passlen;
};

struct minisig_hash {
	struct b2b st;			/* MINISIG_PREHASH_B2B */
	crypto_generichash_state ss;	/* MINISIG_PREHASH_SODIUM */
	int impl;
	int done;
};

/* Scratch space for decoding or encoding a secret key, in one guarded
 * allocation so every intermediate is wiped by a single sodium_free. */
struct sk_scratch {
	uint8_t bin[SK_BIN_LEN];
	uint8_t keynum_sk[KEYNUM_SK_LEN];
	uint8_t stream[KEYNUM_SK_LEN];
	uint8_t chk[CHK_LEN];		/* computed */
	uint8_t stored_chk[CHK_LEN];	/* read from the file */
	uint8_t salt[SALT_LEN];
	uint8_t seed[crypto_sign_SEEDBYTES];
	uint8_t pk[PK_LEN];
	uint8_t sk[SK_LEN];
	char b64[B64_LEN(SK_BIN_LEN) + 1];
};

/* Consumes the next line. Unlike buf_get_line, a final line without its
 * LF is accepted: editors and `minisign -P` strings often drop it. */
static int
line_next(struct buf *b, const uint8_t **line, size_t *len, size_t max)
{
	int r;

	r = buf_get_line(b, line, len, max);
	if (r != ERR_TRUNCATED || buf_len(b) == 0)
		return r;
	*len = buf_len(b);
	return buf_get_ptr(b, *len, line);
}

/* Consumes prefix if the unread bytes start with it; returns 1 if so. */
static int
eat_prefix(struct buf *b, const char *prefix)
{
	char tmp[32];
	size_t n = strlen(prefix);

	if (n > sizeof(tmp) || buf_peek(b, 0, tmp, n) != 0 ||
	    memcmp(tmp, prefix, n) != 0)
		return 0;
	return buf_consume(b, n) == 0;
}

/* Decodes a base64 line that must be exactly the encoding of outlen
 * bytes: canonical, padded, nothing before or after. */
static int
b64_decode_exact(const uint8_t *s, size_t slen, uint8_t *out, size_t outlen)
{
	const char *end = NULL;
	size_t n = 0;

	if (slen != B64_LEN(outlen))
		return ERR_FORMAT;
	if (sodium_base642bin(out, outlen, (const char *)s, slen, NULL, &n,
	    &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    n != outlen || end != (const char *)s + slen)
		return ERR_FORMAT;
	return 0;
}

/* Appends base64(p[0..n)) to out; the temporary copy is wiped. */
static int
b64_put(struct buf *out, const uint8_t *p, size_t n)
{
	size_t elen = sodium_base64_ENCODED_LEN(n,
	    sodium_base64_VARIANT_ORIGINAL);
	char *e;
	int r;

	if ((e = sodium_malloc(elen)) == NULL)
		return ERR_NOMEM;
	sodium_bin2base64(e, elen, p, n, sodium_base64_VARIANT_ORIGINAL);
	r = buf_put(out, e, elen - 1);
	sodium_free(e);
	return r;
}

static int
has_byte(const uint8_t *p, size_t n, int c)
{
	return n > 0 && memchr(p, c, n) != NULL;
}

/* A comment we write must not break the line structure. */
static int
comment_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	return n <= max && strchr(s, '\n') == NULL && strchr(s, '\r') == NULL;
}

/*
 * Public keys.
 */

int
minisig_pubkey_parse(const char *text, size_t len,
    struct minisig_pubkey **out)
{
	struct minisig_pubkey *pk = NULL;
	struct buf *b = NULL, *v = NULL;
	uint8_t bin[PK_BIN_LEN], alg[SIGALG_LEN];
	const uint8_t *line;
	size_t n;
	int r = ERR_INTERNAL;

	*out = NULL;
	if (text == NULL)
		return ERR_INVALID;
	if ((b = buf_from(text, len)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	/* A whole file starts with its comment; a bare key does not. */
	if (eat_prefix(b, PREFIX_UNTRUSTED)) {
		if (line_next(b, &line, &n, MINISIG_UNTRUSTED_MAX) != 0 ||
		    has_byte(line, n, '\r')) {
			r = ERR_SIG_FORMAT;
			goto out;
		}
	}
	if (line_next(b, &line, &n, B64_LEN(PK_BIN_LEN)) != 0 ||
	    buf_expect_end(b) != 0 ||
	    b64_decode_exact(line, n, bin, sizeof(bin)) != 0) {
		r = ERR_SIG_FORMAT;
		goto out;
	}
	if ((v = buf_from(bin, sizeof(bin))) == NULL ||
	    (pk = calloc(1, sizeof(*pk))) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if (buf_get(v, alg, sizeof(alg)) != 0 ||
	    buf_get(v, pk->keyid, sizeof(pk->keyid)) != 0 ||
	    buf_get(v, pk->pk, sizeof(pk->pk)) != 0 ||
	    buf_expect_end(v) != 0) {
		r = ERR_SIG_FORMAT;
		goto out;
	}
	if (memcmp(alg, ALG_ED, SIGALG_LEN) != 0) {
		r = ERR_UNSUPPORTED;
		goto out;
	}
	*out = pk;
	pk = NULL;
	r = 0;
 out:
	buf_free(b);
	buf_free(v);
	free(pk);
	return r;
}

int
minisig_pubkey_load(const char *path, struct minisig_pubkey **out)
{
	struct buf *b = NULL;
	int r;

	*out = NULL;
	if ((r = file_read_small(AT_FDCWD, path, KEYFILE_MAX, 0, &b)) != 0)
		return r;
	r = minisig_pubkey_parse((const char *)buf_ptr(b), buf_len(b), out);
	buf_free(b);
	return r;
}

int
minisig_pubkey_file(const char *path)
{
	struct minisig_pubkey *pk = NULL;
	int yes = minisig_pubkey_load(path, &pk) == 0;

	minisig_pubkey_free(pk);
	return yes;
}

void
minisig_keyring_free(struct minisig_pubkey **keys, size_t n)
{
	size_t i;

	if (keys == NULL)
		return;
	for (i = 0; i < n; i++)
		minisig_pubkey_free(keys[i]);
	free(keys);
}

/* One keyring line: skipped (comment or blank), or a key added to v. */
static int
keyring_line(const uint8_t *line, size_t len, struct minisig_pubkey **v,
    size_t *nv)
{
	struct minisig_pubkey *pk = NULL;
	size_t i;
	int r;

	if (has_byte(line, len, '\r'))
		return ERR_SIG_FORMAT;
	if (len == 0 || line[0] == '#' || (len >= strlen(PREFIX_UNTRUSTED) &&
	    memcmp(line, PREFIX_UNTRUSTED, strlen(PREFIX_UNTRUSTED)) == 0))
		return 0;
	if ((r = minisig_pubkey_parse((const char *)line, len, &pk)) != 0)
		return r;
	for (i = 0; i < *nv; i++)
		if (memcmp(v[i]->keyid, pk->keyid, MINISIG_KEYID_LEN) == 0) {
			minisig_pubkey_free(pk);
			return ERR_EXISTS;
		}
	if (*nv == MINISIG_KEYRING_MAX) {
		minisig_pubkey_free(pk);
		return ERR_LIMIT;
	}
	v[(*nv)++] = pk;
	return 0;
}

int
minisig_keyring_parse(const char *text, size_t len,
    struct minisig_pubkey ***keys, size_t *n, size_t *line_no)
{
	struct minisig_pubkey **v = NULL;
	struct buf *b = NULL;
	const uint8_t *line;
	size_t ll, nv = 0;
	int r = ERR_NOMEM;

	*keys = NULL;
	*n = 0;
	*line_no = 0;
	if ((b = buf_from(text, len)) == NULL ||
	    (v = calloc(MINISIG_KEYRING_MAX, sizeof(*v))) == NULL)
		goto out;
	while (buf_len(b) > 0) {
		++*line_no;
		if ((r = line_next(b, &line, &ll, KEYFILE_MAX)) != 0) {
			r = ERR_SIG_FORMAT;
			goto out;
		}
		if ((r = keyring_line(line, ll, v, &nv)) != 0)
			goto out;
	}
	*line_no = 0;
	if (nv == 0) {
		r = ERR_NOENT;
		goto out;
	}
	*keys = v;
	*n = nv;
	v = NULL;
	nv = 0;
	r = 0;
 out:
	minisig_keyring_free(v, nv);
	buf_free(b);
	return r;
}

int
minisig_keyring_load(const char *path, struct minisig_pubkey ***keys,
    size_t *n, size_t *line_no)
{
	struct buf *b = NULL;
	int r;

	*keys = NULL;
	*n = 0;
	*line_no = 0;
	if ((r = file_read_small(AT_FDCWD, path, MINISIG_KEYRING_FILE_MAX, 0,
	    &b)) != 0)
		return r;
	r = minisig_keyring_parse((const char *)buf_ptr(b), buf_len(b), keys,
	    n, line_no);
	buf_free(b);
	return r;
}

/* Key ids print as minisign does: the little-endian u64 in upper-case
 * hex without leading zeros. */
static uint64_t
keyid_u64(const uint8_t id[MINISIG_KEYID_LEN])
{
	uint64_t x = 0;
	int i;

	for (i = MINISIG_KEYID_LEN - 1; i >= 0; i--)
		x = (x << 8) | id[i];
	return x;
}

int
minisig_pubkey_encode(const struct minisig_pubkey *pk, char **text_out)
{
	struct buf *b = NULL;
	uint8_t bin[PK_BIN_LEN];
	char *s = NULL;
	int r = ERR_INTERNAL;

	*text_out = NULL;
	if ((b = buf_new(1024)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	memcpy(bin, ALG_ED, SIGALG_LEN);
	memcpy(bin + SIGALG_LEN, pk->keyid, MINISIG_KEYID_LEN);
	memcpy(bin + SIGALG_LEN + MINISIG_KEYID_LEN, pk->pk, PK_LEN);
	if ((r = buf_putf(b, PREFIX_UNTRUSTED "minisign public key %" PRIX64
	    "\n", keyid_u64(pk->keyid))) != 0 ||
	    (r = b64_put(b, bin, sizeof(bin))) != 0 ||
	    (r = buf_put(b, "\n", 1)) != 0)
		goto out;
	if ((r = buf_dup_str(b, &s)) != 0)
		goto out;
	*text_out = s;
	r = 0;
 out:
	buf_free(b);
	return r;
}

void
minisig_keyid_hex(const uint8_t id[MINISIG_KEYID_LEN],
    char out[MINISIG_KEYID_HEX])
{
	/* the same digits as the comment of minisign's .pub files */
	snprintf(out, MINISIG_KEYID_HEX, "%" PRIX64, keyid_u64(id));
}

void
minisig_pubkey_keyid(const struct minisig_pubkey *pk,
    uint8_t id[MINISIG_KEYID_LEN])
{
	memcpy(id, pk->keyid, MINISIG_KEYID_LEN);
}

int
minisig_pubkey_write(const struct minisig_pubkey *pk, const char *path)
{
	char *s = NULL;
	int r;

	if ((r = minisig_pubkey_encode(pk, &s)) != 0)
		return r;
	r = file_write_new(path, s, strlen(s), 0644);
	free(s);
	return r;
}

void
minisig_pubkey_free(struct minisig_pubkey *pk)
{
	free(pk);
}

/*
 * Secret keys.
 */

static struct minisig_seckey *
seckey_new(void)
{
	struct minisig_seckey *sk;

	if (sodium_init() < 0 || (sk = sodium_malloc(sizeof(*sk))) == NULL)
		return NULL;
	memset(sk, 0, sizeof(*sk));
	sk->opslimit = MINISIG_KDF_OPSLIMIT_MAX;
	sk->memlimit = MINISIG_KDF_MEMLIMIT_MAX;
	return sk;
}

static int
seckey_set_pass(struct minisig_seckey *sk, const char *pass, size_t passlen)
{
	if (pass == NULL)
		return 0;
	/* +1: sodium_malloc(0) may return NULL. */
	if ((sk->pass = sodium_malloc(passlen + 1)) == NULL)
		return ERR_NOMEM;
	if (passlen > 0)
		memcpy(sk->pass, pass, passlen);
	sk->passlen = passlen;
	return 0;
}

void
minisig_seckey_free(struct minisig_seckey *sk)
{
	if (sk == NULL)
		return;
	if (sk->pass != NULL)
		sodium_free(sk->pass);
	sodium_free(sk);	/* wipes */
}

/* BLAKE2b-256("Ed" || key id || secret key), minisign's integrity check. */
static void
seckey_checksum(uint8_t chk[CHK_LEN], const uint8_t keyid[MINISIG_KEYID_LEN],
    const uint8_t sk[SK_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, CHK_LEN);
	crypto_generichash_update(&st, (const uint8_t *)ALG_ED, SIGALG_LEN);
	crypto_generichash_update(&st, keyid, MINISIG_KEYID_LEN);
	crypto_generichash_update(&st, sk, SK_LEN);
	crypto_generichash_final(&st, chk, CHK_LEN);
	sodium_memzero(&st, sizeof(st));
}

/* scrypt keystream that masks keynum_sk. */
static int
seckey_kdf(uint8_t stream[KEYNUM_SK_LEN], const char *pass, size_t passlen,
    const uint8_t salt[SALT_LEN], uint64_t opslimit, uint64_t memlimit)
{
	if (opslimit > MINISIG_KDF_OPSLIMIT_MAX ||
	    memlimit > MINISIG_KDF_MEMLIMIT_MAX)
		return ERR_LIMIT;
	if (crypto_pwhash_scryptsalsa208sha256(stream, KEYNUM_SK_LEN,
	    pass, passlen, salt, (unsigned long long)opslimit,
	    (size_t)memlimit) != 0)
		return errno == ENOMEM ? ERR_NOMEM : ERR_KEY;
	return 0;
}

static void
xor_into(uint8_t *dst, const uint8_t *mask, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] ^= mask[i];
}

int
minisig_seckey_parse(const char *text, size_t len, const char *pass,
    size_t passlen, struct minisig_seckey **out)
{
	struct minisig_seckey *sk = NULL;
	struct sk_scratch *sc = NULL;
	struct buf *b = NULL, *v = NULL, *ks = NULL;
	uint8_t alg[SIGALG_LEN], kdf[SIGALG_LEN], chkalg[SIGALG_LEN];
	uint8_t salt[SALT_LEN];
	uint64_t opslimit, memlimit;
	const uint8_t *line;
	size_t n;
	int encrypted, r = ERR_INTERNAL;

	*out = NULL;
	if (text == NULL)
		return ERR_INVALID;
	if ((sk = seckey_new()) == NULL ||
	    (sc = sodium_malloc(sizeof(*sc))) == NULL ||
	    (b = buf_from(text, len)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if (!eat_prefix(b, PREFIX_UNTRUSTED) ||
	    line_next(b, &line, &n, MINISIG_UNTRUSTED_MAX) != 0 ||
	    has_byte(line, n, '\r') ||
	    line_next(b, &line, &n, B64_LEN(SK_BIN_LEN)) != 0 ||
	    buf_expect_end(b) != 0 ||
	    b64_decode_exact(line, n, sc->bin, sizeof(sc->bin)) != 0) {
		r = ERR_KEY;
		goto out;
	}
	if ((v = buf_from(sc->bin, sizeof(sc->bin))) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if (buf_get(v, alg, sizeof(alg)) != 0 ||
	    buf_get(v, kdf, sizeof(kdf)) != 0 ||
	    buf_get(v, chkalg, sizeof(chkalg)) != 0 ||
	    buf_get(v, salt, sizeof(salt)) != 0 ||
	    buf_get_u64le(v, &opslimit) != 0 ||
	    buf_get_u64le(v, &memlimit) != 0 ||
	    buf_get(v, sc->keynum_sk, sizeof(sc->keynum_sk)) != 0 ||
	    buf_expect_end(v) != 0) {
		r = ERR_KEY;
		goto out;
	}
	if (memcmp(alg, ALG_ED, SIGALG_LEN) != 0 ||
	    memcmp(chkalg, CHK_BLAKE2B, SIGALG_LEN) != 0) {
		r = ERR_UNSUPPORTED;
		goto out;
	}
	if (memcmp(kdf, KDF_SCRYPT, SIGALG_LEN) == 0)
		encrypted = 1;
	else if (kdf[0] == 0 && kdf[1] == 0)
		encrypted = 0;
	else {
		r = ERR_UNSUPPORTED;
		goto out;
	}
	if (encrypted) {
		if (pass == NULL) {
			r = ERR_PASSPHRASE;
			goto out;
		}
		if ((r = seckey_kdf(sc->stream, pass, passlen, salt,
		    opslimit, memlimit)) != 0)
			goto out;
		xor_into(sc->keynum_sk, sc->stream, sizeof(sc->keynum_sk));
		sk->opslimit = opslimit;
		sk->memlimit = memlimit;
		if ((r = seckey_set_pass(sk, pass, passlen)) != 0)
			goto out;
	}
	/* keynum_sk is secret now: read it through a view of guarded
	 * memory into guarded memory. */
	if ((ks = buf_from(sc->keynum_sk, sizeof(sc->keynum_sk))) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if (buf_get(ks, sk->keyid, sizeof(sk->keyid)) != 0 ||
	    buf_get(ks, sk->sk, sizeof(sk->sk)) != 0 ||
	    buf_get(ks, sc->stored_chk, CHK_LEN) != 0 ||
	    buf_expect_end(ks) != 0) {
		r = ERR_INTERNAL;
		goto out;
	}
	seckey_checksum(sc->chk, sk->keyid, sk->sk);
	if (sodium_memcmp(sc->chk, sc->stored_chk, CHK_LEN) != 0) {
		/* minisign -G -W leaves the checksum of unencrypted keys
		 * zero; for an encrypted key a mismatch is the passphrase. */
		if (encrypted) {
			r = ERR_PASSPHRASE;
			goto out;
		}
		if (!sodium_is_zero(sc->stored_chk, CHK_LEN)) {
			r = ERR_KEY;
			goto out;
		}
	}
	/* The secret key embeds its public half; a key whose halves
	 * disagree would sign with one key and name another. */
	crypto_sign_ed25519_sk_to_seed(sc->seed, sk->sk);
	if (crypto_sign_seed_keypair(sc->pk, sc->sk, sc->seed) != 0 ||
	    sodium_memcmp(sc->sk, sk->sk, SK_LEN) != 0) {
		r = ERR_KEY;
		goto out;
	}
	*out = sk;
	sk = NULL;
	r = 0;
 out:
	buf_free(b);
	buf_free(v);
	buf_free(ks);
	if (sc != NULL)
		sodium_free(sc);
	sodium_memzero(salt, sizeof(salt));
	minisig_seckey_free(sk);
	return r;
}

int
minisig_seckey_load(const char *path, const char *pass, size_t passlen,
    struct minisig_seckey **out)
{
	struct buf *b = NULL;
	int r;

	*out = NULL;
	if ((r = file_read_small(AT_FDCWD, path, KEYFILE_MAX, 1, &b)) != 0)
		return r;
	r = minisig_seckey_parse((const char *)buf_ptr(b), buf_len(b),
	    pass, passlen, out);
	buf_free(b);
	return r;
}

int
minisig_keygen(const char *pass, size_t passlen,
    struct minisig_seckey **skp, struct minisig_pubkey **pkp)
{
	struct minisig_seckey *sk = NULL;
	struct minisig_pubkey *pk = NULL;
	int r = ERR_INTERNAL;

	*skp = NULL;
	*pkp = NULL;
	if ((sk = seckey_new()) == NULL ||
	    (pk = calloc(1, sizeof(*pk))) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	randombytes_buf(sk->keyid, sizeof(sk->keyid));
	if (crypto_sign_keypair(pk->pk, sk->sk) != 0)
		goto out;
	memcpy(pk->keyid, sk->keyid, sizeof(pk->keyid));
	if ((r = seckey_set_pass(sk, pass, passlen)) != 0)
		goto out;
	*skp = sk;
	*pkp = pk;
	sk = NULL;
	pk = NULL;
	r = 0;
 out:
	minisig_seckey_free(sk);
	minisig_pubkey_free(pk);
	return r;
}

int
minisig_seckey_set_kdf(struct minisig_seckey *sk, uint64_t opslimit,
    uint64_t memlimit)
{
	if (opslimit < crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_MIN ||
	    memlimit < crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_MIN ||
	    opslimit > MINISIG_KDF_OPSLIMIT_MAX ||
	    memlimit > MINISIG_KDF_MEMLIMIT_MAX)
		return ERR_INVALID;
	sk->opslimit = opslimit;
	sk->memlimit = memlimit;
	return 0;
}

void
minisig_seckey_forget_passphrase(struct minisig_seckey *sk)
{
	if (sk->pass != NULL)
		sodium_free(sk->pass);	/* wipes */
	sk->pass = NULL;
	sk->passlen = 0;
}

void
minisig_seckey_keyid(const struct minisig_seckey *sk,
    uint8_t id[MINISIG_KEYID_LEN])
{
	memcpy(id, sk->keyid, MINISIG_KEYID_LEN);
}

int
minisig_cost_params(int level, uint64_t *opslimit, uint64_t *memlimit)
{
	if (level < MINISIG_COST_MIN || level > MINISIG_COST_MAX)
		return ERR_INVALID;
	*memlimit = (uint64_t)16 << 20 << (2 * (level - 1));
	/* ops = mem / 32 makes libsodium pick N from the memory and p = 1,
	 * as its own interactive and sensitive pairs do */
	*opslimit = *memlimit / 32;
	return 0;
}

int
minisig_seckey_encode(const struct minisig_seckey *sk, const char *pass,
    size_t passlen, struct buf *out)
{
	struct sk_scratch *sc = NULL;
	struct buf *bin = NULL, *txt = NULL;
	uint8_t *dst;
	int encrypted, r = ERR_INTERNAL;

	if (pass == NULL) {
		pass = sk->pass;
		passlen = sk->passlen;
	}
	encrypted = pass != NULL;
	if ((sc = sodium_malloc(sizeof(*sc))) == NULL ||
	    (bin = buf_new_secret(SK_BIN_LEN)) == NULL ||
	    (txt = buf_new_secret(KEYFILE_MAX)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	memset(sc, 0, sizeof(*sc));
	/* Unencrypted keys keep salt and costs zero, as minisign -W does. */
	if (encrypted)
		randombytes_buf(sc->salt, SALT_LEN);
	if ((r = buf_put(bin, ALG_ED, SIGALG_LEN)) != 0 ||
	    (r = buf_put(bin, encrypted ? KDF_SCRYPT : "\0\0",
	    SIGALG_LEN)) != 0 ||
	    (r = buf_put(bin, CHK_BLAKE2B, SIGALG_LEN)) != 0 ||
	    (r = buf_put(bin, sc->salt, SALT_LEN)) != 0 ||
	    (r = buf_put_u64le(bin, encrypted ? sk->opslimit : 0)) != 0 ||
	    (r = buf_put_u64le(bin, encrypted ? sk->memlimit : 0)) != 0)
		goto out;
	/* keynum_sk = key id || sk || checksum, masked when encrypted. */
	if ((r = buf_reserve(bin, KEYNUM_SK_LEN, &dst)) != 0)
		goto out;
	seckey_checksum(sc->chk, sk->keyid, sk->sk);
	memcpy(sc->keynum_sk, sk->keyid, MINISIG_KEYID_LEN);
	memcpy(sc->keynum_sk + MINISIG_KEYID_LEN, sk->sk, SK_LEN);
	memcpy(sc->keynum_sk + MINISIG_KEYID_LEN + SK_LEN, sc->chk, CHK_LEN);
	if (encrypted) {
		if ((r = seckey_kdf(sc->stream, pass, passlen, sc->salt,
		    sk->opslimit, sk->memlimit)) != 0)
			goto out;
		xor_into(sc->keynum_sk, sc->stream, KEYNUM_SK_LEN);
	}
	memcpy(dst, sc->keynum_sk, KEYNUM_SK_LEN);
	if (buf_len(bin) != SK_BIN_LEN) {
		r = ERR_INTERNAL;
		goto out;
	}
	if ((r = buf_put_str(txt, PREFIX_UNTRUSTED)) != 0 ||
	    (r = buf_put_str(txt, encrypted ? "minisign encrypted secret key" :
	    "minisign unencrypted secret key")) != 0 ||
	    (r = buf_put(txt, "\n", 1)) != 0 ||
	    (r = b64_put(txt, buf_ptr(bin), buf_len(bin))) != 0 ||
	    (r = buf_put(txt, "\n", 1)) != 0)
		goto out;
	if ((r = buf_put(out, buf_ptr(txt), buf_len(txt))) != 0)
		goto out;
	r = 0;
 out:
	if (sc != NULL)
		sodium_free(sc);
	buf_free(bin);
	buf_free(txt);
	return r;
}

int
minisig_seckey_write(const struct minisig_seckey *sk, const char *path,
    const char *pass, size_t passlen)
{
	struct buf *txt = NULL;
	int r = ERR_INTERNAL;

	if ((txt = buf_new_secret(KEYFILE_MAX)) == NULL)
		return ERR_NOMEM;
	if ((r = minisig_seckey_encode(sk, pass, passlen, txt)) != 0)
		goto out;
	r = file_write_new(path, buf_ptr(txt), buf_len(txt), 0600);
 out:
	buf_free(txt);
	return r;
}

struct minisig_pubkey *
minisig_seckey_pubkey(const struct minisig_seckey *sk)
{
	struct minisig_pubkey *pk;

	if ((pk = calloc(1, sizeof(*pk))) == NULL)
		return NULL;
	memcpy(pk->keyid, sk->keyid, sizeof(pk->keyid));
	/* libsodium's secret key is seed || public key. */
	if (crypto_sign_ed25519_sk_to_pk(pk->pk, sk->sk) != 0) {
		free(pk);
		return NULL;
	}
	return pk;
}

/*
 * Prehash.
 *
 * The bulk BLAKE2b of whole archives: format/b2b.c or libsodium's,
 * whichever hashes faster on the CPU this runs on. Neither wins
 * everywhere: on one 2-core AMD EPYC machine b2b.c ran at 1197 MB/s
 * against libsodium's 600, on another libsodium's at 1057 against 855
 * (make bench-blake2b). Both give the same bytes (tests/check_minisig.c
 * compares them on every length and split). Measured once per process:
 * best of three hashes of 128 KiB each, about a millisecond.
 */

static pthread_once_t prehash_once = PTHREAD_ONCE_INIT;
static int prehash_impl = MINISIG_PREHASH_B2B;
static int prehash_pinned = -1;

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
prehash_measure(void)
{
	/* not const: zeros in .bss cost the binary nothing */
	static uint8_t zero[128 << 10];
	uint8_t out[MINISIG_PREHASH_LEN];
	uint64_t t, best_b2b = UINT64_MAX, best_sodium = UINT64_MAX;
	struct b2b st;
	int i;

	for (i = 0; i < 3; i++) {
		t = mono_ns();
		if (b2b_init(&st, sizeof(out), NULL, 0) != 0)
			return;
		b2b_update(&st, zero, sizeof(zero));
		b2b_final(&st, out);
		t = mono_ns() - t;
		best_b2b = t < best_b2b ? t : best_b2b;
		t = mono_ns();
		if (crypto_generichash(out, sizeof(out), zero, sizeof(zero),
		    NULL, 0) != 0)
			return;
		t = mono_ns() - t;
		best_sodium = t < best_sodium ? t : best_sodium;
	}
	prehash_impl = best_sodium < best_b2b ? MINISIG_PREHASH_SODIUM :
	    MINISIG_PREHASH_B2B;
}

int
minisig_prehash_impl(void)
{
	if (prehash_pinned >= 0)
		return prehash_pinned;
	(void)pthread_once(&prehash_once, prehash_measure);
	return prehash_impl;
}

void
minisig_prehash_pin(int impl)
{
	prehash_pinned = impl;
}

struct minisig_hash *
minisig_hash_new(void)
{
	struct minisig_hash *h;
	int r;

	if (sodium_init() < 0)
		return NULL;
	/* sizeof is a multiple of the states' 64-byte alignment. */
	h = aligned_alloc(_Alignof(struct minisig_hash), sizeof(*h));
	if (h == NULL)
		return NULL;
	memset(h, 0, sizeof(*h));
	h->impl = minisig_prehash_impl();
	r = h->impl == MINISIG_PREHASH_SODIUM ?
	    crypto_generichash_init(&h->ss, NULL, 0, MINISIG_PREHASH_LEN) :
	    b2b_init(&h->st, MINISIG_PREHASH_LEN, NULL, 0);
	if (r != 0) {
		free(h);
		return NULL;
	}
	return h;
}

int
minisig_hash_update(struct minisig_hash *h, const uint8_t *p, size_t n)
{
	if (h->done)
		return ERR_INVALID;
	if (n == 0)
		return 0;
	if (h->impl == MINISIG_PREHASH_SODIUM)
		return crypto_generichash_update(&h->ss, p, n) == 0 ? 0 :
		    ERR_INTERNAL;
	b2b_update(&h->st, p, n);
	return 0;
}

int
minisig_hash_final(struct minisig_hash *h, uint8_t out[MINISIG_PREHASH_LEN])
{
	if (h->done)
		return ERR_INVALID;
	h->done = 1;
	if (h->impl == MINISIG_PREHASH_SODIUM)
		return crypto_generichash_final(&h->ss, out,
		    MINISIG_PREHASH_LEN) == 0 ? 0 : ERR_INTERNAL;
	b2b_final(&h->st, out);
	return 0;
}

void
minisig_hash_free(struct minisig_hash *h)
{
	free(h);
}

int
minisig_hash_file(int fd, uint8_t out[MINISIG_PREHASH_LEN])
{
	struct minisig_hash *h = NULL;
	uint8_t *chunk = NULL;
	const size_t chunklen = 65536;
	ssize_t n;
	int r = ERR_INTERNAL;

	if ((h = minisig_hash_new()) == NULL ||
	    (chunk = malloc(chunklen)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	for (;;) {
		n = read(fd, chunk, chunklen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		if ((r = minisig_hash_update(h, chunk, (size_t)n)) != 0)
			goto out;
	}
	r = minisig_hash_final(h, out);
 out:
	free(chunk);
	minisig_hash_free(h);
	return r;
}

/*
 * Signatures.
 */

/* The global signature covers signature || trusted comment text. */
static int
global_message(struct buf **out, const uint8_t sig[SIG_LEN],
    const uint8_t *tc, size_t tclen)
{
	struct buf *m;
	int r;

	*out = NULL;
	if ((m = buf_new(SIG_LEN + MINISIG_TRUSTED_MAX)) == NULL)
		return ERR_NOMEM;
	if ((r = buf_put(m, sig, SIG_LEN)) != 0 ||
	    (r = buf_put(m, tc, tclen)) != 0) {
		buf_free(m);
		return r;
	}
	*out = m;
	return 0;
}

int
minisig_sign(const struct minisig_seckey *sk,
    const uint8_t prehash[MINISIG_PREHASH_LEN], const char *untrusted_comment,
    const char *trusted_comment, struct buf *sigfile_out)
{
	struct buf *txt = NULL, *gm = NULL;
	uint8_t sigbin[SIG_BIN_LEN], sig[SIG_LEN], global[SIG_LEN];
	int r = ERR_INTERNAL;

	if (untrusted_comment == NULL)
		untrusted_comment = DEFAULT_SIG_COMMENT;
	if (trusted_comment == NULL ||
	    !comment_ok(trusted_comment, MINISIG_TRUSTED_MAX) ||
	    !comment_ok(untrusted_comment, MINISIG_UNTRUSTED_MAX))
		return ERR_INVALID;
	if (crypto_sign_detached(sig, NULL, prehash, MINISIG_PREHASH_LEN,
	    sk->sk) != 0)
		goto out;
	memcpy(sigbin, ALG_ED_PREHASHED, SIGALG_LEN);
	memcpy(sigbin + SIGALG_LEN, sk->keyid, MINISIG_KEYID_LEN);
	memcpy(sigbin + SIGALG_LEN + MINISIG_KEYID_LEN, sig, SIG_LEN);
	if ((r = global_message(&gm, sig, (const uint8_t *)trusted_comment,
	    strlen(trusted_comment))) != 0)
		goto out;
	if (crypto_sign_detached(global, NULL, buf_ptr(gm), buf_len(gm),
	    sk->sk) != 0) {
		r = ERR_INTERNAL;
		goto out;
	}
	if ((txt = buf_new(4 * KEYFILE_MAX)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if ((r = buf_put_str(txt, PREFIX_UNTRUSTED)) != 0 ||
	    (r = buf_put_str(txt, untrusted_comment)) != 0 ||
	    (r = buf_put(txt, "\n", 1)) != 0 ||
	    (r = b64_put(txt, sigbin, sizeof(sigbin))) != 0 ||
	    (r = buf_put(txt, "\n" PREFIX_TRUSTED,
	    strlen("\n" PREFIX_TRUSTED))) != 0 ||
	    (r = buf_put_str(txt, trusted_comment)) != 0 ||
	    (r = buf_put(txt, "\n", 1)) != 0 ||
	    (r = b64_put(txt, global, sizeof(global))) != 0 ||
	    (r = buf_put(txt, "\n", 1)) != 0)
		goto out;
	r = buf_put(sigfile_out, buf_ptr(txt), buf_len(txt));
 out:
	buf_free(txt);
	buf_free(gm);
	return r;
}

/* A signature file, parsed (pointers into the caller's bytes). */
struct sig_parts {
	uint8_t keyid[MINISIG_KEYID_LEN];
	uint8_t sig[SIG_LEN];
	uint8_t global[SIG_LEN];
	const uint8_t *tc;
	size_t tclen;
	int legacy;
};

/* Parses the whole file; ERR_SIG_FORMAT or ERR_SIG_COMMENT for the first
 * damaged part, in file order. */
static int
sig_parse(const uint8_t *sigfile, size_t len, struct sig_parts *sp)
{
	struct buf *b = NULL, *v = NULL;
	uint8_t sigbin[SIG_BIN_LEN], alg[SIGALG_LEN];
	const uint8_t *line;
	size_t n;
	int r = ERR_INTERNAL;

	memset(sp, 0, sizeof(*sp));
	if ((b = buf_from(sigfile, len)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	/* untrusted comment line, then the signature line */
	if (!eat_prefix(b, PREFIX_UNTRUSTED) ||
	    line_next(b, &line, &n, MINISIG_UNTRUSTED_MAX) != 0 ||
	    has_byte(line, n, '\r') ||
	    line_next(b, &line, &n, B64_LEN(SIG_BIN_LEN)) != 0 ||
	    b64_decode_exact(line, n, sigbin, sizeof(sigbin)) != 0) {
		r = ERR_SIG_FORMAT;
		goto out;
	}
	if ((v = buf_from(sigbin, sizeof(sigbin))) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if (buf_get(v, alg, sizeof(alg)) != 0 ||
	    buf_get(v, sp->keyid, sizeof(sp->keyid)) != 0 ||
	    buf_get(v, sp->sig, sizeof(sp->sig)) != 0 ||
	    buf_expect_end(v) != 0)
		goto out;
	if (memcmp(alg, ALG_ED_PREHASHED, SIGALG_LEN) == 0)
		sp->legacy = 0;
	else if (memcmp(alg, ALG_ED, SIGALG_LEN) == 0)
		sp->legacy = 1;
	else {
		r = ERR_SIG_FORMAT;
		goto out;
	}
	/* trusted comment line: it becomes a C string for the caller, so
	 * an embedded NUL could hide signed text from it */
	if (!eat_prefix(b, PREFIX_TRUSTED) ||
	    line_next(b, &sp->tc, &sp->tclen, MINISIG_TRUSTED_MAX) != 0 ||
	    has_byte(sp->tc, sp->tclen, '\r') ||
	    has_byte(sp->tc, sp->tclen, '\0')) {
		r = ERR_SIG_COMMENT;
		goto out;
	}
	/* global signature line, and nothing after it */
	if (line_next(b, &line, &n, B64_LEN(SIG_LEN)) != 0 ||
	    b64_decode_exact(line, n, sp->global, sizeof(sp->global)) != 0 ||
	    buf_expect_end(b) != 0) {
		r = ERR_SIG_FORMAT;
		goto out;
	}
	r = 0;
 out:
	buf_free(b);
	buf_free(v);
	return r;
}

/* Both signatures of a parsed file with the key it names. */
static int
sig_check(const struct minisig_pubkey *pk,
    const uint8_t prehash[MINISIG_PREHASH_LEN], const struct sig_parts *sp,
    char **trusted_out)
{
	struct buf *gm = NULL;
	char *copy = NULL;
	int r;

	if (prehash != NULL && crypto_sign_verify_detached(sp->sig, prehash,
	    MINISIG_PREHASH_LEN, pk->pk) != 0) {
		r = ERR_SIG_INVALID;
		goto out;
	}
	if ((r = global_message(&gm, sp->sig, sp->tc, sp->tclen)) != 0)
		goto out;
	if (crypto_sign_verify_detached(sp->global, buf_ptr(gm), buf_len(gm),
	    pk->pk) != 0) {
		r = ERR_SIG_COMMENT;
		goto out;
	}
	if (trusted_out != NULL) {
		if ((copy = malloc(sp->tclen + 1)) == NULL) {
			r = ERR_NOMEM;
			goto out;
		}
		if (sp->tclen > 0)
			memcpy(copy, sp->tc, sp->tclen);
		copy[sp->tclen] = '\0';
		*trusted_out = copy;
	}
	r = 0;
 out:
	buf_free(gm);
	return r;
}

/* minisig_verify_any, and with prehash NULL the trusted comment only. */
static int
verify_any(const struct minisig_pubkey *const *pks, size_t n,
    const uint8_t *prehash, const uint8_t *sigfile, size_t len,
    size_t *which, uint8_t keyid[MINISIG_KEYID_LEN], char **trusted_out)
{
	struct sig_parts sp;
	size_t i;
	int r;

	if (trusted_out != NULL)
		*trusted_out = NULL;
	*which = SIZE_MAX;
	memset(keyid, 0, MINISIG_KEYID_LEN);
	if ((n > 0 && pks == NULL) || sigfile == NULL)
		return ERR_INVALID;
	if ((r = sig_parse(sigfile, len, &sp)) != 0)
		return r;
	memcpy(keyid, sp.keyid, MINISIG_KEYID_LEN);
	if (sp.legacy)
		return ERR_UNSUPPORTED;
	for (i = 0; i < n; i++)
		if (pks[i] != NULL &&
		    memcmp(sp.keyid, pks[i]->keyid, MINISIG_KEYID_LEN) == 0)
			break;
	if (i == n)
		return ERR_SIG_KEYID;
	*which = i;
	return sig_check(pks[i], prehash, &sp, trusted_out);
}

int
minisig_verify_any(const struct minisig_pubkey *const *pks, size_t n,
    const uint8_t prehash[MINISIG_PREHASH_LEN], const uint8_t *sigfile,
    size_t len, size_t *which, uint8_t keyid[MINISIG_KEYID_LEN],
    char **trusted_out)
{
	if (prehash == NULL) {
		if (trusted_out != NULL)
			*trusted_out = NULL;
		*which = SIZE_MAX;
		memset(keyid, 0, MINISIG_KEYID_LEN);
		return ERR_INVALID;
	}
	return verify_any(pks, n, prehash, sigfile, len, which, keyid,
	    trusted_out);
}

int
minisig_verify_comment_any(const struct minisig_pubkey *const *pks, size_t n,
    const uint8_t *sigfile, size_t len, size_t *which,
    uint8_t keyid[MINISIG_KEYID_LEN], char **trusted_out)
{
	return verify_any(pks, n, NULL, sigfile, len, which, keyid,
	    trusted_out);
}

int
minisig_verify(const struct minisig_pubkey *pk,
    const uint8_t prehash[MINISIG_PREHASH_LEN], const uint8_t *sigfile,
    size_t len, char **trusted_out)
{
	uint8_t keyid[MINISIG_KEYID_LEN];
	size_t which;

	if (trusted_out != NULL)
		*trusted_out = NULL;
	if (pk == NULL)
		return ERR_INVALID;
	return minisig_verify_any(&pk, 1, prehash, sigfile, len, &which,
	    keyid, trusted_out);
}
