/*
 * tenant-export serve: the service principals talk to (service/server.h).
 * Run it under its own account (systemd: ci/templates/tenant-export.service):
 * it alone reads the configuration, the monitor's password, the keys and
 * the outbox.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "config.h"
#include "ctlchild.h"
#include "err.h"
#include "export.h"
#include "server.h"
#include "signkey.h"

/* A control-plane step that decides nothing: the keys load, the database
 * answers, the signed log replays. */
static int
ctl_noop(struct jobs_ctx *k, void *ctx, struct jobs_outcome *o,
    json_t *reply)
{
	(void)k;
	(void)ctx;
	(void)reply;
	return o->r = 0;
}

/*
 * Everything the service needs, checked before it listens, so that a
 * mistake shows at start and not in the middle of someone's export: the
 * configuration, the outbox, the archive signing key (unlocked with
 * signing_passphrase_file), the root and service keys, the control
 * database and its signed log. A log that does not verify is reported
 * but does not stop the service: it refuses every command until an
 * operator has looked (docs/CONTROL.md).
 */
static int
serve_preflight(const struct config *cfg)
{
	struct signkey *key = NULL;
	struct jobs_outcome o;
	char err[512] = "";

	if (export_check_outbox(cfg, err, sizeof(err)) != 0 ||
	    signkey_load(cfg, &key, err, sizeof(err)) != 0) {
		fprintf(stderr, "tenant-export: serve: %s\n", err);
		return -1;
	}
	fprintf(stderr, "tenant-export: serve: signing key %s loaded; outbox "
	    "\"%s\" writable\n", signkey_id(key), config_export(cfg)->outbox);
	signkey_free(key);
	memset(&o, 0, sizeof(o));
	svc_in_child(cfg, NULL, "serve", ctl_noop, NULL, &o, NULL);
	if (o.r == ERR_TAMPER) {
		fprintf(stderr, "tenant-export: serve: WARNING: %s; every "
		    "command will be refused until `tenant-export audit "
		    "verify` has been run and the damage looked at\n", o.msg);
		return 0;
	}
	if (o.r != 0) {
		fprintf(stderr, "tenant-export: serve: %s\n", o.msg[0] ? o.msg :
		    err_str(o.r));
		return -1;
	}
	return 0;
}

static void
serve_usage(FILE *f, const char *name)
{
	(void)name;
	fprintf(f,
"usage: tenant-export serve --config FILE [--socket PATH] [--mode OCTAL]\n"
"                           [--max-clients N]\n"
"\n"
"Checks everything it needs first (configuration, outbox, the archive\n"
"signing key unlocked with signing_passphrase_file, root and service keys,\n"
"the control database and its signed log) and stops if anything is\n"
"wrong. Then serves principals' requests on a unix socket until SIGTERM. Each\n"
"connection is one signed command (request, approve, run, status, list,\n"
"cancel, fetch, or an admin action); what the caller may do comes only\n"
"from the action it signed, checked against the signed control log.\n"
"\n"
"  --config FILE       the service's configuration ([service] root_key and\n"
"                      service_key are needed)\n"
"  --socket PATH       where to listen (default: [service] socket, else\n"
"                      " SVC_SOCKET_DEFAULT ")\n"
"  --mode OCTAL        the socket's mode (default 0666: any local account\n"
"                      may ask; its signature decides)\n"
"  --max-clients N     connections served at once (default 16)\n"
"  --stdio             serve one connection on standard input (what\n"
"                      the commands run with --config start)\n"
"\n"
"Exit status: 0 stopped by a signal; 2 usage or operational error.\n");
}

static const struct cli_cmd serve_cmd = { "serve", serve_usage };

int
cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 'S' },
		{ "mode", required_argument, NULL, 'm' },
		{ "max-clients", required_argument, NULL, 'n' },
		{ "stdio", no_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct config *cfg = NULL;
	const char *path = NULL, *sock = NULL;
	char err[512], *end;
	unsigned long mode = 0666, maxc = 16;
	int ch, stdio = 0, rc = CMD_EXIT_USAGE;

	optind = 1;
	while ((ch = cli_getopt(argc, argv, NULL, opts, &serve_cmd)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'S': sock = optarg; break;
		case 'm':
			mode = strtoul(optarg, &end, 8);
			if (*end != '\0' || mode > 0777)
				return cli_usage_error("serve", "--mode: expected "
				    "an octal file mode such as 0660");
			break;
		case 'n':
			maxc = strtoul(optarg, &end, 10);
			if (*end != '\0' || maxc < 1 || maxc > 1024)
				return cli_usage_error("serve", "--max-clients: "
				    "expected 1 to 1024");
			break;
		case 'i': stdio = 1; break;
		default: return CMD_EXIT_USAGE;
		}
	}
	if (path == NULL)
		return cli_usage_error("serve", "--config FILE is required");
	if (optind != argc)
		return cli_usage_error("serve", "unexpected argument '%s'",
		    argv[optind]);
	if (sodium_init() < 0)
		return CMD_EXIT_USAGE;
	if (config_load(path, &cfg, err, sizeof(err)) != 0 ||
	    config_check_service(cfg, err, sizeof(err)) != 0 ||
	    config_check_export(cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "tenant-export: serve: %s\n", err);
		goto out;
	}
	if (stdio) {
		rc = svc_serve_stdio(cfg);
		goto out;
	}
	if (serve_preflight(cfg) != 0)
		goto out;
	if (sock == NULL)
		sock = config_service(cfg)->socket != NULL ?
		    config_service(cfg)->socket : SVC_SOCKET_DEFAULT;
	rc = svc_serve(cfg, sock, (mode_t)mode, (int)maxc);
 out:
	config_free(cfg);
	return rc;
}
