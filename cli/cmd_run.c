/*
 * tenant-export run: one tenant's export, end to end (export.c).
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

#include "cmd.h"
#include "config.h"
#include "err.h"
#include "evidence.h"
#include "export.h"
#include "buf.h"
#include "cmd_jobs.h"
#include "jobs.h"
#include "minisig.h"

#define MAX_LIST 256

static void
run_usage(FILE *f)
{
	fprintf(f,
"usage: tenant-export run --config FILE --as KEY --tenant ID [options]\n"
"       tenant-export run --config FILE --as KEY --job JOB [options]\n"
"\n"
"Exports one tenant's rows into a signed, encrypted archive in the outbox.\n"
"Every export is a job: the first form requests it (signed with KEY, the\n"
"same checks as `tenant-export request`) and runs it at once unless it is\n"
"high-risk and needs approval; the second runs a queued or approved job.\n"
"Without --as, run refuses: whoever can run the binary must not be able\n"
"to export.\n"
"\n"
"  --config FILE              configuration (see docs/DATABASE.md)\n"
"  --as KEY                   the principal's secret key (docs/CONTROL.md)\n"
"  --passphrase-file F        KEY's passphrase (else a terminal prompt)\n"
"  --job JOB                  run this job (id printed by request)\n"
"  --tenant ID                the tenant key value to export\n"
"  --tables S.T[,S.T...]      only these tables (default: every tenant table)\n"
"  --since T, --until T       date window on each table's date_column\n"
"                             (tables without one are exported whole)\n"
"  --include-global           also export tables classified global\n"
"  --confirm \"EXPORT <NAME>\"  typed confirmation for a high-risk scope\n"
"  --idempotency-key K        a retry with the same key creates no second job\n"
"  --allow-empty              publish even if the tenant has no rows\n"
"  --out DIR                  outbox directory (default: [export] outbox)\n"
"  --recipient age1...        encrypt to this recipient (repeatable;\n"
"                             replaces the configured recipients)\n"
"  --passphrase               encrypt with a new random passphrase, shown\n"
"                             once on the terminal and never stored\n"
"  --passphrase-out FILE      write that passphrase to a new 0600 file\n"
"  --sign-passphrase-file F   passphrase of an encrypted signing key\n"
"  --zstd                     compress the archive content\n"
"  --json                     print a JSON summary on stdout\n"
"  --quiet                    no progress on the terminal\n"
"\n"
"Exit status: 0 archive published; 1 the export failed or was refused\n"
"(access denied, awaiting approval, lint findings, no rows, builder or\n"
"checker failure); 2 usage or operational error (configuration, database\n"
"unreachable, outbox).\n");
}

/* 120 random bits as 24 characters from a 32-letter alphabet without
 * look-alikes, in groups of four. */
static char *
make_passphrase(void)
{
	static const char alpha[] = "abcdefghijkmnpqrstuvwxyz23456789";
	uint8_t rnd[24];
	char *p = sodium_malloc(30);
	size_t i, k = 0;

	if (p == NULL)
		return NULL;
	randombytes_buf(rnd, sizeof(rnd));
	for (i = 0; i < 24; i++) {
		if (i > 0 && i % 4 == 0)
			p[k++] = '-';
		p[k++] = alpha[rnd[i] & 31];
	}
	p[k] = '\0';
	sodium_memzero(rnd, sizeof(rnd));
	return p;
}

static int
show_passphrase(const char *pass, const char *out_file)
{
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
		if (write(fd, pass, strlen(pass)) != (ssize_t)strlen(pass) ||
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
progress(void *ctx, uint64_t rows, uint64_t bytes)
{
	struct progress *p = ctx;
	double secs;

	if (!p->on)
		return;
	secs = difftime(time(NULL), p->start);
	fprintf(stderr, "\r  %llu rows, %.1f MB read, %.0f rows/s    ",
	    (unsigned long long)rows, (double)bytes / 1e6,
	    secs > 0 ? (double)rows / secs : (double)rows);
}

static void
iso_time(uint64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
print_json(const struct export_result *res, const char *job, const char *ref)
{
	char id[33], th[65], md[65], c[32], e[32];
	json_t *o = json_object(), *tabs = json_array();
	size_t i;
	char *s;

	evidence_hex(res->export_id, sizeof(res->export_id), id);
	evidence_hex(res->tenant_hash, sizeof(res->tenant_hash), th);
	evidence_hex(res->manifest_digest, sizeof(res->manifest_digest), md);
	iso_time(res->created, c, sizeof(c));
	iso_time(res->expires, e, sizeof(e));
	for (i = 0; i < res->ntables; i++) {
		json_t *t = json_object();

		json_object_set_new(t, "name", json_string(res->tables[i].name));
		json_object_set_new(t, "records",
		    json_integer((json_int_t)res->tables[i].records));
		json_array_append_new(tabs, t);
	}
	json_object_set_new(o, "ok", json_true());
	if (job != NULL)
		json_object_set_new(o, "job", json_string(job));
	json_object_set_new(o, "job_ref", json_string(ref));
	json_object_set_new(o, "archive", json_string(res->archive));
	json_object_set_new(o, "export_id", json_string(id));
	json_object_set_new(o, "tenant_hash", json_string(th));
	json_object_set_new(o, "manifest_digest", json_string(md));
	json_object_set_new(o, "created", json_string(c));
	json_object_set_new(o, "expires", json_string(e));
	json_object_set_new(o, "records", json_integer((json_int_t)res->records));
	json_object_set_new(o, "parts", json_integer((json_int_t)res->parts));
	json_object_set_new(o, "tables", tabs);
	json_object_set_new(o, "peak_rss_kib", json_pack("{s:I,s:I,s:I}",
	    "monitor", (json_int_t)res->monitor_rss_kib,
	    "builder", (json_int_t)res->builder_rss_kib,
	    "children", (json_int_t)res->checker_rss_kib));
	s = json_dumps(o, JSON_INDENT(2));
	if (s != NULL)
		printf("%s\n", s);
	free(s);
	json_decref(o);
}

static void
print_json_error(int r, const char *msg)
{
	json_t *o = json_object();
	char *s;

	json_object_set_new(o, "ok", json_false());
	json_object_set_new(o, "error", json_string(err_str(r)));
	json_object_set_new(o, "message", json_string(msg));
	s = json_dumps(o, JSON_INDENT(2));
	if (s != NULL)
		printf("%s\n", s);
	free(s);
	json_decref(o);
}

static int
exit_code(int r)
{
	switch (r) {
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

/* What the control-plane child needs; it inherits this memory. */
struct run_ctx {
	const struct config *cfg;
	const struct cmd_action *act;
	uint8_t id_hash[JOBS_HASH_LEN];
	char principal[64];
	const struct jobs_result *res;
};

static int
ctl_request(PGconn *c, void *ctx, struct jobs_outcome *o, struct buf *x)
{
	struct run_ctx *k = ctx;
	struct jobs_signed sv = cmd_action_view(k->act);

	(void)x;
	return jobs_request(c, k->cfg, &sv, o);
}

static int
ctl_start(PGconn *c, void *ctx, struct jobs_outcome *o, struct buf *x)
{
	struct run_ctx *k = ctx;
	struct jobs_signed sv;
	struct jobs_job *j = NULL;
	int r;

	if (k->act != NULL) {
		sv = cmd_action_view(k->act);
		r = jobs_start(c, k->cfg, &sv, &j, o);
	} else
		r = jobs_restart(c, k->cfg, k->id_hash, k->principal, &j, o);
	if (r == 0 && (r = cmd_job_put(j, x)) != 0)
		o->r = r;
	jobs_free(j);
	return r;
}

static int
ctl_finish(PGconn *c, void *ctx, struct jobs_outcome *o, struct buf *x)
{
	struct run_ctx *k = ctx;

	(void)x;
	return jobs_finish(c, k->id_hash, k->principal, k->res, o);
}

/*
 * In the provisioning helper, when this process was killed mid-export
 * (export.h): the job is marked failed rather than left running.
 */
static void
run_abandoned(PGconn *c, void *ctx)
{
	struct run_ctx *k = ctx;
	struct jobs_result jr;
	struct jobs_outcome o;

	memset(&jr, 0, sizeof(jr));
	jr.r = ERR_INTERRUPTED;
	jr.error = "the exporting process was killed; nothing was published";
	(void)jobs_finish(c, k->id_hash, k->principal, &jr, &o);
}

/* Faults worth another attempt: the database went away for a moment. */
static int
transient(int r)
{
	return r == ERR_DB;
}

int
cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "as", required_argument, NULL, 'a' },
		{ "passphrase-file", required_argument, NULL, 'F' },
		{ "job", required_argument, NULL, 'J' },
		{ "tenant", required_argument, NULL, 't' },
		{ "tables", required_argument, NULL, 'T' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "include-global", no_argument, NULL, 'g' },
		{ "confirm", required_argument, NULL, 'C' },
		{ "idempotency-key", required_argument, NULL, 'i' },
		{ "allow-empty", no_argument, NULL, 'e' },
		{ "out", required_argument, NULL, 'o' },
		{ "recipient", required_argument, NULL, 'r' },
		{ "passphrase", no_argument, NULL, 'p' },
		{ "passphrase-out", required_argument, NULL, 'P' },
		{ "sign-passphrase-file", required_argument, NULL, 'S' },
		{ "zstd", no_argument, NULL, 'z' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const run_keys[1] = { "job" };
	const char *rcp[MAX_LIST];
	const char *tables[MAX_LIST];
	struct export_request q;
	struct export_result res;
	struct jobs_result jr;
	struct jobs_outcome o;
	struct cmd_req rq;
	struct cmd_action act_req = { NULL, NULL }, act_run = { NULL, NULL };
	struct run_ctx k;
	struct minisig_seckey *sk = NULL;
	struct jobs_job *job = NULL;
	struct buf *x = NULL;
	struct config *cfg = NULL;
	struct progress pr = { 0, 0 };
	const char *config = NULL, *pass_out = NULL, *key = NULL;
	const char *passfile = NULL, *jobarg = NULL, *run_vals[1];
	char err[1024], *pass = NULL, c1[32], c2[32];
	char idhex[JOBS_ID_HEX] = "", ref[JOBS_REF_HEX] = "";
	uint8_t id[JOBS_ID_LEN];
	int c, json = 0, quiet = 0, want_pass = 0, r, rc = CMD_EXIT_USAGE;
	int scope_given = 0, attempt;
	size_t i;

	memset(&q, 0, sizeof(q));
	memset(&res, 0, sizeof(res));
	memset(&rq, 0, sizeof(rq));
	memset(&k, 0, sizeof(k));
	memset(id, 0, sizeof(id));
	q.recipients = rcp;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'a': key = optarg; break;
		case 'F': passfile = optarg; break;
		case 'J': jobarg = optarg; break;
		case 't': rq.tenant = optarg; break;
		case 'T': rq.tables = optarg; scope_given = 1; break;
		case 's': rq.since = optarg; scope_given = 1; break;
		case 'u': rq.until = optarg; scope_given = 1; break;
		case 'g': rq.include_global = 1; scope_given = 1; break;
		case 'C': rq.confirm = optarg; break;
		case 'i': rq.idem = optarg; break;
		case 'e': q.allow_empty = 1; break;
		case 'o': q.outdir = optarg; break;
		case 'r':
			if (q.nrecipients >= MAX_LIST)
				goto usage;
			rcp[q.nrecipients++] = optarg;
			break;
		case 'p': want_pass = 1; break;
		case 'P': pass_out = optarg; want_pass = 1; break;
		case 'S': q.sign_pass_file = optarg; break;
		case 'z': q.zstd = 1; break;
		case 'j': json = 1; break;
		case 'q': quiet = 1; break;
		case 'h': run_usage(stdout); return CMD_EXIT_OK;
		default: goto usage;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "tenant-export: run: unexpected argument \"%s\"\n",
		    argv[optind]);
		goto usage;
	}
	if (config == NULL || (rq.tenant == NULL) == (jobarg == NULL)) {
		fprintf(stderr, "tenant-export: run: --config and one of "
		    "--tenant or --job are required\n");
		goto usage;
	}
	if (jobarg != NULL && (scope_given || rq.confirm || rq.idem)) {
		fprintf(stderr, "tenant-export: run: a job's scope was fixed "
		    "when it was requested; --job takes no scope options\n");
		goto usage;
	}
	if (want_pass && q.nrecipients > 0) {
		fprintf(stderr, "tenant-export: run: --passphrase and "
		    "--recipient cannot be combined\n");
		goto usage;
	}
	if ((r = config_load(config, &cfg, err, sizeof(err))) != 0) {
		fprintf(stderr, "tenant-export: run: %s\n", err);
		if (json)
			print_json_error(r, err);
		return CMD_EXIT_USAGE;
	}
	q.cfg = cfg;
	k.cfg = cfg;
	if (key == NULL) {
		/* The point of the control plane: being able to run the
		 * binary (and read its config) is not permission to export. */
		fprintf(stderr, "tenant-export: run: --as KEY is required: every "
		    "export is a signed request by a registered principal "
		    "(docs/CONTROL.md)\n");
		if (json)
			print_json_error(ERR_DENIED, "--as KEY is required");
		goto out;
	}
	if ((x = buf_new(1 << 20)) == NULL)
		goto out;
	if ((r = cmd_key_load("run", key, passfile, &sk)) != 0)
		goto out;

	/* 1. the request (or the job given), through a child process: this
	 * process never logs in as the monitor. */
	if (jobarg == NULL) {
		if ((r = cmd_request_sign("run", cfg, sk, &rq, &act_req)) != 0)
			goto out;
		k.act = &act_req;
		r = cmd_in_child(cfg, ctl_request, &k, &o, NULL);
		if (r != 0) {
			fprintf(stderr, "tenant-export: run: %s\n", o.msg);
			if (json)
				print_json_error(r, o.msg);
			rc = cmd_exit_for(r);
			goto out;
		}
		jobs_ref(o.id_hash, ref);
		if (o.duplicate) {
			fprintf(stderr, "tenant-export: run: %s; run it with "
			    "--job\n", o.msg);
			rc = CMD_EXIT_FAIL;
			goto out;
		}
		memcpy(id, o.id, sizeof(id));
		jobs_id_hex(id, idhex);
		if (o.state == JOBS_AWAITING_APPROVAL) {
			fprintf(stderr, "tenant-export: run: job %s awaits "
			    "approval (high-risk scope): another principal runs "
			    "`tenant-export approve %s`, then `tenant-export run "
			    "--job %s`\n", idhex, idhex, idhex);
			if (json)
				printf("{\"ok\": false, \"error\": "
				    "\"awaiting_approval\", \"job\": \"%s\"}\n",
				    idhex);
			else
				printf("%s\n", idhex);
			rc = CMD_EXIT_FAIL;
			goto out;
		}
		run_vals[0] = idhex;
	} else {
		run_vals[0] = cmd_job_arg(jobarg);
	}
	if ((r = cmd_sign("run", sk, "export.run", run_keys, run_vals, 1,
	    &act_run)) != 0)
		goto out;
	/* The principal's key is not needed any more: gone before any
	 * child of the export is forked. */
	minisig_seckey_free(sk);
	sk = NULL;

	if (want_pass) {
		if ((pass = make_passphrase()) == NULL) {
			fprintf(stderr, "tenant-export: run: out of memory\n");
			goto out;
		}
		q.passphrase = pass;
	}
	pr.on = !quiet && !json && isatty(2);
	q.progress = progress;
	q.progress_ctx = &pr;
	q.abandoned = run_abandoned;
	q.abandoned_ctx = &k;
	for (attempt = 1;; attempt++) {
		/* 2. claim the job: the same checks again, then running */
		k.act = attempt == 1 ? &act_run : NULL;
		buf_reset(x);
		r = cmd_in_child(cfg, ctl_start, &k, &o, x);
		if (r != 0) {
			fprintf(stderr, "tenant-export: run: %s\n", o.msg);
			if (json)
				print_json_error(r, o.msg);
			rc = cmd_exit_for(r);
			goto out;
		}
		jobs_free(job);
		job = NULL;
		if ((r = cmd_job_get(x, &job)) != 0) {
			fprintf(stderr, "tenant-export: run: the job record is "
			    "unreadable\n");
			goto out;
		}
		memcpy(k.id_hash, job->id_hash, JOBS_HASH_LEN);
		snprintf(k.principal, sizeof(k.principal), "%s", o.principal);
		snprintf(ref, sizeof(ref), "%s", job->ref);

		/* 3. the export, exactly the job's tenant and scope */
		q.tenant = job->tenant;
		q.ntables = job->scope.ntables < MAX_LIST ? job->scope.ntables :
		    MAX_LIST;
		for (i = 0; i < q.ntables; i++)
			tables[i] = job->scope.tables[i];
		q.tables = tables;
		q.since = job->scope.since;
		q.until = job->scope.until;
		q.include_global = job->scope.include_global;
		/* Without an approval, a large export is held for one. */
		q.max_records = job->approved_by != 0 ? 0 :
		    config_control(cfg)->high_risk_rows;
		pr.start = time(NULL);
		export_result_clear(&res);
		r = export_run(&q, &res, err, sizeof(err));
		if (pr.on)
			fprintf(stderr, "\n");

		/* 4. record the outcome */
		memset(&jr, 0, sizeof(jr));
		jr.r = r;
		jr.error = err;
		jr.retry = r != 0 && transient(r) &&
		    (uint64_t)attempt < config_control(cfg)->max_attempts;
		jr.archive = res.archive;
		jr.digest = res.manifest_digest;
		jr.receipt = res.receipt;
		jr.receipt_len = res.receipt_len;
		jr.expires = res.expires;
		jr.records = res.records;
		k.res = &jr;
		if (cmd_in_child(cfg, ctl_finish, &k, &o, NULL) != 0) {
			fprintf(stderr, "tenant-export: run: %s\n", o.msg);
			rc = CMD_EXIT_USAGE;
			goto out;
		}
		if (r == 0 || !jr.retry)
			break;
		fprintf(stderr, "tenant-export: run: attempt %d failed (%s); "
		    "retrying\n", attempt, err);
		sleep(2);
	}
	if (r != 0) {
		fprintf(stderr, "tenant-export: run: %s\n", err);
		if (r == ERR_LIMIT && idhex[0] != '\0') {
			/* Held for approval: the id is shown here, once. */
			fprintf(stderr, "tenant-export: run: job %s awaits "
			    "approval: `tenant-export approve %s`, then "
			    "`tenant-export run --job %s`\n", idhex, idhex,
			    idhex);
			if (!json)
				printf("%s\n", idhex);
		}
		if (json)
			print_json_error(r, err);
		rc = exit_code(r);
		goto out;
	}
	/* Shown only once the archive exists: a failed export needs none. */
	if (pass != NULL && show_passphrase(pass, pass_out) != 0) {
		fprintf(stderr, "tenant-export: run: the archive \"%s\" was "
		    "published but its passphrase could not be handed over; "
		    "delete it and export again\n", res.archive);
		rc = CMD_EXIT_USAGE;
		goto out;
	}
	if (json)
		print_json(&res, idhex[0] ? idhex : NULL, ref);
	else {
		iso_time(res.created, c1, sizeof(c1));
		iso_time(res.expires, c2, sizeof(c2));
		printf("tenant-export: exported %llu records from %zu tables\n"
		    "  job:       %s\n"
		    "  archive:   %s\n  signature: %s.minisig\n"
		    "  created:   %s\n  expires:   %s\n",
		    (unsigned long long)res.records, res.ntables,
		    idhex[0] ? idhex : ref, res.archive, res.archive, c1, c2);
	}
	rc = CMD_EXIT_OK;
	goto out;
 usage:
	run_usage(stderr);
	rc = CMD_EXIT_USAGE;
 out:
	if (pass != NULL)
		sodium_free(pass);
	minisig_seckey_free(sk);
	sodium_memzero(idhex, sizeof(idhex));
	sodium_memzero(id, sizeof(id));
	cmd_action_clear(&act_req);
	cmd_action_clear(&act_run);
	jobs_free(job);
	buf_free(x);
	export_result_clear(&res);
	config_free(cfg);
	return rc;
}
