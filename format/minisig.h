/*
 * minisig.h: minisign-compatible Ed25519 keys and signatures.
 *
 * Byte layouts (checked against minisign 0.11; all base64 is RFC 4648
 * standard with padding, one line, decoded strictly):
 *
 *   public key   "untrusted comment: <text>\n" base64(pk) "\n"
 *                pk = "Ed" || key id (8) || Ed25519 public key (32)
 *   secret key   "untrusted comment: <text>\n" base64(sk) "\n"
 *                sk = "Ed" || kdf ("Sc", or 0x00 0x00 when unencrypted)
 *                     || "B2" || salt (32) || opslimit (u64 LE)
 *                     || memlimit (u64 LE) || keynum_sk (104)
 *                keynum_sk = key id (8) || Ed25519 secret key (64)
 *                     || checksum (32) = BLAKE2b-256("Ed" || key id || sk)
 *                When encrypted, all 104 bytes of keynum_sk (checksum
 *                included) are XORed with scrypt(passphrase, salt,
 *                opslimit, memlimit). Unencrypted keys made by
 *                `minisign -G -W` carry an all-zero checksum; both that
 *                and a correct one are accepted.
 *   signature    "untrusted comment: <text>\n"
 *                base64("ED" || key id (8) || Ed25519(BLAKE2b-512(file))) "\n"
 *                "trusted comment: <text>\n"
 *                base64(Ed25519(signature (64) || trusted comment text)) "\n"
 *
 * We only produce and accept the prehashed "ED" algorithm. The legacy "Ed"
 * signature signs the whole file as one Ed25519 message, so verifying it
 * needs the entire file in memory at once; archives are large and streamed,
 * so this API only ever sees the prehash. `minisign -V -H` refuses legacy
 * signatures the same way. A legacy signature fails with ERR_UNSUPPORTED.
 *
 * Parsers are strict: LF line ends only (a CR is an error), no trailing
 * lines, exact field sizes, whitelisted algorithm tags. The newline after
 * the last line may be missing.
 *
 * All functions return 0 or a negative enum err code unless stated.
 */
#ifndef TEXP_MINISIG_H
#define TEXP_MINISIG_H

#include <stddef.h>
#include <stdint.h>

struct buf;

#define MINISIG_PREHASH_LEN	64	/* BLAKE2b-512 */
#define MINISIG_KEYID_LEN	8
#define MINISIG_TRUSTED_MAX	1024	/* our cap; minisign allows more */
/* Longest untrusted comment stock minisign reads back (its 1024-byte
 * line buffer holds the prefix, the comment and the newline). */
#define MINISIG_UNTRUSTED_MAX	1003
/* Upper bounds on the scrypt cost read from a secret key file: minisign
 * writes exactly these (libsodium's "sensitive" limits, 1 GiB). Anything
 * larger is refused with ERR_LIMIT rather than allocated. */
#define MINISIG_KDF_OPSLIMIT_MAX	33554432ULL
#define MINISIG_KDF_MEMLIMIT_MAX	1073741824ULL

struct minisig_pubkey;
struct minisig_seckey;
struct minisig_hash;

/*
 * Public keys.
 */

/* Parses a whole .pub file (comment line + base64 line) or the bare base64
 * line, as `minisign -P` takes it. On success *out is a new key the caller
 * frees with minisig_pubkey_free. ERR_SIG_FORMAT if malformed,
 * ERR_UNSUPPORTED for an algorithm other than "Ed". */
int minisig_pubkey_parse(const char *text, size_t len,
    struct minisig_pubkey **out);
/* Reads and parses a .pub file (O_NOFOLLOW, regular file, at most 4 KiB).
 * ERR_IO / ERR_NOENT on open or read failure. */
int minisig_pubkey_load(const char *path, struct minisig_pubkey **out);
/* 1 if the file at path is a minisign public key (a common mistake where
 * a secret key belongs: callers say so), else 0. */
int minisig_pubkey_file(const char *path);
/* Full file text, "untrusted comment: minisign public key <ID>\n<b64>\n",
 * NUL-terminated, in a new malloc'd string the caller frees. */
int minisig_pubkey_encode(const struct minisig_pubkey *pk, char **text_out);
/* Copies the key id (as stored in the files, little-endian order). */
void minisig_pubkey_keyid(const struct minisig_pubkey *pk,
    uint8_t id[MINISIG_KEYID_LEN]);
/* A key id as minisign shows it (the .pub file's comment, minisign -V):
 * upper-case hex digits (no leading zeros) of the id read as a
 * little-endian integer.
 * Every message and log entry names keys this way. */
#define MINISIG_KEYID_HEX	(2 * MINISIG_KEYID_LEN + 1)
void minisig_keyid_hex(const uint8_t id[MINISIG_KEYID_LEN],
    char out[MINISIG_KEYID_HEX]);
/* Writes the encoded key to a new file (O_EXCL, O_NOFOLLOW, mode 0644).
 * ERR_EXISTS if path exists. */
int minisig_pubkey_write(const struct minisig_pubkey *pk, const char *path);
/* Accepts NULL. */
void minisig_pubkey_free(struct minisig_pubkey *pk);

/*
 * Keyrings: several pinned public keys in one file, so that a signing key
 * can be rotated without breaking anyone who verifies. One key per line,
 * as the bare base64 line of a .pub file; empty lines, lines starting with
 * '#' and "untrusted comment: " lines are skipped, so .pub files
 * concatenated make a keyring. LF line ends (a CR is an error). Keys are
 * told apart by key id: two keys with the same id are refused.
 * On success *keys is a malloc'd array of *n keys (at least one), freed
 * with minisig_keyring_free. Errors: ERR_SIG_FORMAT or ERR_UNSUPPORTED for
 * a line that is not a key, ERR_EXISTS for a repeated key id (*line_no
 * then names the line, counting from 1; 0 otherwise), ERR_LIMIT for more
 * than MINISIG_KEYRING_MAX keys, ERR_NOENT for none; the load adds
 * file_read_small's errors.
 */
#define MINISIG_KEYRING_MAX		64
#define MINISIG_KEYRING_FILE_MAX	(64 * 1024)
int minisig_keyring_parse(const char *text, size_t len,
    struct minisig_pubkey ***keys, size_t *n, size_t *line_no);
int minisig_keyring_load(const char *path, struct minisig_pubkey ***keys,
    size_t *n, size_t *line_no);
/* Frees every key and the array. Accepts NULL. */
void minisig_keyring_free(struct minisig_pubkey **keys, size_t n);

/*
 * Secret keys. The key material lives in sodium_malloc'd memory and is
 * wiped by minisig_seckey_free.
 *
 * A key object remembers how it is protected: the passphrase it was
 * generated or loaded with (kept in sodium_malloc'd memory), or none, and
 * the scrypt cost. minisig_seckey_write with pass == NULL keeps that
 * protection; a non-NULL pass re-encrypts with the new passphrase.
 */

/* Generates a new key pair with a random key id. pass (passlen bytes) is
 * the passphrase later writes use; NULL means the key is written
 * unencrypted. New keys use the maximum scrypt cost above, as minisign
 * does. On success the caller owns *sk and *pk. */
int minisig_keygen(const char *pass, size_t passlen,
    struct minisig_seckey **sk, struct minisig_pubkey **pk);
/* Parses a secret key file's text. pass may be NULL for an unencrypted
 * key (and is ignored for one). ERR_PASSPHRASE if the key is encrypted and
 * pass is NULL or wrong (checksum mismatch); ERR_KEY if malformed or
 * internally inconsistent; ERR_UNSUPPORTED for unknown algorithm tags;
 * ERR_LIMIT for a scrypt cost above the caps. On success the caller owns
 * *out. */
int minisig_seckey_parse(const char *text, size_t len, const char *pass,
    size_t passlen, struct minisig_seckey **out);
/* Reads path (O_NOFOLLOW, regular file, at most 4 KiB) and parses it as
 * above. ERR_PERM if the file is readable or writable by group or others. */
int minisig_seckey_load(const char *path, const char *pass, size_t passlen,
    struct minisig_seckey **out);
/*
 * Cost levels for a new key's scrypt: the memory unlocking it needs is
 * 16 MiB << 2 * (level - 1): 1 = 16 MiB, 2 = 64 MiB, 3 = 256 MiB (the
 * default), 4 = 1 GiB (what minisign -G writes); the time grows with it
 * (docs/KEYS.md has figures). The parameters are written into the key
 * file, so any minisign reads the key. ERR_INVALID for another level.
 */
#define MINISIG_COST_MIN	1
#define MINISIG_COST_DEFAULT	3
#define MINISIG_COST_MAX	4
int minisig_cost_params(int level, uint64_t *opslimit, uint64_t *memlimit);
/* Sets the scrypt cost used when sk is next encrypted. Values outside
 * libsodium's range or above the caps give ERR_INVALID. Lower costs are
 * for tests; keys that matter keep the default. */
int minisig_seckey_set_kdf(struct minisig_seckey *sk, uint64_t opslimit,
    uint64_t memlimit);
/* Appends the secret key file text to out (use a buf_new_secret buffer:
 * an unencrypted key's text is the secret). pass as for
 * minisig_seckey_write. */
int minisig_seckey_encode(const struct minisig_seckey *sk, const char *pass,
    size_t passlen, struct buf *out);
/* Writes the secret key to a new file (O_EXCL, O_NOFOLLOW, mode 0600),
 * synced; removes the file again if writing fails. ERR_EXISTS if path
 * exists. */
int minisig_seckey_write(const struct minisig_seckey *sk, const char *path,
    const char *pass, size_t passlen);
/* Forgets the passphrase sk remembers: later writes and encodings with
 * pass == NULL store it unencrypted (for a copy the caller keeps in
 * memory it protects itself, parsed back without a passphrase). */
void minisig_seckey_forget_passphrase(struct minisig_seckey *sk);
/* The key id of sk. */
void minisig_seckey_keyid(const struct minisig_seckey *sk,
    uint8_t id[MINISIG_KEYID_LEN]);
/* New public key object for sk (caller frees), or NULL on ENOMEM. */
struct minisig_pubkey *minisig_seckey_pubkey(const struct minisig_seckey *sk);
/* Wipes and frees. Accepts NULL. */
void minisig_seckey_free(struct minisig_seckey *sk);

/*
 * Prehash: BLAKE2b-512 of the signed file, streamed.
 */

/* New hash state, or NULL on ENOMEM. */
struct minisig_hash *minisig_hash_new(void);
int minisig_hash_update(struct minisig_hash *h, const uint8_t *p, size_t n);
/* Writes the digest; h must not be updated afterwards (only freed). */
int minisig_hash_final(struct minisig_hash *h,
    uint8_t out[MINISIG_PREHASH_LEN]);
/* Accepts NULL. */
void minisig_hash_free(struct minisig_hash *h);
/* Hashes everything readable from fd, from its current offset to EOF. */
int minisig_hash_file(int fd, uint8_t out[MINISIG_PREHASH_LEN]);
/*
 * Which BLAKE2b the prehash uses: the faster here, measured on first use
 * (minisig.c). Tests pin one (-1: measure again as usual); hashes already
 * started keep theirs.
 */
#define MINISIG_PREHASH_B2B	0
#define MINISIG_PREHASH_SODIUM	1
int minisig_prehash_impl(void);
void minisig_prehash_pin(int impl);

/*
 * Signatures.
 */

/* Signs prehash and appends a whole signature file to sigfile_out (which
 * is left unchanged on error). untrusted_comment may be NULL for a
 * default; trusted_comment must not be NULL (it may be empty). Comments
 * must not contain CR or LF; the trusted comment is at most
 * MINISIG_TRUSTED_MAX bytes, the untrusted one MINISIG_UNTRUSTED_MAX
 * (ERR_INVALID otherwise). */
int minisig_sign(const struct minisig_seckey *sk,
    const uint8_t prehash[MINISIG_PREHASH_LEN], const char *untrusted_comment,
    const char *trusted_comment, struct buf *sigfile_out);
/*
 * Verifies a whole signature file against pk and the file's prehash.
 * On success, if trusted_out is not NULL, *trusted_out is a malloc'd,
 * NUL-terminated copy of the trusted comment (the caller frees it); it is
 * left NULL on any error. The file is parsed whole first; a damaged part
 * gives the error of the first damaged part in file order:
 *   ERR_SIG_FORMAT   comment or signature lines malformed (prefix, base64,
 *                    sizes, algorithm tag, trailing data)
 *   ERR_SIG_COMMENT  trusted comment line missing, over the cap, or
 *                    containing CR or NUL
 * Then, on a well-formed file, in this order:
 *   ERR_UNSUPPORTED  legacy non-prehashed "Ed" signature
 *   ERR_SIG_KEYID    key id differs from pk's
 *   ERR_SIG_INVALID  the signature over the prehash does not verify
 *   ERR_SIG_COMMENT  the global signature over the trusted comment does
 *                    not verify
 */
int minisig_verify(const struct minisig_pubkey *pk,
    const uint8_t prehash[MINISIG_PREHASH_LEN], const uint8_t *sigfile,
    size_t len, char **trusted_out);
/*
 * The same against several pinned keys pks[0..n): the key whose key id
 * the signature names is used (*which is its index; SIZE_MAX when none
 * is). keyid receives the signature's key id whenever the file parsed,
 * for messages. ERR_SIG_KEYID when no pinned key has that id; otherwise
 * minisig_verify's errors.
 */
int minisig_verify_any(const struct minisig_pubkey *const *pks, size_t n,
    const uint8_t prehash[MINISIG_PREHASH_LEN], const uint8_t *sigfile,
    size_t len, size_t *which, uint8_t keyid[MINISIG_KEYID_LEN],
    char **trusted_out);
/*
 * The trusted comment alone: the same parsing and key choice, and the
 * global signature over (signature, trusted comment), but not the
 * signature over the signed file's prehash. It proves that the pinned key
 * signed this comment (for some file); nothing about the file's bytes.
 * For tenant-verify's --content-only, where the comment names a manifest
 * that binds the content. minisig_verify_any's errors but ERR_SIG_INVALID.
 */
int minisig_verify_comment_any(const struct minisig_pubkey *const *pks,
    size_t n, const uint8_t *sigfile, size_t len, size_t *which,
    uint8_t keyid[MINISIG_KEYID_LEN], char **trusted_out);

#endif
