/*
 * outbox.c: temporaries in the outbox and their exports' locks
 * (outbox.h).
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "outbox.h"

#define BASE_LEN	OUTBOX_BASE_LEN
#define MAX_BASES	4096

static int
all_in(const char *s, size_t n, const char *set)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == '\0' || strchr(set, s[i]) == NULL)
			return 0;
	return 1;
}

/* "export-YYYYMMDD-<32 hex>.texp" exactly, at the start of s. */
static int
is_base(const char *s)
{
	return strncmp(s, "export-", 7) == 0 &&
	    all_in(s + 7, 8, "0123456789") && s[15] == '-' &&
	    all_in(s + 16, 32, "0123456789abcdef") &&
	    strncmp(s + 48, ".texp", 5) == 0;
}

/* What may follow BASE in a published file's name. */
static int
published_suffix(const char *rest)
{
	size_t n = strlen(rest);

	if (n == 0 || strcmp(rest, ".minisig") == 0 ||
	    strcmp(rest, ".index") == 0 || strcmp(rest, ".index.minisig") == 0)
		return 1;
	return (n == 4 || n == 5) && rest[0] == '.' &&
	    all_in(rest + 1, n - 1, "0123456789");
}

/* What may follow ".BASE" in a temporary's name. */
static int
temp_suffix(const char *rest)
{
	size_t n;

	if (strcmp(rest, ".lock") == 0)
		return 1;
	if (rest[0] == '.' && all_in(rest + 1, 3, "0123456789"))
		rest += 4;
	else if (strncmp(rest, ".index", 6) == 0)
		rest += 6;
	else if (strncmp(rest, ".minisig", 8) == 0)
		rest += 8;
	n = strlen(rest);
	return n == 5 + 16 && strncmp(rest, ".tmp-", 5) == 0 &&
	    all_in(rest + 5, 16, "0123456789abcdef");
}

int
outbox_name(const char *name, char base[BASE_LEN + 1], int *tmp)
{
	const char *p = name;

	*tmp = name[0] == '.';
	p += *tmp;
	if (strlen(p) < BASE_LEN || !is_base(p))
		return 0;
	if (!(*tmp ? temp_suffix(p + BASE_LEN) : published_suffix(p +
	    BASE_LEN)))
		return 0;
	memcpy(base, p, BASE_LEN);
	base[BASE_LEN] = '\0';
	return 1;
}

/* An export's own temporary or lock file; copies BASE into base. */
static int
is_export_temp(const char *name, char base[BASE_LEN + 1])
{
	int tmp;

	return outbox_name(name, base, &tmp) && tmp;
}

static void
lock_name(char *out, size_t len, const char *base)
{
	snprintf(out, len, ".%s.lock", base);
}

/* The lock file by name, for the fallback: create, lock, and check that
 * the name still holds this very file (a sweep may have removed it in
 * between). */
static int
lock_by_name(int dirfd, const char *name, int *lockfd)
{
	struct stat a, b;
	int fd, tries;

	for (tries = 0; tries < 3; tries++) {
		fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd < 0)
			return errno == EEXIST ? ERR_EXISTS : ERR_IO;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &a) == 0 &&
		    fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
		    a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
			*lockfd = fd;
			return 0;
		}
		close(fd);
	}
	return ERR_IO;
}

int
outbox_lock(int dirfd, const char *base, int *lockfd)
{
	char name[BASE_LEN + 16], proc[64];
	int fd;

	*lockfd = -1;
	if (!is_base(base) || strlen(base) != BASE_LEN)
		return ERR_INVALID;
	lock_name(name, sizeof(name), base);
	/* Locked before it has a name: no one ever sees it unlocked. */
	fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return lock_by_name(dirfd, name, lockfd);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		return ERR_IO;
	}
	if (linkat(AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW) != 0) {
		int e = errno;

		close(fd);
		if (e == EEXIST)
			return ERR_EXISTS;
		return lock_by_name(dirfd, name, lockfd);	/* no /proc */
	}
	*lockfd = fd;
	return 0;
}

void
outbox_unlock(int dirfd, const char *base, int lockfd)
{
	char name[BASE_LEN + 16];

	if (lockfd < 0)
		return;
	lock_name(name, sizeof(name), base);
	(void)unlinkat(dirfd, name, 0);
	close(lockfd);
}

static int
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	return nanosleep(&ts, NULL);
}

/*
 * The lock of export base, if it can be had: 1 with *fd (or -1 when there
 * is no lock file at all), 0 if the export still runs.
 */
static int
lock_dead(int dirfd, const char *base, int wait_ms, int *fd)
{
	char name[BASE_LEN + 16];

	*fd = -1;
	lock_name(name, sizeof(name), base);
	*fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0)
		return errno == ENOENT;
	for (;;) {
		if (flock(*fd, LOCK_EX | LOCK_NB) == 0)
			return 1;
		if (errno != EWOULDBLOCK || wait_ms <= 0)
			break;
		sleep_ms(100);
		wait_ms -= 100;
	}
	close(*fd);
	*fd = -1;
	return 0;
}

/* The distinct bases of export files in the directory. */
static int
list_bases(int dirfd, const char *only, char (**bases)[BASE_LEN + 1],
    size_t *n)
{
	char base[BASE_LEN + 1];
	struct dirent *de;
	DIR *d;
	size_t i;
	int fd;

	*bases = NULL;
	*n = 0;
	if ((fd = dup(dirfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return ERR_IO;
	}
	rewinddir(d);
	if ((*bases = calloc(MAX_BASES, sizeof(**bases))) == NULL) {
		closedir(d);
		return ERR_NOMEM;
	}
	while ((de = readdir(d)) != NULL && *n < MAX_BASES) {
		if (!is_export_temp(de->d_name, base) ||
		    (only != NULL && strcmp(base, only) != 0))
			continue;
		for (i = 0; i < *n && strcmp((*bases)[i], base) != 0; i++)
			;
		if (i == *n)
			memcpy((*bases)[(*n)++], base, sizeof(base));
	}
	closedir(d);
	return 0;
}

/* Removes every file of export base (its lock file last). */
static size_t
remove_export(int dirfd, const char *base)
{
	char b[BASE_LEN + 1], name[BASE_LEN + 16];
	struct dirent *de;
	size_t n = 0;
	DIR *d;
	int fd;

	if ((fd = dup(dirfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	rewinddir(d);
	lock_name(name, sizeof(name), base);
	while ((de = readdir(d)) != NULL)
		if (is_export_temp(de->d_name, b) && strcmp(b, base) == 0 &&
		    strcmp(de->d_name, name) != 0 &&
		    unlinkat(dirfd, de->d_name, 0) == 0)
			n++;
	closedir(d);
	if (unlinkat(dirfd, name, 0) == 0)
		n++;
	return n;
}

int
outbox_sweep(int dirfd, const char *base, int wait_ms, size_t *removed)
{
	char (*bases)[BASE_LEN + 1] = NULL;
	size_t n, i, total = 0;
	int r, fd;

	if (removed != NULL)
		*removed = 0;
	if (base != NULL && !is_base(base))
		return ERR_INVALID;
	if ((r = list_bases(dirfd, base, &bases, &n)) != 0)
		return r;
	for (i = 0; i < n; i++) {
		if (!lock_dead(dirfd, bases[i], wait_ms, &fd))
			continue;	/* its export still runs */
		total += remove_export(dirfd, bases[i]);
		if (fd >= 0)
			close(fd);
	}
	free(bases);
	if (removed != NULL)
		*removed = total;
	return 0;
}
