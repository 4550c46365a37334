/*
 * fuzz_src.h: the input callback the bundle harnesses share: the fuzz
 * input handed out in small, uneven reads, so that every buffer boundary
 * of the reader is crossed.
 */
#ifndef TEXP_FUZZ_SRC_H
#define TEXP_FUZZ_SRC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct fuzz_src {
	const uint8_t *p;
	size_t n;
};

static int
fuzz_src_read(void *ctx, uint8_t *p, size_t cap, size_t *got)
{
	struct fuzz_src *s = ctx;
	size_t take = s->n < cap ? s->n : cap;

	if (take > 4099)
		take = 4099;
	memcpy(p, s->p, take);
	s->p += take;
	s->n -= take;
	*got = take;
	return 0;
}

#endif
