/*
 * builder.h: the sandboxed child that reads one tenant's rows and writes
 * the encrypted archive payload, and the checker child that proves it.
 *
 * The monitor prepares everything a child needs before fork (SQL text,
 * column types, the preamble, the file key) so that the child, once
 * confined, only computes: it cannot open files, sockets or programs, and
 * its database session cannot leave the tenant's scope.
 *
 * Log pipe protocol (child -> monitor), one line each:
 *   "progress ROWS BYTES"   rows read and plaintext bytes so far
 *   "error TEXT"            why the child is about to fail
 *   "note TEXT"             anything else (test attacks report here)
 */
#ifndef TEXP_BUILDER_H
#define TEXP_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "age.h"
#include "manifest.h"

struct builder_table {
	char *copy_sql;			/* COPY (SELECT ...) TO STDOUT binary */
	char *widen_sql;		/* test builds: the same without filter */
	uint32_t *oids;			/* column types as COPY sends them */
	size_t ncols;
};

struct builder_job {
	PGconn *conn;			/* the scoped, read-only session */
	int out_fd;			/* data pipe */
	int log_fd;			/* log pipe */
	uint8_t file_key[AGE_FILE_KEY_LEN];
	struct manifest *pre;		/* preamble: tables, salt, ids */
	struct builder_table *tables;	/* one per pre->tables[i] */
	int zstd;
	size_t part_bytes;
	const char *tenant;		/* the tenant key, as text */
	unsigned cpu_seconds;		/* RLIMIT_CPU */
	/* a progress report every progress_mask + 1 rows (a power of
	 * two), besides one every 500 ms */
	uint64_t progress_mask;
	int dir_fd;			/* the tenant's directory (O_PATH,
					 * beneath.h) when pre->has_files;
					 * else -1 */
	const char *attack;		/* test builds only; else NULL */
	const char *attack_arg;
};

/* The builder child's body (sandbox_spawn). Returns the exit status. */
int builder_main(void *job);

struct tokscan;

struct checker_job {
	int in_fd;			/* ciphertext from the monitor */
	int out_fd;			/* result to the monitor */
	int log_fd;
	uint8_t file_key[AGE_FILE_KEY_LEN];
	const char *tenant;
	const struct tokscan *watch;	/* the leak test's identifiers, or
					 * NULL (verify.h, watch mode) */
	unsigned cpu_seconds;		/* RLIMIT_CPU */
	const char *attack;		/* test builds only; else NULL */
};

/*
 * The checker child's body: runs verify_stream over in_fd and writes the
 * result to out_fd:
 *   "texp-check v1\n" "ok\n" or "fail N\n", then up to 20 lines
 *   "finding CODE TEXT\n", then with a watch list "stat tenant_bad N\n",
 *   "stat hits_dropped N\n" and one "hit TABLE COLUMN WHICH RECORDS
 *   FIRST\n" per place a watched identifier occurred (indexes, counts,
 *   never a value), then "manifest LEN\n" and LEN bytes (the manifest
 *   that was proven, or LEN 0).
 */
int checker_main(void *job);

/* Writes one formatted line to fd (a pipe), newlines inside flattened,
 * at most 600 bytes. Errors are ignored: the reader sees a short log. */
void builder_log(int fd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Writes all of p to fd, retrying on EINTR. 0 or ERR_IO. */
int builder_write_all(int fd, const void *p, size_t n);

#endif
