/*
 * audit.h: the append-only, hash-chained audit log
 * (texp_control.audit_log).
 *
 * Rows are inserted only by the SECURITY DEFINER SQL function
 * texp_control.audit_append_signed, which serialises appends with a lock,
 * takes seq = last + 1 (no gaps) and computes
 *
 *	hash = sha256(prev_hash || canonical text of the row)
 *
 * with prev_hash of row 1 = 32 zero bytes. The canonical text is
 * texp_control.audit_row_text2(...) (sql/control/002_signed.sql; rows
 * written before it use audit_row_text, version 1); audit.c recomputes it
 * in C, so a verifier does not trust the database's own function. A
 * trigger rejects UPDATE, DELETE and TRUNCATE and no role but the owner
 * holds those rights.
 *
 * Every version 2 row is signed by the service (audit_use_signer): its
 * `action` column is an action text (action.h) of kind EVENT whose fields
 * are, in this order and only when set:
 *
 *	control   the control database's id
 *	seq       the row's seq
 *	prev      hex of the previous row's hash
 *	principal, tenant, job, scope, detail (compact JSON), host, tool
 *	          the row's columns
 *	signed_action, signed_sig
 *	          base64 of the principal's own signed action and signature,
 *	          when the row records one
 *
 * and `signature` is the service's minisign signature over it. Since the
 * signed text names the previous row's hash, rows cannot be dropped,
 * inserted or reordered without the service key, even by someone who
 * recomputes the chain. ledger.h checks all of it.
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
/* The row's signed text and signature, bytes. */
#define AUDIT_ACTION_MAX	(192 * 1024)
#define AUDIT_SIG_MAX		4096

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
	/* the principal's signed action this row records, or NULL */
	const uint8_t *signed_text;
	size_t signed_tlen;
	const uint8_t *signed_sig;
	size_t signed_slen;
};

struct minisig_seckey;

/*
 * The key that signs every row this process appends, and the control
 * database's id that each row names. Both are borrowed and must outlive
 * the appends; NULL clears. Without a signer audit_append fails with
 * ERR_KEY: the log takes signed rows only.
 */
void audit_use_signer(const struct minisig_seckey *sk, const char *control_id);
/* The seq and hash of the last row this process appended (seq 0: none).
 * Whether it was committed is the caller's to know. */
void audit_last(int64_t *seq, uint8_t hash[32]);

/*
 * Appends e as a signed row: in the caller's transaction if one is open
 * (the log stays locked against other appenders until it ends), else in
 * a transaction of its own. The host (gethostname), tool version and the
 * database's clock are filled in. *seq_out (audit_append_seq) gets the
 * new row's seq. ERR_INVALID for an empty event name or an over-long
 * field; ERR_KEY without a signer; ERR_DB on failure.
 */
int audit_append(PGconn *c, const struct audit_event *e, char *err,
    size_t errlen);
int audit_append_seq(PGconn *c, const struct audit_event *e, int64_t *seq_out,
    char *err, size_t errlen);

/* One row as read back; strings are NULL for SQL NULL. */
struct audit_row {
	int64_t seq;
	int v;			/* 1 or 2 */
	const char *at;		/* microseconds since the epoch, decimal */
	const char *event, *principal, *tenant, *job, *scope, *detail;
	const char *host, *tool_version, *action, *signature;
	uint8_t prev[AUDIT_HASH_LEN];
	uint8_t hash[AUDIT_HASH_LEN];
};

/*
 * Reads the whole log in seq order (one snapshot), recomputes the chain
 * from seq 1 and calls fn for every row that chains. Stops at the first
 * row that does not: ERR_HASH, with *first_bad (optional) set and the
 * reason in why (the words of audit_verify). A non-zero return of fn
 * stops the scan and is returned. *rows and head (both optional) get the
 * number of rows read and the last row's hash. ERR_DB on query failure.
 */
typedef int (*audit_row_fn)(void *ctx, const struct audit_row *row);
int audit_scan(PGconn *c, audit_row_fn fn, void *ctx, uint64_t *rows,
    uint8_t head[AUDIT_HASH_LEN], uint64_t *first_bad, char *why,
    size_t whylen);
/*
 * The same for the rows after seq, for a reader that has checked the
 * log up to seq, whose hash is head: the chain goes on from there, and
 * head gets the last row's hash.
 */
int audit_scan_after(PGconn *c, uint64_t seq, uint8_t head[AUDIT_HASH_LEN],
    audit_row_fn fn, void *ctx, char *why, size_t whylen);

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
/* The text of row (version 1 or 2 by row->v). */
int audit_row_text_of(const struct audit_row *row, struct buf *out);

#endif
