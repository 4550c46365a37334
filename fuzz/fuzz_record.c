/*
 * fuzz_record: the record decoder that turns archive records into JSON
 * Lines and CSV, over arbitrary bytes, against a table of four columns.
 * Output stays unchanged on error; nothing may crash.
 */
#include <stdint.h>
#include <stdlib.h>

#include "buf.h"
#include "manifest.h"
#include "values.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct manifest *m;
	struct buf *out = buf_new(1 << 24);
	size_t t;

	if (m == NULL) {
		if ((m = manifest_new()) == NULL ||
		    manifest_add_table(m, "app.t", 0, &t) != 0 ||
		    manifest_add_column(m, t, "tenant_id", "uuid") != 0 ||
		    manifest_add_column(m, t, "a", "text") != 0 ||
		    manifest_add_column(m, t, "b", "int8[]") != 0 ||
		    manifest_add_column(m, t, "c", "jsonb") != 0)
			abort();
	}
	if (out == NULL)
		abort();
	if (values_record_jsonl(&m->tables[0], data, size, out) != 0 &&
	    buf_len(out) != 0)
		abort();
	buf_reset(out);
	if (values_record_csv(&m->tables[0], data, size, out) != 0 &&
	    buf_len(out) != 0)
		abort();
	buf_free(out);
	return 0;
}
