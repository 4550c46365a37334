/*
 * report.h: tenant-verify's findings and summaries, for people and as
 * JSON.
 *
 * Everything printed comes from the verify result and the archive's own
 * metadata (table names, hashes, times); never a row value or a key.
 * Strings that came from the archive are made safe for a terminal (control
 * characters replaced) in the human output and are valid UTF-8 in JSON.
 */
#ifndef TEXP_REPORT_H
#define TEXP_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

struct minisig_pubkey;
struct verify_result;

#define REPORT_PROG	"tenant-verify"

/* Formats unix time t as "YYYY-MM-DDTHH:MM:SSZ" (UTC) into out; times
 * beyond year 9999 print as the decimal number. Returns out. */
const char *report_time(uint64_t t, char *out, size_t len);

/* The key id as minisign prints it (upper-case hex of the little-endian
 * u64). Returns out (at least 17 bytes). */
const char *report_keyid(const struct minisig_pubkey *pk, char *out,
    size_t len);

/* Copies s into out (truncating to len - 1 bytes), replacing C0/C1
 * control characters and DEL with '?'. Returns out. */
const char *report_safe(const char *s, char *out, size_t len);

/* 1 when r proves the archive: no failures, signature and content good. */
int report_proven(const struct verify_result *r);

/* One line per stored finding: "tenant-verify: FAIL: <msg>" or
 * "tenant-verify: WARN: <msg>", then a line for findings not stored. */
void report_findings(FILE *f, const struct verify_result *r);

/* The key id of a signature (8 bytes, as stored), as minisign prints it.
 * Returns out (at least 17 bytes). */
const char *report_keyid_bytes(const uint8_t *id, char *out, size_t len);

/*
 * The human summary: archive, layout, export id, tenant hash, created and
 * expires (UTC ISO-8601), manifest digest, each table with its record
 * count, the signature status (the key that verified it, or the key the
 * signature names and the pinned ones), foreign hits when foreign is
 * nonzero, and the verdict "PROVEN: ..." or "NOT PROVEN: N failures".
 * signers[0..nsigners) are the pinned keys (none: inspect).
 */
void report_summary(FILE *f, const char *archive, const char *tenant,
    const struct verify_result *r, const struct minisig_pubkey *const *signers,
    size_t nsigners, int foreign);

/*
 * The same as one JSON object (new reference, caller json_decref()s; NULL
 * on ENOMEM): archive, proven, failures [{code, section, message}] (code:
 * the rule's stable snake_case code, rule.h), warnings (the same),
 * failures_total, warnings_total, export_id,
 * tenant_hash, created, expires, manifest_digest (hex / ISO strings, null
 * when unknown), tables [{name, records, parts}], records, size, parts,
 * signature_ok, signer_key_id (the key that verified the signature, or
 * null), pinned_key_ids, foreign_hits.
 */
json_t *report_json(const char *archive, const struct verify_result *r,
    const struct minisig_pubkey *const *signers, size_t nsigners);

/* A JSON string for s, made valid UTF-8 if it was not; NULL on ENOMEM. */
json_t *report_json_str(const char *s);

/* Prints j indented, with a final newline. 0 or ERR_IO. */
int report_json_print(FILE *f, const json_t *j);

/* "tenant-verify: <context>: <reason>" on stderr. */
void report_error(const char *context, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
