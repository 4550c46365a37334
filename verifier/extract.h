/*
 * extract.h: the extraction sinks of `tenant-verify extract`.
 *
 * An extraction writes, inside one output directory, one file per table
 * ("<schema>.<table>.jsonl", ".csv" or ".cbor", each name mapped by
 * ident_file_name: bytes outside [a-z0-9_] as %XX) and "manifest.cbor"
 * (the receipt).
 * Everything is written under hidden temporary names (".<name>.tmp-<hex>",
 * O_EXCL, O_NOFOLLOW, mode 0600) and only extract_commit gives the files
 * their final names (renameat2 RENAME_NOREPLACE), after the verification
 * that fed the sink has proved the archive. extract_free removes every
 * temporary file that was not committed.
 *
 * Table names come from the archive and are untrusted: a name that is not
 * schema.table as PostgreSQL writes it is refused (ERR_PATH); the file
 * name made from it must still be 1..EXTRACT_NAME_MAX bytes from
 * [A-Za-z0-9_.%~-], not starting with '.' and without "..", and two tables
 * may not map to the same file (ERR_PATH). All file operations are relative to
 * the directory descriptor, so nothing is written outside it.
 *
 * Functions return 0 or a negative enum err code. Those taking why/whylen
 * put a secret-free sentence there on error (naming the file).
 */
#ifndef TEXP_EXTRACT_H
#define TEXP_EXTRACT_H

#include <stddef.h>
#include <stdint.h>

struct manifest;
struct verify_sink;

#define EXTRACT_NAME_MAX	200	/* IDENT_FILE_MAX */
#define EXTRACT_RECEIPT		"manifest.cbor"

enum extract_format {
	EXTRACT_JSONL,
	EXTRACT_CSV,
	EXTRACT_CBOR,
};

/* "jsonl", "csv" or "cbor" -> *f; ERR_USAGE otherwise. */
int extract_format_parse(const char *s, enum extract_format *f);
/* The file name extension without the dot ("jsonl", "csv", "cbor"). */
const char *extract_format_ext(enum extract_format f);

/* 0 if name is an acceptable table name (see above), else ERR_PATH. */
int extract_name_check(const char *name);

struct extract;

/*
 * Opens (creating it with mode 0700 when missing) the output directory
 * dir. ERR_PATH if dir exists and is not a directory (a symlink counts as
 * not a directory), ERR_IO/ERR_PERM/ERR_NOENT if it cannot be created or
 * opened. *out is caller-owned (extract_free).
 */
int extract_open(const char *dir, enum extract_format f,
    struct extract **out, char *why, size_t whylen);

/*
 * Checks the output file names for m's tables before anything is written:
 * ERR_PATH for an unacceptable or colliding table name, ERR_EXISTS when a
 * final name is already taken in the directory. The sink repeats these
 * checks on the preamble it receives, so calling this is optional (it
 * lets the caller refuse before a second, expensive pass).
 */
int extract_prepare(struct extract *x, const struct manifest *m,
    char *why, size_t whylen);

/* Fills s with callbacks that write into x. x must outlive every use of
 * s. Callback errors are enum err codes; extract_error() has the
 * sentence. */
void extract_sink(struct extract *x, struct verify_sink *s);

/* Uploaded files written under DIR/files/ (xfiles.h). */
uint64_t extract_files_count(const struct extract *x);

/* The sentence for the sink's first failure, or "" (never NULL). */
const char *extract_error(const struct extract *x);
/* The enum err code of the sink's first failure, or 0. */
int extract_error_code(const struct extract *x);

/*
 * Gives every temporary file its final name (no file is replaced:
 * ERR_EXISTS, and the files already renamed are removed again) and syncs
 * the directory. ERR_INVALID unless the sink saw a complete, error-free
 * run (begin .. end).
 */
int extract_commit(struct extract *x, char *why, size_t whylen);

/* The files of the run: tables in manifest order, then the receipt.
 * Name is the final file name (owned by x); records is the number of
 * records written (0 for the receipt). Valid after the sink's begin. */
size_t extract_nfiles(const struct extract *x);
const char *extract_file_name(const struct extract *x, size_t i);
uint64_t extract_file_records(const struct extract *x, size_t i);

/* Removes uncommitted temporary files, closes the directory, frees.
 * Accepts NULL. */
void extract_free(struct extract *x);

#endif
