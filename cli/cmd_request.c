/*
 * tenant-export request: asks for one tenant's export with a fresh
 * request signed by the requester's key. The service checks it, creates
 * the job and prints its id, the only time the id is shown.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "age.h"
#include "client.h"
#include "cli.h"
#include "cmd_jobs.h"
#include "err.h"
#include "jobs.h"
#include "minisig.h"
#include "text.h"

const char cmd_request_usage[] =
"  --tenant ID                the tenant key value to export\n"
"  --tables S.T[,S.T...]      only these tables (default: the whole tenant)\n"
"  --since T, --until T       date window on each table's date_column\n"
"                             (YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z])\n"
"  --include-global           also export tables classified global\n"
"  --recipient age1...        encrypt to this one of the tenant's registered\n"
"                             recipients (repeatable; default: all of them)\n"
"  --passphrase               encrypt with a random passphrase instead, given\n"
"                             to the requester when the export runs\n"
"  --allow-empty              publish even if the tenant has no rows\n"
"  --zstd                     compress the archive content\n"
"  --confirm \"EXPORT <NAME>\"  typed confirmation for a high-risk scope\n"
"                             (PII tables, whole tenant; [control]); else\n"
"                             asked on the terminal\n"
"  --idempotency-key K        a retry with the same key creates no second job\n";

static void
request_usage(FILE *f, const char *name)
{
	(void)name;
	fprintf(f,
"usage: tenant-export request --as KEY --tenant ID [options]\n"
"\n"
"Requests one tenant's export. The request is signed with KEY (a\n"
"passphrase-protected minisign secret key of a registered principal);\n"
"unlocking it is the re-authentication. Prints the new job's id (32 hex\n"
"digits), which list, status and the audit log show the same way.\n"
"\n"
"%s"
"%s"
"\n"
"High-risk requests wait for `tenant-export approve` by another principal.\n"
"Exit status: 0 job created (queued or awaiting approval); 1 refused;\n"
"2 usage or operational error.\n", cmd_request_usage, cmd_common_usage);
}

/* One signed request over one connection. */
static int
send_once(const char *cmd, const struct client_opts *co,
    const struct minisig_seckey *sk, const struct cmd_req *q,
    const char *confirm, json_t **res)
{
	static const char *const keys[] = { "tenant", "tables", "since",
	    "until", "global", "confirm", "idem", "recipients", "passphrase",
	    "allow_empty", "zstd" };
	const char *vals[11];
	struct cmd_action act = { NULL, NULL };
	struct client *cl = NULL;
	int r;

	*res = NULL;
	vals[0] = q->tenant;
	vals[1] = q->tables ? q->tables : "";
	vals[2] = q->since ? q->since : "";
	vals[3] = q->until ? q->until : "";
	vals[4] = q->include_global ? "1" : "0";
	vals[5] = confirm ? confirm : "";
	vals[6] = q->idem ? q->idem : "";
	vals[7] = q->recipients ? q->recipients : "";
	vals[8] = q->passphrase ? "1" : "0";
	vals[9] = q->allow_empty ? "1" : "0";
	vals[10] = q->zstd ? "1" : "0";
	if ((r = client_open(cmd, co, &cl)) != 0)
		goto out;
	if ((r = client_sign(cmd, cl, sk, "export.request", keys, vals, 11,
	    &act)) != 0) {
		if (r == ERR_INVALID)
			fprintf(stderr, "tenant-export: %s: the tenant, tables, "
			    "window, confirmation and key must be UTF-8 text "
			    "without control characters\n", cmd);
		goto out;
	}
	r = client_call("request", cl, &act, NULL, NULL, NULL, NULL, res);
 out:
	cmd_action_clear(&act);
	client_close(cl);
	return r;
}

int
cmd_request_send(const char *cmd, const struct client_opts *co,
    const struct minisig_seckey *sk, const struct cmd_req *q, json_t **res)
{
	char *typed = NULL, shown[1024];
	const char *name;
	int r;

	r = send_once(cmd, co, sk, q, q->confirm, res);
	if (r != 0 && *res != NULL && q->confirm == NULL &&
	    json_is_true(json_object_get(*res, "confirm_needed")) &&
	    (typed = cmd_prompt_confirm(json_string_value(json_object_get(*res,
	    "confirm_name")))) != NULL) {
		json_decref(*res);
		r = send_once(cmd, co, sk, q, typed, res);
		free(typed);
	}
	if (*res == NULL)
		return cmd_exit_for(r);
	if (r != 0)
		fprintf(stderr, "tenant-export: %s: %s\n", cmd,
		    client_message(*res));
	if (r != 0 && (name = json_string_value(json_object_get(*res,
	    "confirm_name"))) != NULL) {
		text_describe(shown, sizeof(shown), name);
		fprintf(stderr, "tenant-export: %s: the display name to type "
		    "after EXPORT is %s\n", cmd, shown);
	}
	return client_exit(*res);
}

/* --recipient, repeated, as the comma list the action carries. */
static int
add_recipient(struct cmd_req *q, const char *r)
{
	char *n;

	if (strchr(r, ',') != NULL || *r == '\0')
		return -1;
	if (asprintf(&n, "%s%s%s", q->recipients ? q->recipients : "",
	    q->recipients ? "," : "", r) < 0)
		return -1;
	free(q->recipients);
	q->recipients = n;
	return 0;
}

/* Parses the options of a request (shared with one-step `run`);
 * returns 1 when ch was one of them, -1 when its value is bad (the
 * message printed). */
int
cmd_request_opt(const char *cmd, int ch, struct cmd_req *q)
{
	switch (ch) {
	case 't': q->tenant = optarg; return 1;
	case 'T': q->tables = optarg; return 1;
	case 's': q->since = optarg; return 1;
	case 'u': q->until = optarg; return 1;
	case 'g': q->include_global = 1; return 1;
	case 'C': q->confirm = optarg; return 1;
	case 'i':
		if (optarg[0] == '\0' || strlen(optarg) > JOBS_IDEM_MAX) {
			cli_usage_error(cmd, "--idempotency-key: 1 to %d bytes",
			    JOBS_IDEM_MAX);
			return -1;
		}
		q->idem = optarg;
		return 1;
	case 'r':
		if (add_recipient(q, optarg) != 0) {
			cli_usage_error(cmd, "--recipient: one age recipient "
			    "(age1...) per option");
			return -1;
		}
		return 1;
	case 'P': q->passphrase = 1; return 1;
	case 'e': q->allow_empty = 1; return 1;
	case 'z': q->zstd = 1; return 1;
	}
	return 0;
}

/* Each entry of a comma list is non-empty. */
static int
list_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && s[0] != ',' && s[n - 1] != ',' &&
	    strstr(s, ",,") == NULL;
}

int
cmd_request_check(const char *cmd, const struct cmd_req *q)
{
	struct age_recipient *rc = NULL;
	char *copy, *tok, *save = NULL;
	int bad = 0;

	if ((q->since != NULL && !jobs_time_valid(q->since)) ||
	    (q->until != NULL && !jobs_time_valid(q->until)))
		return cli_usage_error(cmd, "--%s '%s' is not a date: give a "
		    "date or a time like 2026-01-31 or 2026-01-31T12:00:00Z",
		    q->since != NULL && !jobs_time_valid(q->since) ? "since" :
		    "until", q->since != NULL && !jobs_time_valid(q->since) ?
		    q->since : q->until);
	if (q->tables != NULL && !list_ok(q->tables))
		return cli_usage_error(cmd, "--tables: schema.table names "
		    "separated by commas, none empty");
	if (q->passphrase && q->recipients != NULL)
		return cli_usage_error(cmd, "--passphrase and --recipient "
		    "cannot be combined");
	if (q->recipients == NULL)
		return 0;
	if ((copy = strdup(q->recipients)) == NULL)
		return CMD_EXIT_USAGE;
	for (tok = strtok_r(copy, ",", &save); tok != NULL && !bad;
	    tok = strtok_r(NULL, ",", &save)) {
		if (age_recipient_parse(tok, &rc) != 0) {
			cli_usage_error(cmd, "--recipient '%s' is not an age "
			    "recipient (age1...)", tok);
			bad = 1;
		}
		age_recipient_free(rc);
		rc = NULL;
	}
	free(copy);
	return bad ? CMD_EXIT_USAGE : 0;
}

static const struct cli_cmd request_cmd = { "request", request_usage };

int
cmd_request(int argc, char **argv)
{
	static const struct option opts[] = {
		CMD_COMMON_OPTS,
		CMD_REQUEST_OPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cmd_common cc;
	struct cmd_req q;
	struct minisig_seckey *sk = NULL;
	json_t *res = NULL;
	int ch, k, rc = CMD_EXIT_USAGE;

	memset(&cc, 0, sizeof(cc));
	memset(&q, 0, sizeof(q));
	optind = 1;
	while ((ch = cli_getopt(argc, argv, NULL, opts, &request_cmd)) != -1) {
		if (cmd_common_opt(ch, &cc))
			continue;
		if ((k = cmd_request_opt("request", ch, &q)) > 0)
			continue;
		goto usage;
	}
	if (cmd_common_check("request", argc, argv, 0, &cc) != 0)
		goto usage;
	if (q.tenant == NULL) {
		cli_usage_error("request", "--tenant ID is required");
		goto usage;
	}
	if (cmd_request_check("request", &q) != 0)
		goto usage;
	if (cmd_key_load("request", cc.key, cc.passfile, &sk) != 0)
		goto out;
	rc = cmd_request_send("request", &cc.co, sk, &q, &res);
	minisig_seckey_free(sk);
	sk = NULL;
	if (cc.json && res != NULL) {
		json_object_set_new(res, "ok", json_boolean(rc == 0));
		cmd_print_json(res);
		res = NULL;
	} else if (rc == 0) {
		/* a repeated request (same idempotency key) names the job
		 * it already made */
		printf("%s\n", json_string_value(json_object_get(res, "job")));
		fprintf(stderr, "tenant-export: request: job %s: %s\n",
		    json_string_value(json_object_get(res, "job")),
		    client_message(res));
	}
	goto out;
 usage:
	rc = CMD_EXIT_USAGE;
 out:
	minisig_seckey_free(sk);
	json_decref(res);
	free(q.recipients);
	return rc;
}
