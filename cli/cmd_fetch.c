/*
 * tenant-export fetch: the service hands over a finished export, after
 * the same permission checks as the request, the job's state and expiry,
 * and the download limit; this command writes the files as the caller,
 * into a directory of the caller's. Every attempt is in the audit log.
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

#include "client.h"
#include "cli.h"
#include "cmd_jobs.h"
#include "err.h"
#include "jobs.h"
#include "minisig.h"

#define MAX_FILES	10000

static void
fetch_usage(FILE *f, const char *name)
{
	(void)name;
	fprintf(f,
"usage: tenant-export fetch JOB --as KEY --to DIR [options]\n"
"\n"
"Receives the archive of the ready job JOB, its signature (and, for a\n"
"split archive, the index and every part) from the service and writes\n"
"them into the existing directory DIR, as new files of mode 0600 (never\n"
"overwriting). KEY's principal needs tenant:fetch (and tenant:export:pii\n"
"for personal data) on the job's tenant; the job must not have expired\n"
"nor reached [control] max_downloads. A download that could not be\n"
"written is given back.\n"
"\n"
"  --to DIR                   where the files go\n"
"%s"
"\n"
"Exit status: 0 received; 1 refused or no such job; 2 usage or\n"
"operational error.\n", cmd_common_usage);
}

/* Names the service may give: a plain file name of the archive's. */
static int
name_ok(const char *n)
{
	size_t len = strlen(n);

	return len > 0 && len < 256 && strchr(n, '/') == NULL &&
	    strcmp(n, ".") != 0 && strcmp(n, "..") != 0 &&
	    strncmp(n, "export-", 7) == 0;
}

struct sink {
	const char *to;
	int dirfd;
	int fd;				/* the file being written */
	uint64_t want, got;
	char *names[MAX_FILES];
	size_t n;
	char *first;			/* the archive's name */
};

static int
s_begin(void *ctx, const char *name, uint64_t size)
{
	struct sink *s = ctx;

	if (!name_ok(name) || s->fd >= 0 || s->n == MAX_FILES)
		return ERR_FORMAT;
	if ((s->fd = openat(s->dirfd, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		fprintf(stderr, "tenant-export: fetch: cannot create \"%s/%s\": "
		    "%s\n", s->to, name, errno == EEXIST ? "a file of that name "
		    "exists" : strerror(errno));
		return errno == EEXIST ? ERR_EXISTS : ERR_IO;
	}
	if ((s->names[s->n] = strdup(name)) == NULL)
		return ERR_NOMEM;
	s->n++;
	s->want = size;
	s->got = 0;
	return 0;
}

static int
s_data(void *ctx, const uint8_t *p, size_t n)
{
	struct sink *s = ctx;
	ssize_t w;

	if (s->fd < 0 || s->got + n > s->want)
		return ERR_FORMAT;
	while (n > 0) {
		if ((w = write(s->fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "tenant-export: fetch: cannot write to "
			    "\"%s\": %s\n", s->to, strerror(errno));
			return ERR_IO;
		}
		p += w;
		n -= (size_t)w;
		s->got += (uint64_t)w;
	}
	return 0;
}

static int
s_end(void *ctx)
{
	struct sink *s = ctx;
	int r = 0;

	if (s->fd < 0)
		return ERR_FORMAT;
	if (s->got != s->want)
		r = ERR_TRUNCATED;
	else if (fsync(s->fd) != 0)
		r = ERR_IO;
	close(s->fd);
	s->fd = -1;
	return r;
}

static int
s_done(void *ctx, int ok, const char **to)
{
	struct sink *s = ctx;
	size_t i;

	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
		ok = 0;
	}
	if (ok && fsync(s->dirfd) != 0)
		ok = 0;
	if (!ok)
		for (i = 0; i < s->n; i++)
			unlinkat(s->dirfd, s->names[i], 0);
	if (to != NULL)
		*to = s->to;
	return ok ? 0 : ERR_IO;
}

int
cmd_fetch(int argc, char **argv)
{
	static const struct option opts[] = {
		CMD_COMMON_OPTS,
		{ "to", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct cli_cmd fetch_cmd = { "fetch", fetch_usage };
	static const char *const keys[1] = { "job" };
	struct cmd_common cc;
	struct client_sink sk_ops;
	struct sink s;
	struct minisig_seckey *sk = NULL;
	struct client *cl = NULL;
	struct cmd_action act = { NULL, NULL };
	const char *vals[1];
	char hash[65];
	json_t *res = NULL, *job;
	size_t i;
	int ch, r, rc = CMD_EXIT_USAGE;

	memset(&cc, 0, sizeof(cc));
	memset(&s, 0, sizeof(s));
	s.fd = s.dirfd = -1;
	optind = 1;
	while ((ch = cli_getopt(argc, argv, NULL, opts, &fetch_cmd)) != -1) {
		if (cmd_common_opt(ch, &cc))
			continue;
		switch (ch) {
		case 'o': s.to = optarg; break;
		default: return CMD_EXIT_USAGE;
		}
	}
	if (cmd_common_check("fetch", argc, argv, 1, &cc) != 0)
		return CMD_EXIT_USAGE;
	if (s.to == NULL)
		return cli_usage_error("fetch", "--to DIR is required");
	if ((s.dirfd = open(s.to, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "tenant-export: fetch: cannot open the directory "
		    "\"%s\": %s\n", s.to, strerror(errno));
		goto out;
	}
	cmd_job_arg(argv[optind], hash);
	vals[0] = hash;
	sk_ops.begin = s_begin;
	sk_ops.data = s_data;
	sk_ops.end = s_end;
	sk_ops.done = s_done;
	sk_ops.ctx = &s;
	if (cmd_key_load("fetch", cc.key, cc.passfile, &sk) != 0 ||
	    client_open("fetch", &cc.co, &cl) != 0 ||
	    client_sign("fetch", cl, sk, "export.fetch", keys, vals, 1,
	    &act) != 0)
		goto out;
	minisig_seckey_free(sk);
	sk = NULL;
	r = client_call("fetch", cl, &act, NULL, NULL, NULL, &sk_ops, &res);
	if (res == NULL)
		goto out;
	rc = client_exit(res);
	job = json_object_get(res, "job");
	if (cc.json) {
		json_object_set_new(res, "ok", json_boolean(rc == 0));
		json_object_set_new(res, "to", json_string(s.to));
		cmd_print_json(res);
		res = NULL;
	} else if (r != 0)
		fprintf(stderr, "tenant-export: fetch: %s\n", client_message(res));
	else
		printf("tenant-export: fetch: job %s written to %s/%s "
		    "(download %lld of %lld)\n", json_string_value(
		    json_object_get(job, "id")), s.to, json_string_value(
		    json_object_get(job, "archive")),
		    (long long)json_integer_value(json_object_get(job,
		    "fetch_count")), (long long)json_integer_value(
		    json_object_get(job, "max_fetches")));
 out:
	minisig_seckey_free(sk);
	cmd_action_clear(&act);
	client_close(cl);
	json_decref(res);
	for (i = 0; i < s.n; i++)
		free(s.names[i]);
	if (s.fd >= 0)
		close(s.fd);
	if (s.dirfd >= 0)
		close(s.dirfd);
	return rc;
}
