/*
 * beneath.h: opening a tenant's uploaded files without leaving the
 * tenant's directory.
 *
 * Two sides:
 *   - the monitor opens the tenant's directory, root/<tenant>, as an
 *     O_PATH descriptor with no symbolic link at any level
 *     (beneath_open_dir), and hands only that descriptor to the builder
 *     (sandbox_policy.dir_fd);
 *   - the sandboxed builder opens each file relative to it
 *     (beneath_open_file): a relative path in canonical form, resolved by
 *     openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 *     RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV, regular files only, read
 *     only, one file at a time.
 *
 * The path rule (beneath_check_path) is applied before any system call,
 * so an attempt to leave is refused by the rule, by openat2's resolution
 * and, for a builder that would skip both, by the sandbox (Landlock allows
 * reading beneath dir_fd only; docs/SANDBOX.md, "Files").
 *
 * Functions return 0 or a negative enum err code (format/err.h) and never
 * print. `why` outputs are static lowercase phrases that never contain the
 * path or any file content.
 */
#ifndef TEXP_BENEATH_H
#define TEXP_BENEATH_H

#include <stddef.h>
#include <stdint.h>

#define BENEATH_PATH_MAX	4095	/* bytes of a relative path */
#define BENEATH_NAME_MAX	255	/* bytes of one component */

/* One open file: what fstat said of the open descriptor. */
struct beneath_file {
	int fd;			/* O_RDONLY; the caller closes it */
	uint64_t size;
	uint64_t dev, ino;
	int64_t mtime_sec;
	int64_t mtime_nsec;
	int64_t ctime_sec;
	int64_t ctime_nsec;
};

/*
 * 0 if the len bytes at rel are a relative path in canonical form:
 * 1..BENEATH_PATH_MAX bytes, no NUL, not starting with '/', components of
 * 1..BENEATH_NAME_MAX bytes separated by single '/', none "." or "..", no
 * trailing '/'. Otherwise ERR_PATH and *why says which rule.
 */
int beneath_check_path(const char *rel, size_t len, const char **why);

/*
 * 0 if name (NUL-terminated) can be a single directory name: 1..255
 * bytes, no '/', not "." or "..". Otherwise ERR_PATH.
 */
int beneath_check_name(const char *name);

/*
 * The monitor's side: opens root (an absolute path) and then name beneath
 * it, both O_PATH | O_DIRECTORY | O_CLOEXEC, resolving no symbolic link
 * at any level of either (RESOLVE_NO_SYMLINKS; name also RESOLVE_BENEATH
 * and RESOLVE_NO_XDEV). Sets *out to the tenant directory's descriptor.
 * Returns ERR_INVALID (root not absolute, name not one name), ERR_NOENT
 * (a component missing), ERR_PATH (a symbolic link, a non-directory, a
 * mount crossing, with *why), ERR_IO (anything else; errno kept).
 */
int beneath_open_dir(const char *root, const char *name, int *out,
    const char **why);

/*
 * The root alone (lint): O_PATH | O_DIRECTORY | O_CLOEXEC, no symbolic
 * link at any level. Returns the descriptor, or a negative code as
 * beneath_open_dir does.
 */
int beneath_open_root(const char *root, const char **why);

/*
 * The builder's side: opens the file at the len bytes of rel beneath
 * dirfd. First as O_PATH to look at it without opening it (a FIFO or a
 * device is never opened for reading), then O_RDONLY | O_NONBLOCK |
 * O_NOCTTY, both with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV; both must be the same regular
 * file (device and inode). fstat is the raw system call on the open
 * descriptor (glibc's fstat goes through newfstatat, which takes a path).
 * Returns 0 and fills *f, or ERR_PATH (the path rule, a component that
 * would leave, a symbolic link, another filesystem, not a regular file, a
 * file replaced between the two opens), ERR_NOENT (missing), ERR_IO
 * (errno kept), each with *why.
 */
int beneath_open_file(int dirfd, const char *rel, size_t len,
    struct beneath_file *f, const char **why);

/*
 * After reading: 0 if the open file still has the size, modification and
 * change times it had when opened, else ERR_IO with *why ("changed while
 * read"). The content read is then not what the hash would claim.
 */
int beneath_recheck(const struct beneath_file *f, const char **why);

#endif
