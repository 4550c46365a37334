#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "file.h"

static int
open_errno(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		return ERR_NOENT;
	case ELOOP:	/* O_NOFOLLOW met a symbolic link */
		return ERR_PERM;
	case ENOMEM:
		return ERR_NOMEM;
	default:
		return ERR_IO;
	}
}

int
file_read_small(int dirfd, const char *path, size_t max, int secret,
    struct buf **out)
{
	struct buf *b = NULL;
	struct stat st;
	uint8_t *dst;
	size_t room, want;
	ssize_t n;
	int e, fd, r = ERR_IO;

	*out = NULL;
	if (path == NULL || max == SIZE_MAX)
		return ERR_INVALID;
	if ((fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY)) < 0)
		return open_errno(errno);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	/* A secret others may read is already compromised: refuse it, as
	 * OpenSSH does, so that the owner notices. */
	if (secret && (st.st_mode & 077) != 0) {
		r = ERR_PERM;
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		r = ERR_LIMIT;
		goto out;
	}
	/* one byte to spare: callers may terminate text with a NUL, and a
	 * read into it tells "exactly max" from "longer" */
	if ((b = secret ? buf_new_secret(max + 1) : buf_new(max + 1)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	/* To the end of the file, whatever fstat said: it may grow, or be
	 * a file whose size the kernel does not know in advance. */
	for (;;) {
		room = max + 1 - buf_len(b);
		want = buf_len(b) < (size_t)st.st_size ?
		    (size_t)st.st_size - buf_len(b) + 1 : 4096;
		if (room > want)
			room = want;
		if ((r = buf_reserve(b, room, &dst)) != 0)
			goto out;
		n = read(fd, dst, room);
		e = errno;
		if ((r = buf_unput(b, n < 0 ? room : room - (size_t)n)) != 0)
			goto out;
		if (n < 0 && e == EINTR)
			continue;
		if (n < 0) {
			r = ERR_IO;
			goto out;
		}
		if (buf_len(b) > max) {
			r = ERR_LIMIT;
			goto out;
		}
		if (n == 0)
			break;
	}
	*out = b;
	b = NULL;
	r = 0;
 out:
	buf_free(b);
	close(fd);
	return r;
}

const char *
file_error_reason(const char *path, int r)
{
	struct stat st;

	if (r == ERR_NOMEM)
		return "out of memory";
	/* what the path is comes first: a symbolic link or a directory is
	 * refused whatever its mode */
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? "does not exist" : errno == EACCES ?
		    "is in a directory this account cannot enter" :
		    "cannot be read";
	if (S_ISLNK(st.st_mode))
		return "is a symbolic link (not followed: name the file itself)";
	if (S_ISDIR(st.st_mode))
		return "is a directory, not a file";
	if (!S_ISREG(st.st_mode))
		return "is not a regular file";
	if (r == ERR_PERM)
		return "can be read or written by others (it must be mode 0600)";
	if (r == ERR_LIMIT)
		return "is too large";
	if (r == ERR_PASSPHRASE)
		return "has an empty first line";
	if (r == ERR_NOENT)
		return "does not exist";
	if (r == ERR_IO && access(path, R_OK) != 0)
		return "is not readable by this account";
	return err_str(r);
}

int
file_read_secret_line(const char *path, size_t max, char **out, size_t *len)
{
	struct buf *b = NULL;
	const uint8_t *p;
	size_t n = 0;
	char *s;
	int r;

	*out = NULL;
	*len = 0;
	if ((r = file_read_small(AT_FDCWD, path, max, 1, &b)) != 0)
		return r;
	p = buf_ptr(b);
	while (n < buf_len(b) && p[n] != '\n' && p[n] != '\r')
		n++;
	if (n == 0 || memchr(p, '\0', n) != NULL) {
		buf_free(b);
		return ERR_PASSPHRASE;
	}
	if ((s = sodium_malloc(n + 1)) == NULL) {
		buf_free(b);
		return ERR_NOMEM;
	}
	memcpy(s, p, n);
	s[n] = '\0';
	buf_free(b);	/* secret: wiped */
	*out = s;
	*len = n;
	return 0;
}

int
file_write_new(const char *path, const void *p, size_t len, mode_t mode)
{
	const uint8_t *q = p;
	size_t done = 0;
	ssize_t n;
	int fd, r = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode);
	if (fd < 0)
		return errno == EEXIST ? ERR_EXISTS : ERR_IO;
	/* exactly mode, whatever the umask */
	if (fchmod(fd, mode) != 0)
		r = ERR_IO;
	while (r == 0 && done < len) {
		n = write(fd, q + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			r = ERR_IO;
		else
			done += (size_t)n;
	}
	if (r == 0 && fsync(fd) != 0)
		r = ERR_IO;
	if (close(fd) != 0)
		r = ERR_IO;
	if (r != 0)
		unlink(path);
	return r;
}
