/*
 * foreign.h: the auditor's list of other tenants' identifiers
 * (`tenant-verify verify --foreign-ids FILE`) and the search for them in
 * an archive's values.
 *
 * The list holds exact bytes: each identifier is compared as it is, with
 * no trimming, no case folding and no Unicode normalisation. Two forms:
 *
 *   lines   one identifier per line; only the line's LF is removed. An
 *           empty line, a line ending in CR (a CRLF file), a NUL byte or
 *           bytes that are not UTF-8 are refused: an identifier holding a
 *           newline or a CR needs the JSON form.
 *   json    a JSON array of strings (["acme", "acme\n2"]).
 *
 * Matching (foreign_match) looks at one value of a record as text (a
 * text or JSON value as it is, a uuid in PostgreSQL's text form, an
 * integer in decimal):
 *
 *   value      the whole value equals an identifier
 *   json       a string inside a JSON value (a key or a string value,
 *              escapes decoded) equals an identifier
 *   token      a token of the value (or of a JSON string) equals an
 *              identifier. Tokens are the longest runs of identifier
 *              characters: ASCII letters, digits, '_' and '-', and every
 *              non-ASCII character but Unicode spaces and punctuation
 *              (U+00A0..U+00BF but ª µ º, U+2000..U+206F, U+3000..U+3003).
 *              So "acme2" and "acme-eu" do not hold the token "acme";
 *              "acme's", "bob@acme.com" and "[acme]" do.
 *   substring  (FOREIGN_SUBSTRING only) the identifier's bytes occur
 *              anywhere in the value
 *
 * An identifier that is not a single token (it holds a space, a quote,
 * ...) matches only as a whole value or a whole JSON string by default.
 *
 * The archive's own tenant id is the tenant's own wherever it occurs: a
 * value or JSON string equal to it is not searched, and a token or
 * substring inside one of its occurrences is not a hit (so the id "acme"
 * is not found in the rows of the tenant "acme ", whose every row holds
 * "acme ").
 */
#ifndef TEXP_FOREIGN_H
#define TEXP_FOREIGN_H

#include <stddef.h>
#include <stdint.h>

#define FOREIGN_MAX_IDS		100000
#define FOREIGN_MAX_FILE	(16u << 20)	/* bytes of a list */

enum foreign_mode {
	FOREIGN_TOKEN = 0,	/* whole values, JSON strings and tokens */
	FOREIGN_SUBSTRING,	/* and anywhere inside a value */
};

enum foreign_kind {
	FOREIGN_HIT_VALUE = 1,
	FOREIGN_HIT_JSON,
	FOREIGN_HIT_TOKEN,
	FOREIGN_HIT_SUBSTRING,
};

struct foreign_list;

/*
 * Parses a list (json: 1 for the JSON form). On success returns 0 and
 * sets *out (free with foreign_list_free). On failure returns ERR_FORMAT
 * or ERR_LIMIT (or ERR_NOMEM) and writes a reason naming the line or
 * array index, never an identifier, into why (whylen bytes).
 */
int foreign_list_parse(const uint8_t *p, size_t len, int json,
    struct foreign_list **out, char *why, size_t whylen);
/* Wipes (other tenants' identifiers) and frees. Accepts NULL. */
void foreign_list_free(struct foreign_list *l);
/* Number of identifiers. */
size_t foreign_list_count(const struct foreign_list *l);

/*
 * Looks for a listed identifier in the n bytes at p, one value's text
 * (is_json: the value is JSON text), own_id being the archive's own
 * tenant id as text (or NULL). Returns 1 on a hit with *which (the
 * identifier's 0-based position in the list) and *kind, else 0.
 */
int foreign_match(const struct foreign_list *l, enum foreign_mode mode,
    const char *own_id, const uint8_t *p, size_t n, int is_json,
    size_t *which, enum foreign_kind *kind);

/* "value", "json", "token", "substring". */
const char *foreign_kind_str(enum foreign_kind kind);
/* "token" or "substring" -> *mode; ERR_USAGE otherwise. */
int foreign_mode_parse(const char *s, enum foreign_mode *mode);

#endif
