#include <stdarg.h>
#include <stdio.h>

#include "err.h"

void
err_set(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *
err_str(int r)
{
	switch (r) {
	case ERR_OK: return "success";
	case ERR_INTERNAL: return "internal error";
	case ERR_NOMEM: return "out of memory";
	case ERR_INVALID: return "invalid argument";
	case ERR_IO: return "input/output error";
	case ERR_TRUNCATED: return "input truncated";
	case ERR_TRAILING: return "unexpected trailing data";
	case ERR_LIMIT: return "size limit exceeded";
	case ERR_FORMAT: return "malformed input";
	case ERR_UNSUPPORTED: return "unsupported";
	case ERR_EXISTS: return "file exists";
	case ERR_NOENT: return "no such file";
	case ERR_PERM: return "unsafe permissions";
	case ERR_USAGE: return "usage error";
	case ERR_AGE_HEADER: return "age header malformed";
	case ERR_AGE_HMAC: return "age header MAC mismatch";
	case ERR_AGE_NO_MATCH: return "no identity matches any recipient";
	case ERR_AGE_PAYLOAD: return "payload chunk failed authentication";
	case ERR_AGE_ARMOR: return "armor malformed";
	case ERR_AGE_TRUNCATED: return "payload truncated before final chunk";
	case ERR_AGE_TRAILING: return "data after final payload chunk";
	case ERR_KEY: return "malformed key";
	case ERR_BECH32: return "invalid bech32 encoding";
	case ERR_SIG_FORMAT: return "signature malformed";
	case ERR_SIG_KEYID: return "signed by a different key";
	case ERR_SIG_INVALID: return "signature verification failed";
	case ERR_SIG_COMMENT: return "trusted comment invalid";
	case ERR_PASSPHRASE: return "wrong passphrase";
	case ERR_CBOR: return "CBOR malformed or not canonical";
	case ERR_TAR: return "tar stream malformed";
	case ERR_MANIFEST: return "manifest invalid";
	case ERR_TENANT: return "record of another tenant";
	case ERR_HASH: return "record hash mismatch";
	case ERR_COUNT: return "record count mismatch";
	case ERR_MERKLE: return "Merkle root mismatch";
	case ERR_PART: return "archive part missing, extra or out of order";
	case ERR_EXPIRED: return "archive expired";
	case ERR_DIGEST: return "manifest digest mismatch";
	case ERR_PATH: return "unsafe path";
	case ERR_FOREIGN: return "foreign tenant identifier found";
	case ERR_TAG: return "CBOR tag not allowed here";
	case ERR_TYPE: return "value does not match its column type";
	case ERR_CONFIG: return "configuration invalid";
	case ERR_DB: return "database error";
	case ERR_POLICY: return "database policy check failed";
	case ERR_SANDBOX: return "sandbox setup failed";
	case ERR_EMPTY: return "nothing to export";
	case ERR_CHILD: return "child process failed";
	case ERR_DENIED: return "not authorized";
	case ERR_INTERRUPTED: return "interrupted";
	case ERR_TAMPER: return "the signed control log was altered";
	case ERR_CONTROL_ID: return "signed for another control database";
	}
	return "unknown error";
}

const char *
err_code(int r)
{
	switch (r) {
	case ERR_OK: return "ok";
	case ERR_INTERNAL: return "internal";
	case ERR_NOMEM: return "out_of_memory";
	case ERR_INVALID: return "invalid";
	case ERR_IO: return "io";
	case ERR_TRUNCATED: return "truncated";
	case ERR_TRAILING: return "trailing_data";
	case ERR_LIMIT: return "limit";
	case ERR_FORMAT: return "malformed";
	case ERR_UNSUPPORTED: return "unsupported";
	case ERR_EXISTS: return "exists";
	case ERR_NOENT: return "not_found";
	case ERR_PERM: return "unsafe_permissions";
	case ERR_USAGE: return "usage";
	case ERR_AGE_HEADER: return "age_header";
	case ERR_AGE_HMAC: return "age_header_mac";
	case ERR_AGE_NO_MATCH: return "no_matching_identity";
	case ERR_AGE_PAYLOAD: return "age_payload";
	case ERR_AGE_ARMOR: return "age_armor";
	case ERR_AGE_TRUNCATED: return "age_truncated";
	case ERR_AGE_TRAILING: return "age_trailing_data";
	case ERR_KEY: return "malformed_key";
	case ERR_BECH32: return "bech32";
	case ERR_SIG_FORMAT: return "signature_malformed";
	case ERR_SIG_KEYID: return "signature_key_id";
	case ERR_SIG_INVALID: return "signature_invalid";
	case ERR_SIG_COMMENT: return "signature_comment";
	case ERR_PASSPHRASE: return "wrong_passphrase";
	case ERR_CBOR: return "cbor";
	case ERR_TAR: return "tar";
	case ERR_MANIFEST: return "manifest";
	case ERR_TENANT: return "other_tenant";
	case ERR_HASH: return "record_hash";
	case ERR_COUNT: return "record_count";
	case ERR_MERKLE: return "merkle_root";
	case ERR_PART: return "part";
	case ERR_EXPIRED: return "expired";
	case ERR_DIGEST: return "manifest_digest";
	case ERR_PATH: return "unsafe_path";
	case ERR_FOREIGN: return "foreign_id";
	case ERR_CONFIG: return "config";
	case ERR_DB: return "database";
	case ERR_POLICY: return "policy";
	case ERR_SANDBOX: return "sandbox";
	case ERR_EMPTY: return "empty";
	case ERR_CHILD: return "child";
	case ERR_DENIED: return "denied";
	case ERR_INTERRUPTED: return "interrupted";
	case ERR_TAMPER: return "control_log_altered";
	case ERR_CONTROL_ID: return "other_control_database";
	}
	return "unknown";
}
