/*
 * fuzz_bundle: the tar walk over arbitrary decrypted bytes, as a
 * compromised builder could produce them. bundle_read must report or stop,
 * never crash, and its memory must stay bounded.
 */
#include <stdint.h>
#include <string.h>

#include "bundle.h"
#include "err.h"
#include "fuzz_src.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


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
	struct fuzz_src s = { data, size };
	struct bundle_visitor v = { .on_failure = on_failure };

	bundle_read(fuzz_src_read, &s, &v);
	return 0;
}
