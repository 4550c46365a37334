#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cmd.h"
#include "err.h"
#include "evidence.h"
#include "extract.h"
#include "report.h"
#include "verify.h"

static json_t *
files_json(const struct cmd_args *a, const struct extract *x)
{
	json_t *o = NULL, *files = NULL, *e;
	size_t i;

	if ((o = json_object()) == NULL || (files = json_array()) == NULL)
		goto fail;
	for (i = 0; i < extract_nfiles(x); i++) {
		if ((e = json_object()) == NULL)
			goto fail;
		if (json_object_set_new(e, "name",
		    json_string(extract_file_name(x, i))) != 0 ||
		    json_object_set_new(e, "records", json_integer(
		    (json_int_t)extract_file_records(x, i))) != 0 ||
		    json_array_append_new(files, e) != 0)
			goto fail;
	}
	if (json_object_set_new(o, "dir", report_json_str(a->out)) != 0 ||
	    json_object_set_new(o, "format", json_string(a->format)) != 0 ||
	    json_object_set_new(o, "files", files) != 0)
		goto fail;
	return o;
 fail:
	json_decref(files);
	json_decref(o);
	return NULL;
}

static int
print_result(const struct cmd_args *a, const struct verify_result *res,
    const struct cmd_keys *k, const struct extract *x)
{
	json_t *j = NULL, *f = NULL;
	char safe[512];
	size_t i;
	int r = ERR_NOMEM;

	if (a->json) {
		if ((j = report_json(a->archive, res,
		    (const struct minisig_pubkey *const *)k->signers,
		    k->nsigners)) == NULL)
			goto out;
		if (x != NULL) {
			if ((f = files_json(a, x)) == NULL ||
			    json_object_set_new(j, "extracted", f) != 0)
				goto out;
		} else if (json_object_set_new(j, "extracted", json_null()) != 0)
			goto out;
		r = report_json_print(stdout, j);
		goto out;
	}
	report_findings(stderr, res);
	report_summary(stdout, a->archive, a->tenant, res,
	    (const struct minisig_pubkey *const *)k->signers, k->nsigners,
	    k->foreign != NULL);
	if (x != NULL) {
		for (i = 0; i < extract_nfiles(x); i++) {
			if (i + 1 == extract_nfiles(x))
				printf("wrote:           %s/%s (receipt)\n",
				    report_safe(a->out, safe, sizeof(safe)),
				    extract_file_name(x, i));
			else
				printf("wrote:           %s/%s: %" PRIu64
				    " records\n", report_safe(a->out, safe,
				    sizeof(safe)), extract_file_name(x, i),
				    extract_file_records(x, i));
		}
		if (extract_files_count(x) > 0)
			printf("wrote:           %s/files/: %" PRIu64 " files\n",
			    report_safe(a->out, safe, sizeof(safe)),
			    extract_files_count(x));
	}
	r = fflush(stdout) == 0 ? 0 : ERR_IO;
 out:
	json_decref(j);
	return r;
}

int
cmd_extract(int argc, char **argv)
{
	struct verify_result *res = NULL, *res2 = NULL;
	struct verify_opts o;
	struct verify_sink sink;
	struct extract *x = NULL;
	enum extract_format fmt;
	struct cmd_keys k;
	struct cmd_args a;
	char why[512];
	int r, ret = CMD_EXIT_USAGE;

	memset(&k, 0, sizeof(k));
	if ((r = cmd_args_parse(1, argc, argv, &a)) != 0)
		return r == CMD_HELP ? CMD_EXIT_OK : r;
	if (extract_format_parse(a.format, &fmt) != 0) {
		cmd_usage_error("extract", "--format: expected jsonl, csv or "
		    "cbor");
		return CMD_EXIT_USAGE;
	}
	if (cmd_keys_load("extract", a.identity, a.passfile, a.max_log_n, &a,
	    &k) != 0)
		goto out;
	if ((r = extract_open(a.out, fmt, &x, why, sizeof(why))) != 0) {
		report_error("extract", "%s", why[0] != '\0' ? why : err_str(r));
		goto out;
	}
	cmd_opts_fill(&a, &k, &o);

	/* Pass 1: prove before a single byte of plaintext is written. */
	if ((r = verify_archive(a.archive, &o, &res, why, sizeof(why))) != 0) {
		report_error("extract", "%s", why[0] != '\0' ? why : err_str(r));
		goto out;
	}
	if (!report_proven(res)) {
		print_result(&a, res, &k, NULL);
		report_error("extract", "archive not proven; nothing "
		    "extracted");
		ret = CMD_EXIT_FAIL;
		goto out;
	}
	if (res->manifest != NULL &&
	    (r = extract_prepare(x, res->manifest, why, sizeof(why))) != 0) {
		report_error("extract", "%s", why);
		/* A name that would escape the directory is the archive's
		 * fault; an existing file is the operator's. */
		ret = r == ERR_PATH ? CMD_EXIT_FAIL : CMD_EXIT_USAGE;
		goto out;
	}

	/* Pass 2: the same proof, now feeding the sink. */
	extract_sink(x, &sink);
	o.sink = &sink;
	o.now = (uint64_t)time(NULL);
	if ((r = verify_archive(a.archive, &o, &res2, why, sizeof(why))) != 0) {
		report_error("extract", "%s", why[0] != '\0' ? why : err_str(r));
		goto out;
	}
	if (!report_proven(res2) ||
	    sodium_memcmp(res->manifest_digest, res2->manifest_digest,
	    sizeof(res->manifest_digest)) != 0) {
		print_result(&a, res2, &k, NULL);
		if (extract_error(x)[0] != '\0')
			report_error("extract", "%s", extract_error(x));
		if (report_proven(res2))
			report_error("extract", "archive changed between the "
			    "two passes");
		report_error("extract", "nothing extracted");
		ret = CMD_EXIT_FAIL;
		/* Someone created one of our files meanwhile: operational. */
		if (extract_error_code(x) == ERR_EXISTS)
			ret = CMD_EXIT_USAGE;
		goto out;
	}
	if ((r = extract_commit(x, why, sizeof(why))) != 0) {
		report_error("extract", "%s; nothing extracted", why);
		goto out;
	}
	if (print_result(&a, res2, &k, x) != 0) {
		report_error("extract", "cannot write the report");
		goto out;
	}
	ret = CMD_EXIT_OK;
 out:
	extract_free(x);
	verify_result_free(res);
	verify_result_free(res2);
	cmd_keys_free(&k);
	return ret;
}
