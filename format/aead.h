/*
 * aead.h: ChaCha20-Poly1305 (RFC 8439: 32-byte key, 12-byte nonce,
 * 16-byte tag, no associated data) for the chunks of the age payload.
 *
 * The payload is nearly every byte tenant-export writes and tenant-verify
 * reads, and OpenSSL's libcrypto (already loaded with libpq) seals and
 * opens it about three times as fast as libsodium on the machines measured
 * (make bench-aead). The C2SP age vectors (tests/check_age.c) fix its
 * output, and tests/check_aead.c holds it to libsodium byte for byte on
 * random messages of every length up to a full chunk's and refuses every
 * forgery libsodium refuses. The header's stanza bodies (a few dozen
 * bytes) stay with libsodium.
 *
 * An aead holds one key (inside libcrypto's context, wiped when freed) and
 * seals or opens any number of messages under different nonces. One
 * aead per thread.
 */
#ifndef TEXP_AEAD_H
#define TEXP_AEAD_H

#include <stddef.h>
#include <stdint.h>

#define AEAD_KEY_LEN	32
#define AEAD_NONCE_LEN	12
#define AEAD_TAG_LEN	16

struct aead;

/* Loads what the cipher needs from libcrypto (its provider, its
 * configuration) now, so that later calls open no file: call it before a
 * sandbox. Safe to call more than once and from threads. 0 or
 * ERR_INTERNAL. */
int aead_prepare(void);

/* A context keyed with key. 0, ERR_NOMEM or ERR_INTERNAL. */
int aead_new(const uint8_t key[AEAD_KEY_LEN], struct aead **out);

/* c[0..n+16) = ciphertext and tag of p[0..n) under nonce (c may not
 * overlap p). 0, or ERR_INVALID (n above INT_MAX) or ERR_INTERNAL. */
int aead_seal(struct aead *a, const uint8_t nonce[AEAD_NONCE_LEN],
    const uint8_t *p, size_t n, uint8_t *c);

/* p[0..clen-16) = the plaintext of c[0..clen) under nonce, or -1 when the
 * tag does not verify (or clen < 16): p is then all zero, no
 * unauthenticated byte is left in it. */
int aead_open(struct aead *a, const uint8_t nonce[AEAD_NONCE_LEN],
    const uint8_t *c, size_t clen, uint8_t *p);

/* Wipes the key and frees a. Accepts NULL. */
void aead_free(struct aead *a);

#endif
