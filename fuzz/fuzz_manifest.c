/*
 * fuzz_manifest: preamble and manifest decoders over arbitrary bytes.
 * Whatever decodes must encode back to the same bytes (one encoding per
 * value is what makes the manifest digest meaningful).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf *in = buf_from(data, size), *out = buf_new(MANIFEST_MAX_BYTES);
	struct manifest *m = NULL;
	const uint8_t *pre;
	size_t pre_len;

	if (in == NULL || out == NULL)
		abort();
	if (manifest_decode_preamble(in, &m) == 0) {
		if (manifest_encode_preamble(m, out) != 0 ||
		    buf_len(out) != size || memcmp(buf_ptr(out), data, size) != 0)
			abort();
		manifest_free(m);
		m = NULL;
	}
	buf_free(in);
	buf_reset(out);
	in = buf_from(data, size);
	if (in != NULL && manifest_decode(in, &m, &pre, &pre_len) == 0) {
		if (manifest_encode(m, pre, pre_len, out) != 0 ||
		    buf_len(out) != size || memcmp(buf_ptr(out), data, size) != 0)
			abort();
		manifest_free(m);
	}
	buf_free(in);
	buf_free(out);
	return 0;
}
