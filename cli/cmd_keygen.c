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
keygen_usage(FILE *f, const char *name)
{
	(void)name;
	fprintf(f,
"usage: tenant-export keygen --out PREFIX (--passphrase-file FILE | --unencrypted)\n"
"                            [--cost LEVEL]\n"
"\n"
"Writes a minisign key pair: PREFIX.key (the secret key, mode 0600,\n"
"encrypted with the passphrase in FILE as minisign does) and PREFIX.pub\n"
"(the public key: a principal's to register with `principal add`, the\n"
"root key to pin, or the archive signing key to give recipients for\n"
"tenant-verify --signer or minisign -V -p). Refuses to overwrite either.\n"
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

static const struct cli_cmd keygen_cmd = { "keygen", keygen_usage };

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
	while ((c = cli_getopt(argc, argv, NULL, opts, &keygen_cmd)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'p': passfile = optarg; break;
		case 'u': unenc = 1; break;
		case 'C':
			cost = strtol(optarg, &end, 10);
			if (*end != '\0' || minisig_cost_params((int)cost, &ops,
			    &mem) != 0)
				return cli_usage_error("keygen", "--cost: expected "
				    "a level from %d to %d", MINISIG_COST_MIN,
				    MINISIG_COST_MAX);
			break;
		default: return CMD_EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cli_usage_error("keygen", "unexpected argument '%s'",
		    argv[optind]);
	if (out == NULL)
		return cli_usage_error("keygen", "--out PREFIX is required");
	if (passfile != NULL && unenc)
		return cli_usage_error("keygen", "--passphrase-file and "
		    "--unencrypted contradict each other: give one");
	if (passfile == NULL && !unenc)
		return cli_usage_error("keygen", "give --passphrase-file FILE "
		    "(an encrypted key) or --unencrypted");
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
