/*
 * cmd_init.c: `tenant-export init --config FILE [--user ADMIN]`.
 *
 * Creates or upgrades the control schema (sql/control/, compiled in),
 * grants the configured monitor role the texp_control_user group, makes
 * the service key if it does not exist, and records the migration in the
 * signed log. Running it again is a no-op. There is no first admin to
 * register: the root key pinned in [service] root_key signs the first
 * admin actions (docs/CONTROL.md).
 */
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "audit.h"
#include "cli.h"
#include "config.h"
#include "control.h"
#include "db.h"
#include "err.h"
#include "ledger.h"
#include "minisig.h"

static void
init_usage(FILE *f, const char *name)
{
	(void)name;
	fprintf(f,
"usage: tenant-export init --config FILE [--user ADMIN]\n\n"
"Creates or upgrades the control schema texp_control, grants the\n"
"configured [database] user (the monitor) what it needs, and creates the\n"
"service key ([service] service_key) if it does not exist. Safe to run\n"
"again. The root key ([service] root_key) then signs the first admin\n"
"actions.\n\n"
"  --config FILE       configuration file\n"
"  --user ADMIN        connect as ADMIN (a superuser) instead of the\n"
"                      configured user; its password comes from PGPASSFILE,\n"
"                      a service file or peer/certificate authentication\n"
"  -h, --help          this help\n"
"  -V, --version       the version and commit\n\n"
"Exit status: 0 ok, 2 usage or operational error.\n");
}

static const struct cli_cmd init_cmd = { "init", init_usage };

/*
 * The service key signs every row of the log; init makes it when the
 * file named by [service] service_key does not exist yet (unencrypted,
 * mode 0600, with PATH.pub beside it).
 */
static int
service_key(const struct config *cfg, struct minisig_seckey **sk)
{
	const char *path = config_service(cfg)->service_key;
	struct minisig_pubkey *pk = NULL;
	char *pub = NULL;
	int r;

	if ((r = minisig_seckey_load(path, NULL, 0, sk)) == 0)
		return 0;
	if (r != ERR_NOENT && r != ERR_IO) {
		fprintf(stderr, "tenant-export: init: [service] service_key "
		    "\"%s\": %s\n", path, err_str(r));
		return r;
	}
	if (access(path, F_OK) == 0) {
		fprintf(stderr, "tenant-export: init: [service] service_key "
		    "\"%s\" is unreadable\n", path);
		return ERR_IO;
	}
	if (asprintf(&pub, "%s.pub", path) < 0)
		return ERR_NOMEM;
	if ((r = minisig_keygen(NULL, 0, sk, &pk)) != 0 ||
	    (r = minisig_seckey_write(*sk, path, NULL, 0)) != 0 ||
	    (r = minisig_pubkey_write(pk, pub)) != 0)
		fprintf(stderr, "tenant-export: init: cannot create the service "
		    "key \"%s\": %s\n", path, err_str(r));
	else
		printf("tenant-export: init: created the service key \"%s\" "
		    "(and \"%s\")\n", path, pub);
	minisig_pubkey_free(pk);
	free(pub);
	return r;
}

/* Records the migration, signed by the service key, and pins the head. */
static int
record(PGconn *c, const struct config *cfg, int applied)
{
	const char *state = config_service(cfg)->state_dir;
	struct minisig_seckey *sk = NULL;
	struct audit_event e = { 0 };
	char cid[CONTROL_ID_MAX + 1], err[512], head[4096], *d = NULL;
	json_t *j = NULL;
	uint8_t hash[32];
	int64_t seq;
	int r;

	if ((r = service_key(cfg, &sk)) != 0)
		goto out;
	if ((r = control_id(c, cid, err, sizeof(err))) != 0) {
		fprintf(stderr, "tenant-export: init: %s\n", err);
		goto out;
	}
	j = json_pack("{s:i, s:i}", "applied", applied, "version",
	    CONTROL_SCHEMA_VERSION);
	d = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (d == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	audit_use_signer(sk, cid);
	e.event = "control.migrated";
	e.detail_json = d;
	if ((r = audit_append(c, &e, err, sizeof(err))) != 0) {
		fprintf(stderr, "tenant-export: init: %s\n", err);
		goto out;
	}
	audit_last(&seq, hash);
	snprintf(head, sizeof(head), "%s/log-head", state ? state : "");
	if (state != NULL && (r = ledger_pin_head(head, (uint64_t)seq,
	    hash, cid)) != 0)
		fprintf(stderr, "tenant-export: init: cannot pin the log head "
		    "in \"%s\"\n", head);
 out:
	audit_use_signer(NULL, NULL);
	minisig_seckey_free(sk);
	free(d);
	return r;
}

int
cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "user", required_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct config *cfg = NULL;
	const char *path = NULL, *user = NULL;
	const char *monitor;
	char err[512];
	PGconn *c = NULL;
	int ch, r, applied = 0, rc = CMD_EXIT_USAGE;

	optind = 1;
	while ((ch = cli_getopt(argc, argv, NULL, opts, &init_cmd)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'U': user = optarg; break;
		default: return CMD_EXIT_USAGE;
		}
	}
	if (path == NULL)
		return cli_usage_error("init", "--config FILE is required");
	if (optind != argc)
		return cli_usage_error("init", "unexpected argument '%s'",
		    argv[optind]);
	if (sodium_init() < 0)
		return CMD_EXIT_USAGE;
	if ((r = config_load(path, &cfg, err, sizeof(err))) != 0 ||
	    (r = config_check_service(cfg, err, sizeof(err))) != 0) {
		fprintf(stderr, "tenant-export: init: config: %s\n", err);
		goto out;
	}
	if ((monitor = config_db_param(cfg, "user")) == NULL) {
		fprintf(stderr, "tenant-export: init: config \"%s\": [database] "
		    "user (the monitor's role) is required\n", path);
		goto out;
	}
	if ((r = db_connect(cfg, user, &c, err, sizeof(err))) != 0) {
		fprintf(stderr, "tenant-export: init: %s\n", err);
		goto out;
	}
	if ((r = control_migrate_grant(c, monitor, &applied, err,
	    sizeof(err))) != 0) {
		fprintf(stderr, "tenant-export: init: %s\n", err);
		goto out;
	}
	if (applied > 0 && record(c, cfg, applied) != 0)
		goto out;
	if (applied > 0)
		printf("tenant-export: init: control schema at version %d "
		    "(%d migration%s applied) in database \"%s\"\n",
		    CONTROL_SCHEMA_VERSION, applied, applied == 1 ? "" : "s",
		    PQdb(c));
	else
		printf("tenant-export: init: control schema already at "
		    "version %d\n", CONTROL_SCHEMA_VERSION);
	rc = CMD_EXIT_OK;
 out:
	if (c != NULL)
		PQfinish(c);
	config_free(cfg);
	return rc;
}
