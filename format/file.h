/*
 * file.h: small files the tools read and write whole (keys, signatures,
 * checkpoints, archive indexes).
 */
#ifndef TEXP_FILE_H
#define TEXP_FILE_H

#include <sys/types.h>

#include <stddef.h>

struct buf;

/*
 * Reads the regular file at path (relative to dirfd; AT_FDCWD for the
 * current directory), opened with O_NOFOLLOW, to its end into a new
 * buffer; files over max bytes are refused (the buffer keeps one more byte
 * of room, for a terminating NUL). With secret set the buffer is sodium
 * memory and the file must not be accessible to group or others. Returns
 * 0 with *out set (the caller frees it), or ERR_NOENT (missing), ERR_PERM
 * (a symbolic link, or a secret others may access), ERR_IO (unreadable or
 * not a regular file), ERR_LIMIT, ERR_NOMEM.
 */
int file_read_small(int dirfd, const char *path, size_t max, int secret,
    struct buf **out);

/*
 * Why file_read_small (or a key or passphrase loader built on it) could
 * not read path, for a message: "is a directory", "is a symbolic link
 * (not followed)", "does not exist", "can be read by others (it must be
 * mode 0600)", ...; r is the code it returned. Looks at path again with
 * lstat(); never NULL.
 */
const char *file_error_reason(const char *path, int r);

/*
 * The first line (up to the first CR or LF) of a passphrase file, read as
 * a secret (file_read_small: mode 0600 or stricter, at most max bytes),
 * into new sodium memory, NUL-terminated; *len is its length. The caller
 * sodium_free()s *out. ERR_PASSPHRASE if the line is empty, or
 * file_read_small's errors.
 */
int file_read_secret_line(const char *path, size_t max, char **out,
    size_t *len);

/*
 * Creates path (O_EXCL, O_NOFOLLOW) with exactly mode, writes p[0..len)
 * and fsyncs it; on any failure the file is removed again. ERR_EXISTS if
 * path exists, ERR_IO otherwise.
 */
int file_write_new(const char *path, const void *p, size_t len, mode_t mode);

#endif
