/*
 * xfiles.c: uploaded files of an extraction (xfiles.h).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "beneath.h"
#include "err.h"
#include "xfiles.h"

struct xfiles {
	int dirfd;		/* the extraction directory */
	int tmpfd;		/* the temporary directory, or -1 */
	char tmp[64];		/* its name */
	int committed;
	int fd;			/* the file being written, or -1 */
	uint64_t count;
};

static void
set_why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

int
xfiles_new(int dirfd, struct xfiles **out)
{
	struct xfiles *f;

	if ((*out = f = calloc(1, sizeof(*f))) == NULL)
		return ERR_NOMEM;
	f->dirfd = dirfd;
	f->tmpfd = f->fd = -1;
	return 0;
}

int
xfiles_map_name(const uint8_t *in, size_t len, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, n = 0;
	uint8_t c;

	for (i = 0; i < len; i++) {
		c = in[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		    (c == '.' && i > 0)) {
			if (n + 1 >= outlen || n + 1 > BENEATH_NAME_MAX)
				return ERR_PATH;
			out[n++] = (char)c;
			continue;
		}
		if (n + 3 >= outlen || n + 3 > BENEATH_NAME_MAX)
			return ERR_PATH;
		out[n++] = '%';
		out[n++] = hex[c >> 4];
		out[n++] = hex[c & 15];
	}
	if (n == 0)
		return ERR_PATH;
	out[n] = '\0';
	return 0;
}

/* The hidden temporary directory, created on the first file. */
static int
tmp_open(struct xfiles *f)
{
	uint8_t rnd[8];
	char hex[17];

	if (f->tmpfd >= 0)
		return 0;
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	snprintf(f->tmp, sizeof(f->tmp), ".files.tmp-%s", hex);
	if (mkdirat(f->dirfd, f->tmp, 0700) != 0)
		return ERR_IO;
	if ((f->tmpfd = openat(f->dirfd, f->tmp, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) < 0) {
		(void)unlinkat(f->dirfd, f->tmp, AT_REMOVEDIR);
		f->tmp[0] = '\0';
		return ERR_IO;
	}
	return 0;
}

/* Descends into (creating) directory name beneath *cur. */
static int
descend(int *cur, const char *name)
{
	int fd;

	if (mkdirat(*cur, name, 0700) != 0 && errno != EEXIST)
		return ERR_IO;
	fd = openat(*cur, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd < 0)
		return errno == ENOTDIR || errno == ELOOP ? ERR_EXISTS : ERR_IO;
	*cur = fd;
	return 0;
}

int
xfiles_begin(struct xfiles *f, const uint8_t *path, size_t len, char *why,
    size_t whylen)
{
	char name[BENEATH_NAME_MAX + 1];
	const char *rule = NULL;
	size_t i, start = 0;
	int cur, next, r;

	if (f->fd >= 0 || f->committed)
		return ERR_INVALID;
	if ((r = beneath_check_path((const char *)path, len, &rule)) != 0) {
		set_why(why, whylen, "a file's path is not safe to write: %s",
		    rule);
		return r;
	}
	if ((r = tmp_open(f)) != 0) {
		set_why(why, whylen, "cannot create the files directory");
		return r;
	}
	cur = f->tmpfd;
	for (i = 0; i <= len; i++) {
		if (i < len && path[i] != '/')
			continue;
		if ((r = xfiles_map_name(path + start, i - start, name,
		    sizeof(name))) != 0) {
			set_why(why, whylen, "a file's path has a component "
			    "too long once mapped");
			goto out;
		}
		start = i + 1;
		if (i < len) {
			next = cur;
			if ((r = descend(&next, name)) != 0) {
				set_why(why, whylen, "cannot create the "
				    "directory \"%s\" of a file", name);
				goto out;
			}
			if (cur != f->tmpfd)
				close(cur);
			cur = next;
			continue;
		}
		f->fd = openat(cur, name, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (f->fd < 0) {
			r = errno == EEXIST ? ERR_EXISTS : ERR_IO;
			set_why(why, whylen, r == ERR_EXISTS ? "two rows name "
			    "the file \"%s\"" : "cannot create the file \"%s\"",
			    name);
			goto out;
		}
	}
	f->count++;
	r = 0;
 out:
	if (cur != f->tmpfd)
		close(cur);
	return r;
}

int
xfiles_data(struct xfiles *f, const uint8_t *p, size_t n)
{
	ssize_t w;

	if (f->fd < 0)
		return ERR_INVALID;
	while (n > 0) {
		w = write(f->fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return ERR_IO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
xfiles_end(struct xfiles *f)
{
	int r;

	if (f->fd < 0)
		return ERR_INVALID;
	r = close(f->fd) == 0 ? 0 : ERR_IO;
	f->fd = -1;
	return r;
}

int
xfiles_commit(struct xfiles *f, char *why, size_t whylen)
{
	if (f->fd >= 0)
		return ERR_INVALID;
	if (f->tmpfd < 0)
		return 0;
	if (renameat2(f->dirfd, f->tmp, f->dirfd, XFILES_DIR,
	    RENAME_NOREPLACE) != 0) {
		set_why(why, whylen, errno == EEXIST ? "refusing to replace "
		    "the directory \"" XFILES_DIR "\"" : "cannot rename the "
		    "files directory into place");
		return errno == EEXIST ? ERR_EXISTS : ERR_IO;
	}
	f->committed = 1;
	return 0;
}

void
xfiles_uncommit(struct xfiles *f)
{
	if (f->committed && renameat2(f->dirfd, XFILES_DIR, f->dirfd, f->tmp,
	    RENAME_NOREPLACE) == 0)
		f->committed = 0;
}

uint64_t
xfiles_count(const struct xfiles *f)
{
	return f->count;
}

/* Removes everything beneath the directory at fd (which it closes). */
static void
remove_tree(int fd, unsigned depth)
{
	struct dirent *de;
	DIR *d;
	int sub;

	if (depth > BENEATH_PATH_MAX || (d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			continue;
		sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue;
		remove_tree(sub, depth + 1);
		(void)unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

void
xfiles_free(struct xfiles *f)
{
	if (f == NULL)
		return;
	if (f->fd >= 0)
		close(f->fd);
	if (f->tmpfd >= 0) {
		if (!f->committed) {
			remove_tree(f->tmpfd, 0);
			(void)unlinkat(f->dirfd, f->tmp, AT_REMOVEDIR);
		} else
			close(f->tmpfd);
	}
	free(f);
}
