/*
 * The conformance vectors (tests/vectors, FORMAT.md §10): tenant-verify
 * must give each one its expected result, and the rule it names must be
 * among the failures; and the vectors must be exactly what
 * tests/tools/texp-vectors writes from the format library today.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "testutil.h"

#define VEC_DIR		"tests/vectors"
#define MAX_FILES	16

struct vector {
	char expect[32];
	char rule[64];
	char tenant[128];
	char identity[128];
	char signer[128];
	char foreign[128];
	char archive[256];
	int strict;
	size_t nfiles;
	char fname[MAX_FILES][256];
	size_t fsize[MAX_FILES];
	const uint8_t *body;
	size_t body_len;
};

static char build[4096];

static void
setup(void)
{
	const char *b = getenv("TEXP_BUILD");

	snprintf(build, sizeof(build), "%s", b != NULL ? b : "build");
}

/* "key: value" into the vector; 0, or -1 for a line it does not know. */
static int
header_line(struct vector *v, const char *line)
{
	const char *val = strstr(line, ": ");
	size_t klen;

	if (val == NULL)
		return -1;
	klen = (size_t)(val - line);
	val += 2;
#define KEY(k) (klen == strlen(k) && strncmp(line, k, klen) == 0)
#define SET(f) snprintf(v->f, sizeof(v->f), "%s", val)
	if (KEY("expect")) SET(expect);
	else if (KEY("rule")) SET(rule);
	else if (KEY("tenant")) SET(tenant);
	else if (KEY("identity")) SET(identity);
	else if (KEY("signer")) SET(signer);
	else if (KEY("foreign-id")) SET(foreign);
	else if (KEY("archive")) SET(archive);
	else if (KEY("strict-expiry")) v->strict = strcmp(val, "yes") == 0;
	else if (KEY("description")) ;
	else if (KEY("file")) {
		const char *sp = strrchr(val, ' ');

		if (sp == NULL || v->nfiles == MAX_FILES)
			return -1;
		snprintf(v->fname[v->nfiles], sizeof(v->fname[0]), "%.*s",
		    (int)(sp - val), val);
		v->fsize[v->nfiles++] = strtoull(sp + 1, NULL, 10);
	} else
		return -1;
	return 0;
#undef KEY
#undef SET
}

/* Parses the text header; body points after the blank line. */
static void
vector_parse(const char *name, const uint8_t *p, size_t len,
    struct vector *v)
{
	const uint8_t *end = memmem(p, len, "\n\n", 2), *l, *nl;
	char line[1024];
	size_t total = 0, i;

	memset(v, 0, sizeof(*v));
	ck_assert_msg(end != NULL, "%s: no blank line", name);
	ck_assert_msg(len > 15 && memcmp(p, "texp-vector v1\n", 15) == 0,
	    "%s: not a texp-vector v1 file", name);
	for (l = p + 15; l <= end; l = nl + 1) {
		nl = memchr(l, '\n', (size_t)(end + 1 - l));
		ck_assert_uint_lt((size_t)(nl - l), sizeof(line));
		memcpy(line, l, (size_t)(nl - l));
		line[nl - l] = '\0';
		ck_assert_msg(header_line(v, line) == 0, "%s: line \"%s\"",
		    name, line);
	}
	v->body = end + 2;
	v->body_len = len - (size_t)(v->body - p);
	for (i = 0; i < v->nfiles; i++)
		total += v->fsize[i];
	ck_assert_msg(total == v->body_len, "%s: file sizes do not add up",
	    name);
	ck_assert_msg(strcmp(v->expect, "proven") == 0 ||
	    (strcmp(v->expect, "not proven") == 0 && v->rule[0] != '\0'),
	    "%s: bad expect/rule", name);
}

static void
put_file(const char *dir, const char *name, const void *p, size_t n)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	test_write_file(path, p, n);
}

/* 1 when a failure of the report has the given code, and its message
 * names the section of FORMAT.md ("§3: ...") as its "section" says. */
static int
has_code(json_t *report, const char *code)
{
	const char *sec, *msg;
	json_t *f;
	size_t i;

	json_array_foreach(json_object_get(report, "failures"), i, f) {
		if (strcmp(json_string_value(json_object_get(f, "code")),
		    code) != 0)
			continue;
		sec = json_string_value(json_object_get(f, "section"));
		msg = json_string_value(json_object_get(f, "message"));
		return sec != NULL && msg != NULL && strncmp(sec, "§", 2) == 0 &&
		    strncmp(msg, sec, strlen(sec)) == 0 &&
		    msg[strlen(sec)] == ':';
	}
	return 0;
}

/*
 * The vectors of files (FORMAT.md §3.4) are laid out, apart from their
 * one fault, as the writer lays out what their preamble says: this reader
 * reports their rule and nothing else. A second failure means that it
 * recomputed something from data that is not the archive's (the leaves of
 * a global table named as the files table once took an earlier table's
 * tenant hashes).
 */
static int
only_rule(const char *name)
{
	static const char *const prefix[] = { "bad-file-",
	    "bad-preamble-files-", "bad-evidence-file-", "forgery-file-" };
	size_t i;

	for (i = 0; i < sizeof(prefix) / sizeof(prefix[0]); i++)
		if (strncmp(name, prefix[i], strlen(prefix[i])) == 0)
			return 1;
	return 0;
}

/*
 * An archive that proves: inspect, given only the identity, names the
 * vector's tenant (as the records hold it: a uuid in lower case, an
 * integer as a number) and says the tenant hash names it.
 */
static int
inspect_agrees(const char *name, const struct vector *v, char *bin, char *id,
    char *arch, const char *out)
{
	char *argv[] = { bin, "inspect", "--identity", id, "--json", arch,
	    NULL };
	json_t *rep, *seen, *val;
	char num[32];
	const char *got;
	int st, ok = 0;

	st = test_run(argv, NULL, out);
	rep = json_load_file(out, 0, NULL);
	seen = json_object_get(rep, "tenant_seen");
	val = json_object_get(seen, "value");
	if (json_is_integer(val)) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(val));
		got = num;
	} else
		got = json_string_value(val);
	ok = st == 0 && got != NULL && strcasecmp(got, v->tenant) == 0 &&
	    json_is_true(json_object_get(seen, "hash_ok"));
	if (!ok)
		fprintf(stderr, "%s: inspect exit %d, tenant %s, wanted %s\n",
		    name, st, got != NULL ? got : "(none)", v->tenant);
	json_decref(rep);
	return ok;
}

/* Runs tenant-verify on one vector; returns 1 when it agrees. */
static int
vector_run(const char *name, const struct vector *v)
{
	char *dir = test_mkdtemp(), bin[4096], id[4096], pub[4096];
	char arch[4096], foreign[4096], out[4096], txt[512];
	char *argv[16];
	json_t *rep;
	json_error_t je;
	size_t i, off = 0;
	int n = 0, st, ok;

	for (i = 0; i < v->nfiles; off += v->fsize[i++])
		put_file(dir, v->fname[i], v->body + off, v->fsize[i]);
	snprintf(txt, sizeof(txt), "%s\n", v->identity);
	put_file(dir, "identity", txt, strlen(txt));
	snprintf(txt, sizeof(txt), "untrusted comment: vector signer\n%s\n",
	    v->signer);
	put_file(dir, "signer.pub", txt, strlen(txt));
	snprintf(bin, sizeof(bin), "%s/tenant-verify", build);
	snprintf(id, sizeof(id), "%s/identity", dir);
	snprintf(pub, sizeof(pub), "%s/signer.pub", dir);
	snprintf(arch, sizeof(arch), "%s/%s", dir, v->archive);
	snprintf(out, sizeof(out), "%s/report.json", dir);
	argv[n++] = bin;
	argv[n++] = "verify";
	argv[n++] = "--identity";
	argv[n++] = id;
	argv[n++] = "--signer";
	argv[n++] = pub;
	argv[n++] = "--tenant";
	argv[n++] = (char *)v->tenant;
	argv[n++] = "--json";
	if (v->strict)
		argv[n++] = "--strict-expiry";
	if (v->foreign[0] != '\0') {
		snprintf(foreign, sizeof(foreign), "%s/foreign", dir);
		snprintf(txt, sizeof(txt), "%s\n", v->foreign);
		put_file(dir, "foreign", txt, strlen(txt));
		argv[n++] = "--foreign-ids";
		argv[n++] = foreign;
	}
	argv[n++] = arch;
	argv[n] = NULL;
	st = test_run(argv, NULL, out);
	rep = json_load_file(out, 0, &je);
	if (rep == NULL) {
		fprintf(stderr, "%s: exit %d, no JSON report\n", name, st);
		ok = 0;
	} else if (strcmp(v->expect, "proven") == 0)
		ok = st == 0 && json_is_true(json_object_get(rep, "proven"));
	else
		ok = st == 1 && json_is_false(json_object_get(rep, "proven")) &&
		    has_code(rep, v->rule) && (!only_rule(name) ||
		    json_array_size(json_object_get(rep, "failures")) == 1);
	if (!ok && rep != NULL) {
		char *s = json_dumps(json_object_get(rep, "failures"), 0);

		fprintf(stderr, "%s: expected %s%s%s, exit %d: %s\n", name,
		    v->expect, v->rule[0] ? " " : "", v->rule, st, s);
		free(s);
	}
	json_decref(rep);
	if (ok && strncmp(name, "good-", 5) == 0)
		ok = inspect_agrees(name, v, bin, id, arch, out);
	test_rmtree(dir);
	free(dir);
	return ok;
}

static int
is_vec(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 4 && strcmp(d->d_name + n - 4, ".vec") == 0;
}

START_TEST(test_vectors)
{
	struct dirent **list;
	struct vector v;
	char path[4096];
	uint8_t *p;
	size_t len, bad = 0, good = 0, rules = 0;
	int i, n;

	n = scandir(VEC_DIR, &list, is_vec, alphasort);
	ck_assert_int_gt(n, 100);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", VEC_DIR, list[i]->d_name);
		p = test_read_file(path, &len);
		vector_parse(list[i]->d_name, p, len, &v);
		if (vector_run(list[i]->d_name, &v))
			good++;
		else
			bad++;
		rules += v.rule[0] != '\0';
		free(p);
		free(list[i]);
	}
	free(list);
	ck_assert_msg(bad == 0, "%zu of %zu vectors disagree", bad, bad + good);
	ck_assert_uint_gt(rules, 90);
}
END_TEST

/* The committed vectors are what the generator writes now, no more and
 * no less: a change to the format library shows here first. */
START_TEST(test_regenerated)
{
	char *dir = test_mkdtemp(), bin[4096], a[4096], b[4096];
	struct dirent **list;
	char *argv[4];
	uint8_t *p, *q;
	size_t lp, lq;
	int i, n, m;

	snprintf(bin, sizeof(bin), "%s/tests/tools/texp-vectors", build);
	argv[0] = bin;
	argv[1] = "--out";
	argv[2] = dir;
	argv[3] = NULL;
	ck_assert_int_eq(test_run(argv, NULL, NULL), 0);
	n = scandir(dir, &list, is_vec, alphasort);
	ck_assert_int_gt(n, 0);
	for (i = 0; i < n; i++) {
		snprintf(a, sizeof(a), "%s/%s", dir, list[i]->d_name);
		snprintf(b, sizeof(b), "%s/%s", VEC_DIR, list[i]->d_name);
		ck_assert_msg(access(b, F_OK) == 0, "%s is not committed "
		    "(run texp-vectors --out tests/vectors)", list[i]->d_name);
		p = test_read_file(a, &lp);
		q = test_read_file(b, &lq);
		ck_assert_msg(lp == lq && memcmp(p, q, lp) == 0, "%s differs "
		    "from what texp-vectors writes now", list[i]->d_name);
		free(p);
		free(q);
		free(list[i]);
	}
	free(list);
	m = scandir(VEC_DIR, &list, is_vec, alphasort);
	for (i = 0; i < m; i++)
		free(list[i]);
	free(list);
	ck_assert_msg(m == n, "tests/vectors holds %d vectors, the generator "
	    "writes %d", m, n);
	test_rmtree(dir);
	free(dir);
}
END_TEST

static Suite *
vectors_suite(void)
{
	Suite *s = suite_create("vectors");
	TCase *tc = tcase_create("conformance");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_vectors);
	tcase_add_test(tc, test_regenerated);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return test_run_suite(vectors_suite());
}
