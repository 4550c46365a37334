#include <stddef.h>

#include "err.h"
#include "rule.h"

static const struct {
	const char *code;
	const char *section;
} rules[RULE__COUNT] = {
	[RULE_NONE] = { "internal", "" },
	[RULE_AGE_HEADER] = { "age_header", "§2" },
	[RULE_AGE_NO_IDENTITY] = { "age_no_identity", "§2" },
	[RULE_AGE_HEADER_MAC] = { "age_header_mac", "§2" },
	[RULE_AGE_PAYLOAD] = { "age_payload", "§2" },
	[RULE_AGE_TRUNCATED] = { "age_truncated", "§2" },
	[RULE_AGE_TRAILING] = { "age_trailing", "§2" },
	[RULE_COMPRESSION] = { "compression", "§3" },
	[RULE_ZSTD_FRAME] = { "zstd_frame", "§3" },
	[RULE_TAR_HEADER] = { "tar_header", "§3" },
	[RULE_TAR_PADDING] = { "tar_padding", "§3" },
	[RULE_TAR_END] = { "tar_end", "§3" },
	[RULE_TRAILING_DATA] = { "trailing_data", "§3" },
	[RULE_ENTRY_ORDER] = { "entry_order", "§3" },
	[RULE_ENTRY_SIZE] = { "entry_size", "§3" },
	[RULE_EMPTY_PART] = { "empty_part", "§3" },
	[RULE_PART_CUT] = { "part_cut", "§3" },
	[RULE_CBOR_ENCODING] = { "cbor_encoding", "§4" },
	[RULE_CBOR_TAG] = { "cbor_tag", "§4" },
	[RULE_COLUMN_TYPE] = { "column_type", "§4" },
	[RULE_RECORD_SHAPE] = { "record_shape", "§4" },
	[RULE_FORMAT_VERSION] = { "format_version", "§4" },
	[RULE_PREAMBLE] = { "preamble", "§4" },
	[RULE_GLOBAL_FLAG] = { "global_flag", "§4" },
	[RULE_EVIDENCE_SHAPE] = { "evidence_shape", "§4" },
	[RULE_MANIFEST] = { "manifest", "§4" },
	[RULE_TENANT_HASH] = { "tenant_hash", "§5" },
	[RULE_CONTENT_HASH] = { "content_hash", "§5" },
	[RULE_MERKLE_ROOT] = { "merkle_root", "§5" },
	[RULE_COUNTS] = { "counts", "§5" },
	[RULE_EXPECTED_TENANT] = { "expected_tenant", "§5" },
	[RULE_RECORD_TENANT] = { "record_tenant", "§5" },
	[RULE_SIGNATURE_MISSING] = { "signature_missing", "§6" },
	[RULE_SIGNATURE_FORMAT] = { "signature_format", "§6" },
	[RULE_SIGNER_KEY] = { "signer_key", "§6" },
	[RULE_SIGNATURE] = { "signature", "§6" },
	[RULE_TRUSTED_COMMENT] = { "trusted_comment", "§6" },
	[RULE_CLAIMS] = { "claims", "§6" },
	[RULE_MANIFEST_DIGEST] = { "manifest_digest", "§6" },
	[RULE_INDEX] = { "index", "§6" },
	[RULE_PART_MISSING] = { "part_missing", "§6" },
	[RULE_PART_EXTRA] = { "part_extra", "§6" },
	[RULE_PART_MISMATCH] = { "part_mismatch", "§6" },
	[RULE_PART_SIZE] = { "part_size", "§6" },
	[RULE_EXPIRED] = { "expired", "§7" },
	[RULE_FOREIGN_ID] = { "foreign_id", "§7" },
	[RULE_EXTRACTION] = { "extraction", "" },
	[RULE_FILE_ENTRY] = { "file_entry", "§3" },
	[RULE_FILE_MISSING] = { "file_missing", "§4" },
	[RULE_FILE_HASH] = { "file_hash", "§5" },
};

const char *
rule_code(enum rule r)
{
	if ((int)r < 0 || r >= RULE__COUNT || rules[r].code == NULL)
		return "internal";
	return rules[r].code;
}

const char *
rule_section(enum rule r)
{
	if ((int)r < 0 || r >= RULE__COUNT || rules[r].section == NULL)
		return "";
	return rules[r].section;
}

enum rule
rule_from_err(int code)
{
	switch (code) {
	case ERR_AGE_HEADER: case ERR_AGE_ARMOR: case ERR_KEY:
		return RULE_AGE_HEADER;
	case ERR_AGE_NO_MATCH: return RULE_AGE_NO_IDENTITY;
	case ERR_AGE_HMAC: return RULE_AGE_HEADER_MAC;
	case ERR_AGE_PAYLOAD: return RULE_AGE_PAYLOAD;
	case ERR_AGE_TRUNCATED: return RULE_AGE_TRUNCATED;
	case ERR_AGE_TRAILING: return RULE_AGE_TRAILING;
	case ERR_CBOR: return RULE_CBOR_ENCODING;
	case ERR_TAG: return RULE_CBOR_TAG;
	case ERR_TYPE: return RULE_COLUMN_TYPE;
	case ERR_TAR: return RULE_TAR_HEADER;
	case ERR_MANIFEST: return RULE_MANIFEST;
	case ERR_UNSUPPORTED: return RULE_FORMAT_VERSION;
	case ERR_TENANT: return RULE_RECORD_TENANT;
	case ERR_HASH: return RULE_CONTENT_HASH;
	case ERR_COUNT: return RULE_COUNTS;
	case ERR_MERKLE: return RULE_MERKLE_ROOT;
	case ERR_PART: return RULE_PART_MISMATCH;
	case ERR_EXPIRED: return RULE_EXPIRED;
	case ERR_DIGEST: return RULE_MANIFEST_DIGEST;
	case ERR_FOREIGN: return RULE_FOREIGN_ID;
	case ERR_SIG_FORMAT: return RULE_SIGNATURE_FORMAT;
	case ERR_SIG_KEYID: return RULE_SIGNER_KEY;
	case ERR_SIG_INVALID: return RULE_SIGNATURE;
	case ERR_SIG_COMMENT: return RULE_TRUSTED_COMMENT;
	}
	return RULE_NONE;
}

int
rule_err(enum rule r)
{
	switch (r) {
	case RULE_AGE_HEADER: return ERR_AGE_HEADER;
	case RULE_AGE_NO_IDENTITY: return ERR_AGE_NO_MATCH;
	case RULE_AGE_HEADER_MAC: return ERR_AGE_HMAC;
	case RULE_AGE_PAYLOAD: return ERR_AGE_PAYLOAD;
	case RULE_AGE_TRUNCATED: return ERR_AGE_TRUNCATED;
	case RULE_AGE_TRAILING: return ERR_AGE_TRAILING;
	case RULE_COMPRESSION: case RULE_ZSTD_FRAME: case RULE_TAR_HEADER:
	case RULE_TAR_PADDING: case RULE_TAR_END: case RULE_ENTRY_ORDER:
	case RULE_EMPTY_PART: case RULE_PART_CUT:
		return ERR_TAR;
	case RULE_TRAILING_DATA: return ERR_TRAILING;
	case RULE_ENTRY_SIZE: return ERR_LIMIT;
	case RULE_CBOR_ENCODING: case RULE_RECORD_SHAPE: return ERR_CBOR;
	case RULE_CBOR_TAG: return ERR_TAG;
	case RULE_COLUMN_TYPE: return ERR_TYPE;
	case RULE_FORMAT_VERSION: return ERR_UNSUPPORTED;
	case RULE_PREAMBLE: case RULE_GLOBAL_FLAG: case RULE_MANIFEST:
		return ERR_MANIFEST;
	case RULE_EVIDENCE_SHAPE: case RULE_COUNTS: return ERR_COUNT;
	case RULE_TENANT_HASH: case RULE_CONTENT_HASH: return ERR_HASH;
	case RULE_MERKLE_ROOT: return ERR_MERKLE;
	case RULE_EXPECTED_TENANT: case RULE_RECORD_TENANT: return ERR_TENANT;
	case RULE_SIGNATURE_MISSING: case RULE_SIGNATURE_FORMAT:
		return ERR_SIG_FORMAT;
	case RULE_SIGNER_KEY: return ERR_SIG_KEYID;
	case RULE_SIGNATURE: return ERR_SIG_INVALID;
	case RULE_TRUSTED_COMMENT: case RULE_CLAIMS: return ERR_SIG_COMMENT;
	case RULE_MANIFEST_DIGEST: return ERR_DIGEST;
	case RULE_INDEX: case RULE_PART_MISSING: case RULE_PART_EXTRA:
	case RULE_PART_MISMATCH: case RULE_PART_SIZE:
		return ERR_PART;
	case RULE_EXPIRED: return ERR_EXPIRED;
	case RULE_FOREIGN_ID: return ERR_FOREIGN;
	case RULE_EXTRACTION: return ERR_IO;
	case RULE_FILE_ENTRY: return ERR_TAR;
	case RULE_FILE_MISSING: return ERR_COUNT;
	case RULE_FILE_HASH: return ERR_HASH;
	default: return ERR_INTERNAL;
	}
}
