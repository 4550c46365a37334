/*
 * tenant-export keygen: the exporter's signing key pair, in minisign's
 * formats so recipients can check archives with stock minisign too.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "err.h"
#include "file.h"
#include "minisig.h"

static void
keygen_usage(FILE *f)
{
	fprintf(f,
"usage: tenant-export keygen --out PREFIX (--passphrase-file FILE | --unencrypted)\n"
"                            [--cost LEVEL]\n"
"\n"
"Writes PREFIX.key (the secret signing key, mode 0600, encrypted with the\n"
"passphrase in FILE as minisign does) and PREFIX.pub (the public key to\n"
"give recipients: tenant-verify --signer PREFIX.pub, or minisign -V -p).\n"
"Refuses to overwrite either file.\n"
"\n"
"  --out PREFIX             where to write the two files\n"
"  --passphrase-file FILE   first line of FILE protects the secret key\n"
"  --unencrypted            store the secret key unencrypted (the service's\n"
"                           signing key, kept readable by its account only)\n"
"  --cost LEVEL             what unlocking the key costs (scrypt memory and\n"
"                           CPU time on a small machine), paid by every\n"
"                           signed command: 1 = 16 MiB, 0.1 s; 2 = 64 MiB,\n"
"                           0.4 s; 3 = 256 MiB, 1.5 s (default); 4 = 1 GiB,\n"
"                           6 s (what minisign -G writes)\n"
"\n"
"Exit status: 0 written; 2 usage or operational error.\n");
}

int
cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "unencrypted", no_argument, NULL, 'u' },
		{ "cost", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct minisig_seckey *sk = NULL;
	struct minisig_pubkey *pk = NULL;
	const char *out = NULL, *passfile = NULL;
	char *pass = NULL, path[4096], pubpath[4096];
	size_t passlen = 0;
	uint64_t ops, mem;
	char *end;
	long cost = MINISIG_COST_DEFAULT;
	int c, unenc = 0, r, rc = CMD_EXIT_USAGE;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'p': passfile = optarg; break;
		case 'u': unenc = 1; break;
		case 'h': keygen_usage(stdout); return CMD_EXIT_OK;
		case 'C':
			cost = strtol(optarg, &end, 10);
			if (*end != '\0' || minisig_cost_params((int)cost, &ops,
			    &mem) != 0) {
				fprintf(stderr, "tenant-export: keygen: --cost: "
				    "expected a level from %d to %d\n",
				    MINISIG_COST_MIN, MINISIG_COST_MAX);
				return CMD_EXIT_USAGE;
			}
			break;
		default: keygen_usage(stderr); return CMD_EXIT_USAGE;
		}
	}
	if (optind != argc || out == NULL || (passfile == NULL) == !unenc) {
		keygen_usage(stderr);
		return CMD_EXIT_USAGE;
	}
	if (sodium_init() < 0)
		return CMD_EXIT_USAGE;
	if (passfile != NULL && (r = file_read_secret_line(passfile, 1024,
	    &pass, &passlen)) != 0) {
		fprintf(stderr, "tenant-export: keygen: cannot read a passphrase "
		    "from \"%s\": %s\n", passfile, r == ERR_PASSPHRASE ?
		    "it is empty" : err_str(r));
		goto out;
	}
	snprintf(path, sizeof(path), "%s.key", out);
	snprintf(pubpath, sizeof(pubpath), "%s.pub", out);
	if (access(path, F_OK) == 0 || access(pubpath, F_OK) == 0) {
		fprintf(stderr, "tenant-export: keygen: \"%s\" or \"%s\" already "
		    "exists; refusing to overwrite\n", path, pubpath);
		goto out;
	}
	if ((r = minisig_cost_params((int)cost, &ops, &mem)) != 0 ||
	    (r = minisig_keygen(pass, passlen, &sk, &pk)) != 0 ||
	    (r = minisig_seckey_set_kdf(sk, ops, mem)) != 0 ||
	    (r = minisig_seckey_write(sk, path, NULL, 0)) != 0) {
		fprintf(stderr, "tenant-export: keygen: \"%s\": %s\n", path,
		    err_str(r));
		goto out;
	}
	if ((r = minisig_pubkey_write(pk, pubpath)) != 0) {
		unlink(path);
		fprintf(stderr, "tenant-export: keygen: \"%s\": %s\n", pubpath,
		    err_str(r));
		goto out;
	}
	if (pass != NULL)
		printf("tenant-export: keygen: %s (secret; unlocking it needs "
		    "%llu MiB) and %s (public) written\n", path,
		    (unsigned long long)(mem >> 20), pubpath);
	else
		printf("tenant-export: keygen: %s (secret, unencrypted) and %s "
		    "(public) written\n", path, pubpath);
	rc = CMD_EXIT_OK;
 out:
	if (pass != NULL)
		sodium_free(pass);
	minisig_seckey_free(sk);
	minisig_pubkey_free(pk);
	return rc;
}
