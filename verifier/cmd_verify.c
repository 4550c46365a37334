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
#include "minisig.h"
#include "report.h"
#include "verify.h"

static const char verify_usage[] =
"usage: tenant-verify verify (--identity FILE | --passphrase-file FILE)\n"
"           --signer PUBKEY --tenant ID [--foreign-ids FILE]\n"
"           [--strict-expiry] [--exit-on-error] [--max-work-factor N]\n"
"           [--json] ARCHIVE\n"
"\n"
"Decrypts ARCHIVE (NAME.texp or NAME.texp.index), checks its signature\n"
"against the pinned signer key and proves that every record belongs to\n"
"tenant ID and that nothing is missing or altered. Every problem found is\n"
"reported, not just the first.\n"
"\n"
"  --identity FILE         age identity file (mode 0600)\n"
"  --passphrase-file FILE  first line is the archive passphrase\n"
"  --max-work-factor N     highest scrypt work factor accepted (default 22)\n"
"  --signer PUBKEY         minisign public key: .pub file or base64 key\n"
"  --tenant ID             the tenant key the archive must hold\n"
"  --foreign-ids FILE      auditor: identifiers (one a line) that must not\n"
"                          occur anywhere; hits fail without showing them\n"
"  --strict-expiry         an expired archive fails (default: warning)\n"
"  --exit-on-error         stop at the first failure\n"
"  --json                  one JSON object on stdout instead of text\n"
"\n"
"Exit status: 0 proven, 1 verification failed, 2 usage or operational\n"
"error.\n";

static const char extract_usage[] =
"usage: tenant-verify extract (--identity FILE | --passphrase-file FILE)\n"
"           --signer PUBKEY --tenant ID --format jsonl|csv|cbor --out DIR\n"
"           [--foreign-ids FILE] [--strict-expiry] [--exit-on-error]\n"
"           [--max-work-factor N] [--json] ARCHIVE\n"
"\n"
"Verifies ARCHIVE like `verify`; only if it is proven, verifies it again\n"
"while writing into DIR (created 0700 if missing) one file per table,\n"
"<table>.jsonl, .csv or .cbor, plus manifest.cbor (the receipt). Files\n"
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
	OPT_IDENTITY = 256, OPT_PASSFILE, OPT_SIGNER, OPT_TENANT, OPT_FOREIGN,
	OPT_STRICT, OPT_EXIT_ON_ERROR, OPT_JSON, OPT_MAX_WF, OPT_FORMAT,
	OPT_OUT,
};

#ifndef TEXP_VERSION
#define TEXP_VERSION "0.1.0"
#endif
#ifndef TEXP_COMMIT
#define TEXP_COMMIT "unknown"
#endif

void
cmd_version(void)
{
	printf("%s %s (commit %s)\n", REPORT_PROG, TEXP_VERSION, TEXP_COMMIT);
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
		{ "tenant", required_argument, NULL, OPT_TENANT },
		{ "foreign-ids", required_argument, NULL, OPT_FOREIGN },
		{ "strict-expiry", no_argument, NULL, OPT_STRICT },
		{ "exit-on-error", no_argument, NULL, OPT_EXIT_ON_ERROR },
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
			a->signer = optarg;
			break;
		case OPT_TENANT:
			a->tenant = optarg;
			break;
		case OPT_FOREIGN:
			a->foreign_file = optarg;
			break;
		case OPT_STRICT:
			a->strict_expiry = 1;
			break;
		case OPT_EXIT_ON_ERROR:
			a->exit_on_error = 1;
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
	if ((a->identity == NULL) == (a->passfile == NULL)) {
		cmd_usage_error(ctx, "give exactly one of --identity and "
		    "--passphrase-file");
		return CMD_EXIT_USAGE;
	}
	if (a->signer == NULL) {
		cmd_usage_error(ctx, "--signer is required (the pinned "
		    "minisign public key)");
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

/* Reads a small regular file (no symlink) into memory from
 * sodium_malloc when secret. *p is NUL-terminated beyond *len. */
static int
read_file(const char *path, size_t max, int secret, uint8_t **p,
    size_t *len)
{
	struct stat st;
	uint8_t *d = NULL;
	size_t n = 0;
	ssize_t got;
	int fd = -1, r = ERR_INTERNAL;

	*p = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		r = errno == ENOENT ? ERR_NOENT : errno == ELOOP ? ERR_PERM :
		    ERR_IO;
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		r = ERR_IO;
		goto out;
	}
	/* a secret others can read is no longer only this account's */
	if (secret && (st.st_mode & 077) != 0) {
		r = ERR_PERM;
		goto out;
	}
	d = secret ? sodium_malloc(max + 1) : malloc(max + 1);
	if (d == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	for (;;) {
		if (n == max) {
			/* One byte more tells "exactly max" from "longer". */
			uint8_t extra;

			if ((got = read(fd, &extra, 1)) < 0 && errno == EINTR)
				continue;
			if (got != 0) {
				r = got < 0 ? ERR_IO : ERR_LIMIT;
				goto out;
			}
			break;
		}
		if ((got = read(fd, d + n, max - n)) < 0) {
			if (errno == EINTR)
				continue;
			r = ERR_IO;
			goto out;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	d[n] = '\0';
	*p = d;
	*len = n;
	d = NULL;
	r = 0;
 out:
	if (d != NULL) {
		if (secret)
			sodium_free(d);
		else
			free(d);
	}
	if (fd >= 0)
		close(fd);
	return r;
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
	uint8_t *p = NULL;
	size_t len = 0, n;
	int r = CMD_EXIT_USAGE, rr;

	if ((rr = read_file(path, CMD_MAX_PASSPHRASE, 1, &p, &len)) != 0) {
		report_error(context, "passphrase file \"%s\": %s", path,
		    rr == ERR_LIMIT ? "first line too long" : file_error(rr));
		goto out;
	}
	for (n = 0; n < len && p[n] != '\n'; n++)
		;
	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (n == 0) {
		report_error(context, "passphrase file \"%s\": first line is "
		    "empty", path);
		goto out;
	}
	if ((rr = age_identity_passphrase((const char *)p, n, max_log_n,
	    &id)) != 0) {
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

static int
load_signer(const char *context, const char *arg, struct cmd_keys *k)
{
	int rr;

	/* A bare base64 key never holds a '/'? It may ('/' is base64), so
	 * try the key form first and fall back to a file. */
	if (minisig_pubkey_parse(arg, strlen(arg), &k->signer) == 0)
		return 0;
	k->signer = NULL;
	if ((rr = minisig_pubkey_load(arg, &k->signer)) == 0)
		return 0;
	k->signer = NULL;
	if (rr == ERR_NOENT)
		report_error(context, "--signer: \"%s\" is neither a minisign "
		    "public key nor an existing .pub file", arg);
	else
		report_error(context, "--signer: public key file \"%s\": %s",
		    arg, rr == ERR_SIG_FORMAT ? "not a minisign public key" :
		    file_error(rr));
	return CMD_EXIT_USAGE;
}

int
cmd_foreign_parse(const uint8_t *p, size_t len, char ***list, size_t *n)
{
	struct buf *b = NULL;
	const uint8_t *l;
	char **v = NULL, **nv;
	size_t ll, nv_n = 0, cap = 0, i;
	int r = ERR_INTERNAL;

	*list = NULL;
	*n = 0;
	if (memchr(p, '\0', len) != NULL)
		return ERR_FORMAT;
	if ((b = buf_from(p, len)) == NULL)
		return ERR_NOMEM;
	while (buf_len(b) > 0) {
		if ((r = buf_get_line(b, &l, &ll, len)) == ERR_TRUNCATED) {
			/* last line without LF */
			ll = buf_len(b);
			if ((r = buf_get_ptr(b, ll, &l)) != 0)
				goto out;
		} else if (r != 0)
			goto out;
		while (ll > 0 && (l[ll - 1] == '\r' || l[ll - 1] == ' ' ||
		    l[ll - 1] == '\t'))
			ll--;
		while (ll > 0 && (l[0] == ' ' || l[0] == '\t')) {
			l++;
			ll--;
		}
		if (ll == 0 || l[0] == '#')
			continue;
		if (nv_n == CMD_MAX_FOREIGN) {
			r = ERR_LIMIT;
			goto out;
		}
		if (nv_n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL) {
				r = ERR_NOMEM;
				goto out;
			}
			v = nv;
		}
		if ((v[nv_n] = strndup((const char *)l, ll)) == NULL) {
			r = ERR_NOMEM;
			goto out;
		}
		nv_n++;
	}
	*list = v;
	*n = nv_n;
	v = NULL;
	r = 0;
 out:
	if (v != NULL) {
		for (i = 0; i < nv_n; i++)
			free(v[i]);
		free(v);
	}
	buf_free(b);
	return r;
}

void
cmd_foreign_free(char **list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++) {
		/* Other tenants' identifiers: do not leave them around. */
		sodium_memzero(list[i], strlen(list[i]));
		free(list[i]);
	}
	free(list);
}

static int
load_foreign(const char *context, const char *path, struct cmd_keys *k)
{
	uint8_t *p = NULL;
	size_t len = 0;
	int r = CMD_EXIT_USAGE, rr;

	if ((rr = read_file(path, CMD_MAX_FOREIGN_FILE, 0, &p, &len)) != 0) {
		report_error(context, "--foreign-ids: \"%s\": %s", path,
		    file_error(rr));
		goto out;
	}
	if ((rr = cmd_foreign_parse(p, len, &k->foreign, &k->nforeign)) != 0) {
		report_error(context, "--foreign-ids: \"%s\": %s", path,
		    rr == ERR_LIMIT ? "too many identifiers" :
		    rr == ERR_FORMAT ? "holds a NUL byte" : err_str(rr));
		goto out;
	}
	if (k->nforeign == 0) {
		report_error(context, "--foreign-ids: \"%s\" lists no "
		    "identifiers", path);
		goto out;
	}
	r = 0;
 out:
	if (p != NULL) {
		sodium_memzero(p, len);
		free(p);
	}
	return r;
}

int
cmd_keys_load(const char *context, const char *identity,
    const char *passfile, int max_log_n, const char *signer,
    const char *foreign_file, struct cmd_keys *k)
{
	int r;

	memset(k, 0, sizeof(*k));
	if (identity != NULL && (r = load_identities(context, identity,
	    k)) != 0)
		goto fail;
	if (passfile != NULL && (r = load_passphrase(context, passfile,
	    max_log_n, k)) != 0)
		goto fail;
	if (signer != NULL && (r = load_signer(context, signer, k)) != 0)
		goto fail;
	if (foreign_file != NULL && (r = load_foreign(context, foreign_file,
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
	minisig_pubkey_free(k->signer);
	cmd_foreign_free(k->foreign, k->nforeign);
	memset(k, 0, sizeof(*k));
}

void
cmd_opts_fill(const struct cmd_args *a, const struct cmd_keys *k,
    struct verify_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->ids = k->ids;
	o->nids = k->nids;
	o->signer = k->signer;
	o->tenant = a->tenant;
	o->foreign = (const char *const *)k->foreign;
	o->nforeign = k->nforeign;
	o->strict_expiry = a->strict_expiry;
	o->exit_on_error = a->exit_on_error;
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
	if (cmd_keys_load("verify", a.identity, a.passfile, a.max_log_n,
	    a.signer, a.foreign_file, &k) != 0)
		goto out;
	cmd_opts_fill(&a, &k, &o);
	if ((r = verify_archive(a.archive, &o, &res, why, sizeof(why))) != 0) {
		report_error("verify", "%s", why[0] != '\0' ? why : err_str(r));
		goto out;
	}
	if (a.json) {
		if ((j = report_json(a.archive, res, k.signer)) == NULL ||
		    report_json_print(stdout, j) != 0) {
			report_error("verify", "cannot write the JSON report");
			goto out;
		}
	} else {
		report_findings(stderr, res);
		report_summary(stdout, a.archive, a.tenant, res, k.signer,
		    k.nforeign > 0);
	}
	ret = report_proven(res) ? CMD_EXIT_OK : CMD_EXIT_FAIL;
 out:
	json_decref(j);
	verify_result_free(res);
	cmd_keys_free(&k);
	return ret;
}
