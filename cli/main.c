/*
 * main.c: tenant-export command-line dispatcher.
 */
#include <sys/prctl.h>
#include <sys/resource.h>

#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} subcommands[] = {
	{ "db-setup", cmd_dbsetup,
	  "print (or --apply) the SQL that scopes exports to one tenant" },
	{ "lint", cmd_lint,
	  "check a live database against the config and isolation rules" },
	{ "run", cmd_run,
	  "export one tenant into a signed, encrypted archive" },
	{ "keygen", cmd_keygen,
	  "create the exporter's signing key pair" },
	{ "init", cmd_init,
	  "create or upgrade the control schema; register the first admin" },
	{ "principal", cmd_principal,
	  "add, grant roles to or disable a principal (signed, admin)" },
	{ "tenant", cmd_tenant,
	  "register a tenant and its display name (signed, admin)" },
	{ "assign", cmd_assign,
	  "let a principal act on a tenant (signed, admin)" },
	{ "unassign", cmd_unassign,
	  "remove a principal's tenant assignment (signed, admin)" },
	{ "submit", cmd_submit,
	  "apply a signed admin action written with --sign-only" },
	{ "pause", cmd_pause,
	  "stop workers claiming jobs of a tenant, or all (signed, admin)" },
	{ "resume", cmd_resume,
	  "let workers claim jobs again (signed, admin)" },
	{ "audit", cmd_audit,
	  "verify, checkpoint or show the audit log" },
	{ "request", cmd_request,
	  "request a tenant's export (signed; high-risk ones need approval)" },
	{ "approve", cmd_approve,
	  "approve another principal's high-risk export request (signed)" },
	{ "status", cmd_status, "show one export job (signed)" },
	{ "list", cmd_list, "list recent export jobs of your tenants (signed)" },
	{ "cancel", cmd_cancel, "cancel an export job (signed)" },
	{ "retry", cmd_retry,
	  "export a finished job's scope again; replaces it once ready" },
	{ "worker", cmd_worker,
	  "run queued jobs through the service, as a worker principal" },
	{ "wait", cmd_wait, "wait until jobs are done (signed)" },
	{ "fetch", cmd_fetch,
	  "copy a finished export out of the outbox (signed, counted)" },
	{ "leaktest", cmd_leaktest,
	  "the auditor's cross-tenant leak test (signed, role auditor)" },
	{ "sweep", cmd_sweep,
	  "delete expired archives and stale export roles (for cron)" },
	{ "serve", cmd_serve,
	  "the service principals talk to (run under its own account)" },
	{ "alerts", cmd_alerts,
	  "report unusual exports found in the audit log (for cron)" },
	{ "metrics", cmd_metrics,
	  "write Prometheus metrics of jobs, exports and the audit log" },
	{ "report", cmd_report,
	  "write the support page: recent exports per tenant (HTML)" },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: tenant-export COMMAND [OPTIONS]\n"
	    "       tenant-export help [COMMAND]\n"
	    "       tenant-export -h | --help | -V | --version\n\n"
	    "Commands:\n");
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %-10s %s\n", subcommands[i].name,
		    subcommands[i].summary);
	fprintf(f, "\n'tenant-export COMMAND --help' (or 'tenant-export help "
	    "COMMAND') shows its options.\n"
	    "Exit status: 0 ok, 1 a check or the export failed, "
	    "2 usage or operational error.\n");
}

/*
 * No core file and no ptrace, before anything is read: tenant-export holds
 * the monitor's database password (in its helper), the signing key,
 * principals' keys and passphrases, and rows in flight. A process that is
 * not dumpable cannot be attached to or read through /proc/PID/mem by
 * other processes of the same user, and its children inherit both.
 */
static int
harden_process(void)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) != 0 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		perror("tenant-export: cannot disable core dumps");
		return -1;
	}
	return 0;
}

static int
dispatch(int argc, char **argv)
{
	size_t i;

	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[0], subcommands[i].name) == 0)
			return subcommands[i].fn(argc, argv);
	fprintf(stderr, "tenant-export: unknown command '%s'\n"
	    "tenant-export: try 'tenant-export --help'\n", argv[0]);
	return CMD_EXIT_USAGE;
}

int
main(int argc, char **argv)
{
	char *help[3];

	if (harden_process() != 0)
		return CMD_EXIT_USAGE;
	if (argc < 2) {
		usage(stderr);
		return CMD_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    (strcmp(argv[1], "help") == 0 && argc == 2)) {
		usage(stdout);
		return CMD_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		cli_version(stdout, "tenant-export");
		return CMD_EXIT_OK;
	}
	if (strcmp(argv[1], "help") == 0) {
		/* help COMMAND is COMMAND --help */
		help[0] = argv[2];
		help[1] = (char *)"--help";
		help[2] = NULL;
		return dispatch(2, help);
	}
	return dispatch(argc - 1, argv + 1);
}
