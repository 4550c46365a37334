/*
 * notify.c: telling people about the jobs they wait for (notify.h).
 *
 * Three processes: the caller forks one that forks the notifier and
 * exits at once (so the caller reaps it at once and the notifier belongs
 * to init from then on); the notifier starts the hook, hands it the
 * document, waits at most [notify] timeout, kills what is left of the
 * hook's process group, and records how it went.
 */
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "child.h"
#include "config.h"
#include "ctlchild.h"
#include "decide.h"
#include "err.h"
#include "jobs.h"
#include "ledger.h"
#include "notify.h"
#include "sandbox.h"
#include "text.h"

#define DOC_MAX		(32 * 1024)
#define HIDE_MAX	16

json_t *
notify_document(const char *event, const json_t *job, const json_t *extra)
{
	static const char *const from_job[] = { "id", "tenant", "state",
	    "scope", "attempts", "error" };
	static const char *const from_extra[] = { "archive", "path",
	    "records", "bytes", "parts", "expires" };
	json_t *d = json_object(), *v;
	size_t i;

	if (d == NULL)
		return NULL;
	json_object_set_new(d, "version", json_integer(1));
	json_object_set_new(d, "event", json_string(event));
	for (i = 0; i < sizeof(from_job) / sizeof(from_job[0]); i++)
		if ((v = json_object_get(job, from_job[i])) != NULL &&
		    !json_is_null(v))
			json_object_set(d, i == 0 ? "job" : from_job[i], v);
	for (i = 0; extra != NULL &&
	    i < sizeof(from_extra) / sizeof(from_extra[0]); i++)
		if ((v = json_object_get(extra, from_extra[i])) != NULL &&
		    !json_is_null(v))
			json_object_set(d, from_extra[i], v);
	json_object_set_new(d, "time", json_integer((json_int_t)time(NULL)));
	return d;
}

/* The service's files, which the hook does not see. */
static size_t
hidden_paths(const struct config *cfg, const char **v, char *pgpass,
    size_t pglen)
{
	const struct config_export *e = config_export(cfg);
	const struct config_service *s = config_service(cfg);
	const char *host = config_db_param(cfg, "host"), *home = getenv("HOME");
	size_t n = 0;

	v[n++] = e->outbox;
	v[n++] = s->state_dir;
	v[n++] = e->signing_key;
	v[n++] = e->signing_passphrase_file;
	v[n++] = s->service_key;
	v[n++] = config_db_password_file(cfg);
	v[n++] = config_db_param(cfg, "passfile");
	/* a socket directory: the database by the service's own identity */
	v[n++] = host != NULL && host[0] == '/' ? host : NULL;
	if (home != NULL && home[0] == '/') {
		snprintf(pgpass, pglen, "%s/.pgpass", home);
		v[n++] = pgpass;
	}
	return n;
}

/* The hook itself: never returns. */
static void
hook_exec(const struct config *cfg, int in, int err, int devnull)
{
	static char *const envp[] = { "PATH=/usr/local/bin:/usr/bin:/bin",
	    "LC_ALL=C", NULL };
	const char *hide[HIDE_MAX];
	char *argv[2], pgpass[4096];
	size_t n;

	setpgid(0, 0);
	signal(SIGPIPE, SIG_DFL);
	if (dup2(in, 0) < 0 || dup2(devnull, 1) < 0 || dup2(err, 2) < 0)
		_exit(126);
	if (syscall(SYS_close_range, 3U, ~0U, 0) != 0)
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
	n = hidden_paths(cfg, hide, pgpass, sizeof(pgpass));
	if (sandbox_hide_paths(hide, n) != 0) {
		dprintf(2, "cannot hide the service's files from the hook "
		    "(user namespaces unavailable?): not run\n");
		_exit(126);
	}
	argv[0] = config_notify(cfg)->command;
	argv[1] = NULL;
	execve(argv[0], argv, envp);
	dprintf(2, "cannot run: %s\n", strerror(errno));
	_exit(127);
}

struct outcome {
	int ok;
	char result[256];	/* what happened, escaped */
};

/* Reads what the hook says on stderr: the first line is kept, the rest
 * drained. 0 at its end. */
static int
drain(int fd, char *raw, size_t cap, size_t *have)
{
	char tmp[4096];
	ssize_t n = read(fd, tmp, sizeof(tmp));
	size_t k;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	if (n <= 0)
		return 0;
	k = (size_t)n < cap - 1 - *have ? (size_t)n : cap - 1 - *have;
	memcpy(raw + *have, tmp, k);
	*have += k;
	return 1;
}

static void
describe(int st, int timed_out, uint64_t timeout_ms, const char *raw,
    struct outcome *oc)
{
	char line[200], first[204] = "";
	size_t n = strcspn(raw, "\n");

	text_escape(line, sizeof(line), raw, n);
	if (line[0] != '\0')
		snprintf(first, sizeof(first), ": %s", line);
	oc->ok = !timed_out && WIFEXITED(st) && WEXITSTATUS(st) == 0;
	if (timed_out)
		snprintf(oc->result, sizeof(oc->result), "killed after %llu s "
		    "(its [notify] timeout)%s", (unsigned long long)
		    (timeout_ms / 1000), first);
	else if (WIFEXITED(st))
		snprintf(oc->result, sizeof(oc->result), "exited with status "
		    "%d%s", WEXITSTATUS(st), first);
	else
		snprintf(oc->result, sizeof(oc->result), "killed by SIG%s%s",
		    WIFSIGNALED(st) && sigabbrev_np(WTERMSIG(st)) ?
		    sigabbrev_np(WTERMSIG(st)) : "?", first);
}

/* Waits for the hook (pid, its stderr on err) at most timeout_ms; then
 * kills its whole process group. */
static void
hook_wait(pid_t pid, int err, uint64_t timeout_ms, struct outcome *oc)
{
	uint64_t deadline = child_now_ms() + timeout_ms, now;
	char raw[512];
	size_t have = 0;
	struct pollfd pf;
	int st = 0, open_ = 1, reaped = 0, timed_out = 0, wait;

	for (;;) {
		if (!reaped && waitpid(pid, &st, WNOHANG) == pid)
			reaped = 1;
		if (reaped && !open_)
			break;
		if ((now = child_now_ms()) >= deadline) {
			/* the hook, or what it left running */
			timed_out = !reaped;
			kill(-pid, SIGKILL);
			if (!reaped) {
				kill(pid, SIGKILL);
				while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
					;
			}
			break;
		}
		wait = deadline - now < 100 ? (int)(deadline - now) : 100;
		pf.fd = open_ ? err : -1;
		pf.events = POLLIN;
		pf.revents = 0;
		(void)poll(&pf, 1, wait);
		if (open_ && pf.revents != 0)
			open_ = drain(err, raw, sizeof(raw), &have);
	}
	raw[have] = '\0';
	describe(st, timed_out, timeout_ms, raw, oc);
}

struct record {
	const char *event;
	const json_t *job;
	const struct outcome *oc;
};

/* The hook's outcome in the log (a record only). */
static int
ctl_record(struct jobs_ctx *k, void *ctx, struct jobs_outcome *o,
    json_t *reply)
{
	struct record *rc = ctx;
	const struct ledger_job *lj = ledger_job_named(k->ledger,
	    json_string_value(json_object_get(rc->job, "id")));
	json_t *d;

	(void)reply;
	/* the log's rows name the job by its whole id hash */
	if (lj == NULL)
		return decide_fail(o, ERR_NOENT, "no such job");
	d = decide_job_detail(lj->id_hash);
	json_object_set_new(d, "event", json_string(rc->event));
	json_object_set_new(d, "result", json_string(rc->oc->result));
	return o->r = decide_audit(k, rc->oc->ok ? "notify.sent" :
	    "notify.failed", NULL, json_string_value(json_object_get(rc->job,
	    "tenant")), json_string_value(json_object_get(rc->job, "id")),
	    NULL, d, o);
}

/* The notifier: never returns. */
static void
notifier(const struct config *cfg, const char *event, const json_t *job,
    const char *doc)
{
	int in[2], err[2], devnull;
	struct jobs_outcome o;
	struct record rc;
	struct outcome oc;
	size_t len = strlen(doc);
	pid_t pid;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	memset(&oc, 0, sizeof(oc));
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0 ||
	    pipe2(in, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
		_exit(1);
	/* the caller's stdout (a terminal, a pipe) is not kept open */
	dup2(devnull, 0);
	dup2(devnull, 1);
	if ((pid = fork()) < 0)
		_exit(1);
	if (pid == 0)
		hook_exec(cfg, in[0], err[1], devnull);
	(void)setpgid(pid, pid);	/* whichever of the two runs first */
	close(in[0]);
	close(err[1]);
	/* a document of a few KiB fits in the pipe: no wait on the hook */
	if (write(in[1], doc, len) != (ssize_t)len)
		(void)0;
	close(in[1]);
	hook_wait(pid, err[0], config_notify(cfg)->timeout * 1000, &oc);
	fprintf(stderr, "tenant-export: notify: job %s %s: \"%s\" %s\n",
	    json_string_value(json_object_get(job, "id")), event,
	    config_notify(cfg)->command, oc.result);
	rc.event = event;
	rc.job = job;
	rc.oc = &oc;
	svc_in_child(cfg, NULL, "notify", ctl_record, &rc, &o, NULL);
	_exit(0);
}

void
notify_job(const struct config *cfg, const char *event, const json_t *job,
    const json_t *extra)
{
	json_t *d;
	char *doc;
	pid_t a;
	int st;

	if (config_notify(cfg)->command == NULL || job == NULL)
		return;
	if ((d = notify_document(event, job, extra)) == NULL)
		return;
	doc = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	if (doc == NULL || strlen(doc) > DOC_MAX) {
		free(doc);
		return;
	}
	fflush(stdout);
	fflush(stderr);
	if ((a = fork()) == 0) {
		setsid();
		if (fork() == 0)
			notifier(cfg, event, job, doc);
		_exit(0);
	}
	free(doc);
	if (a > 0)
		while (waitpid(a, &st, 0) < 0 && errno == EINTR)
			;
}
