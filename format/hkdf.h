/*
 * hkdf.h: HKDF-SHA-256 (RFC 5869) on libsodium's HMAC-SHA-256.
 *
 * Used by the age layer for the header MAC key, the payload key and the
 * X25519 wrap key. Intermediate keys live on the stack and are wiped before
 * return; the caller owns every buffer.
 */
#ifndef TEXP_HKDF_H
#define TEXP_HKDF_H

#include <stddef.h>
#include <stdint.h>

#define HKDF_SHA256_LEN 32

/* HKDF-Extract: prk = HMAC-SHA-256(salt, ikm). An empty salt (salt may then
 * be NULL) means HashLen zero bytes, as the RFC says. Returns 0 or
 * ERR_INVALID. */
int hkdf_sha256_extract(uint8_t prk[HKDF_SHA256_LEN],
    const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len);

/* HKDF-Expand: out_len (at most 255 * 32) bytes of okm from prk and info.
 * Returns 0 or ERR_INVALID. */
int hkdf_sha256_expand(uint8_t *out, size_t out_len,
    const uint8_t prk[HKDF_SHA256_LEN], const uint8_t *info, size_t info_len);

/* Extract then Expand. Returns 0 or ERR_INVALID; out is zeroed on error. */
int hkdf_sha256(uint8_t *out, size_t out_len,
    const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
    const uint8_t *info, size_t info_len);

#endif
