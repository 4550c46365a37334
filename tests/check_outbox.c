/*
 * check_outbox.c: the temporaries of exports in the outbox, and sweep
 * removing only those whose export no longer runs.
 */
#include <sys/file.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "outbox.h"
#include "testutil.h"

#define BASE_A	"export-20260101-0123456789abcdef0123456789abcdef.texp"
#define BASE_B	"export-20260102-fedcba9876543210fedcba9876543210.texp"

static char *dir;
static int dirfd_;

static void
setup(void)
{
	dir = test_mkdtemp();
	dirfd_ = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dirfd_, 0);
}

static void
teardown(void)
{
	close(dirfd_);
	test_rmtree(dir);
	free(dir);
}

static void
touch(const char *name)
{
	int fd = openat(dirfd_, name, O_WRONLY | O_CREAT | O_EXCL, 0600);

	ck_assert_msg(fd >= 0, "%s", name);
	close(fd);
}

static int
exists(const char *name)
{
	return faccessat(dirfd_, name, F_OK, 0) == 0;
}

START_TEST(test_lock_and_unlock)
{
	int fd = -1, fd2 = -1;

	ck_assert_int_eq(outbox_lock(dirfd_, BASE_A, &fd), 0);
	ck_assert(exists("." BASE_A ".lock"));
	/* held: no one else gets it */
	ck_assert_int_eq(outbox_lock(dirfd_, BASE_A, &fd2), ERR_EXISTS);
	ck_assert_int_eq(fd2, -1);
	outbox_unlock(dirfd_, BASE_A, fd);
	ck_assert(!exists("." BASE_A ".lock"));
	ck_assert_int_eq(outbox_lock(dirfd_, "not-an-export.texp", &fd),
	    ERR_INVALID);
	outbox_unlock(dirfd_, BASE_A, -1);	/* accepted */
}
END_TEST

START_TEST(test_sweep_spares_running)
{
	size_t n = 99;
	int fd;

	ck_assert_int_eq(outbox_lock(dirfd_, BASE_A, &fd), 0);
	touch("." BASE_A ".tmp-0123456789abcdef");
	touch("." BASE_A ".002.tmp-0123456789abcdef");
	ck_assert_int_eq(outbox_sweep(dirfd_, NULL, 0, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert(exists("." BASE_A ".tmp-0123456789abcdef"));
	ck_assert(exists("." BASE_A ".lock"));
	outbox_unlock(dirfd_, BASE_A, fd);
}
END_TEST

START_TEST(test_sweep_removes_ended)
{
	size_t n = 0;
	pid_t pid;
	int fd, st;

	/* An export whose process died holding the lock: the kernel
	 * released it, the file stays. */
	if ((pid = fork()) == 0) {
		_exit(outbox_lock(dirfd_, BASE_A, &fd) == 0 ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(st, 0);
	touch("." BASE_A ".tmp-0123456789abcdef");
	touch("." BASE_A ".index.tmp-0123456789abcdef");
	touch("." BASE_A ".minisig.tmp-0123456789abcdef");
	/* one from before locks existed: no lock file at all */
	touch("." BASE_B ".001.tmp-fedcba9876543210");
	/* not an export's temporary: never touched */
	touch(".keep");
	touch(BASE_A);
	touch("." BASE_A ".tmp-XYZ");
	touch(".export-20260101-0123456789abcdef0123456789abcdef.texpx.tmp-0123456789abcdef");
	ck_assert_int_eq(outbox_sweep(dirfd_, NULL, 0, &n), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert(!exists("." BASE_A ".lock"));
	ck_assert(!exists("." BASE_A ".tmp-0123456789abcdef"));
	ck_assert(!exists("." BASE_B ".001.tmp-fedcba9876543210"));
	ck_assert(exists(".keep"));
	ck_assert(exists(BASE_A));
	ck_assert(exists("." BASE_A ".tmp-XYZ"));
}
END_TEST

START_TEST(test_sweep_one_export)
{
	size_t n = 0;

	touch("." BASE_A ".tmp-0123456789abcdef");
	touch("." BASE_B ".tmp-fedcba9876543210");
	ck_assert_int_eq(outbox_sweep(dirfd_, BASE_B, 0, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert(exists("." BASE_A ".tmp-0123456789abcdef"));
	ck_assert(!exists("." BASE_B ".tmp-fedcba9876543210"));
	ck_assert_int_eq(outbox_sweep(dirfd_, "../etc", 0, &n), ERR_INVALID);
}
END_TEST

static Suite *
outbox_suite(void)
{
	Suite *s = suite_create("outbox");
	TCase *tc = tcase_create("temporaries");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_lock_and_unlock);
	tcase_add_test(tc, test_sweep_spares_running);
	tcase_add_test(tc, test_sweep_removes_ended);
	tcase_add_test(tc, test_sweep_one_export);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return test_run_suite(outbox_suite());
}
