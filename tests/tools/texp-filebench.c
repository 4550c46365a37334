/*
 * texp-filebench: the format library's files path alone (no database, no
 * encryption, no sandbox), for bench/files.sh. Writes a plaintext with
 * ROWS rows of a files table, each with a generated file of SIZE bytes,
 * or reads one back through the full proof, and prints the peak RSS:
 * memory must not grow with the file size, nor with the file count past
 * one part.
 *
 *   texp-filebench write ROWS SIZE OUT
 *   texp-filebench read IN
 */
#include <sys/resource.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "bundle.h"
#include "dcbor.h"
#include "err.h"
#include "manifest.h"

static uint64_t fsize, off;
static int outfd = -1;
static uint64_t failures;

static int
out_write(void *ctx, const uint8_t *p, size_t n)
{
	ssize_t w;

	(void)ctx;
	while (n > 0) {
		if ((w = write(outfd, p, n)) <= 0)
			return ERR_IO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
src_open(void *ctx, uint64_t row, const uint8_t *path, size_t len,
    uint64_t *size)
{
	(void)ctx;
	(void)row;
	(void)path;
	(void)len;
	off = 0;
	*size = fsize;
	return 0;
}

static int
src_read(void *ctx, uint8_t *p, size_t cap, size_t *got)
{
	size_t n = fsize - off < cap ? (size_t)(fsize - off) : cap;

	(void)ctx;
	memset(p, (int)(off & 255), n);
	off += n;
	*got = n;
	return 0;
}

static int
src_close(void *ctx, int ok)
{
	(void)ctx;
	return ok ? 0 : ERR_IO;
}

static int
in_read(void *ctx, uint8_t *p, size_t cap, size_t *got)
{
	ssize_t n = read(*(int *)ctx, p, cap);

	if (n < 0)
		return ERR_IO;
	*got = (size_t)n;
	return 0;
}

static int
on_failure(void *ctx, enum rule rule, int code, const char *msg)
{
	(void)ctx;
	(void)rule;
	(void)code;
	fprintf(stderr, "texp-filebench: %s\n", msg);
	failures++;
	return 0;
}

static int
bench_write(uint64_t rows, const char *out)
{
	struct bundle_file_source fs = { NULL, src_open, src_read, src_close };
	struct manifest *m = manifest_new();
	struct bundle_writer *w = NULL;
	struct buf *b = buf_new(4096);
	char path[64];
	uint64_t i;
	size_t t;
	int n;

	if (m == NULL || b == NULL ||
	    manifest_set_str(&m->tenant_type, "text") != 0 ||
	    manifest_add_table(m, "app.files", 0, &t) != 0 ||
	    manifest_add_column(m, t, "tenant_id", "text") != 0 ||
	    manifest_add_column(m, t, "path", "text") != 0)
		return 1;
	m->created = 1700000000;
	m->expires = 1700003600;
	m->has_files = 1;
	m->files_table = 0;
	m->files_path = 1;
	if ((outfd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 ||
	    bundle_writer_new(m, 0, 0, out_write, NULL, &w) != 0)
		return 1;
	bundle_writer_set_files(w, &fs);
	for (i = 0; i < rows; i++) {
		n = snprintf(path, sizeof(path), "d/f%llu",
		    (unsigned long long)i);
		buf_reset(b);
		if (dcbor_put_array(b, 2) != 0 || dcbor_put_text(b, "B", 1) ||
		    dcbor_put_text(b, path, (size_t)n) != 0 ||
		    bundle_writer_add(w, 0, buf_ptr(b), buf_len(b)) != 0)
			return 1;
	}
	if (bundle_writer_finish(w, NULL) != 0 || close(outfd) != 0)
		return 1;
	bundle_writer_free(w);
	manifest_free(m);
	buf_free(b);
	return 0;
}

static int
bench_read(const char *in)
{
	struct bundle_visitor v;
	int fd = open(in, O_RDONLY);

	memset(&v, 0, sizeof(v));
	v.on_failure = on_failure;
	if (fd < 0 || bundle_read(in_read, &fd, &v) != 0 || failures > 0)
		return 1;
	close(fd);
	return 0;
}

int
main(int argc, char **argv)
{
	struct rusage ru;
	int r;

	if (sodium_init() < 0)
		return 2;
	if (argc == 5 && strcmp(argv[1], "write") == 0) {
		fsize = strtoull(argv[3], NULL, 10);
		r = bench_write(strtoull(argv[2], NULL, 10), argv[4]);
	} else if (argc == 3 && strcmp(argv[1], "read") == 0)
		r = bench_read(argv[2]);
	else {
		fprintf(stderr, "usage: texp-filebench write ROWS SIZE OUT | "
		    "read IN\n");
		return 2;
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("%s: %s, peak RSS %ld KiB\n", argv[1], r == 0 ? "ok" : "failed",
	    ru.ru_maxrss);
	return r;
}
