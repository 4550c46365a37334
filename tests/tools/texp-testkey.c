/*
 * texp-testkey: writes a passphrase-protected principal key (minisign
 * format, PREFIX.key and PREFIX.pub) with the lowest scrypt cost libsodium
 * allows, so that integration tests can unlock keys dozens of times.
 * Real keys come from `tenant-export keygen` (minisign's cost). Not
 * installed.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "err.h"
#include "minisig.h"

int
main(int argc, char **argv)
{
	struct minisig_seckey *sk = NULL;
	struct minisig_pubkey *pk = NULL;
	char path[4096], pub[4096], pass[256];
	FILE *f;
	size_t n;
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: texp-testkey PREFIX PASSPHRASE_FILE\n");
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
	if ((r = minisig_keygen(pass, n, &sk, &pk)) != 0 ||
	    (r = minisig_seckey_set_kdf(sk,
	    crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_MIN,
	    crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_MIN)) != 0 ||
	    (r = minisig_seckey_write(sk, path, NULL, 0)) != 0 ||
	    (r = minisig_pubkey_write(pk, pub)) != 0) {
		fprintf(stderr, "texp-testkey: %s\n", err_str(r));
		return 1;
	}
	sodium_memzero(pass, sizeof(pass));
	minisig_seckey_free(sk);
	minisig_pubkey_free(pk);
	return 0;
}
