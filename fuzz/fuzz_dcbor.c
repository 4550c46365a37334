/*
 * fuzz_dcbor: the deterministic CBOR decoder over arbitrary bytes. Walks
 * the input with dcbor_skip and item by item with dcbor_get_item, and
 * checks that whatever is accepted re-encodes to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dcbor.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Re-encodes the item just read by dcbor_get_item. */
static int
reencode(struct buf *out, const struct dcbor_item *it)
{
	switch (it->type) {
	case DCBOR_UINT: return dcbor_put_uint(out, it->u);
	case DCBOR_NEGINT:
		if (it->u > INT64_MAX)
			return buf_put(out, "\x3b", 1) == 0 ?
			    buf_put_u64be(out, it->u) : ERR_LIMIT;
		return dcbor_put_int(out, -1 - (int64_t)it->u);
	case DCBOR_BYTES: return dcbor_put_bytes(out, it->p, it->len);
	case DCBOR_TEXT:
		return dcbor_put_text(out, (const char *)it->p, it->len);
	case DCBOR_ARRAY: return dcbor_put_array(out, it->u);
	case DCBOR_MAP: return dcbor_put_map(out, it->u);
	case DCBOR_TAG: return dcbor_put_tag(out, it->u);
	case DCBOR_FALSE: return dcbor_put_bool(out, 0);
	case DCBOR_TRUE: return dcbor_put_bool(out, 1);
	case DCBOR_NULL: return dcbor_put_null(out);
	case DCBOR_FLOAT: return dcbor_put_float(out, it->f);
	}
	return ERR_INTERNAL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf *b = buf_from(data, size), *out = buf_new(2 * size + 64);
	struct dcbor_item it;
	size_t before, used;

	if (b == NULL || out == NULL)
		abort();
	(void)dcbor_validate(data, size, 16);
	while (buf_len(b) > 0) {
		before = buf_len(b);
		if (dcbor_skip(b, 16) != 0) {
			if (buf_len(b) != before)
				abort();	/* must not consume on error */
			break;
		}
	}
	buf_free(b);

	/* head by head: accepted items must round-trip byte for byte */
	b = buf_from(data, size);
	while (buf_len(b) > 0) {
		before = buf_len(b);
		if (dcbor_get_item(b, &it) != 0)
			break;
		used = before - buf_len(b);
		buf_reset(out);
		if (reencode(out, &it) != 0 || buf_len(out) != used ||
		    memcmp(buf_ptr(out), data + (size - before), used) != 0)
			abort();
	}
	buf_free(b);
	buf_free(out);
	return 0;
}
