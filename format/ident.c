/*
 * ident.c: reading and writing PostgreSQL identifiers (ident.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "dcbor.h"
#include "err.h"
#include "ident.h"

static int
is_lower(uint8_t c)
{
	return c >= 'a' && c <= 'z';
}

static int
is_upper(uint8_t c)
{
	return c >= 'A' && c <= 'Z';
}

static int
is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static int
hexval(uint8_t c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Appends code point cp as UTF-8 to out[*n]; 0 or -1 when it does not fit
 * in IDENT_MAX bytes. */
static int
put_utf8(char *out, size_t *n, uint32_t cp)
{
	uint8_t t[4];
	size_t k, len;

	if (cp < 0x80) {
		t[0] = (uint8_t)cp;
		len = 1;
	} else if (cp < 0x800) {
		t[0] = (uint8_t)(0xc0 | (cp >> 6));
		t[1] = (uint8_t)(0x80 | (cp & 0x3f));
		len = 2;
	} else if (cp < 0x10000) {
		t[0] = (uint8_t)(0xe0 | (cp >> 12));
		t[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		t[2] = (uint8_t)(0x80 | (cp & 0x3f));
		len = 3;
	} else {
		t[0] = (uint8_t)(0xf0 | (cp >> 18));
		t[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
		t[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		t[3] = (uint8_t)(0x80 | (cp & 0x3f));
		len = 4;
	}
	if (*n + len > IDENT_MAX)
		return -1;
	for (k = 0; k < len; k++)
		out[(*n)++] = (char)t[k];
	return 0;
}

/* \XXXX or \+XXXXXX at offset off of b (the backslash already seen);
 * sets *cp and *used (bytes after the backslash). */
static int
get_uescape(const struct buf *b, size_t off, uint32_t *cp, size_t *used)
{
	uint8_t h[7];
	size_t nd, i;
	int v;

	if (buf_peek(b, off, h, 1) != 0)
		return -1;
	nd = h[0] == '+' ? 6 : 4;
	if (h[0] == '+')
		off++;
	if (buf_peek(b, off, h, nd) != 0)
		return -1;
	*cp = 0;
	for (i = 0; i < nd; i++) {
		if ((v = hexval(h[i])) < 0)
			return -1;
		*cp = *cp * 16 + (uint32_t)v;
	}
	*used = nd + (nd == 6 ? 1 : 0);
	if (*cp == 0 || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return -1;
	return 0;
}

/* "..." (uesc: U&"...") starting at offset off; *end: offset after it. */
static int
get_quoted(const struct buf *b, size_t off, int uesc, char *out, size_t *n,
    size_t *end, const char **why)
{
	uint8_t c, c2;
	uint32_t cp;
	size_t used;

	*n = 0;
	for (;;) {
		if (buf_peek(b, off, &c, 1) != 0) {
			*why = "unterminated quoted name (a closing \" is missing)";
			return ERR_FORMAT;
		}
		off++;
		if (c == '"') {
			if (buf_peek(b, off, &c2, 1) == 0 && c2 == '"') {
				off++;
			} else
				break;
		} else if (c == '\\' && uesc) {
			if (buf_peek(b, off, &c2, 1) == 0 && c2 == '\\') {
				off++;
			} else if (get_uescape(b, off, &cp, &used) == 0) {
				off += used;
				if (put_utf8(out, n, cp) != 0)
					goto long_name;
				continue;
			} else {
				*why = "invalid Unicode escape in U&\"...\" (use "
				    "\\XXXX, \\+XXXXXX or \\\\)";
				return ERR_FORMAT;
			}
		} else if (c == '\0') {
			*why = "NUL byte in a name";
			return ERR_FORMAT;
		}
		if (*n >= IDENT_MAX)
			goto long_name;
		out[(*n)++] = (char)c;
	}
	if (*n == 0) {
		*why = "empty quoted name";
		return ERR_FORMAT;
	}
	*end = off;
	return 0;
 long_name:
	*why = "name longer than 63 bytes (PostgreSQL would cut it)";
	return ERR_LIMIT;
}

/* Unquoted: [A-Za-z_\x80-\xff][A-Za-z0-9_$\x80-\xff]*, upper case
 * refused. */
static int
get_bare(const struct buf *b, char *out, size_t *n, size_t *end,
    const char **why)
{
	uint8_t c;
	size_t off = 0;
	int upper = 0;

	*n = 0;
	while (buf_peek(b, off, &c, 1) == 0) {
		if (!(is_lower(c) || is_upper(c) || c == '_' || c >= 0x80 ||
		    (off > 0 && (is_digit(c) || c == '$'))))
			break;
		upper |= is_upper(c);
		if (*n >= IDENT_MAX) {
			*why = "name longer than 63 bytes (PostgreSQL would cut "
			    "it)";
			return ERR_LIMIT;
		}
		out[(*n)++] = (char)c;
		off++;
	}
	if (*n == 0) {
		*why = "a name is missing (names with characters other than "
		    "letters, digits, _ and $ need double quotes)";
		return ERR_FORMAT;
	}
	if (upper) {
		*why = "unquoted name with upper-case letters: PostgreSQL folds "
		    "it to lower case; write it in lower case, or in double "
		    "quotes if the catalog has it in mixed case";
		return ERR_FORMAT;
	}
	*end = off;
	return 0;
}

int
ident_get(struct buf *b, char out[IDENT_MAX + 1], const char **why)
{
	uint8_t h[3];
	size_t n = 0, end = 0;
	int r;

	*why = "";
	out[0] = '\0';
	if (buf_peek(b, 0, h, 1) == 0 && h[0] == '"')
		r = get_quoted(b, 1, 0, out, &n, &end, why);
	else if (buf_peek(b, 0, h, 3) == 0 && (h[0] == 'U' || h[0] == 'u') &&
	    h[1] == '&' && h[2] == '"')
		r = get_quoted(b, 3, 1, out, &n, &end, why);
	else
		r = get_bare(b, out, &n, &end, why);
	if (r != 0) {
		out[0] = '\0';
		return r;
	}
	out[n] = '\0';
	if (!dcbor_utf8_valid((const uint8_t *)out, n)) {
		out[0] = '\0';
		*why = "name is not valid UTF-8";
		return ERR_FORMAT;
	}
	return buf_consume(b, end);
}

static void
skip_blank(struct buf *b)
{
	uint8_t c;

	while (buf_peek(b, 0, &c, 1) == 0 && (c == ' ' || c == '\t'))
		(void)buf_consume(b, 1);
}

int
ident_parse_qualified(const char *s, size_t len, char schema[IDENT_MAX + 1],
    char name[IDENT_MAX + 1], const char **why)
{
	struct buf *b;
	uint8_t c;
	int r;

	schema[0] = name[0] = '\0';
	*why = "";
	if ((b = buf_from(s, len)) == NULL)
		return ERR_NOMEM;
	skip_blank(b);
	if ((r = ident_get(b, schema, why)) != 0)
		goto out;
	r = ERR_FORMAT;
	if (buf_get_u8(b, &c) != 0 || c != '.') {
		*why = "expected schema.table (a name with a dot, space or "
		    "other character needs double quotes)";
		goto out;
	}
	if ((r = ident_get(b, name, why)) != 0)
		goto out;
	skip_blank(b);
	r = ERR_FORMAT;
	if (buf_len(b) != 0) {
		*why = "unexpected characters after schema.table (a name with "
		    "a dot, space or other character needs double quotes)";
		goto out;
	}
	r = 0;
 out:
	if (r != 0)
		schema[0] = name[0] = '\0';
	buf_free(b);
	return r;
}

int
ident_qlist_next(struct buf *b, char schema[IDENT_MAX + 1],
    char name[IDENT_MAX + 1], const char **why)
{
	uint8_t c;
	int r;

	schema[0] = name[0] = '\0';
	*why = "";
	skip_blank(b);
	if (buf_len(b) == 0)
		return ERR_NOENT;
	if ((r = ident_get(b, schema, why)) != 0)
		return r;
	if (buf_get_u8(b, &c) != 0 || c != '.') {
		*why = "expected schema.table (a name with a dot, space or "
		    "other character needs double quotes)";
		return ERR_FORMAT;
	}
	if ((r = ident_get(b, name, why)) != 0)
		return r;
	skip_blank(b);
	if (buf_len(b) == 0)
		return 0;
	if (buf_get_u8(b, &c) != 0 || c != ',') {
		*why = "expected a comma after schema.table (a name with a "
		    "space or other character needs double quotes)";
		return ERR_FORMAT;
	}
	skip_blank(b);
	if (buf_len(b) == 0) {
		*why = "empty entry after a comma";
		return ERR_FORMAT;
	}
	return 0;
}

int
ident_valid(const char *name)
{
	size_t n;

	if (name == NULL || (n = strlen(name)) == 0 || n > IDENT_MAX)
		return 0;
	return dcbor_utf8_valid((const uint8_t *)name, n);
}

static int
plain(const char *name)
{
	const uint8_t *p = (const uint8_t *)name;

	if (!(is_lower(*p) || *p == '_'))
		return 0;
	for (; *p != '\0'; p++)
		if (!(is_lower(*p) || is_digit(*p) || *p == '_'))
			return 0;
	return 1;
}

int
ident_quote(char *out, size_t outlen, const char *name)
{
	size_t n = 0;
	const char *p;

	if (!ident_valid(name))
		return ERR_INVALID;
	if (plain(name)) {
		if (strlen(name) >= outlen)
			return ERR_LIMIT;
		memcpy(out, name, strlen(name) + 1);
		return 0;
	}
	if (outlen < 3)
		return ERR_LIMIT;
	out[n++] = '"';
	for (p = name; *p != '\0'; p++) {
		if (n + (*p == '"' ? 2 : 1) + 2 > outlen)
			return ERR_LIMIT;
		if (*p == '"')
			out[n++] = '"';
		out[n++] = *p;
	}
	out[n++] = '"';
	out[n] = '\0';
	return 0;
}

static int
join(char *out, size_t outlen, const char *a, const char *b)
{
	int k = snprintf(out, outlen, "%s.%s", a, b);

	return k < 0 || (size_t)k >= outlen ? ERR_LIMIT : 0;
}

int
ident_qualify(char *out, size_t outlen, const char *schema, const char *name)
{
	char s[IDENT_QUOTED_MAX], t[IDENT_QUOTED_MAX];
	int r;

	if ((r = ident_quote(s, sizeof(s), schema)) != 0 ||
	    (r = ident_quote(t, sizeof(t), name)) != 0)
		return r;
	return join(out, outlen, s, t);
}

/* Decodes the UTF-8 character at p (valid by ident_valid); returns its
 * length and sets *cp. */
static size_t
utf8_next(const uint8_t *p, uint32_t *cp)
{
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] < 0xe0) {
		*cp = (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f);
		return 2;
	}
	if (p[0] < 0xf0) {
		*cp = (uint32_t)(p[0] & 0x0f) << 12 |
		    (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f);
		return 3;
	}
	*cp = (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3f) << 12 |
	    (uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f);
	return 4;
}

/* A character a config line cannot hold as it is: controls (C0, DEL,
 * C1), and ';' (inih ends a value at " ;"). */
static int
config_unsafe(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
	    cp == ';';
}

int
ident_quote_config(char *out, size_t outlen, const char *name)
{
	const uint8_t *p = (const uint8_t *)name;
	uint32_t cp;
	size_t n, k, len;
	int esc = 0, w;

	if (!ident_valid(name))
		return ERR_INVALID;
	for (k = 0; p[k] != '\0'; k += len) {
		len = utf8_next(&p[k], &cp);
		esc |= config_unsafe(cp);
	}
	if (!esc)
		return ident_quote(out, outlen, name);
	if (outlen < 6)
		return ERR_LIMIT;
	memcpy(out, "U&\"", 3);
	n = 3;
	for (k = 0; p[k] != '\0'; k += len) {
		len = utf8_next(&p[k], &cp);
		if (config_unsafe(cp))
			w = snprintf(out + n, outlen - n, "\\%04X", (unsigned)cp);
		else if (cp == '\\')
			w = snprintf(out + n, outlen - n, "\\\\");
		else if (cp == '"')
			w = snprintf(out + n, outlen - n, "\"\"");
		else
			w = snprintf(out + n, outlen - n, "%.*s", (int)len,
			    (const char *)&p[k]);
		if (w < 0 || (size_t)w >= outlen - n)
			return ERR_LIMIT;
		n += (size_t)w;
	}
	if (n + 2 > outlen)
		return ERR_LIMIT;
	out[n++] = '"';
	out[n] = '\0';
	return 0;
}

int
ident_qualify_config(char *out, size_t outlen, const char *schema,
    const char *name)
{
	char s[IDENT_CONFIG_MAX], t[IDENT_CONFIG_MAX];
	int r;

	if ((r = ident_quote_config(s, sizeof(s), schema)) != 0 ||
	    (r = ident_quote_config(t, sizeof(t), name)) != 0)
		return r;
	return join(out, outlen, s, t);
}

static size_t
file_enc(char *out, const char *name)
{
	static const char hex[] = "0123456789ABCDEF";
	const uint8_t *p = (const uint8_t *)name;
	size_t n = 0;

	for (; *p != '\0'; p++) {
		if (is_lower(*p) || is_digit(*p) || *p == '_') {
			out[n++] = (char)*p;
		} else {
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 0x0f];
		}
	}
	out[n] = '\0';
	return n;
}

int
ident_file_name(char *out, size_t outlen, const char *schema,
    const char *name, const char *ext)
{
	char s[3 * IDENT_MAX + 1], t[3 * IDENT_MAX + 1];
	char full[sizeof(s) + sizeof(t) + 1], q[IDENT_QNAME_MAX];
	uint8_t h[8];
	size_t keep, elen = strlen(ext);
	int k;

	if (!ident_valid(schema) || !ident_valid(name))
		return ERR_INVALID;
	file_enc(s, schema);
	file_enc(t, name);
	snprintf(full, sizeof(full), "%s.%s", s, t);
	if (strlen(full) + 1 + elen > IDENT_FILE_MAX) {
		if (ident_qualify(q, sizeof(q), schema, name) != 0 ||
		    elen + 18 >= IDENT_FILE_MAX)
			return ERR_LIMIT;
		crypto_generichash(h, sizeof(h), (const uint8_t *)q, strlen(q),
		    NULL, 0);
		keep = IDENT_FILE_MAX - elen - 18;
		/* never cut an escape in two */
		if (keep >= 1 && full[keep - 1] == '%')
			keep -= 1;
		else if (keep >= 2 && full[keep - 2] == '%')
			keep -= 2;
		k = snprintf(out, outlen, "%.*s~%02x%02x%02x%02x%02x%02x%02x%02x"
		    ".%s", (int)keep, full, h[0], h[1], h[2], h[3], h[4], h[5],
		    h[6], h[7], ext);
	} else
		k = snprintf(out, outlen, "%s.%s", full, ext);
	return k < 0 || (size_t)k >= outlen ? ERR_LIMIT : 0;
}
