/*
 * check_text.c: escaping text from children, the database and archives
 * before it reaches a terminal, JSON or the control tables.
 */
#include <string.h>

#include "text.h"
#include "testutil.h"

static const char *
esc(const char *in, size_t n, size_t outlen)
{
	static char out[512];

	ck_assert_uint_le(outlen, sizeof(out));
	text_escape(out, outlen, in, n);
	return out;
}

#define ESC(s)	esc((s), sizeof(s) - 1, 512)

START_TEST(test_printable_kept)
{
	ck_assert_str_eq(ESC("plain text, 42 (ok) ~"), "plain text, 42 (ok) ~");
	/* UTF-8 from U+00A0 up is printable */
	ck_assert_str_eq(ESC("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91"),
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91");
}
END_TEST

START_TEST(test_terminal_escapes)
{
	/* retitles an xterm: OSC 0 ; title BEL */
	ck_assert_str_eq(ESC("\033]0;PWNED-TITLE\a"), "\\x1b]0;PWNED-TITLE\\x07");
	ck_assert_str_eq(ESC("a\r\nb\tc\x7f"), "a\\x0d\\x0ab\\x09c\\x7f");
	/* 8-bit CSI (U+009B) and the raw byte 0x9b */
	ck_assert_str_eq(ESC("\xc2\x9b" "2J"), "\\xc2\\x9b2J");
	ck_assert_str_eq(ESC("\x9b" "2J"), "\\x9b2J");
	/* the backslash itself, so that the result is unambiguous */
	ck_assert_str_eq(ESC("C:\\x1b"), "C:\\\\x1b");
	/* NUL in the middle */
	ck_assert_str_eq(esc("a\0b", 3, 512), "a\\x00b");
}
END_TEST

START_TEST(test_invalid_utf8)
{
	/* overlong '/', a surrogate, beyond U+10FFFF, truncated sequence */
	ck_assert_str_eq(ESC("\xc0\xaf"), "\\xc0\\xaf");
	ck_assert_str_eq(ESC("\xed\xa0\x80"), "\\xed\\xa0\\x80");
	ck_assert_str_eq(ESC("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");
	ck_assert_str_eq(ESC("x\xe2\x82"), "x\\xe2\\x82");
}
END_TEST

START_TEST(test_cut_at_boundary)
{
	/* room for "ab" and a NUL, never half an escape */
	ck_assert_str_eq(esc("ab\033c", 4, 4), "ab");
	ck_assert_str_eq(esc("ab\033c", 4, 6), "ab");
	ck_assert_str_eq(esc("ab\033c", 4, 7), "ab\\x1b");
	ck_assert_str_eq(esc("ab\033c", 4, 8), "ab\\x1bc");
	ck_assert_str_eq(esc("\xe2\x82\xac", 3, 3), "");
	ck_assert_uint_eq(text_escape(NULL, 0, "x", 1), 0);
}
END_TEST

START_TEST(test_inplace)
{
	char s[32] = "err \033[2Jgone";

	text_escape_inplace(s, sizeof(s));
	ck_assert_str_eq(s, "err \\x1b[2Jgone");
	strcpy(s, "0123456789012345678901234567\033");
	text_escape_inplace(s, sizeof(s));
	ck_assert_str_eq(s, "0123456789012345678901234567");
}
END_TEST

START_TEST(test_describe)
{
	char out[256];

	text_describe(out, sizeof(out), "acme");
	ck_assert_str_eq(out, "\"acme\"");
	text_describe(out, sizeof(out), "acme ");
	ck_assert_str_eq(out, "\"acme \"");
	/* a Cyrillic a that looks like the Latin one */
	text_describe(out, sizeof(out), "\xd0\xb0" "cme");
	ck_assert_str_eq(out, "\"\xd0\xb0" "cme\" (non-ASCII: U+0430 at 1)");
	/* combining acute vs precomposed: both named, at their positions */
	text_describe(out, sizeof(out), "cafe\xcc\x81");
	ck_assert_str_eq(out, "\"cafe\xcc\x81\" (non-ASCII: U+0301 at 5)");
	text_describe(out, sizeof(out), "caf\xc3\xa9");
	ck_assert_str_eq(out, "\"caf\xc3\xa9\" (non-ASCII: U+00E9 at 4)");
	text_describe(out, sizeof(out), "\xf0\x9f\x9a\x80" "x");
	ck_assert_str_eq(out, "\"\xf0\x9f\x9a\x80" "x\" (non-ASCII: U+1F680 "
	    "at 1)");
	/* control characters stay escaped and are not listed */
	text_describe(out, sizeof(out), "a\033[2Jb");
	ck_assert_str_eq(out, "\"a\\x1b[2Jb\"");
	/* cut short, still terminated */
	text_describe(out, 12, "\xd0\xb0\xd0\xb0\xd0\xb0\xd0\xb0");
	ck_assert_uint_le(strlen(out), 11);
	text_describe(out, 2, "x");
	ck_assert_str_eq(out, "");
}
END_TEST

static Suite *
text_suite(void)
{
	Suite *s = suite_create("text");
	TCase *tc = tcase_create("escape");

	tcase_add_test(tc, test_printable_kept);
	tcase_add_test(tc, test_terminal_escapes);
	tcase_add_test(tc, test_invalid_utf8);
	tcase_add_test(tc, test_cut_at_boundary);
	tcase_add_test(tc, test_inplace);
	tcase_add_test(tc, test_describe);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return test_run_suite(text_suite());
}
