/*
 * fuzz_pgcopy: the binary COPY decoder over arbitrary bytes with a fixed
 * column list covering every supported kind of value. The first input byte
 * picks a chunk size, so splitting is fuzzed too. Every record produced
 * must be valid deterministic CBOR.
 */
#include <stdint.h>
#include <stdlib.h>

#include "buf.h"
#include "dcbor.h"
#include "err.h"
#include "pgcopy.h"
#include "pgtype.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct pgcopy_column cols[] = {
	{ PGTYPE_BOOL }, { PGTYPE_INT2 }, { PGTYPE_INT4 }, { PGTYPE_INT8 },
	{ PGTYPE_FLOAT4 }, { PGTYPE_FLOAT8 }, { PGTYPE_NUMERIC },
	{ PGTYPE_TEXT }, { PGTYPE_JSONB }, { PGTYPE_BYTEA }, { PGTYPE_UUID },
	{ PGTYPE_DATE }, { PGTYPE_TIMESTAMP }, { PGTYPE_TIMESTAMPTZ },
	{ PGTYPE_INT4_ARRAY }, { PGTYPE_NUMERIC_ARRAY }, { PGTYPE_TEXT_ARRAY },
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pgcopy *pc;
	struct buf *in, *rec;
	const uint8_t *p;
	size_t chunk, n, before;
	int r = 0;

	if (size < 1)
		return 0;
	chunk = (size_t)data[0] + 1;
	if ((in = buf_from(data, size)) == NULL ||
	    (rec = buf_new(1 << 20)) == NULL ||
	    (pc = pgcopy_new(cols, sizeof(cols) / sizeof(cols[0]),
	    1 << 16)) == NULL)
		abort();
	buf_consume(in, 1);
	while (buf_len(in) > 0 && r >= 0) {
		n = buf_len(in) < chunk ? buf_len(in) : chunk;
		if (buf_get_ptr(in, n, &p) != 0)
			abort();
		if ((r = pgcopy_feed(pc, p, n)) < 0)
			break;
		for (;;) {
			before = buf_len(rec);
			r = pgcopy_next_row(pc, rec);
			if (r != 1) {
				if (buf_len(rec) != before)
					abort();	/* record untouched */
				break;
			}
			if (dcbor_validate(buf_ptr(rec), buf_len(rec), 16) != 0)
				abort();
			buf_reset(rec);
		}
	}
	(void)pgcopy_finish(pc);
	pgcopy_free(pc);
	buf_free(rec);
	buf_free(in);
	return 0;
}
