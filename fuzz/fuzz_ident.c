/*
 * fuzz_ident: PostgreSQL identifiers as the config, --tables and the
 * archive's manifest write them (format/ident.h), and the auditor's
 * identifier list (verifier/foreign.h). The first input byte picks one:
 *   0  schema.table: parsed, then written in canonical and config form,
 *      each of which must read back to the same names; and mapped to a
 *      file name, which must be safe
 *   1  a comma list of schema.table
 *   2  a foreign-id list (lines), searched in the rest of the input
 *   3  the same as a JSON array
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "foreign.h"
#include "ident.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
roundtrip(const char *s, const char *t)
{
	char q[IDENT_CONFIG_QMAX], s2[IDENT_MAX + 1], t2[IDENT_MAX + 1];
	char f[IDENT_FILE_MAX + 1];
	const char *why;

	if (ident_qualify(q, sizeof(q), s, t) != 0)
		abort();
	if (ident_parse_qualified(q, strlen(q), s2, t2, &why) != 0 ||
	    strcmp(s, s2) != 0 || strcmp(t, t2) != 0)
		abort();
	if (ident_qualify_config(q, sizeof(q), s, t) != 0)
		abort();
	if (ident_parse_qualified(q, strlen(q), s2, t2, &why) != 0 ||
	    strcmp(s, s2) != 0 || strcmp(t, t2) != 0)
		abort();
	if (ident_file_name(f, sizeof(f), s, t, "jsonl") != 0 ||
	    f[0] == '.' || strchr(f, '/') != NULL || strstr(f, "..") != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[IDENT_MAX + 1], t[IDENT_MAX + 1];
	struct foreign_list *l = NULL;
	struct buf *b;
	const char *why;
	enum foreign_kind k;
	size_t which, half;

	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		if (ident_parse_qualified((const char *)data + 1, size - 1, s, t,
		    &why) == 0)
			roundtrip(s, t);
		break;
	case 1:
		if ((b = buf_from(data + 1, size - 1)) == NULL)
			return 0;
		while (ident_qlist_next(b, s, t, &why) == 0)
			roundtrip(s, t);
		buf_free(b);
		break;
	default:
		half = (size - 1) / 2;
		if (foreign_list_parse(data + 1, half, data[0] % 4 == 3, &l,
		    NULL, 0) == 0) {
			(void)foreign_match(l, FOREIGN_SUBSTRING, "own",
			    data + 1 + half, size - 1 - half, 1, &which, &k);
			foreign_list_free(l);
		}
		break;
	}
	return 0;
}
