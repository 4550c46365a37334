/*
 * tenant-export report --html FILE: the support page of recent exports
 * per tenant (ops/report.h), written atomically.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "cli.h"
#include "cmd_jobs.h"
#include "config.h"
#include "err.h"
#include "outfile.h"
#include "support.h"

#define REPORT_MAX	(256u << 20)

static void
report_usage(FILE *f, const char *cmd)
{
	(void)cmd;
	fprintf(f,
"usage: tenant-export report --config FILE --html FILE [--tenant ID]\n"
"                            [--days N]\n"
"\n"
"Writes one self-contained HTML page (no scripts, no external files;\n"
"readable on a laptop, printable) showing, per tenant, the exports of the\n"
"last N days (default 30): job reference, requested and approved by,\n"
"scope, state, size, downloads (by whom, when), how it ended, failures\n"
"and refusals with their reason, and the alerts of the period. The file\n"
"is replaced atomically (mode 0640).\n"
"\n"
"Exit status: 0 written; 2 usage or operational error (also: no such\n"
"tenant).\n");
}

static const struct cli_cmd report_cmd = { "report", report_usage };

int
cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "html", required_argument, NULL, 'o' },
		{ "tenant", required_argument, NULL, 't' },
		{ "days", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ops_report_opts ro = { NULL, 30 };
	struct config *cfg = NULL;
	struct buf *b = NULL;
	const char *config = NULL, *html = NULL;
	PGconn *c = NULL;
	char err[512] = "", *end;
	unsigned long days;
	int ch, r, rc = CMD_EXIT_USAGE;

	optind = 1;
	while ((ch = cli_getopt(argc, argv, NULL, opts, &report_cmd)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'o': html = optarg; break;
		case 't': ro.tenant = optarg; break;
		case 'd':
			errno = 0;
			days = strtoul(optarg, &end, 10);
			if (*optarg < '1' || *optarg > '9' || *end != '\0' ||
			    errno != 0 || days > OPS_REPORT_MAX_DAYS) {
				fprintf(stderr, "tenant-export: report: --days: "
				    "expected 1..%d\n", OPS_REPORT_MAX_DAYS);
				return CMD_EXIT_USAGE;
			}
			ro.days = (unsigned)days;
			break;
		default: goto usage;
		}
	}
	if (config == NULL)
		return cli_usage_error("report", "--config FILE is required");
	if (html == NULL)
		return cli_usage_error("report", "--html FILE is required");
	if (optind != argc)
		return cli_usage_error("report", "unexpected argument '%s'",
		    argv[optind]);
	if (cmd_config_connect("report", config, &cfg, &c) != 0)
		goto out;
	if ((b = buf_new(REPORT_MAX)) == NULL)
		goto out;
	if ((r = ops_report_html(c, &ro, b, err, sizeof(err))) != 0) {
		fprintf(stderr, "tenant-export: %s\n", err[0] != '\0' ? err :
		    err_str(r));
		goto out;
	}
	if ((r = ops_file_replace(html, buf_ptr(b), buf_len(b), 0640)) != 0) {
		fprintf(stderr, "tenant-export: report: \"%s\": %s\n", html,
		    r == ERR_IO ? strerror(errno) : err_str(r));
		goto out;
	}
	printf("tenant-export: report: written to \"%s\"\n", html);
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
