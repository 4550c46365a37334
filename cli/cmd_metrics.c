/*
 * tenant-export metrics: the control tables and the audit log as
 * Prometheus metrics (ops/metrics.h), on stdout or written atomically to a
 * file for node_exporter's textfile collector.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "cli.h"
#include "cmd_jobs.h"
#include "config.h"
#include "err.h"
#include "metrics.h"
#include "outfile.h"

#define METRICS_MAX	(64u << 20)

static void
metrics_usage(FILE *f, const char *cmd)
{
	(void)cmd;
	fprintf(f,
"usage: tenant-export metrics --config FILE [--out FILE]\n"
"\n"
"Writes the Prometheus text format: jobs by state, completed and failed\n"
"exports, refusals, rows and bytes exported and the last success per\n"
"tenant, export durations, alerts by rule, and whether the audit log's\n"
"hash chain verifies. With --out the file is replaced atomically (for\n"
"node_exporter's textfile collector: --out DIR/tenant_export.prom);\n"
"otherwise it goes to stdout.\n"
"\n"
"Exit status: 0 written; 2 usage or operational error.\n");
}

static const struct cli_cmd metrics_cmd = { "metrics", metrics_usage };

int
cmd_metrics(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct config *cfg = NULL;
	struct buf *b = NULL;
	const char *config = NULL, *out = NULL;
	PGconn *c = NULL;
	char err[512] = "";
	int ch, r, rc = CMD_EXIT_USAGE;

	optind = 1;
	while ((ch = cli_getopt(argc, argv, NULL, opts, &metrics_cmd)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'o': out = optarg; break;
		default: goto usage;
		}
	}
	if (config == NULL)
		return cli_usage_error("metrics", "--config FILE is required");
	if (optind != argc)
		return cli_usage_error("metrics", "unexpected argument '%s'",
		    argv[optind]);
	if (cmd_config_connect("metrics", config, &cfg, &c) != 0)
		goto out;
	if ((b = buf_new(METRICS_MAX)) == NULL)
		goto out;
	if (ops_metrics_write(c, b, err, sizeof(err)) != 0) {
		fprintf(stderr, "tenant-export: %s\n", err);
		goto out;
	}
	if (out != NULL) {
		if ((r = ops_file_replace(out, buf_ptr(b), buf_len(b),
		    0644)) != 0) {
			fprintf(stderr, "tenant-export: metrics: \"%s\": %s\n",
			    out, r == ERR_IO ? strerror(errno) : err_str(r));
			goto out;
		}
	} else if (fwrite(buf_ptr(b), 1, buf_len(b), stdout) != buf_len(b) ||
	    fflush(stdout) != 0) {
		fprintf(stderr, "tenant-export: metrics: cannot write\n");
		goto out;
	}
	rc = CMD_EXIT_OK;
	goto out;
 usage:
	rc = CMD_EXIT_USAGE;
 out:
	buf_free(b);
	if (c != NULL)
		PQfinish(c);
	config_free(cfg);
	return rc;
}
