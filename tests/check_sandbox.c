/*
 * check_sandbox.c: every attack runs in a forked child that entered the
 * sandbox with a pipe as its output; the parent asserts how the child died
 * and what came out of the pipe. Each attack first proves that the child is
 * alive inside the sandbox (it writes "in\n"), so a child that died earlier
 * for another reason fails the test instead of passing it.
 */
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "err.h"
#include "sandbox.h"
#include "testutil.h"

#define OUT_MAX		(1 << 20)

struct child {
	/* the child's ends */
	int out_w, log_w, in_r, db, peer;
	/* the parent's ends */
	int out_r, log_r, in_w, db_parent, peer_parent;
	size_t mem;
	unsigned cpu;
	int want_in;		/* give the child a read-only input pipe */
	int want_db;		/* give the child a socketpair as its "db" */
	int want_peer;		/* and a second one as its peer (the relay) */
	void (*before)(struct child *);	/* runs before sandbox_enter */
	int (*body)(struct child *);	/* runs inside the sandbox */
	void *arg;
};

struct result {
	char out[OUT_MAX + 1];
	size_t out_len;
	char log[8192];
	size_t log_len;
	char msg[256];
	int status;
	int r;
};

static void read_line_until(int fd, char *buf, size_t len, const char *stop);

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

static int
child_main(void *arg)
{
	struct child *c = arg;
	struct sandbox_policy p;
	int r, e;

	if (c->before != NULL)
		c->before(c);
	memset(&p, 0, sizeof(p));
	p.peer_fd = c->peer;
	p.out_fd = c->out_w;
	p.log_fd = c->log_w;
	p.db_fd = c->db;
	p.in_fd = c->in_r;
	p.mem_limit = c->mem;
	p.cpu_seconds = c->cpu;
	if ((r = sandbox_enter(&p)) != 0) {
		char m[200];

		snprintf(m, sizeof(m), "sandbox_enter: %s at %s (errno %d)\n",
		    err_str(r), sandbox_failed_step(&e), e);
		put(c->log_w, m);
		return 99;
	}
	put(c->out_w, "in\n");
	return c->body(c);
}

static void
setup(struct child *c)
{
	int op[2], lp[2], ip[2] = { -1, -1 }, sp[2] = { -1, -1 };
	int pp[2] = { -1, -1 };

	ck_assert_int_eq(pipe(op), 0);
	ck_assert_int_eq(pipe(lp), 0);
	if (c->want_in)
		ck_assert_int_eq(pipe(ip), 0);
	if (c->want_db)
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	if (c->want_peer)
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, pp), 0);
	c->out_r = op[0];
	c->out_w = op[1];
	c->log_r = lp[0];
	c->log_w = lp[1];
	c->in_r = ip[0];
	c->in_w = ip[1];
	c->db = sp[0];
	c->db_parent = sp[1];
	c->peer = pp[0];
	c->peer_parent = pp[1];
}

/* Reads both pipes to EOF (without deadlocking on either), then waits. */
static void
collect(struct child *c, pid_t pid, struct result *res)
{
	struct pollfd pfd[2] = { { c->out_r, POLLIN, 0 }, { c->log_r, POLLIN, 0 } };
	int open_fds = 2;

	while (open_fds > 0) {
		int i;

		ck_assert_int_ge(poll(pfd, 2, 30000), 1);
		for (i = 0; i < 2; i++) {
			char tmp[4096];
			ssize_t n;

			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			n = read(pfd[i].fd, tmp, sizeof(tmp));
			ck_assert_int_ge(n, 0);
			if (n == 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open_fds--;
				continue;
			}
			if (i == 0) {
				ck_assert_uint_le(res->out_len + (size_t)n, OUT_MAX);
				memcpy(res->out + res->out_len, tmp, (size_t)n);
				res->out_len += (size_t)n;
			} else if (res->log_len + (size_t)n < sizeof(res->log)) {
				memcpy(res->log + res->log_len, tmp, (size_t)n);
				res->log_len += (size_t)n;
			}
		}
	}
	res->out[res->out_len] = '\0';
	res->log[res->log_len] = '\0';
	res->r = sandbox_wait(pid, res->msg, sizeof(res->msg), &res->status);
	if (c->in_w >= 0)
		close(c->in_w);
	if (c->db_parent >= 0)
		close(c->db_parent);
	if (c->peer_parent >= 0)
		close(c->peer_parent);
}

static void
close_child_ends(struct child *c)
{
	close(c->out_w);
	close(c->log_w);
	if (c->in_r >= 0)
		close(c->in_r);
	if (c->db >= 0)
		close(c->db);
	if (c->peer >= 0)
		close(c->peer);
}

static struct result *
run(struct child *c)
{
	struct result *res = calloc(1, sizeof(*res));
	pid_t pid;

	ck_assert_ptr_nonnull(res);
	setup(c);
	pid = sandbox_spawn(child_main, c);
	ck_assert_int_gt(pid, 0);
	close_child_ends(c);
	collect(c, pid, res);
	return res;
}

/* The child entered the sandbox, then the attack killed it with SIGSYS
 * before it could report success. */
static void
assert_killed(int (*body)(struct child *), int want_in, int want_db)
{
	struct child c = { .body = body, .want_in = want_in,
	    .want_db = want_db != 0, .want_peer = want_db > 1 };
	struct result *res = run(&c);

	ck_assert_msg(strcmp(res->out, "in\n") == 0,
	    "child output \"%s\", log \"%s\"", res->out, res->log);
	ck_assert_int_eq(res->r, ERR_CHILD);
	ck_assert_msg(strstr(res->msg, "SIGSYS") != NULL, "message: %s",
	    res->msg);
#ifndef TEXP_SANDBOX_DEBUG
	ck_assert(WIFSIGNALED(res->status) && WTERMSIG(res->status) == SIGSYS);
#endif
	free(res);
}

/* ---- attacks: each returns only if the sandbox failed to stop it ---- */

static int
survived(struct child *c)
{
	put(c->out_w, "survived\n");
	return 0;
}

/* Reports what open did if the child is still alive afterwards. */
static int
open_result(struct child *c, int fd)
{
	char m[64];

	if (fd >= 0)
		snprintf(m, sizeof(m), "OPENED\n");
	else
		snprintf(m, sizeof(m), "denied %d\n", errno);
	put(c->out_w, m);
	return survived(c);
}

static int
atk_open(struct child *c)
{
	int fd = (int)syscall(SYS_open, "/etc/passwd", O_RDONLY);

	return open_result(c, fd);
}

static int
atk_openat(struct child *c)
{
	int fd = openat(AT_FDCWD, "/etc/passwd", O_RDONLY);

	return open_result(c, fd);
}

static int
atk_creat(struct child *c)
{
	int fd = open("/tmp/texp-sandbox-escape", O_WRONLY | O_CREAT, 0600);

	return open_result(c, fd);
}

static int
atk_socket(struct child *c)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	(void)fd;
	return survived(c);
}

static int
atk_connect(struct child *c)
{
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(5432);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	(void)connect(c->db, (struct sockaddr *)&sa, sizeof(sa));
	return survived(c);
}

static int
atk_sendto_addr(struct child *c)
{
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(53);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	(void)sendto(c->db, "x", 1, 0, (struct sockaddr *)&sa, sizeof(sa));
	return survived(c);
}

static int
atk_execve(struct child *c)
{
	char *argv[] = { "true", NULL };
	char *envp[] = { NULL };

	(void)execve("/bin/true", argv, envp);
	return survived(c);
}

static int
atk_fork(struct child *c)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	return survived(c);
}

static int
atk_clone(struct child *c)
{
	long pid = syscall(SYS_clone, (unsigned long)SIGCHLD, NULL, NULL,
	    NULL, NULL);

	if (pid == 0)
		_exit(0);
	return survived(c);
}

static int
atk_clone3(struct child *c)
{
	uint64_t args[11];
	long pid;

	memset(args, 0, sizeof(args));
	args[4] = SIGCHLD;	/* exit_signal */
	pid = syscall(435 /* clone3 */, args, sizeof(args));
	if (pid == 0)
		_exit(0);
	return survived(c);
}

static int
atk_ptrace(struct child *c)
{
	(void)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	return survived(c);
}

static int
atk_kill(struct child *c)
{
	(void)kill(1, SIGTERM);
	return survived(c);
}

static int
atk_tgkill_other_signal(struct child *c)
{
	(void)syscall(SYS_tgkill, getpid(), getpid(), SIGUSR1);
	return survived(c);
}

static int
atk_write_stdout(struct child *c)
{
	if (write(STDOUT_FILENO, "x", 1) < 0)
		put(c->out_w, "write failed\n");
	return survived(c);
}

static int
atk_write_in_fd(struct child *c)
{
	if (write(c->in_r, "x", 1) < 0)
		put(c->out_w, "write failed\n");
	return survived(c);
}

static int
atk_read_out_fd(struct child *c)
{
	char b;

	if (read(c->out_w, &b, 1) < 0)
		put(c->out_w, "read failed\n");
	return survived(c);
}

static int
atk_mmap_exec(struct child *c)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)p;
	return survived(c);
}

static int
atk_mmap_shared(struct child *c)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	(void)p;
	return survived(c);
}

static int
atk_mprotect_exec(struct child *c)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		put(c->out_w, "mmap failed\n");
		return 1;
	}
	(void)mprotect(p, 4096, PROT_READ | PROT_EXEC);
	return survived(c);
}

static int
atk_setuid(struct child *c)
{
	if (setuid(0) == 0)
		put(c->out_w, "root again\n");
	return survived(c);
}

static int
atk_unshare(struct child *c)
{
	(void)syscall(SYS_unshare, 0x40000000 /* CLONE_NEWNS */);
	return survived(c);
}

/* The checker has no database: no socket calls at all. */
static int
atk_poll_without_db(struct child *c)
{
	(void)poll(NULL, 0, 0);
	return survived(c);
}

/* With a database, poll is limited to libpq's single descriptor. */
static int
atk_poll_many(struct child *c)
{
	struct pollfd pfd[2] = { { c->db, POLLIN, 0 }, { c->out_w, POLLOUT, 0 } };

	(void)poll(pfd, 2, 0);
	return survived(c);
}

/* With a database and a peer (the relay), at most those two. */
static int
atk_poll_three(struct child *c)
{
	struct pollfd pfd[3] = { { c->db, POLLIN, 0 }, { c->peer, POLLIN, 0 },
	    { c->out_w, POLLOUT, 0 } };

	(void)poll(pfd, 3, 0);
	return survived(c);
}

/* The peer is a socket for send/recv, not a pipe for write. */
static int
atk_write_peer(struct child *c)
{
	if (write(c->peer, "x", 1) < 0)
		put(c->out_w, "refused\n");
	return survived(c);
}

#define ATTACK(name, in, db)			\
	START_TEST(test_##name)			\
	{					\
		assert_killed(atk_##name, in, db); \
	}					\
	END_TEST

/*
 * Sanitizer builds answer open/openat with EACCES instead of killing, so
 * that a sanitizer report from inside the sandbox reaches the log (see
 * sandbox/seccomp.c). There the file must still not open.
 */
#ifdef TEXP_SANITIZER
static void
assert_open_denied(int (*body)(struct child *))
{
	struct child c = { .body = body };
	struct result *res = run(&c);

	ck_assert_msg(res->r == 0, "%s; log: %s", res->msg, res->log);
	ck_assert_str_eq(res->out, "in\ndenied 13\nsurvived\n");
	free(res);
}
#define ATTACK_OPEN(name)			\
	START_TEST(test_##name)			\
	{					\
		assert_open_denied(atk_##name);	\
	}					\
	END_TEST
#else
#define ATTACK_OPEN(name) ATTACK(name, 0, 0)
#endif

ATTACK_OPEN(open)
ATTACK_OPEN(openat)
ATTACK_OPEN(creat)
ATTACK(socket, 0, 0)
ATTACK(connect, 0, 1)
ATTACK(sendto_addr, 0, 1)
ATTACK(execve, 0, 0)
ATTACK(fork, 0, 0)
ATTACK(clone, 0, 0)
ATTACK(clone3, 0, 0)
ATTACK(ptrace, 0, 0)
ATTACK(kill, 0, 0)
ATTACK(poll_three, 0, 2)
ATTACK(write_peer, 0, 2)
ATTACK(tgkill_other_signal, 0, 0)
ATTACK(write_stdout, 0, 0)
ATTACK(write_in_fd, 1, 0)
ATTACK(read_out_fd, 0, 0)
ATTACK(mmap_exec, 0, 0)
ATTACK(mmap_shared, 0, 0)
ATTACK(mprotect_exec, 0, 0)
ATTACK(setuid, 0, 0)
ATTACK(poll_without_db, 0, 0)
ATTACK(poll_many, 0, 1)
ATTACK(unshare, 0, 0)

/* ---- what the sandbox must still allow ---- */

static int
body_work(struct child *c)
{
	char line[256];
	struct timespec ts;
	struct tm tm;
	time_t now;
	unsigned char key[crypto_secretbox_KEYBYTES];
	unsigned char *sk;
	char *big, *p;
	size_t i;

	/* malloc small and large (mmap), realloc (mremap), free (munmap) */
	big = malloc(8 << 20);
	if (big == NULL)
		return 10;
	memset(big, 'x', 8 << 20);
	p = realloc(big, 16 << 20);
	if (p == NULL)
		return 11;
	free(p);
	for (i = 0; i < 1000; i++) {
		p = malloc(i * 17 + 1);
		if (p == NULL)
			return 12;
		free(p);
	}
	/* libsodium: secure memory and randomness */
	if ((sk = sodium_malloc(64)) == NULL)
		return 13;
	randombytes_buf(sk, 64);
	randombytes_buf(key, sizeof(key));
	sodium_free(sk);
	/* time without files: TZ was set before the fork */
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 14;
	now = time(NULL);
	if (localtime_r(&now, &tm) == NULL)
		return 15;
	snprintf(line, sizeof(line), "year %d %s\n", tm.tm_year + 1900,
	    strerror(ENOENT));
	put(c->out_w, line);
	/* stderr is the log pipe; stdio must cope without fstat */
	fprintf(stderr, "to the log\n");
	fflush(stderr);
	put(c->log_w, "log fd\n");
	return 0;
}

START_TEST(test_work_allowed)
{
	struct child c = { .body = body_work };
	struct result *res;
	char want[64];
	struct tm tm;
	time_t now = time(NULL);

	sandbox_prepare_process();
	res = run(&c);
	ck_assert_msg(res->r == 0, "%s; log: %s", res->msg, res->log);
	ck_assert_str_eq(res->msg, "exited with status 0");
	gmtime_r(&now, &tm);
	snprintf(want, sizeof(want), "in\nyear %d No such file or directory\n",
	    tm.tm_year + 1900);
	ck_assert_str_eq(res->out, want);
	ck_assert_str_eq(res->log, "to the log\nlog fd\n");
	free(res);
}
END_TEST

static int
body_echo_db(struct child *c)
{
	char buf[64];
	ssize_t n = recv(c->db, buf, sizeof(buf), 0);

	if (n <= 0)
		return 20;
	if (send(c->db, buf, (size_t)n, MSG_NOSIGNAL) != n)
		return 21;
	return 0;
}

START_TEST(test_db_socket_allowed)
{
	struct child c = { .body = body_echo_db, .want_db = 1 };
	struct result *res = calloc(1, sizeof(*res));
	char buf[16] = { 0 };
	pid_t pid;

	ck_assert_ptr_nonnull(res);
	setup(&c);
	pid = sandbox_spawn(child_main, &c);
	ck_assert_int_gt(pid, 0);
	close_child_ends(&c);
	ck_assert_int_eq(write(c.db_parent, "ping", 4), 4);
	ck_assert_int_eq(read(c.db_parent, buf, sizeof(buf)), 4);
	ck_assert_str_eq(buf, "ping");
	collect(&c, pid, res);
	ck_assert_msg(res->r == 0, "%s; log: %s", res->msg, res->log);
	free(res);
}
END_TEST

/* The relay: bytes from the peer to the db socket and back, polling both. */
static int
body_relay(struct child *c)
{
	struct pollfd pfd[2] = { { c->peer, POLLIN, 0 }, { c->db, POLLIN, 0 } };
	char buf[64];
	ssize_t n;

	if (poll(pfd, 2, 10000) != 1 || !(pfd[0].revents & POLLIN))
		return 22;
	if ((n = recv(c->peer, buf, sizeof(buf), 0)) <= 0 ||
	    send(c->db, buf, (size_t)n, MSG_NOSIGNAL) != n)
		return 23;
	if ((n = recv(c->db, buf, sizeof(buf), 0)) <= 0 ||
	    send(c->peer, buf, (size_t)n, MSG_NOSIGNAL) != n)
		return 24;
	return 0;
}

START_TEST(test_peer_socket_allowed)
{
	struct child c = { .body = body_relay, .want_db = 1, .want_peer = 1 };
	struct result *res = calloc(1, sizeof(*res));
	char buf[16] = { 0 };
	pid_t pid;

	ck_assert_ptr_nonnull(res);
	setup(&c);
	pid = sandbox_spawn(child_main, &c);
	ck_assert_int_gt(pid, 0);
	close_child_ends(&c);
	ck_assert_int_eq(write(c.peer_parent, "Q", 1), 1);
	ck_assert_int_eq(read(c.db_parent, buf, sizeof(buf)), 1);
	ck_assert_int_eq(write(c.db_parent, "T", 1), 1);
	ck_assert_int_eq(read(c.peer_parent, buf, sizeof(buf)), 1);
	ck_assert_str_eq(buf, "T");
	collect(&c, pid, res);
	ck_assert_msg(res->r == 0, "%s; log: %s", res->msg, res->log);
	free(res);
}
END_TEST

/*
 * A sandboxed child dies with its parent. The parent here is an
 * intermediate process; this test process is the subreaper that
 * inherits (and reaps) the orphan, so it can see how it ended.
 */
static int
body_block(struct child *c)
{
	char b;

	put(c->out_w, "blocked\n");
	return read(c->in_r, &b, 1) == 1 ? 0 : 40;
}

/* Runs before sandbox_enter: as if the parent had died before the
 * death signal was armed (it is disarmed here), waits for that death. */
static void
before_parent_gone(struct child *c)
{
	char b;

	(void)prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	close(c->in_w);		/* this process's copy of the write end */
	put(c->out_w, "waiting\n");
	while (read(c->in_r, &b, 1) < 0 && errno == EINTR)
		;
}

/* Forks an intermediate that spawns c, reports the pid, and exits when
 * told. Returns the sandboxed child's pid; *mid is the intermediate. */
static pid_t
spawn_grandchild(struct child *c, pid_t *mid)
{
	int pp[2], go[2];
	pid_t pid = -1;

	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	ck_assert_int_eq(pipe(pp), 0);
	ck_assert_int_eq(pipe(go), 0);
	setup(c);
	*mid = fork();
	ck_assert_int_ge(*mid, 0);
	if (*mid == 0) {
		char b;

		close(pp[0]);
		close(go[1]);
		pid = sandbox_spawn(child_main, c);
		if (write(pp[1], &pid, sizeof(pid)) != sizeof(pid))
			_exit(1);
		/* the test says when */
		_exit(read(go[0], &b, 1) < 0 ? 1 : 0);
	}
	close(pp[1]);
	close(go[0]);
	close_child_ends(c);
	ck_assert_int_eq(read(pp[0], &pid, sizeof(pid)), sizeof(pid));
	close(pp[0]);
	ck_assert_int_gt(pid, 0);
	c->arg = (void *)(intptr_t)go[1];
	return pid;
}

START_TEST(test_dies_with_parent)
{
	struct child c = { .body = body_block, .want_in = 1 };
	char line[64];
	pid_t pid, mid, w;
	int st;

	pid = spawn_grandchild(&c, &mid);
	read_line_until(c.out_r, line, sizeof(line), "blocked\n");
	close((int)(intptr_t)c.arg);	/* the intermediate exits */
	ck_assert_int_eq(waitpid(mid, &st, 0), mid);
	do {
		w = waitpid(pid, &st, 0);
	} while (w < 0 && errno == EINTR);
	ck_assert_int_eq(w, pid);
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
	    "status %d", st);
	close(c.in_w);
	close(c.out_r);
	close(c.log_r);
}
END_TEST

START_TEST(test_parent_gone_before_armed)
{
	struct child c = { .body = body_block, .want_in = 1,
	    .before = before_parent_gone };
	char line[64], log[256] = "";
	pid_t pid, mid, w;
	ssize_t n;
	int st;

	pid = spawn_grandchild(&c, &mid);
	read_line_until(c.out_r, line, sizeof(line), "waiting\n");
	close((int)(intptr_t)c.arg);
	ck_assert_int_eq(waitpid(mid, &st, 0), mid);
	close(c.in_w);		/* now the child goes on to sandbox_enter */
	do {
		w = waitpid(pid, &st, 0);
	} while (w < 0 && errno == EINTR);
	ck_assert_int_eq(w, pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 99, "status %d", st);
	n = read(c.log_r, log, sizeof(log) - 1);
	ck_assert_int_gt(n, 0);
	ck_assert_msg(strstr(log, "die with the parent") != NULL, "%s", log);
	close(c.out_r);
	close(c.log_r);
}
END_TEST

static int
body_read_in(struct child *c)
{
	char buf[64];
	ssize_t n = read(c->in_r, buf, sizeof(buf) - 1);

	if (n < 0)
		return 30;
	buf[n] = '\0';
	put(c->out_w, buf);
	return 0;
}

START_TEST(test_in_fd_read_allowed)
{
	struct child c = { .body = body_read_in, .want_in = 1 };
	struct result *res = calloc(1, sizeof(*res));
	pid_t pid;

	ck_assert_ptr_nonnull(res);
	setup(&c);
	pid = sandbox_spawn(child_main, &c);
	ck_assert_int_gt(pid, 0);
	close_child_ends(&c);
	ck_assert_int_eq(write(c.in_w, "archive", 7), 7);
	close(c.in_w);
	c.in_w = -1;
	collect(&c, pid, res);
	ck_assert_msg(res->r == 0, "%s; log: %s", res->msg, res->log);
	ck_assert_str_eq(res->out, "in\narchive");
	free(res);
}
END_TEST

/* The checker reads a regular file by descriptor: pread and lseek work. */
static int
body_pread_file(struct child *c)
{
	char buf[8] = { 0 };
	off_t end = lseek(c->in_r, 0, SEEK_END);

	if (end != 10)
		return 31;
	if (pread(c->in_r, buf, 3, 7) != 3)
		return 32;
	put(c->out_w, buf);
	return 0;
}

static char in_file_path[4096];

static void
before_open_file(struct child *c)
{
	c->in_r = open(in_file_path, O_RDONLY);
}

START_TEST(test_in_fd_file)
{
	char *dir = test_mkdtemp();
	struct child c = { .body = body_pread_file, .before = before_open_file };
	struct result *res;

	snprintf(in_file_path, sizeof(in_file_path), "%s/in", dir);
	test_write_file(in_file_path, "0123456789", 10);
	res = run(&c);
	ck_assert_msg(res->r == 0, "%s; log: %s", res->msg, res->log);
	ck_assert_str_eq(res->out, "in\n789");
	free(res);
	test_rmtree(dir);
	free(dir);
}
END_TEST

static int
body_status3(struct child *c)
{
	(void)c;
	return 3;
}

START_TEST(test_exit_status)
{
	struct child c = { .body = body_status3 };
	struct result *res = run(&c);

	ck_assert_int_eq(res->r, ERR_CHILD);
	ck_assert_str_eq(res->msg, "exited with status 3");
	ck_assert(WIFEXITED(res->status) && WEXITSTATUS(res->status) == 3);
	free(res);
}
END_TEST

static int
body_abort(struct child *c)
{
	(void)c;
	abort();
}

START_TEST(test_abort_reported)
{
	struct child c = { .body = body_abort };
	struct result *res = run(&c);

	ck_assert_int_eq(res->r, ERR_CHILD);
	ck_assert_msg(strstr(res->msg, "SIGABRT") != NULL, "%s", res->msg);
	free(res);
}
END_TEST

static int
body_spin(struct child *c)
{
	volatile unsigned long x = 0;

	(void)c;
	for (;;)
		x++;
	return 0;
}

START_TEST(test_cpu_limit)
{
	struct child c = { .body = body_spin, .cpu = 1 };
	struct result *res = run(&c);

	ck_assert_int_eq(res->r, ERR_CHILD);
	ck_assert_msg(strstr(res->msg, "SIGXCPU") != NULL ||
	    strstr(res->msg, "SIGKILL") != NULL, "%s", res->msg);
	free(res);
}
END_TEST

static int __attribute__((unused))
body_alloc_big(struct child *c)
{
	char *p = malloc((size_t)256 << 20);

	put(c->out_w, p == NULL ? "refused\n" : "allocated\n");
	free(p);
	return 0;
}

START_TEST(test_mem_limit)
{
#ifdef TEXP_SANITIZER
	printf("check_sandbox: mem_limit: skipped (no RLIMIT_AS under ASan)\n");
#else
	struct child c = { .body = body_alloc_big, .mem = (size_t)64 << 20 };
	struct child c2 = { .body = body_alloc_big };
	struct result *res = run(&c), *res2;

	ck_assert_msg(res->r == 0, "%s; log: %s", res->msg, res->log);
	ck_assert_str_eq(res->out, "in\nrefused\n");
	free(res);
	/* the same allocation under the default 1 GiB: the test can fail */
	res2 = run(&c2);
	ck_assert_msg(res2->r == 0, "%s; log: %s", res2->msg, res2->log);
	ck_assert_str_eq(res2->out, "in\nallocated\n");
	free(res2);
#endif
}
END_TEST

#ifdef TEXP_SANITIZER
static int
body_overflow(struct child *c)
{
	volatile char *p = malloc(8);
	volatile int i = 8;

	(void)c;
	p[i] = 1;
	free((void *)p);
	return 0;
}
#endif

/* Sanitizer builds: a memory bug in a sandboxed child is reported in its
 * log, not hidden behind a SIGSYS from the report's own system calls. */
START_TEST(test_sanitizer_report_reaches_log)
{
#ifdef TEXP_SANITIZER
	struct child c = { .body = body_overflow };
	struct result *res = run(&c);

	ck_assert_int_eq(res->r, ERR_CHILD);
	ck_assert_msg(strstr(res->log, "ERROR: AddressSanitizer") != NULL ||
	    strstr(res->log, "runtime error") != NULL, "%s; log: %s",
	    res->msg, res->log);
	free(res);
#else
	printf("check_sandbox: sanitizer_report: skipped (not a SAN=1 build)\n");
#endif
}
END_TEST

/* RLIMIT_FSIZE is 0 in the child: inherited stderr pointing at a regular
 * file must not matter, because sandbox_enter replaces it with the log. */
static char fsize_path[4096];

static void
before_stderr_to_file(struct child *c)
{
	int fd = open(fsize_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	(void)c;
	if (fd >= 0) {
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
}

static int
body_stderr(struct child *c)
{
	fprintf(stderr, "diagnostic\n");
	put(STDERR_FILENO, "raw\n");
	put(c->out_w, "done\n");
	return 0;
}

START_TEST(test_fsize_stderr_redirected)
{
	char *dir = test_mkdtemp();
	struct child c = { .body = body_stderr, .before = before_stderr_to_file };
	struct result *res;
	struct stat st;

	snprintf(fsize_path, sizeof(fsize_path), "%s/stderr", dir);
	res = run(&c);
	ck_assert_msg(res->r == 0, "%s; log: %s", res->msg, res->log);
	ck_assert_str_eq(res->out, "in\ndone\n");
	ck_assert_str_eq(res->log, "diagnostic\nraw\n");
	ck_assert_int_eq(stat(fsize_path, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	free(res);
	test_rmtree(dir);
	free(dir);
}
END_TEST

/* A regular file as out_fd would die of SIGXFSZ later; refuse it now. */
static void
before_out_to_file(struct child *c)
{
	int fd = open(fsize_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd >= 0) {
		dup2(fd, c->out_w);
		close(fd);
	}
}

START_TEST(test_policy_rejects_regular_file)
{
	char *dir = test_mkdtemp();
	struct child c = { .body = body_status3, .before = before_out_to_file };
	struct result *res;

	snprintf(fsize_path, sizeof(fsize_path), "%s/out", dir);
	res = run(&c);
	ck_assert_int_eq(res->r, ERR_CHILD);
	ck_assert_str_eq(res->msg, "exited with status 99");
	ck_assert_msg(strstr(res->log, "invalid argument at check policy") !=
	    NULL, "%s", res->log);
	free(res);
	test_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_policy_rejects_closed_fd)
{
	struct sandbox_policy p = { .out_fd = 1000, .log_fd = 1001,
	    .db_fd = -1, .in_fd = -1 };
	int e = 0;

	/* Safe in the test process: the check fails before any layer. */
	ck_assert_int_eq(sandbox_enter(&p), ERR_INVALID);
	ck_assert_str_eq(sandbox_failed_step(&e), "check policy");
	ck_assert_int_eq(sandbox_layers(), 0);
	ck_assert_int_eq(sandbox_enter(NULL), ERR_INVALID);
}
END_TEST

/*
 * Look at the child from outside through /proc while it blocks on its
 * input pipe: uid, seccomp mode, no_new_privs, descriptors, namespaces.
 */
static int
body_report_and_block(struct child *c)
{
	char line[64], b;

	snprintf(line, sizeof(line), "layers %u landlock %d\n",
	    sandbox_layers(), sandbox_landlock_abi());
	put(c->out_w, line);
	if (read(c->in_r, &b, 1) != 1)
		return 41;
	return 0;
}

static void
read_line_until(int fd, char *buf, size_t len, const char *stop)
{
	size_t n = 0;

	while (n + 1 < len) {
		ssize_t r = read(fd, buf + n, 1);

		ck_assert_int_eq(r, 1);
		n++;
		buf[n] = '\0';
		if (strstr(buf, stop) != NULL && buf[n - 1] == '\n')
			return;
	}
	ck_abort_msg("no \"%s\" from the child: %s", stop, buf);
}

/* /proc files report size 0: read them until EOF. */
static char *
read_proc(const char *path)
{
	char *buf = calloc(1, 65536);
	size_t n = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY);

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_ge(fd, 0);
	while (n < 65535 && (r = read(fd, buf + n, 65535 - n)) > 0)
		n += (size_t)r;
	close(fd);
	return buf;
}

static const char *
status_field(const char *status, const char *key)
{
	const char *p = strstr(status, key);

	ck_assert_msg(p != NULL, "no %s in /proc status", key);
	return p + strlen(key);
}

START_TEST(test_proc_view)
{
	struct child c = { .body = body_report_and_block, .want_in = 1 };
	struct result *res = calloc(1, sizeof(*res));
	char path[64], buf[256], *status;
	char self_ns[128] = "", child_ns[128] = "";
	unsigned layers = 0;
	int abi = -1, nfd = 0;
	pid_t pid;
	DIR *d;
	struct dirent *de;
	ssize_t n;

	ck_assert_ptr_nonnull(res);
	setup(&c);
	pid = sandbox_spawn(child_main, &c);
	ck_assert_int_gt(pid, 0);
	close_child_ends(&c);
	read_line_until(c.out_r, buf, sizeof(buf), "landlock");
	ck_assert_int_eq(sscanf(buf, "in\nlayers %u landlock %d", &layers,
	    &abi), 2);
	printf("check_sandbox: layers 0x%x, landlock ABI %d%s%s\n", layers,
	    abi, layers & SANDBOX_LAYER_USERNS ? ", user namespace" : "",
	    layers & SANDBOX_LAYER_NETNS ? ", network namespace" : "");
	ck_assert_uint_eq(layers & (SANDBOX_LAYER_FDS | SANDBOX_LAYER_RLIMITS |
	    SANDBOX_LAYER_NNP | SANDBOX_LAYER_SECCOMP), SANDBOX_LAYER_FDS |
	    SANDBOX_LAYER_RLIMITS | SANDBOX_LAYER_NNP | SANDBOX_LAYER_SECCOMP);

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	status = read_proc(path);
	ck_assert_int_eq(atoi(status_field(status, "\nSeccomp:")), 2);
	ck_assert_int_eq(atoi(status_field(status, "\nNoNewPrivs:")), 1);
	if (getuid() == 0) {
		unsigned ru, eu, su, fu;

		ck_assert(layers & SANDBOX_LAYER_UID);
		ck_assert_int_eq(sscanf(status_field(status, "\nUid:"),
		    "%u %u %u %u", &ru, &eu, &su, &fu), 4);
		ck_assert_uint_eq(ru, SANDBOX_NOBODY);
		ck_assert_uint_eq(eu, SANDBOX_NOBODY);
		ck_assert_uint_eq(su, SANDBOX_NOBODY);
		ck_assert_uint_eq(fu, SANDBOX_NOBODY);
		ck_assert_int_eq(atoi(status_field(status, "\nGid:")),
		    SANDBOX_NOBODY);
		ck_assert_int_eq(status_field(status, "\nGroups:")[
		    strspn(status_field(status, "\nGroups:"), " \t")], '\n');

		/* Exactly stderr, out, log and in remain open. */
		snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
		ck_assert_ptr_nonnull(d = opendir(path));
		while ((de = readdir(d)) != NULL) {
			int fd;

			if (de->d_name[0] == '.')
				continue;
			fd = atoi(de->d_name);
			ck_assert_msg(fd == 2 || fd == c.out_w ||
			    fd == c.log_w || fd == c.in_r,
			    "unexpected fd %d in the child", fd);
			nfd++;
		}
		closedir(d);
		ck_assert_int_eq(nfd, 4);
	} else {
		printf("check_sandbox: not root: uid drop and fd list not "
		    "checked\n");
	}
	free(status);
	/* A non-dumpable child's ns links are readable by root only. */
	if ((layers & SANDBOX_LAYER_NETNS) && getuid() == 0) {
		snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
		n = readlink("/proc/self/ns/net", self_ns, sizeof(self_ns) - 1);
		ck_assert_int_gt(n, 0);
		n = readlink(path, child_ns, sizeof(child_ns) - 1);
		ck_assert_int_gt(n, 0);
		ck_assert_str_ne(self_ns, child_ns);
	}
	ck_assert_int_eq(write(c.in_w, "x", 1), 1);
	collect(&c, pid, res);
	ck_assert_msg(res->r == 0, "%s; log: %s", res->msg, res->log);
	free(res);
}
END_TEST

/*
 * Secrets: sandbox_secret_alloc pages read as zeros in any child, while a
 * plain malloc'd copy is still there (which shows the test can fail).
 */
#define SECRET_LEN 48

struct secrets {
	unsigned char *secret;
	unsigned char *plain;
};

static int
body_dump_secrets(struct child *c)
{
	struct secrets *s = c->arg;

	if (write(c->out_w, s->secret, SECRET_LEN) != SECRET_LEN ||
	    write(c->out_w, s->plain, SECRET_LEN) != SECRET_LEN)
		return 40;
	return 0;
}

START_TEST(test_secret_wiped_in_child)
{
	struct secrets s;
	struct child c = { .body = body_dump_secrets, .arg = &s };
	struct result *res;
	unsigned char zero[SECRET_LEN] = { 0 }, full[SECRET_LEN];
	size_t i;

	memset(full, 0xa5, sizeof(full));
	s.secret = sandbox_secret_alloc(SECRET_LEN);
	s.plain = malloc(SECRET_LEN);
	ck_assert_ptr_nonnull(s.secret);
	ck_assert_ptr_nonnull(s.plain);
	for (i = 0; i < SECRET_LEN; i++)
		ck_assert_uint_eq(s.secret[i], 0);
	memset(s.secret, 0xa5, SECRET_LEN);
	memset(s.plain, 0xa5, SECRET_LEN);
	res = run(&c);
	ck_assert_msg(res->r == 0, "%s; log: %s", res->msg, res->log);
	ck_assert_uint_eq(res->out_len, 3 + 2 * SECRET_LEN);
	ck_assert(memcmp(res->out + 3, zero, SECRET_LEN) == 0);
	ck_assert(memcmp(res->out + 3 + SECRET_LEN, full, SECRET_LEN) == 0);
	/* the monitor's own copy is intact */
	ck_assert(memcmp(s.secret, full, SECRET_LEN) == 0);
	sandbox_secret_free(s.secret, SECRET_LEN);
	sandbox_secret_free(NULL, SECRET_LEN);
	free(s.plain);
	free(res);
}
END_TEST

/* An overrun of a secret hits its guard page. */
START_TEST(test_secret_guard_page)
{
	unsigned char *p = sandbox_secret_alloc(10);
	long ps = sysconf(_SC_PAGESIZE);
	pid_t pid;
	int st;

	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_null(sandbox_secret_alloc(0));
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		volatile unsigned char *q = p;
		int null = open("/dev/null", O_WRONLY);

		/* ASan reports the fault it catches: keep that out of the
		 * test log, where it would read as a real finding. */
		if (null >= 0)
			dup2(null, STDERR_FILENO);
		q[ps] = 1;	/* one past the last usable page */
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
#ifdef TEXP_SANITIZER
	/* ASan catches the fault itself and exits with an error. */
	ck_assert(!WIFEXITED(st) || WEXITSTATUS(st) != 0);
#else
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
#endif
	p[ps - 1] = 1;	/* the last usable byte is fine */
	sandbox_secret_free(p, 10);
}
END_TEST

/*
 * A process that runs someone else's program (a notification hook) sees
 * the service's paths empty, and cannot uncover them: the exit status
 * says which check failed.
 */
static int
hidden_child(const char *dir, const char *key)
{
	char p[4096], buf[8];
	int fd;

	snprintf(p, sizeof(p), "%s/archive.texp", dir);
	if (open(p, O_RDONLY) >= 0 || errno != ENOENT)
		return 10;		/* the file under the dir is gone */
	if ((fd = open(key, O_RDONLY)) < 0)
		return 11;		/* the file is there, empty */
	if (read(fd, buf, sizeof(buf)) != 0)
		return 12;
	close(fd);
	snprintf(p, sizeof(p), "%s/new", dir);
	if (open(p, O_WRONLY | O_CREAT, 0600) >= 0)
		return 13;		/* nothing can be put there */
	if (umount2(dir, MNT_DETACH) == 0 || umount2(key, MNT_DETACH) == 0)
		return 14;		/* and no cover comes off */
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0 &&
	    umount2(dir, MNT_DETACH) == 0)
		return 15;		/* not even in a namespace of its own */
	return 0;
}

START_TEST(test_hide_paths)
{
	char *dir = test_mkdtemp(), out[4096], key[4096];
	const char *paths[3];
	pid_t pid;
	int st;

	snprintf(out, sizeof(out), "%s/outbox", dir);
	ck_assert_int_eq(mkdir(out, 0700), 0);
	snprintf(key, sizeof(key), "%s/outbox/archive.texp", dir);
	test_write_file(key, "ciphertext", 10);
	snprintf(key, sizeof(key), "%s/sign.key", dir);
	test_write_file(key, "secret", 6);
	paths[0] = out;
	paths[1] = key;
	paths[2] = NULL;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (sandbox_hide_paths(paths, 3) != 0)
			_exit(9);
		_exit(hidden_child(out, key));
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "hidden child: status %d", WEXITSTATUS(st));
	/* the service itself still sees its files */
	ck_assert_int_eq(access(key, R_OK), 0);
	test_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_syscall_name)
{
	char buf[64];

	sandbox_syscall_name(SYS_socket, buf, sizeof(buf));
	ck_assert_str_eq(buf, "41 (socket)");
	sandbox_syscall_name(-5, buf, sizeof(buf));
	ck_assert_str_eq(buf, "-5 (unknown)");
}
END_TEST

START_TEST(test_prepare_process)
{
	sandbox_prepare_process();
	ck_assert_str_eq(getenv("TZ"), "UTC0");
	ck_assert_str_eq(getenv("LC_ALL"), "C");
	ck_assert_int_eq(timezone, 0);
}
END_TEST

/*
 * A real libpq connection used from inside the sandbox: SELECT and
 * COPY TO STDOUT. Needs a server (PGHOST); the integration runner starts a
 * throwaway cluster with ci/pg.sh.
 */
#define COPY_ROWS 5000

static int
body_libpq(struct child *c)
{
	PGconn *conn = c->arg;
	PGresult *res;
	char *row = NULL;
	int n;

	res = PQexec(conn, "SELECT 40 + 2");
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		return 50;
	put(c->out_w, PQgetvalue(res, 0, 0));
	put(c->out_w, "\n");
	PQclear(res);
	res = PQexec(conn, "COPY (SELECT g, md5(g::text) FROM "
	    "generate_series(1, 5000) g) TO STDOUT");
	if (PQresultStatus(res) != PGRES_COPY_OUT)
		return 51;
	PQclear(res);
	while ((n = PQgetCopyData(conn, &row, 0)) > 0) {
		if (write(c->out_w, row, (size_t)n) != n)
			return 52;
		PQfreemem(row);
	}
	if (n != -1)
		return 53;
	res = PQgetResult(conn);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return 54;
	PQclear(res);
	return 0;
}

START_TEST(test_libpq_in_sandbox)
{
	PGconn *conn;
	struct child c = { .body = body_libpq };
	struct result *res;
	size_t lines = 0, i;

	if (getenv("PGHOST") == NULL) {
		printf("check_sandbox: libpq_in_sandbox: skipped (PGHOST not "
		    "set; see tests/check_sandbox.c)\n");
		return;
	}
	sandbox_prepare_process();
	conn = PQconnectdb("");
	ck_assert_msg(PQstatus(conn) == CONNECTION_OK, "connect: %s",
	    PQerrorMessage(conn));
	setup(&c);	/* want_db is 0: no socketpair */
	c.db = PQsocket(conn);
	c.arg = conn;
	{
		pid_t pid = sandbox_spawn(child_main, &c);

		ck_assert_int_gt(pid, 0);
		close(c.out_w);
		close(c.log_w);
		res = calloc(1, sizeof(*res));
		ck_assert_ptr_nonnull(res);
		collect(&c, pid, res);
	}
	ck_assert_msg(res->r == 0, "%s; log: %s", res->msg, res->log);
	ck_assert(strncmp(res->out, "in\n42\n1\tc4ca4238a0b923820dcc509a6f75849b\n",
	    40) == 0);
	for (i = 0; i < res->out_len; i++)
		lines += res->out[i] == '\n';
	ck_assert_uint_eq(lines, 2 + COPY_ROWS);
	/* Only now, with the child gone, may the monitor touch conn again. */
	PQfinish(conn);
	free(res);
	printf("check_sandbox: libpq_in_sandbox: ok (%zu rows)\n", lines - 2);
}
END_TEST

static Suite *
sandbox_suite(void)
{
	Suite *s = suite_create("sandbox");
	TCase *tc = tcase_create("attacks");
	TCase *ok = tcase_create("allowed");
	TCase *db = tcase_create("libpq");

	tcase_add_test(tc, test_open);
	tcase_add_test(tc, test_openat);
	tcase_add_test(tc, test_creat);
	tcase_add_test(tc, test_socket);
	tcase_add_test(tc, test_connect);
	tcase_add_test(tc, test_sendto_addr);
	tcase_add_test(tc, test_execve);
	tcase_add_test(tc, test_fork);
	tcase_add_test(tc, test_clone);
	tcase_add_test(tc, test_clone3);
	tcase_add_test(tc, test_ptrace);
	tcase_add_test(tc, test_kill);
	tcase_add_test(tc, test_tgkill_other_signal);
	tcase_add_test(tc, test_write_stdout);
	tcase_add_test(tc, test_write_in_fd);
	tcase_add_test(tc, test_read_out_fd);
	tcase_add_test(tc, test_mmap_exec);
	tcase_add_test(tc, test_mmap_shared);
	tcase_add_test(tc, test_mprotect_exec);
	tcase_add_test(tc, test_setuid);
	tcase_add_test(tc, test_poll_without_db);
	tcase_add_test(tc, test_poll_many);
	tcase_add_test(tc, test_poll_three);
	tcase_add_test(tc, test_write_peer);
	tcase_add_test(tc, test_unshare);
	suite_add_tcase(s, tc);

	tcase_add_test(ok, test_work_allowed);
	tcase_add_test(ok, test_db_socket_allowed);
	tcase_add_test(ok, test_peer_socket_allowed);
	tcase_add_test(ok, test_dies_with_parent);
	tcase_add_test(ok, test_parent_gone_before_armed);
	tcase_add_test(ok, test_in_fd_read_allowed);
	tcase_add_test(ok, test_in_fd_file);
	tcase_add_test(ok, test_exit_status);
	tcase_add_test(ok, test_abort_reported);
	tcase_add_test(ok, test_cpu_limit);
	tcase_add_test(ok, test_mem_limit);
	tcase_add_test(ok, test_fsize_stderr_redirected);
	tcase_add_test(ok, test_sanitizer_report_reaches_log);
	tcase_add_test(ok, test_policy_rejects_regular_file);
	tcase_add_test(ok, test_policy_rejects_closed_fd);
	tcase_add_test(ok, test_proc_view);
	tcase_add_test(ok, test_secret_wiped_in_child);
	tcase_add_test(ok, test_secret_guard_page);
	tcase_add_test(ok, test_syscall_name);
	tcase_add_test(ok, test_hide_paths);
	tcase_add_test(ok, test_prepare_process);
	tcase_set_timeout(ok, 30);
	suite_add_tcase(s, ok);

	tcase_add_test(db, test_libpq_in_sandbox);
	tcase_set_timeout(db, 60);
	suite_add_tcase(s, db);
	return s;
}

int
main(void)
{
	return test_run_suite(sandbox_suite());
}
