/*
 * tenant-export request: asks for one tenant's export (or one export of
 * each of a list of tenants) with a fresh request signed by the
 * requester's key. The service checks it, creates the job and prints its
 * id, the only time the id is shown.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "age.h"
#include "buf.h"
#include "client.h"
#include "cli.h"
#include "cmd_jobs.h"
#include "err.h"
#include "file.h"
#include "jobs.h"
#include "minisig.h"
#include "text.h"

#define MAX_TENANTS	10000

const char cmd_request_usage[] =
"  --tenant ID                the tenant key value to export\n"
"  --tables S.T[,S.T...]      only these tables (default: the whole tenant)\n"
"  --since T, --until T       date window on each table's date_column\n"
"                             (YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z])\n"
"  --include-global           also export tables classified global\n"
"  --files                    also export the tenant's uploaded files\n"
"                             ([files] in the config; not by default)\n"
"  --recipient age1...        encrypt to this one of the tenant's registered\n"
"                             recipients (repeatable; default: all of them)\n"
"  --passphrase               encrypt with a random passphrase instead, given\n"
"                             to the requester when the export runs\n"
"  --allow-empty              publish even if the tenant has no rows\n"
"  --zstd                     compress the archive content\n"
"  --confirm \"EXPORT <NAME>\"  typed confirmation for a high-risk scope\n"
"                             (PII tables, whole tenant; [control]); else\n"
"                             asked on the terminal\n"
"  --idempotency-key K        a retry with the same key creates no second job\n"
"                             and queues a failed one again\n"
"  --files                    include the tenant's files ([files])\n";

static void
request_usage(FILE *f, const char *name)
{
	(void)name;
	fprintf(f,
"usage: tenant-export request --as KEY --tenant ID [--tenant ID]... [options]\n"
"       tenant-export request --as KEY --tenants-file FILE [options]\n"
"\n"
"Requests one tenant's export, or one export of each tenant listed. Each\n"
"request is signed with KEY (a passphrase-protected minisign secret key\n"
"of a registered principal); unlocking it is the re-authentication.\n"
"Prints the new job's id (32 hex digits; for several tenants or a file:\n"
"\"ID TENANT\" per line), which every command takes as JOB and list,\n"
"status and the audit log show the same way. A request repeated with its\n"
"idempotency key prints the same id. Workers (`tenant-export worker`)\n"
"run queued jobs; or `run --job`; `wait` waits for them.\n"
"\n"
"%s"
"  --tenants-file FILE        the tenants, one per line (# comments); with\n"
"                             --idempotency-key K, K/TENANT for each\n"
"%s"
"\n"
"High-risk requests wait for `tenant-export approve` by another principal.\n"
"Exit status: 0 job created (queued or awaiting approval) for every\n"
"tenant; 1 refused (for some tenant: the others are requested); 2 usage\n"
"or operational error.\n", cmd_request_usage, cmd_common_usage);
}

/* One signed request over the connection cl, or over one of its own
 * (cl NULL). */
static int
send_once(const char *cmd, struct client *cl, const struct client_opts *co,
    const struct minisig_seckey *sk, const struct cmd_req *q,
    const char *confirm, json_t **res)
{
	static const char *const keys[] = { "tenant", "tables", "since",
	    "until", "global", "confirm", "idem", "recipients", "passphrase",
	    "allow_empty", "zstd", "files", "retry_of" };
	const char *vals[13];
	struct cmd_action act = { NULL, NULL };
	struct client *own = NULL;
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
	vals[11] = q->include_files ? "1" : "0";
	vals[12] = q->retry_of;
	if (cl == NULL && (r = client_open(cmd, co, &own)) != 0)
		goto out;
	if (cl == NULL)
		cl = own;
	if ((r = client_sign(cmd, cl, sk, "export.request", keys, vals,
	    q->retry_of != NULL ? 13 : 12, &act)) != 0) {
		if (r == ERR_INVALID)
			fprintf(stderr, "tenant-export: %s: the tenant, tables, "
			    "window, confirmation and key must be UTF-8 text "
			    "without control characters\n", cmd);
		goto out;
	}
	r = client_call("request", cl, &act, NULL, NULL, NULL, NULL, res);
 out:
	cmd_action_clear(&act);
	client_close(own);
	return r;
}

int
cmd_request_send(const char *cmd, const struct client_opts *co,
    const struct minisig_seckey *sk, const struct cmd_req *q, json_t **res)
{
	return cmd_request_send_on(cmd, NULL, co, sk, q, res);
}

int
cmd_request_send_on(const char *cmd, struct client *cl,
    const struct client_opts *co, const struct minisig_seckey *sk,
    const struct cmd_req *q, json_t **res)
{
	char *typed = NULL, shown[1024];
	const char *name;
	int r;

	r = send_once(cmd, cl, co, sk, q, q->confirm, res);
	if (r != 0 && *res != NULL && q->confirm == NULL &&
	    json_is_true(json_object_get(*res, "confirm_needed")) &&
	    (typed = cmd_prompt_confirm(json_string_value(json_object_get(*res,
	    "confirm_name")))) != NULL) {
		json_decref(*res);
		r = send_once(cmd, cl, co, sk, q, typed, res);
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
	case 'F': q->include_files = 1; return 1;
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

struct tenants {
	const char **v;
	size_t n;
	char *file;			/* --tenants-file's text, cut up */
};

static int
tenants_add(struct tenants *t, const char *id)
{
	const char **v;

	if (t->n >= MAX_TENANTS || *id == '\0')
		return -1;
	if ((v = reallocarray(t->v, t->n + 1, sizeof(*v))) == NULL)
		return -1;
	t->v = v;
	t->v[t->n++] = id;
	return 0;
}

/* One tenant per line; blank lines and "#" comments skipped. */
static int
tenants_file(struct tenants *t, const char *path)
{
	struct buf *b = NULL;
	char *line, *save = NULL;
	int r;

	if (t->file != NULL) {
		fprintf(stderr, "tenant-export: request: one --tenants-file\n");
		return -1;
	}
	if ((r = file_read_small(AT_FDCWD, path, 1 << 20, 0, &b)) != 0 ||
	    (t->file = strndup((const char *)buf_ptr(b), buf_len(b))) == NULL) {
		fprintf(stderr, "tenant-export: request: cannot read \"%s\": "
		    "%s\n", path, err_str(r ? r : ERR_NOMEM));
		buf_free(b);
		return -1;
	}
	buf_free(b);
	for (line = strtok_r(t->file, "\r\n", &save); line != NULL;
	    line = strtok_r(NULL, "\r\n", &save)) {
		line += strspn(line, " \t");
		line[strcspn(line, "#")] = '\0';
		while (*line && (line[strlen(line) - 1] == ' ' ||
		    line[strlen(line) - 1] == '\t'))
			line[strlen(line) - 1] = '\0';
		if (*line != '\0' && tenants_add(t, line) != 0) {
			fprintf(stderr, "tenant-export: request: too many "
			    "tenants in \"%s\"\n", path);
			return -1;
		}
	}
	return 0;
}

/* What one request printed: the job's id (a repeat's too). */
static const char *
job_of(const json_t *res)
{
	const char *j = json_string_value(json_object_get(res, "job"));

	return j != NULL ? j : "?";
}

/* One tenant of a list: its own idempotency key, its line. */
static int
request_one(const struct cmd_common *cc, const struct minisig_seckey *sk,
    struct cmd_req q, const char *tenant, int many, json_t *all)
{
	char idem[JOBS_IDEM_MAX + 1];
	json_t *res = NULL;
	int rc;

	q.tenant = tenant;
	if (many && q.idem != NULL) {
		if ((size_t)snprintf(idem, sizeof(idem), "%s/%s", q.idem,
		    tenant) >= sizeof(idem)) {
			fprintf(stderr, "tenant-export: request: tenant \"%s\": "
			    "the idempotency key and tenant are longer than %d "
			    "bytes\n", tenant, JOBS_IDEM_MAX);
			return CMD_EXIT_USAGE;
		}
		q.idem = idem;
	}
	rc = cmd_request_send("request", &cc->co, sk, &q, &res);
	if (res == NULL)
		return rc;
	json_object_set_new(res, "ok", json_boolean(rc == 0));
	json_object_set_new(res, "tenant", json_string(tenant));
	if (cc->json)
		json_array_append(all, res);
	else if (rc == 0) {
		if (many)
			printf("%s %s\n", job_of(res), tenant);
		else
			printf("%s\n", job_of(res));
		fprintf(stderr, "tenant-export: request: job %s: %s%s\n",
		    job_of(res), client_message(res), json_is_true(
		    json_object_get(res, "duplicate")) ? "" :
		    "\n  keep the job id: it is shown only once");
	}
	json_decref(res);
	return rc;
}

int
cmd_request(int argc, char **argv)
{
	static const struct option opts[] = {
		CMD_COMMON_OPTS,
		CMD_REQUEST_OPTS,
		{ "tenants-file", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cmd_common cc;
	struct cmd_req q;
	struct tenants t = { NULL, 0, NULL };
	struct minisig_seckey *sk = NULL;
	json_t *all = NULL;
	size_t i;
	int ch, k, r, many, rc = CMD_EXIT_USAGE;

	memset(&cc, 0, sizeof(cc));
	memset(&q, 0, sizeof(q));
	optind = 1;
	while ((ch = cli_getopt(argc, argv, NULL, opts, &request_cmd)) != -1) {
		if (cmd_common_opt(ch, &cc))
			continue;
		if (ch == 't') {
			if (tenants_add(&t, optarg) != 0) {
				cli_usage_error("request", "--tenant: a tenant id "
				    "(at most %d tenants)", MAX_TENANTS);
				goto usage;
			}
			continue;
		}
		if (ch == 'L') {
			if (tenants_file(&t, optarg) != 0)
				goto out;
			continue;
		}
		if ((k = cmd_request_opt("request", ch, &q)) > 0)
			continue;
		goto usage;
	}
	if (cmd_common_check("request", argc, argv, 0, &cc) != 0)
		goto usage;
	if (t.n == 0) {
		cli_usage_error("request", "--tenant ID (or --tenants-file FILE) "
		    "is required");
		goto usage;
	}
	if (cmd_request_check("request", &q) != 0)
		goto usage;
	if (cmd_key_load("request", cc.key, cc.passfile, &sk) != 0)
		goto out;
	if (cc.json && (all = json_array()) == NULL)
		goto out;
	/* Every tenant is asked for, whatever the others' answers; the
	 * worst status is the command's. */
	rc = CMD_EXIT_OK;
	many = t.n > 1 || t.file != NULL;
	for (i = 0; i < t.n; i++)
		if ((r = request_one(&cc, sk, q, t.v[i], many, all)) > rc)
			rc = r;
	if (cc.json)
		cmd_print_json(many ? json_incref(all) :
		    json_incref(json_array_get(all, 0)));
	goto out;
 usage:
	rc = CMD_EXIT_USAGE;
 out:
	minisig_seckey_free(sk);
	json_decref(all);
	free(t.v);
	free(t.file);
	free(q.recipients);
	return rc;
}
