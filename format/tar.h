/*
 * tar.h: the one POSIX ustar header form the archive uses (FORMAT.md §3).
 *
 * Every entry is a regular file: a 512-byte header, the data, zero bytes
 * up to the next multiple of 512. The stream ends with two zero blocks
 * (the end-of-archive marker) and nothing after them. A header holds, by
 * field (offset, size): name (0, 100) the entry name, NUL-padded; mode
 * (100, 8) "0000600\0"; uid (108, 8) and gid (116, 8) "0000000\0"; size
 * (124, 12) and mtime (136, 12) as 11 octal digits and a NUL; chksum (148,
 * 8) 6 octal digits, NUL, space; typeflag (156) '0'; linkname (157, 100)
 * zeros; magic (257, 6) "ustar\0"; version (263, 2) "00"; uname (265, 32)
 * and gname (297, 32) zeros; devmajor (329, 8) and devminor (337, 8)
 * "0000000\0"; prefix (345, 155) and the rest (500, 12) zeros. The
 * checksum is the sum of the header's bytes with chksum taken as eight
 * spaces. GNU tar and bsdtar read it; no pax or GNU records ever appear.
 *
 * The reader accepts a header only if it is byte for byte the one
 * tar_header_put writes for its name, size and mtime.
 */
#ifndef TEXP_TAR_H
#define TEXP_TAR_H

#include <stddef.h>
#include <stdint.h>

#define TAR_BLOCK	512
#define TAR_NAME_MAX	99		/* bytes, ASCII 0x21..0x7e */
#define TAR_OCTAL_MAX	077777777777ULL	/* 11 octal digits */

/*
 * Writes the header for a regular file name (1..TAR_NAME_MAX printable
 * ASCII bytes, no space) of size bytes, modified at mtime (unix seconds).
 * ERR_INVALID for a name out of that form, size or mtime over
 * TAR_OCTAL_MAX.
 */
int tar_header_put(uint8_t hdr[TAR_BLOCK], const char *name, uint64_t size,
    uint64_t mtime);

/*
 * Reads a header that is not all zeros. Returns 0 with name (NUL
 * terminated), *size and *mtime when hdr is exactly what tar_header_put
 * writes for them; otherwise ERR_TAR, and *why is a static phrase naming
 * what differs: the field ("field \"mode\""), or the kind of record
 * ("pax extended header", "GNU tar header", ...). Outputs are cleared on
 * error.
 */
int tar_header_get(const uint8_t hdr[TAR_BLOCK], char name[TAR_NAME_MAX + 1],
    uint64_t *size, uint64_t *mtime, const char **why);

/* Computes hdr's checksum and writes it into the chksum field in the form
 * tar_header_put uses (tests and tools that forge headers use it). */
void tar_header_chksum(uint8_t hdr[TAR_BLOCK]);

/* 1 if p[0..n) is all zero bytes. */
int tar_is_zero(const uint8_t *p, size_t n);

/* The zero bytes that follow size bytes of data. */
size_t tar_padding(uint64_t size);

#endif
