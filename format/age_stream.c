/*
 * age_stream.c: age encryption and decryption objects: header plumbing and
 * the ChaCha20-Poly1305 STREAM payload (64 KiB chunks, 11-byte big-endian
 * counter, final-chunk flag).
 *
 * Memory is constant: one ciphertext and one plaintext chunk buffer per
 * object, allocated once. Decryption writes straight into the caller's
 * buffer when it can hold a whole chunk.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "aead.h"
#include "age.h"
#include "age_int.h"
#include "buf.h"
#include "err.h"
#include "hkdf.h"

#define PAYLOAD_INFO "payload"
#define HEADER_READ 1024
#define VERSION_PREFIX "age-encryption.org/v1\n"

/* The payload key, derived from the file key and the payload nonce, keys
 * *out; the derived bytes are wiped here and live on only inside it. */
static int
payload_aead(const uint8_t fkey[AGE_FILE_KEY_LEN],
    const uint8_t nonce[AGE_NONCE_LEN], struct aead **out)
{
	uint8_t key[AEAD_KEY_LEN];
	int r;

	if ((r = hkdf_sha256(key, sizeof(key), fkey, AGE_FILE_KEY_LEN, nonce,
	    AGE_NONCE_LEN, (const uint8_t *)PAYLOAD_INFO,
	    strlen(PAYLOAD_INFO))) == 0)
		r = aead_new(key, out);
	sodium_memzero(key, sizeof(key));
	return r;
}

/* 11-byte big-endian counter then the last-chunk flag. A 64-bit counter
 * fills the low 8 bytes; the file would be 2^80 bytes before it wraps. */
static void
chunk_nonce(uint8_t n[AEAD_NONCE_LEN],
    uint64_t ctr, int last)
{
	int i;

	memset(n, 0, AEAD_NONCE_LEN);
	for (i = 0; i < 8; i++)
		n[10 - i] = (uint8_t)(ctr >> (8 * i));
	n[11] = last ? 1 : 0;
}

/* ---- encryption ---- */

struct age_enc {
	age_write_fn wr;
	void *ctx;
	int armor;
	struct age_armor_enc ae;
	struct aead *aead;	/* keyed with the payload key */
	uint8_t *pbuf;		/* pending plaintext, AGE_CHUNK_SIZE */
	size_t plen;
	uint8_t *cbuf;		/* AGE_ENC_CHUNK */
	uint64_t counter;
	int err;
	int finished;
};

static int
enc_out(struct age_enc *e, const uint8_t *p, size_t n)
{
	if (e->armor)
		return age_armor_enc_write(&e->ae, p, n);
	return e->wr(e->ctx, p, n);
}

static int
enc_seal(struct age_enc *e, const uint8_t *p, size_t n, int last)
{
	uint8_t nonce[AEAD_NONCE_LEN];
	int r;

	if (e->counter == UINT64_MAX)
		return ERR_LIMIT;
	chunk_nonce(nonce, e->counter, last);
	if ((r = aead_seal(e->aead, nonce, p, n, e->cbuf)) != 0)
		return r;
	e->counter++;
	return enc_out(e, e->cbuf, n + AGE_TAG_LEN);
}

static int
enc_alloc(age_write_fn wr, void *ctx, struct age_enc **out)
{
	struct age_enc *e;

	*out = NULL;
	if (sodium_init() < 0)
		return ERR_INTERNAL;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return ERR_NOMEM;
	e->wr = wr;
	e->ctx = ctx;
	if ((e->pbuf = malloc(AGE_CHUNK_SIZE)) == NULL ||
	    (e->cbuf = malloc(AGE_ENC_CHUNK)) == NULL) {
		age_enc_free(e);
		return ERR_NOMEM;
	}
	*out = e;
	return 0;
}

/* Writes the nonce and derives the payload key. */
static int
enc_start_payload(struct age_enc *e, const uint8_t fkey[AGE_FILE_KEY_LEN])
{
	uint8_t nonce[AGE_NONCE_LEN];
	int r;

	randombytes_buf(nonce, sizeof(nonce));
	if ((r = payload_aead(fkey, nonce, &e->aead)) != 0)
		return r;
	return enc_out(e, nonce, sizeof(nonce));
}

int
age_enc_new_payload(const uint8_t key[AGE_FILE_KEY_LEN],
    age_write_fn wr, void *ctx, struct age_enc **out)
{
	struct age_enc *e = NULL;
	int r = ERR_INTERNAL;

	if (out == NULL)
		return ERR_INVALID;
	*out = NULL;
	if (key == NULL || wr == NULL)
		return ERR_INVALID;
	if ((r = enc_alloc(wr, ctx, &e)) != 0)
		return r;
	if ((r = enc_start_payload(e, key)) != 0)
		goto out;
	*out = e;
	e = NULL;
	r = 0;
 out:
	age_enc_free(e);
	return r;
}

int
age_enc_new(struct age_recipient *const *rcs, size_t n, int armor,
    age_write_fn wr, void *ctx, struct age_enc **out)
{
	struct age_enc *e = NULL;
	struct buf *hdr = NULL;
	uint8_t *fkey = NULL;
	int r = ERR_INTERNAL;

	if (out == NULL)
		return ERR_INVALID;
	*out = NULL;
	if (rcs == NULL || n == 0 || wr == NULL)
		return ERR_INVALID;
	if ((r = enc_alloc(wr, ctx, &e)) != 0)
		return r;
	if ((fkey = sodium_malloc(AGE_FILE_KEY_LEN)) == NULL ||
	    (hdr = buf_new(AGE_HEADER_MAX)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if ((r = age_file_key_generate(fkey)) != 0 ||
	    (r = age_header_write(rcs, n, fkey, hdr)) != 0)
		goto out;
	if (armor) {
		e->armor = 1;
		if ((r = age_armor_enc_begin(&e->ae, wr, ctx)) != 0)
			goto out;
	}
	if ((r = enc_out(e, buf_ptr(hdr), buf_len(hdr))) != 0 ||
	    (r = enc_start_payload(e, fkey)) != 0)
		goto out;
	*out = e;
	e = NULL;
	r = 0;
 out:
	if (fkey != NULL)
		sodium_free(fkey);
	buf_free(hdr);
	age_enc_free(e);
	return r;
}

int
age_enc_write(struct age_enc *e, const uint8_t *p, size_t n)
{
	size_t k;
	int r = ERR_INTERNAL;

	if (e == NULL || (p == NULL && n != 0))
		return ERR_INVALID;
	if (e->err != 0)
		return e->err;
	if (e->finished)
		return ERR_INVALID;
	while (n > 0) {
		/* A full pending chunk is not the last one: more data came. */
		if (e->plen == AGE_CHUNK_SIZE) {
			if ((r = enc_seal(e, e->pbuf, e->plen, 0)) != 0)
				goto fail;
			e->plen = 0;
		}
		if (e->plen == 0 && n > AGE_CHUNK_SIZE) {
			if ((r = enc_seal(e, p, AGE_CHUNK_SIZE, 0)) != 0)
				goto fail;
			p += AGE_CHUNK_SIZE;
			n -= AGE_CHUNK_SIZE;
			continue;
		}
		k = AGE_CHUNK_SIZE - e->plen;
		if (k > n)
			k = n;
		memcpy(e->pbuf + e->plen, p, k);
		e->plen += k;
		p += k;
		n -= k;
	}
	return 0;
 fail:
	e->err = r;
	return r;
}

int
age_enc_finish(struct age_enc *e)
{
	int r;

	if (e == NULL)
		return ERR_INVALID;
	if (e->err != 0)
		return e->err;
	if (e->finished)
		return ERR_INVALID;
	/* The pending chunk is empty only if the whole payload is. */
	if ((r = enc_seal(e, e->pbuf, e->plen, 1)) != 0 ||
	    (e->armor && (r = age_armor_enc_finish(&e->ae)) != 0)) {
		e->err = r;
		return r;
	}
	sodium_memzero(e->pbuf, AGE_CHUNK_SIZE);
	e->plen = 0;
	e->finished = 1;
	return 0;
}

void
age_enc_free(struct age_enc *e)
{
	if (e == NULL)
		return;
	aead_free(e->aead);
	if (e->pbuf != NULL) {
		sodium_memzero(e->pbuf, AGE_CHUNK_SIZE);
		free(e->pbuf);
	}
	free(e->cbuf);
	sodium_memzero(e, sizeof(*e));
	free(e);
}

/* ---- decryption ---- */

enum {
	DEC_NEED_KEY = 0,	/* header parsed, no file key yet */
	DEC_STREAM,		/* decrypting chunks */
	DEC_FINAL,		/* final chunk decrypted; EOF still to check */
	DEC_DONE,		/* final chunk authenticated and input ended */
};

struct age_dec {
	struct age_src src;
	int armored;
	struct age_armor_dec ad;
	struct buf *left;	/* decoded bytes read past the header */
	int in_eof;		/* decoded input has ended */
	struct age_header *h;
	uint8_t nonce[AGE_NONCE_LEN];
	struct aead *aead;	/* keyed with the payload key */
	uint8_t *cbuf;		/* AGE_ENC_CHUNK */
	uint8_t *pbuf;		/* AGE_CHUNK_SIZE */
	size_t poff, plen;
	uint64_t counter;
	int state;
	int err;
};

/* One short read of the decoded (de-armored) input. */
static int
dec_src(struct age_dec *d, uint8_t *p, size_t cap, size_t *got)
{
	size_t n;
	int r;

	*got = 0;
	if (d->left != NULL && (n = buf_len(d->left)) > 0) {
		if (n > cap)
			n = cap;
		if ((r = buf_get(d->left, p, n)) != 0)
			return r;
		*got = n;
		return 0;
	}
	if (d->in_eof)
		return 0;
	if (d->armored)
		r = age_armor_read(&d->ad, &d->src, p, cap, got);
	else
		r = age_src_read(&d->src, p, cap, got);
	if (r == 0 && *got == 0 && cap > 0)
		d->in_eof = 1;
	return r;
}

/* Fills p[0..cap) unless the input ends first. */
static int
dec_fill(struct age_dec *d, uint8_t *p, size_t cap, size_t *got)
{
	size_t n;
	int r;

	*got = 0;
	while (*got < cap) {
		if ((r = dec_src(d, p + *got, cap - *got, &n)) != 0)
			return r;
		if (n == 0)
			break;
		*got += n;
	}
	return 0;
}

/* Locates the end of the header (the LF closing the "---" line) in the
 * bytes read so far. Only the MAC line starts with '-' after a LF: the
 * version line, "-> " stanza lines aside, every other line is base64. */
static int
header_end(const uint8_t *p, size_t len, size_t *from, size_t *hlen)
{
	const uint8_t *m, *e;

	*hlen = 0;
	while (*from + 4 <= len) {
		if ((m = memmem(p + *from, len - *from, "\n---", 4)) == NULL) {
			*from = len - 3;
			return 0;
		}
		*from = (size_t)(m - p);
		if ((e = memchr(m + 1, '\n', len - *from - 1)) == NULL)
			return 0;
		*hlen = (size_t)(e - p) + 1;
		return 0;
	}
	return 0;
}

static int
dec_read_header(struct age_dec *d)
{
	struct buf *hb = NULL;
	uint8_t *dst;
	size_t got, from = 0, hlen = 0, cmp;
	int r = ERR_INTERNAL;

	if ((hb = buf_new(AGE_HEADER_MAX + HEADER_READ)) == NULL)
		return ERR_NOMEM;
	while (hlen == 0) {
		if (buf_len(hb) > AGE_HEADER_MAX) {
			r = ERR_AGE_HEADER;
			goto out;
		}
		if ((r = buf_reserve(hb, HEADER_READ, &dst)) != 0)
			goto out;
		if ((r = dec_src(d, dst, HEADER_READ, &got)) != 0)
			goto out;
		if ((r = buf_unput(hb, HEADER_READ - got)) != 0)
			goto out;
		if (got == 0) {
			r = ERR_AGE_HEADER;	/* ended before the MAC line */
			goto out;
		}
		/* Fail fast on anything that is not a v1 header. */
		cmp = buf_len(hb) < strlen(VERSION_PREFIX) ? buf_len(hb) :
		    strlen(VERSION_PREFIX);
		if (memcmp(buf_ptr(hb), VERSION_PREFIX, cmp) != 0) {
			r = ERR_AGE_HEADER;
			goto out;
		}
		if ((r = header_end(buf_ptr(hb), buf_len(hb), &from,
		    &hlen)) != 0)
			goto out;
	}
	if ((r = age_header_parse(buf_ptr(hb), hlen, &d->h)) != 0)
		goto out;
	if ((r = buf_consume(hb, hlen)) != 0)
		goto out;
	d->left = hb;
	hb = NULL;
	r = 0;
 out:
	buf_free(hb);
	return r;
}

int
age_dec_new(age_read_fn rd, void *ctx, struct age_dec **out)
{
	struct age_dec *d = NULL;
	size_t got = 0;
	int r = ERR_INTERNAL;

	if (out == NULL)
		return ERR_INVALID;
	*out = NULL;
	if (rd == NULL)
		return ERR_INVALID;
	if (sodium_init() < 0)
		return ERR_INTERNAL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return ERR_NOMEM;
	if ((r = age_src_init(&d->src, rd, ctx)) != 0)
		goto out;
	if ((d->cbuf = malloc(AGE_ENC_CHUNK)) == NULL ||
	    (d->pbuf = malloc(AGE_CHUNK_SIZE)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if ((r = age_src_detect_armor(&d->src, &d->armored)) != 0)
		goto out;
	if ((r = dec_read_header(d)) != 0)
		goto out;
	/* The nonce belongs to the payload, but a file without one is a
	 * broken header in the reference implementation's terms. */
	if ((r = dec_fill(d, d->nonce, sizeof(d->nonce), &got)) != 0)
		goto out;
	if (got != sizeof(d->nonce)) {
		r = ERR_AGE_HEADER;
		goto out;
	}
	d->state = DEC_NEED_KEY;
	*out = d;
	d = NULL;
	r = 0;
 out:
	age_dec_free(d);
	return r;
}

size_t
age_dec_stanza_count(const struct age_dec *d)
{
	return d == NULL || d->h == NULL ? 0 : d->h->n;
}

const char *
age_dec_stanza_type(const struct age_dec *d, size_t i)
{
	if (d == NULL || d->h == NULL || i >= d->h->n)
		return NULL;
	return d->h->st[i].args[0];
}

int
age_dec_armored(const struct age_dec *d)
{
	return d != NULL && d->armored;
}

static int
dec_use_key(struct age_dec *d, const uint8_t fkey[AGE_FILE_KEY_LEN])
{
	int r;

	if ((r = age_header_verify_mac(d->h, fkey)) != 0)
		return r;
	if ((r = payload_aead(fkey, d->nonce, &d->aead)) != 0)
		return r;
	d->state = DEC_STREAM;
	return 0;
}

int
age_dec_unwrap(struct age_dec *d, struct age_identity *const *ids, size_t n)
{
	uint8_t *fkey = NULL;
	int r = ERR_INTERNAL;

	if (d == NULL || (ids == NULL && n != 0))
		return ERR_INVALID;
	if (d->state != DEC_NEED_KEY)
		return ERR_INVALID;
	if ((fkey = sodium_malloc(AGE_FILE_KEY_LEN)) == NULL)
		return ERR_NOMEM;
	if ((r = age_header_unwrap(d->h, ids, n, fkey)) != 0)
		goto out;
	if ((r = dec_use_key(d, fkey)) != 0)
		goto out;
	r = 0;
 out:
	sodium_free(fkey);
	return r;
}

int
age_dec_set_file_key(struct age_dec *d, const uint8_t key[AGE_FILE_KEY_LEN])
{
	if (d == NULL || key == NULL)
		return ERR_INVALID;
	if (d->state != DEC_NEED_KEY)
		return ERR_INVALID;
	return dec_use_key(d, key);
}

/* After the final chunk: the input must end here. */
static int
dec_check_eof(struct age_dec *d)
{
	uint8_t c;
	size_t got = 0;
	int r;

	if ((r = dec_src(d, &c, 1, &got)) != 0)
		return r;
	if (got != 0)
		return ERR_AGE_TRAILING;
	d->state = DEC_DONE;
	return 0;
}

/* Reads and opens the next chunk into dst (AGE_CHUNK_SIZE bytes). */
static int
dec_chunk(struct age_dec *d, uint8_t *dst, size_t *mlen)
{
	uint8_t nonce[AEAD_NONCE_LEN];
	size_t n = 0;
	int r, last = 0, ok;

	*mlen = 0;
	if ((r = dec_fill(d, d->cbuf, AGE_ENC_CHUNK, &n)) != 0)
		return r;
	if (n == 0)
		return ERR_AGE_TRUNCATED;
	if (d->counter == UINT64_MAX)
		return ERR_AGE_PAYLOAD;
	if (n < AGE_ENC_CHUNK) {
		/* Short, so the input ended: this must be the final chunk,
		 * and it may be empty only as the very first chunk. */
		if (n < AGE_TAG_LEN || (n == AGE_TAG_LEN && d->counter != 0))
			return ERR_AGE_PAYLOAD;
		last = 1;
	}
	chunk_nonce(nonce, d->counter, last);
	ok = aead_open(d->aead, nonce, d->cbuf, n, dst) == 0;
	if (!ok && !last) {
		/* A full-size chunk may still be the final one. */
		last = 1;
		chunk_nonce(nonce, d->counter, last);
		ok = aead_open(d->aead, nonce, d->cbuf, n, dst) == 0;
	}
	if (!ok)
		return ERR_AGE_PAYLOAD;
	d->counter++;
	if (last)
		d->state = DEC_FINAL;
	*mlen = n - AGE_TAG_LEN;
	return 0;
}

int
age_dec_read(struct age_dec *d, uint8_t *out, size_t cap, size_t *got)
{
	size_t n;
	int r = ERR_INTERNAL;

	if (got != NULL)
		*got = 0;
	if (d == NULL || out == NULL || got == NULL || cap == 0)
		return ERR_INVALID;
	if (d->err != 0)
		return d->err;
	if (d->state == DEC_NEED_KEY)
		return ERR_INVALID;
	for (;;) {
		if (d->poff < d->plen) {
			n = d->plen - d->poff;
			if (n > cap)
				n = cap;
			memcpy(out, d->pbuf + d->poff, n);
			d->poff += n;
			*got = n;
			return 0;
		}
		if (d->state == DEC_DONE)
			return 0;
		if (d->state == DEC_FINAL) {
			if ((r = dec_check_eof(d)) != 0)
				goto fail;
			return 0;
		}
		if (cap >= AGE_CHUNK_SIZE) {
			if ((r = dec_chunk(d, out, &n)) != 0)
				goto fail;
			if (n > 0) {
				*got = n;
				return 0;
			}
		} else {
			d->poff = d->plen = 0;
			if ((r = dec_chunk(d, d->pbuf, &n)) != 0)
				goto fail;
			d->plen = n;
		}
	}
 fail:
	d->err = r;
	return r;
}

void
age_dec_free(struct age_dec *d)
{
	if (d == NULL)
		return;
	age_src_clear(&d->src);
	buf_free(d->left);
	age_header_free(d->h);
	aead_free(d->aead);
	free(d->cbuf);
	if (d->pbuf != NULL) {
		sodium_memzero(d->pbuf, AGE_CHUNK_SIZE);
		free(d->pbuf);
	}
	sodium_memzero(d, sizeof(*d));
	free(d);
}
