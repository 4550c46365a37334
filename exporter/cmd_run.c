/*
 * tenant-export run: one tenant's export, end to end (export.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cmd.h"
#include "config.h"
#include "err.h"
#include "evidence.h"
#include "export.h"

#define MAX_LIST 256

static void
run_usage(FILE *f)
{
	fprintf(f,
"usage: tenant-export run --config FILE --tenant ID [options]\n"
"\n"
"Exports one tenant's rows into a signed, encrypted archive in the outbox.\n"
"\n"
"  --config FILE              configuration (see docs/DATABASE.md)\n"
"  --tenant ID                the tenant key value to export\n"
"  --tables S.T[,S.T...]      only these tables (default: every tenant table)\n"
"  --since T, --until T       date window on each table's date_column\n"
"                             (tables without one are exported whole)\n"
"  --include-global           also export tables classified global\n"
"  --allow-empty              publish even if the tenant has no rows\n"
"  --out DIR                  outbox directory (default: [export] outbox)\n"
"  --recipient age1...        encrypt to this recipient (repeatable;\n"
"                             replaces the configured recipients)\n"
"  --passphrase               encrypt with a new random passphrase, shown\n"
"                             once on the terminal and never stored\n"
"  --passphrase-out FILE      write that passphrase to a new 0600 file\n"
"  --sign-passphrase-file F   passphrase of an encrypted signing key\n"
"  --zstd                     compress the archive content\n"
"  --json                     print a JSON summary on stdout\n"
"  --quiet                    no progress on the terminal\n"
"\n"
"Exit status: 0 archive published; 1 the export failed or was refused\n"
"(lint findings, no rows, builder or checker failure); 2 usage or\n"
"operational error (configuration, database unreachable, outbox).\n");
}

static int
split_list(char *s, const char **out, size_t *n)
{
	char *tok, *save = NULL;

	for (tok = strtok_r(s, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (*n >= MAX_LIST)
			return -1;
		out[(*n)++] = tok;
	}
	return 0;
}

/* 120 random bits as 24 characters from a 32-letter alphabet without
 * look-alikes, in groups of four. */
static char *
make_passphrase(void)
{
	static const char alpha[] = "abcdefghijkmnpqrstuvwxyz23456789";
	uint8_t rnd[24];
	char *p = sodium_malloc(30);
	size_t i, k = 0;

	if (p == NULL)
		return NULL;
	randombytes_buf(rnd, sizeof(rnd));
	for (i = 0; i < 24; i++) {
		if (i > 0 && i % 4 == 0)
			p[k++] = '-';
		p[k++] = alpha[rnd[i] & 31];
	}
	p[k] = '\0';
	sodium_memzero(rnd, sizeof(rnd));
	return p;
}

static int
show_passphrase(const char *pass, const char *out_file)
{
	int fd;
	FILE *f;

	if (out_file != NULL) {
		fd = open(out_file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd < 0) {
			fprintf(stderr, "tenant-export: run: cannot create "
			    "\"%s\": %s\n", out_file, strerror(errno));
			return -1;
		}
		if (write(fd, pass, strlen(pass)) != (ssize_t)strlen(pass) ||
		    write(fd, "\n", 1) != 1 || fsync(fd) != 0) {
			close(fd);
			unlink(out_file);
			fprintf(stderr, "tenant-export: run: cannot write \"%s\"\n",
			    out_file);
			return -1;
		}
		close(fd);
		return 0;
	}
	if ((f = fopen("/dev/tty", "w")) == NULL) {
		fprintf(stderr, "tenant-export: run: no terminal to show the "
		    "passphrase on; give --passphrase-out FILE\n");
		return -1;
	}
	fprintf(f, "Archive passphrase (shown once, not stored; give it to "
	    "the recipient by another channel):\n\n    %s\n\n", pass);
	fclose(f);
	return 0;
}

struct progress {
	int on;
	time_t start;
};

static void
progress(void *ctx, uint64_t rows, uint64_t bytes)
{
	struct progress *p = ctx;
	double secs;

	if (!p->on)
		return;
	secs = difftime(time(NULL), p->start);
	fprintf(stderr, "\r  %llu rows, %.1f MB read, %.0f rows/s    ",
	    (unsigned long long)rows, (double)bytes / 1e6,
	    secs > 0 ? (double)rows / secs : (double)rows);
}

static void
iso_time(uint64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
print_json(const struct export_result *res)
{
	char id[33], th[65], md[65], c[32], e[32];
	json_t *o = json_object(), *tabs = json_array();
	size_t i;
	char *s;

	evidence_hex(res->export_id, sizeof(res->export_id), id);
	evidence_hex(res->tenant_hash, sizeof(res->tenant_hash), th);
	evidence_hex(res->manifest_digest, sizeof(res->manifest_digest), md);
	iso_time(res->created, c, sizeof(c));
	iso_time(res->expires, e, sizeof(e));
	for (i = 0; i < res->ntables; i++) {
		json_t *t = json_object();

		json_object_set_new(t, "name", json_string(res->tables[i].name));
		json_object_set_new(t, "records",
		    json_integer((json_int_t)res->tables[i].records));
		json_array_append_new(tabs, t);
	}
	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "archive", json_string(res->archive));
	json_object_set_new(o, "export_id", json_string(id));
	json_object_set_new(o, "tenant_hash", json_string(th));
	json_object_set_new(o, "manifest_digest", json_string(md));
	json_object_set_new(o, "created", json_string(c));
	json_object_set_new(o, "expires", json_string(e));
	json_object_set_new(o, "records", json_integer((json_int_t)res->records));
	json_object_set_new(o, "parts", json_integer((json_int_t)res->parts));
	json_object_set_new(o, "tables", tabs);
	json_object_set_new(o, "peak_rss_kib", json_pack("{s:I,s:I,s:I}",
	    "monitor", (json_int_t)res->monitor_rss_kib,
	    "builder", (json_int_t)res->builder_rss_kib,
	    "children", (json_int_t)res->checker_rss_kib));
	s = json_dumps(o, JSON_INDENT(2));
	if (s != NULL)
		printf("%s\n", s);
	free(s);
	json_decref(o);
}

static void
print_json_error(int r, const char *msg)
{
	json_t *o = json_object();
	char *s;

	json_object_set_new(o, "ok", json_false());
	json_object_set_new(o, "error", json_string(err_str(r)));
	json_object_set_new(o, "message", json_string(msg));
	s = json_dumps(o, JSON_INDENT(2));
	if (s != NULL)
		printf("%s\n", s);
	free(s);
	json_decref(o);
}

static int
exit_code(int r)
{
	switch (r) {
	case ERR_USAGE:
	case ERR_CONFIG:
	case ERR_IO:
	case ERR_DB:
	case ERR_NOMEM:
	case ERR_NOENT:
	case ERR_PERM:
	case ERR_PASSPHRASE:
	case ERR_INVALID:
		return CMD_EXIT_USAGE;
	}
	return CMD_EXIT_FAIL;
}

int
cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "tenant", required_argument, NULL, 't' },
		{ "tables", required_argument, NULL, 'T' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "include-global", no_argument, NULL, 'g' },
		{ "allow-empty", no_argument, NULL, 'e' },
		{ "out", required_argument, NULL, 'o' },
		{ "recipient", required_argument, NULL, 'r' },
		{ "passphrase", no_argument, NULL, 'p' },
		{ "passphrase-out", required_argument, NULL, 'P' },
		{ "sign-passphrase-file", required_argument, NULL, 'S' },
		{ "zstd", no_argument, NULL, 'z' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *tables[MAX_LIST], *rcp[MAX_LIST];
	struct export_request q;
	struct export_result res;
	struct config *cfg = NULL;
	struct progress pr = { 0, 0 };
	const char *config = NULL, *pass_out = NULL;
	char err[1024], *pass = NULL, c1[32], c2[32];
	int c, json = 0, quiet = 0, want_pass = 0, r, rc = CMD_EXIT_USAGE;

	memset(&q, 0, sizeof(q));
	memset(&res, 0, sizeof(res));
	q.tables = tables;
	q.recipients = rcp;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 't': q.tenant = optarg; break;
		case 'T':
			if (split_list(optarg, tables, &q.ntables) != 0)
				goto usage;
			break;
		case 's': q.since = optarg; break;
		case 'u': q.until = optarg; break;
		case 'g': q.include_global = 1; break;
		case 'e': q.allow_empty = 1; break;
		case 'o': q.outdir = optarg; break;
		case 'r':
			if (q.nrecipients >= MAX_LIST)
				goto usage;
			rcp[q.nrecipients++] = optarg;
			break;
		case 'p': want_pass = 1; break;
		case 'P': pass_out = optarg; want_pass = 1; break;
		case 'S': q.sign_pass_file = optarg; break;
		case 'z': q.zstd = 1; break;
		case 'j': json = 1; break;
		case 'q': quiet = 1; break;
		case 'h': run_usage(stdout); return CMD_EXIT_OK;
		default: goto usage;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "tenant-export: run: unexpected argument \"%s\"\n",
		    argv[optind]);
		goto usage;
	}
	if (config == NULL || q.tenant == NULL) {
		fprintf(stderr, "tenant-export: run: --config and --tenant are "
		    "required\n");
		goto usage;
	}
	if (want_pass && q.nrecipients > 0) {
		fprintf(stderr, "tenant-export: run: --passphrase and "
		    "--recipient cannot be combined\n");
		goto usage;
	}
	if ((r = config_load(config, &cfg, err, sizeof(err))) != 0) {
		fprintf(stderr, "tenant-export: run: %s\n", err);
		if (json)
			print_json_error(r, err);
		return CMD_EXIT_USAGE;
	}
	q.cfg = cfg;
	if (want_pass) {
		if (sodium_init() < 0 || (pass = make_passphrase()) == NULL) {
			fprintf(stderr, "tenant-export: run: out of memory\n");
			goto out;
		}
		q.passphrase = pass;
	}
	pr.on = !quiet && !json && isatty(2);
	pr.start = time(NULL);
	q.progress = progress;
	q.progress_ctx = &pr;
	r = export_run(&q, &res, err, sizeof(err));
	if (pr.on)
		fprintf(stderr, "\n");
	if (r != 0) {
		fprintf(stderr, "tenant-export: run: %s\n", err);
		if (json)
			print_json_error(r, err);
		rc = exit_code(r);
		goto out;
	}
	/* Shown only once the archive exists: a failed export needs none. */
	if (pass != NULL && show_passphrase(pass, pass_out) != 0) {
		fprintf(stderr, "tenant-export: run: the archive \"%s\" was "
		    "published but its passphrase could not be handed over; "
		    "delete it and export again\n", res.archive);
		rc = CMD_EXIT_USAGE;
		goto out;
	}
	if (json)
		print_json(&res);
	else {
		iso_time(res.created, c1, sizeof(c1));
		iso_time(res.expires, c2, sizeof(c2));
		printf("tenant-export: exported %llu records from %zu tables\n"
		    "  archive:   %s\n  signature: %s.minisig\n"
		    "  created:   %s\n  expires:   %s\n",
		    (unsigned long long)res.records, res.ntables, res.archive,
		    res.archive, c1, c2);
	}
	rc = CMD_EXIT_OK;
	goto out;
 usage:
	run_usage(stderr);
	rc = CMD_EXIT_USAGE;
 out:
	if (pass != NULL)
		sodium_free(pass);
	export_result_clear(&res);
	config_free(cfg);
	return rc;
}
