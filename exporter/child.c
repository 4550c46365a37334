/*
 * child.c: a sandboxed child of the monitor (child.h).
 */
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "child.h"
#include "err.h"
#include "sandbox.h"
#include "text.h"

#define LINES_MAX	8192
#define LINE_MAX_LEN	1024

uint64_t
child_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#define CHILD_PIPE_BYTES	(1 << 20)

void
child_init(struct child *c, const char *name)
{
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->pid = -1;
	c->pidfd = c->data = c->log = c->in = -1;
}

int
child_start(struct child *c, int (*fn)(void *), void *job, int in_pipe,
    int *child_out, int *child_log, int *child_in)
{
	int d[2] = { -1, -1 }, l[2] = { -1, -1 }, i[2] = { -1, -1 };
	int r = ERR_IO;

	if ((c->lines = buf_new(LINES_MAX)) == NULL)
		return ERR_NOMEM;
	if (pipe2(d, O_CLOEXEC) != 0 || pipe2(l, O_CLOEXEC) != 0 ||
	    (in_pipe && pipe2(i, O_CLOEXEC) != 0))
		goto out;
	/* Big data pipes: the builder, the monitor and the checker each
	 * write whole 64 KiB age chunks and run on their own cores; a 64 KiB
	 * pipe would make each wait for the other at every chunk. Where the
	 * system allows less (pipe-max-size), the default stays. */
	(void)fcntl(d[0], F_SETPIPE_SZ, CHILD_PIPE_BYTES);
	if (in_pipe)
		(void)fcntl(i[0], F_SETPIPE_SZ, CHILD_PIPE_BYTES);
	*child_out = d[1];
	*child_log = l[1];
	*child_in = i[0];
	c->pid = sandbox_spawn(fn, job);
	if (c->pid < 0) {
		c->pid = -1;
		r = ERR_CHILD;
		goto out;
	}
	/* Where the kernel has it, a descriptor that wakes poll() at the
	 * child's exit: the monitor stops the moment a child dies. */
	c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
	c->data = d[0];
	c->log = l[0];
	c->in = i[1];
	d[0] = l[0] = i[1] = -1;
	if (c->in >= 0)
		(void)fcntl(c->in, F_SETFL, O_NONBLOCK);
	c->data_open = c->log_open = 1;
	c->last = child_now_ms();
	r = 0;
 out:
	for (int k = 0; k < 2; k++) {
		if (d[k] >= 0)
			close(d[k]);
		if (l[k] >= 0)
			close(l[k]);
		if (i[k] >= 0)
			close(i[k]);
	}
	return r;
}

#ifdef TEXP_TEST_HOOKS
/*
 * Test builds: a child's "note state NAME" becomes the file NAME in
 * $TEXP_TEST_STATE_DIR, so that a test waits for a state instead of
 * sleeping for a guessed time.
 */
static void
test_state(const char *name)
{
	const char *dir = getenv("TEXP_TEST_STATE_DIR");
	char path[4096];
	int fd;

	if (dir == NULL || strspn(name, "abcdefghijklmnopqrstuvwxyz-") !=
	    strlen(name))
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) >= 0)
		close(fd);
}
#endif

static void
handle_line(struct child *c, const char *s, size_t len)
{
	unsigned long long rows, bytes;

	if (sscanf(s, "progress %llu %llu", &rows, &bytes) == 2) {
		c->rows = rows;
		c->bytes = bytes;
		c->last = child_now_ms();
	} else if (strcmp(s, "busy") == 0) {
		c->busy = 1;
		c->last = child_now_ms();
	} else if (strncmp(s, "error ", 6) == 0)
		/* The child's words are untrusted text. */
		text_escape(c->tail, sizeof(c->tail), s + 6, len - 6);
#ifdef TEXP_TEST_HOOKS
	else if (strncmp(s, "note state ", 11) == 0)
		test_state(s + 11);
#endif
	else if (strncmp(s, "note ", 5) == 0 && getenv("TEXP_DEBUG_LOG")) {
		char note[4 * LINE_MAX_LEN + 1];

		text_escape(note, sizeof(note), s + 5, len - 5);
		fprintf(stderr, "tenant-export: %s: %s\n", c->name, note);
	}
}

int
child_read_log(struct child *c)
{
	uint8_t tmp[4096];
	const uint8_t *l;
	size_t len;
	ssize_t n;

	n = read(c->log, tmp, sizeof(tmp));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		c->log_open = 0;
		return -1;
	}
	if (buf_put(c->lines, tmp, (size_t)n) != 0)
		buf_reset(c->lines);	/* a flood: drop, never grow */
	while (buf_get_line(c->lines, &l, &len, LINE_MAX_LEN) == 0) {
		char s[LINE_MAX_LEN + 1];

		memcpy(s, l, len);
		s[len] = '\0';
		handle_line(c, s, len);
	}
	if (buf_len(c->lines) > 2 * LINE_MAX_LEN)
		buf_reset(c->lines);
	return 1;
}

void
child_drain_log(struct child *c)
{
	if (c->log < 0 || !c->log_open)
		return;
	(void)fcntl(c->log, F_SETFL, O_NONBLOCK);
	while (child_read_log(c) > 0)
		;
}

int
child_poll_exit(struct child *c)
{
	siginfo_t si;

	if (c->pid < 0 || c->exited)
		return 0;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0 ||
	    si.si_pid == 0)
		return 0;
	child_reap(c);
	return 1;
}

void
child_kill(struct child *c)
{
	if (c->pid > 0 && !c->exited && !c->killed) {
		kill(c->pid, SIGKILL);
		c->killed = 1;
	}
}

uint64_t
child_cpu_ms(int who, long *maxrss_kib)
{
	struct rusage ru;

	if (getrusage(who, &ru) != 0)
		return 0;
	if (maxrss_kib != NULL)
		*maxrss_kib = ru.ru_maxrss;
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	    (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

void
child_reap(struct child *c)
{
	uint64_t before;

	if (c->pid < 0 || c->exited)
		return;
	/* What reaping it adds to the children's total is its own. */
	before = child_cpu_ms(RUSAGE_CHILDREN, NULL);
	(void)sandbox_wait(c->pid, c->msg, sizeof(c->msg), &c->status);
	c->cpu_ms = child_cpu_ms(RUSAGE_CHILDREN, NULL) - before;
	c->exited = 1;
	/* Killed, but it had ended on its own first: its status counts. */
	if (c->killed && !(WIFSIGNALED(c->status) &&
	    WTERMSIG(c->status) == SIGKILL))
		c->killed = 0;
	if (c->pidfd >= 0)
		close(c->pidfd);
	c->pidfd = -1;
}

int
child_failed(const struct child *c)
{
	return c->exited && !c->killed && c->status != 0;
}

void
child_close(struct child *c)
{
	if (c->data >= 0)
		close(c->data);
	if (c->log >= 0)
		close(c->log);
	if (c->in >= 0)
		close(c->in);
	if (c->pidfd >= 0)
		close(c->pidfd);
	c->data = c->log = c->in = c->pidfd = -1;
	buf_free(c->lines);
	c->lines = NULL;
}
