/*
 * foreign.c: the auditor's identifier list and the exact search for it
 * (foreign.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "dcbor.h"
#include "err.h"
#include "foreign.h"

struct foreign_id {
	uint8_t *p;
	size_t n;
	size_t idx;	/* position in the file */
};

struct foreign_list {
	struct foreign_id *v;	/* sorted by bytes, then position */
	size_t n;
	size_t count;		/* as listed, duplicates included */
};

static void
set_why(char *why, size_t whylen, const char *fmt, size_t k)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, fmt, k);
}

void
foreign_list_free(struct foreign_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		sodium_memzero(l->v[i].p, l->v[i].n);
		free(l->v[i].p);
	}
	free(l->v);
	free(l);
}

size_t
foreign_list_count(const struct foreign_list *l)
{
	return l->count;
}

static int
id_add(struct foreign_list *l, const uint8_t *p, size_t n)
{
	struct foreign_id *nv;

	if (l->n >= FOREIGN_MAX_IDS)
		return ERR_LIMIT;
	if ((nv = reallocarray(l->v, l->n + 1, sizeof(*nv))) == NULL)
		return ERR_NOMEM;
	l->v = nv;
	if ((nv[l->n].p = malloc(n)) == NULL)
		return ERR_NOMEM;
	memcpy(nv[l->n].p, p, n);
	nv[l->n].n = n;
	nv[l->n].idx = l->n;
	l->n++;
	l->count++;
	return 0;
}

static int
bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	if (c != 0)
		return c;
	return an < bn ? -1 : an > bn ? 1 : 0;
}

static int
id_cmp(const void *x, const void *y)
{
	const struct foreign_id *a = x, *b = y;
	int c = bytes_cmp(a->p, a->n, b->p, b->n);

	if (c != 0)
		return c;
	return a->idx < b->idx ? -1 : a->idx > b->idx ? 1 : 0;
}

/* Sorts for bsearch and keeps the first of equal identifiers. */
static void
list_sort(struct foreign_list *l)
{
	size_t i, k = 0;

	qsort(l->v, l->n, sizeof(*l->v), id_cmp);
	for (i = 0; i < l->n; i++) {
		if (k > 0 && bytes_cmp(l->v[k - 1].p, l->v[k - 1].n,
		    l->v[i].p, l->v[i].n) == 0) {
			sodium_memzero(l->v[i].p, l->v[i].n);
			free(l->v[i].p);
			continue;
		}
		l->v[k++] = l->v[i];
	}
	l->n = k;
}

static int
parse_lines(struct foreign_list *l, const uint8_t *p, size_t len, char *why,
    size_t whylen)
{
	size_t start = 0, end, line = 0;
	const uint8_t *nl;
	int r;

	while (start < len) {
		line++;
		nl = memchr(p + start, '\n', len - start);
		end = nl != NULL ? (size_t)(nl - p) : len;
		if (end == start) {
			set_why(why, whylen, "line %zu is empty (an identifier "
			    "is at least one byte; use the JSON form for odd "
			    "ones)", line);
			return ERR_FORMAT;
		}
		if (p[end - 1] == '\r') {
			set_why(why, whylen, "line %zu ends in a carriage return "
			    "(a CRLF file?): identifiers are exact bytes; use LF "
			    "line ends, or the JSON form to keep a CR", line);
			return ERR_FORMAT;
		}
		if (!dcbor_utf8_valid(p + start, end - start)) {
			set_why(why, whylen, "line %zu is not UTF-8 text", line);
			return ERR_FORMAT;
		}
		if ((r = id_add(l, p + start, end - start)) != 0) {
			set_why(why, whylen, r == ERR_LIMIT ? "more than %zu "
			    "identifiers" : "out of memory", FOREIGN_MAX_IDS);
			return r;
		}
		start = end + 1;
	}
	return 0;
}

static int
parse_json(struct foreign_list *l, const uint8_t *p, size_t len, char *why,
    size_t whylen)
{
	json_error_t je;
	json_t *root, *v;
	size_t i, n;
	const char *s;
	int r = ERR_FORMAT;

	root = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES |
	    JSON_ALLOW_NUL, &je);
	if (root == NULL || !json_is_array(root)) {
		set_why(why, whylen, "not a JSON array of strings (line %zu)",
		    root == NULL ? (size_t)(je.line > 0 ? je.line : 0) : 1);
		goto out;
	}
	json_array_foreach(root, i, v) {
		if (!json_is_string(v)) {
			set_why(why, whylen, "element %zu is not a string", i);
			goto out;
		}
		s = json_string_value(v);
		n = json_string_length(v);
		if (n == 0 || memchr(s, '\0', n) != NULL) {
			set_why(why, whylen, "element %zu is empty or holds a "
			    "NUL", i);
			goto out;
		}
		if ((r = id_add(l, (const uint8_t *)s, n)) != 0) {
			set_why(why, whylen, r == ERR_LIMIT ? "more than %zu "
			    "identifiers" : "out of memory", FOREIGN_MAX_IDS);
			goto out;
		}
		r = ERR_FORMAT;
	}
	r = 0;
 out:
	json_decref(root);
	return r;
}

int
foreign_list_parse(const uint8_t *p, size_t len, int json,
    struct foreign_list **out, char *why, size_t whylen)
{
	struct foreign_list *l;
	int r;

	*out = NULL;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (len > FOREIGN_MAX_FILE) {
		set_why(why, whylen, "larger than %zu bytes",
		    (size_t)FOREIGN_MAX_FILE);
		return ERR_LIMIT;
	}
	if (!json && memchr(p, '\0', len) != NULL) {
		set_why(why, whylen, "holds a NUL byte", 0);
		return ERR_FORMAT;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return ERR_NOMEM;
	r = json ? parse_json(l, p, len, why, whylen) :
	    parse_lines(l, p, len, why, whylen);
	if (r == 0 && l->n == 0) {
		set_why(why, whylen, "lists no identifiers", 0);
		r = ERR_FORMAT;
	}
	if (r != 0) {
		foreign_list_free(l);
		return r;
	}
	list_sort(l);
	*out = l;
	return 0;
}

/* The listed identifier equal to the n bytes at p, or NULL. */
static const struct foreign_id *
lookup(const struct foreign_list *l, const uint8_t *p, size_t n)
{
	size_t lo = 0, hi = l->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = bytes_cmp(p, n, l->v[mid].p, l->v[mid].n);
		if (c == 0)
			return &l->v[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Length of the UTF-8 character at p[0..n) with its code point, or 0 for
 * a byte that does not start a valid one. */
static size_t
utf8_char(const uint8_t *p, size_t n, uint32_t *cp)
{
	size_t len, i;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] < 0xe0)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] < 0xf0)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] < 0xf5)
		len = 4;
	else
		return 0;
	if (n < len || !dcbor_utf8_valid(p, len))
		return 0;
	*cp = p[0] & (0x7f >> len);
	for (i = 1; i < len; i++)
		*cp = (*cp << 6) | (p[i] & 0x3f);
	return len;
}

static int
ident_char(uint32_t cp)
{
	if (cp < 0x80)
		return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
		    (cp >= '0' && cp <= '9') || cp == '_' || cp == '-';
	if (cp <= 0x9f)
		return 0;
	if (cp <= 0xbf)
		return cp == 0xaa || cp == 0xb5 || cp == 0xba;
	if (cp == 0xd7 || cp == 0xf7 || cp == 0x1680 || cp == 0xfeff)
		return 0;
	if ((cp >= 0x2000 && cp <= 0x206f) || (cp >= 0x3000 && cp <= 0x3003))
		return 0;
	return 1;
}

/* The archive's own tenant id: its occurrences are the tenant's own. */
struct own {
	const uint8_t *p;
	size_t n;
};

/* 1 if p[off..off+len) lies inside an occurrence of the own id. */
static int
inside_own(const struct own *o, const uint8_t *p, size_t n, size_t off,
    size_t len)
{
	size_t start;

	if (o->n == 0 || len > o->n)
		return 0;
	start = off + len >= o->n ? off + len - o->n : 0;
	for (; start <= off; start++)
		if (start + o->n <= n && memcmp(p + start, o->p, o->n) == 0)
			return 1;
	return 0;
}

static int
is_own(const struct own *o, const uint8_t *p, size_t n)
{
	return o->n != 0 && n == o->n && memcmp(p, o->p, n) == 0;
}

/* Every token of p[0..n) against the list. */
static int
match_tokens(const struct foreign_list *l, const struct own *own,
    const uint8_t *p, size_t n, size_t *which)
{
	const struct foreign_id *id;
	size_t i = 0, start = 0, len;
	uint32_t cp;
	int in = 0;

	while (i <= n) {
		len = i < n ? utf8_char(&p[i], n - i, &cp) : 0;
		if (i < n && len != 0 && ident_char(cp)) {
			if (!in)
				start = i;
			in = 1;
			i += len;
			continue;
		}
		if (in && (id = lookup(l, &p[start], i - start)) != NULL &&
		    !inside_own(own, p, n, start, i - start)) {
			*which = id->idx;
			return 1;
		}
		in = 0;
		i += len != 0 ? len : 1;
	}
	return 0;
}

static int
hex4(const uint8_t *p, uint32_t *v)
{
	size_t i;
	int d;

	*v = 0;
	for (i = 0; i < 4; i++) {
		d = (p[i] >= '0' && p[i] <= '9') ? p[i] - '0' :
		    (p[i] >= 'a' && p[i] <= 'f') ? p[i] - 'a' + 10 :
		    (p[i] >= 'A' && p[i] <= 'F') ? p[i] - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		*v = *v * 16 + (uint32_t)d;
	}
	return 0;
}

/* Appends cp as UTF-8 to out (room is ensured by the caller). */
static size_t
put_cp(uint8_t *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xc0 | (cp >> 6));
		out[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xe0 | (cp >> 12));
		out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (uint8_t)(0xf0 | (cp >> 18));
	out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Decodes the JSON string whose opening quote is at p[*i] into out (at
 * least n bytes); *i moves past the closing quote. -1 when malformed.
 */
static int
get_json_string(const uint8_t *p, size_t n, size_t *i, uint8_t *out,
    size_t *olen)
{
	static const char esc[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
	uint32_t cp, lo;
	const char *e;
	size_t k = *i + 1;

	*olen = 0;
	while (k < n && p[k] != '"') {
		if (p[k] != '\\') {
			out[(*olen)++] = p[k++];
			continue;
		}
		if (k + 1 >= n)
			return -1;
		if (p[k + 1] != 'u') {
			if ((e = memchr(esc, p[k + 1], sizeof(esc) - 1)) == NULL ||
			    (e - esc) % 2 != 0)
				return -1;
			out[(*olen)++] = (uint8_t)e[1];
			k += 2;
			continue;
		}
		if (k + 6 > n || hex4(&p[k + 2], &cp) != 0)
			return -1;
		k += 6;
		if (cp >= 0xd800 && cp <= 0xdbff && k + 6 <= n &&
		    p[k] == '\\' && p[k + 1] == 'u' && hex4(&p[k + 2], &lo) == 0 &&
		    lo >= 0xdc00 && lo <= 0xdfff) {
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			k += 6;
		}
		*olen += put_cp(out + *olen, cp);
	}
	if (k >= n)
		return -1;
	*i = k + 1;
	return 0;
}

/* Each string of a JSON text: whole, then its tokens. */
static int
match_json(const struct foreign_list *l, const struct own *own,
    const uint8_t *p, size_t n, size_t *which, enum foreign_kind *kind)
{
	const struct foreign_id *id;
	uint8_t *s;
	size_t i = 0, sl;
	int hit = 0;

	if ((s = malloc(n ? n : 1)) == NULL)
		return 0;
	while (i < n && !hit) {
		if (p[i] != '"') {
			i++;
			continue;
		}
		if (get_json_string(p, n, &i, s, &sl) != 0)
			break;
		if (is_own(own, s, sl))
			continue;
		if ((id = lookup(l, s, sl)) != NULL) {
			*which = id->idx;
			*kind = FOREIGN_HIT_JSON;
			hit = 1;
		} else if (match_tokens(l, own, s, sl, which)) {
			*kind = FOREIGN_HIT_TOKEN;
			hit = 1;
		}
	}
	sodium_memzero(s, n ? n : 1);
	free(s);
	return hit;
}

/* The first listed identifier (by position) that occurs in p outside the
 * own id's occurrences. */
static int
match_substring(const struct foreign_list *l, const struct own *own,
    const uint8_t *p, size_t n, size_t *which)
{
	const uint8_t *q;
	size_t i, off, best = SIZE_MAX;

	for (i = 0; i < l->n; i++) {
		if (l->v[i].idx >= best)
			continue;
		for (off = 0; off + l->v[i].n <= n; off = (size_t)(q - p) + 1) {
			q = memmem(p + off, n - off, l->v[i].p, l->v[i].n);
			if (q == NULL)
				break;
			if (!inside_own(own, p, n, (size_t)(q - p), l->v[i].n)) {
				best = l->v[i].idx;
				break;
			}
		}
	}
	if (best == SIZE_MAX)
		return 0;
	*which = best;
	return 1;
}

int
foreign_match(const struct foreign_list *l, enum foreign_mode mode,
    const char *own_id, const uint8_t *p, size_t n, int is_json,
    size_t *which, enum foreign_kind *kind)
{
	const struct foreign_id *id;
	struct own own = { (const uint8_t *)own_id,
	    own_id != NULL ? strlen(own_id) : 0 };

	if (is_own(&own, p, n))
		return 0;
	if ((id = lookup(l, p, n)) != NULL) {
		*which = id->idx;
		*kind = FOREIGN_HIT_VALUE;
		return 1;
	}
	if (is_json && match_json(l, &own, p, n, which, kind))
		return 1;
	if (match_tokens(l, &own, p, n, which)) {
		*kind = FOREIGN_HIT_TOKEN;
		return 1;
	}
	if (mode != FOREIGN_SUBSTRING || !match_substring(l, &own, p, n, which))
		return 0;
	*kind = FOREIGN_HIT_SUBSTRING;
	return 1;
}

const char *
foreign_kind_str(enum foreign_kind kind)
{
	switch (kind) {
	case FOREIGN_HIT_VALUE: return "value";
	case FOREIGN_HIT_JSON: return "json";
	case FOREIGN_HIT_TOKEN: return "token";
	case FOREIGN_HIT_SUBSTRING: return "substring";
	}
	return "?";
}

int
foreign_mode_parse(const char *s, enum foreign_mode *mode)
{
	if (strcmp(s, "token") == 0)
		*mode = FOREIGN_TOKEN;
	else if (strcmp(s, "substring") == 0)
		*mode = FOREIGN_SUBSTRING;
	else
		return ERR_USAGE;
	return 0;
}
