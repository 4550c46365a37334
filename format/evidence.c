#include <string.h>

#include <sodium.h>

#include "err.h"
#include "evidence.h"

static int
keyed_hash(const uint8_t salt[EVIDENCE_SALT_LEN], const char *domain,
    const uint8_t *p, size_t len, uint8_t out[EVIDENCE_HASH_LEN])
{
	struct b2b st;

	/* The domain string's NUL is part of the input: it ends the prefix. */
	if (b2b_init(&st, EVIDENCE_HASH_LEN, salt, EVIDENCE_SALT_LEN) != 0)
		return ERR_INTERNAL;
	b2b_update(&st, domain, strlen(domain) + 1);
	b2b_update(&st, p, len);
	b2b_final(&st, out);
	return 0;
}

int
evidence_tenant_hash(const uint8_t salt[EVIDENCE_SALT_LEN],
    const uint8_t *value, size_t len, uint8_t out[EVIDENCE_HASH_LEN])
{
	return keyed_hash(salt, "texp tenant v1", value, len, out);
}

int
evidence_content_hash(const uint8_t salt[EVIDENCE_SALT_LEN],
    const uint8_t *record, size_t len, uint8_t out[EVIDENCE_HASH_LEN])
{
	return keyed_hash(salt, "texp record v1", record, len, out);
}

static int
prefix_state(struct b2b *st, const uint8_t salt[EVIDENCE_SALT_LEN],
    const char *domain)
{
	if (b2b_init(st, EVIDENCE_HASH_LEN, salt, EVIDENCE_SALT_LEN) != 0)
		return ERR_INTERNAL;
	b2b_update(st, domain, strlen(domain) + 1);
	return 0;
}

int
evidence_hasher_init(struct evidence_hasher *h,
    const uint8_t salt[EVIDENCE_SALT_LEN])
{
	memset(h, 0, sizeof(*h));
	if (prefix_state(&h->tenant0, salt, "texp tenant v1") != 0 ||
	    prefix_state(&h->content0, salt, "texp record v1") != 0)
		return ERR_INTERNAL;
	return 0;
}

static int
finish_from(const struct b2b *base, const uint8_t *p, size_t len,
    uint8_t out[EVIDENCE_HASH_LEN])
{
	struct b2b st = *base;

	b2b_update(&st, p, len);
	b2b_final(&st, out);
	return 0;
}

int
evidence_hasher_tenant(struct evidence_hasher *h, const uint8_t *value,
    size_t len, uint8_t out[EVIDENCE_HASH_LEN])
{
	int r;

	if (h->last_len != 0 && len == h->last_len &&
	    memcmp(value, h->last, len) == 0) {
		memcpy(out, h->last_hash, EVIDENCE_HASH_LEN);
		return 0;
	}
	if ((r = finish_from(&h->tenant0, value, len, out)) != 0)
		return r;
	if (len > 0 && len <= sizeof(h->last)) {
		memcpy(h->last, value, len);
		memcpy(h->last_hash, out, EVIDENCE_HASH_LEN);
		h->last_len = len;
	} else
		h->last_len = 0;
	return 0;
}

int
evidence_hasher_content(const struct evidence_hasher *h,
    const uint8_t *record, size_t len, uint8_t out[EVIDENCE_HASH_LEN])
{
	return finish_from(&h->content0, record, len, out);
}

void
evidence_hasher_content_n(const struct evidence_hasher *h,
    const uint8_t *const record[], const size_t len[],
    uint8_t *const out[], size_t n)
{
	size_t i = 0;

	/* eight, else four, share a pass where their lengths allow */
	while (i < n) {
		if (n - i >= 8 && b2b_final8(&h->content0, record + i,
		    len + i, out + i) == 0)
			i += 8;
		else if (n - i >= 4 && b2b_final4(&h->content0, record + i,
		    len + i, out + i) == 0)
			i += 4;
		else {
			(void)finish_from(&h->content0, record[i], len[i],
			    out[i]);
			i++;
		}
	}
}

void
evidence_hasher_clear(struct evidence_hasher *h)
{
	sodium_memzero(h, sizeof(*h));
}

/* A global table's leaf stands in these for the tenant hash. */
static const uint8_t zero[EVIDENCE_HASH_LEN];

/* The leaf's and node's message: tag || a || b (a NULL: zero). */
#define PAIR_MSG	(1 + 2 * EVIDENCE_HASH_LEN)

static void
pair_msg(uint8_t tag, const uint8_t *a, const uint8_t b[EVIDENCE_HASH_LEN],
    uint8_t m[PAIR_MSG])
{
	m[0] = tag;
	memcpy(m + 1, a != NULL ? a : zero, EVIDENCE_HASH_LEN);
	memcpy(m + 1 + EVIDENCE_HASH_LEN, b, EVIDENCE_HASH_LEN);
}

/* H(tag || a || b): one 65-byte message, one compression. */
static void
pair_hash(uint8_t tag, const uint8_t *a, const uint8_t b[EVIDENCE_HASH_LEN],
    uint8_t out[EVIDENCE_HASH_LEN])
{
	uint8_t m[PAIR_MSG];

	pair_msg(tag, a, b, m);
	b2b_hash(out, EVIDENCE_HASH_LEN, m, sizeof(m), NULL, 0);
}

static void
node_hash(const uint8_t l[EVIDENCE_HASH_LEN], const uint8_t r[EVIDENCE_HASH_LEN],
    uint8_t out[EVIDENCE_HASH_LEN])
{
	pair_hash(1, l, r, out);
}

void
merkle_init(struct merkle *m)
{
	memset(m, 0, sizeof(*m));
}

/* Adds the leaf h (already hashed) to the tree. */
static void
merkle_push(struct merkle *m, uint8_t h[EVIDENCE_HASH_LEN])
{
	uint64_t n;
	int i;

	/*
	 * level[i] holds the root of a complete subtree of 2^i leaves when
	 * bit i of n is set. Adding a leaf is binary increment: carry while
	 * the bit is set, merging left (older) with right (newer).
	 */
	n = m->n;
	for (i = 0; n & 1; i++, n >>= 1)
		node_hash(m->level[i], h, h);
	memcpy(m->level[i], h, EVIDENCE_HASH_LEN);
	m->n++;
}

void
merkle_add(struct merkle *m, const uint8_t *tenant_hash,
    const uint8_t content_hash[EVIDENCE_HASH_LEN])
{
	uint8_t h[EVIDENCE_HASH_LEN];

	pair_hash(0, tenant_hash, content_hash, h);
	merkle_push(m, h);
}

/* n one-block messages (65 bytes: a tag and two hashes) hashed to
 * out[]: eight, then four at a time, then one by one. */
static void
hash_pairs(const uint8_t (*msg)[PAIR_MSG], uint8_t *const out[], size_t n)
{
	const uint8_t *in[8];
	size_t i = 0, j;

	for (; i + 8 <= n; i += 8) {
		for (j = 0; j < 8; j++)
			in[j] = msg[i + j];
		b2b_hash8_block(out + i, EVIDENCE_HASH_LEN, in, sizeof(msg[0]));
	}
	for (; i + 4 <= n; i += 4) {
		for (j = 0; j < 4; j++)
			in[j] = msg[i + j];
		b2b_hash4_block(out + i, EVIDENCE_HASH_LEN, in, sizeof(msg[0]));
	}
	for (; i < n; i++)
		b2b_hash(out[i], EVIDENCE_HASH_LEN, msg[i], sizeof(msg[0]),
		    NULL, 0);
}

void
merkle_leaf_hash(const uint8_t *tenant_hash,
    const uint8_t content_hash[EVIDENCE_HASH_LEN],
    uint8_t out[EVIDENCE_HASH_LEN])
{
	pair_hash(0, tenant_hash, content_hash, out);
}

/* a[0..w) -> a[0..w/2): the nodes of adjacent pairs, eight at a time
 * (each pass reads its sixteen inputs before it writes) */
static void
reduce_level(uint8_t (*a)[EVIDENCE_HASH_LEN], size_t w)
{
	uint8_t msg[8][PAIR_MSG];
	uint8_t *out[8];
	size_t j, k, step;

	for (j = 0; j < w / 2; j += step) {
		step = w / 2 - j < 8 ? w / 2 - j : 8;
		for (k = 0; k < step; k++) {
			pair_msg(1, a[2 * (j + k)], a[2 * (j + k) + 1], msg[k]);
			out[k] = a[j + k];
		}
		hash_pairs((const uint8_t (*)[PAIR_MSG])msg, out, step);
	}
}

/* Adds the root h of a complete subtree of 2^k leaves to m, whose leaf
 * count is a multiple of 2^k: what pushing those leaves one by one ends
 * with. */
static void
merkle_push_at(struct merkle *m, uint8_t h[EVIDENCE_HASH_LEN], int k)
{
	uint64_t n = m->n >> k;
	int i;

	for (i = k; n & 1; i++, n >>= 1)
		node_hash(m->level[i], h, h);
	memcpy(m->level[i], h, EVIDENCE_HASH_LEN);
	m->n += (uint64_t)1 << k;
}

void
merkle_push_leaves(struct merkle *m, uint8_t (*h)[EVIDENCE_HASH_LEN],
    size_t n)
{
	size_t i = 0, w;
	int k;

	while (i < n) {
		/* the largest complete subtree that starts here */
		for (k = 0; k < 16 && ((size_t)2 << k) <= n - i &&
		    (m->n & (((uint64_t)2 << k) - 1)) == 0; k++)
			;
		if (k < 3) {
			merkle_push(m, h[i]);
			i++;
			continue;
		}
		for (w = (size_t)1 << k; w > 1; w /= 2)
			reduce_level(h + i, w);
		merkle_push_at(m, h[i], k);
		i += (size_t)1 << k;
	}
}

void
merkle_add_pending(struct merkle *m, const struct merkle_pending *p,
    size_t n, uint8_t (*scratch)[EVIDENCE_HASH_LEN])
{
	uint8_t msg[8][PAIR_MSG];
	uint8_t *out[8];
	size_t i, j, step;

	for (i = 0; i < n; i += step) {
		step = n - i < 8 ? n - i : 8;
		for (j = 0; j < step; j++) {
			pair_msg(0, p[i + j].has_tenant ? p[i + j].th : NULL,
			    p[i + j].ch, msg[j]);
			out[j] = scratch[i + j];
		}
		hash_pairs((const uint8_t (*)[PAIR_MSG])msg, out, step);
	}
	merkle_push_leaves(m, scratch, n);
}

void
merkle_add_file(struct merkle *m, const uint8_t tenant_hash[EVIDENCE_HASH_LEN],
    const uint8_t content_hash[EVIDENCE_HASH_LEN], uint64_t size,
    const uint8_t file_hash[EVIDENCE_HASH_LEN])
{
	uint8_t msg[1 + 3 * EVIDENCE_HASH_LEN + 8], h[EVIDENCE_HASH_LEN];
	uint8_t *p = msg;
	int i;

	*p++ = 2;	/* the leaf tag of a row that carries a file */
	memcpy(p, tenant_hash, EVIDENCE_HASH_LEN);
	p += EVIDENCE_HASH_LEN;
	memcpy(p, content_hash, EVIDENCE_HASH_LEN);
	p += EVIDENCE_HASH_LEN;
	for (i = 0; i < 8; i++)
		*p++ = (uint8_t)(size >> (56 - 8 * i));
	memcpy(p, file_hash, EVIDENCE_HASH_LEN);
	b2b_hash(h, EVIDENCE_HASH_LEN, msg, sizeof(msg), NULL, 0);
	merkle_push(m, h);
}

void
merkle_root(const struct merkle *m, uint8_t out[EVIDENCE_HASH_LEN])
{
	uint8_t h[EVIDENCE_HASH_LEN];
	int i, have = 0;

	if (m->n == 0) {
		b2b_hash(out, EVIDENCE_HASH_LEN, NULL, 0, NULL, 0);
		return;
	}
	/* Fold the complete subtrees from the smallest (rightmost) up. */
	for (i = 0; i < 64; i++) {
		if (!(m->n >> i & 1))
			continue;
		if (!have) {
			memcpy(h, m->level[i], EVIDENCE_HASH_LEN);
			have = 1;
		} else
			node_hash(m->level[i], h, h);
	}
	memcpy(out, h, EVIDENCE_HASH_LEN);
}

char *
evidence_hex(const uint8_t *p, size_t len, char *out)
{
	return sodium_bin2hex(out, 2 * len + 1, p, len);
}
