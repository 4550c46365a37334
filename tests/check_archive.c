/*
 * The archive proof, attacked. In the style of pg_verifybackup's
 * t/003_corruption.pl: build a good archive with the format writer,
 * damage it one way, and assert the exact failure the verifier reports.
 * And the writer's handling of the page cache.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "age.h"
#include "err.h"
#include "minisig.h"
#include "seal.h"
#include "testutil.h"
#include "verify.h"

/* The sample tool of the build under test (tests/run.sh exports
 * TEXP_BUILD; build-asan for check-asan), else the default build. */
static const char *
sample_tool(void)
{
	static char path[4096];
	const char *b = getenv("TEXP_BUILD");

	if (b == NULL || *b == '\0')
		return "build/tests/tools/texp-sample";
	snprintf(path, sizeof(path), "%s/tests/tools/texp-sample", b);
	return path;
}
#define SAMPLE ((char *)sample_tool())
#define CHUNK (65536 + 16)

static char *dir;
static char recipient[128];
static char sample_bin[4096];
static struct age_identity **ids;
static size_t nids;
static struct minisig_pubkey *signer, *other;

static void
sample(const char *name, const char *extra1, const char *extra2,
    const char *extra3)
{
	char out[512], sk[512];
	char *argv[20];
	int n = 0;

	snprintf(out, sizeof(out), "%s/%s", dir, name);
	snprintf(sk, sizeof(sk), "%s/sign.key", dir);
	argv[n++] = sample_bin;
	argv[n++] = "--out";
	argv[n++] = out;
	argv[n++] = "--sign-key";
	argv[n++] = sk;
	argv[n++] = "--recipient";
	argv[n++] = recipient;
	argv[n++] = "--records";
	argv[n++] = "3000";
	argv[n++] = "--row-bytes";
	argv[n++] = "200";
	argv[n++] = "--expires-in";
	argv[n++] = "315360000";
	if (extra1 != NULL)
		argv[n++] = (char *)extra1;
	if (extra2 != NULL)
		argv[n++] = (char *)extra2;
	if (extra3 != NULL)
		argv[n++] = (char *)extra3;
	argv[n] = NULL;
	ck_assert_int_eq(test_run(argv, NULL, NULL), 0);
}

static void
setup(void)
{
	struct age_identity *id;
	char *rc, path[512], *argv[4];

	ck_assert(sodium_init() >= 0);
	/* tests/run.sh names the build being tested */
	if (getenv("TEXP_BUILD") != NULL)
		snprintf(sample_bin, sizeof(sample_bin),
		    "%s/tests/tools/texp-sample", getenv("TEXP_BUILD"));
	else
		snprintf(sample_bin, sizeof(sample_bin), "%s", SAMPLE);
	dir = test_mkdtemp();
	ck_assert_int_eq(age_identity_generate(&id), 0);
	ck_assert_int_eq(age_identity_recipient(id, &rc), 0);
	snprintf(recipient, sizeof(recipient), "%s", rc);
	free(rc);
	ids = calloc(1, sizeof(*ids));
	ids[0] = id;
	nids = 1;
	snprintf(path, sizeof(path), "%s/sign", dir);
	argv[0] = sample_bin;
	argv[1] = "--gen-sign-key";
	argv[2] = path;
	argv[3] = NULL;
	ck_assert_int_eq(test_run(argv, NULL, NULL), 0);
	snprintf(path, sizeof(path), "%s/other", dir);
	ck_assert_int_eq(test_run(argv, NULL, NULL), 0);
	snprintf(path, sizeof(path), "%s/sign.pub", dir);
	ck_assert_int_eq(minisig_pubkey_load(path, &signer), 0);
	snprintf(path, sizeof(path), "%s/other.pub", dir);
	ck_assert_int_eq(minisig_pubkey_load(path, &other), 0);
	sample("good.texp", "--seed", "s1", NULL);
}

static void
teardown(void)
{
	test_rmtree(dir);
	free(dir);
	age_identities_free(ids, nids);
	minisig_pubkey_free(signer);
	minisig_pubkey_free(other);
}

/* Runs the verifier; returns the result (caller frees). */
static struct verify_result *
run(const char *name, const char *tenant, const struct minisig_pubkey *pk,
    int strict)
{
	struct verify_opts o = {
		.ids = ids, .nids = nids, .signers = &pk, .nsigners = 1,
		.tenant = tenant, .strict_expiry = strict,
		.now = (uint64_t)time(NULL),
	};
	struct verify_result *res = NULL;
	char path[512], why[256];
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	r = verify_archive(path, &o, &res, why, sizeof(why));
	ck_assert_msg(r == 0, "verify_archive: %s: %s", err_str(r), why);
	return res;
}

static int
has(const struct verify_result *res, int code)
{
	size_t i;

	for (i = 0; i < res->nstored; i++)
		if (res->findings[i].code == code && !res->findings[i].warning)
			return 1;
	return 0;
}

static void
dump(const struct verify_result *res)
{
	size_t i;

	for (i = 0; i < res->nstored; i++)
		fprintf(stderr, "  %s %s (%s)\n", res->findings[i].warning ?
		    "WARN" : "FAIL", res->findings[i].msg,
		    err_str(res->findings[i].code));
}

/* The damaged archive name fails with code1 and, unless code2 is 0,
 * with code2 or code3 too. */
static void
expect_either(const char *name, int code1, int code2, int code3)
{
	struct verify_result *res = run(name, "client-b", signer, 0);
	int second = code2 == 0 || has(res, code2) || has(res, code3);

	if (!(res->nfailures > 0 && has(res, code1) && second))
		dump(res);
	ck_assert_msg(res->nfailures > 0, "%s: damaged archive proved", name);
	ck_assert_msg(has(res, code1), "%s: expected %s", name, err_str(code1));
	if (code2 != 0)
		ck_assert_msg(second, "%s: expected %s%s%s", name,
		    err_str(code2), code3 != code2 ? " or " : "",
		    code3 != code2 ? err_str(code3) : "");
	verify_result_free(res);
}

static void
expect(const char *name, int code1, int code2)
{
	expect_either(name, code1, code2, code2);
}

/* Copies good.texp (and its signature) to name, then lets f damage it. */
static uint8_t *
copy_good(const char *name, size_t *len)
{
	char path[512];
	uint8_t *p, *sig;
	size_t slen;

	snprintf(path, sizeof(path), "%s/good.texp", dir);
	p = test_read_file(path, len);
	snprintf(path, sizeof(path), "%s/good.texp.minisig", dir);
	sig = test_read_file(path, &slen);
	snprintf(path, sizeof(path), "%s/%s.minisig", dir, name);
	test_write_file(path, sig, slen);
	free(sig);
	return p;
}

static void
put(const char *name, const uint8_t *p, size_t len)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	test_write_file(path, p, len);
}

static size_t
header_len(const uint8_t *p, size_t len)
{
	const uint8_t *m = memmem(p, len, "\n--- ", 5);

	ck_assert_ptr_nonnull(m);
	m = memchr(m + 1, '\n', len - (size_t)(m + 1 - p));
	ck_assert_ptr_nonnull(m);
	return (size_t)(m + 1 - p);
}

START_TEST(test_good)
{
	struct verify_result *res = run("good.texp", "client-b", signer, 1);

	if (res->nfailures != 0)
		dump(res);
	ck_assert_int_eq(res->nfailures, 0);
	ck_assert_int_eq(res->signature_ok, 1);
	ck_assert_int_eq(res->content_ok, 1);
	ck_assert(res->records == 3003);
	ck_assert_ptr_nonnull(res->manifest);
	ck_assert_int_eq(res->manifest->ntables, 2);
	ck_assert(res->manifest->tables[0].records == 3000);
	verify_result_free(res);
}
END_TEST

START_TEST(test_flip_header)
{
	size_t len;
	uint8_t *p = copy_good("c.texp", &len);

	p[40] ^= 0x01;	/* inside the X25519 stanza */
	put("c.texp", p, len);
	expect("c.texp", ERR_SIG_INVALID, 0);
	free(p);
}
END_TEST

START_TEST(test_flip_header_mac)
{
	size_t len, h;
	uint8_t *p = copy_good("c.texp", &len);

	h = header_len(p, len);
	/* another valid base64 letter inside the MAC: still canonical */
	p[h - 20] = p[h - 20] == 'A' ? 'B' : 'A';
	put("c.texp", p, len);
	expect("c.texp", ERR_AGE_HMAC, ERR_SIG_INVALID);
	free(p);
}
END_TEST

static void
flip_payload(size_t off_from_payload)
{
	size_t len, h;
	uint8_t *p = copy_good("c.texp", &len);

	h = header_len(p, len);
	ck_assert(h + off_from_payload < len);
	p[h + off_from_payload] ^= 0x80;
	put("c.texp", p, len);
	expect("c.texp", ERR_AGE_PAYLOAD, ERR_SIG_INVALID);
	free(p);
}

START_TEST(test_flip_first_chunk)
{
	flip_payload(16 + 100);
}
END_TEST

START_TEST(test_flip_middle_chunk)
{
	flip_payload(16 + 4 * CHUNK + 7);
}
END_TEST

START_TEST(test_flip_last_chunk_manifest)
{
	size_t len, h;
	uint8_t *p = copy_good("c.texp", &len);

	h = header_len(p, len);
	/* The manifest is the last entry: its bytes sit in the last chunk. */
	p[len - 16 - 700] ^= 0x04;
	put("c.texp", p, len);
	(void)h;
	expect("c.texp", ERR_AGE_PAYLOAD, ERR_SIG_INVALID);
	free(p);
}
END_TEST

START_TEST(test_flip_nonce)
{
	flip_payload(3);
}
END_TEST

START_TEST(test_flip_signature)
{
	char path[512];
	uint8_t *sig;
	size_t slen, i, line = 0;

	free(copy_good("c.texp", &slen));
	snprintf(path, sizeof(path), "%s/good.texp", dir);
	{
		size_t len;
		uint8_t *p = test_read_file(path, &len);

		put("c.texp", p, len);
		free(p);
	}
	snprintf(path, sizeof(path), "%s/c.texp.minisig", dir);
	sig = test_read_file(path, &slen);
	/* Change one base64 character of the signature line (line 2). */
	for (i = 0; i < slen && line < 1; i++)
		if (sig[i] == '\n')
			line++;
	i += 20;
	sig[i] = sig[i] == 'A' ? 'B' : 'A';
	test_write_file(path, sig, slen);
	free(sig);
	expect("c.texp", ERR_SIG_INVALID, 0);
}
END_TEST

START_TEST(test_trusted_comment_edit)
{
	char path[512];
	uint8_t *sig, *tc;
	size_t slen, len;
	uint8_t *p = copy_good("c.texp", &len);

	put("c.texp", p, len);
	free(p);
	snprintf(path, sizeof(path), "%s/c.texp.minisig", dir);
	sig = test_read_file(path, &slen);
	tc = memmem(sig, slen, "expires=", 8);
	ck_assert_ptr_nonnull(tc);
	tc[8] = tc[8] == '9' ? '8' : '9';	/* extend the expiry */
	test_write_file(path, sig, slen);
	free(sig);
	expect("c.texp", ERR_SIG_COMMENT, 0);
}
END_TEST

START_TEST(test_truncate)
{
	static const size_t cuts[] = { 10, 100, 0, 1, 16, CHUNK, 5000 };
	size_t len, h, i, at;
	uint8_t *p = copy_good("c.texp", &len);

	h = header_len(p, len);
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		struct verify_result *res;

		/* first two cut inside the header, the rest from the end */
		at = i < 2 ? cuts[i] : len - cuts[i] - (i == 2 ? 0 : 0);
		if (i == 2)
			at = h;		/* header only, no payload */
		put("c.texp", p, at);
		res = run("c.texp", "client-b", signer, 0);
		if (res->nfailures == 0 || !has(res, ERR_SIG_INVALID))
			dump(res);
		ck_assert_msg(res->nfailures > 0, "truncated at %zu proved", at);
		ck_assert(has(res, ERR_SIG_INVALID));
		/* Inside the header or right after it (no payload nonce)
		 * the header fails; later the stream is cut short. */
		if (i < 3)
			ck_assert(has(res, ERR_AGE_HEADER));
		else
			ck_assert(has(res, ERR_AGE_TRUNCATED) ||
			    has(res, ERR_AGE_PAYLOAD));
		verify_result_free(res);
	}
	free(p);
}
END_TEST

START_TEST(test_drop_final_chunk)
{
	size_t len, h, payload, nchunks, keep;
	uint8_t *p = copy_good("c.texp", &len);

	h = header_len(p, len);
	payload = len - h - 16;
	nchunks = (payload + CHUNK - 1) / CHUNK;
	ck_assert(nchunks >= 5);
	keep = h + 16 + (nchunks - 1) * CHUNK;
	put("c.texp", p, keep);
	expect("c.texp", ERR_AGE_TRUNCATED, ERR_SIG_INVALID);
	free(p);
}
END_TEST

START_TEST(test_swap_chunks)
{
	size_t len, h;
	uint8_t *p = copy_good("c.texp", &len), *tmp = malloc(CHUNK);

	h = header_len(p, len);
	memcpy(tmp, p + h + 16 + CHUNK, CHUNK);
	memcpy(p + h + 16 + CHUNK, p + h + 16 + 2 * CHUNK, CHUNK);
	memcpy(p + h + 16 + 2 * CHUNK, tmp, CHUNK);
	put("c.texp", p, len);
	expect("c.texp", ERR_AGE_PAYLOAD, ERR_SIG_INVALID);
	free(tmp);
	free(p);
}
END_TEST

START_TEST(test_trailing_garbage)
{
	size_t len;
	uint8_t *p = copy_good("c.texp", &len);

	p = realloc(p, len + 10);
	memset(p + len, 'x', 10);
	put("c.texp", p, len + 10);
	expect("c.texp", ERR_SIG_INVALID, 0);
	free(p);
}
END_TEST

START_TEST(test_foreign_record_reencrypted)
{
	char path[512];
	uint8_t *sig;
	size_t slen;

	/* Same seed: same file key, export id and salt as good.texp. */
	sample("evil.texp", "--seed", "s1", "--foreign-record=client-a");
	expect("evil.texp", ERR_TENANT, 0);
	/* With the good archive's signature it fails the signature too. */
	snprintf(path, sizeof(path), "%s/good.texp.minisig", dir);
	sig = test_read_file(path, &slen);
	snprintf(path, sizeof(path), "%s/evil.texp.minisig", dir);
	test_write_file(path, sig, slen);
	free(sig);
	expect("evil.texp", ERR_TENANT, ERR_SIG_INVALID);
}
END_TEST

START_TEST(test_other_signer)
{
	struct verify_result *res = run("good.texp", "client-b", other, 0);

	ck_assert(res->nfailures > 0);
	ck_assert(has(res, ERR_SIG_KEYID));
	ck_assert_int_eq(res->signature_ok, 0);
	verify_result_free(res);
}
END_TEST

/* Across a key rotation the recipient pins both keys: the one the
 * signature names is used, whatever the order. */
START_TEST(test_two_pinned_signers)
{
	const struct minisig_pubkey *both[2] = { other, signer };
	struct verify_opts o = {
		.ids = ids, .nids = nids, .signers = both, .nsigners = 2,
		.tenant = "client-b", .now = (uint64_t)time(NULL),
	};
	struct verify_result *res = NULL;
	char path[512], why[256];

	snprintf(path, sizeof(path), "%s/good.texp", dir);
	ck_assert_int_eq(verify_archive(path, &o, &res, why, sizeof(why)), 0);
	if (res->nfailures != 0)
		dump(res);
	ck_assert_int_eq(res->nfailures, 0);
	ck_assert_int_eq(res->signature_ok, 1);
	ck_assert_uint_eq(res->signer.which, 1);
	verify_result_free(res);
}
END_TEST

START_TEST(test_resigned_by_other_key)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/other.key", dir);
	{
		char out[512], *argv[12];

		snprintf(out, sizeof(out), "%s/resigned.texp", dir);
		argv[0] = sample_bin; argv[1] = "--out"; argv[2] = out;
		argv[3] = "--sign-key"; argv[4] = path;
		argv[5] = "--recipient"; argv[6] = recipient;
		argv[7] = "--seed"; argv[8] = "s1";
		argv[9] = "--expires-in"; argv[10] = "315360000";
		argv[11] = NULL;
		ck_assert_int_eq(test_run(argv, NULL, NULL), 0);
	}
	expect("resigned.texp", ERR_SIG_KEYID, 0);
}
END_TEST

START_TEST(test_wrong_tenant)
{
	struct verify_result *res = run("good.texp", "client-a", signer, 0);

	ck_assert(has(res, ERR_TENANT));
	/* one failure says it; the records, which would all differ, are
	 * not reported one by one */
	ck_assert_uint_eq(res->nfailures, 1);
	verify_result_free(res);
}
END_TEST

START_TEST(test_expiry)
{
	struct verify_result *res;

	sample("old.texp", "--expires-in", "0", NULL);
	sleep(1);
	res = run("old.texp", "client-b", signer, 0);
	ck_assert_int_eq(res->nfailures, 0);
	ck_assert_int_eq(res->nwarnings, 1);
	verify_result_free(res);
	res = run("old.texp", "client-b", signer, 1);
	ck_assert(has(res, ERR_EXPIRED));
	verify_result_free(res);
}
END_TEST

static void
split_sample(void)
{
	sample("split.texp", "--part-size", "200000", NULL);
}

START_TEST(test_split_good)
{
	struct verify_result *res;

	split_sample();
	res = run("split.texp.index", "client-b", signer, 1);
	if (res->nfailures != 0)
		dump(res);
	ck_assert_int_eq(res->nfailures, 0);
	ck_assert(res->parts >= 3);
	verify_result_free(res);
	/* the base name finds the index too */
	res = run("split.texp", "client-b", signer, 1);
	ck_assert_int_eq(res->nfailures, 0);
	verify_result_free(res);
}
END_TEST

static void
mv(const char *from, const char *to)
{
	char a[512], b[512];

	snprintf(a, sizeof(a), "%s/%s", dir, from);
	snprintf(b, sizeof(b), "%s/%s", dir, to);
	ck_assert_int_eq(rename(a, b), 0);
}

START_TEST(test_split_swap_parts)
{
	split_sample();
	mv("split.texp.001", "tmp");
	mv("split.texp.002", "split.texp.001");
	mv("tmp", "split.texp.002");
	/* the archive now starts with ciphertext: not an age header, and
	 * when its first byte happens to be '-' (1 in 256 runs), not an
	 * armored one either */
	expect_either("split.texp.index", ERR_PART, ERR_AGE_HEADER,
	    ERR_AGE_ARMOR);
}
END_TEST

START_TEST(test_split_drop_part)
{
	char path[512];

	split_sample();
	snprintf(path, sizeof(path), "%s/split.texp.002", dir);
	ck_assert_int_eq(unlink(path), 0);
	expect("split.texp.index", ERR_PART, ERR_AGE_PAYLOAD);
}
END_TEST

START_TEST(test_split_extra_part)
{
	char path[512];
	uint8_t junk[100] = { 0 };

	split_sample();
	snprintf(path, sizeof(path), "%s/split.texp.099", dir);
	test_write_file(path, junk, sizeof(junk));
	expect("split.texp.index", ERR_PART, 0);
}
END_TEST

START_TEST(test_split_drop_last_part)
{
	struct verify_result *res;
	char path[512];
	size_t n = 1;

	split_sample();
	for (;;) {
		snprintf(path, sizeof(path), "%s/split.texp.%03zu", dir, n + 1);
		if (access(path, F_OK) != 0)
			break;
		n++;
	}
	snprintf(path, sizeof(path), "%s/split.texp.%03zu", dir, n);
	ck_assert_int_eq(unlink(path), 0);
	res = run("split.texp.index", "client-b", signer, 0);
	ck_assert(has(res, ERR_PART));
	/* the stream now ends inside a chunk */
	ck_assert(has(res, ERR_AGE_TRUNCATED) || has(res, ERR_AGE_PAYLOAD));
	verify_result_free(res);
}
END_TEST

START_TEST(test_exit_on_error)
{
	struct verify_opts o = {
		.ids = ids, .nids = nids,
		.signers = (const struct minisig_pubkey *const *)&signer,
		.nsigners = 1,
		.tenant = "client-a", .exit_on_error = 1,
	};
	struct verify_result *res = NULL;
	char path[512], why[256];

	snprintf(path, sizeof(path), "%s/good.texp", dir);
	ck_assert_int_eq(verify_archive(path, &o, &res, why, sizeof(why)), 0);
	ck_assert_int_eq(res->nfailures, 1);
	verify_result_free(res);
}
END_TEST

START_TEST(test_missing_archive_is_operational)
{
	struct verify_opts o = { .ids = ids, .nids = nids,
	    .signers = (const struct minisig_pubkey *const *)&signer,
	    .nsigners = 1,
	    .tenant = "client-b" };
	struct verify_result *res = NULL;
	char path[512], why[256];

	snprintf(path, sizeof(path), "%s/nope.texp", dir);
	ck_assert_int_eq(verify_archive(path, &o, &res, why, sizeof(why)),
	    ERR_NOENT);
	ck_assert_ptr_null(res);
}
END_TEST

START_TEST(test_zstd_roundtrip)
{
	struct verify_result *res;

	sample("z.texp", "--zstd", NULL, NULL);
	res = run("z.texp", "client-b", signer, 1);
	if (res->nfailures != 0)
		dump(res);
	ck_assert_int_eq(res->nfailures, 0);
	ck_assert_int_eq(res->manifest->compression, 1);
	verify_result_free(res);
}
END_TEST

#define MIB		(1u << 20)
#define WRITTEN		(64 * MIB)
#define TMPFS_MAGIC_	0x01021994
#define OVERLAY_MAGIC_	0x794c7630

/* The writer: the bytes come back as written, and those already on disk
 * leave the page cache while the export runs (two writeback steps
 * behind), so an export of any size does not fill memory with pages
 * nothing reads again. */
START_TEST(test_writer_leaves_page_cache)
{
	char *wdir = test_mkdtemp();
	struct seal_writer *w;
	struct statfs sf;
	unsigned char *chunk, *map, *vec, back[4096];
	size_t i, pages = WRITTEN / 4096, resident = 0;
	int dirfd, fd;

	ck_assert_ptr_nonnull(wdir);
	ck_assert_int_ge(dirfd = open(wdir, O_RDONLY | O_DIRECTORY), 0);
	ck_assert_ptr_nonnull(chunk = malloc(MIB));
	ck_assert_int_eq(seal_writer_new(dirfd, "a.texp", 0, &w), 0);
	for (i = 0; i < WRITTEN / MIB; i++) {
		memset(chunk, (int)i, MIB);
		ck_assert_int_eq(seal_writer_write(w, chunk, MIB), 0);
	}
	ck_assert_int_eq(seal_writer_close(w), 0);
	ck_assert_int_eq(seal_writer_open_part(w, 0, &fd), 0);
	/* the bytes, as written: the first and the last MiB */
	ck_assert_int_eq(pread(fd, back, sizeof(back), 0), (ssize_t)sizeof(back));
	ck_assert(back[0] == 0 && back[sizeof(back) - 1] == 0);
	ck_assert_int_eq(pread(fd, back, sizeof(back), WRITTEN - 4096),
	    (ssize_t)sizeof(back));
	ck_assert(back[0] == WRITTEN / MIB - 1);
	/* resident pages: at most the last steps and what the reads above
	 * brought back. Not on tmpfs, which has no disk to leave them on,
	 * nor on overlayfs (a container's root), whose files may start their
	 * writeback in the layer below, out of sync_file_range's reach */
	ck_assert_int_eq(fstatfs(fd, &sf), 0);
	if (sf.f_type != TMPFS_MAGIC_ && sf.f_type != OVERLAY_MAGIC_) {
		map = mmap(NULL, WRITTEN, PROT_READ, MAP_SHARED, fd, 0);
		ck_assert(map != MAP_FAILED);
		ck_assert_ptr_nonnull(vec = malloc(pages));
		ck_assert_int_eq(mincore(map, WRITTEN, vec), 0);
		for (i = 0; i < pages; i++)
			resident += vec[i] & 1;
		ck_assert_msg(resident * 4096 <= 32 * MIB, "%zu of %zu MiB "
		    "still in the page cache", resident * 4096 / MIB,
		    (size_t)(WRITTEN / MIB));
		munmap(map, WRITTEN);
		free(vec);
	}
	close(fd);
	seal_writer_free(w);
	close(dirfd);
	free(chunk);
	test_rmtree(wdir);
	free(wdir);
}
END_TEST

static Suite *
archive_suite(void)
{
	Suite *s = suite_create("archive");
	TCase *tc = tcase_create("corruption");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_good);
	tcase_add_test(tc, test_flip_header);
	tcase_add_test(tc, test_flip_header_mac);
	tcase_add_test(tc, test_flip_nonce);
	tcase_add_test(tc, test_flip_first_chunk);
	tcase_add_test(tc, test_flip_middle_chunk);
	tcase_add_test(tc, test_flip_last_chunk_manifest);
	tcase_add_test(tc, test_flip_signature);
	tcase_add_test(tc, test_trusted_comment_edit);
	tcase_add_test(tc, test_truncate);
	tcase_add_test(tc, test_drop_final_chunk);
	tcase_add_test(tc, test_swap_chunks);
	tcase_add_test(tc, test_trailing_garbage);
	tcase_add_test(tc, test_foreign_record_reencrypted);
	tcase_add_test(tc, test_other_signer);
	tcase_add_test(tc, test_two_pinned_signers);
	tcase_add_test(tc, test_resigned_by_other_key);
	tcase_add_test(tc, test_wrong_tenant);
	tcase_add_test(tc, test_expiry);
	tcase_add_test(tc, test_split_good);
	tcase_add_test(tc, test_split_swap_parts);
	tcase_add_test(tc, test_split_drop_part);
	tcase_add_test(tc, test_split_extra_part);
	tcase_add_test(tc, test_split_drop_last_part);
	tcase_add_test(tc, test_exit_on_error);
	tcase_add_test(tc, test_missing_archive_is_operational);
	tcase_add_test(tc, test_zstd_roundtrip);
	tcase_add_test(tc, test_writer_leaves_page_cache);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return test_run_suite(archive_suite());
}
