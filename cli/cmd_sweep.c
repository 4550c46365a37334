/*
 * tenant-export sweep: for cron. Deletes the archives of expired jobs and
 * marks them expired (audited), removes the temporary files of exports
 * that no longer run, and drops export roles left behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <string.h>
#include <unistd.h>

#include "ctlchild.h"
#include "cli.h"
#include "config.h"
#include "db.h"
#include "err.h"
#include "jobs.h"
#include "outbox.h"

static void
sweep_usage(FILE *f, const char *name)
{
	(void)name;
	fprintf(f,
"usage: tenant-export sweep --config FILE\n"
"\n"
"Deletes the archive files of every job past its expiry ([export] expiry,\n"
"default 72h), marks those jobs expired (queued or waiting requests too),\n"
"writes each step to the audit log, removes the temporary files of exports\n"
"that no longer run (hidden .export-*.tmp-* in the outbox), and drops\n"
"stale export roles. Meant for cron or a systemd timer; needs no key.\n"
"\n"
"Exit status: 0 done; 1 some archive could not be deleted; 2 usage or\n"
"operational error.\n");
}

struct sweep_counts {
	int expired, failed, dropped;
};

/* In a control-plane child: the same verified log as every decision. */
static int
ctl_sweep(struct jobs_ctx *k, void *ctx, struct jobs_outcome *o,
    json_t *reply)
{
	struct sweep_counts *n = ctx;
	int r;

	if ((r = jobs_sweep(k, &n->expired, &n->failed, o->msg,
	    sizeof(o->msg))) != 0)
		return o->r = r;
	if ((r = db_export_sweep(k->c, &n->dropped, o->msg,
	    sizeof(o->msg))) != 0)
		return o->r = r;
	json_object_set_new(reply, "expired", json_integer(n->expired));
	json_object_set_new(reply, "failed", json_integer(n->failed));
	json_object_set_new(reply, "dropped", json_integer(n->dropped));
	return o->r = 0;
}

static const struct cli_cmd sweep_cmd = { "sweep", sweep_usage };
/* Temporaries of exports that no longer run (outbox.h): a running export
 * holds its lock, and nothing of it is touched. */
static int
sweep_outbox(const struct config *cfg, size_t *removed)
{
	const char *outbox = config_export(cfg)->outbox;
	int fd, r;

	*removed = 0;
	if (outbox == NULL)
		return 0;
	if ((fd = open(outbox, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "tenant-export: sweep: cannot open the outbox "
		    "\"%s\": %s\n", outbox, strerror(errno));
		return ERR_IO;
	}
	if ((r = outbox_sweep(fd, NULL, 0, removed)) != 0)
		fprintf(stderr, "tenant-export: sweep: the outbox \"%s\": %s\n",
		    outbox, err_str(r));
	close(fd);
	return r;
}

int
cmd_sweep(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct config *cfg = NULL;
	struct sweep_counts n = { 0, 0, 0 };
	struct jobs_outcome o;
	const char *config = NULL;
	json_t *rep = NULL;
	char err[512] = "";
	int ch, r, rc = CMD_EXIT_USAGE, expired, failed, dropped;
	size_t temps = 0;

	optind = 1;
	while ((ch = cli_getopt(argc, argv, NULL, opts, &sweep_cmd)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		default: return CMD_EXIT_USAGE;
		}
	}
	if (config == NULL)
		return cli_usage_error("sweep", "--config FILE is required");
	if (optind != argc)
		return cli_usage_error("sweep", "unexpected argument '%s'",
		    argv[optind]);
	if ((r = config_load(config, &cfg, err, sizeof(err))) != 0) {
		fprintf(stderr, "tenant-export: sweep: %s\n", err);
		goto out;
	}
	if ((r = svc_in_child(cfg, NULL, "sweep", ctl_sweep, &n, &o,
	    &rep)) != 0) {
		fprintf(stderr, "tenant-export: sweep: %s\n", o.msg);
		goto out;
	}
	expired = (int)json_integer_value(json_object_get(rep, "expired"));
	failed = (int)json_integer_value(json_object_get(rep, "failed"));
	dropped = (int)json_integer_value(json_object_get(rep, "dropped"));
	printf("tenant-export: sweep: %d job%s expired, %d export role%s "
	    "dropped\n", expired, expired == 1 ? "" : "s", dropped,
	    dropped == 1 ? "" : "s");
	if ((r = sweep_outbox(cfg, &temps)) != 0)
		goto out;
	printf("tenant-export: sweep: %zu temporary file%s of ended exports "
	    "removed\n", temps, temps == 1 ? "" : "s");
	if (failed > 0) {
		fprintf(stderr, "tenant-export: sweep: %d archive%s could not "
		    "be deleted (see the audit log)\n", failed,
		    failed == 1 ? "" : "s");
		rc = CMD_EXIT_FAIL;
		goto out;
	}
	rc = CMD_EXIT_OK;
 out:
	json_decref(rep);
	config_free(cfg);
	return rc;
}
