#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "note.h"
#include "testutil.h"

/* The example from shared/reference/signed-note.md ("Verifier keys"). */
static const char spec_vkey[] =
    "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
static const char spec_note[] =
    "This is an example message.\n"
    "\n"
    "\xe2\x80\x94 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2"
    "ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

static struct note_verifier *
vkey_of(const struct note_signer *s)
{
	struct note_verifier *v = NULL;
	char *vk = NULL;

	ck_assert_int_eq(note_signer_vkey(s, &vk), 0);
	ck_assert_int_eq(note_verifier_parse(vk, strlen(vk), &v), 0);
	free(vk);
	return v;
}

/* Signs text; returns the signed note as a NUL-terminated string. */
static char *
sign_str(const char *text, const struct note_signer *s)
{
	struct buf *b = buf_new(1 << 20);
	char *out;

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(note_sign((const uint8_t *)text, strlen(text), s, b),
	    0);
	out = malloc(buf_len(b) + 1);
	ck_assert_ptr_nonnull(out);
	memcpy(out, buf_ptr(b), buf_len(b));
	out[buf_len(b)] = '\0';
	buf_free(b);
	return out;
}

/* The signature line(s) of a signed note (after the last blank line). */
static const char *
sig_lines(const char *note)
{
	const char *p = NULL, *q = note;

	while ((q = strstr(q, "\n\n")) != NULL)
		p = q++;
	ck_assert_ptr_nonnull(p);
	return p + 2;
}

static int
verify_str(const char *note, const struct note_verifier *v, char **text)
{
	uint8_t *t = NULL;
	size_t n = 0;
	int r;

	r = note_verify((const uint8_t *)note, strlen(note), v, &t, &n);
	if (r != 0) {
		ck_assert_ptr_null(t);
		ck_assert_uint_eq(n, 0);
	} else
		ck_assert_uint_eq(strlen((char *)t), n);
	if (text != NULL)
		*text = (char *)t;
	else
		free(t);
	return r;
}

START_TEST(test_spec_example)
{
	struct note_verifier *v = NULL;
	char *text = NULL, *bad;

	ck_assert_int_eq(note_verifier_parse(spec_vkey, strlen(spec_vkey), &v),
	    0);
	ck_assert_int_eq(verify_str(spec_note, v, &text), 0);
	ck_assert_str_eq(text, "This is an example message.\n");
	free(text);
	bad = strdup(spec_note);
	bad[5] = 'I';	/* "This Is an..." */
	ck_assert_int_eq(verify_str(bad, v, NULL), ERR_SIG_INVALID);
	free(bad);
	note_verifier_free(v);
}
END_TEST

START_TEST(test_roundtrip)
{
	struct note_signer *s = NULL;
	struct note_verifier *v;
	static const char *texts[] = {
		"example.com/log\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
		"one line\n",
		"\n",				/* just a newline */
		"para one\n\npara two\n",	/* empty lines inside */
		"ends blank\n\n",		/* text ending in an empty line */
		"Ognuno sta solo sul cuor della terra\ned \xc3\xa8 subito sera.\n",
	};
	size_t i;
	char *note, *text;

	ck_assert_int_eq(note_keygen("example.com/log", &s), 0);
	v = vkey_of(s);
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		note = sign_str(texts[i], s);
		ck_assert(strncmp(note, texts[i], strlen(texts[i])) == 0);
		ck_assert(strncmp(sig_lines(note),
		    "\xe2\x80\x94 example.com/log ", 20) == 0);
		ck_assert_int_eq(verify_str(note, v, &text), 0);
		ck_assert_str_eq(text, texts[i]);
		free(text);
		free(note);
	}
	note_verifier_free(v);
	note_signer_free(s);
	note_signer_free(NULL);
	note_verifier_free(NULL);
}
END_TEST

START_TEST(test_tamper)
{
	struct note_signer *s;
	struct note_verifier *v;
	char *note, *t;
	size_t i, sl;

	ck_assert_int_eq(note_keygen("audit.example/ckpt", &s), 0);
	v = vkey_of(s);
	note = sign_str("origin\n7\nroot\n", s);
	/* every byte of the text matters */
	for (i = 0; i < strlen("origin\n7\nroot"); i++) {
		if (note[i] == '\n')
			continue;
		t = strdup(note);
		t[i] ^= 0x01;
		ck_assert_int_eq(verify_str(t, v, NULL), ERR_SIG_INVALID);
		free(t);
	}
	/* the signature bytes: damage one base64 digit well inside */
	t = strdup(note);
	sl = (size_t)(sig_lines(t) - t) + 4 + strlen("audit.example/ckpt ") + 20;
	t[sl] = t[sl] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(verify_str(t, v, NULL), ERR_SIG_INVALID);
	free(t);
	/* the key id in the signature: now someone else's, so ignored */
	t = strdup(note);
	sl = (size_t)(sig_lines(t) - t) + 4 + strlen("audit.example/ckpt ");
	t[sl] = t[sl] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(verify_str(t, v, NULL), ERR_SIG_KEYID);
	free(t);
	/* text dropped a line: the text is now different */
	t = strdup(note);
	memmove(t + 7, t + 9, strlen(t + 9) + 1);	/* drop "7\n" */
	ck_assert_int_eq(verify_str(t, v, NULL), ERR_SIG_INVALID);
	free(t);
	free(note);
	note_verifier_free(v);
	note_signer_free(s);
}
END_TEST

START_TEST(test_wrong_key)
{
	struct note_signer *a, *b, *c;
	struct note_verifier *va, *vb, *vc;
	char *na, *nb, *both = NULL, *text = NULL;

	ck_assert_int_eq(note_keygen("log.example", &a), 0);
	ck_assert_int_eq(note_keygen("log.example", &b), 0);	/* same name */
	ck_assert_int_eq(note_keygen("witness.example", &c), 0);
	va = vkey_of(a);
	vb = vkey_of(b);
	vc = vkey_of(c);
	na = sign_str("checkpoint\n", a);
	nb = sign_str("checkpoint\n", b);
	ck_assert_int_eq(verify_str(na, vb, NULL), ERR_SIG_KEYID);
	ck_assert_int_eq(verify_str(na, vc, NULL), ERR_SIG_KEYID);
	/* a cosigned note: each key finds its own line; others are ignored */
	ck_assert_int_gt(asprintf(&both, "%s%s", na, sig_lines(nb)), 0);
	ck_assert_int_eq(verify_str(both, va, &text), 0);
	ck_assert_str_eq(text, "checkpoint\n");
	free(text);
	ck_assert_int_eq(verify_str(both, vb, NULL), 0);
	ck_assert_int_eq(verify_str(both, vc, NULL), ERR_SIG_KEYID);
	free(both);
	/* b's signature under a's name and id: it is "a's" and must verify */
	{
		const char *la = sig_lines(na), *lb = sig_lines(nb);
		size_t pre = 4 + strlen("log.example ");
		uint8_t bin[68];
		char b64[100];
		size_t n = 0;

		ck_assert_int_eq(sodium_base642bin(bin, sizeof(bin), lb + pre,
		    strcspn(lb + pre, "\n"), NULL, &n, NULL,
		    sodium_base64_VARIANT_ORIGINAL), 0);
		ck_assert_uint_eq(n, 68);
		/* take the key id from a's line */
		{
			uint8_t ida[68];

			ck_assert_int_eq(sodium_base642bin(ida, sizeof(ida),
			    la + pre, strcspn(la + pre, "\n"), NULL, &n, NULL,
			    sodium_base64_VARIANT_ORIGINAL), 0);
			memcpy(bin, ida, 4);
		}
		sodium_bin2base64(b64, sizeof(b64), bin, sizeof(bin),
		    sodium_base64_VARIANT_ORIGINAL);
		ck_assert_int_gt(asprintf(&both, "checkpoint\n\n"
		    "\xe2\x80\x94 log.example %s\n%s", b64, la), 0);
		/* the forged line fails, so the note fails despite a's own */
		ck_assert_int_eq(verify_str(both, va, NULL), ERR_SIG_INVALID);
		free(both);
	}
	free(na);
	free(nb);
	note_verifier_free(va);
	note_verifier_free(vb);
	note_verifier_free(vc);
	note_signer_free(a);
	note_signer_free(b);
	note_signer_free(c);
}
END_TEST

/* Corruption table over the note structure. */
START_TEST(test_format)
{
	struct note_signer *s;
	struct note_verifier *v;
	char *good, *t = NULL, *line;
	size_t i;

	ck_assert_int_eq(note_keygen("n.example", &s), 0);
	v = vkey_of(s);
	good = sign_str("hello\n", s);
	line = strdup(sig_lines(good));	/* "— n.example <b64>\n" */

	struct {
		const char *fmt;
		int want;
	} cases[] = {
		{ "hello\n%s", ERR_SIG_FORMAT },		/* no blank line */
		{ "hello\n\n", ERR_SIG_FORMAT },		/* no signatures */
		{ "\n%s", ERR_SIG_FORMAT },			/* empty text */
		{ "hello\n\n%s\n", ERR_SIG_FORMAT },		/* blank after sigs:
								   sigs become text */
		{ "hel\x01lo\n\n%s", ERR_SIG_FORMAT },		/* control char */
		{ "hello\r\n\n%s", ERR_SIG_FORMAT },		/* CR */
		{ "hel\xc3lo\n\n%s", ERR_SIG_FORMAT },		/* bad UTF-8 */
		{ "hel\xc0\xafo\n\n%s", ERR_SIG_FORMAT },	/* overlong */
		{ "hello\n\n%sjunk\n", ERR_SIG_FORMAT },	/* junk line */
		{ "hello\n\n- n.example AAAAAAAA\n%s", ERR_SIG_FORMAT },
		{ "hello\n\n\xe2\x80\x94  AAAAAAAA\n%s", ERR_SIG_FORMAT },
		{ "hello\n\n\xe2\x80\x94 a+b AAAAAAAA\n%s", ERR_SIG_FORMAT },
		{ "hello\n\n\xe2\x80\x94 a\xc2\xa0" "b AAAAAAAA\n%s",
		    ERR_SIG_FORMAT },				/* NBSP in name */
		{ "hello\n\n\xe2\x80\x94 x AAAA\n%s", ERR_SIG_FORMAT },	/* <5 B */
		{ "hello\n\n\xe2\x80\x94 x AAAAAA=\n%s", ERR_SIG_FORMAT },
		{ "hello\n\n\xe2\x80\x94 x AAAAAAA*\n%s", ERR_SIG_FORMAT },
		{ "hello\n\n\xe2\x80\x94 x AAAAAAAA \n%s", ERR_SIG_FORMAT },
		{ "hello\n\n\xe2\x80\x94 x\n%s", ERR_SIG_FORMAT },
		/* well-formed foreign signatures are ignored */
		{ "hello\n\n\xe2\x80\x94 x AAAAAAAA\n%s", 0 },
		{ "hello\n\n%s\xe2\x80\x94 other.example/\xc3\xa8 AQIDBAU=\n", 0 },
	};

	ck_assert_int_eq(verify_str(good, v, NULL), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_gt(asprintf(&t, cases[i].fmt, line), 0);
		ck_assert_msg(verify_str(t, v, NULL) == cases[i].want,
		    "case %zu", i);
		free(t);
	}
	/* the final newline is required */
	t = strdup(good);
	t[strlen(t) - 1] = '\0';
	ck_assert_int_eq(verify_str(t, v, NULL), ERR_SIG_FORMAT);
	free(t);
	ck_assert_int_eq(verify_str("", v, NULL), ERR_SIG_FORMAT);

	free(line);
	free(good);
	note_verifier_free(v);
	note_signer_free(s);
}
END_TEST

START_TEST(test_limits)
{
	struct note_signer *s;
	struct note_verifier *v;
	struct buf *b = buf_new(1 << 20);
	char *good;
	uint8_t *text = NULL;
	size_t i, n;

	ck_assert_int_eq(note_keygen("lim.example", &s), 0);
	v = vkey_of(s);
	good = sign_str("t\n", s);
	/* 16 foreign signatures before ours are fine (spec minimum) */
	ck_assert_int_eq(buf_put_str(b, "t\n\n"), 0);
	for (i = 0; i < 16; i++)
		ck_assert_int_eq(buf_putf(b, "\xe2\x80\x94 w%zu.example AAAAAAAA\n",
		    i), 0);
	ck_assert_int_eq(buf_put_str(b, sig_lines(good)), 0);
	ck_assert_int_eq(note_verify(buf_ptr(b), buf_len(b), v, &text, &n), 0);
	free(text);
	/* past NOTE_MAX_SIGS */
	buf_reset(b);
	ck_assert_int_eq(buf_put_str(b, "t\n\n"), 0);
	for (i = 0; i < NOTE_MAX_SIGS; i++)
		ck_assert_int_eq(buf_put_str(b, "\xe2\x80\x94 w AAAAAAAA\n"), 0);
	ck_assert_int_eq(buf_put_str(b, sig_lines(good)), 0);
	ck_assert_int_eq(note_verify(buf_ptr(b), buf_len(b), v, &text, &n),
	    ERR_LIMIT);
	ck_assert_ptr_null(text);
	/* past NOTE_MAX_SIZE */
	ck_assert_int_eq(note_verify((const uint8_t *)good, NOTE_MAX_SIZE + 1,
	    v, &text, &n), ERR_LIMIT);

	/* note_sign refuses text it could not verify */
	buf_reset(b);
	ck_assert_int_eq(note_sign((const uint8_t *)"no newline", 10, s, b),
	    ERR_INVALID);
	ck_assert_int_eq(note_sign((const uint8_t *)"tab\there\n", 9, s, b),
	    ERR_INVALID);
	ck_assert_int_eq(note_sign((const uint8_t *)"bad \xff\n", 6, s, b),
	    ERR_INVALID);
	ck_assert_int_eq(note_sign((const uint8_t *)"", 0, s, b), ERR_INVALID);
	ck_assert_uint_eq(buf_len(b), 0);

	free(good);
	buf_free(b);
	note_verifier_free(v);
	note_signer_free(s);
}
END_TEST

START_TEST(test_keys)
{
	struct note_signer *s, *s2 = (struct note_signer *)1;
	struct note_verifier *v = (struct note_verifier *)1;
	struct buf *sk = buf_new_secret(1024);
	char *vk = NULL, *t = NULL, *note;
	const char *p;
	size_t n;

	ck_assert_int_eq(note_keygen("keys.example/a", &s), 0);
	ck_assert_int_eq(note_signer_encode(s, sk), 0);
	ck_assert_int_eq(note_signer_vkey(s, &vk), 0);
	ck_assert(strncmp((const char *)buf_ptr(sk),
	    "PRIVATE+KEY+keys.example/a+", 27) == 0);
	ck_assert(strncmp(vk, "keys.example/a+", 15) == 0);
	/* same name and id in both */
	ck_assert(memcmp((const char *)buf_ptr(sk) + 12, vk, 15 + 8 + 1) == 0);

	/* the parsed skey signs notes the vkey verifies */
	ck_assert_int_eq(note_signer_parse((const char *)buf_ptr(sk),
	    buf_len(sk), &s2), 0);
	note = sign_str("x\n", s2);
	ck_assert_int_eq(note_verifier_parse(vk, strlen(vk), &v), 0);
	ck_assert_int_eq(verify_str(note, v, NULL), 0);
	note_verifier_free(v);
	free(note);
	note_signer_free(s2);

	/* one trailing newline is accepted, more is not */
	ck_assert_int_gt(asprintf(&t, "%s\n", vk), 0);
	ck_assert_int_eq(note_verifier_parse(t, strlen(t), &v), 0);
	note_verifier_free(v);
	free(t);
	ck_assert_int_gt(asprintf(&t, "%s\n\n", vk), 0);
	ck_assert_int_eq(note_verifier_parse(t, strlen(t), &v), ERR_KEY);
	ck_assert_ptr_null(v);
	free(t);

	/* damaged vkeys */
	p = strchr(vk, '+') + 1;	/* the hex id */
	n = (size_t)(p - vk);
	t = strdup(vk);
	t[n] = t[n] == '0' ? '1' : '0';	/* wrong id */
	ck_assert_int_eq(note_verifier_parse(t, strlen(t), &v), ERR_KEY);
	free(t);
	t = strdup(vk);
	for (size_t i = n; i < n + 8; i++)
		if (t[i] >= 'a')
			t[i] = (char)(t[i] - 'a' + 'A');
	if (strcmp(t, vk) != 0)
		ck_assert_int_eq(note_verifier_parse(t, strlen(t), &v),
		    ERR_KEY);
	free(t);
	t = strdup(vk);
	t[0] = 'K';	/* other name: id no longer matches */
	ck_assert_int_eq(note_verifier_parse(t, strlen(t), &v), ERR_KEY);
	free(t);
	ck_assert_int_eq(note_verifier_parse("a+b", 3, &v), ERR_KEY);
	ck_assert_int_eq(note_verifier_parse("", 0, &v), ERR_KEY);
	ck_assert_int_eq(note_verifier_parse(spec_vkey, strlen(spec_vkey) - 1,
	    &v), ERR_KEY);
	/* signature type other than Ed25519 */
	{
		uint8_t bin[33];
		char b64[64];

		ck_assert_int_eq(sodium_base642bin(bin, sizeof(bin),
		    spec_vkey + 25, 44, NULL, &n, NULL,
		    sodium_base64_VARIANT_ORIGINAL), 0);
		bin[0] = 0x04;
		sodium_bin2base64(b64, sizeof(b64), bin, sizeof(bin),
		    sodium_base64_VARIANT_ORIGINAL);
		ck_assert_int_gt(asprintf(&t, "example.com/foo+530d903a+%s",
		    b64), 0);
		ck_assert_int_eq(note_verifier_parse(t, strlen(t), &v),
		    ERR_UNSUPPORTED);
		free(t);
	}
	/* an skey is not a vkey and the other way round */
	ck_assert_int_ne(note_verifier_parse((const char *)buf_ptr(sk),
	    buf_len(sk), &v), 0);
	ck_assert_int_eq(note_signer_parse(vk, strlen(vk), &s2), ERR_KEY);
	ck_assert_ptr_null(s2);

	/* invalid names */
	ck_assert_int_eq(note_keygen("", &s2), ERR_INVALID);
	ck_assert_int_eq(note_keygen("a b", &s2), ERR_INVALID);
	ck_assert_int_eq(note_keygen("a+b", &s2), ERR_INVALID);
	ck_assert_int_eq(note_keygen("a\xe3\x80\x80" "b", &s2), ERR_INVALID);
	ck_assert_int_eq(note_keygen("a\nb", &s2), ERR_INVALID);

	free(vk);
	buf_free(sk);
	note_signer_free(s);
}
END_TEST

static Suite *
note_suite(void)
{
	Suite *s = suite_create("note");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_spec_example);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_tamper);
	tcase_add_test(tc, test_wrong_key);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_keys);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return test_run_suite(note_suite());
}
