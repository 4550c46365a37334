/*
 * ident.h: PostgreSQL identifiers (schema, table and column names) as the
 * config, the command line, the archive and the extracted files write
 * them.
 *
 * A name is what the catalog stores (pg_class.relname, attname): 1 to 63
 * bytes of UTF-8, any character but NUL. Written down it follows
 * PostgreSQL's rules:
 *
 *   app                 unquoted: letters, digits, _ and $, not starting
 *                       with a digit or $; non-ASCII letters allowed.
 *                       Upper case is refused: PostgreSQL folds unquoted
 *                       names to lower case, so "Users" must be quoted.
 *   "Order Items"       double quotes, "" for a quote inside
 *   U&"caf\00E9"        Unicode escapes: \XXXX, \+XXXXXX, \\ (PostgreSQL's
 *                       U& form without UESCAPE), for names that a config
 *                       line cannot hold as they are (control characters)
 *
 * The canonical written form (ident_quote) is the one PostgreSQL's
 * quote_ident uses for everything but key words: bare when the name
 * matches [a-z_][a-z0-9_]*, else double-quoted. A qualified name is
 * schema.table with each part in that form; it is how a table is named
 * in the archive's manifest, in job scopes and in messages, and it reads
 * back to exactly the catalog's two names.
 */
#ifndef TEXP_IDENT_H
#define TEXP_IDENT_H

#include <stddef.h>

struct buf;

#define IDENT_MAX		63	/* bytes: NAMEDATALEN - 1 */
#define IDENT_QUOTED_MAX	(2 * IDENT_MAX + 3)	/* "..." + NUL */
#define IDENT_QNAME_MAX		(2 * IDENT_QUOTED_MAX)	/* s.t + NUL */
#define IDENT_CONFIG_MAX	(8 * IDENT_MAX + 5)	/* U&"..." + NUL */
#define IDENT_CONFIG_QMAX	(2 * IDENT_CONFIG_MAX)
#define IDENT_FILE_MAX		200	/* bytes of an extracted file name */

/*
 * Reads one written identifier at the front of b and consumes it. On
 * success writes the name (NUL-terminated) to out and returns 0. On
 * failure returns ERR_FORMAT (or ERR_LIMIT for a name over IDENT_MAX
 * bytes), consumes nothing and points *why at a static reason.
 */
int ident_get(struct buf *b, char out[IDENT_MAX + 1], const char **why);

/*
 * Parses the whole of s (len bytes) as schema.name, with spaces or tabs
 * allowed around it. 0, or ERR_FORMAT/ERR_LIMIT with *why set.
 */
int ident_parse_qualified(const char *s, size_t len,
    char schema[IDENT_MAX + 1], char name[IDENT_MAX + 1], const char **why);

/*
 * Reads the next schema.name of a comma-separated list at the front of b
 * ("app.users, crm.\"Order Items\""): spaces and tabs around entries are
 * skipped and the comma after the entry is consumed. Returns 0 with the
 * entry, ERR_NOENT when b holds nothing more, ERR_FORMAT/ERR_LIMIT with
 * *why set (an empty entry, a missing comma, a bad name).
 */
int ident_qlist_next(struct buf *b, char schema[IDENT_MAX + 1],
    char name[IDENT_MAX + 1], const char **why);

/* 1 if name is 1..IDENT_MAX bytes of valid UTF-8 (so: a possible name). */
int ident_valid(const char *name);

/*
 * Canonical form of name into out (outlen bytes, at least
 * IDENT_QUOTED_MAX suffices). 0, or ERR_INVALID for a name that is not
 * ident_valid, ERR_LIMIT when out is too small.
 */
int ident_quote(char *out, size_t outlen, const char *name);
/* schema.name in canonical form (IDENT_QNAME_MAX suffices). */
int ident_qualify(char *out, size_t outlen, const char *schema,
    const char *name);

/*
 * The form for a line of the config file: the canonical form when every
 * character can stand on a config line, else U&"..." with control
 * characters, ';' and '\' escaped. What it writes parses back (ident_get)
 * to name. Sizes: IDENT_CONFIG_MAX, IDENT_CONFIG_QMAX.
 */
int ident_quote_config(char *out, size_t outlen, const char *name);
int ident_qualify_config(char *out, size_t outlen, const char *schema,
    const char *name);

/*
 * The file name an extracted table gets: each name with every byte
 * outside [a-z0-9_] written as %XX (upper-case hex), joined by '.', then
 * "." ext. Different tables never share a file name, not even on a file
 * system that ignores case or normalises Unicode. A name longer than
 * IDENT_FILE_MAX keeps its first bytes and ends in "~" and 16 hex digits
 * of a BLAKE2b hash of the qualified name. 0, ERR_INVALID, ERR_LIMIT.
 */
int ident_file_name(char *out, size_t outlen, const char *schema,
    const char *name, const char *ext);

#endif
