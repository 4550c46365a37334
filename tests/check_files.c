/*
 * check_files.c: files in the plaintext (FORMAT.md §3.4, §4.3, §5).
 *
 * The format writer is given a files table whose rows point at files held
 * by a test source; the reader must see each file whole and bound to its
 * row, with memory that does not grow with the file's size. Then the
 * plaintext is damaged one way at a time and the reader must name the
 * rule: a file's byte changed, a file entry for a row without a path, a
 * file's chunk dropped, a row's evidence claiming another size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bundle.h"
#include "bundle_int.h"
#include "dcbor.h"
#include "err.h"
#include "manifest.h"
#include "rule.h"
#include "tar.h"
#include "testutil.h"

#define BIG	(2 * (uint64_t)BUNDLE_FILE_CHUNK + 5)

/* ---- an in-memory plaintext ---- */

struct mem {
	uint8_t *p;
	size_t len, cap, pos;
};

static int
mem_write(void *ctx, const uint8_t *p, size_t n)
{
	struct mem *m = ctx;

	if (m->len + n > m->cap) {
		m->cap = (m->len + n) * 2;
		m->p = realloc(m->p, m->cap);
		ck_assert_ptr_nonnull(m->p);
	}
	memcpy(m->p + m->len, p, n);
	m->len += n;
	return 0;
}

static int
mem_read(void *ctx, uint8_t *p, size_t cap, size_t *got)
{
	struct mem *m = ctx;
	size_t n = m->len - m->pos < cap ? m->len - m->pos : cap;

	memcpy(p, m->p + m->pos, n);
	m->pos += n;
	*got = n;
	return 0;
}

/* ---- the file source: content is a function of the path ---- */

struct src {
	uint64_t size, off;
	uint8_t seed;
	int opened, closed;
	char paths[8][64];
};

static uint8_t
byte_at(uint8_t seed, uint64_t i)
{
	return (uint8_t)(seed + i * 7 + (i >> 9));
}

static int
src_open(void *ctx, uint64_t row, const uint8_t *path, size_t len,
    uint64_t *size)
{
	struct src *s = ctx;

	(void)row;
	ck_assert_uint_lt(len, 64);
	memcpy(s->paths[s->opened], path, len);
	s->paths[s->opened][len] = '\0';
	s->opened++;
	s->seed = path[0];
	s->size = strncmp((const char *)path, "big", 3) == 0 ? BIG :
	    strncmp((const char *)path, "empty", 5) == 0 ? 0 : 1000 + len;
	s->off = 0;
	*size = s->size;
	return 0;
}

static int
src_read(void *ctx, uint8_t *p, size_t cap, size_t *got)
{
	struct src *s = ctx;
	size_t i, n = s->size - s->off < cap ? (size_t)(s->size - s->off) :
	    cap;

	for (i = 0; i < n; i++)
		p[i] = byte_at(s->seed, s->off + i);
	s->off += n;
	*got = n;
	return 0;
}

static int
src_close(void *ctx, int ok)
{
	struct src *s = ctx;

	s->closed++;
	return ok ? 0 : ERR_IO;
}

/* ---- building ---- */

static const char *const paths[] = { "a.txt", NULL, "big.bin", "empty",
    "dir/b.pdf" };
#define NROWS	(sizeof(paths) / sizeof(paths[0]))

static struct manifest *
files_manifest(void)
{
	struct manifest *m = manifest_new();
	size_t t;

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(manifest_set_str(&m->tenant_type, "text"), 0);
	m->created = 1700000000;
	m->expires = 1700003600;
	randombytes_buf(m->salt, sizeof(m->salt));
	ck_assert_int_eq(manifest_add_table(m, "app.files", 0, &t), 0);
	ck_assert_int_eq(manifest_add_column(m, t, "tenant_id", "text"), 0);
	ck_assert_int_eq(manifest_add_column(m, t, "id", "bigint"), 0);
	ck_assert_int_eq(manifest_add_column(m, t, "path", "text"), 0);
	m->has_files = 1;
	m->files_table = 0;
	m->files_path = 2;
	return m;
}

static void
record(struct buf *b, size_t i)
{
	buf_reset(b);
	ck_assert_int_eq(dcbor_put_array(b, 3), 0);
	ck_assert_int_eq(dcbor_put_text(b, "B", 1), 0);
	ck_assert_int_eq(dcbor_put_uint(b, i), 0);
	if (paths[i] == NULL)
		ck_assert_int_eq(dcbor_put_null(b), 0);
	else
		ck_assert_int_eq(dcbor_put_text(b, paths[i],
		    strlen(paths[i])), 0);
}

/* 1: close the files table before finishing, as the exporter does (it
 * reads a part's files when the table ends), even when it is the last. */
static int build_end_table;

static void
build(struct mem *out, struct src *s)
{
	static struct bundle_file_source fs;
	struct manifest *m = files_manifest();
	struct bundle_writer *w;
	struct buf *b = buf_new(4096);
	size_t i;

	fs.ctx = s;
	fs.open = src_open;
	fs.read = src_read;
	fs.close = src_close;
	ck_assert_int_eq(bundle_writer_new(m, 0, 0, mem_write, out, &w), 0);
	bundle_writer_set_files(w, &fs);
	for (i = 0; i < NROWS; i++) {
		record(b, i);
		ck_assert_int_eq(bundle_writer_add(w, 0, buf_ptr(b),
		    buf_len(b)), 0);
	}
	if (build_end_table)
		ck_assert_int_eq(bundle_writer_end_table(w, 0), 0);
	ck_assert_int_eq(bundle_writer_finish(w, NULL), 0);
	bundle_writer_free(w);
	buf_free(b);
	manifest_free(m);
}

/* ---- reading ---- */

struct seen {
	int nfiles, nfail;
	enum rule rules[16];
	char path[8][64];
	uint64_t index[8];
	uint64_t size[8];
	uint8_t bad[8];		/* a byte differed from the source's */
	uint64_t off;
	uint8_t seed;
};

static int
on_begin(void *ctx, size_t table, uint64_t index, const uint8_t *path,
    size_t len)
{
	struct seen *v = ctx;

	ck_assert_uint_eq(table, 0);
	ck_assert_uint_lt(len, 64);
	memcpy(v->path[v->nfiles], path, len);
	v->path[v->nfiles][len] = '\0';
	v->index[v->nfiles] = index;
	v->size[v->nfiles] = 0;
	v->off = 0;
	v->seed = path[0];
	return 0;
}

static int
on_data(void *ctx, const uint8_t *p, size_t n)
{
	struct seen *v = ctx;
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != byte_at(v->seed, v->off + i))
			v->bad[v->nfiles] = 1;
	v->off += n;
	v->size[v->nfiles] += n;
	return 0;
}

static int
on_end(void *ctx)
{
	struct seen *v = ctx;

	v->nfiles++;
	return 0;
}

static int
on_fail(void *ctx, enum rule rule, int code, const char *msg)
{
	struct seen *v = ctx;

	(void)code;
	(void)msg;
	if (v->nfail < 16)
		v->rules[v->nfail] = rule;
	v->nfail++;
	return 0;
}

static int
read_all(struct mem *m, struct seen *v)
{
	struct bundle_visitor vis;

	memset(v, 0, sizeof(*v));
	memset(&vis, 0, sizeof(vis));
	vis.ctx = v;
	vis.on_file_begin = on_begin;
	vis.on_file_data = on_data;
	vis.on_file_end = on_end;
	vis.on_failure = on_fail;
	m->pos = 0;
	return bundle_read(mem_read, m, &vis);
}

static int
has_rule(const struct seen *v, enum rule r)
{
	int i;

	for (i = 0; i < v->nfail && i < 16; i++)
		if (v->rules[i] == r)
			return 1;
	return 0;
}

/* Finds entry name in the plaintext; returns the offset of its data. */
static size_t
entry_data(const struct mem *m, const char *name)
{
	size_t off = 0;
	uint64_t size, mtime;
	char n[TAR_NAME_MAX + 1];
	const char *why;

	while (off + TAR_BLOCK <= m->len) {
		if (tar_header_get(m->p + off, n, &size, &mtime, &why) != 0)
			break;
		if (strcmp(n, name) == 0)
			return off + TAR_BLOCK;
		off += TAR_BLOCK + size + tar_padding(size);
	}
	ck_abort_msg("no entry %s", name);
	return 0;
}

START_TEST(test_round_trip)
{
	struct mem m = { 0 };
	struct src s = { 0 };
	struct seen v;

	build_end_table = _i;
	build(&m, &s);
	build_end_table = 0;
	ck_assert_int_eq(s.opened, 4);
	ck_assert_int_eq(s.closed, 4);
	ck_assert_int_eq(read_all(&m, &v), 0);
	ck_assert_msg(v.nfail == 0, "%d failures, first %s", v.nfail,
	    rule_code(v.rules[0]));
	ck_assert_int_eq(v.nfiles, 4);
	ck_assert_str_eq(v.path[0], "a.txt");
	ck_assert_uint_eq(v.index[0], 0);
	ck_assert_uint_eq(v.size[0], 1005);
	ck_assert_str_eq(v.path[1], "big.bin");
	ck_assert_uint_eq(v.index[1], 2);
	ck_assert_uint_eq(v.size[1], BIG);
	ck_assert_str_eq(v.path[2], "empty");
	ck_assert_uint_eq(v.size[2], 0);
	ck_assert_str_eq(v.path[3], "dir/b.pdf");
	ck_assert_uint_eq(v.index[3], 4);
	ck_assert(!v.bad[0] && !v.bad[1] && !v.bad[2] && !v.bad[3]);
	/* the big file is three entries: two full chunks and 5 bytes */
	(void)entry_data(&m, "texp/f/0000/000001/00002/000003");
	free(m.p);
}
END_TEST

/* A byte of a file changed: its hash no longer recomputes. */
START_TEST(test_file_byte_changed)
{
	struct mem m = { 0 };
	struct src s = { 0 };
	struct seen v;
	size_t off;

	build(&m, &s);
	off = entry_data(&m, "texp/f/0000/000001/00004/000001");
	m.p[off + 3] ^= 1;
	ck_assert_int_eq(read_all(&m, &v), 0);
	ck_assert(has_rule(&v, RULE_FILE_HASH));
	ck_assert(has_rule(&v, RULE_MERKLE_ROOT));
	free(m.p);
}
END_TEST

/* A file entry renamed to the row without a path: no file without a row
 * that names it. */
START_TEST(test_file_without_path)
{
	struct mem m = { 0 };
	struct src s = { 0 };
	struct seen v;
	size_t off;

	build(&m, &s);
	off = entry_data(&m, "texp/f/0000/000001/00000/000001") - TAR_BLOCK;
	memcpy(m.p + off, "texp/f/0000/000001/00001/000001", 31);
	tar_header_chksum(m.p + off);
	ck_assert_int_ne(read_all(&m, &v), 0);
	ck_assert(has_rule(&v, RULE_FILE_ENTRY));
	free(m.p);
}
END_TEST

/* The big file's middle chunk renamed to the third: chunks must be
 * consecutive. */
START_TEST(test_chunk_order)
{
	struct mem m = { 0 };
	struct src s = { 0 };
	struct seen v;
	size_t off;

	build(&m, &s);
	off = entry_data(&m, "texp/f/0000/000001/00002/000002") - TAR_BLOCK;
	memcpy(m.p + off, "texp/f/0000/000001/00002/000004", 31);
	tar_header_chksum(m.p + off);
	ck_assert_int_ne(read_all(&m, &v), 0);
	ck_assert(has_rule(&v, RULE_FILE_ENTRY));
	free(m.p);
}
END_TEST

/* A row's evidence claims another size than its file has. */
START_TEST(test_evidence_size)
{
	struct mem m = { 0 };
	struct src s = { 0 };
	struct seen v;
	size_t off, i;

	build(&m, &s);
	off = entry_data(&m, "texp/t/0000/evidence-000001.cbor");
	/* the first item: 83 58 20 <32> 58 20 <32> 82 19 03 ed 58 20 ... */
	i = off + 1 + 34 + 34;
	ck_assert_uint_eq(m.p[i], 0x82);
	ck_assert_uint_eq(m.p[i + 1], 0x19);
	m.p[i + 3] ^= 1;
	ck_assert_int_eq(read_all(&m, &v), 0);
	ck_assert(has_rule(&v, RULE_FILE_HASH));
	free(m.p);
}
END_TEST

/* A preamble without "files" is byte for byte the version 2 preamble:
 * archives without files did not change. */
START_TEST(test_preamble_unchanged_without_files)
{
	struct manifest *m = files_manifest();
	struct buf *a = buf_new(1 << 16), *b = buf_new(1 << 16);
	struct manifest *back = NULL;
	struct buf *view;

	m->has_files = 0;
	ck_assert_int_eq(manifest_encode_preamble(m, a), 0);
	ck_assert_uint_eq(buf_ptr(a)[0], 0xa0 + 14);
	m->has_files = 1;
	ck_assert_int_eq(manifest_encode_preamble(m, b), 0);
	ck_assert_uint_eq(buf_ptr(b)[0], 0xa0 + 15);
	view = buf_from(buf_ptr(b), buf_len(b));
	ck_assert_int_eq(manifest_decode_preamble(view, &back), 0);
	ck_assert_int_eq(back->has_files, 1);
	ck_assert_uint_eq(back->files_table, 0);
	ck_assert_uint_eq(back->files_path, 2);
	manifest_free(back);
	buf_free(view);
	buf_free(a);
	buf_free(b);
	manifest_free(m);
}
END_TEST

/* The files key must name a text column of a tenant table. */
START_TEST(test_files_key_checked)
{
	struct manifest *m = files_manifest();
	enum rule rule;
	char why[256];

	m->part_bytes = 4096;
	ck_assert_msg(manifest_check(m, &rule, why, sizeof(why)) == 0, "%s",
	    why);
	m->files_path = 1;	/* bigint */
	ck_assert_int_eq(manifest_check(m, &rule, why, sizeof(why)),
	    ERR_MANIFEST);
	m->files_path = 0;	/* the tenant column */
	ck_assert_int_eq(manifest_check(m, &rule, why, sizeof(why)),
	    ERR_MANIFEST);
	m->files_path = 2;
	m->files_table = 1;
	ck_assert_int_eq(manifest_check(m, &rule, why, sizeof(why)),
	    ERR_MANIFEST);
	manifest_free(m);
}
END_TEST

static Suite *
files_suite(void)
{
	Suite *s = suite_create("files");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_round_trip, 0, 2);
	tcase_add_test(tc, test_file_byte_changed);
	tcase_add_test(tc, test_file_without_path);
	tcase_add_test(tc, test_chunk_order);
	tcase_add_test(tc, test_evidence_size);
	tcase_add_test(tc, test_preamble_unchanged_without_files);
	tcase_add_test(tc, test_files_key_checked);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	return test_run_suite(files_suite());
}
