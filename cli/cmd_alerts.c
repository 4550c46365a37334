/*
 * tenant-export alerts: evaluates the alert rules over the audit log and
 * prints each alert not reported before (ops/alerts.h). For cron: silent
 * when there is nothing new.
 */
#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "alerts.h"
#include "cli.h"
#include "cmd_jobs.h"
#include "cmd_ops.h"
#include "config.h"
#include "err.h"

static void
alerts_usage(FILE *f, const char *cmd)
{
	(void)cmd;
	fprintf(f,
"usage: tenant-export alerts --config FILE [--since T] [--json]\n"
"\n"
"Verifies the audit log's hash chain, then evaluates the alert rules of\n"
"the [alerts] section over the rows added since the last run: bursts of\n"
"export requests, repeated refusals and failures, a tenant a principal\n"
"does not usually export, downloads near the limit or after hours, jobs\n"
"held for approval too long. Each alert is printed once, with its rule,\n"
"principal, tenant, job reference and the audit rows that triggered it;\n"
"the control schema remembers what was reported. Meant for cron.\n"
"\n"
"  --since T   ignore rows before T (2026-01-31, 2026-01-31T08:00:00Z,\n"
"              or a time ago: 24h, 7d); without it, every row after the\n"
"              last run (the whole log on the first run)\n"
"  --json      one JSON object per alert and line\n"
"\n"
"Exit status: 0 no new alert; 1 new alerts printed; 2 usage or\n"
"operational error.\n");
}

static int
print_alert(const struct ops_alert *a, int json)
{
	json_t *o, *rows;
	char at[32], *line;
	size_t i;
	int r;

	cmd_iso_time(a->at / 1000000, at, sizeof(at));
	if (!json) {
		printf("tenant-export: alert: %s", a->rule);
		cmd_put_field(stdout, "principal", a->principal);
		cmd_put_field(stdout, "tenant", a->tenant);
		cmd_put_field(stdout, "job", a->job);
		printf(" at=%s rows=", at);
		for (i = 0; i < a->nseqs; i++)
			printf("%s%" PRId64, i > 0 ? "," : "", a->seqs[i]);
		fputs(": ", stdout);
		cmd_put_text(stdout, a->summary);
		putchar('\n');
		return 0;
	}
	if ((o = json_object()) == NULL || (rows = json_array()) == NULL) {
		json_decref(o);
		return -1;
	}
	for (i = 0; i < a->nseqs; i++)
		json_array_append_new(rows, json_integer(a->seqs[i]));
	json_object_set_new(o, "rule", json_string(a->rule));
	json_object_set_new(o, "principal", a->principal != NULL ?
	    json_string(a->principal) : json_null());
	json_object_set_new(o, "tenant", a->tenant != NULL ?
	    json_string(a->tenant) : json_null());
	json_object_set_new(o, "job", a->job != NULL ? json_string(a->job) :
	    json_null());
	json_object_set_new(o, "at", json_string(at));
	json_object_set_new(o, "rows", rows);
	json_object_set_new(o, "summary", json_string(a->summary));
	line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	if (line == NULL)
		return -1;
	r = puts(line) < 0 ? -1 : 0;
	free(line);
	return r;
}

static const struct cli_cmd alerts_cmd = { "alerts", alerts_usage };

int
cmd_alerts(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "since", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ops_alerts fresh = { 0 };
	struct config *cfg = NULL;
	const char *config = NULL, *since = NULL;
	PGconn *c = NULL;
	char err[512] = "";
	int64_t since_us = 0;
	int ch, json = 0, ok = 1, rc = CMD_EXIT_USAGE;
	size_t i;

	optind = 1;
	while ((ch = cli_getopt(argc, argv, NULL, opts, &alerts_cmd)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 's': since = optarg; break;
		case 'j': json = 1; break;
		default: goto usage;
		}
	}
	if (config == NULL)
		return cli_usage_error("alerts", "--config FILE is required");
	if (optind != argc)
		return cli_usage_error("alerts", "unexpected argument '%s'",
		    argv[optind]);
	if (since != NULL && cmd_parse_since(since, &since_us) != 0) {
		fprintf(stderr, "tenant-export: alerts: --since: \"%s\" is not "
		    "a date (2026-01-31, 2026-01-31T08:00:00Z) or a time ago "
		    "(24h, 7d)\n", since);
		goto out;
	}
	if (cmd_config_connect("alerts", config, &cfg, &c) != 0)
		goto out;
	if (ops_alerts_begin(c, cfg, since_us, &fresh, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "tenant-export: %s\n", err);
		goto out;
	}
	/* Reported before the commit: an alert that could not be printed
	 * is raised again by the next run rather than lost. */
	for (i = 0; i < fresh.n && ok; i++)
		ok = print_alert(&fresh.v[i], json) == 0;
	ok = ok && fflush(stdout) == 0;
	if (ops_alerts_end(c, ok, err, sizeof(err)) != 0) {
		fprintf(stderr, "tenant-export: %s\n", err);
		goto out;
	}
	if (!ok) {
		fprintf(stderr, "tenant-export: alerts: cannot write the "
		    "alerts; they will be raised again\n");
		goto out;
	}
	rc = fresh.n > 0 ? CMD_EXIT_FAIL : CMD_EXIT_OK;
	goto out;
 usage:
	rc = CMD_EXIT_USAGE;
 out:
	ops_alerts_clear(&fresh);
	if (c != NULL)
		PQfinish(c);
	config_free(cfg);
	return rc;
}
