/*
 * signkey.c: the archive signing key, loaded first and kept out of the
 * children's sight (signkey.h).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "config.h"
#include "err.h"
#include "file.h"
#include "minisig.h"
#include "sandbox.h"
#include "signkey.h"

#define KEYFILE_MAX	4096
#define PASS_MAX	4096

struct signkey {
	char *text;		/* unencrypted key file text, WIPEONFORK */
	size_t len;		/* bytes of text */
	size_t cap;		/* bytes allocated */
	char id[MINISIG_KEYID_HEX];
};

/* Reads and unlocks the key file into *sk. */
static int
unlock(const struct config_export *ce, struct minisig_seckey **sk,
    char *err, size_t errlen)
{
	struct buf *b = NULL;
	char *pass = NULL;
	size_t passlen = 0;
	int r;

	if ((r = file_read_small(AT_FDCWD, ce->signing_key, KEYFILE_MAX, 1,
	    &b)) != 0) {
		if (r == ERR_PERM && minisig_pubkey_file(ce->signing_key))
			err_set(err, errlen, "the signing key \"%s\" is a public "
			    "key: signing_key names the secret key (.key)",
			    ce->signing_key);
		else
			err_set(err, errlen, "the signing key \"%s\" %s",
			    ce->signing_key,
			    file_error_reason(ce->signing_key, r));
		return r;
	}
	r = minisig_seckey_parse((const char *)buf_ptr(b), buf_len(b), NULL,
	    0, sk);
	if (r == ERR_PASSPHRASE && ce->signing_passphrase_file == NULL) {
		err_set(err, errlen, "the signing key \"%s\" is encrypted: name "
		    "its passphrase file in [export] signing_passphrase_file",
		    ce->signing_key);
		goto out;
	}
	if (r == ERR_PASSPHRASE) {
		if ((r = file_read_secret_line(ce->signing_passphrase_file,
		    PASS_MAX, &pass, &passlen)) != 0) {
			err_set(err, errlen, "the signing key's passphrase file "
			    "\"%s\" %s", ce->signing_passphrase_file,
			    file_error_reason(ce->signing_passphrase_file, r));
			goto out;
		}
		r = minisig_seckey_parse((const char *)buf_ptr(b), buf_len(b),
		    pass, passlen, sk);
		if (r == ERR_PASSPHRASE) {
			err_set(err, errlen, "the passphrase in \"%s\" does not "
			    "unlock the signing key \"%s\"",
			    ce->signing_passphrase_file, ce->signing_key);
			goto out;
		}
	}
	if (r != 0)
		err_set(err, errlen, "the signing key \"%s\" is not a minisign "
		    "secret key: %s", ce->signing_key, err_str(r));
 out:
	if (pass != NULL)
		sodium_free(pass);
	buf_free(b);	/* secret: wiped */
	return r;
}

int
signkey_load(const struct config *cfg, struct signkey **out, char *err,
    size_t errlen)
{
	const struct config_export *ce = config_export(cfg);
	struct minisig_seckey *sk = NULL;
	struct signkey *k = NULL;
	struct buf *b = NULL;
	uint8_t id[MINISIG_KEYID_LEN];
	int r;

	*out = NULL;
	err_set(err, errlen, "%s", "");
	if (ce->signing_key == NULL) {
		err_set(err, errlen, "no signing key: set signing_key in "
		    "[export]");
		return ERR_CONFIG;
	}
	if ((r = unlock(ce, &sk, err, errlen)) != 0)
		return r;
	minisig_seckey_forget_passphrase(sk);
	if ((k = calloc(1, sizeof(*k))) == NULL ||
	    (b = buf_new_secret(KEYFILE_MAX)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if ((r = minisig_seckey_encode(sk, NULL, 0, b)) != 0)
		goto out;
	k->cap = buf_len(b);
	if ((k->text = sandbox_secret_alloc(k->cap)) == NULL) {
		err_set(err, errlen, "cannot keep the signing key in memory "
		    "that children cannot read (MADV_WIPEONFORK)");
		r = ERR_SANDBOX;
		goto out;
	}
	memcpy(k->text, buf_ptr(b), buf_len(b));
	k->len = buf_len(b);
	minisig_seckey_keyid(sk, id);
	minisig_keyid_hex(id, k->id);
	*out = k;
	k = NULL;
	r = 0;
 out:
	if (r != 0 && err != NULL && err[0] == '\0')
		err_set(err, errlen, "cannot load the signing key \"%s\": %s",
		    ce->signing_key, err_str(r));
	minisig_seckey_free(sk);
	buf_free(b);
	signkey_free(k);
	return r;
}

const char *
signkey_id(const struct signkey *k)
{
	return k->id;
}

int
signkey_get(const struct signkey *k, struct minisig_seckey **sk)
{
	return minisig_seckey_parse(k->text, k->len, NULL, 0, sk);
}

void
signkey_free(struct signkey *k)
{
	if (k == NULL)
		return;
	sandbox_secret_free(k->text, k->cap);
	free(k);
}
