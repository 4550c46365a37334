/*
 * audit.c: the hash-chained audit log and its signed checkpoints (see
 * audit.h and docs/CONTROL.md).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "action.h"
#include "audit.h"
#include "buf.h"
#include "err.h"
#include "minisig.h"
#include "note.h"
#include "sha256.h"

#ifndef TEXP_VERSION
#define TEXP_VERSION "0.1.0"
#endif

#define ROW_TEXT_MAX	(AUDIT_DETAIL_MAX + 16 * AUDIT_FIELD_MAX + \
    AUDIT_ACTION_MAX + AUDIT_SIG_MAX + 256)
#define HOST_MAX	255

static const char *
pq_msg(const PGresult *res, PGconn *c)
{
	const char *m = res != NULL ?
	    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	return m != NULL ? m : PQerrorMessage(c);
}

/* Text fields: bounded, no control characters (they would make `audit
 * show` output ambiguous). */
static int
field_ok(const char *s, size_t max)
{
	size_t i, n;

	if (s == NULL)
		return 1;
	if ((n = strlen(s)) > max)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static int hash_parse(const char *s, uint8_t out[AUDIT_HASH_LEN]);

/* The process's signer (audit_use_signer), and the last row it wrote. */
static const struct minisig_seckey *signer_sk;
static const char *signer_control;
static int64_t last_seq;
static uint8_t last_hash[AUDIT_HASH_LEN];

void
audit_last(int64_t *seq, uint8_t hash[AUDIT_HASH_LEN])
{
	*seq = last_seq;
	memcpy(hash, last_hash, AUDIT_HASH_LEN);
}

void
audit_use_signer(const struct minisig_seckey *sk, const char *control_id)
{
	signer_sk = sk;
	signer_control = control_id;
}

/* Locks the log and reads its head and the database's clock. */
static int
lock_head(PGconn *c, int64_t *seq, char prev_hex[2 * AUDIT_HASH_LEN + 1],
    uint64_t *now, char *err, size_t errlen)
{
	PGresult *res;
	const char *h;
	int r = 0;

	res = PQexec(c, "SELECT seq, hash, now_epoch "
	    "FROM texp_control.audit_lock_head()");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		err_set(err, errlen, "audit: %s", pq_msg(res, c));
		r = ERR_DB;
		goto out;
	}
	h = PQgetvalue(res, 0, 1);
	if (strncmp(h, "\\x", 2) != 0 || strlen(h + 2) != 2 * AUDIT_HASH_LEN) {
		err_set(err, errlen, "audit: malformed head");
		r = ERR_DB;
		goto out;
	}
	memcpy(prev_hex, h + 2, 2 * AUDIT_HASH_LEN + 1);
	*seq = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	*now = strtoull(PQgetvalue(res, 0, 2), NULL, 10);
 out:
	PQclear(res);
	return r;
}

/* base64 (original variant) of p, malloc'd. */
static char *
b64(const uint8_t *p, size_t n)
{
	size_t len = sodium_base64_encoded_len(n,
	    sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(len);

	if (s != NULL)
		sodium_bin2base64(s, len, p, n, sodium_base64_VARIANT_ORIGINAL);
	return s;
}

/* The fields of a row's signed text, in their fixed order. */
static int
service_text(const struct audit_event *e, int64_t seq, const char *prev_hex,
    uint64_t now, const char *host, struct buf *text, struct buf *sig)
{
	const char *keys[12], *vals[12];
	char seqs[24], *sa = NULL, *ss = NULL;
	size_t n = 0;
	int r;

	snprintf(seqs, sizeof(seqs), "%lld", (long long)seq);
#define F(k, v) do { if ((v) != NULL) { keys[n] = (k); vals[n++] = (v); } } while (0)
	F("control", signer_control);
	F("seq", seqs);
	F("prev", prev_hex);
	F("principal", e->principal);
	F("tenant", e->tenant);
	F("job", e->job);
	F("scope", e->scope);
	F("detail", e->detail_json);
	F("host", host);
	F("tool", TEXP_VERSION);
	if (e->signed_text != NULL) {
		if ((sa = b64(e->signed_text, e->signed_tlen)) == NULL ||
		    (ss = b64(e->signed_sig, e->signed_slen)) == NULL) {
			r = ERR_NOMEM;
			goto out;
		}
		F("signed_action", sa);
		F("signed_sig", ss);
	}
#undef F
	r = action_sign_at(signer_sk, e->event, now, keys, vals, n, text, sig);
 out:
	free(sa);
	free(ss);
	return r;
}

static int
exec_ok(PGconn *c, const char *sql)
{
	PGresult *res = PQexec(c, sql);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	PQclear(res);
	return ok;
}

int
audit_append_seq(PGconn *c, const struct audit_event *e, int64_t *seq_out,
    char *err, size_t errlen)
{
	PGresult *res = NULL;
	struct buf *text = NULL, *sig = NULL;
	char host[HOST_MAX + 1], prev[2 * AUDIT_HASH_LEN + 1], seqs[24];
	uint8_t hash[AUDIT_HASH_LEN];
	const char *params[11];
	int64_t seq = 0;
	uint64_t now = 0;
	int r = ERR_INTERNAL, own = 0;

	err_set(err, errlen, "%s", "");
	if (seq_out != NULL)
		*seq_out = 0;
	if (c == NULL || e == NULL || e->event == NULL || *e->event == '\0' ||
	    !field_ok(e->event, 32) ||
	    !field_ok(e->principal, AUDIT_FIELD_MAX) ||
	    !field_ok(e->tenant, AUDIT_FIELD_MAX) ||
	    !field_ok(e->job, AUDIT_FIELD_MAX) ||
	    !field_ok(e->scope, AUDIT_FIELD_MAX) ||
	    (e->detail_json != NULL &&
	    strlen(e->detail_json) > AUDIT_DETAIL_MAX) ||
	    (e->signed_text != NULL && (e->signed_sig == NULL ||
	    e->signed_tlen > ACTION_TEXT_MAX ||
	    e->signed_slen > ACTION_SIG_MAX))) {
		err_set(err, errlen, "audit: invalid event");
		return ERR_INVALID;
	}
	if (signer_sk == NULL || signer_control == NULL) {
		err_set(err, errlen, "audit: no service key to sign the log "
		    "with ([service] service_key)");
		return ERR_KEY;
	}
	memset(host, 0, sizeof(host));
	if (gethostname(host, sizeof(host) - 1) != 0 || !field_ok(host, HOST_MAX))
		snprintf(host, sizeof(host), "unknown");
	/* The row text is hashed as UTF-8; send UTF-8. */
	if (PQclientEncoding(c) != pg_char_to_encoding("UTF8") &&
	    PQsetClientEncoding(c, "UTF8") != 0) {
		err_set(err, errlen, "audit: cannot use UTF-8");
		return ERR_DB;
	}
	if ((text = buf_new(AUDIT_ACTION_MAX)) == NULL ||
	    (sig = buf_new(AUDIT_SIG_MAX)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	own = PQtransactionStatus(c) == PQTRANS_IDLE;
	if (own && !exec_ok(c, "BEGIN")) {
		err_set(err, errlen, "audit: %s", PQerrorMessage(c));
		r = ERR_DB;
		goto out;
	}
	if ((r = lock_head(c, &seq, prev, &now, err, errlen)) != 0)
		goto out;
	seq++;
	if ((r = service_text(e, seq, prev, now, host, text, sig)) != 0 ||
	    (r = buf_put_u8(text, 0)) != 0 || (r = buf_put_u8(sig, 0)) != 0) {
		err_set(err, errlen, "audit: cannot sign the row: %s",
		    err_str(r));
		goto out;
	}
	snprintf(seqs, sizeof(seqs), "%lld", (long long)seq);
	params[0] = seqs;
	params[1] = e->event;
	params[2] = e->principal;
	params[3] = e->tenant;
	params[4] = e->job;
	params[5] = e->scope;
	params[6] = e->detail_json;
	params[7] = host;
	params[8] = TEXP_VERSION;
	params[9] = (const char *)buf_ptr(text);
	params[10] = (const char *)buf_ptr(sig);
	res = PQexecParams(c, "SELECT texp_control.audit_append_signed($1, "
	    "$2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11)", 11, NULL,
	    params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		err_set(err, errlen, "audit: %s", pq_msg(res, c));
		r = ERR_DB;
		goto out;
	}
	if (hash_parse(PQgetvalue(res, 0, 0), hash) != 0) {
		err_set(err, errlen, "audit: malformed row hash");
		r = ERR_DB;
		goto out;
	}
	if (own && !exec_ok(c, "COMMIT")) {
		own = 0;
		err_set(err, errlen, "audit: %s", PQerrorMessage(c));
		r = ERR_DB;
		goto out;
	}
	own = 0;
	last_seq = seq;
	memcpy(last_hash, hash, sizeof(hash));
	if (seq_out != NULL)
		*seq_out = seq;
	r = 0;
 out:
	if (own)
		PQclear(PQexec(c, "ROLLBACK"));
	PQclear(res);
	buf_free(text);
	buf_free(sig);
	return r;
}

int
audit_append(PGconn *c, const struct audit_event *e, char *err, size_t errlen)
{
	return audit_append_seq(c, e, NULL, err, errlen);
}

static int
put_field(struct buf *b, const char *v)
{
	if (v == NULL)
		return buf_put_str(b, "N\n");
	return buf_putf(b, "S%zu:%s\n", strlen(v), v);
}

int
audit_row_text(int64_t seq, const char *at, const char *event,
    const char *principal, const char *tenant, const char *job,
    const char *scope, const char *detail, const char *host,
    const char *tool_version, struct buf *out)
{
	int r;

	if (at == NULL || out == NULL)
		return ERR_INVALID;
	if ((r = buf_putf(out, "texp-audit v1\n%lld\n%s\n", (long long)seq,
	    at)) != 0 ||
	    (r = put_field(out, event)) != 0 ||
	    (r = put_field(out, principal)) != 0 ||
	    (r = put_field(out, tenant)) != 0 ||
	    (r = put_field(out, job)) != 0 ||
	    (r = put_field(out, scope)) != 0 ||
	    (r = put_field(out, detail)) != 0 ||
	    (r = put_field(out, host)) != 0 ||
	    (r = put_field(out, tool_version)) != 0)
		return r;
	return 0;
}

int
audit_row_text_of(const struct audit_row *row, struct buf *out)
{
	int r;

	if (row->v == 1)
		return audit_row_text(row->seq, row->at, row->event,
		    row->principal, row->tenant, row->job, row->scope,
		    row->detail, row->host, row->tool_version, out);
	if (row->v != 2 || row->at == NULL)
		return ERR_INVALID;
	if ((r = buf_putf(out, "texp-audit v2\n%lld\n%s\n",
	    (long long)row->seq, row->at)) != 0 ||
	    (r = put_field(out, row->event)) != 0 ||
	    (r = put_field(out, row->principal)) != 0 ||
	    (r = put_field(out, row->tenant)) != 0 ||
	    (r = put_field(out, row->job)) != 0 ||
	    (r = put_field(out, row->scope)) != 0 ||
	    (r = put_field(out, row->detail)) != 0 ||
	    (r = put_field(out, row->host)) != 0 ||
	    (r = put_field(out, row->tool_version)) != 0 ||
	    (r = put_field(out, row->action)) != 0 ||
	    (r = put_field(out, row->signature)) != 0)
		return r;
	return 0;
}

/* bytea hex output ("\x...") of exactly AUDIT_HASH_LEN bytes. */
static int
hash_parse(const char *s, uint8_t out[AUDIT_HASH_LEN])
{
	size_t got = 0;

	if (strncmp(s, "\\x", 2) != 0 || strlen(s + 2) != 2 * AUDIT_HASH_LEN)
		return ERR_FORMAT;
	if (sodium_hex2bin(out, AUDIT_HASH_LEN, s + 2, 2 * AUDIT_HASH_LEN,
	    NULL, &got, NULL) != 0 || got != AUDIT_HASH_LEN)
		return ERR_FORMAT;
	return 0;
}

/* Strict decimal int64 >= 0 (as the server prints it, maybe negative). */
static int
seq_parse(const char *s, long long *v)
{
	char *end;

	if (*s == '\0')
		return ERR_FORMAT;
	*v = strtoll(s, &end, 10);
	return *end == '\0' ? 0 : ERR_FORMAT;
}

static const char *
val(PGresult *res, int col)
{
	return PQgetisnull(res, 0, col) ? NULL : PQgetvalue(res, 0, col);
}

struct chain {
	uint64_t rows;
	uint8_t head[AUDIT_HASH_LEN];
	uint64_t first_bad;
	int bad;
	uint64_t cp_size;		/* checkpoint, or 0 */
	const uint8_t *cp_hash;
	audit_row_fn fn;
	void *ctx;
	int fn_r;			/* what fn returned, when it stopped */
};

/* The columns scan() reads, in this order. */
#define SCAN_COLS "SELECT seq, " \
	"((extract(epoch FROM at) * 1000000)::bigint)::text, event, " \
	"principal, tenant, job, scope, detail::text, host, tool_version, " \
	"prev_hash, hash, v, action, signature " \
	"FROM texp_control.audit_log "
#define SCAN_SQL SCAN_COLS "ORDER BY seq"
#define SCAN_AFTER_SQL SCAN_COLS "WHERE seq > $1::bigint ORDER BY seq"

/*
 * Checks one row against the chain so far. Sets ch->bad (and first_bad,
 * why) at the first problem; later rows are then only drained.
 */
static int
check_row(PGresult *res, struct chain *ch, struct buf *text, char *why,
    size_t whylen)
{
	struct audit_row row;
	uint8_t calc[AUDIT_HASH_LEN];
	long long seq;
	uint64_t expect = ch->rows + 1;
	int r;

	memset(&row, 0, sizeof(row));
	if (seq_parse(PQgetvalue(res, 0, 0), &seq) != 0) {
		err_set(why, whylen, "row after %llu unreadable",
		    (unsigned long long)ch->rows);
		ch->first_bad = expect;
		goto bad;
	}
	if (seq <= 0 || (uint64_t)seq < expect) {
		err_set(why, whylen, "row %lld out of sequence (expected %llu):"
		    " inserted or reordered", seq, (unsigned long long)expect);
		ch->first_bad = seq > 0 ? (uint64_t)seq : 0;
		goto bad;
	}
	if ((uint64_t)seq > expect) {
		err_set(why, whylen, "row %llu missing (log jumps to %lld): "
		    "deleted", (unsigned long long)expect, seq);
		ch->first_bad = expect;
		goto bad;
	}
	row.seq = seq;
	row.v = atoi(PQgetvalue(res, 0, 12));
	if (hash_parse(PQgetvalue(res, 0, 10), row.prev) != 0 ||
	    hash_parse(PQgetvalue(res, 0, 11), row.hash) != 0 ||
	    PQgetisnull(res, 0, 1) || PQgetisnull(res, 0, 2) ||
	    (row.v != 1 && row.v != 2)) {
		err_set(why, whylen, "row %lld malformed", seq);
		ch->first_bad = expect;
		goto bad;
	}
	row.at = PQgetvalue(res, 0, 1);
	row.event = val(res, 2);
	row.principal = val(res, 3);
	row.tenant = val(res, 4);
	row.job = val(res, 5);
	row.scope = val(res, 6);
	row.detail = val(res, 7);
	row.host = val(res, 8);
	row.tool_version = val(res, 9);
	row.action = val(res, 13);
	row.signature = val(res, 14);
	buf_reset(text);
	if ((r = audit_row_text_of(&row, text)) != 0)
		return r;
	if ((r = sha256_pair(calc, row.prev, sizeof(row.prev), buf_ptr(text),
	    buf_len(text))) != 0) {
		err_set(why, whylen, "row %lld: cannot hash it (%s)", seq,
		    err_str(r));
		return r;
	}
	if (sodium_memcmp(calc, row.hash, sizeof(calc)) != 0) {
		err_set(why, whylen, "row %lld changed: its content does not "
		    "match its hash (edited, forged or reordered)", seq);
		ch->first_bad = expect;
		goto bad;
	}
	if (sodium_memcmp(row.prev, ch->head, sizeof(row.prev)) != 0) {
		err_set(why, whylen, "row %lld does not chain to the row "
		    "before it (a row was inserted, deleted or reordered)", seq);
		ch->first_bad = expect;
		goto bad;
	}
	if (ch->cp_hash != NULL && expect == ch->cp_size &&
	    sodium_memcmp(row.hash, ch->cp_hash, sizeof(row.hash)) != 0) {
		err_set(why, whylen, "row %lld differs from the checkpoint: "
		    "the log was rewritten", seq);
		ch->first_bad = expect;
		goto bad;
	}
	memcpy(ch->head, row.hash, sizeof(row.hash));
	ch->rows = expect;
	if (ch->fn != NULL && (r = ch->fn(ch->ctx, &row)) != 0) {
		ch->fn_r = r;
		ch->first_bad = expect;
		ch->bad = 1;
	}
	return 0;
 bad:
	ch->bad = 1;
	return 0;
}

/* Scans the log in one statement (one snapshot), row by row: all of it,
 * or what follows the rows ch already holds. */
static int
scan_chain(PGconn *c, struct chain *ch, char *why, size_t whylen)
{
	PGresult *res = NULL;
	struct buf *text = NULL;
	ExecStatusType st;
	char after[32];
	const char *p[1] = { after };
	int r = ERR_INTERNAL, sent = 0;

	if ((text = buf_new(ROW_TEXT_MAX)) == NULL)
		return ERR_NOMEM;
	if (PQclientEncoding(c) != pg_char_to_encoding("UTF8") &&
	    PQsetClientEncoding(c, "UTF8") != 0) {
		err_set(why, whylen, "audit: cannot use UTF-8");
		r = ERR_DB;
		goto out;
	}
	snprintf(after, sizeof(after), "%llu", (unsigned long long)ch->rows);
	if (!(ch->rows == 0 ? PQsendQuery(c, SCAN_SQL) :
	    PQsendQueryParams(c, SCAN_AFTER_SQL, 1, NULL, p, NULL, NULL, 0))) {
		err_set(why, whylen, "audit: %s", PQerrorMessage(c));
		r = ERR_DB;
		goto out;
	}
	sent = 1;
	if (!PQsetSingleRowMode(c)) {
		r = ERR_DB;
		goto out;
	}
	r = 0;
	while ((res = PQgetResult(c)) != NULL) {
		st = PQresultStatus(res);
		if (st == PGRES_SINGLE_TUPLE) {
			if (r == 0 && !ch->bad)
				r = check_row(res, ch, text, why, whylen);
		} else if (st != PGRES_TUPLES_OK) {
			if (r == 0) {
				err_set(why, whylen, "audit: %s",
				    pq_msg(res, c));
				r = ERR_DB;
			}
		}
		PQclear(res);
	}
	sent = 0;
	if (r != 0)
		goto out;
	if (!ch->bad && ch->cp_hash != NULL && ch->rows < ch->cp_size) {
		err_set(why, whylen, "the log has %llu rows, fewer than the "
		    "checkpoint's %llu: rows were deleted",
		    (unsigned long long)ch->rows,
		    (unsigned long long)ch->cp_size);
		ch->first_bad = ch->rows + 1;
		ch->bad = 1;
	}
	r = 0;
 out:
	if (sent)
		while ((res = PQgetResult(c)) != NULL)
			PQclear(res);
	buf_free(text);
	return r;
}

int
audit_scan_after(PGconn *c, uint64_t seq, uint8_t head[AUDIT_HASH_LEN],
    audit_row_fn fn, void *ctx, char *why, size_t whylen)
{
	struct chain ch;
	int r;

	memset(&ch, 0, sizeof(ch));
	ch.fn = fn;
	ch.ctx = ctx;
	ch.rows = seq;
	memcpy(ch.head, head, AUDIT_HASH_LEN);
	err_set(why, whylen, "%s", "");
	if ((r = scan_chain(c, &ch, why, whylen)) != 0)
		return r;
	memcpy(head, ch.head, AUDIT_HASH_LEN);
	if (ch.fn_r != 0)
		return ch.fn_r;
	return ch.bad ? ERR_HASH : 0;
}

int
audit_scan(PGconn *c, audit_row_fn fn, void *ctx, uint64_t *rows,
    uint8_t head[AUDIT_HASH_LEN], uint64_t *first_bad, char *why,
    size_t whylen)
{
	struct chain ch;
	int r;

	memset(&ch, 0, sizeof(ch));
	ch.fn = fn;
	ch.ctx = ctx;
	err_set(why, whylen, "%s", "");
	if ((r = scan_chain(c, &ch, why, whylen)) != 0)
		return r;
	if (rows != NULL)
		*rows = ch.rows;
	if (head != NULL)
		memcpy(head, ch.head, AUDIT_HASH_LEN);
	if (first_bad != NULL)
		*first_bad = ch.bad ? ch.first_bad : 0;
	if (ch.fn_r != 0)
		return ch.fn_r;
	return ch.bad ? ERR_HASH : 0;
}

int
audit_checkpoint_parse(const uint8_t *text, size_t len, char **origin_out,
    uint64_t *size, uint8_t hash[AUDIT_HASH_LEN])
{
	struct buf *b = NULL;
	const uint8_t *line;
	size_t n, i, got = 0;
	uint64_t v = 0;
	int r = ERR_FORMAT;

	if (origin_out != NULL)
		*origin_out = NULL;
	*size = 0;
	memset(hash, 0, AUDIT_HASH_LEN);
	if (text == NULL || len == 0 || len > NOTE_MAX_SIZE)
		return ERR_FORMAT;
	if ((b = buf_from(text, len)) == NULL)
		return ERR_NOMEM;
	/* origin */
	if (buf_get_line(b, &line, &n, AUDIT_ORIGIN_MAX) != 0 || n == 0)
		goto out;
	for (i = 0; i < n; i++)
		if (line[i] < 0x20 || line[i] == 0x7f)
			goto out;
	if (origin_out != NULL) {
		if ((*origin_out = malloc(n + 1)) == NULL) {
			r = ERR_NOMEM;
			goto out;
		}
		memcpy(*origin_out, line, n);
		(*origin_out)[n] = '\0';
	}
	/* tree size: decimal, no leading zero */
	if (buf_get_line(b, &line, &n, 20) != 0 || n == 0 ||
	    (n > 1 && line[0] == '0'))
		goto out;
	for (i = 0; i < n; i++) {
		if (line[i] < '0' || line[i] > '9' ||
		    v > (UINT64_MAX - (uint64_t)(line[i] - '0')) / 10)
			goto out;
		v = v * 10 + (uint64_t)(line[i] - '0');
	}
	/* root hash */
	if (buf_get_line(b, &line, &n, 64) != 0 ||
	    n != sodium_base64_ENCODED_LEN(AUDIT_HASH_LEN,
	    sodium_base64_VARIANT_ORIGINAL) - 1)
		goto out;
	if (sodium_base642bin(hash, AUDIT_HASH_LEN, (const char *)line, n,
	    NULL, &got, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    got != AUDIT_HASH_LEN)
		goto out;
	/* extension lines: non-empty, whole lines */
	while (buf_len(b) > 0)
		if (buf_get_line(b, &line, &n, NOTE_MAX_SIZE) != 0 || n == 0)
			goto out;
	*size = v;
	r = 0;
 out:
	if (r != 0) {
		memset(hash, 0, AUDIT_HASH_LEN);
		if (origin_out != NULL) {
			free(*origin_out);
			*origin_out = NULL;
		}
	}
	buf_free(b);
	return r;
}

int
audit_verify_count(PGconn *c, const char *checkpoint, size_t cplen,
    const struct note_verifier *v, uint64_t *first_bad_seq, uint64_t *rows_out,
    char *why, size_t whylen)
{
	struct chain ch;
	uint8_t *text = NULL, cp_hash[AUDIT_HASH_LEN];
	size_t tlen = 0;
	uint64_t cp_size = 0;
	int r = ERR_INTERNAL, have_cp = 0;
	static const uint8_t zero[AUDIT_HASH_LEN];

	*first_bad_seq = 0;
	if (rows_out != NULL)
		*rows_out = 0;
	err_set(why, whylen, "%s", "");
	if (c == NULL || (checkpoint != NULL && v == NULL))
		return ERR_INVALID;
	if (checkpoint != NULL) {
		r = note_verify((const uint8_t *)checkpoint, cplen, v, &text,
		    &tlen);
		if (r != 0) {
			err_set(why, whylen, "checkpoint signature: %s",
			    err_str(r));
			goto out;
		}
		if ((r = audit_checkpoint_parse(text, tlen, NULL, &cp_size,
		    cp_hash)) != 0) {
			err_set(why, whylen, "checkpoint malformed");
			goto out;
		}
		if (cp_size == 0 && sodium_memcmp(cp_hash, zero,
		    sizeof(zero)) != 0) {
			err_set(why, whylen, "checkpoint malformed: empty log "
			    "with a non-zero hash");
			r = ERR_FORMAT;
			goto out;
		}
		have_cp = 1;
	}
	memset(&ch, 0, sizeof(ch));
	ch.cp_size = cp_size;
	ch.cp_hash = have_cp ? cp_hash : NULL;
	if ((r = scan_chain(c, &ch, why, whylen)) != 0)
		goto out;
	if (rows_out != NULL)
		*rows_out = ch.rows;
	if (ch.bad) {
		*first_bad_seq = ch.first_bad;
		r = ERR_HASH;
		goto out;
	}
	r = 0;
 out:
	free(text);
	return r;
}

int
audit_verify(PGconn *c, const char *checkpoint, size_t cplen,
    const struct note_verifier *v, uint64_t *first_bad_seq, char *why,
    size_t whylen)
{
	return audit_verify_count(c, checkpoint, cplen, v, first_bad_seq,
	    NULL, why, whylen);
}

int
audit_checkpoint(PGconn *c, const char *origin, const struct note_signer *s,
    struct buf *out)
{
	struct chain ch;
	struct buf *body = NULL;
	char b64[sodium_base64_ENCODED_LEN(AUDIT_HASH_LEN,
	    sodium_base64_VARIANT_ORIGINAL)];
	int r = ERR_INTERNAL;

	if (c == NULL || s == NULL || out == NULL || origin == NULL ||
	    *origin == '\0' || !field_ok(origin, AUDIT_ORIGIN_MAX))
		return ERR_INVALID;
	memset(&ch, 0, sizeof(ch));
	if ((r = scan_chain(c, &ch, NULL, 0)) != 0)
		return r;
	if (ch.bad)
		return ERR_HASH;
	if ((body = buf_new(AUDIT_ORIGIN_MAX + 128)) == NULL)
		return ERR_NOMEM;
	sodium_bin2base64(b64, sizeof(b64), ch.head, sizeof(ch.head),
	    sodium_base64_VARIANT_ORIGINAL);
	if ((r = buf_putf(body, "%s\n%llu\n%s\n", origin,
	    (unsigned long long)ch.rows, b64)) != 0)
		goto out;
	r = note_sign(buf_ptr(body), buf_len(body), s, out);
 out:
	buf_free(body);
	return r;
}
