/*
 * texp-testkey: writes a passphrase-protected principal key (minisign
 * format, PREFIX.key and PREFIX.pub) with the lowest scrypt cost libsodium
 * allows, so that integration tests can unlock keys dozens of times.
 * Real keys come from `tenant-export keygen` (minisign's cost). Not
 * installed.
 *
 * With a third argument, also writes the raw Ed25519 secret key there as
 * hex: the memory-scan tests look for those bytes in a builder.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "minisig.h"

/* The 64 secret bytes of an unencrypted key, from its file text:
 * "Ed", kdf "\0\0", "B2", salt 32, opslimit 8, memlimit 8, key id 8,
 * then the key. */
static int
dump_secret(const struct minisig_seckey *sk, const char *out)
{
	struct buf *t = buf_new_secret(4096);
	uint8_t bin[512];
	char hex[129], *line, *nl;
	size_t got = 0;
	FILE *f;
	int r;

	if (t == NULL)
		return ERR_NOMEM;
	if ((r = minisig_seckey_encode(sk, NULL, 0, t)) != 0 ||
	    (r = buf_put_u8(t, 0)) != 0)
		goto out;
	r = ERR_FORMAT;
	if ((line = strchr((const char *)buf_ptr(t), '\n')) == NULL)
		goto out;
	line++;
	if ((nl = strchr(line, '\n')) != NULL)
		*nl = '\0';
	if (sodium_base642bin(bin, sizeof(bin), line, strlen(line), NULL, &got,
	    NULL, sodium_base64_VARIANT_ORIGINAL) != 0 || got < 62 + 64 ||
	    bin[2] != 0 || bin[3] != 0)
		goto out;
	sodium_bin2hex(hex, sizeof(hex), bin + 62, 64);
	r = ERR_IO;
	if ((f = fopen(out, "w")) != NULL) {
		r = fprintf(f, "%s\n", hex) > 0 && fclose(f) == 0 ? 0 : ERR_IO;
	}
 out:
	sodium_memzero(bin, sizeof(bin));
	buf_free(t);
	return r;
}

int
main(int argc, char **argv)
{
	struct minisig_seckey *sk = NULL;
	struct minisig_pubkey *pk = NULL;
	char path[4096], pub[4096], pass[256];
	FILE *f;
	size_t n;
	int r;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: texp-testkey PREFIX PASSPHRASE_FILE "
		    "[SECRET_HEX_FILE]\n");
		return 2;
	}
	if (sodium_init() < 0 || (f = fopen(argv[2], "r")) == NULL ||
	    fgets(pass, sizeof(pass), f) == NULL) {
		fprintf(stderr, "texp-testkey: cannot read \"%s\"\n", argv[2]);
		return 2;
	}
	fclose(f);
	n = strcspn(pass, "\r\n");
	pass[n] = '\0';
	snprintf(path, sizeof(path), "%s.key", argv[1]);
	snprintf(pub, sizeof(pub), "%s.pub", argv[1]);
	if (argc == 4) {
		/* made unencrypted, its raw bytes read off its own file
		 * text, then written encrypted like any other */
		if ((r = minisig_keygen(NULL, 0, &sk, &pk)) != 0 ||
		    (r = dump_secret(sk, argv[3])) != 0) {
			fprintf(stderr, "texp-testkey: %s\n", err_str(r));
			return 1;
		}
		if ((r = minisig_seckey_set_kdf(sk,
		    crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_MIN,
		    crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_MIN)) != 0 ||
		    (r = minisig_seckey_write(sk, path, pass, n)) != 0 ||
		    (r = minisig_pubkey_write(pk, pub)) != 0) {
			fprintf(stderr, "texp-testkey: %s\n", err_str(r));
			return 1;
		}
		goto done;
	}
	if ((r = minisig_keygen(pass, n, &sk, &pk)) != 0 ||
	    (r = minisig_seckey_set_kdf(sk,
	    crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_MIN,
	    crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_MIN)) != 0 ||
	    (r = minisig_seckey_write(sk, path, NULL, 0)) != 0 ||
	    (r = minisig_pubkey_write(pk, pub)) != 0) {
		fprintf(stderr, "texp-testkey: %s\n", err_str(r));
		return 1;
	}
 done:
	sodium_memzero(pass, sizeof(pass));
	minisig_seckey_free(sk);
	minisig_pubkey_free(pk);
	return 0;
}
