/*
 * cmd_admin.c: managing principals, roles, tenants and assignments.
 *
 *   tenant-export principal add NAME --pubkey FILE --role ROLE[,ROLE]
 *   tenant-export principal grant NAME --role ROLE[,ROLE]
 *   tenant-export principal disable NAME
 *   tenant-export tenant add TENANT --name "Display Name"
 *   tenant-export assign NAME TENANT
 *   tenant-export unassign NAME TENANT
 *       each with --config FILE --as KEY [--passphrase-file FILE]
 *       [--sign-only OUT]
 *   tenant-export submit --config FILE ACTION   (ACTION + ACTION.minisig)
 *
 * Every change is a signed action (action.h) by a principal holding the
 * `admin` capability. Changes to an assignment also need the acting
 * admin's own assignment to that tenant: an admin of Client B cannot
 * hand out Client A. Adding a tenant assigns the admin who added it.
 * Every attempt is audited: the change's event on success, admin.denied
 * (with the reason) when refused, admin.failed when an allowed change
 * could not be made.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "action.h"
#include "audit.h"
#include "buf.h"
#include "cmd.h"
#include "config.h"
#include "control.h"
#include "db.h"
#include "err.h"
#include "file.h"
#include "minisig.h"

#define MAX_ROLES	8

struct admin_opts {
	const char *config;
	const char *as;
	const char *passfile;
	const char *sign_only;
	uint64_t when;		/* test hook: signing time, 0 = now */
};

/* The values a kind carries, in signing order. */
struct admin_req {
	const char *kind;
	const char *keys[4];
	const char *values[4];
	size_t n;
};

static void
admin_usage(FILE *f)
{
	fprintf(f,
"Usage: tenant-export principal add NAME --pubkey FILE --role ROLE[,ROLE] OPTS\n"
"       tenant-export principal grant NAME --role ROLE[,ROLE] OPTS\n"
"       tenant-export principal disable NAME OPTS\n"
"       tenant-export tenant add TENANT --name DISPLAY_NAME OPTS\n"
"       tenant-export assign NAME TENANT OPTS\n"
"       tenant-export unassign NAME TENANT OPTS\n"
"       tenant-export submit --config FILE ACTION\n"
"\n"
"Signed, audited changes to who may do what. OPTS:\n"
"  --config FILE            configuration file ([database] of the monitor)\n"
"  --as KEY                 the acting admin's minisign secret key\n"
"  --passphrase-file FILE   its passphrase (first line; mode 0600); without\n"
"                           it the passphrase is asked at the terminal\n"
"  --sign-only OUT          write the signed action to OUT and OUT.minisig\n"
"                           instead of applying it (see submit)\n"
"Roles: requester, approver, pii, fetcher, admin.\n"
"Exit status: 0 done, 1 refused or failed (audited), 2 usage or operational\n"
"error.\n");
}

static char *
json_detail(const char *fmt, ...)
{
	va_list ap;
	json_t *j;
	json_error_t e;
	char *s;

	va_start(ap, fmt);
	j = json_vpack_ex(&e, 0, fmt, ap);
	va_end(ap);
	if (j == NULL)
		return NULL;
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return s;
}

/* Appends one event; failures to audit are reported (and fail the
 * command) but never hide the original outcome. */
static int
audit_event(PGconn *c, const char *event, const char *principal,
    const char *tenant, char *detail)
{
	struct audit_event e = { 0 };
	char err[256];
	int r;

	e.event = event;
	e.principal = principal;
	e.tenant = tenant;
	e.detail_json = detail;
	r = audit_append(c, &e, err, sizeof(err));
	if (r != 0)
		fprintf(stderr, "tenant-export: %s\n", err);
	free(detail);
	return r;
}

/* Assigns name to tenant and records it, as actor. */
static int
assign_audited(PGconn *c, const char *actor, const char *name,
    const char *tenant, char *err, size_t errlen)
{
	int r;

	if ((r = control_assign(c, name, tenant, err, errlen)) != 0)
		return r;
	return audit_event(c, "assignment.added", actor, tenant,
	    json_detail("{s:s}", "name", name));
}

static int
is_admin_kind(const char *kind)
{
	static const char *const kinds[] = { "principal.add",
	    "principal.grant", "principal.disable", "tenant.add",
	    "assignment.add", "assignment.remove" };
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kind, kinds[i]) == 0)
			return 1;
	return 0;
}

/* Splits "a,b,c" into at most MAX_ROLES roles (in place). */
static int
split_roles(char *s, const char **roles, size_t *n)
{
	char *p, *save = NULL;

	*n = 0;
	for (p = strtok_r(s, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save)) {
		if (*n == MAX_ROLES || !control_name_valid(p))
			return ERR_INVALID;
		roles[(*n)++] = p;
	}
	return *n > 0 ? 0 : ERR_INVALID;
}

static const char *
reason_of(int r)
{
	switch (r) {
	case ERR_DENIED:
		return "unknown or disabled principal";
	case ERR_SIG_INVALID:
		return "bad signature";
	case ERR_EXPIRED:
		return "stale action";
	case ERR_EXISTS:
		return "replayed action";
	case ERR_FORMAT:
		return "malformed action";
	default:
		return "verification failed";
	}
}

/*
 * Applies an allowed change inside the caller's transaction and appends
 * its audit events. Returns 0, or an error with a reason in err.
 */
static int
apply_change(PGconn *c, const struct action *a, const char *actor, char *err,
    size_t errlen)
{
	const char *kind = action_kind(a);
	const char *name = action_get(a, "name");
	const char *tenant = action_get(a, "tenant");
	const char *roles[MAX_ROLES];
	char *rolebuf = NULL, kidhex[17];
	struct minisig_pubkey *pk = NULL;
	uint8_t kid[MINISIG_KEYID_LEN];
	size_t nroles = 0, i;
	int r = ERR_INTERNAL;

	if (strcmp(kind, "principal.add") == 0 ||
	    strcmp(kind, "principal.grant") == 0) {
		const char *rl = action_get(a, "roles");

		if (name == NULL || rl == NULL || (rolebuf = strdup(rl)) == NULL ||
		    split_roles(rolebuf, roles, &nroles) != 0) {
			snprintf(err, errlen, "invalid roles");
			r = ERR_INVALID;
			goto out;
		}
	}
	if (strcmp(kind, "principal.add") == 0) {
		const char *b64 = action_get(a, "pubkey");

		if (b64 == NULL || minisig_pubkey_parse(b64, strlen(b64),
		    &pk) != 0) {
			snprintf(err, errlen, "invalid public key");
			r = ERR_INVALID;
			goto out;
		}
		if ((r = control_principal_add(c, name, pk, roles, nroles,
		    NULL, err, errlen)) != 0)
			goto out;
		minisig_pubkey_keyid(pk, kid);
		sodium_bin2hex(kidhex, sizeof(kidhex), kid, sizeof(kid));
		if ((r = audit_event(c, "principal.added", actor, NULL,
		    json_detail("{s:s, s:s, s:s}", "name", name, "key_id",
		    kidhex, "roles", action_get(a, "roles")))) != 0)
			goto out;
		for (i = 0; i < nroles; i++)
			if ((r = audit_event(c, "role.granted", actor, NULL,
			    json_detail("{s:s, s:s}", "name", name, "role",
			    roles[i]))) != 0)
				goto out;
	} else if (strcmp(kind, "principal.grant") == 0) {
		if ((r = control_role_grant(c, name, roles, nroles, err,
		    errlen)) != 0)
			goto out;
		for (i = 0; i < nroles; i++)
			if ((r = audit_event(c, "role.granted", actor, NULL,
			    json_detail("{s:s, s:s}", "name", name, "role",
			    roles[i]))) != 0)
				goto out;
	} else if (strcmp(kind, "principal.disable") == 0) {
		if (name == NULL) {
			r = ERR_INVALID;
			goto out;
		}
		if ((r = control_principal_disable(c, name, err, errlen)) != 0)
			goto out;
		if ((r = audit_event(c, "principal.disabled", actor, NULL,
		    json_detail("{s:s}", "name", name))) != 0)
			goto out;
	} else if (strcmp(kind, "tenant.add") == 0) {
		const char *dn = action_get(a, "display_name");

		if (tenant == NULL || dn == NULL) {
			r = ERR_INVALID;
			goto out;
		}
		if ((r = control_tenant_add(c, tenant, dn, err, errlen)) != 0)
			goto out;
		if ((r = audit_event(c, "tenant.added", actor, tenant,
		    json_detail("{s:s}", "display_name", dn))) != 0)
			goto out;
		/* whoever adds a tenant administers it */
		if ((r = assign_audited(c, actor, actor, tenant, err,
		    errlen)) != 0)
			goto out;
	} else if (strcmp(kind, "assignment.add") == 0) {
		if (name == NULL || tenant == NULL) {
			r = ERR_INVALID;
			goto out;
		}
		if ((r = assign_audited(c, actor, name, tenant, err,
		    errlen)) != 0)
			goto out;
	} else if (strcmp(kind, "assignment.remove") == 0) {
		if (name == NULL || tenant == NULL) {
			r = ERR_INVALID;
			goto out;
		}
		if ((r = control_unassign(c, name, tenant, err, errlen)) != 0)
			goto out;
		if ((r = audit_event(c, "assignment.removed", actor, tenant,
		    json_detail("{s:s}", "name", name))) != 0)
			goto out;
	} else {
		r = ERR_INVALID;
		goto out;
	}
	r = 0;
 out:
	if (r == ERR_INVALID && err[0] == '\0')
		snprintf(err, errlen, "invalid action");
	minisig_pubkey_free(pk);
	free(rolebuf);
	return r;
}

/*
 * Verifies and applies one signed admin action. Returns the exit status.
 */
static int
admin_submit(const char *cmd, const char *cfgpath, const struct buf *text,
    const struct buf *sig)
{
	struct config *cfg = NULL;
	struct action *a = NULL, *parsed = NULL;
	const struct control_principal *p;
	struct control_principal who;
	PGconn *c = NULL;
	PGresult *res = NULL;
	uint8_t kid[MINISIG_KEYID_LEN];
	char err[512], kidhex[17] = "", *detail;
	const char *kind, *tenant, *actor = NULL;
	int r, allowed = 0, rc = CMD_EXIT_USAGE;

	if ((r = action_parse(buf_ptr(text), buf_len(text), &parsed)) != 0 ||
	    !is_admin_kind(action_kind(parsed))) {
		fprintf(stderr, "tenant-export: %s: not an admin action\n", cmd);
		goto out;
	}
	kind = action_kind(parsed);
	tenant = action_get(parsed, "tenant");
	if ((r = config_load(cfgpath, &cfg, err, sizeof(err))) != 0) {
		fprintf(stderr, "tenant-export: %s: config: %s\n", cmd, err);
		goto out;
	}
	if ((r = db_connect(cfg, NULL, &c, err, sizeof(err))) != 0) {
		fprintf(stderr, "tenant-export: %s: %s\n", cmd, err);
		goto out;
	}
	if ((r = control_check(c, err, sizeof(err))) != 0) {
		fprintf(stderr, "tenant-export: %s: %s\n", cmd, err);
		goto out;
	}
	/* Outside any transaction, so that the nonce stays recorded even
	 * when the change is then refused or fails. */
	r = action_verify(c, buf_ptr(text), buf_len(text), buf_ptr(sig),
	    buf_len(sig), (uint64_t)time(NULL), ACTION_MAX_AGE_DEFAULT, &a,
	    err, sizeof(err));
	if (r != 0) {
		if (action_sig_keyid(buf_ptr(sig), buf_len(sig), kid) == 0) {
			sodium_bin2hex(kidhex, sizeof(kidhex), kid, sizeof(kid));
			/* name a registered signer, never an unknown one */
			if (r != ERR_DENIED && r != ERR_FORMAT &&
			    control_principal_by_keyid(c, kid, &who, NULL) == 0)
				actor = who.name;
		}
		if (r == ERR_DB) {
			fprintf(stderr, "tenant-export: %s: %s\n", cmd, err);
			goto out;
		}
		detail = json_detail("{s:s, s:s, s:s}", "action", kind,
		    "reason", reason_of(r), "key_id", kidhex);
		audit_event(c, "admin.denied", actor, tenant, detail);
		fprintf(stderr, "tenant-export: %s: refused: %s\n", cmd,
		    reason_of(r));
		rc = CMD_EXIT_FAIL;
		goto out;
	}
	p = action_principal(a);
	actor = p->name;
	/* Principals are global; assignments are per tenant and need the
	 * admin's own assignment to it. */
	if (strcmp(kind, "assignment.add") == 0 ||
	    strcmp(kind, "assignment.remove") == 0)
		r = control_allowed(c, p->id, CONTROL_CAP_ADMIN, tenant,
		    &allowed);
	else
		r = control_allowed(c, p->id, CONTROL_CAP_ADMIN, NULL,
		    &allowed);
	if (r != 0) {
		fprintf(stderr, "tenant-export: %s: %s\n", cmd, err_str(r));
		goto out;
	}
	if (!allowed) {
		audit_event(c, "admin.denied", actor, tenant,
		    json_detail("{s:s, s:s}", "action", kind, "reason",
		    tenant != NULL && strcmp(kind, "tenant.add") != 0 ?
		    "not an admin for this tenant" :
		    "missing capability admin"));
		fprintf(stderr, "tenant-export: %s: refused: \"%s\" may not "
		    "do this\n", cmd, actor);
		rc = CMD_EXIT_FAIL;
		goto out;
	}
	err[0] = '\0';
	res = PQexec(c, "BEGIN");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "tenant-export: %s: %s", cmd,
		    PQerrorMessage(c));
		goto out;
	}
	PQclear(res);
	res = NULL;
	if ((r = apply_change(c, a, actor, err, sizeof(err))) != 0) {
		PQclear(PQexec(c, "ROLLBACK"));
		audit_event(c, "admin.failed", actor, tenant,
		    json_detail("{s:s, s:s}", "action", kind, "reason",
		    err[0] != '\0' ? err : err_str(r)));
		fprintf(stderr, "tenant-export: %s: %s\n", cmd,
		    err[0] != '\0' ? err : err_str(r));
		rc = r == ERR_DB ? CMD_EXIT_USAGE : CMD_EXIT_FAIL;
		goto out;
	}
	res = PQexec(c, "COMMIT");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "tenant-export: %s: %s", cmd,
		    PQerrorMessage(c));
		goto out;
	}
	printf("tenant-export: %s: done (%s by \"%s\")\n", cmd, kind, actor);
	rc = CMD_EXIT_OK;
 out:
	PQclear(res);
	if (c != NULL)
		PQfinish(c);
	action_free(a);
	action_free(parsed);
	config_free(cfg);
	return rc;
}

/*
 * Parses the common options; the positional arguments are left in
 * argv[optind..]. *extra_* receive --pubkey, --role, --name.
 */
static int
parse_opts(int argc, char **argv, struct admin_opts *o, const char **pubkey,
    const char **role, const char **name)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "as", required_argument, NULL, 'a' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "sign-only", required_argument, NULL, 's' },
		{ "pubkey", required_argument, NULL, 'k' },
		{ "role", required_argument, NULL, 'r' },
		{ "name", required_argument, NULL, 'n' },
#ifdef TEXP_TEST_HOOKS
		{ "time", required_argument, NULL, 't' },
#endif
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	if (sodium_init() < 0)
		return -1;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': o->config = optarg; break;
		case 'a': o->as = optarg; break;
		case 'p': o->passfile = optarg; break;
		case 's': o->sign_only = optarg; break;
		case 'k': if (pubkey == NULL) return -1; *pubkey = optarg; break;
		case 'r': if (role == NULL) return -1; *role = optarg; break;
		case 'n': if (name == NULL) return -1; *name = optarg; break;
#ifdef TEXP_TEST_HOOKS
		case 't': o->when = strtoull(optarg, NULL, 10); break;
#endif
		case 'h': admin_usage(stdout); return 1;
		default: return -1;
		}
	}
	if (o->as == NULL || (o->config == NULL && o->sign_only == NULL))
		return -1;
	return 0;
}

/* Signs req with --as and either writes it (--sign-only) or submits it. */
static int
sign_and_submit(const char *cmd, const struct admin_opts *o,
    const struct admin_req *req)
{
	struct minisig_seckey *sk = NULL;
	struct buf *text = NULL, *sig = NULL;
	char err[512], *sigpath = NULL;
	int r, rc = CMD_EXIT_USAGE;

	if (sodium_init() < 0)
		return CMD_EXIT_USAGE;
	if ((text = buf_new(ACTION_TEXT_MAX)) == NULL ||
	    (sig = buf_new(ACTION_SIG_MAX)) == NULL)
		goto out;
	if ((r = action_seckey_load(o->as, o->passfile, &sk, err,
	    sizeof(err))) != 0) {
		fprintf(stderr, "tenant-export: %s: --as: %s\n", cmd, err);
		goto out;
	}
	if (o->when != 0)
		r = action_sign_at(sk, req->kind, o->when, req->keys,
		    req->values, req->n, text, sig);
	else
		r = action_sign(sk, req->kind, req->keys, req->values, req->n,
		    text, sig);
	minisig_seckey_free(sk);
	sk = NULL;
	if (r != 0) {
		fprintf(stderr, "tenant-export: %s: cannot sign: %s\n", cmd,
		    r == ERR_INVALID ? "invalid value (printable ASCII only)" :
		    err_str(r));
		goto out;
	}
	if (o->sign_only != NULL) {
		if (asprintf(&sigpath, "%s.minisig", o->sign_only) < 0) {
			sigpath = NULL;
			goto out;
		}
		if ((r = file_write_new(o->sign_only, buf_ptr(text),
		    buf_len(text), 0644)) != 0 ||
		    (r = file_write_new(sigpath, buf_ptr(sig), buf_len(sig),
		    0644)) != 0) {
			if (r != ERR_EXISTS || access(sigpath, F_OK) != 0)
				unlink(o->sign_only);
			fprintf(stderr, "tenant-export: %s: \"%s\": %s\n", cmd,
			    o->sign_only, err_str(r));
			goto out;
		}
		printf("tenant-export: %s: signed action written to \"%s\" "
		    "and \"%s\"\n", cmd, o->sign_only, sigpath);
		rc = CMD_EXIT_OK;
		goto out;
	}
	rc = admin_submit(cmd, o->config, text, sig);
 out:
	minisig_seckey_free(sk);
	buf_free(text);
	buf_free(sig);
	free(sigpath);
	return rc;
}

static int
usage_err(void)
{
	admin_usage(stderr);
	return CMD_EXIT_USAGE;
}

int
cmd_principal(int argc, char **argv)
{
	struct admin_opts o;
	struct admin_req req = { 0 };
	struct minisig_pubkey *pk = NULL;
	const char *pubkey = NULL, *role = NULL, *verb, *name;
	char *text = NULL, *b64, *nl, cmd[32];
	int r, rc = CMD_EXIT_USAGE;

	if ((r = parse_opts(argc, argv, &o, &pubkey, &role, NULL)) != 0)
		return r > 0 ? CMD_EXIT_OK : usage_err();
	if (argc - optind != 2)
		return usage_err();
	verb = argv[optind];
	name = argv[optind + 1];
	snprintf(cmd, sizeof(cmd), "principal %s", verb);
	if (!control_name_valid(name)) {
		fprintf(stderr, "tenant-export: %s: invalid principal name "
		    "(lower-case letters, digits, '.', '_', '-')\n", cmd);
		return CMD_EXIT_USAGE;
	}
	req.keys[0] = "name";
	req.values[0] = name;
	req.n = 1;
	if (strcmp(verb, "add") == 0) {
		if (pubkey == NULL || role == NULL)
			return usage_err();
		if ((r = minisig_pubkey_load(pubkey, &pk)) != 0) {
			fprintf(stderr, "tenant-export: %s: --pubkey \"%s\": "
			    "%s\n", cmd, pubkey, err_str(r));
			goto out;
		}
		if ((r = minisig_pubkey_encode(pk, &text)) != 0 ||
		    (b64 = strchr(text, '\n')) == NULL)
			goto out;
		b64++;
		if ((nl = strchr(b64, '\n')) != NULL)
			*nl = '\0';
		req.kind = "principal.add";
		req.keys[1] = "pubkey";
		req.values[1] = b64;
		req.keys[2] = "roles";
		req.values[2] = role;
		req.n = 3;
	} else if (strcmp(verb, "grant") == 0) {
		if (pubkey != NULL || role == NULL)
			return usage_err();
		req.kind = "principal.grant";
		req.keys[1] = "roles";
		req.values[1] = role;
		req.n = 2;
	} else if (strcmp(verb, "disable") == 0) {
		if (pubkey != NULL || role != NULL)
			return usage_err();
		req.kind = "principal.disable";
	} else
		return usage_err();
	rc = sign_and_submit(cmd, &o, &req);
 out:
	free(text);
	minisig_pubkey_free(pk);
	return rc;
}

int
cmd_tenant(int argc, char **argv)
{
	struct admin_opts o;
	struct admin_req req = { 0 };
	const char *name = NULL;
	int r;

	if ((r = parse_opts(argc, argv, &o, NULL, NULL, &name)) != 0)
		return r > 0 ? CMD_EXIT_OK : usage_err();
	if (argc - optind != 2 || strcmp(argv[optind], "add") != 0 ||
	    name == NULL)
		return usage_err();
	req.kind = "tenant.add";
	req.keys[0] = "tenant";
	req.values[0] = argv[optind + 1];
	req.keys[1] = "display_name";
	req.values[1] = name;
	req.n = 2;
	return sign_and_submit("tenant add", &o, &req);
}

static int
assign_common(int argc, char **argv, const char *cmd, const char *kind)
{
	struct admin_opts o;
	struct admin_req req = { 0 };
	int r;

	if ((r = parse_opts(argc, argv, &o, NULL, NULL, NULL)) != 0)
		return r > 0 ? CMD_EXIT_OK : usage_err();
	if (argc - optind != 2)
		return usage_err();
	if (!control_name_valid(argv[optind])) {
		fprintf(stderr, "tenant-export: %s: invalid principal name\n",
		    cmd);
		return CMD_EXIT_USAGE;
	}
	req.kind = kind;
	req.keys[0] = "name";
	req.values[0] = argv[optind];
	req.keys[1] = "tenant";
	req.values[1] = argv[optind + 1];
	req.n = 2;
	return sign_and_submit(cmd, &o, &req);
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
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct buf *text = NULL, *sig = NULL;
	const char *cfg = NULL;
	char *sigpath = NULL;
	int ch, r, rc = CMD_EXIT_USAGE;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': cfg = optarg; break;
		case 'h': admin_usage(stdout); return CMD_EXIT_OK;
		default: return usage_err();
		}
	}
	if (cfg == NULL || argc - optind != 1)
		return usage_err();
	if (sodium_init() < 0)
		return CMD_EXIT_USAGE;
	if (asprintf(&sigpath, "%s.minisig", argv[optind]) < 0)
		return CMD_EXIT_USAGE;
	if ((r = file_read_small(AT_FDCWD, argv[optind], ACTION_TEXT_MAX, 0,
	    &text)) != 0 ||
	    (r = file_read_small(AT_FDCWD, sigpath, ACTION_SIG_MAX, 0,
	    &sig)) != 0) {
		fprintf(stderr, "tenant-export: submit: \"%s\": %s\n",
		    text == NULL ? argv[optind] : sigpath, err_str(r));
		goto out;
	}
	rc = admin_submit("submit", cfg, text, sig);
 out:
	buf_free(text);
	buf_free(sig);
	free(sigpath);
	return rc;
}
