/*
 * fuzz_bundle: the tar walk over arbitrary decrypted bytes, as a
 * compromised builder could produce them. bundle_read must report or stop,
 * never crash, and its memory must stay bounded.
 */
#include <stdint.h>
#include <string.h>

#include "bundle.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct src {
	const uint8_t *p;
	size_t n;
};

static int
src_read(void *ctx, uint8_t *p, size_t cap, size_t *got)
{
	struct src *s = ctx;
	/* Small, uneven reads exercise every buffer boundary. */
	size_t take = s->n < cap ? s->n : cap;

	if (take > 4099)
		take = 4099;
	memcpy(p, s->p, take);
	s->p += take;
	s->n -= take;
	*got = take;
	return 0;
}

static int
on_failure(void *ctx, enum rule rule, int code, const char *msg)
{
	(void)ctx;
	(void)rule;
	(void)code;
	(void)msg;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct src s = { data, size };
	struct bundle_visitor v = { .on_failure = on_failure };

	bundle_read(src_read, &s, &v);
	return 0;
}
