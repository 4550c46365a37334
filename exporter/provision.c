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
#include "db.h"
#include "err.h"
#include "lint.h"
#include "provision.h"

#define ANSWER_MAX 8192

struct provision {
	pid_t pid;
	int to;			/* commands to the helper */
	int from;		/* answers from it */
	char role[DB_ROLE_NAME_MAX];
	char *password;		/* sodium_malloc'd */
	char sysid[64];
};

/* The helper's body. Never returns. */
static void
helper(const struct config *cfg, const uint8_t *job_hash, int lint, int in,
    int out)
{
	struct lint_report *lr = NULL;
	PGconn *mon = NULL;
	char err[512], role[DB_ROLE_NAME_MAX], *pw = NULL, *sysid = NULL;
	char cmd[16];
	ssize_t n;
	int r;

	if ((r = db_connect(cfg, NULL, &mon, err, sizeof(err))) != 0) {
		builder_log(out, "error %d %s", r, err);
		_exit(1);
	}
	if (lint && (r = lint_run(mon, cfg, &lr)) != 0) {
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
	if ((r = db_system_identifier(mon, &sysid, err, sizeof(err))) != 0 ||
	    (r = db_export_role_create(mon, job_hash, role, &pw, err,
	    sizeof(err))) != 0) {
		builder_log(out, "error %d %s", r, err);
		_exit(1);
	}
	builder_log(out, "ok %s %s %s", role, pw, sysid);
	sodium_free(pw);
	close(out);
	/* Wait for "drop", or for the monitor to go away. */
	for (;;) {
		n = read(in, cmd, sizeof(cmd));
		if (n < 0 && errno == EINTR)
			continue;
		break;
	}
	r = db_export_role_drop(mon, role, err, sizeof(err));
	PQfinish(mon);
	_exit(r == 0 ? 0 : 1);
}

int
provision_start(const struct config *cfg, const uint8_t job_hash[32],
    int lint, struct provision **out, char *err, size_t errlen)
{
	struct provision *p = NULL;
	int to[2] = { -1, -1 }, from[2] = { -1, -1 }, r = ERR_NOMEM, st;
	struct buf *ans = NULL;
	const uint8_t *l;
	char line[1024], word[16];
	uint8_t tmp[1024];
	size_t len;
	ssize_t n;
	int code, off = 0;
	size_t count;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (ans = buf_new(ANSWER_MAX)) == NULL)
		goto out;
	p->pid = -1;
	p->to = p->from = -1;
	r = ERR_CHILD;
	if (pipe2(to, O_CLOEXEC) != 0 || pipe2(from, O_CLOEXEC) != 0)
		goto out;
	fflush(NULL);
	p->pid = fork();
	if (p->pid < 0)
		goto out;
	if (p->pid == 0) {
		close(to[1]);
		close(from[0]);
		helper(cfg, job_hash, lint, to[0], from[1]);
	}
	close(to[0]);
	close(from[1]);
	to[0] = from[1] = -1;
	p->to = to[1];
	p->from = from[0];
	to[1] = from[0] = -1;
	/* One answer line, then EOF. */
	for (;;) {
		n = read(p->from, tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || buf_put(ans, tmp, (size_t)n) != 0)
			break;
	}
	if (buf_get_line(ans, &l, &len, sizeof(line) - 1) != 0) {
		snprintf(err, errlen, "the database helper exited without an "
		    "answer");
		goto out;
	}
	memcpy(line, l, len);
	line[len] = '\0';
	if (sscanf(line, "%15s %n", word, &off) != 1)
		goto bad;
	if (strcmp(word, "ok") == 0) {
		char pw[256];

		if (sscanf(line + off, "%36s %255s %63s", p->role, pw,
		    p->sysid) != 3 || strncmp(p->role, "exp_", 4) != 0)
			goto bad;
		if ((p->password = sodium_malloc(strlen(pw) + 1)) == NULL) {
			sodium_memzero(pw, sizeof(pw));
			r = ERR_NOMEM;
			goto out;
		}
		memcpy(p->password, pw, strlen(pw) + 1);
		sodium_memzero(pw, sizeof(pw));
		sodium_memzero(line, sizeof(line));
		*out = p;
		p = NULL;
		r = 0;
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
	if (strcmp(word, "error") == 0) {
		int k = 0;

		if (sscanf(line + off, "%d %n", &code, &k) < 1)
			goto bad;
		snprintf(err, errlen, "%s", line + off + k);
		r = code < 0 ? code : ERR_DB;
		goto out;
	}
 bad:
	snprintf(err, errlen, "the database helper's answer is malformed");
	r = ERR_CHILD;
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
provision_finish(struct provision *p, char *err, size_t errlen)
{
	int st = 0, r = 0;

	if (p == NULL)
		return 0;
	builder_write_all(p->to, "drop\n", 5);
	close(p->to);
	close(p->from);
	while (waitpid(p->pid, &st, 0) < 0) {
		if (errno != EINTR) {
			st = -1;
			break;
		}
	}
	if (st != 0) {
		snprintf(err, errlen, "the export role %s could not be dropped; "
		    "its grant expires within the hour (texp_guard."
		    "export_roles_sweep() removes it)", p->role);
		r = ERR_DB;
	}
	if (p->password != NULL)
		sodium_free(p->password);
	sodium_memzero(p, sizeof(*p));
	free(p);
	return r;
}
