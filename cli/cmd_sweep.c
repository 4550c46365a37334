/*
 * tenant-export sweep: for cron. Deletes the archives of expired jobs and
 * marks them expired (audited), takes back jobs whose holder stopped
 * renewing its lease, removes what killed exports left in the outbox
 * (the files of jobs taken back, and temporaries of exports that no
 * longer run), ends leak test runs whose process died, and drops export
 * roles left behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "canary.h"
#include "ctlchild.h"
#include "cli.h"
#include "config.h"
#include "db.h"
#include "err.h"
#include "handle.h"
#include "jobs.h"
#include "ledger.h"
#include "notify.h"
#include "leakrun.h"
#include "outbox.h"
#include "queue.h"

static void
sweep_usage(FILE *f, const char *name)
{
	(void)name;
	fprintf(f,
"usage: tenant-export sweep --config FILE\n"
"\n"
"Deletes the archive files of every job past its expiry ([export] expiry,\n"
"default 72h), marks those jobs expired (queued or waiting requests too),\n"
"takes back running jobs whose holder stopped renewing its lease\n"
"([control] lease_timeout), removes the files of killed exports (those\n"
"of jobs taken back, and hidden .export-*.tmp-* of exports that no\n"
"longer run), writes each step to the audit log, ends leak test runs\n"
"whose process died (removing their throwaway principals and deleting\n"
"their canaries with [leaktest] canary_user), and drops stale export\n"
"roles. Meant for cron or a systemd timer; needs no key.\n"
"\n"
"Exit status: 0 done; 1 some archive or canary could not be deleted; 2\n"
"usage or operational error.\n");
}

struct sweep_counts {
	int expired, failed, dropped, files, aborted;
};

/* In a control-plane child: the same verified log as every decision. */
static int
ctl_sweep(struct jobs_ctx *k, void *ctx, struct jobs_outcome *o,
    json_t *reply)
{
	struct sweep_counts *n = ctx;
	struct jobs_changes ch, reaped;
	int r;

	json_t *left;

	memset(&ch, 0, sizeof(ch));
	memset(&reaped, 0, sizeof(reaped));
	/* leak tests that died first: their jobs end (so that their roles
	 * go below), before the queue's jobs are looked at */
	left = json_array();
	if ((r = leakrun_sweep(k, &n->aborted, left, o)) != 0) {
		json_decref(left);
		return r;
	}
	json_object_set_new(reply, "canaries", left);
	if ((r = queue_reap(k, &reaped, o)) != 0 ||
	    (r = queue_sweep_files(k, &n->files, o)) != 0)
		return o->r = r;
	if ((r = jobs_sweep(k, &n->expired, &n->failed, &ch, o->msg,
	    sizeof(o->msg))) != 0)
		return o->r = r;
	json_object_set_new(reply, "moved", svc_changes_json(k, &ch));
	json_object_set_new(reply, "taken_back", svc_changes_json(k, &reaped));
	json_object_set_new(reply, "files", json_integer(n->files));
	if ((r = db_export_sweep(k->c, &n->dropped, o->msg,
	    sizeof(o->msg))) != 0)
		return o->r = r;
	json_object_set_new(reply, "expired", json_integer(n->expired));
	json_object_set_new(reply, "failed", json_integer(n->failed));
	json_object_set_new(reply, "dropped", json_integer(n->dropped));
	json_object_set_new(reply, "aborted", json_integer(n->aborted));
	return o->r = 0;
}

static const struct cli_cmd sweep_cmd = { "sweep", sweep_usage };
/* Who waits for an expired or failed job hears of it. */
static void
notify_moved(const struct config *cfg, const json_t *jobs)
{
	const char *st;
	json_t *j;
	size_t i;

	json_array_foreach(jobs, i, j) {
		st = json_string_value(json_object_get(j, "state"));
		if (st != NULL && (strcmp(st, "expired") == 0 ||
		    strcmp(st, "failed") == 0))
			notify_job(cfg, st, j, NULL);
	}
}

/* The record that a dead run's canaries were deleted. */
struct canary_rec {
	const char *run;
	json_t *detail;
};

static int
ctl_canaries_deleted(struct jobs_ctx *k, void *ctx, struct jobs_outcome *o,
    json_t *reply)
{
	struct canary_rec *c = ctx;

	(void)reply;
	return leakrun_record(k, c->run, "canaries.deleted", NULL,
	    json_incref(c->detail), o);
}

/*
 * Canaries of leak tests that died, with the canary writer's login.
 * Returns how many could not be deleted (printed).
 */
static int
sweep_canaries(const struct config *cfg, json_t *runs)
{
	const struct config_leaktest *lt = config_leaktest(cfg);
	struct canary_rec rec;
	struct jobs_outcome o;
	json_t *v, *left;
	PGconn *w = NULL;
	char err[512] = "";
	size_t i, n, bad = 0;

	if (json_array_size(runs) == 0)
		return 0;
	if (lt->canary_user == NULL || db_connect_as(cfg, lt->canary_user,
	    lt->canary_password_file, &w, err, sizeof(err)) != 0) {
		fprintf(stderr, "tenant-export: sweep: canaries of %zu dead leak "
		    "test run%s are still in the database and cannot be deleted "
		    "here%s%s\n", json_array_size(runs), json_array_size(runs) ==
		    1 ? "" : "s", err[0] ? ": " : " (no [leaktest] canary_user)",
		    err);
		return (int)json_array_size(runs);
	}
	json_array_foreach(runs, i, v) {
		left = json_array();
		n = 0;
		if (canary_delete(w, json_object_get(v, "canaries"), &n, left, err,
		    sizeof(err)) != 0)
			json_array_append_new(left, json_pack("{s:s}", "reason",
			    err));
		bad += json_array_size(left);
		rec.run = json_string_value(json_object_get(v, "run"));
		rec.detail = json_pack("{s:I,s:O,s:s}", "deleted", (json_int_t)n,
		    "left", left, "by", "sweep");
		svc_in_child(cfg, NULL, "sweep", ctl_canaries_deleted, &rec, &o,
		    NULL);
		json_decref(rec.detail);
		json_decref(left);
		printf("tenant-export: sweep: leak test %s: %zu canar%s deleted\n",
		    rec.run, n, n == 1 ? "y" : "ies");
	}
	PQfinish(w);
	return (int)bad;
}

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
	struct sweep_counts n = { 0, 0, 0, 0, 0 };
	struct jobs_outcome o;
	const char *config = NULL;
	json_t *rep = NULL;
	char err[512] = "";
	int ch, r, rc = CMD_EXIT_USAGE, expired, failed, dropped, aborted;
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
	notify_moved(cfg, json_object_get(rep, "moved"));
	notify_moved(cfg, json_object_get(rep, "taken_back"));
	expired = (int)json_integer_value(json_object_get(rep, "expired"));
	failed = (int)json_integer_value(json_object_get(rep, "failed"));
	dropped = (int)json_integer_value(json_object_get(rep, "dropped"));
	aborted = (int)json_integer_value(json_object_get(rep, "aborted"));
	printf("tenant-export: sweep: %d job%s expired, %zu taken back, %d "
	    "file%s of killed exports removed, %d export role%s dropped, %d "
	    "dead leak test run%s ended\n",
	    expired, expired == 1 ? "" : "s",
	    json_array_size(json_object_get(rep, "taken_back")),
	    (int)json_integer_value(json_object_get(rep, "files")),
	    json_integer_value(json_object_get(rep, "files")) == 1 ? "" : "s",
	    dropped, dropped == 1 ? "" : "s", aborted, aborted == 1 ? "" : "s");
	if ((r = sweep_outbox(cfg, &temps)) != 0)
		goto out;
	printf("tenant-export: sweep: %zu temporary file%s of ended exports "
	    "removed\n", temps, temps == 1 ? "" : "s");
	if (sweep_canaries(cfg, json_object_get(rep, "canaries")) > 0) {
		fprintf(stderr, "tenant-export: sweep: canaries of dead leak "
		    "test runs are left in the database (see the audit log)\n");
		rc = CMD_EXIT_FAIL;
	}
	if (failed > 0) {
		fprintf(stderr, "tenant-export: sweep: %d archive%s could not "
		    "be deleted (see the audit log)\n", failed,
		    failed == 1 ? "" : "s");
		rc = CMD_EXIT_FAIL;
		goto out;
	}
	if (rc != CMD_EXIT_FAIL)
		rc = CMD_EXIT_OK;
 out:
	json_decref(rep);
	config_free(cfg);
	return rc;
}
