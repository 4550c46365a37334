/*
 * cmd_audit.c: `tenant-export audit verify|checkpoint|keygen|show`.
 *
 *   audit verify --config FILE [--checkpoint FILE --checkpoint-key VKEY]
 *   audit checkpoint --config FILE --key SKEY --origin NAME --out FILE
 *   audit keygen --name NAME --out PREFIX        (PREFIX.skey, PREFIX.vkey)
 *   audit show --config FILE [--since SEQ] [--json]
 *
 * verify recomputes the hash chain of texp_control.audit_log from row 1 and
 * names the first bad row; with a checkpoint (a signed note kept
 * elsewhere) it also proves that the log still extends it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "audit.h"
#include "buf.h"
#include "cli.h"
#include "config.h"
#include "control.h"
#include "db.h"
#include "err.h"
#include "file.h"
#include "ledger.h"
#include "minisig.h"
#include "note.h"

#define KEYFILE_MAX	4096

static void
audit_usage(FILE *f, const char *name)
{
	(void)name;
	fprintf(f,
"usage: tenant-export audit verify --config FILE [--user ROLE]\n"
"                          [--checkpoint FILE --checkpoint-key VKEYFILE]\n"
"       tenant-export audit checkpoint --config FILE [--user ROLE]\n"
"                          --key SKEYFILE --origin NAME --out FILE\n"
"       tenant-export audit keygen --name NAME --out PREFIX\n"
"       tenant-export audit show --config FILE [--user ROLE] [--since SEQ]\n"
"                          [--json]\n\n"
"verify      recompute the audit log's hash chain; with --checkpoint, also\n"
"            check that the log extends that signed checkpoint\n"
"checkpoint  write a signed checkpoint (C2SP signed note) of the log now\n"
"keygen      create a checkpoint signing key: PREFIX.skey (secret, 0600)\n"
"            and PREFIX.vkey (the verifier key to keep with checkpoints)\n"
"show        print the log (one JSON object per line with --json)\n\n"
"Exit status: 0 ok, 1 the log or checkpoint does not verify (the first bad\n"
"row is named), 2 usage or operational error.\n");
}

int
cmd_control_connect(const char *cmd, const struct config *cfg, PGconn **out)
{
	char err[512] = "";
	int r;

	*out = NULL;
	if ((r = db_connect(cfg, NULL, out, err, sizeof(err))) != 0) {
		fprintf(stderr, "tenant-export: %s: %s\n", cmd, err);
		return r;
	}
	if ((r = control_check(*out, err, sizeof(err))) != 0) {
		fprintf(stderr, "tenant-export: %s: %s%s\n", cmd, err,
		    r == ERR_NOENT ? " (run tenant-export init)" : "");
		PQfinish(*out);
		*out = NULL;
	}
	return r;
}

int
cmd_config_connect(const char *cmd, const char *path, struct config **cfg,
    PGconn **c)
{
	char err[512];

	*c = NULL;
	if (sodium_init() < 0) {
		fprintf(stderr, "tenant-export: %s: libsodium cannot be "
		    "initialised\n", cmd);
		return -1;
	}
	if (config_load(path, cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "tenant-export: %s: config: %s\n", cmd, err);
		return -1;
	}
	return cmd_control_connect(cmd, *cfg, c) != 0 ? -1 : 0;
}

static int
connect_cfg(const char *cmd, const char *path, const char *user,
    struct config **cfg, PGconn **c)
{
	char err[512];

	if (user == NULL)
		return cmd_config_connect(cmd, path, cfg, c);
	if (config_load(path, cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "tenant-export: %s: config: %s\n", cmd, err);
		return -1;
	}
	if (db_connect(*cfg, user, c, err, sizeof(err)) != 0) {
		fprintf(stderr, "tenant-export: %s: %s\n", cmd, err);
		return -1;
	}
	if (control_check(*c, err, sizeof(err)) != 0) {
		fprintf(stderr, "tenant-export: %s: %s\n", cmd, err);
		return -1;
	}
	return 0;
}

/*
 * Past the chain: every row's signature and place, every fact's signer,
 * the pinned head, and the cache tables against the log (ledger.h).
 */
static int
verify_signed(const struct config *cfg, PGconn *c, uint64_t *bad, char *why,
    size_t whylen)
{
	const struct config_service *sv = config_service(cfg);
	struct minisig_pubkey *root = NULL, *svc = NULL;
	struct minisig_seckey *sk = NULL;
	struct ledger_pins pins;
	struct ledger *l = NULL;
	char cid[CONTROL_ID_MAX + 1], pub[4096], head[4096];
	int r;

	if ((r = config_check_service(cfg, why, whylen)) != 0)
		return r;
	snprintf(pub, sizeof(pub), "%s.pub", sv->service_key);
	if ((r = minisig_pubkey_load(sv->root_key, &root)) != 0) {
		err_set(why, whylen, "[service] root_key \"%s\": %s",
		    sv->root_key, err_str(r));
		goto out;
	}
	if (minisig_pubkey_load(pub, &svc) != 0) {
		if ((r = minisig_seckey_load(sv->service_key, NULL, 0,
		    &sk)) != 0 || (svc = minisig_seckey_pubkey(sk)) == NULL) {
			err_set(why, whylen, "the service key's public half "
			    "(\"%s\") is unreadable", pub);
			r = r != 0 ? r : ERR_NOMEM;
			goto out;
		}
	}
	if ((r = control_id(c, cid, why, whylen)) != 0)
		goto out;
	snprintf(head, sizeof(head), "%s/log-head", sv->state_dir ?
	    sv->state_dir : "");
	pins.root = root;
	pins.service = svc;
	pins.control_id = cid;
	pins.head_file = sv->state_dir != NULL && access(head, R_OK) == 0 ?
	    head : NULL;
	pins.check_all = 1;	/* an audit checks every signature */
	if ((r = ledger_load(c, &pins, &l, bad, why, whylen)) != 0)
		goto out;
	r = ledger_check_cache(l, c, why, whylen);
 out:
	ledger_free(l);
	minisig_pubkey_free(root);
	minisig_pubkey_free(svc);
	minisig_seckey_free(sk);
	return r;
}

static int
audit_verify_cmd(const char *cfgpath, const char *user, const char *cpfile,
    const char *vkeyfile)
{
	struct config *cfg = NULL;
	struct buf *cp = NULL, *vk = NULL;
	struct note_verifier *v = NULL;
	PGconn *c = NULL;
	uint64_t bad = 0, rows = 0;
	char why[512];
	int r, rc = CMD_EXIT_USAGE;

	if (cpfile != NULL) {
		if ((r = file_read_small(AT_FDCWD, cpfile, NOTE_MAX_SIZE, 0,
		    &cp)) != 0) {
			fprintf(stderr, "tenant-export: audit verify: "
			    "checkpoint \"%s\": %s\n", cpfile, err_str(r));
			goto out;
		}
		if ((r = file_read_small(AT_FDCWD, vkeyfile, NOTE_MAX_SIZE, 0,
		    &vk)) != 0 ||
		    (r = note_verifier_parse((const char *)buf_ptr(vk),
		    buf_len(vk), &v)) != 0) {
			fprintf(stderr, "tenant-export: audit verify: "
			    "checkpoint key \"%s\": %s\n", vkeyfile,
			    err_str(r));
			goto out;
		}
	}
	if (connect_cfg("audit verify", cfgpath, user, &cfg, &c) != 0)
		goto out;
	r = audit_verify_count(c, cp != NULL ? (const char *)buf_ptr(cp) :
	    NULL, cp != NULL ? buf_len(cp) : 0, v, &bad, &rows, why,
	    sizeof(why));
	if (r == ERR_DB || r == ERR_NOMEM || r == ERR_INTERNAL ||
	    r == ERR_INVALID) {
		fprintf(stderr, "tenant-export: audit verify: %s\n",
		    why[0] != '\0' ? why : err_str(r));
		goto out;
	}
	if (r == 0 && (r = verify_signed(cfg, c, &bad, why, sizeof(why))) ==
	    ERR_DB) {
		fprintf(stderr, "tenant-export: audit verify: %s\n", why);
		goto out;
	}
	if (r != 0) {
		if (r == ERR_HASH || (r == ERR_TAMPER && bad > 0))
			fprintf(stderr, "tenant-export: audit verify: FAILED at "
			    "row %llu: %s\n", (unsigned long long)bad, why);
		else
			fprintf(stderr, "tenant-export: audit verify: FAILED: "
			    "%s\n", why[0] != '\0' ? why : err_str(r));
		rc = CMD_EXIT_FAIL;
		goto out;
	}
	printf("tenant-export: audit verify: ok, %llu rows, every row signed "
	    "and in its place, the tables match the log%s\n",
	    (unsigned long long)rows, cp != NULL ?
	    ", extends the checkpoint" : "");
	rc = CMD_EXIT_OK;
 out:
	if (c != NULL)
		PQfinish(c);
	note_verifier_free(v);
	buf_free(cp);
	buf_free(vk);
	config_free(cfg);
	return rc;
}

static int
audit_checkpoint_cmd(const char *cfgpath, const char *user,
    const char *keyfile, const char *origin, const char *outpath)
{
	struct config *cfg = NULL;
	struct buf *sk = NULL, *note = NULL;
	struct note_signer *s = NULL;
	PGconn *c = NULL;
	int r, rc = CMD_EXIT_USAGE;

	if (access(outpath, F_OK) == 0) {
		fprintf(stderr, "tenant-export: audit checkpoint: \"%s\" "
		    "exists; refusing to overwrite\n", outpath);
		goto out;
	}
	if ((r = file_read_small(AT_FDCWD, keyfile, NOTE_MAX_SIZE, 1,
	    &sk)) != 0 ||
	    (r = note_signer_parse((const char *)buf_ptr(sk), buf_len(sk),
	    &s)) != 0) {
		fprintf(stderr, "tenant-export: audit checkpoint: key \"%s\": "
		    "%s\n", keyfile, err_str(r));
		goto out;
	}
	buf_free(sk);
	sk = NULL;
	if (connect_cfg("audit checkpoint", cfgpath, user, &cfg, &c) != 0)
		goto out;
	if ((note = buf_new(NOTE_MAX_SIZE)) == NULL)
		goto out;
	if ((r = audit_checkpoint(c, origin, s, note)) != 0) {
		fprintf(stderr, "tenant-export: audit checkpoint: %s\n",
		    r == ERR_HASH ? "the audit log does not verify; run "
		    "\"tenant-export audit verify\"" : err_str(r));
		rc = r == ERR_HASH ? CMD_EXIT_FAIL : CMD_EXIT_USAGE;
		goto out;
	}
	if ((r = file_write_new(outpath, buf_ptr(note), buf_len(note),
	    0644)) != 0) {
		fprintf(stderr, "tenant-export: audit checkpoint: \"%s\": %s\n",
		    outpath, err_str(r));
		goto out;
	}
	printf("tenant-export: audit checkpoint: written to \"%s\"\n",
	    outpath);
	rc = CMD_EXIT_OK;
 out:
	if (c != NULL)
		PQfinish(c);
	note_signer_free(s);
	buf_free(sk);
	buf_free(note);
	config_free(cfg);
	return rc;
}

static int
audit_keygen_cmd(const char *name, const char *prefix)
{
	struct note_signer *s = NULL;
	struct buf *sk = NULL;
	char *vkey = NULL, *skpath = NULL, *vkpath = NULL;
	int r, rc = CMD_EXIT_USAGE;

	if (asprintf(&skpath, "%s.skey", prefix) < 0) {
		skpath = NULL;
		goto out;
	}
	if (asprintf(&vkpath, "%s.vkey", prefix) < 0) {
		vkpath = NULL;
		goto out;
	}
	if (access(skpath, F_OK) == 0 || access(vkpath, F_OK) == 0) {
		fprintf(stderr, "tenant-export: audit keygen: \"%s\" or \"%s\" "
		    "exists; refusing to overwrite\n", skpath, vkpath);
		goto out;
	}
	if ((r = note_keygen(name, &s)) != 0) {
		fprintf(stderr, "tenant-export: audit keygen: --name: %s\n",
		    r == ERR_INVALID ? "invalid key name" : err_str(r));
		goto out;
	}
	if ((sk = buf_new_secret(1024)) == NULL ||
	    (r = note_signer_encode(s, sk)) != 0 ||
	    (r = buf_put(sk, "\n", 1)) != 0 ||
	    (r = note_signer_vkey(s, &vkey)) != 0)
		goto out;
	if ((r = file_write_new(skpath, buf_ptr(sk), buf_len(sk), 0600)) != 0) {
		fprintf(stderr, "tenant-export: audit keygen: \"%s\": %s\n",
		    skpath, err_str(r));
		goto out;
	}
	if ((r = file_write_new(vkpath, vkey, strlen(vkey), 0644)) != 0) {
		unlink(skpath);
		fprintf(stderr, "tenant-export: audit keygen: \"%s\": %s\n",
		    vkpath, err_str(r));
		goto out;
	}
	printf("tenant-export: audit keygen: \"%s\" (secret) and \"%s\" "
	    "(verifier key: %s)\n", skpath, vkpath, vkey);
	rc = CMD_EXIT_OK;
 out:
	note_signer_free(s);
	buf_free(sk);
	free(vkey);
	free(skpath);
	free(vkpath);
	return rc;
}

/* Text output: control characters (only a forged row could hold them)
 * become '?'. */
static void
put_clean(const char *label, const char *s)
{
	if (s == NULL)
		return;
	if (label != NULL)
		printf(" %s=", label);
	for (; *s != '\0'; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static int
audit_show_cmd(const char *cfgpath, const char *user, const char *since,
    int json)
{
	static const char *const cols[] = { "seq", "at", "event", "principal",
	    "tenant", "job", "scope", "detail", "host", "tool_version" };
	struct config *cfg = NULL;
	PGconn *c = NULL;
	PGresult *res = NULL;
	const char *params[1];
	char *end, *line;
	json_t *o, *d;
	int i, j, rc = CMD_EXIT_USAGE;

	if (since != NULL) {
		errno = 0;
		(void)strtoll(since, &end, 10);
		if (*since == '\0' || *end != '\0' || errno != 0) {
			fprintf(stderr, "tenant-export: audit show: --since: "
			    "not a number\n");
			goto out;
		}
	}
	params[0] = since != NULL ? since : "0";
	if (connect_cfg("audit show", cfgpath, user, &cfg, &c) != 0)
		goto out;
	PQsetClientEncoding(c, "UTF8");
	res = PQexecParams(c, "SELECT seq, to_char(at AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), event, principal, tenant, "
	    "job, scope, detail::text, host, tool_version "
	    "FROM texp_control.audit_log WHERE seq >= $1::bigint ORDER BY seq",
	    1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "tenant-export: audit show: %s",
		    PQerrorMessage(c));
		goto out;
	}
	for (i = 0; i < PQntuples(res); i++) {
		if (!json) {
			printf("%s %s %s", PQgetvalue(res, i, 0),
			    PQgetvalue(res, i, 1), "");
			put_clean(NULL, PQgetvalue(res, i, 2));
			for (j = 3; j < 8; j++)
				if (!PQgetisnull(res, i, j))
					put_clean(cols[j], PQgetvalue(res, i, j));
			putchar('\n');
			continue;
		}
		o = json_object();
		json_object_set_new(o, "seq",
		    json_integer(strtoll(PQgetvalue(res, i, 0), NULL, 10)));
		for (j = 1; j < 10; j++) {
			if (PQgetisnull(res, i, j)) {
				json_object_set_new(o, cols[j], json_null());
				continue;
			}
			if (j == 7 && (d = json_loads(PQgetvalue(res, i, j), 0,
			    NULL)) != NULL) {
				json_object_set_new(o, cols[j], d);
				continue;
			}
			json_object_set_new(o, cols[j],
			    json_string(PQgetvalue(res, i, j)));
		}
		line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
		json_decref(o);
		if (line == NULL)
			goto out;
		puts(line);
		free(line);
	}
	rc = fflush(stdout) == 0 ? CMD_EXIT_OK : CMD_EXIT_USAGE;
 out:
	PQclear(res);
	if (c != NULL)
		PQfinish(c);
	config_free(cfg);
	return rc;
}

int
cmd_audit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "user", required_argument, NULL, 'U' },
		{ "checkpoint", required_argument, NULL, 'p' },
		{ "checkpoint-key", required_argument, NULL, 'v' },
		{ "key", required_argument, NULL, 'k' },
		{ "origin", required_argument, NULL, 'o' },
		{ "out", required_argument, NULL, 'O' },
		{ "name", required_argument, NULL, 'n' },
		{ "since", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct cli_cmd me = { "audit", audit_usage };
	const char *cfg = NULL, *user = NULL, *cp = NULL, *vkey = NULL;
	const char *key = NULL, *origin = NULL, *out = NULL, *name = NULL;
	const char *since = NULL, *verb;
	int ch, json = 0;

	optind = 1;
	while ((ch = cli_getopt(argc, argv, NULL, opts, &me)) != -1) {
		switch (ch) {
		case 'c': cfg = optarg; break;
		case 'U': user = optarg; break;
		case 'p': cp = optarg; break;
		case 'v': vkey = optarg; break;
		case 'k': key = optarg; break;
		case 'o': origin = optarg; break;
		case 'O': out = optarg; break;
		case 'n': name = optarg; break;
		case 's': since = optarg; break;
		case 'j': json = 1; break;
		default: return CMD_EXIT_USAGE;
		}
	}
	if (argc == optind)
		return cli_usage_error("audit", "expected verify, checkpoint, "
		    "keygen or show");
	if (argc - optind > 1)
		return cli_usage_error("audit", "unexpected argument '%s'",
		    argv[optind + 1]);
	if (sodium_init() < 0)
		return CMD_EXIT_USAGE;
	verb = argv[optind];
	if (strcmp(verb, "verify") == 0 && cfg != NULL &&
	    (cp == NULL) == (vkey == NULL) && key == NULL && origin == NULL &&
	    out == NULL && name == NULL && since == NULL && !json)
		return audit_verify_cmd(cfg, user, cp, vkey);
	if (strcmp(verb, "checkpoint") == 0 && cfg != NULL && key != NULL &&
	    origin != NULL && out != NULL && cp == NULL && vkey == NULL)
		return audit_checkpoint_cmd(cfg, user, key, origin, out);
	if (strcmp(verb, "keygen") == 0 && name != NULL && out != NULL &&
	    cfg == NULL)
		return audit_keygen_cmd(name, out);
	if (strcmp(verb, "show") == 0 && cfg != NULL && cp == NULL &&
	    key == NULL)
		return audit_show_cmd(cfg, user, since, json);
	if (strcmp(verb, "verify") == 0)
		return cli_usage_error("audit", "verify needs --config, and "
		    "--checkpoint with --checkpoint-key or neither");
	if (strcmp(verb, "checkpoint") == 0)
		return cli_usage_error("audit", "checkpoint needs --config, "
		    "--key, --origin and --out");
	if (strcmp(verb, "keygen") == 0)
		return cli_usage_error("audit", "keygen needs --name and --out "
		    "(and no --config)");
	if (strcmp(verb, "show") == 0)
		return cli_usage_error("audit", "show needs --config; it takes "
		    "--since and --json");
	return cli_usage_error("audit", "unknown audit command '%s': expected "
	    "verify, checkpoint, keygen or show", verb);
}
