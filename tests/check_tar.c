/*
 * format/tar.c: the one ustar header form. Every byte of a header counts:
 * a header that differs from the writer's in any field is refused, naming
 * the field.
 */
#include <string.h>

#include "err.h"
#include "tar.h"
#include "testutil.h"

#define NAME "texp/t/0000/records-000001.cbor"

START_TEST(test_roundtrip)
{
	uint8_t h[TAR_BLOCK];
	char name[TAR_NAME_MAX + 1];
	uint64_t size, mtime;
	const char *why;

	ck_assert_int_eq(tar_header_put(h, NAME, 1234, 1767225600), 0);
	/* the fields as FORMAT.md §3.2 writes them */
	ck_assert_mem_eq(h + 100, "0000600\0" "0000000\0" "0000000\0", 24);
	ck_assert_mem_eq(h + 124, "00000002322\0", 12);
	ck_assert_mem_eq(h + 136, "15125334400\0", 12);
	ck_assert_int_eq(h[154], '\0');
	ck_assert_int_eq(h[155], ' ');
	ck_assert_int_eq(h[156], '0');
	ck_assert_mem_eq(h + 257, "ustar\0" "00", 8);
	ck_assert_mem_eq(h + 329, "0000000\0" "0000000\0", 16);
	ck_assert(tar_is_zero(h + 345, 167));
	ck_assert_int_eq(tar_header_get(h, name, &size, &mtime, &why), 0);
	ck_assert_str_eq(name, NAME);
	ck_assert_uint_eq(size, 1234);
	ck_assert_uint_eq(mtime, 1767225600);
	ck_assert_uint_eq(tar_padding(1234), 302);
	ck_assert_uint_eq(tar_padding(1024), 0);
	ck_assert_int_eq(tar_header_put(h, "has space", 1, 1), ERR_INVALID);
	ck_assert_int_eq(tar_header_put(h, "", 1, 1), ERR_INVALID);
	ck_assert_int_eq(tar_header_put(h, NAME, TAR_OCTAL_MAX + 1, 1),
	    ERR_INVALID);
}
END_TEST

/* One byte changed (checksum made right again): refused, by field. */
START_TEST(test_each_field)
{
	static const struct {
		size_t off;
		uint8_t v;
		const char *why;
	} t[] = {
		{ 99, 'x', "name" }, { 103, '7', "mode" }, { 110, '1', "uid" },
		{ 118, '1', "gid" }, { 135, ' ', "size" }, { 147, ' ', "mtime" },
		{ 156, 'x', "pax" }, { 156, 'g', "pax global" },
		{ 156, 'L', "GNU long" }, { 156, '5', "directory" },
		{ 156, '\0', "typeflag" }, { 157, 'a', "linkname" },
		{ 262, ' ', "GNU tar" }, { 257, 'U', "magic" },
		{ 264, '1', "version" }, { 265, 'r', "uname" },
		{ 297, 'r', "gname" }, { 331, '1', "devmajor" },
		{ 339, '1', "devminor" }, { 345, 't', "prefix" },
		{ 511, 1, "500..511" },
	};
	uint8_t h[TAR_BLOCK];
	char name[TAR_NAME_MAX + 1];
	uint64_t size, mtime;
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_int_eq(tar_header_put(h, NAME, 10, 1767225600), 0);
		h[t[i].off] = t[i].v;
		if (t[i].off == 262)
			memcpy(h + 257, "ustar  \0", 8);
		tar_header_chksum(h);
		ck_assert_int_eq(tar_header_get(h, name, &size, &mtime, &why),
		    ERR_TAR);
		ck_assert_msg(why != NULL && strstr(why, t[i].why) != NULL,
		    "byte %zu: \"%s\", expected \"%s\"", t[i].off,
		    why ? why : "(null)", t[i].why);
		ck_assert_str_eq(name, "");
		ck_assert_uint_eq(size, 0);
	}
	/* the checksum alone */
	ck_assert_int_eq(tar_header_put(h, NAME, 10, 1767225600), 0);
	h[150] ^= 1;
	ck_assert_int_eq(tar_header_get(h, name, &size, &mtime, &why), ERR_TAR);
	ck_assert_str_eq(why, "field \"chksum\"");
}
END_TEST

static Suite *
tar_suite(void)
{
	Suite *s = suite_create("tar");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_each_field);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return test_run_suite(tar_suite());
}
