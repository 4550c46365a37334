/*
 * xfiles.h: the uploaded files of an extraction (`tenant-verify extract`),
 * written under DIR/files/ at their relative paths.
 *
 * The paths come from the archive and are untrusted. Each must be a
 * canonical relative path (beneath_check_path: no "..", no ".", no empty
 * component, not absolute); each component is then mapped to a file name
 * by the rule of xfiles_map_name, so that no name is hidden, special or
 * outside the directory. Files are created with O_EXCL | O_NOFOLLOW, mode
 * 0600, directories 0700, all relative to descriptors of directories this
 * module created itself, inside a hidden temporary directory
 * (".files.tmp-<hex>") that xfiles_commit renames to "files" only after
 * the archive was proven; xfiles_free removes it otherwise. Two rows that
 * name one file, or a file where a directory must go, fail (ERR_EXISTS).
 *
 * Functions return 0 or a negative enum err code; why gets a sentence
 * that names the mapped path, never file content.
 */
#ifndef TEXP_XFILES_H
#define TEXP_XFILES_H

#include <stddef.h>
#include <stdint.h>

#define XFILES_DIR	"files"

struct xfiles;

/* dirfd: the extraction directory (not owned; must outlive f). */
int xfiles_new(int dirfd, struct xfiles **out);

/*
 * Maps one path component (len bytes) to a file name: bytes of
 * [A-Za-z0-9_-] and '.' (but not a leading '.') are kept; every other
 * byte, '%' included, becomes "%XX" (uppercase hex). ERR_PATH when the
 * result would be longer than 255 bytes.
 */
int xfiles_map_name(const uint8_t *in, size_t len, char *out, size_t outlen);

/* A file begins at path (len bytes); its data follow. */
int xfiles_begin(struct xfiles *f, const uint8_t *path, size_t len,
    char *why, size_t whylen);
int xfiles_data(struct xfiles *f, const uint8_t *p, size_t n);
int xfiles_end(struct xfiles *f);

/* Renames the temporary directory to DIR/files (never replacing one);
 * with no file written, does nothing. */
int xfiles_commit(struct xfiles *f, char *why, size_t whylen);
/* After a commit: takes DIR/files back (the extraction failed later). */
void xfiles_uncommit(struct xfiles *f);

/* Files written so far. */
uint64_t xfiles_count(const struct xfiles *f);

/* Removes an uncommitted temporary directory and frees f. Accepts NULL. */
void xfiles_free(struct xfiles *f);

#endif
