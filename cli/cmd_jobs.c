/*
 * tenant-export status | list | cancel, and what the job commands share
 * (cmd_jobs.h).
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
#include "cmd.h"
#include "cmd_jobs.h"
#include "config.h"
#include "control.h"
#include "db.h"
#include "err.h"
#include "jobs.h"
#include "minisig.h"

#define EXTRA_MAX	(1 << 20)

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
	return r;
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

int
cmd_sign_once(const char *cmd, const char *key, const char *passfile,
    const char *kind, const char *const *keys, const char *const *vals,
    size_t n, struct cmd_action *out)
{
	struct minisig_seckey *sk = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = cmd_key_load(cmd, key, passfile, &sk)) != 0)
		return r;
	r = cmd_sign(cmd, sk, kind, keys, vals, n, out);
	minisig_seckey_free(sk);
	return r;
}

int
cmd_control_connect(const char *cmd, const struct config *cfg, PGconn **out)
{
	char err[512] = "";
	int r;

	*out = NULL;
	if ((r = db_connect(cfg, NULL, out, err, sizeof(err))) != 0) {
		fprintf(stderr, "tenant-export: %s: %s\n", cmd, err);
		return r;
	}
	if ((r = control_check(*out, err, sizeof(err))) != 0) {
		fprintf(stderr, "tenant-export: %s: %s%s\n", cmd, err,
		    r == ERR_NOENT ? " (run tenant-export init)" : "");
		PQfinish(*out);
		*out = NULL;
	}
	return r;
}

static int
write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, b, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int
cmd_in_child(const struct config *cfg, cmd_ctl_fn fn, void *ctx,
    struct jobs_outcome *o, struct buf *extra)
{
	struct buf *in = NULL;
	uint8_t tmp[4096];
	uint32_t xlen;
	ssize_t n;
	pid_t pid;
	int p[2], st, r = ERR_CHILD;

	memset(o, 0, sizeof(*o));
	o->r = ERR_CHILD;
	if (pipe2(p, O_CLOEXEC) != 0)
		return ERR_IO;
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return ERR_CHILD;
	}
	if (pid == 0) {
		struct jobs_outcome co;
		struct buf *x = buf_new(EXTRA_MAX);
		PGconn *c = NULL;
		char err[512] = "";
		int cr;

		close(p[0]);
		memset(&co, 0, sizeof(co));
		if (x == NULL)
			_exit(3);
		if ((cr = db_connect(cfg, NULL, &c, err, sizeof(err))) == 0 &&
		    (cr = control_check(c, err, sizeof(err))) == 0)
			cr = fn(c, ctx, &co, x);
		else {
			co.r = cr;
			snprintf(co.msg, sizeof(co.msg), "%s%s", err,
			    cr == ERR_NOENT ? " (run tenant-export init)" : "");
		}
		(void)cr;
		xlen = (uint32_t)buf_len(x);
		if (write_all(p[1], &co, sizeof(co)) != 0 ||
		    write_all(p[1], &xlen, sizeof(xlen)) != 0 ||
		    write_all(p[1], buf_ptr(x), xlen) != 0)
			_exit(3);
		if (c != NULL)
			PQfinish(c);
		_exit(0);
	}
	close(p[1]);
	if ((in = buf_new(sizeof(*o) + sizeof(xlen) + EXTRA_MAX)) == NULL) {
		r = ERR_NOMEM;
		goto reap;
	}
	for (;;) {
		n = read(p[0], tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (buf_put(in, tmp, (size_t)n) != 0)
			break;
	}
 reap:
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (in == NULL)
		return r;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
	    buf_get(in, o, sizeof(*o)) != 0 ||
	    buf_get(in, &xlen, sizeof(xlen)) != 0 || buf_len(in) != xlen) {
		memset(o, 0, sizeof(*o));
		o->r = ERR_CHILD;
		snprintf(o->msg, sizeof(o->msg), "the control-plane helper "
		    "process failed");
		r = ERR_CHILD;
		goto out;
	}
	o->msg[sizeof(o->msg) - 1] = '\0';
	o->reason[sizeof(o->reason) - 1] = '\0';
	o->principal[sizeof(o->principal) - 1] = '\0';
	o->tenant[sizeof(o->tenant) - 1] = '\0';
	if (extra != NULL && xlen > 0 &&
	    (r = buf_put(extra, buf_ptr(in), xlen)) != 0)
		goto out;
	r = o->r;
 out:
	buf_free(in);
	return r;
}

const char *
cmd_job_arg(const char *arg)
{
	if (strlen(arg) > 64 ||
	    strspn(arg, "0123456789abcdefABCDEF") != strlen(arg))
		return "0";
	return arg;
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
cmd_prompt_confirm(void)
{
	char line[512];

	if (!isatty(0))
		return NULL;
	if (readpassphrase("This export is high-risk. Type EXPORT and the "
	    "tenant's display name to confirm: ", line, sizeof(line),
	    RPP_ECHO_ON | RPP_REQUIRE_TTY) == NULL)
		return NULL;
	return strdup(line);
}

/* Serialisation for the child's answer: fixed fields, then strings as
 * u32 length (0xffffffff for NULL) and bytes. */
static int
put_str(struct buf *b, const char *s)
{
	int r;

	if (s == NULL)
		return buf_put_u32be(b, 0xffffffffu);
	if ((r = buf_put_u32be(b, (uint32_t)strlen(s))) != 0)
		return r;
	return buf_put(b, s, strlen(s));
}

static int
get_str(struct buf *b, char **out)
{
	const uint8_t *p;
	uint32_t n;
	int r;

	*out = NULL;
	if ((r = buf_get_u32be(b, &n)) != 0)
		return r;
	if (n == 0xffffffffu)
		return 0;
	if (n > EXTRA_MAX)
		return ERR_LIMIT;
	if ((r = buf_get_ptr(b, n, &p)) != 0)
		return r;
	if ((*out = malloc((size_t)n + 1)) == NULL)
		return ERR_NOMEM;
	memcpy(*out, p, n);
	(*out)[n] = '\0';
	return 0;
}

int
cmd_job_put(const struct jobs_job *j, struct buf *b)
{
	int r;

	if ((r = buf_put(b, j->id_hash, JOBS_HASH_LEN)) != 0 ||
	    (r = buf_put_u32be(b, (uint32_t)j->state)) != 0 ||
	    (r = buf_put_u32be(b, (uint32_t)j->high_risk)) != 0 ||
	    (r = buf_put_u64be(b, (uint64_t)j->requested_by)) != 0 ||
	    (r = buf_put_u64be(b, (uint64_t)j->approved_by)) != 0 ||
	    (r = buf_put_u64be(b, (uint64_t)j->created_at)) != 0 ||
	    (r = buf_put_u64be(b, (uint64_t)j->updated_at)) != 0 ||
	    (r = buf_put_u64be(b, (uint64_t)j->started_at)) != 0 ||
	    (r = buf_put_u64be(b, (uint64_t)j->finished_at)) != 0 ||
	    (r = buf_put_u64be(b, (uint64_t)j->expires_at)) != 0 ||
	    (r = buf_put_u32be(b, (uint32_t)j->fetch_count)) != 0 ||
	    (r = buf_put_u32be(b, (uint32_t)j->max_fetches)) != 0 ||
	    (r = buf_put_u32be(b, (uint32_t)j->attempts)) != 0 ||
	    (r = buf_put_u32be(b, (uint32_t)j->has_digest)) != 0 ||
	    (r = buf_put(b, j->manifest_digest, 32)) != 0 ||
	    (r = put_str(b, j->tenant)) != 0 ||
	    (r = put_str(b, j->scope_json)) != 0 ||
	    (r = put_str(b, j->requested_name)) != 0 ||
	    (r = put_str(b, j->approved_name)) != 0 ||
	    (r = put_str(b, j->fetched_name)) != 0 ||
	    (r = put_str(b, j->archive)) != 0 ||
	    (r = put_str(b, j->error)) != 0)
		return r;
	return 0;
}

int
cmd_job_get(struct buf *b, struct jobs_job **out)
{
	struct jobs_job *j;
	uint32_t u[8];
	uint64_t v[7];
	int r, i;

	*out = NULL;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return ERR_NOMEM;
	if ((r = buf_get(b, j->id_hash, JOBS_HASH_LEN)) != 0 ||
	    (r = buf_get_u32be(b, &u[0])) != 0 ||
	    (r = buf_get_u32be(b, &u[1])) != 0)
		goto out;
	for (i = 0; i < 7; i++)
		if ((r = buf_get_u64be(b, &v[i])) != 0)
			goto out;
	for (i = 2; i < 6; i++)
		if ((r = buf_get_u32be(b, &u[i])) != 0)
			goto out;
	if ((r = buf_get(b, j->manifest_digest, 32)) != 0 ||
	    (r = get_str(b, &j->tenant)) != 0 ||
	    (r = get_str(b, &j->scope_json)) != 0 ||
	    (r = get_str(b, &j->requested_name)) != 0 ||
	    (r = get_str(b, &j->approved_name)) != 0 ||
	    (r = get_str(b, &j->fetched_name)) != 0 ||
	    (r = get_str(b, &j->archive)) != 0 ||
	    (r = get_str(b, &j->error)) != 0)
		goto out;
	r = ERR_FORMAT;
	if (j->tenant == NULL || j->scope_json == NULL ||
	    jobs_scope_from_json(j->scope_json, &j->scope) != 0)
		goto out;
	j->state = (enum jobs_state)u[0];
	j->high_risk = (int)u[1];
	j->requested_by = (int64_t)v[0];
	j->approved_by = (int64_t)v[1];
	j->created_at = (int64_t)v[2];
	j->updated_at = (int64_t)v[3];
	j->started_at = (int64_t)v[4];
	j->finished_at = (int64_t)v[5];
	j->expires_at = (int64_t)v[6];
	j->fetch_count = (int)u[2];
	j->max_fetches = (int)u[3];
	j->attempts = (int)u[4];
	j->has_digest = (int)u[5];
	jobs_ref(j->id_hash, j->ref);
	*out = j;
	j = NULL;
	r = 0;
 out:
	jobs_free(j);
	return r;
}

/*
 * status / list / cancel
 */

static void
jobs_cmd_usage(FILE *f, const char *cmd)
{
	if (strcmp(cmd, "list") == 0)
		fprintf(f, "usage: tenant-export list --config FILE --as KEY "
		    "[--passphrase-file F] [--tenant ID] [--json]\n\n"
		    "Recent export jobs of the tenants KEY's principal is "
		    "assigned to: state,\nwho requested, approved and "
		    "fetched.\n");
	else
		fprintf(f, "usage: tenant-export %s JOB --config FILE --as KEY "
		    "[--passphrase-file F] [--json]\n\n%s\n", cmd,
		    strcmp(cmd, "status") == 0 ? "Shows one export job." :
		    "Cancels a queued, waiting or ready job (a ready job's "
		    "archive is deleted).");
	fprintf(f, "\nExit status: 0 done; 1 refused or no such job; 2 usage "
	    "or operational error.\n");
}

static json_t *
job_json(const struct jobs_job *j)
{
	char c[32], e[32], f[32];
	json_t *o, *t = json_array();
	size_t i;

	cmd_iso_time(j->created_at, c, sizeof(c));
	cmd_iso_time(j->expires_at, e, sizeof(e));
	cmd_iso_time(j->finished_at, f, sizeof(f));
	for (i = 0; i < j->scope.ntables; i++)
		json_array_append_new(t, json_string(j->scope.tables[i]));
	o = json_pack("{s:s,s:s,s:s,s:b,s:o,s:b,s:b,s:s?,s:s?,s:s?,s:s,"
	    "s:s,s:s,s:i,s:i,s:i,s:s?,s:s?}",
	    "ref", j->ref, "tenant", j->tenant, "state",
	    jobs_state_str(j->state), "high_risk", j->high_risk, "tables", t,
	    "include_global", j->scope.include_global, "pii", j->scope.pii,
	    "requested_by", j->requested_name, "approved_by", j->approved_name,
	    "fetched_by", j->fetched_name, "created", c, "finished", f,
	    "expires", e, "fetches", j->fetch_count, "max_fetches",
	    j->max_fetches, "attempts", j->attempts, "archive", j->archive,
	    "error", j->error);
	return o;
}

static void
print_job(const struct jobs_job *j)
{
	char c[32], e[32], f[32];
	size_t i;

	cmd_iso_time(j->created_at, c, sizeof(c));
	cmd_iso_time(j->expires_at, e, sizeof(e));
	cmd_iso_time(j->finished_at, f, sizeof(f));
	printf("job %s\n  tenant:       %s\n  state:        %s%s\n"
	    "  scope:        ", j->ref, j->tenant, jobs_state_str(j->state),
	    j->high_risk ? " (high-risk)" : "");
	if (j->scope.ntables == 0)
		printf("whole tenant");
	for (i = 0; i < j->scope.ntables; i++)
		printf("%s%s", i ? "," : "", j->scope.tables[i]);
	if (j->scope.since || j->scope.until)
		printf(" [%s .. %s]", j->scope.since ? j->scope.since : "",
		    j->scope.until ? j->scope.until : "");
	printf("%s%s\n", j->scope.include_global ? " +global" : "",
	    j->scope.pii ? " (pii)" : "");
	printf("  requested by: %s\n  approved by:  %s\n  fetched by:   %s "
	    "(%d of %d)\n  created:      %s\n  finished:     %s\n"
	    "  expires:      %s\n  attempts:     %d\n",
	    j->requested_name ? j->requested_name : "-",
	    j->approved_name ? j->approved_name : "-",
	    j->fetched_name ? j->fetched_name : "-", j->fetch_count,
	    j->max_fetches, c, f, e, j->attempts);
	if (j->archive)
		printf("  archive:      %s\n", j->archive);
	if (j->error)
		printf("  error:        %s\n", j->error);
}

static int
jobs_command(int argc, char **argv, const char *cmd)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "as", required_argument, NULL, 'a' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "tenant", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *key = NULL, *passfile = NULL;
	const char *tenant = NULL, *job = NULL;
	struct cmd_action act = { NULL, NULL };
	struct jobs_outcome o;
	struct jobs_signed sv;
	struct jobs_job *j = NULL, **v = NULL;
	struct config *cfg = NULL;
	PGconn *c = NULL;
	size_t n = 0, i;
	char err[512];
	int ch, json = 0, r, rc = CMD_EXIT_USAGE, is_list;

	is_list = strcmp(cmd, "list") == 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'a': key = optarg; break;
		case 'p': passfile = optarg; break;
		case 't':
			if (!is_list)
				goto usage;
			tenant = optarg;
			break;
		case 'j': json = 1; break;
		case 'h': jobs_cmd_usage(stdout, cmd); return CMD_EXIT_OK;
		default: goto usage;
		}
	}
	if (!is_list) {
		if (optind + 1 != argc)
			goto usage;
		job = argv[optind];
	} else if (optind != argc)
		goto usage;
	if (config == NULL || key == NULL) {
		fprintf(stderr, "tenant-export: %s: --config and --as are "
		    "required\n", cmd);
		goto usage;
	}
	if ((r = config_load(config, &cfg, err, sizeof(err))) != 0) {
		fprintf(stderr, "tenant-export: %s: %s\n", cmd, err);
		goto out;
	}
	{
		const char *k1[1] = { is_list ? "tenant" : "job" };
		const char *v1[1] = { is_list ? (tenant ? tenant : "") : job };

		if (!is_list)
			v1[0] = cmd_job_arg(job);
		if ((r = cmd_sign_once(cmd, key, passfile, is_list ? "job.list"
		    : strcmp(cmd, "status") == 0 ? "job.status" : "job.cancel",
		    k1, v1, 1, &act)) != 0)
			goto out;
	}
	if ((r = cmd_control_connect(cmd, cfg, &c)) != 0)
		goto out;
	sv = cmd_action_view(&act);
	if (is_list)
		r = jobs_list_for(c, cfg, &sv, &v, &n, &o);
	else if (strcmp(cmd, "status") == 0)
		r = jobs_status(c, cfg, &sv, &j, &o);
	else
		r = jobs_cancel(c, cfg, &sv, &o);
	if (r != 0) {
		fprintf(stderr, "tenant-export: %s: %s\n", cmd, o.msg);
		if (json)
			printf("{\"ok\": false, \"error\": \"%s\"}\n",
			    err_str(r));
		rc = cmd_exit_for(r);
		goto out;
	}
	if (json) {
		json_t *root;
		char *s;

		if (is_list) {
			json_t *arr = json_array();

			for (i = 0; i < n; i++)
				json_array_append_new(arr, job_json(v[i]));
			root = json_pack("{s:b,s:o}", "ok", 1, "jobs", arr);
		} else if (j != NULL)
			root = json_pack("{s:b,s:o}", "ok", 1, "job",
			    job_json(j));
		else
			root = json_pack("{s:b,s:s}", "ok", 1, "state",
			    jobs_state_str(o.state));
		if ((s = json_dumps(root, JSON_INDENT(2))) != NULL)
			printf("%s\n", s);
		free(s);
		json_decref(root);
	} else if (is_list) {
		printf("%-16s  %-17s  %-20s  %-12s  %-12s  %-12s  %s\n", "JOB",
		    "STATE", "CREATED", "REQUESTED", "APPROVED", "FETCHED",
		    "TENANT");
		for (i = 0; i < n; i++) {
			char cr[32];

			cmd_iso_time(v[i]->created_at, cr, sizeof(cr));
			printf("%-16s  %-17s  %-20s  %-12s  %-12s  %-12s  %s\n",
			    v[i]->ref, jobs_state_str(v[i]->state), cr,
			    v[i]->requested_name ? v[i]->requested_name : "-",
			    v[i]->approved_name ? v[i]->approved_name : "-",
			    v[i]->fetched_name ? v[i]->fetched_name : "-",
			    v[i]->tenant);
		}
	} else if (j != NULL)
		print_job(j);
	else
		printf("tenant-export: %s: %s\n", cmd, o.msg);
	rc = CMD_EXIT_OK;
	goto out;
 usage:
	jobs_cmd_usage(stderr, cmd);
	rc = CMD_EXIT_USAGE;
 out:
	if (c != NULL)
		PQfinish(c);
	jobs_free(j);
	jobs_list_free(v, n);
	cmd_action_clear(&act);
	config_free(cfg);
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
