/*
 * texp-vectors: writes the conformance vectors of tests/vectors (see its
 * README) from the format library, deterministically: every random byte
 * (keys, salts, ids, file keys, nonces, ephemeral shares) comes from a
 * generator seeded by the vector's name, so that running it again writes
 * the same bytes. Each bad vector breaks one rule of docs/FORMAT.md and is
 * re-signed with the vectors' signer key, so that the rule under test is
 * the only thing wrong.
 *
 *   texp-vectors --out DIR          writes DIR/NAME.vec for every vector
 *   texp-vectors --plaintext DIR    writes good plaintexts (fuzzing seeds)
 *
 * Not installed.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <zstd.h>

#include "age.h"
#include "buf.h"
#include "bundle.h"
#include "bundle_int.h"
#include "dcbor.h"
#include "err.h"
#include "evidence.h"
#include "file.h"
#include "manifest.h"
#include "minisig.h"
#include "seal.h"
#include "tar.h"
#include "testutil.h"

#define CREATED	1767225600ULL	/* 2026-01-01T00:00:00Z */
#define EXPIRES	4102444800ULL	/* 2100-01-01T00:00:00Z */
#define PART_BYTES	330		/* the base's records part size */
#define SPLIT_N		1024		/* the split vectors' part size */
#define MAXREC		8
#define MAXENT		32

static const char *outdir;

static void
die(const char *what, int r)
{
	fprintf(stderr, "texp-vectors: %s: %s\n", what, err_str(r));
	exit(1);
}

#define OK(x) do { int r_ = (x); if (r_ != 0) die(#x, r_); } while (0)

static struct buf *
nbuf(size_t max)
{
	struct buf *b = buf_new(max);

	if (b == NULL)
		die("buf_new", ERR_NOMEM);
	return b;
}

/* The test tool edits its own buffers in place. */
static uint8_t *
at(struct buf *b, size_t off)
{
	return (uint8_t *)(uintptr_t)buf_ptr(b) + off;
}

/* ------------------------------------------------------------------ */
/* Deterministic randomness for libsodium (testutil.h) */

/* The key is BLAKE2b-256 of the label, keyed with "texp-vectors v1". */
static void
rng_seed(const char *label)
{
	uint8_t key[32];

	crypto_generichash(key, sizeof(key), (const uint8_t *)label,
	    strlen(label), (const uint8_t *)"texp-vectors v1", 15);
	test_rng_key(key);
}

/* ------------------------------------------------------------------ */
/* The vectors' keys */

static struct age_identity *id_main, *id_other;
static char *id_main_text;
static struct age_recipient *rcp_main, *rcp_other;
static struct minisig_seckey *sk_main, *sk_other;
static char *pk_main_line;

static void
keys_make(void)
{
	struct minisig_pubkey *pk;
	char *s, *nl;

	rng_seed("key: identity");
	OK(age_identity_generate(&id_main));
	OK(age_identity_encode(id_main, &id_main_text));
	OK(age_identity_recipient(id_main, &s));
	OK(age_recipient_parse(s, &rcp_main));
	free(s);
	rng_seed("key: other identity");
	OK(age_identity_generate(&id_other));
	OK(age_identity_recipient(id_other, &s));
	OK(age_recipient_parse(s, &rcp_other));
	free(s);
	rng_seed("key: signer");
	OK(minisig_keygen(NULL, 0, &sk_main, &pk));
	OK(minisig_pubkey_encode(pk, &s));
	nl = strchr(s, '\n');
	pk_main_line = strndup(nl + 1, strcspn(nl + 1, "\n"));
	free(s);
	minisig_pubkey_free(pk);
	rng_seed("key: other signer");
	OK(minisig_keygen(NULL, 0, &sk_other, &pk));
	minisig_pubkey_free(pk);
}

/* ------------------------------------------------------------------ */
/* Records and the archive's content (the spec) */

struct spec {
	struct manifest *m;
	struct buf *recs[4][MAXREC];
	size_t nrecs[4];
	/* forced cuts: records per part (0: an empty part); NULL: the
	 * writer's cuts */
	const size_t *cuts[4];
	size_t ncuts[4];
	/* files (§3.4): the file of each row of the files table (NULL when
	 * its path is null), and the ways one row's file (frow) is laid out
	 * otherwise than the writer lays it out */
	struct buf *file[MAXREC];
	size_t frow;
	int fdrop;		/* no entries; 1: evidence null, 2: kept */
	int fflip;		/* a byte of the entries changed after hashing */
	int fsize_delta;	/* the evidence's size is off by this */
	size_t fcut;		/* first chunk of this many bytes (0: full) */
	int fempty;		/* an empty chunk after the last */
	int fnull_claim;	/* evidence [0, hash of nothing] on frow (null) */
};

static void
put_text(struct buf *b, const char *s)
{
	OK(dcbor_put_text(b, s, strlen(s)));
}

/* The tenant key of the base (text) or of the typed variants. */
static void
put_tenant(struct buf *b, const char *type, const char *tenant)
{
	struct buf *tv = nbuf(256);
	uint8_t u[16];
	size_t i;
	int hi;

	if (strcmp(type, "uuid") == 0) {
		for (i = 0; i < 32; i++) {
			const char *c = tenant + i + (i >= 8) + (i >= 12) +
			    (i >= 16) + (i >= 20);

			hi = *c <= '9' ? *c - '0' : (*c | 0x20) - 'a' + 10;
			if (i % 2 == 0)
				u[i / 2] = (uint8_t)(hi << 4);
			else
				u[i / 2] |= (uint8_t)hi;
		}
		OK(dcbor_put_tag(tv, DCBOR_TAG_UUID));
		OK(dcbor_put_bytes(tv, u, 16));
	} else if (strcmp(type, "int8") == 0)
		OK(dcbor_put_int(tv, strtoll(tenant, NULL, 10)));
	else
		put_text(tv, tenant);
	OK(buf_put(b, buf_ptr(tv), buf_len(tv)));
	buf_free(tv);
}

static const char *const contact_cols[][2] = {
	{ "tenant_id", "text" }, { "id", "bigint" }, { "name", "text" },
	{ "score", "double precision" }, { "ratio", "real" },
	{ "active", "boolean" }, { "blob", "bytea" }, { "uid", "uuid" },
	{ "born", "date" }, { "seen", "timestamp with time zone" },
	{ "tags", "text[]" }, { "grid", "integer[]" },
	{ "amount", "numeric(10,2)" }, { "mood", "app.mood" },
};
#define NCONTACT (sizeof(contact_cols) / sizeof(contact_cols[0]))

static struct buf *
contact(const char *ttype, const char *tenant, uint64_t i)
{
	struct buf *b = nbuf(4096);
	uint8_t u[16];
	char s[64];

	memset(u, (int)(0x10 + i), sizeof(u));
	OK(dcbor_put_array(b, NCONTACT));
	put_tenant(b, ttype, tenant);
	OK(dcbor_put_int(b, (int64_t)i + 1));
	snprintf(s, sizeof(s), "Contact %llu \xc3\xa9", (unsigned long long)i);
	put_text(b, s);
	OK(dcbor_put_float(b, (double)i / 4.0 + 0.1));
	OK(dcbor_put_float(b, 0.5));
	OK(dcbor_put_bool(b, i % 2 == 0));
	OK(dcbor_put_bytes(b, u, 4));
	OK(dcbor_put_tag(b, DCBOR_TAG_UUID));
	OK(dcbor_put_bytes(b, u, 16));
	OK(dcbor_put_tag(b, DCBOR_TAG_DATE));
	snprintf(s, sizeof(s), "2024-01-%02llu", (unsigned long long)i + 1);
	put_text(b, s);
	OK(dcbor_put_tag(b, DCBOR_TAG_DATETIME));
	put_text(b, "2024-05-06T07:08:09.5Z");
	OK(dcbor_put_array(b, 2));
	put_text(b, "a");
	put_text(b, "b");
	if (i == 0)
		OK(dcbor_put_null(b));
	else {
		OK(dcbor_put_array(b, 2));
		OK(dcbor_put_array(b, 2));
		OK(dcbor_put_int(b, 1));
		OK(dcbor_put_int(b, 2));
		OK(dcbor_put_array(b, 2));
		OK(dcbor_put_int(b, 3));
		OK(dcbor_put_int(b, -4));
	}
	put_text(b, "12.50");
	put_text(b, "happy");
	return b;
}

static struct buf *
currency(const char *code, const char *name)
{
	struct buf *b = nbuf(1 << 17);

	OK(dcbor_put_array(b, 2));
	put_text(b, code);
	put_text(b, name);
	return b;
}

static void
add_table(struct manifest *m, const char *name, int64_t tcol,
    const char *const (*cols)[2], size_t ncols)
{
	size_t t, j;

	OK(manifest_add_table(m, name, tcol, &t));
	for (j = 0; j < ncols; j++)
		OK(manifest_add_column(m, t, cols[j][0], cols[j][1]));
}

/*
 * The base: app.contacts (tenant table, 3 records, two parts), app.notes
 * (tenant table, no records), app.currencies (global, 2 records).
 */
static void
spec_base(struct spec *sp, const char *ttype, const char *tenant)
{
	static const char *const note_cols[][2] = { { "tenant_id", "text" },
	    { "body", "text" } };
	static const char *const cur_cols[][2] = { { "code", "text" },
	    { "name", "text" } };
	struct buf *tv = nbuf(256);
	struct manifest *m;
	size_t i;

	memset(sp, 0, sizeof(*sp));
	if ((sp->m = m = manifest_new()) == NULL)
		die("manifest_new", ERR_NOMEM);
	randombytes_buf(m->export_id, sizeof(m->export_id));
	randombytes_buf(m->salt, sizeof(m->salt));
	m->created = CREATED;
	m->expires = EXPIRES;
	m->include_global = 1;
	m->part_bytes = PART_BYTES;
	OK(manifest_set_str(&m->tenant_type, ttype));
	OK(manifest_set_str(&m->snapshot, "system_identifier=7000000000000000001 "
	    "snapshot=1000:1000: at=2025-12-31T23:59:59.000000Z"));
	add_table(m, "app.contacts", 0, contact_cols, NCONTACT);
	if (strcmp(ttype, "uuid") == 0)
		OK(manifest_set_str(&m->tables[0].columns[0].type, "uuid"));
	if (strcmp(ttype, "int8") == 0)
		OK(manifest_set_str(&m->tables[0].columns[0].type, "bigint"));
	add_table(m, "app.notes", 0, note_cols, 2);
	if (strcmp(ttype, "text") != 0)
		OK(manifest_set_str(&m->tables[1].columns[0].type,
		    m->tables[0].columns[0].type));
	add_table(m, "app.currencies", -1, cur_cols, 2);
	put_tenant(tv, ttype, tenant);
	OK(evidence_tenant_hash(m->salt, buf_ptr(tv), buf_len(tv),
	    m->tenant_hash));
	buf_free(tv);
	for (i = 0; i < 3; i++)
		sp->recs[0][i] = contact(ttype, tenant, i);
	sp->nrecs[0] = 3;
	sp->recs[2][0] = currency("EUR", "Euro");
	sp->recs[2][1] = currency("JPY", "Yen");
	sp->nrecs[2] = 2;
}

/*
 * Files (§3.4): app.documents, a tenant table whose path column names each
 * row's file. Its five rows fall into three parts of two, two and one
 * records: a file of 300 bytes and a null path; an empty file and one of
 * 1500 bytes; one of 700 bytes (or of `big` bytes).
 */
static const char *const doc_paths[] = { "invoices/2025-01.pdf", NULL,
    "empty.txt", "notes/read me.txt", "scans/b\xc3\xa9.png" };
static const size_t doc_sizes[] = { 300, 0, 0, 1500, 700 };
#define NDOC	(sizeof(doc_paths) / sizeof(doc_paths[0]))

/* n bytes of the file at path: lines that name it, sixteen different
 * ones over and over (a large file compresses well). */
static struct buf *
file_content(const char *path, size_t n)
{
	struct buf *b = nbuf(64 << 20);
	char line[128];
	size_t i, len;

	for (i = 0; buf_len(b) < n; i++) {
		len = (size_t)snprintf(line, sizeof(line), "%s of client-b, "
		    "line %zu\n", path, i % 16);
		OK(buf_put(b, line, len < n - buf_len(b) ? len :
		    n - buf_len(b)));
	}
	return b;
}

static struct buf *
document(size_t i)
{
	struct buf *b = nbuf(4096);
	char title[160];

	OK(dcbor_put_array(b, 4));
	put_text(b, "client-b");
	OK(dcbor_put_int(b, (int64_t)i + 1));
	if (doc_paths[i] == NULL)
		OK(dcbor_put_null(b));
	else
		put_text(b, doc_paths[i]);
	snprintf(title, sizeof(title), "Document %zu: %.100s", i + 1,
	    "a title long enough that two rows fill a part of 330 bytes, "
	    "and a third one starts the next part");
	put_text(b, title);
	return b;
}

static void
spec_add_files(struct spec *sp, size_t big)
{
	static const char *const doc_cols[][2] = { { "tenant_id", "text" },
	    { "id", "bigint" }, { "path", "text" }, { "title", "text" } };
	size_t i;

	add_table(sp->m, "app.documents", 0, doc_cols, 4);
	sp->m->has_files = 1;
	sp->m->files_table = 3;
	sp->m->files_path = 2;
	for (i = 0; i < NDOC; i++) {
		sp->recs[3][i] = document(i);
		if (doc_paths[i] != NULL)
			sp->file[i] = file_content(doc_paths[i],
			    big != 0 && i == NDOC - 1 ? big : doc_sizes[i]);
	}
	sp->nrecs[3] = NDOC;
}

static void
spec_free(struct spec *sp)
{
	size_t t, i;

	for (t = 0; t < 4; t++)
		for (i = 0; i < sp->nrecs[t]; i++)
			buf_free(sp->recs[t][i]);
	for (i = 0; i < MAXREC; i++)
		buf_free(sp->file[i]);
	manifest_free(sp->m);
	memset(sp, 0, sizeof(*sp));
}

/* Replaces item k of the array record *rec with raw[0..len) (any bytes). */
static void
rec_set(struct buf **rec, size_t k, const void *raw, size_t len)
{
	struct buf *in = buf_from(buf_ptr(*rec), buf_len(*rec));
	struct buf *out = nbuf(1 << 16);
	const uint8_t *start;
	size_t before;
	uint64_t n, i;

	OK(in == NULL ? ERR_NOMEM : 0);
	OK(dcbor_get_array(in, &n));
	OK(dcbor_put_array(out, n));
	for (i = 0; i < n; i++) {
		start = buf_ptr(in);
		before = buf_len(in);
		OK(dcbor_skip(in, DCBOR_MAX_DEPTH));
		if (i == k)
			OK(buf_put(out, raw, len));
		else
			OK(buf_put(out, start, before - buf_len(in)));
	}
	buf_free(in);
	buf_free(*rec);
	*rec = out;
}

/* Replaces item k of record i of table t with hex-encoded bytes. */
static void
rec_set_hex(struct spec *sp, size_t t, size_t i, size_t k, const char *hex)
{
	uint8_t raw[512];
	size_t len;

	if (sodium_hex2bin(raw, sizeof(raw), hex, strlen(hex), " ", &len,
	    NULL) != 0)
		die(hex, ERR_FORMAT);
	rec_set(&sp->recs[t][i], k, raw, len);
}

/* ------------------------------------------------------------------ */
/* Entries: the spec assembled the way the writer does it */

struct ent {
	char name[128];
	struct buf *data;
	uint8_t hdr[TAR_BLOCK];
	int hdr_set;		/* write hdr as it is */
	uint8_t pad;		/* padding byte (0) */
};

struct plain {
	struct ent e[MAXENT];
	size_t n;
	uint64_t mtime;
	size_t end_blocks;	/* zero blocks after the entries: 2 */
	struct buf *tail;	/* bytes after them */
	struct buf *pre;	/* the preamble's bytes */
};

static struct ent *
ent_add(struct plain *pl, const char *name, const void *p, size_t len)
{
	struct ent *e;

	if (pl->n == MAXENT)
		die("too many entries", ERR_LIMIT);
	e = &pl->e[pl->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->data = nbuf(MANIFEST_MAX_BYTES);
	OK(buf_put(e->data, p, len));
	return e;
}

/* Inserts an empty slot at position at, returning it. */
static struct ent *
ent_insert(struct plain *pl, size_t at, const char *name, const void *p,
    size_t len)
{
	struct ent tmp;

	ent_add(pl, name, p, len);
	tmp = pl->e[pl->n - 1];
	memmove(&pl->e[at + 1], &pl->e[at], (pl->n - 1 - at) * sizeof(tmp));
	pl->e[at] = tmp;
	return &pl->e[at];
}

static void
ent_remove(struct plain *pl, size_t at)
{
	buf_free(pl->e[at].data);
	memmove(&pl->e[at], &pl->e[at + 1], (pl->n - 1 - at) *
	    sizeof(pl->e[0]));
	pl->n--;
}

static struct ent *
ent_find(struct plain *pl, const char *name)
{
	size_t i;

	for (i = 0; i < pl->n; i++)
		if (strcmp(pl->e[i].name, name) == 0)
			return &pl->e[i];
	die(name, ERR_NOENT);
	return NULL;
}

/* How many records go into each part: the writer's rule, or forced. */
static size_t
next_cut(const struct spec *sp, size_t t, size_t from, size_t part)
{
	size_t n = 0, bytes = 0;

	if (sp->cuts[t] != NULL)
		return sp->cuts[t][part];
	while (from + n < sp->nrecs[t] && (n == 0 ||
	    (bytes + buf_len(sp->recs[t][from + n]) <= sp->m->part_bytes &&
	    n < BUNDLE_MAX_PART_RECORDS))) {
		bytes += buf_len(sp->recs[t][from + n]);
		n++;
	}
	return n;
}

/* The file of row `row` of the files table, row k of its part: its chunk
 * entries, its evidence item's file (after the row's [th, ch]) and its
 * Merkle leaf, the writer's way unless the spec says otherwise for it. The
 * leaf is always what a reader recomputes from the entries, so that a
 * re-signed fault breaks only its own rule. */
/* The file of row `row` of the files table, whose record is rec: none
 * when its path column is not a text string (as the writer decides), the
 * spec's file for its path, or 64 bytes that name the path. */
static struct buf *
file_of(const struct spec *sp, size_t row, const struct buf *rec)
{
	struct buf *view = buf_from(NULL, 0), *f = NULL;
	const uint8_t *path;
	size_t plen;
	char s[256];

	OK(view == NULL ? ERR_NOMEM : 0);
	if (bundle_record_path(view, buf_ptr(rec), buf_len(rec),
	    sp->m->files_path, &path, &plen) == 0 && path != NULL) {
		f = nbuf(64 << 20);
		if (row < NDOC && sp->file[row] != NULL &&
		    plen == strlen(doc_paths[row]) &&
		    memcmp(path, doc_paths[row], plen) == 0)
			OK(buf_put(f, buf_ptr(sp->file[row]),
			    buf_len(sp->file[row])));
		else {
			buf_free(f);
			snprintf(s, sizeof(s), "%.*s", (int)plen, path);
			f = file_content(s, 64);
		}
	}
	buf_free(view);
	return f;
}

static void
add_file(struct plain *pl, struct spec *sp, size_t t, uint64_t part,
    size_t k, size_t row, const uint8_t th[32], const uint8_t ch[32],
    struct buf *ev, struct merkle *mk)
{
	struct buf *f = file_of(sp, row, sp->recs[t][row]);
	int fault = row == sp->frow;
	struct buf *bytes;
	uint8_t fh[32], ah[32];
	size_t off = 0, len, c = 0;
	char name[64];

	if (f == NULL) {
		if (sp->fnull_claim && fault) {
			crypto_generichash(fh, sizeof(fh), NULL, 0, NULL, 0);
			OK(dcbor_put_array(ev, 2));
			OK(dcbor_put_uint(ev, 0));
			OK(dcbor_put_bytes(ev, fh, sizeof(fh)));
		} else
			OK(dcbor_put_null(ev));
		merkle_add(mk, th, ch);
		return;
	}
	crypto_generichash(fh, sizeof(fh), buf_ptr(f), buf_len(f), NULL, 0);
	bytes = f;
	if (fault && sp->fflip)
		at(bytes, 0)[0] ^= 0x01;
	crypto_generichash(ah, sizeof(ah), buf_ptr(bytes), buf_len(bytes),
	    NULL, 0);
	while (!(fault && sp->fdrop) && (c == 0 || off < buf_len(bytes))) {
		len = buf_len(bytes) - off < BUNDLE_FILE_CHUNK ?
		    buf_len(bytes) - off : BUNDLE_FILE_CHUNK;
		if (fault && sp->fcut != 0 && c == 0)
			len = sp->fcut;
		bundle_file_name(name, sizeof(name), t, part, k, ++c);
		ent_add(pl, name, buf_ptr(bytes) + off, len);
		off += len;
	}
	if (fault && sp->fempty) {
		bundle_file_name(name, sizeof(name), t, part, k, ++c);
		ent_add(pl, name, "", 0);
	}
	if (fault && sp->fdrop == 1)
		OK(dcbor_put_null(ev));
	else {
		OK(dcbor_put_array(ev, 2));
		OK(dcbor_put_uint(ev, buf_len(bytes) + (fault ?
		    sp->fsize_delta : 0)));
		OK(dcbor_put_bytes(ev, fh, sizeof(fh)));
	}
	if (fault && sp->fdrop)
		merkle_add(mk, th, ch);
	else
		merkle_add_file(mk, th, ch, buf_len(bytes), ah);
	buf_free(bytes);
}

/* One part of table t: its records entry, for the files table its files,
 * and its evidence entry. */
static void
add_part(struct plain *pl, struct spec *sp, size_t t, size_t from,
    size_t count, uint64_t part, struct merkle *mk,
    struct evidence_hasher *eh)
{
	struct manifest_table *mt = &sp->m->tables[t];
	struct buf *recs = nbuf(1 << 20), *ev = nbuf(1 << 20);
	struct buf *view = buf_from(NULL, 0);
	struct coltype types[32];
	struct record_fault f;
	uint8_t th[MAXREC][32], ch[MAXREC][32];
	const uint8_t *rp, *tval;
	size_t i, k, rl, tlen, cap = 32;
	struct coltype *tp = types;
	int files = manifest_is_files_table(sp->m, t);
	char name[64];

	/* the types only locate the tenant column here */
	OK(mt->ncolumns <= cap ? 0 : ERR_LIMIT);
	for (i = 0; i < mt->ncolumns; i++)
		coltype_parse(mt->columns[i].type, &tp[i]);
	for (i = from; i < from + count; i++) {
		struct buf *r = sp->recs[t][i];

		k = i - from;
		OK(buf_view_reset(view, buf_ptr(r), buf_len(r)));
		tval = NULL;
		tlen = 0;
		if (bundle_record_next(view, mt->ncolumns, tp,
		    mt->tenant_column, &rp, &rl, &tval, &tlen, &f) != 0)
			tval = NULL;	/* a malformed record: no tenant item */
		OK(evidence_hasher_content(eh, buf_ptr(r), buf_len(r), ch[k]));
		if (mt->tenant_column >= 0 && tval != NULL)
			OK(evidence_hasher_tenant(eh, tval, tlen, th[k]));
		else
			memset(th[k], 0, sizeof(th[k]));
		OK(buf_put(recs, buf_ptr(r), buf_len(r)));
		mt->records++;
		mt->bytes += buf_len(r);
		if (files)
			continue;	/* its items wait for its files */
		OK(dcbor_put_array(ev, 2));
		if (mt->tenant_column >= 0)
			OK(dcbor_put_bytes(ev, th[k], 32));
		else
			OK(dcbor_put_null(ev));
		OK(dcbor_put_bytes(ev, ch[k], 32));
		merkle_add(mk, mt->tenant_column >= 0 ? th[k] : NULL, ch[k]);
	}
	mt->parts = part;
	bundle_part_name(name, sizeof(name), "records", t, part);
	ent_add(pl, name, buf_ptr(recs), buf_len(recs));
	for (k = 0; files && k < count; k++) {
		OK(dcbor_put_array(ev, 3));
		OK(dcbor_put_bytes(ev, th[k], 32));
		OK(dcbor_put_bytes(ev, ch[k], 32));
		add_file(pl, sp, t, part, k, from + k, th[k], ch[k], ev, mk);
	}
	bundle_part_name(name, sizeof(name), "evidence", t, part);
	ent_add(pl, name, buf_ptr(ev), buf_len(ev));
	buf_free(recs);
	buf_free(ev);
	buf_free(view);
}

static void
assemble(struct spec *sp, struct plain *pl)
{
	struct evidence_hasher eh;
	struct merkle mk;
	struct buf *man = nbuf(MANIFEST_MAX_BYTES);
	size_t t, from, n;
	uint64_t part;

	memset(pl, 0, sizeof(*pl));
	pl->mtime = sp->m->created;
	pl->end_blocks = 2;
	pl->tail = nbuf(1 << 20);
	pl->pre = nbuf(MANIFEST_MAX_BYTES);
	OK(manifest_encode_preamble(sp->m, pl->pre));
	ent_add(pl, "texp/preamble.cbor", buf_ptr(pl->pre), buf_len(pl->pre));
	OK(evidence_hasher_init(&eh, sp->m->salt));
	for (t = 0; t < sp->m->ntables; t++) {
		merkle_init(&mk);
		for (from = 0, part = 0; sp->cuts[t] != NULL ?
		    part < sp->ncuts[t] : from < sp->nrecs[t]; from += n) {
			n = next_cut(sp, t, from, part);
			add_part(pl, sp, t, from, n, ++part, &mk, &eh);
		}
		merkle_root(&mk, sp->m->tables[t].root);
	}
	OK(manifest_encode(sp->m, buf_ptr(pl->pre), buf_len(pl->pre), man));
	ent_add(pl, "texp/manifest.cbor", buf_ptr(man), buf_len(man));
	buf_free(man);
	evidence_hasher_clear(&eh);
}

static void
plain_free(struct plain *pl)
{
	size_t i;

	for (i = 0; i < pl->n; i++)
		buf_free(pl->e[i].data);
	buf_free(pl->tail);
	buf_free(pl->pre);
	memset(pl, 0, sizeof(*pl));
}

/* The tar stream of the entries. */
static struct buf *
serialize(const struct plain *pl)
{
	static const uint8_t zero[TAR_BLOCK];
	struct buf *out = nbuf(64 << 20);
	uint8_t hdr[TAR_BLOCK], pad[TAR_BLOCK];
	size_t i, k;

	for (i = 0; i < pl->n; i++) {
		const struct ent *e = &pl->e[i];

		if (e->hdr_set)
			memcpy(hdr, e->hdr, sizeof(hdr));
		else
			OK(tar_header_put(hdr, e->name, buf_len(e->data),
			    pl->mtime));
		memset(pad, e->pad, sizeof(pad));
		OK(buf_put(out, hdr, sizeof(hdr)));
		OK(buf_put(out, buf_ptr(e->data), buf_len(e->data)));
		OK(buf_put(out, pad, tar_padding(buf_len(e->data))));
	}
	for (k = 0; k < pl->end_blocks; k++)
		OK(buf_put(out, zero, sizeof(zero)));
	OK(buf_put(out, buf_ptr(pl->tail), buf_len(pl->tail)));
	return out;
}

/* Re-encodes the manifest entry after f changed the decoded results. */
static void
manifest_edit(struct plain *pl, void (*f)(struct manifest *))
{
	struct ent *e = ent_find(pl, "texp/manifest.cbor");
	struct buf *v = buf_from(buf_ptr(e->data), buf_len(e->data));
	struct buf *pre = nbuf(MANIFEST_MAX_BYTES), *out = nbuf(MANIFEST_MAX_BYTES);
	struct manifest *m;
	const uint8_t *pp;
	size_t pl_len;

	OK(manifest_decode(v, &m, &pp, &pl_len));
	OK(buf_put(pre, pp, pl_len));
	f(m);
	OK(manifest_encode(m, buf_ptr(pre), buf_len(pre), out));
	buf_reset(e->data);
	OK(buf_put(e->data, buf_ptr(out), buf_len(out)));
	manifest_free(m);
	buf_free(v);
	buf_free(pre);
	buf_free(out);
}

/* ------------------------------------------------------------------ */
/* Encryption, layout, signature, and the vector file */

struct vec {
	const char *name;
	const char *rule;	/* NULL: proven */
	const char *desc;
	const char *tenant;	/* --tenant */
	int strict;		/* --strict-expiry */
	const char *foreign;	/* one --foreign-ids identifier */
	/* encryption */
	int zstd;		/* compress the plaintext as one frame */
	int armor;
	int other_recipient;
	void (*ct_edit)(struct buf *ct, size_t hdr_len);
	void (*z_edit)(struct buf *z, const struct buf *plain);
	/* layout and signature */
	size_t part_size;	/* split into parts of this size (0: single) */
	const size_t *cut;	/* forged part sizes, 0-terminated */
	int no_sig, garbage_sig, legacy_sig, other_key, edit_comment;
	int zero_prehash, index_leading_zero;
	const char *comment;	/* sign this trusted comment instead */
	void (*claims_edit)(struct seal_claims *c);
	const char *beside;	/* a stray file NAME.texp<beside> */
	size_t drop_part;	/* 1-based part to leave out */
	int swap_parts;		/* parts 1 and 2 exchanged */
	int empty_last;		/* a 0-byte part after the last */
};

struct vfile {
	char name[256];
	struct buf *b;
};

struct vout {
	struct vfile f[16];
	size_t n;
	char archive[256];
};

static void
vout_add(struct vout *vo, const char *name, const void *p, size_t len)
{
	struct vfile *f = &vo->f[vo->n++];

	snprintf(f->name, sizeof(f->name), "%s", name);
	f->b = nbuf(64 << 20);
	OK(buf_put(f->b, p, len));
}

static int
buf_write(void *ctx, const uint8_t *p, size_t n)
{
	return buf_put(ctx, p, n);
}

/* One zstd frame, as the writer makes it (level 3, window 2^21). */
static struct buf *
zframe(const uint8_t *p, size_t n)
{
	ZSTD_CCtx *zc = ZSTD_createCCtx();
	struct buf *out = nbuf(64 << 20);
	size_t cap = ZSTD_compressBound(n), z;
	uint8_t *dst;

	OK(zc == NULL ? ERR_NOMEM : 0);
	OK(buf_reserve(out, cap, &dst));
	ZSTD_CCtx_setParameter(zc, ZSTD_c_compressionLevel, BUNDLE_ZSTD_LEVEL);
	ZSTD_CCtx_setParameter(zc, ZSTD_c_windowLog,
	    BUNDLE_ZSTD_WINDOW_LOG_MAX - 3);
	z = ZSTD_compress2(zc, dst, cap, p, n);
	OK(ZSTD_isError(z) ? ERR_INTERNAL : 0);
	OK(buf_unput(out, cap - z));
	ZSTD_freeCCtx(zc);
	return out;
}

/* The age file of plaintext pt. */
static struct buf *
encrypt(const struct vec *v, const struct buf *pt, size_t *hdr_len)
{
	struct age_recipient *r = v->other_recipient ? rcp_other : rcp_main;
	uint8_t key[AGE_FILE_KEY_LEN];
	struct buf *ct = nbuf(64 << 20);
	struct age_enc *enc;

	if (v->armor) {
		OK(age_enc_new(&r, 1, 1, buf_write, ct, &enc));
		*hdr_len = 0;
	} else {
		OK(age_file_key_generate(key));
		OK(age_header_write(&r, 1, key, ct));
		*hdr_len = buf_len(ct);
		OK(age_enc_new_payload(key, buf_write, ct, &enc));
	}
	OK(age_enc_write(enc, buf_ptr(pt), buf_len(pt)));
	OK(age_enc_finish(enc));
	age_enc_free(enc);
	return ct;
}

static void
claims_of(const struct plain *pl, struct seal_claims *c)
{
	const struct ent *e = &pl->e[pl->n - 1];
	struct buf *v = buf_from(buf_ptr(pl->pre), buf_len(pl->pre));
	struct manifest *m;

	memset(c, 0, sizeof(*c));
	if (manifest_decode_preamble(v, &m) == 0) {
		memcpy(c->export_id, m->export_id, sizeof(c->export_id));
		memcpy(c->tenant_hash, m->tenant_hash, sizeof(c->tenant_hash));
		c->created = m->created;
		c->expires = m->expires;
		manifest_free(m);
	} else {
		c->created = CREATED;
		c->expires = EXPIRES;
	}
	buf_free(v);
	manifest_digest(buf_ptr(e->data), buf_len(e->data),
	    c->manifest_digest);
}

static void
prehash_of(const uint8_t *p, size_t n, uint8_t out[MINISIG_PREHASH_LEN])
{
	crypto_generichash(out, MINISIG_PREHASH_LEN, p, n, NULL, 0);
}

/* The legacy algorithm "Ed" in place of "ED" on the signature line (the
 * line after the first LF), re-encoded. */
static void
sig_make_legacy(struct buf *sig)
{
	char *s, *l2, *e2, *text, b64[256];
	uint8_t bin[128];
	size_t n;

	OK(buf_dup_str(sig, &s));
	l2 = strchr(s, '\n') + 1;
	e2 = strchr(l2, '\n');
	OK(sodium_base642bin(bin, sizeof(bin), l2, (size_t)(e2 - l2), NULL,
	    &n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ? ERR_FORMAT : 0);
	bin[1] = 'd';
	sodium_bin2base64(b64, sizeof(b64), bin, n,
	    sodium_base64_VARIANT_ORIGINAL);
	if (asprintf(&text, "%.*s%s%s", (int)(l2 - s), s, b64, e2) < 0)
		die("asprintf", ERR_NOMEM);
	buf_reset(sig);
	OK(buf_put_str(sig, text));
	free(text);
	free(s);
}

/* The signature file over prehash with claims c, as v asks. */
static struct buf *
sign(const struct vec *v, const uint8_t prehash[MINISIG_PREHASH_LEN],
    struct seal_claims *c)
{
	uint8_t zero[MINISIG_PREHASH_LEN] = { 0 };
	char comment[SEAL_COMMENT_MAX];
	struct buf *sig = nbuf(8192);
	uint8_t *p;

	if (v->claims_edit != NULL)
		v->claims_edit(c);
	OK(seal_claims_format(c, comment, sizeof(comment)));
	OK(minisig_sign(v->other_key ? sk_other : sk_main,
	    v->zero_prehash ? zero : prehash, "tenant-export archive signature",
	    v->comment != NULL ? v->comment : comment, sig));
	if (v->edit_comment) {
		/* a byte the global signature covers, changed after signing */
		p = (uint8_t *)memmem(buf_ptr(sig), buf_len(sig), "expires=", 8);
		OK(p == NULL ? ERR_INTERNAL : 0);
		p[8] = p[8] == '4' ? '5' : '4';
	}
	if (v->legacy_sig)
		sig_make_legacy(sig);
	if (v->garbage_sig) {
		buf_reset(sig);
		OK(buf_put_str(sig, "untrusted comment: not a signature\n"
		    "AAAA\n"));
	}
	return sig;
}

#define CUT_REST	SIZE_MAX	/* in vec.cut: the rest of the file */

/* The part sizes: v->cut, or parts of v->part_size; then maybe a 0-byte
 * part. Returns the count. */
static size_t
cut_sizes(const struct vec *v, size_t total, size_t *sizes, size_t max)
{
	size_t off = 0, n = 0, len;

	while (n < max && (v->cut != NULL ? v->cut[n] != 0 : off < total)) {
		len = v->cut != NULL ? v->cut[n] : v->part_size;
		if (len > total - off)
			len = total - off;
		sizes[n++] = len;
		off += len;
	}
	if (v->empty_last && n < max)
		sizes[n++] = 0;
	return n;
}

/* Cuts ct into parts and signs the index. */
static void
seal_split(const struct vec *v, const char *base, const struct buf *ct,
    struct seal_claims *c, struct vout *vo)
{
	struct buf *index = nbuf(1 << 20), *sig;
	uint8_t h[MINISIG_PREHASH_LEN];
	char name[256], hex[2 * MINISIG_PREHASH_LEN + 1];
	size_t k, nparts, sizes[64], from;
	struct buf *view = buf_from(buf_ptr(ct), buf_len(ct));
	const uint8_t *pp[64];

	nparts = cut_sizes(v, buf_len(ct), sizes, 64);
	for (k = 0; k < nparts; k++)
		OK(buf_get_ptr(view, sizes[k], &pp[k]));
	OK(buf_put_str(index, "texp-index v1\n"));
	for (k = 0; k < nparts; k++) {
		from = v->swap_parts && k < 2 ? 1 - k : k;
		snprintf(name, sizeof(name), "%s.%03zu", base, k + 1);
		prehash_of(pp[k], sizes[k], h);
		OK(buf_putf(index, "part %s %s%zu %s\n", name,
		    v->index_leading_zero && k == 0 ? "0" : "", sizes[k],
		    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h))));
		if (v->drop_part != k + 1)
			vout_add(vo, name, pp[from], sizes[from]);
	}
	c->parts = nparts;
	c->part_size = sizes[0];
	prehash_of(buf_ptr(index), buf_len(index), h);
	sig = sign(v, h, c);
	snprintf(name, sizeof(name), "%s.index", base);
	vout_add(vo, name, buf_ptr(index), buf_len(index));
	snprintf(vo->archive, sizeof(vo->archive), "%s", name);
	if (!v->no_sig) {
		snprintf(name, sizeof(name), "%s.index.minisig", base);
		vout_add(vo, name, buf_ptr(sig), buf_len(sig));
	}
	if (v->beside != NULL) {
		snprintf(name, sizeof(name), "%s%s", base, v->beside);
		vout_add(vo, name, "\0\0\0\0", 4);
	}
	buf_free(sig);
	buf_free(index);
	buf_free(view);
}

static void
seal_single(const struct vec *v, const char *base, const struct buf *ct,
    struct seal_claims *c, struct vout *vo)
{
	uint8_t h[MINISIG_PREHASH_LEN];
	char name[256];
	struct buf *sig;

	prehash_of(buf_ptr(ct), buf_len(ct), h);
	c->parts = 0;
	c->part_size = 0;
	sig = sign(v, h, c);
	vout_add(vo, base, buf_ptr(ct), buf_len(ct));
	snprintf(vo->archive, sizeof(vo->archive), "%s", base);
	if (!v->no_sig) {
		snprintf(name, sizeof(name), "%s.minisig", base);
		vout_add(vo, name, buf_ptr(sig), buf_len(sig));
	}
	if (v->beside != NULL) {
		snprintf(name, sizeof(name), "%s%s", base, v->beside);
		vout_add(vo, name, "\0\0\0\0", 4);
	}
	buf_free(sig);
}

static void
vec_file(const struct vec *v, const struct vout *vo)
{
	char path[4096];
	size_t i;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.vec", outdir, v->name);
	if ((f = fopen(path, "wb")) == NULL)
		die(path, ERR_IO);
	fprintf(f, "texp-vector v1\n");
	fprintf(f, "expect: %s\n", v->rule == NULL ? "proven" : "not proven");
	if (v->rule != NULL)
		fprintf(f, "rule: %s\n", v->rule);
	fprintf(f, "description: %s\n", v->desc);
	fprintf(f, "tenant: %s\n", v->tenant != NULL ? v->tenant : "client-b");
	fprintf(f, "identity: %s\n", id_main_text);
	fprintf(f, "signer: %s\n", pk_main_line);
	if (v->strict)
		fprintf(f, "strict-expiry: yes\n");
	if (v->foreign != NULL)
		fprintf(f, "foreign-id: %s\n", v->foreign);
	fprintf(f, "archive: %s\n", vo->archive);
	for (i = 0; i < vo->n; i++)
		fprintf(f, "file: %s %zu\n", vo->f[i].name, buf_len(vo->f[i].b));
	fprintf(f, "\n");
	for (i = 0; i < vo->n; i++)
		fwrite(buf_ptr(vo->f[i].b), 1, buf_len(vo->f[i].b), f);
	if (fclose(f) != 0)
		die(path, ERR_IO);
}

/* Plaintext -> (zstd) -> age -> layout -> signature -> NAME.vec. */
static void
emit(const struct vec *v, const struct plain *pl)
{
	struct buf *pt = serialize(pl), *z;
	struct seal_claims c;
	struct vout vo;
	struct buf *ct;
	size_t hdr_len, i;

	if (v->zstd || v->z_edit != NULL) {
		z = zframe(buf_ptr(pt), buf_len(pt));
		if (v->z_edit != NULL)
			v->z_edit(z, pt);
		buf_free(pt);
		pt = z;
	}
	ct = encrypt(v, pt, &hdr_len);
	if (v->ct_edit != NULL)
		v->ct_edit(ct, hdr_len);
	claims_of(pl, &c);
	memset(&vo, 0, sizeof(vo));
	if (v->part_size != 0 || v->cut != NULL || v->empty_last)
		seal_split(v, "v.texp", ct, &c, &vo);
	else
		seal_single(v, "v.texp", ct, &c, &vo);
	vec_file(v, &vo);
	for (i = 0; i < vo.n; i++)
		buf_free(vo.f[i].b);
	buf_free(pt);
	buf_free(ct);
}

/* ------------------------------------------------------------------ */
/* Mutations */

/* Header of entry i as the writer makes it, then n bytes at off
 * replaced, the checksum made right again unless raw_chksum. */
static void
hdr_edit(struct plain *pl, size_t i, size_t off, const void *p, size_t n,
    int raw_chksum)
{
	struct ent *e = &pl->e[i];

	OK(tar_header_put(e->hdr, e->name, buf_len(e->data), pl->mtime));
	memcpy(e->hdr + off, p, n);
	e->hdr_set = 1;
	if (!raw_chksum)
		tar_header_chksum(e->hdr);
}

/* A header of another kind before entry at: typeflag, name, data. */
static void
insert_special(struct plain *pl, size_t at, char type, const char *name,
    const char *data)
{
	struct ent *e = ent_insert(pl, at, name, data, strlen(data));

	hdr_edit(pl, at, 156, &type, 1, 0);
	(void)e;
}

static void
drop_last_table(struct manifest *m)
{
	struct manifest_table *t = &m->tables[--m->ntables];
	size_t j;

	for (j = 0; j < t->ncolumns; j++) {
		free(t->columns[j].name);
		free(t->columns[j].type);
	}
	free(t->columns);
	free(t->name);
}

/* Spec fixes (before assembly) */

static void s_no_global(struct spec *sp) { sp->m->include_global = 0;
	drop_last_table(sp->m); buf_free(sp->recs[2][0]);
	buf_free(sp->recs[2][1]); sp->nrecs[2] = 0; }
static void s_relabel(struct spec *sp) { sp->m->tables[0].tenant_column = -1;
	buf_free(sp->recs[0][1]); sp->recs[0][1] = contact("text", "client-a", 1); }
static void s_relabel_noglobal(struct spec *sp) { s_relabel(sp);
	sp->m->include_global = 0; }
static void s_global_false(struct spec *sp) { sp->m->include_global = 0; }
static void s_says_zstd(struct spec *sp) { sp->m->compression = 1; }
static void s_cut_empty(struct spec *sp) { static const size_t c[] = {
	0, 2, 1 }; sp->cuts[0] = c; sp->ncuts[0] = 3; }
static void s_cut_early(struct spec *sp) { static const size_t c[] = {
	1, 2 }; sp->cuts[0] = c; sp->ncuts[0] = 2; }
static void s_cut_over(struct spec *sp) { static const size_t c[] = { 3 };
	sp->cuts[0] = c; sp->ncuts[0] = 1; }
static void s_dup_table(struct spec *sp) {
	OK(manifest_set_str(&sp->m->tables[1].name, "app.contacts")); }
static void s_bpchar(struct spec *sp) {
	OK(manifest_set_str(&sp->m->tenant_type, "bpchar")); }
static void s_tcol_type(struct spec *sp) {
	OK(manifest_set_str(&sp->m->tables[1].columns[0].type, "integer")); }
static void s_part_bytes0(struct spec *sp) { static const size_t c[] = {
	2, 1 }; sp->m->part_bytes = 0; sp->cuts[0] = c; sp->ncuts[0] = 2;
	sp->cuts[2] = c + 1; sp->ncuts[2] = 1; }
static void s_empty_colname(struct spec *sp) {
	OK(manifest_set_str(&sp->m->tables[2].columns[1].name, "")); }
static void s_expired(struct spec *sp) { sp->m->expires = CREATED + 1; }
static void s_foreign_text(struct spec *sp) {
	rec_set_hex(sp, 0, 2, 2, "6d 6e6f7465 20 636c69656e742d61"); }
static void s_record_tenant(struct spec *sp) { buf_free(sp->recs[0][1]);
	sp->recs[0][1] = contact("text", "client-a", 1); }
/* values of the wrong form */
static void s_noncanon_int(struct spec *sp) { rec_set_hex(sp, 0, 1, 1, "18 05"); }
static void s_noncanon_float(struct spec *sp) {
	rec_set_hex(sp, 0, 1, 4, "fa 3f000000"); }
static void s_indef_array(struct spec *sp) {
	rec_set_hex(sp, 0, 2, 10, "9f 6161 6162 ff"); }
static void s_tag1(struct spec *sp) { rec_set_hex(sp, 0, 0, 9, "c1 1a 65980c05"); }
static void s_tag55799(struct spec *sp) {
	rec_set_hex(sp, 0, 0, 2, "d9d9f7 6541646d696e"); }
static void s_tag37_text(struct spec *sp) { rec_set_hex(sp, 0, 0, 7,
	"d825 70 30313233343536373839616263646566"); }
static void s_tag1004_bad(struct spec *sp) {
	rec_set_hex(sp, 0, 0, 8, "d903ec 6a 323032342d30322d3330"); }
static void s_tag0_noz(struct spec *sp) { rec_set_hex(sp, 0, 0, 9,
	"c0 73 323032342d30352d30365430373a30383a3039"); }
static void s_float_in_bigint(struct spec *sp) {
	rec_set_hex(sp, 0, 1, 1, "f9 3e00"); }
static void s_double_in_real(struct spec *sp) {
	rec_set_hex(sp, 0, 1, 4, "fb 3fb999999999999a"); }
static void s_text_in_bool(struct spec *sp) {
	rec_set_hex(sp, 0, 1, 5, "64 74727565"); }
static void s_ragged(struct spec *sp) {
	rec_set_hex(sp, 0, 1, 11, "82 82 01 02 81 03"); }
static void s_untagged_date(struct spec *sp) {
	rec_set_hex(sp, 0, 1, 8, "6a 323032342d30312d3032"); }
static void s_bigint_range(struct spec *sp) {
	rec_set_hex(sp, 0, 1, 1, "1b 8000000000000000"); }
static void s_map_in_text(struct spec *sp) {
	rec_set_hex(sp, 0, 1, 13, "a1 6161 01"); }
static void s_uuid_short(struct spec *sp) {
	rec_set_hex(sp, 0, 1, 7, "d825 48 0011223344556677"); }
/* Record 1 of the contacts without its last item. */
static void s_short_record(struct spec *sp) {
	struct buf *in = sp->recs[0][1], *out = nbuf(4096);
	struct buf *v = buf_from(buf_ptr(in), buf_len(in));
	const uint8_t *start;
	size_t before, i;
	uint64_t n;

	OK(dcbor_get_array(v, &n));
	OK(dcbor_put_array(out, n - 1));
	for (i = 0; i + 1 < n; i++) {
		start = buf_ptr(v);
		before = buf_len(v);
		OK(dcbor_skip(v, DCBOR_MAX_DEPTH));
		OK(buf_put(out, start, before - buf_len(v)));
	}
	buf_free(v);
	buf_free(in);
	sp->recs[0][1] = out;
}
static void s_record_text(struct spec *sp) { buf_reset(sp->recs[0][2]);
	OK(dcbor_put_text(sp->recs[0][2], "hello", 5)); }

/* Plaintext fixes (after assembly) */

#define E_PRE	0	/* entry indexes in the base */
#define E_REC1	1	/* texp/t/0000/records-000001.cbor */
#define E_EV1	2
#define E_REC2	3
#define E_EV2	4
#define E_CUR	5	/* texp/t/0002/records-000001.cbor */
#define E_CUREV	6
#define E_MAN	7

static void p_mode(struct plain *pl) { hdr_edit(pl, E_PRE, 100, "0000644", 7, 0); }
static void p_uid(struct plain *pl) { hdr_edit(pl, E_REC1, 108, "0001750", 7, 0); }
static void p_mtime_pre(struct plain *pl) {
	hdr_edit(pl, E_PRE, 136, "15000000000", 11, 0); }
static void p_mtime_rec(struct plain *pl) {
	hdr_edit(pl, E_REC2, 136, "15000000000", 11, 0); }
static void p_chksum(struct plain *pl) { hdr_edit(pl, E_MAN, 148, "000000", 6, 1); }
static void p_uname(struct plain *pl) { hdr_edit(pl, E_REC1, 265, "root", 4, 0); }
static void p_prefix(struct plain *pl) { hdr_edit(pl, E_EV1, 345, "texp", 4, 0); }
static void p_gnu_magic(struct plain *pl) {
	hdr_edit(pl, E_PRE, 257, "ustar  \0", 8, 0); }
static void p_typeflag_nul(struct plain *pl) { hdr_edit(pl, E_REC1, 156, "\0", 1, 0); }
static void p_size_space(struct plain *pl) {
	char f[12];
	snprintf(f, sizeof(f), "%011o", (unsigned)buf_len(pl->e[E_PRE].data));
	memmove(f, f + 1, 10);
	f[10] = ' ';
	hdr_edit(pl, E_PRE, 124, f, 11, 0); }
static void p_pax_comment(struct plain *pl) { insert_special(pl, E_PRE, 'x',
	"texp/PaxHeaders/preamble.cbor", "27 comment=another tenant\n"); }
static void p_pax_path(struct plain *pl) { insert_special(pl, E_REC1, 'x',
	"texp/PaxHeaders/records", "45 path=texp/t/0000/records-000001.cbor\n"); }
static void p_gnu_longname(struct plain *pl) { insert_special(pl, E_REC1,
	'L', "././@LongLink", "texp/t/0000/records-000001.cbor"); }
static void p_padding(struct plain *pl) { pl->e[E_PRE].pad = 'x'; }
static void p_no_end(struct plain *pl) { pl->end_blocks = 0; }
static void p_one_zero_block(struct plain *pl) { pl->end_blocks = 1;
	OK(buf_put(pl->tail, "x", 1)); }
/* The manifest's header says more bytes than follow. */
static void p_cut_entry(struct plain *pl) {
	char f[12];
	pl->end_blocks = 0;
	snprintf(f, sizeof(f), "%011o", (unsigned)buf_len(pl->e[E_MAN].data) +
	    4096);
	hdr_edit(pl, E_MAN, 124, f, 11, 0); }
static void p_trail_zero(struct plain *pl) {
	static const uint8_t z[TAR_BLOCK];
	OK(buf_put(pl->tail, z, sizeof(z))); }
static void p_trail_bytes(struct plain *pl) {
	OK(buf_put_str(pl->tail, "hidden bytes of another tenant")); }
static void p_trail_tar(struct plain *pl);
static void p_unknown_entry(struct plain *pl) {
	ent_insert(pl, E_MAN, "texp/notes.txt", "hello", 5); }
static void p_no_evidence(struct plain *pl) { ent_remove(pl, E_EV1); }
static void p_manifest_first(struct plain *pl) {
	struct ent m = pl->e[E_MAN];
	memmove(&pl->e[E_REC1 + 1], &pl->e[E_REC1], (E_MAN - E_REC1) *
	    sizeof(m));
	pl->e[E_REC1] = m; }
static void p_table_order(struct plain *pl) {
	struct ent a = pl->e[E_CUR], b = pl->e[E_CUREV];
	memmove(&pl->e[E_REC1 + 2], &pl->e[E_REC1], (E_CUR - E_REC1) *
	    sizeof(a));
	pl->e[E_REC1] = a;
	pl->e[E_REC1 + 1] = b; }
static void p_part_gap(struct plain *pl) {
	snprintf(pl->e[E_REC2].name, sizeof(pl->e[0].name),
	    "texp/t/0000/records-000003.cbor");
	snprintf(pl->e[E_EV2].name, sizeof(pl->e[0].name),
	    "texp/t/0000/evidence-000003.cbor"); }
static void p_after_manifest(struct plain *pl) { ent_add(pl,
	"texp/preamble.cbor", buf_ptr(pl->pre), buf_len(pl->pre)); }
static void p_no_manifest(struct plain *pl) { ent_remove(pl, E_MAN); }
static void p_huge(struct plain *pl) {
	hdr_edit(pl, E_REC1, 124, "00104000000", 11, 0); }
static void p_pre_noncanon(struct plain *pl) {
	/* "v": 2 as 18 02 */
	struct buf *b = nbuf(MANIFEST_MAX_BYTES);
	OK(buf_put(b, buf_ptr(pl->pre), 3));
	OK(buf_put(b, "\x18\x02", 2));
	OK(buf_put(b, buf_ptr(pl->pre) + 4, buf_len(pl->pre) - 4));
	buf_reset(pl->e[E_PRE].data);
	OK(buf_put(pl->e[E_PRE].data, buf_ptr(b), buf_len(b)));
	buf_free(b); }
static void p_version1(struct plain *pl) {
	buf_reset(pl->e[E_PRE].data);
	OK(buf_put(pl->e[E_PRE].data, buf_ptr(pl->pre), 3));
	OK(buf_put(pl->e[E_PRE].data, "\x01", 1));
	OK(buf_put(pl->e[E_PRE].data, buf_ptr(pl->pre) + 4,
	    buf_len(pl->pre) - 4)); }
/* evidence */
static void ev_byte(struct plain *pl, size_t e, size_t off) {
	struct buf *d = pl->e[e].data, *c = nbuf(1 << 20);
	OK(buf_put(c, buf_ptr(d), buf_len(d)));
	buf_reset(d);
	OK(buf_put(d, buf_ptr(c), off));
	OK(buf_put_u8(d, buf_ptr(c)[off] ^ 0x01));
	OK(buf_put(d, buf_ptr(c) + off + 1, buf_len(c) - off - 1));
	buf_free(c); }
static void p_tenant_hash(struct plain *pl) { ev_byte(pl, E_EV1, 3 + 69); }
static void p_content_hash(struct plain *pl) { ev_byte(pl, E_EV1, 40); }
static void p_ev_null(struct plain *pl) {
	struct buf *d = pl->e[E_EV1].data, *c = nbuf(1 << 20);
	OK(buf_put(c, buf_ptr(d), buf_len(d)));
	buf_reset(d);
	OK(buf_put(d, "\x82\xf6", 2));
	OK(buf_put(d, buf_ptr(c) + 35, buf_len(c) - 35));
	buf_free(c); }
static void p_ev_short(struct plain *pl) {
	OK(buf_unput(pl->e[E_EV1].data, BUNDLE_EVIDENCE_ITEM)); }
/* the first item's array head says three (0x83): the size unchanged */
static void p_ev_head(struct plain *pl) { ev_byte(pl, E_EV1, 0); }
static void p_ev_extra(struct plain *pl) {
	struct buf *d = pl->e[E_EV2].data;
	OK(buf_put(d, buf_ptr(pl->e[E_EV1].data), BUNDLE_EVIDENCE_ITEM)); }
/* manifest */
static void m_records(struct manifest *m) { m->tables[0].records++; }
static void m_bytes(struct manifest *m) { m->tables[2].bytes--; }
static void m_root(struct manifest *m) { m->tables[2].root[5] ^= 0x20; }
static void m_results(struct manifest *m) { m->ntables--; }
static void p_counts(struct plain *pl) { manifest_edit(pl, m_records); }
static void p_bytes(struct plain *pl) { manifest_edit(pl, m_bytes); }
static void p_root(struct plain *pl) { manifest_edit(pl, m_root); }
static void p_results(struct plain *pl) {
	/* one result fewer than tables: the manifest keeps its preamble */
	struct ent *e = &pl->e[E_MAN];
	struct buf *v = buf_from(buf_ptr(e->data), buf_len(e->data));
	struct buf *out = nbuf(MANIFEST_MAX_BYTES);
	struct manifest *m;
	const uint8_t *pp;
	size_t n;

	OK(manifest_decode(v, &m, &pp, &n));
	m_results(m);
	OK(manifest_encode(m, pp, n, out));
	m->ntables++;
	manifest_free(m);
	buf_reset(e->data);
	OK(buf_put(e->data, buf_ptr(out), buf_len(out)));
	buf_free(v);
	buf_free(out); }
static void p_other_preamble(struct plain *pl) {
	/* the manifest embeds a preamble with another snapshot */
	struct ent *e = &pl->e[E_MAN];
	struct buf *v = buf_from(buf_ptr(e->data), buf_len(e->data));
	struct buf *pre = nbuf(MANIFEST_MAX_BYTES), *out = nbuf(MANIFEST_MAX_BYTES);
	struct manifest *m;
	const uint8_t *pp;
	size_t n;

	OK(manifest_decode(v, &m, &pp, &n));
	OK(manifest_set_str(&m->snapshot, "another snapshot"));
	OK(manifest_encode_preamble(m, pre));
	OK(manifest_encode(m, buf_ptr(pre), buf_len(pre), out));
	manifest_free(m);
	buf_reset(e->data);
	OK(buf_put(e->data, buf_ptr(out), buf_len(out)));
	buf_free(v);
	buf_free(pre);
	buf_free(out); }

/* Ciphertext and frame fixes */

static void c_flip_mac(struct buf *ct, size_t h) {
	/* another base64 letter of the MAC: still canonical */
	*at(ct, h - 20) = *at(ct, h - 20) == 'A' ? 'B' : 'A'; }
static void c_flip_payload(struct buf *ct, size_t h) {
	*at(ct, h + 16 + 100) ^= 0x80; }
static void c_drop_final(struct buf *ct, size_t h) {
	OK(buf_unput(ct, buf_len(ct) - h - 16)); }
static void c_trailing(struct buf *ct, size_t h) { (void)h;
	OK(buf_put(ct, "0123456789abcdef", 16)); }
static void z_two_frames(struct buf *z, const struct buf *pt) {
	struct buf *f = zframe(buf_ptr(pt), buf_len(pt));
	OK(buf_put(z, buf_ptr(f), buf_len(f)));
	buf_free(f); }
static void z_skippable_first(struct buf *z, const struct buf *pt) {
	struct buf *c = nbuf(64 << 20);
	(void)pt;
	OK(buf_put(c, "\x50\x2a\x4d\x18\x08\0\0\0client-a", 16));
	OK(buf_put(c, buf_ptr(z), buf_len(z)));
	buf_reset(z);
	OK(buf_put(z, buf_ptr(c), buf_len(c)));
	buf_free(c); }
static void z_skippable_after(struct buf *z, const struct buf *pt) { (void)pt;
	OK(buf_put(z, "\x5e\x2a\x4d\x18\x08\0\0\0client-a", 16)); }
static void z_trailing(struct buf *z, const struct buf *pt) { (void)pt;
	OK(buf_put(z, "\0\0\0\0", 4)); }
static void z_truncated(struct buf *z, const struct buf *pt) { (void)pt;
	OK(buf_unput(z, 3)); }

/* Claims fixes */

static void k_export_id(struct seal_claims *c) { c->export_id[0] ^= 1; }
static void k_created(struct seal_claims *c) { c->created++; }
static void k_parts(struct seal_claims *c) { c->parts = 2;
	c->part_size = SPLIT_N; }
static void k_digest(struct seal_claims *c) { c->manifest_digest[0] ^= 1; }
static void k_part_size(struct seal_claims *c) { c->part_size = 1000; }

static const size_t cut_unequal[] = { 1000, SPLIT_N, CUT_REST, 0 };
static const size_t cut_last_big[] = { SPLIT_N, CUT_REST, 0 };

/* A whole second tar, of client-a, after the end-of-archive marker. */
static void p_trail_tar(struct plain *pl) {
	struct spec sp;
	struct plain other;
	struct buf *t;

	spec_base(&sp, "text", "client-a");
	assemble(&sp, &other);
	t = serialize(&other);
	OK(buf_put(pl->tail, buf_ptr(t), buf_len(t)));
	buf_free(t);
	plain_free(&other);
	spec_free(&sp); }

/* Files (§3.4) */

#define F_P1R0	"texp/f/0003/000001/00000/000001"	/* row 0, 300 bytes */
#define F_P2R0	"texp/f/0003/000002/00000/000001"	/* row 2, empty */
#define F_P2R1	"texp/f/0003/000002/00001/000001"	/* row 3, 1500 */
#define F_P3R0	"texp/f/0003/000003/00000/000001"	/* row 4, 700 */

static size_t
ent_at(struct plain *pl, const char *name)
{
	return (size_t)(ent_find(pl, name) - pl->e);
}

/* An extra entry `name` after entry `after`, holding row 0's file. */
static void
file_insert(struct plain *pl, const char *after, const char *name)
{
	const struct ent *src = ent_find(pl, F_P1R0);

	ent_insert(pl, ent_at(pl, after) + 1, name, buf_ptr(src->data),
	    buf_len(src->data));
}

static void s_files(struct spec *sp) { spec_add_files(sp, 0); }
static void s_files_big(struct spec *sp) { sp->m->compression = 1;
	spec_add_files(sp, BUNDLE_FILE_CHUNK + 700); }
static void s_files_drop_null(struct spec *sp) { s_files(sp); sp->frow = 3;
	sp->fdrop = 1; }
static void s_files_drop_kept(struct spec *sp) { s_files(sp); sp->frow = 3;
	sp->fdrop = 2; }
static void s_files_flip(struct spec *sp) { s_files(sp); sp->frow = 0;
	sp->fflip = 1; }
static void s_files_size(struct spec *sp) { s_files(sp); sp->frow = 0;
	sp->fsize_delta = 1; }
static void s_files_cut(struct spec *sp) { s_files(sp); sp->frow = 3;
	sp->fcut = 1000; }
static void s_files_empty_chunk(struct spec *sp) { sp->m->compression = 1;
	spec_add_files(sp, BUNDLE_FILE_CHUNK); sp->frow = NDOC - 1;
	sp->fempty = 1; }
static void s_files_null_claim(struct spec *sp) { s_files(sp); sp->frow = 1;
	sp->fnull_claim = 1; }
static void s_files_global(struct spec *sp) { s_files(sp);
	sp->m->files_table = 2; sp->m->files_path = 1; }
static void s_files_tenant_col(struct spec *sp) { s_files(sp);
	sp->m->files_path = 0; }
static void s_files_path_type(struct spec *sp) { s_files(sp);
	sp->m->files_path = 1; }
static void p_f_other_table(struct plain *pl) { file_insert(pl, F_P1R0,
	"texp/f/0000/000001/00000/000001"); }
static void p_f_other_part(struct plain *pl) { file_insert(pl, F_P1R0,
	"texp/f/0003/000002/00001/000001"); }
static void p_f_row_range(struct plain *pl) { file_insert(pl, F_P3R0,
	"texp/f/0003/000003/00001/000001"); }
static void p_f_null_row(struct plain *pl) { file_insert(pl, F_P1R0,
	"texp/f/0003/000001/00001/000001"); }
static void p_f_twice(struct plain *pl) { file_insert(pl, F_P1R0, F_P1R0); }
static void p_f_name_form(struct plain *pl) { file_insert(pl,
	"texp/t/0003/records-000001.cbor", "texp/f/0003/1/0/1"); }
static void p_f_order(struct plain *pl) {
	size_t a = ent_at(pl, F_P2R0);
	struct ent e = pl->e[a];
	pl->e[a] = pl->e[a + 1];
	pl->e[a + 1] = e; }
static void p_f_gap(struct plain *pl) {
	snprintf(ent_find(pl, F_P1R0)->name, sizeof(pl->e[0].name),
	    "texp/f/0003/000001/00000/000002"); }
static void p_f_chunk_size(struct plain *pl) {
	hdr_edit(pl, ent_at(pl, F_P1R0), 124, "00100000001", 11, 0); }
static void p_f_after_evidence(struct plain *pl) { file_insert(pl,
	"texp/t/0003/evidence-000001.cbor", "texp/f/0003/000001/00001/000001"); }
static void p_f_in_other_table(struct plain *pl) { file_insert(pl,
	"texp/t/0000/records-000001.cbor", "texp/f/0000/000001/00000/000001"); }
static void p_f_no_files_key(struct plain *pl) {
	ent_insert(pl, ent_at(pl, "texp/t/0000/records-000001.cbor") + 1,
	    "texp/f/0000/000001/00000/000001", "a file of client-a\n", 19); }

/* ------------------------------------------------------------------ */
/* The vectors */

struct vdef {
	struct vec v;
	const char *ttype;	/* tenant type: text unless set */
	const char *stenant;	/* the archive's tenant: client-b unless set */
	void (*sfix)(struct spec *);
	void (*pfix)(struct plain *);
	int one_chunk;		/* plaintext exactly one full age chunk */
};

#define V(...) { .v = { __VA_ARGS__ } }
#define VS(f, ...) { .v = { __VA_ARGS__ }, .sfix = f }
#define VP(f, ...) { .v = { __VA_ARGS__ }, .pfix = f }
#define VF(f, ...) { .v = { __VA_ARGS__ }, .sfix = s_files, .pfix = f }

static const struct vdef vectors[] = {
	/* proven */
	V(.name = "good-single", .desc = "a single-file archive: a tenant "
	    "table in two parts, an empty tenant table, a global table"),
	VS(s_says_zstd, .name = "good-zstd", .zstd = 1, .desc = "the same, "
	    "the plaintext compressed as one zstd frame"),
	V(.name = "good-split", .part_size = SPLIT_N, .desc = "a split "
	    "archive: parts of 1024 bytes but the last, a signed index"),
	{ .v = { .name = "good-uuid-tenant", .tenant =
	    "0B5C3F0E-2C1A-4D3E-9F00-AA11BB22CC33", .desc = "a uuid tenant "
	    "key, given in upper case (tag 37 on its 16 bytes)" },
	    .ttype = "uuid", .stenant = "0b5c3f0e-2c1a-4d3e-9f00-aa11bb22cc33" },
	{ .v = { .name = "good-int8-tenant", .tenant = "-42", .desc = "an "
	    "int8 tenant key (a CBOR negative integer)" },
	    .ttype = "int8", .stenant = "-42" },
	VS(s_no_global, .name = "good-no-global", .desc = "global tables not "
	    "requested, none present"),
	VS(s_files, .name = "good-files", .desc = "a files table "
	    "(app.documents) in three parts: files of 300 bytes, 0 bytes and "
	    "1500 bytes, 700 bytes, a row whose path is null"),
	VS(s_files, .name = "good-files-split", .part_size = 4096, .desc =
	    "the same split into parts of 4096 bytes"),
	VS(s_files_big, .name = "good-files-zstd-chunks", .zstd = 1, .desc =
	    "the same with a file of 16 MiB + 700 bytes (two chunks), the "
	    "plaintext compressed as one zstd frame"),
	VS(s_relabel, .name = "limit-relabel-global-requested", .desc =
	    "NOT a valid export: app.contacts relabelled as global and holding "
	    "a row of client-a, global tables requested. The reader cannot "
	    "tell it from a global table (FORMAT.md 4.2): the signer's plan "
	    "check refuses it, so a signed one proves"),
	/* §2 */
	V(.name = "bad-age-armored", .rule = "age_header", .armor = 1,
	    .desc = "the age file ASCII-armored"),
	V(.name = "bad-age-no-identity", .rule = "age_no_identity",
	    .other_recipient = 1, .desc = "encrypted to another recipient"),
	V(.name = "bad-age-header-mac", .rule = "age_header_mac",
	    .ct_edit = c_flip_mac, .desc = "one letter of the header MAC "
	    "changed, re-signed"),
	V(.name = "bad-age-payload", .rule = "age_payload",
	    .ct_edit = c_flip_payload, .desc = "a payload byte flipped, "
	    "re-signed"),
	V(.name = "bad-age-truncated", .rule = "age_truncated",
	    .ct_edit = c_drop_final, .desc = "the final chunk dropped, "
	    "re-signed"),
	{ .v = { .name = "bad-age-trailing", .rule = "age_trailing",
	    .ct_edit = c_trailing, .desc = "bytes after the final chunk (a "
	    "full 64 KiB one), re-signed" }, .one_chunk = 1 },
	/* §3 */
	VS(s_says_zstd, .name = "bad-compression-plain", .rule =
	    "compression", .desc = "the preamble says zstd, the payload is "
	    "plain tar"),
	V(.name = "bad-compression-zstd", .rule = "compression", .zstd = 1,
	    .desc = "the preamble says none, the payload is a zstd frame"),
	VS(s_says_zstd, .name = "bad-zstd-two-frames", .rule = "zstd_frame",
	    .z_edit = z_two_frames, .desc = "a second zstd frame after the "
	    "first (the preamble says zstd)"),
	VS(s_says_zstd, .name = "bad-zstd-skippable-first", .rule = "zstd_frame",
	    .z_edit = z_skippable_first, .desc = "a skippable frame holding "
	    "hidden bytes before the frame"),
	VS(s_says_zstd, .name = "bad-zstd-skippable-after", .rule = "zstd_frame",
	    .z_edit = z_skippable_after, .desc = "a skippable frame holding "
	    "hidden bytes after the frame"),
	VS(s_says_zstd, .name = "bad-zstd-trailing", .rule = "zstd_frame",
	    .z_edit = z_trailing, .desc = "zero bytes after the frame"),
	VS(s_says_zstd, .name = "bad-zstd-truncated", .rule = "zstd_frame",
	    .z_edit = z_truncated, .desc = "the frame's last bytes cut"),
	VP(p_mode, .name = "bad-tar-mode", .rule = "tar_header",
	    .desc = "entry mode 0644"),
	VP(p_uid, .name = "bad-tar-uid", .rule = "tar_header",
	    .desc = "entry uid 1000"),
	VP(p_mtime_pre, .name = "bad-tar-mtime-preamble", .rule =
	    "tar_header", .desc = "the preamble entry's mtime is not created"),
	VP(p_mtime_rec, .name = "bad-tar-mtime-records", .rule =
	    "tar_header", .desc = "a records entry's mtime is not created"),
	VP(p_chksum, .name = "bad-tar-chksum", .rule = "tar_header",
	    .desc = "a header checksum that does not add up"),
	VP(p_uname, .name = "bad-tar-uname", .rule = "tar_header",
	    .desc = "uname \"root\""),
	VP(p_prefix, .name = "bad-tar-prefix", .rule = "tar_header",
	    .desc = "a ustar prefix field (the name would read otherwise)"),
	VP(p_gnu_magic, .name = "bad-tar-gnu-magic", .rule = "tar_header",
	    .desc = "GNU tar magic \"ustar  \""),
	VP(p_typeflag_nul, .name = "bad-tar-typeflag", .rule = "tar_header",
	    .desc = "typeflag NUL (old regular file) instead of '0'"),
	VP(p_size_space, .name = "bad-tar-size-form", .rule = "tar_header",
	    .desc = "the size field in another octal form (10 digits, space)"),
	VP(p_pax_comment, .name = "bad-tar-pax-comment", .rule = "tar_header",
	    .desc = "a pax extended header with a comment"),
	VP(p_pax_path, .name = "bad-tar-pax-path", .rule = "tar_header",
	    .desc = "a pax extended header renaming the next entry (path=)"),
	VP(p_gnu_longname, .name = "bad-tar-gnu-longname", .rule =
	    "tar_header", .desc = "a GNU long name record ('L')"),
	VP(p_padding, .name = "bad-tar-padding", .rule = "tar_padding",
	    .desc = "non-zero padding after the preamble's data"),
	VP(p_no_end, .name = "bad-tar-no-end", .rule = "tar_end",
	    .desc = "no end-of-archive marker"),
	VP(p_one_zero_block, .name = "bad-tar-one-zero-block", .rule =
	    "tar_end", .desc = "one zero block, then a byte"),
	VP(p_cut_entry, .name = "bad-tar-cut-entry", .rule = "tar_end",
	    .desc = "the stream ends inside the manifest entry"),
	VP(p_trail_zero, .name = "bad-trailing-zero-block", .rule =
	    "trailing_data", .desc = "a third zero block after the marker"),
	VP(p_trail_bytes, .name = "bad-trailing-bytes", .rule =
	    "trailing_data", .desc = "bytes after the marker, inside the last "
	    "block a block-wise reader would skip"),
	VP(p_trail_tar, .name = "bad-trailing-second-tar", .rule =
	    "trailing_data", .desc = "a whole second archive of client-a "
	    "after the marker"),
	{ .v = { .name = "bad-trailing-second-tar-zstd", .rule =
	    "trailing_data", .zstd = 1, .desc = "the same inside the zstd "
	    "frame" }, .sfix = s_says_zstd, .pfix = p_trail_tar },
	VP(p_unknown_entry, .name = "bad-entry-unknown", .rule =
	    "entry_order", .desc = "an entry named texp/notes.txt"),
	VP(p_no_evidence, .name = "bad-entry-no-evidence", .rule =
	    "entry_order", .desc = "a records part without its evidence"),
	VP(p_manifest_first, .name = "bad-entry-manifest-first", .rule =
	    "entry_order", .desc = "the manifest before the parts"),
	VP(p_table_order, .name = "bad-entry-table-order", .rule =
	    "entry_order", .desc = "table 0002 before table 0000"),
	VP(p_part_gap, .name = "bad-entry-part-gap", .rule = "entry_order",
	    .desc = "parts 000001 and 000003"),
	VP(p_after_manifest, .name = "bad-entry-after-manifest", .rule =
	    "entry_order", .desc = "an entry after the manifest"),
	VP(p_no_manifest, .name = "bad-entry-no-manifest", .rule =
	    "entry_order", .desc = "no manifest"),
	VP(p_huge, .name = "bad-entry-size", .rule = "entry_size",
	    .desc = "a records entry of 17 MiB (by its header)"),
	VS(s_cut_empty, .name = "bad-empty-part", .rule = "empty_part",
	    .desc = "a records part with no record (and empty evidence)"),
	VS(s_cut_early, .name = "bad-part-cut-early", .rule = "part_cut",
	    .desc = "a part cut before it was full"),
	VS(s_cut_over, .name = "bad-part-over-size", .rule = "part_cut",
	    .desc = "a part of several records over part_bytes"),
	/* §3.4 */
	VF(p_f_other_table, .name = "bad-file-other-table", .rule =
	    "file_entry", .desc = "a file entry named for table 0000 in a "
	    "part of the files table 0003"),
	VF(p_f_other_part, .name = "bad-file-other-part", .rule =
	    "file_entry", .desc = "a file entry of part 000002 in part "
	    "000001"),
	VF(p_f_row_range, .name = "bad-file-row-range", .rule = "file_entry",
	    .desc = "a file for row 00001 of a part of one row"),
	VF(p_f_null_row, .name = "bad-file-null-path", .rule = "file_entry",
	    .desc = "a file for the row whose path is null"),
	VF(p_f_order, .name = "bad-file-order", .rule = "file_entry",
	    .desc = "the files of rows 00000 and 00001 in the other order"),
	VF(p_f_twice, .name = "bad-file-twice", .rule = "file_entry",
	    .desc = "a row's file twice"),
	VF(p_f_gap, .name = "bad-file-chunk-gap", .rule = "file_entry",
	    .desc = "a file whose only chunk is 000002"),
	VS(s_files_cut, .name = "bad-file-chunk-not-full", .rule =
	    "file_entry", .desc = "a file of 1500 bytes as chunks of 1000 and "
	    "500 bytes (a chunk after one that is not full), its evidence "
	    "right"),
	VS(s_files_empty_chunk, .name = "bad-file-empty-chunk", .rule =
	    "file_entry", .zstd = 1, .desc = "a file of exactly 16 MiB, then an "
	    "empty chunk 000002 (compressed)"),
	VF(p_f_name_form, .name = "bad-file-name-form", .rule = "file_entry",
	    .desc = "a file entry texp/f/0003/1/0/1 (numbers not padded)"),
	VF(p_f_chunk_size, .name = "bad-file-chunk-size", .rule =
	    "entry_size", .desc = "a chunk of 16 MiB + 1 byte (by its header)"),
	VS(s_files_drop_null, .name = "bad-file-missing", .rule =
	    "file_missing", .desc = "a row with a path without its file, its "
	    "evidence null and its leaf the one of a row without a file"),
	VS(s_files_drop_kept, .name = "bad-file-missing-evidence-kept",
	    .rule = "file_missing", .desc = "a row with a path without its "
	    "file, its evidence keeping the file's size and hash"),
	VS(s_files_flip, .name = "bad-file-hash", .rule = "file_hash",
	    .desc = "a file's first byte changed after its evidence hash was "
	    "taken (the Merkle root of the bytes as they are)"),
	VS(s_files_size, .name = "bad-file-size", .rule = "file_hash",
	    .desc = "a file's evidence size one byte more than the file"),
	VS(s_files_null_claim, .name = "bad-evidence-file-no-path", .rule =
	    "evidence_shape", .desc = "the evidence of the row whose path is "
	    "null claims an empty file"),
	VS(s_files_global, .name = "bad-preamble-files-global", .rule =
	    "preamble", .desc = "files naming a global table"),
	VS(s_files_tenant_col, .name = "bad-preamble-files-tenant-column",
	    .rule = "preamble", .desc = "files naming the files table's "
	    "tenant column as its path column"),
	VS(s_files_path_type, .name = "bad-preamble-files-path-type", .rule =
	    "preamble", .desc = "files naming a bigint column as the path "
	    "column"),
	VF(p_f_after_evidence, .name = "forgery-file-after-evidence", .rule =
	    "entry_order", .desc = "a file entry after its part's evidence "
	    "(bound to no row)"),
	VF(p_f_in_other_table, .name = "forgery-file-in-other-table", .rule =
	    "entry_order", .desc = "a file entry in a part of app.contacts, "
	    "which is not the files table"),
	VP(p_f_no_files_key, .name = "forgery-file-without-files-key", .rule =
	    "entry_order", .desc = "a file entry in an archive whose preamble "
	    "has no files key"),
	/* §4 */
	VS(s_noncanon_int, .name = "bad-cbor-int-head", .rule =
	    "cbor_encoding", .desc = "an integer with a longer head than it "
	    "needs (18 05)"),
	VS(s_noncanon_float, .name = "bad-cbor-float-width", .rule =
	    "cbor_encoding", .desc = "0.5 as a single float"),
	VS(s_indef_array, .name = "bad-cbor-indefinite", .rule =
	    "cbor_encoding", .desc = "an indefinite-length array"),
	VP(p_pre_noncanon, .name = "bad-cbor-preamble-head", .rule =
	    "cbor_encoding", .desc = "the preamble's version as 18 02"),
	VS(s_tag1, .name = "bad-tag-1", .rule = "cbor_tag",
	    .desc = "tag 1 (epoch time) in a timestamptz column"),
	VS(s_tag55799, .name = "bad-tag-55799", .rule = "cbor_tag",
	    .desc = "tag 55799 (self-described CBOR) on a text value"),
	VS(s_tag37_text, .name = "bad-tag-37-on-text", .rule = "cbor_tag",
	    .desc = "tag 37 on a text string"),
	VS(s_uuid_short, .name = "bad-tag-37-short", .rule = "cbor_tag",
	    .desc = "tag 37 on 8 bytes"),
	VS(s_tag1004_bad, .name = "bad-tag-1004-date", .rule = "cbor_tag",
	    .desc = "tag 1004 on 2024-02-30"),
	VS(s_tag0_noz, .name = "bad-tag-0-form", .rule = "cbor_tag",
	    .desc = "tag 0 on a time without Z"),
	VS(s_float_in_bigint, .name = "bad-type-float-in-bigint", .rule =
	    "column_type", .desc = "a float in a bigint column"),
	VS(s_bigint_range, .name = "bad-type-bigint-range", .rule =
	    "column_type", .desc = "2^63 in a bigint column"),
	VS(s_double_in_real, .name = "bad-type-double-in-real", .rule =
	    "column_type", .desc = "a double-width float in a real column"),
	VS(s_text_in_bool, .name = "bad-type-text-in-boolean", .rule =
	    "column_type", .desc = "\"true\" as text in a boolean column"),
	VS(s_ragged, .name = "bad-type-ragged-array", .rule = "column_type",
	    .desc = "[[1,2],[3]] in an integer[] column"),
	VS(s_untagged_date, .name = "bad-type-untagged-date", .rule =
	    "column_type", .desc = "an untagged 2024-01-02 in a date column "
	    "(a second encoding of a taggable date)"),
	VS(s_map_in_text, .name = "bad-type-map", .rule = "column_type",
	    .desc = "a map in a text column"),
	VS(s_short_record, .name = "bad-record-width", .rule =
	    "record_shape", .desc = "a record with one item fewer than "
	    "columns"),
	VS(s_record_text, .name = "bad-record-not-array", .rule =
	    "record_shape", .desc = "a record that is a text string"),
	VP(p_version1, .name = "bad-preamble-version", .rule =
	    "format_version", .desc = "preamble version 1"),
	VS(s_dup_table, .name = "bad-preamble-duplicate-table", .rule =
	    "preamble", .desc = "two tables named app.contacts"),
	VS(s_bpchar, .name = "bad-preamble-tenant-type", .rule = "preamble",
	    .desc = "tenant_type bpchar"),
	VS(s_tcol_type, .name = "bad-preamble-tenant-column-type", .rule =
	    "preamble", .desc = "a tenant column declared integer for a text "
	    "tenant key"),
	VS(s_part_bytes0, .name = "bad-preamble-part-bytes", .rule =
	    "preamble", .desc = "part_bytes 0"),
	VS(s_empty_colname, .name = "bad-preamble-empty-column", .rule =
	    "preamble", .desc = "an empty column name"),
	VS(s_global_false, .name = "bad-global-flag", .rule = "global_flag",
	    .desc = "global false, a global table present"),
	VS(s_relabel_noglobal, .name = "forgery-relabel-as-global",
	    .rule = "global_flag", .desc = "app.contacts relabelled as global "
	    "and holding a row of client-a, global tables not requested"),
	VP(p_ev_null, .name = "bad-evidence-null", .rule = "evidence_shape",
	    .desc = "a null tenant hash in a tenant table's evidence"),
	VP(p_ev_short, .name = "bad-evidence-short", .rule =
	    "evidence_shape", .desc = "one evidence item missing"),
	VP(p_ev_extra, .name = "bad-evidence-extra", .rule =
	    "evidence_shape", .desc = "one evidence item too many"),
	VP(p_ev_head, .name = "bad-evidence-head", .rule = "evidence_shape",
	    .desc = "an evidence item of the right size whose array head "
	    "says three items"),
	VP(p_other_preamble, .name = "bad-manifest-preamble", .rule =
	    "manifest", .desc = "the manifest embeds another preamble"),
	VP(p_results, .name = "bad-manifest-results", .rule = "manifest",
	    .desc = "one result fewer than tables"),
	/* §5 */
	VP(p_tenant_hash, .name = "bad-tenant-hash", .rule = "tenant_hash",
	    .desc = "an evidence tenant hash changed"),
	VP(p_content_hash, .name = "bad-content-hash", .rule =
	    "content_hash", .desc = "an evidence content hash changed"),
	VP(p_root, .name = "bad-merkle-root", .rule = "merkle_root",
	    .desc = "a Merkle root changed"),
	VP(p_counts, .name = "bad-counts-records", .rule = "counts",
	    .desc = "a record count one too high"),
	VP(p_bytes, .name = "bad-counts-bytes", .rule = "counts",
	    .desc = "a byte count one too low"),
	{ .v = { .name = "bad-expected-tenant", .rule = "expected_tenant",
	    .desc = "client-a's archive, client-b expected" },
	    .stenant = "client-a" },
	{ .v = { .name = "bad-expected-tenant-form", .rule =
	    "expected_tenant", .tenant = "{0b5c3f0e-2c1a-4d3e-9f00-aa11bb22cc33}",
	    .desc = "a uuid tenant given in braces" },
	    .ttype = "uuid", .stenant = "0b5c3f0e-2c1a-4d3e-9f00-aa11bb22cc33" },
	VS(s_record_tenant, .name = "bad-record-tenant", .rule =
	    "record_tenant", .desc = "a record of client-a in client-b's "
	    "archive, its evidence consistent"),
	/* §6 */
	V(.name = "bad-signature-missing", .rule = "signature_missing",
	    .no_sig = 1, .desc = "no signature file"),
	V(.name = "bad-signature-garbage", .rule = "signature_format",
	    .garbage_sig = 1, .desc = "a signature file that is not one"),
	V(.name = "bad-signature-legacy", .rule = "signature_format",
	    .legacy_sig = 1, .desc = "the legacy algorithm Ed"),
	V(.name = "bad-signer-key", .rule = "signer_key", .other_key = 1,
	    .desc = "signed by a key that is not pinned"),
	V(.name = "bad-signature", .rule = "signature", .zero_prehash = 1,
	    .desc = "a signature over other bytes"),
	V(.name = "bad-trusted-comment-edited", .rule = "trusted_comment",
	    .edit_comment = 1, .desc = "the expiry in the trusted comment "
	    "changed after signing"),
	V(.name = "bad-trusted-comment-form", .rule = "trusted_comment",
	    .comment = "texp v2 export=none", .desc = "a validly signed "
	    "comment that is not the claims form"),
	V(.name = "bad-trusted-comment-v1", .rule = "format_version",
	    .comment = "texp v1 export=00000000000000000000000000000000 "
	    "tenant=0000000000000000000000000000000000000000000000000000000000000000 "
	    "created=1 expires=2 "
	    "manifest=0000000000000000000000000000000000000000000000000000000000000000 "
	    "parts=0", .desc = "a version 1 trusted comment"),
	V(.name = "bad-claims-export-id", .rule = "claims",
	    .claims_edit = k_export_id, .desc = "signed export id differs"),
	V(.name = "bad-claims-created", .rule = "claims",
	    .claims_edit = k_created, .desc = "signed creation time differs"),
	V(.name = "bad-claims-parts", .rule = "claims",
	    .claims_edit = k_parts, .desc = "a single file signed as two "
	    "parts"),
	V(.name = "bad-manifest-digest", .rule = "manifest_digest",
	    .claims_edit = k_digest, .desc = "signed manifest digest differs"),
	V(.name = "bad-index-form", .rule = "index", .part_size = SPLIT_N,
	    .index_leading_zero = 1, .desc = "an index size with a leading "
	    "zero, signed"),
	V(.name = "bad-part-missing", .rule = "part_missing", .part_size =
	    SPLIT_N, .drop_part = 2, .desc = "part 002 missing"),
	V(.name = "bad-part-extra", .rule = "part_extra", .part_size = SPLIT_N,
	    .beside = ".099", .desc = "an unlisted part .099"),
	V(.name = "bad-part-beside-single", .rule = "part_extra",
	    .beside = ".001", .desc = "a file .001 beside a single-file "
	    "archive"),
	V(.name = "bad-part-swapped", .rule = "part_mismatch", .part_size =
	    SPLIT_N, .swap_parts = 1, .desc = "parts 001 and 002 swapped"),
	V(.name = "bad-part-size-unequal", .rule = "part_size",
	    .cut = cut_unequal, .desc = "parts re-cut to unequal sizes, "
	    "index re-signed"),
	V(.name = "bad-part-size-empty-last", .rule = "part_size",
	    .part_size = SPLIT_N, .empty_last = 1, .desc = "an extra 0-byte "
	    "last part, index re-signed"),
	V(.name = "bad-part-size-last-large", .rule = "part_size",
	    .cut = cut_last_big, .desc = "a last part larger than the "
	    "others, index re-signed"),
	V(.name = "bad-part-size-signed", .rule = "part_size", .part_size =
	    SPLIT_N, .claims_edit = k_part_size, .desc = "signed part size "
	    "differs from the parts"),
	/* §7 */
	VS(s_expired, .name = "bad-expired", .rule = "expired", .strict = 1,
	    .desc = "expired, checked with --strict-expiry"),
	VS(s_foreign_text, .name = "bad-foreign-id", .rule = "foreign_id",
	    .foreign = "client-a", .desc = "client-a named in a value, "
	    "audited with --foreign-ids"),
};

/* A currency name of n bytes. */
static void
long_name(struct spec *sp, size_t n)
{
	char *s = malloc(n + 1);

	if (s == NULL)
		die("malloc", ERR_NOMEM);
	memset(s, 'y', n);
	s[n] = '\0';
	buf_free(sp->recs[2][1]);
	sp->recs[2][1] = currency("XXX", s);
	free(s);
}

/* The size of the base's plaintext with a currency name of n bytes. */
static size_t
size_with_name(const struct vdef *d, size_t n)
{
	struct spec sp;
	struct plain pl;
	struct buf *t;
	size_t len;

	rng_seed(d->v.name);
	spec_base(&sp, "text", "client-b");
	long_name(&sp, n);
	assemble(&sp, &pl);
	t = serialize(&pl);
	len = buf_len(t);
	buf_free(t);
	plain_free(&pl);
	spec_free(&sp);
	return len;
}

/* The base, with a currency name that makes the plaintext exactly one
 * full age chunk: the size grows with the name, in 512-byte steps. */
static void
spec_one_chunk(struct spec *sp, const struct vdef *d)
{
	size_t lo = 0, hi = AGE_CHUNK_SIZE, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (size_with_name(d, mid) < AGE_CHUNK_SIZE)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (size_with_name(d, lo) != AGE_CHUNK_SIZE)
		die("no plaintext of one chunk", ERR_INTERNAL);
	rng_seed(d->v.name);
	spec_base(sp, "text", "client-b");
	long_name(sp, lo);
}

static void
vec_one(const struct vdef *d)
{
	struct spec sp;
	struct plain pl;

	if (d->one_chunk)
		spec_one_chunk(&sp, d);
	else {
		rng_seed(d->v.name);
		spec_base(&sp, d->ttype != NULL ? d->ttype : "text",
		    d->stenant != NULL ? d->stenant : "client-b");
	}
	if (d->sfix != NULL)
		d->sfix(&sp);
	assemble(&sp, &pl);
	if (d->pfix != NULL)
		d->pfix(&pl);
	emit(&d->v, &pl);
	plain_free(&pl);
	spec_free(&sp);
}

/* ------------------------------------------------------------------ */
/* The vectors' writer is the format library's writer */

static int
add_all(struct bundle_writer *w, const struct spec *sp)
{
	size_t t, i;
	int r;

	for (t = 0; t < sp->m->ntables; t++)
		for (i = 0; i < sp->nrecs[t]; i++)
			if ((r = bundle_writer_add(w, t, buf_ptr(sp->recs[t][i]),
			    buf_len(sp->recs[t][i]))) != 0)
				return r;
	return 0;
}

/* The writer's file source: the spec's files. */
struct fsrc {
	const struct spec *sp;
	const struct buf *f;
	size_t off;
};

static int
fsrc_open(void *ctx, uint64_t row, const uint8_t *path, size_t len,
    uint64_t *size)
{
	struct fsrc *s = ctx;

	if (row >= MAXREC || (s->f = s->sp->file[row]) == NULL ||
	    doc_paths[row] == NULL || len != strlen(doc_paths[row]) ||
	    memcmp(path, doc_paths[row], len) != 0)
		return ERR_INTERNAL;
	s->off = 0;
	*size = buf_len(s->f);
	return 0;
}

static int
fsrc_read(void *ctx, uint8_t *p, size_t cap, size_t *got)
{
	struct fsrc *s = ctx;
	size_t n = buf_len(s->f) - s->off < cap ? buf_len(s->f) - s->off : cap;

	memcpy(p, buf_ptr(s->f) + s->off, n);
	s->off += n;
	*got = n;
	return 0;
}

static int
fsrc_close(void *ctx, int ok)
{
	(void)ctx;
	return ok ? 0 : ERR_IO;
}

/* The specs the writer is compared with. */
static void
mk_base(struct spec *sp)
{
	spec_base(sp, "text", "client-b");
}

static void
mk_files(struct spec *sp)
{
	spec_base(sp, "text", "client-b");
	spec_add_files(sp, 0);
}

static void
mk_files_big(struct spec *sp)
{
	spec_base(sp, "text", "client-b");
	spec_add_files(sp, BUNDLE_FILE_CHUNK + 700);
}

/* bundle_writer's plaintext for the spec mk makes (zstd: decompressed). */
static struct buf *
writer_plain(void (*mk)(struct spec *), int zstd)
{
	struct bundle_writer *w;
	struct buf *out = nbuf(64 << 20), *plain;
	struct bundle_file_source fs = { .open = fsrc_open,
	    .read = fsrc_read, .close = fsrc_close };
	struct fsrc src;
	struct spec sp;
	size_t n;

	rng_seed("self-check");
	mk(&sp);
	src.sp = &sp;
	fs.ctx = &src;
	OK(bundle_writer_new(sp.m, zstd, PART_BYTES, buf_write, out, &w));
	bundle_writer_set_files(w, &fs);
	OK(add_all(w, &sp));
	OK(bundle_writer_finish(w, NULL));
	bundle_writer_free(w);
	spec_free(&sp);
	if (!zstd)
		return out;
	plain = nbuf(64 << 20);
	n = ZSTD_getFrameContentSize(buf_ptr(out), buf_len(out));
	if (n == ZSTD_CONTENTSIZE_ERROR)
		die("writer's zstd frame", ERR_FORMAT);
	{
		ZSTD_DCtx *zd = ZSTD_createDCtx();
		ZSTD_inBuffer in = { buf_ptr(out), buf_len(out), 0 };
		uint8_t tmp[65536];
		ZSTD_outBuffer o;
		size_t z;

		do {
			o.dst = tmp;
			o.size = sizeof(tmp);
			o.pos = 0;
			z = ZSTD_decompressStream(zd, &o, &in);
			OK(ZSTD_isError(z) ? ERR_FORMAT : 0);
			OK(buf_put(plain, tmp, o.pos));
		} while (z != 0);
		OK(in.pos == in.size ? 0 : ERR_TRAILING);	/* one frame */
		ZSTD_freeDCtx(zd);
	}
	buf_free(out);
	return plain;
}

/* The assembler above must write what bundle_writer writes: for the
 * base, plain and compressed; with files; with a file of two chunks. */
static void
self_check(void)
{
	static void (*const mk[])(struct spec *) = { mk_base, mk_base,
	    mk_files, mk_files_big };
	struct buf *a, *b;
	struct spec sp;
	struct plain pl;
	int k, z;

	for (k = 0; k < 4; k++) {
		z = k == 1 || k == 3;
		rng_seed("self-check");
		mk[k](&sp);
		sp.m->compression = z;
		assemble(&sp, &pl);
		a = serialize(&pl);
		b = writer_plain(mk[k], z);
		if (buf_len(a) != buf_len(b) ||
		    memcmp(buf_ptr(a), buf_ptr(b), buf_len(a)) != 0)
			die("the vectors' assembler and bundle_writer disagree",
			    ERR_INTERNAL);
		buf_free(a);
		buf_free(b);
		plain_free(&pl);
		spec_free(&sp);
	}
}

/* seal_writer must lay out and sign ct as seal_single/seal_split do. */
static void
self_check_seal(size_t part_size)
{
	struct vec v = { .name = "seal", .part_size = part_size };
	struct seal_writer *sw;
	struct seal_claims c, c2;
	struct buf *ct = nbuf(1 << 20), *got;
	struct vout vo;
	char *dir, tmpl[] = "/tmp/texp-vectors.XXXXXX", path[4096];
	size_t i;
	int dfd;

	rng_seed("seal-check");
	for (i = 0; i < 5000; i++)
		OK(buf_put_u8(ct, (uint8_t)(i * 7)));
	memset(&c, 0, sizeof(c));
	c.created = CREATED;
	c.expires = EXPIRES;
	c2 = c;
	memset(&vo, 0, sizeof(vo));
	if (part_size)
		seal_split(&v, "v.texp", ct, &c, &vo);
	else
		seal_single(&v, "v.texp", ct, &c, &vo);
	if ((dir = mkdtemp(tmpl)) == NULL || (dfd = open(dir, O_RDONLY |
	    O_DIRECTORY)) < 0)
		die("mkdtemp", ERR_IO);
	OK(seal_writer_new(dfd, "v.texp", part_size, &sw));
	OK(seal_writer_write(sw, buf_ptr(ct), buf_len(ct)));
	OK(seal_writer_close(sw));
	OK(seal_writer_publish(sw, sk_main, &c2));
	seal_writer_free(sw);
	for (i = 0; i < vo.n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, vo.f[i].name);
		OK(file_read_small(AT_FDCWD, path, 1 << 20, 0, &got));
		if (buf_len(got) != buf_len(vo.f[i].b) || memcmp(buf_ptr(got),
		    buf_ptr(vo.f[i].b), buf_len(got)) != 0)
			die("the vectors' layout and seal_writer disagree",
			    ERR_INTERNAL);
		buf_free(got);
		unlinkat(dfd, vo.f[i].name, 0);
		buf_free(vo.f[i].b);
	}
	close(dfd);
	rmdir(dir);
	buf_free(ct);
}

static int
write_all_vectors(void)
{
	size_t i;

	self_check();
	self_check_seal(0);
	self_check_seal(SPLIT_N);
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
		vec_one(&vectors[i]);
	return 0;
}

/* Good plaintexts, for the fuzzers' corpora. */
static int
write_seeds(void)
{
	struct buf *b;
	char path[4096];
	int z;

	b = writer_plain(mk_files, 0);
	snprintf(path, sizeof(path), "%s/good-files.tar", outdir);
	OK(file_write_new(path, buf_ptr(b), buf_len(b), 0644));
	buf_free(b);
	for (z = 0; z < 2; z++) {
		b = writer_plain(mk_base, 0);
		if (z) {
			struct buf *f = zframe(buf_ptr(b), buf_len(b));

			buf_free(b);
			b = f;
		}
		snprintf(path, sizeof(path), "%s/good%s.tar", outdir,
		    z ? "-zstd-frame" : "");
		OK(file_write_new(path, buf_ptr(b), buf_len(b), 0644));
		buf_free(b);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "--out") != 0 &&
	    strcmp(argv[1], "--plaintext") != 0)) {
		fprintf(stderr, "usage: texp-vectors --out DIR | "
		    "--plaintext DIR\n");
		return 2;
	}
	/* every random byte from here on is rng_buf's */
	rng_seed("init");
	if (test_rng_install() != 0 ||
	    sodium_init() < 0)
		die("libsodium", ERR_INTERNAL);
	outdir = argv[2];
	keys_make();
	if (strcmp(argv[1], "--plaintext") == 0)
		return write_seeds();
	return write_all_vectors();
}
