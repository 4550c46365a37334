/*
 * sandbox.h: confinement for the exporter's builder and checker children.
 *
 * The monitor forks a child (sandbox_spawn), and the child, before it reads
 * a single untrusted byte, calls sandbox_enter() with the few descriptors it
 * needs. From then on the child can only compute, allocate memory, write to
 * its pipes, talk to its database socket, and exit. Everything else kills
 * the child with SIGSYS; the monitor turns that into a clear job failure
 * with sandbox_wait(). docs/SANDBOX.md lists every allowed system call.
 *
 * Layers, in the order sandbox_enter() applies them:
 *   0. (sandbox_spawn) the child dies with its parent: PR_SET_PDEATHSIG
 *      SIGKILL, and a parent that already died is noticed
 *   1. close every descriptor not in the policy; stderr becomes the log pipe
 *   2. when root: drop to nobody (uid/gid 65534), no supplementary groups
 *   3. best effort: new user + network namespaces (no network at all)
 *   4. rlimits: AS/DATA, CPU, FSIZE 0, NPROC 0, CORE 0, MEMLOCK 0
 *   5. PR_SET_NO_NEW_PRIVS, PR_SET_DUMPABLE 0, signal handlers reset,
 *      PR_SET_PDEATHSIG again (a uid change clears it)
 *   6. Landlock without any filesystem right (when the kernel has Landlock),
 *      then RLIMIT_NOFILE = highest kept descriptor + 1
 *   7. seccomp allow-list pinned to the policy's descriptors, default kill
 * With a dir_fd (the builder of an export with files), layer 6 allows
 * reading regular files beneath that directory and is mandatory, and
 * layer 7 allows openat2 relative to it (beneath.h, docs/SANDBOX.md).
 * Layers 3 and 6 depend on the kernel; their absence is not an error and is
 * reported by sandbox_layers(). Layers 1, 2, 4, 5 and 7 are mandatory.
 *
 * Functions return 0 or a negative enum err code (format/err.h) unless
 * stated. None of them prints or exits, except the child side of
 * sandbox_spawn(), which _exit()s.
 */
#ifndef TEXP_SANDBOX_H
#define TEXP_SANDBOX_H

#include <stddef.h>
#include <sys/types.h>

/* What one child may touch. Every descriptor must be open. */
struct sandbox_policy {
	int out_fd;		/* data pipe: write allowed. Not a regular file. */
	int log_fd;		/* log pipe: write allowed; fd 2 becomes a copy
				 * of it. Not a regular file (RLIMIT_FSIZE 0). */
	int db_fd;		/* libpq socket (PQsocket): sendto (without an
				 * address), recvfrom and poll allowed; -1 for
				 * none (the checker). Must be a socket. */
	int in_fd;		/* opened O_RDONLY: read, pread64, lseek allowed;
				 * -1 for none. */
	int peer_fd;		/* a second socket (the relay's builder side):
				 * sendto (without an address) and recvfrom
				 * allowed, and poll on two descriptors.
				 * 0 or -1 for none (a zero-initialised
				 * policy has none; fd 0 is never a peer). */
	int dir_fd;		/* a tenant's directory, O_PATH (beneath.h):
				 * openat2 on it allowed, Landlock lets files
				 * beneath it be read (and nothing else), read
				 * and fstat on the one descriptor a file opens
				 * at. Landlock becomes mandatory. 0 or -1 for
				 * none. */
	size_t mem_limit;	/* RLIMIT_AS and RLIMIT_DATA in bytes; 0 means
				 * SANDBOX_DEFAULT_MEM (ignored under ASan, whose
				 * shadow memory needs terabytes of address space) */
	unsigned cpu_seconds;	/* RLIMIT_CPU; 0 means no limit */
};

#define SANDBOX_DEFAULT_MEM	((size_t)1 << 30)
/* The unprivileged identity a root monitor's children run as. */
#define SANDBOX_NOBODY		65534

/* Bits of sandbox_layers(). */
#define SANDBOX_LAYER_FDS	0x01	/* other descriptors closed */
#define SANDBOX_LAYER_UID	0x02	/* ran as root and dropped to nobody */
#define SANDBOX_LAYER_USERNS	0x04	/* in a new user namespace */
#define SANDBOX_LAYER_NETNS	0x08	/* in a new, empty network namespace */
#define SANDBOX_LAYER_RLIMITS	0x10
#define SANDBOX_LAYER_NNP	0x20	/* no_new_privs, not dumpable */
#define SANDBOX_LAYER_LANDLOCK	0x40	/* Landlock denies all file access */
#define SANDBOX_LAYER_SECCOMP	0x80	/* the syscall filter is loaded */

/*
 * In the child, right after the fork and before touching untrusted data:
 * applies every layer above. On success returns 0 and the child is confined
 * for the rest of its life; it must leave with _exit() (never exit(), whose
 * atexit handlers, stdio flushing and LeakSanitizer would make system calls
 * the filter kills, and never sodium_free() or sandbox_secret_free()).
 * Returns ERR_INVALID for a bad policy (closed or wrongly typed descriptor,
 * fd 2 used for something other than the log) and ERR_SANDBOX when a
 * mandatory layer could not be applied; sandbox_failed_step() then names it.
 * On failure the process may be half confined: the caller must _exit().
 * Call it only in a single-threaded child.
 */
int sandbox_enter(const struct sandbox_policy *p);

/*
 * The layers sandbox_enter() applied in this process (SANDBOX_LAYER_* bits;
 * 0 before it ran). Lets the child report, through its log pipe, that
 * Landlock or the namespaces were not available.
 */
unsigned sandbox_layers(void);

/* The Landlock ABI version found by sandbox_enter(); 0 if none. */
/* After sandbox_enter() with a dir_fd: the descriptor number a file opened
 * beneath it gets (the lowest free one), the only one read and fstat may
 * use besides in_fd; -1 otherwise. */
int sandbox_file_slot(void);

int sandbox_landlock_abi(void);

/*
 * After sandbox_enter() failed: a static, lowercase phrase naming the step
 * ("close descriptors", "drop privileges", "seccomp load", ...) and the
 * errno seen there (0 if none). Never NULL.
 */
const char *sandbox_failed_step(int *errno_out);

/*
 * Flushes stdio, forks, and in the child runs fn(arg), then _exit()s with
 * its result: r when 0 <= r <= 255, -r when r is a negative err code
 * (so the parent may call err_str(-status)), 255 otherwise. fn normally
 * starts with sandbox_enter(). The child is killed (SIGKILL) when the
 * parent dies, and exits at once with SANDBOX_EXIT_ORPHAN if the parent
 * died before that was armed. Never returns in the child. Returns the
 * child's pid, or ERR_CHILD if fork failed (errno is kept).
 */
#define SANDBOX_EXIT_ORPHAN	125
pid_t sandbox_spawn(int (*fn)(void *), void *arg);

/*
 * Waits for child pid, retrying on EINTR. Writes a one-line description
 * into msg (always NUL-terminated when msglen > 0): "exited with status 3",
 * "killed by SIGSYS: the sandbox blocked a forbidden system call",
 * "killed by SIGKILL (memory or CPU limit?)", ... and stores the raw wait
 * status in *status_out when not NULL. Returns 0 if the child exited with
 * status 0, ERR_CHILD otherwise, ERR_IO if waitpid itself failed.
 */
int sandbox_wait(pid_t pid, char *msg, size_t msglen, int *status_out);

/*
 * Writes "NUMBER (NAME)" for system call nr of the native architecture into
 * buf (NAME is "unknown" when libseccomp does not know it). For messages;
 * not async-signal-safe.
 */
void sandbox_syscall_name(int nr, char *buf, size_t len);

/*
 * Memory for secrets the monitor keeps across forks (signing key, control
 * DB password): fresh anonymous pages marked MADV_WIPEONFORK, so every
 * forked child sees them as zeros; MADV_DONTDUMP and mlock are best effort;
 * a PROT_NONE guard page sits on each side. Returns zeroed memory of len
 * bytes (len > 0), or NULL if the pages could not be mapped or the kernel
 * cannot wipe them on fork (errno is set). Free with sandbox_secret_free().
 */
void *sandbox_secret_alloc(size_t len);

/*
 * Wipes the len bytes at p (len as given to sandbox_secret_alloc) and
 * unmaps them with their guard pages. Accepts NULL. Never call it in a
 * sandboxed child: its copy is already zero, and munlock/munmap of the
 * whole region is outside the filter's contract.
 */
void sandbox_secret_free(void *p, size_t len);

/*
 * In a child that is about to execve a program the service does not
 * trust with its files (a notification hook): covers each of the n paths
 * (directories with an empty read-only tmpfs, files with /dev/null) in a
 * new user and mount namespace, then drops every capability for good
 * (bounding set, locked securebits, no_new_privs). The network and the
 * rest of the filesystem stay as they were. ERR_SANDBOX when a step
 * failed (user namespaces disabled, a path that cannot be covered): the
 * caller must not run the program then. Call it only in a
 * single-threaded child.
 */
int sandbox_hide_paths(const char *const *paths, size_t n);

/*
 * Call once in the monitor before the first fork: sets TZ=UTC0 (then
 * tzset()) and LC_ALL=C (then setlocale()), initialises libsodium and
 * loads libcrypto's cipher for the payload (aead_prepare()), so that no
 * code in a child later opens /etc/localtime, a locale or message
 * catalogue, /dev/urandom or libcrypto's configuration, which the sandbox
 * would kill.
 */
void sandbox_prepare_process(void);

#endif
