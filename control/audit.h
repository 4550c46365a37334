/*
 * audit.h: the append-only, hash-chained audit log
 * (texp_control.audit_log).
 *
 * Rows are inserted only by the SECURITY DEFINER SQL function
 * texp_control.audit_append, which serialises appends with a lock, assigns
 * seq = last + 1 (no gaps) and computes
 *
 *	hash = sha256(prev_hash || canonical text of the row)
 *
 * with prev_hash of row 1 = 32 zero bytes. The canonical text is
 * texp_control.audit_row_text(...) (sql/control/001_control.sql); audit.c
 * recomputes it in C, so a verifier does not trust the database's own
 * function. A trigger rejects UPDATE, DELETE and TRUNCATE and no role but
 * the owner holds those rights.
 *
 * Checkpoints are C2SP tlog-checkpoint bodies signed as signed notes:
 *
 *	<origin>\n
 *	<tree size = number of rows, decimal>\n
 *	<base64 of the hash of row <tree size> (32 zero bytes when empty)>\n
 *
 * Because each hash covers every row before it, a log "extends" a
 * checkpoint of size N exactly when its row N still carries that hash.
 *
 * No secret, passphrase, key or row content belongs in an event: callers
 * pass identifiers, scopes and reasons only.
 *
 * Functions return 0 or a negative enum err code unless stated.
 */
#ifndef TEXP_AUDIT_H
#define TEXP_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

struct buf;
struct note_signer;
struct note_verifier;

#define AUDIT_HASH_LEN		32
#define AUDIT_ORIGIN_MAX	255
#define AUDIT_DETAIL_MAX	(64 * 1024)	/* detail_json, bytes */
#define AUDIT_FIELD_MAX		1024		/* other text fields, bytes */

/*
 * One event. Every field but event may be NULL (stored as NULL).
 * detail_json, when set, must be a JSON object (checked by the server);
 * job is the hex id-hash prefix, never the job id.
 */
struct audit_event {
	const char *event;
	const char *principal;
	const char *tenant;
	const char *job;
	const char *scope;
	const char *detail_json;
};

/*
 * Appends e through texp_control.audit_append; the host (gethostname) and
 * tool version are filled in. *seq_out (audit_append_seq) gets the new
 * row's seq. ERR_INVALID for an empty event name or an over-long field;
 * ERR_DB on failure.
 */
int audit_append(PGconn *c, const struct audit_event *e, char *err,
    size_t errlen);
int audit_append_seq(PGconn *c, const struct audit_event *e, int64_t *seq_out,
    char *err, size_t errlen);

/*
 * Reads the whole log in seq order and recomputes the chain from seq 1.
 * Returns 0 if every row is intact (and, when checkpoint is not NULL, the
 * log extends it); otherwise ERR_HASH with *first_bad_seq set to the seq
 * of the first bad row (or the position where a row is missing) and a
 * reason in why: "row N changed" (its stored hash does not match its
 * content), "row N missing" (a gap in seq: deleted), "row N out of
 * sequence" (seq not increasing: reordered or inserted), "row N does not
 * chain" (prev_hash differs from the previous row's hash: inserted,
 * deleted or reordered). With a checkpoint (cplen bytes, a signed note
 * verified with v): ERR_SIG_INVALID / ERR_SIG_KEYID / ERR_SIG_FORMAT from
 * the note, ERR_FORMAT for a malformed body, ERR_HASH with first_bad_seq =
 * checkpoint size when the log is shorter than the checkpoint or its row
 * there has another hash. *first_bad_seq is 0 when no row is to blame.
 * ERR_DB on query failure. *rows_out (audit_verify_count) gets the number of
 * rows checked.
 */
int audit_verify(PGconn *c, const char *checkpoint, size_t cplen,
    const struct note_verifier *v, uint64_t *first_bad_seq, char *why,
    size_t whylen);
int audit_verify_count(PGconn *c, const char *checkpoint, size_t cplen,
    const struct note_verifier *v, uint64_t *first_bad_seq, uint64_t *rows_out,
    char *why, size_t whylen);

/*
 * Appends to out a signed checkpoint of the log as it is now (origin: a
 * non-empty line without control characters, at most AUDIT_ORIGIN_MAX
 * bytes). The chain is verified first: a broken log is not checkpointed
 * (ERR_HASH).
 */
int audit_checkpoint(PGconn *c, const char *origin, const struct note_signer *s,
    struct buf *out);

/*
 * Parses a checkpoint body (the note text, already verified). On success
 * *size and hash are set; origin_out (optional) gets a malloc'd copy of
 * the origin. ERR_FORMAT otherwise (extension lines are allowed and
 * ignored).
 */
int audit_checkpoint_parse(const uint8_t *text, size_t len, char **origin_out,
    uint64_t *size, uint8_t hash[AUDIT_HASH_LEN]);

/*
 * The canonical row text hashed into the chain (what the SQL function
 * texp_control.audit_row_text computes), appended to out: at is the row
 * time as decimal microseconds since the epoch; detail is jsonb's text;
 * NULL fields are encoded differently from empty ones. Exposed for tests.
 */
int audit_row_text(int64_t seq, const char *at, const char *event,
    const char *principal, const char *tenant, const char *job,
    const char *scope, const char *detail, const char *host,
    const char *tool_version, struct buf *out);

#endif
