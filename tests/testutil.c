#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "testutil.h"

int
test_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

const char *
test_data_path(const char *rel)
{
	static char path[4096];

	snprintf(path, sizeof(path), "tests/testdata/%s", rel);
	return path;
}

uint8_t *
test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	long n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert(fseek(f, 0, SEEK_END) == 0);
	n = ftell(f);
	ck_assert(n >= 0);
	rewind(f);
	p = malloc((size_t)n + 1);
	ck_assert(p != NULL);
	ck_assert(fread(p, 1, (size_t)n, f) == (size_t)n);
	p[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return p;
}

void
test_write_file(const char *path, const void *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_msg(fd >= 0, "cannot create %s", path);
	ck_assert(write(fd, p, len) == (ssize_t)len);
	ck_assert(close(fd) == 0);
}

uint8_t *
test_unhex(const char *h, size_t *len)
{
	uint8_t *p = malloc(strlen(h) / 2 + 1);
	size_t n = 0;
	unsigned v;

	ck_assert_ptr_nonnull(p);
	while (*h != '\0') {
		if (*h == ' ') {
			h++;
			continue;
		}
		ck_assert(sscanf(h, "%2x", &v) == 1);
		p[n++] = (uint8_t)v;
		h += 2;
	}
	*len = n;
	return p;
}

char *
test_mkdtemp(void)
{
	char tmpl[] = "/tmp/texp-test.XXXXXX";
	char *d = mkdtemp(tmpl);

	ck_assert(d != NULL);
	d = strdup(d);
	ck_assert(d != NULL);
	return d;
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

void
test_rmtree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int
test_run(char *const argv[], const char *in_path, const char *out_path)
{
	pid_t pid;
	int st, fd;

	fflush(NULL);
	pid = fork();
	ck_assert(pid >= 0);
	if (pid == 0) {
		fd = open(in_path ? in_path : "/dev/null", O_RDONLY);
		if (fd < 0 || dup2(fd, 0) < 0)
			_exit(127);
		if (out_path != NULL) {
			fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			if (fd < 0 || dup2(fd, 1) < 0)
				_exit(127);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	ck_assert(waitpid(pid, &st, 0) == pid);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

/* ---- deterministic randomness for libsodium ---- */

static uint8_t rng_key[32];
static uint64_t rng_ctr;

void
test_rng_key(const uint8_t key[32])
{
	memcpy(rng_key, key, sizeof(rng_key));
	rng_ctr = 0;
}

static void
rng_buf(void *const p, const size_t n)
{
	uint8_t blk[64], ctr[8], *o = p;
	size_t off = 0, take, i;

	while (off < n) {
		for (i = 0; i < 8; i++)
			ctr[i] = (uint8_t)(rng_ctr >> (8 * i));
		rng_ctr++;
		crypto_generichash(blk, sizeof(blk), ctr, sizeof(ctr), rng_key,
		    sizeof(rng_key));
		take = n - off < sizeof(blk) ? n - off : sizeof(blk);
		memcpy(o + off, blk, take);
		off += take;
	}
}

static uint32_t
rng_random(void)
{
	uint32_t v;

	rng_buf(&v, sizeof(v));
	return v;
}

static void rng_stir(void) { }
static int rng_close(void) { return 0; }
static const char *rng_name(void) { return "texp-test"; }

static struct randombytes_implementation rng_impl = {
	.implementation_name = rng_name,
	.random = rng_random,
	.stir = rng_stir,
	.uniform = NULL,
	.buf = rng_buf,
	.close = rng_close,
};

int
test_rng_install(void)
{
	return randombytes_set_implementation(&rng_impl) == 0 ? 0 : -1;
}
