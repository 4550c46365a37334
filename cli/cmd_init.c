/*
 * cmd_init.c: `tenant-export init --config FILE [--user ADMIN]
 * [--admin NAME --admin-key PUBFILE]`.
 *
 * Creates or upgrades the control schema (sql/control/, compiled in),
 * grants the configured monitor role the texp_control_user group, and
 * optionally registers the first admin principal. Running it again is a
 * no-op. The bootstrap admin is the one change not signed by an admin
 * (there is none yet): it needs database administrator rights instead and
 * is audited with "bootstrap" as the acting principal. Once any admin
 * exists, --admin only confirms that NAME is already that admin.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "audit.h"
#include "cmd.h"
#include "config.h"
#include "control.h"
#include "db.h"
#include "err.h"
#include "minisig.h"

static void
init_usage(FILE *f)
{
	fprintf(f,
"Usage: tenant-export init --config FILE [--user ADMIN]\n"
"                          [--admin NAME --admin-key PUBFILE]\n\n"
"Creates or upgrades the control schema texp_control and grants the\n"
"configured [database] user (the monitor) what it needs. Safe to run again.\n\n"
"  --config FILE       configuration file\n"
"  --user ADMIN        connect as ADMIN (a superuser) instead of the\n"
"                      configured user; its password comes from PGPASSFILE,\n"
"                      a service file or peer/certificate authentication\n"
"  --admin NAME        register the first admin principal NAME ...\n"
"  --admin-key PUBFILE ... with this minisign public key\n"
"  --help              this help\n\n"
"Exit status: 0 ok, 1 refused (an admin already exists, or NAME is taken),\n"
"2 usage or operational error.\n");
}

static int
append(PGconn *c, const char *event, json_t *detail)
{
	struct audit_event e = { 0 };
	char err[256], *d = NULL;
	int r;

	if (detail != NULL) {
		d = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(detail);
		if (d == NULL)
			return ERR_NOMEM;
	}
	e.event = event;
	e.principal = "bootstrap";
	e.detail_json = d;
	if ((r = audit_append(c, &e, err, sizeof(err))) != 0)
		fprintf(stderr, "tenant-export: init: %s\n", err);
	free(d);
	return r;
}

/* Registers NAME as the first admin; 0 ok, 1 refused, 2 error. */
static int
bootstrap(PGconn *c, const char *name, const char *keypath)
{
	static const char *const roles[] = { "admin" };
	struct minisig_pubkey *pk = NULL;
	struct control_principal p;
	uint8_t kid[MINISIG_KEYID_LEN];
	char kidhex[17], err[512];
	PGresult *res = NULL;
	int r, has = 0, allowed = 0, rc = CMD_EXIT_USAGE;

	if (!control_name_valid(name)) {
		fprintf(stderr, "tenant-export: init: --admin: invalid "
		    "principal name\n");
		goto out;
	}
	if ((r = minisig_pubkey_load(keypath, &pk)) != 0) {
		fprintf(stderr, "tenant-export: init: --admin-key \"%s\": %s\n",
		    keypath, err_str(r));
		goto out;
	}
	minisig_pubkey_keyid(pk, kid);
	sodium_bin2hex(kidhex, sizeof(kidhex), kid, sizeof(kid));
	res = PQexec(c, "BEGIN");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		goto dberr;
	PQclear(res);
	/* One bootstrap at a time: later ones see the first admin. */
	res = PQexec(c, "LOCK TABLE texp_control.principals IN EXCLUSIVE MODE");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		goto dberr;
	PQclear(res);
	res = NULL;
	r = control_principal_by_name(c, name, &p);
	if (r == 0) {
		if (control_allowed(c, p.id, "admin", NULL, &allowed) != 0)
			goto dberr;
		if (!p.disabled && allowed &&
		    sodium_memcmp(p.key_id, kid, sizeof(kid)) == 0) {
			printf("tenant-export: init: \"%s\" is already an "
			    "admin\n", name);
			rc = CMD_EXIT_OK;
		} else {
			fprintf(stderr, "tenant-export: init: a principal "
			    "named \"%s\" exists with another key or role\n",
			    name);
			rc = CMD_EXIT_FAIL;
		}
		goto out;
	}
	if (r != ERR_NOENT)
		goto dberr;
	if (control_has_admin(c, &has) != 0)
		goto dberr;
	if (has) {
		fprintf(stderr, "tenant-export: init: an admin already exists; "
		    "add principals with \"tenant-export principal add --as "
		    "KEY\"\n");
		rc = CMD_EXIT_FAIL;
		goto out;
	}
	if ((r = control_principal_add(c, name, pk, roles, 1, NULL, err,
	    sizeof(err))) != 0) {
		fprintf(stderr, "tenant-export: init: --admin: %s\n", err);
		rc = r == ERR_EXISTS ? CMD_EXIT_FAIL : CMD_EXIT_USAGE;
		goto out;
	}
	if (append(c, "principal.added", json_pack("{s:s, s:s, s:s, s:s}",
	    "name", name, "key_id", kidhex, "roles", "admin",
	    "via", "bootstrap")) != 0 ||
	    append(c, "role.granted", json_pack("{s:s, s:s, s:s}", "name",
	    name, "role", "admin", "via", "bootstrap")) != 0)
		goto out;
	res = PQexec(c, "COMMIT");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		goto dberr;
	printf("tenant-export: init: registered admin \"%s\" (key %s)\n", name,
	    kidhex);
	rc = CMD_EXIT_OK;
	goto out;
 dberr:
	fprintf(stderr, "tenant-export: init: %s", PQerrorMessage(c));
	rc = CMD_EXIT_USAGE;
 out:
	PQclear(res);
	if (PQtransactionStatus(c) != PQTRANS_IDLE)
		PQclear(PQexec(c, "ROLLBACK"));
	minisig_pubkey_free(pk);
	return rc;
}

int
cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "user", required_argument, NULL, 'U' },
		{ "admin", required_argument, NULL, 'a' },
		{ "admin-key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct config *cfg = NULL;
	const char *path = NULL, *user = NULL, *admin = NULL, *adminkey = NULL;
	const char *monitor;
	char err[512];
	PGconn *c = NULL;
	int ch, r, applied = 0, rc = CMD_EXIT_USAGE;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'U': user = optarg; break;
		case 'a': admin = optarg; break;
		case 'k': adminkey = optarg; break;
		case 'h': init_usage(stdout); return CMD_EXIT_OK;
		default: init_usage(stderr); return CMD_EXIT_USAGE;
		}
	}
	if (path == NULL || optind != argc || (admin == NULL) !=
	    (adminkey == NULL)) {
		init_usage(stderr);
		return CMD_EXIT_USAGE;
	}
	if (sodium_init() < 0)
		return CMD_EXIT_USAGE;
	if ((r = config_load(path, &cfg, err, sizeof(err))) != 0) {
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
	if (applied > 0 && append(c, "control.migrated",
	    json_pack("{s:i, s:i}", "applied", applied, "version",
	    CONTROL_SCHEMA_VERSION)) != 0)
		goto out;
	if (applied > 0)
		printf("tenant-export: init: control schema at version %d "
		    "(%d migration%s applied) in database \"%s\"\n",
		    CONTROL_SCHEMA_VERSION, applied, applied == 1 ? "" : "s",
		    PQdb(c));
	else
		printf("tenant-export: init: control schema already at "
		    "version %d\n", CONTROL_SCHEMA_VERSION);
	if (admin != NULL) {
		rc = bootstrap(c, admin, adminkey);
		goto out;
	}
	rc = CMD_EXIT_OK;
 out:
	if (c != NULL)
		PQfinish(c);
	config_free(cfg);
	return rc;
}
