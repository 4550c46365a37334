/*
 * tenant-export status | list | cancel, and what the principals'
 * commands share (cmd_jobs.h).
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/readpassphrase.h>
#include <jansson.h>
#include <sodium.h>

#include "action.h"
#include "buf.h"
#include "client.h"
#include "cli.h"
#include "cmd_jobs.h"
#include "err.h"
#include "jobs.h"
#include "text.h"
#include "minisig.h"

void
cmd_action_clear(struct cmd_action *a)
{
	buf_free(a->text);
	buf_free(a->sig);
	a->text = a->sig = NULL;
}

struct jobs_signed
cmd_action_view(const struct cmd_action *a)
{
	struct jobs_signed s;

	s.text = buf_ptr(a->text);
	s.tlen = buf_len(a->text);
	s.sig = buf_ptr(a->sig);
	s.slen = buf_len(a->sig);
	return s;
}

int
cmd_key_load(const char *cmd, const char *key, const char *passfile,
    struct minisig_seckey **sk)
{
	char err[256] = "";
	int r;

	if (sodium_init() < 0)
		return ERR_INTERNAL;
	if ((r = action_seckey_load(key, passfile, sk, err, sizeof(err))) != 0)
		fprintf(stderr, "tenant-export: %s: cannot unlock \"%s\": %s\n",
		    cmd, key, err[0] ? err : err_str(r));
	/* a missing key file is operational (2), not a refusal */
	return r == ERR_NOENT ? ERR_IO : r;
}

#ifdef TEXP_TEST_HOOKS
static int
hook_file(const char *dir, const char *name, struct buf *b, int save)
{
	char path[4096];
	uint8_t tmp[8192];
	ssize_t n;
	int fd, r = ERR_IO;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (save) {
		if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
			return ERR_IO;
		if (write(fd, buf_ptr(b), buf_len(b)) == (ssize_t)buf_len(b))
			r = 0;
		close(fd);
		return r;
	}
	if ((fd = open(path, O_RDONLY)) < 0)
		return ERR_IO;
	n = read(fd, tmp, sizeof(tmp));
	if (n > 0 && (r = buf_put(b, tmp, (size_t)n)) == 0)
		r = 0;
	close(fd);
	return r;
}
#endif

int
cmd_sign(const char *cmd, const struct minisig_seckey *sk,
    const char *kind, const char *const *keys, const char *const *vals,
    size_t n, struct cmd_action *out)
{
	uint64_t when = (uint64_t)time(NULL);
	int r;

	out->text = buf_new(ACTION_TEXT_MAX);
	out->sig = buf_new(ACTION_SIG_MAX);
	if (out->text == NULL || out->sig == NULL) {
		cmd_action_clear(out);
		return ERR_NOMEM;
	}
#ifdef TEXP_TEST_HOOKS
	{
		const char *age = getenv("TEXP_TEST_ACTION_AGE");
		const char *rep = getenv("TEXP_TEST_ACTION_REPLAY");

		if (rep != NULL) {
			if ((r = hook_file(rep, "action.txt", out->text, 0)) ||
			    (r = hook_file(rep, "action.sig", out->sig, 0)))
				cmd_action_clear(out);
			return r;
		}
		if (age != NULL)
			when -= strtoull(age, NULL, 10);
	}
#endif
	r = action_sign_at(sk, kind, when, keys, vals, n, out->text, out->sig);
	if (r != 0) {
		fprintf(stderr, "tenant-export: %s: cannot sign the request: "
		    "%s\n", cmd, err_str(r));
		cmd_action_clear(out);
		return r;
	}
#ifdef TEXP_TEST_HOOKS
	{
		const char *save = getenv("TEXP_TEST_ACTION_SAVE");

		if (save != NULL) {
			hook_file(save, "action.txt", out->text, 1);
			hook_file(save, "action.sig", out->sig, 1);
		}
	}
#endif
	return 0;
}

const char cmd_common_usage[] =
"  --socket PATH              the service's socket (default: "
"$TENANT_EXPORT_SOCKET,\n"
"                             else /run/tenant-export/tenant-export.sock)\n"
"  --config FILE              run the service here instead (only the "
"service's\n"
"                             account can: it reads the service's files)\n"
"  --as KEY                   your passphrase-protected minisign secret key\n"
"  --passphrase-file F        KEY's passphrase (mode 0600; else a terminal "
"prompt)\n"
"  --json                     print the result as JSON on stdout\n";

int
cmd_common_opt(int ch, struct cmd_common *c)
{
	switch (ch) {
	case 'S': c->co.socket = optarg; return 1;
	case 'c': c->co.config = optarg; return 1;
	case 'a': c->key = optarg; return 1;
	case 'p': c->passfile = optarg; return 1;
	case 'j': c->json = 1; return 1;
	}
	return 0;
}

int
cmd_common_check(const char *cmd, int argc, char **argv, int njob,
    const struct cmd_common *c)
{
	if (njob > 0 && optind >= argc)
		return cli_usage_error(cmd, "JOB is required (the id "
		    "`request` printed)");
	if (njob > 0 && !cmd_job_valid(argv[optind]))
		return cli_usage_error(cmd, "'%s' is not a job id (the 32 hex "
		    "digits `request` printed)", argv[optind]);
	if (optind + njob < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'",
		    argv[optind + njob]);
	if (c->key == NULL)
		return cli_usage_error(cmd, "--as KEY is required: every "
		    "command a principal runs is signed with its key");
	return 0;
}

int
cmd_parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

void
cmd_print_json(json_t *j)
{
	char *s;

	/* the service's numeric code is for this command, not for scripts:
	 * they read "error" (docs/JSON.md) */
	json_object_del(j, "r");
	s = j != NULL ? json_dumps(j, JSON_INDENT(2)) : NULL;

	if (s != NULL)
		printf("%s\n", s);
	free(s);
	json_decref(j);
}

int
cmd_job_valid(const char *arg)
{
	uint8_t h[JOBS_HASH_LEN];

	return jobs_id_parse(arg, h) == 0 || jobs_hash_parse(arg, h) == 0;
}

void
cmd_job_arg(const char *arg, char out[65])
{
	uint8_t h[JOBS_HASH_LEN];
	size_t i, n = strlen(arg);

	if (jobs_id_parse(arg, h) == 0 || jobs_hash_parse(arg, h) == 0) {
		for (i = 0; i < n; i++)
			out[i] = (char)(arg[i] >= 'A' && arg[i] <= 'F' ?
			    arg[i] - 'A' + 'a' : arg[i]);
		out[n] = '\0';
		return;
	}
	snprintf(out, 65, "0");
}

int
cmd_exit_for(int r)
{
	switch (r) {
	case 0:
		return CMD_EXIT_OK;
	case ERR_USAGE:
	case ERR_CONFIG:
	case ERR_IO:
	case ERR_DB:
	case ERR_NOMEM:
	case ERR_PERM:
	case ERR_PASSPHRASE:
	case ERR_INVALID:
	case ERR_KEY:
	case ERR_CHILD:
	case ERR_INTERNAL:
	case ERR_UNSUPPORTED:
	case ERR_FORMAT:
	case ERR_TRUNCATED:
		return CMD_EXIT_USAGE;
	}
	return CMD_EXIT_FAIL;
}

void
cmd_iso_time(int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0) {
		snprintf(out, len, "-");
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

char *
cmd_prompt_confirm(const char *display)
{
	char line[512], shown[1024];

	if (!isatty(0))
		return NULL;
	/* The name exactly as it must be typed, look-alike characters
	 * spelled out (text_describe): what the person confirms is what
	 * they see. */
	if (display != NULL) {
		text_describe(shown, sizeof(shown), display);
		fprintf(stderr, "This export is high-risk. The tenant's display "
		    "name is %s.\n", shown);
	}
	if (readpassphrase(display != NULL ? "Type EXPORT, a space and that "
	    "name to confirm: " : "This export is high-risk. Type EXPORT and "
	    "the tenant's display name to confirm: ", line, sizeof(line),
	    RPP_ECHO_ON | RPP_REQUIRE_TTY) == NULL)
		return NULL;
	return strdup(line);
}

/*
 * status / list / cancel
 */

static void
jobs_cmd_usage(FILE *f, const char *cmd)
{
	if (strcmp(cmd, "list") == 0)
		fprintf(f, "usage: tenant-export list --as KEY [--tenant ID] "
		    "[options]\n\nRecent export jobs of the tenants KEY's "
		    "principal is assigned to: state,\nwho requested, approved "
		    "and fetched.\n\n  --tenant ID                only this "
		    "tenant's jobs\n");
	else
		fprintf(f, "usage: tenant-export %s JOB --as KEY [options]\n\n"
		    "%s\n\n", cmd, strcmp(cmd, "status") == 0 ? "Shows one "
		    "export job." : "Cancels a queued, waiting, running or ready "
		    "job (a running\njob's export stops within seconds; a ready "
		    "job's archive is deleted).");
	fprintf(f, "%s\nExit status: 0 done; 1 refused or no such job; 2 usage "
	    "or operational error.\n", cmd_common_usage);
}

static const char *
jstr(const json_t *o, const char *k, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : dflt;
}

static void
jtime(const json_t *o, const char *k, char *out, size_t len)
{
	cmd_iso_time((int64_t)json_integer_value(json_object_get(o, k)), out,
	    len);
}

/* Who runs the job, when it may run, what it replaced, and pauses. */
static void
print_queue(const json_t *j)
{
	const char *p = jstr(j, "paused", NULL), *st = jstr(j, "state", "");
	const char *h;
	char t[32];

	if (jstr(j, "lease_holder", NULL) != NULL) {
		jtime(j, "heartbeat", t, sizeof(t));
		printf("  running on:   %s (heard of %s)\n",
		    jstr(j, "lease_holder", ""), t);
	}
	if (strcmp(st, "queued") == 0 &&
	    json_integer_value(json_object_get(j, "not_before")) != 0) {
		jtime(j, "not_before", t, sizeof(t));
		printf("  retried at:   %s or later\n", t);
	}
	if ((h = jstr(j, "retry_of", NULL)) != NULL)
		printf("  retry of:     %s\n", h);
	if ((h = jstr(j, "superseded_by", NULL)) != NULL)
		printf("  replaced by:  %s\n", h);
	if (p != NULL)
		printf("  queue:        paused (%s)\n", strcmp(p, "all") == 0 ?
		    "every tenant" : "this tenant");
}

void
cmd_print_job(const json_t *j)
{
	const json_t *scope = json_object_get(j, "scope"), *v;
	char c[32], e[32], f[32], tn[1024], tb[1024];
	size_t i;

	/* tenant ids and names come from the database: escaped, and
	 * look-alike characters spelled out */
	text_describe(tn, sizeof(tn), jstr(j, "tenant", "?"));
	jtime(j, "created", c, sizeof(c));
	jtime(j, "expires", e, sizeof(e));
	jtime(j, "finished", f, sizeof(f));
	printf("job %s\n  tenant:       %s\n  state:        %s%s\n"
	    "  scope:        ", jstr(j, "id", "?"), tn,
	    jstr(j, "state", "?"), json_is_true(json_object_get(j,
	    "high_risk")) ? " (high-risk)" : "");
	if (json_array_size(json_object_get(scope, "tables")) == 0)
		printf("whole tenant");
	json_array_foreach(json_object_get(scope, "tables"), i, v) {
		text_escape(tb, sizeof(tb), json_string_value(v) ?
		    json_string_value(v) : "", json_string_value(v) ?
		    strlen(json_string_value(v)) : 0);
		printf("%s%s", i ? "," : "", tb);
	}
	if (json_string_value(json_object_get(scope, "since")) ||
	    json_string_value(json_object_get(scope, "until")))
		printf(" [%s .. %s]", jstr(scope, "since", ""),
		    jstr(scope, "until", ""));
	printf("%s%s%s\n", json_is_true(json_object_get(scope,
	    "include_global")) ? " +global" : "", json_is_true(
	    json_object_get(scope, "files")) ? " +files" : "", json_is_true(
	    json_object_get(scope, "pii")) ? " (pii)" : "");
	printf("  recipients:   ");
	if (json_is_true(json_object_get(j, "passphrase")))
		printf("a passphrase given to the requester\n");
	else {
		json_array_foreach(json_object_get(j, "recipients"), i, v)
			printf("%s%s", i ? "\n                " : "",
			    json_string_value(v));
		printf("\n");
	}
	printf("  requested by: %s\n  approved by:  %s\n  fetched by:   %s "
	    "(%lld of %lld)\n  created:      %s\n  finished:     %s\n"
	    "  expires:      %s\n  attempts:     %lld\n",
	    jstr(j, "requested_by", "-"), jstr(j, "approved_by", "-"),
	    jstr(j, "fetched_by", "-"),
	    (long long)json_integer_value(json_object_get(j, "fetch_count")),
	    (long long)json_integer_value(json_object_get(j, "max_fetches")),
	    c, f, e,
	    (long long)json_integer_value(json_object_get(j, "attempts")));
	if (jstr(j, "archive", NULL) != NULL)
		printf("  archive:      %s\n", jstr(j, "archive", ""));
	if (jstr(j, "error", NULL) != NULL)
		printf("  error:        %s\n", jstr(j, "error", ""));
	print_queue(j);
	if (jstr(j, "request_digest", NULL) != NULL)
		printf("  request:      %s\n", jstr(j, "request_digest", ""));
}

static void
print_list(const json_t *jobs)
{
	const json_t *v;
	char cr[32], tn[1024];
	size_t i;

	printf("%-32s  %-17s  %-20s  %-12s  %-12s  %-12s  %s\n", "JOB",
	    "STATE", "CREATED", "REQUESTED", "APPROVED", "FETCHED", "TENANT");
	json_array_foreach(jobs, i, v) {
		jtime(v, "created", cr, sizeof(cr));
		text_describe(tn, sizeof(tn), jstr(v, "tenant", "?"));
		printf("%-32s  %-17s  %-20s  %-12s  %-12s  %-12s  %s%s\n",
		    jstr(v, "id", "?"), jstr(v, "state", "?"), cr,
		    jstr(v, "requested_by", "-"), jstr(v, "approved_by", "-"),
		    jstr(v, "fetched_by", "-"), tn,
		    jstr(v, "paused", NULL) != NULL ? "  (paused)" : "");
	}
}

static int
jobs_command(int argc, char **argv, const char *cmd)
{
	static const struct option opts[] = {
		CMD_COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	static const struct option opts_list[] = {
		CMD_COMMON_OPTS,
		{ "tenant", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_cmd me = { cmd, jobs_cmd_usage };
	struct cmd_common cc;
	const char *tenant = NULL, *k1[1], *v1[1];
	char job[65];
	json_t *res = NULL;
	int ch, rc, is_list = strcmp(cmd, "list") == 0;

	memset(&cc, 0, sizeof(cc));
	optind = 1;
	while ((ch = cli_getopt(argc, argv, NULL, is_list ? opts_list : opts,
	    &me)) != -1) {
		if (cmd_common_opt(ch, &cc))
			continue;
		if (ch != 't')
			return CMD_EXIT_USAGE;
		tenant = optarg;
	}
	if (cmd_common_check(cmd, argc, argv, is_list ? 0 : 1, &cc) != 0)
		return CMD_EXIT_USAGE;
	k1[0] = is_list ? "tenant" : "job";
	if (!is_list)
		cmd_job_arg(argv[optind], job);
	v1[0] = is_list ? (tenant ? tenant : "") : job;
	rc = client_simple(cmd, &cc.co, cc.key, cc.passfile, cmd, is_list ?
	    "job.list" : strcmp(cmd, "status") == 0 ? "job.status" :
	    "job.cancel", k1, v1, 1, &res);
	if (cc.json && res != NULL) {
		json_object_set_new(res, "ok", json_boolean(rc == 0));
		cmd_print_json(res);
		return rc;
	}
	if (rc == 0 && is_list)
		print_list(json_object_get(res, "jobs"));
	else if (rc == 0 && json_object_get(res, "job") != NULL)
		cmd_print_job(json_object_get(res, "job"));
	else if (rc == 0)
		printf("tenant-export: %s: %s\n", cmd, client_message(res));
	json_decref(res);
	return rc;
}

int
cmd_status(int argc, char **argv)
{
	return jobs_command(argc, argv, "status");
}

int
cmd_list(int argc, char **argv)
{
	return jobs_command(argc, argv, "list");
}

int
cmd_cancel(int argc, char **argv)
{
	return jobs_command(argc, argv, "cancel");
}
