/*
 * rule.h: the rules of docs/FORMAT.md, one code each.
 *
 * Every refusal names the rule it enforces: a stable snake_case code
 * ("trailing_data", "tar_header", ...) that `tenant-verify --json`
 * reports and that the conformance vectors in tests/vectors name, and the
 * section of FORMAT.md that states it. The codes are part of the format's
 * contract: a code is never renamed or reused for another rule; a new rule
 * gets a new code. docs/FORMAT.md §8 lists them all.
 */
#ifndef TEXP_RULE_H
#define TEXP_RULE_H

enum rule {
	RULE_NONE = 0,
	/* §2 encryption */
	RULE_AGE_HEADER,
	RULE_AGE_NO_IDENTITY,
	RULE_AGE_HEADER_MAC,
	RULE_AGE_PAYLOAD,
	RULE_AGE_TRUNCATED,
	RULE_AGE_TRAILING,
	/* §3 content: compression and tar */
	RULE_COMPRESSION,
	RULE_ZSTD_FRAME,
	RULE_TAR_HEADER,
	RULE_TAR_PADDING,
	RULE_TAR_END,
	RULE_TRAILING_DATA,
	RULE_ENTRY_ORDER,
	RULE_ENTRY_SIZE,
	RULE_EMPTY_PART,
	RULE_PART_CUT,
	/* §4 CBOR */
	RULE_CBOR_ENCODING,
	RULE_CBOR_TAG,
	RULE_COLUMN_TYPE,
	RULE_RECORD_SHAPE,
	RULE_FORMAT_VERSION,
	RULE_PREAMBLE,
	RULE_GLOBAL_FLAG,
	RULE_EVIDENCE_SHAPE,
	RULE_MANIFEST,
	/* §5 hashes and the tenant */
	RULE_TENANT_HASH,
	RULE_CONTENT_HASH,
	RULE_MERKLE_ROOT,
	RULE_COUNTS,
	RULE_EXPECTED_TENANT,
	RULE_RECORD_TENANT,
	/* §6 signature and parts */
	RULE_SIGNATURE_MISSING,
	RULE_SIGNATURE_FORMAT,
	RULE_SIGNER_KEY,
	RULE_SIGNATURE,
	RULE_TRUSTED_COMMENT,
	RULE_CLAIMS,
	RULE_MANIFEST_DIGEST,
	RULE_INDEX,
	RULE_PART_MISSING,
	RULE_PART_EXTRA,
	RULE_PART_MISMATCH,
	RULE_PART_SIZE,
	/* §7 what verify reports beyond the format */
	RULE_EXPIRED,
	RULE_FOREIGN_ID,
	RULE_EXTRACTION,
	/* files (§3.4, §4.3, §5) */
	RULE_FILE_ENTRY,
	RULE_FILE_MISSING,
	RULE_FILE_HASH,
	RULE__COUNT
};

/* The snake_case code of r ("trailing_data"); "internal" for RULE_NONE or
 * a value out of range. Never NULL. */
const char *rule_code(enum rule r);
/* The section of docs/FORMAT.md that states r, as "§3", or "" when r is
 * not a format rule (extraction). Never NULL. */
const char *rule_section(enum rule r);
/* The rule a library error code stands for where no more precise rule is
 * known (ERR_AGE_PAYLOAD -> RULE_AGE_PAYLOAD, ERR_CBOR ->
 * RULE_CBOR_ENCODING, ...); RULE_NONE for operational errors. */
enum rule rule_from_err(int code);
/* The enum err code a finding of rule r carries (the reverse, coarser:
 * RULE_TAR_END -> ERR_TAR). ERR_INTERNAL for RULE_NONE. */
int rule_err(enum rule r);

#endif
