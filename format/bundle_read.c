/*
 * bundle_read.c: the reader of bundle.h. It reads the plaintext exactly
 * once, front to back, holding one entry at a time, and checks every rule
 * of FORMAT.md §3 to §5 it can; each failure goes to the visitor with its
 * rule (rule.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zstd.h>

#include "bundle.h"
#include "bundle_int.h"
#include "coltype.h"
#include "dcbor.h"
#include "err.h"
#include "evidence.h"
#include "merkleq.h"
#include "tar.h"

/* ------------------------------------------------------------------ */
/* The plaintext source (plain, or one zstd frame) */

#define ZIN_SIZE	(1u << 17)
#define BLOCK		65536
#define ZSTD_MAGIC	0xFD2FB528u

/* Leaves queued before they are hashed (a multiple of four). */
#define LEAFQ	64

struct reader {
	bundle_read_fn rd;
	void *rctx;
	const struct bundle_visitor *v;
	int stopped;
	/* source */
	int zstd;		/* the payload starts a zstd frame */
	ZSTD_DCtx *zd;
	uint8_t *zin;
	size_t zin_len, zin_pos;
	int raw_eof;
	int frame_done;
	uint8_t head[4];	/* first payload bytes, when plain */
	size_t head_len, head_pos;
	int src_err;		/* sticky: the source failed */
	enum rule src_rule;
	char src_why[160];
	/* tar */
	uint64_t entries;
	uint64_t first_mtime;
	uint8_t *block;		/* BLOCK bytes of scratch */
	/* content */
	struct manifest *pre;
	struct buf *pre_bytes;
	struct buf *data;
	struct buf *view;
	struct coltype *types;
	size_t types_cap;
	size_t types_table;
	/* per-part computed hashes, grown as records come */
	uint8_t (*th)[EVIDENCE_HASH_LEN];
	uint8_t (*ch)[EVIDENCE_HASH_LEN];
	size_t hcap;
	uint64_t nrec;
	/* per-table progress */
	size_t cur;
	uint64_t part;
	uint64_t *records;
	uint64_t *parts;
	uint64_t *bytes;
	struct merkle *mk;
	struct merkleq *mq;	/* building mk, or NULL: built here */
	/* without mq: table lq_t's leaves lq[0..lq_n), not yet in its tree
	 * (merkle_add_pending; lq_leaf its scratch) */
	struct merkle_pending lq[LEAFQ];
	uint8_t lq_leaf[LEAFQ][EVIDENCE_HASH_LEN];
	size_t lq_n, lq_t;
	struct evidence_hasher eh;
	/* the previous records part of table cur, until it is known whether
	 * it was cut where the writer cuts */
	int prev_pending;
	uint64_t prev_size, prev_nrec;
	/* files (§3.4): the current part of the files table, row by row */
	struct rfile *rf;
	size_t rfcap;
	int64_t frow;		/* the row whose file is being read, or -1 */
	uint64_t fchunk;	/* its last chunk number */
	uint64_t flast;		/* that chunk's size */
	crypto_generichash_state fst;
	struct buf *view2;
};

/* One row of the files table's current part. */
struct rfile {
	size_t off, len;	/* its path in rd->data */
	uint8_t path;		/* the path column is a text string */
	uint8_t have;		/* its file was read */
	uint64_t size;
	uint8_t hash[EVIDENCE_HASH_LEN];
};

/* Reports a failure; returns nonzero when the walk should stop because
 * the visitor asked to. */
static int
fail(struct reader *rd, enum rule rule, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(struct reader *rd, enum rule rule, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (rd->v->on_failure != NULL &&
	    rd->v->on_failure(rd->v->ctx, rule, code, msg))
		rd->stopped = 1;
	return rd->stopped;
}

/* A failure of rule's default code. */
#define FAIL(rd, rule, ...) fail(rd, rule, rule_err(rule), __VA_ARGS__)

/* The decrypted payload, as it comes. */
static int
raw_read(struct reader *rd, uint8_t *p, size_t cap, size_t *got)
{
	int r;

	*got = 0;
	if (rd->raw_eof)
		return 0;
	if ((r = rd->rd(rd->rctx, p, cap, got)) != 0) {
		rd->src_err = r;
		rd->src_rule = rule_from_err(r);
		snprintf(rd->src_why, sizeof(rd->src_why), "cannot decrypt the "
		    "payload: %s%s", err_str(r), r == ERR_AGE_PAYLOAD ?
		    " (the file is truncated or was altered: get it again)" :
		    r == ERR_AGE_TRUNCATED ? " (the file is truncated: get it "
		    "again)" : "");
		return r;
	}
	if (*got == 0)
		rd->raw_eof = 1;
	return 0;
}

static int
zstd_fail(struct reader *rd, const char *why, const char *detail)
{
	rd->src_err = ERR_TAR;
	rd->src_rule = RULE_ZSTD_FRAME;
	snprintf(rd->src_why, sizeof(rd->src_why), "%s%s%s", why,
	    detail != NULL ? ": " : "", detail != NULL ? detail : "");
	return ERR_TAR;
}

/* Looks at the first bytes: a zstd frame, or plain tar. */
static int
src_open(struct reader *rd)
{
	uint32_t magic;
	size_t got;
	int r;

	while (rd->head_len < sizeof(rd->head)) {
		if ((r = raw_read(rd, rd->head + rd->head_len,
		    sizeof(rd->head) - rd->head_len, &got)) != 0)
			return r;
		if (got == 0)
			break;
		rd->head_len += got;
	}
	if (rd->head_len < sizeof(rd->head))
		return 0;	/* too short for either: the tar walk says so */
	magic = (uint32_t)rd->head[0] | (uint32_t)rd->head[1] << 8 |
	    (uint32_t)rd->head[2] << 16 | (uint32_t)rd->head[3] << 24;
	if ((magic & 0xFFFFFFF0u) == 0x184D2A50u)
		return zstd_fail(rd, "the payload starts with a zstd skippable "
		    "frame", NULL);
	if (magic != ZSTD_MAGIC)
		return 0;
	rd->zstd = 1;
	if ((rd->zd = ZSTD_createDCtx()) == NULL ||
	    (rd->zin = malloc(ZIN_SIZE)) == NULL)
		return ERR_NOMEM;
	if (ZSTD_isError(ZSTD_DCtx_setParameter(rd->zd, ZSTD_d_windowLogMax,
	    BUNDLE_ZSTD_WINDOW_LOG_MAX)))
		return ERR_INTERNAL;
	memcpy(rd->zin, rd->head, sizeof(rd->head));
	rd->zin_len = sizeof(rd->head);
	rd->head_pos = rd->head_len;
	return 0;
}

static int
zsrc_read(struct reader *rd, uint8_t *p, size_t n, size_t *got)
{
	ZSTD_inBuffer in;
	ZSTD_outBuffer out = { p, n, 0 };
	size_t z, in_before, out_before, g;
	int r;

	while (out.pos < n && !rd->frame_done) {
		if (rd->zin_pos == rd->zin_len && !rd->raw_eof) {
			if ((r = raw_read(rd, rd->zin, ZIN_SIZE, &g)) != 0)
				return r;
			rd->zin_pos = 0;
			rd->zin_len = g;
		}
		in.src = rd->zin;
		in.size = rd->zin_len;
		in.pos = in_before = rd->zin_pos;
		out_before = out.pos;
		z = ZSTD_decompressStream(rd->zd, &out, &in);
		rd->zin_pos = in.pos;
		if (ZSTD_isError(z))
			return zstd_fail(rd, "the zstd frame does not decode",
			    ZSTD_getErrorName(z));
		if (z == 0)
			rd->frame_done = 1;
		else if (rd->raw_eof && in.pos == in_before &&
		    out.pos == out_before)
			return zstd_fail(rd, "the payload ends inside the zstd "
			    "frame", NULL);
	}
	*got = out.pos;
	return 0;
}

/*
 * Up to n bytes of the plaintext (the tar stream); *got < n only at its
 * end. A failure of the layers below is sticky and reported once by the
 * caller (src_report).
 */
static int
src_read(struct reader *rd, uint8_t *p, size_t n, size_t *got)
{
	size_t g;
	int r;

	*got = 0;
	if (rd->src_err != 0)
		return rd->src_err;
	if (rd->zstd)
		return zsrc_read(rd, p, n, got);
	while (*got < n && rd->head_pos < rd->head_len)
		p[(*got)++] = rd->head[rd->head_pos++];
	while (*got < n) {
		if ((r = raw_read(rd, p + *got, n - *got, &g)) != 0)
			return r;
		if (g == 0)
			break;
		*got += g;
	}
	return 0;
}

static int
src_report(struct reader *rd)
{
	if (rd->src_err == ERR_INTERRUPTED)
		return ERR_INTERRUPTED;
	fail(rd, rd->src_rule, rd->src_err, "%s", rd->src_why);
	return rd->src_err;
}

/* ------------------------------------------------------------------ */
/* Reader: tar entries */

/* The next header: *end set at the end-of-archive marker. */
static int
tar_next(struct reader *rd, char name[TAR_NAME_MAX + 1], uint64_t *size,
    int *end)
{
	uint8_t hdr[TAR_BLOCK];
	const char *why;
	uint64_t mtime;
	size_t got;

	*end = 0;
	if (src_read(rd, hdr, sizeof(hdr), &got) != 0)
		return src_report(rd);
	if (got < sizeof(hdr)) {
		FAIL(rd, RULE_TAR_END, got == 0 ? "the tar stream ends "
		    "without its end-of-archive marker" : "the tar stream ends "
		    "inside a header");
		return ERR_TAR;
	}
	if (tar_is_zero(hdr, sizeof(hdr))) {
		if (src_read(rd, hdr, sizeof(hdr), &got) != 0)
			return src_report(rd);
		if (got < sizeof(hdr) || !tar_is_zero(hdr, sizeof(hdr))) {
			FAIL(rd, RULE_TAR_END, "a zero block not followed by a "
			    "second one (the end-of-archive marker is two)");
			return ERR_TAR;
		}
		*end = 1;
		return 0;
	}
	rd->entries++;
	if (tar_header_get(hdr, name, size, &mtime, &why) != 0) {
		FAIL(rd, RULE_TAR_HEADER, "tar entry %llu: %s: not the one "
		    "ustar header form of §3.2", (unsigned long long)rd->entries,
		    why);
		return ERR_TAR;
	}
	if (rd->entries == 1)
		rd->first_mtime = mtime;	/* checked against the preamble */
	else if (rd->pre != NULL && mtime != rd->pre->created &&
	    FAIL(rd, RULE_TAR_HEADER, "entry \"%s\": field \"mtime\" is not "
	    "the export's creation time", name))
		return ERR_INTERRUPTED;
	return 0;
}

/* Exactly n plaintext bytes: 0, ERR_TRUNCATED when the stream ends
 * first, or the source's failure (reported). */
static int
read_exact(struct reader *rd, uint8_t *p, size_t n)
{
	size_t got;

	if (src_read(rd, p, n, &got) != 0)
		return src_report(rd);
	return got == n ? 0 : ERR_TRUNCATED;
}

/* The entry's data into rd->data, then its zero padding. */
static int
entry_read(struct reader *rd, const char *name, uint64_t size, size_t cap)
{
	uint8_t *dst;
	size_t pad = tar_padding(size);
	int r;

	buf_reset(rd->data);
	if (size > cap) {
		FAIL(rd, RULE_ENTRY_SIZE, "entry \"%s\" holds %llu bytes, over "
		    "its limit of %zu", name, (unsigned long long)size, cap);
		return ERR_LIMIT;
	}
	if ((r = buf_reserve(rd->data, (size_t)size, &dst)) != 0)
		return r;
	if ((r = read_exact(rd, dst, (size_t)size)) == 0)
		r = read_exact(rd, rd->block, pad);
	if (r == ERR_TRUNCATED) {
		FAIL(rd, RULE_TAR_END, "the tar stream ends inside entry "
		    "\"%s\"", name);
		return ERR_TAR;
	}
	if (r != 0)
		return r;
	if (!tar_is_zero(rd->block, pad) && FAIL(rd, RULE_TAR_PADDING,
	    "entry \"%s\": the padding after its data is not zero", name))
		return ERR_INTERRUPTED;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Reader: content */

/* Parses "texp/t/TTTT/KIND-PPPPPP.cbor" strictly. */
static int
parse_part_name(const char *name, const char *kind, size_t *t, uint64_t *p)
{
	char expect[64];
	unsigned long long pp;
	unsigned tt;
	size_t i, n = strlen(name);

	if (n != strlen("texp/t/0000/-000000.cbor") + strlen(kind) ||
	    strncmp(name, "texp/t/", 7) != 0)
		return 0;
	for (i = 7; i < 11; i++)
		if (name[i] < '0' || name[i] > '9')
			return 0;
	for (i = n - 11; i < n - 5; i++)
		if (name[i] < '0' || name[i] > '9')
			return 0;
	if (sscanf(name + 7, "%4u", &tt) != 1 ||
	    sscanf(name + n - 11, "%6llu", &pp) != 1)
		return 0;
	bundle_part_name(expect, sizeof(expect), kind, tt, pp);
	if (strcmp(expect, name) != 0)
		return 0;
	*t = tt;
	*p = pp;
	return 1;
}

/* A preamble or manifest entry must be deterministic CBOR first. */
static int
check_encoding(struct reader *rd, const char *what)
{
	int r;

	if ((r = dcbor_validate(buf_ptr(rd->data), buf_len(rd->data),
	    DCBOR_MAX_DEPTH)) == 0)
		return 0;
	FAIL(rd, RULE_CBOR_ENCODING, "the %s is not one deterministic CBOR "
	    "item: %s", what, err_str(r));
	return ERR_CBOR;
}

static int
preamble_checks(struct reader *rd)
{
	enum rule rule;
	char why[256];

	if (manifest_check(rd->pre, &rule, why, sizeof(why)) != 0 &&
	    FAIL(rd, rule, "preamble: %s", why))
		return ERR_INTERRUPTED;
	if (rd->first_mtime != rd->pre->created &&
	    FAIL(rd, RULE_TAR_HEADER, "entry \"" PREAMBLE_NAME "\": field "
	    "\"mtime\" is not the export's creation time"))
		return ERR_INTERRUPTED;
	if (rd->zstd != rd->pre->compression &&
	    FAIL(rd, RULE_COMPRESSION, "the preamble says compression "
	    "\"%s\" but the payload is %s", rd->pre->compression ? "zstd" :
	    "none", rd->zstd ? "a zstd frame" : "not compressed"))
		return ERR_INTERRUPTED;
	return 0;
}

static int
do_preamble(struct reader *rd)
{
	struct buf *view;
	size_t n;
	int r;

	if ((r = check_encoding(rd, "preamble")) != 0)
		return r;
	if ((r = buf_put(rd->pre_bytes, buf_ptr(rd->data),
	    buf_len(rd->data))) != 0)
		return r;
	if ((view = buf_from(buf_ptr(rd->pre_bytes),
	    buf_len(rd->pre_bytes))) == NULL)
		return ERR_NOMEM;
	r = manifest_decode_preamble(view, &rd->pre);
	buf_free(view);
	if (r == ERR_UNSUPPORTED) {
		FAIL(rd, RULE_FORMAT_VERSION, "the preamble is not of format "
		    "version %d: this reader cannot prove it", MANIFEST_VERSION);
		return r;
	}
	if (r != 0) {
		FAIL(rd, RULE_PREAMBLE, "the preamble does not have the keys "
		    "and values of §4.2 (%s)", err_str(r));
		return ERR_MANIFEST;
	}
	if ((r = preamble_checks(rd)) != 0)
		return r;
	n = rd->pre->ntables;
	if ((r = evidence_hasher_init(&rd->eh, rd->pre->salt)) != 0)
		return r;
	rd->records = calloc(n, sizeof(*rd->records));
	rd->parts = calloc(n, sizeof(*rd->parts));
	rd->bytes = calloc(n, sizeof(*rd->bytes));
	rd->mk = calloc(n, sizeof(*rd->mk));
	if (rd->records == NULL || rd->parts == NULL || rd->bytes == NULL ||
	    rd->mk == NULL)
		return ERR_NOMEM;
	/* no thread to be had: the trees are built here */
	if (rd->v->threads && rd->mq == NULL &&
	    merkleq_start(rd->mk, n, &rd->mq) != 0)
		rd->mq = NULL;
	if (rd->v->on_preamble != NULL &&
	    rd->v->on_preamble(rd->v->ctx, rd->pre) != 0) {
		rd->stopped = 1;
		return ERR_INTERRUPTED;
	}
	return 0;
}

/* A part that is not the table's last must be full: the writer starts a
 * new part only when the next record does not fit. */
static int
check_cut(struct reader *rd, size_t t, uint64_t first_len)
{
	const struct manifest_table *mt = &rd->pre->tables[t];

	if (!rd->prev_pending)
		return 0;
	rd->prev_pending = 0;
	if (rd->prev_nrec >= BUNDLE_MAX_PART_RECORDS ||
	    rd->prev_size + first_len > rd->pre->part_bytes)
		return 0;
	return FAIL(rd, RULE_PART_CUT, "table \"%s\" part %llu was cut "
	    "before it was full (part_bytes %llu)", mt->name,
	    (unsigned long long)(rd->part - 1),
	    (unsigned long long)rd->pre->part_bytes) ? ERR_INTERRUPTED : 0;
}

static int
record_fault(struct reader *rd, size_t t, const struct record_fault *f)
{
	const struct manifest_table *mt = &rd->pre->tables[t];

	return FAIL(rd, f->code == ERR_TAG ? RULE_CBOR_TAG : RULE_COLUMN_TYPE,
	    "table \"%s\" record %llu column \"%s\": %s \"%s\"", mt->name,
	    (unsigned long long)rd->records[t], mt->columns[f->column].name,
	    f->code == ERR_TAG ? "a CBOR tag that is not allowed here, in a "
	    "column of type" : "a value that is not of the column's type",
	    mt->columns[f->column].type) ? ERR_INTERRUPTED : 0;
}

/* Room for the hashes of more records of the part: the arrays doubled
 * (up to BUNDLE_MAX_PART_RECORDS). */
static int
hashes_grow(struct reader *rd)
{
	size_t cap;
	void *a, *b;

	if (rd->hcap >= BUNDLE_MAX_PART_RECORDS)
		return ERR_LIMIT;
	cap = rd->hcap ? 2 * rd->hcap : 256;
	if (cap > BUNDLE_MAX_PART_RECORDS)
		cap = BUNDLE_MAX_PART_RECORDS;
	if ((a = reallocarray(rd->th, cap, sizeof(*rd->th))) == NULL)
		return ERR_NOMEM;
	rd->th = a;
	if ((b = reallocarray(rd->ch, cap, sizeof(*rd->ch))) == NULL)
		return ERR_NOMEM;
	rd->ch = b;
	rd->hcap = cap;
	return 0;
}

/* A row of the files table: where its path is (its Merkle leaf waits for
 * the evidence, which follows its file). */
static int
files_row(struct reader *rd, const uint8_t *rec, size_t len)
{
	struct rfile *f;
	const uint8_t *path;
	size_t plen, cap;
	void *a;

	if (rd->nrec >= rd->rfcap) {
		cap = rd->rfcap ? 2 * rd->rfcap : 256;
		if (cap > BUNDLE_MAX_PART_RECORDS)
			cap = BUNDLE_MAX_PART_RECORDS;
		if ((a = reallocarray(rd->rf, cap, sizeof(*rd->rf))) == NULL)
			return ERR_NOMEM;
		rd->rf = a;
		rd->rfcap = cap;
	}
	f = &rd->rf[rd->nrec];
	memset(f, 0, sizeof(*f));
	/* a path of another type was reported as column_type already */
	if (bundle_record_path(rd->view2, rec, len, rd->pre->files_path,
	    &path, &plen) == 0 && path != NULL) {
		f->path = 1;
		f->off = (size_t)(path - buf_ptr(rd->data));
		f->len = plen;
	}
	return 0;
}

/* The queued leaves into their tree. */
static void
leaves_flush(struct reader *rd)
{
	merkle_add_pending(&rd->mk[rd->lq_t], rd->lq, rd->lq_n, rd->lq_leaf);
	rd->lq_n = 0;
}

/* One record whose content hash is rd->ch[rd->nrec] already: tenant
 * hash, Merkle leaf, callback. */
static int
take_record(struct reader *rd, size_t t, const uint8_t *rec, size_t len,
    const uint8_t *tval, size_t tlen)
{
	int r;

	if (tval != NULL && (r = evidence_hasher_tenant(&rd->eh, tval, tlen,
	    rd->th[rd->nrec])) != 0)
		return r;
	if (manifest_is_files_table(rd->pre, t)) {
		/* a global table named as the files table (a preamble
		 * failure already) still gets the global leaf, not the
		 * tenant hash of an earlier table's row */
		if (tval == NULL)
			memset(rd->th[rd->nrec], 0, EVIDENCE_HASH_LEN);
		/* its leaves wait for its files (evidence_file) and are
		 * added on this thread: none goes to the queue */
		if ((r = files_row(rd, rec, len)) != 0)
			return r;
	} else if (rd->mq != NULL)
		merkleq_add(rd->mq, t, tval != NULL ? rd->th[rd->nrec] : NULL,
		    rd->ch[rd->nrec]);
	else {
		struct merkle_pending *p;

		if (rd->lq_n > 0 && rd->lq_t != t)
			leaves_flush(rd);
		rd->lq_t = t;
		p = &rd->lq[rd->lq_n];
		p->has_tenant = tval != NULL;
		if (tval != NULL)
			memcpy(p->th, rd->th[rd->nrec], EVIDENCE_HASH_LEN);
		memcpy(p->ch, rd->ch[rd->nrec], EVIDENCE_HASH_LEN);
		if (++rd->lq_n == LEAFQ)
			leaves_flush(rd);
	}
	rd->bytes[t] += len;
	if (rd->v->on_record != NULL && rd->v->on_record(rd->v->ctx, rd->pre,
	    t, rd->records[t], rec, len, tval, tlen) != 0) {
		rd->stopped = 1;
		return ERR_INTERRUPTED;
	}
	rd->records[t]++;
	rd->nrec++;
	return 0;
}

/* Records parsed and checked, waiting to be taken PENDING at a time
 * (their content hashes sharing the hash lanes: b2b_final_n). */
#define PENDING	32

struct pending {
	const uint8_t *rec[PENDING], *tval[PENDING];
	size_t len[PENDING], tlen[PENDING];
	size_t n;
};

/* Takes the pending records, in order. */
static int
take_pending(struct reader *rd, size_t t, struct pending *pd)
{
	uint8_t *out[PENDING];
	size_t j, n = pd->n;
	int r;

	pd->n = 0;
	while (rd->nrec + n > rd->hcap)
		if ((r = hashes_grow(rd)) != 0)
			return r;
	for (j = 0; j < n; j++)
		out[j] = rd->ch[rd->nrec + j];
	evidence_hasher_content_n(&rd->eh, pd->rec, pd->len, out, n);
	for (j = 0; j < n; j++)
		if ((r = take_record(rd, t, pd->rec[j], pd->len[j],
		    pd->tval[j], pd->tlen[j])) != 0)
			return r;
	return 0;
}

static int do_records_queued(struct reader *rd, size_t t);

/* A part's records; every leaf of the part is in its tree on return,
 * whatever stopped it. */
static int
do_records(struct reader *rd, size_t t)
{
	int r = do_records_queued(rd, t);

	if (rd->lq_n > 0)
		leaves_flush(rd);
	return r;
}

static int
do_records_queued(struct reader *rd, size_t t)
{
	const struct manifest_table *mt = &rd->pre->tables[t];
	struct record_fault f;
	struct pending pd;
	const uint8_t *rec, *tval;
	size_t len, tlen, size = buf_len(rd->data);
	int r, r2;

	rd->nrec = 0;
	rd->frow = -1;
	if (rd->types_table != t) {
		if ((r = bundle_types_for(mt, &rd->types, &rd->types_cap)) != 0)
			return r;
		rd->types_table = t;
	}
	if (size == 0 && FAIL(rd, RULE_EMPTY_PART, "table \"%s\" part %llu "
	    "holds no record", mt->name, (unsigned long long)rd->part))
		return ERR_INTERRUPTED;
	if ((r = buf_view_reset(rd->view, buf_ptr(rd->data), size)) != 0)
		return r;
	pd.n = 0;
	while (buf_len(rd->view) > 0) {
		if (rd->nrec + pd.n >= BUNDLE_MAX_PART_RECORDS) {
			if ((r = take_pending(rd, t, &pd)) != 0)
				return r;
			FAIL(rd, RULE_PART_CUT, "table \"%s\" part %llu holds "
			    "more than %d records", mt->name,
			    (unsigned long long)rd->part, BUNDLE_MAX_PART_RECORDS);
			return ERR_LIMIT;
		}
		r = bundle_record_next(rd->view, mt->ncolumns, rd->types,
		    mt->tenant_column, &rec, &len, &tval, &tlen, &f);
		/* what is reported names the record: the ones before it are
		 * taken first */
		if ((r != 0 || f.code != 0) &&
		    (r2 = take_pending(rd, t, &pd)) != 0)
			return r2;
		if (r != 0) {
			fail(rd, r == ERR_FORMAT ? RULE_RECORD_SHAPE :
			    RULE_CBOR_ENCODING, r == ERR_FORMAT ? ERR_CBOR : r,
			    "table \"%s\" record %llu: %s", mt->name,
			    (unsigned long long)rd->records[t], r == ERR_FORMAT ?
			    "not an array with one item per column" :
			    "not deterministic CBOR (or cut short)");
			return ERR_CBOR;
		}
		if (rd->nrec + pd.n == 0 && (r = check_cut(rd, t, len)) != 0)
			return r;
		if (f.code != 0 && (r = record_fault(rd, t, &f)) != 0)
			return r;
		pd.rec[pd.n] = rec;
		pd.len[pd.n] = len;
		pd.tval[pd.n] = tval;
		pd.tlen[pd.n] = tlen;
		if (++pd.n == PENDING && (r = take_pending(rd, t, &pd)) != 0)
			return r;
	}
	if ((r = take_pending(rd, t, &pd)) != 0)
		return r;
	if (rd->nrec > 1 && size > rd->pre->part_bytes &&
	    FAIL(rd, RULE_PART_CUT, "table \"%s\" part %llu holds %zu bytes "
	    "of records, over part_bytes %llu", mt->name,
	    (unsigned long long)rd->part, size,
	    (unsigned long long)rd->pre->part_bytes))
		return ERR_INTERRUPTED;
	rd->prev_pending = rd->nrec > 0;
	rd->prev_size = size;
	rd->prev_nrec = rd->nrec;
	return 0;
}

/* Whether two hashes are equal, without a branch on their bytes (the
 * same cost whatever they hold, as crypto_verify_32, inline: this runs
 * twice for every record). */
static inline int
hash_eq(const uint8_t *a, const uint8_t *b)
{
	uint64_t x, y, d = 0;
	int k;

	for (k = 0; k < EVIDENCE_HASH_LEN; k += 8) {
		memcpy(&x, a + k, 8);
		memcpy(&y, b + k, 8);
		d |= x ^ y;
	}
	return d == 0;
}

/* One evidence item against record i of the part: th (NULL for a global
 * table) and ch the item's hashes. */
static int
evidence_item(struct reader *rd, const struct manifest_table *mt,
    uint64_t i, const uint8_t *th, const uint8_t *ch)
{
	uint64_t n = rd->records[rd->cur] - rd->nrec + i;

	if (mt->tenant_column >= 0 && !hash_eq(th, rd->th[i]) &&
	    FAIL(rd, RULE_TENANT_HASH, "table "
	    "\"%s\" record %llu: tenant hash does not recompute", mt->name,
	    (unsigned long long)n))
		return ERR_INTERRUPTED;
	if (!hash_eq(ch, rd->ch[i]) &&
	    FAIL(rd, RULE_CONTENT_HASH, "table \"%s\" record %llu: content "
	    "hash does not recompute", mt->name, (unsigned long long)n))
		return ERR_INTERRUPTED;
	return 0;
}

/* The file part of an evidence item of the files table, row i: null, or
 * [size, hash] equal to the file read; then the row's Merkle leaf, from
 * what was recomputed. ERR_CBOR when the item is not of that form. */
static int
evidence_file(struct reader *rd, const struct manifest_table *mt, uint64_t i,
    struct buf *b)
{
	const struct rfile *f = &rd->rf[i];
	uint64_t n = rd->records[rd->cur] - rd->nrec + i, size = 0;
	struct dcbor_item it, h;
	const char *why = NULL;
	enum rule rule = RULE_NONE;
	int r;

	if ((r = dcbor_get_item(b, &it)) != 0)
		return ERR_CBOR;
	if (it.type == DCBOR_ARRAY && it.u == 2) {
		if (dcbor_get_uint(b, &size) != 0 ||
		    dcbor_get_item(b, &h) != 0 || h.type != DCBOR_BYTES ||
		    h.len != EVIDENCE_HASH_LEN)
			return ERR_CBOR;
	} else if (it.type != DCBOR_NULL)
		return ERR_CBOR;
	if (f->path && f->have)
		merkle_add_file(&rd->mk[rd->cur], rd->th[i], rd->ch[i],
		    f->size, f->hash);
	else
		merkle_add(&rd->mk[rd->cur], rd->th[i], rd->ch[i]);
	if (it.type == DCBOR_NULL && f->path) {
		rule = RULE_FILE_MISSING;
		why = "the row has a path but its evidence no file";
	} else if (it.type == DCBOR_ARRAY && !f->path) {
		rule = RULE_EVIDENCE_SHAPE;
		why = "the row has no path but its evidence a file";
	} else if (it.type == DCBOR_ARRAY && !f->have) {
		rule = RULE_FILE_MISSING;
		why = "the row has a path but the archive no file for it";
	} else if (it.type == DCBOR_ARRAY && (size != f->size ||
	    sodium_memcmp(h.p, f->hash, EVIDENCE_HASH_LEN) != 0)) {
		rule = RULE_FILE_HASH;
		why = "the file's size or hash does not recompute";
	}
	if (why != NULL && FAIL(rd, rule, "table \"%s\" row %llu: %s",
	    mt->name, (unsigned long long)n, why))
		return ERR_INTERRUPTED;
	return 0;
}

/* The evidence of a part of the files table: [th, ch, null | [size,
 * hash]] per row, read item by item (the items differ in size). */
static int
do_evidence_files(struct reader *rd, size_t t)
{
	const struct manifest_table *mt = &rd->pre->tables[t];
	struct buf *b = rd->view;
	struct dcbor_item th, ch;
	uint64_t i, n;
	int r;

	if ((r = buf_view_reset(b, buf_ptr(rd->data), buf_len(rd->data))) != 0)
		return r;
	for (i = 0; i < rd->nrec; i++) {
		if ((r = dcbor_get_array(b, &n)) != 0 || n != 3 ||
		    (r = dcbor_get_item(b, &th)) != 0 ||
		    (r = dcbor_get_item(b, &ch)) != 0 ||
		    th.type != DCBOR_BYTES || th.len != EVIDENCE_HASH_LEN ||
		    ch.type != DCBOR_BYTES || ch.len != EVIDENCE_HASH_LEN)
			break;
		if ((r = evidence_item(rd, mt, i, th.p, ch.p)) != 0)
			return r;
		if ((r = evidence_file(rd, mt, i, b)) != 0) {
			if (r != ERR_CBOR)
				return r;
			break;
		}
	}
	if ((i < rd->nrec || buf_len(b) != 0) && FAIL(rd,
	    RULE_EVIDENCE_SHAPE, "table \"%s\" part %llu: evidence item "
	    "%llu is not [bstr 32, bstr 32, null or [uint, bstr 32]], or "
	    "bytes follow the last", mt->name, (unsigned long long)rd->part,
	    (unsigned long long)i))
		return ERR_INTERRUPTED;
	/* rows without a leaf yet (a broken item) get one: roots then fail */
	for (; i < rd->nrec; i++)
		merkle_add(&rd->mk[t], rd->th[i], rd->ch[i]);
	return 0;
}

/* The only encodings of an evidence item ([bstr 32, bstr 32], or [null,
 * bstr 32] for a global table) up to the first hash: deterministic CBOR
 * has one. */
static const uint8_t ev_head[] = { 0x82, 0x58, 0x20 };
static const uint8_t ev_head_global[] = { 0x82, 0xf6, 0x58, 0x20 };

static int
do_evidence(struct reader *rd, size_t t)
{
	const struct manifest_table *mt = &rd->pre->tables[t];
	struct buf *b = rd->view;
	struct dcbor_item th, ch;
	const uint8_t *e;
	uint64_t i, n, want = rd->nrec * (mt->tenant_column >= 0 ?
	    BUNDLE_EVIDENCE_ITEM : BUNDLE_EVIDENCE_ITEM_GLOBAL);
	int r;

	if (manifest_is_files_table(rd->pre, t))
		return do_evidence_files(rd, t);

	if (buf_len(rd->data) != want && FAIL(rd, RULE_EVIDENCE_SHAPE,
	    "table \"%s\" part %llu: evidence holds %zu bytes, %llu records "
	    "need %llu", mt->name, (unsigned long long)rd->part,
	    buf_len(rd->data), (unsigned long long)rd->nrec,
	    (unsigned long long)want))
		return ERR_INTERRUPTED;
	if ((r = buf_view_reset(b, buf_ptr(rd->data), buf_len(rd->data))) != 0)
		return r;
	for (i = 0; buf_len(b) > 0 && i < rd->nrec; i++) {
		/* the one encoding, read in place; anything else is parsed
		 * below to say what it is */
		e = buf_ptr(b);
		if (mt->tenant_column >= 0 &&
		    buf_len(b) >= BUNDLE_EVIDENCE_ITEM &&
		    memcmp(e, ev_head, sizeof(ev_head)) == 0 &&
		    memcmp(e + sizeof(ev_head) + EVIDENCE_HASH_LEN, ev_head + 1,
		    sizeof(ev_head) - 1) == 0) {
			if ((r = evidence_item(rd, mt, i, e + sizeof(ev_head),
			    e + BUNDLE_EVIDENCE_ITEM - EVIDENCE_HASH_LEN)) != 0 ||
			    (r = buf_consume(b, BUNDLE_EVIDENCE_ITEM)) != 0)
				return r;
			continue;
		}
		if (mt->tenant_column < 0 &&
		    buf_len(b) >= BUNDLE_EVIDENCE_ITEM_GLOBAL &&
		    memcmp(e, ev_head_global, sizeof(ev_head_global)) == 0) {
			if ((r = evidence_item(rd, mt, i, NULL,
			    e + sizeof(ev_head_global))) != 0 ||
			    (r = buf_consume(b, BUNDLE_EVIDENCE_ITEM_GLOBAL)) != 0)
				return r;
			continue;
		}
		if ((r = dcbor_get_array(b, &n)) != 0 || n != 2 ||
		    (r = dcbor_get_item(b, &th)) != 0 ||
		    (r = dcbor_get_item(b, &ch)) != 0 ||
		    ch.type != DCBOR_BYTES || ch.len != EVIDENCE_HASH_LEN ||
		    (mt->tenant_column >= 0 ? th.type != DCBOR_BYTES ||
		    th.len != EVIDENCE_HASH_LEN : th.type != DCBOR_NULL)) {
			/* the sizes above already said it when they differ */
			if (buf_len(rd->data) == want && FAIL(rd,
			    RULE_EVIDENCE_SHAPE, "table \"%s\" part %llu: "
			    "evidence item %llu is not [%s, bstr 32]", mt->name,
			    (unsigned long long)rd->part, (unsigned long long)i,
			    mt->tenant_column >= 0 ? "bstr 32" : "null"))
				return ERR_INTERRUPTED;
			return 0;
		}
		if ((r = evidence_item(rd, mt, i, th.p, ch.p)) != 0)
			return r;
	}
	return 0;
}

static int
compare_results(struct reader *rd, const struct manifest *m)
{
	const struct manifest_table *mt;
	uint8_t root[EVIDENCE_HASH_LEN];
	size_t i;

	/* every leaf added: the trees are this thread's again */
	merkleq_finish(rd->mq);
	rd->mq = NULL;
	for (i = 0; i < m->ntables; i++) {
		mt = &m->tables[i];
		if ((mt->records != rd->records[i] ||
		    mt->parts != rd->parts[i] || mt->bytes != rd->bytes[i]) &&
		    FAIL(rd, RULE_COUNTS, "table \"%s\": the manifest says "
		    "%llu records, %llu parts, %llu bytes; the archive holds "
		    "%llu, %llu, %llu", mt->name,
		    (unsigned long long)mt->records,
		    (unsigned long long)mt->parts,
		    (unsigned long long)mt->bytes,
		    (unsigned long long)rd->records[i],
		    (unsigned long long)rd->parts[i],
		    (unsigned long long)rd->bytes[i]))
			return ERR_INTERRUPTED;
		merkle_root(&rd->mk[i], root);
		if (sodium_memcmp(root, mt->root, sizeof(root)) != 0 &&
		    FAIL(rd, RULE_MERKLE_ROOT, "table \"%s\": Merkle root does "
		    "not match the records", mt->name))
			return ERR_INTERRUPTED;
	}
	return 0;
}

static int
do_manifest(struct reader *rd)
{
	struct manifest *m = NULL;
	const uint8_t *pre;
	struct buf *view = NULL;
	size_t pre_len;
	int r;

	if ((r = check_encoding(rd, "manifest")) != 0)
		return r;
	if ((view = buf_from(buf_ptr(rd->data), buf_len(rd->data))) == NULL)
		return ERR_NOMEM;
	if ((r = manifest_decode(view, &m, &pre, &pre_len)) != 0) {
		if (r == ERR_UNSUPPORTED)
			FAIL(rd, RULE_FORMAT_VERSION, "the manifest is not of "
			    "format version %d", MANIFEST_VERSION);
		else
			FAIL(rd, RULE_MANIFEST, "the manifest does not have the "
			    "keys and values of §4.4 (%s)", err_str(r));
		goto out;
	}
	if (pre_len != buf_len(rd->pre_bytes) ||
	    memcmp(pre, buf_ptr(rd->pre_bytes), pre_len) != 0) {
		r = ERR_MANIFEST;
		if (FAIL(rd, RULE_MANIFEST, "the manifest does not embed the "
		    "archive's preamble byte for byte"))
			r = ERR_INTERRUPTED;
		goto out;
	}
	if ((r = compare_results(rd, m)) != 0)
		goto out;
	if (rd->v->on_manifest != NULL &&
	    rd->v->on_manifest(rd->v->ctx, m, buf_ptr(rd->data),
	    buf_len(rd->data)) != 0) {
		rd->stopped = 1;
		r = ERR_INTERRUPTED;
	}
 out:
	buf_free(view);
	manifest_free(m);
	return r;
}

/* After the end-of-archive marker: nothing at all, read to the end. */
static int
drain(struct reader *rd)
{
	uint64_t extra = 0;
	size_t got;

	do {
		if (src_read(rd, rd->block, BLOCK, &got) != 0)
			return src_report(rd);
		extra += got;
	} while (got > 0);
	if (extra > 0 && FAIL(rd, RULE_TRAILING_DATA, "%llu bytes of data "
	    "after the tar end-of-archive marker", (unsigned long long)extra))
		return ERR_INTERRUPTED;
	if (!rd->zstd)
		return 0;
	/* the frame ended: what follows it is a second frame or hidden
	 * bytes, whatever it holds */
	extra = rd->zin_len - rd->zin_pos;
	do {
		if (raw_read(rd, rd->block, BLOCK, &got) != 0)
			return src_report(rd);
		extra += got;
	} while (got > 0);
	if (extra > 0 && FAIL(rd, RULE_ZSTD_FRAME, "%llu bytes after the zstd "
	    "frame (the payload is one frame and nothing else)",
	    (unsigned long long)extra))
		return ERR_INTERRUPTED;
	return 0;
}

/* ---- files (§3.4) ---- */

/* Parses "texp/f/TTTT/PPPPPP/RRRRR/CCCCCC" strictly. */
static int
parse_file_name(const char *name, size_t *t, uint64_t *p, uint64_t *row,
    uint64_t *chunk)
{
	char expect[64];
	unsigned long long pp, rr, cc;
	unsigned tt;
	size_t i;

	if (strlen(name) != 31 || strncmp(name, "texp/f/", 7) != 0)
		return 0;
	for (i = 7; i < 31; i++)
		if ((name[i] < '0' || name[i] > '9') &&
		    !(name[i] == '/' && (i == 11 || i == 18 || i == 24)))
			return 0;
	if (sscanf(name + 7, "%4u/%6llu/%5llu/%6llu", &tt, &pp, &rr,
	    &cc) != 4)
		return 0;
	bundle_file_name(expect, sizeof(expect), tt, pp, rr, cc);
	if (strcmp(expect, name) != 0)
		return 0;
	*t = tt;
	*p = pp;
	*row = rr;
	*chunk = cc;
	return 1;
}

/* The file being read is whole: its hash is known. */
static int
files_end(struct reader *rd)
{
	struct rfile *f;

	if (rd->frow < 0)
		return 0;
	f = &rd->rf[rd->frow];
	crypto_generichash_final(&rd->fst, f->hash, EVIDENCE_HASH_LEN);
	f->have = 1;
	rd->frow = -1;
	if (rd->v->on_file_end != NULL && rd->v->on_file_end(rd->v->ctx) != 0) {
		rd->stopped = 1;
		return ERR_INTERRUPTED;
	}
	return 0;
}

/* Why a file entry of this name and size cannot come now, or NULL. */
static const char *
file_misplaced(struct reader *rd, const char *name, uint64_t size,
    uint64_t *row, uint64_t *chunk)
{
	size_t t;
	uint64_t p;

	if (!parse_file_name(name, &t, &p, row, chunk) || t != rd->cur ||
	    p != rd->part)
		return "not a file entry of the part just read";
	if (*row >= rd->nrec || !rd->rf[*row].path)
		return "a file for a row that has no path (no file without "
		    "its row)";
	if ((int64_t)*row == rd->frow) {
		if (*chunk != rd->fchunk + 1)
			return "the file's chunks are not consecutive";
		if (rd->flast != BUNDLE_FILE_CHUNK)
			return "a chunk follows one that is not full";
		if (size == 0)
			return "an empty chunk after the first";
		return NULL;
	}
	if ((int64_t)*row < rd->frow || rd->rf[*row].have)
		return "files not in the order of their rows";
	if (*chunk != 1)
		return "a file does not start with chunk 1";
	return NULL;
}

/* One chunk of a file: streamed through the hash, never held whole. */
static int
do_file(struct reader *rd, const char *name, uint64_t size)
{
	uint64_t row, chunk, left;
	const char *why;
	struct rfile *f;
	size_t n;
	int r;

	if ((why = file_misplaced(rd, name, size, &row, &chunk)) != NULL) {
		FAIL(rd, RULE_FILE_ENTRY, "entry \"%.80s\": %s", name, why);
		return ERR_TAR;
	}
	if (size > BUNDLE_FILE_CHUNK) {
		FAIL(rd, RULE_ENTRY_SIZE, "entry \"%s\" holds %llu bytes, over "
		    "its limit of %u", name, (unsigned long long)size,
		    BUNDLE_FILE_CHUNK);
		return ERR_LIMIT;
	}
	f = &rd->rf[row];
	if ((int64_t)row != rd->frow) {
		if ((r = files_end(rd)) != 0)
			return r;
		rd->frow = (int64_t)row;
		f->size = 0;
		crypto_generichash_init(&rd->fst, NULL, 0, EVIDENCE_HASH_LEN);
		if (rd->v->on_file_begin != NULL && rd->v->on_file_begin(
		    rd->v->ctx, rd->cur, rd->records[rd->cur] - rd->nrec + row,
		    buf_ptr(rd->data) + f->off, f->len) != 0) {
			rd->stopped = 1;
			return ERR_INTERRUPTED;
		}
	}
	for (left = size; left > 0; left -= n) {
		n = left < BLOCK ? (size_t)left : BLOCK;
		if ((r = read_exact(rd, rd->block, n)) != 0)
			goto short_read;
		crypto_generichash_update(&rd->fst, rd->block, n);
		f->size += n;
		if (rd->v->on_file_data != NULL &&
		    rd->v->on_file_data(rd->v->ctx, rd->block, n) != 0) {
			rd->stopped = 1;
			return ERR_INTERRUPTED;
		}
	}
	rd->fchunk = chunk;
	rd->flast = size;
	n = tar_padding(size);
	if ((r = read_exact(rd, rd->block, n)) != 0)
		goto short_read;
	if (!tar_is_zero(rd->block, n) && FAIL(rd, RULE_TAR_PADDING,
	    "entry \"%s\": the padding after its data is not zero", name))
		return ERR_INTERRUPTED;
	return 0;
 short_read:
	if (r == ERR_TRUNCATED) {
		FAIL(rd, RULE_TAR_END, "the tar stream ends inside entry "
		    "\"%s\"", name);
		return ERR_TAR;
	}
	return r;
}

enum stage { ST_PREAMBLE, ST_PARTS, ST_EVIDENCE, ST_END };

static const char *
stage_name(enum stage st)
{
	switch (st) {
	case ST_PREAMBLE: return "\"" PREAMBLE_NAME "\"";
	case ST_PARTS: return "a records part or \"" MANIFEST_NAME "\"";
	case ST_EVIDENCE: return "the evidence of the previous part";
	default: return "the end-of-archive marker";
	}
}

/* A records entry name: the next part of this table, or the first of a
 * later one. */
static int
records_expected(struct reader *rd, const char *name, size_t *t,
    uint64_t *p)
{
	if (!parse_part_name(name, "records", t, p) ||
	    *t >= rd->pre->ntables || *t < rd->cur ||
	    *p != (*t == rd->cur ? rd->part + 1 : 1) ||
	    (*t > rd->cur && rd->parts[*t] != 0))
		return 0;
	return 1;
}

/* One entry in stage *st; the next stage on success. */
static int
walk_entry(struct reader *rd, const char *name, uint64_t size,
    enum stage *st)
{
	size_t t;
	uint64_t p;
	int r;

	switch (*st) {
	case ST_PREAMBLE:
		if (strcmp(name, PREAMBLE_NAME) != 0)
			break;
		if ((r = entry_read(rd, name, size, MANIFEST_MAX_BYTES)) != 0 ||
		    (r = do_preamble(rd)) != 0)
			return r;
		*st = ST_PARTS;
		return 0;
	case ST_EVIDENCE:
		if (manifest_is_files_table(rd->pre, rd->cur) &&
		    strncmp(name, "texp/f/", 7) == 0)
			return do_file(rd, name, size);
		if (!parse_part_name(name, "evidence", &t, &p) ||
		    t != rd->cur || p != rd->part)
			break;
		if ((r = files_end(rd)) != 0 ||
		    (r = entry_read(rd, name, size,
		    manifest_is_files_table(rd->pre, t) ? EVIDENCE_FILES_MAX :
		    EVIDENCE_MAX)) != 0 || (r = do_evidence(rd, t)) != 0)
			return r;
		*st = ST_PARTS;
		return 0;
	case ST_PARTS:
		if (strcmp(name, MANIFEST_NAME) == 0) {
			if ((r = entry_read(rd, name, size,
			    MANIFEST_MAX_BYTES)) != 0 || (r = do_manifest(rd)) != 0)
				return r;
			*st = ST_END;
			return 0;
		}
		if (!records_expected(rd, name, &t, &p))
			break;
		if (t != rd->cur)
			rd->prev_pending = 0;
		rd->cur = t;
		rd->part = p;
		rd->parts[t] = p;
		if ((r = entry_read(rd, name, size,
		    BUNDLE_MAX_PART_BYTES)) != 0 || (r = do_records(rd, t)) != 0)
			return r;
		*st = ST_EVIDENCE;
		return 0;
	default:
		break;
	}
	FAIL(rd, RULE_ENTRY_ORDER, "unexpected entry \"%.80s\" (expected %s)",
	    name, stage_name(*st));
	return ERR_TAR;
}

static int
reader_new(bundle_read_fn rdfn, void *rctx, const struct bundle_visitor *v,
    struct reader **out)
{
	struct reader *rd;

	if ((*out = rd = calloc(1, sizeof(*rd))) == NULL)
		return ERR_NOMEM;
	rd->rd = rdfn;
	rd->rctx = rctx;
	rd->v = v;
	rd->types_table = SIZE_MAX;
	rd->frow = -1;
	if ((rd->block = malloc(BLOCK)) == NULL ||
	    (rd->pre_bytes = buf_new(MANIFEST_MAX_BYTES)) == NULL ||
	    (rd->data = buf_new(BUNDLE_MAX_PART_BYTES)) == NULL ||
	    (rd->view = buf_from(NULL, 0)) == NULL ||
	    (rd->view2 = buf_from(NULL, 0)) == NULL)
		return ERR_NOMEM;
	return 0;
}

static void
reader_free(struct reader *rd)
{
	if (rd == NULL)
		return;
	ZSTD_freeDCtx(rd->zd);
	free(rd->zin);
	manifest_free(rd->pre);
	buf_free(rd->pre_bytes);
	buf_free(rd->data);
	buf_free(rd->view);
	buf_free(rd->view2);
	free(rd->rf);
	free(rd->types);
	free(rd->block);
	free(rd->th);
	free(rd->ch);
	free(rd->records);
	free(rd->parts);
	free(rd->bytes);
	merkleq_finish(rd->mq);
	free(rd->mk);
	evidence_hasher_clear(&rd->eh);
	free(rd);
}

int
bundle_read(bundle_read_fn rdfn, void *rctx, const struct bundle_visitor *v)
{
	struct reader *rd = NULL;
	char name[TAR_NAME_MAX + 1];
	enum stage st = ST_PREAMBLE;
	uint64_t size;
	int r, end;

	if ((r = reader_new(rdfn, rctx, v, &rd)) != 0)
		goto out;
	if ((r = src_open(rd)) != 0) {
		if (rd->src_err != 0)
			r = src_report(rd);
		goto out;
	}
	for (;;) {
		if ((r = tar_next(rd, name, &size, &end)) != 0)
			goto out;
		if (end)
			break;
		if ((r = walk_entry(rd, name, size, &st)) != 0)
			goto out;
	}
	if (st != ST_END) {
		FAIL(rd, RULE_ENTRY_ORDER, "the archive ends before its "
		    "manifest (expected %s)", stage_name(st));
		r = ERR_TAR;
		goto out;
	}
	r = drain(rd);
 out:
	if (rd != NULL && rd->stopped)
		r = ERR_INTERRUPTED;
	reader_free(rd);
	return r;
}
