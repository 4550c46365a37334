/*
 * age_header.c: age v1 header parsing, writing, stanza wrap/unwrap and the
 * header MAC. Parsing is strict (age-v1.md ABNF): the MAC is computed over
 * the bytes as read, which is only sound because any non-canonical form is
 * rejected here.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "age.h"
#include "age_int.h"
#include "buf.h"
#include "err.h"
#include "hkdf.h"

#define VERSION_LINE "age-encryption.org/v1"
#define X25519_INFO "age-encryption.org/v1/X25519"
#define SCRYPT_LABEL "age-encryption.org/v1/scrypt"
#define HEADER_INFO "header"
#define BODY_COLS 64
#define WRAP_BODY_LEN (AGE_FILE_KEY_LEN + AGE_TAG_LEN)

static const uint8_t zero_nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];

/* ---- base64 ---- */

static int
b64_val(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
age_b64_decode(const uint8_t *s, size_t len, uint8_t *out, size_t cap,
    size_t *n, int padded)
{
	size_t i, o = 0, pads = 0, rem;
	uint32_t acc = 0;
	int bits = 0, v, r = ERR_INTERNAL;

	*n = 0;
	if (padded) {
		if (len % 4 != 0) {
			r = ERR_FORMAT;
			goto out;
		}
		while (pads < 2 && pads < len && s[len - 1 - pads] == '=')
			pads++;
		len -= pads;
		rem = len % 4;
		/* Exactly the padding the length implies, no more, no less. */
		if ((rem == 0 && pads != 0) || rem == 1 ||
		    (rem == 2 && pads != 2) || (rem == 3 && pads != 1)) {
			r = ERR_FORMAT;
			goto out;
		}
	}
	for (i = 0; i < len; i++) {
		if ((v = b64_val(s[i])) < 0) {
			r = ERR_FORMAT;
			goto out;
		}
		acc = ((acc << 6) | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap) {
				r = ERR_LIMIT;
				goto out;
			}
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* Canonical: a lone trailing character (6 bits) is impossible and
	 * unused low bits must be zero. */
	if (bits >= 6 || (acc & ((1U << bits) - 1)) != 0) {
		r = ERR_FORMAT;
		goto out;
	}
	*n = o;
	r = 0;
 out:
	sodium_memzero(&acc, sizeof(acc));
	if (r != 0 && cap > 0)
		sodium_memzero(out, o < cap ? o : cap);
	return r;
}

int
age_b64_put(struct buf *b, const uint8_t *p, size_t n)
{
	size_t enc = sodium_base64_ENCODED_LEN(n,
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	uint8_t *dst;
	int r;

	/* enc counts the NUL; reserve it, then drop it. */
	if ((r = buf_reserve(b, enc, &dst)) != 0)
		return r;
	sodium_bin2base64((char *)dst, enc, p, n,
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	return buf_unput(b, 1);
}

/* ---- parsing ---- */

static void
stanza_clear(struct age_stanza *s)
{
	size_t i;

	for (i = 0; i < s->nargs; i++)
		free(s->args[i]);
	free(s->args);
	free(s->body);
	memset(s, 0, sizeof(*s));
}

void
age_header_free(struct age_header *h)
{
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; i < h->n; i++)
		stanza_clear(&h->st[i]);
	free(h->st);
	free(h->bytes);
	free(h);
}

static int
line_is(const uint8_t *l, size_t len, const char *s)
{
	return len == strlen(s) && memcmp(l, s, len) == 0;
}

static int
line_starts(const uint8_t *l, size_t len, const char *s)
{
	return len >= strlen(s) && memcmp(l, s, strlen(s)) == 0;
}

/* "-> " already stripped: 1*VCHAR arguments separated by single spaces. */
static int
parse_args(struct buf *lb, struct age_stanza *st)
{
	const uint8_t *a;
	uint8_t c;
	size_t alen;
	int r = ERR_AGE_HEADER;

	if ((st->args = calloc(AGE_MAX_ARGS, sizeof(*st->args))) == NULL)
		return ERR_NOMEM;
	for (;;) {
		alen = 0;
		while (buf_peek(lb, alen, &c, 1) == 0 && c != ' ') {
			if (c < 0x21 || c > 0x7e)
				return ERR_AGE_HEADER;
			alen++;
		}
		if (alen == 0 || st->nargs == AGE_MAX_ARGS)
			return ERR_AGE_HEADER;
		if ((r = buf_get_ptr(lb, alen, &a)) != 0)
			return ERR_AGE_HEADER;
		if ((st->args[st->nargs] = strndup((const char *)a, alen)) == NULL)
			return ERR_NOMEM;
		st->nargs++;
		if (buf_len(lb) == 0)
			return 0;
		/* A separator must be followed by another argument. */
		if (buf_consume(lb, 1) != 0 || buf_len(lb) == 0)
			return ERR_AGE_HEADER;
	}
}

/* Body lines follow the argument line; the first line shorter than 64
 * columns (possibly empty) ends the stanza. */
static int
parse_body(struct buf *b, struct age_stanza *st)
{
	struct buf *enc = NULL;
	const uint8_t *l;
	size_t ll, n;
	int r = ERR_INTERNAL;

	if ((enc = buf_new(AGE_HEADER_MAX)) == NULL)
		return ERR_NOMEM;
	do {
		if (buf_get_line(b, &l, &ll, BODY_COLS) != 0) {
			r = ERR_AGE_HEADER;
			goto out;
		}
		if ((r = buf_put(enc, l, ll)) != 0)
			goto out;
	} while (ll == BODY_COLS);
	n = buf_len(enc) / 4 * 3 + 3;
	if ((st->body = malloc(n)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if (age_b64_decode(buf_ptr(enc), buf_len(enc), st->body, n,
	    &st->body_len, 0) != 0) {
		r = ERR_AGE_HEADER;
		goto out;
	}
	r = 0;
 out:
	buf_free(enc);
	return r;
}

static int
parse_mac(const uint8_t *l, size_t ll, struct age_header *h)
{
	size_t n = 0;

	/* "--- " then exactly 43 base64 characters (32 bytes, unpadded). */
	if (ll != 4 + 43 || !line_starts(l, ll, "--- "))
		return ERR_AGE_HEADER;
	if (age_b64_decode(l + 4, 43, h->mac, sizeof(h->mac), &n, 0) != 0 ||
	    n != sizeof(h->mac))
		return ERR_AGE_HEADER;
	return 0;
}

int
age_header_parse(const uint8_t *p, size_t len, struct age_header **out)
{
	struct age_header *h = NULL;
	struct buf *b = NULL, *lb = NULL;
	const uint8_t *l;
	size_t ll, line_off, i;
	int r = ERR_INTERNAL, have_mac = 0;

	*out = NULL;
	if (len > AGE_HEADER_MAX)
		return ERR_AGE_HEADER;
	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->st = calloc(AGE_MAX_STANZAS, sizeof(*h->st))) == NULL ||
	    (h->bytes = malloc(len > 0 ? len : 1)) == NULL ||
	    (b = buf_from(p, len)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if (len > 0)
		memcpy(h->bytes, p, len);
	if (buf_get_line(b, &l, &ll, AGE_MAX_LINE) != 0 ||
	    !line_is(l, ll, VERSION_LINE)) {
		r = ERR_AGE_HEADER;
		goto out;
	}
	while (!have_mac) {
		line_off = len - buf_len(b);
		if (buf_get_line(b, &l, &ll, AGE_MAX_LINE) != 0) {
			r = ERR_AGE_HEADER;
			goto out;
		}
		if (line_starts(l, ll, "-> ")) {
			if (h->n == AGE_MAX_STANZAS) {
				r = ERR_AGE_HEADER;
				goto out;
			}
			buf_free(lb);
			if ((lb = buf_from(l + 3, ll - 3)) == NULL) {
				r = ERR_NOMEM;
				goto out;
			}
			h->n++;
			if ((r = parse_args(lb, &h->st[h->n - 1])) != 0 ||
			    (r = parse_body(b, &h->st[h->n - 1])) != 0)
				goto out;
		} else if (line_starts(l, ll, "---") && h->n > 0) {
			if ((r = parse_mac(l, ll, h)) != 0)
				goto out;
			h->mac_input_len = line_off + 3;
			have_mac = 1;
		} else {
			r = ERR_AGE_HEADER;
			goto out;
		}
	}
	if (buf_expect_end(b) != 0) {
		r = ERR_AGE_HEADER;
		goto out;
	}
	/* An scrypt stanza carries an implicit authentication promise that
	 * any other stanza would break: it must stand alone. */
	for (i = 0; i < h->n; i++) {
		if (strcmp(h->st[i].args[0], "scrypt") == 0 && h->n != 1) {
			r = ERR_AGE_HEADER;
			goto out;
		}
	}
	*out = h;
	h = NULL;
	r = 0;
 out:
	buf_free(lb);
	buf_free(b);
	age_header_free(h);
	return r;
}

/* ---- MAC ---- */

static int
header_mac(const uint8_t key[AGE_FILE_KEY_LEN], const uint8_t *p, size_t n,
    uint8_t mac[AGE_MAC_LEN])
{
	uint8_t hk[32];
	crypto_auth_hmacsha256_state st;
	int r;

	if ((r = hkdf_sha256(hk, sizeof(hk), key, AGE_FILE_KEY_LEN, NULL, 0,
	    (const uint8_t *)HEADER_INFO, strlen(HEADER_INFO))) != 0)
		return r;
	crypto_auth_hmacsha256_init(&st, hk, sizeof(hk));
	crypto_auth_hmacsha256_update(&st, p, n);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(hk, sizeof(hk));
	return 0;
}

int
age_header_verify_mac(const struct age_header *h,
    const uint8_t key[AGE_FILE_KEY_LEN])
{
	uint8_t mac[AGE_MAC_LEN];
	int r;

	if ((r = header_mac(key, h->bytes, h->mac_input_len, mac)) != 0)
		return r;
	r = sodium_memcmp(mac, h->mac, sizeof(mac)) == 0 ? 0 : ERR_AGE_HMAC;
	sodium_memzero(mac, sizeof(mac));
	return r;
}

/* ---- unwrap ---- */

/* Returns 0 with the key, 1 if the stanza is not ours or does not open,
 * or ERR_AGE_HEADER if it is ours but malformed. */
static int
unwrap_x25519(const struct age_identity *id, const struct age_stanza *st,
    uint8_t key[AGE_FILE_KEY_LEN])
{
	uint8_t share[AGE_X25519_LEN], shared[AGE_X25519_LEN];
	uint8_t salt[2 * AGE_X25519_LEN], wrap[32];
	size_t n = 0;
	int r = ERR_INTERNAL;

	if (strcmp(st->args[0], "X25519") != 0)
		return 1;
	if (st->nargs != 2 ||
	    age_b64_decode((const uint8_t *)st->args[1], strlen(st->args[1]),
	    share, sizeof(share), &n, 0) != 0 || n != sizeof(share) ||
	    st->body_len != WRAP_BODY_LEN)
		return ERR_AGE_HEADER;
	/* libsodium refuses an all-zero result (low-order share). */
	if (crypto_scalarmult(shared, id->sk, share) != 0) {
		r = ERR_AGE_HEADER;
		goto out;
	}
	memcpy(salt, share, AGE_X25519_LEN);
	memcpy(salt + AGE_X25519_LEN, id->pk, AGE_X25519_LEN);
	if ((r = hkdf_sha256(wrap, sizeof(wrap), shared, sizeof(shared),
	    salt, sizeof(salt), (const uint8_t *)X25519_INFO,
	    strlen(X25519_INFO))) != 0)
		goto out;
	if (crypto_aead_chacha20poly1305_ietf_decrypt(key, NULL, NULL,
	    st->body, st->body_len, NULL, 0, zero_nonce, wrap) != 0) {
		r = 1;
		goto out;
	}
	r = 0;
 out:
	sodium_memzero(shared, sizeof(shared));
	sodium_memzero(wrap, sizeof(wrap));
	return r;
}

static int
scrypt_wrap_key(const char *pass, size_t pass_len,
    const uint8_t salt[AGE_SCRYPT_SALT_LEN], int log_n, uint8_t wrap[32])
{
	uint8_t s[sizeof(SCRYPT_LABEL) - 1 + AGE_SCRYPT_SALT_LEN];

	memcpy(s, SCRYPT_LABEL, sizeof(SCRYPT_LABEL) - 1);
	memcpy(s + sizeof(SCRYPT_LABEL) - 1, salt, AGE_SCRYPT_SALT_LEN);
	if (crypto_pwhash_scryptsalsa208sha256_ll((const uint8_t *)pass,
	    pass_len, s, sizeof(s), (uint64_t)1 << log_n, 8, 1, wrap, 32) != 0)
		return ERR_NOMEM;	/* libsodium fails only on resources */
	return 0;
}

static int
unwrap_scrypt(const struct age_identity *id, const struct age_stanza *st,
    uint8_t key[AGE_FILE_KEY_LEN])
{
	uint8_t salt[AGE_SCRYPT_SALT_LEN], wrap[32];
	const char *w;
	size_t n = 0, wl;
	int log_n, r = ERR_INTERNAL;

	if (strcmp(st->args[0], "scrypt") != 0)
		return 1;
	if (st->nargs != 3 ||
	    age_b64_decode((const uint8_t *)st->args[1], strlen(st->args[1]),
	    salt, sizeof(salt), &n, 0) != 0 || n != sizeof(salt))
		return ERR_AGE_HEADER;
	/* Work factor: ^[1-9][0-9]*$, and at most the identity's cap. */
	w = st->args[2];
	wl = strlen(w);
	if (wl == 0 || wl > 2 || w[0] < '1' || w[0] > '9' ||
	    (wl == 2 && (w[1] < '0' || w[1] > '9')))
		return ERR_AGE_HEADER;
	log_n = w[0] - '0';
	if (wl == 2)
		log_n = log_n * 10 + (w[1] - '0');
	if (log_n > id->max_log_n || st->body_len != WRAP_BODY_LEN)
		return ERR_AGE_HEADER;
	if ((r = scrypt_wrap_key(id->pass, id->pass_len, salt, log_n,
	    wrap)) != 0)
		goto out;
	if (crypto_aead_chacha20poly1305_ietf_decrypt(key, NULL, NULL,
	    st->body, st->body_len, NULL, 0, zero_nonce, wrap) != 0) {
		r = 1;
		goto out;
	}
	r = 0;
 out:
	sodium_memzero(wrap, sizeof(wrap));
	return r;
}

int
age_header_unwrap(const struct age_header *h,
    struct age_identity *const *ids, size_t n, uint8_t key[AGE_FILE_KEY_LEN])
{
	size_t i, j;
	int r;

	for (i = 0; i < n; i++) {
		if (ids[i] == NULL)
			return ERR_INVALID;
		for (j = 0; j < h->n; j++) {
			switch (ids[i]->kind) {
			case AGE_KIND_X25519:
				r = unwrap_x25519(ids[i], &h->st[j], key);
				break;
			case AGE_KIND_SCRYPT:
				r = unwrap_scrypt(ids[i], &h->st[j], key);
				break;
			default:
				return ERR_INTERNAL;
			}
			if (r <= 0)
				return r;
		}
	}
	sodium_memzero(key, AGE_FILE_KEY_LEN);
	return ERR_AGE_NO_MATCH;
}

/* ---- writing ---- */

static int
put_body(struct buf *out, const uint8_t *body, size_t n)
{
	struct buf *enc = NULL;
	size_t left, k;
	int r = ERR_INTERNAL;

	if ((enc = buf_new(AGE_HEADER_MAX)) == NULL)
		return ERR_NOMEM;
	if ((r = age_b64_put(enc, body, n)) != 0)
		goto out;
	/* Full 64-column lines, then a final shorter (maybe empty) one. */
	for (;;) {
		left = buf_len(enc);
		k = left < BODY_COLS ? left : BODY_COLS;
		if ((r = buf_put(out, buf_ptr(enc), k)) != 0 ||
		    (r = buf_put_u8(out, '\n')) != 0 ||
		    (r = buf_consume(enc, k)) != 0)
			goto out;
		if (k < BODY_COLS)
			break;
	}
	r = 0;
 out:
	buf_free(enc);
	return r;
}

static int
wrap_x25519(const struct age_recipient *rc,
    const uint8_t key[AGE_FILE_KEY_LEN], struct buf *out)
{
	uint8_t eph[AGE_X25519_LEN], share[AGE_X25519_LEN];
	uint8_t shared[AGE_X25519_LEN], salt[2 * AGE_X25519_LEN], wrap[32];
	uint8_t body[WRAP_BODY_LEN];
	int r = ERR_INTERNAL;

	randombytes_buf(eph, sizeof(eph));
	if (crypto_scalarmult_base(share, eph) != 0 ||
	    crypto_scalarmult(shared, eph, rc->pk) != 0) {
		r = ERR_KEY;
		goto out;
	}
	memcpy(salt, share, AGE_X25519_LEN);
	memcpy(salt + AGE_X25519_LEN, rc->pk, AGE_X25519_LEN);
	if ((r = hkdf_sha256(wrap, sizeof(wrap), shared, sizeof(shared),
	    salt, sizeof(salt), (const uint8_t *)X25519_INFO,
	    strlen(X25519_INFO))) != 0)
		goto out;
	crypto_aead_chacha20poly1305_ietf_encrypt(body, NULL, key,
	    AGE_FILE_KEY_LEN, NULL, 0, NULL, zero_nonce, wrap);
	if ((r = buf_put_str(out, "-> X25519 ")) != 0 ||
	    (r = age_b64_put(out, share, sizeof(share))) != 0 ||
	    (r = buf_put_u8(out, '\n')) != 0 ||
	    (r = put_body(out, body, sizeof(body))) != 0)
		goto out;
	r = 0;
 out:
	sodium_memzero(eph, sizeof(eph));
	sodium_memzero(shared, sizeof(shared));
	sodium_memzero(wrap, sizeof(wrap));
	return r;
}

static int
wrap_scrypt(const struct age_recipient *rc,
    const uint8_t key[AGE_FILE_KEY_LEN], struct buf *out)
{
	uint8_t salt[AGE_SCRYPT_SALT_LEN], wrap[32], body[WRAP_BODY_LEN];
	int r = ERR_INTERNAL;

	randombytes_buf(salt, sizeof(salt));
	if ((r = scrypt_wrap_key(rc->pass, rc->pass_len, salt, rc->log_n,
	    wrap)) != 0)
		goto out;
	crypto_aead_chacha20poly1305_ietf_encrypt(body, NULL, key,
	    AGE_FILE_KEY_LEN, NULL, 0, NULL, zero_nonce, wrap);
	if ((r = buf_put_str(out, "-> scrypt ")) != 0 ||
	    (r = age_b64_put(out, salt, sizeof(salt))) != 0 ||
	    (r = buf_putf(out, " %d\n", rc->log_n)) != 0 ||
	    (r = put_body(out, body, sizeof(body))) != 0)
		goto out;
	r = 0;
 out:
	sodium_memzero(wrap, sizeof(wrap));
	return r;
}

int
age_header_write(struct age_recipient *const *rcs, size_t n,
    const uint8_t key[AGE_FILE_KEY_LEN], struct buf *out)
{
	uint8_t mac[AGE_MAC_LEN];
	size_t start, i;
	int r = ERR_INTERNAL;

	if (rcs == NULL || key == NULL || out == NULL || n == 0 ||
	    n > AGE_MAX_STANZAS)
		return ERR_INVALID;
	if (sodium_init() < 0)
		return ERR_INTERNAL;
	for (i = 0; i < n; i++) {
		if (rcs[i] == NULL ||
		    (rcs[i]->kind == AGE_KIND_SCRYPT && n != 1))
			return ERR_INVALID;
	}
	start = buf_len(out);
	if ((r = buf_put_str(out, VERSION_LINE "\n")) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		r = rcs[i]->kind == AGE_KIND_SCRYPT ?
		    wrap_scrypt(rcs[i], key, out) :
		    wrap_x25519(rcs[i], key, out);
		if (r != 0)
			goto out;
	}
	if ((r = buf_put_str(out, "---")) != 0)
		goto out;
	if ((r = header_mac(key, buf_ptr(out) + start, buf_len(out) - start,
	    mac)) != 0)
		goto out;
	if ((r = buf_put_u8(out, ' ')) != 0 ||
	    (r = age_b64_put(out, mac, sizeof(mac))) != 0 ||
	    (r = buf_put_u8(out, '\n')) != 0)
		goto out;
	r = 0;
 out:
	if (r != 0 && buf_len(out) > start)
		buf_unput(out, buf_len(out) - start);
	return r;
}
