#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "minisig.h"
#include "testutil.h"

/* Fast scrypt cost for keys these tests encrypt themselves. */
#define TEST_OPS	crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_MIN
#define TEST_MEM	crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_MIN

static void
prehash_of(const char *msg, uint8_t out[MINISIG_PREHASH_LEN])
{
	struct minisig_hash *h = minisig_hash_new();

	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq(minisig_hash_update(h, (const uint8_t *)msg,
	    strlen(msg)), 0);
	ck_assert_int_eq(minisig_hash_final(h, out), 0);
	minisig_hash_free(h);
}

/* Signs msg with a fresh key; the caller frees all three. */
static struct buf *
sign_fresh(const char *msg, const char *tc, struct minisig_seckey **skp,
    struct minisig_pubkey **pkp)
{
	uint8_t ph[MINISIG_PREHASH_LEN];
	struct buf *sig = buf_new(8192);

	ck_assert_ptr_nonnull(sig);
	ck_assert_int_eq(minisig_keygen(NULL, 0, skp, pkp), 0);
	prehash_of(msg, ph);
	ck_assert_int_eq(minisig_sign(*skp, ph, NULL, tc, sig), 0);
	return sig;
}

static int
verify_text(const struct minisig_pubkey *pk, const char *msg,
    const char *sigtext, char **tc)
{
	uint8_t ph[MINISIG_PREHASH_LEN];

	prehash_of(msg, ph);
	return minisig_verify(pk, ph, (const uint8_t *)sigtext,
	    strlen(sigtext), tc);
}

/* The signature file as 4 NUL-terminated lines (newlines removed). */
struct lines {
	char l[4][2048];
};

static void
split4(const struct buf *b, struct lines *ls)
{
	const char *p = (const char *)buf_ptr(b);
	size_t left = buf_len(b), i, n;
	const char *nl;

	memset(ls, 0, sizeof(*ls));
	for (i = 0; i < 4; i++) {
		nl = memchr(p, '\n', left);
		ck_assert_ptr_nonnull(nl);
		n = (size_t)(nl - p);
		ck_assert_uint_lt(n, sizeof(ls->l[i]));
		memcpy(ls->l[i], p, n);
		p = nl + 1;
		left -= n + 1;
	}
	ck_assert_uint_eq(left, 0);
}

static char *
join4(const struct lines *ls)
{
	char *s = malloc(4 * 2048 + 8);

	ck_assert_ptr_nonnull(s);
	snprintf(s, 4 * 2048 + 8, "%s\n%s\n%s\n%s\n", ls->l[0], ls->l[1],
	    ls->l[2], ls->l[3]);
	return s;
}

static size_t
b64dec(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;

	ck_assert_int_eq(sodium_base642bin(out, max, s, strcspn(s, "\n"), NULL, &n,
	    NULL, sodium_base64_VARIANT_ORIGINAL), 0);
	return n;
}

static void
b64enc(const uint8_t *p, size_t n, char *out, size_t max)
{
	ck_assert_uint_le(sodium_base64_ENCODED_LEN(n,
	    sodium_base64_VARIANT_ORIGINAL), max);
	sodium_bin2base64(out, max, p, n, sodium_base64_VARIANT_ORIGINAL);
}

/* XORs x into byte off of the base64-encoded line. */
static void
damage_b64_line(char *line, size_t off, uint8_t x)
{
	uint8_t bin[1024];
	size_t n = b64dec(line, bin, sizeof(bin));

	ck_assert_uint_lt(off, n);
	bin[off] ^= x;
	b64enc(bin, n, line, 2048);
}

static char *
buf_cstr(const struct buf *b)
{
	char *s = malloc(buf_len(b) + 1);

	ck_assert_ptr_nonnull(s);
	memcpy(s, buf_ptr(b), buf_len(b));
	s[buf_len(b)] = '\0';
	return s;
}

static char *
path_in(const char *dir, const char *name)
{
	char *p = NULL;

	ck_assert_int_gt(asprintf(&p, "%s/%s", dir, name), 0);
	return p;
}

START_TEST(test_roundtrip)
{
	struct minisig_seckey *sk;
	struct minisig_pubkey *pk, *pk2, *pk3;
	struct buf *sig = sign_fresh("hello\n", "tenant:a export:1", &sk, &pk);
	uint8_t id1[8], id2[8];
	char *tc = NULL, *pktext = NULL, *s;

	s = buf_cstr(sig);
	ck_assert_int_eq(verify_text(pk, "hello\n", s, &tc), 0);
	ck_assert_str_eq(tc, "tenant:a export:1");
	free(tc);
	/* the default untrusted comment and layout */
	ck_assert(strncmp(s, "untrusted comment: ", 19) == 0);
	ck_assert_ptr_nonnull(strstr(s, "\ntrusted comment: tenant:a export:1\n"));

	/* public key through its text form, whole file and bare line */
	ck_assert_int_eq(minisig_pubkey_encode(pk, &pktext), 0);
	ck_assert(strncmp(pktext, "untrusted comment: minisign public key ",
	    39) == 0);
	ck_assert_int_eq(minisig_pubkey_parse(pktext, strlen(pktext), &pk2), 0);
	minisig_pubkey_keyid(pk, id1);
	minisig_pubkey_keyid(pk2, id2);
	ck_assert(memcmp(id1, id2, 8) == 0);
	ck_assert_int_eq(verify_text(pk2, "hello\n", s, NULL), 0);
	{
		const char *bare = strchr(pktext, '\n') + 1;

		ck_assert_int_eq(minisig_pubkey_parse(bare, strlen(bare) - 1,
		    &pk3), 0);
		ck_assert_int_eq(verify_text(pk3, "hello\n", s, NULL), 0);
		minisig_pubkey_free(pk3);
	}
	/* the public key derived from the secret key is the same */
	pk3 = minisig_seckey_pubkey(sk);
	ck_assert_ptr_nonnull(pk3);
	ck_assert_int_eq(verify_text(pk3, "hello\n", s, NULL), 0);

	minisig_pubkey_free(pk3);
	minisig_pubkey_free(pk2);
	free(pktext);
	free(s);
	buf_free(sig);
	minisig_seckey_free(sk);
	minisig_pubkey_free(pk);
	minisig_seckey_free(NULL);
	minisig_pubkey_free(NULL);
	minisig_hash_free(NULL);
}
END_TEST

/* Both BLAKE2b implementations the prehash may use give libsodium's
 * digest, for every length to 2 KiB and a megabyte, in random pieces. */
START_TEST(test_prehash_impls)
{
	static const int impls[] = { MINISIG_PREHASH_B2B,
	    MINISIG_PREHASH_SODIUM };
	uint8_t *msg, want[MINISIG_PREHASH_LEN], got[MINISIG_PREHASH_LEN];
	struct minisig_hash *h;
	size_t len, off, n, k;
	const size_t big = 1 << 20;

	ck_assert((msg = malloc(big)) != NULL);
	randombytes_buf(msg, big);
	for (k = 0; k < 2; k++) {
		minisig_prehash_pin(impls[k]);
		ck_assert_int_eq(minisig_prehash_impl(), impls[k]);
		for (len = 0; len <= big; len = len < 2048 ? len + 1 : big + 1) {
			if (len == 2048)
				len = big;
			crypto_generichash(want, sizeof(want), msg, len, NULL, 0);
			ck_assert((h = minisig_hash_new()) != NULL);
			for (off = 0; off < len; off += n) {
				n = 1 + randombytes_uniform(len < 300 ? 7 : 70000);
				if (n > len - off)
					n = len - off;
				ck_assert_int_eq(minisig_hash_update(h, msg + off,
				    n), 0);
			}
			ck_assert_int_eq(minisig_hash_final(h, got), 0);
			minisig_hash_free(h);
			ck_assert_msg(memcmp(want, got, sizeof(want)) == 0,
			    "implementation %d, len %zu: another digest",
			    impls[k], len);
		}
	}
	minisig_prehash_pin(-1);
	k = (size_t)minisig_prehash_impl();
	ck_assert(k == MINISIG_PREHASH_B2B || k == MINISIG_PREHASH_SODIUM);
	free(msg);
}
END_TEST

START_TEST(test_hash_stream)
{
	uint8_t a[MINISIG_PREHASH_LEN], b[MINISIG_PREHASH_LEN];
	uint8_t c[MINISIG_PREHASH_LEN], d[MINISIG_PREHASH_LEN];
	static const char msg[] = "stream me in pieces, please";
	struct minisig_hash *h = minisig_hash_new();
	char *dir = test_mkdtemp(), *p = path_in(dir, "f");
	size_t i;
	int fd;

	prehash_of(msg, a);
	for (i = 0; i < strlen(msg); i++)
		ck_assert_int_eq(minisig_hash_update(h, (const uint8_t *)msg + i,
		    1), 0);
	ck_assert_int_eq(minisig_hash_final(h, b), 0);
	ck_assert(memcmp(a, b, sizeof(a)) == 0);
	ck_assert_int_eq(minisig_hash_update(h, (const uint8_t *)"x", 1),
	    ERR_INVALID);
	minisig_hash_free(h);
	/* BLAKE2b-512, unkeyed */
	crypto_generichash(c, sizeof(c), (const uint8_t *)msg, strlen(msg),
	    NULL, 0);
	ck_assert(memcmp(a, c, sizeof(a)) == 0);

	test_write_file(p, msg, strlen(msg));
	fd = open(p, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(minisig_hash_file(fd, d), 0);
	close(fd);
	ck_assert(memcmp(a, d, sizeof(a)) == 0);
	test_rmtree(dir);
	free(p);
	free(dir);
}
END_TEST

/* Each damage has its own error. */
START_TEST(test_tamper)
{
	struct minisig_seckey *sk;
	struct minisig_pubkey *pk;
	struct buf *sig = sign_fresh("payload", "trusted text", &sk, &pk);
	struct lines good, t;
	char *s, *tc = (char *)1;

	split4(sig, &good);

	/* other message */
	s = buf_cstr(sig);
	ck_assert_int_eq(verify_text(pk, "payloaD", s, &tc), ERR_SIG_INVALID);
	ck_assert_ptr_null(tc);
	free(s);

	/* signature bytes (after "ED" and the key id) */
	t = good;
	damage_b64_line(t.l[1], 2 + 8 + 5, 0x01);
	s = join4(&t);
	ck_assert_int_eq(verify_text(pk, "payload", s, NULL), ERR_SIG_INVALID);
	free(s);

	/* key id in the signature */
	t = good;
	damage_b64_line(t.l[1], 2, 0x80);
	s = join4(&t);
	ck_assert_int_eq(verify_text(pk, "payload", s, NULL), ERR_SIG_KEYID);
	free(s);

	/* trusted comment text */
	t = good;
	snprintf(t.l[2], sizeof(t.l[2]), "trusted comment: trusted texT");
	s = join4(&t);
	tc = (char *)1;
	ck_assert_int_eq(verify_text(pk, "payload", s, &tc), ERR_SIG_COMMENT);
	ck_assert_ptr_null(tc);
	free(s);

	/* global signature */
	t = good;
	damage_b64_line(t.l[3], 63, 0x40);
	s = join4(&t);
	ck_assert_int_eq(verify_text(pk, "payload", s, NULL), ERR_SIG_COMMENT);
	free(s);

	/* the untrusted comment is not signed: changing it is fine */
	t = good;
	snprintf(t.l[0], sizeof(t.l[0]), "untrusted comment: anything");
	s = join4(&t);
	ck_assert_int_eq(verify_text(pk, "payload", s, NULL), 0);
	free(s);

	buf_free(sig);
	minisig_seckey_free(sk);
	minisig_pubkey_free(pk);
}
END_TEST

START_TEST(test_wrong_key)
{
	struct minisig_seckey *sk, *sk2;
	struct minisig_pubkey *pk, *pk2, *forged;
	struct buf *sig = sign_fresh("data", "tc", &sk, &pk);
	uint8_t id[8], bin[42];
	char line[128], *s = buf_cstr(sig);

	ck_assert_int_eq(minisig_keygen(NULL, 0, &sk2, &pk2), 0);
	ck_assert_int_eq(verify_text(pk2, "data", s, NULL), ERR_SIG_KEYID);

	/* An attacker's key claiming the signer's key id still fails. */
	minisig_pubkey_keyid(pk, id);
	memcpy(bin, "Ed", 2);
	memcpy(bin + 2, id, 8);
	{
		struct minisig_pubkey *tmp = minisig_seckey_pubkey(sk2);
		char *txt = NULL;
		uint8_t tbin[42];

		ck_assert_int_eq(minisig_pubkey_encode(tmp, &txt), 0);
		ck_assert_uint_eq(b64dec(strchr(txt, '\n') + 1, tbin,
		    sizeof(tbin)), 42);
		memcpy(bin + 10, tbin + 10, 32);	/* other key's bytes */
		free(txt);
		minisig_pubkey_free(tmp);
	}
	b64enc(bin, sizeof(bin), line, sizeof(line));
	ck_assert_int_eq(minisig_pubkey_parse(line, strlen(line), &forged), 0);
	ck_assert_int_eq(verify_text(forged, "data", s, NULL), ERR_SIG_INVALID);

	minisig_pubkey_free(forged);
	free(s);
	buf_free(sig);
	minisig_seckey_free(sk);
	minisig_pubkey_free(pk);
	minisig_seckey_free(sk2);
	minisig_pubkey_free(pk2);
}
END_TEST

/* A keyring: .pub files concatenated, comments, the key matched by id. */
START_TEST(test_keyring)
{
	struct minisig_seckey *sk, *sk2, *sk3;
	struct minisig_pubkey *pk, *pk2, *pk3, **keys = NULL;
	struct buf *sig = sign_fresh("data", "tc", &sk, &pk);
	uint8_t ph[MINISIG_PREHASH_LEN], id[8], want[8];
	char *t1 = NULL, *t2 = NULL, *t3 = NULL, *ring = NULL, *tc = NULL;
	size_t n, line, which;

	ck_assert_int_eq(minisig_keygen(NULL, 0, &sk2, &pk2), 0);
	ck_assert_int_eq(minisig_keygen(NULL, 0, &sk3, &pk3), 0);
	ck_assert_int_eq(minisig_pubkey_encode(pk2, &t2), 0);
	ck_assert_int_eq(minisig_pubkey_encode(pk, &t1), 0);
	ck_assert_int_eq(minisig_pubkey_encode(pk3, &t3), 0);
	ck_assert_int_gt(asprintf(&ring, "# pinned keys\n\n%s%s", t2, t1), 0);
	ck_assert_int_eq(minisig_keyring_parse(ring, strlen(ring), &keys, &n,
	    &line), 0);
	ck_assert_uint_eq(n, 2);
	prehash_of("data", ph);
	ck_assert_int_eq(minisig_verify_any((const struct minisig_pubkey *
	    const *)keys, n, ph, buf_ptr(sig), buf_len(sig), &which, id, &tc),
	    0);
	ck_assert_uint_eq(which, 1);
	ck_assert_str_eq(tc, "tc");
	minisig_pubkey_keyid(pk, want);
	ck_assert_mem_eq(id, want, 8);
	free(tc);
	/* not pinned: refused, naming the signature's key id */
	ck_assert_int_eq(minisig_verify_any((const struct minisig_pubkey *
	    const *)keys, 1, ph, buf_ptr(sig), buf_len(sig), &which, id, &tc),
	    ERR_SIG_KEYID);
	ck_assert_uint_eq(which, SIZE_MAX);
	ck_assert_mem_eq(id, want, 8);
	ck_assert_ptr_null(tc);
	minisig_keyring_free(keys, n);
	free(ring);

	/* the same key id twice */
	ck_assert_int_gt(asprintf(&ring, "%s%s%s", t1, t3, t1), 0);
	ck_assert_int_eq(minisig_keyring_parse(ring, strlen(ring), &keys, &n,
	    &line), ERR_EXISTS);
	ck_assert_uint_eq(line, 6);
	ck_assert_ptr_null(keys);
	free(ring);
	/* a line that is not a key */
	ck_assert_int_gt(asprintf(&ring, "%snot a key\n", t3), 0);
	ck_assert_int_eq(minisig_keyring_parse(ring, strlen(ring), &keys, &n,
	    &line), ERR_SIG_FORMAT);
	ck_assert_uint_eq(line, 3);
	free(ring);
	/* CR line ends are refused like everywhere else */
	ck_assert_int_eq(minisig_keyring_parse("# x\r\n", 5, &keys, &n,
	    &line), ERR_SIG_FORMAT);
	/* no key at all */
	ck_assert_int_eq(minisig_keyring_parse("# nothing\n\n", 11, &keys, &n,
	    &line), ERR_NOENT);
	ck_assert_uint_eq(line, 0);

	free(t1);
	free(t2);
	free(t3);
	buf_free(sig);
	minisig_seckey_free(sk);
	minisig_pubkey_free(pk);
	minisig_seckey_free(sk2);
	minisig_pubkey_free(pk2);
	minisig_seckey_free(sk3);
	minisig_pubkey_free(pk3);
}
END_TEST

/* Corruption table over the signature file's structure. */
START_TEST(test_sig_format)
{
	struct minisig_seckey *sk;
	struct minisig_pubkey *pk;
	struct buf *sig = sign_fresh("m", "tc", &sk, &pk);
	struct lines good, t;
	uint8_t bin[128];
	size_t n;
	char *s, *g = buf_cstr(sig), big[2100];

	split4(sig, &good);

	/* missing final newline is accepted; anything after is not */
	g[strlen(g) - 1] = '\0';
	ck_assert_int_eq(verify_text(pk, "m", g, NULL), 0);
	free(g);
	g = buf_cstr(sig);
	s = NULL;
	ck_assert_int_gt(asprintf(&s, "%s\n", g), 0);
	ck_assert_int_eq(verify_text(pk, "m", s, NULL), ERR_SIG_FORMAT);
	free(s);
	ck_assert_int_gt(asprintf(&s, "%sjunk\n", g), 0);
	ck_assert_int_eq(verify_text(pk, "m", s, NULL), ERR_SIG_FORMAT);
	free(s);
	/* truncated */
	g[strlen(g) / 2] = '\0';
	ck_assert_int_eq(verify_text(pk, "m", g, NULL), ERR_SIG_FORMAT);
	ck_assert_int_eq(verify_text(pk, "m", "", NULL), ERR_SIG_FORMAT);

	/* CRLF line ends */
	ck_assert_int_gt(asprintf(&s, "%s\r\n%s\r\n%s\r\n%s\r\n", good.l[0],
	    good.l[1], good.l[2], good.l[3]), 0);
	ck_assert_int_ne(verify_text(pk, "m", s, NULL), 0);
	free(s);

	/* bad untrusted comment prefix */
	t = good;
	memcpy(t.l[0], "Untrusted", 9);
	s = join4(&t);
	ck_assert_int_eq(verify_text(pk, "m", s, NULL), ERR_SIG_FORMAT);
	free(s);

	/* base64 garbage, whitespace, missing padding */
	t = good;
	t.l[1][5] = '*';
	s = join4(&t);
	ck_assert_int_eq(verify_text(pk, "m", s, NULL), ERR_SIG_FORMAT);
	free(s);
	t = good;
	memmove(t.l[1] + 1, t.l[1], strlen(t.l[1]) + 1);
	t.l[1][0] = ' ';
	s = join4(&t);
	ck_assert_int_eq(verify_text(pk, "m", s, NULL), ERR_SIG_FORMAT);
	free(s);
	t = good;
	t.l[3][strlen(t.l[3]) - 1] = '\0';	/* drop one '=' */
	s = join4(&t);
	ck_assert_int_eq(verify_text(pk, "m", s, NULL), ERR_SIG_FORMAT);
	free(s);

	/* non-canonical base64: 74 bytes end in one '=', and the digit
	 * before it has 2 unused bits that must be zero */
	{
		static const char alpha[] =
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789+/";
		const char *c;

		t = good;
		ck_assert_uint_eq(strlen(t.l[1]), 100);
		ck_assert(t.l[1][99] == '=' && t.l[1][98] != '=');
		c = strchr(alpha, t.l[1][98]);
		ck_assert_ptr_nonnull(c);
		t.l[1][98] = alpha[(c - alpha) ^ 1];
		s = join4(&t);
		ck_assert_int_eq(verify_text(pk, "m", s, NULL), ERR_SIG_FORMAT);
		free(s);
	}

	/* short signature structure */
	t = good;
	n = b64dec(t.l[1], bin, sizeof(bin));
	b64enc(bin, n - 1, t.l[1], sizeof(t.l[1]));
	s = join4(&t);
	ck_assert_int_eq(verify_text(pk, "m", s, NULL), ERR_SIG_FORMAT);
	free(s);

	/* algorithm tags: legacy "Ed" is refused, unknown is malformed */
	t = good;
	n = b64dec(t.l[1], bin, sizeof(bin));
	bin[1] = 'd';
	b64enc(bin, n, t.l[1], sizeof(t.l[1]));
	s = join4(&t);
	ck_assert_int_eq(verify_text(pk, "m", s, NULL), ERR_UNSUPPORTED);
	free(s);
	bin[0] = 'X';
	b64enc(bin, n, t.l[1], sizeof(t.l[1]));
	s = join4(&t);
	ck_assert_int_eq(verify_text(pk, "m", s, NULL), ERR_SIG_FORMAT);
	free(s);

	/* trusted comment: missing prefix, over the cap */
	t = good;
	memcpy(t.l[2], "Trusted", 7);
	s = join4(&t);
	ck_assert_int_eq(verify_text(pk, "m", s, NULL), ERR_SIG_COMMENT);
	free(s);
	t = good;
	memset(big, 'a', sizeof(big));
	big[MINISIG_TRUSTED_MAX + 1] = '\0';
	snprintf(t.l[2], sizeof(t.l[2]), "trusted comment: %s", big);
	s = join4(&t);
	ck_assert_int_eq(verify_text(pk, "m", s, NULL), ERR_SIG_COMMENT);
	free(s);
	/* a NUL inside the trusted comment */
	{
		uint8_t ph[MINISIG_PREHASH_LEN];
		char *nul = join4(&good);
		char *pos = strstr(nul, "trusted comment: tc") + 17;

		*pos = '\0';
		prehash_of("m", ph);
		ck_assert_int_eq(minisig_verify(pk, ph, (const uint8_t *)nul,
		    strlen(nul + strlen(nul) + 1) + (size_t)(pos - nul) + 1,
		    NULL), ERR_SIG_COMMENT);
		free(nul);
	}

	free(g);
	buf_free(sig);
	minisig_seckey_free(sk);
	minisig_pubkey_free(pk);
}
END_TEST

START_TEST(test_sign_limits)
{
	struct minisig_seckey *sk;
	struct minisig_pubkey *pk;
	struct buf *sig = sign_fresh("m", "", &sk, &pk);
	uint8_t ph[MINISIG_PREHASH_LEN];
	char big[MINISIG_TRUSTED_MAX + 2], *tc = NULL, *s = buf_cstr(sig);

	/* an empty trusted comment is allowed */
	ck_assert_int_eq(verify_text(pk, "m", s, &tc), 0);
	ck_assert_str_eq(tc, "");
	free(tc);
	free(s);
	buf_reset(sig);

	prehash_of("m", ph);
	ck_assert_int_eq(minisig_sign(sk, ph, NULL, NULL, sig), ERR_INVALID);
	ck_assert_int_eq(minisig_sign(sk, ph, NULL, "a\nb", sig), ERR_INVALID);
	ck_assert_int_eq(minisig_sign(sk, ph, NULL, "a\rb", sig), ERR_INVALID);
	ck_assert_int_eq(minisig_sign(sk, ph, "x\ny", "t", sig), ERR_INVALID);
	memset(big, 'b', sizeof(big));
	big[MINISIG_TRUSTED_MAX + 1] = '\0';
	ck_assert_int_eq(minisig_sign(sk, ph, NULL, big, sig), ERR_INVALID);
	ck_assert_uint_eq(buf_len(sig), 0);	/* untouched on error */
	big[MINISIG_TRUSTED_MAX] = '\0';
	ck_assert_int_eq(minisig_sign(sk, ph, "custom", big, sig), 0);
	s = buf_cstr(sig);
	ck_assert(strncmp(s, "untrusted comment: custom\n", 26) == 0);
	ck_assert_int_eq(verify_text(pk, "m", s, &tc), 0);
	ck_assert_str_eq(tc, big);
	free(tc);
	free(s);
	buf_free(sig);
	minisig_seckey_free(sk);
	minisig_pubkey_free(pk);
}
END_TEST

START_TEST(test_pubkey_parse)
{
	struct minisig_seckey *sk;
	struct minisig_pubkey *pk, *p2 = (struct minisig_pubkey *)1;
	char *txt = NULL, *s = NULL, line[128];
	const char *bare;
	uint8_t bin[64];
	size_t n;

	ck_assert_int_eq(minisig_keygen(NULL, 0, &sk, &pk), 0);
	ck_assert_int_eq(minisig_pubkey_encode(pk, &txt), 0);
	bare = strchr(txt, '\n') + 1;

	/* whole file without its final newline, bare line with one */
	ck_assert_int_eq(minisig_pubkey_parse(txt, strlen(txt) - 1, &p2), 0);
	minisig_pubkey_free(p2);
	ck_assert_int_eq(minisig_pubkey_parse(bare, strlen(bare), &p2), 0);
	minisig_pubkey_free(p2);

	/* trailing junk line, blank line, CRLF */
	ck_assert_int_gt(asprintf(&s, "%sjunk\n", txt), 0);
	ck_assert_int_eq(minisig_pubkey_parse(s, strlen(s), &p2),
	    ERR_SIG_FORMAT);
	ck_assert_ptr_null(p2);
	free(s);
	ck_assert_int_gt(asprintf(&s, "%s\n", txt), 0);
	ck_assert_int_eq(minisig_pubkey_parse(s, strlen(s), &p2),
	    ERR_SIG_FORMAT);
	free(s);
	ck_assert_int_gt(asprintf(&s, "%.*s\r\n", (int)strlen(bare) - 1, bare),
	    0);
	ck_assert_int_eq(minisig_pubkey_parse(s, strlen(s), &p2),
	    ERR_SIG_FORMAT);
	free(s);
	/* comment only, empty */
	ck_assert_int_eq(minisig_pubkey_parse(txt, (size_t)(bare - txt), &p2),
	    ERR_SIG_FORMAT);
	ck_assert_int_eq(minisig_pubkey_parse("", 0, &p2), ERR_SIG_FORMAT);

	/* wrong algorithm, wrong length, non-canonical base64 */
	n = b64dec(bare, bin, sizeof(bin));
	ck_assert_uint_eq(n, 42);
	bin[1] = 'D';
	b64enc(bin, n, line, sizeof(line));
	ck_assert_int_eq(minisig_pubkey_parse(line, strlen(line), &p2),
	    ERR_UNSUPPORTED);
	bin[1] = 'd';
	b64enc(bin, n + 1, line, sizeof(line));
	ck_assert_int_eq(minisig_pubkey_parse(line, strlen(line), &p2),
	    ERR_SIG_FORMAT);
	b64enc(bin, n, line, sizeof(line));
	ck_assert_int_eq(minisig_pubkey_parse(line, strlen(line), &p2), 0);
	minisig_pubkey_free(p2);
	/* URL-safe alphabet is not the standard one */
	for (n = 0; line[n] != '\0'; n++)
		if (line[n] == '+' || line[n] == '/')
			break;
	if (line[n] != '\0') {
		line[n] = line[n] == '+' ? '-' : '_';
		ck_assert_int_eq(minisig_pubkey_parse(line, strlen(line), &p2),
		    ERR_SIG_FORMAT);
	}

	free(txt);
	minisig_seckey_free(sk);
	minisig_pubkey_free(pk);
}
END_TEST

START_TEST(test_seckey_files)
{
	struct minisig_seckey *sk, *sk2 = (struct minisig_seckey *)1;
	struct minisig_pubkey *pk, *pk2;
	char *dir = test_mkdtemp();
	char *kp = path_in(dir, "k.key"), *pp = path_in(dir, "k.pub");
	char *up = path_in(dir, "u.key"), *lp = path_in(dir, "link.key");
	struct stat st;
	struct buf *sig = buf_new(4096);
	uint8_t ph[MINISIG_PREHASH_LEN];
	char *s;

	ck_assert_int_eq(minisig_keygen("secret", 6, &sk, &pk), 0);
	ck_assert_int_eq(minisig_seckey_set_kdf(sk, 1, TEST_MEM), ERR_INVALID);
	ck_assert_int_eq(minisig_seckey_set_kdf(sk, TEST_OPS, TEST_MEM), 0);
	ck_assert_int_eq(minisig_seckey_write(sk, kp, NULL, 0), 0);
	ck_assert_int_eq(minisig_pubkey_write(pk, pp), 0);
	ck_assert_int_eq(stat(kp, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(minisig_seckey_write(sk, kp, NULL, 0), ERR_EXISTS);
	ck_assert_int_eq(minisig_pubkey_write(pk, pp), ERR_EXISTS);

	/* encrypted: passphrase needed and checked */
	ck_assert_int_eq(minisig_seckey_load(kp, NULL, 0, &sk2),
	    ERR_PASSPHRASE);
	ck_assert_ptr_null(sk2);
	ck_assert_int_eq(minisig_seckey_load(kp, "secreT", 6, &sk2),
	    ERR_PASSPHRASE);
	ck_assert_int_eq(minisig_seckey_load(kp, "secret", 5, &sk2),
	    ERR_PASSPHRASE);
	ck_assert_int_eq(minisig_seckey_load(kp, "secret", 6, &sk2), 0);

	/* the loaded key signs for the written public key */
	ck_assert_int_eq(minisig_pubkey_load(pp, &pk2), 0);
	prehash_of("x", ph);
	ck_assert_int_eq(minisig_sign(sk2, ph, NULL, "t", sig), 0);
	s = buf_cstr(sig);
	ck_assert_int_eq(verify_text(pk2, "x", s, NULL), 0);
	free(s);
	minisig_pubkey_free(pk2);

	/* an explicit passphrase re-encrypts; the loaded key remembers its
	 * own for a later write */
	ck_assert_int_eq(minisig_seckey_write(sk2, up, "other", 5), 0);
	minisig_seckey_free(sk2);
	ck_assert_int_eq(minisig_seckey_load(up, "secret", 6, &sk2),
	    ERR_PASSPHRASE);
	ck_assert_int_eq(minisig_seckey_load(up, "other", 5, &sk2), 0);
	minisig_seckey_free(sk2);
	unlink(up);

	/* unencrypted: written as such, loads with or without a pass */
	{
		struct minisig_seckey *usk;
		struct minisig_pubkey *upk;

		ck_assert_int_eq(minisig_keygen(NULL, 0, &usk, &upk), 0);
		ck_assert_int_eq(minisig_seckey_write(usk, up, NULL, 0), 0);
		ck_assert_int_eq(minisig_seckey_load(up, NULL, 0, &sk2), 0);
		minisig_seckey_free(sk2);
		ck_assert_int_eq(minisig_seckey_load(up, "x", 1, &sk2), 0);
		minisig_seckey_free(sk2);
		minisig_seckey_free(usk);
		minisig_pubkey_free(upk);
	}

	/* permissions and symlinks */
	ck_assert_int_eq(chmod(up, 0640), 0);
	ck_assert_int_eq(minisig_seckey_load(up, NULL, 0, &sk2), ERR_PERM);
	ck_assert_int_eq(chmod(up, 0604), 0);
	ck_assert_int_eq(minisig_seckey_load(up, NULL, 0, &sk2), ERR_PERM);
	ck_assert_int_eq(chmod(up, 0600), 0);
	ck_assert_int_eq(symlink(up, lp), 0);
	ck_assert_int_eq(minisig_seckey_load(lp, NULL, 0, &sk2), ERR_PERM);
	ck_assert_int_eq(minisig_seckey_write(sk, lp, NULL, 0), ERR_EXISTS);
	ck_assert_int_eq(minisig_seckey_load(dir, NULL, 0, &sk2), ERR_IO);
	/* a secret key file is not a public key */
	ck_assert_int_eq(minisig_pubkey_load(kp, &pk2), ERR_SIG_FORMAT);
	{
		char *missing = path_in(dir, "missing");

		ck_assert_int_eq(minisig_pubkey_load(missing, &pk2), ERR_NOENT);
		free(missing);
	}

	test_rmtree(dir);
	free(kp);
	free(pp);
	free(up);
	free(lp);
	free(dir);
	buf_free(sig);
	minisig_seckey_free(sk);
	minisig_pubkey_free(pk);
}
END_TEST

/* Encodes sk unencrypted and returns its decoded binary (158 bytes). */
static size_t
seckey_bin(const struct minisig_seckey *sk, uint8_t *bin, size_t max,
    char *comment, size_t cmax)
{
	struct buf *b = buf_new_secret(4096);
	char *s;
	size_t n;

	ck_assert_int_eq(minisig_seckey_encode(sk, NULL, 0, b), 0);
	s = buf_cstr(b);
	*strchr(s, '\n') = '\0';
	snprintf(comment, cmax, "%s", s);
	n = strlen(s + strlen(s) + 1);
	s[strlen(s) + 1 + n - 1] = '\0';	/* drop the final newline */
	n = b64dec(s + strlen(s) + 1, bin, max);
	free(s);
	buf_free(b);
	return n;
}

static int
parse_bin(const uint8_t *bin, size_t n, const char *pass)
{
	struct minisig_seckey *sk = NULL;
	char b64[512], *txt = NULL;
	int r;

	b64enc(bin, n, b64, sizeof(b64));
	ck_assert_int_gt(asprintf(&txt, "untrusted comment: k\n%s\n", b64), 0);
	r = minisig_seckey_parse(txt, strlen(txt), pass,
	    pass ? strlen(pass) : 0, &sk);
	if (r != 0)
		ck_assert_ptr_null(sk);
	minisig_seckey_free(sk);
	free(txt);
	return r;
}

/* Corruption table over the secret key's binary layout. */
START_TEST(test_seckey_format)
{
	struct minisig_seckey *sk;
	struct minisig_pubkey *pk;
	uint8_t good[256], t[256];
	char comment[256], *s = NULL;
	size_t n;

	ck_assert_int_eq(minisig_keygen(NULL, 0, &sk, &pk), 0);
	n = seckey_bin(sk, good, sizeof(good), comment, sizeof(comment));
	ck_assert_uint_eq(n, 158);
	ck_assert_str_eq(comment,
	    "untrusted comment: minisign unencrypted secret key");
	ck_assert(memcmp(good, "Ed\0\0B2", 6) == 0);
	ck_assert_int_eq(parse_bin(good, n, NULL), 0);

	/* minisign -W writes a zero checksum: accepted */
	memcpy(t, good, n);
	memset(t + n - 32, 0, 32);
	ck_assert_int_eq(parse_bin(t, n, NULL), 0);
	/* any other wrong checksum is corruption */
	t[n - 1] = 1;
	ck_assert_int_eq(parse_bin(t, n, NULL), ERR_KEY);
	/* secret key whose public half does not match its seed */
	memcpy(t, good, n);
	t[54 + 8 + 63] ^= 1;
	ck_assert_int_eq(parse_bin(t, n, NULL), ERR_KEY);
	/* algorithm tags */
	memcpy(t, good, n);
	t[1] = 'D';
	ck_assert_int_eq(parse_bin(t, n, NULL), ERR_UNSUPPORTED);
	memcpy(t, good, n);
	memcpy(t + 2, "Ar", 2);
	ck_assert_int_eq(parse_bin(t, n, NULL), ERR_UNSUPPORTED);
	memcpy(t, good, n);
	memcpy(t + 4, "B3", 2);
	ck_assert_int_eq(parse_bin(t, n, NULL), ERR_UNSUPPORTED);
	/* sizes */
	ck_assert_int_eq(parse_bin(good, n - 1, NULL), ERR_KEY);
	memcpy(t, good, n);
	t[n] = 0;
	ck_assert_int_eq(parse_bin(t, n + 1, NULL), ERR_KEY);
	/* scrypt cost over the cap is refused before any allocation */
	memcpy(t, good, n);
	memcpy(t + 2, "Sc", 2);
	memset(t + 38, 0, 16);
	t[38 + 4] = 0x01;	/* opslimit 2^32 */
	t[46 + 3] = 0x01;	/* memlimit 16 MiB */
	ck_assert_int_eq(parse_bin(t, n, "pw"), ERR_LIMIT);
	ck_assert_int_eq(parse_bin(t, n, NULL), ERR_PASSPHRASE);

	/* text structure: junk line, missing comment, CR */
	{
		char b64[512];

		b64enc(good, n, b64, sizeof(b64));
		ck_assert_int_gt(asprintf(&s, "untrusted comment: k\n%s\nx\n",
		    b64), 0);
		ck_assert_int_eq(minisig_seckey_parse(s, strlen(s), NULL, 0,
		    &sk), ERR_KEY);
		free(s);
		ck_assert_int_eq(minisig_seckey_parse(b64, strlen(b64), NULL, 0,
		    &sk), ERR_KEY);
		ck_assert_int_gt(asprintf(&s, "untrusted comment: k\r\n%s\n",
		    b64), 0);
		ck_assert_int_eq(minisig_seckey_parse(s, strlen(s), NULL, 0,
		    &sk), ERR_KEY);
		free(s);
	}
	ck_assert_ptr_null(sk);
	minisig_pubkey_free(pk);
}
END_TEST

START_TEST(test_golden)
{
	struct minisig_pubkey *pk;
	struct minisig_seckey *sk;
	uint8_t *msg, *sig, *forged, ph[MINISIG_PREHASH_LEN];
	size_t mlen, slen, flen, klen;
	char *tc = NULL, *key;
	int fd;

	ck_assert_int_eq(minisig_pubkey_load(test_data_path("minisig/golden.pub"),
	    &pk), 0);
	msg = test_read_file(test_data_path("minisig/golden.msg"), &mlen);
	sig = test_read_file(test_data_path("minisig/golden.msg.minisig"),
	    &slen);
	forged = test_read_file(
	    test_data_path("minisig/golden-forged-comment.minisig"), &flen);
	fd = open(test_data_path("minisig/golden.msg"), O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(minisig_hash_file(fd, ph), 0);
	close(fd);
	ck_assert_int_eq(minisig_verify(pk, ph, sig, slen, &tc), 0);
	ck_assert_str_eq(tc, "tenant:demo export:golden");
	free(tc);
	ck_assert_int_eq(minisig_verify(pk, ph, forged, flen, &tc),
	    ERR_SIG_COMMENT);
	ck_assert_ptr_null(tc);
	prehash_of("tenant-export golden message!\n", ph);
	ck_assert_int_eq(minisig_verify(pk, ph, sig, slen, NULL),
	    ERR_SIG_INVALID);

	/* minisign's unencrypted key (zero checksum) signs for golden.pub */
	key = (char *)test_read_file(test_data_path("minisig/golden.key"),
	    &klen);
	ck_assert_int_eq(minisig_seckey_parse(key, klen, NULL, 0, &sk), 0);
	{
		struct minisig_pubkey *pk2 = minisig_seckey_pubkey(sk);
		char *a = NULL, *b = NULL;

		ck_assert_int_eq(minisig_pubkey_encode(pk, &a), 0);
		ck_assert_int_eq(minisig_pubkey_encode(pk2, &b), 0);
		/* byte-identical to what minisign wrote */
		ck_assert_str_eq(a, b);
		ck_assert_uint_eq(strlen(a), 113);
		free(a);
		free(b);
		minisig_pubkey_free(pk2);
	}
	minisig_seckey_free(sk);
	free(key);
	free(msg);
	free(sig);
	free(forged);
	minisig_pubkey_free(pk);
}
END_TEST

/* minisign's own encrypted key: scrypt at 1 GiB, a few seconds, once
 * (a wrong passphrase fails the same checksum at test cost in
 * test_seckey_files). */
START_TEST(test_golden_encrypted)
{
	struct minisig_pubkey *pk, *pk2;
	struct minisig_seckey *sk = (struct minisig_seckey *)1;
	uint8_t id[8], id2[8];
	size_t klen;
	char *key;

	key = (char *)test_read_file(test_data_path("minisig/golden-enc.key"),
	    &klen);
	ck_assert_int_eq(minisig_pubkey_load(
	    test_data_path("minisig/golden-enc.pub"), &pk), 0);
	ck_assert_int_eq(minisig_seckey_parse(key, klen, "golden-pass", 11,
	    &sk), 0);
	pk2 = minisig_seckey_pubkey(sk);
	minisig_pubkey_keyid(pk, id);
	minisig_pubkey_keyid(pk2, id2);
	ck_assert(memcmp(id, id2, 8) == 0);
	minisig_pubkey_free(pk2);
	minisig_seckey_free(sk);
	minisig_pubkey_free(pk);
	free(key);
}
END_TEST

/* Stock minisign verifies our signatures and signs with our keys. */
START_TEST(test_interop_minisign_verifies)
{
	struct minisig_seckey *sk;
	struct minisig_pubkey *pk;
	struct buf *sig = buf_new(8192);
	char *dir = test_mkdtemp();
	char *msg = path_in(dir, "msg"), *sigp = path_in(dir, "msg.minisig");
	char *pub = path_in(dir, "k.pub"), *key = path_in(dir, "k.key");
	char *ekey = path_in(dir, "e.key"), *pwf = path_in(dir, "pw");
	char *out = path_in(dir, "out"), *sig2 = path_in(dir, "msg.2.minisig");
	uint8_t ph[MINISIG_PREHASH_LEN], *sb;
	size_t slen;
	char *tc = NULL;
	int fd;

	test_write_file(msg, "interop payload\n", 16);
	ck_assert_int_eq(minisig_keygen(NULL, 0, &sk, &pk), 0);
	ck_assert_int_eq(minisig_pubkey_write(pk, pub), 0);
	ck_assert_int_eq(minisig_seckey_write(sk, key, NULL, 0), 0);
	fd = open(msg, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(minisig_hash_file(fd, ph), 0);
	close(fd);
	ck_assert_int_eq(minisig_sign(sk, ph, NULL, "tenant:x", sig), 0);
	test_write_file(sigp, buf_ptr(sig), buf_len(sig));
	{
		char *argv[] = { "minisign", "-V", "-H", "-p", pub, "-m", msg,
		    "-x", sigp, NULL };

		ck_assert_int_eq(test_run(argv, NULL, out), 0);
	}
	/* and it rejects a damaged one (so the check above can fail) */
	test_write_file(msg, "interop payloaD\n", 16);
	{
		char *argv[] = { "minisign", "-V", "-p", pub, "-m", msg,
		    "-x", sigp, NULL };

		ck_assert_int_ne(test_run(argv, NULL, out), 0);
	}
	test_write_file(msg, "interop payload\n", 16);

	/* minisign signs with our unencrypted key file ... */
	{
		char *argv[] = { "minisign", "-S", "-s", key, "-m", msg,
		    "-x", sig2, "-t", "from stock", NULL };

		ck_assert_int_eq(test_run(argv, NULL, out), 0);
	}
	sb = test_read_file(sig2, &slen);
	ck_assert_int_eq(minisig_verify(pk, ph, sb, slen, &tc), 0);
	ck_assert_str_eq(tc, "from stock");
	free(tc);
	free(sb);
	unlink(sig2);

	/* ... and with our encrypted one */
	ck_assert_int_eq(minisig_seckey_set_kdf(sk, TEST_OPS, TEST_MEM), 0);
	ck_assert_int_eq(minisig_seckey_write(sk, ekey, "pass word", 9), 0);
	test_write_file(pwf, "pass word\n", 10);
	{
		char *argv[] = { "minisign", "-S", "-s", ekey, "-m", msg,
		    "-x", sig2, "-t", "encrypted", NULL };

		ck_assert_int_eq(test_run(argv, pwf, out), 0);
	}
	sb = test_read_file(sig2, &slen);
	ck_assert_int_eq(minisig_verify(pk, ph, sb, slen, &tc), 0);
	ck_assert_str_eq(tc, "encrypted");
	free(tc);
	free(sb);

	test_rmtree(dir);
	free(msg);
	free(sigp);
	free(pub);
	free(key);
	free(ekey);
	free(pwf);
	free(out);
	free(sig2);
	free(dir);
	buf_free(sig);
	minisig_seckey_free(sk);
	minisig_pubkey_free(pk);
}
END_TEST

static uint64_t
load_le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Cost levels: memory 16 MiB << 2 (level - 1), ops = mem / 32; the
 * parameters are in the key file (read back at level 1, the one cheap
 * enough for a unit test), and stock minisign signs with such a key. */
START_TEST(test_cost_levels)
{
	static const uint64_t mib[] = { 16, 64, 256, 1024 };
	struct minisig_seckey *sk, *sk2;
	struct minisig_pubkey *pk;
	char *dir = test_mkdtemp();
	char *kp = path_in(dir, "c.key"), *msg = path_in(dir, "msg");
	char *pw = path_in(dir, "pw"), *out = path_in(dir, "out");
	uint64_t ops, mem;
	uint8_t *bin;
	size_t len, blen;
	char *text, *nl;
	int level;

	ck_assert_int_eq(minisig_cost_params(0, &ops, &mem), ERR_INVALID);
	ck_assert_int_eq(minisig_cost_params(5, &ops, &mem), ERR_INVALID);
	for (level = 1; level <= 4; level++) {
		ck_assert_int_eq(minisig_cost_params(level, &ops, &mem), 0);
		ck_assert_uint_eq(mem, mib[level - 1] << 20);
		ck_assert_uint_eq(ops, mem / 32);
	}
	ck_assert_int_eq(MINISIG_COST_DEFAULT, 3);
	ck_assert_int_eq(minisig_keygen("pw-1", 4, &sk, &pk), 0);
	ck_assert_int_eq(minisig_cost_params(1, &ops, &mem), 0);
	ck_assert_int_eq(minisig_seckey_set_kdf(sk, ops, mem), 0);
	ck_assert_int_eq(minisig_seckey_write(sk, kp, NULL, 0), 0);
	/* opslimit and memlimit as stored: bytes 38..53 of the key */
	text = (char *)test_read_file(kp, &len);
	nl = strchr(text, '\n');
	ck_assert_ptr_nonnull(nl);
	bin = malloc(len);
	ck_assert_int_eq(sodium_base642bin(bin, len, nl + 1, strlen(nl + 1),
	    "\n", &blen, NULL, sodium_base64_VARIANT_ORIGINAL), 0);
	ck_assert_uint_eq(blen, 158);
	ck_assert_uint_eq(load_le64(bin + 38), 16 << 20 >> 5);
	ck_assert_uint_eq(load_le64(bin + 46), 16 << 20);
	ck_assert_int_eq(minisig_seckey_load(kp, "pw-1", 4, &sk2), 0);
	minisig_seckey_free(sk2);
	test_write_file(msg, "m\n", 2);
	test_write_file(pw, "pw-1\n", 5);
	{
		char *argv[] = { "minisign", "-S", "-s", kp, "-m", msg, NULL };

		ck_assert_int_eq(test_run(argv, pw, out), 0);
	}
	test_rmtree(dir);
	free(bin);
	free(text);
	free(kp);
	free(msg);
	free(pw);
	free(out);
	free(dir);
	minisig_seckey_free(sk);
	minisig_pubkey_free(pk);
}
END_TEST

/* Key ids are shown as minisign's .pub comment shows them. */
START_TEST(test_keyid_hex)
{
	struct minisig_seckey *sk;
	struct minisig_pubkey *pk;
	uint8_t id[MINISIG_KEYID_LEN];
	char hex[MINISIG_KEYID_HEX], *text, want[80];

	ck_assert_int_eq(minisig_keygen(NULL, 0, &sk, &pk), 0);
	minisig_pubkey_keyid(pk, id);
	minisig_keyid_hex(id, hex);
	ck_assert_int_eq(minisig_pubkey_encode(pk, &text), 0);
	snprintf(want, sizeof(want), "untrusted comment: minisign public key "
	    "%s\n", hex);
	ck_assert(strncmp(text, want, strlen(want)) == 0);
	/* the id read as a little-endian integer: the last byte first */
	memset(id, 0, sizeof(id));
	id[0] = 0x01;
	id[7] = 0xAB;
	minisig_keyid_hex(id, hex);
	ck_assert_str_eq(hex, "AB00000000000001");
	free(text);
	minisig_seckey_free(sk);
	minisig_pubkey_free(pk);
}
END_TEST

/* We verify what stock minisign signs and load the keys it makes. */
START_TEST(test_interop_we_verify)
{
	struct minisig_pubkey *pk;
	struct minisig_seckey *sk;
	char *dir = test_mkdtemp();
	char *msg = path_in(dir, "msg"), *sigp = path_in(dir, "msg.minisig");
	char *pub = path_in(dir, "m.pub"), *key = path_in(dir, "m.key");
	char *out = path_in(dir, "out");
	uint8_t ph[MINISIG_PREHASH_LEN], *sb;
	struct buf *sig = buf_new(8192);
	size_t slen;
	char *tc = NULL;
	int fd;

	test_write_file(msg, "signed by stock minisign\n", 25);
	{
		char *argv[] = { "minisign", "-G", "-W", "-p", pub, "-s", key,
		    NULL };

		ck_assert_int_eq(test_run(argv, NULL, out), 0);
	}
	{
		char *argv[] = { "minisign", "-S", "-s", key, "-m", msg,
		    "-t", "tenant:stock", NULL };

		ck_assert_int_eq(test_run(argv, NULL, out), 0);
	}
	ck_assert_int_eq(minisig_pubkey_load(pub, &pk), 0);
	fd = open(msg, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(minisig_hash_file(fd, ph), 0);
	close(fd);
	sb = test_read_file(sigp, &slen);
	ck_assert_int_eq(minisig_verify(pk, ph, sb, slen, &tc), 0);
	ck_assert_str_eq(tc, "tenant:stock");
	free(tc);
	free(sb);

	/* a legacy (-l) signature is refused */
	{
		char *argv[] = { "minisign", "-S", "-l", "-s", key, "-m", msg,
		    "-t", "legacy", NULL };

		ck_assert_int_eq(test_run(argv, NULL, out), 0);
	}
	sb = test_read_file(sigp, &slen);
	ck_assert_int_eq(minisig_verify(pk, ph, sb, slen, NULL),
	    ERR_UNSUPPORTED);
	free(sb);

	/* its unencrypted secret key loads and signs for its public key */
	ck_assert_int_eq(minisig_seckey_load(key, NULL, 0, &sk), 0);
	ck_assert_int_eq(minisig_sign(sk, ph, NULL, "ours", sig), 0);
	ck_assert_int_eq(minisig_verify(pk, ph, buf_ptr(sig), buf_len(sig),
	    NULL), 0);
	minisig_seckey_free(sk);

	/* minisign's encrypted keys (scrypt at 1 GiB) are read in
	 * test_golden_encrypted, once: the cost is not what this tests. */
	test_rmtree(dir);
	free(msg);
	free(sigp);
	free(pub);
	free(key);
	free(out);
	free(dir);
	buf_free(sig);
	minisig_pubkey_free(pk);
}
END_TEST

static Suite *
minisig_suite(void)
{
	Suite *s = suite_create("minisig");
	TCase *tc = tcase_create("core");
	TCase *slow = tcase_create("interop");

	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_hash_stream);
	tcase_add_test(tc, test_prehash_impls);
	tcase_add_test(tc, test_tamper);
	tcase_add_test(tc, test_wrong_key);
	tcase_add_test(tc, test_keyring);
	tcase_add_test(tc, test_sig_format);
	tcase_add_test(tc, test_sign_limits);
	tcase_add_test(tc, test_pubkey_parse);
	tcase_add_test(tc, test_seckey_files);
	tcase_add_test(tc, test_seckey_format);
	tcase_add_test(tc, test_golden);
	tcase_add_test(tc, test_keyid_hex);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	/* minisign's 1 GiB scrypt takes seconds per key */
	tcase_add_test(slow, test_golden_encrypted);
	tcase_add_test(slow, test_interop_minisign_verifies);
	tcase_add_test(slow, test_interop_we_verify);
	tcase_add_test(slow, test_cost_levels);
	tcase_set_timeout(slow, 180);
	suite_add_tcase(s, slow);
	return s;
}

int
main(void)
{
	return test_run_suite(minisig_suite());
}
