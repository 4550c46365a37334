/*
 * check_age.c: the age layer against the C2SP CCTV vectors, round trips,
 * interop with the stock age tools, and key parsing.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <zlib.h>

#include "age.h"
#include "bech32.h"
#include "buf.h"
#include "err.h"
#include "hkdf.h"
#include "testutil.h"

#define VEC_DIR "tests/testdata/age"

/* ---- in-memory sources and sinks ---- */

struct mem_rd {
	const uint8_t *p;
	size_t len, off, step;
};

static int
mem_read(void *ctx, uint8_t *p, size_t cap, size_t *got)
{
	struct mem_rd *m = ctx;
	size_t n = m->len - m->off;

	if (n > cap)
		n = cap;
	if (m->step > 0 && n > m->step)
		n = m->step;
	if (n > 0)
		memcpy(p, m->p + m->off, n);
	m->off += n;
	*got = n;
	return 0;
}

static int
buf_write(void *ctx, const uint8_t *p, size_t n)
{
	return buf_put(ctx, p, n);
}

/* ---- zlib, for the compressed vectors ----
 * The suite links only the project's pkg-config libraries, and zlib is not
 * among them; libz.so.1 is on every system, so resolve inflate at run
 * time. */

typedef int (*inflate_init_fn)(z_streamp, const char *, int);
typedef int (*inflate_fn)(z_streamp, int);
typedef int (*inflate_end_fn)(z_streamp);

static uint8_t *
zlib_decompress(const uint8_t *in, size_t len, size_t *out_len)
{
	void *h = dlopen("libz.so.1", RTLD_NOW);
	inflate_init_fn init;
	inflate_fn inf;
	inflate_end_fn end;
	z_stream zs;
	uint8_t *out = NULL;
	size_t cap = 1 << 20;
	int zr;

	ck_assert_msg(h != NULL, "cannot load libz.so.1");
	*(void **)&init = dlsym(h, "inflateInit_");
	*(void **)&inf = dlsym(h, "inflate");
	*(void **)&end = dlsym(h, "inflateEnd");
	ck_assert(init != NULL && inf != NULL && end != NULL);
	memset(&zs, 0, sizeof(zs));
	ck_assert_int_eq(init(&zs, ZLIB_VERSION, (int)sizeof(zs)), Z_OK);
	out = malloc(cap);
	ck_assert(out != NULL);
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)len;
	for (;;) {
		if (zs.total_out == cap) {
			cap *= 2;
			out = realloc(out, cap);
			ck_assert(out != NULL);
		}
		zs.next_out = out + zs.total_out;
		zs.avail_out = (uInt)(cap - zs.total_out);
		zr = inf(&zs, Z_NO_FLUSH);
		if (zr == Z_STREAM_END)
			break;
		ck_assert_msg(zr == Z_OK, "inflate failed: %d", zr);
	}
	*out_len = zs.total_out;
	end(&zs);
	dlclose(h);
	return out;
}

/* ---- vectors ---- */

#define MAX_KEYS 4

struct vec {
	char name[256];
	char expect[64];
	char payload[65];
	char identity[MAX_KEYS][128];
	size_t nidentity;
	char passphrase[MAX_KEYS][128];
	size_t npassphrase;
	int armored, compressed;
	uint8_t *raw;		/* whole file */
	const uint8_t *body;
	size_t body_len;
	uint8_t *inflated;
};

static void
vec_load(const char *name, struct vec *v)
{
	char path[512], *line, *nl, *val;
	size_t len, off = 0;

	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s", name);
	snprintf(path, sizeof(path), "%s/%s", VEC_DIR, name);
	v->raw = test_read_file(path, &len);
	for (;;) {
		ck_assert_msg(off < len, "%s: no blank line", name);
		line = (char *)v->raw + off;
		nl = memchr(line, '\n', len - off);
		ck_assert(nl != NULL);
		*nl = '\0';
		off = (size_t)(nl - (char *)v->raw) + 1;
		if (*line == '\0')
			break;
		val = strstr(line, ": ");
		ck_assert_msg(val != NULL, "%s: bad line %s", name, line);
		*val = '\0';
		val += 2;
		if (strcmp(line, "expect") == 0)
			snprintf(v->expect, sizeof(v->expect), "%s", val);
		else if (strcmp(line, "payload") == 0)
			snprintf(v->payload, sizeof(v->payload), "%s", val);
		else if (strcmp(line, "identity") == 0) {
			ck_assert(v->nidentity < MAX_KEYS);
			snprintf(v->identity[v->nidentity++], 128, "%s", val);
		} else if (strcmp(line, "passphrase") == 0) {
			ck_assert(v->npassphrase < MAX_KEYS);
			snprintf(v->passphrase[v->npassphrase++], 128, "%s",
			    val);
		} else if (strcmp(line, "armored") == 0)
			v->armored = strcmp(val, "yes") == 0;
		else if (strcmp(line, "compressed") == 0) {
			ck_assert_str_eq(val, "zlib");
			v->compressed = 1;
		}
	}
	v->body = v->raw + off;
	v->body_len = len - off;
	if (v->compressed) {
		v->inflated = zlib_decompress(v->body, v->body_len,
		    &v->body_len);
		v->body = v->inflated;
	}
}

static void
vec_free(struct vec *v)
{
	free(v->raw);
	free(v->inflated);
}

/* Recipient types we do not implement. */
static int
vec_not_applicable(const struct vec *v)
{
	size_t i;

	for (i = 0; i < v->nidentity; i++)
		if (strncmp(v->identity[i], "AGE-SECRET-KEY-PQ-", 18) == 0)
			return 1;
	return 0;
}

/* For payload failures, the exact error each vector must give. */
static int
payload_failure_code(const char *name)
{
	static const struct {
		const char *name;
		int code;
	} t[] = {
		{ "armor_garbage_encoded", ERR_AGE_TRAILING },
		{ "stream_bad_tag", ERR_AGE_PAYLOAD },
		{ "stream_bad_tag_second_chunk", ERR_AGE_PAYLOAD },
		{ "stream_bad_tag_second_chunk_full", ERR_AGE_PAYLOAD },
		{ "stream_last_chunk_empty", ERR_AGE_PAYLOAD },
		{ "stream_missing_tag", ERR_AGE_PAYLOAD },
		{ "stream_no_chunks", ERR_AGE_TRUNCATED },
		{ "stream_no_final", ERR_AGE_PAYLOAD },
		{ "stream_no_final_full", ERR_AGE_TRUNCATED },
		{ "stream_no_final_two_chunks", ERR_AGE_PAYLOAD },
		{ "stream_no_final_two_chunks_full", ERR_AGE_TRUNCATED },
		{ "stream_short_chunk", ERR_AGE_PAYLOAD },
		{ "stream_short_second_chunk", ERR_AGE_PAYLOAD },
		{ "stream_trailing_garbage_long", ERR_AGE_TRAILING },
		{ "stream_trailing_garbage_short", ERR_AGE_TRAILING },
		{ "stream_two_final_chunks", ERR_AGE_TRAILING },
		{ "stream_two_final_chunks_full", ERR_AGE_TRAILING },
		{ "stream_two_final_chunks_second", ERR_AGE_TRAILING },
		{ "stream_two_final_chunks_short", ERR_AGE_PAYLOAD },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(t[i].name, name) == 0)
			return t[i].code;
	return 1;	/* unknown: the test fails and says so */
}

static void
hex(const uint8_t *p, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* Decrypts v->body; returns the error and the hash of what was released. */
static int
vec_decrypt(const struct vec *v, size_t step, size_t rdcap, char hash[65],
    int *stage)
{
	struct age_identity *ids[2 * MAX_KEYS];
	struct mem_rd m = { v->body, v->body_len, 0, step };
	crypto_hash_sha256_state hs;
	struct age_dec *d = NULL;
	uint8_t *out, digest[32];
	size_t nids = 0, i, got;
	int r;

	out = malloc(rdcap);
	ck_assert(out != NULL);
	for (i = 0; i < v->nidentity; i++)
		ck_assert_int_eq(age_identity_parse(v->identity[i],
		    &ids[nids++]), 0);
	for (i = 0; i < v->npassphrase; i++)
		ck_assert_int_eq(age_identity_passphrase(v->passphrase[i],
		    strlen(v->passphrase[i]), 0, &ids[nids++]), 0);
	crypto_hash_sha256_init(&hs);
	*stage = 0;
	if ((r = age_dec_new(mem_read, &m, &d)) != 0)
		goto out;
	ck_assert_int_eq(age_dec_armored(d), v->armored);
	*stage = 1;
	if ((r = age_dec_unwrap(d, ids, nids)) != 0)
		goto out;
	*stage = 2;
	for (;;) {
		if ((r = age_dec_read(d, out, rdcap, &got)) != 0)
			break;
		if (got == 0)
			break;
		crypto_hash_sha256_update(&hs, out, got);
	}
 out:
	crypto_hash_sha256_final(&hs, digest);
	hex(digest, sizeof(digest), hash);
	age_dec_free(d);
	for (i = 0; i < nids; i++)
		age_identity_free(ids[i]);
	free(out);
	return r;
}

static int
expected_code(const struct vec *v)
{
	if (strcmp(v->expect, "success") == 0)
		return 0;
	if (strcmp(v->expect, "no match") == 0)
		return ERR_AGE_NO_MATCH;
	if (strcmp(v->expect, "HMAC failure") == 0)
		return ERR_AGE_HMAC;
	if (strcmp(v->expect, "header failure") == 0)
		return ERR_AGE_HEADER;
	if (strcmp(v->expect, "armor failure") == 0)
		return ERR_AGE_ARMOR;
	if (strcmp(v->expect, "payload failure") == 0)
		return payload_failure_code(v->name);
	ck_abort_msg("%s: unknown expectation '%s'", v->name, v->expect);
	return 1;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **
vec_names(size_t *n)
{
	DIR *dir = opendir(VEC_DIR);
	struct dirent *de;
	char **v = NULL;
	size_t cnt = 0;

	ck_assert_msg(dir != NULL, "no %s", VEC_DIR);
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, "LICENSE") == 0 ||
		    strcmp(de->d_name, "README.md") == 0)
			continue;
		v = realloc(v, (cnt + 1) * sizeof(*v));
		ck_assert(v != NULL);
		v[cnt++] = strdup(de->d_name);
	}
	closedir(dir);
	qsort(v, cnt, sizeof(*v), name_cmp);
	*n = cnt;
	return v;
}

START_TEST(test_vectors)
{
	/* Reader steps and read sizes: whole input with big reads (the fast
	 * path into the caller's buffer), and odd short reads both ways. */
	static const size_t steps[] = { 0, 7, 0 };
	static const size_t caps[] = { 2 * AGE_CHUNK_SIZE, 1000, 65535 };
	char **names, hash[65], na[4096] = "";
	size_t n, i, k, passed = 0, skipped = 0;
	struct vec v;
	int want, r, stage;

	names = vec_names(&n);
	ck_assert_uint_ge(n, 100);
	for (i = 0; i < n; i++) {
		vec_load(names[i], &v);
		if (vec_not_applicable(&v)) {
			/* Only the ML-KEM hybrid type is missing. */
			ck_assert_msg(strncmp(v.name, "hybrid", 6) == 0 ||
			    strcmp(v.name, "armor_hybrid") == 0,
			    "%s unexpectedly not applicable", v.name);
			strncat(na, " ", sizeof(na) - strlen(na) - 1);
			strncat(na, v.name, sizeof(na) - strlen(na) - 1);
			skipped++;
			vec_free(&v);
			continue;
		}
		want = expected_code(&v);
		ck_assert_msg(want <= 0, "%s: no expected code for '%s'",
		    v.name, v.expect);
		for (k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
			r = vec_decrypt(&v, steps[k], caps[k], hash, &stage);
			ck_assert_msg(r == want,
			    "%s (step %zu cap %zu): got %d (%s) at stage %d, "
			    "want %d (%s)", v.name, steps[k], caps[k], r,
			    err_str(r), stage, want, err_str(want));
			if (v.payload[0] != '\0' && (want == 0 || stage == 2))
				ck_assert_msg(strcmp(hash, v.payload) == 0,
				    "%s: released plaintext hash %s, want %s",
				    v.name, hash, v.payload);
			if (strcmp(v.expect, "payload failure") == 0)
				ck_assert_msg(stage == 2,
				    "%s: failed before the payload", v.name);
		}
		passed++;
		vec_free(&v);
	}
	fprintf(stderr, "age vectors: %zu checked, %zu not applicable:%s\n",
	    passed, skipped, na);
	/* Keep the skip list honest: the hybrid vectors and nothing else. */
	ck_assert_uint_le(skipped, 25);
	ck_assert_uint_ge(passed, n - skipped);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
END_TEST

/* The same vectors through age_dec_set_file_key with the given file key. */
START_TEST(test_vectors_file_key)
{
	static const char *names[] = {
		"x25519", "scrypt", "armor_x25519", "stream_two_chunks",
		"hmac_bad", "stream_bad_tag",
	};
	static const uint8_t fkey[AGE_FILE_KEY_LEN] = "YELLOW SUBMARINE";
	struct age_dec *d = NULL;
	uint8_t out[AGE_CHUNK_SIZE];
	struct mem_rd m;
	struct vec v;
	size_t i, got;
	int r;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		vec_load(names[i], &v);
		m = (struct mem_rd){ v.body, v.body_len, 0, 0 };
		ck_assert_int_eq(age_dec_new(mem_read, &m, &d), 0);
		r = age_dec_set_file_key(d, fkey);
		if (strcmp(v.expect, "HMAC failure") == 0) {
			ck_assert_int_eq(r, ERR_AGE_HMAC);
			/* No plaintext without a verified header. */
			ck_assert_int_eq(age_dec_read(d, out, sizeof(out),
			    &got), ERR_INVALID);
		} else {
			ck_assert_int_eq(r, 0);
			do {
				r = age_dec_read(d, out, sizeof(out), &got);
			} while (r == 0 && got > 0);
			ck_assert_int_eq(r, strcmp(v.expect, "success") == 0 ?
			    0 : ERR_AGE_PAYLOAD);
		}
		age_dec_free(d);
		d = NULL;
		vec_free(&v);
	}
}
END_TEST

/* ---- round trips ---- */

static void
fill_pattern(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + (i >> 8));
}

static struct buf *
encrypt_mem(struct age_recipient *const *r, size_t nr, int armor,
    const uint8_t *p, size_t n, size_t wstep)
{
	struct buf *out = buf_new(64 * 1024 * 1024);
	struct age_enc *e = NULL;
	size_t off = 0, k;

	ck_assert(out != NULL);
	ck_assert_int_eq(age_enc_new(r, nr, armor, buf_write, out, &e), 0);
	while (off < n) {
		k = wstep == 0 || n - off < wstep ? n - off : wstep;
		ck_assert_int_eq(age_enc_write(e, p + off, k), 0);
		off += k;
	}
	ck_assert_int_eq(age_enc_finish(e), 0);
	ck_assert_int_eq(age_enc_finish(e), ERR_INVALID);
	age_enc_free(e);
	return out;
}

static int
decrypt_mem(const struct buf *ct, struct age_identity *const *ids, size_t n,
    size_t rstep, size_t rdcap, struct buf **pt)
{
	struct mem_rd m = { buf_ptr(ct), buf_len(ct), 0, rstep };
	struct age_dec *d = NULL;
	uint8_t *tmp = malloc(rdcap);
	size_t got;
	int r;

	ck_assert(tmp != NULL);
	*pt = buf_new(64 * 1024 * 1024);
	ck_assert(*pt != NULL);
	if ((r = age_dec_new(mem_read, &m, &d)) != 0)
		goto out;
	if ((r = age_dec_unwrap(d, ids, n)) != 0)
		goto out;
	for (;;) {
		if ((r = age_dec_read(d, tmp, rdcap, &got)) != 0)
			goto out;
		if (got == 0)
			break;
		ck_assert_int_eq(buf_put(*pt, tmp, got), 0);
	}
 out:
	age_dec_free(d);
	free(tmp);
	return r;
}

static const size_t rt_sizes[] = {
	0, 1, 65535, 65536, 65537, 3 * 65536, 3 * 65536 + 100
};

START_TEST(test_roundtrip_x25519)
{
	struct age_identity *id = NULL, *other = NULL;
	struct age_recipient *rc = NULL;
	struct buf *ct, *pt;
	char *rs = NULL;
	size_t max = 3 * 65536 + 100, i;
	uint8_t *msg = malloc(max);
	int armor;

	ck_assert(msg != NULL);
	fill_pattern(msg, max);
	ck_assert_int_eq(age_identity_generate(&id), 0);
	ck_assert_int_eq(age_identity_generate(&other), 0);
	ck_assert_int_eq(age_identity_recipient(id, &rs), 0);
	ck_assert_int_eq(age_recipient_parse(rs, &rc), 0);
	for (armor = 0; armor <= 1; armor++) {
		for (i = 0; i < sizeof(rt_sizes) / sizeof(rt_sizes[0]); i++) {
			ct = encrypt_mem(&rc, 1, armor, msg, rt_sizes[i],
			    i % 2 ? 1000 : 0);
			ck_assert_int_eq(decrypt_mem(ct, &id, 1, 0,
			    AGE_CHUNK_SIZE, &pt), 0);
			ck_assert_uint_eq(buf_len(pt), rt_sizes[i]);
			ck_assert(memcmp(buf_ptr(pt), msg, rt_sizes[i]) == 0);
			buf_free(pt);
			ck_assert_int_eq(decrypt_mem(ct, &id, 1, 13, 333, &pt),
			    0);
			ck_assert_uint_eq(buf_len(pt), rt_sizes[i]);
			ck_assert(memcmp(buf_ptr(pt), msg, rt_sizes[i]) == 0);
			buf_free(pt);
			ck_assert_int_eq(decrypt_mem(ct, &other, 1, 0, 4096,
			    &pt), ERR_AGE_NO_MATCH);
			buf_free(pt);
			buf_free(ct);
		}
	}
	free(rs);
	age_recipient_free(rc);
	age_identity_free(id);
	age_identity_free(other);
	free(msg);
}
END_TEST

START_TEST(test_roundtrip_sizes_exact)
{
	struct age_identity *id = NULL;
	struct age_recipient *rc = NULL;
	struct buf *ct, *hdr;
	uint8_t *msg = calloc(1, 3 * 65536 + 1);
	uint8_t key[AGE_FILE_KEY_LEN];
	char *rs = NULL;
	size_t i, chunks, hlen;

	ck_assert(msg != NULL);
	ck_assert_int_eq(age_identity_generate(&id), 0);
	ck_assert_int_eq(age_identity_recipient(id, &rs), 0);
	ck_assert_int_eq(age_recipient_parse(rs, &rc), 0);
	hdr = buf_new(AGE_HEADER_MAX);
	ck_assert_int_eq(age_file_key_generate(key), 0);
	ck_assert_int_eq(age_header_write(&rc, 1, key, hdr), 0);
	hlen = buf_len(hdr);
	for (i = 0; i < 6; i++) {
		ct = encrypt_mem(&rc, 1, 0, msg, rt_sizes[i], 0);
		chunks = rt_sizes[i] == 0 ? 1 :
		    (rt_sizes[i] + AGE_CHUNK_SIZE - 1) / AGE_CHUNK_SIZE;
		/* A fresh header has the same length as any other X25519
		 * header; the payload is nonce + data + one tag per chunk,
		 * so a 64 KiB file is one full final chunk, not two. */
		ck_assert_uint_eq(buf_len(ct), hlen + AGE_NONCE_LEN +
		    rt_sizes[i] + chunks * AGE_TAG_LEN);
		buf_free(ct);
	}
	buf_free(hdr);
	free(rs);
	free(msg);
	age_recipient_free(rc);
	age_identity_free(id);
}
END_TEST

START_TEST(test_roundtrip_passphrase)
{
	struct age_identity *id = NULL, *wrong = NULL, *low = NULL;
	struct age_recipient *rc = NULL, *x = NULL, *both[2];
	struct age_identity *xid = NULL;
	struct buf *ct, *pt, *out;
	struct age_enc *e = NULL;
	char *rs = NULL;
	uint8_t msg[70000];
	int armor;

	fill_pattern(msg, sizeof(msg));
	ck_assert_int_eq(age_recipient_passphrase("hunter2", 7, 10, &rc), 0);
	ck_assert_int_eq(age_identity_passphrase("hunter2", 7, 0, &id), 0);
	ck_assert_int_eq(age_identity_passphrase("hunter3", 7, 0, &wrong), 0);
	ck_assert_int_eq(age_identity_passphrase("hunter2", 7, 9, &low), 0);
	for (armor = 0; armor <= 1; armor++) {
		ct = encrypt_mem(&rc, 1, armor, msg, sizeof(msg), 0);
		ck_assert_int_eq(decrypt_mem(ct, &id, 1, 0, 65536, &pt), 0);
		ck_assert_uint_eq(buf_len(pt), sizeof(msg));
		ck_assert(memcmp(buf_ptr(pt), msg, sizeof(msg)) == 0);
		buf_free(pt);
		ck_assert_int_eq(decrypt_mem(ct, &wrong, 1, 0, 65536, &pt),
		    ERR_AGE_NO_MATCH);
		buf_free(pt);
		/* Work factor 10 is above a cap of 9. */
		ck_assert_int_eq(decrypt_mem(ct, &low, 1, 0, 65536, &pt),
		    ERR_AGE_HEADER);
		buf_free(pt);
		buf_free(ct);
	}
	/* scrypt must be alone. */
	ck_assert_int_eq(age_identity_generate(&xid), 0);
	ck_assert_int_eq(age_identity_recipient(xid, &rs), 0);
	ck_assert_int_eq(age_recipient_parse(rs, &x), 0);
	both[0] = x;
	both[1] = rc;
	out = buf_new(1 << 20);
	ck_assert_int_eq(age_enc_new(both, 2, 0, buf_write, out, &e),
	    ERR_INVALID);
	ck_assert_ptr_null(e);
	ck_assert_int_eq(age_recipient_passphrase("", 0, 10, &x), ERR_INVALID);
	ck_assert_int_eq(age_recipient_passphrase("a", 1, 31, &x), ERR_INVALID);
	ck_assert_int_eq(age_identity_passphrase("a", 1, 31, &wrong),
	    ERR_INVALID);
	buf_free(out);
	free(rs);
	age_recipient_free(both[0]);
	age_recipient_free(rc);
	age_identity_free(xid);
	age_identity_free(id);
	age_identity_free(wrong);
	age_identity_free(low);
}
END_TEST

/* Monitor writes the header, someone else the payload: one valid file. */
START_TEST(test_split_header_payload)
{
	struct age_identity *id = NULL;
	struct age_recipient *rc = NULL;
	struct age_enc *e = NULL;
	struct buf *file, *pt;
	uint8_t key[AGE_FILE_KEY_LEN], msg[100000];
	char *rs = NULL;

	fill_pattern(msg, sizeof(msg));
	ck_assert_int_eq(age_identity_generate(&id), 0);
	ck_assert_int_eq(age_identity_recipient(id, &rs), 0);
	ck_assert_int_eq(age_recipient_parse(rs, &rc), 0);
	ck_assert_int_eq(age_file_key_generate(key), 0);
	file = buf_new(1 << 20);
	ck_assert_int_eq(age_header_write(&rc, 1, key, file), 0);
	ck_assert_int_eq(age_enc_new_payload(key, buf_write, file, &e), 0);
	ck_assert_int_eq(age_enc_write(e, msg, sizeof(msg)), 0);
	ck_assert_int_eq(age_enc_finish(e), 0);
	age_enc_free(e);
	ck_assert_int_eq(decrypt_mem(file, &id, 1, 0, 65536, &pt), 0);
	ck_assert_uint_eq(buf_len(pt), sizeof(msg));
	ck_assert(memcmp(buf_ptr(pt), msg, sizeof(msg)) == 0);
	buf_free(pt);
	buf_free(file);
	free(rs);
	age_recipient_free(rc);
	age_identity_free(id);
}
END_TEST

/* Damage a good file one way at a time and check the exact error. */
START_TEST(test_corruption)
{
	struct age_identity *id = NULL;
	struct age_recipient *rc = NULL;
	struct buf *ct, *pt, *bad;
	uint8_t msg[3 * 65536 + 5];
	char *rs = NULL;
	size_t len, hlen;
	const uint8_t *p;

	fill_pattern(msg, sizeof(msg));
	ck_assert_int_eq(age_identity_generate(&id), 0);
	ck_assert_int_eq(age_identity_recipient(id, &rs), 0);
	ck_assert_int_eq(age_recipient_parse(rs, &rc), 0);
	ct = encrypt_mem(&rc, 1, 0, msg, sizeof(msg), 0);
	p = buf_ptr(ct);
	len = buf_len(ct);
	hlen = len - AGE_NONCE_LEN - sizeof(msg) - 4 * AGE_TAG_LEN;

#define TRY(mut, want) do {						\
	bad = buf_new(len + 100);					\
	ck_assert_int_eq(buf_put(bad, p, len), 0);			\
	mut;								\
	ck_assert_int_eq(decrypt_mem(bad, &id, 1, 0, 65536, &pt), want); \
	buf_free(pt);							\
	buf_free(bad);							\
} while (0)
	uint8_t *w;
	/* Flip a MAC character. */
	TRY((w = (uint8_t *)(uintptr_t)buf_ptr(bad),
	    w[hlen - 3] = w[hlen - 3] == 'A' ? 'B' : 'A'), ERR_AGE_HMAC);
	/* Flip a payload byte in the second chunk. */
	TRY((w = (uint8_t *)(uintptr_t)buf_ptr(bad),
	    w[hlen + 16 + 65552 + 10] ^= 1), ERR_AGE_PAYLOAD);
	/* Drop the final chunk: truncated after a full chunk. */
	TRY(buf_unput(bad, 5 + AGE_TAG_LEN), ERR_AGE_TRUNCATED);
	/* Drop part of the final chunk. */
	TRY(buf_unput(bad, 2), ERR_AGE_PAYLOAD);
	/* Append a byte. */
	TRY(buf_put_u8(bad, 0), ERR_AGE_PAYLOAD);
	/* Nonce cut short. */
	TRY(buf_unput(bad, len - hlen - 5), ERR_AGE_HEADER);
	/* Swap the second and third chunks. */
	TRY((w = (uint8_t *)(uintptr_t)buf_ptr(bad),
	    memcpy(w + hlen + 16 + 65552, p + hlen + 16 + 2 * 65552, 65552),
	    memcpy(w + hlen + 16 + 2 * 65552, p + hlen + 16 + 65552, 65552)),
	    ERR_AGE_PAYLOAD);
#undef TRY
	buf_free(ct);
	free(rs);
	age_recipient_free(rc);
	age_identity_free(id);
}
END_TEST

/* A final full chunk with garbage after it: data released, then
 * ERR_AGE_TRAILING, and the error is sticky. */
START_TEST(test_trailing_after_full_final)
{
	struct age_identity *id = NULL;
	struct age_recipient *rc = NULL;
	struct age_dec *d = NULL;
	struct buf *ct;
	struct mem_rd m;
	uint8_t msg[65536], out[65536];
	char *rs = NULL;
	size_t got;

	fill_pattern(msg, sizeof(msg));
	ck_assert_int_eq(age_identity_generate(&id), 0);
	ck_assert_int_eq(age_identity_recipient(id, &rs), 0);
	ck_assert_int_eq(age_recipient_parse(rs, &rc), 0);
	ct = encrypt_mem(&rc, 1, 0, msg, sizeof(msg), 0);
	ck_assert_int_eq(buf_put_str(ct, "x"), 0);
	m = (struct mem_rd){ buf_ptr(ct), buf_len(ct), 0, 0 };
	ck_assert_int_eq(age_dec_new(mem_read, &m, &d), 0);
	ck_assert_int_eq(age_dec_stanza_count(d), 1);
	ck_assert_str_eq(age_dec_stanza_type(d, 0), "X25519");
	ck_assert_ptr_null(age_dec_stanza_type(d, 1));
	ck_assert_int_eq(age_dec_read(d, out, sizeof(out), &got), ERR_INVALID);
	ck_assert_int_eq(age_dec_unwrap(d, &id, 1), 0);
	ck_assert_int_eq(age_dec_read(d, out, sizeof(out), &got), 0);
	ck_assert_uint_eq(got, sizeof(msg));
	ck_assert_int_eq(age_dec_read(d, out, sizeof(out), &got),
	    ERR_AGE_TRAILING);
	ck_assert_uint_eq(got, 0);
	ck_assert_int_eq(age_dec_read(d, out, sizeof(out), &got),
	    ERR_AGE_TRAILING);
	age_dec_free(d);
	buf_free(ct);
	free(rs);
	age_recipient_free(rc);
	age_identity_free(id);
}
END_TEST

/* ---- keys ---- */

START_TEST(test_key_parse)
{
	/* From the age spec. */
	static const char *good_id =
	    "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX";
	static const char *good_rc =
	    "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj";
	static const char *bad_ids[] = {
		/* bad checksum */
		"AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEY",
		/* lowercase (age writes identities in uppercase) */
		"age-secret-key-1gfpyysjzgfpyysjzgfpyysjzgfpyysjzgfpyysjzgfpyysjzgfpq4egaex",
		/* mixed case */
		"AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEx",
		/* recipient given as identity: wrong HRP */
		"age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj",
		/* PQ identity: other HRP */
		"AGE-SECRET-KEY-PQ-1HZLGZUPT4ETPKDEV8HSGFDCYZ4E522W0A7PU2LHT8EH9W6YLNC3SW78XKG",
		"", "AGE-SECRET-KEY-1", " AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX",
	};
	static const char *bad_rcs[] = {
		"age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwq",
		"AGE1ZVKYG2LQZRAA2LNJVQEJ32NKUU0UES2S82HZRYE869XEEXVN73EQUNUJWJ",
		"age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwJ",
		"age1pq1x34nzsvr0rxjsgdn8zgyhfe8j7ceq5r9rdelkjuh3y235jzxshfg87pzf5",
		"age1tag1qt8lw0ual6avlwmwatk888yqnmdamm7xfd0wak53ut6elz5c4swx2yqdj4e",
		"", "age1", "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj ",
	};
	struct age_identity *id = NULL;
	struct age_recipient *rc = NULL;
	char *s = NULL, *enc = NULL, buf2[128];
	uint8_t data[33];
	size_t i;

	ck_assert_int_eq(age_identity_parse(good_id, &id), 0);
	ck_assert_int_eq(age_identity_encode(id, &enc), 0);
	ck_assert_str_eq(enc, good_id);
	sodium_free(enc);
	ck_assert_int_eq(age_identity_recipient(id, &s), 0);
	ck_assert_str_eq(s, good_rc);
	free(s);
	age_identity_free(id);
	ck_assert_int_eq(age_recipient_parse(good_rc, &rc), 0);
	age_recipient_free(rc);
	for (i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		id = (struct age_identity *)1;
		ck_assert_msg(age_identity_parse(bad_ids[i], &id) == ERR_KEY,
		    "identity %zu accepted", i);
		ck_assert_ptr_null(id);
	}
	for (i = 0; i < sizeof(bad_rcs) / sizeof(bad_rcs[0]); i++) {
		rc = (struct age_recipient *)1;
		ck_assert_msg(age_recipient_parse(bad_rcs[i], &rc) == ERR_KEY,
		    "recipient %zu accepted", i);
		ck_assert_ptr_null(rc);
	}
	/* Wrong length with a valid checksum: 31 and 33 bytes. */
	memset(data, 7, sizeof(data));
	ck_assert_int_eq(bech32_encode(buf2, sizeof(buf2), "age", data, 31, 0),
	    0);
	ck_assert_int_eq(age_recipient_parse(buf2, &rc), ERR_KEY);
	ck_assert_int_eq(bech32_encode(buf2, sizeof(buf2), "age", data, 33, 0),
	    0);
	ck_assert_int_eq(age_recipient_parse(buf2, &rc), ERR_KEY);
	ck_assert_int_eq(bech32_encode(buf2, sizeof(buf2), "AGE-SECRET-KEY-",
	    data, 33, 1), 0);
	ck_assert_int_eq(age_identity_parse(buf2, &id), ERR_KEY);
	ck_assert_int_eq(bech32_encode(buf2, sizeof(buf2), "AGE-SECRET-KEY-",
	    data, 32, 1), 0);
	ck_assert_int_eq(age_identity_parse(buf2, &id), 0);
	age_identity_free(id);
	/* A passphrase identity has no key encoding. */
	ck_assert_int_eq(age_identity_passphrase("x", 1, 0, &id), 0);
	ck_assert_int_eq(age_identity_encode(id, &enc), ERR_INVALID);
	ck_assert_int_eq(age_identity_recipient(id, &s), ERR_INVALID);
	age_identity_free(id);
}
END_TEST

START_TEST(test_identities_file)
{
	char *dir = test_mkdtemp(), path[512], *enc1 = NULL, *enc2 = NULL;
	struct age_identity *a = NULL, *b = NULL, **ids = NULL;
	char content[1024];
	size_t n = 0;

	ck_assert_int_eq(age_identity_generate(&a), 0);
	ck_assert_int_eq(age_identity_generate(&b), 0);
	ck_assert_int_eq(age_identity_encode(a, &enc1), 0);
	ck_assert_int_eq(age_identity_encode(b, &enc2), 0);
	snprintf(path, sizeof(path), "%s/keys.txt", dir);
	snprintf(content, sizeof(content),
	    "# created: now\n# public key: age1...\n\n%s\r\n%s", enc1, enc2);
	test_write_file(path, content, strlen(content));
	ck_assert_int_eq(age_identities_load(path, &ids, &n), 0);
	ck_assert_uint_eq(n, 2);
	age_identities_free(ids, n);
	/* Group-readable: refused. */
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_eq(age_identities_load(path, &ids, &n), ERR_PERM);
	ck_assert_int_eq(chmod(path, 0600), 0);
	/* Symlink: refused (O_NOFOLLOW). */
	snprintf(content, sizeof(content), "%s/link", dir);
	ck_assert_int_eq(symlink(path, content), 0);
	ck_assert_int_eq(age_identities_load(content, &ids, &n), ERR_PERM);
	/* Missing. */
	snprintf(content, sizeof(content), "%s/none", dir);
	ck_assert_int_eq(age_identities_load(content, &ids, &n), ERR_NOENT);
	/* Garbage line. */
	snprintf(content, sizeof(content), "%s\nnot a key\n", enc1);
	test_write_file(path, content, strlen(content));
	ck_assert_int_eq(age_identities_load(path, &ids, &n), ERR_KEY);
	ck_assert_ptr_null(ids);
	/* Only comments. */
	test_write_file(path, "# nothing\n", 10);
	ck_assert_int_eq(age_identities_load(path, &ids, &n), ERR_KEY);
	sodium_free(enc1);
	sodium_free(enc2);
	age_identity_free(a);
	age_identity_free(b);
	test_rmtree(dir);
	free(dir);
}
END_TEST

/* ---- interop with the stock tools ---- */

static int
have_tool(const char *name)
{
	char *const argv[] = { (char *)name, "--version", NULL };

	return test_run(argv, NULL, "/dev/null") == 0;
}

static int
file_read(void *ctx, uint8_t *p, size_t cap, size_t *got)
{
	ssize_t n = read(*(int *)ctx, p, cap);

	if (n < 0)
		return ERR_IO;
	*got = (size_t)n;
	return 0;
}

static int
decrypt_file(const char *path, struct age_identity *const *ids, size_t n,
    struct buf **pt)
{
	struct buf *ct;
	uint8_t *raw;
	size_t len;
	int r;

	raw = test_read_file(path, &len);
	ct = buf_from(raw, len);
	r = decrypt_mem(ct, ids, n, 0, AGE_CHUNK_SIZE, pt);
	buf_free(ct);
	free(raw);
	return r;
}

START_TEST(test_interop_age)
{
	char *dir, p_key[512], p_ct[512], p_pt[512], p_out[512], p_pub[512];
	struct age_identity *id = NULL, **ids = NULL;
	struct age_recipient *rc = NULL;
	char *enc = NULL, *rs = NULL;
	struct buf *ct, *pt;
	uint8_t *got, msg[200000];
	size_t n = 0, len;
	int armor, fd;

	if (!have_tool("age") || !have_tool("age-keygen")) {
		fprintf(stderr, "age tools missing: interop skipped\n");
		return;
	}
	dir = test_mkdtemp();
	fill_pattern(msg, sizeof(msg));
	snprintf(p_key, sizeof(p_key), "%s/key", dir);
	snprintf(p_ct, sizeof(p_ct), "%s/ct", dir);
	snprintf(p_pt, sizeof(p_pt), "%s/pt", dir);
	snprintf(p_out, sizeof(p_out), "%s/out", dir);
	snprintf(p_pub, sizeof(p_pub), "%s/pub", dir);
	test_write_file(p_pt, msg, sizeof(msg));

	/* Our identity and our encryption; age decrypts. */
	ck_assert_int_eq(age_identity_generate(&id), 0);
	ck_assert_int_eq(age_identity_encode(id, &enc), 0);
	ck_assert_int_eq(age_identity_recipient(id, &rs), 0);
	test_write_file(p_key, enc, strlen(enc));
	ck_assert_int_eq(age_recipient_parse(rs, &rc), 0);
	for (armor = 0; armor <= 1; armor++) {
		ct = encrypt_mem(&rc, 1, armor, msg, sizeof(msg), 0);
		test_write_file(p_ct, buf_ptr(ct), buf_len(ct));
		buf_free(ct);
		{
			char *const argv[] = { "age", "-d", "-i", p_key,
			    "-o", p_out, p_ct, NULL };
			ck_assert_int_eq(test_run(argv, NULL, NULL), 0);
		}
		got = test_read_file(p_out, &len);
		ck_assert_uint_eq(len, sizeof(msg));
		ck_assert(memcmp(got, msg, len) == 0);
		free(got);
		unlink(p_out);
	}
	/* age encrypts to our recipient; we decrypt, binary and armored. */
	for (armor = 0; armor <= 1; armor++) {
		char *const argv[] = { "age", "-r", rs, "-o", p_ct,
		    armor ? "-a" : p_pt, armor ? p_pt : NULL, NULL };
		unlink(p_ct);
		ck_assert_int_eq(test_run(argv, NULL, NULL), 0);
		ck_assert_int_eq(decrypt_file(p_ct, &id, 1, &pt), 0);
		ck_assert_uint_eq(buf_len(pt), sizeof(msg));
		ck_assert(memcmp(buf_ptr(pt), msg, sizeof(msg)) == 0);
		buf_free(pt);
	}
	/* Streaming from a file descriptor, as the verifier will. */
	{
		struct age_dec *d = NULL;
		uint8_t out[AGE_CHUNK_SIZE];
		size_t tot = 0, g;

		fd = open(p_ct, O_RDONLY);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(age_dec_new(file_read, &fd, &d), 0);
		ck_assert_int_eq(age_dec_armored(d), 1);
		ck_assert_int_eq(age_dec_unwrap(d, &id, 1), 0);
		do {
			ck_assert_int_eq(age_dec_read(d, out, sizeof(out), &g),
			    0);
			ck_assert(tot + g <= sizeof(msg));
			ck_assert(memcmp(out, msg + tot, g) == 0);
			tot += g;
		} while (g > 0);
		ck_assert_uint_eq(tot, sizeof(msg));
		age_dec_free(d);
		close(fd);
	}
	sodium_free(enc);
	free(rs);
	rs = NULL;
	age_recipient_free(rc);
	age_identity_free(id);

	/* age-keygen's key file loads; its recipient matches ours. */
	unlink(p_key);
	{
		char *const argv[] = { "age-keygen", "-o", p_key, NULL };
		ck_assert_int_eq(test_run(argv, NULL, NULL), 0);
	}
	{
		char *const argv[] = { "age-keygen", "-y", p_key, NULL };
		ck_assert_int_eq(test_run(argv, NULL, p_pub), 0);
	}
	ck_assert_int_eq(age_identities_load(p_key, &ids, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(age_identity_recipient(ids[0], &rs), 0);
	got = test_read_file(p_pub, &len);
	ck_assert_uint_eq(len, strlen(rs) + 1);
	ck_assert(memcmp(got, rs, strlen(rs)) == 0);
	free(got);
	/* ... and files age encrypts to it with -R decrypt here. */
	{
		char *const argv[] = { "age", "-R", p_pub, "-o", p_ct, p_pt,
		    NULL };
		unlink(p_ct);
		ck_assert_int_eq(test_run(argv, NULL, NULL), 0);
	}
	ck_assert_int_eq(decrypt_file(p_ct, ids, n, &pt), 0);
	ck_assert_uint_eq(buf_len(pt), sizeof(msg));
	buf_free(pt);
	/* Our encryption to an age-keygen recipient decrypts with age. */
	ck_assert_int_eq(age_recipient_parse(rs, &rc), 0);
	ct = encrypt_mem(&rc, 1, 0, msg, 0, 0);
	test_write_file(p_ct, buf_ptr(ct), buf_len(ct));
	buf_free(ct);
	{
		/* age creates -o lazily, so capture stdout instead. */
		char *const argv[] = { "age", "-d", "-i", p_key, p_ct, NULL };
		ck_assert_int_eq(test_run(argv, NULL, p_out), 0);
	}
	got = test_read_file(p_out, &len);
	ck_assert_uint_eq(len, 0);
	free(got);
	free(rs);
	age_recipient_free(rc);
	age_identities_free(ids, n);
	test_rmtree(dir);
	free(dir);
}
END_TEST

/* ---- HKDF (RFC 5869 test cases 1 and 3) ---- */

START_TEST(test_hkdf_rfc5869)
{
	static const char okm1[] = "3cb25f25faacd57a90434f64d0362f2a2d2d0a90"
	    "cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865";
	static const char okm3[] = "8da4e775a563c18f715f802a063c5a31b8a11f5c"
	    "5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8";
	uint8_t ikm[22], salt[13], info[10], okm[42];
	char h[85];
	size_t i;

	memset(ikm, 0x0b, sizeof(ikm));
	for (i = 0; i < sizeof(salt); i++)
		salt[i] = (uint8_t)i;
	for (i = 0; i < sizeof(info); i++)
		info[i] = (uint8_t)(0xf0 + i);
	ck_assert_int_eq(hkdf_sha256(okm, sizeof(okm), ikm, sizeof(ikm), salt,
	    sizeof(salt), info, sizeof(info)), 0);
	hex(okm, sizeof(okm), h);
	ck_assert_str_eq(h, okm1);
	ck_assert_int_eq(hkdf_sha256(okm, sizeof(okm), ikm, sizeof(ikm), NULL,
	    0, NULL, 0), 0);
	hex(okm, sizeof(okm), h);
	ck_assert_str_eq(h, okm3);
	ck_assert_int_eq(hkdf_sha256(okm, 255 * 32 + 1, ikm, sizeof(ikm),
	    NULL, 0, NULL, 0), ERR_INVALID);
}
END_TEST

static Suite *
age_suite(void)
{
	Suite *s = suite_create("age");
	TCase *tc = tcase_create("age");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_hkdf_rfc5869);
	tcase_add_test(tc, test_vectors);
	tcase_add_test(tc, test_vectors_file_key);
	tcase_add_test(tc, test_roundtrip_x25519);
	tcase_add_test(tc, test_roundtrip_sizes_exact);
	tcase_add_test(tc, test_roundtrip_passphrase);
	tcase_add_test(tc, test_split_header_payload);
	tcase_add_test(tc, test_corruption);
	tcase_add_test(tc, test_trailing_after_full_final);
	tcase_add_test(tc, test_key_parse);
	tcase_add_test(tc, test_identities_file);
	tcase_add_test(tc, test_interop_age);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return test_run_suite(age_suite());
}
