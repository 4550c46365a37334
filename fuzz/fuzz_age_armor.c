/*
 * fuzz_age_armor.c: the ASCII armor decoder on its own. Whatever decodes
 * must re-encode and decode back to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "age.h"
#include "age_int.h"
#include "buf.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct src {
	const uint8_t *p;
	size_t len, off, step;
};

static int
src_read(void *ctx, uint8_t *p, size_t cap, size_t *got)
{
	struct src *s = ctx;
	size_t n = s->len - s->off;

	if (n > cap)
		n = cap;
	if (n > s->step)
		n = s->step;
	memcpy(p, s->p + s->off, n);
	s->off += n;
	*got = n;
	return 0;
}

static int
sink(void *ctx, const uint8_t *p, size_t n)
{
	return buf_put(ctx, p, n);
}

/* Decodes armored input; 0 and the bytes in out, or an error. */
static int
dearmor(const uint8_t *p, size_t len, size_t step, struct buf *out)
{
	struct src s = { p, len, 0, step };
	struct age_src src;
	struct age_armor_dec ad;
	uint8_t tmp[97];
	size_t got;
	int r, armored = 0;

	memset(&ad, 0, sizeof(ad));
	if ((r = age_src_init(&src, src_read, &s)) != 0)
		return r;
	if ((r = age_src_detect_armor(&src, &armored)) != 0)
		goto out;
	if (!armored) {
		r = ERR_FORMAT;
		goto out;
	}
	for (;;) {
		if ((r = age_armor_read(&ad, &src, tmp, sizeof(tmp), &got)) != 0)
			goto out;
		if (got == 0)
			break;
		if ((r = buf_put(out, tmp, got)) != 0)
			goto out;
	}
	r = 0;
 out:
	age_src_clear(&src);
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf *a = NULL, *enc = NULL, *b = NULL;
	struct age_armor_enc ae;
	size_t step;

	if (size < 1)
		return 0;
	step = data[0] == 0 ? SIZE_MAX : data[0];
	if ((a = buf_new(1 << 20)) == NULL || (enc = buf_new(1 << 21)) == NULL ||
	    (b = buf_new(1 << 20)) == NULL)
		goto out;
	if (dearmor(data + 1, size - 1, step, a) != 0)
		goto out;
	if (age_armor_enc_begin(&ae, sink, enc) != 0 ||
	    age_armor_enc_write(&ae, buf_ptr(a), buf_len(a)) != 0 ||
	    age_armor_enc_finish(&ae) != 0)
		__builtin_trap();
	if (dearmor(buf_ptr(enc), buf_len(enc), SIZE_MAX, b) != 0 ||
	    buf_len(a) != buf_len(b) ||
	    memcmp(buf_ptr(a), buf_ptr(b), buf_len(a)) != 0)
		__builtin_trap();
 out:
	buf_free(a);
	buf_free(enc);
	buf_free(b);
	return 0;
}
