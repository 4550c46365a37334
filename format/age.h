/*
 * age.h: the age v1 file format (age-encryption.org/v1) on libsodium.
 *
 * Supported: X25519 recipients/identities (age1... / AGE-SECRET-KEY-1...),
 * scrypt passphrases, 64 KiB ChaCha20-Poly1305 STREAM payload, and ASCII
 * armor (written on request, auto-detected on read). Other recipient types
 * (ML-KEM hybrids, p256tag, plugins) are not implemented: their stanzas are
 * parsed and skipped, so a file addressed only to them yields
 * ERR_AGE_NO_MATCH.
 *
 * Every function returns 0 or a negative enum err code (format/err.h).
 * Errors are specific so that callers and tests can tell failures apart:
 *   ERR_AGE_HEADER    header malformed, unsupported version, a stanza for
 *                     one of our identities malformed (bad share, body not
 *                     32 bytes, all-zero X25519 secret, scrypt work factor
 *                     above the cap, scrypt mixed with other stanzas), or
 *                     the payload nonce missing
 *   ERR_AGE_HMAC      the header MAC does not verify with the file key
 *   ERR_AGE_NO_MATCH  no identity unwraps any stanza
 *   ERR_AGE_PAYLOAD   a payload chunk does not authenticate (includes an
 *                     empty final chunk in a non-empty payload)
 *   ERR_AGE_TRUNCATED the payload ends without a final chunk
 *   ERR_AGE_TRAILING  data follows the final chunk
 *   ERR_AGE_ARMOR     ASCII armor malformed
 *   ERR_KEY           a recipient or identity string is malformed
 *   ERR_BECH32        (from bech32.h) never escapes: key parsing maps it
 *                     to ERR_KEY
 *
 * Limits on untrusted input: header at most AGE_HEADER_MAX bytes, at most
 * AGE_MAX_STANZAS stanzas of at most AGE_MAX_ARGS arguments, argument lines
 * at most AGE_MAX_LINE bytes; armor lines at most 64 columns and at most
 * 1024 bytes of whitespace around the armor; identity files at most
 * AGE_IDENTITY_FILE_MAX bytes and AGE_MAX_IDENTITIES keys.
 *
 * Memory: encryption and decryption hold one ciphertext and one plaintext
 * chunk buffer each, whatever the file size. Secret keys, passphrases, file
 * and payload keys live in sodium_malloc'd memory and are wiped on free.
 */
#ifndef TEXP_AGE_H
#define TEXP_AGE_H

#include <stddef.h>
#include <stdint.h>

struct buf;

#define AGE_FILE_KEY_LEN 16
#define AGE_CHUNK_SIZE 65536
#define AGE_TAG_LEN 16
#define AGE_NONCE_LEN 16

#define AGE_HEADER_MAX (64 * 1024)
#define AGE_MAX_STANZAS 64
#define AGE_MAX_ARGS 16
#define AGE_MAX_LINE 4096
#define AGE_IDENTITY_FILE_MAX (1024 * 1024)
#define AGE_MAX_IDENTITIES 256

/* scrypt work factors (log2 N). Encryption defaults to 2^18 (256 MiB,
 * about a second), like age. Decryption refuses stanzas above the cap
 * given to age_identity_passphrase(); the default cap 22 is age's and
 * needs 4 GiB of memory (scrypt uses 128 * r * N = 2^(logN+10) bytes), so
 * callers under a memory limit should pass a lower cap. */
#define AGE_SCRYPT_LOG_N_DEFAULT 18
#define AGE_SCRYPT_MAX_LOG_N_DEFAULT 22
#define AGE_SCRYPT_LOG_N_LIMIT 30	/* hard upper bound for both */

/* Output sink: writes all n bytes; returns 0 or a negative err code. */
typedef int (*age_write_fn)(void *ctx, const uint8_t *p, size_t n);
/* Input source: reads at most cap bytes into p and sets *got; *got = 0
 * means end of input. Returns 0 or a negative err code. May return short
 * reads. */
typedef int (*age_read_fn)(void *ctx, uint8_t *p, size_t cap, size_t *got);

struct age_recipient;
struct age_identity;
struct age_enc;
struct age_dec;

/* ---- recipients ---- */

/* Parses an X25519 recipient "age1..." (lowercase, as age prints it).
 * *out is owned by the caller (age_recipient_free). ERR_KEY if malformed
 * (bad checksum, mixed or upper case, wrong HRP, wrong length). */
int age_recipient_parse(const char *s, struct age_recipient **out);
/* A scrypt passphrase recipient; the passphrase is copied into
 * sodium_malloc'd memory. log_n is the work factor (0 selects
 * AGE_SCRYPT_LOG_N_DEFAULT; 1..AGE_SCRYPT_LOG_N_LIMIT). A passphrase
 * recipient must be the only recipient of a file. */
int age_recipient_passphrase(const char *pass, size_t len, int log_n,
    struct age_recipient **out);
/* Accepts NULL; wipes the passphrase. */
void age_recipient_free(struct age_recipient *r);

/* ---- identities ---- */

/* Parses "AGE-SECRET-KEY-1..." (uppercase, as age-keygen writes it).
 * *out is caller-owned (age_identity_free); the key sits in sodium_malloc'd
 * memory. ERR_KEY if malformed. */
int age_identity_parse(const char *s, struct age_identity **out);
/* A scrypt passphrase identity. max_log_n caps the work factor accepted
 * from a header (0 selects AGE_SCRYPT_MAX_LOG_N_DEFAULT = 22, which can
 * take 4 GiB and several seconds; 1..AGE_SCRYPT_LOG_N_LIMIT). A stanza
 * above the cap fails with ERR_AGE_HEADER before any scrypt work. */
int age_identity_passphrase(const char *pass, size_t len, int max_log_n,
    struct age_identity **out);
/* Generates a fresh X25519 identity (caller-owned). */
int age_identity_generate(struct age_identity **out);
/* Encodes an X25519 identity as "AGE-SECRET-KEY-1..." into a sodium_malloc'd
 * NUL-terminated string; the caller frees it with sodium_free. ERR_INVALID
 * for a passphrase identity. */
int age_identity_encode(const struct age_identity *id, char **secret_out);
/* The "age1..." recipient of an X25519 identity, malloc'd (caller frees). */
int age_identity_recipient(const struct age_identity *id,
    char **recipient_out);
/* Loads an identity file: one AGE-SECRET-KEY-1 per line, lines starting
 * with '#' and empty lines ignored, LF or CRLF. The file is opened with
 * O_NOFOLLOW and must be a regular file not accessible by group or others
 * (mode & 077 == 0), like OpenSSH private keys: ERR_PERM otherwise. At
 * least one identity is required (ERR_KEY otherwise, also for any
 * malformed line). On success *ids is a malloc'd array of *n caller-owned
 * identities, freed with age_identities_free. ERR_NOENT if missing, ERR_IO
 * on read errors, ERR_LIMIT if too large. */
int age_identities_load(const char *path, struct age_identity ***ids,
    size_t *n);
/* Accept NULL; wipe keys. */
void age_identity_free(struct age_identity *id);
void age_identities_free(struct age_identity **ids, size_t n);

/* ---- file keys and headers ---- */

/* Fills key with 16 bytes from the CSPRNG. */
int age_file_key_generate(uint8_t key[AGE_FILE_KEY_LEN]);
/* Appends the complete binary header (version line, one stanza per
 * recipient, MAC line) wrapping key for r[0..n) to out. For a caller that
 * holds the file key itself and lets someone else write the payload with
 * age_enc_new_payload(). ERR_INVALID if n == 0, n > AGE_MAX_STANZAS or a
 * passphrase recipient is mixed with others; ERR_KEY if a recipient is a low-order point. */
int age_header_write(struct age_recipient *const *r, size_t n,
    const uint8_t key[AGE_FILE_KEY_LEN], struct buf *out);

/* ---- encryption ---- */

/* Starts a file to r[0..n): generates the file key, writes the header
 * (armored when armor is 1) and the payload nonce through wr. *out is
 * caller-owned (age_enc_free). The recipients need not outlive the call. */
int age_enc_new(struct age_recipient *const *r, size_t n, int armor,
    age_write_fn wr, void *ctx, struct age_enc **out);
/* Starts a payload only (nonce and chunks; no header, no armor) under a
 * file key the caller holds; the key is copied. */
int age_enc_new_payload(const uint8_t key[AGE_FILE_KEY_LEN],
    age_write_fn wr, void *ctx, struct age_enc **out);
/* Encrypts p[0..n); full chunks are written as soon as the next byte
 * arrives (the last chunk is held back until age_enc_finish). After an
 * error the encryptor is dead and returns that error again. */
int age_enc_write(struct age_enc *e, const uint8_t *p, size_t n);
/* Writes the final chunk and, when armored, the armor footer. The file is
 * incomplete (and fails to decrypt) unless this returns 0. */
int age_enc_finish(struct age_enc *e);
/* Accepts NULL; wipes keys and buffers. */
void age_enc_free(struct age_enc *e);

/* ---- decryption ---- */

/* Reads and parses the header (ASCII armor is auto-detected: input whose
 * first non-whitespace byte is '-' is treated as armored) and the payload
 * nonce. *out is caller-owned (age_dec_free); rd/ctx must stay valid for
 * the decryptor's lifetime. */
int age_dec_new(age_read_fn rd, void *ctx, struct age_dec **out);
/* Number of stanzas and the type (first argument) of stanza i, for
 * `inspect`; the string is owned by d. NULL if i is out of range. */
size_t age_dec_stanza_count(const struct age_dec *d);
const char *age_dec_stanza_type(const struct age_dec *d, size_t i);
/* 1 if the input was ASCII-armored. */
int age_dec_armored(const struct age_dec *d);
/* Tries each identity against the stanzas, takes the first file key that
 * unwraps, and verifies the header MAC with it. The identities need not
 * outlive the call. ERR_AGE_NO_MATCH, ERR_AGE_HEADER, ERR_AGE_HMAC. */
int age_dec_unwrap(struct age_dec *d, struct age_identity *const *ids,
    size_t n);
/* Uses a file key the caller already knows; verifies the header MAC
 * (ERR_AGE_HMAC). */
int age_dec_set_file_key(struct age_dec *d,
    const uint8_t key[AGE_FILE_KEY_LEN]);
/* Reads plaintext into out[0..cap) after a successful unwrap or
 * set_file_key. Returns at most one chunk's worth per call. *got == 0
 * (with 0 returned) only once the final chunk has authenticated and the
 * input has ended. Every byte returned has been authenticated; a failing
 * file may still have returned the chunks before the failure. Errors
 * (ERR_AGE_PAYLOAD, ERR_AGE_TRUNCATED, ERR_AGE_TRAILING, ERR_AGE_ARMOR,
 * or the read callback's) are sticky. Reads straight into out when cap is
 * at least AGE_CHUNK_SIZE, avoiding a copy. */
int age_dec_read(struct age_dec *d, uint8_t *out, size_t cap, size_t *got);
/* Accepts NULL; wipes keys and buffers. */
void age_dec_free(struct age_dec *d);

#endif
