/*
 * tenant-export approve: a second principal approves a high-risk export
 * request (signed, audited). The requester can never approve their own.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "cmd_jobs.h"
#include "config.h"
#include "err.h"
#include "jobs.h"

static void
approve_usage(FILE *f)
{
	fprintf(f,
"usage: tenant-export approve JOB --config FILE --as KEY [--passphrase-file F]\n"
"\n"
"Approves the high-risk export request JOB (the id `request` printed). KEY\n"
"must belong to a principal other than the requester, with the\n"
"tenant:export:approve capability and an assignment to the job's tenant.\n"
"\n"
"Exit status: 0 approved (the job is queued); 1 refused or no such job;\n"
"2 usage or operational error.\n");
}

int
cmd_approve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "as", required_argument, NULL, 'a' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const keys[1] = { "job" };
	struct cmd_action act = { NULL, NULL };
	struct jobs_outcome o;
	struct jobs_signed sv;
	struct config *cfg = NULL;
	const char *config = NULL, *key = NULL, *passfile = NULL;
	const char *vals[1];
	PGconn *c = NULL;
	char err[512];
	int ch, r, rc = CMD_EXIT_USAGE;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'a': key = optarg; break;
		case 'p': passfile = optarg; break;
		case 'h': approve_usage(stdout); return CMD_EXIT_OK;
		default: goto usage;
		}
	}
	if (optind + 1 != argc || config == NULL || key == NULL) {
		fprintf(stderr, "tenant-export: approve: JOB, --config and --as "
		    "are required\n");
		goto usage;
	}
	vals[0] = cmd_job_arg(argv[optind]);
	if ((r = config_load(config, &cfg, err, sizeof(err))) != 0) {
		fprintf(stderr, "tenant-export: approve: %s\n", err);
		goto out;
	}
	if ((r = cmd_sign_once("approve", key, passfile, "export.approve", keys,
	    vals, 1, &act)) != 0 ||
	    (r = cmd_control_connect("approve", cfg, &c)) != 0)
		goto out;
	sv = cmd_action_view(&act);
	if ((r = jobs_approve(c, cfg, &sv, &o)) != 0) {
		fprintf(stderr, "tenant-export: approve: %s\n", o.msg);
		rc = cmd_exit_for(r);
		goto out;
	}
	printf("tenant-export: approve: %s\n", o.msg);
	rc = CMD_EXIT_OK;
	goto out;
 usage:
	approve_usage(stderr);
	rc = CMD_EXIT_USAGE;
 out:
	if (c != NULL)
		PQfinish(c);
	cmd_action_clear(&act);
	config_free(cfg);
	return rc;
}
