/*
 * tenant-export worker: runs queued jobs, unattended, as a worker
 * principal.
 *
 * The worker decides nothing and exports nothing itself. It holds its
 * principal's key (unlocked once, at start) and, in up to --concurrency
 * slots, signs claims (worker.claim) and sends them to the service, which
 * chooses the job, runs it and answers with the outcome (service/
 * handle_work.c). The export runs in the service: a process the worker
 * reaches over its socket, or with --config a freshly executed `serve
 * --stdio`, which holds none of the worker's memory and so never its key.
 *
 * One slot probes the queue at a time; while it finds jobs, more slots
 * start, up to --concurrency; when it finds none (or claiming is paused,
 * or the limits are reached) the worker waits --poll seconds. SIGTERM (or
 * SIGINT): no new claims; running jobs get --grace seconds to finish,
 * then each slot tells the service to let go (the job goes back to the
 * queue at once, its attempt given back) and waits for it to have done
 * so. A worker killed outright leaves its jobs to their leases: another
 * worker takes them back once [control] lease_timeout has passed (or at
 * once, when the service saw the worker's connection end).
 */
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "client.h"
#include "cli.h"
#include "cmd_jobs.h"
#include "err.h"
#include "minisig.h"
#include "proto.h"

#define MAX_SLOTS	64
#define ABANDON_WAIT_MS	(120 * 1000)

/* A slot's exit status. */
#define SLOT_DONE	0	/* ran a job, published */
#define SLOT_FAILED	1	/* ran a job, it did not publish */
#define SLOT_ERROR	2	/* the service could not be asked */
#define SLOT_IDLE	3	/* nothing to claim */

struct worker {
	struct cmd_common cc;
	struct minisig_seckey *sk;
	char name[101];
	long concurrency, poll_s, grace_s;
	int once;
};

struct slot {
	pid_t pid;
	int status_fd;		/* 'C' once it holds a job */
	int probing;
};

static volatile sig_atomic_t stopping, abandon_now;

static void
on_stop(int sig)
{
	(void)sig;
	if (stopping)
		abandon_now = 1;
	stopping = 1;
}

static void
on_abandon(int sig)
{
	(void)sig;
	abandon_now = 1;
}

static void
worker_usage(FILE *f, const char *name)
{
	(void)name;
	fprintf(f,
"usage: tenant-export worker --as KEY (--socket PATH | --config FILE)\n"
"                            [--name NAME] [--concurrency N] [--poll SECONDS]\n"
"                            [--grace SECONDS] [--once] [--json]\n"
"\n"
"Runs queued export jobs as a worker principal (role worker, assigned to\n"
"the tenants whose jobs it runs). The service chooses each job and runs\n"
"it; the worker signs the claims and waits for the outcomes.\n"
"\n"
"  --name NAME        this worker's name in the jobs it holds (default:\n"
"                     HOST.PID)\n"
"  --concurrency N    jobs at once (default 1; the service's [control]\n"
"                     max_running and max_running_per_tenant still hold)\n"
"  --poll SECONDS     how long to wait when there is nothing to claim\n"
"                     (default 5)\n"
"  --grace SECONDS    after SIGTERM, how long running jobs may finish\n"
"                     before they go back to the queue (default 60)\n"
"  --once             stop when the queue has nothing more to claim\n"
"  --json             one JSON object per line on stdout for every job and\n"
"                     every poll\n"
"%s"
"\n"
"Exit status: 0 stopped (every job it ran was published); 1 a job failed\n"
"(--once); 2 usage or operational error.\n", cmd_common_usage);
}

static void
say(const struct worker *w, json_t *ev, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One line about what happened: text on stderr, or JSON on stdout. */
static void
say(const struct worker *w, json_t *ev, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (w->cc.json) {
		json_object_set_new(ev, "worker", json_string(w->name));
		json_object_set_new(ev, "time", json_integer((json_int_t)
		    time(NULL)));
		if ((s = json_dumps(ev, JSON_COMPACT)) != NULL) {
			printf("%s\n", s);
			fflush(stdout);
		}
		free(s);
	} else if (fmt != NULL) {
		fprintf(stderr, "tenant-export: worker %s: ", w->name);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	json_decref(ev);
}

/* --- a slot: one claim, one job --- */

/* The outcome, told; the slot's exit status. Why nothing was claimed
 * goes to the worker too ("I<reason>\t<message>"), which says it when
 * it changes. */
static int
slot_result(const struct worker *w, json_t *res, int status_fd)
{
	const char *reason = json_string_value(json_object_get(res, "reason"));
	const json_t *job = json_object_get(res, "job");
	int r = (int)json_integer_value(json_object_get(res, "r"));
	const char *ref = json_string_value(json_object_get(job, "id"));
	char line[640];
	int n;

	if (job == NULL || json_is_null(job)) {
		say(w, json_pack("{s:s,s:s?,s:s}", "event", r == ERR_NOENT ?
		    "idle" : "refused", "reason", reason, "message",
		    client_message(res)), r == ERR_NOENT ? NULL : "%s",
		    client_message(res));
		n = snprintf(line, sizeof(line), "I%s\t%s", reason ? reason :
		    "", client_message(res));
		if (r == ERR_NOENT && n > 0 && write(status_fd, line,
		    (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1) < 0)
			return SLOT_IDLE;
		return r == ERR_NOENT ? SLOT_IDLE : SLOT_ERROR;
	}
	say(w, json_pack("{s:s,s:s?,s:s?,s:s?,s:i,s:s,s:O?}", "event", "job",
	    "job", ref, "tenant", json_string_value(json_object_get(job,
	    "tenant")), "state", json_string_value(json_object_get(res,
	    "state")), "r", r, "message", client_message(res), "result",
	    json_object_get(res, "result")), "%s", client_message(res));
	return r == 0 ? SLOT_DONE : SLOT_FAILED;
}

/* Waits for the answer; lets go of the job when told to. */
static int
slot_wait(const struct worker *w, int fd, int status_fd, json_t **res)
{
	struct buf *b = buf_new(PROTO_FRAME_MAX);
	struct pollfd pf;
	uint64_t given_up = 0;
	json_t *j;
	int type, r = ERR_NOMEM;

	*res = NULL;
	while (b != NULL) {
		if (abandon_now && given_up == 0) {
			proto_send(fd, PROTO_ABANDON, "{}", 2);
			given_up = (uint64_t)time(NULL);
			say(w, json_pack("{s:s}", "event", "abandon"), "letting "
			    "go of its job");
		}
		if (given_up != 0 && (uint64_t)time(NULL) - given_up >
		    ABANDON_WAIT_MS / 1000) {
			r = ERR_INTERRUPTED;
			break;
		}
		pf.fd = fd;
		pf.events = POLLIN;
		pf.revents = 0;
		if (poll(&pf, 1, 500) <= 0)
			continue;
		if ((r = proto_recv(fd, &type, b, 60 * 1000)) != 0)
			break;
		j = json_loadb((const char *)buf_ptr(b), buf_len(b), 0, NULL);
		if (type == PROTO_RESULT) {
			*res = j;
			r = j != NULL ? 0 : ERR_FORMAT;
			break;
		}
		/* the worker only learns that this slot holds a job now */
		if (type == PROTO_PROGRESS && json_object_get(j, "claimed") &&
		    write(status_fd, "C", 1) != 1)
			status_fd = -1;
		json_decref(j);
	}
	buf_free(b);
	return r;
}

/* The slot's whole life: never returns. */
static void
slot_main(const struct worker *w, int status_fd)
{
	static const char *const keys[1] = { "worker" };
	const char *vals[1] = { w->name };
	struct cmd_action act = { NULL, NULL };
	struct client *cl = NULL;
	json_t *req = NULL, *res = NULL;
	int rc = SLOT_ERROR;

	/* It dies with the worker; the worker alone handles SIGTERM. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() == 1)
		_exit(SLOT_ERROR);
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGUSR1, on_abandon);
	signal(SIGPIPE, SIG_IGN);
	if (client_open("worker", &w->cc.co, &cl) != 0 ||
	    client_sign("worker", cl, w->sk, "worker.claim", keys, vals, 1,
	    &act) != 0)
		goto out;
	req = json_pack("{s:s,s:s%,s:s%}", "cmd", "work", "action",
	    (const char *)buf_ptr(act.text), buf_len(act.text), "sig",
	    (const char *)buf_ptr(act.sig), buf_len(act.sig));
	if (req == NULL || proto_send_json(client_fd(cl), PROTO_REQUEST,
	    req) != 0 || slot_wait(w, client_fd(cl), status_fd, &res) != 0) {
		say(w, json_pack("{s:s}", "event", "lost"), "the service went "
		    "away before answering");
		goto out;
	}
	rc = slot_result(w, res, status_fd);
 out:
	json_decref(req);
	json_decref(res);
	cmd_action_clear(&act);
	client_close(cl);
	fflush(NULL);
	_exit(rc);
}

/* --- the worker: slots, polling, stopping --- */

static int
slot_start(const struct worker *w, struct slot *s)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	fflush(NULL);
	if ((s->pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (s->pid == 0) {
		close(p[0]);
		slot_main(w, p[1]);
	}
	close(p[1]);
	s->status_fd = p[0];
	s->probing = 1;
	return 0;
}

struct state {
	struct slot slots[MAX_SLOTS];
	int n;			/* slots running */
	char idle[64];		/* why the last probe claimed nothing */
	time_t next_probe;
	int drained;		/* --once: the queue had nothing more */
	int failed, error;
};

/* What a slot says: 'C' (it holds a job), or why it found none. */
static void
slot_heard(const struct worker *w, struct state *st, struct slot *s)
{
	char msg[640], *tab;
	ssize_t n = read(s->status_fd, msg, sizeof(msg) - 1);

	if (n <= 0)
		return;
	msg[n] = '\0';
	if (msg[0] == 'C') {
		s->probing = 0;
		st->idle[0] = '\0';
		return;
	}
	if (msg[0] != 'I' || (tab = strchr(msg, '\t')) == NULL)
		return;
	*tab = '\0';
	/* said once, not at every poll */
	if (strcmp(st->idle, msg + 1) != 0 && !w->cc.json)
		say(w, NULL, "nothing to claim: %s", tab + 1);
	snprintf(st->idle, sizeof(st->idle), "%s", msg + 1);
}

/* Reaps finished slots and hears which ones hold a job. */
static void
slots_update(const struct worker *w, struct state *st, struct pollfd *pf)
{
	int i, ws;

	for (i = 0; i < st->n; i++)
		if (pf[i].revents != 0)
			slot_heard(w, st, &st->slots[i]);
	for (i = 0; i < st->n; i++) {
		if (waitpid(st->slots[i].pid, &ws, WNOHANG) !=
		    st->slots[i].pid)
			continue;
		ws = WIFEXITED(ws) ? WEXITSTATUS(ws) : SLOT_ERROR;
		slot_heard(w, st, &st->slots[i]);
		if (ws == SLOT_IDLE || ws == SLOT_ERROR) {
			st->next_probe = time(NULL) + w->poll_s;
			st->drained |= w->once;
		}
		st->failed |= ws == SLOT_FAILED;
		st->error |= ws == SLOT_ERROR;
		close(st->slots[i].status_fd);
		st->slots[i--] = st->slots[--st->n];
	}
}

static int
probing(const struct state *st)
{
	int i;

	for (i = 0; i < st->n; i++)
		if (st->slots[i].probing)
			return 1;
	return 0;
}

static int
worker_loop(struct worker *w)
{
	struct pollfd pf[MAX_SLOTS];
	struct state st;
	time_t now, grace_end = 0;
	int i, wait;

	memset(&st, 0, sizeof(st));
	say(w, json_pack("{s:s}", "event", "start"), "started (%ld at once)",
	    w->concurrency);
	for (;;) {
		now = time(NULL);
		if (stopping && grace_end == 0) {
			grace_end = now + w->grace_s;
			say(w, json_pack("{s:s,s:i}", "event", "stopping",
			    "running", st.n), "stopping: no new claims, %d "
			    "job%s may finish within %ld s", st.n, st.n == 1 ?
			    "" : "s", w->grace_s);
		}
		if (stopping && (abandon_now || now >= grace_end)) {
			abandon_now = 1;
			for (i = 0; i < st.n; i++)
				kill(st.slots[i].pid, SIGUSR1);
		}
		if ((stopping || st.drained) && st.n == 0)
			break;
		if (!stopping && !st.drained && st.n < w->concurrency &&
		    !probing(&st) && now >= st.next_probe &&
		    slot_start(w, &st.slots[st.n]) == 0)
			st.n++;
		for (i = 0; i < st.n; i++) {
			pf[i].fd = st.slots[i].status_fd;
			pf[i].events = POLLIN;
			pf[i].revents = 0;
		}
		wait = st.next_probe > now ? (int)(st.next_probe - now) * 1000 :
		    250;
		(void)poll(pf, (nfds_t)st.n, wait > 250 ? 250 : wait);
		slots_update(w, &st, pf);
	}
	say(w, json_pack("{s:s}", "event", "stopped"), "stopped");
	return st.error && w->once ? CMD_EXIT_USAGE : st.failed && w->once ?
	    CMD_EXIT_FAIL : CMD_EXIT_OK;
}

static const struct cli_cmd worker_cmd = { "worker", worker_usage };

int
cmd_worker(int argc, char **argv)
{
	static const struct option opts[] = {
		CMD_COMMON_OPTS,
		{ "name", required_argument, NULL, 'n' },
		{ "concurrency", required_argument, NULL, 'N' },
		{ "poll", required_argument, NULL, 'P' },
		{ "grace", required_argument, NULL, 'g' },
		{ "once", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa;
	struct worker w;
	char host[64];
	int ch, bad = 0, rc = CMD_EXIT_USAGE;

	memset(&w, 0, sizeof(w));
	w.concurrency = 1;
	w.poll_s = 5;
	w.grace_s = 60;
	optind = 1;
	while ((ch = cli_getopt(argc, argv, NULL, opts, &worker_cmd)) != -1) {
		if (cmd_common_opt(ch, &w.cc))
			continue;
		switch (ch) {
		case 'n':
			bad |= strlen(optarg) == 0 || strlen(optarg) >= sizeof(w.name);
			snprintf(w.name, sizeof(w.name), "%s", optarg);
			break;
		case 'N': bad |= cmd_parse_long(optarg, 1, MAX_SLOTS,
		    &w.concurrency); break;
		case 'P': bad |= cmd_parse_long(optarg, 1, 3600, &w.poll_s); break;
		case 'g': bad |= cmd_parse_long(optarg, 0, 86400, &w.grace_s); break;
		case 'o': w.once = 1; break;
		default: return CMD_EXIT_USAGE;
		}
	}
	if (cmd_common_check("worker", argc, argv, 0, &w.cc) != 0)
		return CMD_EXIT_USAGE;
	if (bad)
		return cli_usage_error("worker", "--concurrency takes 1..%d, "
		    "--poll 1..3600, --grace 0..86400 (whole seconds), --name 1 "
		    "to %zu bytes", MAX_SLOTS, sizeof(w.name) - 1);
	if (w.name[0] == '\0') {
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "worker");
		host[sizeof(host) - 1] = '\0';
		snprintf(w.name, sizeof(w.name), "%s.%ld", host,
		    (long)getpid());
	}
	/* The key is unlocked once; the slots sign with it. */
	if (cmd_key_load("worker", w.cc.key, w.cc.passfile, &w.sk) != 0)
		goto out;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = worker_loop(&w);
 out:
	minisig_seckey_free(w.sk);
	return rc;
}
