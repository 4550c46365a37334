/*
 * lint_files.c: the [files] layout on the filesystem (lint.h,
 * lint_check_files). Read-only: nothing here creates or changes a file.
 */
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "beneath.h"
#include "config.h"
#include "err.h"
#include "lint.h"
#include "text.h"

/* Can the exporter's account write the directory at fd? */
static int
writable(int fd, const struct stat *st, int *ro_mount)
{
	struct statvfs vfs;

	*ro_mount = fstatvfs(fd, &vfs) == 0 && (vfs.f_flag & ST_RDONLY);
	if (*ro_mount)
		return 0;
	if (geteuid() == 0)
		return 1;
	(void)st;
	return faccessat(fd, ".", W_OK, AT_EACCESS) == 0;
}

/* One directory (the root, or a tenant's): writable, searchable. */
static int
check_dir(struct lint_report *rep, int fd, const char *object)
{
	char msg[256];
	struct stat st;
	int ro, r;

	if (fstat(fd, &st) != 0)
		return 0;
	if (writable(fd, &st, &ro)) {
		if (geteuid() == 0) {
			snprintf(msg, sizeof(msg), "the exporter runs as root, "
			    "which can write any directory not on a "
			    "read-only mount");
			r = lint_report_note(rep, "files_writable", object, msg,
			    "mount the files read-only for the exporter, or "
			    "run it as its own account");
		} else {
			r = lint_report_add(rep, "files_writable", object,
			    "the exporter's account can write this directory",
			    "remove its write permission (the exporter only "
			    "reads files)");
		}
		if (r != 0)
			return r;
	}
	if ((st.st_mode & S_IXOTH) == 0)
		return lint_report_note(rep, "files_not_searchable", object,
		    "others cannot enter this directory, and the sandboxed "
		    "builder reads as no account of its own",
		    "give others search (x) permission on the directory and "
		    "read (r) permission on its files");
	return 0;
}

/* The entries directly under the root: tenant directories only. */
static int
check_entries(struct lint_report *rep, int rootfd, const char *root)
{
	char obj[600], esc[4 * 256 + 1];
	struct dirent *de;
	struct stat st;
	size_t n = 0;
	DIR *d;
	int fd, dfd, r = 0;

	if ((dfd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || (d = fdopendir(dfd)) == NULL) {
		if (dfd != -1)
			close(dfd);
		return lint_report_add(rep, "files_root", root,
		    "the root cannot be listed", "let the exporter's account "
		    "read the root directory");
	}
	while (r == 0 && (de = readdir(d)) != NULL &&
	    n++ < LINT_FILES_MAX_ENTRIES) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(rootfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		text_escape(esc, sizeof(esc), de->d_name, strlen(de->d_name));
		snprintf(obj, sizeof(obj), "%s/%s", root, esc);
		if (S_ISLNK(st.st_mode)) {
			r = lint_report_add(rep, "files_symlink", obj,
			    "a symbolic link directly under the files root; "
			    "exports refuse it as a tenant's directory",
			    "replace it with the directory itself");
			continue;
		}
		if (!S_ISDIR(st.st_mode))
			continue;
		fd = openat(rootfd, de->d_name, O_PATH | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (fd == -1)
			continue;
		r = check_dir(rep, fd, obj);
		close(fd);
	}
	closedir(d);
	return r;
}

int
lint_check_files(const struct config *cfg, struct lint_report *rep)
{
	const struct config_files *f = config_files(cfg);
	struct stat st;
	const char *why = "";
	char msg[256];
	int fd = -1, r;

	if (f == NULL)
		return 0;
	fd = beneath_open_root(f->root, &why);
	if (fd < 0) {
		snprintf(msg, sizeof(msg), "the files root cannot be opened: "
		    "%s", why);
		return lint_report_add(rep, "files_root", f->root, msg,
		    "set [files] root to the real directory (no symbolic "
		    "link on its path)");
	}
	r = 0;
	if (fstat(fd, &st) == 0)
		r = check_dir(rep, fd, f->root);
	if (r == 0)
		r = check_entries(rep, fd, f->root);
	close(fd);
	return r;
}
