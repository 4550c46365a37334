/*
 * tenant-export approve: a second person approves a high-risk export
 * request (signed, audited). The approval names the exact request it
 * approves (its digest, as status shows it), so the scope and the
 * recipients approved are the ones requested.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "client.h"
#include "cli.h"
#include "cmd_jobs.h"
#include "err.h"
#include "jobs.h"
#include "minisig.h"

static void
approve_usage(FILE *f, const char *name)
{
	(void)name;
	fprintf(f,
"usage: tenant-export approve JOB --as KEY [options]\n"
"\n"
"Approves the high-risk export request JOB (the id `request` printed). KEY\n"
"must belong to another person than the requester's, with the\n"
"tenant:export:approve capability and an assignment to the job's tenant.\n"
"The job, its scope and recipients are shown first; the approval is\n"
"bound to exactly that request.\n"
"\n"
"%s"
"\n"
"Exit status: 0 approved (the job is queued); 1 refused or no such job;\n"
"2 usage or operational error.\n", cmd_common_usage);
}

/* One signed action over one connection. */
static int
call_once(const struct cmd_common *cc, const struct minisig_seckey *sk,
    const char *service_cmd, const char *kind, const char *const *keys,
    const char *const *vals, size_t n, json_t **res)
{
	struct cmd_action act = { NULL, NULL };
	struct client *cl = NULL;
	int r;

	*res = NULL;
	if ((r = client_open("approve", &cc->co, &cl)) == 0 &&
	    (r = client_sign("approve", cl, sk, kind, keys, vals, n,
	    &act)) == 0)
		r = client_call(service_cmd, cl, &act, NULL, NULL, NULL, NULL,
		    res);
	if (r != 0 && *res != NULL)
		fprintf(stderr, "tenant-export: approve: %s\n",
		    client_message(*res));
	cmd_action_clear(&act);
	client_close(cl);
	return r;
}

static const struct cli_cmd approve_cmd = { "approve", approve_usage };

int
cmd_approve(int argc, char **argv)
{
	static const struct option opts[] = {
		CMD_COMMON_OPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const keys[2] = { "job", "request" };
	struct cmd_common cc;
	struct minisig_seckey *sk = NULL;
	json_t *st = NULL, *res = NULL, *job;
	const char *vals[2], *digest;
	char hash[65];
	int ch, rc = CMD_EXIT_USAGE;

	memset(&cc, 0, sizeof(cc));
	optind = 1;
	while ((ch = cli_getopt(argc, argv, NULL, opts, &approve_cmd)) != -1)
		if (!cmd_common_opt(ch, &cc))
			return CMD_EXIT_USAGE;
	if (cmd_common_check("approve", argc, argv, 1, &cc) != 0)
		return CMD_EXIT_USAGE;
	cmd_job_arg(argv[optind], hash);
	vals[0] = hash;
	if (cmd_key_load("approve", cc.key, cc.passfile, &sk) != 0)
		goto out;
	/* what is being approved, from the service */
	if (call_once(&cc, sk, "status", "job.status", keys, vals, 1,
	    &st) != 0) {
		rc = st != NULL ? client_exit(st) : CMD_EXIT_USAGE;
		goto out;
	}
	job = json_object_get(st, "job");
	digest = json_string_value(json_object_get(job, "request_digest"));
	if (digest == NULL) {
		fprintf(stderr, "tenant-export: approve: the service did not "
		    "say which request job %s is\n", argv[optind]);
		goto out;
	}
	if (!cc.json) {
		printf("Approving:\n");
		cmd_print_job(job);
	}
	vals[1] = digest;
	call_once(&cc, sk, "approve", "export.approve", keys, vals, 2, &res);
	rc = client_exit(res);
	if (cc.json && res != NULL) {
		json_object_set_new(res, "ok", json_boolean(rc == 0));
		cmd_print_json(res);
		res = NULL;
	} else if (rc == 0)
		printf("tenant-export: approve: %s\n", client_message(res));
 out:
	minisig_seckey_free(sk);
	json_decref(st);
	json_decref(res);
	return rc;
}
