/*
 * format/seal.c's writer: the archive's bytes come back as written, and
 * the bytes already on disk leave the page cache while the export runs
 * (two writeback steps behind), so an export of any size does not fill
 * memory with pages nothing reads again.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "seal.h"
#include "testutil.h"

#define MIB		(1u << 20)
#define WRITTEN		(64 * MIB)
#define TMPFS_MAGIC_	0x01021994

START_TEST(test_writer_leaves_page_cache)
{
	char *dir = test_mkdtemp();
	struct seal_writer *w;
	struct statfs sf;
	unsigned char *chunk, *map, *vec, back[4096];
	size_t i, pages = WRITTEN / 4096, resident = 0;
	int dirfd, fd;

	ck_assert_ptr_nonnull(dir);
	ck_assert_int_ge(dirfd = open(dir, O_RDONLY | O_DIRECTORY), 0);
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
	 * brought back (tmpfs has no disk to leave them on) */
	ck_assert_int_eq(fstatfs(fd, &sf), 0);
	if (sf.f_type != TMPFS_MAGIC_) {
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
	test_rmtree(dir);
	free(dir);
}
END_TEST

static Suite *
seal_suite(void)
{
	Suite *s = suite_create("seal");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_writer_leaves_page_cache);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	return test_run_suite(seal_suite());
}
