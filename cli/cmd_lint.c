/*
 * cmd_lint.c: `tenant-export lint --config FILE [--json]`.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "cli.h"
#include "config.h"
#include "db.h"
#include "err.h"
#include "export.h"
#include "lint.h"
#include "signkey.h"

static void
lint_usage(FILE *f, const char *name)
{
	(void)name;
	fprintf(f, "usage: tenant-export lint --config FILE [--json] "
	    "[--user ROLE]\n\n"
	    "Checks the live database against FILE: every table classified, "
	    "RLS enabled\nand forced with the export policy, tenant columns "
	    "NOT NULL, secret-looking\ncolumns excluded, the export group "
	    "SELECT-only, and the leaks RLS does not\nstop. Each finding names "
	    "the object and the fix.\n\n"
	    "  -c, --config FILE  configuration file\n"
	    "  -j, --json         print findings as JSON\n"
	    "  -U, --user ROLE    connect as ROLE instead of the configured "
	    "user\n"
	    "  -h, --help         this help\n"
	    "  -V, --version      the version and commit\n\n"
	    "Exit status: 0 no finding (notes allowed), 1 at least one finding, "
	    "2 usage or\noperational error.\n");
}

/*
 * What the service reads besides the database, checked the way an export
 * uses it: the archive signing key loads and unlocks, the outbox takes
 * new files. Findings are added to rep; returns how many.
 */
static int
lint_service_files(const struct config *cfg, struct lint_report *rep)
{
	struct signkey *key = NULL;
	char err[512] = "";
	int n = 0;

	if (export_check_outbox(cfg, err, sizeof(err)) != 0) {
		lint_report_add(rep, "outbox", config_export(cfg)->outbox != NULL ?
		    config_export(cfg)->outbox : "[export] outbox", err,
		    "create the directory, owned by the service's account, and "
		    "name it in [export] outbox");
		n++;
	}
	if (signkey_load(cfg, &key, err, sizeof(err)) != 0) {
		lint_report_add(rep, "signing_key", config_export(cfg)->signing_key
		    != NULL ? config_export(cfg)->signing_key :
		    "[export] signing_key", err, "make one with `tenant-export "
		    "keygen --out PREFIX --unencrypted` as the service's "
		    "account (or name its passphrase file in "
		    "signing_passphrase_file)");
		n++;
	}
	signkey_free(key);
	return n;
}

static int
print_json(const struct lint_report *rep, int ok)
{
	const struct lint_finding *f;
	json_t *root, *arr;
	size_t i;
	int r = -1;

	root = json_object();
	arr = json_array();
	if (root == NULL || arr == NULL)
		goto out;
	for (i = 0; (f = lint_report_get(rep, i)) != NULL; i++)
		if (json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, "
		    "s:b}", "check", f->check, "object", f->object,
		    "message", f->message, "fix", f->fix, "info", f->info)) != 0)
			goto out;
	if (json_object_set_new(root, "ok", json_boolean(ok)) != 0 ||
	    json_object_set_new(root, "count",
	    json_integer((json_int_t)lint_report_blocking(rep))) != 0 ||
	    json_object_set_new(root, "notes",
	    json_integer((json_int_t)(lint_report_count(rep) -
	    lint_report_blocking(rep)))) != 0 ||
	    json_object_set(root, "findings", arr) != 0)
		goto out;
	if (json_dumpf(root, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII) != 0)
		goto out;
	putchar('\n');
	r = 0;
 out:
	json_decref(arr);
	json_decref(root);
	return r;
}

static const struct cli_cmd lint_cmd = { "lint", lint_usage };

int
cmd_lint(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "user", required_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct lint_finding *f;
	struct lint_report *rep = NULL;
	struct config *cfg = NULL;
	const char *path = NULL, *user = NULL;
	char err[512];
	PGconn *conn = NULL;
	size_t i;
	int ch, json = 0, r, rc = CMD_EXIT_USAGE;

	while ((ch = cli_getopt(argc, argv, "c:jU:", opts, &lint_cmd)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'U':
			user = optarg;
			break;
		default:
			return CMD_EXIT_USAGE;
		}
	}
	if (path == NULL)
		return cli_usage_error("lint", "--config FILE is required");
	if (optind != argc)
		return cli_usage_error("lint", "unexpected argument '%s'",
		    argv[optind]);
	if ((r = config_load(path, &cfg, err, sizeof(err))) != 0) {
		fprintf(stderr, "tenant-export: lint: config: %s\n", err);
		goto out;
	}
	if ((r = db_connect(cfg, user, &conn, err, sizeof(err))) != 0) {
		fprintf(stderr, "tenant-export: lint: %s\n", err);
		goto out;
	}
	r = lint_run(conn, cfg, &rep);
	if ((r == 0 || r == ERR_POLICY) && lint_service_files(cfg, rep) != 0)
		r = ERR_POLICY;
	if (r != 0 && r != ERR_POLICY) {
		for (i = 0; (f = lint_report_get(rep, i)) != NULL; i++)
			if (strcmp(f->check, "lint_error") == 0)
				fprintf(stderr, "tenant-export: lint: %s: %s\n",
				    f->object, f->message);
		fprintf(stderr, "tenant-export: lint: %s\n", err_str(r));
		goto out;
	}
	if (json) {
		if (print_json(rep, r == 0) != 0) {
			fprintf(stderr, "tenant-export: lint: cannot write "
			    "JSON\n");
			goto out;
		}
	} else {
		size_t nb = lint_report_blocking(rep);
		size_t nn = lint_report_count(rep) - nb;

		for (i = 0; (f = lint_report_get(rep, i)) != NULL; i++)
			printf("%s %s: %s: %s\n     fix: %s\n", f->info ?
			    "NOTE" : "FAIL", f->check, f->object, f->message,
			    f->fix);
		if (r == 0)
			printf("lint: ok, %zu configured tables checked",
			    config_table_count(cfg));
		else
			printf("lint: %zu finding%s", nb, nb == 1 ? "" : "s");
		if (nn > 0)
			printf(" (%zu note%s for the DBA: hazards the export "
			    "group cannot reach)", nn, nn == 1 ? "" : "s");
		putchar('\n');
	}
	rc = r == 0 ? CMD_EXIT_OK : CMD_EXIT_FAIL;
 out:
	if (conn != NULL)
		PQfinish(conn);
	lint_report_free(rep);
	config_free(cfg);
	return rc;
}
