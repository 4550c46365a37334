/*
 * seccomp.c: the system call allow-list of a sandboxed child.
 *
 * Everything not listed kills the whole process (SCMP_ACT_KILL_PROCESS);
 * a foreign architecture or x32 call is killed the same way. Calls that
 * touch a descriptor are pinned to the policy's descriptors, and memory
 * calls to flags that cannot create executable or shared memory. The list
 * was found by running the builder (libpq over a unix socket and TLS, CBOR,
 * libsodium) and the checker under the filter; docs/SANDBOX.md explains
 * each entry. Keep it that tight: a new entry needs a reason there.
 */
#include <sys/mman.h>
#include <sys/types.h>

#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <seccomp.h>
#ifdef TEXP_SANITIZER
#include <sanitizer/common_interface_defs.h>
#endif

#include "err.h"
#include "sandbox.h"
#include "sandbox_int.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE	0x100000
#endif
#ifndef MADV_FREE
#define MADV_FREE		8
#endif

/*
 * Bits of mmap's flags that are checked. Anonymous private is required;
 * shared mappings, file mappings and fixed placement are refused (glibc
 * malloc and libsodium use none of them). ASan's allocator maps its own
 * regions at fixed addresses, so sanitizer builds drop that part.
 */
#ifdef TEXP_SANITIZER
#define MMAP_FLAGS_MASK	(MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS)
#else
#define MMAP_FLAGS_MASK	(MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS | \
	MAP_FIXED | MAP_FIXED_NOREPLACE)
#endif
#define MMAP_FLAGS_WANT	(MAP_PRIVATE | MAP_ANONYMOUS)

/* futex op without the private and clock flags (the kernel's cmd mask). */
#define FUTEX_OP_MASK	(~(uint32_t)(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME))

#ifdef TEXP_SANDBOX_DEBUG
/*
 * Debug builds trap instead of killing, so the log names the call. Only
 * async-signal-safe work here: format the number by hand, write, _exit.
 */
static void
sandbox_sigsys_handler(int sig, siginfo_t *info, void *uctx)
{
	char msg[80] = "tenant-export: sandbox: forbidden system call ";
	size_t n = strlen(msg);
	char digits[16];
	size_t nd = 0;
	unsigned v = info->si_syscall < 0 ? 0 : (unsigned)info->si_syscall;
	ssize_t w;

	(void)sig;
	(void)uctx;
	do {
		digits[nd++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0 && nd < sizeof(digits));
	while (nd > 0 && n < sizeof(msg) - 2)
		msg[n++] = digits[--nd];
	msg[n++] = '\n';
	w = write(STDERR_FILENO, msg, n);
	(void)w;
	_exit(SANDBOX_TRAP_EXIT);
}
#endif

/*
 * Argument comparisons, spelled out rather than with libseccomp's SCMP_A*
 * macros, whose compound literals leave datum_b implicit (a warning under
 * clang). Arguments that are int in C are compared on their low 32 bits
 * with a mask of at most 32 bits, or exactly (upper bits must then be 0).
 */
static struct scmp_arg_cmp
arg_cmp(unsigned arg, enum scmp_compare op, scmp_datum_t a, scmp_datum_t b)
{
	struct scmp_arg_cmp c;

	memset(&c, 0, sizeof(c));
	c.arg = arg;
	c.op = op;
	c.datum_a = a;
	c.datum_b = b;
	return c;
}

#define ARG_EQ(n, v)		arg_cmp(n, SCMP_CMP_EQ, (scmp_datum_t)(v), 0)
#define ARG_LE(n, v)		arg_cmp(n, SCMP_CMP_LE, (scmp_datum_t)(v), 0)
#define ARG_MASKED(n, m, v)	arg_cmp(n, SCMP_CMP_MASKED_EQ, \
	(scmp_datum_t)(uint32_t)(m), (scmp_datum_t)(uint32_t)(v))

/* Adds one rule; a rule that libseccomp rejects aborts the whole filter. */
static int
rule(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned ncmp,
    const struct scmp_arg_cmp *cmp)
{
	return seccomp_rule_add_array(ctx, action, nr, ncmp, cmp);
}

static int
allow(scmp_filter_ctx ctx, int nr)
{
	return rule(ctx, SCMP_ACT_ALLOW, nr, 0, NULL);
}

static int
allow_fd(scmp_filter_ctx ctx, int nr, int fd)
{
	struct scmp_arg_cmp c[] = { ARG_EQ(0, fd) };

	return rule(ctx, SCMP_ACT_ALLOW, nr, 1, c);
}

/* Calls libc or libsodium make whose failure they handle gracefully. */
static int
deny_errno(scmp_filter_ctx ctx, int nr, int err)
{
	return rule(ctx, SCMP_ACT_ERRNO((uint32_t)err), nr, 0, NULL);
}

static int
add_io_rules(scmp_filter_ctx ctx, const struct sandbox_policy *p)
{
	int wfd[3] = { p->out_fd, p->log_fd, STDERR_FILENO };
	int socks[2] = { p->db_fd, p->peer_fd > 0 ? p->peer_fd : -1 };
	unsigned nsocks = 0;
	size_t i, j;
	int r;

	for (i = 0; i < 3; i++) {
		for (j = 0; j < i; j++)
			if (wfd[j] == wfd[i])
				break;
		if (j == i && (r = allow_fd(ctx, SCMP_SYS(write), wfd[i])) != 0)
			return r;
	}
	for (i = 0; i < 2; i++) {
		/* send() without an address: no datagram to elsewhere. */
		struct scmp_arg_cmp snd[] = {
			ARG_EQ(0, socks[i]),
			ARG_EQ(4, 0),
		};

		if (socks[i] < 0)
			continue;
		nsocks++;
		if ((r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sendto), 2, snd)) ||
		    (r = allow_fd(ctx, SCMP_SYS(recvfrom), socks[i])))
			return r;
	}
	if (nsocks > 0) {
		/* libpq waits on its one socket (the relay on its two); more
		 * descriptors is not libpq. */
		struct scmp_arg_cmp few[] = { ARG_LE(1, nsocks) };

		if ((r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(poll), 1, few)) ||
		    (r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ppoll), 1, few)))
			return r;
	}
	if (sandbox_dir_of(p) != -1) {
		/*
		 * Files beneath the tenant's directory. The filter sees
		 * openat2's descriptor but not its flags or resolve bits
		 * (they are in struct open_how, behind a pointer), and an
		 * absolute path ignores the descriptor: Landlock is what
		 * confines the open; this pins the call to the directory's
		 * descriptor and reads to the one slot a file opens at.
		 */
		if ((r = allow_fd(ctx, SCMP_SYS(openat2), sandbox_dir_of(p))) ||
		    (r = allow_fd(ctx, SCMP_SYS(read), sandbox_file_slot())))
			return r;
	}
	if (p->in_fd >= 0) {
		if ((r = allow_fd(ctx, SCMP_SYS(read), p->in_fd)) ||
		    (r = allow_fd(ctx, SCMP_SYS(pread64), p->in_fd)) ||
		    (r = allow_fd(ctx, SCMP_SYS(lseek), p->in_fd)))
			return r;
	}
	return 0;
}

static int
add_memory_rules(scmp_filter_ctx ctx)
{
	struct scmp_arg_cmp mm[] = {
		ARG_MASKED(2, PROT_EXEC, 0),
		ARG_MASKED(3, MMAP_FLAGS_MASK, MMAP_FLAGS_WANT),
	};
	struct scmp_arg_cmp mp[] = {
		ARG_MASKED(2, PROT_EXEC, 0),
	};
	int r;

	if ((r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 2, mm)) ||
	    (r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1, mp)) ||
	    (r = allow(ctx, SCMP_SYS(munmap))) ||
	    (r = allow(ctx, SCMP_SYS(mremap))) ||
	    (r = allow(ctx, SCMP_SYS(brk))))
		return r;
#ifdef TEXP_SANITIZER
	/* The ASan allocator also uses NOHUGEPAGE and friends. */
	if ((r = allow(ctx, SCMP_SYS(madvise))))
		return r;
#else
	{
		static const int advice[] = {
			MADV_DONTNEED, MADV_FREE,	/* malloc trimming */
			MADV_DONTDUMP, MADV_DODUMP,	/* sodium_malloc/free */
		};
		size_t i;

		for (i = 0; i < sizeof(advice) / sizeof(advice[0]); i++) {
			struct scmp_arg_cmp c[] = {
				ARG_EQ(2, advice[i]),
			};

			if ((r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(madvise),
			    1, c)))
				return r;
		}
	}
#endif
	/* sodium_malloc locks its pages and ignores failure. */
	if ((r = deny_errno(ctx, SCMP_SYS(mlock), EPERM)) ||
	    (r = deny_errno(ctx, SCMP_SYS(mlock2), EPERM)) ||
	    (r = deny_errno(ctx, SCMP_SYS(munlock), EPERM)))
		return r;
	return 0;
}

static int
add_misc_rules(scmp_filter_ctx ctx, const struct sandbox_policy *p)
{
	static const uint32_t futex_ops[] = {
		FUTEX_WAIT, FUTEX_WAKE, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET,
	};
	pid_t self = getpid();
	/* abort() may only signal this very process, and only with SIGABRT,
	 * so that a failed assertion is reported as such, not as SIGSYS. */
	struct scmp_arg_cmp abrt[] = {
		ARG_EQ(0, self),
		ARG_EQ(1, self),
		ARG_EQ(2, SIGABRT),
	};
	size_t i;
	int r;

	if ((r = allow(ctx, SCMP_SYS(getrandom))) ||
	    (r = allow(ctx, SCMP_SYS(clock_gettime))) ||
	    (r = allow(ctx, SCMP_SYS(gettimeofday))) ||
	    (r = allow(ctx, SCMP_SYS(close))) ||
	    (r = allow(ctx, SCMP_SYS(exit))) ||
	    (r = allow(ctx, SCMP_SYS(exit_group))) ||
	    (r = allow(ctx, SCMP_SYS(rt_sigreturn))) ||
	    (r = allow(ctx, SCMP_SYS(getpid))) ||
	    (r = allow(ctx, SCMP_SYS(gettid))) ||
	    (r = allow(ctx, SCMP_SYS(rt_sigprocmask))) ||
	    (r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 3, abrt)))
		return r;
	for (i = 0; i < sizeof(futex_ops) / sizeof(futex_ops[0]); i++) {
		struct scmp_arg_cmp c[] = {
			ARG_MASKED(1, FUTEX_OP_MASK, futex_ops[i]),
		};

		if ((r = rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(futex), 1, c)))
			return r;
	}
	/* stdio sizes a stream's buffer with fstat and copes without it. */
	if ((r = deny_errno(ctx, SCMP_SYS(newfstatat), EPERM)))
		return r;
	if (sandbox_dir_of(p) == -1) {
		if ((r = deny_errno(ctx, SCMP_SYS(fstat), EPERM)))
			return r;
	} else {
		/* The open file's size and times (beneath.h); no path. */
		struct scmp_arg_cmp other[] = {
			arg_cmp(0, SCMP_CMP_NE,
			    (scmp_datum_t)sandbox_file_slot(), 0),
		};

		if ((r = allow_fd(ctx, SCMP_SYS(fstat), sandbox_file_slot())) ||
		    (r = rule(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(fstat), 1,
		    other)))
			return r;
	}
#ifdef TEXP_SANITIZER
	/*
	 * Sanitizer builds only (tests and fuzzing, never shipped). The
	 * runtime tears down its alternate signal stack on the way out, even
	 * through _exit(). Its error report looks up /proc/self/exe and
	 * /proc/self/maps, checks whether stderr is a terminal, and tries to
	 * start a symbolizer: answering those with an errno instead of a kill
	 * lets the report reach the log pipe (with module offsets, from the
	 * maps cached by __sanitizer_sandbox_on_notify). Landlock still denies
	 * the files themselves.
	 */
	if ((r = allow(ctx, SCMP_SYS(sigaltstack))) ||
	    (r = deny_errno(ctx, SCMP_SYS(readlink), EACCES)) ||
	    (r = deny_errno(ctx, SCMP_SYS(readlinkat), EACCES)) ||
	    (r = deny_errno(ctx, SCMP_SYS(open), EACCES)) ||
	    (r = deny_errno(ctx, SCMP_SYS(openat), EACCES)) ||
	    (r = deny_errno(ctx, SCMP_SYS(ioctl), ENOTTY)) ||
	    (r = deny_errno(ctx, SCMP_SYS(pipe2), EMFILE)))
		return r;
#endif
	return 0;
}

int
sandbox_seccomp_load(const struct sandbox_policy *p, int *errno_out)
{
	scmp_filter_ctx ctx = NULL;
	uint32_t kill = SCMP_ACT_KILL_PROCESS;
	int r = ERR_SANDBOX, rc;

	*errno_out = 0;
	/* KILL_PROCESS needs API level 3 (Linux 4.14); the child is single
	 * threaded, so killing the thread is equivalent before that. */
	if (seccomp_api_get() < 3)
		kill = SCMP_ACT_KILL;
#ifdef TEXP_SANDBOX_DEBUG
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = sandbox_sigsys_handler;
		sa.sa_flags = SA_SIGINFO;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGSYS, &sa, NULL) != 0) {
			*errno_out = errno;
			goto out;
		}
		kill = SCMP_ACT_TRAP;
	}
#endif
#ifdef TEXP_SANITIZER
	/* Caches /proc/self/maps for error reports made under the filter. */
	__sanitizer_sandbox_on_notify(NULL);
#endif
	if ((ctx = seccomp_init(kill)) == NULL) {
		*errno_out = ENOMEM;
		goto out;
	}
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, kill)) ||
	    (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1)) ||
	    (rc = add_io_rules(ctx, p)) ||
	    (rc = add_memory_rules(ctx)) ||
	    (rc = add_misc_rules(ctx, p)) ||
	    (rc = seccomp_load(ctx))) {
		*errno_out = -rc;
		goto out;
	}
	r = 0;
 out:
	seccomp_release(ctx);
	return r;
}

void
sandbox_syscall_name(int nr, char *buf, size_t len)
{
	char *name;

	if (buf == NULL || len == 0)
		return;
	name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	(void)snprintf(buf, len, "%d (%s)", nr, name ? name : "unknown");
	free(name);
}
