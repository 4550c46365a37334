/*
 * tenant-verify: proves that an archive from tenant-export holds exactly
 * one tenant's data, unaltered and complete, and extracts it.
 *
 * Exit status: 0 proven / success, 1 verification failed, 2 usage or
 * operational error.
 */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <sodium.h>

#include "cmd.h"
#include "report.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} subcommands[] = {
	{ "verify", cmd_verify, "Prove an archive: tenant, completeness, "
	    "signature" },
	{ "extract", cmd_extract, "Verify, then write the records as JSON "
	    "Lines, CSV or CBOR" },
	{ "inspect", cmd_inspect, "Show an archive's layout, header and "
	    "claims (unverified)" },
	{ "keygen", cmd_keygen, "Create an age identity file for receiving "
	    "archives" },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: %s <command> [options] ARCHIVE\n\n", REPORT_PROG);
	fprintf(f, "Commands:\n");
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %-9s %s\n", subcommands[i].name,
		    subcommands[i].summary);
	fprintf(f, "\n'%s <command> --help' shows a command's options.\n"
	    "'%s -V' (--version) shows the version and commit.\n\n"
	    "Exit status: 0 proven / success, 1 verification failed,\n"
	    "2 usage or operational error.\n", REPORT_PROG, REPORT_PROG);
}

int
main(int argc, char **argv)
{
	struct rlimit rl = { 0, 0 };
	size_t i;

	/* Decrypted records and keys must not end up in a core file. */
	(void)setrlimit(RLIMIT_CORE, &rl);
	/* Numbers print with '.' whatever the environment says. */
	setlocale(LC_ALL, "C");
	if (sodium_init() < 0) {
		fprintf(stderr, "%s: cannot initialise libsodium\n",
		    REPORT_PROG);
		return CMD_EXIT_USAGE;
	}
	if (argc < 2) {
		usage(stderr);
		return CMD_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CMD_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0 ||
	    strcmp(argv[1], "version") == 0) {
		cmd_version();
		return CMD_EXIT_OK;
	}
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "%s: %s: unknown command\n", REPORT_PROG, argv[1]);
	fprintf(stderr, "%s: try '%s --help'\n", REPORT_PROG, REPORT_PROG);
	return CMD_EXIT_USAGE;
}
