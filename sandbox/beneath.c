/*
 * beneath.c: the tenant's directory and the files beneath it (beneath.h).
 */
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "beneath.h"
#include "err.h"

#define RESOLVE_FILE	(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | \
	RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

static int
sys_openat2(int dirfd, const char *path, uint64_t flags, uint64_t resolve)
{
	struct open_how how;
	long r;

	memset(&how, 0, sizeof(how));
	how.flags = flags;
	how.resolve = resolve;
	do
		r = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	while (r == -1 && (errno == EINTR || errno == EAGAIN));
	return (int)r;
}

/* The fstat system call itself: the descriptor, never a path. */
static int
sys_fstat(int fd, struct stat *st)
{
	return (int)syscall(SYS_fstat, fd, st);
}

static int
set_why(const char **why, const char *text, int r)
{
	if (why != NULL)
		*why = text;
	return r;
}

/* Maps an openat2 failure to a code and a phrase without the path. */
static int
open_failure(int e, const char **why)
{
	switch (e) {
	case ENOENT:
		return set_why(why, "no such file", ERR_NOENT);
	case ELOOP:
		return set_why(why, "a symbolic link on the way", ERR_PATH);
	case EXDEV:
		return set_why(why, "the path leaves the tenant's directory "
		    "or crosses a mount", ERR_PATH);
	case ENOTDIR:
		return set_why(why, "a component is not a directory",
		    ERR_PATH);
	case EACCES:
	case EPERM:
		return set_why(why, "permission denied", ERR_IO);
	default:
		errno = e;
		return set_why(why, "cannot open", ERR_IO);
	}
}

int
beneath_check_path(const char *rel, size_t len, const char **why)
{
	size_t i, start = 0, n;

	if (rel == NULL || len == 0)
		return set_why(why, "an empty path", ERR_PATH);
	if (len > BENEATH_PATH_MAX)
		return set_why(why, "a path longer than 4095 bytes", ERR_PATH);
	if (memchr(rel, '\0', len) != NULL)
		return set_why(why, "a NUL byte in the path", ERR_PATH);
	if (rel[0] == '/')
		return set_why(why, "an absolute path", ERR_PATH);
	for (i = 0; i <= len; i++) {
		if (i < len && rel[i] != '/')
			continue;
		n = i - start;
		if (n == 0)
			return set_why(why, "an empty component (\"//\" or a "
			    "trailing \"/\")", ERR_PATH);
		if (n > BENEATH_NAME_MAX)
			return set_why(why, "a component longer than 255 "
			    "bytes", ERR_PATH);
		if (rel[start] == '.' && (n == 1 ||
		    (n == 2 && rel[start + 1] == '.')))
			return set_why(why, "a \".\" or \"..\" component",
			    ERR_PATH);
		start = i + 1;
	}
	return 0;
}

int
beneath_check_name(const char *name)
{
	size_t n;

	if (name == NULL || (n = strlen(name)) == 0 || n > BENEATH_NAME_MAX ||
	    strchr(name, '/') != NULL || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return ERR_PATH;
	return 0;
}

int
beneath_open_root(const char *root, const char **why)
{
	int fd;

	if (root == NULL || root[0] != '/')
		return set_why(why, "the root is not an absolute path",
		    ERR_INVALID);
	fd = sys_openat2(AT_FDCWD, root, O_PATH | O_DIRECTORY | O_CLOEXEC,
	    RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (fd == -1)
		return open_failure(errno, why);
	return fd;
}

int
beneath_open_dir(const char *root, const char *name, int *out,
    const char **why)
{
	int rfd = -1, dfd = -1, r, e;

	*out = -1;
	if (beneath_check_name(name) != 0)
		return set_why(why, "the tenant key cannot be a directory "
		    "name", ERR_INVALID);
	if ((rfd = beneath_open_root(root, why)) < 0) {
		r = rfd;
		rfd = -1;
		goto out;
	}
	dfd = sys_openat2(rfd, name, O_PATH | O_DIRECTORY | O_CLOEXEC,
	    RESOLVE_FILE);
	if (dfd == -1) {
		r = open_failure(errno, why);
		goto out;
	}
	*out = dfd;
	dfd = -1;
	r = 0;
 out:
	e = errno;
	if (rfd != -1)
		(void)close(rfd);
	if (dfd != -1)
		(void)close(dfd);
	errno = e;
	return r;
}

static void
fill(struct beneath_file *f, int fd, const struct stat *st)
{
	f->fd = fd;
	f->size = (uint64_t)st->st_size;
	f->dev = (uint64_t)st->st_dev;
	f->ino = (uint64_t)st->st_ino;
	f->mtime_sec = (int64_t)st->st_mtim.tv_sec;
	f->mtime_nsec = (int64_t)st->st_mtim.tv_nsec;
	f->ctime_sec = (int64_t)st->st_ctim.tv_sec;
	f->ctime_nsec = (int64_t)st->st_ctim.tv_nsec;
}

/* "Not a regular file" with the kind, never the name. */
static int
not_regular(mode_t m, const char **why)
{
	if (S_ISFIFO(m))
		return set_why(why, "not a regular file (a FIFO)", ERR_PATH);
	if (S_ISCHR(m) || S_ISBLK(m))
		return set_why(why, "not a regular file (a device)", ERR_PATH);
	if (S_ISSOCK(m))
		return set_why(why, "not a regular file (a socket)", ERR_PATH);
	if (S_ISDIR(m))
		return set_why(why, "not a regular file (a directory)",
		    ERR_PATH);
	return set_why(why, "not a regular file", ERR_PATH);
}

int
beneath_open_file(int dirfd, const char *rel, size_t len,
    struct beneath_file *f, const char **why)
{
	char path[BENEATH_PATH_MAX + 1];
	struct stat st, st2;
	int pfd = -1, fd = -1, r, e;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	if ((r = beneath_check_path(rel, len, why)) != 0)
		return r;
	memcpy(path, rel, len);
	path[len] = '\0';
	/* Look first, without opening: a FIFO would block, a device act. */
	if ((pfd = sys_openat2(dirfd, path, O_PATH | O_CLOEXEC,
	    RESOLVE_FILE)) == -1) {
		r = open_failure(errno, why);
		goto out;
	}
	if (sys_fstat(pfd, &st) != 0) {
		r = set_why(why, "cannot stat", ERR_IO);
		goto out;
	}
	(void)close(pfd);
	pfd = -1;
	if (!S_ISREG(st.st_mode)) {
		r = not_regular(st.st_mode, why);
		goto out;
	}
	if ((fd = sys_openat2(dirfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC, RESOLVE_FILE)) == -1) {
		r = open_failure(errno, why);
		goto out;
	}
	if (sys_fstat(fd, &st2) != 0) {
		r = set_why(why, "cannot stat", ERR_IO);
		goto out;
	}
	if (!S_ISREG(st2.st_mode)) {
		r = not_regular(st2.st_mode, why);
		goto out;
	}
	if (st2.st_dev != st.st_dev || st2.st_ino != st.st_ino) {
		r = set_why(why, "the file was replaced while being opened",
		    ERR_PATH);
		goto out;
	}
	fill(f, fd, &st2);
	fd = -1;
	r = 0;
 out:
	e = errno;
	if (pfd != -1)
		(void)close(pfd);
	if (fd != -1)
		(void)close(fd);
	errno = e;
	return r;
}

int
beneath_recheck(const struct beneath_file *f, const char **why)
{
	struct stat st;

	if (sys_fstat(f->fd, &st) != 0)
		return set_why(why, "cannot stat", ERR_IO);
	if ((uint64_t)st.st_size != f->size ||
	    (int64_t)st.st_mtim.tv_sec != f->mtime_sec ||
	    (int64_t)st.st_mtim.tv_nsec != f->mtime_nsec ||
	    (int64_t)st.st_ctim.tv_sec != f->ctime_sec ||
	    (int64_t)st.st_ctim.tv_nsec != f->ctime_nsec)
		return set_why(why, "the file changed while it was read",
		    ERR_IO);
	return 0;
}
