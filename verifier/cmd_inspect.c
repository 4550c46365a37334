#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "age.h"
#include "buf.h"
#include "cmd.h"
#include "err.h"
#include "evidence.h"
#include "file.h"
#include "manifest.h"
#include "report.h"
#include "rule.h"
#include "seal.h"
#include "verify.h"

static const char inspect_usage[] =
"usage: tenant-verify inspect [--identity FILE | --passphrase-file FILE]\n"
"           [--max-work-factor N] [--json] ARCHIVE\n"
"\n"
"Prints what can be read without trusting anything: the layout (single\n"
"file or split, parts, size), the age header's recipient stanza types and\n"
"the signature file's comments and claims, marked unverified (no signer\n"
"key is pinned). With a key it also decrypts the archive, checks its\n"
"internal consistency and prints the manifest: tables, columns and types,\n"
"record counts. Nothing here proves the tenant or the signer: use verify.\n"
"\n"
"Exit status: 0 facts printed, 1 the archive is malformed or does not\n"
"decrypt, 2 usage or operational error.\n";

enum { OPT_IDENTITY = 256, OPT_PASSFILE, OPT_JSON, OPT_MAX_WF };

struct sigfacts {
	int present;
	int readable;		/* the four lines parsed */
	char untrusted[SEAL_COMMENT_MAX * 2];
	char trusted[SEAL_COMMENT_MAX * 2];
	int have_claims;
	struct seal_claims claims;
};

struct facts {
	const char *archive;
	uint64_t size;
	size_t parts;
	int header_r;		/* age_dec_new result */
	int armored;
	size_t nstanzas;
	const char *stanzas[AGE_MAX_STANZAS];
	struct sigfacts sig;
};

static int
parse_args(int argc, char **argv, const char **identity,
    const char **passfile, int *max_log_n, int *json, const char **archive)
{
	static const struct option opts[] = {
		{ "identity", required_argument, NULL, OPT_IDENTITY },
		{ "passphrase-file", required_argument, NULL, OPT_PASSFILE },
		{ "max-work-factor", required_argument, NULL, OPT_MAX_WF },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	long v;
	int c;

	*identity = *passfile = *archive = NULL;
	*json = 0;
	*max_log_n = AGE_SCRYPT_MAX_LOG_N_DEFAULT;
	opterr = 0;
	optind = 1;
	while ((c = cmd_getopt(argc, argv, "", opts)) != -1) {
		switch (c) {
		case OPT_IDENTITY:
			*identity = optarg;
			break;
		case OPT_PASSFILE:
			*passfile = optarg;
			break;
		case OPT_JSON:
			*json = 1;
			break;
		case OPT_MAX_WF:
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    v < 1 || v > AGE_SCRYPT_LOG_N_LIMIT) {
				cmd_usage_error("inspect", "--max-work-factor: "
				    "expected an integer from 1 to %d",
				    AGE_SCRYPT_LOG_N_LIMIT);
				return CMD_EXIT_USAGE;
			}
			*max_log_n = (int)v;
			break;
		case 'h':
			fputs(inspect_usage, stdout);
			return CMD_HELP;
		case ':':
			cmd_usage_error("inspect", "option '%s' needs an "
			    "argument", argv[optind - 1]);
			return CMD_EXIT_USAGE;
		default:
			cmd_usage_error("inspect", "unknown option '%s'",
			    argv[optind - 1]);
			return CMD_EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		cmd_usage_error("inspect", "expected one ARCHIVE");
		return CMD_EXIT_USAGE;
	}
	if (*identity != NULL && *passfile != NULL) {
		cmd_usage_error("inspect", "give at most one of --identity and "
		    "--passphrase-file");
		return CMD_EXIT_USAGE;
	}
	*archive = argv[optind];
	if (cmd_archive_check("inspect", *archive) != 0)
		return CMD_EXIT_USAGE;
	return 0;
}

/* Copies a comment line's text after prefix into out; 0 or ERR_FORMAT. */
static int
comment_get(struct buf *b, const char *prefix, char *out, size_t outlen)
{
	const uint8_t *l;
	size_t len, plen;
	int r;

	if ((r = buf_get_line(b, &l, &len, SEAL_MAX_SIGFILE)) ==
	    ERR_TRUNCATED) {
		len = buf_len(b);
		if ((r = buf_get_ptr(b, len, &l)) != 0)
			return r;
	} else if (r != 0)
		return r;
	if (prefix == NULL)
		return 0;
	plen = strlen(prefix);
	if (len < plen || memcmp(l, prefix, plen) != 0)
		return ERR_FORMAT;
	if (len - plen >= outlen || memchr(l + plen, '\0', len - plen) != NULL)
		return ERR_FORMAT;
	memcpy(out, l + plen, len - plen);
	out[len - plen] = '\0';
	return 0;
}

/* Reads the signature file beside the archive, without verifying it. */
static void
sig_read(const char *archive, size_t nparts, struct sigfacts *s)
{
	char path[4096];
	struct buf *b = NULL, *v = NULL;
	size_t alen = strlen(archive);
	int r;

	memset(s, 0, sizeof(*s));
	if (alen > 6 && strcmp(archive + alen - 6, ".index") == 0)
		snprintf(path, sizeof(path), "%s.minisig", archive);
	else
		snprintf(path, sizeof(path), "%s%s.minisig", archive,
		    nparts > 0 ? ".index" : "");
	r = file_read_small(AT_FDCWD, path, SEAL_MAX_SIGFILE, 0, &b);
	s->present = r == 0 || r == ERR_LIMIT;
	if (r != 0 || (v = buf_from(buf_ptr(b), buf_len(b))) == NULL ||
	    comment_get(v, "untrusted comment: ", s->untrusted,
	    sizeof(s->untrusted)) != 0 ||
	    comment_get(v, NULL, NULL, 0) != 0 ||
	    comment_get(v, "trusted comment: ", s->trusted,
	    sizeof(s->trusted)) != 0)
		goto out;
	s->readable = 1;
	if (seal_claims_parse(s->trusted, &s->claims) == 0)
		s->have_claims = 1;
 out:
	buf_free(v);
	buf_free(b);
}

static void
print_claims_text(const struct seal_claims *c)
{
	char hex[2 * EVIDENCE_HASH_LEN + 1], t[32];

	printf("  export id:       %s\n", evidence_hex(c->export_id,
	    MANIFEST_ID_LEN, hex));
	printf("  tenant hash:     %s\n", evidence_hex(c->tenant_hash,
	    EVIDENCE_HASH_LEN, hex));
	printf("  created:         %s\n", report_time(c->created, t, sizeof(t)));
	printf("  expires:         %s\n", report_time(c->expires, t, sizeof(t)));
	printf("  manifest digest: %s\n", evidence_hex(c->manifest_digest,
	    EVIDENCE_HASH_LEN, hex));
	printf("  parts:           %" PRIu64 "\n", c->parts);
	printf("  part size:       %" PRIu64 "\n", c->part_size);
}

/*
 * The tenant the records name: what a recipient needs for verify --tenant
 * when the sender did not say. A JSON string is shown without its quotes
 * when nothing in it needed escaping.
 */
static void
print_tenant_text(const struct verify_result *res)
{
	const char *t = res->tenant_seen;
	size_t n = strlen(t);

	if (n >= 2 && t[0] == '"' && strchr(t, '\\') == NULL)
		printf("tenant:          %.*s", (int)(n - 2), t + 1);
	else
		printf("tenant:          %s", t);
	printf(res->tenant_seen_ok ? " (as the records say, and the tenant "
	    "hash names it; verify --tenant proves it)\n" : " (as the first "
	    "record says; NOT the tenant the tenant hash names)\n");
}

static void
print_manifest_text(const struct manifest *m)
{
	char hex[2 * EVIDENCE_HASH_LEN + 1], t[32], safe[MANIFEST_MAX_TEXT * 2];
	char safe2[MANIFEST_MAX_NAME * 2];
	const struct manifest_table *tb;
	size_t i, c;

	printf("manifest (decrypted; tenant and signer not checked):\n");
	printf("  export id:       %s\n", evidence_hex(m->export_id,
	    MANIFEST_ID_LEN, hex));
	printf("  tenant hash:     %s\n", evidence_hex(m->tenant_hash,
	    EVIDENCE_HASH_LEN, hex));
	printf("  tenant key type: %s\n", report_safe(m->tenant_type != NULL ?
	    m->tenant_type : "", safe, sizeof(safe)));
	printf("  created:         %s\n", report_time(m->created, t, sizeof(t)));
	printf("  expires:         %s\n", report_time(m->expires, t, sizeof(t)));
	if (m->snapshot != NULL)
		printf("  snapshot:        %s\n", report_safe(m->snapshot, safe,
		    sizeof(safe)));
	if (m->since != NULL)
		printf("  since:           %s\n", report_safe(m->since, safe,
		    sizeof(safe)));
	if (m->until != NULL)
		printf("  until:           %s\n", report_safe(m->until, safe,
		    sizeof(safe)));
	printf("  global tables:   %s\n", m->include_global ? "included" :
	    "not included");
	printf("  compression:     %s\n", m->compression ? "zstd" : "none");
	printf("  part bytes:      %" PRIu64 "\n", m->part_bytes);
	for (i = 0; i < m->ntables; i++) {
		tb = &m->tables[i];
		printf("  table %s: %" PRIu64 " records, %" PRIu64 " parts, %"
		    PRIu64 " bytes%s\n", report_safe(tb->name, safe,
		    sizeof(safe)), tb->records, tb->parts, tb->bytes,
		    tb->tenant_column < 0 ? " (global)" : "");
		for (c = 0; c < tb->ncolumns; c++)
			printf("    %s %s%s\n", report_safe(tb->columns[c].name,
			    safe, sizeof(safe)), report_safe(tb->columns[c].type,
			    safe2, sizeof(safe2)), (int64_t)c == tb->tenant_column ?
			    " (tenant key)" : "");
	}
}

static json_t *
claims_json(const struct seal_claims *c)
{
	/* json_pack sees every argument at once: one buffer each. */
	char h1[2 * EVIDENCE_HASH_LEN + 1], h2[2 * EVIDENCE_HASH_LEN + 1];
	char h3[2 * EVIDENCE_HASH_LEN + 1], t1[32], t2[32];

	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}",
	    "export_id", evidence_hex(c->export_id, MANIFEST_ID_LEN, h1),
	    "tenant_hash", evidence_hex(c->tenant_hash, EVIDENCE_HASH_LEN, h2),
	    "created", report_time(c->created, t1, sizeof(t1)),
	    "expires", report_time(c->expires, t2, sizeof(t2)),
	    "manifest_digest", evidence_hex(c->manifest_digest,
	    EVIDENCE_HASH_LEN, h3), "parts", (json_int_t)c->parts,
	    "part_size", (json_int_t)c->part_size);
}

/* {"value": the tenant key as the records hold it, "hash_ok": bool}, or
 * null when no record of a tenant table was read. */
static json_t *
tenant_json(const struct verify_result *res)
{
	json_t *v;

	if (res->tenant_seen == NULL ||
	    (v = json_loads(res->tenant_seen, JSON_DECODE_ANY, NULL)) == NULL)
		return json_null();
	return json_pack("{s:o, s:b}", "value", v, "hash_ok",
	    res->tenant_seen_ok);
}

static json_t *
manifest_json(const struct manifest *m)
{
	char h1[2 * EVIDENCE_HASH_LEN + 1], h2[2 * EVIDENCE_HASH_LEN + 1];
	char t1[32], t2[32];
	json_t *o = NULL, *tables = NULL, *cols, *tj;
	const struct manifest_table *tb;
	size_t i, c;

	if ((tables = json_array()) == NULL)
		return NULL;
	for (i = 0; i < m->ntables; i++) {
		tb = &m->tables[i];
		if ((cols = json_array()) == NULL)
			goto fail;
		for (c = 0; c < tb->ncolumns; c++)
			if (json_array_append_new(cols, json_pack("{s:o, s:o}",
			    "name", report_json_str(tb->columns[c].name),
			    "type", report_json_str(tb->columns[c].type))) != 0) {
				json_decref(cols);
				goto fail;
			}
		tj = json_pack("{s:o, s:I, s:I, s:I, s:I, s:o}",
		    "name", report_json_str(tb->name),
		    "tenant_column", (json_int_t)tb->tenant_column,
		    "records", (json_int_t)tb->records,
		    "parts", (json_int_t)tb->parts,
		    "bytes", (json_int_t)tb->bytes, "columns", cols);
		if (json_array_append_new(tables, tj) != 0)
			goto fail;
	}
	o = json_pack("{s:s, s:s, s:o, s:s, s:s, s:o, s:o, s:o, s:b, s:s, s:I, "
	    "s:o}",
	    "export_id", evidence_hex(m->export_id, MANIFEST_ID_LEN, h1),
	    "tenant_hash", evidence_hex(m->tenant_hash, EVIDENCE_HASH_LEN, h2),
	    "tenant_type", report_json_str(m->tenant_type),
	    "created", report_time(m->created, t1, sizeof(t1)),
	    "expires", report_time(m->expires, t2, sizeof(t2)),
	    "snapshot", report_json_str(m->snapshot),
	    "since", report_json_str(m->since),
	    "until", report_json_str(m->until),
	    "include_global", m->include_global,
	    "compression", m->compression ? "zstd" : "none",
	    "part_bytes", (json_int_t)m->part_bytes,
	    "tables", tables);
	return o;
 fail:
	json_decref(tables);
	return NULL;
}

static int
print_json(const struct facts *f, const struct verify_result *res)
{
	json_t *o = NULL, *st = NULL, *sig = NULL, *fl = NULL, *e;
	size_t i;
	int r = ERR_NOMEM;

	if ((st = json_array()) == NULL || (fl = json_array()) == NULL)
		goto out;
	for (i = 0; i < f->nstanzas; i++)
		if (json_array_append_new(st,
		    report_json_str(f->stanzas[i])) != 0)
			goto out;
	if (res != NULL) {
		for (i = 0; i < res->nstored; i++) {
			e = json_pack("{s:s, s:s, s:o, s:b}",
			    "code", rule_code(res->findings[i].rule),
			    "section", rule_section(res->findings[i].rule),
			    "message", report_json_str(res->findings[i].msg),
			    "warning", res->findings[i].warning);
			if (json_array_append_new(fl, e) != 0)
				goto out;
		}
	}
	sig = json_pack("{s:b, s:b, s:o, s:o, s:o}",
	    "present", f->sig.present, "verified", 0,
	    "untrusted_comment", f->sig.readable ?
	    report_json_str(f->sig.untrusted) : json_null(),
	    "trusted_comment", f->sig.readable ?
	    report_json_str(f->sig.trusted) : json_null(),
	    "claims", f->sig.have_claims ? claims_json(&f->sig.claims) :
	    json_null());
	if (sig == NULL)
		goto out;
	o = json_pack("{s:o, s:s, s:I, s:I, s:o, s:b, s:O, s:O, s:o, s:O}",
	    "archive", report_json_str(f->archive),
	    "layout", f->parts > 0 ? "split" : "single",
	    "parts", (json_int_t)f->parts,
	    "size", (json_int_t)f->size,
	    "header_error", f->header_r != 0 ?
	    json_string(err_str(f->header_r)) : json_null(),
	    "armored", f->armored,
	    "stanzas", st,
	    "signature", sig,
	    "manifest", res != NULL && res->manifest != NULL ?
	    manifest_json(res->manifest) : json_null(),
	    "failures", fl);
	if (o == NULL)
		goto out;
	if (res != NULL && json_object_set_new(o, "content_ok",
	    json_boolean(res->content_ok)) != 0)
		goto out;
	if (res != NULL && json_object_set_new(o, "tenant_seen",
	    tenant_json(res)) != 0)
		goto out;
	r = report_json_print(stdout, o);
 out:
	json_decref(st);
	json_decref(sig);
	json_decref(fl);
	json_decref(o);
	return r;
}

static void
print_text(const struct facts *f, const struct verify_result *res)
{
	char safe[SEAL_COMMENT_MAX * 4];
	size_t i;

	printf("archive:         %s\n", report_safe(f->archive, safe,
	    sizeof(safe)));
	if (f->parts == 0)
		printf("layout:          single file, %" PRIu64 " bytes\n",
		    f->size);
	else
		printf("layout:          split, %zu parts, %" PRIu64 " bytes\n",
		    f->parts, f->size);
	if (f->header_r != 0)
		printf("age header:      unreadable (%s)\n",
		    err_str(f->header_r));
	else {
		printf("age header:      %zu stanza%s%s:", f->nstanzas,
		    f->nstanzas == 1 ? "" : "s", f->armored ? " (armored)" : "");
		for (i = 0; i < f->nstanzas; i++)
			printf(" %s", report_safe(f->stanzas[i], safe,
			    sizeof(safe)));
		printf("\n");
	}
	if (!f->sig.present)
		printf("signature:       missing\n");
	else if (!f->sig.readable)
		printf("signature:       present but malformed\n");
	else {
		printf("signature:       present, UNVERIFIED (no signer key "
		    "pinned; use verify)\n");
		printf("  untrusted comment: %s\n", report_safe(f->sig.untrusted,
		    safe, sizeof(safe)));
		printf("  trusted comment:   %s\n", report_safe(f->sig.trusted,
		    safe, sizeof(safe)));
		if (f->sig.have_claims) {
			printf("claims (unverified):\n");
			print_claims_text(&f->sig.claims);
		} else
			printf("claims:          not a tenant-export comment\n");
	}
	if (res == NULL) {
		printf("content:         not decrypted (no --identity or "
		    "--passphrase-file)\n");
		fflush(stdout);
		return;
	}
	report_findings(stderr, res);
	if (res->manifest != NULL)
		print_manifest_text(res->manifest);
	if (res != NULL && res->tenant_seen != NULL)
		print_tenant_text(res);
	printf("records:         %" PRIu64 " read\n", res->records);
	printf("content:         %s\n", res->content_ok && res->nfailures == 0 ?
	    "decrypted and internally consistent (tenant and signer NOT "
	    "checked)" : "FAILED");
	fflush(stdout);
}

int
cmd_inspect(int argc, char **argv)
{
	const char *identity, *passfile, *archive, *t;
	struct verify_result *res = NULL;
	struct seal_reader *sr = NULL;
	struct age_dec *dec = NULL;
	struct verify_opts o;
	struct cmd_keys k;
	struct facts f;
	char why[512];
	size_t i;
	int json, max_log_n, r, ret = CMD_EXIT_USAGE;

	memset(&k, 0, sizeof(k));
	memset(&f, 0, sizeof(f));
	if ((r = parse_args(argc, argv, &identity, &passfile, &max_log_n,
	    &json, &archive)) != 0)
		return r == CMD_HELP ? CMD_EXIT_OK : r;
	if (cmd_keys_load("inspect", identity, passfile, max_log_n, NULL,
	    &k) != 0)
		goto out;
	if ((r = seal_reader_open(archive, &sr, why, sizeof(why))) != 0) {
		report_error("inspect", "%s", why[0] != '\0' ? why : err_str(r));
		ret = r == ERR_NOENT || r == ERR_IO || r == ERR_NOMEM ||
		    r == ERR_INVALID ? CMD_EXIT_USAGE : CMD_EXIT_FAIL;
		goto out;
	}
	f.archive = archive;
	f.size = seal_reader_size(sr);
	f.parts = seal_reader_nparts(sr);
	if ((f.header_r = age_dec_new(seal_reader_read, sr, &dec)) == 0) {
		f.armored = age_dec_armored(dec);
		f.nstanzas = age_dec_stanza_count(dec);
		if (f.nstanzas > AGE_MAX_STANZAS)
			f.nstanzas = AGE_MAX_STANZAS;
		for (i = 0; i < f.nstanzas; i++)
			f.stanzas[i] = (t = age_dec_stanza_type(dec, i)) != NULL ?
			    t : "?";
	}
	sig_read(archive, f.parts, &f.sig);
	if (k.nids > 0 && f.header_r == 0) {
		/* verify_stream reads from the first byte again. */
		if ((r = seal_reader_rewind(sr)) != 0) {
			report_error("inspect", "cannot rewind the archive: %s",
			    err_str(r));
			goto out;
		}
		memset(&o, 0, sizeof(o));
		o.ids = k.ids;
		o.nids = k.nids;
		o.tenant = NULL;	/* nothing to compare: facts only */
		if ((r = verify_stream(seal_reader_read, sr, &o, &res)) != 0) {
			report_error("inspect", "cannot decrypt: %s", err_str(r));
			goto out;
		}
	}
	if (json)
		r = print_json(&f, res);
	else {
		print_text(&f, res);
		r = 0;
	}
	if (r != 0) {
		report_error("inspect", "cannot write the report");
		goto out;
	}
	ret = CMD_EXIT_OK;
	if (f.header_r != 0 || (res != NULL && (!res->content_ok ||
	    res->nfailures > 0)))
		ret = CMD_EXIT_FAIL;
 out:
	/* The stanza types point into dec: free it only after printing. */
	age_dec_free(dec);
	verify_result_free(res);
	seal_reader_free(sr);
	cmd_keys_free(&k);
	return ret;
}
