/*
 * sandbox.c: entering the sandbox in a forked child, and the monitor's side
 * (spawn, wait, process preparation). The seccomp filter is in seccomp.c,
 * secret memory in secret.c.
 *
 * The order of the layers matters: descriptors are closed before anything
 * else so nothing below can leak through them; privileges are dropped
 * while setgroups/setresuid are still possible; the user namespace comes
 * after the uid drop so that a root monitor's child never holds real root
 * in it; Landlock needs one descriptor for its ruleset, so RLIMIT_NOFILE is
 * tightened only after it; seccomp comes last because it forbids all of
 * the calls above.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <locale.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "aead.h"
#include "err.h"
#include "sandbox.h"
#include "sandbox_int.h"

/*
 * Landlock ABI, declared here so that older kernel headers (Debian 12 ships
 * 6.1's) still build a filter for newer kernels. Values are the kernel's
 * stable UAPI.
 */
#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset	444
#define __NR_landlock_restrict_self	446
#endif
#define LL_CREATE_RULESET_VERSION	(1U << 0)
#define LL_FS_V1		((1ULL << 13) - 1)	/* EXECUTE..MAKE_SYM */
#define LL_FS_REFER		(1ULL << 13)		/* ABI 2 */
#define LL_FS_TRUNCATE		(1ULL << 14)		/* ABI 3 */
#define LL_FS_IOCTL_DEV		(1ULL << 15)		/* ABI 5 */
#define LL_NET_TCP		((1ULL << 0) | (1ULL << 1)) /* ABI 4 */
#define LL_SCOPE_ALL		((1ULL << 0) | (1ULL << 1)) /* ABI 6 */
#ifndef __NR_landlock_add_rule
#define __NR_landlock_add_rule		445
#endif
#define LL_RULE_PATH_BENEATH	1
#define LL_FS_READ_FILE		(1ULL << 2)

struct ll_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

/* Per-process state of the child; the monitor never sets it. */
static unsigned sandbox_layer_bits;
static int sandbox_ll_abi;
static const char *sandbox_step = "none";
static int sandbox_step_errno;
/* In a child of sandbox_spawn: the parent it must not outlive. */
static pid_t sandbox_parent;
/* With a dir_fd: the descriptor number a file opens at. */
static int sandbox_file_fd = -1;

static int
fail(const char *step, int err, int r)
{
	sandbox_step = step;
	sandbox_step_errno = err;
	return r;
}

unsigned
sandbox_layers(void)
{
	return sandbox_layer_bits;
}

int
sandbox_file_slot(void)
{
	return sandbox_file_fd;
}

int
sandbox_landlock_abi(void)
{
	return sandbox_ll_abi;
}

const char *
sandbox_failed_step(int *errno_out)
{
	if (errno_out != NULL)
		*errno_out = sandbox_step_errno;
	return sandbox_step;
}

/* Checks that fd is open, of an acceptable type, and opened for writing
 * (want_write) or read-only (!want_write). */
static int
check_fd(int fd, int want_write, int want_sock)
{
	struct stat st;
	int fl;

	if (fd < 0 || (fl = fcntl(fd, F_GETFL)) == -1 || fstat(fd, &st) != 0)
		return 0;
	if (want_sock)
		return S_ISSOCK(st.st_mode) && (fl & O_ACCMODE) == O_RDWR;
	if (want_write)
		return !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) &&
		    ((fl & O_ACCMODE) == O_WRONLY || (fl & O_ACCMODE) == O_RDWR);
	return (fl & O_ACCMODE) == O_RDONLY;
}

/* A policy's peer descriptor, or -1 (0 counts as none: see sandbox.h). */
static int
peer_of(const struct sandbox_policy *p)
{
	return p->peer_fd > 0 ? p->peer_fd : -1;
}

int
sandbox_dir_of(const struct sandbox_policy *p)
{
	return p->dir_fd > 0 ? p->dir_fd : -1;
}

/* An O_PATH directory descriptor (beneath_open_dir). */
static int
check_dir(int fd)
{
	struct stat st;
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 || fstat(fd, &st) != 0)
		return 0;
	return (fl & O_PATH) != 0 && S_ISDIR(st.st_mode);
}

static int
policy_check(const struct sandbox_policy *p)
{
	int peer, dir;

	if (p == NULL || !check_fd(p->out_fd, 1, 0) || !check_fd(p->log_fd, 1, 0))
		return 0;
	if (p->db_fd != -1 && !check_fd(p->db_fd, 0, 1))
		return 0;
	peer = peer_of(p);
	if (peer != -1 && (!check_fd(peer, 0, 1) || peer == p->db_fd ||
	    peer == p->out_fd || peer == p->log_fd || peer == p->in_fd ||
	    peer == STDERR_FILENO))
		return 0;
	if (p->in_fd != -1 && !check_fd(p->in_fd, 0, 0))
		return 0;
	/* fd 2 is overwritten with the log pipe: nothing else may live there. */
	if (p->log_fd != STDERR_FILENO && (p->out_fd == STDERR_FILENO ||
	    p->db_fd == STDERR_FILENO || p->in_fd == STDERR_FILENO))
		return 0;
	/* A read-only or socket descriptor must not double as a pipe. */
	if (p->db_fd >= 0 && (p->db_fd == p->out_fd || p->db_fd == p->log_fd ||
	    p->db_fd == p->in_fd))
		return 0;
	if (p->in_fd >= 0 && (p->in_fd == p->out_fd || p->in_fd == p->log_fd))
		return 0;
	dir = sandbox_dir_of(p);
	if (dir != -1 && (!check_dir(dir) || dir == STDERR_FILENO ||
	    dir == p->out_fd || dir == p->log_fd || dir == p->db_fd ||
	    dir == p->in_fd || dir == peer))
		return 0;
	return 1;
}

static int
int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static int
close_range_compat(unsigned lo, unsigned hi)
{
	struct rlimit rl;
	unsigned fd;

	if (close_range(lo, hi, 0) == 0)
		return 0;
	if (errno != ENOSYS)
		return -1;
	/* Before Linux 5.9: every slot the old limit allowed. */
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur - 1 < hi)
		hi = (unsigned)(rl.rlim_cur - 1);
	for (fd = lo; fd <= hi && fd < (1U << 20); fd++)
		(void)close((int)fd);
	return 0;
}

/* Makes fd 2 the log, then closes everything else; returns the highest
 * descriptor kept, or -1 with errno. */
static int
close_other_fds(const struct sandbox_policy *p)
{
	int keep[7] = { STDERR_FILENO, p->out_fd, p->log_fd, p->db_fd, p->in_fd,
	    peer_of(p), sandbox_dir_of(p) };
	size_t i;
	int next = 0;

	if (p->log_fd != STDERR_FILENO && dup2(p->log_fd, STDERR_FILENO) == -1)
		return -1;
	qsort(keep, 7, sizeof(keep[0]), int_cmp);
	for (i = 0; i < 7; i++) {
		if (keep[i] < next)
			continue;	/* -1 or a duplicate */
		if (keep[i] > next &&
		    close_range_compat((unsigned)next, (unsigned)keep[i] - 1) != 0)
			return -1;
		next = keep[i] + 1;
	}
	if (close_range_compat((unsigned)next, ~0U) != 0)
		return -1;
	return next - 1;
}

static int
drop_privileges(void)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (getuid() != 0 && geteuid() != 0)
		return 0;
	if (setgroups(0, NULL) != 0 ||
	    setresgid(SANDBOX_NOBODY, SANDBOX_NOBODY, SANDBOX_NOBODY) != 0 ||
	    setresuid(SANDBOX_NOBODY, SANDBOX_NOBODY, SANDBOX_NOBODY) != 0)
		return -1;
	/* Trust but verify: the drop must be permanent. */
	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 ||
	    ru != SANDBOX_NOBODY || eu != SANDBOX_NOBODY ||
	    su != SANDBOX_NOBODY || rg != SANDBOX_NOBODY ||
	    eg != SANDBOX_NOBODY || sg != SANDBOX_NOBODY) {
		errno = EPERM;
		return -1;
	}
	if (setuid(0) != -1 || setgid(0) != -1) {
		errno = EPERM;
		return -1;
	}
	sandbox_layer_bits |= SANDBOX_LAYER_UID;
	return 0;
}

/*
 * Best effort: without a network namespace the child could not reach the
 * network anyway (socket and connect are killed); the namespace also holds
 * if the filter ever had a hole. Unprivileged user namespaces may be
 * disabled by the administrator; that is reported, not fatal.
 */
static void
unshare_namespaces(void)
{
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0)
		sandbox_layer_bits |= SANDBOX_LAYER_USERNS | SANDBOX_LAYER_NETNS;
	else if (unshare(CLONE_NEWNET) == 0)
		sandbox_layer_bits |= SANDBOX_LAYER_NETNS;
}

static int
set_limit(int resource, rlim_t soft, rlim_t hard)
{
	struct rlimit rl = { soft, hard };

	return setrlimit(resource, &rl);
}

static int
set_rlimits(const struct sandbox_policy *p)
{
	rlim_t mem = p->mem_limit ? (rlim_t)p->mem_limit : SANDBOX_DEFAULT_MEM;

	if (set_limit(RLIMIT_CORE, 0, 0) != 0 ||
	    set_limit(RLIMIT_FSIZE, 0, 0) != 0 ||
	    set_limit(RLIMIT_NPROC, 0, 0) != 0 ||
	    set_limit(RLIMIT_MEMLOCK, 0, 0) != 0)
		return -1;
#ifndef TEXP_SANITIZER
	if (set_limit(RLIMIT_AS, mem, mem) != 0 ||
	    set_limit(RLIMIT_DATA, mem, mem) != 0)
		return -1;
#else
	(void)mem;
#endif
	/* SIGXCPU at the soft limit; SIGKILL one second later. */
	if (p->cpu_seconds != 0 &&
	    set_limit(RLIMIT_CPU, p->cpu_seconds, (rlim_t)p->cpu_seconds + 1) != 0)
		return -1;
	return 0;
}

/*
 * Inherited handlers are the monitor's code; run in the child they would
 * make calls the filter kills. Ignored signals stay ignored (SIGPIPE then
 * turns into EPIPE, as the monitor chose). The sanitizer runtime keeps its
 * own handlers so that its reports still reach the log.
 */
static void
reset_signals(void)
{
#ifndef TEXP_SANITIZER
	struct sigaction sa, old;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (sigaction(sig, NULL, &old) != 0 || old.sa_handler == SIG_IGN)
			continue;
		(void)sigaction(sig, &sa, NULL);
	}
#endif
	{
		sigset_t none;

		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
	}
}

/*
 * Landlock with every known right handled and no rule: no file access;
 * with a directory (dirfd != -1), one rule: reading files beneath it. That
 * rule is what confines a builder that would call openat2 without
 * RESOLVE_BENEATH (seccomp cannot see openat2's flags), so without
 * Landlock a policy with a directory fails.
 */
static int
apply_landlock(int dirfd)
{
	struct ll_ruleset_attr attr;
	struct ll_path_beneath_attr pb;
	size_t size;
	long abi;
	int fd;

	abi = syscall(__NR_landlock_create_ruleset, NULL, 0,
	    LL_CREATE_RULESET_VERSION);
	if (abi < 1) {
		if (dirfd == -1)
			return 0;	/* not built in, or disabled at boot */
		errno = ENOSYS;
		return -1;
	}
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = LL_FS_V1;
	size = sizeof(attr.handled_access_fs);
	if (abi >= 2)
		attr.handled_access_fs |= LL_FS_REFER;
	if (abi >= 3)
		attr.handled_access_fs |= LL_FS_TRUNCATE;
	if (abi >= 4) {
		attr.handled_access_net = LL_NET_TCP;
		size = offsetof(struct ll_ruleset_attr, scoped);
	}
	if (abi >= 5)
		attr.handled_access_fs |= LL_FS_IOCTL_DEV;
	if (abi >= 6) {
		attr.scoped = LL_SCOPE_ALL;
		size = sizeof(attr);
	}
	fd = (int)syscall(__NR_landlock_create_ruleset, &attr, size, 0);
	if (fd < 0)
		return -1;
	memset(&pb, 0, sizeof(pb));
	pb.allowed_access = LL_FS_READ_FILE;
	pb.parent_fd = dirfd;
	if ((dirfd != -1 && syscall(__NR_landlock_add_rule, fd,
	    LL_RULE_PATH_BENEATH, &pb, 0) != 0) ||
	    syscall(__NR_landlock_restrict_self, fd, 0) != 0) {
		int e = errno;

		(void)close(fd);
		errno = e;
		return -1;
	}
	(void)close(fd);
	sandbox_ll_abi = (int)abi;
	sandbox_layer_bits |= SANDBOX_LAYER_LANDLOCK;
	return 0;
}

/* The lowest free descriptor: where openat2 puts the next file. */
static int
lowest_free_fd(void)
{
	int fd;

	for (fd = 0; fd < 4096; fd++)
		if (fcntl(fd, F_GETFD) == -1 && errno == EBADF)
			return fd;
	return -1;
}

/*
 * The child dies with its parent (SIGKILL, which no handler can delay).
 * Armed right after the fork and again after the last credential change,
 * which clears it; a parent that died before it was armed is noticed by
 * getppid() no longer being that parent.
 */
static int
die_with_parent(void)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		return -1;
	if (sandbox_parent != 0 && getppid() != sandbox_parent) {
		errno = ESRCH;
		return -1;
	}
	return 0;
}

int
sandbox_enter(const struct sandbox_policy *p)
{
	int maxfd, e = 0, r;

	sandbox_layer_bits = 0;
	sandbox_ll_abi = 0;
	sandbox_step = "none";
	sandbox_step_errno = 0;

	if (!policy_check(p))
		return fail("check policy", EBADF, ERR_INVALID);
	if ((maxfd = close_other_fds(p)) < 0)
		return fail("close descriptors", errno, ERR_SANDBOX);
	sandbox_layer_bits |= SANDBOX_LAYER_FDS;
	if (drop_privileges() != 0)
		return fail("drop privileges", errno, ERR_SANDBOX);
	unshare_namespaces();
	if (set_rlimits(p) != 0)
		return fail("set resource limits", errno, ERR_SANDBOX);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return fail("set no_new_privs", errno, ERR_SANDBOX);
	if (die_with_parent() != 0)
		return fail("die with the parent", errno, ERR_SANDBOX);
	sandbox_layer_bits |= SANDBOX_LAYER_NNP;
	reset_signals();
	if (apply_landlock(sandbox_dir_of(p)) != 0)
		return fail("landlock", errno, ERR_SANDBOX);
	/*
	 * RLIMIT_NOFILE 0 makes poll() fail with EINVAL; cover the kept fds,
	 * and with a directory the one slot a file opens at.
	 */
	sandbox_file_fd = -1;
	if (sandbox_dir_of(p) != -1) {
		if ((sandbox_file_fd = lowest_free_fd()) == -1)
			return fail("set resource limits", EMFILE,
			    ERR_SANDBOX);
		if (sandbox_file_fd > maxfd)
			maxfd = sandbox_file_fd;
	}
	if (set_limit(RLIMIT_NOFILE, (rlim_t)maxfd + 1, (rlim_t)maxfd + 1) != 0)
		return fail("set resource limits", errno, ERR_SANDBOX);
	sandbox_layer_bits |= SANDBOX_LAYER_RLIMITS;
	if ((r = sandbox_seccomp_load(p, &e)) != 0)
		return fail("seccomp load", e, r);
	sandbox_layer_bits |= SANDBOX_LAYER_SECCOMP;
	sandbox_step = "none";
	return 0;
}

pid_t
sandbox_spawn(int (*fn)(void *), void *arg)
{
	pid_t pid, parent = getpid();
	int r;

	if (fn == NULL)
		return ERR_INVALID;
	/* Unflushed stdio would otherwise be written twice. */
	(void)fflush(NULL);
	if ((pid = fork()) == -1)
		return ERR_CHILD;
	if (pid != 0)
		return pid;
	sandbox_parent = parent;
	if (die_with_parent() != 0)
		_exit(SANDBOX_EXIT_ORPHAN);
	r = fn(arg);
	if (r < 0 && r >= -255)
		r = -r;
	else if (r < 0 || r > 255)
		r = 255;
	_exit(r);
}

int
sandbox_wait(pid_t pid, char *msg, size_t msglen, int *status_out)
{
	const char *name, *why = "";
	int st = 0, sig;
	pid_t w;
	char tmp[160];

	if (status_out != NULL)
		*status_out = 0;
	if (msg != NULL && msglen > 0)
		msg[0] = '\0';
	do {
		w = waitpid(pid, &st, 0);
	} while (w == -1 && errno == EINTR);
	if (w == -1) {
		(void)snprintf(tmp, sizeof(tmp), "cannot wait for child: %s",
		    strerror(errno));
		if (msg != NULL && msglen > 0)
			(void)snprintf(msg, msglen, "%s", tmp);
		return ERR_IO;
	}
	if (status_out != NULL)
		*status_out = st;
	if (WIFEXITED(st)) {
#ifdef TEXP_SANDBOX_DEBUG
		if (WEXITSTATUS(st) == SANDBOX_TRAP_EXIT)
			why = " (SIGSYS trap: the sandbox blocked a forbidden "
			    "system call; its number is in the log)";
#endif
		(void)snprintf(tmp, sizeof(tmp), "exited with status %d%s",
		    WEXITSTATUS(st), why);
	} else if (WIFSIGNALED(st)) {
		sig = WTERMSIG(st);
		if ((name = sigabbrev_np(sig)) == NULL)
			name = "unknown signal";
		switch (sig) {
		case SIGSYS:
			why = ": the sandbox blocked a forbidden system call";
			break;
		case SIGKILL:
			why = " (memory or CPU limit?)";
			break;
		case SIGXCPU:
			why = ": CPU time limit reached";
			break;
		case SIGXFSZ:
			why = ": wrote to a regular file (file size limit 0)";
			break;
		case SIGSEGV:
		case SIGBUS:
			why = " (a bug, or out of memory under the memory limit?)";
			break;
		default:
			break;
		}
		(void)snprintf(tmp, sizeof(tmp), "killed by SIG%s%s", name, why);
	} else {
		(void)snprintf(tmp, sizeof(tmp), "stopped with wait status %d", st);
	}
	if (msg != NULL && msglen > 0)
		(void)snprintf(msg, msglen, "%s", tmp);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : ERR_CHILD;
}

void
sandbox_prepare_process(void)
{
	/* A TZ string without a file name: tzset() reads nothing. */
	(void)setenv("TZ", "UTC0", 1);
	tzset();
	/* The C locale needs no files, and gettext() then never looks for a
	 * message catalogue (strerror in a child stays safe). */
	(void)setenv("LC_ALL", "C", 1);
	(void)unsetenv("LANGUAGE");
	(void)setlocale(LC_ALL, "C");
	/* Probes getrandom() (or opens /dev/urandom) once, here. A failure
	 * is the caller's to see: its own sodium_init() fails the same way. */
	if (sodium_init() < 0)
		return;
	/* libcrypto loads its cipher provider (and reads its configuration
	 * file) on first use: here, not in a child that may open nothing.
	 * A failure shows again where the payload is sealed or opened. */
	(void)aead_prepare();
}
