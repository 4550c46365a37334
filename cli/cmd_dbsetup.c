/*
 * cmd_dbsetup.c: `tenant-export db-setup --config FILE [--apply]`.
 *
 * Without --apply it prints the SQL (review it, or feed it to psql); with
 * --apply it runs it in one transaction. The SQL needs a superuser or a
 * CREATEROLE role that owns the application's tables, so --user picks the
 * administrator's login instead of the configured monitor.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "cli.h"
#include "config.h"
#include "db.h"
#include "err.h"
#include "text.h"

static void
dbsetup_usage(FILE *f, const char *name)
{
	(void)name;
	fprintf(f, "usage: tenant-export db-setup --config FILE [--apply] "
	    "[--user ROLE]\n\n"
	    "Prints the SQL that creates the export roles, the texp_guard "
	    "schema, RLS\npolicies and grants for the tables in FILE.\n\n"
	    "  -c, --config FILE  configuration file\n"
	    "  -a, --apply        run the SQL (one transaction) instead of "
	    "printing it\n"
	    "  -U, --user ROLE    connect as ROLE (an administrator) instead "
	    "of the\n"
	    "                     configured user; its password comes from "
	    "PGPASSFILE,\n"
	    "                     a service file, or peer/certificate "
	    "authentication\n"
	    "  -h, --help         this help\n"
	    "  -V, --version      the version and commit\n\n"
	    "Exit status: 0 ok, 1 the database does not meet a requirement "
	    "(message\nnames it), 2 usage or operational error.\n");
}

/* Our own RAISE NOTICEs are instructions for the operator ("created
 * login role ..."). They are kept until the script has committed: a
 * script that fails rolls everything back, and then they would be
 * false. */
struct notices {
	char text[4096];
	size_t len;
};

static void
dbsetup_notice(void *arg, const char *msg)
{
	struct notices *n = arg;
	char safe[1024];
	size_t len = strlen(msg);
	int k;

	if (strstr(msg, "texp:") == NULL || n->len >= sizeof(n->text))
		return;
	while (len > 0 && msg[len - 1] == '\n')
		len--;
	text_escape(safe, sizeof(safe), msg, len);
	k = snprintf(n->text + n->len, sizeof(n->text) - n->len,
	    "tenant-export: db-setup: %s\n", safe);
	if (k > 0)
		n->len += (size_t)k;
}

static const struct cli_cmd dbsetup_cmd = { "db-setup", dbsetup_usage };

int
cmd_dbsetup(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "apply", no_argument, NULL, 'a' },
		{ "user", required_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct notices notes;
	struct config *cfg = NULL;
	const char *path = NULL, *user = NULL;
	char *script = NULL, err[512];
	PGconn *conn = NULL;
	int ch, apply = 0, r, retried = 0, rc = CMD_EXIT_USAGE;

	memset(&notes, 0, sizeof(notes));
	while ((ch = cli_getopt(argc, argv, "c:aU:", opts, &dbsetup_cmd)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'a':
			apply = 1;
			break;
		case 'U':
			user = optarg;
			break;
		default:
			return CMD_EXIT_USAGE;
		}
	}
	if (path == NULL)
		return cli_usage_error("db-setup", "--config FILE is required");
	if (optind != argc)
		return cli_usage_error("db-setup", "unexpected argument '%s'",
		    argv[optind]);
	if ((r = config_load(path, &cfg, err, sizeof(err))) != 0) {
		fprintf(stderr, "tenant-export: db-setup: config: %s\n", err);
		goto out;
	}
	if (config_db_param(cfg, "user") == NULL) {
		fprintf(stderr, "tenant-export: db-setup: config \"%s\": "
		    "[database] user (the monitor's role) is required\n", path);
		goto out;
	}
	if ((r = db_setup_script(cfg, &script)) != 0) {
		fprintf(stderr, "tenant-export: db-setup: %s\n", err_str(r));
		goto out;
	}
	if (!apply) {
		fputs(script, stdout);
		rc = fflush(stdout) == 0 ? CMD_EXIT_OK : CMD_EXIT_USAGE;
		goto out;
	}
	if ((r = db_connect(cfg, user, &conn, err, sizeof(err))) != 0) {
		fprintf(stderr, "tenant-export: db-setup: %s\n", err);
		goto out;
	}
	PQsetNoticeProcessor(conn, dbsetup_notice, &notes);
	r = db_exec_script(conn, script, &retried, err, sizeof(err));
	if (retried > 0)
		fprintf(stderr, "tenant-export: db-setup: another session "
		    "deadlocked with the script (autovacuum, or the "
		    "application altering the same tables); the server rolled "
		    "it back and it was run again (%d time%s)\n", retried,
		    retried == 1 ? "" : "s");
	if (r != 0) {
		fprintf(stderr, "tenant-export: %s\ntenant-export: db-setup: "
		    "nothing was applied (the script was rolled back)\n", err);
		/* Our own checks (nullable tenant column, missing column)
		 * raise with a "texp:" message: the database, not the run,
		 * is at fault. */
		rc = strstr(err, "texp:") != NULL ? CMD_EXIT_FAIL :
		    CMD_EXIT_USAGE;
		goto out;
	}
	fputs(notes.text, stderr);
	printf("tenant-export: db-setup: applied to database \"%s\"\n",
	    PQdb(conn));
	rc = CMD_EXIT_OK;
 out:
	if (conn != NULL)
		PQfinish(conn);
	free(script);
	config_free(cfg);
	return rc;
}
