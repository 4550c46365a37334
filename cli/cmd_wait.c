/*
 * tenant-export wait: waits until jobs are done, for pipelines that
 * request exports for workers to run (`request --tenants-file ...`) and
 * then fetch them. Each look is a signed job.status, like `status`.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "client.h"
#include "cli.h"
#include "cmd_jobs.h"
#include "err.h"
#include "jobs.h"
#include "minisig.h"

#define MAX_JOBS	10000
#define MAX_TIMEOUT	2592000	/* 30 days */

static void
wait_usage(FILE *f, const char *name)
{
	(void)name;
	fprintf(f,
"usage: tenant-export wait JOB... --as KEY [--timeout SECONDS]\n"
"                          [--poll SECONDS] [options]\n"
"\n"
"Waits until every JOB is done: ready, or failed, held for approval,\n"
"cancelled, expired or superseded. Prints \"JOB STATE\" for each as it\n"
"ends (with --json, one object per job).\n"
"\n"
"  --timeout SECONDS   give up after this long (default 3600)\n"
"  --poll SECONDS      how often to look (default 5)\n"
"%s"
"\n"
"Exit status: 0 every job is ready; 1 some job ended otherwise, or is\n"
"unknown; 2 usage or operational error, or the timeout passed.\n",
	    cmd_common_usage);
}

/* The job now (*job, its state set), or the exit status why not. */
static int
look(const struct cmd_common *cc, const struct minisig_seckey *sk,
    const char *hash, const char *arg, json_t **job)
{
	static const char *const keys[1] = { "job" };
	const char *vals[1] = { hash };
	struct cmd_action act = { NULL, NULL };
	struct client *cl = NULL;
	json_t *res = NULL;
	int r, rc;

	*job = NULL;
	if ((r = client_open("wait", &cc->co, &cl)) == 0 &&
	    (r = client_sign("wait", cl, sk, "job.status", keys, vals, 1,
	    &act)) == 0)
		r = client_call("status", cl, &act, NULL, NULL, NULL, NULL, &res);
	cmd_action_clear(&act);
	client_close(cl);
	if (res != NULL && r == 0)
		*job = json_incref(json_object_get(res, "job"));
	else if (res != NULL)
		fprintf(stderr, "tenant-export: wait: job \"%s\": %s\n", arg,
		    client_message(res));
	rc = res != NULL ? client_exit(res) : cmd_exit_for(r);
	json_decref(res);
	if (rc == 0 && json_string_value(json_object_get(*job,
	    "state")) == NULL) {
		fprintf(stderr, "tenant-export: wait: job \"%s\": the "
		    "service's answer names no state\n", arg);
		json_decref(*job);
		*job = NULL;
		rc = CMD_EXIT_USAGE;
	}
	return rc;
}

static int
done_state(const char *st)
{
	return st != NULL && strcmp(st, "queued") != 0 &&
	    strcmp(st, "running") != 0;
}

static const struct cli_cmd wait_cmd = { "wait", wait_usage };

int
cmd_wait(int argc, char **argv)
{
	static const struct option opts[] = {
		CMD_COMMON_OPTS,
		{ "timeout", required_argument, NULL, 't' },
		{ "poll", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cmd_common cc;
	struct minisig_seckey *sk = NULL;
	char (*hash)[65] = NULL;
	const char *st;
	long timeout = 3600, poll_s = 5;
	time_t end;
	json_t *job;
	int ch, i, n, left, r, bad = 0, rc = CMD_EXIT_USAGE, *open_ = NULL;

	memset(&cc, 0, sizeof(cc));
	optind = 1;
	while ((ch = cli_getopt(argc, argv, NULL, opts, &wait_cmd)) != -1) {
		if (cmd_common_opt(ch, &cc))
			continue;
		switch (ch) {
		case 't': bad |= cmd_parse_long(optarg, 1, MAX_TIMEOUT,
		    &timeout); break;
		case 'P': bad |= cmd_parse_long(optarg, 1, 3600, &poll_s); break;
		default: goto usage;
		}
	}
	n = argc - optind;
	if (bad) {
		cli_usage_error("wait", "--timeout takes whole seconds from 1 "
		    "to %d, --poll from 1 to 3600", MAX_TIMEOUT);
		goto usage;
	}
	if (n < 1) {
		cli_usage_error("wait", "JOB is required (the id `request` "
		    "printed)");
		goto usage;
	}
	if (n > MAX_JOBS) {
		cli_usage_error("wait", "at most %d jobs", MAX_JOBS);
		goto usage;
	}
	for (i = 0; i < n; i++)
		if (!cmd_job_valid(argv[optind + i])) {
			cli_usage_error("wait", "'%s' is not a job id (the 32 "
			    "hex digits `request` printed)", argv[optind + i]);
			goto usage;
		}
	if (cc.key == NULL) {
		cli_usage_error("wait", "--as KEY is required: every command a "
		    "principal runs is signed with its key");
		goto usage;
	}
	if ((hash = calloc((size_t)n, sizeof(*hash))) == NULL ||
	    (open_ = calloc((size_t)n, sizeof(*open_))) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		cmd_job_arg(argv[optind + i], hash[i]);
		open_[i] = 1;
	}
	if (cmd_key_load("wait", cc.key, cc.passfile, &sk) != 0)
		goto out;
	rc = CMD_EXIT_OK;
	end = time(NULL) + timeout;
	for (left = n; left > 0;) {
		for (i = 0; i < n; i++) {
			if (!open_[i])
				continue;
			if ((r = look(&cc, sk, hash[i], argv[optind + i],
			    &job)) != 0) {
				/* unknown, or the service is out of reach */
				rc = r > rc ? r : rc;
				open_[i] = 0;
				left--;
				continue;
			}
			st = json_string_value(json_object_get(job, "state"));
			if (done_state(st)) {
				open_[i] = 0;
				left--;
				if (strcmp(st, "ready") != 0 && rc < CMD_EXIT_FAIL)
					rc = CMD_EXIT_FAIL;
				if (cc.json)
					cmd_print_json(json_incref(job));
				else
					printf("%s %s\n", argv[optind + i], st);
				fflush(stdout);
			}
			json_decref(job);
		}
		if (left == 0)
			break;
		if (time(NULL) >= end) {
			fprintf(stderr, "tenant-export: wait: %d job%s not done "
			    "after %ld s\n", left, left == 1 ? "" : "s", timeout);
			rc = CMD_EXIT_USAGE;
			break;
		}
		sleep((unsigned)poll_s);
	}
	goto out;
 usage:
	rc = CMD_EXIT_USAGE;
 out:
	minisig_seckey_free(sk);
	free(hash);
	free(open_);
	return rc;
}
