/*
 * cmd.h: tenant-verify's subcommands and the helpers they share.
 *
 * Each subcommand takes (argc, argv) with argv[0] the subcommand name and
 * returns the process exit status:
 *   0  proven / success
 *   1  verification failed
 *   2  usage or operational error
 * Subcommands print (they are the CLI); the library modules they call do
 * not. Errors are "tenant-verify: <context>: <reason>" on stderr, never
 * with a secret or a row value.
 */
#ifndef TEXP_CMD_H
#define TEXP_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "verify.h"

#define CMD_EXIT_OK	0
#define CMD_EXIT_FAIL	1
#define CMD_EXIT_USAGE	2
/* Internal: --help was printed; the caller exits 0. */
#define CMD_HELP	3

#define CMD_MAX_PASSPHRASE	4096
#define CMD_MAX_SIGNER_ARGS	16	/* --signer given this often at most */

int cmd_verify(int argc, char **argv);
int cmd_extract(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_keygen(int argc, char **argv);

/* Options shared by verify and extract (extract adds format and out). */
struct cmd_args {
	const char *identity;		/* --identity FILE */
	const char *passfile;		/* --passphrase-file FILE */
	const char *signer[CMD_MAX_SIGNER_ARGS]; /* --signer PUBKEY (file or
					 * base64), repeatable */
	size_t nsigner;
	const char *signers_file;	/* --signers FILE (a keyring) */
	const char *tenant;		/* --tenant ID */
	const char *foreign_file;	/* --foreign-ids[-json] FILE */
	int foreign_json;		/* 1: --foreign-ids-json */
	int foreign_mode;		/* --match (enum foreign_mode) */
	const char *format;		/* --format (extract) */
	const char *out;		/* --out DIR (extract) */
	const char *archive;		/* the one operand */
	int max_log_n;			/* --max-work-factor, default 22 */
	int strict_expiry;
	int exit_on_error;
	int content_only;		/* --content-only */
	int json;
};

/*
 * Parses verify's (extract == 0) or extract's (extract == 1) options into
 * *a. Returns 0, CMD_HELP after printing the usage to stdout, or
 * CMD_EXIT_USAGE after printing the error and a hint to stderr. Checks
 * that the required options are present.
 */
int cmd_args_parse(int extract, int argc, char **argv, struct cmd_args *a);
/*
 * Refuses (usage error printed, CMD_EXIT_USAGE) an ARCHIVE that is one
 * part of a split archive (NAME.texp.001, ...): alone it cannot be
 * authenticated, and the message names NAME.texp.index to give instead.
 * 0 otherwise.
 */
int cmd_archive_check(const char *context, const char *path);

/* Keys and lists loaded from the options; freed by cmd_keys_free. */
struct cmd_keys {
	struct age_identity **ids;
	size_t nids;
	struct minisig_pubkey **signers;	/* every pinned key */
	size_t nsigners;
	struct foreign_list *foreign;	/* NULL without --foreign-ids */
};

/*
 * Loads the identity file or the passphrase (first line of passfile,
 * through age_identity_passphrase with max_log_n), the pinned signer keys
 * (a->signer[] and the keyring a->signers_file; no key id twice), and the
 * foreign-id list (foreign.h; a->foreign_json: the JSON form) when
 * a->foreign_file != NULL. context names the subcommand in messages.
 * Returns 0, or CMD_EXIT_USAGE after printing why. identity and passfile
 * may both be NULL (no decryption key: inspect); a may be NULL (no signer
 * keys, no foreign ids).
 */
int cmd_keys_load(const char *context, const char *identity,
    const char *passfile, int max_log_n, const struct cmd_args *a,
    struct cmd_keys *k);
/* Wipes and frees; accepts a zeroed struct. */
void cmd_keys_free(struct cmd_keys *k);

/* Fills o from keys and args (now = current time). */
void cmd_opts_fill(const struct cmd_args *a, const struct cmd_keys *k,
    struct verify_opts *o);

/*
 * getopt_long(":hV" shortopts, opts) with --version added: prints the version
 * and exits 0 for it. In the test build, TEXP_TEST_LIST_OPTIONS lists the
 * long options parsed and exits (the test that the help, the README and
 * the manual page name them all).
 */
struct option;
int cmd_getopt(int argc, char **argv, const char *shortopts,
    const struct option *opts);
/* "tenant-verify VERSION (commit HASH)". */
void cmd_version(void);

/* Prints "tenant-verify: <context>: <reason>" then a hint to run --help. */
void cmd_usage_error(const char *context, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
