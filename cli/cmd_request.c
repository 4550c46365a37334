/*
 * tenant-export request: asks for one tenant's export with a fresh
 * request signed by the requester's key. The monitor checks it, creates
 * the job and prints its id, the only time the id is shown.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "cmd.h"
#include "cmd_jobs.h"
#include "config.h"
#include "err.h"
#include "jobs.h"
#include "minisig.h"

static void
request_usage(FILE *f)
{
	fprintf(f,
"usage: tenant-export request --config FILE --as KEY --tenant ID [options]\n"
"\n"
"Requests one tenant's export. The request is signed with KEY (a\n"
"passphrase-protected minisign secret key of a registered principal);\n"
"unlocking it is the re-authentication. Prints the new job's id: keep it,\n"
"it is shown only here.\n"
"\n"
"  --config FILE              configuration\n"
"  --as KEY                   the requester's secret key file\n"
"  --passphrase-file F        KEY's passphrase (else a terminal prompt)\n"
"  --tenant ID                the tenant key value to export\n"
"  --tables S.T[,S.T...]      only these tables (default: the whole tenant)\n"
"  --since T, --until T       date window on each table's date_column\n"
"  --include-global           also export tables classified global\n"
"  --confirm \"EXPORT <NAME>\"  typed confirmation for a high-risk scope\n"
"                             (PII tables, whole tenant; [control]); else\n"
"                             asked on the terminal\n"
"  --idempotency-key K        a retry with the same key creates no second job\n"
"  --json                     print a JSON result on stdout\n"
"\n"
"High-risk requests wait for `tenant-export approve` by another principal.\n"
"Exit status: 0 job created (queued or awaiting approval); 1 refused;\n"
"2 usage or operational error.\n");
}

int
cmd_request_sign(const char *cmd, const struct config *cfg,
    const struct minisig_seckey *sk, const struct cmd_req *q,
    struct cmd_action *out)
{
	static const char *const keys[] = { "tenant", "tables", "since",
	    "until", "global", "confirm", "idem" };
	const char *vals[7];
	struct jobs_scope scope;
	char why[256] = "", *typed = NULL;
	int high = 0, r;

	memset(out, 0, sizeof(*out));
	/* The monitor decides; this only tells whether to ask. A scope the
	 * config refuses is still signed, so that the refusal is logged. */
	if (jobs_scope_build(cfg, q->tables, q->since, q->until,
	    q->include_global, &scope, &high, why, sizeof(why)) == 0)
		jobs_scope_clear(&scope);
	if (high && q->confirm == NULL)
		typed = cmd_prompt_confirm();
	vals[0] = q->tenant;
	vals[1] = q->tables ? q->tables : "";
	vals[2] = q->since ? q->since : "";
	vals[3] = q->until ? q->until : "";
	vals[4] = q->include_global ? "1" : "0";
	vals[5] = q->confirm ? q->confirm : typed ? typed : "";
	vals[6] = q->idem ? q->idem : "";
	r = cmd_sign(cmd, sk, "export.request", keys, vals, 7, out);
	if (r == ERR_INVALID)
		fprintf(stderr, "tenant-export: %s: the tenant, tables, "
		    "window, confirmation and key must be printable text of "
		    "at most 1024 bytes\n", cmd);
	free(typed);
	return r;
}

int
cmd_request(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "as", required_argument, NULL, 'a' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "tenant", required_argument, NULL, 't' },
		{ "tables", required_argument, NULL, 'T' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "include-global", no_argument, NULL, 'g' },
		{ "confirm", required_argument, NULL, 'C' },
		{ "idempotency-key", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cmd_req q;
	struct cmd_action act = { NULL, NULL };
	struct minisig_seckey *sk = NULL;
	struct jobs_outcome o;
	struct jobs_signed sv;
	struct config *cfg = NULL;
	const char *config = NULL, *key = NULL, *passfile = NULL;
	PGconn *c = NULL;
	char err[512], idhex[JOBS_ID_HEX], ref[JOBS_REF_HEX];
	int ch, json = 0, r, rc = CMD_EXIT_USAGE;

	memset(&q, 0, sizeof(q));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'a': key = optarg; break;
		case 'p': passfile = optarg; break;
		case 't': q.tenant = optarg; break;
		case 'T': q.tables = optarg; break;
		case 's': q.since = optarg; break;
		case 'u': q.until = optarg; break;
		case 'g': q.include_global = 1; break;
		case 'C': q.confirm = optarg; break;
		case 'i': q.idem = optarg; break;
		case 'j': json = 1; break;
		case 'h': request_usage(stdout); return CMD_EXIT_OK;
		default: goto usage;
		}
	}
	if (optind != argc || config == NULL || key == NULL ||
	    q.tenant == NULL) {
		fprintf(stderr, "tenant-export: request: --config, --as and "
		    "--tenant are required\n");
		goto usage;
	}
	if (q.idem != NULL && (q.idem[0] == '\0' ||
	    strlen(q.idem) > JOBS_IDEM_MAX)) {
		fprintf(stderr, "tenant-export: request: --idempotency-key: 1 "
		    "to %d bytes\n", JOBS_IDEM_MAX);
		goto usage;
	}
	if ((r = config_load(config, &cfg, err, sizeof(err))) != 0) {
		fprintf(stderr, "tenant-export: request: %s\n", err);
		goto out;
	}
	if ((r = cmd_key_load("request", key, passfile, &sk)) != 0 ||
	    (r = cmd_request_sign("request", cfg, sk, &q, &act)) != 0)
		goto out;
	minisig_seckey_free(sk);
	sk = NULL;
	if ((r = cmd_control_connect("request", cfg, &c)) != 0)
		goto out;
	sv = cmd_action_view(&act);
	r = jobs_request(c, cfg, &sv, &o);
	if (r != 0) {
		fprintf(stderr, "tenant-export: request: %s\n", o.msg);
		if (json)
			printf("{\"ok\": false, \"error\": \"%s\"}\n",
			    o.reason[0] ? o.reason : err_str(r));
		rc = cmd_exit_for(r);
		goto out;
	}
	jobs_ref(o.id_hash, ref);
	if (o.duplicate) {
		fprintf(stderr, "tenant-export: request: %s\n", o.msg);
		if (json)
			printf("{\"ok\": true, \"duplicate\": true, \"ref\": "
			    "\"%s\", \"state\": \"%s\"}\n", ref,
			    jobs_state_str(o.state));
		rc = CMD_EXIT_OK;
		goto out;
	}
	jobs_id_hex(o.id, idhex);
	if (json)
		printf("{\"ok\": true, \"job\": \"%s\", \"ref\": \"%s\", "
		    "\"state\": \"%s\"}\n", idhex, ref, jobs_state_str(o.state));
	else {
		printf("%s\n", idhex);
		fprintf(stderr, "tenant-export: request: job %s (ref %s): %s\n"
		    "  keep the job id: it is shown only once\n", idhex, ref,
		    o.msg);
	}
	sodium_memzero(idhex, sizeof(idhex));
	rc = CMD_EXIT_OK;
	goto out;
 usage:
	request_usage(stderr);
	rc = CMD_EXIT_USAGE;
 out:
	if (c != NULL)
		PQfinish(c);
	minisig_seckey_free(sk);
	cmd_action_clear(&act);
	config_free(cfg);
	return rc;
}
