/*
 * check_action.c: signed actions (parse, sign), the audit row text and
 * checkpoint bodies, principal names, and the embedded control SQL. The
 * parts that need PostgreSQL are in tests/integration/control.sh and
 * audit.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <sodium.h>

#include "action.h"
#include "audit.h"
#include "buf.h"
#include "control.h"
#include "err.h"
#include "minisig.h"
#include "testutil.h"

#define NONCE "0123456789abcdef0123456789abcdef"

static int
parse_str(const char *s, struct action **a)
{
	return action_parse((const uint8_t *)s, strlen(s), a);
}

START_TEST(test_parse_good)
{
	struct action *a = NULL;
	const char *t = "texp-action v1\nkind=tenant.add\ntime=1700000000\n"
	    "nonce=" NONCE "\ntenant=42\ndisplay_name=Client B\n";

	ck_assert_int_eq(parse_str(t, &a), 0);
	ck_assert_str_eq(action_kind(a), "tenant.add");
	ck_assert_uint_eq(action_time(a), 1700000000ULL);
	ck_assert_str_eq(action_nonce_hex(a), NONCE);
	ck_assert_str_eq(action_get(a, "tenant"), "42");
	ck_assert_str_eq(action_get(a, "display_name"), "Client B");
	ck_assert_str_eq(action_get(a, "time"), "1700000000");
	ck_assert_ptr_null(action_get(a, "missing"));
	ck_assert_ptr_null(action_principal(a));
	action_free(a);

	/* no fields, empty value, time 0 */
	ck_assert_int_eq(parse_str("texp-action v1\nkind=x\ntime=0\nnonce="
	    NONCE "\n", &a), 0);
	action_free(a);
	ck_assert_int_eq(parse_str("texp-action v1\nkind=x\ntime=1\nnonce="
	    NONCE "\nk=\n", &a), 0);
	ck_assert_str_eq(action_get(a, "k"), "");
	action_free(a);
	/* any script, byte for byte: a Cyrillic letter, a combining accent,
	 * an emoji */
	ck_assert_int_eq(parse_str("texp-action v1\nkind=x\ntime=1\nnonce="
	    NONCE "\ntenant=\xd0\xb0" "cme e\xcc\x81 \xf0\x9f\x99\x82\n", &a),
	    0);
	ck_assert_str_eq(action_get(a, "tenant"),
	    "\xd0\xb0" "cme e\xcc\x81 \xf0\x9f\x99\x82");
	action_free(a);
	ck_assert(action_value_valid("\xd0\xb0" "cme"));
	ck_assert(!action_value_valid("a\nb"));
	ck_assert(!action_value_valid("\xc2\x9b"));
	action_free(NULL);
}
END_TEST

/* Every deviation from the canonical form is refused. */
START_TEST(test_parse_bad)
{
	static const char *const bad[] = {
		"",
		"texp-action v2\nkind=x\ntime=1\nnonce=" NONCE "\n",
		"texp-action v1\ntime=1\nkind=x\nnonce=" NONCE "\n",
		"texp-action v1\nkind=X\ntime=1\nnonce=" NONCE "\n",
		"texp-action v1\nkind=\ntime=1\nnonce=" NONCE "\n",
		"texp-action v1\nkind=x\ntime=01\nnonce=" NONCE "\n",
		"texp-action v1\nkind=x\ntime=-1\nnonce=" NONCE "\n",
		"texp-action v1\nkind=x\ntime=\nnonce=" NONCE "\n",
		"texp-action v1\nkind=x\ntime=18446744073709551616\nnonce="
		    NONCE "\n",
		"texp-action v1\nkind=x\ntime=1\nnonce=0123456789ABCDEF"
		    "0123456789abcdef\n",
		"texp-action v1\nkind=x\ntime=1\nnonce=0123\n",
		"texp-action v1\nkind=x\ntime=1\nnonce=" NONCE "\nk=v",
		"texp-action v1\nkind=x\ntime=1\nnonce=" NONCE "\r\n",
		"texp-action v1\r\nkind=x\ntime=1\nnonce=" NONCE "\n",
		"texp-action v1\nkind=x\ntime=1\nnonce=" NONCE "\nk=v\nk=w\n",
		"texp-action v1\nkind=x\ntime=1\nnonce=" NONCE "\nkind=y\n",
		"texp-action v1\nkind=x\ntime=1\nnonce=" NONCE "\nnonce=y\n",
		"texp-action v1\nkind=x\ntime=1\nnonce=" NONCE "\nnoequals\n",
		"texp-action v1\nkind=x\ntime=1\nnonce=" NONCE "\nK=v\n",
		"texp-action v1\nkind=x\ntime=1\nnonce=" NONCE "\nk=v\tw\n",
		"texp-action v1\nkind=x\ntime=1\nnonce=" NONCE "\nk=\xc3\x28\n",
		"texp-action v1\nkind=x\ntime=1\nnonce=" NONCE "\nk=\xc2\x85\n",
		"texp-action v1\nkind=x\ntime=1\nnonce=" NONCE "\nk=a\x7f\n",
		"texp-action v1\nkind=x\ntime=1\nnonce=" NONCE "\nk=\xed\xa0\x80\n",
		"texp-action v1\nkind=x\ntime=1\nnonce=" NONCE "\nk=\xc0\xaf\n",
		"texp-action v1\nkind=x\ntime=1\nnonce=" NONCE "\n\n",
		" texp-action v1\nkind=x\ntime=1\nnonce=" NONCE "\n",
	};
	struct action *a = (struct action *)1;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse_str(bad[i], &a) == ERR_FORMAT,
		    "accepted bad[%zu]", i);
		ck_assert_ptr_null(a);
	}
	/* NUL inside */
	ck_assert_int_eq(action_parse((const uint8_t *)
	    "texp-action v1\nkind=x\ntime=1\nnonce=" NONCE "\nk=a\0b\n", 55,
	    &a), ERR_FORMAT);
}
END_TEST

START_TEST(test_parse_limits)
{
	struct buf *b = buf_new(2 * ACTION_TEXT_MAX);
	struct action *a = NULL;
	int i;

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(buf_put_str(b, "texp-action v1\nkind=x\ntime=1\n"
	    "nonce=" NONCE "\n"), 0);
	for (i = 0; i < ACTION_MAX_FIELDS; i++)
		ck_assert_int_eq(buf_putf(b, "k%d=v\n", i), 0);
	ck_assert_int_eq(action_parse(buf_ptr(b), buf_len(b), &a), 0);
	action_free(a);
	ck_assert_int_eq(buf_put_str(b, "one=more\n"), 0);
	ck_assert_int_eq(action_parse(buf_ptr(b), buf_len(b), &a), ERR_FORMAT);

	buf_reset(b);
	ck_assert_int_eq(buf_put_str(b, "texp-action v1\nkind=x\ntime=1\n"
	    "nonce=" NONCE "\nk="), 0);
	for (i = 0; i < ACTION_VALUE_MAX + 1; i++)
		ck_assert_int_eq(buf_put_u8(b, 'a'), 0);
	ck_assert_int_eq(buf_put_u8(b, '\n'), 0);
	ck_assert_int_eq(action_parse(buf_ptr(b), buf_len(b), &a), ERR_FORMAT);
	buf_free(b);
}
END_TEST

static void
prehash(const struct buf *text, uint8_t out[MINISIG_PREHASH_LEN])
{
	struct minisig_hash *h = minisig_hash_new();

	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq(minisig_hash_update(h, buf_ptr(text), buf_len(text)),
	    0);
	ck_assert_int_eq(minisig_hash_final(h, out), 0);
	minisig_hash_free(h);
}

START_TEST(test_sign)
{
	struct minisig_seckey *sk = NULL;
	struct minisig_pubkey *pk = NULL;
	struct buf *text = buf_new(ACTION_TEXT_MAX);
	struct buf *sig = buf_new(ACTION_SIG_MAX);
	struct buf *text2 = buf_new(ACTION_TEXT_MAX);
	struct buf *sig2 = buf_new(ACTION_SIG_MAX);
	struct action *a = NULL, *b = NULL;
	const char *keys[] = { "name", "tenant" };
	const char *values[] = { "alice", "t-1" };
	const char *dup[] = { "name", "name" };
	const char *res[] = { "nonce" };
	const char *badv[] = { "a\nb" };
	uint8_t ph[MINISIG_PREHASH_LEN], kid[8], kid2[8];
	char *trusted = NULL;

	ck_assert_int_eq(minisig_keygen(NULL, 0, &sk, &pk), 0);
	ck_assert_int_eq(action_sign_at(sk, "assignment.add", 1234, keys,
	    values, 2, text, sig), 0);
	ck_assert_int_eq(action_parse(buf_ptr(text), buf_len(text), &a), 0);
	ck_assert_str_eq(action_kind(a), "assignment.add");
	ck_assert_uint_eq(action_time(a), 1234);
	ck_assert_str_eq(action_get(a, "name"), "alice");
	ck_assert_str_eq(action_get(a, "tenant"), "t-1");
	ck_assert_int_eq(memcmp(buf_ptr(text), "texp-action v1\n"
	    "kind=assignment.add\ntime=1234\nnonce=", 51), 0);

	/* a real minisign signature over the text, kind in the trusted
	 * comment, by the signer's key id */
	prehash(text, ph);
	ck_assert_int_eq(minisig_verify(pk, ph, buf_ptr(sig), buf_len(sig),
	    &trusted), 0);
	ck_assert_str_eq(trusted, "texp-action v1 kind=assignment.add");
	ck_assert_int_eq(action_sig_keyid(buf_ptr(sig), buf_len(sig), kid), 0);
	minisig_pubkey_keyid(pk, kid2);
	ck_assert_int_eq(memcmp(kid, kid2, 8), 0);
	ck_assert_int_eq(action_sig_keyid((const uint8_t *)"x\n", 2, kid),
	    ERR_FORMAT);

	/* fresh nonce every time */
	ck_assert_int_eq(action_sign(sk, "assignment.add", keys, values, 2,
	    text2, sig2), 0);
	ck_assert_int_eq(action_parse(buf_ptr(text2), buf_len(text2), &b), 0);
	ck_assert_str_ne(action_nonce_hex(a), action_nonce_hex(b));
	ck_assert_uint_gt(action_time(b), 1600000000ULL);

	/* nothing appended on bad input */
	buf_reset(text);
	buf_reset(sig);
	ck_assert_int_eq(action_sign(sk, "Bad", keys, values, 2, text, sig),
	    ERR_INVALID);
	ck_assert_int_eq(action_sign(sk, "k", dup, values, 2, text, sig),
	    ERR_INVALID);
	ck_assert_int_eq(action_sign(sk, "k", res, values, 1, text, sig),
	    ERR_INVALID);
	ck_assert_int_eq(action_sign(sk, "k", keys, badv, 1, text, sig),
	    ERR_INVALID);
	ck_assert_uint_eq(buf_len(text), 0);
	ck_assert_uint_eq(buf_len(sig), 0);

	free(trusted);
	action_free(a);
	action_free(b);
	buf_free(text);
	buf_free(sig);
	buf_free(text2);
	buf_free(sig2);
	minisig_seckey_free(sk);
	minisig_pubkey_free(pk);
}
END_TEST

START_TEST(test_row_text)
{
	struct buf *b = buf_new(4096);
	const char *want = "texp-audit v1\n7\n1700000000123456\n"
	    "S12:tenant.added\nS4:root\nS1:9\nN\nS0:\n"
	    "S24:{\"display_name\": \"Zo\xc3\xab\"}\nS2:vm\nS5:0.1.0\n";

	ck_assert_int_eq(audit_row_text(7, "1700000000123456", "tenant.added",
	    "root", "9", NULL, "", "{\"display_name\": \"Zo\xc3\xab\"}", "vm",
	    "0.1.0", b), 0);
	ck_assert_uint_eq(buf_len(b), strlen(want));
	ck_assert_int_eq(memcmp(buf_ptr(b), want, strlen(want)), 0);
	buf_free(b);
}
END_TEST

START_TEST(test_checkpoint_parse)
{
	uint8_t h[AUDIT_HASH_LEN];
	uint64_t size;
	char *origin = NULL;
	const char *good = "audit.example/log\n12\n"
	    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";
	const char *ext = "o\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
	    "ext\n";
	static const char *const bad[] = {
		"\n12\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
		"o\n012\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
		"o\n-1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
		"o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n",
		"o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		"o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==\n",
		"o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n\n",
		"o\n",
	};
	size_t i;

	ck_assert_int_eq(audit_checkpoint_parse((const uint8_t *)good,
	    strlen(good), &origin, &size, h), 0);
	ck_assert_str_eq(origin, "audit.example/log");
	ck_assert_uint_eq(size, 12);
	for (i = 0; i < AUDIT_HASH_LEN; i++)
		ck_assert_uint_eq(h[i], i);
	free(origin);
	/* extension lines are allowed */
	ck_assert_int_eq(audit_checkpoint_parse((const uint8_t *)ext,
	    strlen(ext), NULL, &size, h), 0);
	ck_assert_uint_eq(size, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(audit_checkpoint_parse((const uint8_t *)bad[i],
		    strlen(bad[i]), &origin, &size, h) == ERR_FORMAT,
		    "accepted bad[%zu]", i);
	ck_assert_ptr_null(origin);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_int_eq(control_name_valid("alice"), 1);
	ck_assert_int_eq(control_name_valid("a.b_c-9"), 1);
	ck_assert_int_eq(control_name_valid("0"), 1);
	ck_assert_int_eq(control_name_valid(""), 0);
	ck_assert_int_eq(control_name_valid(NULL), 0);
	ck_assert_int_eq(control_name_valid("-a"), 0);
	ck_assert_int_eq(control_name_valid("Alice"), 0);
	ck_assert_int_eq(control_name_valid("a b"), 0);
	ck_assert_int_eq(control_name_valid("a'b"), 0);
	ck_assert_int_eq(control_name_valid(
	    "a123456789012345678901234567890123456789012345678901234567890ab"),
	    1);
	ck_assert_int_eq(control_name_valid(
	    "a123456789012345678901234567890123456789012345678901234567890abc"),
	    0);
}
END_TEST

/* The binary carries exactly the migrations in sql/control/, in order,
 * the last one being CONTROL_SCHEMA_VERSION. */
START_TEST(test_embedded_sql)
{
	uint8_t *file;
	char path[128];
	size_t len, i, n = control_migration_count();
	int prev = 0, v;

	ck_assert_uint_ge(n, 2);
	ck_assert_str_eq(control_migration_name(0), "001_control");
	for (i = 0; i < n; i++) {
		v = atoi(control_migration_name(i));
		ck_assert_int_gt(v, prev);
		prev = v;
		snprintf(path, sizeof(path), "sql/control/%s.sql",
		    control_migration_name(i));
		file = test_read_file(path, &len);
		ck_assert_uint_eq(strlen(control_migration_sql(i)), len);
		ck_assert_int_eq(memcmp(control_migration_sql(i), file, len), 0);
		free(file);
	}
	ck_assert_int_eq(prev, CONTROL_SCHEMA_VERSION);
	ck_assert_ptr_null(control_migration_sql(n));
}
END_TEST

static Suite *
action_suite(void)
{
	Suite *s = suite_create("action");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_parse_good);
	tcase_add_test(tc, test_parse_bad);
	tcase_add_test(tc, test_parse_limits);
	tcase_add_test(tc, test_sign);
	tcase_add_test(tc, test_row_text);
	tcase_add_test(tc, test_checkpoint_parse);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_embedded_sql);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	return test_run_suite(action_suite());
}
