#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "builder.h"
#include "config.h"
#include "db.h"
#include "err.h"
#include "lint.h"
#include "outbox.h"
#include "provision.h"

#define ANSWER_MAX 8192

struct provision {
	const struct config *cfg;
	pid_t pid;
	int to;			/* commands to the helper */
	int from;		/* answers from it */
	char role[DB_ROLE_NAME_MAX];
	char *password;		/* sodium_malloc'd */
	char sysid[64];
	int word;		/* the helper says a last word */
};

/* How long the helper keeps trying to drop the role (the database may be
 * restarting), and to get an ending export's lock. */
#define DROP_RETRY_SECONDS	60
#define LOCK_WAIT_MS		5000
/* The helper's exit status when it tried to drop the role and could not
 * (anything else but 0 means it died on the way: a crash, a kill, or a
 * sanitizer's report, which exits with 1). */
#define HELPER_NOT_DROPPED	42

/* What the helper keeps, to clean up after the monitor. */
struct helper {
	const struct config *cfg;
	const struct provision_opts *o;
	PGconn *mon;
	char role[DB_ROLE_NAME_MAX];
	int outbox;		/* the monitor's outbox descriptor, or -1 */
	char base[128];		/* the export's temporaries, or "" */
};

/*
 * The helper outlives the monitor on purpose: in its own process group, a
 * signal sent to the export's group (a terminal's ^C or hangup, kill -9 of
 * the group, a job runner's timeout) leaves it to clean up, and it ignores
 * the signals that are requests to stop. It exits once the monitor is gone
 * and the cleaning is done (bounded by DROP_RETRY_SECONDS).
 */
static void
helper_detach(int in, int out)
{
	struct sigaction sa;
	int fd, std;

	(void)setpgid(0, 0);
	/* It never prints; holding the caller's output open while it cleans
	 * up would keep a reader of that output waiting. */
	if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
		for (std = 0; std <= STDERR_FILENO; std++)
			if (std != fd && std != in && std != out)
				(void)dup2(fd, std);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
#ifdef TEXP_TEST_HOOKS
	{
		/* Test builds: where the helper is, so a test can crash it. */
		const char *dir = getenv("TEXP_TEST_STATE_DIR");
		char path[4096];
		FILE *f;

		snprintf(path, sizeof(path), "%s/helper-pid", dir ? dir : "");
		if (dir != NULL && (f = fopen(path, "w")) != NULL) {
			fprintf(f, "%ld\n", (long)getpid());
			fclose(f);
		}
	}
#endif
}

/* Drops the role, reconnecting while the database is away. */
static int
helper_drop(struct helper *h)
{
	char err[512];
	int i, r = ERR_DB;

	for (i = 0; i < DROP_RETRY_SECONDS; i++) {
		if (i > 0)
			sleep(1);
		if (h->mon != NULL && PQstatus(h->mon) != CONNECTION_OK) {
			PQfinish(h->mon);
			h->mon = NULL;
		}
		if (h->mon == NULL &&
		    db_connect(h->cfg, NULL, &h->mon, err, sizeof(err)) != 0)
			continue;
		if ((r = db_export_role_drop(h->mon, h->role, err,
		    sizeof(err))) == 0 || PQstatus(h->mon) == CONNECTION_OK)
			break;	/* dropped, or refused for good */
	}
	return r;
}

/*
 * Reads the monitor's commands: "temp FD BASE" (the export's temporaries
 * are BASE* in the outbox at descriptor FD, which this process inherited)
 * and "drop". Returns 1 for drop, 0 when the monitor is gone.
 */
static int
helper_wait(struct helper *h, int in)
{
	char buf[512], *nl;
	size_t len = 0;
	ssize_t n;
	int fd;

	for (;;) {
		while ((nl = memchr(buf, '\n', len)) != NULL) {
			*nl = '\0';
			if (strcmp(buf, "drop") == 0)
				return 1;
			if (sscanf(buf, "temp %d %100s", &fd, h->base) == 2)
				h->outbox = fd;
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len);
		}
		if (len == sizeof(buf))
			len = 0;	/* not a command: the monitor's bug */
		n = read(in, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		len += (size_t)n;
	}
}

/* The caller's last word, on the monitor session, as one line: "said 0",
 * "said CODE REASON", or nothing when it could not tell. */
static void
helper_last_word(struct helper *h, int out)
{
	char err[512] = "";
	int r;

	if (h->mon == NULL || PQstatus(h->mon) != CONNECTION_OK)
		return;
	r = h->o->last_word(h->mon, h->o->word_ctx, err, sizeof(err));
	if (r == 0)
		builder_log(out, "said 0");
	else if (r < 0)
		builder_log(out, "said %d %s", r, err);
}

/* The helper's body. Never returns. */
static void
helper(struct helper *h, const uint8_t *job_hash, int in, int out)
{
	struct lint_report *lr = NULL;
	char err[512], *pw = NULL, *sysid = NULL;
	int r;

	helper_detach(in, out);
	if ((r = db_connect(h->cfg, NULL, &h->mon, err, sizeof(err))) != 0) {
		builder_log(out, "error %d %s", r, err);
		_exit(1);
	}
	if ((h->o == NULL || !h->o->no_lint) &&
	    (r = lint_run(h->mon, h->cfg, &lr)) != 0) {
		size_t k = lr ? lint_report_count(lr) : 0;

		if (r == ERR_POLICY && k > 0)
			builder_log(out, "lint %zu %s: %s", k,
			    lint_report_get(lr, 0)->object,
			    lint_report_get(lr, 0)->message);
		else
			builder_log(out, "error %d lint could not run%s%s", r,
			    k ? ": " : "", k ? lint_report_get(lr, 0)->message :
			    "");
		_exit(1);
	}
	if ((r = db_system_identifier(h->mon, &sysid, err, sizeof(err))) != 0 ||
	    (r = db_export_role_create(h->mon, job_hash, h->role, &pw, err,
	    sizeof(err))) != 0) {
		builder_log(out, "error %d %s", r, err);
		_exit(1);
	}
	/* an export that reads from a standby reads there only once the
	 * standby has the role (docs/OPERATIONS.md) */
	if (config_db_standby_host(h->cfg) != NULL &&
	    (r = db_standby_wait(h->mon, h->cfg, sysid, err,
	    sizeof(err))) != 0) {
		sodium_free(pw);
		(void)helper_drop(h);
		builder_log(out, "error %d %s", r, err);
		_exit(1);
	}
	builder_log(out, "ok %s %s %s", h->role, pw, sysid);
	sodium_free(pw);
	if (h->o == NULL || h->o->last_word == NULL) {
		close(out);
		out = -1;
	}
	if (helper_wait(h, in) == 1) {
		r = helper_drop(h);
		if (r == 0 && out >= 0)
			helper_last_word(h, out);
		_exit(r == 0 ? 0 : HELPER_NOT_DROPPED);
	}
	/* The monitor is gone (killed, crashed): what it would have
	 * removed, this process removes. */
	if (h->outbox >= 0 && h->base[0] != '\0')
		(void)outbox_sweep(h->outbox, h->base, LOCK_WAIT_MS, NULL);
	r = helper_drop(h);
	if (h->o != NULL && h->o->abandoned != NULL && h->mon != NULL &&
	    PQstatus(h->mon) == CONNECTION_OK)
		h->o->abandoned(h->mon, h->o->ctx);
	_exit(r == 0 ? 0 : HELPER_NOT_DROPPED);
}

/* A fresh helper that only drops role (the first one died). Returns 0
 * when the role is gone. */
static int
drop_again(const struct config *cfg, const char *role)
{
	struct helper h;
	pid_t pid;
	int st = 0;

	fflush(NULL);
	if ((pid = fork()) < 0)
		return ERR_CHILD;
	if (pid == 0) {
		memset(&h, 0, sizeof(h));
		h.cfg = cfg;
		h.outbox = -1;
		snprintf(h.role, sizeof(h.role), "%s", role);
		helper_detach(-1, -1);
		_exit(helper_drop(&h) == 0 ? 0 : 1);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return ERR_CHILD;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : ERR_DB;
}

/*
 * The helper's one answer line: "ok ROLE PASSWORD SYSID", "lint COUNT
 * FIRST", or "error CODE TEXT". On ok, p gets the role, the password (in
 * sodium memory) and the system identifier.
 */
static int
answer_parse(struct provision *p, struct buf *ans, char *err, size_t errlen)
{
	const uint8_t *l;
	char line[1024], word[16], pw[256];
	size_t len, count;
	int code, off = 0, k = 0, r = ERR_CHILD;

	if (buf_get_line(ans, &l, &len, sizeof(line) - 1) != 0) {
		snprintf(err, errlen, "the database helper exited without an "
		    "answer");
		return ERR_CHILD;
	}
	memcpy(line, l, len);
	line[len] = '\0';
	if (sscanf(line, "%15s %n", word, &off) != 1)
		goto bad;
	if (strcmp(word, "ok") == 0) {
		if (sscanf(line + off, "%36s %255s %63s", p->role, pw,
		    p->sysid) != 3 || strncmp(p->role, "exp_", 4) != 0)
			goto bad;
		if ((p->password = sodium_malloc(strlen(pw) + 1)) == NULL)
			r = ERR_NOMEM;
		else {
			memcpy(p->password, pw, strlen(pw) + 1);
			r = 0;
		}
		goto out;
	}
	if (strcmp(word, "lint") == 0 &&
	    sscanf(line + off, "%zu %n", &count, &code) >= 1) {
		snprintf(err, errlen, "the database fails %zu lint check%s, "
		    "first: %s; run `tenant-export lint` for all", count,
		    count == 1 ? "" : "s", line + off + code);
		r = ERR_POLICY;
		goto out;
	}
	if (strcmp(word, "error") == 0 &&
	    sscanf(line + off, "%d %n", &code, &k) >= 1) {
		snprintf(err, errlen, "%s", line + off + k);
		r = code < 0 ? code : ERR_DB;
		goto out;
	}
 bad:
	snprintf(err, errlen, "the database helper's answer is malformed");
	r = ERR_CHILD;
 out:
	sodium_memzero(pw, sizeof(pw));
	sodium_memzero(line, sizeof(line));
	return r;
}

int
provision_start(const struct config *cfg, const uint8_t job_hash[32],
    struct provision **out, char *err, size_t errlen)
{
	return provision_start_opts(cfg, job_hash, NULL, out, err, errlen);
}

int
provision_start_opts(const struct config *cfg, const uint8_t job_hash[32],
    const struct provision_opts *o, struct provision **out, char *err,
    size_t errlen)
{
	struct provision *p = NULL;
	int to[2] = { -1, -1 }, from[2] = { -1, -1 }, r = ERR_NOMEM, st;
	struct buf *ans = NULL;
	uint8_t tmp[1024];
	ssize_t n;

	*out = NULL;
	/* The answer holds the export role's password: wiped when freed. */
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (ans = buf_new_secret(ANSWER_MAX)) == NULL)
		goto out;
	p->pid = -1;
	p->to = p->from = -1;
	p->cfg = cfg;
	r = ERR_CHILD;
	if (pipe2(to, O_CLOEXEC) != 0 || pipe2(from, O_CLOEXEC) != 0)
		goto out;
	fflush(NULL);
	p->pid = fork();
	if (p->pid < 0)
		goto out;
	if (p->pid == 0) {
		struct helper h;

		close(to[1]);
		close(from[0]);
		memset(&h, 0, sizeof(h));
		h.cfg = cfg;
		h.o = o;
		h.outbox = -1;
		helper(&h, job_hash, to[0], from[1]);
	}
	close(to[0]);
	close(from[1]);
	to[0] = from[1] = -1;
	p->to = to[1];
	p->from = from[0];
	p->word = o != NULL && o->last_word != NULL;
	to[1] = from[0] = -1;
	/* One answer line (then EOF, or later the last word's line). */
	for (;;) {
		n = read(p->from, tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || buf_put(ans, tmp, (size_t)n) != 0 ||
		    memchr(tmp, '\n', (size_t)n) != NULL)
			break;
	}
	sodium_memzero(tmp, sizeof(tmp));
	if ((r = answer_parse(p, ans, err, errlen)) == 0) {
		*out = p;
		p = NULL;
	}
 out:
	buf_free(ans);
	for (int i = 0; i < 2; i++) {
		if (to[i] >= 0)
			close(to[i]);
		if (from[i] >= 0)
			close(from[i]);
	}
	if (p != NULL) {
		if (p->to >= 0)
			close(p->to);
		if (p->from >= 0)
			close(p->from);
		if (p->pid > 0)
			while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR)
				;
		if (p->password != NULL)
			sodium_free(p->password);
		free(p);
	}
	return r;
}

const char *
provision_role(const struct provision *p)
{
	return p->role;
}

const char *
provision_password(const struct provision *p)
{
	return p->password;
}

const char *
provision_sysid(const struct provision *p)
{
	return p->sysid;
}

int
provision_track_temp(struct provision *p, int dirfd, const char *base)
{
	char line[200];
	int n;

	n = snprintf(line, sizeof(line), "temp %d %s\n", dirfd, base);
	if (n < 0 || (size_t)n >= sizeof(line) || strchr(base, ' ') != NULL)
		return ERR_INVALID;
	return builder_write_all(p->to, line, (size_t)n);
}

void
provision_forget_password(struct provision *p)
{
	if (p == NULL || p->password == NULL)
		return;
	sodium_free(p->password);	/* wipes */
	p->password = NULL;
}

/* The helper's last word ("said ..."), read before it exits: 1 said
 * (*r its verdict, err its reason), 0 not. */
static int
read_word(struct provision *p, int *r, char *err, size_t errlen)
{
	char line[640];
	size_t len = 0;
	ssize_t n;
	int code, off = 0;

	while (len < sizeof(line) - 1 && memchr(line, '\n', len) == NULL) {
		n = read(p->from, line + len, sizeof(line) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	line[len] = '\0';
	if (len == 0 || line[len - 1] != '\n')
		return 0;
	line[len - 1] = '\0';
	if (sscanf(line, "said %d %n", &code, &off) < 1 || code > 0)
		return 0;
	*r = code;
	if (code != 0)
		snprintf(err, errlen, "%s", off > 0 ? line + off : err_str(code));
	return 1;
}

int
provision_finish(struct provision *p, char *err, size_t errlen)
{
	int said;

	return provision_finish_word(p, &said, err, errlen);
}

int
provision_finish_word(struct provision *p, int *said, char *err,
    size_t errlen)
{
	int st = 0, r = 0, w = 0;

	*said = 0;
	if (p == NULL)
		return 0;
	builder_write_all(p->to, "drop\n", 5);
	close(p->to);
	if (p->word)
		*said = read_word(p, &w, err, errlen);
	close(p->from);
	while (waitpid(p->pid, &st, 0) < 0) {
		if (errno != EINTR) {
			st = -1;
			break;
		}
	}
	/* A helper that died (killed, crashed) dropped nothing: a fresh
	 * one does. */
	if (st != 0 && !(WIFEXITED(st) &&
	    WEXITSTATUS(st) == HELPER_NOT_DROPPED) &&
	    drop_again(p->cfg, p->role) == 0)
		st = 0;
	if (st != 0) {
		snprintf(err, errlen, "the export role %s could not be dropped; "
		    "its grant expires within the hour (texp_guard."
		    "export_roles_sweep() removes it)", p->role);
		r = ERR_DB;
		*said = 0;
	} else if (*said)
		r = w;
	if (p->password != NULL)
		sodium_free(p->password);
	sodium_memzero(p, sizeof(*p));
	free(p);
	return r;
}
