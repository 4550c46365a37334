/*
 * cli.h: tenant-export subcommands. main.c dispatches through one table of
 * {name, fn, summary}; each subcommand lives in cli/cmd_NAME.c.
 *
 * A subcommand gets argv starting at its own name (argv[0] is "db-setup"),
 * parses its options with getopt_long, prints its own messages as
 * "tenant-export: NAME: ...", and returns the process exit status:
 */
#ifndef TEXP_CLI_H
#define TEXP_CLI_H

#include <getopt.h>
#include <stdio.h>

#define CMD_EXIT_OK	0	/* done; checks passed */
#define CMD_EXIT_FAIL	1	/* a check or the export failed */
#define CMD_EXIT_USAGE	2	/* usage or operational error */

/*
 * What every subcommand shares on its command line (cli.c). A command
 * names itself as its messages do ("run", "audit verify") and prints its
 * own usage text (name lets one printer serve several commands).
 */
struct cli_cmd {
	const char *name;
	void (*usage)(FILE *f, const char *name);
};
/*
 * getopt_long over opts plus -h/--help and -V/--version (opts need not
 * list them; shortopts are the command's own short options, may be
 * NULL). Help prints the usage on stdout, version the version, and both
 * exit 0. An unknown option or one without its value prints
 * "tenant-export: CMD: reason" and a hint to run --help, and exits 2.
 * Otherwise returns what getopt_long returns. In the test build,
 * TEXP_TEST_LIST_OPTIONS lists the long options parsed and exits.
 */
int cli_getopt(int argc, char **argv, const char *shortopts,
    const struct option *opts, const struct cli_cmd *cmd);
/* Prints "tenant-export: CMD: reason" and the --help hint on stderr;
 * returns CMD_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "PROG VERSION (commit HASH)". */
void cli_version(FILE *f, const char *prog);

/* Prints or applies the SQL that scopes export sessions (cmd_dbsetup.c). */
int cmd_dbsetup(int argc, char **argv);
/* Checks a live database against the config (cmd_lint.c). */
int cmd_lint(int argc, char **argv);
/* Exports one tenant into a signed, encrypted archive (cmd_run.c). */
int cmd_run(int argc, char **argv);
/* Creates the exporter's signing key pair (cmd_keygen.c). */
int cmd_keygen(int argc, char **argv);
/* Creates or upgrades the control schema; bootstraps an admin (cmd_init.c). */
int cmd_init(int argc, char **argv);
/* Verifies, checkpoints and shows the audit log (cmd_audit.c). */
int cmd_audit(int argc, char **argv);
/* Signed admin actions on principals, tenants, assignments (cmd_admin.c). */
int cmd_principal(int argc, char **argv);
int cmd_tenant(int argc, char **argv);
int cmd_assign(int argc, char **argv);
int cmd_unassign(int argc, char **argv);
int cmd_submit(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_resume(int argc, char **argv);
/* Export jobs: signed requests, approval, status, fetch, sweep
 * (cmd_request.c, cmd_approve.c, cmd_jobs.c, cmd_fetch.c, cmd_sweep.c). */
int cmd_request(int argc, char **argv);
int cmd_approve(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_cancel(int argc, char **argv);
int cmd_fetch(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
/* Requests a fresh export of a finished job's scope (cmd_retry.c). */
int cmd_retry(int argc, char **argv);
/* Runs queued jobs as a worker principal (cmd_worker.c). */
int cmd_worker(int argc, char **argv);
/* Waits until jobs are done (cmd_wait.c). */
int cmd_wait(int argc, char **argv);
/* The auditor's cross-tenant leak test (cmd_leaktest.c). */
int cmd_leaktest(int argc, char **argv);
/* The service principals talk to (cmd_serve.c). */
int cmd_serve(int argc, char **argv);
/* Monitoring (cmd_alerts.c, cmd_metrics.c, cmd_report.c). */
int cmd_alerts(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
int cmd_report(int argc, char **argv);

/*
 * For commands of the service's account: connects to the control database
 * with the config's [database] login and checks the control schema is
 * current. Prints "tenant-export: CMD: reason" and returns a negative err
 * code on failure (*out NULL); the caller PQfinish()es *out.
 */
struct config;
typedef struct pg_conn PGconn;
int cmd_control_connect(const char *cmd, const struct config *cfg,
    PGconn **out);
/*
 * The same after loading the config at path into *cfg (libsodium ready
 * first): what a command that reads the control database does before
 * anything else. 0, or -1 once it has said why; the caller frees *cfg
 * and PQfinish()es *c either way.
 */
int cmd_config_connect(const char *cmd, const char *path,
    struct config **cfg, PGconn **c);

#endif
