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
	b2b_final_n(&h->content0, record, len, out, n);
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

/* h, the root of a complete subtree of 2^MERKLE_QLEVELS leaves, added
 * above the queues: binary increment, carrying while the bit is set and
 * merging left (older) with right (newer). */
static void
push_high(struct merkle *m, const uint8_t h[EVIDENCE_HASH_LEN])
{
	uint8_t c[EVIDENCE_HASH_LEN];
	uint64_t n = m->nc;
	int i;

	memcpy(c, h, sizeof(c));
	for (i = MERKLE_QLEVELS; n & 1; i++, n >>= 1)
		node_hash(m->level[i], c, c);
	memcpy(m->level[i], c, sizeof(c));
	m->nc++;
}

static void up(struct merkle *m, int i, const uint8_t h[EVIDENCE_HASH_LEN]);

/* The first 2k roots of queue i, paired in order (eight nodes a pass):
 * k roots of the level above; the rest move to the front. */
static void
reduce_queue(struct merkle *m, int i, size_t k)
{
	uint8_t msg[8][PAIR_MSG], h[8][EVIDENCE_HASH_LEN];
	uint8_t *out[8];
	size_t j, x, step, rest;

	for (j = 0; j < k; j += step) {
		step = k - j < 8 ? k - j : 8;
		for (x = 0; x < step; x++) {
			pair_msg(1, m->q[i][2 * (j + x)], m->q[i][2 * (j + x) + 1],
			    msg[x]);
			out[x] = h[x];
		}
		hash_pairs((const uint8_t (*)[PAIR_MSG])msg, out, step);
		for (x = 0; x < step; x++)
			up(m, i + 1, h[x]);
	}
	rest = m->qn[i] - 2 * k;
	memmove(m->q[i][0], m->q[i][2 * k], rest * EVIDENCE_HASH_LEN);
	m->qn[i] = (uint8_t)rest;
}

/* h, the root of a complete subtree of 2^i leaves, after those before
 * it: into queue i, whose sixteen roots become eight of the level above
 * in one pass, or above the queues. */
static void
up(struct merkle *m, int i, const uint8_t h[EVIDENCE_HASH_LEN])
{
	if (i >= MERKLE_QLEVELS) {
		push_high(m, h);
		return;
	}
	memcpy(m->q[i][m->qn[i]++], h, EVIDENCE_HASH_LEN);
	if (m->qn[i] == MERKLE_QLEN)
		reduce_queue(m, i, MERKLE_QLEN / 2);
}

void
merkle_add(struct merkle *m, const uint8_t *tenant_hash,
    const uint8_t content_hash[EVIDENCE_HASH_LEN])
{
	uint8_t h[EVIDENCE_HASH_LEN];

	pair_hash(0, tenant_hash, content_hash, h);
	merkle_push_leaves(m, &h, 1);
}

void
merkle_leaf_hash(const uint8_t *tenant_hash,
    const uint8_t content_hash[EVIDENCE_HASH_LEN],
    uint8_t out[EVIDENCE_HASH_LEN])
{
	pair_hash(0, tenant_hash, content_hash, out);
}

void
merkle_push_leaves(struct merkle *m, uint8_t (*h)[EVIDENCE_HASH_LEN],
    size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		up(m, 0, h[i]);
	m->n += n;
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
	merkle_push_leaves(m, &h, 1);
}

void
merkle_root(const struct merkle *m, uint8_t out[EVIDENCE_HASH_LEN])
{
	struct merkle t = *m;
	uint8_t h[EVIDENCE_HASH_LEN];
	int i, have = 0;

	if (t.n == 0) {
		b2b_hash(out, EVIDENCE_HASH_LEN, NULL, 0, NULL, 0);
		return;
	}
	/* Pair what waits in the queues, lowest first: at most one root is
	 * left on each level, the one of bit i of the leaf count. */
	for (i = 0; i < MERKLE_QLEVELS; i++)
		reduce_queue(&t, i, t.qn[i] / 2);
	/* Fold the complete subtrees from the smallest (rightmost) up. */
	for (i = 0; i < 64; i++) {
		const uint8_t *r;

		if (i < MERKLE_QLEVELS) {
			if (t.qn[i] == 0)
				continue;
			r = t.q[i][0];
		} else if (!(t.nc >> (i - MERKLE_QLEVELS) & 1))
			continue;
		else
			r = t.level[i];
		if (!have) {
			memcpy(h, r, EVIDENCE_HASH_LEN);
			have = 1;
		} else
			node_hash(r, h, h);
	}
	memcpy(out, h, EVIDENCE_HASH_LEN);
}

char *
evidence_hex(const uint8_t *p, size_t len, char *out)
{
	return sodium_bin2hex(out, 2 * len + 1, p, len);
}
