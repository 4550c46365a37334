/*
 * sha256.h: SHA-256 (FIPS 180-4) on OpenSSL's libcrypto.
 *
 * The control plane hashes every row of its signed log each time it
 * replays it; libcrypto uses the CPU's SHA instructions where there are
 * any and hashed 2.5 KB rows five times as fast as libsodium's portable
 * crypto_hash_sha256 on the machines measured. tests/check_sha256.c holds
 * it to libsodium byte for byte on random inputs of every length up to
 * 4 KiB, split at every place.
 *
 * Functions return 0, or ERR_NOMEM / ERR_INTERNAL when libcrypto fails;
 * out is then all zero.
 */
#ifndef TEXP_SHA256_H
#define TEXP_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN	32

/* out = SHA-256(p[0..n)). */
int sha256(uint8_t out[SHA256_LEN], const void *p, size_t n);
/* out = SHA-256(a[0..an) || b[0..bn)). */
int sha256_pair(uint8_t out[SHA256_LEN], const void *a, size_t an,
    const void *b, size_t bn);

#endif
