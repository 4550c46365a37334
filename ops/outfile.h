/*
 * outfile.h: files the monitoring commands publish for others to read
 * (the metrics file for node_exporter's textfile collector, the support
 * page), replaced atomically: a reader sees the old file or the new one,
 * never a part.
 */
#ifndef TEXP_OPS_OUTFILE_H
#define TEXP_OPS_OUTFILE_H

#include <sys/types.h>
#include <stddef.h>

/*
 * Writes p[0..len) to a new hidden temporary file beside path (".NAME.tmp-
 * XXXXXX", mode mode), fsyncs it, renames it over path and fsyncs the
 * directory. On failure the temporary file is removed and path is
 * untouched. ERR_IO (errno set) or ERR_NOMEM.
 */
int ops_file_replace(const char *path, const void *p, size_t len,
    mode_t mode);

#endif
