/*
 * err.h: the one error enum shared by every module.
 *
 * Library functions return 0 on success or one of these negative codes.
 * err_str() maps a code to a short, lowercase, secret-free phrase; it never
 * returns NULL. Codes are grouped by the layer that detects them so that a
 * corruption test can assert exactly which check failed.
 */
#ifndef TEXP_ERR_H
#define TEXP_ERR_H

#include <stddef.h>

enum err {
	ERR_OK = 0,
	/* generic */
	ERR_INTERNAL = -1,	/* a bug: an invariant did not hold */
	ERR_NOMEM = -2,		/* allocation failed */
	ERR_INVALID = -3,	/* invalid argument from the caller */
	ERR_IO = -4,		/* read/write/open failed; see errno */
	ERR_TRUNCATED = -5,	/* input ended before a complete item */
	ERR_TRAILING = -6,	/* unexpected data after a complete item */
	ERR_LIMIT = -7,		/* a size or count limit was exceeded */
	ERR_FORMAT = -8,	/* malformed input */
	ERR_UNSUPPORTED = -9,	/* well-formed but not supported */
	ERR_EXISTS = -10,	/* refusing to overwrite */
	ERR_NOENT = -11,	/* no such file or item */
	ERR_PERM = -12,		/* unsafe file permissions or ownership */
	ERR_USAGE = -13,	/* bad command-line usage */

	/* age encryption layer */
	ERR_AGE_HEADER = -20,	/* header malformed */
	ERR_AGE_HMAC = -21,	/* header MAC does not verify */
	ERR_AGE_NO_MATCH = -22,	/* no identity unwraps the file key */
	ERR_AGE_PAYLOAD = -23,	/* a payload chunk failed to authenticate */
	ERR_AGE_ARMOR = -24,	/* ASCII armor malformed */
	ERR_AGE_TRUNCATED = -25, /* payload ends without its final chunk */
	ERR_AGE_TRAILING = -26,	/* data after the final payload chunk */
	ERR_KEY = -27,		/* malformed key or identity */
	ERR_BECH32 = -28,	/* Bech32 encoding or checksum invalid */

	/* signatures */
	ERR_SIG_FORMAT = -40,	/* signature or public key file malformed */
	ERR_SIG_KEYID = -41,	/* signed by a key other than the pinned one */
	ERR_SIG_INVALID = -42,	/* signature does not verify */
	ERR_SIG_COMMENT = -43,	/* trusted comment missing or malformed */
	ERR_PASSPHRASE = -44,	/* wrong passphrase for an encrypted key */

	/* archive content */
	ERR_CBOR = -50,		/* CBOR malformed or not canonical */
	ERR_TAR = -51,		/* tar stream malformed or unexpected entry */
	ERR_MANIFEST = -52,	/* manifest malformed or inconsistent */
	ERR_TENANT = -53,	/* a record belongs to another tenant */
	ERR_HASH = -54,		/* a per-record hash does not recompute */
	ERR_COUNT = -55,	/* record count mismatch */
	ERR_MERKLE = -56,	/* Merkle root mismatch */
	ERR_PART = -57,		/* archive part missing, extra or out of order */
	ERR_EXPIRED = -58,	/* archive past its signed expiry */
	ERR_DIGEST = -59,	/* manifest digest differs from the signed one */
	ERR_PATH = -60,		/* unsafe output path */
	ERR_FOREIGN = -61,	/* a foreign tenant identifier was found */
	ERR_TAG = -62,		/* CBOR tag not allowed, or on other content */
	ERR_TYPE = -63,		/* value does not fit its column's type */

	/* exporter */
	ERR_CONFIG = -70,	/* configuration invalid */
	ERR_DB = -71,		/* database error */
	ERR_POLICY = -72,	/* database does not meet the export policy */
	ERR_SANDBOX = -73,	/* sandbox could not be set up */
	ERR_EMPTY = -74,	/* nothing to export for this request */
	ERR_CHILD = -75,	/* a child process failed or was killed */
	ERR_DENIED = -76,	/* request not authorized */
	ERR_INTERRUPTED = -77,	/* stopped by a signal */
	ERR_TAMPER = -78,	/* the signed control log was altered */
	ERR_CONTROL_ID = -79,	/* signed for another control database */
};

/* Returns a static, lowercase description of code r (never NULL). */
const char *err_str(int r);
/* Returns the stable snake_case name of code r for JSON output ("denied",
 * "wrong_passphrase", ...; "ok" for 0, "unknown" for another value).
 * Names never change once published (docs/JSON.md lists them). */
const char *err_code(int r);

/* Formats a one-line reason into err (errlen bytes, always terminated when
 * errlen > 0). Accepts err == NULL. For the many functions that return a
 * code and fill a caller's message buffer. */
void err_set(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
