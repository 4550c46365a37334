/*
 * action.h: signed control-plane actions (requests, approvals, fetches,
 * admin changes).
 *
 * An action is a short canonical text signed with the acting principal's
 * minisign key. Unlocking the passphrase-protected key is the
 * re-authentication; the time and the random nonce make each signature
 * fresh and single-use. The text is
 *
 *	"texp-action v1\n"
 *	"kind=KIND\n"
 *	"time=UNIX\n"			decimal seconds, no leading zero
 *	"nonce=32HEX\n"			16 random bytes, lower-case hex
 *	"key=value\n" ...		in the order given by the signer
 *
 * KIND and keys match ^[a-z][a-z0-9_.:-]{0,31}$; keys are unique and none
 * of "kind", "time", "nonce". Values are valid UTF-8 without control
 * characters (no C0, DEL or C1 code point, so no line break), at most
 * ACTION_VALUE_MAX bytes, kept byte for byte: tenant ids and display
 * names in any script travel unchanged. The whole text is at most
 * ACTION_TEXT_MAX bytes and ACTION_MAX_FIELDS key lines. The signature is
 * a minisign signature file (prehashed "ED") over the text, with the
 * trusted comment "texp-action v1 kind=KIND" so that a signature for one
 * kind cannot be presented as another even if the text were
 * reinterpreted.
 *
 * Every action a principal sends to the service carries the field
 * "control" (the control database's id, control.h): an action signed
 * for one control database is refused by another.
 *
 * Functions return 0 or a negative enum err code unless stated.
 */
#ifndef TEXP_ACTION_H
#define TEXP_ACTION_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

struct buf;
struct minisig_seckey;
struct control_principal;
struct minisig_pubkey;

#define ACTION_TEXT_MAX		(192 * 1024)
#define ACTION_VALUE_MAX	(160 * 1024)
#define ACTION_MAX_FIELDS	32
#define ACTION_KIND_MAX		32
#define ACTION_NONCE_LEN	16
/* Default freshness window (seconds) for action_verify's max_age. */
#define ACTION_MAX_AGE_DEFAULT	300
/* Cap on a signature file we read (a minisign one is ~ 350 bytes). */
#define ACTION_SIG_MAX		4096

/*
 * Builds the canonical text for kind and the n key/value pairs, with the
 * current time and a fresh random nonce, appends it to text_out and a
 * minisign signature file over it to sig_out. ERR_INVALID for a bad kind,
 * key or value (nothing is appended then).
 */
int action_sign(const struct minisig_seckey *sk, const char *kind,
    const char *const *keys, const char *const *values, size_t n,
    struct buf *text_out, struct buf *sig_out);
/* The same with an explicit time (tests build stale actions with it). */
int action_sign_at(const struct minisig_seckey *sk, const char *kind,
    uint64_t when, const char *const *keys, const char *const *values,
    size_t n, struct buf *text_out, struct buf *sig_out);

struct action;

/*
 * Parses text without a database and without checking any signature
 * (unit tests, `action show`). ERR_FORMAT if it is not exactly a canonical
 * action text (any deviation: order, duplicates, CR, missing final LF,
 * non-canonical numbers, upper-case hex). On success the caller frees *out;
 * action_principal() of a parsed-only action is NULL.
 */
int action_parse(const uint8_t *text, size_t tlen, struct action **out);

/*
 * Checks text against one public key, without freshness or replay
 * checks (the log's readers use it on rows already accepted):
 * ERR_FORMAT if the text or the signature file is malformed,
 * ERR_SIG_INVALID if the signature does not verify or its trusted comment
 * is not "texp-action v1 kind=KIND" for the text's kind. On success *out
 * is the parsed action (action_principal() is NULL), owned by the caller.
 */
int action_check(const uint8_t *text, size_t tlen, const uint8_t *sig,
    size_t slen, const struct minisig_pubkey *pk, struct action **out);

/*
 * Who holds which key, and which nonces were already accepted: the
 * signed log (ledger.h) answers both. find returns 0 and fills *p and *pk
 * (borrowed, valid while ctx is) for the enabled principal holding
 * key_id, ERR_DENIED when none does. nonce_seen returns 1 if an accepted
 * action already used the nonce.
 */
struct action_keys {
	int (*find)(void *ctx, const uint8_t key_id[8],
	    struct control_principal *p, const struct minisig_pubkey **pk);
	int (*nonce_seen)(void *ctx, const uint8_t nonce[ACTION_NONCE_LEN]);
	void *ctx;
};

/*
 * Full verification of an action a principal sent, in this order:
 *   ERR_FORMAT       text or signature file malformed
 *   ERR_DENIED       the signing key id is not a registered, enabled
 *                    principal (keys->find)
 *   ERR_SIG_INVALID  the signature does not verify, or its trusted
 *                    comment is not "texp-action v1 kind=KIND"
 *   ERR_CONTROL_ID   its "control" field is not control_id
 *   ERR_EXPIRED      |now - time| > max_age (now: the database's clock)
 *   ERR_EXISTS       the nonce was seen before (replay): in the log, or
 *                    in texp_control.nonces
 *   ERR_DB           query failure
 * On success the nonce is recorded in texp_control.nonces (so a second
 * call with the same text fails with ERR_EXISTS) and *out is the verified
 * action, owned by the caller. The nonce row is written in the caller's
 * transaction if one is open. err receives a short reason suitable for
 * the audit log. On failure *out is NULL; action_sig_keyid() names the
 * claimed key for the denial record.
 */
int action_verify(PGconn *c, const uint8_t *text, size_t tlen,
    const uint8_t *sig, size_t slen, const struct action_keys *keys,
    const char *control_id, uint64_t now, uint64_t max_age,
    struct action **out, char *err, size_t errlen);

/* 1 if s is a value an action may carry (UTF-8, no control character,
 * at most ACTION_VALUE_MAX bytes). */
int action_value_valid(const char *s);

/* The key id a signature file claims (not verified), for audit records of
 * refused actions. ERR_FORMAT if the file is malformed. */
int action_sig_keyid(const uint8_t *sig, size_t slen, uint8_t key_id[8]);

/* Accessors; strings are owned by a and live as long as it. */
const char *action_kind(const struct action *a);
/* Value of key, or NULL if absent ("kind", "time", "nonce" work too). */
const char *action_get(const struct action *a, const char *key);
uint64_t action_time(const struct action *a);
/* 32 lower-case hex digits, and the 16 bytes. */
const char *action_nonce_hex(const struct action *a);
const uint8_t *action_nonce(const struct action *a);
/* The verifying principal, or NULL for an action_parse'd one. */
const struct control_principal *action_principal(const struct action *a);
/* Accepts NULL. */
void action_free(struct action *a);

/*
 * Loads a principal's passphrase-protected minisign secret key for
 * signing (`--as KEY`). The passphrase comes from passfile when not NULL
 * (first line, trailing newline removed; the file must not be readable by
 * group or others), else, when stdin is a terminal, from a prompt on
 * /dev/tty (readpassphrase, echo off); otherwise ERR_USAGE. The passphrase
 * is held in sodium memory and wiped. ERR_PASSPHRASE for a wrong one.
 * An unencrypted key is refused (ERR_KEY): the passphrase is the
 * re-authentication. On success the caller frees *out.
 */
int action_seckey_load(const char *keypath, const char *passfile,
    struct minisig_seckey **out, char *err, size_t errlen);

#endif
