/*
 * cmd_admin.c: managing principals, roles, tenants and assignments.
 *
 *   tenant-export principal add NAME --pubkey FILE --role ROLE[,ROLE]
 *                                    [--person ID]
 *   tenant-export principal grant NAME --role ROLE[,ROLE]
 *   tenant-export principal disable NAME
 *   tenant-export tenant add TENANT --name "Display Name" [--recipient R]...
 *   tenant-export tenant recipients TENANT --recipient R [--recipient R]...
 *   tenant-export assign NAME TENANT
 *   tenant-export unassign NAME TENANT
 *   tenant-export pause (TENANT | --all)
 *   tenant-export resume (TENANT | --all)
 *       each with --as KEY [--passphrase-file FILE] (--socket PATH |
 *       --config FILE) [--sign-only OUT [--control-id ID]]
 *   tenant-export submit ACTION   (ACTION + ACTION.minisig)
 *
 * Every change is an action (control/admin.h) signed here by the root key
 * or an admin's key and decided by the service.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "action.h"
#include "admin.h"
#include "age.h"
#include "buf.h"
#include "client.h"
#include "cli.h"
#include "cmd_jobs.h"
#include "control.h"
#include "err.h"
#include "file.h"
#include "minisig.h"

#define MAX_RCPT	64

struct admin_opts {
	struct cmd_common cc;
	const char *sign_only;
	const char *control_id;
	const char *pubkey;
	const char *role;
	const char *name;
	const char *person;
	char *recipients;		/* comma list of --recipient */
	int all;			/* --all (pause, resume) */
	uint64_t when;			/* test hook: signing time, 0 = now */
};

/* The values a kind carries, in signing order. */
struct admin_req {
	const char *kind;
	const char *keys[4];
	const char *values[4];
	size_t n;
};

static void
admin_usage(FILE *f, const char *name)
{
	if (strcmp(name, "principal") == 0)
		fprintf(f,
"usage: tenant-export principal add NAME --pubkey FILE --role ROLE[,ROLE]\n"
"                                  [--person ID] OPTS\n"
"       tenant-export principal grant NAME --role ROLE[,ROLE] OPTS\n"
"       tenant-export principal disable NAME OPTS\n"
"\n"
"Registers a principal (its minisign public key, its roles, the person it\n"
"belongs to), grants it more roles, or disables it. Needs the admin role\n"
"(or the root key).\n"
"\n"
"  --pubkey FILE            the principal's minisign public key\n"
"  --role ROLE[,ROLE]       requester, approver, pii, fetcher, admin,\n"
"                           worker, auditor\n"
"  --person ID              who the principal is (default: its name); two\n"
"                           keys of one person never approve each other\n");
	else if (strcmp(name, "tenant") == 0)
		fprintf(f,
"usage: tenant-export tenant add TENANT --name DISPLAY_NAME\n"
"                                  [--recipient age1...]... OPTS\n"
"       tenant-export tenant recipients TENANT --recipient age1... OPTS\n"
"\n"
"Registers a tenant (its display name, typed in confirmations, and the\n"
"age recipients its archives are encrypted to), or replaces its\n"
"recipients. Adding needs the admin role and assigns the admin; changing\n"
"recipients needs an admin assigned to the tenant.\n"
"\n"
"  --name DISPLAY_NAME      the tenant's display name\n"
"  --recipient age1...      an archive recipient (repeatable)\n");
	else if (strcmp(name, "submit") == 0) {
		fprintf(f,
"usage: tenant-export submit ACTION (--socket PATH | --config FILE) [--json]\n"
"\n"
"Sends a signed admin action written with --sign-only (ACTION and\n"
"ACTION.minisig), for example one signed on another machine. Sending the\n"
"same pair twice is refused as a replay.\n"
"\n"
"  --socket PATH            the service's socket\n"
"  --config FILE            run the service here (the service's account)\n"
"  --json                   print the result as JSON on stdout\n"
"\n"
"Exit status: 0 done, 1 refused or failed (audited), 2 usage or operational\n"
"error.\n");
		return;
	} else if (strcmp(name, "pause") == 0 || strcmp(name, "resume") == 0)
		fprintf(f,
"usage: tenant-export %s (TENANT | --all) OPTS\n"
"\n"
"%s\n"
"Pausing one tenant needs an admin assigned to it; --all, any admin\n"
"(or the root key).\n"
"\n"
"  --all                    every tenant\n", name,
		    strcmp(name, "pause") == 0 ?
"Stops workers from claiming the jobs of TENANT (or of every tenant), and\n"
"`run` from starting them; running exports go on." :
"Lets workers claim the jobs of TENANT (or of every tenant) again, and\n"
"`run` start them.");
	else
		fprintf(f,
"usage: tenant-export %s NAME TENANT OPTS\n"
"\n"
"%s the principal NAME %s the tenant TENANT. Needs an admin\n"
"assigned to the tenant (or the root key).\n", name,
		    strcmp(name, "assign") == 0 ? "Lets" : "No longer lets",
		    "act on");
	fprintf(f,
"\n"
"OPTS:\n"
"  --sign-only OUT          write the signed action to OUT and OUT.minisig\n"
"                           instead of sending it (see submit)\n"
"  --control-id ID          with --sign-only: sign for this control\n"
"                           database without asking the service\n"
"%s"
"\n"
"Exit status: 0 done, 1 refused or failed (audited), 2 usage or operational\n"
"error.\n", cmd_common_usage);
}

static int
add_recipient(struct admin_opts *o, const char *r)
{
	struct age_recipient *rc = NULL;
	char *n;

	if (strchr(r, ',') != NULL || age_recipient_parse(r, &rc) != 0) {
		cli_usage_error("tenant", "--recipient \"%.60s\" is not an age "
		    "recipient (age1...)", r);
		return -1;
	}
	age_recipient_free(rc);
	if (asprintf(&n, "%s%s%s", o->recipients ? o->recipients : "",
	    o->recipients ? "," : "", r) < 0)
		return -1;
	free(o->recipients);
	o->recipients = n;
	return 0;
}

#define ADMIN_OPTS \
	CMD_COMMON_OPTS, \
	{ "sign-only", required_argument, NULL, 's' }, \
	{ "control-id", required_argument, NULL, 'I' }
#ifdef TEXP_TEST_HOOKS
#define ADMIN_TEST_OPTS { "time", required_argument, NULL, 't' },
#else
#define ADMIN_TEST_OPTS
#endif

/* Each command's own options. */
static const struct option *
admin_opts_for(const char *cmd)
{
	static const struct option principal[] = {
		ADMIN_OPTS,
		{ "pubkey", required_argument, NULL, 'k' },
		{ "role", required_argument, NULL, 'r' },
		{ "person", required_argument, NULL, 'P' },
		ADMIN_TEST_OPTS
		{ NULL, 0, NULL, 0 },
	};
	static const struct option tenant[] = {
		ADMIN_OPTS,
		{ "name", required_argument, NULL, 'n' },
		{ "recipient", required_argument, NULL, 'R' },
		ADMIN_TEST_OPTS
		{ NULL, 0, NULL, 0 },
	};
	static const struct option assign[] = {
		ADMIN_OPTS,
		ADMIN_TEST_OPTS
		{ NULL, 0, NULL, 0 },
	};
	static const struct option queue[] = {
		ADMIN_OPTS,
		{ "all", no_argument, NULL, 'A' },
		ADMIN_TEST_OPTS
		{ NULL, 0, NULL, 0 },
	};

	if (strcmp(cmd, "principal") == 0)
		return principal;
	if (strcmp(cmd, "tenant") == 0)
		return tenant;
	if (strcmp(cmd, "pause") == 0 || strcmp(cmd, "resume") == 0)
		return queue;
	return assign;
}

/*
 * Parses cmd's options; the positional arguments are left in
 * argv[optind..]. 0, or -1 after a usage error was printed.
 */
static int
parse_opts(int argc, char **argv, const char *cmd, struct admin_opts *o)
{
	const struct cli_cmd me = { cmd, admin_usage };
	int ch;

	memset(o, 0, sizeof(*o));
	if (sodium_init() < 0)
		return -1;
	optind = 1;
	while ((ch = cli_getopt(argc, argv, NULL, admin_opts_for(cmd),
	    &me)) != -1) {
		if (cmd_common_opt(ch, &o->cc))
			continue;
		switch (ch) {
		case 's': o->sign_only = optarg; break;
		case 'I': o->control_id = optarg; break;
		case 'k': o->pubkey = optarg; break;
		case 'r': o->role = optarg; break;
		case 'n': o->name = optarg; break;
		case 'P': o->person = optarg; break;
		case 'A': o->all = 1; break;
		case 'R':
			if (add_recipient(o, optarg) != 0)
				return -1;
			break;
#ifdef TEXP_TEST_HOOKS
		case 't': o->when = strtoull(optarg, NULL, 10); break;
#endif
		default: return -1;
		}
	}
	if (o->cc.key == NULL) {
		cli_usage_error(cmd, "--as KEY is required: every change is "
		    "signed by an admin's key or the root key");
		return -1;
	}
	if (o->control_id != NULL && !o->sign_only) {
		cli_usage_error(cmd, "--control-id goes with --sign-only");
		return -1;
	}
	if (strcmp(cmd, "pause") == 0 || strcmp(cmd, "resume") == 0) {
		/* one tenant, or every tenant said out loud */
		if (argc - optind == (o->all ? 0 : 1))
			return 0;
		cli_usage_error(cmd, "name one tenant, or --all");
		return -1;
	}
	if (argc - optind < 2) {
		cli_usage_error(cmd, "missing arguments");
		return -1;
	}
	if (argc - optind > 2) {
		cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + 2]);
		return -1;
	}
	return 0;
}

/* Prints and maps a result; consumes it. */
static int
done(const char *cmd, const struct admin_opts *o, json_t *res)
{
	int rc = client_exit(res);

	if (res == NULL)
		return CMD_EXIT_USAGE;
	if (o->cc.json) {
		json_object_set_new(res, "ok", json_boolean(rc == 0));
		cmd_print_json(res);
		return rc;
	}
	if (rc == 0)
		printf("tenant-export: %s: %s\n", cmd, client_message(res));
	else
		fprintf(stderr, "tenant-export: %s: refused: %s\n", cmd,
		    client_message(res));
	json_decref(res);
	return rc;
}

static int
write_pair(const char *cmd, const char *out, const struct cmd_action *act)
{
	char *sigpath = NULL;
	int r;

	if (asprintf(&sigpath, "%s.minisig", out) < 0)
		return CMD_EXIT_USAGE;
	if ((r = file_write_new(out, buf_ptr(act->text), buf_len(act->text),
	    0644)) != 0 || (r = file_write_new(sigpath, buf_ptr(act->sig),
	    buf_len(act->sig), 0644)) != 0) {
		if (r != ERR_EXISTS || access(sigpath, F_OK) != 0)
			unlink(out);
		fprintf(stderr, "tenant-export: %s: \"%s\": %s\n", cmd, out,
		    err_str(r));
		free(sigpath);
		return CMD_EXIT_USAGE;
	}
	printf("tenant-export: %s: signed action written to \"%s\" and "
	    "\"%s\"\n", cmd, out, sigpath);
	free(sigpath);
	return CMD_EXIT_OK;
}

/* Signs req with --as, then writes it (--sign-only) or sends it. */
static int
sign_and_send(const char *cmd, const struct admin_opts *o,
    const struct admin_req *req)
{
	const char *keys[5], *vals[5];
	struct minisig_seckey *sk = NULL;
	struct client *cl = NULL;
	struct cmd_action act = { NULL, NULL };
	json_t *res = NULL;
	size_t i;
	int r, rc = CMD_EXIT_USAGE;

	if (cmd_key_load(cmd, o->cc.key, o->cc.passfile, &sk) != 0)
		goto out;
	if (o->control_id == NULL && client_open(cmd, &o->cc.co, &cl) != 0)
		goto out;
	for (i = 0; i < req->n; i++) {
		keys[i] = req->keys[i];
		vals[i] = req->values[i];
	}
	keys[i] = "control";
	vals[i] = o->control_id != NULL ? o->control_id :
	    client_control_id(cl);
	if ((act.text = buf_new(ACTION_TEXT_MAX)) == NULL ||
	    (act.sig = buf_new(ACTION_SIG_MAX)) == NULL)
		goto out;
	if (o->when != 0)
		r = action_sign_at(sk, req->kind, o->when, keys, vals,
		    req->n + 1, act.text, act.sig);
	else
		r = action_sign(sk, req->kind, keys, vals, req->n + 1,
		    act.text, act.sig);
	minisig_seckey_free(sk);
	sk = NULL;
	if (r != 0) {
		fprintf(stderr, "tenant-export: %s: cannot sign: %s\n", cmd,
		    r == ERR_INVALID ? "a value is not UTF-8 text without "
		    "control characters" : err_str(r));
		goto out;
	}
	if (o->sign_only != NULL) {
		rc = write_pair(cmd, o->sign_only, &act);
		goto out;
	}
	client_call("admin", cl, &act, NULL, NULL, NULL, NULL, &res);
	rc = done(cmd, o, res);
 out:
	minisig_seckey_free(sk);
	cmd_action_clear(&act);
	client_close(cl);
	return rc;
}

/* The base64 line of a minisign public key file. */
static int
pubkey_line(const char *cmd, const char *path, char **b64)
{
	struct minisig_pubkey *pk = NULL;
	char *text = NULL, *p, *nl;
	int r;

	*b64 = NULL;
	if ((r = minisig_pubkey_load(path, &pk)) != 0) {
		fprintf(stderr, "tenant-export: %s: --pubkey \"%s\": %s\n", cmd,
		    path, err_str(r));
		return r;
	}
	if ((r = minisig_pubkey_encode(pk, &text)) == 0) {
		r = ERR_INTERNAL;
		if ((p = strchr(text, '\n')) != NULL) {
			p++;
			if ((nl = strchr(p, '\n')) != NULL)
				*nl = '\0';
			r = (*b64 = strdup(p)) != NULL ? 0 : ERR_NOMEM;
		}
	}
	free(text);
	minisig_pubkey_free(pk);
	return r;
}

int
cmd_principal(int argc, char **argv)
{
	struct admin_opts o;
	struct admin_req req = { 0 };
	const char *verb, *name;
	char *b64 = NULL, cmd[32];
	int rc = CMD_EXIT_USAGE;

	if (parse_opts(argc, argv, "principal", &o) != 0)
		goto out;
	verb = argv[optind];
	name = argv[optind + 1];
	snprintf(cmd, sizeof(cmd), "principal %s", verb);
	if (!control_name_valid(name)) {
		fprintf(stderr, "tenant-export: %s: invalid principal name "
		    "(lower-case letters, digits, '.', '_', '-'; not \"root\")\n",
		    cmd);
		goto out;
	}
	req.keys[0] = "name";
	req.values[0] = name;
	req.n = 1;
	if (strcmp(verb, "add") == 0 && o.pubkey != NULL && o.role != NULL) {
		if (o.person != NULL && !admin_person_valid(o.person)) {
			fprintf(stderr, "tenant-export: %s: invalid --person (a-z, "
			    "0-9, '.', '_', '@', '-')\n", cmd);
			goto out;
		}
		if (pubkey_line(cmd, o.pubkey, &b64) != 0)
			goto out;
		req.kind = "principal.add";
		req.keys[1] = "pubkey";
		req.values[1] = b64;
		req.keys[2] = "roles";
		req.values[2] = o.role;
		req.keys[3] = "person";
		req.values[3] = o.person != NULL ? o.person : name;
		req.n = 4;
	} else if (strcmp(verb, "grant") == 0 && o.pubkey == NULL &&
	    o.role != NULL && o.person == NULL) {
		req.kind = "principal.grant";
		req.keys[1] = "roles";
		req.values[1] = o.role;
		req.n = 2;
	} else if (strcmp(verb, "disable") == 0 && o.pubkey == NULL &&
	    o.role == NULL && o.person == NULL) {
		req.kind = "principal.disable";
	} else {
		cli_usage_error("principal", strcmp(verb, "add") == 0 ?
		    "add needs --pubkey and --role" : strcmp(verb, "grant") == 0 ?
		    "grant takes --role only" : strcmp(verb, "disable") == 0 ?
		    "disable takes no --pubkey, --role or --person" :
		    "expected add, grant or disable");
		goto out;
	}
	rc = sign_and_send(cmd, &o, &req);
 out:
	free(b64);
	free(o.recipients);
	return rc;
}

int
cmd_tenant(int argc, char **argv)
{
	struct admin_opts o;
	struct admin_req req = { 0 };
	const char *verb;
	int rc = CMD_EXIT_USAGE;

	if (parse_opts(argc, argv, "tenant", &o) != 0)
		goto out;
	verb = argv[optind];
	req.keys[0] = "tenant";
	req.values[0] = argv[optind + 1];
	if (strcmp(verb, "add") == 0 && o.name != NULL) {
		req.kind = "tenant.add";
		req.keys[1] = "display_name";
		req.values[1] = o.name;
		req.keys[2] = "recipients";
		req.values[2] = o.recipients != NULL ? o.recipients : "";
		req.n = 3;
		rc = sign_and_send("tenant add", &o, &req);
	} else if (strcmp(verb, "recipients") == 0 && o.name == NULL &&
	    o.recipients != NULL) {
		req.kind = "tenant.recipients";
		req.keys[1] = "recipients";
		req.values[1] = o.recipients;
		req.n = 2;
		rc = sign_and_send("tenant recipients", &o, &req);
	} else
		cli_usage_error("tenant", strcmp(verb, "add") == 0 ?
		    "add needs --name" : strcmp(verb, "recipients") == 0 ?
		    "recipients needs --recipient and takes no --name" :
		    "expected add or recipients");
 out:
	free(o.recipients);
	return rc;
}

static int
assign_common(int argc, char **argv, const char *cmd, const char *kind)
{
	struct admin_opts o;
	struct admin_req req = { 0 };
	int rc = CMD_EXIT_USAGE;

	if (parse_opts(argc, argv, cmd, &o) != 0)
		goto out;
	if (!control_name_valid(argv[optind])) {
		fprintf(stderr, "tenant-export: %s: invalid principal name\n",
		    cmd);
		rc = CMD_EXIT_USAGE;
		goto out;
	}
	req.kind = kind;
	req.keys[0] = "name";
	req.values[0] = argv[optind];
	req.keys[1] = "tenant";
	req.values[1] = argv[optind + 1];
	req.n = 2;
	rc = sign_and_send(cmd, &o, &req);
 out:
	free(o.recipients);
	return rc;
}

static int
queue_common(int argc, char **argv, const char *cmd, const char *kind)
{
	struct admin_opts o;
	struct admin_req req = { 0 };
	int rc = CMD_EXIT_USAGE;

	if (parse_opts(argc, argv, cmd, &o) != 0)
		goto out;
	req.kind = kind;
	req.keys[0] = "tenant";
	req.values[0] = o.all ? "" : argv[optind];
	req.n = 1;
	rc = sign_and_send(cmd, &o, &req);
 out:
	free(o.recipients);
	return rc;
}

int
cmd_pause(int argc, char **argv)
{
	return queue_common(argc, argv, "pause", "queue.pause");
}

int
cmd_resume(int argc, char **argv)
{
	return queue_common(argc, argv, "resume", "queue.resume");
}

int
cmd_assign(int argc, char **argv)
{
	return assign_common(argc, argv, "assign", "assignment.add");
}

int
cmd_unassign(int argc, char **argv)
{
	return assign_common(argc, argv, "unassign", "assignment.remove");
}

int
cmd_submit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct cli_cmd me = { "submit", admin_usage };
	struct admin_opts o;
	struct cmd_action act = { NULL, NULL };
	struct client *cl = NULL;
	json_t *res = NULL;
	char *sigpath = NULL;
	int ch, r, rc = CMD_EXIT_USAGE;

	memset(&o, 0, sizeof(o));
	optind = 1;
	while ((ch = cli_getopt(argc, argv, NULL, opts, &me)) != -1)
		if (!cmd_common_opt(ch, &o.cc))
			return CMD_EXIT_USAGE;
	if (argc == optind)
		return cli_usage_error("submit", "ACTION is required");
	if (argc - optind > 1)
		return cli_usage_error("submit", "unexpected argument '%s'",
		    argv[optind + 1]);
	if (asprintf(&sigpath, "%s.minisig", argv[optind]) < 0)
		return CMD_EXIT_USAGE;
	if ((r = file_read_small(AT_FDCWD, argv[optind], ACTION_TEXT_MAX, 0,
	    &act.text)) != 0 ||
	    (r = file_read_small(AT_FDCWD, sigpath, ACTION_SIG_MAX, 0,
	    &act.sig)) != 0) {
		fprintf(stderr, "tenant-export: submit: \"%s\": %s\n",
		    act.text == NULL ? argv[optind] : sigpath, err_str(r));
		goto out;
	}
	{
		struct action *a = NULL;
		int ok = action_parse(buf_ptr(act.text), buf_len(act.text),
		    &a) == 0 && admin_kind_valid(action_kind(a));

		action_free(a);
		if (!ok) {
			fprintf(stderr, "tenant-export: submit: \"%s\" is not a "
			    "signed admin action\n", argv[optind]);
			goto out;
		}
	}
	if (client_open("submit", &o.cc.co, &cl) != 0)
		goto out;
	client_call("admin", cl, &act, NULL, NULL, NULL, NULL, &res);
	rc = done("submit", &o, res);
 out:
	cmd_action_clear(&act);
	client_close(cl);
	free(sigpath);
	return rc;
}
