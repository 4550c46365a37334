/*
 * verifier/decq.c, decryption ahead in a thread: the reader gets exactly
 * the plaintext age_dec_read gives, in order, however it asks for it; a
 * damaged chunk stops it with the decryptor's error after the chunks that
 * authenticated, and never with a byte of the damaged one; a reader that
 * stops early stops the thread (no hang, no leak under ASan).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "age.h"
#include "buf.h"
#include "decq.h"
#include "err.h"
#include "testutil.h"

#define PLAIN	(9 * AGE_CHUNK_SIZE + 1234)

static uint8_t *plain;
static struct buf *ct;
static uint8_t key[AGE_FILE_KEY_LEN];
static size_t hdr_len;

static int
to_buf(void *ctx, const uint8_t *p, size_t n)
{
	return buf_put(ctx, p, n);
}

static int
from_view(void *ctx, uint8_t *p, size_t cap, size_t *got)
{
	struct buf *b = ctx;
	size_t n = buf_len(b) < cap ? buf_len(b) : cap;

	*got = 0;
	if (n > 0 && buf_get(b, p, n) != 0)
		return ERR_IO;
	*got = n;
	return 0;
}

static void
setup(void)
{
	struct age_enc *e;
	struct age_identity *id;
	struct age_recipient *rcp;
	char *rt;

	ck_assert(sodium_init() >= 0);
	plain = malloc(PLAIN);
	ck_assert_ptr_nonnull(plain);
	randombytes_buf(plain, PLAIN);
	randombytes_buf(key, sizeof(key));
	ct = buf_new(2 * PLAIN);
	ck_assert_int_eq(age_identity_generate(&id), 0);
	ck_assert_int_eq(age_identity_recipient(id, &rt), 0);
	ck_assert_int_eq(age_recipient_parse(rt, &rcp), 0);
	ck_assert_int_eq(age_header_write(&rcp, 1, key, ct), 0);
	hdr_len = buf_len(ct);
	age_identity_free(id);
	age_recipient_free(rcp);
	free(rt);
	ck_assert_int_eq(age_enc_new_payload(key, to_buf, ct, &e), 0);
	ck_assert_int_eq(age_enc_write(e, plain, PLAIN), 0);
	ck_assert_int_eq(age_enc_finish(e), 0);
	age_enc_free(e);
}

static void
teardown(void)
{
	free(plain);
	buf_free(ct);
}

/* A decryptor over ct's bytes (damaged at off when off < len). */
static struct age_dec *
dec_over(struct buf **view, uint8_t **copy, size_t off)
{
	struct age_dec *d;

	*copy = malloc(buf_len(ct));
	memcpy(*copy, buf_ptr(ct), buf_len(ct));
	if (off < buf_len(ct))
		(*copy)[off] ^= 0x40;
	*view = buf_from(*copy, buf_len(ct));
	ck_assert_int_eq(age_dec_new(from_view, *view, &d), 0);
	ck_assert_int_eq(age_dec_set_file_key(d, key), 0);
	return d;
}

/* Reads everything in pieces of odd sizes; returns the final code. */
static int
read_all(struct decq *q, uint8_t *out, size_t *total)
{
	static const size_t sizes[] = { 1, 7, 4096, 65536, 100000, 333 };
	size_t got, k = 0;
	int r;

	*total = 0;
	for (;;) {
		size_t want = sizes[k++ % 6];

		if (*total + want > PLAIN + 65536)
			want = PLAIN + 65536 - *total;
		r = decq_read(q, out + *total, want, &got);
		if (r != 0 || got == 0)
			return r;
		*total += got;
	}
}

START_TEST(test_same_bytes)
{
	struct buf *view;
	uint8_t *copy, *out = malloc(PLAIN + 65536);
	struct age_dec *d = dec_over(&view, &copy, SIZE_MAX);
	struct decq *q;
	size_t total, got;

	ck_assert_int_eq(decq_start(d, &q), 0);
	ck_assert_int_eq(read_all(q, out, &total), 0);
	ck_assert_uint_eq(total, PLAIN);
	ck_assert(memcmp(out, plain, PLAIN) == 0);
	/* the end, again */
	ck_assert_int_eq(decq_read(q, out, 10, &got), 0);
	ck_assert_uint_eq(got, 0);
	decq_stop(q);
	age_dec_free(d);
	buf_free(view);
	free(copy);
	free(out);
}
END_TEST

START_TEST(test_damaged_chunk)
{
	struct buf *view;
	uint8_t *copy, *out = malloc(PLAIN + 65536);
	/* a byte inside the sixth chunk (16-byte nonce, chunks of 64 KiB +
	 * 16-byte tags) */
	struct age_dec *d = dec_over(&view, &copy,
	    hdr_len + 16 + 5 * (AGE_CHUNK_SIZE + 16) + 100);
	struct decq *q;
	size_t total, got;
	int r;

	ck_assert_int_eq(decq_start(d, &q), 0);
	r = read_all(q, out, &total);
	ck_assert_int_eq(r, ERR_AGE_PAYLOAD);
	ck_assert_uint_eq(total, 5 * AGE_CHUNK_SIZE);
	ck_assert(memcmp(out, plain, total) == 0);
	/* sticky */
	ck_assert_int_eq(decq_read(q, out, 10, &got), ERR_AGE_PAYLOAD);
	ck_assert_uint_eq(got, 0);
	decq_stop(q);
	age_dec_free(d);
	buf_free(view);
	free(copy);
	free(out);
}
END_TEST

START_TEST(test_early_stop)
{
	struct buf *view;
	uint8_t *copy, b[100];
	struct age_dec *d = dec_over(&view, &copy, SIZE_MAX);
	struct decq *q;
	size_t got;

	ck_assert_int_eq(decq_start(d, &q), 0);
	ck_assert_int_eq(decq_read(q, b, sizeof(b), &got), 0);
	ck_assert_uint_eq(got, sizeof(b));
	ck_assert(memcmp(b, plain, sizeof(b)) == 0);
	decq_stop(q);		/* the thread is blocked on a full ring */
	decq_stop(NULL);
	age_dec_free(d);
	buf_free(view);
	free(copy);
}
END_TEST

static Suite *
decq_suite(void)
{
	Suite *s = suite_create("decq");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_same_bytes);
	tcase_add_test(tc, test_damaged_chunk);
	tcase_add_test(tc, test_early_stop);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return test_run_suite(decq_suite());
}
