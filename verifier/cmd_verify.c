#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "age.h"
#include "buf.h"
#include "cmd.h"
#include "err.h"
#include "file.h"
#include "foreign.h"
#include "minisig.h"
#include "report.h"
#include "verify.h"
#include "version.h"

static const char verify_usage[] =
"usage: tenant-verify verify (--identity FILE | --passphrase-file FILE)\n"
"           (--signer PUBKEY ... | --signers FILE) --tenant ID\n"
"           [--foreign-ids FILE | --foreign-ids-json FILE]\n"
"           [--match token|substring] [--strict-expiry] [--exit-on-error]\n"
"           [--content-only] [--max-work-factor N] [--json] ARCHIVE\n"
"\n"
"Decrypts ARCHIVE (NAME.texp or NAME.texp.index), checks its signature\n"
"against the pinned signer keys and proves that every record belongs to\n"
"tenant ID and that nothing is missing or altered. Every problem found is\n"
"reported, not just the first.\n"
"\n"
"  --identity FILE         age identity file (mode 0600)\n"
"  --passphrase-file FILE  first line is the archive passphrase (mode 0600)\n"
"  --max-work-factor N     highest scrypt work factor accepted (default 22)\n"
"  --signer PUBKEY         a pinned minisign public key: .pub file or base64\n"
"                          key; repeat it to pin several (key rotation)\n"
"  --signers FILE          a keyring: pinned keys, one base64 key a line\n"
"                          (.pub files concatenated work); keys are matched\n"
"                          to the signature by key id\n"
"  --tenant ID             the tenant key the archive must hold\n"
"  --foreign-ids FILE      auditor: other tenants' identifiers that must not\n"
"                          occur anywhere, one a line, exact bytes (only\n"
"                          the LF is removed); hits fail and name the\n"
"                          table, column, record, the id's line and the\n"
"                          match, never the value\n"
"  --foreign-ids-json FILE the same list as a JSON array of strings (for\n"
"                          identifiers holding a newline or a CR)\n"
"  --match token|substring token (default): a whole value, a whole JSON\n"
"                          string or a whole token (letters, digits, _ -\n"
"                          and non-ASCII letters) equals an identifier;\n"
"                          substring: it also occurs anywhere in a value\n"
"  --strict-expiry         an expired archive fails (default: warning)\n"
"  --exit-on-error         stop at the first failure\n"
"  --content-only          faster: prove the content through the signed\n"
"                          comment and the manifest, without hashing the\n"
"                          whole file; the archive's own bytes (its age\n"
"                          header, the encryption) are then not checked:\n"
"                          a genuine archive re-encrypted passes\n"
"  --json                  one JSON object on stdout instead of text\n"
"\n"
"Exit status: 0 proven, 1 verification failed, 2 usage or operational\n"
"error.\n";

static const char extract_usage[] =
"usage: tenant-verify extract (--identity FILE | --passphrase-file FILE)\n"
"           (--signer PUBKEY ... | --signers FILE) --tenant ID\n"
"           --format jsonl|csv|cbor --out DIR\n"
"           [--foreign-ids FILE | --foreign-ids-json FILE]\n"
"           [--match token|substring] [--strict-expiry] [--exit-on-error]\n"
"           [--content-only] [--max-work-factor N] [--json] ARCHIVE\n"
"\n"
"Verifies ARCHIVE like `verify`; only if it is proven, verifies it again\n"
"while writing into DIR (created 0700 if missing) one file per table,\n"
"<schema>.<table>.jsonl, .csv or .cbor (every byte of a name outside\n"
"a-z, 0-9 and _ written %XX), plus manifest.cbor (the receipt). Files\n"
"get their names only when the second pass proves too; existing files\n"
"are never overwritten. In CSV, NULL is an empty field and the empty\n"
"string is \"\".\n"
"\n"
"  --format F              jsonl, csv or cbor (a CBOR sequence of records)\n"
"  --out DIR               output directory\n"
"  (other options as for verify)\n"
"\n"
"Exit status: 0 extracted, 1 verification failed, 2 usage or operational\n"
"error (including a file that already exists).\n";

enum {
	OPT_IDENTITY = 256, OPT_PASSFILE, OPT_SIGNER, OPT_SIGNERS, OPT_TENANT,
	OPT_FOREIGN,
	OPT_STRICT, OPT_EXIT_ON_ERROR, OPT_JSON, OPT_MAX_WF, OPT_FORMAT,
	OPT_OUT, OPT_FOREIGN_JSON, OPT_MATCH, OPT_CONTENT_ONLY,
};


void
cmd_version(void)
{
	texp_version_print(stdout, REPORT_PROG);
}

int
cmd_getopt(int argc, char **argv, const char *shortopts,
    const struct option *opts)
{
	static struct option m[32];
	char optstring[32];
	static const struct option *from;
	size_t i, n = 0;
	int c;

	if (from != opts) {
		for (i = 0; opts[i].name != NULL && n < 30; i++)
			m[n++] = opts[i];
		m[n++] = (struct option){ "version", no_argument, NULL, 'V' };
		m[n] = (struct option){ NULL, 0, NULL, 0 };
		from = opts;
	}
#ifdef TEXP_TEST_HOOKS
	if (getenv("TEXP_TEST_LIST_OPTIONS") != NULL) {
		for (i = 0; m[i].name != NULL; i++)
			printf("--%s%s\n", m[i].name, m[i].has_arg ==
			    required_argument ? " ARG" : "");
		exit(CMD_EXIT_OK);
	}
#endif
	snprintf(optstring, sizeof(optstring), ":hV%s", shortopts);
	opterr = 0;
	if ((c = getopt_long(argc, argv, optstring, m, NULL)) == 'V') {
		cmd_version();
		exit(CMD_EXIT_OK);
	}
	return c;
}

void
cmd_usage_error(const char *context, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: %s: ", REPORT_PROG, context);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s: try '%s %s --help'\n", REPORT_PROG, REPORT_PROG,
	    context);
}

static int
parse_work_factor(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 ||
	    v > AGE_SCRYPT_LOG_N_LIMIT)
		return ERR_USAGE;
	*out = (int)v;
	return 0;
}

int
cmd_args_parse(int extract, int argc, char **argv, struct cmd_args *a)
{
	static const struct option opts[] = {
		{ "identity", required_argument, NULL, OPT_IDENTITY },
		{ "passphrase-file", required_argument, NULL, OPT_PASSFILE },
		{ "signer", required_argument, NULL, OPT_SIGNER },
		{ "signers", required_argument, NULL, OPT_SIGNERS },
		{ "tenant", required_argument, NULL, OPT_TENANT },
		{ "foreign-ids", required_argument, NULL, OPT_FOREIGN },
		{ "foreign-ids-json", required_argument, NULL,
		    OPT_FOREIGN_JSON },
		{ "match", required_argument, NULL, OPT_MATCH },
		{ "strict-expiry", no_argument, NULL, OPT_STRICT },
		{ "exit-on-error", no_argument, NULL, OPT_EXIT_ON_ERROR },
		{ "content-only", no_argument, NULL, OPT_CONTENT_ONLY },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "max-work-factor", required_argument, NULL, OPT_MAX_WF },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ctx = extract ? "extract" : "verify";
	int c;

	memset(a, 0, sizeof(*a));
	a->max_log_n = AGE_SCRYPT_MAX_LOG_N_DEFAULT;
	opterr = 0;
	optind = 1;
	while ((c = cmd_getopt(argc, argv, "", opts)) != -1) {
		switch (c) {
		case OPT_IDENTITY:
			a->identity = optarg;
			break;
		case OPT_PASSFILE:
			a->passfile = optarg;
			break;
		case OPT_SIGNER:
			if (a->nsigner == CMD_MAX_SIGNER_ARGS) {
				cmd_usage_error(ctx, "--signer given more than "
				    "%d times (use --signers FILE)",
				    CMD_MAX_SIGNER_ARGS);
				return CMD_EXIT_USAGE;
			}
			a->signer[a->nsigner++] = optarg;
			break;
		case OPT_SIGNERS:
			if (a->signers_file != NULL) {
				cmd_usage_error(ctx, "--signers given twice");
				return CMD_EXIT_USAGE;
			}
			a->signers_file = optarg;
			break;
		case OPT_TENANT:
			a->tenant = optarg;
			break;
		case OPT_FOREIGN:
		case OPT_FOREIGN_JSON:
			if (a->foreign_file != NULL) {
				cmd_usage_error(ctx, "give one of --foreign-ids "
				    "and --foreign-ids-json, once");
				return CMD_EXIT_USAGE;
			}
			a->foreign_file = optarg;
			a->foreign_json = c == OPT_FOREIGN_JSON;
			break;
		case OPT_MATCH: {
			enum foreign_mode fm;

			if (foreign_mode_parse(optarg, &fm) != 0) {
				cmd_usage_error(ctx, "--match: expected token or "
				    "substring");
				return CMD_EXIT_USAGE;
			}
			a->foreign_mode = (int)fm;
			break;
		}
		case OPT_STRICT:
			a->strict_expiry = 1;
			break;
		case OPT_EXIT_ON_ERROR:
			a->exit_on_error = 1;
			break;
		case OPT_CONTENT_ONLY:
			a->content_only = 1;
			break;
		case OPT_JSON:
			a->json = 1;
			break;
		case OPT_MAX_WF:
			if (parse_work_factor(optarg, &a->max_log_n) != 0) {
				cmd_usage_error(ctx, "--max-work-factor: expected "
				    "an integer from 1 to %d",
				    AGE_SCRYPT_LOG_N_LIMIT);
				return CMD_EXIT_USAGE;
			}
			break;
		case OPT_FORMAT:
		case OPT_OUT:
			if (!extract) {
				cmd_usage_error(ctx, "--%s is extract's option "
				    "(tenant-verify extract)", c == OPT_FORMAT ?
				    "format" : "out");
				return CMD_EXIT_USAGE;
			}
			if (c == OPT_FORMAT)
				a->format = optarg;
			else
				a->out = optarg;
			break;
		case 'h':
			fputs(extract ? extract_usage : verify_usage, stdout);
			return CMD_HELP;
		case ':':
			cmd_usage_error(ctx, "option '%s' needs an argument",
			    argv[optind - 1]);
			return CMD_EXIT_USAGE;
		case '?':
		default:
			cmd_usage_error(ctx, "unknown option '%s'",
			    argv[optind - 1]);
			return CMD_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		cmd_usage_error(ctx, "missing ARCHIVE");
		return CMD_EXIT_USAGE;
	}
	if (argc - optind > 1) {
		cmd_usage_error(ctx, "expected one ARCHIVE, got %d operands",
		    argc - optind);
		return CMD_EXIT_USAGE;
	}
	a->archive = argv[optind];
	if (cmd_archive_check(ctx, a->archive) != 0)
		return CMD_EXIT_USAGE;
	if ((a->identity == NULL) == (a->passfile == NULL)) {
		cmd_usage_error(ctx, "give exactly one of --identity and "
		    "--passphrase-file");
		return CMD_EXIT_USAGE;
	}
	if (a->nsigner == 0 && a->signers_file == NULL) {
		cmd_usage_error(ctx, "--signer or --signers is required (the "
		    "pinned minisign public keys)");
		return CMD_EXIT_USAGE;
	}
	if (a->tenant == NULL || a->tenant[0] == '\0') {
		cmd_usage_error(ctx, "--tenant is required");
		return CMD_EXIT_USAGE;
	}
	if (extract && (a->format == NULL || a->out == NULL)) {
		cmd_usage_error(ctx, "--format and --out are required");
		return CMD_EXIT_USAGE;
	}
	return 0;
}

int
cmd_archive_check(const char *context, const char *path)
{
	size_t n = strlen(path), d = 0;

	while (d < n && path[n - 1 - d] >= '0' && path[n - 1 - d] <= '9')
		d++;
	if (d < 3 || n - d < 6 || strncmp(path + n - d - 6, ".texp.", 6) != 0)
		return 0;
	cmd_usage_error(context, "\"%s\" is one part of a split archive: "
	    "give \"%.*stexp.index\", which lists and checks every part",
	    path, (int)(n - d - 5), path);
	return CMD_EXIT_USAGE;
}

static const char *
file_error(int r)
{
	switch (r) {
	case ERR_NOENT:
		return "no such file";
	case ERR_PERM:
		return "is a symbolic link or has unsafe permissions "
		    "(use a regular file, mode 0600)";
	case ERR_LIMIT:
		return "file too large";
	case ERR_IO:
		return "cannot read it (not a regular file?)";
	default:
		return err_str(r);
	}
}

static int
load_passphrase(const char *context, const char *path, int max_log_n,
    struct cmd_keys *k)
{
	struct age_identity *id = NULL;
	char *p = NULL;
	size_t len = 0;
	int r = CMD_EXIT_USAGE, rr;

	if ((rr = file_read_secret_line(path, CMD_MAX_PASSPHRASE, &p,
	    &len)) != 0) {
		report_error(context, "passphrase file \"%s\": %s", path,
		    rr == ERR_PERM ? "is a symbolic link or readable by group "
		    "or others (chmod 600 it)" : rr == ERR_PASSPHRASE ?
		    "first line is empty" : rr == ERR_LIMIT ? "file too large" :
		    file_error(rr));
		goto out;
	}
	if ((rr = age_identity_passphrase(p, len, max_log_n, &id)) != 0) {
		report_error(context, "passphrase: %s", err_str(rr));
		goto out;
	}
	if ((k->ids = calloc(1, sizeof(*k->ids))) == NULL) {
		report_error(context, "%s", err_str(ERR_NOMEM));
		goto out;
	}
	k->ids[0] = id;
	k->nids = 1;
	id = NULL;
	r = 0;
 out:
	age_identity_free(id);
	if (p != NULL) {
		sodium_memzero(p, len);
		sodium_free(p);
	}
	return r;
}

static int
load_identities(const char *context, const char *path, struct cmd_keys *k)
{
	int rr;

	if ((rr = age_identities_load(path, &k->ids, &k->nids)) == 0)
		return 0;
	k->ids = NULL;
	k->nids = 0;
	switch (rr) {
	case ERR_PERM:
		report_error(context, "identity file \"%s\" is a symbolic "
		    "link or readable by group or others (chmod 600 it)", path);
		break;
	case ERR_KEY:
		report_error(context, "identity file \"%s\" holds no valid "
		    "AGE-SECRET-KEY-1 line", path);
		break;
	default:
		report_error(context, "identity file \"%s\": %s", path,
		    file_error(rr));
		break;
	}
	return CMD_EXIT_USAGE;
}

/* Adds pk to the pinned keys; a key id may be pinned once only. */
static int
add_signer(const char *context, const char *what, struct minisig_pubkey *pk,
    struct cmd_keys *k)
{
	uint8_t a[MINISIG_KEYID_LEN], b[MINISIG_KEYID_LEN];
	struct minisig_pubkey **v;
	char kid[32];
	size_t i;

	minisig_pubkey_keyid(pk, a);
	for (i = 0; i < k->nsigners; i++) {
		minisig_pubkey_keyid(k->signers[i], b);
		if (memcmp(a, b, sizeof(a)) == 0) {
			report_error(context, "%s: key %s is pinned twice", what,
			    report_keyid(pk, kid, sizeof(kid)));
			minisig_pubkey_free(pk);
			return CMD_EXIT_USAGE;
		}
	}
	if ((v = reallocarray(k->signers, k->nsigners + 1,
	    sizeof(*v))) == NULL) {
		report_error(context, "%s", err_str(ERR_NOMEM));
		minisig_pubkey_free(pk);
		return CMD_EXIT_USAGE;
	}
	k->signers = v;
	k->signers[k->nsigners++] = pk;
	return 0;
}

static int
load_signer(const char *context, const char *arg, struct cmd_keys *k)
{
	struct minisig_pubkey *pk = NULL;
	int rr;

	/* A bare base64 key may hold a '/': try the key form first and
	 * fall back to a file. */
	if (minisig_pubkey_parse(arg, strlen(arg), &pk) == 0 ||
	    (rr = minisig_pubkey_load(arg, &pk)) == 0)
		return add_signer(context, "--signer", pk, k);
	if (rr == ERR_NOENT)
		report_error(context, "--signer: \"%s\" is neither a minisign "
		    "public key nor an existing .pub file", arg);
	else
		report_error(context, "--signer: public key file \"%s\": %s",
		    arg, rr == ERR_SIG_FORMAT || rr == ERR_UNSUPPORTED ?
		    "not a minisign public key" : file_error(rr));
	return CMD_EXIT_USAGE;
}

static int
load_keyring(const char *context, const char *path, struct cmd_keys *k)
{
	struct minisig_pubkey **keys = NULL;
	size_t n = 0, line = 0, i;
	int rr, r = 0;

	if ((rr = minisig_keyring_load(path, &keys, &n, &line)) != 0) {
		if (line > 0)
			report_error(context, "--signers: \"%s\" line %zu: %s",
			    path, line, rr == ERR_EXISTS ? "a key id given "
			    "twice" : "not a minisign public key");
		else
			report_error(context, "--signers: \"%s\": %s", path,
			    rr == ERR_NOENT ? "no such file, or no key in it" :
			    rr == ERR_LIMIT ? "too many keys (or too large)" :
			    file_error(rr));
		return CMD_EXIT_USAGE;
	}
	for (i = 0; i < n; i++) {
		if (r == 0)
			r = add_signer(context, "--signers", keys[i], k);
		else
			minisig_pubkey_free(keys[i]);
	}
	free(keys);
	return r;
}

static int
load_foreign(const char *context, const char *path, int json,
    struct cmd_keys *k)
{
	struct buf *b = NULL;
	char why[256];
	int r = CMD_EXIT_USAGE, rr;

	if ((rr = file_read_small(AT_FDCWD, path, FOREIGN_MAX_FILE, 0,
	    &b)) != 0) {
		report_error(context, "--foreign-ids: \"%s\": %s", path,
		    file_error(rr));
		goto out;
	}
	if ((rr = foreign_list_parse(buf_ptr(b), buf_len(b), json,
	    &k->foreign, why, sizeof(why))) != 0) {
		report_error(context, "--foreign-ids%s: \"%s\": %s",
		    json ? "-json" : "", path, why[0] ? why : err_str(rr));
		goto out;
	}
	r = 0;
 out:
	/* Other tenants' identifiers: do not leave them around. */
	if (b != NULL)
		sodium_memzero((void *)buf_ptr(b), buf_len(b));
	buf_free(b);
	return r;
}

int
cmd_keys_load(const char *context, const char *identity,
    const char *passfile, int max_log_n, const struct cmd_args *a,
    struct cmd_keys *k)
{
	size_t i;
	int r;

	memset(k, 0, sizeof(*k));
	if (identity != NULL && (r = load_identities(context, identity,
	    k)) != 0)
		goto fail;
	if (passfile != NULL && (r = load_passphrase(context, passfile,
	    max_log_n, k)) != 0)
		goto fail;
	for (i = 0; a != NULL && i < a->nsigner; i++)
		if ((r = load_signer(context, a->signer[i], k)) != 0)
			goto fail;
	if (a != NULL && a->signers_file != NULL &&
	    (r = load_keyring(context, a->signers_file, k)) != 0)
		goto fail;
	if (a != NULL && a->foreign_file != NULL &&
	    (r = load_foreign(context, a->foreign_file, a->foreign_json,
	    k)) != 0)
		goto fail;
	return 0;
 fail:
	cmd_keys_free(k);
	return r;
}

void
cmd_keys_free(struct cmd_keys *k)
{
	age_identities_free(k->ids, k->nids);
	minisig_keyring_free(k->signers, k->nsigners);
	foreign_list_free(k->foreign);
	memset(k, 0, sizeof(*k));
}

void
cmd_opts_fill(const struct cmd_args *a, const struct cmd_keys *k,
    struct verify_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->ids = k->ids;
	o->nids = k->nids;
	o->signers = (const struct minisig_pubkey *const *)k->signers;
	o->nsigners = k->nsigners;
	o->tenant = a->tenant;
	o->foreign = k->foreign;
	o->foreign_mode = (enum foreign_mode)a->foreign_mode;
	o->strict_expiry = a->strict_expiry;
	o->exit_on_error = a->exit_on_error;
	o->content_only = a->content_only;
	o->now = (uint64_t)time(NULL);
}

int
cmd_verify(int argc, char **argv)
{
	struct verify_result *res = NULL;
	struct verify_opts o;
	struct cmd_keys k;
	struct cmd_args a;
	json_t *j = NULL;
	char why[512];
	int r, ret = CMD_EXIT_USAGE;

	memset(&k, 0, sizeof(k));
	if ((r = cmd_args_parse(0, argc, argv, &a)) != 0)
		return r == CMD_HELP ? CMD_EXIT_OK : r;
	if (cmd_keys_load("verify", a.identity, a.passfile, a.max_log_n, &a,
	    &k) != 0)
		goto out;
	cmd_opts_fill(&a, &k, &o);
	if ((r = verify_archive(a.archive, &o, &res, why, sizeof(why))) != 0) {
		report_error("verify", "%s", why[0] != '\0' ? why : err_str(r));
		goto out;
	}
	if (a.json) {
		if ((j = report_json(a.archive, res,
		    (const struct minisig_pubkey *const *)k.signers, k.nsigners)) == NULL ||
		    report_json_print(stdout, j) != 0) {
			report_error("verify", "cannot write the JSON report");
			goto out;
		}
	} else {
		report_findings(stderr, res);
		report_summary(stdout, a.archive, a.tenant, res,
		    (const struct minisig_pubkey *const *)k.signers, k.nsigners,
		    k.foreign != NULL);
	}
	ret = report_proven(res) ? CMD_EXIT_OK : CMD_EXIT_FAIL;
 out:
	json_decref(j);
	verify_result_free(res);
	cmd_keys_free(&k);
	return ret;
}
