/*
 * hide.c: a process that runs someone else's program without the files
 * the service keeps (sandbox.h, sandbox_hide_paths).
 *
 * A new user namespace (the same uid and gid, mapped onto themselves)
 * owning a new mount namespace: each path to hide is covered, a directory
 * by an empty read-only tmpfs, a file by /dev/null bound read-only over
 * it. Then the process gives up every capability it has in its
 * namespace, for good: the bounding set emptied, SECBIT_NOROOT and
 * SECBIT_NO_SETUID_FIXUP locked (an execve by uid 0 grants nothing), and
 * no_new_privs. Without CAP_SYS_ADMIN nothing can unmount the covers; the
 * program sees the paths, empty.
 */
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/securebits.h>

#include "err.h"
#include "sandbox.h"

static int
write_file(const char *path, const char *text)
{
	size_t n = strlen(text);
	int fd, ok;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return -1;
	ok = write(fd, text, n) == (ssize_t)n;
	close(fd);
	return ok ? 0 : -1;
}

/* The same ids inside as outside: files keep their owners. */
static int
map_ids(uid_t uid, gid_t gid)
{
	char line[64];

	if (write_file("/proc/self/setgroups", "deny") != 0 && errno != ENOENT)
		return -1;
	snprintf(line, sizeof(line), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	if (write_file("/proc/self/uid_map", line) != 0)
		return -1;
	snprintf(line, sizeof(line), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	return write_file("/proc/self/gid_map", line);
}

static int
cover(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (S_ISDIR(st.st_mode))
		return mount("none", path, "tmpfs", MS_RDONLY | MS_NOSUID |
		    MS_NODEV | MS_NOEXEC, "size=4k,mode=0500");
	/* read-only; not nodev, or /dev/null itself could not be opened */
	if (mount("/dev/null", path, NULL, MS_BIND, NULL) != 0)
		return -1;
	return mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY |
	    MS_NOSUID | MS_NOEXEC, NULL);
}

/* Every capability gone, and no way back through execve. */
static int
drop_caps(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	int cap;

	for (cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 &&
		    errno != EINVAL)
			return -1;
	if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
	    SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
	    SECBIT_KEEP_CAPS_LOCKED, 0, 0, 0) != 0)
		return -1;
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) != 0)
		return -1;
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

int
sandbox_hide_paths(const char *const *paths, size_t n)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	size_t i;

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0 || map_ids(uid, gid) != 0)
		return ERR_SANDBOX;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return ERR_SANDBOX;
	for (i = 0; i < n; i++)
		if (paths[i] != NULL && paths[i][0] != '\0' &&
		    cover(paths[i]) != 0)
			return ERR_SANDBOX;
	return drop_caps() != 0 ? ERR_SANDBOX : 0;
}
