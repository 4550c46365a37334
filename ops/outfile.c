/*
 * outfile.c: atomic replacement of a published file (outfile.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "outfile.h"

static int
write_all(int fd, const void *p, size_t len)
{
	const char *b = p;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, b, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

int
ops_file_replace(const char *path, const void *p, size_t len, mode_t mode)
{
	char *dcopy = NULL, *bcopy = NULL, *tmp = NULL;
	const char *dir, *base;
	int fd = -1, dfd = -1, r = ERR_IO, saved;

	if ((dcopy = strdup(path)) == NULL || (bcopy = strdup(path)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	dir = dirname(dcopy);
	base = basename(bcopy);
	if (asprintf(&tmp, "%s/.%s.tmp-XXXXXX", dir, base) < 0) {
		tmp = NULL;
		r = ERR_NOMEM;
		goto out;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if (fchmod(fd, mode) != 0 || write_all(fd, p, len) != 0 ||
	    fsync(fd) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out;
	free(tmp);
	tmp = NULL;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	r = 0;
 out:
	saved = errno;
	if (fd != -1)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	free(dcopy);
	free(bcopy);
	errno = saved;
	return r;
}
