/*
 * tokscan.c: exact-token identifier search (tokscan.h).
 */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "tokscan.h"

struct tokscan {
	char **ids;		/* as given (UUID-shaped ones lower-cased) */
	size_t *lens;
	size_t n;
	/* the token-only identifiers: open addressing, slot = index + 1 */
	size_t *slots;
	size_t cap;
	/* the others, searched one by one */
	size_t *other;
	size_t nother;
};

int
tokscan_is_token_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static int
is_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

static int
uuid_shaped(const uint8_t *p, size_t n)
{
	size_t i;

	if (n != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (p[i] != '-')
				return 0;
		} else if (!is_hex(p[i]))
			return 0;
	}
	return 1;
}

static uint64_t
hash_bytes(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

/* The index of the token-only identifier equal to p[0..n), or -1. */
static long
lookup(const struct tokscan *t, const uint8_t *p, size_t n)
{
	size_t i, s;

	if (t->cap == 0)
		return -1;
	for (i = hash_bytes(p, n) & (t->cap - 1); (s = t->slots[i]) != 0;
	    i = (i + 1) & (t->cap - 1))
		if (t->lens[s - 1] == n && memcmp(t->ids[s - 1], p, n) == 0)
			return (long)(s - 1);
	return -1;
}

static int
all_token_chars(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!tokscan_is_token_char((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Adds id i to the set or to the others (a repeated one is dropped). */
static void
place(struct tokscan *t, size_t i)
{
	const uint8_t *p = (const uint8_t *)t->ids[i];
	size_t k, n = t->lens[i];

	if (!all_token_chars(t->ids[i], n)) {
		for (k = 0; k < t->nother; k++)
			if (t->lens[t->other[k]] == n &&
			    memcmp(t->ids[t->other[k]], p, n) == 0)
				return;
		t->other[t->nother++] = i;
		return;
	}
	if (lookup(t, p, n) >= 0)
		return;
	for (k = hash_bytes(p, n) & (t->cap - 1); t->slots[k] != 0;
	    k = (k + 1) & (t->cap - 1))
		;
	t->slots[k] = i + 1;
}

int
tokscan_new(const char *const *ids, size_t n, struct tokscan **out)
{
	struct tokscan *t;
	size_t i, j;

	*out = NULL;
	if (n > TOKSCAN_MAX_IDS)
		return ERR_LIMIT;
	for (i = 0; i < n; i++)
		if (ids[i] == NULL || ids[i][0] == '\0' ||
		    strlen(ids[i]) > TOKSCAN_MAX_LEN)
			return ERR_INVALID;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return ERR_NOMEM;
	for (t->cap = 16; t->cap < 2 * n + 2; t->cap *= 2)
		;
	t->ids = calloc(n ? n : 1, sizeof(*t->ids));
	t->lens = calloc(n ? n : 1, sizeof(*t->lens));
	t->other = calloc(n ? n : 1, sizeof(*t->other));
	t->slots = calloc(t->cap, sizeof(*t->slots));
	if (t->ids == NULL || t->lens == NULL || t->other == NULL ||
	    t->slots == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		if ((t->ids[i] = strdup(ids[i])) == NULL)
			goto nomem;
		t->n = i + 1;
		t->lens[i] = strlen(ids[i]);
		if (uuid_shaped((const uint8_t *)t->ids[i], t->lens[i]))
			for (j = 0; j < 36; j++)
				if (t->ids[i][j] >= 'A' && t->ids[i][j] <= 'F')
					t->ids[i][j] += 'a' - 'A';
		place(t, i);
	}
	*out = t;
	return 0;
 nomem:
	tokscan_free(t);
	return ERR_NOMEM;
}

void
tokscan_free(struct tokscan *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		free(t->ids[i]);
	free(t->ids);
	free(t->lens);
	free(t->slots);
	free(t->other);
	free(t);
}

size_t
tokscan_count(const struct tokscan *t)
{
	return t != NULL ? t->n : 0;
}

/* One maximal run of token characters. */
static size_t
run_hit(const struct tokscan *t, const uint8_t *p, size_t n,
    tokscan_hit_fn fn, void *ctx)
{
	uint8_t low[36];
	long w = lookup(t, p, n);
	size_t j;

	if (w < 0 && uuid_shaped(p, n)) {
		for (j = 0; j < 36; j++)
			low[j] = p[j] >= 'A' && p[j] <= 'F' ?
			    (uint8_t)(p[j] + ('a' - 'A')) : p[j];
		w = lookup(t, low, 36);
	}
	if (w < 0)
		return 0;
	if (fn != NULL)
		fn(ctx, (size_t)w);
	return 1;
}

/* An identifier with other characters: every bounded occurrence. */
static size_t
other_hits(const struct tokscan *t, size_t i, const uint8_t *p, size_t len,
    tokscan_hit_fn fn, void *ctx)
{
	const uint8_t *id = (const uint8_t *)t->ids[i], *at, *s = p;
	size_t n = t->lens[i], hits = 0, left;
	int head = tokscan_is_token_char(id[0]);
	int tail = tokscan_is_token_char(id[n - 1]);

	while ((left = len - (size_t)(s - p)) >= n &&
	    (at = memmem(s, left, id, n)) != NULL) {
		if ((!head || at == p || !tokscan_is_token_char(at[-1])) &&
		    (!tail || at + n == p + len ||
		    !tokscan_is_token_char(at[n]))) {
			hits++;
			if (fn != NULL)
				fn(ctx, i);
		}
		s = at + 1;
	}
	return hits;
}

size_t
tokscan_text(const struct tokscan *t, const uint8_t *p, size_t len,
    tokscan_hit_fn fn, void *ctx)
{
	size_t i = 0, start, hits = 0, k;

	if (t == NULL || t->n == 0)
		return 0;
	while (i < len) {
		if (!tokscan_is_token_char(p[i])) {
			i++;
			continue;
		}
		start = i;
		while (i < len && tokscan_is_token_char(p[i]))
			i++;
		hits += run_hit(t, p + start, i - start, fn, ctx);
	}
	for (k = 0; k < t->nother; k++)
		hits += other_hits(t, t->other[k], p, len, fn, ctx);
	return hits;
}

size_t
tokscan_uuid(const struct tokscan *t, const uint8_t u[16], tokscan_hit_fn fn,
    void *ctx)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t s[36];
	size_t i, j = 0;

	if (t == NULL || t->n == 0)
		return 0;
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			s[j++] = '-';
		s[j++] = (uint8_t)hex[u[i] >> 4];
		s[j++] = (uint8_t)hex[u[i] & 15];
	}
	return run_hit(t, s, 36, fn, ctx);
}
