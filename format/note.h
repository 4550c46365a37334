/*
 * note.h: C2SP signed notes (shared/reference/signed-note.md) with Ed25519
 * keys, for signed audit-log checkpoints.
 *
 *   note      = text "\n" 1*("— " name " " base64(key id (4, BE) || sig) "\n")
 *   text      ends in "\n"; it may hold empty lines, and the last empty
 *             line of the note separates it from the signatures
 *   key id    = SHA-256(name || 0x0A || 0x01 || Ed25519 public key)[:4]
 *   vkey      = name "+" hex(key id) "+" base64(0x01 || public key (32))
 *   skey      = "PRIVATE+KEY+" name "+" hex(key id) "+"
 *               base64(0x01 || Ed25519 seed (32))
 *
 * Key names are non-empty UTF-8 without Unicode spaces, '+' or control
 * characters, at most NOTE_NAME_MAX bytes. Notes must be valid UTF-8 with
 * no control character but newline. Hex is 8 lower-case digits; base64 is
 * the standard alphabet with padding, decoded strictly. Key strings may end
 * with one newline (as read from a file), nothing else.
 *
 * All functions return 0 or a negative enum err code unless stated.
 */
#ifndef TEXP_NOTE_H
#define TEXP_NOTE_H

#include <stddef.h>
#include <stdint.h>

struct buf;

#define NOTE_NAME_MAX	255
#define NOTE_MAX_SIZE	(1024 * 1024)	/* whole note, bytes */
#define NOTE_MAX_SIGS	100		/* the spec asks for at least 16 */

struct note_signer;
struct note_verifier;

/* New random Ed25519 signer named name (NUL-terminated). ERR_INVALID for
 * an invalid name. On success the caller frees *out. */
int note_keygen(const char *name, struct note_signer **out);
/* Parses an skey. ERR_KEY if malformed or its key id does not match the
 * key, ERR_UNSUPPORTED for a signature type other than Ed25519 (0x01).
 * The secret lives in sodium_malloc'd memory; the caller frees *out. */
int note_signer_parse(const char *skey, size_t len, struct note_signer **out);
/* Appends the skey text (no newline) to out; use a buf_new_secret buffer. */
int note_signer_encode(const struct note_signer *s, struct buf *out);
/* The matching vkey as a new malloc'd NUL-terminated string. */
int note_signer_vkey(const struct note_signer *s, char **vkey_out);
/* Wipes and frees. Accepts NULL. */
void note_signer_free(struct note_signer *s);

/* Parses a vkey; errors as note_signer_parse. The caller frees *out. */
int note_verifier_parse(const char *vkey, size_t len,
    struct note_verifier **out);
/* Accepts NULL. */
void note_verifier_free(struct note_verifier *v);

/* Signs text (len bytes: valid note text ending in a newline, else
 * ERR_INVALID) and appends the signed note, text included, to out (left
 * unchanged on error). */
int note_sign(const uint8_t *text, size_t len, const struct note_signer *s,
    struct buf *out);
/*
 * Verifies a signed note against one trusted key. Signatures by other
 * keys (a different name or key id) are ignored, as the spec requires.
 * On success *text_out is a malloc'd copy of the note text (final newline
 * included, plus a NUL after *text_len bytes for convenience) the caller
 * frees; on error it is NULL.
 *   ERR_LIMIT        note over NOTE_MAX_SIZE or more than NOTE_MAX_SIGS
 *                    signature lines
 *   ERR_SIG_FORMAT   malformed note or signature line
 *   ERR_SIG_INVALID  a signature from the trusted key does not verify
 *                    (the whole note is rejected, even if another one does)
 *   ERR_SIG_KEYID    no signature from the trusted key
 */
int note_verify(const uint8_t *note, size_t len, const struct note_verifier *v,
    uint8_t **text_out, size_t *text_len);

#endif
