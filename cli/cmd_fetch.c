/*
 * tenant-export fetch: copies a finished export out of the outbox, after
 * the same permission checks as the request, the job's state and expiry,
 * and the download limit. Every attempt is in the audit log.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "cmd_jobs.h"
#include "config.h"
#include "err.h"
#include "jobs.h"

static void
fetch_usage(FILE *f)
{
	fprintf(f,
"usage: tenant-export fetch JOB --config FILE --as KEY --to DIR\n"
"                           [--passphrase-file F] [--json]\n"
"\n"
"Copies the archive of the ready job JOB, its signature (and, for a split\n"
"archive, the index and every part) into the existing directory DIR, as\n"
"new files of mode 0600 (never overwriting). KEY's principal needs\n"
"tenant:fetch (and tenant:export:pii for personal data) on the job's\n"
"tenant; the job must not have expired nor reached [control]\n"
"max_downloads.\n"
"\n"
"Exit status: 0 copied; 1 refused or no such job; 2 usage or operational\n"
"error.\n");
}

/* Copies src to a new file name in dirfd; removes it again on failure. */
static int
copy_one(const char *src, int dirfd, const char *name)
{
	char tmp[65536];
	ssize_t n, w;
	struct stat st;
	int in = -1, out = -1, r = ERR_IO;

	if ((in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ENOENT ? ERR_NOENT : ERR_IO;
	if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	if ((out = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		r = errno == EEXIST ? ERR_EXISTS : ERR_IO;
		goto out;
	}
	for (;;) {
		if ((n = read(in, tmp, sizeof(tmp))) < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n; off += w)
			if ((w = write(out, tmp + off, (size_t)(n - off))) <= 0)
				goto fail;
	}
	if (fsync(out) != 0)
		goto fail;
	r = 0;
	goto out;
 fail:
	unlinkat(dirfd, name, 0);
 out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return r;
}

static int
copy_archive(const char *archive, const char *to, char *err, size_t errlen)
{
	char **files = NULL;
	const char *base;
	size_t i, k;
	int dirfd, r;

	if ((dirfd = open(to, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot open the directory \"%s\": %s", to,
		    strerror(errno));
		return ERR_IO;
	}
	if ((r = jobs_archive_files(archive, &files)) != 0) {
		snprintf(err, errlen, "the archive is missing from the outbox");
		goto out;
	}
	for (i = 0; files[i] != NULL; i++) {
		base = strrchr(files[i], '/');
		base = base ? base + 1 : files[i];
		if ((r = copy_one(files[i], dirfd, base)) != 0) {
			snprintf(err, errlen, "cannot copy \"%s\" to \"%s\": %s",
			    base, to, r == ERR_EXISTS ? "a file of that name "
			    "exists" : err_str(r));
			for (k = 0; k < i; k++) {
				base = strrchr(files[k], '/');
				unlinkat(dirfd, base ? base + 1 : files[k], 0);
			}
			goto out;
		}
	}
	if (fsync(dirfd) != 0) {
		r = ERR_IO;
		snprintf(err, errlen, "cannot sync \"%s\"", to);
		goto out;
	}
	r = 0;
 out:
	jobs_files_free(files);
	close(dirfd);
	return r;
}

int
cmd_fetch(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "as", required_argument, NULL, 'a' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "to", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const keys[1] = { "job" };
	struct cmd_action act = { NULL, NULL };
	struct jobs_outcome o, o2;
	struct jobs_signed sv;
	struct jobs_job *j = NULL;
	struct config *cfg = NULL;
	const char *config = NULL, *key = NULL, *passfile = NULL, *to = NULL;
	const char *vals[1], *base;
	PGconn *c = NULL;
	char err[512] = "";
	int ch, r, cr, json = 0, rc = CMD_EXIT_USAGE;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'a': key = optarg; break;
		case 'p': passfile = optarg; break;
		case 'o': to = optarg; break;
		case 'j': json = 1; break;
		case 'h': fetch_usage(stdout); return CMD_EXIT_OK;
		default: goto usage;
		}
	}
	if (optind + 1 != argc || config == NULL || key == NULL || to == NULL) {
		fprintf(stderr, "tenant-export: fetch: JOB, --config, --as and "
		    "--to are required\n");
		goto usage;
	}
	vals[0] = cmd_job_arg(argv[optind]);
	if ((r = config_load(config, &cfg, err, sizeof(err))) != 0) {
		fprintf(stderr, "tenant-export: fetch: %s\n", err);
		goto out;
	}
	if ((r = cmd_sign_once("fetch", key, passfile, "export.fetch", keys,
	    vals, 1, &act)) != 0 ||
	    (r = cmd_control_connect("fetch", cfg, &c)) != 0)
		goto out;
	sv = cmd_action_view(&act);
	if ((r = jobs_fetch(c, cfg, &sv, &j, &o)) != 0) {
		fprintf(stderr, "tenant-export: fetch: %s\n", o.msg);
		if (json)
			printf("{\"ok\": false, \"error\": \"%s\"}\n",
			    o.reason[0] ? o.reason : err_str(r));
		rc = cmd_exit_for(r);
		goto out;
	}
	cr = copy_archive(j->archive, to, err, sizeof(err));
	if ((r = jobs_fetch_done(c, j, o.principal, cr, to, &o2)) != 0 &&
	    r != cr) {
		fprintf(stderr, "tenant-export: fetch: %s\n", o2.msg);
		rc = cmd_exit_for(r);
		goto out;
	}
	if (cr != 0) {
		fprintf(stderr, "tenant-export: fetch: %s\n", err);
		rc = CMD_EXIT_USAGE;
		goto out;
	}
	base = strrchr(j->archive, '/');
	base = base ? base + 1 : j->archive;
	if (json)
		printf("{\"ok\": true, \"archive\": \"%s/%s\", \"fetches\": %d, "
		    "\"max_fetches\": %d}\n", to, base, j->fetch_count,
		    j->max_fetches);
	else
		printf("tenant-export: fetch: job %s copied to %s/%s "
		    "(download %d of %d)\n", j->ref, to, base, j->fetch_count,
		    j->max_fetches);
	rc = CMD_EXIT_OK;
	goto out;
 usage:
	fetch_usage(stderr);
	rc = CMD_EXIT_USAGE;
 out:
	if (c != NULL)
		PQfinish(c);
	jobs_free(j);
	cmd_action_clear(&act);
	config_free(cfg);
	return rc;
}
