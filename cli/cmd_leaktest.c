/*
 * tenant-export leaktest: the auditor's cross-tenant leak test
 * (docs/AUDIT.md). Signs leaktest.run and hands it to the service, which
 * decides the auditor's right and runs every check; this process gets
 * the checks as they are decided (names, counts and tenant ids, never a
 * row) and prints them, as JSON, and as JUnit XML.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "client.h"
#include "cli.h"
#include "cmd_jobs.h"
#include "err.h"
#include "leakreport.h"
#include "leakrun.h"
#include "minisig.h"

#define JUNIT_MAX	(64u << 20)

static void
leaktest_usage(FILE *f, const char *name)
{
	(void)name;
	fprintf(f,
"usage: tenant-export leaktest (--socket PATH | --config FILE) --as KEY\n"
"           [--passphrase-file F] [--tenants all | --sample N |\n"
"           --tenant ID ...] [--plant-canaries] [--json] [--junit FILE]\n"
"\n"
"Tests the whole database for cross-tenant leaks, as an auditor, without\n"
"seeing the data: lint's schema findings; for each tested tenant an export\n"
"session's every way out of its scope, an export through the real\n"
"pipeline (proof, other tenants' ids in any value, completeness);\n"
"foreign keys between tenants; every command of a principal against\n"
"another tenant. The service runs it; KEY's principal needs the role\n"
"auditor. docs/AUDIT.md says what each check proves and what it cannot.\n"
"\n"
"%s"
"  --tenants all              every tenant found in the database (default)\n"
"  --sample N                 N tenants at random\n"
"  --tenant ID                this tenant (repeat for several)\n"
"  --plant-canaries           staging only: a marker row in every tenant\n"
"                             table of each tested tenant, deleted after\n"
"  --junit FILE               also write the report as JUnit XML\n"
"\n"
"Exit status: 0 nothing leaks; 1 a finding; 2 the test could not run (or\n"
"not fully: an error, an interruption, the right refused).\n",
	    cmd_common_usage);
}

struct ltcli {
	json_t *checks;
	int quiet;		/* --json: lines go nowhere */
};

static void
on_check(void *ctx, json_t *p)
{
	struct ltcli *c = ctx;
	json_t *check = json_object_get(p, "check");
	char line[1200];

	if (!json_is_object(check))
		return;
	json_array_append(c->checks, check);
	if (c->quiet)
		return;
	leakreport_line(check, line, sizeof(line));
	printf("%s\n", line);
	fflush(stdout);
}

/* Written beside FILE, then renamed over it. */
static int
write_junit(const char *path, const json_t *report)
{
	struct buf *b = buf_new(JUNIT_MAX);
	char tmp[4096];
	int fd = -1, r = ERR_NOMEM;

	if (b == NULL || leakreport_junit(report, b) != 0)
		goto out;
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		r = ERR_INVALID;
		goto out;
	}
	r = ERR_IO;
	if ((fd = mkstemp(tmp)) < 0)
		goto out;
	if (fchmod(fd, 0644) != 0 || write(fd, buf_ptr(b), buf_len(b)) !=
	    (ssize_t)buf_len(b) || fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		unlink(tmp);
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		unlink(tmp);
		goto out;
	}
	r = 0;
 out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	if (r != 0)
		fprintf(stderr, "tenant-export: leaktest: cannot write \"%s\": "
		    "%s\n", path, r == ERR_IO ? strerror(errno) : err_str(r));
	buf_free(b);
	return r;
}

/* The report: the result's members and every check. */
static json_t *
report_of(json_t *res, json_t *checks)
{
	json_t *rep = json_object();
	int ex = (int)json_integer_value(json_object_get(res, "exit"));
	static const char *const keep[] = { "run", "auditor", "database",
	    "started", "finished", "tenants", "canaries", "interrupted",
	    "summary" };
	size_t i;

	json_object_set_new(rep, "leaktest", json_integer(1));
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (json_object_get(res, keep[i]) != NULL)
			json_object_set(rep, keep[i], json_object_get(res,
			    keep[i]));
	json_object_set_new(rep, "exit", json_integer(ex));
	json_object_set_new(rep, "result", json_string(ex == 0 ? "pass" :
	    ex == 1 ? "leak" : "error"));
	json_object_set(rep, "checks", checks);
	return rep;
}

static void
print_summary(const json_t *rep)
{
	const json_t *s = json_object_get(rep, "summary");
	int ex = (int)json_integer_value(json_object_get(rep, "exit"));

	printf("leaktest %s: %lld checks, %lld passed, %lld findings, %lld "
	    "errors, %lld skipped: %s\n", json_string_value(json_object_get(rep,
	    "run")), json_integer_value(json_object_get(s, "checks")),
	    json_integer_value(json_object_get(s, "passed")),
	    json_integer_value(json_object_get(s, "failed")),
	    json_integer_value(json_object_get(s, "errors")),
	    json_integer_value(json_object_get(s, "skipped")), ex == 0 ?
	    "nothing leaks" : ex == 1 ? "LEAKS FOUND" : "the test did not "
	    "run fully");
}

struct ltargs {
	struct cmd_common cc;
	const char *select, *sample, *junit;
	json_t *tenants;
	int canaries;
};

/* Signs leaktest.run, runs it, prints; the exit status. */
static int
leaktest_call(struct ltargs *a, struct ltcli *lc)
{
	static const char *const keys[] = { "select", "sample", "tenants",
	    "canaries" };
	const char *vals[4];
	struct minisig_seckey *sk = NULL;
	struct client *cl = NULL;
	struct cmd_action act = { NULL, NULL };
	json_t *res = NULL, *rep = NULL;
	char *list = json_dumps(a->tenants, JSON_COMPACT);
	int r, rc = CMD_EXIT_USAGE;

	vals[0] = a->select;
	vals[1] = a->sample != NULL ? a->sample : "";
	vals[2] = list != NULL && json_array_size(a->tenants) > 0 ? list : "";
	vals[3] = a->canaries ? "1" : "0";
	if ((r = cmd_key_load("leaktest", a->cc.key, a->cc.passfile, &sk)) != 0 ||
	    (r = client_open("leaktest", &a->cc.co, &cl)) != 0 ||
	    (r = client_sign("leaktest", cl, sk, "leaktest.run", keys, vals, 4,
	    &act)) != 0)
		goto out;
	minisig_seckey_free(sk);
	sk = NULL;
	r = client_call("leaktest", cl, &act, NULL, on_check, lc, NULL, &res);
	if (res == NULL)
		goto out;
	if (r != 0 && r != ERR_INTERRUPTED) {
		fprintf(stderr, "tenant-export: leaktest: %s\n",
		    client_message(res));
		goto out;	/* refused or broken: it could not run */
	}
	if (r == ERR_INTERRUPTED)
		fprintf(stderr, "tenant-export: leaktest: %s\n",
		    client_message(res));
	rep = report_of(res, lc->checks);
	rc = (int)json_integer_value(json_object_get(rep, "exit"));
	if (a->junit != NULL && write_junit(a->junit, rep) != 0)
		rc = CMD_EXIT_USAGE;
	if (a->cc.json)
		cmd_print_json(json_incref(rep));
	else
		print_summary(rep);
 out:
	free(list);
	json_decref(rep);
	json_decref(res);
	minisig_seckey_free(sk);
	cmd_action_clear(&act);
	client_close(cl);
	return rc;
}

static const struct cli_cmd leaktest_cmd = { "leaktest", leaktest_usage };

int
cmd_leaktest(int argc, char **argv)
{
	static const struct option opts[] = {
		CMD_COMMON_OPTS,
		{ "tenants", required_argument, NULL, 'A' },
		{ "sample", required_argument, NULL, 'N' },
		{ "tenant", required_argument, NULL, 't' },
		{ "plant-canaries", no_argument, NULL, 'C' },
		{ "junit", required_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ltargs a;
	struct ltcli lc = { NULL, 0 };
	int ch, rc = CMD_EXIT_USAGE, modes = 0;
	char *end;

	memset(&a, 0, sizeof(a));
	a.select = "all";
	if ((a.tenants = json_array()) == NULL ||
	    (lc.checks = json_array()) == NULL)
		goto out;
	optind = 1;
	while ((ch = cli_getopt(argc, argv, NULL, opts, &leaktest_cmd)) != -1) {
		if (cmd_common_opt(ch, &a.cc))
			continue;
		switch (ch) {
		case 'A':
			if (strcmp(optarg, "all") != 0) {
				cli_usage_error("leaktest", "--tenants takes "
				    "only 'all'");
				goto usage;
			}
			modes |= 1;
			break;
		case 'N':
			if (optarg[0] < '1' || optarg[0] > '9' ||
			    strtoul(optarg, &end, 10) > LEAKRUN_MAX_SAMPLE ||
			    *end != '\0') {
				cli_usage_error("leaktest", "--sample: 1 to %d",
				    (int)LEAKRUN_MAX_SAMPLE);
				goto usage;
			}
			a.select = "sample";
			a.sample = optarg;
			modes |= 2;
			break;
		case 't':
			if (json_array_size(a.tenants) >= LEAKRUN_MAX_LIST ||
			    optarg[0] == '\0') {
				cli_usage_error("leaktest", "--tenant: a tenant id "
				    "(at most %d)", (int)LEAKRUN_MAX_LIST);
				goto usage;
			}
			json_array_append_new(a.tenants, json_string(optarg));
			a.select = "list";
			modes |= 4;
			break;
		case 'C': a.canaries = 1; break;
		case 'J': a.junit = optarg; break;
		default: goto usage;
		}
	}
	if (cmd_common_check("leaktest", argc, argv, 0, &a.cc) != 0)
		goto usage;
	if (modes != 0 && modes != 1 && modes != 2 && modes != 4) {
		cli_usage_error("leaktest", "give one of --tenants all, --sample "
		    "N or --tenant ID");
		goto usage;
	}
	lc.quiet = a.cc.json;
	rc = leaktest_call(&a, &lc);
	goto out;
 usage:
	rc = CMD_EXIT_USAGE;
 out:
	json_decref(a.tenants);
	json_decref(lc.checks);
	return rc;
}
