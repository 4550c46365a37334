/*
 * cmd.h: tenant-export subcommands. main.c dispatches through one table of
 * {name, fn, summary}; each subcommand lives in exporter/cmd_NAME.c.
 *
 * A subcommand gets argv starting at its own name (argv[0] is "db-setup"),
 * parses its options with getopt_long, prints its own messages as
 * "tenant-export: NAME: ...", and returns the process exit status:
 */
#ifndef TEXP_CMD_H
#define TEXP_CMD_H

#define CMD_EXIT_OK	0	/* done; checks passed */
#define CMD_EXIT_FAIL	1	/* a check or the export failed */
#define CMD_EXIT_USAGE	2	/* usage or operational error */

/* Prints or applies the SQL that scopes export sessions (cmd_dbsetup.c). */
int cmd_dbsetup(int argc, char **argv);
/* Checks a live database against the config (cmd_lint.c). */
int cmd_lint(int argc, char **argv);
/* Exports one tenant into a signed, encrypted archive (cmd_run.c). */
int cmd_run(int argc, char **argv);
/* Creates the exporter's signing key pair (cmd_keygen.c). */
int cmd_keygen(int argc, char **argv);

#endif
