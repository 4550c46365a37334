/*
 * check_beneath.c: reading a tenant's files without leaving its directory.
 *
 * A fixture of two tenants' directories (A and B) under a fresh root. The
 * monitor's side (beneath_open_dir) runs here; the builder's side runs in
 * a child that entered the sandbox with only B's directory descriptor, and
 * reports on its output pipe what it could open and read. Each attack is
 * a path a hostile or buggy application could have written in a file row
 * of B: it must be refused, and nothing of A may come out. The raw-call
 * attacks stand for a compromised builder that skips beneath_open_file.
 */
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beneath.h"
#include "err.h"
#include "sandbox.h"
#include "testutil.h"

static char root[4096];
static int have_device;

static void
write_file(const char *rel, const char *content)
{
	char p[8192];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(content, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(p, 0644), 0);
}

static void
mk(const char *rel)
{
	char p[8192];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	ck_assert_int_eq(mkdir(p, 0755), 0);
}

static void
link_at(const char *target, const char *rel)
{
	char p[8192];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	ck_assert_int_eq(symlink(target, p), 0);
}

static void
fixture(void)
{
	char *d = test_mkdtemp();
	char p[8192];

	snprintf(root, sizeof(root), "%s", d);
	free(d);
	/* The builder runs as nobody: the tree must be readable by others. */
	ck_assert_int_eq(chmod(root, 0755), 0);
	mk("A");
	mk("B");
	mk("B/sub");
	write_file("A/secret.pdf", "A-SECRET-CONTENT");
	write_file("B/ok.bin", "B content\n");
	write_file("B/sub/deep.txt", "deep B\n");
	snprintf(p, sizeof(p), "%s/A/secret.pdf", root);
	link_at("../A/secret.pdf", "B/link-to-a");
	link_at(p, "B/abs-link");
	link_at("../A", "B/dir-link");
	link_at("B", "C");	/* a tenant directory that is a symlink */
	snprintf(p, sizeof(p), "%s/B/fifo", root);
	ck_assert_int_eq(mkfifo(p, 0644), 0);
	snprintf(p, sizeof(p), "%s/B/null", root);
	have_device = mknod(p, S_IFCHR | 0644, makedev(1, 3)) == 0;
}

static void
teardown(void)
{
	test_rmtree(root);
}

/* ---- the builder's side, in a sandboxed child ---- */

struct job {
	int out_w, log_w;
	int dir;
	const char *paths[4];	/* opened one after the other */
	int (*raw)(struct job *);	/* instead: a compromised builder */
	int hold;		/* keep each file open (a second open) */
};

static void
put(int fd, const char *s)
{
	size_t n = strlen(s);
	ssize_t w;

	while (n > 0 && (w = write(fd, s, n)) > 0) {
		s += w;
		n -= (size_t)w;
	}
}

/* Opens, reads and prints one file; "refused WHY" when it cannot. */
static void
read_one(struct job *j, const char *rel)
{
	struct beneath_file f;
	const char *why = "?";
	char buf[256], line[400];
	ssize_t n;
	int r;

	r = beneath_open_file(j->dir, rel, strlen(rel), &f, &why);
	if (r != 0) {
		snprintf(line, sizeof(line), "refused %s: %s\n", err_str(r),
		    why);
		put(j->out_w, line);
		return;
	}
	n = read(f.fd, buf, sizeof(buf) - 1);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	if (beneath_recheck(&f, &why) != 0)
		put(j->out_w, "changed\n");
	snprintf(line, sizeof(line), "read %llu %s",
	    (unsigned long long)f.size, buf);
	put(j->out_w, line);
	if (!j->hold)
		close(f.fd);
}

static int
child_main(void *arg)
{
	struct job *j = arg;
	struct sandbox_policy p;
	char m[200];
	int r, e;
	size_t i;

	memset(&p, 0, sizeof(p));
	p.out_fd = j->out_w;
	p.log_fd = j->log_w;
	p.db_fd = -1;
	p.in_fd = -1;
	p.dir_fd = j->dir;
	if ((r = sandbox_enter(&p)) != 0) {
		snprintf(m, sizeof(m), "sandbox_enter: %s at %s (errno %d)\n",
		    err_str(r), sandbox_failed_step(&e), e);
		put(j->log_w, m);
		return 99;
	}
	put(j->out_w, "in\n");
	if (j->raw != NULL)
		return j->raw(j);
	for (i = 0; i < 4 && j->paths[i] != NULL; i++)
		read_one(j, j->paths[i]);
	return 0;
}

struct result {
	char out[4096];
	char log[2048];
	char msg[256];
	int status, r;
};

static void
drain(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;

	while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
}

/* Runs the child with B's directory and what it should try. */
static void
run_child(struct job *j, struct result *res)
{
	int op[2], lp[2];
	const char *why = NULL;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	ck_assert_int_eq(beneath_open_dir(root, "B", &j->dir, &why), 0);
	ck_assert_int_eq(pipe(op), 0);
	ck_assert_int_eq(pipe(lp), 0);
	j->out_w = op[1];
	j->log_w = lp[1];
	pid = sandbox_spawn(child_main, j);
	ck_assert_int_gt(pid, 0);
	close(op[1]);
	close(lp[1]);
	close(j->dir);
	drain(op[0], res->out, sizeof(res->out));
	drain(lp[0], res->log, sizeof(res->log));
	close(op[0]);
	close(lp[0]);
	res->r = sandbox_wait(pid, res->msg, sizeof(res->msg), &res->status);
}

/* Opens each path in turn and returns what the child printed. */
static void
try_paths(struct result *res, const char *a, const char *b)
{
	struct job j;

	memset(&j, 0, sizeof(j));
	j.paths[0] = a;
	j.paths[1] = b;
	run_child(&j, res);
	ck_assert_msg(res->r == 0, "%s; log: %s", res->msg, res->log);
	ck_assert_msg(strstr(res->out, "A-SECRET") == NULL,
	    "A's content came out: %s", res->out);
}

START_TEST(test_reads_own_files)
{
	struct result res;

	try_paths(&res, "ok.bin", "sub/deep.txt");
	ck_assert_str_eq(res.out, "in\nread 10 B content\nread 7 deep B\n");
}
END_TEST

static const struct {
	const char *path, *want;
} refused[] = {
	{ "../A/secret.pdf", "refused unsafe path: a \".\" or \"..\" component\n" },
	{ "sub/../../A/secret.pdf", "refused unsafe path: a \".\" or \"..\" component\n" },
	{ "/etc/passwd", "refused unsafe path: an absolute path\n" },
	{ "link-to-a", "refused unsafe path: a symbolic link on the way\n" },
	{ "abs-link", "refused unsafe path: a symbolic link on the way\n" },
	{ "dir-link/secret.pdf", "refused unsafe path: a symbolic link on the way\n" },
	{ "fifo", "refused unsafe path: not a regular file (a FIFO)\n" },
	{ "sub", "refused unsafe path: not a regular file (a directory)\n" },
	{ "missing.pdf", "refused no such file: no such file\n" },
	{ "sub//deep.txt", "refused unsafe path: an empty component (\"//\" or a trailing \"/\")\n" },
	{ "./ok.bin", "refused unsafe path: a \".\" or \"..\" component\n" },
};

START_TEST(test_refused)
{
	struct result res;
	char want[512];

	/* Each refusal is followed by a good read: the export could go on,
	 * and the refusal did not kill the child. */
	try_paths(&res, refused[_i].path, "ok.bin");
	snprintf(want, sizeof(want), "in\n%sread 10 B content\n",
	    refused[_i].want);
	ck_assert_msg(strcmp(res.out, want) == 0, "%s: got \"%s\"",
	    refused[_i].path, res.out);
}
END_TEST

START_TEST(test_device_refused)
{
	struct result res;

	if (!have_device) {
		printf("check_beneath: device_refused: skipped (mknod needs "
		    "root)\n");
		return;
	}
	try_paths(&res, "null", NULL);
	ck_assert_str_eq(res.out,
	    "in\nrefused unsafe path: not a regular file (a device)\n");
}
END_TEST

#define HELD	"in\nread 10 B content\nrefused "

/* Only one file at a time: a second descriptor cannot be had. */
START_TEST(test_one_file_at_a_time)
{
	struct result res;
	struct job j;

	memset(&j, 0, sizeof(j));
	j.paths[0] = "ok.bin";
	j.paths[1] = "sub/deep.txt";
	j.hold = 1;
	run_child(&j, &res);
	ck_assert_msg(res.r == 0, "%s; log: %s", res.msg, res.log);
	/* Refused at the open (no slot left under RLIMIT_NOFILE) or at
	 * fstat (a descriptor other than the one slot), whichever the
	 * layout of kept descriptors makes the first to bite. */
	ck_assert_msg(strncmp(res.out, HELD, strlen(HELD)) == 0 &&
	    strstr(res.out, "deep") == NULL, "%s", res.out);
}
END_TEST

/* ---- a compromised builder: raw calls without the path rule ---- */

static int
raw_openat2(struct job *j, const char *path, uint64_t resolve)
{
	struct open_how how;
	char line[64];
	long fd;

	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY;
	how.resolve = resolve;
	fd = syscall(SYS_openat2, j->dir, path, &how, sizeof(how));
	if (fd < 0) {
		snprintf(line, sizeof(line), "denied %d\n", errno);
		put(j->out_w, line);
		return 0;
	}
	put(j->out_w, "opened\n");
	return 0;
}

/* openat2 without RESOLVE_BENEATH: Landlock is the wall. */
static int
raw_dotdot(struct job *j)
{
	return raw_openat2(j, "../A/secret.pdf", 0);
}

static int
raw_absolute(struct job *j)
{
	char p[8192];

	snprintf(p, sizeof(p), "%s/A/secret.pdf", root);
	return raw_openat2(j, p, 0);
}

static int
raw_symlink(struct job *j)
{
	return raw_openat2(j, "link-to-a", 0);
}

START_TEST(test_landlock_without_resolve_flags)
{
	static int (*const raws[])(struct job *) = {
		raw_dotdot, raw_absolute, raw_symlink,
	};
	struct result res;
	struct job j;
	size_t i;

	for (i = 0; i < 3; i++) {
		memset(&j, 0, sizeof(j));
		j.raw = raws[i];
		run_child(&j, &res);
		ck_assert_msg(res.r == 0, "%s; log: %s", res.msg, res.log);
		ck_assert_msg(strcmp(res.out, "in\ndenied 13\n") == 0,
		    "attack %zu: %s", i, res.out);
	}
}
END_TEST

static int
raw_openat(struct job *j)
{
	int fd = openat(j->dir, "ok.bin", O_RDONLY);

	put(j->out_w, fd >= 0 ? "opened\n" : "denied\n");
	return 0;
}

static int
raw_open(struct job *j)
{
	char p[8192];
	int fd;

	snprintf(p, sizeof(p), "%s/A/secret.pdf", root);
	fd = open(p, O_RDONLY);
	put(j->out_w, fd >= 0 ? "opened\n" : "denied\n");
	return 0;
}

/* openat2 on another directory than the one handed over. */
static int
raw_openat2_cwd(struct job *j)
{
	j->dir = AT_FDCWD;
	return raw_openat2(j, "/etc/passwd", 0);
}

START_TEST(test_other_open_calls_killed)
{
	static int (*const raws[])(struct job *) = {
		raw_openat, raw_open, raw_openat2_cwd,
	};
	struct result res;
	struct job j;
	size_t i;

	for (i = 0; i < 3; i++) {
		memset(&j, 0, sizeof(j));
		j.raw = raws[i];
		run_child(&j, &res);
#ifdef TEXP_SANITIZER
		/* The sanitizer's runtime needs openat, which its build's
		 * filter allows: Landlock alone refuses the file then. */
		ck_assert_msg(strcmp(res.out, "in\n") == 0 ||
		    strcmp(res.out, "in\ndenied\n") == 0, "attack %zu: %s", i,
		    res.out);
#else
		ck_assert_msg(strcmp(res.out, "in\n") == 0, "attack %zu: %s",
		    i, res.out);
#endif
#ifndef TEXP_SANITIZER
		ck_assert_msg(WIFSIGNALED(res.status) &&
		    WTERMSIG(res.status) == SIGSYS, "attack %zu: %s", i,
		    res.msg);
#endif
	}
}
END_TEST

/* ---- the monitor's side ---- */

START_TEST(test_open_dir)
{
	const char *why = NULL;
	char linked[8192];
	int fd = -1;

	ck_assert_int_eq(beneath_open_dir(root, "B", &fd, &why), 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_PATH, O_PATH);
	close(fd);
	/* The tenant's directory is a symlink to another's. */
	ck_assert_int_eq(beneath_open_dir(root, "C", &fd, &why), ERR_PATH);
	ck_assert_int_eq(fd, -1);
	ck_assert_int_eq(beneath_open_dir(root, "D", &fd, &why), ERR_NOENT);
	ck_assert_int_eq(beneath_open_dir(root, "..", &fd, &why),
	    ERR_INVALID);
	ck_assert_int_eq(beneath_open_dir(root, "B/sub", &fd, &why),
	    ERR_INVALID);
	ck_assert_int_eq(beneath_open_dir(root, "", &fd, &why), ERR_INVALID);
	ck_assert_int_eq(beneath_open_dir("tmp", "B", &fd, &why),
	    ERR_INVALID);
	/* A symlink anywhere on the root's path. */
	snprintf(linked, sizeof(linked), "%s/B/root-link", root);
	ck_assert_int_eq(symlink(root, linked), 0);
	ck_assert_int_eq(beneath_open_dir(linked, "B", &fd, &why), ERR_PATH);
	ck_assert_ptr_nonnull(why);
	/* A file, not a directory. */
	ck_assert_int_eq(beneath_open_dir(root, "B/ok.bin", &fd, &why),
	    ERR_INVALID);
	snprintf(linked, sizeof(linked), "%s/B", root);
	ck_assert_int_eq(beneath_open_dir(linked, "ok.bin", &fd, &why),
	    ERR_PATH);
}
END_TEST

START_TEST(test_check_path)
{
	static const char *const good[] = {
		"a", "a/b/c.pdf", "..a", "a..", ".hidden", "a/.b/c",
		"Ünïcödé.pdf",
	};
	static const char *const bad[] = {
		"", "/a", "a/", "a//b", ".", "..", "a/./b", "a/../b", "../a",
		"a/..",
	};
	char longname[300];
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(beneath_check_path(good[i], strlen(good[i]),
		    &why) == 0, "%s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(beneath_check_path(bad[i], strlen(bad[i]),
		    &why) == ERR_PATH, "%s", bad[i]);
	ck_assert_int_eq(beneath_check_path("a\0b", 3, &why), ERR_PATH);
	memset(longname, 'x', 256);
	ck_assert_int_eq(beneath_check_path(longname, 256, &why), ERR_PATH);
	ck_assert_int_eq(beneath_check_path(longname, 255, &why), 0);
}
END_TEST

/* A file that changes after it was opened is noticed. */
START_TEST(test_recheck)
{
	struct beneath_file f;
	const char *why = NULL;
	char p[8192];
	int dir, w;

	ck_assert_int_eq(beneath_open_dir(root, "B", &dir, &why), 0);
	ck_assert_int_eq(beneath_open_file(dir, "ok.bin", 6, &f, &why), 0);
	ck_assert_uint_eq(f.size, 10);
	ck_assert_int_eq(beneath_recheck(&f, &why), 0);
	snprintf(p, sizeof(p), "%s/B/ok.bin", root);
	w = open(p, O_WRONLY | O_APPEND);
	ck_assert_int_ge(w, 0);
	ck_assert_int_eq(write(w, "more", 4), 4);
	close(w);
	ck_assert_int_eq(beneath_recheck(&f, &why), ERR_IO);
	ck_assert_str_eq(why, "the file changed while it was read");
	close(f.fd);
	close(dir);
}
END_TEST

/* The policy takes only an O_PATH directory. */
START_TEST(test_policy_dir_fd)
{
	struct sandbox_policy p;
	int op[2], lp[2], fd;
	pid_t pid;
	char msg[128];
	int st;

	ck_assert_int_eq(pipe(op), 0);
	ck_assert_int_eq(pipe(lp), 0);
	fd = open(root, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(fd, 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		memset(&p, 0, sizeof(p));
		p.out_fd = op[1];
		p.log_fd = lp[1];
		p.db_fd = p.in_fd = -1;
		p.dir_fd = fd;	/* not O_PATH */
		_exit(sandbox_enter(&p) == ERR_INVALID ? 0 : 1);
	}
	ck_assert_int_eq(sandbox_wait(pid, msg, sizeof(msg), &st), 0);
	close(fd);
	close(op[0]);
	close(op[1]);
	close(lp[0]);
	close(lp[1]);
}
END_TEST

static Suite *
beneath_suite(void)
{
	Suite *s = suite_create("beneath");
	TCase *tc = tcase_create("beneath");

	tcase_add_checked_fixture(tc, fixture, teardown);
	tcase_add_test(tc, test_check_path);
	tcase_add_test(tc, test_open_dir);
	tcase_add_test(tc, test_recheck);
	tcase_add_test(tc, test_policy_dir_fd);
	tcase_add_test(tc, test_reads_own_files);
	tcase_add_loop_test(tc, test_refused, 0,
	    sizeof(refused) / sizeof(refused[0]));
	tcase_add_test(tc, test_device_refused);
	tcase_add_test(tc, test_one_file_at_a_time);
	tcase_add_test(tc, test_landlock_without_resolve_flags);
	tcase_add_test(tc, test_other_open_calls_killed);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	sandbox_prepare_process();
	return test_run_suite(beneath_suite());
}
