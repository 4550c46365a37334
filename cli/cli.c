/*
 * cli.c: what every tenant-export subcommand shares on its command line
 * (cli.h): -h/--help, -V/--version, and one style for usage errors.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "version.h"

#define MERGED_MAX	96

void
cli_version(FILE *f, const char *prog)
{
	texp_version_print(f, prog);
}

int
cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "tenant-export: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\ntenant-export: try 'tenant-export %s --help'\n", cmd);
	return CMD_EXIT_USAGE;
}

/* opts with help and version added (once), in a static table. */
static const struct option *
merged_opts(const struct option *opts)
{
	static struct option m[MERGED_MAX];
	static const struct option *from;
	size_t i, n = 0;

	if (from == opts)
		return m;
	for (i = 0; opts[i].name != NULL && n < MERGED_MAX - 3; i++)
		if (strcmp(opts[i].name, "help") != 0 &&
		    strcmp(opts[i].name, "version") != 0)
			m[n++] = opts[i];
	m[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	m[n++] = (struct option){ "version", no_argument, NULL, 'V' };
	m[n] = (struct option){ NULL, 0, NULL, 0 };
	from = opts;
	return m;
}

#ifdef TEXP_TEST_HOOKS
/* The options a command really parses, for the test that its help, the
 * README and the manual page name them all (tests/static/docs.sh). */
static void
list_options(const struct option *m)
{
	size_t i;

	for (i = 0; m[i].name != NULL; i++)
		printf("--%s%s\n", m[i].name,
		    m[i].has_arg == required_argument ? " ARG" : "");
	exit(CMD_EXIT_OK);
}
#endif

int
cli_getopt(int argc, char **argv, const char *shortopts,
    const struct option *opts, const struct cli_cmd *cmd)
{
	const struct option *m = merged_opts(opts);
	char optstring[64];
	const char *bad;
	int ch;

#ifdef TEXP_TEST_HOOKS
	if (getenv("TEXP_TEST_LIST_OPTIONS") != NULL)
		list_options(m);
#endif
	snprintf(optstring, sizeof(optstring), ":hV%s",
	    shortopts != NULL ? shortopts : "");
	opterr = 0;
	ch = getopt_long(argc, argv, optstring, m, NULL);
	switch (ch) {
	case 'h':
		cmd->usage(stdout, cmd->name);
		exit(CMD_EXIT_OK);
	case 'V':
		cli_version(stdout, "tenant-export");
		exit(CMD_EXIT_OK);
	case ':':
		bad = argv[optind - 1];
		exit(cli_usage_error(cmd->name, "option '%s' needs a value",
		    bad));
	case '?':
		bad = optopt != 0 ? NULL : argv[optind - 1];
		if (bad != NULL)
			exit(cli_usage_error(cmd->name, "unknown option '%s'",
			    bad));
		exit(cli_usage_error(cmd->name, "unknown option '-%c'",
		    optopt));
	}
	return ch;
}
