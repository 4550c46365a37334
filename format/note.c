/*
 * note.c: C2SP signed notes with Ed25519 keys (see note.h).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "note.h"

#define SIGTYPE_ED25519	0x01
#define SKEY_PREFIX	"PRIVATE+KEY+"
#define SIG_PREFIX	"\xe2\x80\x94 "		/* U+2014 EM DASH, space */
#define ID_LEN		4
#define ID_HEX_LEN	(2 * ID_LEN)
#define KEY_BIN_LEN	(1 + crypto_sign_PUBLICKEYBYTES)	/* type || key */
#define KEY_B64_LEN	(sodium_base64_ENCODED_LEN(KEY_BIN_LEN, \
			    sodium_base64_VARIANT_ORIGINAL) - 1)
/* Longest signature line part we decode: room for post-quantum
 * signatures from other signers, which we must skip, not choke on. */
#define SIG_B64_MAX	8192
#define SIG_BIN_MAX	(SIG_B64_MAX / 4 * 3)

struct note_verifier {
	char name[NOTE_NAME_MAX + 1];
	size_t namelen;
	uint32_t id;
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
};

/* Allocated with sodium_malloc as a whole: guarded and wiped on free. */
struct note_signer {
	struct note_verifier pub;
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
};

/* Reads one UTF-8 code point, rejecting overlong forms, surrogates and
 * values past U+10FFFF. */
static int
utf8_next(struct buf *b, uint32_t *cp)
{
	uint8_t c;
	uint32_t v, min;
	int n, r;

	*cp = 0;
	if ((r = buf_get_u8(b, &c)) != 0)
		return r;
	if (c < 0x80) {
		*cp = c;
		return 0;
	} else if ((c & 0xe0) == 0xc0) {
		n = 1;
		min = 0x80;
		v = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		n = 2;
		min = 0x800;
		v = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		n = 3;
		min = 0x10000;
		v = c & 0x07;
	} else
		return ERR_FORMAT;
	while (n-- > 0) {
		if ((r = buf_get_u8(b, &c)) != 0)
			return ERR_FORMAT;
		if ((c & 0xc0) != 0x80)
			return ERR_FORMAT;
		v = (v << 6) | (c & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return ERR_FORMAT;
	*cp = v;
	return 0;
}

/* Valid UTF-8 and no control character except newline: the rule for
 * whole notes, and so for the text we sign. */
static int
text_ok(const uint8_t *p, size_t len)
{
	struct buf *b;
	uint32_t cp;
	int r = 0;

	if ((b = buf_from(p, len)) == NULL)
		return ERR_NOMEM;
	while (buf_len(b) > 0) {
		if (utf8_next(b, &cp) != 0 || (cp < 0x20 && cp != '\n')) {
			r = ERR_FORMAT;
			break;
		}
	}
	buf_free(b);
	return r;
}

/* Unicode White_Space (what Go's unicode.IsSpace matches). */
static int
is_space(uint32_t cp)
{
	return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 ||
	    cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
	    cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
	    cp == 0x3000;
}

static int
name_ok(const uint8_t *p, size_t len)
{
	struct buf *b;
	uint32_t cp;
	int r = 0;

	if (len == 0 || len > NOTE_NAME_MAX)
		return ERR_FORMAT;
	if ((b = buf_from(p, len)) == NULL)
		return ERR_NOMEM;
	while (buf_len(b) > 0) {
		if (utf8_next(b, &cp) != 0 || cp < 0x20 || cp == '+' ||
		    is_space(cp)) {
			r = ERR_FORMAT;
			break;
		}
	}
	buf_free(b);
	return r;
}

/* Consumes the bytes up to the next sep (and sep itself); *p, *n are
 * the bytes before it. ERR_FORMAT if there is no sep. */
static int
get_until(struct buf *b, uint8_t sep, const uint8_t **p, size_t *n)
{
	const uint8_t *at;

	*p = NULL;
	*n = 0;
	at = buf_len(b) > 0 ? memchr(buf_ptr(b), sep, buf_len(b)) : NULL;
	if (at == NULL)
		return ERR_FORMAT;
	*n = (size_t)(at - buf_ptr(b));
	if (buf_get_ptr(b, *n, p) != 0 || buf_consume(b, 1) != 0)
		return ERR_INTERNAL;
	return 0;
}

static int
eat_prefix(struct buf *b, const char *prefix)
{
	size_t n = strlen(prefix);
	char tmp[16];

	if (n > sizeof(tmp) || buf_peek(b, 0, tmp, n) != 0 ||
	    memcmp(tmp, prefix, n) != 0)
		return 0;
	return buf_consume(b, n) == 0;
}

/* SHA-256(name || 0x0A || 0x01 || pk)[:4], big-endian. */
static uint32_t
key_id(const char *name, size_t namelen,
    const uint8_t pk[crypto_sign_PUBLICKEYBYTES])
{
	crypto_hash_sha256_state st;
	uint8_t h[crypto_hash_sha256_BYTES];
	static const uint8_t sep[2] = { '\n', SIGTYPE_ED25519 };

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)name, namelen);
	crypto_hash_sha256_update(&st, sep, sizeof(sep));
	crypto_hash_sha256_update(&st, pk, crypto_sign_PUBLICKEYBYTES);
	crypto_hash_sha256_final(&st, h);
	return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
	    (uint32_t)h[2] << 8 | h[3];
}

static int
hex_id(const uint8_t *p, size_t n, uint32_t *id)
{
	uint32_t v = 0;
	size_t i;

	*id = 0;
	if (n != ID_HEX_LEN)
		return ERR_FORMAT;
	for (i = 0; i < n; i++) {
		if (p[i] >= '0' && p[i] <= '9')
			v = v << 4 | (uint32_t)(p[i] - '0');
		else if (p[i] >= 'a' && p[i] <= 'f')
			v = v << 4 | (uint32_t)(p[i] - 'a' + 10);
		else
			return ERR_FORMAT;
	}
	*id = v;
	return 0;
}

/* Strict standard base64 of exactly outlen bytes. */
static int
b64_exact(const uint8_t *s, size_t slen, uint8_t *out, size_t outlen)
{
	const char *end = NULL;
	size_t n = 0;

	if (sodium_base642bin(out, outlen, (const char *)s, slen, NULL, &n,
	    &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    n != outlen || end != (const char *)s + slen)
		return ERR_FORMAT;
	return 0;
}

/*
 * Parses "name+hex+base64(0x01 || material)" from b (after any prefix):
 * fills v's name and id, and material (32 bytes: public key or seed).
 */
static int
key_parse(struct buf *b, struct note_verifier *v, uint8_t material[32])
{
	uint8_t bin[KEY_BIN_LEN], c;
	const uint8_t *p;
	size_t n;
	int r = ERR_KEY;

	if (get_until(b, '+', &p, &n) != 0 || name_ok(p, n) != 0)
		goto out;
	memcpy(v->name, p, n);
	v->name[n] = '\0';
	v->namelen = n;
	if (get_until(b, '+', &p, &n) != 0 || hex_id(p, n, &v->id) != 0)
		goto out;
	/* what remains is the base64, optionally followed by one newline */
	n = buf_len(b);
	if (n > 0 && buf_peek(b, n - 1, &c, 1) == 0 && c == '\n')
		n--;
	if (n != KEY_B64_LEN || buf_get_ptr(b, n, &p) != 0 ||
	    b64_exact(p, n, bin, sizeof(bin)) != 0)
		goto out;
	if (buf_len(b) > 1 || (buf_len(b) == 1 && buf_consume(b, 1) != 0))
		goto out;
	if (bin[0] != SIGTYPE_ED25519) {
		r = ERR_UNSUPPORTED;
		goto out;
	}
	memcpy(material, bin + 1, 32);
	r = 0;
 out:
	sodium_memzero(bin, sizeof(bin));
	return r;
}

int
note_verifier_parse(const char *vkey, size_t len, struct note_verifier **out)
{
	struct note_verifier *v = NULL;
	struct buf *b = NULL;
	int r = ERR_INTERNAL;

	*out = NULL;
	if (vkey == NULL)
		return ERR_INVALID;
	if ((b = buf_from(vkey, len)) == NULL ||
	    (v = calloc(1, sizeof(*v))) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if ((r = key_parse(b, v, v->pk)) != 0)
		goto out;
	/* The id is derived from name and key: a mismatch is a typo or a
	 * splice of two keys. */
	if (key_id(v->name, v->namelen, v->pk) != v->id) {
		r = ERR_KEY;
		goto out;
	}
	*out = v;
	v = NULL;
	r = 0;
 out:
	buf_free(b);
	free(v);
	return r;
}

void
note_verifier_free(struct note_verifier *v)
{
	free(v);
}

static struct note_signer *
signer_new(void)
{
	struct note_signer *s;

	if (sodium_init() < 0 || (s = sodium_malloc(sizeof(*s))) == NULL)
		return NULL;
	memset(s, 0, sizeof(*s));
	return s;
}

void
note_signer_free(struct note_signer *s)
{
	if (s != NULL)
		sodium_free(s);	/* wipes */
}

int
note_keygen(const char *name, struct note_signer **out)
{
	struct note_signer *s = NULL;
	size_t n;
	int r = ERR_INTERNAL;

	*out = NULL;
	if (name == NULL || (n = strlen(name)) == 0 ||
	    name_ok((const uint8_t *)name, n) != 0)
		return ERR_INVALID;
	if ((s = signer_new()) == NULL)
		return ERR_NOMEM;
	memcpy(s->pub.name, name, n);
	s->pub.namelen = n;
	if (crypto_sign_keypair(s->pub.pk, s->sk) != 0)
		goto out;
	s->pub.id = key_id(s->pub.name, n, s->pub.pk);
	*out = s;
	s = NULL;
	r = 0;
 out:
	note_signer_free(s);
	return r;
}

int
note_signer_parse(const char *skey, size_t len, struct note_signer **out)
{
	struct note_signer *s = NULL;
	struct buf *b = NULL;
	uint8_t *seed = NULL;
	int r = ERR_INTERNAL;

	*out = NULL;
	if (skey == NULL)
		return ERR_INVALID;
	if ((s = signer_new()) == NULL ||
	    (seed = sodium_malloc(crypto_sign_SEEDBYTES)) == NULL ||
	    (b = buf_from(skey, len)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if (!eat_prefix(b, SKEY_PREFIX)) {
		r = ERR_KEY;
		goto out;
	}
	if ((r = key_parse(b, &s->pub, seed)) != 0)
		goto out;
	if (crypto_sign_seed_keypair(s->pub.pk, s->sk, seed) != 0) {
		r = ERR_INTERNAL;
		goto out;
	}
	if (key_id(s->pub.name, s->pub.namelen, s->pub.pk) != s->pub.id) {
		r = ERR_KEY;
		goto out;
	}
	*out = s;
	s = NULL;
	r = 0;
 out:
	buf_free(b);
	if (seed != NULL)
		sodium_free(seed);
	note_signer_free(s);
	return r;
}

/* Appends name "+" hex(id) "+" base64(0x01 || material) to out. */
static int
key_encode(struct buf *out, const struct note_verifier *v,
    const uint8_t material[32])
{
	uint8_t *bin = NULL;
	char *b64 = NULL;
	int r = ERR_INTERNAL;

	/* material may be a seed: keep every copy in guarded memory */
	if ((bin = sodium_malloc(KEY_BIN_LEN)) == NULL ||
	    (b64 = sodium_malloc(KEY_B64_LEN + 1)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	bin[0] = SIGTYPE_ED25519;
	memcpy(bin + 1, material, 32);
	sodium_bin2base64(b64, KEY_B64_LEN + 1, bin, KEY_BIN_LEN,
	    sodium_base64_VARIANT_ORIGINAL);
	if ((r = buf_put(out, v->name, v->namelen)) != 0 ||
	    (r = buf_putf(out, "+%08x+", (unsigned int)v->id)) != 0 ||
	    (r = buf_put(out, b64, KEY_B64_LEN)) != 0)
		goto out;
	r = 0;
 out:
	if (bin != NULL)
		sodium_free(bin);
	if (b64 != NULL)
		sodium_free(b64);
	return r;
}

int
note_signer_encode(const struct note_signer *s, struct buf *out)
{
	struct buf *tmp = NULL;
	uint8_t seed[crypto_sign_SEEDBYTES];
	int r = ERR_INTERNAL;

	if ((tmp = buf_new_secret(64 + NOTE_NAME_MAX)) == NULL)
		return ERR_NOMEM;
	crypto_sign_ed25519_sk_to_seed(seed, s->sk);
	if ((r = buf_put_str(tmp, SKEY_PREFIX)) != 0 ||
	    (r = key_encode(tmp, &s->pub, seed)) != 0)
		goto out;
	r = buf_put(out, buf_ptr(tmp), buf_len(tmp));
 out:
	sodium_memzero(seed, sizeof(seed));
	buf_free(tmp);
	return r;
}

int
note_signer_vkey(const struct note_signer *s, char **vkey_out)
{
	struct buf *tmp = NULL;
	char *v = NULL;
	int r = ERR_INTERNAL;

	*vkey_out = NULL;
	if ((tmp = buf_new(64 + NOTE_NAME_MAX)) == NULL)
		return ERR_NOMEM;
	if ((r = key_encode(tmp, &s->pub, s->pub.pk)) != 0)
		goto out;
	if ((r = buf_dup_str(tmp, &v)) != 0)
		goto out;
	*vkey_out = v;
	r = 0;
 out:
	buf_free(tmp);
	return r;
}

int
note_sign(const uint8_t *text, size_t len, const struct note_signer *s,
    struct buf *out)
{
	struct buf *b = NULL, *t = NULL;
	uint8_t sig[ID_LEN + crypto_sign_BYTES], last;
	char b64[sodium_base64_ENCODED_LEN(sizeof(sig),
	    sodium_base64_VARIANT_ORIGINAL)];
	int r = ERR_INTERNAL;

	/* leave room for the signature line within NOTE_MAX_SIZE */
	if (text == NULL || len == 0 || len > NOTE_MAX_SIZE - 1024)
		return ERR_INVALID;
	if ((t = buf_from(text, len)) == NULL)
		return ERR_NOMEM;
	if (buf_peek(t, len - 1, &last, 1) != 0 || last != '\n' ||
	    text_ok(text, len) != 0) {
		r = ERR_INVALID;
		goto out;
	}
	sig[0] = (uint8_t)(s->pub.id >> 24);
	sig[1] = (uint8_t)(s->pub.id >> 16);
	sig[2] = (uint8_t)(s->pub.id >> 8);
	sig[3] = (uint8_t)s->pub.id;
	if (crypto_sign_detached(sig + ID_LEN, NULL, text, len, s->sk) != 0)
		goto out;
	sodium_bin2base64(b64, sizeof(b64), sig, sizeof(sig),
	    sodium_base64_VARIANT_ORIGINAL);
	if ((b = buf_new(NOTE_MAX_SIZE)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if ((r = buf_put(b, text, len)) != 0 ||
	    (r = buf_put_str(b, "\n" SIG_PREFIX)) != 0 ||
	    (r = buf_put(b, s->pub.name, s->pub.namelen)) != 0 ||
	    (r = buf_put_u8(b, ' ')) != 0 ||
	    (r = buf_put_str(b, b64)) != 0 ||
	    (r = buf_put_u8(b, '\n')) != 0)
		goto out;
	r = buf_put(out, buf_ptr(b), buf_len(b));
 out:
	buf_free(b);
	buf_free(t);
	return r;
}

/* Checks one signature line; *verified is set if it is the trusted key's
 * and verifies. */
static int
sig_line(const uint8_t *line, size_t n, const struct note_verifier *v,
    const uint8_t *text, size_t textlen, int *verified)
{
	struct buf *b = NULL, *sb = NULL;
	const uint8_t *name, *b64;
	uint8_t *bin = NULL, sig[crypto_sign_BYTES];
	uint32_t id;
	size_t namelen, b64len, binlen = 0;
	const char *end = NULL;
	int r = ERR_SIG_FORMAT;

	*verified = 0;
	if ((b = buf_from(line, n)) == NULL ||
	    (bin = malloc(SIG_BIN_MAX)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if (!eat_prefix(b, SIG_PREFIX) ||
	    get_until(b, ' ', &name, &namelen) != 0 ||
	    name_ok(name, namelen) != 0)
		goto out;
	b64len = buf_len(b);
	if (b64len > SIG_B64_MAX || buf_get_ptr(b, b64len, &b64) != 0)
		goto out;
	if (sodium_base642bin(bin, SIG_BIN_MAX, (const char *)b64, b64len,
	    NULL, &binlen, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != (const char *)b64 + b64len || binlen < ID_LEN + 1)
		goto out;
	if ((sb = buf_from(bin, binlen)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if (buf_get_u32be(sb, &id) != 0)
		goto out;
	if (namelen != v->namelen || memcmp(name, v->name, namelen) != 0 ||
	    id != v->id) {
		r = 0;	/* someone else's signature: ignored */
		goto out;
	}
	/* Name and id match the trusted key: it must verify. */
	if (buf_get(sb, sig, sizeof(sig)) != 0 || buf_expect_end(sb) != 0 ||
	    crypto_sign_verify_detached(sig, text, textlen, v->pk) != 0) {
		r = ERR_SIG_INVALID;
		goto out;
	}
	*verified = 1;
	r = 0;
 out:
	buf_free(b);
	buf_free(sb);
	free(bin);
	return r;
}

int
note_verify(const uint8_t *note, size_t len, const struct note_verifier *v,
    uint8_t **text_out, size_t *text_len)
{
	struct buf *b = NULL;
	const uint8_t *line, *text;
	uint8_t *copy = NULL, last;
	size_t n, off, sep = 0, nsigs = 0;
	int have_sep = 0, ok = 0, verified, r = ERR_INTERNAL;

	*text_out = NULL;
	*text_len = 0;
	if (note == NULL || v == NULL)
		return ERR_INVALID;
	if (len > NOTE_MAX_SIZE)
		return ERR_LIMIT;
	if ((b = buf_from(note, len)) == NULL)
		return ERR_NOMEM;
	if (len == 0 || buf_peek(b, len - 1, &last, 1) != 0 || last != '\n' ||
	    text_ok(note, len) != 0) {
		r = ERR_SIG_FORMAT;
		goto out;
	}
	/* Find the last empty line: it ends the text. */
	for (off = 0; buf_len(b) > 0; off += n + 1) {
		if (buf_get_line(b, &line, &n, len) != 0) {
			r = ERR_INTERNAL;	/* the note ends in LF */
			goto out;
		}
		if (n == 0) {
			sep = off;
			have_sep = 1;
		}
	}
	/* The text is non-empty and ends in LF, so the separator is not the
	 * first line; at least one signature line follows it. */
	if (!have_sep || sep == 0 || sep + 1 == len) {
		r = ERR_SIG_FORMAT;
		goto out;
	}
	buf_free(b);
	if ((b = buf_from(note, len)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if (buf_get_ptr(b, sep, &text) != 0 || buf_consume(b, 1) != 0) {
		r = ERR_INTERNAL;
		goto out;
	}
	while (buf_len(b) > 0) {
		if (++nsigs > NOTE_MAX_SIGS) {
			r = ERR_LIMIT;
			goto out;
		}
		if (buf_get_line(b, &line, &n, len) != 0) {
			r = ERR_INTERNAL;
			goto out;
		}
		if ((r = sig_line(line, n, v, text, sep, &verified)) != 0)
			goto out;
		ok |= verified;
	}
	if (!ok) {
		r = ERR_SIG_KEYID;
		goto out;
	}
	if ((copy = malloc(sep + 1)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	memcpy(copy, text, sep);
	copy[sep] = '\0';
	*text_out = copy;
	*text_len = sep;
	r = 0;
 out:
	buf_free(b);
	return r;
}
