/*
 * action.c: signed control-plane actions (see action.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bsd/readpassphrase.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "action.h"
#include "buf.h"
#include "control.h"
#include "dcbor.h"
#include "err.h"
#include "file.h"
#include "minisig.h"

#define ACTION_MAGIC	"texp-action v1"
#define PASS_MAX	1024

struct action {
	char kind[ACTION_KIND_MAX + 1];
	char time_str[24];
	uint64_t time;
	char nonce_hex[2 * ACTION_NONCE_LEN + 1];
	uint8_t nonce[ACTION_NONCE_LEN];
	size_t n;
	char *keys[ACTION_MAX_FIELDS];
	char *values[ACTION_MAX_FIELDS];
	struct control_principal principal;
	int verified;
};

/* ^[a-z][a-z0-9_.:-]{0,31}$ over p[0..n) */
static int
ident_valid(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || n > ACTION_KIND_MAX || p[0] < 'a' || p[0] > 'z')
		return 0;
	for (i = 1; i < n; i++) {
		char ch = p[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '_' || ch == '.' || ch == ':' || ch == '-')
			continue;
		return 0;
	}
	return 1;
}

/* Valid UTF-8 without C0, DEL or C1 code points (U+0080..U+009F are
 * encoded 0xc2 0x80..0x9f). */
static int
value_valid(const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t i;

	if (n > ACTION_VALUE_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		if (u[i] < 0x20 || u[i] == 0x7f)
			return 0;
		if (u[i] == 0xc2 && i + 1 < n && u[i + 1] >= 0x80 &&
		    u[i + 1] <= 0x9f)
			return 0;
	}
	return dcbor_utf8_valid(u, n);
}

int
action_value_valid(const char *s)
{
	return s != NULL && value_valid(s, strlen(s));
}

static int
reserved(const char *p, size_t n)
{
	return (n == 4 && memcmp(p, "kind", 4) == 0) ||
	    (n == 4 && memcmp(p, "time", 4) == 0) ||
	    (n == 5 && memcmp(p, "nonce", 5) == 0);
}

void
action_free(struct action *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->n; i++) {
		free(a->keys[i]);
		free(a->values[i]);
	}
	free(a);
}

static char *
dup_n(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s != NULL) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

/* Consumes "PREFIX" and returns the rest of the line in *v, *vlen. */
static int
get_field(struct buf *b, const char *prefix, const uint8_t **v, size_t *vlen)
{
	const uint8_t *line;
	size_t len, plen = strlen(prefix);

	if (buf_get_line(b, &line, &len, ACTION_TEXT_MAX) != 0)
		return ERR_FORMAT;
	if (len < plen || memcmp(line, prefix, plen) != 0)
		return ERR_FORMAT;
	*v = line + plen;
	*vlen = len - plen;
	return 0;
}

int
action_parse(const uint8_t *text, size_t tlen, struct action **out)
{
	struct action *a = NULL;
	struct buf *b = NULL;
	const uint8_t *v, *line, *eq;
	size_t vlen, len, i, klen;
	uint64_t t = 0;
	int r = ERR_FORMAT;

	*out = NULL;
	if (text == NULL || tlen == 0 || tlen > ACTION_TEXT_MAX)
		return ERR_FORMAT;
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (b = buf_from(text, tlen)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if (get_field(b, ACTION_MAGIC, &v, &vlen) != 0 || vlen != 0)
		goto out;
	if (get_field(b, "kind=", &v, &vlen) != 0 ||
	    !ident_valid((const char *)v, vlen))
		goto out;
	memcpy(a->kind, v, vlen);
	a->kind[vlen] = '\0';
	/* decimal, no sign, no leading zero, no overflow */
	if (get_field(b, "time=", &v, &vlen) != 0 || vlen == 0 || vlen > 20 ||
	    (vlen > 1 && v[0] == '0'))
		goto out;
	for (i = 0; i < vlen; i++) {
		if (v[i] < '0' || v[i] > '9')
			goto out;
		if (t > (UINT64_MAX - (uint64_t)(v[i] - '0')) / 10)
			goto out;
		t = t * 10 + (uint64_t)(v[i] - '0');
	}
	a->time = t;
	memcpy(a->time_str, v, vlen);
	a->time_str[vlen] = '\0';
	if (get_field(b, "nonce=", &v, &vlen) != 0 ||
	    vlen != 2 * ACTION_NONCE_LEN)
		goto out;
	for (i = 0; i < vlen; i++)
		if (!((v[i] >= '0' && v[i] <= '9') ||
		    (v[i] >= 'a' && v[i] <= 'f')))
			goto out;
	memcpy(a->nonce_hex, v, vlen);
	a->nonce_hex[vlen] = '\0';
	if (sodium_hex2bin(a->nonce, sizeof(a->nonce), a->nonce_hex, vlen,
	    NULL, &len, NULL) != 0 || len != sizeof(a->nonce))
		goto out;
	while (buf_len(b) > 0) {
		if (a->n == ACTION_MAX_FIELDS)
			goto out;
		if (buf_get_line(b, &line, &len, ACTION_TEXT_MAX) != 0)
			goto out;
		if ((eq = memchr(line, '=', len)) == NULL)
			goto out;
		klen = (size_t)(eq - line);
		if (!ident_valid((const char *)line, klen) ||
		    reserved((const char *)line, klen) ||
		    !value_valid((const char *)eq + 1, len - klen - 1))
			goto out;
		for (i = 0; i < a->n; i++)
			if (strlen(a->keys[i]) == klen &&
			    memcmp(a->keys[i], line, klen) == 0)
				goto out;
		if ((a->keys[a->n] = dup_n(line, klen)) == NULL ||
		    (a->values[a->n] = dup_n(eq + 1, len - klen - 1)) == NULL) {
			free(a->keys[a->n]);
			r = ERR_NOMEM;
			goto out;
		}
		a->n++;
	}
	*out = a;
	a = NULL;
	r = 0;
 out:
	buf_free(b);
	action_free(a);
	return r;
}

int
action_sign_at(const struct minisig_seckey *sk, const char *kind,
    uint64_t when, const char *const *keys, const char *const *values,
    size_t n, struct buf *text_out, struct buf *sig_out)
{
	struct buf *text = NULL, *sig = NULL;
	struct minisig_hash *h = NULL;
	struct action *check = NULL;
	uint8_t nonce[ACTION_NONCE_LEN], prehash[MINISIG_PREHASH_LEN];
	char nonce_hex[2 * ACTION_NONCE_LEN + 1], trusted[64];
	size_t i;
	int r = ERR_INTERNAL;

	if (sk == NULL || kind == NULL || text_out == NULL || sig_out == NULL ||
	    (n > 0 && (keys == NULL || values == NULL)) ||
	    n > ACTION_MAX_FIELDS || !ident_valid(kind, strlen(kind)))
		return ERR_INVALID;
	for (i = 0; i < n; i++)
		if (keys[i] == NULL || values[i] == NULL ||
		    !ident_valid(keys[i], strlen(keys[i])) ||
		    reserved(keys[i], strlen(keys[i])) ||
		    !value_valid(values[i], strlen(values[i])))
			return ERR_INVALID;
	if ((text = buf_new(ACTION_TEXT_MAX)) == NULL ||
	    (sig = buf_new(ACTION_SIG_MAX)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	randombytes_buf(nonce, sizeof(nonce));
	sodium_bin2hex(nonce_hex, sizeof(nonce_hex), nonce, sizeof(nonce));
	if ((r = buf_putf(text, ACTION_MAGIC "\nkind=%s\ntime=%llu\n"
	    "nonce=%s\n", kind, (unsigned long long)when, nonce_hex)) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if ((r = buf_putf(text, "%s=%s\n", keys[i], values[i])) != 0)
			goto out;
	/* What we sign must be exactly what verifiers accept (this also
	 * catches duplicate keys). */
	if (action_parse(buf_ptr(text), buf_len(text), &check) != 0) {
		r = ERR_INVALID;
		goto out;
	}
	if ((h = minisig_hash_new()) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if ((r = minisig_hash_update(h, buf_ptr(text), buf_len(text))) != 0 ||
	    (r = minisig_hash_final(h, prehash)) != 0)
		goto out;
	snprintf(trusted, sizeof(trusted), ACTION_MAGIC " kind=%s", kind);
	if ((r = minisig_sign(sk, prehash, "tenant-export signed action",
	    trusted, sig)) != 0)
		goto out;
	if ((r = buf_put(text_out, buf_ptr(text), buf_len(text))) != 0)
		goto out;
	if ((r = buf_put(sig_out, buf_ptr(sig), buf_len(sig))) != 0) {
		buf_unput(text_out, buf_len(text));
		goto out;
	}
	r = 0;
 out:
	action_free(check);
	minisig_hash_free(h);
	buf_free(text);
	buf_free(sig);
	return r;
}

int
action_sign(const struct minisig_seckey *sk, const char *kind,
    const char *const *keys, const char *const *values, size_t n,
    struct buf *text_out, struct buf *sig_out)
{
	time_t now = time(NULL);

	if (now < 0)
		return ERR_INTERNAL;
	return action_sign_at(sk, kind, (uint64_t)now, keys, values, n,
	    text_out, sig_out);
}

int
action_sig_keyid(const uint8_t *sig, size_t slen, uint8_t key_id[8])
{
	struct buf *b = NULL;
	const uint8_t *line;
	size_t len, got = 0;
	uint8_t raw[2 + 8 + 64];
	int r = ERR_FORMAT;

	memset(key_id, 0, 8);
	if (sig == NULL || slen == 0 || slen > ACTION_SIG_MAX)
		return ERR_FORMAT;
	if ((b = buf_from(sig, slen)) == NULL)
		return ERR_NOMEM;
	if (buf_get_line(b, &line, &len, ACTION_SIG_MAX) != 0 ||
	    len < 19 || memcmp(line, "untrusted comment: ", 19) != 0)
		goto out;
	if (buf_get_line(b, &line, &len, ACTION_SIG_MAX) != 0 || len != 100)
		goto out;
	if (sodium_base642bin(raw, sizeof(raw), (const char *)line, len, NULL,
	    &got, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    got != sizeof(raw))
		goto out;
	if (raw[0] != 'E' || raw[1] != 'D')
		goto out;
	memcpy(key_id, raw + 2, 8);
	r = 0;
 out:
	buf_free(b);
	return r;
}

int
action_check(const uint8_t *text, size_t tlen, const uint8_t *sig,
    size_t slen, const struct minisig_pubkey *pk, struct action **out)
{
	struct action *a = NULL;
	struct minisig_hash *h = NULL;
	uint8_t prehash[MINISIG_PREHASH_LEN];
	char *trusted = NULL, expect[64];
	int r;

	*out = NULL;
	if ((r = action_parse(text, tlen, &a)) != 0)
		goto out;
	if (sig == NULL || slen == 0 || slen > ACTION_SIG_MAX) {
		r = ERR_FORMAT;
		goto out;
	}
	if ((h = minisig_hash_new()) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if ((r = minisig_hash_update(h, text, tlen)) != 0 ||
	    (r = minisig_hash_final(h, prehash)) != 0)
		goto out;
	r = minisig_verify(pk, prehash, sig, slen, &trusted);
	if (r == ERR_SIG_FORMAT || r == ERR_UNSUPPORTED) {
		r = ERR_FORMAT;
		goto out;
	}
	snprintf(expect, sizeof(expect), ACTION_MAGIC " kind=%s", a->kind);
	if (r != 0 || trusted == NULL || strcmp(trusted, expect) != 0) {
		r = ERR_SIG_INVALID;
		goto out;
	}
	*out = a;
	a = NULL;
	r = 0;
 out:
	free(trusted);
	minisig_hash_free(h);
	action_free(a);
	return r;
}

/* Records the nonce; ERR_EXISTS when it was already there. */
static int
nonce_record(PGconn *c, const struct action *a, char *err, size_t errlen)
{
	PGresult *res;
	char hex[2 * ACTION_NONCE_LEN + 3];
	const char *params[2];
	int r = 0;

	hex[0] = '\\';
	hex[1] = 'x';
	memcpy(hex + 2, a->nonce_hex, sizeof(a->nonce_hex));
	params[0] = hex;
	params[1] = a->principal.name;
	res = PQexecParams(c, "INSERT INTO texp_control.nonces "
	    "(nonce, principal) VALUES ($1::bytea, $2) "
	    "ON CONFLICT (nonce) DO NOTHING", 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		err_set(err, errlen, "nonce: %s",
		    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) != NULL ?
		    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) :
		    "query failed");
		r = ERR_DB;
	} else if (strcmp(PQcmdTuples(res), "1") != 0) {
		err_set(err, errlen, "replayed action (nonce already used)");
		r = ERR_EXISTS;
	}
	PQclear(res);
	return r;
}

int
action_verify(PGconn *c, const uint8_t *text, size_t tlen, const uint8_t *sig,
    size_t slen, const struct action_keys *keys, const char *control_id,
    uint64_t now, uint64_t max_age, struct action **out, char *err,
    size_t errlen)
{
	struct action *a = NULL;
	struct control_principal who;
	const struct minisig_pubkey *pk = NULL;
	const char *cid;
	uint8_t kid[8];
	int r = ERR_INTERNAL;

	*out = NULL;
	err_set(err, errlen, "%s", "");
	if (c == NULL || keys == NULL || keys->find == NULL ||
	    control_id == NULL)
		return ERR_INVALID;
	if ((r = action_parse(text, tlen, &a)) != 0) {
		err_set(err, errlen, "malformed action");
		goto out;
	}
	action_free(a);
	a = NULL;
	if (action_sig_keyid(sig, slen, kid) != 0) {
		err_set(err, errlen, "malformed signature");
		r = ERR_FORMAT;
		goto out;
	}
	memset(&who, 0, sizeof(who));
	if ((r = keys->find(keys->ctx, kid, &who, &pk)) != 0) {
		err_set(err, errlen, "unknown or disabled principal");
		r = ERR_DENIED;
		goto out;
	}
	if ((r = action_check(text, tlen, sig, slen, pk, &a)) != 0) {
		err_set(err, errlen, r == ERR_FORMAT ? "malformed signature" :
		    "bad signature");
		goto out;
	}
	a->principal = who;
	if ((cid = action_get(a, "control")) == NULL ||
	    strcmp(cid, control_id) != 0) {
		err_set(err, errlen, "signed for another control database");
		r = ERR_CONTROL_ID;
		goto out;
	}
	if ((a->time > now && a->time - now > max_age) ||
	    (a->time <= now && now - a->time > max_age)) {
		err_set(err, errlen, "stale action (signed outside the "
		    "%llu-second window of the database's clock)",
		    (unsigned long long)max_age);
		r = ERR_EXPIRED;
		goto out;
	}
	if (keys->nonce_seen != NULL && keys->nonce_seen(keys->ctx, a->nonce)) {
		err_set(err, errlen, "replayed action (accepted before)");
		r = ERR_EXISTS;
		goto out;
	}
	if ((r = nonce_record(c, a, err, errlen)) != 0)
		goto out;
	a->verified = 1;
	*out = a;
	a = NULL;
	r = 0;
 out:
	action_free(a);
	return r;
}

const char *
action_kind(const struct action *a)
{
	return a->kind;
}

const char *
action_get(const struct action *a, const char *key)
{
	size_t i;

	if (a == NULL || key == NULL)
		return NULL;
	if (strcmp(key, "kind") == 0)
		return a->kind;
	if (strcmp(key, "time") == 0)
		return a->time_str;
	if (strcmp(key, "nonce") == 0)
		return a->nonce_hex;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->keys[i], key) == 0)
			return a->values[i];
	return NULL;
}

uint64_t
action_time(const struct action *a)
{
	return a->time;
}

const char *
action_nonce_hex(const struct action *a)
{
	return a->nonce_hex;
}

const uint8_t *
action_nonce(const struct action *a)
{
	return a->nonce;
}

const struct control_principal *
action_principal(const struct action *a)
{
	return a != NULL && a->verified ? &a->principal : NULL;
}

int
action_seckey_load(const char *keypath, const char *passfile,
    struct minisig_seckey **out, char *err, size_t errlen)
{
	struct minisig_seckey *sk = NULL;
	char *pass = NULL;
	size_t passlen = 0;
	int r = ERR_INTERNAL;

	*out = NULL;
	err_set(err, errlen, "%s", "");
	if (keypath == NULL)
		return ERR_INVALID;
	/* An unencrypted key loads without a passphrase: refuse it, since
	 * unlocking the key is what re-authenticates the principal. */
	r = minisig_seckey_load(keypath, NULL, 0, &sk);
	if (r == 0) {
		err_set(err, errlen, "\"%s\" is not passphrase-protected",
		    keypath);
		r = ERR_KEY;
		goto out;
	}
	if (r != ERR_PASSPHRASE) {
		if (minisig_pubkey_file(keypath))
			err_set(err, errlen, "\"%s\" is a public key: --as takes "
			    "your secret key (the .key file keygen wrote)",
			    keypath);
		else
			err_set(err, errlen, "\"%s\" %s", keypath,
			    r == ERR_FORMAT || r == ERR_KEY ?
			    "is not a minisign secret key" :
			    file_error_reason(keypath, r));
		goto out;
	}
	if (passfile != NULL) {
		if ((r = file_read_secret_line(passfile, PASS_MAX, &pass,
		    &passlen)) != 0) {
			err_set(err, errlen, "passphrase file \"%s\" %s",
			    passfile, file_error_reason(passfile, r));
			goto out;
		}
	} else if (isatty(STDIN_FILENO)) {
		if ((pass = sodium_malloc(PASS_MAX + 1)) == NULL) {
			r = ERR_NOMEM;
			goto out;
		}
		if (readpassphrase("Passphrase for the signing key: ", pass,
		    PASS_MAX + 1, RPP_REQUIRE_TTY) == NULL) {
			err_set(err, errlen, "cannot read a passphrase from "
			    "the terminal");
			r = ERR_IO;
			goto out;
		}
		passlen = strlen(pass);
	} else {
		err_set(err, errlen, "no passphrase: use --passphrase-file "
		    "or run at a terminal");
		r = ERR_USAGE;
		goto out;
	}
	r = minisig_seckey_load(keypath, pass, passlen, &sk);
	if (r != 0) {
		err_set(err, errlen, "\"%s\": %s", keypath, err_str(r));
		goto out;
	}
	*out = sk;
	sk = NULL;
	r = 0;
 out:
	if (pass != NULL)
		sodium_free(pass);	/* wipes the whole allocation */
	minisig_seckey_free(sk);
	return r;
}
