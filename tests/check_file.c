/*
 * format/file.c: the one reader and writer for the small files the tools
 * read and write whole (keys, signatures, passphrases, indexes).
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "file.h"
#include "testutil.h"

static char *dir;

static void
setup(void)
{
	ck_assert(sodium_init() >= 0);
	dir = test_mkdtemp();
}

static void
teardown(void)
{
	test_rmtree(dir);
	free(dir);
}

/* Two calls may appear in one expression: alternate between buffers. */
static const char *
path_of(const char *name)
{
	static char p[2][4096];
	static int k;

	k ^= 1;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

START_TEST(test_read_limits)
{
	struct buf *b = NULL;
	char data[100];

	memset(data, 'x', sizeof(data));
	test_write_file(path_of("f"), data, sizeof(data));
	ck_assert_int_eq(file_read_small(AT_FDCWD, path_of("f"), 100, 0, &b), 0);
	ck_assert_uint_eq(buf_len(b), 100);
	buf_free(b);
	ck_assert_int_eq(file_read_small(AT_FDCWD, path_of("f"), 99, 0, &b),
	    ERR_LIMIT);
	ck_assert_ptr_null(b);
	test_write_file(path_of("empty"), "", 0);
	ck_assert_int_eq(file_read_small(AT_FDCWD, path_of("empty"), 10, 0, &b),
	    0);
	ck_assert_uint_eq(buf_len(b), 0);
	buf_free(b);
	ck_assert_int_eq(file_read_small(AT_FDCWD, path_of("none"), 10, 0, &b),
	    ERR_NOENT);
	ck_assert_int_eq(file_read_small(AT_FDCWD, dir, 10, 0, &b), ERR_IO);
	ck_assert_int_eq(symlink(path_of("f"), path_of("link")), 0);
	ck_assert_int_eq(file_read_small(AT_FDCWD, path_of("link"), 100, 0, &b),
	    ERR_PERM);
}
END_TEST

/* Files whose size the kernel reports as 0 are still read to their end. */
START_TEST(test_read_to_eof)
{
	struct buf *b = NULL;

	ck_assert_int_eq(file_read_small(AT_FDCWD, "/proc/self/status", 65536,
	    0, &b), 0);
	ck_assert(buf_len(b) > 0);
	ck_assert(memmem(buf_ptr(b), buf_len(b), "Name:", 5) != NULL);
	buf_free(b);
	ck_assert_int_eq(file_read_small(AT_FDCWD, "/proc/self/status", 4, 0,
	    &b), ERR_LIMIT);
}
END_TEST

START_TEST(test_secret_mode)
{
	struct buf *b = NULL;
	char *line = NULL;
	size_t len;

	test_write_file(path_of("pass"), "correct horse\r\nsecond\n", 22);
	ck_assert_int_eq(file_read_secret_line(path_of("pass"), 4096, &line,
	    &len), 0);
	ck_assert_uint_eq(len, 13);
	ck_assert_str_eq(line, "correct horse");
	sodium_free(line);
	ck_assert_int_eq(chmod(path_of("pass"), 0644), 0);
	ck_assert_int_eq(file_read_secret_line(path_of("pass"), 4096, &line,
	    &len), ERR_PERM);
	ck_assert_ptr_null(line);
	ck_assert_int_eq(file_read_small(AT_FDCWD, path_of("pass"), 4096, 1,
	    &b), ERR_PERM);
	/* not secret: the mode does not matter */
	ck_assert_int_eq(file_read_small(AT_FDCWD, path_of("pass"), 4096, 0,
	    &b), 0);
	buf_free(b);
	ck_assert_int_eq(chmod(path_of("pass"), 0600), 0);
	test_write_file(path_of("blank"), "\nx\n", 3);
	ck_assert_int_eq(file_read_secret_line(path_of("blank"), 4096, &line,
	    &len), ERR_PASSPHRASE);
}
END_TEST

START_TEST(test_write_new)
{
	struct stat st;

	ck_assert_int_eq(file_write_new(path_of("w"), "abc", 3, 0644), 0);
	ck_assert_int_eq(stat(path_of("w"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	ck_assert_int_eq(file_write_new(path_of("w"), "abc", 3, 0600),
	    ERR_EXISTS);
	ck_assert_int_eq(symlink(path_of("nowhere"), path_of("dangling")), 0);
	ck_assert_int_eq(file_write_new(path_of("dangling"), "abc", 3, 0600),
	    ERR_EXISTS);
	ck_assert_int_eq(access(path_of("nowhere"), F_OK), -1);
}
END_TEST

static Suite *
file_suite(void)
{
	Suite *s = suite_create("file");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_read_limits);
	tcase_add_test(tc, test_read_to_eof);
	tcase_add_test(tc, test_secret_mode);
	tcase_add_test(tc, test_write_new);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return test_run_suite(file_suite());
}
