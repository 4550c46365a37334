/*
 * tenant-export run: one tenant's export, end to end, by the service: a
 * signed request (or an existing job) is claimed, exported, proven,
 * signed and published; this command shows the progress and the result.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "client.h"
#include "cli.h"
#include "cmd_jobs.h"
#include "err.h"
#include "jobs.h"
#include "minisig.h"

static void
run_usage(FILE *f, const char *name)
{
	(void)name;
	fprintf(f,
"usage: tenant-export run --as KEY --tenant ID [request options] [options]\n"
"       tenant-export run --as KEY --job JOB [options]\n"
"\n"
"Exports one tenant's rows into a signed, encrypted archive in the\n"
"service's outbox. Every export is a job: the first form requests it\n"
"(signed with KEY, the same checks and options as `tenant-export\n"
"request`) and runs it at once unless it is high-risk and needs\n"
"approval; the second runs a queued or approved job, exactly as it was\n"
"requested (scope and recipients cannot change). `fetch` hands the\n"
"archive out. Every failure names the job. With --idempotency-key, the\n"
"same command again gives the same job: a failed one runs again, a\n"
"ready one is reported done. A transient fault (the database went\n"
"away, the outbox was full) puts the job back in the queue for a worker,\n"
"after [control] retry_backoff.\n"
"\n"
"Request options (the first form):\n"
"%s"
"\n"
"  --job JOB                  run this job (id printed by request)\n"
"  --passphrase-out FILE      for a passphrase export: write the\n"
"                             passphrase to this new 0600 file instead of\n"
"                             showing it on the terminal\n"
"  --quiet                    no progress on the terminal\n"
"%s"
"\n"
"Exit status: 0 archive published; 1 the export failed or was refused\n"
"(access denied, awaiting approval, lint findings, no rows, builder or\n"
"checker failure); 2 usage or operational error (configuration, service\n"
"or database unreachable, outbox).\n", cmd_request_usage,
	    cmd_common_usage);
}

static int
show_passphrase(const char *pass, const char *out_file)
{
	size_t n = strlen(pass);
	int fd;
	FILE *f;

	if (out_file != NULL) {
		fd = open(out_file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd < 0) {
			fprintf(stderr, "tenant-export: run: cannot create "
			    "\"%s\": %s\n", out_file, strerror(errno));
			return -1;
		}
		if (write(fd, pass, n) != (ssize_t)n ||
		    write(fd, "\n", 1) != 1 || fsync(fd) != 0) {
			close(fd);
			unlink(out_file);
			fprintf(stderr, "tenant-export: run: cannot write \"%s\"\n",
			    out_file);
			return -1;
		}
		close(fd);
		return 0;
	}
	if ((f = fopen("/dev/tty", "w")) == NULL) {
		fprintf(stderr, "tenant-export: run: no terminal to show the "
		    "passphrase on; give --passphrase-out FILE\n");
		return -1;
	}
	fprintf(f, "Archive passphrase (shown once, not stored; give it to "
	    "the recipient by another channel):\n\n    %s\n\n", pass);
	fclose(f);
	return 0;
}

struct progress {
	int on;
	time_t start;
};

static void
progress(void *ctx, json_t *p)
{
	struct progress *pr = ctx;
	double rows = (double)json_integer_value(json_object_get(p, "rows"));
	double bytes = (double)json_integer_value(json_object_get(p, "bytes"));
	double secs = difftime(time(NULL), pr->start);

	if (!pr->on)
		return;
	fprintf(stderr, "\r  %.0f rows, %.1f MB read, %.0f rows/s    ", rows,
	    bytes / 1e6, secs > 0 ? rows / secs : rows);
}

static void
print_summary(const json_t *res, const char *id)
{
	char c1[32], c2[32];

	cmd_iso_time((int64_t)json_integer_value(json_object_get(res,
	    "created")), c1, sizeof(c1));
	cmd_iso_time((int64_t)json_integer_value(json_object_get(res,
	    "expires")), c2, sizeof(c2));
	printf("tenant-export: exported %lld records from %zu tables\n"
	    "  job:       %s\n  archive:   %s (in the service's outbox; "
	    "`tenant-export fetch` hands it out)\n  created:   %s\n"
	    "  expires:   %s\n",
	    (long long)json_integer_value(json_object_get(res, "records")),
	    json_array_size(json_object_get(res, "tables")), id,
	    json_string_value(json_object_get(res, "archive")), c1, c2);
}

/* Signs and sends export.run for the job (hex of its hash) over cl. */
static int
run_job(const struct cmd_common *cc, struct client *cl,
    const struct minisig_seckey *sk, const char *hash, int quiet,
    json_t **res)
{
	static const char *const keys[1] = { "job" };
	const char *vals[1] = { hash };
	struct cmd_action act = { NULL, NULL };
	struct progress pr;
	int r;

	*res = NULL;
	pr.on = !quiet && !cc->json && isatty(2);
	pr.start = time(NULL);
	if ((r = client_sign("run", cl, sk, "export.run", keys, vals, 1,
	    &act)) == 0)
		r = client_call("run", cl, &act, NULL, progress, &pr, NULL, res);
	if (pr.on)
		fprintf(stderr, "\n");
	cmd_action_clear(&act);
	return r;
}

/* The one-step form's request; *hash gets the job to run, *id the id
 * to show. Returns -1 to go on, else the exit status. */
static int
request_first(const struct cmd_common *cc, struct client *cl,
    const struct minisig_seckey *sk, const struct cmd_req *q, char hash[65],
    char id[65])
{
	json_t *res = NULL;
	const char *state, *j;
	int rc;

	rc = cmd_request_send_on("run", cl, &cc->co, sk, q, &res);
	if (rc != 0) {
		if (cc->json && res != NULL) {
			json_object_set_new(res, "ok", json_false());
			cmd_print_json(res);
			res = NULL;
		}
		json_decref(res);
		return rc;
	}
	state = json_string_value(json_object_get(res, "state"));
	j = json_string_value(json_object_get(res, "job"));
	snprintf(hash, 65, "%s", j != NULL ? j : "0");
	snprintf(id, JOBS_ID_HEX, "%s", j != NULL ? j : "?");
	if (state != NULL && strcmp(state, "queued") == 0) {
		json_decref(res);
		return -1;
	}
	/* Run again under its idempotency key after it succeeded: done. */
	if (state != NULL && strcmp(state, "ready") == 0 &&
	    json_is_true(json_object_get(res, "duplicate"))) {
		fprintf(stderr, "tenant-export: run: job %s: %s\n", id,
		    client_message(res));
		if (cc->json) {
			json_object_set_new(res, "ok", json_true());
			json_object_set_new(res, "job", json_string(id));
			cmd_print_json(res);
		} else {
			printf("%s\n", id);
			json_decref(res);
		}
		return CMD_EXIT_OK;
	}
	if (state != NULL && strcmp(state, "awaiting_approval") == 0) {
		fprintf(stderr, "tenant-export: run: job %s awaits approval "
		    "(high-risk scope): another person runs `tenant-export "
		    "approve %s`, then `tenant-export run --job %s`\n", id, id,
		    id);
		if (!cc->json)
			printf("%s\n", id);
	} else
		fprintf(stderr, "tenant-export: run: job %s: %s\n", id,
		    client_message(res));
	if (cc->json) {
		json_object_set_new(res, "ok", json_false());
		json_object_set_new(res, "job", json_string(id));
		cmd_print_json(res);
		res = NULL;
	}
	json_decref(res);
	return CMD_EXIT_FAIL;
}

/* An export that failed is a failure (1); only what stops it from
 * running at all (arguments, configuration, database, files) is
 * operational (2). */
static int
run_exit(const json_t *res)
{
	/* a refusal (audited with its reason) is the control plane's */
	if (json_string_value(json_object_get(res, "reason")) != NULL)
		return client_exit(res);
	switch ((int)json_integer_value(json_object_get(res, "r"))) {
	case 0:
		return CMD_EXIT_OK;
	case ERR_USAGE:
	case ERR_CONFIG:
	case ERR_IO:
	case ERR_DB:
	case ERR_NOMEM:
	case ERR_NOENT:
	case ERR_PERM:
	case ERR_PASSPHRASE:
	case ERR_INVALID:
		return CMD_EXIT_USAGE;
	}
	return CMD_EXIT_FAIL;
}

static int
report(const struct cmd_common *cc, json_t *res, const char *id,
    const char *pass_out)
{
	const char *pass = json_string_value(json_object_get(res, "passphrase"));
	int rc = run_exit(res);

	if (rc != 0) {
		/* every failure names the job: run it again, ask its status */
		fprintf(stderr, "tenant-export: run: job %s: %s\n", id,
		    client_message(res));
		if (json_string_value(json_object_get(res, "state")) != NULL &&
		    strcmp(json_string_value(json_object_get(res, "state")),
		    "awaiting_approval") == 0)
		{
			fprintf(stderr, "tenant-export: run: job %s awaits "
			    "approval: `tenant-export approve %s`, then "
			    "`tenant-export run --job %s`\n", id, id, id);
			if (!cc->json)
				printf("%s\n", id);
		}
	} else if (pass != NULL && show_passphrase(pass, pass_out) != 0) {
		fprintf(stderr, "tenant-export: run: the archive was published "
		    "but its passphrase could not be handed over; cancel job "
		    "%s and export again\n", id);
		rc = CMD_EXIT_USAGE;
	}
	json_object_del(res, "passphrase");
	if (cc->json) {
		json_object_set_new(res, "ok", json_boolean(rc == 0));
		json_object_set_new(res, "job", json_string(id));
		cmd_print_json(res);
		return rc;
	}
	if (rc == 0)
		print_summary(res, id);
	json_decref(res);
	return rc;
}

static const struct cli_cmd run_cmd = { "run", run_usage };

int
cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		CMD_COMMON_OPTS,
		CMD_REQUEST_OPTS,
		{ "job", required_argument, NULL, 'J' },
		{ "passphrase-out", required_argument, NULL, 'O' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cmd_common cc;
	struct cmd_req q;
	struct minisig_seckey *sk = NULL;
	struct client *cl = NULL;
	const char *jobarg = NULL, *pass_out = NULL;
	char hash[65], id[65];	/* the job's id, or its hash */
	json_t *res = NULL;
	int ch, k, quiet = 0, scope = 0, rc = CMD_EXIT_USAGE;

	memset(&cc, 0, sizeof(cc));
	memset(&q, 0, sizeof(q));
	optind = 1;
	while ((ch = cli_getopt(argc, argv, NULL, opts, &run_cmd)) != -1) {
		if (cmd_common_opt(ch, &cc))
			continue;
		if ((k = cmd_request_opt("run", ch, &q)) > 0) {
			scope |= ch != 't';
			continue;
		}
		if (k < 0)
			goto usage;
		switch (ch) {
		case 'J': jobarg = optarg; break;
		case 'O': pass_out = optarg; break;
		case 'q': quiet = 1; break;
		default: goto usage;
		}
	}
	/* Being able to run the binary (or read its config) is not
	 * permission to export: every export is a signed request. */
	if (cmd_common_check("run", argc, argv, 0, &cc) != 0)
		goto usage;
	if (q.tenant == NULL && jobarg == NULL) {
		cli_usage_error("run", "give --tenant ID (a new request) or "
		    "--job JOB (a requested job)");
		goto usage;
	}
	if (q.tenant != NULL && jobarg != NULL) {
		cli_usage_error("run", "give --tenant (a new request) or --job "
		    "(a requested job), not both");
		goto usage;
	}
	if (jobarg != NULL && scope) {
		cli_usage_error("run", "a job's scope and recipients were fixed "
		    "when it was requested; --job takes no request options");
		goto usage;
	}
	if (jobarg != NULL && !cmd_job_valid(jobarg)) {
		cli_usage_error("run", "--job '%s' is not a job id (the 32 hex "
		    "digits `request` printed)", jobarg);
		goto usage;
	}
	if (q.tenant != NULL && pass_out != NULL && !q.passphrase) {
		cli_usage_error("run", "--passphrase-out is where the passphrase "
		    "of a --passphrase export goes; add --passphrase, or drop "
		    "--passphrase-out to encrypt to the tenant's recipients");
		goto usage;
	}
	/* what costs nothing is checked before the key is unlocked */
	if (cmd_request_check("run", &q) != 0)
		goto usage;
	/* The service starts and greets while the key is unlocked; the
	 * request and the run then share its one connection. */
	if (client_start("run", &cc.co, &cl) != 0 ||
	    cmd_key_load("run", cc.key, cc.passfile, &sk) != 0) {
		rc = CMD_EXIT_USAGE;
		goto out;
	}
	if (jobarg != NULL) {
		cmd_job_arg(jobarg, hash);
		snprintf(id, sizeof(id), "%s", hash);
	} else if ((rc = request_first(&cc, cl, sk, &q, hash, id)) >= 0)
		goto out;
	run_job(&cc, cl, sk, hash, quiet, &res);
	minisig_seckey_free(sk);
	sk = NULL;
	client_close(cl);
	cl = NULL;
	if (res == NULL) {
		rc = CMD_EXIT_USAGE;
		goto out;
	}
	rc = report(&cc, res, id, pass_out);
	res = NULL;
	goto out;
 usage:
	rc = CMD_EXIT_USAGE;
 out:
	minisig_seckey_free(sk);
	client_close(cl);
	json_decref(res);
	free(q.recipients);
	sodium_memzero(id, sizeof(id));
	return rc;
}
