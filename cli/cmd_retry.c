/*
 * tenant-export retry: a fresh export of what a finished job exported.
 * The job's scope, recipients and options are read back (a signed
 * job.status), then requested again with retry_of naming the job (a
 * signed export.request, with every check a request has). Once the new
 * job is published, the service deletes the old job's archive and marks
 * it superseded.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client.h"
#include "cli.h"
#include "cmd_jobs.h"
#include "err.h"
#include "jobs.h"
#include "minisig.h"

static void
retry_usage(FILE *f, const char *name)
{
	(void)name;
	fprintf(f,
"usage: tenant-export retry JOB --as KEY [--confirm \"EXPORT <NAME>\"]\n"
"                           [--idempotency-key K] [options]\n"
"\n"
"Requests a fresh export of exactly what job JOB exported (its tenant,\n"
"scope, recipients or passphrase mode, and options), for a job that is\n"
"ready, failed, expired or cancelled. Prints the new job's id. When the\n"
"new job's archive is published, JOB's archive is deleted and JOB is\n"
"marked superseded (both in the audit log); until then JOB stays as it\n"
"is. The request is checked like any other: the typed confirmation and\n"
"an approval for a high-risk scope, the rate limits.\n"
"\n"
"  --confirm \"EXPORT <NAME>\"  typed confirmation for a high-risk scope\n"
"  --idempotency-key K        a repeated retry gives the same new job\n"
"%s"
"\n"
"Exit status: 0 requested; 1 refused or no such job; 2 usage or\n"
"operational error.\n", cmd_common_usage);
}

/* A comma list of the strings in a JSON array (malloc'd). */
static char *
joined(const json_t *a)
{
	size_t i, len = 1;
	json_t *v;
	char *s;

	json_array_foreach(a, i, v)
		len += strlen(json_string_value(v) ? json_string_value(v) :
		    "") + 1;
	if ((s = calloc(1, len)) == NULL)
		return NULL;
	json_array_foreach(a, i, v) {
		if (i > 0)
			strcat(s, ",");
		strcat(s, json_string_value(v) ? json_string_value(v) : "");
	}
	return s;
}

/* The job as the service shows it (signed job.status). */
static int
read_job(const struct cmd_common *cc, const struct minisig_seckey *sk,
    const char *hash, json_t **res)
{
	static const char *const keys[1] = { "job" };
	const char *vals[1] = { hash };
	struct cmd_action act = { NULL, NULL };
	struct client *cl = NULL;
	int r;

	*res = NULL;
	if ((r = client_open("retry", &cc->co, &cl)) == 0 &&
	    (r = client_sign("retry", cl, sk, "job.status", keys, vals, 1,
	    &act)) == 0)
		r = client_call("status", cl, &act, NULL, NULL, NULL, NULL, res);
	cmd_action_clear(&act);
	client_close(cl);
	if (*res != NULL && r != 0)
		fprintf(stderr, "tenant-export: retry: %s\n",
		    client_message(*res));
	return *res != NULL ? client_exit(*res) : cmd_exit_for(r);
}

/* The request that repeats job (its scope and options). */
static int
request_of(const json_t *job, const char *hash, struct cmd_req *q,
    char **tables, char **rcpt)
{
	const json_t *scope = json_object_get(job, "scope");

	q->tenant = json_string_value(json_object_get(job, "tenant"));
	if (q->tenant == NULL || (*tables = joined(json_object_get(scope,
	    "tables"))) == NULL || (*rcpt = joined(json_object_get(job,
	    "recipients"))) == NULL)
		return -1;
	q->tables = (*tables)[0] != '\0' ? *tables : NULL;
	q->since = json_string_value(json_object_get(scope, "since"));
	q->until = json_string_value(json_object_get(scope, "until"));
	q->include_global = json_is_true(json_object_get(scope,
	    "include_global"));
	q->include_files = json_is_true(json_object_get(scope, "files"));
	q->passphrase = json_is_true(json_object_get(job, "passphrase"));
	q->recipients = q->passphrase || (*rcpt)[0] == '\0' ? NULL : *rcpt;
	q->allow_empty = json_is_true(json_object_get(job, "allow_empty"));
	q->zstd = json_is_true(json_object_get(job, "zstd"));
	q->retry_of = hash;
	return 0;
}

static const struct cli_cmd retry_cmd = { "retry", retry_usage };

int
cmd_retry(int argc, char **argv)
{
	static const struct option opts[] = {
		CMD_COMMON_OPTS,
		{ "confirm", required_argument, NULL, 'C' },
		{ "idempotency-key", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cmd_common cc;
	struct cmd_req q;
	struct minisig_seckey *sk = NULL;
	char hash[65], *tables = NULL, *rcpt = NULL;
	json_t *st = NULL, *res = NULL;
	int ch, rc = CMD_EXIT_USAGE;

	memset(&cc, 0, sizeof(cc));
	memset(&q, 0, sizeof(q));
	optind = 1;
	while ((ch = cli_getopt(argc, argv, NULL, opts, &retry_cmd)) != -1) {
		if (cmd_common_opt(ch, &cc) ||
		    cmd_request_opt("retry", ch, &q) > 0)
			continue;
		goto usage;
	}
	if (cmd_common_check("retry", argc, argv, 1, &cc) != 0)
		goto usage;
	cmd_job_arg(argv[optind], hash);
	if (cmd_key_load("retry", cc.key, cc.passfile, &sk) != 0)
		goto out;
	if ((rc = read_job(&cc, sk, hash, &st)) != 0)
		goto out;
	if (request_of(json_object_get(st, "job"), hash, &q, &tables,
	    &rcpt) != 0) {
		fprintf(stderr, "tenant-export: retry: the job's record is "
		    "unreadable\n");
		rc = CMD_EXIT_USAGE;
		goto out;
	}
	rc = cmd_request_send("retry", &cc.co, sk, &q, &res);
	if (cc.json && res != NULL) {
		json_object_set_new(res, "ok", json_boolean(rc == 0));
		cmd_print_json(res);
		res = NULL;
	} else if (rc == 0) {
		printf("%s\n", json_string_value(json_object_get(res, "job")));
		fprintf(stderr, "tenant-export: retry: %s; it replaces job "
		    "%s once published\n", client_message(res),
		    json_string_value(json_object_get(json_object_get(st,
		    "job"), "id")));
	}
	goto out;
 usage:
	rc = CMD_EXIT_USAGE;
 out:
	minisig_seckey_free(sk);
	json_decref(st);
	json_decref(res);
	free(tables);
	free(rcpt);
	return rc;
}
